# SPDX-License-Identifier: MIT
# Check suites, one program per family; each links the helpers and the library.
MBT_SUITES = \
	tests/check_segment \
	tests/check_codec \
	tests/check_payload \
	tests/check_view \
	tests/check_spsc \
	tests/check_twoproc \
	tests/check_inspect \
	tests/check_eintr \
	tests/check_lease

check_PROGRAMS += $(MBT_SUITES)
TESTS += $(MBT_SUITES)

# -I lib: the helpers' clock is lib/clock.h.
MBT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/lib
MBT_LDADD = lib/libmembridge.la $(CHECK_LIBS)
MBT_HELPERS = tests/helpers.c tests/helpers.h

tests_check_segment_SOURCES = tests/check_segment.c $(MBT_HELPERS)
tests_check_segment_CFLAGS = $(MBT_CFLAGS)
tests_check_segment_LDADD = $(MBT_LDADD)
tests_check_codec_SOURCES = tests/check_codec.c $(MBT_HELPERS)
tests_check_codec_CFLAGS = $(MBT_CFLAGS)
tests_check_codec_LDADD = $(MBT_LDADD)
tests_check_payload_SOURCES = tests/check_payload.c $(MBT_HELPERS)
tests_check_payload_CFLAGS = $(MBT_CFLAGS)
tests_check_payload_LDADD = $(MBT_LDADD)
tests_check_view_SOURCES = tests/check_view.c $(MBT_HELPERS)
tests_check_view_CFLAGS = $(MBT_CFLAGS)
tests_check_view_LDADD = $(MBT_LDADD)
tests_check_spsc_SOURCES = tests/check_spsc.c $(MBT_HELPERS)
tests_check_spsc_CFLAGS = $(MBT_CFLAGS)
tests_check_spsc_LDADD = $(MBT_LDADD)
tests_check_twoproc_SOURCES = tests/check_twoproc.c $(MBT_HELPERS)
tests_check_twoproc_CFLAGS = $(MBT_CFLAGS)
tests_check_twoproc_LDADD = $(MBT_LDADD)
tests_check_inspect_SOURCES = tests/check_inspect.c $(MBT_HELPERS)
tests_check_inspect_CFLAGS = $(MBT_CFLAGS)
tests_check_inspect_LDADD = $(MBT_LDADD)
tests_check_eintr_SOURCES = tests/check_eintr.c $(MBT_HELPERS)
tests_check_eintr_CFLAGS = $(MBT_CFLAGS)
tests_check_eintr_LDADD = $(MBT_LDADD)
tests_check_lease_SOURCES = tests/check_lease.c $(MBT_HELPERS)
tests_check_lease_CFLAGS = $(MBT_CFLAGS)
tests_check_lease_LDADD = $(MBT_LDADD)

AM_TESTS_ENVIRONMENT += CK_VERBOSITY=normal; export CK_VERBOSITY;

# Threads, crash and kill tests; they check the message stream of
# tests/soak-stream.[ch] (MBT_STREAM, tests/scripts.mk) as the soak does.
check_PROGRAMS += tests/check_threads tests/check_crash
TESTS += tests/check_threads tests/check_crash
tests_check_threads_SOURCES = tests/check_threads.c $(MBT_HELPERS) $(MBT_STREAM)
tests_check_threads_CFLAGS = $(MBT_CFLAGS) -pthread
tests_check_threads_LDFLAGS = -pthread
tests_check_threads_LDADD = $(MBT_LDADD)
tests_check_crash_SOURCES = tests/check_crash.c $(MBT_HELPERS) $(MBT_STREAM)
tests_check_crash_CFLAGS = $(MBT_CFLAGS)
tests_check_crash_LDADD = $(MBT_LDADD)

# The bad-input table: one Check test per row (bad call -> exact error).
check_PROGRAMS += tests/check_bad_input
TESTS += tests/check_bad_input
tests_check_bad_input_SOURCES = tests/check_bad_input.c $(MBT_HELPERS)
tests_check_bad_input_CFLAGS = $(MBT_CFLAGS)
tests_check_bad_input_LDADD = $(MBT_LDADD)

# Security: permissions between users and names that try to leave /dev/shm;
# a hostile peer scribbling on a live ring and a live view lock
# (MBT_HOSTILE_SECONDS=N for a longer run).
check_PROGRAMS += tests/check_permissions tests/check_hostile
TESTS += tests/check_permissions tests/check_hostile
tests_check_permissions_SOURCES = tests/check_permissions.c $(MBT_HELPERS)
tests_check_permissions_CFLAGS = $(MBT_CFLAGS)
tests_check_permissions_LDADD = $(MBT_LDADD)
tests_check_hostile_SOURCES = tests/check_hostile.c $(MBT_HELPERS)
tests_check_hostile_CFLAGS = $(MBT_CFLAGS)
tests_check_hostile_LDADD = $(MBT_LDADD)

# The channel: one process (shapes, layout, calls, corrupt segments,
# doorbells), then real processes (streams, SIGKILLed subscribers and
# publishers, poll(2) waits).
check_PROGRAMS += tests/check_channel tests/check_channel_procs
TESTS += tests/check_channel tests/check_channel_procs
tests_check_channel_SOURCES = tests/check_channel.c $(MBT_HELPERS)
tests_check_channel_CFLAGS = $(MBT_CFLAGS)
tests_check_channel_LDADD = $(MBT_LDADD)
tests_check_channel_procs_SOURCES = tests/check_channel_procs.c $(MBT_HELPERS)
tests_check_channel_procs_CFLAGS = $(MBT_CFLAGS)
tests_check_channel_procs_LDADD = $(MBT_LDADD)

# Security: a hostile peer scribbling on a live channel while a publisher
# streams checked messages to two subscribers; then a clean stream.
check_PROGRAMS += tests/check_channel_hostile
TESTS += tests/check_channel_hostile
tests_check_channel_hostile_SOURCES = tests/check_channel_hostile.c $(MBT_HELPERS)
tests_check_channel_hostile_CFLAGS = $(MBT_CFLAGS)
tests_check_channel_hostile_LDADD = $(MBT_LDADD)
