/* SPDX-License-Identifier: MIT */
/* Check suite for the sequential view and its cross-process reader-writer lock. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"


/* ------------------------------------------------------------- fixture */

/*
 * Every handle a test opens is also recorded here. A forked child exits
 * while handles of its parent may sit only in registers, and a child that
 * "dies" holding a lock never closes its own: valgrind, which follows
 * forked children, must still find them reachable rather than lost.
 */
static void *volatile reachable[64];
static unsigned n_reachable;

static void keep_reachable(void *handle)
{
	reachable[n_reachable++ % 64] = handle;
}

struct fx {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_view *view;
	_Atomic int32_t *word; /* the lock word, bytes 0..4 of the segment */
	unsigned char *raw;    /* the whole segment */
	size_t size;           /* data area size */
};

static void fx_open(struct fx *f, size_t seg_size)
{
	mbt_name(f->name);
	mbt_assert_ok(membridge_segment_create(f->name, seg_size, 0, 0, &f->seg));
	mbt_assert_ok(membridge_view_open(f->seg, &f->view));
	keep_reachable(f->seg);
	keep_reachable(f->view);
	f->raw = membridge_segment_data(f->seg);
	f->word = (_Atomic int32_t *)(void *)f->raw;
	f->size = seg_size - 4;
}

static void fx_close(struct fx *f)
{
	membridge_view_close(f->view);
	membridge_segment_close(f->seg);
	mbt_assert_ok(membridge_segment_remove(f->name));
}

static struct membridge_view *fx_view(struct fx *f)
{
	struct membridge_view *v;

	mbt_assert_ok(membridge_view_open(f->seg, &v));
	keep_reachable(v);
	return v;
}

static int32_t word(const struct fx *f)
{
	return atomic_load(f->word);
}

static void set_word(struct fx *f, int32_t v)
{
	atomic_store(f->word, v);
}

/* ---------------------------------------------------------- peer process */

enum peer_lock {
	PEER_READ,       /* membridge_view_lock_read */
	PEER_WRITE,      /* membridge_view_lock_write */
	PEER_ANON_WRITE, /* a membridge 1.0 writer: CAS 0 -> -1, store 0 to release */
	PEER_ANON_READ,  /* a membridge 1.0 reader: CAS n -> n + 1, n - 1 to release */
};

/*
 * Another process holding the lock. It takes the lock, reports 'r' on the
 * ready pipe, then either sleeps hold_ns or waits for a command on the go
 * pipe: 'u' unlocks, 'd' exits without unlocking. `die` with hold_ns makes
 * it exit without unlocking after the sleep. Just before it unlocks it
 * stores the time in *released_at (shared memory).
 */
struct peer {
	const char *name;
	enum peer_lock lock;
	int64_t hold_ns;
	bool die;
	_Atomic int64_t *released_at;
	int ready[2], go[2];
	pid_t pid;
};

static int anon_lock(_Atomic int32_t *w, enum peer_lock lock)
{
	int64_t deadline = mbt_now_ns() + 2000 * MBT_MS;
	int32_t v;

	for (;;) {
		v = lock == PEER_ANON_WRITE ? 0 : atomic_load(w);
		if (v >= 0 && atomic_compare_exchange_strong(w, &v,
							     lock == PEER_ANON_WRITE ? -1 : v + 1))
			return 0;
		if (mbt_now_ns() > deadline)
			return -ETIMEDOUT;
		mbt_sleep_ns(MBT_MS / 10);
	}
}

static int peer_main(void *arg)
{
	struct peer *p = arg;
	struct membridge_segment *seg;
	struct membridge_view *view;
	_Atomic int32_t *w;
	char cmd = 'u';
	int ret;

	close(p->ready[0]);
	close(p->go[1]);
	if (membridge_segment_open(p->name, 0, &seg) < 0 || membridge_view_open(seg, &view) < 0)
		return 10;
	keep_reachable(seg);
	keep_reachable(view);
	w = membridge_segment_data(seg);
	switch (p->lock) {
	case PEER_READ:
		ret = membridge_view_lock_read(view, 2000 * MBT_MS);
		break;
	case PEER_WRITE:
		ret = membridge_view_lock_write(view, 2000 * MBT_MS);
		break;
	default:
		ret = anon_lock(w, p->lock);
		break;
	}
	if (ret < 0)
		return 11;
	if (write(p->ready[1], "r", 1) != 1)
		return 12;
	if (p->hold_ns > 0) {
		mbt_sleep_ns(p->hold_ns);
		if (p->die)
			cmd = 'd';
	} else if (read(p->go[0], &cmd, 1) != 1) {
		cmd = 'u';
	}
	if (cmd == 'd')
		return 0; /* the view is never closed: the lock stays taken */
	atomic_store(p->released_at, mbt_now_ns());
	switch (p->lock) {
	case PEER_READ:
	case PEER_WRITE:
		ret = membridge_view_unlock(view);
		break;
	case PEER_ANON_WRITE:
		atomic_store(w, 0);
		ret = 0;
		break;
	default:
		atomic_fetch_sub(w, 1);
		ret = 0;
		break;
	}
	if (ret < 0)
		return 13;
	membridge_view_close(view);
	membridge_segment_close(seg);
	return 0;
}

static _Atomic int64_t *shared_stamp(void)
{
	void *p = mmap(NULL, sizeof(_Atomic int64_t), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	atomic_init((_Atomic int64_t *)p, 0);
	return p;
}

/* Start the peer and return once it holds the lock. */
static void peer_start(struct peer *p, const char *name, enum peer_lock lock)
{
	char c;

	p->name = name;
	p->lock = lock;
	if (!p->released_at)
		p->released_at = shared_stamp();
	ck_assert_int_eq(pipe(p->ready), 0);
	ck_assert_int_eq(pipe(p->go), 0);
	p->pid = mbt_fork(peer_main, p);
	close(p->ready[1]);
	close(p->go[0]);
	ck_assert_msg(read(p->ready[0], &c, 1) == 1, "the peer did not take the lock");
	ck_assert_int_eq(c, 'r');
}

static void peer_send(struct peer *p, char cmd)
{
	ck_assert_int_eq(write(p->go[1], &cmd, 1), 1);
}

/* Close the pipes and unmap the stamp; returns nothing, waits for nobody. */
static void peer_forget(struct peer *p)
{
	close(p->ready[0]);
	close(p->go[1]);
	munmap((void *)p->released_at, sizeof(*p->released_at));
	p->released_at = NULL;
}

/* Wait for the peer and return its exit status. */
static int peer_finish(struct peer *p)
{
	int status = mbt_wait(p->pid);

	peer_forget(p);
	return status;
}

/* ------------------------------------------------------- typed samples */

static const char hello[] = "h\xc3\xa9llo \xe2\x82\xac"; /* "héllo €", 10 bytes */

static const struct membridge_value samples[] = {
	{ MEMBRIDGE_BOOL, { .b = true } },
	{ MEMBRIDGE_U8, { .u8 = 0xa5 } },
	{ MEMBRIDGE_I32, { .i32 = -123456 } },
	{ MEMBRIDGE_U32, { .u32 = 0xdeadbeefu } },
	{ MEMBRIDGE_F32, { .f32 = 1.5f } },
	{ MEMBRIDGE_I64, { .i64 = INT64_MIN + 1 } },
	{ MEMBRIDGE_U64, { .u64 = UINT64_MAX - 1 } },
	{ MEMBRIDGE_F64, { .f64 = 3.14 } },
	{ MEMBRIDGE_STR, { .buf = { hello, sizeof(hello) - 1 } } },
	{ MEMBRIDGE_STR, { .buf = { NULL, 0 } } },
	{ MEMBRIDGE_BOOL, { .b = false } },
};

#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

static size_t encoded(const struct membridge_value *v, size_t count, unsigned char *out,
		      size_t cap)
{
	size_t n;

	mbt_assert_ok(membridge_encode(out, cap, v, count, &n));
	return n;
}

/* ----------------------------------------------------------- open, size */

START_TEST(open_sizes)
{
	static const size_t too_small[] = { 1, 2, 3, 4 };
	struct membridge_segment *seg;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE];
	size_t i;

	for (i = 0; i < sizeof(too_small) / sizeof(too_small[0]); i++) {
		mbt_name(name);
		mbt_assert_ok(membridge_segment_create(name, too_small[i], 0, 0, &seg));
		view = (struct membridge_view *)(void *)name;
		ck_assert_msg(membridge_view_open(seg, &view) == -EINVAL,
			      "a view on %zu bytes", too_small[i]);
		ck_assert_ptr_eq(view, (void *)name);
		membridge_segment_close(seg);
		mbt_assert_ok(membridge_segment_remove(name));
	}

	/* Five bytes: one byte of data. */
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 5, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert_uint_eq(membridge_view_size(view), 1);
	ck_assert_uint_eq(membridge_view_tell(view), 0);
	mbt_assert_ret(membridge_view_open(seg, NULL), -EINVAL);
	mbt_assert_ret(membridge_view_open(NULL, &view), -EINVAL);
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 4096, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert_uint_eq(membridge_view_size(view), 4092);
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* Offset 0 of the data area is byte 4 of the segment; the word stays 0. */
START_TEST(data_offset)
{
	struct membridge_value v = { MEMBRIDGE_I64, { .i64 = 0x0102030405060708 } };
	unsigned char want[8];
	char out[4];
	struct fx f;

	fx_open(&f, 64);
	ck_assert_ptr_eq(membridge_view_data(f.view), f.raw + MEMBRIDGE_VIEW_HEADER);
	ck_assert_uint_eq(membridge_view_size(f.view), 64 - MEMBRIDGE_VIEW_HEADER);
	mbt_assert_ok(membridge_view_write_bytes(f.view, 0, "ABCD", 4));
	ck_assert_mem_eq(f.raw + 4, "ABCD", 4);
	ck_assert_mem_eq(membridge_view_data(f.view), "ABCD", 4);
	ck_assert_int_eq(word(&f), 0);
	ck_assert_mem_eq(f.raw, "\0\0\0\0", 4);
	mbt_assert_ok(membridge_view_write_bytes(f.view, f.size - 1, "Z", 1));
	ck_assert_uint_eq(f.raw[63], 'Z');
	mbt_assert_ok(membridge_view_write(f.view, 8, &v, 1));
	encoded(&v, 1, want, sizeof(want));
	ck_assert_mem_eq(f.raw + 12, want, 8);
	ck_assert_int_eq(word(&f), 0);
	/* Reads see raw stores. */
	memcpy(f.raw + 30, "raw!", 4);
	mbt_assert_ok(membridge_view_read_bytes(f.view, 26, out, 4));
	ck_assert_mem_eq(out, "raw!", 4);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

/* The creator's first view frees a stale lock word; later views and
 * views of a handle that only opened the segment leave the word alone. */
START_TEST(creator_initialises_lock)
{
	struct membridge_segment *seg, *other;
	struct membridge_view *view, *second, *opener;
	char name[MBT_NAME_SIZE];
	_Atomic int32_t *lock;

	mbt_assert_ok(membridge_segment_create(mbt_name(name), 64, 0, 0, &seg));
	mbt_assert_ok(membridge_segment_open(name, 0, &other));
	lock = membridge_segment_data(seg);
	atomic_store(lock, 5);
	mbt_assert_ok(membridge_view_open(other, &opener));
	ck_assert_int_eq(membridge_view_reader_count(opener), 5);
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert_int_eq(atomic_load(lock), 0);
	atomic_store(lock, 2);
	mbt_assert_ok(membridge_view_open(seg, &second));
	ck_assert_int_eq(membridge_view_reader_count(second), 2);
	atomic_store(lock, 0);
	membridge_view_close(second);
	membridge_view_close(view);
	membridge_view_close(opener);
	membridge_segment_close(other);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* --------------------------------------------------------- typed access */

START_TEST(typed_explicit_offsets)
{
	unsigned char want[32], strbuf[32];
	struct membridge_value got;
	size_t i, n, off;
	struct fx f;

	fx_open(&f, 256);
	for (i = 0; i < N_SAMPLES; i++) {
		off = 3 + i * 17; /* odd, unaligned offsets */
		n = encoded(&samples[i], 1, want, sizeof(want));
		mbt_assert_ok(membridge_view_write(f.view, off, &samples[i], 1));
		ck_assert_mem_eq(f.raw + 4 + off, want, n);
		ck_assert_uint_eq(membridge_view_tell(f.view), 0);
		memset(&got, 0, sizeof(got));
		mbt_assert_ok(membridge_view_read(f.view, off, samples[i].type, &got, strbuf,
						  sizeof(strbuf)));
		mbt_assert_value_eq(&got, &samples[i], "sample");
		if (samples[i].type == MEMBRIDGE_STR)
			ck_assert_ptr_eq(got.as.buf.ptr, strbuf);
		ck_assert_uint_eq(membridge_view_tell(f.view), 0);
		ck_assert_int_eq(word(&f), 0);
	}
	/* Each value is still where it was put. */
	for (i = 0; i < N_SAMPLES; i++) {
		mbt_assert_ok(membridge_view_read(f.view, 3 + i * 17, samples[i].type, &got,
						  strbuf, sizeof(strbuf)));
		mbt_assert_value_eq(&got, &samples[i], "sample");
	}
	fx_close(&f);
}
END_TEST

START_TEST(typed_cursor)
{
	unsigned char want[32], strbuf[32];
	struct membridge_view *other;
	struct membridge_value got;
	size_t i, n, pos = 0;
	struct fx f;

	fx_open(&f, 256);
	for (i = 0; i < N_SAMPLES; i++) {
		n = encoded(&samples[i], 1, want, sizeof(want));
		mbt_assert_ok(membridge_view_write(f.view, MEMBRIDGE_CURSOR, &samples[i], 1));
		ck_assert_mem_eq(f.raw + 4 + pos, want, n);
		pos += n;
		ck_assert_uint_eq(membridge_view_tell(f.view), pos);
		/* An explicit offset neither uses nor moves the cursor. */
		mbt_assert_ok(membridge_view_write(f.view, 200, &samples[i], 1));
		ck_assert_uint_eq(membridge_view_tell(f.view), pos);
		mbt_assert_ok(membridge_view_read(f.view, 200, samples[i].type, &got, strbuf,
						  sizeof(strbuf)));
		ck_assert_uint_eq(membridge_view_tell(f.view), pos);
	}
	ck_assert_uint_eq(pos, 1 + 1 + 4 + 4 + 4 + 8 + 8 + 8 + 14 + 4 + 1);

	mbt_assert_ok(membridge_view_seek(f.view, 0));
	pos = 0;
	for (i = 0; i < N_SAMPLES; i++) {
		n = encoded(&samples[i], 1, want, sizeof(want));
		memset(&got, 0, sizeof(got));
		mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, samples[i].type, &got,
						  strbuf, sizeof(strbuf)));
		mbt_assert_value_eq(&got, &samples[i], "sample");
		pos += n;
		ck_assert_uint_eq(membridge_view_tell(f.view), pos);
	}
	/* Cursors are private to each view. */
	other = fx_view(&f);
	ck_assert_uint_eq(membridge_view_tell(other), 0);
	mbt_assert_ok(membridge_view_read(other, MEMBRIDGE_CURSOR, MEMBRIDGE_BOOL, &got, NULL, 0));
	ck_assert(got.as.b);
	ck_assert_uint_eq(membridge_view_tell(other), 1);
	ck_assert_uint_eq(membridge_view_tell(f.view), pos);
	membridge_view_close(other);
	fx_close(&f);
}
END_TEST

START_TEST(write_mixed)
{
	const struct membridge_value list[] = {
		{ MEMBRIDGE_STR, { .buf = { "Hello", 5 } } },
		{ MEMBRIDGE_F64, { .f64 = 0.92 } },
		{ MEMBRIDGE_BOOL, { .b = true } },
		{ MEMBRIDGE_BYTES, { .buf = { "\x01\x02\x03", 3 } } },
		{ MEMBRIDGE_U32, { .u32 = 7 } },
	};
	unsigned char want[64], strbuf[8];
	struct membridge_value got;
	size_t n;
	struct fx f;

	fx_open(&f, 128);
	n = encoded(list, 5, want, sizeof(want));
	ck_assert_uint_eq(n, 9 + 8 + 1 + 3 + 4);
	mbt_assert_ok(membridge_view_write(f.view, MEMBRIDGE_CURSOR, list, 5));
	ck_assert_uint_eq(membridge_view_tell(f.view), n);
	ck_assert_mem_eq(f.raw + 4, want, n);
	/* Again at an explicit offset: the cursor stays. */
	mbt_assert_ok(membridge_view_write(f.view, 60, list, 5));
	ck_assert_uint_eq(membridge_view_tell(f.view), n);
	ck_assert_mem_eq(f.raw + 64, want, n);
	ck_assert_int_eq(word(&f), 0);

	/* Read it back value by value at the cursor. */
	mbt_assert_ok(membridge_view_seek(f.view, 0));
	mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &got, strbuf,
					  sizeof(strbuf)));
	mbt_assert_value_eq(&got, &list[0], "str");
	mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_F64, &got, NULL, 0));
	mbt_assert_value_eq(&got, &list[1], "f64");
	mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_BOOL, &got, NULL, 0));
	mbt_assert_value_eq(&got, &list[2], "bool");
	mbt_assert_ok(membridge_view_read_bytes(f.view, MEMBRIDGE_CURSOR, strbuf, 3));
	ck_assert_mem_eq(strbuf, "\x01\x02\x03", 3);
	mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_U32, &got, NULL, 0));
	mbt_assert_value_eq(&got, &list[4], "u32");
	ck_assert_uint_eq(membridge_view_tell(f.view), n);

	/* An empty list is a no-op. */
	mbt_assert_ok(membridge_view_write(f.view, MEMBRIDGE_CURSOR, list, 0));
	ck_assert_uint_eq(membridge_view_tell(f.view), n);
	fx_close(&f);
}
END_TEST

/* A list that does not fit, or holds a bad value, writes none of it. */
START_TEST(write_mixed_all_or_nothing)
{
	struct membridge_value list[3] = {
		{ MEMBRIDGE_I64, { .i64 = -1 } },
		{ MEMBRIDGE_I64, { .i64 = -1 } },
		{ MEMBRIDGE_I64, { .i64 = -1 } },
	};
	unsigned char before[64];
	struct fx f;

	fx_open(&f, 4 + 20);
	memcpy(before, f.raw, 24);
	mbt_assert_ret(membridge_view_write(f.view, 0, list, 3), -ERANGE);
	mbt_assert_ret(membridge_view_write(f.view, MEMBRIDGE_CURSOR, list, 3), -ERANGE);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	mbt_assert_ok(membridge_view_seek(f.view, 13));
	mbt_assert_ret(membridge_view_write(f.view, MEMBRIDGE_CURSOR, list, 1), -ERANGE);
	ck_assert_uint_eq(membridge_view_tell(f.view), 13);
	list[2].type = (enum membridge_type)0;
	mbt_assert_ret(membridge_view_write(f.view, 0, list, 3), -EINVAL);
	list[2].type = (enum membridge_type)(MEMBRIDGE_BYTES + 1);
	mbt_assert_ret(membridge_view_write(f.view, 0, list, 3), -EINVAL);
	mbt_assert_ret(membridge_view_write(f.view, 0, NULL, 1), -EINVAL);
#if SIZE_MAX > UINT32_MAX
	list[2].type = MEMBRIDGE_STR;
	list[2].as.buf.ptr = NULL;
	list[2].as.buf.len = (size_t)UINT32_MAX + 1;
	mbt_assert_ret(membridge_view_write(f.view, 0, list, 3), -EOVERFLOW);
#endif
	ck_assert_mem_eq(f.raw, before, 24);
	ck_assert_uint_eq(membridge_view_tell(f.view), 13);
	/* Exactly filling the area works. */
	list[2].type = MEMBRIDGE_U32;
	list[2].as.u32 = 0;
	mbt_assert_ok(membridge_view_write(f.view, 0, list, 3));
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

START_TEST(read_str_small_buffer)
{
	struct membridge_value v = { MEMBRIDGE_STR, { .buf = { "hello", 5 } } }, got;
	char buf[8];
	struct fx f;

	fx_open(&f, 64);
	mbt_assert_ok(membridge_view_write(f.view, 0, &v, 1));
	memset(buf, '#', sizeof(buf));
	memset(&got, 0, sizeof(got));
	mbt_assert_ret(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &got, buf, 4),
		       -ENOBUFS);
	ck_assert_uint_eq(got.as.buf.len, 5);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ret(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &got, buf, 0),
		       -ENOBUFS);
	ck_assert_uint_eq(got.as.buf.len, 5);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	/* Nothing was copied past the room given. */
	ck_assert_uint_eq(buf[4], '#');
	/* Just enough room. */
	mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &got, buf, 5));
	ck_assert_uint_eq(got.as.buf.len, 5);
	ck_assert_ptr_eq(got.as.buf.ptr, buf);
	ck_assert_mem_eq(buf, "hello", 5);
	ck_assert_uint_eq(buf[5], '#');
	ck_assert_uint_eq(membridge_view_tell(f.view), 9);
	/* The empty string needs no buffer at all. */
	v.as.buf.len = 0;
	mbt_assert_ok(membridge_view_write(f.view, 20, &v, 1));
	mbt_assert_ok(membridge_view_read(f.view, 20, MEMBRIDGE_STR, &got, NULL, 0));
	ck_assert_uint_eq(got.as.buf.len, 0);
	fx_close(&f);
}
END_TEST

/* -------------------------------------------------------- bounds checks */

START_TEST(bytes_ranges)
{
	static const struct {
		size_t off, len;
	} bad[] = {
		{ 61, 4 }, { 0, 65 }, { 64, 1 }, { 65, 0 }, { 100, 0 }, { SIZE_MAX - 1, 2 },
		{ 1, SIZE_MAX }, { SIZE_MAX - 1, 0 }, { 32, SIZE_MAX - 31 },
	};
	unsigned char before[68], buf[128], out[128];
	size_t i;
	struct fx f;

	fx_open(&f, 68);
	for (i = 0; i < 64; i++)
		f.raw[4 + i] = (unsigned char)(i + 1);
	memcpy(before, f.raw, sizeof(before));
	memset(buf, 0x77, sizeof(buf));
	/* Every bad range is refused before anything is touched (buf and out
	 * are small, so copying a huge length would fault). */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0x11, sizeof(out));
		ck_assert_msg(membridge_view_write_bytes(f.view, bad[i].off, buf, bad[i].len) ==
			      -ERANGE, "write_bytes(%zu, %zu)", bad[i].off, bad[i].len);
		ck_assert_msg(membridge_view_read_bytes(f.view, bad[i].off, out, bad[i].len) ==
			      -ERANGE, "read_bytes(%zu, %zu)", bad[i].off, bad[i].len);
		ck_assert_uint_eq(out[0], 0x11);
		ck_assert_mem_eq(f.raw, before, sizeof(before));
		ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	}
	mbt_assert_ret(membridge_view_write_bytes(f.view, 1, buf, 64), -ERANGE);
	mbt_assert_ret(membridge_view_read_bytes(f.view, 1, out, 64), -ERANGE);
	ck_assert_mem_eq(f.raw, before, sizeof(before));

	/* The exact edges work. */
	mbt_assert_ok(membridge_view_write_bytes(f.view, 60, "wxyz", 4));
	ck_assert_mem_eq(f.raw + 64, "wxyz", 4);
	mbt_assert_ok(membridge_view_read_bytes(f.view, 0, out, 64));
	ck_assert_mem_eq(out, before + 4, 60);
	mbt_assert_ok(membridge_view_write_bytes(f.view, 64, buf, 0));
	mbt_assert_ok(membridge_view_read_bytes(f.view, 64, out, 0));
	mbt_assert_ok(membridge_view_write_bytes(f.view, 0, buf, 0));

	/* At the cursor: the same checks, the cursor only moves on success. */
	mbt_assert_ok(membridge_view_seek(f.view, 62));
	mbt_assert_ret(membridge_view_write_bytes(f.view, MEMBRIDGE_CURSOR, "abc", 3), -ERANGE);
	mbt_assert_ret(membridge_view_read_bytes(f.view, MEMBRIDGE_CURSOR, out, 3), -ERANGE);
	ck_assert_uint_eq(membridge_view_tell(f.view), 62);
	mbt_assert_ok(membridge_view_write_bytes(f.view, MEMBRIDGE_CURSOR, "ab", 2));
	ck_assert_uint_eq(membridge_view_tell(f.view), 64);
	mbt_assert_ok(membridge_view_read_bytes(f.view, MEMBRIDGE_CURSOR, out, 0));
	mbt_assert_ok(membridge_view_write_bytes(f.view, MEMBRIDGE_CURSOR, buf, 0));
	ck_assert_uint_eq(membridge_view_tell(f.view), 64);
	mbt_assert_ret(membridge_view_read_bytes(f.view, MEMBRIDGE_CURSOR, out, 1), -ERANGE);
	mbt_assert_ok(membridge_view_seek(f.view, 10));
	mbt_assert_ok(membridge_view_read_bytes(f.view, MEMBRIDGE_CURSOR, out, 4));
	ck_assert_mem_eq(out, before + 14, 4);
	ck_assert_uint_eq(membridge_view_tell(f.view), 14);

	/* A NULL buffer with a length is refused. */
	mbt_assert_ret(membridge_view_write_bytes(f.view, 0, NULL, 1), -EINVAL);
	mbt_assert_ret(membridge_view_read_bytes(f.view, 0, NULL, 1), -EINVAL);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

START_TEST(typed_ranges)
{
	struct membridge_value v = { MEMBRIDGE_I64, { .i64 = -1 } }, got;
	struct membridge_value s = { MEMBRIDGE_STR, { .buf = { "abcdef", 6 } } };
	unsigned char before[36];
	char buf[16];
	struct fx f;

	fx_open(&f, 36);
	memcpy(before, f.raw, sizeof(before));
	mbt_assert_ret(membridge_view_write(f.view, 25, &v, 1), -ERANGE);
	mbt_assert_ret(membridge_view_write(f.view, 32, &v, 1), -ERANGE);
	mbt_assert_ret(membridge_view_write(f.view, 33, &v, 1), -ERANGE);
	mbt_assert_ret(membridge_view_write(f.view, SIZE_MAX - 4, &v, 1), -ERANGE);
	mbt_assert_ret(membridge_view_write(f.view, 23, &s, 1), -ERANGE);
	ck_assert_mem_eq(f.raw, before, sizeof(before));
	mbt_assert_ok(membridge_view_write(f.view, 24, &v, 1));
	mbt_assert_ok(membridge_view_write(f.view, 22, &s, 1));

	mbt_assert_ret(membridge_view_read(f.view, 25, MEMBRIDGE_I64, &got, NULL, 0), -ERANGE);
	mbt_assert_ret(membridge_view_read(f.view, 29, MEMBRIDGE_U32, &got, NULL, 0), -ERANGE);
	mbt_assert_ret(membridge_view_read(f.view, 32, MEMBRIDGE_U8, &got, NULL, 0), -ERANGE);
	mbt_assert_ret(membridge_view_read(f.view, 29, MEMBRIDGE_STR, &got, buf, sizeof(buf)),
		       -ERANGE);
	mbt_assert_ret(membridge_view_read(f.view, SIZE_MAX - 1, MEMBRIDGE_BOOL, &got, NULL, 0),
		       -ERANGE);
	mbt_assert_ok(membridge_view_read(f.view, 31, MEMBRIDGE_U8, &got, NULL, 0));
	mbt_assert_ok(membridge_view_read(f.view, 22, MEMBRIDGE_STR, &got, buf, sizeof(buf)));
	ck_assert_mem_eq(got.as.buf.ptr, "abcdef", 6);

	/* At the cursor, near the end. */
	mbt_assert_ok(membridge_view_seek(f.view, 30));
	mbt_assert_ret(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_U32, &got, NULL, 0),
		       -ERANGE);
	mbt_assert_ret(membridge_view_write(f.view, MEMBRIDGE_CURSOR, &v, 1), -ERANGE);
	ck_assert_uint_eq(membridge_view_tell(f.view), 30);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

START_TEST(seek_tell)
{
	struct fx f;

	fx_open(&f, 104);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	mbt_assert_ok(membridge_view_seek(f.view, 50));
	ck_assert_uint_eq(membridge_view_tell(f.view), 50);
	mbt_assert_ok(membridge_view_seek(f.view, 100));
	ck_assert_uint_eq(membridge_view_tell(f.view), 100);
	mbt_assert_ret(membridge_view_seek(f.view, 101), -ERANGE);
	mbt_assert_ret(membridge_view_seek(f.view, SIZE_MAX), -ERANGE);
	mbt_assert_ret(membridge_view_seek(f.view, SIZE_MAX - 1), -ERANGE);
	ck_assert_uint_eq(membridge_view_tell(f.view), 100);
	mbt_assert_ok(membridge_view_seek(f.view, 0));
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	fx_close(&f);
}
END_TEST

START_TEST(zero)
{
	struct membridge_view *peer;
	size_t i;
	struct fx f;

	fx_open(&f, 100);
	memset(f.raw + 4, 0xcd, 96);
	mbt_assert_ok(membridge_view_seek(f.view, 7));
	mbt_assert_ok(membridge_view_zero(f.view));
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(f.raw[i], 0);
	/* Under a peer's read lock: it has to wait, and changes nothing. */
	memset(f.raw + 4, 0xcd, 96);
	peer = fx_view(&f);
	mbt_assert_ok(membridge_view_lock_read(peer, MEMBRIDGE_NO_WAIT));
	membridge_view_set_timeout(f.view, MEMBRIDGE_NO_WAIT);
	mbt_assert_ret(membridge_view_zero(f.view), -EAGAIN);
	ck_assert_uint_eq(f.raw[4], 0xcd);
	ck_assert_uint_eq(f.raw[99], 0xcd);
	mbt_assert_ok(membridge_view_unlock(peer));
	mbt_assert_ok(membridge_view_zero(f.view));
	ck_assert_uint_eq(f.raw[99], 0);
	/* Inside our own write lock. */
	memset(f.raw + 4, 0xcd, 96);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_zero(f.view));
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ok(membridge_view_unlock(f.view));
	for (i = 0; i < 100; i++)
		ck_assert_uint_eq(f.raw[i], 0);
	membridge_view_close(peer);
	fx_close(&f);
}
END_TEST

START_TEST(read_str_corrupt)
{
	static const struct {
		size_t at;
		uint32_t len;
	} past_end[] = {
		{ 50, 11 }, { 56, 1 }, { 0, 61 }, { 10, UINT32_MAX }, { 20, 0x80000000u },
	};
	static const char *const bad[] = {
		"\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "ab\xe2\x82", "\x80",
	};
	struct membridge_value got;
	char buf[128];
	uint32_t n;
	size_t i;
	struct fx f;

	fx_open(&f, 64); /* 60 bytes of data */
	for (i = 0; i < sizeof(past_end) / sizeof(past_end[0]); i++) {
		memset(f.raw + 4, 'a', 60);
		memcpy(f.raw + 4 + past_end[i].at, &past_end[i].len, 4);
		mbt_assert_ok(membridge_view_seek(f.view, past_end[i].at));
		ck_assert_msg(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &got,
						  buf, sizeof(buf)) == -ERANGE,
			      "length %u at %zu", past_end[i].len, past_end[i].at);
		ck_assert_uint_eq(membridge_view_tell(f.view), past_end[i].at);
		ck_assert_int_eq(word(&f), 0);
	}
	/* A string that ends exactly at the end is fine. */
	n = 10;
	memcpy(f.raw + 4 + 46, &n, 4);
	mbt_assert_ok(membridge_view_read(f.view, 46, MEMBRIDGE_STR, &got, buf, sizeof(buf)));
	ck_assert_uint_eq(got.as.buf.len, 10);

	/* Invalid UTF-8: an error, never an altered string. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (uint32_t)strlen(bad[i]);
		memcpy(f.raw + 4, &n, 4);
		memcpy(f.raw + 8, bad[i], n);
		mbt_assert_ok(membridge_view_seek(f.view, 0));
		mbt_assert_ret(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &got,
						   buf, sizeof(buf)), -EILSEQ);
		ck_assert_uint_eq(membridge_view_tell(f.view), 0);
		ck_assert_int_eq(word(&f), 0);
	}
	fx_close(&f);
}
END_TEST

START_TEST(read_bad_type)
{
	struct membridge_value got;
	char buf[8];
	struct fx f;

	fx_open(&f, 64);
	mbt_assert_ret(membridge_view_read(f.view, 0, MEMBRIDGE_BYTES, &got, buf, sizeof(buf)),
		       -EINVAL);
	mbt_assert_ret(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_BYTES, &got, buf,
					   sizeof(buf)), -EINVAL);
	mbt_assert_ret(membridge_view_read(f.view, 0, (enum membridge_type)0, &got, NULL, 0),
		       -EINVAL);
	mbt_assert_ret(membridge_view_read(f.view, 0, (enum membridge_type)99, &got, NULL, 0),
		       -EINVAL);
	mbt_assert_ret(membridge_view_read(f.view, 0, MEMBRIDGE_U8, NULL, NULL, 0), -EINVAL);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

/* ------------------------------------------------------------ the lock */

START_TEST(lock_held_twice)
{
	struct fx f;

	fx_open(&f, 64);
	mbt_assert_ret(membridge_view_unlock(f.view), -ENOLCK);
	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), 1);
	mbt_assert_ret(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT), -EDEADLK);
	mbt_assert_ret(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EDEADLK);
	mbt_assert_ret(membridge_view_lock_read(f.view, 20 * MBT_MS), -EDEADLK);
	ck_assert_int_eq(word(&f), 1);
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ret(membridge_view_unlock(f.view), -ENOLCK);

	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ret(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EDEADLK);
	mbt_assert_ret(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT), -EDEADLK);
	mbt_assert_ret(membridge_view_lock_write(f.view, MEMBRIDGE_WAIT_FOREVER), -EDEADLK);
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ret(membridge_view_unlock(f.view), -ENOLCK);
	fx_close(&f);
}
END_TEST

START_TEST(lock_read_section)
{
	struct membridge_value v = { MEMBRIDGE_U32, { .u32 = 99 } }, got;
	unsigned char before[64];
	char buf[8];
	struct fx f;

	fx_open(&f, 64);
	mbt_assert_ok(membridge_view_write(f.view, 0, &v, 1));
	memcpy(before, f.raw, 64);
	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_read(f.view, 0, MEMBRIDGE_U32, &got, NULL, 0));
	ck_assert_uint_eq(got.as.u32, 99);
	mbt_assert_ok(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_U32, &got, NULL, 0));
	mbt_assert_ok(membridge_view_read_bytes(f.view, 0, buf, 4));
	ck_assert_int_eq(word(&f), 1);
	/* No writing inside a read section. */
	mbt_assert_ret(membridge_view_write(f.view, 8, &v, 1), -EDEADLK);
	mbt_assert_ret(membridge_view_write(f.view, MEMBRIDGE_CURSOR, &v, 1), -EDEADLK);
	mbt_assert_ret(membridge_view_write_bytes(f.view, 8, "x", 1), -EDEADLK);
	mbt_assert_ret(membridge_view_zero(f.view), -EDEADLK);
	ck_assert_uint_eq(membridge_view_tell(f.view), 4);
	ck_assert_int_eq(word(&f), 1);
	ck_assert_mem_eq(f.raw + 4, before + 4, 60);
	/* An error inside the section keeps the lock. */
	mbt_assert_ret(membridge_view_read(f.view, 60, MEMBRIDGE_U32, &got, NULL, 0), -ERANGE);
	ck_assert_int_eq(word(&f), 1);
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);
	/* After it, writes work again. */
	mbt_assert_ok(membridge_view_write_bytes(f.view, 8, "x", 1));
	fx_close(&f);
}
END_TEST

START_TEST(lock_write_section)
{
	struct membridge_value v = { MEMBRIDGE_I64, { .i64 = 0 } }, got;
	struct membridge_view *other;
	int i;
	struct fx f;

	fx_open(&f, 64);
	other = fx_view(&f);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	for (i = 0; i < 5; i++) {
		v.as.i64 = i;
		mbt_assert_ok(membridge_view_write(f.view, MEMBRIDGE_CURSOR, &v, 1));
		ck_assert_int_eq(word(&f), -getpid());
		/* Nobody else gets in meanwhile. */
		mbt_assert_ret(membridge_view_lock_read(other, MEMBRIDGE_NO_WAIT), -EAGAIN);
	}
	mbt_assert_ok(membridge_view_write_bytes(f.view, 50, "tail", 4));
	mbt_assert_ok(membridge_view_read(f.view, 8, MEMBRIDGE_I64, &got, NULL, 0));
	ck_assert_int_eq(got.as.i64, 1);
	mbt_assert_ret(membridge_view_write(f.view, 60, &v, 1), -ERANGE);
	ck_assert_int_eq(word(&f), -getpid());
	/* The other view's data calls cannot get in either. */
	membridge_view_set_timeout(other, MEMBRIDGE_NO_WAIT);
	mbt_assert_ret(membridge_view_read(other, 0, MEMBRIDGE_I64, &got, NULL, 0), -EAGAIN);
	/* Another view of this same process is still another holder. */
	mbt_assert_ret(membridge_view_lock_write(other, 20 * MBT_MS), -ETIMEDOUT);
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ok(membridge_view_read(other, 32, MEMBRIDGE_I64, &got, NULL, 0));
	ck_assert_int_eq(got.as.i64, 4);
	membridge_view_close(other);
	fx_close(&f);
}
END_TEST

START_TEST(lock_word_and_counts)
{
	struct membridge_view *a, *b, *c;
	struct fx f;

	fx_open(&f, 64);
	a = fx_view(&f);
	b = fx_view(&f);
	c = fx_view(&f);
	ck_assert_int_eq(membridge_view_reader_count(a), 0);
	ck_assert(!membridge_view_is_write_locked(a));

	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), 1);
	ck_assert_int_eq(membridge_view_reader_count(a), 1);
	mbt_assert_ok(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_lock_read(b, 10 * MBT_MS));
	ck_assert_int_eq(word(&f), 3);
	ck_assert_int_eq(membridge_view_reader_count(c), 3);
	ck_assert_int_eq(membridge_view_reader_count(f.view), 3);
	ck_assert(!membridge_view_is_write_locked(c));
	/* Readers keep writers out. */
	mbt_assert_ret(membridge_view_lock_write(c, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_view_lock_write(c, 20 * MBT_MS), -ETIMEDOUT);
	ck_assert_int_eq(word(&f), 3);
	mbt_assert_ok(membridge_view_unlock(a));
	ck_assert_int_eq(membridge_view_reader_count(c), 2);
	mbt_assert_ok(membridge_view_unlock(f.view));
	mbt_assert_ok(membridge_view_unlock(b));
	ck_assert_int_eq(word(&f), 0);

	mbt_assert_ok(membridge_view_lock_write(c, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), -getpid());
	ck_assert(membridge_view_is_write_locked(a));
	ck_assert(membridge_view_is_write_locked(c));
	ck_assert_int_eq(membridge_view_reader_count(a), 0);
	/* A writer keeps everybody out. */
	mbt_assert_ret(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_view_lock_write(a, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_view_lock_read(a, 20 * MBT_MS), -ETIMEDOUT);
	mbt_assert_ok(membridge_view_unlock(c));
	ck_assert(!membridge_view_is_write_locked(a));
	ck_assert_int_eq(word(&f), 0);

	membridge_view_close(a);
	membridge_view_close(b);
	membridge_view_close(c);
	fx_close(&f);
}
END_TEST

/* What another process reports about our lock, as an exit status:
 * 10 * reader_count + is_write_locked, +50 if it could take a read lock. */
static int child_observes(void *arg)
{
	struct membridge_segment *seg;
	struct membridge_view *view;
	int status, ret;

	if (membridge_segment_open(arg, 0, &seg) < 0 || membridge_view_open(seg, &view) < 0)
		return 99;
	status = 10 * membridge_view_reader_count(view) +
		 (membridge_view_is_write_locked(view) ? 1 : 0);
	if (membridge_view_lock_write(view, MEMBRIDGE_NO_WAIT) != -EAGAIN)
		return 98;
	ret = membridge_view_lock_read(view, MEMBRIDGE_NO_WAIT);
	if (ret == 0) {
		status += 50;
		if (membridge_view_unlock(view) < 0)
			return 97;
	} else if (ret != -EAGAIN) {
		return 96;
	}
	membridge_view_close(view);
	membridge_segment_close(seg);
	return status;
}

START_TEST(lock_seen_from_other_process)
{
	struct membridge_view *a;
	struct fx f;

	fx_open(&f, 64);
	a = fx_view(&f);
	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(mbt_wait(mbt_fork(child_observes, f.name)), 50 + 20);
	ck_assert_int_eq(word(&f), 2);
	mbt_assert_ok(membridge_view_unlock(a));
	mbt_assert_ok(membridge_view_unlock(f.view));
	mbt_assert_ok(membridge_view_lock_write(a, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(mbt_wait(mbt_fork(child_observes, f.name)), 1);
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ok(membridge_view_unlock(a));
	membridge_view_close(a);
	fx_close(&f);
}
END_TEST

/* The other way round: a peer process holds the lock, we look. */
START_TEST(peer_lock_seen_here)
{
	struct peer p = { 0 };
	struct fx f;

	fx_open(&f, 64);
	peer_start(&p, f.name, PEER_READ);
	ck_assert_int_eq(word(&f), 1);
	ck_assert_int_eq(membridge_view_reader_count(f.view), 1);
	ck_assert(!membridge_view_is_write_locked(f.view));
	mbt_assert_ret(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), 2);
	mbt_assert_ok(membridge_view_unlock(f.view));
	/* Readers present: only force breaks it. */
	mbt_assert_ret(membridge_view_break_lock(f.view, 0), -EPERM);
	ck_assert_int_eq(word(&f), 1);
	peer_send(&p, 'u');
	ck_assert_int_eq(peer_finish(&p), 0);
	ck_assert_int_eq(word(&f), 0);

	peer_start(&p, f.name, PEER_WRITE);
	ck_assert_int_eq(word(&f), -p.pid);
	ck_assert(membridge_view_is_write_locked(f.view));
	ck_assert_int_eq(membridge_view_reader_count(f.view), 0);
	mbt_assert_ret(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_view_lock_write(f.view, 20 * MBT_MS), -ETIMEDOUT);
	/* A live writer: not ours to break. */
	mbt_assert_ret(membridge_view_break_lock(f.view, 0), -EBUSY);
	ck_assert_int_eq(word(&f), -p.pid);
	peer_send(&p, 'u');
	ck_assert_int_eq(peer_finish(&p), 0);
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(f.view));
	fx_close(&f);
}
END_TEST

/* An anonymous writer (-1, as membridge 1.0 stores) excludes everybody. */
START_TEST(anonymous_writer)
{
	struct membridge_value v = { MEMBRIDGE_U8, { .u8 = 1 } }, got;
	struct membridge_view *other;
	char buf[4];
	int64_t t;
	struct fx f;

	fx_open(&f, 64);
	other = fx_view(&f);
	set_word(&f, -1);
	ck_assert(membridge_view_is_write_locked(f.view));
	ck_assert_int_eq(membridge_view_reader_count(f.view), 0);

	t = mbt_now_ns();
	mbt_assert_ret(membridge_view_lock_write(f.view, 20 * MBT_MS), -ETIMEDOUT);
	t = mbt_now_ns() - t;
	ck_assert_msg(t >= 20 * MBT_MS && t < 1000 * MBT_MS, "waited %lld ns", (long long)t);
	t = mbt_now_ns();
	mbt_assert_ret(membridge_view_lock_read(f.view, 20 * MBT_MS), -ETIMEDOUT);
	t = mbt_now_ns() - t;
	ck_assert_msg(t >= 20 * MBT_MS && t < 1000 * MBT_MS, "waited %lld ns", (long long)t);
	mbt_assert_ret(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ck_assert_int_eq(word(&f), -1);

	/* Data calls use the view's timeout. */
	membridge_view_set_timeout(f.view, MEMBRIDGE_NO_WAIT);
	mbt_assert_ret(membridge_view_write(f.view, 0, &v, 1), -EAGAIN);
	mbt_assert_ret(membridge_view_read(f.view, 0, MEMBRIDGE_U8, &got, NULL, 0), -EAGAIN);
	mbt_assert_ret(membridge_view_write_bytes(f.view, 0, "x", 1), -EAGAIN);
	mbt_assert_ret(membridge_view_read_bytes(f.view, 0, buf, 1), -EAGAIN);
	mbt_assert_ret(membridge_view_zero(f.view), -EAGAIN);
	ck_assert_uint_eq(f.raw[4], 0);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	membridge_view_set_timeout(f.view, 30 * MBT_MS);
	t = mbt_now_ns();
	mbt_assert_ret(membridge_view_write(f.view, MEMBRIDGE_CURSOR, &v, 1), -ETIMEDOUT);
	mbt_assert_ret(membridge_view_read(f.view, 0, MEMBRIDGE_U8, &got, NULL, 0), -ETIMEDOUT);
	t = mbt_now_ns() - t;
	ck_assert_msg(t >= 60 * MBT_MS && t < 2000 * MBT_MS, "two waits took %lld ns",
		      (long long)t);
	ck_assert_uint_eq(membridge_view_tell(f.view), 0);
	ck_assert_uint_eq(f.raw[4], 0);

	/* Nothing tells whether a -1 writer lives: only force breaks it. */
	mbt_assert_ret(membridge_view_break_lock(f.view, 0), -EPERM);
	ck_assert_int_eq(word(&f), -1);
	mbt_assert_ret(membridge_view_break_lock(f.view, 2), -EINVAL);
	ck_assert_int_eq(word(&f), -1);
	mbt_assert_ok(membridge_view_break_lock(other, MEMBRIDGE_BREAK_FORCE));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ok(membridge_view_write(f.view, 0, &v, 1));
	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(f.view));
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);

	/* INT32_MIN cannot be a pid either. */
	set_word(&f, INT32_MIN);
	ck_assert(membridge_view_is_write_locked(f.view));
	mbt_assert_ret(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_view_lock_write(f.view, 10 * MBT_MS), -ETIMEDOUT);
	ck_assert_int_ne(membridge_view_break_lock(f.view, 0), 0);
	ck_assert_int_eq(word(&f), INT32_MIN);
	mbt_assert_ok(membridge_view_break_lock(f.view, MEMBRIDGE_BREAK_FORCE));
	ck_assert_int_eq(word(&f), 0);
	membridge_view_close(other);
	fx_close(&f);
}
END_TEST

START_TEST(break_lock_cases)
{
	struct membridge_view *a, *b;
	struct fx f;

	fx_open(&f, 64);
	a = fx_view(&f);
	b = fx_view(&f);
	/* A free lock: nothing to do. */
	mbt_assert_ok(membridge_view_break_lock(f.view, 0));
	mbt_assert_ok(membridge_view_break_lock(f.view, MEMBRIDGE_BREAK_FORCE));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ret(membridge_view_break_lock(f.view, 2), -EINVAL);
	mbt_assert_ret(membridge_view_break_lock(f.view, MEMBRIDGE_BREAK_FORCE | 4), -EINVAL);

	/* Readers: -EPERM; forced, they lose the lock behind their back. */
	mbt_assert_ok(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_lock_read(b, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_view_break_lock(f.view, 0), -EPERM);
	ck_assert_int_eq(word(&f), 2);
	mbt_assert_ok(membridge_view_break_lock(f.view, MEMBRIDGE_BREAK_FORCE));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ret(membridge_view_unlock(a), -EBADMSG);
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ret(membridge_view_unlock(a), -ENOLCK);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	/* A stale reader must not release somebody else's write lock. */
	mbt_assert_ret(membridge_view_unlock(b), -EBADMSG);
	ck_assert_int_eq(word(&f), -getpid());

	/* Our own write lock: we are alive, so -EBUSY. */
	mbt_assert_ret(membridge_view_break_lock(a, 0), -EBUSY);
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ok(membridge_view_unlock(f.view));
	membridge_view_close(a);
	membridge_view_close(b);
	fx_close(&f);
}
END_TEST

/* Take a write or read lock, then set the lock word to w behind its back:
 * unlock must fail with -EBADMSG and leave the word as it is. */
static void unlock_reset_lock(struct fx *f, bool write, int32_t w)
{
	if (write)
		mbt_assert_ok(membridge_view_lock_write(f->view, MEMBRIDGE_NO_WAIT));
	else
		mbt_assert_ok(membridge_view_lock_read(f->view, MEMBRIDGE_NO_WAIT));
	set_word(f, w);
	mbt_assert_ret(membridge_view_unlock(f->view), -EBADMSG);
	ck_assert_int_eq(word(f), w);
}

START_TEST(unlock_after_reset)
{
	struct fx f;

	fx_open(&f, 64);
	/* A read lock whose word was zeroed: the word stays 0, not -1. */
	unlock_reset_lock(&f, false, 0);
	mbt_assert_ret(membridge_view_unlock(f.view), -ENOLCK);

	/* A read lock whose word now says "writer". */
	unlock_reset_lock(&f, false, -1);
	set_word(&f, 0);

	/* A write lock reset to 0, taken by a -1 writer, or turned into readers. */
	unlock_reset_lock(&f, true, 0);
	mbt_assert_ret(membridge_view_unlock(f.view), -ENOLCK);
	unlock_reset_lock(&f, true, -1);
	set_word(&f, 0);
	unlock_reset_lock(&f, true, 5);
	set_word(&f, 0);

	/* The view is usable again afterwards. */
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

/* Closing a view releases the lock it holds, and only that. */
START_TEST(close_releases_lock)
{
	struct membridge_view *a;
	struct fx f;

	fx_open(&f, 64);
	a = fx_view(&f);
	mbt_assert_ok(membridge_view_lock_write(a, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), -getpid());
	membridge_view_close(a);
	ck_assert_int_eq(word(&f), 0);

	a = fx_view(&f);
	mbt_assert_ok(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), 2);
	membridge_view_close(a);
	ck_assert_int_eq(word(&f), 1);
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(word(&f), 0);

	/* Closing after the word was reset leaves the new state alone. */
	a = fx_view(&f);
	mbt_assert_ok(membridge_view_lock_read(a, MEMBRIDGE_NO_WAIT));
	set_word(&f, 0);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	membridge_view_close(a);
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ok(membridge_view_unlock(f.view));
	fx_close(&f);
}
END_TEST

/* --------------------------------------------------------- dead writers */

static int child_locks_and_dies(void *arg)
{
	struct membridge_segment *seg;
	struct membridge_view *view;

	if (membridge_segment_open(arg, 0, &seg) < 0 || membridge_view_open(seg, &view) < 0)
		return 10;
	if (membridge_view_lock_write(view, MEMBRIDGE_NO_WAIT) < 0)
		return 11;
	keep_reachable(seg);
	keep_reachable(view);
	return 0; /* _exit without unlocking */
}

/* Each call must come back -EOWNERDEAD at once, whatever its timeout. */
#define assert_owner_dead(call) do {						\
	int64_t t0_ = mbt_now_ns();							\
	mbt_assert_ret(call, -EOWNERDEAD);					\
	ck_assert_msg(mbt_now_ns() - t0_ < MBT_PROMPT_NS, "%s took %lld ns", #call,	\
		      (long long)(mbt_now_ns() - t0_));				\
} while (0)

START_TEST(dead_writer)
{
	struct membridge_value v = { MEMBRIDGE_U8, { .u8 = 7 } }, got;
	struct membridge_view *other;
	char buf[4];
	pid_t pid;
	struct fx f;

	fx_open(&f, 64);
	other = fx_view(&f);
	pid = mbt_fork(child_locks_and_dies, f.name);
	ck_assert_int_eq(mbt_wait(pid), 0);
	ck_assert_int_eq(word(&f), -pid);
	ck_assert(membridge_view_is_write_locked(f.view));

	membridge_view_set_timeout(f.view, 2000 * MBT_MS);
	assert_owner_dead(membridge_view_lock_read(f.view, 2000 * MBT_MS));
	assert_owner_dead(membridge_view_lock_write(f.view, 2000 * MBT_MS));
	assert_owner_dead(membridge_view_lock_write(f.view, MEMBRIDGE_WAIT_FOREVER));
	assert_owner_dead(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
	assert_owner_dead(membridge_view_write(f.view, 0, &v, 1));
	assert_owner_dead(membridge_view_read(f.view, 0, MEMBRIDGE_U8, &got, NULL, 0));
	assert_owner_dead(membridge_view_write_bytes(f.view, 0, "x", 1));
	assert_owner_dead(membridge_view_read_bytes(f.view, 0, buf, 1));
	assert_owner_dead(membridge_view_zero(f.view));
	/* Nothing was taken or changed by the failed calls. */
	ck_assert_int_eq(word(&f), -pid);
	ck_assert_uint_eq(f.raw[4], 0);
	mbt_assert_ret(membridge_view_unlock(f.view), -ENOLCK);

	/* The documented recovery: break without force, then carry on. */
	mbt_assert_ok(membridge_view_break_lock(other, 0));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ok(membridge_view_write(f.view, 0, &v, 1));
	mbt_assert_ok(membridge_view_read(other, 0, MEMBRIDGE_U8, &got, NULL, 0));
	ck_assert_uint_eq(got.as.u8, 7);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(word(&f), -getpid());
	mbt_assert_ok(membridge_view_unlock(f.view));

	/* Force works on a dead writer too. */
	pid = mbt_fork(child_locks_and_dies, f.name);
	ck_assert_int_eq(mbt_wait(pid), 0);
	ck_assert_int_eq(word(&f), -pid);
	assert_owner_dead(membridge_view_lock_read(other, 2000 * MBT_MS));
	mbt_assert_ok(membridge_view_break_lock(f.view, MEMBRIDGE_BREAK_FORCE));
	ck_assert_int_eq(word(&f), 0);
	mbt_assert_ok(membridge_view_lock_read(other, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(other));
	membridge_view_close(other);
	fx_close(&f);
}
END_TEST

/* ----------------------------------------- a writer in another pid namespace */

/*
 * Containers of one pod (or `docker --ipc=host`) share /dev/shm but not
 * their pid namespace: a live writer there records a pid that means nothing
 * here. That must not pass for a dead writer, or the documented recovery
 * (break_lock without force) would break a lock that is still held.
 */
struct ns_peer {
	struct peer peer;
	pid_t inner_pid; /* the writer's pid inside its namespace */
};

/* Exit status of a child reaped without Check (these run in children). */
static int reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid)
		return 79;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Pid 1 of the new namespace: make the next pid inner_pid and run the lock
 * holder with it. */
static int ns_init(struct ns_peer *np)
{
	char buf[32];
	int fd, len;
	pid_t pid;

	fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return 78;
	len = snprintf(buf, sizeof(buf), "%d", (int)np->inner_pid - 1);
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		return 78;
	}
	close(fd);
	pid = fork();
	if (pid < 0)
		return 78;
	if (pid == 0)
		_exit(getpid() == np->inner_pid ? peer_main(&np->peer) : 78);
	return reap(pid);
}

static int ns_launcher(void *arg)
{
	struct ns_peer *np = arg;
	pid_t pid;

	close(np->peer.ready[0]);
	close(np->peer.go[1]);
	if (unshare(CLONE_NEWPID) < 0)
		return 77;
	pid = fork();
	if (pid < 0)
		return 77;
	if (pid == 0)
		_exit(ns_init(np));
	return reap(pid);
}

/* A pid no process of this namespace has, or 0. */
static pid_t unused_pid(void)
{
	FILE *fp = fopen("/proc/sys/kernel/pid_max", "r");
	long max = 0;
	pid_t pid;

	if (!fp)
		return 0;
	if (fscanf(fp, "%ld", &max) != 1)
		max = 0;
	fclose(fp);
	for (pid = (pid_t)(max - 100); pid > 1000 && max > 1100; pid -= 13)
		if (kill(pid, 0) < 0 && errno == ESRCH)
			return pid;
	return 0;
}

START_TEST(live_writer_other_pid_namespace)
{
	struct ns_peer np = { 0 };
	int lock_ret, break_ret, status;
	int32_t seen, after;
	pid_t launcher;
	char c;
	struct fx f;

#ifndef MB_HAVE_PID_NAMESPACES
	/* macOS has none; the library built as there cannot tell them apart. */
	fprintf(stderr, "live_writer_other_pid_namespace: skipped, no pid namespaces\n");
	return;
#endif
	if (geteuid() != 0) {
		fprintf(stderr, "live_writer_other_pid_namespace: skipped, needs root\n");
		return;
	}
	np.inner_pid = unused_pid();
	if (!np.inner_pid) {
		fprintf(stderr, "live_writer_other_pid_namespace: skipped, no free pid\n");
		return;
	}
	fx_open(&f, 64);
	np.peer.name = f.name;
	np.peer.lock = PEER_WRITE;
	np.peer.released_at = shared_stamp();
	ck_assert_int_eq(pipe(np.peer.ready), 0);
	ck_assert_int_eq(pipe(np.peer.go), 0);
	launcher = mbt_fork(ns_launcher, &np);
	close(np.peer.ready[1]);
	close(np.peer.go[0]);
	if (read(np.peer.ready[0], &c, 1) != 1) {
		status = mbt_wait(launcher);
		peer_forget(&np.peer);
		fx_close(&f);
		ck_assert_msg(status == 77 || status == 78, "the writer failed with %d", status);
		fprintf(stderr, "live_writer_other_pid_namespace: skipped, cannot make a pid "
			"namespace (%d)\n", status);
		return;
	}
	seen = word(&f);
	lock_ret = membridge_view_lock_write(f.view, 50 * MBT_MS);
	break_ret = membridge_view_break_lock(f.view, 0);
	after = word(&f);
	peer_send(&np.peer, 'u');
	status = mbt_wait(launcher);
	peer_forget(&np.peer);

	ck_assert_int_eq(seen, -np.inner_pid);
	ck_assert_msg(lock_ret == -ETIMEDOUT, "lock_write on a live writer's lock returned %d (%s)",
		      lock_ret, membridge_strerror(lock_ret));
	ck_assert_msg(break_ret != 0, "break_lock without force broke a live writer's lock");
	ck_assert_int_eq(after, -np.inner_pid);
	ck_assert_msg(status == 0, "the writer's own unlock failed (%d)", status);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

/* ------------------------------------------------------------- blocking */

static const struct {
	enum peer_lock peer;
	bool write; /* what we wait for */
} wake_cases[] = {
	{ PEER_WRITE, true },
	{ PEER_WRITE, false },
	{ PEER_READ, true },
	{ PEER_ANON_WRITE, true },
	{ PEER_ANON_READ, true },
};

/* A waiter in this process runs again promptly when the peer lets go. */
START_TEST(wake_on_unlock)
{
	struct peer p = { 0 };
	int64_t got, released;
	struct fx f;

	fx_open(&f, 64);
	p.hold_ns = 150 * MBT_MS;
	peer_start(&p, f.name, wake_cases[_i].peer);
	if (wake_cases[_i].write)
		mbt_assert_ok(membridge_view_lock_write(f.view, 5 * MBT_PROMPT_NS));
	else
		mbt_assert_ok(membridge_view_lock_read(f.view, 5 * MBT_PROMPT_NS));
	got = mbt_now_ns();
	released = atomic_load(p.released_at);
	ck_assert_msg(released > 0 && got >= released,
		      "the lock was granted before the peer released it");
	ck_assert_msg(got - released < MBT_PROMPT_NS, "woke %lld ns after the release",
		      (long long)(got - released));
	ck_assert_int_eq(word(&f), wake_cases[_i].write ? -getpid() : 1);
	mbt_assert_ok(membridge_view_unlock(f.view));
	ck_assert_int_eq(peer_finish(&p), 0);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

/* A waiter without a time limit learns that the holder died. */
START_TEST(wait_forever_holder_dies)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, saved;
	struct peer p = { 0 };
	int64_t start;
	int ret;
	struct fx f;

	fx_open(&f, 64);
	/* Reap children automatically: a zombie would still count as alive. */
	ck_assert_int_eq(sigaction(SIGCHLD, &ign, &saved), 0);
	p.hold_ns = 100 * MBT_MS;
	p.die = true;
	peer_start(&p, f.name, PEER_WRITE);
	ck_assert_int_eq(word(&f), -p.pid);
	start = mbt_now_ns();
	if (_i == 0)
		ret = membridge_view_lock_write(f.view, MEMBRIDGE_WAIT_FOREVER);
	else
		ret = membridge_view_lock_read(f.view, MEMBRIDGE_WAIT_FOREVER);
	sigaction(SIGCHLD, &saved, NULL);
	mbt_assert_ret(ret, -EOWNERDEAD);
	ck_assert_msg(mbt_now_ns() - start < p.hold_ns + MBT_PROMPT_NS, "took %lld ns",
		      (long long)(mbt_now_ns() - start));
	ck_assert_int_eq(word(&f), -p.pid);
	peer_forget(&p);
	mbt_assert_ok(membridge_view_break_lock(f.view, 0));
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(f.view));
	fx_close(&f);
}
END_TEST

/* A data call with the default timeout waits for a peer's lock too. */
START_TEST(data_call_waits)
{
	struct membridge_value v = { MEMBRIDGE_U32, { .u32 = 0xfeed } }, got;
	struct peer p = { 0 };
	int64_t released, done;
	struct fx f;

	fx_open(&f, 64);
	p.hold_ns = 80 * MBT_MS;
	peer_start(&p, f.name, PEER_WRITE);
	mbt_assert_ok(membridge_view_write(f.view, 0, &v, 1));
	done = mbt_now_ns();
	released = atomic_load(p.released_at);
	ck_assert_msg(released > 0 && done >= released, "wrote while the peer held the lock");
	ck_assert_int_eq(peer_finish(&p), 0);
	p.hold_ns = 80 * MBT_MS;
	peer_start(&p, f.name, PEER_WRITE);
	mbt_assert_ok(membridge_view_read(f.view, 0, MEMBRIDGE_U32, &got, NULL, 0));
	ck_assert_uint_eq(got.as.u32, 0xfeed);
	ck_assert_msg(atomic_load(p.released_at) > 0, "read while the peer held the lock");
	ck_assert_int_eq(peer_finish(&p), 0);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

/* A wait interrupted by a signal handler returns -EINTR. */
START_TEST(wait_interrupted)
{
	struct sigaction sa = { .sa_handler = on_alarm }, saved;
	struct itimerval it = { { 0, 5000 }, { 0, 5000 } }, off = { { 0, 0 }, { 0, 0 } };
	int64_t start;
	int ret;
	struct fx f;

	fx_open(&f, 64);
	set_word(&f, -1);
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	ck_assert_int_eq(sigaction(SIGALRM, &sa, &saved), 0);
	alarms = 0;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	start = mbt_now_ns();
	ret = membridge_view_lock_write(f.view, 5 * MBT_PROMPT_NS);
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &saved, NULL);
	mbt_assert_ret(ret, -EINTR);
	ck_assert_int_gt(alarms, 0);
	ck_assert_msg(mbt_now_ns() - start < MBT_PROMPT_NS, "took %lld ns",
		      (long long)(mbt_now_ns() - start));
	ck_assert_int_eq(word(&f), -1);
	set_word(&f, 0);
	fx_close(&f);
}
END_TEST

/* Mutual exclusion across processes: no increment is lost. */
#define INCREMENTS 1000

static int child_increments(void *arg)
{
	struct membridge_segment *seg;
	struct membridge_view *view;
	struct membridge_value v;
	int i;

	if (membridge_segment_open(arg, 0, &seg) < 0 || membridge_view_open(seg, &view) < 0)
		return 10;
	for (i = 0; i < INCREMENTS; i++) {
		if (membridge_view_lock_write(view, 5000 * MBT_MS) < 0)
			return 11;
		if (membridge_view_read(view, 0, MEMBRIDGE_I64, &v, NULL, 0) < 0)
			return 12;
		v.as.i64++;
		if (membridge_view_write(view, 0, &v, 1) < 0)
			return 13;
		if (membridge_view_unlock(view) < 0)
			return 14;
		if (i % 64 == 0 && membridge_view_read(view, 8, MEMBRIDGE_I64, &v, NULL, 0) < 0)
			return 15;
	}
	membridge_view_close(view);
	membridge_segment_close(seg);
	return 0;
}

START_TEST(exclusion_between_processes)
{
	struct membridge_value got;
	pid_t a, b;
	struct fx f;

	fx_open(&f, 64);
	a = mbt_fork(child_increments, f.name);
	b = mbt_fork(child_increments, f.name);
	ck_assert_int_eq(mbt_wait(a), 0);
	ck_assert_int_eq(mbt_wait(b), 0);
	mbt_assert_ok(membridge_view_read(f.view, 0, MEMBRIDGE_I64, &got, NULL, 0));
	ck_assert_int_eq(got.as.i64, 2 * INCREMENTS);
	ck_assert_int_eq(word(&f), 0);
	fx_close(&f);
}
END_TEST

static Suite *view_suite(void)
{
	Suite *s = suite_create("view");
	TCase *tc;

	tc = tcase_create("data");
	tcase_add_test(tc, open_sizes);
	tcase_add_test(tc, data_offset);
	tcase_add_test(tc, creator_initialises_lock);
	tcase_add_test(tc, typed_explicit_offsets);
	tcase_add_test(tc, typed_cursor);
	tcase_add_test(tc, write_mixed);
	tcase_add_test(tc, write_mixed_all_or_nothing);
	tcase_add_test(tc, read_str_small_buffer);
	tcase_add_test(tc, bytes_ranges);
	tcase_add_test(tc, typed_ranges);
	tcase_add_test(tc, seek_tell);
	tcase_add_test(tc, zero);
	tcase_add_test(tc, read_str_corrupt);
	tcase_add_test(tc, read_bad_type);
	suite_add_tcase(s, tc);

	tc = tcase_create("lock");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, lock_held_twice);
	tcase_add_test(tc, lock_read_section);
	tcase_add_test(tc, lock_write_section);
	tcase_add_test(tc, lock_word_and_counts);
	tcase_add_test(tc, lock_seen_from_other_process);
	tcase_add_test(tc, peer_lock_seen_here);
	tcase_add_test(tc, anonymous_writer);
	tcase_add_test(tc, break_lock_cases);
	tcase_add_test(tc, unlock_after_reset);
	tcase_add_test(tc, close_releases_lock);
	tcase_add_test(tc, dead_writer);
	tcase_add_test(tc, live_writer_other_pid_namespace);
	suite_add_tcase(s, tc);

	tc = tcase_create("blocking");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, wake_on_unlock, 0,
			    (int)(sizeof(wake_cases) / sizeof(wake_cases[0])));
	tcase_add_loop_test(tc, wait_forever_holder_dies, 0, 2);
	tcase_add_test(tc, data_call_waits);
	tcase_add_test(tc, wait_interrupted);
	tcase_add_test(tc, exclusion_between_processes);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(view_suite());
}
