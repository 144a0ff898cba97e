/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the view's decoders (typed reads, schemas, bytes) over arbitrary segments. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

/*
 * Input: 20 control bytes, then the segment image (lock word, data area).
 *   ctl[0]  bit 0: keep the image's lock word (else it is 0, free)
 *           bit 1: use the 64-bit offset as it is (else modulo the data size + 2)
 *           bit 2: seek to the offset and read at the cursor
 *           bits 3-7: how big the buffer for a str is
 *   ctl[1..8]   the offset
 *   ctl[9]      low 4 bits modulo 9: how many schema items follow (0..8);
 *               bit 7: a str buffer of 0 bytes is NULL
 *   ctl[10..17] schema items: type = low 4 bits (0..15, invalid ones too),
 *               count = high 4 bits + 1
 *   ctl[18..19] the length of a read_bytes call
 * The segment is the smallest size class that holds the image. Every read
 * goes through the public view API and is checked against the codec model
 * of fuzz-common.c over a private copy of the data area; the largest class
 * is one page, so a read past its end faults.
 */
#define CTL_SIZE 20
#define LOCK 4

static const size_t sizes[] = { 5, 8, 12, 20, 36, 68, 260, 1028, 4096 };
#define NCLASSES (sizeof(sizes) / sizeof(sizes[0]))
#define MAX_DATA 4092

static struct fz_segment *segments[NCLASSES];

/* What the view must see. */
static struct {
	uint8_t data[MAX_DATA];
	size_t size;
	int32_t lock;
	size_t cursor;
} m;

static const size_t str_caps[32] = {
	0, 1, 2, 3, 4, 5, 7, 8, 15, 16, 31, 32, 63, 64, 100, 127,
	128, 200, 255, 256, 300, 511, 512, 1000, 1023, 1024, 2000, 2047, 2048, 4000, 4091, 4096
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < NCLASSES; i++)
		segments[i] = fz_segment_new(sizes[i]);
	return 0;
}

static bool locked_out(void)
{
	/* A writer, a writer waiting (the bit is honoured: nobody recorded as
	 * its setter is known dead), or a reader count that cannot grow: a read
	 * gives up at once. */
	return m.lock < 0 || (m.lock & MEMBRIDGE_VIEW_WRITER_WAITING) ||
	       m.lock == MEMBRIDGE_VIEW_WRITER_WAITING - 1;
}

static void check_lock_state(const struct membridge_view *view, const uint8_t *mem)
{
	FZ_CHECK((int32_t)fz_load32(mem) == m.lock, "lock word %d, expected %d",
		 (int32_t)fz_load32(mem), m.lock);
	FZ_CHECK(membridge_view_reader_count(view) ==
		 (m.lock > 0 ? m.lock & ~MEMBRIDGE_VIEW_WRITER_WAITING : 0),
		 "reader count %d with lock word %d", membridge_view_reader_count(view), m.lock);
	FZ_CHECK(membridge_view_is_write_locked(view) == (m.lock < 0),
		 "write-locked flag wrong for lock word %d", m.lock);
}

/* What membridge_view_read() at `offset` must return; *want gets the value. */
static int model_read(size_t offset, int type, size_t cap, struct membridge_value *want,
		      size_t *end)
{
	size_t at = offset == MEMBRIDGE_CURSOR ? m.cursor : offset;
	size_t fixed = fz_model_fixed_size(type);
	int ret;

	if (!fixed)
		return -EINVAL;
	if (at > m.size || fixed > m.size - at)
		return -ERANGE;
	if (locked_out())
		return -EAGAIN;
	ret = fz_model_decode(m.data, m.size, at, type, want, end);
	if (ret == -ENODATA)
		return -ERANGE; /* a str running past the data area */
	if (ret == 0 && type == MEMBRIDGE_STR && want->as.buf.len > cap)
		return -ENOBUFS;
	return ret;
}

/* One typed read, checked; returns its result. */
static int checked_read(struct membridge_view *view, const uint8_t *mem, size_t offset,
			int type, size_t cap, bool null_buf)
{
	struct membridge_value got, want;
	size_t end = 0;
	uint8_t *buf = null_buf ? NULL : malloc(cap ? cap : 1);
	int exp = model_read(offset, type, null_buf ? 0 : cap, &want, &end);
	int ret;

	FZ_CHECK(null_buf || buf, "out of memory");
	memset(&got, 0, sizeof(got));
	ret = membridge_view_read(view, offset, (enum membridge_type)type, &got, buf,
				  null_buf ? 0 : cap);
	FZ_CHECK(ret == exp, "read of type %d at %zu (cursor %zu, size %zu, lock %d) "
		 "returned %d (%s), expected %d (%s)", type, offset, m.cursor, m.size, m.lock,
		 ret, membridge_strerror(ret), exp, membridge_strerror(exp));
	if (ret == 0) {
		fz_check_value(&got, &want, "typed read");
		if (type == MEMBRIDGE_STR)
			FZ_CHECK(got.as.buf.ptr == buf || !got.as.buf.len,
				 "a str must be copied to the caller's buffer");
		if (offset == MEMBRIDGE_CURSOR)
			m.cursor = end;
	} else if (ret == -ENOBUFS) {
		FZ_CHECK(got.as.buf.len == want.as.buf.len && !got.as.buf.ptr,
			 "ENOBUFS must give the length needed (%zu, expected %zu)",
			 got.as.buf.len, want.as.buf.len);
	}
	FZ_CHECK(membridge_view_tell(view) == m.cursor, "cursor %zu, expected %zu",
		 membridge_view_tell(view), m.cursor);
	check_lock_state(view, mem);
	free(buf);
	return ret;
}

static int seek(struct membridge_view *view, size_t pos)
{
	int want = pos > m.size ? -ERANGE : 0;

	FZ_CHECK_RET(membridge_view_seek(view, pos), want);
	if (want == 0)
		m.cursor = pos;
	FZ_CHECK(membridge_view_tell(view) == m.cursor, "cursor moved by a failed seek");
	return want;
}

/* read_mixed() of the Python package: a schema read at the cursor. */
static void read_schema(struct membridge_view *view, const uint8_t *mem, size_t start,
			const uint8_t *items, size_t n)
{
	size_t i, k, count;
	int ret = seek(view, start);

	for (i = 0; ret == 0 && i < n; i++) {
		count = (size_t)(items[i] >> 4) + 1;
		for (k = 0; ret == 0 && k < count; k++)
			ret = checked_read(view, mem, MEMBRIDGE_CURSOR, items[i] & 15, MAX_DATA,
					   false);
	}
}

static void read_bytes(struct membridge_view *view, const uint8_t *mem, size_t offset,
		       size_t len)
{
	size_t at = offset == MEMBRIDGE_CURSOR ? m.cursor : offset;
	uint8_t *buf = len ? malloc(len) : NULL;
	int want;

	FZ_CHECK(!len || buf, "out of memory");
	want = at > m.size || len > m.size - at ? -ERANGE : locked_out() ? -EAGAIN : 0;
	FZ_CHECK_RET(membridge_view_read_bytes(view, offset, buf, len), want);
	if (want == 0) {
		FZ_CHECK(!len || !memcmp(buf, m.data + at, len), "read_bytes differs");
		if (offset == MEMBRIDGE_CURSOR)
			m.cursor = at + len;
	}
	FZ_CHECK(membridge_view_tell(view) == m.cursor, "cursor %zu, expected %zu",
		 membridge_view_tell(view), m.cursor);
	check_lock_state(view, mem);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *ctl = data, *img = data + CTL_SIZE;
	size_t imglen = size > CTL_SIZE ? size - CTL_SIZE : 0, k, offset, cap;
	struct membridge_view *view = NULL;
	struct fz_segment *s = NULL;
	uint8_t *mem;
	int type;

	if (size < CTL_SIZE)
		return 0;
	for (k = 0; k < NCLASSES && !s; k++)
		if (sizes[k] >= imglen || k == NCLASSES - 1)
			s = segments[k];
	fz_segment_fill(s, img, imglen);
	mem = membridge_segment_data(s->creator);
	if (!(ctl[0] & 1))
		memset(mem, 0, LOCK);
	m.lock = (int32_t)fz_load32(mem);
	m.size = s->size - LOCK;
	memcpy(m.data, mem + LOCK, m.size);
	m.cursor = 0;
	offset = (size_t)fz_load64(ctl + 1);
	if (!(ctl[0] & 2))
		offset %= m.size + 2;
	cap = str_caps[ctl[0] >> 3];

	/* The opener's handle: view_open leaves the lock word alone. */
	FZ_CHECK_RET(membridge_view_open(s->opener, &view), 0);
	membridge_view_set_timeout(view, MEMBRIDGE_NO_WAIT);
	FZ_CHECK(membridge_view_size(view) == m.size, "view size %zu, expected %zu",
		 membridge_view_size(view), m.size);
	check_lock_state(view, mem);

	/* Every type code, valid or not, at the offset or from the cursor on. */
	if (ctl[0] & 4 && seek(view, offset) == 0)
		offset = MEMBRIDGE_CURSOR;
	for (type = 0; type < 16; type++)
		checked_read(view, mem, offset, type, cap, cap == 0 && (ctl[9] & 0x80));
	read_bytes(view, mem, offset, (size_t)ctl[18] | (size_t)ctl[19] << 8);
	read_schema(view, mem, offset == MEMBRIDGE_CURSOR ? m.cursor : offset, ctl + 10,
		    (size_t)(ctl[9] & 15) % 9);
	membridge_view_close(view);
	FZ_CHECK((int32_t)fz_load32(mem) == m.lock, "closing the view changed the lock word");
	FZ_CHECK(!memcmp(mem + LOCK, m.data, m.size), "a read changed the data area");
	return 0;
}
