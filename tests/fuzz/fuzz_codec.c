/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the public value codec, decoding arbitrary bytes and round-tripping values. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

/*
 * Input: ctl[0] bit 0 picks the mode.
 * Decode mode: ctl[1..2] a position, ctl[3] low 4 bits how many types of
 *   ctl[4..11] to decode one after the other (low 4 bits each, invalid type
 *   codes included), then the bytes to decode; also the tag parser on the
 *   first bytes as a string.
 * Round-trip mode: the rest of the input is a list of values: a type byte
 *   (modulo 10, + 1), then the value's bytes (str and bytes: a length byte
 *   first). They are encoded, the bytes compared with the encoding of
 *   membridge(7), and decoded back.
 * Results are checked against the codec model of fuzz-common.c.
 */
#define DECODE_CTL 12
#define MAX_VALUES 64

static const char *const tag_names[] = {
	[MEMBRIDGE_BOOL] = "bool", [MEMBRIDGE_U8] = "u8",   [MEMBRIDGE_I32] = "i32",
	[MEMBRIDGE_U32] = "u32",   [MEMBRIDGE_F32] = "f32", [MEMBRIDGE_I64] = "i64",
	[MEMBRIDGE_U64] = "u64",   [MEMBRIDGE_F64] = "f64", [MEMBRIDGE_STR] = "str",
	[MEMBRIDGE_BYTES] = "bytes",
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

/* One decode, checked against the model; returns its result. */
static int checked_decode(const uint8_t *buf, size_t len, size_t *pos, int type)
{
	struct membridge_value got, want;
	size_t at = *pos, end = 0;
	int exp = fz_model_decode(buf, len, at, type, &want, &end);
	int ret = membridge_decode(buf, len, pos, (enum membridge_type)type, &got);

	FZ_CHECK(ret == exp, "decode of type %d at %zu of %zu bytes returned %d (%s), "
		 "expected %d (%s)", type, at, len, ret, membridge_strerror(ret), exp,
		 membridge_strerror(exp));
	if (ret == 0) {
		fz_check_value(&got, &want, "decoded value");
		if (type == MEMBRIDGE_STR)
			FZ_CHECK(got.as.buf.ptr == buf + at + 4 || !got.as.buf.len,
				 "a str must point into the buffer");
		FZ_CHECK(*pos == end, "position %zu, expected %zu", *pos, end);
	} else {
		FZ_CHECK(*pos == at, "a failed decode moved the position");
	}
	return ret;
}

/* The documented tags: "int" and "float" are the other names of i64, f64. */
static int model_tag(const char *tag)
{
	int t;

	if (!strcmp(tag, "int"))
		return MEMBRIDGE_I64;
	if (!strcmp(tag, "float"))
		return MEMBRIDGE_F64;
	for (t = MEMBRIDGE_BOOL; t <= MEMBRIDGE_STR; t++)
		if (!strcmp(tag, tag_names[t]))
			return t;
	return -1;
}

static void check_tags(const uint8_t *data, size_t size)
{
	char tag[16];
	size_t n = size < sizeof(tag) - 1 ? size : sizeof(tag) - 1;
	enum membridge_type type = 0;
	int t, want;

	memcpy(tag, data, n);
	tag[n] = '\0';
	want = model_tag(tag);
	FZ_CHECK_RET(membridge_type_from_name(tag, &type), want < 0 ? -EINVAL : 0);
	FZ_CHECK(want < 0 || (int)type == want, "tag \"%s\" gave type %d", tag, (int)type);
	for (t = -1; t < 16; t++) {
		const char *name = membridge_type_name((enum membridge_type)t);
		bool known = t >= MEMBRIDGE_BOOL && t <= MEMBRIDGE_BYTES;

		FZ_CHECK(known ? name && !strcmp(name, tag_names[t]) : !name,
			 "type %d is named \"%s\"", t, name ? name : "(null)");
	}
}

static void decode_mode(const uint8_t *data, size_t size)
{
	const uint8_t *buf = data + DECODE_CTL;
	size_t len = size - DECODE_CTL, pos, i, n = data[3] & 15;
	const size_t far[] = { len, len + 1, SIZE_MAX - 3, SIZE_MAX };
	int type, ret;

	for (type = 0; type < 16; type++) {
		pos = ((size_t)data[1] | (size_t)data[2] << 8) % (len + 1);
		checked_decode(buf, len, &pos, type);
		for (i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
			pos = far[i];
			checked_decode(buf, len, &pos, type);
		}
	}
	/* A schema from position 0 on, as pop_mixed() decodes a payload. */
	pos = 0;
	for (i = 0, ret = 0; i < n && ret == 0; i++)
		ret = checked_decode(buf, len, &pos, data[4 + i % 8] & 15);
	check_tags(buf, len);
}

/* The encoding of membridge(7), written out byte by byte. */
static size_t model_encode(const struct membridge_value *v, uint8_t *out)
{
	uint32_t slen;
	size_t n;

	switch (v->type) {
	case MEMBRIDGE_BOOL:
		out[0] = v->as.b ? 1 : 0;
		return 1;
	case MEMBRIDGE_STR:
		slen = (uint32_t)v->as.buf.len;
		memcpy(out, &slen, 4);
		if (slen)
			memcpy(out + 4, v->as.buf.ptr, slen);
		return 4 + (size_t)slen;
	case MEMBRIDGE_BYTES:
		if (v->as.buf.len)
			memcpy(out, v->as.buf.ptr, v->as.buf.len);
		return v->as.buf.len;
	default:
		n = fz_model_fixed_size(v->type);
		memcpy(out, &v->as, n);
		return n;
	}
}

/* Values from the input; returns how many (the model's encoding in *expect). */
static size_t parse_values(const uint8_t *p, size_t n, struct membridge_value *vals,
			   uint8_t *expect, size_t *total)
{
	size_t count = 0, need;

	*total = 0;
	while (n && count < MAX_VALUES) {
		struct membridge_value *v = &vals[count];
		int type = p[0] % 10 + 1;

		p++;
		n--;
		memset(v, 0, sizeof(*v));
		v->type = (enum membridge_type)type;
		if (type == MEMBRIDGE_STR || type == MEMBRIDGE_BYTES) {
			if (!n)
				break;
			need = p[0];
			p++;
			n--;
			if (need > n)
				break;
			v->as.buf.ptr = need ? p : NULL;
			v->as.buf.len = need;
		} else {
			need = fz_model_fixed_size(type);
			if (need > n)
				break;
			if (type == MEMBRIDGE_BOOL)
				v->as.b = p[0] & 1;
			else
				memcpy(&v->as, p, need);
		}
		p += need;
		n -= need;
		*total += model_encode(v, expect + *total);
		count++;
	}
	return count;
}

static void roundtrip_mode(const uint8_t *data, size_t size)
{
	struct membridge_value vals[MAX_VALUES], huge[2];
	uint8_t *expect = malloc(size * 4 + 4), *buf;
	size_t count, total, got = SIZE_MAX, written = SIZE_MAX, pos = 0, i, at;
	int ret;

	FZ_CHECK(expect, "out of memory");
	count = parse_values(data + 1, size - 1, vals, expect, &total);
	FZ_CHECK_RET(membridge_encoded_size(vals, count, &got), 0);
	FZ_CHECK(got == total, "encoded size %zu, expected %zu", got, total);
	buf = malloc(total ? total : 1);
	FZ_CHECK(buf, "out of memory");
	if (total)
		FZ_CHECK_RET(membridge_encode(buf, total - 1, vals, count, &written), -ENOBUFS);
	FZ_CHECK_RET(membridge_encode(buf, total, vals, count, &written), 0);
	FZ_CHECK(written == total, "encode wrote %zu, expected %zu", written, total);
	FZ_CHECK(!total || !memcmp(buf, expect, total), "encoded bytes differ from the format");

	for (i = 0; i < count; i++) {
		const struct membridge_value *v = &vals[i];
		struct membridge_value back;

		if (v->type == MEMBRIDGE_BYTES) {
			/* Raw bytes have no length: they cannot be decoded. */
			at = pos;
			FZ_CHECK_RET(membridge_decode(buf, total, &at, MEMBRIDGE_BYTES, &back),
				     -EINVAL);
			pos += v->as.buf.len;
			continue;
		}
		at = pos;
		ret = checked_decode(buf, total, &pos, v->type);
		if (v->type == MEMBRIDGE_STR &&
		    !fz_utf8_valid(v->as.buf.ptr, v->as.buf.len)) {
			FZ_CHECK(ret == -EILSEQ, "invalid UTF-8 decoded with %d", ret);
			pos += 4 + v->as.buf.len;
			continue;
		}
		FZ_CHECK(ret == 0, "value %zu of type %d did not decode: %d", i, (int)v->type, ret);
		FZ_CHECK_RET(membridge_decode(buf, total, &at, v->type, &back), 0);
		fz_check_value(&back, v, "round-tripped value");
	}
	FZ_CHECK(pos == total, "decoding took %zu of %zu bytes", pos, total);

	/* Sizes that cannot be represented: no memory is touched. */
	memset(huge, 0, sizeof(huge));
#if SIZE_MAX > UINT32_MAX
	huge[0].type = MEMBRIDGE_STR;
	huge[0].as.buf.ptr = data;
	huge[0].as.buf.len = (size_t)UINT32_MAX + 1;
	FZ_CHECK_RET(membridge_encoded_size(huge, 1, &got), -EOVERFLOW);
#endif
	huge[0].type = huge[1].type = MEMBRIDGE_BYTES;
	huge[0].as.buf.len = huge[1].as.buf.len = SIZE_MAX / 2 + 1;
	huge[1].as.buf.ptr = data;
	FZ_CHECK_RET(membridge_encoded_size(huge, 2, &got), -EOVERFLOW);
	free(buf);
	free(expect);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		roundtrip_mode(data, size);
	else if (size >= DECODE_CTL)
		decode_mode(data, size);
	return 0;
}
