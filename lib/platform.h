/* SPDX-License-Identifier: MIT */
/*
 * What an operating-system backend provides. platform-posix.c implements it
 * with shm_open/ftruncate/mmap and futexes, platform-win32.c with named
 * file mappings (CreateFileMappingW/MapViewOfFile). Everything else in lib/ is portable C11.
 * All functions return 0 or a negative errno value.
 */
#ifndef MEMBRIDGE_PLATFORM_H
#define MEMBRIDGE_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One mapped named segment. */
struct mb_mapping {
	void *base;
	size_t size;
	unsigned mode;  /* permission bits, for creating companions alike */
	void *os;       /* what the backend keeps open while mapped (Windows:
			 * the section handle, which keeps the name alive) */
};

/* Create `name` (exclusive) with `size` zero bytes and map it. */
int mb_os_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map);
/* Open and map an existing `name`; size 0 means "whatever size it has". */
int mb_os_open(const char *name, size_t size, struct mb_mapping *map);
/* Open `name` if it exists, else create it, with exactly `size` bytes. */
int mb_os_open_or_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map);
void mb_os_unmap(struct mb_mapping *map);
int mb_os_remove(const char *name);

/*
 * Signals during a wait. A library cannot see that a handler ran once it
 * has returned, so a wait blocks the asynchronous signals for the part it
 * runs in user space (mb_os_signals_block, which saves the caller's mask)
 * and lets them through only while it sleeps, in the calls below: a handler
 * that runs then makes them return -EINTR. Windows has no signals to block:
 * mb_os_signals_block notes how many console events (Ctrl-C, Ctrl-Break)
 * came so far, and any later one makes the calls below return -EINTR once
 * the console's handlers have run (platform-win32.c).
 */
#ifdef _WIN32
typedef int mb_sigmask; /* the console events counted when the wait began */
#else
#include <signal.h>
typedef sigset_t mb_sigmask;
#endif
void mb_os_signals_block(mb_sigmask *caller);
void mb_os_signals_restore(const mb_sigmask *caller);

/* With signals blocked: sleep while *word == expected, until the monotonic
 * clock reads until_ns, with the caller's mask. Returns 0 when woken or the
 * value differs, -ETIMEDOUT, or -EINTR when a handler ran. */
int mb_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t until_ns,
	       const mb_sigmask *caller);
/* With signals blocked: sleep until until_ns with the caller's mask,
 * race-free; 0, or -EINTR when a handler ran. */
int mb_os_pause(int64_t until_ns, const mb_sigmask *caller);
/* Wake every process sleeping on word, which the caller has just changed
 * from the value `was` (Windows names the sleepers' kernel object by it). */
void mb_os_wake(_Atomic uint32_t *word, uint32_t was);

/*
 * Doorbells (doorbell.c): a descriptor that becomes readable when another
 * process rings it by its 64-bit address, for poll(2) and event loops.
 * -ENOTSUP where there is none. Ringing never blocks and may be lost only
 * when the doorbell is readable already or gone; a ring at address 0 is
 * nobody's.
 */
int mb_os_doorbell_open(uint64_t *nonce);  /* the descriptor, or -errno */
void mb_os_doorbell_close(int fd);         /* fd < 0: nothing */
void mb_os_doorbell_drain(int fd);         /* make it unreadable again */
/* *sender: the ringer's socket, made on first use (-1 before). */
void mb_os_doorbell_ring(int *sender, uint64_t nonce);
/* With signals blocked: sleep until fd is readable or the monotonic clock
 * reads until_ns, with the caller's mask. 0 when readable, -ETIMEDOUT,
 * -EINTR when a handler ran. */
int mb_os_doorbell_wait(int fd, int64_t until_ns, const mb_sigmask *caller);
/* Which doorbells this process can ring (its network namespace): two
 * processes with the same non-zero scope reach each other's. */
uint64_t mb_os_doorbell_scope(void);

/* Monotonic clock in nanoseconds. */
int64_t mb_os_now_ns(void);
/* This process's id, and whether process `pid` exists. */
int32_t mb_os_pid(void);
bool mb_os_pid_alive(int32_t pid);
/* An id of the pid namespace this process lives in (0 if unknown): pids
 * from another namespace cannot be checked with mb_os_pid_alive(). */
uint32_t mb_os_pid_namespace(void);
/* Sleep for about ns nanoseconds. */
void mb_os_sleep(int64_t ns);
/* Relax the CPU in a spin loop. */
void mb_os_cpu_relax(void);

/*
 * An asymmetric full barrier between processes. mb_os_fence_light() is the
 * frequent side: a full fence, or only a compiler barrier once the kernel
 * has agreed to interrupt this process for mb_os_fence_heavy(), the rare
 * side, which runs a full barrier on every CPU that runs such a process.
 * A light fence pairs with a heavy one (never light with light).
 */
void mb_os_fence_light(void);
void mb_os_fence_heavy(void);

#endif /* MEMBRIDGE_PLATFORM_H */
