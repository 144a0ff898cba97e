/* SPDX-License-Identifier: MIT */
/* The shared Check-suite helpers declared in helpers.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
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

char *mbt_name(char buf[MBT_NAME_SIZE])
{
	static unsigned counter;

	snprintf(buf, MBT_NAME_SIZE, "/mbt-%ld-%ld-%u", (long)runner_pid, (long)getpid(),
		 counter++);
	return buf;
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

bool mbt_under_valgrind(void)
{
	return getenv("MBT_UNDER_VALGRIND") != NULL;
}

/* The runner pid in a name mbt_name() made, or 0 for any other name. */
static long runner_of(const char *entry)
{
	char *end;
	long pid;

	if (strncmp(entry, "mbt-", 4))
		return 0;
	pid = strtol(entry + 4, &end, 10);
	return *end == '-' && pid > 0 ? pid : 0;
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
