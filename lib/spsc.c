/* SPDX-License-Identifier: MIT */
/*
 * The single-producer/single-consumer ring (membridge(7)): a 24-byte header
 * (head, tail, capacity) and capacity data bytes holding frames, a uint32
 * payload length followed by the payload, packed back to back and wrapping.
 * Every call reads head, tail and capacity (one cache line, which it reads
 * for its own index anyway) and checks them before using any: the peer may
 * be buggy, hostile or dead.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "spsc-layout.h"

/* How often used() re-reads a header that moved under it before it calls
 * the header corrupt. */
#define SNAPSHOT_TRIES 16

struct membridge_spsc {
	struct membridge_segment *seg;
	struct ring_header *hdr;
	unsigned char *data;
	uint64_t capacity;     /* validated at open; the header must keep it */
	struct mb_event *data_event;
	struct mb_event *space_event;
	struct mb_bell data_bell;  /* membridge_spsc_data_fd() */
	struct mb_bell space_bell; /* membridge_spsc_space_fd() */
	int sender;                /* socket that rings the peer's, -1 */
};

/* Copy n bytes into the ring at index pos: at most two memcpy calls.
 * Inline, so that the 4-byte frame headers become single moves. */
static inline void ring_put(struct membridge_spsc *q, uint64_t pos, const void *src, size_t n)
{
	size_t off = (size_t)(pos & (q->capacity - 1));

	if (n == 0)
		return;
	if (n <= q->capacity - off) {
		memcpy(q->data + off, src, n);
		return;
	}
	memcpy(q->data + off, src, (size_t)(q->capacity - off));
	memcpy(q->data, (const unsigned char *)src + (q->capacity - off),
	       n - (size_t)(q->capacity - off));
}

static inline void ring_get(const struct membridge_spsc *q, uint64_t pos, void *dst, size_t n)
{
	size_t off = (size_t)(pos & (q->capacity - 1));

	if (n == 0)
		return;
	if (n <= q->capacity - off) {
		memcpy(dst, q->data + off, n);
		return;
	}
	memcpy(dst, q->data + off, (size_t)(q->capacity - off));
	memcpy((unsigned char *)dst + (q->capacity - off), q->data,
	       n - (size_t)(q->capacity - off));
}

/* The header's rule: the capacity is the segment's, and head <= tail <=
 * head + capacity (in modular arithmetic, as the indices may wrap past
 * 2^64). Head is read first: it never passes tail, so a third party's
 * reading is consistent unless the header moved in between. */
static int read_header(const struct ring_header *hdr, uint64_t capacity, uint64_t *head,
		       uint64_t *tail)
{
	uint64_t cap = atomic_load_explicit(&hdr->capacity, memory_order_relaxed);

	*head = atomic_load_explicit(&hdr->head, memory_order_acquire);
	*tail = atomic_load_explicit(&hdr->tail, memory_order_acquire);
	return cap == capacity && *tail - *head <= capacity ? 0 : -EBADMSG;
}

/* Check the header at open: -EAGAIN while the creator has not written it. */
static int validate_header(const struct ring_header *hdr, uint64_t capacity)
{
	uint64_t head, tail;
	int ret = read_header(hdr, capacity, &head, &tail);

	if (ret < 0 && head == 0 && tail == 0 &&
	    atomic_load_explicit(&hdr->capacity, memory_order_acquire) == 0)
		return -EAGAIN;
	return ret;
}

int membridge_spsc_open(struct membridge_segment *seg, struct membridge_spsc **spscp)
{
	struct membridge_spsc *q;
	struct mb_waitblock *wb;
	struct ring_header *hdr;
	uint64_t capacity;
	int ret;

	if (!seg || !spscp)
		return -EINVAL;
	capacity = mb_spsc_capacity_for(seg->map.size);
	if (capacity == 0)
		return -EINVAL;
	hdr = seg->map.base;
	if (seg->creator && atomic_load_explicit(&hdr->capacity, memory_order_acquire) == 0 &&
	    atomic_load_explicit(&hdr->head, memory_order_relaxed) == 0 &&
	    atomic_load_explicit(&hdr->tail, memory_order_relaxed) == 0)
		atomic_store_explicit(&hdr->capacity, capacity, memory_order_release);
	ret = validate_header(hdr, capacity);
	if (ret < 0)
		return ret;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	wb = mb_segment_waitblock(seg);
	mb_segment_ref(seg);
	q->seg = seg;
	q->hdr = hdr;
	q->data = (unsigned char *)seg->map.base + MEMBRIDGE_SPSC_HEADER;
	q->capacity = capacity;
	q->data_event = wb ? &wb->event[MB_EVENT_DATA] : NULL;
	q->space_event = wb ? &wb->event[MB_EVENT_SPACE] : NULL;
	mb_bell_init(&q->data_bell);
	mb_bell_init(&q->space_bell);
	q->sender = -1;
	*spscp = q;
	return 0;
}

void membridge_spsc_close(struct membridge_spsc *q)
{
	if (!q)
		return;
	mb_bell_close(&q->data_bell);
	mb_bell_close(&q->space_bell);
	mb_os_doorbell_close(q->sender);
	mb_segment_unref(q->seg);
	free(q);
}

size_t membridge_spsc_frame_size(size_t len)
{
	if (len > UINT32_MAX || len > SIZE_MAX - MEMBRIDGE_SPSC_FRAME_HEADER)
		return 0;
	return MEMBRIDGE_SPSC_FRAME_HEADER + len;
}

size_t membridge_spsc_capacity(const struct membridge_spsc *q)
{
	return (size_t)q->capacity;
}

/* ------------------------------------------------------------ producer */

struct space_wait {
	struct membridge_spsc *q;
	uint64_t need;
	uint64_t tail; /* where the frame goes, once ready */
	uint64_t room; /* bytes free from tail on */
};

static int space_ready(void *ctx)
{
	struct space_wait *w = ctx;
	uint64_t head;
	int ret = read_header(w->q->hdr, w->q->capacity, &head, &w->tail);

	if (ret < 0)
		return ret;
	w->room = w->q->capacity - (w->tail - head);
	return w->room >= w->need;
}

/* Wait until `need` bytes are free; *tail gets the index to write at and
 * *room the bytes free from there. */
static int reserve(struct membridge_spsc *q, uint64_t need, int64_t timeout_ns, uint64_t *tail,
		   uint64_t *room)
{
	struct space_wait w = { q, need, 0, 0 };
	int ret = mb_event_wait_bell(q->space_event, &q->space_bell, timeout_ns,
				     MB_RING_SLICE_MAX_NS, space_ready, &w);

	if (ret < 0)
		return ret;
	*tail = w.tail;
	*room = w.room;
	return 0;
}

static void publish_tail(struct membridge_spsc *q, uint64_t tail)
{
	atomic_store_explicit(&q->hdr->tail, tail, memory_order_release);
	mb_event_notify(q->data_event, &q->sender);
}

/* Write the frame header and pieces at tail; returns the tail after it. */
static uint64_t put_frame(struct membridge_spsc *q, uint64_t tail,
			  const struct membridge_iovec *iov, size_t count, uint32_t len)
{
	size_t i;

	ring_put(q, tail, &len, MEMBRIDGE_SPSC_FRAME_HEADER);
	tail += MEMBRIDGE_SPSC_FRAME_HEADER;
	for (i = 0; i < count; i++) {
		if (iov[i].len) {
			ring_put(q, tail, iov[i].base, iov[i].len);
			tail += iov[i].len;
		}
	}
	return tail;
}

/* Payload length of a gathered message, or -EMSGSIZE if its frame can
 * never fit the ring. */
static int payload_length(const struct membridge_spsc *q, const struct membridge_iovec *iov,
			  size_t count, uint32_t *len)
{
	size_t total = 0, frame, i;

	if (count && !iov)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		if (iov[i].len && !iov[i].base)
			return -EINVAL;
		if (iov[i].len > q->capacity - total)
			return -EMSGSIZE;
		total += iov[i].len;
	}
	frame = membridge_spsc_frame_size(total);
	if (frame == 0 || frame > q->capacity)
		return -EMSGSIZE;
	*len = (uint32_t)total;
	return 0;
}

int membridge_spsc_pushv(struct membridge_spsc *q, const struct membridge_iovec *iov,
			 size_t count, int64_t timeout_ns)
{
	uint64_t tail, room;
	uint32_t len;
	int ret = payload_length(q, iov, count, &len);

	if (ret < 0 ||
	    (ret = reserve(q, membridge_spsc_frame_size(len), timeout_ns, &tail, &room)) < 0)
		return ret;
	publish_tail(q, put_frame(q, tail, iov, count, len));
	return 0;
}

int membridge_spsc_push(struct membridge_spsc *q, const void *buf, size_t len,
			int64_t timeout_ns)
{
	struct membridge_iovec iov = { buf, len };

	return membridge_spsc_pushv(q, &iov, 1, timeout_ns);
}

int membridge_spsc_push_batch(struct membridge_spsc *q, const struct membridge_iovec *msgs,
			      size_t count, size_t *pushed, int64_t timeout_ns)
{
	uint64_t tail, room;
	uint32_t len;
	size_t i, frame;
	int ret;

	if (!pushed || (count && !msgs))
		return -EINVAL;
	*pushed = 0;
	for (i = 0; i < count; i++) {
		ret = payload_length(q, &msgs[i], 1, &len);
		if (ret < 0)
			return ret;
	}
	if (count == 0)
		return 0;
	ret = reserve(q, membridge_spsc_frame_size(msgs[0].len), timeout_ns, &tail, &room);
	if (ret < 0)
		return ret;
	/* Every length was checked above: each fits a frame. */
	for (i = 0; i < count; i++) {
		frame = membridge_spsc_frame_size(msgs[i].len);
		if (frame > room)
			break;
		tail = put_frame(q, tail, &msgs[i], 1, (uint32_t)msgs[i].len);
		room -= frame;
	}
	publish_tail(q, tail);
	*pushed = i;
	return 0;
}

/* ------------------------------------------------------------ consumer */

/* Read and check the frame at head, given `avail` published bytes. */
static int frame_at(const struct membridge_spsc *q, uint64_t head, uint64_t avail,
		    struct membridge_frame *f)
{
	size_t off;
	uint32_t len;

	if (avail < MEMBRIDGE_SPSC_FRAME_HEADER)
		return -EBADMSG;
	ring_get(q, head, &len, MEMBRIDGE_SPSC_FRAME_HEADER);
	if (len > avail - MEMBRIDGE_SPSC_FRAME_HEADER)
		return -EBADMSG;
	off = (size_t)((head + MEMBRIDGE_SPSC_FRAME_HEADER) & (q->capacity - 1));
	f->len = len;
	f->part[0] = q->data + off;
	f->part_len[0] = len < q->capacity - off ? len : (size_t)(q->capacity - off);
	f->part[1] = q->data;
	f->part_len[1] = len - f->part_len[0];
	f->start = head;
	f->end = head + membridge_spsc_frame_size(len);
	return 0;
}

struct data_wait {
	struct membridge_spsc *q;
	uint64_t head;  /* where the next frame starts, once ready */
	uint64_t avail; /* bytes published beyond head */
};

static int data_ready(void *ctx)
{
	struct data_wait *w = ctx;
	uint64_t tail;
	int ret = read_header(w->q->hdr, w->q->capacity, &w->head, &tail);

	if (ret < 0)
		return ret;
	w->avail = tail - w->head;
	return w->avail > 0;
}

/* Wait for a message; fills *f with the frame at the head and *avail with
 * the bytes published from there on. */
static int next_frame(struct membridge_spsc *q, int64_t timeout_ns, struct membridge_frame *f,
		      uint64_t *avail)
{
	struct data_wait w = { q, 0, 0 };
	int ret = mb_event_wait_bell(q->data_event, &q->data_bell, timeout_ns,
				     MB_RING_SLICE_MAX_NS, data_ready, &w);

	if (ret < 0)
		return ret;
	*avail = w.avail;
	return frame_at(q, w.head, w.avail, f);
}

static void publish_head(struct membridge_spsc *q, uint64_t head)
{
	atomic_store_explicit(&q->hdr->head, head, memory_order_release);
	mb_event_notify(q->space_event, &q->sender);
}

int membridge_spsc_peek(struct membridge_spsc *q, struct membridge_frame *frame,
			int64_t timeout_ns)
{
	uint64_t avail;

	return frame ? next_frame(q, timeout_ns, frame, &avail) : -EINVAL;
}

int membridge_spsc_consume(struct membridge_spsc *q, const struct membridge_frame *frame)
{
	uint64_t head, tail;
	uint32_t stored;
	int ret;

	if (!frame || frame->len > q->capacity - MEMBRIDGE_SPSC_FRAME_HEADER ||
	    frame->end - frame->start != membridge_spsc_frame_size(frame->len))
		return -EINVAL;
	ret = read_header(q->hdr, q->capacity, &head, &tail);
	if (ret < 0)
		return ret;
	if (head != frame->start)
		return -ESTALE;
	if (frame->end - head > tail - head)
		return -EINVAL; /* not a frame the producer published */
	ring_get(q, head, &stored, MEMBRIDGE_SPSC_FRAME_HEADER);
	if (stored != frame->len)
		return -EINVAL; /* not the frame at head */
	publish_head(q, frame->end);
	return 0;
}

int membridge_spsc_pop(struct membridge_spsc *q, void *buf, size_t cap, size_t *len,
		       int64_t timeout_ns)
{
	struct membridge_frame f;
	uint64_t avail;
	int ret;

	if (!len || (cap && !buf))
		return -EINVAL;
	ret = next_frame(q, timeout_ns, &f, &avail);
	if (ret < 0)
		return ret;
	*len = f.len;
	if (f.len > cap)
		return -ENOBUFS;
	ring_get(q, f.start + MEMBRIDGE_SPSC_FRAME_HEADER, buf, f.len);
	publish_head(q, f.end);
	return 0;
}

int membridge_spsc_pop_batch(struct membridge_spsc *q, size_t max, membridge_frame_fn fn,
			     void *ctx, size_t *popped, int64_t timeout_ns)
{
	struct membridge_frame f;
	uint64_t head, avail;
	size_t n = 0;
	int ret;

	if (!fn || !popped)
		return -EINVAL;
	*popped = 0;
	if (max == 0)
		return 0;
	ret = next_frame(q, timeout_ns, &f, &avail);
	if (ret < 0)
		return ret;
	for (;;) {
		ret = fn(ctx, &f);
		n++;
		head = f.end;
		avail -= f.end - f.start;
		if (ret != 0 || n == max || avail == 0)
			break;
		ret = frame_at(q, head, avail, &f);
		if (ret < 0)
			break;
	}
	publish_head(q, head);
	*popped = n;
	return ret < 0 ? ret : 0;
}

/* ------------------------------------------------------------ accounting */

/* A consistent (head, tail) pair as seen by a third party, which may see
 * both move between its two reads: it reads again before it calls the
 * header corrupt. */
static int snapshot_used(const struct membridge_spsc *q, uint64_t *used)
{
	uint64_t head, tail;
	int i;

	for (i = 0; i < SNAPSHOT_TRIES; i++) {
		if (read_header(q->hdr, q->capacity, &head, &tail) == 0) {
			*used = tail - head;
			return 0;
		}
	}
	return -EBADMSG;
}

int membridge_spsc_used(const struct membridge_spsc *q, size_t *used)
{
	uint64_t u;
	int ret = snapshot_used(q, &u);

	if (ret == 0)
		*used = (size_t)u;
	return ret;
}

int membridge_spsc_space(const struct membridge_spsc *q, size_t *space)
{
	uint64_t u;
	int ret = snapshot_used(q, &u);

	if (ret == 0)
		*space = (size_t)(q->capacity - u);
	return ret;
}

int membridge_spsc_is_empty(const struct membridge_spsc *q)
{
	uint64_t u;
	int ret = snapshot_used(q, &u);

	return ret < 0 ? ret : u == 0;
}

int membridge_spsc_is_full(const struct membridge_spsc *q)
{
	uint64_t u;
	int ret = snapshot_used(q, &u);

	return ret < 0 ? ret : u >= q->capacity;
}

/* A descriptor needs the companion: its events carry the doorbell. */
static int ring_fd(struct mb_event *ev, struct mb_bell *b)
{
	return ev ? mb_bell_fd(b) : -ENOTSUP;
}

int membridge_spsc_data_fd(struct membridge_spsc *q)
{
	if (!q)
		return -EINVAL;
	return ring_fd(q->data_event, &q->data_bell);
}

int membridge_spsc_space_fd(struct membridge_spsc *q)
{
	if (!q)
		return -EINVAL;
	return ring_fd(q->space_event, &q->space_bell);
}
