/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a channel image, then publisher, subscriber and peer operations on it. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz-common.h"

/*
 * Input: a 32-byte image description, then operations, one opcode byte
 * each followed by its argument bytes (see run_op()).
 *   [0]      shape: bits 0-1 data_size 256/512/1024/4096, bits 2-3 slots 1/2/3/8
 *   [1]      image: bits 0-1 0 fresh, 1 history, 2 fresh + raw header,
 *                   3 history + raw header (2, 3: a peer's image)
 *            bits 2-3 publisher record: none, dead, another live process, this one
 *            bits 4-5 reserve: 0, tail, tail + data_size, 0
 *            bit 6 fill the data area with the input's first 32 bytes, repeated
 *   [2..3]   max_message: 1 + value % (data_size / 2 - 16)
 *   [4..11]  history: tail (rounded down to 64, below 2^62)
 *   [12..19] history: next_seq
 *   [20..27] history: slot kinds, one byte per slot (see slot_kind)
 *   [28]     raw header: bit i set keeps header field i as the library wrote
 *            it, else it comes from [29..31] and the input's first 32 bytes
 *   [29..31] raw header: magic xor, version, flags
 * The channel in the image is built the way membridge.h and
 * channel-layout.h describe; as long as no peer wrote into it (a raw header
 * or a scribble), a model of the documented behaviour predicts every
 * result exactly: return values, the place, length, sequence number and
 * bytes of every message, in order, space and flow control, slots, lag,
 * eviction, dead peers. Once a peer wrote, the checks are the ones a
 * hostile peer cannot escape: documented error codes only, every message
 * inside the data area of the shape the handle opened, 64-byte aligned,
 * no longer than max_message, sequence numbers consecutive. A reset
 * operation brings a clean channel back.
 */
#define DESC_SIZE 32
#define MAX_OPS 512
#define MAX_SUBS 4
#define MAX_OPENS 8      /* subscriber opens per input: a peer can make each spin 80 ms */
#define STORE 256        /* messages the model remembers (>= 2 data areas' worth) */
#define MAX_HELD 256
#define MAX_SLOTS 8
#define LINE 128
#define OFF_PUBLISHER 128
#define OFF_CONTROL 256
#define OFF_SLOTS 640
#define RECORD_HEADER 16
#define ALIGN MEMBRIDGE_CHANNEL_ALIGN
/* A timeout that runs out at once but takes the waiting path. */
#define SHORT_WAIT_NS 1000

static const uint64_t data_sizes[4] = { 256, 512, 1024, 4096 };
static const uint32_t slot_counts[4] = { 1, 2, 3, 8 };
static struct fz_segment *segments[4][4];

/* Process records: (pid namespace << 32) | pid, as the library makes them. */
static uint64_t rec_self, rec_alive, rec_dead_base;

enum slot_kind { KIND_FREE, KIND_DEAD_ACTIVE, KIND_ALIVE_ACTIVE, KIND_DEAD_EVICTED,
		 KIND_ALIVE_JOINING, N_KINDS };
/* chan_slot states of channel-layout.h. */
enum { ST_FREE, ST_JOINING, ST_ACTIVE, ST_EVICTED };

struct msg {
	uint64_t seq, prev, pos, end; /* prev: the write position before its loan */
	uint32_t len;
	bool valid;
};

struct held {
	const uint8_t *data;
	size_t len;
	uint64_t seq;
};

struct sub {
	struct membridge_subscriber *h;
	struct membridge_segment *seg;  /* the handle it was opened through */
	struct membridge_channel_config cfg; /* as it opened */
	unsigned slot;
	uint64_t read, seq;     /* model: next position and sequence number */
	uint64_t released, released_seq;
	bool have_seq;          /* any: last_seq holds the last received */
	uint64_t last_seq;
	unsigned held;
	struct held hold[MAX_HELD];
	unsigned nhold;
};

/* The model: the channel as the documented behaviour leaves it. */
static struct {
	struct fz_segment *s;
	uint8_t *base;          /* creator's mapping */
	struct membridge_channel_config cfg;
	bool tainted;           /* a peer wrote into the channel */
	/* shared state */
	uint64_t tail, next_seq, reserve, pub_owner;
	struct {
		uint32_t state;
		uint64_t owner, head;
	} slot[MAX_SLOTS];
	/* our publisher */
	struct membridge_publisher *pub;
	struct membridge_channel_config pub_cfg;
	uint64_t write, limit, last_pos, last_len;
	unsigned loans;
	uint64_t gone[MAX_SLOTS];
	struct msg store[STORE];
	struct sub sub[MAX_SUBS];
	unsigned opens;
} m;

static uint8_t *payload_buf;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct membridge_channel_config cfg = { 0, 1, 0, 0 };
	struct stat st;
	uint64_t ns;
	size_t d, n;

	(void)argc;
	(void)argv;
	for (d = 0; d < 4; d++)
		for (n = 0; n < 4; n++) {
			cfg.data_size = data_sizes[d];
			cfg.subscribers = slot_counts[n];
			segments[d][n] = fz_segment_new(membridge_channel_segment_size(&cfg));
		}
	ns = stat("/proc/self/ns/pid", &st) == 0 ? (uint32_t)st.st_ino : 0;
	rec_self = ns << 32 | (uint32_t)getpid();
	rec_alive = ns << 32 | 1u;          /* init: alive, never us */
	rec_dead_base = ns << 32 | 5000000u; /* above any pid_max: never alive */
	payload_buf = malloc(4096);
	FZ_CHECK(payload_buf, "out of memory");
	return 0;
}

/* ------------------------------------------------------------ input */

struct input {
	const uint8_t *p, *end;
};

static uint8_t in_byte(struct input *in)
{
	return in->p < in->end ? *in->p++ : 0;
}

static uint16_t in_u16(struct input *in)
{
	uint16_t lo = in_byte(in);

	return (uint16_t)(lo | in_byte(in) << 8);
}

/* ------------------------------------------------------------ helpers */

static uint8_t pattern(uint64_t seq, size_t i)
{
	return (uint8_t)(((seq * 2654435761u) >> 11) ^ (i * 31 + (i >> 8)));
}

static void fill(uint8_t *dst, uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		dst[i] = pattern(seq, i);
}

static bool intact(const uint8_t *p, uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != pattern(seq, i))
			return false;
	return true;
}

static uint64_t next_pos(uint64_t pos, uint64_t len)
{
	return (pos + len + RECORD_HEADER + ALIGN - 1) & ~(uint64_t)(ALIGN - 1);
}

static bool owner_dead(uint64_t owner)
{
	return owner >= rec_dead_base && owner < rec_dead_base + MAX_SLOTS;
}

static bool one_of(int ret, const int *codes, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ret == codes[i])
			return true;
	return false;
}

#define CHECK_CODE(ret, ...) do {						\
	static const int codes_[] = { __VA_ARGS__ };				\
	FZ_CHECK(one_of((ret), codes_, sizeof(codes_) / sizeof(codes_[0])),	\
		 "undocumented result %d (%s)", (ret), membridge_strerror(ret));	\
} while (0)

static uint8_t *data_area(struct membridge_segment *seg, const struct membridge_channel_config *c)
{
	return (uint8_t *)membridge_segment_data(seg) + OFF_SLOTS + (size_t)LINE * c->subscribers;
}

/* What holds against any peer: inside the data area of the shape the handle
 * opened, aligned, no longer than its max_message. */
static void check_bounds(struct membridge_segment *seg, const struct membridge_channel_config *c,
			 const void *p, size_t len, const char *what)
{
	const uint8_t *area = data_area(seg, c), *q = p;

	FZ_CHECK(q >= area && q < area + c->data_size && len <= (size_t)(area + c->data_size - q),
		 "%s: [%p, +%zu) outside the data area [%p, +%llu)", what, p, len, (void *)area,
		 (unsigned long long)c->data_size);
	FZ_CHECK((uintptr_t)q % ALIGN == 0, "%s at %p: not %u-byte aligned", what, p, ALIGN);
	FZ_CHECK(len <= c->max_message, "%s: %zu bytes, max_message %llu", what, len,
		 (unsigned long long)c->max_message);
}

static struct msg *msg_of(uint64_t seq)
{
	return &m.store[seq % STORE];
}

/* The message whose loan started at position prev (a subscriber joining there
 * reads it first); NULL if none is published. */
static const struct msg *msg_after(uint64_t prev)
{
	size_t i;

	for (i = 0; i < STORE; i++)
		if (m.store[i].valid && m.store[i].prev == prev && prev < m.tail)
			return &m.store[i];
	return NULL;
}

/* ------------------------------------------------------------ image */

static void image_build(const uint8_t *desc)
{
	struct membridge_channel_config *c = &m.cfg;
	uint8_t *b;
	uint64_t v;
	uint32_t i;
	int mode = desc[1] & 3;

	m.s = segments[desc[0] & 3][desc[0] >> 2 & 3];
	c->data_size = data_sizes[desc[0] & 3];
	c->subscribers = slot_counts[desc[0] >> 2 & 3];
	c->max_message = 1 + (uint64_t)(desc[2] | desc[3] << 8) % (c->data_size / 2 - 16);
	c->flags = 0;
	fz_segment_fill(m.s, NULL, 0);
	m.base = b = membridge_segment_data(m.s->creator);
	FZ_CHECK_RET(membridge_channel_init(m.s->creator, c), 0);
	if (desc[1] & 64)
		for (v = 0; v < c->data_size; v++)
			b[OFF_SLOTS + LINE * c->subscribers + v] = desc[v % DESC_SIZE];
	if (mode & 1) {
		/* A channel with a past: its tail, sequence, publisher and slots. */
		/* Below 2^62: a publisher opens at a tail of at most 2^63 - 1. */
		m.tail = fz_load64(desc + 4) & (UINT64_MAX / 4) & ~(uint64_t)(ALIGN - 1);
		m.next_seq = fz_load64(desc + 12);
		switch (desc[1] >> 2 & 3) {
		case 1:
			m.pub_owner = rec_dead_base + MAX_SLOTS - 1;
			break;
		case 2:
			m.pub_owner = rec_alive;
			break;
		case 3:
			m.pub_owner = rec_self;
			break;
		}
		/* What the last publisher may have left: any bound up to a lap ahead. */
		switch (desc[1] >> 4 & 3) {
		case 1:
			m.reserve = m.tail;
			break;
		case 2:
			m.reserve = m.tail + c->data_size;
			break;
		}
		for (i = 0; i < c->subscribers; i++) {
			switch (desc[20 + i] % N_KINDS) {
			case KIND_DEAD_ACTIVE:
				m.slot[i].state = ST_ACTIVE;
				m.slot[i].owner = rec_dead_base + i;
				break;
			case KIND_ALIVE_ACTIVE:
				m.slot[i].state = ST_ACTIVE;
				m.slot[i].owner = rec_alive;
				break;
			case KIND_DEAD_EVICTED:
				m.slot[i].state = ST_EVICTED;
				m.slot[i].owner = rec_dead_base + i;
				break;
			case KIND_ALIVE_JOINING:
				m.slot[i].state = ST_JOINING;
				m.slot[i].owner = rec_alive;
				break;
			}
			m.slot[i].head = m.tail;
			memcpy(b + OFF_SLOTS + LINE * i, &m.slot[i].head, 8);
			memcpy(b + OFF_SLOTS + LINE * i + 8, &m.slot[i].owner, 8);
			memcpy(b + OFF_SLOTS + LINE * i + 16, &m.slot[i].state, 4);
		}
		memcpy(b + OFF_PUBLISHER, &m.tail, 8);
		memcpy(b + OFF_PUBLISHER + 8, &m.next_seq, 8);
		memcpy(b + OFF_CONTROL, &m.pub_owner, 8);
		memcpy(b + OFF_CONTROL + 8, &m.reserve, 8);
	}
	if (mode & 2) {
		/* A peer's header: each field the library wrote, or the input's. */
		uint32_t magic, f32[3];
		uint64_t f64[2];

		memcpy(&magic, b, 4);
		magic ^= desc[29] * UINT32_C(0x01000193);
		f32[0] = desc[30];
		f32[1] = desc[31];
		f32[2] = fz_load32(desc + 4);
		f64[0] = fz_load64(desc + 8);
		f64[1] = fz_load64(desc + 16);
		if (!(desc[28] & 1))
			memcpy(b, &magic, 4);
		for (i = 0; i < 3; i++)
			if (!(desc[28] & 2 << i))
				memcpy(b + 4 + 4 * i, &f32[i], 4);
		for (i = 0; i < 2; i++)
			if (!(desc[28] & 16 << i))
				memcpy(b + 16 + 8 * i, &f64[i], 8);
		m.tainted = true;
	}
}

/* ------------------------------------------------------------ publisher model */

/* The limit refresh of a loan that needs `need`: slots of live or not yet
 * known dead subscribers hold the publisher back; a dead one in the way is
 * skipped from then on (membridge.h: noticed and dropped). */
static void model_refresh(uint64_t need)
{
	uint64_t min = m.tail, d = m.cfg.data_size;
	uint32_t i;

	for (i = 0; i < m.cfg.subscribers; i++) {
		if (m.slot[i].state != ST_ACTIVE || (m.gone[i] && m.gone[i] == m.slot[i].owner))
			continue;
		if (m.slot[i].head > m.tail || m.tail - m.slot[i].head > d) {
			m.slot[i].state = ST_EVICTED;
			continue;
		}
		if (m.slot[i].head + d < need && owner_dead(m.slot[i].owner)) {
			m.gone[i] = m.slot[i].owner;
			continue;
		}
		if (m.slot[i].head < min)
			min = m.slot[i].head;
	}
	m.limit = min + d;
	m.reserve = m.limit;
}

/* Where a loan of len goes and whether it fits: 0 and its payload position,
 * or the error. */
static int model_loan(uint64_t len, bool waits, uint64_t *posp)
{
	uint64_t d = m.cfg.data_size, pos = m.write, end;

	if (len > m.cfg.max_message)
		return -EMSGSIZE;
	if (pos % d + len > d)
		pos += d - pos % d;
	end = next_pos(pos, len);
	if (end - m.tail > m.cfg.data_size)
		return -ENOBUFS; /* beside the unpublished loans it never fits */
	if (end > m.limit) {
		model_refresh(end);
		if (end > m.limit)
			return waits ? -ETIMEDOUT : -EAGAIN;
	}
	*posp = pos;
	return 0;
}

static void model_take_loan(uint64_t pos, uint64_t len)
{
	struct msg *g = msg_of(m.next_seq + m.loans);

	g->seq = m.next_seq + m.loans;
	g->prev = m.write;
	g->pos = pos;
	g->len = (uint32_t)len;
	g->end = next_pos(pos, len);
	g->valid = true;
	m.loans++;
	m.last_pos = pos;
	m.last_len = len;
	m.write = g->end;
}

/* Loans dropped unpublished: the model forgets them. */
static void model_drop_loans(void)
{
	unsigned i;

	for (i = 0; i < m.loans; i++)
		msg_of(m.next_seq + i)->valid = false;
	m.loans = 0;
	m.write = m.tail;
}

static int model_publish(void)
{
	unsigned n = m.loans;

	m.next_seq += n;
	m.loans = 0;
	m.tail = m.write;
	return (int)n;
}

static void check_loan_ptr(void *data, uint64_t pos, size_t len)
{
	check_bounds(m.s->creator, &m.pub_cfg, data, len, "loan");
	if (!m.tainted)
		FZ_CHECK((uint8_t *)data == data_area(m.s->creator, &m.cfg) + pos % m.cfg.data_size,
			 "loan at offset %td, expected %llu",
			 (uint8_t *)data - data_area(m.s->creator, &m.cfg),
			 (unsigned long long)(pos % m.cfg.data_size));
}

static void op_pub_open(void)
{
	struct membridge_publisher *p = NULL;
	int ret;

	ret = membridge_publisher_open(m.s->creator, &p);
	if (m.tainted)
		CHECK_CODE(ret, 0, -EBUSY, -EAGAIN, -EPROTO, -EBADMSG);
	else if (m.pub) /* this process has it: not dead */
		FZ_CHECK_RET(ret, -EBUSY);
	else
		FZ_CHECK_RET(ret, m.pub_owner == 0 || owner_dead(m.pub_owner) ? 0 : -EBUSY);
	if (ret < 0)
		return;
	if (m.pub) {
		/* A peer cleared the owner: a second publisher, closed at once. */
		membridge_publisher_close(p);
		return;
	}
	m.pub = p;
	FZ_CHECK_RET(membridge_channel_config(m.s->creator, &m.pub_cfg), 0);
	if (m.tainted)
		return;
	m.pub_owner = rec_self;
	m.write = m.tail;
	m.limit = m.tail;
	m.loans = 0;
	memset(m.gone, 0, sizeof(m.gone));
}

static void pub_close(void)
{
	membridge_publisher_close(m.pub);
	m.pub = NULL;
	if (m.tainted)
		return;
	m.pub_owner = 0;
	model_drop_loans();
}

static void op_loan(uint8_t op, struct input *in)
{
	uint16_t v = in_u16(in);
	uint64_t len = op & 16 ? v % (m.cfg.max_message + 1) : v, pos = 0;
	int64_t timeout = op & 64 ? SHORT_WAIT_NS : MEMBRIDGE_NO_WAIT;
	void *data = NULL;
	int ret, want;

	if (!m.pub) {
		FZ_CHECK_RET(membridge_publisher_loan(NULL, len, &data, timeout), -EINVAL);
		return;
	}
	ret = membridge_publisher_loan(m.pub, len, &data, timeout);
	if (m.tainted) {
		CHECK_CODE(ret, 0, -EAGAIN, -ETIMEDOUT, -EMSGSIZE, -ENOBUFS, -ECONNRESET, -EBADMSG);
	} else {
		want = model_loan(len, timeout != 0, &pos);
		FZ_CHECK_RET(ret, want);
	}
	if (ret < 0)
		return;
	check_loan_ptr(data, pos, len);
	if (m.tainted) {
		memset(data, 0x5a, len);
		return;
	}
	fill(data, m.next_seq + m.loans, len);
	model_take_loan(pos, len);
}

static void op_shrink(struct input *in)
{
	uint16_t v = in_u16(in);
	uint64_t len;
	int ret;

	if (!m.pub) {
		FZ_CHECK_RET(membridge_publisher_shrink(NULL, 0), -EINVAL);
		return;
	}
	len = m.tainted ? v : v % (m.last_len + 2);
	ret = membridge_publisher_shrink(m.pub, len);
	if (m.tainted) {
		CHECK_CODE(ret, 0, -EINVAL);
		return;
	}
	FZ_CHECK_RET(ret, m.loans == 0 || len > m.last_len ? -EINVAL : 0);
	if (ret == 0) {
		msg_of(m.next_seq + m.loans - 1)->len = (uint32_t)len;
		msg_of(m.next_seq + m.loans - 1)->end = next_pos(m.last_pos, len);
		m.last_len = len;
		m.write = next_pos(m.last_pos, len);
	}
}

static void op_publish(bool abort_them)
{
	int ret;

	if (!m.pub) {
		FZ_CHECK_RET(abort_them ? membridge_publisher_abort(NULL)
			     : membridge_publisher_publish(NULL), -EINVAL);
		return;
	}
	ret = abort_them ? membridge_publisher_abort(m.pub) : membridge_publisher_publish(m.pub);
	if (m.tainted) {
		FZ_CHECK(ret >= 0 || (!abort_them && ret == -ECONNRESET),
			 "publish/abort returned %d", ret);
		return;
	}
	if (abort_them) {
		FZ_CHECK_RET(ret, (int)m.loans);
		model_drop_loans();
	} else {
		FZ_CHECK_RET(ret, (int)m.loans);
		model_publish();
	}
}

/* send, sendv, send_batch of up to 4, or a send longer than max_message. */
static void op_send(uint8_t op, struct input *in)
{
	int64_t timeout = op & 64 ? SHORT_WAIT_NS : MEMBRIDGE_NO_WAIT;
	struct membridge_iovec iov[4];
	uint64_t lens[4], pos, seq = m.next_seq + m.loans;
	size_t count = 1, sent = 99, i, off = 0;
	int kind = op >> 4 & 3, ret, want = 0;

	if (kind == 2)
		count = 1 + in_byte(in) % 4;
	for (i = 0; i < count; i++) {
		lens[i] = in_u16(in) % (m.cfg.max_message + 1);
		if (kind == 3)
			lens[i] = m.cfg.max_message + 1 + lens[i] % 2;
		if (off + lens[i] > 4096)
			lens[i] = 0;
		fill(payload_buf + off, seq + i, lens[i]);
		iov[i].base = payload_buf + off;
		iov[i].len = lens[i];
		off += lens[i];
	}
	if (!m.pub) {
		FZ_CHECK_RET(membridge_publisher_send(NULL, payload_buf, lens[0], timeout), -EINVAL);
		return;
	}
	switch (kind) {
	case 1: { /* two pieces */
		struct membridge_iovec two[2] = { { payload_buf, lens[0] / 3 },
						  { payload_buf + lens[0] / 3, lens[0] - lens[0] / 3 } };

		ret = membridge_publisher_sendv(m.pub, two, 2, timeout);
		break;
	}
	case 2:
		ret = membridge_publisher_send_batch(m.pub, iov, count, &sent, timeout);
		break;
	default:
		ret = membridge_publisher_send(m.pub, payload_buf, lens[0], timeout);
		break;
	}
	if (m.tainted) {
		CHECK_CODE(ret, 0, -EAGAIN, -ETIMEDOUT, -EMSGSIZE, -ENOBUFS, -ECONNRESET, -EBADMSG);
		if (kind == 2 && ret == 0)
			FZ_CHECK(sent >= 1 && sent <= count, "send_batch sent %zu of %zu", sent, count);
		return;
	}
	for (i = 0; i < count; i++) {
		int r = model_loan(lens[i], i == 0 && timeout != 0, &pos);

		if (r < 0) {
			if (i == 0)
				want = r;
			break;
		}
		model_take_loan(pos, lens[i]);
	}
	FZ_CHECK_RET(ret, want);
	if (want == 0)
		model_publish();
	if (kind == 2)
		FZ_CHECK(sent == (want == 0 ? i : 0), "send_batch sent %zu, expected %zu", sent,
			 want == 0 ? i : 0);
}

static void op_evict(struct input *in)
{
	unsigned slot = in_byte(in) % (m.cfg.subscribers + 1);
	int ret;

	if (!m.pub) {
		FZ_CHECK_RET(membridge_publisher_evict(NULL, slot), -EINVAL);
		return;
	}
	ret = membridge_publisher_evict(m.pub, slot);
	if (m.tainted) {
		CHECK_CODE(ret, 0, -ENOENT, -EINVAL);
		return;
	}
	if (slot >= m.cfg.subscribers) {
		FZ_CHECK_RET(ret, -EINVAL);
		return;
	}
	FZ_CHECK_RET(ret, m.slot[slot].state == ST_ACTIVE ? 0 : -ENOENT);
	if (ret == 0)
		m.slot[slot].state = ST_EVICTED;
}

/* ------------------------------------------------------------ subscriber model */

static int model_sub_open(struct sub *s, unsigned flags)
{
	uint64_t start = m.tail;
	uint32_t i, pass;
	const struct msg *g;

	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < m.cfg.subscribers; i++) {
			bool take = pass == 0 ? m.slot[i].owner == 0 && m.slot[i].state == ST_FREE
					      : owner_dead(m.slot[i].owner);

			if (take)
				goto found;
		}
	return -EUSERS;
found:
	/* MEMBRIDGE_SUBSCRIBE_OLDEST: the oldest message another live
	 * subscriber still holds. */
	if (flags & MEMBRIDGE_SUBSCRIBE_OLDEST) {
		uint32_t k;

		for (k = 0; k < m.cfg.subscribers; k++)
			if (k != i && m.slot[k].state == ST_ACTIVE &&
			    !owner_dead(m.slot[k].owner) && m.slot[k].head < start)
				start = m.slot[k].head;
	}
	m.slot[i].state = ST_ACTIVE;
	m.slot[i].owner = rec_self;
	m.slot[i].head = start;
	s->slot = i;
	s->read = s->released = start;
	g = start == m.tail ? NULL : msg_after(start);
	FZ_CHECK(start == m.tail || g, "model: no message at position %llu",
		 (unsigned long long)start);
	s->seq = s->released_seq = g ? g->seq : m.next_seq;
	return 0;
}

static void op_sub_open(uint8_t op, struct sub *s)
{
	unsigned flags = op >> 6 & 1;
	struct membridge_subscriber *h = NULL;
	int ret, want;

	if (op & 128)
		flags = 2; /* no such flag */
	if (s->h || m.opens >= MAX_OPENS)
		return;
	m.opens++;
	/* Handles 2 and 3 open through the second mapping. */
	s->seg = (op >> 4 & 3) >= 2 ? m.s->opener : m.s->creator;
	ret = membridge_subscriber_open(s->seg, flags, &h);
	if (flags > 1) {
		FZ_CHECK_RET(ret, -EINVAL);
		return;
	}
	if (m.tainted) {
		CHECK_CODE(ret, 0, -EUSERS, -EAGAIN, -EPROTO, -EBADMSG);
	} else {
		want = model_sub_open(s, flags);
		FZ_CHECK_RET(ret, want);
	}
	if (ret < 0)
		return;
	s->h = h;
	FZ_CHECK_RET(membridge_channel_config(s->seg, &s->cfg), 0);
	s->have_seq = false;
	s->held = 0;
	s->nhold = 0;
	if (!m.tainted)
		FZ_CHECK(membridge_subscriber_slot(h) == s->slot, "slot %u, expected %u",
			 membridge_subscriber_slot(h), s->slot);
	else
		FZ_CHECK(membridge_subscriber_slot(h) < s->cfg.subscribers, "slot %u of %u",
			 membridge_subscriber_slot(h), s->cfg.subscribers);
}

static bool sub_evicted(const struct sub *s)
{
	return m.slot[s->slot].state != ST_ACTIVE || m.slot[s->slot].owner != rec_self;
}

/* The model's next message for s: 0, -EAGAIN, or -ECONNRESET. */
static int model_next(struct sub *s, const struct msg **gp)
{
	const struct msg *g;

	if (sub_evicted(s))
		return -ECONNRESET;
	if (s->read == m.tail)
		return -EAGAIN;
	g = msg_of(s->seq);
	FZ_CHECK(g->valid && g->seq == s->seq && g->prev == s->read,
		 "model: message %llu lost", (unsigned long long)s->seq);
	*gp = g;
	return 0;
}

/* A message the library handed out: bounds and order always, and without a
 * peer's writes exactly the model's message g. */
static void check_message(struct sub *s, const struct membridge_message *msg,
			  const struct msg *g)
{
	check_bounds(s->seg, &s->cfg, msg->data, msg->len, "message");
	/* After a peer's writes a jump forward can be a forged epoch mark
	 * (membridge(7), Channel records); never a step back. */
	FZ_CHECK(!s->have_seq || msg->seq == s->last_seq + 1 ||
			 (m.tainted && msg->seq > s->last_seq),
		 "message %llu after %llu", (unsigned long long)msg->seq,
		 (unsigned long long)s->last_seq);
	s->have_seq = true;
	s->last_seq = msg->seq;
	if (m.tainted)
		return;
	FZ_CHECK(msg->seq == g->seq && msg->len == g->len, "message %llu of %zu bytes, "
		 "expected %llu of %u", (unsigned long long)msg->seq, msg->len,
		 (unsigned long long)g->seq, g->len);
	FZ_CHECK((const uint8_t *)msg->data == data_area(s->seg, &m.cfg) + g->pos % m.cfg.data_size,
		 "message %llu at the wrong place", (unsigned long long)g->seq);
	FZ_CHECK(intact(msg->data, g->seq, g->len), "message %llu: bytes differ",
		 (unsigned long long)g->seq);
}

static void hold(struct sub *s, const struct membridge_message *msg)
{
	if (s->nhold < MAX_HELD)
		s->hold[s->nhold++] = (struct held){ msg->data, msg->len, msg->seq };
}

static void op_receive(uint8_t op, struct sub *s, struct input *in)
{
	int64_t timeout = op & 64 ? SHORT_WAIT_NS : MEMBRIDGE_NO_WAIT;
	struct membridge_message msgs[8];
	size_t max = (op & 15) == 2 ? 1 + in_byte(in) % 8 : 1, i;
	const struct msg *g = NULL;
	int ret, want, n;

	if (!s->h) {
		FZ_CHECK_RET(membridge_subscriber_receive(NULL, msgs, timeout), -EINVAL);
		return;
	}
	if (max == 1 && (op & 15) == 1) {
		ret = membridge_subscriber_receive(s->h, msgs, timeout);
		n = ret == 0;
	} else {
		ret = membridge_subscriber_receive_batch(s->h, msgs, max, timeout);
		n = ret > 0 ? ret : 0;
		FZ_CHECK(ret <= (int)max, "batch of %d, at most %zu", ret, max);
	}
	if (m.tainted) {
		FZ_CHECK(ret >= 0 || one_of(ret, (const int[]){ -EAGAIN, -ETIMEDOUT, -ECONNRESET,
								-EBADMSG }, 4),
			 "undocumented result %d (%s)", ret, membridge_strerror(ret));
		for (i = 0; i < (size_t)n; i++) {
			check_message(s, &msgs[i], NULL);
			hold(s, &msgs[i]);
		}
		s->held += (unsigned)n;
		return;
	}
	want = model_next(s, &g);
	if (want == -EAGAIN && timeout)
		want = -ETIMEDOUT;
	FZ_CHECK(want < 0 ? ret == want : (op & 15) == 1 ? ret == 0 : ret > 0,
		 "receive returned %d (%s), expected %d", ret, membridge_strerror(ret), want);
	for (i = 0; i < (size_t)n; i++) {
		if (i > 0)
			FZ_CHECK_RET(model_next(s, &g), 0);
		check_message(s, &msgs[i], g);
		hold(s, &msgs[i]);
		s->read = g->end;
		s->seq++;
		s->held++;
	}
	/* A batch takes all there are, up to max. */
	if (n > 0 && (size_t)n < max)
		FZ_CHECK(model_next(s, &g) != 0, "batch of %d left a message", n);
}

static void model_release(struct sub *s)
{
	size_t i;

	if (!m.tainted && !sub_evicted(s))
		for (i = 0; i < s->nhold; i++)
			FZ_CHECK(intact(s->hold[i].data, s->hold[i].seq, s->hold[i].len),
				 "held message %llu changed before its release",
				 (unsigned long long)s->hold[i].seq);
	s->nhold = 0;
	s->held = 0;
	if (m.tainted)
		return;
	s->released = s->read;
	s->released_seq = s->seq;
	if (!sub_evicted(s))
		m.slot[s->slot].head = s->read;
}

static void op_release(struct sub *s)
{
	int ret;

	if (!s->h) {
		FZ_CHECK_RET(membridge_subscriber_release(NULL), -EINVAL);
		return;
	}
	ret = membridge_subscriber_release(s->h);
	FZ_CHECK(ret == (int)s->held, "release returned %d, %u messages were received since the last",
		 ret, s->held);
	model_release(s);
}

static void op_read(struct sub *s, struct input *in)
{
	uint8_t c = in_byte(in);
	size_t cap = c == 255 ? 4096 : (size_t)c * 8, len = SIZE_MAX;
	uint8_t *buf = malloc(cap ? cap : 1);
	const struct msg *g = NULL;
	int ret, want;

	FZ_CHECK(buf, "out of memory");
	if (!s->h) {
		FZ_CHECK_RET(membridge_subscriber_read(NULL, buf, cap, &len, 0), -EINVAL);
		free(buf);
		return;
	}
	ret = membridge_subscriber_read(s->h, buf, cap, &len, MEMBRIDGE_NO_WAIT);
	if (m.tainted) {
		CHECK_CODE(ret, 0, -EAGAIN, -ECONNRESET, -EBADMSG, -ENOBUFS);
		if (ret == 0 || ret == -ENOBUFS)
			FZ_CHECK(len <= s->cfg.max_message, "read %zu bytes", len);
		if (ret == 0) {
			/* It took the next message in order. */
			s->last_seq += s->have_seq;
			model_release(s);
		}
		free(buf);
		return;
	}
	want = model_next(s, &g);
	if (want == 0 && g->len > cap)
		want = -ENOBUFS;
	FZ_CHECK_RET(ret, want);
	if (ret == 0 || ret == -ENOBUFS)
		FZ_CHECK(len == g->len, "read said %zu bytes, expected %u", len, g->len);
	if (ret == 0) {
		FZ_CHECK(intact(buf, g->seq, len), "read message %llu: bytes differ",
			 (unsigned long long)g->seq);
		s->read = g->end;
		s->seq++;
		s->have_seq = true;
		s->last_seq = g->seq;
		model_release(s);
	}
	free(buf);
}

static void sub_close(struct sub *s)
{
	if (!s->h)
		return;
	membridge_subscriber_close(s->h);
	s->h = NULL;
	if (m.tainted)
		return;
	if (m.slot[s->slot].owner == rec_self) {
		m.slot[s->slot].state = ST_FREE;
		m.slot[s->slot].owner = 0;
	}
}

/* ------------------------------------------------------------ inspection */

/* What a slot must report: false if it is not in use. */
static bool model_slot_info(uint32_t i, struct membridge_subscriber_info *in, bool *exact_lag)
{
	uint64_t head = m.slot[i].head, seq;
	const struct msg *g;

	if (m.slot[i].owner == 0 || m.slot[i].state == ST_FREE)
		return false;
	memset(in, 0, sizeof(*in));
	in->slot = i;
	in->active = m.slot[i].state == ST_ACTIVE;
	in->evicted = m.slot[i].state == ST_EVICTED;
	in->pid = (int32_t)(uint32_t)m.slot[i].owner;
	/* A dead subscriber's records may be reused: its lag is not known. */
	*exact_lag = !owner_dead(m.slot[i].owner);
	if (in->active && head <= m.tail && m.tail - head <= m.cfg.data_size) {
		in->lag_bytes = m.tail - head;
		if (head < m.tail) {
			g = msg_after(head);
			FZ_CHECK(!*exact_lag || g, "model: no message at %llu",
				 (unsigned long long)head);
			seq = g ? g->seq : 0;
			if (g && seq <= INT64_MAX && seq < m.next_seq)
				in->lag = m.next_seq - seq;
		}
	}
	return true;
}

static void check_slots(const struct membridge_subscriber_info *got, size_t n, bool from_pub)
{
	struct membridge_subscriber_info want;
	size_t k = 0;
	uint32_t i;
	bool exact;

	for (i = 0; i < m.cfg.subscribers && k < n; i++) {
		if (!model_slot_info(i, &want, &exact))
			continue;
		if (from_pub && m.gone[i] && m.gone[i] == m.slot[i].owner)
			want.active = false;
		FZ_CHECK(got[k].slot == i && got[k].active == want.active &&
			 got[k].evicted == want.evicted && got[k].pid == want.pid,
			 "slot %u: got slot %u active %d evicted %d pid %lld", i, got[k].slot,
			 got[k].active, got[k].evicted, (long long)got[k].pid);
		if (exact)
			FZ_CHECK(got[k].lag == want.lag && got[k].lag_bytes == want.lag_bytes,
				 "slot %u: lag %llu (%llu bytes), expected %llu (%llu)", i,
				 (unsigned long long)got[k].lag, (unsigned long long)got[k].lag_bytes,
				 (unsigned long long)want.lag, (unsigned long long)want.lag_bytes);
		k++;
	}
}

static int model_slots_in_use(void)
{
	int n = 0;
	uint32_t i;

	for (i = 0; i < m.cfg.subscribers; i++)
		n += m.slot[i].owner != 0 && m.slot[i].state != ST_FREE;
	return n;
}

/* inspect's count of active slots (dead ones too) and the bytes the
 * slowest of them holds. */
static void model_totals(unsigned *active, uint64_t *used)
{
	struct membridge_subscriber_info in;
	uint32_t i;
	bool exact;

	*active = 0;
	*used = 0;
	for (i = 0; i < m.cfg.subscribers; i++) {
		if (!model_slot_info(i, &in, &exact) || !in.active)
			continue;
		++*active;
		if (in.lag_bytes > *used)
			*used = in.lag_bytes;
	}
}

static void op_inspect(uint8_t op, struct input *in)
{
	struct membridge_subscriber_info slots[MAX_SLOTS + 1];
	struct membridge_channel_info info;
	struct membridge_channel_config cfg;
	size_t max = in_byte(in) % (MAX_SLOTS + 2), i;
	uint64_t want_used;
	unsigned want_active;
	int ret, cret;

	if (op & 16 || !m.pub) {
		ret = membridge_channel_inspect(m.base, m.s->size, &info, slots, max);
		cret = membridge_channel_config(m.s->creator, &cfg);
		/* Where config says -EBADMSG, inspection says -ENOTSUP when the
		 * magic is not a channel's, and may find the tail bad too. */
		FZ_CHECK(ret >= 0 ? cret == 0
				  : ret == cret || (ret == -ENOTSUP && cret == -EBADMSG) ||
					    (ret == -EBADMSG && cret == 0),
			 "inspect %d, config %d", ret, cret);
		if (m.tainted) {
			CHECK_CODE(ret < 0 ? ret : 0, 0, -EAGAIN, -EPROTO, -EBADMSG, -ENOTSUP);
			if (ret < 0)
				return;
			FZ_CHECK((uint32_t)ret <= info.config.subscribers &&
				 info.subscribers <= (unsigned)ret && info.used <= info.config.data_size,
				 "inspect: %d slots, %u active, used %llu", ret, info.subscribers,
				 (unsigned long long)info.used);
			for (i = 0; i < (size_t)ret && i < max; i++)
				FZ_CHECK(slots[i].slot < info.config.subscribers &&
					 slots[i].lag_bytes <= info.config.data_size,
					 "inspect: slot %u, %llu bytes", slots[i].slot,
					 (unsigned long long)slots[i].lag_bytes);
			return;
		}
		FZ_CHECK_RET(ret, model_slots_in_use());
		FZ_CHECK(!memcmp(&info.config, &m.cfg, sizeof(cfg)), "inspect: shape differs");
		FZ_CHECK(info.tail == m.tail && info.next_seq == m.next_seq &&
			 info.publisher == (m.pub_owner ? (int32_t)(uint32_t)m.pub_owner : 0),
			 "inspect: tail %llu seq %llu publisher %lld", (unsigned long long)info.tail,
			 (unsigned long long)info.next_seq, (long long)info.publisher);
		model_totals(&want_active, &want_used);
		FZ_CHECK(info.subscribers == want_active && info.used == want_used,
			 "inspect: %u active using %llu bytes, expected %u using %llu",
			 info.subscribers, (unsigned long long)info.used, want_active,
			 (unsigned long long)want_used);
		check_slots(slots, (size_t)ret < max ? (size_t)ret : max, false);
		return;
	}
	ret = membridge_publisher_subscribers(m.pub, slots, max);
	if (m.tainted) {
		FZ_CHECK(ret >= 0 && (uint32_t)ret <= m.pub_cfg.subscribers,
			 "publisher_subscribers returned %d", ret);
		for (i = 0; i < (size_t)ret && i < max; i++)
			FZ_CHECK(slots[i].slot < m.pub_cfg.subscribers &&
				 slots[i].lag_bytes <= m.pub_cfg.data_size,
				 "subscribers: slot %u, %llu bytes", slots[i].slot,
				 (unsigned long long)slots[i].lag_bytes);
		return;
	}
	FZ_CHECK_RET(ret, model_slots_in_use());
	check_slots(slots, (size_t)ret < max ? (size_t)ret : max, true);
}

/* ------------------------------------------------------------ peer */

/* Arbitrary bytes at an offset within one of the channel's parts. */
static void op_scribble(struct input *in)
{
	uint8_t region = in_byte(in), off = in_byte(in), len = 1 + in_byte(in) % 16;
	uint64_t d = m.cfg.data_size, start, pos;
	const struct sub *s = &m.sub[region >> 4 & 3];
	size_t at, k;

	switch (region & 7) {
	case 0: /* header */
		at = off % 32;
		break;
	case 1: /* publisher line */
		at = OFF_PUBLISHER + off % 16;
		break;
	case 2: /* control: owner, reserve */
		at = OFF_CONTROL + off % 16;
		break;
	case 3: /* the two wait lines */
		at = 384 + off % 256;
		break;
	case 4: /* a slot */
		at = OFF_SLOTS + LINE * ((region >> 4) % m.cfg.subscribers) + off % 32;
		break;
	case 5: /* the record header a subscriber reads next */
	case 6: /* the record header the publisher writes next */
		pos = (region & 7) == 5 ? s->read : m.write;
		start = pos % d ? pos % d : d;
		at = OFF_SLOTS + LINE * m.cfg.subscribers + start - RECORD_HEADER + off % 16;
		break;
	default: /* anywhere */
		at = (off | (size_t)in_byte(in) << 8) % m.s->size;
		break;
	}
	for (k = 0; k < len && at + k < m.s->size; k++)
		m.base[at + k] = in_byte(in);
	m.tainted = true;
}

/* Close every handle and write a fresh channel of the same shape. */
static void op_reset(void)
{
	size_t i;

	for (i = 0; i < MAX_SUBS; i++)
		sub_close(&m.sub[i]);
	if (m.pub)
		pub_close();
	memset(m.slot, 0, sizeof(m.slot));
	memset(m.store, 0, sizeof(m.store));
	m.tail = m.next_seq = m.reserve = m.pub_owner = 0;
	m.write = m.limit = 0;
	m.loans = 0;
	m.tainted = false;
	fz_segment_fill(m.s, NULL, 0);
	FZ_CHECK_RET(membridge_channel_init(m.s->creator, &m.cfg), 0);
}

static void op_misc(uint8_t op)
{
	struct sub *s = &m.sub[op >> 6 & 3];
	int a, b;

	switch (op >> 4 & 3) {
	case 0:
		op_reset();
		break;
	case 1: /* the publisher's descriptor, twice the same */
		if (!m.pub) {
			FZ_CHECK_RET(membridge_publisher_fd(NULL), -EINVAL);
			break;
		}
		a = membridge_publisher_fd(m.pub);
		b = membridge_publisher_fd(m.pub);
		FZ_CHECK(a >= 0 && a == b, "publisher_fd %d then %d", a, b);
		break;
	case 2:
		if (!s->h) {
			FZ_CHECK_RET(membridge_subscriber_fd(NULL), -EINVAL);
			break;
		}
		a = membridge_subscriber_fd(s->h);
		b = membridge_subscriber_fd(s->h);
		FZ_CHECK(a >= 0 && a == b, "subscriber_fd %d then %d", a, b);
		break;
	default:
		if (m.pub)
			pub_close();
		break;
	}
}

/*
 * One operation. The opcode's low 4 bits choose it; for subscriber calls
 * bits 4-5 are the handle (2 and 3 use the second mapping), bit 6 asks for
 * a short timeout instead of none (receive, loan, send: -ETIMEDOUT, not
 * -EAGAIN) or, in an open, for MEMBRIDGE_SUBSCRIBE_OLDEST; bit 7 of an open
 * passes an unknown flag. Arguments follow the opcode:
 *   0 subscriber open        1 receive          2 receive_batch (max)
 *   3 release                4 read (cap / 8)   5 subscriber close
 *   6 publisher open         7 loan (u16 length; bit 4: modulo max_message + 1)
 *   8 shrink (u16)           9 publish         10 abort
 *  11 send, bits 4-5: 0 send (u16), 1 sendv in two pieces (u16),
 *     2 send_batch (count, u16 lengths), 3 a send longer than max_message
 *  12 evict (slot)          13 inspect (max slots; bit 4 or no publisher:
 *                              membridge_channel_inspect, else
 *                              membridge_publisher_subscribers)
 *  14 a peer's write (region, offset, length, bytes; see op_scribble())
 *  15 bits 4-5: 0 reset, 1 publisher descriptor, 2 subscriber descriptor
 *     (handle in bits 6-7), 3 publisher close
 */
static void run_op(uint8_t op, struct input *in)
{
	struct sub *s = &m.sub[op >> 4 & 3];

	switch (op & 15) {
	case 0:
		op_sub_open(op, s);
		break;
	case 1:
	case 2:
		op_receive(op, s, in);
		break;
	case 3:
		op_release(s);
		break;
	case 4:
		op_read(s, in);
		break;
	case 5:
		sub_close(s);
		break;
	case 6:
		op_pub_open();
		break;
	case 7:
		op_loan(op, in);
		break;
	case 8:
		op_shrink(in);
		break;
	case 9:
		op_publish(false);
		break;
	case 10:
		op_publish(true);
		break;
	case 11:
		op_send(op, in);
		break;
	case 12:
		op_evict(in);
		break;
	case 13:
		op_inspect(op, in);
		break;
	case 14:
		op_scribble(in);
		break;
	default:
		op_misc(op);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data + DESC_SIZE, data + size };
	size_t i;

	if (size < DESC_SIZE)
		return 0;
	memset(&m, 0, sizeof(m));
	image_build(data);
	for (i = 0; i < MAX_OPS && in.p < in.end; i++)
		run_op(in_byte(&in), &in);
	for (i = 0; i < MAX_SUBS; i++)
		sub_close(&m.sub[i]);
	if (m.pub)
		pub_close();
	return 0;
}
