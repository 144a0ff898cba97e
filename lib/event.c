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

int mb_event_spin(int64_t deadline, int (*ready)(void *ctx), void *ctx)
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

/* Raise ev->lease to `lease`; a value further ahead than any sleeper of
 * this library sets is a peer's scribble and is replaced. */
static void lease_raise(struct mb_event *ev, int64_t now, int64_t lease)
{
	int64_t cur = atomic_load_explicit(&ev->lease, memory_order_relaxed);

	while ((cur < lease || cur - now > MB_LEASE_MAX_NS) &&
	       !atomic_compare_exchange_weak_explicit(&ev->lease, &cur, lease,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/*
 * Sleep on ev until ready(ctx) is non-zero or the deadline passes. The
 * waiter counts itself in ev->sleepers for the whole wait and, before each
 * sleep slice ending at `until`, raises ev->lease to until + margin. The
 * heavy fence orders both stores before the check of the condition, against
 * the light fence of each notifier (store state, fence, load sleepers and
 * lease), so either the check sees the new state or the notifier sees this
 * slice's lease. A notifier skips the wake only when the lease it sees has
 * run out: then the futex sleep of that slice (absolute timeout until) has
 * already ended, and the next slice's check, fenced the same way, sees the
 * state; or when an earlier notifier took this slice's lease (0) and woke
 * it: its seq change, made after seq was read for this slice, ends the
 * slice at once, and the next raises a lease again (seq is read before the
 * raise for this: read after it, that change could be missed and the slice
 * slept without a lease, so that a condition needing several notifiers,
 * every subscriber's release or every reader's unlock, would wait out the
 * slice). So no wake-up is lost; a sleeper killed while asleep stops
 * counting once its lease runs out (its count stays, a load and a clock
 * read per publish, no system call).
 */
static int sleep_until(struct mb_event *ev, int64_t deadline, int64_t max_slice,
		       int (*ready)(void *ctx), void *ctx, const mb_sigmask *sigs)
{
	int64_t next = MB_WAIT_SLICE_NS, now, until;
	uint32_t seq;
	int ret;

	atomic_fetch_add_explicit(&ev->sleepers, 1, memory_order_relaxed);
	for (;;) {
		seq = atomic_load_explicit(&ev->seq, memory_order_acquire);
		now = mb_os_now_ns();
		until = deadline - now < next ? deadline : now + next;
		lease_raise(ev, now, until + MB_LEASE_MARGIN_NS);
		mb_os_fence_heavy();
		ret = ready(ctx);
		if (ret != 0)
			break;
		if (now >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		if (next < max_slice)
			next = next > max_slice / 2 ? max_slice : 2 * next;
		ret = mb_os_wait(&ev->seq, seq, until, sigs);
		if (ret < 0 && ret != -ETIMEDOUT)
			break;
	}
	atomic_fetch_sub_explicit(&ev->sleepers, 1, memory_order_relaxed);
	return ret > 0 ? 0 : ret;
}

/* Without a companion: check, then sleep a short while, until the deadline. */
static int poll_until(int64_t deadline, int (*ready)(void *ctx), void *ctx,
		      const mb_sigmask *sigs)
{
	int64_t now;
	int ret;

	for (;;) {
		ret = ready(ctx);
		if (ret != 0)
			return ret > 0 ? 0 : ret;
		now = mb_os_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		ret = mb_os_pause(deadline - now < MB_POLL_NS ? deadline : now + MB_POLL_NS,
				  sigs);
		if (ret < 0)
			return ret;
	}
}

int mb_event_sleep(struct mb_event *ev, int64_t deadline, int64_t max_slice_ns,
		   int (*ready)(void *ctx), void *ctx, const mb_sigmask *sigs)
{
	int ret = ev ? sleep_until(ev, deadline, max_slice_ns, ready, ctx, sigs)
		     : poll_until(deadline, ready, ctx, sigs);

	return ret > 0 ? 0 : ret;
}

int mb_event_wait(struct mb_event *ev, int64_t timeout_ns, int64_t max_slice_ns,
		  int (*ready)(void *ctx), void *ctx)
{
	mb_sigmask sigs;
	int64_t deadline;
	int ret;

	if (timeout_ns < MEMBRIDGE_WAIT_FOREVER)
		return -EINVAL;
	ret = ready(ctx);
	if (ret != 0)
		return ret > 0 ? 0 : ret;
	if (timeout_ns == 0)
		return -EAGAIN;
	/* The slow path: signals stay blocked except while asleep (platform.h),
	 * so a handler that runs during the wait, spin included, ends it with
	 * -EINTR. */
	deadline = mb_deadline(timeout_ns);
	mb_os_signals_block(&sigs);
	ret = mb_event_spin(deadline, ready, ctx);
	if (ret == 0)
		ret = mb_event_sleep(ev, deadline, max_slice_ns, ready, ctx, &sigs);
	mb_os_signals_restore(&sigs);
	return ret > 0 ? 0 : ret;
}

/* mb_event_notify's slow path: somebody counts as a sleeper; wake only if
 * the lease says a live one may be asleep (see sleep_until). Taking the
 * lease away makes the wake-up once per sleep: until the sleepers raise it
 * again, before they next check their condition, further notifiers make
 * no system call (and those checks see what the notifiers published). */
void mb_event_wake(struct mb_event *ev)
{
	int64_t lease = atomic_load_explicit(&ev->lease, memory_order_relaxed);

	if (lease <= mb_os_now_ns() ||
	    !atomic_compare_exchange_strong_explicit(&ev->lease, &lease, 0, memory_order_relaxed,
						     memory_order_relaxed))
		return;
	mb_os_wake(&ev->seq, atomic_fetch_add_explicit(&ev->seq, 1, memory_order_release));
}

void mb_event_arm(struct mb_event *ev, uint64_t bell)
{
	atomic_store_explicit(&ev->bell, bell, memory_order_relaxed);
	atomic_store_explicit(&ev->armed, 1, memory_order_relaxed);
	mb_os_fence_heavy();
}

void mb_event_ring(struct mb_event *ev, int *sender)
{
	if (atomic_exchange_explicit(&ev->armed, 0, memory_order_acquire))
		mb_os_doorbell_ring(sender, atomic_load_explicit(&ev->bell, memory_order_relaxed));
}

void mb_bell_init(struct mb_bell *b)
{
	b->fd = -1;
	b->address = 0;
	b->scope = 0;
	b->armed = false;
}

int mb_bell_fd(struct mb_bell *b)
{
	int fd;

	if (b->fd < 0) {
		fd = mb_os_doorbell_open(&b->address);
		if (fd < 0)
			return fd;
		b->fd = fd;
		b->scope = mb_os_doorbell_scope();
	}
	return b->fd;
}

void mb_bell_close(struct mb_bell *b)
{
	mb_os_doorbell_close(b->fd);
	mb_bell_init(b);
}

void mb_bell_drain(struct mb_bell *b)
{
	if (b->armed) {
		b->armed = false;
		mb_os_doorbell_drain(b->fd);
	}
}

int mb_event_wait_bell(struct mb_event *ev, struct mb_bell *b, int64_t timeout_ns,
		       int64_t max_slice_ns, int (*ready)(void *ctx), void *ctx)
{
	int ret;

	mb_bell_drain(b);
	ret = mb_event_wait(ev, timeout_ns, max_slice_ns, ready, ctx);
	if (ret != -EAGAIN || b->fd < 0 || !ev)
		return ret;
	mb_event_arm(ev, b->address);
	b->armed = true;
	ret = ready(ctx);
	return ret > 0 ? 0 : ret < 0 ? ret : -EAGAIN;
}
