/* SPDX-License-Identifier: MIT */
/*
 * The cross-process reader-writer lock on a view's 4-byte lock word
 * (membridge(7)): 0 free, N > 0 readers, negative a writer. This library's
 * writers store -pid, and record (pid namespace, pid) in the companion
 * segment, so that a waiter can tell a dead writer from a slow one; a peer
 * that stores -1 still excludes and is excluded correctly, but its death
 * cannot be detected.
 *
 * A writer kept out by readers sets MB_RWLOCK_WRITER_WAITING and records
 * itself in lock_waiter; our readers then wait until it took the lock and
 * left (a steady stream of readers cannot keep it out), unless its process
 * is gone or the bit has held them for WAITER_MAX_NS, and then they clear
 * it: a writer that died or was stopped while waiting, or a bit nobody
 * recorded, blocks nobody for long. A waiting writer puts the bit back on
 * its next look.
 */
#include "config.h"

#include <errno.h>

#include "internal.h"

/* How often a waiter asks whether the writer's process still exists. */
#define OWNER_CHECK_NS INT64_C(1000000)
/* How long a reader honours a writer-waiting bit whose setter it cannot
 * find gone: far beyond the read sections that keep a live writer out. */
#define WAITER_MAX_NS (5 * MB_WAIT_SLICE_NS)
#define WAITING MB_RWLOCK_WRITER_WAITING

void mb_rwlock_init(struct mb_rwlock *lock, _Atomic int32_t *word, struct mb_waitblock *wb)
{
	lock->word = word;
	lock->wb = wb;
	lock->pid = mb_os_pid();
	lock->owner_id = mb_process_record();
}

static struct mb_event *lock_event(const struct mb_rwlock *lock)
{
	return lock->wb ? &lock->wb->event[MB_EVENT_LOCK] : NULL;
}

/* Whether writer v is a process of our namespace known to be gone. Only a
 * writer whose companion record matches the lock word can be judged: -1, a
 * writer from another pid namespace, or one that died before recording
 * itself counts as alive. */
static bool writer_dead(const struct mb_rwlock *lock, int32_t v)
{
	uint64_t record, expected;

	if (v >= 0 || v == -1 || v == INT32_MIN || v == -lock->pid || !lock->wb)
		return false;
	record = atomic_load_explicit(&lock->wb->lock_owner, memory_order_acquire);
	expected = (lock->owner_id & ~(uint64_t)UINT32_MAX) | (uint32_t)-v;
	return record == expected && !mb_os_pid_alive(-v);
}

/* Whether the writer recorded in lock_waiter is a process of our namespace
 * known to be gone (no record, or one we cannot judge, counts as alive). */
static bool waiter_dead(const struct mb_rwlock *lock)
{
	return lock->wb && mb_process_gone(atomic_load_explicit(&lock->wb->lock_waiter,
								memory_order_relaxed),
					   lock->owner_id);
}

struct lock_wait {
	struct mb_rwlock *lock;
	int32_t last_owner; /* the writer last checked, and when to look again */
	int64_t next_check;
	int64_t waiting_since; /* reader: when it first found the bit, 0 if not */
	int64_t next_waiter_check;
};

/* 0 while the writer v may be alive, -EOWNERDEAD once its process is gone. */
static int check_owner(struct lock_wait *w, int32_t v)
{
	int64_t now = mb_os_now_ns();

	if (v == w->last_owner && now < w->next_check)
		return 0;
	w->last_owner = v;
	w->next_check = now + OWNER_CHECK_NS;
	return writer_dead(w->lock, v) ? -EOWNERDEAD : 0;
}

/* Whether a reader should stop honouring the writer-waiting bit. */
static bool waiter_stale(struct lock_wait *w)
{
	int64_t now = mb_os_now_ns();

	if (!w->waiting_since)
		w->waiting_since = now;
	if (now - w->waiting_since >= WAITER_MAX_NS)
		return true;
	if (now < w->next_waiter_check)
		return false;
	w->next_waiter_check = now + OWNER_CHECK_NS;
	return waiter_dead(w->lock);
}

static int try_read(void *ctx)
{
	struct lock_wait *w = ctx;
	int32_t v = atomic_load_explicit(w->lock->word, memory_order_relaxed);

	while (v >= 0) {
		if (v & WAITING) {
			if (!waiter_stale(w))
				return 0;
			if (atomic_compare_exchange_weak_explicit(w->lock->word, &v, v & ~WAITING,
								  memory_order_relaxed,
								  memory_order_relaxed))
				v &= ~WAITING;
			continue;
		}
		if (v == WAITING - 1)
			return 0;
		if (atomic_compare_exchange_weak_explicit(w->lock->word, &v, v + 1,
							  memory_order_acquire,
							  memory_order_relaxed))
			return 1;
	}
	return check_owner(w, v);
}

/* Record ourselves as the waiting writer and set the bit (readers hold the
 * lock: v > 0). Without a wait block nobody could tell our death, so we do
 * not ask readers to wait for us. */
static void announce(struct mb_rwlock *lock, int32_t v)
{
	if (!lock->wb)
		return;
	if (atomic_load_explicit(&lock->wb->lock_waiter, memory_order_relaxed) != lock->owner_id)
		atomic_store_explicit(&lock->wb->lock_waiter, lock->owner_id,
				      memory_order_relaxed);
	while (v > 0 && !(v & WAITING) &&
	       !atomic_compare_exchange_weak_explicit(lock->word, &v, v | WAITING,
						      memory_order_relaxed, memory_order_relaxed))
		;
}

/* Our writer leaves the waiter record (it took the lock or gave up); on
 * giving up it also clears the bit it may have set, and wakes the readers
 * that wait for it. Another waiting writer sets both again. */
static void withdraw(struct mb_rwlock *lock, bool gave_up)
{
	uint64_t self = lock->owner_id;
	int32_t v;

	if (!lock->wb || !atomic_compare_exchange_strong_explicit(&lock->wb->lock_waiter, &self, 0,
								  memory_order_relaxed,
								  memory_order_relaxed) ||
	    !gave_up)
		return;
	v = atomic_load_explicit(lock->word, memory_order_relaxed);
	while (v > 0 && (v & WAITING) &&
	       !atomic_compare_exchange_weak_explicit(lock->word, &v, v & ~WAITING,
						      memory_order_relaxed, memory_order_relaxed))
		;
	mb_event_notify(lock_event(lock), NULL);
}

/* A plain peer's writer takes only 0; ours also takes a word that holds
 * nothing but the writer-waiting bit. */
static int try_write(void *ctx)
{
	struct lock_wait *w = ctx;
	struct mb_rwlock *lock = w->lock;
	int32_t v = atomic_load_explicit(lock->word, memory_order_relaxed);

	if ((v == 0 || v == WAITING) &&
	    atomic_compare_exchange_strong_explicit(lock->word, &v, -lock->pid,
						    memory_order_acquire, memory_order_relaxed)) {
		if (lock->wb)
			atomic_store_explicit(&lock->wb->lock_owner, lock->owner_id,
					      memory_order_release);
		return 1;
	}
	if (v < 0)
		return check_owner(w, v);
	if (v > 0)
		announce(lock, v);
	return 0;
}

static int take(struct mb_rwlock *lock, int64_t timeout_ns, int (*try)(void *ctx))
{
	struct lock_wait w = { .lock = lock };

	return mb_event_wait(lock_event(lock), timeout_ns, MB_LOCK_SLICE_MAX_NS, try, &w);
}

int mb_rwlock_read_wait(struct mb_rwlock *lock, int64_t timeout_ns)
{
	return take(lock, timeout_ns, try_read);
}

/* Uncontended, one compare-and-swap before any wait is set up (the read
 * side's fast path is mb_rwlock_read() in internal.h). */
int mb_rwlock_write(struct mb_rwlock *lock, int64_t timeout_ns)
{
	struct lock_wait w = { .lock = lock };
	int ret;

	if (timeout_ns >= MEMBRIDGE_WAIT_FOREVER && try_write(&w) > 0)
		return 0;
	ret = take(lock, timeout_ns, try_write);
	withdraw(lock, ret < 0);
	return ret;
}

int mb_rwlock_unlock_read(struct mb_rwlock *lock)
{
	int32_t v = atomic_load_explicit(lock->word, memory_order_relaxed);

	do {
		if (v <= 0 || v == WAITING) /* reset or taken over behind our back */
			return -EBADMSG;
	} while (!atomic_compare_exchange_weak_explicit(lock->word, &v, v - 1,
							memory_order_release,
							memory_order_relaxed));
	if ((v & ~WAITING) == 1)
		mb_event_notify(lock_event(lock), NULL);
	return 0;
}

int mb_rwlock_unlock_write(struct mb_rwlock *lock)
{
	int32_t self = -lock->pid;

	if (atomic_load_explicit(lock->word, memory_order_relaxed) != self)
		return -EBADMSG;
	if (lock->wb)
		atomic_store_explicit(&lock->wb->lock_owner, 0, memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(lock->word, &self, 0, memory_order_release,
						     memory_order_relaxed))
		return -EBADMSG;
	mb_event_notify(lock_event(lock), NULL);
	return 0;
}

int mb_rwlock_break(struct mb_rwlock *lock, unsigned flags)
{
	int32_t v = atomic_load_explicit(lock->word, memory_order_acquire);

	if (v == 0)
		return 0;
	if (!(flags & MEMBRIDGE_BREAK_FORCE) && v != WAITING) {
		if (v > 0 || v == -1 || v == INT32_MIN)
			return -EPERM;
		if (v == -lock->pid || mb_os_pid_alive(-v))
			return -EBUSY;
		if (!writer_dead(lock, v))
			return -EPERM; /* cannot tell: another pid namespace, say */
		if (!atomic_compare_exchange_strong_explicit(lock->word, &v, 0,
							     memory_order_acq_rel,
							     memory_order_relaxed))
			return -EBUSY;
	} else {
		atomic_store_explicit(lock->word, 0, memory_order_release);
	}
	if (lock->wb)
		atomic_store_explicit(&lock->wb->lock_owner, 0, memory_order_relaxed);
	mb_event_notify(lock_event(lock), NULL);
	return 0;
}
