/* SPDX-License-Identifier: MIT */
/*
 * membridge bench: a quick measurement of ring throughput and round-trip
 * latency between two processes on this machine, on private rings that are
 * removed afterwards. The full comparison with other IPC mechanisms is
 * `make bench` in the source tree.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge bench [--quick] [--seconds S] [--json]\n"
	"\n"
	"Measure, between two processes on this machine, how many messages per\n"
	"second a ring carries (16 B, 256 B and 4 KiB messages) and the round-trip\n"
	"time of a 16 B message (p50, p99). Progress goes to standard error.\n"
	"\n"
	"  --seconds S  run each test S seconds (default 1)\n"
	"  --quick      run each test 0.2 seconds\n"
	"  --json       print the results as one JSON object\n"
	"  -h, --help   show this help\n";

#define CAPACITY (1u << 20)
#define WAIT_NS INT64_C(10000000000) /* a peer silent this long is gone */
#define MAX_SAMPLES (1u << 21)

static const size_t sizes[] = { 16, 256, 4096 };
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))
#define N_STEPS (N_SIZES + 1)

struct ring {
	cli_name name;
	struct membridge_segment *seg;
	struct membridge_spsc *spsc;
};

struct bench {
	struct ring there, back;   /* parent -> child, child -> parent */
	int64_t duration_ns;
	bool tty;
	int step;
	pid_t child;
	double rate[N_SIZES];
	double p50_us, p99_us;
	size_t samples;
};

/* ------------------------------------------------------------ progress */

static void progress_start(struct bench *b, const char *label)
{
	b->step++;
	fprintf(stderr, "%s[%d/%zu] %s ...%s", b->tty ? "\r" : "", b->step, N_STEPS, label,
		b->tty ? "\033[K" : "\n");
}

static void progress(const struct bench *b, const char *label, int64_t started)
{
	int pct = (int)((cli_now_ns() - started) * 100 / b->duration_ns);

	if (b->tty)
		fprintf(stderr, "\r[%d/%zu] %s ... %d%%\033[K", b->step, N_STEPS, label,
			pct > 100 ? 100 : pct);
}

/* --------------------------------------------------------------- rings */

static int ring_create(struct ring *r, const char *suffix)
{
	int ret;

	/* Within macOS's 16 bytes too: pids have at most 7 digits (Linux's
	 * pid_max is 2^22). */
	snprintf(r->name, sizeof(r->name), "/mbbench%u%s", (unsigned)getpid() % 10000000u, suffix);
	ret = membridge_segment_create(r->name, CAPACITY + MEMBRIDGE_SPSC_HEADER, 0,
				       MEMBRIDGE_CREATE_REPLACE, &r->seg);
	if (ret == 0)
		ret = membridge_spsc_open(r->seg, &r->spsc);
	return ret;
}

static void ring_destroy(struct ring *r)
{
	membridge_spsc_close(r->spsc);
	membridge_segment_close(r->seg);
	if (r->seg != NULL)
		membridge_segment_remove(r->name);
	r->spsc = NULL;
	r->seg = NULL;
}

/* The child's own handle on a ring the parent made. */
static struct membridge_spsc *child_open(const struct ring *r)
{
	struct membridge_segment *seg;
	struct membridge_spsc *spsc = NULL;

	if (membridge_segment_open(r->name, 0, &seg) != 0)
		_exit(1);
	if (membridge_spsc_open(seg, &spsc) != 0)
		_exit(1);
	membridge_segment_close(seg);
	return spsc;
}

/* --------------------------------------------------------------- child */

/* A consumer's work per message: copy the payload out. */
static int copy_out(void *ctx, const struct membridge_frame *frame)
{
	static unsigned char copy[4096];

	if (frame->len > sizeof(copy))
		_exit(1);
	if (frame->part_len[0] != 0)
		memcpy(copy, frame->part[0], frame->part_len[0]);
	if (frame->part_len[1] != 0)
		memcpy(copy + frame->part_len[0], frame->part[1], frame->part_len[1]);
	*(bool *)ctx = frame->len == 0;
	return frame->len == 0;
}

/* Drain messages until an empty one arrives; the child's exit status. The
 * consumer polls (yielding the CPU while the ring is empty) instead of
 * sleeping: the figure is what the ring carries, not how often the kernel
 * wakes a sleeper. */
static int child_drain(const struct ring *there)
{
	struct membridge_spsc *spsc = child_open(there);
	int64_t idle_since = cli_now_ns();
	bool done = false;
	size_t popped;
	int ret = 0;

	while (!done && (ret == 0 || ret == -EAGAIN)) {
		ret = membridge_spsc_pop_batch(spsc, 256, copy_out, &done, &popped,
					       MEMBRIDGE_NO_WAIT);
		if (ret == 0) {
			idle_since = cli_now_ns();
		} else if (cli_now_ns() - idle_since > WAIT_NS) {
			ret = -ETIMEDOUT;
		} else {
			sched_yield();
		}
	}
	membridge_spsc_close(spsc);
	return ret < 0;
}

/* Send every message back until an empty one arrives; the exit status. */
static int child_echo(const struct ring *there, const struct ring *back)
{
	struct membridge_spsc *in = child_open(there), *out = child_open(back);
	unsigned char buf[64];
	size_t len = 1;
	int ret = 0;

	while (len != 0 && ret == 0) {
		ret = membridge_spsc_pop(in, buf, sizeof(buf), &len, WAIT_NS);
		if (ret == 0)
			ret = membridge_spsc_push(out, buf, len, WAIT_NS);
	}
	membridge_spsc_close(in);
	membridge_spsc_close(out);
	return ret < 0;
}

static int start_child(struct bench *b, bool echo)
{
	b->child = fork();
	if (b->child < 0)
		return -errno;
	if (b->child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		_exit(echo ? child_echo(&b->there, &b->back) : child_drain(&b->there));
	}
	return 0;
}

static void reap_child(struct bench *b, int *status)
{
	while (waitpid(b->child, status, 0) < 0 && errno == EINTR)
		;
	b->child = 0;
}

static void abort_child(struct bench *b)
{
	int status;

	kill(b->child, SIGKILL);
	reap_child(b, &status);
}

/* Send the end marker and reap the child; -EIO if it failed. */
static int finish_child(struct bench *b)
{
	int status, ret = membridge_spsc_push(b->there.spsc, "", 0, WAIT_NS);

	if (ret < 0) {
		abort_child(b);
		return ret;
	}
	reap_child(b, &status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* --------------------------------------------------------------- tests */

static int throughput(struct bench *b, size_t i)
{
	static unsigned char message[4096];
	char label[48];
	uint64_t sent = 0;
	int64_t started;
	int ret;

	snprintf(label, sizeof(label), "throughput %zu B", sizes[i]);
	progress_start(b, label);
	ret = start_child(b, false);
	if (ret < 0)
		return ret;
	started = cli_now_ns();
	for (;;) {
		ret = membridge_spsc_push(b->there.spsc, message, sizes[i], WAIT_NS);
		if (ret < 0)
			break;
		if ((++sent & 1023) == 0) {
			if (cli_stop_signal != 0)
				ret = -EINTR;
			if (ret < 0 || cli_now_ns() - started >= b->duration_ns)
				break;
			progress(b, label, started);
		}
	}
	if (ret < 0) {
		abort_child(b);
		return ret;
	}
	ret = finish_child(b);
	b->rate[i] = (double)sent / ((double)(cli_now_ns() - started) / 1e9);
	return ret;
}

static int by_value(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int latency(struct bench *b)
{
	const char *label = "round trip 16 B";
	unsigned char message[16] = { 1 }, reply[16];
	int64_t started, *samples = malloc(MAX_SAMPLES * sizeof(*samples));
	size_t n = 0, len;
	int ret = 0;

	if (samples == NULL)
		return -ENOMEM;
	progress_start(b, label);
	ret = start_child(b, true);
	started = cli_now_ns();
	while (ret == 0 && n < MAX_SAMPLES) {
		int64_t t0 = cli_now_ns();

		ret = membridge_spsc_push(b->there.spsc, message, sizeof(message), WAIT_NS);
		if (ret == 0)
			ret = membridge_spsc_pop(b->back.spsc, reply, sizeof(reply), &len, WAIT_NS);
		samples[n++] = cli_now_ns() - t0;
		if (cli_stop_signal != 0)
			ret = -EINTR;
		if (t0 - started >= b->duration_ns)
			break;
		if ((n & 1023) == 0)
			progress(b, label, started);
	}
	if (b->child > 0 && ret < 0)
		abort_child(b);
	else if (b->child > 0)
		ret = finish_child(b);
	if (ret == 0) {
		qsort(samples, n, sizeof(*samples), by_value);
		b->samples = n;
		b->p50_us = (double)samples[n / 2] / 1e3;
		b->p99_us = (double)samples[n * 99 / 100] / 1e3;
	}
	free(samples);
	return ret;
}

/* ------------------------------------------------------------- results */

static void print_results(const struct bench *b, bool json)
{
	size_t i;

	if (json) {
		printf("{\"seconds\": %g, \"capacity\": %u, \"throughput\": [",
		       (double)b->duration_ns / 1e9, CAPACITY);
		for (i = 0; i < N_SIZES; i++)
			printf("%s{\"size\": %zu, \"messages_per_second\": %.0f, \"megabytes_per_second\": %.1f}",
			       i ? ", " : "", sizes[i], b->rate[i], b->rate[i] * (double)sizes[i] / 1e6);
		printf("], \"latency\": {\"size\": 16, \"samples\": %zu, \"p50_us\": %.2f, \"p99_us\": %.2f}}\n",
		       b->samples, b->p50_us, b->p99_us);
		return;
	}
	printf("ring between two processes, capacity %u bytes, %g s per test\n"
	       "(throughput: one push per message, the consumer polls and pops up to 256 at once)\n",
	       CAPACITY, (double)b->duration_ns / 1e9);
	printf("%-18s %14s %10s\n", "test", "messages/s", "MB/s");
	for (i = 0; i < N_SIZES; i++) {
		char label[32];

		snprintf(label, sizeof(label), "throughput %zu B", sizes[i]);
		printf("%-18s %14.0f %10.1f\n", label, b->rate[i],
		       b->rate[i] * (double)sizes[i] / 1e6);
	}
	printf("latency 16 B round trip: p50 %.2f us, p99 %.2f us (%zu round trips)\n",
	       b->p50_us, b->p99_us, b->samples);
}

static int run(struct bench *b)
{
	size_t i;
	int ret;

	ret = ring_create(&b->there, "");
	if (ret == 0)
		ret = ring_create(&b->back, "b");
	for (i = 0; ret == 0 && i < N_SIZES; i++)
		ret = throughput(b, i);
	if (ret == 0)
		ret = latency(b);
	if (b->tty)
		fputs("\r\033[K", stderr);
	ring_destroy(&b->there);
	ring_destroy(&b->back);
	return ret;
}

int cli_cmd_bench(int argc, char **argv)
{
	static const struct option options[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "seconds", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { .duration_ns = 1000000000, .tty = isatty(STDERR_FILENO) != 0 };
	bool json = false;
	int c, ret;

	while ((c = cli_next_option(argc, argv, ":h", options)) != -1) {
		switch (c) {
		case 'q':
			b.duration_ns = 200000000;
			break;
		case 's':
			if (cli_parse_duration("seconds", optarg, &b.duration_ns) != 0)
				return CLI_BAD_INPUT;
			if (b.duration_ns <= 0)
				return cli_usage_error("--seconds needs a positive duration such as 0.5 or 2");
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	cli_catch_stop_signals();
	ret = run(&b);
	if (ret < 0)
		return cli_fail(ret, NULL, "benchmark failed");
	print_results(&b, json);
	return CLI_OK;
}
