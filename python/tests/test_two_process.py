# SPDX-License-Identifier: MIT
"""Real processes on both sides: multiprocessing and subprocess."""

import multiprocessing
import os
import signal
import struct
import sys
import time

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import popen_python, run_python

# fork: the child inherits the imported module and the test's names; spawn is
# exercised through the subprocess tests, which start clean interpreters.
mp = multiprocessing.get_context("fork")

N_MESSAGES = 100_000


def _producer(name, count, q):
    try:
        with SharedMemory.open(name) as mem, mem.spsc() as ring:
            for i in range(count):
                if not ring.push(["seq", i, "payload-%d" % (i % 97)], timeout=10):
                    q.put("full at %d" % i)
                    return
            ring.push(["end", count, ""], timeout=10)
        q.put("ok")
    except BaseException as e:  # report everything to the parent
        q.put("producer: %r" % (e,))


def test_ring_stream_multiprocessing(shm_name):
    """100k numbered messages from a child process, checked one by one."""
    with SharedMemory.create(shm_name, 64 * 1024 + 24) as mem, mem.spsc() as ring:
        q = mp.Queue()
        p = mp.Process(target=_producer, args=(shm_name, N_MESSAGES, q))
        p.start()
        schema = [("str", 1), ("int", 1), ("str", 1)]
        try:
            expected = 0
            while True:
                msg = ring.pop_mixed(schema, timeout=10)
                assert msg is not None, "stream stalled after %d messages" % expected
                kind, seq, payload = msg
                if kind == "end":
                    assert seq == N_MESSAGES
                    break
                assert kind == "seq"
                assert seq == expected
                assert payload == "payload-%d" % (expected % 97)
                expected += 1
            assert expected == N_MESSAGES
            assert q.get(timeout=10) == "ok"
            assert ring.is_empty()
        finally:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
        assert p.exitcode == 0
    SharedMemory.remove(shm_name)


def _batch_consumer(name, count, q):
    try:
        with SharedMemory.open(name) as mem, mem.spsc() as ring:
            got = 0
            deadline = time.monotonic() + 120
            while got < count and time.monotonic() < deadline:
                batch = ring.pop_many(512, "int")
                if not batch:
                    first = ring.pop("int", timeout=1)
                    batch = [] if first is None else [first]
                for v in batch:
                    if v != got:
                        q.put("out of order: %d != %d" % (v, got))
                        return
                    got += 1
        q.put("ok %d" % got)
    except BaseException as e:
        q.put("consumer: %r" % (e,))


def test_batches_multiprocessing(shm_name):
    """push_many in the parent, pop_many in the child."""
    with SharedMemory.create(shm_name, 4096 + 24) as mem, mem.spsc() as ring:
        q = mp.Queue()
        p = mp.Process(target=_batch_consumer, args=(shm_name, N_MESSAGES, q))
        p.start()
        try:
            i = 0
            deadline = time.monotonic() + 120
            while i < N_MESSAGES:
                assert time.monotonic() < deadline
                n = ring.push_many(list(range(i, min(i + 300, N_MESSAGES))))
                if n == 0:
                    assert ring.push(i, timeout=10)
                    n = 1
                i += n
            assert q.get(timeout=30) == "ok %d" % N_MESSAGES
        finally:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
    SharedMemory.remove(shm_name)


def test_view_writer_readers_subprocess(shm_name):
    """One writer updates a record under the write lock; readers never see it torn."""
    with SharedMemory.create(shm_name, 4096) as mem, mem.map() as view:
        view.write_mixed([0, 0, 0, 0], offset=0)
        reader = """
            import sys, membridge
            mem = membridge.SharedMemory.open(sys.argv[1])
            view = mem.map()
            seen = set()
            while True:
                with view.read_locked(timeout=10):
                    a, b, c, d = view.read_mixed([("int", 4)], offset=0)[0]
                if not (a == b == c == d):
                    print("TORN", a, b, c, d)
                    sys.exit(1)
                seen.add(a)
                if a == -1:
                    break
            print("ok", len(seen) > 1)
        """
        readers = [popen_python(reader, shm_name) for _ in range(3)]
        try:
            for i in range(1, 20001):
                with view.write_locked(timeout=10):
                    for k in range(4):
                        view.write(i, offset=8 * k)
            with view.write_locked(timeout=10):
                view.write_mixed([-1, -1, -1, -1], offset=0)
            for r in readers:
                out, err = r.communicate(timeout=30)
                assert r.returncode == 0, out + err
                assert out.startswith("ok ")
        finally:
            for r in readers:
                if r.poll() is None:
                    r.kill()
                    r.wait()
        assert view.reader_count() == 0 and not view.is_write_locked()
    SharedMemory.remove(shm_name)


def test_view_values_across_processes(shm_name):
    with SharedMemory.create(shm_name, 4096) as mem, mem.map() as view:
        view.write("Hello from A!")
        view.write(42)
        view.write(3.14)
        view.write(True)
        proc = run_python("""
            import sys, membridge
            mem = membridge.SharedMemory.open(sys.argv[1])
            view = mem.map()
            print(repr([view.read("str"), view.read("int"), view.read("float"),
                        view.read("bool")]))
            view.write("reply", offset=1000)
            """, shm_name)
        assert proc.stdout == "['Hello from A!', 42, 3.14, True]\n"
        assert view.read_range(1000, 9) == struct.pack("=I", 5) + b"reply"
    SharedMemory.remove(shm_name)


def test_blocking_pop_woken_by_other_process(shm_name):
    with SharedMemory.create(shm_name, 1024 + 24) as mem, mem.spsc() as ring:
        child = popen_python("""
            import sys, time, membridge
            mem = membridge.SharedMemory.open(sys.argv[1])
            ring = mem.spsc()
            print("waiting", flush=True)
            t0 = time.monotonic()
            msg = ring.pop("str", timeout=20)
            print(msg, "%.3f" % (time.monotonic() - t0), flush=True)
            """, shm_name)
        try:
            assert child.stdout.readline() == "waiting\n"
            time.sleep(0.3)
            t_push = time.monotonic()
            assert ring.push("wake up")
            line = child.stdout.readline()
            woke = time.monotonic() - t_push
            msg, waited = line.rsplit(" ", 1)
            assert msg == "wake up"
            assert float(waited) >= 0.25
            assert woke < 1.0
            child.wait(10)
            assert child.returncode == 0
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    SharedMemory.remove(shm_name)


def test_blocking_push_woken_by_other_process(shm_name):
    with SharedMemory.create(shm_name, 64 + 24) as mem, mem.spsc() as ring:
        ring.push(b"x" * 60)
        child = popen_python("""
            import sys, membridge
            mem = membridge.SharedMemory.open(sys.argv[1])
            ring = mem.spsc()
            print("pushing", flush=True)
            print(ring.push(b"second", timeout=20), flush=True)
            """, shm_name)
        try:
            assert child.stdout.readline() == "pushing\n"
            time.sleep(0.3)
            assert ring.pop() == b"x" * 60
            assert child.stdout.readline() == "True\n"
            child.wait(10)
            assert ring.pop(timeout=5) == b"second"
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    SharedMemory.remove(shm_name)


INTERRUPTIBLE = """
    import signal, sys, time, membridge
    # A runner may have started us with SIGINT ignored (a background job of
    # a non-interactive shell, nohup): Python then installs no handler.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    mem = membridge.SharedMemory.open(sys.argv[1])
    what = sys.argv[2]
    if what.startswith("view"):
        obj = mem.map()
    else:
        obj = mem.spsc()
    t0 = time.monotonic()
    try:
        # inside the try: on a loaded machine SIGINT may come before the wait
        print("ready", flush=True)
        if what == "pop":
            obj.pop(timeout=60)
        elif what == "pop_into":
            obj.pop_into(bytearray(64), timeout=60)
        elif what == "push":
            obj.push(b"does not fit yet", timeout=60)
        elif what == "view_read":
            obj.lock_read(timeout=60)
        else:
            obj.lock_write(timeout=60)
    except KeyboardInterrupt:
        print("KeyboardInterrupt %.3f" % (time.monotonic() - t0), flush=True)
        sys.exit(0)
    print("not interrupted", flush=True)
    sys.exit(1)
"""


@pytest.mark.parametrize("what", ["pop", "pop_into", "push", "view", "view_read"])
def test_ctrl_c_interrupts_wait(shm_name, what):
    """SIGINT reaches a real process blocked in a 60 s wait: the library's
    -EINTR lets Python raise KeyboardInterrupt long before the timeout."""
    if what.startswith("view"):
        mem = SharedMemory.create(shm_name, 64)
        obj = mem.map()
        # the child's lock_write (lock_read) has to wait
        (obj.lock_read if what == "view" else obj.lock_write)()
    else:
        mem = SharedMemory.create(shm_name, 64 + 24)
        obj = mem.spsc()
        if what == "push":
            obj.push(b"x" * 60)  # full
    child = popen_python(INTERRUPTIBLE, shm_name, what)
    try:
        assert child.stdout.readline() == "ready\n"
        time.sleep(0.3)  # let it enter the wait
        t0 = time.monotonic()
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=60)
        elapsed = time.monotonic() - t0
        assert child.returncode == 0, out + err
        assert out.startswith("KeyboardInterrupt ")
        assert elapsed < 30  # not the 60 s timeout
        assert float(out.split()[1]) >= 0.25
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if what.startswith("view"):
            obj.unlock()
        obj.close()
        mem.close()
        SharedMemory.remove(shm_name)


def test_signal_handler_runs_during_wait(shm_name):
    """A Python signal handler runs while pop() waits, and the wait goes on."""
    with SharedMemory.create(shm_name, 64 + 24) as mem, mem.spsc() as ring:
        child = popen_python("""
            import signal, sys, time, membridge
            mem = membridge.SharedMemory.open(sys.argv[1])
            ring = mem.spsc()
            hits = []
            signal.signal(signal.SIGUSR1, lambda *a: hits.append(time.monotonic()))
            print("ready", flush=True)
            msg = ring.pop("str", timeout=20)
            print(msg, len(hits), flush=True)
            """, shm_name)
        try:
            assert child.stdout.readline() == "ready\n"
            time.sleep(0.2)
            child.send_signal(signal.SIGUSR1)
            time.sleep(0.3)
            assert child.poll() is None  # still waiting
            ring.push("after the signal")
            out, err = child.communicate(timeout=10)
            assert out == "after the signal 1\n", err
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    SharedMemory.remove(shm_name)


def _pid_writer(name, q):
    try:
        with SharedMemory.open(name) as mem, mem.map() as view:
            view.lock_write(timeout=5)
            q.put(os.getpid())
            time.sleep(60)  # killed while holding the lock
    except BaseException as e:
        q.put(repr(e))


def test_killed_writer_is_detected(shm_name):
    with SharedMemory.create(shm_name, 64) as mem, mem.map() as view:
        q = mp.Queue()
        p = mp.Process(target=_pid_writer, args=(shm_name, q))
        p.start()
        try:
            pid = q.get(timeout=10)
            assert pid == p.pid
            assert view.is_write_locked()
            with pytest.raises(TimeoutError):
                view.lock_read(timeout=0.1)  # writer alive: just busy
        finally:
            p.kill()
            p.join()
        with pytest.raises(OSError) as info:
            view.lock_read(timeout=2)
        assert "break_lock" in str(info.value)
        view.break_lock()
        with view.write_locked(timeout=1):
            view.write(1, offset=0)
    SharedMemory.remove(shm_name)


def test_spawned_interpreter_sees_module_version():
    proc = run_python("import membridge; print(membridge.__version__)")
    assert proc.stdout.strip() == membridge.__version__
    assert sys.executable  # helpers run with the same interpreter
