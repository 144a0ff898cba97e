#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python twin of ring_producer.c: feed the C ring_consumer.

usage: ring_producer.py [-n COUNT] [-t SECONDS] [NAME]   (default /mb-ring-demo)

Opens the ring that `ring_consumer [-n COUNT] NAME` creates (waiting up to
SECONDS for it), sends ring_demo.h's COUNT numbered raw messages in batches
and the end marker.
"""
import argparse
import sys
import time

import membridge

END = b"end-of-stream:"


def demo_message(i):
    """Message i of ring_demo.h: "msg-<i>-" and i % 41 letters."""
    return b"msg-%d-" % i + bytes(ord("a") + (i + k) % 26 for k in range(i % 41))


def open_ring(name, deadline):
    while True:
        try:
            mem = membridge.SharedMemory.open(name)
            try:
                return mem, mem.spsc()
            except Exception:
                mem.close()
                raise
        except (FileNotFoundError, BlockingIOError, membridge.CorruptSegmentError):
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", default="/mb-ring-demo")
    ap.add_argument("-n", "--count", type=int, default=100000)
    ap.add_argument("-t", "--timeout", type=float, default=10.0)
    args = ap.parse_args()

    try:
        mem, ring = open_ring(args.name, time.monotonic() + args.timeout)
    except FileNotFoundError:
        sys.exit("ring_producer.py: no ring %s (is ring_consumer running?)" % args.name)
    with mem, ring:
        i = 0
        while i < args.count:
            batch = [demo_message(k) for k in range(i, min(i + 256, args.count))]
            pushed = ring.push_many(batch)
            if pushed == 0:
                # Full: wait for room for the next one, then batch again.
                if not ring.push(batch[0], timeout=args.timeout):
                    sys.exit("ring_producer.py: ring full for %g s" % args.timeout)
                pushed = 1
            i += pushed
        if not ring.push(END + b"%d" % args.count, timeout=args.timeout):
            sys.exit("ring_producer.py: no room for the end marker")
    print("ring_producer.py: sent %d messages and the end marker through %s"
          % (args.count, args.name))


if __name__ == "__main__":
    main()
