/* SPDX-License-Identifier: MIT */
/* What ring_producer.c and ring_consumer.c agree on: names, messages, options. */
#ifndef RING_DEMO_H
#define RING_DEMO_H

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEMO_NAME "/mb-ring-demo"
#define DEMO_COUNT UINT64_C(1000000)
#define DEMO_CAPACITY (1024 * 1024) /* ring data bytes; the segment has 24 more */
#define DEMO_TIMEOUT_S 10.0         /* how long either side waits for the other */

/* Large enough for any message below. */
#define DEMO_MAX_MESSAGE 128

/* The last message: this prefix, then the number of messages sent, in
 * decimal. Data messages start with "msg-", so the two cannot be confused. */
#define DEMO_END_PREFIX "end-of-stream:"

/* Message i is "msg-<i>-" followed by i % 41 letters, so lengths vary from 6
 * to 65 bytes and frames land at every alignment in the ring. Formatted by
 * hand: snprintf() would cost more than the ring itself. */
static inline size_t demo_message(uint64_t i, char buf[DEMO_MAX_MESSAGE])
{
	char digits[20];
	size_t n = 0, len, k;
	uint64_t v = i;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(buf, "msg-", 4);
	len = 4;
	while (n)
		buf[len++] = digits[--n];
	buf[len++] = '-';
	for (k = 0; k < i % 41; k++)
		buf[len++] = (char)('a' + (i + k) % 26);
	return len;
}

/* Parse a whole decimal number, with an optional K or M suffix (x1024,
 * x1048576) if `suffix` is set; -EINVAL if it is not one. */
static inline int demo_parse_u64(const char *s, int suffix, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t scale = 1;

	errno = 0;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	if (suffix && (*end == 'k' || *end == 'K'))
		scale = 1024;
	else if (suffix && (*end == 'm' || *end == 'M'))
		scale = 1024 * 1024;
	if (scale != 1)
		end++;
	if (*end || v > UINT64_MAX / scale)
		return -EINVAL;
	*out = (uint64_t)v * scale;
	return 0;
}

/* Parse seconds (fractions allowed) into nanoseconds. */
static inline int demo_parse_seconds(const char *s, int64_t *ns)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= 0 && v <= 1e9))
		return -EINVAL;
	*ns = (int64_t)(v * 1e9);
	return 0;
}

static inline double demo_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline void demo_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

#endif /* RING_DEMO_H */
