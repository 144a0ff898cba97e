/* SPDX-License-Identifier: MIT */
/* membridge bridge, NAME ENDPOINT: pop from a ring (or receive from a
 * channel) in batches and send each message with a non-blocking send; a
 * message ZeroMQ would not take now is kept (the "stash") and nothing more
 * is taken until it went. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"

struct outbound {
	struct bridge *b;
	zmq_msg_t stash;                 /* taken, not yet accepted by ZeroMQ */
	bool stashed;
	struct membridge_message *msgs;  /* channel: received, held until all went */
	size_t n, next;
	int error;                       /* a send error inside pop_batch's callback */
};

/* What a step needs before it can go on. */
enum need { NEED_NOTHING, NEED_ROOM, NEED_MESSAGE, NEED_SUBSCRIBER };

static void put_le64(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* Send the stash (with its --seq header): 0 sent, 1 ZeroMQ has no room
 * now (it stays), or -errno. */
static int send_stash(struct outbound *o)
{
	struct bridge *b = o->b;
	size_t len = zmq_msg_size(&o->stash);

	if (b->o.seq) {
		unsigned char header[BRIDGE_SEQ_HEADER];

		put_le64(header, b->session);
		put_le64(header + 8, b->next_seq);
		if (zmq_send(b->sock, header, sizeof(header), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			return errno == EAGAIN || errno == EINTR ? 1 : -errno;
		/* The rest of a message whose first part was taken is taken too. */
		while (zmq_msg_send(&o->stash, b->sock, 0) < 0)
			if (errno != EINTR)
				return -errno;
	} else if (zmq_msg_send(&o->stash, b->sock, ZMQ_DONTWAIT) < 0) {
		return errno == EAGAIN || errno == EINTR ? 1 : -errno;
	}
	o->stashed = false;
	b->next_seq++;
	b->total.messages++;
	b->total.bytes += len;
	return 0;
}

/* Copy a message of up to two parts into the stash and try to send it. */
static int offer(struct outbound *o, const void *p0, size_t n0, const void *p1, size_t n1)
{
	int ret;

	if (zmq_msg_init_size(&o->stash, n0 + n1) != 0)
		return -ENOMEM;
	if (n0 != 0)
		memcpy(zmq_msg_data(&o->stash), p0, n0);
	if (n1 != 0)
		memcpy((char *)zmq_msg_data(&o->stash) + n0, p1, n1);
	o->stashed = true;
	ret = send_stash(o);
	if (ret < 0) {
		zmq_msg_close(&o->stash);
		o->stashed = false;
	}
	return ret;
}

static int ring_frame(void *ctx, const struct membridge_frame *f)
{
	struct outbound *o = ctx;
	int ret = offer(o, f->part[0], f->part_len[0], f->part[1], f->part_len[1]);

	if (ret < 0)
		o->error = ret;
	return ret; /* 1: ZeroMQ is full, stop taking */
}

/* Send the channel messages held, releasing them once all went. */
static int send_held(struct outbound *o)
{
	int ret;

	while (o->next < o->n) {
		const struct membridge_message *m = &o->msgs[o->next++];

		ret = offer(o, m->data, m->len, NULL, 0);
		if (ret != 0)
			return ret;
	}
	if (o->n != 0) {
		ret = membridge_subscriber_release(o->b->q.sub);
		if (ret < 0)
			return ret;
		o->n = o->next = 0;
	}
	return 0;
}

/* XPUB: read the subscriptions; a subscriber is there after "\1" and until
 * "\0" (ZeroMQ passes the first subscription and the last unsubscription). */
static void read_subscriptions(struct bridge *b)
{
	unsigned char sub[256];
	int len;

	while ((len = zmq_recv(b->sock, sub, sizeof(sub), ZMQ_DONTWAIT)) >= 0)
		if (len >= 1 && (sub[0] == 0 || sub[0] == 1))
			b->subscribed = sub[0] == 1;
}

/* Take more from the ring or the channel; NEED_MESSAGE when there is none. */
static int take(struct outbound *o)
{
	struct bridge *b = o->b;
	size_t popped = 0;
	int ret;

	if (b->q.spsc != NULL) {
		ret = membridge_spsc_pop_batch(b->q.spsc, b->o.batch, ring_frame, o, &popped,
					       MEMBRIDGE_NO_WAIT);
		if (o->error != 0)
			return o->error;
		if (ret == -EAGAIN)
			return NEED_MESSAGE;
		return ret < 0 ? ret : o->stashed ? NEED_ROOM : NEED_NOTHING;
	}
	ret = membridge_subscriber_receive_batch(b->q.sub, o->msgs, b->o.batch, MEMBRIDGE_NO_WAIT);
	if (ret == -EAGAIN)
		return NEED_MESSAGE;
	if (ret < 0)
		return ret;
	o->n = (size_t)ret;
	o->next = 0;
	ret = send_held(o);
	return ret < 0 ? ret : ret == 1 ? NEED_ROOM : NEED_NOTHING;
}

/* Hand over what was taken: the stash, then the channel messages held. */
static int hand_over(struct outbound *o)
{
	int ret = 0;

	if (o->stashed) {
		ret = send_stash(o);
		if (ret != 0)
			return ret;
	}
	if (o->b->q.sub != NULL)
		ret = send_held(o);
	return ret;
}

/* One step: NEED_* or -errno. */
static int step(struct outbound *o)
{
	struct bridge *b = o->b;
	int ret;

	if (b->o.pubsub) {
		read_subscriptions(b);
		if (!b->subscribed)
			return NEED_SUBSCRIBER;
	}
	ret = hand_over(o);
	if (ret != 0)
		return ret < 0 ? ret : NEED_ROOM;
	return take(o);
}

static void report_error(struct bridge *b, int err)
{
	if (err == -ECONNRESET)
		cli_error("%s: the channel's publisher evicted this subscriber", b->o.name);
	else
		cli_error("%s -> %s: %s", b->o.name, b->o.endpoint,
			  err == -EBADMSG ? membridge_strerror(err) : zmq_strerror(-err));
}

/* After a stop: hand over what was taken within --drain, then let ZeroMQ
 * flush for the time left (the socket's linger). */
static int drain(struct outbound *o)
{
	struct bridge *b = o->b;
	int64_t deadline = cli_now_ns() + b->o.drain_ns;
	uint64_t left;
	int ret, linger;

	while ((ret = hand_over(o)) == 1) {
		int64_t ms = (deadline - cli_now_ns()) / 1000000;

		if (ms <= 0)
			break;
		if (b->o.pubsub)
			read_subscriptions(b);
		ret = bridge_wait(b, ZMQ_POLLOUT | (b->o.pubsub ? ZMQ_POLLIN : 0), false, (long)ms);
		if (ret < 0 && ret != -EINTR)
			break;
	}
	left = (o->stashed ? 1 : 0) + (o->n - o->next);
	if (left != 0)
		cli_error("%s -> %s: %llu message%s taken from %s could not be handed over within --drain; they are lost",
			  b->o.name, b->o.endpoint, (unsigned long long)left, left == 1 ? "" : "s",
			  b->q.spsc != NULL ? "the ring" : "the channel");
	linger = (int)((deadline - cli_now_ns()) / 1000000);
	linger = linger < 0 ? 0 : linger;
	zmq_setsockopt(b->sock, ZMQ_LINGER, &linger, sizeof(linger));
	return left != 0 ? CLI_FAILURE : CLI_OK;
}

int bridge_run_outbound(struct bridge *b)
{
	struct outbound o = { .b = b };
	int ret = 0, status;

	b->session = ((uint64_t)cli_now_ns() * UINT64_C(0x9e3779b97f4a7c15)) ^
		     ((uint64_t)getpid() << 40) ^ 1;
	if (b->q.sub != NULL) {
		o.msgs = calloc(b->o.batch, sizeof(*o.msgs));
		if (o.msgs == NULL)
			return cli_fail(-ENOMEM, b->o.name, "bridge");
	}
	while (cli_stop_signal == 0) {
		ret = step(&o);
		b->held = (o.stashed ? 1 : 0) + (o.n - o.next);
		if (ret < 0)
			break;
		if (ret == NEED_NOTHING) {
			bridge_tick(b);
			continue;
		}
		if (ret == NEED_ROOM)
			ret = bridge_wait(b, ZMQ_POLLOUT | (b->o.pubsub ? ZMQ_POLLIN : 0), false, -1);
		else if (ret == NEED_SUBSCRIBER)
			ret = bridge_wait(b, ZMQ_POLLIN, false, -1);
		else
			ret = bridge_wait(b, b->o.pubsub ? ZMQ_POLLIN : 0, true, -1);
		if (ret < 0 && ret != -EINTR)
			break;
		ret = 0;
	}
	if (ret < 0) {
		report_error(b, ret);
		status = cli_status_of(ret);
	} else {
		status = CLI_OK;
	}
	if (drain(&o) != CLI_OK && status == CLI_OK)
		status = CLI_FAILURE;
	if (o.stashed)
		zmq_msg_close(&o.stash);
	free(o.msgs);
	return status;
}
