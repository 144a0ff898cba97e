/* SPDX-License-Identifier: MIT */
/* Multi-part messages of membridge(7): a header of part lengths, then
 * each part at an aligned offset (pickle protocol 5 and its out-of-band
 * buffers). */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "internal.h"

/*
 * Header, little-endian:
 *   0  "MBPT"
 *   4  uint16 version
 *   6  uint16 count
 *   8  uint64 length[count]
 * then each part in order, at the first MEMBRIDGE_PAYLOAD_ALIGN-aligned
 * offset after the header or the part before it (zero bytes between, which
 * a reader checks); the message ends where the last part ends (after the
 * header if none).
 */
static const char parts_magic[4] = { 'M', 'B', 'P', 'T' };

static size_t header_size(size_t count)
{
	return MB_PAYLOAD_PREFIX + 8 * count;
}

size_t membridge_parts_message_size(const size_t *lens, size_t count)
{
	size_t at, start, i;

	if (count > MEMBRIDGE_PARTS_MAX || (count && !lens))
		return 0;
	at = header_size(count);
	for (i = 0; i < count; i++)
		if (!mb_payload_span(at, lens[i], &start, &at))
			return 0;
	return at;
}

int membridge_parts_write(void *msg, size_t cap, const size_t *lens, size_t count, void **parts)
{
	unsigned char *m = msg;
	size_t size = membridge_parts_message_size(lens, count);
	size_t at, start = 0, end = 0, i;

	if (!msg || size == 0 || (count && !parts))
		return -EINVAL;
	if (cap < size)
		return -ENOBUFS;
	mb_payload_prefix_write(m, parts_magic, MEMBRIDGE_PARTS_VERSION, (uint16_t)count);
	at = header_size(count);
	for (i = 0; i < count; i++) {
		mb_store_le64(m + MB_PAYLOAD_PREFIX + 8 * i, lens[i]);
		/* The size was checked above: this cannot overflow. */
		mb_payload_span(at, lens[i], &start, &end);
		memset(m + at, 0, start - at);
		parts[i] = m + start;
		at = end;
	}
	return 0;
}

int membridge_parts_read(const void *msg, size_t len, struct membridge_iovec *parts, size_t max)
{
	const unsigned char *m = msg;
	size_t at, start, end, i;
	uint16_t count;
	uint64_t n;
	int ret;

	if (!msg || (max && !parts))
		return -EINVAL;
	ret = mb_payload_prefix_read(m, len, parts_magic, MEMBRIDGE_PARTS_VERSION, &count);
	if (ret < 0)
		return ret;
	if (count > MEMBRIDGE_PARTS_MAX || len < header_size(count))
		return -EBADMSG;
	at = header_size(count);
	for (i = 0; i < count; i++) {
		n = mb_load_le64(m + MB_PAYLOAD_PREFIX + 8 * i);
		if (n > SIZE_MAX || !mb_payload_span(at, (size_t)n, &start, &end) || end > len ||
		    !mb_payload_zero(m + at, start - at))
			return -EBADMSG;
		if (count <= max) {
			parts[i].base = m + start;
			parts[i].len = (size_t)n;
		}
		at = end;
	}
	if (at != len)
		return -EBADMSG;
	return count <= max ? count : -ENOBUFS;
}
