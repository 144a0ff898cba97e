# SPDX-License-Identifier: MIT
"""numpy arrays, multi-part messages and pickle-5 objects through the
channel: round trips of many dtypes and shapes, the no-copy proof by
address, the release rules of views, the documented errors, hostile and
C-made messages (the library's own writer and reader, through ctypes), and
arrays between two processes."""

import ctypes
import math
import pickle
import sys

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import finish, popen_python, readme_examples, run_python, run_readme_pair

np = pytest.importorskip("numpy")

MAX = 1 << 16
GUARD = 120  # seconds: only stops a stuck peer, never a speed bound


@pytest.fixture
def mem(shm_name):
    with SharedMemory.create_channel(shm_name, MAX, subscribers=2) as m:
        yield m


@pytest.fixture
def pair(mem):
    with mem.publisher() as pub, mem.subscriber() as sub:
        yield pub, sub


def lag(pub):
    return pub.subscribers()[0].lag


def mapping_range(mem):
    """[start, end) of the segment's mapping in this process, found through
    a MappedView of it (its buffer starts after the 4-byte lock word)."""
    view = mem.map()
    with memoryview(view) as whole:
        start = ctypes.addressof(ctypes.c_char.from_buffer(whole)) - 4
    view.close()
    return start, start + mem.size()


def address(arr):
    return arr.__array_interface__["data"][0]


# ---- the library's own writer and reader, for C-made and C-read messages ----

class CArray(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_char * 32), ("ndim", ctypes.c_uint),
                ("shape", ctypes.c_uint64 * 32), ("itemsize", ctypes.c_size_t),
                ("nbytes", ctypes.c_size_t), ("data", ctypes.c_void_p)]


@pytest.fixture(scope="module")
def lib():
    """libmembridge as the extension loaded it (dlsym searches its
    dependencies)."""
    lib = ctypes.CDLL(membridge._membridge.__file__)
    lib.membridge_array_message_size.restype = ctypes.c_size_t
    lib.membridge_array_message_size.argtypes = [ctypes.POINTER(CArray)]
    lib.membridge_array_write.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                          ctypes.POINTER(CArray)]
    lib.membridge_array_read.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                         ctypes.POINTER(CArray)]
    return lib


def c_array(dtype, shape):
    a = CArray(dtype=dtype.encode(), ndim=len(shape))
    for i, n in enumerate(shape):
        a.shape[i] = n
    return a


def c_publish(lib, pub, dtype, shape, data):
    """Publish an array message made by membridge_array_write in a loan."""
    a = c_array(dtype, shape)
    size = lib.membridge_array_message_size(ctypes.byref(a))
    assert size > 0
    with pub.loan(size) as buf:
        at = ctypes.addressof(ctypes.c_char.from_buffer(buf))
        assert lib.membridge_array_write(at, size, ctypes.byref(a)) == 0
        assert a.nbytes == len(data)
        ctypes.memmove(a.data, data, len(data))


# ---- arrays: round trips ----

DTYPES = ["|b1", "|i1", "|u1", "<u2", ">i2", "<i4", ">u4", "<i8", ">i8", "<f2", ">f4",
          "<f8", ">f8", "<c8", ">c16", "|S5", "<U3", ">U2", "<M8[ns]", ">M8[D]",
          "<m8[s]", "<M8[25s]", "|V7"]
SHAPES = [(), (0,), (3, 0), (7,), (2, 3, 4), (1,) * 32]


def sample(dtype, shape):
    """A deterministic array of every byte value (bools as 0/1)."""
    dtype = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = bytes((i * 7 + 3) % 256 for i in range(n))
    if dtype.kind == "b":
        raw = bytes(b & 1 for b in raw)
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)) or "0d")
def test_array_round_trip(pair, dtype, shape):
    pub, sub = pair
    arr = sample(dtype, shape)
    assert pub.publish_array(arr)
    got = sub.receive_array()
    assert got.dtype == arr.dtype and got.dtype.str == dtype
    assert got.shape == shape
    assert got.tobytes() == arr.tobytes()
    assert not got.flags.writeable
    del got
    assert lag(pub) == 0


def test_structured_travels_as_void(pair):
    pub, sub = pair
    kind = np.dtype([("a", "<i4"), ("b", ">f8"), ("c", "|S3")])
    arr = np.zeros(4, kind)
    arr["a"], arr["b"], arr["c"] = [1, 2, 3, 4], [0.5, 1.5, 2.5, 3.5], b"xyz"
    assert pub.publish_array(arr)
    got = sub.receive_array()
    assert got.dtype == np.dtype("|V%d" % kind.itemsize)
    assert (got.view(kind) == arr).all()


def test_buffers_without_a_dtype(pair):
    """array.array, bytes and memoryviews are arrays of their format."""
    import array
    pub, sub = pair
    cases = [(array.array("d", [1.5, -2.0]), "<f8", (2,)),
             (array.array("h", [1, -2, 3]), "<i2", (3,)),
             (b"abc", "|u1", (3,)),
             (memoryview(bytes(range(12))).cast("I", (3,)), "<u4", (3,)),
             (memoryview(bytes(range(12))).cast("B", (3, 4)), "|u1", (3, 4))]
    for obj, dtype, shape in cases:
        assert pub.publish_array(obj)
        got = sub.receive_array(copy=True)
        assert (got.dtype.str, got.shape) == (dtype, shape)
        assert got.tobytes() == bytes(obj)


def test_fortran_order_and_views_that_are_contiguous(pair):
    pub, sub = pair
    base = np.arange(24, dtype="<i4").reshape(4, 6)
    assert pub.publish_array(base[1:3])  # C-contiguous rows of a bigger array
    assert (sub.receive_array() == base[1:3]).all()
    with pytest.raises(ValueError, match="ascontiguousarray"):
        pub.publish_array(np.asfortranarray(base))


# ---- arrays: in place, held, released ----

def test_receive_array_is_inside_the_segment(mem):
    pub, sub = mem.publisher(), mem.subscriber()
    start, end = mapping_range(mem)
    arr = np.arange(1000, dtype="<f8")
    assert pub.publish_array(arr)
    got = sub.receive_array()
    at = address(got)
    assert start <= at and at + got.nbytes <= end
    assert at % 64 == 0
    assert (got == arr).all()
    assert pub.publish_array(arr)
    owned = sub.receive_array(copy=True)
    assert not start <= address(owned) < end
    assert owned.flags.writeable and owned.flags.owndata
    del got
    sub.close()
    pub.close()


def test_array_holds_its_message(pair):
    pub, sub = pair
    assert pub.publish_array(np.arange(10, dtype="<i2"))
    got = sub.receive_array()
    part = got[2:5]
    del got
    assert lag(pub) == 1  # the slice still points into the message
    assert list(part) == [2, 3, 4]
    del part
    assert lag(pub) == 0


def test_copy_releases_at_once(pair):
    pub, sub = pair
    assert pub.publish_array(np.ones((2, 2)))
    got = sub.receive_array(copy=True)
    assert lag(pub) == 0
    got[0, 0] = 5  # writable, its own
    assert got.sum() == 8


def test_message_array_and_release_rules(pair):
    pub, sub = pair
    assert pub.publish_array(np.arange(6, dtype="<u1").reshape(2, 3))
    msg = sub.receive()
    arr = msg.array()
    assert arr.shape == (2, 3) and arr[1, 2] == 5
    with pytest.raises(BufferError):
        msg.release()  # the array exports it
    del arr
    msg.release()
    with pytest.raises(ValueError, match="released"):
        msg.array()
    with pytest.raises(ValueError, match="released"):
        msg.parts()
    assert lag(pub) == 0


def test_subscriber_close_refused_while_an_array_lives(pair):
    pub, sub = pair
    assert pub.publish_array(np.zeros(3))
    got = sub.receive_array()
    with pytest.raises(BufferError):
        sub.close()
    del got
    sub.close()


def test_nothing_to_receive(pair):
    pub, sub = pair
    assert sub.receive_array() is None
    assert sub.receive_array(timeout=0.001) is None
    assert sub.receive_object() is None


# ---- arrays: what cannot be sent ----

def test_object_arrays_are_refused(pair):
    pub, _ = pair
    with pytest.raises(TypeError, match="publish_object"):
        pub.publish_array(np.array([1, "a"], dtype=object))
    with pytest.raises(TypeError, match="publish_object"):
        pub.publish_array(np.zeros(2, [("a", "<i4"), ("o", object)]))
    assert lag(pub) == 0


def test_non_contiguous_is_refused(pair):
    pub, _ = pair
    with pytest.raises(ValueError, match=r"numpy\.ascontiguousarray"):
        pub.publish_array(np.zeros((4, 4))[:, ::2])
    with pytest.raises(ValueError, match=r"numpy\.ascontiguousarray"):
        pub.publish_array(memoryview(bytes(8))[::2])


def test_not_an_array(pair):
    pub, _ = pair
    with pytest.raises(TypeError, match=r"numpy\.asarray"):
        pub.publish_array([1, 2, 3])
    class Pair(ctypes.Structure):
        _fields_ = [("a", ctypes.c_int), ("b", ctypes.c_char)]

    with pytest.raises(TypeError, match="format"):
        pub.publish_array((Pair * 2)())  # a struct format: pass numpy.asarray(x)
    assert pub.publish_array((ctypes.c_int * 2)(5, 6))  # format '<i'


def test_too_large_and_full(mem):
    pub, sub = mem.publisher(), mem.subscriber()
    with pytest.raises(ValueError, match="max_message"):
        pub.publish_array(np.zeros(MAX, "u1"))  # the header makes it larger
    sent = 0
    while pub.publish_array(np.zeros(MAX - 64, "u1")):
        sent += 1
        assert sent < 100
    assert sent >= 1
    assert pub.publish_array(np.zeros(1), timeout=0.001) is False
    while sub.receive_array(copy=True) is not None:
        sent -= 1
    assert sent == 0
    sub.close()
    pub.close()


def test_closed_publisher(mem):
    pub = mem.publisher()
    pub.close()
    with pytest.raises(ValueError, match="closed"):
        pub.publish_array(np.zeros(1))
    with pytest.raises(ValueError, match="closed"):
        pub.publish_object(1)


# ---- hostile and C-made messages ----

def test_raw_bytes_are_not_an_array(pair):
    pub, sub = pair
    assert pub.publish(b"hello")
    assert pub.publish_array(np.arange(3))
    with pytest.raises(membridge.MessageDecodeError, match="not an array") as info:
        sub.receive_array()
    assert info.value.raw == b"hello"
    assert lag(pub) == 1  # consumed: only the array is left
    assert list(sub.receive_array()) == [0, 1, 2]


@pytest.mark.parametrize("cut", [1, 47, 64, 65, 100])
def test_truncated_and_extended_arrays(pair, cut):
    pub, sub = pair
    assert pub.publish_array(np.arange(20, dtype="<f8"))
    whole = sub.receive_bytes()
    assert len(whole) == 64 + 160
    for bad in (whole[:cut], whole + b"\0" * cut):
        assert pub.publish(bad)
        with pytest.raises(membridge.MessageDecodeError):
            sub.receive_array()
    assert lag(pub) == 0


def test_message_array_of_a_bad_message_stays_held(pair):
    pub, sub = pair
    assert pub.publish(b"\x00" * 200)
    msg = sub.receive()
    with pytest.raises(membridge.MessageDecodeError):
        msg.array()
    assert lag(pub) == 1
    assert bytes(msg) == b"\x00" * 200
    msg.release()
    assert lag(pub) == 0


def test_c_made_array_round_trips(pair, lib):
    pub, sub = pair
    data = np.arange(12, dtype=">i4").tobytes()
    c_publish(lib, pub, ">i4", (3, 4), data)
    got = sub.receive_array()
    assert got.dtype.str == ">i4" and got.shape == (3, 4)
    assert (got == np.arange(12).reshape(3, 4)).all()


def test_c_made_dtype_numpy_does_not_know(pair, lib):
    pub, sub = pair
    c_publish(lib, pub, "<f3", (2,), bytes(6))  # well-formed, no numpy type
    with pytest.raises(membridge.MessageDecodeError, match="numpy"):
        sub.receive_array()
    assert lag(pub) == 0


def test_c_reads_what_python_publishes(pair, lib):
    pub, sub = pair
    arr = np.arange(6, dtype="<u2").reshape(3, 2)
    assert pub.publish_array(arr)
    with sub.receive() as msg:
        with memoryview(msg) as mv:
            raw = (ctypes.c_char * len(mv)).from_buffer_copy(mv)
            a = CArray()
            assert lib.membridge_array_read(ctypes.addressof(raw), len(mv), ctypes.byref(a)) == 0
    assert (a.dtype, a.ndim, list(a.shape[:2]), a.itemsize, a.nbytes) == \
        (b"<u2", 2, [3, 2], 2, 12)
    assert a.data - ctypes.addressof(raw) == 64
    assert ctypes.string_at(a.data, a.nbytes) == arr.tobytes()


# ---- multi-part messages ----

def test_parts_round_trip(mem):
    pub, sub = mem.publisher(), mem.subscriber()
    start, end = mapping_range(mem)
    sent = [b"", b"a" * 100, bytearray(b"xyz"), memoryview(np.arange(5, dtype="<i8")), b"z"]
    assert pub.publish_parts(sent)
    msg = sub.receive()
    parts = msg.parts()
    assert [bytes(p) for p in parts] == [bytes(s) for s in sent]
    for p in parts:
        assert p.readonly
        if len(p):
            at = address(np.frombuffer(p, "u1"))
            assert start <= at < end and at % 64 == 0
    with pytest.raises(BufferError):
        msg.release()
    for p in parts:
        p.release()
    msg.release()
    assert pub.publish_parts([])
    with sub.receive() as msg:
        assert msg.parts() == []
    sub.close()
    pub.close()


def test_parts_errors(pair):
    pub, sub = pair
    with pytest.raises(TypeError):
        pub.publish_parts(["text is not bytes"])
    with pytest.raises(TypeError):
        pub.publish_parts(5)
    with pytest.raises(ValueError, match="4096"):
        pub.publish_parts([b""] * 4097)
    with pytest.raises(ValueError, match="max_message"):
        pub.publish_parts([bytes(MAX)])
    assert pub.publish_parts([b""] * 4096)  # the most parts: 32 KiB of header
    with sub.receive() as msg:
        parts = msg.parts()
        assert len(parts) == 4096 and not any(parts)
        del parts
    assert pub.publish(b"raw")
    msg = sub.receive()
    with pytest.raises(membridge.MessageDecodeError, match="multi-part"):
        msg.parts()
    msg.release()
    assert lag(pub) == 0


# ---- objects (pickle protocol 5) ----

def test_object_with_a_big_array_is_a_view(shm_name):
    big = np.arange(10 * 2 ** 20 // 8, dtype="<f8")  # 10 MiB
    size = big.nbytes + 4096
    with SharedMemory.create_channel(shm_name, size, subscribers=1) as mem:
        pub, sub = mem.publisher(), mem.subscriber()
        start, end = mapping_range(mem)
        obj = {"frame": big, "meta": {"id": 7, "tags": ["a", "b"]},
               "more": [pickle.PickleBuffer(b"out-of-band"), np.ones((2, 3), ">i2")]}
        assert pub.publish_object(obj)
        got = sub.receive_object()
        frame = got["frame"]
        assert start <= address(frame) and address(frame) + frame.nbytes <= end
        assert address(frame) % 64 == 0
        assert not frame.flags.writeable
        assert (frame == big).all()
        assert got["meta"] == obj["meta"]
        assert bytes(got["more"][0]) == b"out-of-band"
        assert (got["more"][1] == 1).all() and got["more"][1].dtype.str == ">i2"
        assert lag(pub) == 1  # the views hold the message
        del got, frame
        assert lag(pub) == 0

        assert pub.publish_object(obj)
        got = sub.receive_object(copy=True)
        assert lag(pub) == 0
        assert got["frame"].flags.writeable and (got["frame"] == big).all()
        assert not start <= address(got["frame"]) < end
        sub.close()
        pub.close()


def test_objects_without_buffers(pair):
    pub, sub = pair
    for obj in [None, 0, "text", {"a": [1, 2.5, (3, b"x")]}, bytearray(b"in-band")]:
        assert pub.publish_object(obj)
        assert sub.receive_object() == obj
    assert pub.publish_object(None)
    with sub.receive() as msg:  # a published None, told apart from none
        assert msg.object() is None
    assert lag(pub) == 0


def test_message_object_holds_the_message(pair):
    pub, sub = pair
    assert pub.publish_object([np.arange(4)])
    msg = sub.receive()
    arrs = msg.object()
    with pytest.raises(BufferError):
        msg.release()
    copies = msg.object(copy=True)
    assert arrs[0].tolist() == copies[0].tolist() == [0, 1, 2, 3]
    del arrs
    msg.release()
    assert copies[0].flags.writeable


def test_objects_that_are_not(pair):
    pub, sub = pair
    assert pub.publish(b"raw bytes")
    with pytest.raises(membridge.MessageDecodeError) as info:
        sub.receive_object()
    assert info.value.raw == b"raw bytes"
    assert pub.publish_parts([])
    with pytest.raises(membridge.MessageDecodeError, match="pickle"):
        sub.receive_object()
    assert pub.publish_parts([b"not a pickle"])
    with pytest.raises(pickle.UnpicklingError):
        sub.receive_object()
    assert lag(pub) == 0
    with pytest.raises(TypeError):
        pub.publish_object(sys)  # a module cannot be pickled
    assert lag(pub) == 0


def test_import_stays_light():
    out = run_python("""
        import sys, membridge
        print(sorted(m for m in ("numpy", "membridge._objects") if m in sys.modules))
    """).stdout
    assert out.strip() == "[]"


# ---- two processes ----

PUBLISHER = """
import math, sys, numpy as np, membridge
mem = membridge.SharedMemory.open(sys.argv[1])
pub = mem.publisher()
mem.close()
kinds = ["<f8", ">i4", "|u1", "<c8", "<M8[us]"]
for i in range(int(sys.argv[2])):
    dtype = np.dtype(kinds[i % len(kinds)])
    shape = (i % 7, i % 5 + 1)
    arr = np.frombuffer(bytes((i + j) % 251 for j in range(shape[0] * shape[1] * dtype.itemsize)),
                        dtype).reshape(shape)
    assert pub.publish_array(arr, timeout=120)
assert pub.publish_object({"done": True, "last": arr}, timeout=120)
pub.close()
"""


def test_arrays_between_processes(shm_name):
    count = 400
    kinds = ["<f8", ">i4", "|u1", "<c8", "<M8[us]"]
    with SharedMemory.create_channel(shm_name, 4096, data_size=16384, subscribers=1) as mem:
        sub = mem.subscriber()
        proc = popen_python(PUBLISHER, shm_name, count)
        try:
            for i in range(count):  # the data area wraps many times
                got = sub.receive_array(timeout=GUARD)
                assert got is not None, "publisher stopped at %d" % i
                dtype = np.dtype(kinds[i % len(kinds)])
                shape = (i % 7, i % 5 + 1)
                assert got.dtype == dtype and got.shape == shape
                want = bytes((i + j) % 251 for j in range(got.nbytes))
                assert got.tobytes() == want
                del got
            end = sub.receive_object(timeout=GUARD)
            assert end["done"] and end["last"].shape == ((count - 1) % 7, (count - 1) % 5 + 1)
            del end
        finally:
            rc, out, err = finish(proc, GUARD)
        assert rc == 0, err
        sub.close()


def test_math_inf_timeout(pair):
    pub, sub = pair
    assert pub.publish_array(np.zeros(2), timeout=math.inf)
    assert sub.receive_array(timeout=math.inf).shape == (2,)


# ---- the README examples ----

def test_readme_examples_run(shm_names):
    blocks = readme_examples("frame_publisher", "frame_subscriber", "objects")
    frames, objects = shm_names(), shm_names()
    publisher, subscriber = (b.replace('"/frames"', repr(frames)) for b in blocks[:2])
    out = run_python(blocks[2].replace('"/objects"', repr(objects))).stdout
    assert out == "7 65536.0\n"
    assert run_readme_pair(publisher, subscriber, frames, GUARD) == "sum %d\n" % sum(range(100))
