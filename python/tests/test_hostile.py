# SPDX-License-Identifier: MIT
"""A hostile peer scribbling on a live ring and a live view lock, from Python.

A producer, a consumer (or two lock users) and a scribbler run as separate
interpreters. The scribbler maps /dev/shm/<name> itself and writes random
and plausible-but-evil values into the ring header, the frame lengths, the
data, the lock word and the companion segment, in bursts with quiet spells
between them (after which it repairs the header so that traffic flows). The
others may only see results and the exceptions README documents for corrupt
peer state; never a crash, a hang, a MemoryError, a message longer than the
ring, or a call that overruns its timeout. MBT_HOSTILE_SECONDS sets the
length of each run (1 s by default).
"""

import json
import os
import random
import time

import pytest

from membridge import CorruptSegmentError, SharedMemory

from mbhelpers import finish, popen_python, remove_segment_files

SECONDS = max(1, int(os.environ.get("MBT_HOSTILE_SECONDS") or 1))
CAPACITY = 4096
# A call must be back this long after its own timeout.
SLACK_S = 1.0
# Growth of a process's peak RSS that would mean an allocation sized by the
# peer; not checked with AddressSanitizer preloaded (its quarantine keeps
# freed memory resident on purpose).
RSS_LIMIT_KB = 32 * 1024
RSS_CHECKED = "asan" not in os.environ.get("LD_PRELOAD", "")

# Shared by every peer process: the clock, the tally, the report.
PEER_COMMON = """
    import json, random, resource, sys, time
    import membridge
    from membridge import SharedMemory

    name, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    counts, unexpected = {}, []
    slowest = 0.0
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    def call(what, fn, allowed, timeout=0.0):
        '''Run fn(); count its outcome; (True, result) or (False, exception).'''
        global slowest
        t0 = time.monotonic()
        try:
            ok, out = True, fn()
            kind = "ok"
        except allowed as e:
            ok, out = False, e
            kind = type(e).__name__
        except BaseException as e:  # anything else breaks the contract
            ok, out = False, e
            kind = "UNEXPECTED " + type(e).__name__
            unexpected.append("%s: %r" % (what, e))
        slowest = max(slowest, time.monotonic() - t0 - timeout)
        key = what + ": " + kind
        counts[key] = counts.get(key, 0) + 1
        return ok, out

    def open_ring(mem):
        '''mem.spsc(), retried while the scribbler has the header invalid.'''
        while True:
            ok, ring = call("spsc()", mem.spsc,
                            (membridge.CorruptSegmentError, BlockingIOError))
            if ok or time.monotonic() > end + 5:
                return ring if ok else mem.spsc()
            time.sleep(0.001)

    def report(**extra):
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0
        print(json.dumps(dict(counts=counts, unexpected=unexpected[:10],
                              n_unexpected=len(unexpected), slowest=slowest,
                              rss_growth_kb=rss, **extra)))
"""

RING_ERRORS = "(membridge.CorruptSegmentError,)"

PRODUCER = PEER_COMMON + """
    allowed = %s
    pushed = 0
    with SharedMemory.open(name) as mem, open_ring(mem) as ring:
        while time.monotonic() < end:
            r = rng.randrange(6)
            t = rng.choice([None, 0.005])
            if r == 0:
                ok, out = call("push bytes", lambda: ring.push(bytes(rng.randrange(300)),
                                                               timeout=t), allowed, t or 0)
            elif r == 1:
                ok, out = call("push str", lambda: ring.push("m%%d" %% pushed, timeout=t),
                               allowed, t or 0)
            elif r == 2:
                ok, out = call("push list", lambda: ring.push([pushed, "x" * 20, 1.5],
                                                              timeout=t), allowed, t or 0)
            elif r == 3:
                ok, out = call("push_many", lambda: ring.push_many(["a", b"bc", 7] * 3,
                                                                   timeout=t),
                               allowed, t or 0)
            elif r == 4:
                ok, out = call("used/free", lambda: (ring.used(), ring.free(),
                                                     ring.is_empty(), ring.is_full()),
                               allowed)
            else:
                ok, out = call("spsc()", lambda: mem.spsc().close(),
                               allowed + (BlockingIOError,))
            pushed += ok and out is True
    report(pushed=pushed)
""" % RING_ERRORS

CONSUMER = PEER_COMMON + """
    # ValueError: only the known "invalid argument" of a frame whose tail was
    # taken back during pop(timeout) (see test_pop_when_peer_takes_back_its_tail).
    allowed = %s + (membridge.MessageDecodeError, ValueError)
    longest, received = 0, 0

    def size_of(item):
        if isinstance(item, (bytes, bytearray)):
            return len(item)
        if isinstance(item, str):
            return len(item.encode("utf-8", "surrogatepass")) + 4
        if isinstance(item, list):
            return sum(size_of(i) for i in item)
        return 8

    with SharedMemory.open(name) as mem, open_ring(mem) as ring:
        cap = ring.capacity()
        buf = bytearray(cap)
        while time.monotonic() < end:
            r = rng.randrange(9)
            t = rng.choice([None, 0.005])
            if r == 0:
                ok, out = call("pop", lambda: ring.pop(timeout=t), allowed, t or 0)
            elif r == 1:
                ok, out = call("pop str", lambda: ring.pop("str", timeout=t), allowed, t or 0)
            elif r == 2:
                ok, out = call("pop int", lambda: ring.pop("int", timeout=t), allowed, t or 0)
            elif r == 3:
                ok, out = call("pop_mixed", lambda: ring.pop_mixed([("int", 1), ("str", 1)],
                                                                   timeout=t),
                               allowed, t or 0)
            elif r == 4:
                ok, out = call("pop_many", lambda: ring.pop_many(8, timeout=t), allowed,
                               t or 0)
            elif r == 5:
                ok, out = call("pop_many str", lambda: ring.pop_many(8, "str", timeout=t),
                               allowed, t or 0)
            elif r == 6:
                ok, out = call("pop_into", lambda: ring.pop_into(buf, timeout=t), allowed,
                               t or 0)
                if ok and out is not None:
                    out = bytes(buf[:out])
            elif r == 7:
                ok, out = call("used/free", lambda: (ring.used(), ring.free(),
                                                     ring.is_empty(), ring.is_full()),
                               allowed)
            else:
                ok, out = call("spsc()", lambda: mem.spsc().close(),
                               allowed + (BlockingIOError,))
            if not ok:
                if type(out) is ValueError and not str(out).startswith("invalid argument for"):
                    unexpected.append("%%r" %% out)
                out = out.raw if isinstance(out, membridge.MessageDecodeError) else None
            if out is not None and r < 7:
                received += 1
                longest = max(longest, size_of(out))
    report(longest=longest, received=received, capacity=cap)
""" % RING_ERRORS

RING_SCRIBBLER = """
    import mmap, random, struct, sys, time

    name, seconds, seed, cap = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), 4096
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    M = (1 << 64) - 1

    with open("/dev/shm" + name, "r+b") as f:
        seg = mmap.mmap(f.fileno(), 0)
    with open("/dev/shm" + name + ".membridge-wait", "r+b") as f:
        comp = mmap.mmap(f.fileno(), 256)

    def get(i):
        return struct.unpack_from("<Q", seg, 8 * i)[0]

    def put(i, v):
        struct.pack_into("<Q", seg, 8 * i, v & M)

    def put_len(pos, n):
        for k, b in enumerate(struct.pack("<I", n & 0xFFFFFFFF)):
            seg[24 + (pos + k) % cap] = b

    def evil(k):
        head, tail = get(0), get(1)
        [lambda: put(0, tail + cap + 1),           # head = tail + capacity + 1
         lambda: put_len(head, cap),               # a frame as long as the ring
         lambda: put_len(head, 0xFFFFFFFF),
         lambda: put(1, head - 1),                 # tail behind head
         lambda: put(0, tail - cap - 1),           # more used than the capacity
         lambda: put(1, head + cap),               # full of garbage frames
         lambda: put(2, 1 << 62),                  # huge capacity
         lambda: put(2, cap - 1),                  # not a power of two
         lambda: put(2, 0),
         lambda: (put_len(cap - 2, cap // 2), put(0, cap - 2),
                  put(1, cap - 2 + 4 + cap // 2)),  # a frame across the wrap
         lambda: (put_len(cap - 2, cap // 2 + 1), put(0, cap - 2),
                  put(1, cap - 2 + 4 + cap // 2)),  # one byte longer than published
         lambda: (put(0, M - 3), put_len(M - 3, 8), put(1, M - 3 + 12)),
         ][k % 12]()

    def scribble():
        r = rng.randrange(8)
        v = rng.getrandbits(64)
        if r < 3:
            put(r, v)
        elif r == 3:
            put(0, get(1) + rng.randrange(-2 * cap, 2 * cap))
        elif r == 4:
            put_len(get(0), v)
        elif r == 5:
            put_len(v, v >> 32)
        else:
            at = rng.randrange(24, 24 + cap - 64)
            seg[at:at + 64] = rng.randbytes(64)

    n, k = 0, 0
    while time.monotonic() < end:
        burst = time.monotonic() + 0.02
        k += 1
        while time.monotonic() < burst:
            if k % 2:
                evil(n)
            else:
                scribble()
            if rng.randrange(8) == 0:
                comp[:] = rng.randbytes(256)
            n += 1
            time.sleep(rng.random() * 0.0002)
        put(2, cap)
        put(0, get(1))
        comp[:] = bytes(256)
        time.sleep(0.02)
        put(2, cap)
        put(0, get(1))
    print(n)
"""

LOCK_USER = PEER_COMMON + """
    import errno
    # What each call may raise with a scribbled lock word: lock waits time out
    # (or find a dead writer), an unlock finds the word changed, a str read
    # finds a bad length or bad UTF-8 (ValueError, UnicodeDecodeError), and
    # break_lock() finds readers, a writer it cannot judge, or a live one.
    waits = (TimeoutError, OSError)
    with SharedMemory.open(name) as mem, mem.map() as view:
        while time.monotonic() < end:
            r = rng.randrange(6)
            if r < 4:
                write = r >= 2
                lock = view.lock_write if write else view.lock_read
                ok, e = call("lock_write" if write else "lock_read",
                             lambda: lock(timeout=0.005), waits, 0.005)
                if not ok and type(e) is OSError and e.errno != errno.EOWNERDEAD:
                    unexpected.append("lock: %r" % e)
                if ok and write:
                    data = rng.choice([rng.randbytes(64), "str " * rng.randrange(9)])
                    call("write", lambda: view.write(data, offset=rng.randrange(8)), ())
                elif ok:
                    call("read str", lambda: (view.seek(rng.randrange(16)),
                                              view.read("str")), (ValueError,))
                if ok:
                    call("unlock", view.unlock, (membridge.CorruptSegmentError,))
            elif r == 4:
                ok, e = call("state", lambda: (view.reader_count(), view.is_write_locked()),
                             ())
                if ok and e[0] < 0:
                    unexpected.append("negative reader count %d" % e[0])
            else:
                ok, e = call("break_lock", view.break_lock, (PermissionError, OSError))
                if not ok and type(e) is OSError and e.errno != errno.EBUSY:
                    unexpected.append("break_lock: %r" % e)
    report()
"""

LOCK_SCRIBBLER = """
    import mmap, random, struct, sys, time

    name, seconds, seed = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    evil = [-2**31, 2**31 - 1, 2**31 - 2, 1 << 30, -1, 0, 1, -2, -2**31 + 1]

    with open("/dev/shm" + name, "r+b") as f:
        seg = mmap.mmap(f.fileno(), 0)
    with open("/dev/shm" + name + ".membridge-wait", "r+b") as f:
        comp = mmap.mmap(f.fileno(), 256)
    n = 0
    while time.monotonic() < end:
        burst = time.monotonic() + 0.02
        while time.monotonic() < burst:
            r = rng.randrange(4)
            v = [rng.randrange(-2**31, 2**31), evil[n % len(evil)],
                 rng.randrange(1 << 28, 2**31), -rng.randrange(5000000, 6000000)][r]
            struct.pack_into("<i", seg, 0, v)
            if rng.randrange(5) == 0:
                struct.pack_into("<I", seg, 4, rng.randrange(600))
                seg[8:40] = rng.randbytes(32)
            if rng.randrange(7) == 0:
                comp[:] = rng.randbytes(256)
            n += 1
            time.sleep(rng.random() * 0.0002)
        struct.pack_into("<i", seg, 0, 0)
        comp[:] = bytes(256)
        time.sleep(0.02)
    print(n)
"""


def run_peers(name, peers):
    """Start the peer scripts on `name`; their parsed reports, in order."""
    seed = random.randrange(1 << 30)
    procs = [popen_python(code, name, SECONDS, seed + i) for i, code in enumerate(peers)]
    results = []
    for code, proc in zip(peers, procs):
        rc, out, err = finish(proc, timeout=SECONDS + 60)
        assert rc == 0, "peer exited with %d (negative: killed by that signal)\n%s%s" % (
            rc, out, err)
        results.append(json.loads(out.strip().splitlines()[-1]))
    print("hostile run of %d s, seed %d" % (SECONDS, seed))
    for r in results[:-1]:
        assert r["n_unexpected"] == 0, r["unexpected"]
        assert r["slowest"] < SLACK_S, "a call overran its timeout by %.3f s" % r["slowest"]
        assert not RSS_CHECKED or r["rss_growth_kb"] < RSS_LIMIT_KB, r["rss_growth_kb"]
        print(json.dumps(r["counts"], sort_keys=True))
    print("scribbles: %d" % results[-1])
    return results


def test_hostile_ring(shm_name):
    """Pops, batches and accounting under a scribbler: documented errors only."""
    try:
        with SharedMemory.create(shm_name, CAPACITY + 24) as mem, mem.spsc():
            producer, consumer, scribbles = run_peers(
                shm_name, [PRODUCER, CONSUMER, RING_SCRIBBLER])
        assert consumer["capacity"] == CAPACITY
        # No message longer than a frame can be (a hostile length is bounded).
        assert consumer["longest"] <= CAPACITY - 4
        # Traffic flowed in the quiet spells and the corruption was seen.
        assert producer["pushed"] > 0 and consumer["received"] > 0
        assert any("CorruptSegmentError" in k for k in consumer["counts"])
        assert scribbles > 0
    finally:
        remove_segment_files(shm_name)


def test_hostile_view_lock(shm_name):
    """Locks and locked reads under a lock-word scribbler: errors or timeouts."""
    try:
        with SharedMemory.create(shm_name, 256) as mem, mem.map() as view:
            a, b, scribbles = run_peers(shm_name, [LOCK_USER, LOCK_USER, LOCK_SCRIBBLER])
            counts = {k: a["counts"].get(k, 0) + b["counts"].get(k, 0)
                      for k in set(a["counts"]) | set(b["counts"])}
            assert counts.get("lock_write: ok", 0) > 0
            assert counts.get("lock_write: TimeoutError", 0) > 0
            assert scribbles > 0
            # Service comes back once the word is free again.
            view.break_lock(force=True)
            with view.write_locked(timeout=1):
                view.write(5, offset=0)
            assert view.read_range(0, 8) == (5).to_bytes(8, "little")
    finally:
        remove_segment_files(shm_name)


TAIL_FLICKER = """
    import mmap, struct, sys, time
    with open("/dev/shm" + sys.argv[1], "r+b") as f:
        seg = mmap.mmap(f.fileno(), 0)
    struct.pack_into("<I4s", seg, 24, 4, b"abcd")
    end = time.monotonic() + float(sys.argv[2])
    while time.monotonic() < end:
        struct.pack_into("<QQ", seg, 0, 0, 0)
        for _ in range(50):
            struct.pack_into("<Q", seg, 8, 8)  # publish one frame...
            struct.pack_into("<Q", seg, 8, 0)  # ...and take it back
"""


def test_pop_when_peer_takes_back_its_tail(shm_name):
    """A frame published and unpublished under a waiting pop: the frame, None
    or CorruptSegmentError, never a bare ValueError blaming the caller."""
    seconds = 3
    try:
        with SharedMemory.create(shm_name, CAPACITY + 24) as mem, mem.spsc() as ring:
            proc = popen_python(TAIL_FLICKER, shm_name, seconds)
            try:
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    try:
                        got = ring.pop(timeout=0.01)
                    except CorruptSegmentError:
                        continue
                    except ValueError as e:
                        raise AssertionError("bare %r" % e) from e
                    assert got in (None, b"abcd")
            finally:
                proc.kill()
                finish(proc)
    finally:
        remove_segment_files(shm_name)
