/* SPDX-License-Identifier: MIT */
/* SharedMemory: a named segment; makes views and rings over it. */
#include "membridge_py.h"

#include <errno.h>

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

/* Permission bits for create(): 0o001 to 0o777; None (NULL) keeps the default. */
static int parse_mode(PyObject *mode_obj, long *mode)
{
	if (mode_obj) {
		*mode = PyLong_AsLong(mode_obj);
		if (*mode == -1 && PyErr_Occurred()) {
			if (!PyErr_ExceptionMatches(PyExc_OverflowError))
				return -1;
			PyErr_Clear();
		}
	}
	if (*mode <= 0 || *mode > 0777) {
		PyErr_Format(PyExc_ValueError,
			     "mode must be permission bits between 0o001 and 0o777 (the "
			     "library reads 0 as its default, 0o600)");
		return -1;
	}
	return 0;
}

/* Create the segment `name` (GIL released); -1 with an exception. */
static int create_segment(mb_state *st, PyObject *name, size_t size, long mode,
			  unsigned flags, struct membridge_segment **seg)
{
	const char *cname = name_utf8(name);
	int ret;

	if (!cname)
		return -1;
	Py_BEGIN_ALLOW_THREADS
	ret = membridge_segment_create(cname, size, (unsigned)mode, flags, seg);
	Py_END_ALLOW_THREADS
	if (ret < 0) {
		mb_py_raise(st, ret, MB_OP_CREATE, name, size);
		return -1;
	}
	return 0;
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
	int replace = 0, attach = 0;
	unsigned flags;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Un|$O!pp:create", kwlist, &name, &size,
					 &PyLong_Type, &mode_obj, &replace, &attach))
		return NULL;
	if (replace && attach) {
		PyErr_SetString(PyExc_ValueError, "pass replace=True or attach=True, not both");
		return NULL;
	}
	if (size <= 0)
		return PyErr_Format(PyExc_ValueError, "size must be > 0, not %zd", size);
	if (parse_mode(mode_obj, &mode) < 0)
		return NULL;
	flags = replace ? MEMBRIDGE_CREATE_REPLACE
			: attach ? MEMBRIDGE_CREATE_ATTACH : MEMBRIDGE_CREATE_EXCLUSIVE;
	if (create_segment(mb_state_of_type(cls), name, (size_t)size, mode, flags, &seg) < 0)
		return NULL;
	return wrap(cls, seg, name);
}

PyDoc_STRVAR(create_channel_doc,
"create_channel(name, max_message, *, data_size=None, subscribers=8, mode=0o600,\n"
"               replace=False) -> SharedMemory\n"
"\n"
"Create the segment `name` holding a publish/subscribe channel: messages of up\n"
"to `max_message` bytes, `subscribers` subscriber slots (1 to 1024), and\n"
"`data_size` bytes for messages in flight (a multiple of 64 holding at least\n"
"two of the largest messages; None: room for 8 of them and at least 64 KiB).\n"
"Use publisher() and subscriber() on the result, or in other processes on\n"
"SharedMemory.open(name). An existing name raises FileExistsError unless\n"
"replace=True.");

/* The default data area: 8 of the largest records, at least 64 KiB. */
static uint64_t default_data_size(size_t max_message)
{
	uint64_t eight = (uint64_t)membridge_channel_record_size(max_message) * 8;

	return eight > 65536 ? eight : 65536;
}

static PyObject *sm_create_channel(PyTypeObject *cls, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"name", "max_message", "data_size", "subscribers", "mode",
				 "replace", NULL};
	struct membridge_channel_config cfg = {0};
	struct membridge_segment *seg = NULL;
	mb_state *st = mb_state_of_type(cls);
	PyObject *name, *data_size_obj = Py_None, *mode_obj = NULL;
	Py_ssize_t max_message, subscribers = 8;
	long mode = MEMBRIDGE_MODE_DEFAULT;
	int replace = 0, ret;
	size_t size;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Un|$OnO!p:create_channel", kwlist, &name,
					 &max_message, &data_size_obj, &subscribers,
					 &PyLong_Type, &mode_obj, &replace) ||
	    parse_mode(mode_obj, &mode) < 0)
		return NULL;
	if (max_message > 0 && subscribers > 0 &&
	    (uint64_t)subscribers <= MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS) {
		cfg.max_message = (uint64_t)max_message;
		cfg.subscribers = (uint32_t)subscribers;
		if (data_size_obj == Py_None) {
			cfg.data_size = default_data_size((size_t)max_message);
		} else {
			cfg.data_size = PyLong_AsUnsignedLongLong(data_size_obj);
			if (cfg.data_size == (uint64_t)-1 && PyErr_Occurred()) {
				if (!PyErr_ExceptionMatches(PyExc_OverflowError))
					return NULL;
				PyErr_Clear();
				cfg.data_size = 0;
			}
		}
	}
	size = membridge_channel_segment_size(&cfg);
	if (size == 0)
		return mb_py_raise(st, -EINVAL, MB_OP_CHANNEL, name, 0);
	if (create_segment(st, name, size, mode,
			   replace ? MEMBRIDGE_CREATE_REPLACE : MEMBRIDGE_CREATE_EXCLUSIVE, &seg) < 0)
		return NULL;
	ret = membridge_channel_init(seg, &cfg);
	if (ret < 0) {
		/* Nobody can use a segment that is not a channel: take it back. */
		membridge_segment_close(seg);
		membridge_segment_remove(PyUnicode_AsUTF8(name));
		return mb_py_raise(st, ret, MB_OP_CHANNEL, name, 0);
	}
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

PyDoc_STRVAR(channel_config_doc,
"channel_config() -> ChannelConfig\n"
"\n"
"The shape of the channel in this segment: (data_size, max_message,\n"
"subscribers, flags). BlockingIOError while its creator has not finished\n"
"create_channel(); CorruptSegmentError if the segment holds no channel.");

/* The segment's channel shape; -1 with an exception. */
static int channel_shape(SharedMemoryObject *self, struct membridge_channel_config *cfg)
{
	struct membridge_segment *seg = segment(self);
	int ret;

	if (!seg)
		return -1;
	ret = membridge_channel_config(seg, cfg);
	if (ret < 0) {
		mb_py_raise(mb_state_of((PyObject *)self), ret, MB_OP_CHANNEL, self->name, 0);
		return -1;
	}
	return 0;
}

static PyObject *sm_channel_config(SharedMemoryObject *self, PyObject *unused)
{
	struct membridge_channel_config cfg;

	if (channel_shape(self, &cfg) < 0)
		return NULL;
	return mb_channel_config_new(mb_state_of((PyObject *)self), &cfg);
}

PyDoc_STRVAR(publisher_doc,
"publisher() -> Publisher\n"
"\n"
"Become the channel's publisher. A channel has one at a time: OSError (EBUSY)\n"
"while another live one has it, in any process; a dead publisher's place is\n"
"taken over. The publisher keeps the mapping alive after close().");

static PyObject *sm_publisher(SharedMemoryObject *self, PyObject *unused)
{
	mb_state *st = mb_state_of((PyObject *)self);
	struct membridge_channel_config cfg;
	struct membridge_publisher *pub;
	int ret;

	if (channel_shape(self, &cfg) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = membridge_publisher_open(self->seg, &pub);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return mb_py_raise(st, ret, MB_OP_PUBLISHER, self->name, 0);
	return mb_publisher_new(st, pub, self->name, &cfg);
}

PyDoc_STRVAR(subscriber_doc,
"subscriber(*, oldest=False) -> Subscriber\n"
"\n"
"Join the channel in a free slot (or a dead subscriber's). It receives every\n"
"message published from now on; oldest=True starts instead at the oldest\n"
"message another live subscriber still holds. OSError (EUSERS) when every\n"
"slot holds a live subscriber. The subscriber keeps the mapping alive after\n"
"close().");

static PyObject *sm_subscriber(SharedMemoryObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"oldest", NULL};
	mb_state *st = mb_state_of((PyObject *)self);
	struct membridge_channel_config cfg;
	struct membridge_subscriber *sub;
	int oldest = 0, ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$p:subscriber", kwlist, &oldest) ||
	    channel_shape(self, &cfg) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	ret = membridge_subscriber_open(self->seg, oldest ? MEMBRIDGE_SUBSCRIBE_OLDEST
							   : MEMBRIDGE_SUBSCRIBE_NEWEST, &sub);
	Py_END_ALLOW_THREADS
	if (ret < 0)
		return mb_py_raise(st, ret, MB_OP_SUBSCRIBER, self->name, cfg.subscribers);
	return mb_subscriber_new(st, sub, self->name, &cfg);
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
	{"create_channel", (PyCFunction)(void (*)(void))sm_create_channel,
	 METH_VARARGS | METH_KEYWORDS | METH_CLASS, create_channel_doc},
	{"channel_config", (PyCFunction)sm_channel_config, METH_NOARGS, channel_config_doc},
	{"publisher", (PyCFunction)sm_publisher, METH_NOARGS, publisher_doc},
	{"subscriber", VARARGS_KW(sm_subscriber), subscriber_doc},
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
"for a locked sequential view or spsc() for a message ring; or make a\n"
"publish/subscribe channel with SharedMemory.create_channel() and use its\n"
"publisher() and subscriber(). Supports `with` (closes on exit).");

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
