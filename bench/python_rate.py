#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-process message rate from Python: membridge vs multiprocessing and a pure-Python ring.

usage: python_rate.py [-n COUNT] [--bytes-count COUNT] [--queue-count COUNT]
                      [--array-count COUNT] [--async-count COUNT]
                      [--runs R] [--batch B] [--kind str|bytes|array|async|size|all]
                      [--start-method fork|spawn|forkserver] [--only TEXT]
                      [--quick] [--results] [--min-ratio X]

A producer process sends messages to a consumer process, each pinned to its
own CPU when there are two or more. The kinds of message, each its own group:

  python str          COUNT short str "msg-0", "msg-1", ... (-n)
  python 1 KiB bytes  COUNT 1024-byte bytes objects (--bytes-count), drawn
                      from a pool of 256 distinct ones, each tagged with its
                      number
  python 1 MiB arrays 1 MiB float64 numpy arrays (--array-count) from a pool
                      of 4, element 0 the tag; received as arrays
  python asyncio      short bytes b"msg-N" (--async-count) to a consumer
                      that runs an asyncio loop
  python array size   1 KB and 100 MB float64 arrays, as the 1 MiB ones
                      (each case its own count, from --array-count)
  python array receive  the channel's receive_array() call alone, for the
                      1 KB and the 100 MB arrays: the producer publishes a
                      batch of 3, then the consumer receives them, each
                      call timed; the median call

Transports, all in the same run, the same count for each within a group:

  membridge push/pop (spin)     push(m) retried while it returns False,
                                pop(tag) retried while it returns None
  membridge push/pop (timeout)  push(m, timeout=T) / pop(tag, timeout=T):
                                the library spins briefly, then sleeps
  membridge push_many/pop_many  lists of B messages, one publish per call
  multiprocessing.Queue         put(m) / get()
  multiprocessing.Pipe          send_bytes / recv_bytes (str encoded and
                                decoded in the loop)
  pure-Python shm ring          bench/pyring.py: a ring over
                                multiprocessing.shared_memory + struct,
                                time.sleep(0) while full or empty (str
                                encoded and decoded in the loop)
  membridge channel publish/receive_value   Publisher.publish(m, T) /
                                Subscriber.receive_value(tag, T)
  membridge channel publish_many/receive_many   lists of B messages; the
                                consumer decodes each Message itself

The array groups (numpy needed) compare:

  membridge channel publish_array/receive_array   a view of the segment
  multiprocessing.Queue put/get the array pickled
  shared_memory + Queue of names  a fresh multiprocessing.shared_memory
                                block per array, its name through a Queue;
                                the consumer maps it as an array, then
                                unlinks it
  pyzmq PUSH/PULL ipc://        send(copy=False) / recv(copy=False) and
                                numpy.frombuffer (skipped without pyzmq)

The asyncio group: the channel read with `async for` (receive_async over
the subscriber's descriptor) next to a multiprocessing.Pipe read with
loop.add_reader, the same way (try, else wait for the descriptor).

The producer builds its list of messages before the clock starts. Both
sides first pass 2000 warm-up messages, then meet at a barrier; the rate is
COUNT / (last message received - both processes released), the median of R
runs, the methods interleaved run by run. The consumer checks the count and
the first and last message of the warm-up and of the timed part.

--results also prints one machine-readable line per figure,
  RESULT<TAB>group<TAB>case<TAB>impl<TAB>value<TAB>msg/s
with impl "membridge" (push/pop spin), "membridge push/pop timeout",
"membridge batch", "membridge channel", "membridge channel batch",
"mp.Queue", "mp.Pipe", "pure-Python shm ring"; in the array and asyncio
groups "membridge" is the channel and the peers are "mp.Queue",
"shared_memory + names", "pyzmq ipc", "mp.Pipe asyncio". GOAL lines carry
the goals (bench/report.py marks them met or MISSED): 1 MiB arrays 20x the
Queue and 3x pyzmq; short str through the channel 30x the Queue per call
and 80x batched (each in a case of its own, named after the channel's
method, which is "membridge" there); the asyncio consumer 5x the Pipe;
the receive_array() call of a 100 MB array no dearer than a 1 KB one.
--min-ratio X exits 1 if str push/pop (spin) is below X times the Queue.

From a build tree, point PYTHONPATH at BUILD/python-build/lib and
LD_LIBRARY_PATH at BUILD/lib/.libs; after `make install` nothing is needed.
"""
import argparse
import asyncio
import collections
import os
import platform
import shlex
import shutil
import statistics
import struct
import sys
import tempfile
import time
import traceback

try:
    import membridge
except ImportError as e:  # pragma: no cover - a hint for the build tree
    sys.exit("python_rate.py: cannot import membridge (%s). From a build tree run with\n"
             "  PYTHONPATH=BUILD/python-build/lib LD_LIBRARY_PATH=BUILD/lib/.libs" % e)
import multiprocessing as mp
from multiprocessing import resource_tracker, shared_memory

try:
    import numpy
except ImportError:  # the array groups are skipped
    numpy = None
try:
    import zmq
except ImportError:  # the pyzmq rows are skipped
    zmq = None

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyring  # noqa: E402  (bench/pyring.py, next to this script)

RING_CAPACITY = 1 << 20      # data bytes of both rings; membridge's segment is 24 more
WAIT_S = 5.0                 # timeout of the blocking forms (never reached)
CHILD_LIMIT_S = 300.0        # a run that takes longer than this has hung
WARMUP = 2000                # untimed messages before the barrier
ARRAY_WARMUP = {"array": 20, "kb": 200, "big": 2}
ARRAY_LEN = {"array": 1 << 17, "kb": 128, "big": 12500000}  # float64: 1 MiB, 1 KB, 100 MB
ARRAY_POOL = 4
ARRAY_KINDS = tuple(ARRAY_LEN)
ARRAY_QUEUED = 4             # arrays in flight: channel records, zmq HWM, names queued
RECEIVE_BATCH = ARRAY_QUEUED - 1  # arrays published, then received, in the receive row
BYTES_LEN = 1024
BYTES_POOL = 256
CASE = "cross-process rate"


# ------------------------------------------------------------ messages

def make_bytes(k):
    tag = struct.pack("<Q", k)
    return tag + bytes((k + j) & 0xff for j in range(BYTES_LEN - len(tag)))


_POOL = []
_ARRAYS = {}


def message(kind, i):
    """Message number i of a kind: "str", "bytes", "async" (short bytes), or
    an array kind ("array", "kb", "big": float64, element 0 the tag)."""
    if kind == "str":
        return "msg-%d" % i
    if kind == "async":
        return b"msg-%d" % i
    if kind in ARRAY_KINDS:
        if kind not in _ARRAYS:
            _ARRAYS[kind] = [numpy.full(ARRAY_LEN[kind], k, numpy.float64)
                             for k in range(ARRAY_POOL)]
        return _ARRAYS[kind][i % ARRAY_POOL]
    if not _POOL:
        _POOL.extend(make_bytes(k) for k in range(BYTES_POOL))
    return _POOL[i % BYTES_POOL]


def array_tag(a, kind, i):
    """Array number i of a kind as received: its tag (element 0) once its
    dtype, shape, tag and last element are what was sent."""
    if a.dtype != numpy.float64 or a.shape != (ARRAY_LEN[kind],) or \
            a[0] != i % ARRAY_POOL or a[-1] != a[0]:
        raise RuntimeError("array %d: %s %r, elements %r...%r, expected tag %d"
                           % (i, a.dtype, a.shape, a[0], a[-1], i % ARRAY_POOL))
    return int(a[0])


def expected(kind, i):
    """What the consumer reports for message i: the message, or an array's tag."""
    return i % ARRAY_POOL if kind in ARRAY_KINDS else message(kind, i)


def warmup(kind):
    return ARRAY_WARMUP.get(kind, WARMUP)


def messages(kind, n):
    return [message(kind, i) for i in range(n)]


def pop_tag(kind):
    """What membridge pop() is asked to decode: a str, or raw payload bytes."""
    return "str" if kind == "str" else None


# ------------------------------------------------------------ producers
# Each producer takes (endpoint, msgs, batch, kind) and sends the list msgs.

def produce_spin(ring, msgs, batch, kind):
    push = ring.push
    for m in msgs:
        while not push(m):
            pass


def produce_timeout(ring, msgs, batch, kind):
    push = ring.push
    for m in msgs:
        if not push(m, WAIT_S):
            raise RuntimeError("ring full for %g s" % WAIT_S)


def produce_many(ring, msgs, batch, kind):
    push_many = ring.push_many
    push = ring.push
    for start in range(0, len(msgs), batch):
        items = msgs[start:start + batch]
        done = push_many(items)
        while done < len(items):
            if done:
                items = items[done:]
            elif not push(items[0], WAIT_S):  # full: wait for room, then batch again
                raise RuntimeError("ring full for %g s" % WAIT_S)
            else:
                items = items[1:]
            done = push_many(items) if items else 0


def produce_queue(q, msgs, batch, kind):
    put = q.put
    for m in msgs:
        put(m)


def produce_pipe(conn, msgs, batch, kind):
    send = conn.send_bytes
    if kind == "str":
        for m in msgs:
            send(m.encode())
    else:
        for m in msgs:
            send(m)


def produce_pyring(ring, msgs, batch, kind):
    push = ring.push
    sleep = time.sleep
    if kind == "str":
        for m in msgs:
            b = m.encode()
            while not push(b):
                sleep(0)
    else:
        for m in msgs:
            while not push(m):
                sleep(0)


def produce_channel(pub, msgs, batch, kind):
    publish = pub.publish
    for m in msgs:
        if not publish(m, WAIT_S):
            raise RuntimeError("channel full for %g s" % WAIT_S)


def produce_channel_many(pub, msgs, batch, kind):
    publish_many = pub.publish_many
    for start in range(0, len(msgs), batch):
        items = msgs[start:start + batch]
        while items:
            done = publish_many(items, WAIT_S)  # waits until the first fits
            if not done:
                raise RuntimeError("channel full for %g s" % WAIT_S)
            items = items[done:]


def produce_channel_array(pub, msgs, batch, kind):
    publish_array = pub.publish_array
    for a in msgs:
        if not publish_array(a, WAIT_S):
            raise RuntimeError("channel full for %g s" % WAIT_S)


def produce_channel_batches(target, msgs, batch, kind):
    """publish_array by batches of RECEIVE_BATCH, each once the consumer
    has received the one before (consume_channel_array_calls)."""
    pub, published, received = target
    for start in range(0, len(msgs), RECEIVE_BATCH):
        produce_channel_array(pub, msgs[start:start + RECEIVE_BATCH], batch, kind)
        published.release()
        if not received.acquire(timeout=WAIT_S):
            raise RuntimeError("batch at %d not received for %g s" % (start, WAIT_S))


def produce_shm_names(q, msgs, batch, kind):
    put = q.put
    for a in msgs:
        block = shared_memory.SharedMemory(create=True, size=a.nbytes)
        # The consumer unlinks it: this process must not (Python 3.11's
        # tracker would, at exit).
        resource_tracker.unregister(block._name, "shared_memory")
        numpy.ndarray(a.shape, a.dtype, buffer=block.buf)[:] = a
        put(block.name)
        block.close()


def produce_zmq(sock, msgs, batch, kind):
    send = sock.send
    for a in msgs:
        send(a, copy=False)


# ------------------------------------------------------------ consumers
# Each consumer takes (endpoint, n, batch, kind) and returns (count, first, last).

def consume_spin(ring, n, batch, kind):
    pop = ring.pop
    tag = pop_tag(kind)
    first = last = None
    for i in range(n):
        m = pop(tag)
        while m is None:
            m = pop(tag)
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_timeout(ring, n, batch, kind):
    pop = ring.pop
    tag = pop_tag(kind)
    first = last = None
    for i in range(n):
        m = pop(tag, WAIT_S)
        if m is None:
            raise RuntimeError("no message for %g s after %d" % (WAIT_S, i))
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_many(ring, n, batch, kind):
    pop_many = ring.pop_many
    pop = ring.pop
    tag = pop_tag(kind)
    count = 0
    first = last = None
    while count < n:
        got = pop_many(min(batch, n - count), tag)
        if not got:
            m = pop(tag, WAIT_S)  # empty: wait for one, then batch again
            if m is None:
                raise RuntimeError("no message for %g s after %d" % (WAIT_S, count))
            got = [m]
        if first is None:
            first = got[0]
        count += len(got)
        last = got[-1]
    return count, first, last


def consume_queue(q, n, batch, kind):
    get = q.get
    first = last = None
    for i in range(n):
        m = get()
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_pipe(conn, n, batch, kind):
    recv = conn.recv_bytes
    first = last = None
    for i in range(n):
        m = recv().decode() if kind == "str" else recv()
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_pyring(ring, n, batch, kind):
    pop = ring.pop
    sleep = time.sleep
    decode = kind == "str"
    first = last = None
    for i in range(n):
        m = pop()
        while m is None:
            sleep(0)
            m = pop()
        if decode:
            m = m.decode()
        if i == 0:
            first = m
        last = m
    return n, first, last


def tag_str(m):
    """A str Message's value: the codec's u32 length, then UTF-8."""
    return bytes(m)[4:].decode()


def consume_channel(sub, n, batch, kind):
    receive = sub.receive_value if kind == "str" else sub.receive_bytes
    tag = pop_tag(kind)
    first = last = None
    for i in range(n):
        m = receive(tag, WAIT_S) if kind == "str" else receive(WAIT_S)
        if m is None:
            raise RuntimeError("no message for %g s after %d" % (WAIT_S, i))
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_channel_many(sub, n, batch, kind):
    receive_many = sub.receive_many
    value = tag_str if kind == "str" else bytes
    count = 0
    first = last = None
    while count < n:
        got = receive_many(min(batch, n - count), WAIT_S)  # waits for the first
        if not got:
            raise RuntimeError("no message for %g s after %d" % (WAIT_S, count))
        if first is None:
            first = value(got[0])
        last = value(got[-1])
        for m in got:
            m.release()
        count += len(got)
    return count, first, last


def consume_channel_array(sub, n, batch, kind):
    receive_array = sub.receive_array
    first = last = None
    for i in range(n):
        a = receive_array(WAIT_S)
        if a is None:
            raise RuntimeError("no array for %g s after %d" % (WAIT_S, i))
        last = array_tag(a, kind, i)
        if i == 0:
            first = last
        del a  # lets the channel reuse its space
    return n, first, last


def consume_channel_array_calls(target, n, batch, kind):
    """The receive_array() calls alone: waits until the producer has
    published a batch of RECEIVE_BATCH arrays (untimed), then times the
    receive of each. The first call of a batch meets caches the producer's
    copy has flushed, whatever the size; the median call does not. A fourth
    figure: the median ns of a call."""
    sub, published, received = target
    receive_array = sub.receive_array
    clock = time.perf_counter_ns
    calls = []
    first = last = None
    for start in range(0, n, RECEIVE_BATCH):
        if not published.acquire(timeout=WAIT_S):
            raise RuntimeError("no batch for %g s after %d" % (WAIT_S, start))
        for i in range(start, min(n, start + RECEIVE_BATCH)):
            t0 = clock()
            a = receive_array()
            t1 = clock()
            if a is None:
                raise RuntimeError("array %d of a published batch is not there" % i)
            calls.append(t1 - t0)
            last = array_tag(a, kind, i)
            if i == 0:
                first = last
            del a
        received.release()
    return n, first, last, statistics.median(calls)


def consume_queue_array(q, n, batch, kind):
    get = q.get
    first = last = None
    for i in range(n):
        last = array_tag(get(), kind, i)
        if i == 0:
            first = last
    return n, first, last


def consume_shm_names(q, n, batch, kind):
    get = q.get
    shape = (ARRAY_LEN[kind],)
    first = last = None
    for i in range(n):
        block = shared_memory.SharedMemory(get())
        a = numpy.ndarray(shape, numpy.float64, buffer=block.buf)
        last = array_tag(a, kind, i)
        if i == 0:
            first = last
        del a
        block.close()
        block.unlink()
    return n, first, last


def consume_zmq(sock, n, batch, kind):
    recv = sock.recv
    frombuffer = numpy.frombuffer
    first = last = None
    for i in range(n):
        last = array_tag(frombuffer(recv(copy=False).buffer, numpy.float64), kind, i)
        if i == 0:
            first = last
    return n, first, last


async def channel_async(sub, n):
    first = last = None
    i = 0
    async for msg in sub:
        with msg:
            last = bytes(msg)
        if i == 0:
            first = last
        i += 1
        if i == n:
            break
    return n, first, last


def consume_channel_async(sub, n, batch, kind):
    return asyncio.run(channel_async(sub, n))


async def pipe_async(conn, n):
    """A multiprocessing.Pipe read from asyncio as membridge._aio reads a
    channel: try, else wait for the descriptor with loop.add_reader."""
    loop = asyncio.get_running_loop()
    fd = conn.fileno()
    poll, recv = conn.poll, conn.recv_bytes
    first = last = None
    for i in range(n):
        while not poll():
            fut = loop.create_future()
            loop.add_reader(fd, fut.set_result, None)
            try:
                await fut
            finally:
                loop.remove_reader(fd)
        last = recv()
        if i == 0:
            first = last
    return n, first, last


def consume_pipe_async(conn, n, batch, kind):
    return asyncio.run(pipe_async(conn, n))


# ------------------------------------------------------------ transports
# A transport's setup(ctx, kind) returns (producer endpoint, consumer
# endpoint, cleanup). An endpoint is either an object used as is (Queue,
# Connection) or a tuple naming what the worker opens: ("membridge" |
# "pyring", name), ("publisher" | "subscriber", name, subscribed event),
# ("push" | "pull", zmq address, received event).

def setup_membridge(ctx, kind):
    name = "/mb-bench-%d-%d" % (os.getpid(), time.monotonic_ns())
    mem = membridge.SharedMemory.create(name, RING_CAPACITY + 24, replace=True)
    ring = mem.spsc()  # the creator's spsc() writes the ring header

    def cleanup():
        ring.close()
        mem.close()
        membridge.SharedMemory.remove(name)
    return ("membridge", name), ("membridge", name), cleanup


def setup_queue(ctx, kind):
    q = ctx.Queue()

    def cleanup():
        q.close()
        q.join_thread()
    return q, q, cleanup


def setup_pipe(ctx, kind):
    r, w = ctx.Pipe(duplex=False)

    def cleanup():
        r.close()
        w.close()
    return w, r, cleanup


def setup_pyring(ctx, kind):
    shm = pyring.create(RING_CAPACITY)

    def cleanup():
        shm.close()
        shm.unlink()
    return ("pyring", shm.name), ("pyring", shm.name), cleanup


def channel_shape(kind):
    """(max_message, data_size) of the benchmark's channel for a kind."""
    if kind not in ARRAY_KINDS:
        return BYTES_LEN + 64, RING_CAPACITY
    max_message = ARRAY_LEN[kind] * 8 + 4096  # room for publish_array's header
    record = (max_message + 16 + 63) // 64 * 64
    return max_message, ARRAY_QUEUED * record


def setup_channel(ctx, kind):
    name = "/mb-bench-ch-%d-%d" % (os.getpid(), time.monotonic_ns())
    max_message, data_size = channel_shape(kind)
    mem = membridge.SharedMemory.create_channel(name, max_message, data_size=data_size,
                                                subscribers=1, replace=True)
    subscribed = ctx.Event()

    def cleanup():
        mem.close()
        membridge.SharedMemory.remove(name)
    return ("publisher", name, subscribed), ("subscriber", name, subscribed), cleanup


def setup_channel_batches(ctx, kind):
    """setup_channel, and two semaphores for the batches of the receive row:
    one batch published, one received."""
    prod, cons, cleanup = setup_channel(ctx, kind)
    published, received = ctx.Semaphore(0), ctx.Semaphore(0)
    return prod + (published, received), cons + (published, received), cleanup


def setup_shm_names(ctx, kind):
    resource_tracker.ensure_running()  # one tracker for both children
    q = ctx.Queue(ARRAY_QUEUED)

    def cleanup():
        while True:  # what a failed run left
            try:
                name = q.get(timeout=0.1)
            except Exception:
                break
            block = shared_memory.SharedMemory(name)
            block.close()
            block.unlink()
        q.close()
        q.join_thread()
    return q, q, cleanup


def setup_zmq(ctx, kind):
    where = tempfile.mkdtemp(prefix="mb-bench-zmq-")
    addr = "ipc://%s/sock" % where
    received = ctx.Event()  # set by the receiver when it closes
    return (("push", addr, received), ("pull", addr, received),
            lambda: shutil.rmtree(where, ignore_errors=True))


# unit: "msg/s" (the rate of the run) or "ns" (a figure the consumer measures).
Method = collections.namedtuple("Method", "label impl produce consume setup unit",
                                defaults=("msg/s",))
METHODS = [
    Method("membridge push/pop (spin)", "membridge", produce_spin, consume_spin,
           setup_membridge),
    Method("membridge push/pop (timeout)", "membridge push/pop timeout", produce_timeout,
           consume_timeout, setup_membridge),
    Method("membridge push_many/pop_many", "membridge batch", produce_many, consume_many,
           setup_membridge),
    Method("multiprocessing.Queue put/get", "mp.Queue", produce_queue, consume_queue,
           setup_queue),
    Method("multiprocessing.Pipe send/recv_bytes", "mp.Pipe", produce_pipe, consume_pipe,
           setup_pipe),
    Method("pure-Python shm ring", "pure-Python shm ring", produce_pyring, consume_pyring,
           setup_pyring),
]
CHANNEL = Method("membridge channel publish/receive_value", "membridge channel",
                 produce_channel, consume_channel, setup_channel)
CHANNEL_BATCH = Method("membridge channel publish_many/receive_many",
                       "membridge channel batch", produce_channel_many, consume_channel_many,
                       setup_channel)
METHODS += [CHANNEL, CHANNEL_BATCH]
SPIN, _, BATCH, QUEUE, PIPE, PYRING = METHODS[:6]
GROUPS = {"str": "python str", "bytes": "python 1 KiB bytes", "array": "python 1 MiB arrays",
          "async": "python asyncio", "kb": "python array size", "big": "python array size"}
CASES = {"kb": "1 KB array", "big": "100 MB array"}

# The array groups.
CHANNEL_ARRAY = Method("membridge channel publish/receive_array", "membridge",
                       produce_channel_array, consume_channel_array, setup_channel)
ARRAY_QUEUE = Method("multiprocessing.Queue put/get", "mp.Queue", produce_queue,
                     consume_queue_array, setup_queue)
SHM_NAMES = Method("shared_memory + Queue of names", "shared_memory + names",
                   produce_shm_names, consume_shm_names, setup_shm_names)
ZMQ = Method("pyzmq PUSH/PULL ipc:// copy=False", "pyzmq ipc", produce_zmq, consume_zmq,
             setup_zmq)
ARRAY_METHODS = [CHANNEL_ARRAY, ARRAY_QUEUE, SHM_NAMES] + ([ZMQ] if zmq is not None else [])
# The receive_array() call alone, for the 1 KB and the 100 MB arrays.
CHANNEL_RECEIVE = Method("membridge channel receive_array call alone", "membridge",
                         produce_channel_batches, consume_channel_array_calls,
                         setup_channel_batches, "ns")
RECEIVE_GROUP = "python array receive"
RECEIVE_CASE = "receive_array() of a waiting array"

# The asyncio group: the channel's async for next to a Pipe read the same way.
CHANNEL_ASYNC = Method("membridge channel async for", "membridge", produce_channel,
                       consume_channel_async, setup_channel)
PIPE_ASYNC = Method("multiprocessing.Pipe + loop.add_reader", "mp.Pipe asyncio",
                    produce_pipe, consume_pipe_async, setup_pipe)
ASYNC_METHODS = [CHANNEL_ASYNC, PIPE_ASYNC]


# Issue 15's goals: how many times the peer's rate ours should reach.
ARRAY_GOALS = {ARRAY_QUEUE.impl: 20, ZMQ.impl: 3}        # 1 MiB arrays
STR_GOALS = {CHANNEL.impl: 30, CHANNEL_BATCH.impl: 80}    # short str vs the Queue
ASYNC_GOAL = 5                                            # async for vs the Pipe


def kind_methods(kind):
    """(methods, base of the "vs" column, (ours, peer, goal or None) pairs to
    print) of a kind."""
    if kind in ARRAY_KINDS:
        return (ARRAY_METHODS + ([CHANNEL_RECEIVE] if kind != "array" else []), ARRAY_QUEUE,
                [(CHANNEL_ARRAY, m, ARRAY_GOALS.get(m.impl) if kind == "array" else None)
                 for m in ARRAY_METHODS if m is not CHANNEL_ARRAY])
    if kind == "async":
        return ASYNC_METHODS, PIPE_ASYNC, [(CHANNEL_ASYNC, PIPE_ASYNC, ASYNC_GOAL)]
    goals = STR_GOALS if kind == "str" else {}
    return METHODS, QUEUE, [(SPIN, QUEUE, None), (SPIN, PYRING, None), (BATCH, QUEUE, None)] + \
        [(m, QUEUE, goals.get(m.impl)) for m in (CHANNEL, CHANNEL_BATCH)]


# ------------------------------------------------------------ processes

def attach_channel(what, name, subscribed):
    """A channel's publisher (once the consumer has subscribed) or subscriber."""
    mem = membridge.SharedMemory.open(name)
    if what == "subscriber":
        end = mem.subscriber()
        subscribed.set()
    else:
        if not subscribed.wait(60):
            raise RuntimeError("no subscriber within 60 s")
        end = mem.publisher()

    def close_channel():
        end.close()
        mem.close()
    return end, close_channel


def attach_zmq(what, addr, received, kind):
    context = zmq.Context()
    sock = context.socket(zmq.PUSH if what == "push" else zmq.PULL)
    if kind in ARRAY_KINDS:
        sock.set_hwm(ARRAY_QUEUED)
    (sock.bind if what == "push" else sock.connect)(addr)

    def close_zmq():
        # The sender closes only once the receiver has had every message:
        # what is still in the kernel's socket buffer when the sender's end
        # closes is lost (the high-water marks count messages in zmq's
        # queues, not those bytes). The parent's CHILD_LIMIT_S stops a
        # stuck run.
        if what == "push":
            received.wait(CHILD_LIMIT_S)
        else:
            received.set()
        sock.close(linger=0)
        context.term()
    return sock, close_zmq


def attach(endpoint, kind):
    """The object a worker sends or receives through, and how to let it go.
    A channel endpoint's extra objects (setup_channel_batches) come with it."""
    if not isinstance(endpoint, tuple):
        return endpoint, lambda: None
    if endpoint[0] in ("publisher", "subscriber"):
        end, close = attach_channel(*endpoint[:3])
        return ((end,) + endpoint[3:] if endpoint[3:] else end), close
    if endpoint[0] in ("push", "pull"):
        return attach_zmq(*endpoint, kind)
    what, name = endpoint
    if what == "membridge":
        mem = membridge.SharedMemory.open(name)
        ring = mem.spsc()

        def close_ring():
            ring.close()
            mem.close()
        return ring, close_ring
    shm = pyring.attach(name)
    ring = pyring.Ring(shm, RING_CAPACITY)

    def close_pyring():
        ring.close()
        shm.close()
    return ring, close_pyring


def worker(role, fn_name, endpoint, kind, n, batch, cpu, barrier, result):
    """Run one side: pin, attach, pass the warm-up messages, wait for the other
    side, then time fn. Sends ('ok', t0, t1, warm-up result, result) or
    ('error', text)."""
    close = None
    try:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})
        fn = globals()[fn_name]
        target, close = attach(endpoint, kind)
        producer = role == "producer"
        warm = fn(target, messages(kind, warmup(kind)) if producer else warmup(kind), batch,
                  kind)
        arg = messages(kind, n) if producer else n
        barrier.wait(60)
        t0 = time.perf_counter_ns()
        extra = fn(target, arg, batch, kind)
        t1 = time.perf_counter_ns()
        result.send(("ok", t0, t1, warm, extra))
    except BaseException:
        result.send(("error", "%s: %s" % (role, traceback.format_exc())))
    finally:
        if close is not None:
            close()
        result.close()


def check(label, what, got, kind, n):
    """got: the consumer's (count, first, last[, figure])."""
    want = (n, expected(kind, 0), expected(kind, n - 1))
    if got[:3] != want:
        raise RuntimeError("%s: consumer's %s (count, first, last) = %.200r, expected %.200r"
                           % (label, what, got, want))


def one_run(ctx, method, kind, n, batch, cpus):
    """One producer/consumer pair; returns messages per second, or for a
    method in ns the consumer's own figure."""
    label = method.label
    prod_ep, cons_ep, cleanup = method.setup(ctx, kind)
    barrier = ctx.Barrier(2)
    pipes = [ctx.Pipe(duplex=False) for _ in range(2)]
    procs = [
        ctx.Process(target=worker, args=("producer", method.produce.__name__, prod_ep, kind,
                                         n, batch, cpus[0], barrier, pipes[0][1])),
        ctx.Process(target=worker, args=("consumer", method.consume.__name__, cons_ep, kind,
                                         n, batch, cpus[1], barrier, pipes[1][1])),
    ]
    try:
        for p in procs:
            p.start()
        for _, w in pipes:
            w.close()
        results = []
        deadline = time.monotonic() + CHILD_LIMIT_S
        for r, _ in pipes:
            if not r.poll(max(0.0, deadline - time.monotonic())):
                raise RuntimeError("%s: no result after %g s" % (label, CHILD_LIMIT_S))
            results.append(r.recv())
        for res in results:
            if res[0] != "ok":
                raise RuntimeError("%s failed in the %s" % (label, res[1]))
        (_, p0, _, _, _), (_, c0, c1, warm, got) = results
        check(label, "warm-up", warm, kind, warmup(kind))
        check(label, "timed part", got, kind, n)
        for p in procs:
            p.join(10)
        if method.unit == "ns":
            return got[3]
        return n / ((c1 - min(p0, c0)) / 1e9)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
        for r, _ in pipes:
            r.close()
        cleanup()


# ------------------------------------------------------------ report

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("model name", "Processor", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def command_line():
    env = " ".join("%s=%s" % (k, shlex.quote(os.environ[k]))
                   for k in ("PYTHONPATH", "LD_LIBRARY_PATH") if os.environ.get(k))
    cmd = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    return (env + " " + cmd) if env else cmd


def goal_text(r, goal):
    if goal is None:
        return ""
    return " (goal >= %gx: %s)" % (goal, "met" if r >= goal else "MISSED")


def print_group(kind, methods, base_method, pairs, rates, results, notes):
    """The table of a kind's rates, its pairs' ratios and, with results, its
    RESULT, NOTE and GOAL lines. A pair whose ours is not the group's
    "membridge" gets a case of its own (named after it) for its goal."""
    group = GROUPS[kind]
    case = CASES.get(kind, CASE)
    methods = [m for m in methods if m.unit == "msg/s"]
    base = statistics.median(rates[base_method.label])
    width = max([37] + [len(m.label) for m in methods])
    vs = "vs Queue" if base_method.impl == "mp.Queue" else "vs Pipe"
    print()
    print("%s%s: %s" % (group, ", " + case if kind in CASES else "", notes[0]))
    print("%-*s %14s %10s %9s   %s" % (width, "method", "messages/s", "ns/msg", vs, "runs"))
    for m in methods:
        med = statistics.median(rates[m.label])
        print("%-*s %14.0f %10.1f %8.1fx   %s" % (
            width, m.label, med, 1e9 / med, med / base,
            " ".join("%.0f" % x for x in rates[m.label])))
    med = {m.label: statistics.median(rates[m.label]) for m in methods}
    pairs = [p for p in pairs if p[0].label in med and p[1].label in med]
    for ours, peer, goal in pairs:
        r = med[ours.label] / med[peer.label]
        print("%s vs %s: %.1fx%s" % (ours.label, peer.label, r, goal_text(r, goal)))
    if results:
        for m in methods:
            print("RESULT\t%s\t%s\t%s\t%.4g\tmsg/s" % (group, case, m.impl, med[m.label]))
        for ours, peer, goal in pairs:
            if goal is None:
                continue
            if ours.impl == "membridge":
                print("GOAL\t%s\t%s\t%s\t%g" % (group, case, peer.impl, goal))
                continue
            for impl, m in (("membridge", ours), (peer.impl, peer)):
                print("RESULT\t%s\t%s\t%s\t%.4g\tmsg/s" % (group, ours.label, impl,
                                                             med[m.label]))
            print("GOAL\t%s\t%s\t%s\t%g" % (group, ours.label, peer.impl, goal))
        for note in notes:
            print("NOTE\t%s\t%s" % (group, note))
    sys.stdout.flush()


def print_receive(ns, runs, results):
    """The receive_array() call for a 1 KB and a 100 MB array (ns: kind ->
    median ns); the goal: the 100 MB one costs no more (ratio 1 KB / 100 MB)."""
    r = ns["kb"] / ns["big"]
    print()
    print("%s: the receive_array() call alone, an array already waiting, median of the "
          "calls of a run, median of %d run(s)" % (RECEIVE_GROUP, runs))
    print("1 KB array: %.0f ns, 100 MB array: %.0f ns: 1 KB / 100 MB = %.2fx%s"
          % (ns["kb"], ns["big"], r, goal_text(r, 1)))
    if results:
        print("RESULT\t%s\t%s\tmembridge\t%.4g\tns" % (RECEIVE_GROUP, RECEIVE_CASE, ns["big"]))
        print("RESULT\t%s\t%s\tmembridge, 1 KB array\t%.4g\tns"
              % (RECEIVE_GROUP, RECEIVE_CASE, ns["kb"]))
        print("GOAL\t%s\t%s\tmembridge, 1 KB array\t1" % (RECEIVE_GROUP, RECEIVE_CASE))
        print("NOTE\t%s\t\"membridge\" receives 100 MB float64 arrays, the peer row "
              "1 KB ones, the counts of the array size group: the array is a view of the "
              "segment, no work of the call grows with its size; batches of %d arrays "
              "published, then received, each call timed: the first of a batch meets the "
              "caches and TLB the producer's copy of the batch has just flushed"
              % (RECEIVE_GROUP, RECEIVE_BATCH))
    sys.stdout.flush()


def group_notes(kind, n, runs, batch, placement):
    """The NOTE lines of a kind's group; the first also heads its table."""
    first = "%d messages per run (%%s) after %d of warm-up, median of %d run(s); %s" % (
        n, warmup(kind), runs, placement)
    if kind in ARRAY_KINDS:
        what = "%d-byte float64 arrays from a pool of %d" % (ARRAY_LEN[kind] * 8, ARRAY_POOL)
        notes = [
            "received as numpy arrays, the consumer checks each one's dtype, shape, tag "
            "(element 0) and last element; at most %d arrays in "
            "flight (channel records, zmq high-water marks, names queued)" % ARRAY_QUEUED,
            "shared_memory + names: a fresh block per array, its name through a "
            "multiprocessing.Queue, unlinked by the consumer; mp.Queue pickles the array",
        ]
        if ZMQ not in ARRAY_METHODS:
            notes.append("pyzmq is not installed: no pyzmq row")
    elif kind == "async":
        what = "short bytes b'msg-N'"
        notes = ["the consumer runs an asyncio loop: the channel with `async for` "
                 "(receive_async), the Pipe with the same try-else-add_reader wait; the "
                 "producer publishes / send_bytes with blocking calls"]
    else:
        what = ("short str 'msg-N'" if kind == "str" else
                "1024-byte bytes from a pool of %d" % BYTES_POOL)
        notes = [
            "membridge: push/pop retried without a timeout; membridge push/pop timeout: "
            "push/pop with a %g s timeout; membridge batch: push_many/pop_many of %d; "
            "rings of %d data bytes" % (WAIT_S, batch, RING_CAPACITY),
            "mp.Pipe and the pure-Python ring (bench/pyring.py, time.sleep(0) while full or "
            "empty) %s; the consumer checks the count and the first and last message"
            % ("encode and decode the str in the loop" if kind == "str" else "move the bytes"),
            "membridge channel: publish with a %g s timeout and receive_value%s; batch: "
            "publish_many/receive_many of %d, the consumer decoding each Message; a channel "
            "of %d data bytes" % (WAIT_S, "" if kind == "str" else " (receive_bytes)", batch,
                                  RING_CAPACITY),
        ]
    return [first % what] + notes


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=1000000,
                    help="short str messages per run (default 1000000)")
    ap.add_argument("--bytes-count", type=int, default=200000,
                    help="1 KiB bytes messages per run (default 200000)")
    ap.add_argument("--queue-count", type=int, default=None,
                    help="messages per run for the multiprocessing peers instead of the "
                    "group's count (default: the same count)")
    ap.add_argument("--array-count", type=int, default=2000,
                    help="1 MiB and 1 KB arrays per run; 100 MB arrays: a hundredth, at "
                    "least 4 (default 2000)")
    ap.add_argument("--async-count", type=int, default=200000,
                    help="short messages per run to the asyncio consumers (default 200000)")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per method; the median is shown (default 3)")
    ap.add_argument("--batch", type=int, default=256, help="push_many/pop_many list length")
    ap.add_argument("--kind", default="all",
                    choices=("str", "bytes", "array", "async", "size", "all"),
                    help="message kinds to measure (default all; the array kinds need "
                    "numpy)")
    ap.add_argument("--start-method", default="fork" if "fork" in mp.get_all_start_methods()
                    else "spawn", choices=mp.get_all_start_methods())
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 200000 str, 50000 bytes, 200 arrays, 50000 asyncio "
                    "messages, 1 run")
    ap.add_argument("--only", default=None, metavar="TEXT",
                    help="run only the methods whose label or RESULT name contains TEXT "
                    "(and the Queue)")
    ap.add_argument("--results", action="store_true",
                    help="also print the RESULT lines for the report")
    ap.add_argument("--min-ratio", type=float, default=None,
                    help="exit 1 unless str push/pop (spin) reaches this many times the Queue")
    args = ap.parse_args()
    if args.quick:
        args.count, args.bytes_count, args.runs = (min(args.count, 200000),
                                                   min(args.bytes_count, 50000), 1)
        args.array_count = min(args.array_count, 200)
        args.async_count = min(args.async_count, 50000)
    if min(args.count, args.bytes_count, args.array_count, args.async_count, args.runs,
           args.batch) < 1 or \
            (args.queue_count is not None and args.queue_count < 1):
        ap.error("counts, --runs and --batch must be >= 1")
    return args


def main():
    args = parse_args()
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cpus = (allowed[0], allowed[1]) if len(allowed) >= 2 else (None, None)
    ctx = mp.get_context(args.start_method)
    kinds = {"all": ["str", "bytes", "array", "async", "kb", "big"],
             "size": ["kb", "big"]}.get(args.kind, [args.kind])
    if numpy is None and any(k in ARRAY_KINDS for k in kinds):
        print("numpy is not installed: the array groups are skipped")
        kinds = [k for k in kinds if k not in ARRAY_KINDS]
    counts = {"str": args.count, "bytes": args.bytes_count, "array": args.array_count,
              "kb": args.array_count, "big": max(4, args.array_count // 100),
              "async": args.async_count}

    print("command: %s" % command_line())
    print("machine: nproc=%s (usable %d), cpu=%s, %s %s" % (
        os.cpu_count(), len(allowed) or os.cpu_count(), cpu_model(), platform.system(),
        platform.release()))
    print("python:  %s %s" % (platform.python_implementation(), sys.version.split()[0]))
    print("membridge %s from %s" % (membridge.__version__, os.path.dirname(membridge.__file__)))
    placement = ("producer on CPU %d, consumer on CPU %d" % cpus if cpus[0] is not None
                 else "not pinned (fewer than 2 CPUs)")
    print("setup:   %s messages per run%s, median of %d run(s), %d warm-up messages, "
          "batch %d, rings of %d bytes, start method %s, %s; messages built before the clock"
          % (" and ".join("%d %s" % (counts[k], CASES.get(k, GROUPS[k])) for k in kinds),
             "" if args.queue_count is None else
             " (%d for the multiprocessing peers)" % args.queue_count,
             args.runs, WARMUP, args.batch, RING_CAPACITY, args.start_method, placement))
    sys.stdout.flush()

    status = 0
    receive_ns = {}
    for kind in kinds:
        all_methods, base, pairs = kind_methods(kind)
        methods = [m for m in all_methods if m is base or args.only is None or
                   args.only in m.label or args.only in m.impl]
        rates = {}
        # Interleave the methods run by run so slow drift affects them alike.
        for _ in range(args.runs):
            for m in methods:
                n = counts[kind]
                if args.queue_count is not None and m.setup in (setup_queue, setup_pipe):
                    n = args.queue_count
                rates.setdefault(m.label, []).append(one_run(ctx, m, kind, n, args.batch,
                                                             cpus))
        print_group(kind, methods, base, pairs, rates, args.results,
                    group_notes(kind, counts[kind], args.runs, args.batch, placement))
        if CHANNEL_RECEIVE.label in rates:
            receive_ns[kind] = statistics.median(rates[CHANNEL_RECEIVE.label])
        if kind == "str" and args.min_ratio is not None and SPIN.label in rates:
            ratio = statistics.median(rates[SPIN.label]) / statistics.median(rates[QUEUE.label])
            if ratio < args.min_ratio:
                print("FAIL: str push/pop (spin) is %.1fx the Queue, below the target of %gx"
                      % (ratio, args.min_ratio))
                status = 1
    if len(receive_ns) == 2:
        print_receive(receive_ns, args.runs, args.results)
    return status


if __name__ == "__main__":
    sys.exit(main())
