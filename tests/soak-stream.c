/* SPDX-License-Identifier: MIT */
/* The checked message stream of soak-stream.h: lengths, contents, producer and consumer loops. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "soak-stream.h"

#define FH MEMBRIDGE_SPSC_FRAME_HEADER

static uint64_t mix64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/* A checksum of seq and a body, eight bytes at a time. */
static uint32_t checksum(uint64_t seq, const unsigned char *p, size_t n)
{
	uint64_t h = mix64(seq) ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, n);
	return (uint32_t)mix64(h ^ w);
}

int mbs_init(struct mbs *s, uint64_t seed, size_t cap, size_t min_len)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->seed = seed;
	s->cap = cap;
	s->min_len = min_len;
	s->pattern = malloc(2 * cap);
	s->scratch = malloc((size_t)MBS_BATCH * cap);
	if (!s->pattern || !s->scratch) {
		mbs_free(s);
		return -ENOMEM;
	}
	for (i = 0; i + 8 <= 2 * cap; i += 8) {
		uint64_t v = mix64(i ^ seed ^ UINT64_C(0xabcdef));

		memcpy(s->pattern + i, &v, 8);
	}
	return 0;
}

void mbs_free(struct mbs *s)
{
	free(s->pattern);
	free(s->scratch);
	s->pattern = NULL;
	s->scratch = NULL;
}

/* Mostly small, some large, every 1000th the largest possible (cap - 4) and
 * every 1000th the shortest allowed; some of the large ones are up to cap - 4. */
size_t mbs_len(const struct mbs *s, uint64_t seq)
{
	uint64_t h = mix64(seq ^ s->seed), x = h >> 32;
	size_t max = s->cap - FH, len;
	unsigned r = (unsigned)(h % 1000);

	if (seq % 1000 == 999)
		return max;
	if (seq % 1000 == 500)
		return s->min_len;
	if (r < 50)
		len = (size_t)(x % MBS_SELF_ID);
	else if (r < 900)
		len = MBS_SELF_ID + (size_t)(x % 256);
	else if (r < 990)
		len = 268 + (size_t)(x % (4096 - 268));
	else
		len = (size_t)(x % (max + 1));
	if (len > max)
		len = max;
	return len < s->min_len ? s->min_len : len;
}

uint64_t mbs_frame_bytes(const struct mbs *s, uint64_t first, uint64_t end)
{
	uint64_t total = 0;

	for (; first < end; first++)
		total += FH + mbs_len(s, first);
	return total;
}

static const unsigned char *body_of(const struct mbs *s, uint64_t seq)
{
	return s->pattern + mix64(seq ^ s->seed ^ UINT64_C(0x5555)) % s->cap;
}

/* The record whose first bytes make a message shorter than MBS_SELF_ID. */
static void small_record(uint64_t seq, unsigned char out[MBS_SELF_ID])
{
	uint64_t a = seq ^ UINT64_C(0xa5a5a5a5a5a5a5a5);
	uint32_t b = ~(uint32_t)seq;

	memcpy(out, &a, 8);
	memcpy(out + 8, &b, 4);
}

size_t mbs_build(const struct mbs *s, uint64_t seq, unsigned char *out)
{
	size_t len = mbs_len(s, seq);
	uint32_t c;

	if (len < MBS_SELF_ID) {
		unsigned char rec[MBS_SELF_ID];

		small_record(seq, rec);
		memcpy(out, rec, len);
		return len;
	}
	c = checksum(seq, body_of(s, seq), len - MBS_SELF_ID);
	memcpy(out, &seq, 8);
	memcpy(out + 8, body_of(s, seq), len - MBS_SELF_ID);
	memcpy(out + len - 4, &c, 4);
	return len;
}

/* Whether data/len is message seq, intact. */
static bool intact(const struct mbs *s, uint64_t seq, const unsigned char *data, size_t len)
{
	uint32_t c;

	if (len != mbs_len(s, seq))
		return false;
	if (len < MBS_SELF_ID) {
		unsigned char rec[MBS_SELF_ID];

		small_record(seq, rec);
		return len == 0 || memcmp(data, rec, len) == 0;
	}
	memcpy(&c, data + len - 4, 4);
	return c == checksum(seq, data + 8, len - MBS_SELF_ID) &&
	       memcmp(data + 8, body_of(s, seq), len - MBS_SELF_ID) == 0;
}

uint64_t mbs_judge(const struct mbs *s, struct mbs_tally *t, const void *data, size_t len)
{
	uint64_t seq = t->next;

	t->received++;
	t->bytes += FH + len;
	if (len >= MBS_SELF_ID)
		memcpy(&seq, data, 8);
	if (!intact(s, seq, data, len)) {
		t->corrupted++;
		t->next++;
		return UINT64_MAX;
	}
	if (seq < t->next) {
		t->duplicated++;
	} else {
		t->lost += seq - t->next;
		t->next = seq + 1;
	}
	return seq;
}

/* ------------------------------------------------------------- producer */

/* Push message seq gathered from pieces, one of them empty. */
static int push_gathered(struct mbs *s, struct membridge_spsc *q, uint64_t seq,
			 int64_t timeout_ns)
{
	size_t len = mbs_len(s, seq), body = len - MBS_SELF_ID, cut;
	const unsigned char *b = body_of(s, seq);
	unsigned char rec[MBS_SELF_ID];
	struct membridge_iovec v[5];
	uint32_t c;

	if (len < MBS_SELF_ID) {
		small_record(seq, rec);
		v[0] = (struct membridge_iovec){ rec, len / 2 };
		v[1] = (struct membridge_iovec){ NULL, 0 };
		v[2] = (struct membridge_iovec){ rec + len / 2, len - len / 2 };
		return membridge_spsc_pushv(q, v, 3, timeout_ns);
	}
	cut = body ? (size_t)(mix64(seq ^ UINT64_C(0x7777)) % (body + 1)) : 0;
	c = checksum(seq, b, body);
	v[0] = (struct membridge_iovec){ &seq, 8 };
	v[1] = (struct membridge_iovec){ b, cut };
	v[2] = (struct membridge_iovec){ NULL, 0 };
	v[3] = (struct membridge_iovec){ b + cut, body - cut };
	v[4] = (struct membridge_iovec){ &c, 4 };
	return membridge_spsc_pushv(q, v, 5, timeout_ns);
}

/* Push k messages from seq on with push_batch, resubmitting what did not fit. */
static int push_batched(struct mbs *s, struct membridge_spsc *q, uint64_t seq, size_t k,
			int64_t timeout_ns)
{
	struct membridge_iovec iov[MBS_BATCH];
	size_t i, done = 0, pushed;
	int ret;

	for (i = 0; i < k; i++) {
		unsigned char *slot = s->scratch + i * s->cap;

		iov[i] = (struct membridge_iovec){ slot, mbs_build(s, seq + i, slot) };
	}
	while (done < k) {
		ret = membridge_spsc_push_batch(q, iov + done, k - done, &pushed, timeout_ns);
		if (ret < 0)
			return ret;
		if (pushed == 0)
			return -EPROTO; /* a successful batch pushes something */
		done += pushed;
		if (s->sent)
			s->sent(s->ctx, seq + done);
	}
	return 0;
}

int mbs_produce(struct mbs *s, struct membridge_spsc *q, uint64_t first, uint64_t end,
		enum mbs_push how, int64_t timeout_ns)
{
	uint64_t seq = first;
	int ret = 0;

	while (seq < end) {
		uint64_t h = mix64(seq ^ s->seed ^ UINT64_C(0x1234));
		enum mbs_push now = how == MBS_PUSH_MIX ? (enum mbs_push)(1 + h % 3) : how;
		size_t k;

		switch (now) {
		case MBS_PUSH_GATHER:
			ret = push_gathered(s, q, seq, timeout_ns);
			k = 1;
			break;
		case MBS_PUSH_BATCH:
			k = 1 + (size_t)((h >> 8) % MBS_BATCH);
			if (k > end - seq)
				k = (size_t)(end - seq);
			ret = push_batched(s, q, seq, k, timeout_ns);
			break;
		default:
			ret = membridge_spsc_push(q, s->scratch, mbs_build(s, seq, s->scratch),
						  timeout_ns);
			k = 1;
			break;
		}
		if (ret < 0)
			return ret;
		seq += k;
		if (s->sent && now != MBS_PUSH_BATCH)
			s->sent(s->ctx, seq);
	}
	return 0;
}

/* ------------------------------------------------------------- consumer */

struct batch_ctx {
	struct mbs *s;
	struct mbs_tally *t;
};

/* Judge a frame seen in place (joined in scratch if it wraps). */
static void judge_frame(struct mbs *s, struct mbs_tally *t, const struct membridge_frame *f)
{
	const void *data = f->part[0];
	uint64_t seq;

	if (f->part_len[0] + f->part_len[1] != f->len || f->len > s->cap - FH ||
	    f->end - f->start != FH + f->len) {
		t->received++;
		t->corrupted++;
		t->next++;
		seq = UINT64_MAX;
	} else {
		if (f->part_len[1]) {
			memcpy(s->scratch, f->part[0], f->part_len[0]);
			memcpy(s->scratch + f->part_len[0], f->part[1], f->part_len[1]);
			data = s->scratch;
		}
		seq = mbs_judge(s, t, data, f->len);
	}
	if (s->got)
		s->got(s->ctx, seq);
}

static int batch_fn(void *ctx, const struct membridge_frame *f)
{
	struct batch_ctx *b = ctx;

	judge_frame(b->s, b->t, f);
	return 0;
}

int mbs_consume(struct mbs *s, struct membridge_spsc *q, struct mbs_tally *t, uint64_t end,
		enum mbs_pop how, int64_t timeout_ns)
{
	struct batch_ctx b = { s, t };
	struct membridge_frame f;
	size_t len, popped, max;
	int ret;

	while (t->next < end) {
		uint64_t h = mix64(t->next ^ s->seed ^ UINT64_C(0x9876)), seq;
		enum mbs_pop now = how == MBS_POP_MIX ? (enum mbs_pop)(1 + h % 3) : how;

		switch (now) {
		case MBS_POP_PEEK:
			ret = membridge_spsc_peek(q, &f, timeout_ns);
			if (ret < 0)
				return ret;
			judge_frame(s, t, &f);
			ret = membridge_spsc_consume(q, &f);
			if (ret < 0)
				return ret;
			break;
		case MBS_POP_BATCH:
			max = 1 + (size_t)((h >> 8) % MBS_BATCH);
			if (max > end - t->next)
				max = (size_t)(end - t->next);
			ret = membridge_spsc_pop_batch(q, max, batch_fn, &b, &popped, timeout_ns);
			if (ret < 0)
				return ret;
			if (popped == 0 || popped > max)
				return -EPROTO;
			break;
		default:
			ret = membridge_spsc_pop(q, s->scratch, s->cap, &len, timeout_ns);
			if (ret < 0)
				return ret;
			seq = mbs_judge(s, t, s->scratch, len);
			if (s->got)
				s->got(s->ctx, seq);
			break;
		}
	}
	return 0;
}
