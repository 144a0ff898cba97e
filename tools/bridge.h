/* SPDX-License-Identifier: MIT */
/* membridge bridge: what its source files share (a local ring or channel on
 * one side, a ZeroMQ socket on the other). Built only with libzmq. */
#ifndef MEMBRIDGE_BRIDGE_H
#define MEMBRIDGE_BRIDGE_H

#include <zmq.h>

#include "cli.h"

/* Bytes of the --seq header part: uint64 session, uint64 sequence number
 * (little-endian), sent as the first part of a two-part ZeroMQ message. */
#define BRIDGE_SEQ_HEADER 16u
/* A z85-encoded CURVE key: 40 characters. */
#define BRIDGE_KEY_TEXT 40u
/* How often a publisher waiting on its descriptor retries its send (its
 * descriptor is not rung for a subscriber that died). */
#define BRIDGE_PUBLISHER_RETRY_MS 100

struct bridge_options {
	const char *endpoint;
	cli_name name;
	bool outbound;        /* local -> network (NAME ENDPOINT) */
	bool pubsub;          /* PUB/SUB instead of PUSH/PULL */
	bool bind;            /* bind the endpoint instead of connecting */
	bool seq;             /* the --seq header part */
	bool oldest;          /* channel subscriber: MEMBRIDGE_SUBSCRIBE_OLDEST */
	int hwm;              /* ZeroMQ high-water mark, messages */
	size_t batch;         /* most messages per library batch call */
	int64_t stats_ns;     /* 0: no --stats */
	int64_t drain_ns;     /* how long a stop may take to hand over what was taken */
	const char *curve_secret;      /* our secret key file */
	const char *curve_server_key;  /* the server's public key file: we are a client */
	const char *curve_clients;     /* server: the client public keys let in */
};

/* What went through, for --stats and the summary. */
struct bridge_counts {
	uint64_t messages, bytes;
	uint64_t lost, gaps;   /* --seq, receiving: sequence numbers skipped, runs of them */
	uint64_t restarts;     /* --seq, receiving: new sender sessions after the first */
	uint64_t dropped;      /* receiving: malformed or too large for the ring/channel */
};

struct bridge {
	struct bridge_options o;
	struct cli_queue q;
	void *ctx, *sock;
	void *zap;                /* the CURVE client allow-list handler, or NULL */
	struct bridge_keyring *clients;
	int local_fd;             /* the ring's or channel's descriptor, or
				   * -ENOTSUP where there are none */
	struct bridge_counts total, last;
	int64_t last_stats_ns;
	uint64_t session;         /* sending, --seq: this run's session */
	uint64_t next_seq;        /* sending: the next message's number; receiving: the expected one */
	uint64_t peer_session;    /* receiving, --seq: the sender's session, 0 before the first */
	bool subscribed;          /* sending, PUB/SUB: a subscriber is there */
	uint64_t held;            /* messages taken from one side, not yet given to the other */
};

/* Wait for the socket's `zmq_events` (ZMQ_POLLIN/ZMQ_POLLOUT, or 0) and,
 * if `local`, the local descriptor, at most timeout_ms (-1: no limit),
 * printing --stats when they are due and serving CURVE requests. 0, -EINTR
 * after a stop signal, or -errno. */
int bridge_wait(struct bridge *b, short zmq_events, bool local, long timeout_ms);
/* Print the --stats line if one is due (what went through since the last). */
void bridge_tick(struct bridge *b);

/* The two directions: forward until a stop signal, then hand over what was
 * taken; the exit status. */
int bridge_run_outbound(struct bridge *b);
int bridge_run_inbound(struct bridge *b);

/* ------------------------------------------------------------- security */

/* Write a new CURVE key pair: the secret key to `path` (mode 0600, never
 * over an existing file), the public key to path.pub; print the public key.
 * The exit status. */
int bridge_keygen(const char *path);
/* Set the socket's CURVE options from b->o (server or client), start the
 * allow-list handler if --curve-clients; or warn when binding a
 * non-loopback TCP endpoint without keys. The exit status. */
int bridge_secure(struct bridge *b);
/* Answer the CURVE handler's pending requests (when b->zap polled readable). */
void bridge_serve_zap(struct bridge *b);
/* Free what bridge_secure() set up. */
void bridge_secure_close(struct bridge *b);

#endif /* MEMBRIDGE_BRIDGE_H */
