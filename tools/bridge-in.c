/* SPDX-License-Identifier: MIT */
/* membridge bridge, ENDPOINT NAME: receive up to a batch of messages with
 * non-blocking receives and push them into the ring (or publish them to the
 * channel) with one batch call; while what was received does not fit, the
 * socket is not read, so ZeroMQ holds the sender at its high-water mark. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

struct inbound {
	struct bridge *b;
	zmq_msg_t *inbox;             /* [next, n) received, not yet delivered; a
				       * receive into an entry frees what it held */
	struct membridge_iovec *iov;
	size_t n, next;
	bool warned_size;
};

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static bool more_parts(void *sock)
{
	int more = 0;
	size_t len = sizeof(more);

	return zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &len) == 0 && more;
}

/* Throw away the rest of a malformed multi-part message. */
static void skip_rest(struct bridge *b)
{
	zmq_msg_t part;

	zmq_msg_init(&part);
	while (more_parts(b->sock) && zmq_msg_recv(&part, b->sock, 0) >= 0)
		;
	zmq_msg_close(&part);
	b->total.dropped++;
}

/* Count the numbers a --seq header skipped over. */
static void check_seq(struct bridge *b, const unsigned char *header)
{
	uint64_t session = get_le64(header), seq = get_le64(header + 8);

	if (session != b->peer_session) {
		if (b->peer_session != 0)
			b->total.restarts++;
		b->peer_session = session;
		b->next_seq = seq;
	}
	if (seq > b->next_seq) {
		b->total.lost += seq - b->next_seq;
		b->total.gaps++;
	}
	b->next_seq = seq + 1;
}

/* Receive one message into m: 1, 0 when none is waiting, 2 when a
 * malformed one was dropped, or -errno. */
static int receive_one(struct inbound *in, zmq_msg_t *m)
{
	struct bridge *b = in->b;
	unsigned char header[BRIDGE_SEQ_HEADER];
	int len;

	if (!b->o.seq) {
		if (zmq_msg_recv(m, b->sock, ZMQ_DONTWAIT) >= 0)
			return 1;
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	}
	len = zmq_recv(b->sock, header, sizeof(header), ZMQ_DONTWAIT);
	if (len < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (len != (int)sizeof(header) || !more_parts(b->sock)) {
		skip_rest(b);
		return 2;
	}
	/* The parts of a message arrive together. */
	while (zmq_msg_recv(m, b->sock, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (more_parts(b->sock)) {
		skip_rest(b);
		return 2;
	}
	check_seq(b, header);
	return 1;
}

/* Receive up to a batch: how many, or -errno. */
static int fill(struct inbound *in)
{
	int ret;

	in->n = in->next = 0;
	while (in->n < in->b->o.batch) {
		ret = receive_one(in, &in->inbox[in->n]);
		if (ret < 0)
			return ret;
		if (ret == 0)
			break;
		if (ret == 1)
			in->n++;
	}
	return (int)in->n;
}

/* One that can never fit (larger than the ring or the channel takes). */
static void drop_oversized(struct inbound *in)
{
	struct bridge *b = in->b;

	if (!in->warned_size)
		cli_error("%s: dropping a message of %zu bytes: larger than %s takes (reported once; the summary counts them)",
			  b->o.name, zmq_msg_size(&in->inbox[in->next]),
			  b->q.spsc != NULL ? "the ring" : "the channel");
	in->warned_size = true;
	b->total.dropped++;
	in->next++;
}

/* Push [next, n): 0 when all went, 1 when the rest waits for room, -errno. */
static int deliver(struct inbound *in)
{
	static const char empty;
	struct bridge *b = in->b;
	size_t i, done;
	int ret;

	while (in->next < in->n) {
		for (i = in->next; i < in->n; i++) {
			size_t len = zmq_msg_size(&in->inbox[i]);

			in->iov[i].base = len != 0 ? zmq_msg_data(&in->inbox[i]) : &empty;
			in->iov[i].len = len;
		}
		done = 0;
		if (b->q.spsc != NULL)
			ret = membridge_spsc_push_batch(b->q.spsc, in->iov + in->next, in->n - in->next,
							&done, MEMBRIDGE_NO_WAIT);
		else
			ret = membridge_publisher_send_batch(b->q.pub, in->iov + in->next,
							     in->n - in->next, &done, MEMBRIDGE_NO_WAIT);
		for (i = 0; i < done; i++) {
			b->total.messages++;
			b->total.bytes += in->iov[in->next].len;
			in->next++; /* the next receive into it frees its bytes */
		}
		if (done != 0)
			continue;
		if (ret == -EAGAIN || ret == -ETIMEDOUT)
			return 1;
		if (ret == -EMSGSIZE) {
			drop_oversized(in);
			continue;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static void report_error(struct bridge *b, int err)
{
	if (err == -ECONNRESET)
		cli_error("%s: another process took the channel over as its publisher", b->o.name);
	else
		cli_error("%s -> %s: %s", b->o.endpoint, b->o.name,
			  err == -EBADMSG ? membridge_strerror(err) : zmq_strerror(-err));
}

/* After a stop: deliver what was received within --drain. */
static int drain(struct inbound *in)
{
	struct bridge *b = in->b;
	int64_t deadline = cli_now_ns() + b->o.drain_ns;
	size_t left;
	int ret;

	while ((ret = deliver(in)) == 1) {
		int64_t ms = (deadline - cli_now_ns()) / 1000000;

		if (ms <= 0)
			break;
		ret = bridge_wait(b, 0, true, b->q.pub != NULL && ms > BRIDGE_PUBLISHER_RETRY_MS
					   ? BRIDGE_PUBLISHER_RETRY_MS : (long)ms);
		if (ret < 0 && ret != -EINTR)
			break;
	}
	left = in->n - in->next;
	if (left != 0)
		cli_error("%s: %zu message%s received from %s found no room within --drain; they are lost",
			  b->o.name, left, left == 1 ? "" : "s", b->o.endpoint);
	in->next = in->n;
	ret = 0;
	zmq_setsockopt(b->sock, ZMQ_LINGER, &ret, sizeof(ret));
	return left != 0 ? CLI_FAILURE : CLI_OK;
}

int bridge_run_inbound(struct bridge *b)
{
	struct inbound in = { .b = b };
	int ret = 0, status;
	size_t i;

	in.inbox = calloc(b->o.batch, sizeof(*in.inbox));
	in.iov = calloc(b->o.batch, sizeof(*in.iov));
	if (in.inbox == NULL || in.iov == NULL) {
		free(in.inbox);
		free(in.iov);
		return cli_fail(-ENOMEM, b->o.name, "bridge");
	}
	for (i = 0; i < b->o.batch; i++)
		zmq_msg_init(&in.inbox[i]);
	while (cli_stop_signal == 0) {
		if (in.next < in.n) {
			ret = deliver(&in);
		} else {
			ret = fill(&in);
			ret = ret < 0 ? ret : ret == 0 ? 2 : 0;
		}
		b->held = in.n - in.next;
		if (ret < 0)
			break;
		if (ret == 0) {
			bridge_tick(b);
			continue;
		}
		if (ret == 1) /* no room: the publisher retries now and then */
			ret = bridge_wait(b, 0, true, b->q.pub != NULL ? BRIDGE_PUBLISHER_RETRY_MS : -1);
		else
			ret = bridge_wait(b, ZMQ_POLLIN, false, -1);
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
	if (drain(&in) != CLI_OK && status == CLI_OK)
		status = CLI_FAILURE;
	for (i = 0; i < b->o.batch; i++)
		zmq_msg_close(&in.inbox[i]);
	free(in.inbox);
	free(in.iov);
	return status;
}
