# SPDX-License-Identifier: MIT
# The tests that need no Check: shell scripts and the soak program. Every
# POSIX build runs them, with Check or without.
AM_TESTS_ENVIRONMENT += srcdir=$(srcdir); export srcdir;
# What the platform allows (configure): tests/cli-common.sh reads these.
AM_TESTS_ENVIRONMENT += MBT_HAVE_LISTING=$(MB_SHM_LISTING) MBT_NAME_MAX=$(MEMBRIDGE_NAME_MAX); \
	export MBT_HAVE_LISTING MBT_NAME_MAX;

# Scripts: the ABI (header == version script == exports) and test coverage
# of every exported function.
dist_check_SCRIPTS += tests/abi-check.sh tests/api-coverage.sh
TESTS += tests/abi-check.sh tests/api-coverage.sh

# The two-process soak (tests/soak.sh runs it in make check; run
# tests/soak --messages N by hand for a long run) and the checked message
# stream it shares with the threads and crash suites of tests/local.mk.
MBT_STREAM = tests/soak-stream.c tests/soak-stream.h
check_PROGRAMS += tests/soak
tests_soak_SOURCES = tests/soak.c $(MBT_STREAM)
tests_soak_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib
tests_soak_LDADD = lib/libmembridge.la
dist_check_SCRIPTS += tests/soak.sh
TESTS += tests/soak.sh
# soak.sh runs the soak program under the same wrapper as the test programs
# (valgrind in make check-valgrind).
AM_TESTS_ENVIRONMENT += MBT_LOG_COMPILER='$(LOG_COMPILER)'; export MBT_LOG_COMPILER;

# membridge(1) without Python: shell scripts that drive the tool this build
# made (they share tests/cli-common.sh; each skips when there is no tool).
MBT_CLI_TESTS = \
	tests/cli-basic.sh \
	tests/cli-errors.sh \
	tests/cli-corrupt.sh \
	tests/cli-signals.sh \
	tests/cli-channel.sh \
	tests/cli-bridge.sh \
	tests/bridge-netns.sh
dist_check_SCRIPTS += $(MBT_CLI_TESTS)
TESTS += $(MBT_CLI_TESTS)
EXTRA_DIST += tests/cli-common.sh tests/bridge-common.sh

# The two ends of the bridge tests: a checked stream (MBT_STREAM) through a
# ring or a channel.
check_PROGRAMS += tests/bridge-peer
tests_bridge_peer_SOURCES = tests/bridge-peer.c $(MBT_STREAM)
tests_bridge_peer_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib
tests_bridge_peer_LDADD = lib/libmembridge.la
