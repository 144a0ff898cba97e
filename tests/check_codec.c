/* SPDX-License-Identifier: MIT */
/* Check suite for the value codec: tags, encoded sizes, byte layouts, decoding. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"

#define GUARD 0xee

/* Expected bytes below are spelled little-endian; on a big-endian host the
 * leading `n` bytes of a field (a scalar or a str length prefix) are flipped
 * into native order before comparing. */
static void to_native(unsigned char *p, size_t n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	size_t i;

	for (i = 0; i < n / 2; i++) {
		unsigned char t = p[i];

		p[i] = p[n - 1 - i];
		p[n - 1 - i] = t;
	}
#else
	(void)p;
	(void)n;
#endif
}

/* ------------------------------------------------------------------ tags */

static const struct {
	const char *tag;
	enum membridge_type type;
} known_tags[] = {
	{ "bool", MEMBRIDGE_BOOL }, { "u8", MEMBRIDGE_U8 },     { "i32", MEMBRIDGE_I32 },
	{ "u32", MEMBRIDGE_U32 },   { "f32", MEMBRIDGE_F32 },   { "int", MEMBRIDGE_I64 },
	{ "i64", MEMBRIDGE_I64 },   { "u64", MEMBRIDGE_U64 },   { "float", MEMBRIDGE_F64 },
	{ "f64", MEMBRIDGE_F64 },   { "str", MEMBRIDGE_STR },
};

#define N_KNOWN_TAGS (sizeof(known_tags) / sizeof(known_tags[0]))

START_TEST(type_from_name_known)
{
	enum membridge_type type = (enum membridge_type)0;

	mbt_assert_ok(membridge_type_from_name(known_tags[_i].tag, &type));
	ck_assert_int_eq(type, known_tags[_i].type);
}
END_TEST

START_TEST(type_from_name_unknown)
{
	static const char *const bad[] = {
		"", "bytes", "INT", "Int", "bool ", " u8", "i16", "double", "string", "f64\n",
		"uint64", "int64",
	};
	enum membridge_type type = MEMBRIDGE_U8;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(membridge_type_from_name(bad[i], &type) == -EINVAL,
			      "tag \"%s\" was accepted", bad[i]);
		ck_assert_int_eq(type, MEMBRIDGE_U8);
	}
	mbt_assert_ret(membridge_type_from_name(NULL, &type), -EINVAL);
	ck_assert_int_eq(type, MEMBRIDGE_U8);
	mbt_assert_ret(membridge_type_from_name("int", NULL), -EINVAL);
}
END_TEST

START_TEST(type_name_round_trip)
{
	static const struct {
		enum membridge_type type;
		const char *name;
	} canonical[] = {
		{ MEMBRIDGE_BOOL, "bool" }, { MEMBRIDGE_U8, "u8" },   { MEMBRIDGE_I32, "i32" },
		{ MEMBRIDGE_U32, "u32" },   { MEMBRIDGE_F32, "f32" }, { MEMBRIDGE_I64, "i64" },
		{ MEMBRIDGE_U64, "u64" },   { MEMBRIDGE_F64, "f64" }, { MEMBRIDGE_STR, "str" },
	};
	enum membridge_type back;
	const char *name;
	size_t i;

	for (i = 0; i < sizeof(canonical) / sizeof(canonical[0]); i++) {
		name = membridge_type_name(canonical[i].type);
		ck_assert_ptr_nonnull(name);
		ck_assert_str_eq(name, canonical[i].name);
		mbt_assert_ok(membridge_type_from_name(name, &back));
		ck_assert_int_eq(back, canonical[i].type);
	}
	/* Every accepted tag maps to a type whose canonical name maps back. */
	for (i = 0; i < N_KNOWN_TAGS; i++) {
		name = membridge_type_name(known_tags[i].type);
		ck_assert_ptr_nonnull(name);
		mbt_assert_ok(membridge_type_from_name(name, &back));
		ck_assert_int_eq(back, known_tags[i].type);
	}
	/* BYTES is a real (encode-only) type: it has a name, but not a decode tag. */
	name = membridge_type_name(MEMBRIDGE_BYTES);
	ck_assert_ptr_nonnull(name);
	mbt_assert_ret(membridge_type_from_name(name, &back), -EINVAL);

	ck_assert_ptr_null(membridge_type_name((enum membridge_type)0));
	ck_assert_ptr_null(membridge_type_name((enum membridge_type)(MEMBRIDGE_BYTES + 1)));
	ck_assert_ptr_null(membridge_type_name((enum membridge_type)1000));
	ck_assert_ptr_null(membridge_type_name((enum membridge_type)-1));
}
END_TEST

/* --------------------------------------------------------- encoded size */

START_TEST(encoded_size_each_type)
{
	static const struct {
		enum membridge_type type;
		size_t size;
	} scalars[] = {
		{ MEMBRIDGE_BOOL, 1 }, { MEMBRIDGE_U8, 1 },  { MEMBRIDGE_I32, 4 },
		{ MEMBRIDGE_U32, 4 },  { MEMBRIDGE_F32, 4 }, { MEMBRIDGE_I64, 8 },
		{ MEMBRIDGE_U64, 8 },  { MEMBRIDGE_F64, 8 },
	};
	struct membridge_value v[3];
	size_t i, size;

	for (i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		memset(v, 0, sizeof(v));
		v[0].type = scalars[i].type;
		size = 12345;
		mbt_assert_ok(membridge_encoded_size(v, 1, &size));
		ck_assert_uint_eq(size, scalars[i].size);
	}

	memset(v, 0, sizeof(v));
	v[0].type = MEMBRIDGE_STR;
	v[0].as.buf.ptr = "hello";
	v[0].as.buf.len = 5;
	mbt_assert_ok(membridge_encoded_size(v, 1, &size));
	ck_assert_uint_eq(size, 9);
	v[0].as.buf.len = 0;
	mbt_assert_ok(membridge_encoded_size(v, 1, &size));
	ck_assert_uint_eq(size, 4);

	v[0].type = MEMBRIDGE_BYTES;
	v[0].as.buf.ptr = "abc";
	v[0].as.buf.len = 3;
	mbt_assert_ok(membridge_encoded_size(v, 1, &size));
	ck_assert_uint_eq(size, 3);
	v[0].as.buf.ptr = NULL;
	v[0].as.buf.len = 0;
	mbt_assert_ok(membridge_encoded_size(v, 1, &size));
	ck_assert_uint_eq(size, 0);

	/* A list sums its members. */
	v[0].type = MEMBRIDGE_STR;
	v[0].as.buf.ptr = "Hello";
	v[0].as.buf.len = 5;
	v[1].type = MEMBRIDGE_F64;
	v[1].as.f64 = 0.92;
	v[2].type = MEMBRIDGE_BOOL;
	v[2].as.b = true;
	mbt_assert_ok(membridge_encoded_size(v, 3, &size));
	ck_assert_uint_eq(size, 9 + 8 + 1);

	/* An empty list. */
	size = 99;
	mbt_assert_ok(membridge_encoded_size(v, 0, &size));
	ck_assert_uint_eq(size, 0);
	size = 99;
	mbt_assert_ok(membridge_encoded_size(NULL, 0, &size));
	ck_assert_uint_eq(size, 0);
}
END_TEST

START_TEST(encoded_size_errors)
{
	struct membridge_value v[2];
	size_t size = 777;

	memset(v, 0, sizeof(v));
	v[0].type = MEMBRIDGE_I64;
	mbt_assert_ret(membridge_encoded_size(NULL, 1, &size), -EINVAL);
	mbt_assert_ret(membridge_encoded_size(v, 1, NULL), -EINVAL);

	/* Invalid types, alone and after a valid member. */
	v[0].type = (enum membridge_type)0;
	mbt_assert_ret(membridge_encoded_size(v, 1, &size), -EINVAL);
	v[0].type = (enum membridge_type)(MEMBRIDGE_BYTES + 1);
	mbt_assert_ret(membridge_encoded_size(v, 1, &size), -EINVAL);
	v[0].type = MEMBRIDGE_U8;
	v[1].type = (enum membridge_type)99;
	mbt_assert_ret(membridge_encoded_size(v, 2, &size), -EINVAL);
	ck_assert_uint_eq(size, 777);
}
END_TEST

START_TEST(encoded_size_str_overflow)
{
#if SIZE_MAX > UINT32_MAX
	struct membridge_value v;
	unsigned char buf[16];
	size_t size = 777;

	/* A str that claims UINT32_MAX + 1 bytes: the pointer is NULL, so any
	 * attempt to read the string would crash. */
	memset(&v, 0, sizeof(v));
	v.type = MEMBRIDGE_STR;
	v.as.buf.ptr = NULL;
	v.as.buf.len = (size_t)UINT32_MAX + 1;
	mbt_assert_ret(membridge_encoded_size(&v, 1, &size), -EOVERFLOW);
	ck_assert_uint_eq(size, 777);
	mbt_assert_ret(membridge_encode(buf, sizeof(buf), &v, 1, &size), -EOVERFLOW);
	ck_assert_uint_eq(size, 777);
	v.as.buf.len = SIZE_MAX;
	mbt_assert_ret(membridge_encoded_size(&v, 1, &size), -EOVERFLOW);

	/* Exactly UINT32_MAX bytes is still representable... */
	v.as.buf.len = UINT32_MAX;
	mbt_assert_ok(membridge_encoded_size(&v, 1, &size));
	ck_assert_uint_eq(size, (size_t)UINT32_MAX + 4);
	/* ... but does not fit in 16 bytes, and nothing is read. */
	mbt_assert_ret(membridge_encode(buf, sizeof(buf), &v, 1, &size), -ENOBUFS);
#else
	fprintf(stderr, "encoded_size_str_overflow: size_t is 32 bits, nothing to test\n");
#endif
}
END_TEST

START_TEST(encoded_size_sum_overflow)
{
	struct membridge_value w[2];
	size_t total = 1;

	/* Raw byte runs whose sum wraps size_t (never dereferenced). */
	memset(w, 0, sizeof(w));
	w[0].type = MEMBRIDGE_BYTES;
	w[0].as.buf.len = SIZE_MAX / 2 + 1;
	w[1] = w[0];
	mbt_assert_ret(membridge_encoded_size(w, 2, &total), -EOVERFLOW);
	ck_assert_uint_eq(total, 1);
	mbt_assert_ret(membridge_encode(NULL, SIZE_MAX, w, 2, &total), -EOVERFLOW);
	ck_assert_uint_eq(total, 1);
}
END_TEST

/* --------------------------------------------------------------- layouts */

struct layout {
	const char *what;
	struct membridge_value value;
	unsigned char bytes[16]; /* little-endian spelling */
	size_t len;
	size_t flip;             /* leading bytes that form one multi-byte field */
};

static const char hi[] = "hi";
static const unsigned char raw3[] = { 0x00, 0xff, 0x7f };

static const struct layout layouts[] = {
	{ "bool true", { MEMBRIDGE_BOOL, { .b = true } }, { 0x01 }, 1, 1 },
	{ "bool false", { MEMBRIDGE_BOOL, { .b = false } }, { 0x00 }, 1, 1 },
	{ "u8 0xab", { MEMBRIDGE_U8, { .u8 = 0xab } }, { 0xab }, 1, 1 },
	{ "i32 -2", { MEMBRIDGE_I32, { .i32 = -2 } }, { 0xfe, 0xff, 0xff, 0xff }, 4, 4 },
	{ "i32 min", { MEMBRIDGE_I32, { .i32 = INT32_MIN } }, { 0, 0, 0, 0x80 }, 4, 4 },
	{ "u32", { MEMBRIDGE_U32, { .u32 = 0x01020304u } }, { 4, 3, 2, 1 }, 4, 4 },
	{ "f32 1.5", { MEMBRIDGE_F32, { .f32 = 1.5f } }, { 0, 0, 0xc0, 0x3f }, 4, 4 },
	{ "f32 -0.1", { MEMBRIDGE_F32, { .f32 = -0.1f } }, { 0xcd, 0xcc, 0xcc, 0xbd }, 4, 4 },
	{ "i64 42", { MEMBRIDGE_I64, { .i64 = 42 } }, { 0x2a, 0, 0, 0, 0, 0, 0, 0 }, 8, 8 },
	{ "i64 -1", { MEMBRIDGE_I64, { .i64 = -1 } },
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8, 8 },
	{ "i64 min", { MEMBRIDGE_I64, { .i64 = INT64_MIN } }, { 0, 0, 0, 0, 0, 0, 0, 0x80 }, 8, 8 },
	{ "u64", { MEMBRIDGE_U64, { .u64 = UINT64_C(0x0102030405060708) } },
	  { 8, 7, 6, 5, 4, 3, 2, 1 }, 8, 8 },
	{ "u64 max", { MEMBRIDGE_U64, { .u64 = UINT64_MAX } },
	  { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8, 8 },
	{ "f64 3.14", { MEMBRIDGE_F64, { .f64 = 3.14 } },
	  { 0x1f, 0x85, 0xeb, 0x51, 0xb8, 0x1e, 0x09, 0x40 }, 8, 8 },
	{ "f64 -2.5", { MEMBRIDGE_F64, { .f64 = -2.5 } }, { 0, 0, 0, 0, 0, 0, 0x04, 0xc0 }, 8, 8 },
	{ "str hi", { MEMBRIDGE_STR, { .buf = { hi, 2 } } }, { 2, 0, 0, 0, 'h', 'i' }, 6, 4 },
	{ "str empty", { MEMBRIDGE_STR, { .buf = { NULL, 0 } } }, { 0, 0, 0, 0 }, 4, 4 },
	{ "bytes", { MEMBRIDGE_BYTES, { .buf = { raw3, 3 } } }, { 0x00, 0xff, 0x7f }, 3, 0 },
	{ "bytes empty", { MEMBRIDGE_BYTES, { .buf = { NULL, 0 } } }, { 0 }, 0, 0 },
};

#define N_LAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

static void expected_bytes(const struct layout *l, unsigned char *out)
{
	memcpy(out, l->bytes, l->len);
	to_native(out, l->flip);
}

START_TEST(encode_layout)
{
	const struct layout *l = &layouts[_i];
	unsigned char want[16], buf[32];
	size_t size, written = 999;

	expected_bytes(l, want);
	mbt_assert_ok(membridge_encoded_size(&l->value, 1, &size));
	ck_assert_msg(size == l->len, "%s: encoded size %zu, expected %zu", l->what, size, l->len);

	/* Exactly the needed room, and a larger buffer: the rest stays untouched. */
	memset(buf, GUARD, sizeof(buf));
	mbt_assert_ok(membridge_encode(buf, l->len, &l->value, 1, &written));
	ck_assert_uint_eq(written, l->len);
	if (l->len)
		ck_assert_mem_eq(buf, want, l->len);
	ck_assert_uint_eq(buf[l->len], GUARD);
	memset(buf, GUARD, sizeof(buf));
	written = 999;
	mbt_assert_ok(membridge_encode(buf, sizeof(buf), &l->value, 1, &written));
	ck_assert_uint_eq(written, l->len);
	if (l->len)
		ck_assert_mem_eq(buf, want, l->len);
	ck_assert_uint_eq(buf[l->len], GUARD);

	/* One byte short: -ENOBUFS, nothing stored past the given length. */
	if (l->len) {
		memset(buf, GUARD, sizeof(buf));
		mbt_assert_ret(membridge_encode(buf, l->len - 1, &l->value, 1, &written),
			       -ENOBUFS);
		ck_assert_uint_eq(buf[l->len - 1], GUARD);
		mbt_assert_ret(membridge_encode(NULL, 0, &l->value, 1, &written), -ENOBUFS);
	}
}
END_TEST

START_TEST(decode_layout)
{
	const struct layout *l = &layouts[_i];
	struct membridge_value got;
	unsigned char in[32];
	size_t pos, at;

	if (l->value.type == MEMBRIDGE_BYTES)
		return; /* encode only */
	/* At the start of a buffer and at an odd offset after other bytes. */
	for (at = 0; at <= 3; at += 3) {
		memset(in, 0x5a, sizeof(in));
		expected_bytes(l, in + at);
		pos = at;
		memset(&got, 0, sizeof(got));
		mbt_assert_ok(membridge_decode(in, at + l->len, &pos, l->value.type, &got));
		ck_assert_uint_eq(pos, at + l->len);
		mbt_assert_value_eq(&got, &l->value, l->what);
		if (l->value.type == MEMBRIDGE_STR)
			ck_assert_ptr_eq(got.as.buf.ptr, in + at + 4);
	}
}
END_TEST

/* A list encodes back to back, and decodes in sequence, pos advancing. */
START_TEST(encode_decode_mixed)
{
	static const unsigned char two[] = { 0xca, 0xfe };
	const struct membridge_value list[] = {
		{ MEMBRIDGE_STR, { .buf = { "Hello", 5 } } },
		{ MEMBRIDGE_F64, { .f64 = 0.92 } },
		{ MEMBRIDGE_BOOL, { .b = true } },
		{ MEMBRIDGE_I32, { .i32 = -2 } },
		{ MEMBRIDGE_BYTES, { .buf = { two, 2 } } },
		{ MEMBRIDGE_U8, { .u8 = 7 } },
		{ MEMBRIDGE_I64, { .i64 = 42 } },
	};
	const size_t count = sizeof(list) / sizeof(list[0]);
	unsigned char want[64], buf[64];
	struct membridge_value got;
	size_t n = 0, size, written, pos;

	/* The expected image, field by field. */
	memcpy(want + n, "\x05\x00\x00\x00", 4);
	to_native(want + n, 4);
	memcpy(want + n + 4, "Hello", 5);
	n += 9;
	memcpy(want + n, "\x71\x3d\x0a\xd7\xa3\x70\xed\x3f", 8);
	to_native(want + n, 8);
	n += 8;
	want[n++] = 0x01;
	memcpy(want + n, "\xfe\xff\xff\xff", 4);
	to_native(want + n, 4);
	n += 4;
	want[n++] = 0xca;
	want[n++] = 0xfe;
	want[n++] = 0x07;
	memcpy(want + n, "\x2a\x00\x00\x00\x00\x00\x00\x00", 8);
	to_native(want + n, 8);
	n += 8;
	ck_assert_uint_eq(n, 33);

	mbt_assert_ok(membridge_encoded_size(list, count, &size));
	ck_assert_uint_eq(size, n);
	memset(buf, GUARD, sizeof(buf));
	mbt_assert_ok(membridge_encode(buf, sizeof(buf), list, count, &written));
	ck_assert_uint_eq(written, n);
	ck_assert_mem_eq(buf, want, n);
	ck_assert_uint_eq(buf[n], GUARD);

	/* One byte short of the whole list. */
	memset(buf, GUARD, sizeof(buf));
	written = 555;
	mbt_assert_ret(membridge_encode(buf, n - 1, list, count, &written), -ENOBUFS);
	ck_assert_uint_eq(buf[n - 1], GUARD);

	/* Decode it back in order. */
	pos = 0;
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_STR, &got));
	ck_assert_uint_eq(pos, 9);
	mbt_assert_value_eq(&got, &list[0], "str");
	ck_assert_ptr_eq(got.as.buf.ptr, want + 4);
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_F64, &got));
	ck_assert_uint_eq(pos, 17);
	mbt_assert_value_eq(&got, &list[1], "f64");
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_BOOL, &got));
	ck_assert_uint_eq(pos, 18);
	mbt_assert_value_eq(&got, &list[2], "bool");
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_I32, &got));
	ck_assert_uint_eq(pos, 22);
	mbt_assert_value_eq(&got, &list[3], "i32");
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_U8, &got));
	ck_assert_uint_eq(got.as.u8, 0xca);
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_U8, &got));
	ck_assert_uint_eq(got.as.u8, 0xfe);
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_U8, &got));
	mbt_assert_value_eq(&got, &list[5], "u8");
	mbt_assert_ok(membridge_decode(want, n, &pos, MEMBRIDGE_I64, &got));
	mbt_assert_value_eq(&got, &list[6], "i64");
	ck_assert_uint_eq(pos, n);
	/* Nothing left. */
	mbt_assert_ret(membridge_decode(want, n, &pos, MEMBRIDGE_U8, &got), -ENODATA);
	ck_assert_uint_eq(pos, n);
}
END_TEST

START_TEST(encode_errors)
{
	struct membridge_value v[2];
	unsigned char buf[16];
	size_t written = 4242;

	memset(v, 0, sizeof(v));
	v[0].type = (enum membridge_type)0;
	memset(buf, GUARD, sizeof(buf));
	mbt_assert_ret(membridge_encode(buf, sizeof(buf), v, 1, &written), -EINVAL);
	/* An invalid type after a valid one: still an error, nothing encoded. */
	v[0].type = MEMBRIDGE_U8;
	v[0].as.u8 = 1;
	v[1].type = (enum membridge_type)(MEMBRIDGE_BYTES + 1);
	mbt_assert_ret(membridge_encode(buf, sizeof(buf), v, 2, &written), -EINVAL);
	ck_assert_uint_eq(written, 4242);
	ck_assert_uint_eq(buf[0], GUARD);
	mbt_assert_ret(membridge_encode(buf, sizeof(buf), NULL, 1, &written), -EINVAL);

	/* An empty list writes nothing, even into no buffer. */
	mbt_assert_ok(membridge_encode(NULL, 0, v, 0, &written));
	ck_assert_uint_eq(written, 0);
	mbt_assert_ok(membridge_encode(buf, sizeof(buf), NULL, 0, &written));
	ck_assert_uint_eq(written, 0);
	ck_assert_uint_eq(buf[0], GUARD);
}
END_TEST

/* ---------------------------------------------------------------- decode */

START_TEST(decode_short)
{
	static const enum membridge_type fixed[] = {
		MEMBRIDGE_BOOL, MEMBRIDGE_U8, MEMBRIDGE_I32, MEMBRIDGE_U32, MEMBRIDGE_F32,
		MEMBRIDGE_I64, MEMBRIDGE_U64, MEMBRIDGE_F64, MEMBRIDGE_STR,
	};
	static const size_t need[] = { 1, 1, 4, 4, 4, 8, 8, 8, 4 };
	unsigned char buf[16] = { 0 };
	struct membridge_value v;
	size_t i, pos;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		/* One byte short, from the start and from a later position. */
		pos = 0;
		ck_assert_msg(membridge_decode(buf, need[i] - 1, &pos, fixed[i], &v) == -ENODATA,
			      "%s decoded from %zu bytes", membridge_type_name(fixed[i]),
			      need[i] - 1);
		ck_assert_uint_eq(pos, 0);
		pos = 5;
		mbt_assert_ret(membridge_decode(buf, 5 + need[i] - 1, &pos, fixed[i], &v),
			       -ENODATA);
		ck_assert_uint_eq(pos, 5);
		/* Exactly enough works. */
		pos = 5;
		mbt_assert_ok(membridge_decode(buf, 5 + need[i], &pos, fixed[i], &v));
		ck_assert_uint_eq(pos, 5 + need[i]);
		/* A position past the end. */
		pos = 17;
		mbt_assert_ret(membridge_decode(buf, 16, &pos, fixed[i], &v), -ENODATA);
		ck_assert_uint_eq(pos, 17);
		pos = SIZE_MAX;
		mbt_assert_ret(membridge_decode(buf, 16, &pos, fixed[i], &v), -ENODATA);
		ck_assert_uint_eq(pos, SIZE_MAX);
	}
	pos = 0;
	mbt_assert_ret(membridge_decode(NULL, 0, &pos, MEMBRIDGE_U8, &v), -ENODATA);
}
END_TEST

START_TEST(decode_str_prefix_past_end)
{
	unsigned char buf[16];
	struct membridge_value v;
	uint32_t n;
	size_t pos;

	memset(buf, 'a', sizeof(buf));
	/* Claims 5 bytes, 4 follow. */
	n = 5;
	memcpy(buf, &n, 4);
	pos = 0;
	mbt_assert_ret(membridge_decode(buf, 8, &pos, MEMBRIDGE_STR, &v), -ENODATA);
	ck_assert_uint_eq(pos, 0);
	pos = 0;
	mbt_assert_ok(membridge_decode(buf, 9, &pos, MEMBRIDGE_STR, &v));
	ck_assert_uint_eq(pos, 9);
	ck_assert_uint_eq(v.as.buf.len, 5);
	/* Lengths that would wrap a naive end computation. */
	n = UINT32_MAX;
	memcpy(buf, &n, 4);
	pos = 0;
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos, MEMBRIDGE_STR, &v), -ENODATA);
	n = UINT32_MAX - 2;
	memcpy(buf + 4, &n, 4);
	pos = 4;
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos, MEMBRIDGE_STR, &v), -ENODATA);
	ck_assert_uint_eq(pos, 4);
}
END_TEST

/* A str payload: what it is, its bytes and their number. */
struct utf8_case {
	const char *what;
	const char *bytes;
	size_t len;
};

static const struct utf8_case bad_utf8[] = {
	{ "overlong slash c0 af", "\xc0\xaf", 2 },
	{ "overlong c1 bf", "\xc1\xbf", 2 },
	{ "overlong 3-byte e0 80 80", "\xe0\x80\x80", 3 },
	{ "overlong 3-byte e0 9f bf", "\xe0\x9f\xbf", 3 },
	{ "overlong 4-byte f0 8f bf bf", "\xf0\x8f\xbf\xbf", 4 },
	{ "surrogate ed a0 80", "\xed\xa0\x80", 3 },
	{ "surrogate ed bf bf", "\xed\xbf\xbf", 3 },
	{ "above U+10FFFF f4 90 80 80", "\xf4\x90\x80\x80", 4 },
	{ "f5 lead", "\xf5\x80\x80\x80", 4 },
	{ "5-byte form", "\xf8\x88\x80\x80\x80", 5 },
	{ "ff", "\xff", 1 },
	{ "truncated 2-byte", "\xc3", 1 },
	{ "truncated euro", "\xe2\x82", 2 },
	{ "truncated emoji", "\xf0\x9f\x98", 3 },
	{ "truncated in the middle", "a\xe2\x82z", 4 },
	{ "lone continuation", "\x80", 1 },
	{ "continuation after ascii", "ab\xbf", 3 },
	{ "two continuations after 2-byte", "\xc3\xa9\xa9", 3 },
};

#define N_BAD_UTF8 (sizeof(bad_utf8) / sizeof(bad_utf8[0]))

START_TEST(decode_invalid_utf8)
{
	unsigned char buf[32];
	struct membridge_value v;
	uint32_t n = (uint32_t)bad_utf8[_i].len;
	size_t pos = 0;

	memcpy(buf, &n, 4);
	memcpy(buf + 4, bad_utf8[_i].bytes, n);
	/* Valid bytes after the string must not make it valid. */
	memcpy(buf + 4 + n, "\xa9\xa9\xa9", 3);
	ck_assert_msg(membridge_decode(buf, 4 + n + 3, &pos, MEMBRIDGE_STR, &v) == -EILSEQ,
		      "%s was not rejected", bad_utf8[_i].what);
	ck_assert_uint_eq(pos, 0);
}
END_TEST

static const struct utf8_case good_utf8[] = {
	{ "e acute", "\xc3\xa9", 2 },
	{ "euro", "\xe2\x82\xac", 3 },
	{ "grinning face", "\xf0\x9f\x98\x80", 4 },
	{ "mixed", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80!", 14 },
	{ "U+0080", "\xc2\x80", 2 },
	{ "U+07FF", "\xdf\xbf", 2 },
	{ "U+0800", "\xe0\xa0\x80", 3 },
	{ "U+D7FF", "\xed\x9f\xbf", 3 },
	{ "U+E000", "\xee\x80\x80", 3 },
	{ "U+FFFF", "\xef\xbf\xbf", 3 },
	{ "U+10000", "\xf0\x90\x80\x80", 4 },
	{ "U+10FFFF", "\xf4\x8f\xbf\xbf", 4 },
	{ "embedded NUL", "a\0b", 3 },
	{ "ascii", "Hello", 5 },
};

#define N_GOOD_UTF8 (sizeof(good_utf8) / sizeof(good_utf8[0]))

START_TEST(decode_valid_utf8)
{
	unsigned char buf[32];
	struct membridge_value v;
	uint32_t n = (uint32_t)good_utf8[_i].len;
	size_t pos = 1;

	buf[0] = 0x42;
	memcpy(buf + 1, &n, 4);
	memcpy(buf + 5, good_utf8[_i].bytes, n);
	mbt_assert_ok(membridge_decode(buf, 5 + n, &pos, MEMBRIDGE_STR, &v));
	ck_assert_int_eq(v.type, MEMBRIDGE_STR);
	ck_assert_uint_eq(pos, 5 + n);
	ck_assert_uint_eq(v.as.buf.len, n);
	/* Points into the input, no copy. */
	ck_assert_ptr_eq(v.as.buf.ptr, buf + 5);
	ck_assert_mem_eq(v.as.buf.ptr, good_utf8[_i].bytes, n);
}
END_TEST

START_TEST(decode_bad_type)
{
	unsigned char buf[16] = { 0 };
	struct membridge_value v;
	size_t pos = 0;

	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos, MEMBRIDGE_BYTES, &v), -EINVAL);
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos, (enum membridge_type)0, &v),
		       -EINVAL);
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos,
					(enum membridge_type)(MEMBRIDGE_BYTES + 1), &v), -EINVAL);
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos, (enum membridge_type)-3, &v),
		       -EINVAL);
	ck_assert_uint_eq(pos, 0);
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), NULL, MEMBRIDGE_U8, &v), -EINVAL);
	mbt_assert_ret(membridge_decode(buf, sizeof(buf), &pos, MEMBRIDGE_U8, NULL), -EINVAL);
	mbt_assert_ret(membridge_decode(NULL, 8, &pos, MEMBRIDGE_U8, &v), -EINVAL);
	ck_assert_uint_eq(pos, 0);
}
END_TEST

START_TEST(decode_bool_nonzero)
{
	struct membridge_value v;
	unsigned char byte;
	unsigned i;
	size_t pos;

	for (i = 0; i < 256; i++) {
		byte = (unsigned char)i;
		pos = 0;
		memset(&v, 0, sizeof(v));
		v.as.b = i == 0; /* the opposite of what must come out */
		mbt_assert_ok(membridge_decode(&byte, 1, &pos, MEMBRIDGE_BOOL, &v));
		ck_assert_int_eq(v.type, MEMBRIDGE_BOOL);
		ck_assert_uint_eq(pos, 1);
		ck_assert_msg(v.as.b == (i != 0), "byte %#x decoded as %d", i, v.as.b);
	}
}
END_TEST

/* The result of decoding a u8 is the byte, whatever its value; signed types
 * keep their sign. */
START_TEST(decode_integers_sign)
{
	unsigned char buf[8];
	struct membridge_value v;
	size_t pos;

	memset(buf, 0xff, sizeof(buf));
	pos = 0;
	mbt_assert_ok(membridge_decode(buf, 8, &pos, MEMBRIDGE_U8, &v));
	ck_assert_uint_eq(v.as.u8, 255);
	pos = 0;
	mbt_assert_ok(membridge_decode(buf, 8, &pos, MEMBRIDGE_I32, &v));
	ck_assert_int_eq(v.as.i32, -1);
	pos = 0;
	mbt_assert_ok(membridge_decode(buf, 8, &pos, MEMBRIDGE_U32, &v));
	ck_assert_uint_eq(v.as.u32, UINT32_MAX);
	pos = 0;
	mbt_assert_ok(membridge_decode(buf, 8, &pos, MEMBRIDGE_I64, &v));
	ck_assert_int_eq(v.as.i64, -1);
	pos = 0;
	mbt_assert_ok(membridge_decode(buf, 8, &pos, MEMBRIDGE_U64, &v));
	ck_assert_uint_eq(v.as.u64, UINT64_MAX);
}
END_TEST

static Suite *codec_suite(void)
{
	Suite *s = suite_create("codec");
	TCase *tc;

	tc = tcase_create("tags");
	tcase_add_loop_test(tc, type_from_name_known, 0, (int)N_KNOWN_TAGS);
	tcase_add_test(tc, type_from_name_unknown);
	tcase_add_test(tc, type_name_round_trip);
	suite_add_tcase(s, tc);

	tc = tcase_create("encoded_size");
	tcase_add_test(tc, encoded_size_each_type);
	tcase_add_test(tc, encoded_size_errors);
	tcase_add_test(tc, encoded_size_str_overflow);
	tcase_add_test(tc, encoded_size_sum_overflow);
	suite_add_tcase(s, tc);

	tc = tcase_create("encode");
	tcase_add_loop_test(tc, encode_layout, 0, (int)N_LAYOUTS);
	tcase_add_test(tc, encode_decode_mixed);
	tcase_add_test(tc, encode_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_loop_test(tc, decode_layout, 0, (int)N_LAYOUTS);
	tcase_add_test(tc, decode_short);
	tcase_add_test(tc, decode_str_prefix_past_end);
	tcase_add_loop_test(tc, decode_invalid_utf8, 0, (int)N_BAD_UTF8);
	tcase_add_loop_test(tc, decode_valid_utf8, 0, (int)N_GOOD_UTF8);
	tcase_add_test(tc, decode_bad_type);
	tcase_add_test(tc, decode_bool_nonzero);
	tcase_add_test(tc, decode_integers_sign);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(codec_suite());
}
