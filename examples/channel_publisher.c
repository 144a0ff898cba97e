/* SPDX-License-Identifier: MIT */
/*
 * Example: create a channel, wait for its subscribers, then publish numbered
 * messages written in place, and an empty message that ends the stream.
 * Runs with channel_subscriber.c; build it on its own with
 *   cc channel_publisher.c $(pkg-config --cflags --libs membridge)
 */
#define _POSIX_C_SOURCE 200809L /* poll, nanosleep, getopt under -std=c11 */

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <membridge.h>

#define SECOND INT64_C(1000000000)
/* How long we wait for the subscribers to join, and for each loan. */
#define PATIENCE (30 * SECOND)
/* The longest message: "message " and up to 20 digits. */
#define MAX_TEXT 32
/* Subscriber slots in the channel. */
#define SLOTS 4

static void usage(void)
{
	fprintf(stderr,
		"usage: channel_publisher NAME [-n COUNT] [-s SUBSCRIBERS]\n"
		"  Create the channel NAME, wait until SUBSCRIBERS subscribers (default 1)\n"
		"  have joined, publish COUNT messages (default 1000) \"message 0\",\n"
		"  \"message 1\", ... and an empty end marker, remove NAME.\n");
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

/* Wait until `want` subscribers are active: messages published before a
 * subscriber joins are not for it. */
static int wait_for_subscribers(struct membridge_publisher *pub, unsigned want)
{
	struct membridge_subscriber_info info[SLOTS];
	struct timespec pause = { 0, 5000000 }; /* 5 ms */
	int64_t waited;
	int n, i, active;

	for (waited = 0; waited < PATIENCE; waited += pause.tv_nsec) {
		n = membridge_publisher_subscribers(pub, info, SLOTS);
		if (n < 0)
			return n;
		for (i = active = 0; i < n && i < SLOTS; i++)
			active += info[i].active;
		if ((unsigned)active >= want)
			return 0;
		nanosleep(&pause, NULL);
	}
	return -ETIMEDOUT;
}

/* Publish message i, written straight into the channel. */
static int publish_one(struct membridge_publisher *pub, uint64_t i)
{
	void *data;
	int len, ret;

	/* Loan room for the longest message, write it, then shorten the loan
	 * to what was written. The loan waits while the subscribers still
	 * hold the space it needs. */
	ret = membridge_publisher_loan(pub, MAX_TEXT, &data, PATIENCE);
	if (ret < 0)
		return ret;
	len = snprintf(data, MAX_TEXT, "message %" PRIu64, i);
	ret = membridge_publisher_shrink(pub, (size_t)len);
	if (ret < 0)
		return ret;
	/* One store makes it visible to every subscriber. */
	ret = membridge_publisher_publish(pub);
	return ret < 0 ? ret : 0;
}

int main(int argc, char **argv)
{
	struct membridge_channel_config cfg = {
		.data_size = 64 * 1024,  /* room for 1024 records of 64 bytes */
		.max_message = MAX_TEXT,
		.subscribers = SLOTS,
		.flags = 0,
	};
	struct membridge_publisher *pub = NULL;
	struct membridge_segment *seg = NULL;
	uint64_t count = 1000, i, want = 1;
	const char *name;
	void *end;
	int opt, ret;

	if (argc < 2 || argv[1][0] != '/') {
		usage();
		return EXIT_FAILURE;
	}
	name = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "n:s:")) != -1) {
		if ((opt == 'n' && parse_count(optarg, &count) == 0) ||
		    (opt == 's' && parse_count(optarg, &want) == 0 && want >= 1 &&
		     want <= cfg.subscribers))
			continue;
		usage();
		return EXIT_FAILURE;
	}
	if (optind != argc) {
		usage();
		return EXIT_FAILURE;
	}

	/* The segment has exactly the size the shape needs; init writes the
	 * header, after which subscribers can open the channel. */
	ret = membridge_segment_create(name, membridge_channel_segment_size(&cfg),
				       MEMBRIDGE_MODE_DEFAULT, MEMBRIDGE_CREATE_EXCLUSIVE, &seg);
	if (ret < 0) {
		fprintf(stderr, "channel_publisher: create %s: %s%s\n", name,
			membridge_strerror(ret),
			ret == -EEXIST ? " (remove it with: membridge rm NAME)" : "");
		return EXIT_FAILURE;
	}
	ret = membridge_channel_init(seg, &cfg);
	if (ret == 0)
		ret = membridge_publisher_open(seg, &pub);
	if (ret < 0) {
		fprintf(stderr, "channel_publisher: %s: %s\n", name, membridge_strerror(ret));
		goto out;
	}

	ret = wait_for_subscribers(pub, (unsigned)want);
	if (ret < 0) {
		fprintf(stderr, "channel_publisher: waiting for %" PRIu64 " subscribers: %s\n",
			want, membridge_strerror(ret));
		goto out;
	}
	printf("channel_publisher: %s: subscribers joined: %" PRIu64 "\n", name, want);

	for (i = 0; i < count; i++) {
		ret = publish_one(pub, i);
		if (ret < 0) {
			fprintf(stderr, "channel_publisher: message %" PRIu64 ": %s\n", i,
				membridge_strerror(ret));
			goto out;
		}
	}
	/* The end marker: an empty message. */
	ret = membridge_publisher_loan(pub, 0, &end, PATIENCE);
	if (ret == 0)
		ret = membridge_publisher_publish(pub);
	if (ret < 0) {
		fprintf(stderr, "channel_publisher: end marker: %s\n", membridge_strerror(ret));
		goto out;
	}
	printf("channel_publisher: published %" PRIu64 " messages and the end marker\n", count);
	ret = 0;
out:
	/* Subscribers keep the segment mapped: they read the rest after we
	 * remove the name. */
	membridge_publisher_close(pub);
	membridge_segment_close(seg);
	membridge_segment_remove(name);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
