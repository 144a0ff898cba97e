/* SPDX-License-Identifier: MIT */
/* FramePeek: the context manager of SpscRingBuffer.peek(). */
#include "membridge_py.h"

enum peek_state { PEEK_NEW, PEEK_OPEN, PEEK_DONE };

typedef struct {
	PyObject_HEAD
	PyObject *ring;
	int64_t timeout_ns;
	struct membridge_frame frame;
	PyObject *joined;    /* the payload copied once if the frame wraps */
	PyObject *view;      /* the memoryview __enter__ returned */
	Py_ssize_t exports;
	enum peek_state state;
} FramePeekObject;

PyObject *mb_frame_peek_new(mb_state *st, PyObject *ring, int64_t timeout_ns)
{
	FramePeekObject *self = PyObject_GC_New(FramePeekObject, st->FramePeek);

	if (!self)
		return NULL;
	self->ring = Py_NewRef(ring);
	self->timeout_ns = timeout_ns;
	memset(&self->frame, 0, sizeof(self->frame));
	self->joined = NULL;
	self->view = NULL;
	self->exports = 0;
	self->state = PEEK_NEW;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

/* The payload of a wrapping frame, joined into one bytes object. */
static PyObject *join(const struct membridge_frame *f)
{
	PyObject *b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)f->len);

	if (b) {
		memcpy(PyBytes_AS_STRING(b), f->part[0], f->part_len[0]);
		memcpy(PyBytes_AS_STRING(b) + f->part_len[0], f->part[1], f->part_len[1]);
	}
	return b;
}

PyDoc_STRVAR(enter_doc,
"__enter__() -> memoryview | None\n"
"\n"
"Wait for the next message as the timeout says; a read-only memoryview of\n"
"its payload, or None if none came.");

static PyObject *fp_enter(FramePeekObject *self, PyObject *unused)
{
	int ret;

	if (self->state != PEEK_NEW) {
		PyErr_SetString(PyExc_RuntimeError,
				"a peek() is entered once: call ring.peek() for each message");
		return NULL;
	}
	self->state = PEEK_DONE;
	ret = mb_spsc_peek_begin(self->ring, self->timeout_ns, &self->frame);
	if (ret <= 0)
		return ret < 0 ? NULL : Py_NewRef(Py_None);
	self->state = PEEK_OPEN;
	if (self->frame.part_len[1] && !(self->joined = join(&self->frame)))
		goto fail;
	self->view = PyMemoryView_FromObject((PyObject *)self);
	if (!self->view)
		goto fail;
	return Py_NewRef(self->view);
fail:
	self->state = PEEK_DONE;
	mb_spsc_peek_end(self->ring, &self->frame, 0);
	return NULL;
}

PyDoc_STRVAR(exit_doc,
"__exit__(*exc) -> False\n"
"\n"
"Consume the message if the block ended normally; leave it in the ring if\n"
"it raised. BufferError (nothing consumed) if a view of the payload is\n"
"still alive.");

static PyObject *fp_exit(FramePeekObject *self, PyObject *args)
{
	PyObject *exc_type = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : Py_None;
	PyObject *r = NULL;
	int live;

	if (self->state != PEEK_OPEN)
		Py_RETURN_FALSE; /* no message was peeked */
	if (self->view)
		r = PyObject_CallMethod(self->view, "release", NULL);
	if (r)
		Py_DECREF(r);
	else
		PyErr_Clear(); /* views of it: counted in exports */
	Py_CLEAR(self->view);
	live = self->exports > 0;
	self->state = PEEK_DONE;
	if (mb_spsc_peek_end(self->ring, &self->frame, !live && exc_type == Py_None) < 0)
		return NULL;
	if (live)
		return PyErr_Format(PyExc_BufferError,
				    "%zd view(s) of the peeked payload outlived the peek() "
				    "block: the message was not consumed; release them inside it",
				    self->exports);
	Py_RETURN_FALSE;
}

static int fp_getbuffer(FramePeekObject *self, Py_buffer *view, int flags)
{
	void *buf = self->joined ? PyBytes_AS_STRING(self->joined) : (void *)self->frame.part[0];

	if (self->state != PEEK_OPEN) {
		PyErr_SetString(PyExc_BufferError, "the peek() block has ended");
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)self, buf, (Py_ssize_t)self->frame.len, 1,
			      flags) < 0)
		return -1;
	self->exports++;
	return 0;
}

static void fp_releasebuffer(FramePeekObject *self, Py_buffer *view)
{
	self->exports--;
}

static int fp_traverse(FramePeekObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	Py_VISIT(self->ring);
	Py_VISIT(self->view);
	return 0;
}

/* The memoryview refers back to the peek: a never-ended one is a cycle. */
static int fp_clear(FramePeekObject *self)
{
	Py_CLEAR(self->view);
	return 0;
}

static void fp_dealloc(FramePeekObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	/* Entered, never exited: the message stays in the ring. */
	if (self->state == PEEK_OPEN)
		mb_spsc_peek_end(self->ring, &self->frame, 0);
	Py_CLEAR(self->view);
	Py_CLEAR(self->joined);
	Py_CLEAR(self->ring);
	type->tp_free(self);
	Py_DECREF(type);
}

static PyMethodDef fp_methods[] = {
	{"__enter__", (PyCFunction)fp_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)fp_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(fp_doc,
"The next message of a ring seen in place for one `with` block.\n"
"\n"
"Made by SpscRingBuffer.peek(): consumed when the block ends normally.");

static PyType_Slot fp_slots[] = {
	{Py_tp_doc, (void *)fp_doc},
	{Py_tp_methods, fp_methods},
	{Py_tp_traverse, fp_traverse},
	{Py_tp_clear, fp_clear},
	{Py_tp_dealloc, fp_dealloc},
	{Py_bf_getbuffer, fp_getbuffer},
	{Py_bf_releasebuffer, fp_releasebuffer},
	{0, NULL},
};

PyType_Spec mb_frame_peek_spec = {
	.name = "membridge.FramePeek",
	.basicsize = sizeof(FramePeekObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = fp_slots,
};
