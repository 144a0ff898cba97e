/* SPDX-License-Identifier: MIT */
/* Channel throughput: 16 B messages one per call and batched next to the rings and iceoryx, and fan-out to three subscribers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"
#include "channel-common.h"
#include "ref-ring.h"
#ifdef MB_BENCH_ICEORYX
#include "iceoryx-peer.h"
#endif

static const char usage[] =
	"Cross-process throughput of 16 B messages from a publisher on CPU 0 to\n"
	"subscribers on CPU 1: the membridge channel (loan+publish, receive+release;\n"
	"batches of 32 loans per publish and receive_batch per release) next to the\n"
	"membridge ring, the reference ring and iceoryx (when built with it), all\n"
	"busy-polling; and fan-out: three blocking subscriber processes against one.\n"
	"Every subscriber checks every message. Prints RESULT, NOTE and GOAL lines.\n";

#define GROUP         "channel throughput"
#define FANOUT        "channel fan-out"
#define MSG_SIZE      16
#define BATCH         32
#define DATA_SIZE     ((size_t)1 << 20) /* data bytes of the channel and the rings */
#define MAX_SUBS      3
#define IOX_QUEUE     256               /* iceoryx's largest subscriber queue */
#define CHILD_LIMIT_S 120

/* Everything a peer needs; set up by the parent, inherited by every child. */
struct ctx {
	int64_t timeout;      /* membridge: MEMBRIDGE_NO_WAIT spins on -EAGAIN */
	struct link link;
	struct membridge_message msgs[BATCH];
	struct membridge_iovec iov[BATCH];
	unsigned char buf[BATCH * MSG_SIZE];
};

/* What a subscriber expects next; `bad` is set by the first wrong message. */
struct checker {
	uint64_t next;
	bool bad;
	uint64_t bad_at;
};

static void check(struct checker *chk, const void *p, size_t len)
{
	if (!chk->bad && (len != MSG_SIZE || !check_ends(p, len, chk->next))) {
		chk->bad = true;
		chk->bad_at = chk->next;
	}
	chk->next++;
}

/* A transport. send() sends messages seq .. seq + n - 1 (n is 1, or up to
 * BATCH where it batches); recv() receives and checks 1 to max of them and
 * returns how many. */
struct peer {
	const char *name;
	const char *how;
	bool batches;
	enum link_kind kind;
	void (*send)(struct ctx *c, uint64_t seq, size_t n);
	size_t (*recv)(struct ctx *c, size_t max, struct checker *chk);
};

/* ---------------------------------------------------------- the channel */

/* n loans written in place, one publish; a loan that finds no space first
 * publishes what is loaned. */
static void chan_send(struct ctx *c, uint64_t seq, size_t n)
{
	size_t i, loaned = 0;
	void *data;
	int ret;

	for (i = 0; i < n; i++) {
		while ((ret = membridge_publisher_loan(c->link.pub, MSG_SIZE, &data, c->timeout)) ==
		       -EAGAIN) {
			if (loaned) {
				bench_check(membridge_publisher_publish(c->link.pub),
					    "membridge_publisher_publish");
				loaned = 0;
			}
			bench_cpu_relax();
		}
		bench_check(ret, "membridge_publisher_loan");
		stamp_ends(data, MSG_SIZE, seq + i);
		loaned++;
	}
	bench_check(membridge_publisher_publish(c->link.pub), "membridge_publisher_publish");
}

static size_t chan_recv(struct ctx *c, size_t max, struct checker *chk)
{
	int ret, i;

	if (max == 1) {
		while ((ret = membridge_subscriber_receive(c->link.sub, &c->msgs[0], c->timeout)) ==
		       -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_subscriber_receive");
		ret = 1;
	} else {
		while ((ret = membridge_subscriber_receive_batch(c->link.sub, c->msgs, max,
								 c->timeout)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_subscriber_receive_batch");
	}
	for (i = 0; i < ret; i++) {
		if (c->msgs[i].seq != chk->next && !chk->bad) {
			chk->bad = true;
			chk->bad_at = chk->next;
		}
		check(chk, c->msgs[i].data, c->msgs[i].len);
	}
	bench_check(membridge_subscriber_release(c->link.sub), "membridge_subscriber_release");
	return (size_t)ret;
}

/* ---------------------------------------------------------- the ring */

static void ring_send(struct ctx *c, uint64_t seq, size_t n)
{
	size_t i, done = 0, pushed;
	int ret;

	for (i = 0; i < n; i++) {
		stamp_ends(c->buf + i * MSG_SIZE, MSG_SIZE, seq + i);
		c->iov[i].base = c->buf + i * MSG_SIZE;
		c->iov[i].len = MSG_SIZE;
	}
	if (n == 1) {
		while ((ret = membridge_spsc_push(c->link.q, c->buf, MSG_SIZE,
						  MEMBRIDGE_NO_WAIT)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_push");
		return;
	}
	while (done < n) {
		ret = membridge_spsc_push_batch(c->link.q, c->iov + done, n - done, &pushed,
						MEMBRIDGE_NO_WAIT);
		if (ret == -EAGAIN) {
			bench_cpu_relax();
			continue;
		}
		bench_check(ret, "membridge_spsc_push_batch");
		done += pushed;
	}
}

static int ring_check_frame(void *ctx, const struct membridge_frame *f)
{
	unsigned char msg[MSG_SIZE];

	if (f->len != MSG_SIZE) {
		check(ctx, f->part[0], f->len);
		return 0;
	}
	memcpy(msg, f->part[0], f->part_len[0]);
	memcpy(msg + f->part_len[0], f->part[1], f->part_len[1]);
	check(ctx, msg, MSG_SIZE);
	return 0;
}

static size_t ring_recv(struct ctx *c, size_t max, struct checker *chk)
{
	size_t got;
	int ret;

	if (max == 1) {
		while ((ret = membridge_spsc_pop(c->link.q, c->buf, sizeof(c->buf), &got,
						 MEMBRIDGE_NO_WAIT)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_pop");
		check(chk, c->buf, got);
		return 1;
	}
	while ((ret = membridge_spsc_pop_batch(c->link.q, max, ring_check_frame, chk, &got,
					       MEMBRIDGE_NO_WAIT)) == -EAGAIN)
		bench_cpu_relax();
	bench_check(ret, "membridge_spsc_pop_batch");
	return got;
}

/* ---------------------------------------------------------- the reference ring */

/* The tail is published once per call. */
static void ref_send(struct ctx *c, uint64_t seq, size_t n)
{
	unsigned char msg[MSG_SIZE];
	size_t i;

	for (i = 0; i < n; i++) {
		stamp_ends(msg, MSG_SIZE, seq + i);
		ref_ring_put(&c->link.ref, msg, MSG_SIZE);
	}
	ref_ring_publish(&c->link.ref);
}

/* Messages are checked in place, the head released once per call. */
static size_t ref_recv(struct ctx *c, size_t max, struct checker *chk)
{
	unsigned char msg[MSG_SIZE];
	struct ref_frame f;
	size_t n = 0;

	while (!ref_ring_peek(&c->link.ref, &f))
		bench_cpu_relax();
	do {
		if (f.part_len[1] == 0) {
			check(chk, f.part[0], f.len);
		} else {
			memcpy(msg, f.part[0], f.part_len[0]);
			memcpy(msg + f.part_len[0], f.part[1], f.part_len[1]);
			check(chk, msg, f.len);
		}
		ref_ring_take(&c->link.ref, &f);
	} while (++n < max && ref_ring_peek(&c->link.ref, &f));
	ref_ring_release(&c->link.ref);
	return n;
}

/* ---------------------------------------------------------- iceoryx */

#ifdef MB_BENCH_ICEORYX
static void iox_send(struct ctx *c, uint64_t seq, size_t n)
{
	void *data;

	(void)n; /* always 1: no batch call */
	data = bench_iox_loan(c->link.ipub, MSG_SIZE);
	stamp_ends(data, MSG_SIZE, seq);
	bench_iox_publish(c->link.ipub, data);
}

static size_t iox_recv(struct ctx *c, size_t max, struct checker *chk)
{
	const void *data = bench_iox_take(c->link.isub);

	(void)max;
	check(chk, data, MSG_SIZE);
	bench_iox_release(c->link.isub, data);
	return 1;
}
#endif

static const struct peer chan_peer = {
	"membridge", "loans written in place, one publish per call; receive or "
	"receive_batch, one release per call", true,
	LINK_CHANNEL, chan_send, chan_recv
};
static const struct peer ring_peer = {
	"membridge ring", "push/pop (copies); push_batch/pop_batch (frames checked in place)",
	true, LINK_RING, ring_send, ring_recv
};
static const struct peer ref_peer = {
	"reference ring", "tail published once per call, frames checked in place, head "
	"released once per call", true,
	LINK_REF, ref_send, ref_recv
};
#ifdef MB_BENCH_ICEORYX
static const struct peer iox_peer = {
	"iceoryx", "iox_pub_loan_chunk/publish_chunk, iox_sub_take_chunk/release_chunk "
	"(busy-poll), a subscriber queue of 256 that blocks the publisher; no batch call", false,
	LINK_IOX, iox_send, iox_recv
};
#endif

/* ---------------------------------------------------------- one run */

struct run_state {
	struct party_barrier barrier;
	_Atomic int64_t start; /* the earliest party's start of the timed part */
	_Atomic int64_t end;   /* the last subscriber's end */
	_Atomic unsigned bad;  /* subscribers that saw a wrong or missing message */
	uint64_t bad_at;
};

/* One measurement: `warm` messages, a barrier, `count` timed ones to each
 * of `subs` subscribers, a barrier (the publisher leaves last). */
struct run {
	const struct peer *peer;
	struct ctx *ctx;
	size_t batch;
	uint64_t warm;
	uint64_t count;
	struct run_state *st;
};

static void send_stream(const struct run *r, uint64_t *seq, uint64_t n)
{
	while (n) {
		size_t k = n < r->batch ? (size_t)n : r->batch;

		r->peer->send(r->ctx, *seq, k);
		*seq += k;
		n -= k;
	}
}

static int producer(void *arg)
{
	const struct run *r = arg;
	uint64_t seq = 0;

	alarm(CHILD_LIMIT_S);
	link_join(&r->ctx->link);
	link_attach(&r->ctx->link, true, IOX_QUEUE);
	party_barrier_wait(&r->st->barrier);
	send_stream(r, &seq, r->warm);
	party_barrier_wait(&r->st->barrier);
	atomic_min_i64(&r->st->start, bench_now_ns());
	send_stream(r, &seq, r->count);
	party_barrier_wait(&r->st->barrier);
	link_detach(&r->ctx->link, true);
	link_leave(&r->ctx->link);
	return 0;
}

static void receive_stream(const struct run *r, struct checker *chk, uint64_t n)
{
	while (n) {
		size_t max = n < r->batch ? (size_t)n : r->batch;

		n -= r->peer->recv(r->ctx, max, chk);
	}
}

static int consumer(void *arg)
{
	const struct run *r = arg;
	struct checker chk = { 0, false, 0 };

	alarm(CHILD_LIMIT_S);
	link_join(&r->ctx->link);
	link_attach(&r->ctx->link, false, IOX_QUEUE);
	party_barrier_wait(&r->st->barrier);
	receive_stream(r, &chk, r->warm);
	party_barrier_wait(&r->st->barrier);
	atomic_min_i64(&r->st->start, bench_now_ns());
	receive_stream(r, &chk, r->count);
	atomic_max_i64(&r->st->end, bench_now_ns());
	if (chk.bad || chk.next != r->warm + r->count) {
		r->st->bad_at = chk.bad ? chk.bad_at : chk.next;
		atomic_fetch_add(&r->st->bad, 1);
	}
	party_barrier_wait(&r->st->barrier);
	link_detach(&r->ctx->link, false);
	link_leave(&r->ctx->link);
	return 0;
}

/* Messages per second delivered to all `subs` subscribers together. */
static double measure(const struct peer *peer, struct ctx *c, size_t batch, unsigned subs,
		      uint64_t count, struct run_state *st)
{
	struct run r = { peer, c, batch, count / 10, count, st };
	pid_t pids[MAX_SUBS + 1];
	unsigned k;

	memset(st, 0, sizeof(*st));
	st->barrier.parties = subs + 1;
	st->start = INT64_MAX;
	link_setup(&c->link, peer->kind, DATA_SIZE, MSG_SIZE, subs);
	/* the subscribers share CPU 1, the publisher has CPU 0 */
	for (k = 0; k < subs; k++)
		pids[k] = bench_fork(1, consumer, &r);
	pids[subs] = bench_fork(0, producer, &r);
	bench_wait_all(pids, subs + 1);
	link_teardown(&c->link);
	if (st->bad)
		bench_die("%s: %u subscriber(s) got a wrong or missing message, first at #%llu",
			  peer->name, (unsigned)st->bad, (unsigned long long)st->bad_at);
	return (double)count * subs * 1e9 / (double)(st->end - st->start);
}

/* ---------------------------------------------------------- main */

/* One implementation of a case: a peer with `subs` subscribers, reported as `impl`. */
struct entry {
	const struct peer *peer;
	const char *impl;
	unsigned subs;
};

static void run_case(const char *group, const char *bcase, const struct entry *e, size_t n,
		     size_t batch, int64_t timeout, uint64_t count, const struct bench_opts *o,
		     struct run_state *st)
{
	static struct ctx ctx;
	double v[4][999];
	size_t i;
	int run;

	fprintf(stderr, "%s: %s: %llu messages, %d runs\n", group, bcase,
		(unsigned long long)count, o->runs);
	for (run = 0; run < o->runs; run++) {
		for (i = 0; i < n; i++) {
			ctx.timeout = timeout;
			v[i][run] = measure(e[i].peer, &ctx, e[i].peer->batches ? batch : 1,
					    e[i].subs, count, st);
		}
	}
	for (i = 0; i < n; i++)
		bench_result(group, bcase, e[i].impl, bench_median(v[i], (size_t)o->runs),
			     "msg/s");
}

static void note_peer(const struct peer *p)
{
	bench_note(GROUP, "%s: %s", p->name, p->how);
}

int main(int argc, char **argv)
{
	struct entry per_call[4] = {
		{ &chan_peer, "membridge", 1 }, { &ring_peer, "membridge ring", 1 },
		{ &ref_peer, "reference ring", 1 },
	};
	const struct entry fanout[] = {
		{ &chan_peer, "membridge", MAX_SUBS }, { &chan_peer, "1 subscriber", 1 },
	};
	size_t nper = 3;
	struct bench_opts opts;
	struct run_state *st;
	uint64_t count;
	char why[256] = "configure found no iceoryx C binding (Debian: libiceoryx-binding-c-dev)";
	char bcase[64];

	bench_parse_args(argc, argv, usage, &opts);
	count = opts.quick ? 100000 : 2000000;
	st = bench_shared_alloc(sizeof(*st));
#ifdef MB_BENCH_ICEORYX
	if (bench_iox_start(why, sizeof(why)) == 0)
		per_call[nper++] = (struct entry){ &iox_peer, "iceoryx", 1 };
#endif
	snprintf(bcase, sizeof(bcase), "%d B per call", MSG_SIZE);
	run_case(GROUP, bcase, per_call, nper, 1, MEMBRIDGE_NO_WAIT, count, &opts, st);
	chan_bench_goal(GROUP, bcase, "membridge ring", 2.0);
	chan_bench_goal(GROUP, bcase, "reference ring", 0.9);
	snprintf(bcase, sizeof(bcase), "%d B batch of %d", MSG_SIZE, BATCH);
	run_case(GROUP, bcase, per_call, 3, BATCH, MEMBRIDGE_NO_WAIT, count, &opts, st);
	chan_bench_goal(GROUP, bcase, "reference ring", 1.5);
#ifdef MB_BENCH_ICEORYX
	if (nper > 3)
		bench_iox_stop();
#endif
	bench_note(GROUP, "publisher on CPU 0, subscriber on CPU 1 (%d CPUs); %d runs per figure "
		   "(median); %llu messages of %d B per run after a tenth as many untimed; the "
		   "subscriber checks the sequence number and trailer of every message "
		   "(membridge: and its seq)", bench_cpu_count(), opts.runs,
		   (unsigned long long)count, MSG_SIZE);
	bench_note(GROUP, "membridge channel and rings: %zu data bytes; every side busy-polls "
		   "(MEMBRIDGE_NO_WAIT retried)", DATA_SIZE);
	note_peer(&chan_peer);
	note_peer(&ring_peer);
	note_peer(&ref_peer);
	if (nper > 3)
		note_peer(per_call[3].peer);
	else
		bench_note(GROUP, "iceoryx skipped: %s", why);

	snprintf(bcase, sizeof(bcase), "%d B per call, %d subscribers vs 1", MSG_SIZE, MAX_SUBS);
	run_case(FANOUT, bcase, fanout, 2, 1, MEMBRIDGE_WAIT_FOREVER, count, &opts, st);
	chan_bench_goal(FANOUT, bcase, "1 subscriber", 1.5);
	snprintf(bcase, sizeof(bcase), "%d B batch of %d, %d subscribers vs 1", MSG_SIZE, BATCH,
		 MAX_SUBS);
	run_case(FANOUT, bcase, fanout, 2, BATCH, MEMBRIDGE_WAIT_FOREVER, count, &opts, st);
	chan_bench_goal(FANOUT, bcase, "1 subscriber", 1.5);
	bench_note(FANOUT, "deliveries per second summed over all subscribers: membridge = %d "
		   "subscriber processes, all on CPU 1, against one; the publisher on CPU 0; "
		   "every call waits with MEMBRIDGE_WAIT_FOREVER; %llu messages per subscriber "
		   "per run, median of %d runs; each subscriber checks every message",
		   MAX_SUBS, (unsigned long long)count, opts.runs);
	bench_shared_free(st, sizeof(*st));
	return 0;
}
