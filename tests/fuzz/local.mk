# SPDX-License-Identifier: MIT
# libFuzzer targets: built in a CC=clang --enable-fuzzing build, where
# `make fuzz` runs each for FUZZ_SECONDS through the test harness.
FUZZ_TARGETS = \
	tests/fuzz/fuzz_spsc \
	tests/fuzz/fuzz_view \
	tests/fuzz/fuzz_codec \
	tests/fuzz/fuzz_name \
	tests/fuzz/fuzz_channel \
	tests/fuzz/fuzz_payload
FUZZ_COMMON = tests/fuzz/fuzz-common.c tests/fuzz/fuzz-common.h

# Sources, seed corpora (tests/fuzz/make-seeds.py writes them) and scripts
# are distributed in every build: make check-hardening fuzzes the dist tree.
EXTRA_DIST += tests/fuzz/README tests/fuzz/run-target.sh tests/fuzz/make-seeds.py \
	tests/fuzz/corpus $(FUZZ_COMMON) tests/fuzz/fuzz_spsc.c tests/fuzz/fuzz_view.c \
	tests/fuzz/fuzz_codec.c tests/fuzz/fuzz_name.c tests/fuzz/fuzz_channel.c \
	tests/fuzz/fuzz_payload.c

if ENABLE_FUZZING
check_PROGRAMS += $(FUZZ_TARGETS)
TESTS += $(FUZZ_TARGETS)
# The wrapper fuzzes the fuzz_* programs and runs every other test as is.
LOG_COMPILER = $(SHELL) $(srcdir)/tests/fuzz/run-target.sh
AM_TESTS_ENVIRONMENT += FUZZ_SECONDS=$(FUZZ_SECONDS); export FUZZ_SECONDS;

# -no-install: real executables, which run-target.sh starts and watches.
FUZZ_LINK = $(FUZZ_LDFLAGS) -no-install
tests_fuzz_fuzz_spsc_SOURCES = tests/fuzz/fuzz_spsc.c $(FUZZ_COMMON)
tests_fuzz_fuzz_spsc_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_spsc_LDADD = lib/libmembridge.la
tests_fuzz_fuzz_view_SOURCES = tests/fuzz/fuzz_view.c $(FUZZ_COMMON)
tests_fuzz_fuzz_view_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_view_LDADD = lib/libmembridge.la
tests_fuzz_fuzz_codec_SOURCES = tests/fuzz/fuzz_codec.c $(FUZZ_COMMON)
tests_fuzz_fuzz_codec_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_codec_LDADD = lib/libmembridge.la
tests_fuzz_fuzz_name_SOURCES = tests/fuzz/fuzz_name.c $(FUZZ_COMMON)
tests_fuzz_fuzz_name_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_name_LDADD = lib/libmembridge.la
tests_fuzz_fuzz_channel_SOURCES = tests/fuzz/fuzz_channel.c $(FUZZ_COMMON)
tests_fuzz_fuzz_channel_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_channel_LDADD = lib/libmembridge.la
tests_fuzz_fuzz_payload_SOURCES = tests/fuzz/fuzz_payload.c $(FUZZ_COMMON)
tests_fuzz_fuzz_payload_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_payload_LDADD = lib/libmembridge.la

# Only the fuzz targets (nothing else is built), with their own suite log.
fuzz: $(FUZZ_TARGETS)
	$(MAKE) $(AM_MAKEFLAGS) check-TESTS TESTS='$(FUZZ_TARGETS)' \
		check_PROGRAMS='$(FUZZ_TARGETS:=$(EXEEXT))' check_DATA= \
		TEST_SUITE_LOG=tests/fuzz/fuzz-suite.log
else
fuzz:
	@echo "make fuzz: this build has no fuzz targets; configure a build with" \
		"CC=clang --enable-fuzzing (Debian: clang, libclang-rt-14-dev)" >&2; exit 1
endif
.PHONY: fuzz

clean-local: clean-fuzz
clean-fuzz:
	-rm -rf tests/fuzz/*.corpus tests/fuzz/*.artifacts tests/fuzz/*.fuzzer-output \
		tests/fuzz/fuzz-suite.log
.PHONY: clean-fuzz
