/* SPDX-License-Identifier: MIT */
/* Blocking calls in bounded slices: the GIL released, Ctrl-C honoured. */
#include "membridge_py.h"

#include <errno.h>
#include <math.h>
#include <time.h>

#define SLICE_NS INT64_C(50000000)
#define NS_PER_S 1e9

int mb_timeout_parse(PyObject *timeout, int64_t none_ns, int64_t *ns)
{
	double s;

	if (timeout == Py_None) {
		*ns = none_ns;
		return 0;
	}
	s = PyFloat_AsDouble(timeout);
	if (s == -1.0 && PyErr_Occurred())
		return -1;
	if (isnan(s) || s < 0) {
		PyErr_SetString(PyExc_ValueError,
				"timeout must be None, a number of seconds >= 0, or math.inf");
		return -1;
	}
	if (isinf(s) || s * NS_PER_S >= (double)INT64_MAX)
		*ns = MEMBRIDGE_WAIT_FOREVER;
	else
		*ns = (int64_t)(s * NS_PER_S);
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int not_yet(int ret)
{
	return ret == -EAGAIN || ret == -ETIMEDOUT || ret == -EINTR;
}

int mb_wait(mb_wait_fn fn, void *ctx, int64_t timeout_ns)
{
	int64_t deadline, slice;
	int ret = fn(ctx, MEMBRIDGE_NO_WAIT);

	if (!not_yet(ret) || timeout_ns == MEMBRIDGE_NO_WAIT)
		return ret == -EINTR ? -EAGAIN : ret;
	deadline = timeout_ns < 0 ? INT64_MAX : now_ns() + timeout_ns;
	for (;;) {
		if (PyErr_CheckSignals() < 0)
			return MB_PY_RAISED;
		slice = deadline - now_ns();
		if (slice <= 0)
			return -ETIMEDOUT;
		if (slice > SLICE_NS)
			slice = SLICE_NS;
		Py_BEGIN_ALLOW_THREADS
		ret = fn(ctx, slice);
		Py_END_ALLOW_THREADS
		if (!not_yet(ret))
			return ret;
	}
}
