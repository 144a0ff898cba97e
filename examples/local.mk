# SPDX-License-Identifier: MIT
# Example programs (built, not installed), the two-process ring demo
# (`make demo`, or `make demo DEMO_FLAGS="-n 100000"`) and their smoke test.
MB_EXAMPLES = \
	examples/single_process \
	examples/view_writer \
	examples/view_reader \
	examples/ring_producer \
	examples/ring_consumer
noinst_PROGRAMS += $(MB_EXAMPLES)

examples_single_process_SOURCES = examples/single_process.c
examples_single_process_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)
examples_view_writer_SOURCES = examples/view_writer.c
examples_view_writer_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)
examples_view_reader_SOURCES = examples/view_reader.c
examples_view_reader_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)
examples_ring_producer_SOURCES = examples/ring_producer.c examples/ring_demo.h
examples_ring_producer_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)
examples_ring_consumer_SOURCES = examples/ring_consumer.c examples/ring_demo.h
examples_ring_consumer_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)

EXTRA_DIST += examples/ring-demo.sh examples/run-examples.sh

# The same stream through a ring and through a pipe, timed (fork and pipe:
# POSIX only).
if !MB_WINDOWS
noinst_PROGRAMS += examples/ring_vs_pipe
endif
examples_ring_vs_pipe_SOURCES = examples/ring_vs_pipe.c
examples_ring_vs_pipe_LDADD = lib/libmembridge.la

# A channel publisher and its subscribers, which wait with poll(2) on their
# descriptors (on Windows, which has none, in the blocking receive). Each is
# one file that also builds on its own with pkg-config, as the README shows.
noinst_PROGRAMS += examples/channel_publisher examples/channel_subscriber
examples_channel_publisher_SOURCES = examples/channel_publisher.c
examples_channel_publisher_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)
examples_channel_subscriber_SOURCES = examples/channel_subscriber.c
examples_channel_subscriber_LDADD = lib/libmembridge.la $(MB_POSIX_TIME_LIBS)

# Runs from the top build directory, where the programs are examples/<name>.
if !MB_WINDOWS
TESTS += examples/run-examples.sh
endif

EXTRA_DIST += \
	examples/single_process.py \
	examples/producer.py \
	examples/consumer.py \
	examples/spsc_producer.py \
	examples/spsc_consumer.py \
	examples/ring_producer.py \
	examples/ring_consumer.py \
	examples/ring_vs_queue.py \
	examples/asyncio_service.py \
	examples/frame_pipeline.py \
	examples/c_to_python.sh \
	examples/python-demo.sh

# `make demo`: the C ring demo, then (with Python) Python -> Python and
# C -> Python through a ring. DEMO_FLAGS="-n 100000" sets the count.
DEMO_FLAGS =
.PHONY: demo demo-c demo-python
demo: demo-c demo-python
demo-c: $(MB_EXAMPLES:=$(EXEEXT)) examples/ring_vs_pipe$(EXEEXT)
	$(builddir)/examples/ring_vs_pipe 1000000
	@echo
	$(SHELL) $(srcdir)/examples/ring-demo.sh $(builddir)/examples $(DEMO_FLAGS)
if HAVE_PYTHON
demo-python: python-ext examples/ring_producer$(EXEEXT)
	$(PY_RUN_ENV) $(SHELL) $(srcdir)/examples/python-demo.sh $(builddir)/examples $(DEMO_FLAGS)
else
demo-python:
	@echo "demo-python: no usable Python found by configure; skipped"
endif
