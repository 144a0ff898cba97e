/* SPDX-License-Identifier: MIT */
/* Example: stream numbered messages into the ring ring_consumer creates. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

#include "ring_demo.h"

static void usage(void)
{
	fprintf(stderr,
		"usage: ring_producer [-n COUNT] [-t SECONDS] [NAME]\n"
		"  Send COUNT messages (default %" PRIu64 ") and an end marker through the\n"
		"  ring NAME (default %s), waiting up to SECONDS (default %g) for\n"
		"  ring_consumer to create it and to make room.\n",
		DEMO_COUNT, DEMO_NAME, DEMO_TIMEOUT_S);
}

/*
 * The consumer creates and initialises the ring; we only open it. Either
 * side may start first, so keep trying until the deadline while the segment
 * does not exist (-ENOENT), is still being sized (-EAGAIN from open), or has
 * no ring header yet (-EAGAIN from membridge_spsc_open()).
 */
static int open_ring(const char *name, int64_t timeout_ns, struct membridge_segment **segp,
		     struct membridge_spsc **ringp)
{
	double deadline = demo_now() + (double)timeout_ns / 1e9;
	struct membridge_segment *seg = NULL;
	int ret = 0;

	for (;;) {
		if (!seg)
			ret = membridge_segment_open(name, 0, &seg);
		if (seg)
			ret = membridge_spsc_open(seg, ringp);
		if (ret != -ENOENT && ret != -EAGAIN)
			break;
		if (demo_now() >= deadline) {
			ret = -ETIMEDOUT;
			break;
		}
		demo_sleep_ms(5);
	}
	if (ret < 0) {
		membridge_segment_close(seg);
		return ret;
	}
	*segp = seg;
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = DEMO_NAME;
	int64_t timeout_ns = (int64_t)(DEMO_TIMEOUT_S * 1e9);
	uint64_t count = DEMO_COUNT, i, bytes = 0;
	struct membridge_segment *seg = NULL;
	struct membridge_spsc *ring = NULL;
	char msg[DEMO_MAX_MESSAGE];
	double start, elapsed;
	size_t len;
	int opt, ret;

	while ((opt = getopt(argc, argv, "n:t:h")) != -1) {
		switch (opt) {
		case 'n':
			if (demo_parse_u64(optarg, 0, &count) < 0) {
				fprintf(stderr, "ring_producer: bad count '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			break;
		case 't':
			if (demo_parse_seconds(optarg, &timeout_ns) < 0) {
				fprintf(stderr, "ring_producer: bad timeout '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			break;
		default:
			usage();
			return opt == 'h' ? EXIT_SUCCESS : EXIT_FAILURE;
		}
	}
	if (optind < argc)
		name = argv[optind++];
	if (optind < argc) {
		usage();
		return EXIT_FAILURE;
	}

	ret = open_ring(name, timeout_ns, &seg, &ring);
	if (ret < 0) {
		fprintf(stderr, "ring_producer: cannot open ring %s: %s%s\n", name,
			membridge_strerror(ret),
			ret == -ETIMEDOUT ? " (is ring_consumer running?)" : "");
		return EXIT_FAILURE;
	}
	printf("ring_producer: sending %" PRIu64 " messages through %s (capacity %zu bytes)\n",
	       count, name, membridge_spsc_capacity(ring));
	fflush(stdout);

	/* A blocking push waits (asleep, not spinning, once a short spin is
	 * over) until the consumer has made room, for at most timeout_ns. */
	start = demo_now();
	for (i = 0; i < count; i++) {
		len = demo_message(i, msg);
		ret = membridge_spsc_push(ring, msg, len, timeout_ns);
		if (ret < 0) {
			fprintf(stderr, "ring_producer: push of message %" PRIu64 " failed: %s\n",
				i, membridge_strerror(ret));
			goto out;
		}
		bytes += len;
	}
	len = (size_t)snprintf(msg, sizeof(msg), DEMO_END_PREFIX "%" PRIu64, count);
	ret = membridge_spsc_push(ring, msg, len, timeout_ns);
	if (ret < 0) {
		fprintf(stderr, "ring_producer: push of the end marker failed: %s\n",
			membridge_strerror(ret));
		goto out;
	}
	elapsed = demo_now() - start;
	printf("ring_producer: sent %" PRIu64 " messages (%" PRIu64 " payload bytes) and the end"
	       " marker in %.3f s\n", count, bytes, elapsed);
out:
	/* The consumer owns the segment and removes it; we only let go. */
	membridge_spsc_close(ring);
	membridge_segment_close(seg);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
