# SPDX-License-Identifier: MIT
# The Python package: shipped in the tarball, built into python-build/
# against lib/.libs and tested by make check (tests/run-pytest.sh).
# What the extension is built from (copied to the build tree, see below).
PY_PACKAGE_FILES = \
	python/README.md \
	python/pyproject.toml \
	python/setup.py \
	python/membridge/__init__.py \
	python/membridge/__init__.pyi \
	python/membridge/_objects.py \
	python/membridge/py.typed \
	python/membridge/_aio.py \
	python/src/membridge_py.h \
	python/src/module.c \
	python/src/errors.c \
	python/src/convert.c \
	python/src/wait.c \
	python/src/shared_memory.c \
	python/src/mapped_view.c \
	python/src/lock_guard.c \
	python/src/spsc.c \
	python/src/frame_peek.c \
	python/src/channel.c \
	python/src/publisher.c \
	python/src/loan.c \
	python/src/subscriber.c \
	python/src/message.c \
	python/src/payload.c \
	python/src/aio.c
EXTRA_DIST += $(PY_PACKAGE_FILES) \
	python/local.mk \
	python/tests/conftest.py \
	python/tests/mbhelpers.py \
	python/tests/test_aio.py \
	python/tests/test_bad_input.py \
	python/tests/test_channel.py \
	python/tests/test_channel_procs.py \
	python/tests/test_cli.py \
	python/tests/test_codec_hypothesis.py \
	python/tests/test_examples.py \
	python/tests/test_hostile.py \
	python/tests/test_interop.py \
	python/tests/test_mapped_view.py \
	python/tests/test_payload.py \
	python/tests/test_permissions.py \
	python/tests/test_reference_examples.py \
	python/tests/test_shared_memory.py \
	python/tests/test_smoke.py \
	python/tests/test_spsc.py \
	python/tests/test_two_process.py

if HAVE_PYTHON
# The extension, built in the build tree against lib/.libs: PKG_CONFIG_PATH
# selects membridge-uninstalled.pc. pip builds in the directory it is given
# (build/, egg-info), and srcdir may be read-only, so the package is copied
# to python-build/src first; pip then builds a wheel from the copy and
# installs it into python-build/lib, its dist-info included (the metadata
# test reads the version there). Offline: no index, no build isolation.
PY_BUILD = $(abs_top_builddir)/python-build
python-ext: $(PY_BUILD)/stamp
$(PY_BUILD)/stamp: lib/libmembridge.la $(PY_PACKAGE_FILES:%=$(srcdir)/%)
	$(AM_V_GEN)rm -rf "$(PY_BUILD)/src" "$(PY_BUILD)/lib" && \
	$(MKDIR_P) "$(PY_BUILD)/src" && \
	(cd $(srcdir)/python && cp -R README.md pyproject.toml setup.py membridge src \
		"$(PY_BUILD)/src") && \
	chmod -R u+w "$(PY_BUILD)/src" && \
	PKG_CONFIG_PATH="$(abs_top_builddir)$${PKG_CONFIG_PATH:+:$$PKG_CONFIG_PATH}" \
	$(PYTHON) -m pip install -q --no-build-isolation --no-deps --no-index \
		--no-cache-dir --no-compile --disable-pip-version-check \
		--root-user-action=ignore --target "$(PY_BUILD)/lib" "$(PY_BUILD)/src" && \
	touch $@
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
