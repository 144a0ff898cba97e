#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Two-process MappedView demo, writer side (run consumer.py too).

usage: producer.py [--replace] [NAME]   (default /mb-py-demo)

Creates the segment NAME, writes a few records under the write lock and
exits; the segment stays until consumer.py reads it and removes it. The
record count at offset 0 is written last, so a reader that sees a non-zero
count knows that every record is complete.
"""
import argparse

import membridge

RECORDS = [("boiler", 101, 78.25, True), ("pump", 102, 3.5, True), ("valve", 103, -1.0, False)]
COUNT_OFFSET = 0   # int64: number of records, 0 while they are being written
FIRST_RECORD = 8


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", nargs="?", default="/mb-py-demo")
    ap.add_argument("--replace", action="store_true",
                    help="replace a segment left behind by an earlier run")
    args = ap.parse_args()

    try:
        mem = membridge.SharedMemory.create(args.name, 4096, replace=args.replace)
    except FileExistsError as e:
        raise SystemExit("producer: %s" % e)
    with mem, mem.map() as view:
        with view.write_locked(timeout=5):
            view.seek(FIRST_RECORD)
            for name, ident, reading, ok in RECORDS:
                view.write_mixed([name, ident, reading, ok])
            view.write(len(RECORDS), offset=COUNT_OFFSET)
    print("producer: wrote %d records to %s" % (len(RECORDS), args.name))


if __name__ == "__main__":
    main()
