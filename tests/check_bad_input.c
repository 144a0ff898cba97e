/* SPDX-License-Identifier: MIT */
/* Check suite: the bad-input table, one row per bad call and the exact error it gets. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

/* Every row runs against a fresh ring-sized segment: capacity 64 as a ring,
 * a data area of 84 bytes as a view. */
#define CAP 64u
#define SEG_SIZE (CAP + MEMBRIDGE_SPSC_HEADER)
#define DATA_SIZE (SEG_SIZE - 4u)

enum need {
	NEED_NAME,    /* a fresh name, nothing created */
	NEED_SEGMENT, /* the segment, created by this process */
	NEED_VIEW,    /* ...and a view of it */
	NEED_RING,    /* ...and a ring in it */
};

struct env {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_view *view;
	struct membridge_spsc *ring;
	unsigned char *raw; /* the whole segment */
};

struct row {
	const char *what;
	enum need need;
	int (*call)(struct env *e);
	int expected;
};

/* ---------------------------------------------------------------- helpers */

/* Another process shrinks the segment to `size` bytes with ftruncate(). */
struct shrink {
	const char *name;
	off_t size;
};

static int shrink_main(void *arg)
{
	const struct shrink *s = arg;
	int fd = shm_open(s->name, O_RDWR, 0);

	if (fd < 0 || ftruncate(fd, s->size) < 0)
		return 1;
	close(fd);
	return 0;
}

static void shrink_by_peer(const char *name, off_t size)
{
	struct shrink s = { name, size };

	ck_assert_int_eq(mbt_wait(mbt_fork(shrink_main, &s)), 0);
}

/* Open the env's segment again, as a process that did not create it. */
static int open_again(struct env *e, struct membridge_segment **seg)
{
	return membridge_segment_open(e->name, 0, seg);
}

/* A ring over a second handle of the env's segment; the result of spsc_open. */
static int ring_over_second_handle(struct env *e)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q = NULL;
	int ret = open_again(e, &seg);

	if (ret < 0)
		return ret;
	ret = membridge_spsc_open(seg, &q);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return ret;
}

static void set_lock_word(struct env *e, int32_t v)
{
	atomic_store((_Atomic int32_t *)(void *)e->raw, v);
}

static void set_u64(struct env *e, size_t off, uint64_t v)
{
	memcpy(e->raw + off, &v, sizeof(v));
}

/* Decode bytes as a str with membridge_decode(). */
static int decode_str(const void *bytes, size_t len)
{
	struct membridge_value v;
	size_t pos = 0;

	return membridge_decode(bytes, len, &pos, MEMBRIDGE_STR, &v);
}

/* A 4-byte length prefix followed by `len` bytes of `text`, decoded as a str. */
static int decode_prefixed(const char *text, uint32_t len)
{
	unsigned char buf[16];

	memcpy(buf, &len, 4);
	memcpy(buf + 4, text, len);
	return decode_str(buf, 4 + (size_t)len);
}

/* ------------------------------------------------------------ names, segments */

static int name_null(struct env *e)
{
	return membridge_segment_create(NULL, 64, 0, 0, &e->seg);
}

static int create_named(struct env *e, const char *name)
{
	return membridge_segment_create(name, 64, 0, 0, &e->seg);
}

static int name_empty(struct env *e)
{
	return create_named(e, "");
}

static int name_no_slash(struct env *e)
{
	return create_named(e, "noslash");
}

static int name_slash_only(struct env *e)
{
	return create_named(e, "/");
}

static int name_second_slash(struct env *e)
{
	return create_named(e, "/a/b");
}

static int name_traversal(struct env *e)
{
	return create_named(e, "/../etc/passwd");
}

static int name_dotdot(struct env *e)
{
	return create_named(e, "/..");
}

static int name_companion(struct env *e)
{
	return create_named(e, "/" MEMBRIDGE_COMPANION_SUFFIX); /* fits macOS's 16 bytes */
}

static int create_long_name(struct env *e, size_t len)
{
	char name[300];

	memset(name, 'n', len);
	name[0] = '/';
	name[len] = '\0';
	return create_named(e, name);
}

static int name_241(struct env *e)
{
	return create_long_name(e, MEMBRIDGE_NAME_MAX + 1);
}

static int name_past_name_max(struct env *e)
{
	return create_long_name(e, 256);
}

static int size_zero(struct env *e)
{
	return membridge_segment_create(e->name, 0, 0, 0, &e->seg);
}

static int size_max(struct env *e)
{
	return membridge_segment_create(e->name, SIZE_MAX, 0, 0, &e->seg);
}

static int size_beyond_address_space(struct env *e)
{
	return membridge_segment_create(e->name, (size_t)INT64_MAX, 0, 0, &e->seg);
}

static int mode_too_big(struct env *e)
{
	return membridge_segment_create(e->name, 64, 01600, 0, &e->seg);
}

static int flags_unknown(struct env *e)
{
	return membridge_segment_create(e->name, 64, 0, 4, &e->seg);
}

static int flags_two(struct env *e)
{
	unsigned flags = MEMBRIDGE_CREATE_REPLACE | MEMBRIDGE_CREATE_ATTACH;

	return membridge_segment_create(e->name, 64, 0, flags, &e->seg);
}

static int segp_null(struct env *e)
{
	return membridge_segment_create(e->name, 64, 0, 0, NULL);
}

static int create_existing(struct env *e)
{
	struct membridge_segment *seg = NULL;

	return membridge_segment_create(e->name, SEG_SIZE, 0, 0, &seg);
}

static int attach_other_size(struct env *e)
{
	struct membridge_segment *seg = NULL;

	return membridge_segment_create(e->name, SEG_SIZE * 2, 0, MEMBRIDGE_CREATE_ATTACH, &seg);
}

static int open_missing(struct env *e)
{
	return membridge_segment_open(e->name, 0, &e->seg);
}

static int open_wrong_size(struct env *e)
{
	struct membridge_segment *seg = NULL;

	return membridge_segment_open(e->name, SEG_SIZE + 1, &seg);
}

static int remove_missing(struct env *e)
{
	return membridge_segment_remove(e->name);
}

static int remove_null(struct env *e)
{
	(void)e;
	return membridge_segment_remove(NULL);
}

/* ------------------------------------------------------------------ codec */

static int tag_unknown(struct env *e)
{
	enum membridge_type t;

	(void)e;
	return membridge_type_from_name("i16", &t);
}

static int tag_null(struct env *e)
{
	enum membridge_type t;

	(void)e;
	return membridge_type_from_name(NULL, &t);
}

static int encode_type_zero(struct env *e)
{
	struct membridge_value v = { .type = 0 };
	size_t n;

	(void)e;
	return membridge_encoded_size(&v, 1, &n);
}

static int encode_sizes_overflow(struct env *e)
{
	static const char byte;
	struct membridge_value v[2] = {
		{ .type = MEMBRIDGE_BYTES, .as.buf = { &byte, SIZE_MAX / 2 + 1 } },
		{ .type = MEMBRIDGE_BYTES, .as.buf = { &byte, SIZE_MAX / 2 + 1 } },
	};
	size_t n;

	(void)e;
	return membridge_encoded_size(v, 2, &n);
}

static int encode_buffer_small(struct env *e)
{
	struct membridge_value v = { .type = MEMBRIDGE_I64, .as.i64 = 1 };
	unsigned char buf[7];

	(void)e;
	return membridge_encode(buf, sizeof(buf), &v, 1, NULL);
}

static int encode_buffer_null(struct env *e)
{
	struct membridge_value v = { .type = MEMBRIDGE_I64, .as.i64 = 1 };

	(void)e;
	return membridge_encode(NULL, 64, &v, 1, NULL);
}

static int decode_bytes_type(struct env *e)
{
	static const unsigned char buf[8];
	struct membridge_value v;
	size_t pos = 0;

	(void)e;
	return membridge_decode(buf, sizeof(buf), &pos, MEMBRIDGE_BYTES, &v);
}

static int decode_pos_past_end(struct env *e)
{
	static const unsigned char buf[8];
	struct membridge_value v;
	size_t pos = SIZE_MAX - 1;

	(void)e;
	return membridge_decode(buf, sizeof(buf), &pos, MEMBRIDGE_U8, &v);
}

static int decode_str_past_end(struct env *e)
{
	(void)e;
	return decode_str("\x09\0\0\0abc", 7);
}

static int utf8_bad_byte(struct env *e)
{
	(void)e;
	return decode_prefixed("a\xff", 2);
}

static int utf8_overlong(struct env *e)
{
	(void)e;
	return decode_prefixed("\xc0\xaf", 2);
}

static int utf8_surrogate(struct env *e)
{
	(void)e;
	return decode_prefixed("\xed\xa0\x80", 3);
}

static int utf8_past_max(struct env *e)
{
	(void)e;
	return decode_prefixed("\xf4\x90\x80\x80", 4);
}

static int utf8_cut_short(struct env *e)
{
	(void)e;
	return decode_prefixed("\xe2\x82", 2);
}

/* ------------------------------------------------------------------- view */

static int view_of_null(struct env *e)
{
	return membridge_view_open(NULL, &e->view);
}

static int view_of_lock_word_only(struct env *e)
{
	struct membridge_segment *seg;
	struct membridge_view *view = NULL;
	char name[MBT_NAME_SIZE];
	int ret;

	(void)e;
	mbt_assert_ok(membridge_segment_create(mbt_name(name), 4, 0, 0, &seg));
	ret = membridge_view_open(seg, &view);
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	return ret;
}

static int seek_past_end(struct env *e)
{
	return membridge_view_seek(e->view, DATA_SIZE + 1);
}

static int read_offset_huge(struct env *e)
{
	char buf[1];

	return membridge_view_read_bytes(e->view, SIZE_MAX - 1, buf, 1);
}

static int read_len_huge(struct env *e)
{
	char buf[1];

	/* A huge length is refused before buf is touched. */
	return membridge_view_read_bytes(e->view, 8, buf, SIZE_MAX - 7);
}

static int write_one_past_end(struct env *e)
{
	return membridge_view_write_bytes(e->view, DATA_SIZE, "x", 1);
}

static int write_bytes_null(struct env *e)
{
	return membridge_view_write_bytes(e->view, 0, NULL, 1);
}

static int write_too_long(struct env *e)
{
	static const char text[DATA_SIZE];
	struct membridge_value v = { .type = MEMBRIDGE_STR, .as.buf = { text, sizeof(text) } };

	return membridge_view_write(e->view, 0, &v, 1);
}

static int write_bad_type(struct env *e)
{
	struct membridge_value v = { .type = 99 };

	return membridge_view_write(e->view, 0, &v, 1);
}

static int write_values_null(struct env *e)
{
	return membridge_view_write(e->view, 0, NULL, 1);
}

static int read_bytes_type(struct env *e)
{
	struct membridge_value v;

	return membridge_view_read(e->view, 0, MEMBRIDGE_BYTES, &v, NULL, 0);
}

static int read_unknown_type(struct env *e)
{
	struct membridge_value v;

	return membridge_view_read(e->view, 0, 99, &v, NULL, 0);
}

static int read_str_small_buffer(struct env *e)
{
	struct membridge_value v;
	char buf[2];

	mbt_assert_ok(membridge_view_write_bytes(e->view, 0, "\3\0\0\0abc", 7));
	return membridge_view_read(e->view, 0, MEMBRIDGE_STR, &v, buf, sizeof(buf));
}

static int read_str_length_past_end(struct env *e)
{
	struct membridge_value v;
	char buf[DATA_SIZE];

	mbt_assert_ok(membridge_view_write_bytes(e->view, 0, "\x51\0\0\0", 4));
	return membridge_view_read(e->view, 0, MEMBRIDGE_STR, &v, buf, sizeof(buf));
}

static int read_str_invalid_utf8(struct env *e)
{
	struct membridge_value v;
	char buf[8];

	mbt_assert_ok(membridge_view_write_bytes(e->view, 0, "\2\0\0\0\xc3\x28", 6));
	return membridge_view_read(e->view, 0, MEMBRIDGE_STR, &v, buf, sizeof(buf));
}

static int unlock_unlocked(struct env *e)
{
	return membridge_view_unlock(e->view);
}

static int lock_twice(struct env *e)
{
	mbt_assert_ok(membridge_view_lock_read(e->view, MEMBRIDGE_NO_WAIT));
	return membridge_view_lock_read(e->view, MEMBRIDGE_NO_WAIT);
}

static int write_in_read_section(struct env *e)
{
	mbt_assert_ok(membridge_view_lock_read(e->view, MEMBRIDGE_NO_WAIT));
	return membridge_view_write_bytes(e->view, 0, "x", 1);
}

static int lock_timeout_below_forever(struct env *e)
{
	return membridge_view_lock_write(e->view, -2);
}

static int lock_taken_no_wait(struct env *e)
{
	set_lock_word(e, -1);
	return membridge_view_lock_read(e->view, MEMBRIDGE_NO_WAIT);
}

static int lock_word_changed_behind(struct env *e)
{
	mbt_assert_ok(membridge_view_lock_read(e->view, MEMBRIDGE_NO_WAIT));
	set_lock_word(e, 0);
	return membridge_view_unlock(e->view);
}

static int break_unknown_flag(struct env *e)
{
	return membridge_view_break_lock(e->view, 2);
}

static int break_readers(struct env *e)
{
	set_lock_word(e, 3);
	return membridge_view_break_lock(e->view, 0);
}

static int break_anonymous_writer(struct env *e)
{
	set_lock_word(e, -1);
	return membridge_view_break_lock(e->view, 0);
}

static int break_live_writer(struct env *e)
{
	set_lock_word(e, -(int32_t)getppid());
	return membridge_view_break_lock(e->view, 0);
}

/* ------------------------------------------------------------------- ring */

static int ring_of_null(struct env *e)
{
	return membridge_spsc_open(NULL, &e->ring);
}

static int ring_capacity_not_power_of_two(struct env *e)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q = NULL;
	char name[MBT_NAME_SIZE];
	int ret;

	(void)e;
	mbt_assert_ok(membridge_segment_create(mbt_name(name), 1000, 0, 0, &seg));
	ret = membridge_spsc_open(seg, &q);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	return ret;
}

static int ring_below_min_capacity(struct env *e)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q = NULL;
	char name[MBT_NAME_SIZE];
	int ret;

	(void)e;
	mbt_assert_ok(membridge_segment_create(mbt_name(name), MEMBRIDGE_SPSC_HEADER + 4, 0, 0,
					       &seg));
	ret = membridge_spsc_open(seg, &q);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	return ret;
}

static int ring_over_view_segment(struct env *e)
{
	mbt_assert_ok(membridge_view_write_bytes(e->view, 0, "view data", 9));
	return ring_over_second_handle(e);
}

static int ring_garbage_header(struct env *e)
{
	memset(e->raw, 0xa5, MEMBRIDGE_SPSC_HEADER);
	return ring_over_second_handle(e);
}

static int ring_capacity_beyond_segment(struct env *e)
{
	set_u64(e, 16, 2 * CAP);
	return ring_over_second_handle(e);
}

static int ring_not_initialised(struct env *e)
{
	return ring_over_second_handle(e);
}

static int push_longer_than_capacity(struct env *e)
{
	static const char msg[CAP - MEMBRIDGE_SPSC_FRAME_HEADER + 1];

	return membridge_spsc_push(e->ring, msg, sizeof(msg), MEMBRIDGE_NO_WAIT);
}

static int push_size_max(struct env *e)
{
	static const char byte;

	return membridge_spsc_push(e->ring, &byte, SIZE_MAX, MEMBRIDGE_NO_WAIT);
}

static int pushv_pieces_overflow(struct env *e)
{
	static const char byte;
	struct membridge_iovec iov[2] = { { &byte, 8 }, { &byte, SIZE_MAX - 4 } };

	return membridge_spsc_pushv(e->ring, iov, 2, MEMBRIDGE_NO_WAIT);
}

static int pushv_null_base(struct env *e)
{
	struct membridge_iovec iov = { NULL, 1 };

	return membridge_spsc_pushv(e->ring, &iov, 1, MEMBRIDGE_NO_WAIT);
}

static int pushv_null_iov(struct env *e)
{
	return membridge_spsc_pushv(e->ring, NULL, 1, MEMBRIDGE_NO_WAIT);
}

static int push_batch_one_too_long(struct env *e)
{
	static const char msg[CAP];
	struct membridge_iovec msgs[2] = { { msg, 1 }, { msg, CAP } };
	size_t pushed;

	return membridge_spsc_push_batch(e->ring, msgs, 2, &pushed, MEMBRIDGE_NO_WAIT);
}

static int push_batch_pushed_null(struct env *e)
{
	struct membridge_iovec msg = { "x", 1 };

	return membridge_spsc_push_batch(e->ring, &msg, 1, NULL, MEMBRIDGE_NO_WAIT);
}

static int push_full(struct env *e)
{
	static const char msg[CAP - MEMBRIDGE_SPSC_FRAME_HEADER];

	mbt_assert_ok(membridge_spsc_push(e->ring, msg, sizeof(msg), MEMBRIDGE_NO_WAIT));
	return membridge_spsc_push(e->ring, "", 0, MEMBRIDGE_NO_WAIT);
}

static int push_timeout_below_forever(struct env *e)
{
	return membridge_spsc_push(e->ring, "x", 1, -5);
}

static int pop_empty(struct env *e)
{
	char buf[8];
	size_t len;

	return membridge_spsc_pop(e->ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT);
}

static int pop_small_buffer(struct env *e)
{
	char buf[2];
	size_t len;

	mbt_assert_ok(membridge_spsc_push(e->ring, "abc", 3, MEMBRIDGE_NO_WAIT));
	return membridge_spsc_pop(e->ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT);
}

static int pop_null_buffer(struct env *e)
{
	size_t len;

	return membridge_spsc_pop(e->ring, NULL, 8, &len, MEMBRIDGE_NO_WAIT);
}

static int pop_null_len(struct env *e)
{
	char buf[8];

	return membridge_spsc_pop(e->ring, buf, sizeof(buf), NULL, MEMBRIDGE_NO_WAIT);
}

static int pop_batch_no_callback(struct env *e)
{
	size_t popped;

	return membridge_spsc_pop_batch(e->ring, 1, NULL, NULL, &popped, MEMBRIDGE_NO_WAIT);
}

static int consume_unpublished(struct env *e)
{
	struct membridge_frame f = { .len = 0, .start = 0, .end = MEMBRIDGE_SPSC_FRAME_HEADER };

	return membridge_spsc_consume(e->ring, &f);
}

static int consume_stale(struct env *e)
{
	struct membridge_frame f;
	char buf[8];
	size_t len;

	mbt_assert_ok(membridge_spsc_push(e->ring, "abc", 3, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(e->ring, "def", 3, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_peek(e->ring, &f, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_pop(e->ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	return membridge_spsc_consume(e->ring, &f);
}

static int pop_frame_length_lies(struct env *e)
{
	char buf[CAP];
	size_t len;
	uint32_t lie = 1000;

	mbt_assert_ok(membridge_spsc_push(e->ring, "abc", 3, MEMBRIDGE_NO_WAIT));
	memcpy(e->raw + MEMBRIDGE_SPSC_HEADER, &lie, 4);
	return membridge_spsc_pop(e->ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT);
}

/* After one message went through, a peer stores head 0 and tail 5000:
 * 5000 bytes "published" in a 64-byte ring. Each call checks the whole
 * header, whichever side it is on. */
static void corrupt_after_delivery(struct env *e)
{
	char buf[8];
	size_t len;

	mbt_assert_ok(membridge_spsc_push(e->ring, "hi", 2, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_pop(e->ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	set_u64(e, 0, 0);
	set_u64(e, 8, 5000);
}

static int count_frame(void *ctx, const struct membridge_frame *frame)
{
	(void)frame;
	++*(int *)ctx;
	return 0;
}

static int corrupt_then_pop(struct env *e)
{
	char buf[CAP];
	size_t len;

	corrupt_after_delivery(e);
	return membridge_spsc_pop(e->ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT);
}

static int corrupt_then_peek(struct env *e)
{
	struct membridge_frame f;

	corrupt_after_delivery(e);
	return membridge_spsc_peek(e->ring, &f, MEMBRIDGE_NO_WAIT);
}

static int corrupt_then_pop_batch(struct env *e)
{
	size_t popped;
	int frames = 0, ret;

	corrupt_after_delivery(e);
	ret = membridge_spsc_pop_batch(e->ring, 8, count_frame, &frames, &popped,
				       MEMBRIDGE_NO_WAIT);
	ck_assert_int_eq(frames, 0);
	return ret;
}

static int corrupt_then_push(struct env *e)
{
	corrupt_after_delivery(e);
	return membridge_spsc_push(e->ring, "x", 1, MEMBRIDGE_NO_WAIT);
}

static int corrupt_then_push_batch(struct env *e)
{
	struct membridge_iovec msgs[2] = { { "x", 1 }, { "y", 1 } };
	size_t pushed;

	corrupt_after_delivery(e);
	return membridge_spsc_push_batch(e->ring, msgs, 2, &pushed, MEMBRIDGE_NO_WAIT);
}

static int corrupt_then_consume(struct env *e)
{
	struct membridge_frame f;

	mbt_assert_ok(membridge_spsc_push(e->ring, "hi", 2, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_peek(e->ring, &f, MEMBRIDGE_NO_WAIT));
	set_u64(e, 8, f.start + 5000);
	return membridge_spsc_consume(e->ring, &f);
}

static int used_tail_beyond_capacity(struct env *e)
{
	size_t used;

	set_u64(e, 8, CAP + 1);
	return membridge_spsc_used(e->ring, &used);
}

/* ------------------------------------------------------- truncated segments */

static int shrunk_to_zero_then_opened(struct env *e)
{
	struct membridge_segment *seg = NULL;

	shrink_by_peer(e->name, 0);
	return open_again(e, &seg);
}

static int shrunk_then_opened_with_old_size(struct env *e)
{
	struct membridge_segment *seg = NULL;

	shrink_by_peer(e->name, SEG_SIZE / 2);
	return membridge_segment_open(e->name, SEG_SIZE, &seg);
}

static int shrunk_to_smaller_ring(struct env *e)
{
	/* A valid ring size, but the header still says capacity 64. */
	shrink_by_peer(e->name, CAP / 2 + MEMBRIDGE_SPSC_HEADER);
	return ring_over_second_handle(e);
}

static int shrunk_below_ring_header(struct env *e)
{
	shrink_by_peer(e->name, 16);
	return ring_over_second_handle(e);
}

static int shrunk_then_viewed(struct env *e)
{
	struct membridge_segment *seg;
	struct membridge_view *view = NULL;
	int ret;

	shrink_by_peer(e->name, 4);
	mbt_assert_ok(open_again(e, &seg));
	ret = membridge_view_open(seg, &view);
	membridge_view_close(view);
	membridge_segment_close(seg);
	return ret;
}

/* ------------------------------------------------------------------ table */

static const struct row rows[] = {
	/* names */
	{ "name NULL", NEED_NAME, name_null, -EINVAL },
	{ "name empty", NEED_NAME, name_empty, -EINVAL },
	{ "name without leading /", NEED_NAME, name_no_slash, -EINVAL },
	{ "name \"/\" alone", NEED_NAME, name_slash_only, -EINVAL },
	{ "name with a second /", NEED_NAME, name_second_slash, -EINVAL },
	{ "name path traversal /../etc/passwd", NEED_NAME, name_traversal, -EINVAL },
	{ "name \"/..\"", NEED_NAME, name_dotdot, -EINVAL },
	{ "name ending in .membridge-wait", NEED_NAME, name_companion, -EINVAL },
	{ "name of 241 bytes", NEED_NAME, name_241, -ENAMETOOLONG },
	{ "name longer than NAME_MAX (256 bytes)", NEED_NAME, name_past_name_max, -ENAMETOOLONG },
	/* create / open / remove */
	{ "create size 0", NEED_NAME, size_zero, -EINVAL },
	{ "create size SIZE_MAX", NEED_NAME, size_max, -EFBIG },
	{ "create size INT64_MAX (> address space)", NEED_NAME, size_beyond_address_space,
	  -ENOMEM },
	{ "create mode 01600 (> 0777)", NEED_NAME, mode_too_big, -EINVAL },
	{ "create unknown flag 4", NEED_NAME, flags_unknown, -EINVAL },
	{ "create REPLACE|ATTACH", NEED_NAME, flags_two, -EINVAL },
	{ "create segp NULL", NEED_NAME, segp_null, -EINVAL },
	{ "create an existing name", NEED_SEGMENT, create_existing, -EEXIST },
	{ "attach with another size", NEED_SEGMENT, attach_other_size, -EINVAL },
	{ "open a missing name", NEED_NAME, open_missing, -ENOENT },
	{ "open with a wrong size", NEED_SEGMENT, open_wrong_size, -EINVAL },
	{ "remove a missing name", NEED_NAME, remove_missing, -ENOENT },
	{ "remove NULL", NEED_NAME, remove_null, -EINVAL },
	/* codec */
	{ "unknown tag \"i16\"", NEED_NAME, tag_unknown, -EINVAL },
	{ "tag NULL", NEED_NAME, tag_null, -EINVAL },
	{ "value of type 0", NEED_NAME, encode_type_zero, -EINVAL },
	{ "encoded sizes overflowing size_t", NEED_NAME, encode_sizes_overflow, -EOVERFLOW },
	{ "encode into a too small buffer", NEED_NAME, encode_buffer_small, -ENOBUFS },
	{ "encode into NULL", NEED_NAME, encode_buffer_null, -EINVAL },
	{ "decode as BYTES", NEED_NAME, decode_bytes_type, -EINVAL },
	{ "decode at pos SIZE_MAX - 1", NEED_NAME, decode_pos_past_end, -ENODATA },
	{ "decode str length past the end", NEED_NAME, decode_str_past_end, -ENODATA },
	{ "decode str invalid byte 0xff", NEED_NAME, utf8_bad_byte, -EILSEQ },
	{ "decode str overlong C0 AF", NEED_NAME, utf8_overlong, -EILSEQ },
	{ "decode str surrogate ED A0 80", NEED_NAME, utf8_surrogate, -EILSEQ },
	{ "decode str past U+10FFFF", NEED_NAME, utf8_past_max, -EILSEQ },
	{ "decode str cut mid-sequence", NEED_NAME, utf8_cut_short, -EILSEQ },
	/* view */
	{ "view of NULL segment", NEED_NAME, view_of_null, -EINVAL },
	{ "view of a 4-byte segment", NEED_NAME, view_of_lock_word_only, -EINVAL },
	{ "seek past the end", NEED_VIEW, seek_past_end, -ERANGE },
	{ "read at offset SIZE_MAX - 1", NEED_VIEW, read_offset_huge, -ERANGE },
	{ "read SIZE_MAX - 7 bytes", NEED_VIEW, read_len_huge, -ERANGE },
	{ "write one byte at the end", NEED_VIEW, write_one_past_end, -ERANGE },
	{ "write_bytes from NULL", NEED_VIEW, write_bytes_null, -EINVAL },
	{ "write a str longer than the data area", NEED_VIEW, write_too_long, -ERANGE },
	{ "write a value of type 99", NEED_VIEW, write_bad_type, -EINVAL },
	{ "write values NULL", NEED_VIEW, write_values_null, -EINVAL },
	{ "read as BYTES", NEED_VIEW, read_bytes_type, -EINVAL },
	{ "read type 99", NEED_VIEW, read_unknown_type, -EINVAL },
	{ "read str into a too small buffer", NEED_VIEW, read_str_small_buffer, -ENOBUFS },
	{ "read str whose length runs past the end", NEED_VIEW, read_str_length_past_end,
	  -ERANGE },
	{ "read str of invalid UTF-8", NEED_VIEW, read_str_invalid_utf8, -EILSEQ },
	{ "unlock without a lock", NEED_VIEW, unlock_unlocked, -ENOLCK },
	{ "lock a view twice", NEED_VIEW, lock_twice, -EDEADLK },
	{ "write inside a read section", NEED_VIEW, write_in_read_section, -EDEADLK },
	{ "lock timeout -2 (< WAIT_FOREVER)", NEED_VIEW, lock_timeout_below_forever, -EINVAL },
	{ "lock taken by a -1 writer, NO_WAIT", NEED_VIEW, lock_taken_no_wait, -EAGAIN },
	{ "lock word reset behind the view", NEED_VIEW, lock_word_changed_behind, -EBADMSG },
	{ "break_lock unknown flag", NEED_VIEW, break_unknown_flag, -EINVAL },
	{ "break_lock held by readers", NEED_VIEW, break_readers, -EPERM },
	{ "break_lock anonymous -1 writer", NEED_VIEW, break_anonymous_writer, -EPERM },
	{ "break_lock live writer", NEED_VIEW, break_live_writer, -EBUSY },
	/* ring */
	{ "ring of NULL segment", NEED_NAME, ring_of_null, -EINVAL },
	{ "ring of 1000 bytes (capacity 976)", NEED_NAME, ring_capacity_not_power_of_two,
	  -EINVAL },
	{ "ring of 28 bytes (capacity 4 < 8)", NEED_NAME, ring_below_min_capacity, -EINVAL },
	{ "ring over a view segment", NEED_VIEW, ring_over_view_segment, -EBADMSG },
	{ "ring over a garbage header", NEED_SEGMENT, ring_garbage_header, -EBADMSG },
	{ "ring header capacity 128 in a 64 ring", NEED_RING, ring_capacity_beyond_segment,
	  -EBADMSG },
	{ "ring opened before its creator set it up", NEED_SEGMENT, ring_not_initialised,
	  -EAGAIN },
	{ "push a frame longer than the capacity", NEED_RING, push_longer_than_capacity,
	  -EMSGSIZE },
	{ "push SIZE_MAX bytes", NEED_RING, push_size_max, -EMSGSIZE },
	{ "pushv pieces summing past SIZE_MAX", NEED_RING, pushv_pieces_overflow, -EMSGSIZE },
	{ "pushv piece with NULL base", NEED_RING, pushv_null_base, -EINVAL },
	{ "pushv iov NULL", NEED_RING, pushv_null_iov, -EINVAL },
	{ "push_batch with one message too long", NEED_RING, push_batch_one_too_long,
	  -EMSGSIZE },
	{ "push_batch pushed NULL", NEED_RING, push_batch_pushed_null, -EINVAL },
	{ "push into a full ring, NO_WAIT", NEED_RING, push_full, -EAGAIN },
	{ "push timeout -5 (< WAIT_FOREVER)", NEED_RING, push_timeout_below_forever, -EINVAL },
	{ "pop an empty ring, NO_WAIT", NEED_RING, pop_empty, -EAGAIN },
	{ "pop into a too small buffer", NEED_RING, pop_small_buffer, -ENOBUFS },
	{ "pop into NULL with cap 8", NEED_RING, pop_null_buffer, -EINVAL },
	{ "pop with len NULL", NEED_RING, pop_null_len, -EINVAL },
	{ "pop_batch without callback", NEED_RING, pop_batch_no_callback, -EINVAL },
	{ "consume a frame never published", NEED_RING, consume_unpublished, -EINVAL },
	{ "consume a frame already popped", NEED_RING, consume_stale, -ESTALE },
	{ "pop a frame whose length lies", NEED_RING, pop_frame_length_lies, -EBADMSG },
	{ "used with tail - head > capacity", NEED_RING, used_tail_beyond_capacity, -EBADMSG },
	{ "pop after a peer stored head 0, tail 5000", NEED_RING, corrupt_then_pop, -EBADMSG },
	{ "peek after a peer stored head 0, tail 5000", NEED_RING, corrupt_then_peek, -EBADMSG },
	{ "pop_batch after a peer stored head 0, tail 5000", NEED_RING, corrupt_then_pop_batch,
	  -EBADMSG },
	{ "push after a peer stored head 0, tail 5000", NEED_RING, corrupt_then_push, -EBADMSG },
	{ "push_batch after a peer stored head 0, tail 5000", NEED_RING,
	  corrupt_then_push_batch, -EBADMSG },
	{ "consume after a peer moved tail 5000 on", NEED_RING, corrupt_then_consume, -EBADMSG },
	/* truncated segments (shrunk by another process before this open) */
	{ "shrunk to 0, then opened", NEED_RING, shrunk_to_zero_then_opened, -EAGAIN },
	{ "shrunk, then opened with its old size", NEED_RING, shrunk_then_opened_with_old_size,
	  -EINVAL },
	{ "shrunk to a smaller ring, then spsc_open", NEED_RING, shrunk_to_smaller_ring,
	  -EBADMSG },
	{ "shrunk to 16 bytes, then spsc_open", NEED_RING, shrunk_below_ring_header, -EINVAL },
	{ "shrunk to 4 bytes, then view_open", NEED_VIEW, shrunk_then_viewed, -EINVAL },
};

#define N_ROWS ((int)(sizeof(rows) / sizeof(rows[0])))

/* ---------------------------------------------------------------- fixture */

static void env_open(struct env *e, enum need need)
{
	memset(e, 0, sizeof(*e));
	mbt_name(e->name);
	if (need == NEED_NAME)
		return;
	mbt_assert_ok(membridge_segment_create(e->name, SEG_SIZE, 0, 0, &e->seg));
	e->raw = membridge_segment_data(e->seg);
	if (need == NEED_VIEW)
		mbt_assert_ok(membridge_view_open(e->seg, &e->view));
	if (need == NEED_RING)
		mbt_assert_ok(membridge_spsc_open(e->seg, &e->ring));
}

static void env_close(struct env *e)
{
	int ret;

	membridge_spsc_close(e->ring);
	membridge_view_close(e->view);
	membridge_segment_close(e->seg);
	ret = membridge_segment_remove(e->name);
	ck_assert_msg(ret == 0 || ret == -ENOENT, "remove: %s", membridge_strerror(ret));
}

/* The library passes mmap()'s error through: for a size beyond the address
 * space the kernel says ENOMEM, valgrind's own mmap() says EINVAL. */
static int expected_result(const struct row *r)
{
	if (r->call == size_beyond_address_space && mbt_under_valgrind())
		return -EINVAL;
	return r->expected;
}

START_TEST(bad_input_row)
{
	const struct row *r = &rows[_i];
	struct membridge_segment *seg_before;
	struct env e;
	int ret;

	int expected = expected_result(r);

	env_open(&e, r->need);
	seg_before = e.seg;
	ret = r->call(&e);
	ck_assert_msg(ret == expected, "row %d \"%s\": returned %d (%s), expected %d (%s)",
		      _i, r->what, ret, membridge_strerror(ret), expected,
		      membridge_strerror(expected));
	/* A failed constructor leaves its out-pointer alone. */
	ck_assert_ptr_eq(e.seg, seg_before);
	if (r->need == NEED_NAME)
		ck_assert_ptr_null(e.view);
	if (r->need != NEED_RING)
		ck_assert_ptr_null(e.ring);
	env_close(&e);
}
END_TEST

/* ------------------------------------------------- truncated after open: SIGBUS */

/* Touch the whole data area of the view through the library. */
static int read_everything(void *arg)
{
	struct membridge_view *view = arg;
	char buf[DATA_SIZE];

	/* The default action, also when a sanitizer installed its own handler. */
	signal(SIGBUS, SIG_DFL);
	return membridge_view_read_bytes(view, 0, buf, sizeof(buf)) == 0 ? 0 : 2;
}

/*
 * A peer shrinks a segment this process has mapped. The mapping keeps its
 * size, but the pages past the new end are gone: the next access to them
 * raises SIGBUS, which the library does not catch. The victim here is a
 * forked child that inherited the mapping.
 */
START_TEST(truncated_after_open_sigbus)
{
	struct env e;
	int status;

	env_open(&e, NEED_VIEW);
	mbt_assert_ok(membridge_view_write_bytes(e.view, 0, "before", 6));
	shrink_by_peer(e.name, 0);
	status = mbt_wait(mbt_fork(read_everything, e.view));
	ck_assert_msg(status == 128 + SIGBUS, "child ended with status %d, expected SIGBUS (%d)",
		      status, 128 + SIGBUS);
	/* Growing it back brings zero-filled pages: the data is lost. */
	shrink_by_peer(e.name, SEG_SIZE);
	ck_assert_mem_eq(e.raw + 4, "\0\0\0\0\0\0", 6);
	env_close(&e);
}
END_TEST

static Suite *bad_input_suite(void)
{
	Suite *s = suite_create("bad_input");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, bad_input_row, 0, N_ROWS);
	tcase_add_test(tc, truncated_after_open_sigbus);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(bad_input_suite());
}
