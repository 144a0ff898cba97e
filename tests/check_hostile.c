/* SPDX-License-Identifier: MIT */
/* Check suite of a hostile peer scribbling on a live ring and a live view lock. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helpers.h"

#define COMPANION ".membridge-wait"
/* Bytes of the companion the scribbler covers (its wait words and records). */
#define COMPANION_SCRIBBLE 256
#define RING_CAP 4096
#define VIEW_DATA 252
/* Every blocking call waits at most this long, and must be back
 * mbt_slack_ns() later. */
#define CALL_TIMEOUT_NS (5 * MBT_MS)
/* Quiet time (scribbles repaired, traffic flows) and scribbling time, by turns. */
#define QUIET_NS (20 * MBT_MS)
#define BURST_NS (20 * MBT_MS)
/* Growth of a process's peak RSS that would mean an allocation sized by the
 * peer; not checked under AddressSanitizer, whose quarantine keeps freed
 * memory (of the handles reopened in the loop) resident on purpose. */
#define RSS_GROWTH_LIMIT_KB 16384
#ifdef __SANITIZE_ADDRESS__
#define RSS_CHECKED false
#else
#define RSS_CHECKED true
#endif

/* Every call the peers make, and the results membridge.h documents for it
 * when the other side is hostile. */
enum op {
	OP_PUSH, OP_PUSHV, OP_PUSH_BATCH, OP_POP, OP_PEEK, OP_CONSUME, OP_POP_BATCH,
	OP_ACCOUNT, OP_SPSC_OPEN, OP_LOCK_READ, OP_LOCK_WRITE, OP_UNLOCK, OP_VIEW_READ,
	OP_VIEW_WRITE, OP_BREAK, N_OPS
};

static const int codes[] = {
	0, -EAGAIN, -ETIMEDOUT, -EBADMSG, -ESTALE, -EINVAL, -ERANGE, -EILSEQ, -ENOBUFS,
	-EOWNERDEAD, -EPERM, -EBUSY,
};

#define N_CODES (sizeof(codes) / sizeof(codes[0]))
#define MAX_ALLOWED 8
/* What the pop_batch callback returns for a frame out of bounds: no errno. */
#define CALLBACK_STOP (-100000)

static const struct {
	const char *name;
	int allowed[MAX_ALLOWED]; /* 0-terminated after the first entry */
} ops[N_OPS] = {
	[OP_PUSH] = { "push", { 0, -EAGAIN, -ETIMEDOUT, -EBADMSG } },
	[OP_PUSHV] = { "pushv", { 0, -EAGAIN, -ETIMEDOUT, -EBADMSG } },
	[OP_PUSH_BATCH] = { "push_batch", { 0, -EAGAIN, -ETIMEDOUT, -EBADMSG } },
	[OP_POP] = { "pop", { 0, -EAGAIN, -ETIMEDOUT, -EBADMSG } },
	[OP_PEEK] = { "peek", { 0, -EAGAIN, -ETIMEDOUT, -EBADMSG } },
	/* -ESTALE: head moved since the peek; -EINVAL: tail no longer covers it. */
	[OP_CONSUME] = { "consume", { 0, -ESTALE, -EINVAL, -EBADMSG } },
	[OP_POP_BATCH] = { "pop_batch", { 0, -EAGAIN, -ETIMEDOUT, -EBADMSG } },
	[OP_ACCOUNT] = { "used/space/is_empty/is_full", { 0, -EBADMSG } },
	[OP_SPSC_OPEN] = { "spsc_open", { 0, -EBADMSG, -EAGAIN } },
	[OP_LOCK_READ] = { "lock_read", { 0, -ETIMEDOUT, -EOWNERDEAD } },
	[OP_LOCK_WRITE] = { "lock_write", { 0, -ETIMEDOUT, -EOWNERDEAD } },
	[OP_UNLOCK] = { "unlock", { 0, -EBADMSG } },
	[OP_VIEW_READ] = { "view_read(str)", { 0, -ERANGE, -EILSEQ, -ENOBUFS, -ETIMEDOUT,
					       -EOWNERDEAD, -EBADMSG } },
	[OP_VIEW_WRITE] = { "view_write_bytes", { 0, -ETIMEDOUT, -EOWNERDEAD, -EBADMSG } },
	[OP_BREAK] = { "break_lock", { 0, -EPERM, -EBUSY } },
};

/* What one process saw, in memory shared with the parent. */
struct tally {
	uint64_t count[N_OPS][N_CODES];
	uint64_t unexpected;    /* results outside ops[op].allowed */
	int bad_op, bad_ret;    /* the first of them */
	uint64_t slow;          /* calls back later than their timeout allows */
	int64_t max_call_ns;
	uint64_t intact;        /* frames exactly as the producer made them */
	uint64_t garbage;       /* frames of valid length with other bytes */
	uint64_t oversize;      /* frames longer than the ring could hold (a bug) */
	uint64_t scribbles;
	long rss_growth_kb;
	int done;               /* 1 once the process got to its end */
};

enum role { PRODUCER, CONSUMER, SCRIBBLER, USER_A = 0, USER_B, LOCK_SCRIBBLER, N_ROLES = 3 };

struct run {
	const char *name;
	int64_t end_ns;           /* when every process stops */
	uint64_t seed;
	struct tally *tally;      /* N_ROLES, shared */
};

static const char *const role_names[2][N_ROLES] = {
	{ "producer", "consumer", "scribbler" },
	{ "lock user A", "lock user B", "scribbler" },
};

static int hostile_seconds(void)
{
	const char *env = getenv("MBT_HOSTILE_SECONDS");
	int s = env && *env ? atoi(env) : 1;

	return s > 0 ? s : 1;
}

static long peak_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

/* Index of ret in codes[], N_CODES if it is none of them. */
static size_t code_of(int ret)
{
	size_t i;

	for (i = 0; i < N_CODES; i++)
		if (codes[i] == ret)
			return i;
	return N_CODES;
}

static void flag(struct tally *t, enum op op, int ret)
{
	if (!t->unexpected++) {
		t->bad_op = op;
		t->bad_ret = ret;
	}
}

/* Count a result (1, as is_empty returns it, counts as 0), flag it if it is
 * not documented for the call, and flag a call that took too long. */
static void record(struct tally *t, enum op op, int ret, int64_t started, int64_t timeout_ns)
{
	int64_t took = mbt_now_ns() - started;
	size_t i, code;
	bool allowed = false;

	if (ret > 0)
		ret = 0;
	code = code_of(ret);
	for (i = 0; i < MAX_ALLOWED && (i == 0 || ops[op].allowed[i]); i++)
		allowed |= ops[op].allowed[i] == ret;
	if (code < N_CODES)
		t->count[op][code]++;
	if (!allowed || code == N_CODES)
		flag(t, op, ret);
	if (took > t->max_call_ns)
		t->max_call_ns = took;
	if (took > timeout_ns + mbt_slack_ns())
		t->slow++;
}

/* Map the companion of `name` directly (the library refuses its name). */
static unsigned char *map_companion(const char *name)
{
	char comp[MBT_NAME_SIZE + sizeof(COMPANION)];
	void *p;
	int fd;

	snprintf(comp, sizeof(comp), "%s%s", name, COMPANION);
	fd = shm_open(comp, O_RDWR, 0);
	if (fd < 0)
		return NULL;
	p = mmap(NULL, COMPANION_SCRIBBLE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	return p == MAP_FAILED ? NULL : p;
}

static void random_bytes(uint64_t *rng, unsigned char *p, size_t n)
{
	while (n--)
		*p++ = (unsigned char)mbt_random(rng);
}

/* ---------------------------------------------------------------- ring */

/* The producer's payload for sequence number seq: the number, then bytes
 * derived from it; the consumer tells intact frames from garbage by it. */
static size_t make_payload(uint32_t seq, unsigned char *buf)
{
	size_t len = 4 + seq % 200, i;

	memcpy(buf, &seq, 4);
	for (i = 4; i < len; i++)
		buf[i] = (unsigned char)(seq * 31 + i);
	return len;
}

static bool payload_intact(const unsigned char *buf, size_t len)
{
	unsigned char want[256];
	uint32_t seq;

	if (len < 4)
		return false;
	memcpy(&seq, buf, 4);
	return make_payload(seq, want) == len && !memcmp(want, buf, len);
}

static void check_frame_len(struct tally *t, size_t len)
{
	if (len > RING_CAP - MEMBRIDGE_SPSC_FRAME_HEADER)
		t->oversize++;
}

struct ring_proc {
	struct run *run;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct tally *t;
	uint64_t rng;
};

static int ring_proc_open(struct ring_proc *p, struct run *run, enum role role)
{
	int ret;

	p->run = run;
	p->t = &run->tally[role];
	p->rng = run->seed * (2 * (uint64_t)role + 1) + (uint64_t)getpid();
	if (membridge_segment_open(run->name, 0, &p->seg) < 0)
		return 20;
	/* The scribbler may have the header invalid right now: try again. */
	for (;;) {
		int64_t t0 = mbt_now_ns();

		ret = membridge_spsc_open(p->seg, &p->q);
		record(p->t, OP_SPSC_OPEN, ret, t0, 0);
		if (ret == 0)
			return 0;
		if (mbt_now_ns() > run->end_ns + 5000 * MBT_MS) {
			membridge_segment_close(p->seg);
			return 21;
		}
		mbt_sleep_ns(MBT_MS);
	}
}

static void ring_proc_close(struct ring_proc *p, long rss_start)
{
	membridge_spsc_close(p->q);
	membridge_segment_close(p->seg);
	p->t->rss_growth_kb = peak_rss_kb() - rss_start;
	p->t->done = 1;
}

/* used/space/is_empty/is_full: whatever the header says, 0/1 or -EBADMSG. */
static void account(struct ring_proc *p)
{
	size_t n;
	int64_t t0 = mbt_now_ns();

	switch (mbt_random(&p->rng) % 4) {
	case 0:
		record(p->t, OP_ACCOUNT, membridge_spsc_used(p->q, &n), t0, 0);
		break;
	case 1:
		record(p->t, OP_ACCOUNT, membridge_spsc_space(p->q, &n), t0, 0);
		break;
	case 2:
		record(p->t, OP_ACCOUNT, membridge_spsc_is_empty(p->q), t0, 0);
		break;
	default:
		record(p->t, OP_ACCOUNT, membridge_spsc_is_full(p->q), t0, 0);
		break;
	}
}

/* A fresh handle validates the header as it is now. */
static void reopen(struct ring_proc *p)
{
	struct membridge_spsc *q;
	int64_t t0 = mbt_now_ns();
	int ret = membridge_spsc_open(p->seg, &q);

	record(p->t, OP_SPSC_OPEN, ret, t0, 0);
	if (ret == 0)
		membridge_spsc_close(q);
}

static int producer_main(void *arg)
{
	struct ring_proc p;
	unsigned char msg[4][256];
	struct membridge_iovec iov[4];
	uint32_t seq = 0;
	long rss;
	size_t pushed, i;
	int ret = ring_proc_open(&p, arg, PRODUCER);
	int64_t t0;

	if (ret)
		return ret;
	rss = peak_rss_kb();
	while (mbt_now_ns() < p.run->end_ns) {
		uint64_t r = mbt_random(&p.rng) % 16;

		t0 = mbt_now_ns();
		if (r < 8) {
			ret = membridge_spsc_push(p.q, msg[0], make_payload(seq, msg[0]),
						  CALL_TIMEOUT_NS);
			record(p.t, OP_PUSH, ret, t0, CALL_TIMEOUT_NS);
			seq += ret == 0;
		} else if (r < 11) {
			size_t len = make_payload(seq, msg[0]);

			iov[0] = (struct membridge_iovec){ msg[0], 3 };
			iov[1] = (struct membridge_iovec){ msg[0] + 3, len - 3 };
			ret = membridge_spsc_pushv(p.q, iov, 2, CALL_TIMEOUT_NS);
			record(p.t, OP_PUSHV, ret, t0, CALL_TIMEOUT_NS);
			seq += ret == 0;
		} else if (r < 14) {
			for (i = 0; i < 4; i++)
				iov[i] = (struct membridge_iovec){
					msg[i], make_payload(seq + (uint32_t)i, msg[i]) };
			ret = membridge_spsc_push_batch(p.q, iov, 4, &pushed, CALL_TIMEOUT_NS);
			record(p.t, OP_PUSH_BATCH, ret, t0, CALL_TIMEOUT_NS);
			seq += (uint32_t)(ret == 0 ? pushed : 0);
		} else if (r < 15) {
			account(&p);
		} else {
			reopen(&p);
		}
	}
	ring_proc_close(&p, rss);
	return 0;
}

/* pop_batch callback: read every byte of the frame where it lies. */
static int batch_frame(void *ctx, const struct membridge_frame *f)
{
	struct tally *t = ctx;
	unsigned char buf[RING_CAP];

	check_frame_len(t, f->len);
	if (f->len > sizeof(buf) || f->part_len[0] + f->part_len[1] != f->len) {
		t->oversize++;
		return CALLBACK_STOP;
	}
	memcpy(buf, f->part[0], f->part_len[0]);
	memcpy(buf + f->part_len[0], f->part[1], f->part_len[1]);
	if (payload_intact(buf, f->len))
		t->intact++;
	else
		t->garbage++;
	return 0;
}

static void consume_peeked(struct ring_proc *p)
{
	struct membridge_frame f;
	int64_t t0 = mbt_now_ns();
	int ret = membridge_spsc_peek(p->q, &f, CALL_TIMEOUT_NS);

	record(p->t, OP_PEEK, ret, t0, CALL_TIMEOUT_NS);
	if (ret < 0)
		return;
	if (batch_frame(p->t, &f) < 0)
		return;
	t0 = mbt_now_ns();
	record(p->t, OP_CONSUME, membridge_spsc_consume(p->q, &f), t0, 0);
}

static int consumer_main(void *arg)
{
	struct ring_proc p;
	unsigned char buf[RING_CAP];
	size_t len, popped;
	long rss;
	int ret = ring_proc_open(&p, arg, CONSUMER);
	int64_t t0;

	if (ret)
		return ret;
	rss = peak_rss_kb();
	while (mbt_now_ns() < p.run->end_ns) {
		uint64_t r = mbt_random(&p.rng) % 16;

		t0 = mbt_now_ns();
		if (r < 8) {
			ret = membridge_spsc_pop(p.q, buf, sizeof(buf), &len, CALL_TIMEOUT_NS);
			record(p.t, OP_POP, ret, t0, CALL_TIMEOUT_NS);
			if (ret == 0) {
				check_frame_len(p.t, len);
				if (payload_intact(buf, len))
					p.t->intact++;
				else
					p.t->garbage++;
			}
		} else if (r < 11) {
			consume_peeked(&p);
		} else if (r < 14) {
			ret = membridge_spsc_pop_batch(p.q, 8, batch_frame, p.t, &popped,
						       CALL_TIMEOUT_NS);
			record(p.t, OP_POP_BATCH, ret, t0, CALL_TIMEOUT_NS);
		} else if (r < 15) {
			account(&p);
		} else {
			reopen(&p);
		}
	}
	ring_proc_close(&p, rss);
	return 0;
}

struct ring_header {
	uint64_t head, tail, capacity;
};

static uint64_t load64(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store64(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* Write a frame length word at ring index pos, wrapping like a frame does. */
static void put_len(unsigned char *data, uint64_t pos, uint32_t len)
{
	unsigned char b[4];
	int i;

	memcpy(b, &len, 4);
	for (i = 0; i < 4; i++)
		data[(pos + (uint64_t)i) & (RING_CAP - 1)] = b[i];
}

/* One random write: any header word or length word, or data bytes. */
static void scribble_random(struct ring_header *h, unsigned char *data, uint64_t *rng)
{
	uint64_t r = mbt_random(rng), v = mbt_random(rng);
	int64_t delta = (int64_t)(v % (4 * RING_CAP)) - 2 * RING_CAP;

	switch (r % 10) {
	case 0:
		store64(&h->head, v);
		break;
	case 1:
		store64(&h->tail, v);
		break;
	case 2:
		store64(&h->capacity, v);
		break;
	case 3:
		store64(&h->head, load64(&h->tail) + (uint64_t)delta);
		break;
	case 4:
		store64(&h->tail, load64(&h->head) + (uint64_t)delta);
		break;
	case 5:
		put_len(data, load64(&h->head), (uint32_t)v);
		break;
	case 6:
		put_len(data, load64(&h->head), (uint32_t)(v % (2 * RING_CAP)));
		break;
	case 7:
		put_len(data, v >> 32, (uint32_t)v);
		break;
	default:
		random_bytes(rng, data + v % (RING_CAP - 64), 1 + r % 64);
		break;
	}
}

/* The plausible evil values, in turn. */
static void scribble_evil(struct ring_header *h, unsigned char *data, unsigned k)
{
	uint64_t head = load64(&h->head), tail = load64(&h->tail);

	switch (k % 16) {
	case 0: /* head = tail + capacity + 1 */
		store64(&h->head, tail + RING_CAP + 1);
		break;
	case 1: /* a frame as long as the ring */
		put_len(data, head, RING_CAP);
		break;
	case 2:
		put_len(data, head, UINT32_MAX);
		break;
	case 3: /* tail behind head */
		store64(&h->tail, head - 1);
		break;
	case 4: /* head too far behind tail: more used than the capacity */
		store64(&h->head, tail - RING_CAP - 1);
		break;
	case 5: /* exactly full: garbage frames of valid length */
		store64(&h->tail, head + RING_CAP);
		break;
	case 6:
		store64(&h->capacity, UINT64_C(1) << 62);
		break;
	case 7:
		store64(&h->capacity, RING_CAP - 1);
		break;
	case 8:
		store64(&h->capacity, RING_CAP + 8);
		break;
	case 9:
		store64(&h->capacity, 2 * RING_CAP);
		break;
	case 10:
		store64(&h->capacity, 0);
		break;
	case 11: /* a published frame straddling the end of the data area */
		head = (tail | (RING_CAP - 1)) - 1;
		put_len(data, head, RING_CAP / 2);
		store64(&h->head, head);
		store64(&h->tail, head + 4 + RING_CAP / 2);
		break;
	case 12: /* the same, one byte longer than published */
		head = (tail | (RING_CAP - 1)) - 5;
		put_len(data, head, RING_CAP / 2 + 1);
		store64(&h->head, head);
		store64(&h->tail, head + 4 + RING_CAP / 2);
		break;
	case 13: /* indices about to wrap round 2^64 */
		store64(&h->head, UINT64_MAX - 3);
		put_len(data, UINT64_MAX - 3, 8);
		store64(&h->tail, UINT64_MAX - 3 + 12);
		break;
	case 14: /* all zero: looks like a ring not initialised yet */
		store64(&h->capacity, 0);
		store64(&h->head, 0);
		store64(&h->tail, 0);
		break;
	default: /* a length word of 0 at the head, then a huge one after it */
		put_len(data, head, 0);
		put_len(data, head + 4, UINT32_MAX - 3);
		break;
	}
}

static void repair_ring(struct ring_header *h)
{
	uint64_t tail = load64(&h->tail);

	store64(&h->capacity, RING_CAP);
	store64(&h->head, tail);
}

static int ring_scribbler_main(void *arg)
{
	struct run *run = arg;
	struct tally *t = &run->tally[SCRIBBLER];
	struct membridge_segment *seg;
	struct ring_header *h;
	unsigned char *data, *comp;
	uint64_t rng = run->seed ^ 0x5c81bb1e;
	unsigned k = 0;
	bool evil = false;

	if (membridge_segment_open(run->name, 0, &seg) < 0)
		return 20;
	h = membridge_segment_data(seg);
	data = (unsigned char *)h + MEMBRIDGE_SPSC_HEADER;
	comp = map_companion(run->name);
	while (mbt_now_ns() < run->end_ns) {
		int64_t burst_end = mbt_now_ns() + BURST_NS;

		/* Random values and plausible evil ones, by turns. */
		evil = !evil;
		while (mbt_now_ns() < burst_end) {
			if (evil)
				scribble_evil(h, data, k++);
			else
				scribble_random(h, data, &rng);
			if (comp && mbt_random(&rng) % 8 == 0)
				random_bytes(&rng, comp, COMPANION_SCRIBBLE);
			t->scribbles++;
			mbt_sleep_ns((int64_t)(mbt_random(&rng) % 200000));
		}
		repair_ring(h);
		if (comp)
			memset(comp, 0, COMPANION_SCRIBBLE);
		mbt_sleep_ns(QUIET_NS);
		repair_ring(h);
	}
	if (comp)
		munmap(comp, COMPANION_SCRIBBLE);
	membridge_segment_close(seg);
	t->done = 1;
	return 0;
}

/* ---------------------------------------------------------------- view */

struct lock_proc {
	struct run *run;
	struct membridge_segment *seg;
	struct membridge_view *view;
	struct tally *t;
	uint64_t rng;
};

/* Take a lock, work inside it, release it. */
static void locked_section(struct lock_proc *p, bool write)
{
	unsigned char buf[VIEW_DATA];
	int64_t t0 = mbt_now_ns();
	int ret = write ? membridge_view_lock_write(p->view, CALL_TIMEOUT_NS)
			: membridge_view_lock_read(p->view, CALL_TIMEOUT_NS);

	record(p->t, write ? OP_LOCK_WRITE : OP_LOCK_READ, ret, t0, CALL_TIMEOUT_NS);
	if (ret < 0)
		return;
	if (write) {
		memset(buf, (int)(mbt_random(&p->rng) & 0x7f), sizeof(buf));
		ret = membridge_view_write_bytes(p->view, 0, buf, sizeof(buf));
	} else {
		ret = membridge_view_read_bytes(p->view, 0, buf, sizeof(buf));
	}
	record(p->t, write ? OP_VIEW_WRITE : OP_VIEW_READ, ret, t0, CALL_TIMEOUT_NS);
	t0 = mbt_now_ns();
	record(p->t, OP_UNLOCK, membridge_view_unlock(p->view), t0, 0);
}

static int lock_user_main(struct run *run, enum role role)
{
	struct lock_proc p = { run, NULL, NULL, &run->tally[role], 0 };
	struct membridge_value v;
	char str[64];
	long rss;
	int64_t t0;
	int ret;

	p.rng = run->seed * (2 * (uint64_t)role + 1) + (uint64_t)getpid();
	if (membridge_segment_open(run->name, 0, &p.seg) < 0)
		return 20;
	if (membridge_view_open(p.seg, &p.view) < 0)
		return 21;
	membridge_view_set_timeout(p.view, CALL_TIMEOUT_NS);
	rss = peak_rss_kb();
	while (mbt_now_ns() < run->end_ns) {
		uint64_t r = mbt_random(&p.rng) % 16;

		t0 = mbt_now_ns();
		if (r < 5) {
			locked_section(&p, false);
		} else if (r < 9) {
			locked_section(&p, true);
		} else if (r < 12) {
			ret = membridge_view_read(p.view, mbt_random(&p.rng) % 16, MEMBRIDGE_STR,
						  &v, str, sizeof(str));
			record(p.t, OP_VIEW_READ, ret, t0, CALL_TIMEOUT_NS);
			if (ret == 0 && v.as.buf.len > sizeof(str))
				p.t->oversize++;
		} else if (r < 14) {
			ret = membridge_view_write_bytes(p.view, mbt_random(&p.rng) % 200, "abc",
							 3);
			record(p.t, OP_VIEW_WRITE, ret, t0, CALL_TIMEOUT_NS);
		} else if (r < 15) {
			/* The lock state as seen from outside: never a negative count. */
			ret = membridge_view_reader_count(p.view);
			if (ret < 0)
				flag(p.t, OP_LOCK_READ, ret);
			(void)membridge_view_is_write_locked(p.view);
		} else {
			record(p.t, OP_BREAK, membridge_view_break_lock(p.view, 0), t0, 0);
		}
	}
	membridge_view_close(p.view);
	membridge_segment_close(p.seg);
	p.t->rss_growth_kb = peak_rss_kb() - rss;
	p.t->done = 1;
	return 0;
}

static int user_a_main(void *arg)
{
	return lock_user_main(arg, USER_A);
}

static int user_b_main(void *arg)
{
	return lock_user_main(arg, USER_B);
}

static int lock_scribbler_main(void *arg)
{
	static const int32_t evil[] = {
		INT32_MIN, INT32_MAX, INT32_MAX - 1, 1 << 30, -1, 0, 1, -2, INT32_MIN + 1,
	};
	struct run *run = arg;
	struct tally *t = &run->tally[LOCK_SCRIBBLER];
	struct membridge_segment *seg;
	int32_t *word;
	unsigned char *data, *comp;
	uint64_t rng = run->seed ^ 0x10c4ed;
	unsigned k = 0;

	if (membridge_segment_open(run->name, 0, &seg) < 0)
		return 20;
	word = membridge_segment_data(seg);
	data = (unsigned char *)word + 4;
	comp = map_companion(run->name);
	while (mbt_now_ns() < run->end_ns) {
		int64_t burst_end = mbt_now_ns() + BURST_NS;

		while (mbt_now_ns() < burst_end) {
			uint64_t r = mbt_random(&rng);
			int32_t v;

			switch (r % 4) {
			case 0:
				v = (int32_t)(uint32_t)(r >> 32);
				break;
			case 1:
				v = evil[k++ % (sizeof(evil) / sizeof(evil[0]))];
				break;
			case 2: /* a huge reader count */
				v = (int32_t)((r >> 33) | (1u << 28));
				break;
			default: /* a writer that never existed (pids stay below 2^22) */
				v = -(int32_t)(5000000 + (r >> 40) % 1000000);
				break;
			}
			__atomic_store_n(word, v, __ATOMIC_RELAXED);
			if (r % 5 == 0) {
				/* A str length at the start of the data, then random bytes. */
				uint32_t len = (uint32_t)(r >> 20) % 600;

				memcpy(data, &len, 4);
				random_bytes(&rng, data + 4, 32);
			}
			if (comp && r % 7 == 0)
				random_bytes(&rng, comp, COMPANION_SCRIBBLE);
			t->scribbles++;
			mbt_sleep_ns((int64_t)(mbt_random(&rng) % 200000));
		}
		__atomic_store_n(word, 0, __ATOMIC_RELAXED);
		if (comp)
			memset(comp, 0, COMPANION_SCRIBBLE);
		mbt_sleep_ns(QUIET_NS);
	}
	if (comp)
		munmap(comp, COMPANION_SCRIBBLE);
	membridge_segment_close(seg);
	t->done = 1;
	return 0;
}

/* ------------------------------------------------------------- running */

/* Start the three processes, wait for them until a deadline, kill them if
 * they pass it; every one must exit 0 by itself and get to its end. */
static void run_all(struct run *run, int (*const mains[N_ROLES])(void *), int kind)
{
	int i;

	mbt_run_all(N_ROLES, mains, run, role_names[kind],
		    run->end_ns + (mbt_under_valgrind() ? 60000 : 10000) * MBT_MS);
	for (i = 0; i < N_ROLES; i++)
		ck_assert_msg(run->tally[i].done, "%s did not finish", role_names[kind][i]);
}

/* Print what one process saw and assert it stayed within the contract. */
static uint64_t report(const struct tally *t, const char *who)
{
	uint64_t total = 0;
	size_t op, c;

	for (op = 0; op < N_OPS; op++) {
		uint64_t n = 0;

		for (c = 0; c < N_CODES; c++)
			n += t->count[op][c];
		if (!n)
			continue;
		total += n;
		fprintf(stderr, "  %s %s: %llu calls:", who, ops[op].name, (unsigned long long)n);
		for (c = 0; c < N_CODES; c++)
			if (t->count[op][c])
				fprintf(stderr, " %s %llu", c ? membridge_strerror(codes[c]) : "ok",
					(unsigned long long)t->count[op][c]);
		fputc('\n', stderr);
	}
	ck_assert_msg(t->unexpected == 0, "%s: %llu undocumented results, first %s -> %d (%s)",
		      who, (unsigned long long)t->unexpected, ops[t->bad_op].name, t->bad_ret,
		      membridge_strerror(t->bad_ret));
	ck_assert_msg(t->slow == 0, "%s: %llu calls overran their timeout, slowest %lld ns", who,
		      (unsigned long long)t->slow, (long long)t->max_call_ns);
	ck_assert_msg(t->oversize == 0, "%s: %llu frames longer than the ring", who,
		      (unsigned long long)t->oversize);
	ck_assert_msg(!RSS_CHECKED || t->rss_growth_kb < RSS_GROWTH_LIMIT_KB,
		      "%s: peak RSS grew by %ld kB", who, t->rss_growth_kb);
	return total;
}

/* A producer and a consumer keep a ring busy while a third process writes
 * random and plausible-but-evil values into its header, frame lengths, data
 * and companion: every call returns a documented result in time, no frame
 * is longer than the ring, nobody crashes, hangs or grows. */
START_TEST(hostile_ring)
{
	static int (*const mains[N_ROLES])(void *) = {
		producer_main, consumer_main, ring_scribbler_main,
	};
	int seconds = hostile_seconds();
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char name[MBT_NAME_SIZE];
	struct run run = { name, 0, (uint64_t)mbt_now_ns() | 1, mbt_shared(N_ROLES * sizeof(struct tally)) };
	uint64_t ops_total;
	const struct tally *c = &run.tally[CONSUMER];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, RING_CAP + MEMBRIDGE_SPSC_HEADER, 0, 0, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &q));
	run.end_ns = mbt_now_ns() + seconds * INT64_C(1000000000);
	run_all(&run, mains, 0);
	fprintf(stderr, "hostile ring, %d s, seed %llu:\n", seconds,
		(unsigned long long)run.seed);
	ops_total = report(&run.tally[PRODUCER], "producer") + report(c, "consumer");
	fprintf(stderr, "  %llu calls, %llu scribbles, %llu intact and %llu garbage frames "
		"received, 0 crashes, 0 hangs\n", (unsigned long long)ops_total,
		(unsigned long long)run.tally[SCRIBBLER].scribbles,
		(unsigned long long)c->intact, (unsigned long long)c->garbage);
	/* The quiet spells let real traffic through, and the scribbles were seen. */
	ck_assert_uint_gt(c->intact, 0);
	ck_assert_uint_gt(c->count[OP_POP][code_of(-EBADMSG)] +
			  c->count[OP_PEEK][code_of(-EBADMSG)] +
			  c->count[OP_POP_BATCH][code_of(-EBADMSG)], 0);
	munmap(run.tally, N_ROLES * sizeof(struct tally));
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* Two processes lock a view and use its data while a third writes random
 * and extreme values into the lock word (INT_MIN, huge reader counts,
 * writers that never existed), str lengths into the data and noise into the
 * companion: errors or timeouts only, each call back in time. */
START_TEST(hostile_view_lock)
{
	static int (*const mains[N_ROLES])(void *) = {
		user_a_main, user_b_main, lock_scribbler_main,
	};
	int seconds = hostile_seconds();
	struct membridge_segment *seg;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE];
	struct run run = { name, 0, (uint64_t)mbt_now_ns() | 1, mbt_shared(N_ROLES * sizeof(struct tally)) };
	uint64_t ops_total;
	const struct tally *a = &run.tally[USER_A], *b = &run.tally[USER_B];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 4 + VIEW_DATA, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	run.end_ns = mbt_now_ns() + seconds * INT64_C(1000000000);
	run_all(&run, mains, 1);
	fprintf(stderr, "hostile view lock, %d s, seed %llu:\n", seconds,
		(unsigned long long)run.seed);
	ops_total = report(a, "lock user A") + report(b, "lock user B");
	fprintf(stderr, "  %llu calls, %llu scribbles, 0 crashes, 0 hangs\n",
		(unsigned long long)ops_total,
		(unsigned long long)run.tally[LOCK_SCRIBBLER].scribbles);
	/* Both outcomes happened: locks were had, and scribbles made them time out. */
	ck_assert_uint_gt(a->count[OP_LOCK_WRITE][0] + b->count[OP_LOCK_WRITE][0], 0);
	ck_assert_uint_gt(a->count[OP_LOCK_WRITE][code_of(-ETIMEDOUT)] +
			  b->count[OP_LOCK_WRITE][code_of(-ETIMEDOUT)], 0);
	/* Service comes back once the word is free again. */
	mbt_assert_ok(membridge_view_break_lock(view, MEMBRIDGE_BREAK_FORCE));
	mbt_assert_ok(membridge_view_lock_write(view, CALL_TIMEOUT_NS));
	mbt_assert_ok(membridge_view_unlock(view));
	munmap(run.tally, N_ROLES * sizeof(struct tally));
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

static Suite *hostile_suite(void)
{
	Suite *s = suite_create("hostile");
	TCase *tc = tcase_create("scribbler");

	tcase_add_test(tc, hostile_ring);
	tcase_add_test(tc, hostile_view_lock);
	tcase_set_timeout(tc, hostile_seconds() + (mbt_under_valgrind() ? 120 : 30));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(hostile_suite());
}
