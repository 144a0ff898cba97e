/* SPDX-License-Identifier: MIT */
/* Value encodings of membridge(7): native byte order, no padding. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

static const struct {
	const char *tag;
	enum membridge_type type;
} tags[] = {
	{ "bool", MEMBRIDGE_BOOL }, { "u8", MEMBRIDGE_U8 },   { "i32", MEMBRIDGE_I32 },
	{ "u32", MEMBRIDGE_U32 },   { "f32", MEMBRIDGE_F32 }, { "i64", MEMBRIDGE_I64 },
	{ "int", MEMBRIDGE_I64 },   { "u64", MEMBRIDGE_U64 }, { "f64", MEMBRIDGE_F64 },
	{ "float", MEMBRIDGE_F64 }, { "str", MEMBRIDGE_STR },
};

int membridge_type_from_name(const char *tag, enum membridge_type *type)
{
	size_t i;

	if (!tag || !type)
		return -EINVAL;
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++) {
		if (!strcmp(tag, tags[i].tag)) {
			*type = tags[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

const char *membridge_type_name(enum membridge_type type)
{
	size_t i;

	if (type == MEMBRIDGE_BYTES)
		return "bytes";
	for (i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (tags[i].type == type)
			return tags[i].tag;
	return NULL;
}

/* Fixed size of a scalar type; for STR the size of its length prefix;
 * 0 for BYTES and invalid types. */
size_t mb_scalar_size(enum membridge_type type)
{
	switch (type) {
	case MEMBRIDGE_BOOL:
	case MEMBRIDGE_U8:
		return 1;
	case MEMBRIDGE_I32:
	case MEMBRIDGE_U32:
	case MEMBRIDGE_F32:
	case MEMBRIDGE_STR:
		return 4;
	case MEMBRIDGE_I64:
	case MEMBRIDGE_U64:
	case MEMBRIDGE_F64:
		return 8;
	case MEMBRIDGE_BYTES:
	default:
		return 0;
	}
}

static int value_size(const struct membridge_value *v, size_t *size)
{
	switch (v->type) {
	case MEMBRIDGE_STR:
		if (v->as.buf.len > UINT32_MAX)
			return -EOVERFLOW;
		*size = 4 + v->as.buf.len;
		return 0;
	case MEMBRIDGE_BYTES:
		*size = v->as.buf.len;
		return 0;
	default:
		*size = mb_scalar_size(v->type);
		return *size ? 0 : -EINVAL;
	}
}

int membridge_encoded_size(const struct membridge_value *values, size_t count, size_t *size)
{
	size_t total = 0, one, i;
	int ret;

	if ((!values && count) || !size)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		ret = value_size(&values[i], &one);
		if (ret < 0)
			return ret;
		if (one > SIZE_MAX - total)
			return -EOVERFLOW;
		total += one;
	}
	*size = total;
	return 0;
}

/* Store one value whose size was checked; returns the bytes written. */
static size_t put(unsigned char *p, const struct membridge_value *v)
{
	uint8_t byte;
	uint32_t len;

	switch (v->type) {
	case MEMBRIDGE_BOOL:
		byte = v->as.b ? 1 : 0;
		memcpy(p, &byte, 1);
		return 1;
	case MEMBRIDGE_U8:
		memcpy(p, &v->as.u8, 1);
		return 1;
	case MEMBRIDGE_I32:
	case MEMBRIDGE_U32:
	case MEMBRIDGE_F32:
		memcpy(p, &v->as, 4);
		return 4;
	case MEMBRIDGE_I64:
	case MEMBRIDGE_U64:
	case MEMBRIDGE_F64:
		memcpy(p, &v->as, 8);
		return 8;
	case MEMBRIDGE_STR:
		len = (uint32_t)v->as.buf.len;
		memcpy(p, &len, 4);
		if (len)
			memcpy(p + 4, v->as.buf.ptr, len);
		return 4 + (size_t)len;
	case MEMBRIDGE_BYTES:
	default:
		if (v->as.buf.len)
			memcpy(p, v->as.buf.ptr, v->as.buf.len);
		return v->as.buf.len;
	}
}

int membridge_encode(void *buf, size_t len, const struct membridge_value *values, size_t count,
		     size_t *written)
{
	unsigned char *p = buf;
	size_t need, i;
	int ret = membridge_encoded_size(values, count, &need);

	if (ret < 0)
		return ret;
	if (need > len)
		return -ENOBUFS;
	if (need && !buf)
		return -EINVAL;
	for (i = 0; i < count; i++)
		p += put(p, &values[i]);
	if (written)
		*written = need;
	return 0;
}

/* Strict UTF-8 (RFC 3629): no overlongs, no surrogates, nothing past U+10FFFF. */
static bool utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		i += n + 1;
	}
	return true;
}

int membridge_decode(const void *buf, size_t len, size_t *pos, enum membridge_type type,
		     struct membridge_value *value)
{
	const unsigned char *p;
	size_t size = mb_scalar_size(type);
	uint32_t slen;

	if (!pos || !value || size == 0 || (!buf && len))
		return -EINVAL;
	if (*pos > len || len - *pos < size)
		return -ENODATA;
	p = (const unsigned char *)buf + *pos;
	value->type = type;
	switch (type) {
	case MEMBRIDGE_BOOL:
		value->as.b = p[0] != 0;
		break;
	case MEMBRIDGE_STR:
		memcpy(&slen, p, 4);
		if (len - *pos - 4 < slen)
			return -ENODATA;
		if (!utf8_valid(p + 4, slen))
			return -EILSEQ;
		value->as.buf.ptr = p + 4;
		value->as.buf.len = slen;
		size += slen;
		break;
	default:
		memcpy(&value->as, p, size);
		break;
	}
	*pos += size;
	return 0;
}
