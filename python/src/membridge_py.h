/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the files of the membridge extension. */
#ifndef MEMBRIDGE_PY_H
#define MEMBRIDGE_PY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <membridge.h>

/* The one timeout rule, in the docstrings, the stubs and README.md. */
#define MB_TIMEOUT_RULE \
	"Timeouts are in seconds (math.inf: no limit); timeout=None tries once for\n" \
	"ring calls and waits without limit for locks; a view's data calls wait up\n" \
	"to its lock_timeout (5 s unless set)."

/* PyMethodDef entries for functions taking keywords, in either convention. */
#define FASTCALL_KW(f) (PyCFunction)(void (*)(void))(f), METH_FASTCALL | METH_KEYWORDS
#define VARARGS_KW(f) (PyCFunction)(void (*)(void))(f), METH_VARARGS | METH_KEYWORDS

/* Per-module state: the heap types and the module's own exceptions. */
typedef struct {
	PyTypeObject *SharedMemory;
	PyTypeObject *MappedView;
	PyTypeObject *SpscRingBuffer;
	PyTypeObject *LockGuard;
	PyTypeObject *FramePeek;
	PyTypeObject *Publisher;
	PyTypeObject *Loan;
	PyTypeObject *Subscriber;
	PyTypeObject *Message;
	PyTypeObject *Ready;
	PyTypeObject *ChannelConfig;
	PyTypeObject *SubscriberInfo;
	PyObject *CorruptSegmentError;
	PyObject *MessageDecodeError;
	PyObject *MessageUnicodeError;
} mb_state;

/* The state of the module that defined `type` (all our types are final). */
static inline mb_state *mb_state_of_type(PyTypeObject *type)
{
	return (mb_state *)PyType_GetModuleState(type);
}

static inline mb_state *mb_state_of(PyObject *self)
{
	return mb_state_of_type(Py_TYPE(self));
}

/* ---------------------------------------------------------------- types */

extern PyType_Spec mb_shared_memory_spec;
extern PyType_Spec mb_mapped_view_spec;
extern PyType_Spec mb_spsc_spec;
extern PyType_Spec mb_lock_guard_spec;
extern PyType_Spec mb_frame_peek_spec;
extern PyType_Spec mb_publisher_spec;
extern PyType_Spec mb_loan_spec;
extern PyType_Spec mb_subscriber_spec;
extern PyType_Spec mb_message_spec;
extern PyType_Spec mb_ready_spec;

/* Wrap a freshly opened view or ring; takes ownership of the C handle. */
PyObject *mb_mapped_view_new(mb_state *st, struct membridge_view *view, PyObject *name);
PyObject *mb_spsc_new(mb_state *st, struct membridge_spsc *spsc, PyObject *name);

/* The ring's peek(): see the next frame (1, *frame set), or find none
 * within the timeout (0), or fail (-1 with an exception); while a frame is
 * peeked the ring refuses other calls. End it by consuming the frame or
 * not (-1 with an exception if consume fails). */
int mb_spsc_peek_begin(PyObject *ring, int64_t timeout_ns, struct membridge_frame *frame);
int mb_spsc_peek_end(PyObject *ring, const struct membridge_frame *frame, int consume);
/* The context manager of SpscRingBuffer.peek(). */
PyObject *mb_frame_peek_new(mb_state *st, PyObject *ring, int64_t timeout_ns);

/* The channel's handles, wrapping a freshly opened C handle (owned). */
PyObject *mb_publisher_new(mb_state *st, struct membridge_publisher *pub, PyObject *name,
			   const struct membridge_channel_config *cfg);
PyObject *mb_subscriber_new(mb_state *st, struct membridge_subscriber *sub, PyObject *name,
			    const struct membridge_channel_config *cfg);
/* ChannelConfig and SubscriberInfo types (named tuples), made at module init. */
int mb_channel_types_init(PyObject *module, mb_state *st);
PyObject *mb_channel_config_new(mb_state *st, const struct membridge_channel_config *cfg);
PyObject *mb_subscriber_info_new(mb_state *st, const struct membridge_subscriber_info *info);

/* What a Loan asks of its publisher: loan nbytes (0, or -1 with an
 * exception), shorten it, and end it by publishing it or not. */
int mb_publisher_loan(PyObject *pub, size_t nbytes, int64_t timeout_ns, void **data);
int mb_publisher_shrink(PyObject *pub, size_t nbytes);
int mb_publisher_end_loan(PyObject *pub, int publish);
/* Loan nbytes, let fill() write them (0, or -1 with an exception: the loan
 * is dropped) and publish: True, False when no space came within the
 * timeout, or NULL with an exception (as publish()). */
typedef int (*mb_fill_fn)(void *ctx, void *data, size_t len);
PyObject *mb_publisher_publish_filled(PyObject *pub, size_t nbytes, int64_t timeout_ns,
				      mb_fill_fn fill, void *ctx);
/* The context manager of Publisher.loan(). */
PyObject *mb_loan_new(mb_state *st, PyObject *pub, size_t nbytes, int64_t timeout_ns);

/* A received message, message number `number` of those its subscriber
 * received, held until it is released: the subscriber gives back the space
 * of the oldest messages as soon as they are all released. */
PyObject *mb_message_new(mb_state *st, PyObject *sub, const struct membridge_message *msg,
			 uint64_t number);
/* Subscriber.receive(): a Message, None when none came within the timeout,
 * or NULL with an exception. */
PyObject *mb_subscriber_receive(PyObject *sub, PyObject *timeout);
/* What a Message asks of its subscriber: whether its handle is still open
 * (messages of a closed subscriber are gone), a buffer export more or less,
 * and that it is released. */
int mb_subscriber_is_open(PyObject *sub);
void mb_subscriber_exports(PyObject *sub, int delta);
void mb_subscriber_drop(PyObject *sub, uint64_t number);

/* The payload formats (payload.c): methods of Publisher, Subscriber and
 * Message over membridge_array(3) and membridge_parts(3) messages. */
PyObject *mb_publish_array(PyObject *pub, PyObject *args, PyObject *kwargs);
PyObject *mb_publish_parts(PyObject *pub, PyObject *args, PyObject *kwargs);
PyObject *mb_publish_object(PyObject *pub, PyObject *args, PyObject *kwargs);
PyObject *mb_receive_array(PyObject *sub, PyObject *args, PyObject *kwargs);
PyObject *mb_receive_object(PyObject *sub, PyObject *args, PyObject *kwargs);
PyObject *mb_message_array(PyObject *msg, PyObject *unused);
PyObject *mb_message_parts(PyObject *msg, PyObject *unused);
PyObject *mb_message_object(PyObject *msg, PyObject *args, PyObject *kwargs);
extern const char mb_publish_array_doc[], mb_publish_parts_doc[], mb_publish_object_doc[],
	mb_receive_array_doc[], mb_receive_object_doc[], mb_message_array_doc[],
	mb_message_parts_doc[], mb_message_object_doc[];

/* Take (write or read) or release a MappedView's lock; -1 with an exception. */
int mb_mapped_view_lock(PyObject *view, int write, int64_t timeout_ns);
int mb_mapped_view_unlock(PyObject *view);
/* A context manager that holds view's lock for its `with` block. */
PyObject *mb_lock_guard_new(mb_state *st, PyObject *view, int write, int64_t timeout_ns);

/* ------------------------------------------------------------------ aio */

/* membridge._aio.<name>(self, *args, **kwargs): the coroutine (or async
 * context manager) an async method returns. */
PyObject *mb_aio_call(const char *name, PyObject *self, PyObject *args, PyObject *kwargs);
/* __aiter__: the handle itself. */
PyObject *mb_aio_self(PyObject *self);
/* An awaitable that is done already: awaiting it gives `value` at once,
 * with no coroutine and no turn of the event loop (the fast path of an
 * async call that needs no wait). Steals the reference to value. */
PyObject *mb_aio_ready(mb_state *st, PyObject *value);

/* --------------------------------------------------------------- errors */

/* What was being done when a call failed: selects the message and its hint. */
enum mb_op {
	MB_OP_CREATE,
	MB_OP_OPEN,
	MB_OP_REMOVE,
	MB_OP_MAP,
	MB_OP_SPSC,
	MB_OP_VIEW,   /* data calls of a view; n = data area size */
	MB_OP_LOCK,
	MB_OP_UNLOCK,
	MB_OP_BREAK,
	MB_OP_PUSH,   /* n = ring capacity */
	MB_OP_POP,    /* n = bytes the next message needs (pop_into) */
	MB_OP_CHANNEL,    /* making or opening a channel and its handles */
	MB_OP_PUBLISHER,  /* publisher_open */
	MB_OP_SUBSCRIBER, /* subscriber_open; n = subscriber slots */
	MB_OP_LOAN,       /* loan, send, publish; n = max_message */
	MB_OP_RECEIVE,    /* receive and release */
	MB_OP_EVICT,      /* n = the slot */
};

/* Raised (with a Python exception already set) instead of an errno value. */
#define MB_PY_RAISED INT_MIN

/* Set the Python exception for `err` (a negative errno value, or
 * MB_PY_RAISED) from operation `op` on segment `name`; n is an op-specific
 * number for the message. Always returns NULL. */
PyObject *mb_py_raise(mb_state *st, int err, enum mb_op op, PyObject *name, size_t n);

/* Raise MessageDecodeError (MessageUnicodeError for -EILSEQ) for a ring
 * payload that failed to decode at byte `pos`; .raw gets the whole payload. */
PyObject *mb_py_raise_decode(mb_state *st, int err, const char *payload, size_t len,
			     size_t pos, enum membridge_type type);

/* Let Python decode the str at buf[pos], one the library found invalid: 1
 * with UnicodeDecodeError set, 0 if Python accepts it, -ENODATA if the bytes
 * do not hold a whole str, -ENOMEM with MemoryError set. */
int mb_str_decode_error(const char *buf, size_t len, size_t pos);

/* -------------------------------------------------------------- convert */

/* Python values gathered for one encode call, with what keeps them alive. */
struct mb_values {
	PyObject *keep;                 /* tuple copy of a list, or NULL */
	struct membridge_value *v;
	Py_buffer *bufs;
	size_t count;
	size_t nbufs;
	struct membridge_value one;     /* storage for a single value */
	Py_buffer one_buf;
};

/* One scalar, str or buffer (not a list) into out->one. */
int mb_values_from_object(PyObject *obj, struct mb_values *out);
/* The elements of a list; depth 1 accepts lists of scalars inside it. */
int mb_values_from_list(PyObject *list, int depth, struct mb_values *out);
/* One message's values, as push() takes them: a list element by element,
 * anything else as one value. */
int mb_values_gather(PyObject *item, struct mb_values *out);
void mb_values_release(struct mb_values *vals);

/* The encoded size of the gathered values; OverflowError if a str is too
 * long for the format. */
int mb_values_size(const struct mb_values *vals, size_t *len);
/* Encode them into buf of len = mb_values_size() bytes. */
int mb_values_encode(const struct mb_values *vals, void *buf, size_t len);

/* The messages of a push_many() or publish_many(): each item encoded as
 * push() does, back to back in one arena. */
struct mb_batch {
	struct membridge_iovec *iov;
	size_t count;
	char *arena;
};
int mb_batch_encode(PyObject *items, const char *fname, struct mb_batch *out);
void mb_batch_release(struct mb_batch *batch);

/* A decode tag (str) into a type; ValueError for unknown tags. */
int mb_tag_parse(PyObject *tag, enum membridge_type *type);

/* A read_mixed / pop_mixed schema: a sequence of (tag, count). */
struct mb_schema {
	size_t count;
	struct mb_schema_item {
		enum membridge_type type;
		Py_ssize_t count;
	} *items;
};
int mb_schema_parse(PyObject *schema, struct mb_schema *out);
void mb_schema_release(struct mb_schema *schema);

/* A decoded value as a Python object (str from UTF-8, u64 unsigned...). */
PyObject *mb_value_to_object(const struct membridge_value *value);

/* Decode a whole ring payload: the first value of `type`, or a list per
 * `schema` item when schema is not NULL. Raises MessageDecodeError. */
PyObject *mb_payload_decode(mb_state *st, const char *payload, size_t len,
			    enum membridge_type type, const struct mb_schema *schema);

/* ----------------------------------------------------------------- wait */

/* One bounded attempt of a blocking call; runs without the GIL. */
typedef int (*mb_wait_fn)(void *ctx, int64_t timeout_ns);

/* timeout (seconds, float or int; None gives `none_ns`) into nanoseconds:
 * 0 tries once, MEMBRIDGE_WAIT_FOREVER for math.inf. */
int mb_timeout_parse(PyObject *timeout, int64_t none_ns, int64_t *ns);

/* Call fn once with the GIL held; if it reports -EAGAIN and timeout_ns
 * allows a wait, call it again with the GIL released and the whole timeout.
 * After -EINTR (a signal handler ran) Python's signal handlers run: if one
 * raised (KeyboardInterrupt), MB_PY_RAISED; otherwise fn is called again
 * with the time left. Returns fn's result or -ETIMEDOUT. */
int mb_wait(mb_wait_fn fn, void *ctx, int64_t timeout_ns);

#endif /* MEMBRIDGE_PY_H */
