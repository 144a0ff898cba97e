/* SPDX-License-Identifier: MIT */
/* Check suite for the channel with real processes: a stream to three
 * subscribers, subscribers SIGKILLed at random moments, publishers killed
 * between loan and publish and replaced, subscribers waiting in poll(2). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
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
#define KILLED (128 + SIGKILL)

/* Reachable from here, so a child that is killed or exits with them open
 * does not look like a leak to valgrind. */
static struct membridge_segment *child_seg;
static struct membridge_publisher *child_pub;
static struct membridge_subscriber *child_sub;

static uint64_t mix(uint64_t x)
{
	x = (x ^ (x >> 31)) * UINT64_C(0x7fb5d329728ea185);
	x = (x ^ (x >> 27)) * UINT64_C(0x81dadef4bc2dd44d);
	return x ^ (x >> 33);
}

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
	uint64_t r = mix(seq);

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
	uint64_t r = mix(seq ^ UINT64_C(0x5bd1e995)), sum;
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

/* ------------------------------------------------------------ pipes */

static void put(int fd, const void *buf, size_t n)
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

/* Read exactly n bytes; false at EOF. */
static bool get(int fd, void *buf, size_t n)
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

/* ------------------------------------------------------------ subscribers */

/* What a subscriber child saw. */
struct sub_result {
	uint64_t received, lost, duplicated, corrupted, wraps, polls;
	int32_t error; /* the call that failed, 0 if none */
	int32_t pad;
};

struct sub_args {
	char name[MBT_NAME_SIZE];
	uint64_t count;  /* messages to wait for: seq 0 .. count-1 */
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

	alarm(CHILD_ALARM_S);
	ret = membridge_segment_open(a->name, 0, &child_seg);
	if (ret == 0)
		ret = membridge_subscriber_open(child_seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &child_sub);
	if (ret == 0 && a->poll)
		ret = fd = membridge_subscriber_fd(child_sub);
	if (ret < 0) {
		fprintf(stderr, "subscriber: %s\n", membridge_strerror(ret));
		return 30;
	}
	put(a->ready_fd, "r", 1);
	while (expected < a->count && res.error == 0) {
		r = mix(expected ^ (uint64_t)getpid() << 32);
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
	membridge_subscriber_close(child_sub);
	membridge_segment_close(child_seg);
	put(a->result_fd, &res, sizeof(res));
	return 0;
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
	int n, i, ret;

	ret = membridge_segment_open(a->name, 0, &child_seg);
	if (ret == 0)
		ret = membridge_subscriber_open(child_seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &child_sub);
	if (ret < 0) {
		fprintf(stderr, "victim: %s\n", membridge_strerror(ret));
		return 40; /* not the death the parent expects */
	}
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
		r = mix(expected ^ (uint64_t)getpid() << 32);
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

	alarm(CHILD_ALARM_S);
	ret = membridge_segment_open(a->name, 0, &child_seg);
	if (ret == 0)
		ret = membridge_publisher_open(child_seg, &child_pub);
	if (ret == 0 && a->poll)
		ret = fd = membridge_publisher_fd(child_pub);
	if (ret < 0) {
		fprintf(stderr, "publisher: %s\n", membridge_strerror(ret));
		return 30;
	}
	end = a->stop_at < a->until ? a->stop_at : a->until;
	for (seq = next_seq(child_seg); seq < end && res.error == 0;) {
		batch = 1 + mix(seq) % 4;
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
		put(a->loaned_fd, "l", 1);
		for (;;)
			pause();
	}
	membridge_publisher_close(child_pub);
	membridge_segment_close(child_seg);
	put(a->result_fd, &res, sizeof(res));
	return 0;
}

/* ------------------------------------------------------------ the parent */

struct run {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	pid_t subs[SLOTS];
	int sub_results[SLOTS];
	int nsubs;
};

/* Fork n subscribers of seq 0 .. count-1 and wait until each subscribed. */
static void start_subscribers(struct run *run, int n, uint64_t count, bool use_poll)
{
	struct sub_args a;
	int ready[2], results[2], i;
	char byte;

	for (i = 0; i < n; i++) {
		memset(&a, 0, sizeof(a));
		memcpy(a.name, run->name, sizeof(a.name));
		a.count = count;
		a.poll = use_poll;
		ck_assert_int_eq(pipe(ready), 0);
		ck_assert_int_eq(pipe(results), 0);
		a.ready_fd = ready[1];
		a.result_fd = results[1];
		run->subs[run->nsubs] = mbt_fork(subscriber_main, &a);
		close(ready[1]);
		close(results[1]);
		ck_assert_msg(get(ready[0], &byte, 1), "subscriber %d did not subscribe", i);
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
		ck_assert_msg(get(run->sub_results[i], &res, sizeof(res)),
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

	ck_assert_msg(get(result_fd, &res, sizeof(res)), "the publisher sent no result");
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
	start_subscribers(&run, 3, count, false);
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
	const char *env = getenv("MBT_KILL_SEED");
	int rfd, lfd, status;
	pid_t pub, victim;

	seed = env && *env ? strtoull(env, NULL, 0) : 20260315;
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(shared, MAP_FAILED);
	memset((void *)shared, 0, 4096);
	channel_create(run.name, &run.seg);
	start_subscribers(&run, 2, count, false);
	memset(&va, 0, sizeof(va));
	memcpy(va.name, run.name, sizeof(va.name));
	va.holding = &shared[0];
	va.victim_bad = (void *)&shared[16]; /* 64 bytes into a page */
	victim = mbt_fork(victim_main, &va);
	pub = start_publisher(&run, count, UINT64_MAX, false, &rfd, &lfd);
	for (;;) {
		mbt_sleep_ns((int64_t)(mix(seed ^ kills) % (20 * (uint64_t)MBT_MS)));
		if (atomic_load(va.holding))
			holding++;
		ck_assert_int_eq(kill(victim, SIGKILL), 0);
		/* Reaped at once: a zombie still counts as a live process. */
		ck_assert_int_eq(mbt_wait(victim), KILLED);
		kills++;
		if (waitpid(pub, &status, WNOHANG) == pub)
			break;
		victim = mbt_fork(victim_main, &va);
	}
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "publisher status %d",
		      status);
	ck_assert_msg(get(rfd, &pr, sizeof(pr)), "the publisher sent no result");
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
	start_subscribers(&run, 2, count, false);
	for (g = 0; (uint64_t)g < gens; g++) {
		/* Publish up to the next step, then loan and write three messages
		 * that are never published. */
		pid = start_publisher(&run, count, seq + step, false, &rfd, &lfd);
		ck_assert_msg(get(lfd, &byte, 1), "generation %d did not loan", g);
		/* It lives: nobody else may publish. */
		mbt_assert_ret(membridge_publisher_open(run.seg, &pub), -EBUSY);
		ck_assert_ptr_null(pub);
		ck_assert_int_eq(kill(pid, SIGKILL), 0);
		ck_assert_int_eq(mbt_wait(pid), KILLED);
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

START_TEST(test_poll_subscriber)
{
	uint64_t count = stream_length(50000, 2000);
	struct pub_result pr;
	struct run run = { .nsubs = 0 };
	int rfd, lfd;
	pid_t pub;

	channel_create(run.name, &run.seg);
	/* One subscriber in poll(2), one blocking; the publisher waits for
	 * space in poll(2) too. */
	start_subscribers(&run, 1, count, true);
	start_subscribers(&run, 1, count, false);
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
	tcase_add_test(tc, test_poll_subscriber);
	suite_add_tcase(s, tc);
	return mbt_run(s);
}
