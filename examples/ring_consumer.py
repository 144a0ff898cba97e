#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python twin of ring_consumer.c: receive the C ring_producer's stream.

usage: ring_consumer.py [-n COUNT] [-t SECONDS] [NAME]   (default /mb-ring-demo)

Creates the ring NAME (1 MiB + 24 bytes), then pops raw messages until the
end marker "end-of-stream:<count>", checking that each is exactly the one
ring_demo.h's demo_message() makes, and removes the ring. Start it before
or after `ring_producer [-n COUNT] NAME`: the producer waits for the ring.
"""
import argparse
import sys
import time

import membridge

CAPACITY = 1024 * 1024
END = b"end-of-stream:"


def demo_message(i):
    """Message i of ring_demo.h: "msg-<i>-" and i % 41 letters."""
    return b"msg-%d-" % i + bytes(ord("a") + (i + k) % 26 for k in range(i % 41))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", default="/mb-ring-demo")
    ap.add_argument("-n", "--count", type=int, default=None,
                    help="fail unless exactly COUNT messages arrive")
    ap.add_argument("-t", "--timeout", type=float, default=10.0)
    args = ap.parse_args()

    try:
        mem = membridge.SharedMemory.create(args.name, CAPACITY + 24)
    except FileExistsError as e:
        sys.exit("ring_consumer.py: %s" % e)
    n = 0
    try:
        with mem, mem.spsc() as ring:
            print("ring_consumer.py: waiting for messages on %s (capacity %d bytes)"
                  % (args.name, ring.capacity()), flush=True)
            start = None
            while True:
                msg = ring.pop(timeout=args.timeout)
                if msg is None:
                    sys.exit("ring_consumer.py: no message for %g s after %d"
                             % (args.timeout, n))
                if start is None:
                    start = time.monotonic()
                if msg.startswith(END):
                    sent = int(msg[len(END):])
                    break
                if msg != demo_message(n):
                    sys.exit("ring_consumer.py: message %d is %r, expected %r"
                             % (n, msg, demo_message(n)))
                if n < 3:
                    print("  message %d: %s" % (n, msg.decode()))
                n += 1
            elapsed = time.monotonic() - start
    finally:
        membridge.SharedMemory.remove(args.name)
    if sent != n or (args.count is not None and n != args.count):
        sys.exit("ring_consumer.py: the producer sent %d messages, %d arrived" % (sent, n))
    # The time includes building and checking every message in Python on
    # both sides; ring_vs_queue.py times the transport alone.
    print("ring_consumer.py: received %d messages, all in order, in %.3f s "
          "(made and checked in Python)" % (n, elapsed))


if __name__ == "__main__":
    main()
