# SPDX-License-Identifier: MIT
"""SharedMemory: create/open/remove, names, sizes, modes, errors, lifetime."""

import errno
import os
import re
import stat

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import run_python, shm_path, wait_path


# ------------------------------------------------------------------ module

def test_version_is_the_library_version():
    assert membridge.__version__ == membridge.library_version()
    assert re.fullmatch(r"\d+\.\d+\.\d+", membridge.__version__)


def test_exception_hierarchy():
    assert issubclass(membridge.CorruptSegmentError, ValueError)
    assert issubclass(membridge.MessageDecodeError, ValueError)
    assert issubclass(membridge.MessageUnicodeError, membridge.MessageDecodeError)
    assert issubclass(membridge.MessageUnicodeError, UnicodeDecodeError)


def test_public_names():
    for name in ("SharedMemory", "MappedView", "SpscRingBuffer", "CorruptSegmentError",
                 "MessageDecodeError", "MessageUnicodeError", "library_version"):
        assert hasattr(membridge, name), name


# ------------------------------------------------------------------ create

def test_create_basic(shm_name):
    mem = SharedMemory.create(shm_name, 4096)
    try:
        assert isinstance(mem, SharedMemory)
        assert mem.name() == shm_name
        assert mem.size() == 4096
        st = os.stat(shm_path(shm_name))
        assert st.st_size == 4096
        assert stat.S_IMODE(st.st_mode) == 0o600
        # New segments are zero-filled.
        assert shm_path(shm_name).read_bytes() == bytes(4096)
        assert mem.map().read_all() == bytes(4092)
    finally:
        mem.close()
        SharedMemory.remove(shm_name)
    assert not shm_path(shm_name).exists()


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o666, 0o400])
def test_create_mode_is_exact(shm_name, mode):
    old = os.umask(0o077)  # the umask must not apply
    try:
        with SharedMemory.create(shm_name, 64, mode=mode):
            assert stat.S_IMODE(os.stat(shm_path(shm_name)).st_mode) == mode
    finally:
        os.umask(old)
        SharedMemory.remove(shm_name)


def test_mode_is_keyword_only(shm_name):
    with pytest.raises(TypeError):
        SharedMemory.create(shm_name, 64, 0o600)
    assert not shm_path(shm_name).exists()


def test_create_existing_raises_file_exists_with_advice(shm_name):
    with SharedMemory.create(shm_name, 128):
        with pytest.raises(FileExistsError) as info:
            SharedMemory.create(shm_name, 128)
        msg = str(info.value)
        assert "SharedMemory.remove(%r)" % shm_name in msg
        assert "replace=True" in msg
        assert info.value.errno == errno.EEXIST
    SharedMemory.remove(shm_name)


def test_create_replace(shm_name):
    with SharedMemory.create(shm_name, 128) as old:
        old.map().write(b"old data")
        with SharedMemory.create(shm_name, 256, replace=True) as new:
            assert new.size() == 256
            assert os.stat(shm_path(shm_name)).st_size == 256
            assert new.map().read_all() == bytes(252)
        # The old handle keeps its own mapping of the unlinked segment.
        assert old.map().read_range(0, 8) == b"old data"
    SharedMemory.remove(shm_name)


def test_create_replace_when_missing_creates(shm_name):
    with SharedMemory.create(shm_name, 64, replace=True) as mem:
        assert mem.size() == 64
    SharedMemory.remove(shm_name)


def test_create_attach(shm_name):
    with SharedMemory.create(shm_name, 128) as first:
        first.map().write(b"shared!")
        with SharedMemory.create(shm_name, 128, attach=True) as second:
            assert second.size() == 128
            assert second.map().read_range(0, 7) == b"shared!"
        with pytest.raises(ValueError):
            SharedMemory.create(shm_name, 256, attach=True)
    SharedMemory.remove(shm_name)


def test_create_attach_when_missing_creates(shm_name):
    with SharedMemory.create(shm_name, 64, attach=True) as mem:
        assert mem.size() == 64
        assert shm_path(shm_name).exists()
    SharedMemory.remove(shm_name)


# ------------------------------------------------------------------ names and sizes


def test_longest_name_is_accepted(shm_names):
    name = shm_names()
    name = name + "x" * (membridge.NAME_MAX - len(name))
    assert len(name) == membridge.NAME_MAX
    try:
        with SharedMemory.create(name, 64) as mem:
            assert mem.name() == name
    finally:
        try:
            SharedMemory.remove(name)
        except FileNotFoundError:
            pass


# ------------------------------------------------------------------ open / remove

def test_open_detects_size(shm_name):
    with SharedMemory.create(shm_name, 1000) as mem:
        mem.map().write("from the creator")
        with SharedMemory.open(shm_name) as other:
            assert other.size() == 1000
            assert other.name() == shm_name
            assert other.map().read("str") == "from the creator"
        with SharedMemory.open(shm_name, 1000) as other:
            assert other.size() == 1000
        with SharedMemory.open(shm_name, size=None) as other:
            assert other.size() == 1000
    SharedMemory.remove(shm_name)


def test_open_missing(shm_name):
    with pytest.raises(FileNotFoundError) as info:
        SharedMemory.open(shm_name)
    assert info.value.errno == errno.ENOENT
    assert shm_name in str(info.value)
    with pytest.raises(FileNotFoundError):
        SharedMemory.open(shm_name, 64)


def test_remove(shm_name):
    SharedMemory.create(shm_name, 64).close()
    assert shm_path(shm_name).exists()
    assert SharedMemory.remove(shm_name) is None
    assert not shm_path(shm_name).exists()
    with pytest.raises(FileNotFoundError):
        SharedMemory.remove(shm_name)


def test_remove_keeps_open_mappings(shm_name):
    with SharedMemory.create(shm_name, 64) as mem:
        view = mem.map()
        view.write(1234)
        SharedMemory.remove(shm_name)
        assert not shm_path(shm_name).exists()
        view.seek()
        assert view.read("int") == 1234
        view.close()


def test_remove_deletes_wait_companion(shm_name):
    with SharedMemory.create(shm_name, 64 + 24) as mem:
        with mem.spsc() as ring:
            # A blocking pop needs the wait companion.
            assert ring.pop(timeout=0.05) is None
    assert wait_path(shm_name).exists()
    SharedMemory.remove(shm_name)
    assert not shm_path(shm_name).exists()
    assert not wait_path(shm_name).exists()


def test_remove_is_static(shm_name):
    with SharedMemory.create(shm_name, 64) as mem:
        # Callable on the class and on an instance alike.
        mem.remove(shm_name)
    assert not shm_path(shm_name).exists()


def test_two_handles_share_memory(shm_name):
    with SharedMemory.create(shm_name, 64) as a, SharedMemory.open(shm_name) as b:
        va, vb = a.map(), b.map()
        va.write(b"\x01\x02\x03", offset=10)
        assert vb.read_range(10, 3) == b"\x01\x02\x03"
        assert shm_path(shm_name).read_bytes()[14:17] == b"\x01\x02\x03"
    SharedMemory.remove(shm_name)


# ------------------------------------------------------------------ permissions

def test_permission_error(shm_name):
    if os.geteuid() == 0:
        # Root ignores the mode bits: ask as nobody (uid 65534) instead.
        with SharedMemory.create(shm_name, 64, mode=0o600):
            proc = run_python("""
                import os, sys
                import membridge
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                try:
                    membridge.SharedMemory.open(sys.argv[1])
                except PermissionError as e:
                    print("PermissionError", e.errno)
                else:
                    print("opened")
                try:
                    membridge.SharedMemory.create(sys.argv[1], 64)
                except FileExistsError:
                    print("FileExistsError")
                try:
                    membridge.SharedMemory.remove(sys.argv[1])
                except PermissionError:
                    print("remove PermissionError")
                else:
                    print("removed")
                """, shm_name)
            assert proc.stdout.split("\n")[:3] == [
                "PermissionError %d" % errno.EACCES, "FileExistsError", "remove PermissionError"]
            # A world-readable+writable segment opens fine as nobody.
        SharedMemory.remove(shm_name)
        with SharedMemory.create(shm_name, 64, mode=0o666) as mem:
            mem.map().write(77)
            proc = run_python("""
                import os, sys
                import membridge
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
                with membridge.SharedMemory.open(sys.argv[1]) as mem:
                    print(mem.map().read("int"))
                """, shm_name)
            assert proc.stdout == "77\n"
        SharedMemory.remove(shm_name)
    else:
        # Read-only for its owner: opening it read-write is refused.
        with SharedMemory.create(shm_name, 64, mode=0o400):
            with pytest.raises(PermissionError) as info:
                SharedMemory.open(shm_name)
            assert info.value.errno == errno.EACCES
        SharedMemory.remove(shm_name)


# ------------------------------------------------------------------ map / spsc sizes

def test_map_needs_more_than_the_lock_word(shm_names):
    small = shm_names()
    with SharedMemory.create(small, 4) as mem:
        with pytest.raises(ValueError):
            mem.map()
    SharedMemory.remove(small)
    tiny = shm_names()
    with SharedMemory.create(tiny, 5) as mem:
        with mem.map() as view:
            assert view.size() == 1
    SharedMemory.remove(tiny)


def test_spsc_smallest(shm_name):
    with SharedMemory.create(shm_name, 8 + 24) as mem:
        with mem.spsc() as ring:
            assert ring.capacity() == 8
    SharedMemory.remove(shm_name)


def test_creator_map_initialises_lock_word(shm_name):
    with SharedMemory.create(shm_name, 64) as mem:
        with open(shm_path(shm_name), "r+b") as f:
            f.write((5).to_bytes(4, "little", signed=True))
        view = mem.map()
        assert view.reader_count() == 0
        assert not view.is_write_locked()
        assert shm_path(shm_name).read_bytes()[:4] == bytes(4)
        view.close()
    SharedMemory.remove(shm_name)


def test_opener_map_keeps_lock_word(shm_name):
    with SharedMemory.create(shm_name, 64) as mem, mem.map() as view:
        with view.read_locked():
            with SharedMemory.open(shm_name) as other, other.map() as oview:
                assert oview.reader_count() == 1
        assert view.reader_count() == 0
    SharedMemory.remove(shm_name)


# ------------------------------------------------------------------ lifetime, repr

def test_repr(shm_name):
    mem = SharedMemory.create(shm_name, 1048)
    assert repr(mem) == "<membridge.SharedMemory name=%r size=1048 open>" % shm_name
    mem.close()
    r = repr(mem)
    assert r.startswith("<membridge.SharedMemory ")
    assert "closed" in r and "open>" not in r
    SharedMemory.remove(shm_name)


def test_context_manager(shm_name):
    with SharedMemory.create(shm_name, 128) as mem:
        assert isinstance(mem, SharedMemory)
        assert mem.size() == 128
    with pytest.raises(ValueError):
        mem.size()
    # The segment outlives the handle until it is removed.
    assert shm_path(shm_name).exists()
    SharedMemory.remove(shm_name)


def test_context_manager_closes_on_exception(shm_name):
    with pytest.raises(RuntimeError):
        with SharedMemory.create(shm_name, 128) as mem:
            raise RuntimeError("boom")
    with pytest.raises(ValueError):
        mem.name()
    SharedMemory.remove(shm_name)


def test_views_outlive_the_segment_handle(shm_names):
    shm_name, ring_name = shm_names(), shm_names()
    mem = SharedMemory.create(shm_name, 128)
    view = mem.map()
    ring_mem = SharedMemory.create(ring_name, 64 + 24)
    ring = ring_mem.spsc()
    try:
        mem.close()
        ring_mem.close()
        # Views and rings keep their own reference to the mapping.
        view.write(99, offset=0)
        assert view.read_range(0, 8) == (99).to_bytes(8, "little", signed=True)
        assert ring.push(b"still here")
        assert ring.pop() == b"still here"
    finally:
        view.close()
        ring.close()
        SharedMemory.remove(shm_name)
        SharedMemory.remove(ring_name)


def test_independent_views_have_own_cursor(shm_name):
    with SharedMemory.create(shm_name, 128) as mem:
        v1, v2 = mem.map(), mem.map()
        v1.write(1)
        v1.write(2)
        assert v1.tell() == 16
        assert v2.tell() == 0
        assert v2.read("int") == 1
        assert v2.tell() == 8
        v1.close()
        v2.close()
    SharedMemory.remove(shm_name)
