/* SPDX-License-Identifier: MIT */
/* membridge_strerror(): what each error code means for a membridge call. */
#include "config.h"

#include <errno.h>

#include "membridge.h"

struct mb_message {
	int err;
	const char *text;
};

static const struct mb_message messages[] = {
	{ 0, "success" },
	{ EINVAL, "invalid argument (name, size, flags, tag or mode)" },
	{ EEXIST, "a segment with this name already exists" },
	{ ENOENT, "no segment with this name exists" },
	{ EACCES, "permission denied by the segment's mode" },
	{ EPERM, "operation not permitted" },
	{ ENAMETOOLONG, "segment name too long" },
	{ ENOMEM, "out of memory" },
	{ ENOSPC, "no space left for shared memory" },
	{ EMFILE, "too many open files" },
	{ ENFILE, "too many open files in the system" },
	{ EFBIG, "segment size too large" },
	{ ERANGE, "offset or length outside the data area" },
	{ EAGAIN, "would have to wait (ring or channel full or empty, lock taken) or segment not initialised yet" },
	{ ETIMEDOUT, "timed out waiting" },
	{ EINTR, "wait interrupted by a signal" },
	{ EBADMSG, "corrupt shared state (ring or channel header, frame or record, lock word)" },
	{ EMSGSIZE, "message larger than the ring or channel can ever hold" },
	{ ENOBUFS, "buffer too small" },
	{ ENODATA, "data too short for the requested type" },
	{ EILSEQ, "string is not valid UTF-8" },
	{ EOVERFLOW, "value too large for its encoding" },
	{ EOWNERDEAD, "the process holding the write lock died" },
	{ EDEADLK, "this view already holds a lock" },
	{ ENOLCK, "this view holds no lock" },
	{ EBUSY, "held by a live process (the lock, or the channel's publisher role)" },
	{ ESTALE, "the ring moved on since this frame was peeked" },
	{ EPROTO, "the channel has a newer layout version than this library reads" },
	{ ENOTSUP, "not supported here (or these bytes are no channel)" },
	{ EUSERS, "every subscriber slot of the channel is taken" },
	{ ECONNRESET, "evicted by the channel's publisher, or the role was taken over" },
};

const char *membridge_strerror(int err)
{
	size_t i;

	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++)
		if (messages[i].err == err || -messages[i].err == err)
			return messages[i].text;
	return "unknown error";
}
