/* SPDX-License-Identifier: MIT */
/* Helpers of the channel benchmarks (see channel-common.h). */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"
#include "channel-common.h"

static void channel_create(const char *name, uint64_t data_size, uint64_t max_message,
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
	membridge_segment_close(seg); /* the processes that take part open it by name */
}

void link_setup(struct link *l, enum link_kind kind, uint64_t data_size, uint64_t max_message,
		unsigned subscribers)
{
	memset(l, 0, sizeof(*l));
	l->kind = kind;
	l->data_size = data_size;
	switch (kind) {
	case LINK_CHANNEL:
		channel_create(bench_name(l->name), data_size, max_message, subscribers);
		break;
	case LINK_RING:
		membridge_spsc_close(bench_ring_create(bench_name(l->name), (size_t)data_size));
		break;
	case LINK_REF:
		l->ref_shared = ref_ring_alloc((size_t)data_size);
		break;
	case LINK_IOX:
		bench_name(l->name); /* a fresh service for each run */
		break;
	case LINK_PIPE:
		if (pipe(l->fd) < 0)
			bench_die("pipe: %s", strerror(errno));
		break;
	}
}

void link_teardown(struct link *l)
{
	switch (l->kind) {
	case LINK_CHANNEL:
	case LINK_RING:
		bench_check(membridge_segment_remove(l->name), "membridge_segment_remove");
		break;
	case LINK_REF:
		ref_ring_free(l->ref_shared, (size_t)l->data_size);
		break;
	case LINK_IOX:
		break;
	case LINK_PIPE:
		close(l->fd[0]);
		close(l->fd[1]);
		break;
	}
}

static int open_publisher(struct membridge_segment *seg, void *pub)
{
	return membridge_publisher_open(seg, pub);
}

static int open_subscriber(struct membridge_segment *seg, void *sub)
{
	return membridge_subscriber_open(seg, MEMBRIDGE_SUBSCRIBE_NEWEST, sub);
}

void link_attach(struct link *l, bool sender, unsigned iox_queue)
{
	switch (l->kind) {
	case LINK_CHANNEL:
		if (sender)
			bench_open_handle(l->name, open_publisher, &l->pub,
					  "membridge_publisher_open");
		else
			bench_open_handle(l->name, open_subscriber, &l->sub,
					  "membridge_subscriber_open");
		break;
	case LINK_RING:
		l->q = bench_ring_open(l->name);
		break;
	case LINK_REF:
		ref_ring_attach(&l->ref, l->ref_shared, (size_t)l->data_size, sender);
		break;
	case LINK_IOX:
#ifdef MB_BENCH_ICEORYX
		if (sender)
			l->ipub = bench_iox_pub_open(l->name);
		else
			l->isub = bench_iox_sub_open(l->name, iox_queue);
#endif
		break;
	case LINK_PIPE:
		close(l->fd[sender ? 0 : 1]);
		break;
	}
	(void)iox_queue;
}

void link_detach(struct link *l, bool sender)
{
	switch (l->kind) {
	case LINK_CHANNEL:
		if (sender)
			membridge_publisher_close(l->pub);
		else
			membridge_subscriber_close(l->sub);
		break;
	case LINK_RING:
		membridge_spsc_close(l->q);
		break;
	case LINK_IOX:
#ifdef MB_BENCH_ICEORYX
		if (sender)
			bench_iox_pub_close(l->ipub);
		else
			bench_iox_sub_close(l->isub);
#endif
		break;
	case LINK_REF:
	case LINK_PIPE:
		break;
	}
}

void link_join(const struct link *l)
{
#ifdef MB_BENCH_ICEORYX
	if (l->kind == LINK_IOX)
		bench_iox_join();
#else
	(void)l;
#endif
}

void link_leave(const struct link *l)
{
#ifdef MB_BENCH_ICEORYX
	if (l->kind == LINK_IOX)
		bench_iox_leave();
#else
	(void)l;
#endif
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
