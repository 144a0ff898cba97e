/* SPDX-License-Identifier: MIT */
/* Publisher: the channel's one writer; loans space, publishes messages. */
#include "membridge_py.h"

#include <errno.h>

typedef struct {
	PyObject_HEAD
	struct membridge_publisher *pub;
	PyObject *name;
	size_t max_message;
	unsigned subscribers;  /* slots of the channel */
	int busy;              /* a call is waiting with the GIL released */
	int loaning;           /* a Loan's `with` block is open */
} PublisherObject;

PyObject *mb_publisher_new(mb_state *st, struct membridge_publisher *pub, PyObject *name,
			   const struct membridge_channel_config *cfg)
{
	PublisherObject *self = PyObject_GC_New(PublisherObject, st->Publisher);

	if (!self) {
		membridge_publisher_close(pub);
		return NULL;
	}
	self->pub = pub;
	self->name = Py_NewRef(name);
	self->max_message = (size_t)cfg->max_message;
	self->subscribers = cfg->subscribers;
	self->busy = 0;
	self->loaning = 0;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

/* The C publisher, or an exception if closed, waiting in another thread,
 * or (unless `in_loan`) inside a loan's `with` block. */
static struct membridge_publisher *handle_in(PublisherObject *self, int in_loan)
{
	if (!self->pub)
		PyErr_Format(PyExc_ValueError, "Publisher of '%U' is closed", self->name);
	else if (self->busy)
		PyErr_Format(PyExc_RuntimeError,
			     "Publisher of '%U' is in use by another thread: one thread at a "
			     "time per handle", self->name);
	else if (self->loaning && !in_loan)
		PyErr_Format(PyExc_RuntimeError,
			     "a loan of Publisher '%U' is open: finish its `with` block first",
			     self->name);
	else
		return self->pub;
	return NULL;
}

static struct membridge_publisher *handle(PublisherObject *self)
{
	return handle_in(self, 0);
}

static PyObject *fail(PublisherObject *self, int err, enum mb_op op, size_t n)
{
	return mb_py_raise(mb_state_of((PyObject *)self), err, op, self->name, n);
}

static int full(int ret)
{
	return ret == -EAGAIN || ret == -ETIMEDOUT;
}

/* Run an attempt as the timeout says, marked busy while the GIL may be released. */
static int run(PublisherObject *self, mb_wait_fn fn, void *ctx, int64_t timeout_ns)
{
	int ret;

	self->busy = 1;
	ret = mb_wait(fn, ctx, timeout_ns);
	self->busy = 0;
	return ret;
}

struct loan_call {
	struct membridge_publisher *pub;
	size_t len;
	void *data;
};

static int loan_once(void *ctx, int64_t timeout_ns)
{
	struct loan_call *c = ctx;

	return membridge_publisher_loan(c->pub, c->len, &c->data, timeout_ns);
}

int mb_publisher_loan(PyObject *obj, size_t nbytes, int64_t timeout_ns, void **data)
{
	PublisherObject *self = (PublisherObject *)obj;
	struct loan_call c = {handle(self), nbytes, NULL};
	int ret;

	if (!c.pub)
		return -1;
	ret = run(self, loan_once, &c, timeout_ns);
	if (ret < 0) {
		fail(self, ret, MB_OP_LOAN, self->max_message);
		return -1;
	}
	self->loaning = 1;
	*data = c.data;
	return 0;
}

int mb_publisher_shrink(PyObject *obj, size_t nbytes)
{
	PublisherObject *self = (PublisherObject *)obj;
	int ret;

	if (!handle_in(self, 1))
		return -1;
	ret = membridge_publisher_shrink(self->pub, nbytes);
	if (ret < 0) {
		fail(self, ret, MB_OP_LOAN, self->max_message);
		return -1;
	}
	return 0;
}

int mb_publisher_end_loan(PyObject *obj, int publish)
{
	PublisherObject *self = (PublisherObject *)obj;
	int ret;

	self->loaning = 0;
	if (!self->pub)
		return 0;
	ret = publish ? membridge_publisher_publish(self->pub)
		      : membridge_publisher_abort(self->pub);
	if (ret < 0) {
		fail(self, ret, MB_OP_LOAN, self->max_message);
		return -1;
	}
	return 0;
}

PyDoc_STRVAR(loan_doc,
"loan(nbytes, timeout=None) -> Loan\n"
"\n"
"A context manager that loans `nbytes` in the segment for the next message:\n"
"`with pub.loan(n) as buf:` gives a writable memoryview of n bytes (64-byte\n"
"aligned) to fill in place. Leaving the block normally publishes the message;\n"
"an exception drops it. loan.shrink(k) before the end publishes only the\n"
"first k bytes. When subscribers hold the space it needs, timeout=None raises\n"
"BlockingIOError at once, a number of seconds waits (GIL released,\n"
"interruptible) then raises TimeoutError. ValueError if nbytes exceeds the\n"
"channel's max_message. The memoryview is released when the block ends.");

static PyObject *pb_loan(PublisherObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"nbytes", "timeout", NULL};
	PyObject *timeout = Py_None;
	Py_ssize_t nbytes;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n|O:loan", kwlist, &nbytes, &timeout) ||
	    !handle(self) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	if (nbytes < 0)
		return PyErr_Format(PyExc_ValueError, "nbytes must be >= 0, not %zd", nbytes);
	return mb_loan_new(mb_state_of((PyObject *)self), (PyObject *)self, (size_t)nbytes, ns);
}

struct send_call {
	struct membridge_publisher *pub;
	const struct membridge_iovec *iov;
	size_t count;
	size_t sent;
};

static int send_once(void *ctx, int64_t timeout_ns)
{
	struct send_call *c = ctx;

	return membridge_publisher_sendv(c->pub, c->iov, c->count, timeout_ns);
}

static int send_batch_once(void *ctx, int64_t timeout_ns)
{
	struct send_call *c = ctx;

	return membridge_publisher_send_batch(c->pub, c->iov, c->count, &c->sent, timeout_ns);
}

static PyObject *publish_result(PublisherObject *self, int ret)
{
	if (ret >= 0)
		Py_RETURN_TRUE;
	if (full(ret))
		Py_RETURN_FALSE;
	return fail(self, ret, MB_OP_LOAN, self->max_message);
}

PyObject *mb_publisher_publish_filled(PyObject *obj, size_t nbytes, int64_t timeout_ns,
				      mb_fill_fn fill, void *ctx)
{
	PublisherObject *self = (PublisherObject *)obj;
	struct loan_call c = {handle(self), nbytes, NULL};
	int ret;

	if (!c.pub)
		return NULL;
	ret = run(self, loan_once, &c, timeout_ns);
	if (ret == 0) {
		if (fill(ctx, c.data, c.len) < 0) {
			membridge_publisher_abort(self->pub);
			return NULL;
		}
		ret = membridge_publisher_publish(self->pub);
	}
	return publish_result(self, ret);
}

static int encode_fill(void *ctx, void *data, size_t len)
{
	return mb_values_encode(ctx, data, len);
}

/* Publish encoded values: encoded straight into a loan, no copy. */
static PyObject *publish_values(PublisherObject *self, PyObject *data, int64_t ns)
{
	PyObject *result = NULL;
	struct mb_values vals;
	size_t len;

	if (mb_values_gather(data, &vals) < 0)
		return NULL;
	if (mb_values_size(&vals, &len) == 0)
		result = mb_publisher_publish_filled((PyObject *)self, len, ns, encode_fill, &vals);
	mb_values_release(&vals);
	return result;
}

PyDoc_STRVAR(publish_doc,
"publish(data, timeout=None) -> bool\n"
"\n"
"Copy one message into the channel and publish it: a bytes-like object as it\n"
"is, or a bool, int, float, str or flat list of them encoded as\n"
"SpscRingBuffer.push() encodes them. Returns False when subscribers hold the\n"
"space it needs: timeout None tries once, a number of seconds waits (GIL\n"
"released, interruptible). ValueError if it exceeds max_message.");

static PyObject *pb_publish(PublisherObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"data", "timeout", NULL};
	PyObject *data, *timeout = Py_None, *result;
	struct membridge_iovec iov;
	struct send_call c = {NULL, &iov, 1, 0};
	Py_buffer view;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:publish", kwlist, &data, &timeout) ||
	    !(c.pub = handle(self)) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	if (!PyObject_CheckBuffer(data) || PyList_Check(data))
		return publish_values(self, data, ns);
	if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
		return NULL;
	iov.base = view.buf;
	iov.len = (size_t)view.len;
	result = publish_result(self, run(self, send_once, &c, ns));
	PyBuffer_Release(&view);
	return result;
}

PyDoc_STRVAR(publish_many_doc,
"publish_many(items, timeout=None) -> int\n"
"\n"
"Publish each element of `items` as one message (encoded as publish() does),\n"
"all with one store. Stops at the first that does not fit now; returns how\n"
"many were published. timeout waits only until the first one fits.");

static PyObject *pb_publish_many(PublisherObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"items", "timeout", NULL};
	PyObject *items, *timeout = Py_None, *result = NULL;
	struct send_call c = {NULL, NULL, 0, 0};
	struct mb_batch batch;
	int64_t ns;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:publish_many", kwlist, &items,
					 &timeout) ||
	    !(c.pub = handle(self)) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0 ||
	    mb_batch_encode(items, "publish_many", &batch) < 0)
		return NULL;
	c.iov = batch.iov;
	c.count = batch.count;
	ret = batch.count ? run(self, send_batch_once, &c, ns) : 0;
	if (ret >= 0 || full(ret))
		result = PyLong_FromSize_t(c.sent);
	else
		fail(self, ret, MB_OP_LOAN, self->max_message);
	mb_batch_release(&batch);
	return result;
}

PyDoc_STRVAR(subscribers_doc,
"subscribers() -> list[SubscriberInfo]\n"
"\n"
"The subscriber slots in use, each (slot, pid, active, evicted, lag,\n"
"lag_bytes): lag counts the messages published that it has not released.");

static PyObject *pb_subscribers(PublisherObject *self, PyObject *unused)
{
	mb_state *st = mb_state_of((PyObject *)self);
	struct membridge_subscriber_info *info;
	PyObject *list;
	int i, n;

	if (!handle_in(self, 1))
		return NULL;
	info = PyMem_Calloc(self->subscribers, sizeof(*info));
	if (!info)
		return PyErr_NoMemory();
	n = membridge_publisher_subscribers(self->pub, info, self->subscribers);
	if (n < 0) {
		PyMem_Free(info);
		return fail(self, n, MB_OP_CHANNEL, 0);
	}
	if ((unsigned)n > self->subscribers)
		n = (int)self->subscribers; /* cannot be: the slots are fixed */
	list = PyList_New(n);
	for (i = 0; list && i < n; i++) {
		PyObject *item = mb_subscriber_info_new(st, &info[i]);

		if (!item)
			Py_CLEAR(list);
		else
			PyList_SET_ITEM(list, i, item);
	}
	PyMem_Free(info);
	return list;
}

PyDoc_STRVAR(evict_doc,
"evict(slot) -> None\n"
"\n"
"Stop waiting for the subscriber in `slot`: its space is reused at once and\n"
"its next receive raises ConnectionResetError. ValueError if no subscriber\n"
"is there.");

static PyObject *pb_evict(PublisherObject *self, PyObject *arg)
{
	unsigned long slot = PyLong_AsUnsignedLong(arg);
	int ret;

	if (slot == (unsigned long)-1 && PyErr_Occurred()) {
		if (!PyErr_ExceptionMatches(PyExc_OverflowError))
			return NULL;
		PyErr_Clear();
		slot = UINT_MAX;
	}
	if (!handle_in(self, 1))
		return NULL;
	ret = slot >= self->subscribers ? -ENOENT
					: membridge_publisher_evict(self->pub, (unsigned)slot);
	if (ret < 0)
		return fail(self, ret, MB_OP_EVICT, slot);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(fileno_doc,
"fileno() -> int\n"
"\n"
"A descriptor (Linux) that becomes readable when subscribers released space\n"
"after a loan found none (timeout=None, BlockingIOError): wait on it with\n"
"select/poll or an event loop, then loan again. It belongs to the publisher\n"
"(closed by close()); a wake-up may be spurious. OSError (ENOTSUP) elsewhere.");

static PyObject *pb_fileno(PublisherObject *self, PyObject *unused)
{
	int fd;

	if (!handle_in(self, 1))
		return NULL;
	fd = membridge_publisher_fd(self->pub);
	return fd < 0 ? fail(self, fd, MB_OP_CHANNEL, 0) : PyLong_FromLong(fd);
}

static int release(PublisherObject *self)
{
	struct membridge_publisher *pub = self->pub;

	if (!pub)
		return 0;
	if (self->busy || self->loaning) {
		PyErr_Format(self->loaning ? PyExc_BufferError : PyExc_RuntimeError,
			     "cannot close Publisher of '%U': %s", self->name,
			     self->loaning ? "a loan's `with` block is open (its memoryview "
					     "points into the segment)"
					   : "another thread is waiting in it");
		return -1;
	}
	self->pub = NULL;
	Py_BEGIN_ALLOW_THREADS
	membridge_publisher_close(pub);
	Py_END_ALLOW_THREADS
	return 0;
}

PyDoc_STRVAR(close_doc,
"close() -> None\n"
"\n"
"Give up the channel (subscribers keep what was published); another\n"
"publisher may then open it. A second close() does nothing.");

static PyObject *pb_close(PublisherObject *self, PyObject *unused)
{
	if (release(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> Publisher\n\nReturn self.");

static PyObject *pb_enter(PublisherObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return Py_NewRef(self);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nClose the publisher.");

static PyObject *pb_exit(PublisherObject *self, PyObject *args)
{
	return pb_close(self, NULL);
}

static PyObject *pb_repr(PublisherObject *self)
{
	return PyUnicode_FromFormat("<membridge.Publisher name=%R max_message=%zu subscribers=%u "
				    "%s>", self->name, self->max_message, self->subscribers,
				    self->pub ? "open" : "closed");
}

static void pb_finalize(PublisherObject *self)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if (release(self) < 0)
		PyErr_WriteUnraisable((PyObject *)self);
	PyErr_Restore(type, value, tb);
}

static int pb_traverse(PublisherObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	return 0;
}

static void pb_dealloc(PublisherObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
		return;
	Py_CLEAR(self->name);
	type->tp_free(self);
	Py_DECREF(type);
}

PyDoc_STRVAR(publish_async_doc,
"publish_async(data, timeout=math.inf) -> None  (a coroutine)\n"
"\n"
"Await space and publish `data` (as publish()): publish() is tried first,\n"
"then the event loop waits on fileno() (no thread), retrying at least every\n"
"100 ms (a subscriber that died is found only by retrying). TimeoutError\n"
"after `timeout` seconds; a cancelled call has published nothing.");

static PyObject *pb_publish_async(PyObject *self, PyObject *args, PyObject *kwargs)
{
	return mb_aio_call("publish_async", self, args, kwargs);
}

PyDoc_STRVAR(loan_async_doc,
"loan_async(nbytes, timeout=math.inf) -> async context manager\n"
"\n"
"`async with pub.loan_async(n) as buf:` awaits n bytes of space as\n"
"publish_async() does, then gives a writable memoryview into the segment;\n"
"a normal exit publishes, an exception aborts, as for loan(). Its shrink(k)\n"
"inside the block publishes only the first k bytes. TimeoutError after\n"
"`timeout` seconds.");

static PyObject *pb_loan_async(PyObject *self, PyObject *args, PyObject *kwargs)
{
	return mb_aio_call("loan_async", self, args, kwargs);
}

static PyMethodDef pb_methods[] = {
	{"loan", VARARGS_KW(pb_loan), loan_doc},
	{"publish", VARARGS_KW(pb_publish), publish_doc},
	{"publish_many", VARARGS_KW(pb_publish_many), publish_many_doc},
	{"publish_array", VARARGS_KW(mb_publish_array), mb_publish_array_doc},
	{"publish_parts", VARARGS_KW(mb_publish_parts), mb_publish_parts_doc},
	{"publish_object", VARARGS_KW(mb_publish_object), mb_publish_object_doc},
	{"publish_async", VARARGS_KW(pb_publish_async), publish_async_doc},
	{"loan_async", VARARGS_KW(pb_loan_async), loan_async_doc},
	{"subscribers", (PyCFunction)pb_subscribers, METH_NOARGS, subscribers_doc},
	{"evict", (PyCFunction)pb_evict, METH_O, evict_doc},
	{"fileno", (PyCFunction)pb_fileno, METH_NOARGS, fileno_doc},
	{"close", (PyCFunction)pb_close, METH_NOARGS, close_doc},
	{"__enter__", (PyCFunction)pb_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)pb_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(pb_doc,
"The publisher of a channel: one at a time, across all processes.\n"
"\n"
"Made by SharedMemory.publisher(). Each message published reaches every\n"
"subscriber, in order; space is reused only once every live subscriber has\n"
"released it, so a full channel makes the publisher wait (or fail with\n"
"timeout=None) instead of costing a subscriber a message. The handle keeps\n"
"the segment mapped after the SharedMemory is closed.\n"
"\n"
"Timeouts are in seconds: None tries once, math.inf waits without limit;\n"
"the async methods take seconds or math.inf (their default), never None.");

static PyType_Slot pb_slots[] = {
	{Py_tp_doc, (void *)pb_doc},
	{Py_tp_methods, pb_methods},
	{Py_tp_repr, pb_repr},
	{Py_tp_finalize, pb_finalize},
	{Py_tp_traverse, pb_traverse},
	{Py_tp_dealloc, pb_dealloc},
	{0, NULL},
};

PyType_Spec mb_publisher_spec = {
	.name = "membridge.Publisher",
	.basicsize = sizeof(PublisherObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = pb_slots,
};
