# SPDX-License-Identifier: MIT
"""Helpers shared by the membridge tests (names, /dev/shm paths, subprocesses)."""

import itertools
import os
import pathlib
import re
import subprocess
import sys
import textwrap
import time

import pytest

import membridge

SHM_DIR = pathlib.Path("/dev/shm")
WAIT_SUFFIX = ".membridge-wait"


def _base36(n):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, d = divmod(n, 36)
        out = digits[d] + out
        if not n:
            return out


# Numbers in base 36, so that names fit in membridge.NAME_MAX (16 bytes on
# macOS): a pid has at most 5 digits (Linux's pid_max is at most 2^22).
PREFIX = "mbpy-%s-" % _base36(os.getpid())
_counter = itertools.count()

# Run helper processes with the interpreter running the tests (Debian's
# /usr/bin/python3 under `make check`), with the same PYTHONPATH and
# LD_LIBRARY_PATH, so they import the same membridge build.
PYTHON = sys.executable
# The top source directory: MEMBRIDGE_SRCDIR when the tests run from a copy
# (the Debian package build), else the tree these tests are in.
TOP_SRCDIR = pathlib.Path(os.environ.get("MEMBRIDGE_SRCDIR") or
                          pathlib.Path(__file__).resolve().parents[2])


def shm_path(name):
    """The file behind segment `name` on Linux ("/x" -> /dev/shm/x)."""
    return SHM_DIR / name.lstrip("/")


def wait_path(name):
    return SHM_DIR / (name.lstrip("/") + WAIT_SUFFIX)


def new_name():
    return "/%s%s" % (PREFIX, _base36(next(_counter)))


def remove_segment_files(name):
    """Remove a segment and its wait companion, whatever state they are in."""
    for p in (shm_path(name), wait_path(name)):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


def leftovers():
    if not SHM_DIR.is_dir():
        return []
    return sorted(p.name for p in SHM_DIR.iterdir() if p.name.startswith(PREFIX))


def remove_dead_runs():
    """Remove what earlier test processes left when they died before their
    fixtures ran (killed, or aborted by a sanitizer): "mbpy-<pid>-..." of a
    pid that no longer exists. Returns the names removed."""
    removed = []
    if not SHM_DIR.is_dir():
        return removed
    for p in SHM_DIR.iterdir():
        parts = p.name.split("-")
        if len(parts) < 3 or parts[0] != "mbpy" or not (parts[1].isascii() and parts[1].isalnum()):
            continue
        try:
            os.kill(int(parts[1], 36), 0)
            continue
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        try:
            p.unlink()
            removed.append(p.name)
        except FileNotFoundError:
            pass
    return sorted(removed)


def run_python(code, *args, timeout=60, check=True, **kw):
    """Run `code` (dedented) in a fresh interpreter; returns CompletedProcess."""
    proc = subprocess.run(
        [PYTHON, "-c", textwrap.dedent(code), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError("helper failed (exit %d)\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr))
    return proc


def popen_python(code, *args, **kw):
    """Start `code` (dedented) in a fresh interpreter, stdout/stderr piped."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    kw.setdefault("text", True)
    return subprocess.Popen([PYTHON, "-c", textwrap.dedent(code), *map(str, args)], **kw)


def finish(proc, timeout=60):
    """Wait for a text-mode Popen; (returncode, stdout, stderr), killing it on timeout."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("timed out\n" + out + err)
    return proc.returncode, out, err


def readme_examples(*names):
    """The ```python blocks of python/README.md that start "# NAME.py", in
    the order of `names`; the top README.md (when there) must hold the same."""
    def blocks(path):
        alternatives = "|".join(map(re.escape, names))
        return re.findall(r"```python\n(# (?:%s)\.py.*?)```" % alternatives,
                          path.read_text(encoding="utf-8"), re.S)
    readme = TOP_SRCDIR / "python" / "README.md"
    if not readme.is_file():
        pytest.skip("%s not found: set MEMBRIDGE_SRCDIR to the source tree" % readme)
    found = blocks(readme)
    assert [b.split(":")[0] for b in found] == ["# %s.py" % n for n in names]
    main = TOP_SRCDIR / "README.md"
    if main.is_file():
        assert blocks(main) == found, "README.md and python/README.md differ"
    return found


def run_readme_pair(publisher, subscriber, name, guard):
    """Run a README's publisher and subscriber as two processes: the
    publisher first, the subscriber once channel `name` exists (as its
    reader would start them). Both must exit 0; returns the subscriber's
    stdout. `guard` seconds only stop a stuck peer."""
    pub = popen_python(publisher)
    try:
        for _ in range(int(guard / 0.005)):
            try:
                with membridge.SharedMemory.open(name) as m:
                    if m.channel_config() is not None:
                        break
            except (FileNotFoundError, BlockingIOError):
                pass
            if pub.poll() is not None:
                break
            time.sleep(0.005)
        rc, out, err = finish(popen_python(subscriber), guard)
        assert rc == 0, err
    finally:
        prc, pout, perr = finish(pub, guard)
    assert prc == 0, perr
    return out
