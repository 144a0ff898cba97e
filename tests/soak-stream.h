/* SPDX-License-Identifier: MIT */
/* The checked message stream of the ring stress tests: soak, threads, crash and kill tests. */
#ifndef MEMBRIDGE_SOAK_STREAM_H
#define MEMBRIDGE_SOAK_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <membridge.h>

/* Messages of at least this length carry their full sequence number and a
 * checksum: uint64 seq, body, uint32 checksum of the seq and the body. A
 * shorter one is the first bytes of a 12-byte record made from its seq. */
#define MBS_SELF_ID 12u

/* How the producer pushes (per message, or a mix chosen by the sequence). */
enum mbs_push { MBS_PUSH_MIX, MBS_PUSH_ONE, MBS_PUSH_GATHER, MBS_PUSH_BATCH };
/* How the consumer takes messages. */
enum mbs_pop { MBS_POP_MIX, MBS_POP_ONE, MBS_POP_PEEK, MBS_POP_BATCH };

/* Most messages one push_batch or pop_batch call handles. */
#define MBS_BATCH 8

struct mbs {
	uint64_t seed;
	size_t cap;            /* ring capacity: the longest message is cap - 4 bytes */
	size_t min_len;        /* shortest message; MBS_SELF_ID makes every one carry its seq */
	unsigned char *pattern; /* 2 * cap pseudo-random bytes, the source of every body */
	unsigned char *scratch; /* MBS_BATCH * cap bytes for the producer and consumer */
	/* Optional hooks: after every successful push call, every message with a
	 * sequence number below `next` is published; after a message was checked
	 * (before it is consumed with peek, after it was taken with pop). */
	void (*sent)(void *ctx, uint64_t next);
	void (*got)(void *ctx, uint64_t seq);
	void *ctx;
};

/* What a consumer saw. `next` is the sequence number it expects next. */
struct mbs_tally {
	uint64_t next;
	uint64_t received;
	uint64_t bytes;       /* frame bytes received, headers included */
	uint64_t lost;        /* skipped over by a later intact message */
	uint64_t duplicated;  /* intact messages older than expected */
	uint64_t corrupted;   /* neither the expected message nor an intact one */
};

/* 0, or -ENOMEM. cap is the ring capacity (a power of two, >= 16). */
int mbs_init(struct mbs *s, uint64_t seed, size_t cap, size_t min_len);
void mbs_free(struct mbs *s);

/* Payload length of message seq. */
size_t mbs_len(const struct mbs *s, uint64_t seq);
/* Bytes the frames [first, end) take in the ring, headers included. */
uint64_t mbs_frame_bytes(const struct mbs *s, uint64_t first, uint64_t end);
/* Write message seq to out (mbs_len() bytes); returns its length. */
size_t mbs_build(const struct mbs *s, uint64_t seq, unsigned char *out);

/* Judge a received payload against t->next and count it in the tally;
 * returns the sequence number it carries (or t->next when it carries none). */
uint64_t mbs_judge(const struct mbs *s, struct mbs_tally *t, const void *data, size_t len);

/* Push messages [first, end) (end UINT64_MAX: until killed). Each push call
 * waits up to timeout_ns; 0 or the first error (-EPROTO for a batch that
 * pushed nothing). */
int mbs_produce(struct mbs *s, struct membridge_spsc *q, uint64_t first, uint64_t end,
		enum mbs_push how, int64_t timeout_ns);
/* Take and judge messages until t->next reaches end. Each call waits up to
 * timeout_ns; 0, or the first error (-ETIMEDOUT, -EAGAIN, ...). */
int mbs_consume(struct mbs *s, struct membridge_spsc *q, struct mbs_tally *t, uint64_t end,
		enum mbs_pop how, int64_t timeout_ns);

#endif /* MEMBRIDGE_SOAK_STREAM_H */
