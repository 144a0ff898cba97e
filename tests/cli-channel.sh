#!/bin/sh
# SPDX-License-Identifier: MIT
# membridge(1) on channels: create, info, list, push (the publisher), pop
# (a subscriber), watch, and the exit statuses of a taken publisher place
# (9), full subscriber slots (9), messages too large (2) and waits that run
# out (5). Waits for another process are bounded by counts of short sleeps.
. "${srcdir:-.}/tests/cli-common.sh"

c=$(name c)
one=$(name one)
q=$(name q)

# Short sleeps a wait for another process may take (30 s in all).
WAIT_TRIES=3000

# info_until NAME KEY VALUE: poll `info NAME` until "KEY: VALUE".
info_until() {
	tries=0
	while :; do
		run info "$1"
		[ "$(field "$2")" = "$3" ] && return 0
		tries=$((tries + 1))
		if [ "$tries" -gt "$WAIT_TRIES" ]; then
			fail "info $1 never showed '$2: $3' (last: '$(field "$2")')"
			return 1
		fi
		sleep 0.01
	done
}

# finished PID WANT WHAT: wait for background job PID and check its status.
finished() {
	wait "$1"
	got=$?
	[ "$got" -eq "$2" ] || fail "$3 exited $got, expected $2: $(cat "$tmp/bg.err" 2>/dev/null)"
}

# --- create: SIZE is the data area; the segment adds the channel's header.
expect 0 create --channel 4096 "$c" &&
	has out "created channel $c: 4096 data bytes, max message 2032, 8 subscriber slots, "
bytes=$(sed -n 's/.*slots, \([0-9]*\) bytes, mode 0600$/\1/p' "$tmp/out")
[ "$(wc -c <"/dev/shm$c")" -eq "${bytes:-0}" ] || fail "segment size $(wc -c <"/dev/shm$c") is not the $bytes printed"
expect 0 create --channel 1K --subscribers 1 --max-message 100 "$one" &&
	has out "created channel $one: 1024 data bytes, max message 100, 1 subscriber slot, "
expect 6 create --channel 1K "$one"
expect 2 create --channel 1000 "$q" && has err "not a multiple of 64: use 960 or 1024"
expect 2 create --channel 64 "$q" && has err "the smallest is 128"
expect 2 create --channel 1K --max-message 1000 "$q" && has err "needs a data size of at least 2048"
expect 2 create --channel 1K --subscribers 0 "$q"
expect 2 create --channel 1K --subscribers 1025 "$q" && has err "at most 1024"
expect 2 create --ring 64 --subscribers 2 "$q" && has err "--subscribers is for channels"
[ ! -e "/dev/shm$q" ] || fail "a refused create left $q"

# --- info and list of a fresh channel.
expect 0 info "$c"
[ "$(field kind)" = channel ] || fail "info kind: $(field kind)"
[ "$(field 'data size')" = 4096 ] || fail "info data size: $(field 'data size')"
[ "$(field 'max message')" = 2032 ] || fail "info max message: $(field 'max message')"
[ "$(field slots)" = 8 ] || fail "info slots: $(field slots)"
[ "$(field published)" = 0 ] || fail "info published: $(field published)"
[ "$(field publisher)" = none ] || fail "info publisher: $(field publisher)"
[ "$(field subscribers)" = 0 ] || fail "info subscribers: $(field subscribers)"
[ "$(field verdict)" = ok ] || fail "info verdict: $(field verdict)"
listing && has out "channel  data 4096, used 0 (0%), 0 published, 0 of 8 subscribers, no publisher"
listing --json && has out "\"kind\": \"channel\""
expect 0 info --json "$c" && has out "\"max_message\": 2032"

# --- push without subscribers publishes to nobody; pop takes what comes
# after it joined, so a plain pop finds nothing.
expect 0 push "$c" lost1 lost2
expect 0 info "$c" && [ "$(field published)" = 2 ] || fail "published after two: $(field published)"
expect 5 pop "$c" && has err "no message within the timeout"
expect 5 pop --oldest --timeout 20ms "$c"

# --- a subscriber in the background gets what is pushed while it is there.
"$MB" pop -n 3 --tag str --timeout 30 "$c" >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
info_until "$c" subscribers 1 && has out "subscriber 0: pid $bg (alive), lag 0 messages, 0 bytes"
expect 0 push "$c" one "two words" three
finished "$bg" 0 "pop -n 3"
[ "$(cat "$tmp/bg.out")" = "one
two words
three" ] || fail "pop -n 3 printed: $(cat "$tmp/bg.out")"
info_until "$c" subscribers 0

# --- pop --follow ends when its timeout passes without a message.
"$MB" pop --follow --raw --timeout 2 "$c" >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
info_until "$c" subscribers 1
expect 0 push --raw "$c" a b
finished "$bg" 0 "pop --follow"
[ "$(cat "$tmp/bg.out")" = ab ] || fail "pop --follow --raw printed: $(cat "$tmp/bg.out")"

# --- a stopped subscriber holds what it has not received: its lag shows,
# and pop --oldest starts there while a plain pop does not.
"$MB" pop -n 4 --tag str --timeout 30 "$c" >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
info_until "$c" subscribers 1
kill -STOP "$bg"
expect 0 push "$c" m1 m2 m3
expect 0 info "$c"
has out "subscriber 0: pid $bg (alive), lag 3 messages, "
expect 0 pop --oldest --tag str -n 3 "$c"
[ "$(cat "$tmp/out")" = "m1
m2
m3" ] || fail "pop --oldest printed: $(cat "$tmp/out")"
expect 5 pop "$c"
expect 0 watch --interval 10ms -n 2 "$c"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "watch -n 2 printed: $(cat "$tmp/out")"
has out "10 published, 1 subscriber, lag 3"
has out "msg/s"
kill -CONT "$bg"
expect 0 push "$c" m4
finished "$bg" 0 "the stopped pop"
[ "$(cat "$tmp/bg.out")" = "m1
m2
m3
m4" ] || fail "the stopped pop printed: $(cat "$tmp/bg.out")"

# --- one publisher at a time: 9 while another push holds the channel.
mkfifo "$tmp/in" || exit 99
"$MB" push "$c" <"$tmp/in" >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
exec 3>"$tmp/in"
info_until "$c" publisher "pid $bg (alive)"
expect 9 push "$c" x && has err "already has a live publisher, pid $bg"
listing && has out "publisher pid $bg"
exec 3>&-
finished "$bg" 0 "the push reading a fifo"
expect 0 push "$c" x

# --- every subscriber slot taken: 9.
"$MB" pop --timeout 30 "$one" >"$tmp/bg.out" 2>"$tmp/bg.err" &
bg=$!
info_until "$one" subscribers 1
expect 9 pop "$one" && has err "every one of the channel's 1 subscriber slots holds a live subscriber"
# A message larger than max message never fits: 2.
expect 2 push --raw "$one" "$(printf '%0101d' 0)" && has err "the channel takes at most 100 bytes per message"
expect 0 push --raw "$one" "$(printf '%0100d' 0)"
finished "$bg" 0 "pop of the one-slot channel"
[ "$(cat "$tmp/bg.out")" = "$(printf '%0100d' 0)" ] || fail "one-slot pop printed: $(cat "$tmp/bg.out")"

# --- the wrong kind.
expect 7 unlock "$c" && has err "not a view (kind: channel"
expect 0 create --ring 64 "$q"
expect 2 pop --oldest "$q" && has err "--oldest is for channels"

expect 0 rm "$c" "$one" "$q"
expect 3 info "$c"
finish
