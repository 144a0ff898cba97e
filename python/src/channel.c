/* SPDX-License-Identifier: MIT */
/* The channel's named tuples: ChannelConfig and SubscriberInfo. */
#include "membridge_py.h"

static PyStructSequence_Field config_fields[] = {
	{"data_size", "bytes for messages in the segment"},
	{"max_message", "the largest payload, in bytes"},
	{"subscribers", "subscriber slots"},
	{"flags", "policy flags (0: layout version 1 defines none)"},
	{NULL, NULL},
};

static PyStructSequence_Desc config_desc = {
	"membridge.ChannelConfig",
	"A channel's shape, fixed when it was made: SharedMemory.channel_config().",
	config_fields, 4,
};

static PyStructSequence_Field info_fields[] = {
	{"slot", "the slot number, 0 to subscribers - 1"},
	{"pid", "the subscriber's process, 0 if unknown"},
	{"active", "a live subscriber holds the slot (False while it joins, once evicted "
		   "or known to be dead)"},
	{"evicted", "it was evicted and has not left yet"},
	{"lag", "messages published that it has not released"},
	{"lag_bytes", "data-area bytes those messages hold"},
	{NULL, NULL},
};

static PyStructSequence_Desc info_desc = {
	"membridge.SubscriberInfo",
	"What the publisher knows of one subscriber slot in use: "
	"Publisher.subscribers().",
	info_fields, 6,
};

int mb_channel_types_init(PyObject *module, mb_state *st)
{
	st->ChannelConfig = PyStructSequence_NewType(&config_desc);
	if (!st->ChannelConfig || PyModule_AddType(module, st->ChannelConfig) < 0)
		return -1;
	st->SubscriberInfo = PyStructSequence_NewType(&info_desc);
	if (!st->SubscriberInfo || PyModule_AddType(module, st->SubscriberInfo) < 0)
		return -1;
	return 0;
}

/* A struct sequence of `type` from n new references (NULL if one failed). */
static PyObject *fill(PyTypeObject *type, PyObject **items, Py_ssize_t n)
{
	PyObject *seq = PyStructSequence_New(type);
	Py_ssize_t i;

	for (i = 0; i < n; i++)
		if (!items[i])
			Py_CLEAR(seq);
	for (i = 0; i < n; i++) {
		if (seq)
			PyStructSequence_SetItem(seq, i, items[i]);
		else
			Py_XDECREF(items[i]);
	}
	return seq;
}

PyObject *mb_channel_config_new(mb_state *st, const struct membridge_channel_config *cfg)
{
	PyObject *items[4] = {
		PyLong_FromUnsignedLongLong(cfg->data_size),
		PyLong_FromUnsignedLongLong(cfg->max_message),
		PyLong_FromUnsignedLong(cfg->subscribers),
		PyLong_FromUnsignedLong(cfg->flags),
	};

	return fill(st->ChannelConfig, items, 4);
}

PyObject *mb_subscriber_info_new(mb_state *st, const struct membridge_subscriber_info *info)
{
	PyObject *items[6] = {
		PyLong_FromUnsignedLong(info->slot),
		PyLong_FromLongLong(info->pid),
		PyBool_FromLong(info->active),
		PyBool_FromLong(info->evicted),
		PyLong_FromUnsignedLongLong(info->lag),
		PyLong_FromUnsignedLongLong(info->lag_bytes),
	};

	return fill(st->SubscriberInfo, items, 6);
}
