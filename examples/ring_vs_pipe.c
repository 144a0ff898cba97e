// SPDX-License-Identifier: MIT
/*
 * The same stream of 16-byte messages from one process to another, through a
 * membridge ring and through a pipe, timed side by side.
 *
 * usage: ring_vs_pipe [COUNT]   (default 1000000)
 *
 * A forked child sends COUNT messages, each carrying its sequence number, one
 * call per message: membridge_spsc_push() into the ring, write(2) into the
 * pipe. The parent receives them (membridge_spsc_pop(), read(2)), checks every
 * sequence number and times the stream from its first message to its last.
 * A demo, not a benchmark (bench/ring_rate is one): one run, no CPU pinning.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <membridge.h>

#define MSG_SIZE 16
#define RING_DATA (1u << 20)
#define WAIT_NS INT64_C(10000000000) /* 10 s: a stalled peer, not a slow one */

struct msg {
	uint64_t seq;
	char pad[MSG_SIZE - sizeof(uint64_t)];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, int err)
{
	fprintf(stderr, "ring_vs_pipe: %s: %s\n", what, membridge_strerror(err));
	return -1;
}

/* The child's side: send count messages through the ring or the pipe. */
static int send_all(struct membridge_spsc *ring, int fd, uint64_t count)
{
	struct msg m;

	memset(&m, 0, sizeof(m));
	for (m.seq = 0; m.seq < count; m.seq++) {
		if (ring) {
			int err = membridge_spsc_push(ring, &m, sizeof(m), WAIT_NS);

			if (err < 0)
				return fail("push", err);
		} else if (write(fd, &m, sizeof(m)) != (ssize_t)sizeof(m)) {
			return fail("write", -errno);
		}
	}
	return 0;
}

/* The parent's side: receive and check count messages; seconds taken, or -1. */
static double receive_all(struct membridge_spsc *ring, int fd, uint64_t count)
{
	struct msg m;
	double start = 0;
	uint64_t i;

	for (i = 0; i < count; i++) {
		if (ring) {
			size_t len;
			int err = membridge_spsc_pop(ring, &m, sizeof(m), &len, WAIT_NS);

			if (err < 0)
				return fail("pop", err);
		} else {
			/* A pipe is a byte stream; 16-byte writes arrive whole here
			 * (atomic below PIPE_BUF), but a short read still must not
			 * pass for a message. */
			if (read(fd, &m, sizeof(m)) != (ssize_t)sizeof(m))
				return fail("read", errno ? -errno : -EPIPE);
		}
		if (i == 0)
			start = now_s();
		if (m.seq != i) {
			fprintf(stderr, "ring_vs_pipe: message %" PRIu64 " has number %" PRIu64 "\n",
				i, m.seq);
			return -1;
		}
	}
	return now_s() - start;
}

/* Stream count messages from a child process; seconds taken, or -1. */
static double stream(struct membridge_spsc *ring, uint64_t count)
{
	int fds[2] = { -1, -1 }, status;
	double seconds;
	pid_t pid;

	if (!ring && pipe(fds) < 0)
		return fail("pipe", -errno);
	pid = fork();
	if (pid < 0)
		return fail("fork", -errno);
	if (pid == 0) {
		if (!ring)
			close(fds[0]);
		_exit(send_all(ring, fds[1], count) < 0);
	}
	if (!ring)
		close(fds[1]);
	seconds = receive_all(ring, fds[0], count);
	if (!ring)
		close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
		seconds = -1;
	return seconds;
}

int main(int argc, char **argv)
{
	uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	struct membridge_segment *seg;
	struct membridge_spsc *ring;
	double ring_s, pipe_s;
	char name[64];
	int err;

	if (count < 2 || argc > 2) {
		fprintf(stderr, "usage: ring_vs_pipe [COUNT >= 2]\n");
		return 2;
	}
	snprintf(name, sizeof(name), "/mb-pipe-%u", (unsigned)getpid() % 10000000u);
	err = membridge_segment_create(name, MEMBRIDGE_SPSC_HEADER + RING_DATA, 0, 0, &seg);
	if (err < 0) {
		fail(name, err);
		return 1;
	}
	/* The ring is opened before the fork: the child inherits the mapping
	 * and uses the handle only as the producer, the parent as the consumer. */
	err = membridge_spsc_open(seg, &ring);
	membridge_segment_remove(name);
	if (err < 0) {
		fail("spsc_open", err);
		membridge_segment_close(seg);
		return 1;
	}
	ring_s = stream(ring, count);
	membridge_spsc_close(ring);
	membridge_segment_close(seg);
	pipe_s = stream(NULL, count);
	if (ring_s < 0 || pipe_s < 0)
		return 1;
	printf("%" PRIu64 " messages of %d bytes from one process to another, every one checked:\n",
	       count, MSG_SIZE);
	printf("  membridge ring   %7.2f M msg/s\n", (double)count / ring_s / 1e6);
	printf("  pipe             %7.2f M msg/s\n", (double)count / pipe_s / 1e6);
	printf("  membridge / pipe %7.1fx\n", pipe_s / ring_s);
	return 0;
}
