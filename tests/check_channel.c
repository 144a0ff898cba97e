/* SPDX-License-Identifier: MIT */
/* Check suite for the channel in one process: shapes, header checks, the byte
 * layout, every call and error, flow control, eviction, a corrupt segment,
 * doorbell descriptors. */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

/* Byte offsets of layout version 1 (lib/channel-layout.h, membridge(7)). */
#define OFF_MAGIC 0
#define CHAN_MAGIC_BYTES 0x4843424du /* "MBCH" read as a little-endian uint32 */
#define OFF_VERSION 4
#define OFF_FLAGS 8
#define OFF_SUBSCRIBERS 12
#define OFF_DATA_SIZE 16
#define OFF_MAX_MESSAGE 24
#define OFF_TAIL 128
#define OFF_NEXT_SEQ 136
#define OFF_EPOCH (256 + 24)
#define OFF_OWNER 256
#define OFF_SLOTS 640
#define SLOT_LINE 128
#define SLOT_HEAD 0
#define SLOT_OWNER 8
#define SLOT_STATE 16
#define RECORD 16 /* record header: u32 len, u32 kind, u64 seq */
#define KIND_MESSAGE 1
#define KIND_WRAP 2
/* A record's kind word: the kind in the low 8 bits, the epoch mark of the
 * publisher that wrote it (1 for a new channel's first) in the high 24. */
#define MARK(epoch) ((uint32_t)(epoch) << 8)
#define STATE_ACTIVE 2
#define STATE_EVICTED 3
#define ALIGN MEMBRIDGE_CHANNEL_ALIGN
/* A timed wait must last at least its timeout, and end (see check_spsc.c). */
#define TIMEOUT_ENDS (2000 * MBT_MS)

/* A channel in a segment of its own, plus raw access to its bytes. */
struct chan {
	char name[MBT_NAME_SIZE];
	struct membridge_segment *seg;
	struct membridge_channel_config cfg;
	unsigned char *base; /* segment byte 0: the header */
	unsigned char *data; /* the data area */
	size_t size;         /* the segment's size */
};

static struct membridge_channel_config shape(uint64_t data_size, uint64_t max_message,
					     uint32_t subscribers)
{
	struct membridge_channel_config cfg = { data_size, max_message, subscribers, 0 };

	return cfg;
}

/* A segment of `size` bytes, nothing written. */
static void raw_make(struct chan *c, size_t size)
{
	memset(c, 0, sizeof(*c));
	mbt_name(c->name);
	mbt_assert_ok(membridge_segment_create(c->name, size, 0, MEMBRIDGE_CREATE_EXCLUSIVE,
					       &c->seg));
	c->base = membridge_segment_data(c->seg);
	c->size = size;
}

static void chan_make(struct chan *c, uint64_t data_size, uint64_t max_message,
		      uint32_t subscribers)
{
	struct membridge_channel_config cfg = shape(data_size, max_message, subscribers);
	size_t size = membridge_channel_segment_size(&cfg);

	ck_assert_uint_gt(size, 0);
	raw_make(c, size);
	mbt_assert_ok(membridge_channel_init(c->seg, &cfg));
	c->cfg = cfg;
	c->data = c->base + OFF_SLOTS + (size_t)SLOT_LINE * subscribers;
}

static void chan_free(struct chan *c)
{
	membridge_segment_close(c->seg);
	mbt_assert_ok(membridge_segment_remove(c->name));
}

static uint32_t get32(const struct chan *c, size_t off)
{
	uint32_t v;

	memcpy(&v, c->base + off, sizeof(v));
	return v;
}

static uint64_t get64(const struct chan *c, size_t off)
{
	uint64_t v;

	memcpy(&v, c->base + off, sizeof(v));
	return v;
}

static void set32(struct chan *c, size_t off, uint32_t v)
{
	memcpy(c->base + off, &v, sizeof(v));
}

static void set64(struct chan *c, size_t off, uint64_t v)
{
	memcpy(c->base + off, &v, sizeof(v));
}

static size_t slot_off(unsigned i, size_t field)
{
	return OFF_SLOTS + (size_t)SLOT_LINE * i + field;
}

/* Segment offset of the record header of the payload at position pos. */
static size_t record_off(const struct chan *c, uint64_t pos)
{
	uint64_t off = pos % c->cfg.data_size;

	return (size_t)(c->data - c->base) + (size_t)(off ? off : c->cfg.data_size) - RECORD;
}

static void assert_record(const struct chan *c, uint64_t pos, uint32_t len, uint32_t kind,
			  uint64_t seq)
{
	size_t off = record_off(c, pos);

	ck_assert_uint_eq(get32(c, off), len);
	ck_assert_uint_eq(get32(c, off + 4) & 0xff, kind);
	ck_assert_uint_ne(get32(c, off + 4) >> 8, 0);
	ck_assert_uint_eq(get64(c, off + 8), seq);
}

/* The position after a payload of len bytes at pos. */
static uint64_t next_pos(uint64_t pos, uint64_t len)
{
	return (pos + len + RECORD + ALIGN - 1) / ALIGN * ALIGN;
}

/* Deterministic payload bytes of message `seed`. */
static void fill(void *buf, size_t len, unsigned seed)
{
	unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8) + 1u);
}

static void send_seeded(struct membridge_publisher *pub, size_t len, unsigned seed)
{
	unsigned char buf[4096];

	ck_assert_uint_le(len, sizeof(buf));
	fill(buf, len, seed);
	mbt_assert_ok(membridge_publisher_send(pub, buf, len, MEMBRIDGE_NO_WAIT));
}

/* Receive one message now and check it: length, seq, bytes of fill(seed). */
static void receive_seeded(struct membridge_subscriber *sub, size_t len, uint64_t seq,
			   unsigned seed)
{
	unsigned char want[4096];
	struct membridge_message m;

	mbt_assert_ok(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(m.len, len);
	ck_assert_uint_eq(m.seq, seq);
	ck_assert_uint_eq((uintptr_t)m.data % ALIGN, 0);
	ck_assert_uint_le(len, sizeof(want));
	fill(want, len, seed);
	if (len)
		ck_assert_mem_eq(m.data, want, len);
}

static void assert_nothing(struct membridge_subscriber *sub)
{
	struct membridge_message m;

	mbt_assert_ret(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT), -EAGAIN);
}

/* How many loans of len bytes fit now (each published at once). */
static int fill_up(struct membridge_publisher *pub, size_t len)
{
	unsigned char buf[4096];
	int n = 0, ret;

	memset(buf, 0x5a, sizeof(buf));
	while ((ret = membridge_publisher_send(pub, buf, len, MEMBRIDGE_NO_WAIT)) == 0)
		n++;
	mbt_assert_ret(ret, -EAGAIN);
	return n;
}

/* Receive everything there is and release it with what was held before;
 * returns how many were released. */
static int drain_all(struct membridge_subscriber *sub)
{
	struct membridge_message m;
	int n = 0, ret;

	while ((ret = membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT)) == 0)
		n++;
	mbt_assert_ret(ret, -EAGAIN);
	ret = membridge_subscriber_release(sub);
	ck_assert_int_ge(ret, n);
	return ret;
}

static bool readable(int fd, int64_t wait_ns)
{
	struct pollfd p = { fd, POLLIN, 0 };
	int r = poll(&p, 1, (int)(wait_ns / MBT_MS));

	ck_assert_int_ge(r, 0);
	return r == 1 && (p.revents & POLLIN);
}

/* ------------------------------------------------------------ shapes */

START_TEST(test_constants)
{
	ck_assert_uint_eq(MEMBRIDGE_CHANNEL_VERSION, 1);
	ck_assert_uint_eq(MEMBRIDGE_CHANNEL_ALIGN, 64);
	ck_assert_uint_eq(MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS, 1024);
	ck_assert_uint_eq(MEMBRIDGE_CHANNEL_MAX_MESSAGE, UINT32_MAX - 64);
	ck_assert_uint_eq(MEMBRIDGE_SUBSCRIBE_NEWEST, 0);
	ck_assert_uint_eq(MEMBRIDGE_SUBSCRIBE_OLDEST, 1);
}
END_TEST

static const struct {
	size_t len, size;
} record_sizes[] = {
	{ 0, 64 },    { 1, 64 },	 { 47, 64 },   { 48, 64 },  { 49, 128 },
	{ 112, 128 }, { 113, 192 },	 { 1000, 1024 }, { 1008, 1024 }, { 1009, 1088 },
	{ MEMBRIDGE_CHANNEL_MAX_MESSAGE, (size_t)UINT32_MAX + 1 },
	{ (size_t)MEMBRIDGE_CHANNEL_MAX_MESSAGE + 1, 0 },
	{ SIZE_MAX, 0 },
};

START_TEST(test_record_size)
{
	ck_assert_uint_eq(membridge_channel_record_size(record_sizes[_i].len),
			  record_sizes[_i].size);
}
END_TEST

static const struct {
	struct membridge_channel_config cfg;
	size_t size; /* 0: not a valid shape */
} segment_sizes[] = {
	{ { 4096, 1000, 1, 0 }, 640 + 128 + 4096 },
	{ { 128, 48, 1, 0 }, 640 + 128 + 128 },
	{ { 256, 112, 3, 0 }, 640 + 384 + 256 },
	{ { 2048, 1000, 2, 0 }, 640 + 256 + 2048 },
	{ { 1 << 20, 1, 1024, 0 }, 640 + 128 * 1024 + (1 << 20) },
	{ { 4096, 1000, 0, 0 }, 0 },	      /* no subscriber slot */
	{ { 4096, 1000, 1025, 0 }, 0 },	      /* more than the maximum */
	{ { 4096, 0, 1, 0 }, 0 },	      /* max_message 0 */
	{ { UINT64_C(1) << 40, (uint64_t)MEMBRIDGE_CHANNEL_MAX_MESSAGE + 1, 1, 0 }, 0 },
	{ { 4100, 1000, 1, 0 }, 0 },	      /* not a multiple of 64 */
	{ { 4032, 48, 1, 0 }, 640 + 128 + 4032 },
	{ { 4064, 48, 1, 0 }, 0 },	      /* multiple of 32 only */
	{ { 1984, 1000, 1, 0 }, 0 },	      /* less than twice the record */
	{ { 64, 48, 1, 0 }, 0 },	      /* one record only */
	{ { 0, 48, 1, 0 }, 0 },
	{ { 4096, 1000, 1, 1 }, 0 },	      /* flags */
	{ { 4096, 1000, 1, 0x80000000u }, 0 },
	{ { UINT64_MAX & ~UINT64_C(63), 1000, 1, 0 }, 0 }, /* no size_t holds it */
};

START_TEST(test_segment_size)
{
	ck_assert_uint_eq(membridge_channel_segment_size(&segment_sizes[_i].cfg),
			  segment_sizes[_i].size);
}
END_TEST

START_TEST(test_segment_size_null)
{
	ck_assert_uint_eq(membridge_channel_segment_size(NULL), 0);
}
END_TEST

/* ------------------------------------------------------------ init and config */

START_TEST(test_init_errors)
{
	struct membridge_channel_config cfg = shape(4096, 1000, 2), bad = shape(4096, 1000, 0);
	size_t size = membridge_channel_segment_size(&cfg);
	struct membridge_segment *other;
	struct chan c, wrong;

	raw_make(&c, size);
	mbt_assert_ret(membridge_channel_init(NULL, &cfg), -EINVAL);
	mbt_assert_ret(membridge_channel_init(c.seg, NULL), -EINVAL);
	mbt_assert_ret(membridge_channel_init(c.seg, &bad), -EINVAL);
	/* A handle that opened the segment may not write the header. */
	mbt_assert_ok(membridge_segment_open(c.name, 0, &other));
	mbt_assert_ret(membridge_channel_init(other, &cfg), -EPERM);
	ck_assert_uint_eq(get32(&c, OFF_MAGIC), 0);
	mbt_assert_ok(membridge_channel_init(c.seg, &cfg));
	mbt_assert_ret(membridge_channel_init(c.seg, &cfg), -EEXIST);
	membridge_segment_close(other);
	chan_free(&c);

	/* Sizes other than the shape's, either way. */
	raw_make(&wrong, size + 64);
	mbt_assert_ret(membridge_channel_init(wrong.seg, &cfg), -EINVAL);
	chan_free(&wrong);
	raw_make(&wrong, size - 64);
	mbt_assert_ret(membridge_channel_init(wrong.seg, &cfg), -EINVAL);
	ck_assert_uint_eq(get32(&wrong, OFF_MAGIC), 0);
	chan_free(&wrong);
}
END_TEST

START_TEST(test_init_config_roundtrip)
{
	struct membridge_channel_config got;
	struct chan c;

	chan_make(&c, 8192, 300, 5);
	memset(&got, 0xa5, sizeof(got));
	mbt_assert_ok(membridge_channel_config(c.seg, &got));
	ck_assert_uint_eq(got.data_size, 8192);
	ck_assert_uint_eq(got.max_message, 300);
	ck_assert_uint_eq(got.subscribers, 5);
	ck_assert_uint_eq(got.flags, 0);
	mbt_assert_ret(membridge_channel_config(NULL, &got), -EINVAL);
	mbt_assert_ret(membridge_channel_config(c.seg, NULL), -EINVAL);
	chan_free(&c);
}
END_TEST

/* Every way of reading a header must give the same error; inspection
 * says -ENOTSUP rather than -EBADMSG when there is no channel magic. */
static void assert_open_errors(struct chan *c, int expected)
{
	struct membridge_channel_config cfg, before;
	struct membridge_publisher *pub = NULL;
	struct membridge_subscriber *sub = NULL;
	struct membridge_channel_info info;

	memset(&cfg, 0x77, sizeof(cfg));
	before = cfg;
	mbt_assert_ret(membridge_channel_config(c->seg, &cfg), expected);
	ck_assert_mem_eq(&cfg, &before, sizeof(cfg));
	mbt_assert_ret(membridge_publisher_open(c->seg, &pub), expected);
	ck_assert_ptr_null(pub);
	mbt_assert_ret(membridge_subscriber_open(c->seg, 0, &sub), expected);
	ck_assert_ptr_null(sub);
	mbt_assert_ret(membridge_channel_inspect(c->base, c->size, &info, NULL, 0),
		       expected == -EBADMSG && get32(c, OFF_MAGIC) != CHAN_MAGIC_BYTES ? -ENOTSUP
										: expected);
	/* No open may have claimed anything. */
	ck_assert_uint_eq(get64(c, OFF_OWNER), 0);
}

START_TEST(test_config_uninitialised)
{
	struct membridge_channel_config cfg = shape(4096, 1000, 2);
	struct chan c;

	raw_make(&c, membridge_channel_segment_size(&cfg));
	assert_open_errors(&c, -EAGAIN);
	chan_free(&c);
}
END_TEST

/* Hand-made headers: one field changed from a valid one. */
static const struct {
	const char *what;
	size_t off;
	unsigned width; /* 4 or 8 */
	uint64_t value;
	int expected;
} headers[] = {
	{ "valid", OFF_VERSION, 4, 1, 0 },
	{ "magic", OFF_MAGIC, 4, 0x5843424d, -EBADMSG }, /* "MBCX" */
	{ "magic byte-swapped", OFF_MAGIC, 4, 0x4d424348, -EBADMSG },
	{ "magic 0, version 1 (mid-init)", OFF_MAGIC, 4, 0, -EAGAIN },
	{ "version 0", OFF_VERSION, 4, 0, -EBADMSG },
	{ "version 2", OFF_VERSION, 4, 2, -EPROTO },
	{ "version max", OFF_VERSION, 4, UINT32_MAX, -EPROTO },
	{ "flags 1", OFF_FLAGS, 4, 1, -EPROTO },
	{ "flags high", OFF_FLAGS, 4, 0x80000000u, -EPROTO },
	{ "subscribers 0", OFF_SUBSCRIBERS, 4, 0, -EBADMSG },
	{ "subscribers 1025", OFF_SUBSCRIBERS, 4, 1025, -EBADMSG },
	{ "subscribers 1 (size differs)", OFF_SUBSCRIBERS, 4, 1, -EBADMSG },
	{ "subscribers max", OFF_SUBSCRIBERS, 4, UINT32_MAX, -EBADMSG },
	{ "data_size unaligned", OFF_DATA_SIZE, 8, 4095, -EBADMSG },
	{ "data_size smaller", OFF_DATA_SIZE, 8, 2048, -EBADMSG },
	{ "data_size huge", OFF_DATA_SIZE, 8, UINT64_MAX & ~UINT64_C(63), -EBADMSG },
	{ "max_message 0", OFF_MAX_MESSAGE, 8, 0, -EBADMSG },
	{ "max_message over half", OFF_MAX_MESSAGE, 8, 2033, -EBADMSG },
	{ "max_message huge", OFF_MAX_MESSAGE, 8, UINT64_MAX, -EBADMSG },
};

START_TEST(test_config_hand_made)
{
	struct membridge_channel_config cfg = shape(4096, 1000, 2), got;
	struct chan c;

	raw_make(&c, membridge_channel_segment_size(&cfg));
	memcpy(c.base + OFF_MAGIC, "MBCH", 4);
	set32(&c, OFF_VERSION, 1);
	set32(&c, OFF_FLAGS, 0);
	set32(&c, OFF_SUBSCRIBERS, 2);
	set64(&c, OFF_DATA_SIZE, 4096);
	set64(&c, OFF_MAX_MESSAGE, 1000);
	if (headers[_i].width == 4)
		set32(&c, headers[_i].off, (uint32_t)headers[_i].value);
	else
		set64(&c, headers[_i].off, headers[_i].value);
	if (headers[_i].expected == 0) {
		mbt_assert_ok(membridge_channel_config(c.seg, &got));
		ck_assert_mem_eq(&got, &cfg, sizeof(cfg));
	} else {
		assert_open_errors(&c, headers[_i].expected);
	}
	chan_free(&c);
}
END_TEST

START_TEST(test_open_bad_tail)
{
	struct membridge_publisher *pub = NULL;
	struct chan c;

	chan_make(&c, 4096, 1000, 1);
	set64(&c, OFF_TAIL, 65);
	mbt_assert_ret(membridge_publisher_open(c.seg, &pub), -EBADMSG);
	ck_assert_ptr_null(pub);
	/* It gave the channel back. */
	ck_assert_uint_eq(get64(&c, OFF_OWNER), 0);
	set64(&c, OFF_TAIL, UINT64_MAX & ~UINT64_C(63));
	mbt_assert_ret(membridge_publisher_open(c.seg, &pub), -EBADMSG);
	set64(&c, OFF_TAIL, 128);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ layout */

START_TEST(test_layout_header)
{
	struct membridge_publisher *pub;
	struct chan c;
	size_t i;

	chan_make(&c, 4096, 1000, 3);
	ck_assert_mem_eq(c.base + OFF_MAGIC, "MBCH", 4);
	ck_assert_uint_eq(get32(&c, OFF_VERSION), 1);
	ck_assert_uint_eq(get32(&c, OFF_FLAGS), 0);
	ck_assert_uint_eq(get32(&c, OFF_SUBSCRIBERS), 3);
	ck_assert_uint_eq(get64(&c, OFF_DATA_SIZE), 4096);
	ck_assert_uint_eq(get64(&c, OFF_MAX_MESSAGE), 1000);
	ck_assert_uint_eq(c.size, 640 + 3 * 128 + 4096);
	/* init writes the header and nothing else. */
	for (i = 32; i < c.size; i++)
		ck_assert_msg(c.base[i] == 0, "byte %zu is %u after init", i, c.base[i]);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	ck_assert_uint_eq(get64(&c, OFF_OWNER) & UINT32_MAX, (uint64_t)getpid());
	membridge_publisher_close(pub);
	ck_assert_uint_eq(get64(&c, OFF_OWNER), 0);
	chan_free(&c);
}
END_TEST

/* The record header 16 bytes before a payload, read through the payload pointer. */
static void assert_header_before(const struct chan *c, const struct membridge_message *m,
				 uint32_t kind)
{
	const unsigned char *p = m->data;
	size_t off = (size_t)(p - c->base);
	uint32_t len, k;
	uint64_t seq;

	if (p == c->data)
		off += (size_t)c->cfg.data_size; /* lap start: the last 16 bytes */
	memcpy(&len, c->base + off - RECORD, 4);
	memcpy(&k, c->base + off - RECORD + 4, 4);
	memcpy(&seq, c->base + off - RECORD + 8, 8);
	ck_assert_uint_eq(len, m->len);
	ck_assert_uint_eq(k & 0xff, kind);
	ck_assert_uint_ne(k >> 8, 0);
	ck_assert_uint_eq(seq, m->seq);
}

START_TEST(test_layout_records)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *a, *b;
	struct membridge_message m;
	struct chan c;
	int i;

	chan_make(&c, 1024, 200, 2);
	ck_assert_uint_eq(c.data - c.base, 640 + 2 * 128);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &b));
	ck_assert_uint_eq(membridge_subscriber_slot(a), 0);
	ck_assert_uint_eq(membridge_subscriber_slot(b), 1);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(get64(&c, 640 + 128 * i + SLOT_HEAD), 0);
		ck_assert_uint_eq(get64(&c, 640 + 128 * i + SLOT_OWNER) & UINT32_MAX,
				  (uint64_t)getpid());
		ck_assert_uint_eq(get32(&c, 640 + 128 * i + SLOT_STATE), STATE_ACTIVE);
	}

	/* Position 0: the header is in the data area's last 16 bytes. */
	send_seeded(pub, 10, 0);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 64);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 1);
	ck_assert_uint_eq(get32(&c, 896 + 1008), 10);
	ck_assert_uint_eq(get32(&c, 896 + 1012), KIND_MESSAGE | MARK(1));
	ck_assert_uint_eq(get64(&c, 896 + 1016), 0);
	/* Position 64: header at 48..63. */
	send_seeded(pub, 100, 1);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 192);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 2);
	ck_assert_uint_eq(get32(&c, 896 + 48), 100);
	ck_assert_uint_eq(get32(&c, 896 + 52), KIND_MESSAGE | MARK(1));
	ck_assert_uint_eq(get64(&c, 896 + 56), 1);

	mbt_assert_ok(membridge_subscriber_receive(a, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_ptr_eq(m.data, c.data);
	assert_header_before(&c, &m, KIND_MESSAGE);
	mbt_assert_ok(membridge_subscriber_receive(a, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_ptr_eq(m.data, c.data + 64);
	assert_header_before(&c, &m, KIND_MESSAGE);
	/* Heads move on release only. */
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 0);
	ck_assert_int_eq(membridge_subscriber_release(a), 2);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 192);
	ck_assert_uint_eq(get64(&c, slot_off(1, SLOT_HEAD)), 0);
	ck_assert_int_eq(drain_all(b), 2);
	ck_assert_uint_eq(get64(&c, slot_off(1, SLOT_HEAD)), 192);

	/* 192 -> 448 -> 704 -> 960; each payload aligned, header right before. */
	for (i = 0; i < 3; i++)
		send_seeded(pub, 200, 2 + (unsigned)i);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 960);
	for (i = 0; i < 3; i++) {
		mbt_assert_ok(membridge_subscriber_receive(a, &m, MEMBRIDGE_NO_WAIT));
		ck_assert_ptr_eq(m.data, c.data + 192 + 256 * i);
		assert_header_before(&c, &m, KIND_MESSAGE);
	}
	ck_assert_int_eq(membridge_subscriber_release(a), 3);
	ck_assert_int_eq(drain_all(b), 3);

	/* 960 + 200 > 1024: a WRAP record at 960 (header at 944), the message
	 * at 1024, its header in the last 16 bytes, its payload at offset 0. */
	send_seeded(pub, 200, 5);
	ck_assert_uint_eq(get32(&c, 896 + 944 + 4), KIND_WRAP | MARK(1));
	ck_assert_uint_eq(get32(&c, 896 + 1008), 200);
	ck_assert_uint_eq(get32(&c, 896 + 1012), KIND_MESSAGE | MARK(1));
	ck_assert_uint_eq(get64(&c, 896 + 1016), 5);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), next_pos(1024, 200));
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 6);
	receive_seeded(a, 200, 5, 5);
	ck_assert_int_eq(membridge_subscriber_release(a), 1);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 1280);
	mbt_assert_ok(membridge_subscriber_receive(b, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_ptr_eq(m.data, c.data);
	assert_header_before(&c, &m, KIND_MESSAGE);

	membridge_subscriber_close(a);
	membridge_subscriber_close(b);
	/* A slot that was left is free again. */
	ck_assert_uint_eq(get32(&c, slot_off(0, SLOT_STATE)), 0);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_OWNER)), 0);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* A payload that ends exactly at the end of the data area does not wrap;
 * one byte more does. */
START_TEST(test_layout_tight)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m;
	struct chan c;

	chan_make(&c, 256, 112, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	send_seeded(pub, 112, 0); /* 0 -> 128 */
	send_seeded(pub, 112, 1); /* 128 -> 256: ends at byte 240 of 256 */
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 256);
	mbt_assert_ret(membridge_publisher_send(pub, "", 0, MEMBRIDGE_NO_WAIT), -EAGAIN);
	receive_seeded(sub, 112, 0, 0);
	receive_seeded(sub, 112, 1, 1);
	ck_assert_int_eq(membridge_subscriber_release(sub), 2);
	send_seeded(pub, 48, 2); /* 256 -> 320 (offset 0) */
	assert_record(&c, 256, 48, KIND_MESSAGE, 2);
	send_seeded(pub, 112, 3); /* offset 64 + 112 + 16 = 192 */
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 448);
	receive_seeded(sub, 48, 2, 2);
	receive_seeded(sub, 112, 3, 3);
	ck_assert_int_eq(membridge_subscriber_release(sub), 2);
	/* offset 192 + 112 > 256: wraps to 512. */
	send_seeded(pub, 112, 4);
	ck_assert_uint_eq(get32(&c, record_off(&c, 448) + 4), KIND_WRAP | MARK(1));
	assert_record(&c, 512, 112, KIND_MESSAGE, 4);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 640);
	mbt_assert_ok(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_ptr_eq(m.data, c.data);
	ck_assert_uint_eq(m.seq, 4);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ publishing */

START_TEST(test_loan_publish_counts)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m[4];
	void *p[3];
	struct chan c;
	int i;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	ck_assert_int_eq(membridge_publisher_publish(pub), 0);
	ck_assert_int_eq(membridge_publisher_abort(pub), 0);
	for (i = 0; i < 3; i++) {
		mbt_assert_ok(membridge_publisher_loan(pub, 20 + (size_t)i, &p[i],
						       MEMBRIDGE_NO_WAIT));
		ck_assert_uint_eq((uintptr_t)p[i] % ALIGN, 0);
		fill(p[i], 20 + (size_t)i, (unsigned)i);
	}
	/* Loaned, not published: the tail has not moved, nothing to receive. */
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 0);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 0);
	assert_nothing(sub);
	ck_assert_int_eq(membridge_publisher_publish(pub), 3);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 192);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 3);
	ck_assert_int_eq(membridge_publisher_publish(pub), 0);
	ck_assert_int_eq(membridge_subscriber_receive_batch(sub, m, 4, MEMBRIDGE_NO_WAIT), 3);
	for (i = 0; i < 3; i++) {
		ck_assert_ptr_eq(m[i].data, p[i]);
		ck_assert_uint_eq(m[i].len, 20 + (size_t)i);
		ck_assert_uint_eq(m[i].seq, (uint64_t)i);
	}
	ck_assert_int_eq(membridge_subscriber_release(sub), 3);
	ck_assert_int_eq(membridge_subscriber_release(sub), 0);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_abort)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	void *p;
	struct chan c;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	send_seeded(pub, 30, 0);
	mbt_assert_ok(membridge_publisher_loan(pub, 40, &p, MEMBRIDGE_NO_WAIT));
	memset(p, 0xee, 40);
	mbt_assert_ok(membridge_publisher_loan(pub, 50, &p, MEMBRIDGE_NO_WAIT));
	memset(p, 0xee, 50);
	ck_assert_int_eq(membridge_publisher_abort(pub), 2);
	ck_assert_int_eq(membridge_publisher_publish(pub), 0);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 64);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 1);
	receive_seeded(sub, 30, 0, 0);
	assert_nothing(sub);
	/* The aborted loans used no sequence numbers and no space. */
	send_seeded(pub, 60, 1);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 192);
	receive_seeded(sub, 60, 1, 1);
	ck_assert_int_eq(membridge_subscriber_release(sub), 2);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_shrink)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	void *p, *q;
	struct chan c;

	chan_make(&c, 4096, 500, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	mbt_assert_ret(membridge_publisher_shrink(pub, 0), -EINVAL); /* no loan */
	mbt_assert_ok(membridge_publisher_loan(pub, 400, &p, MEMBRIDGE_NO_WAIT));
	fill(p, 10, 0);
	mbt_assert_ret(membridge_publisher_shrink(pub, 401), -EINVAL);
	mbt_assert_ok(membridge_publisher_shrink(pub, 10));
	mbt_assert_ret(membridge_publisher_shrink(pub, 11), -EINVAL);
	mbt_assert_ok(membridge_publisher_shrink(pub, 10));
	assert_record(&c, 0, 10, KIND_MESSAGE, 0);
	/* The next loan starts where the shortened message ends. */
	mbt_assert_ok(membridge_publisher_loan(pub, 300, &q, MEMBRIDGE_NO_WAIT));
	ck_assert_ptr_eq(q, c.data + next_pos(0, 10));
	fill(q, 0, 1);
	mbt_assert_ok(membridge_publisher_shrink(pub, 0));
	ck_assert_int_eq(membridge_publisher_publish(pub), 2);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), next_pos(64, 0));
	receive_seeded(sub, 10, 0, 0);
	receive_seeded(sub, 0, 1, 1);
	assert_nothing(sub);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_send_sendv)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	unsigned char whole[300], got[300];
	struct membridge_iovec iov[4];
	size_t len;
	struct chan c;

	chan_make(&c, 4096, 300, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	fill(whole, sizeof(whole), 9);
	iov[0] = (struct membridge_iovec){ whole, 100 };
	iov[1] = (struct membridge_iovec){ NULL, 0 };
	iov[2] = (struct membridge_iovec){ whole + 100, 1 };
	iov[3] = (struct membridge_iovec){ whole + 101, 199 };
	mbt_assert_ok(membridge_publisher_sendv(pub, iov, 4, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_publisher_sendv(pub, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_publisher_send(pub, NULL, 0, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_publisher_send(pub, whole, 300, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_subscriber_read(sub, got, sizeof(got), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 300);
	ck_assert_mem_eq(got, whole, 300);
	mbt_assert_ok(membridge_subscriber_read(sub, got, sizeof(got), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 0);
	mbt_assert_ok(membridge_subscriber_read(sub, NULL, 0, &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 0);
	memset(got, 0, sizeof(got));
	mbt_assert_ok(membridge_subscriber_read(sub, got, sizeof(got), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 300);
	ck_assert_mem_eq(got, whole, 300);
	mbt_assert_ret(membridge_subscriber_read(sub, got, sizeof(got), &len, MEMBRIDGE_NO_WAIT),
		       -EAGAIN);
	/* Pieces with a NULL base and a length, and a total past max_message. */
	iov[1] = (struct membridge_iovec){ NULL, 1 };
	mbt_assert_ret(membridge_publisher_sendv(pub, iov, 4, MEMBRIDGE_NO_WAIT), -EINVAL);
	iov[1] = (struct membridge_iovec){ whole, 1 };
	mbt_assert_ret(membridge_publisher_sendv(pub, iov, 4, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	iov[1] = (struct membridge_iovec){ whole, SIZE_MAX };
	mbt_assert_ret(membridge_publisher_sendv(pub, iov, 4, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 4);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_send_batch)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_iovec msgs[20];
	unsigned char buf[20][48];
	size_t sent = 99;
	int64_t t0;
	int i;
	struct chan c;

	/* 1024 bytes: 16 records of 64. */
	chan_make(&c, 1024, 48, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	for (i = 0; i < 20; i++) {
		fill(buf[i], 48, (unsigned)i);
		msgs[i] = (struct membridge_iovec){ buf[i], 48 };
	}
	mbt_assert_ok(membridge_publisher_send_batch(pub, msgs, 0, &sent, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(sent, 0);
	mbt_assert_ok(membridge_publisher_send_batch(pub, msgs, 3, &sent, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(sent, 3);
	/* Only 13 more fit: a partial batch, published with one store. */
	mbt_assert_ok(membridge_publisher_send_batch(pub, msgs + 3, 17, &sent, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(sent, 13);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 1024);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 16);
	sent = 99;
	mbt_assert_ret(membridge_publisher_send_batch(pub, msgs, 2, &sent, MEMBRIDGE_NO_WAIT),
		       -EAGAIN);
	ck_assert_uint_eq(sent, 0);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_publisher_send_batch(pub, msgs, 2, &sent, 20 * MBT_MS),
		       -ETIMEDOUT);
	ck_assert_int_ge(mbt_now_ns() - t0, 20 * MBT_MS);
	for (i = 0; i < 16; i++)
		receive_seeded(sub, 48, (uint64_t)i, (unsigned)i);
	ck_assert_int_eq(membridge_subscriber_release(sub), 16);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_emsgsize)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	unsigned char buf[301];
	void *p;
	struct chan c;

	chan_make(&c, 4096, 300, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	fill(buf, sizeof(buf), 1);
	mbt_assert_ret(membridge_publisher_loan(pub, 301, &p, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_publisher_loan(pub, SIZE_MAX, &p, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	mbt_assert_ret(membridge_publisher_send(pub, buf, 301, MEMBRIDGE_NO_WAIT), -EMSGSIZE);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 0);
	mbt_assert_ok(membridge_publisher_send(pub, buf, 300, MEMBRIDGE_NO_WAIT));
	receive_seeded(sub, 300, 0, 1);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ receiving */

START_TEST(test_receive_batch_release)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m[10];
	struct chan c;
	int i;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	mbt_assert_ret(membridge_subscriber_receive_batch(sub, m, 10, MEMBRIDGE_NO_WAIT), -EAGAIN);
	for (i = 0; i < 5; i++)
		send_seeded(pub, 10u * (unsigned)i, (unsigned)i);
	ck_assert_int_eq(membridge_subscriber_receive_batch(sub, m, 3, MEMBRIDGE_NO_WAIT), 3);
	ck_assert_int_eq(membridge_subscriber_receive_batch(sub, m + 3, 10, MEMBRIDGE_NO_WAIT), 2);
	/* All five stay valid until the release. */
	for (i = 0; i < 5; i++) {
		unsigned char want[40];

		ck_assert_uint_eq(m[i].seq, (uint64_t)i);
		ck_assert_uint_eq(m[i].len, 10u * (unsigned)i);
		fill(want, m[i].len, (unsigned)i);
		if (m[i].len)
			ck_assert_mem_eq(m[i].data, want, m[i].len);
	}
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 0);
	ck_assert_int_eq(membridge_subscriber_release(sub), 5);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), get64(&c, OFF_TAIL));
	mbt_assert_ret(membridge_subscriber_receive_batch(sub, m, 10, MEMBRIDGE_NO_WAIT), -EAGAIN);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* A consumer that keeps one message while it receives the next gives back
 * space message by message; what it still holds stays valid. */
START_TEST(test_release_until)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m[20], fake;
	struct chan c;
	int i, n;
	void *p;

	chan_make(&c, 1024, 48, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	for (i = 0; i < 16; i++)
		send_seeded(pub, 48, (unsigned)i);
	mbt_assert_ret(membridge_publisher_loan(pub, 48, &p, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ck_assert_int_eq(membridge_subscriber_receive_batch(sub, m, 16, MEMBRIDGE_NO_WAIT), 16);
	/* The oldest three: their space comes back, no more. */
	ck_assert_int_eq(membridge_subscriber_release_until(sub, &m[2]), 3);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 3 * 64);
	ck_assert_int_eq(fill_up(pub, 48), 3);
	/* Already released, or never received: refused, nothing moves. */
	mbt_assert_ret(membridge_subscriber_release_until(sub, &m[0]), -EINVAL);
	fake = m[5];
	fake.seq++;
	mbt_assert_ret(membridge_subscriber_release_until(sub, &fake), -EINVAL);
	fake = m[5];
	fake.len--;
	mbt_assert_ret(membridge_subscriber_release_until(sub, &fake), -EINVAL);
	fake.data = c.base;
	fake.len = m[5].len;
	mbt_assert_ret(membridge_subscriber_release_until(sub, &fake), -EINVAL);
	mbt_assert_ret(membridge_subscriber_release_until(sub, NULL), -EINVAL);
	mbt_assert_ret(membridge_subscriber_release_until(NULL, &m[5]), -EINVAL);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 3 * 64);
	/* One at a time, receiving the next while holding the last: the
	 * pattern release() alone cannot serve. The held ones stay intact. */
	for (i = 3; i < 15; i++) {
		unsigned char want[48];

		ck_assert_int_eq(membridge_subscriber_release_until(sub, &m[i]), 1);
		fill(want, 48, (unsigned)i + 1);
		ck_assert_mem_eq(m[i + 1].data, want, 48);
	}
	/* The three new messages, received across the wrap of the data area. */
	n = membridge_subscriber_receive_batch(sub, m, 3, MEMBRIDGE_NO_WAIT);
	ck_assert_int_eq(n, 3);
	ck_assert_uint_eq(m[2].seq, 18);
	ck_assert_int_eq(membridge_subscriber_release_until(sub, &m[1]), 3);
	ck_assert_int_eq(membridge_subscriber_release(sub), 1);
	ck_assert_int_eq(membridge_subscriber_release(sub), 0);
	mbt_assert_ret(membridge_subscriber_release_until(sub, &m[2]), -EINVAL);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), get64(&c, OFF_TAIL));
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* A held record a peer overwrote is reported; release() still works. */
START_TEST(test_release_until_scribbled)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m[3];
	struct chan c;
	int i;

	chan_make(&c, 1024, 48, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	for (i = 0; i < 3; i++)
		send_seeded(pub, 10, (unsigned)i);
	ck_assert_int_eq(membridge_subscriber_receive_batch(sub, m, 3, MEMBRIDGE_NO_WAIT), 3);
	set32(&c, record_off(&c, 64), 0xffffffffu); /* message 1's length */
	mbt_assert_ret(membridge_subscriber_release_until(sub, &m[2]), -EBADMSG);
	ck_assert_int_eq(membridge_subscriber_release_until(sub, &m[0]), 1);
	ck_assert_int_eq(membridge_subscriber_release(sub), 2);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_read_enobufs)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	unsigned char buf[100], want[100];
	size_t len = 0;
	struct chan c;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	send_seeded(pub, 40, 0);
	send_seeded(pub, 7, 1);
	mbt_assert_ret(membridge_subscriber_read(sub, buf, 39, &len, MEMBRIDGE_NO_WAIT), -ENOBUFS);
	ck_assert_uint_eq(len, 40);
	mbt_assert_ret(membridge_subscriber_read(sub, NULL, 0, &len, MEMBRIDGE_NO_WAIT), -ENOBUFS);
	ck_assert_uint_eq(len, 40);
	/* Still held by nobody: the head has not moved and release has nothing. */
	ck_assert_int_eq(membridge_subscriber_release(sub), 0);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 0);
	mbt_assert_ok(membridge_subscriber_read(sub, buf, 40, &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 40);
	fill(want, 40, 0);
	ck_assert_mem_eq(buf, want, 40);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 64);
	/* The sequence goes on after the put-back message. */
	receive_seeded(sub, 7, 1, 1);
	ck_assert_int_eq(membridge_subscriber_release(sub), 1);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ flow control */

START_TEST(test_full_waits)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *a, *b;
	struct membridge_message m;
	int64_t t0;
	void *p;
	struct chan c;

	chan_make(&c, 1024, 48, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &b));
	ck_assert_int_eq(fill_up(pub, 48), 16);
	mbt_assert_ret(membridge_publisher_loan(pub, 0, &p, MEMBRIDGE_NO_WAIT), -EAGAIN);
	t0 = mbt_now_ns();
	mbt_assert_ret(membridge_publisher_loan(pub, 0, &p, 20 * MBT_MS), -ETIMEDOUT);
	ck_assert_int_ge(mbt_now_ns() - t0, 20 * MBT_MS);
	ck_assert_int_lt(mbt_now_ns() - t0, TIMEOUT_ENDS);
	/* Received is not released; one subscriber's release is not enough. */
	ck_assert_int_eq(membridge_subscriber_receive_batch(a, &m, 1, MEMBRIDGE_NO_WAIT), 1);
	mbt_assert_ret(membridge_publisher_loan(pub, 0, &p, MEMBRIDGE_NO_WAIT), -EAGAIN);
	ck_assert_int_eq(drain_all(a), 16);
	mbt_assert_ret(membridge_publisher_loan(pub, 0, &p, MEMBRIDGE_NO_WAIT), -EAGAIN);
	/* b releases one: one record's space comes back, no more. */
	mbt_assert_ok(membridge_subscriber_receive(b, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(membridge_subscriber_release(b), 1);
	ck_assert_int_eq(fill_up(pub, 48), 1);
	/* Now a's one unreleased message is all that holds the publisher. */
	ck_assert_int_eq(drain_all(b), 16);
	ck_assert_int_eq(fill_up(pub, 48), 15);
	membridge_subscriber_close(a);
	membridge_subscriber_close(b);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_no_subscriber_no_limit)
{
	struct membridge_publisher *pub;
	struct chan c;
	int i;

	/* With nobody subscribed every message is dropped at once. */
	chan_make(&c, 1024, 48, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	for (i = 0; i < 100; i++)
		send_seeded(pub, 48, (unsigned)i);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 6400);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_late_subscriber)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *a, *b;
	struct membridge_message m;
	struct chan c;

	chan_make(&c, 1024, 48, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	ck_assert_int_eq(fill_up(pub, 48), 16);
	ck_assert_int_eq(drain_all(a), 16);
	send_seeded(pub, 48, 16);
	/* b joins after 17 messages; it holds no space for them. */
	mbt_assert_ok(membridge_subscriber_open(c.seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &b));
	ck_assert_uint_eq(get64(&c, slot_off(1, SLOT_HEAD)), 17 * 64);
	assert_nothing(b);
	ck_assert_int_eq(drain_all(a), 1);
	ck_assert_int_eq(fill_up(pub, 48), 16);
	ck_assert_int_eq(drain_all(a), 16);
	ck_assert_int_eq(fill_up(pub, 48), 0);
	mbt_assert_ok(membridge_subscriber_receive(b, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(m.seq, 17);
	membridge_subscriber_close(a);
	membridge_subscriber_close(b);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ subscribers */

START_TEST(test_subscribe_oldest_newest)
{
	struct membridge_subscriber *a, *b, *o, *alone;
	struct membridge_publisher *pub;
	struct chan c;

	chan_make(&c, 4096, 100, 3);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	send_seeded(pub, 10, 0);
	send_seeded(pub, 11, 1);
	send_seeded(pub, 12, 2);
	receive_seeded(a, 10, 0, 0);
	ck_assert_int_eq(membridge_subscriber_release(a), 1);
	/* NEWEST: from the next message on; OLDEST: from what a still holds. */
	mbt_assert_ok(membridge_subscriber_open(c.seg, MEMBRIDGE_SUBSCRIBE_NEWEST, &b));
	mbt_assert_ok(membridge_subscriber_open(c.seg, MEMBRIDGE_SUBSCRIBE_OLDEST, &o));
	assert_nothing(b);
	receive_seeded(o, 11, 1, 1);
	receive_seeded(o, 12, 2, 2);
	assert_nothing(o);
	send_seeded(pub, 13, 3);
	receive_seeded(b, 13, 3, 3);
	receive_seeded(o, 13, 3, 3);
	receive_seeded(a, 11, 1, 1);
	membridge_subscriber_close(a);
	membridge_subscriber_close(b);
	membridge_subscriber_close(o);
	/* OLDEST with nobody else holding anything: the tail. */
	mbt_assert_ok(membridge_subscriber_open(c.seg, MEMBRIDGE_SUBSCRIBE_OLDEST, &alone));
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), get64(&c, OFF_TAIL));
	assert_nothing(alone);
	membridge_subscriber_close(alone);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_eusers_slot_reuse)
{
	struct membridge_subscriber *a, *b, *x = NULL;
	struct membridge_publisher *pub;
	struct chan c;

	chan_make(&c, 4096, 100, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &b));
	mbt_assert_ret(membridge_subscriber_open(c.seg, 0, &x), -EUSERS);
	mbt_assert_ret(membridge_subscriber_open(c.seg, MEMBRIDGE_SUBSCRIBE_OLDEST, &x), -EUSERS);
	ck_assert_ptr_null(x);
	send_seeded(pub, 10, 0);
	/* a leaves holding a message: its slot is free and holds nothing. */
	membridge_subscriber_close(a);
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &x));
	ck_assert_uint_eq(membridge_subscriber_slot(x), 0);
	ck_assert_uint_eq(get64(&c, slot_off(0, SLOT_HEAD)), 64);
	assert_nothing(x);
	send_seeded(pub, 20, 1);
	receive_seeded(x, 20, 1, 1);
	receive_seeded(b, 10, 0, 0);
	receive_seeded(b, 20, 1, 1);
	membridge_subscriber_close(x);
	membridge_subscriber_close(b);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_evict)
{
	struct membridge_subscriber_info info[2];
	struct membridge_subscriber *a, *b, *n;
	struct membridge_publisher *pub;
	struct membridge_message m;
	unsigned char buf[64];
	size_t len;
	void *p;
	struct chan c;

	chan_make(&c, 1024, 48, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &b));
	ck_assert_int_eq(fill_up(pub, 48), 16);
	ck_assert_int_eq(drain_all(a), 16);
	mbt_assert_ret(membridge_publisher_loan(pub, 0, &p, MEMBRIDGE_NO_WAIT), -EAGAIN);
	mbt_assert_ret(membridge_publisher_evict(pub, 2), -EINVAL);
	mbt_assert_ok(membridge_publisher_evict(pub, 1));
	ck_assert_uint_eq(get32(&c, slot_off(1, SLOT_STATE)), STATE_EVICTED);
	mbt_assert_ret(membridge_publisher_evict(pub, 1), -ENOENT);
	/* b no longer holds the publisher back. */
	ck_assert_int_eq(fill_up(pub, 48), 16);
	mbt_assert_ret(membridge_subscriber_receive(b, &m, MEMBRIDGE_NO_WAIT), -ECONNRESET);
	mbt_assert_ret(membridge_subscriber_receive_batch(b, &m, 1, MEMBRIDGE_NO_WAIT),
		       -ECONNRESET);
	mbt_assert_ret(membridge_subscriber_read(b, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT),
		       -ECONNRESET);
	mbt_assert_ret(membridge_subscriber_receive(b, &m, 10 * MBT_MS), -ECONNRESET);
	ck_assert_int_eq(membridge_publisher_subscribers(pub, info, 2), 2);
	ck_assert(info[0].active && !info[0].evicted);
	ck_assert_uint_eq(info[1].slot, 1);
	ck_assert(!info[1].active && info[1].evicted);
	ck_assert_int_eq(info[1].pid, getpid());
	membridge_subscriber_close(b);
	mbt_assert_ret(membridge_publisher_evict(pub, 1), -ENOENT);
	ck_assert_int_eq(membridge_publisher_subscribers(pub, info, 2), 1);
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &n));
	ck_assert_uint_eq(membridge_subscriber_slot(n), 1);
	assert_nothing(n);
	ck_assert_int_eq(drain_all(a), 16);
	send_seeded(pub, 5, 7);
	receive_seeded(n, 5, 32, 7);
	membridge_subscriber_close(n);
	membridge_subscriber_close(a);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ publishers */

START_TEST(test_second_publisher_and_reopen)
{
	struct membridge_publisher *pub, *other = NULL;
	struct membridge_subscriber *sub;
	void *p;
	struct chan c;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ret(membridge_publisher_open(c.seg, &other), -EBUSY);
	ck_assert_ptr_null(other);
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	send_seeded(pub, 10, 0);
	send_seeded(pub, 20, 1);
	/* Closing drops the loan; the next publisher goes on from seq 2. */
	mbt_assert_ok(membridge_publisher_loan(pub, 30, &p, MEMBRIDGE_NO_WAIT));
	memset(p, 0xee, 30);
	membridge_publisher_close(pub);
	ck_assert_uint_eq(get64(&c, OFF_OWNER), 0);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 128);
	receive_seeded(sub, 10, 0, 0);
	receive_seeded(sub, 20, 1, 1);
	assert_nothing(sub);
	mbt_assert_ok(membridge_publisher_open(c.seg, &other));
	send_seeded(other, 40, 2);
	ck_assert_uint_eq(get64(&c, OFF_NEXT_SEQ), 3);
	receive_seeded(sub, 40, 2, 2);
	assert_nothing(sub);
	membridge_subscriber_close(sub);
	membridge_publisher_close(other);
	chan_free(&c);
}
END_TEST

/* A publisher that died between its store of next_seq and its store of
 * the tail leaves a gap in the sequence numbers: its successor's records
 * carry another epoch mark, so subscribers take the jump. Within one
 * publisher's records a jump is corruption. */
START_TEST(test_takeover_gap)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m;
	struct chan c;

	chan_make(&c, 1024, 100, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	send_seeded(pub, 10, 0);
	receive_seeded(sub, 10, 0, 0);
	membridge_publisher_close(pub);
	set64(&c, OFF_NEXT_SEQ, get64(&c, OFF_NEXT_SEQ) + 1); /* the dead one's store */
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	ck_assert_uint_eq(get64(&c, OFF_EPOCH), 2);
	send_seeded(pub, 20, 1);
	mbt_assert_ok(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(m.seq, 2);
	ck_assert_uint_eq(get32(&c, record_off(&c, 64) + 4), KIND_MESSAGE | MARK(2));
	membridge_subscriber_release(sub);
	/* The same publisher skipping a number: -EBADMSG. */
	send_seeded(pub, 20, 2);
	set64(&c, record_off(&c, 128) + 8, 4);
	mbt_assert_ret(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT), -EBADMSG);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* Another process took the channel over (its record in `owner`). */
START_TEST(test_taken_over)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	uint64_t self;
	void *p;
	struct chan c;

	chan_make(&c, 1024, 48, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	self = get64(&c, OFF_OWNER);
	mbt_assert_ok(membridge_publisher_loan(pub, 10, &p, MEMBRIDGE_NO_WAIT));
	set64(&c, OFF_OWNER, self + 1);
	mbt_assert_ret(membridge_publisher_publish(pub), -ECONNRESET);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 0);
	assert_nothing(sub);
	/* The loans are gone; a full channel's loan notices too. */
	ck_assert_int_eq(membridge_publisher_abort(pub), 0);
	set64(&c, OFF_OWNER, self);
	ck_assert_int_eq(fill_up(pub, 48), 16);
	set64(&c, OFF_OWNER, self + 1);
	mbt_assert_ret(membridge_publisher_loan(pub, 10, &p, 10 * MBT_MS), -ECONNRESET);
	/* Close leaves the new owner alone. */
	membridge_publisher_close(pub);
	ck_assert_uint_eq(get64(&c, OFF_OWNER), self + 1);
	membridge_subscriber_close(sub);
	chan_free(&c);
}
END_TEST

START_TEST(test_subscribers_lag_and_inspect)
{
	struct membridge_subscriber_info info[4], slots[4];
	struct membridge_subscriber *a, *b;
	struct membridge_publisher *pub;
	struct membridge_channel_info ci;
	struct chan c;

	chan_make(&c, 4096, 100, 3);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &b));
	send_seeded(pub, 10, 0);
	send_seeded(pub, 10, 1);
	send_seeded(pub, 70, 2); /* 128 -> 256 */
	receive_seeded(a, 10, 0, 0);
	ck_assert_int_eq(membridge_subscriber_release(a), 1);
	receive_seeded(b, 10, 0, 0); /* received, not released: still lag */

	memset(info, 0xa5, sizeof(info));
	ck_assert_int_eq(membridge_publisher_subscribers(pub, info, 4), 2);
	ck_assert_uint_eq(info[0].slot, 0);
	ck_assert(info[0].active && !info[0].evicted);
	ck_assert_int_eq(info[0].pid, getpid());
	ck_assert_uint_eq(info[0].lag, 2);
	ck_assert_uint_eq(info[0].lag_bytes, 192);
	ck_assert_uint_eq(info[1].slot, 1);
	ck_assert_uint_eq(info[1].lag, 3);
	ck_assert_uint_eq(info[1].lag_bytes, 256);
	/* Too short an array: the count, and nothing written past max. */
	memset(info, 0xa5, sizeof(info));
	ck_assert_int_eq(membridge_publisher_subscribers(pub, info, 1), 2);
	ck_assert_uint_eq(info[0].slot, 0);
	ck_assert_uint_eq(info[1].lag, UINT64_C(0xa5a5a5a5a5a5a5a5));
	ck_assert_int_eq(membridge_publisher_subscribers(pub, NULL, 0), 2);

	memset(slots, 0, sizeof(slots));
	ck_assert_int_eq(membridge_channel_inspect(c.base, c.size, &ci, slots, 4), 2);
	ck_assert_mem_eq(&ci.config, &c.cfg, sizeof(c.cfg));
	ck_assert_uint_eq(ci.tail, 256);
	ck_assert_uint_eq(ci.next_seq, 3);
	ck_assert_int_eq(ci.publisher, getpid());
	ck_assert_uint_eq(ci.subscribers, 2);
	ck_assert_uint_eq(ci.used, 256);
	ck_assert_uint_eq(slots[0].lag, 2);
	ck_assert_uint_eq(slots[1].lag_bytes, 256);
	ck_assert_int_eq(slots[1].pid, getpid());
	ck_assert_int_eq(membridge_channel_inspect(c.base, c.size, &ci, NULL, 0), 2);
	mbt_assert_ret(membridge_channel_inspect(c.base, c.size - 1, &ci, NULL, 0), -EBADMSG);
	mbt_assert_ret(membridge_channel_inspect(c.base, 600, &ci, NULL, 0), -EBADMSG);

	ck_assert_int_eq(drain_all(b), 3);
	ck_assert_int_eq(drain_all(a), 2);
	ck_assert_int_eq(membridge_publisher_subscribers(pub, info, 4), 2);
	ck_assert_uint_eq(info[0].lag, 0);
	ck_assert_uint_eq(info[0].lag_bytes, 0);
	membridge_publisher_close(pub);
	membridge_subscriber_close(a);
	ck_assert_int_eq(membridge_channel_inspect(c.base, c.size, &ci, slots, 4), 1);
	ck_assert_int_eq(ci.publisher, 0);
	ck_assert_uint_eq(ci.subscribers, 1);
	ck_assert_uint_eq(ci.used, 0);
	ck_assert_uint_eq(slots[0].slot, 1);
	membridge_subscriber_close(b);
	chan_free(&c);
}
END_TEST

START_TEST(test_null_and_invalid)
{
	struct membridge_channel_config cfg = shape(4096, 100, 1);
	struct membridge_subscriber_info info;
	struct membridge_subscriber *sub, *s2 = NULL;
	struct membridge_publisher *pub, *p2 = NULL;
	struct membridge_channel_info ci;
	struct membridge_iovec iov = { "x", 1 };
	struct membridge_message m;
	unsigned char buf[8];
	size_t len, sent;
	void *p;
	struct chan c;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ret(membridge_channel_init(NULL, NULL), -EINVAL);
	mbt_assert_ret(membridge_channel_config(NULL, &cfg), -EINVAL);
	mbt_assert_ret(membridge_publisher_open(NULL, &p2), -EINVAL);
	mbt_assert_ret(membridge_publisher_open(c.seg, NULL), -EINVAL);
	mbt_assert_ret(membridge_subscriber_open(NULL, 0, &s2), -EINVAL);
	mbt_assert_ret(membridge_subscriber_open(c.seg, 0, NULL), -EINVAL);
	mbt_assert_ret(membridge_subscriber_open(c.seg, 2, &s2), -EINVAL);
	mbt_assert_ret(membridge_subscriber_open(c.seg, 0x80000000u, &s2), -EINVAL);
	ck_assert_ptr_null(p2);
	ck_assert_ptr_null(s2);
	mbt_assert_ret(membridge_channel_inspect(NULL, c.size, &ci, NULL, 0), -EINVAL);
	mbt_assert_ret(membridge_channel_inspect(c.base, c.size, NULL, NULL, 0), -EINVAL);
	mbt_assert_ret(membridge_channel_inspect(c.base, c.size, &ci, NULL, 1), -EINVAL);

	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	mbt_assert_ret(membridge_publisher_loan(NULL, 1, &p, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_publisher_loan(pub, 1, NULL, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_publisher_shrink(NULL, 0), -EINVAL);
	mbt_assert_ret(membridge_publisher_publish(NULL), -EINVAL);
	mbt_assert_ret(membridge_publisher_abort(NULL), -EINVAL);
	mbt_assert_ret(membridge_publisher_send(NULL, "x", 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_publisher_send(pub, NULL, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_publisher_sendv(NULL, &iov, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_publisher_sendv(pub, NULL, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	sent = 5;
	mbt_assert_ret(membridge_publisher_send_batch(NULL, &iov, 1, &sent, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	ck_assert_uint_eq(sent, 0);
	mbt_assert_ret(membridge_publisher_send_batch(pub, NULL, 1, &sent, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	mbt_assert_ret(membridge_publisher_send_batch(pub, &iov, 1, NULL, MEMBRIDGE_NO_WAIT),
		       -EINVAL);
	mbt_assert_ret(membridge_publisher_fd(NULL), -EINVAL);
	mbt_assert_ret(membridge_publisher_subscribers(NULL, &info, 1), -EINVAL);
	mbt_assert_ret(membridge_publisher_subscribers(pub, NULL, 1), -EINVAL);
	mbt_assert_ret(membridge_publisher_evict(NULL, 0), -EINVAL);
	mbt_assert_ret(membridge_publisher_evict(pub, 1), -EINVAL);
	mbt_assert_ret(membridge_publisher_evict(pub, UINT32_MAX), -EINVAL);
	mbt_assert_ret(membridge_subscriber_receive(NULL, &m, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_receive(sub, NULL, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_receive_batch(NULL, &m, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_receive_batch(sub, NULL, 1, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_receive_batch(sub, &m, 0, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_release(NULL), -EINVAL);
	mbt_assert_ret(membridge_subscriber_read(NULL, buf, 8, &len, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_read(sub, NULL, 8, &len, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_read(sub, buf, 8, NULL, MEMBRIDGE_NO_WAIT), -EINVAL);
	mbt_assert_ret(membridge_subscriber_fd(NULL), -EINVAL);
	ck_assert_uint_eq(membridge_subscriber_slot(NULL), 0);

	/* Timeouts below MEMBRIDGE_WAIT_FOREVER, whether or not a wait is
	 * needed (after one message the publisher knows it has room). */
	send_seeded(pub, 1, 0);
	receive_seeded(sub, 1, 0, 0);
	mbt_assert_ret(membridge_publisher_loan(pub, 1, &p, -2), -EINVAL);
	mbt_assert_ret(membridge_publisher_send(pub, "x", 1, -2), -EINVAL);
	mbt_assert_ret(membridge_publisher_send_batch(pub, &iov, 1, &sent, INT64_MIN), -EINVAL);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 64);
	ck_assert_int_eq(membridge_publisher_abort(pub), 0);
	mbt_assert_ret(membridge_subscriber_receive(sub, &m, -2), -EINVAL);
	send_seeded(pub, 1, 1);
	mbt_assert_ret(membridge_subscriber_receive(sub, &m, -2), -EINVAL);
	mbt_assert_ret(membridge_subscriber_receive_batch(sub, &m, 1, -5), -EINVAL);
	mbt_assert_ret(membridge_subscriber_read(sub, buf, 8, &len, -2), -EINVAL);
	receive_seeded(sub, 1, 1, 1);

	/* Destructors take NULL. */
	membridge_publisher_close(NULL);
	membridge_subscriber_close(NULL);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ corrupt segment */

/* A subscriber that has read everything up to a tail of 128 (two messages). */
struct caught_up {
	struct chan c;
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
};

static void caught_up_make(struct caught_up *u)
{
	chan_make(&u->c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(u->c.seg, &u->pub));
	mbt_assert_ok(membridge_subscriber_open(u->c.seg, 0, &u->sub));
	send_seeded(u->pub, 20, 0);
	send_seeded(u->pub, 20, 1);
	ck_assert_int_eq(drain_all(u->sub), 2);
	ck_assert_uint_eq(get64(&u->c, OFF_TAIL), 128);
}

static void caught_up_free(struct caught_up *u)
{
	membridge_subscriber_close(u->sub);
	membridge_publisher_close(u->pub);
	chan_free(&u->c);
}

/* Every receiving call fails with `expected` and leaves the subscriber as it was. */
static void assert_receive_fails(struct membridge_subscriber *sub, int expected)
{
	struct membridge_message m[2];
	unsigned char buf[128];
	size_t len;

	mbt_assert_ret(membridge_subscriber_receive(sub, m, MEMBRIDGE_NO_WAIT), expected);
	mbt_assert_ret(membridge_subscriber_receive(sub, m, 10 * MBT_MS), expected);
	mbt_assert_ret(membridge_subscriber_receive_batch(sub, m, 2, MEMBRIDGE_NO_WAIT), expected);
	mbt_assert_ret(membridge_subscriber_read(sub, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT),
		       expected);
	ck_assert_int_eq(membridge_subscriber_release(sub), 0);
}

static const struct {
	const char *what;
	uint64_t tail;
} bad_tails[] = {
	{ "not aligned", 129 },
	{ "not aligned by 32", 160 },
	{ "behind the subscriber", 64 },
	{ "back to 0", 0 },
	{ "more than a lap ahead", 128 + 4096 + 64 },
	{ "far ahead", UINT64_MAX & ~UINT64_C(63) },
	{ "all ones", UINT64_MAX },
};

START_TEST(test_corrupt_tail)
{
	struct caught_up u;

	caught_up_make(&u);
	set64(&u.c, OFF_TAIL, bad_tails[_i].tail);
	assert_receive_fails(u.sub, -EBADMSG);
	set64(&u.c, OFF_TAIL, 128);
	assert_nothing(u.sub);
	send_seeded(u.pub, 30, 2);
	receive_seeded(u.sub, 30, 2, 2);
	caught_up_free(&u);
}
END_TEST

/* The next message (seq 2, 20 bytes at position 128, header at 112..127)
 * with one field of its record header changed. */
static const struct {
	const char *what;
	size_t field; /* 0 len, 4 kind, 8 seq */
	uint64_t value;
} bad_records[] = {
	{ "kind 0", 4, 0 },
	{ "kind 3", 4, 3 },
	{ "kind max", 4, UINT32_MAX },
	{ "kind WRAP with nothing after it", 4, KIND_WRAP },
	{ "len past max_message", 0, 101 },
	{ "len past the tail", 0, 60 },
	{ "len max", 0, UINT32_MAX },
	{ "seq repeated", 8, 1 },
	{ "seq skipped", 8, 3 },
	{ "seq from before", 8, 0 },
	{ "seq max", 8, UINT64_MAX },
};

START_TEST(test_corrupt_record)
{
	size_t off;
	unsigned char saved[RECORD];
	struct caught_up u;

	caught_up_make(&u);
	send_seeded(u.pub, 20, 2);
	off = record_off(&u.c, 128);
	memcpy(saved, u.c.base + off, RECORD);
	if (bad_records[_i].field == 8)
		set64(&u.c, off + 8, bad_records[_i].value);
	else
		set32(&u.c, off + bad_records[_i].field, (uint32_t)bad_records[_i].value);
	assert_receive_fails(u.sub, -EBADMSG);
	memcpy(u.c.base + off, saved, RECORD);
	receive_seeded(u.sub, 20, 2, 2);
	caught_up_free(&u);
}
END_TEST

/* A length that runs past the end of the data area while the tail is far
 * enough ahead, and a WRAP record at the start of a lap. */
START_TEST(test_corrupt_record_at_end)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	unsigned char saved[RECORD];
	size_t off;
	struct chan c;
	int i;

	chan_make(&c, 1024, 200, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	for (i = 0; i < 15; i++)
		send_seeded(pub, 48, (unsigned)i); /* 0 .. 960 */
	ck_assert_int_eq(drain_all(sub), 15);
	send_seeded(pub, 20, 15);		  /* at 960, offset 960 */
	send_seeded(pub, 48, 16);		  /* at 1024, offset 0 */
	send_seeded(pub, 48, 17);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 1152);
	off = record_off(&c, 960);
	memcpy(saved, c.base + off, RECORD);
	set32(&c, off, 100); /* 960 + 100 > 1024, yet ends before the tail */
	assert_receive_fails(sub, -EBADMSG);
	memcpy(c.base + off, saved, RECORD);
	receive_seeded(sub, 20, 15, 15);
	ck_assert_int_eq(membridge_subscriber_release(sub), 1);
	off = record_off(&c, 1024);
	ck_assert_uint_eq(off, (size_t)(c.data - c.base) + 1024 - RECORD);
	memcpy(saved, c.base + off, RECORD);
	set32(&c, off + 4, KIND_WRAP);
	assert_receive_fails(sub, -EBADMSG);
	memcpy(c.base + off, saved, RECORD);
	receive_seeded(sub, 48, 16, 16);
	receive_seeded(sub, 48, 17, 17);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* A slot head no subscriber can have: its slot is evicted when the
 * publisher next looks at the slots; the publisher goes on. */
static const struct {
	const char *what;
	int64_t delta; /* from the tail of 2304 */
} bad_heads[] = {
	{ "past the tail", 64 },
	{ "far past the tail", INT64_C(1) << 40 },
	{ "not aligned", -1 },
	{ "more than a lap behind", -1024 - 64 },
};

START_TEST(test_corrupt_head)
{
	struct membridge_subscriber_info info[2];
	struct membridge_publisher *pub;
	struct membridge_subscriber *a, *b;
	struct membridge_message m;
	struct chan c;
	int i;

	chan_make(&c, 1024, 48, 2);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &b));
	for (i = 0; i < 20; i++) {
		send_seeded(pub, 48, (unsigned)i);
		ck_assert_int_eq(drain_all(a), 1);
		ck_assert_int_eq(drain_all(b), 1);
	}
	/* Full: the next loan looks at the slots again. */
	ck_assert_int_eq(fill_up(pub, 48), 16);
	ck_assert_uint_eq(get64(&c, OFF_TAIL), 2304);
	ck_assert_int_eq(drain_all(a), 16);
	set64(&c, slot_off(1, SLOT_HEAD), (uint64_t)(2304 + bad_heads[_i].delta));
	ck_assert_int_eq(fill_up(pub, 48), 16);
	ck_assert_uint_eq(get32(&c, slot_off(1, SLOT_STATE)), STATE_EVICTED);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(drain_all(a), 16);
		ck_assert_int_eq(fill_up(pub, 48), 16);
	}
	mbt_assert_ret(membridge_subscriber_receive(b, &m, MEMBRIDGE_NO_WAIT), -ECONNRESET);
	ck_assert_int_eq(membridge_publisher_subscribers(pub, info, 2), 2);
	ck_assert(info[1].evicted && !info[1].active);
	membridge_subscriber_close(a);
	membridge_subscriber_close(b);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* Any message handed out lies inside the data area and within max_message. */
static void assert_in_bounds(const struct chan *c, const struct membridge_message *m)
{
	const unsigned char *p = m->data;

	ck_assert(p >= c->data && p < c->data + c->cfg.data_size);
	ck_assert_uint_le(m->len, c->cfg.max_message);
	ck_assert_uint_le(m->len, (size_t)(c->data + c->cfg.data_size - p));
	ck_assert_uint_eq((uintptr_t)p % ALIGN, 0);
}

static bool expected_error(int ret)
{
	return ret == -EAGAIN || ret == -EBADMSG || ret == -ECONNRESET;
}

/* Random stores by a "peer" into a live channel's shared lines, records
 * and data, between calls of every kind: each call gives a result it
 * documents, no message points outside the data area (valgrind checks the
 * reads). MBT_SCRIBBLE_SEED picks another sequence. */
START_TEST(test_scribble)
{
	const char *env = getenv("MBT_SCRIBBLE_SEED");
	uint64_t seed = env && *env ? strtoull(env, NULL, 0) : 20260101, r;
	int rounds = mbt_under_valgrind() ? 40 : 400, round, k, ret;
	struct membridge_subscriber_info info[2];
	struct membridge_channel_info ci;
	struct membridge_message m[8];
	unsigned char buf[256];
	size_t len;

	for (round = 0; round < rounds; round++) {
		struct membridge_publisher *pub;
		struct membridge_subscriber *a, *b = NULL;
		struct chan c;

		chan_make(&c, 2048, 200, 2);
		mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
		mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &a));
		for (k = 0; k < 40; k++) {
			r = mbt_mix(seed ^ (uint64_t)round << 20 ^ (uint64_t)k);
			switch (r % 8) {
			case 0: /* a stored u64 in the publisher, control or slot lines */
				set64(&c, (size_t)(128 + (r >> 8) % 512) & ~(size_t)7,
				      (r >> 20) % 4 ? (r >> 24) % 4096 : r);
				break;
			case 1: /* a record header field */
				set32(&c, record_off(&c, ((r >> 8) % 32) * 64) + ((r >> 16) % 4) * 4,
				      (uint32_t)((r >> 24) % 3 ? (r >> 28) % 300 : r >> 32));
				break;
			case 2: /* a data byte */
				c.data[(r >> 8) % c.cfg.data_size] = (unsigned char)(r >> 40);
				break;
			case 3:
				ret = membridge_publisher_send(pub, buf, (r >> 8) % 201,
							       MEMBRIDGE_NO_WAIT);
				ck_assert_msg(ret == 0 || ret == -EAGAIN || ret == -ECONNRESET,
					      "send: %d", ret);
				break;
			case 4:
				ret = membridge_subscriber_receive_batch(a, m, 8, MEMBRIDGE_NO_WAIT);
				ck_assert_msg(ret > 0 || expected_error(ret), "batch: %d", ret);
				while (ret-- > 0)
					assert_in_bounds(&c, &m[ret]);
				break;
			case 5:
				ret = membridge_subscriber_read(a, buf, sizeof(buf), &len,
								MEMBRIDGE_NO_WAIT);
				ck_assert_msg(ret == 0 || expected_error(ret), "read: %d", ret);
				ck_assert_int_ge(membridge_subscriber_release(a), 0);
				break;
			case 6:
				if (!b) {
					ret = membridge_subscriber_open(c.seg, (r >> 8) & 1, &b);
					ck_assert_msg(ret == 0 || ret == -EUSERS || ret == -EBADMSG ||
							      ret == -EAGAIN,
						      "open: %d", ret);
				} else {
					ret = membridge_subscriber_receive(b, m, MEMBRIDGE_NO_WAIT);
					ck_assert_msg(ret == 0 || expected_error(ret), "b: %d", ret);
					if (ret == 0)
						assert_in_bounds(&c, m);
					membridge_subscriber_release(b);
				}
				break;
			default:
				ret = membridge_publisher_subscribers(pub, info, 2);
				ck_assert(ret >= 0 && ret <= 2);
				ret = membridge_channel_inspect(c.base, c.size, &ci, info, 2);
				ck_assert_msg((ret >= 0 && ret <= 2) || ret == -EBADMSG ||
						      ret == -ENOTSUP || ret == -EPROTO ||
						      ret == -EAGAIN,
					      "inspect: %d", ret);
				break;
			}
		}
		membridge_subscriber_close(b);
		membridge_subscriber_close(a);
		membridge_publisher_close(pub);
		chan_free(&c);
	}
}
END_TEST

/* ------------------------------------------------------------ doorbells */

START_TEST(test_subscriber_fd)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m;
	struct chan c;
	int fd;

	chan_make(&c, 4096, 100, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	fd = membridge_subscriber_fd(sub);
	if (!MEMBRIDGE_HAVE_DESCRIPTORS) { /* macOS, Windows */
		mbt_assert_ret(fd, -ENOTSUP);
		ck_assert_int_eq(membridge_publisher_fd(pub), -ENOTSUP);
		membridge_subscriber_close(sub);
		membridge_publisher_close(pub);
		chan_free(&c);
		return;
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(membridge_subscriber_fd(sub), fd);
	ck_assert(!readable(fd, 0));
	assert_nothing(sub);
	ck_assert(!readable(fd, 0));
	send_seeded(pub, 10, 0);
	ck_assert(readable(fd, MBT_PROMPT_NS));
	receive_seeded(sub, 10, 0, 0);
	assert_nothing(sub);
	ck_assert(!readable(fd, 0));
	/* Two messages, one wake-up; both are there. */
	send_seeded(pub, 11, 1);
	send_seeded(pub, 12, 2);
	ck_assert(readable(fd, MBT_PROMPT_NS));
	receive_seeded(sub, 11, 1, 1);
	receive_seeded(sub, 12, 2, 2);
	assert_nothing(sub);
	ck_assert(!readable(fd, 0));
	ck_assert_int_eq(membridge_subscriber_release(sub), 3);
	/* Without an -EAGAIN since the last message, nothing was armed. */
	send_seeded(pub, 13, 3);
	mbt_assert_ok(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT));
	send_seeded(pub, 14, 4);
	ck_assert(!readable(fd, 0));
	receive_seeded(sub, 14, 4, 4);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

START_TEST(test_publisher_fd)
{
	struct membridge_publisher *pub;
	struct membridge_subscriber *sub;
	struct membridge_message m;
	struct chan c;
	void *p;
	int fd, round;

	chan_make(&c, 1024, 48, 1);
	mbt_assert_ok(membridge_publisher_open(c.seg, &pub));
	mbt_assert_ok(membridge_subscriber_open(c.seg, 0, &sub));
	fd = membridge_publisher_fd(pub);
	if (!MEMBRIDGE_HAVE_DESCRIPTORS) { /* macOS, Windows: test_subscriber_fd */
		membridge_subscriber_close(sub);
		membridge_publisher_close(pub);
		chan_free(&c);
		return;
	}
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(membridge_publisher_fd(pub), fd);
	for (round = 0; round < 3; round++) {
		ck_assert_int_eq(fill_up(pub, 48), round ? 1 : 16);
		ck_assert(!readable(fd, 0));
		/* Receiving is not releasing. */
		mbt_assert_ok(membridge_subscriber_receive(sub, &m, MEMBRIDGE_NO_WAIT));
		ck_assert(!readable(fd, 0));
		ck_assert_int_eq(membridge_subscriber_release(sub), 1);
		ck_assert(readable(fd, MBT_PROMPT_NS));
	}
	mbt_assert_ok(membridge_publisher_loan(pub, 48, &p, MEMBRIDGE_NO_WAIT));
	ck_assert_int_eq(membridge_publisher_publish(pub), 1);
	membridge_subscriber_close(sub);
	membridge_publisher_close(pub);
	chan_free(&c);
}
END_TEST

/* ------------------------------------------------------------ suite */

int main(void)
{
	Suite *s = suite_create("channel");
	TCase *tc;

	tc = tcase_create("shape");
	tcase_add_test(tc, test_constants);
	tcase_add_loop_test(tc, test_record_size, 0, sizeof(record_sizes) / sizeof(record_sizes[0]));
	tcase_add_loop_test(tc, test_segment_size, 0,
			    sizeof(segment_sizes) / sizeof(segment_sizes[0]));
	tcase_add_test(tc, test_segment_size_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("header");
	tcase_add_test(tc, test_init_errors);
	tcase_add_test(tc, test_init_config_roundtrip);
	tcase_add_test(tc, test_config_uninitialised);
	tcase_add_loop_test(tc, test_config_hand_made, 0, sizeof(headers) / sizeof(headers[0]));
	tcase_add_test(tc, test_open_bad_tail);
	suite_add_tcase(s, tc);

	tc = tcase_create("layout");
	tcase_add_test(tc, test_layout_header);
	tcase_add_test(tc, test_layout_records);
	tcase_add_test(tc, test_layout_tight);
	suite_add_tcase(s, tc);

	tc = tcase_create("publish");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_loan_publish_counts);
	tcase_add_test(tc, test_abort);
	tcase_add_test(tc, test_shrink);
	tcase_add_test(tc, test_send_sendv);
	tcase_add_test(tc, test_send_batch);
	tcase_add_test(tc, test_emsgsize);
	suite_add_tcase(s, tc);

	tc = tcase_create("receive");
	tcase_add_test(tc, test_receive_batch_release);
	tcase_add_test(tc, test_release_until);
	tcase_add_test(tc, test_release_until_scribbled);
	tcase_add_test(tc, test_read_enobufs);
	suite_add_tcase(s, tc);

	tc = tcase_create("flow");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_full_waits);
	tcase_add_test(tc, test_no_subscriber_no_limit);
	tcase_add_test(tc, test_late_subscriber);
	suite_add_tcase(s, tc);

	tc = tcase_create("roles");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_subscribe_oldest_newest);
	tcase_add_test(tc, test_eusers_slot_reuse);
	tcase_add_test(tc, test_evict);
	tcase_add_test(tc, test_second_publisher_and_reopen);
	tcase_add_test(tc, test_taken_over);
	tcase_add_test(tc, test_takeover_gap);
	tcase_add_test(tc, test_subscribers_lag_and_inspect);
	tcase_add_test(tc, test_null_and_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("corrupt");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_corrupt_tail, 0, sizeof(bad_tails) / sizeof(bad_tails[0]));
	tcase_add_loop_test(tc, test_corrupt_record, 0,
			    sizeof(bad_records) / sizeof(bad_records[0]));
	tcase_add_test(tc, test_corrupt_record_at_end);
	tcase_add_loop_test(tc, test_corrupt_head, 0, sizeof(bad_heads) / sizeof(bad_heads[0]));
	tcase_add_test(tc, test_scribble);
	suite_add_tcase(s, tc);

	tc = tcase_create("doorbell");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_subscriber_fd);
	tcase_add_test(tc, test_publisher_fd);
	suite_add_tcase(s, tc);

	return mbt_run(s);
}
