#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two-process ring demo, producer side (run spsc_consumer.py too).

usage: spsc_producer.py [-n COUNT] [-t SECONDS] [--replace] [NAME]
       (default NAME /mb-py-spsc, COUNT 100000)

Creates the ring NAME (64 KiB + 24 bytes), sends "msg-0" ... "msg-<COUNT-1>"
as str messages and then "__EOF__". A full ring makes push() wait, up to
SECONDS (default 10) per message, for spsc_consumer.py to make room; the
consumer removes the ring when it has seen "__EOF__".
"""
import argparse
import time

import membridge

CAPACITY = 64 * 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", default="/mb-py-spsc")
    ap.add_argument("-n", "--count", type=int, default=100000)
    ap.add_argument("-t", "--timeout", type=float, default=10.0)
    ap.add_argument("--replace", action="store_true",
                    help="replace a ring left behind by an earlier run")
    args = ap.parse_args()

    try:
        mem = membridge.SharedMemory.create(args.name, CAPACITY + 24, replace=args.replace)
    except FileExistsError as e:
        raise SystemExit("spsc_producer: %s" % e)
    with mem, mem.spsc() as ring:
        print("spsc_producer: sending %d messages through %s" % (args.count, args.name),
              flush=True)
        start = time.monotonic()
        for i in range(args.count):
            if not ring.push("msg-%d" % i, timeout=args.timeout):
                raise SystemExit("spsc_producer: ring still full after %g s at message %d"
                                 " (is spsc_consumer.py running?)" % (args.timeout, i))
        if not ring.push("__EOF__", timeout=args.timeout):
            raise SystemExit("spsc_producer: no room for the end marker")
        elapsed = time.monotonic() - start
    print("spsc_producer: sent %d messages and __EOF__ in %.3f s" % (args.count, elapsed))


if __name__ == "__main__":
    main()
