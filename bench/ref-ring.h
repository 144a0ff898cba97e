/* SPDX-License-Identifier: MIT */
/* The reference ring: a plain SPSC byte ring tuned for speed, ignoring membridge's format. */
#ifndef MEMBRIDGE_BENCH_REF_RING_H
#define MEMBRIDGE_BENCH_REF_RING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * The practical upper bound for a shared-memory SPSC ring: head and tail on
 * their own 64-byte cache lines, each side keeping its own index privately
 * and caching the other's (re-read only when the cache says full or empty),
 * frames of a 4-byte length and the payload packed back to back and
 * wrapping round a power-of-two data area, release/acquire publication.
 * It trusts its peer completely: no validation at all. Both sides
 * busy-poll. Memory comes from bench_shared_alloc(), so forked children
 * share it.
 */
struct ref_ring_shared {
	_Alignas(64) _Atomic uint64_t head;
	_Alignas(64) _Atomic uint64_t tail;
	_Alignas(64) unsigned char data[];
};

/* One side's private view of the ring. */
struct ref_ring {
	struct ref_ring_shared *sh;
	uint64_t mask;   /* capacity - 1 */
	uint64_t own;    /* producer: tail; consumer: head (not yet published) */
	uint64_t cached; /* producer: head; consumer: tail, as last seen */
};

/* A frame seen in place: part 0 then part 1 (empty unless it wraps). */
struct ref_frame {
	const unsigned char *part[2];
	size_t part_len[2];
	size_t len;
};

/* Shared memory for a ring of `capacity` (power of two) data bytes. */
struct ref_ring_shared *ref_ring_alloc(size_t capacity);
void ref_ring_free(struct ref_ring_shared *sh, size_t capacity);
/* Attach the producer or the consumer side to the shared ring. */
void ref_ring_attach(struct ref_ring *r, struct ref_ring_shared *sh, size_t capacity,
		     bool producer);

/* Producer: write one frame, spinning while there is no room; it becomes
 * visible with the next ref_ring_publish(). */
void ref_ring_put(struct ref_ring *r, const void *msg, uint32_t len);
void ref_ring_publish(struct ref_ring *r);

/* Consumer: the next frame in place, false if there is none published
 * (no spinning). ref_ring_take() steps past it; the space goes back to the
 * producer with the next ref_ring_release(). */
bool ref_ring_peek(struct ref_ring *r, struct ref_frame *f);
void ref_ring_take(struct ref_ring *r, const struct ref_frame *f);
void ref_ring_release(struct ref_ring *r);

#endif /* MEMBRIDGE_BENCH_REF_RING_H */
