/* SPDX-License-Identifier: MIT */
/* Event counts in the companion segment: bounded, lost-wake-free sleeping. */
#include "config.h"

#include <errno.h>

#include "internal.h"

/* Tries of the condition, with a CPU pause between them, before sleeping. */
#define MB_SPIN_TRIES 64
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

/* Time left before the deadline, capped to one slice; -ETIMEDOUT once it
 * has passed. */
static int64_t slice_before(int64_t deadline)
{
	int64_t left;

	if (deadline == INT64_MAX)
		return MB_WAIT_SLICE_NS;
	left = deadline - mb_os_now_ns();
	if (left <= 0)
		return -ETIMEDOUT;
	return left < MB_WAIT_SLICE_NS ? left : MB_WAIT_SLICE_NS;
}

/* Sleep on ev until ready(ctx) is non-zero or the deadline passes. The
 * waiter announces itself in ev->sleepers once, for the whole wait: the
 * heavy fence then orders the announcement before every later check of the
 * condition, against the light fence of each notifier. Each sleep reads
 * ev->seq before checking, so a notification in between ends the sleep. */
static int sleep_until(struct mb_event *ev, int64_t deadline, int (*ready)(void *ctx),
		       void *ctx)
{
	int64_t slice;
	uint32_t seq;
	int ret;

	atomic_fetch_add_explicit(&ev->sleepers, 1, memory_order_relaxed);
	mb_os_fence_heavy();
	for (;;) {
		seq = atomic_load_explicit(&ev->seq, memory_order_acquire);
		ret = ready(ctx);
		if (ret != 0)
			break;
		slice = slice_before(deadline);
		if (slice < 0) {
			ret = (int)slice;
			break;
		}
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
		slice = slice_before(deadline);
		if (slice < 0)
			return (int)slice;
		mb_os_sleep(slice < MB_POLL_NS ? slice : MB_POLL_NS);
	}
}

int mb_event_wait(struct mb_event *ev, int64_t timeout_ns, int (*ready)(void *ctx), void *ctx)
{
	int64_t deadline;
	int ret, i;

	if (timeout_ns < MEMBRIDGE_WAIT_FOREVER)
		return -EINVAL;
	ret = ready(ctx);
	if (ret != 0)
		return ret > 0 ? 0 : ret;
	if (timeout_ns == 0)
		return -EAGAIN;
	deadline = mb_deadline(timeout_ns);
	for (i = 0; i < MB_SPIN_TRIES; i++) {
		mb_os_cpu_relax();
		ret = ready(ctx);
		if (ret != 0)
			return ret > 0 ? 0 : ret;
	}
	return ev ? sleep_until(ev, deadline, ready, ctx) : poll_until(deadline, ready, ctx);
}

void mb_event_notify(struct mb_event *ev)
{
	if (!ev)
		return;
	/* Order the caller's state change before the look at sleepers. */
	mb_os_fence_light();
	if (atomic_load_explicit(&ev->sleepers, memory_order_relaxed) == 0)
		return;
	atomic_fetch_add_explicit(&ev->seq, 1, memory_order_release);
	mb_os_wake(&ev->seq);
}
