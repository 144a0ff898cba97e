/* SPDX-License-Identifier: MIT */
/* The one mapping from the library's -errno values to Python exceptions,
 * each message saying what went wrong and how to fix it. */
#include "membridge_py.h"

#include <errno.h>

/* A format: its argument is MEMBRIDGE_NAME_MAX - 1. */
#define NAME_RULE "a name is '/' followed by 1 to %d characters, none of them '/'"

static PyObject *raise_os(int err, PyObject *name, PyObject *msg)
{
	PyObject *exc;

	if (!msg)
		return NULL;
	/* OSError(errno, ...) picks FileExistsError, PermissionError... */
	exc = PyObject_CallFunction(PyExc_OSError, "iOO", err, msg, name ? name : Py_None);
	Py_DECREF(msg);
	if (exc) {
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
		Py_DECREF(exc);
	}
	return NULL;
}

/* The power-of-two ring sizes around a segment of `size` bytes. */
static PyObject *spsc_size_message(PyObject *name, size_t size)
{
	size_t below = MEMBRIDGE_SPSC_MIN_CAPACITY, above;

	while (size > MEMBRIDGE_SPSC_HEADER && below <= (size - MEMBRIDGE_SPSC_HEADER) / 2)
		below *= 2;
	above = below * 2;
	if (size <= MEMBRIDGE_SPSC_HEADER + MEMBRIDGE_SPSC_MIN_CAPACITY)
		return PyUnicode_FromFormat(
			"'%U' (%zu bytes) is too small for a ring: spsc() needs size - %u to be a "
			"power of two >= %u, e.g. %zu", name, size, MEMBRIDGE_SPSC_HEADER,
			MEMBRIDGE_SPSC_MIN_CAPACITY, below + MEMBRIDGE_SPSC_HEADER);
	return PyUnicode_FromFormat(
		"'%U' (%zu bytes) cannot hold a ring: spsc() needs size - %u to be a power of "
		"two; the nearest valid sizes are %zu and %zu", name, size, MEMBRIDGE_SPSC_HEADER,
		below + MEMBRIDGE_SPSC_HEADER, above + MEMBRIDGE_SPSC_HEADER);
}

static PyObject *invalid(enum mb_op op, PyObject *name, size_t n)
{
	switch (op) {
	case MB_OP_CREATE:
		return PyErr_Format(PyExc_ValueError,
				    "cannot create '%U': " NAME_RULE "; size must be > 0 and mode "
				    "at most 0o777; attach=True needs the existing segment's size",
				    name, MEMBRIDGE_NAME_MAX - 1);
	case MB_OP_OPEN:
		return PyErr_Format(PyExc_ValueError,
				    "cannot open '%U': either the name is invalid (" NAME_RULE ") or "
				    "size=%zu is not the segment's size (pass size=None to detect it)",
				    name, MEMBRIDGE_NAME_MAX - 1, n);
	case MB_OP_REMOVE:
		return PyErr_Format(PyExc_ValueError, "cannot remove '%U': " NAME_RULE, name,
				    MEMBRIDGE_NAME_MAX - 1);
	case MB_OP_MAP:
		return PyErr_Format(PyExc_ValueError,
				    "cannot map '%U' (%zu bytes): a view needs more than %u bytes "
				    "(%u hold the lock word)", name, n, MEMBRIDGE_VIEW_HEADER,
				    MEMBRIDGE_VIEW_HEADER);
	case MB_OP_SPSC: {
		PyObject *msg = spsc_size_message(name, n);

		if (msg) {
			PyErr_SetObject(PyExc_ValueError, msg);
			Py_DECREF(msg);
		}
		return NULL;
	}
	default:
		return PyErr_Format(PyExc_ValueError, "invalid argument for '%U'", name);
	}
}

static PyObject *corrupt(mb_state *st, enum mb_op op, PyObject *name)
{
	switch (op) {
	case MB_OP_SPSC:
		return PyErr_Format(st->CorruptSegmentError,
				    "'%U' is not an SPSC ring: its header is invalid (capacity must "
				    "be a power of two equal to size - %u, head <= tail <= head + "
				    "capacity)", name, MEMBRIDGE_SPSC_HEADER);
	case MB_OP_PUSH:
	case MB_OP_POP:
		return PyErr_Format(st->CorruptSegmentError,
				    "ring '%U' is corrupt: a peer stored an invalid head, tail or "
				    "frame length", name);
	default:
		return PyErr_Format(st->CorruptSegmentError,
				    "the lock word of '%U' is out of range or was changed behind "
				    "this view's back", name);
	}
}

/* Errors whose message depends on nothing but the name ('%U', given twice
 * so that a message may name it twice). With os set, an OSError subclass
 * chosen by the errno (FileExistsError, ...); otherwise *type. */
static const struct plain_error {
	int err;
	bool os;
	PyObject **type;
	const char *format;
} plain_errors[] = {
	{ -EFBIG, false, &PyExc_ValueError, "size too large for '%U'" },
	{ -EDEADLK, false, &PyExc_RuntimeError,
	  "this view of '%U' already holds a lock (a write inside a read section needs "
	  "unlock() first)" },
	{ -ENOLCK, false, &PyExc_RuntimeError, "this view of '%U' holds no lock" },
	{ -EOWNERDEAD, true, NULL,
	  "the process holding the write lock of '%U' has died: call view.break_lock() to "
	  "free the lock (the data may be half-written)" },
	{ -EEXIST, true, NULL,
	  "shared memory '%U' already exists: remove it with "
	  "membridge.SharedMemory.remove('%U'), or pass replace=True to start afresh or "
	  "attach=True to use it" },
	{ -ENOENT, true, NULL,
	  "no shared memory named '%U': create it first with "
	  "membridge.SharedMemory.create('%U', size)" },
	{ -EACCES, true, NULL,
	  "permission denied for '%U': it belongs to another user or its mode forbids "
	  "access (see ls -l /dev/shm)" },
	{ -EBUSY, true, NULL,
	  "the writer holding the lock of '%U' is alive: nothing to break" },
};

static PyObject *raise_plain(const struct plain_error *e, PyObject *name)
{
	PyObject *msg = PyUnicode_FromFormat(e->format, name, name);

	if (e->os)
		return raise_os(-e->err, name, msg);
	if (msg) {
		PyErr_SetObject(*e->type, msg);
		Py_DECREF(msg);
	}
	return NULL;
}

/* The channel's own meanings of errno values (EBUSY, ENOENT... mean
 * something else there); 1 when it raised, 0 for the general mapping. */
static int channel_error(mb_state *st, int err, enum mb_op op, PyObject *name, size_t n)
{
	switch (err) {
	case -EAGAIN:
		if (op == MB_OP_LOAN)
			raise_os(EAGAIN, name, PyUnicode_FromFormat(
				"no space in channel '%U' now: subscribers still hold it; pass "
				"a timeout to wait for them", name));
		else if (op == MB_OP_SUBSCRIBER)
			raise_os(EAGAIN, name, PyUnicode_FromFormat(
				"could not join channel '%U': it is not initialised yet, or the "
				"publisher kept moving past every start tried; try again", name));
		else if (op == MB_OP_RECEIVE)
			return 0;
		else
			raise_os(EAGAIN, name, PyUnicode_FromFormat(
				"channel '%U' is not initialised yet: its creator has not "
				"finished create_channel(); try again", name));
		return 1;
	case -ETIMEDOUT:
		if (op != MB_OP_LOAN)
			return 0;
		PyErr_Format(PyExc_TimeoutError,
			     "timed out waiting for space in channel '%U': a subscriber holds "
			     "it back (see Publisher.subscribers() and evict())", name);
		return 1;
	case -EINVAL:
		if (op != MB_OP_CHANNEL)
			return 0;
		PyErr_Format(PyExc_ValueError,
			     "invalid channel shape for '%U': max_message must be 1 to %u, "
			     "subscribers 1 to %u, data_size a multiple of %u holding at least "
			     "two records of max_message bytes (None picks one)", name,
			     MEMBRIDGE_CHANNEL_MAX_MESSAGE, MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS,
			     MEMBRIDGE_CHANNEL_ALIGN);
		return 1;
	case -EPROTO:
		raise_os(EPROTO, name, PyUnicode_FromFormat(
			"channel '%U' was made by a newer libmembridge (a layout version or "
			"policy flags this one does not know): upgrade membridge", name));
		return 1;
	case -EBADMSG:
		PyErr_Format(st->CorruptSegmentError,
			     "'%U' is not a channel, or a peer broke it (its header, tail, a "
			     "record or a position is invalid)", name);
		return 1;
	case -EBUSY:
		raise_os(EBUSY, name, PyUnicode_FromFormat(
			"channel '%U' already has a live publisher (in this process or "
			"another): close it first (a dead publisher's place is taken over)",
			name));
		return 1;
	case -EUSERS:
		raise_os(EUSERS, name, PyUnicode_FromFormat(
			"every subscriber slot of channel '%U' (%zu) holds a live subscriber: "
			"close one, have the publisher evict() one, or make the channel with "
			"more subscribers", name, n));
		return 1;
	case -EMSGSIZE:
		PyErr_Format(PyExc_ValueError,
			     "message too large for channel '%U': its max_message is %zu bytes",
			     name, n);
		return 1;
	case -ENOBUFS:
		PyErr_Format(PyExc_ValueError,
			     "the loan cannot fit in channel '%U' beside the loans not yet "
			     "published: publish them first", name);
		return 1;
	case -ECONNRESET:
		if (op == MB_OP_RECEIVE)
			raise_os(ECONNRESET, name, PyUnicode_FromFormat(
				"this subscriber of channel '%U' was evicted by the publisher: "
				"close it and subscribe again (from the newest message)", name));
		else
			raise_os(ECONNRESET, name, PyUnicode_FromFormat(
				"another process took channel '%U' over: this publisher is no "
				"longer its publisher; close it", name));
		return 1;
	case -ENOENT:
		if (op != MB_OP_EVICT)
			return 0;
		PyErr_Format(PyExc_ValueError,
			     "no subscriber in slot %zu of channel '%U' (see "
			     "Publisher.subscribers())", n, name);
		return 1;
	default:
		return 0;
	}
}

PyObject *mb_py_raise(mb_state *st, int err, enum mb_op op, PyObject *name, size_t n)
{
	size_t i;

	if (op >= MB_OP_CHANNEL && channel_error(st, err, op, name, n))
		return NULL;
	for (i = 0; i < sizeof(plain_errors) / sizeof(plain_errors[0]); i++)
		if (plain_errors[i].err == err)
			return raise_plain(&plain_errors[i], name);
	switch (err) {
	case MB_PY_RAISED:
		return NULL;
	case -ENOMEM:
		if (op == MB_OP_CREATE || op == MB_OP_OPEN)
			return PyErr_Format(PyExc_MemoryError,
					    "cannot map %zu bytes of '%U': not enough address space "
					    "or memory; use a smaller size", n, name);
		return PyErr_NoMemory();
	case -EINVAL:
		return invalid(op, name, n);
	case -ENAMETOOLONG:
		return PyErr_Format(PyExc_ValueError, "name too long: " NAME_RULE,
				    MEMBRIDGE_NAME_MAX - 1);
	case -ERANGE:
		return PyErr_Format(PyExc_ValueError,
				    "offset or length out of range: the data area of '%U' holds "
				    "%zu bytes (offsets 0 to %zu)", name, n, n);
	case -EMSGSIZE:
		return PyErr_Format(PyExc_ValueError,
				    "message too large for ring '%U': a frame (%u + payload bytes) "
				    "must fit in its capacity of %zu bytes", name,
				    MEMBRIDGE_SPSC_FRAME_HEADER, n);
	case -ENOBUFS:
		return PyErr_Format(PyExc_ValueError,
				    "buffer too small: the next message of '%U' needs %zu bytes; it "
				    "stays in the ring", name, n);
	case -EBADMSG:
	case -ESTALE:
		return corrupt(st, op, name);
	case -EAGAIN:
	case -ETIMEDOUT:
		if (op == MB_OP_SPSC)
			return raise_os(EAGAIN, name, PyUnicode_FromFormat(
				"ring '%U' is not initialised yet: its creator has not called "
				"spsc(); try again", name));
		if (op == MB_OP_OPEN)
			return raise_os(EAGAIN, name, PyUnicode_FromFormat(
				"'%U' is still being created: try again", name));
		return PyErr_Format(PyExc_TimeoutError,
				    "timed out waiting for the lock of '%U'", name);
	case -EPERM:
		if (op == MB_OP_BREAK)
			return raise_os(EPERM, name, PyUnicode_FromFormat(
				"the lock of '%U' is not held by a writer known to be dead (readers, "
				"an anonymous writer or another pid namespace): use "
				"break_lock(force=True) once every holder is known to be gone", name));
		return raise_os(EPERM, name, PyUnicode_FromFormat(
			"operation not permitted on '%U'", name));
	default:
		return raise_os(-err, name, PyUnicode_FromFormat(
			"'%U': %s", name, membridge_strerror(err)));
	}
}

int mb_str_decode_error(const char *buf, size_t len, size_t pos)
{
	struct membridge_value slen;
	PyObject *decoded;

	/* A str is a u32 length, then its bytes (membridge(7)). */
	if (membridge_decode(buf, len, &pos, MEMBRIDGE_U32, &slen) < 0 ||
	    len - pos < slen.as.u32)
		return -ENODATA;
	decoded = PyUnicode_DecodeUTF8(buf + pos, (Py_ssize_t)slen.as.u32, "strict");
	if (!decoded)
		return PyErr_ExceptionMatches(PyExc_UnicodeDecodeError) ? 1 : -ENOMEM;
	Py_DECREF(decoded);
	return 0;
}

/* UnicodeDecodeError details for the str at payload[pos]. */
static PyObject *unicode_error_args(const char *payload, size_t len, size_t pos)
{
	PyObject *type, *value, *tb, *args = NULL;

	if (mb_str_decode_error(payload, len, pos) != 1) {
		PyErr_Clear();
		return NULL; /* no str there, or UTF-8 only the library refuses */
	}
	PyErr_Fetch(&type, &value, &tb);
	PyErr_NormalizeException(&type, &value, &tb);
	if (value)
		args = PyObject_GetAttrString(value, "args");
	Py_XDECREF(type);
	Py_XDECREF(value);
	Py_XDECREF(tb);
	PyErr_Clear();
	return args;
}

PyObject *mb_py_raise_decode(mb_state *st, int err, const char *payload, size_t len,
			     size_t pos, enum membridge_type type)
{
	PyObject *args = NULL, *exc, *raw = PyBytes_FromStringAndSize(payload, (Py_ssize_t)len);

	if (!raw)
		return NULL;
	if (err == -EILSEQ)
		args = unicode_error_args(payload, len, pos);
	if (args) {
		exc = PyObject_CallObject(st->MessageUnicodeError, args);
		Py_DECREF(args);
	} else {
		exc = PyObject_CallFunction(
			st->MessageDecodeError, "N",
			PyUnicode_FromFormat("message of %zu bytes cannot be decoded as '%s' at "
					     "byte %zu (%s); it was consumed, its bytes are in "
					     ".raw", len, membridge_type_name(type), pos,
					     err == -EILSEQ ? "invalid UTF-8" : "too short"));
	}
	if (exc && PyObject_SetAttrString(exc, "raw", raw) == 0)
		PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
	Py_XDECREF(exc);
	Py_DECREF(raw);
	return NULL;
}
