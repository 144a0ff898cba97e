#!/bin/sh
# SPDX-License-Identifier: MIT
# Every exported function is called by at least one Check suite: a call is
# the name followed by "(" in code, so a name in a comment does not count.
set -eu
srcdir=${srcdir:-.}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
perl -0777 -pe 's{/\*.*?\*/}{ }gs; s{//[^\n]*}{}g' "$srcdir"/tests/check_*.c >"$tmp"
missing=0 total=0
for fn in $(sed -n 's/^[[:space:]]*\(membridge_[a-z0-9_]*\);.*/\1/p' "$srcdir/lib/libmembridge.map"); do
	total=$((total + 1))
	if ! grep -q "\<$fn[[:space:]]*(" "$tmp"; then
		echo "FAIL: no test calls $fn"
		missing=$((missing + 1))
	fi
done
[ $missing -eq 0 ] && echo "PASS: all $total exported functions are called by tests/check_*.c"
[ $missing -eq 0 ]
