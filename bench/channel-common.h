/* SPDX-License-Identifier: MIT */
/* Shared by the channel benchmarks: channels by name, a barrier for any number of processes, message stamps. */
#ifndef MEMBRIDGE_BENCH_CHANNEL_COMMON_H
#define MEMBRIDGE_BENCH_CHANNEL_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <membridge.h>

/* Create segment `name` holding a channel of data_size data bytes,
 * messages up to max_message bytes and `subscribers` slots. The creator
 * keeps no handle: the processes that take part open it by name. */
void chan_bench_create(const char *name, uint64_t data_size, uint64_t max_message,
		       unsigned subscribers);
/* Open the channel of segment `name` as its publisher or as a subscriber
 * of the messages published from now on. */
struct membridge_publisher *chan_bench_publisher(const char *name);
struct membridge_subscriber *chan_bench_subscriber(const char *name);

/* A spinning barrier for `parties` processes, in bench_shared_alloc()
 * memory (zero-initialised, parties set before use), reusable. */
struct party_barrier {
	_Atomic unsigned count;
	_Atomic unsigned generation;
	unsigned parties;
};
void party_barrier_wait(struct party_barrier *b);

/* Lower *where to v / raise it to v (atomically, any number of processes). */
void atomic_min_i64(_Atomic int64_t *where, int64_t v);
void atomic_max_i64(_Atomic int64_t *where, int64_t v);

/* Message `seq` of len >= 16 bytes: seq in the first 8 bytes, ~seq in the
 * last 8 (stamp_ends); with `whole`, every 8-byte word i of the payload
 * holds seq + i instead (stamp_whole; len a multiple of 8), written in
 * place. The checks return true when p holds exactly that. */
void stamp_ends(void *p, size_t len, uint64_t seq);
bool check_ends(const void *p, size_t len, uint64_t seq);
void stamp_whole(void *p, size_t len, uint64_t seq);
bool check_whole(const void *p, size_t len, uint64_t seq);

/* One GOAL<TAB>group<TAB>case<TAB>peer<TAB>ratio line: membridge should
 * beat `peer` in that case by at least `ratio` (as bench/report.py orients
 * ratios); the reporter says whether it did. */
void chan_bench_goal(const char *group, const char *bcase, const char *peer, double ratio);

#endif /* MEMBRIDGE_BENCH_CHANNEL_COMMON_H */
