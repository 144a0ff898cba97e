/* SPDX-License-Identifier: MIT */
/* soak: stream N checked messages through a ring between two processes and count every fault. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "soak-stream.h"

/* A side that hears nothing from the other for this long gives up. */
#define SOAK_TIMEOUT_NS INT64_C(10000000000)
/* After the last message the consumer waits this long for an extra one. */
#define SOAK_EXTRA_NS INT64_C(50000000)

struct soak {
	char name[64];
	uint64_t messages;
	uint64_t seed;
	size_t cap;
	int cpu[2]; /* producer's and consumer's CPU, -1 for no pinning */
	int fd;     /* the consumer's tally goes up this pipe */
};

/* The first two CPUs this process may run on, if it has two. */
static void pick_cpus(int cpu[2])
{
	cpu_set_t set;
	int i, n = 0;

	cpu[0] = cpu[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return;
	for (i = 0; i < CPU_SETSIZE && n < 2; i++)
		if (CPU_ISSET(i, &set))
			cpu[n++] = i;
	if (n < 2)
		cpu[0] = cpu[1] = -1;
}

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("soak: sched_setaffinity");
}

/* Open the ring in a child; prints why not. */
static int open_ring(const struct soak *sk, struct membridge_segment **seg,
		     struct membridge_spsc **q)
{
	int ret = membridge_segment_open(sk->name, 0, seg);

	if (ret == 0) {
		ret = membridge_spsc_open(*seg, q);
		if (ret < 0)
			membridge_segment_close(*seg);
	}
	if (ret < 0)
		fprintf(stderr, "soak: cannot open %s: %s\n", sk->name, membridge_strerror(ret));
	return ret;
}

static int producer(const struct soak *sk)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct mbs s;
	int ret;

	pin(sk->cpu[0]);
	if (mbs_init(&s, sk->seed, sk->cap, 0) < 0 || open_ring(sk, &seg, &q) < 0)
		return 10;
	ret = mbs_produce(&s, q, 0, sk->messages, MBS_PUSH_MIX, SOAK_TIMEOUT_NS);
	if (ret < 0)
		fprintf(stderr, "soak: producer: %s\n", ret == -EPROTO ?
			"push_batch pushed nothing" : membridge_strerror(ret));
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbs_free(&s);
	return ret < 0 ? 11 : 0;
}

static int consumer(const struct soak *sk)
{
	struct mbs_tally t = { 0 };
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	struct mbs s;
	size_t len;
	int ret;

	pin(sk->cpu[1]);
	if (mbs_init(&s, sk->seed, sk->cap, 0) < 0 || open_ring(sk, &seg, &q) < 0)
		return 20;
	ret = mbs_consume(&s, q, &t, sk->messages, MBS_POP_MIX, SOAK_TIMEOUT_NS);
	if (ret < 0)
		fprintf(stderr, "soak: consumer: message %llu: %s\n", (unsigned long long)t.next,
			ret == -EPROTO ? "pop_batch popped nothing" : membridge_strerror(ret));
	t.lost += sk->messages - (t.next < sk->messages ? t.next : sk->messages);
	/* Anything after the last message is one too many. */
	while (ret == 0 && membridge_spsc_pop(q, s.scratch, s.cap, &len, SOAK_EXTRA_NS) == 0)
		t.duplicated++;
	if (write(sk->fd, &t, sizeof(t)) != (ssize_t)sizeof(t))
		ret = -EIO;
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbs_free(&s);
	return ret < 0 ? 21 : 0;
}

static pid_t start(int (*fn)(const struct soak *sk), const struct soak *sk)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(fn(sk));
	return pid;
}

static int status_of(pid_t pid)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: soak [--messages N] [--seed S] [--capacity BYTES]\n"
		"Streams N messages (default 1000000) of random length 0..capacity-4 with\n"
		"sequence numbers and checksums from a producer process to a consumer process\n"
		"through a ring of capacity bytes (a power of two, default 65536); exits 0 only\n"
		"if none was lost, duplicated or corrupted.\n");
}

static int parse(int argc, char **argv, struct soak *sk)
{
	static const struct option opts[] = {
		{ "messages", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	unsigned long long v;
	int c;

	while ((c = getopt_long(argc, argv, "n:s:c:h", opts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			exit(0);
		}
		if (c == '?')
			return -1;
		errno = 0;
		v = strtoull(optarg, &end, 0);
		if (errno || *end || !*optarg || optarg[0] == '-') {
			fprintf(stderr, "soak: invalid number '%s'\n", optarg);
			return -1;
		}
		if (c == 'n')
			sk->messages = v;
		else if (c == 's')
			sk->seed = v;
		else
			sk->cap = (size_t)v;
	}
	if (optind < argc || sk->cap < 16 || sk->cap > (1u << 30) ||
	    (sk->cap & (sk->cap - 1))) {
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct soak sk = { .messages = 1000000, .seed = 1, .cap = 65536 };
	struct mbs_tally t = { 0 };
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	uint64_t head, tail, total;
	unsigned char *base;
	int fds[2], prod, cons, ret;
	bool got;
	pid_t p, c;
	int64_t t0;
	double secs;
	struct mbs s;

	if (parse(argc, argv, &sk) < 0)
		return 2;
	if (mbs_init(&s, sk.seed, sk.cap, 0) < 0)
		return 1;
	total = mbs_frame_bytes(&s, 0, sk.messages);
	mbs_free(&s);
	snprintf(sk.name, sizeof(sk.name), "/mbsoak%u", (unsigned)getpid() % 10000000u);
	ret = membridge_segment_create(sk.name, sk.cap + MEMBRIDGE_SPSC_HEADER, 0, 0, &seg);
	if (ret == 0 && (ret = membridge_spsc_open(seg, &q)) < 0)
		membridge_segment_close(seg);
	if (ret < 0) {
		fprintf(stderr, "soak: cannot create %s: %s\n", sk.name, membridge_strerror(ret));
		membridge_segment_remove(sk.name);
		return 1;
	}
	if (pipe(fds) < 0) {
		perror("soak: pipe");
		return 1;
	}
	sk.fd = fds[1];
	pick_cpus(sk.cpu);
	t0 = mb_clock_ns();
	c = start(consumer, &sk);
	p = start(producer, &sk);
	close(fds[1]);
	got = read(fds[0], &t, sizeof(t)) == (ssize_t)sizeof(t);
	close(fds[0]);
	prod = status_of(p);
	cons = status_of(c);
	secs = (double)(mb_clock_ns() - t0) / 1e9;
	base = membridge_segment_data(seg);
	memcpy(&head, base, 8);
	memcpy(&tail, base + 8, 8);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	membridge_segment_remove(sk.name);

	printf("soak: %llu messages, %llu bytes, %.2f s, %.0f messages/s, %.1f MB/s "
	       "(seed %llu, capacity %zu, CPUs %d/%d)\n",
	       (unsigned long long)t.received, (unsigned long long)t.bytes, secs,
	       (double)t.received / secs, (double)t.bytes / secs / 1e6,
	       (unsigned long long)sk.seed, sk.cap, sk.cpu[0], sk.cpu[1]);
	printf("soak: lost %llu, duplicated %llu, corrupted %llu\n",
	       (unsigned long long)t.lost, (unsigned long long)t.duplicated,
	       (unsigned long long)t.corrupted);
	if (!got || prod != 0 || cons != 0) {
		fprintf(stderr, "soak: FAIL: producer exit %d, consumer exit %d%s\n", prod, cons,
			got ? "" : ", no tally from the consumer");
		return 1;
	}
	if (t.lost || t.duplicated || t.corrupted || t.received != sk.messages ||
	    t.bytes != total || head != total || tail != total) {
		fprintf(stderr, "soak: FAIL: %llu of %llu messages, %llu of %llu bytes; "
			"ring head %llu, tail %llu\n", (unsigned long long)t.received,
			(unsigned long long)sk.messages, (unsigned long long)t.bytes,
			(unsigned long long)total, (unsigned long long)head,
			(unsigned long long)tail);
		return 1;
	}
	return 0;
}
