# SPDX-License-Identifier: MIT
# The portable test runner (no Check): the same cases in make check on Linux
# and, cross-built, under wine in make check-windows.
check_PROGRAMS += tests/portable/runner
if MB_WINDOWS
TESTS += tests/portable/run-wine.sh
else
TESTS += tests/portable/runner
endif
tests_portable_runner_SOURCES = tests/portable/runner.c
tests_portable_runner_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib
tests_portable_runner_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)

# make check-windows: cross-build the distributed tree with mingw-w64
# (library, examples, runner) in windows/build and run it under wine64.
# Debian: apt-get install mingw-w64 wine64.
WINDOWS_HOST = x86_64-w64-mingw32
WINDOWS_SRC = windows/src
check-windows:
	rm -rf windows
	$(MKDIR_P) windows/build
	$(MAKE) $(AM_MAKEFLAGS) distdir distdir=$(WINDOWS_SRC) top_distdir=$(WINDOWS_SRC)
	cd windows/build && ../src/configure --host=$(WINDOWS_HOST) --enable-werror PYTHON=: \
		&& $(MAKE) $(AM_MAKEFLAGS) all && $(MAKE) $(AM_MAKEFLAGS) check
.PHONY: check-windows
EXTRA_DIST += tests/portable/run-wine.sh
clean-local: clean-windows
clean-windows:
	rm -rf windows
.PHONY: clean-windows
