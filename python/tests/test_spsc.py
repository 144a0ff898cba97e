# SPDX-License-Identifier: MIT
"""SpscRingBuffer: frames, encodings, accounting, waits, batches, pop_into, corruption."""

import struct
import threading
import time

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import shm_path

I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1


def s(text):
    raw = text.encode("utf-8")
    return struct.pack("=I", len(raw)) + raw


def header(name):
    return struct.unpack("=QQQ", shm_path(name).read_bytes()[:24])


def set_header(name, head=None, tail=None, capacity=None):
    old = header(name)
    new = tuple(o if n is None else n for o, n in zip(old, (head, tail, capacity)))
    with open(shm_path(name), "r+b") as f:
        f.write(struct.pack("=QQQ", *new))


def data_area(name):
    return shm_path(name).read_bytes()[24:]


@pytest.fixture
def make_ring(shm_names):
    made = []

    def make(capacity=1024):
        name = shm_names()
        mem = SharedMemory.create(name, capacity + 24)
        ring = mem.spsc()
        made.append((name, mem, ring))
        return ring, name

    yield make
    for name, mem, ring in made:
        ring.close()
        mem.close()
        try:
            SharedMemory.remove(name)
        except FileNotFoundError:
            pass


@pytest.fixture
def ring(make_ring):
    return make_ring()[0]


# ------------------------------------------------------------------ layout and accounting

def test_fresh_ring(make_ring):
    ring, name = make_ring(1024)
    assert header(name) == (0, 0, 1024)
    assert ring.capacity() == 1024
    assert ring.used() == 0
    assert ring.free() == 1024
    assert ring.is_empty() is True
    assert ring.is_full() is False
    assert ring.pop() is None
    assert ring.pop("str") is None
    assert ring.pop_mixed([("int", 1)]) is None


def test_push_str_frame_bytes(make_ring):
    ring, name = make_ring(1024)
    assert ring.push("hi") is True
    assert header(name) == (0, 10, 1024)
    assert data_area(name)[:10] == b"\x06\x00\x00\x00\x02\x00\x00\x00hi"
    assert ring.used() == 10
    assert ring.free() == 1014
    assert ring.is_empty() is False
    assert ring.pop() == b"\x02\x00\x00\x00hi"
    assert header(name) == (10, 10, 1024)
    assert ring.is_empty()
    ring.push("hi")
    assert ring.pop("str") == "hi"


@pytest.mark.parametrize("value,payload,tag", [
    (42, struct.pack("=q", 42), "int"),
    (I64_MIN, struct.pack("=q", I64_MIN), "i64"),
    (I64_MAX, struct.pack("=q", I64_MAX), "int"),
    (2.5, struct.pack("=d", 2.5), "float"),
    (True, b"\x01", "bool"),
    (False, b"\x00", "bool"),
    ("żółw", s("żółw"), "str"),
    ("", s(""), "str"),
])
def test_push_value_encodings(ring, value, payload, tag):
    assert ring.push(value)
    assert ring.used() == 4 + len(payload)
    assert ring.pop() == payload
    ring.push(value)
    got = ring.pop(tag)
    assert got == value and type(got) is type(value)


def test_push_raw_buffers(ring):
    assert ring.push(b"raw\x00bytes")
    assert ring.push(bytearray(b"\x01\x02"))
    assert ring.push(memoryview(b"abcdef")[2:4])
    assert ring.push(b"")
    assert ring.pop() == b"raw\x00bytes"
    assert ring.pop() == b"\x01\x02"
    assert ring.pop() == b"cd"
    assert ring.pop() == b""
    assert ring.pop() is None


def test_pop_returns_bytes(ring):
    ring.push(bytearray(b"x"))
    assert type(ring.pop()) is bytes


def test_push_list_encodes_each_element(ring):
    assert ring.push(["Hello", 0.92, True])
    assert ring.pop() == s("Hello") + struct.pack("=d", 0.92) + b"\x01"
    # pop(tag) decodes the first value and ignores the rest.
    ring.push(["Hello", 0.92, True])
    assert ring.pop("str") == "Hello"
    assert ring.is_empty()
    ring.push(["Normal", 0.92, True])
    assert ring.pop_mixed([("str", 1), ("float", 1), ("bool", 1)]) == ["Normal", 0.92, True]
    ring.push([1, 2, 3, b"\xff"])
    assert ring.pop_mixed([("int", 3), ("u8", 1)]) == [[1, 2, 3], 255]


def test_full_and_free(make_ring):
    ring, name = make_ring(64)
    assert ring.push(b"x" * 28)  # frame of 32
    assert ring.push(b"y" * 28)
    assert ring.used() == 64 and ring.free() == 0
    assert ring.is_full() is True
    assert ring.push(b"") is False  # "full" is not an error
    assert ring.push("z") is False
    assert header(name) == (0, 64, 64)
    assert ring.pop() == b"x" * 28
    assert not ring.is_full()
    assert ring.free() == 32
    assert ring.push(b"z" * 29) is False  # 33 bytes do not fit in 32
    assert ring.push(b"z" * 28) is True


def test_frame_larger_than_capacity(make_ring):
    ring, _ = make_ring(64)
    with pytest.raises(ValueError):
        ring.push(b"x" * 61)  # 4 + 61 > 64: can never fit
    with pytest.raises(ValueError):
        ring.push(b"x" * 61, timeout=0.5)
    assert ring.is_empty()
    assert ring.push(b"x" * 60) is True  # exactly the capacity


def test_wraparound_bytes(make_ring):
    ring, name = make_ring(64)
    ring.push(b"a" * 56)  # frame 0..60
    assert ring.pop() == b"a" * 56
    assert header(name) == (60, 60, 64)
    assert ring.push(b"0123456789")  # header at 60..64, payload wraps to 0..10
    area = data_area(name)
    assert area[60:64] == struct.pack("=I", 10)
    assert area[0:10] == b"0123456789"
    ring.push(b"AB")  # header straddles? no: 10..14 header, 14..16 payload
    assert ring.pop() == b"0123456789"
    assert ring.pop() == b"AB"
    # Now a frame whose length word itself straddles the end.
    ring.push(b"q" * 42)  # 16..62
    assert ring.pop() == b"q" * 42
    assert header(name)[0] == 62 + 64
    ring.push(b"straddle")  # length word at 62,63,0,1; payload 2..10
    area = data_area(name)
    assert area[62:64] + area[0:2] == struct.pack("=I", 8)
    assert area[2:10] == b"straddle"
    assert ring.pop() == b"straddle"


def test_many_sizes_through_small_ring(make_ring):
    ring, _ = make_ring(64)
    for i in range(2000):
        payload = bytes((i + k) % 256 for k in range(i % 57))
        assert ring.push(payload)
        assert ring.pop() == payload
    assert ring.is_empty()


# ------------------------------------------------------------------ decode errors

def test_decode_too_short(ring):
    ring.push(b"\x01")
    ring.push(b"after")
    with pytest.raises(membridge.MessageDecodeError) as info:
        ring.pop("int")
    assert info.value.raw == b"\x01"
    assert isinstance(info.value, ValueError)
    # The bad message was consumed; the next one is intact.
    assert ring.pop() == b"after"


def test_decoded_tags(ring):
    ring.push(struct.pack("=BiIfQ", 200, -7, 7, 0.5, 2 ** 64 - 1))
    assert ring.pop_mixed([("u8", 1), ("i32", 1), ("u32", 1), ("f32", 1), ("u64", 1)]) == \
        [200, -7, 7, 0.5, 2 ** 64 - 1]


# ------------------------------------------------------------------ waiting

# Upper bounds only tell "returned" from "stuck": far above what a machine
# ten times slower and loaded needs; lower bounds check that a timeout waited.
NOT_STUCK = 30

def test_pop_timeout_on_empty(ring):
    t0 = time.monotonic()
    assert ring.pop(timeout=0.2) is None
    assert 0.15 <= time.monotonic() - t0 < NOT_STUCK
    t0 = time.monotonic()
    assert ring.pop_mixed([("int", 1)], timeout=0.1) is None
    assert ring.pop("str", timeout=0.1) is None
    assert 0.15 <= time.monotonic() - t0 < NOT_STUCK


def test_push_timeout_on_full(make_ring):
    ring, _ = make_ring(64)
    ring.push(b"x" * 60)
    t0 = time.monotonic()
    assert ring.push(b"y", timeout=0.2) is False
    assert 0.15 <= time.monotonic() - t0 < NOT_STUCK
    assert ring.pop() == b"x" * 60


def test_non_blocking_is_immediate(ring):
    t0 = time.monotonic()
    for _ in range(100):
        assert ring.pop() is None
    assert time.monotonic() - t0 < NOT_STUCK / 10  # 100 waits of 0.1 s would be 10 s


def test_blocking_pop_woken_by_thread(make_ring):
    # One handle per thread: a handle serves one thread at a time.
    ring, name = make_ring()
    producer = SharedMemory.open(name)
    pring = producer.spsc()

    def later():
        time.sleep(0.2)
        pring.push("wake up")

    t = threading.Thread(target=later)
    t0 = time.monotonic()
    t.start()
    assert ring.pop("str", timeout=2 * NOT_STUCK) == "wake up"
    elapsed = time.monotonic() - t0
    t.join()
    pring.close()
    producer.close()
    assert 0.15 <= elapsed < NOT_STUCK


def test_blocking_push_woken_by_thread(make_ring):
    ring, name = make_ring(64)
    ring.push(b"x" * 60)
    consumer = SharedMemory.open(name)
    cring = consumer.spsc()

    def later():
        time.sleep(0.2)
        cring.pop()

    t = threading.Thread(target=later)
    t0 = time.monotonic()
    t.start()
    assert ring.push(b"next", timeout=2 * NOT_STUCK) is True
    elapsed = time.monotonic() - t0
    t.join()
    cring.close()
    consumer.close()
    assert 0.15 <= elapsed < NOT_STUCK
    assert ring.pop() == b"next"


def test_handle_used_by_two_threads_at_once(ring):
    """A handle serves one thread at a time; a second thread gets an error, not a race."""
    result = []

    def other():
        time.sleep(0.1)
        try:
            ring.push("from the other thread")
        except RuntimeError as e:
            result.append(e)

    t = threading.Thread(target=other)
    t.start()
    assert ring.pop(timeout=0.5) is None
    t.join()
    assert len(result) == 1 and "thread" in str(result[0])
    assert ring.is_empty()


def test_wait_releases_gil(ring):
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = counter[0]
        assert ring.pop(timeout=0.3) is None
        during = counter[0] - before
    finally:
        stop.set()
        t.join()
    # With the GIL held the whole time the other thread could not count.
    assert during > 1000


def test_idle_wait_does_not_burn_cpu(ring):
    # A busy wait would take about as much CPU time as wall-clock time.
    t0 = time.process_time()
    assert ring.pop(timeout=2) is None
    assert time.process_time() - t0 < 1


# ------------------------------------------------------------------ batches

def test_push_many_pop_many(ring):
    items = ["a", b"raw", 5, 2.5, True, ["x", 1]]
    assert ring.push_many(items) == 6
    assert ring.used() == sum(4 + n for n in (5, 3, 8, 8, 1, 5 + 8))
    got = ring.pop_many(10)
    assert got == [s("a"), b"raw", struct.pack("=q", 5), struct.pack("=d", 2.5), b"\x01",
                   s("x") + struct.pack("=q", 1)]
    assert ring.pop_many(10) == []


def test_pop_many_with_tag_and_limit(make_ring):
    ring, name = make_ring(1024)
    assert ring.push_many(["m%d" % i for i in range(20)]) == 20
    tail = header(name)[1]
    assert ring.pop_many(5, "str") == ["m0", "m1", "m2", "m3", "m4"]
    assert ring.pop_many(100, tag="str") == ["m%d" % i for i in range(5, 20)]
    assert header(name) == (tail, tail, 1024)


def test_push_many_stops_when_full(make_ring):
    ring, _ = make_ring(64)
    assert ring.push_many([b"x" * 12] * 5) == 4  # frames of 16
    assert ring.is_full()
    assert ring.push_many([b"y"]) == 0
    assert ring.pop_many(10) == [b"x" * 12] * 4


def test_push_many_empty_and_pop_many_zero(ring):
    assert ring.push_many([]) == 0
    assert ring.push_many(["t1", "t2"]) == 2
    assert ring.pop_many(0) == []
    assert ring.pop_many(5, "str") == ["t1", "t2"]


def test_pop_many_decode_error_keeps_raw(ring):
    ring.push_many([b"\x01\x00\x00\x00a", b"\x01"])
    with pytest.raises(membridge.MessageDecodeError) as info:
        ring.pop_many(10, "str")
    assert info.value.raw == b"\x01"


# ------------------------------------------------------------------ pop_into

def test_pop_into(ring):
    buf = bytearray(16)
    assert ring.pop_into(buf) is None
    ring.push(b"payload")
    assert ring.pop_into(buf) == 7
    assert buf[:7] == b"payload" and buf[7:] == bytes(9)
    ring.push("hi")
    mv = memoryview(buf)[4:]
    assert ring.pop_into(mv) == 6
    assert buf[4:10] == s("hi")


def test_pop_into_too_small_keeps_message(ring):
    ring.push(b"0123456789")
    buf = bytearray(4)
    with pytest.raises(ValueError) as info:
        ring.pop_into(buf)
    assert "10" in str(info.value)
    assert buf == bytes(4)
    assert ring.pop() == b"0123456789"


def test_pop_into_numpy(ring):
    np = pytest.importorskip("numpy")
    arr = np.zeros(4, dtype=np.int32)
    ring.push(struct.pack("=4i", 1, -2, 3, -4))
    assert ring.pop_into(arr) == 16
    assert arr.tolist() == [1, -2, 3, -4]


def test_pop_into_timeout(ring):
    t0 = time.monotonic()
    assert ring.pop_into(bytearray(8), timeout=0.1) is None
    assert time.monotonic() - t0 >= 0.08


# ------------------------------------------------------------------ roles and handles

def test_handles_keep_no_private_index(shm_name):
    with SharedMemory.create(shm_name, 256 + 24) as mem:
        a = mem.spsc()
        with SharedMemory.open(shm_name) as other:
            b = other.spsc()
            # Producers and consumers change between calls.
            assert a.push("one") and b.push("two") and a.push("three")
            assert b.pop("str") == "one"
            assert a.pop("str") == "two"
            assert b.push("four")
            assert b.pop("str") == "three"
            assert a.pop("str") == "four"
            assert a.is_empty() and b.is_empty()
            b.close()
        a.close()
    SharedMemory.remove(shm_name)


def test_opener_validates_and_sees_messages(shm_name):
    with SharedMemory.create(shm_name, 128 + 24) as mem, mem.spsc() as ring:
        ring.push("before open")
        with SharedMemory.open(shm_name, 128 + 24) as other, other.spsc() as oring:
            assert oring.capacity() == 128
            assert oring.used() == ring.used()
            assert oring.pop("str") == "before open"
    SharedMemory.remove(shm_name)


def test_second_creator_spsc_keeps_messages(shm_name):
    # Only the creator's first spsc() initialises; a second handle must not wipe.
    with SharedMemory.create(shm_name, 64 + 24) as mem:
        r1 = mem.spsc()
        r1.push("kept")
        r2 = mem.spsc()
        assert r2.pop("str") == "kept"
        r1.close()
        r2.close()
    SharedMemory.remove(shm_name)


# ------------------------------------------------------------------ corrupt headers

@pytest.mark.parametrize("field,value,word", [
    ("capacity", 1000, "capacity"),       # not a power of two
    ("capacity", 512, "capacity"),        # power of two, but not size - 24
    ("capacity", 2048, "capacity"),
    ("head", 50, "head"),                 # head > tail
    ("tail", 2000, "tail"),               # tail - head > capacity
])
def test_corrupt_header_on_open(shm_name, field, value, word):
    with SharedMemory.create(shm_name, 1024 + 24) as mem, mem.spsc() as ring:
        ring.push(b"x" * 6)  # tail = 10
        set_header(shm_name, **{field: value})
        with SharedMemory.open(shm_name) as other:
            with pytest.raises(membridge.CorruptSegmentError) as info:
                other.spsc()
            assert word in str(info.value).lower()
            assert isinstance(info.value, ValueError)
    SharedMemory.remove(shm_name)


def test_not_a_ring_segment(shm_name):
    with SharedMemory.create(shm_name, 64 + 24) as mem:
        with open(shm_path(shm_name), "r+b") as f:
            f.write(b"\xff" * 24)
        with SharedMemory.open(shm_name) as other:
            with pytest.raises(membridge.CorruptSegmentError):
                other.spsc()
    SharedMemory.remove(shm_name)


def test_corrupt_indices_at_runtime(make_ring):
    ring, name = make_ring(64)
    ring.push(b"abc")
    set_header(name, tail=7 + 65)  # more in use than the capacity
    for call in (ring.used, ring.free, ring.is_empty, ring.is_full, ring.pop):
        with pytest.raises(membridge.CorruptSegmentError):
            call()
    set_header(name, head=100, tail=7)  # head beyond tail
    with pytest.raises(membridge.CorruptSegmentError):
        ring.pop()
    set_header(name, head=0, tail=7)
    assert ring.pop() == b"abc"


def test_corrupt_frame_length(make_ring):
    ring, name = make_ring(64)
    ring.push(b"abc")
    with open(shm_path(name), "r+b") as f:
        f.seek(24)
        f.write(struct.pack("=I", 1000))  # longer than what was published
    with pytest.raises(membridge.CorruptSegmentError) as info:
        ring.pop()
    assert "length" in str(info.value).lower() or "frame" in str(info.value).lower()
    with pytest.raises(membridge.CorruptSegmentError):
        ring.pop_into(bytearray(2000))
    with pytest.raises(membridge.CorruptSegmentError):
        ring.pop_many(3)


# ------------------------------------------------------------------ lifetime, repr

def test_repr(make_ring):
    ring, name = make_ring(1024)
    r = repr(ring)
    assert r.startswith("<membridge.SpscRingBuffer ")
    assert name in r
    assert "1024" in r
    ring.close()
    r = repr(ring)
    assert r.startswith("<membridge.SpscRingBuffer ") and "closed" in r


def test_context_manager(shm_name):
    with SharedMemory.create(shm_name, 64 + 24) as mem:
        with mem.spsc() as ring:
            assert isinstance(ring, membridge.SpscRingBuffer)
            ring.push(1)
        with pytest.raises(ValueError):
            ring.used()
    SharedMemory.remove(shm_name)


def test_opener_before_creator_initialises(shm_name):
    """An opener's spsc() on a ring whose creator has not called spsc() yet: try again."""
    with SharedMemory.create(shm_name, 64 + 24) as mem:
        with SharedMemory.open(shm_name) as other:
            with pytest.raises(BlockingIOError) as info:
                other.spsc()
            assert "try again" in str(info.value)
            with mem.spsc() as ring:
                ring.push("now")
                with other.spsc() as oring:
                    assert oring.pop("str") == "now"
    SharedMemory.remove(shm_name)
