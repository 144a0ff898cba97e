/* SPDX-License-Identifier: MIT */
/* The payload formats in Python: numpy arrays as membridge_array(3)
 * messages, byte strings as membridge_parts(3) messages, and objects as a
 * protocol 5 pickle over parts (membridge._objects). The framing is the
 * library's; numpy and pickle are imported only when these are called. */
#include "membridge_py.h"

#include <errno.h>
#include <string.h>

#define TRUST_NOTE \
	"Unpickling runs code the publisher chose: receive objects only from a\n" \
	"publisher you trust (the segment's default mode 0600 keeps other users out)."

/* module.name, imported on first use (numpy, membridge._objects). */
static PyObject *lazy_attr(const char *module, const char *name)
{
	PyObject *mod = PyImport_ImportModule(module), *attr;

	if (!mod)
		return NULL;
	attr = PyObject_GetAttrString(mod, name);
	Py_DECREF(mod);
	return attr;
}

/* ------------------------------------------------------------ publishing */

/* A C-contiguous array to publish: its buffer and its description. */
struct array_src {
	Py_buffer view;
	struct membridge_array a;
};

/* dtype.str of a numpy dtype into out; TypeError for objects. */
static int dtype_string(PyObject *dtype, char out[MEMBRIDGE_ARRAY_DTYPE_SIZE])
{
	PyObject *hasobject = PyObject_GetAttrString(dtype, "hasobject");
	PyObject *str = hasobject ? PyObject_GetAttrString(dtype, "str") : NULL;
	const char *s = str && PyUnicode_Check(str) ? PyUnicode_AsUTF8(str) : NULL;
	int objects = hasobject ? PyObject_IsTrue(hasobject) : -1, ret = -1;

	if (objects == 1)
		PyErr_SetString(PyExc_TypeError,
				"publish_array() cannot send object arrays (their elements "
				"point into this process): send them with publish_object()");
	else if (s && strlen(s) < MEMBRIDGE_ARRAY_DTYPE_SIZE) {
		strcpy(out, s);
		ret = 0;
	} else if (!PyErr_Occurred())
		PyErr_Format(PyExc_TypeError, "publish_array(): dtype %R has no type string "
			     "of up to %u characters", dtype, MEMBRIDGE_ARRAY_DTYPE_SIZE - 1);
	Py_XDECREF(hasobject);
	Py_XDECREF(str);
	return ret;
}

/* The type string of a buffer without a dtype (array.array, bytes...),
 * from its struct-module format: one item code, an optional byte order. */
static int format_string(const Py_buffer *view, char out[MEMBRIDGE_ARRAY_DTYPE_SIZE])
{
	static const char codes[] = "?bBhHiIlLqQnNefdc", kinds[] = "biuiuiuiuiuiufffS";
	const char *fmt = view->format ? view->format : "B", *code = fmt;
	char order = PY_LITTLE_ENDIAN ? '<' : '>';
	const char *at;

	if (*code && strchr("@=<>!", *code)) {
		if (*code == '<' || *code == '>')
			order = *code;
		else if (*code == '!')
			order = '>';
		code++;
	}
	at = *code ? strchr(codes, *code) : NULL;
	if (!at || code[1] != '\0') {
		PyErr_Format(PyExc_TypeError,
			     "publish_array(): buffer format '%s' is no single fixed-size item "
			     "type; pass a numpy array (numpy.asarray(x))", fmt);
		return -1;
	}
	if (view->itemsize == 1)
		order = '|';
	snprintf(out, MEMBRIDGE_ARRAY_DTYPE_SIZE, "%c%c%zd", order, kinds[at - codes],
		 view->itemsize);
	return 0;
}

/* Describe obj (its buffer held in src->view) as an array message; -1 with
 * TypeError or ValueError saying what to pass instead. */
static int array_describe(PyObject *obj, struct array_src *src)
{
	PyObject *dtype;
	int flags = PyBUF_STRIDES, i;

	memset(&src->a, 0, sizeof(src->a));
	if (!PyObject_CheckBuffer(obj)) {
		PyErr_Format(PyExc_TypeError,
			     "publish_array() takes an array with the buffer protocol (numpy "
			     "array, array.array, bytes...), not %.100s: use numpy.asarray(x)",
			     Py_TYPE(obj)->tp_name);
		return -1;
	}
	/* numpy exports datetimes and structures only without a format: the
	 * dtype says what they are. */
	dtype = PyObject_GetAttrString(obj, "dtype");
	if (!dtype) {
		if (!PyErr_ExceptionMatches(PyExc_AttributeError))
			return -1;
		PyErr_Clear();
		flags |= PyBUF_FORMAT;
	} else if (dtype_string(dtype, src->a.dtype) < 0) {
		Py_DECREF(dtype);
		return -1;
	}
	Py_XDECREF(dtype);
	if (PyObject_GetBuffer(obj, &src->view, flags) < 0)
		return -1;
	if (!PyBuffer_IsContiguous(&src->view, 'C'))
		PyErr_SetString(PyExc_ValueError,
				"publish_array() needs a C-contiguous array: pass "
				"numpy.ascontiguousarray(arr)");
	else if ((unsigned)src->view.ndim > MEMBRIDGE_ARRAY_MAX_DIMS)
		PyErr_Format(PyExc_ValueError, "publish_array(): %d dimensions, at most %u",
			     src->view.ndim, MEMBRIDGE_ARRAY_MAX_DIMS);
	else if (!(flags & PyBUF_FORMAT) || format_string(&src->view, src->a.dtype) == 0) {
		src->a.ndim = (unsigned)src->view.ndim;
		for (i = 0; i < src->view.ndim; i++)
			src->a.shape[i] = (uint64_t)src->view.shape[i];
		return 0;
	}
	PyBuffer_Release(&src->view);
	return -1;
}

static int array_fill(void *ctx, void *data, size_t len)
{
	struct array_src *src = ctx;
	int ret = membridge_array_write(data, len, &src->a);

	if (ret < 0) {
		PyErr_Format(PyExc_SystemError, "membridge_array_write: %s",
			     membridge_strerror(ret));
		return -1;
	}
	if (src->a.nbytes != (size_t)src->view.len) {
		PyErr_Format(PyExc_ValueError,
			     "publish_array(): dtype '%s' and shape need %zu bytes, the buffer "
			     "has %zd: pass a numpy array (numpy.asarray(x))", src->a.dtype,
			     src->a.nbytes, src->view.len);
		return -1;
	}
	memcpy(src->a.data, src->view.buf, src->a.nbytes);
	return 0;
}

const char mb_publish_array_doc[] = PyDoc_STR(
"publish_array(arr, timeout=None) -> bool\n"
"\n"
"Publish a C-contiguous array (numpy, or any buffer of one item type such as\n"
"array.array) as an array message (membridge_array(3)): its dtype.str and\n"
"shape, then its bytes, copied once straight into the segment. Subscribers get\n"
"it with receive_array(); a C program with membridge_array_read(). Returns\n"
"False when subscribers hold the space it needs, as publish() does.\n"
"TypeError for object arrays (use publish_object()) and types with no type\n"
"string; ValueError for a non-contiguous array (pass\n"
"numpy.ascontiguousarray(arr)) or one larger than max_message. A structured\n"
"dtype travels as raw void ('|V<itemsize>'): view it as the dtype on receipt.");

PyObject *mb_publish_array(PyObject *pub, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"arr", "timeout", NULL};
	PyObject *arr, *timeout = Py_None, *result;
	struct array_src src;
	int64_t ns;
	size_t size;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:publish_array", kwlist, &arr,
					 &timeout) ||
	    mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0 ||
	    array_describe(arr, &src) < 0)
		return NULL;
	size = membridge_array_message_size(&src.a);
	if (size == 0) {
		src.a.ndim = 0; /* which of the two was wrong */
		if (membridge_array_message_size(&src.a) == 0)
			PyErr_Format(PyExc_TypeError,
				     "publish_array(): dtype '%s' cannot be sent (a fixed-size "
				     "kind of \"biufcmMSUV\"): convert it (arr.astype(...))",
				     src.a.dtype);
		else
			PyErr_SetString(PyExc_OverflowError,
					"publish_array(): the array is too large for a message");
		result = NULL;
	} else {
		result = mb_publisher_publish_filled(pub, size, ns, array_fill, &src);
	}
	PyBuffer_Release(&src.view);
	return result;
}

/* The byte strings of a multi-part message, held while they are copied. */
struct parts_src {
	Py_ssize_t count;
	Py_buffer *views;
	size_t *lens;
	void **at;
};

static void parts_release(struct parts_src *src)
{
	Py_ssize_t i;

	for (i = 0; i < src->count; i++)
		PyBuffer_Release(&src->views[i]);
	PyMem_Free(src->views);
	PyMem_Free(src->lens);
	PyMem_Free(src->at);
}

static int parts_gather(PyObject *buffers, const char *fname, struct parts_src *src)
{
	PyObject *seq = PySequence_Fast(buffers, "takes a sequence of bytes-like objects");
	Py_ssize_t n, i;

	src->count = 0;
	src->views = NULL;
	src->lens = NULL;
	src->at = NULL;
	if (!seq)
		return -1;
	n = PySequence_Fast_GET_SIZE(seq);
	if ((size_t)n > MEMBRIDGE_PARTS_MAX) {
		PyErr_Format(PyExc_ValueError, "%s(): %zd parts, at most %u", fname, n,
			     MEMBRIDGE_PARTS_MAX);
		Py_DECREF(seq);
		return -1;
	}
	src->views = PyMem_Calloc((size_t)n + 1, sizeof(*src->views));
	src->lens = PyMem_Calloc((size_t)n + 1, sizeof(*src->lens));
	src->at = PyMem_Calloc((size_t)n + 1, sizeof(*src->at));
	if (!src->views || !src->lens || !src->at) {
		PyErr_NoMemory();
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (PyObject_GetBuffer(PySequence_Fast_GET_ITEM(seq, i), &src->views[i],
				       PyBUF_SIMPLE) < 0)
			goto fail;
		src->count++;
		src->lens[i] = (size_t)src->views[i].len;
	}
	Py_DECREF(seq);
	return 0;
fail:
	Py_DECREF(seq);
	parts_release(src);
	return -1;
}

static int parts_fill(void *ctx, void *data, size_t len)
{
	struct parts_src *src = ctx;
	int ret = membridge_parts_write(data, len, src->lens, (size_t)src->count, src->at);
	Py_ssize_t i;

	if (ret < 0) {
		PyErr_Format(PyExc_SystemError, "membridge_parts_write: %s",
			     membridge_strerror(ret));
		return -1;
	}
	for (i = 0; i < src->count; i++)
		memcpy(src->at[i], src->views[i].buf, src->lens[i]);
	return 0;
}

/* Publish the byte strings of `buffers` as one multi-part message. */
static PyObject *publish_parts(PyObject *pub, PyObject *buffers, const char *fname,
			       int64_t ns)
{
	struct parts_src src;
	PyObject *result = NULL;
	size_t size;

	if (parts_gather(buffers, fname, &src) < 0)
		return NULL;
	size = membridge_parts_message_size(src.lens, (size_t)src.count);
	if (size == 0)
		PyErr_Format(PyExc_OverflowError, "%s(): the parts are too large for a message",
			     fname);
	else
		result = mb_publisher_publish_filled(pub, size, ns, parts_fill, &src);
	parts_release(&src);
	return result;
}

const char mb_publish_parts_doc[] = PyDoc_STR(
"publish_parts(buffers, timeout=None) -> bool\n"
"\n"
"Publish a sequence of bytes-like objects as one multi-part message\n"
"(membridge_parts(3)): each copied once straight into the segment, each\n"
"64-byte aligned there. Subscribers take it apart with Message.parts().\n"
"Returns False when subscribers hold the space it needs, as publish() does;\n"
"ValueError above 4096 parts or max_message bytes.");

PyObject *mb_publish_parts(PyObject *pub, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"buffers", "timeout", NULL};
	PyObject *buffers, *timeout = Py_None;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:publish_parts", kwlist, &buffers,
					 &timeout) ||
	    mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0)
		return NULL;
	return publish_parts(pub, buffers, "publish_parts", ns);
}

const char mb_publish_object_doc[] = PyDoc_STR(
"publish_object(obj, timeout=None) -> bool\n"
"\n"
"Publish any picklable object as a multi-part message: part 0 is its pickle\n"
"(protocol 5), the parts after it the raw bytes of its out-of-band buffers\n"
"(numpy arrays, pickle.PickleBuffer), so a large array inside is copied only\n"
"once, into the segment. Subscribers get it with receive_object() or\n"
"Message.object(). Returns False when subscribers hold the space it needs;\n"
"ValueError above max_message bytes.\n"
TRUST_NOTE);

PyObject *mb_publish_object(PyObject *pub, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"obj", "timeout", NULL};
	PyObject *obj, *timeout = Py_None, *dumps, *parts, *result;
	int64_t ns;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:publish_object", kwlist, &obj,
					 &timeout) ||
	    mb_timeout_parse(timeout, MEMBRIDGE_NO_WAIT, &ns) < 0 ||
	    !(dumps = lazy_attr("membridge._objects", "dumps")))
		return NULL;
	parts = PyObject_CallOneArg(dumps, obj);
	Py_DECREF(dumps);
	if (!parts)
		return NULL;
	result = publish_parts(pub, parts, "publish_object", ns);
	Py_DECREF(parts);
	return result;
}

/* -------------------------------------------------------------- reading */

/* MessageDecodeError for a message (viewed by mv) that is not `what`;
 * .raw gets its bytes. */
static PyObject *not_a(PyObject *msg, PyObject *mv, int err, const char *what)
{
	const Py_buffer *b = PyMemoryView_GET_BUFFER(mv);
	PyObject *raw = PyBytes_FromStringAndSize(b->buf, b->len), *exc;

	if (!raw)
		return NULL;
	exc = PyObject_CallFunction(
		mb_state_of(msg)->MessageDecodeError, "N",
		PyUnicode_FromFormat("message of %zd bytes is not %s: %s; its bytes are in "
				     ".raw", b->len, what,
				     err == -EPROTO ? "it was made by a newer libmembridge "
						      "(upgrade this one)"
						    : "the publisher sent something else"));
	if (exc && PyObject_SetAttrString(exc, "raw", raw) == 0)
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
	Py_XDECREF(exc);
	Py_DECREF(raw);
	return NULL;
}

/* The numpy dtype of a, checked against the item size the library read. */
static PyObject *numpy_dtype(PyObject *msg, PyObject *mv, const struct membridge_array *a)
{
	PyObject *make = lazy_attr("numpy", "dtype"), *dtype, *size;
	Py_ssize_t itemsize;

	if (!make)
		return NULL;
	dtype = PyObject_CallFunction(make, "s", a->dtype);
	Py_DECREF(make);
	if (!dtype) {
		if (PyErr_ExceptionMatches(PyExc_TypeError)) {
			PyErr_Clear();
			not_a(msg, mv, -EBADMSG, "an array of a dtype numpy knows");
		}
		return NULL;
	}
	size = PyObject_GetAttrString(dtype, "itemsize");
	itemsize = size ? PyLong_AsSsize_t(size) : -1;
	Py_XDECREF(size);
	if (itemsize < 0 && PyErr_Occurred()) {
		Py_DECREF(dtype);
		return NULL;
	}
	if ((size_t)itemsize != a->itemsize) {
		Py_DECREF(dtype);
		return not_a(msg, mv, -EBADMSG, "an array of a dtype numpy knows (item size)");
	}
	return dtype;
}

/* The array in msg as a read-only numpy array over its bytes: a memoryview
 * slice of the data keeps msg exported (so held) while any view lives. */
PyObject *mb_message_array(PyObject *msg, PyObject *unused)
{
	PyObject *mv = PyMemoryView_FromObject(msg), *data = NULL, *dtype = NULL;
	PyObject *frombuffer = NULL, *flat = NULL, *shape = NULL, *arr = NULL;
	struct membridge_array a;
	const Py_buffer *b;
	Py_ssize_t off;
	unsigned i;
	int ret;

	if (!mv)
		return NULL;
	b = PyMemoryView_GET_BUFFER(mv);
	ret = membridge_array_read(b->buf, (size_t)b->len, &a);
	if (ret < 0) {
		not_a(msg, mv, ret, "an array message (membridge_array(3))");
		goto out;
	}
	off = (const char *)a.data - (const char *)b->buf;
	if (!(dtype = numpy_dtype(msg, mv, &a)) ||
	    !(data = PySequence_GetSlice(mv, off, off + (Py_ssize_t)a.nbytes)) ||
	    !(frombuffer = lazy_attr("numpy", "frombuffer")) ||
	    !(flat = PyObject_CallFunctionObjArgs(frombuffer, data, dtype, NULL)) ||
	    !(shape = PyTuple_New(a.ndim)))
		goto out;
	for (i = 0; i < a.ndim; i++) {
		PyObject *dim = PyLong_FromUnsignedLongLong(a.shape[i]);

		if (!dim)
			goto out;
		PyTuple_SET_ITEM(shape, i, dim);
	}
	arr = PyObject_CallMethod(flat, "reshape", "(O)", shape);
out:
	Py_XDECREF(shape);
	Py_XDECREF(flat);
	Py_XDECREF(frombuffer);
	Py_XDECREF(data);
	Py_XDECREF(dtype);
	Py_DECREF(mv);
	return arr;
}

/* The parts of msg as read-only memoryviews into it. */
PyObject *mb_message_parts(PyObject *msg, PyObject *unused)
{
	PyObject *mv = PyMemoryView_FromObject(msg), *list = NULL;
	struct membridge_iovec *iov;
	const Py_buffer *b;
	int n, i;

	if (!mv)
		return NULL;
	iov = PyMem_Calloc(MEMBRIDGE_PARTS_MAX, sizeof(*iov));
	if (!iov) {
		Py_DECREF(mv);
		return PyErr_NoMemory();
	}
	b = PyMemoryView_GET_BUFFER(mv);
	n = membridge_parts_read(b->buf, (size_t)b->len, iov, MEMBRIDGE_PARTS_MAX);
	if (n < 0)
		not_a(msg, mv, n, "a multi-part message (membridge_parts(3))");
	else
		list = PyList_New(n);
	for (i = 0; list && i < n; i++) {
		Py_ssize_t off = (const char *)iov[i].base - (const char *)b->buf;
		PyObject *part = PySequence_GetSlice(mv, off, off + (Py_ssize_t)iov[i].len);

		if (!part)
			Py_CLEAR(list);
		else
			PyList_SET_ITEM(list, i, part);
	}
	PyMem_Free(iov);
	Py_DECREF(mv);
	return list;
}

/* The object pickled in msg; copy: its buffers copied out of the segment. */
static PyObject *object_of(PyObject *msg, int copy)
{
	PyObject *parts = mb_message_parts(msg, NULL), *loads, *obj = NULL;

	if (!parts)
		return NULL;
	if (PyList_GET_SIZE(parts) == 0) {
		PyObject *mv = PyMemoryView_FromObject(msg);

		if (mv) {
			not_a(msg, mv, -EBADMSG, "an object (it has no pickle part)");
			Py_DECREF(mv);
		}
	} else if ((loads = lazy_attr("membridge._objects", "loads"))) {
		obj = PyObject_CallFunction(loads, "OO", parts, copy ? Py_True : Py_False);
		Py_DECREF(loads);
	}
	Py_DECREF(parts);
	return obj;
}

const char mb_message_array_doc[] = PyDoc_STR(
"array() -> numpy.ndarray\n"
"\n"
"The message as the array publish_array() (or membridge_array_write()) sent:\n"
"a read-only numpy array in place in the segment, no copy. It keeps the\n"
"message held: release() raises BufferError while it or a view of it lives,\n"
"and a dropped message is released once they are gone. arr.copy() for an\n"
"array of your own. MessageDecodeError (bytes in .raw) if the message is no\n"
"array message, or of a dtype numpy does not know; the message stays held.");

const char mb_message_parts_doc[] = PyDoc_STR(
"parts() -> list[memoryview]\n"
"\n"
"The parts of a multi-part message (publish_parts(), membridge_parts(3)) as\n"
"read-only memoryviews in place in the segment, each 64-byte aligned. Each\n"
"keeps the message exported until released (mv.release(), or `with`), so\n"
"release() raises BufferError before that. MessageDecodeError (bytes in\n"
".raw) if the message is not a multi-part one; the message stays held.");

const char mb_message_object_doc[] = PyDoc_STR(
"object(*, copy=False) -> object\n"
"\n"
"Unpickle the object publish_object() sent, its out-of-band buffers given as\n"
"memoryviews into the segment: numpy arrays inside it are read-only views\n"
"there, no copy, and keep the message held while they live (release()\n"
"raises BufferError). copy=True copies each buffer out first (writable\n"
"arrays of your own; the message is then no longer exported).\n"
"MessageDecodeError (bytes in .raw) if the message is not a multi-part one\n"
"with a pickle; errors of the unpickling itself propagate.\n"
TRUST_NOTE);

PyObject *mb_message_object(PyObject *msg, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"copy", NULL};
	int copy = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|$p:object", kwlist, &copy))
		return NULL;
	return object_of(msg, copy);
}

/* Receive one message and read it with read(msg, copy). The result holds
 * the message if it is a view; otherwise, or on failure (the message is
 * consumed), it is released now unless other Messages are held. */
static PyObject *receive_with(PyObject *sub, PyObject *args, PyObject *kwargs,
			      const char *format, PyObject *(*read)(PyObject *, int))
{
	static char *kwlist[] = {"timeout", "copy", NULL};
	PyObject *timeout = Py_None, *msg, *result;
	int copy = 0;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, kwlist, &timeout, &copy) ||
	    !(msg = mb_subscriber_receive(sub, timeout)))
		return NULL;
	if (msg == Py_None)
		return msg;
	result = read(msg, copy);
	Py_DECREF(msg);
	return result;
}

static PyObject *array_of(PyObject *msg, int copy)
{
	PyObject *arr = mb_message_array(msg, NULL), *owned;

	if (!arr || !copy)
		return arr;
	owned = PyObject_CallMethod(arr, "copy", NULL);
	Py_DECREF(arr);
	return owned;
}

const char mb_receive_array_doc[] = PyDoc_STR(
"receive_array(timeout=None, *, copy=False) -> numpy.ndarray | None\n"
"\n"
"Receive the next message and return it as Message.array() does: a\n"
"read-only numpy array in place in the segment that holds its message until\n"
"it and every view of it are gone (space goes back in the order messages\n"
"were received, as for Message.release()). copy=True returns an array of\n"
"your own and\n"
"releases the message at once. None when none came, as for receive(). A\n"
"message that is not an array is consumed and raises MessageDecodeError with\n"
"its bytes in .raw.");

PyObject *mb_receive_array(PyObject *sub, PyObject *args, PyObject *kwargs)
{
	return receive_with(sub, args, kwargs, "|O$p:receive_array", array_of);
}

const char mb_receive_object_doc[] = PyDoc_STR(
"receive_object(timeout=None, *, copy=False) -> object\n"
"\n"
"Receive the next message and unpickle it as Message.object() does: numpy\n"
"arrays inside are read-only views into the segment that hold the message\n"
"while they live (no copy); copy=True gives copies and releases the message\n"
"at once. None when none came, as for receive(): to tell it from a published\n"
"None, use receive() and Message.object(). A message that is not an object\n"
"is consumed and raises MessageDecodeError with its bytes in .raw.\n"
TRUST_NOTE);

PyObject *mb_receive_object(PyObject *sub, PyObject *args, PyObject *kwargs)
{
	return receive_with(sub, args, kwargs, "|O$p:receive_object", object_of);
}
