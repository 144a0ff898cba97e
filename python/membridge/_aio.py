# SPDX-License-Identifier: MIT
"""asyncio waits for channels and rings, over their descriptors.

The extension's async methods (Subscriber.receive_async, async for,
Publisher.publish_async / loan_async, SpscRingBuffer.pop_async /
push_async) import this module on first use and return its coroutines, so
`import membridge` never imports asyncio.

Every wait has the same shape: try the call without waiting (timeout=None);
if it found nothing, register a reader on the handle's descriptor
(loop.add_reader: no thread per wait), await a future that the reader, the
deadline or a periodic retry resolves, and try again, as a wake-up can be
spurious. The reader is removed in a `finally`. The only suspension point is
the wait itself, between two attempts: a cancelled call (asyncio.wait_for,
asyncio.timeout, Task.cancel) has taken nothing, so nothing is lost.

Every descriptor here signals by becoming readable (a subscriber's when a
message may be waiting, a publisher's when space was released after a loan
found none, a ring's data_fileno()/space_fileno() likewise), so readers
suffice for sends too. Several tasks may wait on one handle: one reader per
descriptor and loop wakes them all. Where the platform has no descriptors
(membridge.HAVE_DESCRIPTORS is False: macOS, Windows), the wait between two
attempts is an asyncio.sleep of POLL_S instead.
"""
import asyncio
import errno
import math
import numbers
import weakref

__all__ = ["AsyncLoan", "loan_async", "pop_async", "publish_async", "push_async",
           "receive_async"]

# Dead subscribers ring nothing: a publisher finds them only by retrying a
# loan (see membridge_publisher_fd in membridge.h), so its waits retry this
# often.
PUBLISHER_RETRY_S = 0.1

# Without descriptors, attempts are this far apart.
POLL_S = 0.001

# loop -> {descriptor: set of futures waiting on it}
_waiting = weakref.WeakKeyDictionary()


def _deadline(loop, timeout, what):
    if timeout is None or isinstance(timeout, bool):
        raise ValueError("%s: timeout must be a number of seconds >= 0 or math.inf "
                         "(to try once without waiting, call the method without "
                         "_async)" % what)
    if not isinstance(timeout, numbers.Real):
        raise TypeError("%s: timeout must be a number of seconds, not %s"
                        % (what, type(timeout).__name__))
    t = float(timeout)
    if math.isnan(t) or t < 0:
        raise ValueError("%s: timeout must be a number of seconds >= 0 or math.inf"
                         % what)
    return loop.time() + t


def _wake(fut):
    if not fut.done():
        fut.set_result(None)


def _wake_all(futs):
    for fut in futs:
        _wake(fut)


async def _readable(loop, fd, deadline, retry):
    """Wait until fd is readable, the deadline passes or `retry` seconds
    (None: never) go by, whichever comes first."""
    by_fd = _waiting.setdefault(loop, {})
    futs = by_fd.get(fd)
    if futs is None:
        futs = by_fd[fd] = set()
        loop.add_reader(fd, _wake_all, futs)
    fut = loop.create_future()
    futs.add(fut)
    when = deadline if retry is None else min(deadline, loop.time() + retry)
    timer = loop.call_at(when, _wake, fut) if when != math.inf else None
    try:
        await fut
    finally:
        if timer is not None:
            timer.cancel()
        futs.discard(fut)
        if not futs:
            del by_fd[fd]
            loop.remove_reader(fd)


_NOTHING = object()


async def _retry(attempt, fileno, timeout, what, retry=None):
    """Call attempt() until it returns something other than _NOTHING, waiting
    on fileno() in between; TimeoutError once the timeout has passed."""
    loop = asyncio.get_running_loop()
    deadline = _deadline(loop, timeout, what)
    # The descriptor first: a call that finds nothing arms a descriptor
    # that exists (the handle makes it on the first fileno()).
    try:
        fd = fileno()
    except OSError as e:
        if e.errno != errno.ENOTSUP:
            raise
        fd = None
    while True:
        got = attempt()
        if got is not _NOTHING:
            return got
        now = loop.time()
        if now >= deadline:
            raise TimeoutError("%s: nothing within %g s; pass a longer timeout "
                               "(math.inf: no limit)" % (what, timeout))
        if fd is None:
            await asyncio.sleep(min(POLL_S, deadline - now))
        else:
            await _readable(loop, fd, deadline, retry)


def _got(call, *args):
    """An attempt: call(*args), where None means nothing came."""
    def attempt():
        got = call(*args)
        return _NOTHING if got is None else got
    return attempt


def _went(call, *args):
    """An attempt: call(*args), where False means no space (then None)."""
    def attempt():
        return None if call(*args) else _NOTHING
    return attempt


async def receive_async(sub, timeout=math.inf):
    """The subscriber's next message (a Message), waiting up to `timeout`
    seconds (math.inf: no limit); TimeoutError if none came."""
    return await _retry(_got(sub.receive, None), sub.fileno, timeout, "receive_async")


async def publish_async(pub, data, timeout=math.inf):
    """Publish `data` (as Publisher.publish), waiting up to `timeout` seconds
    for space; TimeoutError if none came."""
    await _retry(_went(pub.publish, data, None), pub.fileno, timeout, "publish_async",
                 PUBLISHER_RETRY_S)


def loan_async(pub, nbytes, timeout=math.inf):
    """An AsyncLoan of nbytes from pub, for `async with`."""
    return AsyncLoan(pub, nbytes, timeout)


class AsyncLoan:
    """`async with pub.loan_async(nbytes, timeout) as buf:` waits up to
    `timeout` seconds for nbytes of space and gives a writable memoryview
    into the segment; a normal exit publishes the message, an exception
    aborts it, as for Publisher.loan(). shrink(n) before the exit publishes
    only the first n bytes. TimeoutError if no space came."""

    def __init__(self, pub, nbytes, timeout=math.inf):
        self._pub = pub
        self._nbytes = nbytes
        self._timeout = timeout
        self._loan = None

    async def __aenter__(self):
        if self._loan is not None:
            raise RuntimeError("loan_async: this loan was already entered; call "
                               "loan_async() again for the next message")
        pub, nbytes = self._pub, self._nbytes

        def attempt():
            try:
                loan = pub.loan(nbytes, None)
                view = loan.__enter__()
            except BlockingIOError:
                return _NOTHING
            return loan, view
        self._loan, view = await _retry(attempt, pub.fileno, self._timeout,
                                        "loan_async", PUBLISHER_RETRY_S)
        return view

    async def __aexit__(self, exc_type, exc, tb):
        if self._loan is None:
            raise RuntimeError("loan_async: __aexit__ without __aenter__")
        return self._loan.__exit__(exc_type, exc, tb)

    def shrink(self, nbytes):
        """Publish only the first nbytes of the loan (Loan.shrink)."""
        if self._loan is None:
            raise RuntimeError("loan_async: shrink() inside the `async with` block only")
        self._loan.shrink(nbytes)


async def pop_async(ring, tag=None, timeout=math.inf):
    """The ring's next message (as SpscRingBuffer.pop(tag)), waiting up to
    `timeout` seconds; TimeoutError if none came."""
    return await _retry(_got(ring.pop, tag, None), ring.data_fileno, timeout, "pop_async")


async def push_async(ring, data, timeout=math.inf):
    """Push `data` (as SpscRingBuffer.push), waiting up to `timeout` seconds
    for space; TimeoutError if none came."""
    await _retry(_went(ring.push, data, None), ring.space_fileno, timeout, "push_async")
