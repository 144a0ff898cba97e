/* SPDX-License-Identifier: MIT */
/* Named segments: validation of names and sizes, creation modes, lifetime. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { COMPANION_NONE, COMPANION_OPENING, COMPANION_MAPPED, COMPANION_FAILED };

/* How often a thread re-looks while another thread of the process opens the
 * companion (a few system calls). */
#define COMPANION_POLL_NS INT64_C(10000)

/* Every segment has its companion, whose name is the longer one. */
_Static_assert(MEMBRIDGE_NAME_MAX + sizeof(MEMBRIDGE_COMPANION_SUFFIX) - 1 <= MB_SHM_NAME_MAX,
	       "a name and the companion's suffix fit in an shm_open name");

int membridge_name_check(const char *name)
{
	size_t len, suffix = strlen(MEMBRIDGE_COMPANION_SUFFIX);

	if (!name || name[0] != '/' || name[1] == '\0')
		return -EINVAL;
	len = strnlen(name, MEMBRIDGE_NAME_MAX + 1);
	if (len > MEMBRIDGE_NAME_MAX)
		return -ENAMETOOLONG;
	if (strchr(name + 1, '/') || !strcmp(name, "/.") || !strcmp(name, "/.."))
		return -EINVAL;
	/* Companion names belong to the library. */
	if (len > suffix && !strcmp(name + len - suffix, MEMBRIDGE_COMPANION_SUFFIX))
		return -EINVAL;
	return 0;
}

/* "<name>.membridge-wait"; buf holds MEMBRIDGE_NAME_MAX + suffix + 1 bytes. */
static void companion_name(const char *name, char *buf)
{
	strcpy(buf, name);
	strcat(buf, MEMBRIDGE_COMPANION_SUFFIX);
}

#define COMPANION_NAME_SIZE (MEMBRIDGE_NAME_MAX + sizeof(MEMBRIDGE_COMPANION_SUFFIX))

static int remove_both(const char *name)
{
	char companion[COMPANION_NAME_SIZE];
	int ret = mb_os_remove(name);

	companion_name(name, companion);
	mb_os_remove(companion); /* may never have been made */
	return ret;
}

static struct membridge_segment *segment_new(const char *name)
{
	size_t len = strlen(name) + 1;
	struct membridge_segment *seg = calloc(1, sizeof(*seg) + len);

	if (seg) {
		memcpy(seg->name, name, len);
		atomic_init(&seg->refs, 1);
	}
	return seg;
}

/* How long CREATE_ATTACH keeps retrying while a racing creator is between
 * making the segment and sizing it, or a peer removes it under us. */
#define ATTACH_PATIENCE_NS INT64_C(1000000000)
#define ATTACH_RETRY_NS INT64_C(100000)

/* Create exclusively, or open the existing segment for CREATE_ATTACH. */
static int create_or_attach(struct membridge_segment *seg, size_t size, unsigned mode,
			    unsigned flags)
{
	int64_t deadline = mb_deadline(ATTACH_PATIENCE_NS);
	int ret;

	if (flags & MEMBRIDGE_CREATE_REPLACE) {
		ret = remove_both(seg->name);
		if (ret < 0 && ret != -ENOENT)
			return ret;
	}
	for (;;) {
		ret = mb_os_create(seg->name, size, mode, &seg->map);
		seg->creator = ret == 0;
		if (ret != -EEXIST || !(flags & MEMBRIDGE_CREATE_ATTACH))
			return ret;
		ret = mb_os_open(seg->name, size, &seg->map);
		if ((ret != -ENOENT && ret != -EAGAIN) || mb_os_now_ns() >= deadline)
			return ret;
		mb_os_sleep(ATTACH_RETRY_NS);
	}
}

int membridge_segment_create(const char *name, size_t size, unsigned mode, unsigned flags,
			     struct membridge_segment **segp)
{
	struct membridge_segment *seg;
	int ret = membridge_name_check(name);

	if (ret < 0)
		return ret;
	if (!segp || size == 0 || mode > 0777 || (flags & ~MEMBRIDGE_CREATE_FLAGS) ||
	    (flags & MEMBRIDGE_CREATE_REPLACE && flags & MEMBRIDGE_CREATE_ATTACH))
		return -EINVAL;
	seg = segment_new(name);
	if (!seg)
		return -ENOMEM;
	ret = create_or_attach(seg, size, mode ? mode : MEMBRIDGE_MODE_DEFAULT, flags);
	if (ret < 0) {
		free(seg);
		return ret;
	}
	*segp = seg;
	return 0;
}

int membridge_segment_open(const char *name, size_t size, struct membridge_segment **segp)
{
	struct membridge_segment *seg;
	int ret = membridge_name_check(name);

	if (ret < 0)
		return ret;
	if (!segp)
		return -EINVAL;
	seg = segment_new(name);
	if (!seg)
		return -ENOMEM;
	ret = mb_os_open(name, size, &seg->map);
	if (ret < 0) {
		free(seg);
		return ret;
	}
	*segp = seg;
	return 0;
}

int membridge_segment_remove(const char *name)
{
	int ret = membridge_name_check(name);

	return ret < 0 ? ret : remove_both(name);
}

void mb_segment_ref(struct membridge_segment *seg)
{
	atomic_fetch_add_explicit(&seg->refs, 1, memory_order_relaxed);
}

void mb_segment_unref(struct membridge_segment *seg)
{
	if (atomic_fetch_sub_explicit(&seg->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (atomic_load_explicit(&seg->companion_state, memory_order_acquire) == COMPANION_MAPPED)
		mb_os_unmap(&seg->companion);
	mb_os_unmap(&seg->map);
	free(seg);
}

void membridge_segment_close(struct membridge_segment *seg)
{
	if (seg)
		mb_segment_unref(seg);
}

struct mb_waitblock *mb_segment_waitblock(struct membridge_segment *seg)
{
	char name[COMPANION_NAME_SIZE];
	int state = COMPANION_NONE;

	if (atomic_compare_exchange_strong_explicit(&seg->companion_state, &state,
						    COMPANION_OPENING, memory_order_acquire,
						    memory_order_acquire)) {
		companion_name(seg->name, name);
		state = mb_os_open_or_create(name, MB_WAITBLOCK_SIZE, seg->map.mode,
					     &seg->companion) == 0
			? COMPANION_MAPPED : COMPANION_FAILED;
		atomic_store_explicit(&seg->companion_state, state, memory_order_release);
	}
	while (state == COMPANION_OPENING) {
		mb_os_sleep(COMPANION_POLL_NS);
		state = atomic_load_explicit(&seg->companion_state, memory_order_acquire);
	}
	return state == COMPANION_MAPPED ? seg->companion.base : NULL;
}

const char *membridge_segment_name(const struct membridge_segment *seg)
{
	return seg->name;
}

size_t membridge_segment_size(const struct membridge_segment *seg)
{
	return seg->map.size;
}

void *membridge_segment_data(const struct membridge_segment *seg)
{
	return seg->map.base;
}

bool membridge_segment_is_creator(const struct membridge_segment *seg)
{
	return seg->creator;
}
