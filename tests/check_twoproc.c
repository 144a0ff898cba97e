/* SPDX-License-Identifier: MIT */
/* Check suite with real processes: a streamed ring, wake-ups, view atomicity, EINTR. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define FH MEMBRIDGE_SPSC_FRAME_HEADER
/* A child that is stuck this long is killed by its own alarm. */
#define CHILD_ALARM_S 90

/* Write (out) or read exactly n bytes of a pipe; false on EOF or error. */
static bool pipe_all(int fd, void *buf, size_t n, bool out)
{
	char *p = buf;

	while (n) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static bool write_all(int fd, void *buf, size_t n)
{
	return pipe_all(fd, buf, n, true);
}

static bool read_all(int fd, void *buf, size_t n)
{
	return pipe_all(fd, buf, n, false);
}

/* In a child: open the named segment and on it a ring (q) or else a view
 * (view); no Check asserts. */
static int child_open(const char *name, struct membridge_segment **seg,
		      struct membridge_spsc **q, struct membridge_view **view)
{
	int ret = membridge_segment_open(name, 0, seg);

	if (ret == 0) {
		ret = q ? membridge_spsc_open(*seg, q) : membridge_view_open(*seg, view);
		if (ret < 0)
			membridge_segment_close(*seg);
	}
	if (ret < 0)
		fprintf(stderr, "child %ld: cannot open %s %s: %s\n", (long)getpid(),
			q ? "ring" : "view", name, membridge_strerror(ret));
	return ret;
}

/* In the parent: a fresh segment, named into `name`, holding a ring of cap
 * bytes. Out-parameters keep the handles in memory, where valgrind still sees
 * them from a forked child that exits (a returned pointer may live in a register). */
static void ring_create(char name[MBT_NAME_SIZE], size_t cap, struct membridge_segment **seg,
			struct membridge_spsc **q)
{
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, cap + MEMBRIDGE_SPSC_HEADER, 0, 0, seg));
	mbt_assert_ok(membridge_spsc_open(*seg, q));
}

/* Close what ring_create() opened and remove its segment. */
static void ring_destroy(const char *name, struct membridge_segment *seg,
			 struct membridge_spsc *q)
{
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}

/* Fork fn(arg) with the write end of a new pipe in *child_fd (set before the
 * fork); the parent keeps only the read end, returned in *parent_fd. */
static pid_t fork_piped(int (*fn)(void *arg), void *arg, int *child_fd, int *parent_fd)
{
	int fds[2];
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	*child_fd = fds[1];
	pid = mbt_fork(fn, arg);
	close(fds[1]);
	*parent_fd = fds[0];
	return pid;
}

/* ------------------------------------------------------------ the stream */

#define STREAM_CAP (64 * 1024)
#define STREAM_TIMEOUT (5000 * MBT_MS)
#define STREAM_BATCH 8

struct stream {
	char name[MBT_NAME_SIZE];
	uint64_t count;
};

static uint64_t mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

static uint32_t fnv1a(const unsigned char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Payload length of message seq: mostly small, some large, every 1000th the
 * largest possible (capacity - 4) and every 1000th empty. */
static size_t msg_len(uint64_t seq)
{
	uint64_t h = mix64(seq);
	unsigned r = (unsigned)(h % 1000);

	if (seq % 1000 == 999)
		return STREAM_CAP - FH;
	if (seq % 1000 == 500)
		return 0;
	if (r < 50)
		return (size_t)((h >> 32) % 8);
	if (r < 900)
		return 8 + (size_t)((h >> 32) % 256);
	if (r < 990)
		return 264 + (size_t)((h >> 32) % (4096 - 264));
	return 4096 + (size_t)((h >> 32) % (STREAM_CAP - FH - 4096 + 1));
}

/* Message bodies are slices of one pseudo-random pattern. */
static unsigned char pattern[2 * STREAM_CAP];

static void pattern_init(void)
{
	size_t i;

	for (i = 0; i < sizeof(pattern); i += 8) {
		uint64_t v = mix64(i ^ UINT64_C(0xabcdef));

		memcpy(pattern + i, &v, 8);
	}
}

static const unsigned char *body_of(uint64_t seq)
{
	return pattern + mix64(seq ^ UINT64_C(0x5555)) % STREAM_CAP;
}

/* Messages of 8 bytes and more: uint32 seq, body, uint32 FNV-1a of the body.
 * Shorter ones: the first bytes of (uint32 seq, uint32 ~seq). */
static void small_msg(uint64_t seq, unsigned char out[8])
{
	uint32_t s = (uint32_t)seq, t = ~s;

	memcpy(out, &s, 4);
	memcpy(out + 4, &t, 4);
}

static size_t build_msg(uint64_t seq, unsigned char *out)
{
	size_t len = msg_len(seq);
	uint32_t s = (uint32_t)seq, c;

	if (len < 8) {
		unsigned char small[8];

		small_msg(seq, small);
		memcpy(out, small, len);
		return len;
	}
	memcpy(out, &s, 4);
	memcpy(out + 4, body_of(seq), len - 8);
	c = fnv1a(body_of(seq), len - 8);
	memcpy(out + len - 4, &c, 4);
	return len;
}

/* 0 if data/len is message seq; otherwise says what is wrong. */
static int check_msg(uint64_t seq, const unsigned char *data, size_t len)
{
	size_t want = msg_len(seq);
	uint32_t s, c;

	if (len != want) {
		fprintf(stderr, "consumer: message %llu has %zu bytes, expected %zu\n",
			(unsigned long long)seq, len, want);
		return -1;
	}
	if (len < 8) {
		unsigned char small[8];

		small_msg(seq, small);
		if (len && memcmp(data, small, len)) {
			fprintf(stderr, "consumer: short message %llu corrupt\n",
				(unsigned long long)seq);
			return -1;
		}
		return 0;
	}
	memcpy(&s, data, 4);
	memcpy(&c, data + len - 4, 4);
	if (s != (uint32_t)seq) {
		fprintf(stderr, "consumer: got sequence number %u, expected %llu\n", s,
			(unsigned long long)seq);
		return -1;
	}
	if (c != fnv1a(data + 4, len - 8) || memcmp(data + 4, body_of(seq), len - 8)) {
		fprintf(stderr, "consumer: message %llu (%zu bytes) fails its checksum\n",
			(unsigned long long)seq, len);
		return -1;
	}
	return 0;
}

static int producer_main(void *arg)
{
	const struct stream *st = arg;
	struct membridge_iovec iov[STREAM_BATCH];
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	unsigned char *scratch;
	uint64_t seq = 0;
	int ret = 0;

	alarm(CHILD_ALARM_S);
	if (child_open(st->name, &seg, &q, NULL) < 0)
		return 10;
	scratch = malloc((size_t)STREAM_BATCH * STREAM_CAP);
	if (!scratch)
		return 11;
	while (seq < st->count && ret == 0) {
		uint64_t h = mix64(seq ^ UINT64_C(0x1234));
		size_t len;

		switch (h % 3) {
		case 0: /* one contiguous push */
			len = build_msg(seq, scratch);
			ret = membridge_spsc_push(q, scratch, len, STREAM_TIMEOUT);
			seq++;
			break;
		case 1: { /* gathered from pieces, one of them empty */
			size_t n = msg_len(seq), cut = n > 8 ? (size_t)((h >> 8) % (n - 8)) : 0;
			uint32_t s = (uint32_t)seq, c;
			unsigned char small[8];
			struct membridge_iovec v[5];

			if (n < 8) {
				small_msg(seq, small);
				v[0] = (struct membridge_iovec){ small, n / 2 };
				v[1] = (struct membridge_iovec){ NULL, 0 };
				v[2] = (struct membridge_iovec){ small + n / 2, n - n / 2 };
				ret = membridge_spsc_pushv(q, v, 3, STREAM_TIMEOUT);
			} else {
				c = fnv1a(body_of(seq), n - 8);
				v[0] = (struct membridge_iovec){ &s, 4 };
				v[1] = (struct membridge_iovec){ body_of(seq), cut };
				v[2] = (struct membridge_iovec){ NULL, 0 };
				v[3] = (struct membridge_iovec){ body_of(seq) + cut, n - 8 - cut };
				v[4] = (struct membridge_iovec){ &c, 4 };
				ret = membridge_spsc_pushv(q, v, 5, STREAM_TIMEOUT);
			}
			seq++;
			break;
		}
		default: { /* a batch, resubmitting what did not fit */
			size_t k = 1 + (size_t)((h >> 8) % STREAM_BATCH), i, done = 0, pushed;

			if (k > st->count - seq)
				k = (size_t)(st->count - seq);
			for (i = 0; i < k; i++) {
				unsigned char *slot = scratch + i * (size_t)STREAM_CAP;

				iov[i] = (struct membridge_iovec){ slot, build_msg(seq + i, slot) };
			}
			while (done < k && ret == 0) {
				ret = membridge_spsc_push_batch(q, iov + done, k - done, &pushed,
								STREAM_TIMEOUT);
				if (ret == 0 && pushed == 0)
					ret = -EPROTO; /* a successful batch pushes something */
				done += pushed;
			}
			seq += k;
			break;
		}
		}
	}
	if (ret < 0)
		fprintf(stderr, "producer: message %llu: %s\n", (unsigned long long)seq,
			ret == -EPROTO ? "push_batch pushed nothing" : membridge_strerror(ret));
	free(scratch);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return ret < 0 ? 12 : 0;
}

struct consume_ctx {
	uint64_t seq;
	uint64_t count;
	unsigned char *buf;
};

/* Copy a frame's parts into one buffer, then check it. */
static int check_frame(struct consume_ctx *c, const struct membridge_frame *f)
{
	if (f->part_len[0] + f->part_len[1] != f->len || f->len > STREAM_CAP ||
	    f->end - f->start != FH + f->len) {
		fprintf(stderr, "consumer: inconsistent frame at %llu\n",
			(unsigned long long)f->start);
		return -1;
	}
	if (f->part_len[0])
		memcpy(c->buf, f->part[0], f->part_len[0]);
	if (f->part_len[1])
		memcpy(c->buf + f->part_len[0], f->part[1], f->part_len[1]);
	return check_msg(c->seq, c->buf, f->len);
}

static int consume_fn(void *ctx, const struct membridge_frame *f)
{
	struct consume_ctx *c = ctx;

	if (c->seq >= c->count || check_frame(c, f) < 0)
		return -EPROTO;
	c->seq++;
	return 0;
}

static int consumer_main(void *arg)
{
	const struct stream *st = arg;
	struct consume_ctx c = { 0, st->count, NULL };
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct membridge_frame f;
	unsigned char *buf;
	size_t len, popped;
	int ret = 0;

	alarm(CHILD_ALARM_S);
	if (child_open(st->name, &seg, &q, NULL) < 0)
		return 20;
	buf = malloc(STREAM_CAP);
	c.buf = malloc(STREAM_CAP);
	if (!buf || !c.buf)
		return 21;
	while (c.seq < st->count && ret == 0) {
		uint64_t h = mix64(c.seq ^ UINT64_C(0x9876));
		size_t max;

		switch (h % 3) {
		case 0:
			ret = membridge_spsc_pop(q, buf, STREAM_CAP, &len, STREAM_TIMEOUT);
			if (ret == 0 && check_msg(c.seq, buf, len) < 0)
				ret = -EPROTO;
			c.seq++;
			break;
		case 1:
			ret = membridge_spsc_peek(q, &f, STREAM_TIMEOUT);
			if (ret == 0 && check_frame(&c, &f) < 0)
				ret = -EPROTO;
			if (ret == 0)
				ret = membridge_spsc_consume(q, &f);
			c.seq++;
			break;
		default:
			max = 1 + (size_t)((h >> 8) % 16);
			if (max > st->count - c.seq)
				max = (size_t)(st->count - c.seq);
			ret = membridge_spsc_pop_batch(q, max, consume_fn, &c, &popped,
						       STREAM_TIMEOUT);
			if (ret == 0 && (popped == 0 || popped > max))
				ret = -EPROTO;
			break;
		}
	}
	if (ret < 0 && ret != -EPROTO) /* -EPROTO: check_msg() said what is wrong */
		fprintf(stderr, "consumer: message %llu: %s\n", (unsigned long long)c.seq,
			membridge_strerror(ret));
	/* Nothing more than the stream: no duplicates after the last one. */
	if (ret == 0) {
		ret = membridge_spsc_pop(q, buf, STREAM_CAP, &len, 50 * MBT_MS);
		if (ret == -ETIMEDOUT) {
			ret = 0;
		} else {
			fprintf(stderr, "consumer: after the stream, pop gave %d\n", ret);
			ret = -EPROTO;
		}
	}
	free(buf);
	free(c.buf);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return ret < 0 ? 22 : 0;
}

static uint64_t stream_count(void)
{
	const char *env = getenv("MBT_STREAM_MESSAGES");

	if (env && *env)
		return strtoull(env, NULL, 10);
	return mbt_under_valgrind() ? 100000 : 1000000;
}

START_TEST(test_stream)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct stream st;
	uint64_t head, tail, total = 0, i;
	int prod_status, cons_status;
	pid_t prod, cons;
	int64_t t0, dt;
	size_t used = 1;
	unsigned char *base;

	st.count = stream_count();
	pattern_init();
	for (i = 0; i < st.count; i++)
		total += FH + msg_len(i);
	ring_create(st.name, STREAM_CAP, &seg, &q);
	t0 = mbt_now_ns();
	cons = mbt_fork(consumer_main, &st);
	prod = mbt_fork(producer_main, &st);
	prod_status = mbt_wait(prod);
	cons_status = mbt_wait(cons);
	dt = mbt_now_ns() - t0;
	printf("stream: %llu messages, %llu bytes in %.2f s; producer exit %d, consumer exit %d\n",
	       (unsigned long long)st.count, (unsigned long long)total, (double)dt / 1e9,
	       prod_status, cons_status);
	ck_assert_msg(prod_status == 0 && cons_status == 0,
		      "producer exit status %d, consumer exit status %d", prod_status,
		      cons_status);
	base = membridge_segment_data(seg);
	memcpy(&head, base, 8);
	memcpy(&tail, base + 8, 8);
	ck_assert_uint_eq(head, total);
	ck_assert_uint_eq(tail, total);
	mbt_assert_ok(membridge_spsc_used(q, &used));
	ck_assert_uint_eq(used, 0);
	ring_destroy(st.name, seg, q);
}
END_TEST

/* --------------------------------------------------------------- wake-ups */

#define WAKE_ROUNDS 10
/* Idle times that are no multiple of the library's 10 ms re-check slice,
 * so that a waiter woken only by its own re-check shows ms of latency. */
#define WAKE_IDLE(r) (23 * MBT_MS + (r) * 1300 * 1000)

struct waker {
	char name[MBT_NAME_SIZE];
	int fd; /* write end of the pipe back to the parent */
};

/* Blocks in pop each round; reports how long after the push it woke. */
static int wake_consumer_main(void *arg)
{
	const struct waker *w = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int64_t t0, lat;
	size_t len;
	int r, ret;

	alarm(CHILD_ALARM_S);
	if (child_open(w->name, &seg, &q, NULL) < 0)
		return 30;
	for (r = 0; r < WAKE_ROUNDS; r++) {
		ret = membridge_spsc_pop(q, &t0, sizeof(t0), &len,
					 r % 2 ? MEMBRIDGE_WAIT_FOREVER : 10000 * MBT_MS);
		lat = mbt_now_ns() - t0;
		if (ret < 0 || len != sizeof(t0)) {
			fprintf(stderr, "wake consumer: pop: %s\n", membridge_strerror(ret));
			return 31;
		}
		if (!write_all(w->fd, &lat, sizeof(lat)))
			return 32;
	}
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

/* Fills the ring, then blocks in push each round; reports when it woke. */
static int wake_producer_main(void *arg)
{
	const struct waker *w = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char msg[12] = "twelve bytes";
	int64_t t1;
	int r, ret, n = 0;

	alarm(CHILD_ALARM_S);
	if (child_open(w->name, &seg, &q, NULL) < 0)
		return 40;
	while ((ret = membridge_spsc_push(q, msg, sizeof(msg), MEMBRIDGE_NO_WAIT)) == 0)
		n++;
	if (ret != -EAGAIN || n != 4 || membridge_spsc_is_full(q) != 1)
		return 41;
	if (!write_all(w->fd, &n, sizeof(n)))
		return 42;
	for (r = 0; r < WAKE_ROUNDS; r++) {
		ret = membridge_spsc_push(q, msg, sizeof(msg),
					  r % 2 ? MEMBRIDGE_WAIT_FOREVER : 10000 * MBT_MS);
		t1 = mbt_now_ns();
		if (ret < 0) {
			fprintf(stderr, "wake producer: push: %s\n", membridge_strerror(ret));
			return 43;
		}
		if (!write_all(w->fd, &t1, sizeof(t1)))
			return 44;
	}
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static void assert_latencies(const char *what, int64_t *lat, int n)
{
	int i;

	qsort(lat, (size_t)n, sizeof(*lat), cmp_i64);
	printf("%s wake-up latency: min %lld us, median %lld us, max %lld us\n", what,
	       (long long)lat[0] / 1000, (long long)lat[n / 2] / 1000,
	       (long long)lat[n - 1] / 1000);
	for (i = 0; i < n; i++)
		ck_assert_int_ge(lat[i], 0);
	ck_assert_msg(lat[n - 1] < 50 * MBT_MS, "%s: slowest wake-up took %lld us", what,
		      (long long)lat[n - 1] / 1000);
	/* A waiter that only noticed on its own 10 ms re-check would show a
	 * median of several ms; a real wake-up is far below that. */
	ck_assert_msg(lat[n / 2] < 3 * MBT_MS, "%s: median wake-up took %lld us", what,
		      (long long)lat[n / 2] / 1000);
}

START_TEST(test_wake_consumer)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int64_t lat[WAKE_ROUNDS], t0;
	struct waker w;
	int fd, r;
	pid_t pid;

	ring_create(w.name, 4096, &seg, &q);
	pid = fork_piped(wake_consumer_main, &w, &w.fd, &fd);
	for (r = 0; r < WAKE_ROUNDS; r++) {
		mbt_sleep_ns(WAKE_IDLE(r)); /* the consumer is asleep by now */
		t0 = mbt_now_ns();
		mbt_assert_ok(membridge_spsc_push(q, &t0, sizeof(t0), MEMBRIDGE_NO_WAIT));
		ck_assert_msg(read_all(fd, &lat[r], sizeof(lat[r])),
			      "consumer died in round %d", r);
	}
	close(fd);
	ck_assert_int_eq(mbt_wait(pid), 0);
	assert_latencies("consumer", lat, WAKE_ROUNDS);
	ring_destroy(w.name, seg, q);
}
END_TEST

START_TEST(test_wake_producer)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	int64_t lat[WAKE_ROUNDS], t0, t1;
	struct waker w;
	char buf[16];
	size_t len;
	int fd, r, n;
	pid_t pid;

	/* 64 bytes: four 12-byte messages fill it exactly. */
	ring_create(w.name, 64, &seg, &q);
	pid = fork_piped(wake_producer_main, &w, &w.fd, &fd);
	ck_assert(read_all(fd, &n, sizeof(n)));
	ck_assert_int_eq(n, 4);
	for (r = 0; r < WAKE_ROUNDS; r++) {
		mbt_sleep_ns(WAKE_IDLE(r)); /* the producer is asleep by now */
		ck_assert_int_eq(membridge_spsc_is_full(q), 1);
		t0 = mbt_now_ns();
		mbt_assert_ok(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq(len, 12);
		ck_assert_mem_eq(buf, "twelve bytes", 12);
		ck_assert_msg(read_all(fd, &t1, sizeof(t1)), "producer died in round %d", r);
		lat[r] = t1 - t0;
	}
	close(fd);
	ck_assert_int_eq(mbt_wait(pid), 0);
	for (r = 0; r < 4; r++)
		mbt_assert_ok(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(membridge_spsc_is_empty(q), 1);
	assert_latencies("producer", lat, WAKE_ROUNDS);
	ring_destroy(w.name, seg, q);
}
END_TEST

/* -------------------------------------------------------------- the view */

#define VIEW_WORDS 512 /* a 4 KiB record */
#define VIEW_READERS 3
#define VIEW_WRITE_NS (400 * MBT_MS)
#define VIEW_STOP UINT64_MAX

struct viewer {
	char name[MBT_NAME_SIZE];
	bool explicit_lock; /* lock_read/lock_write around several calls */
	int fd;             /* readers report here, writers say "start" here */
};

struct reader_stats {
	uint64_t reads;
	uint64_t generations; /* distinct values seen */
};

static int view_writer_main(void *arg)
{
	const struct viewer *v = arg;
	struct membridge_segment *seg;
	struct membridge_view *view;
	uint64_t rec[VIEW_WORDS], gen = 0;
	int64_t end = mbt_now_ns() + VIEW_WRITE_NS;
	int ret = 0, i;

	alarm(CHILD_ALARM_S);
	if (child_open(v->name, &seg, NULL, &view) < 0)
		return 50;
	while (ret == 0) {
		gen = mbt_now_ns() < end ? gen + 1 : VIEW_STOP;
		for (i = 0; i < VIEW_WORDS; i++)
			rec[i] = gen;
		if (!v->explicit_lock) {
			ret = membridge_view_write_bytes(view, 0, rec, sizeof(rec));
		} else {
			ret = membridge_view_lock_write(view, 5000 * MBT_MS);
			if (ret == 0 && !membridge_view_is_write_locked(view))
				ret = -EPROTO;
			/* Eight separate writes of 512 bytes, back to front. */
			for (i = 7; i >= 0 && ret == 0; i--)
				ret = membridge_view_write_bytes(view, (size_t)i * 512,
								 (char *)rec + i * 512, 512);
			if (ret == 0)
				ret = membridge_view_unlock(view);
			else
				membridge_view_unlock(view);
		}
		if (gen == VIEW_STOP)
			break;
	}
	if (ret < 0)
		fprintf(stderr, "view writer: generation %llu: %s\n", (unsigned long long)gen,
			membridge_strerror(ret));
	membridge_view_close(view);
	membridge_segment_close(seg);
	return ret < 0 ? 51 : 0;
}

static int view_reader_main(void *arg)
{
	const struct viewer *v = arg;
	struct reader_stats stats = { 0, 0 };
	struct membridge_segment *seg;
	struct membridge_view *view;
	uint64_t rec[VIEW_WORDS], last = 0;
	int64_t deadline = mbt_now_ns() + 60000 * MBT_MS;
	int ret = 0, i;

	alarm(CHILD_ALARM_S);
	if (child_open(v->name, &seg, NULL, &view) < 0)
		return 60;
	/* Tell the parent this reader is ready. */
	if (!write_all(v->fd, &stats, sizeof(stats)))
		return 61;
	for (;;) {
		if (!v->explicit_lock) {
			ret = membridge_view_read_bytes(view, 0, rec, sizeof(rec));
		} else {
			ret = membridge_view_lock_read(view, 5000 * MBT_MS);
			if (ret == 0 && (membridge_view_reader_count(view) < 1 ||
					 membridge_view_is_write_locked(view)))
				ret = -EPROTO;
			if (ret == 0)
				ret = membridge_view_read_bytes(view, 0, rec, sizeof(rec) / 2);
			if (ret == 0)
				ret = membridge_view_read_bytes(view, sizeof(rec) / 2,
								(char *)rec + sizeof(rec) / 2,
								sizeof(rec) / 2);
			if (ret == 0)
				ret = membridge_view_unlock(view);
			else
				membridge_view_unlock(view);
		}
		if (ret < 0) {
			fprintf(stderr, "view reader: %s\n", membridge_strerror(ret));
			return 62;
		}
		stats.reads++;
		for (i = 1; i < VIEW_WORDS; i++) {
			if (rec[i] != rec[0]) {
				fprintf(stderr, "view reader: torn record: word 0 is %llu, "
					"word %d is %llu\n", (unsigned long long)rec[0], i,
					(unsigned long long)rec[i]);
				return 63;
			}
		}
		if (rec[0] < last) {
			fprintf(stderr, "view reader: generation went back from %llu to %llu\n",
				(unsigned long long)last, (unsigned long long)rec[0]);
			return 64;
		}
		if (rec[0] != last)
			stats.generations++;
		last = rec[0];
		if (last == VIEW_STOP)
			break;
		if (mbt_now_ns() > deadline) {
			fprintf(stderr, "view reader: no end of the writes seen\n");
			return 65;
		}
	}
	if (!write_all(v->fd, &stats, sizeof(stats)))
		return 66;
	membridge_view_close(view);
	membridge_segment_close(seg);
	return 0;
}

static void run_view_test(bool explicit_lock)
{
	struct reader_stats stats[VIEW_READERS];
	pid_t readers[VIEW_READERS], writer;
	struct membridge_segment *seg;
	struct membridge_view *view;
	struct viewer v[VIEW_READERS + 1];
	uint64_t rec[VIEW_WORDS], generations = 0;
	int fds[2], i, status[VIEW_READERS + 1];
	bool got[VIEW_READERS];

	mbt_name(v[0].name);
	mbt_assert_ok(membridge_segment_create(v[0].name, 4 + sizeof(rec), 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert_uint_eq(membridge_view_size(view), sizeof(rec));
	ck_assert_int_eq(pipe(fds), 0);
	for (i = 0; i <= VIEW_READERS; i++) {
		memcpy(v[i].name, v[0].name, sizeof(v[i].name));
		/* With explicit_lock, the last reader still uses single calls. */
		v[i].explicit_lock = explicit_lock && i != VIEW_READERS - 1;
		v[i].fd = fds[1];
	}
	v[VIEW_READERS].explicit_lock = explicit_lock;
	for (i = 0; i < VIEW_READERS; i++)
		readers[i] = mbt_fork(view_reader_main, &v[i]);
	close(fds[1]);
	/* Start writing once every reader reads. */
	for (i = 0; i < VIEW_READERS; i++)
		got[i] = read_all(fds[0], &stats[i], sizeof(stats[i]));
	writer = mbt_fork(view_writer_main, &v[VIEW_READERS]);
	for (i = 0; i < VIEW_READERS; i++)
		got[i] = got[i] && read_all(fds[0], &stats[i], sizeof(stats[i]));
	close(fds[0]);
	status[VIEW_READERS] = mbt_wait(writer);
	for (i = 0; i < VIEW_READERS; i++)
		status[i] = mbt_wait(readers[i]);
	for (i = 0; i < VIEW_READERS; i++) {
		if (got[i])
			generations += stats[i].generations;
		printf("view %s reader %d: exit %d, %llu reads, %llu generations seen\n",
		       explicit_lock ? "lock" : "plain", i, status[i],
		       got[i] ? (unsigned long long)stats[i].reads : 0ull,
		       got[i] ? (unsigned long long)stats[i].generations : 0ull);
	}
	printf("view %s writer: exit %d\n", explicit_lock ? "lock" : "plain",
	       status[VIEW_READERS]);
	for (i = 0; i <= VIEW_READERS; i++)
		ck_assert_msg(status[i] == 0, "process %d (%s) exited with %d", i,
			      i == VIEW_READERS ? "writer" : "reader", status[i]);
	for (i = 0; i < VIEW_READERS; i++)
		ck_assert(got[i]);
	/* The readers did run while the writer wrote. */
	ck_assert_uint_gt(generations, VIEW_READERS);
	/* The final record, and the lock word back at 0. */
	mbt_assert_ok(membridge_view_read_bytes(view, 0, rec, sizeof(rec)));
	for (i = 0; i < VIEW_WORDS; i++)
		ck_assert_uint_eq(rec[i], VIEW_STOP);
	ck_assert_int_eq(membridge_view_reader_count(view), 0);
	ck_assert(!membridge_view_is_write_locked(view));
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(v[0].name));
}

START_TEST(test_view_write_bytes_atomic)
{
	run_view_test(false);
}
END_TEST

START_TEST(test_view_explicit_lock_atomic)
{
	run_view_test(true);
}
END_TEST

/* ------------------------------------------------------------------ EINTR */

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
	(void)sig;
	signals_seen++;
}

/* Install on_signal for sig without SA_RESTART. */
static void catch_signal(int sig, struct sigaction *old)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;
	ck_assert_int_eq(sigaction(sig, &sa, old), 0);
}

static void interval_timer(int64_t ns)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_usec = (suseconds_t)(ns / 1000);
	it.it_interval = it.it_value;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
}

static int dummy_fn(void *ctx, const struct membridge_frame *f)
{
	(void)ctx;
	(void)f;
	return 0;
}

/* Each blocking call, waiting 10 s, comes back -EINTR when SIGALRM arrives
 * (repeating every 30 ms, so one surely lands while it sleeps). */
START_TEST(test_eintr_alarm)
{
	struct membridge_segment *seg, *vseg;
	struct membridge_view *v1, *v2;
	struct membridge_spsc *q;
	struct membridge_frame f;
	struct sigaction old;
	char name[MBT_NAME_SIZE], vname[MBT_NAME_SIZE], buf[64];
	const struct membridge_iovec msg = { "0123456789", 10 };
	size_t len, n;
	int64_t t0;
	int i;

	ring_create(name, 64, &seg, &q);
	mbt_name(vname);
	mbt_assert_ok(membridge_segment_create(vname, 64, 0, 0, &vseg));
	mbt_assert_ok(membridge_view_open(vseg, &v1));
	mbt_assert_ok(membridge_view_open(vseg, &v2));
	catch_signal(SIGALRM, &old);
	interval_timer(30 * MBT_MS);
	t0 = mbt_now_ns();
	/* Empty ring: the consumer calls wait. */
	mbt_assert_ret(membridge_spsc_pop(q, buf, sizeof(buf), &len, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_WAIT_FOREVER),
		       -EINTR);
	mbt_assert_ret(membridge_spsc_peek(q, &f, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_spsc_pop_batch(q, 4, dummy_fn, NULL, &n, 10000 * MBT_MS), -EINTR);
	/* Full ring: the producer calls wait. */
	for (i = 0; i < 4; i++)
		mbt_assert_ok(membridge_spsc_push(q, "0123456789ab", 12, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_spsc_push(q, "x", 1, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_spsc_pushv(q, &msg, 1, MEMBRIDGE_WAIT_FOREVER), -EINTR);
	mbt_assert_ret(membridge_spsc_push_batch(q, &msg, 1, &n, 10000 * MBT_MS), -EINTR);
	/* A view lock held by another view. */
	mbt_assert_ok(membridge_view_lock_write(v1, MEMBRIDGE_NO_WAIT));
	mbt_assert_ret(membridge_view_lock_write(v2, 10000 * MBT_MS), -EINTR);
	mbt_assert_ret(membridge_view_lock_read(v2, MEMBRIDGE_WAIT_FOREVER), -EINTR);
	interval_timer(0);
	ck_assert_int_lt(mbt_now_ns() - t0, 5000 * MBT_MS);
	ck_assert_int_ge(signals_seen, 9);
	ck_assert_int_eq(sigaction(SIGALRM, &old, NULL), 0);
	/* Nothing was lost or taken by the interrupted calls. */
	mbt_assert_ok(membridge_view_unlock(v1));
	ck_assert_int_eq(membridge_spsc_is_full(q), 1);
	for (i = 0; i < 4; i++) {
		mbt_assert_ok(membridge_spsc_pop(q, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq(len, 12);
	}
	membridge_view_close(v1);
	membridge_view_close(v2);
	membridge_segment_close(vseg);
	mbt_assert_ok(membridge_segment_remove(vname));
	ring_destroy(name, seg, q);
}
END_TEST

struct sig_child {
	char name[MBT_NAME_SIZE];
	int fd; /* write end to the parent */
};

/* Blocks in pop until another process's SIGUSR1 interrupts it; then retries
 * (safe after -EINTR) and receives the message sent afterwards. */
static int eintr_child_main(void *arg)
{
	const struct sig_child *c = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct sigaction sa;
	char buf[16], ready = 'R', intr = 'I';
	size_t len;
	int64_t t0;
	int ret;

	alarm(CHILD_ALARM_S);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) < 0)
		return 70;
	if (child_open(c->name, &seg, &q, NULL) < 0)
		return 71;
	if (!write_all(c->fd, &ready, 1))
		return 72;
	t0 = mbt_now_ns();
	ret = membridge_spsc_pop(q, buf, sizeof(buf), &len, 30000 * MBT_MS);
	if (ret != -EINTR || signals_seen == 0) {
		fprintf(stderr, "eintr child: pop returned %d (%s) after %d signals\n", ret,
			membridge_strerror(ret), (int)signals_seen);
		return 73;
	}
	if (mbt_now_ns() - t0 > 10000 * MBT_MS)
		return 74;
	if (!write_all(c->fd, &intr, 1))
		return 75;
	do
		ret = membridge_spsc_pop(q, buf, sizeof(buf), &len, 30000 * MBT_MS);
	while (ret == -EINTR);
	if (ret != 0 || len != 4 || memcmp(buf, "ping", 4)) {
		fprintf(stderr, "eintr child: retried pop returned %d\n", ret);
		return 76;
	}
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

START_TEST(test_eintr_other_process)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct sig_child c;
	struct pollfd pfd;
	char byte = 0;
	int fd, tries, status;
	pid_t pid;

	ring_create(c.name, 64, &seg, &q);
	pid = fork_piped(eintr_child_main, &c, &c.fd, &fd);
	ck_assert(read_all(fd, &byte, 1));
	ck_assert_int_eq(byte, 'R');
	/* Signal until the child says its pop was interrupted. */
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (tries = 0; tries < 250; tries++) {
		ck_assert_int_eq(kill(pid, SIGUSR1), 0);
		if (poll(&pfd, 1, 20) == 1)
			break;
	}
	ck_assert(read_all(fd, &byte, 1));
	ck_assert_int_eq(byte, 'I');
	mbt_assert_ok(membridge_spsc_push(q, "ping", 4, MEMBRIDGE_NO_WAIT));
	status = mbt_wait(pid);
	close(fd);
	ck_assert_msg(status == 0, "child exit status %d after %d signals", status, tries + 1);
	ck_assert_int_eq(membridge_spsc_is_empty(q), 1);
	ring_destroy(c.name, seg, q);
}
END_TEST

/* ------------------------------------------------------------------ tcases */

static Suite *twoproc_suite(void)
{
	Suite *s = suite_create("twoproc");
	TCase *tc;

	tc = tcase_create("stream");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_stream);
	suite_add_tcase(s, tc);

	tc = tcase_create("wake");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_wake_consumer);
	tcase_add_test(tc, test_wake_producer);
	suite_add_tcase(s, tc);

	tc = tcase_create("view");
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_view_write_bytes_atomic);
	tcase_add_test(tc, test_view_explicit_lock_atomic);
	suite_add_tcase(s, tc);

	tc = tcase_create("eintr");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_eintr_alarm);
	tcase_add_test(tc, test_eintr_other_process);
	suite_add_tcase(s, tc);

	return s;
}

int main(void)
{
	return mbt_run(twoproc_suite());
}
