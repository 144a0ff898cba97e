# SPDX-License-Identifier: MIT
"""Segment permissions between users, and names that try to leave /dev/shm.

The cross-user tests run helper interpreters that drop root for another
user (no supplementary groups unless a test gives one, umask 077) before
they import membridge; they are skipped when the suite does not run as root.
"""

import atexit
import errno
import functools
import json
import os
import pathlib
import shutil
import stat
import tempfile

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import SHM_DIR, run_python, shm_path, wait_path

NOBODY = 65534
# Ids no account uses: a non-root creator and the group it shares.
OWNER_UID = 64101
SHARED_GID = 64102

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root to act as other users")


def as_user(uid, gid, groups=()):
    """A preexec_fn that becomes uid/gid for good, with only `groups`."""
    def drop():
        os.setgroups(list(groups))
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        os.umask(0o077)
    return drop


@functools.lru_cache(maxsize=None)
def all_users_env():
    """The environment of the helpers: this membridge package and the
    libmembridge it loads, copied where every user can read them (a build
    tree may sit in a directory only root can enter, as under
    dpkg-buildpackage)."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="membridge-all-users-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(pathlib.Path(membridge.__file__).parent, root / "membridge")
    libdir = root / "lib"
    libdir.mkdir()
    for d in filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")):
        for lib in pathlib.Path(d).glob("libmembridge.so*"):
            shutil.copy(lib, libdir / lib.name)
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return dict(os.environ, PYTHONPATH=str(root), LD_LIBRARY_PATH=str(libdir))


def run_as(user, code, *args):
    """Run `code` as `user` (a preexec_fn); its last stdout line is JSON."""
    proc = run_python(code, *args, preexec_fn=user, cwd="/", env=all_users_env())
    return json.loads(proc.stdout.strip().splitlines()[-1])


def owner_mode(path):
    st = os.stat(path)
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


# Every call a user without access tries, and the exception it gets.
DENIED = """
    import json, sys
    from membridge import SharedMemory
    name = sys.argv[1]
    calls = {
        "open": lambda: SharedMemory.open(name),
        "open_sized": lambda: SharedMemory.open(name, 280),
        "attach": lambda: SharedMemory.create(name, 280, mode=0o666, attach=True),
        "replace": lambda: SharedMemory.create(name, 280, mode=0o666, replace=True),
        "remove": lambda: SharedMemory.remove(name),
        "companion": lambda: open("/dev/shm" + name + ".membridge-wait", "r+b"),
    }
    out = {}
    for what, call in calls.items():
        try:
            call()
            out[what] = ["no error"]
        except OSError as e:
            out[what] = [type(e).__name__, e.errno, str(e)]
    print(json.dumps(out))
"""


def test_default_mode_is_0600(shm_names):
    """Mode left out: 0600 for segment and companion, even under umask 0."""
    ring_name, view_name = shm_names(), shm_names()
    old = os.umask(0)
    try:
        with SharedMemory.create(ring_name, 280) as a, a.spsc(), \
                SharedMemory.create(view_name, 64) as b, b.map():
            for path in (shm_path(ring_name), wait_path(ring_name),
                         shm_path(view_name), wait_path(view_name)):
                assert owner_mode(path) == (os.geteuid(), os.getegid(), 0o600), path
    finally:
        os.umask(old)
        SharedMemory.remove(ring_name)
        SharedMemory.remove(view_name)


@needs_root
def test_other_user_gets_permission_error(shm_name):
    """nobody cannot open, attach to, replace or remove a 0600 segment."""
    with SharedMemory.create(shm_name, 280) as mem, mem.spsc() as ring:
        ring.push("secret")
        out = run_as(as_user(NOBODY, NOBODY), DENIED, shm_name)
        for what in ("open", "open_sized", "attach", "replace", "remove", "companion"):
            kind, code = out[what][:2]
            assert (kind, code) == ("PermissionError", errno.EACCES), (what, out[what])
        # The message names the segment and says where to look.
        for what in ("open", "open_sized", "attach"):
            msg = out[what][2]
            assert "permission denied for '%s'" % shm_name in msg, msg
            assert "ls -l /dev/shm" in msg, msg
        assert ring.pop("str") == "secret"
        assert owner_mode(shm_path(shm_name)) == (0, 0, 0o600)
    SharedMemory.remove(shm_name)


RING_PEER = """
    import json, sys
    from membridge import SharedMemory
    with SharedMemory.open(sys.argv[1]) as mem, mem.spsc() as ring:
        got = ring.pop("str", timeout=5)
        ring.push(sys.argv[2], timeout=5)
    print(json.dumps(got))
"""


@needs_root
def test_granted_0666_ring_round_trip(shm_name):
    """0666 asked under umask 077 stays 0666; nobody uses the ring both ways."""
    old = os.umask(0o077)
    try:
        mem = SharedMemory.create(shm_name, 280, mode=0o666)
        ring = mem.spsc()
    finally:
        os.umask(old)
    with mem, ring:
        assert owner_mode(shm_path(shm_name)) == (0, 0, 0o666)
        assert owner_mode(wait_path(shm_name)) == (0, 0, 0o666)
        ring.push("ping")
        assert run_as(as_user(NOBODY, NOBODY), RING_PEER, shm_name, "pong") == "ping"
        assert ring.pop("str", timeout=5) == "pong"
    SharedMemory.remove(shm_name)


VIEW_PEER = """
    import json, sys
    from membridge import SharedMemory
    with SharedMemory.open(sys.argv[1]) as mem, mem.map() as view:
        with view.write_locked(timeout=5):
            before = view.read_range(0, 8)
            view.write(sys.argv[2], offset=0)
    print(json.dumps(before.hex()))
"""


@needs_root
def test_granted_0666_view_companion_made_by_another_user(shm_name):
    """nobody makes the companion (umask 077): a third user can still use it."""
    with SharedMemory.create(shm_name, 64, mode=0o666) as mem:
        first = run_as(as_user(NOBODY, NOBODY), VIEW_PEER, shm_name, "nobody")
        assert first == "00" * 8
        assert owner_mode(wait_path(shm_name)) == (NOBODY, NOBODY, 0o666)
        second = run_as(as_user(OWNER_UID, OWNER_UID), VIEW_PEER, shm_name, "64101")
        assert bytes.fromhex(second) == b"\x06\x00\x00\x00nobo"
        with mem.map() as view:
            assert view.read("str") == "64101"
            assert view.reader_count() == 0 and not view.is_write_locked()
    SharedMemory.remove(shm_name)


GROUP_CREATOR = """
    import json, sys
    from membridge import SharedMemory
    with SharedMemory.create(sys.argv[1], 280, mode=0o660) as mem, mem.spsc() as ring:
        ring.push("to the group")
    print(json.dumps("made"))
"""


@needs_root
def test_granted_0660_group(shm_name):
    """0660 made by a non-root user: its group gets in, anyone else not."""
    assert run_as(as_user(OWNER_UID, SHARED_GID), GROUP_CREATOR, shm_name) == "made"
    try:
        for path in (shm_path(shm_name), wait_path(shm_name)):
            assert owner_mode(path) == (OWNER_UID, SHARED_GID, 0o660)
        out = run_as(as_user(NOBODY, NOBODY), DENIED, shm_name)
        assert out["open"][:2] == ["PermissionError", errno.EACCES]
        assert out["companion"][:2] == ["PermissionError", errno.EACCES]
        member = as_user(NOBODY, NOBODY, groups=[SHARED_GID])
        assert run_as(member, RING_PEER, shm_name, "from a member") == "to the group"
        with SharedMemory.open(shm_name) as mem, mem.spsc() as ring:
            assert ring.pop("str") == "from a member"
            assert ring.is_empty()
    finally:
        SharedMemory.remove(shm_name)


def _entries_with(token):
    dirs = (SHM_DIR, pathlib.Path("/dev"), pathlib.Path("/tmp"), pathlib.Path("/"),
            pathlib.Path.cwd())
    return [str(p) for d in dirs for p in d.iterdir() if token in p.name]


def test_names_cannot_traverse(shm_name):
    """Names leaving /dev/shm: ValueError saying the rule, nothing created."""
    token = shm_name.lstrip("/")
    names = ["/../" + token, "/../../tmp/" + token, "/%s/b" % token, token,
             "//" + token, "/./" + token, "/%s/" % token, "/..", "x"]
    passwd = os.stat("/etc/passwd")
    for name in names:
        for kw in ({}, {"attach": True}, {"replace": True}):
            with pytest.raises(ValueError, match="a name is '/' followed by"):
                SharedMemory.create(name, 64, mode=0o666, **kw)
        with pytest.raises(ValueError, match="a name is '/' followed by"):
            SharedMemory.open(name)
        with pytest.raises(ValueError, match="a name is '/' followed by"):
            SharedMemory.remove(name)
    for name in ("/../etc/passwd", "/../../etc/passwd"):
        with pytest.raises(ValueError):
            SharedMemory.open(name)
        with pytest.raises(ValueError):
            SharedMemory.create(name, 64, attach=True)
    assert _entries_with(token) == []
    after = os.stat("/etc/passwd")
    assert (after.st_ino, after.st_size, after.st_mtime_ns, after.st_mode) == \
        (passwd.st_ino, passwd.st_size, passwd.st_mtime_ns, passwd.st_mode)
