#!/bin/sh
# SPDX-License-Identifier: MIT
# The exported ABI equals the version script, which equals the header:
# every MEMBRIDGE_API function is exported under a MEMBRIDGE_ version node,
# and nothing else is exported.
set -eu
srcdir=${srcdir:-.}
lib=lib/.libs/libmembridge.so
[ -f "$lib" ] || { echo "SKIP: $lib not built (static-only build?)"; exit 77; }
command -v nm >/dev/null || { echo "SKIP: nm not found"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -n 's/.*MEMBRIDGE_API[^(]*[ *]\(membridge_[a-z0-9_]*\)(.*/\1/p' \
	"$srcdir/include/membridge.h" | sort >"$tmp/header"
sed -n 's/^[[:space:]]*\(membridge_[a-z0-9_]*\);.*/\1/p' "$srcdir/lib/libmembridge.map" | sort >"$tmp/map"
nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^MEMBRIDGE_[0-9.]*$' | sort >"$tmp/exported"

status=0
if ! diff -u "$tmp/header" "$tmp/map"; then
	echo "FAIL: the header's MEMBRIDGE_API functions and lib/libmembridge.map differ"
	status=1
fi
if grep -v '@@MEMBRIDGE_[0-9.]*$' "$tmp/exported"; then
	echo "FAIL: the symbols above are exported without a MEMBRIDGE_ version node"
	status=1
fi
sed 's/@@.*//' "$tmp/exported" >"$tmp/exported-names"
if ! diff -u "$tmp/map" "$tmp/exported-names"; then
	echo "FAIL: the exported symbols and lib/libmembridge.map differ"
	status=1
fi
# The Debian symbols file records the same names under the same nodes, so
# a removed or renamed symbol fails here before it fails a package build.
symbols=$srcdir/debian/libmembridge1.symbols
checked="header == map == exports"
if [ -f "$symbols" ]; then
	awk '/^[A-Z0-9_.]+ *\{/ { node = $1 } /^[[:space:]]*membridge_[a-z0-9_]*;/ {
		sub(/^[[:space:]]*/, ""); sub(/;.*/, ""); print $0 "@" node }' \
		"$srcdir/lib/libmembridge.map" | sort >"$tmp/map-nodes"
	sed -n 's/^ \(membridge_[a-z0-9_]*@[A-Z0-9_.]*\) .*/\1/p' "$symbols" | sort >"$tmp/symbols"
	if ! diff -u "$tmp/map-nodes" "$tmp/symbols"; then
		echo "FAIL: lib/libmembridge.map and debian/libmembridge1.symbols differ"
		status=1
	fi
	checked="$checked == debian/libmembridge1.symbols"
fi
[ $status -eq 0 ] && echo "PASS: $(wc -l <"$tmp/map") symbols, $checked"
exit $status
