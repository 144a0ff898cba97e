/* SPDX-License-Identifier: MIT */
/* Ctrl-C and SIGTERM end waits cleanly; a monotonic clock and sleeps. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"

volatile sig_atomic_t cli_stop_signal;
/* The self-pipe of cli_stop_fd(): -1 until it is asked for. */
static int stop_pipe[2] = { -1, -1 };

static void on_stop(int sig)
{
	int saved = errno;

	cli_stop_signal = sig;
	if (stop_pipe[1] >= 0 && write(stop_pipe[1], "", 1) < 0) {
		/* Full: it is readable already. */
	}
	errno = saved;
}

int cli_stop_fd(void)
{
	if (stop_pipe[0] < 0 && pipe2(stop_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	return stop_pipe[0];
}

void cli_catch_stop_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: blocking calls return -EINTR */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void)
{
	return 128 + (cli_stop_signal != 0 ? cli_stop_signal : SIGINT);
}

int64_t cli_now_ns(void)
{
	return mb_clock_ns();
}

bool cli_sleep(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000 };

	while (cli_stop_signal == 0 && nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return cli_stop_signal == 0;
}

int cli_wait(int64_t timeout_ns, int (*attempt)(void *ctx, int64_t timeout_ns), void *ctx)
{
	int64_t deadline = timeout_ns > 0 ? cli_now_ns() + timeout_ns : 0;

	for (;;) {
		int64_t left = timeout_ns;
		int ret;

		if (cli_stop_signal != 0)
			return -EINTR;
		if (timeout_ns > 0) {
			left = deadline - cli_now_ns();
			if (left <= 0)
				return -ETIMEDOUT;
		}
		/* The library returns -EINTR once our handler ran; a signal
		 * that is not a stop signal only costs a retry. */
		ret = attempt(ctx, left);
		if (ret != -EINTR || cli_stop_signal != 0)
			return ret;
	}
}
