/* SPDX-License-Identifier: MIT */
/* Check suite of signals during waits: a handler that runs while a ring or lock call waits ends it with -EINTR. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>

#include "helpers.h"

#define CAP 1024
/* The wait each call is given, and what "well before it" means: loose, so
 * that a loaded machine passes; a lost signal sleeps the whole 3 s. */
#define WAIT_NS (3000 * MBT_MS)
#define EARLY_NS (2500 * MBT_MS)
/* Times into the wait at which SIGALRM fires, in microseconds. */
static const long fire_us[] = { 1000, 20000, 200000 };
#define REPEATS 3

static volatile sig_atomic_t handled;

static void on_alarm(int sig)
{
	(void)sig;
	handled++;
}

static void arm(int flags, long us)
{
	struct sigaction sa;
	struct itimerval it = { { 0, 0 }, { us / 1000000, us % 1000000 } };

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

/* One blocking call under test: its fixture and the call itself. */
struct subject {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct membridge_view *holder, *waiter;
};

static int no_frame(void *ctx, const struct membridge_frame *f)
{
	(void)ctx;
	(void)f;
	return 0;
}

static void ring_setup(struct subject *s, bool full, bool no_companion)
{
	char buf[8] = { 0 };
	int r;

	mbt_name(s->name);
	if (no_companion) {
		/* A companion of the wrong size cannot be used: waits poll. */
		char c[MBT_NAME_SIZE + 32];
		int fd;

		strcpy(c, s->name);
		strcat(c, ".membridge-wait");
		fd = shm_open(c, O_RDWR | O_CREAT | O_EXCL, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(ftruncate(fd, 1), 0);
		close(fd);
	}
	mbt_assert_ok(membridge_segment_create(s->name, CAP + MEMBRIDGE_SPSC_HEADER, 0,
					       MEMBRIDGE_CREATE_EXCLUSIVE, &s->seg));
	mbt_assert_ok(membridge_spsc_open(s->seg, &s->q));
	while (full && (r = membridge_spsc_push(s->q, buf, sizeof(buf), MEMBRIDGE_NO_WAIT)) == 0)
		;
	if (full)
		mbt_assert_ret(r, -EAGAIN);
}

static void view_setup(struct subject *s, bool writer_holds)
{
	mbt_name(s->name);
	mbt_assert_ok(membridge_segment_create(s->name, 64, 0, MEMBRIDGE_CREATE_EXCLUSIVE,
					       &s->seg));
	mbt_assert_ok(membridge_view_open(s->seg, &s->holder));
	mbt_assert_ok(membridge_view_open(s->seg, &s->waiter));
	if (writer_holds)
		mbt_assert_ok(membridge_view_lock_write(s->holder, MEMBRIDGE_NO_WAIT));
	else
		mbt_assert_ok(membridge_view_lock_read(s->holder, MEMBRIDGE_NO_WAIT));
}

static void teardown(struct subject *s)
{
	membridge_spsc_close(s->q);
	membridge_view_close(s->waiter);
	membridge_view_close(s->holder);
	membridge_segment_remove(s->name);
	membridge_segment_close(s->seg);
}

enum call { POP, PUSH, PEEK, POP_BATCH, PUSH_BATCH, READ_LOCK, WRITE_LOCK, POLL_POP, CALLS };
static const char *const call_name[] = { "pop", "push", "peek", "pop_batch", "push_batch",
					 "read lock", "write lock", "pop without companion" };

static int run_call(enum call c, struct subject *s)
{
	char buf[16] = { 0 };
	struct membridge_iovec iov = { buf, sizeof(buf) };
	struct membridge_frame f;
	size_t n;

	switch (c) {
	case POP:
	case POLL_POP:
		return membridge_spsc_pop(s->q, buf, sizeof(buf), &n, WAIT_NS);
	case PUSH:
		return membridge_spsc_push(s->q, buf, sizeof(buf), WAIT_NS);
	case PEEK:
		return membridge_spsc_peek(s->q, &f, WAIT_NS);
	case POP_BATCH:
		return membridge_spsc_pop_batch(s->q, 8, no_frame, NULL, &n, WAIT_NS);
	case PUSH_BATCH:
		return membridge_spsc_push_batch(s->q, &iov, 1, &n, WAIT_NS);
	case READ_LOCK:
		return membridge_view_lock_read(s->waiter, WAIT_NS);
	default:
		return membridge_view_lock_write(s->waiter, WAIT_NS);
	}
}

static void setup(enum call c, struct subject *s)
{
	memset(s, 0, sizeof(*s));
	if (c == READ_LOCK || c == WRITE_LOCK)
		view_setup(s, c == READ_LOCK);
	else
		ring_setup(s, c == PUSH || c == PUSH_BATCH, c == POLL_POP);
}

/* Call c, SIGALRM (with sa_flags) fired `us` into its wait: -EINTR early. */
static void interrupted(enum call c, int flags, long us)
{
	struct subject s;
	int64_t t0, took;
	int ret;

	setup(c, &s);
	handled = 0;
	arm(flags, us);
	t0 = mbt_now_ns();
	ret = run_call(c, &s);
	took = mbt_now_ns() - t0;
	ck_assert_msg(ret == -EINTR && handled == 1 && took < EARLY_NS,
		      "%s, signal at %ld us: returned %d (%s) after %lld ms, %d handler runs",
		      call_name[c], us, ret, membridge_strerror(ret), (long long)(took / MBT_MS),
		      (int)handled);
	teardown(&s);
}

START_TEST(test_interrupted)
{
	size_t i;
	int k;

	for (k = 0; k < REPEATS; k++)
		for (i = 0; i < sizeof(fire_us) / sizeof(fire_us[0]); i++)
			interrupted((enum call)_i, 0, fire_us[i]);
}
END_TEST

/* Documented: an SA_RESTART handler ends a wait too (like poll(2)). */
START_TEST(test_restart_handler_interrupts)
{
	interrupted((enum call)_i, SA_RESTART, 20000);
}
END_TEST

/* A signal the caller blocked, or one it ignores, does not end the wait. */
START_TEST(test_blocked_or_ignored_waits_out)
{
	struct subject s;
	sigset_t set, old;
	char buf[16];
	size_t n;
	int64_t t0;

	setup(POP, &s);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &set, &old), 0);
	handled = 0;
	arm(0, 20000);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_spsc_pop(s.q, buf, sizeof(buf), &n, 300 * MBT_MS), -ETIMEDOUT);
	ck_assert(mbt_now_ns() - t0 >= 300 * MBT_MS);
	ck_assert_int_eq(handled, 0);
	/* The caller's mask is back as it was: SIGALRM still blocked. */
	ck_assert_int_eq(sigprocmask(SIG_SETMASK, &old, &set), 0);
	ck_assert(sigismember(&set, SIGALRM));
	ck_assert_int_eq(handled, 1);
	signal(SIGALRM, SIG_IGN);
	raise(SIGALRM);
	mbt_assert_ret(membridge_spsc_pop(s.q, buf, sizeof(buf), &n, 50 * MBT_MS), -ETIMEDOUT);
	teardown(&s);
}
END_TEST

static Suite *eintr_suite(void)
{
	Suite *s = suite_create("eintr");
	TCase *tc = tcase_create("eintr");

	/* Each call sleeps 3 x 3 x (1..200 ms) at most; a failure 3 s more. */
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_interrupted, 0, CALLS);
	tcase_add_loop_test(tc, test_restart_handler_interrupts, 0, CALLS);
	tcase_add_test(tc, test_blocked_or_ignored_waits_out);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(eintr_suite());
}
