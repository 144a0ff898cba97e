/* SPDX-License-Identifier: MIT */
/*
 * The channel (channel-layout.h, membridge(7)): one publisher writes
 * records into a data area shared by all; each subscriber slot holds the
 * position up to which its subscriber has released them. The publisher may
 * write up to the oldest active slot's head plus the data size (its
 * `limit`, recomputed only when a loan needs more), so the fast paths touch
 * no other process's line but the tail.
 *
 * A joining subscriber and a publisher recomputing its limit follow a
 * store-fence-load handshake: the subscriber stores its head and ACTIVE,
 * fences (heavy), and reads `reserve`; the publisher stores `reserve` (a
 * bound on what it may write), fences (light), and reads the slots. Either
 * the publisher sees the new slot, or the subscriber sees a reserve it can
 * check its start against (and retries from a newer start if it must).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "channel-layout.h"
#include "internal.h"

/* How often a blocked publisher checks whether the subscribers that hold
 * it back still live. */
#define REAP_CHECK_NS INT64_C(1000000)
/* How often a joining subscriber retries its start before it gives up on
 * a publisher that keeps moving (each try follows a new reserve). */
#define JOIN_TRIES 1000

/* What both roles map, read and validated at open. */
struct chan {
	struct membridge_segment *seg;
	unsigned char *base;
	unsigned char *data;
	struct chan_publisher *pub;
	struct chan_control *ctl;
	struct mb_event *space;
	struct mb_event *data_wait;
	uint64_t size;        /* data_size */
	uint64_t mask;        /* size - 1 when size is a power of two, else 0 */
	uint64_t max_message;
	uint32_t nslots;
	uint64_t self;        /* this process's record */
	struct mb_bell bell;  /* the handle's descriptor */
	int sender;           /* socket that rings others' doorbells, -1 */
};

struct membridge_publisher {
	struct chan c;
	uint64_t published;   /* the tail as we stored it */
	uint64_t write;       /* the position after the newest loan */
	uint64_t next_seq;    /* the sequence number of the first unpublished loan */
	unsigned loans;
	uint64_t last_pos;    /* the newest loan's payload position and length */
	uint64_t last_len;
	uint64_t limit;       /* we may write below this without looking again */
	int64_t next_reap;
	uint64_t *gone;       /* per slot: the owner record known dead, or 0 */
	uint32_t mark;        /* this publisher's epoch mark, in place in kind */
};

/* Where a subscriber is in the stream (saved and put back by a read that
 * finds its buffer too small). */
struct cursor {
	uint64_t read;        /* the next payload position to read */
	uint64_t next_seq;    /* the sequence number expected next */
	bool have_seq;
	uint32_t epoch;       /* the epoch mark of the last message */
	unsigned held;        /* messages received since the last release */
};

struct membridge_subscriber {
	struct chan c;
	struct chan_slot *slot;
	unsigned index;
	uint64_t released;    /* what the slot's head holds */
	uint64_t tail;        /* the tail last read */
	struct cursor cur;
};

/* ------------------------------------------------------------ layout */

static struct chan_slot *slot_at(const struct chan *c, uint32_t i)
{
	return (void *)(c->base + CHAN_OFF_SLOTS + (uint64_t)CHAN_LINE * i);
}

/* Where stream position pos falls in the data area. Every loan and every
 * receive needs it a few times: a mask for the usual power-of-two sizes
 * instead of a division. */
static uint64_t data_offset(const struct chan *c, uint64_t pos)
{
	return c->mask ? pos & c->mask : pos % c->size;
}

/* The record header of the payload at pos (16 bytes before it, circularly). */
static struct chan_record *record_at(const struct chan *c, uint64_t pos)
{
	uint64_t off = data_offset(c, pos);

	return (void *)(c->data + (off ? off : c->size) - CHAN_RECORD_HEADER);
}

/*
 * The message record for stream position pos, copied into *r once (a peer
 * may change the original) and checked against the shape and `bound`, the
 * tail it was published under: after a WRAP record it is the one at the
 * start of the next lap. *at gets the position of its payload. -EBADMSG
 * for anything a publisher does not write.
 */
static int read_record(const struct chan *c, uint64_t pos, uint64_t bound,
		       struct chan_record *r, uint64_t *at)
{
	uint64_t off;

	memcpy(r, record_at(c, pos), sizeof(*r));
	if (CHAN_RECORD_KIND(r->kind) == RECORD_WRAP) {
		off = data_offset(c, pos);
		if (off == 0)
			return -EBADMSG;
		pos += c->size - off;
		if (pos >= bound)
			return -EBADMSG;
		memcpy(r, record_at(c, pos), sizeof(*r));
	}
	if (CHAN_RECORD_KIND(r->kind) != RECORD_MESSAGE || r->len > c->max_message ||
	    data_offset(c, pos) + r->len > c->size || chan_next_pos(pos, r->len) > bound)
		return -EBADMSG;
	*at = pos;
	return 0;
}

size_t membridge_channel_record_size(size_t len)
{
	if (len > MEMBRIDGE_CHANNEL_MAX_MESSAGE)
		return 0;
	return (size_t)chan_next_pos(0, len);
}

/* The shape rules; version and flags are checked by the callers, whose
 * errors for them differ. */
static bool shape_valid(const struct membridge_channel_config *cfg)
{
	return cfg->subscribers >= 1 && cfg->subscribers <= MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS &&
	       cfg->max_message >= 1 && cfg->max_message <= MEMBRIDGE_CHANNEL_MAX_MESSAGE &&
	       cfg->data_size % CHAN_ALIGN == 0 &&
	       cfg->data_size / 2 >= chan_next_pos(0, cfg->max_message) &&
	       cfg->data_size <= (uint64_t)SIZE_MAX - chan_data_offset(cfg->subscribers) &&
	       cfg->data_size <= UINT64_MAX / 4;
}

size_t membridge_channel_segment_size(const struct membridge_channel_config *cfg)
{
	if (!cfg || cfg->flags != 0 || !shape_valid(cfg))
		return 0;
	return (size_t)(chan_data_offset(cfg->subscribers) + cfg->data_size);
}

int membridge_channel_init(struct membridge_segment *seg,
			   const struct membridge_channel_config *cfg)
{
	struct chan_header *hdr;

	if (!seg || !cfg)
		return -EINVAL;
	if (membridge_channel_segment_size(cfg) != seg->map.size)
		return -EINVAL;
	if (!seg->creator)
		return -EPERM;
	hdr = seg->map.base;
	if (atomic_load_explicit(&hdr->magic, memory_order_acquire) != 0 || hdr->version != 0)
		return -EEXIST;
	hdr->version = MEMBRIDGE_CHANNEL_VERSION;
	hdr->flags = cfg->flags;
	hdr->subscribers = cfg->subscribers;
	hdr->data_size = cfg->data_size;
	hdr->max_message = cfg->max_message;
	atomic_store_explicit(&hdr->magic, CHAN_MAGIC, memory_order_release);
	return 0;
}

/* Whether the size bytes at base start with a channel's magic. */
static bool has_magic(const void *base, size_t size)
{
	return size >= sizeof(struct chan_header) &&
	       atomic_load_explicit(&((struct chan_header *)base)->magic, memory_order_relaxed) ==
		       CHAN_MAGIC;
}

/* Read and check the header of the channel at base (size bytes). */
static int read_config(const void *base, size_t size, struct membridge_channel_config *cfg)
{
	const struct chan_header *hdr = base;
	uint32_t magic, version;

	if (size < CHAN_OFF_SLOTS)
		return -EBADMSG;
	magic = atomic_load_explicit(&((struct chan_header *)base)->magic, memory_order_acquire);
	version = hdr->version;
	if (magic == 0)
		return -EAGAIN; /* the creator stores the magic last */
	if (magic != CHAN_MAGIC || version == 0)
		return -EBADMSG;
	if (version > MEMBRIDGE_CHANNEL_VERSION)
		return -EPROTO;
	cfg->data_size = hdr->data_size;
	cfg->max_message = hdr->max_message;
	cfg->subscribers = hdr->subscribers;
	cfg->flags = hdr->flags;
	if (cfg->flags != 0)
		return -EPROTO; /* a policy of a newer library */
	if (!shape_valid(cfg) || membridge_channel_segment_size(cfg) != size)
		return -EBADMSG;
	return 0;
}

int membridge_channel_config(const struct membridge_segment *seg,
			     struct membridge_channel_config *cfg)
{
	struct membridge_channel_config got;
	int ret;

	if (!seg || !cfg)
		return -EINVAL;
	ret = read_config(seg->map.base, seg->map.size, &got);
	if (ret == 0)
		*cfg = got;
	return ret;
}

/* Point c at the channel of shape cfg at base (no reference taken). */
static void chan_map(struct chan *c, void *base, const struct membridge_channel_config *cfg)
{
	c->base = base;
	c->data = c->base + chan_data_offset(cfg->subscribers);
	/* Through void *: every line starts at a multiple of 128 of a mapping. */
	c->pub = (void *)(c->base + CHAN_OFF_PUBLISHER);
	c->ctl = (void *)(c->base + CHAN_OFF_CONTROL);
	c->space = (void *)(c->base + CHAN_OFF_SPACE);
	c->data_wait = (void *)(c->base + CHAN_OFF_DATA_WAIT);
	c->size = cfg->data_size;
	c->mask = (c->size & (c->size - 1)) == 0 ? c->size - 1 : 0;
	c->max_message = cfg->max_message;
	c->nslots = cfg->subscribers;
	mb_bell_init(&c->bell);
	c->sender = -1;
}

static int chan_open(struct chan *c, struct membridge_segment *seg)
{
	struct membridge_channel_config cfg;
	int ret;

	if (!seg)
		return -EINVAL;
	ret = read_config(seg->map.base, seg->map.size, &cfg);
	if (ret < 0)
		return ret;
	chan_map(c, seg->map.base, &cfg);
	c->seg = seg;
	c->self = mb_process_record();
	mb_segment_ref(seg);
	return 0;
}

static void chan_close(struct chan *c)
{
	mb_bell_close(&c->bell);
	mb_os_doorbell_close(c->sender);
	mb_segment_unref(c->seg);
}


/* ------------------------------------------------------------ publisher */

/* Ring slot s's doorbell if its subscriber armed it (once per arming). */
static void ring_slot(struct membridge_publisher *p, struct chan_slot *s)
{
	if (!atomic_load_explicit(&s->armed, memory_order_relaxed) ||
	    !atomic_exchange_explicit(&s->armed, 0, memory_order_acquire))
		return;
	atomic_fetch_sub_explicit(&p->c.data_wait->armed, 1, memory_order_relaxed);
	mb_os_doorbell_ring(&p->c.sender, atomic_load_explicit(&s->nonce, memory_order_relaxed));
}

/* Tell every armed subscriber's doorbell that a message came. */
static void ring_subscribers(struct membridge_publisher *p)
{
	uint32_t i;

	for (i = 0; i < p->c.nslots; i++)
		ring_slot(p, slot_at(&p->c, i));
}

/* After publishing: wake the sleepers and ring the armed doorbells. */
static void notify_subscribers(struct membridge_publisher *p)
{
	struct mb_event *ev = p->c.data_wait;

	/* No sender: the data event's `armed` is a count (channel-layout.h). */
	mb_event_notify(ev, NULL);
	if (atomic_load_explicit(&ev->armed, memory_order_relaxed))
		ring_subscribers(p);
}

/*
 * Recompute the limit: the oldest head of an active subscriber (or the
 * tail, with none) plus the data size. A slot whose head no subscriber can
 * have (past the tail, more than a lap behind, not on a record boundary)
 * is evicted. With `reap`, the owners of slots that hold back a loan
 * ending at `need` are checked, and those found gone are skipped from then
 * on (their slot stays until a new subscriber takes it).
 */
static void refresh_limit(struct membridge_publisher *p, uint64_t need, bool reap)
{
	struct chan *c = &p->c;
	uint64_t tail = p->published, min = tail;
	uint32_t i;

	atomic_store_explicit(&c->ctl->reserve, tail + c->size, memory_order_relaxed);
	mb_os_fence_light();
	for (i = 0; i < c->nslots; i++) {
		struct chan_slot *s = slot_at(c, i);
		uint64_t head, owner;
		uint32_t state = SLOT_ACTIVE;

		if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_ACTIVE)
			continue;
		owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
		if (p->gone[i] && p->gone[i] == owner)
			continue;
		head = atomic_load_explicit(&s->head, memory_order_acquire);
		if (head > tail || tail - head > c->size || head % CHAN_ALIGN != 0) {
			atomic_compare_exchange_strong_explicit(&s->state, &state, SLOT_EVICTED,
								memory_order_relaxed,
								memory_order_relaxed);
			continue;
		}
		if (reap && head + c->size < need && mb_process_gone(owner, c->self)) {
			p->gone[i] = owner;
			continue;
		}
		if (head < min)
			min = head;
	}
	p->limit = min + c->size;
	atomic_store_explicit(&c->ctl->reserve, p->limit, memory_order_relaxed);
}

static bool still_publisher(const struct membridge_publisher *p)
{
	return atomic_load_explicit(&p->c.ctl->owner, memory_order_relaxed) == p->c.self;
}

struct space_wait {
	struct membridge_publisher *p;
	uint64_t need;
};

static int space_ready(void *ctx)
{
	struct space_wait *w = ctx;
	struct membridge_publisher *p = w->p;
	int64_t now;

	if (w->need <= p->limit)
		return 1;
	if (!still_publisher(p))
		return -ECONNRESET;
	refresh_limit(p, w->need, false);
	if (w->need <= p->limit)
		return 1;
	/* Still held back: is a subscriber holding it dead? That costs a
	 * system call per slot, so it is asked at most once per
	 * REAP_CHECK_NS, over this wait and the calls that retry it. */
	now = mb_os_now_ns();
	if (now < p->next_reap)
		return 0;
	p->next_reap = now + REAP_CHECK_NS;
	refresh_limit(p, w->need, true);
	return w->need <= p->limit;
}

/* Room for a loan ending at need: at once, or after waiting. */
static int wait_space(struct membridge_publisher *p, uint64_t need, int64_t timeout_ns)
{
	struct space_wait w = { p, need };
	int ret;

	ret = mb_event_wait_bell(p->c.space, &p->c.bell, timeout_ns, MB_RING_SLICE_MAX_NS,
				 space_ready, &w);
	return ret;
}

int membridge_publisher_open(struct membridge_segment *seg, struct membridge_publisher **pubp)
{
	struct membridge_publisher *p;
	uint64_t owner, tail;
	int ret;

	if (!seg || !pubp)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	ret = chan_open(&p->c, seg);
	if (ret < 0) {
		free(p);
		return ret;
	}
	p->gone = calloc(p->c.nslots, sizeof(*p->gone));
	if (!p->gone) {
		ret = -ENOMEM;
		goto fail;
	}
	owner = atomic_load_explicit(&p->c.ctl->owner, memory_order_acquire);
	for (;;) {
		if (owner != 0 && !mb_process_gone(owner, p->c.self)) {
			ret = -EBUSY;
			goto fail;
		}
		if (atomic_compare_exchange_weak_explicit(&p->c.ctl->owner, &owner, p->c.self,
							  memory_order_acquire,
							  memory_order_acquire))
			break;
	}
	tail = atomic_load_explicit(&p->c.pub->tail, memory_order_acquire);
	if (tail % CHAN_ALIGN != 0 || tail > UINT64_MAX / 2) {
		atomic_store_explicit(&p->c.ctl->owner, 0, memory_order_release);
		ret = -EBADMSG;
		goto fail;
	}
	atomic_store_explicit(&p->c.ctl->scope, mb_os_doorbell_scope(), memory_order_relaxed);
	/* A dead publisher's doorbell is gone with it. */
	atomic_store_explicit(&p->c.space->armed, 0, memory_order_relaxed);
	p->published = p->write = tail;
	p->next_seq = atomic_load_explicit(&p->c.pub->next_seq, memory_order_relaxed);
	p->mark = (uint32_t)(atomic_fetch_add_explicit(&p->c.ctl->epoch, 1, memory_order_relaxed) + 1)
		  << 8;
	p->limit = tail;
	*pubp = p;
	return 0;
fail:
	chan_close(&p->c);
	free(p->gone);
	free(p);
	return ret;
}

void membridge_publisher_close(struct membridge_publisher *p)
{
	uint64_t self;

	if (!p)
		return;
	self = p->c.self;
	if (still_publisher(p))
		atomic_store_explicit(&p->c.space->armed, 0, memory_order_relaxed);
	atomic_compare_exchange_strong_explicit(&p->c.ctl->owner, &self, 0,
						memory_order_release, memory_order_relaxed);
	chan_close(&p->c);
	free(p->gone);
	free(p);
}

static void put_record(struct chan *c, uint64_t pos, uint32_t len, uint32_t kind, uint64_t seq)
{
	struct chan_record r = { len, kind, seq };

	memcpy(record_at(c, pos), &r, sizeof(r));
}

int membridge_publisher_loan(struct membridge_publisher *p, size_t len, void **data,
			     int64_t timeout_ns)
{
	struct chan *c;
	uint64_t pos, off, end;
	int ret;

	if (!p || !data || timeout_ns < MEMBRIDGE_WAIT_FOREVER)
		return -EINVAL;
	c = &p->c;
	if (len > c->max_message)
		return -EMSGSIZE;
	pos = p->write;
	off = data_offset(c, pos);
	if (off + len > c->size)
		pos += c->size - off;
	end = chan_next_pos(pos, len);
	if (end - p->published > c->size)
		return -ENOBUFS; /* never fits beside the loans: publish them first */
	if (end > p->limit) {
		ret = wait_space(p, end, timeout_ns);
		if (ret < 0)
			return ret;
	}
	if (pos != p->write)
		put_record(c, p->write, 0, RECORD_WRAP | p->mark, p->next_seq + p->loans);
	put_record(c, pos, (uint32_t)len, RECORD_MESSAGE | p->mark, p->next_seq + p->loans);
	p->loans++;
	p->last_pos = pos;
	p->last_len = len;
	p->write = end;
	*data = c->data + data_offset(c, pos);
	return 0;
}

int membridge_publisher_shrink(struct membridge_publisher *p, size_t len)
{
	if (!p || p->loans == 0 || len > p->last_len)
		return -EINVAL;
	record_at(&p->c, p->last_pos)->len = (uint32_t)len;
	p->last_len = len;
	p->write = chan_next_pos(p->last_pos, len);
	return 0;
}

int membridge_publisher_publish(struct membridge_publisher *p)
{
	unsigned n;

	if (!p)
		return -EINVAL;
	n = p->loans;
	if (n == 0)
		return 0;
	if (!still_publisher(p)) {
		membridge_publisher_abort(p);
		return -ECONNRESET;
	}
	p->next_seq += n;
	p->loans = 0;
	p->published = p->write;
	atomic_store_explicit(&p->c.pub->next_seq, p->next_seq, memory_order_relaxed);
	atomic_store_explicit(&p->c.pub->tail, p->published, memory_order_release);
	notify_subscribers(p);
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int membridge_publisher_abort(struct membridge_publisher *p)
{
	unsigned n;

	if (!p)
		return -EINVAL;
	n = p->loans;
	p->loans = 0;
	p->write = p->published;
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

/* Loan len bytes and gather iov into them; the loan stays unpublished. */
static int loan_gather(struct membridge_publisher *p, const struct membridge_iovec *iov,
		       size_t count, int64_t timeout_ns)
{
	unsigned char *dst;
	size_t len = 0, i;
	void *data;
	int ret;

	for (i = 0; i < count; i++) {
		if (iov[i].len && !iov[i].base)
			return -EINVAL;
		if (iov[i].len > SIZE_MAX - len)
			return -EMSGSIZE;
		len += iov[i].len;
	}
	ret = membridge_publisher_loan(p, len, &data, timeout_ns);
	if (ret < 0)
		return ret;
	dst = data;
	for (i = 0; i < count; i++) {
		if (iov[i].len)
			memcpy(dst, iov[i].base, iov[i].len);
		dst += iov[i].len;
	}
	return 0;
}

int membridge_publisher_sendv(struct membridge_publisher *p, const struct membridge_iovec *iov,
			      size_t count, int64_t timeout_ns)
{
	int ret;

	if (!p || (count && !iov))
		return -EINVAL;
	ret = loan_gather(p, iov, count, timeout_ns);
	if (ret < 0)
		return ret;
	ret = membridge_publisher_publish(p);
	return ret < 0 ? ret : 0;
}

int membridge_publisher_send(struct membridge_publisher *p, const void *buf, size_t len,
			     int64_t timeout_ns)
{
	struct membridge_iovec one = { buf, len };

	return membridge_publisher_sendv(p, &one, 1, timeout_ns);
}

int membridge_publisher_send_batch(struct membridge_publisher *p,
				   const struct membridge_iovec *msgs, size_t count,
				   size_t *sent, int64_t timeout_ns)
{
	size_t i;
	int ret = 0;

	if (sent)
		*sent = 0;
	if (!p || !sent || (count && !msgs))
		return -EINVAL;
	for (i = 0; i < count; i++) {
		ret = loan_gather(p, &msgs[i], 1, i == 0 ? timeout_ns : MEMBRIDGE_NO_WAIT);
		if (ret < 0)
			break;
	}
	if (i == 0)
		return ret;
	ret = membridge_publisher_publish(p);
	if (ret < 0)
		return ret;
	*sent = i;
	return 0;
}

int membridge_publisher_fd(struct membridge_publisher *p)
{
	if (!p)
		return -EINVAL;
	return mb_bell_fd(&p->c.bell);
}

/* The sequence number of the record at pos (a WRAP leads to the next
 * lap's), or -1 if it is not a plausible record below the tail. */
static int64_t seq_at(const struct chan *c, uint64_t pos, uint64_t tail)
{
	struct chan_record r;

	if (read_record(c, pos, tail, &r, &pos) < 0 || r.seq > INT64_MAX)
		return -1;
	return (int64_t)r.seq;
}

/* What slot i says, judged against the tail and next_seq (as a reader
 * with no other knowledge can); false for a free slot. */
static bool slot_info(const struct chan *c, uint32_t i, uint64_t tail, uint64_t next_seq,
		      struct membridge_subscriber_info *in)
{
	struct chan_slot *s = slot_at(c, i);
	uint64_t owner = atomic_load_explicit(&s->owner, memory_order_relaxed);
	uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);
	uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
	int64_t seq;

	if (!owner || state == SLOT_FREE)
		return false;
	memset(in, 0, sizeof(*in));
	in->slot = i;
	in->active = state == SLOT_ACTIVE;
	in->evicted = state == SLOT_EVICTED;
	in->pid = (int32_t)(uint32_t)owner;
	if (in->active && head <= tail && tail - head <= c->size) {
		in->lag_bytes = tail - head;
		seq = head < tail ? seq_at(c, head, tail) : -1;
		if (seq >= 0 && (uint64_t)seq < next_seq)
			in->lag = next_seq - (uint64_t)seq;
	}
	return true;
}

int membridge_publisher_subscribers(struct membridge_publisher *p,
				    struct membridge_subscriber_info *info, size_t max)
{
	struct membridge_subscriber_info in;
	size_t n = 0;
	uint32_t i;

	if (!p || (max && !info))
		return -EINVAL;
	for (i = 0; i < p->c.nslots; i++) {
		if (!slot_info(&p->c, i, p->published, p->next_seq, &in))
			continue;
		/* Known gone: it holds nothing back any more. */
		if (p->gone[i] && (int32_t)(uint32_t)p->gone[i] == in.pid)
			in.active = false;
		if (n < max)
			info[n] = in;
		n++;
	}
	return (int)n;
}

int membridge_channel_inspect(const void *base, size_t size, struct membridge_channel_info *info,
			      struct membridge_subscriber_info *slots, size_t max)
{
	struct membridge_subscriber_info in;
	struct chan c;
	uint64_t owner, oldest;
	size_t n = 0;
	uint32_t i;
	int ret;

	if (!base || !info || (max && !slots))
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	ret = read_config(base, size, &info->config);
	if (ret == -EBADMSG && !has_magic(base, size))
		return -ENOTSUP;
	if (size >= sizeof(struct chan_header))
		info->version = ((const struct chan_header *)base)->version;
	if (ret < 0)
		return ret;
	chan_map(&c, (void *)base, &info->config);
	info->tail = atomic_load_explicit(&c.pub->tail, memory_order_acquire);
	if (info->tail % CHAN_ALIGN != 0 || info->tail > UINT64_MAX / 2)
		return -EBADMSG;
	info->next_seq = atomic_load_explicit(&c.pub->next_seq, memory_order_relaxed);
	owner = atomic_load_explicit(&c.ctl->owner, memory_order_relaxed);
	info->publisher = owner ? (int32_t)(uint32_t)owner : 0;
	oldest = info->tail;
	for (i = 0; i < c.nslots; i++) {
		if (!slot_info(&c, i, info->tail, info->next_seq, &in))
			continue;
		if (in.active) {
			info->subscribers++;
			if (info->tail - in.lag_bytes < oldest)
				oldest = info->tail - in.lag_bytes;
		}
		if (n < max)
			slots[n] = in;
		n++;
	}
	info->used = info->tail - oldest;
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int membridge_publisher_evict(struct membridge_publisher *p, unsigned slot)
{
	uint32_t state = SLOT_ACTIVE;
	struct chan_slot *s;

	if (!p || slot >= p->c.nslots)
		return -EINVAL;
	s = slot_at(&p->c, slot);
	if (!atomic_compare_exchange_strong_explicit(&s->state, &state, SLOT_EVICTED,
						     memory_order_relaxed, memory_order_relaxed))
		return -ENOENT;
	/* A sleeping subscriber learns of it now rather than at its next check. */
	mb_event_wake(p->c.data_wait);
	ring_slot(p, s);
	return 0;
}

/* ------------------------------------------------------------ subscriber */

/* Tell the publisher, if it sleeps or armed its doorbell, that space came. */
static void notify_publisher(struct membridge_subscriber *sub)
{
	mb_event_notify(sub->c.space, &sub->c.sender);
}

/* Claim slot i if it is free or its owner is gone. */
static bool claim_slot(struct chan *c, struct chan_slot *s, bool take_dead)
{
	uint64_t owner = atomic_load_explicit(&s->owner, memory_order_relaxed);

	if (owner != 0 && !(take_dead && mb_process_gone(owner, c->self)))
		return false;
	if (owner == 0 && atomic_load_explicit(&s->state, memory_order_relaxed) != SLOT_FREE)
		return false; /* a subscriber between its FREE and clearing owner */
	if (!atomic_compare_exchange_strong_explicit(&s->owner, &owner, c->self,
						     memory_order_acquire, memory_order_relaxed))
		return false;
	atomic_store_explicit(&s->state, SLOT_JOINING, memory_order_relaxed);
	return true;
}

/* The oldest head of another active subscriber, or the tail without one. */
static uint64_t oldest_held(const struct chan *c, const struct chan_slot *self, uint64_t tail)
{
	uint64_t min = tail;
	uint32_t i;

	for (i = 0; i < c->nslots; i++) {
		struct chan_slot *s = slot_at(c, i);
		uint64_t head;

		if (s == self || atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_ACTIVE ||
		    mb_process_gone(atomic_load_explicit(&s->owner, memory_order_relaxed), c->self))
			continue; /* a dead subscriber holds nothing for the living */
		head = atomic_load_explicit(&s->head, memory_order_acquire);
		if (head <= tail && tail - head <= c->size && head % CHAN_ALIGN == 0 && head < min)
			min = head;
	}
	return min;
}

/* Make the claimed slot active at a start the publisher will not overwrite. */
static int join(struct membridge_subscriber *sub, unsigned flags)
{
	struct chan *c = &sub->c;
	uint64_t tail, start, reserve;
	int tries;

	for (tries = 0; tries < JOIN_TRIES; tries++) {
		tail = atomic_load_explicit(&c->pub->tail, memory_order_acquire);
		if (tail % CHAN_ALIGN != 0)
			return -EBADMSG;
		start = flags & MEMBRIDGE_SUBSCRIBE_OLDEST ? oldest_held(c, sub->slot, tail) : tail;
		atomic_store_explicit(&sub->slot->head, start, memory_order_relaxed);
		atomic_store_explicit(&sub->slot->state, SLOT_ACTIVE, memory_order_release);
		mb_os_fence_heavy();
		reserve = atomic_load_explicit(&c->ctl->reserve, memory_order_relaxed);
		if (reserve <= start + c->size) {
			sub->cur.read = sub->released = sub->tail = start;
			return 0;
		}
		atomic_store_explicit(&sub->slot->state, SLOT_JOINING, memory_order_relaxed);
		mb_os_sleep(tries < 10 ? 0 : 1000);
	}
	return -EAGAIN;
}

static void leave(struct membridge_subscriber *sub)
{
	uint64_t self = sub->c.self;

	if (atomic_exchange_explicit(&sub->slot->armed, 0, memory_order_relaxed))
		atomic_fetch_sub_explicit(&sub->c.data_wait->armed, 1, memory_order_relaxed);
	atomic_store_explicit(&sub->slot->nonce, 0, memory_order_relaxed);
	atomic_store_explicit(&sub->slot->state, SLOT_FREE, memory_order_release);
	atomic_compare_exchange_strong_explicit(&sub->slot->owner, &self, 0, memory_order_release,
						memory_order_relaxed);
}

int membridge_subscriber_open(struct membridge_segment *seg, unsigned flags,
			      struct membridge_subscriber **subp)
{
	struct membridge_subscriber *sub;
	uint32_t i;
	int pass, ret;

	if (!seg || !subp || (flags & ~MEMBRIDGE_SUBSCRIBE_OLDEST))
		return -EINVAL;
	sub = calloc(1, sizeof(*sub));
	if (!sub)
		return -ENOMEM;
	ret = chan_open(&sub->c, seg);
	if (ret < 0) {
		free(sub);
		return ret;
	}
	for (pass = 0; pass < 2 && !sub->slot; pass++)
		for (i = 0; i < sub->c.nslots && !sub->slot; i++)
			if (claim_slot(&sub->c, slot_at(&sub->c, i), pass == 1)) {
				sub->slot = slot_at(&sub->c, i);
				sub->index = i;
			}
	if (!sub->slot) {
		ret = -EUSERS;
		goto fail;
	}
	atomic_store_explicit(&sub->slot->armed, 0, memory_order_relaxed);
	atomic_store_explicit(&sub->slot->nonce, 0, memory_order_relaxed);
	ret = join(sub, flags);
	if (ret < 0) {
		leave(sub);
		goto fail;
	}
	*subp = sub;
	return 0;
fail:
	chan_close(&sub->c);
	free(sub);
	return ret;
}

void membridge_subscriber_close(struct membridge_subscriber *sub)
{
	if (!sub)
		return;
	leave(sub);
	notify_publisher(sub);
	chan_close(&sub->c);
	free(sub);
}

unsigned membridge_subscriber_slot(const struct membridge_subscriber *sub)
{
	return sub ? sub->index : 0;
}

/* Whether the slot is still ours: -ECONNRESET once evicted (or taken). */
static int still_subscribed(const struct membridge_subscriber *sub)
{
	if (atomic_load_explicit(&sub->slot->state, memory_order_relaxed) != SLOT_ACTIVE ||
	    atomic_load_explicit(&sub->slot->owner, memory_order_relaxed) != sub->c.self)
		return -ECONNRESET;
	return 0;
}

/* Whether a record may follow the last message received: the next
 * number, or a later one from another publisher (the one before may have
 * died between its two stores: channel-layout.h, epoch). */
static bool seq_follows(const struct membridge_subscriber *sub, const struct chan_record *r)
{
	return !sub->cur.have_seq || r->seq == sub->cur.next_seq ||
	       (r->seq > sub->cur.next_seq && CHAN_RECORD_EPOCH(r->kind) != sub->cur.epoch);
}

/* The next message into *msg: 1, 0 if none is published, or an error.
 * Every field of the record is checked against the header's shape and the
 * tail before the message is handed out. */
static int next_message(struct membridge_subscriber *sub, struct membridge_message *msg)
{
	struct chan *c = &sub->c;
	struct chan_record r;
	uint64_t pos = sub->cur.read;
	int ret = still_subscribed(sub);

	if (ret < 0)
		return ret;
	if (pos == sub->tail) {
		uint64_t tail = atomic_load_explicit(&c->pub->tail, memory_order_acquire);

		if (tail < pos || tail - sub->released > c->size || tail % CHAN_ALIGN != 0)
			return -EBADMSG;
		sub->tail = tail;
		if (pos == tail)
			return 0;
	}
	if (read_record(c, pos, sub->tail, &r, &pos) < 0 || !seq_follows(sub, &r))
		return -EBADMSG;
	msg->data = c->data + data_offset(c, pos);
	msg->len = r.len;
	msg->seq = r.seq;
	sub->cur.read = chan_next_pos(pos, r.len);
	sub->cur.next_seq = r.seq + 1;
	sub->cur.have_seq = true;
	sub->cur.epoch = CHAN_RECORD_EPOCH(r.kind);
	sub->cur.held++;
	return 1;
}

struct message_wait {
	struct membridge_subscriber *sub;
	struct membridge_message *msg;
};

static int message_ready(void *ctx)
{
	struct message_wait *w = ctx;

	return next_message(w->sub, w->msg);
}

/* Arm the doorbell: the next publish rings it. */
static void arm_subscriber(struct membridge_subscriber *sub)
{
	if (!atomic_exchange_explicit(&sub->slot->armed, 1, memory_order_relaxed))
		atomic_fetch_add_explicit(&sub->c.data_wait->armed, 1, memory_order_relaxed);
	sub->c.bell.armed = true;
	mb_os_fence_heavy();
}

/* The subscriber's doorbell, its address in the slot for the publisher. */
static int subscriber_fd(struct membridge_subscriber *sub)
{
	int fd = sub->c.bell.fd;

	if (fd < 0) {
		fd = mb_bell_fd(&sub->c.bell);
		if (fd >= 0)
			atomic_store_explicit(&sub->slot->nonce, sub->c.bell.address,
					      memory_order_release);
	}
	return fd;
}

/* Whether the subscriber can sleep on its doorbell: a publisher is there
 * and can ring it, from the namespace the doorbell was made in (see
 * chan_control.scope). */
static bool doorbell_reachable(struct membridge_subscriber *sub)
{
	struct chan_control *ctl = sub->c.ctl;
	uint64_t scope = atomic_load_explicit(&ctl->scope, memory_order_relaxed);

	return atomic_load_explicit(&ctl->owner, memory_order_relaxed) != 0 && scope != 0 &&
	       subscriber_fd(sub) >= 0 && scope == sub->c.bell.scope;
}

/*
 * Sleep on the doorbell until a message comes: arm it, re-check (the
 * heavy fence in arming orders the two against the publisher's light
 * fence between its tail store and its look at `armed`), then ppoll with
 * the caller's signal mask, which makes a handler end the wait at once and
 * costs nothing while idle. It re-checks every DOORBELL_RECHECK_NS anyway,
 * and returns 0 (not ready) when the publisher left or changed, for the
 * caller to wait on the futex instead.
 */
#define DOORBELL_RECHECK_NS INT64_C(1000000000)
static int doorbell_sleep(struct membridge_subscriber *sub, struct membridge_message *msg,
			  int64_t deadline, const mb_sigmask *sigs)
{
	int64_t now, until;
	int ret;

	for (;;) {
		arm_subscriber(sub);
		ret = next_message(sub, msg);
		if (ret != 0)
			return ret;
		now = mb_os_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		until = deadline - now < DOORBELL_RECHECK_NS ? deadline : now + DOORBELL_RECHECK_NS;
		ret = mb_os_doorbell_wait(sub->c.bell.fd, until, sigs);
		if (ret < 0 && ret != -ETIMEDOUT)
			return ret;
		mb_bell_drain(&sub->c.bell);
		if (!doorbell_reachable(sub))
			return 0;
	}
}

int membridge_subscriber_receive(struct membridge_subscriber *sub,
				 struct membridge_message *msg, int64_t timeout_ns)
{
	struct message_wait w = { sub, msg };
	mb_sigmask sigs;
	int64_t deadline;
	int ret;

	if (!sub || !msg || timeout_ns < MEMBRIDGE_WAIT_FOREVER)
		return -EINVAL;
	mb_bell_drain(&sub->c.bell);
	ret = next_message(sub, msg);
	if (ret != 0)
		return ret > 0 ? 0 : ret;
	if (timeout_ns == MEMBRIDGE_NO_WAIT) {
		if (sub->c.bell.fd < 0)
			return -EAGAIN;
		/* For the descriptor's user: the next publish makes it readable. */
		arm_subscriber(sub);
		ret = next_message(sub, msg);
		return ret > 0 ? 0 : ret < 0 ? ret : -EAGAIN;
	}
	/* As mb_event_wait, with the doorbell as the first choice of sleep. */
	deadline = mb_deadline(timeout_ns);
	mb_os_signals_block(&sigs);
	ret = mb_event_spin(deadline, message_ready, &w);
	if (ret == 0 && doorbell_reachable(sub))
		ret = doorbell_sleep(sub, msg, deadline, &sigs);
	if (ret == 0)
		ret = mb_event_sleep(sub->c.data_wait, deadline, MB_RING_SLICE_MAX_NS,
				     message_ready, &w, &sigs);
	mb_os_signals_restore(&sigs);
	return ret > 0 ? 0 : ret;
}

int membridge_subscriber_receive_batch(struct membridge_subscriber *sub,
				       struct membridge_message *msgs, size_t max,
				       int64_t timeout_ns)
{
	size_t n;
	int ret;

	if (!sub || !msgs || max == 0)
		return -EINVAL;
	ret = membridge_subscriber_receive(sub, &msgs[0], timeout_ns);
	if (ret < 0)
		return ret;
	/* An error after the first message waits for the next call. */
	for (n = 1; n < max && n < INT32_MAX; n++)
		if (next_message(sub, &msgs[n]) <= 0)
			break;
	return (int)n;
}

/* Give back the space up to `end`: n of the held messages. */
static int release_to(struct membridge_subscriber *sub, uint64_t end, unsigned n)
{
	sub->cur.held -= n;
	sub->released = end;
	atomic_store_explicit(&sub->slot->head, end, memory_order_release);
	notify_publisher(sub);
	return (int)(n > INT32_MAX ? INT32_MAX : n);
}

int membridge_subscriber_release(struct membridge_subscriber *sub)
{
	if (!sub)
		return -EINVAL;
	if (sub->cur.held == 0)
		return 0;
	return release_to(sub, sub->cur.read, sub->cur.held);
}

/* Find msg among the held messages, oldest first, by re-reading their
 * records (checked as when they were received: a peer may have changed
 * them since), and give back the space up to its end. */
int membridge_subscriber_release_until(struct membridge_subscriber *sub,
				       const struct membridge_message *msg)
{
	struct chan *c;
	struct chan_record r;
	uintptr_t data;
	uint64_t pos, at;
	unsigned n;

	if (!sub || !msg)
		return -EINVAL;
	c = &sub->c;
	data = (uintptr_t)msg->data;
	if (data < (uintptr_t)c->data || data - (uintptr_t)c->data >= c->size)
		return -EINVAL;
	for (pos = sub->released, n = 0; n < sub->cur.held; n++) {
		if (read_record(c, pos, sub->cur.read, &r, &at) < 0)
			return -EBADMSG;
		pos = chan_next_pos(at, r.len);
		if (c->data + data_offset(c, at) == (const unsigned char *)msg->data &&
		    r.len == msg->len && r.seq == msg->seq)
			return release_to(sub, pos, n + 1);
	}
	return -EINVAL;
}

int membridge_subscriber_read(struct membridge_subscriber *sub, void *buf, size_t cap,
			      size_t *len, int64_t timeout_ns)
{
	struct membridge_message msg;
	struct cursor before;
	int ret;

	if (!sub || !len || (cap && !buf))
		return -EINVAL;
	before = sub->cur;
	ret = membridge_subscriber_receive(sub, &msg, timeout_ns);
	if (ret < 0)
		return ret;
	*len = msg.len;
	if (msg.len > cap) {
		/* Put it back: the next call sees it again. */
		sub->cur = before;
		return -ENOBUFS;
	}
	if (msg.len)
		memcpy(buf, msg.data, msg.len); /* buf may be NULL with cap 0 */
	ret = membridge_subscriber_release(sub);
	return ret < 0 ? ret : 0;
}

int membridge_subscriber_fd(struct membridge_subscriber *sub)
{
	if (!sub)
		return -EINVAL;
	return subscriber_fd(sub);
}
