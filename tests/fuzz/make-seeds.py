#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpora of the libFuzzer targets (tests/fuzz/corpus/<target>/).

Each seed is a small input laid out as the target's comment describes
(control bytes, then a segment image or the bytes to decode), little-endian
like the machines the project runs on. Run from anywhere:
    python3 tests/fuzz/make-seeds.py
It rewrites the seeds it knows and leaves any other file (an input a fuzzer
found) alone.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

# fuzz_spsc control byte 0
FIX_CAP, CLAMP, OPENER = 1, 2, 4
# fuzz_channel image byte: modes and publisher records
FRESH, HISTORY, RAW, HISTORY_RAW = 0, 1, 2, 3
PUB_DEAD, PUB_ALIVE, PUB_SELF = 4, 8, 12
RESERVE_TAIL, RESERVE_LAP = 16, 32
# fuzz_channel slot kinds
FREE, DEAD_ACTIVE, ALIVE_ACTIVE, DEAD_EVICTED, ALIVE_JOINING = range(5)
# fuzz_view control byte 0
RAW_LOCK, RAW_OFFSET, AT_CURSOR = 1, 2, 4

TYPES = {"bool": 1, "u8": 2, "i32": 3, "u32": 4, "f32": 5, "i64": 6, "u64": 7,
         "f64": 8, "str": 9, "bytes": 10}


def write(target, name, data):
    """Store one seed."""
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def frame(payload):
    """A ring frame: uint32 length, payload."""
    return struct.pack("<I", len(payload)) + payload


def ring(cap, head, frames, ctl0=FIX_CAP, ops=(0, 1, 2), tail=None):
    """fuzz_spsc input: the frames written from index `head` on (wrapping)."""
    data = bytearray(cap)
    stream = b"".join(frame(p) for p in frames)
    for i, byte in enumerate(stream):
        data[(head + i) % cap] = byte
    if tail is None:
        tail = head + len(stream)
    hdr = struct.pack("<QQQ", head % 2**64, tail % 2**64, cap)
    return bytes([ctl0, *ops]) + hdr + bytes(data)


def channel(data_class, slot_class, image=FRESH, max_message=100, tail=0, seq=0,
            kinds=(), keep=0x3f, raw=(0, 1, 0), ops=b""):
    """fuzz_channel input: the 32-byte image description, then operations."""
    kinds = bytes(kinds) + bytes(8 - len(kinds))
    desc = struct.pack("<BBHQQ8sB3B", data_class | slot_class << 2, image, max_message - 1,
                       tail, seq, kinds, keep, *raw)
    return desc + bytes(ops)


# fuzz_channel operations (see run_op() in fuzz_channel.c)
def sub_open(h, oldest=False):
    return bytes([0 | h << 4 | oldest << 6])


def receive(h, wait=False):
    return bytes([1 | h << 4 | wait << 6])


def batch(h, n):
    return bytes([2 | h << 4, n - 1])


def release(h):
    return bytes([3 | h << 4])


def read(h, cap):
    return bytes([4 | h << 4, cap])


def sub_close(h):
    return bytes([5 | h << 4])


PUB_OPEN, PUBLISH, ABORT = b"\x06", b"\x09", b"\x0a"


def loan(n, wait=False):
    return bytes([7 | wait << 6]) + struct.pack("<H", n)


def shrink(n):
    return bytes([8]) + struct.pack("<H", n)


def send(n, kind=0):
    return bytes([11 | kind << 4]) + struct.pack("<H", n)


def send_batch(lens):
    return bytes([11 | 2 << 4, len(lens) - 1]) + b"".join(struct.pack("<H", n) for n in lens)


def evict(slot):
    return bytes([12, slot])


def inspect(via_publisher, n=9):
    return bytes([13 | (not via_publisher) << 4, n])


def scribble(region, off, data, sub=0):
    return bytes([14, region | sub << 4, off, len(data) - 1]) + data


RESET, PUB_FD, PUB_CLOSE = b"\x0f", b"\x1f", b"\x3f"


def sub_fd(h):
    return bytes([0x2f | h << 6])


def strval(s):
    """A str value: uint32 byte length, the bytes."""
    return struct.pack("<I", len(s)) + s


def spsc_seeds():
    """Rings: empty, with frames, wrapped, full, corrupt, and the regressions."""
    t = "fuzz_spsc"
    write(t, "empty-uninitialised", bytes([0, 0, 1, 2]) + bytes(24 + 8))
    write(t, "empty-uninitialised-opener", bytes([OPENER, 0, 1, 2]) + bytes(24 + 8))
    write(t, "two-frames", ring(64, 0, [b"hello", b""]))
    write(t, "str-frame", ring(16, 0, [strval(b"hi")], ops=(1, 1, 1)))
    write(t, "wrapped-payload", ring(16, 10, [b"abcdefgh"]))
    write(t, "wrapped-length", ring(16, 14, [b"xyz"]))
    write(t, "full", ring(8, 0, [b"full"]))
    write(t, "many-frames-batch", ring(256, 100, [bytes([i]) * i for i in range(12)],
                                       ops=(2, 6, 14)))
    write(t, "small-buffer-pop", ring(64, 0, [b"0123456789"], ops=(0x80, 1, 0)))
    write(t, "length-past-tail", ring(32, 0, [b"abc"], tail=5))
    write(t, "not-a-ring", ring(32, 0, [b"abc"], ctl0=0))
    write(t, "tail-before-head", ring(32, 8, [], tail=4))
    write(t, "push-large", ring(64, 0, [], ctl0=FIX_CAP | 0xd0))
    # Indices that cross 2**64: a fresh producer must see the unread bytes
    # and refuse a push that does not fit.
    write(t, "regress-index-wrap", ring(8, 2**64 - 1, [], ctl0=FIX_CAP | 0x30,
                                        tail=2**64 + 1))
    # A frame the producer did not publish (length 0 where 3 is stored).
    write(t, "regress-consume-unpublished", ring(16, 0, [b"abc"], ops=(3, 3, 3)))


def view(ctl0, offset, schema, image, nbytes=0):
    """fuzz_view input: control bytes, then lock word + data area."""
    items = bytes(((count - 1) << 4) | typ for typ, count in schema)
    assert len(items) <= 8
    ctl = bytes([ctl0]) + struct.pack("<Q", offset % 2**64)
    ctl += bytes([len(items)]) + items.ljust(8, b"\0") + struct.pack("<H", nbytes)
    return ctl + image


def view_seeds():
    """Views holding each type, a schema over them, locks, bad str, edges."""
    t = "fuzz_view"
    values = (b"\x01" + b"\xfe" + struct.pack("<iIfqQd", -5, 7, 1.5, -9, 2**63, 2.25)
              + strval("héllo".encode()))
    # At most 8 items: the bool byte is read as a second u8.
    schema = [(TYPES["u8"], 2)] + [(TYPES[n], 1) for n in ("i32", "u32", "f32", "i64",
                                                           "u64", "f64", "str")]
    free = b"\0\0\0\0"
    write(t, "all-types-schema", view(0, 0, schema, free + values, 8))
    write(t, "all-types-cursor", view(AT_CURSOR | 0xf8, 0, schema, free + values))
    write(t, "repeated-i32", view(0, 0, [(TYPES["i32"], 4)],
                                  free + struct.pack("<4i", 1, -2, 3, -4)))
    write(t, "str-invalid-utf8", view(0, 0, [(TYPES["str"], 1)],
                                      free + strval(b"\xc3\x28\xed\xa0\x80")))
    write(t, "str-past-end", view(0, 0, [(TYPES["str"], 1)],
                                  free + struct.pack("<I", 1000) + b"abc"))
    write(t, "str-small-buffer", view(0x18, 0, [], free + strval(b"x" * 40)))
    write(t, "writer-locked", view(RAW_LOCK, 0, schema, struct.pack("<i", -1) + values))
    write(t, "readers-3", view(RAW_LOCK, 0, schema, struct.pack("<i", 3) + values))
    write(t, "readers-max", view(RAW_LOCK, 0, [], struct.pack("<i", 2**31 - 1) + values))
    write(t, "offset-at-end", view(RAW_OFFSET, len(values), schema, free + values, 1))
    write(t, "offset-cursor-constant", view(RAW_OFFSET, 2**64 - 1, schema, free + values))
    write(t, "one-byte-area", view(0, 0, [(TYPES["u8"], 2)], free + b"\x07"))
    write(t, "page-sized", view(RAW_OFFSET, 4092 - 8, [(TYPES["f64"], 1)],
                                free + bytes(4084) + struct.pack("<d", -0.0)))


def codec_seeds():
    """Bytes to decode, tags, and value lists to round-trip."""
    t = "fuzz_codec"
    values = (b"\x01\x02" + struct.pack("<iIfqQd", -1, 2, 0.5, 3, 4, 1e300)
              + strval("ok €".encode()))
    order = [TYPES[n] for n in ("bool", "u8", "i32", "u32", "f32", "i64", "u64", "f64")]
    write(t, "decode-all-types", bytes([0, 0, 0, 8]) + bytes(order) + values)
    write(t, "decode-str", bytes([0, 0, 0, 1, TYPES["str"]]) + bytes(7) + values[-10:])
    write(t, "decode-str-overlong", bytes([0, 0, 0, 1, 9]) + bytes(7)
          + strval(b"\xc0\xaf"))
    write(t, "decode-str-surrogate", bytes([0, 0, 0, 1, 9]) + bytes(7)
          + strval(b"\xed\xb0\x80"))
    write(t, "decode-str-4-byte", bytes([0, 0, 0, 1, 9]) + bytes(7)
          + strval("\U0010ffff\U0001f600".encode()))
    for tag in ("int", "float", "str", "bytes", "u64", "f3"):
        write(t, "tag-" + tag, bytes(12) + tag.encode())

    def entry(name, payload):
        return bytes([TYPES[name] - 1]) + payload

    rt = b"".join([
        entry("bool", b"\x01"), entry("u8", b"\xff"), entry("i32", struct.pack("<i", -7)),
        entry("u32", struct.pack("<I", 7)), entry("f32", struct.pack("<f", float("nan"))),
        entry("i64", struct.pack("<q", -2**63)), entry("u64", struct.pack("<Q", 2**64 - 1)),
        entry("f64", struct.pack("<d", float("-inf"))),
        entry("str", bytes([6]) + "héllo".encode()),
        entry("bytes", b"\x03\x00\x01\x02"),
    ])
    write(t, "roundtrip-all-types", b"\x01" + rt)
    write(t, "roundtrip-bad-utf8", b"\x01" + entry("str", b"\x02\xff\xfe") + entry("u8", b"x"))
    write(t, "roundtrip-empty", b"\x01")


def channel_seeds():
    """Channels: fresh and with a past, dead and live peers, full, wrapped,
    evictions, and a peer's writes into every part."""
    t = "fuzz_channel"
    stream = (PUB_OPEN + sub_open(0) + send(10) + send(0) + receive(0) + receive(0) +
              receive(0) + release(0) + inspect(True))
    write(t, "fresh-stream", channel(0, 0, ops=stream))
    write(t, "loans-batch", channel(1, 1, ops=PUB_OPEN + sub_open(0) + sub_open(2) +
                                    loan(40) + loan(90) + shrink(5) + PUBLISH + batch(0, 8) +
                                    read(2, 255) + read(2, 0) + read(2, 255) + release(0) +
                                    loan(7) + ABORT + inspect(False)))
    fill = b"".join(send(100) for _ in range(8))
    write(t, "full-then-evict", channel(0, 1, ops=PUB_OPEN + sub_open(0) + sub_open(1) + fill +
                                        loan(100, wait=True) + evict(0) + loan(100) + PUBLISH +
                                        receive(0) + receive(1) + release(1) + sub_close(0) +
                                        inspect(True)))
    write(t, "wrap-laps", channel(0, 0, max_message=112, ops=PUB_OPEN + sub_open(0) + sub_fd(0) +
                                  b"".join(send(70 + i) + read(0, 255) for i in range(12))))
    write(t, "history-dead-publisher", channel(2, 2, HISTORY | PUB_DEAD | RESERVE_LAP,
                                               tail=2**40 + 64, seq=2**64 - 2,
                                               kinds=(DEAD_ACTIVE, ALIVE_ACTIVE, FREE),
                                               ops=sub_open(0) + PUB_OPEN + PUB_FD +
                                               send_batch([3, 300, 500, 0]) + receive(0) +
                                               release(0) + inspect(True) + inspect(False)))
    write(t, "live-publisher-busy", channel(0, 0, HISTORY | PUB_ALIVE, tail=640,
                                            ops=PUB_OPEN + sub_open(0) + receive(0, wait=True)))
    write(t, "dead-slots-taken", channel(0, 3, HISTORY | RESERVE_TAIL,
                                         kinds=(DEAD_ACTIVE, DEAD_EVICTED, ALIVE_JOINING,
                                                ALIVE_ACTIVE) * 2,
                                         ops=sub_open(0) + sub_open(1) + sub_open(2) +
                                         sub_open(3) + inspect(True) + PUB_OPEN +
                                         b"".join(send(100) for _ in range(5)) + inspect(False)))
    write(t, "raw-header", channel(3, 0, RAW, keep=0x3e, raw=(1, 1, 0),
                                   ops=sub_open(0) + PUB_OPEN + inspect(True)))
    write(t, "raw-version-2", channel(3, 0, RAW, keep=0x3d, raw=(0, 2, 0),
                                      ops=sub_open(0) + PUB_OPEN + inspect(True)))
    write(t, "scribble-tail", channel(0, 1, ops=PUB_OPEN + sub_open(0) + send(20) +
                                      scribble(1, 0, struct.pack("<Q", 2**63)) + receive(0) +
                                      send(20) + RESET + PUB_OPEN + sub_open(0) + send(5) +
                                      receive(0)))
    write(t, "scribble-record", channel(0, 1, ops=PUB_OPEN + sub_open(0) + send(20) + send(30) +
                                        scribble(5, 0, struct.pack("<II", 200, 1)) +
                                        batch(0, 4) + release(0) + receive(0)))
    write(t, "scribble-slot", channel(1, 2, ops=PUB_OPEN + sub_open(0) + sub_open(1) + send(9) +
                                      scribble(4, 0, struct.pack("<Q", 7), sub=1) +
                                      send(9) + send(9) + inspect(False) + inspect(True) +
                                      receive(1) + release(1)))
    write(t, "scribble-reserve", channel(0, 0, ops=PUB_OPEN + send(9) +
                                         scribble(2, 8, struct.pack("<Q", 2**62)) +
                                         sub_open(0, oldest=True) + receive(0)))
    # Bugs found (tests/fuzz/README, "Bugs found"): a subscriber joining
    # with MEMBRIDGE_SUBSCRIBE_OLDEST next to a dead subscriber's slot.
    dead = dict(image=HISTORY, kinds=(DEAD_ACTIVE,))
    write(t, "regress-oldest-dead-loan",
          channel(0, 1, **dead, ops=PUB_OPEN + send(100) + send(100) + loan(100) +
                  sub_open(1, oldest=True) + receive(1)))
    write(t, "regress-oldest-dead-start",
          channel(0, 1, **dead, ops=PUB_OPEN + send(100) + sub_open(1, oldest=True) +
                  receive(1)))
    # A batch whose second record is broken (kind 7 at data offset 52).
    write(t, "regress-batch-error-drops",
          channel(0, 0, ops=PUB_OPEN + sub_open(0) + send(20) + send(20) +
                  bytes([14, 7, (768 + 52) & 255, 0, (768 + 52) >> 8, 7]) + batch(0, 4) +
                  release(0)))


def array_msg(dtype, shape, data=b"", version=1, offset=None):
    """An array message of membridge(7): header, zero padding, data."""
    end = 48 + 8 * len(shape)
    start = (end + 63) // 64 * 64
    head = (b"MBAR" + struct.pack("<HHQ", version, len(shape),
                                  start if offset is None else offset)
            + dtype.encode().ljust(32, b"\0") + b"".join(struct.pack("<Q", n) for n in shape))
    return head.ljust(start, b"\0") + data


def parts_msg(parts, version=1, lens=None):
    """A multi-part message of membridge(7): header, then each part aligned."""
    lens = [len(p) for p in parts] if lens is None else lens
    msg = b"MBPT" + struct.pack("<HH", version, len(lens)) + b"".join(
        struct.pack("<Q", n) for n in lens)
    for p in parts:
        msg = msg.ljust((len(msg) + 63) // 64 * 64, b"\0") + p
    return msg


def payload_seeds():
    """Array and multi-part messages: valid, at the limits, and broken."""
    t = "fuzz_payload"
    arrays = {
        "array-f4-3x4": array_msg("<f4", [3, 4], bytes(range(48))),
        "array-scalar-u1": array_msg("|u1", [], b"\x07"),
        "array-datetime": array_msg("<M8[ns]", [2], bytes(16)),
        "array-unicode": array_msg("<U2", [1], "ab".encode("utf-32-le")),
        "array-empty": array_msg("<f8", [0, 5]),
        "array-32-dims": array_msg("|b1", [1] * 32, b"\x01"),
        "array-version-2": array_msg("<f4", [1], bytes(4), version=2),
        "array-bad-offset": array_msg("<f4", [1], bytes(4), offset=56),
        "array-overflow": array_msg("<c16", [2**32, 2**32, 0], b""),
        "array-truncated": array_msg("<i8", [3], bytes(16)),
    }
    for name, msg in arrays.items():
        write(t, name, bytes([0, 0]) + msg)
    parts = {
        "parts-none": ([], None),
        "parts-pickle": ([b"\x80\x05pickle", bytes(100), b""], None),
        "parts-aligned": ([bytes(64), bytes(64)], None),
        "parts-past-end": ([b"abc"], [4]),
        "parts-overflow": ([b"a", b"b"], [2**63, 2**63]),
    }
    for name, (p, lens) in parts.items():
        write(t, name, bytes([1, 255]) + parts_msg(p, lens=lens))
    write(t, "parts-few-entries", bytes([1, 1]) + parts_msg([b"x", b"y", b"z"]))
    write(t, "parts-version-2", bytes([1, 255]) + parts_msg([b"x"], version=2))


def name_seeds():
    """Valid and invalid names, the edges of the length limit."""
    t = "fuzz_name"
    names = {
        "valid-short": b"/a",
        "valid-jobs": b"/jobs",
        "valid-dots": b"/...",
        "valid-hidden": b"/.hidden",
        "valid-bytes": b"/\xff\xfe space\n",
        "valid-239": b"/" + b"n" * 239,
        "too-long-241": b"/" + b"n" * 240,
        "too-long-with-slash": b"/" + b"n" * 120 + b"/" + b"n" * 150,
        "no-slash": b"jobs",
        "slash-only": b"/",
        "empty": b"",
        "two-parts": b"/a/b",
        "traversal": b"/../etc/passwd",
        "double-slash": b"//x",
        "dot": b"/.",
        "dotdot": b"/..",
        "companion": b"/q.membridge-wait",
        "embedded-nul": b"/ab\0/c",
    }
    for name, value in names.items():
        write(t, name, value)


if __name__ == "__main__":
    spsc_seeds()
    view_seeds()
    codec_seeds()
    name_seeds()
    channel_seeds()
    payload_seeds()
