# SPDX-License-Identifier: MIT
"""The examples of the reference document (membridge 1.0's README) run unchanged.

The code blocks below are copied verbatim from that document (the SPEC's
seed/000_569f8d4c4538b9be.txt); when the document is at hand
(MEMBRIDGE_REFERENCE_DOC, or shared/seed/ in a directory above the tests) a test
checks that the copies still match it. The examples use the fixed names
"/demo" and "/spsc". When this process may (root with CAP_SYS_ADMIN), they
run in a private mount namespace with a tmpfs of their own on /dev/shm, so
they can never meet anyone's real segments; otherwise they run on the real
/dev/shm under a lock file, only if both names are free, and the names are
removed afterwards.
"""

import fcntl
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

import membridge

from mbhelpers import SHM_DIR

# ---- verbatim from the reference document, in document order ----

VIEW_PRODUCER = """\
# process A: producer
import membridge

mem  = membridge.SharedMemory.create("/demo", 4096)
view = mem.map()

view.write("Hello from A!")   # str → length-prefixed UTF-8
view.write(42)                # int → i64
view.write(3.14)              # float → f64
view.write(True)              # bool → u8
"""

VIEW_CONSUMER = """\
# process B: consumer
import membridge

mem  = membridge.SharedMemory.open("/demo")   # size auto-detected on Unix
view = mem.map()

msg   = view.read("str")    # → "Hello from A!"
count = view.read("int")    # → 42
ratio = view.read("float")  # → 3.14
flag  = view.read("bool")   # → True

membridge.SharedMemory.remove("/demo")
"""

SPSC_PRODUCER = """\
# producer
import membridge

mem  = membridge.SharedMemory.create("/spsc", 1024 + 24)
ring = mem.spsc()

ring.push("msg-0")
ring.push(["Hello", 0.92, True])   # heterogeneous list in one message
ring.push("__EOF__")
"""

SPSC_CONSUMER = """\
# consumer
import time, membridge

mem  = membridge.SharedMemory.open("/spsc", 1024 + 24)
ring = mem.spsc()

while True:
    msg = ring.pop("str")
    if msg is not None:
        print(msg)
        if msg == "__EOF__":
            break
    else:
        time.sleep(0.01)

membridge.SharedMemory.remove("/spsc")
"""

API_SHARED_MEMORY = """\
SharedMemory.create(name: str, size: int) -> SharedMemory
SharedMemory.open(name: str, size: int | None = None) -> SharedMemory
SharedMemory.remove(name: str) -> None

mem.map()  -> MappedView
mem.spsc() -> SpscRingBuffer
mem.name() -> str
mem.size() -> int
"""

API_MAPPED_VIEW = """\
view.write(data, offset=None)                    # write one value
view.write_mixed(items, offset=None)             # write a heterogeneous list
view.read(tag: str)        -> Any                # read one typed value
view.read_mixed(schema, offset=None) -> list     # read multiple typed values
view.read_range(offset, length) -> bytes
view.read_all()            -> bytes
view.seek(pos: int = 0)
view.tell()                -> int
view.zero()                                      # zero the data area
view.size()                -> int                # data area size (total - 4)
view.reader_count()        -> int
view.is_write_locked()     -> bool
"""

MIXED_VIEW = """\
# write
view.write_mixed([
    ["Hello", "from", "producer"],   # 3 × str
    [0.92, 0.87, 0.95],              # 3 × float
    [True, False, True],             # 3 × bool
])

# read
labels, scores, flags = view.read_mixed([
    ("str",   3),
    ("float", 3),
    ("bool",  3),
])
"""

API_SPSC = """\
ring.push(data) -> bool          # False = buffer full, retry later
ring.pop(tag=None) -> Any | None # None = buffer empty
ring.pop_mixed(schema) -> list | None

ring.used()     -> int
ring.free()     -> int
ring.capacity() -> int
ring.is_empty() -> bool
ring.is_full()  -> bool
"""

MIXED_RING = """\
ring.push(["Normal", 0.92, True])

label, score, flag = ring.pop_mixed([
    ("str",   1),
    ("float", 1),
    ("bool",  1),
])
"""
BLOCKS = [VIEW_PRODUCER, VIEW_CONSUMER, SPSC_PRODUCER, SPSC_CONSUMER, API_SHARED_MEMORY,
          API_MAPPED_VIEW, MIXED_VIEW, API_SPSC, MIXED_RING]


DOC_PATH = pathlib.Path("shared", "seed", "000_569f8d4c4538b9be.txt")


def _reference_doc_candidates():
    """MEMBRIDGE_REFERENCE_DOC, else shared/seed/ beside any directory above
    the source tree or the working directory: a clone, a distcheck tree
    inside it and a pybuild copy all sit at different depths below it."""
    env = os.environ.get("MEMBRIDGE_REFERENCE_DOC")
    if env:
        return [pathlib.Path(env)]
    here = pathlib.Path(__file__).resolve().parent
    dirs = [here, *here.parents, pathlib.Path.cwd(), *pathlib.Path.cwd().parents]
    return list(dict.fromkeys(d / DOC_PATH for d in dirs))


def test_copies_match_the_document():
    candidates = _reference_doc_candidates()
    doc = next((c for c in candidates if c.is_file()), None)
    if doc is None:
        pytest.skip("reference document not found at any of %s (set "
                    "MEMBRIDGE_REFERENCE_DOC to its path)" % ", ".join(map(str, candidates)))
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    assert blocks == BLOCKS


# ---- how the examples are run ----

# Wrappers that run a block's text unchanged (exec of the exact source) and
# then report what the block computed or left for the next step.
RUN_CONSUMER = """\
import sys
src = open(sys.argv[1], encoding="utf-8").read()
g = {"__name__": "__main__"}
exec(compile(src, sys.argv[1], "exec"), g)
print("RESULT", repr([g["msg"], g["count"], g["ratio"], g["flag"]]))
"""

# The write_mixed/read_mixed block writes in one process and reads in
# another (a view's cursor is its own): run its "# write" half with a view
# of a fresh segment, its "# read" half with another process's view.
RUN_FRAGMENT = """\
import sys, membridge
name, size, kind, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
if kind == "create":
    mem = membridge.SharedMemory.create(name, size)
else:
    mem = membridge.SharedMemory.open(name)
g = {"__name__": "__main__", "membridge": membridge}
if sys.argv[5] == "view":
    g["view"] = mem.map()
else:
    g["ring"] = mem.spsc()
exec(compile(open(path, encoding="utf-8").read(), path, "exec"), g)
for var in sys.argv[6:]:
    print(var, repr(g[var]))
"""

RUNNER = """\
set -e
cd "$1"
P="$2"
echo "== view"
"$P" view_producer.py
"$P" run_consumer.py view_consumer.py
echo "== spsc"
"$P" spsc_producer.py
"$P" spsc_consumer.py
echo "== mixed view"
"$P" run_fragment.py /ref-mixed-view 4096 create mixed_write.py view
"$P" run_fragment.py /ref-mixed-view 4096 open mixed_read.py view labels scores flags
"$P" -c 'import membridge; membridge.SharedMemory.remove("/ref-mixed-view")'
echo "== mixed ring"
"$P" run_fragment.py /ref-mixed-ring 1048 create mixed_ring.py ring label score flag
"$P" -c 'import membridge; membridge.SharedMemory.remove("/ref-mixed-ring")'
echo "== left in /dev/shm:"
ls -A /dev/shm | grep -E '^(demo|spsc|ref-mixed-view|ref-mixed-ring)' || true
echo "== end"
"""

EXPECTED = """\
== view
RESULT ['Hello from A!', 42, 3.14, True]
== spsc
msg-0
Hello
__EOF__
== mixed view
labels ['Hello', 'from', 'producer']
scores [0.92, 0.87, 0.95]
flags [True, False, True]
== mixed ring
label 'Normal'
score 0.92
flag True
== left in /dev/shm:
== end
"""

FIXED_NAMES = ["demo", "spsc", "ref-mixed-view", "ref-mixed-ring"]


def _write_scripts(d):
    write_half, read_half = MIXED_VIEW.split("\n# read\n")
    files = {
        "view_producer.py": VIEW_PRODUCER,
        "view_consumer.py": VIEW_CONSUMER,
        "spsc_producer.py": SPSC_PRODUCER,
        "spsc_consumer.py": SPSC_CONSUMER,
        "mixed_write.py": write_half,
        "mixed_read.py": "# read\n" + read_half,
        "mixed_ring.py": MIXED_RING,
        "run_consumer.py": RUN_CONSUMER,
        "run_fragment.py": RUN_FRAGMENT,
        "run.sh": RUNNER,
    }
    for fname, text in files.items():
        (d / fname).write_text(text, encoding="utf-8")


def _private_shm_works():
    if os.environ.get("MEMBRIDGE_TEST_NO_UNSHARE"):
        return False
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         "mount -t tmpfs -o mode=1777,size=8m membridge-test /dev/shm && test ! -e /dev/shm/x"],
        capture_output=True, timeout=30)
    return probe.returncode == 0


def _run_isolated(d):
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs -o mode=1777,size=16m membridge-test /dev/shm && exec sh "$0"/run.sh'
         ' "$0" "$1"', str(d), sys.executable],
        capture_output=True, text=True, timeout=120)


def _run_shared(d):
    lock = open(os.path.join(os.environ.get("TMPDIR", "/tmp"),
                             "membridge-reference-examples-%d.lock" % os.getuid()), "w")
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        taken = [n for n in FIXED_NAMES if (SHM_DIR / n).exists()
                 or (SHM_DIR / (n + ".membridge-wait")).exists()]
        if taken:
            pytest.skip("names used by the reference examples exist in /dev/shm: %r" % taken)
        try:
            return subprocess.run(["sh", str(d / "run.sh"), str(d), sys.executable],
                                  capture_output=True, text=True, timeout=120)
        finally:
            for n in FIXED_NAMES:
                for f in (SHM_DIR / n, SHM_DIR / (n + ".membridge-wait")):
                    try:
                        f.unlink()
                    except FileNotFoundError:
                        pass


def test_reference_examples_run_unchanged(tmp_path):
    _write_scripts(tmp_path)
    if _private_shm_works():
        proc = _run_isolated(tmp_path)
    else:
        proc = _run_shared(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == EXPECTED, proc.stderr


def test_reference_examples_in_one_process_with_unique_names(shm_names):
    """The same blocks with only their names changed, run in this process."""
    view_name, ring_name = shm_names(), shm_names()
    subst = {'"/demo"': repr(view_name), '"/spsc"': repr(ring_name)}

    def rename(src):
        for old, new in subst.items():
            src = src.replace(old, new)
        return src

    g = {}
    exec(rename(VIEW_PRODUCER), g)
    g = {}
    exec(rename(VIEW_CONSUMER), g)
    assert [g["msg"], g["count"], g["ratio"], g["flag"]] == ["Hello from A!", 42, 3.14, True]
    assert not (SHM_DIR / view_name.lstrip("/")).exists()
    exec(rename(SPSC_PRODUCER), {})
    printed = []
    exec(rename(SPSC_CONSUMER), {"print": printed.append})
    assert printed == ["msg-0", "Hello", "__EOF__"]
    assert not (SHM_DIR / ring_name.lstrip("/")).exists()


def _api_names(block):
    """(receiver, method) pairs of a signature listing like "view.read(tag) -> Any"."""
    return re.findall(r"^(\w+)\.(\w+)\(", block, re.M)


@pytest.mark.parametrize("block,cls", [
    (API_SHARED_MEMORY, membridge.SharedMemory),
    (API_MAPPED_VIEW, membridge.MappedView),
    (API_SPSC, membridge.SpscRingBuffer),
])
def test_api_listings_exist(block, cls):
    pairs = _api_names(block)
    assert len(pairs) >= 7
    for _, method in pairs:
        assert callable(getattr(cls, method, None)), "%s.%s" % (cls.__name__, method)


def test_api_listing_names():
    assert [m for _, m in _api_names(API_SHARED_MEMORY)] == [
        "create", "open", "remove", "map", "spsc", "name", "size"]
    assert [m for _, m in _api_names(API_SPSC)] == [
        "push", "pop", "pop_mixed", "used", "free", "capacity", "is_empty", "is_full"]
    assert [m for _, m in _api_names(API_MAPPED_VIEW)] == [
        "write", "write_mixed", "read", "read_mixed", "read_range", "read_all", "seek", "tell",
        "zero", "size", "reader_count", "is_write_locked"]
