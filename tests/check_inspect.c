/* SPDX-License-Identifier: MIT */
/* Check suite for the read-only inspection calls (membridge_inspect(3)). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* ------------------------------------------------------------ raw rings */

/* A ring built by hand in private memory, as SPEC §2 lays it out: head,
 * tail and capacity as native uint64 at 0, 8 and 16, then the data area. */
#define RAW_CAPACITY 64u

struct raw_ring {
	uint64_t head, tail, capacity;
	unsigned char data[RAW_CAPACITY];
};

_Static_assert(sizeof(struct raw_ring) == MEMBRIDGE_SPSC_HEADER + RAW_CAPACITY, "raw ring");

static void raw_init(struct raw_ring *r, uint64_t head)
{
	memset(r, 0, sizeof(*r));
	r->head = r->tail = head;
	r->capacity = RAW_CAPACITY;
}

/* Append a frame claiming `len` bytes, of which `stored` follow. */
static void raw_frame(struct raw_ring *r, uint32_t len, uint32_t stored)
{
	unsigned char bytes[MEMBRIDGE_SPSC_FRAME_HEADER];
	uint32_t i;

	memcpy(bytes, &len, sizeof(len));
	for (i = 0; i < sizeof(bytes); i++)
		r->data[(r->tail + i) % RAW_CAPACITY] = bytes[i];
	r->tail += MEMBRIDGE_SPSC_FRAME_HEADER;
	for (i = 0; i < stored; i++)
		r->data[(r->tail + i) % RAW_CAPACITY] = (unsigned char)i;
	r->tail += stored;
}

static int raw_inspect(const struct raw_ring *r, struct membridge_spsc_info *info)
{
	return membridge_spsc_inspect(r, sizeof(*r), info);
}

START_TEST(ring_consistent)
{
	struct membridge_spsc_info info;
	struct raw_ring r;

	raw_init(&r, 0);
	mbt_assert_ok(raw_inspect(&r, &info));
	ck_assert_uint_eq(info.capacity, RAW_CAPACITY);
	ck_assert_uint_eq(info.used, 0);
	ck_assert_int_eq(info.frames, 0);
	ck_assert_int_eq(info.fault, MEMBRIDGE_SPSC_FAULT_NONE);

	/* Frames of 0, 5 and 20 bytes, starting near the end so that one
	 * frame header and one payload wrap round the data area. */
	raw_init(&r, 1000 * RAW_CAPACITY - 9);
	raw_frame(&r, 0, 0);
	raw_frame(&r, 5, 5);
	raw_frame(&r, 20, 20);
	mbt_assert_ok(raw_inspect(&r, &info));
	ck_assert_uint_eq(info.head, 1000 * RAW_CAPACITY - 9);
	ck_assert_uint_eq(info.tail, r.tail);
	ck_assert_uint_eq(info.used, 3 * MEMBRIDGE_SPSC_FRAME_HEADER + 25);
	ck_assert_int_eq(info.frames, 3);

	/* A full ring: one frame fills it exactly. */
	raw_init(&r, 3);
	raw_frame(&r, RAW_CAPACITY - MEMBRIDGE_SPSC_FRAME_HEADER,
		  RAW_CAPACITY - MEMBRIDGE_SPSC_FRAME_HEADER);
	mbt_assert_ok(raw_inspect(&r, &info));
	ck_assert_uint_eq(info.used, RAW_CAPACITY);
	ck_assert_int_eq(info.frames, 1);
}
END_TEST

START_TEST(ring_not_shaped)
{
	struct membridge_spsc_info info;
	struct raw_ring r;

	raw_init(&r, 0);
	mbt_assert_ret(membridge_spsc_inspect(NULL, sizeof(r), &info), -EINVAL);
	mbt_assert_ret(membridge_spsc_inspect(&r, sizeof(r), NULL), -EINVAL);
	/* No ring has these sizes: data area not a power of two, too small. */
	mbt_assert_ret(membridge_spsc_inspect(&r, sizeof(r) - 1, &info), -EINVAL);
	mbt_assert_ret(membridge_spsc_inspect(&r, MEMBRIDGE_SPSC_HEADER + 4, &info), -EINVAL);
	/* The right size, but the header does not say so: no ring (yet). */
	r.capacity = 0;
	mbt_assert_ret(raw_inspect(&r, &info), -ENOTSUP);
	ck_assert_uint_eq(info.capacity, 0);
	r.capacity = RAW_CAPACITY * 2;
	mbt_assert_ret(raw_inspect(&r, &info), -ENOTSUP);
	ck_assert_uint_eq(info.capacity, RAW_CAPACITY * 2);
}
END_TEST

START_TEST(ring_head_past_tail)
{
	struct membridge_spsc_info info;
	struct raw_ring r;

	raw_init(&r, 0);
	r.head = 100;
	r.tail = 50;
	mbt_assert_ret(raw_inspect(&r, &info), -EBADMSG);
	ck_assert_int_eq(info.fault, MEMBRIDGE_SPSC_FAULT_HEAD_PAST_TAIL);
	ck_assert_uint_eq(info.head, 100);
	ck_assert_uint_eq(info.tail, 50);
	ck_assert_uint_eq(info.used, 0);
	ck_assert_int_eq(info.frames, -1);
}
END_TEST

START_TEST(ring_overfull)
{
	struct membridge_spsc_info info;
	struct raw_ring r;

	/* The case: head 0, tail 5000 in a smaller ring. */
	raw_init(&r, 0);
	r.tail = 5000;
	mbt_assert_ret(raw_inspect(&r, &info), -EBADMSG);
	ck_assert_int_eq(info.fault, MEMBRIDGE_SPSC_FAULT_OVERFULL);
	ck_assert_uint_eq(info.used, 0);
	ck_assert_int_eq(info.frames, -1);
}
END_TEST

START_TEST(ring_frame_cut)
{
	struct membridge_spsc_info info;
	struct raw_ring r;

	raw_init(&r, 0);
	raw_frame(&r, 2, 2);
	r.tail += 3; /* part of a frame header */
	mbt_assert_ret(raw_inspect(&r, &info), -EBADMSG);
	ck_assert_int_eq(info.fault, MEMBRIDGE_SPSC_FAULT_FRAME_CUT);
	ck_assert_uint_eq(info.fault_index, MEMBRIDGE_SPSC_FRAME_HEADER + 2);
	ck_assert_uint_eq(info.used, r.tail);
	ck_assert_int_eq(info.frames, -1);
}
END_TEST

START_TEST(ring_frame_length)
{
	struct membridge_spsc_info info;
	struct raw_ring r;

	raw_init(&r, 8);
	raw_frame(&r, 1, 1);
	raw_frame(&r, 10, 6); /* claims 10, only 6 published */
	mbt_assert_ret(raw_inspect(&r, &info), -EBADMSG);
	ck_assert_int_eq(info.fault, MEMBRIDGE_SPSC_FAULT_FRAME_LENGTH);
	ck_assert_uint_eq(info.fault_index, 8 + MEMBRIDGE_SPSC_FRAME_HEADER + 1);
	ck_assert_uint_eq(info.fault_length, 10);

	/* A length no ring could hold. */
	raw_init(&r, 0);
	raw_frame(&r, UINT32_MAX, 4);
	mbt_assert_ret(raw_inspect(&r, &info), -EBADMSG);
	ck_assert_int_eq(info.fault, MEMBRIDGE_SPSC_FAULT_FRAME_LENGTH);
	ck_assert_uint_eq(info.fault_length, UINT32_MAX);
}
END_TEST

/* More frames than the walk counts: still consistent, count unknown. The
 * walk stops at the bound, so this costs MAX_FRAMES steps, no more. */
START_TEST(ring_too_many_frames)
{
	uint64_t capacity = 1, frames = (uint64_t)MEMBRIDGE_SPSC_INSPECT_MAX_FRAMES + 1;
	struct membridge_spsc_info info;
	uint64_t *hdr;
	size_t size;

	while (capacity < frames * MEMBRIDGE_SPSC_FRAME_HEADER)
		capacity *= 2;
	size = (size_t)capacity + MEMBRIDGE_SPSC_HEADER;
	hdr = calloc(1, size); /* zero-length frames throughout */
	ck_assert_ptr_nonnull(hdr);
	hdr[1] = frames * MEMBRIDGE_SPSC_FRAME_HEADER;
	hdr[2] = capacity;
	mbt_assert_ok(membridge_spsc_inspect(hdr, size, &info));
	ck_assert_int_eq(info.frames, -1);
	ck_assert_uint_eq(info.used, hdr[1]);
	free(hdr);
}
END_TEST

START_TEST(ring_count_frames)
{
	struct raw_ring r;
	uint64_t count = 99, mid;

	raw_init(&r, 0);
	raw_frame(&r, 3, 3);
	mid = r.tail;
	raw_frame(&r, 0, 0);
	raw_frame(&r, 7, 7);
	mbt_assert_ok(membridge_spsc_count_frames(&r, sizeof(r), 0, r.tail, &count));
	ck_assert_uint_eq(count, 3);
	mbt_assert_ok(membridge_spsc_count_frames(&r, sizeof(r), mid, r.tail, &count));
	ck_assert_uint_eq(count, 2);
	mbt_assert_ok(membridge_spsc_count_frames(&r, sizeof(r), mid, mid, &count));
	ck_assert_uint_eq(count, 0);
	/* Not a frame boundary: the frames do not chain up to `to`. */
	mbt_assert_ret(membridge_spsc_count_frames(&r, sizeof(r), 1, r.tail, &count),
		       -EBADMSG);
	/* The consumer passed `from`: those bytes may have been reused. */
	r.head = mid;
	mbt_assert_ret(membridge_spsc_count_frames(&r, sizeof(r), 0, r.tail, &count), -EAGAIN);
	/* More than a ring holds. */
	r.head = 0;
	mbt_assert_ret(membridge_spsc_count_frames(&r, sizeof(r), 0, RAW_CAPACITY + 1, &count),
		       -EAGAIN);
	mbt_assert_ret(membridge_spsc_count_frames(&r, sizeof(r) - 1, 0, r.tail, &count),
		       -EINVAL);
	mbt_assert_ret(membridge_spsc_count_frames(&r, sizeof(r), 0, r.tail, NULL), -EINVAL);
}
END_TEST

START_TEST(ring_segment_size)
{
	ck_assert_uint_eq(membridge_spsc_segment_size(MEMBRIDGE_SPSC_MIN_CAPACITY),
			  MEMBRIDGE_SPSC_MIN_CAPACITY + MEMBRIDGE_SPSC_HEADER);
	ck_assert_uint_eq(membridge_spsc_segment_size(4096), 4096 + MEMBRIDGE_SPSC_HEADER);
	ck_assert_uint_eq(membridge_spsc_segment_size(0), 0);
	ck_assert_uint_eq(membridge_spsc_segment_size(MEMBRIDGE_SPSC_MIN_CAPACITY / 2), 0);
	ck_assert_uint_eq(membridge_spsc_segment_size(4095), 0);
	ck_assert_uint_eq(membridge_spsc_segment_size(UINT64_MAX), 0);
}
END_TEST

/* ---------------------------------------------------- a library ring */

/* What the library writes, inspected through the segment's own mapping. */
START_TEST(ring_from_library)
{
	char name[MBT_NAME_SIZE], msg[40] = "inspect me";
	struct membridge_segment *seg;
	struct membridge_spsc *spsc;
	struct membridge_spsc_info info;
	size_t size = membridge_spsc_segment_size(128), len;
	int i;

	mbt_name(name);
	ck_assert_uint_ne(size, 0);
	mbt_assert_ok(membridge_segment_create(name, size, 0, 0, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &spsc));
	for (i = 0; i < 5; i++)
		mbt_assert_ok(membridge_spsc_push(spsc, msg, (size_t)i * 3, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_inspect(membridge_segment_data(seg), size, &info));
	ck_assert_int_eq(info.frames, 5);
	ck_assert_uint_eq(info.capacity, 128);
	mbt_assert_ok(membridge_spsc_used(spsc, &len));
	ck_assert_uint_eq(info.used, len);
	mbt_assert_ok(membridge_spsc_pop(spsc, msg, sizeof(msg), &len, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_inspect(membridge_segment_data(seg), size, &info));
	ck_assert_int_eq(info.frames, 4);
	ck_assert_uint_eq(info.head, membridge_spsc_frame_size(0));
	membridge_spsc_close(spsc);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* ----------------------------------------------------------------- views */

START_TEST(view_lock_states)
{
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_view *a, *b;
	struct membridge_view_info info;
	_Atomic int32_t *word;
	void *base;
	size_t size = 64;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, size, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &a));
	mbt_assert_ok(membridge_view_open(seg, &b));
	base = membridge_segment_data(seg);
	word = base;

	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_uint_eq(info.data_size, size - MEMBRIDGE_VIEW_HEADER);
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_FREE);
	ck_assert_int_eq(info.lock_word, 0);
	ck_assert_int_eq(info.readers, 0);
	ck_assert_int_eq(info.writer, 0);

	mbt_assert_ok(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_lock_read(b, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_READ);
	ck_assert_int_eq(info.readers, 2);
	ck_assert_int_eq(info.writer, 0);
	ck_assert(!info.writer_waiting);
	mbt_assert_ok(membridge_view_unlock(a));
	mbt_assert_ok(membridge_view_unlock(b));

	/* A writer waiting on top of two readers, then on its own. */
	atomic_store(word, 2 | MEMBRIDGE_VIEW_WRITER_WAITING);
	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_READ);
	ck_assert_int_eq(info.readers, 2);
	ck_assert(info.writer_waiting);
	atomic_store(word, MEMBRIDGE_VIEW_WRITER_WAITING);
	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_FREE);
	ck_assert_int_eq(info.readers, 0);
	ck_assert(info.writer_waiting);
	atomic_store(word, 0);

	mbt_assert_ok(membridge_view_lock_write(a, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_WRITE);
	ck_assert_int_eq(info.writer, getpid());
	ck_assert_int_eq(info.lock_word, -getpid());
	ck_assert_int_eq(info.readers, 0);
	mbt_assert_ok(membridge_view_unlock(a));

	/* A peer that follows the plain rules may store -1; and any word a
	 * peer scribbles decodes, INT32_MIN included. */
	*word = -1;
	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_WRITE);
	ck_assert_int_eq(info.writer, -1);
	*word = INT32_MIN;
	mbt_assert_ok(membridge_view_inspect(base, size, &info));
	ck_assert_int_eq(info.state, MEMBRIDGE_LOCK_WRITE);
	ck_assert_int_eq(info.writer, (int64_t)1 << 31);
	*word = 0;

	mbt_assert_ret(membridge_view_inspect(base, MEMBRIDGE_VIEW_HEADER, &info), -EINVAL);
	mbt_assert_ret(membridge_view_inspect(NULL, size, &info), -EINVAL);
	mbt_assert_ret(membridge_view_inspect(base, size, NULL), -EINVAL);
	membridge_view_close(a);
	membridge_view_close(b);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

static Suite *inspect_suite(void)
{
	Suite *s = suite_create("inspect");
	TCase *tc = tcase_create("ring");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ring_consistent);
	tcase_add_test(tc, ring_not_shaped);
	tcase_add_test(tc, ring_head_past_tail);
	tcase_add_test(tc, ring_overfull);
	tcase_add_test(tc, ring_frame_cut);
	tcase_add_test(tc, ring_frame_length);
	tcase_add_test(tc, ring_too_many_frames);
	tcase_add_test(tc, ring_count_frames);
	tcase_add_test(tc, ring_segment_size);
	tcase_add_test(tc, ring_from_library);
	suite_add_tcase(s, tc);

	tc = tcase_create("view");
	tcase_add_test(tc, view_lock_states);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(inspect_suite());
}
