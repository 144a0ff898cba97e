/* SPDX-License-Identifier: MIT */
/*
 * The cross-process reader-writer lock on a view's 4-byte lock word
 * (membridge(7)): 0 free, N > 0 readers, negative a writer. This library's
 * writers store -pid so that a waiter can tell a dead writer from a slow
 * one; a peer that stores -1 still excludes and is excluded correctly.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"

/* How often a waiter asks whether the writer's process still exists. */
#define OWNER_CHECK_NS INT64_C(1000000)

struct lock_wait {
	_Atomic int32_t *word;
	int32_t self;        /* what this writer stores: -pid */
	int32_t last_owner;  /* the writer last checked */
	int64_t next_check;
};

static bool anonymous_writer(int32_t v)
{
	return v == -1 || v == INT32_MIN;
}

/* 0 while the writer v may be alive, -EOWNERDEAD once its process is gone. */
static int check_owner(struct lock_wait *w, int32_t v)
{
	int64_t now;

	if (anonymous_writer(v) || v == w->self)
		return 0;
	now = mb_os_now_ns();
	if (v == w->last_owner && now < w->next_check)
		return 0;
	w->last_owner = v;
	w->next_check = now + OWNER_CHECK_NS;
	return mb_os_pid_alive(-v) ? 0 : -EOWNERDEAD;
}

static int try_read(void *ctx)
{
	struct lock_wait *w = ctx;
	int32_t v = atomic_load_explicit(w->word, memory_order_relaxed);

	while (v >= 0) {
		if (v == INT32_MAX)
			return 0;
		if (atomic_compare_exchange_weak_explicit(w->word, &v, v + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return 1;
	}
	return check_owner(w, v);
}

static int try_write(void *ctx)
{
	struct lock_wait *w = ctx;
	int32_t v = 0;

	if (atomic_compare_exchange_strong_explicit(w->word, &v, w->self, memory_order_acquire,
						    memory_order_relaxed))
		return 1;
	return v < 0 ? check_owner(w, v) : 0;
}

static int lock(_Atomic int32_t *word, struct mb_event *ev, int64_t timeout_ns,
		int (*try)(void *ctx))
{
	struct lock_wait w = { .word = word, .self = -mb_os_pid() };
	int ret = try(&w);

	if (ret != 0)
		return ret > 0 ? 0 : ret;
	if (timeout_ns == 0)
		return -EAGAIN;
	return mb_event_wait(ev, mb_deadline(timeout_ns), try, &w);
}

int mb_rwlock_read(_Atomic int32_t *word, struct mb_event *ev, int64_t timeout_ns)
{
	return lock(word, ev, timeout_ns, try_read);
}

int mb_rwlock_write(_Atomic int32_t *word, struct mb_event *ev, int64_t timeout_ns)
{
	return lock(word, ev, timeout_ns, try_write);
}

int mb_rwlock_unlock_read(_Atomic int32_t *word, struct mb_event *ev)
{
	int32_t v = atomic_load_explicit(word, memory_order_relaxed);

	do {
		if (v <= 0) /* reset or taken over behind our back */
			return -EBADMSG;
	} while (!atomic_compare_exchange_weak_explicit(word, &v, v - 1, memory_order_release,
							memory_order_relaxed));
	if (v == 1)
		mb_event_notify(ev);
	return 0;
}

int mb_rwlock_unlock_write(_Atomic int32_t *word, struct mb_event *ev)
{
	int32_t self = -mb_os_pid();

	if (!atomic_compare_exchange_strong_explicit(word, &self, 0, memory_order_release,
						     memory_order_relaxed))
		return -EBADMSG;
	mb_event_notify(ev);
	return 0;
}

int mb_rwlock_break(_Atomic int32_t *word, struct mb_event *ev, unsigned flags)
{
	int32_t v = atomic_load_explicit(word, memory_order_acquire);

	if (v == 0)
		return 0;
	if (!(flags & MEMBRIDGE_BREAK_FORCE)) {
		if (v > 0 || anonymous_writer(v))
			return -EPERM;
		if (v == -mb_os_pid() || mb_os_pid_alive(-v))
			return -EBUSY;
		if (!atomic_compare_exchange_strong_explicit(word, &v, 0, memory_order_acq_rel,
							     memory_order_relaxed))
			return -EBUSY;
	} else {
		atomic_store_explicit(word, 0, memory_order_release);
	}
	mb_event_notify(ev);
	return 0;
}
