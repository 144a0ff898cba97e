# SPDX-License-Identifier: MIT
"""The channel in one process: Publisher, Loan, Subscriber, Message, their
errors and timeouts; and the ring's peek() and descriptors."""

import ctypes
import errno
import math
import select
import signal
import threading

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import shm_path

MAX = 256
DATA = 4096


@pytest.fixture
def mem(shm_name):
    with SharedMemory.create_channel(shm_name, MAX, data_size=DATA, subscribers=2) as m:
        yield m


@pytest.fixture
def pair(mem):
    pub, sub = mem.publisher(), mem.subscriber()
    yield pub, sub
    sub.close()
    pub.close()


def lag(pub, slot=0):
    return {s.slot: s.lag for s in pub.subscribers()}[slot]


# ---- creation and shape ----

def test_create_channel_shape(mem):
    cfg = mem.channel_config()
    assert isinstance(cfg, membridge.ChannelConfig)
    assert cfg == (DATA, MAX, 2, 0)
    assert (cfg.data_size, cfg.max_message, cfg.subscribers, cfg.flags) == (DATA, MAX, 2, 0)
    assert mem.size() == 640 + 128 * 2 + DATA


def test_create_channel_default_data_size(shm_name):
    with SharedMemory.create_channel(shm_name, 100) as m:
        assert m.channel_config() == (65536, 100, 8, 0)
    with SharedMemory.create_channel(shm_name, 65536, replace=True) as m:
        assert m.channel_config().data_size == 8 * (65536 + 64)


@pytest.mark.parametrize("kw", [
    dict(max_message=0), dict(max_message=-1), dict(max_message=2 ** 32),
    dict(subscribers=0), dict(subscribers=1025), dict(data_size=100),
    dict(data_size=64), dict(data_size=-64), dict(data_size=2 ** 70),
])
def test_create_channel_invalid_shape(shm_name, kw):
    args = dict(max_message=MAX, data_size=DATA)
    args.update(kw)
    with pytest.raises(ValueError, match="invalid channel shape"):
        SharedMemory.create_channel(shm_name, args.pop("max_message"), **args)
    assert not shm_path(shm_name).exists()


def test_create_channel_exists_and_replace(mem, shm_name):
    with pytest.raises(FileExistsError):
        SharedMemory.create_channel(shm_name, MAX)
    with SharedMemory.create_channel(shm_name, 64, replace=True) as again:
        assert again.channel_config().max_message == 64


def test_create_channel_bad_arguments(shm_name):
    with pytest.raises(TypeError):
        SharedMemory.create_channel(shm_name, "x")
    with pytest.raises(TypeError):
        SharedMemory.create_channel(shm_name, MAX, DATA)  # data_size is keyword-only
    with pytest.raises(ValueError, match="mode"):
        SharedMemory.create_channel(shm_name, MAX, mode=0o1000)


def test_not_a_channel(shm_name):
    with SharedMemory.create(shm_name, 4096) as m:
        for call in (m.channel_config, m.publisher, m.subscriber):
            with pytest.raises(BlockingIOError, match="not initialised"):
                call()
        with open(shm_path(shm_name), "r+b") as f:
            f.write(b"\xa5" * 64)
        for call in (m.channel_config, m.publisher, m.subscriber):
            with pytest.raises(membridge.CorruptSegmentError, match="not a channel"):
                call()


def test_open_from_another_handle(mem, shm_name):
    with SharedMemory.open(shm_name) as other:
        assert other.channel_config() == mem.channel_config()


def test_closed_shared_memory(mem):
    mem.close()
    for call in (mem.channel_config, mem.publisher, mem.subscriber):
        with pytest.raises(ValueError, match="closed"):
            call()


# ---- publisher and subscriber handles ----

def test_one_publisher_at_a_time(mem):
    pub = mem.publisher()
    with pytest.raises(OSError) as err:
        mem.publisher()
    assert err.value.errno == errno.EBUSY and "already has a live publisher" in str(err.value)
    pub.close()
    pub.close()
    with mem.publisher() as again:
        assert "open" in repr(again)
    assert "closed" in repr(again)


def test_subscriber_slots(mem):
    a, b = mem.subscriber(), mem.subscriber()
    assert {a.slot, b.slot} == {0, 1}
    with pytest.raises(OSError) as err:
        mem.subscriber()
    assert err.value.errno == errno.EUSERS and "(2)" in str(err.value)
    a.close()
    with mem.subscriber() as c:
        assert c.slot == a.slot
    b.close()
    assert a.slot in (0, 1)  # still readable after close
    with pytest.raises(TypeError):
        mem.subscriber(True)  # oldest is keyword-only


def test_closed_handles_raise_value_error(pair):
    pub, sub = pair
    pub.close()
    sub.close()
    for call in (lambda: pub.publish(b"x"), lambda: pub.publish_many([b"x"]),
                 lambda: pub.loan(1), pub.subscribers, lambda: pub.evict(0), pub.fileno,
                 pub.__enter__, sub.receive, lambda: sub.receive_many(1), sub.receive_bytes,
                 sub.receive_value, sub.fileno, sub.__enter__):
        with pytest.raises(ValueError, match="closed"):
            call()


def test_handles_keep_the_mapping(mem):
    pub, sub = mem.publisher(), mem.subscriber()
    assert pub.publish(b"before")
    msg = sub.receive()
    mem.close()
    assert bytes(msg) == b"before"
    msg.release()
    assert pub.publish(b"after")
    assert sub.receive_bytes() == b"after"
    pub.close()
    sub.close()


def test_repr(pair, shm_name):
    pub, sub = pair
    assert repr(pub) == "<membridge.Publisher name=%r max_message=%d subscribers=2 open>" % (
        shm_name, MAX)
    assert repr(sub) == "<membridge.Subscriber name=%r slot=0 held=0 open>" % shm_name
    pub.publish(b"abc")
    msg = sub.receive()
    assert repr(msg) == "<membridge.Message seq=0 len=3>"
    assert "held=1" in repr(sub)
    msg.release()
    assert repr(msg) == "<membridge.Message seq=0 len=3 released>"
    loan = pub.loan(5)
    assert repr(loan) == "<membridge.Loan nbytes=5 len=5 new>"


def test_types_cannot_be_made_directly():
    for cls in (membridge.Publisher, membridge.Subscriber, membridge.Message, membridge.Loan):
        with pytest.raises(TypeError):
            cls()


# ---- publish and receive ----

def test_publish_encodings(pair):
    pub, sub = pair
    for data in (b"raw", bytearray(b"ba"), memoryview(b"mv"), b""):
        assert pub.publish(data) is True
        assert sub.receive_bytes() == bytes(data)
    pub.publish("héllo")
    assert sub.receive_value("str") == "héllo"
    pub.publish(-7)
    assert sub.receive_value("int") == -7
    pub.publish(2.5)
    assert sub.receive_value("float") == 2.5
    pub.publish(True)
    assert sub.receive_value("bool") is True
    pub.publish(["job", 42])
    raw = sub.receive_value()  # no tag: the payload's bytes, as pop()
    assert isinstance(raw, bytes) and raw.endswith(b"job\x2a" + b"\x00" * 7)


def test_same_encoding_as_the_ring(pair, shm_names):
    pub, sub = pair
    with SharedMemory.create(shm_names(), 1024 + 24) as rmem:
        ring = rmem.spsc()
        for value in ("x", 1, 2.0, False, ["a", 1, 2.0, True], b"b"):
            ring.push(value)
            pub.publish(value)
            assert sub.receive_bytes() == ring.pop()
        ring.close()


def test_publish_errors(pair):
    pub, sub = pair
    with pytest.raises(ValueError, match="max_message is 256"):
        pub.publish(b"x" * (MAX + 1))
    with pytest.raises(ValueError, match="max_message is 256"):
        pub.publish("x" * MAX)  # the encoded str is longer
    with pytest.raises(TypeError):
        pub.publish(object())
    with pytest.raises(TypeError):
        pub.publish()
    with pytest.raises(ValueError, match="timeout"):
        pub.publish(b"x", -1)
    with pytest.raises(ValueError, match="timeout"):
        pub.publish(b"x", math.nan)
    assert sub.receive() is None  # nothing went in


def test_decode_error_consumes(pair):
    pub, sub = pair
    pub.publish(b"\x01")
    with pytest.raises(membridge.MessageDecodeError) as err:
        sub.receive_value("int")
    assert err.value.raw == b"\x01"
    pub.publish(b"\x02\x00\x00\x00\xff\xfe")
    with pytest.raises(membridge.MessageUnicodeError):
        sub.receive_value("str")
    with pytest.raises(ValueError, match="unknown tag"):
        sub.receive_value("nope")
    assert sub.receive() is None
    assert lag(pub) == 0


def test_publish_many(pair):
    pub, sub = pair
    assert pub.publish_many([b"a", "b", [1, 2]]) == 3
    assert pub.publish_many([]) == 0
    assert [bytes(m) for m in sub.receive_many(10)][:1] == [b"a"]
    with pytest.raises(TypeError, match="publish_many"):
        pub.publish_many(5)
    with pytest.raises(TypeError):
        pub.publish_many([object()])
    with pytest.raises(ValueError, match="max_message"):
        pub.publish_many([b"x" * (MAX + 1)])


def test_publish_many_stops_when_full(pair):
    pub, sub = pair
    n = pub.publish_many([b"m" * MAX] * 100)
    assert 0 < n < 100
    assert pub.publish_many([b"m" * MAX]) == 0
    assert pub.publish(b"m" * MAX) is False
    got = sub.receive_many(1000)
    assert len(got) == n and [m.seq for m in got] == list(range(n))


def test_receive_many(pair):
    pub, sub = pair
    for i in range(5):
        pub.publish(bytes([i]))
    assert sub.receive_many(0) == []
    first = sub.receive_many(3)
    assert [(m.seq, bytes(m)) for m in first] == [(i, bytes([i])) for i in range(3)]
    rest = sub.receive_many(10, timeout=0)
    assert [m.seq for m in rest] == [3, 4]
    assert sub.receive_many(10) == []
    with pytest.raises(ValueError, match="max_count"):
        sub.receive_many(-1)
    with pytest.raises(TypeError):
        sub.receive_many()


def test_timeouts_none_zero_finite(pair):
    pub, sub = pair
    for t in (None, 0, 0.0, 0.01):
        assert sub.receive(t) is None
        assert sub.receive(timeout=t) is None
        assert sub.receive_bytes(t) is None
        assert sub.receive_value("int", t) is None
        assert sub.receive_many(4, t) == []
    for bad in (-0.5, math.nan, -math.inf):
        with pytest.raises(ValueError, match="timeout"):
            sub.receive(bad)
    with pytest.raises(TypeError):
        sub.receive("soon")


def test_timeout_inf_waits_for_a_message(pair):
    pub, sub = pair
    got = []
    t = threading.Thread(target=lambda: got.append(sub.receive_bytes(math.inf)))
    t.start()
    # The waiting thread holds the subscriber: other calls are refused,
    # never run beside it (retry until it is seen waiting, bounded).
    for _ in range(100000):
        try:
            sub.receive_bytes()
        except RuntimeError as e:
            assert "another thread" in str(e)
            break
        if got:
            break
    assert pub.publish(b"late")
    t.join(60)
    assert got == [b"late"]


class Interrupted(Exception):
    pass


def interrupt_soon():
    def handler(signum, frame):
        raise Interrupted
    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    return old


def test_waits_are_interruptible(pair):
    pub, sub = pair
    old = interrupt_soon()
    try:
        with pytest.raises(Interrupted):
            sub.receive(math.inf)
        held = sub.receive_many(0)
        while pub.publish(b"f" * MAX):
            pass
        held = sub.receive_many(100)  # holds the whole data area
        interrupt_soon()
        with pytest.raises(Interrupted):
            with pub.loan(MAX, timeout=math.inf):
                pass
        interrupt_soon()
        with pytest.raises(Interrupted):
            pub.publish(b"x" * MAX, math.inf)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    for m in held:
        m.release()
    assert pub.publish(b"x" * MAX)  # the interrupted calls left nothing behind


# ---- loans ----

def test_loan_publishes_in_place(pair):
    pub, sub = pair
    with pub.loan(5) as buf:
        assert isinstance(buf, memoryview) and not buf.readonly and len(buf) == 5
        buf[:] = b"hello"
        assert sub.receive() is None  # not visible until the block ends
    with sub.receive() as msg:
        assert bytes(msg) == b"hello"
    with pytest.raises(ValueError):
        buf[0]  # the memoryview was released


def test_loan_shrink(pair):
    pub, sub = pair
    loan = pub.loan(MAX)
    with pytest.raises(ValueError, match="not open"):
        loan.shrink(1)
    with loan as buf:
        buf[:3] = b"abc"
        loan.shrink(3)
        with pytest.raises(ValueError, match="0 to 3"):
            loan.shrink(4)
        with pytest.raises(ValueError):
            loan.shrink(-1)
        assert "len=3 open" in repr(loan)
    assert sub.receive_bytes() == b"abc"
    with pytest.raises(ValueError, match="ended"):
        loan.shrink(1)
    with pytest.raises(RuntimeError, match="entered once"):
        loan.__enter__()


def test_loan_exception_drops(pair):
    pub, sub = pair
    with pytest.raises(KeyError):
        with pub.loan(4) as buf:
            buf[:] = b"lost"
            raise KeyError
    assert sub.receive() is None
    pub.publish(b"next")
    msg = sub.receive()
    assert bytes(msg) == b"next" and msg.seq == 0


def test_loan_empty_and_errors(pair):
    pub, sub = pair
    with pub.loan(0) as buf:
        assert len(buf) == 0
    assert sub.receive_bytes() == b""
    with pytest.raises(ValueError, match="max_message"):
        with pub.loan(MAX + 1):
            pass
    with pytest.raises(ValueError, match=">= 0"):
        pub.loan(-1)
    with pytest.raises(ValueError, match="timeout"):
        pub.loan(1, -2)


def test_loan_blocks_other_calls(pair):
    pub, sub = pair
    with pub.loan(4) as buf:
        buf[:] = b"busy"
        for call in (lambda: pub.publish(b"x"), lambda: pub.loan(1),
                     lambda: pub.publish_many([b"x"])):
            with pytest.raises(RuntimeError, match="loan"):
                call()
        with pytest.raises(BufferError, match="loan"):
            pub.close()
        assert pub.subscribers()[0].slot == 0
        assert_fileno(pub.fileno)
    assert sub.receive_bytes() == b"busy"


def test_loan_view_outliving_the_block(pair):
    pub, sub = pair
    with pytest.raises(BufferError, match="outlived"):
        with pub.loan(4) as buf:
            part = buf[1:3]
    assert sub.receive() is None  # dropped
    part.release()
    assert pub.publish(b"ok") and sub.receive_bytes() == b"ok"


def test_loan_when_full(pair):
    pub, sub = pair
    held = []
    for _ in range(100):
        if not pub.publish(b"f" * MAX):
            break
    held = sub.receive_many(100)
    assert held
    with pytest.raises(BlockingIOError, match="no space"):
        with pub.loan(MAX):
            pass
    with pytest.raises(TimeoutError, match="timed out"):
        with pub.loan(MAX, timeout=0.01):
            pass
    assert pub.publish(b"x" * MAX, 0.01) is False
    assert pub.publish(b"x" * MAX, 0) is False
    assert lag(pub) == len(held)
    for m in held:
        m.release()
    with pub.loan(MAX, timeout=math.inf) as buf:
        buf[:1] = b"y"


def test_dropped_loan_is_aborted(pair):
    pub, sub = pair
    loan = pub.loan(3)
    loan.__enter__()[:] = b"abc"
    del loan
    import gc
    gc.collect()
    assert pub.publish(b"after")
    assert sub.receive_bytes() == b"after"


# ---- messages ----

def test_message_buffer(pair):
    pub, sub = pair
    pub.publish(b"payload")
    msg = sub.receive()
    assert isinstance(msg, membridge.Message)
    assert len(msg) == 7 and msg.seq == 0 and not msg.released
    assert bytes(msg) == b"payload"
    with memoryview(msg) as mv:
        assert mv.readonly and mv.tobytes() == b"payload"
        with pytest.raises(TypeError):
            mv[0] = 1
    with pytest.raises(TypeError, match="not writable"):
        ctypes.c_char.from_buffer(msg)  # a writable export is refused
    msg.release()
    assert msg.released


def test_message_after_release(pair):
    pub, sub = pair
    pub.publish(b"x")
    msg = sub.receive()
    msg.release()
    msg.release()  # does nothing
    for use in (len, bytes, memoryview, lambda m: m.seq, lambda m: m.__enter__()):
        with pytest.raises(ValueError, match="released"):
            use(msg)
    assert msg.released


def test_message_release_with_live_buffer(pair):
    pub, sub = pair
    pub.publish(b"live")
    msg = sub.receive()
    mv = memoryview(msg)
    with pytest.raises(BufferError, match="release them first"):
        msg.release()
    with pytest.raises(BufferError, match="still point"):
        sub.close()
    mv.release()
    msg.release()


def test_message_with_releases(pair):
    pub, sub = pair
    pub.publish(b"w")
    with sub.receive() as msg:
        assert bytes(msg) == b"w"
    assert msg.released and lag(pub) == 0


def test_space_goes_back_in_receive_order(pair):
    pub, sub = pair
    pub.publish_many([b"1", b"2", b"3", b"4"])
    a, b = sub.receive(), sub.receive()
    assert lag(pub) == 4
    b.release()
    assert lag(pub) == 4  # a, received before b, is still held
    assert sub.receive_bytes() == b"3"
    assert lag(pub) == 4  # rides with a
    c = sub.receive()
    a.release()
    assert lag(pub) == 1  # a, b and the copied one; c is held
    assert bytes(c) == b"4"
    c.release()
    assert lag(pub) == 0


def test_keeping_the_last_message_while_receiving_the_next(pair):
    # A loop like `while (m := sub.receive()) ...` holds the last message
    # when it receives the next: space must still come back message by
    # message, through many laps of a data area of DATA // 64 records.
    pub, sub = pair
    laps = 10
    last = None
    for i in range(laps * DATA // 64):
        assert pub.publish(i.to_bytes(4, "little")), "the channel stayed full"
        msg = sub.receive()
        assert int.from_bytes(bytes(msg), "little") == i
        if last is not None:
            assert lag(pub) == 2
        last = msg  # the previous Message is dropped only now
    last.release()
    assert lag(pub) == 0


def test_dropped_message_is_released(pair):
    pub, sub = pair
    pub.publish(b"d")
    sub.receive()  # dropped at once
    assert lag(pub) == 0


def test_message_of_closed_subscriber(pair):
    pub, sub = pair
    pub.publish(b"gone")
    msg = sub.receive()
    sub.close()
    with pytest.raises(ValueError, match="Subscriber was closed"):
        bytes(msg)
    msg.release()
    assert msg.released


def test_no_copy(mem):
    """The loan, the message and the view all point at the same bytes of the
    one mapping: the message is read where the publisher wrote it."""
    np = pytest.importorskip("numpy")
    pub, sub = mem.publisher(), mem.subscriber()
    view = mem.map()
    with memoryview(view) as whole:
        base = ctypes.addressof(ctypes.c_char.from_buffer(whole)) - 4  # after the lock word
        with pub.loan(16) as buf:
            written = ctypes.addressof(ctypes.c_char.from_buffer(buf))
            buf[:] = b"0123456789abcdef"
    msg = sub.receive()
    arr = np.frombuffer(msg, dtype=np.uint8)
    address = arr.__array_interface__["data"][0]
    assert address == written
    assert base <= address and address + len(msg) <= base + mem.size()
    assert address % 64 == 0
    assert arr.tobytes() == b"0123456789abcdef"
    with pytest.raises(BufferError):
        msg.release()  # the array exports it
    del arr
    msg.release()
    view.close()
    sub.close()
    pub.close()


# ---- subscribers(), evict(), oldest, descriptors ----

def test_subscribers_and_evict(pair, mem):
    pub, sub = pair
    other = mem.subscriber()
    infos = pub.subscribers()
    assert [i.slot for i in infos] == [0, 1]
    info = infos[0]
    assert isinstance(info, membridge.SubscriberInfo)
    assert info.active and not info.evicted and info.pid > 0 and info.lag == 0
    pub.publish(b"a")
    assert [i.lag for i in pub.subscribers()] == [1, 1]
    assert pub.subscribers()[0].lag_bytes == 64
    pub.evict(other.slot)
    with pytest.raises(ConnectionResetError, match="evicted"):
        other.receive()
    assert sub.receive_bytes() == b"a"
    for bad in (5, 2 ** 40, -1):
        with pytest.raises((ValueError, OverflowError), match="slot"):
            pub.evict(bad)
    with pytest.raises(TypeError):
        pub.evict("0")
    other.close()
    with pytest.raises(ValueError, match="no subscriber in slot 1"):
        pub.evict(1)


def test_subscribe_oldest(pair, mem):
    pub, sub = pair
    pub.publish_many([b"1", b"2"])
    held = sub.receive()
    with mem.subscriber() as newest:
        assert newest.receive() is None
    with mem.subscriber(oldest=True) as oldest:
        assert [bytes(m) for m in oldest.receive_many(5)] == [b"1", b"2"]
    held.release()


def assert_fileno(call):
    """call() gives a descriptor, or raises OSError(ENOTSUP) where the
    platform has none (membridge.HAVE_DESCRIPTORS); True if it gave one."""
    if membridge.HAVE_DESCRIPTORS:
        assert call() >= 0
        return True
    with pytest.raises(OSError) as info:
        call()
    assert info.value.errno == errno.ENOTSUP
    return False


def test_fileno(pair):
    pub, sub = pair
    if not assert_fileno(sub.fileno):
        assert_fileno(pub.fileno)
        return
    fd = sub.fileno()
    assert fd >= 0 and sub.fileno() == fd
    assert sub.receive() is None  # arms it
    pub.publish(b"ring")
    readable, _, _ = select.select([fd], [], [], 60)
    assert readable == [fd]
    assert sub.receive_bytes() == b"ring"
    assert pub.fileno() >= 0


# ---- the ring's peek() and descriptors ----

@pytest.fixture
def ring(shm_name):
    with SharedMemory.create(shm_name, 64 + 24) as m:
        r = m.spsc()
        yield r
        r.close()


def test_peek_consumes_on_normal_exit(ring):
    ring.push(b"abc")
    with ring.peek() as payload:
        assert payload.readonly and bytes(payload) == b"abc"
    assert ring.is_empty()
    with pytest.raises(ValueError):
        payload[0]


def test_peek_keeps_on_exception(ring):
    ring.push(b"keep")
    with pytest.raises(KeyError):
        with ring.peek(0) as payload:
            raise KeyError
    assert ring.pop() == b"keep"


def test_peek_empty_and_timeouts(ring):
    for t in (None, 0, 0.01):
        with ring.peek(t) as payload:
            assert payload is None
    with pytest.raises(ValueError, match="timeout"):
        ring.peek(-1)


def test_peek_refuses_other_calls(ring):
    ring.push(b"x")
    peek = ring.peek()
    with peek as payload:
        with pytest.raises(RuntimeError, match="peek"):
            ring.pop()
        with pytest.raises(BufferError, match="peek"):
            ring.close()
    with pytest.raises(RuntimeError, match="entered once"):
        peek.__enter__()
    assert ring.is_empty()


def test_peek_wrapping_frame(ring):
    ring.push(b"a" * 30)
    ring.pop()
    ring.push(b"0123456789" * 4)  # runs round the end of the 64-byte ring
    with ring.peek() as payload:
        assert bytes(payload) == b"0123456789" * 4
    assert ring.is_empty()


def test_peek_view_outliving_the_block(ring):
    ring.push(b"stay")
    with pytest.raises(BufferError, match="not consumed"):
        with ring.peek() as payload:
            part = payload[:2]
    part.release()
    assert ring.pop() == b"stay"


def test_ring_filenos(ring):
    have = assert_fileno(ring.data_fileno)
    assert_fileno(ring.space_fileno)
    if not have:
        return
    assert ring.pop() is None
    ring.push(b"x")
    readable, _, _ = select.select([ring.data_fileno()], [], [], 60)
    assert readable


def test_docstrings():
    for cls in (membridge.Publisher, membridge.Subscriber, membridge.Message, membridge.Loan,
                membridge.ChannelConfig, membridge.SubscriberInfo):
        assert cls.__doc__
        for name, attr in vars(cls).items():
            if not name.startswith("_") and callable(attr):
                assert attr.__doc__, "%s.%s" % (cls.__name__, name)
    for name in ("create_channel", "channel_config", "publisher", "subscriber"):
        assert getattr(SharedMemory, name).__doc__
    for name in ("peek", "data_fileno", "space_fileno"):
        assert getattr(membridge.SpscRingBuffer, name).__doc__
