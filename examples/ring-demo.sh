#!/bin/sh
# SPDX-License-Identifier: MIT
# Run ring_consumer and ring_producer as two processes streaming through one ring.
#
# usage: ring-demo.sh [DIR] [-n COUNT] [-s CAPACITY] [-t SECONDS] [NAME]
#   DIR   where ring_producer and ring_consumer are (default: next to this
#         script, else ./examples, else .); in a build tree these are libtool
#         wrapper scripts, which run the freshly built programs.
#   NAME  the ring's segment name (default /mb-ring-demo-<pid>, so two
#         demos running at once do not meet).
# Exits non-zero if either program fails.

me=ring-demo.sh
usage() {
	sed -n 's/^# \{0,1\}//; 4,11p' "$0" >&2
	exit 2
}

dir=
if [ $# -gt 0 ] && [ -d "$1" ]; then
	dir=$1
	shift
else
	for d in "$(dirname "$0")" ./examples .; do
		if [ -x "$d/ring_producer" ] && [ -x "$d/ring_consumer" ]; then
			dir=$d
			break
		fi
	done
fi
count=1000000
cap=
timeout=
while getopts n:s:t:h opt; do
	case $opt in
	n) count=$OPTARG ;;
	s) cap=$OPTARG ;;
	t) timeout=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
name=${1:-/mb-ring-demo-$$}
[ $# -le 1 ] || usage
case $name in
/*/* | / | [!/]*)
	echo "$me: a ring name is '/' and a file name, like /my-ring" >&2
	exit 2
	;;
esac
if [ -z "$dir" ]; then
	echo "$me: cannot find ring_producer and ring_consumer; give their directory first" >&2
	exit 2
fi

# Options for the consumer (it creates the ring) and the producer.
copts="-n $count${cap:+ -s $cap}${timeout:+ -t $timeout}"
popts="-n $count${timeout:+ -t $timeout}"

consumer_pid=
cleanup() {
	if [ -n "$consumer_pid" ]; then
		kill "$consumer_pid" 2>/dev/null
		wait "$consumer_pid" 2>/dev/null
	fi
	# Normally the consumer has removed the ring; make sure of it if not.
	if [ -d /dev/shm ]; then
		rm -f "/dev/shm$name" "/dev/shm$name.membridge-wait"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

echo "$me: $count messages from ring_producer to ring_consumer (two processes) through $name"

# The consumer creates the ring, so it goes first, in the background; the
# producer would wait for the ring anyway if it were started first.
# shellcheck disable=SC2086 # the option strings are meant to be split
"$dir/ring_consumer" $copts "$name" &
consumer_pid=$!
# shellcheck disable=SC2086
"$dir/ring_producer" $popts "$name"
producer_rc=$?
if [ $producer_rc -ne 0 ]; then
	# Do not let the consumer wait out its timeout for messages.
	kill "$consumer_pid" 2>/dev/null
fi
wait "$consumer_pid"
consumer_rc=$?
consumer_pid=

if [ $producer_rc -ne 0 ] || [ $consumer_rc -ne 0 ]; then
	echo "$me: FAILED (producer exit $producer_rc, consumer exit $consumer_rc)" >&2
	exit 1
fi
echo "$me: OK"
