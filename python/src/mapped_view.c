/* SPDX-License-Identifier: MIT */
/* MappedView: the locked sequential view, its cursor and the buffer protocol. */
#include "membridge_py.h"

#include <errno.h>

typedef struct {
	PyObject_HEAD
	struct membridge_view *view;
	char *data;          /* the data area, after the lock word */
	size_t size;
	PyObject *name;
	Py_ssize_t exports;  /* live buffer exports (memoryview, numpy...) */
	int busy;            /* a call is waiting with the GIL released */
	int64_t lock_timeout_ns;  /* how long the data calls wait for the lock */
} MappedViewObject;

PyObject *mb_mapped_view_new(mb_state *st, struct membridge_view *view, PyObject *name)
{
	MappedViewObject *self = PyObject_GC_New(MappedViewObject, st->MappedView);

	if (!self) {
		membridge_view_close(view);
		return NULL;
	}
	/* Data calls never sleep inside the library holding the GIL: on a
	 * busy lock they come back and wait in begin(). */
	membridge_view_set_timeout(view, MEMBRIDGE_NO_WAIT);
	self->view = view;
	self->data = membridge_view_data(view);
	self->size = membridge_view_size(view);
	self->name = Py_NewRef(name);
	self->exports = 0;
	self->busy = 0;
	self->lock_timeout_ns = MEMBRIDGE_DEFAULT_LOCK_TIMEOUT;
	PyObject_GC_Track(self);
	return (PyObject *)self;
}

/* The C view, or an exception if closed or in use by a waiting thread. */
static struct membridge_view *handle(MappedViewObject *self)
{
	if (!self->view)
		PyErr_Format(PyExc_ValueError, "MappedView of '%U' is closed", self->name);
	else if (self->busy)
		PyErr_Format(PyExc_RuntimeError,
			     "MappedView of '%U' is in use by another thread: give each thread "
			     "its own view", self->name);
	else
		return self->view;
	return NULL;
}

static PyObject *fail(MappedViewObject *self, int err, enum mb_op op)
{
	return mb_py_raise(mb_state_of((PyObject *)self), err, op, self->name, self->size);
}

struct lock_call {
	struct membridge_view *view;
	int write;
};

static int lock_once(void *ctx, int64_t timeout_ns)
{
	struct lock_call *c = ctx;

	return c->write ? membridge_view_lock_write(c->view, timeout_ns)
			: membridge_view_lock_read(c->view, timeout_ns);
}

static int wait_lock(MappedViewObject *self, int write, int64_t timeout_ns)
{
	struct lock_call c = {self->view, write};
	int ret;

	self->busy = 1;
	ret = mb_wait(lock_once, &c, timeout_ns);
	self->busy = 0;
	return ret;
}

/* Enter the critical section of a data call, unless this view already holds
 * a lock (the call then runs inside it; a write inside a read section fails
 * there with -EDEADLK). *took says whether end() must unlock. */
static int begin(MappedViewObject *self, int write, int *took)
{
	int ret = wait_lock(self, write, self->lock_timeout_ns);

	*took = ret == 0;
	return ret == -EDEADLK ? 0 : ret;
}

static int end(MappedViewObject *self, int took, int ret)
{
	int unlocked;

	if (!took)
		return ret;
	unlocked = membridge_view_unlock(self->view);
	return ret < 0 ? ret : unlocked;
}

/* An optional offset argument: MEMBRIDGE_CURSOR for None. */
static int parse_offset(PyObject *obj, size_t *offset)
{
	Py_ssize_t v;

	if (obj == Py_None) {
		*offset = MEMBRIDGE_CURSOR;
		return 0;
	}
	v = PyNumber_AsSsize_t(obj, PyExc_OverflowError);
	if (v == -1 && PyErr_Occurred())
		return -1;
	if (v < 0) {
		PyErr_Format(PyExc_ValueError, "offset must be >= 0, not %zd", v);
		return -1;
	}
	*offset = (size_t)v;
	return 0;
}

/* Store gathered values at offset (or the cursor); an explicit offset leaves
 * the cursor just after what was written. */
static PyObject *store(MappedViewObject *self, const struct mb_values *vals, size_t offset)
{
	size_t len;
	int took, ret;

	if (mb_values_size(vals, &len) < 0)
		return NULL;
	ret = begin(self, 1, &took);
	if (ret == 0)
		ret = membridge_view_write(self->view, offset, vals->v, vals->count);
	ret = end(self, took, ret);
	if (ret < 0)
		return fail(self, ret, MB_OP_VIEW);
	if (offset != MEMBRIDGE_CURSOR)
		membridge_view_seek(self->view, offset + len);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(write_doc,
"write(data, offset=None) -> None\n"
"\n"
"Store one value: bool (1 byte), int (int64), float (float64), str (uint32\n"
"length + UTF-8) or bytes-like (raw). With offset=None it goes at the cursor,\n"
"which advances; with an offset it goes there and the cursor ends just after.\n"
"Lists go through write_mixed().");

static PyObject *mv_write(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"data", "offset", NULL};
	PyObject *data, *offset_obj = Py_None, *result;
	struct mb_values vals;
	size_t offset;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:write", kwlist, &data, &offset_obj))
		return NULL;
	if (!handle(self) || parse_offset(offset_obj, &offset) < 0 ||
	    mb_values_from_object(data, &vals) < 0)
		return NULL;
	result = store(self, &vals, offset);
	mb_values_release(&vals);
	return result;
}

PyDoc_STRVAR(write_mixed_doc,
"write_mixed(items, offset=None) -> None\n"
"\n"
"Store the values of the list `items` back to back under one write lock; an\n"
"element that is itself a list is stored element by element. Cursor rules as\n"
"for write().");

static PyObject *mv_write_mixed(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"items", "offset", NULL};
	PyObject *items, *offset_obj = Py_None, *result;
	struct mb_values vals;
	size_t offset;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!|O:write_mixed", kwlist, &PyList_Type,
					 &items, &offset_obj))
		return NULL;
	if (!handle(self) || parse_offset(offset_obj, &offset) < 0 ||
	    mb_values_from_list(items, 1, &vals) < 0)
		return NULL;
	result = store(self, &vals, offset);
	mb_values_release(&vals);
	return result;
}

/* Python's own UnicodeDecodeError for the invalid str at the cursor, whose
 * bytes the library has just checked (the caller holds the lock). */
static int raise_unicode_error(MappedViewObject *self)
{
	size_t at = membridge_view_tell(self->view);
	int ret = mb_str_decode_error(self->data, self->size, at);

	/* A peer ignoring the lock may have rewritten the str since. */
	if (ret == -ENODATA)
		return -EBADMSG;
	if (ret == 0)
		PyErr_Format(PyExc_ValueError, "the str at offset %zu of '%U' is not valid UTF-8",
			     at, self->name);
	return MB_PY_RAISED;
}

/* Read one value at the cursor (the caller holds the lock). */
static int read_value(MappedViewObject *self, enum membridge_type type, PyObject **out)
{
	struct membridge_value v;
	char small[256], *buf = small;
	size_t cap = sizeof(small);
	int ret;

	for (;;) {
		ret = membridge_view_read(self->view, MEMBRIDGE_CURSOR, type, &v, buf, cap);
		if (ret != -ENOBUFS)
			break;
		cap = v.as.buf.len;
		if (buf != small)
			PyMem_Free(buf);
		buf = PyMem_Malloc(cap);
		if (!buf) {
			PyErr_NoMemory();
			return MB_PY_RAISED;
		}
	}
	if (ret == 0) {
		*out = mb_value_to_object(&v);
		if (!*out)
			ret = MB_PY_RAISED;
	} else if (ret == -EILSEQ) {
		ret = raise_unicode_error(self);
	}
	if (buf != small)
		PyMem_Free(buf);
	return ret;
}

PyDoc_STRVAR(read_doc,
"read(tag) -> value\n"
"\n"
"Read one value at the cursor and advance it. Tags: 'bool', 'u8', 'i32',\n"
"'u32', 'f32', 'int'/'i64', 'u64', 'float'/'f64', 'str'.");

static PyObject *mv_read(MappedViewObject *self, PyObject *tag)
{
	enum membridge_type type;
	PyObject *value = NULL;
	int took, ret;

	if (!handle(self) || mb_tag_parse(tag, &type) < 0)
		return NULL;
	ret = begin(self, 0, &took);
	if (ret == 0)
		ret = read_value(self, type, &value);
	ret = end(self, took, ret);
	if (ret < 0) {
		Py_XDECREF(value);
		return fail(self, ret, MB_OP_VIEW);
	}
	return value;
}

/* The values of a schema, read from the cursor on. */
static int read_schema(MappedViewObject *self, const struct mb_schema *schema,
		       PyObject **out)
{
	PyObject *result = PyList_New((Py_ssize_t)schema->count), *item, *one;
	size_t i;
	Py_ssize_t j;
	int ret = 0;

	if (!result)
		return MB_PY_RAISED;
	for (i = 0; ret == 0 && i < schema->count; i++) {
		const struct mb_schema_item *s = &schema->items[i];

		if (s->count == 1) {
			ret = read_value(self, s->type, &item);
		} else if ((size_t)s->count > membridge_view_size(self->view) -
				membridge_view_tell(self->view)) {
			/* Each value takes a byte at least: fail before allocating. */
			ret = -ERANGE;
		} else if (!(item = PyList_New(s->count))) {
			ret = MB_PY_RAISED;
		} else {
			for (j = 0; ret == 0 && j < s->count; j++) {
				ret = read_value(self, s->type, &one);
				if (ret == 0)
					PyList_SET_ITEM(item, j, one);
			}
			if (ret < 0)
				Py_DECREF(item);
		}
		if (ret == 0)
			PyList_SET_ITEM(result, (Py_ssize_t)i, item);
	}
	if (ret < 0)
		Py_DECREF(result);
	else
		*out = result;
	return ret;
}

PyDoc_STRVAR(read_mixed_doc,
"read_mixed(schema, offset=None) -> list\n"
"\n"
"Read the values a schema lists, [(tag, count), ...], under one read lock: one\n"
"entry per item, the value itself when count is 1, else a list of count\n"
"values. Cursor rules as for write(); on error the cursor does not move.");

static PyObject *mv_read_mixed(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"schema", "offset", NULL};
	PyObject *schema_obj, *offset_obj = Py_None, *result = NULL;
	struct mb_schema schema;
	size_t offset, saved;
	int took, ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O:read_mixed", kwlist, &schema_obj,
					 &offset_obj))
		return NULL;
	if (!handle(self) || parse_offset(offset_obj, &offset) < 0 ||
	    mb_schema_parse(schema_obj, &schema) < 0)
		return NULL;
	saved = membridge_view_tell(self->view);
	ret = begin(self, 0, &took);
	if (ret == 0 && offset != MEMBRIDGE_CURSOR)
		ret = membridge_view_seek(self->view, offset);
	if (ret == 0)
		ret = read_schema(self, &schema, &result);
	ret = end(self, took, ret);
	mb_schema_release(&schema);
	if (ret < 0) {
		membridge_view_seek(self->view, saved);
		Py_XDECREF(result);
		return fail(self, ret, MB_OP_VIEW);
	}
	return result;
}

/* len bytes at offset as bytes, without moving the cursor. */
static PyObject *read_bytes(MappedViewObject *self, size_t offset, size_t len)
{
	PyObject *bytes;
	int took, ret;

	if (offset > self->size || len > self->size - offset)
		return fail(self, -ERANGE, MB_OP_VIEW);
	bytes = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)len);
	if (!bytes)
		return NULL;
	ret = begin(self, 0, &took);
	if (ret == 0)
		ret = membridge_view_read_bytes(self->view, offset, PyBytes_AS_STRING(bytes), len);
	ret = end(self, took, ret);
	if (ret < 0) {
		Py_DECREF(bytes);
		return fail(self, ret, MB_OP_VIEW);
	}
	return bytes;
}

PyDoc_STRVAR(read_range_doc,
"read_range(offset, length) -> bytes\n"
"\n"
"Copy `length` (> 0) bytes from `offset` of the data area. The cursor does not\n"
"move.");

static PyObject *mv_read_range(MappedViewObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	size_t offset;
	Py_ssize_t length;

	if (nargs != 2)
		return PyErr_Format(PyExc_TypeError,
				    "read_range() takes 2 arguments (offset, length), %zd given",
				    nargs);
	if (!handle(self) || parse_offset(args[0], &offset) < 0 || offset == MEMBRIDGE_CURSOR)
		return PyErr_Occurred() ? NULL
			: PyErr_Format(PyExc_TypeError, "read_range() needs an int offset");
	length = PyNumber_AsSsize_t(args[1], PyExc_OverflowError);
	if (length == -1 && PyErr_Occurred())
		return NULL;
	if (length <= 0)
		return PyErr_Format(PyExc_ValueError, "length must be > 0, not %zd", length);
	return read_bytes(self, offset, (size_t)length);
}

PyDoc_STRVAR(read_all_doc,
"read_all() -> bytes\n\nCopy the whole data area. The cursor does not move.");

static PyObject *mv_read_all(MappedViewObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return read_bytes(self, 0, self->size);
}

PyDoc_STRVAR(seek_doc, "seek(pos=0) -> None\n\nMove the cursor to `pos` (0 to size()).");

static PyObject *mv_seek(MappedViewObject *self, PyObject *const *args, Py_ssize_t nargs)
{
	size_t pos = 0;
	int ret;

	if (nargs > 1)
		return PyErr_Format(PyExc_TypeError, "seek() takes at most 1 argument, %zd given",
				    nargs);
	if (!handle(self))
		return NULL;
	if (nargs == 1 && (parse_offset(args[0], &pos) < 0 || pos == MEMBRIDGE_CURSOR))
		return PyErr_Occurred() ? NULL
			: PyErr_Format(PyExc_TypeError, "seek() needs an int position");
	ret = membridge_view_seek(self->view, pos);
	if (ret < 0)
		return fail(self, ret, MB_OP_VIEW);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(tell_doc, "tell() -> int\n\nThe cursor position in the data area.");

static PyObject *mv_tell(MappedViewObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return PyLong_FromSize_t(membridge_view_tell(self->view));
}

PyDoc_STRVAR(zero_doc, "zero() -> None\n\nFill the data area with zero bytes under the write lock.");

static PyObject *mv_zero(MappedViewObject *self, PyObject *unused)
{
	int took, ret;

	if (!handle(self))
		return NULL;
	ret = begin(self, 1, &took);
	if (ret == 0)
		ret = membridge_view_zero(self->view);
	ret = end(self, took, ret);
	if (ret < 0)
		return fail(self, ret, MB_OP_VIEW);
	Py_RETURN_NONE;
}

PyDoc_STRVAR(size_doc, "size() -> int\n\nThe data area size: the segment size minus the lock word.");

static PyObject *mv_size(MappedViewObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return PyLong_FromSize_t(self->size);
}

PyDoc_STRVAR(reader_count_doc,
"reader_count() -> int\n\nHow many readers hold the lock now, in all processes.");

static PyObject *mv_reader_count(MappedViewObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return PyLong_FromLong(membridge_view_reader_count(self->view));
}

PyDoc_STRVAR(is_write_locked_doc,
"is_write_locked() -> bool\n\nWhether a writer holds the lock now, in any process.");

static PyObject *mv_is_write_locked(MappedViewObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return PyBool_FromLong(membridge_view_is_write_locked(self->view));
}

/* The timeout of lock_read/lock_write/read_locked/write_locked (None: forever). */
static int parse_lock_timeout(MappedViewObject *self, PyObject *args, PyObject *kwargs,
			      const char *format, int64_t *ns)
{
	static char *kwlist[] = {"timeout", NULL};
	PyObject *timeout = Py_None;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, format, kwlist, &timeout) ||
	    !handle(self))
		return -1;
	return mb_timeout_parse(timeout, MEMBRIDGE_WAIT_FOREVER, ns);
}

static PyObject *lock(MappedViewObject *self, PyObject *args, PyObject *kwargs, int write)
{
	int64_t ns;

	if (parse_lock_timeout(self, args, kwargs, write ? "|O:lock_write" : "|O:lock_read",
			       &ns) < 0 ||
	    mb_mapped_view_lock((PyObject *)self, write, ns) < 0)
		return NULL;
	Py_RETURN_NONE;
}

int mb_mapped_view_lock(PyObject *obj, int write, int64_t timeout_ns)
{
	MappedViewObject *self = (MappedViewObject *)obj;
	int ret;

	if (!handle(self))
		return -1;
	ret = wait_lock(self, write, timeout_ns);
	if (ret < 0) {
		fail(self, ret, MB_OP_LOCK);
		return -1;
	}
	return 0;
}

int mb_mapped_view_unlock(PyObject *obj)
{
	MappedViewObject *self = (MappedViewObject *)obj;
	int ret;

	if (!handle(self))
		return -1;
	ret = membridge_view_unlock(self->view);
	if (ret < 0) {
		fail(self, ret, MB_OP_UNLOCK);
		return -1;
	}
	return 0;
}

static PyObject *guard(MappedViewObject *self, PyObject *args, PyObject *kwargs, int write)
{
	int64_t ns;

	if (parse_lock_timeout(self, args, kwargs, write ? "|O:write_locked" : "|O:read_locked",
			       &ns) < 0)
		return NULL;
	return mb_lock_guard_new(mb_state_of((PyObject *)self), (PyObject *)self, write, ns);
}

PyDoc_STRVAR(read_locked_doc,
"read_locked(timeout=None) -> context manager\n"
"\n"
"`with view.read_locked(timeout=...):` holds the read lock for the block, as\n"
"lock_read() then unlock().");

static PyObject *mv_read_locked(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	return guard(self, args, kwargs, 0);
}

PyDoc_STRVAR(write_locked_doc,
"write_locked(timeout=None) -> context manager\n"
"\n"
"`with view.write_locked(timeout=...):` holds the write lock for the block, as\n"
"lock_write() then unlock().");

static PyObject *mv_write_locked(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	return guard(self, args, kwargs, 1);
}

PyDoc_STRVAR(lock_read_doc,
"lock_read(timeout=None) -> None\n"
"\n"
"Take the lock for reading, for several calls in one critical section; release\n"
"it with unlock(). timeout: seconds to wait (None: no limit); TimeoutError when\n"
"it runs out, OSError(EOWNERDEAD) if the writer died (see break_lock()).");

static PyObject *mv_lock_read(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	return lock(self, args, kwargs, 0);
}

PyDoc_STRVAR(lock_write_doc,
"lock_write(timeout=None) -> None\n"
"\n"
"Take the lock for writing (exclusive); as lock_read() otherwise.");

static PyObject *mv_lock_write(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	return lock(self, args, kwargs, 1);
}

PyDoc_STRVAR(unlock_doc,
"unlock() -> None\n"
"\n"
"Release the lock this view holds (RuntimeError if it holds none).");

static PyObject *mv_unlock(MappedViewObject *self, PyObject *unused)
{
	if (mb_mapped_view_unlock((PyObject *)self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(break_lock_doc,
"break_lock(force=False) -> None\n"
"\n"
"Free a lock whose writer process died. Without force only a writer known to\n"
"be dead is cleared (OSError EBUSY if it lives, PermissionError if it cannot\n"
"be judged); force=True resets the lock word whatever it holds: use it only\n"
"when every holder is known to be gone.");

static PyObject *mv_break_lock(MappedViewObject *self, PyObject *args, PyObject *kwargs)
{
	static char *kwlist[] = {"force", NULL};
	int force = 0, ret;

	if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|p:break_lock", kwlist, &force) ||
	    !handle(self))
		return NULL;
	ret = membridge_view_break_lock(self->view, force ? MEMBRIDGE_BREAK_FORCE : 0);
	if (ret < 0)
		return fail(self, ret, MB_OP_BREAK);
	Py_RETURN_NONE;
}

static int release(MappedViewObject *self)
{
	struct membridge_view *view = self->view;

	if (!view)
		return 0;
	if (self->busy) {
		PyErr_Format(PyExc_RuntimeError,
			     "MappedView of '%U' is in use by another thread", self->name);
		return -1;
	}
	if (self->exports > 0) {
		PyErr_Format(PyExc_BufferError,
			     "cannot close MappedView of '%U': %zd exported buffer(s) "
			     "(memoryview, numpy array...) still use it; release them first",
			     self->name, self->exports);
		return -1;
	}
	self->view = NULL;
	Py_BEGIN_ALLOW_THREADS
	membridge_view_close(view);
	Py_END_ALLOW_THREADS
	return 0;
}

PyDoc_STRVAR(close_doc,
"close() -> None\n"
"\n"
"Release a lock the view still holds and drop the view. BufferError while a\n"
"memoryview of it is alive. A second close() does nothing.");

static PyObject *mv_close(MappedViewObject *self, PyObject *unused)
{
	if (release(self) < 0)
		return NULL;
	Py_RETURN_NONE;
}

PyDoc_STRVAR(enter_doc, "__enter__() -> MappedView\n\nReturn self.");

static PyObject *mv_enter(MappedViewObject *self, PyObject *unused)
{
	if (!handle(self))
		return NULL;
	return Py_NewRef(self);
}

PyDoc_STRVAR(exit_doc, "__exit__(*exc) -> None\n\nClose the view.");

static PyObject *mv_exit(MappedViewObject *self, PyObject *args)
{
	return mv_close(self, NULL);
}

PyDoc_STRVAR(lock_timeout_doc,
"Seconds the data calls (write, read, zero...) wait for the lock: 5.0 unless\n"
"set; None or math.inf wait without limit, 0 tries once.");

static PyObject *mv_get_lock_timeout(MappedViewObject *self, void *closure)
{
	if (self->lock_timeout_ns == MEMBRIDGE_WAIT_FOREVER)
		Py_RETURN_NONE;
	return PyFloat_FromDouble((double)self->lock_timeout_ns / 1e9);
}

static int mv_set_lock_timeout(MappedViewObject *self, PyObject *value, void *closure)
{
	if (!value) {
		PyErr_SetString(PyExc_AttributeError, "lock_timeout cannot be deleted");
		return -1;
	}
	return mb_timeout_parse(value, MEMBRIDGE_WAIT_FOREVER, &self->lock_timeout_ns);
}

static PyGetSetDef mv_getset[] = {
	{"lock_timeout", (getter)mv_get_lock_timeout, (setter)mv_set_lock_timeout,
	 lock_timeout_doc, NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static int mv_getbuffer(MappedViewObject *self, Py_buffer *view, int flags)
{
	if (!handle(self))
		return -1;
	if (PyBuffer_FillInfo(view, (PyObject *)self, self->data, (Py_ssize_t)self->size, 0,
			      flags) < 0)
		return -1;
	self->exports++;
	return 0;
}

static void mv_releasebuffer(MappedViewObject *self, Py_buffer *view)
{
	self->exports--;
}

static PyObject *mv_repr(MappedViewObject *self)
{
	if (!self->view)
		return PyUnicode_FromFormat("<membridge.MappedView name=%R size=%zu closed>",
					    self->name, self->size);
	return PyUnicode_FromFormat("<membridge.MappedView name=%R size=%zu cursor=%zu open>",
				    self->name, self->size, membridge_view_tell(self->view));
}

static void mv_finalize(MappedViewObject *self)
{
	PyObject *type, *value, *tb;

	PyErr_Fetch(&type, &value, &tb);
	if (release(self) < 0)
		PyErr_WriteUnraisable((PyObject *)self);
	PyErr_Restore(type, value, tb);
}

static int mv_traverse(MappedViewObject *self, visitproc visit, void *arg)
{
	Py_VISIT(Py_TYPE(self));
	return 0;
}

static void mv_dealloc(MappedViewObject *self)
{
	PyTypeObject *type = Py_TYPE(self);

	PyObject_GC_UnTrack(self);
	if (PyObject_CallFinalizerFromDealloc((PyObject *)self) < 0)
		return;
	Py_CLEAR(self->name);
	type->tp_free(self);
	Py_DECREF(type);
}

static PyMethodDef mv_methods[] = {
	{"write", VARARGS_KW(mv_write), write_doc},
	{"write_mixed", VARARGS_KW(mv_write_mixed), write_mixed_doc},
	{"read", (PyCFunction)mv_read, METH_O, read_doc},
	{"read_mixed", VARARGS_KW(mv_read_mixed), read_mixed_doc},
	{"read_range", (PyCFunction)(void (*)(void))mv_read_range, METH_FASTCALL, read_range_doc},
	{"read_all", (PyCFunction)mv_read_all, METH_NOARGS, read_all_doc},
	{"seek", (PyCFunction)(void (*)(void))mv_seek, METH_FASTCALL, seek_doc},
	{"tell", (PyCFunction)mv_tell, METH_NOARGS, tell_doc},
	{"zero", (PyCFunction)mv_zero, METH_NOARGS, zero_doc},
	{"size", (PyCFunction)mv_size, METH_NOARGS, size_doc},
	{"reader_count", (PyCFunction)mv_reader_count, METH_NOARGS, reader_count_doc},
	{"is_write_locked", (PyCFunction)mv_is_write_locked, METH_NOARGS, is_write_locked_doc},
	{"lock_read", VARARGS_KW(mv_lock_read), lock_read_doc},
	{"lock_write", VARARGS_KW(mv_lock_write), lock_write_doc},
	{"unlock", (PyCFunction)mv_unlock, METH_NOARGS, unlock_doc},
	{"read_locked", VARARGS_KW(mv_read_locked), read_locked_doc},
	{"write_locked", VARARGS_KW(mv_write_locked), write_locked_doc},
	{"break_lock", VARARGS_KW(mv_break_lock), break_lock_doc},
	{"close", (PyCFunction)mv_close, METH_NOARGS, close_doc},
	{"__enter__", (PyCFunction)mv_enter, METH_NOARGS, enter_doc},
	{"__exit__", (PyCFunction)mv_exit, METH_VARARGS, exit_doc},
	{NULL, NULL, 0, NULL},
};

PyDoc_STRVAR(mv_doc,
"A sequential view of a segment, guarded by a cross-process reader-writer lock.\n"
"\n"
"Made by SharedMemory.map(). Offsets count from the data area (after the lock\n"
"word); the cursor is private to this object. memoryview(view) exposes the data area\n"
"writable and without copying (no locking: use lock_read()/lock_write()).\n"
"\n"
MB_TIMEOUT_RULE);

static PyType_Slot mv_slots[] = {
	{Py_tp_doc, (void *)mv_doc},
	{Py_tp_methods, mv_methods},
	{Py_tp_getset, mv_getset},
	{Py_tp_repr, mv_repr},
	{Py_tp_finalize, mv_finalize},
	{Py_tp_traverse, mv_traverse},
	{Py_tp_dealloc, mv_dealloc},
	{Py_bf_getbuffer, mv_getbuffer},
	{Py_bf_releasebuffer, mv_releasebuffer},
	{0, NULL},
};

PyType_Spec mb_mapped_view_spec = {
	.name = "membridge.MappedView",
	.basicsize = sizeof(MappedViewObject),
	.flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE |
		 Py_TPFLAGS_DISALLOW_INSTANTIATION,
	.slots = mv_slots,
};
