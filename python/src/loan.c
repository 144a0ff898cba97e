/* SPDX-License-Identifier: MIT */
/* Loan: the context manager of Publisher.loan(), space written in place. */
#include "membridge_py.h"

enum loan_state { LOAN_NEW, LOAN_OPEN, LOAN_DONE };

typedef struct {
	PyObject_HEAD
	PyObject *pub;
	size_t nbytes;      /* loaned */
	size_t len;         /* to publish: nbytes, or less after shrink() */
	int64_t timeout_ns;
	char *data;         /* in the segment, while open */
	PyObject *view;     /* the memoryview __enter__ returned */
	Py_ssize_t exports;
	enum loan_state state;
} LoanObject;

PyObject *mb_loan_new(mb_state *st, PyObject *pub, size_t nbytes, int64_t timeout_ns)
{
	LoanObject *self = PyObject_GC_New(LoanObject, st->Loan);

	if (!self)
		return NULL;
	self->pub = Py_NewRef(pub);
	self->nbytes = self->len = nbytes;
	self->timeout_ns = timeout_ns;
	self->data = NULL;
	self->view = NULL;
	self->exports = 0;
	self->state = LOAN_NEW;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

static int check_open(LoanObject *self)
{
	if (self->state == LOAN_OPEN)
		return 0;
	PyErr_SetString(PyExc_ValueError, self->state == LOAN_NEW
			? "the loan is not open: use it as `with pub.loan(n) as buf:`"
			: "the loan has ended: its message was published or dropped");
	return -1;
}

PyDoc_STRVAR(enter_doc,
"__enter__() -> memoryview\n"
"\n"
"Loan the space (waiting as the timeout says) and return a writable\n"
"memoryview of it, in the segment.");

static PyObject *ln_enter(LoanObject *self, PyObject *unused)
{
	void *data;

	if (self->state != LOAN_NEW) {
		PyErr_SetString(PyExc_RuntimeError,
				"a Loan is entered once: call pub.loan() for each message");
		return NULL;
	}
	if (mb_publisher_loan(self->pub, self->nbytes, self->timeout_ns, &data) < 0)
		return NULL;
	self->data = data;
	self->state = LOAN_OPEN;
	self->view = PyMemoryView_FromObject((PyObject *)self);
	if (!self->view) {
		self->state = LOAN_DONE;
		mb_publisher_end_loan(self->pub, 0);
		return NULL;
	}
	return Py_NewRef(self->view);
}

PyDoc_STRVAR(shrink_doc,
"shrink(nbytes) -> None\n"
"\n"
"Publish only the first `nbytes` of the loan (at most what is loaned or\n"
"kept by an earlier shrink); the rest goes back to the channel.");

static PyObject *ln_shrink(LoanObject *self, PyObject *arg)
{
	Py_ssize_t n = PyNumber_AsSsize_t(arg, PyExc_OverflowError);

	if (n == -1 && PyErr_Occurred())
		return NULL;
	if (check_open(self) < 0)
		return NULL;
	if (n < 0 || (size_t)n > self->len)
		return PyErr_Format(PyExc_ValueError, "shrink() takes 0 to %zu bytes, not %zd",
				    self->len, n);
	if (mb_publisher_shrink(self->pub, (size_t)n) < 0)
		return NULL;
	self->len = (size_t)n;
	Py_RETURN_NONE;
}

/* Release the memoryview handed out; 0, or -1 if views of it live on. */
static int drop_view(LoanObject *self)
{
	PyObject *r = NULL;

	if (self->view)
		r = PyObject_CallMethod(self->view, "release", NULL);
	if (r)
		Py_DECREF(r);
	else
		PyErr_Clear(); /* exports of it: counted below */
	Py_CLEAR(self->view);
	return self->exports > 0 ? -1 : 0;
}

PyDoc_STRVAR(exit_doc,
"__exit__(*exc) -> False\n"
"\n"
"Publish the message if the block ended normally, drop it if it raised; the\n"
"memoryview is released either way. BufferError (and the message dropped)\n"
"if a view of it (a slice, a numpy array...) is still alive.");

static PyObject *ln_exit(LoanObject *self, PyObject *args)
{
	PyObject *exc_type = PyTuple_GET_SIZE(args) > 0 ? PyTuple_GET_ITEM(args, 0) : Py_None;
	int live;

	if (check_open(self) < 0)
		return NULL;
	live = drop_view(self) < 0;
	self->state = LOAN_DONE;
	self->data = NULL;
	if (mb_publisher_end_loan(self->pub, !live && exc_type == Py_None) < 0)
		return NULL;
	if (live)
		return PyErr_Format(PyExc_BufferError,
				    "%zd view(s) of the loan (slices, arrays...) outlived its "
				    "`with` block: the message was dropped; release them inside it",
				    self->exports);
	Py_RETURN_FALSE;
}

static int ln_getbuffer(LoanObject *self, Py_buffer *view, int flags)
{
	if (check_open(self) < 0) {
		PyErr_Clear();
		PyErr_SetString(PyExc_BufferError, "the loan is not open");
		return -1;
	}
	if (PyBuffer_FillInfo(view, (PyObject *)self, self->data, (Py_ssize_t)self->nbytes, 0,
			      flags) < 0)
		return -1;
	self->exports++;
	return 0;
}

static void ln_releasebuffer(LoanObject *self, Py_buffer *view)
{
	self->exports--;
}

static PyObject *ln_repr(LoanObject *self)
{
	static const char *const states[] = {"new", "open", "ended"};

	return PyUnicode_FromFormat("<membridge.Loan nbytes=%zu len=%zu %s>", self->nbytes,
				    self->len, states[self->state]);
}

static int ln_traverse(LoanObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	Py_VISIT(self->pub);
	Py_VISIT(self->view);
	return 0;
}

/* The memoryview refers back to the loan: a never-ended loan is a cycle. */
static int ln_clear(LoanObject *self)
{
	Py_CLEAR(self->view);
	return 0;
}

static void ln_dealloc(LoanObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	/* Entered, never exited, and no view left: the message is dropped. */
	if (self->state == LOAN_OPEN && mb_publisher_end_loan(self->pub, 0) < 0)
		PyErr_WriteUnraisable((PyObject *)self);
	Py_CLEAR(self->view);
	Py_CLEAR(self->pub);
	type->tp_free(self);
	Py_DECREF(type);
}

static PyMethodDef ln_methods[] = {
	{"shrink", (PyCFunction)ln_shrink, METH_O, shrink_doc},
	{"__enter__", (PyCFunction)ln_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)ln_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(ln_doc,
"Space loaned in a channel's segment for one message, written in place.\n"
"\n"
"Made by Publisher.loan(); use it once, in a `with` block. While it is open\n"
"the publisher takes no other call but subscribers(), evict() and fileno().");

static PyType_Slot ln_slots[] = {
	{Py_tp_doc, (void *)ln_doc},
	{Py_tp_methods, ln_methods},
	{Py_tp_repr, ln_repr},
	{Py_tp_traverse, ln_traverse},
	{Py_tp_clear, ln_clear},
	{Py_tp_dealloc, ln_dealloc},
	{Py_bf_getbuffer, ln_getbuffer},
	{Py_bf_releasebuffer, ln_releasebuffer},
	{0, NULL},
};

PyType_Spec mb_loan_spec = {
	.name = "membridge.Loan",
	.basicsize = sizeof(LoanObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = ln_slots,
};
