#!/bin/sh
# SPDX-License-Identifier: MIT
# The C ring_producer streams to the Python ring_consumer.py through one ring:
# both languages share the frame format of membridge(7).
#
# usage: c_to_python.sh [DIR] [-n COUNT] [NAME]
#   DIR   where ring_producer is (default: ./examples, then next to this script)
#   NAME  ring name (default /membridge-c2py-<pid>)
# Needs the membridge Python package importable by $PYTHON (default python3).
: "${PYTHON:=python3}"
here=$(dirname "$0")
dir=
if [ $# -gt 0 ] && [ -d "$1" ]; then
	dir=$1
	shift
else
	for d in ./examples "$here"; do
		[ -x "$d/ring_producer" ] && dir=$d && break
	done
fi
count=100000
if [ "$1" = "-n" ]; then
	count=$2
	shift 2
fi
name=${1:-/membridge-c2py-$$}
if [ -z "$dir" ]; then
	echo "c_to_python.sh: cannot find ring_producer; give its directory first" >&2
	exit 2
fi

consumer_pid=
cleanup() {
	[ -n "$consumer_pid" ] && kill "$consumer_pid" 2>/dev/null
	rm -f "/dev/shm$name" "/dev/shm$name.membridge-wait"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# The Python side creates the ring; the C producer waits for it.
"$PYTHON" "$here/ring_consumer.py" -n "$count" "$name" &
consumer_pid=$!
"$dir/ring_producer" -n "$count" "$name"
prc=$?
[ $prc -eq 0 ] || kill "$consumer_pid" 2>/dev/null
wait "$consumer_pid"
crc=$?
consumer_pid=
if [ $prc -ne 0 ] || [ $crc -ne 0 ]; then
	echo "c_to_python.sh: FAILED (producer exit $prc, consumer exit $crc)" >&2
	exit 1
fi
echo "c_to_python.sh: OK"
