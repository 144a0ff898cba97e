/* SPDX-License-Identifier: MIT */
/* Check suite of SIGKILL at random moments: ring producers, ring consumers, view lock holders. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "soak-stream.h"

#define RING_CAP 4096
/* A child stuck this long is killed by its own alarm. */
#define CHILD_ALARM_S 60
/* Longest random time between a child's start of work and its SIGKILL. */
#define MAX_WINDOW_NS (2 * MBT_MS)

/*
 * Handles a child opens stay reachable from here: a child that is killed,
 * or that exits without closing what its parent opened, must not look like
 * a leak to valgrind.
 */
static struct membridge_segment *child_seg;
static struct membridge_spsc *child_ring;
static struct membridge_view *child_view;

/* The kill schedule: MBT_KILL_SEED picks another one. */
#define KILL_SEED mbt_kill_seed(20261124)

/* Iterations of each kill loop: MBT_KILL_ITERATIONS, else 200 (20 under valgrind). */
static int kill_iterations(void)
{
	const char *env = getenv("MBT_KILL_ITERATIONS");

	if (env && *env)
		return atoi(env);
	return mbt_under_valgrind() ? 20 : 200;
}

static int64_t random_window(uint64_t seed, int i)
{
	return (int64_t)(mbt_mix(seed ^ (uint64_t)i) % (uint64_t)MAX_WINDOW_NS);
}

/* Read up to n bytes of a non-blocking pipe; 0 at EOF, -1 if nothing is there. */
static ssize_t take(int fd, void *buf, size_t n)
{
	ssize_t r;

	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		ck_assert_int_eq(errno, EAGAIN);
		return -1;
	}
	return r;
}

/* A pipe whose read end (fds[0]) does not block. */
static void nonblocking_pipe(int fds[2])
{
	ck_assert_int_eq(pipe(fds), 0);
	ck_assert_int_eq(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
}

/* Child side: open the segment `name` and a ring or a view on it. */
static int child_open(const char *name, bool ring)
{
	int ret;

	alarm(CHILD_ALARM_S);
	ret = membridge_segment_open(name, 0, &child_seg);
	if (ret == 0)
		ret = ring ? membridge_spsc_open(child_seg, &child_ring) :
			     membridge_view_open(child_seg, &child_view);
	if (ret < 0)
		fprintf(stderr, "child %ld: cannot open %s: %s\n", (long)getpid(), name,
			membridge_strerror(ret));
	return ret;
}

static void child_close(void)
{
	membridge_spsc_close(child_ring);
	membridge_view_close(child_view);
	membridge_segment_close(child_seg);
	child_ring = NULL;
	child_view = NULL;
	child_seg = NULL;
}

/* A ring of RING_CAP bytes for the parent; its header as raw words. */
struct ring_fx {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct mbs s;
};

static void ring_fx_open(struct ring_fx *r, size_t min_len)
{
	mbt_name(r->name);
	mbt_assert_ok(membridge_segment_create(r->name, RING_CAP + MEMBRIDGE_SPSC_HEADER, 0, 0,
					       &r->seg));
	mbt_assert_ok(membridge_spsc_open(r->seg, &r->q));
	mbt_assert_ok(mbs_init(&r->s, KILL_SEED, RING_CAP, min_len));
}

static void ring_fx_close(struct ring_fx *r)
{
	mbs_free(&r->s);
	membridge_spsc_close(r->q);
	membridge_segment_close(r->seg);
	mbt_assert_ok(membridge_segment_remove(r->name));
}

/* The ring holds nothing: head == tail, by the accounting calls and the raw header. */
static void assert_drained(struct ring_fx *r)
{
	const unsigned char *raw = membridge_segment_data(r->seg);
	uint64_t head, tail;
	size_t used = 1;

	mbt_assert_ok(membridge_spsc_used(r->q, &used));
	ck_assert_uint_eq(used, 0);
	ck_assert_int_eq(membridge_spsc_is_empty(r->q), 1);
	memcpy(&head, raw, 8);
	memcpy(&tail, raw + 8, 8);
	ck_assert_uint_eq(head, tail);
}

/* ------------------------------------------------------- producer killed */

struct producer_child {
	struct ring_fx *r;
	uint64_t first;
	uint64_t end; /* UINT64_MAX: until killed */
	enum mbs_push how;
	int fd;       /* reports how many messages are published */
};

static void report_sent(void *ctx, uint64_t next)
{
	const struct producer_child *p = ctx;

	mbt_put(p->fd, &next, sizeof(next));
}

static int producer_main(void *arg)
{
	struct producer_child *p = arg;
	int ret;

	if (child_open(p->r->name, true) < 0)
		return 10;
	p->r->s.sent = report_sent;
	p->r->s.ctx = p;
	ret = mbs_produce(&p->r->s, child_ring, p->first, p->end, p->how, 10000 * MBT_MS);
	if (ret < 0)
		fprintf(stderr, "producer: %s\n", membridge_strerror(ret));
	child_close();
	return ret < 0 ? 11 : 0;
}

/* Read what the producer reported into *sent (its counts only grow); false at EOF. */
static bool read_sent(int fd, uint64_t *sent)
{
	uint64_t buf[512];
	ssize_t n, i;

	while ((n = take(fd, buf, sizeof(buf))) > 0) {
		ck_assert_int_eq(n % 8, 0); /* 8-byte writes to a pipe are atomic */
		for (i = 0; i < n / 8; i++) {
			ck_assert_uint_ge(buf[i], *sent);
			*sent = buf[i];
		}
	}
	return n != 0;
}

static const enum mbs_push push_ways[] = {
	MBS_PUSH_ONE, MBS_PUSH_GATHER, MBS_PUSH_BATCH, MBS_PUSH_MIX
};

/*
 * The parent consumes while a producer child streams; the child dies by
 * SIGKILL at a random moment, in or between push, pushv and push_batch
 * calls (now and then while it waits on a full ring). Every message whose
 * push returned has arrived, intact and in order; beyond those only the
 * messages of the one call in progress can have been published (it had
 * stored the new tail), and never a partial one: the ring then drains to
 * head == tail. The next producer continues the sequence on the same ring.
 */
START_TEST(producer_killed)
{
	struct mbs_tally t = { 0 };
	struct producer_child p;
	int iterations = kill_iterations(), i, fds[2], ret, in_call = 0, waiting = 0;
	uint64_t seed = KILL_SEED, sent, first;
	struct ring_fx r;
	int64_t t0 = mbt_now_ns(), end;
	pid_t pid;

	ring_fx_open(&r, 0);
	for (i = 0; i < iterations; i++) {
		bool idle = i % 5 == 4; /* let the ring fill up: the child waits in push */

		first = t.next;
		p = (struct producer_child){ &r, first, UINT64_MAX, push_ways[i % 4], -1 };
		nonblocking_pipe(fds);
		p.fd = fds[1];
		pid = mbt_fork(producer_main, &p);
		close(fds[1]);
		/* Start the clock once the child streams. */
		mbt_assert_ok(mbs_consume(&r.s, r.q, &t, t.next + 1, MBS_POP_MIX,
					  5000 * MBT_MS));
		end = mbt_now_ns() + random_window(seed, i);
		sent = first;
		while (mbt_now_ns() < end) {
			if (idle) {
				mbt_sleep_ns(end - mbt_now_ns());
				break;
			}
			ret = mbs_consume(&r.s, r.q, &t, t.next + 16, MBS_POP_MIX, 100 * 1000);
			ck_assert_msg(ret == 0 || ret == -ETIMEDOUT, "consume: %s",
				      membridge_strerror(ret));
			ck_assert(read_sent(fds[0], &sent));
		}
		ck_assert_int_eq(mbt_kill(pid), MBT_KILLED);
		/* The child is gone: everything it published is in the ring. */
		while (read_sent(fds[0], &sent))
			ck_assert(mbt_readable(fds[0], 1000));
		close(fds[0]);
		waiting += idle;
		mbt_assert_ret(mbs_consume(&r.s, r.q, &t, UINT64_MAX, MBS_POP_MIX,
					   MEMBRIDGE_NO_WAIT), -EAGAIN);
		ck_assert_msg(t.lost == 0 && t.duplicated == 0 && t.corrupted == 0,
			      "iteration %d: %llu lost, %llu duplicated, %llu corrupted", i,
			      (unsigned long long)t.lost, (unsigned long long)t.duplicated,
			      (unsigned long long)t.corrupted);
		ck_assert_msg(t.next >= sent, "iteration %d: %llu messages reported sent, "
			      "%llu received", i, (unsigned long long)sent,
			      (unsigned long long)t.next);
		ck_assert_uint_le(t.next - sent, MBS_BATCH);
		in_call += t.next > sent;
		assert_drained(&r);
	}
	/* A last producer runs to the end: the ring works as new. */
	first = t.next;
	p = (struct producer_child){ &r, first, first + 1000, MBS_PUSH_MIX, -1 };
	ck_assert_int_eq(pipe(fds), 0);
	p.fd = fds[1];
	pid = mbt_fork(producer_main, &p);
	close(fds[1]);
	mbt_assert_ok(mbs_consume(&r.s, r.q, &t, first + 1000, MBS_POP_MIX, 5000 * MBT_MS));
	ck_assert_int_eq(mbt_wait(pid), 0);
	close(fds[0]);
	mbt_assert_ret(mbs_consume(&r.s, r.q, &t, UINT64_MAX, MBS_POP_MIX, MEMBRIDGE_NO_WAIT),
		       -EAGAIN);
	ck_assert_uint_eq(t.lost + t.duplicated + t.corrupted, 0);
	assert_drained(&r);
	printf("producer killed %d times (seed %llu) in %.2f s: %llu messages, %llu bytes "
	       "received intact and in order; %d kills after a publish the producer had not "
	       "returned from, %d while it waited for room\n", iterations, (unsigned long long)seed,
	       (double)(mbt_now_ns() - t0) / 1e9, (unsigned long long)t.received,
	       (unsigned long long)t.bytes, in_call, waiting);
	ring_fx_close(&r);
}
END_TEST

/* ------------------------------------------------------- consumer killed */

struct consumer_child {
	struct ring_fx *r;
	uint64_t next; /* where it expects to start */
	uint64_t end;  /* UINT64_MAX: until killed */
	enum mbs_pop how;
	int fd;        /* reports the seq of every message it has (UINT64_MAX: corrupt) */
};

static void report_got(void *ctx, uint64_t seq)
{
	const struct consumer_child *c = ctx;

	mbt_put(c->fd, &seq, sizeof(seq));
}

static int consumer_main(void *arg)
{
	struct consumer_child *c = arg;
	struct mbs_tally t = { 0 };
	int ret;

	if (child_open(c->r->name, true) < 0)
		return 20;
	t.next = c->next;
	c->r->s.got = report_got;
	c->r->s.ctx = c;
	ret = mbs_consume(&c->r->s, child_ring, &t, c->end, c->how, 10000 * MBT_MS);
	if (ret < 0)
		fprintf(stderr, "consumer: %s\n", membridge_strerror(ret));
	child_close();
	return ret < 0 ? 21 : 0;
}

/*
 * The parent's view of what the consumers reported, in order. A consumer
 * reports a message once it has it: after pop returned, or after peek and
 * before consume, or inside pop_batch's callback (before the batch's head
 * is published).
 */
struct delivery {
	enum mbs_pop how;
	uint64_t next;       /* first sequence number no consumer has reported */
	uint64_t prev;       /* the last report of the current consumer */
	bool first;          /* the current consumer has not reported yet */
	int kills;           /* consumers killed since the last report */
	uint64_t lost, duplicated, max_gap, max_repeat;
};

static void delivered(struct delivery *d, uint64_t seq)
{
	ck_assert_msg(seq != UINT64_MAX, "a consumer received a corrupt message");
	if (!d->first) {
		/* Within one consumer: strictly one after the other. */
		ck_assert_msg(seq == d->prev + 1, "consumer reported %llu after %llu",
			      (unsigned long long)seq, (unsigned long long)d->prev);
	} else if (seq < d->next) {
		/* Redelivered: what a killed consumer had but had not consumed. */
		ck_assert_msg(d->how != MBS_POP_ONE, "pop delivered %llu again",
			      (unsigned long long)seq);
		ck_assert_int_gt(d->kills, 0);
		ck_assert_uint_le(d->next - seq, d->how == MBS_POP_PEEK ? 1 : MBS_BATCH);
		d->duplicated += d->next - seq;
		if (d->next - seq > d->max_repeat)
			d->max_repeat = d->next - seq;
	} else if (seq > d->next) {
		/* Skipped: popped by a consumer killed before it used the message,
		 * at most one per kill. */
		ck_assert_msg(d->how == MBS_POP_ONE, "%llu messages missing before %llu",
			      (unsigned long long)(seq - d->next), (unsigned long long)seq);
		ck_assert_uint_le(seq - d->next, (uint64_t)d->kills);
		d->lost += seq - d->next;
		if (seq - d->next > d->max_gap)
			d->max_gap = seq - d->next;
	}
	d->first = false;
	d->kills = 0;
	d->prev = seq;
	if (seq + 1 > d->next)
		d->next = seq + 1;
}

/* Hand every report waiting in fd to d; false at EOF. */
static bool read_reports(int fd, struct delivery *d)
{
	uint64_t buf[512];
	ssize_t n, i;

	while ((n = take(fd, buf, sizeof(buf))) > 0) {
		ck_assert_int_eq(n % 8, 0); /* 8-byte writes to a pipe are atomic */
		for (i = 0; i < n / 8; i++)
			delivered(d, buf[i]);
	}
	return n != 0;
}

static void note_sent(void *ctx, uint64_t next)
{
	*(uint64_t *)ctx = next;
}

static const char *const pop_names[] = { "mixed", "pop", "peek+consume", "pop_batch" };

/*
 * The parent produces while a consumer child takes messages; the child
 * dies by SIGKILL at a random moment (while it copies, judges, waits or
 * publishes the head) and a new one takes over. The rule for each way:
 * peek + consume loses nothing, the message in hand may come again (at
 * most one per kill); pop_batch loses nothing, the messages of the batch
 * in progress may come again; pop removes the message when it publishes
 * the new head, so a consumer killed between that and using it loses that
 * one message, at most one per kill, and nothing comes twice.
 */
START_TEST(consumer_killed)
{
	static const enum mbs_pop ways[] = { MBS_POP_PEEK, MBS_POP_ONE, MBS_POP_BATCH };
	struct delivery d = { ways[_i], 0, 0, true, 0, 0, 0, 0, 0 };
	int iterations = kill_iterations(), i, fds[2], ret;
	uint64_t seed = KILL_SEED ^ (uint64_t)_i << 32, sent = 0;
	struct consumer_child c;
	struct ring_fx r;
	int64_t t0 = mbt_now_ns(), end, give_up;
	pid_t pid = -1;

	ring_fx_open(&r, MBS_SELF_ID);
	r.s.sent = note_sent;
	r.s.ctx = &sent;
	for (i = 0; i <= iterations; i++) {
		bool last = i == iterations;

		c = (struct consumer_child){ &r, d.next, last ? sent + 1 : UINT64_MAX, d.how, -1 };
		nonblocking_pipe(fds);
		c.fd = fds[1];
		pid = mbt_fork(consumer_main, &c);
		close(fds[1]);
		d.first = true;
		if (last) {
			/* One message more for the last consumer to end at: the
			 * one before may have gone with a consumer killed in pop
			 * (the ring may be full until the last one takes some). */
			give_up = mbt_now_ns() + 10000 * MBT_MS;
			while ((ret = mbs_produce(&r.s, r.q, sent, sent + 1, MBS_PUSH_MIX,
						  100 * 1000)) == -ETIMEDOUT)
				ck_assert_msg(mbt_now_ns() < give_up, "the last consumer takes nothing");
			ck_assert_msg(ret == 0, "produce: %s", membridge_strerror(ret));
			break;
		}
		/* Produce until the child has something, then a random time more. */
		end = INT64_MAX;
		give_up = mbt_now_ns() + 10000 * MBT_MS;
		while (mbt_now_ns() < end) {
			ret = mbs_produce(&r.s, r.q, sent, sent + 4, MBS_PUSH_MIX, 100 * 1000);
			ck_assert_msg(ret == 0 || ret == -ETIMEDOUT, "produce: %s",
				      membridge_strerror(ret));
			ck_assert(read_reports(fds[0], &d));
			if (end == INT64_MAX && !d.first)
				end = mbt_now_ns() + random_window(seed, i);
			ck_assert_msg(end != INT64_MAX || mbt_now_ns() < give_up,
				      "consumer %d reports nothing", i);
		}
		ck_assert_int_eq(mbt_kill(pid), MBT_KILLED);
		while (read_reports(fds[0], &d))
			ck_assert(mbt_readable(fds[0], 1000));
		close(fds[0]);
		d.kills++;
	}
	/* The last consumer takes the rest and exits. */
	while (read_reports(fds[0], &d))
		ck_assert(mbt_readable(fds[0], 10000));
	close(fds[0]);
	ck_assert_int_eq(mbt_wait(pid), 0);
	ck_assert_uint_eq(d.next, sent);
	assert_drained(&r);
	printf("consumer (%s) killed %d times (seed %llu) in %.2f s: %llu messages, "
	       "%llu lost (at most %llu per kill), %llu delivered again (at most %llu per kill)\n",
	       pop_names[d.how], iterations, (unsigned long long)seed,
	       (double)(mbt_now_ns() - t0) / 1e9, (unsigned long long)sent,
	       (unsigned long long)d.lost, (unsigned long long)d.max_gap,
	       (unsigned long long)d.duplicated, (unsigned long long)d.max_repeat);
	ck_assert_uint_le(d.lost, (uint64_t)iterations);
	ck_assert_uint_le(d.duplicated, (uint64_t)iterations * MBS_BATCH);
	if (d.how != MBS_POP_ONE)
		ck_assert_uint_eq(d.lost, 0);
	if (d.how == MBS_POP_ONE)
		ck_assert_uint_eq(d.duplicated, 0);
	ring_fx_close(&r);
}
END_TEST

/* A consumer that takes the first message one way and is killed holding it. */
struct holding_child {
	const char *name;
	enum mbs_pop how;
	int fd; /* one byte once it holds the message */
};

static int hold_forever(void *ctx, const struct membridge_frame *f)
{
	const struct holding_child *c = ctx;

	(void)f;
	mbt_put(c->fd, "H", 1);
	pause(); /* until SIGKILL */
	return 0;
}

static int holding_main(void *arg)
{
	const struct holding_child *c = arg;
	struct membridge_frame f;
	char buf[8];
	size_t len;
	int ret;

	if (child_open(c->name, true) < 0)
		return 50;
	if (c->how == MBS_POP_BATCH)
		ret = membridge_spsc_pop_batch(child_ring, 2, hold_forever, (void *)c, &len,
					       MEMBRIDGE_NO_WAIT);
	else if (c->how == MBS_POP_PEEK)
		ret = membridge_spsc_peek(child_ring, &f, MEMBRIDGE_NO_WAIT);
	else
		ret = membridge_spsc_pop(child_ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT);
	if (ret < 0)
		return 51;
	mbt_put(c->fd, "H", 1);
	pause(); /* until SIGKILL */
	return 52;
}

/*
 * The rule above, shown deterministically: a consumer killed while it holds
 * the first of two messages, after peek, inside pop_batch's callback, or
 * after pop returned. The next consumer gets both messages in the first two
 * cases, only the second after pop.
 */
START_TEST(consumer_killed_holding)
{
	static const enum mbs_pop ways[] = { MBS_POP_PEEK, MBS_POP_BATCH, MBS_POP_ONE };
	struct holding_child c;
	struct ring_fx r;
	char buf[8], h = 0;
	int fds[2];
	size_t len;
	pid_t pid;

	ring_fx_open(&r, 0);
	mbt_assert_ok(membridge_spsc_push(r.q, "first", 5, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_push(r.q, "second", 6, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(pipe(fds), 0);
	c = (struct holding_child){ r.name, ways[_i], fds[1] };
	pid = mbt_fork(holding_main, &c);
	close(fds[1]);
	ck_assert(mbt_readable(fds[0], 10000) && read(fds[0], &h, 1) == 1 && h == 'H');
	close(fds[0]);
	ck_assert_int_eq(mbt_kill(pid), MBT_KILLED);
	if (ways[_i] != MBS_POP_ONE) {
		mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq(len, 5);
		ck_assert_mem_eq(buf, "first", 5);
	}
	mbt_assert_ok(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 6);
	ck_assert_mem_eq(buf, "second", 6);
	mbt_assert_ret(membridge_spsc_pop(r.q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT), -EAGAIN);
	assert_drained(&r);
	ring_fx_close(&r);
}
END_TEST

/* ------------------------------------------------------ lock holder killed */

#define VIEW_WORDS 512 /* a 4 KiB data area */
#define VIEW_SIZE (4 + VIEW_WORDS * sizeof(uint64_t))
/* A waiter's timeout when it should learn of a dead writer first. */
#define RETRY_NS (2 * MBT_PROMPT_NS)

/* Another process's call on the locked view. */
enum lock_op { OP_LOCK_READ, OP_READ_BYTES, OP_LOCK_WRITE, OP_WRITE_BYTES };

static const char *const op_names[] = { "lock_read", "read_bytes", "lock_write",
					"write_bytes" };

struct waiter {
	const char *name;
	enum lock_op op;
	int64_t timeout_ns;
	int index;
	int out; /* results */
	int go;  /* one byte each: retry now */
};

/* phase 0: ready to call; 1: the call's result; 2: the result of the retry. */
struct result {
	int index;
	int phase;
	int ret;
	int64_t at;
};

/* One call as `op` says; a lock taken is released at once. */
static int do_op(struct membridge_view *view, enum lock_op op, int64_t timeout_ns)
{
	unsigned char buf[64];
	int ret;

	memset(buf, 0x5a, sizeof(buf));
	membridge_view_set_timeout(view, timeout_ns);
	switch (op) {
	case OP_LOCK_READ:
	case OP_LOCK_WRITE:
		ret = op == OP_LOCK_READ ? membridge_view_lock_read(view, timeout_ns) :
					   membridge_view_lock_write(view, timeout_ns);
		return ret < 0 ? ret : membridge_view_unlock(view);
	case OP_READ_BYTES:
		return membridge_view_read_bytes(view, 0, buf, sizeof(buf));
	default:
		return membridge_view_write_bytes(view, 0, buf, sizeof(buf));
	}
}

static void report(const struct waiter *w, int phase, int ret)
{
	struct result r;

	memset(&r, 0, sizeof(r)); /* the padding goes down the pipe too */
	r.index = w->index;
	r.phase = phase;
	r.ret = ret;
	r.at = mbt_now_ns();

	mbt_put(w->out, &r, sizeof(r)); /* below PIPE_BUF: atomic among the waiters */
}

static int waiter_main(void *arg)
{
	const struct waiter *w = arg;
	char go;

	if (child_open(w->name, false) < 0)
		return 40;
	report(w, 0, 0);
	report(w, 1, do_op(child_view, w->op, w->timeout_ns));
	if (read(w->go, &go, 1) != 1)
		return 41;
	report(w, 2, do_op(child_view, w->op, RETRY_NS));
	child_close();
	return 0;
}

struct holder {
	const char *name;
	bool write;
	int out; /* one byte once it holds the lock */
};

/* Take the lock, say so, then work inside it until killed. */
static int holder_main(void *arg)
{
	const struct holder *h = arg;
	uint64_t rec[VIEW_WORDS], gen = 1;
	int ret, i;

	if (child_open(h->name, false) < 0)
		return 30;
	ret = h->write ? membridge_view_lock_write(child_view, MEMBRIDGE_NO_WAIT) :
			 membridge_view_lock_read(child_view, MEMBRIDGE_NO_WAIT);
	if (ret < 0)
		return 31;
	mbt_put(h->out, "L", 1);
	for (;; gen++) {
		for (i = 0; i < VIEW_WORDS; i++)
			rec[i] = gen;
		ret = h->write ? membridge_view_write_bytes(child_view, 0, rec, sizeof(rec)) :
				 membridge_view_read_bytes(child_view, 0, rec, sizeof(rec));
		if (ret < 0)
			return 32;
	}
}

#define MAX_WAITERS 8

struct lock_fx {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_view *view;
	int32_t *word;
	int results[2];
	int go[2];
	pid_t waiters[MAX_WAITERS];
	int n_waiters;
	struct result got[MAX_WAITERS][3]; /* by waiter and phase */
	bool have[MAX_WAITERS][3];
};

static void lock_fx_open(struct lock_fx *f)
{
	memset(f, 0, sizeof(*f));
	mbt_name(f->name);
	mbt_assert_ok(membridge_segment_create(f->name, VIEW_SIZE, 0, 0, &f->seg));
	mbt_assert_ok(membridge_view_open(f->seg, &f->view));
	f->word = membridge_segment_data(f->seg);
	ck_assert_int_eq(pipe(f->results), 0);
	ck_assert_int_eq(pipe(f->go), 0);
}

static void lock_fx_close(struct lock_fx *f)
{
	int i;

	for (i = 0; i < 2; i++) {
		close(f->results[i]);
		close(f->go[i]);
	}
	membridge_view_close(f->view);
	membridge_segment_close(f->seg);
	mbt_assert_ok(membridge_segment_remove(f->name));
}

static int32_t lock_word(const struct lock_fx *f)
{
	return __atomic_load_n(f->word, __ATOMIC_SEQ_CST);
}

/* Start a process that takes the lock and keeps it; returns once it holds it. */
static pid_t start_holder(struct lock_fx *f, bool write)
{
	struct holder h = { f->name, write, -1 };
	int fds[2];
	char c = 0;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	h.out = fds[1];
	pid = mbt_fork(holder_main, &h);
	close(fds[1]);
	ck_assert_msg(mbt_readable(fds[0], 10000) && read(fds[0], &c, 1) == 1 && c == 'L',
		      "the lock holder did not start");
	close(fds[0]);
	return pid;
}

static void start_waiter(struct lock_fx *f, enum lock_op op, int64_t timeout_ns)
{
	struct waiter w = { f->name, op, timeout_ns, f->n_waiters, f->results[1], f->go[0] };

	ck_assert_int_lt(f->n_waiters, MAX_WAITERS);
	f->waiters[f->n_waiters++] = mbt_fork(waiter_main, &w);
}

/* File the results that arrive within ms milliseconds. */
static void collect(struct lock_fx *f, int ms)
{
	struct result r;

	while (mbt_readable(f->results[0], ms)) {
		ck_assert_int_eq(read(f->results[0], &r, sizeof(r)), (ssize_t)sizeof(r));
		ck_assert(r.index >= 0 && r.index < f->n_waiters && r.phase >= 0 && r.phase < 3);
		ck_assert(!f->have[r.index][r.phase]);
		f->got[r.index][r.phase] = r;
		f->have[r.index][r.phase] = true;
		ms = 0;
	}
}

/* Waiter index's result of `phase`, waiting up to wait_ns for it. */
static struct result wait_for(struct lock_fx *f, int index, int phase, int64_t wait_ns)
{
	int64_t deadline = mbt_now_ns() + wait_ns;

	while (!f->have[index][phase]) {
		ck_assert_msg(mbt_now_ns() < deadline, "waiter %d: no result %d within %lld ms",
			      index, phase, (long long)(wait_ns / MBT_MS));
		collect(f, 10);
	}
	return f->got[index][phase];
}

/* Wait for every waiter to be ready: returns when the last one started. */
static int64_t waiters_ready(struct lock_fx *f)
{
	int64_t at = 0;
	int i;

	for (i = 0; i < f->n_waiters; i++) {
		struct result r = wait_for(f, i, 0, 10000 * MBT_MS);

		at = r.at > at ? r.at : at;
	}
	return at;
}

/* Whether any waiter has returned from its first call. */
static bool any_returned(struct lock_fx *f, int ms)
{
	int i;

	collect(f, ms);
	for (i = 0; i < f->n_waiters; i++)
		if (f->have[i][1])
			return true;
	return false;
}

/* Let every waiter retry; each must now succeed. Then they exit. */
static void waiters_retry(struct lock_fx *f)
{
	int i;

	for (i = 0; i < f->n_waiters; i++)
		ck_assert_int_eq(write(f->go[1], "g", 1), 1);
	for (i = 0; i < f->n_waiters; i++) {
		struct result r = wait_for(f, i, 2, 2 * RETRY_NS);

		ck_assert_msg(r.ret == 0, "waiter %d retried: %s", r.index,
			      membridge_strerror(r.ret));
	}
	for (i = 0; i < f->n_waiters; i++)
		ck_assert_int_eq(mbt_wait(f->waiters[i]), 0);
}

static const struct {
	enum lock_op op;
	int64_t timeout_ns;
} writer_waiters[] = {
	{ OP_LOCK_READ, 5000 * MBT_MS },
	{ OP_READ_BYTES, 5000 * MBT_MS },
	{ OP_LOCK_WRITE, 5000 * MBT_MS },
	{ OP_WRITE_BYTES, 5000 * MBT_MS },
	{ OP_LOCK_READ, MEMBRIDGE_WAIT_FOREVER },
	{ OP_LOCK_WRITE, MEMBRIDGE_WAIT_FOREVER },
};

#define N_WRITER_WAITERS (int)(sizeof(writer_waiters) / sizeof(writer_waiters[0]))

/*
 * A writer killed inside its critical section: six processes already
 * waiting for the lock (readers and writers, explicit locks and data calls,
 * 5 s and unlimited timeouts) all get -EOWNERDEAD promptly once the dead
 * process is reaped, and the lock stays as it was. The documented recovery,
 * membridge_view_break_lock() without flags (_i 0) or with
 * MEMBRIDGE_BREAK_FORCE (_i 1), frees it and every one of them then succeeds.
 */
START_TEST(writer_killed)
{
	unsigned flags = _i ? MEMBRIDGE_BREAK_FORCE : 0;
	struct lock_fx f;
	int64_t reaped, slowest = 0;
	pid_t holder;
	int i;

	lock_fx_open(&f);
	holder = start_holder(&f, true);
	for (i = 0; i < N_WRITER_WAITERS; i++)
		start_waiter(&f, writer_waiters[i].op, writer_waiters[i].timeout_ns);
	waiters_ready(&f);
	/* A live writer: they all wait. */
	ck_assert_msg(!any_returned(&f, 50), "a waiter got through a live writer's lock");
	ck_assert_int_eq(mbt_kill(holder), MBT_KILLED);
	reaped = mbt_now_ns();
	for (i = 0; i < N_WRITER_WAITERS; i++) {
		struct result r = wait_for(&f, i, 1, 5 * MBT_PROMPT_NS);

		ck_assert_msg(r.ret == -EOWNERDEAD, "%s (timeout %lld ns) returned %s",
			      op_names[writer_waiters[r.index].op],
			      (long long)writer_waiters[r.index].timeout_ns,
			      membridge_strerror(r.ret));
		ck_assert_int_lt(r.at - reaped, MBT_PROMPT_NS);
		slowest = r.at - reaped > slowest ? r.at - reaped : slowest;
	}
	/* The failed calls changed nothing; this process is told the same. */
	ck_assert_int_eq(lock_word(&f), -holder);
	ck_assert(membridge_view_is_write_locked(f.view));
	mbt_assert_ret(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT), -EOWNERDEAD);
	mbt_assert_ret(membridge_view_lock_write(f.view, 1000 * MBT_MS), -EOWNERDEAD);

	mbt_assert_ok(membridge_view_break_lock(f.view, flags));
	ck_assert_int_eq(lock_word(&f), 0);
	waiters_retry(&f);
	ck_assert_int_eq(lock_word(&f), 0);
	mbt_assert_ok(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_view_unlock(f.view));
	printf("writer killed, recovery with flags %u: %d waiters got -EOWNERDEAD, the last "
	       "%lld us after the writer was reaped\n", flags, N_WRITER_WAITERS,
	       (long long)slowest / 1000);
	lock_fx_close(&f);
}
END_TEST

/*
 * A reader killed inside its read section: its count stays in the lock
 * word, and nothing can tell a dead reader from a live one. Readers still
 * get in; writers get -ETIMEDOUT when their timeout runs out (a writer with
 * no time limit waits). Recovery: break_lock() without flags refuses
 * (-EPERM: readers), MEMBRIDGE_BREAK_FORCE resets the word and wakes the
 * writer that waits without limit; the others then succeed.
 */
START_TEST(reader_killed)
{
	static const struct {
		enum lock_op op;
		int64_t timeout_ns;
		int ret;
	} cases[] = {
		{ OP_LOCK_READ, 2000 * MBT_MS, 0 },
		{ OP_READ_BYTES, 2000 * MBT_MS, 0 },
		{ OP_LOCK_WRITE, 300 * MBT_MS, -ETIMEDOUT },
		{ OP_WRITE_BYTES, 300 * MBT_MS, -ETIMEDOUT },
		{ OP_LOCK_WRITE, MEMBRIDGE_WAIT_FOREVER, 0 }, /* last: after the recovery */
	};
	const int n = (int)(sizeof(cases) / sizeof(cases[0]));
	struct lock_fx f;
	int64_t started, broke;
	struct result r;
	int i;

	lock_fx_open(&f);
	ck_assert_int_eq(mbt_kill(start_holder(&f, false)), MBT_KILLED);
	ck_assert_int_eq(lock_word(&f), 1);
	for (i = 0; i < n; i++)
		start_waiter(&f, cases[i].op, cases[i].timeout_ns);
	started = waiters_ready(&f);
	for (i = 0; i < n - 1; i++) {
		r = wait_for(&f, i, 1, 5000 * MBT_MS);
		ck_assert_msg(r.ret == cases[r.index].ret, "%s (timeout %lld ns) returned %s",
			      op_names[cases[r.index].op], (long long)cases[r.index].timeout_ns,
			      membridge_strerror(r.ret));
		/* A timeout runs its course, and not much longer. */
		if (r.ret == -ETIMEDOUT)
			ck_assert_int_lt(r.at - started, cases[r.index].timeout_ns + MBT_PROMPT_NS);
	}
	/* The readers are gone again; the dead one's count remains (the
	 * unlimited writer still waits, so its bit may be set on top). */
	ck_assert_int_eq(lock_word(&f) & ~MEMBRIDGE_VIEW_WRITER_WAITING, 1);
	ck_assert_int_eq(membridge_view_reader_count(f.view), 1);
	mbt_assert_ret(membridge_view_lock_write(f.view, 50 * MBT_MS), -ETIMEDOUT);
	mbt_assert_ret(membridge_view_break_lock(f.view, 0), -EPERM);
	ck_assert_int_eq(lock_word(&f) & ~MEMBRIDGE_VIEW_WRITER_WAITING, 1);
	ck_assert_msg(!any_returned(&f, 100) || !f.have[n - 1][1],
		      "the unlimited writer got through");

	broke = mbt_now_ns();
	mbt_assert_ok(membridge_view_break_lock(f.view, MEMBRIDGE_BREAK_FORCE));
	r = wait_for(&f, n - 1, 1, 5 * MBT_PROMPT_NS);
	mbt_assert_ok(r.ret);
	ck_assert_int_lt(r.at - broke, MBT_PROMPT_NS);
	waiters_retry(&f);
	ck_assert_int_eq(lock_word(&f), 0);
	lock_fx_close(&f);
}
END_TEST

/*
 * Writers killed at random moments while they rewrite a 4 KiB record under
 * the lock: each time -EOWNERDEAD, then break_lock() restores service. The
 * record may be left half-written (the lock guards against readers seeing
 * a write in progress, not against the writer dying in it): counted.
 */
START_TEST(writer_killed_random)
{
	int iterations = kill_iterations() / 10 + 1, i, j, torn = 0;
	uint64_t seed = KILL_SEED ^ UINT64_C(0x77), rec[VIEW_WORDS];
	struct lock_fx f;
	pid_t holder;

	lock_fx_open(&f);
	for (i = 0; i < iterations; i++) {
		holder = start_holder(&f, true);
		mbt_sleep_ns(random_window(seed, i));
		ck_assert_int_eq(mbt_kill(holder), MBT_KILLED);
		mbt_assert_ret(membridge_view_read_bytes(f.view, 0, rec, sizeof(rec)),
			       -EOWNERDEAD);
		mbt_assert_ok(membridge_view_break_lock(f.view, 0));
		mbt_assert_ok(membridge_view_read_bytes(f.view, 0, rec, sizeof(rec)));
		for (j = 1; j < VIEW_WORDS && rec[j] == rec[0]; j++)
			;
		torn += j < VIEW_WORDS;
	}
	printf("writer killed at random %d times: -EOWNERDEAD and recovery each time; "
	       "%d records left half-written\n", iterations, torn);
	ck_assert_int_eq(lock_word(&f), 0);
	lock_fx_close(&f);
}
END_TEST

static Suite *crash_suite(void)
{
	Suite *s = suite_create("crash");
	TCase *tc;

	tc = tcase_create("ring");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, producer_killed);
	tcase_add_loop_test(tc, consumer_killed, 0, 3);
	tcase_add_loop_test(tc, consumer_killed_holding, 0, 3);
	suite_add_tcase(s, tc);

	tc = tcase_create("lock");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, writer_killed, 0, 2);
	tcase_add_test(tc, reader_killed);
	tcase_add_test(tc, writer_killed_random);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(crash_suite());
}
