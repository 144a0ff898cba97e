#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two-process ring demo, consumer side (run spsc_producer.py too).

usage: spsc_consumer.py [-t SECONDS] [NAME]   (default /mb-py-spsc)

Waits up to SECONDS (default 10) for spsc_producer.py's ring and then for
each message, checks that "msg-0", "msg-1", ... arrive in order, stops at
"__EOF__", prints a summary and removes the ring. Either program may be
started first.
"""
import argparse
import sys
import time

import membridge


def open_ring(name, deadline):
    """Wait for the producer to create and initialise the ring."""
    while True:
        try:
            mem = membridge.SharedMemory.open(name)
        except (FileNotFoundError, BlockingIOError):
            mem = None  # not there yet, or not sized yet
        if mem is not None:
            try:
                return mem, mem.spsc()
            except (BlockingIOError, membridge.CorruptSegmentError):
                mem.close()  # header not written yet
                if time.monotonic() >= deadline:
                    raise
        if time.monotonic() >= deadline:
            return None, None
        time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", default="/mb-py-spsc")
    ap.add_argument("-t", "--timeout", type=float, default=10.0)
    args = ap.parse_args()

    mem, ring = open_ring(args.name, time.monotonic() + args.timeout)
    if ring is None:
        sys.exit("spsc_consumer: no ring %s after %g s (is spsc_producer.py running?)"
                 % (args.name, args.timeout))
    count = 0
    start = None
    try:
        with mem, ring:
            while True:
                msg = ring.pop("str", timeout=args.timeout)
                if msg is None:
                    sys.exit("spsc_consumer: no message for %g s after %d messages"
                             % (args.timeout, count))
                if start is None:
                    start = time.monotonic()
                if msg == "__EOF__":
                    break
                if msg != "msg-%d" % count:
                    sys.exit("spsc_consumer: got %r, expected %r" % (msg, "msg-%d" % count))
                if count < 3:
                    print("spsc_consumer: %s" % msg)
                count += 1
    finally:
        membridge.SharedMemory.remove(args.name)
    elapsed = time.monotonic() - start
    print("spsc_consumer: received %d messages in order, then __EOF__" % count)
    if elapsed > 0:
        print("spsc_consumer: %.0f messages/s" % (count / elapsed))


if __name__ == "__main__":
    main()
