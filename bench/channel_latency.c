/* SPDX-License-Identifier: MIT */
/* Channel latency: 16 B and 1 MiB round trips next to the rings and iceoryx, descriptor wake-ups, an idle subscriber's CPU. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"
#include "channel-common.h"
#include "ref-ring.h"
#ifdef MB_BENCH_ICEORYX
#include "iceoryx-peer.h"
#endif

static const char usage[] =
	"Round trips between two processes (p50/p99) through two membridge channels\n"
	"(busy-poll and blocking), two membridge rings, two reference rings and\n"
	"iceoryx (when built with it): 16 B messages, and 1 MiB messages of which\n"
	"only the first and last 8 bytes are written and read, or all of them; the\n"
	"wake-up latency of a subscriber waiting in poll(2) on its descriptor or in\n"
	"receive(MEMBRIDGE_WAIT_FOREVER), next to read() on a pipe; the CPU time of\n"
	"an idle blocked subscriber. Prints RESULT, NOTE and GOAL lines.\n";

#define SMALL         16
#define LARGE         ((size_t)1 << 20)
#define CHILD_LIMIT_S 120
#define IOX_QUEUE     16

/* ---------------------------------------------------------- one direction */

/* How a receiver waits: spinning on MEMBRIDGE_NO_WAIT (or the peer's
 * non-blocking take), in the call (MEMBRIDGE_WAIT_FOREVER, read()), or in
 * poll(2) on the subscriber's descriptor. */
enum wait { WAIT_SPIN, WAIT_BLOCK, WAIT_FD };

struct dir {
	struct link link;
	enum wait wait;
	size_t len;              /* every message's length */
	unsigned char *buf;      /* copying transports: the message outside */
};

static void dir_setup(struct dir *d, enum link_kind kind, enum wait wait, size_t len)
{
	d->wait = wait;
	d->len = len;
	/* room for two messages and their headers, a power of two */
	link_setup(&d->link, kind, len < 4096 ? (size_t)1 << 16 : 4 * len, len, 1);
}

/* In a child: take the sending or the receiving side. */
static void dir_attach(struct dir *d, bool sender)
{
	d->buf = malloc(d->len);
	if (!d->buf)
		bench_die("out of memory");
	link_attach(&d->link, sender, IOX_QUEUE);
	if (d->link.kind == LINK_CHANNEL && !sender && d->wait == WAIT_FD)
		bench_check(membridge_subscriber_fd(d->link.sub), "membridge_subscriber_fd");
}

static void dir_detach(struct dir *d, bool sender)
{
	link_detach(&d->link, sender);
	free(d->buf);
}

static int64_t dir_timeout(const struct dir *d)
{
	return d->wait == WAIT_BLOCK ? MEMBRIDGE_WAIT_FOREVER : MEMBRIDGE_NO_WAIT;
}

/* Sender: where to write the next message (in the channel or iceoryx's
 * chunk: in place; else the private buffer, copied in by dir_send). */
static void *dir_begin(struct dir *d)
{
	void *data;
	int ret;

	switch (d->link.kind) {
	case LINK_CHANNEL:
		while ((ret = membridge_publisher_loan(d->link.pub, d->len, &data,
						       dir_timeout(d))) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_publisher_loan");
		return data;
	case LINK_IOX:
#ifdef MB_BENCH_ICEORYX
		return bench_iox_loan(d->link.ipub, d->len);
#endif
	case LINK_RING:
	case LINK_REF:
	case LINK_PIPE:
		break;
	}
	return d->buf;
}

static void dir_send(struct dir *d, void *data)
{
	size_t done = 0;
	ssize_t w;
	int ret;

	switch (d->link.kind) {
	case LINK_CHANNEL:
		bench_check(membridge_publisher_publish(d->link.pub),
			    "membridge_publisher_publish");
		break;
	case LINK_RING:
		while ((ret = membridge_spsc_push(d->link.q, data, d->len, dir_timeout(d))) ==
		       -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_push");
		break;
	case LINK_REF:
		ref_ring_put(&d->link.ref, data, (uint32_t)d->len);
		ref_ring_publish(&d->link.ref);
		break;
	case LINK_IOX:
#ifdef MB_BENCH_ICEORYX
		bench_iox_publish(d->link.ipub, data);
#endif
		break;
	case LINK_PIPE:
		while (done < d->len) {
			w = write(d->link.fd[1], (unsigned char *)data + done, d->len - done);
			if (w < 0 && errno != EINTR)
				bench_die("write to pipe: %s", strerror(errno));
			if (w > 0)
				done += (size_t)w;
		}
		break;
	}
}

/* The channel's subscriber: the next message, waiting as d->wait says. */
static const void *channel_receive(struct dir *d, uint64_t *seq)
{
	struct membridge_message m;
	struct pollfd pfd;
	int ret;

	for (;;) {
		ret = membridge_subscriber_receive(d->link.sub, &m, dir_timeout(d));
		if (ret != -EAGAIN)
			break;
		if (d->wait == WAIT_FD) {
			/* edge style: -EAGAIN armed the descriptor */
			pfd.fd = membridge_subscriber_fd(d->link.sub);
			pfd.events = POLLIN;
			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				bench_die("poll: %s", strerror(errno));
		} else {
			bench_cpu_relax();
		}
	}
	bench_check(ret, "membridge_subscriber_receive");
	if (m.len != d->len)
		bench_die("channel: a message of %zu bytes, sent %zu", m.len, d->len);
	*seq = m.seq;
	return m.data;
}

/* Receiver: the next message (in place where the transport allows; in the
 * private buffer otherwise), until dir_done(). *seq gets the transport's
 * own sequence number where it has one (else it is left alone). */
static const void *dir_recv(struct dir *d, uint64_t *seq)
{
	struct ref_frame f;
	size_t len = 0;
	int ret;

	switch (d->link.kind) {
	case LINK_CHANNEL:
		return channel_receive(d, seq);
	case LINK_RING:
		while ((ret = membridge_spsc_pop(d->link.q, d->buf, d->len, &len,
						 dir_timeout(d))) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_pop");
		break;
	case LINK_REF:
		while (!ref_ring_peek(&d->link.ref, &f))
			bench_cpu_relax();
		len = f.len;
		if (len != d->len)
			break;
		if (f.part_len[1] == 0)
			return f.part[0];
		memcpy(d->buf, f.part[0], f.part_len[0]);
		memcpy(d->buf + f.part_len[0], f.part[1], f.part_len[1]);
		break;
	case LINK_IOX:
#ifdef MB_BENCH_ICEORYX
		return bench_iox_take(d->link.isub);
#endif
	case LINK_PIPE:
		bench_pipe_read(d->link.fd[0], d->buf, d->len);
		len = d->len;
		break;
	}
	if (len != d->len)
		bench_die("received %zu bytes, sent %zu", len, d->len);
	return d->buf;
}

/* Receiver: give the message back. */
static void dir_done(struct dir *d, const void *data)
{
	struct ref_frame f;

	switch (d->link.kind) {
	case LINK_CHANNEL:
		bench_check(membridge_subscriber_release(d->link.sub),
			    "membridge_subscriber_release");
		break;
	case LINK_REF:
		f.len = d->len;
		ref_ring_take(&d->link.ref, &f);
		ref_ring_release(&d->link.ref);
		break;
	case LINK_IOX:
#ifdef MB_BENCH_ICEORYX
		bench_iox_release(d->link.isub, data);
#endif
		break;
	case LINK_RING:
	case LINK_PIPE:
		break;
	}
	(void)data;
}

/* What a measuring child hands back to the parent. */
struct outcome {
	double value[2];
	struct bench_barrier attached; /* both sides are in: nothing sent is lost */
	_Atomic int done;              /* round trips: the client took its last reply */
};

/* ---------------------------------------------------------- round trips */

struct pingpong {
	enum link_kind kind;
	enum wait wait;
	size_t len;
	struct dir to_server;
	struct dir to_client;
	bool whole;              /* write and read the whole payload, not its ends */
	int warm;
	int iters;
	struct outcome *out;
};

static void stamp(const struct pingpong *p, void *data, size_t len, uint64_t seq)
{
	if (p->whole)
		stamp_whole(data, len, seq);
	else
		stamp_ends(data, len, seq);
}

/* The next message must be `want`, by content and by the transport's number. */
static void expect(const struct pingpong *p, struct dir *d, uint64_t want)
{
	uint64_t seq = want;
	const void *data = dir_recv(d, &seq);

	if (seq != want || !(p->whole ? check_whole(data, d->len, want)
				       : check_ends(data, d->len, want)))
		bench_die("round trip: message #%llu is wrong", (unsigned long long)want);
	dir_done(d, data);
}

static int pp_server(void *arg)
{
	struct pingpong *p = arg;
	void *data;
	int i;

	alarm(CHILD_LIMIT_S);
	link_join(&p->to_server.link);
	dir_attach(&p->to_server, false);
	dir_attach(&p->to_client, true);
	bench_barrier_wait(&p->out->attached);
	for (i = 0; i < p->warm + p->iters; i++) {
		expect(p, &p->to_server, (uint64_t)i);
		data = dir_begin(&p->to_client);
		stamp(p, data, p->to_client.len, (uint64_t)i);
		dir_send(&p->to_client, data);
	}
	/* the last reply is taken before its sender leaves (iceoryx drops it) */
	while (!atomic_load(&p->out->done))
		bench_sleep_ns(100000);
	dir_detach(&p->to_server, false);
	dir_detach(&p->to_client, true);
	link_leave(&p->to_server.link);
	return 0;
}

static int pp_client(void *arg)
{
	struct pingpong *p = arg;
	double *rtt = bench_samples((size_t)p->iters);
	int64_t t0, t1;
	void *data;
	int i;

	alarm(CHILD_LIMIT_S);
	link_join(&p->to_server.link);
	dir_attach(&p->to_server, true);
	dir_attach(&p->to_client, false);
	bench_barrier_wait(&p->out->attached);
	for (i = 0; i < p->warm + p->iters; i++) {
		t0 = bench_now_ns();
		data = dir_begin(&p->to_server);
		stamp(p, data, p->to_server.len, (uint64_t)i);
		dir_send(&p->to_server, data);
		expect(p, &p->to_client, (uint64_t)i);
		t1 = bench_now_ns();
		if (i >= p->warm)
			rtt[i - p->warm] = (double)(t1 - t0);
	}
	atomic_store(&p->out->done, 1);
	dir_detach(&p->to_server, true);
	dir_detach(&p->to_client, false);
	link_leave(&p->to_server.link);
	p->out->value[0] = bench_percentile(rtt, (size_t)p->iters, 50.0);
	p->out->value[1] = bench_percentile(rtt, (size_t)p->iters, 99.0);
	free(rtt);
	return 0;
}

static void pp_setup(void *arg)
{
	struct pingpong *p = arg;

	atomic_store(&p->out->done, 0);
	dir_setup(&p->to_server, p->kind, p->wait, p->len);
	dir_setup(&p->to_client, p->kind, p->wait, p->len);
}

static void pp_teardown(void *arg)
{
	struct pingpong *p = arg;

	link_teardown(&p->to_server.link);
	link_teardown(&p->to_client.link);
}

static void pingpong_run(enum link_kind kind, enum wait wait, size_t len, bool whole, int iters,
			 struct outcome *out)
{
	static const struct bench_pair pair = { pp_setup, pp_server, pp_client, pp_teardown };
	struct pingpong p = { .kind = kind, .wait = wait, .len = len, .whole = whole,
			      .warm = iters / 10, .iters = iters, .out = out };

	bench_pair_run(&pair, &p);
}

/* ---------------------------------------------------------- wake-ups */

struct wake {
	enum link_kind kind;
	enum wait wait;
	struct dir dir;
	int64_t idle_ns;
	int samples;
	struct outcome *out;
};

/* Sends samples + 1 messages (the first untimed), each after idle_ns of
 * silence, carrying the time just before the send. */
static int wake_sender(void *arg)
{
	struct wake *w = arg;
	int64_t now;
	void *data;
	int i;

	alarm(CHILD_LIMIT_S);
	dir_attach(&w->dir, true);
	bench_barrier_wait(&w->out->attached);
	for (i = 0; i <= w->samples; i++) {
		bench_sleep_ns(w->idle_ns);
		data = dir_begin(&w->dir);
		now = bench_now_ns();
		memcpy(data, &now, sizeof(now));
		memcpy((unsigned char *)data + 8, &i, sizeof(i));
		dir_send(&w->dir, data);
	}
	dir_detach(&w->dir, true);
	return 0;
}

/* The next message: its time stamp; it must be number i. */
static int64_t wake_recv(struct wake *w, int i)
{
	uint64_t seq = (uint64_t)i;
	const void *data = dir_recv(&w->dir, &seq);
	int64_t stamp;
	int got;

	memcpy(&stamp, data, sizeof(stamp));
	memcpy(&got, (const unsigned char *)data + 8, sizeof(got));
	if (got != i || seq != (uint64_t)i)
		bench_die("wake-up: got message #%d, expected #%d", got, i);
	dir_done(&w->dir, data);
	return stamp;
}

static int wake_receiver(void *arg)
{
	struct wake *w = arg;
	double *lat = bench_samples((size_t)w->samples);
	int64_t stamp, now;
	int i;

	alarm(CHILD_LIMIT_S);
	dir_attach(&w->dir, false);
	bench_barrier_wait(&w->out->attached);
	for (i = 0; i <= w->samples; i++) {
		stamp = wake_recv(w, i);
		now = bench_now_ns();
		if (i > 0)
			lat[i - 1] = (double)(now - stamp) / 1e3;
	}
	dir_detach(&w->dir, false);
	w->out->value[0] = bench_percentile(lat, (size_t)w->samples, 50.0);
	w->out->value[1] = bench_percentile(lat, (size_t)w->samples, 99.0);
	free(lat);
	return 0;
}

/* The CPU use of a receiver blocked for idle_ns: one message after the silence. */
static int idle_receiver(void *arg)
{
	struct wake *w = arg;
	int64_t t0, t1, cpu0, cpu1;

	alarm(CHILD_LIMIT_S);
	dir_attach(&w->dir, false);
	bench_barrier_wait(&w->out->attached);
	cpu0 = bench_cpu_ns();
	t0 = bench_now_ns();
	wake_recv(w, 0);
	t1 = bench_now_ns();
	cpu1 = bench_cpu_ns();
	dir_detach(&w->dir, false);
	w->out->value[0] = (double)(cpu1 - cpu0) * 100.0 / (double)(t1 - t0);
	return 0;
}

static void wake_setup(void *arg)
{
	struct wake *w = arg;

	dir_setup(&w->dir, w->kind, w->wait, SMALL);
}

static void wake_teardown(void *arg)
{
	struct wake *w = arg;

	link_teardown(&w->dir.link);
}

static void wake_run(enum link_kind kind, enum wait wait, int (*receiver)(void *),
		     int64_t idle_ns, int samples, struct outcome *out)
{
	const struct bench_pair pair = { wake_setup, receiver, wake_sender, wake_teardown };
	struct wake w = { .kind = kind, .wait = wait, .idle_ns = idle_ns, .samples = samples,
			  .out = out };

	bench_pair_run(&pair, &w);
}

/* ---------------------------------------------------------- main */

struct impl {
	const char *name;
	enum link_kind kind;
	enum wait wait;
};

/* The median over runs of figure i of each impl: runs[impl * nruns + run]. */
static void report(const char *group, const char *bcase, size_t i, const struct impl *impls,
		   size_t n, const struct outcome *runs, int nruns, const char *unit)
{
	double v[999];
	size_t k;
	int r;

	for (k = 0; k < n; k++) {
		for (r = 0; r < nruns; r++)
			v[r] = runs[k * (size_t)nruns + (size_t)r].value[i];
		bench_result(group, bcase, impls[k].name, bench_median(v, (size_t)nruns), unit);
	}
}

/* One round-trip group: p50 and p99 of each impl, runs outermost. */
static void round_trips(const char *group, const char *label, const struct impl *impls,
			size_t n, size_t len, bool whole, int iters, int nruns,
			struct outcome *runs, struct outcome *out)
{
	char c50[64], c99[64];
	size_t k;
	int r;

	fprintf(stderr, "%s: %s%s%d round trips, %d runs\n", group, label, *label ? ": " : "",
		iters, nruns);
	for (r = 0; r < nruns; r++) {
		for (k = 0; k < n; k++) {
			pingpong_run(impls[k].kind, impls[k].wait, len, whole, iters, out);
			runs[k * (size_t)nruns + (size_t)r] = *out;
		}
	}
	snprintf(c50, sizeof(c50), "%s%sp50", label, *label ? ", " : "");
	snprintf(c99, sizeof(c99), "%s%sp99", label, *label ? ", " : "");
	report(group, c50, 0, impls, n, runs, nruns, "ns");
	report(group, c99, 1, impls, n, runs, nruns, "ns");
}

#define RT_SMALL "channel round trip 16 B"
#define RT_LARGE "channel round trip 1 MiB"
#define WAKE     "channel wake-up"
#define IDLE     "channel idle subscriber"

int main(int argc, char **argv)
{
	struct impl small[6] = {
		{ "membridge", LINK_CHANNEL, WAIT_SPIN },
		{ "membridge blocking", LINK_CHANNEL, WAIT_BLOCK },
		{ "membridge ring", LINK_RING, WAIT_SPIN },
		{ "reference ring", LINK_REF, WAIT_SPIN },
	};
	struct impl large[3] = {
		{ "membridge", LINK_CHANNEL, WAIT_SPIN },
		{ "membridge ring", LINK_RING, WAIT_SPIN },
	};
	static const struct impl wake_impls[] = {
		{ "membridge", LINK_CHANNEL, WAIT_FD },
		{ "membridge receive(WAIT_FOREVER)", LINK_CHANNEL, WAIT_BLOCK },
		{ "pipe", LINK_PIPE, WAIT_BLOCK },
	};
	/* an idle subscriber: ours is the one blocked in receive */
	static const struct impl idle_impls[] = {
		{ "membridge", LINK_CHANNEL, WAIT_BLOCK },
		{ "membridge poll(fd)", LINK_CHANNEL, WAIT_FD },
		{ "pipe", LINK_PIPE, WAIT_BLOCK },
	};
	const size_t nwake = sizeof(wake_impls) / sizeof(wake_impls[0]);
	const size_t nidle = sizeof(idle_impls) / sizeof(idle_impls[0]);
	size_t nsmall = 4, nlarge = 2, k;
	char why[256] = "configure found no iceoryx C binding (Debian: libiceoryx-binding-c-dev)";
	struct bench_opts opts;
	struct outcome *out, *runs;
	int iters, large_iters, wake_runs, samples, r;
	int64_t idle;

	bench_parse_args(argc, argv, usage, &opts);
	iters = opts.quick ? 10000 : 50000;
	large_iters = opts.quick ? 100 : 1000;
	/* a wake-up sample costs its idle period: at most 3 runs (1 with --quick) */
	wake_runs = opts.quick ? 1 : (opts.runs < 3 ? opts.runs : 3);
	out = bench_shared_alloc(sizeof(*out));
	runs = calloc(6 * (size_t)opts.runs, sizeof(*runs));
	if (!runs)
		bench_die("out of memory");
#ifdef MB_BENCH_ICEORYX
	if (bench_iox_start(why, sizeof(why)) == 0) {
		small[nsmall++] = (struct impl){ "iceoryx", LINK_IOX, WAIT_SPIN };
		large[nlarge++] = (struct impl){ "iceoryx", LINK_IOX, WAIT_SPIN };
	}
#endif
	round_trips(RT_SMALL, "", small, nsmall, SMALL, false, iters, opts.runs, runs, out);
	bench_note(RT_SMALL, "client on CPU 0 sends message i, the server on CPU 1 checks it and "
		   "answers with message i through a second channel, the client checks that; "
		   "%d round trips per run after a tenth as many untimed, percentiles of each run, "
		   "median of %d runs", iters, opts.runs);
	bench_note(RT_SMALL, "membridge: loan+publish, receive+release, MEMBRIDGE_NO_WAIT retried "
		   "(busy-poll, like the reference ring and iceoryx's take); membridge blocking: "
		   "MEMBRIDGE_WAIT_FOREVER; membridge ring: push/pop, busy-poll");
	round_trips(RT_LARGE, "ends written", large, nlarge, LARGE, false, large_iters,
		    opts.runs, runs, out);
	round_trips(RT_LARGE, "whole payload", large, nlarge, LARGE, true, large_iters,
		    opts.runs, runs, out);
	bench_note(RT_LARGE, "as the 16 B round trip with 1 MiB messages, busy-poll, %d round "
		   "trips per run, median of %d runs; ends written: the sender writes only the "
		   "first and last 8 bytes, the receiver reads only those; whole payload: the "
		   "sender writes every 8-byte word, the receiver reads and checks every one",
		   large_iters, opts.runs);
	bench_note(RT_LARGE, "membridge and iceoryx write into the loaned message and read it "
		   "in place; membridge ring: written into a private buffer, copied in by push "
		   "and out by pop, read there");
	if (nsmall == 4) {
		bench_note(RT_SMALL, "iceoryx skipped: %s", why);
		bench_note(RT_LARGE, "iceoryx skipped: %s", why);
	}
#ifdef MB_BENCH_ICEORYX
	else
		bench_iox_stop();
#endif

	idle = 1000000;
	samples = opts.quick ? 100 : 500;
	fprintf(stderr, "%s: 1 ms idle, %d samples, %d runs\n", WAKE, samples, wake_runs);
	for (r = 0; r < wake_runs; r++) {
		for (k = 0; k < nwake; k++) {
			wake_run(wake_impls[k].kind, wake_impls[k].wait, wake_receiver, idle,
				 samples, out);
			runs[k * (size_t)wake_runs + (size_t)r] = *out;
		}
	}
	report(WAKE, "1 ms idle, p50", 0, wake_impls, nwake, runs, wake_runs, "us");
	report(WAKE, "1 ms idle, p99", 1, wake_impls, nwake, runs, wake_runs, "us");
	bench_note(WAKE, "the subscriber (CPU 1) waits; the publisher (CPU 0) sleeps 1 ms, "
		   "stamps the time, publishes 16 B; latency = clock when the message is in hand "
		   "- stamp; membridge: receive(MEMBRIDGE_NO_WAIT) until -EAGAIN, then poll(2) "
		   "on membridge_subscriber_fd(), then receive again; pipe: a blocking read(); "
		   "%d samples per run, median of %d run(s)", samples, wake_runs);

	idle = opts.quick ? 500000000 : 2000000000;
	fprintf(stderr, "%s: %.1f s, %d runs\n", IDLE, (double)idle / 1e9, wake_runs);
	for (r = 0; r < wake_runs; r++) {
		for (k = 0; k < nidle; k++) {
			wake_run(idle_impls[k].kind, idle_impls[k].wait, idle_receiver, idle, 0,
				 out);
			runs[k * (size_t)wake_runs + (size_t)r] = *out;
		}
	}
	report(IDLE, "CPU time while blocked", 0, idle_impls, nidle, runs, wake_runs, "%core");
	bench_note(IDLE, "user + system time (getrusage) of a subscriber waiting %.1f s for one "
		   "message, as %% of one core: membridge in receive(MEMBRIDGE_WAIT_FOREVER), "
		   "membridge poll(fd) in poll(2) on its descriptor, pipe in read(); median of "
		   "%d run(s)", (double)idle / 1e9, wake_runs);
	free(runs);
	bench_shared_free(out, sizeof(*out));
	return 0;
}
