/* SPDX-License-Identifier: MIT */
/* The async methods: each returns a coroutine (or the async context manager)
 * of membridge._aio, imported on first use so that `import membridge` never
 * imports asyncio; or, where the call succeeds at once, a done awaitable. */
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

/* The awaitable of mb_aio_ready(): its own iterator, which ends at once
 * with StopIteration(value), the value of the await. */
typedef struct {
	PyObject_HEAD
	PyObject *value; /* NULL once awaited */
} ReadyObject;

PyObject *mb_aio_ready(mb_state *st, PyObject *value)
{
	ReadyObject *self = PyObject_GC_New(ReadyObject, st->Ready);

	if (!self) {
		Py_DECREF(value);
		return NULL;
	}
	self->value = value;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

static PyObject *ready_next(ReadyObject *self)
{
	PyObject *value = self->value, *stop;

	if (!value) {
		PyErr_SetString(PyExc_RuntimeError,
				"this awaitable was awaited already: call the async method again");
		return NULL;
	}
	self->value = NULL;
	stop = PyObject_CallOneArg(PyExc_StopIteration, value);
	Py_DECREF(value);
	if (stop) {
		PyErr_SetObject(PyExc_StopIteration, stop);
		Py_DECREF(stop);
	}
	return NULL;
}

static int ready_traverse(ReadyObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	Py_VISIT(self->value);
	return 0;
}

static int ready_clear(ReadyObject *self)
{
	Py_CLEAR(self->value);
	return 0;
}

static void ready_dealloc(ReadyObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	ready_clear(self);
	type->tp_free(self);
	Py_DECREF(type);
}

PyDoc_STRVAR(ready_doc,
"The result of an async call that needed no wait: awaiting it gives the\n"
"result at once (once).");

static PyType_Slot ready_slots[] = {
	{Py_tp_doc, (void *)ready_doc},
	{Py_am_await, mb_aio_self},
	{Py_tp_iter, mb_aio_self},
	{Py_tp_iternext, ready_next},
	{Py_tp_traverse, ready_traverse},
	{Py_tp_clear, ready_clear},
	{Py_tp_dealloc, ready_dealloc},
	{0, NULL},
};

PyType_Spec mb_ready_spec = {
	.name = "membridge._Ready",
	.basicsize = sizeof(ReadyObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = ready_slots,
};
