/* SPDX-License-Identifier: MIT */
/* Check suite of a hostile peer scribbling on a live channel. */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "helpers.h"

/* The channel: 8 KiB of data, messages of up to 200 bytes, 4 slots. */
#define DATA_SIZE 8192
#define MAX_MESSAGE 200
#define SLOTS 4
#define SUBSCRIBERS 2
/* Where channel-layout.h (version 1) puts what the scribbler writes. */
#define OFF_PUBLISHER 128
#define OFF_CONTROL 256
#define OFF_WAITS 384
#define OFF_SLOTS 640
#define OFF_DATA (OFF_SLOTS + 128 * SLOTS)
#define RECORD 16
/* Every call waits at most this long, and must be back mbt_mbt_slack_ns() later. */
#define CALL_TIMEOUT_NS (5 * MBT_MS)
/* An honest process gives up after this many timeouts in a row (5 s, 30 s
 * under valgrind): the others stopped, on an error or at the end. */
#define IDLE_LIMIT (mbt_under_valgrind() ? 6000u : 1000u)
/* Bounds of the waits for the others to get going: a minute at least. */
#define JOIN_WAITS 60000u

/* Counts, scaled down under valgrind. */
static unsigned messages_total(void)
{
	return mbt_under_valgrind() ? 600 : 20000;
}

static unsigned messages_clean(void)
{
	return messages_total() / 10;
}

static unsigned scribble_total(void)
{
	return mbt_under_valgrind() ? 200 : 4000;
}

enum op { OP_SEND, OP_RECEIVE, OP_BATCH, OP_RELEASE, N_OPS };
static const char *const op_names[N_OPS] = { "send", "receive", "receive_batch", "release" };
static const int codes[] = { 0, -ETIMEDOUT, -ECONNRESET, -EBADMSG };
#define N_CODES (sizeof(codes) / sizeof(codes[0]))

/* What one honest process saw, in memory shared with the parent. */
struct tally {
	uint64_t count[N_OPS][N_CODES + 1]; /* the last column: anything else */
	int first_error;         /* what made it stop, 0 if nothing did */
	uint64_t slow;           /* calls back later than their timeout allows */
	uint64_t clean;          /* messages accepted before any scribble: intact, in order */
	uint64_t accepted;       /* messages accepted in all */
	uint64_t intact;         /* ... whose number, length and checksum are right */
	uint64_t outside;        /* messages outside the data area, misaligned or too long */
	uint64_t disorder;       /* sequence numbers not consecutive */
	uint64_t clean_bad;      /* accepted before any scribble, yet not intact */
	int done;
};

enum role { PUBLISHER, SUB_A, SUB_B, SCRIBBLER, N_ROLES };
static const char *const role_names[N_ROLES] = { "publisher", "subscriber A", "subscriber B",
						  "scribbler" };

struct shared {
	_Atomic uint64_t sent;        /* messages the publisher got out */
	_Atomic uint64_t scribbles;   /* writes the scribbler made */
	_Atomic int joined;           /* subscribers that opened */
	_Atomic int publisher_done;
	struct tally tally[N_ROLES];
};

struct run {
	const char *name;
	bool hostile;
	uint64_t seed;
	struct shared *sh;
};

/* Count a result and the time it took; false if the process must stop
 * (the first -ECONNRESET or -EBADMSG, as membridge.h documents them). */
static bool record(struct tally *t, enum op op, int ret, int64_t started)
{
	size_t c;

	if (ret > 0)
		ret = 0;
	for (c = 0; c < N_CODES && codes[c] != ret; c++)
		;
	t->count[op][c]++;
	if (mbt_now_ns() - started > CALL_TIMEOUT_NS + mbt_slack_ns())
		t->slow++;
	if (ret == 0 || ret == -ETIMEDOUT)
		return true;
	t->first_error = ret;
	return false;
}

/* A message: its number, its length, a checksum of the rest, the rest. */
struct head {
	uint64_t number;
	uint32_t len, sum;
};

static uint32_t checksum(const unsigned char *p, size_t n, uint64_t number)
{
	uint32_t h = UINT32_C(2166136261) ^ (uint32_t)number;
	size_t i;

	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * UINT32_C(16777619);
	return h;
}

static size_t make_message(uint64_t number, unsigned char *buf)
{
	struct head h = { number, (uint32_t)(sizeof(h) + number * 7 % (MAX_MESSAGE - sizeof(h) + 1)),
			  0 };
	size_t i;

	for (i = sizeof(h); i < h.len; i++)
		buf[i] = (unsigned char)(number * 13 + i);
	h.sum = checksum(buf + sizeof(h), h.len - sizeof(h), number);
	memcpy(buf, &h, sizeof(h));
	return h.len;
}

static bool message_intact(const unsigned char *p, size_t len, uint64_t seq)
{
	struct head h;

	if (len < sizeof(h))
		return false;
	memcpy(&h, p, sizeof(h));
	return h.number == seq && h.len == len &&
	       h.sum == checksum(p + sizeof(h), len - sizeof(h), seq);
}

static int open_segment(const struct run *run, struct membridge_segment **seg)
{
	return membridge_segment_open(run->name, 0, seg) < 0 ? 20 : 0;
}

static int publisher_main(void *arg)
{
	struct run *run = arg;
	struct tally *t = &run->sh->tally[PUBLISHER];
	struct membridge_segment *seg;
	struct membridge_publisher *pub;
	unsigned char buf[MAX_MESSAGE];
	unsigned idle = 0, wait;
	uint64_t number = 0;
	int64_t t0;
	int ret;

	if (open_segment(run, &seg))
		return 20;
	if (membridge_publisher_open(seg, &pub) < 0)
		return 21;
	/* Both subscribers join before the first message (bounded). */
	for (wait = 0; wait < JOIN_WAITS && atomic_load(&run->sh->joined) < SUBSCRIBERS; wait++)
		mbt_sleep_ns(MBT_MS);
	while (number < messages_total() && idle < IDLE_LIMIT) {
		t0 = mbt_now_ns();
		ret = membridge_publisher_send(pub, buf, make_message(number, buf), CALL_TIMEOUT_NS);
		if (!record(t, OP_SEND, ret, t0))
			break;
		idle = ret == 0 ? 0 : idle + 1;
		if (ret == 0)
			atomic_store(&run->sh->sent, ++number);
	}
	atomic_store(&run->sh->publisher_done, 1);
	membridge_publisher_close(pub);
	membridge_segment_close(seg);
	t->done = 1;
	return 0;
}

/* Check one accepted message against what the publisher sent: whether it
 * is intact (the order and the bounds are counted in t). */
static bool accept_message(struct tally *t, const struct membridge_message *m,
			   const unsigned char *area, uint64_t *expect)
{
	const unsigned char *p = m->data;
	bool ok;

	t->accepted++;
	if (p < area || p >= area + DATA_SIZE || m->len > (size_t)(area + DATA_SIZE - p) ||
	    (uintptr_t)p % MEMBRIDGE_CHANNEL_ALIGN != 0 || m->len > MAX_MESSAGE) {
		t->outside++;
		return false;
	}
	if (m->seq != *expect)
		t->disorder++;
	*expect = m->seq + 1;
	ok = message_intact(p, m->len, m->seq);
	t->intact += ok;
	return ok;
}

static int subscriber_main(struct run *run, enum role role)
{
	struct tally *t = &run->sh->tally[role];
	struct membridge_segment *seg;
	struct membridge_subscriber *sub;
	struct membridge_message msgs[4];
	const unsigned char *area;
	uint64_t rng = run->seed * (2 * (uint64_t)role + 1), expect = 0;
	unsigned idle = 0;
	int64_t t0;
	int ret, i;

	if (open_segment(run, &seg))
		return 20;
	if (membridge_subscriber_open(seg, role == SUB_A ? MEMBRIDGE_SUBSCRIBE_NEWEST
						       : MEMBRIDGE_SUBSCRIBE_OLDEST, &sub) < 0)
		return 21;
	area = (const unsigned char *)membridge_segment_data(seg) + OFF_DATA;
	atomic_fetch_add(&run->sh->joined, 1);
	while (idle < IDLE_LIMIT) {
		bool batch = mbt_random(&rng) % 2, intact = true;

		t0 = mbt_now_ns();
		ret = batch ? membridge_subscriber_receive_batch(sub, msgs, 4, CALL_TIMEOUT_NS)
			    : membridge_subscriber_receive(sub, msgs, CALL_TIMEOUT_NS);
		if (!record(t, batch ? OP_BATCH : OP_RECEIVE, ret, t0))
			break;
		if (ret == -ETIMEDOUT) {
			/* Drained after the publisher's end: nothing more comes. */
			idle = atomic_load(&run->sh->publisher_done) ? IDLE_LIMIT : idle + 1;
			continue;
		}
		idle = 0;
		for (i = 0; i < (batch ? ret : 1); i++)
			intact &= accept_message(t, &msgs[i], area, &expect);
		/* The scribbler counts a write before it makes it: none counted
		 * now, none was there when these messages were read. */
		atomic_thread_fence(memory_order_seq_cst);
		if (atomic_load(&run->sh->scribbles) == 0) {
			t->clean += (uint64_t)(batch ? ret : 1);
			t->clean_bad += !intact;
		}
		t0 = mbt_now_ns();
		ret = membridge_subscriber_release(sub);
		record(t, OP_RELEASE, ret < 0 ? ret : 0, t0);
	}
	membridge_subscriber_close(sub);
	membridge_segment_close(seg);
	t->done = 1;
	return 0;
}

static int sub_a_main(void *arg)
{
	return subscriber_main(arg, SUB_A);
}

static int sub_b_main(void *arg)
{
	return subscriber_main(arg, SUB_B);
}

static void store64(unsigned char *p, uint64_t v)
{
	__atomic_store_n((uint64_t *)(void *)p, v, __ATOMIC_RELAXED);
}

static uint64_t load64(const unsigned char *p)
{
	return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_RELAXED);
}

/* The record header in front of the payload at position pos. */
static unsigned char *record_at(unsigned char *base, uint64_t pos)
{
	uint64_t off = pos % DATA_SIZE;

	return base + OFF_DATA + (off ? off : DATA_SIZE) - RECORD;
}

/* One write: a random or a plausible evil value into the header, the
 * publisher line, the control line, the wait lines, a slot, or the record
 * header of a message just published or about to be. */
static void scribble(unsigned char *base, uint64_t *rng)
{
	uint64_t r = mbt_random(rng), v = mbt_random(rng);
	uint64_t tail = load64(base + OFF_PUBLISHER);
	unsigned char *slot = base + OFF_SLOTS + 128 * (r >> 8 & (SLOTS - 1));
	unsigned char *rec = record_at(base, (tail & ~(uint64_t)63) - 64 * (r >> 12 & 7));
	static const uint64_t evil[] = { 0, 1, 63, 64, DATA_SIZE, DATA_SIZE - RECORD, MAX_MESSAGE,
					 MAX_MESSAGE + 1, UINT32_MAX, INT64_MAX, UINT64_MAX,
					 UINT64_MAX / 2 + 1 };
	uint64_t e = evil[v % (sizeof(evil) / sizeof(evil[0]))];

	switch (r % 12) {
	case 0: /* a header field: magic, version, flags, slots, sizes */
		base[r >> 16 & 31] = (unsigned char)v;
		break;
	case 1: /* the tail: random, evil, or a few records off */
		store64(base + OFF_PUBLISHER, v % 3 == 0 ? v : v % 3 == 1 ? e
					      : tail + 64 * ((v >> 8 & 7) - 4));
		break;
	case 2: /* next_seq */
		store64(base + OFF_PUBLISHER + 8, v % 2 ? v : load64(base + OFF_PUBLISHER + 8) + e);
		break;
	case 3: /* the reserve, or (less often: it ends the stream) the publisher's record */
		store64(base + OFF_CONTROL + (v % 4 == 0 ? 0 : 8), v % 3 == 0 ? v : e);
		break;
	case 4: /* the wait lines: event counts, sleepers, leases, armed, nonces */
		base[OFF_WAITS + (v % 256)] = (unsigned char)(v >> 8);
		break;
	case 5: /* a slot's head */
		store64(slot, v % 2 ? v : tail - 64 * (v >> 8 & 3));
		break;
	case 6: /* a slot's owner */
		store64(slot + 8, v % 2 ? v : e);
		break;
	case 7: /* a slot's state, armed flag, nonce */
		base[(slot - base) + 16 + (v >> 8) % 16] = (unsigned char)(v % 2 ? v : v % 5);
		break;
	case 8: /* a record's length */
		memcpy(rec, &(uint32_t){ (uint32_t)(v % 2 ? v : e) }, 4);
		break;
	case 9: /* a record's kind: message, wrap, or anything */
		memcpy(rec + 4, &(uint32_t){ (uint32_t)(v % 3 == 2 ? v : 1 + v % 3) }, 4);
		break;
	case 10: /* a record's sequence number */
		memcpy(rec + 8, &(uint64_t){ v % 2 ? v : load64(rec + 8) + e }, 8);
		break;
	default: /* the record the publisher writes next */
		memcpy(record_at(base, tail), &v, 8);
		break;
	}
}

static int scribbler_main(void *arg)
{
	struct run *run = arg;
	struct tally *t = &run->sh->tally[SCRIBBLER];
	struct membridge_segment *seg;
	unsigned char *base;
	uint64_t rng = run->seed ^ 0x5c81bb1e, i;
	unsigned wait;

	if (open_segment(run, &seg))
		return 20;
	base = membridge_segment_data(seg);
	/* A clean stream first (bounded: the publisher may stop early). */
	for (wait = 0; wait < JOIN_WAITS && atomic_load(&run->sh->sent) < messages_clean() &&
		       !atomic_load(&run->sh->publisher_done); wait++)
		mbt_sleep_ns(MBT_MS);
	for (i = 0; i < scribble_total(); i++) {
		atomic_fetch_add(&run->sh->scribbles, 1);
		scribble(base, &rng);
		mbt_sleep_ns((int64_t)(mbt_random(&rng) % 100000));
	}
	membridge_segment_close(seg);
	t->done = 1;
	return 0;
}

/* Start the processes, wait for them up to a deadline, kill those that pass
 * it; every one must exit 0 by itself and get to its end. */
static void run_all(struct run *run)
{
	static int (*const mains[N_ROLES])(void *) = {
		publisher_main, sub_a_main, sub_b_main, scribbler_main,
	};
	int roles = run->hostile ? N_ROLES : N_ROLES - 1, i;

	mbt_run_all(roles, mains, run, role_names,
		    mbt_now_ns() + (mbt_under_valgrind() ? 600000 : 120000) * MBT_MS);
	for (i = 0; i < roles; i++)
		ck_assert_msg(run->sh->tally[i].done, "%s did not finish", role_names[i]);
}

/* Print what an honest process saw and assert it stayed within the contract. */
static void report(const struct tally *t, const char *who)
{
	size_t op, c;

	for (op = 0; op < N_OPS; op++) {
		uint64_t n = 0;

		for (c = 0; c <= N_CODES; c++)
			n += t->count[op][c];
		if (!n)
			continue;
		fprintf(stderr, "  %s %s: %llu calls:", who, op_names[op], (unsigned long long)n);
		for (c = 0; c <= N_CODES; c++)
			if (t->count[op][c])
				fprintf(stderr, " %s %llu",
					c == N_CODES ? "undocumented" : c ? membridge_strerror(codes[c])
									  : "ok",
					(unsigned long long)t->count[op][c]);
		fputc('\n', stderr);
		ck_assert_msg(t->count[op][N_CODES] == 0, "%s: %s returned undocumented errors", who,
			      op_names[op]);
	}
	if (t->accepted)
		fprintf(stderr, "  %s: %llu messages accepted (%llu before any scribble), "
			"%llu intact\n", who, (unsigned long long)t->accepted,
			(unsigned long long)t->clean, (unsigned long long)t->intact);
	fprintf(stderr, "  %s stopped on %s (%d)\n", who,
		t->first_error ? membridge_strerror(t->first_error) : "nothing: the end",
		t->first_error);
	ck_assert_msg(t->slow == 0, "%s: %llu calls overran their timeout", who,
		      (unsigned long long)t->slow);
	ck_assert_msg(t->outside == 0, "%s: %llu messages outside the data area", who,
		      (unsigned long long)t->outside);
	ck_assert_msg(t->disorder == 0, "%s: %llu messages out of order", who,
		      (unsigned long long)t->disorder);
	ck_assert_msg(t->clean_bad == 0, "%s: %llu messages broken before any scribble", who,
		      (unsigned long long)t->clean_bad);
}

/* Create the channel, run the processes, report; returns the shared record. */
static struct shared *stream(const char *name, bool hostile, uint64_t seed)
{
	static const struct membridge_channel_config cfg = { DATA_SIZE, MAX_MESSAGE, SLOTS, 0 };
	struct membridge_segment *seg;
	struct run run = { name, hostile, seed, mbt_shared(sizeof(struct shared)) };
	int i;

	mbt_assert_ok(membridge_segment_create(name, membridge_channel_segment_size(&cfg), 0,
					       MEMBRIDGE_CREATE_REPLACE, &seg));
	mbt_assert_ok(membridge_channel_init(seg, &cfg));
	run_all(&run);
	fprintf(stderr, "%s channel stream, seed %llu: %llu messages sent, %llu scribbles\n",
		hostile ? "hostile" : "clean", (unsigned long long)seed,
		(unsigned long long)run.sh->sent, (unsigned long long)run.sh->scribbles);
	for (i = 0; i < SCRIBBLER; i++)
		report(&run.sh->tally[i], role_names[i]);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	return run.sh;
}

/* A publisher streams numbered, checksummed messages to two subscribers
 * (one joined NEWEST, one OLDEST) while a fourth process writes random and
 * plausible evil values into the header, the publisher and control lines,
 * the wait lines, the slots and the record headers: nobody crashes or hangs,
 * every call returns a documented result in time, every message lies in
 * the data area and comes in order, and those accepted before the first
 * scribble are intact. The scribbles cannot all be noticed (a shorter
 * length or a tail moved ahead look like messages): the messages accepted
 * after them are counted, not judged. Four such rounds (one under
 * valgrind), each on a new channel; then the channel is made again and a
 * clean stream passes whole. */
START_TEST(hostile_channel)
{
	uint64_t seed = (uint64_t)mbt_now_ns() | 1;
	int rounds = mbt_under_valgrind() ? 1 : 4, round, i;
	char name[MBT_NAME_SIZE];
	struct shared *sh;

	mbt_name(name);
	for (round = 0; round < rounds; round++) {
		sh = stream(name, true, seed + 2 * (uint64_t)round);
		ck_assert_uint_ge(sh->sent, messages_clean());
		ck_assert_uint_eq(sh->scribbles, scribble_total());
		for (i = SUB_A; i <= SUB_B; i++)
			ck_assert_uint_gt(sh->tally[i].clean, 0);
		munmap(sh, sizeof(*sh));
	}

	sh = stream(name, false, seed);
	ck_assert_uint_eq(sh->sent, messages_total());
	for (i = SUB_A; i <= SUB_B; i++) {
		ck_assert_int_eq(sh->tally[i].first_error, 0);
		ck_assert_uint_eq(sh->tally[i].accepted, messages_total());
		ck_assert_uint_eq(sh->tally[i].intact, messages_total());
	}
	munmap(sh, sizeof(*sh));
}
END_TEST

static Suite *channel_hostile_suite(void)
{
	Suite *s = suite_create("channel_hostile");
	TCase *tc = tcase_create("scribbler");

	tcase_add_test(tc, hostile_channel);
	tcase_set_timeout(tc, mbt_under_valgrind() ? 1500 : 150);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(channel_hostile_suite());
}
