# SPDX-License-Identifier: MIT
# Benchmarks. `make bench` builds the C programs, runs each of them and the
# Python benchmark with $(BENCH_ARGS) (e.g. BENCH_ARGS=--quick, or
# '--runs 7'), collects their RESULT and NOTE lines in
# bench-results/results.tsv and tabulates them with bench/report.py, which
# also writes bench-results/bench.md and bench-results/bench.png.
# The programs are check programs: make check compiles them, never runs them.
BENCH_PROGS = \
	bench/ring_rate \
	bench/ring_latency \
	bench/channel_rate \
	bench/channel_latency \
	bench/lock_bench
if !MB_WINDOWS
check_PROGRAMS += $(BENCH_PROGS)
endif

BENCH_COMMON = bench/bench-common.c bench/bench-common.h
BENCH_LDADD = lib/libmembridge.la
# -I lib: bench-common's clock is lib/clock.h.
BENCH_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/lib

bench_ring_rate_SOURCES = bench/ring_rate.c bench/ref-ring.c bench/ref-ring.h $(BENCH_COMMON)
bench_ring_rate_CPPFLAGS = $(BENCH_CPPFLAGS)
bench_ring_rate_CFLAGS = $(AM_CFLAGS) -pthread
bench_ring_rate_LDFLAGS = -pthread
bench_ring_rate_LDADD = $(BENCH_LDADD)
bench_ring_latency_SOURCES = bench/ring_latency.c bench/ref-ring.c bench/ref-ring.h \
	$(BENCH_COMMON)
bench_ring_latency_CPPFLAGS = $(BENCH_CPPFLAGS)
bench_ring_latency_LDADD = $(BENCH_LDADD)
# The channel benchmarks; with iceoryx's C binding (configure), iceoryx is
# one of their peers.
CHANNEL_BENCH_COMMON = bench/channel-common.c bench/channel-common.h $(BENCH_COMMON)
CHANNEL_BENCH_CPPFLAGS = $(BENCH_CPPFLAGS)
CHANNEL_BENCH_LDADD = $(BENCH_LDADD)
if HAVE_ICEORYX
CHANNEL_BENCH_COMMON += bench/iceoryx-peer.c bench/iceoryx-peer.h
CHANNEL_BENCH_CPPFLAGS += -DMB_BENCH_ICEORYX $(ICEORYX_CFLAGS)
CHANNEL_BENCH_LDADD += $(ICEORYX_LIBS)
endif
bench_channel_rate_SOURCES = bench/channel_rate.c bench/ref-ring.c bench/ref-ring.h \
	$(CHANNEL_BENCH_COMMON)
bench_channel_rate_CPPFLAGS = $(CHANNEL_BENCH_CPPFLAGS)
bench_channel_rate_LDADD = $(CHANNEL_BENCH_LDADD)
bench_channel_latency_SOURCES = bench/channel_latency.c bench/ref-ring.c bench/ref-ring.h \
	$(CHANNEL_BENCH_COMMON)
bench_channel_latency_CPPFLAGS = $(CHANNEL_BENCH_CPPFLAGS)
bench_channel_latency_LDADD = $(CHANNEL_BENCH_LDADD)
bench_lock_bench_SOURCES = bench/lock_bench.c $(BENCH_COMMON)
bench_lock_bench_CPPFLAGS = $(BENCH_CPPFLAGS)
bench_lock_bench_CFLAGS = $(AM_CFLAGS) -pthread
bench_lock_bench_LDFLAGS = -pthread
bench_lock_bench_LDADD = $(BENCH_LDADD)

# The bridge over loopback TCP against plain ZeroMQ (with libzmq); it runs
# the membridge tool of this build.
if HAVE_ZMQ
BENCH_PROGS += bench/bridge_rate
BENCH_TOOL = tools/membridge$(EXEEXT)
endif
bench_bridge_rate_SOURCES = bench/bridge_rate.c $(BENCH_COMMON)
bench_bridge_rate_CPPFLAGS = $(BENCH_CPPFLAGS) $(ZMQ_CFLAGS)
bench_bridge_rate_LDADD = $(BENCH_LDADD) $(ZMQ_LIBS)

EXTRA_DIST += bench/report.py
EXTRA_DIST += bench/pyring.py
EXTRA_DIST += bench/results/bench.md bench/results/bench.png

BENCH_OUT = bench-results
# The lines of a program's output that go to results.tsv: RESULT, NOTE or GOAL, then a tab.
BENCH_LINES = ^(RESULT|NOTE|GOAL)[[:cntrl:]]
if HAVE_PYTHON
BENCH_PY_DEPS = python-ext
BENCH_PY = yes
BENCH_REPORT_PY = $(PYTHON)
else
BENCH_PY_DEPS =
BENCH_PY = no
BENCH_REPORT_PY = python3
endif

bench: $(BENCH_PROGS:=$(EXEEXT)) $(BENCH_TOOL) $(BENCH_PY_DEPS)
	@rm -rf $(BENCH_OUT) && $(MKDIR_P) $(BENCH_OUT)
	@set -e; for prog in $(BENCH_PROGS); do \
		name=`basename $$prog`; \
		echo "$$prog $(BENCH_ARGS)" >> $(BENCH_OUT)/commands.txt; \
		echo "== $$prog $(BENCH_ARGS)"; \
		$(builddir)/$$prog $(BENCH_ARGS) > $(BENCH_OUT)/$$name.out; \
		grep -E "$(BENCH_LINES)" $(BENCH_OUT)/$$name.out >> $(BENCH_OUT)/results.tsv; \
	done
	@if test $(BENCH_PY) = yes; then \
		echo "bench/python_rate.py --results $(BENCH_ARGS)" >> $(BENCH_OUT)/commands.txt; \
		echo "== bench/python_rate.py --results $(BENCH_ARGS)"; \
		$(PY_RUN_ENV) $(PYTHON) $(srcdir)/bench/python_rate.py --results $(BENCH_ARGS) \
			> $(BENCH_OUT)/python_rate.out && \
		grep -E "$(BENCH_LINES)" $(BENCH_OUT)/python_rate.out >> $(BENCH_OUT)/results.tsv; \
	else \
		echo "bench: configure found no usable Python; the Python benchmark is skipped"; \
	fi
	@$(BENCH_REPORT_PY) $(srcdir)/bench/report.py --dir $(BENCH_OUT) \
		--command "make bench BENCH_ARGS='$(BENCH_ARGS)'" --cc "$(CC)"
.PHONY: bench

clean-local: clean-bench
clean-bench:
	-rm -rf $(BENCH_OUT)
.PHONY: clean-bench
