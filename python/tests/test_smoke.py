# SPDX-License-Identifier: MIT
"""A few basic round trips through the extension."""
import os

import pytest

import membridge


@pytest.fixture
def name():
    n = f"/mb-smoke-{os.getpid()}"
    yield n
    try:
        membridge.SharedMemory.remove(n)
    except FileNotFoundError:
        pass


def test_view_round_trip(name):
    with membridge.SharedMemory.create(name, 4096) as mem:
        view = mem.map()
        view.write("Hello from A!")
        view.write(42)
        view.write(3.14)
        view.write(True)
        view.seek(0)
        assert view.read("str") == "Hello from A!"
        assert view.read("int") == 42
        assert view.read("float") == 3.14
        assert view.read("bool") is True
        view.close()


def test_ring_round_trip(name):
    with membridge.SharedMemory.create(name, 1024 + 24) as mem:
        ring = mem.spsc()
        assert ring.push("hi") is True
        assert ring.used() == 10
        assert ring.pop("str") == "hi"
        assert ring.pop() is None
        ring.close()


def test_missing_name():
    with pytest.raises(FileNotFoundError):
        membridge.SharedMemory.open("/mb-smoke-does-not-exist")
    with pytest.raises(FileNotFoundError):
        membridge.SharedMemory.remove("/mb-smoke-does-not-exist")
