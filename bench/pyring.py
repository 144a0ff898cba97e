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
read and written through a memoryview cast to native "Q": item access copies
8 aligned bytes in one move, so the peer never sees a half-written index. (Not
struct.pack_into: it zeroes its destination before storing the value, so a
consumer that read the tail in between saw 0, took it for new data and
delivered stale frames from the previous lap; a busy machine made that
window wide enough to hit.) x86 keeps stores in program order, which is what
makes publishing by a plain store correct (on a weakly ordered CPU this needs
fences that pure Python cannot express). Each call checks that the other
side's index is within capacity of its own, so a broken peer raises instead
of handing out garbage.
"""
import struct
from multiprocessing import shared_memory

HEAD = 0                     # index (in u64 items) of head in the block
TAIL = 8                     # index of tail: byte offset 64, its own cache line
DATA = 128
LENGTH = struct.Struct("I")


def frame_size(n):
    """Bytes a message of n bytes takes: its u32 length, then the payload
    padded to a multiple of 4."""
    return (4 + n + 3) & ~3


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
        self.index = shm.buf[:DATA].cast("Q")
        self.capacity = capacity
        self.mask = capacity - 1
        self.head = self.index[HEAD]
        self.tail = self.index[TAIL]

    def close(self):
        """Release the views of the block so that the SharedMemory can close."""
        self.index.release()
        self.index = self.buf = None

    def _corrupt(self, what, head, tail):
        raise RuntimeError("corrupt ring (%s): head %d, tail %d, capacity %d"
                           % (what, head, tail, self.capacity))

    def push(self, data):
        """Append one message (bytes); False if it does not fit now."""
        n = len(data)
        size = frame_size(n)
        if size > self.capacity:
            raise ValueError("message of %d bytes can never fit" % n)
        buf = self.buf
        tail = self.tail
        head = self.index[HEAD]
        if not 0 <= tail - head <= self.capacity:
            self._corrupt("index out of range", head, tail)
        if self.capacity - (tail - head) < size:
            return False
        pos = tail & self.mask
        LENGTH.pack_into(buf, DATA + pos, n)
        pos = (pos + 4) & self.mask
        first = min(n, self.capacity - pos)
        buf[DATA + pos:DATA + pos + first] = data[:first]
        if first < n:
            buf[DATA:DATA + n - first] = data[first:]
        self.tail = tail + size
        self.index[TAIL] = self.tail
        return True

    def pop(self):
        """Remove and return the oldest message as bytes; None if empty."""
        buf = self.buf
        head = self.head
        tail = self.index[TAIL]
        if tail == head:
            return None
        if not 4 <= tail - head <= self.capacity:
            self._corrupt("index out of range", head, tail)
        pos = head & self.mask
        n = LENGTH.unpack_from(buf, DATA + pos)[0]
        pos = (pos + 4) & self.mask
        first = min(n, self.capacity - pos)
        data = bytes(buf[DATA + pos:DATA + pos + first])
        if first < n:
            data += bytes(buf[DATA:DATA + n - first])
        size = frame_size(n)
        if size > tail - head:
            self._corrupt("frame of %d bytes past the tail" % n, head, tail)
        self.head = head + size
        self.index[HEAD] = self.head
        return data
