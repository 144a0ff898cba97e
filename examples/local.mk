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
examples_single_process_LDADD = lib/libmembridge.la
examples_view_writer_SOURCES = examples/view_writer.c
examples_view_writer_LDADD = lib/libmembridge.la
examples_view_reader_SOURCES = examples/view_reader.c
examples_view_reader_LDADD = lib/libmembridge.la
examples_ring_producer_SOURCES = examples/ring_producer.c examples/ring_demo.h
examples_ring_producer_LDADD = lib/libmembridge.la
examples_ring_consumer_SOURCES = examples/ring_consumer.c examples/ring_demo.h
examples_ring_consumer_LDADD = lib/libmembridge.la

EXTRA_DIST += examples/ring-demo.sh
dist_check_SCRIPTS += examples/run-examples.sh

# Runs from the top build directory, where the programs are examples/<name>.
TESTS += examples/run-examples.sh

DEMO_FLAGS =
.PHONY: demo
demo: $(MB_EXAMPLES:=$(EXEEXT))
	$(SHELL) $(srcdir)/examples/ring-demo.sh $(builddir)/examples $(DEMO_FLAGS)
