/* SPDX-License-Identifier: MIT */
/* The ring's layout (membridge(7)): one definition for the ring itself
 * (spsc.c) and for its read-only inspection (inspect.c). */
#ifndef MEMBRIDGE_SPSC_LAYOUT_H
#define MEMBRIDGE_SPSC_LAYOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "membridge.h"

struct ring_header {
	_Atomic uint64_t head;
	_Atomic uint64_t tail;
	_Atomic uint64_t capacity;
};

_Static_assert(sizeof(struct ring_header) == MEMBRIDGE_SPSC_HEADER, "ring header layout");

/* The data capacity of a ring in a segment of `size` bytes: size - header,
 * a power of two of at least MEMBRIDGE_SPSC_MIN_CAPACITY; 0 if no ring can
 * have that size. */
static inline uint64_t mb_spsc_capacity_for(size_t size)
{
	uint64_t capacity;

	if (size < MEMBRIDGE_SPSC_HEADER + MEMBRIDGE_SPSC_MIN_CAPACITY)
		return 0;
	capacity = (uint64_t)size - MEMBRIDGE_SPSC_HEADER;
	return (capacity & (capacity - 1)) == 0 ? capacity : 0;
}

#endif /* MEMBRIDGE_SPSC_LAYOUT_H */
