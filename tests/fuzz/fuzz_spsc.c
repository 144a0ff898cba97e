/* SPDX-License-Identifier: MIT */
/* libFuzzer target: a ring opened over an arbitrary segment image, drained and pushed to. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-common.h"

/*
 * Input: 4 control bytes, then the segment image (24-byte header, data).
 *   ctl[0] bit 0: store the right capacity in the header
 *          bit 1: make tail - head fit the capacity (tail = head + tail % (cap + 1))
 *          bit 2: open through the second handle (an opener, not the creator)
 *          bits 4-7: the length of the message pushed at the end
 *   ctl[1..3]: the consumer calls, in turn (see drain_step()).
 * The segment is the smallest size class that holds the image; the rest of
 * it is zero. Every result is checked against a model of the ring written
 * from membridge(7) and membridge.h, and every frame the library hands out
 * must lie inside the data area.
 */
#define CTL_SIZE 4
#define HDR MEMBRIDGE_SPSC_HEADER
#define FH MEMBRIDGE_SPSC_FRAME_HEADER

static const size_t capacities[] = { 8, 16, 32, 64, 256, 1024, 4096 };
#define NCLASSES (sizeof(capacities) / sizeof(capacities[0]))
#define MAX_CAP 4096

static struct fz_segment *segments[NCLASSES];
/* The data area of the segment the current input uses. */
static const uint8_t *ring_data;

/* What the ring must look like: the header and the data as the image had them. */
struct model {
	uint64_t head, tail, cap;
	uint8_t data[MAX_CAP];
};

static struct model m;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t i;

	(void)argc;
	(void)argv;
	for (i = 0; i < NCLASSES; i++)
		segments[i] = fz_segment_new(HDR + capacities[i]);
	return 0;
}

static void model_get(uint64_t pos, void *dst, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		((uint8_t *)dst)[i] = m.data[(pos + i) & (m.cap - 1)];
}

/* The frame at the model's head: 0 and its length, -EAGAIN if there is none,
 * -EBADMSG if what was published cannot be a frame. */
static int model_frame(uint32_t *len)
{
	uint64_t avail = m.tail - m.head;
	uint8_t raw[FH];

	if (avail == 0)
		return -EAGAIN;
	if (avail < FH)
		return -EBADMSG;
	model_get(m.head, raw, FH);
	*len = fz_load32(raw);
	return *len > avail - FH ? -EBADMSG : 0;
}

/* The frame must be the model's next one, lie inside the data area and hold
 * the model's bytes. */
static void check_frame(const struct membridge_spsc *q, const struct membridge_frame *f,
			uint32_t len)
{
	const uint8_t *p0 = f->part[0], *end = ring_data + m.cap;
	uint8_t *want;

	FZ_CHECK(f->len == len, "frame of %zu bytes, expected %u", f->len, len);
	FZ_CHECK(f->start == m.head && f->end == m.head + FH + len,
		 "frame at [%llu, %llu), expected [%llu, ...)", (unsigned long long)f->start,
		 (unsigned long long)f->end, (unsigned long long)m.head);
	FZ_CHECK(f->part_len[0] + f->part_len[1] == f->len, "parts do not add up");
	FZ_CHECK(p0 >= ring_data && p0 < end && f->part_len[0] <= (size_t)(end - p0),
		 "part 0 outside the data area");
	FZ_CHECK(!f->part_len[1] || (f->part[1] == ring_data && f->part_len[1] <= m.cap),
		 "part 1 outside the data area");
	FZ_CHECK(membridge_spsc_capacity(q) == m.cap, "capacity changed");
	want = malloc(len ? len : 1);
	FZ_CHECK(want, "out of memory");
	model_get(m.head + FH, want, len);
	FZ_CHECK(!memcmp(f->part[0], want, f->part_len[0]) &&
		 !memcmp(f->part[1], want + f->part_len[0], f->part_len[1]),
		 "frame bytes differ from the image");
	free(want);
}

static void check_accounting(const struct membridge_spsc *q)
{
	uint64_t used = m.tail - m.head;
	size_t got;

	FZ_CHECK_RET(membridge_spsc_used(q, &got), 0);
	FZ_CHECK(got == used, "used %zu, expected %llu", got, (unsigned long long)used);
	FZ_CHECK_RET(membridge_spsc_space(q, &got), 0);
	FZ_CHECK(got == m.cap - used, "free %zu, expected %llu", got,
		 (unsigned long long)(m.cap - used));
	FZ_CHECK_RET(membridge_spsc_is_empty(q), used == 0);
	FZ_CHECK_RET(membridge_spsc_is_full(q), used >= m.cap);
}

struct batch {
	const struct membridge_spsc *q;
	size_t seen;
};

/* pop_batch callback: each frame is the model's next one. */
static int batch_frame(void *ctx, const struct membridge_frame *f)
{
	struct batch *b = ctx;
	uint32_t len;

	FZ_CHECK_RET(model_frame(&len), 0);
	check_frame(b->q, f, len);
	m.head += FH + len;
	b->seen++;
	return 0;
}

/* One consumer call chosen by op; returns what the model said about the next
 * frame before it (0: there was one). */
static int drain_step(struct membridge_spsc *q, uint8_t op)
{
	struct membridge_frame f, again;
	struct batch b = { q, 0 };
	size_t cap, len, popped, max;
	uint32_t flen;
	int want = model_frame(&flen);
	uint8_t *buf;

	switch (op & 3) {
	case 0: /* pop into a buffer that may be too small */
		cap = op & 0x80 ? (size_t)(op >> 2 & 0x1f) : MAX_CAP;
		buf = malloc(cap ? cap : 1);
		FZ_CHECK(buf, "out of memory");
		len = SIZE_MAX;
		if (want == 0 && flen > cap) {
			FZ_CHECK_RET(membridge_spsc_pop(q, buf, cap, &len, MEMBRIDGE_NO_WAIT),
				     -ENOBUFS);
			FZ_CHECK(len == flen, "ENOBUFS said %zu bytes, expected %u", len, flen);
		} else {
			FZ_CHECK_RET(membridge_spsc_pop(q, buf, cap, &len, MEMBRIDGE_NO_WAIT),
				     want);
		}
		if (want == 0 && flen <= cap) {
			uint8_t *exp = malloc(flen ? flen : 1);

			FZ_CHECK(exp, "out of memory");
			model_get(m.head + FH, exp, flen);
			FZ_CHECK(len == flen && !memcmp(buf, exp, flen), "popped bytes differ");
			free(exp);
			m.head += FH + flen;
		}
		free(buf);
		break;
	case 1: /* peek, then consume */
		FZ_CHECK_RET(membridge_spsc_peek(q, &f, MEMBRIDGE_NO_WAIT), want);
		if (want == 0) {
			check_frame(q, &f, flen);
			FZ_CHECK_RET(membridge_spsc_peek(q, &again, MEMBRIDGE_NO_WAIT), 0);
			FZ_CHECK(!memcmp(&f, &again, sizeof(f)), "a second peek differs");
			FZ_CHECK_RET(membridge_spsc_consume(q, &f), 0);
			m.head += FH + flen;
			FZ_CHECK_RET(membridge_spsc_consume(q, &f), -ESTALE);
		}
		break;
	case 2: /* a batch of up to 4 */
		max = 1 + (op >> 2 & 3);
		popped = SIZE_MAX;
		if (want == 0) {
			/* Stops at the first frame it cannot use, after the good ones. */
			int ret = membridge_spsc_pop_batch(q, max, batch_frame, &b, &popped,
							   MEMBRIDGE_NO_WAIT);
			int next = model_frame(&flen);

			FZ_CHECK(popped == b.seen, "popped %zu, callback saw %zu", popped, b.seen);
			FZ_CHECK(b.seen >= 1 && b.seen <= max, "batch of %zu", b.seen);
			FZ_CHECK(b.seen == max || next != 0, "batch stopped before a good frame");
			FZ_CHECK(ret == (next == -EBADMSG && b.seen < max ? -EBADMSG : 0),
				 "pop_batch returned %d after %zu frames", ret, b.seen);
		} else {
			FZ_CHECK_RET(membridge_spsc_pop_batch(q, max, batch_frame, &b, &popped,
							      MEMBRIDGE_NO_WAIT), want);
		}
		break;
	default:
		/* An empty frame at the head: consumable only if that is what
		 * the producer published there (membridge.h: -EINVAL if *frame
		 * is not a published frame). */
		memset(&f, 0, sizeof(f));
		f.start = m.head;
		f.end = m.head + FH;
		want = want == 0 && flen == 0 ? 0 : -EINVAL;
		FZ_CHECK_RET(membridge_spsc_consume(q, &f), want);
		if (want == 0)
			m.head += FH;
		return 0;
	}
	return want;
}

/* Push a message (and a batch of three) after draining; check it comes out. */
static void push_back(struct membridge_spsc *q, const uint8_t *payload, size_t avail,
		      uint8_t sel, bool drained)
{
	const size_t c = (size_t)m.cap;
	const size_t lens[16] = { 0, 1, 2, 3, 4, 5, 7, 8, 12, c / 2 - FH, c / 2, c - 2 * FH,
				  c - FH - 1, c - FH, c - FH + 1, c };
	size_t len = lens[sel & 15], got, room = (size_t)(m.cap - (m.tail - m.head));
	struct membridge_iovec iov[3];
	uint8_t *msg = calloc(1, len + 1), *out = malloc(len + 1);
	int want;

	FZ_CHECK(msg && out, "out of memory");
	memcpy(msg, payload, len < avail ? len : avail);
	want = len > c - FH ? -EMSGSIZE : FH + len > room ? -EAGAIN : 0;
	FZ_CHECK_RET(membridge_spsc_push(q, msg, len, MEMBRIDGE_NO_WAIT), want);
	if (want == 0) {
		m.tail += FH + len;
		if (drained) {
			FZ_CHECK_RET(membridge_spsc_pop(q, out, len, &got, MEMBRIDGE_NO_WAIT), 0);
			FZ_CHECK(got == len && !memcmp(out, msg, len), "pushed message changed");
			m.head += FH + len;
		}
	}
	check_accounting(q);
	if (drained) {
		/* Three small messages in one batch, then out in one batch. */
		size_t pushed = SIZE_MAX, i;
		struct batch b = { q, 0 };

		for (i = 0; i < 3; i++) {
			iov[i].base = msg;
			iov[i].len = len < i + 1 ? len : i + 1;
		}
		room = (size_t)(m.cap - (m.tail - m.head));
		FZ_CHECK_RET(membridge_spsc_push_batch(q, iov, 3, &pushed, MEMBRIDGE_NO_WAIT), 0);
		for (i = 0; i < 3 && FH + iov[i].len <= room; i++) {
			/* The model's copy of the data learns the frame. */
			uint32_t flen = (uint32_t)iov[i].len;
			size_t k;

			room -= FH + iov[i].len;
			for (k = 0; k < FH; k++)
				m.data[(m.tail + k) & (m.cap - 1)] = ((uint8_t *)&flen)[k];
			for (k = 0; k < iov[i].len; k++)
				m.data[(m.tail + FH + k) & (m.cap - 1)] = msg[k];
			m.tail += FH + iov[i].len;
		}
		FZ_CHECK(pushed == i, "push_batch pushed %zu, expected %zu", pushed, i);
		FZ_CHECK_RET(membridge_spsc_pop_batch(q, 8, batch_frame, &b, &got,
						      MEMBRIDGE_NO_WAIT), pushed ? 0 : -EAGAIN);
		FZ_CHECK(b.seen == pushed, "batch out %zu, in %zu", b.seen, pushed);
		check_accounting(q);
	}
	free(msg);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *ctl = data, *img = data + CTL_SIZE;
	size_t imglen = size > CTL_SIZE ? size - CTL_SIZE : 0, k, steps, limit;
	struct membridge_segment *handle;
	struct fz_segment *s = NULL;
	struct membridge_spsc *q = NULL;
	uint8_t hdr[HDR] = { 0 };
	int want, ret = 0;

	if (size < CTL_SIZE)
		return 0;
	for (k = 0; k < NCLASSES && !s; k++)
		if (HDR + capacities[k] >= imglen || k == NCLASSES - 1)
			s = segments[k];
	m.cap = s->size - HDR;
	/* The header as the image has it, adjusted as ctl[0] asks. */
	memcpy(hdr, img, imglen < HDR ? imglen : HDR);
	m.head = fz_load64(hdr);
	m.tail = fz_load64(hdr + 8);
	if (ctl[0] & 2)
		m.tail = m.head + m.tail % (m.cap + 1);
	memcpy(hdr + 8, &m.tail, 8);
	if (ctl[0] & 1)
		memcpy(hdr + 16, &m.cap, 8);
	memset(m.data, 0, sizeof(m.data));
	if (imglen > HDR)
		memcpy(m.data, img + HDR, imglen - HDR < m.cap ? imglen - HDR : m.cap);
	fz_segment_fill(s, hdr, HDR);
	memcpy((uint8_t *)membridge_segment_data(s->creator) + HDR, m.data, m.cap);
	/* Each handle has its own mapping: frames point into the one in use. */
	handle = ctl[0] & 4 ? s->opener : s->creator;
	ring_data = (const uint8_t *)membridge_segment_data(handle) + HDR;

	/* The creator's open writes the capacity into an all-zero header; an
	 * opener waits for that (-EAGAIN). Anything else must be a ring. */
	if (!m.head && !m.tail && !fz_load64(hdr + 16))
		want = ctl[0] & 4 ? -EAGAIN : 0;
	else
		want = fz_load64(hdr + 16) != m.cap || m.tail - m.head > m.cap ? -EBADMSG : 0;
	FZ_CHECK_RET(membridge_spsc_open(handle, &q), want);
	if (want < 0)
		return 0;
	FZ_CHECK(membridge_spsc_capacity(q) == m.cap, "capacity %zu",
		 membridge_spsc_capacity(q));
	check_accounting(q);

	/* A frame takes >= 4 bytes and every slot of ctl[1..3] consumes one at
	 * least every fourth turn, so this many steps drain the ring. */
	limit = 16 * (m.cap / FH + 2);
	for (steps = 0; steps < limit; steps++) {
		uint8_t op = (uint8_t)(ctl[1 + steps % 3] + steps / 3);

		ret = drain_step(q, op);
		if (ret < 0)
			break;
	}
	FZ_CHECK(steps < limit, "ring not drained after %zu calls", steps);
	FZ_CHECK(ret == -EAGAIN || ret == -EBADMSG, "drain stopped with %d", ret);
	check_accounting(q);
	push_back(q, img, imglen, ctl[0] >> 4, ret == -EAGAIN);
	membridge_spsc_close(q);
	return 0;
}
