#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cross-process rate of short str messages: membridge ring vs multiprocessing.Queue.

usage: python_rate.py [-n COUNT] [--queue-count COUNT] [--runs R] [--batch B]
                      [--start-method fork|spawn|forkserver] [--quick]
                      [--min-ratio X]

A producer process sends COUNT messages "msg-0", "msg-1", ... to a consumer
process, each pinned to its own CPU when there are two or more. The consumer
checks the count and the first and last message. Methods, all in one run:

  push/pop spin      push(m) retried while it returns False (full),
                     pop("str") retried while it returns None (empty)
  push/pop timeout   push(m, timeout=T) / pop("str", timeout=T): the library
                     spins briefly, then sleeps on the ring's event
  push_many/pop_many lists of B messages, one publish per call
  mp.Queue           multiprocessing.Queue put(m) / get()

The producer builds its list of messages before the clock starts. The rate
is COUNT / (last message popped - both processes released), the
median of R runs; the ratio column divides it by multiprocessing.Queue's
rate. --min-ratio X exits 1 if push/pop spin is below X times the Queue.

From a build tree, point PYTHONPATH at BUILD/python-build/lib and
LD_LIBRARY_PATH at BUILD/lib/.libs; after `make install` nothing is needed.
"""
import argparse
import os
import platform
import shlex
import statistics
import sys
import time
import traceback

try:
    import membridge
except ImportError as e:  # pragma: no cover - a hint for the build tree
    sys.exit("python_rate.py: cannot import membridge (%s). From a build tree run with\n"
             "  PYTHONPATH=BUILD/python-build/lib LD_LIBRARY_PATH=BUILD/lib/.libs" % e)
import multiprocessing as mp

RING_CAPACITY = 1 << 20      # data bytes of the ring; the segment is 24 more
WAIT_S = 5.0                 # timeout of the blocking forms (never reached)
CHILD_LIMIT_S = 300.0        # a run that takes longer than this has hung


def message(i):
    return "msg-%d" % i


def pin(cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def open_ring(name):
    mem = membridge.SharedMemory.open(name)
    return mem, mem.spsc()


# ------------------------------------------------------------ producers
# Each producer takes (endpoint, msgs, batch) and sends the list msgs, built
# before the clock starts so that the loops time the transport, not "%d".

def produce_spin(ring, msgs, batch):
    push = ring.push
    for m in msgs:
        while not push(m):
            pass


def produce_timeout(ring, msgs, batch):
    push = ring.push
    for m in msgs:
        if not push(m, WAIT_S):
            raise RuntimeError("ring full for %g s at %r" % (WAIT_S, m))


def produce_many(ring, msgs, batch):
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


def produce_queue(q, msgs, batch):
    put = q.put
    for m in msgs:
        put(m)


# ------------------------------------------------------------ consumers
# Each consumer returns (count, first, last).

def consume_spin(ring, n, batch):
    pop = ring.pop
    first = last = None
    for i in range(n):
        m = pop("str")
        while m is None:
            m = pop("str")
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_timeout(ring, n, batch):
    pop = ring.pop
    first = last = None
    for i in range(n):
        m = pop("str", WAIT_S)
        if m is None:
            raise RuntimeError("no message for %g s after %d" % (WAIT_S, i))
        if i == 0:
            first = m
        last = m
    return n, first, last


def consume_many(ring, n, batch):
    pop_many = ring.pop_many
    pop = ring.pop
    count = 0
    first = last = None
    while count < n:
        got = pop_many(batch, "str")
        if not got:
            m = pop("str", WAIT_S)  # empty: wait for one, then batch again
            if m is None:
                raise RuntimeError("no message for %g s after %d" % (WAIT_S, count))
            got = [m]
        if first is None:
            first = got[0]
        count += len(got)
        last = got[-1]
    return count, first, last


def consume_queue(q, n, batch):
    get = q.get
    first = last = None
    for i in range(n):
        m = get()
        if i == 0:
            first = m
        last = m
    return n, first, last


METHODS = [
    # label, producer, consumer, uses the ring
    ("membridge push/pop (spin)", produce_spin, consume_spin, True),
    ("membridge push/pop (timeout)", produce_timeout, consume_timeout, True),
    ("membridge push_many/pop_many", produce_many, consume_many, True),
    ("multiprocessing.Queue put/get", produce_queue, consume_queue, False),
]
QUEUE_LABEL = METHODS[-1][0]


# ------------------------------------------------------------ processes

def worker(role, fn_name, endpoint, n, batch, cpu, barrier, result):
    """Run one side: pin, open the ring (or take the queue), wait for the
    other side, then time fn. Sends ('ok', t0, t1, extra) or ('error', text)."""
    mem = ring = None
    try:
        pin(cpu)
        fn = globals()[fn_name]
        if isinstance(endpoint, str):
            mem, ring = open_ring(endpoint)
            target = ring
        else:
            target = endpoint
        arg = [message(i) for i in range(n)] if role == "producer" else n
        barrier.wait(60)
        t0 = time.perf_counter_ns()
        extra = fn(target, arg, batch)
        t1 = time.perf_counter_ns()
        result.send(("ok", t0, t1, extra))
    except BaseException:
        result.send(("error", "%s: %s" % (role, traceback.format_exc())))
    finally:
        if ring is not None:
            ring.close()
        if mem is not None:
            mem.close()
        result.close()


def one_run(ctx, method, n, batch, cpus, run_id):
    """One producer/consumer pair; returns messages per second."""
    label, produce, consume, uses_ring = method
    mem = ring = None
    name = "/mb-bench-%d-%d" % (os.getpid(), run_id)
    if uses_ring:
        mem = membridge.SharedMemory.create(name, RING_CAPACITY + 24, replace=True)
        ring = mem.spsc()  # the creator's spsc() writes the ring header
        endpoint = name
    else:
        endpoint = ctx.Queue()
    barrier = ctx.Barrier(2)
    pipes = [ctx.Pipe(duplex=False) for _ in range(2)]
    procs = [
        ctx.Process(target=worker, args=("producer", produce.__name__, endpoint, n, batch,
                                         cpus[0], barrier, pipes[0][1])),
        ctx.Process(target=worker, args=("consumer", consume.__name__, endpoint, n, batch,
                                         cpus[1], barrier, pipes[1][1])),
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
        (_, p0, _, _), (_, c0, c1, (count, first, last)) = results
        want = (n, message(0), message(n - 1))
        if (count, first, last) != want:
            raise RuntimeError("%s: consumer got (count, first, last) = %r, expected %r"
                               % (label, (count, first, last), want))
        for p in procs:
            p.join(10)
        return n / ((c1 - min(p0, c0)) / 1e9)
    finally:
        for p in procs:
            if p.is_alive():
                p.terminate()
                p.join()
        if ring is not None:
            ring.close()
            mem.close()
            membridge.SharedMemory.remove(name)
        elif uses_ring is False:
            endpoint.close()
            endpoint.join_thread()


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=1000000,
                    help="messages per membridge run (default 1000000)")
    ap.add_argument("--queue-count", type=int, default=None,
                    help="messages per multiprocessing.Queue run (default count/5)")
    ap.add_argument("--runs", type=int, default=3, help="runs per method; the median is shown")
    ap.add_argument("--batch", type=int, default=256, help="push_many/pop_many list length")
    ap.add_argument("--start-method", default="fork" if "fork" in mp.get_all_start_methods()
                    else "spawn", choices=mp.get_all_start_methods())
    ap.add_argument("--quick", action="store_true",
                    help="smoke run: 100000 / 20000 messages, 1 run")
    ap.add_argument("--only", default=None, metavar="TEXT",
                    help="run only the methods whose label contains TEXT (and the Queue)")
    ap.add_argument("--min-ratio", type=float, default=None,
                    help="exit 1 unless push/pop (spin) reaches this many times the Queue")
    args = ap.parse_args()
    if args.quick:
        args.count, args.runs = min(args.count, 100000), 1
        if args.queue_count is None:
            args.queue_count = 20000
    if args.queue_count is None:
        args.queue_count = max(1, args.count // 5)
    if args.count < 1 or args.queue_count < 1 or args.runs < 1 or args.batch < 1:
        ap.error("counts, --runs and --batch must be >= 1")

    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cpus = (allowed[0], allowed[1]) if len(allowed) >= 2 else (None, None)
    ctx = mp.get_context(args.start_method)

    print("command: %s" % command_line())
    print("machine: nproc=%s (usable %d), cpu=%s, %s %s" % (
        os.cpu_count(), len(allowed) or os.cpu_count(), cpu_model(), platform.system(),
        platform.release()))
    print("python:  %s %s" % (platform.python_implementation(), sys.version.split()[0]))
    print("membridge %s from %s" % (membridge.__version__, os.path.dirname(membridge.__file__)))
    print("setup:   %d messages per membridge run, %d per Queue run, median of %d run(s), "
          "batch %d, ring %d bytes, start method %s, %s; messages built before the clock"
          % (args.count, args.queue_count, args.runs, args.batch, RING_CAPACITY,
             args.start_method,
             "producer on CPU %d, consumer on CPU %d" % cpus if cpus[0] is not None
             else "not pinned (fewer than 2 CPUs)"))
    sys.stdout.flush()

    methods = [m for m in METHODS
               if m[0] == QUEUE_LABEL or args.only is None or args.only in m[0]]
    rates = {}
    run_id = 0
    # Interleave the methods run by run so slow drift affects them alike.
    for r in range(args.runs):
        for method in methods:
            n = args.queue_count if method[0] == QUEUE_LABEL else args.count
            run_id += 1
            rates.setdefault(method[0], []).append(one_run(ctx, method, n, args.batch, cpus,
                                                           run_id))
    base = statistics.median(rates[QUEUE_LABEL])

    print()
    print("%-31s %14s %10s %9s   %s" % ("method", "messages/s", "ns/msg", "vs Queue", "runs"))
    for label, _, _, _ in methods:
        med = statistics.median(rates[label])
        print("%-31s %14.0f %10.1f %8.1fx   %s" % (
            label, med, 1e9 / med, med / base, " ".join("%.0f" % x for x in rates[label])))
    if METHODS[0][0] not in rates:
        return 0
    ratio = statistics.median(rates[METHODS[0][0]]) / base
    print()
    print("push/pop (spin) vs multiprocessing.Queue: %.1fx" % ratio)
    if args.min_ratio is not None and ratio < args.min_ratio:
        print("FAIL: below the target of %gx" % args.min_ratio)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
