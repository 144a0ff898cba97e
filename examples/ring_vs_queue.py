#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The same stream of str messages from one process to another, through a
membridge ring and through multiprocessing.Queue, timed side by side.

usage: ring_vs_queue.py [-n COUNT]

Both transports carry the same COUNT messages "msg-0", "msg-1", ... built
before the clock starts, so only the transport is timed: from the moment
both processes are ready to the consumer's last message. The consumer
checks every message. A demo, not a benchmark (bench/python_rate.py is one):
one run, no CPU pinning.
"""
import argparse
import multiprocessing as mp
import os
import time

import membridge

RING_BYTES = (1 << 20) + 24  # 1 MiB of data after the 24-byte ring header


def ring_producer(name, msgs, ready):
    ring = membridge.SharedMemory.open(name).spsc()
    ready.wait()
    for m in msgs:
        while not ring.push(m):  # full: the consumer is behind, retry
            pass


def ring_consumer(name, count, ready, result):
    ring = membridge.SharedMemory.open(name).spsc()
    ready.wait()
    start = time.perf_counter()
    for i in range(count):
        m = ring.pop("str")
        while m is None:  # empty: the producer is behind, retry
            m = ring.pop("str")
        if m != "msg-%d" % i:
            raise SystemExit("ring: message %d is %r" % (i, m))
    result.put(time.perf_counter() - start)


def queue_producer(q, msgs, ready):
    ready.wait()
    for m in msgs:
        q.put(m)


def queue_consumer(q, count, ready, result):
    ready.wait()
    start = time.perf_counter()
    for i in range(count):
        m = q.get()
        if m != "msg-%d" % i:
            raise SystemExit("queue: message %d is %r" % (i, m))
    result.put(time.perf_counter() - start)


def run(ctx, producer, consumer, endpoint, msgs):
    """Seconds the consumer took to receive msgs from the producer process."""
    ready = ctx.Barrier(2)
    result = ctx.Queue()
    procs = [ctx.Process(target=producer, args=(endpoint, msgs, ready)),
             ctx.Process(target=consumer, args=(endpoint, len(msgs), ready, result))]
    for p in procs:
        p.start()
    seconds = result.get(timeout=600)
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit("a %s process failed" % producer.__name__.split("_")[0])
    return seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=200000)
    count = ap.parse_args().count
    ctx = mp.get_context("fork")
    msgs = ["msg-%d" % i for i in range(count)]

    name = "/mbqueue%d" % os.getpid()
    mem = membridge.SharedMemory.create(name, RING_BYTES)
    try:
        mem.spsc()  # the creator writes the ring header before the others open it
        ring_s = run(ctx, ring_producer, ring_consumer, name, msgs)
    finally:
        membridge.SharedMemory.remove(name)
    queue_s = run(ctx, queue_producer, queue_consumer, ctx.Queue(), msgs)

    print("%d str messages from one process to another, every one checked:" % count)
    print("  membridge ring          %6.2f M msg/s" % (count / ring_s / 1e6))
    print("  multiprocessing.Queue   %6.2f M msg/s" % (count / queue_s / 1e6))
    print("  membridge / Queue       %6.1fx" % (queue_s / ring_s))


if __name__ == "__main__":
    main()
