/* SPDX-License-Identifier: MIT */
/* SharedMemory: a named segment; makes views and rings over it. */
#include "membridge_py.h"

typedef struct {
	PyObject_HEAD
	struct membridge_segment *seg;
	PyObject *name;  /* kept for repr and messages after close() */
	size_t size;
} SharedMemoryObject;

/* The UTF-8 of a segment name, refusing embedded NUL characters. */
static const char *name_utf8(PyObject *name)
{
	Py_ssize_t len;
	const char *s = PyUnicode_AsUTF8AndSize(name, &len);

	if (s && (size_t)len != strlen(s)) {
		PyErr_SetString(PyExc_ValueError, "a name cannot contain NUL characters");
		return NULL;
	}
	return s;
}

static PyObject *wrap(PyTypeObject *cls, struct membridge_segment *seg, PyObject *name)
{
	SharedMemoryObject *self = PyObject_GC_New(SharedMemoryObject, cls);

	if (!self) {
		membridge_segment_close(seg);
		return NULL;
	}
	self->seg = seg;
	self->name = Py_NewRef(name);
	self->size = membridge_segment_size(seg);
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

PyDoc_STRVAR(create_doc,
"create(name, size, *, mode=0o600, replace=False, attach=False) -> SharedMemory\n"
"\n"
"Create the segment `name` ('/' then up to MEMBRIDGE_NAME_MAX - 1 characters\n"
"without '/') of `size` zero-filled bytes with permission bits `mode`. An existing name raises\n"
"FileExistsError unless replace=True (unlink it first) or attach=True (open it;\n"
"its size must equal `size`).");

static PyObject *sm_create(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"name", "size", "mode", "replace", "attach", NULL};
	struct membridge_segment *seg = NULL;
	PyObject *name;
	Py_ssize_t size;
	PyObject *mode_obj = NULL;
	long mode = MEMBRIDGE_MODE_DEFAULT;
	int replace = 0, attach = 0, ret;
	unsigned flags;
	const char *cname;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Un|$O!pp:create", kwlist, &name, &size,
					 &PyLong_Type, &mode_obj, &replace, &attach))
		return NULL;
	if (replace && attach) {
		PyErr_SetString(PyExc_ValueError, "pass replace=True or attach=True, not both");
		return NULL;
	}
	if (size <= 0)
		return PyErr_Format(PyExc_ValueError, "size must be > 0, not %zd", size);
	if (mode_obj) {
		mode = PyLong_AsLong(mode_obj);
		if (mode == -1 && PyErr_Occurred()) {
			if (!PyErr_ExceptionMatches(PyExc_OverflowError))
				return NULL;
			PyErr_Clear();
		}
	}
	if (mode <= 0 || mode > 0777)
		return PyErr_Format(PyExc_ValueError,
				    "mode must be permission bits between 0o001 and 0o777 (the "
				    "library reads 0 as its default, 0o600)");
	cname = name_utf8(name);
	if (!cname)
		return NULL;
	flags = replace ? MEMBRIDGE_CREATE_REPLACE
			: attach ? MEMBRIDGE_CREATE_ATTACH : MEMBRIDGE_CREATE_EXCLUSIVE;
	Py_BEGIN_ALLOW_THREADS
	ret = membridge_segment_create(cname, (size_t)size, (unsigned)mode, flags, &seg);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return mb_py_raise(mb_state_of_type(cls), ret, MB_OP_CREATE, name, (size_t)size);
	return wrap(cls, seg, name);
}

PyDoc_STRVAR(open_doc,
"open(name, size=None) -> SharedMemory\n"
"\n"
"Open the existing segment `name`. With size=None the size is detected;\n"
"otherwise it must equal the segment's size (ValueError). A missing name\n"
"raises FileNotFoundError.");

static PyObject *sm_open(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"name", "size", NULL};
	struct membridge_segment *seg = NULL;
	PyObject *name, *size_obj = Py_None;
	size_t size = 0;
	const char *cname;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "U|O:open", kwlist, &name, &size_obj))
		return NULL;
	if (size_obj != Py_None) {
		Py_ssize_t s = PyNumber_AsSsize_t(size_obj, PyExc_OverflowError);

		if (s == -1 && PyErr_Occurred())
			return NULL;
		if (s <= 0)
			return PyErr_Format(PyExc_ValueError,
					    "size must be > 0 or None (detect it), not %zd", s);
		size = (size_t)s;
	}
	cname = name_utf8(name);
	if (!cname)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = membridge_segment_open(cname, size, &seg);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return mb_py_raise(mb_state_of_type(cls), ret, MB_OP_OPEN, name, size);
	return wrap(cls, seg, name);
}

PyDoc_STRVAR(remove_doc,
"remove(name) -> None\n"
"\n"
"Unlink the segment `name` (and its companion wait segment). Processes that\n"
"have it open keep their mapping. A missing name raises FileNotFoundError.");

static PyObject *sm_remove(PyTypeObject *cls, PyObject *name)
{
	const char *cname;
	int ret;

	if (!PyUnicode_Check(name))
		return PyErr_Format(PyExc_TypeError, "a name is a str, not %.100s",
				    Py_TYPE(name)->tp_name);
	cname = name_utf8(name);
	if (!cname)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = membridge_segment_remove(cname);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return mb_py_raise(mb_state_of_type(cls), ret, MB_OP_REMOVE, name, 0);
	Py_RETURN_NONE;
}

/* The open segment, or ValueError once closed. */
static struct membridge_segment *segment(SharedMemoryObject *self)
{
	if (!self->seg)
		PyErr_Format(PyExc_ValueError, "SharedMemory '%U' is closed", self->name);
	return self->seg;
}

PyDoc_STRVAR(map_doc,
"map() -> MappedView\n"
"\n"
"A sequential view of the segment: the reader-writer lock word, then the data\n"
"area. Needs a segment larger than the lock word.");

static PyObject *sm_map(SharedMemoryObject *self, PyObject *unused)
{
	struct membridge_segment *seg = segment(self);
	struct membridge_view *view;
	int ret;

	if (!seg)
		return NULL;
	ret = membridge_view_open(seg, &view);
	if (ret < 0)
		return mb_py_raise(mb_state_of((PyObject *)self), ret, MB_OP_MAP, self->name,
				   self->size);
	return mb_mapped_view_new(mb_state_of((PyObject *)self), view, self->name);
}

PyDoc_STRVAR(spsc_doc,
"spsc() -> SpscRingBuffer\n"
"\n"
"The single-producer/single-consumer ring in this segment (size minus the ring\n"
"header must be a power of two). The creator's first call writes the ring header; others check\n"
"it and raise CorruptSegmentError if the segment does not hold a ring.");

static PyObject *sm_spsc(SharedMemoryObject *self, PyObject *unused)
{
	struct membridge_segment *seg = segment(self);
	struct membridge_spsc *spsc;
	int ret;

	if (!seg)
		return NULL;
	ret = membridge_spsc_open(seg, &spsc);
	if (ret < 0)
		return mb_py_raise(mb_state_of((PyObject *)self), ret, MB_OP_SPSC, self->name,
				   self->size);
	return mb_spsc_new(mb_state_of((PyObject *)self), spsc, self->name);
}

PyDoc_STRVAR(name_doc, "name() -> str\n\nThe segment's name, leading '/' included.");

static PyObject *sm_name(SharedMemoryObject *self, PyObject *unused)
{
	if (!segment(self))
		return NULL;
	return Py_NewRef(self->name);
}

PyDoc_STRVAR(size_doc, "size() -> int\n\nThe whole segment size in bytes.");

static PyObject *sm_size(SharedMemoryObject *self, PyObject *unused)
{
	if (!segment(self))
		return NULL;
	return PyLong_FromSize_t(self->size);
}

static void sm_release(SharedMemoryObject *self)
{
	struct membridge_segment *seg = self->seg;

	self->seg = NULL;
	if (seg) {
		Py_BEGIN_ALLOW_THREADS
		membridge_segment_close(seg);
		Py_END_ALLOW_THREADS
	}
}

PyDoc_STRVAR(close_doc,
"close() -> None\n"
"\n"
"Drop this handle. Views and rings made from it stay usable; the mapping goes\n"
"away with the last of them. A second close() does nothing.");

static PyObject *sm_close(SharedMemoryObject *self, PyObject *unused)
{
	sm_release(self);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> SharedMemory\n\nReturn self.");

static PyObject *sm_enter(SharedMemoryObject *self, PyObject *unused)
{
	if (!segment(self))
		return NULL;
	return Py_NewRef(self);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nClose the handle.");

static PyObject *sm_exit(SharedMemoryObject *self, PyObject *args)
{
	sm_release(self);
	Py_RETURN_NONE;
}

static PyObject *sm_repr(SharedMemoryObject *self)
{
	return PyUnicode_FromFormat("<membridge.SharedMemory name=%R size=%zu %s>", self->name,
				    self->size, self->seg ? "open" : "closed");
}

static void sm_finalize(SharedMemoryObject *self)
{
	sm_release(self);
}

static int sm_traverse(SharedMemoryObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	return 0;
}

static void sm_dealloc(SharedMemoryObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
		return;
	Py_CLEAR(self->name);
	type->tp_free(self);
	Py_DECREF(type);
}

static PyMethodDef sm_methods[] = {
	{"create", (PyCFunction)(void (*)(void))sm_create,
	 METH_VARARGS | METH_KEYWORDS | METH_CLASS, create_doc},
	{"open", (PyCFunction)(void (*)(void))sm_open,
	 METH_VARARGS | METH_KEYWORDS | METH_CLASS, open_doc},
	{"remove", (PyCFunction)sm_remove, METH_O | METH_CLASS, remove_doc},
	{"map", (PyCFunction)sm_map, METH_NOARGS, map_doc},
	{"spsc", (PyCFunction)sm_spsc, METH_NOARGS, spsc_doc},
	{"name", (PyCFunction)sm_name, METH_NOARGS, name_doc},
	{"size", (PyCFunction)sm_size, METH_NOARGS, size_doc},
	{"close", (PyCFunction)sm_close, METH_NOARGS, close_doc},
	{"__enter__", (PyCFunction)sm_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)sm_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(sm_doc,
"A named cross-process shared-memory segment.\n"
"\n"
"Make one with SharedMemory.create() or SharedMemory.open(), then use map()\n"
"for a locked sequential view or spsc() for a message ring. Supports `with`\n"
"(closes on exit).");

static PyType_Slot sm_slots[] = {
	{Py_tp_doc, (void *)sm_doc},
	{Py_tp_methods, sm_methods},
	{Py_tp_repr, sm_repr},
	{Py_tp_finalize, sm_finalize},
	{Py_tp_traverse, sm_traverse},
	{Py_tp_dealloc, sm_dealloc},
	{0, NULL},
};

PyType_Spec mb_shared_memory_spec = {
	.name = "membridge.SharedMemory",
	.basicsize = sizeof(SharedMemoryObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = sm_slots,
};
