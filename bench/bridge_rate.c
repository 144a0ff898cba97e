/* SPDX-License-Identifier: MIT */
/* bridge_rate: messages per second over loopback TCP, producer -> ring ->
 * membridge bridge -> ZeroMQ -> membridge bridge -> ring -> consumer,
 * against a plain ZeroMQ PUSH sender and PULL receiver in the same run.
 * Both are timed at the receiving end, from its first message to its last.
 * The membridge tool is tools/membridge of the build (MEMBRIDGE_TOOL=path
 * overrides). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "bench-common.h"

#define GROUP "bridge: loopback TCP rate"
#define RING_CAP (1u << 20)
#define BATCH 64

static const char usage[] =
	"usage: bridge_rate [--quick] [--runs N]\n"
	"Messages per second through two membridge bridges over loopback TCP,\n"
	"ring to ring, and through a plain ZeroMQ PUSH/PULL pair.\n";

struct run {
	size_t size;
	uint64_t count;
	char endpoint[64];
	char src[BENCH_NAME_SIZE], dst[BENCH_NAME_SIZE];
	pid_t bridges[2];
	double *seconds; /* shared: the receiver's first-to-last time */
};

static const char *tool(void)
{
	const char *t = getenv("MEMBRIDGE_TOOL");

	return t != NULL ? t : "tools/membridge";
}

/* ------------------------------------------------------------ plain zmq */

static int zmq_sender(void *arg)
{
	struct run *r = arg;
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PUSH);
	char *buf = calloc(1, r->size);
	uint64_t i;

	if (s == NULL || buf == NULL || zmq_connect(s, r->endpoint) != 0)
		return 1;
	for (i = 0; i < r->count; i++) {
		memcpy(buf, &i, sizeof(i) < r->size ? sizeof(i) : r->size);
		if (zmq_send(s, buf, r->size, 0) < 0)
			return 1;
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(buf);
	return 0;
}

static int zmq_receiver(void *arg)
{
	struct run *r = arg;
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_PULL);
	char *buf = malloc(r->size + 1);
	int64_t first = 0;
	uint64_t i;

	if (s == NULL || buf == NULL || zmq_bind(s, r->endpoint) != 0)
		return 1;
	for (i = 0; i < r->count; i++) {
		if (zmq_recv(s, buf, r->size + 1, 0) != (int)r->size)
			return 1;
		if (i == 0)
			first = bench_now_ns();
	}
	*r->seconds = (double)(bench_now_ns() - first) / 1e9;
	zmq_close(s);
	zmq_ctx_term(ctx);
	free(buf);
	return 0;
}

static void zmq_setup(void *arg)
{
	(void)arg;
}

static void zmq_teardown(void *arg)
{
	(void)arg;
}

/* -------------------------------------------------------- the bridges */

static pid_t spawn(const char *const argv[])
{
	pid_t pid = fork();

	if (pid == 0) {
		/* execv() takes char *const[]; it does not write the strings. */
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	if (pid < 0)
		bench_die("fork: %s", strerror(errno));
	return pid;
}

static void bridge_setup(void *arg)
{
	struct run *r = arg;
	char batch[16];

	membridge_spsc_close(bench_ring_create(bench_name(r->src), RING_CAP));
	membridge_spsc_close(bench_ring_create(bench_name(r->dst), RING_CAP));
	snprintf(batch, sizeof(batch), "%d", BATCH);
	{
		const char *in[] = { tool(), "bridge", "--bind", "--batch", batch, r->endpoint,
				     r->dst, NULL };
		const char *out[] = { tool(), "bridge", "--batch", batch, r->src, r->endpoint,
				      NULL };

		r->bridges[0] = spawn(in);
		r->bridges[1] = spawn(out);
	}
}

static void bridge_teardown(void *arg)
{
	struct run *r = arg;
	int i, status;

	for (i = 0; i < 2; i++) {
		kill(r->bridges[i], SIGTERM);
		if (waitpid(r->bridges[i], &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0)
			bench_die("a bridge (%s) did not stop cleanly", tool());
	}
	membridge_segment_remove(r->src);
	membridge_segment_remove(r->dst);
}

static int ring_producer(void *arg)
{
	struct run *r = arg;
	struct membridge_spsc *q = bench_ring_open(r->src);
	struct membridge_iovec iov[BATCH];
	char *buf = calloc(BATCH, r->size);
	uint64_t sent = 0;
	size_t i, pushed;

	if (buf == NULL)
		return 1;
	for (i = 0; i < BATCH; i++)
		iov[i] = (struct membridge_iovec){ buf + i * r->size, r->size };
	while (sent < r->count) {
		size_t n = r->count - sent < BATCH ? (size_t)(r->count - sent) : BATCH;

		for (i = 0; i < n; i++) {
			uint64_t seq = sent + i;

			memcpy(buf + i * r->size, &seq, sizeof(seq) < r->size ? sizeof(seq) : r->size);
		}
		if (membridge_spsc_push_batch(q, iov, n, &pushed, MEMBRIDGE_WAIT_FOREVER) < 0)
			return 1;
		sent += pushed;
	}
	membridge_spsc_close(q);
	free(buf);
	return 0;
}

struct taken {
	uint64_t n;
	size_t size;
	bool bad;
};

static int take(void *ctx, const struct membridge_frame *f)
{
	struct taken *t = ctx;

	t->bad |= f->len != t->size;
	t->n++;
	return 0;
}

static int ring_consumer(void *arg)
{
	struct run *r = arg;
	struct membridge_spsc *q = bench_ring_open(r->dst);
	struct taken t = { 0, r->size, false };
	int64_t first = 0;
	size_t popped;

	while (t.n < r->count) {
		if (membridge_spsc_pop_batch(q, 256, take, &t, &popped, MEMBRIDGE_WAIT_FOREVER) < 0)
			return 1;
		if (first == 0)
			first = bench_now_ns();
	}
	*r->seconds = (double)(bench_now_ns() - first) / 1e9;
	membridge_spsc_close(q);
	return t.bad;
}

static double measure(const struct bench_pair *pair, struct run *r, int runs, int *port)
{
	double *rates = bench_samples((size_t)runs);
	double median;
	int i;

	for (i = 0; i < runs; i++) {
		snprintf(r->endpoint, sizeof(r->endpoint), "tcp://127.0.0.1:%d", (*port)++);
		bench_pair_run(pair, r);
		rates[i] = (double)(r->count - 1) / *r->seconds;
	}
	median = bench_median(rates, (size_t)runs);
	free(rates);
	return median;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 64, 1024 };
	const struct bench_pair plain = { zmq_setup, zmq_receiver, zmq_sender, zmq_teardown };
	const struct bench_pair bridged = { bridge_setup, ring_consumer, ring_producer,
					    bridge_teardown };
	struct bench_opts opts;
	struct run r = { 0 };
	int port = 20000 + (int)(getpid() % 20000);
	size_t i;

	bench_parse_args(argc, argv, usage, &opts);
	if (access(tool(), X_OK) != 0)
		bench_die("%s: no membridge tool (set MEMBRIDGE_TOOL)", tool());
	r.seconds = bench_shared_alloc(sizeof(double));
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char bcase[32];
		double bare, ours;

		r.size = sizes[i];
		r.count = (opts.quick ? 300000 : 2000000) / (r.size > 256 ? 4 : 1);
		snprintf(bcase, sizeof(bcase), "%zu B", r.size);
		fprintf(stderr, "bridge_rate: %s, %llu messages\n", bcase, (unsigned long long)r.count);
		bare = measure(&plain, &r, opts.runs, &port);
		ours = measure(&bridged, &r, opts.runs, &port);
		bench_result(GROUP, bcase, "zeromq", bare, "msg/s");
		bench_result(GROUP, bcase, "membridge", ours, "msg/s");
	}
	bench_note(GROUP, "membridge: producer -> 1 MiB ring -> bridge (PUSH, --batch %d) -> tcp://127.0.0.1 -> bridge (PULL) -> 1 MiB ring -> consumer, four processes; zeromq: one PUSH process sending, one PULL process receiving, default high-water marks; both timed at the receiver, first to last message",
		   BATCH);
	bench_shared_free(r.seconds, sizeof(double));
	return 0;
}
