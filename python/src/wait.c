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

int mb_wait(mb_wait_fn fn, void *ctx, int64_t timeout_ns)
{
	int64_t deadline = 0, now, left = timeout_ns;
	int ret = fn(ctx, MEMBRIDGE_NO_WAIT);

	if ((ret != -EAGAIN && ret != -EINTR) || timeout_ns == MEMBRIDGE_NO_WAIT)
		return ret == -EINTR ? -EAGAIN : ret;
	if (timeout_ns != MEMBRIDGE_WAIT_FOREVER) {
		if (monotonic_ns(&now) < 0)
			return MB_PY_RAISED;
		deadline = now + timeout_ns;
	}
	/* The library returns -EINTR once a signal handler ran during the
	 * wait: run Python's handlers, then retry with the time left (PEP 475). */
	for (;;) {
		Py_BEGIN_ALLOW_THREADS
		ret = fn(ctx, left);
		Py_END_ALLOW_THREADS
		if (ret != -EINTR)
			return ret;
		if (PyErr_CheckSignals() < 0)
			return MB_PY_RAISED;
		if (timeout_ns == MEMBRIDGE_WAIT_FOREVER)
			continue;
		if (monotonic_ns(&now) < 0)
			return MB_PY_RAISED;
		left = deadline - now;
		if (left <= 0)
			return -ETIMEDOUT;
	}
}
