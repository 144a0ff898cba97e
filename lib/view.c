/* SPDX-License-Identifier: MIT */
/* The sequential view: a cursor and bounds-checked, locked data access. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"


enum held { HELD_NONE, HELD_READ, HELD_WRITE };

struct membridge_view {
	struct membridge_segment *seg;
	struct mb_rwlock lock;
	unsigned char *data;
	size_t size;
	size_t cursor;
	int64_t timeout_ns;
	enum held held;
};

int membridge_view_open(struct membridge_segment *seg, struct membridge_view **viewp)
{
	struct membridge_view *view;
	struct mb_waitblock *wb;

	if (!seg || !viewp || seg->map.size <= MEMBRIDGE_VIEW_HEADER)
		return -EINVAL;
	view = calloc(1, sizeof(*view));
	if (!view)
		return -ENOMEM;
	wb = mb_segment_waitblock(seg);
	mb_segment_ref(seg);
	view->seg = seg;
	mb_rwlock_init(&view->lock, seg->map.base, wb);
	/* The creator's first view sets the lock word up: free. */
	if (seg->creator && !atomic_exchange(&seg->view_initialised, true))
		atomic_store_explicit(view->lock.word, 0, memory_order_release);
	view->data = (unsigned char *)seg->map.base + MEMBRIDGE_VIEW_HEADER;
	view->size = seg->map.size - MEMBRIDGE_VIEW_HEADER;
	view->timeout_ns = MEMBRIDGE_DEFAULT_LOCK_TIMEOUT;
	*viewp = view;
	return 0;
}

void membridge_view_close(struct membridge_view *view)
{
	if (!view)
		return;
	if (view->held != HELD_NONE)
		membridge_view_unlock(view);
	mb_segment_unref(view->seg);
	free(view);
}

size_t membridge_view_size(const struct membridge_view *view)
{
	return view->size;
}

void *membridge_view_data(const struct membridge_view *view)
{
	return view->data;
}

int membridge_view_seek(struct membridge_view *view, size_t pos)
{
	if (pos > view->size)
		return -ERANGE;
	view->cursor = pos;
	return 0;
}

size_t membridge_view_tell(const struct membridge_view *view)
{
	return view->cursor;
}

void membridge_view_set_timeout(struct membridge_view *view, int64_t timeout_ns)
{
	view->timeout_ns = timeout_ns;
}

/* Where an access of len bytes at offset (or the cursor) starts, or -ERANGE. */
static int place(const struct membridge_view *view, size_t offset, size_t len, size_t *start)
{
	size_t at = offset == MEMBRIDGE_CURSOR ? view->cursor : offset;

	if (at > view->size || len > view->size - at)
		return -ERANGE;
	*start = at;
	return 0;
}

static void advance(struct membridge_view *view, size_t offset, size_t end)
{
	if (offset == MEMBRIDGE_CURSOR)
		view->cursor = end;
}

static int lock(struct membridge_view *view, bool write, int64_t timeout_ns)
{
	int ret;

	if (view->held != HELD_NONE)
		return -EDEADLK;
	ret = write ? mb_rwlock_write(&view->lock, timeout_ns)
		    : mb_rwlock_read(&view->lock, timeout_ns);
	if (ret == 0)
		view->held = write ? HELD_WRITE : HELD_READ;
	return ret;
}

int membridge_view_lock_read(struct membridge_view *view, int64_t timeout_ns)
{
	return lock(view, false, timeout_ns);
}

int membridge_view_lock_write(struct membridge_view *view, int64_t timeout_ns)
{
	return lock(view, true, timeout_ns);
}

int membridge_view_unlock(struct membridge_view *view)
{
	enum held held = view->held;

	view->held = HELD_NONE;
	switch (held) {
	case HELD_READ:
		return mb_rwlock_unlock_read(&view->lock);
	case HELD_WRITE:
		return mb_rwlock_unlock_write(&view->lock);
	case HELD_NONE:
	default:
		return -ENOLCK;
	}
}

int membridge_view_break_lock(struct membridge_view *view, unsigned flags)
{
	if (flags & ~MEMBRIDGE_BREAK_FORCE)
		return -EINVAL;
	return mb_rwlock_break(&view->lock, flags);
}

/* Enter the critical section a data call needs, unless the view is already
 * inside one that covers it. *took tells end_access() what to release. */
static int begin_access(struct membridge_view *view, bool write, bool *took)
{
	int ret;

	*took = false;
	if (view->held == HELD_WRITE || (view->held == HELD_READ && !write))
		return 0;
	if (view->held == HELD_READ)
		return -EDEADLK; /* a write inside a read section */
	ret = lock(view, write, view->timeout_ns);
	*took = ret == 0;
	return ret;
}

static int end_access(struct membridge_view *view, bool took, int ret)
{
	int unlocked;

	if (!took)
		return ret;
	unlocked = membridge_view_unlock(view);
	return ret < 0 ? ret : unlocked;
}

int membridge_view_write(struct membridge_view *view, size_t offset,
			 const struct membridge_value *values, size_t count)
{
	size_t len, start;
	bool took;
	int ret = membridge_encoded_size(values, count, &len);

	if (ret < 0 || (ret = place(view, offset, len, &start)) < 0)
		return ret;
	ret = begin_access(view, true, &took);
	if (ret < 0)
		return ret;
	ret = membridge_encode(view->data + start, len, values, count, NULL);
	ret = end_access(view, took, ret);
	if (ret == 0)
		advance(view, offset, start + len);
	return ret;
}

int membridge_view_read(struct membridge_view *view, size_t offset, enum membridge_type type,
			struct membridge_value *value, void *buf, size_t cap)
{
	size_t start, pos;
	bool took;
	int ret;

	if (!value || type == MEMBRIDGE_BYTES || mb_scalar_size(type) == 0)
		return -EINVAL;
	ret = place(view, offset, mb_scalar_size(type), &start);
	if (ret < 0 || (ret = begin_access(view, false, &took)) < 0)
		return ret;
	pos = start;
	ret = membridge_decode(view->data, view->size, &pos, type, value);
	if (ret == -ENODATA) {
		ret = -ERANGE; /* a str length running past the data area */
	} else if (ret == 0 && type == MEMBRIDGE_STR) {
		if (value->as.buf.len > cap || (!buf && value->as.buf.len)) {
			value->as.buf.ptr = NULL;
			ret = -ENOBUFS;
		} else {
			if (value->as.buf.len)
				memcpy(buf, value->as.buf.ptr, value->as.buf.len);
			value->as.buf.ptr = buf;
		}
	}
	ret = end_access(view, took, ret);
	if (ret == 0)
		advance(view, offset, pos);
	return ret;
}

/* Copy len bytes between buf and the data area at offset (or the cursor). */
static int transfer(struct membridge_view *view, size_t offset, void *buf, size_t len, bool write)
{
	size_t start;
	bool took;
	int ret;

	if (len && !buf)
		return -EINVAL;
	ret = place(view, offset, len, &start);
	if (ret < 0 || (ret = begin_access(view, write, &took)) < 0)
		return ret;
	if (len && write)
		memcpy(view->data + start, buf, len);
	else if (len)
		memcpy(buf, view->data + start, len);
	ret = end_access(view, took, 0);
	if (ret == 0)
		advance(view, offset, start + len);
	return ret;
}

int membridge_view_write_bytes(struct membridge_view *view, size_t offset, const void *buf,
			       size_t len)
{
	return transfer(view, offset, (void *)(uintptr_t)buf, len, true);
}

int membridge_view_read_bytes(struct membridge_view *view, size_t offset, void *buf, size_t len)
{
	return transfer(view, offset, buf, len, false);
}

int membridge_view_zero(struct membridge_view *view)
{
	bool took;
	int ret = begin_access(view, true, &took);

	if (ret < 0)
		return ret;
	memset(view->data, 0, view->size);
	return end_access(view, took, 0);
}

int membridge_view_reader_count(const struct membridge_view *view)
{
	int32_t v = atomic_load_explicit(view->lock.word, memory_order_relaxed);

	return v > 0 ? v & ~MB_RWLOCK_WRITER_WAITING : 0;
}

bool membridge_view_is_write_locked(const struct membridge_view *view)
{
	return atomic_load_explicit(view->lock.word, memory_order_relaxed) < 0;
}
