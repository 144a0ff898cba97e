#!/bin/sh
# SPDX-License-Identifier: MIT
# The Python side of `make demo`: first the same stream of str messages
# through a ring and through multiprocessing.Queue, timed side by side
# (ring_vs_queue.py); then a Python producer streams to a Python consumer
# through a ring, and the C ring_producer streams to the same Python consumer
# (both languages share the frame format of membridge(7)), every message
# checked.
#
# usage: python-demo.sh DIR [-n COUNT]
#   DIR  where the C example programs are (ring_producer)
# Needs the membridge package importable by $PYTHON (default python3).
set -e
: "${PYTHON:=python3}"
here=$(dirname "$0")
dir=$1
shift
count=300000
if [ "$1" = "-n" ]; then
	count=$2
fi
name=/mbdemo-$$
consumer_pid=
cleanup() {
	[ -n "$consumer_pid" ] && kill "$consumer_pid" 2>/dev/null
	rm -f "/dev/shm$name" "/dev/shm$name.membridge-wait"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

"$PYTHON" "$here/ring_vs_queue.py" -n 100000
echo
echo "python-demo.sh: $count messages from ring_producer.py to ring_consumer.py (two Python processes) through $name"
"$PYTHON" "$here/ring_consumer.py" -n "$count" "$name" &
consumer_pid=$!
"$PYTHON" "$here/ring_producer.py" -n "$count" "$name"
wait "$consumer_pid"
consumer_pid=
echo
PYTHON=$PYTHON "$here/c_to_python.sh" "$dir" -n "$count"
echo "python-demo.sh: OK"
