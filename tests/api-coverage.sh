#!/bin/sh
# SPDX-License-Identifier: MIT
# Every exported function is called by at least one Check suite.
set -eu
srcdir=${srcdir:-.}
missing=0 total=0
for fn in $(sed -n 's/^[[:space:]]*\(membridge_[a-z0-9_]*\);.*/\1/p' "$srcdir/lib/libmembridge.map"); do
	total=$((total + 1))
	if ! grep -q "\<$fn\>" "$srcdir"/tests/check_*.c; then
		echo "FAIL: no test calls $fn"
		missing=$((missing + 1))
	fi
done
[ $missing -eq 0 ] && echo "PASS: all $total exported functions are exercised by tests/check_*.c"
[ $missing -eq 0 ]
