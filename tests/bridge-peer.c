/* SPDX-License-Identifier: MIT */
/* bridge-peer: the producer and the consumer at the two ends of the bridge
 * tests. They send and check the message stream of soak-stream.h (sequence
 * number, varying length, checksum) through a ring or a channel:
 *
 *   bridge-peer produce NAME COUNT [SEED]    push or publish COUNT messages
 *   bridge-peer consume NAME COUNT [SEED]    take them until the last one;
 *       prints "received R lost L duplicated D corrupted C gaps G" (G:
 *       the runs of lost messages) and exits 0 when nothing was lost,
 *       duplicated or corrupted, 1 otherwise
 *
 * A channel's producer first waits for a subscriber; a channel's consumer
 * prints "subscribed" once it is one. Messages are 12 to 4092 bytes. Each
 * wait gives up after PEER_TIMEOUT_NS of silence (exit 2). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "soak-stream.h"

#define PEER_CAP 4096u
#define PEER_TIMEOUT_NS INT64_C(120000000000)

/* The consumer's count of runs of lost messages (mbs's `got` hook). */
struct gaps {
	uint64_t expected, runs;
};

static void count_gap(void *ctx, uint64_t seq)
{
	struct gaps *g = ctx;

	if (seq == UINT64_MAX)
		return; /* corrupt: counted by the tally */
	if (seq > g->expected)
		g->runs++;
	if (seq >= g->expected)
		g->expected = seq + 1;
}

static int produce_channel(struct mbs *s, struct membridge_segment *seg, uint64_t count)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber_info info;
	struct timespec pause = { 0, 10000000 };
	uint64_t seq, waited;
	int ret;

	ret = membridge_publisher_open(seg, &pub);
	if (ret < 0)
		return ret;
	for (waited = 0; membridge_publisher_subscribers(pub, &info, 1) < 1; waited++) {
		if (waited * 10 > (uint64_t)(PEER_TIMEOUT_NS / 1000000)) {
			membridge_publisher_close(pub);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
	for (seq = 0; seq < count && ret >= 0; seq++)
		ret = membridge_publisher_send(pub, s->scratch, mbs_build(s, seq, s->scratch),
					       PEER_TIMEOUT_NS);
	membridge_publisher_close(pub);
	return ret < 0 ? ret : 0;
}

static int consume_channel(struct mbs *s, struct membridge_segment *seg, uint64_t count,
			   struct mbs_tally *t)
{
	struct membridge_subscriber *sub;
	struct membridge_message msgs[MBS_BATCH];
	int ret, i;

	ret = membridge_subscriber_open(seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &sub);
	if (ret < 0)
		return ret;
	printf("subscribed\n");
	fflush(stdout);
	while (t->next < count) {
		ret = membridge_subscriber_receive_batch(sub, msgs, MBS_BATCH, PEER_TIMEOUT_NS);
		if (ret < 0)
			break;
		for (i = 0; i < ret; i++)
			s->got(s->ctx, mbs_judge(s, t, msgs[i].data, msgs[i].len));
		ret = membridge_subscriber_release(sub);
		if (ret < 0)
			break;
	}
	membridge_subscriber_close(sub);
	return ret < 0 ? ret : 0;
}

static int run(const char *mode, const char *name, uint64_t count, uint64_t seed)
{
	struct membridge_channel_config cfg;
	struct membridge_segment *seg;
	struct membridge_spsc *q = NULL;
	struct mbs_tally t = { 0 };
	struct gaps gaps = { 0, 0 };
	struct mbs s;
	bool consume = strcmp(mode, "consume") == 0;
	bool channel;
	int ret;

	ret = membridge_segment_open(name, 0, &seg);
	if (ret < 0) {
		fprintf(stderr, "bridge-peer: %s: %s\n", name, membridge_strerror(ret));
		return 2;
	}
	channel = membridge_channel_config(seg, &cfg) == 0;
	ret = mbs_init(&s, seed, PEER_CAP, MBS_SELF_ID);
	s.got = count_gap;
	s.ctx = &gaps;
	if (ret == 0 && !channel)
		ret = membridge_spsc_open(seg, &q);
	if (ret == 0 && channel)
		ret = consume ? consume_channel(&s, seg, count, &t) : produce_channel(&s, seg, count);
	else if (ret == 0)
		ret = consume ? mbs_consume(&s, q, &t, count, MBS_POP_MIX, PEER_TIMEOUT_NS)
			      : mbs_produce(&s, q, 0, count, MBS_PUSH_MIX, PEER_TIMEOUT_NS);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbs_free(&s);
	if (consume)
		printf("received %llu lost %llu duplicated %llu corrupted %llu gaps %llu\n",
		       (unsigned long long)t.received, (unsigned long long)t.lost,
		       (unsigned long long)t.duplicated, (unsigned long long)t.corrupted,
		       (unsigned long long)gaps.runs);
	if (ret < 0) {
		fprintf(stderr, "bridge-peer: %s %s: %s\n", mode, name, membridge_strerror(ret));
		return 2;
	}
	return consume && (t.lost || t.duplicated || t.corrupted) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 5 ||
	    (strcmp(argv[1], "produce") != 0 && strcmp(argv[1], "consume") != 0)) {
		fprintf(stderr, "usage: bridge-peer produce|consume NAME COUNT [SEED]\n");
		return 2;
	}
	return run(argv[1], argv[2], strtoull(argv[3], NULL, 10),
		   argc == 5 ? strtoull(argv[4], NULL, 10) : 1);
}
