/* SPDX-License-Identifier: MIT */
/* The monotonic clock in nanoseconds: one definition for the POSIX build of
 * the library and for the tools, tests and benchmarks of this tree. */
#ifndef MB_CLOCK_H
#define MB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline int64_t mb_clock_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* MB_CLOCK_H */
