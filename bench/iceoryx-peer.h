/* SPDX-License-Identifier: MIT */
/* iceoryx's C binding as a peer of the channel benchmarks (built when configure finds it). */
#ifndef MEMBRIDGE_BENCH_ICEORYX_PEER_H
#define MEMBRIDGE_BENCH_ICEORYX_PEER_H

#include <stddef.h>
#include <stdint.h>

/*
 * The parent starts a RouDi daemon of its own (iox-roudi, with memory pools
 * for 16 B and 1 MiB payloads), forks the processes that take part, and
 * stops the daemon at the end. Each of those processes joins it once,
 * opens publishers and subscribers of services named by a string, and
 * leaves it before it exits. Publishers wait for slow subscribers (their
 * queue blocks the producer) instead of dropping messages; every call
 * busy-polls. A failure ends the calling process with bench_die().
 */

/* Largest payload the daemon's pools hold. */
#define BENCH_IOX_MAX_PAYLOAD ((size_t)1 << 20)

/* Start the daemon: 0, or -1 with the reason in why[0..size). */
int bench_iox_start(char *why, size_t size);
void bench_iox_stop(void);

/* In a forked child: join the daemon as this process, and leave it. */
void bench_iox_join(void);
void bench_iox_leave(void);

struct bench_iox_pub;
struct bench_iox_sub;

/* A publisher of `service`, connected to a subscriber when this returns. */
struct bench_iox_pub *bench_iox_pub_open(const char *service);
void bench_iox_pub_close(struct bench_iox_pub *pub);
/* Loan len bytes, spinning while every chunk is in use. */
void *bench_iox_loan(struct bench_iox_pub *pub, size_t len);
void bench_iox_publish(struct bench_iox_pub *pub, void *payload);

/* A subscriber of `service` holding up to `queue` messages, connected to
 * its publisher when this returns. */
struct bench_iox_sub *bench_iox_sub_open(const char *service, unsigned queue);
void bench_iox_sub_close(struct bench_iox_sub *sub);
/* The next message, spinning until one comes. */
const void *bench_iox_take(struct bench_iox_sub *sub);
void bench_iox_release(struct bench_iox_sub *sub, const void *payload);

#endif /* MEMBRIDGE_BENCH_ICEORYX_PEER_H */
