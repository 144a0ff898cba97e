# SPDX-License-Identifier: MIT
# Sourced by the tests/cli-*.sh scripts: the membridge(1) tool of this build,
# unique segment names, cleanup, and assertions that say what went wrong.
# No Python needed. Run from the build directory (make check does).
set -u

MB=${MEMBRIDGE_TOOL:-./tools/membridge}
if [ ! -x "$MB" ]; then
	echo "SKIP: no $MB in this build (Windows builds have no membridge tool)"
	exit 77
fi
if [ ! -d /dev/shm ]; then
	echo "SKIP: no /dev/shm"
	exit 77
fi
LC_ALL=C
export LC_ALL

# Segment names carry the script's pid (in hex, at most 6 digits), other
# tests run at the same time; with a key of at most 5 characters they fit in
# macOS's 16 bytes.
prefix=mbc$(printf %x $$)
name() {
	echo "/$prefix-$1"
}
# What the build's platform does (tests/scripts.mk): segments in a directory
# that membridge list reads (yes: Linux; no: macOS), and the longest name.
have_listing=${MBT_HAVE_LISTING:-yes}
name_max=${MBT_NAME_MAX:-240}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mbcli.XXXXXX") || exit 99
# Every segment of this script, whatever a failed check left behind (rm
# takes each companion with its segment).
cleanup() {
	for f in /dev/shm/"$prefix"-*; do
		case $f in
		*.membridge-wait) ;;
		*) [ -e "$f" ] && "$MB" rm -f "${f#/dev/shm}" >/dev/null 2>&1 ;;
		esac
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 99' HUP INT TERM

failures=0
# `membridge list ARG...`: true when it listed. Where segments cannot be
# listed (macOS) it must fail saying why; false then, so that checks of its
# output chained with && are skipped.
listing() {
	if [ "$have_listing" = yes ]; then
		expect 0 list "$@"
		return
	fi
	expect 1 list "$@" && has err "keeps no directory of shared-memory segments"
	return 1
}

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# run CMD...: run the tool, keeping its status in $status and its output in
# $tmp/out and $tmp/err.
run() {
	"$MB" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
}

# expect STATUS CMD...: run the tool and check its exit status.
expect() {
	want=$1
	shift
	run "$@"
	if [ "$status" -ne "$want" ]; then
		fail "membridge $* exited $status, expected $want; stderr: $(cat "$tmp/err")"
		return 1
	fi
	return 0
}

# has FILE TEXT: FILE (out or err) contains the fixed string TEXT.
has() {
	grep -qF -- "$2" "$tmp/$1" || fail "$1 of the last command lacks '$2': $(cat "$tmp/$1")"
}

# field KEY: the value of "KEY: value" in the last output (info's format).
field() {
	sed -n "s/^$1: //p" "$tmp/out"
}

finish() {
	if [ "$failures" -ne 0 ]; then
		echo "$failures check(s) failed"
		exit 1
	fi
	echo "all checks passed"
	exit 0
}
