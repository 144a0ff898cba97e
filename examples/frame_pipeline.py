#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One process publishes video frames; two subscriber processes take them.

usage: frame_pipeline.py [-n FRAMES] [NAME]

The publisher sends FRAMES 1920x1080x3 uint8 frames (numpy) through channel
NAME with publish_array. A blocking subscriber (receive_array) and an
asyncio subscriber (`async for` over the subscriber, Message.array()) each
see every frame as an array in the segment, no copy, and check every pixel
of it: frame i holds (pixel index + i) % 256.
"""
import argparse
import asyncio
import math
import multiprocessing
import os
import sys

import numpy as np

import membridge

SHAPE = (1080, 1920, 3)
# (pixel index) % 256, the pattern of frame 0; frame i adds i.
BASE = (np.arange(np.prod(SHAPE)) % 256).astype(np.uint8).reshape(SHAPE)


def frame_is(frame, i):
    return frame.shape == SHAPE and np.array_equal(frame - np.uint8(i % 256), BASE)


def blocking_subscriber(name, frames, ready):
    with membridge.SharedMemory.open(name) as shm, shm.subscriber() as sub:
        ready.set()
        for i in range(frames):
            frame = sub.receive_array(timeout=math.inf)  # a view of the segment
            ok = frame_is(frame, i)
            del frame  # its message goes back to the publisher
            if not ok:
                sys.exit("frame_pipeline: blocking subscriber: frame %d is wrong" % i)
    print("frame_pipeline: blocking subscriber checked %d frames" % frames)


async def receive_frames(sub, frames):
    """Waits on the subscriber's descriptor in the event loop, no thread."""
    i = 0
    async for msg in sub:
        frame = msg.array()  # a view of the segment: holds msg while it lives
        ok = frame_is(frame, i)
        del frame
        msg.release()
        if not ok:
            sys.exit("frame_pipeline: asyncio subscriber: frame %d is wrong" % i)
        i += 1
        if i == frames:
            break


def asyncio_subscriber(name, frames, ready):
    with membridge.SharedMemory.open(name) as shm, shm.subscriber() as sub:
        ready.set()
        asyncio.run(receive_frames(sub, frames))
    print("frame_pipeline: asyncio subscriber checked %d frames" % frames)


def publish_frames(pub, frames, subs, readies):
    for ev, p in zip(readies, subs):
        while not ev.wait(0.1):  # messages are for those who joined
            if not p.is_alive():
                sys.exit("frame_pipeline: a subscriber died before joining")
    for i in range(frames):
        frame = BASE + np.uint8(i % 256)
        # A dead subscriber that is not reaped yet looks alive to the channel
        # and holds its space: wait a second at a time, reaping (is_alive()).
        while not pub.publish_array(frame, timeout=1.0):
            if any(not p.is_alive() and p.exitcode != 0 for p in subs):
                sys.exit("frame_pipeline: a subscriber failed")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--frames", type=int, default=100)
    ap.add_argument("name", nargs="?", default="/membridge-example-frames-%d" % os.getpid())
    args = ap.parse_args()
    shm = membridge.SharedMemory.create_channel(args.name, int(np.prod(SHAPE)) + 4096)
    try:
        with shm, shm.publisher() as pub:
            readies = [multiprocessing.Event(), multiprocessing.Event()]
            subs = [multiprocessing.Process(target=fn, args=(args.name, args.frames, ev))
                    for fn, ev in zip((blocking_subscriber, asyncio_subscriber), readies)]
            for p in subs:
                p.start()
            try:
                publish_frames(pub, args.frames, subs, readies)
            except BaseException:
                for p in subs:  # they would wait for frames that never come
                    p.terminate()
                raise
            finally:
                for p in subs:
                    p.join()
    finally:
        membridge.SharedMemory.remove(args.name)
    if any(p.exitcode != 0 for p in subs):
        return 1
    print("frame_pipeline: published %d frames of %s" % (args.frames, "x".join(map(str, SHAPE))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
