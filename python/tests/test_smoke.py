# SPDX-License-Identifier: MIT
"""A few basic round trips through the extension, and its version."""
import importlib.metadata
import pathlib
import re

import pytest

import membridge


def test_view_round_trip(shm_name):
    with membridge.SharedMemory.create(shm_name, 4096) as mem:
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


def test_ring_round_trip(shm_name):
    with membridge.SharedMemory.create(shm_name, 1024 + 24) as mem:
        ring = mem.spsc()
        assert ring.push("hi") is True
        assert ring.used() == 10
        assert ring.pop("str") == "hi"
        assert ring.pop() is None
        ring.close()


def test_missing_name(shm_name):
    with pytest.raises(FileNotFoundError):
        membridge.SharedMemory.open(shm_name)
    with pytest.raises(FileNotFoundError):
        membridge.SharedMemory.remove(shm_name)


def test_one_version():
    """configure.ac's AC_INIT is the one version: the library, the headers
    the extension was built with (__version__) and the package metadata
    (setup.py reads membridge.pc) all say it."""
    assert membridge.__version__ == membridge.library_version()
    configure_ac = pathlib.Path(__file__).resolve().parents[2] / "configure.ac"
    if configure_ac.is_file():
        found = re.search(r"AC_INIT\(\[libmembridge\], \[([^]]+)\]",
                          configure_ac.read_text(encoding="utf-8"))
        assert found and found.group(1) == membridge.__version__
    try:
        assert importlib.metadata.version("membridge") == membridge.__version__
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the package was built without metadata (no dist-info on sys.path)")
