#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual matches the library: every exported function has a page (a
# real one or a one-line .so link to its family's page, whose NAME lists
# it), every function a page names is exported, and mandoc finds nothing
# to warn about in the real pages, the command's membridge(1) included.
set -u
srcdir=${srcdir:-.}
man=$srcdir/man
command -v mandoc >/dev/null || { echo "SKIP: mandoc not installed"; exit 77; }
status=0
fail() { echo "FAIL: $*"; status=1; }

exported=$(sed -n 's/^[[:space:]]*\(membridge_[a-z0-9_]*\);.*/\1/p' "$srcdir/lib/libmembridge.map")
is_exported() { echo "$exported" | grep -qx "$1"; }
# The names a real page documents: its .Nm lines.
names() { sed -n 's/^\.Nm \(membridge_[a-z0-9_]*\).*/\1/p' "$1"; }

for fn in $exported; do
	page=$man/$fn.3
	if [ ! -f "$page" ]; then
		fail "$fn has no man page ($page)"
		continue
	fi
	target=$(sed -n 's/^\.so man3\/\(.*\)$/\1/p' "$page")
	if [ -n "$target" ]; then
		[ -f "$man/$target" ] || { fail "$page links to missing $target"; continue; }
		names "$man/$target" | grep -qx "$fn" || fail "$target does not list $fn in NAME"
	else
		names "$page" | grep -qx "$fn" || fail "$page does not list $fn in NAME"
	fi
done

pages=0
for page in "$man"/*.1 "$man"/*.3 "$man"/*.7; do
	[ -f "$page" ] || continue
	case $page in
	*.1)
		# A program's page: only the lint applies, it documents no function.
		if grep -q '^\.so ' "$page"; then
			fail "$page is a link page; section 1 has none"
			continue
		fi
		;;
	*)
		if grep -q '^\.so ' "$page"; then
			is_exported "$(basename "$page" .3)" || fail "link page $page names no exported function"
			continue
		fi
		for fn in $(names "$page"); do
			is_exported "$fn" || fail "$page documents $fn, which the library does not export"
		done
		;;
	esac
	pages=$((pages + 1))
	out=$(mandoc -T lint -W warning "$page" 2>&1)
	[ -z "$out" ] || fail "mandoc -T lint -W warning $page:
$out"
done
[ $status -eq 0 ] && echo "PASS: $(echo "$exported" | wc -l) functions documented; $pages pages lint-clean"
exit $status
