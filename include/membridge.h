/* SPDX-License-Identifier: MIT */
/*
 * libmembridge: named cross-process shared memory with a reader-writer
 * locked sequential view and a lock-free single-producer/single-consumer
 * message ring.
 *
 * Conventions
 *   - Every fallible function returns 0 (or a documented non-negative value)
 *     on success and a negative errno value on failure; errno itself is not
 *     part of the API. membridge_strerror() describes an error code.
 *   - Handles are opaque. A constructor fills an out-pointer that is left
 *     unchanged on failure. Destructors accept NULL.
 *   - Timeouts are in nanoseconds: MEMBRIDGE_NO_WAIT (0) tries once,
 *     MEMBRIDGE_WAIT_FOREVER (-1) waits without limit, any other positive
 *     value bounds the wait; a value below -1 makes the call fail with
 *     -EINVAL (a view's default timeout too, in the calls that use it). A
 *     call that waits returns -EINTR once a signal handler ran in the
 *     waiting thread during the wait (SA_RESTART or not, like poll(2)), so
 *     the caller can react; retrying is always safe. The wait keeps the
 *     asynchronous signals blocked outside its sleeps and delivers them at
 *     each sleep, so none is missed: -EINTR comes at once in the poll and
 *     non-Linux sleeps, and on Linux's futex sleep within one slice (10 ms
 *     for locks, up to 40 ms for rings). A handler that ran before the
 *     call began waiting does not end it. Windows: a console Ctrl-C or
 *     Ctrl-Break ends the process's blocking waits with -EINTR, once the
 *     console's handlers (the CRT's signal() one too) have run.
 *   - Everything read from shared memory is untrusted: a corrupt ring header,
 *     frame or lock word yields -EBADMSG, never an access outside the mapping.
 *   - Handles are opaque. The few structs callers allocate (struct
 *     membridge_value, membridge_iovec, membridge_frame) are part of the
 *     MEMBRIDGE_1.0 ABI: their layout never changes while the soname is
 *     libmembridge.so.1; anything new comes as new types and functions.
 *
 * Memory layouts (bit-exact, native byte order, see membridge(7)):
 *   view segment: int32 lock word, then the data area ("offset 0").
 *   ring segment: uint64 head, uint64 tail, uint64 capacity, capacity bytes.
 */
#ifndef MEMBRIDGE_H
#define MEMBRIDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <membridge/export.h>
#include <membridge/features.h>
#include <membridge/version.h>

#ifdef _WIN32
/* mingw-w64's errno.h has no ESTALE, which membridge_spsc_consume()
 * returns, nor EUSERS, which membridge_subscriber_open() returns: the
 * library and its users share Linux's values. */
#include <errno.h>
#ifndef ESTALE
#define ESTALE 116
#endif
#ifndef EUSERS
#define EUSERS 87
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- errors */

/* A short English description of err (negative or positive errno value).
 * The string is static; the call is thread-safe. */
MEMBRIDGE_API const char *membridge_strerror(int err);

/* --------------------------------------------------------------- version */

/* The library's version string, e.g. "0.1.0". */
MEMBRIDGE_API const char *membridge_version(void);
/* The library's version as (major << 16) | (minor << 8) | patch. */
MEMBRIDGE_API unsigned membridge_version_number(void);

/* -------------------------------------------------------------- segments */

/* MEMBRIDGE_NAME_MAX, the longest accepted name (leading '/' included),
 * comes from membridge/features.h: 240, or 16 on macOS. */

/* The library keeps each segment's sleepers in a second segment, "<name>"
 * followed by this suffix; names ending in it are refused. */
#define MEMBRIDGE_COMPANION_SUFFIX ".membridge-wait"

/* Flag bits for membridge_segment_create(). REPLACE and ATTACH exclude each
 * other; any bit outside MEMBRIDGE_CREATE_FLAGS gives -EINVAL. */
#define MEMBRIDGE_CREATE_EXCLUSIVE 0u        /* no bits: -EEXIST if the name exists */
#define MEMBRIDGE_CREATE_REPLACE   (1u << 0) /* unlink an existing segment first */
#define MEMBRIDGE_CREATE_ATTACH    (1u << 1) /* open an existing segment of the same size */
#define MEMBRIDGE_CREATE_FLAGS     (MEMBRIDGE_CREATE_REPLACE | MEMBRIDGE_CREATE_ATTACH)

/* Mode 0 asks for the default permission bits. */
#define MEMBRIDGE_MODE_DEFAULT 0600u

/*
 * A named shared-memory segment mapped read-write into this process.
 * Thread safety: a segment handle may be used from several threads at once;
 * it is closed once, after every view and ring made from it may still hold
 * it (they keep their own reference, so closing early is safe).
 */
struct membridge_segment;

/* Create segment `name` ("/" followed by 1..MEMBRIDGE_NAME_MAX-1 characters,
 * none of them '/', not "." or "..") of `size` > 0 bytes, zero-filled, with
 * exactly the permission bits `mode` (0 for MEMBRIDGE_MODE_DEFAULT, at most
 * 0777; the umask is not applied). With MEMBRIDGE_CREATE_ATTACH an existing
 * segment must have the same size (-EINVAL otherwise). */
MEMBRIDGE_API int membridge_segment_create(const char *name, size_t size,
					   unsigned mode, unsigned flags,
					   struct membridge_segment **segp);
/* Open an existing segment. `size` 0 detects the size; any other value must
 * equal the segment's size (-EINVAL otherwise). -EAGAIN: its creator has not
 * sized it yet (a moment after creation); try again. */
MEMBRIDGE_API int membridge_segment_open(const char *name, size_t size,
					 struct membridge_segment **segp);
/* Unlink `name`; processes that have it open keep their mapping. */
MEMBRIDGE_API int membridge_segment_remove(const char *name);
/* 0 if `name` is a name membridge_segment_create() accepts; -ENAMETOOLONG if
 * it is longer than MEMBRIDGE_NAME_MAX, -EINVAL for any other reason (no
 * leading '/', another '/', "/." or "/..", or a companion's name). */
MEMBRIDGE_API int membridge_name_check(const char *name);
/* Drop this handle's reference; the mapping goes away with the last view or
 * ring made from it. */
MEMBRIDGE_API void membridge_segment_close(struct membridge_segment *seg);

MEMBRIDGE_API const char *membridge_segment_name(const struct membridge_segment *seg);
MEMBRIDGE_API size_t membridge_segment_size(const struct membridge_segment *seg);
/* The first byte of the mapping (membridge_segment_size() bytes). */
MEMBRIDGE_API void *membridge_segment_data(const struct membridge_segment *seg);
/* true if this handle created the segment (rather than opening or attaching). */
MEMBRIDGE_API bool membridge_segment_is_creator(const struct membridge_segment *seg);

/* ---------------------------------------------------------------- values */

/* Encodings of membridge(7): native byte order, no padding. */
enum membridge_type {
	MEMBRIDGE_BOOL = 1, /* 1 byte, 0 or 1 (any non-zero byte reads as true) */
	MEMBRIDGE_U8,       /* 1 byte */
	MEMBRIDGE_I32,      /* 4 bytes */
	MEMBRIDGE_U32,      /* 4 bytes */
	MEMBRIDGE_F32,      /* 4 bytes, IEEE 754 binary32 */
	MEMBRIDGE_I64,      /* 8 bytes; tag "int" */
	MEMBRIDGE_U64,      /* 8 bytes */
	MEMBRIDGE_F64,      /* 8 bytes, IEEE 754 binary64; tag "float" */
	MEMBRIDGE_STR,      /* uint32 byte length, then that many bytes of UTF-8 */
	MEMBRIDGE_BYTES     /* raw bytes, no length prefix (encode only) */
};

/* One typed value. For MEMBRIDGE_STR and MEMBRIDGE_BYTES `as.buf` points at
 * bytes owned by someone else (not NUL-terminated). */
struct membridge_value {
	enum membridge_type type;
	union {
		bool b;
		uint8_t u8;
		int32_t i32;
		uint32_t u32;
		float f32;
		int64_t i64;
		uint64_t u64;
		double f64;
		struct {
			const void *ptr;
			size_t len;
		} buf;
	} as;
};

/* Parse a tag ("bool", "u8", "i32", "u32", "f32", "int", "i64", "u64",
 * "float", "f64", "str") into *type; -EINVAL for anything else. */
MEMBRIDGE_API int membridge_type_from_name(const char *tag, enum membridge_type *type);
/* The canonical tag of `type` ("i64", "f64", ...), or NULL if invalid. */
MEMBRIDGE_API const char *membridge_type_name(enum membridge_type type);

/* Bytes needed to encode `count` values (-EOVERFLOW if a str is longer than
 * UINT32_MAX bytes, -EINVAL for an invalid type). */
MEMBRIDGE_API int membridge_encoded_size(const struct membridge_value *values,
					 size_t count, size_t *size);
/* Encode `count` values back to back into buf; *written gets the byte count.
 * -ENOBUFS if `len` is too small (nothing useful is written then). */
MEMBRIDGE_API int membridge_encode(void *buf, size_t len,
				   const struct membridge_value *values,
				   size_t count, size_t *written);
/* Decode one value of `type` at buf[*pos], advancing *pos. A str result
 * points into buf. -ENODATA if the bytes run out, -EILSEQ if a str is not
 * valid UTF-8, -EINVAL for MEMBRIDGE_BYTES or an invalid type. */
MEMBRIDGE_API int membridge_decode(const void *buf, size_t len, size_t *pos,
				   enum membridge_type type,
				   struct membridge_value *value);

/* ------------------------------------------------------------------ view */

/* Use the view's own cursor instead of an explicit offset. */
#define MEMBRIDGE_CURSOR SIZE_MAX

#define MEMBRIDGE_NO_WAIT       INT64_C(0)
#define MEMBRIDGE_WAIT_FOREVER  INT64_C(-1)
/* How long a view call waits for the lock unless told otherwise (5 s). */
#define MEMBRIDGE_DEFAULT_LOCK_TIMEOUT INT64_C(5000000000)

/* Bytes of view header (the lock word) before the data area. */
#define MEMBRIDGE_VIEW_HEADER 4u
/* Set in a positive lock word, above the reader count, by a writer of this
 * library that waits for the readers to leave (membridge_view_lock(3)). */
#define MEMBRIDGE_VIEW_WRITER_WAITING INT32_C(0x40000000)

/* Flag for membridge_view_break_lock(). */
#define MEMBRIDGE_BREAK_FORCE 1u

/*
 * A sequential view over a segment: byte 0..4 hold the cross-process
 * reader-writer lock word, the data area follows. Offsets are relative to
 * the data area. Every read and write is bounds-checked (-ERANGE) and runs
 * under the lock; a call that finds the lock already held by this view (see
 * membridge_view_lock_read/_write) runs inside that critical section.
 * An explicit offset neither uses nor moves the cursor; MEMBRIDGE_CURSOR
 * reads or writes at the cursor and advances it.
 * Thread safety: one thread at a time per view; give each thread its own.
 */
struct membridge_view;

/* The first view opened on a segment handle that created the segment
 * initialises the lock word (free); other opens leave it as it is. */
MEMBRIDGE_API int membridge_view_open(struct membridge_segment *seg,
				      struct membridge_view **viewp);
/* Releases a lock the view still holds, then frees the view. */
MEMBRIDGE_API void membridge_view_close(struct membridge_view *view);

/* Data area size: segment size - 4. */
MEMBRIDGE_API size_t membridge_view_size(const struct membridge_view *view);
/* The first byte of the data area (membridge_view_size() bytes), for access
 * in place; the caller holds the lock (membridge_view_lock_read/_write). */
MEMBRIDGE_API void *membridge_view_data(const struct membridge_view *view);
MEMBRIDGE_API int membridge_view_seek(struct membridge_view *view, size_t pos);
MEMBRIDGE_API size_t membridge_view_tell(const struct membridge_view *view);
/* Timeout used by the implicit locking of the data calls. */
MEMBRIDGE_API void membridge_view_set_timeout(struct membridge_view *view, int64_t timeout_ns);

/* Encode and store `count` values under one write lock. */
MEMBRIDGE_API int membridge_view_write(struct membridge_view *view, size_t offset,
				       const struct membridge_value *values, size_t count);
/* Read one value. For MEMBRIDGE_STR the bytes are copied to buf (cap bytes)
 * and value->as.buf points there; if cap is too small the call fails with
 * -ENOBUFS, sets value->as.buf.len to the length needed and moves nothing. */
MEMBRIDGE_API int membridge_view_read(struct membridge_view *view, size_t offset,
				      enum membridge_type type,
				      struct membridge_value *value,
				      void *buf, size_t cap);
MEMBRIDGE_API int membridge_view_write_bytes(struct membridge_view *view, size_t offset,
					     const void *buf, size_t len);
MEMBRIDGE_API int membridge_view_read_bytes(struct membridge_view *view, size_t offset,
					    void *buf, size_t len);
/* Zero the whole data area. */
MEMBRIDGE_API int membridge_view_zero(struct membridge_view *view);

/* Lock state as other processes see it: readers (>= 0) and writer flag. */
MEMBRIDGE_API int membridge_view_reader_count(const struct membridge_view *view);
MEMBRIDGE_API bool membridge_view_is_write_locked(const struct membridge_view *view);

/*
 * Explicit locking, for several calls in one critical section. A view holds
 * at most one lock (-EDEADLK otherwise). -EAGAIN when the lock is taken and
 * timeout_ns is MEMBRIDGE_NO_WAIT, -ETIMEDOUT when a wait ran out,
 * -EOWNERDEAD when the writer holding the lock is a process that no longer
 * exists (see membridge_view_break_lock()). A writer stores -pid in the lock
 * word and records its pid namespace in the companion segment; a dead writer
 * is only recognised when it lived in the caller's pid namespace. A peer
 * that writes -1 interoperates, but its death can only be recovered with
 * MEMBRIDGE_BREAK_FORCE. A writer killed at any moment (SIGKILL included)
 * is seen dead once its process has been reaped; the data may be half
 * written. A reader that dies leaves its count: readers still get in,
 * writers get -ETIMEDOUT (or wait, without a limit) until
 * membridge_view_break_lock(view, MEMBRIDGE_BREAK_FORCE).
 */
MEMBRIDGE_API int membridge_view_lock_read(struct membridge_view *view, int64_t timeout_ns);
MEMBRIDGE_API int membridge_view_lock_write(struct membridge_view *view, int64_t timeout_ns);
/* -ENOLCK if the view holds no lock; -EBADMSG if the lock word was changed
 * behind this view's back (it then holds nothing). */
MEMBRIDGE_API int membridge_view_unlock(struct membridge_view *view);
/* Recovery: free a lock whose writer process died. Without flags only a
 * writer recognised as dead (see above) is cleared: -EBUSY if it lives,
 * -EPERM for readers, an anonymous -1 writer or one that cannot be judged
 * (another pid namespace). MEMBRIDGE_BREAK_FORCE resets the word to 0
 * whatever it holds, for use when every holder is known to be gone. */
MEMBRIDGE_API int membridge_view_break_lock(struct membridge_view *view, unsigned flags);

/* ------------------------------------------------------------------ ring */

/* Bytes of ring header before the data area. */
#define MEMBRIDGE_SPSC_HEADER 24u
/* Bytes of frame header (uint32 payload length) before each payload. */
#define MEMBRIDGE_SPSC_FRAME_HEADER 4u
/* Smallest ring data capacity accepted. */
#define MEMBRIDGE_SPSC_MIN_CAPACITY 8u

/* A gather element: like struct iovec, portable. */
struct membridge_iovec {
	const void *base;
	size_t len;
};

/* A frame seen in place: the payload is part[0] followed by part[1] (part[1]
 * is empty unless the frame wraps round the end of the data area). */
struct membridge_frame {
	const void *part[2];
	size_t part_len[2];
	size_t len;        /* payload bytes, part_len[0] + part_len[1] */
	uint64_t start;    /* head at which the frame starts */
	uint64_t end;      /* head after the frame */
};

/* Called once per frame by membridge_spsc_pop_batch(). The frame is consumed
 * whatever the callback returns: 0 continues, > 0 stops the batch, < 0 stops
 * it and becomes pop_batch's return value. */
typedef int (*membridge_frame_fn)(void *ctx, const struct membridge_frame *frame);

/*
 * A single-producer/single-consumer ring over a segment of capacity + 24
 * bytes, capacity a power of two (>= MEMBRIDGE_SPSC_MIN_CAPACITY). A message
 * is a frame: uint32 payload length, then the payload. The handle keeps no
 * copy of its own index between calls, so a process may push, pop, or both.
 * Waiting sleeps on a companion segment "<name>.membridge-wait", created
 * with the segment's mode when the first view or ring of a segment handle
 * is opened (removed by membridge_segment_remove()).
 * Thread safety: one thread at a time per handle; at most one producer and
 * one consumer at a time across all processes.
 */
struct membridge_spsc;

/* The creator's first open writes the header; others validate it (-EBADMSG
 * if it is not a ring, -EAGAIN if it is still all zero: not initialised yet). */
MEMBRIDGE_API int membridge_spsc_open(struct membridge_segment *seg,
				      struct membridge_spsc **spscp);
MEMBRIDGE_API void membridge_spsc_close(struct membridge_spsc *spsc);

/* Push one message. -EAGAIN when it does not fit now and timeout_ns is 0,
 * -ETIMEDOUT when a wait ran out, -EMSGSIZE when it can never fit. Every
 * ring call, on either side, checks the whole header first (capacity as
 * opened, head <= tail <= head + capacity) and returns -EBADMSG if a peer
 * broke it. */
MEMBRIDGE_API int membridge_spsc_push(struct membridge_spsc *spsc, const void *buf,
				      size_t len, int64_t timeout_ns);
/* Push one message gathered from `count` pieces, without joining them first. */
MEMBRIDGE_API int membridge_spsc_pushv(struct membridge_spsc *spsc,
				       const struct membridge_iovec *iov, size_t count,
				       int64_t timeout_ns);
/* Push up to `count` messages (one per element), publishing the tail once.
 * Waits only until the first message fits; *pushed gets how many went in. */
MEMBRIDGE_API int membridge_spsc_push_batch(struct membridge_spsc *spsc,
					    const struct membridge_iovec *msgs, size_t count,
					    size_t *pushed, int64_t timeout_ns);

/* Pop one message into buf. *len gets the payload length. -EAGAIN when the
 * ring is empty and timeout_ns is 0; -ENOBUFS when cap is too small (the
 * message stays, *len tells the size needed). The message leaves the ring
 * before pop returns: a consumer killed before it used the copy loses it.
 * With peek + consume (or pop_batch) a killed consumer's message stays in
 * the ring and is delivered again. A killed producer's unpublished frame is
 * never seen. */
MEMBRIDGE_API int membridge_spsc_pop(struct membridge_spsc *spsc, void *buf, size_t cap,
				     size_t *len, int64_t timeout_ns);
/* See the next message in place without consuming it. */
MEMBRIDGE_API int membridge_spsc_peek(struct membridge_spsc *spsc,
				      struct membridge_frame *frame, int64_t timeout_ns);
/* Consume the frame returned by membridge_spsc_peek(); -ESTALE if the head
 * moved since, -EINVAL if *frame is not a published frame. */
MEMBRIDGE_API int membridge_spsc_consume(struct membridge_spsc *spsc,
					 const struct membridge_frame *frame);
/* Hand up to `max` messages to fn in place, publishing the head once.
 * Waits only for the first message; *popped gets how many were consumed. */
MEMBRIDGE_API int membridge_spsc_pop_batch(struct membridge_spsc *spsc, size_t max,
					   membridge_frame_fn fn, void *ctx,
					   size_t *popped, int64_t timeout_ns);

/* Ring bytes a message of `len` payload bytes takes (frame header
 * included); 0 if no frame can hold it (len > UINT32_MAX). */
MEMBRIDGE_API size_t membridge_spsc_frame_size(size_t len);

MEMBRIDGE_API size_t membridge_spsc_capacity(const struct membridge_spsc *spsc);
/* Bytes in use (frame headers included) and bytes free. */
MEMBRIDGE_API int membridge_spsc_used(const struct membridge_spsc *spsc, size_t *used);
MEMBRIDGE_API int membridge_spsc_space(const struct membridge_spsc *spsc, size_t *space);
/* 1 or 0, or a negative errno value for a corrupt header. */
MEMBRIDGE_API int membridge_spsc_is_empty(const struct membridge_spsc *spsc);
MEMBRIDGE_API int membridge_spsc_is_full(const struct membridge_spsc *spsc);

/* Event-loop integration (Linux), as for the channel: a descriptor that
 * becomes readable when a message may be waiting (data) or space may have
 * come (space). Edge style: pop (push) until it returns -EAGAIN with
 * timeout 0, which arms the descriptor, then wait on it; pop (push) again
 * after a wake-up, which may be spurious. Only peers that use this library
 * ring it (a process that pushes by the plain rules alone does not), and
 * only from the same network namespace. -ENOTSUP on other systems (where
 * MEMBRIDGE_HAVE_DESCRIPTORS is 0) or when the segment has no companion.
 * The descriptor belongs to the handle. */
MEMBRIDGE_API int membridge_spsc_data_fd(struct membridge_spsc *spsc);
MEMBRIDGE_API int membridge_spsc_space_fd(struct membridge_spsc *spsc);

/* --------------------------------------------------------------- channel */

/*
 * A channel: zero-copy publish/subscribe through one segment, in a
 * versioned layout of its own (membridge(7)). One publisher at a time loans
 * space in the segment, writes a message there and publishes it; each of up
 * to `subscribers` subscribers reads every message published after it
 * joined, in place, in order, exactly once, and releases it. Space is
 * reused only when every live subscriber has released it: a full channel
 * makes the publisher wait, it never costs a live subscriber a message. A
 * payload is one contiguous span, MEMBRIDGE_CHANNEL_ALIGN-byte aligned.
 * Waiting sleeps on words inside the segment (no companion); each handle
 * can also give a file descriptor for poll(2) and event loops (Linux).
 * A publisher or subscriber whose process died is noticed and replaced or
 * dropped. Every value read from the segment is checked before use
 * (-EBADMSG when a peer broke it). Thread safety: one thread at a time per
 * handle.
 */

/* The layout version this library writes and reads. */
#define MEMBRIDGE_CHANNEL_VERSION 1u
/* Payload alignment inside the segment. */
#define MEMBRIDGE_CHANNEL_ALIGN 64u
/* Subscriber slots a channel can have. */
#define MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS 1024u
/* Largest max_message (a message length is a uint32). */
#define MEMBRIDGE_CHANNEL_MAX_MESSAGE (UINT32_MAX - MEMBRIDGE_CHANNEL_ALIGN)

/* A channel's shape, fixed when it is created. */
struct membridge_channel_config {
	uint64_t data_size;   /* bytes for messages: a multiple of
			       * MEMBRIDGE_CHANNEL_ALIGN, at least twice
			       * membridge_channel_record_size(max_message) */
	uint64_t max_message; /* largest payload, 1..MEMBRIDGE_CHANNEL_MAX_MESSAGE */
	uint32_t subscribers; /* slots, 1..MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS */
	uint32_t flags;       /* policy flags; version 1 defines none: 0 */
};

/* Data-area bytes one message of `len` payload bytes takes (its 16-byte
 * record header and padding included); 0 if len > MEMBRIDGE_CHANNEL_MAX_MESSAGE. */
MEMBRIDGE_API size_t membridge_channel_record_size(size_t len);
/* Segment bytes a channel of shape cfg needs; 0 if cfg is not a valid shape. */
MEMBRIDGE_API size_t membridge_channel_segment_size(const struct membridge_channel_config *cfg);
/* Write a channel of shape cfg into seg, a segment this handle created with
 * exactly membridge_channel_segment_size(cfg) bytes and nothing written yet.
 * -EINVAL for an invalid shape or a segment of another size, -EPERM if this
 * handle did not create seg, -EEXIST if something was written there. */
MEMBRIDGE_API int membridge_channel_init(struct membridge_segment *seg,
					 const struct membridge_channel_config *cfg);
/* The shape of the channel in seg. -EAGAIN: not initialised yet (no magic
 * yet, which the creator stores last); -EPROTO: a layout version newer
 * than this library's, or policy flags it does not know; -EBADMSG: not a
 * channel, or a header no channel can have. */
MEMBRIDGE_API int membridge_channel_config(const struct membridge_segment *seg,
					   struct membridge_channel_config *cfg);

/* One message seen in place, valid until it is released. */
struct membridge_message {
	const void *data; /* MEMBRIDGE_CHANNEL_ALIGN-aligned, in the segment */
	size_t len;
	uint64_t seq;     /* 0 for the channel's first message, then +1; it
			   * skips where a publisher died while publishing */
};

struct membridge_publisher;
struct membridge_subscriber;

/* Become the channel's publisher: -EBUSY while another live publisher has
 * it; a dead publisher's place is taken over, its loaned messages dropped,
 * and the stream goes on with the next sequence number. -EBADMSG for a
 * corrupt tail, -ENOMEM, or errors as for membridge_channel_config(). A
 * handle belongs to the process that opened it. */
MEMBRIDGE_API int membridge_publisher_open(struct membridge_segment *seg,
					   struct membridge_publisher **pubp);
/* Drop any loan and give up the channel (subscribers keep what was published). */
MEMBRIDGE_API void membridge_publisher_close(struct membridge_publisher *pub);

/* Loan len bytes for the next message and return where to write them.
 * Loans add up until membridge_publisher_publish() or _abort(): a batch
 * becomes visible with one store. Waits for space while subscribers hold
 * it: -EAGAIN (timeout 0), -ETIMEDOUT, -EINTR; -EMSGSIZE when len >
 * max_message; -ENOBUFS when it cannot fit beside the loans not yet
 * published (publish them first); -ECONNRESET if another process took the
 * channel over. */
MEMBRIDGE_API int membridge_publisher_loan(struct membridge_publisher *pub, size_t len,
					   void **data, int64_t timeout_ns);
/* Shorten the newest loan to len bytes (len <= its loaned length). */
MEMBRIDGE_API int membridge_publisher_shrink(struct membridge_publisher *pub, size_t len);
/* Make every loaned message visible to every subscriber, in loan order;
 * returns how many were published. */
MEMBRIDGE_API int membridge_publisher_publish(struct membridge_publisher *pub);
/* Drop every loaned message unpublished; returns how many. */
MEMBRIDGE_API int membridge_publisher_abort(struct membridge_publisher *pub);
/* Copy one message in and publish it (with any earlier loans). */
MEMBRIDGE_API int membridge_publisher_send(struct membridge_publisher *pub, const void *buf,
					   size_t len, int64_t timeout_ns);
/* Copy one message gathered from `count` pieces and publish it. */
MEMBRIDGE_API int membridge_publisher_sendv(struct membridge_publisher *pub,
					    const struct membridge_iovec *iov, size_t count,
					    int64_t timeout_ns);
/* Copy up to `count` messages in (one per element) and publish them with
 * one store. Waits only until the first fits; *sent gets how many went.
 * It stops at the first that does not fit now or is invalid (too large, a
 * NULL base): that one's error comes back only if it is the first. */
MEMBRIDGE_API int membridge_publisher_send_batch(struct membridge_publisher *pub,
						 const struct membridge_iovec *msgs, size_t count,
						 size_t *sent, int64_t timeout_ns);

/* Where a subscriber starts (membridge_subscriber_open() flags). */
#define MEMBRIDGE_SUBSCRIBE_NEWEST 0u       /* messages published from now on */
#define MEMBRIDGE_SUBSCRIBE_OLDEST (1u << 0) /* also the oldest message another
					      * live subscriber still holds, and on */

/* Join the channel in a free slot (a dead subscriber's slot is freed for
 * it): -EUSERS when every slot holds a live subscriber; -EINVAL for unknown
 * flags; -EAGAIN if a publisher kept moving past every start it tried;
 * -EBADMSG for a corrupt tail; -ENOMEM; errors as for
 * membridge_channel_config(). A handle belongs to the process that opened
 * it: a child after fork(2) opens its own. */
MEMBRIDGE_API int membridge_subscriber_open(struct membridge_segment *seg, unsigned flags,
					    struct membridge_subscriber **subp);
/* Release what it holds and leave the channel. */
MEMBRIDGE_API void membridge_subscriber_close(struct membridge_subscriber *sub);
/* This subscriber's slot number, 0..subscribers-1. */
MEMBRIDGE_API unsigned membridge_subscriber_slot(const struct membridge_subscriber *sub);

/* The next message, in place. Messages received and not yet released stay
 * valid (several may be held); -EAGAIN (timeout 0), -ETIMEDOUT, -EINTR when
 * none came; -ECONNRESET once the publisher evicted this subscriber. */
MEMBRIDGE_API int membridge_subscriber_receive(struct membridge_subscriber *sub,
					       struct membridge_message *msg,
					       int64_t timeout_ns);
/* Up to `max` messages in place; waits only for the first. Returns how many
 * (an error after the first comes back from the next call). */
MEMBRIDGE_API int membridge_subscriber_receive_batch(struct membridge_subscriber *sub,
						     struct membridge_message *msgs, size_t max,
						     int64_t timeout_ns);
/* Release every message received so far: their space may be reused, and
 * their pointers must no longer be used. Returns how many were released. */
MEMBRIDGE_API int membridge_subscriber_release(struct membridge_subscriber *sub);
/* Release msg, a message this subscriber received and holds, and every
 * message received before it; those received after it stay valid. For
 * consumers that hold a message while they receive the next one (a
 * pipeline, a language binding). Returns how many were released; -EINVAL
 * if msg is not held by sub; -EBADMSG if a held record was overwritten
 * (membridge_subscriber_release() still works then). */
MEMBRIDGE_API int membridge_subscriber_release_until(struct membridge_subscriber *sub,
						     const struct membridge_message *msg);
/* Receive one message, copy it into buf, then release (as
 * membridge_subscriber_release: with any messages still held). *len gets its
 * length; -ENOBUFS when cap is too small (the message stays, *len tells the
 * size needed). */
MEMBRIDGE_API int membridge_subscriber_read(struct membridge_subscriber *sub, void *buf,
					    size_t cap, size_t *len, int64_t timeout_ns);

/*
 * Event-loop integration (Linux): a descriptor that becomes readable when
 * there is something for this handle, to wait on with poll(2), epoll(7) or
 * any event loop. Subscriber: a message to receive; publisher: space
 * released since a loan found none. Edge style: call receive (or loan) until
 * it returns -EAGAIN, then wait on the descriptor; a wake-up can be
 * spurious, so receive again with MEMBRIDGE_NO_WAIT. The descriptor belongs
 * to the handle (closed by its close). -ENOTSUP on other systems (where
 * MEMBRIDGE_HAVE_DESCRIPTORS is 0).
 */
MEMBRIDGE_API int membridge_subscriber_fd(struct membridge_subscriber *sub);
MEMBRIDGE_API int membridge_publisher_fd(struct membridge_publisher *pub);

/* What the publisher knows of one subscriber slot. */
struct membridge_subscriber_info {
	unsigned slot;
	bool active;       /* a subscriber holds the slot */
	bool evicted;      /* it was evicted and has not left yet */
	int64_t pid;       /* its process, 0 if the slot is free */
	uint64_t lag;      /* messages published that it has not released */
	uint64_t lag_bytes;/* data-area bytes those hold */
};

/* Fill info[0..max) with the slots in use; returns how many there are (more
 * than max if info was too short). */
MEMBRIDGE_API int membridge_publisher_subscribers(struct membridge_publisher *pub,
						  struct membridge_subscriber_info *info,
						  size_t max);
/* A subscriber whose process died is found by a publisher that waits in
 * a loan or retries one (checked at most once a millisecond over them); a
 * loop that only waits on membridge_publisher_fd() should retry its loan
 * now and then (every 100 ms, say), as nothing rings the descriptor then. */

/* Stop waiting for the subscriber in `slot`: its space is reused at once,
 * its next call returns -ECONNRESET. -ENOENT if no subscriber is there. */
MEMBRIDGE_API int membridge_publisher_evict(struct membridge_publisher *pub, unsigned slot);

/* ------------------------------------------------------- payload formats */

/*
 * Two message formats for a channel's payloads (membridge_array(3),
 * membridge_parts(3), byte by byte in membridge(7)): an n-dimensional array
 * described as numpy describes it, and a message of several parts (pickle
 * protocol 5 with its out-of-band buffers). The Python package sends and
 * reads them with these functions, so a C program can publish a frame
 * that a Python subscriber gets as a numpy array, and the other way round.
 * Header fields are little-endian on every machine; the data and each part
 * start at a MEMBRIDGE_PAYLOAD_ALIGN-aligned offset from the message start,
 * so aligned in the segment when the message is (a channel's are). The
 * read functions treat every byte as untrusted: -EBADMSG for anything
 * that is not a well-formed message, -EPROTO for a header version newer
 * than this library's. They never touch the data, so a message may be
 * any bytes, aligned or not.
 */

/* Offset alignment of an array's data and of each part. */
#define MEMBRIDGE_PAYLOAD_ALIGN 64u

/* The array header version this library writes; it reads 1 to this. */
#define MEMBRIDGE_ARRAY_VERSION 1u
/* Most dimensions an array can have (numpy's limit). */
#define MEMBRIDGE_ARRAY_MAX_DIMS 32u
/* Bytes of the dtype field: a type string of up to 31 characters. */
#define MEMBRIDGE_ARRAY_DTYPE_SIZE 32u
/* Largest item size, in bytes (numpy's itemsize is an int). */
#define MEMBRIDGE_ARRAY_MAX_ITEMSIZE 2147483647u

/* A C-contiguous (row-major) array. dtype is numpy's array-interface type
 * string (arr.dtype.str): a byte order '<', '>' or '|', a kind (one of
 * "biufcmMSUV"), a decimal size without leading zeros (bytes; characters
 * for 'U', of 4 bytes each) and, for 'm' and 'M' only, an optional unit in
 * brackets: "<f4", "|u1", "<c16", "|S10", "<U8", "<M8[ns]", "<m8[25s]". */
struct membridge_array {
	char dtype[MEMBRIDGE_ARRAY_DTYPE_SIZE];  /* NUL-terminated */
	unsigned ndim;                           /* 0..MEMBRIDGE_ARRAY_MAX_DIMS */
	uint64_t shape[MEMBRIDGE_ARRAY_MAX_DIMS]; /* shape[0..ndim) */
	size_t itemsize;                         /* out: bytes per element */
	size_t nbytes;                           /* out: itemsize * shape product */
	void *data;                              /* out: the nbytes of data */
};

/* Bytes of the message holding array a (header, padding, data): 0 if a is
 * no valid description (dtype, ndim) or the size would overflow: itemsize
 * times the non-zero dimensions must fit in a size_t and an int64_t. */
MEMBRIDGE_API size_t membridge_array_message_size(const struct membridge_array *a);
/* Write the header of array a at msg (cap bytes) and set a->itemsize,
 * a->nbytes and a->data, where the caller then writes the nbytes of data.
 * -EINVAL if membridge_array_message_size(a) is 0, -ENOBUFS if cap is less. */
MEMBRIDGE_API int membridge_array_write(void *msg, size_t cap, struct membridge_array *a);
/* Describe the array in the len-byte message msg: every field of *a, with
 * a->data pointing into msg (do not write through it unless msg is
 * writable). The message must be exactly header, padding and data. *a is
 * left unchanged on failure: -EBADMSG or -EPROTO. */
MEMBRIDGE_API int membridge_array_read(const void *msg, size_t len, struct membridge_array *a);

/* The multi-part header version this library writes; it reads 1 to this. */
#define MEMBRIDGE_PARTS_VERSION 1u
/* Most parts a message can have. */
#define MEMBRIDGE_PARTS_MAX 4096u

/* Bytes of the message holding `count` parts of lens[0..count): 0 if count
 * > MEMBRIDGE_PARTS_MAX or the size would overflow a size_t. */
MEMBRIDGE_API size_t membridge_parts_message_size(const size_t *lens, size_t count);
/* Write the header of a message of `count` parts of lens[0..count) at msg
 * (cap bytes); parts[i] gets where the caller writes part i. -EINVAL if
 * membridge_parts_message_size() is 0, -ENOBUFS if cap is less. */
MEMBRIDGE_API int membridge_parts_write(void *msg, size_t cap, const size_t *lens,
					size_t count, void **parts);
/* Find the parts of the len-byte message msg: parts[i] points into msg.
 * Returns how many; -EBADMSG, -EPROTO, or -ENOBUFS when they are more than
 * max (MEMBRIDGE_PARTS_MAX entries always suffice). */
MEMBRIDGE_API int membridge_parts_read(const void *msg, size_t len,
				       struct membridge_iovec *parts, size_t max);

/* ------------------------------------------------------------ inspection */

/*
 * Read-only inspection of a segment's raw bytes, for tools that look at
 * segments without taking part (membridge(1)): `base` and `size` describe a
 * mapping the caller made, typically PROT_READ (`base` 8-byte aligned, as a
 * mapping is). These calls never write,
 * take no lock, allocate nothing and treat every byte as untrusted; their
 * work is bounded. A segment truncated under the mapping raises SIGBUS on
 * access: the caller may guard the call and siglongjmp out of it.
 */

/* What membridge_spsc_inspect() found wrong with a ring. */
enum membridge_spsc_fault {
	MEMBRIDGE_SPSC_FAULT_NONE,
	MEMBRIDGE_SPSC_FAULT_HEAD_PAST_TAIL, /* head > tail */
	MEMBRIDGE_SPSC_FAULT_OVERFULL,       /* tail - head > capacity */
	MEMBRIDGE_SPSC_FAULT_FRAME_CUT,      /* a frame header runs past tail */
	MEMBRIDGE_SPSC_FAULT_FRAME_LENGTH,   /* a frame claims more than is published */
};

/* Frames counted at most by membridge_spsc_inspect() (the walk's bound). */
#define MEMBRIDGE_SPSC_INSPECT_MAX_FRAMES INT64_C(10000000)

struct membridge_spsc_info {
	uint64_t head, tail, capacity; /* as read from the header */
	uint64_t used;                 /* tail - head; 0 unless head and tail agree */
	int64_t frames;                /* frames in [head, tail); -1 if not counted */
	enum membridge_spsc_fault fault;
	uint64_t fault_index;          /* FRAME_*: ring index of the bad frame */
	uint32_t fault_length;         /* FRAME_LENGTH: the length it claims */
};

/* Bytes of segment a ring of `capacity` data bytes needs (capacity +
 * MEMBRIDGE_SPSC_HEADER); 0 if no ring has that capacity (not a power of two
 * of at least MEMBRIDGE_SPSC_MIN_CAPACITY, or too large for a size_t). */
MEMBRIDGE_API size_t membridge_spsc_segment_size(uint64_t capacity);
/* Read a ring's header and walk its frames. 0: a consistent ring (frames is
 * -1 when there are more than MEMBRIDGE_SPSC_INSPECT_MAX_FRAMES); -EINVAL:
 * no ring has this size (see membridge_spsc_open()); -ENOTSUP: the header's
 * capacity is not size - MEMBRIDGE_SPSC_HEADER, so these bytes are no ring
 * (or one its creator has not initialised yet); -EBADMSG: corrupt, `fault`
 * says why; -EAGAIN: the consumer moved during the walk, the frame count is
 * unknown (frames -1; the rest of info holds what was read): try again.
 * info is filled as far as it could be in every case but -EINVAL. */
MEMBRIDGE_API int membridge_spsc_inspect(const void *base, size_t size,
					 struct membridge_spsc_info *info);
/* Count the frames in [from, to) of the ring at base, for example what was
 * pushed between two membridge_spsc_inspect() calls (the two tails). 0 and
 * *count; -EINVAL: no ring has this size; -EAGAIN: the consumer is past
 * `from` (the bytes may have been reused) or the range exceeds the capacity;
 * -EBADMSG: the frames do not chain up to `to`; -E2BIG: more than
 * MEMBRIDGE_SPSC_INSPECT_MAX_FRAMES frames. */
MEMBRIDGE_API int membridge_spsc_count_frames(const void *base, size_t size, uint64_t from,
					      uint64_t to, uint64_t *count);

/* What membridge_channel_inspect() read from a channel. */
struct membridge_channel_info {
	uint32_t version;     /* the header's layout version */
	struct membridge_channel_config config;
	uint64_t tail;        /* position after the newest published message */
	uint64_t next_seq;    /* messages published so far */
	int64_t publisher;    /* the publisher's pid, 0 if none */
	unsigned subscribers; /* slots with an active subscriber */
	uint64_t used;        /* data bytes the slowest active subscriber holds */
};

/* Read the channel at base: its shape, its publisher, and its slots in use
 * into slots[0..max) (as membridge_publisher_subscribers() does, but a
 * subscriber whose process died still counts as active). Returns how many
 * slots are in use; -ENOTSUP if these bytes have no channel's magic;
 * -EAGAIN, -EPROTO (info->version tells which) and -EBADMSG as
 * membridge_channel_config(), -EBADMSG also for a tail no publisher
 * leaves. */
MEMBRIDGE_API int membridge_channel_inspect(const void *base, size_t size,
					    struct membridge_channel_info *info,
					    struct membridge_subscriber_info *slots, size_t max);

enum membridge_lock_state {
	MEMBRIDGE_LOCK_FREE,
	MEMBRIDGE_LOCK_READ,
	MEMBRIDGE_LOCK_WRITE,
};

struct membridge_view_info {
	uint64_t data_size;            /* size - MEMBRIDGE_VIEW_HEADER */
	int32_t lock_word;             /* as read */
	enum membridge_lock_state state;
	int32_t readers;               /* READ: how many; 0 otherwise */
	bool writer_waiting;           /* a writer waits for the readers to leave */
	int64_t writer;                /* WRITE: the writer's pid, or -1 for an
					* anonymous writer; 0 otherwise */
};

/* Decode the lock word of the view at base. 0, or -EINVAL when size leaves
 * no data area (size <= MEMBRIDGE_VIEW_HEADER). Any segment that large
 * decodes: whether it is used as a view is its users' convention. */
MEMBRIDGE_API int membridge_view_inspect(const void *base, size_t size,
					 struct membridge_view_info *info);

#ifdef __cplusplus
}
#endif

#endif /* MEMBRIDGE_H */
