# SPDX-License-Identifier: MIT
# Sourced by the bridge tests after tests/cli-common.sh: skip without a
# bridge, and stop a bridge as a user would.
PEER=./tests/bridge-peer
if ! "$MB" bridge --help >/dev/null 2>&1; then
	echo "SKIP: this membridge has no bridge (built without libzmq)"
	exit 77
fi
# Seconds a stopped bridge may take to exit.
EXIT_BOUND=60

# stop PID WHAT: SIGTERM, and it exits 0 within EXIT_BOUND seconds
# (its stderr is $tmp/WHAT.err).
stop() {
	kill -TERM "$1"
	waited=0
	while kill -0 "$1" 2>/dev/null && [ "$waited" -lt $((EXIT_BOUND * 10)) ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	kill -0 "$1" 2>/dev/null && { fail "$2 still runs ${EXIT_BOUND}s after SIGTERM"; kill -KILL "$1"; }
	wait "$1"
	st=$?
	[ "$st" -eq 0 ] || fail "$2 exited $st after SIGTERM: $(cat "$tmp/$2.err")"
}
