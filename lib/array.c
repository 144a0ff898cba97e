/* SPDX-License-Identifier: MIT */
/* Array messages of membridge(7): a header describing an n-dimensional
 * array as numpy does (type string, shape), then its data. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

/*
 * Header, little-endian:
 *   0  "MBAR"
 *   4  uint16 version
 *   6  uint16 ndim
 *   8  uint64 data offset: the header's end rounded up to
 *      MEMBRIDGE_PAYLOAD_ALIGN
 *  16  dtype, MEMBRIDGE_ARRAY_DTYPE_SIZE bytes, NUL-padded
 *  48  uint64 shape[ndim]
 * then zero bytes up to the data offset (a reader checks them), and the
 * data to the message end.
 */
static const char array_magic[4] = { 'M', 'B', 'A', 'R' };
#define DTYPE_AT 16u
#define SHAPE_AT (DTYPE_AT + MEMBRIDGE_ARRAY_DTYPE_SIZE)

/* A largest byte count: numpy's sizes are signed (npy_intp), and ours
 * must fit in a size_t. */
#define MAX_BYTES ((uint64_t)SIZE_MAX < (uint64_t)INT64_MAX ? (uint64_t)SIZE_MAX \
							     : (uint64_t)INT64_MAX)

/* A decimal number at *p without leading zeros, 1..MEMBRIDGE_ARRAY_MAX_ITEMSIZE;
 * *p moves past it. 0 if there is none. */
static uint32_t parse_count(const char **p)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '1' || *s > '9')
		return 0;
	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (uint64_t)(*s++ - '0');
		if (v > MEMBRIDGE_ARRAY_MAX_ITEMSIZE)
			return 0;
	}
	*p = s;
	return (uint32_t)v;
}

/* A datetime unit in brackets at *p, "[" [count] unit "]"; *p moves past it. */
static bool parse_unit(const char **p)
{
	static const char *const units[] = {
		"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as",
	};
	const char *s = *p + 1;
	size_t i, n;

	if (*s >= '0' && *s <= '9' && parse_count(&s) == 0)
		return false;
	for (n = 0; s[n] && s[n] != ']'; n++)
		;
	if (s[n] != ']')
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i]) == n && !memcmp(units[i], s, n)) {
			*p = s + n + 1;
			return true;
		}
	}
	return false;
}

/* The item size of a NUL-terminated type string; 0 if it is malformed. */
static size_t dtype_itemsize(const char *dtype)
{
	const char *p = dtype + 2;
	uint32_t n;
	size_t size;

	if (!strchr("<>|", dtype[0]) || !dtype[0] || !dtype[1] ||
	    !strchr("biufcmMSUV", dtype[1]))
		return 0;
	n = parse_count(&p);
	if (n == 0)
		return 0;
	size = n;
	if (dtype[1] == 'U') {
		if (n > MEMBRIDGE_ARRAY_MAX_ITEMSIZE / 4)
			return 0;
		size = (size_t)n * 4;
	}
	if (*p == '[' && (dtype[1] == 'm' || dtype[1] == 'M') && !parse_unit(&p))
		return 0;
	return *p ? 0 : size;
}

/* Check a description: a type string that fits the field, ndim, and a
 * byte count (itemsize times every non-zero dimension) within MAX_BYTES.
 * The item size and the data's byte count go to *itemsize and *nbytes. */
static bool describe(const char *dtype, unsigned ndim, const uint64_t *shape,
		     size_t *itemsize, size_t *nbytes)
{
	uint64_t product;
	bool empty = false;
	unsigned i;

	if (!memchr(dtype, '\0', MEMBRIDGE_ARRAY_DTYPE_SIZE) || ndim > MEMBRIDGE_ARRAY_MAX_DIMS)
		return false;
	*itemsize = dtype_itemsize(dtype);
	if (*itemsize == 0)
		return false;
	product = *itemsize;
	for (i = 0; i < ndim; i++) {
		if (shape[i] == 0)
			empty = true;
		else if (shape[i] > MAX_BYTES / product)
			return false;
		else
			product *= shape[i];
	}
	*nbytes = empty ? 0 : (size_t)product;
	return true;
}

/* Where the data starts and where the message ends for ndim dimensions
 * and nbytes of data; false on overflow. */
static bool layout(unsigned ndim, size_t nbytes, size_t *offset, size_t *end)
{
	return mb_payload_span(SHAPE_AT + 8 * (size_t)ndim, nbytes, offset, end);
}

size_t membridge_array_message_size(const struct membridge_array *a)
{
	size_t itemsize, nbytes, offset, end;

	if (!a || !describe(a->dtype, a->ndim, a->shape, &itemsize, &nbytes) ||
	    !layout(a->ndim, nbytes, &offset, &end))
		return 0;
	return end;
}

int membridge_array_write(void *msg, size_t cap, struct membridge_array *a)
{
	unsigned char *m = msg;
	size_t itemsize, nbytes, offset, end, shape_end;
	unsigned i;

	if (!msg || !a || !describe(a->dtype, a->ndim, a->shape, &itemsize, &nbytes) ||
	    !layout(a->ndim, nbytes, &offset, &end))
		return -EINVAL;
	if (cap < end)
		return -ENOBUFS;
	mb_payload_prefix_write(m, array_magic, MEMBRIDGE_ARRAY_VERSION, (uint16_t)a->ndim);
	mb_store_le64(m + 8, offset);
	memset(m + DTYPE_AT, 0, MEMBRIDGE_ARRAY_DTYPE_SIZE);
	memcpy(m + DTYPE_AT, a->dtype, strlen(a->dtype));
	for (i = 0; i < a->ndim; i++)
		mb_store_le64(m + SHAPE_AT + 8 * i, a->shape[i]);
	shape_end = SHAPE_AT + 8 * (size_t)a->ndim;
	memset(m + shape_end, 0, offset - shape_end);
	a->itemsize = itemsize;
	a->nbytes = nbytes;
	a->data = m + offset;
	return 0;
}

int membridge_array_read(const void *msg, size_t len, struct membridge_array *a)
{
	const unsigned char *m = msg;
	struct membridge_array r;
	size_t offset, end, i;
	uint16_t ndim;
	int ret;

	if (!msg || !a)
		return -EINVAL;
	ret = mb_payload_prefix_read(m, len, array_magic, MEMBRIDGE_ARRAY_VERSION, &ndim);
	if (ret < 0)
		return ret;
	if (ndim > MEMBRIDGE_ARRAY_MAX_DIMS || len < SHAPE_AT + 8 * (size_t)ndim)
		return -EBADMSG;
	memset(&r, 0, sizeof(r));
	memcpy(r.dtype, m + DTYPE_AT, MEMBRIDGE_ARRAY_DTYPE_SIZE);
	/* NUL padding: nothing after the first NUL, which must be there. */
	for (i = strnlen(r.dtype, MEMBRIDGE_ARRAY_DTYPE_SIZE); i < MEMBRIDGE_ARRAY_DTYPE_SIZE; i++)
		if (r.dtype[i] != '\0')
			return -EBADMSG;
	r.ndim = ndim;
	for (i = 0; i < ndim; i++)
		r.shape[i] = mb_load_le64(m + SHAPE_AT + 8 * i);
	if (!describe(r.dtype, r.ndim, r.shape, &r.itemsize, &r.nbytes) ||
	    !layout(r.ndim, r.nbytes, &offset, &end) || mb_load_le64(m + 8) != offset ||
	    end != len || !mb_payload_zero(m + SHAPE_AT + 8 * (size_t)ndim, offset - SHAPE_AT - 8 * (size_t)ndim))
		return -EBADMSG;
	r.data = (void *)(m + offset);
	*a = r;
	return 0;
}
