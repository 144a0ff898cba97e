/* SPDX-License-Identifier: MIT */
/*
 * The channel's segment layout, version 1 (membridge(7), "Channel layout"):
 * the only place in lib/ that knows it. Native byte order; every line the
 * processes write at different times starts 128 bytes from the others.
 *
 *      0  header: magic, version, flags, subscribers, data_size, max_message
 *    128  publisher: tail, next_seq (written on every publish)
 *    256  control: owner, reserve, scope, epoch
 *    384  space: an event: where the publisher sleeps for space
 *    512  data: an event: where subscribers sleep for messages
 *    640  slot[0 .. subscribers-1], 128 bytes each
 *  640 + 128 * subscribers: data area, data_size bytes
 *
 * Positions count bytes through the data area from 0, never wrapping (a
 * uint64); a position p is at offset p % data_size. A message's payload
 * starts at a position that is a multiple of 64, and its 16-byte record
 * header sits in the 16 bytes before it (at data_size - 16 for offset 0).
 * The next payload position is round_up(p + len + 16, 64). A payload that
 * would run past the end of the data area goes to the start of the next
 * lap instead, and a WRAP record at the skipped position says so.
 */
#ifndef MEMBRIDGE_CHANNEL_LAYOUT_H
#define MEMBRIDGE_CHANNEL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* "MBCH" in memory on a little-endian machine; a big-endian peer's header
 * reads as another magic. Written last by the creator. */
#define CHAN_MAGIC UINT32_C(0x4843424D)
#define CHAN_LINE 128
#define CHAN_ALIGN MEMBRIDGE_CHANNEL_ALIGN
#define CHAN_RECORD_HEADER 16u

struct chan_header {
	_Atomic uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t subscribers;
	uint64_t data_size;
	uint64_t max_message;
};

/* Written only by the publisher: tail is the position after the last
 * published message (stored with release, after the records), next_seq
 * the sequence number the next message gets. */
struct chan_publisher {
	_Atomic uint64_t tail;
	_Atomic uint64_t next_seq;
};

struct chan_control {
	/* The publisher's process record (internal.h), 0 if none. */
	_Atomic uint64_t owner;
	/* The position the publisher may write up to before it looks at the
	 * slots again; a joining subscriber checks its start against it. */
	_Atomic uint64_t reserve;
	/* Which doorbells the publisher can ring (platform.h), 0 if unknown:
	 * a subscriber sleeps on its doorbell only when it shares the scope. */
	_Atomic uint64_t scope;
	/* Publishers so far: each open adds one, and marks its records with
	 * the low 24 bits (chan_record.kind). A publisher that died between
	 * storing next_seq and the tail leaves a gap in the sequence numbers,
	 * which subscribers accept only where that mark changes. */
	_Atomic uint64_t epoch;
};

/* The space and data lines hold one struct mb_event each (internal.h:
 * seq, sleepers, lease, armed, bell). Space: the publisher sleeps there,
 * and its doorbell is the event's. Data: subscribers sleep there, and
 * `armed` counts the slots whose doorbell is armed. */

enum chan_slot_state {
	SLOT_FREE,
	SLOT_JOINING, /* claimed; its head is not set yet */
	SLOT_ACTIVE,
	SLOT_EVICTED, /* the publisher no longer waits for it */
};

struct chan_slot {
	_Atomic uint64_t head;   /* everything before it is released */
	_Atomic uint64_t owner;  /* process record, 0 if free */
	_Atomic uint32_t state;  /* enum chan_slot_state */
	_Atomic uint32_t armed;  /* 1: tell its descriptor about the next message */
	_Atomic uint64_t nonce;  /* its descriptor's address, 0 if none */
};

enum chan_record_kind {
	RECORD_MESSAGE = 1,
	RECORD_WRAP = 2, /* nothing here: the next payload starts the next lap */
};

/* kind: an enum chan_record_kind in the low 8 bits, the publisher's epoch
 * mark in the high 24. */
struct chan_record {
	uint32_t len;
	uint32_t kind;
	uint64_t seq;
};
#define CHAN_RECORD_KIND(k) ((k) & 0xffu)
#define CHAN_RECORD_EPOCH(k) ((k) >> 8)

#define CHAN_OFF_PUBLISHER 128
#define CHAN_OFF_CONTROL 256
#define CHAN_OFF_SPACE 384
#define CHAN_OFF_DATA_WAIT 512
#define CHAN_OFF_SLOTS 640

_Static_assert(sizeof(struct chan_header) <= CHAN_LINE, "header line");
_Static_assert(sizeof(struct mb_event) <= CHAN_LINE, "wait line");
_Static_assert(offsetof(struct mb_event, armed) == 16 && offsetof(struct mb_event, bell) == 24,
	       "the event's doorbell fields");
_Static_assert(sizeof(struct chan_slot) == 32, "slot fields");
_Static_assert(sizeof(struct chan_record) == CHAN_RECORD_HEADER, "record header");

/* Offset of the data area of a channel with n subscriber slots. */
static inline uint64_t chan_data_offset(uint32_t subscribers)
{
	return CHAN_OFF_SLOTS + (uint64_t)CHAN_LINE * subscribers;
}

/* The position after a message of len bytes whose payload is at pos. */
static inline uint64_t chan_next_pos(uint64_t pos, uint64_t len)
{
	return (pos + len + CHAN_RECORD_HEADER + CHAN_ALIGN - 1) & ~(uint64_t)(CHAN_ALIGN - 1);
}

#endif /* MEMBRIDGE_CHANNEL_LAYOUT_H */
