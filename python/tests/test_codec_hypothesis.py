# SPDX-License-Identifier: MIT
"""Property-based round trips of the value codec through a view and a ring.

Every value is also checked against an independent encoder (`encode` below,
written from SPEC §2 with the struct module), so the bytes in shared memory
are pinned down, not only the round trip.
"""

import math
import struct

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from membridge import SharedMemory  # noqa: E402

I64_MIN = -(2 ** 63)
I64_MAX = 2 ** 63 - 1
VIEW_SIZE = 1 << 16
RING_CAPACITY = 1 << 16

# Arbitrary Unicode that UTF-8 can encode (no lone surrogates).
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)
ints = st.one_of(st.integers(min_value=I64_MIN, max_value=I64_MAX),
                 st.sampled_from([I64_MIN, I64_MIN + 1, -1, 0, 1, I64_MAX - 1, I64_MAX,
                                  2 ** 31, -(2 ** 31), 2 ** 32]))
floats = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324]))
blobs = st.binary(max_size=300)
scalars = st.one_of(st.booleans(), ints, floats, texts, blobs)
# A view write of zero bytes is refused like read_range(offset, 0).
view_scalars = st.one_of(st.booleans(), ints, floats, texts, st.binary(min_size=1, max_size=300))
TAG = {bool: "bool", int: "int", float: "float", str: "str"}


def encode(value):
    """SPEC §2, written independently of the extension."""
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return struct.pack("=q", value)
    if isinstance(value, float):
        return struct.pack("=d", value)
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return struct.pack("=I", len(raw)) + raw
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    if isinstance(value, list):
        return b"".join(encode(v) for v in value)
    raise TypeError(value)


def same(a, b):
    """Equality that treats NaN as equal to itself and tells -0.0 from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return struct.pack("=d", a) == struct.pack("=d", b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def schema_for(values):
    """A read_mixed/pop_mixed schema for a flat list of non-bytes values."""
    return [(TAG[type(v)], 1) for v in values]


@pytest.fixture
def view(shm_name):
    with SharedMemory.create(shm_name, VIEW_SIZE + 4) as mem, mem.map() as v:
        yield v
    SharedMemory.remove(shm_name)


@pytest.fixture
def ring(shm_name):
    with SharedMemory.create(shm_name, RING_CAPACITY + 24) as mem, mem.spsc() as r:
        yield r
    SharedMemory.remove(shm_name)


# The fixtures are made once per test; each @given example reuses them
# (Hypothesis examples must not depend on function-scoped fixtures' state).

def test_view_scalar_round_trip(view):
    @settings(max_examples=300)
    @given(value=view_scalars, offset=st.integers(min_value=0, max_value=1000))
    def check(value, offset):
        expected = encode(value)
        view.seek(offset)
        view.write(value)
        assert view.tell() == offset + len(expected)
        assert view.read_range(offset, len(expected)) == expected
        if isinstance(value, bytes):
            return
        view.seek(offset)
        got = view.read(TAG[type(value)])
        assert same(got, value)
        assert view.tell() == offset + len(expected)
        # With an explicit offset the same bytes land there too.
        view.write(value, offset=2000)
        assert view.tell() == 2000 + len(expected)
        assert view.read_range(2000, len(expected)) == expected

    check()


def test_view_mixed_round_trip(view):
    flat = st.lists(st.one_of(st.booleans(), ints, floats, texts), min_size=1, max_size=20)

    @settings(max_examples=200)
    @given(values=flat, offset=st.integers(min_value=0, max_value=500))
    def check(values, offset):
        expected = encode(values)
        view.write_mixed(values, offset=offset)
        assert view.tell() == offset + len(expected)
        assert view.read_range(offset, len(expected)) == expected
        got = view.read_mixed(schema_for(values), offset=offset)
        assert len(got) == len(values)
        assert all(same(g, v) for g, v in zip(got, values))
        assert view.tell() == offset + len(expected)

    check()


def test_view_grouped_mixed_round_trip(view):
    kinds = st.sampled_from([(st.booleans(), "bool"), (ints, "int"), (floats, "float"),
                             (texts, "str")])

    @st.composite
    def groups(draw):
        out = []
        for _ in range(draw(st.integers(min_value=1, max_value=5))):
            strategy, tag = draw(kinds)
            out.append((tag, draw(st.lists(strategy, min_size=2, max_size=6))))
        return out

    @settings(max_examples=150)
    @given(spec=groups())
    def check(spec):
        items = [vals for _, vals in spec]
        view.seek()
        view.write_mixed(items)
        assert view.read_range(0, len(encode(items))) == encode(items)
        view.seek()
        got = view.read_mixed([(tag, len(vals)) for tag, vals in spec])
        assert same(got, items)

    check()


def test_ring_scalar_round_trip(ring):
    @settings(max_examples=300)
    @given(value=scalars)
    def check(value):
        expected = encode(value)
        assert ring.push(value) is True
        assert ring.used() == 4 + len(expected)
        assert ring.pop() == expected
        if isinstance(value, bytes):
            return
        assert ring.push(value) is True
        assert same(ring.pop(TAG[type(value)]), value)
        assert ring.is_empty()

    check()


def test_ring_mixed_round_trip(ring):
    flat = st.lists(st.one_of(st.booleans(), ints, floats, texts), min_size=1, max_size=20)

    @settings(max_examples=200)
    @given(values=flat)
    def check(values):
        expected = encode(values)
        assert ring.push(values) is True
        assert ring.pop() == expected
        ring.push(values)
        got = ring.pop_mixed(schema_for(values))
        assert same(got, values)
        # pop(tag) gives the first value and ignores the rest.
        ring.push(values)
        assert same(ring.pop(TAG[type(values[0])]), values[0])
        assert ring.is_empty()

    check()


def test_ring_with_bytes_in_lists(ring):
    @settings(max_examples=100)
    @given(values=st.lists(st.one_of(blobs, texts, ints), max_size=10))
    def check(values):
        assert ring.push(values) is True
        assert ring.pop() == encode(values)

    check()


def test_ring_batches_round_trip(ring):
    @settings(max_examples=100)
    @given(values=st.lists(texts, max_size=40))
    def check(values):
        assert ring.push_many(values) == len(values)
        assert ring.pop_many(len(values) + 5, "str") == values
        assert ring.push_many(values) == len(values)
        assert ring.pop_many(len(values) + 5) == [encode(v) for v in values]
        assert ring.is_empty()

    check()


def test_ring_pop_into_round_trip(ring):
    buf = bytearray(4096)

    @settings(max_examples=100)
    @given(value=scalars)
    def check(value):
        expected = encode(value)
        ring.push(value)
        n = ring.pop_into(buf)
        assert n == len(expected)
        assert bytes(buf[:n]) == expected

    check()


def test_ring_invalid_utf8_keeps_raw(ring):
    import membridge

    @settings(max_examples=150)
    @given(raw=st.binary(min_size=1, max_size=60))
    def check(raw):
        payload = struct.pack("=I", len(raw)) + raw
        ring.push(payload)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            with pytest.raises(membridge.MessageUnicodeError) as info:
                ring.pop("str")
            assert info.value.raw == payload
        else:
            assert ring.pop("str") == text
        assert ring.is_empty()

    check()
