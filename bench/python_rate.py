#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-process message rate from Python: membridge vs multiprocessing and a pure-Python ring.

usage: python_rate.py [-n COUNT] [--bytes-count COUNT] [--queue-count COUNT]
                      [--runs R] [--batch B] [--kind str|bytes|all]
                      [--start-method fork|spawn|forkserver] [--only TEXT]
                      [--quick] [--results] [--min-ratio X]

A producer process sends messages to a consumer process, each pinned to its
own CPU when there are two or more. Two kinds of message, each its own group:

  python str          COUNT short str "msg-0", "msg-1", ... (-n)
  python 1 KiB bytes  COUNT 1024-byte bytes objects (--bytes-count), drawn
                      from a pool of 256 distinct ones, each tagged with its
                      number

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

The producer builds its list of messages before the clock starts. Both
sides first pass 2000 warm-up messages, then meet at a barrier; the rate is
COUNT / (last message received - both processes released), the median of R
runs, the methods interleaved run by run. The consumer checks the count and
the first and last message of the warm-up and of the timed part.

--results also prints one machine-readable line per figure,
  RESULT<TAB>group<TAB>case<TAB>impl<TAB>value<TAB>msg/s
with impl "membridge" (push/pop spin), "membridge push/pop timeout",
"membridge batch", "mp.Queue", "mp.Pipe", "pure-Python shm ring".
--min-ratio X exits 1 if str push/pop (spin) is below X times the Queue.

From a build tree, point PYTHONPATH at BUILD/python-build/lib and
LD_LIBRARY_PATH at BUILD/lib/.libs; after `make install` nothing is needed.
"""
import argparse
import collections
import os
import platform
import shlex
import statistics
import struct
import sys
import time
import traceback

try:
    import membridge
except ImportError as e:  # pragma: no cover - a hint for the build tree
    sys.exit("python_rate.py: cannot import membridge (%s). From a build tree run with\n"
             "  PYTHONPATH=BUILD/python-build/lib LD_LIBRARY_PATH=BUILD/lib/.libs" % e)
import multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyring  # noqa: E402  (bench/pyring.py, next to this script)

RING_CAPACITY = 1 << 20      # data bytes of both rings; membridge's segment is 24 more
WAIT_S = 5.0                 # timeout of the blocking forms (never reached)
CHILD_LIMIT_S = 300.0        # a run that takes longer than this has hung
WARMUP = 2000                # untimed messages before the barrier
BYTES_LEN = 1024
BYTES_POOL = 256
CASE = "cross-process rate"


# ------------------------------------------------------------ messages

def make_bytes(k):
    tag = struct.pack("<Q", k)
    return tag + bytes((k + j) & 0xff for j in range(BYTES_LEN - len(tag)))


_POOL = []


def message(kind, i):
    """Message number i of a kind ("str" or "bytes")."""
    if kind == "str":
        return "msg-%d" % i
    if not _POOL:
        _POOL.extend(make_bytes(k) for k in range(BYTES_POOL))
    return _POOL[i % BYTES_POOL]


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


# ------------------------------------------------------------ transports
# A transport's setup(ctx) returns (producer endpoint, consumer endpoint,
# cleanup). An endpoint is either an object used as is (Queue, Connection)
# or a ("membridge" | "pyring", name) pair that the worker opens.

def setup_membridge(ctx):
    name = "/mb-bench-%d-%d" % (os.getpid(), time.monotonic_ns())
    mem = membridge.SharedMemory.create(name, RING_CAPACITY + 24, replace=True)
    ring = mem.spsc()  # the creator's spsc() writes the ring header

    def cleanup():
        ring.close()
        mem.close()
        membridge.SharedMemory.remove(name)
    return ("membridge", name), ("membridge", name), cleanup


def setup_queue(ctx):
    q = ctx.Queue()

    def cleanup():
        q.close()
        q.join_thread()
    return q, q, cleanup


def setup_pipe(ctx):
    r, w = ctx.Pipe(duplex=False)

    def cleanup():
        r.close()
        w.close()
    return w, r, cleanup


def setup_pyring(ctx):
    shm = pyring.create(RING_CAPACITY)

    def cleanup():
        shm.close()
        shm.unlink()
    return ("pyring", shm.name), ("pyring", shm.name), cleanup


Method = collections.namedtuple("Method", "label impl produce consume setup")
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
SPIN, _, BATCH, QUEUE, _, PYRING = METHODS
GROUPS = {"str": "python str", "bytes": "python 1 KiB bytes"}


# ------------------------------------------------------------ processes

def attach(endpoint):
    """The object a worker sends or receives through, and how to let it go."""
    if not isinstance(endpoint, tuple):
        return endpoint, lambda: None
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
        target, close = attach(endpoint)
        producer = role == "producer"
        warm = fn(target, messages(kind, WARMUP) if producer else WARMUP, batch, kind)
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
    want = (n, message(kind, 0), message(kind, n - 1))
    if got != want:
        raise RuntimeError("%s: consumer's %s (count, first, last) = %.200r, expected %.200r"
                           % (label, what, got, want))


def one_run(ctx, method, kind, n, batch, cpus):
    """One producer/consumer pair; returns messages per second."""
    label = method.label
    prod_ep, cons_ep, cleanup = method.setup(ctx)
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
        check(label, "warm-up", warm, kind, WARMUP)
        check(label, "timed part", got, kind, n)
        for p in procs:
            p.join(10)
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


def print_group(kind, methods, rates, results, notes):
    group = GROUPS[kind]
    base = statistics.median(rates[QUEUE.label])
    print()
    print("%s: %s" % (group, notes[0]))
    print("%-37s %14s %10s %9s   %s" % ("method", "messages/s", "ns/msg", "vs Queue", "runs"))
    for m in methods:
        med = statistics.median(rates[m.label])
        print("%-37s %14.0f %10.1f %8.1fx   %s" % (
            m.label, med, 1e9 / med, med / base, " ".join("%.0f" % x for x in rates[m.label])))
    med = {m.label: statistics.median(rates[m.label]) for m in methods}
    for ours, peer in ((SPIN, QUEUE), (SPIN, PYRING), (BATCH, QUEUE)):
        if ours.label in med and peer.label in med:
            print("%s vs %s: %.1fx" % (ours.label, peer.label, med[ours.label] / med[peer.label]))
    if results:
        for m in methods:
            print("RESULT\t%s\t%s\t%s\t%.4g\tmsg/s" % (group, CASE, m.impl, med[m.label]))
        for note in notes:
            print("NOTE\t%s\t%s" % (group, note))
    sys.stdout.flush()


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=1000000,
                    help="short str messages per run (default 1000000)")
    ap.add_argument("--bytes-count", type=int, default=200000,
                    help="1 KiB bytes messages per run (default 200000)")
    ap.add_argument("--queue-count", type=int, default=None,
                    help="messages per run for the multiprocessing peers instead of the "
                    "group's count (default: the same count)")
    ap.add_argument("--runs", type=int, default=3,
                    help="runs per method; the median is shown (default 3)")
    ap.add_argument("--batch", type=int, default=256, help="push_many/pop_many list length")
    ap.add_argument("--kind", default="all", choices=("str", "bytes", "all"),
                    help="message kinds to measure (default all)")
    ap.add_argument("--start-method", default="fork" if "fork" in mp.get_all_start_methods()
                    else "spawn", choices=mp.get_all_start_methods())
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 200000 str and 50000 bytes messages, 1 run")
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
    if min(args.count, args.bytes_count, args.runs, args.batch) < 1 or \
            (args.queue_count is not None and args.queue_count < 1):
        ap.error("counts, --runs and --batch must be >= 1")
    return args


def main():
    args = parse_args()
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cpus = (allowed[0], allowed[1]) if len(allowed) >= 2 else (None, None)
    ctx = mp.get_context(args.start_method)
    kinds = ["str", "bytes"] if args.kind == "all" else [args.kind]
    counts = {"str": args.count, "bytes": args.bytes_count}

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
          % (" and ".join("%d %s" % (counts[k], GROUPS[k]) for k in kinds),
             "" if args.queue_count is None else
             " (%d for the multiprocessing peers)" % args.queue_count,
             args.runs, WARMUP, args.batch, RING_CAPACITY, args.start_method, placement))
    sys.stdout.flush()

    methods = [m for m in METHODS
               if m is QUEUE or args.only is None or args.only in m.label or args.only in m.impl]
    status = 0
    for kind in kinds:
        rates = {}
        # Interleave the methods run by run so slow drift affects them alike.
        for _ in range(args.runs):
            for m in methods:
                n = counts[kind]
                if args.queue_count is not None and m.setup in (setup_queue, setup_pipe):
                    n = args.queue_count
                rates.setdefault(m.label, []).append(one_run(ctx, m, kind, n, args.batch,
                                                             cpus))
        print_group(kind, methods, rates, args.results, [
            "%d messages per run (%s) after %d of warm-up, median of %d run(s); %s"
            % (counts[kind], "short str 'msg-N'" if kind == "str" else
               "1024-byte bytes from a pool of %d" % BYTES_POOL, WARMUP, args.runs, placement),
            "membridge: push/pop retried without a timeout; membridge push/pop timeout: "
            "push/pop with a %g s timeout; membridge batch: push_many/pop_many of %d; "
            "rings of %d data bytes" % (WAIT_S, args.batch, RING_CAPACITY),
            "mp.Pipe and the pure-Python ring (bench/pyring.py, time.sleep(0) while full or "
            "empty) %s; the consumer checks the count and the first and last message"
            % ("encode and decode the str in the loop" if kind == "str" else "move the bytes"),
        ])
        if kind == "str" and args.min_ratio is not None and SPIN.label in rates:
            ratio = statistics.median(rates[SPIN.label]) / statistics.median(rates[QUEUE.label])
            if ratio < args.min_ratio:
                print("FAIL: str push/pop (spin) is %.1fx the Queue, below the target of %gx"
                      % (ratio, args.min_ratio))
                status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
