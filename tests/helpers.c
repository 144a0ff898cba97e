/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static pid_t runner_pid;

char *mbt_name(char buf[MBT_NAME_SIZE])
{
	static unsigned counter;

	snprintf(buf, MBT_NAME_SIZE, "/mbt-%ld-%ld-%u", (long)runner_pid, (long)getpid(),
		 counter++);
	return buf;
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

/* Unlink every segment of this run; returns how many there were. */
static int remove_leftovers(void)
{
	char prefix[32], name[300];
	struct dirent *de;
	int found = 0;
	DIR *dir;

	snprintf(prefix, sizeof(prefix), "mbt-%ld-", (long)runner_pid);
	dir = opendir("/dev/shm");
	if (!dir)
		return 0;
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(name, sizeof(name), "/%s", de->d_name);
		if (shm_unlink(name) == 0) {
			fprintf(stderr, "left behind: %s\n", name);
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
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	leftovers = remove_leftovers();
	if (leftovers && !failed)
		fprintf(stderr, "FAIL: %d segment(s) left in /dev/shm by passing tests\n",
			leftovers);
	return failed || leftovers ? EXIT_FAILURE : EXIT_SUCCESS;
}
