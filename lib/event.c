/* SPDX-License-Identifier: MIT */
/* Event counts in the companion segment: bounded, lost-wake-free sleeping. */
#include "config.h"

#include <errno.h>

#include "internal.h"

/* How long a waiter re-checks its condition, with a CPU pause between
 * tries, before it sleeps: about what a futex wake-up costs, so that a peer
 * that answers at once is not made to pay for one. */
#define MB_SPIN_NS INT64_C(20000)
#define MB_SPIN_TRIES_PER_CLOCK 32
/* Polling interval when there is no companion segment to sleep on. */
#define MB_POLL_NS INT64_C(200000)

int64_t mb_deadline(int64_t timeout_ns)
{
	int64_t now;

	if (timeout_ns < 0)
		return INT64_MAX;
	now = mb_os_now_ns();
	return timeout_ns > INT64_MAX - now ? INT64_MAX : now + timeout_ns;
}

/* Time left before the deadline, capped to `slice`; -ETIMEDOUT once it has
 * passed. */
static int64_t slice_before(int64_t deadline, int64_t slice)
{
	int64_t left;

	if (deadline == INT64_MAX)
		return slice;
	left = deadline - mb_os_now_ns();
	if (left <= 0)
		return -ETIMEDOUT;
	return left < slice ? left : slice;
}

/* Re-check ready(ctx) for about MB_SPIN_NS, or until the deadline: > 0 or
 * < 0 as ready() said, 0 if it never held. */
static int spin(int64_t deadline, int (*ready)(void *ctx), void *ctx)
{
	int64_t until = mb_os_now_ns() + MB_SPIN_NS;
	int ret, i;

	if (until > deadline)
		until = deadline;

	do {
		for (i = 0; i < MB_SPIN_TRIES_PER_CLOCK; i++) {
			mb_os_cpu_relax();
			ret = ready(ctx);
			if (ret != 0)
				return ret;
		}
	} while (mb_os_now_ns() < until);
	return 0;
}

/* Sleep on ev until ready(ctx) is non-zero or the deadline passes. The
 * waiter announces itself in ev->sleepers once, for the whole wait: the
 * heavy fence then orders the announcement before every later check of the
 * condition, against the light fence of each notifier. Each sleep reads
 * ev->seq before checking, so a notification in between ends the sleep. */
static int sleep_until(struct mb_event *ev, int64_t deadline, int64_t max_slice,
		       int (*ready)(void *ctx), void *ctx)
{
	int64_t next = MB_WAIT_SLICE_NS, slice;
	uint32_t seq;
	int ret;

	atomic_fetch_add_explicit(&ev->sleepers, 1, memory_order_relaxed);
	mb_os_fence_heavy();
	for (;;) {
		seq = atomic_load_explicit(&ev->seq, memory_order_acquire);
		ret = ready(ctx);
		if (ret != 0)
			break;
		slice = slice_before(deadline, next);
		if (slice < 0) {
			ret = (int)slice;
			break;
		}
		if (next < max_slice)
			next = next > max_slice / 2 ? max_slice : 2 * next;
		ret = mb_os_wait(&ev->seq, seq, slice);
		if (ret < 0 && ret != -ETIMEDOUT)
			break;
	}
	atomic_fetch_sub_explicit(&ev->sleepers, 1, memory_order_relaxed);
	return ret > 0 ? 0 : ret;
}

/* Without a companion: check, then sleep a short while, until the deadline. */
static int poll_until(int64_t deadline, int (*ready)(void *ctx), void *ctx)
{
	int64_t slice;
	int ret;

	for (;;) {
		ret = ready(ctx);
		if (ret != 0)
			return ret > 0 ? 0 : ret;
		slice = slice_before(deadline, MB_POLL_NS);
		if (slice < 0)
			return (int)slice;
		mb_os_sleep(slice);
	}
}

int mb_event_wait(struct mb_event *ev, int64_t timeout_ns, int64_t max_slice_ns,
		  int (*ready)(void *ctx), void *ctx)
{
	int64_t deadline;
	int ret;

	if (timeout_ns < MEMBRIDGE_WAIT_FOREVER)
		return -EINVAL;
	ret = ready(ctx);
	if (ret != 0)
		return ret > 0 ? 0 : ret;
	if (timeout_ns == 0)
		return -EAGAIN;
	deadline = mb_deadline(timeout_ns);
	ret = spin(deadline, ready, ctx);
	if (ret != 0)
		return ret > 0 ? 0 : ret;
	return ev ? sleep_until(ev, deadline, max_slice_ns, ready, ctx)
		  : poll_until(deadline, ready, ctx);
}

void mb_event_wake(struct mb_event *ev)
{
	atomic_fetch_add_explicit(&ev->seq, 1, memory_order_release);
	mb_os_wake(&ev->seq);
}
