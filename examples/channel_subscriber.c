/* SPDX-License-Identifier: MIT */
/*
 * Example: subscribe to the channel channel_publisher creates, wait on the
 * subscriber's descriptor with poll(2) (where there are none, as on
 * Windows, in the blocking receive instead), and check that every message
 * comes, in place and in order, up to the empty end marker. Build it on its own with
 *   cc channel_subscriber.c $(pkg-config --cflags --libs membridge)
 */
#define _POSIX_C_SOURCE 200809L /* poll, nanosleep, getopt under -std=c11 */

#include <errno.h>
#include <inttypes.h>
#ifndef _WIN32
#include <poll.h>
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <membridge.h>

#define SECOND INT64_C(1000000000)
/* How long we wait for the channel to appear, and for each message. */
#define PATIENCE_S 30
/* Messages taken per call. */
#define BATCH 64
/* How many of the first messages to print. */
#define SHOW 3

static void usage(void)
{
	fprintf(stderr,
		"usage: channel_subscriber NAME [-n COUNT]\n"
		"  Subscribe to the channel NAME (waiting for channel_publisher to create\n"
		"  it), check that \"message 0\", \"message 1\", ... arrive in order until\n"
		"  the end marker; with -n, that exactly COUNT of them came.\n");
}

/*
 * The publisher creates the segment and then writes the channel's header,
 * and we may start first: retry while the segment does not exist (-ENOENT),
 * is not sized yet (-EAGAIN from the open) or holds no channel yet (-EAGAIN
 * from membridge_subscriber_open()).
 */
static int subscribe(const char *name, struct membridge_segment **segp,
		     struct membridge_subscriber **subp)
{
	struct timespec pause = { 0, 5000000 }; /* 5 ms */
	struct membridge_segment *seg = NULL;
	int64_t waited;
	int ret = -ETIMEDOUT;

	for (waited = 0; waited < PATIENCE_S * SECOND; waited += pause.tv_nsec) {
		if (!seg)
			ret = membridge_segment_open(name, 0, &seg);
		if (seg)
			ret = membridge_subscriber_open(seg, MEMBRIDGE_SUBSCRIBE_NEWEST, subp);
		if (ret != -ENOENT && ret != -EAGAIN)
			break;
		nanosleep(&pause, NULL);
	}
	if (ret < 0) {
		membridge_segment_close(seg);
		return ret;
	}
	*segp = seg;
	return 0;
}

/* Check one message: "message <n>" with sequence number n. */
static int check(const struct membridge_message *msg, uint64_t n)
{
	char want[32];
	int len = snprintf(want, sizeof(want), "message %" PRIu64, n);

	if (msg->seq == n && msg->len == (size_t)len && memcmp(msg->data, want, msg->len) == 0)
		return 0;
	fprintf(stderr, "channel_subscriber: message %" PRIu64 " is \"%.*s\" (seq %" PRIu64
		"), expected \"%s\"\n", n, (int)msg->len, (const char *)msg->data, msg->seq, want);
	return -EBADMSG;
}

/* Receive and check messages until the end marker, counting them in *n;
 * print the first few, and copy the newest into last[]. */
static int receive_all(struct membridge_subscriber *sub, uint64_t *n, char last[32])
{
	struct membridge_message msgs[BATCH];
	int64_t wait = MEMBRIDGE_NO_WAIT;
	int got, i, ret;
#ifdef _WIN32
	wait = PATIENCE_S * SECOND; /* no descriptors here: block in receive */
#else
	struct pollfd pfd = { .events = POLLIN };

	pfd.fd = membridge_subscriber_fd(sub);
	if (pfd.fd == -ENOTSUP)
		wait = PATIENCE_S * SECOND; /* no descriptors here: block in receive */
	else if (pfd.fd < 0)
		return pfd.fd;
#endif
	for (;;) {
		/* Edge style: take what there is until -EAGAIN, then poll. The
		 * descriptor becomes readable when a message comes after that
		 * -EAGAIN; a wake-up may also find nothing new. */
		got = membridge_subscriber_receive_batch(sub, msgs, BATCH, wait);
#ifndef _WIN32
		if (got == -EAGAIN && wait == MEMBRIDGE_NO_WAIT) {
			ret = poll(&pfd, 1, PATIENCE_S * 1000);
			if (ret == 0)
				return -ETIMEDOUT;
			if (ret < 0 && errno != EINTR)
				return -errno;
			continue;
		}
#endif
		if (got < 0)
			return got;
		for (i = 0; i < got && msgs[i].len > 0; i++) {
			ret = check(&msgs[i], *n);
			if (ret < 0)
				return ret;
			/* The payload is read in place, in the segment. */
			if (*n < SHOW)
				printf("  %.*s\n", (int)msgs[i].len, (const char *)msgs[i].data);
			memcpy(last, msgs[i].data, msgs[i].len); /* check() bounds len */
			last[msgs[i].len] = '\0';
			(*n)++;
		}
		/* Give the space back: the publisher waits for it once the
		 * channel is full. The pointers are invalid from here on. */
		ret = membridge_subscriber_release(sub);
		if (ret < 0)
			return ret;
		if (i < got)
			return 0; /* the end marker */
	}
}

int main(int argc, char **argv)
{
	struct membridge_subscriber *sub = NULL;
	struct membridge_segment *seg = NULL;
	uint64_t want = 0, count = 0;
	char last[32] = "";
	int expect = 0, opt, ret;
	const char *name;
	char *end;

	if (argc < 2 || argv[1][0] != '/') {
		usage();
		return EXIT_FAILURE;
	}
	name = argv[1];
	optind = 2;
	while ((opt = getopt(argc, argv, "n:")) != -1) {
		errno = 0;
		if (opt == 'n' && optarg[0] >= '0' && optarg[0] <= '9') {
			want = strtoull(optarg, &end, 10);
			if (!errno && !*end) {
				expect = 1;
				continue;
			}
		}
		usage();
		return EXIT_FAILURE;
	}
	if (optind != argc) {
		usage();
		return EXIT_FAILURE;
	}

	ret = subscribe(name, &seg, &sub);
	if (ret < 0) {
		fprintf(stderr, "channel_subscriber: cannot subscribe to %s: %s%s\n", name,
			membridge_strerror(ret),
			ret == -ETIMEDOUT ? " (is channel_publisher running?)" : "");
		return EXIT_FAILURE;
	}
	printf("channel_subscriber: joined %s in slot %u\n", name, membridge_subscriber_slot(sub));
	fflush(stdout);

	ret = receive_all(sub, &count, last);
	if (ret == 0 && expect && count != want) {
		fprintf(stderr, "channel_subscriber: %" PRIu64 " messages came, not %" PRIu64 "\n",
			count, want);
		ret = -EBADMSG;
	}
	if (ret < 0)
		fprintf(stderr, "channel_subscriber: after %" PRIu64 " messages: %s\n", count,
			membridge_strerror(ret));
	else if (count > SHOW)
		printf("  ...\n  %s\n", last);
	if (ret == 0)
		printf("channel_subscriber: received %" PRIu64 " messages in order, then the end"
		       " marker\n", count);
	membridge_subscriber_close(sub);
	membridge_segment_close(seg);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
