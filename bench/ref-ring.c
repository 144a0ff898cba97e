/* SPDX-License-Identifier: MIT */
/* The reference ring of the benchmarks (see ref-ring.h). */
#include "config.h"

#include <string.h>

#include "bench-common.h"
#include "ref-ring.h"

#define REF_FRAME_HEADER 4u

struct ref_ring_shared *ref_ring_alloc(size_t capacity)
{
	return bench_shared_alloc(sizeof(struct ref_ring_shared) + capacity);
}

void ref_ring_free(struct ref_ring_shared *sh, size_t capacity)
{
	bench_shared_free(sh, sizeof(struct ref_ring_shared) + capacity);
}

void ref_ring_attach(struct ref_ring *r, struct ref_ring_shared *sh, size_t capacity,
		     bool producer)
{
	uint64_t head = atomic_load_explicit(&sh->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&sh->tail, memory_order_acquire);

	r->sh = sh;
	r->mask = capacity - 1;
	r->own = producer ? tail : head;
	r->cached = producer ? head : tail;
}

static void copy_in(struct ref_ring *r, uint64_t pos, const void *src, size_t n)
{
	size_t off = (size_t)(pos & r->mask);
	size_t first = r->mask + 1 - off;

	if (n <= first) {
		memcpy(r->sh->data + off, src, n);
	} else {
		memcpy(r->sh->data + off, src, first);
		memcpy(r->sh->data, (const unsigned char *)src + first, n - first);
	}
}

void ref_ring_put(struct ref_ring *r, const void *msg, uint32_t len)
{
	uint64_t need = REF_FRAME_HEADER + (uint64_t)len;

	while (r->mask + 1 - (r->own - r->cached) < need) {
		r->cached = atomic_load_explicit(&r->sh->head, memory_order_acquire);
		if (r->mask + 1 - (r->own - r->cached) < need)
			bench_cpu_relax();
	}
	copy_in(r, r->own, &len, REF_FRAME_HEADER);
	copy_in(r, r->own + REF_FRAME_HEADER, msg, len);
	r->own += need;
}

void ref_ring_publish(struct ref_ring *r)
{
	atomic_store_explicit(&r->sh->tail, r->own, memory_order_release);
}

bool ref_ring_peek(struct ref_ring *r, struct ref_frame *f)
{
	size_t off, first;
	uint32_t len;

	if (r->cached == r->own) {
		r->cached = atomic_load_explicit(&r->sh->tail, memory_order_acquire);
		if (r->cached == r->own)
			return false;
	}
	off = (size_t)(r->own & r->mask);
	first = r->mask + 1 - off;
	if (first >= REF_FRAME_HEADER) {
		memcpy(&len, r->sh->data + off, REF_FRAME_HEADER);
	} else {
		memcpy(&len, r->sh->data + off, first);
		memcpy((unsigned char *)&len + first, r->sh->data, REF_FRAME_HEADER - first);
	}
	off = (size_t)((r->own + REF_FRAME_HEADER) & r->mask);
	first = r->mask + 1 - off;
	f->len = len;
	f->part[0] = r->sh->data + off;
	f->part_len[0] = len < first ? len : first;
	f->part[1] = r->sh->data;
	f->part_len[1] = len - f->part_len[0];
	return true;
}

void ref_ring_take(struct ref_ring *r, const struct ref_frame *f)
{
	r->own += REF_FRAME_HEADER + f->len;
}

void ref_ring_release(struct ref_ring *r)
{
	atomic_store_explicit(&r->sh->head, r->own, memory_order_release);
}
