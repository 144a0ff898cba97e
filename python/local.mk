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
TESTS += tests/run-pytest.sh
endif

clean-local: clean-python
clean-python:
	-rm -rf python-build
.PHONY: clean-python
