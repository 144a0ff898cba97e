#!/bin/sh
# SPDX-License-Identifier: MIT
# Run a mingw-w64 build under wine64: the portable test runner (every case,
# two-process ones included), the single_process example, the examples'
# producer/consumer pairs as two (or three) processes each, as
# examples/run-examples.sh runs them on Linux, and a Ctrl-C (SIGINT to the
# wine process, which wine turns into a console CTRL_C_EVENT) that must end
# a consumer's blocking pop. Headless, quiet (WINEDEBUG=-all), in a private
# WINEPREFIX inside that build tree. Prints one PASS/FAIL line per runner
# case and per example step, and how long the wine step took; exits 1 if
# anything failed.
# usage: run-wine.sh [MINGW-BUILD-DIR]   (default: the current directory,
#        as when make check runs it there; WINE=... picks the loader)
set -eu
build=$(cd "${1:-.}" && pwd)

wine=${WINE:-}
if [ -z "$wine" ]; then
	# Debian's wine64 package installs only /usr/lib/wine/wine64.
	for w in wine64 /usr/lib/wine/wine64 wine; do
		if command -v "$w" >/dev/null 2>&1; then
			wine=$(command -v "$w")
			break
		fi
	done
fi
if [ -z "$wine" ]; then
	echo "run-wine.sh: no wine64 found (Debian: apt-get install wine64)" >&2
	exit 1
fi
wineserver=$(dirname "$wine")/wineserver
[ -x "$wineserver" ] || wineserver=wineserver

WINEPREFIX=$build/wineprefix
WINEDEBUG=-all
export WINEPREFIX WINEDEBUG
unset DISPLAY WAYLAND_DISPLAY

# libtool keeps the real programs in .libs/; the DLL goes beside them.
for dir in tests/portable/.libs examples/.libs; do
	cp "$build/lib/.libs/libmembridge-1.dll" "$build/$dir/"
done

ms() { echo $(($(date +%s%N) / 1000000)); }
start=$(ms)
"$wine" wineboot --init >"$build/wineboot.log" 2>&1 || true
booted=$(ms)
status=0
fail() {
	echo "FAIL: $*"
	status=1
}
# expect FILE LINE...: each LINE must be one whole line of FILE (wine may
# end lines with CR: dropped).
expect() {
	file=$1
	shift
	for line in "$@"; do
		tr -d '\r' <"$file" | grep -qxF -- "$line" ||
			fail "$(basename "$file") lacks the line: $line"
	done
}
ex=$build/examples/.libs
out=$build/wine-examples
rm -rf "$out"
mkdir -p "$out"
tag=$$

"$wine" "$build/tests/portable/.libs/runner.exe" || status=$?
if "$wine" "$ex/single_process.exe" >"$out/single_process" 2>&1; then
	echo "PASS: examples/single_process.exe ($(tail -n 1 "$out/single_process" | tr -d '\r'))"
else
	fail "examples/single_process.exe (see $out/single_process)"
fi

# The view pair: the reader starts first and waits for the writer's segment.
before=$status
view=/membridge-wine-view-$tag
"$wine" "$ex/view_reader.exe" "$view" >"$out/view_reader" 2>&1 &
reader=$!
sleep 1
"$wine" "$ex/view_writer.exe" "$view" >"$out/view_writer" 2>&1 || fail "view_writer.exe exited with $?"
wait "$reader" || fail "view_reader.exe exited with $?"
expect "$out/view_writer" "view_writer: wrote 3 records to $view"
expect "$out/view_reader" \
	'view_reader: record 1: name=boiler id=101 reading=78.25 ok=true' \
	'view_reader: record 3: name=valve id=103 reading=-1 ok=false' \
	"view_reader: read 3 records from $view"
[ "$status" -ne "$before" ] || echo "PASS: examples view_writer.exe + view_reader.exe"

# The ring pair: the consumer creates the ring, the producer streams 100000
# messages through it, each checked by the consumer.
before=$status
ring=/membridge-wine-ring-$tag
"$wine" "$ex/ring_consumer.exe" -n 100000 "$ring" >"$out/ring_consumer" 2>&1 &
consumer=$!
"$wine" "$ex/ring_producer.exe" -n 100000 "$ring" >"$out/ring_producer" 2>&1 ||
	fail "ring_producer.exe exited with $?"
wait "$consumer" || fail "ring_consumer.exe exited with $?"
expect "$out/ring_consumer" '  message 0: msg-0-' '  message 99999: msg-99999-'
tr -d '\r' <"$out/ring_consumer" | grep -q '^ring_consumer: received 100000 messages, all in order, ' ||
	fail "ring_consumer.exe did not report 100000 messages"
[ "$status" -ne "$before" ] || echo "PASS: examples ring_producer.exe + ring_consumer.exe" \
	"($(tr -d '\r' <"$out/ring_consumer" | grep '^ring_consumer: rate '))"

# The channel: two subscriber processes start first, the publisher waits
# for both to join, then publishes 100000 messages and an end marker.
before=$status
chan=/membridge-wine-channel-$tag
"$wine" "$ex/channel_subscriber.exe" "$chan" -n 100000 >"$out/sub1" 2>&1 &
sub1=$!
"$wine" "$ex/channel_subscriber.exe" "$chan" -n 100000 >"$out/sub2" 2>&1 &
sub2=$!
"$wine" "$ex/channel_publisher.exe" "$chan" -n 100000 -s 2 >"$out/pub" 2>&1 ||
	fail "channel_publisher.exe exited with $?"
wait "$sub1" || fail "the first channel_subscriber.exe exited with $?"
wait "$sub2" || fail "the second channel_subscriber.exe exited with $?"
expect "$out/pub" "channel_publisher: $chan: subscribers joined: 2" \
	'channel_publisher: published 100000 messages and the end marker'
for sub in "$out/sub1" "$out/sub2"; do
	expect "$sub" '  message 0' '  message 99999' \
		'channel_subscriber: received 100000 messages in order, then the end marker'
done
[ "$status" -ne "$before" ] ||
	echo "PASS: examples channel_publisher.exe + 2 channel_subscriber.exe"

# Ctrl-C: a consumer blocked in its pop (no producer, 120 s timeout) gets
# SIGINT, which wine delivers as CTRL_C_EVENT to the console handlers; its
# CRT SIGINT handler sets its flag, the pop returns -EINTR, and it says so
# and exits. Without -EINTR it would sit out the timeout: we give it 60 s.
before=$status
stop=/membridge-wine-stop-$tag
"$wine" "$ex/ring_consumer.exe" -n 10 -t 120 "$stop" >"$out/ctrl_c" 2>&1 &
consumer=$!
sleep 2
sent=$(ms)
kill -INT "$consumer" 2>/dev/null || true
while kill -0 "$consumer" 2>/dev/null && [ $(($(ms) - sent)) -lt 60000 ]; do
	sleep 0.1
done
stopped=$(($(ms) - sent))
if kill -0 "$consumer" 2>/dev/null; then
	fail "Ctrl-C did not end ring_consumer.exe's blocking pop within 60 s"
	kill "$consumer" 2>/dev/null || true
fi
wait "$consumer" || true
tr -d '\r' <"$out/ctrl_c" | grep -q '^ring_consumer: stopped by signal 2 after 0 messages' ||
	fail "ring_consumer.exe did not report the Ctrl-C (see $out/ctrl_c)"
[ "$status" -ne "$before" ] ||
	echo "PASS: Ctrl-C ends a blocking pop with -EINTR ($stopped ms from SIGINT to exit)"

end=$(ms)
"$wineserver" -k >/dev/null 2>&1 || true
echo "wine step: $((end - start)) ms ($((booted - start)) ms starting wine and its" \
	"prefix, $((end - booted)) ms running the runner and the examples)"
exit "$status"
