/* SPDX-License-Identifier: MIT */
/* Check suite for the SPSC ring: layout, every call and error, corrupt headers, roles. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define HDR MEMBRIDGE_SPSC_HEADER
#define FH MEMBRIDGE_SPSC_FRAME_HEADER
#define OFF_HEAD 0
#define OFF_TAIL 8
#define OFF_CAP 16
/* A timed wait must last at least its timeout, and end: 2 s after a 20 ms
 * one is a bound a machine ten times slower than a loaded memcheck run
 * still meets. */
#define TIMEOUT_ENDS (2000 * MBT_MS)

/* A ring of its own segment, plus raw access to the segment's bytes. */
struct ring {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	unsigned char *base; /* segment byte 0: the header */
	unsigned char *data; /* segment byte 24: the data area */
	size_t cap;
};

static void ring_make(struct ring *r, size_t cap)
{
	mbt_name(r->name);
	mbt_assert_ok(membridge_segment_create(r->name, cap + HDR, 0, MEMBRIDGE_CREATE_EXCLUSIVE,
					       &r->seg));
	mbt_assert_ok(membridge_spsc_open(r->seg, &r->q));
	r->base = membridge_segment_data(r->seg);
	r->data = r->base + HDR;
	r->cap = cap;
}

static void ring_free(struct ring *r)
{
	membridge_spsc_close(r->q);
	membridge_segment_close(r->seg);
	mbt_assert_ok(membridge_segment_remove(r->name));
}

static uint64_t get64(const struct ring *r, size_t off)
{
	uint64_t v;

	memcpy(&v, r->base + off, sizeof(v));
	return v;
}

static void set64(struct ring *r, size_t off, uint64_t v)
{
	memcpy(r->base + off, &v, sizeof(v));
}

/* Deterministic payload bytes: seed and position decide every byte. */
static void fill(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8) + 1u);
}

/* Accounting must say exactly `used` bytes are in the ring. */
static void assert_used(const struct ring *r, size_t used)
{
	size_t u = 12345, f = 12345;

	mbt_assert_ok(membridge_spsc_used(r->q, &u));
	ck_assert_uint_eq(u, used);
	mbt_assert_ok(membridge_spsc_space(r->q, &f));
	ck_assert_uint_eq(f, r->cap - used);
	ck_assert_uint_eq(membridge_spsc_capacity(r->q), r->cap);
	ck_assert_int_eq(membridge_spsc_is_empty(r->q), used == 0);
	ck_assert_int_eq(membridge_spsc_is_full(r->q), used == r->cap);
	ck_assert_uint_eq(get64(r, OFF_TAIL) - get64(r, OFF_HEAD), used);
}

/* Push `len` deterministic bytes (seed) and check the tail moved by a frame. */
static void push_seeded(struct ring *r, size_t len, unsigned seed)
{
	unsigned char buf[4096];
	uint64_t tail = get64(r, OFF_TAIL);

	ck_assert_uint_le(len, sizeof(buf));
	fill(buf, len, seed);
	mbt_assert_ok(membridge_spsc_push(r->q, buf, len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(get64(r, OFF_TAIL), tail + FH + len);
}

/* Pop one message and check it is `len` bytes made by fill(seed). */
static void pop_seeded(struct ring *r, size_t len, unsigned seed)
{
	unsigned char buf[4096], want[4096];
	uint64_t head = get64(r, OFF_HEAD);
	size_t got = 99999;

	ck_assert_uint_le(len, sizeof(buf));
	fill(want, len, seed);
	mbt_assert_ok(membridge_spsc_pop(r->q, buf, sizeof(buf), &got, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(got, len);
	if (len)
		ck_assert_mem_eq(buf, want, len);
	ck_assert_uint_eq(get64(r, OFF_HEAD), head + FH + len);
}

/* Move an empty ring's indices to `pos` by pushing and popping filler. */
static void advance_to(struct ring *r, uint64_t pos)
{
	while (get64(r, OFF_TAIL) < pos) {
		uint64_t gap = pos - get64(r, OFF_TAIL);
		size_t len;

		ck_assert_uint_ge(gap, FH);
		len = gap - FH > r->cap - FH ? r->cap / 2 : (size_t)(gap - FH);
		if (gap - FH - len != 0 && gap - FH - len < FH)
			len -= FH; /* leave room for a whole frame header */
		push_seeded(r, len, 0);
		pop_seeded(r, len, 0);
	}
	ck_assert_uint_eq(get64(r, OFF_TAIL), pos);
	ck_assert_uint_eq(get64(r, OFF_HEAD), pos);
}

/* ------------------------------------------------------------------ open */

START_TEST(test_constants)
{
	ck_assert_uint_eq(MEMBRIDGE_SPSC_HEADER, 24);
	ck_assert_uint_eq(MEMBRIDGE_SPSC_FRAME_HEADER, 4);
	ck_assert_uint_eq(MEMBRIDGE_SPSC_MIN_CAPACITY, 8);
	ck_assert_uint_eq(membridge_spsc_frame_size(0), 4);
	ck_assert_uint_eq(membridge_spsc_frame_size(60), 64);
	ck_assert_uint_eq(membridge_spsc_frame_size(UINT32_MAX), (size_t)UINT32_MAX + 4);
#if SIZE_MAX > UINT32_MAX
	ck_assert_uint_eq(membridge_spsc_frame_size((size_t)UINT32_MAX + 1), 0);
	ck_assert_uint_eq(membridge_spsc_frame_size(SIZE_MAX), 0);
#endif
}
END_TEST

START_TEST(test_open_bad_sizes)
{
	static const size_t sizes[] = {
		1000 + 24, 24, 24 + 4, 1, 23, 24 + 1, 24 + 2, 24 + 3, 24 + 7, 24 + 12, 24 + 100,
		1024 + 24 + 1, 1024 + 23, 1024, 4096,
	};
	static char dummy;
	struct membridge_spsc *sentinel = (struct membridge_spsc *)&dummy, *q;
	struct membridge_segment *seg;
	char name[MBT_NAME_SIZE];
	size_t i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		mbt_name(name);
		mbt_assert_ok(membridge_segment_create(name, sizes[i], 0, 0, &seg));
		q = sentinel;
		ck_assert_msg(membridge_spsc_open(seg, &q) == -EINVAL, "size %zu", sizes[i]);
		ck_assert_ptr_eq(q, sentinel);
		/* A rejected open leaves the segment untouched. */
		if (sizes[i] >= HDR) {
			static const unsigned char zero[HDR];

			ck_assert_mem_eq(membridge_segment_data(seg), zero, HDR);
		}
		membridge_segment_close(seg);
		mbt_assert_ok(membridge_segment_remove(name));
	}
}
END_TEST

START_TEST(test_open_null_args)
{
	struct membridge_spsc *q = NULL;
	struct ring r;

	mbt_assert_ret(membridge_spsc_open(NULL, &q), -EINVAL);
	ck_assert_ptr_null(q);
	ring_make(&r, 64);
	mbt_assert_ret(membridge_spsc_open(r.seg, NULL), -EINVAL);
	membridge_spsc_close(NULL); /* accepts NULL */
	ring_free(&r);
}
END_TEST

START_TEST(test_open_min_and_powers)
{
	static const size_t caps[] = { 8, 16, 32, 4096, 65536, 1u << 20 };
	size_t i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		struct ring r;

		ring_make(&r, caps[i]);
		ck_assert_uint_eq(membridge_spsc_capacity(r.q), caps[i]);
		ck_assert_uint_eq(get64(&r, OFF_CAP), caps[i]);
		assert_used(&r, 0);
		/* The smallest ring still carries a frame of capacity - 4 bytes. */
		push_seeded(&r, caps[i] - FH > 4000 ? 4000 : caps[i] - FH, 3);
		pop_seeded(&r, caps[i] - FH > 4000 ? 4000 : caps[i] - FH, 3);
		ring_free(&r);
	}
}
END_TEST

START_TEST(test_open_writes_header)
{
	unsigned char want[HDR], zero[256];
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char name[MBT_NAME_SIZE];
	uint64_t v;
	unsigned char *base;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 256 + HDR, 0, 0, &seg));
	ck_assert(membridge_segment_is_creator(seg));
	base = membridge_segment_data(seg);
	memset(zero, 0, sizeof(zero));
	ck_assert_mem_eq(base, zero, HDR);
	mbt_assert_ok(membridge_spsc_open(seg, &q));
	v = 0;
	memcpy(want, &v, 8);
	memcpy(want + 8, &v, 8);
	v = 256;
	memcpy(want + 16, &v, 8);
	ck_assert_mem_eq(base, want, HDR);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	{
		static const unsigned char le[HDR] = { [16] = 0x00, [17] = 0x01 };

		ck_assert_mem_eq(base, le, HDR);
	}
#endif
	/* The data area stays untouched. */
	ck_assert_mem_eq(base + HDR, zero, 256);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

START_TEST(test_open_uninitialised_eagain)
{
	struct membridge_segment *creator, *other;
	struct membridge_spsc *q = NULL, *mine;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64 + HDR, 0, 0, &creator));
	mbt_assert_ok(membridge_segment_open(name, 0, &other));
	ck_assert(!membridge_segment_is_creator(other));
	/* The creator has not opened its ring yet: the header is all zero. */
	mbt_assert_ret(membridge_spsc_open(other, &q), -EAGAIN);
	ck_assert_ptr_null(q);
	/* An opener never initialises the header. */
	ck_assert_uint_eq(((unsigned char *)membridge_segment_data(other))[16], 0);
	mbt_assert_ok(membridge_spsc_open(creator, &mine));
	mbt_assert_ok(membridge_spsc_open(other, &q));
	ck_assert_uint_eq(membridge_spsc_capacity(q), 64);
	membridge_spsc_close(q);
	membridge_spsc_close(mine);
	membridge_segment_close(other);
	membridge_segment_close(creator);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* Write a header, then open the ring through a second handle. */
static int open_with_header(struct ring *r, uint64_t head, uint64_t tail, uint64_t cap)
{
	struct membridge_segment *other;
	struct membridge_spsc *q = NULL;
	int ret;

	set64(r, OFF_HEAD, head);
	set64(r, OFF_TAIL, tail);
	set64(r, OFF_CAP, cap);
	mbt_assert_ok(membridge_segment_open(r->name, 0, &other));
	ret = membridge_spsc_open(other, &q);
	ck_assert(ret == 0 ? q != NULL : q == NULL);
	membridge_spsc_close(q);
	membridge_segment_close(other);
	return ret;
}

START_TEST(test_open_validates_header)
{
	struct ring r;

	ring_make(&r, 64);
	mbt_assert_ret(open_with_header(&r, 0, 0, 64), 0);
	/* Capacity not equal to size - 24. */
	mbt_assert_ret(open_with_header(&r, 0, 0, 32), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 0, 0, 128), -EBADMSG);
	/* Not a power of two (and so not size - 24 either). */
	mbt_assert_ret(open_with_header(&r, 0, 0, 63), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 0, 0, 48), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 0, 0, UINT64_MAX), -EBADMSG);
	/* A zero capacity with moved indices is not "uninitialised". */
	mbt_assert_ret(open_with_header(&r, 0, 8, 0), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 8, 8, 0), -EBADMSG);
	/* tail - head > capacity. */
	mbt_assert_ret(open_with_header(&r, 0, 65, 64), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 100, 100 + 65, 64), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 0, UINT64_MAX / 2, 64), -EBADMSG);
	/* head > tail. */
	mbt_assert_ret(open_with_header(&r, 10, 5, 64), -EBADMSG);
	mbt_assert_ret(open_with_header(&r, 1, 0, 64), -EBADMSG);
	/* Valid states: full, non-zero indices. */
	mbt_assert_ret(open_with_header(&r, 0, 64, 64), 0);
	mbt_assert_ret(open_with_header(&r, 1000, 1000, 64), 0);
	mbt_assert_ret(open_with_header(&r, 1000, 1064, 64), 0);
	set64(&r, OFF_HEAD, 0);
	set64(&r, OFF_TAIL, 0);
	set64(&r, OFF_CAP, 64);
	ring_free(&r);
}
END_TEST

START_TEST(test_open_creator_validates_too)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q = NULL;
	char name[MBT_NAME_SIZE];
	unsigned char *base;
	uint64_t v = 32;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64 + HDR, 0, 0, &seg));
	base = membridge_segment_data(seg);
	/* Somebody scribbled a wrong capacity before the creator's open. */
	memcpy(base + OFF_CAP, &v, 8);
	mbt_assert_ret(membridge_spsc_open(seg, &q), -EBADMSG);
	ck_assert_ptr_null(q);
	ck_assert_uint_eq(base[16], 32);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

START_TEST(test_open_twice_keeps_messages)
{
	struct membridge_spsc *again, *third;
	struct ring r;
	size_t len;
	char buf[16];

	ring_make(&r, 64);
	mbt_assert_ok(membridge_spsc_push(r.q, "abc", 3, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(r.q, "defg", 4, MEMBRIDGE_NO_WAIT));
	/* A second open by the creator, with the first still open. */
	mbt_assert_ok(membridge_spsc_open(r.seg, &again));
	assert_used(&r, 15);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 15);
	membridge_spsc_close(r.q);
	/* And a third after every handle was closed. */
	membridge_spsc_close(again);
	mbt_assert_ok(membridge_spsc_open(r.seg, &third));
	r.q = third;
	assert_used(&r, 15);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(buf, "abc", 3);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(buf, "defg", 4);
	/* An emptied ring (head == tail != 0) is not reset by a reopen either. */
	mbt_assert_ok(membridge_spsc_open(r.seg, &again));
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 15);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 15);
	membridge_spsc_close(again);
	ring_free(&r);
}
END_TEST

/* The segment outlives a close of the segment handle while the ring is open. */
START_TEST(test_ring_keeps_segment)
{
	struct ring r;
	char buf[8];
	size_t len;

	ring_make(&r, 32);
	membridge_segment_close(r.seg);
	r.seg = NULL;
	mbt_assert_ok(membridge_spsc_push(r.q, "xy", 2, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 2);
	ck_assert_mem_eq(buf, "xy", 2);
	ring_free(&r);
}
END_TEST

/* ---------------------------------------------------------------- layout */

START_TEST(test_layout_push_hi)
{
	static const unsigned char payload[6] = { 2, 0, 0, 0, 'h', 'i' };
	static const unsigned char frame[10] = { 6, 0, 0, 0, 2, 0, 0, 0, 0x68, 0x69 };
	static const unsigned char le_tail[8] = { 10, 0, 0, 0, 0, 0, 0, 0 };
	unsigned char native[10], zero[64] = { 0 }, buf[16];
	uint32_t n6 = 6, n2 = 2;
	struct ring r;
	size_t len;

	ring_make(&r, 64);
	mbt_assert_ok(membridge_spsc_push(r.q, payload, sizeof(payload), MEMBRIDGE_NO_WAIT));
	memcpy(native, &n6, 4);
	memcpy(native + 4, &n2, 4);
	memcpy(native + 8, "hi", 2);
	ck_assert_mem_eq(r.base + 24, native, sizeof(native));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	ck_assert_mem_eq(r.base + 24, frame, sizeof(frame));
	ck_assert_mem_eq(r.base + 8, le_tail, 8);
#else
	(void)frame;
	(void)le_tail;
#endif
	ck_assert_mem_eq(r.base + 24 + 10, zero, 64 - 10);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 10);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 0);
	ck_assert_uint_eq(get64(&r, OFF_CAP), 64);
	assert_used(&r, 10);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(buf, payload, 6);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 10);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 10);
	/* Popping does not wipe the data area. */
	ck_assert_mem_eq(r.base + 24, native, sizeof(native));
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

/* A frame written by hand, as a peer in another language would, pops fine. */
START_TEST(test_layout_foreign_frame)
{
	uint32_t n = 5;
	struct ring r;
	char buf[8];
	size_t len;

	ring_make(&r, 64);
	memcpy(r.data + 0, &n, 4);
	memcpy(r.data + 4, "hello", 5);
	set64(&r, OFF_TAIL, 9);
	assert_used(&r, 9);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 5);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 9);
	ring_free(&r);
}
END_TEST

/* ------------------------------------------------------------- push/pop */

START_TEST(test_roundtrip_lengths)
{
	static const size_t lens[] = { 0, 1, 2, 3, 4, 5, 7, 8, 31, 60, 0, 17, 0 };
	struct ring r;
	size_t i, used = 0;

	ring_make(&r, 128);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		push_seeded(&r, lens[i], (unsigned)i);
		used += FH + lens[i];
		pop_seeded(&r, lens[i], (unsigned)i);
		used -= FH + lens[i];
		assert_used(&r, used);
	}
	/* Several in flight at once come out in order. */
	push_seeded(&r, 10, 1);
	push_seeded(&r, 0, 2);
	push_seeded(&r, 20, 3);
	assert_used(&r, 14 + 4 + 24);
	pop_seeded(&r, 10, 1);
	assert_used(&r, 4 + 24);
	pop_seeded(&r, 0, 2);
	assert_used(&r, 24);
	pop_seeded(&r, 20, 3);
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

START_TEST(test_zero_length)
{
	unsigned char buf[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
	static const unsigned char zero_hdr[4];
	struct ring r;
	size_t len = 77;

	ring_make(&r, 16);
	mbt_assert_ok(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(r.q, "x", 0, MEMBRIDGE_NO_WAIT));
	ck_assert_mem_eq(r.data, zero_hdr, 4);
	ck_assert_mem_eq(r.data + 4, zero_hdr, 4);
	assert_used(&r, 8);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, 0, &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(buf[0], 0xaa);
	len = 77;
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 0);
	ck_assert_uint_eq(buf[0], 0xaa);
	assert_used(&r, 0);
	/* Four 0-byte frames fill a 16-byte ring exactly. */
	mbt_assert_ok(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	assert_used(&r, 16);
	mbt_assert_ret(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ring_free(&r);
}
END_TEST

/* A 0-byte message pops with no buffer at all (buf NULL, cap 0): valid
 * arguments, so the call must not hand NULL to memcpy (UBSan checks this). */
START_TEST(test_pop_empty_no_buffer)
{
	struct ring r;
	size_t len = 77;

	ring_make(&r, 16);
	mbt_assert_ok(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_pop(r.q, NULL, 0, &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 0);
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

START_TEST(test_max_payload)
{
	unsigned char big[80];
	struct ring r;

	ring_make(&r, 64);
	fill(big, sizeof(big), 9);
	/* capacity - 4 fits an empty ring and fills it. */
	push_seeded(&r, 60, 5);
	assert_used(&r, 64);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 0, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 1, MEMBRIDGE_NO_WAIT), -EAGAIN);
	/* Too big is -EMSGSIZE whether the ring is full or empty. */
	mbt_assert_ret(membridge_spsc_push(r.q, big, 61, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	pop_seeded(&r, 60, 5);
	assert_used(&r, 0);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 61, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 61, 20 * MBT_MS), -EMSGSIZE);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 64, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 65, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_spsc_push(r.q, big, 80, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	/* Absurd lengths are refused before anything is read. */
	mbt_assert_ret(membridge_spsc_push(r.q, big, SIZE_MAX, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_spsc_push(r.q, big, SIZE_MAX - 3, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_spsc_push(r.q, big, (size_t)UINT32_MAX + 5, MEMBRIDGE_NO_WAIT),
		       -EMSGSIZE);
	assert_used(&r, 0);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 64);
	/* Away from offset 0, capacity - 4 still fits an empty ring (wrapping). */
	push_seeded(&r, 60, 6);
	pop_seeded(&r, 60, 6);
	advance_to(&r, 64 + 64 + 10);
	push_seeded(&r, 60, 7);
	assert_used(&r, 64);
	pop_seeded(&r, 60, 7);
	ring_free(&r);
}
END_TEST

START_TEST(test_push_pop_einval)
{
	struct membridge_iovec iov[2] = { { "ab", 2 }, { NULL, 3 } };
	struct ring r;
	char buf[8];
	size_t len = 5;

	ring_make(&r, 64);
	mbt_assert_ret(membridge_spsc_push(r.q, NULL, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_spsc_pushv(r.q, NULL, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 2, MEMBRIDGE_NO_WAIT), -EINVAL);
	assert_used(&r, 0);
	mbt_assert_ok(membridge_spsc_push(r.q, "abc", 3, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), NULL, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	mbt_assert_ret(membridge_spsc_pop(r.q, NULL, 8, &len, MEMBRIDGE_NO_WAIT), -EINVAL);
	ck_assert_uint_eq(len, 5);
	mbt_assert_ret(membridge_spsc_peek(r.q, NULL, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_spsc_consume(r.q, NULL), -EINVAL);
	assert_used(&r, 7);
	ring_free(&r);
}
END_TEST

/* Frame header split 3+1, 2+2 and 1+3 across the end of the data area. */
START_TEST(test_wrap_frame_header)
{
	unsigned split;

	for (split = 1; split <= 3; split++) {
		unsigned char want[10];
		uint32_t n = 10;
		struct ring r;

		ring_make(&r, 64);
		advance_to(&r, 64 - split);
		fill(want, sizeof(want), split);
		push_seeded(&r, sizeof(want), split);
		ck_assert_mem_eq(r.data + 64 - split, &n, split);
		ck_assert_mem_eq(r.data, (unsigned char *)&n + split, 4 - split);
		ck_assert_mem_eq(r.data + 4 - split, want, sizeof(want));
		assert_used(&r, 14);
		pop_seeded(&r, sizeof(want), split);
		assert_used(&r, 0);
		ck_assert_uint_eq(get64(&r, OFF_HEAD), 64 - split + 14);
		ring_free(&r);
	}
}
END_TEST

/* Payload split across the end; the header ends exactly at the end too. */
START_TEST(test_wrap_payload)
{
	unsigned char want[40];
	uint32_t n = sizeof(want);
	struct ring r;

	ring_make(&r, 64);
	advance_to(&r, 40);
	fill(want, sizeof(want), 44);
	push_seeded(&r, sizeof(want), 44);
	ck_assert_mem_eq(r.data + 40, &n, 4);
	ck_assert_mem_eq(r.data + 44, want, 20);
	ck_assert_mem_eq(r.data, want + 20, 20);
	pop_seeded(&r, sizeof(want), 44);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 84);

	/* Header fills the last 4 bytes, payload starts at data[0]. */
	advance_to(&r, 128 + 60);
	push_seeded(&r, 30, 45);
	ck_assert_mem_eq(r.data + 60, &(uint32_t){ 30 }, 4);
	fill(want, 30, 45);
	ck_assert_mem_eq(r.data, want, 30);
	pop_seeded(&r, 30, 45);
	ring_free(&r);
}
END_TEST

/* Every start offset and many lengths: what goes in comes out. */
START_TEST(test_wrap_exhaustive)
{
	struct ring r;
	size_t off, len;

	ring_make(&r, 64);
	for (off = 0; off < 64; off++) {
		for (len = 0; len <= 60; len += 3) {
			uint64_t start = get64(&r, OFF_TAIL);
			unsigned seed = (unsigned)(off * 100 + len);

			push_seeded(&r, len, seed);
			if (len + FH + 8 <= 64)
				push_seeded(&r, 4, seed + 1);
			pop_seeded(&r, len, seed);
			if (len + FH + 8 <= 64)
				pop_seeded(&r, 4, seed + 1);
			ck_assert_uint_gt(get64(&r, OFF_TAIL), start);
		}
		/* The next round starts at data offset off + 1. */
		advance_to(&r, ((get64(&r, OFF_TAIL) + 8) | 63) + 1 + (off + 1) % 64);
	}
	ring_free(&r);
}
END_TEST

START_TEST(test_full_push_wait)
{
	struct ring r;
	int64_t t0, dt;

	ring_make(&r, 64);
	push_seeded(&r, 30, 1);
	push_seeded(&r, 26, 2);
	assert_used(&r, 64);
	mbt_assert_ret(membridge_spsc_push(r.q, "a", 1, MEMBRIDGE_NO_WAIT), -EAGAIN);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_spsc_push(r.q, "a", 1, 20 * MBT_MS), -ETIMEDOUT);
	dt = mbt_now_ns() - t0;
	ck_assert_msg(dt >= 20 * MBT_MS && dt < TIMEOUT_ENDS, "push waited %lld ns", (long long)dt);
	/* A frame that would fit once 34 bytes are free also waits. */
	pop_seeded(&r, 30, 1);
	mbt_assert_ret(membridge_spsc_push(r.q, "0123456789012345678901234567890123", 31,
					   MEMBRIDGE_NO_WAIT), -EAGAIN);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_spsc_push(r.q, "0123456789012345678901234567890123", 35,
					   20 * MBT_MS), -ETIMEDOUT);
	dt = mbt_now_ns() - t0;
	ck_assert_msg(dt >= 20 * MBT_MS && dt < TIMEOUT_ENDS, "push waited %lld ns", (long long)dt);
	/* While one that fits right now goes in without waiting. */
	push_seeded(&r, 30, 3);
	assert_used(&r, 64);
	pop_seeded(&r, 26, 2);
	pop_seeded(&r, 30, 3);
	ring_free(&r);
}
END_TEST

START_TEST(test_empty_pop_wait)
{
	struct membridge_frame f;
	struct ring r;
	int64_t t0, dt;
	char buf[8];
	size_t len = 42;

	ring_make(&r, 64);
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT),
		       -EAGAIN);
	ck_assert_uint_eq(len, 42);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, 20 * MBT_MS), -ETIMEDOUT);
	dt = mbt_now_ns() - t0;
	ck_assert_msg(dt >= 20 * MBT_MS && dt < TIMEOUT_ENDS, "pop waited %lld ns", (long long)dt);
	mbt_assert_ret(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT), -EAGAIN);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_spsc_peek(r.q, &f, 20 * MBT_MS), -ETIMEDOUT);
	dt = mbt_now_ns() - t0;
	ck_assert_msg(dt >= 20 * MBT_MS && dt < TIMEOUT_ENDS, "peek waited %lld ns", (long long)dt);
	/* A short timeout (1 ns) behaves like a wait that ran out. */
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, 1), -ETIMEDOUT);
	/* After a push and a pop the ring is empty again. */
	push_seeded(&r, 3, 1);
	pop_seeded(&r, 3, 1);
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT),
		       -EAGAIN);
	ck_assert_uint_eq(len, 42);
	ring_free(&r);
}
END_TEST

START_TEST(test_pop_enobufs)
{
	unsigned char buf[20], want[10];
	struct ring r;
	size_t len = 0;

	ring_make(&r, 64);
	push_seeded(&r, 10, 8);
	push_seeded(&r, 2, 9);
	memset(buf, 0xee, sizeof(buf));
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, 9, &len, MEMBRIDGE_NO_WAIT), -ENOBUFS);
	ck_assert_uint_eq(len, 10);
	ck_assert_uint_eq(buf[0], 0xee);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 0);
	assert_used(&r, 20);
	len = 0;
	mbt_assert_ret(membridge_spsc_pop(r.q, NULL, 0, &len, 5 * MBT_MS), -ENOBUFS);
	ck_assert_uint_eq(len, 10);
	assert_used(&r, 20);
	/* Exactly big enough works, and the message is intact. */
	fill(want, sizeof(want), 8);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, 10, &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(buf, want, 10);
	ck_assert_uint_eq(buf[10], 0xee);
	pop_seeded(&r, 2, 9);
	ring_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ pushv */

/* Apply the same messages to two rings, one with push and one with pushv. */
static void compare_pushv(size_t start, const struct membridge_iovec *iov, size_t count)
{
	unsigned char joined[256];
	struct ring a, b;
	size_t i, n = 0;

	for (i = 0; i < count; i++) {
		if (iov[i].len)
			memcpy(joined + n, iov[i].base, iov[i].len);
		n += iov[i].len;
	}
	ring_make(&a, 64);
	ring_make(&b, 64);
	advance_to(&a, start);
	advance_to(&b, start);
	memset(a.data, 0x5a, 64);
	memset(b.data, 0x5a, 64);
	mbt_assert_ok(membridge_spsc_push(a.q, joined, n, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_pushv(b.q, iov, count, MEMBRIDGE_NO_WAIT));
	ck_assert_mem_eq(a.base, b.base, HDR + 64);
	ck_assert_uint_eq(get64(&b, OFF_TAIL), start + FH + n);
	assert_used(&b, FH + n);
	{
		unsigned char buf[64];
		size_t len;

		mbt_assert_ok(membridge_spsc_pop(b.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq(len, n);
		if (n)
			ck_assert_mem_eq(buf, joined, n);
	}
	ring_free(&a);
	ring_free(&b);
}

START_TEST(test_pushv_pieces)
{
	const struct membridge_iovec iov[] = {
		{ "ab", 2 }, { NULL, 0 }, { "cde", 3 }, { "", 0 }, { "fghij", 5 },
		{ "klmnopqrstuvwxyz", 16 }, { "!", 1 },
	};
	const struct membridge_iovec empties[] = { { NULL, 0 }, { "zz", 0 } };
	const struct membridge_iovec one[] = { { "0123456789", 10 } };
	size_t start;

	compare_pushv(0, iov, 7);
	compare_pushv(0, empties, 2);
	compare_pushv(0, iov, 0);
	/* Every start position, so that each piece boundary meets the wrap. */
	for (start = 1; start < 64 + 5; start++) {
		if (start < FH && start)
			continue;
		compare_pushv(start, iov, 7);
		compare_pushv(start, one, 1);
	}
}
END_TEST

START_TEST(test_pushv_sizes)
{
	unsigned char big[64], buf[64], want[64];
	struct membridge_iovec iov[5] = { { big, 30 }, { big + 30, 30 }, { big, 0 } };
	struct ring r;
	size_t len;

	ring_make(&r, 64);
	fill(big, sizeof(big), 21);
	/* 60 bytes in pieces fit exactly. */
	mbt_assert_ok(membridge_spsc_pushv(r.q, iov, 3, MEMBRIDGE_NO_WAIT));
	assert_used(&r, 64);
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 3, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 3, 10 * MBT_MS), -ETIMEDOUT);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 60);
	ck_assert_mem_eq(buf, big, 60);
	/* 61 bytes in pieces never fit, in any split. */
	iov[1].len = 31;
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 2, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	iov[0].len = 0;
	iov[1].len = 61;
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 2, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	/* Piece lengths whose sum overflows a size_t are refused, not wrapped. */
	iov[0].len = 40;
	iov[1].len = SIZE_MAX - 10;
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 2, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	iov[0].len = SIZE_MAX;
	iov[1].len = SIZE_MAX;
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 2, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	/* A NULL piece with a length is refused. */
	iov[0] = (struct membridge_iovec){ big, 4 };
	iov[1] = (struct membridge_iovec){ NULL, 4 };
	mbt_assert_ret(membridge_spsc_pushv(r.q, iov, 2, MEMBRIDGE_NO_WAIT), -EINVAL);
	assert_used(&r, 0);
	/* No pieces at all is a 0-byte message. */
	mbt_assert_ok(membridge_spsc_pushv(r.q, NULL, 0, MEMBRIDGE_NO_WAIT));
	assert_used(&r, 4);
	len = 9;
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, 0, &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 0);
	/* Five pieces of 12 make a full frame. */
	for (len = 0; len < 5; len++)
		iov[len] = (struct membridge_iovec){ big + 12 * len, 12 };
	mbt_assert_ok(membridge_spsc_pushv(r.q, iov, 5, MEMBRIDGE_NO_WAIT));
	assert_used(&r, 64);
	memcpy(want, big, 60);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 60);
	ck_assert_mem_eq(buf, want, 60);
	ring_free(&r);
}
END_TEST

/* ------------------------------------------------------------- push_batch */

START_TEST(test_push_batch_partial)
{
	unsigned char m[5][10];
	struct membridge_iovec msgs[5];
	size_t i, pushed = 99;
	uint32_t n;
	struct ring r;

	ring_make(&r, 64);
	for (i = 0; i < 5; i++) {
		fill(m[i], 10, (unsigned)(100 + i));
		msgs[i] = (struct membridge_iovec){ m[i], 10 };
	}
	/* Four 14-byte frames fit in 64 bytes, the fifth does not. */
	mbt_assert_ok(membridge_spsc_push_batch(r.q, msgs, 5, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 4);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 4 * 14);
	assert_used(&r, 56);
	for (i = 0; i < 4; i++) {
		memcpy(&n, r.data + 14 * i, 4);
		ck_assert_uint_eq(n, 10);
		ck_assert_mem_eq(r.data + 14 * i + 4, m[i], 10);
	}
	/* The rest does not fit at all now. */
	pushed = 99;
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs + 4, 1, &pushed, MEMBRIDGE_NO_WAIT),
		       -EAGAIN);
	ck_assert_uint_eq(pushed, 0);
	pushed = 99;
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs + 4, 1, &pushed, 20 * MBT_MS),
		       -ETIMEDOUT);
	ck_assert_uint_eq(pushed, 0);
	assert_used(&r, 56);
	pop_seeded(&r, 10, 100);
	/* 22 bytes free: 10 bytes (14) and two 0-byte frames (4 + 4) fill it. */
	msgs[1] = (struct membridge_iovec){ NULL, 0 };
	msgs[2] = (struct membridge_iovec){ "q", 0 };
	mbt_assert_ok(membridge_spsc_push_batch(r.q, msgs + 4 - 4 + 4, 1, &pushed,
						MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 1);
	mbt_assert_ok(membridge_spsc_push_batch(r.q, msgs + 1, 2, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 2);
	assert_used(&r, 64);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 14 + 64);
	for (i = 1; i < 5; i++)
		pop_seeded(&r, 10, (unsigned)(100 + i));
	pop_seeded(&r, 0, 0);
	pop_seeded(&r, 0, 0);
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

/* Messages go in order: a later one that would fit is not pushed first. */
START_TEST(test_push_batch_order)
{
	unsigned char a[20], b[50];
	struct membridge_iovec msgs[3] = { { a, 20 }, { b, 50 }, { a, 1 } };
	struct ring r;
	size_t pushed;

	ring_make(&r, 64);
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	mbt_assert_ok(membridge_spsc_push_batch(r.q, msgs, 3, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 1);
	assert_used(&r, 24);
	pop_seeded(&r, 20, 1);
	mbt_assert_ok(membridge_spsc_push_batch(r.q, msgs + 1, 2, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 2);
	assert_used(&r, 54 + 5);
	pop_seeded(&r, 50, 2);
	pop_seeded(&r, 1, 1);
	ring_free(&r);
}
END_TEST

START_TEST(test_push_batch_errors)
{
	unsigned char m[64];
	struct membridge_iovec msgs[3] = { { m, 10 }, { m, 61 }, { m, 0 } };
	struct ring r;
	size_t pushed = 99;

	ring_make(&r, 64);
	memset(m, 3, sizeof(m));
	/* One message that can never fit: nothing at all is pushed. */
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs, 3, &pushed, MEMBRIDGE_NO_WAIT),
		       -EMSGSIZE);
	ck_assert_uint_eq(pushed, 0);
	assert_used(&r, 0);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 0);
	msgs[1].len = SIZE_MAX;
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs, 3, &pushed, 10 * MBT_MS), -EMSGSIZE);
	/* Also when the ring is full and the first message would wait. */
	push_seeded(&r, 60, 0);
	pushed = 99;
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs, 3, &pushed, MEMBRIDGE_NO_WAIT),
		       -EMSGSIZE);
	ck_assert_uint_eq(pushed, 0);
	pop_seeded(&r, 60, 0);
	/* Invalid arguments. */
	msgs[1] = (struct membridge_iovec){ NULL, 1 };
	pushed = 99;
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs, 3, &pushed, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	ck_assert_uint_eq(pushed, 0);
	mbt_assert_ret(membridge_spsc_push_batch(r.q, msgs, 1, NULL, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_spsc_push_batch(r.q, NULL, 1, &pushed, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	/* Nothing to push is fine, even with no array. */
	pushed = 99;
	mbt_assert_ok(membridge_spsc_push_batch(r.q, NULL, 0, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 0);
	assert_used(&r, 0);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 64);
	ring_free(&r);
}
END_TEST

/* push_batch lays down the same bytes as one push per message, wrapping. */
START_TEST(test_push_batch_same_bytes)
{
	unsigned char m[6][20];
	struct membridge_iovec msgs[6];
	size_t i, pushed, lens[6] = { 12, 0, 13, 1, 7, 3 };
	struct ring a, b;

	for (i = 0; i < 6; i++) {
		fill(m[i], lens[i], (unsigned)i);
		msgs[i] = (struct membridge_iovec){ m[i], lens[i] };
	}
	ring_make(&a, 64);
	ring_make(&b, 64);
	advance_to(&a, 50);
	advance_to(&b, 50);
	for (i = 0; i < 6; i++)
		mbt_assert_ok(membridge_spsc_push(a.q, m[i], lens[i], MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push_batch(b.q, msgs, 6, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 6);
	ck_assert_uint_eq(get64(&b, OFF_TAIL), 50 + 6 * 4 + 36);
	ck_assert_mem_eq(a.base, b.base, HDR + 64);
	for (i = 0; i < 6; i++)
		pop_seeded(&b, lens[i], (unsigned)i);
	ring_free(&a);
	ring_free(&b);
}
END_TEST

/* On an empty ring every message of a batch that fits the capacity goes in,
 * whatever the handle remembers of the consumer's index from earlier calls. */
START_TEST(test_push_batch_fills_empty_ring)
{
	const struct membridge_iovec msgs[4] = { { "a", 1 }, { "bb", 2 }, { "ccc", 3 },
						 { "dddd", 4 } };
	struct ring r;
	size_t pushed = 99;

	ring_make(&r, 64);
	/* The handle pushes 50 bytes and pops them: the ring is empty again. */
	push_seeded(&r, 46, 1);
	pop_seeded(&r, 46, 1);
	assert_used(&r, 0);
	/* 4 frames, 26 bytes: all fit the 64 free bytes. */
	mbt_assert_ok(membridge_spsc_push_batch(r.q, msgs, 4, &pushed, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(pushed, 4);
	assert_used(&r, 26);
	ring_free(&r);
}
END_TEST

/* ------------------------------------------------------------ peek/consume */

static void assert_frame(const struct ring *r, const struct membridge_frame *f, size_t len,
			 unsigned seed, uint64_t start)
{
	unsigned char want[256], got[256];
	size_t off = (size_t)((start + FH) & (r->cap - 1));

	ck_assert_uint_eq(f->len, len);
	ck_assert_uint_eq(f->part_len[0] + f->part_len[1], len);
	ck_assert_uint_eq(f->start, start);
	ck_assert_uint_eq(f->end, start + FH + len);
	ck_assert_uint_eq(f->part_len[0], len < r->cap - off ? len : r->cap - off);
	if (f->part_len[0])
		ck_assert_ptr_eq(f->part[0], r->data + off);
	if (f->part_len[1])
		ck_assert_ptr_eq(f->part[1], r->data);
	fill(want, len, seed);
	if (f->part_len[0])
		memcpy(got, f->part[0], f->part_len[0]);
	if (f->part_len[1])
		memcpy(got + f->part_len[0], f->part[1], f->part_len[1]);
	if (len)
		ck_assert_mem_eq(got, want, len);
}

START_TEST(test_peek_consume)
{
	struct membridge_frame f, g;
	struct ring r;

	ring_make(&r, 64);
	push_seeded(&r, 5, 1);
	push_seeded(&r, 6, 2);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 5, 1, 0);
	ck_assert_uint_eq(f.part_len[1], 0);
	ck_assert_ptr_eq(f.part[0], r.data + 4);
	/* Peeking consumes nothing, and peeks the same frame again. */
	assert_used(&r, 19);
	mbt_assert_ok(membridge_spsc_peek(r.q, &g, 20 * MBT_MS));
	assert_frame(&r, &g, 5, 1, 0);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 9);
	assert_used(&r, 10);
	/* The same frame again: the head moved. */
	mbt_assert_ret(membridge_spsc_consume(r.q, &g), -ESTALE);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 9);
	/* A peeked frame taken by a pop in between is stale too. */
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 6, 2, 9);
	pop_seeded(&r, 6, 2);
	push_seeded(&r, 3, 3);
	mbt_assert_ret(membridge_spsc_consume(r.q, &f), -ESTALE);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 19);
	assert_used(&r, 7);
	/* A 0-byte frame. */
	pop_seeded(&r, 3, 3);
	push_seeded(&r, 0, 4);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 0, 4, 26);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	assert_used(&r, 0);
	mbt_assert_ret(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ring_free(&r);
}
END_TEST

START_TEST(test_peek_wrapping)
{
	struct membridge_frame f;
	struct ring r;

	ring_make(&r, 64);
	/* Payload in two parts: 10 bytes at the end, 20 at the start. */
	advance_to(&r, 50);
	push_seeded(&r, 30, 7);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 30, 7, 50);
	ck_assert_uint_eq(f.part_len[0], 10);
	ck_assert_uint_eq(f.part_len[1], 20);
	ck_assert_ptr_eq(f.part[0], r.data + 54);
	ck_assert_ptr_eq(f.part[1], r.data);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 84);
	/* Header split 2+2, payload in one part at data[2]. */
	advance_to(&r, 128 + 62);
	push_seeded(&r, 10, 8);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 10, 8, 190);
	ck_assert_uint_eq(f.part_len[0], 10);
	ck_assert_uint_eq(f.part_len[1], 0);
	ck_assert_ptr_eq(f.part[0], r.data + 2);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	/* Payload ending exactly at the end is one part. */
	advance_to(&r, 256 + 40);
	push_seeded(&r, 20, 9);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 20, 9, 296);
	ck_assert_uint_eq(f.part_len[0], 20);
	ck_assert_uint_eq(f.part_len[1], 0);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	/* A full-size frame from the middle. */
	advance_to(&r, 384 + 33);
	push_seeded(&r, 60, 10);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_frame(&r, &f, 60, 10, 417);
	ck_assert_uint_eq(f.part_len[0], 64 - 37);
	ck_assert_uint_eq(f.part_len[1], 60 - 27);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

START_TEST(test_consume_inconsistent)
{
	struct membridge_frame f, g;
	struct ring r;

	ring_make(&r, 64);
	push_seeded(&r, 5, 1);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	g = f;
	g.len++;
	mbt_assert_ret(membridge_spsc_consume(r.q, &g), -EINVAL);
	g = f;
	g.end++;
	mbt_assert_ret(membridge_spsc_consume(r.q, &g), -EINVAL);
	g = f;
	g.end = g.start;
	mbt_assert_ret(membridge_spsc_consume(r.q, &g), -EINVAL);
	g = f;
	g.start = g.end + 1;
	mbt_assert_ret(membridge_spsc_consume(r.q, &g), -EINVAL);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 0);
	assert_used(&r, 9);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

/* A forged frame that claims more than the ring holds must not move the head
 * past the tail (that would leave a ring every later call calls corrupt). */
START_TEST(test_consume_beyond_tail)
{
	struct membridge_frame f;
	struct ring r;

	ring_make(&r, 64);
	push_seeded(&r, 5, 1);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	/* Longer than any frame can be. */
	f.len = 100;
	f.end = f.start + FH + f.len;
	mbt_assert_ret(membridge_spsc_consume(r.q, &f), -EINVAL);
	/* Consistent in itself, but beyond what was published. */
	f.len = 20;
	f.end = f.start + FH + f.len;
	mbt_assert_ret(membridge_spsc_consume(r.q, &f), -EINVAL);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 0);
	assert_used(&r, 9);
	pop_seeded(&r, 5, 1);
	ring_free(&r);
}
END_TEST

/* --------------------------------------------------------------- pop_batch */

struct collect {
	size_t calls;
	size_t stop_at;  /* call number (1-based) that returns `stop_ret` */
	int stop_ret;
	size_t len[16];
	uint64_t start[16];
	unsigned char data[16][64];
};

static int collect_fn(void *ctx, const struct membridge_frame *f)
{
	struct collect *c = ctx;
	size_t i = c->calls++;

	ck_assert_uint_lt(i, 16);
	ck_assert_uint_le(f->len, 64);
	ck_assert_uint_eq(f->part_len[0] + f->part_len[1], f->len);
	ck_assert_uint_eq(f->end - f->start, FH + f->len);
	c->len[i] = f->len;
	c->start[i] = f->start;
	if (f->part_len[0])
		memcpy(c->data[i], f->part[0], f->part_len[0]);
	if (f->part_len[1])
		memcpy(c->data[i] + f->part_len[0], f->part[1], f->part_len[1]);
	return c->calls == c->stop_at ? c->stop_ret : 0;
}

static void assert_collected(const struct collect *c, size_t i, size_t len, unsigned seed)
{
	unsigned char want[64];

	ck_assert_uint_eq(c->len[i], len);
	fill(want, len, seed);
	if (len)
		ck_assert_mem_eq(c->data[i], want, len);
}

START_TEST(test_pop_batch_basic)
{
	static const size_t lens[5] = { 3, 0, 10, 7, 1 };
	struct collect c = { 0 };
	struct ring r;
	size_t i, popped = 99;

	ring_make(&r, 64);
	for (i = 0; i < 5; i++)
		push_seeded(&r, lens[i], (unsigned)(i + 1));
	assert_used(&r, 21 + 20);
	/* max 0 does nothing, even with messages waiting. */
	mbt_assert_ok(membridge_spsc_pop_batch(r.q, 0, collect_fn, &c, &popped, 20 * MBT_MS));
	ck_assert_uint_eq(popped, 0);
	ck_assert_uint_eq(c.calls, 0);
	/* At most max frames, in order, the head published after them. */
	mbt_assert_ok(membridge_spsc_pop_batch(r.q, 3, collect_fn, &c, &popped,
					       MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(popped, 3);
	ck_assert_uint_eq(c.calls, 3);
	for (i = 0; i < 3; i++)
		assert_collected(&c, i, lens[i], (unsigned)(i + 1));
	ck_assert_uint_eq(c.start[0], 0);
	ck_assert_uint_eq(c.start[1], 7);
	ck_assert_uint_eq(c.start[2], 11);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 25);
	assert_used(&r, 16);
	/* More than there is: all that is there. */
	mbt_assert_ok(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, &popped, 20 * MBT_MS));
	ck_assert_uint_eq(popped, 2);
	ck_assert_uint_eq(c.calls, 5);
	for (i = 3; i < 5; i++)
		assert_collected(&c, i, lens[i], (unsigned)(i + 1));
	assert_used(&r, 0);
	/* Empty. */
	popped = 99;
	mbt_assert_ret(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, &popped,
						MEMBRIDGE_NO_WAIT), -EAGAIN);
	ck_assert_uint_eq(popped, 0);
	popped = 99;
	mbt_assert_ret(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, &popped, 20 * MBT_MS),
		       -ETIMEDOUT);
	ck_assert_uint_eq(popped, 0);
	ck_assert_uint_eq(c.calls, 5);
	/* Invalid arguments. */
	push_seeded(&r, 1, 1);
	mbt_assert_ret(membridge_spsc_pop_batch(r.q, 10, NULL, &c, &popped, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	mbt_assert_ret(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, NULL,
						MEMBRIDGE_NO_WAIT), -EINVAL);
	ck_assert_uint_eq(c.calls, 5);
	assert_used(&r, 5);
	ring_free(&r);
}
END_TEST

START_TEST(test_pop_batch_stop)
{
	struct collect c = { 0 };
	struct ring r;
	size_t popped = 99;
	unsigned i;

	ring_make(&r, 64);
	for (i = 1; i <= 4; i++)
		push_seeded(&r, 4 * i, i);
	/* A positive return stops after that frame, which is consumed. */
	c.stop_at = 2;
	c.stop_ret = 7;
	mbt_assert_ok(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, &popped,
					       MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(popped, 2);
	ck_assert_uint_eq(c.calls, 2);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 8 + 12);
	/* A negative return stops too, is returned, and the frame is consumed. */
	c.stop_at = 3;
	c.stop_ret = -EIO;
	popped = 99;
	mbt_assert_ret(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, &popped,
						MEMBRIDGE_NO_WAIT), -EIO);
	ck_assert_uint_eq(popped, 1);
	ck_assert_uint_eq(c.calls, 3);
	assert_collected(&c, 2, 12, 3);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 20 + 16);
	pop_seeded(&r, 16, 4);
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

START_TEST(test_pop_batch_wrapping)
{
	struct collect c = { 0 };
	struct ring r;
	size_t popped;

	ring_make(&r, 64);
	advance_to(&r, 50);
	push_seeded(&r, 20, 1); /* 50..73: payload 10 + 10 */
	push_seeded(&r, 20, 2); /* 74..97 */
	push_seeded(&r, 9, 3);  /* 98..110 */
	mbt_assert_ok(membridge_spsc_pop_batch(r.q, 16, collect_fn, &c, &popped,
					       MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(popped, 3);
	assert_collected(&c, 0, 20, 1);
	assert_collected(&c, 1, 20, 2);
	assert_collected(&c, 2, 9, 3);
	ck_assert_uint_eq(c.start[1], 74);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 111);
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

/* -------------------------------------------------------------- accounting */

START_TEST(test_accounting)
{
	struct membridge_frame f;
	struct ring r;

	ring_make(&r, 32);
	assert_used(&r, 0);
	push_seeded(&r, 0, 1);
	assert_used(&r, 4);
	push_seeded(&r, 12, 2);
	assert_used(&r, 20);
	push_seeded(&r, 7, 3);
	assert_used(&r, 31);
	ck_assert_int_eq(membridge_spsc_is_full(r.q), 0);
	mbt_assert_ret(membridge_spsc_push(r.q, NULL, 0, MEMBRIDGE_NO_WAIT), -EAGAIN);
	pop_seeded(&r, 0, 1);
	assert_used(&r, 27);
	mbt_assert_ok(membridge_spsc_peek(r.q, &f, MEMBRIDGE_NO_WAIT));
	assert_used(&r, 27);
	mbt_assert_ok(membridge_spsc_consume(r.q, &f));
	assert_used(&r, 11);
	push_seeded(&r, 17, 4);
	assert_used(&r, 32);
	ck_assert_int_eq(membridge_spsc_is_full(r.q), 1);
	ck_assert_int_eq(membridge_spsc_is_empty(r.q), 0);
	pop_seeded(&r, 7, 3);
	assert_used(&r, 21);
	pop_seeded(&r, 17, 4);
	assert_used(&r, 0);
	ck_assert_int_eq(membridge_spsc_is_empty(r.q), 1);
	ring_free(&r);
}
END_TEST

/* ----------------------------------------------------------------- corrupt */

#define BAD_PRODUCER 1u
#define BAD_CONSUMER 2u
#define BAD_ACCOUNTING 4u
#define BAD_ALL 7u

/* Every call of the kinds in `what` must report -EBADMSG, promptly. */
static void assert_all_badmsg(struct ring *r, unsigned what)
{
	struct membridge_iovec iov[2] = { { "ab", 2 }, { "c", 1 } };
	struct collect c = { 0 };
	struct membridge_frame f;
	unsigned char buf[128];
	size_t len, pushed = 99, popped = 99, u = 4242;
	uint64_t head = get64(r, OFF_HEAD), tail = get64(r, OFF_TAIL);
	int64_t t0 = mbt_now_ns();

	if (what & BAD_PRODUCER) {
		mbt_assert_ret(membridge_spsc_push(r->q, "x", 1, MEMBRIDGE_NO_WAIT), -EBADMSG);
		mbt_assert_ret(membridge_spsc_push(r->q, "x", 1, MEMBRIDGE_WAIT_FOREVER),
			       -EBADMSG);
		mbt_assert_ret(membridge_spsc_push(r->q, NULL, 0, MEMBRIDGE_NO_WAIT), -EBADMSG);
		mbt_assert_ret(membridge_spsc_pushv(r->q, iov, 2, 5000 * MBT_MS), -EBADMSG);
		mbt_assert_ret(membridge_spsc_push_batch(r->q, iov, 2, &pushed,
							 MEMBRIDGE_WAIT_FOREVER), -EBADMSG);
		ck_assert_uint_eq(pushed, 0);
	}
	if (what & BAD_CONSUMER) {
		mbt_assert_ret(membridge_spsc_pop(r->q, buf, sizeof(buf), &len,
						  MEMBRIDGE_NO_WAIT), -EBADMSG);
		mbt_assert_ret(membridge_spsc_pop(r->q, buf, sizeof(buf), &len,
						  MEMBRIDGE_WAIT_FOREVER), -EBADMSG);
		mbt_assert_ret(membridge_spsc_pop(r->q, buf, 1, &len, MEMBRIDGE_NO_WAIT),
			       -EBADMSG);
		mbt_assert_ret(membridge_spsc_peek(r->q, &f, 5000 * MBT_MS), -EBADMSG);
		mbt_assert_ret(membridge_spsc_pop_batch(r->q, 8, collect_fn, &c, &popped,
							MEMBRIDGE_WAIT_FOREVER), -EBADMSG);
		ck_assert_uint_eq(popped, 0);
		ck_assert_uint_eq(c.calls, 0);
	}
	if (what & BAD_ACCOUNTING) {
		mbt_assert_ret(membridge_spsc_used(r->q, &u), -EBADMSG);
		mbt_assert_ret(membridge_spsc_space(r->q, &u), -EBADMSG);
		ck_assert_uint_eq(u, 4242);
		ck_assert_int_eq(membridge_spsc_is_empty(r->q), -EBADMSG);
		ck_assert_int_eq(membridge_spsc_is_full(r->q), -EBADMSG);
	}
	/* Nothing was written, nothing waited. */
	ck_assert_uint_eq(get64(r, OFF_HEAD), head);
	ck_assert_uint_eq(get64(r, OFF_TAIL), tail);
	ck_assert_int_lt(mbt_now_ns() - t0, 1000 * MBT_MS);
}

/* A second handle onto the same ring, with nothing cached yet. */
static struct membridge_spsc *second_handle(const struct ring *r, struct membridge_segment **seg)
{
	struct membridge_spsc *q;

	mbt_assert_ok(membridge_segment_open(r->name, 0, seg));
	mbt_assert_ok(membridge_spsc_open(*seg, &q));
	return q;
}

START_TEST(test_corrupt_capacity)
{
	static const uint64_t bad[] = { 32, 128, 0, 63, 65, UINT64_MAX, 1u << 20 };
	struct membridge_segment *seg2;
	struct membridge_spsc *q2, *q1;
	struct ring r;
	size_t i;

	ring_make(&r, 64);
	push_seeded(&r, 10, 1);
	q2 = second_handle(&r, &seg2);
	q1 = r.q;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set64(&r, OFF_CAP, bad[i]);
		r.q = q1;
		assert_all_badmsg(&r, BAD_ALL);
		r.q = q2;
		assert_all_badmsg(&r, BAD_ALL);
	}
	/* Restored, the ring works again. */
	set64(&r, OFF_CAP, 64);
	r.q = q1;
	assert_used(&r, 14);
	pop_seeded(&r, 10, 1);
	membridge_spsc_close(q2);
	membridge_segment_close(seg2);
	ring_free(&r);
}
END_TEST

START_TEST(test_corrupt_tail_ahead)
{
	static const uint64_t over[] = { 65, 128, 1000, UINT64_MAX / 2, UINT64_MAX - 14 };
	struct membridge_segment *seg2;
	struct membridge_spsc *q1, *q2;
	struct ring r;
	size_t i;

	ring_make(&r, 64);
	/* Let the first handle cache both indices. */
	push_seeded(&r, 10, 1);
	pop_seeded(&r, 10, 1);
	q1 = r.q;
	q2 = second_handle(&r, &seg2);
	for (i = 0; i < sizeof(over) / sizeof(over[0]); i++) {
		set64(&r, OFF_HEAD, 14);
		set64(&r, OFF_TAIL, 14 + over[i]);
		r.q = q1;
		assert_all_badmsg(&r, BAD_ALL);
		r.q = q2;
		assert_all_badmsg(&r, BAD_ALL);
	}
	set64(&r, OFF_TAIL, 14);
	r.q = q1;
	assert_used(&r, 0);
	push_seeded(&r, 3, 2);
	pop_seeded(&r, 3, 2);
	membridge_spsc_close(q2);
	membridge_segment_close(seg2);
	ring_free(&r);
}
END_TEST

START_TEST(test_corrupt_head_ahead)
{
	struct membridge_segment *seg2;
	struct membridge_spsc *q1, *q2;
	struct ring r;

	ring_make(&r, 64);
	q1 = r.q;
	q2 = second_handle(&r, &seg2);
	/* head > tail, both still within one capacity of each other. */
	set64(&r, OFF_HEAD, 20);
	set64(&r, OFF_TAIL, 10);
	assert_all_badmsg(&r, BAD_CONSUMER | BAD_ACCOUNTING);
	r.q = q2;
	assert_all_badmsg(&r, BAD_CONSUMER | BAD_ACCOUNTING);
	/* The same after the handle has seen a valid ring (the tail never
	 * moves backwards: that would be a corruption of its own). */
	set64(&r, OFF_HEAD, 10);
	r.q = q1;
	push_seeded(&r, 10, 1);
	pop_seeded(&r, 10, 1);
	set64(&r, OFF_HEAD, 25);
	assert_all_badmsg(&r, BAD_CONSUMER | BAD_ACCOUNTING);
	set64(&r, OFF_HEAD, 24 + 64);
	assert_all_badmsg(&r, BAD_CONSUMER | BAD_ACCOUNTING);
	set64(&r, OFF_HEAD, 24);
	assert_used(&r, 0);
	membridge_spsc_close(q2);
	membridge_segment_close(seg2);
	ring_free(&r);
}
END_TEST

/* head > tail: the consumer side and the accounting calls fail at once; the
 * producer, which caches head, fails as soon as it re-reads it. */
START_TEST(test_corrupt_head_ahead_push)
{
	static const char big_payload[64];
	struct ring r;

	ring_make(&r, 64);
	set64(&r, OFF_HEAD, 20);
	set64(&r, OFF_TAIL, 10);
	assert_all_badmsg(&r, BAD_CONSUMER | BAD_ACCOUNTING);
	/* The producer keeps a cached copy of head (0 here, room for 54 bytes)
	 * and sees the corrupt head as soon as it needs more room than that. */
	mbt_assert_ret(membridge_spsc_push(r.q, big_payload, 51, MEMBRIDGE_NO_WAIT), -EBADMSG);
	mbt_assert_ret(membridge_spsc_push(r.q, big_payload, 1, MEMBRIDGE_NO_WAIT), -EBADMSG);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 10);
	set64(&r, OFF_HEAD, 10);
	ring_free(&r);
}
END_TEST

/* The consumer calls with a corrupt frame header; the producer is unaffected. */
static void assert_frame_badmsg(struct ring *r)
{
	struct collect c = { 0 };
	struct membridge_frame f;
	unsigned char buf[128];
	size_t len = 4242, popped = 99;
	uint64_t head = get64(r, OFF_HEAD);
	int64_t t0 = mbt_now_ns();

	mbt_assert_ret(membridge_spsc_pop(r->q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT),
		       -EBADMSG);
	mbt_assert_ret(membridge_spsc_pop(r->q, buf, 1, &len, MEMBRIDGE_WAIT_FOREVER), -EBADMSG);
	mbt_assert_ret(membridge_spsc_pop(r->q, NULL, 0, &len, MEMBRIDGE_NO_WAIT), -EBADMSG);
	ck_assert_uint_eq(len, 4242);
	mbt_assert_ret(membridge_spsc_peek(r->q, &f, MEMBRIDGE_NO_WAIT), -EBADMSG);
	mbt_assert_ret(membridge_spsc_peek(r->q, &f, MEMBRIDGE_WAIT_FOREVER), -EBADMSG);
	mbt_assert_ret(membridge_spsc_pop_batch(r->q, 8, collect_fn, &c, &popped,
						MEMBRIDGE_WAIT_FOREVER), -EBADMSG);
	ck_assert_uint_eq(popped, 0);
	ck_assert_uint_eq(c.calls, 0);
	ck_assert_uint_eq(get64(r, OFF_HEAD), head);
	ck_assert_int_lt(mbt_now_ns() - t0, 1000 * MBT_MS);
}

START_TEST(test_corrupt_frame_length)
{
	static const uint32_t bad[] = { 11, 12, 60, 61, 64, 0x7fffffffu, 0xfffffffcu,
					0xffffffffu };
	struct ring r;
	uint32_t n;
	size_t i;

	ring_make(&r, 64);
	push_seeded(&r, 10, 1);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(r.data, &bad[i], 4);
		assert_frame_badmsg(&r);
		assert_used(&r, 14);
	}
	n = 10;
	memcpy(r.data, &n, 4);
	pop_seeded(&r, 10, 1);
	/* A corrupt length in a header split across the end. */
	advance_to(&r, 62);
	push_seeded(&r, 10, 2);
	r.data[1] = 0x01; /* length byte 3 of 4, after the wrap */
	assert_frame_badmsg(&r);
	r.data[1] = 0;
	pop_seeded(&r, 10, 2);
	ring_free(&r);
}
END_TEST

/* pop_batch meeting a corrupt frame after good ones keeps the good ones. */
START_TEST(test_corrupt_frame_in_batch)
{
	struct collect c = { 0 };
	uint32_t n = 200, five = 5;
	struct ring r;
	size_t popped = 99;

	ring_make(&r, 64);
	push_seeded(&r, 5, 1);
	push_seeded(&r, 5, 2);
	push_seeded(&r, 5, 3);
	memcpy(r.data + 9, &n, 4);
	mbt_assert_ret(membridge_spsc_pop_batch(r.q, 10, collect_fn, &c, &popped,
						MEMBRIDGE_NO_WAIT), -EBADMSG);
	ck_assert_uint_eq(popped, 1);
	ck_assert_uint_eq(c.calls, 1);
	assert_collected(&c, 0, 5, 1);
	ck_assert_uint_eq(get64(&r, OFF_HEAD), 9);
	assert_frame_badmsg(&r);
	memcpy(r.data + 9, &five, 4);
	pop_seeded(&r, 5, 2);
	pop_seeded(&r, 5, 3);
	ring_free(&r);
}
END_TEST

/* 1..3 published bytes are less than a frame header. */
START_TEST(test_corrupt_short_frame)
{
	struct ring r;
	uint64_t k;

	ring_make(&r, 64);
	for (k = 1; k <= 3; k++) {
		set64(&r, OFF_TAIL, k);
		assert_frame_badmsg(&r);
		assert_used(&r, k);
	}
	/* Straddling the end. */
	set64(&r, OFF_HEAD, 62);
	set64(&r, OFF_TAIL, 65);
	assert_frame_badmsg(&r);
	set64(&r, OFF_HEAD, 0);
	set64(&r, OFF_TAIL, 0);
	ring_free(&r);
	/* Two bytes left after a valid frame (a fresh ring: a tail that moved
	 * backwards is a corruption of its own). */
	ring_make(&r, 64);
	push_seeded(&r, 5, 1);
	set64(&r, OFF_TAIL, 9 + 2);
	pop_seeded(&r, 5, 1);
	assert_frame_badmsg(&r);
	assert_used(&r, 2);
	ring_free(&r);
}
END_TEST

/* ------------------------------------------------------------------- roles */

START_TEST(test_roles_alternate)
{
	struct ring r;
	unsigned i;

	ring_make(&r, 128);
	/* Pushes and pops interleaved with up to three messages in flight. */
	push_seeded(&r, 1, 0);
	push_seeded(&r, 2, 1);
	for (i = 0; i < 500; i++) {
		push_seeded(&r, (i * 7) % 40, i + 2);
		pop_seeded(&r, i == 0 ? 1 : i == 1 ? 2 : ((i - 2) * 7) % 40, i);
	}
	pop_seeded(&r, (498 * 7) % 40, 500);
	pop_seeded(&r, (499 * 7) % 40, 501);
	assert_used(&r, 0);
	ring_free(&r);
}
END_TEST

START_TEST(test_roles_takeover)
{
	struct membridge_segment *seg2, *seg3;
	struct membridge_spsc *a, *b, *c;
	unsigned char buf[64];
	struct ring r;
	uint32_t n = 5;
	size_t len, i;

	ring_make(&r, 64);
	a = r.q;
	b = second_handle(&r, &seg2);
	c = second_handle(&r, &seg3);
	/* A produces, then B takes over from the stored tail, then A again. */
	push_seeded(&r, 3, 1);
	push_seeded(&r, 4, 2);
	r.q = b;
	push_seeded(&r, 5, 3);
	push_seeded(&r, 6, 4);
	ck_assert_uint_eq(get64(&r, OFF_TAIL), 7 + 8 + 9 + 10);
	r.q = a;
	push_seeded(&r, 7, 5);
	/* C consumes the first, then A and B take turns as consumer. */
	r.q = c;
	pop_seeded(&r, 3, 1);
	r.q = a;
	pop_seeded(&r, 4, 2);
	r.q = b;
	pop_seeded(&r, 5, 3);
	r.q = a;
	pop_seeded(&r, 6, 4);
	r.q = c;
	pop_seeded(&r, 7, 5);
	assert_used(&r, 0);
	/* A fills the ring, C empties it, A must see the space. */
	r.q = a;
	for (i = 0; i < 4; i++)
		push_seeded(&r, 12, (unsigned)i);
	assert_used(&r, 64);
	r.q = c;
	for (i = 0; i < 4; i++)
		pop_seeded(&r, 12, (unsigned)i);
	r.q = a;
	for (i = 0; i < 4; i++)
		push_seeded(&r, 12, (unsigned)(i + 10));
	r.q = b;
	for (i = 0; i < 4; i++)
		pop_seeded(&r, 12, (unsigned)(i + 10));
	/* A peer that is not this library appends a frame by hand; A continues
	 * after it, and a pop through A after a hand-made head move too. */
	r.q = a;
	push_seeded(&r, 2, 20);
	memcpy(r.data + ((get64(&r, OFF_TAIL)) & 63), &n, 4);
	memcpy(r.data + ((get64(&r, OFF_TAIL) + 4) & 63), "peer!", 5);
	set64(&r, OFF_TAIL, get64(&r, OFF_TAIL) + 9);
	push_seeded(&r, 3, 21);
	pop_seeded(&r, 2, 20);
	set64(&r, OFF_HEAD, get64(&r, OFF_HEAD) + 9); /* the peer consumed "peer!" */
	pop_seeded(&r, 3, 21);
	assert_used(&r, 0);
	/* A restarted producer: a fresh handle continues from the stored tail. */
	r.q = b;
	push_seeded(&r, 8, 30);
	membridge_spsc_close(b);
	membridge_segment_close(seg2);
	b = second_handle(&r, &seg2);
	r.q = b;
	push_seeded(&r, 9, 31);
	r.q = c;
	mbt_assert_ok(membridge_spsc_pop(c, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 8);
	pop_seeded(&r, 9, 31);
	r.q = a;
	membridge_spsc_close(b);
	membridge_segment_close(seg2);
	membridge_spsc_close(c);
	membridge_segment_close(seg3);
	ring_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ tcases */


/* ------------------------------------------------------------ descriptors */

static int readable(int fd, int timeout_ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, timeout_ms);
}

/* The data descriptor: armed by a pop that found nothing, readable after a
 * push, quiet again once a pop emptied it; the same for space. */
START_TEST(test_descriptors)
{
	struct membridge_spsc *other;
	char buf[64];
	size_t n;
	int dfd, sfd;
	struct ring r;

	ring_make(&r, 64);
	mbt_assert_ok(membridge_spsc_open(r.seg, &other));
	dfd = membridge_spsc_data_fd(r.q);
	sfd = membridge_spsc_space_fd(other);
	if (!MEMBRIDGE_HAVE_DESCRIPTORS) { /* macOS, Windows */
		mbt_assert_ret(dfd, -ENOTSUP);
		mbt_assert_ret(sfd, -ENOTSUP);
		membridge_spsc_close(other);
		ring_free(&r);
		return;
	}
	ck_assert_int_ge(dfd, 0);
	ck_assert_int_ge(sfd, 0);
	ck_assert_int_eq(membridge_spsc_data_fd(r.q), dfd); /* one per handle */
	ck_assert_int_eq(readable(dfd, 0), 0);
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), &n, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ck_assert_int_eq(readable(dfd, 0), 0);
	mbt_assert_ok(membridge_spsc_push(other, "hello", 5, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(readable(dfd, (int)(MBT_PROMPT_NS / MBT_MS)), 1);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &n, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(n, 5);
	ck_assert_int_eq(readable(dfd, 0), 0);
	/* Not armed: a push rings nothing. */
	mbt_assert_ok(membridge_spsc_push(other, "x", 1, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(readable(dfd, 0), 0);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &n, MEMBRIDGE_NO_WAIT));
	/* Space: a push that did not fit arms it, a pop rings it. */
	mbt_assert_ok(membridge_spsc_push(other, buf, 56, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_spsc_push(other, buf, 56, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ck_assert_int_eq(readable(sfd, 0), 0);
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &n, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(readable(sfd, (int)(MBT_PROMPT_NS / MBT_MS)), 1);
	mbt_assert_ok(membridge_spsc_push(other, buf, 56, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(readable(sfd, 0), 0);
	mbt_assert_ret(membridge_spsc_data_fd(NULL), -EINVAL);
	mbt_assert_ret(membridge_spsc_space_fd(NULL), -EINVAL);
	membridge_spsc_close(other);
	ring_free(&r);
}
END_TEST

static Suite *spsc_suite(void)
{
	Suite *s = suite_create("spsc");
	TCase *tc;

	tc = tcase_create("open");
	tcase_add_test(tc, test_constants);
	tcase_add_test(tc, test_open_bad_sizes);
	tcase_add_test(tc, test_open_null_args);
	tcase_add_test(tc, test_open_min_and_powers);
	tcase_add_test(tc, test_open_writes_header);
	tcase_add_test(tc, test_open_uninitialised_eagain);
	tcase_add_test(tc, test_open_validates_header);
	tcase_add_test(tc, test_open_creator_validates_too);
	tcase_add_test(tc, test_open_twice_keeps_messages);
	tcase_add_test(tc, test_ring_keeps_segment);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout");
	tcase_add_test(tc, test_layout_push_hi);
	tcase_add_test(tc, test_layout_foreign_frame);
	suite_add_tcase(s, tc);

	tc = tcase_create("pushpop");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_roundtrip_lengths);
	tcase_add_test(tc, test_zero_length);
	tcase_add_test(tc, test_pop_empty_no_buffer);
	tcase_add_test(tc, test_max_payload);
	tcase_add_test(tc, test_push_pop_einval);
	tcase_add_test(tc, test_wrap_frame_header);
	tcase_add_test(tc, test_wrap_payload);
	tcase_add_test(tc, test_wrap_exhaustive);
	tcase_add_test(tc, test_full_push_wait);
	tcase_add_test(tc, test_empty_pop_wait);
	tcase_add_test(tc, test_pop_enobufs);
	suite_add_tcase(s, tc);

	tc = tcase_create("pushv");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_pushv_pieces);
	tcase_add_test(tc, test_pushv_sizes);
	suite_add_tcase(s, tc);

	tc = tcase_create("push_batch");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_push_batch_partial);
	tcase_add_test(tc, test_push_batch_order);
	tcase_add_test(tc, test_push_batch_errors);
	tcase_add_test(tc, test_push_batch_same_bytes);
	tcase_add_test(tc, test_push_batch_fills_empty_ring);
	suite_add_tcase(s, tc);

	tc = tcase_create("peek");
	tcase_add_test(tc, test_peek_consume);
	tcase_add_test(tc, test_peek_wrapping);
	tcase_add_test(tc, test_consume_inconsistent);
	tcase_add_test(tc, test_consume_beyond_tail);
	suite_add_tcase(s, tc);

	tc = tcase_create("pop_batch");
	tcase_add_test(tc, test_pop_batch_basic);
	tcase_add_test(tc, test_pop_batch_stop);
	tcase_add_test(tc, test_pop_batch_wrapping);
	tcase_add_test(tc, test_accounting);
	suite_add_tcase(s, tc);

	tc = tcase_create("corrupt");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_corrupt_capacity);
	tcase_add_test(tc, test_corrupt_tail_ahead);
	tcase_add_test(tc, test_corrupt_head_ahead);
	tcase_add_test(tc, test_corrupt_head_ahead_push);
	tcase_add_test(tc, test_corrupt_frame_length);
	tcase_add_test(tc, test_corrupt_frame_in_batch);
	tcase_add_test(tc, test_corrupt_short_frame);
	suite_add_tcase(s, tc);

	tc = tcase_create("descriptors");
	tcase_add_test(tc, test_descriptors);
	suite_add_tcase(s, tc);

	tc = tcase_create("roles");
	tcase_add_test(tc, test_roles_alternate);
	tcase_add_test(tc, test_roles_takeover);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return mbt_run(spsc_suite());
}
