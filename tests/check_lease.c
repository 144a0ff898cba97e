/* SPDX-License-Identifier: MIT */
/* Check suite of the sleeper lease: a consumer killed asleep stops costing its producer a futex wake. */
#include "config.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"

#define CAP 4096
#define MESSAGES 100

static char ring_name[MBT_NAME_SIZE];
static volatile sig_atomic_t futex_calls;

static void on_sigsys(int sig)
{
	(void)sig;
	futex_calls++;
}

/* Trap every futex call of this process into on_sigsys (it then fails). */
static int count_futex_calls(void)
{
	struct sock_filter insns[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { sizeof(insns) / sizeof(insns[0]), insns };

	signal(SIGSYS, on_sigsys);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -1;
	return 0;
}

/* Child: block in pop until a message comes. */
static int consumer(void *arg)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char buf[16];
	size_t n;

	(void)arg;
	if (membridge_segment_open(ring_name, 0, &seg) < 0 || membridge_spsc_open(seg, &q) < 0)
		return 2;
	return membridge_spsc_pop(q, buf, sizeof(buf), &n, 30000 * MBT_MS) == 0 ? 0 : 3;
}

/* Child: push MESSAGES with futex calls counted; exits with the count (or
 * 200 + an error). */
static int producer(void *arg)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int i, count = *(int *)arg;

	if (membridge_segment_open(ring_name, 0, &seg) < 0 || membridge_spsc_open(seg, &q) < 0)
		return 201;
	/* The first publish registers for membarrier, and glibc's pthread_once
	 * makes a futex call of its own then: a killed sleeper's ring takes
	 * one message untrapped (nobody is woken by it). */
	if (count > 1 && membridge_spsc_push(q, "m", 1, MEMBRIDGE_NO_WAIT) < 0)
		return 204;
	if (count_futex_calls() < 0)
		return 202;
	for (i = 0; i < count; i++)
		if (membridge_spsc_push(q, "m", 1, MEMBRIDGE_NO_WAIT) < 0)
			return 203;
	return futex_calls > 100 ? 100 : futex_calls;
}

static struct membridge_segment *ring_make(struct membridge_spsc **q)
{
	struct membridge_segment *seg;

	mbt_name(ring_name);
	mbt_assert_ok(membridge_segment_create(ring_name, CAP + MEMBRIDGE_SPSC_HEADER, 0,
					       MEMBRIDGE_CREATE_EXCLUSIVE, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, q));
	return seg;
}

/* A live sleeper is woken: the producer's first push makes the wake call
 * (where there are futexes). */
START_TEST(test_live_sleeper_woken)
{
	struct membridge_spsc *q;
	struct membridge_segment *seg = ring_make(&q);
	int one = 1, status;
	pid_t c = mbt_fork(consumer, NULL);

	mbt_sleep_ns(200 * MBT_MS); /* past its spin, asleep */
	status = mbt_wait(mbt_fork(producer, &one));
#ifdef MB_HAVE_FUTEX
	ck_assert_msg(status >= 1 && status < 100, "producer: %d futex calls or error", status);
#else
	/* Without futexes (macOS) sleepers wake on their own; wakers call nothing. */
	ck_assert_msg(status == 0, "producer: %d futex calls or error", status);
#endif
	/* The trapped wake failed: the consumer finds the message at its slice's end. */
	ck_assert_int_eq(mbt_wait(c), 0);
	membridge_spsc_close(q);
	membridge_segment_remove(ring_name);
	membridge_segment_close(seg);
}
END_TEST

/* A sleeper SIGKILLed asleep: once its lease ran out, publishing makes no
 * futex call. */
START_TEST(test_killed_sleeper_expires)
{
	struct membridge_spsc *q;
	struct membridge_segment *seg = ring_make(&q);
	int count = MESSAGES, status;
	pid_t c = mbt_fork(consumer, NULL);

	mbt_sleep_ns(200 * MBT_MS);
	ck_assert_int_eq(kill(c, SIGKILL), 0);
	ck_assert_int_eq(mbt_wait(c), 128 + SIGKILL);
	/* Its lease reached at most one ring slice (40 ms) + 1 ms ahead. */
	mbt_sleep_ns(400 * MBT_MS);
	status = mbt_wait(mbt_fork(producer, &count));
	ck_assert_msg(status == 0, "producer: %d futex calls or error", status);
	membridge_spsc_close(q);
	membridge_segment_remove(ring_name);
	membridge_segment_close(seg);
}
END_TEST

static Suite *lease_suite(void)
{
	Suite *s = suite_create("lease");
	TCase *tc = tcase_create("lease");

	tcase_set_timeout(tc, 120);
	/* Valgrind cannot run a process under a seccomp filter. */
	if (!mbt_under_valgrind()) {
		tcase_add_test(tc, test_live_sleeper_woken);
		tcase_add_test(tc, test_killed_sleeper_expires);
	}
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(lease_suite());
}
