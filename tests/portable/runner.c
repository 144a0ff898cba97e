/* SPDX-License-Identifier: MIT */
/*
 * The portable test runner: one table of cases run the same on Linux (make
 * check) and on Windows (make check-windows, under wine), without Check.
 * Segments, views, locks, rings, channels, and between two real processes a
 * ring stream, a channel stream, a lock and the wake-up delay of a blocked
 * pop: the runner starts itself again as the child ("child-ring NAME
 * COUNT", "child-channel ...", "child-lock NAME", "child-wake NAME COUNT"),
 * with fork + exec on POSIX and CreateProcess on Windows.
 *
 *   runner            run every case, one "PASS:"/"FAIL:" line each
 *   runner CASE...    run only the cases named
 * Exit status 0 when every case passed, 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <limits.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <membridge.h>

#include "clock.h"

#define MS INT64_C(1000000)

/* Child processes give up after this long, so a broken peer cannot hang. */
#define CHILD_TIMEOUT_NS (30000 * MS)

static int failures; /* checks failed in the current case */

#define CHECK(cond) check_at((cond), #cond, __FILE__, __LINE__)
#define CHECK_RET(call, want) check_ret_at((call), (want), #call, __FILE__, __LINE__)
#define CHECK_OK(call) CHECK_RET(call, 0)

static bool check_at(bool ok, const char *what, const char *file, int line)
{
	if (!ok) {
		fprintf(stderr, "  %s:%d: check failed: %s\n", file, line, what);
		failures++;
	}
	return ok;
}

static bool check_ret_at(int got, int want, const char *what, const char *file, int line)
{
	if (got != want) {
		fprintf(stderr, "  %s:%d: %s returned %d (%s), expected %d (%s)\n", file, line,
			what, got, membridge_strerror(got), want, membridge_strerror(want));
		failures++;
	}
	return got == want;
}

/* ------------------------------------------------------------ platform */

static long self_pid(void)
{
#ifdef _WIN32
	return (long)GetCurrentProcessId();
#else
	return (long)getpid();
#endif
}

/* A fresh name "/mbp-<pid>-<n>", unique in this run. */
static const char *new_name(char buf[64])
{
	static unsigned n;

	snprintf(buf, 64, "/mbp-%ld-%u", self_pid(), ++n);
	return buf;
}

/* Run this program again with args; returns its exit status, or -1. */
static int run_self(const char *const args[])
{
#ifdef _WIN32
	char path[MAX_PATH], cmd[1024];
	STARTUPINFOA si;
	PROCESS_INFORMATION pi;
	DWORD status = 1;
	size_t used;

	if (GetModuleFileNameA(NULL, path, sizeof(path)) >= sizeof(path))
		return -1;
	used = (size_t)snprintf(cmd, sizeof(cmd), "\"%s\"", path);
	for (; *args && used < sizeof(cmd); args++)
		used += (size_t)snprintf(cmd + used, sizeof(cmd) - used, " %s", *args);
	if (used >= sizeof(cmd))
		return -1;
	memset(&si, 0, sizeof(si));
	si.cb = sizeof(si);
	if (!CreateProcessA(path, cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si, &pi))
		return -1;
	CloseHandle(pi.hThread);
	if (WaitForSingleObject(pi.hProcess, (DWORD)(2 * CHILD_TIMEOUT_NS / MS)) != WAIT_OBJECT_0) {
		TerminateProcess(pi.hProcess, 99);
		WaitForSingleObject(pi.hProcess, INFINITE);
	}
	GetExitCodeProcess(pi.hProcess, &status);
	CloseHandle(pi.hProcess);
	return (int)status;
#else
	char path[PATH_MAX];
	const char *argv[8];
	ssize_t len = readlink("/proc/self/exe", path, sizeof(path) - 1);
	size_t i;
	pid_t pid;
	int status;

	if (len <= 0)
		return -1;
	path[len] = '\0';
	argv[0] = path;
	for (i = 1; i < sizeof(argv) / sizeof(argv[0]) - 1 && args[i - 1]; i++)
		argv[i] = args[i - 1];
	argv[i] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		execv(path, (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
#endif
}

/* ------------------------------------------------------------ segments */

static void test_segment_create_open(void)
{
	struct membridge_segment *a = NULL, *b = NULL;
	char name[64];
	unsigned char *pa, *pb;
	size_t i;

	new_name(name);
	if (!CHECK_OK(membridge_segment_create(name, 10000, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &a)))
		return;
	CHECK(membridge_segment_is_creator(a));
	CHECK(membridge_segment_size(a) == 10000);
	CHECK(strcmp(membridge_segment_name(a), name) == 0);
	pa = membridge_segment_data(a);
	for (i = 0; i < 10000 && pa[i] == 0; i++)
		;
	CHECK(i == 10000);
	if (CHECK_OK(membridge_segment_open(name, 10000, &b))) {
		CHECK(!membridge_segment_is_creator(b));
		pb = membridge_segment_data(b);
		memcpy(pa + 9990, "membridge", 10);
		CHECK(memcmp(pb + 9990, "membridge", 10) == 0);
		pb[0] = 42;
		CHECK(pa[0] == 42);
		membridge_segment_close(b);
	}
	membridge_segment_close(a);
	CHECK_OK(membridge_segment_remove(name));
}

static void test_segment_errors(void)
{
	struct membridge_segment *a = NULL, *b = NULL;
	char name[64], missing[64];

	new_name(name);
	new_name(missing);
	CHECK_RET(membridge_segment_open(missing, 4096, &b), -ENOENT);
	CHECK_RET(membridge_segment_create("noslash", 64, 0, 0, &b), -EINVAL);
	CHECK_RET(membridge_segment_create("/a/b", 64, 0, 0, &b), -EINVAL);
	CHECK_RET(membridge_segment_create(name, 0, 0, 0, &b), -EINVAL);
	if (!CHECK_OK(membridge_segment_create(name, 8192, 0, 0, &a)))
		return;
	CHECK_RET(membridge_segment_create(name, 8192, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &b), -EEXIST);
	/* A size that is off by whole pages is caught on every platform. */
	CHECK_RET(membridge_segment_open(name, 100, &b), -EINVAL);
	CHECK_RET(membridge_segment_open(name, 65536, &b), -EINVAL);
	if (CHECK_OK(membridge_segment_create(name, 8192, 0, MEMBRIDGE_CREATE_ATTACH, &b))) {
		CHECK(!membridge_segment_is_creator(b));
		membridge_segment_close(b);
	}
	membridge_segment_close(a);
	CHECK_OK(membridge_segment_remove(name));
}

/* ------------------------------------------------------------ views */

struct view_fixture {
	char name[64];
	struct membridge_segment *seg;
	struct membridge_view *view;
};

static bool view_setup(struct view_fixture *f, size_t size)
{
	new_name(f->name);
	f->view = NULL;
	if (!CHECK_OK(membridge_segment_create(f->name, size, 0, 0, &f->seg)))
		return false;
	if (!CHECK_OK(membridge_view_open(f->seg, &f->view))) {
		membridge_segment_close(f->seg);
		membridge_segment_remove(f->name);
		return false;
	}
	return true;
}

static void view_teardown(struct view_fixture *f)
{
	membridge_view_close(f->view);
	membridge_segment_close(f->seg);
	CHECK_OK(membridge_segment_remove(f->name));
}

static void test_view_values(void)
{
	struct view_fixture f;
	struct membridge_value in[4], out;
	char buf[32];

	if (!view_setup(&f, 256))
		return;
	CHECK(membridge_view_size(f.view) == 252);
	in[0].type = MEMBRIDGE_I64;
	in[0].as.i64 = -1234567890123;
	in[1].type = MEMBRIDGE_F64;
	in[1].as.f64 = 3.25;
	in[2].type = MEMBRIDGE_STR;
	in[2].as.buf.ptr = "héllo";
	in[2].as.buf.len = strlen("héllo");
	in[3].type = MEMBRIDGE_BOOL;
	in[3].as.b = true;
	CHECK_OK(membridge_view_write(f.view, 10, in, 4));
	CHECK_OK(membridge_view_read(f.view, 10, MEMBRIDGE_I64, &out, NULL, 0));
	CHECK(out.as.i64 == -1234567890123);
	CHECK_OK(membridge_view_read(f.view, 18, MEMBRIDGE_F64, &out, NULL, 0));
	CHECK(out.as.f64 == 3.25);
	CHECK_OK(membridge_view_read(f.view, 26, MEMBRIDGE_STR, &out, buf, sizeof(buf)));
	CHECK(out.as.buf.len == strlen("héllo") && memcmp(buf, "héllo", out.as.buf.len) == 0);
	CHECK_RET(membridge_view_read(f.view, 26, MEMBRIDGE_STR, &out, buf, 2), -ENOBUFS);
	CHECK_OK(membridge_view_read(f.view, 36, MEMBRIDGE_BOOL, &out, NULL, 0));
	CHECK(out.as.b);
	/* The cursor: reads at MEMBRIDGE_CURSOR advance it. */
	CHECK_OK(membridge_view_seek(f.view, 10));
	CHECK_OK(membridge_view_read(f.view, MEMBRIDGE_CURSOR, MEMBRIDGE_I64, &out, NULL, 0));
	CHECK(membridge_view_tell(f.view) == 18);
	CHECK_RET(membridge_view_seek(f.view, 253), -ERANGE);
	view_teardown(&f);
}

static void test_view_bytes_zero(void)
{
	struct view_fixture f;
	unsigned char buf[64];
	size_t i;

	if (!view_setup(&f, 68))
		return;
	memset(buf, 0xab, sizeof(buf));
	CHECK_OK(membridge_view_write_bytes(f.view, 0, buf, 64));
	CHECK_RET(membridge_view_write_bytes(f.view, 1, buf, 64), -ERANGE);
	CHECK_RET(membridge_view_read_bytes(f.view, 60, buf, 5), -ERANGE);
	memset(buf, 0, sizeof(buf));
	CHECK_OK(membridge_view_read_bytes(f.view, 0, buf, 64));
	for (i = 0; i < 64 && buf[i] == 0xab; i++)
		;
	CHECK(i == 64);
	CHECK_OK(membridge_view_zero(f.view));
	CHECK_OK(membridge_view_read_bytes(f.view, 0, buf, 64));
	for (i = 0; i < 64 && buf[i] == 0; i++)
		;
	CHECK(i == 64);
	view_teardown(&f);
}

/* ------------------------------------------------------------ locks */

static void test_lock(void)
{
	struct view_fixture f;
	struct membridge_segment *seg2;
	struct membridge_view *peer;
	int64_t t0, waited;

	if (!view_setup(&f, 128))
		return;
	if (!CHECK_OK(membridge_segment_open(f.name, 128, &seg2))) {
		view_teardown(&f);
		return;
	}
	if (CHECK_OK(membridge_view_open(seg2, &peer))) {
		CHECK_RET(membridge_view_unlock(f.view), -ENOLCK);
		CHECK_OK(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT));
		CHECK(membridge_view_is_write_locked(peer));
		CHECK_RET(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EDEADLK);
		CHECK_RET(membridge_view_lock_read(peer, MEMBRIDGE_NO_WAIT), -EAGAIN);
		t0 = mb_clock_ns();
		CHECK_RET(membridge_view_lock_read(peer, 50 * MS), -ETIMEDOUT);
		waited = mb_clock_ns() - t0;
		CHECK(waited >= 40 * MS && waited < 5000 * MS);
		/* A live writer is not broken without force. */
		CHECK_RET(membridge_view_break_lock(peer, 0), -EBUSY);
		CHECK_OK(membridge_view_unlock(f.view));
		CHECK(!membridge_view_is_write_locked(peer));
		CHECK_OK(membridge_view_lock_read(peer, MEMBRIDGE_NO_WAIT));
		CHECK_OK(membridge_view_lock_read(f.view, MEMBRIDGE_NO_WAIT));
		CHECK(membridge_view_reader_count(f.view) == 2);
		CHECK_RET(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EDEADLK);
		CHECK_OK(membridge_view_unlock(f.view));
		CHECK_RET(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT), -EAGAIN);
		CHECK_OK(membridge_view_unlock(peer));
		CHECK(membridge_view_reader_count(f.view) == 0);
		membridge_view_close(peer);
	}
	membridge_segment_close(seg2);
	view_teardown(&f);
}

/* ------------------------------------------------------------ rings */

struct ring_fixture {
	char name[64];
	struct membridge_segment *seg;
	struct membridge_spsc *ring;
};

static bool ring_setup(struct ring_fixture *f, size_t capacity)
{
	new_name(f->name);
	if (!CHECK_OK(membridge_segment_create(f->name, MEMBRIDGE_SPSC_HEADER + capacity, 0, 0,
					       &f->seg)))
		return false;
	if (!CHECK_OK(membridge_spsc_open(f->seg, &f->ring))) {
		membridge_segment_close(f->seg);
		membridge_segment_remove(f->name);
		return false;
	}
	return true;
}

static void ring_teardown(struct ring_fixture *f)
{
	membridge_spsc_close(f->ring);
	membridge_segment_close(f->seg);
	CHECK_OK(membridge_segment_remove(f->name));
}

static void test_ring_fifo(void)
{
	struct ring_fixture f;
	const char *msgs[] = { "alpha", "bravo", "", "charlie" };
	char buf[16];
	size_t i, len, used, free_bytes;

	if (!ring_setup(&f, 256))
		return;
	CHECK(membridge_spsc_capacity(f.ring) == 256);
	CHECK(membridge_spsc_is_empty(f.ring) == 1);
	CHECK_RET(membridge_spsc_pop(f.ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT), -EAGAIN);
	for (i = 0; i < 4; i++)
		CHECK_OK(membridge_spsc_push(f.ring, msgs[i], strlen(msgs[i]), MEMBRIDGE_NO_WAIT));
	CHECK_OK(membridge_spsc_used(f.ring, &used));
	CHECK_OK(membridge_spsc_space(f.ring, &free_bytes));
	CHECK(used >= 4 * MEMBRIDGE_SPSC_FRAME_HEADER + 5 + 5 + 0 + 7);
	CHECK(used + free_bytes == 256);
	CHECK_RET(membridge_spsc_pop(f.ring, buf, 2, &len, MEMBRIDGE_NO_WAIT), -ENOBUFS);
	CHECK(len == 5);
	for (i = 0; i < 4; i++) {
		if (CHECK_OK(membridge_spsc_pop(f.ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT)))
			CHECK(len == strlen(msgs[i]) && memcmp(buf, msgs[i], len) == 0);
	}
	CHECK(membridge_spsc_is_empty(f.ring) == 1);
	ring_teardown(&f);
}

static void test_ring_full_timeout(void)
{
	struct ring_fixture f;
	char big[300] = { 0 }, msg[20] = { 0 };
	struct membridge_frame frame;
	int64_t t0, waited;
	int n = 0, ret;

	if (!ring_setup(&f, 128))
		return;
	CHECK_RET(membridge_spsc_push(f.ring, big, sizeof(big), MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	while ((ret = membridge_spsc_push(f.ring, msg, sizeof(msg), MEMBRIDGE_NO_WAIT)) == 0)
		n++;
	CHECK_RET(ret, -EAGAIN);
	CHECK(n >= 4 && n <= 128 / (int)(sizeof(msg) + MEMBRIDGE_SPSC_FRAME_HEADER));
	t0 = mb_clock_ns();
	CHECK_RET(membridge_spsc_push(f.ring, msg, sizeof(msg), 50 * MS), -ETIMEDOUT);
	waited = mb_clock_ns() - t0;
	CHECK(waited >= 40 * MS && waited < 5000 * MS);
	/* peek + consume frees the room; a second consume of the frame is stale. */
	if (CHECK_OK(membridge_spsc_peek(f.ring, &frame, MEMBRIDGE_NO_WAIT))) {
		CHECK(frame.len == sizeof(msg));
		CHECK_OK(membridge_spsc_consume(f.ring, &frame));
		CHECK_RET(membridge_spsc_consume(f.ring, &frame), -ESTALE);
	}
	CHECK_OK(membridge_spsc_push(f.ring, msg, sizeof(msg), MEMBRIDGE_NO_WAIT));
	ring_teardown(&f);
}

/* ------------------------------------------------------------ two processes */

#define TWOPROC_MESSAGES 3000
/* The two-process lock's segment, and where in it the child raises a flag
 * (past the bytes the test writes through the view). */
#define LOCK_SEGMENT 128
#define LOCK_FLAG_AT 64

/* The child: open the parent's ring and push COUNT numbered messages
 * "msg <i>", with blocking pushes (the ring is small: it waits for room). */
static int child_ring(const char *name, const char *count_arg)
{
	struct membridge_segment *seg;
	struct membridge_spsc *ring;
	long i, count = strtol(count_arg, NULL, 10);
	char msg[32];
	int ret, len;

	ret = membridge_segment_open(name, MEMBRIDGE_SPSC_HEADER + 256, &seg);
	if (ret < 0) {
		fprintf(stderr, "child: open %s: %s\n", name, membridge_strerror(ret));
		return 2;
	}
	ret = membridge_spsc_open(seg, &ring);
	if (ret < 0) {
		fprintf(stderr, "child: spsc_open: %s\n", membridge_strerror(ret));
		membridge_segment_close(seg);
		return 3;
	}
	for (i = 0; i < count && ret == 0; i++) {
		len = snprintf(msg, sizeof(msg), "msg %ld", i);
		ret = membridge_spsc_push(ring, msg, (size_t)len, CHILD_TIMEOUT_NS);
	}
	if (ret < 0)
		fprintf(stderr, "child: push %ld: %s\n", i - 1, membridge_strerror(ret));
	membridge_spsc_close(ring);
	membridge_segment_close(seg);
	return ret < 0 ? 4 : 0;
}

/* A child process started with child_start(), waited for with child_end(),
 * while this process plays its part. */
struct child {
	const char *args[5];
	int status;
#ifdef _WIN32
	HANDLE thread; /* runs run_self() and waits for the process */
#else
	pid_t pid;
#endif
};

#ifdef _WIN32
static DWORD WINAPI child_thread(void *arg)
{
	struct child *c = arg;

	c->status = run_self(c->args);
	return 0;
}
#endif

/* Start this program again with c->args (set by the caller). */
static bool child_start(struct child *c)
{
	c->status = -1;
#ifdef _WIN32
	c->thread = CreateThread(NULL, 0, child_thread, c, 0, NULL);
	return CHECK(c->thread != NULL);
#else
	fflush(NULL);
	c->pid = fork();
	if (c->pid == 0)
		_exit(run_self(c->args));
	return CHECK(c->pid > 0);
#endif
}

/* Wait for it; its exit status. */
static int child_end(struct child *c)
{
#ifdef _WIN32
	WaitForSingleObject(c->thread, INFINITE);
	CloseHandle(c->thread);
#else
	int status;

	while (waitpid(c->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	c->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
#endif
	return c->status;
}

static void sleep_ms(unsigned ms)
{
#ifdef _WIN32
	Sleep(ms);
#else
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
#endif
}

static void test_twoproc_ring(void)
{
	struct ring_fixture f;
	struct child c = { .args = { "child-ring" } };
	char count[16], buf[32], want[32];
	long i;
	size_t len;
	int wlen;

	if (!ring_setup(&f, 256))
		return;
	snprintf(count, sizeof(count), "%d", TWOPROC_MESSAGES);
	c.args[1] = f.name;
	c.args[2] = count;
	if (!child_start(&c)) {
		ring_teardown(&f);
		return;
	}
	for (i = 0; i < TWOPROC_MESSAGES; i++) {
		if (!CHECK_OK(membridge_spsc_pop(f.ring, buf, sizeof(buf), &len, CHILD_TIMEOUT_NS)))
			break;
		wlen = snprintf(want, sizeof(want), "msg %ld", i);
		if (!CHECK(len == (size_t)wlen && memcmp(buf, want, len) == 0))
			break;
	}
	CHECK(membridge_spsc_is_empty(f.ring) == 1);
	CHECK(child_end(&c) == 0);
	ring_teardown(&f);
}

/* How many wake-ups the delay case measures, and the pause before each
 * push: long enough for the popper to be asleep in the kernel. */
#define WAKE_COUNT 40
#define WAKE_GAP_MS 15

/* The child: push COUNT messages, each the clock reading just before its
 * push, WAKE_GAP_MS apart. */
static int child_wake(const char *name, const char *count_arg)
{
	struct membridge_segment *seg;
	struct membridge_spsc *ring;
	long i, count = strtol(count_arg, NULL, 10);
	int64_t now;
	int ret;

	ret = membridge_segment_open(name, 0, &seg);
	if (ret < 0)
		return 2;
	ret = membridge_spsc_open(seg, &ring);
	for (i = 0; i < count && ret == 0; i++) {
		sleep_ms(WAKE_GAP_MS);
		now = mb_clock_ns();
		ret = membridge_spsc_push(ring, &now, sizeof(now), CHILD_TIMEOUT_NS);
	}
	if (ret < 0)
		fprintf(stderr, "child-wake: %s\n", membridge_strerror(ret));
	membridge_spsc_close(ring);
	membridge_segment_close(seg);
	return ret < 0 ? 4 : 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* A pop blocked in the kernel, woken by another process's push: how long
 * from just before the push to the pop's return. Printed, never bounded
 * tightly (the machine may be busy): each must come within 5 s. */
static void test_twoproc_wake(void)
{
	struct ring_fixture f;
	struct child c = { .args = { "child-wake" } };
	int64_t delay[WAKE_COUNT], sent;
	char count[16];
	size_t len;
	int n;

	if (!ring_setup(&f, 256))
		return;
	snprintf(count, sizeof(count), "%d", WAKE_COUNT);
	c.args[1] = f.name;
	c.args[2] = count;
	if (!child_start(&c)) {
		ring_teardown(&f);
		return;
	}
	for (n = 0; n < WAKE_COUNT; n++) {
		if (!CHECK_OK(membridge_spsc_pop(f.ring, &sent, sizeof(sent), &len,
						 CHILD_TIMEOUT_NS)))
			break;
		delay[n] = mb_clock_ns() - sent;
		if (!CHECK(len == sizeof(sent) && delay[n] >= 0 && delay[n] < 5000 * MS))
			break;
	}
	CHECK(child_end(&c) == 0);
	if (n == WAKE_COUNT) {
		qsort(delay, WAKE_COUNT, sizeof(delay[0]), cmp_i64);
		printf("  wake-up delay of a blocked pop, push in another process: p50 %.3f ms,"
		       " p90 %.3f ms, max %.3f ms (%d wake-ups, %d ms apart)\n",
		       (double)delay[WAKE_COUNT / 2] / 1e6, (double)delay[WAKE_COUNT * 9 / 10] / 1e6,
		       (double)delay[WAKE_COUNT - 1] / 1e6, WAKE_COUNT, WAKE_GAP_MS);
	}
	ring_teardown(&f);
}

/* The child: open NAME's view; the parent holds the write lock, so a read
 * lock is -EAGAIN; say so in the flag byte, then block for the read lock,
 * which the parent's unlock gives, and check what it wrote. */
static int child_lock(const char *name)
{
	struct membridge_segment *seg;
	struct membridge_view *view;
	_Atomic unsigned char *flag;
	unsigned char got = 0;
	int ret, status = 0;

	if (membridge_segment_open(name, LOCK_SEGMENT, &seg) < 0)
		return 2;
	if (membridge_view_open(seg, &view) < 0) {
		membridge_segment_close(seg);
		return 3;
	}
	flag = (_Atomic unsigned char *)((unsigned char *)membridge_segment_data(seg) + LOCK_FLAG_AT);
	ret = membridge_view_lock_read(view, MEMBRIDGE_NO_WAIT);
	if (ret != -EAGAIN)
		status = 10;
	atomic_store(flag, 1);
	ret = membridge_view_lock_read(view, CHILD_TIMEOUT_NS);
	if (ret < 0) {
		status = 11;
	} else {
		if (membridge_view_read_bytes(view, 0, &got, 1) < 0 || got != 0x5a)
			status = 12;
		membridge_view_unlock(view);
	}
	membridge_view_close(view);
	membridge_segment_close(seg);
	return status;
}

/* A write lock held by this process blocks another process's reader, whose
 * wait ends when the lock is released, and which then sees the data. */
static void test_twoproc_lock(void)
{
	struct view_fixture f;
	struct child c = { .args = { "child-lock" } };
	_Atomic unsigned char *flag;
	unsigned char mark = 0x5a;
	int64_t t0;

	if (!view_setup(&f, LOCK_SEGMENT))
		return;
	flag = (_Atomic unsigned char *)((unsigned char *)membridge_segment_data(f.seg) +
					 LOCK_FLAG_AT);
	c.args[1] = f.name;
	if (!CHECK_OK(membridge_view_lock_write(f.view, MEMBRIDGE_NO_WAIT)) || !child_start(&c)) {
		view_teardown(&f);
		return;
	}
	t0 = mb_clock_ns();
	while (!atomic_load(flag) && mb_clock_ns() - t0 < CHILD_TIMEOUT_NS)
		sleep_ms(1);
	CHECK(atomic_load(flag));
	sleep_ms(20); /* the child is asleep in its blocking lock by now, mostly */
	CHECK_OK(membridge_view_write_bytes(f.view, 0, &mark, 1));
	CHECK_OK(membridge_view_unlock(f.view));
	CHECK(child_end(&c) == 0);
	view_teardown(&f);
}

/* ------------------------------------------------------------ channels */

struct channel_fixture {
	char name[64];
	struct membridge_segment *seg;
	struct membridge_publisher *pub;
};

static bool channel_setup(struct channel_fixture *f, uint64_t data_size, uint32_t subscribers)
{
	struct membridge_channel_config cfg = { data_size, 64, subscribers, 0 };

	new_name(f->name);
	f->pub = NULL;
	if (!CHECK_OK(membridge_segment_create(f->name, membridge_channel_segment_size(&cfg), 0,
					       MEMBRIDGE_CREATE_EXCLUSIVE, &f->seg)))
		return false;
	if (!CHECK_OK(membridge_channel_init(f->seg, &cfg)) ||
	    !CHECK_OK(membridge_publisher_open(f->seg, &f->pub))) {
		membridge_segment_close(f->seg);
		membridge_segment_remove(f->name);
		return false;
	}
	return true;
}

static void channel_teardown(struct channel_fixture *f)
{
	membridge_publisher_close(f->pub);
	membridge_segment_close(f->seg);
	CHECK_OK(membridge_segment_remove(f->name));
}

/* Receive "<prefix> <n>" with sequence number seq, then release it. */
static bool receive_numbered(struct membridge_subscriber *sub, const char *prefix, long n,
			     uint64_t seq, int64_t timeout_ns)
{
	struct membridge_message msg;
	char want[32];
	int len = snprintf(want, sizeof(want), "%s %ld", prefix, n);
	bool ok;

	if (!CHECK_OK(membridge_subscriber_receive(sub, &msg, timeout_ns)))
		return false;
	ok = CHECK(msg.seq == seq && msg.len == (size_t)len && memcmp(msg.data, want, msg.len) == 0);
	ok = CHECK(membridge_subscriber_release(sub) == 1) && ok;
	return ok;
}

static void test_channel_publish_receive(void)
{
	struct channel_fixture f;
	struct membridge_subscriber *sub;
	struct membridge_channel_config cfg;
	void *p;
	long i;

	if (!channel_setup(&f, 4096, 2))
		return;
	if (CHECK_OK(membridge_channel_config(f.seg, &cfg)))
		CHECK(cfg.data_size == 4096 && cfg.max_message == 64 && cfg.subscribers == 2);
	if (!CHECK_OK(membridge_subscriber_open(f.seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &sub))) {
		channel_teardown(&f);
		return;
	}
	CHECK_RET(membridge_subscriber_receive(sub, &(struct membridge_message){ 0 },
					       MEMBRIDGE_NO_WAIT), -EAGAIN);
	/* A loan, written in place, then a copy in. */
	if (CHECK_OK(membridge_publisher_loan(f.pub, 6, &p, MEMBRIDGE_NO_WAIT))) {
		memcpy(p, "loan 0", 6);
		CHECK(membridge_publisher_publish(f.pub) == 1);
	}
	CHECK_RET(membridge_publisher_loan(f.pub, 65, &p, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	for (i = 1; i < 4; i++) {
		char msg[16];
		int len = snprintf(msg, sizeof(msg), "copy %ld", i);

		CHECK_OK(membridge_publisher_send(f.pub, msg, (size_t)len, MEMBRIDGE_NO_WAIT));
	}
	if (receive_numbered(sub, "loan", 0, 0, MEMBRIDGE_NO_WAIT))
		for (i = 1; i < 4 && receive_numbered(sub, "copy", i, (uint64_t)i, MEMBRIDGE_NO_WAIT);
		     i++)
			;
	membridge_subscriber_close(sub);
	channel_teardown(&f);
}

#define SUBSCRIBERS 3

static void test_channel_subscribers(void)
{
	struct channel_fixture f;
	struct membridge_subscriber *sub[SUBSCRIBERS];
	char msg[16];
	int i, k, n = 0, len;

	if (!channel_setup(&f, 4096, SUBSCRIBERS))
		return;
	for (k = 0; k < SUBSCRIBERS; k++, n++)
		if (!CHECK_OK(membridge_subscriber_open(f.seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &sub[k])))
			break;
	if (n == SUBSCRIBERS)
		CHECK_RET(membridge_subscriber_open(f.seg, 0, &(struct membridge_subscriber *){ NULL }),
			  -EUSERS);
	for (i = 0; i < 10; i++) {
		len = snprintf(msg, sizeof(msg), "all %d", i);
		CHECK_OK(membridge_publisher_send(f.pub, msg, (size_t)len, MEMBRIDGE_NO_WAIT));
	}
	/* Each subscriber sees every message, in order, whatever the others do. */
	for (k = 0; k < n; k++)
		for (i = 0; i < 10 && receive_numbered(sub[k], "all", i, (uint64_t)i, 0); i++)
			;
	for (k = 0; k < n; k++)
		membridge_subscriber_close(sub[k]);
	channel_teardown(&f);
}

static void test_channel_full_timeout(void)
{
	struct channel_fixture f;
	struct membridge_subscriber *sub;
	struct membridge_message msg;
	char payload[64] = { 0 };
	int64_t t0, waited;
	int n = 0, ret;

	if (!channel_setup(&f, 1024, 1))
		return;
	if (!CHECK_OK(membridge_subscriber_open(f.seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &sub))) {
		channel_teardown(&f);
		return;
	}
	while ((ret = membridge_publisher_send(f.pub, payload, sizeof(payload),
					       MEMBRIDGE_NO_WAIT)) == 0)
		n++;
	CHECK_RET(ret, -EAGAIN);
	CHECK(n >= 1 && (size_t)n <= 1024 / membridge_channel_record_size(sizeof(payload)));
	/* A live subscriber holds the space: the publisher waits, then gives up. */
	t0 = mb_clock_ns();
	CHECK_RET(membridge_publisher_send(f.pub, payload, sizeof(payload), 50 * MS), -ETIMEDOUT);
	waited = mb_clock_ns() - t0;
	CHECK(waited >= 40 * MS && waited < 5000 * MS);
	if (CHECK_OK(membridge_subscriber_receive(sub, &msg, MEMBRIDGE_NO_WAIT))) {
		CHECK(msg.seq == 0 && msg.len == sizeof(payload));
		CHECK(membridge_subscriber_release(sub) == 1);
	}
	CHECK_OK(membridge_publisher_send(f.pub, payload, sizeof(payload), MEMBRIDGE_NO_WAIT));
	membridge_subscriber_close(sub);
	channel_teardown(&f);
}

/* The child: take over NAME's channel as its publisher (the parent closed
 * its own) and send COUNT messages "pub <i>", waiting for space. */
static int child_channel(const char *name, const char *count_arg)
{
	struct membridge_segment *seg;
	struct membridge_publisher *pub;
	long i, count = strtol(count_arg, NULL, 10);
	char msg[32];
	int ret, len;

	ret = membridge_segment_open(name, 0, &seg);
	if (ret < 0) {
		fprintf(stderr, "child: open %s: %s\n", name, membridge_strerror(ret));
		return 2;
	}
	ret = membridge_publisher_open(seg, &pub);
	if (ret < 0) {
		fprintf(stderr, "child: publisher_open: %s\n", membridge_strerror(ret));
		membridge_segment_close(seg);
		return 3;
	}
	for (i = 0; i < count && ret == 0; i++) {
		len = snprintf(msg, sizeof(msg), "pub %ld", i);
		ret = membridge_publisher_send(pub, msg, (size_t)len, CHILD_TIMEOUT_NS);
	}
	if (ret < 0)
		fprintf(stderr, "child: send %ld: %s\n", i - 1, membridge_strerror(ret));
	membridge_publisher_close(pub);
	membridge_segment_close(seg);
	return ret < 0 ? 4 : 0;
}

/* A stream from a publisher process to this subscriber, through a channel
 * small enough that the publisher waits for space many times over. */
static void test_twoproc_channel(void)
{
	struct channel_fixture f;
	struct child c = { .args = { "child-channel" } };
	struct membridge_subscriber *sub;
	char count[16];
	long i;

	if (!channel_setup(&f, 1024, 1))
		return;
	membridge_publisher_close(f.pub);
	f.pub = NULL;
	if (!CHECK_OK(membridge_subscriber_open(f.seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &sub))) {
		channel_teardown(&f);
		return;
	}
	snprintf(count, sizeof(count), "%d", TWOPROC_MESSAGES);
	c.args[1] = f.name;
	c.args[2] = count;
	if (child_start(&c)) {
		for (i = 0; i < TWOPROC_MESSAGES; i++)
			if (!receive_numbered(sub, "pub", i, (uint64_t)i, CHILD_TIMEOUT_NS))
				break;
		CHECK(child_end(&c) == 0);
	}
	membridge_subscriber_close(sub);
	channel_teardown(&f);
}

/* ------------------------------------------------------------ main */

static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "segment_create_open", test_segment_create_open },
	{ "segment_errors", test_segment_errors },
	{ "view_values", test_view_values },
	{ "view_bytes_zero", test_view_bytes_zero },
	{ "lock", test_lock },
	{ "ring_fifo", test_ring_fifo },
	{ "ring_full_timeout", test_ring_full_timeout },
	{ "twoproc_ring", test_twoproc_ring },
	{ "twoproc_lock", test_twoproc_lock },
	{ "twoproc_wake", test_twoproc_wake },
	{ "channel_publish_receive", test_channel_publish_receive },
	{ "channel_subscribers", test_channel_subscribers },
	{ "channel_full_timeout", test_channel_full_timeout },
	{ "twoproc_channel", test_twoproc_channel },
};

#define NCASES (sizeof(cases) / sizeof(cases[0]))

static bool selected(const char *name, int argc, char **argv)
{
	int i;

	if (argc < 2)
		return true;
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	unsigned passed = 0, failed = 0;
	size_t i;
	int64_t t0;

	if (argc == 4 && strcmp(argv[1], "child-ring") == 0)
		return child_ring(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "child-wake") == 0)
		return child_wake(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "child-channel") == 0)
		return child_channel(argv[2], argv[3]);
	if (argc == 3 && strcmp(argv[1], "child-lock") == 0)
		return child_lock(argv[2]);
	setvbuf(stdout, NULL, _IONBF, 0);
	printf("membridge portable runner, library %s\n", membridge_version());
	for (i = 0; i < NCASES; i++) {
		if (!selected(cases[i].name, argc, argv))
			continue;
		failures = 0;
		t0 = mb_clock_ns();
		cases[i].fn();
		printf("%s: %s (%.0f ms)\n", failures ? "FAIL" : "PASS", cases[i].name,
		       (double)(mb_clock_ns() - t0) / 1e6);
		if (failures)
			failed++;
		else
			passed++;
	}
	printf("%u cases: %u passed, %u failed\n", passed + failed, passed, failed);
	return failed || passed == 0 ? 1 : 0;
}
