#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One process publishes video frames; two subscriber processes take them.

usage: frame_pipeline.py [-n FRAMES] [NAME]

The publisher sends FRAMES 1920x1080x3 uint8 frames (numpy) through channel
NAME with publish_array; a blocking subscriber and an asyncio subscriber
each receive every frame as an array that is a view of the segment
(receive_array: no copy), check its number (pixel 0 holds it) and report.

Needs Publisher.publish_array and Subscriber.receive_array (not in this
build yet): until then it says so and exits 77.
"""
import argparse
import asyncio
import math
import multiprocessing
import os
import sys

import membridge

SHAPE = (1080, 1920, 3)


def blocking_subscriber(name, frames, ready):
    with membridge.SharedMemory.open(name) as shm, shm.subscriber() as sub:
        ready.set()
        for i in range(frames):
            frame = sub.receive_array(timeout=math.inf)
            assert frame.shape == SHAPE and frame[0, 0, 0] == i % 256
            del frame  # lets the publisher reuse the space
    print("frame_pipeline: blocking subscriber got %d frames" % frames)


async def receive_frames(sub, frames):
    """receive_array() without waiting; when nothing is there, the loop
    waits on the subscriber's descriptor (add_reader), then tries again."""
    loop = asyncio.get_running_loop()
    fd = sub.fileno()
    for i in range(frames):
        frame = sub.receive_array()
        while frame is None:
            ready = loop.create_future()
            loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_reader(fd)
            frame = sub.receive_array()
        assert frame.shape == SHAPE and frame[0, 0, 0] == i % 256
        del frame


def asyncio_subscriber(name, frames, ready):
    with membridge.SharedMemory.open(name) as shm, shm.subscriber() as sub:
        ready.set()
        asyncio.run(receive_frames(sub, frames))
    print("frame_pipeline: asyncio subscriber got %d frames" % frames)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--frames", type=int, default=100)
    ap.add_argument("name", nargs="?", default="/membridge-example-frames-%d" % os.getpid())
    args = ap.parse_args()
    if not hasattr(membridge.Publisher, "publish_array"):
        print("frame_pipeline: this membridge has no publish_array yet", file=sys.stderr)
        return 77
    import numpy
    frame_bytes = SHAPE[0] * SHAPE[1] * SHAPE[2]
    with membridge.SharedMemory.create_channel(args.name, frame_bytes + 4096) as shm, \
            shm.publisher() as pub:
        readies = [multiprocessing.Event(), multiprocessing.Event()]
        subs = [multiprocessing.Process(target=fn, args=(args.name, args.frames, ev))
                for fn, ev in zip((blocking_subscriber, asyncio_subscriber), readies)]
        for p in subs:
            p.start()
        for ev in readies:
            ev.wait(60)
        frame = numpy.zeros(SHAPE, numpy.uint8)
        for i in range(args.frames):
            frame[0, 0, 0] = i % 256
            pub.publish_array(frame, timeout=math.inf)
        for p in subs:
            p.join()
    membridge.SharedMemory.remove(args.name)
    print("frame_pipeline: published %d frames of %s" % (args.frames, "x".join(map(str, SHAPE))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
