/* SPDX-License-Identifier: MIT */
/* Example: create a ring, receive and check ring_producer's stream, report the rate. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "ring_demo.h"

/* How many of the first messages to print. */
#define SHOW_FIRST 3

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Stop cleanly on Ctrl-C or kill, so the segment still gets removed. No
 * SA_RESTART: a blocking pop interrupted by the signal returns -EINTR. */
static void catch_signals(void)
{
#ifdef _WIN32
	/* Only Ctrl-C and Ctrl-Break reach a console program. */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGBREAK, on_signal);
#else
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
#endif
}

static void usage(void)
{
	fprintf(stderr,
		"usage: ring_consumer [-n COUNT] [-s CAPACITY] [-t SECONDS] [NAME]\n"
		"  Create the ring NAME (default %s), receive and check\n"
		"  ring_producer's messages until its end marker, print the rate,\n"
		"  remove the ring.\n"
		"  -n  fail unless exactly COUNT messages arrive\n"
		"  -s  ring data bytes: a power of two >= 256, K and M suffixes\n"
		"      allowed (default %d)\n"
		"  -t  how long to wait for each message (default %g s)\n",
		DEMO_NAME, DEMO_CAPACITY, DEMO_TIMEOUT_S);
}

/* If msg is the end marker, store the count it carries and return 1. */
static int end_marker(const char *msg, size_t len, uint64_t *sent)
{
	size_t prefix = strlen(DEMO_END_PREFIX);
	char digits[24];

	if (len <= prefix || len - prefix >= sizeof(digits) ||
	    memcmp(msg, DEMO_END_PREFIX, prefix) != 0)
		return 0;
	memcpy(digits, msg + prefix, len - prefix);
	digits[len - prefix] = '\0';
	return demo_parse_u64(digits, 0, sent) == 0 ? 1 : -EBADMSG;
}

/* What receive() saw: counts, timing, and copies of some messages. */
struct stream {
	uint64_t count;   /* data messages, the end marker not included */
	uint64_t bytes;   /* their payload bytes */
	double elapsed;   /* seconds from the first message to the end marker */
	char first[SHOW_FIRST][DEMO_MAX_MESSAGE];
	size_t first_len[SHOW_FIRST];
	char last[DEMO_MAX_MESSAGE];
	size_t last_len;
};

/* Pop and check messages until the end marker. Returns 0 or a negative
 * errno value (-EBADMSG for a message that is not the expected one). */
static int receive(struct membridge_spsc *ring, int64_t timeout_ns, struct stream *st)
{
	char msg[DEMO_MAX_MESSAGE], want[DEMO_MAX_MESSAGE];
	size_t len, want_len;
	uint64_t sent, n = 0;
	double start = 0;
	int ret;

	for (;;) {
		/* Blocks until a message arrives, for at most timeout_ns. */
		ret = membridge_spsc_pop(ring, msg, sizeof(msg), &len, timeout_ns);
		if (stop_signal) {
			fprintf(stderr, "ring_consumer: stopped by signal %d after %" PRIu64
				" messages\n", (int)stop_signal, n);
			return -EINTR;
		}
		if (ret == -EINTR)
			continue; /* some other signal: just wait again */
		if (ret == -ENOBUFS) {
			fprintf(stderr, "ring_consumer: message %" PRIu64 " has %zu bytes, more"
				" than any the producer sends\n", n, len);
			return -EBADMSG;
		}
		if (ret < 0) {
			fprintf(stderr, "ring_consumer: pop of message %" PRIu64 " failed: %s%s\n",
				n, membridge_strerror(ret),
				ret == -ETIMEDOUT ? " (is ring_producer running?)" : "");
			return ret;
		}
		/* Time from the first message, not from our start: the producer
		 * may be started well after us. */
		if (n == 0)
			start = demo_now();

		ret = end_marker(msg, len, &sent);
		if (ret > 0) {
			st->elapsed = demo_now() - start;
			st->count = n;
			if (sent != n) {
				fprintf(stderr, "ring_consumer: the producer sent %" PRIu64
					" messages but %" PRIu64 " arrived\n", sent, n);
				return -EBADMSG;
			}
			return 0;
		}

		/* Every message must be exactly the next one in the sequence. */
		want_len = demo_message(n, want);
		if (ret < 0 || len != want_len || memcmp(msg, want, len) != 0) {
			fprintf(stderr, "ring_consumer: message %" PRIu64 " is \"%.*s\", expected"
				" \"%.*s\"\n", n, (int)len, msg, (int)want_len, want);
			return -EBADMSG;
		}
		/* Keep copies to show at the end: printing now would slow us. */
		if (n < SHOW_FIRST) {
			memcpy(st->first[n], msg, len);
			st->first_len[n] = len;
		}
		memcpy(st->last, msg, len);
		st->last_len = len;
		st->bytes += len;
		n++;
	}
}

static void report(const struct stream *st)
{
	uint64_t i;

	for (i = 0; i < st->count && i < SHOW_FIRST; i++)
		printf("  message %" PRIu64 ": %.*s\n", i, (int)st->first_len[i], st->first[i]);
	if (st->count > SHOW_FIRST)
		printf("  ...\n  message %" PRIu64 ": %.*s\n", st->count - 1, (int)st->last_len,
		       st->last);
	printf("ring_consumer: received %" PRIu64 " messages, all in order, %" PRIu64
	       " payload bytes in %.3f s\n", st->count, st->bytes, st->elapsed);
	if (st->elapsed > 0)
		printf("ring_consumer: rate %.2f million messages/s, %.1f MB/s of payload\n",
		       (double)st->count / st->elapsed / 1e6,
		       (double)st->bytes / st->elapsed / 1e6);
}

int main(int argc, char **argv)
{
	const char *name = DEMO_NAME;
	int64_t timeout_ns = (int64_t)(DEMO_TIMEOUT_S * 1e9);
	uint64_t capacity = DEMO_CAPACITY, expect = 0;
	struct membridge_segment *seg = NULL;
	struct membridge_spsc *ring = NULL;
	struct stream st = { 0 };
	int opt, ret, removed, have_expect = 0;

	while ((opt = getopt(argc, argv, "n:s:t:h")) != -1) {
		switch (opt) {
		case 'n':
			have_expect = 1;
			ret = demo_parse_u64(optarg, 0, &expect);
			break;
		case 's':
			ret = demo_parse_u64(optarg, 1, &capacity);
			/* Powers of two only; big enough for the largest message. */
			if (ret == 0 && (capacity < 2 * DEMO_MAX_MESSAGE ||
					 (capacity & (capacity - 1)) ||
					 capacity > SIZE_MAX - MEMBRIDGE_SPSC_HEADER))
				ret = -EINVAL;
			break;
		case 't':
			ret = demo_parse_seconds(optarg, &timeout_ns);
			break;
		default:
			usage();
			return opt == 'h' ? EXIT_SUCCESS : EXIT_FAILURE;
		}
		if (ret < 0) {
			fprintf(stderr, "ring_consumer: bad value '%s' for -%c\n", optarg, opt);
			usage();
			return EXIT_FAILURE;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		usage();
		return EXIT_FAILURE;
	}
	catch_signals();

	/*
	 * We create the ring, so we can be started before the producer, which
	 * retries until the ring is there. Exclusive: if the name is taken
	 * (say by a run that was killed), say so rather than share it.
	 */
	ret = membridge_segment_create(name, (size_t)capacity + MEMBRIDGE_SPSC_HEADER, 0,
				       MEMBRIDGE_CREATE_EXCLUSIVE, &seg);
	if (ret == -EEXIST) {
		fprintf(stderr, "ring_consumer: %s already exists; if no demo is using it, remove"
			" it with: rm /dev/shm%s /dev/shm%s.membridge-wait\n", name, name, name);
		return EXIT_FAILURE;
	}
	if (ret < 0) {
		fprintf(stderr, "ring_consumer: cannot create %s: %s\n", name,
			membridge_strerror(ret));
		return EXIT_FAILURE;
	}
	/* As the creator, our first open writes the ring header; until then a
	 * producer's membridge_spsc_open() gets -EAGAIN and tries again. */
	ret = membridge_spsc_open(seg, &ring);
	if (ret < 0) {
		fprintf(stderr, "ring_consumer: cannot open ring %s: %s\n", name,
			membridge_strerror(ret));
		goto out;
	}
	printf("ring_consumer: waiting for messages on %s (capacity %zu bytes)\n", name,
	       membridge_spsc_capacity(ring));
	fflush(stdout);

	ret = receive(ring, timeout_ns, &st);
	if (ret < 0)
		goto out;
	if (have_expect && st.count != expect) {
		fprintf(stderr, "ring_consumer: expected %" PRIu64 " messages, got %" PRIu64 "\n",
			expect, st.count);
		ret = -EBADMSG;
		goto out;
	}
	report(&st);
out:
	membridge_spsc_close(ring);
	membridge_segment_close(seg);
	/* We created it, so we remove it (and its wait companion), even when
	 * something went wrong. */
	removed = membridge_segment_remove(name);
	if (removed < 0) {
		fprintf(stderr, "ring_consumer: cannot remove %s: %s\n", name,
			membridge_strerror(removed));
		ret = removed;
	}
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
