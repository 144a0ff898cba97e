/* SPDX-License-Identifier: MIT */
/*
 * The portable test runner: one table of cases run the same on Linux (make
 * check) and on Windows (make check-windows, under wine), without Check.
 * Segments, views, locks, rings, and a ring between two real processes: the
 * runner starts itself again as the child ("child-ring NAME COUNT"), with
 * fork + exec on POSIX and CreateProcess on Windows.
 *
 *   runner            run every case, one "PASS:"/"FAIL:" line each
 *   runner CASE...    run only the cases named
 * Exit status 0 when every case passed, 1 otherwise.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
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

#ifdef _WIN32
/* The child is waited for on a thread, while this one pops. */
struct child_run {
	const char *args[4];
	int status;
};

static DWORD WINAPI child_thread(void *arg)
{
	struct child_run *run = arg;

	run->status = run_self(run->args);
	return 0;
}
#endif

static void test_twoproc_ring(void)
{
	struct ring_fixture f;
	char count[16], buf[32], want[32];
	long i;
	size_t len;
	int status = -1, wlen;

	if (!ring_setup(&f, 256))
		return;
	snprintf(count, sizeof(count), "%d", TWOPROC_MESSAGES);
	{
#ifdef _WIN32
		struct child_run run = { { "child-ring", f.name, count, NULL }, -1 };
		HANDLE thread = CreateThread(NULL, 0, child_thread, &run, 0, NULL);

		if (!CHECK(thread != NULL)) {
			ring_teardown(&f);
			return;
		}
#else
		const char *args[] = { "child-ring", f.name, count, NULL };
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid == 0)
			_exit(run_self(args) == 0 ? 0 : 1);
		if (!CHECK(pid > 0)) {
			ring_teardown(&f);
			return;
		}
#endif
		for (i = 0; i < TWOPROC_MESSAGES; i++) {
			if (!CHECK_OK(membridge_spsc_pop(f.ring, buf, sizeof(buf), &len,
							 CHILD_TIMEOUT_NS)))
				break;
			wlen = snprintf(want, sizeof(want), "msg %ld", i);
			if (!CHECK(len == (size_t)wlen && memcmp(buf, want, len) == 0))
				break;
		}
		CHECK(membridge_spsc_is_empty(f.ring) == 1);
#ifdef _WIN32
		WaitForSingleObject(thread, INFINITE);
		CloseHandle(thread);
		status = run.status;
#else
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
#endif
	}
	CHECK(status == 0);
	ring_teardown(&f);
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
