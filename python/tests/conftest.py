# SPDX-License-Identifier: MIT
"""Shared fixtures for the membridge test suite.

Every test that touches shared memory takes its segment names from the
``shm_name`` / ``shm_names`` fixtures: they are unique to this pytest
process ("/mbpy-<pid>-<n>", numbers in base 36) and are removed after the test, together with
their "<name>.membridge-wait" companion, whether the test passed or not.
At the end of the session nothing with this process's prefix may be left
in /dev/shm.
"""

import os
import pathlib

import pytest

import membridge

import mbhelpers
from mbhelpers import SHM_DIR, leftovers, new_name, remove_dead_runs, remove_segment_files


@pytest.fixture
def shm_names():
    """A factory of fresh segment names; all of them are cleaned up."""
    made = []

    def make():
        name = new_name()
        made.append(name)
        return name

    yield make
    for name in made:
        remove_segment_files(name)


@pytest.fixture
def shm_name(shm_names):
    """One fresh segment name, cleaned up after the test."""
    return shm_names()


@pytest.fixture(scope="session", autouse=True)
def nothing_left_in_dev_shm():
    """Fails the session if any segment of ours survived its test; first
    clears what dead earlier runs left behind."""
    stale = remove_dead_runs()
    if stale:
        print("removed segments of dead test processes: %r" % stale)
    before = leftovers()
    assert before == [], "stale segments before the run: %r" % before
    yield
    left = leftovers()
    for entry in left:
        try:
            (SHM_DIR / entry).unlink()
        except FileNotFoundError:
            pass
    assert left == [], "tests left segments in /dev/shm: %r" % left


def _find_builddir():
    env = os.environ.get("MEMBRIDGE_BUILDDIR")
    if env:
        return pathlib.Path(env)
    # The in-tree build puts the package in <builddir>/python-build/lib.
    here = pathlib.Path(membridge.__file__).resolve().parent
    for d in here.parents:
        if (d / "examples" / "ring_producer").exists() and (d / "lib").is_dir():
            return d
    return None


@pytest.fixture(scope="session")
def builddir():
    """The top build directory of libmembridge (for the C example programs)."""
    d = _find_builddir()
    if d is None:
        pytest.skip("C build tree not found: set MEMBRIDGE_BUILDDIR")
    return d


@pytest.fixture(scope="session")
def c_examples(builddir):
    """Directory of the built C example programs (libtool wrappers in a build tree)."""
    d = builddir / "examples"
    for prog in ("ring_producer", "ring_consumer", "view_writer", "view_reader"):
        if not os.access(d / prog, os.X_OK):
            pytest.skip("C example %s not built in %s" % (prog, d))
    return d


@pytest.fixture(scope="session")
def srcdir():
    """The top source directory (for examples/), if the tests run from it."""
    d = mbhelpers.TOP_SRCDIR
    if not (d / "examples" / "single_process.py").is_file():
        pytest.skip("examples/*.py not found: set MEMBRIDGE_SRCDIR")
    return d


# Hypothesis: no example database (the source tree may be read-only, as in
# `make distcheck`) and no deadline (shared memory calls can be slowed by
# the machine's load, not by a bug).
try:
    from hypothesis import settings as _hsettings
except ImportError:  # pragma: no cover - the codec tests skip themselves
    pass
else:
    _hsettings.register_profile("membridge", database=None, deadline=None)
    _hsettings.load_profile("membridge")
