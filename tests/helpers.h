/* SPDX-License-Identifier: MIT */
/* Shared by the Check suites: unique segment names, cleanup, process helpers, clocks, values. */
#ifndef MEMBRIDGE_TEST_HELPERS_H
#define MEMBRIDGE_TEST_HELPERS_H

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <membridge.h>

/* One millisecond in the nanoseconds every membridge timeout takes. */
#define MBT_MS INT64_C(1000000)

/* "Promptly" in a test: a wake-up or a dead peer's discovery that takes
 * microseconds normally and milliseconds under memcheck on a loaded machine
 * must come within this; the waits that could instead run into their
 * timeout are given several times as long. */
#define MBT_PROMPT_NS (1000 * MBT_MS)

/* Room for any name mbt_name() makes. */
#define MBT_NAME_SIZE 64

/* A fresh segment name "/mbt<runner pid><pid><n>" (base 62, at most 16
 * bytes as on macOS), unique across every test of the run and every
 * process a test forks. */
char *mbt_name(char buf[MBT_NAME_SIZE]);

/* The error the library gives a name it refuses: -ENAMETOOLONG once a name
 * that starts with '/' is longer than MEMBRIDGE_NAME_MAX (only 16 bytes on
 * macOS), else -EINVAL (membridge_name_check()). */
int mbt_refused_name_error(const char *name);

/* Assert that a membridge call returned `expected` (0 or -errno), printing
 * membridge_strerror() of what came back otherwise. */
#define mbt_assert_ret(call, expected) do {					\
	int mbt_r_ = (call);							\
	int mbt_e_ = (expected);						\
	ck_assert_msg(mbt_r_ == mbt_e_, "%s returned %d (%s), expected %d (%s)",	\
		      #call, mbt_r_, membridge_strerror(mbt_r_), mbt_e_,	\
		      membridge_strerror(mbt_e_));				\
} while (0)
#define mbt_assert_ok(call) mbt_assert_ret(call, 0)

/* Assert that two values are the same: type, then the payload (floats bit for
 * bit, str/bytes by length and bytes); `what` names the value in messages. */
void mbt_assert_value_eq(const struct membridge_value *got, const struct membridge_value *want,
			 const char *what);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t mbt_now_ns(void);
/* Sleep ns nanoseconds, resuming after signals until the whole time passed. */
void mbt_sleep_ns(int64_t ns);

/* Fork a child that runs fn(arg) and exits with its return value. */
pid_t mbt_fork(int (*fn)(void *arg), void *arg);
/* Wait for pid and return its exit status, or 128 + signal number. */
int mbt_wait(pid_t pid);
/* What mbt_wait() returns for a child that SIGKILL ended. */
#define MBT_KILLED (128 + SIGKILL)
/* SIGKILL pid and reap it at once (a zombie still counts as a live
 * process); returns mbt_wait()'s status: MBT_KILLED, unless it had ended. */
int mbt_kill(pid_t pid);
/* Fork n (up to MBT_RUN_MAX) children, mains[i](arg), and reap them; any still running at
 * deadline_ns (mbt_now_ns()) is SIGKILLed. Asserts that each exited 0 by
 * itself; names[i] names child i in the messages. */
#define MBT_RUN_MAX 8
void mbt_run_all(int n, int (*const mains[])(void *arg), void *arg,
		 const char *const names[], int64_t deadline_ns);
/* n zeroed bytes of memory shared with the children forked later (munmap
 * it when done). */
void *mbt_shared(size_t n);

/* Pipes between a child and its parent. In a child (no Check asserts
 * there): write all of buf, resuming after signals; _exit(90) if the pipe
 * is gone. */
void mbt_put(int fd, const void *buf, size_t n);
/* Read exactly n bytes, resuming after signals; false at EOF. */
bool mbt_get(int fd, void *buf, size_t n);
/* Whether fd has something to read (or EOF) within ms milliseconds. */
bool mbt_readable(int fd, int ms);

/* Random numbers for kill schedules and scribbles: a 64-bit mixer (a pure
 * function of x) and xorshift64* (a stream from a nonzero *state). */
uint64_t mbt_mix(uint64_t x);
uint64_t mbt_random(uint64_t *state);
/* The seed of a kill schedule: MBT_KILL_SEED if set, else fallback. */
uint64_t mbt_kill_seed(uint64_t fallback);
/* How late a call may come back after its timeout on a loaded machine:
 * MBT_PROMPT_NS, ten times that under valgrind. */
int64_t mbt_slack_ns(void);

/* true when `make check-valgrind` runs the suite: loops that fork or stream
 * a lot scale themselves down, since memcheck is some 20 times slower. */
bool mbt_under_valgrind(void);

/* Run the suite (Check's CK_* environment variables apply), then remove
 * every segment this run left in /dev/shm; a leftover after an otherwise
 * green run fails the program. Use as main's return value. */
int mbt_run(Suite *suite);

#endif /* MEMBRIDGE_TEST_HELPERS_H */
