#!/bin/sh
# SPDX-License-Identifier: MIT
# The ways users get libmembridge, proven on this machine (as root):
#  1. the Debian packages build from a copy of this git tree, lintian reports
#     no error or warning, and they install: pkg-config, a C program built
#     with it, README.md's channel example (two processes, built with
#     pkg-config as README says), man, the packaged Python module running a
#     ring round trip, and the membridge command (version, a ring round trip,
#     its manual page);
#  2. `make install` into a temporary prefix plus `pip install
#     --no-build-isolation ./python` into a venv links that prefix's library.
# Everything installed is removed again. Run by `make check-installed`.
set -eu
srcdir=$(cd "${srcdir:-.}" && pwd)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (apt-get install of the .debs)"; exit 77; }
git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1 ||
	{ echo "FAIL: $srcdir is not a git checkout (the packages build from git HEAD)"; exit 1; }
tmp=$(mktemp -d)
pkgs="membridge-tools python3-membridge libmembridge-dev libmembridge1"
cleanup() {
	dpkg -r $pkgs >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PATH=/usr/sbin:/usr/bin:/sbin:/bin   # Debian's python3, not a pyenv shim
step() { echo "== $*"; }

step "Debian packages from git HEAD"
mkdir "$tmp/src"
git -C "$srcdir" archive HEAD | tar -x -C "$tmp/src"
(cd "$tmp/src" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1) ||
	{ tail -40 "$tmp/build.log"; echo "FAIL: dpkg-buildpackage"; exit 1; }
lintian --fail-on error,warning -i -I --pedantic "$tmp"/*.changes
ls "$tmp"/*.deb

step "install the packages"
apt-get install -y -q "$tmp"/libmembridge1_*.deb "$tmp"/libmembridge-dev_*.deb \
	"$tmp"/python3-membridge_*.deb "$tmp"/membridge-tools_*.deb >/dev/null
pkg-config --cflags --libs membridge
cc -Wall -Werror -o "$tmp/single_process" "$srcdir/examples/single_process.c" \
	$(pkg-config --cflags --libs membridge)
(cd "$tmp" && ./single_process | tail -n 1)
ldd "$tmp/single_process" | grep -q "/lib/.*/libmembridge.so.1" ||
	{ echo "FAIL: the C program does not use the packaged library"; exit 1; }
man -w membridge_spsc
man -w membridge_spsc_push
man -w membridge_channel
man -w membridge_publisher_loan
# README.md's channel example exactly as printed there: the two C blocks
# that start with "/* FILE: ...", built with pkg-config, run as it says.
readme_c() {
	awk -v want="/* $1:" '
		/^```/ { if (keep) exit; block = ($0 == "```c"); first = 1; next }
		block && first { first = 0; keep = (index($0, want) == 1) }
		keep { print }' "$srcdir/README.md" >"$tmp/$1"
	[ -s "$tmp/$1" ] || { echo "FAIL: README.md has no C block starting with '/* $1:'"; exit 1; }
}
readme_c channel_publisher.c
readme_c channel_subscriber.c
(cd "$tmp" &&
	cc -Wall -Werror channel_publisher.c $(pkg-config --cflags --libs membridge) -o channel_publisher &&
	cc -Wall -Werror channel_subscriber.c $(pkg-config --cflags --libs membridge) -o channel_subscriber &&
	{ ./channel_subscriber & ./channel_publisher; wait; } >readme-channel.out 2>&1) ||
	{ cat "$tmp/readme-channel.out"; echo "FAIL: README.md's channel example"; exit 1; }
cat "$tmp/readme-channel.out"
grep -qx "tick 0" "$tmp/readme-channel.out" && grep -qx "1000 messages" "$tmp/readme-channel.out" ||
	{ echo "FAIL: README.md's channel subscriber did not print tick 0 and 1000 messages"; exit 1; }
(cd "$tmp" && /usr/bin/python3 - <<'PY'
import membridge, os
assert membridge.__file__.startswith("/usr/lib/python3/dist-packages/"), membridge.__file__
name = "/membridge-installed-%d" % os.getpid()
with membridge.SharedMemory.create(name, 1024 + 24) as mem:
    ring = mem.spsc()
    ring.push("hello from the package")
    print("python3-membridge:", ring.pop("str"))
    ring.close()
membridge.SharedMemory.remove(name)
PY
)
tool=$(command -v membridge) || { echo "FAIL: membridge-tools installed no membridge command"; exit 1; }
[ "$tool" = /usr/bin/membridge ] || { echo "FAIL: membridge is $tool, not the packaged /usr/bin/membridge"; exit 1; }
membridge --version
lib=$(ldd "$tool" | sed -n 's/.*libmembridge\.so\.1 => \([^ ]*\).*/\1/p')
echo "membridge uses $lib"
[ -n "$lib" ] && dpkg -S "$(readlink -f "$lib")" | grep -q '^libmembridge1:' ||
	{ ldd "$tool"; echo "FAIL: membridge does not use the packaged libmembridge.so.1"; exit 1; }
name=/membridge-installed-cli-$$
membridge create --ring 4096 "$name"
echo hello | membridge push "$name"
out=$(membridge pop "$name" --tag str)
membridge rm "$name"
[ "$out" = hello ] || { echo "FAIL: membridge pop printed '$out', expected 'hello'"; exit 1; }
echo "membridge-tools: $out"
[ "$(man -w membridge)" = /usr/share/man/man1/membridge.1.gz ] ||
	{ man -w membridge; echo "FAIL: man -w membridge is not the packaged page"; exit 1; }
MANPAGER=cat man membridge 2>/dev/null | grep -q "NAMES, DURATIONS AND SIZES" ||
	{ echo "FAIL: man membridge does not render the packaged page"; exit 1; }
dpkg -r $pkgs >/dev/null

step "make install into a prefix, pip install into a venv"
mkdir "$tmp/tree" "$tmp/build"   # a pristine tree: the package build configured src/
git -C "$srcdir" archive HEAD | tar -x -C "$tmp/tree"
(cd "$tmp/tree" && ./autogen.sh >/dev/null 2>&1)
(cd "$tmp/build" && "$tmp/tree/configure" --prefix="$tmp/prefix" PYTHON=/usr/bin/python3 >/dev/null &&
	make -j"$(nproc)" >/dev/null && make install >/dev/null)
/usr/bin/python3 -m venv --system-site-packages "$tmp/venv"
PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" LDFLAGS="-Wl,-rpath,$tmp/prefix/lib" \
	"$tmp/venv/bin/pip" install -q --no-build-isolation --no-index "$tmp/tree/python"
ext=$(ls "$tmp"/venv/lib/python3*/site-packages/membridge/_membridge*.so)
ldd "$ext" | grep "libmembridge.so.1 => $tmp/prefix/lib/libmembridge.so.1" ||
	{ ldd "$ext"; echo "FAIL: the venv's extension does not use the prefix's library"; exit 1; }
(cd "$tmp" && "$tmp/venv/bin/python" "$srcdir/examples/single_process.py" | tail -n 1)
echo "PASS: packages built, lint-clean, installed and used; prefix + venv install works"
