/* SPDX-License-Identifier: MIT */
/* Helpers of the C benchmark programs (see bench-common.h). */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"
#include "clock.h"

void bench_parse_args(int argc, char **argv, const char *usage, struct bench_opts *opts)
{
	int i;

	opts->quick = false;
	opts->runs = 0;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--quick") == 0) {
			opts->quick = true;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			char *end;
			long n = strtol(argv[++i], &end, 10);

			if (*end || n < 1 || n > 999)
				bench_die("--runs wants a count from 1 to 999, not '%s'", argv[i]);
			opts->runs = (int)n;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s [--quick] [--runs N]\n%s", argv[0], usage);
			exit(0);
		} else {
			fprintf(stderr, "%s: unknown argument '%s'\n", argv[0], argv[i]);
			fprintf(stderr, "usage: %s [--quick] [--runs N]\n", argv[0]);
			exit(2);
		}
	}
	if (opts->runs == 0)
		opts->runs = opts->quick ? 3 : 5;
	if (opts->runs % 2 == 0)
		opts->runs++;
}

/* bench_name()'s state: its pid and how many names it made. */
static long names_pid;
static unsigned names_made;

char *bench_name(char buf[BENCH_NAME_SIZE])
{
	if (!names_made)
		names_pid = (long)getpid();
	snprintf(buf, BENCH_NAME_SIZE, "/mb-bench-%ld-%u", names_pid, names_made++);
	return buf;
}

/* Remove every segment bench_name() named that still exists. */
static void remove_named(void)
{
	char name[BENCH_NAME_SIZE];
	unsigned i;

	for (i = 0; i < names_made; i++) {
		snprintf(name, sizeof(name), "/mb-bench-%ld-%u", names_pid, i);
		(void)membridge_segment_remove(name);
	}
}

void bench_die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	remove_named();
	exit(1);
}

void bench_check(int err, const char *what)
{
	if (err < 0)
		bench_die("%s: %s", what, membridge_strerror(err));
}

int64_t bench_now_ns(void)
{
	return mb_clock_ns();
}

void bench_sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

int bench_cpu_count(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	return CPU_COUNT(&set);
}

void bench_pin(int cpu)
{
	cpu_set_t set, one;
	int n = bench_cpu_count(), i, k = -1;

	if (n < 2 || sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	cpu %= n;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (CPU_ISSET(i, &set) && ++k == cpu)
			break;
	}
	CPU_ZERO(&one);
	CPU_SET(i, &one);
	if (sched_setaffinity(0, sizeof(one), &one) < 0)
		bench_die("sched_setaffinity(CPU %d): %s", i, strerror(errno));
}

void *bench_shared_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		bench_die("mmap of %zu shared bytes: %s", size, strerror(errno));
	return p;
}

void bench_shared_free(void *p, size_t size)
{
	munmap(p, size);
}

pid_t bench_fork(int cpu, int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	if (pid == 0) {
		bench_pin(cpu);
		exit(fn(arg));
	}
	return pid;
}

void bench_wait_all(const pid_t *pids, size_t n)
{
	bool failed = false;
	size_t i;

	for (i = 0; i < n; i++) {
		int status;

		while (waitpid(pids[i], &status, 0) < 0) {
			if (errno != EINTR)
				bench_die("waitpid: %s", strerror(errno));
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "bench: child %d %s %d\n", (int)pids[i],
				WIFEXITED(status) ? "exited with" : "killed by signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			failed = true;
		}
	}
	if (failed)
		bench_die("a benchmark process failed");
}

void bench_pair_run(const struct bench_pair *pair, void *arg)
{
	pid_t pids[2];

	pair->setup(arg);
	pids[0] = bench_fork(1, pair->on_cpu1, arg);
	pids[1] = bench_fork(0, pair->on_cpu0, arg);
	bench_wait_all(pids, 2);
	pair->teardown(arg);
}

int64_t bench_cpu_ns(void)
{
	struct rusage r;

	getrusage(RUSAGE_SELF, &r);
	return ((int64_t)r.ru_utime.tv_sec + (int64_t)r.ru_stime.tv_sec) * 1000000000 +
	       ((int64_t)r.ru_utime.tv_usec + (int64_t)r.ru_stime.tv_usec) * 1000;
}

void bench_pipe_read(int fd, void *buf, size_t len)
{
	size_t done = 0;
	ssize_t r;

	while (done < len) {
		r = read(fd, (unsigned char *)buf + done, len - done);
		if (r < 0 && errno != EINTR)
			bench_die("read from pipe: %s", strerror(errno));
		if (r == 0)
			bench_die("pipe: end of file");
		if (r > 0)
			done += (size_t)r;
	}
}

void bench_barrier_wait(struct bench_barrier *b)
{
	unsigned gen = atomic_load_explicit(&b->generation, memory_order_acquire);
	unsigned spins = 0;

	if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == 1) {
		atomic_store_explicit(&b->count, 0, memory_order_relaxed);
		atomic_store_explicit(&b->generation, gen + 1, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&b->generation, memory_order_acquire) == gen) {
		/* on one CPU the other side needs the processor to arrive */
		if (++spins % 1024 == 0)
			sched_yield();
		bench_cpu_relax();
	}
}

double *bench_samples(size_t n)
{
	double *v = malloc(n * sizeof(*v));

	if (!v)
		bench_die("out of memory");
	return v;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
	double rank, frac;
	size_t lo;

	if (n == 0)
		return 0.0;
	qsort(v, n, sizeof(*v), cmp_double);
	rank = p / 100.0 * (double)(n - 1);
	lo = (size_t)rank;
	if (lo >= n - 1)
		return v[n - 1];
	frac = rank - (double)lo;
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

double bench_median(double *v, size_t n)
{
	return bench_percentile(v, n, 50.0);
}

void bench_result(const char *group, const char *bcase, const char *impl, double value,
		  const char *unit)
{
	printf("RESULT\t%s\t%s\t%s\t%.6g\t%s\n", group, bcase, impl, value, unit);
	fflush(stdout);
}

void bench_note(const char *group, const char *fmt, ...)
{
	va_list ap;

	printf("NOTE\t%s\t", group);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

struct membridge_spsc *bench_ring_create(const char *name, size_t capacity)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;

	bench_check(membridge_segment_create(name, capacity + MEMBRIDGE_SPSC_HEADER, 0,
					     MEMBRIDGE_CREATE_EXCLUSIVE, &seg), name);
	bench_check(membridge_spsc_open(seg, &q), "membridge_spsc_open");
	membridge_segment_close(seg); /* the ring keeps its own reference */
	return q;
}

void bench_open_handle(const char *name,
		       int (*open_fn)(struct membridge_segment *seg, void *handle), void *handle,
		       const char *what)
{
	struct membridge_segment *seg;

	bench_check(membridge_segment_open(name, 0, &seg), name);
	bench_check(open_fn(seg, handle), what);
	membridge_segment_close(seg);
}

static int open_ring(struct membridge_segment *seg, void *q)
{
	return membridge_spsc_open(seg, q);
}

struct membridge_spsc *bench_ring_open(const char *name)
{
	struct membridge_spsc *q;

	bench_open_handle(name, open_ring, &q, "membridge_spsc_open");
	return q;
}
