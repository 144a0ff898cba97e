#!/bin/sh
# SPDX-License-Identifier: MIT
# Ctrl-C (SIGINT) and SIGTERM stop a waiting membridge(1) at once: a pop
# blocked on an empty ring and a push blocked on a full one exit 128 +
# signal, pop --follow and watch exit 0 (membridge(1) EXIT STATUS). The
# bounds are generous: a tool that slept out its wait would take forever.
. "${srcdir:-.}/tests/cli-common.sh"

[ -r /proc/self/status ] || { echo "SKIP: no /proc"; exit 77; }

# Seconds a stopped command may take to exit; it waits without limit.
EXIT_BOUND=30

# caught PID: its SIGINT and SIGTERM handlers are installed (SigCgt bits 1
# and 14), so it is at, or a moment from, its wait. A background job of a
# shell starts with SIGINT ignored, so a signal sent earlier would be lost.
caught() {
	mask=$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$mask" ] || return 1
	[ $((0x$mask & 0x4002)) -eq $((0x4002)) ]
}

# stop SIGNAL WANT CMD...: start CMD in the background, signal it once it
# waits, and check it exits with status WANT within EXIT_BOUND seconds.
stop() {
	sig=$1 want=$2
	shift 2
	"$MB" "$@" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	tries=0
	while ! caught "$pid"; do
		tries=$((tries + 1))
		if [ "$tries" -gt 3000 ] || ! kill -0 "$pid" 2>/dev/null; then
			fail "membridge $* never installed its signal handlers"
			kill -KILL "$pid" 2>/dev/null
			wait "$pid"
			return
		fi
		sleep 0.01
	done
	# Let it get into the library's wait; a signal just before the wait is
	# also fine once the library notices a handler that ran.
	sleep 0.2
	kill "-$sig" "$pid"
	waited=0
	while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((EXIT_BOUND * 10)) ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "membridge $* still waits ${EXIT_BOUND}s after SIG$sig"
		kill -KILL "$pid"
	fi
	wait "$pid"
	status=$?
	[ "$status" -eq "$want" ] ||
		fail "membridge $* exited $status after SIG$sig, expected $want; stderr: $(cat "$tmp/err")"
}

q=$(name q)
expect 0 create --ring 64 "$q"

stop INT 130 pop --timeout inf "$q"
stop TERM 143 pop --timeout inf "$q"
# A long but finite timeout: the whole timeout goes to the library at once.
stop INT 130 pop --timeout 600 "$q"
stop INT 0 pop --follow "$q"
stop TERM 0 watch --interval 10 "$q"

# A full ring: push waits for room.
expect 0 push --raw "$q" "$(printf '%060d' 0)"
stop INT 130 push --raw "$q" more
stop TERM 143 push --raw --timeout 600 "$q" more
# Nothing was pushed by the interrupted pushes.
expect 0 info "$q" && [ "$(field pending)" = 1 ] || fail "pending after interrupted pushes: $(field pending)"

# pop --follow prints what came before the signal.
r=$(name r)
expect 0 create --ring 4096 "$r"
expect 0 push "$r" first second
stop INT 0 pop --follow --tag str "$r"
[ "$(cat "$tmp/out")" = "first
second" ] || fail "pop --follow printed: $(cat "$tmp/out")"
finish
