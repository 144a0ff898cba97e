#!/bin/sh
# SPDX-License-Identifier: MIT
# The test harness's LOG_COMPILER in a --enable-fuzzing build: fuzz one libFuzzer target.
#
# usage: run-target.sh PROGRAM [ARGS...]
#
# A program named fuzz_* runs for $FUZZ_SECONDS (default 30) on a writable
# copy of $srcdir/tests/fuzz/corpus/<name>, made next to the program (never
# in srcdir), with hang (-timeout), memory (-rss_limit_mb) and leak
# detection. Exit 0 (PASS) only if libFuzzer finished cleanly, printed no
# sanitizer report and left no segment behind; a crashing input is kept in
# <name>.artifacts/. The last line says how far it got. Any other program is
# run as it is.
set -u

prog=$1
shift
name=${prog##*/}
name=${name%.exe}
case $name in
fuzz_*) ;;
*) exec "$prog" "$@" ;;
esac

seconds=${FUZZ_SECONDS:-30}
dir=${prog%/*}
test "$dir" = "$prog" && dir=.
seeds=${srcdir:-.}/tests/fuzz/corpus/$name
work=$dir/$name.corpus
artifacts=$dir/$name.artifacts
out=$dir/$name.fuzzer-output

# Files in a directory (none of these names holds a newline).
count() {
	find "$1" -mindepth 1 -maxdepth 1 | wc -l
}

rm -rf "$work" "$artifacts" "$out"
mkdir -p "$work" "$artifacts" || exit 99
if test -d "$seeds"; then
	cp "$seeds"/* "$work"/ || exit 99
fi
chmod -R u+w "$work"
nseeds=$(count "$work")

# Sanitizer reports must fail the run; libFuzzer's own exit codes (77 would
# read as SKIP to the harness) are mapped to 1.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=1
UBSAN_OPTIONS=${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS UBSAN_OPTIONS

echo "$name: fuzzing for $seconds s from $nseeds seeds ($seeds)"
"$prog" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=1024 -malloc_limit_mb=256 \
	-detect_leaks=1 -error_exitcode=1 -timeout_exitcode=1 -print_final_stats=1 \
	-artifact_prefix="$artifacts/" "$@" "$work" >"$out" 2>&1 &
pid=$!
wait $pid
status=$?

# libFuzzer's progress lines are many; keep the rest and the last few.
grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$out"
echo "(full libFuzzer output: $out)"

# Segments the target made are named /mbfuzz.<pid>.*: none may be left.
leftover=$(find /dev/shm -maxdepth 1 -name "mbfuzz.$pid.*" | wc -l)
rm -f /dev/shm/mbfuzz."$pid".*

runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$out" | tail -n 1)
crashes=$(count "$artifacts")
reports=$(grep -c -E '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error: |.*check failed: )' "$out")
corpus=$(count "$work")

echo "$name: ${runs:-?} executions in ${took:-?} s, $crashes crashes," \
	"$reports sanitizer or check reports, $leftover leftover segments," \
	"corpus $nseeds -> $corpus files, exit status $status"
if test "$status" -ne 0 || test "$crashes" -ne 0 || test "$reports" -ne 0 ||
	test "$leftover" -ne 0 || test -z "$runs" || test -z "$took"; then
	find "$artifacts" -mindepth 1 -maxdepth 1 | sed 's/^/crashing input: /'
	exit 1
fi
exit 0
