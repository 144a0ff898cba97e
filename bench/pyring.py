# SPDX-License-Identifier: MIT
"""A pure-Python SPSC ring over multiprocessing.shared_memory: the benchmark's peer.

What a competent user writes without membridge: one producer and one
consumer process share a SharedMemory block laid out as

  offset 0    head (u64): bytes consumed so far, written by the consumer
  offset 64   tail (u64): bytes published so far, written by the producer
  offset 128  capacity bytes of data (a power of two)

Each message is a frame: its length as a u32, then the payload, padded to a
multiple of 4 bytes so that the length never straddles the end of the data
area (the payload may wrap). Each side keeps its own index in a local
variable and reads the other's from the block on every call. The indices are
packed with struct's native "Q", which stores 8 aligned bytes in one copy, so
the peer never sees half an index; x86 keeps stores in program order, which
is what makes publishing by a plain store correct (on a weakly ordered CPU
this needs fences that pure Python cannot express).
"""
import struct
from multiprocessing import shared_memory

HEAD = 0
TAIL = 64
DATA = 128
INDEX = struct.Struct("Q")   # native: one aligned 8-byte store
LENGTH = struct.Struct("I")


def create(capacity):
    """A new zeroed block for a ring of capacity (power of two) data bytes."""
    if capacity < 8 or capacity & (capacity - 1):
        raise ValueError("capacity must be a power of two >= 8")
    return shared_memory.SharedMemory(create=True, size=DATA + capacity)


def attach(name):
    """Open the block created by the parent process, which unlinks it. A
    multiprocessing child shares its parent's resource tracker, so the
    registration this adds is the parent's own and goes with its unlink."""
    return shared_memory.SharedMemory(name=name)


class Ring:
    """One side (or both) of the ring over an attached SharedMemory block."""

    def __init__(self, shm, capacity):
        self.buf = shm.buf
        self.capacity = capacity
        self.mask = capacity - 1
        self.head = INDEX.unpack_from(self.buf, HEAD)[0]
        self.tail = INDEX.unpack_from(self.buf, TAIL)[0]

    def close(self):
        """Drop the view of the block so that the SharedMemory can close."""
        self.buf = None

    def push(self, data):
        """Append one message (bytes); False if it does not fit now."""
        n = len(data)
        size = (4 + n + 3) & ~3
        if size > self.capacity:
            raise ValueError("message of %d bytes can never fit" % n)
        buf = self.buf
        tail = self.tail
        if self.capacity - (tail - INDEX.unpack_from(buf, HEAD)[0]) < size:
            return False
        pos = tail & self.mask
        LENGTH.pack_into(buf, DATA + pos, n)
        pos = (pos + 4) & self.mask
        first = min(n, self.capacity - pos)
        buf[DATA + pos:DATA + pos + first] = data[:first]
        if first < n:
            buf[DATA:DATA + n - first] = data[first:]
        self.tail = tail + size
        INDEX.pack_into(buf, TAIL, self.tail)
        return True

    def pop(self):
        """Remove and return the oldest message as bytes; None if empty."""
        buf = self.buf
        head = self.head
        if INDEX.unpack_from(buf, TAIL)[0] == head:
            return None
        pos = head & self.mask
        n = LENGTH.unpack_from(buf, DATA + pos)[0]
        pos = (pos + 4) & self.mask
        first = min(n, self.capacity - pos)
        data = bytes(buf[DATA + pos:DATA + pos + first])
        if first < n:
            data += bytes(buf[DATA:DATA + n - first])
        self.head = head + ((4 + n + 3) & ~3)
        INDEX.pack_into(buf, HEAD, self.head)
        return data
