# SPDX-License-Identifier: MIT
# The portable test runner (no Check): the same cases in make check on Linux
# and, cross-built, under wine in make check-windows.
check_PROGRAMS += tests/portable/runner
TESTS += tests/portable/runner
tests_portable_runner_SOURCES = tests/portable/runner.c
tests_portable_runner_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)
