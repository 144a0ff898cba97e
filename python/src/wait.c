/* SPDX-License-Identifier: MIT */
/* Blocking calls: the GIL released for the whole wait, Ctrl-C honoured. */
#include "membridge_py.h"

#include <errno.h>
#include <math.h>

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

/* Python's monotonic clock (time.monotonic_ns): the extension sees only the
 * library's public header, not its clock helper. */
static int monotonic_ns(int64_t *ns)
{
	PyObject *time = PyImport_ImportModule("time"), *t;

	if (!time)
		return -1;
	t = PyObject_CallMethod(time, "monotonic_ns", NULL);
	Py_DECREF(time);
	if (!t)
		return -1;
	*ns = PyLong_AsLongLong(t);
	Py_DECREF(t);
	return *ns == -1 && PyErr_Occurred() ? -1 : 0;
}

/* The longest single library wait. The library ends a wait with -EINTR
 * when a signal handler runs during it, but Python's handler may run just
 * before (in the extension's own code, between its check of the signals
 * and the library's first step): then the wait goes on, and only the end
 * of this slice lets the signal be seen. */
#define MAX_SLICE_NS INT64_C(100000000)

int mb_wait(mb_wait_fn fn, void *ctx, int64_t timeout_ns)
{
	int64_t deadline = 0, now, left = timeout_ns, slice;
	int ret = fn(ctx, MEMBRIDGE_NO_WAIT);

	if ((ret != -EAGAIN && ret != -EINTR) || timeout_ns == MEMBRIDGE_NO_WAIT)
		return ret == -EINTR ? -EAGAIN : ret;
	if (timeout_ns != MEMBRIDGE_WAIT_FOREVER) {
		if (monotonic_ns(&now) < 0)
			return MB_PY_RAISED;
		deadline = now + timeout_ns;
	}
	/* Run Python's handlers first (one may have run since the last
	 * bytecode), then wait in slices with the time left, until the call
	 * succeeds, fails, or a handler raises (PEP 475). */
	for (;;) {
		if (PyErr_CheckSignals() < 0)
			return MB_PY_RAISED;
		slice = timeout_ns == MEMBRIDGE_WAIT_FOREVER || left > MAX_SLICE_NS ? MAX_SLICE_NS
										  : left;
		Py_BEGIN_ALLOW_THREADS
		ret = fn(ctx, slice);
		Py_END_ALLOW_THREADS
		if (ret != -EINTR && ret != -ETIMEDOUT)
			return ret;
		if (timeout_ns == MEMBRIDGE_WAIT_FOREVER)
			continue;
		if (monotonic_ns(&now) < 0)
			return MB_PY_RAISED;
		left = deadline - now;
		if (left <= 0)
			return -ETIMEDOUT;
	}
}
