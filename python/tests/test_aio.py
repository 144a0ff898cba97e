# SPDX-License-Identifier: MIT
"""asyncio over the channel and the ring: receive_async, async for,
publish_async, loan_async, pop_async, push_async (membridge._aio).

Two-process tests run the other side as a subprocess; every wait has a
timeout only to stop a stuck peer (GUARD_S), never to measure speed.
"""
import asyncio
import contextlib
import math
import os
import signal
import socket
import sys

import pytest

import membridge

from mbhelpers import finish, popen_python, readme_examples, run_readme_pair

# The tests that watch which descriptor a wait registered; without
# descriptors (macOS, Windows, the macOS-like build) the waits poll, which
# the other tests exercise there.
needs_descriptors = pytest.mark.skipif(not membridge.HAVE_DESCRIPTORS,
                                       reason="no channel or ring descriptors here")

GUARD_S = 120          # a stuck peer, never a speed goal
SHORT_S = 0.05         # a wait that is meant to time out
MAX_MESSAGE = 48       # one 64-byte record each
DATA_SIZE = 1024       # 16 such records: publishers soon wait for space


def run(coro):
    """Run coro in a fresh loop, stopped after GUARD_S if something hangs."""
    return asyncio.run(asyncio.wait_for(coro, GUARD_S))


def channel(name, **kw):
    kw.setdefault("data_size", DATA_SIZE)
    return membridge.SharedMemory.create_channel(name, MAX_MESSAGE, **kw)


def payload(i):
    return b"m-%d" % i


async def yield_until(cond, rounds=1000):
    """Let other tasks run until cond() holds (a bounded number of rounds)."""
    for _ in range(rounds):
        if cond():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def waiting_on(fd):
    """Whether some coroutine of this module's loop has a reader on fd."""
    from membridge import _aio
    loop = asyncio.get_running_loop()
    return fd in _aio._waiting.get(loop, {})


# ------------------------------------------------------------ one process

@needs_descriptors
def test_receive_async_waits_for_a_message(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            task = asyncio.create_task(sub.receive_async())
            await yield_until(lambda: waiting_on(sub.fileno()))
            assert pub.publish(b"hello")
            with await task as msg:
                assert bytes(msg) == b"hello" and msg.seq == 0
            assert not waiting_on(sub.fileno())
    run(main())


@needs_descriptors
def test_cancelled_receive_loses_nothing(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            for i in range(3):
                task = asyncio.create_task(sub.receive_async())
                await yield_until(lambda: waiting_on(sub.fileno()))
                assert pub.publish(payload(i))
                # The reader has woken the task, which has not run yet.
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                assert not waiting_on(sub.fileno())
                with sub.receive() as msg:
                    assert bytes(msg) == payload(i) and msg.seq == i
    run(main())


@needs_descriptors
def test_wait_for_and_timeout_leave_the_message_to_the_next_receive(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(sub.receive_async(), SHORT_S)
            with pytest.raises(TimeoutError):
                await sub.receive_async(timeout=SHORT_S)
            with pytest.raises(TimeoutError):
                await sub.receive_async(timeout=0)
            if hasattr(asyncio, "timeout"):  # Python 3.11
                with pytest.raises(TimeoutError):
                    async with asyncio.timeout(SHORT_S):
                        await sub.receive_async()
            assert not waiting_on(sub.fileno())
            assert pub.publish(b"after")
            with await sub.receive_async(timeout=0) as msg:
                assert bytes(msg) == b"after" and msg.seq == 0
    run(main())


def test_bad_timeouts(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.subscriber() as sub:
            for bad in (None, -1, math.nan):
                with pytest.raises(ValueError, match="timeout"):
                    await sub.receive_async(bad)
            with pytest.raises(TypeError, match="timeout"):
                await sub.receive_async("1")
    run(main())


@needs_descriptors
def test_two_tasks_wait_on_one_subscriber(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            tasks = [asyncio.create_task(sub.receive_async()) for _ in range(2)]
            await asyncio.sleep(0)
            assert pub.publish_many([b"a", b"b"]) == 2
            msgs = await asyncio.gather(*tasks)
            assert sorted(bytes(m) for m in msgs) == [b"a", b"b"]
            for m in msgs:
                m.release()
            assert not waiting_on(sub.fileno())
    run(main())


@needs_descriptors
def test_publish_async_and_loan_async_wait_for_space(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            held = 0
            while pub.publish(payload(held)):
                held += 1
                assert held < 1000
            task = asyncio.create_task(pub.publish_async(b"late"))
            await yield_until(lambda: waiting_on(pub.fileno()))
            with pytest.raises(TimeoutError):
                async with pub.loan_async(8, timeout=SHORT_S):
                    pass
            msgs = sub.receive_many(held)
            assert [bytes(m) for m in msgs] == [payload(i) for i in range(held)]
            for m in msgs:
                m.release()
            await task
            loan = pub.loan_async(MAX_MESSAGE)
            async with loan as buf:
                buf[:5] = b"loan!"
                loan.shrink(5)
            with pytest.raises(RuntimeError, match="dropped"):
                async with pub.loan_async(4) as buf:
                    buf[:] = b"gone"
                    raise RuntimeError("dropped")
            got = [bytes(m) for m in sub.receive_many(10)]
            assert got == [b"late", b"loan!"]
    run(main())


def test_async_for(shm_name):
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            assert pub.publish_many([payload(i) for i in range(5)]) == 5
            got = []
            async for msg in sub:
                with msg:
                    got.append(bytes(msg))
                if len(got) == 5:
                    break
            assert got == [payload(i) for i in range(5)]
    run(main())


def test_anext_of_a_waiting_message_is_done_at_once(shm_name):
    # A message waiting already comes without a turn of the event loop; its
    # awaitable gives it once, and a message that comes later still arrives
    # through the waiting path.
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub, shm.subscriber() as sub:
            assert pub.publish(payload(0))
            ready = sub.__anext__()
            with await ready as msg:
                assert bytes(msg) == payload(0) and msg.seq == 0
            with pytest.raises(RuntimeError, match="awaited already"):
                await ready
            later = asyncio.ensure_future(sub.__anext__())
            await asyncio.sleep(0)
            assert not later.done()
            assert pub.publish(payload(1))
            with await asyncio.wait_for(later, GUARD_S) as msg:
                assert bytes(msg) == payload(1) and msg.seq == 1
    run(main())


@needs_descriptors
def test_ring_pop_async_and_push_async(shm_name):
    async def main():
        with membridge.SharedMemory.create(shm_name, 256 + 24) as shm, shm.spsc() as ring:
            with pytest.raises(TimeoutError):
                await ring.pop_async(timeout=SHORT_S)
            task = asyncio.create_task(ring.pop_async("str"))
            await yield_until(lambda: waiting_on(ring.data_fileno()))
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            await ring.push_async("one")
            assert await ring.pop_async("str") == "one"
            n = 0
            while ring.push(payload(n)):
                n += 1
            with pytest.raises(TimeoutError):
                await ring.push_async(b"no room", timeout=SHORT_S)
            assert ring.pop() == payload(0)
            await ring.push_async(b"room", timeout=0)
    run(main())


# ------------------------------------------------------------ two processes

@contextlib.contextmanager
def peer(code, *args, **kw):
    """The other side, a subprocess running code; killed if the test fails,
    so a peer blocked on a failed test never outlives it."""
    proc = popen_python(code, *args, **kw)
    try:
        yield proc
    except BaseException:
        proc.kill()
        proc.communicate()
        raise

PUBLISHER = """
import math, sys, membridge
name, n = sys.argv[1], int(sys.argv[2])
with membridge.SharedMemory.open(name) as shm, shm.publisher() as pub:
    for i in range(n):
        pub.publish(b"m-%d" % i, timeout=math.inf)
print("published", n)
"""


def test_asyncio_consumer_of_another_process(shm_name):
    n = 2000  # many times the channel's 16 records: the publisher waits too

    async def main():
        with channel(shm_name) as shm, shm.subscriber() as sub:
            with peer(PUBLISHER, shm_name, n) as proc:
                got = 0
                async for msg in sub:
                    with msg:
                        assert bytes(msg) == payload(got) and msg.seq == got
                    got += 1
                    if got == n:
                        break
                rc, out, err = finish(proc, GUARD_S)
            assert rc == 0, err
            assert out == "published %d\n" % n
    run(main())


SUBSCRIBER = """
import math, sys, membridge
name, n = sys.argv[1], int(sys.argv[2])
with membridge.SharedMemory.open(name) as shm, shm.subscriber() as sub:
    print("ready", flush=True)
    for i in range(n):
        with sub.receive(timeout=math.inf) as msg:
            assert bytes(msg) == b"m-%d" % i, (i, bytes(msg))
print("received", n)
"""


def test_asyncio_publisher_to_another_process(shm_name):
    n = 2000

    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub:
            with peer(SUBSCRIBER, shm_name, n) as proc:
                assert proc.stdout.readline() == "ready\n"
                for i in range(0, n, 2):
                    await pub.publish_async(payload(i))
                    data = payload(i + 1)
                    loan = pub.loan_async(MAX_MESSAGE)
                    async with loan as buf:
                        buf[:len(data)] = data
                        loan.shrink(len(data))
                rc, out, err = finish(proc, GUARD_S)
            assert rc == 0, err
            assert out.endswith("received %d\n" % n)
    run(main())


HOLDER = """
import sys, time, membridge
with membridge.SharedMemory.open(sys.argv[1]) as shm, shm.subscriber() as sub:
    print("ready", flush=True)
    time.sleep(3600)
"""


@needs_descriptors
def test_publish_async_finds_a_dead_subscriber(shm_name):
    """Nothing rings the publisher's descriptor when a subscriber dies:
    publish_async gets on by retrying its loan."""
    async def main():
        with channel(shm_name) as shm, shm.publisher() as pub:
            with peer(HOLDER, shm_name) as proc:
                assert proc.stdout.readline() == "ready\n"
                held = 0
                while pub.publish(payload(held)):
                    held += 1
                    assert held < 1000
                assert held > 0
                task = asyncio.create_task(pub.publish_async(b"after the death"))
                await yield_until(lambda: waiting_on(pub.fileno()))
                os.kill(proc.pid, signal.SIGKILL)
                finish(proc, GUARD_S)  # reaped: a zombie still counts as alive
                await task
            assert proc.returncode == -signal.SIGKILL
    run(main())


CHANNEL_AND_SOCKET = """
import math, socket, sys, membridge
name, n, fd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sock = socket.socket(fileno=fd)
with membridge.SharedMemory.open(name) as shm, shm.publisher() as pub:
    for i in range(n):
        pub.publish(b"m-%d" % i, timeout=math.inf)
        sock.sendall(b"s-%d\\n" % i)
sock.close()
"""


@needs_descriptors
def test_waiting_on_a_channel_and_a_socket_together(shm_name):
    n = 500

    async def main():
        mine, theirs = socket.socketpair()
        with channel(shm_name) as shm, shm.subscriber() as sub:
            with peer(CHANNEL_AND_SOCKET, shm_name, n, theirs.fileno(),
                      pass_fds=[theirs.fileno()]) as proc:
                theirs.close()
                reader, writer = await asyncio.open_connection(sock=mine)
                chan, lines = [], []
                from_chan = asyncio.create_task(sub.receive_async())
                from_sock = asyncio.create_task(reader.readline())
                while len(chan) < n or len(lines) < n:
                    done, _ = await asyncio.wait({t for t in (from_chan, from_sock) if t},
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if from_chan in done:
                        with from_chan.result() as msg:
                            chan.append(bytes(msg))
                        from_chan = (asyncio.create_task(sub.receive_async())
                                     if len(chan) < n else None)
                    if from_sock in done:
                        lines.append(from_sock.result())
                        from_sock = (asyncio.create_task(reader.readline())
                                     if len(lines) < n else None)
                assert chan == [payload(i) for i in range(n)]
                assert lines == [b"s-%d\n" % i for i in range(n)]
                assert await reader.read() == b""
                writer.close()
                rc, out, err = finish(proc, GUARD_S)
            assert rc == 0, err
    run(main())


RING_PEER = """
import math, sys, membridge
name, n, role = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with membridge.SharedMemory.open(name) as shm, shm.spsc() as ring:
    for i in range(n):
        if role == "push":
            assert ring.push("r-%d" % i, timeout=math.inf)
        else:
            assert ring.pop("str", timeout=math.inf) == "r-%d" % i
print(role, n)
"""


@pytest.mark.parametrize("role", ["push", "pop"])
def test_ring_across_processes(shm_name, role):
    """The other process pushes (role "push") or pops with blocking calls;
    this one does the other side with pop_async or push_async."""
    n = 3000  # a 256-byte ring holds a few dozen: both sides wait

    async def main():
        with membridge.SharedMemory.create(shm_name, 256 + 24) as shm, shm.spsc() as ring:
            with peer(RING_PEER, shm_name, n, role) as proc:
                for i in range(n):
                    if role == "push":
                        assert await ring.pop_async("str") == "r-%d" % i
                    else:
                        await ring.push_async("r-%d" % i)
                rc, out, err = finish(proc, GUARD_S)
            assert rc == 0, err
            assert out == "%s %d\n" % (role, n)
    run(main())


def test_readme_asyncio_example_runs(shm_name):
    """README's async_publisher.py and async_subscriber.py, as two processes."""
    blocks = readme_examples("async_publisher", "async_subscriber")
    publisher, subscriber = (b.replace('"/events"', repr(shm_name)) for b in blocks)
    assert run_readme_pair(publisher, subscriber, shm_name, GUARD_S) == "sum 499500\n"
