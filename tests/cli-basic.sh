#!/bin/sh
# SPDX-License-Identifier: MIT
# membridge(1) happy paths: create, list, info, push, pop, watch, unlock, rm.
. "${srcdir:-.}/tests/cli-common.sh"

q=$(name q)
v=$(name v)

expect 0 create --ring 4096 "$q" && has out "created ring $q: capacity 4096, 4120 bytes, mode 0600"
expect 0 create --view 100 --mode 0640 "$v" && has out "created view $v: 100 data bytes, 104 bytes, mode 0640"

listing && has out "$q" && has out "$v"
listing --json && has out "\"name\": \"$q\""

expect 0 info "$q"
[ "$(field kind)" = ring ] || fail "info kind: $(field kind)"
[ "$(field capacity)" = 4096 ] || fail "info capacity: $(field capacity)"
[ "$(field pending)" = 0 ] || fail "info pending of an empty ring: $(field pending)"
[ "$(field verdict)" = ok ] || fail "info verdict: $(field verdict)"

expect 0 push "$q" hello "second message"
printf 'from\nstdin\n' | "$MB" push "$q" || fail "push from standard input"
expect 0 push --tag i64 "$q" -- -42
expect 0 info "$q"
[ "$(field pending)" = 5 ] || fail "pending after five pushes: $(field pending)"

expect 0 pop --tag str "$q" && [ "$(cat "$tmp/out")" = hello ] || fail "pop: $(cat "$tmp/out")"
expect 0 pop --tag str -n 3 "$q"
[ "$(cat "$tmp/out")" = "second message
from
stdin" ] || fail "pop -n 3: $(cat "$tmp/out")"
expect 0 pop --tag i64 "$q" && [ "$(cat "$tmp/out")" = -42 ] || fail "pop --tag i64: $(cat "$tmp/out")"
expect 0 push --raw "$q" abc
expect 0 pop --raw "$q" && [ "$(cat "$tmp/out")" = abc ] || fail "pop --raw: $(cat "$tmp/out")"
# An empty ring: nothing within the default timeout of 0.
expect 5 pop "$q" && has err "no message within the timeout"
expect 5 pop --timeout 50ms "$q"

# watch samples a ring read-only; -n bounds it.
expect 0 push "$q" x
expect 0 watch --interval 10ms -n 2 "$q"
[ "$(wc -l <"$tmp/out")" -eq 2 ] || fail "watch -n 2 printed: $(cat "$tmp/out")"
has out "1 pending"

expect 0 info "$v"
[ "$(field kind)" = view ] || fail "view kind: $(field kind)"
[ "$(field 'data size')" = 100 ] || fail "view data size: $(field 'data size')"
[ "$(field lock)" = free ] || fail "view lock: $(field lock)"
# A free lock: unlock has nothing to do.
expect 0 unlock "$v"

expect 0 rm "$q" "$v"
[ ! -e "/dev/shm${q}" ] || fail "rm left $q"
expect 3 info "$q"
expect 0 rm -f "$q"
finish
