# SPDX-License-Identifier: MIT
"""The channel between real processes: every subscriber gets every message
in order, a killed publisher is replaced, a killed subscriber costs the
others nothing; and the README's two-process example runs."""

import signal
import time

import pytest

from membridge import SharedMemory

from mbhelpers import finish, popen_python, readme_examples, run_readme_pair

GUARD = 120  # seconds: only stops a stuck peer, never a speed bound
POLL = 0.005


def wait_for(cond, what):
    """Poll cond() up to GUARD seconds' worth of polls."""
    for _ in range(int(GUARD / POLL)):
        if cond():
            return
        time.sleep(POLL)
    raise AssertionError("gave up waiting for " + what)


def active(pub):
    return sum(1 for s in pub.subscribers() if s.active)


SUBSCRIBER = """
import math, sys, membridge
mem = membridge.SharedMemory.open(sys.argv[1])
sub = mem.subscriber()
mem.close()
print("joined", flush=True)
want = 0
while True:
    with sub.receive(timeout=math.inf) as msg:
        if len(msg) == 0:
            break
        assert msg.seq == want, (msg.seq, want)
        assert int.from_bytes(msg, "little") == want
        want += 1
print("ok", want, flush=True)
"""


def test_one_publisher_two_subscribers(shm_name):
    count = 3000
    with SharedMemory.create_channel(shm_name, 64, data_size=1024, subscribers=4) as mem:
        pub = mem.publisher()
        subs = [popen_python(SUBSCRIBER, shm_name) for _ in range(2)]
        try:
            wait_for(lambda: active(pub) == 2, "two subscribers")
            for i in range(count):  # the data area wraps ~200 times
                with pub.loan(8, timeout=GUARD) as buf:
                    buf[:] = i.to_bytes(8, "little")
            assert pub.publish(b"", timeout=GUARD)
        finally:
            results = [finish(p, GUARD) for p in subs]
        for rc, out, err in results:
            assert rc == 0, err
            assert out.split("\n")[-2] == "ok %d" % count
        pub.close()


PUBLISHER = """
import sys, time, membridge
mem = membridge.SharedMemory.open(sys.argv[1])
pub = mem.publisher()
for i in range(int(sys.argv[2])):
    assert pub.publish(i.to_bytes(8, "little"))
with pub.loan(8) as buf:   # never published: killed inside
    buf[:] = b"unpublsh"
    print("published", flush=True)
    time.sleep(3600)
"""


def test_killed_publisher_is_replaced(shm_name):
    # Room for 64 messages: all 20 fit before the subscriber reads.
    with SharedMemory.create_channel(shm_name, 64, data_size=4096, subscribers=2) as mem:
        sub = mem.subscriber()
        child = popen_python(PUBLISHER, shm_name, 10)
        try:
            assert child.stdout.readline() == "published\n"
            with pytest.raises(OSError, match="already has a live publisher"):
                mem.publisher()
        finally:
            child.send_signal(signal.SIGKILL)
            finish(child, GUARD)
        pub = mem.publisher()  # takes the dead one's place
        for i in range(10, 20):
            assert pub.publish(i.to_bytes(8, "little"), timeout=GUARD)
        got = []
        while len(got) < 20:
            msgs = sub.receive_many(20, timeout=GUARD)
            assert msgs
            got += [(m.seq, int.from_bytes(m, "little")) for m in msgs]
            for m in msgs:
                m.release()
        values = [v for _, v in got]
        assert values == list(range(20))  # the unpublished loan never shows
        seqs = [s for s, _ in got]
        assert seqs[:10] == list(range(10)) and seqs == sorted(seqs)
        assert sub.receive() is None
        pub.close()
        sub.close()


HOLDER = """
import math, sys, time, membridge
mem = membridge.SharedMemory.open(sys.argv[1])
sub = mem.subscriber()
msg = sub.receive(timeout=math.inf)
print("holding", msg.seq, flush=True)
time.sleep(3600)
"""


def test_killed_subscriber_changes_nothing_for_the_other(shm_name):
    count = 500
    with SharedMemory.create_channel(shm_name, 64, data_size=1024, subscribers=2) as mem:
        pub = mem.publisher()
        sub = mem.subscriber()
        holder = popen_python(HOLDER, shm_name)
        try:
            wait_for(lambda: active(pub) == 2, "the holder to join")
            assert pub.publish((0).to_bytes(8, "little"))
            assert holder.stdout.readline() == "holding 0\n"
        finally:
            holder.send_signal(signal.SIGKILL)
            finish(holder, GUARD)
        got = []
        # The dead subscriber holds message 0: a live one would stop the
        # publisher after ~16 messages; a dead one must not.
        for i in range(1, count):
            with pub.loan(8, timeout=GUARD) as buf:
                buf[:] = i.to_bytes(8, "little")
            for m in sub.receive_many(100):
                with m:
                    got.append((m.seq, int.from_bytes(m, "little")))
        got += [(m.seq, int.from_bytes(m, "little")) for m in sub.receive_many(100)]
        assert got == [(i, i) for i in range(count)]
        assert [s.slot for s in pub.subscribers() if s.active] == [sub.slot]
        with mem.subscriber() as again:  # the dead one's slot is free again
            assert again.slot != sub.slot
        pub.close()
        sub.close()


# ---- the README example ----

def test_readme_example_runs(shm_name):
    blocks = readme_examples("publisher", "subscriber")
    publisher, subscriber = (b.replace('"/ticks"', repr(shm_name)) for b in blocks)
    assert run_readme_pair(publisher, subscriber, shm_name, GUARD) == "sum 499500\n"
