/* SPDX-License-Identifier: MIT */
/* The helpers of fuzz-common.h: checks, the segment pool, the codec model. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz-common.h"

#define POOL_MAX 32
#define NAME_SIZE 64

static struct pool_entry {
	struct fz_segment seg;
	char name[NAME_SIZE];
} pool[POOL_MAX];
static size_t pool_len;
static char prefix[NAME_SIZE];

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: check failed: %s\n  ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

const char *fz_name_prefix(void)
{
	if (!prefix[0])
		snprintf(prefix, sizeof(prefix), "/mbfuzz.%ld.", (long)getpid());
	return prefix;
}

static void pool_remove_all(void)
{
	size_t i;

	for (i = 0; i < pool_len; i++) {
		membridge_segment_close(pool[i].seg.opener);
		membridge_segment_close(pool[i].seg.creator);
		membridge_segment_remove(pool[i].name);
	}
	pool_len = 0;
}

struct fz_segment *fz_segment_new(size_t size)
{
	struct pool_entry *e;

	FZ_CHECK(pool_len < POOL_MAX, "segment pool full");
	if (pool_len == 0)
		atexit(pool_remove_all);
	e = &pool[pool_len];
	snprintf(e->name, sizeof(e->name), "%s%zu", fz_name_prefix(), pool_len);
	FZ_CHECK_RET(membridge_segment_create(e->name, size, 0, MEMBRIDGE_CREATE_EXCLUSIVE,
					      &e->seg.creator), 0);
	pool_len++;
	FZ_CHECK_RET(membridge_segment_open(e->name, size, &e->seg.opener), 0);
	e->seg.size = size;
	return &e->seg;
}

void fz_segment_fill(const struct fz_segment *s, const uint8_t *src, size_t n)
{
	uint8_t *mem = membridge_segment_data(s->creator);

	if (n > s->size)
		n = s->size;
	if (n)
		memcpy(mem, src, n);
	memset(mem + n, 0, s->size - n);
}

uint32_t fz_load32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

uint64_t fz_load64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Decode one code point at s[0..len) into *cp; the sequence length, or 0 if
 * it is not a well-formed UTF-8 sequence. */
static size_t utf8_sequence(const uint8_t *s, size_t len, uint32_t *cp)
{
	static const uint32_t min_for_len[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n, k;
	uint32_t v;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	/* The number of leading one bits is the sequence length. */
	for (n = 0; n < 8 && (s[0] & (0x80u >> n)); n++)
		;
	if (n < 2 || n > 4 || n > len)
		return 0;
	v = s[0] & (0xffu >> (n + 1));
	for (k = 1; k < n; k++) {
		if (s[k] >> 6 != 2)
			return 0;
		v = v << 6 | (s[k] & 0x3fu);
	}
	if (v < min_for_len[n] || v > 0x10ffff || (v >> 11) == 0x1b)
		return 0; /* overlong, beyond Unicode, or a surrogate */
	*cp = v;
	return n;
}

bool fz_utf8_valid(const uint8_t *s, size_t len)
{
	uint32_t cp;
	size_t n;

	while (len) {
		n = utf8_sequence(s, len, &cp);
		if (!n)
			return false;
		s += n;
		len -= n;
	}
	return true;
}

size_t fz_model_fixed_size(int type)
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
	default:
		return 0; /* MEMBRIDGE_BYTES cannot be decoded; others are invalid */
	}
}

int fz_model_decode(const uint8_t *buf, size_t len, size_t pos, int type,
		    struct membridge_value *v, size_t *end)
{
	size_t fixed = fz_model_fixed_size(type);
	const uint8_t *p;
	uint32_t slen;

	if (!fixed)
		return -EINVAL;
	if (pos > len || len - pos < fixed)
		return -ENODATA;
	p = buf + pos;
	memset(v, 0, sizeof(*v));
	v->type = (enum membridge_type)type;
	switch (type) {
	case MEMBRIDGE_BOOL:
		v->as.b = p[0] != 0;
		break;
	case MEMBRIDGE_U8:
		v->as.u8 = p[0];
		break;
	case MEMBRIDGE_I32:
		v->as.i32 = (int32_t)fz_load32(p);
		break;
	case MEMBRIDGE_U32:
		v->as.u32 = fz_load32(p);
		break;
	case MEMBRIDGE_F32:
		memcpy(&v->as.f32, p, 4);
		break;
	case MEMBRIDGE_I64:
		v->as.i64 = (int64_t)fz_load64(p);
		break;
	case MEMBRIDGE_U64:
		v->as.u64 = fz_load64(p);
		break;
	case MEMBRIDGE_F64:
		memcpy(&v->as.f64, p, 8);
		break;
	default: /* MEMBRIDGE_STR */
		slen = fz_load32(p);
		if (slen > len - pos - 4)
			return -ENODATA;
		if (!fz_utf8_valid(p + 4, slen))
			return -EILSEQ;
		v->as.buf.ptr = p + 4;
		v->as.buf.len = slen;
		fixed += slen;
		break;
	}
	*end = pos + fixed;
	return 0;
}

void fz_check_value(const struct membridge_value *got, const struct membridge_value *want,
		    const char *what)
{
	size_t n = fz_model_fixed_size(want->type);

	FZ_CHECK(got->type == want->type, "%s: type %d, expected %d", what, (int)got->type,
		 (int)want->type);
	switch (want->type) {
	case MEMBRIDGE_BOOL:
		FZ_CHECK(got->as.b == want->as.b, "%s: bool %d, expected %d", what, got->as.b,
			 want->as.b);
		break;
	case MEMBRIDGE_STR:
	case MEMBRIDGE_BYTES:
		FZ_CHECK(got->as.buf.len == want->as.buf.len, "%s: %zu bytes, expected %zu",
			 what, got->as.buf.len, want->as.buf.len);
		FZ_CHECK(!want->as.buf.len ||
			 !memcmp(got->as.buf.ptr, want->as.buf.ptr, want->as.buf.len),
			 "%s: bytes differ", what);
		break;
	default:
		/* Integers and floats: the stored bytes, bit for bit. */
		FZ_CHECK(!memcmp(&got->as, &want->as, n), "%s: value differs", what);
		break;
	}
}
