/* SPDX-License-Identifier: MIT */
/* LockGuard: the context manager of MappedView.read_locked()/write_locked(). */
#include "membridge_py.h"

typedef struct {
	PyObject_HEAD
	PyObject *view;
	int64_t timeout_ns;
	int write;
} LockGuardObject;

PyObject *mb_lock_guard_new(mb_state *st, PyObject *view, int write, int64_t timeout_ns)
{
	LockGuardObject *self = PyObject_GC_New(LockGuardObject, st->LockGuard);

	if (!self)
		return NULL;
	self->view = Py_NewRef(view);
	self->timeout_ns = timeout_ns;
	self->write = write;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> MappedView\n\nTake the lock; return the view.");

static PyObject *lg_enter(LockGuardObject *self, PyObject *unused)
{
	if (mb_mapped_view_lock(self->view, self->write, self->timeout_ns) < 0)
		return NULL;
	return Py_NewRef(self->view);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nRelease the lock; exceptions propagate.");

static PyObject *lg_exit(LockGuardObject *self, PyObject *args)
{
	if (mb_mapped_view_unlock(self->view) < 0)
		return NULL;
	Py_RETURN_NONE;
}

static int lg_traverse(LockGuardObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	Py_VISIT(self->view);
	return 0;
}

static int lg_clear(LockGuardObject *self)
{
	Py_CLEAR(self->view);
	return 0;
}

static void lg_dealloc(LockGuardObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	lg_clear(self);
	type->tp_free(self);
	Py_DECREF(type);
}

static PyMethodDef lg_methods[] = {
	{"__enter__", (PyCFunction)lg_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)lg_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(lg_doc,
"Holds a MappedView's read or write lock for the body of a `with` block.\n"
"\n"
"Made by MappedView.read_locked() and MappedView.write_locked().");

static PyType_Slot lg_slots[] = {
	{Py_tp_doc, (void *)lg_doc},
	{Py_tp_methods, lg_methods},
	{Py_tp_traverse, lg_traverse},
	{Py_tp_clear, lg_clear},
	{Py_tp_dealloc, lg_dealloc},
	{0, NULL},
};

PyType_Spec mb_lock_guard_spec = {
	.name = "membridge.LockGuard",
	.basicsize = sizeof(LockGuardObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = lg_slots,
};
