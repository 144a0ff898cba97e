#!/bin/sh
# SPDX-License-Identifier: MIT
# make check's short soak: 10^6 checked messages between two processes (10^5 under valgrind).
set -eu
messages=1000000
if [ -n "${MBT_UNDER_VALGRIND:-}" ]; then
	messages=100000
fi
# MBT_LOG_COMPILER: the wrapper make check-valgrind runs test programs under.
exec ${MBT_LOG_COMPILER:-} ./tests/soak --messages "$messages" --seed "${MBT_SOAK_SEED:-1}"
