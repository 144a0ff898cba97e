/* SPDX-License-Identifier: MIT */
/* Python values to and from the library's typed values (SPEC §2). */
#include "membridge_py.h"

#include <errno.h>

/* Fill *v from a scalar, str or buffer; a buffer is held in *buf. */
static int value_from_object(PyObject *obj, struct membridge_value *v, Py_buffer *buf,
			     int *held)
{
	*held = 0;
	if (PyBool_Check(obj)) {
		v->type = MEMBRIDGE_BOOL;
		v->as.b = obj == Py_True;
	} else if (PyLong_Check(obj)) {
		int overflow;

		v->type = MEMBRIDGE_I64;
		v->as.i64 = PyLong_AsLongLongAndOverflow(obj, &overflow);
		if (overflow) {
			PyErr_SetString(PyExc_OverflowError,
					"int out of range: values are stored as int64");
			return -1;
		}
		if (v->as.i64 == -1 && PyErr_Occurred())
			return -1;
	} else if (PyFloat_Check(obj)) {
		v->type = MEMBRIDGE_F64;
		v->as.f64 = PyFloat_AS_DOUBLE(obj);
	} else if (PyUnicode_Check(obj)) {
		Py_ssize_t len;

		v->type = MEMBRIDGE_STR;
		v->as.buf.ptr = PyUnicode_AsUTF8AndSize(obj, &len);
		if (!v->as.buf.ptr)
			return -1;
		v->as.buf.len = (size_t)len;
	} else if (PyObject_CheckBuffer(obj)) {
		if (PyObject_GetBuffer(obj, buf, PyBUF_SIMPLE) < 0)
			return -1;
		*held = 1;
		v->type = MEMBRIDGE_BYTES;
		v->as.buf.ptr = buf->buf;
		v->as.buf.len = (size_t)buf->len;
	} else {
		PyErr_Format(PyExc_TypeError,
			     "cannot store a %.100s: use bool, int, float, str, bytes, bytearray "
			     "or another contiguous buffer", Py_TYPE(obj)->tp_name);
		return -1;
	}
	return 0;
}

int mb_values_from_object(PyObject *obj, struct mb_values *out)
{
	int held;

	memset(out, 0, sizeof(*out));
	if (PyList_Check(obj)) {
		PyErr_SetString(PyExc_TypeError,
				"cannot write a list with write(): use write_mixed(items)");
		return -1;
	}
	if (value_from_object(obj, &out->one, &out->one_buf, &held) < 0)
		return -1;
	out->v = &out->one;
	out->count = 1;
	if (held) {
		out->bufs = &out->one_buf;
		out->nbufs = 1;
	}
	return 0;
}

/* Append the values of list to flat; depth 1 lets its elements be lists. */
static int flatten(PyObject *list, int depth, PyObject *flat)
{
	Py_ssize_t i;

	for (i = 0; i < PyList_GET_SIZE(list); i++) {
		PyObject *item = PyList_GET_ITEM(list, i);
		int ret;

		if (!PyList_Check(item)) {
			ret = PyList_Append(flat, item);
		} else if (depth == 0) {
			PyErr_SetString(PyExc_TypeError,
					"list nested too deep: push() takes a flat list, "
					"write_mixed() values or lists of values");
			return -1;
		} else {
			Py_INCREF(item);
			ret = flatten(item, depth - 1, flat);
			Py_DECREF(item);
		}
		if (ret < 0)
			return -1;
	}
	return 0;
}

int mb_values_from_list(PyObject *list, int depth, struct mb_values *out)
{
	Py_ssize_t i, total;

	memset(out, 0, sizeof(*out));
	/* A flat list holding every value keeps them alive while the GIL is
	 * released, whatever happens to the caller's lists meanwhile. */
	out->keep = PyList_New(0);
	if (!out->keep || flatten(list, depth, out->keep) < 0)
		goto fail;
	total = PyList_GET_SIZE(out->keep);
	out->v = PyMem_Calloc(total ? (size_t)total : 1, sizeof(*out->v));
	out->bufs = PyMem_Calloc(total ? (size_t)total : 1, sizeof(*out->bufs));
	if (!out->v || !out->bufs) {
		PyErr_NoMemory();
		goto fail;
	}
	for (i = 0; i < total; i++) {
		int held;

		if (value_from_object(PyList_GET_ITEM(out->keep, i), &out->v[out->count],
				      &out->bufs[out->nbufs], &held) < 0)
			goto fail;
		out->count++;
		out->nbufs += (size_t)held;
	}
	return 0;
fail:
	mb_values_release(out);
	return -1;
}

void mb_values_release(struct mb_values *vals)
{
	size_t i;

	for (i = 0; i < vals->nbufs; i++)
		PyBuffer_Release(&vals->bufs[i]);
	if (vals->v != &vals->one) {
		PyMem_Free(vals->v);
		PyMem_Free(vals->bufs);
	}
	Py_CLEAR(vals->keep);
	vals->v = NULL;
	vals->bufs = NULL;
	vals->count = vals->nbufs = 0;
}

int mb_values_size(const struct mb_values *vals, size_t *len)
{
	int ret = membridge_encoded_size(vals->v, vals->count, len);

	if (ret == -EOVERFLOW)
		PyErr_SetString(PyExc_OverflowError, "a str is longer than 4 GiB - 1 bytes");
	else if (ret < 0)
		PyErr_Format(PyExc_SystemError, "membridge_encoded_size: %s",
			     membridge_strerror(ret));
	return ret < 0 ? -1 : 0;
}

int mb_values_encode(const struct mb_values *vals, void *buf, size_t len)
{
	int ret = membridge_encode(buf, len, vals->v, vals->count, NULL);

	if (ret < 0)
		PyErr_Format(PyExc_SystemError, "membridge_encode: %s", membridge_strerror(ret));
	return ret < 0 ? -1 : 0;
}

int mb_tag_parse(PyObject *tag, enum membridge_type *type)
{
	const char *s;

	if (!PyUnicode_Check(tag)) {
		PyErr_Format(PyExc_TypeError, "a tag is a str, not %.100s", Py_TYPE(tag)->tp_name);
		return -1;
	}
	s = PyUnicode_AsUTF8(tag);
	if (!s)
		return -1;
	if (membridge_type_from_name(s, type) < 0) {
		PyErr_Format(PyExc_ValueError,
			     "unknown tag %R: use one of 'bool', 'u8', 'i32', 'u32', 'f32', "
			     "'int', 'i64', 'u64', 'float', 'f64', 'str'", tag);
		return -1;
	}
	return 0;
}

int mb_schema_parse(PyObject *schema, struct mb_schema *out)
{
	PyObject *seq = PySequence_Fast(schema, "a schema is a list of (tag, count) pairs");
	Py_ssize_t i, n;

	memset(out, 0, sizeof(*out));
	if (!seq)
		return -1;
	n = PySequence_Fast_GET_SIZE(seq);
	out->items = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*out->items));
	if (!out->items) {
		Py_DECREF(seq);
		PyErr_NoMemory();
		return -1;
	}
	for (i = 0; i < n; i++) {
		PyObject *pair = PySequence_Fast_GET_ITEM(seq, i), *tag, *count;

		if (!PyTuple_Check(pair) && !PyList_Check(pair)) {
			PyErr_SetString(PyExc_TypeError, "a schema item is a (tag, count) pair");
			goto fail;
		}
		if (PySequence_Size(pair) != 2) {
			PyErr_SetString(PyExc_ValueError, "a schema item is a (tag, count) pair");
			goto fail;
		}
		tag = PySequence_GetItem(pair, 0);
		count = PySequence_GetItem(pair, 1);
		if (tag && count && mb_tag_parse(tag, &out->items[i].type) == 0)
			out->items[i].count = PyLong_AsSsize_t(count);
		Py_XDECREF(tag);
		Py_XDECREF(count);
		if (PyErr_Occurred())
			goto fail;
		if (out->items[i].count < 1) {
			PyErr_SetString(PyExc_ValueError, "a schema count must be >= 1");
			goto fail;
		}
		out->count++;
	}
	Py_DECREF(seq);
	return 0;
fail:
	Py_DECREF(seq);
	mb_schema_release(out);
	return -1;
}

void mb_schema_release(struct mb_schema *schema)
{
	PyMem_Free(schema->items);
	schema->items = NULL;
	schema->count = 0;
}

PyObject *mb_value_to_object(const struct membridge_value *value)
{
	switch (value->type) {
	case MEMBRIDGE_BOOL:
		return PyBool_FromLong(value->as.b);
	case MEMBRIDGE_U8:
		return PyLong_FromLong(value->as.u8);
	case MEMBRIDGE_I32:
		return PyLong_FromLong(value->as.i32);
	case MEMBRIDGE_U32:
		return PyLong_FromUnsignedLong(value->as.u32);
	case MEMBRIDGE_F32:
		return PyFloat_FromDouble((double)value->as.f32);
	case MEMBRIDGE_I64:
		return PyLong_FromLongLong(value->as.i64);
	case MEMBRIDGE_U64:
		return PyLong_FromUnsignedLongLong(value->as.u64);
	case MEMBRIDGE_F64:
		return PyFloat_FromDouble(value->as.f64);
	case MEMBRIDGE_STR:
		return PyUnicode_DecodeUTF8(value->as.buf.ptr, (Py_ssize_t)value->as.buf.len,
					    "strict");
	case MEMBRIDGE_BYTES:
	default:
		return PyBytes_FromStringAndSize(value->as.buf.ptr, (Py_ssize_t)value->as.buf.len);
	}
}

/* Decode one value at *pos; on failure raise MessageDecodeError. */
static PyObject *decode_one(mb_state *st, const char *payload, size_t len, size_t *pos,
			    enum membridge_type type)
{
	struct membridge_value v;
	PyObject *obj;
	size_t at = *pos;
	int ret = membridge_decode(payload, len, pos, type, &v);

	if (ret < 0)
		return mb_py_raise_decode(st, ret, payload, len, at, type);
	obj = mb_value_to_object(&v);
	/* The producer may rewrite bytes the library already checked. */
	if (!obj && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
		PyErr_Clear();
		return mb_py_raise_decode(st, -EILSEQ, payload, len, at, type);
	}
	return obj;
}

PyObject *mb_payload_decode(mb_state *st, const char *payload, size_t len,
			    enum membridge_type type, const struct mb_schema *schema)
{
	PyObject *result, *item;
	size_t pos = 0, i;
	Py_ssize_t j;

	if (!schema)
		return decode_one(st, payload, len, &pos, type);
	result = PyList_New((Py_ssize_t)schema->count);
	for (i = 0; result && i < schema->count; i++) {
		const struct mb_schema_item *s = &schema->items[i];

		if (s->count == 1) {
			item = decode_one(st, payload, len, &pos, s->type);
		} else if ((size_t)s->count > len - pos) {
			/* Each value takes a byte at least: fail before allocating. */
			item = mb_py_raise_decode(st, -ENODATA, payload, len, pos, s->type);
		} else {
			item = PyList_New(s->count);
			for (j = 0; item && j < s->count; j++) {
				PyObject *one = decode_one(st, payload, len, &pos, s->type);

				if (!one)
					Py_CLEAR(item);
				else
					PyList_SET_ITEM(item, j, one);
			}
		}
		if (!item)
			Py_CLEAR(result);
		else
			PyList_SET_ITEM(result, (Py_ssize_t)i, item);
	}
	return result;
}

int mb_values_gather(PyObject *item, struct mb_values *vals)
{
	return PyList_Check(item) ? mb_values_from_list(item, 0, vals)
				  : mb_values_from_object(item, vals);
}

int mb_batch_encode(PyObject *items, const char *fname, struct mb_batch *out)
{
	PyObject *seq = PySequence_Fast(items, "a batch is a list of messages");
	struct mb_values *vals = NULL;
	Py_ssize_t i, n, ready = 0;
	size_t total = 0, at = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (!seq) {
		if (PyErr_ExceptionMatches(PyExc_TypeError)) {
			PyErr_Clear();
			PyErr_Format(PyExc_TypeError, "%s() takes a list of messages", fname);
		}
		return -1;
	}
	n = PySequence_Fast_GET_SIZE(seq);
	vals = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*vals));
	out->iov = PyMem_Calloc(n ? (size_t)n : 1, sizeof(*out->iov));
	if (!vals || !out->iov) {
		PyErr_NoMemory();
		goto out;
	}
	/* Gather every message first, then encode them into one arena. */
	for (; ready < n; ready++) {
		size_t len;

		if (mb_values_gather(PySequence_Fast_GET_ITEM(seq, ready), &vals[ready]) < 0)
			goto out;
		if (mb_values_size(&vals[ready], &len) < 0) {
			mb_values_release(&vals[ready]);
			goto out;
		}
		out->iov[ready].len = len;
		total += len;
	}
	out->arena = PyMem_Malloc(total ? total : 1);
	if (!out->arena) {
		PyErr_NoMemory();
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (mb_values_encode(&vals[i], out->arena + at, out->iov[i].len) < 0)
			goto out;
		out->iov[i].base = out->arena + at;
		at += out->iov[i].len;
	}
	out->count = (size_t)n;
	ret = 0;
out:
	for (i = 0; i < ready; i++)
		mb_values_release(&vals[i]);
	PyMem_Free(vals);
	Py_DECREF(seq);
	if (ret < 0)
		mb_batch_release(out);
	return ret;
}

void mb_batch_release(struct mb_batch *batch)
{
	PyMem_Free(batch->arena);
	PyMem_Free(batch->iov);
	memset(batch, 0, sizeof(*batch));
}
