/* SPDX-License-Identifier: MIT */
/* The shared Check-suite helpers declared in helpers.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "helpers.h"

static pid_t runner_pid;

/* Names fit macOS's 16 bytes: numbers in base 62, the pids in 4 digits each
 * (62^4 > 2^22, Linux's largest pid_max). */
static const char digits62[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
#define PID_DIGITS 4

static char *put62(char *p, unsigned long v, int width)
{
	char tmp[16];
	int n = 0;

	do {
		tmp[n++] = digits62[v % 62];
		v /= 62;
	} while (v || n < width);
	while (n)
		*p++ = tmp[--n];
	return p;
}

char *mbt_name(char buf[MBT_NAME_SIZE])
{
	static unsigned counter;
	char *p = buf;

	memcpy(p, "/mbt", 4);
	p = put62(p + 4, (unsigned long)runner_pid, PID_DIGITS);
	p = put62(p, (unsigned long)getpid(), PID_DIGITS);
	p = put62(p, counter++ % (62u * 62 * 62 * 62), 1);
	*p = '\0';
	return buf;
}

int mbt_refused_name_error(const char *name)
{
	return name[0] == '/' && strlen(name) > MEMBRIDGE_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
}

void mbt_assert_value_eq(const struct membridge_value *got, const struct membridge_value *want,
			 const char *what)
{
	ck_assert_msg(got->type == want->type, "%s: type %d, expected %d", what, got->type,
		      want->type);
	switch (want->type) {
	case MEMBRIDGE_BOOL:
		ck_assert_msg(got->as.b == want->as.b, "%s: bool differs", what);
		break;
	case MEMBRIDGE_U8:
		ck_assert_uint_eq(got->as.u8, want->as.u8);
		break;
	case MEMBRIDGE_I32:
		ck_assert_int_eq(got->as.i32, want->as.i32);
		break;
	case MEMBRIDGE_U32:
		ck_assert_uint_eq(got->as.u32, want->as.u32);
		break;
	case MEMBRIDGE_F32:
		ck_assert_mem_eq(&got->as.f32, &want->as.f32, sizeof(float));
		break;
	case MEMBRIDGE_I64:
		ck_assert_int_eq(got->as.i64, want->as.i64);
		break;
	case MEMBRIDGE_U64:
		ck_assert_uint_eq(got->as.u64, want->as.u64);
		break;
	case MEMBRIDGE_F64:
		ck_assert_mem_eq(&got->as.f64, &want->as.f64, sizeof(double));
		break;
	case MEMBRIDGE_STR:
	case MEMBRIDGE_BYTES:
	default:
		ck_assert_uint_eq(got->as.buf.len, want->as.buf.len);
		if (want->as.buf.len)
			ck_assert_mem_eq(got->as.buf.ptr, want->as.buf.ptr, want->as.buf.len);
		break;
	}
}

int64_t mbt_now_ns(void)
{
	return mb_clock_ns();
}

void mbt_sleep_ns(int64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000), (long)(ns % 1000000000) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

pid_t mbt_fork(int (*fn)(void *arg), void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(fn(arg));
	return pid;
}

int mbt_wait(pid_t pid)
{
	int status;

	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

int mbt_kill(pid_t pid)
{
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	return mbt_wait(pid);
}

void mbt_run_all(int n, int (*const mains[])(void *arg), void *arg,
		 const char *const names[], int64_t deadline_ns)
{
	pid_t pids[MBT_RUN_MAX];
	int status[MBT_RUN_MAX], left = n, i;
	bool hung = false;

	ck_assert_int_le(n, MBT_RUN_MAX);
	for (i = 0; i < n; i++)
		pids[i] = mbt_fork(mains[i], arg);
	while (left) {
		for (i = 0; i < n; i++)
			if (pids[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i]) {
				pids[i] = 0;
				left--;
			}
		if (left && mbt_now_ns() > deadline_ns) {
			for (i = 0; i < n; i++)
				if (pids[i]) {
					kill(pids[i], SIGKILL);
					waitpid(pids[i], &status[i], 0);
					fprintf(stderr, "%s hung: killed\n", names[i]);
					pids[i] = 0;
					hung = true;
				}
			left = 0;
		}
		mbt_sleep_ns(MBT_MS);
	}
	ck_assert_msg(!hung, "a process hung past its deadline");
	for (i = 0; i < n; i++) {
		ck_assert_msg(!WIFSIGNALED(status[i]), "%s died of signal %d", names[i],
			      WTERMSIG(status[i]));
		ck_assert_msg(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0,
			      "%s exited with %d", names[i], WEXITSTATUS(status[i]));
	}
}

void *mbt_shared(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ck_assert_ptr_ne(p, MAP_FAILED);
	return p;
}

void mbt_put(int fd, const void *buf, size_t n)
{
	while (n) {
		ssize_t r = write(fd, buf, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			_exit(90);
		buf = (const char *)buf + r;
		n -= (size_t)r;
	}
}

bool mbt_get(int fd, void *buf, size_t n)
{
	while (n) {
		ssize_t r = read(fd, buf, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		buf = (char *)buf + r;
		n -= (size_t)r;
	}
	return true;
}

bool mbt_readable(int fd, int ms)
{
	struct pollfd p = { fd, POLLIN, 0 };

	return poll(&p, 1, ms) == 1;
}

uint64_t mbt_mix(uint64_t x)
{
	x = (x ^ (x >> 31)) * UINT64_C(0x7fb5d329728ea185);
	x = (x ^ (x >> 27)) * UINT64_C(0x81dadef4bc2dd44d);
	return x ^ (x >> 33);
}

uint64_t mbt_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(0x2545f4914f6cdd1d);
}

uint64_t mbt_kill_seed(uint64_t fallback)
{
	const char *env = getenv("MBT_KILL_SEED");

	return env && *env ? strtoull(env, NULL, 0) : fallback;
}

int64_t mbt_slack_ns(void)
{
	return mbt_under_valgrind() ? 10 * MBT_PROMPT_NS : MBT_PROMPT_NS;
}

bool mbt_under_valgrind(void)
{
	return getenv("MBT_UNDER_VALGRIND") != NULL;
}

/* The runner pid in a name mbt_name() made, or 0 for any other name. */
static long runner_of(const char *entry)
{
	size_t len = strspn(entry + 3, digits62);
	const char *tail = entry + 3 + len;
	long pid = 0;
	int i;

	/* "mbt", 9 to 12 digits, nothing or the companion's suffix. */
	if (strncmp(entry, "mbt", 3) || len < 2 * PID_DIGITS + 1 || len > 3 * PID_DIGITS ||
	    (*tail && strcmp(tail, MEMBRIDGE_COMPANION_SUFFIX)))
		return 0;
	for (i = 3; i < 3 + PID_DIGITS; i++)
		pid = pid * 62 + (strchr(digits62, entry[i]) - digits62);
	return pid;
}

/* Unlink the segments of runner `pid`, or with pid 0 those of runners that
 * no longer exist (a run killed before it could clean up); returns how many
 * there were. */
static int remove_leftovers(long pid)
{
	char name[300];
	struct dirent *de;
	int found = 0;
	DIR *dir;

	dir = opendir("/dev/shm");
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		long owner = runner_of(de->d_name);

		if (!owner || (pid ? owner != pid : kill((pid_t)owner, 0) == 0 || errno != ESRCH))
			continue;
		snprintf(name, sizeof(name), "/%s", de->d_name);
		if (shm_unlink(name) == 0) {
			fprintf(stderr, "%s: %s\n", pid ? "left behind" : "removed, its run is dead",
				name);
			found++;
		}
	}
	closedir(dir);
	return found;
}

int mbt_run(Suite *suite)
{
	SRunner *sr = srunner_create(suite);
	int failed, leftovers;

	runner_pid = getpid();
	remove_leftovers(0);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	leftovers = remove_leftovers(runner_pid);
	if (leftovers && !failed)
		fprintf(stderr, "FAIL: %d segment(s) left in /dev/shm by passing tests\n",
			leftovers);
	return failed || leftovers ? EXIT_FAILURE : EXIT_SUCCESS;
}
