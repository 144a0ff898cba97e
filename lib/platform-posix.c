/* SPDX-License-Identifier: MIT */
/*
 * POSIX backend: shm_open + ftruncate + mmap. What it uses beyond POSIX is
 * chosen by configure (config.h): on Linux futex waits (MB_HAVE_FUTEX),
 * membarrier fences (MB_HAVE_MEMBARRIER), pid namespaces from /proc
 * (MB_HAVE_PID_NAMESPACES) and O_CLOEXEC on shm_open (MB_HAVE_SHM_CLOEXEC);
 * elsewhere, and with --enable-macos-emulation, the portable paths.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(MB_HAVE_FUTEX) || defined(MB_HAVE_MEMBARRIER)
#include <sys/syscall.h>
#endif
#ifdef MB_HAVE_FUTEX
#include <linux/futex.h>
#endif
#ifdef MB_HAVE_MEMBARRIER
#include <linux/membarrier.h>
#endif

#include "clock.h"
#include "platform.h"

static int map_fd(int fd, size_t size, struct mb_mapping *map)
{
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (base == MAP_FAILED)
		return -errno;
	map->base = base;
	map->size = size;
	return 0;
}

/* shm_open() with close-on-exec: in one step where shm_open takes
 * O_CLOEXEC, else set right after (the descriptor only lives for the call
 * that maps it). */
static int shm_open_cloexec(const char *name, int flags, unsigned mode)
{
#ifdef MB_HAVE_SHM_CLOEXEC
	return shm_open(name, flags | O_CLOEXEC, (mode_t)mode);
#else
	int fd = shm_open(name, flags, (mode_t)mode);

	if (fd >= 0)
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
#endif
}

/* Size and mode of an open descriptor; the size must fit the address space. */
static int fd_stat(int fd, size_t *size, unsigned *mode)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size < 0 || (uintmax_t)st.st_size > SIZE_MAX)
		return -EFBIG;
	*size = (size_t)st.st_size;
	*mode = st.st_mode & 0777;
	return 0;
}

/* Close fd on a path that returns ret: close() must not change the result. */
static int close_then_return(int fd, int ret)
{
	close(fd);
	return ret;
}

int mb_os_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map)
{
	int fd, ret;

	if ((uintmax_t)size > (uintmax_t)INT64_MAX)
		return -EFBIG;
	fd = shm_open_cloexec(name, O_RDWR | O_CREAT | O_EXCL, mode);
	if (fd < 0)
		return -errno;
	/* Apply the requested bits exactly: shm_open honours the umask. */
	if (fchmod(fd, (mode_t)mode) < 0 || ftruncate(fd, (off_t)size) < 0) {
		ret = -errno;
		shm_unlink(name);
		return close_then_return(fd, ret);
	}
	map->mode = mode;
	ret = map_fd(fd, size, map);
	if (ret < 0)
		shm_unlink(name);
	return close_then_return(fd, ret);
}

int mb_os_open(const char *name, size_t size, struct mb_mapping *map)
{
	size_t real;
	int fd, ret;

	fd = shm_open_cloexec(name, O_RDWR, 0);
	if (fd < 0)
		return -errno;
	ret = fd_stat(fd, &real, &map->mode);
	if (ret < 0)
		return close_then_return(fd, ret);
	/* A creator between shm_open and ftruncate shows size 0. */
	if (real == 0)
		return close_then_return(fd, -EAGAIN);
	if (size != 0 && size != real)
		return close_then_return(fd, -EINVAL);
	return close_then_return(fd, map_fd(fd, real, map));
}

int mb_os_open_or_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map)
{
	size_t real;
	int fd, ret;

	fd = shm_open_cloexec(name, O_RDWR | O_CREAT, mode);
	if (fd < 0)
		return -errno;
	ret = fd_stat(fd, &real, &map->mode);
	if (ret == 0 && real == 0) {
		/* New, or a racing creator: both set the same size and mode.
		 * macOS sizes a shm object once: the second ftruncate fails
		 * with EINVAL, and then the size is the racer's. */
		(void)fchmod(fd, (mode_t)mode);
		if (ftruncate(fd, (off_t)size) < 0) {
			ret = -errno;
			if (ret == -EINVAL && fd_stat(fd, &real, &map->mode) == 0 && real == size)
				ret = 0;
		}
	} else if (ret == 0 && real != size) {
		ret = -EINVAL;
	}
	if (ret < 0)
		return close_then_return(fd, ret);
	return close_then_return(fd, map_fd(fd, size, map));
}

void mb_os_unmap(struct mb_mapping *map)
{
	if (map->base)
		munmap(map->base, map->size);
	map->base = NULL;
}

int mb_os_remove(const char *name)
{
	return shm_unlink(name) < 0 ? -errno : 0;
}

int64_t mb_os_now_ns(void)
{
	return mb_clock_ns();
}

/* The asynchronous signals a handler may catch: all but those the kernel
 * raises synchronously for a fault (blocking them would kill instead). */
static void async_signals(sigset_t *set)
{
	static const int sync_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP,
					    SIGSYS, SIGABRT };
	size_t i;

	sigfillset(set);
	for (i = 0; i < sizeof(sync_signals) / sizeof(sync_signals[0]); i++)
		sigdelset(set, sync_signals[i]);
}

void mb_os_signals_block(mb_sigmask *caller)
{
	sigset_t set;

	async_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, caller);
}

void mb_os_signals_restore(const mb_sigmask *caller)
{
	pthread_sigmask(SIG_SETMASK, caller, NULL);
}

static struct timespec ns_timespec(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	return ts;
}

/* pselect() sets the caller's mask and sleeps in one step, so a signal
 * pending from the user-space part of the wait, or arriving during the
 * sleep, runs its handler and ends the call with EINTR: no window. */
int mb_os_pause(int64_t until_ns, const mb_sigmask *caller)
{
	int64_t left = until_ns - mb_os_now_ns();
	struct timespec ts = ns_timespec(left > 0 ? left : 0);

	if (pselect(0, NULL, NULL, NULL, &ts, caller) < 0 && errno == EINTR)
		return -EINTR;
	return 0;
}

#ifdef MB_HAVE_FUTEX
int mb_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t until_ns,
	       const mb_sigmask *caller)
{
	struct timespec zero = { 0, 0 }, ts = ns_timespec(until_ns);
	long r;
	int err;

	/* A futex sleep cannot set the signal mask atomically, and unblocking
	 * around it leaves windows (before the call, and between its end and
	 * blocking again: a signal with the same period as the slices falls
	 * there every time). So it sleeps with signals blocked, and a zero
	 * pselect() with the caller's mask delivers what is pending and tells
	 * whether a handler ran, before and after the sleep: no window, and a
	 * handler ends the wait within one slice. */
	if (pselect(0, NULL, NULL, NULL, &zero, caller) < 0 && errno == EINTR)
		return -EINTR;
	/* Not FUTEX_PRIVATE: the word lives in memory shared between processes.
	 * WAIT_BITSET takes an absolute CLOCK_MONOTONIC time (event.c's lease
	 * relies on the sleep ending by until_ns). */
	r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_BITSET, expected, &ts, NULL,
		    FUTEX_BITSET_MATCH_ANY);
	err = errno;
	if (pselect(0, NULL, NULL, NULL, &zero, caller) < 0 && errno == EINTR)
		return -EINTR;
	if (r == 0)
		return 0;
	switch (err) {
	case EAGAIN: /* the word had already changed */
		return 0;
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	default:
		return -err;
	}
}

void mb_os_wake(_Atomic uint32_t *word, uint32_t was)
{
	(void)was;
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}
#else
/* No futex: sleep in short slices; wakers need do nothing. */
int mb_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t until_ns,
	       const mb_sigmask *caller)
{
	int64_t slice_end = mb_os_now_ns() + 200000;

	if (atomic_load_explicit(word, memory_order_acquire) != expected)
		return 0;
	return mb_os_pause(until_ns < slice_end ? until_ns : slice_end, caller);
}

void mb_os_wake(_Atomic uint32_t *word, uint32_t was)
{
	(void)word;
	(void)was;
}
#endif

int32_t mb_os_pid(void)
{
	return (int32_t)getpid();
}

bool mb_os_pid_alive(int32_t pid)
{
	/* EPERM: it exists but belongs to another user. */
	return kill((pid_t)pid, 0) == 0 || errno != ESRCH;
}

uint32_t mb_os_pid_namespace(void)
{
#ifdef MB_HAVE_PID_NAMESPACES
	struct stat st;

	return stat("/proc/self/ns/pid", &st) == 0 ? (uint32_t)st.st_ino : 0;
#else
	return 0;
#endif
}

void mb_os_sleep(int64_t ns)
{
	struct timespec ts = ns_timespec(ns);

	nanosleep(&ts, NULL);
}

void mb_os_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#if defined(MB_HAVE_MEMBARRIER) && defined(SYS_membarrier)
/* 0: not asked yet, 1: registered for expedited global barriers, -1: no. */
static _Atomic int fence_state;

/* A child of fork() is another process: it registers again. */
static void fence_forget(void)
{
	atomic_store_explicit(&fence_state, 0, memory_order_relaxed);
}

static void fence_setup_once(void)
{
	pthread_atfork(NULL, NULL, fence_forget);
}

static void fence_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (atomic_load_explicit(&fence_state, memory_order_relaxed) < 0)
		return;
	pthread_once(&once, fence_setup_once);
	atomic_store_explicit(&fence_state,
			      syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED,
				      0, 0) == 0 ? 1 : -1,
			      memory_order_relaxed);
}

void mb_os_fence_light(void)
{
	if (atomic_load_explicit(&fence_state, memory_order_relaxed) > 0) {
		atomic_signal_fence(memory_order_seq_cst);
		return;
	}
	/* Not registered: a full fence, also on the call that registers, since
	 * a heavy fence that ran before the registration missed this process. */
	fence_register();
	atomic_thread_fence(memory_order_seq_cst);
}

void mb_os_fence_heavy(void)
{
	atomic_thread_fence(memory_order_seq_cst);
	/* Fails only where no process could register: they all use fences. */
	syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0);
}
#else
void mb_os_fence_light(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

void mb_os_fence_heavy(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}
#endif
