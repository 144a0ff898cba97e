/* SPDX-License-Identifier: MIT */
/* The async methods: each returns a coroutine (or the async context manager)
 * of membridge._aio, imported on first use so that `import membridge` never
 * imports asyncio. */
#include "membridge_py.h"

static PyObject *aio_function(const char *name)
{
	PyObject *mod = PyImport_ImportModule("membridge._aio"), *fn;

	if (!mod)
		return NULL;
	fn = PyObject_GetAttrString(mod, name);
	Py_DECREF(mod);
	return fn;
}

PyObject *mb_aio_call(const char *name, PyObject *self, PyObject *args, PyObject *kwargs)
{
	PyObject *fn = aio_function(name), *full = NULL, *ret = NULL;
	Py_ssize_t i, n;

	if (!fn)
		return NULL;
	n = args ? PyTuple_GET_SIZE(args) : 0;
	full = PyTuple_New(n + 1);
	if (!full)
		goto out;
	Py_INCREF(self);
	PyTuple_SET_ITEM(full, 0, self);
	for (i = 0; i < n; i++) {
		PyObject *item = PyTuple_GET_ITEM(args, i);

		Py_INCREF(item);
		PyTuple_SET_ITEM(full, i + 1, item);
	}
	ret = PyObject_Call(fn, full, kwargs);
out:
	Py_XDECREF(full);
	Py_DECREF(fn);
	return ret;
}

PyObject *mb_aio_self(PyObject *self)
{
	Py_INCREF(self);
	return self;
}
