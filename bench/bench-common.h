/* SPDX-License-Identifier: MIT */
/* Shared by the C benchmark programs: options, clock, pinning, processes, statistics, results. */
#ifndef MEMBRIDGE_BENCH_COMMON_H
#define MEMBRIDGE_BENCH_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <membridge.h>

/*
 * Every program prints each measurement as one line
 *   RESULT<TAB>group<TAB>case<TAB>impl<TAB>value<TAB>unit
 * (bench_result()); impl "membridge" is ours in every group, unit is one of
 * msg/s, ops/s (higher is better), ns, us, %core (lower is better).
 * bench_note() prints NOTE<TAB>group<TAB>text lines saying how a group was
 * measured. bench/report.py tabulates both; progress and anything else for
 * humans goes to stderr.
 */

/* Options every program takes: --quick (a short run: all of
 * `make bench BENCH_ARGS=--quick` stays under a minute) and --runs N. */
struct bench_opts {
	bool quick;
	int runs; /* odd, >= 1: each figure is the median of this many runs */
};

/* Parse argv into *opts (default runs: 5, or 3 with --quick; an even N is
 * raised to N + 1 so that the median is a measured value). Prints `usage`
 * and exits 0 on --help, exits 2 on anything unknown. */
void bench_parse_args(int argc, char **argv, const char *usage, struct bench_opts *opts);

/* Print a message, remove the segments bench_name() named, and exit 1. */
__attribute__((format(printf, 1, 2), noreturn)) void bench_die(const char *fmt, ...);
/* bench_die() with membridge_strerror(err) appended, if err < 0. */
void bench_check(int err, const char *what);

/* CLOCK_MONOTONIC in nanoseconds: comparable between processes. */
int64_t bench_now_ns(void);
/* Sleep ns nanoseconds, resuming after signals. */
void bench_sleep_ns(int64_t ns);
/* Spin-wait hint for busy-poll loops (x86 pause, else nothing). */
void bench_cpu_relax(void);

/* CPUs this process may run on. */
int bench_cpu_count(void);
/* Pin the calling process to CPU number `cpu` (modulo the CPUs it may run
 * on, in their order) when there are two or more; else leave it alone. */
void bench_pin(int cpu);

/* Zero-filled shared anonymous memory, inherited by forked children (for
 * results and for the peers' own queues); bench_shared_free() unmaps it. */
void *bench_shared_alloc(size_t size);
void bench_shared_free(void *p, size_t size);

/* Fork a child pinned with bench_pin(cpu) that runs fn(arg) and exits with
 * its return value (non-zero means failure). */
pid_t bench_fork(int cpu, int (*fn)(void *arg), void *arg);
/* Wait for every pid in pids; bench_die() if one did not exit 0. */
void bench_wait_all(const pid_t *pids, size_t n);

/* A measurement between two processes: bench_pair_run() calls setup(arg),
 * forks a child on CPU 1 running on_cpu1(arg), then one on CPU 0 running
 * on_cpu0(arg) (bench_fork()), waits for both (bench_wait_all()) and calls
 * teardown(arg). The children find what setup made in *arg. */
struct bench_pair {
	void (*setup)(void *arg);
	int (*on_cpu1)(void *arg);
	int (*on_cpu0)(void *arg);
	void (*teardown)(void *arg);
};
void bench_pair_run(const struct bench_pair *pair, void *arg);

/* User + system CPU time this process has used, in nanoseconds (getrusage). */
int64_t bench_cpu_ns(void);
/* Read exactly len bytes from the pipe fd into buf, resuming after signals;
 * bench_die() on an error or the end of the file. */
void bench_pipe_read(int fd, void *buf, size_t len);

/* Both sides of a two-process measurement meet here (a spinning barrier in
 * bench_shared_alloc() memory, zero-initialised, for exactly two parties,
 * reusable). */
struct bench_barrier {
	_Atomic unsigned count;
	_Atomic unsigned generation;
};
void bench_barrier_wait(struct bench_barrier *b);

/* Room for n samples (malloc, bench_die() if there is none). */
double *bench_samples(size_t n);
/* Statistics; each sorts v in place. bench_percentile() interpolates
 * linearly between the two nearest ranks, p in [0, 100]. */
double bench_median(double *v, size_t n);
double bench_percentile(double *v, size_t n, double p);

/* One RESULT line on stdout (flushed at once). */
void bench_result(const char *group, const char *bcase, const char *impl, double value,
		  const char *unit);
/* One NOTE<TAB>group<TAB>text line: how a group was measured (printf-style
 * text); the reporter prints the notes under the group's table. */
__attribute__((format(printf, 2, 3))) void bench_note(const char *group, const char *fmt, ...);

/* Room for any name bench_name() makes. */
#define BENCH_NAME_SIZE 64
/* A fresh segment name "/mb-bench-<pid>-<n>", unique in this run (<pid> is
 * the process that made the first name, so children name alike). */
char *bench_name(char buf[BENCH_NAME_SIZE]);
/* Create segment `name` for a ring of `capacity` data bytes (a power of
 * two) and initialise the ring; returns the creator's ring handle. */
struct membridge_spsc *bench_ring_create(const char *name, size_t capacity);
/* Open the ring of an existing segment (in a forked child, say). */
struct membridge_spsc *bench_ring_open(const char *name);
/* Open existing segment `name`, open a handle on it with open_fn(seg, handle)
 * (the handle keeps its own reference) and close the segment; bench_die()
 * if either fails, naming `name` or `what`. */
void bench_open_handle(const char *name,
		       int (*open_fn)(struct membridge_segment *seg, void *handle), void *handle,
		       const char *what);

#endif /* MEMBRIDGE_BENCH_COMMON_H */
