# SPDX-License-Identifier: MIT
"""The membridge(1) command-line tool (tools/membridge) on real segments.

Every command and its main options, every error exit code, and two-process
streams between the tool and this Python process through a small ring. The
tool is the libtool wrapper <builddir>/tools/membridge; it runs with
LC_ALL=C. Segments the tests expect to see are made either by the tool or
by the Python package; the states the tool has to decode (corrupt ring
headers, view lock words) are written straight into /dev/shm/<name>, as a
foreign peer would.
"""

import errno
import functools
import json
import mmap
import os
import pathlib
import re
import select
import shlex
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import threading
import time

import pytest

import membridge
from membridge import SharedMemory

from mbhelpers import run_python, shm_path, wait_path

ENV = dict(os.environ, LC_ALL="C")
NOBODY = 65534
HEADER = struct.Struct("=QQQ")  # ring header: head, tail, capacity
LOCK = struct.Struct("=i")  # view lock word
# channel header (lib/channel-layout.h): magic, version, flags, subscribers,
# data_size, max_message; the publisher's tail at 128
CHANNEL = struct.Struct("=IIIIQQ")
CHANNEL_TAIL = 128
CHANNEL_OWNER = 256   # the publisher's process record
CHANNEL_SLOTS = 640   # slot i at + 128 i; its owner at + 8

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="needs root to run the tool as another user")
# Whether `membridge list` can list on the build's platform (macOS: no);
# make check sets it from configure (tests/scripts.mk).
LISTING = os.environ.get("MBT_HAVE_LISTING", "yes") == "yes"
needs_listing = pytest.mark.skipif(not LISTING,
                                   reason="this platform keeps no directory of segments")


# ------------------------------------------------------------------ running the tool

def _arg(a):
    return a if isinstance(a, (str, bytes)) else str(a)


class Result:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.raw = out
        self.out = out.decode("utf-8", "surrogateescape")
        self.err = err.decode("utf-8", "surrogateescape")

    def __repr__(self):
        return "<exit %r\nstdout: %r\nstderr: %r>" % (self.rc, self.out, self.err)


def _valgrind(cli):
    """Under `make check-valgrind` the build tree's tool runs under memcheck
    (exit 99 on errors); copies of it outside the tree run as they are."""
    builddir = pathlib.Path(cli).parent.parent
    if not os.environ.get("MBT_UNDER_VALGRIND") or not (builddir / "libtool").exists():
        return []
    supp = pathlib.Path(os.environ.get("MEMBRIDGE_SRCDIR", builddir)) / "tests" / "valgrind.supp"
    return [str(builddir / "libtool"), "--mode=execute", "valgrind", "--quiet",
            "--error-exitcode=99", "--leak-check=full", "--errors-for-leak-kinds=definite",
            "--show-leak-kinds=definite"] + (["--suppressions=%s" % supp] if supp.exists() else [])


def run_tool(path, *args, input=None, timeout=20, env=None, **kw):
    """Run the tool to completion (a hang fails the test)."""
    proc = subprocess.run([*_valgrind(path), str(path), *map(_arg, args)], input=input,
                          capture_output=True, timeout=timeout,
                          env=ENV if env is None else env, **kw)
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="session")
def cli(builddir):
    path = builddir / "tools" / "membridge"
    if not os.access(path, os.X_OK):
        pytest.skip("tools/membridge not built in %s" % builddir)
    return path


@pytest.fixture
def mb(cli):
    """mb(*args, input=..., timeout=...) -> Result."""
    return functools.partial(run_tool, cli)


def popen_tool(cli, *args, **kw):
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen([*_valgrind(cli), str(cli), *map(_arg, args)], env=ENV, **kw)


def finish(proc, timeout=20):
    """(rc, stdout bytes, stderr text) of a Popen, killing it on timeout."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("timed out\nstdout: %r\nstderr: %r" % (out, err))
    return proc.returncode, out, err.decode("utf-8", "replace")


def watch_and(cli, shm_name, first_has, action, *options):
    """Run `membridge watch OPTIONS shm_name`; once its first line holds
    every bytes of first_has, call action(proc) and let it end: returns
    finish()'s (rc, stdout bytes, stderr text)."""
    proc = popen_tool(cli, "watch", *options, shm_name)
    try:
        first = proc.stdout.readline()
        assert all(s in first for s in first_has), first
        action(proc)
    finally:
        result = finish(proc)
    return result


def usage_error(r, command=None):
    """Exit 2 with a one-line message and the Try line on stderr."""
    assert r.rc == 2, r
    lines = r.err.splitlines()
    assert len(lines) >= 2, r
    assert lines[0].startswith("membridge: "), r
    if command is None:
        assert "Try 'membridge --help'." in r.err, r
    else:
        assert ("Try 'membridge %s --help'." % command in r.err
                or "Try 'membridge --help'." in r.err), r


def error(r, code, command, name=None):
    """Exit `code`, a stderr message 'membridge: COMMAND: ...' naming the segment."""
    assert r.rc == code, r
    assert r.err.startswith("membridge: %s: " % command), r
    if name is not None:
        assert name in r.err, r
    assert r.raw == b"", r


# ------------------------------------------------------------------ segments

def make_ring(name, capacity=4096):
    """A ring made by the Python package (its companion included)."""
    mem = SharedMemory.create(name, capacity + 24)
    return mem, mem.spsc()


def open_ring(name):
    mem = SharedMemory.open(name)
    return mem, mem.spsc()


def drain(ring, tag=None):
    out = []
    while True:
        msg = ring.pop(tag)
        if msg is None:
            return out
        out.append(msg)


def read_header(name):
    with open(shm_path(name), "rb") as f:
        return HEADER.unpack(f.read(HEADER.size))


def write_at(name, offset, data):
    with open(shm_path(name), "r+b") as f:
        f.seek(offset)
        f.write(data)


def read_lock_word(name):
    with open(shm_path(name), "rb") as f:
        return LOCK.unpack(f.read(4))[0]


def set_lock_word(name, value):
    write_at(name, 0, LOCK.pack(value))


def make_view(name, data_size=4096):
    """A view segment (data_size + 4 bytes), its lock word free."""
    mem = SharedMemory.create(name, data_size + 4)
    view = mem.map()
    view.close()
    mem.close()
    assert read_lock_word(name) == 0


def dead_pid():
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    pid = proc.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    return pid


def ring_bytes(name):
    """What the ring holds, as raw payloads, popped by the Python package."""
    mem, ring = open_ring(name)
    with mem, ring:
        return drain(ring)


def str_frame(text):
    b = text.encode()
    return struct.pack("=I", len(b)) + b


# ------------------------------------------------------------------ global options

def test_version(mb):
    outs = []
    for opt in ("--version", "-V"):
        r = mb(opt)
        assert r.rc == 0, r
        m = re.fullmatch(r"membridge (\d+\.\d+\.\d+) \(libmembridge (.*)\)\n", r.out)
        assert m, r
        # The package version (the Python package's is the same) and the runtime library's.
        assert m.group(1) == membridge.__version__, r
        assert m.group(2) == membridge.library_version(), r
        outs.append(r.out)
    assert outs[0] == outs[1]


COMMANDS = ["list", "info", "create", "rm", "push", "pop", "watch", "unlock", "bench"]


def test_top_level_help(mb):
    outs = []
    for args in (["--help"], ["-h"], ["help"]):
        r = mb(*args)
        assert r.rc == 0, r
        assert r.err == "", r
        for command in COMMANDS:
            assert re.search(r"\b%s\b" % command, r.out), (command, r)
        outs.append(r.out)
    assert outs[0] == outs[1] == outs[2]


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(mb, command):
    long, short, helpcmd = mb(command, "--help"), mb(command, "-h"), mb("help", command)
    for r in (long, short, helpcmd):
        assert r.rc == 0, r
        assert r.err == "", r
    assert "membridge %s" % command in long.out, long
    assert long.out == short.out == helpcmd.out


MANUAL = pathlib.Path(__file__).resolve().parents[2] / "man" / "membridge.1"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_and_manual_name_the_same_options(mb, command):
    """Each command's --help and its subsection of membridge(1) list the
    same long options, so neither can drift from what the tool accepts."""
    if not MANUAL.exists():
        pytest.skip("membridge(1) source not beside the tests")
    section = MANUAL.read_text().split("\n.Ss %s\n" % command)[1]
    section = re.split(r"\n\.S[hs] ", section)[0]
    in_manual = set(re.findall(r"Fl -([a-z][a-z-]*)", section))
    in_help = set(re.findall(r"(?<![\w-])--([a-z][a-z-]*)", mb(command, "--help").out))
    assert in_manual == in_help - {"help"}


def test_no_command(mb):
    usage_error(mb())


def test_unknown_command(mb):
    r = mb("frobnicate")
    usage_error(r)
    assert "frobnicate" in r.err


def test_unknown_global_option(mb):
    usage_error(mb("--bogus"))


@pytest.mark.parametrize("command", COMMANDS)
def test_unknown_command_option(mb, command, shm_name):
    r = mb(command, "--no-such-option", shm_name)
    usage_error(r, command)
    assert "no-such-option" in r.err


@pytest.mark.parametrize("args", [
    ["info"],                      # missing NAME
    ["info", "/a", "/b"],          # extra argument
    ["pop"],
    ["watch"],
    ["unlock"],
    ["rm"],
    ["push"],
    ["create", "--ring", "4096"],  # missing NAME
    ["list", "extra"],
])
def test_missing_or_extra_argument(mb, args):
    usage_error(mb(*args), args[0])


@pytest.mark.parametrize("bad", ["", "a/b", "/a/b", ".", "..", "/" + "x" * 300])
def test_invalid_names(mb, bad):
    for args in (["info", bad], ["create", "--ring", "64", bad], ["pop", bad]):
        r = mb(*args)
        assert r.rc == 2, (args, r)
        assert r.err.startswith("membridge: "), r


# ------------------------------------------------------------------ create

def test_create_ring(mb, shm_name):
    bare = shm_name.lstrip("/")  # "q" means "/q"
    r = mb("create", "--ring", "4096", bare)
    assert r.rc == 0, r
    assert r.out == "created ring %s: capacity 4096, 4120 bytes, mode 0600\n" % shm_name, r
    st = os.stat(shm_path(shm_name))
    assert st.st_size == 4120
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert read_header(shm_name) == (0, 0, 4096)
    # The Python package takes it as a ring.
    mem, ring = open_ring(shm_name)
    with mem, ring:
        assert ring.capacity() == 4096 and ring.is_empty()
        assert ring.push("from python")
        assert ring.pop("str") == "from python"


def test_create_ring_size_suffix(mb, shm_names):
    for arg, cap in (("4K", 4096), ("8KiB", 8192), ("1M", 1 << 20)):
        name = shm_names()
        r = mb("create", "--ring", arg, name)
        assert r.rc == 0, r
        assert os.stat(shm_path(name)).st_size == cap + 24
        assert read_header(name) == (0, 0, cap)


def test_create_view(mb, shm_name):
    r = mb("create", "--view", "4096", shm_name)
    assert r.rc == 0, r
    assert r.out == "created view %s: 4096 data bytes, 4100 bytes, mode 0600\n" % shm_name, r
    assert os.stat(shm_path(shm_name)).st_size == 4100
    assert read_lock_word(shm_name) == 0
    with SharedMemory.open(shm_name) as mem, mem.map() as view:
        assert view.size() == 4096
        view.write("via python", offset=0)
        assert view.read_range(0, 4) == struct.pack("=I", 10)


def test_create_mode_ignores_umask(cli, shm_names):
    """--mode is applied as given; the tool's umask (077 here) does not mask it."""
    for arg, mode in (("0666", 0o666), ("644", 0o644), ("0640", 0o640)):
        name = shm_names()
        r = run_tool(cli, "create", "--ring", "64", "--mode", arg, name,
                     preexec_fn=lambda: os.umask(0o077))
        assert r.rc == 0, r
        assert r.out.endswith(", mode %04o\n" % mode), r
        assert stat.S_IMODE(os.stat(shm_path(name)).st_mode) == mode
    name = shm_names()
    r = run_tool(cli, "create", "--view", "100", "--mode", "0604", name,
                 preexec_fn=lambda: os.umask(0o077))
    assert r.rc == 0, r
    assert stat.S_IMODE(os.stat(shm_path(name)).st_mode) == 0o604


@pytest.mark.parametrize("mode", ["0", "1000", "0999", "abc", "-1", "07777"])
def test_create_bad_mode(mb, shm_name, mode):
    r = mb("create", "--ring", "64", "--mode", mode, shm_name)
    assert r.rc == 2, r
    assert r.err.startswith("membridge: create: "), r
    assert not shm_path(shm_name).exists()


def test_create_exists(mb, shm_name):
    assert mb("create", "--ring", "64", shm_name).rc == 0
    write_at(shm_name, 24, b"keep")
    r = mb("create", "--ring", "4096", shm_name)
    error(r, 6, "create", shm_name)
    assert "membridge rm" in r.err or "--replace" in r.err, r
    # Untouched.
    assert os.stat(shm_path(shm_name)).st_size == 64 + 24
    assert shm_path(shm_name).read_bytes()[24:28] == b"keep"
    r = mb("create", "--view", "64", shm_name)
    assert r.rc == 6, r


def test_create_replace(mb, shm_name):
    assert mb("create", "--view", "64", shm_name).rc == 0
    set_lock_word(shm_name, 3)
    r = mb("create", "--ring", "4096", "--replace", shm_name)
    assert r.rc == 0, r
    assert os.stat(shm_path(shm_name)).st_size == 4120
    assert read_header(shm_name) == (0, 0, 4096)
    # --replace without an existing segment is plain create.
    assert mb("rm", shm_name).rc == 0
    r = mb("create", "--view", "64", "--replace", shm_name)
    assert r.rc == 0, r
    assert os.stat(shm_path(shm_name)).st_size == 68


def test_create_bad_capacity(mb, shm_name):
    r = mb("create", "--ring", "1000", shm_name)
    assert r.rc == 2, r
    assert r.err.startswith("membridge: create: "), r
    # The two nearest valid capacities.
    assert "512" in r.err and "1024" in r.err, r
    assert not shm_path(shm_name).exists()
    for bad in ("0", "4", "-8", "abc", "12Q", "99999999999999999999999", "16E"):
        r = mb("create", "--ring", bad, shm_name)
        assert r.rc == 2, (bad, r)
        assert not shm_path(shm_name).exists()
    for bad in ("0", "abc", "-4"):
        r = mb("create", "--view", bad, shm_name)
        assert r.rc == 2, (bad, r)


def test_create_needs_exactly_one_kind(mb, shm_name):
    usage_error(mb("create", shm_name), "create")
    usage_error(mb("create", "--ring", "64", "--view", "64", shm_name), "create")
    assert not shm_path(shm_name).exists()


# ------------------------------------------------------------------ rm

def test_rm_several(mb, shm_names):
    a, b, c = shm_names(), shm_names(), shm_names()
    mem, ring = make_ring(a, 64)
    ring.close()
    mem.close()
    assert wait_path(a).exists()
    assert mb("create", "--view", "64", b).rc == 0
    assert mb("create", "--ring", "64", c).rc == 0
    r = mb("rm", a, b.lstrip("/"), c)
    assert (r.rc, r.raw, r.err) == (0, b"", ""), r
    for name in (a, b, c):
        assert not shm_path(name).exists()
        assert not wait_path(name).exists()


def test_rm_missing(mb, shm_names):
    a, missing, b = shm_names(), shm_names(), shm_names()
    assert mb("create", "--ring", "64", a).rc == 0
    assert mb("create", "--ring", "64", b).rc == 0
    r = mb("rm", a, missing, b)
    error(r, 3, "rm", missing)
    # It went on after the failure.
    assert not shm_path(a).exists() and not shm_path(b).exists()
    r = mb("rm", missing)
    error(r, 3, "rm", missing)


def test_rm_force(mb, shm_names):
    a, missing = shm_names(), shm_names()
    assert mb("create", "--ring", "64", a).rc == 0
    for opt in ("-f", "--force"):
        r = mb("rm", opt, missing)
        assert (r.rc, r.raw, r.err) == (0, b"", ""), r
    r = mb("rm", "--force", missing, a)
    assert (r.rc, r.raw) == (0, b""), r
    assert not shm_path(a).exists()


# ------------------------------------------------------------------ list

def list_rows(out):
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "OWNER", "MODE", "AGE", "KIND", "DETAILS"], out
    rows = {}
    for line in lines[1:]:
        parts = line.split(None, 6)
        assert len(parts) >= 6, line
        name = parts[0]
        assert name.startswith("/"), line  # with its leading "/"
        rows[name] = parts + [""] * (7 - len(parts))
    names = [line.split(None, 1)[0] for line in lines[1:]]
    assert names == sorted(names), "list is not sorted by name"
    return rows


def list_json(mb, *args):
    r = mb("list", "--json", *args)
    assert r.rc == 0, r
    entries = json.loads(r.out)
    assert isinstance(entries, list)
    return {e["name"]: e for e in entries}


@pytest.fixture
def zoo(shm_names):
    """A ring with three known messages (one popped), a free view, a view
    read-locked by this process, views with lock words written by hand, an
    unknown (empty) segment, and a ring whose head is past its tail."""
    n = {k: shm_names() for k in ("ring", "view", "rlocked", "readers", "dead",
                                  "alive", "anon", "unknown", "corrupt")}
    mem, ring = make_ring(n["ring"], 4096)
    for payload in (b"a" * 508, b"b" * 252, b"c" * 252):  # frames 512 + 256 + 256
        assert ring.push(payload)
    make_view(n["view"], 4096)
    rmem = SharedMemory.create(n["rlocked"], 100)
    rview = rmem.map()
    rview.lock_read()
    make_view(n["readers"], 60)
    set_lock_word(n["readers"], 2)
    pid = dead_pid()
    make_view(n["dead"], 60)
    set_lock_word(n["dead"], -pid)
    make_view(n["alive"], 60)
    set_lock_word(n["alive"], -os.getpid())
    make_view(n["anon"], 60)
    set_lock_word(n["anon"], -1)
    fd = os.open(shm_path(n["unknown"]), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    os.close(fd)
    cmem = SharedMemory.create(n["corrupt"], 4096 + 24)
    cmem.close()
    write_at(n["corrupt"], 0, HEADER.pack(100, 50, 4096))
    yield n, ring, pid
    rview.unlock()
    rview.close()
    rmem.close()
    ring.close()
    mem.close()


@needs_listing
def test_list_table(mb, zoo):
    n, ring, pid = zoo
    r = mb("list")
    assert r.rc == 0 and r.err == "", r
    rows = list_rows(r.out)
    for key, name in n.items():
        assert name in rows, (key, r.out)
        size, owner, mode, age = rows[name][1:5]
        assert size == str(os.stat(shm_path(name)).st_size)
        if os.geteuid() == 0:
            assert owner == "root", rows[name]
        assert mode == "0600", rows[name]
        assert re.fullmatch(r"\d+[smhd]", age), rows[name]

    def kind_details(key):
        return rows[n[key]][5], rows[n[key]][6].strip()

    assert kind_details("ring") == ("ring", "capacity 4096, used 1024 (25%), 3 pending")
    assert kind_details("view") == ("view", "lock free")
    assert re.fullmatch(r"lock: 1 readers?", kind_details("rlocked")[1]), rows[n["rlocked"]]
    assert kind_details("readers") == ("view", "lock: 2 readers")
    assert kind_details("dead") == ("view", "lock: write-locked by pid %d (no such process)" % pid)
    assert kind_details("alive") == ("view", "lock: write-locked by pid %d (alive)" % os.getpid())
    assert kind_details("anon") == ("view", "lock: write-locked (anonymous writer -1)")
    assert kind_details("unknown") == ("unknown", "")
    assert kind_details("corrupt") == ("ring", "corrupt: head 100 is past tail 50")
    assert rows[n["unknown"]][1] == "0"
    # The ring's companion only with --all.
    assert wait_path(n["ring"]).exists()
    assert not any(k.endswith(".membridge-wait") for k in rows), r.out
    for opt in ("--all", "-a"):
        r = mb("list", opt)
        assert r.rc == 0, r
        rows = list_rows(r.out)
        comp = n["ring"] + ".membridge-wait"
        assert comp in rows, r.out
        assert rows[comp][5] == "companion", rows[comp]
        assert n["ring"] in rows


@pytest.mark.skipif(LISTING, reason="this platform lists its segments")
def test_list_unsupported(mb):
    r = mb("list", "--json")
    assert r.rc == 1 and r.out == "", r
    assert "keeps no directory of shared-memory segments" in r.err, r


@needs_listing
def test_list_empty(cli):
    """An empty /dev/shm (a private tmpfs in a new mount namespace)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) for a private /dev/shm")
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs none /dev/shm"],
                           capture_output=True, timeout=10)
    if probe.returncode != 0:
        pytest.skip("cannot mount a private /dev/shm: %r" % probe.stderr)
    sh = "mount -t tmpfs none /dev/shm && M=%s && $M list && echo === && $M list --json" \
        % shlex.quote(str(cli))
    proc = subprocess.run(["unshare", "-m", "sh", "-c", sh], capture_output=True,
                          timeout=20, env=ENV)
    assert proc.returncode == 0, proc
    table, js = proc.stdout.decode().split("===\n")
    assert table.splitlines() and len(table.splitlines()) == 1, table
    assert table.split() == ["NAME", "SIZE", "OWNER", "MODE", "AGE", "KIND", "DETAILS"]
    assert json.loads(js) == []


@needs_listing
def test_list_follows_the_ring(mb, shm_name):
    """used/pending change with pushes and pops."""
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        def details():
            r = mb("list")
            assert r.rc == 0, r
            return list_rows(r.out)[shm_name][6].strip()
        assert details() == "capacity 64, used 0 (0%), 0 pending"
        assert ring.push(b"a" * 12) and ring.push(b"b" * 12)  # 2 frames of 16
        assert details() == "capacity 64, used 32 (50%), 2 pending"
        assert ring.pop() == b"a" * 12
        assert details() == "capacity 64, used 16 (25%), 1 pending"
        assert ring.push(b"x" * 44)  # a frame of 48: full
        assert details() == "capacity 64, used 64 (100%), 2 pending"


@needs_listing
def test_list_json(mb, zoo):
    n, ring, pid = zoo
    entries = list_json(mb)
    for key, name in n.items():
        e = entries[name]
        assert e["size"] == os.stat(shm_path(name)).st_size
        assert e["uid"] == os.geteuid()
        assert e["mode"] == "0600"
        assert isinstance(e["owner"], str)
        assert isinstance(e["age_seconds"], int) and 0 <= e["age_seconds"] < 3600, e

    e = entries[n["ring"]]
    assert e["kind"] == "ring"
    assert e["ring"] == {"capacity": 4096, "head": 0, "tail": 1024, "used": 1024,
                         "free": 3072, "pending": 3, "valid": True, "problem": None}
    assert "view" not in e
    assert ring.pop() == b"a" * 508
    e = list_json(mb)[n["ring"]]
    assert e["ring"] == {"capacity": 4096, "head": 512, "tail": 1024, "used": 512,
                         "free": 3584, "pending": 2, "valid": True, "problem": None}

    def view(key):
        e = entries[n[key]]
        assert e["kind"] == "view", e
        assert "ring" not in e
        return e["view"]

    assert view("view") == {"data_size": 4096, "lock_word": 0, "state": "free", "readers": 0, "writer_waiting": False,
                            "writer_pid": None, "writer_alive": None}
    assert view("rlocked") == {"data_size": 96, "lock_word": 1, "state": "read", "readers": 1, "writer_waiting": False,
                               "writer_pid": None, "writer_alive": None}
    assert view("readers") == {"data_size": 60, "lock_word": 2, "state": "read", "readers": 2, "writer_waiting": False,
                               "writer_pid": None, "writer_alive": None}
    assert view("dead") == {"data_size": 60, "lock_word": -pid, "state": "write", "readers": 0, "writer_waiting": False,
                            "writer_pid": pid, "writer_alive": False}
    assert view("alive") == {"data_size": 60, "lock_word": -os.getpid(), "state": "write",
                             "readers": 0, "writer_waiting": False, "writer_pid": os.getpid(), "writer_alive": True}
    anon = view("anon")
    assert (anon["lock_word"], anon["state"]) == (-1, "write"), anon

    e = entries[n["unknown"]]
    assert (e["kind"], e["size"]) == ("unknown", 0)
    assert "ring" not in e and "view" not in e
    e = entries[n["corrupt"]]
    assert e["kind"] == "ring"
    assert e["ring"]["valid"] is False
    assert e["ring"]["problem"] == "head 100 is past tail 50"
    assert (e["ring"]["head"], e["ring"]["tail"], e["ring"]["capacity"]) == (100, 50, 4096)

    comp = n["ring"] + ".membridge-wait"
    assert comp not in entries
    e = list_json(mb, "--all")[comp]
    assert e["kind"] == "companion"
    assert "ring" not in e and "view" not in e


@needs_listing
def test_list_python_write_lock(mb, shm_name):
    """A write lock held by this process through the Python package."""
    with SharedMemory.create(shm_name, 64) as mem, mem.map() as view:
        with view.write_locked():
            e = list_json(mb)[shm_name]
            assert e["view"]["state"] == "write"
            assert e["view"]["writer_pid"] == os.getpid()
            assert e["view"]["writer_alive"] is True
            assert e["view"]["lock_word"] == -os.getpid()
        e = list_json(mb)[shm_name]
        assert e["view"]["state"] == "free"


# ------------------------------------------------------------------ info

def info_fields(out):
    fields = {}
    for line in out.splitlines():
        key, sep, value = line.partition(": ")
        assert sep, line
        fields[key] = value
    return fields


def test_info_ring(mb, shm_name):
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        assert ring.push("hi") and ring.push(b"z" * 20)  # frames 10 + 24
        r = mb("info", shm_name.lstrip("/"))
        assert r.rc == 0 and r.err == "", r
        f = info_fields(r.out)
        assert list(f)[:6] == ["name", "kind", "size", "owner", "mode", "age"], r.out
        assert f["name"] == shm_name
        assert f["kind"] == "ring"
        assert f["size"] == "4120"
        assert f["mode"] == "0600"
        assert re.fullmatch(r"\d+[smhd]", f["age"]), f
        assert (f["capacity"], f["head"], f["tail"], f["used"], f["free"], f["pending"]) == \
            ("4096", "0", "34", "34", "4062", "2"), f
        assert f["verdict"] == "ok"
        assert f["companion"] == "present"

        r = mb("info", "--json", shm_name)
        assert r.rc == 0, r
        e = json.loads(r.out)
        assert e["name"] == shm_name and e["kind"] == "ring" and e["size"] == 4120
        assert e["companion"] is True
        assert e["ring"] == {"capacity": 4096, "head": 0, "tail": 34, "used": 34,
                             "free": 4062, "pending": 2, "valid": True, "problem": None}


def test_info_ring_without_companion(mb, shm_name):
    assert mb("create", "--ring", "64", shm_name).rc == 0
    if wait_path(shm_name).exists():
        os.unlink(wait_path(shm_name))
    f = info_fields(mb("info", shm_name).out)
    assert f["companion"] == "absent", f
    assert json.loads(mb("info", "--json", shm_name).out)["companion"] is False
    # Inspection never creates the companion.
    assert not wait_path(shm_name).exists()


def test_info_view(mb, shm_name):
    make_view(shm_name, 4096)
    set_lock_word(shm_name, 2)
    r = mb("info", shm_name)
    assert r.rc == 0, r
    f = info_fields(r.out)
    assert f["kind"] == "view"
    assert f["size"] == "4100"
    assert f["data size"] == "4096"
    assert f["lock word"] == "2"
    assert "2 readers" in f["lock"], f
    assert f["companion"] == "present"
    pid = dead_pid()
    set_lock_word(shm_name, -pid)
    f = info_fields(mb("info", shm_name).out)
    assert f["lock word"] == str(-pid)
    assert "write-locked by pid %d (no such process)" % pid in f["lock"], f
    set_lock_word(shm_name, 0)
    f = info_fields(mb("info", shm_name).out)
    assert f["lock"] in ("free", "lock free"), f
    e = json.loads(mb("info", "--json", shm_name).out)
    assert e["kind"] == "view" and e["companion"] is True
    assert e["view"] == {"data_size": 4096, "lock_word": 0, "state": "free", "readers": 0, "writer_waiting": False,
                         "writer_pid": None, "writer_alive": None}


def test_info_unknown(mb, shm_name):
    fd = os.open(shm_path(shm_name), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
    os.write(fd, b"abc")
    os.close(fd)
    r = mb("info", shm_name)
    assert r.rc == 0, r
    f = info_fields(r.out)
    assert (f["kind"], f["size"], f["mode"]) == ("unknown", "3", "0640"), f
    e = json.loads(mb("info", "--json", shm_name).out)
    assert (e["kind"], e["size"], e["companion"]) == ("unknown", 3, False)


def test_info_on_a_busy_ring_is_never_corrupt(mb, cli, shm_name):
    """info reads head and tail while a producer and a consumer move them:
    a moving head must never look like a corrupt header or frame."""
    mem, ring = make_ring(shm_name, 256)
    with mem, ring:
        ring.close()
        producer = subprocess.Popen(
            "seq 1 10000000 | %s push %s" % (shlex.quote(str(cli)), shm_name),
            shell=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True)
        consumer = popen_tool(cli, "pop", "--follow", "--raw", shm_name,
                              stdout=subprocess.DEVNULL)
        try:
            # Bounded by counts: under memcheck on a busy machine one info
            # can take seconds; the deadline only stops a stuck stream.
            samples, moving = 0, set()
            deadline = time.monotonic() + 300
            while (samples < 5 or len(moving) < 3) and time.monotonic() < deadline:
                r = mb("info", "--json", shm_name)
                assert r.rc == 0, r
                state = json.loads(r.out)["ring"]
                assert state["valid"], state
                assert state["used"] <= 256 and state["free"] == 256 - state["used"], state
                moving.add(state["head"])
                samples += 1
        finally:
            os.killpg(producer.pid, signal.SIGTERM)
            consumer.send_signal(signal.SIGTERM)
            producer.wait(timeout=20)
            finish(consumer)
        assert samples >= 3 and len(moving) >= 3, (samples, moving)


@pytest.mark.parametrize("head,tail,data,reason", [
    (100, 50, b"", "head 100 is past tail 50"),
    (0, 9000, b"", "used 9000 exceeds capacity 4096"),
    (0, 160, struct.pack("=I", 36) + b"a" * 36 + struct.pack("=I", 36) + b"b" * 36
     + struct.pack("=I", 36) + b"c" * 36 + struct.pack("=I", 5000),
     r"frame at index 120 claims 500[04] bytes, only (40|36) published"),
])
def test_info_corrupt_ring(mb, shm_name, head, tail, data, reason):
    assert mb("create", "--ring", "4096", shm_name).rc == 0
    write_at(shm_name, 0, HEADER.pack(head, tail, 4096) + data)
    r = mb("info", shm_name)
    assert r.rc == 7, r
    f = info_fields(r.out)  # still printed
    assert f["kind"] == "ring"
    assert (f["head"], f["tail"]) == (str(head), str(tail))
    assert re.fullmatch("corrupt: " + reason, f["verdict"]), f
    r = mb("info", "--json", shm_name)
    assert r.rc == 7, r
    e = json.loads(r.out)
    assert e["ring"]["valid"] is False
    assert re.fullmatch(reason, e["ring"]["problem"]), e
    # list shows it too, and exits 0.
    if LISTING:
        r = mb("list")
        assert r.rc == 0, r
        assert re.fullmatch("corrupt: " + reason, list_rows(r.out)[shm_name][6].strip())
    # Inspection wrote nothing.
    assert read_header(shm_name) == (head, tail, 4096)


# ------------------------------------------------------------------ the issue's example

def test_issue_example(cli, shm_name):
    sh = "set -e; M=%s; $M create --ring 4096 %s >/dev/null; echo hello | $M push %s; " \
         "$M pop %s --tag str" % (shlex.quote(str(cli)), shm_name, shm_name, shm_name)
    proc = subprocess.run(["sh", "-c", sh], capture_output=True, timeout=20, env=ENV)
    assert proc.returncode == 0, proc
    assert proc.stdout == b"hello\n", proc
    assert ring_bytes(shm_name) == []


# ------------------------------------------------------------------ push

def test_push_arguments(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        r = mb("push", shm_name, "one", "", "tw\u00f6 \u2713", "last one")
        assert (r.rc, r.raw, r.err) == (0, b"", ""), r
        assert drain(ring, "str") == ["one", "", "tw\u00f6 \u2713", "last one"]


def test_push_stdin_lines(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        r = mb("push", shm_name, input=b"first\n\nthird \xc3\xa9\nno newline")
        assert (r.rc, r.raw) == (0, b""), r
        assert drain(ring, "str") == ["first", "", "third \u00e9", "no newline"]
        r = mb("push", shm_name, input=b"")
        assert r.rc == 0, r
        assert ring.is_empty()
        r = mb("push", shm_name, input=b"\n")
        assert r.rc == 0, r
        assert drain(ring, "str") == [""]


def test_push_raw(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        blob = bytes(range(256)) + b"\n\nend\n"
        r = mb("push", "--raw", shm_name, input=blob)
        assert r.rc == 0, r
        assert drain(ring) == [blob]  # the whole of stdin, one message
        r = mb("push", "--raw", shm_name, "abc", "", "d e")
        assert r.rc == 0, r
        assert drain(ring) == [b"abc", b"", b"d e"]
        r = mb("push", "--raw", shm_name, input=b"")
        assert r.rc == 0, r
        assert drain(ring) in ([b""], []), "empty stdin: one empty message (or none)"


@pytest.mark.parametrize("tag,text,payload", [
    ("bool", "true", b"\x01"),
    ("bool", "false", b"\x00"),
    ("bool", "1", b"\x01"),
    ("bool", "0", b"\x00"),
    ("u8", "200", b"\xc8"),
    ("i32", "-2", struct.pack("=i", -2)),
    ("u32", "4000000000", struct.pack("=I", 4000000000)),
    ("f32", "1.5", struct.pack("=f", 1.5)),
    ("int", "-9007199254740993", struct.pack("=q", -9007199254740993)),
    ("i64", "9223372036854775807", struct.pack("=q", 2**63 - 1)),
    ("u64", "18446744073709551615", struct.pack("=Q", 2**64 - 1)),
    ("float", "0.1", struct.pack("=d", 0.1)),
    ("f64", "-1e+300", struct.pack("=d", -1e300)),
    ("float", "inf", struct.pack("=d", float("inf"))),
    ("str", "h\u00e9llo", str_frame("h\u00e9llo")),
])
def test_push_tag_encoding(mb, shm_name, tag, text, payload):
    """Each --tag writes the documented encoding (membridge(7))."""
    mem, ring = make_ring(shm_name)
    with mem, ring:
        r = mb("push", "--tag", tag, "--", shm_name, text)
        assert r.rc == 0, r
        assert drain(ring) == [payload]


def test_push_tags_read_by_python(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        assert mb("push", "--tag", "int", "--", shm_name, "42", "-7").rc == 0
        assert drain(ring, "int") == [42, -7]
        assert mb("push", "--tag", "float", shm_name, input=b"1.5\n-0.25\nnan\n").rc == 0
        got = drain(ring, "float")
        assert got[:2] == [1.5, -0.25] and got[2] != got[2]
        assert mb("push", "--tag", "bool", shm_name, "true", "false").rc == 0
        assert drain(ring, "bool") == [True, False]
        assert mb("push", "--tag", "str", shm_name, "s").rc == 0
        assert drain(ring, "str") == ["s"]


@pytest.mark.parametrize("tag,bad", [
    ("int", "12x"), ("int", "1.5"), ("int", "99999999999999999999"), ("u8", "256"),
    ("u8", "-1"), ("i32", "2147483648"), ("u32", "-1"), ("u64", "-5"),
    ("bool", "yes"), ("float", "abc"), ("f64", ""),
])
def test_push_bad_value(mb, shm_name, tag, bad):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        r = mb("push", "--tag", tag, "--", shm_name, "1", bad, "0")
        error(r, 2, "push")
        if bad:
            assert bad in r.err, r
        # The message before the bad one was pushed, the one after not.
        assert len(drain(ring)) == 1


def test_push_bad_tag(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        r = mb("push", "--tag", "complex", shm_name, "1")
        assert r.rc == 2, r
        assert ring.is_empty()


def test_push_invalid_utf8(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        r = mb("push", shm_name, input=b"ok\n\xff\xfe bad\nafter\n")
        error(r, 2, "push", shm_name)
        assert "--raw" in r.err, r
        assert drain(ring, "str") == ["ok"]
        r = mb("push", shm_name, b"\xc3")
        assert r.rc == 2, r
        assert ring.is_empty()


def test_push_too_big(mb, shm_name):
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        r = mb("push", "--raw", shm_name, "x" * 60)  # 4 + 60: fits exactly
        assert r.rc == 0, r
        assert drain(ring) == [b"x" * 60]
        r = mb("push", "--raw", shm_name, "x" * 61)
        error(r, 2, "push", shm_name)
        r = mb("push", shm_name, "x" * 57)  # str: 4 + 4 + 57 > 64
        assert r.rc == 2, r
        assert ring.is_empty()


def test_push_full_ring_times_out(mb, shm_name):
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        t0 = time.monotonic()
        r = mb("push", "--raw", "--timeout", "0.1", shm_name, "a" * 28, "b" * 28, "c" * 28)
        elapsed = time.monotonic() - t0
        error(r, 5, "push", shm_name)
        assert elapsed >= 0.09
        assert drain(ring) == [b"a" * 28, b"b" * 28]


def test_push_waits_for_room(cli, shm_name):
    """Without --timeout a push into a full ring waits until the consumer pops."""
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        assert ring.push(b"a" * 60)
        proc = popen_tool(cli, "push", "--raw", shm_name, "b" * 60)
        try:
            assert ring.pop(timeout=5) == b"a" * 60
            assert ring.pop(timeout=10) == b"b" * 60
        finally:
            rc, out, err = finish(proc)
        assert rc == 0, err


def test_push_not_a_ring(mb, shm_name):
    make_view(shm_name, 64)
    before = shm_path(shm_name).read_bytes()
    r = mb("push", shm_name, "x")
    error(r, 7, "push", shm_name)
    assert shm_path(shm_name).read_bytes() == before


# ------------------------------------------------------------------ pop

def test_pop_default_escaped(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        assert ring.push("hi")
        r = mb("pop", shm_name)
        assert (r.rc, r.raw) == (0, b"\\x02\\x00\\x00\\x00hi\n"), r
        assert ring.push(b"a\\b\n\x7f~ \xff\x00Z")
        r = mb("pop", shm_name)
        # \xHH: either case of hex digits
        assert r.rc == 0, r
        assert r.raw.lower() == b"a\\\\b\\x0a\\x7f~ \\xff\\x00z\n", r
        assert r.raw.endswith(b"Z\n"), r
        assert ring.is_empty()


def test_pop_raw_byte_exact(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        blob = bytes(range(256)) * 3
        assert ring.push(blob) and ring.push(b"") and ring.push(b"\n")
        r = mb("pop", "--raw", shm_name)
        assert (r.rc, r.raw) == (0, blob), r
        r = mb("pop", "--raw", "-n", "2", shm_name)
        assert (r.rc, r.raw) == (0, b"\n"), r
        assert ring.is_empty()


def test_pop_tags(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        for v in ("h\u00e9llo w\u00f6rld", ""):
            assert ring.push(v)
        r = mb("pop", "--tag", "str", "--count", "2", shm_name)
        assert (r.rc, r.raw) == (0, "h\u00e9llo w\u00f6rld\n\n".encode()), r
        for v in (0, -5, 2**63 - 1, -2**63):
            assert ring.push(v)
        r = mb("pop", "--tag", "int", "-n", "4", shm_name)
        assert (r.rc, r.out) == (0, "0\n-5\n9223372036854775807\n-9223372036854775808\n"), r
        for v in (0.1, 1e100, -2.5, float("inf"), float("-inf"), float("nan"), 1 / 3):
            assert ring.push(v)
        r = mb("pop", "--tag", "float", "-n", "7", shm_name)
        assert (r.rc, r.out) == (0, "0.1\n1e+100\n-2.5\ninf\n-inf\nnan\n0.3333333333333333\n"), r
        for v in (True, False):
            assert ring.push(v)
        r = mb("pop", "--tag", "bool", "-n", "2", shm_name)
        assert (r.rc, r.out) == (0, "true\nfalse\n"), r
        for tag, payload, text in (("u8", b"\xfe", "254"), ("i32", struct.pack("=i", -3), "-3"),
                                   ("u32", struct.pack("=I", 2**32 - 1), "4294967295"),
                                   ("u64", struct.pack("=Q", 2**64 - 1), "18446744073709551615"),
                                   ("f32", struct.pack("=f", 1.5), "1.5"),
                                   ("i64", struct.pack("=q", 7), "7"),
                                   ("f64", struct.pack("=d", 0.5), "0.5")):
            assert ring.push(payload)
            r = mb("pop", "--tag", tag, shm_name)
            assert (r.rc, r.out) == (0, text + "\n"), (tag, r)
        assert ring.is_empty()


def test_pop_count(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        for i in range(3):
            assert ring.push("m%d" % i)
        r = mb("pop", "--tag", "str", "--count", "2", shm_name)
        assert (r.rc, r.out) == (0, "m0\nm1\n"), r
        assert drain(ring, "str") == ["m2"]
        for i in range(3):
            assert ring.push("m%d" % i)
        r = mb("pop", "--tag", "str", "-n", "5", shm_name)
        assert r.rc == 5, r  # the wait for the 4th ran out
        assert r.out == "m0\nm1\nm2\n"
        assert ring.is_empty()
        for bad in ("-1", "x", "1.5"):
            assert mb("pop", "-n", bad, shm_name).rc == 2, bad


def test_pop_empty(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        t0 = time.monotonic()
        r = mb("pop", shm_name)
        error(r, 5, "pop", shm_name)
        assert time.monotonic() - t0 < 5
        for t in ("150ms", "0.15s", "150000us", "150000000ns", "0.15"):
            t0 = time.monotonic()
            r = mb("pop", "--timeout", t, shm_name)
            assert r.rc == 5, (t, r)
            assert time.monotonic() - t0 >= 0.14, t


@pytest.mark.parametrize("t", ["-1", "abc", "1.5x", "--", "1e", ""])
def test_pop_bad_duration(mb, shm_name, t):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        assert ring.push("kept")
        r = mb("pop", "--timeout", t, shm_name)
        assert r.rc == 2, r
        assert drain(ring, "str") == ["kept"]


def test_pop_waits(cli, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        proc = popen_tool(cli, "pop", "--tag", "str", "--timeout", "10", shm_name)
        assert ring.push("late", timeout=5)
        rc, out, err = finish(proc)
        assert (rc, out) == (0, b"late\n"), err


def test_pop_follow_ends_on_timeout(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        for i in range(3):
            assert ring.push(i)
        t0 = time.monotonic()
        r = mb("pop", "--follow", "--tag", "int", "--timeout", "0.2", shm_name)
        assert (r.rc, r.out) == (0, "0\n1\n2\n"), r
        assert time.monotonic() - t0 >= 0.19
        r = mb("pop", "-f", "--tag", "int", "--timeout", "0.1", shm_name)
        assert (r.rc, r.raw) == (5, b""), r  # nothing at all arrived


def test_pop_undecodable(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        assert ring.push(b"\x01\x02")  # too short for an int
        assert ring.push(7)
        r = mb("pop", "--tag", "int", shm_name)
        error(r, 7, "pop", shm_name)
        assert "\\x01\\x02" in r.err, r
        # Consumed; the next one is intact.
        assert drain(ring, "int") == [7]
        assert ring.push(b"\x03\x00\x00\x00a\xffb")  # str, invalid UTF-8
        r = mb("pop", "--tag", "str", shm_name)
        assert r.rc == 7, r
        assert "\\xff" in r.err.lower(), r
        assert ring.is_empty()
        assert ring.push(b"\x05\x00\x00\x00ab")  # str, length past the payload
        r = mb("pop", "--tag", "str", shm_name)
        assert r.rc == 7, r
        assert ring.is_empty()


def test_pop_follow_undecodable_continues(mb, shm_name):
    mem, ring = make_ring(shm_name)
    with mem, ring:
        assert ring.push(1) and ring.push(b"\x09") and ring.push(3)
        r = mb("pop", "--follow", "--tag", "int", "--timeout", "0.1", shm_name)
        assert (r.rc, r.out) == (7, "1\n3\n"), r
        assert "\\x09" in r.err, r
        assert ring.is_empty()


def test_pop_not_a_ring(mb, shm_name):
    make_view(shm_name, 64)
    error(mb("pop", shm_name), 7, "pop", shm_name)


def test_pop_head_leaves_the_rest(cli, shm_name):
    """`pop --follow | head -1`: what the tool could not write stays in the ring.

    Messages larger than a pipe buffer: the write of the second one cannot
    complete before head exits, so the second and third must stay."""
    msgs = [c * 200_000 for c in "abc"]
    mem, ring = make_ring(shm_name, 1 << 20)
    with mem, ring:
        for m in msgs:
            assert ring.push(m)
        sh = "%s pop --follow --tag str --timeout 2 %s | head -1" % (
            shlex.quote(str(cli)), shm_name)
        proc = subprocess.run(["sh", "-c", sh], capture_output=True, timeout=20, env=ENV)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == (msgs[0] + "\n").encode()
        left = drain(ring, "str")
        assert len(left) >= 1
        assert left == msgs[1:], [m[:3] for m in left]


# ------------------------------------------------------------------ two processes

N_STREAM = 10_000


def stream_text(i):
    return "" if i % 1000 == 999 else "line %d \u00e9\u2713 %s" % (i, "x" * (i % 50))


def finish_fed(proc, feeder):
    """finish() of a Popen whose stdin a feed() thread writes and closes."""
    feeder.join(20)
    proc.stdin = None  # closed by the feeder; communicate() must not touch it
    return finish(proc)


def feed(proc, data):
    def write():
        try:
            proc.stdin.write(data)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
    t = threading.Thread(target=write, daemon=True)
    t.start()
    return t


def test_stream_tool_push_to_python(cli, shm_name):
    """10,000 lines through `membridge push` into a 4 KiB ring; Python drains."""
    texts = [stream_text(i) for i in range(N_STREAM)]
    data = ("\n".join(texts) + "\n").encode()
    assert len(data) > 16 * 4096  # the producer has to wait for room
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        proc = popen_tool(cli, "push", "--timeout", "10", shm_name, stdin=subprocess.PIPE)
        t = feed(proc, data)
        try:
            for i, want in enumerate(texts):
                got = ring.pop("str", timeout=10)
                assert got == want, "message %d" % i
        finally:
            rc, out, err = finish_fed(proc, t)
        assert (rc, out) == (0, b""), err
        assert ring.pop(timeout=0.05) is None


def test_stream_tool_push_int_to_python(cli, shm_name):
    values = [i * 1_000_003 - 5_000_000_000 for i in range(N_STREAM - 2)] + [2**63 - 1, -2**63]
    data = "".join("%d\n" % v for v in values).encode()
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        proc = popen_tool(cli, "push", "--tag", "int", "--timeout", "10", shm_name,
                          stdin=subprocess.PIPE)
        t = feed(proc, data)
        try:
            got = []
            while len(got) < len(values):
                batch = ring.pop_many(512, "int")
                if not batch:
                    v = ring.pop("int", timeout=10)
                    assert v is not None, "stalled after %d" % len(got)
                    batch = [v]
                got.extend(batch)
            assert got == values
        finally:
            rc, out, err = finish_fed(proc, t)
        assert rc == 0, err
        assert ring.is_empty()


def test_stream_python_push_to_tool_pop(cli, shm_name):
    """Python pushes 10,000 str into a 4 KiB ring; `pop --follow` prints them."""
    texts = [stream_text(i) for i in range(N_STREAM)]
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        proc = popen_tool(cli, "pop", "--follow", "--tag", "str", "--timeout", "2", shm_name)
        chunks = []
        reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)
        reader.start()
        try:
            for i, text in enumerate(texts):
                assert ring.push(text, timeout=10), "no room for message %d" % i
        finally:
            rc = proc.wait(timeout=20)
            reader.join(5)
            err = proc.stderr.read().decode("utf-8", "replace")
        assert rc == 0, err
        lines = b"".join(chunks).decode().split("\n")
        assert lines[-1] == ""
        lines = lines[:-1]
        assert len(lines) == N_STREAM
        for i, (got, want) in enumerate(zip(lines, texts)):
            assert got == want, "line %d" % i
        assert ring.is_empty()


# ------------------------------------------------------------------ watch

def test_watch_pipe(mb, shm_name):
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        assert ring.push(b"x" * 1020)  # used 1024 of 4096, 1 pending
        t0 = time.monotonic()
        r = mb("watch", "--count", "2", "--interval", "0.1", shm_name)
        assert r.rc == 0, r
        assert time.monotonic() - t0 < 10
        lines = r.out.splitlines()
        assert len(lines) == 2, r
        assert "\r" not in r.out
        for line in lines:
            assert re.match(r"\d\d:\d\d:\d\d ", line), line
            assert "used 1024/4096 (25%)" in line, line
            assert re.search(r"\b1 pending\b", line), line
        # Rates need a previous sample: the second line has them.
        assert re.search(r"\bin\b.*/s.*\bout\b.*msg/s", lines[1]), lines[1]
        assert ring.pop() == b"x" * 1020  # watching consumed nothing


def test_watch_survives_truncation(cli, shm_name):
    """A peer truncating the segment under watch's mapping would raise SIGBUS
    on the next read: the tool reports it instead of dying."""
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        assert ring.push(b"x" * 100)
        rc, out, err = watch_and(cli, shm_name, [b"used 104/4096"],
                                 lambda proc: os.truncate(shm_path(shm_name), 0),
                                 "--count", "3", "--interval", "0.3")
        assert rc == 0, (rc, out, err)
        lines = out.decode().splitlines()
        assert len(lines) == 2 and all(
            "corrupt: the segment shrank while being read" in line for line in lines), lines


def test_watch_terminal_redraws(cli, shm_name):
    mem, ring = make_ring(shm_name, 4096)
    with mem, ring:
        assert ring.push(b"x" * 1020)
        master, slave = os.openpty()
        try:
            proc = popen_tool(cli, "watch", "-n", "3", "--interval", "0.1", shm_name,
                              stdout=slave, stderr=slave)
            os.close(slave)
            slave = None
            out = b""
            deadline = time.monotonic() + 120  # a stuck watch only; it exits after 3 frames
            while time.monotonic() < deadline:
                ready, _, _ = select.select([master], [], [], 0.5)
                if not ready:
                    if proc.poll() is not None:
                        break
                    continue
                try:
                    chunk = os.read(master, 4096)
                except OSError as e:  # EIO: the other side is closed
                    assert e.errno == errno.EIO
                    break
                if not chunk:
                    break
                out += chunk
            rc = proc.wait(timeout=5)
        finally:
            os.close(master)
            if slave is not None:
                os.close(slave)
        assert rc == 0, out
        assert b"\r" in out, out
        assert b"used 1024/4096 (25%)" in out, out


def test_watch_not_a_ring(mb, shm_name):
    make_view(shm_name, 64)
    error(mb("watch", "--count", "1", "--interval", "0.1", shm_name), 7, "watch", shm_name)


def test_watch_interrupt_ends_normally(cli, shm_name):
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        rc, out, err = watch_and(cli, shm_name, [b"used 0/64"],
                                 lambda proc: proc.send_signal(signal.SIGINT),
                                 "--interval", "0.1")
        assert rc == 0, err


# ------------------------------------------------------------------ unlock

def test_unlock_free(mb, shm_name):
    make_view(shm_name, 64)
    r = mb("unlock", shm_name)
    assert r.rc == 0, r
    assert r.out == "lock of %s is free; nothing to do\n" % shm_name
    assert read_lock_word(shm_name) == 0


DIE_HOLDING_WRITE_LOCK = """
    import os, sys
    from membridge import SharedMemory
    mem = SharedMemory.open(sys.argv[1])
    view = mem.map()
    view.lock_write(timeout=5)
    print(os.getpid(), flush=True)
    os._exit(0)
"""


def test_unlock_dead_writer(mb, shm_name):
    """A process took the write lock through the library and died holding it."""
    make_view(shm_name, 64)
    pid = int(run_python(DIE_HOLDING_WRITE_LOCK, shm_name).stdout)
    assert read_lock_word(shm_name) == -pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    r = mb("unlock", shm_name.lstrip("/"))
    assert r.rc == 0, r
    assert r.out == "freed the lock of %s held by dead pid %d\n" % (shm_name, pid)
    assert read_lock_word(shm_name) == 0
    # The Python package can take the lock again.
    with SharedMemory.open(shm_name) as mem, mem.map() as view:
        view.lock_write(timeout=1)
        view.unlock()


@pytest.mark.parametrize("word", ["self", 3, -1, "dead-unrecorded"])
def test_unlock_refused(mb, shm_name, word):
    """A live writer, readers, an anonymous writer, and a dead pid written
    into the word by hand: the library recognises a dead writer only by its
    record in the companion (membridge_view_break_lock(3)), so that one
    cannot be judged either."""
    make_view(shm_name, 64)
    value = {"self": -os.getpid(), "dead-unrecorded": -dead_pid()}.get(word, word)
    set_lock_word(shm_name, value)
    r = mb("unlock", shm_name)
    error(r, 8, "unlock", shm_name)
    assert "--force" in r.err, r
    assert read_lock_word(shm_name) == value
    if word == "self":
        assert str(os.getpid()) in r.err, r
    if word == 3:
        assert "3 readers" in r.err, r


def test_unlock_refused_python_read_lock(mb, shm_name):
    with SharedMemory.create(shm_name, 64) as mem, mem.map() as view:
        view.lock_read()
        r = mb("unlock", shm_name)
        error(r, 8, "unlock", shm_name)
        assert read_lock_word(shm_name) == 1
        view.unlock()
        assert mb("unlock", shm_name).rc == 0


@pytest.mark.parametrize("word,held", [
    (5, "5 readers"), (-1, "anonymous"), ("self", "(alive)"), ("dead", "(no such process)")])
def test_unlock_force(mb, shm_name, word, held):
    make_view(shm_name, 64)
    value = {"self": -os.getpid(), "dead": -dead_pid()}.get(word, word)
    set_lock_word(shm_name, value)
    r = mb("unlock", "--force", shm_name)
    assert r.rc == 0, r
    assert r.out.startswith("forced the lock of %s free (it held: " % shm_name), r
    assert held in r.out, r
    assert read_lock_word(shm_name) == 0


def test_unlock_ring(mb, shm_name):
    assert mb("create", "--ring", "64", shm_name).rc == 0
    before = shm_path(shm_name).read_bytes()
    for args in (["unlock"], ["unlock", "--force"]):
        r = mb(*args, shm_name)
        error(r, 7, "unlock", shm_name)
    assert shm_path(shm_name).read_bytes() == before


# ------------------------------------------------------------------ missing segments

@pytest.mark.parametrize("args", [
    ["info"], ["info", "--json"], ["push", "--raw"], ["pop"], ["rm"],
    ["watch", "--count", "1"], ["unlock"], ["unlock", "--force"]])
def test_missing_segment(mb, shm_name, args):
    r = mb(*args, shm_name, input=b"x\n")
    error(r, 3, args[0], shm_name)
    assert not shm_path(shm_name).exists()
    assert not wait_path(shm_name).exists()


# ------------------------------------------------------------------ interrupted waits

def wait_blocked(proc, name, timeout=10):
    """Until the tool has the segment mapped and sleeps."""
    deadline = time.monotonic() + timeout
    target = str(shm_path(name))
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the tool exited early"
        try:
            maps = pathlib.Path("/proc/%d/maps" % proc.pid).read_text()
            stat_line = pathlib.Path("/proc/%d/stat" % proc.pid).read_text()
            state = stat_line.rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            maps, state = "", ""
        if any(line.endswith(" " + target) for line in maps.splitlines()) and state == "S":
            return
        time.sleep(0.01)
    raise AssertionError("the tool never blocked on %s" % name)


def test_push_interrupted(cli, shm_name):
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        assert ring.push(b"f" * 60)
        proc = popen_tool(cli, "push", "--timeout", "inf", shm_name, "never")
        try:
            wait_blocked(proc, shm_name)
            proc.send_signal(signal.SIGINT)
        finally:
            rc, out, err = finish(proc)
        assert rc == 130, err
        assert drain(ring) == [b"f" * 60]


def test_pop_terminated(cli, shm_name):
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        proc = popen_tool(cli, "pop", "--timeout", "forever", shm_name)
        try:
            wait_blocked(proc, shm_name)
            proc.send_signal(signal.SIGTERM)
        finally:
            rc, out, err = finish(proc)
        assert (rc, out) == (143, b""), err


def test_pop_follow_interrupt_ends_normally(cli, shm_name):
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        assert ring.push("one")
        proc = popen_tool(cli, "pop", "--follow", "--tag", "str", shm_name)
        try:
            assert proc.stdout.readline() == b"one\n"
            wait_blocked(proc, shm_name)
            proc.send_signal(signal.SIGINT)
        finally:
            rc, out, err = finish(proc)
        assert (rc, out) == (0, b""), err


def test_pop_follow_interrupt_any_time(cli, shm_name):
    """Ctrl-C right after a message was printed (the handler is in place by
    then) ends `pop --follow` too, whatever the tool was doing."""
    mem, ring = make_ring(shm_name, 64)
    with mem, ring:
        for i in range(5):
            assert ring.push("m%d" % i)
            proc = popen_tool(cli, "pop", "--follow", "--tag", "str", shm_name)
            try:
                assert proc.stdout.readline() == b"m%d\n" % i
                proc.send_signal(signal.SIGINT)
            finally:
                rc, out, err = finish(proc, timeout=5)
            assert (rc, out) == (0, b""), (i, err)


# ------------------------------------------------------------------ permissions

@functools.lru_cache(maxsize=None)
def _nobody_copy(builddir):
    """The tool's binary and libmembridge copied where every user can read them."""
    root = pathlib.Path(tempfile.mkdtemp(prefix="membridge-cli-all-users-"))
    tools = builddir / "tools"
    binary = None
    if (tools / "membridge").read_bytes()[:4] == b"\x7fELF":
        binary = tools / "membridge"
    else:
        for cand in (tools / ".libs" / "lt-membridge", tools / ".libs" / "membridge"):
            if cand.exists():
                binary = cand
                break
    assert binary is not None, "no binary behind the libtool wrapper in %s" % tools
    shutil.copy(binary, root / "membridge")
    libdir = root / "lib"
    libdir.mkdir()
    for d in [builddir / "lib" / ".libs",
              *map(pathlib.Path, filter(None, os.environ.get("LD_LIBRARY_PATH", "").split(":")))]:
        for lib in d.glob("libmembridge.so*"):
            if not (libdir / lib.name).exists():
                shutil.copy(lib, libdir / lib.name)
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755)
    return root


@pytest.fixture(scope="session")
def as_nobody(builddir, cli):
    """run(*args) -> Result, running a copy of the tool as nobody."""
    if os.geteuid() != 0:
        pytest.skip("needs root to run the tool as another user")
    root = _nobody_copy(builddir)
    env = dict(ENV, LD_LIBRARY_PATH=str(root / "lib"))

    def drop():
        os.setgroups([])
        os.setresgid(NOBODY, NOBODY, NOBODY)
        os.setresuid(NOBODY, NOBODY, NOBODY)

    def run(*args, **kw):
        return run_tool(root / "membridge", *args, env=env, preexec_fn=drop, cwd="/", **kw)

    r = run("--version")
    assert r.rc == 0, "the copied tool does not run as nobody: %r" % r
    yield run
    shutil.rmtree(root, ignore_errors=True)


@needs_root
@pytest.mark.parametrize("args", [
    ["info"], ["push"], ["pop"], ["rm"], ["watch", "--count", "1"], ["unlock"],
    ["create", "--replace", "--ring", "64"]])
def test_permission_denied(as_nobody, mb, shm_name, args):
    r0 = mb("create", "--ring", "64", shm_name)
    assert r0.rc == 0, r0
    assert mb("push", shm_name, "secret").rc == 0
    r = as_nobody(*args, shm_name, input=b"x\n")
    error(r, 4, args[0], shm_name)
    assert shm_path(shm_name).exists()
    assert os.stat(shm_path(shm_name)).st_size == 64 + 24
    assert drain_str(shm_name) == ["secret"]


def drain_str(name):
    mem, ring = open_ring(name)
    with mem, ring:
        return drain(ring, "str")


@needs_listing
@needs_root
def test_permission_list_and_unlock_view(as_nobody, mb, shm_name):
    assert mb("create", "--view", "64", shm_name).rc == 0
    set_lock_word(shm_name, -dead_pid())
    r = as_nobody("list")
    assert r.rc == 0, r
    row = list_rows(r.out)[shm_name]
    assert row[5] == "unknown" and row[6].strip() == "no read permission", row
    r = as_nobody("unlock", "--force", shm_name)
    error(r, 4, "unlock", shm_name)
    assert read_lock_word(shm_name) != 0


# ------------------------------------------------------------------ bench

def test_bench_quick(mb):
    r = mb("bench", "--quick", timeout=25)
    assert r.rc == 0, r
    low = r.out.lower()
    assert "throughput" in low and "latency" in low, r
    assert "p50" in low and "p99" in low, r
    assert "16" in low and "256" in low, r
    assert re.search(r"\[\d/\d\]", r.err), r  # progress on stderr


def _bench_rings():
    return set(p.name for p in pathlib.Path("/dev/shm").glob("mbbench*"))


def test_bench_interrupted_removes_its_rings(cli):
    before = _bench_rings()
    proc = popen_tool(cli, "bench", "--seconds", "5")
    try:
        assert proc.stderr.readline().startswith(b"[1/4] throughput 16 B")
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
    finally:
        rc, out, err = finish(proc)
    assert rc == 130, (rc, out, err)
    assert _bench_rings() <= before


# ------------------------------------------------------------------ channels

def make_channel(mb, name, *args):
    """A channel made by the tool: (data size, max message, slots) as printed."""
    r = mb("create", "--channel", *args, name)
    assert r.rc == 0, r
    m = re.fullmatch(r"created channel %s: (\d+) data bytes, max message (\d+), (\d+) "
                     r"subscriber slots?, (\d+) bytes, mode 0600\n" % re.escape(name), r.out)
    assert m, r
    assert os.stat(shm_path(name)).st_size == int(m.group(4))
    return tuple(int(g) for g in m.groups()[:3])


def channel_json(mb, name, rc=0):
    r = mb("info", "--json", name)
    assert r.rc == rc, r
    e = json.loads(r.out)
    assert e["kind"] == "channel", e
    return e["channel"]


def channel_until(mb, name, check, timeout=30):
    """Poll info --json until check(channel) holds; returns that channel."""
    deadline = time.monotonic() + timeout
    while True:
        ch = channel_json(mb, name)
        if check(ch):
            return ch
        assert time.monotonic() < deadline, "never reached: %r" % ch
        time.sleep(0.01)


def test_channel_create_and_inspect(mb, shm_name):
    assert make_channel(mb, shm_name, "8K", "--subscribers", "3") == (8192, 4080, 3)
    f = info_fields(mb("info", shm_name).out)
    assert (f["kind"], f["version"], f["data size"], f["max message"], f["slots"]) == \
        ("channel", "1", "8192", "4080", "3"), f
    assert (f["published"], f["used"], f["publisher"], f["subscribers"], f["verdict"]) == \
        ("0", "0 (0%)", "none", "0", "ok"), f
    ch = channel_json(mb, shm_name)
    assert ch == {"supported": True, "problem": None, "version": 1, "data_size": 8192,
                  "max_message": 4080, "slots": 3, "tail": 0, "published": 0, "used": 0,
                  "publisher_pid": None, "publisher_alive": None, "active": 0,
                  "subscribers": []}
    if not LISTING:
        return
    assert list_json(mb)[shm_name]["channel"] == ch
    row = list_rows(mb("list").out)[shm_name]
    assert row[5:] == ["channel", "data 8192, used 0 (0%), 0 published, 0 of 3 subscribers, "
                       "no publisher"], row


def test_channel_subscribers_lag_and_dead_processes(mb, cli, shm_name):
    """A stopped subscriber's lag in messages and bytes; a subscriber and a
    publisher killed with SIGKILL show as not alive, and their places are
    taken over by the next pop and push."""
    make_channel(mb, shm_name, "4K", "--subscribers", "1")
    sub = popen_tool(cli, "pop", "-n", "5", "--timeout", "30", shm_name)
    try:
        ch = channel_until(mb, shm_name, lambda ch: ch["active"] == 1)
        assert ch["subscribers"] == [{"slot": 0, "pid": sub.pid, "alive": True, "active": True,
                                      "evicted": False, "lag": 0, "lag_bytes": 0}]
        os.kill(sub.pid, signal.SIGSTOP)
        r = mb("push", "--raw", shm_name, "a" * 10, "b" * 100)
        assert r.rc == 0, r
        ch = channel_json(mb, shm_name)
        (slot,) = ch["subscribers"]
        assert (slot["lag"], ch["published"]) == (2, 2), ch
        assert slot["lag_bytes"] == ch["used"] == ch["tail"] > 110, ch
        os.kill(sub.pid, signal.SIGKILL)
    finally:
        os.kill(sub.pid, signal.SIGCONT)
        sub.wait(timeout=20)
    # The slot stays until someone needs it; its process is gone.
    (slot,) = channel_json(mb, shm_name)["subscribers"]
    assert (slot["pid"], slot["alive"]) == (sub.pid, False), slot
    feeder = popen_tool(cli, "push", shm_name, stdin=subprocess.PIPE)
    try:
        ch = channel_until(mb, shm_name, lambda ch: ch["publisher_pid"] == feeder.pid)
        assert ch["publisher_alive"] is True
        r = mb("push", shm_name, "x")
        error(r, 9, "push", shm_name)
        assert str(feeder.pid) in r.err, r
        feeder.kill()
    finally:
        feeder.wait(timeout=20)
    ch = channel_json(mb, shm_name)
    assert (ch["publisher_pid"], ch["publisher_alive"]) == (feeder.pid, False), ch
    # A new subscriber takes the dead one's only slot; a new publisher the
    # dead publisher's place, and the stream goes on from its sequence.
    sub = popen_tool(cli, "pop", "--tag", "str", "--timeout", "30", shm_name)
    try:
        channel_until(mb, shm_name, lambda ch: [s["pid"] for s in ch["subscribers"]] == [sub.pid])
        r = mb("push", shm_name, "after the takeover")
        assert r.rc == 0, r
    finally:
        rc, out, err = finish(sub)
    assert (rc, out) == (0, b"after the takeover\n"), err
    ch = channel_json(mb, shm_name)
    assert (ch["published"], ch["publisher_pid"], ch["subscribers"]) == (3, None, []), ch


@pytest.mark.parametrize("field,value,code", [
    ("version", 2, 10),        # a newer layout
    ("flags", 1, 10),          # a policy of a newer library
    ("subscribers", 0, 7),     # a header no channel can have
    ("data_size", 4096 + 64, 7),
    ("magic", 0x11111111, 7),  # not a channel at all
])
def test_channel_corrupt_header(mb, shm_name, field, value, code):
    """A header written with Python's mmap: push, pop and watch refuse with
    the documented status and write nothing; list still lists it."""
    make_channel(mb, shm_name, "4K")
    fd = os.open(shm_path(shm_name), os.O_RDWR)
    try:
        with mmap.mmap(fd, 0) as m:
            header = dict(zip(("magic", "version", "flags", "subscribers", "data_size",
                               "max_message"), CHANNEL.unpack_from(m, 0)))
            assert (header["version"], header["flags"], header["data_size"]) == (1, 0, 4096)
            header[field] = value
            CHANNEL.pack_into(m, 0, *header.values())
    finally:
        os.close(fd)
    before = shm_path(shm_name).read_bytes()
    for args in (["push", shm_name, "x"], ["pop", shm_name],
                 ["watch", "-n", "1", shm_name]):
        r = mb(*args)
        error(r, code, args[0], shm_name)
        if code == 10:
            assert "newer" in r.err, r
    r = mb("info", shm_name)
    if code == 10:
        assert r.rc == 10, r
        f = info_fields(r.out)
        assert f["kind"] == "channel", f
        assert f["verdict"].startswith("unsupported: a channel layout newer than"), f
        e = json.loads(mb("info", "--json", shm_name).out)
        assert e["channel"]["supported"] is False, e
    else:
        # Not usable as a channel, whatever else it may look like.
        f = info_fields(r.out)
        assert f["kind"] != "channel" or f["verdict"] != "ok", r
    assert mb("list").rc == (0 if LISTING else 1)
    assert shm_path(shm_name).read_bytes() == before


def test_channel_corrupt_tail(mb, shm_name):
    """A tail no publisher writes (off the payload alignment): the publisher,
    a subscriber and info all refuse it with status 7."""
    make_channel(mb, shm_name, "4K")
    fd = os.open(shm_path(shm_name), os.O_RDWR)
    try:
        with mmap.mmap(fd, 0) as m:
            struct.pack_into("=Q", m, CHANNEL_TAIL, 100)
    finally:
        os.close(fd)
    for args in (["push", shm_name, "x"], ["pop", shm_name]):
        error(mb(*args), 7, args[0], shm_name)
    # info says what is wrong, and claims nothing.
    ch = channel_json(mb, shm_name, rc=7)
    assert ch == {"supported": True, "problem": "corrupt shared state (ring or channel "
                  "header, frame or record, lock word)"}, ch
    # Neither stayed: no publisher, no subscriber.
    with open(shm_path(shm_name), "rb") as f:
        raw = f.read()
    assert struct.unpack_from("=Q", raw, CHANNEL_OWNER)[0] == 0
    for i in range(8):
        assert struct.unpack_from("=Q", raw, CHANNEL_SLOTS + 128 * i + 8)[0] == 0, i


def test_channel_watch_survives_truncation(mb, cli, shm_name):
    make_channel(mb, shm_name, "4K")
    rc, out, err = watch_and(cli, shm_name, [b"used 0/4096 (0%)", b"0 published, 0 subscribers"],
                             lambda proc: os.truncate(shm_path(shm_name), 0),
                             "--count", "3", "--interval", "0.3")
    assert rc == 0, (rc, out, err)
    lines = out.decode().splitlines()
    assert len(lines) == 2 and all(
        "unreadable: the segment shrank while being read" in line for line in lines), lines


def test_channel_message_too_large(mb, shm_name):
    make_channel(mb, shm_name, "1K", "--max-message", "100")
    r = mb("push", "--raw", shm_name, "x" * 100)
    assert r.rc == 0, r
    r = mb("push", "--raw", shm_name, "x" * 101)
    error(r, 2, "push", shm_name)
    assert "at most 100 bytes" in r.err, r
    assert channel_json(mb, shm_name)["published"] == 1


def test_stream_tool_push_to_tool_pop_channel(mb, cli, shm_name):
    """10,000 lines from `membridge push` to `membridge pop` through a 1 KiB
    channel: the publisher waits for the subscriber, nothing is lost."""
    texts = [stream_text(i) for i in range(N_STREAM)]
    data = ("\n".join(texts) + "\n").encode()
    assert len(data) > 64 * 1024  # the publisher has to wait for room
    make_channel(mb, shm_name, "1K")
    sub = popen_tool(cli, "pop", "-n", N_STREAM, "--tag", "str", "--timeout", "10", shm_name)
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(sub.stdout.read()), daemon=True)
    reader.start()
    try:
        channel_until(mb, shm_name, lambda ch: ch["active"] == 1)
        pub = popen_tool(cli, "push", "--timeout", "10", shm_name, stdin=subprocess.PIPE)
        t = feed(pub, data)
        rc, out, err = finish_fed(pub, t)
        assert (rc, out) == (0, b""), err
    finally:
        rc = sub.wait(timeout=30)
        reader.join(5)
        err = sub.stderr.read().decode("utf-8", "replace")
    assert rc == 0, err
    lines = b"".join(chunks).decode().split("\n")
    assert lines[-1] == ""
    assert lines[:-1] == texts
    ch = channel_json(mb, shm_name)
    assert (ch["published"], ch["subscribers"]) == (N_STREAM, []), ch
