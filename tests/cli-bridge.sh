#!/bin/sh
# SPDX-License-Identifier: MIT
# membridge bridge in one network namespace: checked message streams (a
# sequence number, 12 to 4092 bytes, a checksum: tests/bridge-peer) from a
# ring or a channel through a sending bridge, ZeroMQ over ipc or loopback
# TCP, and a receiving bridge into a ring or a channel, PUSH/PULL and
# PUB/SUB; 0 lost, duplicated or corrupted with clean shutdowns. Then a
# sending bridge stopped by SIGTERM mid-stream and started again (nothing
# lost: what it took is handed over, the rest stays in the ring), CURVE
# keys (an allowed client, a refused one), the warning for an unencrypted
# bind, and usage errors. Bounded by message counts, never by time.
. "${srcdir:-.}/tests/cli-common.sh"
. "${srcdir:-.}/tests/bridge-common.sh"

messages=20000
if [ -n "${MBT_UNDER_VALGRIND:-}" ]; then
	messages=2000
fi
pids=
bridge_cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	cleanup
}
trap bridge_cleanup EXIT

# ring NAME / channel NAME: create the segment.
ring() { "$MB" create --ring 65536 "$1" >/dev/null || fail "cannot create ring $1"; }
channel() {
	"$MB" create --channel 65536 --max-message 4096 "$1" >/dev/null ||
		fail "cannot create channel $1"
}

# start LOG ARGS...: a bridge in the background; $last is its pid.
start() {
	log=$1
	shift
	# Gone first: bound() must not read the last bridge's log.
	rm -f "$log"
	"$MB" bridge "$@" 2>"$log" &
	last=$!
	pids="$pids $last"
}

# bound LOG: the endpoint the bridge logging to LOG bound (waits for it).
bound() {
	tries=0
	while ! grep -q '^membridge: bridge: bound ' "$1" 2>/dev/null; do
		tries=$((tries + 1))
		[ "$tries" -lt 6000 ] || { fail "no bridge bound: $(cat "$1")"; return 1; }
		sleep 0.01
	done
	sed -n 's/^membridge: bridge: bound //p' "$1" | head -n 1
}


# consumer DST: start the checking consumer; a channel's is subscribed on return.
consumer() {
	"$PEER" consume "$1" "$messages" >"$tmp/consumer.out" 2>"$tmp/consumer.err" &
	consumer_pid=$!
	pids="$pids $consumer_pid"
	case $kind_dst in
	channel)
		tries=0
		while ! grep -q subscribed "$tmp/consumer.out"; do
			tries=$((tries + 1))
			[ "$tries" -lt 6000 ] || { fail "the consumer never subscribed"; break; }
			sleep 0.01
		done ;;
	esac
}

# checked WHAT: the consumer finished with every message intact.
checked() {
	wait "$consumer_pid"
	st=$?
	[ "$st" -eq 0 ] || fail "$1: consumer exited $st: $(cat "$tmp/consumer.out" "$tmp/consumer.err")"
	grep -q "^received $messages lost 0 duplicated 0 corrupted 0 gaps 0\$" "$tmp/consumer.out" ||
		fail "$1: $(cat "$tmp/consumer.out")"
}

# stream KIND_SRC KIND_DST ENDPOINT [OPTION]: producer -> SRC -> bridge ->
# ENDPOINT -> bridge -> DST -> consumer.
stream() {
	kind_src=$1 kind_dst=$2 endpoint=$3
	shift 3
	what="$kind_src->$kind_dst over $endpoint $*"
	src=$(name "src$n") dst=$(name "dst$n")
	n=$((n + 1))
	$kind_src "$src"
	$kind_dst "$dst"
	consumer "$dst"
	start "$tmp/in.err" --bind --seq "$@" "$endpoint" "$dst"
	in=$last
	ep=$(bound "$tmp/in.err") || return
	start "$tmp/out.err" --seq "$@" "$src" "$ep"
	out=$last
	"$PEER" produce "$src" "$messages" || fail "$what: the producer failed"
	checked "$what"
	stop "$out" out
	stop "$in" in
	grep -q "lost 0 in 0 gaps" "$tmp/in.err" || fail "$what: the receiving bridge counted a gap: $(cat "$tmp/in.err")"
	grep -q "$messages messages" "$tmp/out.err" || fail "$what: the sending bridge: $(cat "$tmp/out.err")"
}

n=0
stream ring ring "ipc://$tmp/ipc0"
stream ring ring 'tcp://127.0.0.1:*' --batch 7
stream ring channel 'tcp://127.0.0.1:*'
stream channel ring "ipc://$tmp/ipc1" --hwm 10
stream channel channel 'tcp://127.0.0.1:*' --pubsub
stream ring ring "ipc://$tmp/ipc2" --pubsub --batch 1

# SIGTERM the sending bridge mid-stream, start another: every message
# arrives once (what it took went out first, the rest waited in the ring).
kind_dst=ring
src=$(name ss) dst=$(name sd)
ring "$src"
ring "$dst"
consumer "$dst"
start "$tmp/in.err" --bind "ipc://$tmp/ipc3" "$dst"
in=$last
bound "$tmp/in.err" >/dev/null
start "$tmp/out.err" --hwm 5 "$src" "ipc://$tmp/ipc3"
out=$last
"$PEER" produce "$src" "$messages" &
producer=$!
# Mid-stream: once the consumer's ring has seen traffic.
tries=0
while [ "$("$MB" info "$dst" 2>/dev/null | sed -n 's/^tail: //p')" = 0 ] && [ "$tries" -lt 6000 ]; do
	tries=$((tries + 1))
	sleep 0.01
done
stop "$out" out
start "$tmp/out.err" "$src" "ipc://$tmp/ipc3"
out=$last
wait "$producer" || fail "stop mid-stream: the producer failed"
checked "a sending bridge stopped mid-stream and started again"
stop "$out" out
stop "$in" in

# CURVE: a server key pair and a client key pair; the server lets in only
# the client's key; a client with another key delivers nothing.
expect 0 bridge --keygen "$tmp/server" && [ "$(cat "$tmp/out")" = "$(cat "$tmp/server.pub")" ] ||
	fail "--keygen did not print the public key it wrote"
[ "$(stat -c %a "$tmp/server")" = 600 ] || fail "the secret key file is not mode 600"
expect 6 bridge --keygen "$tmp/server" && has err "$tmp/server"
expect 0 bridge --keygen "$tmp/client"
expect 0 bridge --keygen "$tmp/stranger"
src=$(name cs) dst=$(name cd)
ring "$src"
ring "$dst"
messages=1000
start "$tmp/in.err" --bind --curve-secret "$tmp/server" --curve-clients "$tmp/client.pub" \
	'tcp://127.0.0.1:*' "$dst"
in=$last
ep=$(bound "$tmp/in.err")
"$MB" create --ring 4096 "$src-x" >/dev/null
"$MB" push --raw "$src-x" "for nobody"
start "$tmp/stranger.err" --drain 1 --curve-secret "$tmp/stranger" \
	--curve-server-key "$tmp/server.pub" "$src-x" "$ep"
stranger=$last
sleep 1
stop "$stranger" stranger
"$MB" pop --raw "$dst" >/dev/null 2>&1 && fail "a client whose key is not in --curve-clients delivered a message"
kind_dst=ring
consumer "$dst"
start "$tmp/out.err" --curve-secret "$tmp/client" --curve-server-key "$tmp/server.pub" "$src" "$ep"
out=$last
"$PEER" produce "$src" "$messages" || fail "curve: the producer failed"
checked "CURVE"
stop "$out" out
stop "$in" in
grep -q warning "$tmp/in.err" && fail "a CURVE bind warned: $(cat "$tmp/in.err")"

# Without keys, a bind to every interface warns; loopback and ipc do not.
start "$tmp/warn.err" --bind 'tcp://*:*' "$dst"
bound "$tmp/warn.err" >/dev/null
stop "$last" warn
grep -q "unauthenticated" "$tmp/warn.err" || fail "no warning for an unauthenticated bind: $(cat "$tmp/warn.err")"
start "$tmp/warn.err" --bind 'tcp://127.0.0.1:*' "$dst"
bound "$tmp/warn.err" >/dev/null
stop "$last" warn
grep -q "unauthenticated" "$tmp/warn.err" && fail "a loopback bind warned: $(cat "$tmp/warn.err")"

# Usage errors.
expect 2 bridge "$src" "$dst" && has err "ZeroMQ endpoint"
expect 2 bridge tcp://127.0.0.1:1 tcp://127.0.0.1:2
expect 2 bridge "$src"
expect 2 bridge --batch 0 "$src" tcp://127.0.0.1:1
expect 2 bridge --curve-clients "$tmp/client.pub" "$src" tcp://127.0.0.1:1
expect 2 bridge --curve-server-key "$tmp/out" "$src" tcp://127.0.0.1:1 && has err "not a CURVE key"
expect 3 bridge "$(name nope)" tcp://127.0.0.1:1
finish
