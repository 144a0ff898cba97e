/* SPDX-License-Identifier: MIT */
/* Check suite with threads (for ThreadSanitizer): a ring producer and consumer, a view writer and readers. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "soak-stream.h"

/* ThreadSanitizer runs everything several times slower (memcheck: mbt_under_valgrind()). */
#if defined(__SANITIZE_THREAD__)
#define MBT_SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MBT_SLOW_BUILD 1
#endif
#endif
#ifndef MBT_SLOW_BUILD
#define MBT_SLOW_BUILD 0
#endif

/*
 * Every thread opens its own ring or view on the one segment handle the
 * test creates (segment handles are thread-safe, rings and views are not).
 * One mapping for all threads lets ThreadSanitizer, which tracks addresses,
 * see every access the threads make to the shared bytes.
 */

/* -------------------------------------------------------------- the ring */

#define RING_CAP 4096
#define RING_WAIT (10000 * MBT_MS)
#define SHORT_WAIT (1 * MBT_MS)

struct ring_case {
	enum mbs_push push;
	enum mbs_pop pop;
	bool short_waits; /* 1 ms timeouts, -ETIMEDOUT retried */
	const char *what;
};

static const struct ring_case ring_cases[] = {
	{ MBS_PUSH_MIX, MBS_POP_MIX, false, "mixed calls, blocking" },
	{ MBS_PUSH_ONE, MBS_POP_PEEK, false, "push, peek and consume" },
	{ MBS_PUSH_GATHER, MBS_POP_ONE, false, "pushv, pop" },
	{ MBS_PUSH_BATCH, MBS_POP_BATCH, false, "batches" },
	{ MBS_PUSH_MIX, MBS_POP_MIX, true, "mixed calls, 1 ms timeouts" },
};

struct ring_side {
	const struct ring_case *rc;
	struct membridge_segment *seg;
	uint64_t count;
	struct mbs s;
	struct mbs_tally t;  /* consumer */
	uint64_t sent;       /* producer: messages published so far */
	uint64_t timeouts;   /* -ETIMEDOUT results retried */
	int ret;
};

/* Now and then a side dawdles, so that the other one has to wait: longer
 * than the short timeouts, when those are used. */
static void dawdle(const struct ring_side *side, uint64_t seq)
{
	if (!side->rc->short_waits && seq % 613 == 0)
		mbt_sleep_ns(200 * 1000);
	else if (side->rc->short_waits && seq % 6007 == 0)
		mbt_sleep_ns(3 * SHORT_WAIT);
}

static void on_sent(void *ctx, uint64_t next)
{
	struct ring_side *p = ctx;

	p->sent = next;
	dawdle(p, next);
}

static void on_got(void *ctx, uint64_t seq)
{
	if (seq != UINT64_MAX)
		dawdle(ctx, seq + 3000);
}

static void *producer_thread(void *arg)
{
	struct ring_side *p = arg;
	int64_t wait = p->rc->short_waits ? SHORT_WAIT : RING_WAIT;
	struct membridge_spsc *q;

	p->ret = membridge_spsc_open(p->seg, &q);
	if (p->ret < 0)
		return NULL;
	p->s.sent = on_sent;
	p->s.ctx = p;
	do {
		p->ret = mbs_produce(&p->s, q, p->sent, p->count, p->rc->push, wait);
		if (p->ret == -ETIMEDOUT)
			p->timeouts++;
	} while (p->ret == -ETIMEDOUT);
	membridge_spsc_close(q);
	return NULL;
}

static void *consumer_thread(void *arg)
{
	struct ring_side *c = arg;
	int64_t wait = c->rc->short_waits ? SHORT_WAIT : RING_WAIT;
	struct membridge_spsc *q;

	c->ret = membridge_spsc_open(c->seg, &q);
	if (c->ret < 0)
		return NULL;
	c->s.got = on_got;
	c->s.ctx = c;
	do {
		c->ret = mbs_consume(&c->s, q, &c->t, c->count, c->rc->pop, wait);
		if (c->ret == -ETIMEDOUT)
			c->timeouts++;
	} while (c->ret == -ETIMEDOUT);
	membridge_spsc_close(q);
	return NULL;
}

START_TEST(ring_threads)
{
	const struct ring_case *rc = &ring_cases[_i];
	struct ring_side prod = { rc, NULL, 0, { 0 }, { 0 }, 0, 0, 0 }, cons = prod;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char name[MBT_NAME_SIZE];
	pthread_t tp, tc;
	uint64_t total;
	size_t used = 1;
	int64_t t0;

	prod.count = cons.count = mbt_under_valgrind() ? 20000 : MBT_SLOW_BUILD ? 50000 : 200000;
	mbt_assert_ok(mbs_init(&prod.s, 7 + (uint64_t)_i, RING_CAP, 0));
	mbt_assert_ok(mbs_init(&cons.s, 7 + (uint64_t)_i, RING_CAP, 0));
	total = mbs_frame_bytes(&prod.s, 0, prod.count);
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, RING_CAP + MEMBRIDGE_SPSC_HEADER, 0, 0, &seg));
	prod.seg = cons.seg = seg;
	t0 = mbt_now_ns();
	ck_assert_int_eq(pthread_create(&tc, NULL, consumer_thread, &cons), 0);
	ck_assert_int_eq(pthread_create(&tp, NULL, producer_thread, &prod), 0);
	ck_assert_int_eq(pthread_join(tp, NULL), 0);
	ck_assert_int_eq(pthread_join(tc, NULL), 0);
	printf("ring threads (%s): %llu messages, %llu bytes in %.2f s, %llu + %llu timeouts\n",
	       rc->what, (unsigned long long)cons.t.received, (unsigned long long)cons.t.bytes,
	       (double)(mbt_now_ns() - t0) / 1e9, (unsigned long long)prod.timeouts,
	       (unsigned long long)cons.timeouts);
	mbt_assert_ok(prod.ret);
	mbt_assert_ok(cons.ret);
	ck_assert_uint_eq(prod.sent, prod.count);
	ck_assert_uint_eq(cons.t.received, cons.count);
	ck_assert_uint_eq(cons.t.lost, 0);
	ck_assert_uint_eq(cons.t.duplicated, 0);
	ck_assert_uint_eq(cons.t.corrupted, 0);
	ck_assert_uint_eq(cons.t.bytes, total);
	if (rc->short_waits)
		ck_assert_uint_gt(prod.timeouts + cons.timeouts, 0);
	/* Drained: nothing left, nothing more. */
	mbt_assert_ok(membridge_spsc_open(seg, &q));
	mbt_assert_ok(membridge_spsc_used(q, &used));
	ck_assert_uint_eq(used, 0);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	mbs_free(&prod.s);
	mbs_free(&cons.s);
}
END_TEST

/* -------------------------------------------------------------- the view */

#define VIEW_WORDS 256 /* a 2 KiB record */
#define VIEW_READERS 3
#define VIEW_PIECES 4
#define VIEW_WAIT (10000 * MBT_MS)

struct view_shared {
	struct membridge_segment *seg;
	pthread_barrier_t start;
	uint64_t generations; /* the writer's last generation */
	bool explicit_lock;
};

struct view_thread {
	struct view_shared *vs;
	int index;
	uint64_t reads, seen; /* reader: records read, distinct generations seen */
	int64_t max_wait;     /* writer: its longest write (lock wait included) */
	const char *failed;   /* what went wrong, NULL if nothing */
	int ret;
};

static void *view_writer(void *arg)
{
	struct view_thread *w = arg;
	struct view_shared *vs = w->vs;
	struct membridge_view *view;
	uint64_t rec[VIEW_WORDS], gen;
	const size_t piece = sizeof(rec) / VIEW_PIECES;
	int i, ret;

	w->ret = membridge_view_open(vs->seg, &view);
	pthread_barrier_wait(&vs->start);
	if (w->ret < 0)
		return NULL;
	for (gen = 1; gen <= vs->generations; gen++) {
		int64_t t0 = mbt_now_ns();

		if (gen % 16 == 0)
			sched_yield(); /* memcheck runs one thread at a time: let readers in */
		for (i = 0; i < VIEW_WORDS; i++)
			rec[i] = gen;
		if (!vs->explicit_lock) {
			ret = membridge_view_write_bytes(view, 0, rec, sizeof(rec));
		} else {
			/* Several writes, back to front, under one lock. */
			ret = membridge_view_lock_write(view, gen % 2 ? VIEW_WAIT :
							MEMBRIDGE_WAIT_FOREVER);
			for (i = VIEW_PIECES - 1; i >= 0 && ret == 0; i--)
				ret = membridge_view_write_bytes(view, (size_t)i * piece,
								 (char *)rec + (size_t)i * piece,
								 piece);
			if (ret == 0)
				ret = membridge_view_unlock(view);
		}
		if (ret < 0) {
			w->ret = ret;
			w->failed = "write";
			break;
		}
		if (mbt_now_ns() - t0 > w->max_wait)
			w->max_wait = mbt_now_ns() - t0;
	}
	membridge_view_close(view);
	return NULL;
}

/* Read the record, whole or in pieces under one read lock. */
static int read_record(struct view_thread *r, struct membridge_view *view,
		       uint64_t rec[VIEW_WORDS])
{
	const size_t piece = VIEW_WORDS * sizeof(uint64_t) / VIEW_PIECES;
	int ret, i;

	/* The last reader always uses single calls. */
	if (!r->vs->explicit_lock || r->index == VIEW_READERS - 1)
		return membridge_view_read_bytes(view, 0, rec, VIEW_WORDS * sizeof(uint64_t));
	ret = membridge_view_lock_read(view, r->reads % 2 ? VIEW_WAIT : MEMBRIDGE_WAIT_FOREVER);
	if (ret == 0 && (membridge_view_reader_count(view) < 1 ||
			 membridge_view_is_write_locked(view)))
		ret = -EPROTO;
	for (i = 0; i < VIEW_PIECES && ret == 0; i++)
		ret = membridge_view_read_bytes(view, (size_t)i * piece,
						(char *)rec + (size_t)i * piece, piece);
	if (ret == 0)
		return membridge_view_unlock(view);
	membridge_view_unlock(view);
	return ret;
}

static void *view_reader(void *arg)
{
	struct view_thread *r = arg;
	struct view_shared *vs = r->vs;
	struct membridge_view *view;
	uint64_t rec[VIEW_WORDS], last = 0;
	int i;

	r->ret = membridge_view_open(vs->seg, &view);
	pthread_barrier_wait(&vs->start);
	if (r->ret < 0)
		return NULL;
	membridge_view_set_timeout(view, VIEW_WAIT);
	while (last < vs->generations) {
		r->ret = read_record(r, view, rec);
		if (r->ret < 0) {
			r->failed = "read";
			break;
		}
		r->reads++;
		for (i = 1; i < VIEW_WORDS; i++)
			if (rec[i] != rec[0])
				r->failed = "torn record";
		if (rec[0] < last || rec[0] > vs->generations)
			r->failed = "generation out of order";
		if (r->failed)
			break;
		if (rec[0] != last)
			r->seen++;
		last = rec[0];
	}
	membridge_view_close(view);
	return NULL;
}

START_TEST(view_threads)
{
	struct view_thread th[VIEW_READERS + 1];
	pthread_t tid[VIEW_READERS + 1];
	struct membridge_view *view;
	struct view_shared vs;
	char name[MBT_NAME_SIZE];
	uint64_t seen = 0;
	int i;

	vs.explicit_lock = _i == 1;
	vs.generations = mbt_under_valgrind() ? 300 : MBT_SLOW_BUILD ? 1000 : 3000;
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 4 + VIEW_WORDS * sizeof(uint64_t), 0, 0,
					       &vs.seg));
	/* The creator's first view sets the lock word up. */
	mbt_assert_ok(membridge_view_open(vs.seg, &view));
	ck_assert_int_eq(pthread_barrier_init(&vs.start, NULL, VIEW_READERS + 1), 0);
	memset(th, 0, sizeof(th));
	for (i = 0; i <= VIEW_READERS; i++) {
		th[i].vs = &vs;
		th[i].index = i;
		ck_assert_int_eq(pthread_create(&tid[i], NULL,
						i == VIEW_READERS ? view_writer : view_reader,
						&th[i]), 0);
	}
	for (i = 0; i <= VIEW_READERS; i++)
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
	for (i = 0; i <= VIEW_READERS; i++) {
		ck_assert_msg(!th[i].failed && th[i].ret == 0, "thread %d: %s: %s", i,
			      th[i].failed ? th[i].failed : "open", membridge_strerror(th[i].ret));
		seen += th[i].seen;
	}
	printf("view threads (%s): %llu generations, longest write %lld us; reads "
	       "%llu/%llu/%llu, %llu generations seen\n",
	       vs.explicit_lock ? "explicit locks" : "single calls",
	       (unsigned long long)vs.generations, (long long)th[VIEW_READERS].max_wait / 1000,
	       (unsigned long long)th[0].reads, (unsigned long long)th[1].reads,
	       (unsigned long long)th[2].reads, (unsigned long long)seen);
	/* The readers ran while the writer wrote (memcheck may run the writer
	 * through before it lets a reader in). */
	if (!mbt_under_valgrind())
		ck_assert_uint_gt(seen, VIEW_READERS);
	ck_assert_uint_ge(seen, VIEW_READERS);
	ck_assert_int_eq(membridge_view_reader_count(view), 0);
	ck_assert(!membridge_view_is_write_locked(view));
	pthread_barrier_destroy(&vs.start);
	membridge_view_close(view);
	membridge_segment_close(vs.seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

static Suite *threads_suite(void)
{
	Suite *s = suite_create("threads");
	TCase *tc;

	tc = tcase_create("ring");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, ring_threads, 0, (int)(sizeof(ring_cases) / sizeof(ring_cases[0])));
	suite_add_tcase(s, tc);

	tc = tcase_create("view");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, view_threads, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(threads_suite());
}
