/* SPDX-License-Identifier: MIT */
/* SpscRingBuffer: encoded messages through the single-producer/single-consumer ring. */
#include "membridge_py.h"

#include <errno.h>

typedef struct {
	PyObject_HEAD
	struct membridge_spsc *spsc;
	PyObject *name;
	size_t capacity;
	int busy;  /* a call is waiting with the GIL released */
	int peeking;  /* a peek() block is open on a frame */
	PyObject *tag;  /* the str last given as a tag (usually an interned literal) */
	enum membridge_type tag_type;  /* ...and what it parsed to */
} SpscObject;

PyObject *mb_spsc_new(mb_state *st, struct membridge_spsc *spsc, PyObject *name)
{
	SpscObject *self = PyObject_GC_New(SpscObject, st->SpscRingBuffer);

	if (!self) {
		membridge_spsc_close(spsc);
		return NULL;
	}
	self->spsc = spsc;
	self->name = Py_NewRef(name);
	self->capacity = membridge_spsc_capacity(spsc);
	self->busy = 0;
	self->peeking = 0;
	self->tag = NULL;
	self->tag_type = MEMBRIDGE_BYTES;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

/* The C ring, or an exception if closed or in use by a waiting thread (a
 * handle serves one thread at a time: give each thread its own). */
static struct membridge_spsc *handle(SpscObject *self)
{
	if (!self->spsc)
		PyErr_Format(PyExc_ValueError, "SpscRingBuffer '%U' is closed", self->name);
	else if (self->busy)
		PyErr_Format(PyExc_RuntimeError,
			     "SpscRingBuffer '%U' is in use by another thread: give each thread "
			     "its own handle", self->name);
	else if (self->peeking)
		PyErr_Format(PyExc_RuntimeError,
			     "a peek() block of SpscRingBuffer '%U' is open: finish it first",
			     self->name);
	else
		return self->spsc;
	return NULL;
}

/* Run a push or pop attempt as the timeout says; the ring is marked busy
 * while the GIL may be released. */
static int run(SpscObject *self, mb_wait_fn fn, void *ctx, int64_t timeout_ns)
{
	int ret;

	self->busy = 1;
	ret = mb_wait(fn, ctx, timeout_ns);
	self->busy = 0;
	return ret;
}

static PyObject *fail(SpscObject *self, int err, enum mb_op op, size_t n)
{
	return mb_py_raise(mb_state_of((PyObject *)self), err, op, self->name, n);
}

static int empty_or_full(int ret)
{
	return ret == -EAGAIN || ret == -ETIMEDOUT;
}

/* Parse (first, timeout) from a vectorcall where `first` is required or not. */
static int parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs,
		      PyObject *kwnames, const char *first_name, PyObject **first,
		      PyObject **timeout)
{
	const char *names[2] = {first_name, "timeout"};
	PyObject *slots[2] = {*first, Py_None};
	Py_ssize_t i, nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;

	if (nargs > 2)
		goto bad;
	for (i = 0; i < nargs; i++)
		slots[i] = args[i];
	for (i = 0; i < nkw; i++) {
		PyObject *key = PyTuple_GET_ITEM(kwnames, i);
		int k = PyUnicode_CompareWithASCIIString(key, names[0]) == 0 ? 0
			: PyUnicode_CompareWithASCIIString(key, names[1]) == 0 ? 1 : -1;

		if (k < 0 || k < nargs)
			goto bad;
		slots[k] = args[nargs + i];
	}
	if (!slots[0]) {
		PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname,
			     first_name);
		return -1;
	}
	*first = slots[0];
	*timeout = slots[1];
	return 0;
bad:
	PyErr_Format(PyExc_TypeError, "%s() takes (%s, timeout=None)", fname, first_name);
	return -1;
}

struct push_call {
	struct membridge_spsc *spsc;
	const struct membridge_iovec *iov;
	size_t count;
	size_t pushed;
};

static int push_once(void *ctx, int64_t timeout_ns)
{
	struct push_call *c = ctx;

	return membridge_spsc_pushv(c->spsc, c->iov, c->count, timeout_ns);
}

static int push_batch_once(void *ctx, int64_t timeout_ns)
{
	struct push_call *c = ctx;

	return membridge_spsc_push_batch(c->spsc, c->iov, c->count, &c->pushed, timeout_ns);
}

static PyObject *push_result(SpscObject *self, int ret)
{
	if (ret == 0)
		Py_RETURN_TRUE;
	if (empty_or_full(ret))
		Py_RETURN_FALSE;
	return fail(self, ret, MB_OP_PUSH, self->capacity);
}

/* Push one value, str, buffer or list of them encoded as one payload. */
static PyObject *push_value(SpscObject *self, PyObject *data, int64_t ns)
{
	struct membridge_iovec iov;
	struct push_call c = {self->spsc, &iov, 1, 0};
	struct mb_values vals;
	char small[256], *buf = small;
	PyObject *result = NULL;
	size_t len;
	int ret;

	if (mb_values_gather(data, &vals) < 0)
		return NULL;
	ret = mb_values_size(&vals, &len);
	/* Short messages, the common case, are encoded on the stack. */
	if (ret == 0 && len > sizeof(small) && !(buf = PyMem_Malloc(len))) {
		PyErr_NoMemory();
		ret = -1;
	}
	if (ret == 0)
		ret = mb_values_encode(&vals, buf, len);
	mb_values_release(&vals);
	if (ret == 0) {
		iov.base = buf;
		iov.len = len;
		result = push_result(self, run(self, push_once, &c, ns));
	}
	if (buf != small)
		PyMem_Free(buf);
	return result;
}

PyDoc_STRVAR(push_doc,
"push(data, timeout=None) -> bool\n"
"\n"
"Push one message: a bool, int, float, str, bytes-like value, or a flat list\n"
"of them encoded back to back. Returns False when the ring is full: timeout\n"
"None tries once, a number of seconds waits for space (GIL released,\n"
"interruptible). ValueError if the message can never fit.");

static PyObject *sp_push(SpscObject *self, PyObject *const *args, Py_ssize_t nargs,
			 PyObject *kwnames)
{
	PyObject *data = NULL, *timeout;
	struct membridge_iovec iov;
	struct push_call c = {NULL, &iov, 1, 0};
	int64_t ns;
	int ret;

	if (parse_args("push", args, nargs, kwnames, "data", &data, &timeout) < 0 ||
	    !(c.spsc = handle(self)) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	/* bytes-like data is the payload itself, pushed without a copy */
	if (PyBytes_Check(data)) {
		iov.base = PyBytes_AS_STRING(data);
		iov.len = (size_t)PyBytes_GET_SIZE(data);
		return push_result(self, run(self, push_once, &c, ns));
	}
	if (PyObject_CheckBuffer(data) && !PyList_Check(data)) {
		Py_buffer view;

		if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0)
			return NULL;
		iov.base = view.buf;
		iov.len = (size_t)view.len;
		ret = run(self, push_once, &c, ns);
		PyBuffer_Release(&view);
		return push_result(self, ret);
	}
	return push_value(self, data, ns);
}

PyDoc_STRVAR(push_many_doc,
"push_many(items, timeout=None) -> int\n"
"\n"
"Push each element of `items` as one message (encoded as push() does) and\n"
"publish them at once. Stops at the first message that does not fit; returns\n"
"how many went in. timeout waits only until the first one fits.");

static PyObject *sp_push_many(SpscObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"items", "timeout", NULL};
	PyObject *items, *timeout = Py_None, *result = NULL;
	struct push_call c = {NULL, NULL, 0, 0};
	struct mb_batch batch;
	int64_t ns;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:push_many", kwlist, &items, &timeout) ||
	    !(c.spsc = handle(self)) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0 ||
	    mb_batch_encode(items, "push_many", &batch) < 0)
		return NULL;
	c.iov = batch.iov;
	c.count = batch.count;
	ret = batch.count ? run(self, push_batch_once, &c, ns) : 0;
	if (ret == 0 || empty_or_full(ret))
		result = PyLong_FromSize_t(c.pushed);
	else
		fail(self, ret, MB_OP_PUSH, self->capacity);
	mb_batch_release(&batch);
	return result;
}

struct peek_call {
	struct membridge_spsc *spsc;
	struct membridge_frame frame;
};

static int peek_once(void *ctx, int64_t timeout_ns)
{
	struct peek_call *c = ctx;

	return membridge_spsc_peek(c->spsc, &c->frame, timeout_ns);
}

/* Decode a frame in place (joined first only if it wraps). */
static PyObject *decode_frame(SpscObject *self, const struct membridge_frame *f, int tagged,
			      enum membridge_type type, const struct mb_schema *schema)
{
	PyObject *result;
	char *joined = NULL;
	const char *payload = f->part[0];

	if (!tagged) {
		result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)f->len);
		if (result) {
			memcpy(PyBytes_AS_STRING(result), f->part[0], f->part_len[0]);
			memcpy(PyBytes_AS_STRING(result) + f->part_len[0], f->part[1],
			       f->part_len[1]);
		}
	} else {
		if (f->part_len[1]) {
			joined = PyMem_Malloc(f->len);
			if (!joined)
				return PyErr_NoMemory();
			memcpy(joined, f->part[0], f->part_len[0]);
			memcpy(joined + f->part_len[0], f->part[1], f->part_len[1]);
			payload = joined;
		}
		result = mb_payload_decode(mb_state_of((PyObject *)self), payload, f->len, type,
					   schema);
		PyMem_Free(joined);
	}
	return result;
}

/* Decode the peeked frame, then consume it whether or not it decoded. */
static PyObject *take(SpscObject *self, const struct membridge_frame *f, int tagged,
		      enum membridge_type type, const struct mb_schema *schema)
{
	PyObject *result = decode_frame(self, f, tagged, type, schema);
	int ret = membridge_spsc_consume(self->spsc, f);

	/* The frame came from our own peek: if consume now calls it unpublished,
	 * the producer's side took its tail back. */
	if (ret == -EINVAL)
		ret = -EBADMSG;
	if (ret < 0) {
		Py_XDECREF(result);
		return fail(self, ret, MB_OP_POP, 0);
	}
	return result;
}

struct take_call {
	SpscObject *self;
	int tagged;
	enum membridge_type type;
	const struct mb_schema *schema;
	PyObject *result;
};

/* pop_batch callback: decode the one frame; it is consumed either way. */
static int take_first(void *ctx, const struct membridge_frame *f)
{
	struct take_call *t = ctx;

	t->result = decode_frame(t->self, f, t->tagged, t->type, t->schema);
	return 1;
}

/* Wait for a message as `timeout` says and take it; None when there is none. */
static PyObject *pop_common(SpscObject *self, PyObject *timeout, int tagged,
			    enum membridge_type type, const struct mb_schema *schema)
{
	struct peek_call c = {self->spsc};
	struct take_call t = {self, tagged, type, schema, NULL};
	size_t popped = 0;
	int64_t ns;
	int ret;

	if (mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	/* Fast path, with the GIL: a one-frame batch decodes the frame in place
	 * and publishes the new head, touching the shared header once (peek +
	 * consume would read it again before the store). */
	ret = membridge_spsc_pop_batch(self->spsc, 1, take_first, &t, &popped,
				       MEMBRIDGE_NO_WAIT);
	if (popped)
		return t.result; /* the value, or NULL with the decode error set */
	if (ret != -EAGAIN || ns == MEMBRIDGE_NO_WAIT)
		return empty_or_full(ret) ? Py_NewRef(Py_None) : fail(self, ret, MB_OP_POP, 0);
	ret = run(self, peek_once, &c, ns);
	if (empty_or_full(ret))
		Py_RETURN_NONE;
	if (ret < 0)
		return fail(self, ret, MB_OP_POP, 0);
	return take(self, &c.frame, tagged, type, schema);
}

/* Parse a tag, remembering the last one: a loop's pop("str") passes the same
 * interned str every time, so an identity check skips the name lookup. */
static int parse_tag(SpscObject *self, PyObject *tag, enum membridge_type *type)
{
	if (tag == self->tag) {
		*type = self->tag_type;
		return 0;
	}
	if (mb_tag_parse(tag, type) < 0)
		return -1;
	Py_XSETREF(self->tag, Py_NewRef(tag));
	self->tag_type = *type;
	return 0;
}

PyDoc_STRVAR(pop_doc,
"pop(tag=None, timeout=None) -> bytes | value | None\n"
"\n"
"Take the next message: its payload bytes without a tag, else the first value\n"
"decoded with `tag` ('str', 'int', ...). None when the ring is empty: timeout\n"
"None tries once, a number of seconds waits (GIL released, interruptible).\n"
"A message that cannot be decoded is consumed and raises MessageDecodeError\n"
"(MessageUnicodeError for invalid UTF-8) with the payload in `.raw`.");

static PyObject *sp_pop(SpscObject *self, PyObject *const *args, Py_ssize_t nargs,
			PyObject *kwnames)
{
	PyObject *tag = Py_None, *timeout;
	enum membridge_type type = MEMBRIDGE_BYTES;

	if (parse_args("pop", args, nargs, kwnames, "tag", &tag, &timeout) < 0 || !handle(self))
		return NULL;
	if (tag != Py_None && parse_tag(self, tag, &type) < 0)
		return NULL;
	return pop_common(self, timeout, tag != Py_None, type, NULL);
}

PyDoc_STRVAR(pop_mixed_doc,
"pop_mixed(schema, timeout=None) -> list | None\n"
"\n"
"Take the next message and decode it with a schema, [(tag, count), ...]: one\n"
"entry per item, the value itself when count is 1, else a list. None when\n"
"empty; decode errors as for pop().");

static PyObject *sp_pop_mixed(SpscObject *self, PyObject *const *args, Py_ssize_t nargs,
			      PyObject *kwnames)
{
	PyObject *schema_obj = NULL, *timeout, *result;
	struct mb_schema schema;

	if (parse_args("pop_mixed", args, nargs, kwnames, "schema", &schema_obj, &timeout) < 0 ||
	    !handle(self) || mb_schema_parse(schema_obj, &schema) < 0)
		return NULL;
	result = pop_common(self, timeout, 1, MEMBRIDGE_BYTES, &schema);
	mb_schema_release(&schema);
	return result;
}

struct batch {
	SpscObject *self;
	PyObject *list;
	int tagged;
	enum membridge_type type;
};

static int take_one(void *ctx, const struct membridge_frame *frame)
{
	struct batch *b = ctx;
	PyObject *item = decode_frame(b->self, frame, b->tagged, b->type, NULL);
	int ret;

	if (!item)
		return 1; /* stop: the exception is set, the frame consumed */
	ret = PyList_Append(b->list, item);
	Py_DECREF(item);
	return ret < 0 ? 1 : 0;
}

PyDoc_STRVAR(pop_many_doc,
"pop_many(max_count, tag=None, timeout=None) -> list\n"
"\n"
"Take up to `max_count` messages at once (one head update), each as pop(tag)\n"
"would return it; [] when empty. timeout waits only for the first message.\n"
"If a message fails to decode, the error is raised with `.raw` and `.popped`\n"
"(the messages taken before it).");

static PyObject *sp_pop_many(SpscObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"max_count", "tag", "timeout", NULL};
	PyObject *tag = Py_None, *timeout = Py_None;
	struct batch b = {self, NULL, 0, MEMBRIDGE_BYTES};
	struct peek_call c = {NULL};
	Py_ssize_t max_count;
	size_t popped;
	int64_t ns;
	int ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n|OO:pop_many", kwlist, &max_count, &tag,
					 &timeout) ||
	    !(c.spsc = handle(self)) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	if (max_count < 0)
		return PyErr_Format(PyExc_ValueError, "max_count must be >= 0, not %zd", max_count);
	if (tag != Py_None && parse_tag(self, tag, &b.type) < 0)
		return NULL;
	b.tagged = tag != Py_None;
	b.list = PyList_New(0);
	if (!b.list || max_count == 0)
		return b.list;
	ret = run(self, peek_once, &c, ns);
	if (ret == 0)
		ret = membridge_spsc_pop_batch(self->spsc, (size_t)max_count, take_one, &b,
					       &popped, MEMBRIDGE_NO_WAIT);
	if (PyErr_Occurred()) {
		PyObject *type, *value, *tb;

		PyErr_Fetch(&type, &value, &tb);
		PyErr_NormalizeException(&type, &value, &tb);
		if (value && PyObject_SetAttrString(value, "popped", b.list) < 0)
			PyErr_Clear();
		PyErr_Restore(type, value, tb);
		Py_DECREF(b.list);
		return NULL;
	}
	/* A corrupt frame after some good ones: hand those over; the next
	 * call reports the corruption. */
	if (ret == 0 || empty_or_full(ret) || PyList_GET_SIZE(b.list) > 0)
		return b.list;
	Py_DECREF(b.list);
	return fail(self, ret, MB_OP_POP, 0);
}

struct pop_into_call {
	struct membridge_spsc *spsc;
	void *buf;
	size_t cap;
	size_t len;
};

static int pop_into_once(void *ctx, int64_t timeout_ns)
{
	struct pop_into_call *c = ctx;

	return membridge_spsc_pop(c->spsc, c->buf, c->cap, &c->len, timeout_ns);
}

PyDoc_STRVAR(pop_into_doc,
"pop_into(buffer, timeout=None) -> int | None\n"
"\n"
"Copy the next payload into the writable `buffer` and return its length; None\n"
"when empty. If the buffer is too small, ValueError says the size needed and\n"
"the message stays in the ring.");

static PyObject *sp_pop_into(SpscObject *self, PyObject *const *args, Py_ssize_t nargs,
			     PyObject *kwnames)
{
	PyObject *buffer = NULL, *timeout;
	struct pop_into_call c = {NULL};
	Py_buffer view;
	int64_t ns;
	int ret;

	if (parse_args("pop_into", args, nargs, kwnames, "buffer", &buffer, &timeout) < 0 ||
	    !(c.spsc = handle(self)) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0 ||
	    PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE) < 0)
		return NULL;
	c.buf = view.buf;
	c.cap = (size_t)view.len;
	ret = run(self, pop_into_once, &c, ns);
	PyBuffer_Release(&view);
	if (ret == 0)
		return PyLong_FromSize_t(c.len);
	if (empty_or_full(ret))
		Py_RETURN_NONE;
	return fail(self, ret, MB_OP_POP, c.len);
}

int mb_spsc_peek_begin(PyObject *ring, int64_t timeout_ns, struct membridge_frame *frame)
{
	SpscObject *self = (SpscObject *)ring;
	struct peek_call c = {handle(self)};
	int ret;

	if (!c.spsc)
		return -1;
	ret = run(self, peek_once, &c, timeout_ns);
	if (empty_or_full(ret))
		return 0;
	if (ret < 0) {
		fail(self, ret, MB_OP_POP, 0);
		return -1;
	}
	*frame = c.frame;
	self->peeking = 1;
	return 1;
}

int mb_spsc_peek_end(PyObject *ring, const struct membridge_frame *frame, int consume)
{
	SpscObject *self = (SpscObject *)ring;
	int ret;

	self->peeking = 0;
	if (!consume || !self->spsc)
		return 0;
	ret = membridge_spsc_consume(self->spsc, frame);
	/* As in take(): our own peek's frame is never unpublished. */
	if (ret == -EINVAL)
		ret = -EBADMSG;
	if (ret < 0) {
		fail(self, ret, MB_OP_POP, 0);
		return -1;
	}
	return 0;
}

PyDoc_STRVAR(peek_doc,
"peek(timeout=None) -> context manager\n"
"\n"
"`with ring.peek() as payload:` gives a read-only memoryview of the next\n"
"message's payload in place, without taking it; None when the ring has no\n"
"message (timeout None tries once, a number of seconds waits). The message\n"
"is consumed when the block ends normally and stays in the ring if it\n"
"raised. A payload that wraps round the end of the ring is copied once. While\n"
"the block is open the ring takes no other call; BufferError (and nothing\n"
"consumed) if a view of the payload outlives the block.");

static PyObject *sp_peek(SpscObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"timeout", NULL};
	PyObject *timeout = Py_None;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:peek", kwlist, &timeout) ||
	    !handle(self) || mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	return mb_frame_peek_new(mb_state_of((PyObject *)self), (PyObject *)self, ns);
}

/* A ring descriptor from membridge_spsc_data_fd or _space_fd. */
static PyObject *fileno_of(SpscObject *self, int (*get)(struct membridge_spsc *))
{
	int fd;

	if (!handle(self))
		return NULL;
	fd = get(self->spsc);
	return fd < 0 ? fail(self, fd, MB_OP_POP, 0) : PyLong_FromLong(fd);
}

PyDoc_STRVAR(data_fileno_doc,
"data_fileno() -> int\n"
"\n"
"A descriptor (Linux) that becomes readable when a message may be waiting:\n"
"pop until it returns None, then wait on it (select/poll, an event loop).\n"
"Only pushes by this library ring it; it belongs to the ring handle.\n"
"OSError (ENOTSUP) elsewhere.");

static PyObject *sp_data_fileno(SpscObject *self, PyObject *unused)
{
	return fileno_of(self, membridge_spsc_data_fd);
}

PyDoc_STRVAR(space_fileno_doc,
"space_fileno() -> int\n"
"\n"
"A descriptor (Linux) that becomes readable when space may have come: push\n"
"until it returns False, then wait on it. As data_fileno() otherwise.");

static PyObject *sp_space_fileno(SpscObject *self, PyObject *unused)
{
	return fileno_of(self, membridge_spsc_space_fd);
}

PyDoc_STRVAR(used_doc, "used() -> int\n\nBytes in use, frame headers included.");

static PyObject *sp_used(SpscObject *self, PyObject *unused)
{
	size_t n;
	int ret;

	if (!handle(self))
		return NULL;
	ret = membridge_spsc_used(self->spsc, &n);
	return ret < 0 ? fail(self, ret, MB_OP_POP, 0) : PyLong_FromSize_t(n);
}

PyDoc_STRVAR(free_doc, "free() -> int\n\nBytes free: capacity() - used().");

static PyObject *sp_free(SpscObject *self, PyObject *unused)
{
	size_t n;
	int ret;

	if (!handle(self))
		return NULL;
	ret = membridge_spsc_space(self->spsc, &n);
	return ret < 0 ? fail(self, ret, MB_OP_POP, 0) : PyLong_FromSize_t(n);
}

PyDoc_STRVAR(capacity_doc, "capacity() -> int\n\nThe ring's data capacity: the segment size minus the ring header.");

static PyObject *sp_capacity(SpscObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return PyLong_FromSize_t(self->capacity);
}

PyDoc_STRVAR(is_empty_doc, "is_empty() -> bool\n\nWhether no message is waiting.");

static PyObject *sp_is_empty(SpscObject *self, PyObject *unused)
{
	int ret;

	if (!handle(self))
		return NULL;
	ret = membridge_spsc_is_empty(self->spsc);
	return ret < 0 ? fail(self, ret, MB_OP_POP, 0) : PyBool_FromLong(ret);
}

PyDoc_STRVAR(is_full_doc, "is_full() -> bool\n\nWhether used() has reached capacity().");

static PyObject *sp_is_full(SpscObject *self, PyObject *unused)
{
	int ret;

	if (!handle(self))
		return NULL;
	ret = membridge_spsc_is_full(self->spsc);
	return ret < 0 ? fail(self, ret, MB_OP_POP, 0) : PyBool_FromLong(ret);
}

static int release(SpscObject *self)
{
	struct membridge_spsc *spsc = self->spsc;

	if (!spsc)
		return 0;
	if (self->busy) {
		PyErr_Format(PyExc_RuntimeError,
			     "SpscRingBuffer '%U' is in use by another thread", self->name);
		return -1;
	}
	if (self->peeking) {
		PyErr_Format(PyExc_BufferError,
			     "cannot close SpscRingBuffer '%U': a peek() block is open (its "
			     "memoryview points into the segment)", self->name);
		return -1;
	}
	self->spsc = NULL;
	Py_BEGIN_ALLOW_THREADS
	membridge_spsc_close(spsc);
	Py_END_ALLOW_THREADS
	return 0;
}

PyDoc_STRVAR(close_doc, "close() -> None\n\nDrop the ring handle. A second close() does nothing.");

static PyObject *sp_close(SpscObject *self, PyObject *unused)
{
	if (release(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> SpscRingBuffer\n\nReturn self.");

static PyObject *sp_enter(SpscObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return Py_NewRef(self);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nClose the ring handle.");

static PyObject *sp_exit(SpscObject *self, PyObject *args)
{
	return sp_close(self, NULL);
}

static PyObject *sp_repr(SpscObject *self)
{
	size_t used;

	if (!self->spsc)
		return PyUnicode_FromFormat("<membridge.SpscRingBuffer name=%R capacity=%zu closed>",
					    self->name, self->capacity);
	if (membridge_spsc_used(self->spsc, &used) < 0)
		return PyUnicode_FromFormat(
			"<membridge.SpscRingBuffer name=%R capacity=%zu corrupt>", self->name,
			self->capacity);
	return PyUnicode_FromFormat("<membridge.SpscRingBuffer name=%R capacity=%zu used=%zu open>",
				    self->name, self->capacity, used);
}

static void sp_finalize(SpscObject *self)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if (release(self) < 0)
		PyErr_WriteUnraisable((PyObject *)self);
	PyErr_Restore(type, value, tb);
}

static int sp_traverse(SpscObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	return 0;
}

static void sp_dealloc(SpscObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
		return;
	Py_CLEAR(self->name);
	Py_CLEAR(self->tag);
	type->tp_free(self);
	Py_DECREF(type);
}

PyDoc_STRVAR(pop_async_doc,
"pop_async(tag=None, timeout=math.inf) -> bytes | value  (a coroutine)\n"
"\n"
"Await the next message, as pop(tag) returns it: pop() is tried first, then\n"
"the event loop waits on data_fileno() (no thread). TimeoutError after\n"
"`timeout` seconds; a cancelled call has taken nothing. The producer must\n"
"use this library (it rings the descriptor).");

static PyObject *sp_pop_async(PyObject *self, PyObject *args, PyObject *kwargs)
{
	return mb_aio_call("pop_async", self, args, kwargs);
}

PyDoc_STRVAR(push_async_doc,
"push_async(data, timeout=math.inf) -> None  (a coroutine)\n"
"\n"
"Await space and push `data` (as push()), waiting on space_fileno().\n"
"TimeoutError after `timeout` seconds; a cancelled call has pushed nothing.");

static PyObject *sp_push_async(PyObject *self, PyObject *args, PyObject *kwargs)
{
	return mb_aio_call("push_async", self, args, kwargs);
}

static PyMethodDef sp_methods[] = {
	{"push", FASTCALL_KW(sp_push), push_doc},
	{"push_many", VARARGS_KW(sp_push_many), push_many_doc},
	{"pop", FASTCALL_KW(sp_pop), pop_doc},
	{"pop_mixed", FASTCALL_KW(sp_pop_mixed), pop_mixed_doc},
	{"pop_many", VARARGS_KW(sp_pop_many), pop_many_doc},
	{"pop_into", FASTCALL_KW(sp_pop_into), pop_into_doc},
	{"pop_async", VARARGS_KW(sp_pop_async), pop_async_doc},
	{"push_async", VARARGS_KW(sp_push_async), push_async_doc},
	{"peek", VARARGS_KW(sp_peek), peek_doc},
	{"data_fileno", (PyCFunction)sp_data_fileno, METH_NOARGS, data_fileno_doc},
	{"space_fileno", (PyCFunction)sp_space_fileno, METH_NOARGS, space_fileno_doc},
	{"used", (PyCFunction)sp_used, METH_NOARGS, used_doc},
	{"free", (PyCFunction)sp_free, METH_NOARGS, free_doc},
	{"capacity", (PyCFunction)sp_capacity, METH_NOARGS, capacity_doc},
	{"is_empty", (PyCFunction)sp_is_empty, METH_NOARGS, is_empty_doc},
	{"is_full", (PyCFunction)sp_is_full, METH_NOARGS, is_full_doc},
	{"close", (PyCFunction)sp_close, METH_NOARGS, close_doc},
	{"__enter__", (PyCFunction)sp_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)sp_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(sp_doc,
"A single-producer/single-consumer message ring in a segment.\n"
"\n"
"Made by SharedMemory.spsc(). One process (or thread) pushes, one pops; each\n"
"message is a frame of uint32 length + payload, the payload encoded as in\n"
"MappedView.write().\n"
"\n"
MB_TIMEOUT_RULE);

static PyType_Slot sp_slots[] = {
	{Py_tp_doc, (void *)sp_doc},
	{Py_tp_methods, sp_methods},
	{Py_tp_repr, sp_repr},
	{Py_tp_finalize, sp_finalize},
	{Py_tp_traverse, sp_traverse},
	{Py_tp_dealloc, sp_dealloc},
	{0, NULL},
};

PyType_Spec mb_spsc_spec = {
	.name = "membridge.SpscRingBuffer",
	.basicsize = sizeof(SpscObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = sp_slots,
};
