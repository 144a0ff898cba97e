#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""An asyncio service that waits on a channel and a TCP socket at once.

usage: asyncio_service.py [-n COUNT] [NAME]

The service subscribes to channel NAME (made here) and listens on the
loopback interface. A publisher process sends COUNT readings through the
channel; the service sums them as they come (`async for` over the
subscriber) while it answers TCP clients on the same event loop, no thread:

  wait N   replies once N readings have come: "received N readings, sum S"
  quit     stops the service

The demo's own client asks "wait COUNT", then "quit". No thread waits:
the channel's descriptor is one more reader of the loop.
"""
import argparse
import asyncio
import math
import multiprocessing
import os

import membridge


def publish_readings(name, count):
    """The publisher process: COUNT readings 0, 1, ..., as int messages."""
    with membridge.SharedMemory.open(name) as shm, shm.publisher() as pub:
        for i in range(count):
            pub.publish(i, timeout=math.inf)


class Service:
    def __init__(self, sub):
        self.sub = sub
        self.count = 0
        self.total = 0
        self.changed = asyncio.Condition()
        self.stop = asyncio.Event()

    async def consume(self):
        async for msg in self.sub:
            with msg:
                self.total += int.from_bytes(msg, "little", signed=True)
            self.count += 1
            async with self.changed:
                self.changed.notify_all()

    async def client(self, reader, writer):
        while not self.stop.is_set():
            line = (await reader.readline()).decode().strip()
            if not line:
                break
            print("asyncio_service: client asked: %s" % line)
            if line == "quit":
                self.stop.set()
                break
            word, _, arg = line.partition(" ")
            if word == "wait" and arg.isdigit():
                async with self.changed:
                    await self.changed.wait_for(lambda: self.count >= int(arg))
                reply = "received %d readings, sum %d" % (self.count, self.total)
            else:
                reply = "unknown request %r: say 'wait N' or 'quit'" % line
            writer.write((reply + "\n").encode())
            await writer.drain()
        writer.close()


async def serve(name, count):
    with membridge.SharedMemory.create_channel(name, 64) as shm, shm.subscriber() as sub:
        service = Service(sub)
        server = await asyncio.start_server(service.client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        print("asyncio_service: channel %s and tcp 127.0.0.1 on one loop" % name)
        consumer = asyncio.create_task(service.consume())
        publisher = multiprocessing.Process(target=publish_readings, args=(name, count))
        publisher.start()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"wait %d\n" % count)
            print("asyncio_service: reply: %s" % (await reader.readline()).decode().strip())
            writer.write(b"quit\n")
            await service.stop.wait()
            writer.close()
        finally:
            consumer.cancel()
            server.close()
            await server.wait_closed()
            await asyncio.get_running_loop().run_in_executor(None, publisher.join)
    membridge.SharedMemory.remove(name)
    print("asyncio_service: done, removed %s" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=1000, help="readings (default 1000)")
    ap.add_argument("name", nargs="?", default="/membridge-example-service-%d" % os.getpid())
    args = ap.parse_args()
    asyncio.run(serve(args.name, args.count))


if __name__ == "__main__":
    main()
