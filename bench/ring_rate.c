/* SPDX-License-Identifier: MIT */
/* Cross-process message throughput: the membridge ring next to pipes, sockets, queues. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <membridge.h>

#include "bench-common.h"
#include "ref-ring.h"

static const char usage[] =
	"Cross-process throughput of 16 B, 64 B and 1 KiB messages, one per call and\n"
	"in batches of 32, from a producer process on CPU 0 to a consumer on CPU 1:\n"
	"the membridge ring (busy-poll and blocking), the reference ring, pipe(2),\n"
	"a SOCK_SEQPACKET socketpair, a POSIX message queue and a process-shared\n"
	"mutex+condvar queue. The consumer checks every message. Prints RESULT lines.\n";

#define GROUP      "ring throughput"
#define BATCH      32
#define CAPACITY   ((size_t)1 << 20) /* data bytes of every ring and queue */
#define MAX_MSG    1024
#define CHILD_LIMIT_S 120            /* a child running longer has hung */

/* ---------------------------------------------------------- the stream */

/* Message i carries i in its first 8 bytes and ~i in its last 8; the bytes
 * between keep the producer's fill pattern. */
static void stamp(unsigned char *msg, size_t len, uint64_t seq)
{
	uint64_t inv = ~seq;

	memcpy(msg, &seq, sizeof(seq));
	memcpy(msg + len - sizeof(inv), &inv, sizeof(inv));
}

/* What the consumer expects next; `bad` is set by the first wrong message. */
struct checker {
	size_t len;
	uint64_t next;
	bool bad;
	uint64_t bad_at;
};

/* 8 bytes at `off` of a message held in two parts (p0 has n0 bytes). */
static uint64_t get8(const unsigned char *p0, size_t n0, const unsigned char *p1, size_t off)
{
	unsigned char b[8];
	uint64_t v;
	size_t i;

	if (off + sizeof(v) <= n0) {
		memcpy(&v, p0 + off, sizeof(v));
		return v;
	}
	for (i = 0; i < sizeof(b); i++)
		b[i] = off + i < n0 ? p0[off + i] : p1[off + i - n0];
	memcpy(&v, b, sizeof(v));
	return v;
}

static void check_parts(struct checker *c, const unsigned char *p0, size_t n0,
			const unsigned char *p1, size_t len)
{
	if (!c->bad && (len != c->len || get8(p0, n0, p1, 0) != c->next ||
			get8(p0, n0, p1, len - 8) != ~c->next)) {
		c->bad = true;
		c->bad_at = c->next;
	}
	c->next++;
}

static void check_msg(struct checker *c, const unsigned char *p, size_t len)
{
	check_parts(c, p, len, NULL, len);
}

/* ---------------------------------------------------------- the peers */

struct mcq;

/* Everything any peer needs; set up by the parent, inherited by both children. */
struct chan {
	size_t len;              /* message size of this case */
	int64_t timeout;         /* membridge: MEMBRIDGE_NO_WAIT spins on -EAGAIN */
	char name[BENCH_NAME_SIZE];
	struct membridge_spsc *q;
	struct membridge_iovec iov[BATCH];
	struct ref_ring_shared *ref_shared;
	struct ref_ring ref;
	int fd[2];               /* pipe: read and write end; socketpair: the two ends */
	size_t fill;             /* pipe: bytes of a partial message in buf */
	mqd_t mq;
	struct mcq *mcq;
	size_t mcq_size;
	unsigned char buf[BATCH * MAX_MSG];
};

/* A transport. send() sends n messages of c->len bytes lying back to back
 * (n is 1 per message, up to BATCH batched); recv() receives and checks 1 to
 * max of them and returns how many. Without `batches` the batched case
 * sends and receives one message per call. */
struct impl {
	const char *name;
	const char *batching;
	bool batches;
	void (*setup)(struct chan *c);
	void (*teardown)(struct chan *c);
	void (*attach)(struct chan *c, bool producer);
	void (*send)(struct chan *c, const unsigned char *msgs, size_t n);
	size_t (*recv)(struct chan *c, size_t max, struct checker *chk);
};

static void fail_errno(const char *what)
{
	bench_die("%s: %s", what, strerror(errno));
}

/* membridge: one ring of CAPACITY data bytes; each child opens it by name. */
static void mb_setup(struct chan *c)
{
	c->q = bench_ring_create(bench_name(c->name), CAPACITY);
}

static void mb_teardown(struct chan *c)
{
	membridge_spsc_close(c->q);
	bench_check(membridge_segment_remove(c->name), "membridge_segment_remove");
}

static void mb_attach(struct chan *c, bool producer)
{
	(void)producer;
	c->q = bench_ring_open(c->name);
}

static void mb_send(struct chan *c, const unsigned char *msgs, size_t n)
{
	size_t i, done = 0, pushed;
	int ret;

	if (n == 1) {
		while ((ret = membridge_spsc_push(c->q, msgs, c->len, c->timeout)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_push");
		return;
	}
	for (i = 0; i < n; i++) {
		c->iov[i].base = msgs + i * c->len;
		c->iov[i].len = c->len;
	}
	while (done < n) {
		ret = membridge_spsc_push_batch(c->q, c->iov + done, n - done, &pushed, c->timeout);
		if (ret == -EAGAIN) {
			bench_cpu_relax();
			continue;
		}
		bench_check(ret, "membridge_spsc_push_batch");
		done += pushed;
	}
}

static int mb_check_frame(void *ctx, const struct membridge_frame *f)
{
	check_parts(ctx, f->part[0], f->part_len[0], f->part[1], f->len);
	return 0;
}

static size_t mb_recv(struct chan *c, size_t max, struct checker *chk)
{
	size_t got;
	int ret;

	if (max == 1) {
		while ((ret = membridge_spsc_pop(c->q, c->buf, sizeof(c->buf), &got,
						 c->timeout)) == -EAGAIN)
			bench_cpu_relax();
		bench_check(ret, "membridge_spsc_pop");
		check_msg(chk, c->buf, got);
		return 1;
	}
	while ((ret = membridge_spsc_pop_batch(c->q, max, mb_check_frame, chk, &got,
					       c->timeout)) == -EAGAIN)
		bench_cpu_relax();
	bench_check(ret, "membridge_spsc_pop_batch");
	return got;
}

/* The reference ring: publishes once per send() call, releases once per recv(). */
static void ref_setup(struct chan *c)
{
	c->ref_shared = ref_ring_alloc(CAPACITY);
}

static void ref_teardown(struct chan *c)
{
	ref_ring_free(c->ref_shared, CAPACITY);
}

static void ref_attach(struct chan *c, bool producer)
{
	ref_ring_attach(&c->ref, c->ref_shared, CAPACITY, producer);
}

static void ref_send(struct chan *c, const unsigned char *msgs, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		ref_ring_put(&c->ref, msgs + i * c->len, (uint32_t)c->len);
	ref_ring_publish(&c->ref);
}

/* One message is copied out (as membridge_spsc_pop does), a batch is
 * checked in place (as membridge_spsc_pop_batch does). */
static size_t ref_recv(struct chan *c, size_t max, struct checker *chk)
{
	struct ref_frame f;
	size_t n = 0;

	while (!ref_ring_peek(&c->ref, &f))
		bench_cpu_relax();
	do {
		if (max == 1) {
			memcpy(c->buf, f.part[0], f.part_len[0]);
			memcpy(c->buf + f.part_len[0], f.part[1], f.part_len[1]);
			check_msg(chk, c->buf, f.len);
		} else {
			check_parts(chk, f.part[0], f.part_len[0], f.part[1], f.len);
		}
		ref_ring_take(&c->ref, &f);
	} while (++n < max && ref_ring_peek(&c->ref, &f));
	ref_ring_release(&c->ref);
	return n;
}

/* pipe(2), sized to CAPACITY when the system allows; a batch is one write()
 * of the 32 messages and the reader takes whatever whole messages arrived. */
static int pipe_size;

static void pipe_setup(struct chan *c)
{
	if (pipe(c->fd) < 0)
		fail_errno("pipe");
	fcntl(c->fd[1], F_SETPIPE_SZ, (int)CAPACITY); /* best effort */
	pipe_size = fcntl(c->fd[1], F_GETPIPE_SZ);
	c->fill = 0;
}

static void fd_pair_teardown(struct chan *c)
{
	close(c->fd[0]);
	close(c->fd[1]);
}

static void pipe_attach(struct chan *c, bool producer)
{
	close(c->fd[producer ? 0 : 1]);
}

static void pipe_send(struct chan *c, const unsigned char *msgs, size_t n)
{
	size_t left = n * c->len;

	while (left) {
		ssize_t w = write(c->fd[1], msgs, left);

		if (w < 0 && errno != EINTR)
			fail_errno("write to pipe");
		if (w > 0) {
			msgs += w;
			left -= (size_t)w;
		}
	}
}

static size_t pipe_recv(struct chan *c, size_t max, struct checker *chk)
{
	size_t n, i;

	do {
		ssize_t r = read(c->fd[0], c->buf + c->fill, max * c->len - c->fill);

		if (r < 0 && errno != EINTR)
			fail_errno("read from pipe");
		if (r == 0)
			bench_die("pipe: end of file");
		if (r > 0)
			c->fill += (size_t)r;
		n = c->fill / c->len;
	} while (n == 0);
	for (i = 0; i < n; i++)
		check_msg(chk, c->buf + i * c->len, c->len);
	c->fill -= n * c->len;
	memmove(c->buf, c->buf + n * c->len, c->fill);
	return n;
}

/* AF_UNIX SOCK_SEQPACKET socketpair; a batch is one sendmmsg()/recvmmsg(). */
static int sock_sndbuf;

static void sock_setup(struct chan *c)
{
	int size = (int)CAPACITY, i;
	socklen_t sl = sizeof(sock_sndbuf);

	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, c->fd) < 0)
		fail_errno("socketpair");
	for (i = 0; i < 2; i++) {
		/* SO_SNDBUFFORCE passes net.core.wmem_max, for root only */
		if (setsockopt(c->fd[i], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
			setsockopt(c->fd[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	}
	getsockopt(c->fd[0], SOL_SOCKET, SO_SNDBUF, &sock_sndbuf, &sl);
}

static void sock_attach(struct chan *c, bool producer)
{
	close(c->fd[producer ? 1 : 0]);
}

static void sock_send(struct chan *c, const unsigned char *msgs, size_t n)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	size_t i, done = 0;

	if (n == 1) {
		if (send(c->fd[0], msgs, c->len, 0) != (ssize_t)c->len)
			fail_errno("send");
		return;
	}
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < n; i++) {
		iov[i].iov_base = (void *)(msgs + i * c->len);
		iov[i].iov_len = c->len;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < n) {
		int r = sendmmsg(c->fd[0], mm + done, (unsigned)(n - done), 0);

		if (r < 0 && errno != EINTR)
			fail_errno("sendmmsg");
		if (r > 0)
			done += (size_t)r;
	}
}

static size_t sock_recv(struct chan *c, size_t max, struct checker *chk)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	size_t i;
	int r;

	if (max == 1) {
		ssize_t got = recv(c->fd[1], c->buf, sizeof(c->buf), 0);

		if (got < 0)
			fail_errno("recv");
		check_msg(chk, c->buf, (size_t)got);
		return 1;
	}
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < max; i++) {
		iov[i].iov_base = c->buf + i * MAX_MSG;
		iov[i].iov_len = MAX_MSG;
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	do
		r = recvmmsg(c->fd[1], mm, (unsigned)max, MSG_WAITFORONE, NULL);
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		fail_errno("recvmmsg");
	for (i = 0; i < (size_t)r; i++)
		check_msg(chk, c->buf + i * MAX_MSG, mm[i].msg_len);
	return (size_t)r;
}

/* POSIX message queue: as many messages as the limits allow (root may
 * pass /proc/sys/fs/mqueue/msg_max and raise RLIMIT_MSGQUEUE); no batch call. */
static long mq_maxmsg;

static void mq_setup(struct chan *c)
{
	static const long wanted[] = { 1024, 256, 64, 10 };
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	struct mq_attr attr;
	size_t i;

	setrlimit(RLIMIT_MSGQUEUE, &rl); /* best effort */
	bench_name(c->name);
	for (i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		memset(&attr, 0, sizeof(attr));
		attr.mq_maxmsg = wanted[i];
		attr.mq_msgsize = (long)c->len;
		c->mq = mq_open(c->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		if (c->mq != (mqd_t)-1)
			break;
		if (errno != EINVAL && errno != EMFILE && errno != ENOMEM)
			fail_errno("mq_open");
	}
	if (c->mq == (mqd_t)-1)
		fail_errno("mq_open");
	mq_unlink(c->name); /* the children inherit the descriptor */
	mq_maxmsg = attr.mq_maxmsg;
}

static void mq_teardown(struct chan *c)
{
	mq_close(c->mq);
}

static void no_attach(struct chan *c, bool producer)
{
	(void)c;
	(void)producer;
}

static void mq_send_one(struct chan *c, const unsigned char *msgs, size_t n)
{
	(void)n; /* always 1: no batching */
	while (mq_send(c->mq, (const char *)msgs, c->len, 0) < 0) {
		if (errno != EINTR)
			fail_errno("mq_send");
	}
}

static size_t mq_recv_one(struct chan *c, size_t max, struct checker *chk)
{
	ssize_t got;

	(void)max;
	while ((got = mq_receive(c->mq, (char *)c->buf, c->len, NULL)) < 0) {
		if (errno != EINTR)
			fail_errno("mq_receive");
	}
	check_msg(chk, c->buf, (size_t)got);
	return 1;
}

/* A bounded queue of fixed slots in shared memory under a process-shared
 * mutex with two condition variables, signalled only when someone waits
 * (the design of boost::interprocess::message_queue and faster-fifo). A
 * batch is copied in or out under one lock. */
struct mcq {
	pthread_mutex_t lock;
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	unsigned recv_waiting;
	unsigned send_waiting;
	uint64_t head; /* messages taken */
	uint64_t tail; /* messages put */
	size_t slots;
	unsigned char data[];
};

static void mcq_setup(struct chan *c)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	struct mcq *m;

	c->mcq_size = sizeof(*m) + CAPACITY;
	m = c->mcq = bench_shared_alloc(c->mcq_size);
	m->slots = CAPACITY / c->len;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&m->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_init(&ca);
	pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	pthread_cond_init(&m->not_empty, &ca);
	pthread_cond_init(&m->not_full, &ca);
	pthread_condattr_destroy(&ca);
}

static void mcq_teardown(struct chan *c)
{
	pthread_cond_destroy(&c->mcq->not_empty);
	pthread_cond_destroy(&c->mcq->not_full);
	pthread_mutex_destroy(&c->mcq->lock);
	bench_shared_free(c->mcq, c->mcq_size);
}

static void mcq_send(struct chan *c, const unsigned char *msgs, size_t n)
{
	struct mcq *m = c->mcq;
	size_t done = 0;

	pthread_mutex_lock(&m->lock);
	while (done < n) {
		size_t room, k;

		while (m->tail - m->head == m->slots) {
			m->send_waiting++;
			pthread_cond_wait(&m->not_full, &m->lock);
			m->send_waiting--;
		}
		room = m->slots - (size_t)(m->tail - m->head);
		for (k = 0; k < room && done < n; k++, done++) {
			memcpy(m->data + (size_t)(m->tail % m->slots) * c->len,
			       msgs + done * c->len, c->len);
			m->tail++;
		}
		if (m->recv_waiting)
			pthread_cond_signal(&m->not_empty);
	}
	pthread_mutex_unlock(&m->lock);
}

static size_t mcq_recv(struct chan *c, size_t max, struct checker *chk)
{
	struct mcq *m = c->mcq;
	size_t n, i;

	pthread_mutex_lock(&m->lock);
	while (m->tail == m->head) {
		m->recv_waiting++;
		pthread_cond_wait(&m->not_empty, &m->lock);
		m->recv_waiting--;
	}
	n = (size_t)(m->tail - m->head);
	if (n > max)
		n = max;
	for (i = 0; i < n; i++) {
		memcpy(c->buf + i * c->len, m->data + (size_t)(m->head % m->slots) * c->len,
		       c->len);
		m->head++;
	}
	if (m->send_waiting)
		pthread_cond_signal(&m->not_full);
	pthread_mutex_unlock(&m->lock);
	for (i = 0; i < n; i++)
		check_msg(chk, c->buf + i * c->len, c->len);
	return n;
}

enum { IMPL_MB_SPIN, IMPL_MB_BLOCK, IMPL_COUNT = 7 };

static const struct impl impls[IMPL_COUNT] = {
	{ "membridge", "push_batch/pop_batch, MEMBRIDGE_NO_WAIT retried (busy-poll)", true,
	  mb_setup, mb_teardown, mb_attach, mb_send, mb_recv },
	{ "membridge blocking", "push_batch/pop_batch, MEMBRIDGE_WAIT_FOREVER", true,
	  mb_setup, mb_teardown, mb_attach, mb_send, mb_recv },
	{ "reference ring", "tail published once per batch, head once per receive", true,
	  ref_setup, ref_teardown, ref_attach, ref_send, ref_recv },
	{ "pipe", "one write() of the batch; read() takes the whole messages there are", true,
	  pipe_setup, fd_pair_teardown, pipe_attach, pipe_send, pipe_recv },
	{ "SOCK_SEQPACKET", "sendmmsg()/recvmmsg(MSG_WAITFORONE)", true,
	  sock_setup, fd_pair_teardown, sock_attach, sock_send, sock_recv },
	{ "POSIX mq", "no batch call: one mq_send()/mq_receive() per message", false,
	  mq_setup, mq_teardown, no_attach, mq_send_one, mq_recv_one },
	{ "mutex+condvar queue", "the batch copied in/out under one lock", true,
	  mcq_setup, mcq_teardown, no_attach, mcq_send, mcq_recv },
};

/* ---------------------------------------------------------- one run */

struct run_state {
	struct bench_barrier barrier;
	_Atomic int64_t producer_start;
	double rate;
	bool ok;
	uint64_t received;
	uint64_t bad_at;
};

/* One measurement: `warm` messages, the barrier, then `count` timed ones. */
struct run {
	const struct impl *impl;
	struct chan *chan;
	size_t batch; /* messages per call: 1, or BATCH where the peer batches */
	uint64_t warm;
	uint64_t count;
	struct run_state *st;
};

static void send_stream(const struct run *r, unsigned char *msgs, uint64_t *seq, uint64_t n)
{
	size_t len = r->chan->len, k, i;

	while (n) {
		k = n < r->batch ? (size_t)n : r->batch;
		for (i = 0; i < k; i++)
			stamp(msgs + i * len, len, (*seq)++);
		r->impl->send(r->chan, msgs, k);
		n -= k;
	}
}

static int producer(void *arg)
{
	const struct run *r = arg;
	unsigned char *msgs = malloc(BATCH * MAX_MSG);
	uint64_t seq = 0;

	alarm(CHILD_LIMIT_S);
	if (!msgs)
		bench_die("out of memory");
	memset(msgs, 0xa5, BATCH * MAX_MSG);
	r->impl->attach(r->chan, true);
	send_stream(r, msgs, &seq, r->warm);
	bench_barrier_wait(&r->st->barrier);
	atomic_store(&r->st->producer_start, bench_now_ns());
	send_stream(r, msgs, &seq, r->count);
	free(msgs);
	return 0;
}

static void receive_stream(const struct run *r, struct checker *chk, uint64_t n)
{
	while (n) {
		size_t max = n < r->batch ? (size_t)n : r->batch;

		n -= r->impl->recv(r->chan, max, chk);
	}
}

static int consumer(void *arg)
{
	const struct run *r = arg;
	struct checker chk = { r->chan->len, 0, false, 0 };
	int64_t start, end, pstart;

	alarm(CHILD_LIMIT_S);
	r->impl->attach(r->chan, false);
	receive_stream(r, &chk, r->warm);
	bench_barrier_wait(&r->st->barrier);
	start = bench_now_ns();
	receive_stream(r, &chk, r->count);
	end = bench_now_ns();
	pstart = atomic_load(&r->st->producer_start);
	if (pstart < start)
		start = pstart;
	r->st->rate = (double)r->count * 1e9 / (double)(end - start);
	r->st->received = chk.next;
	r->st->bad_at = chk.bad_at;
	r->st->ok = !chk.bad && chk.next == r->warm + r->count;
	return r->st->ok ? 0 : 1;
}

static double measure(const struct impl *impl, struct chan *c, bool batched, uint64_t count,
		      struct run_state *st)
{
	struct run r = { impl, c, batched && impl->batches ? BATCH : 1, count / 10, count, st };
	pid_t pids[2];

	memset(st, 0, sizeof(*st));
	impl->setup(c);
	pids[0] = bench_fork(1, consumer, &r);
	pids[1] = bench_fork(0, producer, &r);
	bench_wait_all(pids, 2);
	impl->teardown(c);
	if (!st->ok)
		bench_die("%s: the consumer got %llu messages of %llu, first bad one #%llu",
			  impl->name, (unsigned long long)st->received,
			  (unsigned long long)(r.warm + r.count), (unsigned long long)st->bad_at);
	return st->rate;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 16, 64, 1024 };
	static const char *const size_names[] = { "16 B", "64 B", "1 KiB" };
	static struct chan chan;
	struct bench_opts opts;
	struct run_state *st;
	double *rates;
	size_t s, i;
	int b, run;

	bench_parse_args(argc, argv, usage, &opts);
	rates = calloc((size_t)IMPL_COUNT * (size_t)opts.runs, sizeof(*rates));
	if (!rates)
		bench_die("out of memory");
	st = bench_shared_alloc(sizeof(*st));
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint64_t count = (sizes[s] > 64 ? 500000 : 2000000) / (opts.quick ? 20 : 1);

		for (b = 0; b < 2; b++) {
			char bcase[64];

			if (b)
				snprintf(bcase, sizeof(bcase), "%s batch of %d", size_names[s],
					 BATCH);
			else
				snprintf(bcase, sizeof(bcase), "%s per message", size_names[s]);
			fprintf(stderr, "%s: %llu messages, %d runs\n", bcase,
				(unsigned long long)count, opts.runs);
			/* runs outermost, so that drift of the machine hits every peer alike */
			for (run = 0; run < opts.runs; run++) {
				for (i = 0; i < IMPL_COUNT; i++) {
					chan.len = sizes[s];
					chan.timeout = i == IMPL_MB_BLOCK ? MEMBRIDGE_WAIT_FOREVER
									  : MEMBRIDGE_NO_WAIT;
					rates[i * (size_t)opts.runs + (size_t)run] =
						measure(&impls[i], &chan, b, count, st);
				}
			}
			for (i = 0; i < IMPL_COUNT; i++)
				bench_result(GROUP, bcase, impls[i].name,
					     bench_median(rates + i * (size_t)opts.runs,
							  (size_t)opts.runs), "msg/s");
		}
	}
	bench_note(GROUP, "producer on CPU 0, consumer on CPU 1 (%d CPUs); %d runs per figure "
		   "(median); 2,000,000 messages of 16/64 B and 500,000 of 1 KiB per run%s, "
		   "after a tenth as many untimed; the consumer checks the sequence number "
		   "and trailer of every message", bench_cpu_count(), opts.runs,
		   opts.quick ? " (a twentieth with --quick)" : "");
	bench_note(GROUP, "rings and the mutex+condvar queue hold %zu data bytes; pipe %d bytes "
		   "(F_SETPIPE_SZ); socket SO_SNDBUF %d; POSIX mq %ld messages", CAPACITY,
		   pipe_size, sock_sndbuf, mq_maxmsg);
	for (i = 0; i < IMPL_COUNT; i++)
		bench_note(GROUP, "batch of %d, %s: %s", BATCH, impls[i].name, impls[i].batching);
	bench_note(GROUP, "membridge is busy-poll (MEMBRIDGE_NO_WAIT retried) like the reference "
		   "ring; membridge blocking passes MEMBRIDGE_WAIT_FOREVER");
	bench_shared_free(st, sizeof(*st));
	free(rates);
	return 0;
}
