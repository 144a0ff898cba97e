/* SPDX-License-Identifier: MIT */
/* Latency: 16 B round trips, wake-up of a blocked pop, and the CPU an idle blocked waiter uses. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"
#include "ref-ring.h"

static const char usage[] =
	"Round-trip latency of 16 B messages between two processes (p50/p99/p99.9)\n"
	"over two membridge rings (busy-poll, and blocking calls with a 1 s timeout),\n"
	"two reference rings and two pipes; the wake-up latency of a consumer blocked\n"
	"in membridge_spsc_pop(MEMBRIDGE_WAIT_FOREVER) or read() on a pipe after 1 ms\n"
	"and 100 ms of idling (p50/p99); the CPU time such a waiter uses while idle.\n"
	"Prints RESULT lines.\n";

#define MSG_SIZE      16
#define CAPACITY      ((size_t)1 << 16)
#define CHILD_LIMIT_S 120
#define BLOCK_TIMEOUT INT64_C(1000000000) /* the blocking round trips' timeout */

/* ---------------------------------------------------------- channels */

/* One direction of a conversation: a membridge ring, a reference ring or a pipe. */
enum kind { KIND_MEMBRIDGE, KIND_REF, KIND_PIPE };

struct chan {
	enum kind kind;
	int64_t timeout;     /* membridge: MEMBRIDGE_NO_WAIT spins on -EAGAIN */
	char name[BENCH_NAME_SIZE];
	struct membridge_spsc *q;
	struct ref_ring_shared *ref_shared;
	struct ref_ring ref;
	int fd[2];
};

static void chan_setup(struct chan *c, enum kind kind, int64_t timeout)
{
	c->kind = kind;
	c->timeout = timeout;
	switch (kind) {
	case KIND_MEMBRIDGE:
		c->q = bench_ring_create(bench_name(c->name), CAPACITY);
		break;
	case KIND_REF:
		c->ref_shared = ref_ring_alloc(CAPACITY);
		break;
	case KIND_PIPE:
		if (pipe(c->fd) < 0)
			bench_die("pipe: %s", strerror(errno));
		break;
	}
}

static void chan_teardown(struct chan *c)
{
	switch (c->kind) {
	case KIND_MEMBRIDGE:
		membridge_spsc_close(c->q);
		bench_check(membridge_segment_remove(c->name), "membridge_segment_remove");
		break;
	case KIND_REF:
		ref_ring_free(c->ref_shared, CAPACITY);
		break;
	case KIND_PIPE:
		close(c->fd[0]);
		close(c->fd[1]);
		break;
	}
}

/* In a child: take the sending or the receiving side. */
static void chan_attach(struct chan *c, bool sender)
{
	switch (c->kind) {
	case KIND_MEMBRIDGE:
		c->q = bench_ring_open(c->name);
		break;
	case KIND_REF:
		ref_ring_attach(&c->ref, c->ref_shared, CAPACITY, sender);
		break;
	case KIND_PIPE:
		close(c->fd[sender ? 0 : 1]);
		break;
	}
}

static void chan_send(struct chan *c, const unsigned char msg[MSG_SIZE])
{
	ssize_t w;
	int ret;

	switch (c->kind) {
	case KIND_MEMBRIDGE:
		while ((ret = membridge_spsc_push(c->q, msg, MSG_SIZE, c->timeout)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_push");
		break;
	case KIND_REF:
		ref_ring_put(&c->ref, msg, MSG_SIZE);
		ref_ring_publish(&c->ref);
		break;
	case KIND_PIPE:
		while ((w = write(c->fd[1], msg, MSG_SIZE)) < 0 && errno == EINTR)
			;
		if (w != MSG_SIZE)
			bench_die("write to pipe: %s", w < 0 ? strerror(errno) : "short");
		break;
	}
}

static void chan_recv(struct chan *c, unsigned char msg[MSG_SIZE])
{
	struct ref_frame f;
	size_t len = 0;
	int ret;

	switch (c->kind) {
	case KIND_MEMBRIDGE:
		while ((ret = membridge_spsc_pop(c->q, msg, MSG_SIZE, &len, c->timeout)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_pop");
		break;
	case KIND_REF:
		while (!ref_ring_peek(&c->ref, &f))
			bench_cpu_relax();
		len = f.len;
		if (len == MSG_SIZE) {
			memcpy(msg, f.part[0], f.part_len[0]);
			memcpy(msg + f.part_len[0], f.part[1], f.part_len[1]);
		}
		ref_ring_take(&c->ref, &f);
		ref_ring_release(&c->ref);
		break;
	case KIND_PIPE:
		bench_pipe_read(c->fd[0], msg, MSG_SIZE);
		len = MSG_SIZE;
		break;
	}
	if (len != MSG_SIZE)
		bench_die("received %zu bytes, sent %d", len, MSG_SIZE);
}

/* A message: a sequence number and a CLOCK_MONOTONIC time stamp. */
static void put_msg(unsigned char msg[MSG_SIZE], uint64_t seq, int64_t stamp)
{
	memcpy(msg, &seq, sizeof(seq));
	memcpy(msg + 8, &stamp, sizeof(stamp));
}

static void get_msg(const unsigned char msg[MSG_SIZE], uint64_t want, int64_t *stamp)
{
	uint64_t seq;

	memcpy(&seq, msg, sizeof(seq));
	if (seq != want)
		bench_die("got message #%llu, expected #%llu", (unsigned long long)seq,
			  (unsigned long long)want);
	if (stamp)
		memcpy(stamp, msg + 8, sizeof(*stamp));
}

/* What a measuring child hands back to the parent. */
struct outcome {
	double value[3];
};

/* ---------------------------------------------------------- round trips */

struct pingpong {
	enum kind kind;
	int64_t timeout;
	struct chan to_server;
	struct chan to_client;
	int warm;
	int iters;
	struct outcome *out;
};

static int pp_server(void *arg)
{
	struct pingpong *p = arg;
	unsigned char msg[MSG_SIZE];
	int i;

	alarm(CHILD_LIMIT_S);
	chan_attach(&p->to_server, false);
	chan_attach(&p->to_client, true);
	for (i = 0; i < p->warm + p->iters; i++) {
		chan_recv(&p->to_server, msg);
		chan_send(&p->to_client, msg);
	}
	return 0;
}

static int pp_client(void *arg)
{
	struct pingpong *p = arg;
	unsigned char msg[MSG_SIZE];
	double *rtt = bench_samples((size_t)p->iters);
	int64_t t0, t1;
	int i;

	alarm(CHILD_LIMIT_S);
	chan_attach(&p->to_server, true);
	chan_attach(&p->to_client, false);
	for (i = 0; i < p->warm + p->iters; i++) {
		put_msg(msg, (uint64_t)i, 0);
		t0 = bench_now_ns();
		chan_send(&p->to_server, msg);
		chan_recv(&p->to_client, msg);
		t1 = bench_now_ns();
		get_msg(msg, (uint64_t)i, NULL);
		if (i >= p->warm)
			rtt[i - p->warm] = (double)(t1 - t0);
	}
	p->out->value[0] = bench_percentile(rtt, (size_t)p->iters, 50.0);
	p->out->value[1] = bench_percentile(rtt, (size_t)p->iters, 99.0);
	p->out->value[2] = bench_percentile(rtt, (size_t)p->iters, 99.9);
	free(rtt);
	return 0;
}

static void pp_setup(void *arg)
{
	struct pingpong *p = arg;

	chan_setup(&p->to_server, p->kind, p->timeout);
	chan_setup(&p->to_client, p->kind, p->timeout);
}

static void pp_teardown(void *arg)
{
	struct pingpong *p = arg;

	chan_teardown(&p->to_server);
	chan_teardown(&p->to_client);
}

static void pingpong_run(enum kind kind, int64_t timeout, int iters, struct outcome *out)
{
	static const struct bench_pair pair = { pp_setup, pp_server, pp_client, pp_teardown };
	struct pingpong p = { .kind = kind, .timeout = timeout, .warm = 1000, .iters = iters,
			      .out = out };

	bench_pair_run(&pair, &p);
}

/* ---------------------------------------------------------- wake-ups */

struct wake {
	enum kind kind;
	struct chan chan;
	int64_t idle_ns;
	int samples;
	struct outcome *out;
};

/* Sends samples + 1 messages (the first one untimed), each after idle_ns of
 * silence, stamped with the time just before the send. */
static int wake_producer(void *arg)
{
	struct wake *w = arg;
	unsigned char msg[MSG_SIZE];
	int i;

	alarm(CHILD_LIMIT_S);
	chan_attach(&w->chan, true);
	for (i = 0; i <= w->samples; i++) {
		bench_sleep_ns(w->idle_ns);
		put_msg(msg, (uint64_t)i, bench_now_ns());
		chan_send(&w->chan, msg);
	}
	return 0;
}

static int wake_consumer(void *arg)
{
	struct wake *w = arg;
	unsigned char msg[MSG_SIZE];
	double *lat = bench_samples((size_t)w->samples);
	int64_t stamp, now;
	int i;

	alarm(CHILD_LIMIT_S);
	chan_attach(&w->chan, false);
	for (i = 0; i <= w->samples; i++) {
		chan_recv(&w->chan, msg);
		now = bench_now_ns();
		get_msg(msg, (uint64_t)i, &stamp);
		if (i > 0)
			lat[i - 1] = (double)(now - stamp) / 1e3;
	}
	w->out->value[0] = bench_percentile(lat, (size_t)w->samples, 50.0);
	w->out->value[1] = bench_percentile(lat, (size_t)w->samples, 99.0);
	free(lat);
	return 0;
}

/* CPU use of a waiter blocked for idle_ns: one message after the silence. */
static int idle_consumer(void *arg)
{
	struct wake *w = arg;
	unsigned char msg[MSG_SIZE];
	int64_t t0, t1, cpu0, cpu1;

	alarm(CHILD_LIMIT_S);
	chan_attach(&w->chan, false);
	cpu0 = bench_cpu_ns();
	t0 = bench_now_ns();
	chan_recv(&w->chan, msg);
	t1 = bench_now_ns();
	cpu1 = bench_cpu_ns();
	get_msg(msg, 0, NULL);
	w->out->value[0] = (double)(cpu1 - cpu0) * 100.0 / (double)(t1 - t0);
	return 0;
}

static void wake_setup(void *arg)
{
	struct wake *w = arg;

	chan_setup(&w->chan, w->kind, MEMBRIDGE_WAIT_FOREVER);
}

static void wake_teardown(void *arg)
{
	struct wake *w = arg;

	chan_teardown(&w->chan);
}

static void wake_run(enum kind kind, int (*consumer)(void *), int64_t idle_ns, int samples,
		     struct outcome *out)
{
	const struct bench_pair pair = { wake_setup, consumer, wake_producer, wake_teardown };
	struct wake w = { .kind = kind, .idle_ns = idle_ns, .samples = samples, .out = out };

	bench_pair_run(&pair, &w);
}

/* ---------------------------------------------------------- main */

/* The median over runs of each of `n` figures; runs[r].value[i]. */
static void report(const char *group, const char *const cases[], size_t n, const char *impl,
		   const struct outcome *runs, int nruns, const char *unit)
{
	double v[999];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		for (r = 0; r < nruns; r++)
			v[r] = runs[r].value[i];
		bench_result(group, cases[i], impl, bench_median(v, (size_t)nruns), unit);
	}
}

struct pp_impl {
	const char *name;
	enum kind kind;
	int64_t timeout;
};

int main(int argc, char **argv)
{
	static const struct pp_impl pp_impls[] = {
		{ "membridge", KIND_MEMBRIDGE, MEMBRIDGE_NO_WAIT },
		{ "membridge blocking", KIND_MEMBRIDGE, BLOCK_TIMEOUT },
		{ "reference ring", KIND_REF, 0 },
		{ "pipe", KIND_PIPE, 0 },
	};
	static const char *const pp_cases[] = { "p50", "p99", "p99.9" };
	static const struct { const char *name; enum kind kind; } wake_impls[] = {
		{ "membridge", KIND_MEMBRIDGE }, { "pipe", KIND_PIPE },
	};
	static const char *const idle_case[] = { "CPU time while blocked" };
	const size_t npp = sizeof(pp_impls) / sizeof(pp_impls[0]);
	const size_t nwake = sizeof(wake_impls) / sizeof(wake_impls[0]);
	struct bench_opts opts;
	struct outcome *out, *runs;
	int iters, wake_runs, r, k;
	size_t i;

	bench_parse_args(argc, argv, usage, &opts);
	iters = opts.quick ? 10000 : 50000;
	/* a wake-up sample costs its idle period: at most 3 runs (1 with --quick) */
	wake_runs = opts.quick ? 1 : (opts.runs < 3 ? opts.runs : 3);
	out = bench_shared_alloc(sizeof(*out));
	runs = calloc(npp * (size_t)opts.runs, sizeof(*runs));
	if (!runs)
		bench_die("out of memory");

	fprintf(stderr, "round trip 16 B: %d round trips, %d runs\n", iters, opts.runs);
	for (r = 0; r < opts.runs; r++) {
		for (i = 0; i < npp; i++) {
			pingpong_run(pp_impls[i].kind, pp_impls[i].timeout, iters, out);
			runs[i * (size_t)opts.runs + (size_t)r] = *out;
		}
	}
	for (i = 0; i < npp; i++)
		report("round trip 16 B", pp_cases, 3, pp_impls[i].name,
		       runs + i * (size_t)opts.runs, opts.runs, "ns");
	bench_note("round trip 16 B", "client on CPU 0 sends message i, the server on CPU 1 "
		   "echoes it through a second channel, the client checks it; %d round trips "
		   "per run after 1000 untimed, percentiles of each run, median of %d runs",
		   iters, opts.runs);
	bench_note("round trip 16 B", "membridge: push/pop with MEMBRIDGE_NO_WAIT retried "
		   "(busy-poll, like the reference ring); membridge blocking: push/pop with a "
		   "1 s timeout (the library spins briefly, then sleeps on the futex)");

	for (k = 0; k < 2; k++) {
		int64_t idle = k ? 100000000 : 1000000;
		int samples = k ? (opts.quick ? 10 : 50) : (opts.quick ? 100 : 500);
		char c50[32], c99[32];
		const char *cases[] = { c50, c99 };

		snprintf(c50, sizeof(c50), "%s idle, p50", k ? "100 ms" : "1 ms");
		snprintf(c99, sizeof(c99), "%s idle, p99", k ? "100 ms" : "1 ms");
		fprintf(stderr, "wake-up after %s idle: %d samples, %d runs\n",
			k ? "100 ms" : "1 ms", samples, wake_runs);
		for (r = 0; r < wake_runs; r++) {
			for (i = 0; i < nwake; i++) {
				wake_run(wake_impls[i].kind, wake_consumer, idle, samples, out);
				runs[i * (size_t)opts.runs + (size_t)r] = *out;
			}
		}
		for (i = 0; i < nwake; i++)
			report("wake-up latency", cases, 2, wake_impls[i].name,
			       runs + i * (size_t)opts.runs, wake_runs, "us");
	}
	bench_note("wake-up latency", "the consumer (CPU 1) blocks in membridge_spsc_pop("
		   "MEMBRIDGE_WAIT_FOREVER) or read(); the producer (CPU 0) sleeps for the idle "
		   "period, stamps the time and sends 16 B; latency = clock when pop/read returns "
		   "- stamp; 500 (1 ms) and 50 (100 ms) samples per run%s, median of %d run(s)",
		   opts.quick ? " (100 and 10 with --quick)" : "", wake_runs);

	{
		int64_t idle = opts.quick ? 500000000 : 2000000000;

		fprintf(stderr, "idle blocked waiter: %.1f s, %d runs\n", (double)idle / 1e9,
			wake_runs);
		for (r = 0; r < wake_runs; r++) {
			for (i = 0; i < nwake; i++) {
				wake_run(wake_impls[i].kind, idle_consumer, idle, 0, out);
				runs[i * (size_t)opts.runs + (size_t)r] = *out;
			}
		}
		for (i = 0; i < nwake; i++)
			report("idle blocked waiter", idle_case, 1, wake_impls[i].name,
			       runs + i * (size_t)opts.runs, wake_runs, "%core");
		bench_note("idle blocked waiter", "user + system time (getrusage) of a consumer "
			   "blocked for %.1f s in membridge_spsc_pop(MEMBRIDGE_WAIT_FOREVER) or "
			   "read(), as %% of one core; median of %d run(s)", (double)idle / 1e9,
			   wake_runs);
	}
	free(runs);
	bench_shared_free(out, sizeof(*out));
	return 0;
}
