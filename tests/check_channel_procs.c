/* SPDX-License-Identifier: MIT */
/* Check suite for the channel with real processes: a stream to three
 * subscribers, subscribers SIGKILLed at random moments, publishers killed
 * between loan and publish and replaced, publishers killed at random
 * moments and replaced, subscribers waiting in poll(2). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

/* The shape: a small data area, so that the publisher waits for space and
 * wraps to the start thousands of times in a stream. */
#define DATA_SIZE 8192
#define MAX_MESSAGE 1000
#define SLOTS 3
/* A child stuck this long is killed by its own alarm. */
#define CHILD_ALARM_S 300
/* A wait that should end long before this counts as a stall. */
#define STALL_NS (60000 * MBT_MS)

/* Reachable from here, so a child that is killed or exits with them open
 * does not look like a leak to valgrind. */
static struct membridge_segment *child_seg;
static struct membridge_publisher *child_pub;
static struct membridge_subscriber *child_sub;

/* Messages in a stream: `normal`, or `valgrind` under memcheck. */
static uint64_t stream_length(uint64_t normal, uint64_t valgrind)
{
	return mbt_under_valgrind() ? valgrind : normal;
}

/* ------------------------------------------------------------ messages */

/* Message seq's length: 0 and MAX_MESSAGE now and then, mostly short ones,
 * a quarter anywhere in 0..MAX_MESSAGE. */
static size_t message_length(uint64_t seq)
{
	uint64_t r = mbt_mix(seq);

	if (seq % 997 == 1)
		return 0;
	if (seq % 997 == 2)
		return MAX_MESSAGE;
	return r % 4 == 0 ? (size_t)((r >> 8) % (MAX_MESSAGE + 1)) : (size_t)((r >> 8) % 201);
}

static uint64_t checksum(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	while (n--)
		h = (h ^ *p++) * UINT64_C(0x100000001b3);
	return h;
}

/* Message seq's bytes: from 16 bytes on, its sequence number, a checksum
 * of the rest, then bytes made from seq; shorter ones are only such bytes. */
static void make_message(uint64_t seq, unsigned char *p, size_t len)
{
	uint64_t r = mbt_mix(seq ^ UINT64_C(0x5bd1e995)), sum;
	size_t i, from = len >= 16 ? 16 : 0;

	for (i = from; i < len; i++)
		p[i] = (unsigned char)((r >> (i % 8 * 8)) ^ i);
	if (from) {
		sum = checksum(p + 16, len - 16);
		memcpy(p, &seq, 8);
		memcpy(p + 8, &sum, 8);
	}
}

/* Whether m is exactly message m->seq. */
static bool message_ok(const struct membridge_message *m)
{
	unsigned char want[MAX_MESSAGE];

	if (m->len != message_length(m->seq))
		return false;
	make_message(m->seq, want, m->len);
	return memcmp(m->data, want, m->len) == 0;
}

/* ------------------------------------------------------------ the channel */

static void channel_create(char name[MBT_NAME_SIZE], struct membridge_segment **seg)
{
	struct membridge_channel_config cfg = { DATA_SIZE, MAX_MESSAGE, SLOTS, 0 };

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, membridge_channel_segment_size(&cfg), 0,
					       MEMBRIDGE_CREATE_EXCLUSIVE, seg));
	mbt_assert_ok(membridge_channel_init(*seg, &cfg));
}

static void channel_destroy(const char *name, struct membridge_segment *seg)
{
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}

/* The sequence number the next published message gets. */
static uint64_t next_seq(struct membridge_segment *seg)
{
	struct membridge_channel_info info;

	if (membridge_channel_inspect(membridge_segment_data(seg), membridge_segment_size(seg),
				      &info, NULL, 0) < 0)
		_exit(91);
	return info.next_seq;
}

/* ------------------------------------------------------------ children */

/* Child side: arm the alarm, open the segment `name` and join its channel
 * as a subscriber (from the newest message) or as its publisher; returns 0
 * or the -errno it printed. */
static int child_join(const char *name, bool publisher)
{
	int ret;

	alarm(CHILD_ALARM_S);
	ret = membridge_segment_open(name, 0, &child_seg);
	if (ret == 0)
		ret = publisher ? membridge_publisher_open(child_seg, &child_pub)
				: membridge_subscriber_open(child_seg, MEMBRIDGE_SUBSCRIBE_NEWEST,
							    &child_sub);
	if (ret < 0)
		fprintf(stderr, "%s %ld: %s\n", publisher ? "publisher" : "subscriber",
			(long)getpid(), membridge_strerror(ret));
	return ret;
}

/* Child side: close what child_join() opened, send the n bytes of res to
 * the parent through fd; the child's exit status. */
static int child_leave(int fd, const void *res, size_t n)
{
	membridge_subscriber_close(child_sub);
	membridge_publisher_close(child_pub);
	membridge_segment_close(child_seg);
	mbt_put(fd, res, n);
	return 0;
}

/* ------------------------------------------------------------ subscribers */

/* What a subscriber child saw. */
struct sub_result {
	uint64_t received, lost, duplicated, corrupted, wraps, polls;
	int32_t error; /* the call that failed, 0 if none */
	int32_t pad;
};

struct sub_args {
	char name[MBT_NAME_SIZE];
	uint64_t count;  /* messages to wait for: seq 0 .. count-1 (generations:
			  * counters 0 .. count-1 of the last one) */
	uint64_t last_gen; /* generations: the last publisher's */
	bool poll;       /* wait in poll(2) on the descriptor */
	int ready_fd;    /* a byte once subscribed */
	int result_fd;   /* the struct sub_result */
	/* Killed subscribers: where one says it holds messages. */
	_Atomic int *holding;
	_Atomic uint64_t *victim_bad;
};

/* Account one message: in order, exactly once, intact. */
static void account(struct sub_result *res, const struct membridge_message *m,
		    uint64_t *expected, const unsigned char **last)
{
	if (m->seq < *expected)
		res->duplicated++;
	else
		res->lost += m->seq - *expected;
	if (!message_ok(m))
		res->corrupted++;
	if (*last && (const unsigned char *)m->data < *last)
		res->wraps++;
	*last = m->data;
	*expected = m->seq + 1;
	res->received++;
}

/* Wait in poll(2) until the descriptor is readable; false on a stall. */
static bool poll_wait(int fd, struct sub_result *res)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r;

	do
		r = poll(&p, 1, (int)(STALL_NS / MBT_MS));
	while (r < 0 && errno == EINTR);
	res->polls++;
	return r == 1;
}

/* Receive seq 0 .. count-1: in batches of 1 to 8, sometimes holding one
 * batch over the next (released before any wait, so the publisher always
 * gets space eventually). */
static int subscriber_main(void *arg)
{
	const struct sub_args *a = arg;
	struct membridge_message m[8];
	struct sub_result res = { 0 };
	const unsigned char *last = NULL;
	uint64_t expected = 0, r;
	int fd = -1, n, i, ret;
	bool hold = false;

	ret = child_join(a->name, false);
	if (ret == 0 && a->poll && (ret = fd = membridge_subscriber_fd(child_sub)) < 0)
		fprintf(stderr, "subscriber_fd: %s\n", membridge_strerror(ret));
	if (ret < 0)
		return 30;
	mbt_put(a->ready_fd, "r", 1);
	while (expected < a->count && res.error == 0) {
		r = mbt_mix(expected ^ (uint64_t)getpid() << 32);
		n = membridge_subscriber_receive_batch(child_sub, m, 1 + r % 8, MEMBRIDGE_NO_WAIT);
		if (n == -EAGAIN) {
			/* Never wait holding messages. */
			membridge_subscriber_release(child_sub);
			if (a->poll) {
				if (!poll_wait(fd, &res)) {
					res.error = -ETIMEDOUT;
					break;
				}
				continue;
			}
			n = membridge_subscriber_receive_batch(child_sub, m, 1 + r % 8, STALL_NS);
		}
		if (n < 0) {
			res.error = n;
			break;
		}
		for (i = 0; i < n; i++)
			account(&res, &m[i], &expected, &last);
		hold = !hold && (r >> 8) % 4 == 0;
		if (!hold)
			membridge_subscriber_release(child_sub);
	}
	return child_leave(a->result_fd, &res, sizeof(res));
}

/* A subscriber that is killed at a random moment: it checks the order and
 * bytes of what it gets (into *victim_bad), and now and then sleeps while
 * holding what it received, so that it often dies holding messages. */
static int victim_main(void *arg)
{
	const struct sub_args *a = arg;
	struct membridge_message m[8];
	uint64_t expected = 0, r;
	bool have = false;
	int n, i;

	if (child_join(a->name, false) < 0)
		return 40; /* not the death the parent expects */
	for (;;) {
		n = membridge_subscriber_receive_batch(child_sub, m, 8, STALL_NS);
		if (n < 0) {
			fprintf(stderr, "victim: receive: %s\n", membridge_strerror(n));
			return 41;
		}
		for (i = 0; i < n; i++) {
			if ((have && m[i].seq != expected) || !message_ok(&m[i]))
				atomic_fetch_add(a->victim_bad, 1);
			expected = m[i].seq + 1;
			have = true;
		}
		r = mbt_mix(expected ^ (uint64_t)getpid() << 32);
		if (r % 4 == 0) {
			atomic_store(a->holding, 1);
			mbt_sleep_ns((int64_t)((r >> 8) % (2 * (uint64_t)MBT_MS)));
		}
		membridge_subscriber_release(child_sub);
		atomic_store(a->holding, 0);
	}
}

/* ------------------------------------------------------------ publishers */

struct pub_result {
	uint64_t sent, fulls, polls;
	int32_t error;
	int32_t pad;
};

struct pub_args {
	char name[MBT_NAME_SIZE];
	uint64_t until;   /* publish up to seq until-1 */
	uint64_t stop_at; /* then (if < until): loan, write, never publish */
	bool poll;        /* wait for space in poll(2) on the descriptor */
	int result_fd;    /* the struct pub_result */
	int loaned_fd;    /* a byte once the unpublished loans are written */
};

/* Loan space for message seq: at once, or after waiting (counted). */
static int loan(const struct pub_args *a, struct pub_result *res, int fd, uint64_t seq,
		void **data)
{
	size_t len = message_length(seq);
	int ret = membridge_publisher_loan(child_pub, len, data, MEMBRIDGE_NO_WAIT);

	while (ret == -EAGAIN) {
		res->fulls++;
		if (!a->poll)
			return membridge_publisher_loan(child_pub, len, data, STALL_NS);
		{
			struct pollfd p = { fd, POLLIN, 0 };

			res->polls++;
			if (poll(&p, 1, (int)(STALL_NS / MBT_MS)) == 0)
				return -ETIMEDOUT;
		}
		ret = membridge_publisher_loan(child_pub, len, data, MEMBRIDGE_NO_WAIT);
	}
	return ret;
}

/* Publish from the channel's next seq up to a->until - 1, one to four
 * loans per publish; then, if stop_at says so, loan messages, write them
 * (poisoned: the bytes of other sequence numbers) and wait to be killed. */
static int publisher_main(void *arg)
{
	const struct pub_args *a = arg;
	struct pub_result res = { 0 };
	uint64_t seq, end, batch;
	int fd = -1, ret;
	void *data;

	ret = child_join(a->name, true);
	if (ret == 0 && a->poll && (ret = fd = membridge_publisher_fd(child_pub)) < 0)
		fprintf(stderr, "publisher_fd: %s\n", membridge_strerror(ret));
	if (ret < 0)
		return 30;
	end = a->stop_at < a->until ? a->stop_at : a->until;
	for (seq = next_seq(child_seg); seq < end && res.error == 0;) {
		batch = 1 + mbt_mix(seq) % 4;
		for (; batch && seq < end; batch--, seq++) {
			ret = loan(a, &res, fd, seq, &data);
			if (ret < 0) {
				res.error = ret;
				break;
			}
			make_message(seq, data, message_length(seq));
		}
		ret = membridge_publisher_publish(child_pub);
		if (ret < 0)
			res.error = ret;
		else
			res.sent += (uint64_t)ret;
	}
	if (a->stop_at < a->until && res.error == 0) {
		for (batch = 0; batch < 3; batch++) {
			ret = loan(a, &res, fd, seq + batch, &data);
			if (ret < 0)
				return 31;
			make_message(seq + batch + 1000000, data, message_length(seq + batch));
		}
		mbt_put(a->loaned_fd, "l", 1);
		for (;;)
			pause();
	}
	return child_leave(a->result_fd, &res, sizeof(res));
}

/* ------------------------------------------------------------ generations */

/* Publishers killed at random moments: generation g is the g-th publisher
 * process; its messages are numbered by a counter from 0. Each carries
 * (at offset 0) a checksum of the rest, then the generation, the counter,
 * and bytes made from those two; its length is a function of them too. */
#define GEN_HEAD 24
#define MAX_GENS 21 /* the kills, and the last publisher that runs to its end */
/* The most messages one publishing call makes visible (a batch). */
#define GEN_BATCH 8

static size_t gen_length(uint64_t gen, uint64_t counter)
{
	uint64_t r = mbt_mix(gen << 40 ^ counter ^ UINT64_C(0x9e3779b97f4a7c15));

	return GEN_HEAD + (size_t)(r % 4 == 0 ? (r >> 8) % (MAX_MESSAGE - GEN_HEAD + 1)
					      : (r >> 8) % 177);
}

/* Write message `counter` of generation gen into p; returns its length. */
static size_t gen_message(uint64_t gen, uint64_t counter, unsigned char *p)
{
	size_t len = gen_length(gen, counter), i;
	uint64_t r = mbt_mix(gen << 40 ^ counter), sum;

	memcpy(p + 8, &gen, 8);
	memcpy(p + 16, &counter, 8);
	for (i = GEN_HEAD; i < len; i++)
		p[i] = (unsigned char)((r >> (i % 8 * 8)) ^ i);
	sum = checksum(p + 8, len - 8);
	memcpy(p, &sum, 8);
	return len;
}

/* Whether m is an intact message; *gen and *counter get what it says. */
static bool gen_message_ok(const struct membridge_message *m, uint64_t *gen, uint64_t *counter)
{
	unsigned char want[MAX_MESSAGE];

	if (m->len < GEN_HEAD)
		return false;
	memcpy(gen, (const unsigned char *)m->data + 8, 8);
	memcpy(counter, (const unsigned char *)m->data + 16, 8);
	if (*gen >= MAX_GENS || m->len != gen_length(*gen, *counter))
		return false;
	gen_message(*gen, *counter, want);
	return memcmp(m->data, want, m->len) == 0;
}

/* What a subscriber of the generations saw. */
struct gen_result {
	uint64_t received, lost, duplicated, corrupted;
	uint64_t gaps;    /* seq not +1 within a generation */
	uint64_t per_gen[MAX_GENS]; /* messages of each generation */
	int32_t error;
	int32_t pad;
};

/* Where a subscriber of the generations is in the stream. */
struct gen_cursor {
	bool started;
	uint64_t seq, gen, next; /* the last seq and generation, the counter expected */
};

/* Account one message: seq strictly increasing (+1 within a generation),
 * generations never going back, counters contiguous from 0 in each. */
static void gen_account(struct gen_result *res, struct gen_cursor *c,
			const struct membridge_message *m)
{
	uint64_t gen, counter;

	res->received++;
	if (c->started && m->seq <= c->seq) {
		res->duplicated++;
		return;
	}
	if (!gen_message_ok(m, &gen, &counter)) {
		res->corrupted++;
		c->seq = m->seq;
		return;
	}
	if (c->started && gen < c->gen) {
		res->duplicated++;
	} else if (!c->started || gen > c->gen) {
		/* A new publisher: its first message is its counter 0. */
		res->lost += counter;
		c->gen = gen;
		c->next = counter + 1;
		res->per_gen[gen] = counter + 1;
	} else if (counter < c->next) {
		res->duplicated++;
	} else {
		res->lost += counter - c->next;
		res->gaps += m->seq != c->seq + 1;
		c->next = counter + 1;
		res->per_gen[gen] = counter + 1;
	}
	c->seq = m->seq;
	c->started = true;
}

/* Receive until counter a->count - 1 of generation a->last_gen: one message
 * or a batch at a time, sometimes holding one batch over the next (released
 * before any wait, so the publisher always gets space eventually). */
static int gen_subscriber_main(void *arg)
{
	const struct sub_args *a = arg;
	struct membridge_message m[GEN_BATCH];
	struct gen_result res = { 0 };
	struct gen_cursor c = { 0 };
	uint64_t rng = mbt_mix((uint64_t)getpid()) | 1, r;
	bool hold = false;
	int n, i;

	if (child_join(a->name, false) < 0)
		return 30;
	mbt_put(a->ready_fd, "r", 1);
	while (!(c.started && c.gen == a->last_gen && c.next >= a->count)) {
		r = mbt_random(&rng);
		if (r % 2) {
			n = membridge_subscriber_receive(child_sub, m, MEMBRIDGE_NO_WAIT);
			if (n == -EAGAIN) {
				membridge_subscriber_release(child_sub);
				n = membridge_subscriber_receive(child_sub, m, STALL_NS);
			}
			n = n < 0 ? n : 1;
		} else {
			n = membridge_subscriber_receive_batch(child_sub, m, 1 + (r >> 8) % GEN_BATCH,
							       MEMBRIDGE_NO_WAIT);
			if (n == -EAGAIN) {
				membridge_subscriber_release(child_sub);
				n = membridge_subscriber_receive_batch(child_sub, m,
								       1 + (r >> 8) % GEN_BATCH,
								       STALL_NS);
			}
		}
		if (n < 0) {
			res.error = n;
			break;
		}
		for (i = 0; i < n; i++)
			gen_account(&res, &c, &m[i]);
		hold = !hold && (r >> 16) % 4 == 0;
		if (!hold)
			membridge_subscriber_release(child_sub);
	}
	return child_leave(a->result_fd, &res, sizeof(res));
}

/* The ways a generation publishes, chosen at random for every call. */
enum gen_way { WAY_LOAN, WAY_SEND, WAY_SENDV, WAY_BATCH, N_WAYS };
static const char *const way_names[N_WAYS] = { "loan/publish", "send", "sendv", "send_batch" };

/* What a generation tells the parent, in shared memory. */
struct gen_shared {
	_Atomic uint64_t calls;     /* publishing calls that returned */
	_Atomic uint64_t published; /* messages they made visible */
	_Atomic int way;            /* the call it is in or was in last */
	_Atomic int busy;           /* 1 from a call's start to the count of its return */
};

struct gen_args {
	char name[MBT_NAME_SIZE];
	uint64_t gen;
	uint64_t count; /* messages to publish; UINT64_MAX: until killed */
	uint64_t seed;  /* of the ways it publishes in */
	struct gen_shared *sh;
};

/* One to four loans, written and published together (published early if
 * the next does not fit beside them); returns how many went, or -errno. */
static int gen_loans(const struct gen_args *a, uint64_t counter, unsigned k)
{
	unsigned char msg[MAX_MESSAGE];
	unsigned i;
	void *data;
	int ret;

	for (i = 0; i < k; i++) {
		size_t len = gen_message(a->gen, counter + i, msg);

		ret = membridge_publisher_loan(child_pub, len, &data, STALL_NS);
		if (ret == -ENOBUFS && i > 0)
			break;
		if (ret < 0)
			return ret;
		memcpy(data, msg, len);
	}
	return membridge_publisher_publish(child_pub);
}

/* Message `counter` in up to three pieces, cut at random places. */
static int gen_sendv(const struct gen_args *a, uint64_t counter, uint64_t r)
{
	unsigned char msg[MAX_MESSAGE];
	size_t len = gen_message(a->gen, counter, msg);
	size_t cut1 = (size_t)(r % (len + 1)), cut2 = cut1 + (size_t)((r >> 16) % (len - cut1 + 1));
	struct membridge_iovec iov[3] = {
		{ msg, cut1 }, { msg + cut1, cut2 - cut1 }, { msg + cut2, len - cut2 }
	};
	int ret = membridge_publisher_sendv(child_pub, iov, 3, STALL_NS);

	return ret < 0 ? ret : 1;
}

/* Up to GEN_BATCH messages in one send_batch; returns how many went. */
static int gen_batch(const struct gen_args *a, uint64_t counter, unsigned k)
{
	unsigned char msgs[GEN_BATCH][MAX_MESSAGE];
	struct membridge_iovec iov[GEN_BATCH];
	size_t sent = 0;
	unsigned i;
	int ret;

	for (i = 0; i < k; i++) {
		iov[i].base = msgs[i];
		iov[i].len = gen_message(a->gen, counter + i, msgs[i]);
	}
	ret = membridge_publisher_send_batch(child_pub, iov, k, &sent, STALL_NS);
	return ret < 0 ? ret : (int)sent;
}

/* Take the channel over and publish generation a->gen from counter 0, each
 * call in a way drawn at random; count the calls that returned. */
static int gen_publisher_main(void *arg)
{
	const struct gen_args *a = arg;
	unsigned char msg[MAX_MESSAGE];
	uint64_t rng = mbt_mix(a->seed ^ a->gen << 20) | 1, counter = 0, r, left;
	enum gen_way way;
	int ret;

	if (child_join(a->name, true) < 0)
		return 30;
	while (counter < a->count) {
		r = mbt_random(&rng);
		way = (enum gen_way)(r % N_WAYS);
		left = a->count - counter;
		atomic_store(&a->sh->way, (int)way);
		atomic_store(&a->sh->busy, 1);
		switch (way) {
		case WAY_LOAN:
			ret = gen_loans(a, counter, (unsigned)(1 + (r >> 8) % (left < 4 ? left : 4)));
			break;
		case WAY_SEND:
			ret = membridge_publisher_send(child_pub, msg,
						       gen_message(a->gen, counter, msg), STALL_NS);
			ret = ret < 0 ? ret : 1;
			break;
		case WAY_SENDV:
			ret = gen_sendv(a, counter, r >> 8);
			break;
		default:
			ret = gen_batch(a, counter, (unsigned)(1 + (r >> 8) % (left < GEN_BATCH
									      ? left : GEN_BATCH)));
			break;
		}
		if (ret <= 0) {
			fprintf(stderr, "publisher %llu: %s at %llu: %s\n",
				(unsigned long long)a->gen, way_names[way],
				(unsigned long long)counter, membridge_strerror(ret));
			return 31;
		}
		counter += (uint64_t)ret;
		atomic_store(&a->sh->published, counter);
		atomic_fetch_add(&a->sh->calls, 1);
		atomic_store(&a->sh->busy, 0);
	}
	membridge_publisher_close(child_pub);
	membridge_segment_close(child_seg);
	return 0;
}

/* ------------------------------------------------------------ the parent */

struct run {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	pid_t subs[SLOTS];
	int sub_results[SLOTS];
	int nsubs;
	uint64_t last_gen; /* for gen_subscriber_main */
};

/* Fork n subscribers running sub_main (with a->count = count) and wait
 * until each subscribed. */
static void start_subscribers(struct run *run, int n, int (*sub_main)(void *), uint64_t count,
			      bool use_poll)
{
	struct sub_args a;
	int ready[2], results[2], i;
	char byte;

	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		memcpy(a.name, run->name, sizeof(a.name));
		a.count = count;
		a.last_gen = run->last_gen;
		a.poll = use_poll;
		ck_assert_int_eq(pipe(ready), 0);
		ck_assert_int_eq(pipe(results), 0);
		a.ready_fd = ready[1];
		a.result_fd = results[1];
		run->subs[run->nsubs] = mbt_fork(sub_main, &a);
		close(ready[1]);
		close(results[1]);
		ck_assert_msg(mbt_get(ready[0], &byte, 1), "subscriber %d did not subscribe", i);
		close(ready[0]);
		run->sub_results[run->nsubs++] = results[0];
	}
}

/* Collect the subscribers' results: each got all `count` messages, in
 * order, once, intact. Returns the wraps the first one saw. */
static uint64_t check_subscribers(struct run *run, uint64_t count, const char *what)
{
	struct sub_result res;
	uint64_t wraps = 0;
	int i;

	for (i = 0; i < run->nsubs; i++) {
		ck_assert_msg(mbt_get(run->sub_results[i], &res, sizeof(res)),
			      "%s: subscriber %d sent no result", what, i);
		close(run->sub_results[i]);
		ck_assert_int_eq(mbt_wait(run->subs[i]), 0);
		printf("%s: subscriber %d: %llu received, %llu lost, %llu duplicated, "
		       "%llu corrupted, %llu wraps, %llu polls\n",
		       what, i, (unsigned long long)res.received, (unsigned long long)res.lost,
		       (unsigned long long)res.duplicated, (unsigned long long)res.corrupted,
		       (unsigned long long)res.wraps, (unsigned long long)res.polls);
		ck_assert_msg(res.error == 0, "%s: subscriber %d: %s", what, i,
			      membridge_strerror(res.error));
		ck_assert_uint_eq(res.received, count);
		ck_assert_uint_eq(res.lost, 0);
		ck_assert_uint_eq(res.duplicated, 0);
		ck_assert_uint_eq(res.corrupted, 0);
		if (i == 0)
			wraps = res.wraps;
	}
	run->nsubs = 0;
	return wraps;
}

static pid_t start_publisher(struct run *run, uint64_t until, uint64_t stop_at, bool use_poll,
			     int *result_fd, int *loaned_fd)
{
	struct pub_args a;
	int results[2], loaned[2];
	pid_t pid;

	memset(&a, 0, sizeof(a));
	memcpy(a.name, run->name, sizeof(a.name));
	a.until = until;
	a.stop_at = stop_at;
	a.poll = use_poll;
	ck_assert_int_eq(pipe(results), 0);
	ck_assert_int_eq(pipe(loaned), 0);
	a.result_fd = results[1];
	a.loaned_fd = loaned[1];
	pid = mbt_fork(publisher_main, &a);
	close(results[1]);
	close(loaned[1]);
	*result_fd = results[0];
	*loaned_fd = loaned[0];
	return pid;
}

/* Wait for a publisher that runs to the end; returns its result. */
static struct pub_result finish_publisher(pid_t pid, int result_fd, int loaned_fd)
{
	struct pub_result res;

	ck_assert_msg(mbt_get(result_fd, &res, sizeof(res)), "the publisher sent no result");
	ck_assert_int_eq(mbt_wait(pid), 0);
	close(result_fd);
	close(loaned_fd);
	ck_assert_msg(res.error == 0, "publisher: %s", membridge_strerror(res.error));
	return res;
}

/* ------------------------------------------------------------ tests */

START_TEST(test_stream_three_subscribers)
{
	uint64_t count = stream_length(200000, 4000), wraps;
	struct pub_result pr;
	struct run run = { .nsubs = 0 };
	int rfd, lfd;
	pid_t pub;

	channel_create(run.name, &run.seg);
	start_subscribers(&run, 3, subscriber_main, count, false);
	pub = start_publisher(&run, count, UINT64_MAX, false, &rfd, &lfd);
	pr = finish_publisher(pub, rfd, lfd);
	wraps = check_subscribers(&run, count, "stream");
	printf("stream: %llu messages published, the publisher found the channel full %llu "
	       "times, %llu laps\n",
	       (unsigned long long)pr.sent, (unsigned long long)pr.fulls,
	       (unsigned long long)wraps);
	ck_assert_uint_eq(pr.sent, count);
	/* The stream went round the data area many times: some 30 messages
	 * fill a lap. How often the publisher found no room depends on the
	 * scheduler, so it is printed, not asserted. */
	ck_assert_uint_gt(wraps, count / 100);
	channel_destroy(run.name, run.seg);
}
END_TEST

START_TEST(test_subscriber_killed)
{
	uint64_t count = stream_length(100000, 3000), kills = 0, holding = 0, seed;
	_Atomic int *shared;
	struct sub_args va;
	struct pub_result pr;
	struct run run = { .nsubs = 0 };
	int rfd, lfd, status;
	pid_t pub, victim;

	seed = mbt_kill_seed(20260315);
	shared = mbt_shared(4096);
	channel_create(run.name, &run.seg);
	start_subscribers(&run, 2, subscriber_main, count, false);
	memset(&va, 0, sizeof(va));
	memcpy(va.name, run.name, sizeof(va.name));
	va.holding = &shared[0];
	va.victim_bad = (void *)&shared[16]; /* 64 bytes into a page */
	victim = mbt_fork(victim_main, &va);
	pub = start_publisher(&run, count, UINT64_MAX, false, &rfd, &lfd);
	for (;;) {
		mbt_sleep_ns((int64_t)(mbt_mix(seed ^ kills) % (20 * (uint64_t)MBT_MS)));
		if (atomic_load(va.holding))
			holding++;
		ck_assert_int_eq(mbt_kill(victim), MBT_KILLED);
		kills++;
		if (waitpid(pub, &status, WNOHANG) == pub)
			break;
		victim = mbt_fork(victim_main, &va);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "publisher status %d",
		      status);
	ck_assert_msg(mbt_get(rfd, &pr, sizeof(pr)), "the publisher sent no result");
	close(rfd);
	close(lfd);
	ck_assert_msg(pr.error == 0, "publisher: %s", membridge_strerror(pr.error));
	ck_assert_uint_eq(pr.sent, count);
	check_subscribers(&run, count, "kill");
	printf("kill: %llu messages, %llu subscribers killed (%llu while holding messages), "
	       "%llu bad messages seen by them, the publisher found the channel full %llu "
	       "times\n",
	       (unsigned long long)count, (unsigned long long)kills,
	       (unsigned long long)holding, (unsigned long long)*va.victim_bad,
	       (unsigned long long)pr.fulls);
	ck_assert_uint_eq(*va.victim_bad, 0);
	ck_assert_uint_gt(kills, 0);
	munmap((void *)shared, 4096);
	channel_destroy(run.name, run.seg);
}
END_TEST

START_TEST(test_publisher_killed_loaned)
{
	uint64_t count = stream_length(60000, 2000), gens, takeovers = 0, seq = 0, step;
	struct membridge_publisher *pub = NULL;
	struct pub_result pr;
	struct run run = { .nsubs = 0 };
	int rfd, lfd, g;
	char byte;
	pid_t pid;

	gens = mbt_under_valgrind() ? 4 : 20;
	step = count / (gens + 1);
	channel_create(run.name, &run.seg);
	start_subscribers(&run, 2, subscriber_main, count, false);
	for (g = 0; (uint64_t)g < gens; g++) {
		/* Publish up to the next step, then loan and write three messages
		 * that are never published. */
		pid = start_publisher(&run, count, seq + step, false, &rfd, &lfd);
		ck_assert_msg(mbt_get(lfd, &byte, 1), "generation %d did not loan", g);
		/* It lives: nobody else may publish. */
		mbt_assert_ret(membridge_publisher_open(run.seg, &pub), -EBUSY);
		ck_assert_ptr_null(pub);
		ck_assert_int_eq(mbt_kill(pid), MBT_KILLED);
		close(rfd);
		close(lfd);
		seq += step;
		ck_assert_uint_eq(next_seq(run.seg), seq);
		/* Every other generation, the parent takes the dead one's place
		 * and gives it up; otherwise the next child takes it over. */
		if (g % 2) {
			mbt_assert_ok(membridge_publisher_open(run.seg, &pub));
			membridge_publisher_close(pub);
			pub = NULL;
			takeovers++;
		}
	}
	pid = start_publisher(&run, count, UINT64_MAX, false, &rfd, &lfd);
	pr = finish_publisher(pid, rfd, lfd);
	ck_assert_uint_eq(pr.sent, count - seq);
	check_subscribers(&run, count, "takeover");
	printf("takeover: %llu messages, %llu publishers killed holding 3 unpublished loans "
	       "each, %llu taken over by the parent, %llu by the next child\n",
	       (unsigned long long)count, (unsigned long long)gens,
	       (unsigned long long)takeovers, (unsigned long long)(gens - takeovers));
	channel_destroy(run.name, run.seg);
}
END_TEST

/* Wait until generation g's publisher has returned from `target` calls;
 * it must not end by itself meanwhile. */
static void wait_calls(struct gen_shared *sh, pid_t pid, uint64_t target, int g)
{
	int64_t deadline = mbt_now_ns() + STALL_NS;
	int status;

	while (atomic_load(&sh->calls) < target) {
		ck_assert_msg(waitpid(pid, &status, WNOHANG) == 0,
			      "generation %d ended by itself (status %d)", g, status);
		ck_assert_msg(mbt_now_ns() < deadline, "generation %d stalled at %llu calls", g,
			      (unsigned long long)atomic_load(&sh->calls));
		mbt_sleep_ns(50 * 1000);
	}
}

/* Publisher processes SIGKILLed at random moments (after a random number of
 * calls that returned, then a random delay of up to half a millisecond:
 * between calls, in one, or waiting for space) while they publish through
 * loan/publish, send, sendv and send_batch; each time a new process takes
 * the channel over and goes on, and a last one runs to its end. Three
 * subscribers check every message: intact, seq strictly increasing, the
 * counters of each generation contiguous from 0, nothing twice. A
 * generation may lose only what its last call was publishing when it died:
 * the subscribers got every message whose call returned, and at most one
 * call's worth more. MBT_KILL_SEED picks another schedule. */
START_TEST(test_publisher_killed_random)
{
	uint64_t kills = mbt_under_valgrind() ? 6 : MAX_GENS - 1;
	uint64_t max_calls = mbt_under_valgrind() ? 40 : 150;
	uint64_t last_count = mbt_under_valgrind() ? 200 : 600;
	uint64_t seed = mbt_kill_seed(20260412), rng = seed | 1, reported[MAX_GENS] = { 0 };
	uint64_t in_way[N_WAYS] = { 0 }, in_call = 0, cut_short = 0;
	uint64_t checked = 0, lost = 0, dup = 0, corrupt = 0;
	struct gen_shared *sh = mbt_shared(sizeof(*sh));
	struct run run = { .nsubs = 0 };
	struct gen_result res;
	struct gen_args a;
	uint64_t g;
	int i;
	pid_t pid;

	channel_create(run.name, &run.seg);
	run.last_gen = kills;
	start_subscribers(&run, SLOTS, gen_subscriber_main, last_count, false);
	memset(&a, 0, sizeof(a));
	memcpy(a.name, run.name, sizeof(a.name));
	a.sh = sh;
	a.seed = seed;
	for (g = 0; g <= kills; g++) {
		atomic_store(&sh->calls, 0);
		atomic_store(&sh->published, 0);
		a.gen = g;
		a.count = g < kills ? UINT64_MAX : last_count;
		pid = mbt_fork(gen_publisher_main, &a);
		if (g == kills) {
			ck_assert_int_eq(mbt_wait(pid), 0);
		} else {
			wait_calls(sh, pid, 1 + mbt_random(&rng) % max_calls, (int)g);
			mbt_sleep_ns((int64_t)(mbt_random(&rng) % 500000));
			ck_assert_int_eq(mbt_kill(pid), MBT_KILLED);
			in_way[atomic_load(&sh->way)]++;
			in_call += (uint64_t)atomic_load(&sh->busy);
		}
		reported[g] = atomic_load(&sh->published);
	}
	for (i = 0; i < run.nsubs; i++) {
		ck_assert_msg(mbt_get(run.sub_results[i], &res, sizeof(res)),
			      "subscriber %d sent no result", i);
		close(run.sub_results[i]);
		ck_assert_int_eq(mbt_wait(run.subs[i]), 0);
		printf("publisher kills: subscriber %d: %llu received, %llu lost, %llu duplicated, "
		       "%llu corrupt, %llu seq gaps within a generation\n", i,
		       (unsigned long long)res.received, (unsigned long long)res.lost,
		       (unsigned long long)res.duplicated, (unsigned long long)res.corrupted,
		       (unsigned long long)res.gaps);
		ck_assert_msg(res.error == 0, "subscriber %d: %s", i, membridge_strerror(res.error));
		ck_assert_uint_eq(res.lost, 0);
		ck_assert_uint_eq(res.duplicated, 0);
		ck_assert_uint_eq(res.corrupted, 0);
		ck_assert_uint_eq(res.gaps, 0);
		for (g = 0; g <= kills; g++) {
			/* Every call that returned arrived; beyond, only the
			 * one the kill interrupted, whole or not at all. */
			ck_assert_msg(res.per_gen[g] >= reported[g] &&
				      res.per_gen[g] <= reported[g] + GEN_BATCH,
				      "subscriber %d, generation %llu: %llu messages, its calls "
				      "returned %llu", i, (unsigned long long)g,
				      (unsigned long long)res.per_gen[g],
				      (unsigned long long)reported[g]);
			if (i == 0)
				cut_short += res.per_gen[g] > reported[g];
		}
		ck_assert_uint_eq(res.per_gen[kills], last_count);
		checked += res.received;
		lost += res.lost;
		dup += res.duplicated;
		corrupt += res.corrupted;
	}
	run.nsubs = 0;
	printf("publisher kills: %llu (seed %llu; in or after %s %llu, %s %llu, %s %llu, %s %llu; "
	       "%llu inside a call, %llu of those calls had published), messages checked: %llu, "
	       "lost %llu, duplicated %llu, corrupt %llu\n", (unsigned long long)kills,
	       (unsigned long long)seed, way_names[0], (unsigned long long)in_way[0], way_names[1],
	       (unsigned long long)in_way[1], way_names[2], (unsigned long long)in_way[2],
	       way_names[3], (unsigned long long)in_way[3], (unsigned long long)in_call,
	       (unsigned long long)cut_short,
	       (unsigned long long)checked, (unsigned long long)lost, (unsigned long long)dup,
	       (unsigned long long)corrupt);
	munmap(sh, sizeof(*sh));
	channel_destroy(run.name, run.seg);
}
END_TEST

START_TEST(test_poll_subscriber)
{
	uint64_t count = stream_length(50000, 2000);
	struct pub_result pr;
	struct run run = { .nsubs = 0 };
	int rfd, lfd;
	pid_t pub;

	if (!MEMBRIDGE_HAVE_DESCRIPTORS) {
		fprintf(stderr, "test_poll_subscriber: skipped, no descriptors on this platform\n");
		return;
	}
	channel_create(run.name, &run.seg);
	/* One subscriber in poll(2), one blocking; the publisher waits for
	 * space in poll(2) too. */
	start_subscribers(&run, 1, subscriber_main, count, true);
	start_subscribers(&run, 1, subscriber_main, count, false);
	pub = start_publisher(&run, count, UINT64_MAX, true, &rfd, &lfd);
	pr = finish_publisher(pub, rfd, lfd);
	check_subscribers(&run, count, "poll");
	printf("poll: %llu messages, the publisher found the channel full %llu times and "
	       "polled %llu times\n",
	       (unsigned long long)pr.sent, (unsigned long long)pr.fulls,
	       (unsigned long long)pr.polls);
	ck_assert_uint_eq(pr.sent, count);
	channel_destroy(run.name, run.seg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("channel_procs");
	TCase *tc;

	tc = tcase_create("procs");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_stream_three_subscribers);
	tcase_add_test(tc, test_subscriber_killed);
	tcase_add_test(tc, test_publisher_killed_loaned);
	tcase_add_test(tc, test_publisher_killed_random);
	tcase_add_test(tc, test_poll_subscriber);
	suite_add_tcase(s, tc);
	return mbt_run(s);
}
