/* SPDX-License-Identifier: MIT */
/* libFuzzer target: the payload readers (array and multi-part messages) on arbitrary bytes. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

/*
 * Input: ctl[0] bit 0 picks the format (0 array, 1 parts), ctl[1] how
 * many part entries the reader gets (255: MEMBRIDGE_PARTS_MAX); the rest
 * is the message, copied into a buffer of exactly its size (so a read past
 * it is a sanitizer report). A read may only return a documented code.
 * What it accepts must lie inside the message, at 64-byte aligned offsets,
 * add up to the message exactly (numpy's rule for the array's byte count),
 * and be what the writer makes: writing the description it returned gives
 * the same message size and, the data or parts copied in, the same bytes.
 */
#define CTL 2

/* For numpy's byte count, wider than any product of a valid shape. */
__extension__ typedef unsigned __int128 wide;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* -EPROTO exactly when the magic is right and the version is newer. */
static int version_error(const uint8_t *msg, size_t len, const char *magic, unsigned version)
{
	if (len >= 8 && !memcmp(msg, magic, 4) && le16(msg + 4) > version)
		return -EPROTO;
	return -EBADMSG;
}

static void check_array(const uint8_t *msg, size_t len)
{
	struct membridge_array a, w;
	size_t offset, i;
	wide product = 1;
	uint8_t *copy;
	int ret = membridge_array_read(msg, len, &a);

	if (ret < 0) {
		FZ_CHECK_RET(ret, version_error(msg, len, "MBAR", MEMBRIDGE_ARRAY_VERSION));
		return;
	}
	FZ_CHECK_RET(ret, 0);
	FZ_CHECK(a.ndim <= MEMBRIDGE_ARRAY_MAX_DIMS, "ndim %u", a.ndim);
	FZ_CHECK(memchr(a.dtype, '\0', sizeof(a.dtype)) != NULL, "dtype not terminated");
	FZ_CHECK((const uint8_t *)a.data >= msg + 48 && (const uint8_t *)a.data <= msg + len,
		 "data outside the message");
	offset = (size_t)((const uint8_t *)a.data - msg);
	FZ_CHECK(offset % 64 == 0 && offset >= 48 + 8 * a.ndim, "data offset %zu", offset);
	FZ_CHECK(a.nbytes == len - offset, "%zu data bytes of %zu after the header", a.nbytes,
		 len - offset);
	for (i = 0; i < a.ndim; i++)
		if (a.shape[i] && product <= (wide)INT64_MAX)
			product *= a.shape[i];
	for (i = 0; i < a.ndim; i++)
		if (!a.shape[i])
			product = 0;
	FZ_CHECK(a.itemsize >= 1 && product * a.itemsize == a.nbytes,
		 "itemsize %zu times the shape is not %zu", a.itemsize, a.nbytes);

	w = a;
	FZ_CHECK(membridge_array_message_size(&w) == len, "the writer's size differs");
	copy = malloc(len);
	FZ_CHECK(copy != NULL, "out of memory");
	FZ_CHECK_RET(membridge_array_write(copy, len, &w), 0);
	FZ_CHECK(w.data == copy + offset && w.nbytes == a.nbytes && w.itemsize == a.itemsize,
		 "the writer placed the data elsewhere");
	memcpy(w.data, a.data, a.nbytes);
	FZ_CHECK(!memcmp(copy, msg, len), "the writer makes other bytes");
	free(copy);
}

static void check_parts(const uint8_t *msg, size_t len, size_t max)
{
	static struct membridge_iovec parts[MEMBRIDGE_PARTS_MAX];
	static size_t lens[MEMBRIDGE_PARTS_MAX];
	static void *where[MEMBRIDGE_PARTS_MAX];
	size_t at, start, i;
	uint8_t *copy;
	int ret = membridge_parts_read(msg, len, parts, max);

	if (ret == -ENOBUFS) {
		FZ_CHECK(max < MEMBRIDGE_PARTS_MAX, "-ENOBUFS with room for every part");
		ret = membridge_parts_read(msg, len, parts, MEMBRIDGE_PARTS_MAX);
		FZ_CHECK(ret > (int)max, "-ENOBUFS for %d parts and %zu entries", ret, max);
	}
	if (ret < 0) {
		FZ_CHECK_RET(ret, version_error(msg, len, "MBPT", MEMBRIDGE_PARTS_VERSION));
		return;
	}
	FZ_CHECK(ret <= (int)MEMBRIDGE_PARTS_MAX, "%d parts", ret);
	at = 8 + 8 * (size_t)ret;
	for (i = 0; i < (size_t)ret; i++) {
		FZ_CHECK((const uint8_t *)parts[i].base >= msg + at &&
			 (const uint8_t *)parts[i].base <= msg + len, "part %zu outside", i);
		start = (size_t)((const uint8_t *)parts[i].base - msg);
		FZ_CHECK(start % 64 == 0 && start - at < 64, "part %zu at %zu", i, start);
		FZ_CHECK(parts[i].len <= len - start, "part %zu runs past the message", i);
		at = start + parts[i].len;
		lens[i] = parts[i].len;
	}
	FZ_CHECK(at == len, "the parts end at %zu of %zu", at, len);

	FZ_CHECK(membridge_parts_message_size(lens, (size_t)ret) == len, "the writer's size differs");
	copy = malloc(len);
	FZ_CHECK(copy != NULL, "out of memory");
	FZ_CHECK_RET(membridge_parts_write(copy, len, lens, (size_t)ret, where), 0);
	for (i = 0; i < (size_t)ret; i++) {
		FZ_CHECK((uint8_t *)where[i] - copy == (const uint8_t *)parts[i].base - msg,
			 "the writer placed part %zu elsewhere", i);
		memcpy(where[i], parts[i].base, lens[i]);
	}
	FZ_CHECK(!memcmp(copy, msg, len), "the writer makes other bytes");
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *msg;
	size_t len;

	if (size < CTL)
		return 0;
	len = size - CTL;
	/* malloc(0) may give NULL, which the readers refuse: keep a byte. */
	msg = malloc(len ? len : 1);
	FZ_CHECK(msg != NULL, "out of memory");
	memcpy(msg, data + CTL, len);
	if (data[0] & 1)
		check_parts(msg, len, data[1] == 255 ? MEMBRIDGE_PARTS_MAX : data[1]);
	else
		check_array(msg, len);
	free(msg);
	return 0;
}
