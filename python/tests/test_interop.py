# SPDX-License-Identifier: MIT
"""Python <-> C through the same segments, and the layouts byte by byte.

The C side is the example programs of the build tree (examples/ring_producer,
ring_consumer, view_writer, view_reader; see examples/ring_demo.h for the
message format). The byte-level tests play a foreign peer that only knows
the documented layout (membridge(7)) and reads/writes the segment file.
"""

import os
import struct
import subprocess
import sys
import time

from membridge import SharedMemory

from mbhelpers import finish, shm_path, wait_path

COUNT = 100_000
END = b"end-of-stream:"


def demo_message(i):
    """ring_demo.h: "msg-<i>-" then i % 41 letters starting at 'a' + i % 26."""
    return b"msg-%d-" % i + bytes(ord("a") + (i + k) % 26 for k in range(i % 41))


def test_demo_message_matches_c_header():
    assert demo_message(0) == b"msg-0-"
    assert demo_message(1) == b"msg-1-b"
    assert demo_message(41) == b"msg-41-"
    assert demo_message(42) == b"msg-42-q"


def _run(cmd, **kw):
    return subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


# ------------------------------------------------------------------ ring: C -> Python

def test_c_producer_to_python_consumer(c_examples, shm_name):
    # The consumer owns the ring, so Python creates it; the C producer waits for it.
    with SharedMemory.create(shm_name, 1024 * 1024 + 24) as mem, mem.spsc() as ring:
        prod = _run([c_examples / "ring_producer", "-n", COUNT, "-t", 20, shm_name])
        try:
            n = 0
            while True:
                msg = ring.pop(timeout=20)
                assert msg is not None, "C producer stalled after %d messages" % n
                if msg.startswith(END):
                    assert int(msg[len(END):]) == COUNT
                    break
                assert msg == demo_message(n)
                n += 1
            assert n == COUNT
            assert ring.is_empty()
        finally:
            rc, out, err = finish(prod)
        assert rc == 0, out + err
        assert "ring_producer: sent %d messages" % COUNT in out
    SharedMemory.remove(shm_name)


def test_c_producer_to_python_batches(c_examples, shm_name):
    """pop_many and pop_into on the C stream, through a small ring."""
    with SharedMemory.create(shm_name, 4096 + 24) as mem, mem.spsc() as ring:
        prod = _run([c_examples / "ring_producer", "-n", 20000, "-t", 20, shm_name])
        try:
            n = 0
            buf = bytearray(256)
            done = False
            while not done:
                batch = ring.pop_many(64)
                if not batch:
                    k = ring.pop_into(buf, timeout=20)
                    assert k is not None
                    batch = [bytes(buf[:k])]
                for msg in batch:
                    if msg.startswith(END):
                        assert msg == END + b"20000"
                        done = True
                        break
                    assert msg == demo_message(n)
                    n += 1
            assert n == 20000
        finally:
            rc, out, err = finish(prod)
        assert rc == 0, out + err
    SharedMemory.remove(shm_name)


# ------------------------------------------------------------------ ring: Python -> C

def _wait_line(proc, prefix, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line
    raise AssertionError("no line starting with %r" % prefix)


def test_python_producer_to_c_consumer(c_examples, shm_name):
    cons = _run([c_examples / "ring_consumer", "-n", COUNT, "-t", 20, shm_name])
    try:
        _wait_line(cons, "ring_consumer: waiting for messages on %s" % shm_name)
        with SharedMemory.open(shm_name) as mem, mem.spsc() as ring:
            assert ring.capacity() == 1024 * 1024
            i = 0
            while i < COUNT:
                if i % 3 == 0:
                    # Single pushes, waiting when full...
                    assert ring.push(demo_message(i), timeout=20)
                    i += 1
                else:
                    # ...and batches published at once.
                    batch = [demo_message(k) for k in range(i, min(i + 100, COUNT))]
                    n = ring.push_many(batch)
                    if n == 0:
                        assert ring.push(batch[0], timeout=20)
                        n = 1
                    i += n
            assert ring.push(END + b"%d" % COUNT, timeout=20)
    finally:
        rc, out, err = finish(cons)
    assert rc == 0, out + err
    assert "  message 0: msg-0-\n" in out
    assert "  message 1: msg-1-b\n" in out
    assert "  message %d: %s\n" % (COUNT - 1, demo_message(COUNT - 1).decode()) in out
    assert "ring_consumer: received %d messages, all in order, " % COUNT in out
    # The C consumer created the ring and removed it.
    assert not shm_path(shm_name).exists()
    assert not wait_path(shm_name).exists()


def test_python_str_messages_seen_by_c(c_examples, shm_name):
    """A pushed str keeps its uint32 prefix inside the frame: the C side sees it."""
    cons = _run([c_examples / "ring_consumer", "-t", 10, shm_name])
    try:
        _wait_line(cons, "ring_consumer: waiting for messages")
        with SharedMemory.open(shm_name) as mem, mem.spsc() as ring:
            assert ring.push("msg-0-")  # not what the C consumer expects
            ring.push(END + b"1")
    finally:
        rc, out, err = finish(cons)
    assert rc != 0
    assert 'message 0 is "\x06' in err


# ------------------------------------------------------------------ views: both ways

def test_c_view_writer_to_python(c_examples, shm_name):
    proc = subprocess.run([str(c_examples / "view_writer"), shm_name],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    with SharedMemory.open(shm_name) as mem, mem.map() as view:
        assert mem.size() == 4096
        with view.read_locked(timeout=5):
            assert view.read_mixed([("int", 1)], offset=0) == [3]
            view.seek(8)
            records = [view.read_mixed([("str", 1), ("int", 1), ("float", 1), ("bool", 1)])
                       for _ in range(3)]
    assert records == [["boiler", 101, 78.25, True], ["pump", 102, 3.5, True],
                       ["valve", 103, -1.0, False]]
    SharedMemory.remove(shm_name)


def test_python_view_to_c_reader(c_examples, shm_name):
    with SharedMemory.create(shm_name, 4096) as mem, mem.map() as view:
        with view.write_locked(timeout=5):
            view.seek(8)
            view.write_mixed(["kettle", 7, 99.5, True])
            view.write_mixed(["fan", 8, -0.25, False])
            view.write(2, offset=0)
    proc = subprocess.run([str(c_examples / "view_reader"), shm_name],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "view_reader: record 1: name=kettle id=7 reading=99.5 ok=true",
        "view_reader: record 2: name=fan id=8 reading=-0.25 ok=false",
        "view_reader: read 2 records from %s" % shm_name,
        "view_reader: removed %s" % shm_name,
    ]
    assert not shm_path(shm_name).exists()


# ------------------------------------------------------------------ example scripts

def test_c_to_python_script(c_examples, srcdir, shm_name):
    env = dict(os.environ, PYTHON=sys.executable)
    proc = subprocess.run(["sh", str(srcdir / "examples" / "c_to_python.sh"), str(c_examples),
                           "-n", "20000", shm_name],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The whole output on failure: this check failed once under load with
    # the run otherwise complete (issue 13's note); keep what it saw.
    assert "  message 0: msg-0-\n" in proc.stdout, proc.stdout + proc.stderr
    assert ("ring_consumer.py: received 20000 messages, all in order"
            in proc.stdout), proc.stdout + proc.stderr
    assert proc.stdout.rstrip().endswith("c_to_python.sh: OK")
    assert not shm_path(shm_name).exists()


def test_python_ring_producer_script_to_c(c_examples, srcdir, shm_name):
    cons = _run([c_examples / "ring_consumer", "-n", 20000, "-t", 20, shm_name])
    try:
        prod = subprocess.run([sys.executable, str(srcdir / "examples" / "ring_producer.py"),
                               "-n", "20000", shm_name],
                              capture_output=True, text=True, timeout=60)
    finally:
        rc, out, err = finish(cons)
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout == ("ring_producer.py: sent 20000 messages and the end marker through %s\n"
                           % shm_name)
    assert rc == 0, out + err
    assert "ring_consumer: received 20000 messages, all in order, " in out


# ------------------------------------------------------------------ layouts, byte by byte

def test_ring_layout_written_by_python(shm_name):
    with SharedMemory.create(shm_name, 64 + 24) as mem, mem.spsc() as ring:
        ring.push("hi")
        ring.push(7)
        ring.push([True, 1.5])
        raw = shm_path(shm_name).read_bytes()
        head, tail, cap = struct.unpack("=QQQ", raw[:24])
        assert (head, tail, cap) == (0, 10 + 12 + 13, 64)
        data = raw[24:]
        assert data[:10] == b"\x06\x00\x00\x00\x02\x00\x00\x00hi"
        assert data[10:22] == struct.pack("=I", 8) + struct.pack("=q", 7)
        assert data[22:35] == struct.pack("=I", 9) + b"\x01" + struct.pack("=d", 1.5)
        assert ring.pop("str") == "hi"
        assert struct.unpack("=Q", shm_path(shm_name).read_bytes()[:8])[0] == 10
    SharedMemory.remove(shm_name)


def test_ring_frames_written_by_foreign_peer(shm_name):
    """A peer that only knows the layout writes frames (one straddling the end)."""
    with SharedMemory.create(shm_name, 32 + 24) as mem, mem.spsc() as ring:
        path = shm_path(shm_name)

        def peer_push(payload):
            raw = bytearray(path.read_bytes())
            head, tail, cap = struct.unpack_from("=QQQ", raw)
            frame = struct.pack("=I", len(payload)) + payload
            assert len(frame) <= cap - (tail - head)
            for k, b in enumerate(frame):
                raw[24 + ((tail + k) & (cap - 1))] = b
            struct.pack_into("=Q", raw, 8, tail + len(frame))
            with open(path, "r+b") as f:
                f.write(raw)

        peer_push(b"first")          # 0..9
        peer_push(b"second one")     # 9..23
        assert ring.used() == 23
        assert ring.pop() == b"first"
        assert ring.pop() == b"second one"
        peer_push(struct.pack("=I", 5) + b"wraps")  # 23..36: crosses the end at 32
        peer_push(struct.pack("=q", -9))
        assert ring.pop("str") == "wraps"
        assert ring.pop("int") == -9
        assert ring.is_empty()
        assert struct.unpack("=QQ", path.read_bytes()[:16]) == (48, 48)
    SharedMemory.remove(shm_name)


def test_view_layout_via_buffer_and_read_all(shm_name):
    with SharedMemory.create(shm_name, 64) as mem, mem.map() as view:
        view.write_mixed(["ab", -2, 0.5, False, b"\xfe"])
        expected = (struct.pack("=I", 2) + b"ab" + struct.pack("=q", -2)
                    + struct.pack("=d", 0.5) + b"\x00\xfe")
        all_bytes = view.read_all()
        assert all_bytes[:len(expected)] == expected
        assert all_bytes[len(expected):] == bytes(60 - len(expected))
        with memoryview(view) as mv:
            assert bytes(mv) == all_bytes
        file_bytes = shm_path(shm_name).read_bytes()
        assert file_bytes[:4] == bytes(4)  # lock word free
        assert file_bytes[4:] == all_bytes
    SharedMemory.remove(shm_name)
