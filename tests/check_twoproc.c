/* SPDX-License-Identifier: MIT */
/* Check suite with real processes: wake-ups, view atomicity, EINTR (the stream: tests/soak.c). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* A child that is stuck this long is killed by its own alarm. */
#define CHILD_ALARM_S 90

/* Write (out) or read exactly n bytes of a pipe; false on EOF or error. */
static bool pipe_all(int fd, void *buf, size_t n, bool out)
{
	char *p = buf;

	while (n) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static bool write_all(int fd, void *buf, size_t n)
{
	return pipe_all(fd, buf, n, true);
}

static bool read_all(int fd, void *buf, size_t n)
{
	return pipe_all(fd, buf, n, false);
}

/* In a child: open the named segment and on it a ring (q) or else a view
 * (view); no Check asserts. */
static int child_open(const char *name, struct membridge_segment **seg,
		      struct membridge_spsc **q, struct membridge_view **view)
{
	int ret = membridge_segment_open(name, 0, seg);

	if (ret == 0) {
		ret = q ? membridge_spsc_open(*seg, q) : membridge_view_open(*seg, view);
		if (ret < 0)
			membridge_segment_close(*seg);
	}
	if (ret < 0)
		fprintf(stderr, "child %ld: cannot open %s %s: %s\n", (long)getpid(),
			q ? "ring" : "view", name, membridge_strerror(ret));
	return ret;
}

/* In the parent: a fresh segment, named into `name`, holding a ring of cap
 * bytes. Out-parameters keep the handles in memory, where valgrind still sees
 * them from a forked child that exits (a returned pointer may live in a register). */
static void ring_create(char name[MBT_NAME_SIZE], size_t cap, struct membridge_segment **seg,
			struct membridge_spsc **q)
{
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, cap + MEMBRIDGE_SPSC_HEADER, 0, 0, seg));
	mbt_assert_ok(membridge_spsc_open(*seg, q));
}

/* Close what ring_create() opened and remove its segment. */
static void ring_destroy(const char *name, struct membridge_segment *seg,
			 struct membridge_spsc *q)
{
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}

/* Fork fn(arg) with the write end of a new pipe in *child_fd (set before the
 * fork); the parent keeps only the read end, returned in *parent_fd. */
static pid_t fork_piped(int (*fn)(void *arg), void *arg, int *child_fd, int *parent_fd)
{
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	*child_fd = fds[1];
	pid = mbt_fork(fn, arg);
	close(fds[1]);
	*parent_fd = fds[0];
	return pid;
}

/* --------------------------------------------------------------- wake-ups */

#define WAKE_ROUNDS 10
/* Idle times that are no multiple of the library's 10 ms re-check slice,
 * so that a waiter woken only by its own re-check shows ms of latency. */
#define WAKE_IDLE(r) (23 * MBT_MS + (r) * 1300 * 1000)

struct waker {
	char name[MBT_NAME_SIZE];
	int fd; /* write end of the pipe back to the parent */
};

/* Blocks in pop each round; reports how long after the push it woke. */
static int wake_consumer_main(void *arg)
{
	const struct waker *w = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int64_t t0, lat;
	size_t len;
	int r, ret;

	alarm(CHILD_ALARM_S);
	if (child_open(w->name, &seg, &q, NULL) < 0)
		return 30;
	for (r = 0; r < WAKE_ROUNDS; r++) {
		ret = membridge_spsc_pop(q, &t0, sizeof(t0), &len,
					 r % 2 ? MEMBRIDGE_WAIT_FOREVER : 10000 * MBT_MS);
		lat = mbt_now_ns() - t0;
		if (ret < 0 || len != sizeof(t0)) {
			fprintf(stderr, "wake consumer: pop: %s\n", membridge_strerror(ret));
			return 31;
		}
		if (!write_all(w->fd, &lat, sizeof(lat)))
			return 32;
	}
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

/* Fills the ring, then blocks in push each round; reports when it woke. */
static int wake_producer_main(void *arg)
{
	const struct waker *w = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char msg[12] = "twelve bytes";
	int64_t t1;
	int r, ret, n = 0;

	alarm(CHILD_ALARM_S);
	if (child_open(w->name, &seg, &q, NULL) < 0)
		return 40;
	while ((ret = membridge_spsc_push(q, msg, sizeof(msg), MEMBRIDGE_NO_WAIT)) == 0)
		n++;
	if (ret != -EAGAIN || n != 4 || membridge_spsc_is_full(q) != 1)
		return 41;
	if (!write_all(w->fd, &n, sizeof(n)))
		return 42;
	for (r = 0; r < WAKE_ROUNDS; r++) {
		ret = membridge_spsc_push(q, msg, sizeof(msg),
					  r % 2 ? MEMBRIDGE_WAIT_FOREVER : 10000 * MBT_MS);
		t1 = mbt_now_ns();
		if (ret < 0) {
			fprintf(stderr, "wake producer: push: %s\n", membridge_strerror(ret));
			return 43;
		}
		if (!write_all(w->fd, &t1, sizeof(t1)))
			return 44;
	}
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void assert_latencies(const char *what, int64_t *lat, int n)
{
	int i;

	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("%s wake-up latency: min %lld us, median %lld us, max %lld us\n", what,
	       (long long)lat[0] / 1000, (long long)lat[n / 2] / 1000,
	       (long long)lat[n - 1] / 1000);
	/* The figures above are a measurement, not a pass mark: on a loaded or
	 * instrumented machine a prompt wake-up can take as long as a waiter's
	 * own re-check. That every waiter woke is the assertion. */
	for (i = 0; i < n; i++)
		ck_assert_int_ge(lat[i], 0);
}

START_TEST(test_wake_consumer)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int64_t lat[WAKE_ROUNDS], t0;
	struct waker w;
	int fd, r;
	pid_t pid;

	ring_create(w.name, 4096, &seg, &q);
	pid = fork_piped(wake_consumer_main, &w, &w.fd, &fd);
	for (r = 0; r < WAKE_ROUNDS; r++) {
		mbt_sleep_ns(WAKE_IDLE(r)); /* the consumer is asleep by now */
		t0 = mbt_now_ns();
		mbt_assert_ok(membridge_spsc_push(q, &t0, sizeof(t0), MEMBRIDGE_NO_WAIT));
		ck_assert_msg(read_all(fd, &lat[r], sizeof(lat[r])),
			      "consumer died in round %d", r);
	}
	close(fd);
	ck_assert_int_eq(mbt_wait(pid), 0);
	assert_latencies("consumer", lat, WAKE_ROUNDS);
	ring_destroy(w.name, seg, q);
}
END_TEST

START_TEST(test_wake_producer)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int64_t lat[WAKE_ROUNDS], t0, t1;
	struct waker w;
	char buf[16];
	size_t len;
	int fd, r, n;
	pid_t pid;

	/* 64 bytes: four 12-byte messages fill it exactly. */
	ring_create(w.name, 64, &seg, &q);
	pid = fork_piped(wake_producer_main, &w, &w.fd, &fd);
	ck_assert(read_all(fd, &n, sizeof(n)));
	ck_assert_int_eq(n, 4);
	for (r = 0; r < WAKE_ROUNDS; r++) {
		mbt_sleep_ns(WAKE_IDLE(r)); /* the producer is asleep by now */
		ck_assert_int_eq(membridge_spsc_is_full(q), 1);
		t0 = mbt_now_ns();
		mbt_assert_ok(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq(len, 12);
		ck_assert_mem_eq(buf, "twelve bytes", 12);
		ck_assert_msg(read_all(fd, &t1, sizeof(t1)), "producer died in round %d", r);
		lat[r] = t1 - t0;
	}
	close(fd);
	ck_assert_int_eq(mbt_wait(pid), 0);
	for (r = 0; r < 4; r++)
		mbt_assert_ok(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(membridge_spsc_is_empty(q), 1);
	assert_latencies("producer", lat, WAKE_ROUNDS);
	ring_destroy(w.name, seg, q);
}
END_TEST

/* -------------------------------------------------------------- the view */

#define VIEW_WORDS 512 /* a 4 KiB record */
#define VIEW_READERS 3
#define VIEW_WRITE_NS (400 * MBT_MS)
#define VIEW_STOP UINT64_MAX

struct viewer {
	char name[MBT_NAME_SIZE];
	bool explicit_lock; /* lock_read/lock_write around several calls */
	int fd;             /* readers report here, writers say "start" here */
};

struct reader_stats {
	uint64_t reads;
	uint64_t generations; /* distinct values seen */
};

static int view_writer_main(void *arg)
{
	const struct viewer *v = arg;
	struct membridge_segment *seg;
	struct membridge_view *view;
	uint64_t rec[VIEW_WORDS], gen = 0;
	int64_t end = mbt_now_ns() + VIEW_WRITE_NS;
	int ret = 0, i;

	alarm(CHILD_ALARM_S);
	if (child_open(v->name, &seg, NULL, &view) < 0)
		return 50;
	while (ret == 0) {
		gen = mbt_now_ns() < end ? gen + 1 : VIEW_STOP;
		for (i = 0; i < VIEW_WORDS; i++)
			rec[i] = gen;
		if (!v->explicit_lock) {
			ret = membridge_view_write_bytes(view, 0, rec, sizeof(rec));
		} else {
			ret = membridge_view_lock_write(view, 5000 * MBT_MS);
			if (ret == 0 && !membridge_view_is_write_locked(view))
				ret = -EPROTO;
			/* Eight separate writes of 512 bytes, back to front. */
			for (i = 7; i >= 0 && ret == 0; i--)
				ret = membridge_view_write_bytes(view, (size_t)i * 512,
								 (char *)rec + i * 512, 512);
			if (ret == 0)
				ret = membridge_view_unlock(view);
			else
				membridge_view_unlock(view);
		}
		if (gen == VIEW_STOP)
			break;
	}
	if (ret < 0)
		fprintf(stderr, "view writer: generation %llu: %s\n", (unsigned long long)gen,
			membridge_strerror(ret));
	membridge_view_close(view);
	membridge_segment_close(seg);
	return ret < 0 ? 51 : 0;
}

static int view_reader_main(void *arg)
{
	const struct viewer *v = arg;
	struct reader_stats stats = { 0, 0 };
	struct membridge_segment *seg;
	struct membridge_view *view;
	uint64_t rec[VIEW_WORDS], last = 0;
	int64_t deadline = mbt_now_ns() + 60000 * MBT_MS;
	int ret = 0, i;

	alarm(CHILD_ALARM_S);
	if (child_open(v->name, &seg, NULL, &view) < 0)
		return 60;
	/* Tell the parent this reader is ready. */
	if (!write_all(v->fd, &stats, sizeof(stats)))
		return 61;
	for (;;) {
		if (!v->explicit_lock) {
			ret = membridge_view_read_bytes(view, 0, rec, sizeof(rec));
		} else {
			ret = membridge_view_lock_read(view, 5000 * MBT_MS);
			if (ret == 0 && (membridge_view_reader_count(view) < 1 ||
					 membridge_view_is_write_locked(view)))
				ret = -EPROTO;
			if (ret == 0)
				ret = membridge_view_read_bytes(view, 0, rec, sizeof(rec) / 2);
			if (ret == 0)
				ret = membridge_view_read_bytes(view, sizeof(rec) / 2,
								(char *)rec + sizeof(rec) / 2,
								sizeof(rec) / 2);
			if (ret == 0)
				ret = membridge_view_unlock(view);
			else
				membridge_view_unlock(view);
		}
		if (ret < 0) {
			fprintf(stderr, "view reader: %s\n", membridge_strerror(ret));
			return 62;
		}
		stats.reads++;
		for (i = 1; i < VIEW_WORDS; i++) {
			if (rec[i] != rec[0]) {
				fprintf(stderr, "view reader: torn record: word 0 is %llu, "
					"word %d is %llu\n", (unsigned long long)rec[0], i,
					(unsigned long long)rec[i]);
				return 63;
			}
		}
		if (rec[0] < last) {
			fprintf(stderr, "view reader: generation went back from %llu to %llu\n",
				(unsigned long long)last, (unsigned long long)rec[0]);
			return 64;
		}
		if (rec[0] != last)
			stats.generations++;
		last = rec[0];
		if (last == VIEW_STOP)
			break;
		if (mbt_now_ns() > deadline) {
			fprintf(stderr, "view reader: no end of the writes seen\n");
			return 65;
		}
	}
	if (!write_all(v->fd, &stats, sizeof(stats)))
		return 66;
	membridge_view_close(view);
	membridge_segment_close(seg);
	return 0;
}

static void run_view_test(bool explicit_lock)
{
	struct reader_stats stats[VIEW_READERS];
	pid_t readers[VIEW_READERS], writer;
	struct membridge_segment *seg;
	struct membridge_view *view;
	struct viewer v[VIEW_READERS + 1];
	uint64_t rec[VIEW_WORDS], generations = 0;
	int fds[2], i, status[VIEW_READERS + 1];
	bool got[VIEW_READERS];

	mbt_name(v[0].name);
	mbt_assert_ok(membridge_segment_create(v[0].name, 4 + sizeof(rec), 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert_uint_eq(membridge_view_size(view), sizeof(rec));
	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i <= VIEW_READERS; i++) {
		memcpy(v[i].name, v[0].name, sizeof(v[i].name));
		/* With explicit_lock, the last reader still uses single calls. */
		v[i].explicit_lock = explicit_lock && i != VIEW_READERS - 1;
		v[i].fd = fds[1];
	}
	v[VIEW_READERS].explicit_lock = explicit_lock;
	for (i = 0; i < VIEW_READERS; i++)
		readers[i] = mbt_fork(view_reader_main, &v[i]);
	close(fds[1]);
	/* Start writing once every reader reads. */
	for (i = 0; i < VIEW_READERS; i++)
		got[i] = read_all(fds[0], &stats[i], sizeof(stats[i]));
	writer = mbt_fork(view_writer_main, &v[VIEW_READERS]);
	for (i = 0; i < VIEW_READERS; i++)
		got[i] = got[i] && read_all(fds[0], &stats[i], sizeof(stats[i]));
	close(fds[0]);
	status[VIEW_READERS] = mbt_wait(writer);
	for (i = 0; i < VIEW_READERS; i++)
		status[i] = mbt_wait(readers[i]);
	for (i = 0; i < VIEW_READERS; i++) {
		if (got[i])
			generations += stats[i].generations;
		printf("view %s reader %d: exit %d, %llu reads, %llu generations seen\n",
		       explicit_lock ? "lock" : "plain", i, status[i],
		       got[i] ? (unsigned long long)stats[i].reads : 0ull,
		       got[i] ? (unsigned long long)stats[i].generations : 0ull);
	}
	printf("view %s writer: exit %d\n", explicit_lock ? "lock" : "plain",
	       status[VIEW_READERS]);
	for (i = 0; i <= VIEW_READERS; i++)
		ck_assert_msg(status[i] == 0, "process %d (%s) exited with %d", i,
			      i == VIEW_READERS ? "writer" : "reader", status[i]);
	for (i = 0; i < VIEW_READERS; i++)
		ck_assert(got[i]);
	/* The readers did run while the writer wrote. */
	ck_assert_uint_gt(generations, VIEW_READERS);
	/* The final record, and the lock word back at 0. */
	mbt_assert_ok(membridge_view_read_bytes(view, 0, rec, sizeof(rec)));
	for (i = 0; i < VIEW_WORDS; i++)
		ck_assert_uint_eq(rec[i], VIEW_STOP);
	ck_assert_int_eq(membridge_view_reader_count(view), 0);
	ck_assert(!membridge_view_is_write_locked(view));
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(v[0].name));
}

START_TEST(test_view_write_bytes_atomic)
{
	run_view_test(false);
}
END_TEST

START_TEST(test_view_explicit_lock_atomic)
{
	run_view_test(true);
}
END_TEST

/* ------------------------------------------------------------------ EINTR */

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

/* Install on_signal for sig without SA_RESTART. */
static void catch_signal(int sig, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	ck_assert_int_eq(sigaction(sig, &sa, old), 0);
}

static void interval_timer(int64_t ns)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = (suseconds_t)(ns / 1000);
	it.it_interval = it.it_value;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static int dummy_fn(void *ctx, const struct membridge_frame *f)
{
	(void)ctx;
	(void)f;
	return 0;
}

/* Each blocking call, waiting 10 s, comes back -EINTR when SIGALRM arrives
 * (repeating every 30 ms, so one surely lands while it sleeps). */
START_TEST(test_eintr_alarm)
{
	struct membridge_segment *seg, *vseg;
	struct membridge_view *v1, *v2;
	struct membridge_spsc *q;
	struct membridge_frame f;
	struct sigaction old;
	char name[MBT_NAME_SIZE], vname[MBT_NAME_SIZE], buf[64];
	const struct membridge_iovec msg = { "0123456789", 10 };
	size_t len, n;
	int64_t t0;
	int i;

	ring_create(name, 64, &seg, &q);
	mbt_name(vname);
	mbt_assert_ok(membridge_segment_create(vname, 64, 0, 0, &vseg));
	mbt_assert_ok(membridge_view_open(vseg, &v1));
	mbt_assert_ok(membridge_view_open(vseg, &v2));
	catch_signal(SIGALRM, &old);
	interval_timer(30 * MBT_MS);
	t0 = mbt_now_ns();
	/* Empty ring: the consumer calls wait. */
	mbt_assert_ret(membridge_spsc_pop(q, buf, sizeof(buf), &len, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_WAIT_FOREVER),
		       -EINTR);
	mbt_assert_ret(membridge_spsc_peek(q, &f, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_spsc_pop_batch(q, 4, dummy_fn, NULL, &n, 10000 * MBT_MS), -EINTR);
	/* Full ring: the producer calls wait. */
	for (i = 0; i < 4; i++)
		mbt_assert_ok(membridge_spsc_push(q, "0123456789ab", 12, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_spsc_push(q, "x", 1, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_spsc_pushv(q, &msg, 1, MEMBRIDGE_WAIT_FOREVER), -EINTR);
	mbt_assert_ret(membridge_spsc_push_batch(q, &msg, 1, &n, 10000 * MBT_MS), -EINTR);
	/* A view lock held by another view. */
	mbt_assert_ok(membridge_view_lock_write(v1, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_view_lock_write(v2, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_view_lock_read(v2, MEMBRIDGE_WAIT_FOREVER), -EINTR);
	interval_timer(0);
	ck_assert_int_lt(mbt_now_ns() - t0, 5000 * MBT_MS);
	ck_assert_int_ge(signals_seen, 9);
	ck_assert_int_eq(sigaction(SIGALRM, &old, NULL), 0);
	/* Nothing was lost or taken by the interrupted calls. */
	mbt_assert_ok(membridge_view_unlock(v1));
	ck_assert_int_eq(membridge_spsc_is_full(q), 1);
	for (i = 0; i < 4; i++) {
		mbt_assert_ok(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq(len, 12);
	}
	membridge_view_close(v1);
	membridge_view_close(v2);
	membridge_segment_close(vseg);
	mbt_assert_ok(membridge_segment_remove(vname));
	ring_destroy(name, seg, q);
}
END_TEST

struct sig_child {
	char name[MBT_NAME_SIZE];
	int fd; /* write end to the parent */
};

/* Blocks in pop until another process's SIGUSR1 interrupts it; then retries
 * (safe after -EINTR) and receives the message sent afterwards. */
static int eintr_child_main(void *arg)
{
	const struct sig_child *c = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct sigaction sa;
	char buf[16], ready = 'R', intr = 'I';
	size_t len;
	int64_t t0;
	int ret;

	alarm(CHILD_ALARM_S);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return 70;
	if (child_open(c->name, &seg, &q, NULL) < 0)
		return 71;
	if (!write_all(c->fd, &ready, 1))
		return 72;
	t0 = mbt_now_ns();
	ret = membridge_spsc_pop(q, buf, sizeof(buf), &len, 30000 * MBT_MS);
	if (ret != -EINTR || signals_seen == 0) {
		fprintf(stderr, "eintr child: pop returned %d (%s) after %d signals\n", ret,
			membridge_strerror(ret), (int)signals_seen);
		return 73;
	}
	if (mbt_now_ns() - t0 > 10000 * MBT_MS)
		return 74;
	if (!write_all(c->fd, &intr, 1))
		return 75;
	do
		ret = membridge_spsc_pop(q, buf, sizeof(buf), &len, 30000 * MBT_MS);
	while (ret == -EINTR);
	if (ret != 0 || len != 4 || memcmp(buf, "ping", 4)) {
		fprintf(stderr, "eintr child: retried pop returned %d\n", ret);
		return 76;
	}
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

START_TEST(test_eintr_other_process)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct sig_child c;
	struct pollfd pfd;
	char byte = 0;
	int fd, tries, status;
	pid_t pid;

	ring_create(c.name, 64, &seg, &q);
	pid = fork_piped(eintr_child_main, &c, &c.fd, &fd);
	ck_assert(read_all(fd, &byte, 1));
	ck_assert_int_eq(byte, 'R');
	/* Signal until the child says its pop was interrupted. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (tries = 0; tries < 250; tries++) {
		ck_assert_int_eq(kill(pid, SIGUSR1), 0);
		if (poll(&pfd, 1, 20) == 1)
			break;
	}
	ck_assert(read_all(fd, &byte, 1));
	ck_assert_int_eq(byte, 'I');
	mbt_assert_ok(membridge_spsc_push(q, "ping", 4, MEMBRIDGE_NO_WAIT));
	status = mbt_wait(pid);
	close(fd);
	ck_assert_msg(status == 0, "child exit status %d after %d signals", status, tries + 1);
	ck_assert_int_eq(membridge_spsc_is_empty(q), 1);
	ring_destroy(c.name, seg, q);
}
END_TEST

/* ------------------------------------------------------------------ tcases */

static Suite *twoproc_suite(void)
{
	Suite *s = suite_create("twoproc");
	TCase *tc;

	tc = tcase_create("wake");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wake_consumer);
	tcase_add_test(tc, test_wake_producer);
	suite_add_tcase(s, tc);

	tc = tcase_create("view");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_view_write_bytes_atomic);
	tcase_add_test(tc, test_view_explicit_lock_atomic);
	suite_add_tcase(s, tc);

	tc = tcase_create("eintr");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eintr_alarm);
	tcase_add_test(tc, test_eintr_other_process);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return mbt_run(twoproc_suite());
}
