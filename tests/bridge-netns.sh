#!/bin/sh
# SPDX-License-Identifier: MIT
# membridge bridge between two hosts on one machine: two network namespaces
# joined by a veth pair made here (addresses of their own in 10.x; nothing
# leaves the machine). A producer and the sending bridge in one, the
# receiving bridge and a checking consumer (tests/bridge-peer) in the other.
#  1. 10^6 checked messages (10^4 under valgrind), clean shutdowns: 0 lost,
#     duplicated or corrupted.
#  2. The link goes down and comes back mid-stream: 0 lost (TCP and
#     ZeroMQ's reconnection carry on; the ring takes up the slack).
#  3. The receiving bridge SIGKILLed mid-stream and started again: what is
#     lost is one run of messages, at most what membridge(1) says was in
#     flight (--batch + --hwm messages plus the TCP and ZeroMQ buffers),
#     nothing duplicated or corrupted.
# Needs root and ip(8) with netns support: exit 77 (skip) otherwise.
. "${srcdir:-.}/tests/cli-common.sh"
. "${srcdir:-.}/tests/bridge-common.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: making network namespaces needs root"
	exit 77
fi
if ! command -v ip >/dev/null 2>&1 || ! ip netns list >/dev/null 2>&1; then
	echo "SKIP: no ip netns (Debian: apt install iproute2)"
	exit 77
fi
if ! "$MB" bridge --help >/dev/null 2>&1; then
	echo "SKIP: this membridge has no bridge (built without libzmq)"
	exit 77
fi
messages=1000000
restart_messages=200000
if [ -n "${MBT_UNDER_VALGRIND:-}" ]; then
	messages=10000
	restart_messages=10000
fi
HWM=100
BATCH=64

# Names unique per run; the test's own subnet (inside the namespaces only).
ns_a=mbA-$$ ns_b=mbB-$$
veth_a=mbva$$ veth_b=mbvb$$
net=10.$((($$ >> 8) % 200 + 20)).$(($$ % 250))
addr_a=$net.1 addr_b=$net.2
port=5555
pids=
netns_cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_b" 2>/dev/null
	cleanup
}
trap netns_cleanup EXIT

ip netns add "$ns_a" && ip netns add "$ns_b" &&
	ip link add "$veth_a" type veth peer name "$veth_b" &&
	ip link set "$veth_a" netns "$ns_a" && ip link set "$veth_b" netns "$ns_b" &&
	ip -n "$ns_a" addr add "$addr_a/24" dev "$veth_a" &&
	ip -n "$ns_b" addr add "$addr_b/24" dev "$veth_b" &&
	ip -n "$ns_a" link set "$veth_a" up && ip -n "$ns_b" link set "$veth_b" up &&
	ip -n "$ns_a" link set lo up && ip -n "$ns_b" link set lo up || {
	echo "SKIP: cannot make two namespaces joined by a veth pair here"
	exit 77
}
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }

# bridge_b LOG ARGS / bridge_a LOG ARGS: a bridge in that namespace, in the
# background; $last is its pid.
# (ip netns exec execs the command: $! is the bridge itself.)
bridge_in() {
	ns=$1 log=$2
	shift 2
	rm -f "$log"
	ip netns exec "$ns" "$MB" bridge "$@" 2>"$log" &
	last=$!
	pids="$pids $last"
}
bridge_b() { bridge_in "$ns_b" "$@"; }
bridge_a() { bridge_in "$ns_a" "$@"; }

wait_for() { # FILE TEXT: FILE has TEXT (bounded by tries, not a clock)
	tries=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		tries=$((tries + 1))
		[ "$tries" -lt 6000 ] || { fail "never saw '$2' in $1: $(cat "$1")"; return 1; }
		sleep 0.01
	done
}

# until_delivered DST N: wait until N bytes went through ring DST.
until_delivered() {
	tries=0
	while [ "$("$MB" info "$1" 2>/dev/null | sed -n 's/^tail: //p')" -lt "$2" ]; do
		tries=$((tries + 1))
		[ "$tries" -lt 12000 ] || { fail "nothing reached $1"; return 1; }
		sleep 0.01
	done
}


# setup N: fresh rings, the consumer in B, the receiving bridge bound in B,
# the sending bridge connected from A.
setup() {
	count=$1
	src=$(name "src$round") dst=$(name "dst$round")
	round=$((round + 1))
	port=$((port + 1))
	"$MB" create --ring 1048576 "$src" >/dev/null
	"$MB" create --ring 65536 "$dst" >/dev/null
	in_b "$PEER" consume "$dst" "$count" >"$tmp/consumer.out" 2>"$tmp/consumer.err" &
	consumer=$!
	pids="$pids $consumer"
	bridge_b "$tmp/in.err" --bind --seq --hwm $HWM --batch $BATCH "tcp://$addr_b:$port" "$dst"
	in=$last
	wait_for "$tmp/in.err" "bound" || return 1
	bridge_a "$tmp/out.err" --seq --hwm $HWM --batch $BATCH "$src" "tcp://$addr_b:$port"
	out=$last
}

# tally: the consumer's counts (received lost duplicated corrupted gaps);
# wait for it first (a $(...) subshell cannot).
tally() {
	sed -n 's/^received \([0-9]*\) lost \([0-9]*\) duplicated \([0-9]*\) corrupted \([0-9]*\) gaps \([0-9]*\)$/\1 \2 \3 \4 \5/p' "$tmp/consumer.out"
}

round=0
# 1. A clean stream.
setup "$messages"
in_a "$PEER" produce "$src" "$messages" || fail "clean: the producer failed"
wait "$consumer"
set -- $(tally) x
[ "$*" = "$messages 0 0 0 0 x" ] || fail "clean stream: received/lost/dup/corrupt/gaps = $*: $(cat "$tmp/consumer.err")"
echo "clean stream: received $1, lost $2, duplicated $3, corrupted $4"
stop "$out" out
stop "$in" in
grep -q "lost 0 in 0 gaps, 0 sender restarts" "$tmp/in.err" || fail "clean: $(cat "$tmp/in.err")"
grep -q "unauthenticated" "$tmp/in.err" || fail "clean: no warning for a bind without keys: $(cat "$tmp/in.err")"

# 2. The link down for a moment, mid-stream.
setup "$restart_messages"
in_a "$PEER" produce "$src" "$restart_messages" &
producer=$!
until_delivered "$dst" 100000
ip -n "$ns_b" link set "$veth_b" down
sleep 2
ip -n "$ns_b" link set "$veth_b" up
wait "$producer" || fail "link down: the producer failed"
wait "$consumer"
set -- $(tally) x
[ "$*" = "$restart_messages 0 0 0 0 x" ] || fail "link down and up: received/lost/dup/corrupt/gaps = $*"
echo "link down and up: received $1, lost $2, duplicated $3, corrupted $4"
stop "$out" out
stop "$in" in

# 3. The receiving bridge killed and started again.
setup "$restart_messages"
in_a "$PEER" produce "$src" "$restart_messages" &
producer=$!
until_delivered "$dst" 100000
kill -KILL "$in"
wait "$in"
bridge_b "$tmp/in.err" --bind --seq --hwm $HWM --batch $BATCH "tcp://$addr_b:$port" "$dst"
in=$last
wait "$producer" || fail "restart: the producer failed"
wait "$consumer"
set -- $(tally) x
received=$1 lost=$2 dup=$3 corrupt=$4 gaps=$5
# In flight at the kill, at most: the bridge's batch, its ZeroMQ queue, and
# the bytes in both ends' TCP buffers and ZeroMQ's 8 KiB I/O batches, in
# messages of at least 12 + 16 (--seq) + 2 + 2 (frame headers) bytes.
rmem=$(in_b cat /proc/sys/net/ipv4/tcp_rmem | awk '{print $3}')
wmem=$(in_a cat /proc/sys/net/ipv4/tcp_wmem | awk '{print $3}')
bound=$((BATCH + HWM + (rmem + wmem + 16384) / 32))
echo "receiving bridge killed and restarted: received $received, lost $lost in $gaps run(s) (bound $bound), duplicated $dup, corrupted $corrupt"
[ "$dup" = 0 ] && [ "$corrupt" = 0 ] || fail "restart: duplicated $dup, corrupted $corrupt"
# The consumer counts a run of lost messages when a later one comes; a run
# at the very end (the sending bridge had taken the rest of the stream and
# queued it for the peer that was killed) shows only as messages missing.
tail_lost=$((restart_messages - received - lost))
[ "$tail_lost" -ge 0 ] || fail "restart: received $received + lost $lost > $restart_messages"
runs=$gaps
[ "$tail_lost" -eq 0 ] || runs=$((runs + 1))
[ "$runs" -le 1 ] || fail "restart: the losses are $runs runs ($gaps gaps, $tail_lost lost at the end), not one"
[ $((lost + tail_lost)) -le "$bound" ] || fail "restart: lost $((lost + tail_lost)), more than the $bound that can be in flight"
stop "$out" out
stop "$in" in
grep -q "lost 0 in 0 gaps, 0 sender restarts" "$tmp/in.err" || fail "restart: $(cat "$tmp/in.err")"
finish
