/* SPDX-License-Identifier: MIT */
/*
 * Read-only inspection of raw segment bytes (membridge_inspect(3)), for
 * tools that look at a segment without taking part in it. Nothing here
 * writes, locks or allocates, so a caller's SIGBUS guard may siglongjmp out
 * of any call; every value read is another process's data, checked before
 * it is used, and the frame walk is bounded by a count.
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"
#include "spsc-layout.h"

static uint64_t load_index(const _Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_acquire);
}

/* The uint32 frame length at ring index `at`; it may wrap round the end. */
static uint32_t frame_length(const unsigned char *data, uint64_t capacity, uint64_t at)
{
	unsigned char bytes[MEMBRIDGE_SPSC_FRAME_HEADER];
	uint32_t len;
	size_t i;

	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = data[(at + i) & (capacity - 1)];
	memcpy(&len, bytes, sizeof(len));
	return len;
}

/* Walk the frames of [from, to) (to - from <= capacity): 0 with *count,
 * -EBADMSG with *fault, *at and *len saying which frame, or -E2BIG. */
static int walk_frames(const unsigned char *data, uint64_t capacity, uint64_t from,
		       uint64_t to, uint64_t *count, enum membridge_spsc_fault *fault,
		       uint64_t *at, uint32_t *len)
{
	uint64_t pos = from, n = 0;

	while (pos != to) {
		uint64_t left = to - pos;
		uint32_t claimed;

		*at = pos;
		if (left < MEMBRIDGE_SPSC_FRAME_HEADER) {
			*fault = MEMBRIDGE_SPSC_FAULT_FRAME_CUT;
			return -EBADMSG;
		}
		claimed = frame_length(data, capacity, pos);
		if (claimed > left - MEMBRIDGE_SPSC_FRAME_HEADER) {
			*fault = MEMBRIDGE_SPSC_FAULT_FRAME_LENGTH;
			*len = claimed;
			return -EBADMSG;
		}
		pos += MEMBRIDGE_SPSC_FRAME_HEADER + (uint64_t)claimed;
		if (++n > (uint64_t)MEMBRIDGE_SPSC_INSPECT_MAX_FRAMES)
			return -E2BIG;
	}
	*count = n;
	return 0;
}

size_t membridge_spsc_segment_size(uint64_t capacity)
{
	if (capacity == 0 || capacity > SIZE_MAX - MEMBRIDGE_SPSC_HEADER)
		return 0;
	if (mb_spsc_capacity_for((size_t)capacity + MEMBRIDGE_SPSC_HEADER) != capacity)
		return 0;
	return (size_t)capacity + MEMBRIDGE_SPSC_HEADER;
}

int membridge_spsc_inspect(const void *base, size_t size, struct membridge_spsc_info *info)
{
	const struct ring_header *hdr = base;
	uint64_t capacity = mb_spsc_capacity_for(size), count = 0;
	int ret;

	if (!base || !info || capacity == 0)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	info->frames = -1;
	info->head = load_index(&hdr->head);
	info->tail = load_index(&hdr->tail);
	info->capacity = load_index(&hdr->capacity);
	if (info->head <= info->tail && info->tail - info->head <= info->capacity)
		info->used = info->tail - info->head;
	if (info->capacity != capacity)
		return -ENOTSUP;
	/* A head that moved while tail was read makes no snapshot: the
	 * producer may have refilled what the consumer freed meanwhile. */
	if (load_index(&hdr->head) != info->head)
		return -EAGAIN;
	if (info->head > info->tail) {
		info->fault = MEMBRIDGE_SPSC_FAULT_HEAD_PAST_TAIL;
		return -EBADMSG;
	}
	if (info->tail - info->head > capacity) {
		info->fault = MEMBRIDGE_SPSC_FAULT_OVERFULL;
		return -EBADMSG;
	}
	ret = walk_frames((const unsigned char *)base + MEMBRIDGE_SPSC_HEADER, capacity,
			  info->head, info->tail, &count, &info->fault, &info->fault_index,
			  &info->fault_length);
	/* The bytes walked were stable only if the consumer stayed put. */
	if (load_index(&hdr->head) != info->head) {
		info->fault = MEMBRIDGE_SPSC_FAULT_NONE;
		info->fault_index = 0;
		info->fault_length = 0;
		return -EAGAIN;
	}
	if (ret == -E2BIG)
		return 0;
	if (ret == 0)
		info->frames = (int64_t)count;
	return ret;
}

int membridge_spsc_count_frames(const void *base, size_t size, uint64_t from, uint64_t to,
				uint64_t *count)
{
	const struct ring_header *hdr = base;
	uint64_t capacity = mb_spsc_capacity_for(size), at, n = 0;
	enum membridge_spsc_fault fault;
	uint32_t len;
	int ret;

	if (!base || !count || capacity == 0)
		return -EINVAL;
	if (to - from > capacity || load_index(&hdr->head) > from)
		return -EAGAIN;
	ret = walk_frames((const unsigned char *)base + MEMBRIDGE_SPSC_HEADER, capacity, from,
			  to, &n, &fault, &at, &len);
	if (load_index(&hdr->head) > from)
		return -EAGAIN;
	if (ret == 0)
		*count = n;
	return ret;
}

int membridge_view_inspect(const void *base, size_t size, struct membridge_view_info *info)
{
	int32_t word;

	if (!base || !info || size <= MEMBRIDGE_VIEW_HEADER)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	word = atomic_load_explicit((const _Atomic int32_t *)base, memory_order_acquire);
	info->data_size = size - MEMBRIDGE_VIEW_HEADER;
	info->lock_word = word;
	if (word > 0) {
		/* Readers count below the writer-waiting bit (membridge(7)). */
		info->writer_waiting = (word & MB_RWLOCK_WRITER_WAITING) != 0;
		info->readers = word & ~MB_RWLOCK_WRITER_WAITING;
		info->state = info->readers ? MEMBRIDGE_LOCK_READ : MEMBRIDGE_LOCK_FREE;
	} else if (word < 0) {
		/* This library's writers store -pid; a peer may store -1. */
		info->state = MEMBRIDGE_LOCK_WRITE;
		info->writer = word == -1 ? -1 : -(int64_t)word;
	}
	return 0;
}
