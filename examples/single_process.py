#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A tour of membridge in one process: a view, then a ring.

usage: single_process.py [NAME]   (default /mb-py-<pid>; uses NAME-v and NAME-r)

Everything stays in this process, so it only shows the API; see
producer.py/consumer.py and spsc_producer.py/spsc_consumer.py for two
processes. The segments are removed at the end, even after an error.
"""
import os
import sys

import membridge


def view_tour(name):
    with membridge.SharedMemory.create(name, 4096) as mem, mem.map() as view:
        # Values go one after another at the view's cursor.
        view.write("hello, shared memory")
        view.write(-1234567890123)
        view.write(3.14159)
        view.write(True)
        print("view: wrote 4 values, cursor at", view.tell())

        view.seek()  # back to offset 0 of the data area
        print("view: read str   %r" % view.read("str"))
        print("view: read int   %d" % view.read("int"))
        print("view: read float %r" % view.read("float"))
        print("view: read bool  %r" % view.read("bool"))

        # A record of mixed values at an explicit offset.
        view.write_mixed([["sensor-7", "sensor-8"], [21.5, 19.0], [True, False]], offset=200)
        names, temps, ok = view.read_mixed([("str", 2), ("float", 2), ("bool", 2)], offset=200)
        print("view: record at 200: %s %s %s" % (names, temps, ok))

        # Zero-copy access to the data area.
        with memoryview(view) as mv:
            mv[1000:1005] = b"bytes"
        print("view: bytes via memoryview: %r" % view.read_range(1000, 5))


def ring_tour(name):
    with membridge.SharedMemory.create(name, 256 + 24) as mem, mem.spsc() as ring:
        print("ring: capacity %d bytes" % ring.capacity())
        ring.push("alpha")
        ring.push(b"raw bytes")
        ring.push(["temperature", 36.6, True])
        print("ring: 3 messages queued, %d bytes used" % ring.used())
        print("ring: popped %r" % ring.pop("str"))
        print("ring: popped %r" % ring.pop())
        print("ring: popped record %r" % ring.pop_mixed([("str", 1), ("float", 1), ("bool", 1)]))
        print("ring: empty again: %s" % ring.is_empty())


def main():
    # Short enough for macOS, whose names hold 16 bytes (membridge.NAME_MAX).
    base = sys.argv[1] if len(sys.argv) > 1 else "/mb-py-%d" % os.getpid()
    names = [base + "-v", base + "-r"]
    try:
        view_tour(names[0])
        ring_tour(names[1])
    finally:
        for name in names:
            try:
                membridge.SharedMemory.remove(name)
            except FileNotFoundError:
                pass
    print("single_process: all done")


if __name__ == "__main__":
    main()
