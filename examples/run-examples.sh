#!/bin/sh
# SPDX-License-Identifier: MIT
# Smoke test for `make check`: run every example and check what each prints.
#
# make check runs this from the top build directory, where the programs are
# examples/<name>; set EXAMPLES_DIR to run it against other builds.

bin=${EXAMPLES_DIR:-examples}
here=$(dirname "$0")
# Names within macOS's 16 bytes: the pid in hex (at most 6 digits).
tag=$(printf %x $$)
view=/mbck-v-$tag
ring=/mbck-r-$tag
chan=/mbck-c-$tag
out=$(mktemp -d "${TMPDIR:-/tmp}/membridge-examples.XXXXXX") || exit 99
pids=
sp_pid=

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$out"
	# Whatever a failed run left behind in /dev/shm.
	if [ -d /dev/shm ]; then
		for n in "$view" "$ring" "$chan" ${sp_pid:+/mb-view-$sp_pid} \
			 ${sp_pid:+/mb-ring-$sp_pid}; do
			rm -f "/dev/shm$n" "/dev/shm$n.membridge-wait"
		done
	fi
}
trap cleanup EXIT
trap 'exit 99' INT TERM HUP

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}

# expect FILE LINE...: each LINE must be one whole line of FILE.
expect() {
	file=$1
	shift
	for line in "$@"; do
		grep -qxF -- "$line" "$file" || fail "$(basename "$file") lacks the line: $line"
	done
}

if [ ! -x "$bin/single_process" ]; then
	echo "run-examples.sh: no $bin/single_process (run from the build directory)" >&2
	exit 99
fi

# 1. single_process: one process, a view then a ring. Run in the background
# only to learn its pid, which its segment names carry.
echo "== single_process"
"$bin/single_process" >"$out/single" 2>&1 &
sp_pid=$!
wait "$sp_pid" || fail "single_process exited with $?"
cat "$out/single"
expect "$out/single" \
	'view: cursor read str    "hello, shared memory"' \
	'view: cursor read int64  -1234567890123' \
	'view: cursor read double 3.14159' \
	'view: cursor read bool   true' \
	'view: int64 at offset 24 is -1234567890123' \
	'view: group at offset 41 is ("sensor-7", 21.5, false), cursor now at 62' \
	'ring: popped "charlie"' \
	'ring: popped record ("temperature", 36.6)' \
	'single_process: all done'

# 2. The view pair. The reader starts first, so it has to wait for the
# writer's segment to appear.
echo "== view_reader + view_writer"
"$bin/view_reader" "$view" >"$out/reader" 2>&1 &
reader_pid=$!
pids="$reader_pid"
sleep 0.1 2>/dev/null || sleep 1
"$bin/view_writer" "$view" >"$out/writer" 2>&1 || fail "view_writer exited with $?"
wait "$reader_pid" || fail "view_reader exited with $?"
pids=
cat "$out/writer" "$out/reader"
expect "$out/writer" "view_writer: wrote 3 records to $view"
expect "$out/reader" \
	'view_reader: record 1: name=boiler id=101 reading=78.25 ok=true' \
	'view_reader: record 2: name=pump id=102 reading=3.5 ok=true' \
	'view_reader: record 3: name=valve id=103 reading=-1 ok=false' \
	"view_reader: read 3 records from $view" \
	"view_reader: removed $view"

# 3. The ring demo: two processes, 100000 messages, checked one by one.
echo "== ring-demo.sh"
sh "$here/ring-demo.sh" "$bin" -n 100000 "$ring" >"$out/ring" 2>&1 ||
	fail "ring-demo.sh exited with $?"
cat "$out/ring"
expect "$out/ring" \
	'  message 0: msg-0-' \
	'  message 1: msg-1-b' \
	'  message 99999: msg-99999-' \
	'ring-demo.sh: OK'
grep -q '^ring_consumer: received 100000 messages, all in order, ' "$out/ring" ||
	fail "the consumer did not report 100000 messages"
grep -q '^ring_consumer: rate ' "$out/ring" || fail "the consumer did not report a rate"

# 4. A channel: one publisher, two subscriber processes. The subscribers
# start first and wait for the segment; the publisher waits for both to
# join before it publishes, so each must see every message.
echo "== channel_publisher + 2 channel_subscriber"
"$bin/channel_subscriber" "$chan" -n 100000 >"$out/sub1" 2>&1 &
sub1_pid=$!
"$bin/channel_subscriber" "$chan" -n 100000 >"$out/sub2" 2>&1 &
sub2_pid=$!
pids="$sub1_pid $sub2_pid"
"$bin/channel_publisher" "$chan" -n 100000 -s 2 >"$out/pub" 2>&1 ||
	fail "channel_publisher exited with $?"
wait "$sub1_pid" || fail "the first channel_subscriber exited with $?"
wait "$sub2_pid" || fail "the second channel_subscriber exited with $?"
pids=
cat "$out/pub" "$out/sub1" "$out/sub2"
expect "$out/pub" \
	"channel_publisher: $chan: subscribers joined: 2" \
	'channel_publisher: published 100000 messages and the end marker'
for sub in "$out/sub1" "$out/sub2"; do
	expect "$sub" \
		'  message 0' \
		'  message 1' \
		'  message 2' \
		'  message 99999' \
		'channel_subscriber: received 100000 messages in order, then the end marker'
	grep -q "^channel_subscriber: joined $chan in slot [0-3]\$" "$sub" ||
		fail "$(basename "$sub") does not say which slot it joined"
done

# Nothing of ours may be left in /dev/shm.
for n in "$view" "$ring" "$chan" "/mb-view-$sp_pid" "/mb-ring-$sp_pid"; do
	for f in "/dev/shm$n" "/dev/shm$n.membridge-wait"; do
		[ ! -e "$f" ] || fail "left behind: $f"
	done
done

[ $failed -eq 0 ] && echo "PASS: all examples ran as expected"
exit $failed
