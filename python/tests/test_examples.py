# SPDX-License-Identifier: MIT
"""The Python programs in examples/ run, in both start orders, and clean up."""

import subprocess
import sys
import time

import pytest

from mbhelpers import finish, shm_path, wait_path


@pytest.fixture(scope="module")
def examples(srcdir):
    return srcdir / "examples"


def run(script, *args, timeout=60):
    return subprocess.run([sys.executable, str(script), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def start(script, *args):
    return subprocess.Popen([sys.executable, str(script), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def gone(name):
    return not shm_path(name).exists() and not wait_path(name).exists()


def test_single_process(examples, shm_name):
    proc = run(examples / "single_process.py", shm_name)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "view: wrote 4 values, cursor at 41",
        "view: read str   'hello, shared memory'",
        "view: read int   -1234567890123",
        "view: read float 3.14159",
        "view: read bool  True",
        "view: record at 200: ['sensor-7', 'sensor-8'] [21.5, 19.0] [True, False]",
        "view: bytes via memoryview: b'bytes'",
        "ring: capacity 256 bytes",
        "ring: 3 messages queued, 54 bytes used",
        "ring: popped 'alpha'",
        "ring: popped b'raw bytes'",
        "ring: popped record ['temperature', 36.6, True]",
        "ring: empty again: True",
        "single_process: all done",
    ]
    assert gone(shm_name + "-v") and gone(shm_name + "-r")


RECORD_LINES = [
    "consumer: record 1: name=boiler id=101 reading=78.25 ok=True",
    "consumer: record 2: name=pump id=102 reading=3.5 ok=True",
    "consumer: record 3: name=valve id=103 reading=-1 ok=False",
]


def test_view_producer_then_consumer(examples, shm_name):
    prod = run(examples / "producer.py", shm_name)
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout == "producer: wrote 3 records to %s\n" % shm_name
    cons = run(examples / "consumer.py", shm_name)
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.splitlines() == RECORD_LINES + [
        "consumer: read 3 records from %s" % shm_name, "consumer: removed %s" % shm_name]
    assert gone(shm_name)


def test_view_consumer_waits_for_producer(examples, shm_name):
    cons = start(examples / "consumer.py", "--timeout", 20, shm_name)
    try:
        time.sleep(0.5)
        assert cons.poll() is None
        prod = run(examples / "producer.py", shm_name)
        assert prod.returncode == 0, prod.stderr
    finally:
        rc, out, err = finish(cons)
    assert rc == 0, err
    assert out.splitlines()[:3] == RECORD_LINES
    assert gone(shm_name)


def test_view_consumer_times_out(examples, shm_name):
    t0 = time.monotonic()
    cons = run(examples / "consumer.py", "--timeout", 0.5, shm_name)
    assert cons.returncode != 0
    assert "no segment %s" % shm_name in cons.stderr
    assert time.monotonic() - t0 < 10


def test_view_producer_refuses_existing(examples, shm_name):
    assert run(examples / "producer.py", shm_name).returncode == 0
    again = run(examples / "producer.py", shm_name)
    assert again.returncode != 0
    assert "SharedMemory.remove(%r)" % shm_name in again.stderr
    assert run(examples / "producer.py", "--replace", shm_name).returncode == 0
    assert run(examples / "consumer.py", shm_name).returncode == 0
    assert gone(shm_name)


def test_view_python_producer_c_reader(examples, c_examples, shm_name):
    assert run(examples / "producer.py", shm_name).returncode == 0
    proc = subprocess.run([str(c_examples / "view_reader"), shm_name],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "view_reader: record 3: name=valve id=103 reading=-1 ok=false" in proc.stdout
    assert gone(shm_name)


def test_view_c_writer_python_consumer(examples, c_examples, shm_name):
    proc = subprocess.run([str(c_examples / "view_writer"), shm_name],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    cons = run(examples / "consumer.py", shm_name)
    assert cons.returncode == 0, cons.stderr
    assert cons.stdout.splitlines()[:3] == RECORD_LINES
    assert gone(shm_name)


@pytest.mark.parametrize("consumer_first", [False, True])
def test_spsc_pair(examples, shm_name, consumer_first):
    n = 50000
    if consumer_first:
        cons = start(examples / "spsc_consumer.py", "-t", 20, shm_name)
        time.sleep(0.3)
        prod = start(examples / "spsc_producer.py", "-n", n, shm_name)
    else:
        prod = start(examples / "spsc_producer.py", "-n", n, shm_name)
        cons = start(examples / "spsc_consumer.py", "-t", 20, shm_name)
    prc, pout, perr = finish(prod)
    crc, cout, cerr = finish(cons)
    assert prc == 0, perr
    assert crc == 0, cerr
    assert pout.splitlines()[0] == "spsc_producer: sending %d messages through %s" % (n, shm_name)
    assert pout.splitlines()[1].startswith("spsc_producer: sent %d messages and __EOF__ in " % n)
    lines = cout.splitlines()
    assert lines[:4] == ["spsc_consumer: msg-0", "spsc_consumer: msg-1", "spsc_consumer: msg-2",
                         "spsc_consumer: received %d messages in order, then __EOF__" % n]
    assert gone(shm_name)


def test_spsc_consumer_times_out(examples, shm_name):
    cons = run(examples / "spsc_consumer.py", "-t", 0.5, shm_name)
    assert cons.returncode != 0
    assert "no ring %s" % shm_name in cons.stderr


def test_asyncio_service(examples, shm_name):
    proc = run(examples / "asyncio_service.py", "-n", 2000, shm_name, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "asyncio_service: channel %s and tcp 127.0.0.1 on one loop" % shm_name,
        "asyncio_service: client asked: wait 2000",
        "asyncio_service: reply: received 2000 readings, sum 1999000",
        "asyncio_service: client asked: quit",
        "asyncio_service: done, removed %s" % shm_name,
    ]
    assert gone(shm_name)


def test_frame_pipeline(examples, shm_name):
    frames = 30  # 30 full-HD frames, every pixel checked by both subscribers
    proc = run(examples / "frame_pipeline.py", "-n", frames, shm_name, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert sorted(lines[:2]) == [  # the subscribers finish in either order
        "frame_pipeline: asyncio subscriber checked %d frames" % frames,
        "frame_pipeline: blocking subscriber checked %d frames" % frames]
    assert lines[2:] == ["frame_pipeline: published %d frames of 1080x1920x3" % frames]
    assert gone(shm_name)
