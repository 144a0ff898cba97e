# SPDX-License-Identifier: MIT
# The Python package: shipped in the tarball, built and tested by make check
# (tests/run-pytest.sh builds it into python-build/ against lib/.libs).
EXTRA_DIST += \
	python/README.md \
	python/pyproject.toml \
	python/setup.py \
	python/membridge/__init__.py \
	python/membridge/__init__.pyi \
	python/membridge/py.typed \
	python/src/membridge_py.h \
	python/src/module.c \
	python/src/errors.c \
	python/src/convert.c \
	python/src/wait.c \
	python/src/shared_memory.c \
	python/src/mapped_view.c \
	python/src/lock_guard.c \
	python/src/spsc.c \
	python/tests/conftest.py \
	python/tests/mbhelpers.py \
	python/tests/test_codec_hypothesis.py \
	python/tests/test_examples.py \
	python/tests/test_interop.py \
	python/tests/test_mapped_view.py \
	python/tests/test_reference_examples.py \
	python/tests/test_shared_memory.py \
	python/tests/test_smoke.py \
	python/tests/test_spsc.py \
	python/tests/test_two_process.py

if HAVE_PYTHON
# The extension, built in the build tree against lib/.libs: PKG_CONFIG_PATH
# selects membridge-uninstalled.pc. Every output, egg-info included, goes
# to python-build/, since srcdir may be read-only.
PY_BUILD = $(abs_top_builddir)/python-build
python-ext: lib/libmembridge.la
	$(AM_V_GEN)$(MKDIR_P) "$(PY_BUILD)" && cd $(srcdir)/python && \
	PKG_CONFIG_PATH="$(abs_top_builddir)$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}" \
	$(PYTHON) setup.py -q egg_info --egg-base "$(PY_BUILD)" \
		build --build-base "$(PY_BUILD)" --build-lib "$(PY_BUILD)/lib" \
		--build-temp "$(PY_BUILD)/temp"
check_DATA = python-ext
# How the examples and tests run the built package.
PY_RUN_ENV = PYTHONPATH="$(PY_BUILD)/lib" PYTHON="$(PYTHON)" \
	LD_LIBRARY_PATH="$(abs_top_builddir)/lib/.libs$${LD_LIBRARY_PATH:+:$$LD_LIBRARY_PATH}"
TESTS += tests/run-pytest.sh
# Cross-process rate of short str messages: the ring next to
# multiprocessing.Queue. BENCH_ARGS='--quick', or '--min-ratio 20' to fail
# below the target.
BENCH_ARGS =
bench-python: python-ext
	$(PY_RUN_ENV) $(PYTHON) $(srcdir)/bench/python_rate.py $(BENCH_ARGS)
endif
EXTRA_DIST += bench/python_rate.py

clean-local: clean-python
clean-python:
	-rm -rf python-build
.PHONY: clean-python python-ext bench-python
