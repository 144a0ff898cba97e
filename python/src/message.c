/* SPDX-License-Identifier: MIT */
/* Message: one received channel message, a read-only buffer in the segment. */
#include "membridge_py.h"

typedef struct {
	PyObject_HEAD
	PyObject *sub;       /* the Subscriber it came from */
	const char *data;    /* in the segment */
	size_t len;
	uint64_t seq;
	Py_ssize_t exports;  /* live buffer exports (memoryview, numpy...) */
	int released;
} MessageObject;

PyObject *mb_message_new(mb_state *st, PyObject *sub, const struct membridge_message *msg)
{
	MessageObject *self = PyObject_GC_New(MessageObject, st->Message);

	if (!self)
		return NULL;
	self->sub = Py_NewRef(sub);
	self->data = msg->data;
	self->len = msg->len;
	self->seq = msg->seq;
	self->exports = 0;
	self->released = 0;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

/* 0 while the message can be read; ValueError once released or gone. */
static int check(MessageObject *self)
{
	if (self->released)
		PyErr_Format(PyExc_ValueError, "message %llu was released",
			     (unsigned long long)self->seq);
	else if (!mb_subscriber_is_open(self->sub))
		PyErr_Format(PyExc_ValueError,
			     "message %llu is gone: its Subscriber was closed",
			     (unsigned long long)self->seq);
	else
		return 0;
	return -1;
}

/* Mark released and tell the subscriber; -1 (BufferError) while exported. */
static int drop(MessageObject *self)
{
	if (self->released)
		return 0;
	if (self->exports > 0) {
		PyErr_Format(PyExc_BufferError,
			     "cannot release message %llu: %zd buffer(s) (memoryview, numpy...) "
			     "still point into it; release them first",
			     (unsigned long long)self->seq, self->exports);
		return -1;
	}
	self->released = 1;
	mb_subscriber_drop(self->sub);
	return 0;
}

PyDoc_STRVAR(release_doc,
"release() -> None\n"
"\n"
"Give the message back: using it afterwards raises ValueError. BufferError\n"
"while a memoryview (or array) of it is alive. The subscriber releases its\n"
"messages to the publisher all at once, when every Message it received is\n"
"released. A second release() does nothing.");

static PyObject *ms_release(MessageObject *self, PyObject *unused)
{
	if (drop(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> Message\n\nReturn self.");

static PyObject *ms_enter(MessageObject *self, PyObject *unused)
{
	if (check(self) < 0)
		return NULL;
	return Py_NewRef(self);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nRelease the message.");

static PyObject *ms_exit(MessageObject *self, PyObject *args)
{
	return ms_release(self, NULL);
}

PyDoc_STRVAR(seq_doc,
"The message's sequence number: 0 for the channel's first, then +1 (it skips\n"
"where a publisher died while publishing).");

static PyObject *ms_get_seq(MessageObject *self, void *closure)
{
	if (check(self) < 0)
		return NULL;
	return PyLong_FromUnsignedLongLong(self->seq);
}

PyDoc_STRVAR(released_doc, "Whether release() was called (or the message was exited).");

static PyObject *ms_get_released(MessageObject *self, void *closure)
{
	return PyBool_FromLong(self->released);
}

static PyGetSetDef ms_getset[] = {
	{"seq", (getter)ms_get_seq, NULL, seq_doc, NULL},
	{"released", (getter)ms_get_released, NULL, released_doc, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static Py_ssize_t ms_length(MessageObject *self)
{
	if (check(self) < 0)
		return -1;
	return (Py_ssize_t)self->len;
}

static int ms_getbuffer(MessageObject *self, Py_buffer *view, int flags)
{
	if (check(self) < 0)
		return -1;
	/* readonly: a writable request raises BufferError */
	if (PyBuffer_FillInfo(view, (PyObject *)self, (void *)self->data,
			      (Py_ssize_t)self->len, 1, flags) < 0)
		return -1;
	self->exports++;
	mb_subscriber_exports(self->sub, 1);
	return 0;
}

static void ms_releasebuffer(MessageObject *self, Py_buffer *view)
{
	self->exports--;
	mb_subscriber_exports(self->sub, -1);
}

static PyObject *ms_repr(MessageObject *self)
{
	return PyUnicode_FromFormat("<membridge.Message seq=%llu len=%zu%s>",
				    (unsigned long long)self->seq, self->len,
				    self->released ? " released" : "");
}

static int ms_traverse(MessageObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	Py_VISIT(self->sub);
	return 0;
}

static void ms_dealloc(MessageObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	/* A message dropped without release() is released now (no buffer of
	 * it can be alive: each holds a reference). */
	drop(self);
	Py_CLEAR(self->sub);
	type->tp_free(self);
	Py_DECREF(type);
}

static PyMethodDef ms_methods[] = {
	{"release", (PyCFunction)ms_release, METH_NOARGS, release_doc},
	{"__enter__", (PyCFunction)ms_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)ms_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(ms_doc,
"One received channel message, read in place: no copy.\n"
"\n"
"Made by Subscriber.receive() and receive_many(). A read-only buffer into the\n"
"segment: memoryview(msg), bytes(msg) (a copy), len(msg); msg.seq numbers it.\n"
"Release it with msg.release() or a `with` block as soon as it is used: after\n"
"that any access raises ValueError. The library releases a subscriber's\n"
"messages in one call, so their space goes back to the publisher only when\n"
"every Message the subscriber received is released (or garbage collected).\n"
"A peer with write access could change the bytes under you: copy a message\n"
"from an untrusted peer before checking it.");

static PyType_Slot ms_slots[] = {
	{Py_tp_doc, (void *)ms_doc},
	{Py_tp_methods, ms_methods},
	{Py_tp_getset, ms_getset},
	{Py_tp_repr, ms_repr},
	{Py_tp_traverse, ms_traverse},
	{Py_tp_dealloc, ms_dealloc},
	{Py_sq_length, ms_length},
	{Py_bf_getbuffer, ms_getbuffer},
	{Py_bf_releasebuffer, ms_releasebuffer},
	{0, NULL},
};

PyType_Spec mb_message_spec = {
	.name = "membridge.Message",
	.basicsize = sizeof(MessageObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = ms_slots,
};
