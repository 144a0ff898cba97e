# SPDX-License-Identifier: MIT
"""MappedView: encoding, the cursor rule, bounds, mixed records, locks, buffer protocol."""

import array
import ctypes
import errno
import math
import pathlib
import struct
import time

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import run_python, shm_path

SIZE = 4096
DATA = SIZE - 4

I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1


@pytest.fixture
def mem(shm_name):
    m = SharedMemory.create(shm_name, SIZE)
    yield m
    m.close()
    try:
        SharedMemory.remove(shm_name)
    except FileNotFoundError:
        pass


@pytest.fixture
def view(mem):
    v = mem.map()
    yield v
    v.close()


def seg_bytes(mem):
    """The whole segment as the file system sees it."""
    return shm_path(mem.name()).read_bytes()


def lock_word(mem):
    return struct.unpack("=i", seg_bytes(mem)[:4])[0]


def set_lock_word(mem, value):
    with open(shm_path(mem.name()), "r+b") as f:
        f.write(struct.pack("=i", value))


def s(text):
    """The encoding of a str: uint32 byte length, then UTF-8."""
    raw = text.encode("utf-8")
    return struct.pack("=I", len(raw)) + raw


# ------------------------------------------------------------------ write encodings

def test_size(view):
    assert view.size() == DATA


def test_write_each_type_at_cursor(mem, view):
    assert view.write("Hello from A!") is None
    assert view.tell() == 17
    view.write(42)
    assert view.tell() == 25
    view.write(3.14)
    assert view.tell() == 33
    view.write(True)
    assert view.tell() == 34
    view.write(False)
    view.write(b"raw")
    view.write(bytearray(b"\x00\xff"))
    assert view.tell() == 40
    expected = (s("Hello from A!") + struct.pack("=q", 42) + struct.pack("=d", 3.14)
                + b"\x01\x00raw\x00\xff")
    assert view.read_range(0, 40) == expected
    # Offset 0 of the view is byte 4 of the segment.
    assert seg_bytes(mem)[4:44] == expected
    assert seg_bytes(mem)[:4] == bytes(4)


def test_write_other_buffers_raw(view):
    view.write(memoryview(b"abcdef")[1:4])
    arr = array.array("i", [1, -2])
    view.write(arr)
    assert view.tell() == 3 + arr.itemsize * 2
    assert view.read_range(0, view.tell()) == b"bcd" + arr.tobytes()


def test_read_back_in_order(view):
    view.write("Hello from A!")
    view.write(42)
    view.write(3.14)
    view.write(True)
    view.seek()
    msg = view.read("str")
    count = view.read("int")
    ratio = view.read("float")
    flag = view.read("bool")
    assert (msg, count, ratio, flag) == ("Hello from A!", 42, 3.14, True)
    assert type(msg) is str and type(count) is int
    assert type(ratio) is float and type(flag) is bool
    assert view.tell() == 34


def test_bool_is_checked_before_int(view):
    view.write(True)
    view.write(1)
    assert view.read_range(0, 9) == b"\x01" + struct.pack("=q", 1)


@pytest.mark.parametrize("value", [0, 1, -1, I64_MIN, I64_MAX])
def test_int64_edges(view, value):
    view.write(value)
    assert view.read_range(0, 8) == struct.pack("=q", value)
    view.seek()
    assert view.read("int") == value
    view.seek()
    assert view.read("i64") == value


def test_empty_str_and_unicode(view):
    view.write("")
    view.write("żółw 🐢")
    assert view.read_range(0, 4) == bytes(4)
    view.seek()
    assert view.read("str") == ""
    assert view.read("str") == "żółw 🐢"
    assert view.tell() == 4 + 4 + len("żółw 🐢".encode())


def test_float_specials(view):
    for v in (math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308):
        view.write(v)
    view.write(math.nan)
    view.seek()
    assert view.read("float") == math.inf
    assert view.read("float") == -math.inf
    z = view.read("f64")
    assert z == 0.0 and math.copysign(1.0, z) == -1.0
    assert view.read("float") == 5e-324
    assert view.read("float") == 1.7976931348623157e308
    assert math.isnan(view.read("float"))


# ------------------------------------------------------------------ decode tags

def test_every_tag(view):
    raw = (b"\x07"                           # bool: any non-zero byte is True
           + b"\x00"                         # bool False
           + b"\xfe"                         # u8
           + struct.pack("=i", -123456)      # i32
           + struct.pack("=I", 4000000000)   # u32
           + struct.pack("=f", 1.5)          # f32
           + struct.pack("=q", -5)           # int
           + struct.pack("=q", I64_MIN)      # i64
           + struct.pack("=Q", 2 ** 64 - 1)  # u64
           + struct.pack("=d", 0.1)          # float
           + struct.pack("=d", -2.5)         # f64
           + s("tag"))                       # str
    view.write(raw)
    view.seek()
    got = [view.read(t) for t in ("bool", "bool", "u8", "i32", "u32", "f32", "int", "i64",
                                  "u64", "float", "f64", "str")]
    assert got == [True, False, 254, -123456, 4000000000, 1.5, -5, I64_MIN, 2 ** 64 - 1,
                   0.1, -2.5, "tag"]
    assert [type(v) for v in got] == [bool, bool, int, int, int, float, int, int, int,
                                      float, float, str]
    assert view.tell() == len(raw)


def test_f32_rounds_like_c(view):
    view.write(struct.pack("=f", 0.1))
    view.seek()
    assert view.read("f32") == struct.unpack("=f", struct.pack("=f", 0.1))[0]


# ------------------------------------------------------------------ cursor rule

def test_cursor_rule_write_with_offset(view):
    view.write(1)
    assert view.tell() == 8
    view.write(7, offset=100)
    assert view.tell() == 108  # just after what was written
    view.write("xy", offset=200)
    assert view.tell() == 206
    view.write(b"\x01\x02")  # at the cursor
    assert view.tell() == 208
    assert view.read_range(204, 4) == b"xy\x01\x02"
    assert view.read_range(100, 8) == struct.pack("=q", 7)


def test_cursor_rule_read_mixed_with_offset(view):
    view.write_mixed([5, 6.5, "s"], offset=40)
    assert view.tell() == 40 + 8 + 8 + 5
    view.seek(0)
    assert view.read_mixed([("int", 1), ("float", 1), ("str", 1)], offset=40) == [5, 6.5, "s"]
    assert view.tell() == 61
    view.seek(40)
    assert view.read_mixed([("int", 1)]) == [5]
    assert view.tell() == 48
    assert view.read("float") == 6.5


def test_read_range_and_read_all_keep_cursor(view):
    view.write(b"abc")
    assert view.read_range(0, 3) == b"abc"
    assert view.tell() == 3
    data = view.read_all()
    assert view.tell() == 3
    assert type(data) is bytes
    assert len(data) == DATA
    assert data[:3] == b"abc" and data[3:] == bytes(DATA - 3)


def test_seek_and_tell(view):
    assert view.tell() == 0
    assert view.seek(10) is None
    assert view.tell() == 10
    view.seek()
    assert view.tell() == 0
    view.seek(DATA)
    assert view.tell() == DATA
    with pytest.raises(ValueError):
        view.seek(DATA + 1)
    with pytest.raises(ValueError):
        view.seek(-1)
    assert view.tell() == DATA


def test_read_range_edges(view):
    view.write(b"Z", offset=DATA - 1)
    assert view.read_range(DATA - 1, 1) == b"Z"
    assert len(view.read_range(0, DATA)) == DATA


def test_zero(mem, view):
    view.write(b"\xff" * DATA, offset=0)
    assert view.zero() is None
    assert view.read_all() == bytes(DATA)
    assert seg_bytes(mem) == bytes(SIZE)


# ------------------------------------------------------------------ mixed

def test_reference_write_mixed_layout(view):
    view.write_mixed([
        ["Hello", "from", "producer"],
        [0.92, 0.87, 0.95],
        [True, False, True],
    ])
    expected = (s("Hello") + s("from") + s("producer")
                + struct.pack("=3d", 0.92, 0.87, 0.95) + b"\x01\x00\x01")
    assert view.tell() == len(expected)
    assert view.read_range(0, len(expected)) == expected
    view.seek()
    labels, scores, flags = view.read_mixed([("str", 3), ("float", 3), ("bool", 3)])
    assert labels == ["Hello", "from", "producer"]
    assert scores == [0.92, 0.87, 0.95]
    assert flags == [True, False, True]
    assert view.tell() == len(expected)


def test_write_mixed_flat_and_bytes(view):
    assert view.write_mixed(["a", 1, 2.0, False, b"\x09\x08", bytearray(b"\x07")]) is None
    expected = s("a") + struct.pack("=qd", 1, 2.0) + b"\x00\x09\x08\x07"
    assert view.read_range(0, len(expected)) == expected
    assert view.tell() == len(expected)


def test_write_mixed_with_offset(view):
    view.write_mixed([[1, 2], "z"], offset=50)
    assert view.tell() == 50 + 16 + 5
    assert view.read_range(50, 21) == struct.pack("=qq", 1, 2) + s("z")


def test_read_mixed_counts(view):
    view.write_mixed([[1, 2, 3], 4.5, ["p", "q"]])
    view.seek()
    assert view.read_mixed([("int", 3), ("float", 1), ("str", 2)]) == [[1, 2, 3], 4.5, ["p", "q"]]
    view.seek()
    assert view.read_mixed([("i64", 1), ("i64", 2)]) == [1, [2, 3]]


# ------------------------------------------------------------------ locks

def test_lock_state_read(mem, view):
    other = mem.map()
    assert view.reader_count() == 0 and not view.is_write_locked()
    assert view.lock_read() is None
    assert lock_word(mem) == 1
    assert view.reader_count() == 1
    assert other.reader_count() == 1
    other.lock_read(timeout=1)
    assert view.reader_count() == 2 and lock_word(mem) == 2
    other.unlock()
    assert view.unlock() is None
    assert view.reader_count() == 0 and lock_word(mem) == 0
    other.close()


def test_lock_state_write(mem, view):
    other = mem.map()
    view.lock_write(timeout=1)
    assert view.is_write_locked() and other.is_write_locked()
    assert view.reader_count() == 0
    assert lock_word(mem) < 0
    # The holder's own data calls run inside its critical section.
    view.write(11, offset=0)
    assert view.read_range(0, 8) == struct.pack("=q", 11)
    t0 = time.monotonic()
    with pytest.raises(TimeoutError):
        other.lock_read(timeout=0.2)
    waited = time.monotonic() - t0
    assert 0.15 <= waited < 3
    with pytest.raises(TimeoutError):
        other.lock_write(timeout=0.05)
    view.unlock()
    assert lock_word(mem) == 0 and not view.is_write_locked()
    other.lock_write(timeout=0)
    other.unlock()
    other.close()


def test_writer_waits_for_readers(mem, view):
    other = mem.map()
    view.lock_read()
    with pytest.raises(TimeoutError):
        other.lock_write(timeout=0.1)
    assert lock_word(mem) == 1
    view.unlock()
    other.lock_write(timeout=1)
    other.unlock()
    other.close()


def test_lock_context_managers(mem, view):
    other = mem.map()
    with view.read_locked(timeout=1):
        assert other.reader_count() == 1
        assert view.read_range(0, 4) == bytes(4)
    assert other.reader_count() == 0
    with view.write_locked(timeout=1):
        assert other.is_write_locked()
        view.write(b"in lock", offset=0)
    assert not other.is_write_locked()
    with pytest.raises(RuntimeError):
        with view.write_locked():
            raise RuntimeError("released anyway")
    assert lock_word(mem) == 0
    with view.write_locked():
        with pytest.raises(TimeoutError):
            with other.read_locked(timeout=0.05):
                pass
    assert other.reader_count() == 0 and lock_word(mem) == 0
    other.close()


def test_lock_misuse(view):
    # Programming errors, like threading.Lock's "release unlocked lock".
    with pytest.raises(RuntimeError):
        view.unlock()  # holds nothing
    view.lock_read()
    with pytest.raises(RuntimeError):
        view.lock_write(timeout=0)  # already holds a lock
    with pytest.raises(RuntimeError):
        view.lock_read(timeout=0)
    view.unlock()
    assert view.reader_count() == 0


def test_close_releases_lock(mem, view):
    other = mem.map()
    other.lock_write()
    other.close()
    assert lock_word(mem) == 0
    view.lock_write(timeout=0.1)
    view.unlock()


def test_foreign_writer_minus_one(mem, view):
    """A membridge 1.0 peer writes -1 for a writer and 0 for free."""
    set_lock_word(mem, -1)
    assert view.is_write_locked()
    assert view.reader_count() == 0
    with pytest.raises(TimeoutError):
        view.lock_read(timeout=0.05)
    # Its death cannot be judged: only force clears it.
    with pytest.raises(OSError):
        view.break_lock()
    assert lock_word(mem) == -1
    assert view.break_lock(force=True) is None
    assert lock_word(mem) == 0
    view.lock_write(timeout=0.1)
    view.unlock()


def test_foreign_readers(mem, view):
    set_lock_word(mem, 3)
    assert view.reader_count() == 3
    assert not view.is_write_locked()
    with pytest.raises(TimeoutError):
        view.lock_write(timeout=0.05)
    view.lock_read(timeout=0.1)
    assert lock_word(mem) == 4
    view.unlock()
    assert lock_word(mem) == 3
    set_lock_word(mem, 0)


def test_dead_writer_and_break_lock(mem, view):
    # A child takes the write lock and dies without releasing it.
    run_python("""
        import os, sys
        import membridge
        mem = membridge.SharedMemory.open(sys.argv[1])
        view = mem.map()
        view.lock_write(timeout=1)
        view.write(b"half-done", offset=0)
        os._exit(0)
        """, mem.name())
    assert view.is_write_locked()
    with pytest.raises(OSError) as info:
        view.lock_read(timeout=1)
    assert info.value.errno == errno.EOWNERDEAD
    assert "break_lock" in str(info.value)
    assert view.break_lock() is None
    assert lock_word(mem) == 0
    with view.read_locked(timeout=1):
        assert view.read_range(0, 9) == b"half-done"


def test_break_lock_live_writer(mem, view):
    other = mem.map()
    other.lock_write()
    with pytest.raises(OSError) as info:
        view.break_lock()
    assert info.value.errno == errno.EBUSY
    assert other.is_write_locked()
    other.unlock()
    other.close()


# ------------------------------------------------------------------ buffer protocol

def test_memoryview_is_the_data_area(mem, view):
    mv = memoryview(view)
    try:
        assert mv.nbytes == DATA
        assert not mv.readonly
        assert mv.format == "B" and mv.itemsize == 1 and mv.ndim == 1
        assert mv.contiguous
        mv[0:3] = b"abc"
        assert view.read_range(0, 3) == b"abc"
        assert seg_bytes(mem)[4:7] == b"abc"
        view.write(b"xyz", offset=10)
        assert bytes(mv[10:13]) == b"xyz"
        assert mv[DATA - 1] == 0
    finally:
        mv.release()


def test_buffer_is_not_a_copy(view):
    a = ctypes.c_char.from_buffer(view)
    b = ctypes.c_char.from_buffer(view)
    try:
        assert ctypes.addressof(a) == ctypes.addressof(b)
        ctypes.memmove(ctypes.addressof(a), b"zero-copy", 9)
        assert view.read_range(0, 9) == b"zero-copy"
    finally:
        del a, b


def test_numpy_frombuffer(view):
    np = pytest.importorskip("numpy")
    arr = np.frombuffer(view, dtype=np.int64, count=4)
    assert arr.flags.writeable
    arr[:] = [1, -2, 3, I64_MAX]
    assert view.read_mixed([("int", 4)]) == [[1, -2, 3, I64_MAX]]
    view.write(2.5, offset=32)
    floats = np.frombuffer(view, dtype=np.float64, count=1, offset=32)
    assert floats[0] == 2.5
    del arr, floats


def test_close_while_exported(view):
    mv1 = memoryview(view)
    mv2 = memoryview(view)
    with pytest.raises(BufferError):
        view.close()
    mv1.release()
    with pytest.raises(BufferError):
        view.close()
    # Still usable after the refused close.
    view.write(5, offset=0)
    assert mv2[0] == 5
    mv2.release()
    view.close()
    with pytest.raises(ValueError):
        memoryview(view)


# ------------------------------------------------------------------ lifetime, repr

def test_repr(mem, view):
    r = repr(view)
    assert r.startswith("<membridge.MappedView ")
    assert mem.name() in r
    view.close()
    r = repr(view)
    assert r.startswith("<membridge.MappedView ") and "closed" in r


def test_context_manager(mem):
    with mem.map() as view:
        assert isinstance(view, membridge.MappedView)
        view.write(3)
    with pytest.raises(ValueError):
        view.tell()


# ------------------------------------------------------------------ lock_timeout

def test_lock_timeout_bounds_the_data_calls(mem):
    holder, view = mem.map(), mem.map()
    assert view.lock_timeout == 5.0
    holder.lock_write()
    try:
        view.lock_timeout = 0.2
        assert view.lock_timeout == pytest.approx(0.2)
        t0 = time.monotonic()
        with pytest.raises(TimeoutError, match="timed out waiting for the lock"):
            view.read("int")
        assert 0.15 <= time.monotonic() - t0 < 30  # waited, and not the 5 s default
        view.lock_timeout = 0
        with pytest.raises(TimeoutError):
            view.write(1)
        for forever in (None, math.inf):
            view.lock_timeout = forever
            assert view.lock_timeout is None
        for bad in (-1, math.nan):
            with pytest.raises(ValueError, match="timeout must be None"):
                view.lock_timeout = bad
        assert view.lock_timeout is None  # a refused value leaves it as it was
    finally:
        holder.unlock()
    view.lock_timeout = 1
    view.write(7, offset=0)
    assert view.read_mixed([("int", 1)], offset=0) == [7]
    holder.close()
    view.close()


def test_timeout_rule_is_one_sentence_everywhere():
    """The docstrings, the stubs and README.md state the same rule."""
    def words(text):
        return " ".join(text.split())

    rule = words(membridge.SpscRingBuffer.__doc__.split("\n\n")[-1])
    assert rule.startswith("Timeouts are in seconds")
    assert rule in words(membridge.MappedView.__doc__)
    package = pathlib.Path(membridge.__file__).parent
    assert rule in words((package / "__init__.pyi").read_text(encoding="utf-8"))
    readme = pathlib.Path(__file__).resolve().parents[2] / "README.md"
    if readme.is_file():
        assert rule in words(readme.read_text(encoding="utf-8"))
