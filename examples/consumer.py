#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two-process MappedView demo, reader side (run producer.py too).

usage: consumer.py [--timeout SECONDS] [--keep] [NAME]   (default /mb-py-demo)

Waits up to SECONDS (default 10) for producer.py's segment and records,
prints them and removes the segment (unless --keep). Either program may be
started first.
"""
import argparse
import struct
import sys
import time

import membridge

COUNT_OFFSET = 0
FIRST_RECORD = 8
RECORD = [("str", 1), ("int", 1), ("float", 1), ("bool", 1)]


def open_when_ready(name, deadline):
    """Open `name` once it exists; None if the deadline passes first."""
    while True:
        try:
            return membridge.SharedMemory.open(name)
        except (FileNotFoundError, BlockingIOError):
            # Not created yet, or created but not sized yet.
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", default="/mb-py-demo")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--keep", action="store_true", help="do not remove the segment")
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout

    mem = open_when_ready(args.name, deadline)
    if mem is None:
        sys.exit("consumer: no segment %s after %g s (is producer.py running?)"
                 % (args.name, args.timeout))
    with mem, mem.map() as view:
        # The count is written last; look at it without taking the lock
        # (through the buffer protocol) until the producer has finished.
        with memoryview(view) as data:
            while struct.unpack_from("=q", data, COUNT_OFFSET)[0] == 0:
                if time.monotonic() >= deadline:
                    sys.exit("consumer: no records in %s after %g s" % (args.name, args.timeout))
                time.sleep(0.02)
        with view.read_locked(timeout=5):
            view.seek(COUNT_OFFSET)
            count = view.read("int")
            view.seek(FIRST_RECORD)
            for i in range(count):
                name, ident, reading, ok = view.read_mixed(RECORD)
                print("consumer: record %d: name=%s id=%d reading=%g ok=%s"
                      % (i + 1, name, ident, reading, ok))
    print("consumer: read %d records from %s" % (count, args.name))
    if not args.keep:
        membridge.SharedMemory.remove(args.name)
        print("consumer: removed %s" % args.name)


if __name__ == "__main__":
    main()
