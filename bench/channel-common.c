/* SPDX-License-Identifier: MIT */
/* Helpers of the channel benchmarks (see channel-common.h). */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <string.h>

#include <membridge.h>

#include "bench-common.h"
#include "channel-common.h"

void chan_bench_create(const char *name, uint64_t data_size, uint64_t max_message,
		       unsigned subscribers)
{
	struct membridge_channel_config cfg = { data_size, max_message, subscribers, 0 };
	struct membridge_segment *seg;
	size_t size = membridge_channel_segment_size(&cfg);

	if (size == 0)
		bench_die("no channel has %llu data bytes for messages of %llu bytes",
			  (unsigned long long)data_size, (unsigned long long)max_message);
	bench_check(membridge_segment_create(name, size, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &seg),
		    name);
	bench_check(membridge_channel_init(seg, &cfg), "membridge_channel_init");
	membridge_segment_close(seg);
}

struct membridge_publisher *chan_bench_publisher(const char *name)
{
	struct membridge_segment *seg;
	struct membridge_publisher *pub;

	bench_check(membridge_segment_open(name, 0, &seg), name);
	bench_check(membridge_publisher_open(seg, &pub), "membridge_publisher_open");
	membridge_segment_close(seg); /* the publisher keeps its own reference */
	return pub;
}

struct membridge_subscriber *chan_bench_subscriber(const char *name)
{
	struct membridge_segment *seg;
	struct membridge_subscriber *sub;

	bench_check(membridge_segment_open(name, 0, &seg), name);
	bench_check(membridge_subscriber_open(seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &sub),
		    "membridge_subscriber_open");
	membridge_segment_close(seg);
	return sub;
}

void party_barrier_wait(struct party_barrier *b)
{
	unsigned gen = atomic_load_explicit(&b->generation, memory_order_acquire);
	unsigned spins = 0;

	if (atomic_fetch_add_explicit(&b->count, 1, memory_order_acq_rel) == b->parties - 1) {
		atomic_store_explicit(&b->count, 0, memory_order_relaxed);
		atomic_store_explicit(&b->generation, gen + 1, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&b->generation, memory_order_acquire) == gen) {
		/* parties sharing a CPU need it to arrive */
		if (++spins % 256 == 0)
			sched_yield();
		bench_cpu_relax();
	}
}

void atomic_min_i64(_Atomic int64_t *where, int64_t v)
{
	int64_t cur = atomic_load(where);

	while (v < cur && !atomic_compare_exchange_weak(where, &cur, v))
		;
}

void atomic_max_i64(_Atomic int64_t *where, int64_t v)
{
	int64_t cur = atomic_load(where);

	while (v > cur && !atomic_compare_exchange_weak(where, &cur, v))
		;
}

void stamp_ends(void *p, size_t len, uint64_t seq)
{
	uint64_t inv = ~seq;

	memcpy(p, &seq, sizeof(seq));
	memcpy((unsigned char *)p + len - sizeof(inv), &inv, sizeof(inv));
}

bool check_ends(const void *p, size_t len, uint64_t seq)
{
	uint64_t first, last;

	memcpy(&first, p, sizeof(first));
	memcpy(&last, (const unsigned char *)p + len - sizeof(last), sizeof(last));
	return first == seq && last == ~seq;
}

void stamp_whole(void *p, size_t len, uint64_t seq)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		w[i] = seq + i;
}

bool check_whole(const void *p, size_t len, uint64_t seq)
{
	const uint64_t *w = p;
	uint64_t diff = 0;
	size_t i;

	for (i = 0; i < len / sizeof(*w); i++)
		diff |= w[i] ^ (seq + i);
	return diff == 0;
}

void chan_bench_goal(const char *group, const char *bcase, const char *peer, double ratio)
{
	printf("GOAL\t%s\t%s\t%s\t%g\n", group, bcase, peer, ratio);
	fflush(stdout);
}
