/* SPDX-License-Identifier: MIT */
/* Lock benchmark: the view lock against a process-shared pthread_rwlock_t. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"

static const char usage[] =
	"The view lock (membridge_view_lock_read/_write + unlock) next to a\n"
	"process-shared pthread_rwlock_t in shared memory, with glibc's default\n"
	"(reader-preferring) and its writer-preferring kind:\n"
	"  lock uncontended   read and write lock+unlock cost in one process (ns)\n"
	"  lock throughput    1 writer and 1..3 readers in separate processes, all\n"
	"                     taking the lock in a loop (ops/s of the readers, of the writer)\n"
	"  lock writer wait   3 readers hammer the lock; a writer takes it every\n"
	"                     10 us: the p99 and longest wait of its lock_write (us)\n"
	"Readers check that the 8 words the writer updates under the lock are equal,\n"
	"and the parent checks the writer's count against them: nothing is faked.\n";

#define PAYLOAD_WORDS 8
#define MAX_READERS 3
#define WARMUP_OPS 2000
#define WRITER_PAUSE_NS 10000
#define MAX_SAMPLES (1u << 20)

enum impl { MEMBRIDGE, PTHREAD, PTHREAD_WPREF, IMPL_COUNT };

static const char *const impl_name[IMPL_COUNT] = {
	[MEMBRIDGE] = "membridge",
	[PTHREAD] = "pthread rwlock",
	[PTHREAD_WPREF] = "pthread rwlock prefer-writer",
};

enum mode { THROUGHPUT, WRITER_WAIT };

/* What one process reports back. */
struct proc_result {
	uint64_t ops;       /* timed acquisitions */
	uint64_t writes;    /* every write of the payload, warm-up included */
	uint64_t torn;      /* reads that saw the payload half written */
	double wait_p99_ns; /* writer, WRITER_WAIT only */
	double wait_max_ns;
};

/* Everything the processes share (bench_shared_alloc(), inherited by fork). */
struct shared {
	_Alignas(64) pthread_rwlock_t rwlock;
	_Alignas(64) uint64_t payload[PAYLOAD_WORDS]; /* the pthread lock's data */
	_Alignas(64) _Atomic int ready;
	_Atomic int go;
	_Atomic int stop;
	_Alignas(64) struct proc_result res[1 + MAX_READERS];
	double ns_per_op; /* the uncontended test's result */
};

/* One process's handle on the lock under test and the data it guards. */
struct lock {
	enum impl impl;
	pthread_rwlock_t *rwlock;
	struct membridge_segment *seg;
	struct membridge_view *view;
	volatile uint64_t *payload;
};

static void lock_attach(struct lock *l, enum impl impl, struct shared *sh, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->impl = impl;
	if (impl != MEMBRIDGE) {
		l->rwlock = &sh->rwlock;
		l->payload = sh->payload;
		return;
	}
	bench_check(membridge_segment_open(name, 0, &l->seg), "membridge_segment_open");
	bench_check(membridge_view_open(l->seg, &l->view), "membridge_view_open");
	/* The payload sits in the data area, a cache line away from the lock word. */
	l->payload = (void *)((char *)membridge_segment_data(l->seg) + 64);
}

static void lock_detach(struct lock *l)
{
	membridge_view_close(l->view);
	membridge_segment_close(l->seg);
}

static void lock_take(struct lock *l, bool write)
{
	int ret;

	if (l->impl == MEMBRIDGE) {
		ret = write ? membridge_view_lock_write(l->view, MEMBRIDGE_WAIT_FOREVER)
			    : membridge_view_lock_read(l->view, MEMBRIDGE_WAIT_FOREVER);
		bench_check(ret, write ? "membridge_view_lock_write" : "membridge_view_lock_read");
		return;
	}
	ret = write ? pthread_rwlock_wrlock(l->rwlock) : pthread_rwlock_rdlock(l->rwlock);
	if (ret)
		bench_die("pthread_rwlock_%slock: %s", write ? "wr" : "rd", strerror(ret));
}

static void lock_release(struct lock *l)
{
	int ret;

	if (l->impl == MEMBRIDGE) {
		bench_check(membridge_view_unlock(l->view), "membridge_view_unlock");
		return;
	}
	ret = pthread_rwlock_unlock(l->rwlock);
	if (ret)
		bench_die("pthread_rwlock_unlock: %s", strerror(ret));
}

/* Under the write lock: bump every payload word. */
static void write_payload(struct lock *l)
{
	uint64_t v = l->payload[0] + 1;
	int i;

	for (i = 0; i < PAYLOAD_WORDS; i++)
		l->payload[i] = v;
}

/* Under the read lock: whether the words agree. */
static bool payload_consistent(const struct lock *l)
{
	uint64_t v = l->payload[0];
	int i;

	for (i = 1; i < PAYLOAD_WORDS; i++) {
		if (l->payload[i] != v)
			return false;
	}
	return true;
}

/* A fresh lock of kind impl, in its initial state: for membridge a new
 * segment (its creator's view sets the lock word up), kept open in *owner
 * until test_end(). */
static void test_begin(enum impl impl, struct shared *sh, const char *name, struct lock *owner)
{
	pthread_rwlockattr_t attr;
	int ret;

	memset(owner, 0, sizeof(*owner));
	owner->impl = impl;
	if (impl == MEMBRIDGE) {
		bench_check(membridge_segment_create(name, 4096, 0, MEMBRIDGE_CREATE_REPLACE,
						     &owner->seg), "membridge_segment_create");
		bench_check(membridge_view_open(owner->seg, &owner->view), "membridge_view_open");
		return;
	}
	memset(sh->payload, 0, sizeof(sh->payload));
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	if (impl == PTHREAD_WPREF)
		pthread_rwlockattr_setkind_np(&attr,
					      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	ret = pthread_rwlock_init(&sh->rwlock, &attr);
	if (ret)
		bench_die("pthread_rwlock_init: %s", strerror(ret));
	pthread_rwlockattr_destroy(&attr);
}

static void test_end(struct lock *owner, struct shared *sh, const char *name)
{
	if (owner->impl == MEMBRIDGE) {
		lock_detach(owner);
		bench_check(membridge_segment_remove(name), "membridge_segment_remove");
	} else {
		pthread_rwlock_destroy(&sh->rwlock);
	}
}

/* ------------------------------------------------------------ uncontended */

struct uncontended_arg {
	struct shared *sh;
	const char *name;
	enum impl impl;
	bool write;
	long iters;
};

/* In a child pinned to one CPU, alone on the lock: sh->ns_per_op gets the
 * cost of a lock+unlock pair. */
static int run_uncontended(void *arg)
{
	const struct uncontended_arg *u = arg;
	struct lock l;
	int64_t t0, t1;
	long i;

	lock_attach(&l, u->impl, u->sh, u->name);
	for (i = 0; i < u->iters / 10; i++) { /* warm-up */
		lock_take(&l, u->write);
		lock_release(&l);
	}
	t0 = bench_now_ns();
	for (i = 0; i < u->iters; i++) {
		lock_take(&l, u->write);
		lock_release(&l);
	}
	t1 = bench_now_ns();
	lock_detach(&l);
	u->sh->ns_per_op = (double)(t1 - t0) / (double)u->iters;
	return 0;
}

static double uncontended(enum impl impl, struct shared *sh, const char *name, bool write,
			  long iters)
{
	struct uncontended_arg u = { sh, name, impl, write, iters };
	struct lock owner;
	pid_t pid;

	test_begin(impl, sh, name, &owner);
	pid = bench_fork(0, run_uncontended, &u);
	bench_wait_all(&pid, 1);
	test_end(&owner, sh, name);
	return sh->ns_per_op;
}

/* ------------------------------------------------------------ contended */

struct worker {
	struct shared *sh;
	const char *name;
	enum impl impl;
	enum mode mode;
	int index; /* 0 the writer, 1.. the readers */
};

static double *samples; /* the writer's waits, allocated before fork */

static int run_worker(void *arg)
{
	const struct worker *w = arg;
	struct shared *sh = w->sh;
	struct proc_result *res = &sh->res[w->index];
	bool writer = w->index == 0;
	uint64_t ops = 0, writes = 0, torn = 0;
	size_t n = 0;
	struct lock l;
	int i;

	lock_attach(&l, w->impl, sh, w->name);
	for (i = 0; i < WARMUP_OPS; i++) {
		lock_take(&l, writer);
		if (writer) {
			write_payload(&l);
			writes++;
		} else if (!payload_consistent(&l)) {
			torn++;
		}
		lock_release(&l);
	}
	atomic_fetch_add(&sh->ready, 1);
	while (!atomic_load_explicit(&sh->go, memory_order_acquire))
		bench_cpu_relax();
	while (!atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
		if (!writer) {
			lock_take(&l, false);
			if (!payload_consistent(&l))
				torn++;
			lock_release(&l);
		} else if (w->mode == THROUGHPUT) {
			lock_take(&l, true);
			write_payload(&l);
			lock_release(&l);
			writes++;
		} else {
			int64_t t0 = bench_now_ns(), t1;

			lock_take(&l, true);
			t1 = bench_now_ns();
			write_payload(&l);
			lock_release(&l);
			writes++;
			if (n < MAX_SAMPLES)
				samples[n++] = (double)(t1 - t0);
			while (bench_now_ns() - t1 < WRITER_PAUSE_NS &&
			       !atomic_load_explicit(&sh->stop, memory_order_relaxed))
				bench_cpu_relax();
		}
		ops++;
	}
	res->ops = ops;
	res->writes = writes;
	res->torn = torn;
	if (writer && w->mode == WRITER_WAIT && n) {
		res->wait_max_ns = bench_percentile(samples, n, 100.0);
		res->wait_p99_ns = bench_percentile(samples, n, 99.0);
	}
	lock_detach(&l);
	return 0;
}

/* 1 writer and `readers` readers for duration_ns; fills sh->res and returns
 * the seconds between go and stop. */
static double contended(enum impl impl, enum mode mode, int readers, struct shared *sh,
			const char *name, int64_t duration_ns)
{
	pid_t pids[1 + MAX_READERS];
	struct worker w[1 + MAX_READERS];
	struct lock owner;
	uint64_t payload;
	int64_t t0, t1;
	int i;

	test_begin(impl, sh, name, &owner);
	memset(sh->res, 0, sizeof(sh->res));
	atomic_store(&sh->ready, 0);
	atomic_store(&sh->go, 0);
	atomic_store(&sh->stop, 0);
	for (i = 0; i <= readers; i++) {
		w[i] = (struct worker){ sh, name, impl, mode, i };
		pids[i] = bench_fork(i, run_worker, &w[i]);
	}
	while (atomic_load(&sh->ready) < readers + 1)
		bench_sleep_ns(100000);
	t0 = bench_now_ns();
	atomic_store_explicit(&sh->go, 1, memory_order_release);
	bench_sleep_ns(duration_ns);
	atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
	t1 = bench_now_ns();
	bench_wait_all(pids, (size_t)readers + 1);

	payload = impl == MEMBRIDGE ? *(uint64_t *)(void *)((char *)membridge_segment_data(owner.seg) + 64)
				    : sh->payload[0];
	if (payload != sh->res[0].writes)
		bench_die("%s: the payload says %llu writes, the writer made %llu", impl_name[impl],
			  (unsigned long long)payload, (unsigned long long)sh->res[0].writes);
	for (i = 1; i <= readers; i++) {
		if (sh->res[i].torn)
			bench_die("%s: reader %d saw %llu half-written payloads",
				  impl_name[impl], i, (unsigned long long)sh->res[i].torn);
	}
	test_end(&owner, sh, name);
	return (double)(t1 - t0) / 1e9;
}

/* ------------------------------------------------------------ main */

static double median_of(double *v, int runs)
{
	return bench_median(v, (size_t)runs);
}

int main(int argc, char **argv)
{
	struct bench_opts opts;
	struct shared *sh;
	char name[BENCH_NAME_SIZE];
	long iters;
	int64_t duration_ns;
	double *a, *b, *c;
	int impl, r, run, readers;

	bench_parse_args(argc, argv, usage, &opts);
	iters = opts.quick ? 200000 : 5000000;
	duration_ns = opts.quick ? INT64_C(50000000) : INT64_C(300000000);
	bench_name(name);
	sh = bench_shared_alloc(sizeof(*sh));
	samples = malloc(MAX_SAMPLES * sizeof(*samples));
	a = calloc((size_t)opts.runs, sizeof(*a));
	b = calloc((size_t)opts.runs, sizeof(*b));
	c = calloc((size_t)opts.runs, sizeof(*c));
	if (!samples || !a || !b || !c)
		bench_die("out of memory");
	bench_note("lock uncontended", "one process on CPU 0, alone on the lock: %ld lock+unlock "
		   "pairs after %ld of warm-up, median of %d runs; membridge waits with "
		   "MEMBRIDGE_WAIT_FOREVER; the pthread locks are PTHREAD_PROCESS_SHARED in shared "
		   "memory, glibc's default (reader-preferring) kind and "
		   "PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP", iters, iters / 10, opts.runs);
	bench_note("lock throughput", "1 writer (CPU 0) and 1-3 readers (CPUs 1, 2, 3 modulo "
		   "the %d) in separate processes take the lock in a loop for %lld ms after %d "
		   "warm-up acquisitions each; median of %d runs; readers check the %d words the "
		   "writer updates under the lock, the parent checks the writer's count",
		   bench_cpu_count(), (long long)(duration_ns / 1000000), WARMUP_OPS, opts.runs,
		   PAYLOAD_WORDS);
	bench_note("lock writer wait", "%d readers hammer the lock for %lld ms while the writer "
		   "takes it, then pauses %d us busy; figures: the median over %d runs of each "
		   "run's p99 and longest lock_write wait. With more processes than CPUs a reader "
		   "can be preempted holding the lock, so waits come in scheduler ticks",
		   MAX_READERS, (long long)(duration_ns / 1000000), WRITER_PAUSE_NS / 1000,
		   opts.runs);

	for (r = 0; r < 2; r++) {
		bool write = r == 1;
		const char *bcase = write ? "write lock+unlock" : "read lock+unlock";

		for (impl = 0; impl < IMPL_COUNT; impl++) {
			for (run = 0; run < opts.runs; run++)
				a[run] = uncontended(impl, sh, name, write, iters);
			printf("uncontended %-18s %-30s %8.1f ns\n", bcase, impl_name[impl],
			       median_of(a, opts.runs));
			bench_result("lock uncontended", bcase, impl_name[impl],
				     median_of(a, opts.runs), "ns");
		}
	}

	for (readers = 1; readers <= MAX_READERS; readers++) {
		char rcase[64], wcase[64];

		snprintf(rcase, sizeof(rcase), "1 writer + %d reader%s: reader ops", readers,
			 readers > 1 ? "s" : "");
		snprintf(wcase, sizeof(wcase), "1 writer + %d reader%s: writer ops", readers,
			 readers > 1 ? "s" : "");
		for (impl = 0; impl < IMPL_COUNT; impl++) {
			for (run = 0; run < opts.runs; run++) {
				double s = contended(impl, THROUGHPUT, readers, sh, name,
						     duration_ns);
				int i;

				a[run] = 0;
				for (i = 1; i <= readers; i++)
					a[run] += (double)sh->res[i].ops / s;
				b[run] = (double)sh->res[0].ops / s;
			}
			printf("%-36s %-30s readers %12.0f ops/s, writer %12.0f ops/s\n",
			       rcase, impl_name[impl], median_of(a, opts.runs),
			       median_of(b, opts.runs));
			bench_result("lock throughput", rcase, impl_name[impl],
				     median_of(a, opts.runs), "ops/s");
			bench_result("lock throughput", wcase, impl_name[impl],
				     median_of(b, opts.runs), "ops/s");
		}
	}

	for (impl = 0; impl < IMPL_COUNT; impl++) {
		char bcase[64];

		for (run = 0; run < opts.runs; run++) {
			double s = contended(impl, WRITER_WAIT, MAX_READERS, sh, name,
					     duration_ns);

			a[run] = sh->res[0].wait_p99_ns / 1000.0;
			b[run] = sh->res[0].wait_max_ns / 1000.0;
			c[run] = (double)sh->res[0].ops / s;
		}
		printf("writer wait, %d readers hammering  %-30s p99 %10.1f us, max %10.1f us, "
		       "%8.0f writes/s%s\n", MAX_READERS, impl_name[impl], median_of(a, opts.runs),
		       median_of(b, opts.runs), median_of(c, opts.runs),
		       median_of(b, opts.runs) * 1e3 > (double)duration_ns / 2
		       ? "  (writer starved)" : "");
		snprintf(bcase, sizeof(bcase), "%d readers hammering: p99", MAX_READERS);
		bench_result("lock writer wait", bcase, impl_name[impl], median_of(a, opts.runs),
			     "us");
		snprintf(bcase, sizeof(bcase), "%d readers hammering: max", MAX_READERS);
		bench_result("lock writer wait", bcase, impl_name[impl], median_of(b, opts.runs),
			     "us");
	}

	free(samples);
	free(a);
	free(b);
	free(c);
	bench_shared_free(sh, sizeof(*sh));
	return 0;
}
