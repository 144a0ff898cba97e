# SPDX-License-Identifier: MIT
lib_LTLIBRARIES += lib/libmembridge.la

include_HEADERS = include/membridge.h
membridgeincludedir = $(includedir)/membridge
membridgeinclude_HEADERS = include/membridge/export.h
nodist_membridgeinclude_HEADERS = include/membridge/version.h include/membridge/features.h

lib_libmembridge_la_SOURCES = \
	lib/clock.h \
	lib/internal.h \
	lib/spsc-layout.h \
	lib/channel-layout.h \
	lib/platform.h \
	lib/errors.c \
	lib/version.c \
	lib/segment.c \
	lib/event.c \
	lib/rwlock.c \
	lib/codec.c \
	lib/view.c \
	lib/spsc.c \
	lib/inspect.c \
	lib/process.c \
	lib/channel.c \
	lib/array.c \
	lib/parts.c \
	lib/doorbell.c
if MB_WINDOWS
lib_libmembridge_la_SOURCES += lib/platform-win32.c
else
lib_libmembridge_la_SOURCES += lib/platform-posix.c
endif
lib_libmembridge_la_CPPFLAGS = $(AM_CPPFLAGS) -DMEMBRIDGE_BUILDING
lib_libmembridge_la_CFLAGS = $(AM_CFLAGS) $(VISIBILITY_CFLAGS)
lib_libmembridge_la_LDFLAGS = -version-info $(MEMBRIDGE_LT_VERSION) -no-undefined $(HARDEN_LDFLAGS)
if HAVE_LD_VERSION_SCRIPT
lib_libmembridge_la_LDFLAGS += -Wl,--version-script=$(srcdir)/lib/libmembridge.map
EXTRA_lib_libmembridge_la_DEPENDENCIES = lib/libmembridge.map
endif
EXTRA_DIST += lib/libmembridge.map
