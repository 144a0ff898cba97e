/* SPDX-License-Identifier: MIT */
/* Check suite for the payload formats: array and multi-part messages
 * (round trips, byte layouts, alignment, and hostile headers). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* Messages are built in a 64-byte aligned buffer, as a channel gives. */
#define BUF_SIZE 131072
static _Alignas(64) unsigned char buf[BUF_SIZE];

/* Header fields, spelled out independently of the library. */
static void put16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void put64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool aligned64(const void *p)
{
	return ((uintptr_t)p & 63) == 0;
}

/* ----------------------------------------------------------------- arrays */

static struct membridge_array array_of(const char *dtype, unsigned ndim, const uint64_t *shape)
{
	struct membridge_array a;

	memset(&a, 0, sizeof(a));
	strcpy(a.dtype, dtype);
	a.ndim = ndim;
	if (ndim)
		memcpy(a.shape, shape, ndim * sizeof(shape[0]));
	return a;
}

static const struct {
	const char *dtype;
	unsigned ndim;
	uint64_t shape[4];
	size_t itemsize, nbytes, offset;
} arrays[] = {
	{ "<f4", 2, { 3, 4 }, 4, 48, 64 },
	{ "|u1", 0, { 0 }, 1, 1, 64 },
	{ "<c16", 1, { 2 }, 16, 32, 64 },
	{ "|S10", 1, { 5 }, 10, 50, 64 },
	{ "<U8", 1, { 2 }, 32, 64, 64 },
	{ "<M8[ns]", 1, { 3 }, 8, 24, 64 },
	{ "<m8[25s]", 1, { 1 }, 8, 8, 64 },
	{ ">i8", 3, { 2, 1, 3 }, 8, 48, 128 },
	{ "|b1", 4, { 2, 2, 2, 2 }, 1, 16, 128 },
	{ "<f8", 2, { 0, 5 }, 8, 0, 64 },
	{ "|V12", 2, { 7, 0 }, 12, 0, 64 },
};
#define N_ARRAYS (sizeof(arrays) / sizeof(arrays[0]))

START_TEST(array_round_trip)
{
	struct membridge_array a = array_of(arrays[_i].dtype, arrays[_i].ndim, arrays[_i].shape);
	struct membridge_array r;
	size_t size = membridge_array_message_size(&a), j;

	ck_assert_uint_eq(size, arrays[_i].offset + arrays[_i].nbytes);
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(membridge_array_write(buf, size, &a), 0);
	ck_assert_uint_eq(a.itemsize, arrays[_i].itemsize);
	ck_assert_uint_eq(a.nbytes, arrays[_i].nbytes);
	ck_assert_ptr_eq(a.data, buf + arrays[_i].offset);
	ck_assert(aligned64(a.data));
	for (j = 0; j < a.nbytes; j++)
		((unsigned char *)a.data)[j] = (unsigned char)(j * 7 + 1);
	/* Padding between the shape and the data is zero. */
	for (j = 48 + 8 * a.ndim; j < arrays[_i].offset; j++)
		ck_assert_uint_eq(buf[j], 0);

	memset(&r, 0x55, sizeof(r));
	ck_assert_int_eq(membridge_array_read(buf, size, &r), 0);
	ck_assert_str_eq(r.dtype, arrays[_i].dtype);
	ck_assert_uint_eq(r.ndim, arrays[_i].ndim);
	for (j = 0; j < MEMBRIDGE_ARRAY_MAX_DIMS; j++)
		ck_assert_uint_eq(r.shape[j], j < r.ndim ? arrays[_i].shape[j] : 0);
	ck_assert_uint_eq(r.itemsize, arrays[_i].itemsize);
	ck_assert_uint_eq(r.nbytes, arrays[_i].nbytes);
	ck_assert_ptr_eq(r.data, a.data);
	for (j = 0; j < r.nbytes; j++)
		ck_assert_uint_eq(((unsigned char *)r.data)[j], (unsigned char)(j * 7 + 1));
	/* A message one byte short or long is not this array. */
	ck_assert_int_eq(membridge_array_read(buf, size - 1, &r), -EBADMSG);
	ck_assert_int_eq(membridge_array_read(buf, size + 1, &r), -EBADMSG);
}
END_TEST

START_TEST(array_layout_bytes)
{
	static const unsigned char want[64] = {
		'M', 'B', 'A', 'R', 1, 0, 2, 0, 64, 0, 0, 0, 0, 0, 0, 0,
		'<', 'f', '4', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0,
	};
	uint64_t shape[2] = { 3, 4 };
	struct membridge_array a = array_of("<f4", 2, shape);

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), 0);
	ck_assert_mem_eq(buf, want, sizeof(want));
	/* The data is the caller's: nothing past the header was written. */
	ck_assert_uint_eq(buf[64], 0xee);
}
END_TEST

START_TEST(array_32_dims)
{
	uint64_t shape[MEMBRIDGE_ARRAY_MAX_DIMS];
	struct membridge_array a, r;
	size_t size, i;

	for (i = 0; i < MEMBRIDGE_ARRAY_MAX_DIMS; i++)
		shape[i] = i % 5 ? 1 : 2;
	a = array_of("<i2", MEMBRIDGE_ARRAY_MAX_DIMS, shape);
	size = membridge_array_message_size(&a);
	/* 48 + 8 * 32 = 304, rounded up to 320; 2 bytes times 2^7 elements. */
	ck_assert_uint_eq(size, 320 + 256);
	ck_assert_int_eq(membridge_array_write(buf, size, &a), 0);
	ck_assert_int_eq(membridge_array_read(buf, size, &r), 0);
	ck_assert_uint_eq(r.ndim, MEMBRIDGE_ARRAY_MAX_DIMS);
	ck_assert_mem_eq(r.shape, shape, sizeof(shape));
	ck_assert_ptr_eq(r.data, buf + 320);

	a.ndim = MEMBRIDGE_ARRAY_MAX_DIMS + 1;
	ck_assert_uint_eq(membridge_array_message_size(&a), 0);
	ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), -EINVAL);
}
END_TEST

/* The type string grammar, through the writer's and the reader's checks. */
static const struct {
	const char *dtype;
	size_t itemsize; /* 0: malformed */
} dtypes[] = {
	{ "<f4", 4 }, { "|u1", 1 }, { "<c16", 16 }, { "|S10", 10 }, { "<U8", 32 },
	{ "<M8[ns]", 8 }, { "<m8[25s]", 8 }, { "<M8", 8 }, { ">M8[Y]", 8 }, { "<m8[as]", 8 },
	{ "<M8[10us]", 8 }, { "|V12", 12 }, { ">i8", 8 }, { "|b1", 1 }, { "<U1", 4 },
	{ "|S2147483647", 2147483647 }, { "<U536870911", 2147483644 },
	{ "", 0 }, { "<", 0 }, { "f4", 0 }, { "<f", 0 }, { "<f04", 0 }, { "<f0", 0 },
	{ "=f4", 0 }, { "<x4", 0 }, { "<O8", 0 }, { "|S2147483648", 0 },
	{ "<U536870912", 0 }, { "<f4[ns]", 0 }, { "<M8[]", 0 }, { "<M8[ns", 0 },
	{ "<M8[0ns]", 0 }, { "<M8[qq]", 0 }, { "<M8[ns]x", 0 }, { "<f4 ", 0 },
	{ " <f4", 0 }, { "<M8[ 1s]", 0 }, { "<M8[1]", 0 }, { "<f-4", 0 },
	{ "<f99999999999999999999", 0 }, { "<M8[[ns]]", 0 }, { "<m8[ns][ns]", 0 },
	{ "<i\xff", 0 },
};
#define N_DTYPES (sizeof(dtypes) / sizeof(dtypes[0]))

START_TEST(array_dtype_grammar)
{
	struct membridge_array a = array_of(dtypes[_i].dtype, 0, NULL), r;
	size_t want = dtypes[_i].itemsize;
	size_t size = membridge_array_message_size(&a);

	ck_assert_uint_eq(size, want ? 64 + want : 0);
	if (want > BUF_SIZE - 64) {
		return; /* only the arithmetic for the largest item sizes */
	} else if (want) {
		ck_assert_int_eq(membridge_array_write(buf, size, &a), 0);
		ck_assert_uint_eq(a.itemsize, want);
	} else {
		ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), -EINVAL);
		/* The same string in a header a peer wrote. */
		a = array_of("|u1", 0, NULL);
		ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), 0);
		memset(buf + 16, 0, 32);
		memcpy(buf + 16, dtypes[_i].dtype, strlen(dtypes[_i].dtype));
		size = 65;
	}
	ck_assert_int_eq(membridge_array_read(buf, size, &r), want ? 0 : -EBADMSG);
	if (want)
		ck_assert_uint_eq(r.itemsize, want);
}
END_TEST

START_TEST(array_dtype_field)
{
	struct membridge_array a = array_of("<f4", 0, NULL), r;

	/* A description whose string fills the field has no NUL. */
	memset(a.dtype, '1', sizeof(a.dtype));
	memcpy(a.dtype, "<f", 2);
	ck_assert_uint_eq(membridge_array_message_size(&a), 0);

	a = array_of("<f4", 0, NULL);
	ck_assert_int_eq(membridge_array_write(buf, 68, &a), 0);
	ck_assert_int_eq(membridge_array_read(buf, 68, &r), 0);
	/* Bytes after the string's NUL must be NUL too. */
	buf[16 + 31] = 'x';
	ck_assert_int_eq(membridge_array_read(buf, 68, &r), -EBADMSG);
	buf[16 + 31] = 0;
	buf[16 + 4] = '4';
	ck_assert_int_eq(membridge_array_read(buf, 68, &r), -EBADMSG);
	/* No NUL at all in the field. */
	memset(buf + 16, '4', 32);
	memcpy(buf + 16, "<f", 2);
	ck_assert_int_eq(membridge_array_read(buf, 68, &r), -EBADMSG);
}
END_TEST

/* Shapes whose byte count does not fit: the writer gives 0 / -EINVAL and a
 * peer's header with them -EBADMSG. */
static const struct {
	const char *dtype;
	unsigned ndim;
	uint64_t shape[4];
} huge[] = {
	{ "|u1", 1, { UINT64_MAX } },
	{ "|u1", 1, { (uint64_t)INT64_MAX + 1 } },
	{ "<f8", 1, { (uint64_t)1 << 61 } },
	{ "<f8", 2, { (uint64_t)1 << 32, (uint64_t)1 << 32 } },
	{ "|u1", 3, { (uint64_t)1 << 40, (uint64_t)1 << 40, 0 } },
	{ "|u1", 3, { 0, (uint64_t)1 << 40, (uint64_t)1 << 40 } },
	{ "<c16", 4, { 65536, 65536, 65536, 65536 } },
	{ "|S2147483647", 2, { (uint64_t)1 << 31, (uint64_t)1 << 31 } },
};
#define N_HUGE (sizeof(huge) / sizeof(huge[0]))

START_TEST(array_shape_overflow)
{
	struct membridge_array a = array_of(huge[_i].dtype, huge[_i].ndim, huge[_i].shape);
	struct membridge_array r;
	size_t empty;
	unsigned j;

	ck_assert_uint_eq(membridge_array_message_size(&a), 0);
	ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), -EINVAL);
	/* A peer's header: an empty array of that many dimensions, then the
	 * huge shape over it. */
	a = array_of(huge[_i].dtype, huge[_i].ndim, (const uint64_t[4]){ 0, 0, 0, 0 });
	empty = membridge_array_message_size(&a);
	ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), 0);
	ck_assert_int_eq(membridge_array_read(buf, empty, &r), 0);
	for (j = 0; j < huge[_i].ndim; j++)
		put64(buf + 48 + 8 * j, huge[_i].shape[j]);
	ck_assert_int_eq(membridge_array_read(buf, empty, &r), -EBADMSG);
	ck_assert_int_eq(membridge_array_read(buf, sizeof(buf), &r), -EBADMSG);
}
END_TEST

START_TEST(array_largest)
{
	/* The largest byte count, min(SIZE_MAX, INT64_MAX), is allowed; the
	 * message size then overflows a 32-bit size_t, not a 64-bit one. */
	const uint64_t most = (uint64_t)SIZE_MAX < (uint64_t)INT64_MAX ? (uint64_t)SIZE_MAX
								    : (uint64_t)INT64_MAX;
	uint64_t shape[2] = { 1, most };
	struct membridge_array a = array_of("|u1", 2, shape);

	if ((uint64_t)SIZE_MAX > (uint64_t)INT64_MAX)
		ck_assert_uint_eq(membridge_array_message_size(&a), (size_t)most + 64);
	else
		ck_assert_uint_eq(membridge_array_message_size(&a), 0);
	ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a),
			 (uint64_t)SIZE_MAX > (uint64_t)INT64_MAX ? -ENOBUFS : -EINVAL);
	shape[1] = most + 1;
	a = array_of("|u1", 2, shape);
	ck_assert_uint_eq(membridge_array_message_size(&a), 0);
	/* Two bytes each: half as many. */
	shape[1] = most / 2 + 1;
	a = array_of("<i2", 2, shape);
	ck_assert_uint_eq(membridge_array_message_size(&a), 0);
}
END_TEST

/* A valid message of a "<i4" (2, 3) array, 88 bytes. */
static size_t small_array(void)
{
	uint64_t shape[2] = { 2, 3 };
	struct membridge_array a = array_of("<i4", 2, shape);

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(membridge_array_write(buf, sizeof(buf), &a), 0);
	return 64 + 24;
}

/* One field of a peer's header changed: its offset, width (1, 2 or 8
 * bytes), value, the length read (0: the message's), and the result. */
struct mutation {
	size_t at;
	unsigned width;
	uint64_t value;
	size_t len;
	int want;
};

static void mutate(const struct mutation *m)
{
	if (m->width == 1)
		buf[m->at] = (unsigned char)m->value;
	else if (m->width == 2)
		put16(buf + m->at, (uint16_t)m->value);
	else
		put64(buf + m->at, m->value);
}

static const struct mutation array_mutations[] = {
	{ 0, 1, 'X', 0, -EBADMSG },                        /* magic */
	{ 4, 2, 0, 0, -EBADMSG },                          /* version 0 */
	{ 4, 2, 2, 0, -EPROTO },                           /* newer versions */
	{ 4, 2, 0xffff, 0, -EPROTO },
	{ 6, 2, 0xffff, 0, -EBADMSG },                     /* ndim */
	{ 6, 2, MEMBRIDGE_ARRAY_MAX_DIMS + 1, BUF_SIZE, -EBADMSG },
	{ 6, 2, 1, 0, -EBADMSG },                          /* ndim against the shape */
	{ 6, 2, 3, 0, -EBADMSG },
	{ 8, 8, 0, 0, -EBADMSG },                          /* data offsets */
	{ 8, 8, 56, 0, -EBADMSG },
	{ 8, 8, 128, 0, -EBADMSG },
	{ 8, 8, UINT64_MAX, 0, -EBADMSG },
	{ 48, 8, 3, 0, -EBADMSG },                         /* more data than there is */
	{ 48, 8, 0, 0, -EBADMSG },                         /* less */
	{ 48, 8, 0, 64, 0 },                               /* an empty array */
	{ 63, 1, 1, 0, -EBADMSG },                         /* padding */
	{ 64, 1, 1, 0, 0 },                                /* data: anything */
	{ 87, 1, 0xff, 0, 0 },
};
#define N_ARRAY_MUTATIONS (sizeof(array_mutations) / sizeof(array_mutations[0]))

START_TEST(array_hostile_header)
{
	const struct mutation *m = &array_mutations[_i];
	struct membridge_array r, before;
	size_t len = small_array();

	mutate(m);
	memset(&before, 0x5a, sizeof(before));
	r = before;
	ck_assert_int_eq(membridge_array_read(buf, m->len ? m->len : len, &r), m->want);
	if (m->want < 0)
		ck_assert_mem_eq(&r, &before, sizeof(r));
	else
		ck_assert_ptr_eq(r.data, buf + 64);
}
END_TEST

START_TEST(array_truncated)
{
	struct membridge_array r;
	size_t len = small_array(), n;

	for (n = 0; n < len; n++)
		ck_assert_int_eq(membridge_array_read(buf, n, &r), -EBADMSG);
	/* A newer version is reported before anything else is looked at. */
	put16(buf + 4, 2);
	put16(buf + 6, 0xffff);
	ck_assert_int_eq(membridge_array_read(buf, 8, &r), -EPROTO);
}
END_TEST

START_TEST(array_unaligned_message)
{
	/* A copy of a message at an odd address reads the same (the header is
	 * read byte by byte); only alignment in the segment is lost. */
	size_t len = small_array();
	struct membridge_array r;

	memmove(buf + 1001, buf, len);
	ck_assert_int_eq(membridge_array_read(buf + 1001, len, &r), 0);
	ck_assert_ptr_eq(r.data, buf + 1001 + 64);
	ck_assert_uint_eq(r.nbytes, 24);
}
END_TEST

START_TEST(array_bad_calls)
{
	struct membridge_array a = array_of("<f4", 0, NULL);

	ck_assert_uint_eq(membridge_array_message_size(NULL), 0);
	ck_assert_int_eq(membridge_array_write(NULL, 100, &a), -EINVAL);
	ck_assert_int_eq(membridge_array_write(buf, 100, NULL), -EINVAL);
	ck_assert_int_eq(membridge_array_write(buf, 67, &a), -ENOBUFS);
	ck_assert_int_eq(membridge_array_write(buf, 0, &a), -ENOBUFS);
	ck_assert_int_eq(membridge_array_write(buf, 68, &a), 0);
	ck_assert_int_eq(membridge_array_read(NULL, 68, &a), -EINVAL);
	ck_assert_int_eq(membridge_array_read(buf, 68, NULL), -EINVAL);
}
END_TEST

/* ------------------------------------------------------------------ parts */

static const struct {
	size_t count;
	size_t lens[5];
	size_t offsets[5];
	size_t size;
} messages[] = {
	{ 0, { 0 }, { 0 }, 8 },
	{ 1, { 0 }, { 64 }, 64 },
	{ 1, { 5 }, { 64 }, 69 },
	{ 2, { 64, 64 }, { 64, 128 }, 192 },
	{ 5, { 1, 100, 0, 64, 3 }, { 64, 128, 256, 256, 320 }, 323 },
	{ 3, { 0, 0, 0 }, { 64, 64, 64 }, 64 },
	{ 5, { 1000, 1, 1, 1, 1 }, { 64, 1088, 1152, 1216, 1280 }, 1281 },
};
#define N_MESSAGES (sizeof(messages) / sizeof(messages[0]))

START_TEST(parts_round_trip)
{
	struct membridge_iovec got[5];
	void *where[5];
	size_t count = messages[_i].count, size = membridge_parts_message_size(messages[_i].lens, count);
	size_t i, j;

	ck_assert_uint_eq(size, messages[_i].size);
	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(membridge_parts_write(buf, size, messages[_i].lens, count, where), 0);
	for (i = 0; i < count; i++) {
		ck_assert_ptr_eq(where[i], buf + messages[_i].offsets[i]);
		ck_assert(aligned64(where[i]));
		memset(where[i], (int)(i + 1), messages[_i].lens[i]);
	}
	ck_assert_int_eq(membridge_parts_read(buf, size, got, 5), (int)count);
	for (i = 0; i < count; i++) {
		ck_assert_ptr_eq(got[i].base, where[i]);
		ck_assert_uint_eq(got[i].len, messages[_i].lens[i]);
		for (j = 0; j < got[i].len; j++)
			ck_assert_uint_eq(((const unsigned char *)got[i].base)[j], i + 1);
	}
	/* Exactly as many entries as parts is enough; one fewer is not. */
	ck_assert_int_eq(membridge_parts_read(buf, size, got, count), (int)count);
	if (count)
		ck_assert_int_eq(membridge_parts_read(buf, size, got, count - 1), -ENOBUFS);
	/* Every truncation, and a byte too many. */
	for (i = 0; i < size; i++)
		ck_assert_int_eq(membridge_parts_read(buf, i, got, 5), -EBADMSG);
	ck_assert_int_eq(membridge_parts_read(buf, size + 1, got, 5), -EBADMSG);
}
END_TEST

START_TEST(parts_layout_bytes)
{
	static const unsigned char want[16] = {
		'M', 'B', 'P', 'T', 1, 0, 2, 0, 5, 0, 0, 0, 0, 0, 0, 0,
	};
	size_t lens[2] = { 5, 300 }, i;
	void *where[2];

	memset(buf, 0xee, sizeof(buf));
	ck_assert_int_eq(membridge_parts_write(buf, sizeof(buf), lens, 2, where), 0);
	ck_assert_mem_eq(buf, want, sizeof(want));
	ck_assert_uint_eq(get64(buf + 16), 300);
	/* Zero padding after the header and between the parts; the parts
	 * themselves and what follows the message are the caller's. */
	for (i = 24; i < 64; i++)
		ck_assert_uint_eq(buf[i], 0);
	for (i = 64; i < 69; i++)
		ck_assert_uint_eq(buf[i], 0xee);
	for (i = 69; i < 128; i++)
		ck_assert_uint_eq(buf[i], 0);
	ck_assert_uint_eq(buf[128], 0xee);
	ck_assert_uint_eq(buf[428], 0xee);
}
END_TEST

START_TEST(parts_most)
{
	static size_t lens[MEMBRIDGE_PARTS_MAX + 1];
	static struct membridge_iovec got[MEMBRIDGE_PARTS_MAX];
	static void *where[MEMBRIDGE_PARTS_MAX + 1];
	size_t size, i;

	for (i = 0; i <= MEMBRIDGE_PARTS_MAX; i++)
		lens[i] = i % 3 == 0;
	/* The header is 8 + 8 * 4096 = 32776 bytes, the first part at 32832. */
	size = membridge_parts_message_size(lens, MEMBRIDGE_PARTS_MAX);
	ck_assert_uint_eq(size, 32832 + 64 * ((MEMBRIDGE_PARTS_MAX - 1) / 3) + 1);
	ck_assert_uint_le(size, BUF_SIZE);
	ck_assert_int_eq(membridge_parts_write(buf, size, lens, MEMBRIDGE_PARTS_MAX, where), 0);
	ck_assert_int_eq(membridge_parts_read(buf, size, got, MEMBRIDGE_PARTS_MAX),
			 (int)MEMBRIDGE_PARTS_MAX);
	for (i = 0; i < MEMBRIDGE_PARTS_MAX; i++) {
		ck_assert_ptr_eq(got[i].base, where[i]);
		ck_assert_uint_eq(got[i].len, lens[i]);
		ck_assert(aligned64(got[i].base));
	}
	ck_assert_uint_eq(membridge_parts_message_size(lens, MEMBRIDGE_PARTS_MAX + 1), 0);
	ck_assert_int_eq(membridge_parts_write(buf, sizeof(buf), lens, MEMBRIDGE_PARTS_MAX + 1,
					       where), -EINVAL);
	/* A peer's header with one part more than the limit. */
	put16(buf + 6, MEMBRIDGE_PARTS_MAX + 1);
	ck_assert_int_eq(membridge_parts_read(buf, sizeof(buf), got, MEMBRIDGE_PARTS_MAX),
			 -EBADMSG);
}
END_TEST

START_TEST(parts_size_overflow)
{
	size_t one[1] = { SIZE_MAX }, two[2] = { SIZE_MAX / 2, SIZE_MAX / 2 };
	size_t edge[1] = { SIZE_MAX - 64 - 63 };
	void *where[2];

	ck_assert_uint_eq(membridge_parts_message_size(one, 1), 0);
	ck_assert_uint_eq(membridge_parts_message_size(two, 2), 0);
	ck_assert_int_eq(membridge_parts_write(buf, sizeof(buf), two, 2, where), -EINVAL);
	/* The largest part after a one-part header: 64 + len fits, just. */
	ck_assert_uint_eq(membridge_parts_message_size(edge, 1), SIZE_MAX - 63);
	edge[0]++;
	ck_assert_uint_eq(membridge_parts_message_size(edge, 1), SIZE_MAX - 62);
	edge[0] += 63;
	ck_assert_uint_eq(membridge_parts_message_size(edge, 1), 0);
}
END_TEST

/* A valid 3-part message of 5, 70 and 2 bytes: 64 + 5 -> 128 + 70 -> 256 + 2. */
static size_t small_parts(void)
{
	size_t lens[3] = { 5, 70, 2 };
	void *where[3];

	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(membridge_parts_write(buf, sizeof(buf), lens, 3, where), 0);
	return 258;
}

/* A 3-part message of 5, 70 and 2 bytes: 64..69, 128..198, 256..258. */
static const struct mutation parts_mutations[] = {
	{ 3, 1, 'R', 0, -EBADMSG },                      /* magic */
	{ 2, 1, 'A', 0, -EBADMSG },                      /* "MBAT" */
	{ 4, 2, 0, 0, -EBADMSG },                        /* version 0 */
	{ 4, 2, 2, 0, -EPROTO },                         /* a newer one */
	{ 6, 2, 4, 0, -EBADMSG },                        /* counts */
	{ 6, 2, 2, 0, -EBADMSG },
	{ 6, 2, 0, 0, -EBADMSG },
	{ 6, 2, 0xffff, BUF_SIZE, -EBADMSG },
	{ 16, 8, UINT64_MAX, 0, -EBADMSG },              /* lengths that overflow */
	{ 16, 8, UINT64_MAX - 127, 0, -EBADMSG },
	{ 8, 8, (uint64_t)1 << 63, BUF_SIZE, -EBADMSG },  /* ... or run past the end */
	{ 16, 8, 129, 0, -EBADMSG },
	{ 24, 8, 3, 0, -EBADMSG },
	{ 24, 8, 1, 0, -EBADMSG },                       /* a byte left over */
	{ 24, 8, 1, 257, 3 },
	{ 40, 1, 0x80, 0, -EBADMSG },                    /* padding */
	{ 127, 1, 1, 0, -EBADMSG },
	{ 255, 1, 1, 0, -EBADMSG },
	{ 64, 1, 0xff, 0, 3 },                           /* parts: anything */
	{ 257, 1, 0xff, 0, 3 },
};
#define N_PARTS_MUTATIONS (sizeof(parts_mutations) / sizeof(parts_mutations[0]))

START_TEST(parts_hostile_header)
{
	const struct mutation *m = &parts_mutations[_i];
	struct membridge_iovec got[4];
	size_t len = small_parts();

	mutate(m);
	ck_assert_int_eq(membridge_parts_read(buf, m->len ? m->len : len, got, 4), m->want);
}
END_TEST

START_TEST(parts_entries)
{
	struct membridge_iovec got[3];
	size_t len = small_parts();

	/* A newer version with any count is -EPROTO. */
	put16(buf + 4, 2);
	put16(buf + 6, 0xffff);
	ck_assert_int_eq(membridge_parts_read(buf, len, got, 3), -EPROTO);
	small_parts();
	/* Validation comes before the entry count: a broken message is
	 * -EBADMSG however few entries there are. */
	ck_assert_int_eq(membridge_parts_read(buf, len, NULL, 0), -ENOBUFS);
	ck_assert_int_eq(membridge_parts_read(buf, len, got, 2), -ENOBUFS);
	ck_assert_int_eq(membridge_parts_read(buf, len + 1, NULL, 0), -EBADMSG);
	ck_assert_int_eq(membridge_parts_read(buf, len, got, 3), 3);
	ck_assert_ptr_eq(got[2].base, buf + 256);
	ck_assert_uint_eq(got[2].len, 2);
}
END_TEST

START_TEST(parts_bad_calls)
{
	size_t lens[1] = { 1 };
	void *where[1];

	ck_assert_uint_eq(membridge_parts_message_size(NULL, 1), 0);
	ck_assert_uint_eq(membridge_parts_message_size(NULL, 0), 8);
	ck_assert_int_eq(membridge_parts_write(NULL, 100, lens, 1, where), -EINVAL);
	ck_assert_int_eq(membridge_parts_write(buf, 100, lens, 1, NULL), -EINVAL);
	ck_assert_int_eq(membridge_parts_write(buf, 64, lens, 1, where), -ENOBUFS);
	ck_assert_int_eq(membridge_parts_write(buf, 8, NULL, 0, NULL), 0);
	ck_assert_int_eq(membridge_parts_read(buf, 8, NULL, 0), 0);
	ck_assert_int_eq(membridge_parts_read(NULL, 8, NULL, 0), -EINVAL);
	ck_assert_int_eq(membridge_parts_read(buf, 8, NULL, 1), -EINVAL);
}
END_TEST

static Suite *payload_suite(void)
{
	Suite *s = suite_create("payload");
	TCase *tc;

	tc = tcase_create("array");
	tcase_add_loop_test(tc, array_round_trip, 0, (int)N_ARRAYS);
	tcase_add_test(tc, array_layout_bytes);
	tcase_add_test(tc, array_32_dims);
	tcase_add_loop_test(tc, array_dtype_grammar, 0, (int)N_DTYPES);
	tcase_add_test(tc, array_dtype_field);
	tcase_add_loop_test(tc, array_shape_overflow, 0, (int)N_HUGE);
	tcase_add_test(tc, array_largest);
	tcase_add_loop_test(tc, array_hostile_header, 0, (int)N_ARRAY_MUTATIONS);
	tcase_add_test(tc, array_truncated);
	tcase_add_test(tc, array_unaligned_message);
	tcase_add_test(tc, array_bad_calls);
	suite_add_tcase(s, tc);

	tc = tcase_create("parts");
	tcase_add_loop_test(tc, parts_round_trip, 0, (int)N_MESSAGES);
	tcase_add_test(tc, parts_layout_bytes);
	tcase_add_test(tc, parts_most);
	tcase_add_test(tc, parts_size_overflow);
	tcase_add_loop_test(tc, parts_hostile_header, 0, (int)N_PARTS_MUTATIONS);
	tcase_add_test(tc, parts_entries);
	tcase_add_test(tc, parts_bad_calls);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(payload_suite());
}
