/* SPDX-License-Identifier: MIT */
/* Shared by the channel benchmarks: the transports they compare, a barrier for any number of processes, message stamps. */
#ifndef MEMBRIDGE_BENCH_CHANNEL_COMMON_H
#define MEMBRIDGE_BENCH_CHANNEL_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <membridge.h>

#include "bench-common.h"
#include "ref-ring.h"
#ifdef MB_BENCH_ICEORYX
#include "iceoryx-peer.h"
#endif

/* The transports the channel benchmarks compare. */
enum link_kind { LINK_CHANNEL, LINK_RING, LINK_REF, LINK_IOX, LINK_PIPE };

/* One direction of messages between processes. The parent makes it with
 * link_setup() before it forks and removes it with link_teardown() after;
 * each child takes a side with link_attach() and leaves it with
 * link_detach(). Iceoryx's processes also join its daemon (link_join())
 * before they attach, and leave it (link_leave()) after they detach. */
struct link {
	enum link_kind kind;
	uint64_t data_size;          /* channel, rings: data bytes */
	char name[BENCH_NAME_SIZE];  /* channel, ring: the segment; iceoryx: the service */
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_spsc *q;
	struct ref_ring_shared *ref_shared;
	struct ref_ring ref;
#ifdef MB_BENCH_ICEORYX
	struct bench_iox_pub *ipub;
	struct bench_iox_sub *isub;
#endif
	int fd[2];                   /* pipe */
};

/* A link of `kind`: a channel of data_size data bytes, messages up to
 * max_message bytes and `subscribers` slots; a ring or reference ring of
 * data_size data bytes (a power of two); a fresh iceoryx service; a pipe. */
void link_setup(struct link *l, enum link_kind kind, uint64_t data_size, uint64_t max_message,
		unsigned subscribers);
void link_teardown(struct link *l);
/* The sender's or the receiver's side: the publisher, or a subscriber of
 * the messages published from now on (with a queue of iox_queue messages
 * for iceoryx). */
void link_attach(struct link *l, bool sender, unsigned iox_queue);
void link_detach(struct link *l, bool sender);
/* Once in each process that takes part in an iceoryx link; nothing for the others. */
void link_join(const struct link *l);
void link_leave(const struct link *l);

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
