/* SPDX-License-Identifier: MIT */
/* Private definitions shared inside lib/. */
#ifndef MEMBRIDGE_INTERNAL_H
#define MEMBRIDGE_INTERNAL_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "membridge.h"
#include "platform.h"

#define MB_CACHELINE 64

/*
 * An event count: waiters sleep on `seq`, and a notifier only makes a system
 * call when `sleepers` says somebody sleeps. Waiters announce themselves,
 * then re-check their condition before sleeping; notifiers change the shared
 * state, then look at `sleepers`. The two sides order their store before
 * their load with an asymmetric fence (platform.h: the waiter pays a heavy
 * one per wait, the notifier a light one per call), so a wake-up is never
 * lost between the check and the sleep.
 */
struct mb_event {
	_Alignas(MB_CACHELINE) _Atomic uint32_t seq;
	_Atomic uint32_t sleepers;
	/* CLOCK_MONOTONIC ns until which a counted sleeper may be asleep: a
	 * sleeper killed in its sleep leaves sleepers raised, but its lease
	 * runs out, and notifiers then make no system call (event.c). */
	_Atomic int64_t lease;
	/* A doorbell (platform.h) its one waiter armed: the next notify that
	 * is given a sender rings it, once per arming. The channel's data
	 * event counts its subscribers' armed doorbells here instead. */
	_Atomic uint32_t armed;
	_Atomic uint64_t bell;
};

enum mb_event_id {
	MB_EVENT_DATA,  /* a ring got a message */
	MB_EVENT_SPACE, /* a ring got free space */
	MB_EVENT_LOCK,  /* a view lock was released */
	MB_EVENT_COUNT
};

/* The companion segment "<name>.membridge-wait", MB_WAITBLOCK_SIZE bytes.
 * All-zero is its initial state; anything a peer scribbles here can only
 * cause spurious or late wake-ups, because waiters sleep in bounded slices,
 * or make a lock waiter take a writer for dead (which a peer able to write
 * here could as well do by writing the lock word itself). */
struct mb_waitblock {
	struct mb_event event[MB_EVENT_COUNT];
	/* The view lock's writer as (pid namespace id << 32) | pid, stored
	 * after taking the lock and cleared before releasing it; 0 if none. */
	_Alignas(MB_CACHELINE) _Atomic uint64_t lock_owner;
	/* The writer that last set MB_RWLOCK_WRITER_WAITING, the same way;
	 * 0 once it took the lock or gave up. */
	_Atomic uint64_t lock_waiter;
};

#define MB_WAITBLOCK_SIZE 4096
_Static_assert(sizeof(struct mb_waitblock) <= MB_WAITBLOCK_SIZE, "wait block fits");

struct membridge_segment {
	_Atomic unsigned refs;
	bool creator;
	_Atomic bool view_initialised; /* the creator's first view_open ran */
	struct mb_mapping map;
	struct mb_mapping companion;   /* guarded by companion_state */
	_Atomic int companion_state;   /* COMPANION_NONE, _OPENING, _MAPPED or _FAILED (segment.c) */
	char name[];
};

/* segment.c */
void mb_segment_ref(struct membridge_segment *seg);
void mb_segment_unref(struct membridge_segment *seg);
/* The segment's wait block, mapped on first use; NULL if it cannot be had
 * (waiters then poll in short slices). */
struct mb_waitblock *mb_segment_waitblock(struct membridge_segment *seg);

/* event.c */
/* A sleeper re-checks on its own after its first slice, then after slices
 * twice as long each time up to a ceiling: 10 ms for the view lock (a dead
 * writer is found that fast), 40 ms for rings (an idle waiter wakes 25
 * times a second, a few microseconds each; a peer that does not know the
 * companion is still served; a signal is delivered within 40 ms). */
#define MB_WAIT_SLICE_NS INT64_C(10000000)
#define MB_LOCK_SLICE_MAX_NS MB_WAIT_SLICE_NS
#define MB_RING_SLICE_MAX_NS (4 * MB_WAIT_SLICE_NS)
/* How far a sleeper's lease reaches beyond the end of its slice (timer
 * slack), and the furthest ahead a lease of this library can be. */
#define MB_LEASE_MARGIN_NS INT64_C(1000000)
#define MB_LEASE_MAX_NS (MB_RING_SLICE_MAX_NS + MB_LEASE_MARGIN_NS)
/* Deadline for timeout_ns from now; INT64_MAX for "forever". */
int64_t mb_deadline(int64_t timeout_ns);
/* The parts of mb_event_wait's slow path, for waits that put them together
 * otherwise; both run with the asynchronous signals blocked
 * (mb_os_signals_block, the caller's mask in sigs). Re-check ready(ctx)
 * for about 20 microseconds, or until the deadline: > 0 or < 0 as ready()
 * said, 0 if it never held. Then sleep on ev until ready or the deadline:
 * 0, -ETIMEDOUT, -EINTR or ready()'s error. */
int mb_event_spin(int64_t deadline, int (*ready)(void *ctx), void *ctx);
int mb_event_sleep(struct mb_event *ev, int64_t deadline, int64_t max_slice_ns,
		   int (*ready)(void *ctx), void *ctx, const mb_sigmask *sigs);
/* Wait on ev (NULL: poll in short sleeps) until ready(ctx) returns non-zero,
 * spinning a few microseconds first, then sleeping in slices that grow up
 * to max_slice_ns.
 * ready() returns > 0 when its condition holds (it may act on it, e.g. take
 * a lock: it is not called again after that), 0 to go on waiting, < 0 to
 * give up with that error. Returns 0 when ready; -EAGAIN if it was not and
 * timeout_ns is MEMBRIDGE_NO_WAIT; -ETIMEDOUT, -EINTR (a signal handler
 * ran while the call waited), or ready()'s error. */
int mb_event_wait(struct mb_event *ev, int64_t timeout_ns, int64_t max_slice_ns,
		  int (*ready)(void *ctx), void *ctx);
/* Wake the sleepers of ev if a live one may sleep (mb_event_notify's slow
 * path: somebody counts as a sleeper). */
void mb_event_wake(struct mb_event *ev);
/* A handle's doorbell (platform.h) for event loops: readable when what its
 * handle waits for may have come. Made on first use. */
struct mb_bell {
	int fd;           /* -1 until made */
	uint64_t address;
	uint64_t scope;   /* the network namespace it was made in: the only one
			   * it can be rung from (mb_os_doorbell_scope) */
	bool armed;       /* armed since it was last emptied */
};
void mb_bell_init(struct mb_bell *b);
/* The descriptor, made on first use; -ENOTSUP where there are none. */
int mb_bell_fd(struct mb_bell *b);
void mb_bell_close(struct mb_bell *b);
/* Empty it if it was armed (it may have rung since). */
void mb_bell_drain(struct mb_bell *b);
/* mb_event_wait for a waiter with a bell: empties the bell first, and when
 * the bell is made and timeout_ns is 0, a call that finds nothing arms it
 * (the next notify makes it readable) before it returns -EAGAIN. */
int mb_event_wait_bell(struct mb_event *ev, struct mb_bell *b, int64_t timeout_ns,
		       int64_t max_slice_ns, int (*ready)(void *ctx), void *ctx);
/* Arm ev's doorbell `bell`: the next notify rings it. The heavy fence
 * orders the arming before the caller's re-check of its condition, against
 * the notifier's light fence. */
void mb_event_arm(struct mb_event *ev, uint64_t bell);
/* Ring ev's doorbell if it is armed, from the socket *sender. */
void mb_event_ring(struct mb_event *ev, int *sender);
/* Wake the sleepers of ev (NULL: nobody), if there are any, and with a
 * sender (NULL: none) ring its doorbell if armed. Call after publishing the
 * state they wait for. Inline: it runs on every publish and unlock, and
 * costs two loads of one line when nobody waits. */
static inline void mb_event_notify(struct mb_event *ev, int *sender)
{
	if (!ev)
		return;
	/* Order the caller's state change before the look at the waiters. */
	mb_os_fence_light();
	if (atomic_load_explicit(&ev->sleepers, memory_order_relaxed) != 0)
		mb_event_wake(ev);
	if (sender && atomic_load_explicit(&ev->armed, memory_order_relaxed) != 0)
		mb_event_ring(ev, sender);
}

/* process.c. A process record is (pid namespace id << 32) | pid: what the
 * companion stores for a view lock's writer and a channel for its
 * publisher and subscribers. */
uint64_t mb_process_record(void);
/* Whether `record` is a process of self's pid namespace known to be gone.
 * 0, self, a record from another namespace (its pid cannot be checked) or
 * one with an impossible pid counts as alive. */
bool mb_process_gone(uint64_t record, uint64_t self);

/* rwlock.c: the view's lock word. Readers count up from 0; a writer stores
 * -pid (a peer's -1 also means "writer"). A writer that waits for readers
 * sets MB_RWLOCK_WRITER_WAITING on top of their count: the word stays
 * positive, so a peer following the plain rules still sees readers, while
 * our readers stay out until that writer has had its turn. */
#define MB_RWLOCK_WRITER_WAITING MEMBRIDGE_VIEW_WRITER_WAITING
struct mb_rwlock {
	_Atomic int32_t *word;
	struct mb_waitblock *wb; /* NULL: no wake-ups, no dead-writer detection */
	int32_t pid;
	uint64_t owner_id;       /* what lock_owner holds while we write */
};

void mb_rwlock_init(struct mb_rwlock *lock, _Atomic int32_t *word, struct mb_waitblock *wb);
int mb_rwlock_read_wait(struct mb_rwlock *lock, int64_t timeout_ns);
/* Take a read lock; uncontended, one compare-and-swap (inline). The one
 * comparison admits 0 <= v < MB_RWLOCK_WRITER_WAITING - 1: no writer, none
 * waiting, the count not at its ceiling. */
static inline int mb_rwlock_read(struct mb_rwlock *lock, int64_t timeout_ns)
{
	int32_t v = atomic_load_explicit(lock->word, memory_order_relaxed);

	if (timeout_ns >= MEMBRIDGE_WAIT_FOREVER &&
	    (uint32_t)v < (uint32_t)MB_RWLOCK_WRITER_WAITING - 1 &&
	    atomic_compare_exchange_strong_explicit(lock->word, &v, v + 1, memory_order_acquire,
						    memory_order_relaxed))
		return 0;
	return mb_rwlock_read_wait(lock, timeout_ns);
}
int mb_rwlock_write(struct mb_rwlock *lock, int64_t timeout_ns);
int mb_rwlock_unlock_read(struct mb_rwlock *lock);
int mb_rwlock_unlock_write(struct mb_rwlock *lock);
int mb_rwlock_break(struct mb_rwlock *lock, unsigned flags);

/* codec.c */
size_t mb_scalar_size(enum membridge_type type);

/* array.c, parts.c: the payload formats of membridge(7). Both headers open
 * with the same 8 bytes: a 4-byte magic, a little-endian uint16 version
 * and a uint16 count (dimensions or parts); their fields are little-endian
 * whatever the machine, read and written byte by byte (a message need not
 * be aligned). */
#define MB_PAYLOAD_PREFIX 8u

static inline uint16_t mb_load_le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint64_t mb_load_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static inline void mb_store_le16(unsigned char *p, uint16_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static inline void mb_store_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Place a span of len bytes at the first MEMBRIDGE_PAYLOAD_ALIGN-aligned
 * offset at or after `at`: *start gets that offset, *end the offset after
 * the span. false if either does not fit in a size_t. */
static inline bool mb_payload_span(size_t at, size_t len, size_t *start, size_t *end)
{
	const size_t mask = MEMBRIDGE_PAYLOAD_ALIGN - 1;

	if (at > SIZE_MAX - mask)
		return false;
	*start = (at + mask) & ~mask;
	if (len > SIZE_MAX - *start)
		return false;
	*end = *start + len;
	return true;
}

/* Whether the n bytes at p are all zero (the padding a reader checks). */
static inline bool mb_payload_zero(const unsigned char *p, size_t n)
{
	while (n--)
		if (*p++)
			return false;
	return true;
}

/* Write the prefix. */
static inline void mb_payload_prefix_write(unsigned char *msg, const char magic[4],
					   uint16_t version, uint16_t count)
{
	memcpy(msg, magic, 4);
	mb_store_le16(msg + 4, version);
	mb_store_le16(msg + 6, count);
}

/* Check the prefix of a len-byte message: `magic`, and a version from 1 to
 * `version`, this library's; *count gets the count. -EBADMSG: too short,
 * another magic, version 0; -EPROTO: a newer version. */
static inline int mb_payload_prefix_read(const unsigned char *msg, size_t len,
					 const char magic[4], uint16_t version, uint16_t *count)
{
	uint16_t v;

	if (len < MB_PAYLOAD_PREFIX || memcmp(msg, magic, 4) != 0)
		return -EBADMSG;
	v = mb_load_le16(msg + 4);
	if (v == 0)
		return -EBADMSG;
	if (v > version)
		return -EPROTO;
	*count = mb_load_le16(msg + 6);
	return 0;
}

#endif /* MEMBRIDGE_INTERNAL_H */
