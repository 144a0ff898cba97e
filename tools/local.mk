# SPDX-License-Identifier: MIT
# membridge(1): the command-line tool (Linux: it lists /dev/shm).
if !MB_WINDOWS
bin_PROGRAMS = tools/membridge
tools_membridge_SOURCES = \
	tools/cli.h \
	tools/membridge.c \
	tools/report.c \
	tools/parse.c \
	tools/signals.c \
	tools/format.c \
	tools/inspect.c \
	tools/describe.c \
	tools/open.c \
	tools/cmd-list.c \
	tools/cmd-info.c \
	tools/cmd-create.c \
	tools/cmd-push.c \
	tools/cmd-pop.c \
	tools/cmd-watch.c \
	tools/cmd-unlock.c \
	tools/cmd-bench.c
tools_membridge_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib
tools_membridge_LDADD = lib/libmembridge.la -lm
tools_membridge_LDFLAGS = $(HARDEN_LDFLAGS)
# membridge bridge, with libzmq (configure: --without-zmq leaves it out).
if HAVE_ZMQ
tools_membridge_SOURCES += \
	tools/bridge.h \
	tools/cmd-bridge.c \
	tools/bridge-out.c \
	tools/bridge-in.c \
	tools/bridge-curve.c
tools_membridge_CPPFLAGS += $(ZMQ_CFLAGS)
tools_membridge_LDADD += $(ZMQ_LIBS)
endif
endif
