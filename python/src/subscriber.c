/* SPDX-License-Identifier: MIT */
/* Subscriber: one reader of a channel; receives messages in place. */
#include "membridge_py.h"

#include <errno.h>

/* A message the C subscriber holds, in the order received. */
struct held {
	struct membridge_message msg;
	int released;        /* by Python: its space may go back */
};

typedef struct {
	PyObject_HEAD
	struct membridge_subscriber *sub;
	PyObject *name;
	unsigned slot;
	size_t max_batch;    /* the most messages the data area can hold */
	Py_ssize_t held;     /* Messages received and not yet released */
	Py_ssize_t exports;  /* live buffer exports of those */
	int busy;            /* a call is waiting with the GIL released */
	/* What the C subscriber holds, oldest first: a circular queue of
	 * `count` of `cap` entries from `first`, the oldest being message
	 * number `oldest` of those this handle received. */
	struct held *queue;
	size_t cap, first, count;
	uint64_t oldest;
} SubscriberObject;

PyObject *mb_subscriber_new(mb_state *st, struct membridge_subscriber *sub, PyObject *name,
			    const struct membridge_channel_config *cfg)
{
	SubscriberObject *self = PyObject_GC_New(SubscriberObject, st->Subscriber);

	if (!self) {
		membridge_subscriber_close(sub);
		return NULL;
	}
	self->sub = sub;
	self->name = Py_NewRef(name);
	self->slot = membridge_subscriber_slot(sub);
	self->max_batch = (size_t)(cfg->data_size / MEMBRIDGE_CHANNEL_ALIGN);
	self->held = 0;
	self->exports = 0;
	self->busy = 0;
	self->queue = NULL;
	self->cap = self->first = self->count = 0;
	self->oldest = 0;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

/* The C subscriber, or an exception if closed or waiting in another thread. */
static struct membridge_subscriber *handle(SubscriberObject *self)
{
	if (!self->sub)
		PyErr_Format(PyExc_ValueError, "Subscriber of '%U' is closed", self->name);
	else if (self->busy)
		PyErr_Format(PyExc_RuntimeError,
			     "Subscriber of '%U' is in use by another thread: one thread at a "
			     "time per handle", self->name);
	else
		return self->sub;
	return NULL;
}

static PyObject *fail(SubscriberObject *self, int err)
{
	return mb_py_raise(mb_state_of((PyObject *)self), err, MB_OP_RECEIVE, self->name, 0);
}

static int none_came(int ret)
{
	return ret == -EAGAIN || ret == -ETIMEDOUT;
}

static struct held *entry(SubscriberObject *self, size_t i)
{
	return &self->queue[(self->first + i) % self->cap];
}

/* Queue a message the C subscriber now holds; its number, or -1 with
 * MemoryError (the message is then released with the next ones). */
static int64_t enqueue(SubscriberObject *self, const struct membridge_message *msg)
{
	if (self->count == self->cap) {
		size_t cap = self->cap ? 2 * self->cap : 16, i;
		struct held *q = PyMem_Calloc(cap, sizeof(*q));

		if (!q) {
			PyErr_NoMemory();
			return -1;
		}
		for (i = 0; i < self->count; i++)
			q[i] = *entry(self, i);
		PyMem_Free(self->queue);
		self->queue = q;
		self->cap = cap;
		self->first = 0;
	}
	*entry(self, self->count) = (struct held){ *msg, 0 };
	self->count++;
	return (int64_t)(self->oldest + self->count - 1);
}

/* Give the space of the released messages at the front of the queue back
 * to the publisher: all of them with one release when nothing else is
 * held, else up to the newest of them (membridge_subscriber_release_until),
 * so a consumer that keeps one message while it takes the next still frees
 * space as it goes. */
static void settle(SubscriberObject *self)
{
	struct membridge_message last;
	size_t n = 0;

	while (n < self->count && entry(self, n)->released)
		n++;
	if (n == 0 || !self->sub)
		return;
	last = entry(self, n - 1)->msg;
	self->first = (self->first + n) % self->cap;
	self->count -= n;
	self->oldest += n;
	if (self->count == 0)
		membridge_subscriber_release(self->sub);
	else
		/* -EBADMSG (a peer overwrote a record): the space comes back
		 * with the one release when nothing is held. */
		(void)membridge_subscriber_release_until(self->sub, &last);
}

/* Mark message number `number` released by Python. */
static void mark(SubscriberObject *self, uint64_t number)
{
	if (number >= self->oldest && number - self->oldest < self->count)
		entry(self, (size_t)(number - self->oldest))->released = 1;
}

/* Messages the C subscriber received that no Message took: queue them as
 * released (if the queue cannot grow, they go with the next release). */
static void let_go(SubscriberObject *self, const struct membridge_message *msgs, int n)
{
	int64_t number;
	int i;

	for (i = 0; i < n; i++) {
		number = enqueue(self, &msgs[i]);
		if (number < 0)
			PyErr_Clear();
		else
			mark(self, (uint64_t)number);
	}
	settle(self);
}

int mb_subscriber_is_open(PyObject *obj)
{
	return ((SubscriberObject *)obj)->sub != NULL;
}

void mb_subscriber_exports(PyObject *obj, int delta)
{
	((SubscriberObject *)obj)->exports += delta;
}

void mb_subscriber_drop(PyObject *obj, uint64_t number)
{
	SubscriberObject *self = (SubscriberObject *)obj;

	self->held--;
	mark(self, number);
	settle(self);
}

struct receive_call {
	struct membridge_subscriber *sub;
	struct membridge_message *msgs;
	size_t max;
	int count;
};

static int receive_once(void *ctx, int64_t timeout_ns)
{
	struct receive_call *c = ctx;

	c->count = membridge_subscriber_receive_batch(c->sub, c->msgs, c->max, timeout_ns);
	return c->count < 0 ? c->count : 0;
}

/* Wait for up to `max` messages as the timeout says: how many came (0 if
 * none), or -1 with an exception. */
static int receive(SubscriberObject *self, PyObject *timeout, struct membridge_message *msgs,
		   size_t max)
{
	struct receive_call c = {self->sub, msgs, max, 0};
	int64_t ns;
	int ret;

	if (mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return -1;
	self->busy = 1;
	ret = mb_wait(receive_once, &c, ns);
	self->busy = 0;
	if (none_came(ret))
		return 0;
	if (ret < 0) {
		fail(self, ret);
		return -1;
	}
	return c.count;
}

/* A Message for a received message; the subscriber holds it until released. */
static PyObject *wrap(SubscriberObject *self, const struct membridge_message *msg)
{
	int64_t number = enqueue(self, msg);
	PyObject *m;

	if (number < 0) {
		settle(self);
		return NULL;
	}
	m = mb_message_new(mb_state_of((PyObject *)self), (PyObject *)self, msg,
			   (uint64_t)number);
	if (!m) {
		mark(self, (uint64_t)number);
		settle(self);
		return NULL;
	}
	self->held++;
	return m;
}

PyDoc_STRVAR(receive_doc,
"receive(timeout=None) -> Message | None\n"
"\n"
"The next message, in place in the segment (no copy): a read-only buffer\n"
"(memoryview(msg), bytes(msg), len(msg), msg.seq) valid until msg.release().\n"
"None when none came: timeout None tries once, a number of seconds waits\n"
"(GIL released, interruptible). ConnectionResetError once the publisher\n"
"evicted this subscriber. A message's space goes back to the publisher once\n"
"it and every message received before it are released: release each soon.");

PyObject *mb_subscriber_receive(PyObject *obj, PyObject *timeout)
{
	SubscriberObject *self = (SubscriberObject *)obj;
	struct membridge_message msg;
	int n;

	if (!handle(self))
		return NULL;
	n = receive(self, timeout, &msg, 1);
	if (n <= 0)
		return n < 0 ? NULL : Py_NewRef(Py_None);
	return wrap(self, &msg);
}

static PyObject *sb_receive(SubscriberObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"timeout", NULL};
	PyObject *timeout = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:receive", kwlist, &timeout))
		return NULL;
	return mb_subscriber_receive((PyObject *)self, timeout);
}

PyDoc_STRVAR(receive_many_doc,
"receive_many(max_count, timeout=None) -> list[Message]\n"
"\n"
"Up to `max_count` messages waiting now, each as receive() returns it;\n"
"timeout waits only for the first; [] when none came.");

static PyObject *sb_receive_many(SubscriberObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"max_count", "timeout", NULL};
	PyObject *timeout = Py_None, *list = NULL;
	struct membridge_message *msgs;
	Py_ssize_t max_count;
	size_t max;
	int i, n;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n|O:receive_many", kwlist, &max_count,
					 &timeout) ||
	    !handle(self))
		return NULL;
	if (max_count < 0)
		return PyErr_Format(PyExc_ValueError, "max_count must be >= 0, not %zd", max_count);
	if (max_count == 0)
		return PyList_New(0);
	/* No more messages can be in flight than records fit in the data area. */
	max = (size_t)max_count < self->max_batch ? (size_t)max_count : self->max_batch;
	msgs = PyMem_Calloc(max, sizeof(*msgs));
	if (!msgs)
		return PyErr_NoMemory();
	n = receive(self, timeout, msgs, max);
	if (n >= 0)
		list = PyList_New(0);
	for (i = 0; list && i < n; i++) {
		PyObject *m = wrap(self, &msgs[i]);

		if (!m || PyList_Append(list, m) < 0)
			Py_CLEAR(list);
		Py_XDECREF(m);
	}
	if (i < n)
		let_go(self, msgs + i, n - i); /* past a failure: no Message took them */
	PyMem_Free(msgs);
	return list;
}

/* Receive one message, copy it out (decoded with a tag) and let it go:
 * released at once unless other Messages are held. */
static PyObject *receive_copy(SubscriberObject *self, PyObject *timeout, int tagged,
			      enum membridge_type type)
{
	struct membridge_message msg;
	PyObject *result;
	int n = receive(self, timeout, &msg, 1);

	if (n <= 0)
		return n < 0 ? NULL : Py_NewRef(Py_None);
	if (tagged)
		result = mb_payload_decode(mb_state_of((PyObject *)self), msg.data, msg.len, type,
					   NULL);
	else
		result = PyBytes_FromStringAndSize(msg.data, (Py_ssize_t)msg.len);
	let_go(self, &msg, 1);
	return result;
}

PyDoc_STRVAR(receive_bytes_doc,
"receive_bytes(timeout=None) -> bytes | None\n"
"\n"
"The next message copied into bytes and released (its space is freed at\n"
"once unless Messages from receive() are still held); None as for receive().");

static PyObject *sb_receive_bytes(SubscriberObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"timeout", NULL};
	PyObject *timeout = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:receive_bytes", kwlist, &timeout) ||
	    !handle(self))
		return NULL;
	return receive_copy(self, timeout, 0, MEMBRIDGE_BYTES);
}

PyDoc_STRVAR(receive_value_doc,
"receive_value(tag=None, timeout=None) -> value | bytes | None\n"
"\n"
"The next message decoded as SpscRingBuffer.pop(tag) decodes it (the first\n"
"value of type `tag`, or its bytes without a tag), then released as\n"
"receive_bytes() does. None when none came; a message that cannot be decoded\n"
"is consumed and raises MessageDecodeError with the payload in `.raw`.");

static PyObject *sb_receive_value(SubscriberObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"tag", "timeout", NULL};
	PyObject *tag = Py_None, *timeout = Py_None;
	enum membridge_type type = MEMBRIDGE_BYTES;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|OO:receive_value", kwlist, &tag,
					 &timeout) ||
	    !handle(self) || (tag != Py_None && mb_tag_parse(tag, &type) < 0))
		return NULL;
	return receive_copy(self, timeout, tag != Py_None, type);
}

PyDoc_STRVAR(fileno_doc,
"fileno() -> int\n"
"\n"
"A descriptor (Linux) that becomes readable when a message may be waiting:\n"
"receive with timeout=None until it returns None, then wait on it with\n"
"select/poll or an event loop. It belongs to the subscriber (closed by\n"
"close()); a wake-up may be spurious. OSError (ENOTSUP) elsewhere.");

static PyObject *sb_fileno(SubscriberObject *self, PyObject *unused)
{
	int fd;

	if (!handle(self))
		return NULL;
	fd = membridge_subscriber_fd(self->sub);
	return fd < 0 ? mb_py_raise(mb_state_of((PyObject *)self), fd, MB_OP_CHANNEL, self->name,
				    0)
		      : PyLong_FromLong(fd);
}

static int release(SubscriberObject *self)
{
	struct membridge_subscriber *sub = self->sub;

	if (!sub)
		return 0;
	if (self->busy) {
		PyErr_Format(PyExc_RuntimeError,
			     "Subscriber of '%U' is in use by another thread", self->name);
		return -1;
	}
	if (self->exports > 0) {
		PyErr_Format(PyExc_BufferError,
			     "cannot close Subscriber of '%U': %zd buffer(s) of its messages "
			     "(memoryview, numpy...) still point into the segment; release them "
			     "first", self->name, self->exports);
		return -1;
	}
	self->sub = NULL;
	Py_BEGIN_ALLOW_THREADS
	membridge_subscriber_close(sub);
	Py_END_ALLOW_THREADS
	return 0;
}

PyDoc_STRVAR(close_doc,
"close() -> None\n"
"\n"
"Release every message and leave the channel; Messages still held can no\n"
"longer be read (ValueError). BufferError while a buffer of one is alive. A\n"
"second close() does nothing.");

static PyObject *sb_close(SubscriberObject *self, PyObject *unused)
{
	if (release(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> Subscriber\n\nReturn self.");

static PyObject *sb_enter(SubscriberObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return Py_NewRef(self);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nClose the subscriber.");

static PyObject *sb_exit(SubscriberObject *self, PyObject *args)
{
	return sb_close(self, NULL);
}

PyDoc_STRVAR(slot_doc, "This subscriber's slot number, 0 to subscribers - 1.");

static PyObject *sb_get_slot(SubscriberObject *self, void *closure)
{
	return PyLong_FromUnsignedLong(self->slot);
}

static PyGetSetDef sb_getset[] = {
	{"slot", (getter)sb_get_slot, NULL, slot_doc, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static PyObject *sb_repr(SubscriberObject *self)
{
	return PyUnicode_FromFormat("<membridge.Subscriber name=%R slot=%u held=%zd %s>",
				    self->name, self->slot, self->held,
				    self->sub ? "open" : "closed");
}

static void sb_finalize(SubscriberObject *self)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if (release(self) < 0)
		PyErr_WriteUnraisable((PyObject *)self);
	PyErr_Restore(type, value, tb);
}

static int sb_traverse(SubscriberObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	return 0;
}

static void sb_dealloc(SubscriberObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
		return;
	Py_CLEAR(self->name);
	PyMem_Free(self->queue);
	type->tp_free(self);
	Py_DECREF(type);
}

PyDoc_STRVAR(receive_async_doc,
"receive_async(timeout=math.inf) -> Message  (a coroutine)\n"
"\n"
"Await the next message: receive() is tried first, then the event loop\n"
"waits on fileno() (no thread; without descriptors, HAVE_DESCRIPTORS False,\n"
"it polls every millisecond) and receive() is tried again. TimeoutError\n"
"after `timeout` seconds. A cancelled call (asyncio.wait_for,\n"
"asyncio.timeout) has taken nothing: the next receive gets the message.\n"
"`async for msg in sub` takes each message as receive_async() does (one\n"
"waiting already comes at once, without the coroutine), without end:\n"
"break out of it, or cancel the task.");

static PyObject *sb_receive_async(PyObject *self, PyObject *args, PyObject *kwargs)
{
	return mb_aio_call("receive_async", self, args, kwargs);
}

/* `async for`: a message waiting now comes in a done awaitable, without
 * the coroutine of receive_async() (about a tenth of the cost). */
static PyObject *sb_anext(PyObject *self)
{
	PyObject *msg = mb_subscriber_receive(self, Py_None);

	if (!msg || msg != Py_None)
		return msg ? mb_aio_ready(mb_state_of(self), msg) : NULL;
	Py_DECREF(msg);
	return mb_aio_call("receive_async", self, NULL, NULL);
}

static PyMethodDef sb_methods[] = {
	{"receive", VARARGS_KW(sb_receive), receive_doc},
	{"receive_many", VARARGS_KW(sb_receive_many), receive_many_doc},
	{"receive_bytes", VARARGS_KW(sb_receive_bytes), receive_bytes_doc},
	{"receive_value", VARARGS_KW(sb_receive_value), receive_value_doc},
	{"receive_array", VARARGS_KW(mb_receive_array), mb_receive_array_doc},
	{"receive_object", VARARGS_KW(mb_receive_object), mb_receive_object_doc},
	{"receive_async", VARARGS_KW(sb_receive_async), receive_async_doc},
	{"fileno", (PyCFunction)sb_fileno, METH_NOARGS, fileno_doc},
	{"close", (PyCFunction)sb_close, METH_NOARGS, close_doc},
	{"__enter__", (PyCFunction)sb_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)sb_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(sb_doc,
"A subscriber of a channel: receives every message published after it\n"
"joined, in order, exactly once.\n"
"\n"
"Made by SharedMemory.subscriber(). Messages are read in place; the space of\n"
"the messages it holds stays taken until they are released, which holds the\n"
"publisher back once the channel is full. The handle keeps the segment\n"
"mapped after the SharedMemory is closed, and each Message keeps its\n"
"Subscriber alive.\n"
"\n"
"Timeouts are in seconds: None tries once, math.inf waits without limit;\n"
"the async methods take seconds or math.inf (their default), never None.");

static PyType_Slot sb_slots[] = {
	{Py_tp_doc, (void *)sb_doc},
	{Py_tp_methods, sb_methods},
	{Py_tp_getset, sb_getset},
	{Py_am_aiter, mb_aio_self},
	{Py_am_anext, sb_anext},
	{Py_tp_repr, sb_repr},
	{Py_tp_finalize, sb_finalize},
	{Py_tp_traverse, sb_traverse},
	{Py_tp_dealloc, sb_dealloc},
	{0, NULL},
};

PyType_Spec mb_subscriber_spec = {
	.name = "membridge.Subscriber",
	.basicsize = sizeof(SubscriberObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = sb_slots,
};
