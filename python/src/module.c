/* SPDX-License-Identifier: MIT */
/* The membridge._membridge module: multi-phase init, state, version. */
#include "membridge_py.h"

PyDoc_STRVAR(library_version_doc,
"library_version() -> str\n\nThe version of the libmembridge this module runs with.");

static PyObject *library_version(PyObject *module, PyObject *unused)
{
	return PyUnicode_FromString(membridge_version());
}

static PyMethodDef module_methods[] = {
	{"library_version", library_version, METH_NOARGS, library_version_doc},
	{NULL, NULL, 0, NULL},
};

static int add_type(PyObject *module, PyType_Spec *spec, PyTypeObject **slot)
{
	*slot = (PyTypeObject *)PyType_FromModuleAndSpec(module, spec, NULL);
	return *slot ? PyModule_AddType(module, *slot) : -1;
}

static int add_exception(PyObject *module, const char *name, const char *doc, PyObject *base,
			 PyObject **slot)
{
	*slot = PyErr_NewExceptionWithDoc(name, doc, base, NULL);
	return *slot ? PyModule_AddObjectRef(module, strrchr(name, '.') + 1, *slot) : -1;
}

static int module_exec(PyObject *module)
{
	mb_state *st = PyModule_GetState(module);
	PyObject *bases;
	int ret;

	if (membridge_version_number() >> 16 != MEMBRIDGE_VERSION_MAJOR) {
		PyErr_Format(PyExc_ImportError,
			     "membridge was built for libmembridge %s but runs with %s: rebuild it",
			     MEMBRIDGE_VERSION_STRING, membridge_version());
		return -1;
	}
	if (add_type(module, &mb_shared_memory_spec, &st->SharedMemory) < 0 ||
	    add_type(module, &mb_mapped_view_spec, &st->MappedView) < 0 ||
	    add_type(module, &mb_spsc_spec, &st->SpscRingBuffer) < 0 ||
	    add_type(module, &mb_lock_guard_spec, &st->LockGuard) < 0 ||
	    add_type(module, &mb_frame_peek_spec, &st->FramePeek) < 0 ||
	    add_type(module, &mb_publisher_spec, &st->Publisher) < 0 ||
	    add_type(module, &mb_loan_spec, &st->Loan) < 0 ||
	    add_type(module, &mb_subscriber_spec, &st->Subscriber) < 0 ||
	    add_type(module, &mb_message_spec, &st->Message) < 0 ||
	    add_type(module, &mb_ready_spec, &st->Ready) < 0 ||
	    mb_channel_types_init(module, st) < 0)
		return -1;
	if (add_exception(module, "membridge.CorruptSegmentError",
			  "Shared state written by a peer (ring header, frame length, lock word) "
			  "is invalid.", PyExc_ValueError, &st->CorruptSegmentError) < 0 ||
	    add_exception(module, "membridge.MessageDecodeError",
			  "A ring message could not be decoded with the given tag or schema; it "
			  "was consumed and its payload is in .raw.",
			  PyExc_ValueError, &st->MessageDecodeError) < 0)
		return -1;
	bases = PyTuple_Pack(2, st->MessageDecodeError, PyExc_UnicodeDecodeError);
	if (!bases)
		return -1;
	ret = add_exception(module, "membridge.MessageUnicodeError",
			    "A str in a ring message is not valid UTF-8; the message was consumed "
			    "and its payload is in .raw.", bases, &st->MessageUnicodeError);
	Py_DECREF(bases);
	if (ret < 0)
		return -1;
	/* What the platform of the library built against allows
	 * (membridge/features.h): the longest segment name, and whether the
	 * fileno() methods give descriptors or raise OSError(ENOTSUP). */
	if (PyModule_AddIntConstant(module, "NAME_MAX", MEMBRIDGE_NAME_MAX) < 0 ||
	    PyModule_AddObjectRef(module, "HAVE_DESCRIPTORS",
				  MEMBRIDGE_HAVE_DESCRIPTORS ? Py_True : Py_False) < 0)
		return -1;
	/* The version built against: the package's own (setup.py takes it from
	 * the same membridge.pc); library_version() is the one running. */
	return PyModule_AddStringConstant(module, "__version__", MEMBRIDGE_VERSION_STRING);
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
	mb_state *st = PyModule_GetState(module);

	Py_VISIT(st->SharedMemory);
	Py_VISIT(st->MappedView);
	Py_VISIT(st->SpscRingBuffer);
	Py_VISIT(st->LockGuard);
	Py_VISIT(st->FramePeek);
	Py_VISIT(st->Publisher);
	Py_VISIT(st->Loan);
	Py_VISIT(st->Subscriber);
	Py_VISIT(st->Message);
	Py_VISIT(st->Ready);
	Py_VISIT(st->ChannelConfig);
	Py_VISIT(st->SubscriberInfo);
	Py_VISIT(st->CorruptSegmentError);
	Py_VISIT(st->MessageDecodeError);
	Py_VISIT(st->MessageUnicodeError);
	return 0;
}

static int module_clear(PyObject *module)
{
	mb_state *st = PyModule_GetState(module);

	Py_CLEAR(st->SharedMemory);
	Py_CLEAR(st->MappedView);
	Py_CLEAR(st->SpscRingBuffer);
	Py_CLEAR(st->LockGuard);
	Py_CLEAR(st->FramePeek);
	Py_CLEAR(st->Publisher);
	Py_CLEAR(st->Loan);
	Py_CLEAR(st->Subscriber);
	Py_CLEAR(st->Message);
	Py_CLEAR(st->Ready);
	Py_CLEAR(st->ChannelConfig);
	Py_CLEAR(st->SubscriberInfo);
	Py_CLEAR(st->CorruptSegmentError);
	Py_CLEAR(st->MessageDecodeError);
	Py_CLEAR(st->MessageUnicodeError);
	return 0;
}

static void module_free(void *module)
{
	module_clear(module);
}

static PyModuleDef_Slot module_slots[] = {
	{Py_mod_exec, module_exec},
	{0, NULL},
};

PyDoc_STRVAR(module_doc,
"Named cross-process shared memory: a locked sequential view, a\n"
"single-producer/single-consumer message ring and a zero-copy\n"
"publish/subscribe channel, over libmembridge.");

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT,
	.m_name = "membridge._membridge",
	.m_doc = module_doc,
	.m_size = sizeof(mb_state),
	.m_methods = module_methods,
	.m_slots = module_slots,
	.m_traverse = module_traverse,
	.m_clear = module_clear,
	.m_free = module_free,
};

PyMODINIT_FUNC PyInit__membridge(void)
{
	return PyModuleDef_Init(&module_def);
}
