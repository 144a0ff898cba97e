/* SPDX-License-Identifier: MIT */
/* Check suite for named segments, error strings and the version calls. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define COMPANION MEMBRIDGE_COMPANION_SUFFIX

struct child_args {
	const char *name;
	struct membridge_segment *seg;
	int start[2];
};

/* A pointer no constructor may hand out: out-pointers must keep it on failure. */
static char sentinel_byte;
#define SENTINEL ((struct membridge_segment *)(void *)&sentinel_byte)

/* Permission bits and size of `name` as the kernel sees them, or -errno. */
static int shm_stat(const char *name, unsigned *mode, size_t *size)
{
	struct stat st;
	int fd = shm_open(name, O_RDONLY, 0);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	if (mode)
		*mode = st.st_mode & 07777;
	if (size)
		*size = (size_t)st.st_size;
	return 0;
}

/* Whether /dev/shm holds `name` (given with its leading '/'). */
static bool shm_exists(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	return stat(path, &st) == 0;
}

static bool companion_exists(const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "/dev/shm%s%s", name, COMPANION);
	return stat(path, &st) == 0;
}

/* A unique name padded with 'x' to exactly `len` characters. */
static char *long_name(char *buf, size_t len)
{
	char base[MBT_NAME_SIZE];
	size_t n;

	mbt_name(base);
	n = strlen(base);
	ck_assert_uint_ge(len, n);
	memcpy(buf, base, n);
	memset(buf + n, 'x', len - n);
	buf[len] = '\0';
	return buf;
}

static bool all_zero(const void *p, size_t len)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return false;
	return true;
}

/* --------------------------------------------------------------- create */

START_TEST(create_default)
{
	struct membridge_segment *seg = NULL;
	char name[MBT_NAME_SIZE];
	unsigned mode;
	size_t size;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 4096, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &seg));
	ck_assert_ptr_nonnull(seg);
	ck_assert(membridge_segment_is_creator(seg));
	ck_assert_str_eq(membridge_segment_name(seg), name);
	ck_assert_uint_eq(membridge_segment_size(seg), 4096);
	ck_assert_ptr_nonnull(membridge_segment_data(seg));
	ck_assert(all_zero(membridge_segment_data(seg), 4096));
	mbt_assert_ok(shm_stat(name, &mode, &size));
	ck_assert_uint_eq(size, 4096);
	ck_assert_uint_eq(mode, 0600);
	/* The whole size is mapped and writable. */
	((unsigned char *)membridge_segment_data(seg))[4095] = 0x5a;
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	ck_assert(!shm_exists(name));
}
END_TEST

START_TEST(create_exclusive)
{
	struct membridge_segment *seg, *again = SENTINEL;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &seg));
	memcpy(membridge_segment_data(seg), "keep", 4);
	mbt_assert_ret(membridge_segment_create(name, 64, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &again),
		       -EEXIST);
	ck_assert_ptr_eq(again, SENTINEL);
	/* Another size or mode makes no difference. */
	mbt_assert_ret(membridge_segment_create(name, 128, 0644, MEMBRIDGE_CREATE_EXCLUSIVE,
						&again), -EEXIST);
	ck_assert_ptr_eq(again, SENTINEL);
	/* The existing segment was not touched. */
	ck_assert_mem_eq(membridge_segment_data(seg), "keep", 4);
	mbt_assert_ok(membridge_segment_remove(name));
	membridge_segment_close(seg);
}
END_TEST

START_TEST(create_replace)
{
	struct membridge_segment *old, *seg, *peer;
	char name[MBT_NAME_SIZE];
	unsigned mode;
	size_t size;

	mbt_name(name);
	/* Replace of a missing name just creates. */
	mbt_assert_ok(membridge_segment_create(name, 64, 0, MEMBRIDGE_CREATE_REPLACE, &old));
	ck_assert(membridge_segment_is_creator(old));
	memset(membridge_segment_data(old), 0xab, 64);

	mbt_assert_ok(membridge_segment_create(name, 256, 0640, MEMBRIDGE_CREATE_REPLACE, &seg));
	ck_assert(membridge_segment_is_creator(seg));
	ck_assert_uint_eq(membridge_segment_size(seg), 256);
	ck_assert(all_zero(membridge_segment_data(seg), 256));
	mbt_assert_ok(shm_stat(name, &mode, &size));
	ck_assert_uint_eq(size, 256);
	ck_assert_uint_eq(mode, 0640);
	/* The old handle keeps its own (now unnamed) segment. */
	ck_assert_uint_eq(((unsigned char *)membridge_segment_data(old))[63], 0xab);
	ck_assert_ptr_ne(membridge_segment_data(old), membridge_segment_data(seg));
	/* The name leads to the new one. */
	memcpy(membridge_segment_data(seg), "new", 3);
	mbt_assert_ok(membridge_segment_open(name, 0, &peer));
	ck_assert_uint_eq(membridge_segment_size(peer), 256);
	ck_assert_mem_eq(membridge_segment_data(peer), "new", 3);
	membridge_segment_close(peer);
	membridge_segment_close(old);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

START_TEST(create_attach)
{
	struct membridge_segment *first, *second, *third = SENTINEL;
	char name[MBT_NAME_SIZE];
	unsigned mode;

	mbt_name(name);
	/* Attach to a missing name creates it (default mode). */
	mbt_assert_ok(membridge_segment_create(name, 100, 0, MEMBRIDGE_CREATE_ATTACH, &first));
	ck_assert(membridge_segment_is_creator(first));
	ck_assert_uint_eq(membridge_segment_size(first), 100);
	mbt_assert_ok(shm_stat(name, &mode, NULL));
	ck_assert_uint_eq(mode, 0600);
	memcpy(membridge_segment_data(first), "first", 5);

	mbt_assert_ok(membridge_segment_create(name, 100, 0, MEMBRIDGE_CREATE_ATTACH, &second));
	ck_assert(!membridge_segment_is_creator(second));
	ck_assert_uint_eq(membridge_segment_size(second), 100);
	ck_assert_mem_eq(membridge_segment_data(second), "first", 5);
	memcpy((char *)membridge_segment_data(second) + 50, "second", 6);
	ck_assert_mem_eq((char *)membridge_segment_data(first) + 50, "second", 6);

	/* A different size is refused either way. */
	mbt_assert_ret(membridge_segment_create(name, 200, 0, MEMBRIDGE_CREATE_ATTACH, &third),
		       -EINVAL);
	mbt_assert_ret(membridge_segment_create(name, 99, 0, MEMBRIDGE_CREATE_ATTACH, &third),
		       -EINVAL);
	ck_assert_ptr_eq(third, SENTINEL);
	ck_assert_mem_eq(membridge_segment_data(first), "first", 5);

	membridge_segment_close(second);
	membridge_segment_close(first);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* Child: wait for the start signal, then create-or-attach. Exit status:
 * 0 attached or created, else the error code. */
static int child_attach(void *arg)
{
	const struct child_args *ca = arg;
	struct membridge_segment *seg;
	char go;
	int ret;

	close(ca->start[1]);
	if (read(ca->start[0], &go, 1) != 0)
		return 200;
	ret = membridge_segment_create(ca->name, 4096, 0, MEMBRIDGE_CREATE_ATTACH, &seg);
	if (ret < 0)
		return -ret;
	if (membridge_segment_size(seg) != 4096)
		return 201;
	membridge_segment_close(seg);
	return 0;
}

#define ATTACH_ROUNDS (mbt_under_valgrind() ? 10 : 150)

/* Several processes attaching at once: one creates, the others attach;
 * none may fail because another one is half-way through creating. */
START_TEST(create_attach_race)
{
	char name[MBT_NAME_SIZE];
	struct child_args ca;
	pid_t pids[4];
	int round, i, status, failures = 0, first = 0;

	ca.name = name;
	for (round = 0; round < ATTACH_ROUNDS; round++) {
		mbt_name(name);
		ck_assert_int_eq(pipe(ca.start), 0);
		for (i = 0; i < 4; i++)
			pids[i] = mbt_fork(child_attach, &ca);
		close(ca.start[0]);
		close(ca.start[1]); /* EOF: everybody goes */
		for (i = 0; i < 4; i++) {
			status = mbt_wait(pids[i]);
			if (status) {
				failures++;
				first = first ? first : status;
			}
		}
		mbt_assert_ok(membridge_segment_remove(name));
	}
	ck_assert_msg(failures == 0, "%d of %d attaches failed, the first with %d (%s)",
		      failures, ATTACH_ROUNDS * 4, -first, membridge_strerror(first));
}
END_TEST

START_TEST(create_bad_args)
{
	/* Both choices at once, then bits no version has defined yet. */
	static const unsigned bad_flags[] = {
		MEMBRIDGE_CREATE_REPLACE | MEMBRIDGE_CREATE_ATTACH,
		4, 0x10, 0x100, 0x80000000u, MEMBRIDGE_CREATE_ATTACH | 4,
		MEMBRIDGE_CREATE_REPLACE | 0x80000000u, UINT_MAX
	};
	static const unsigned bad_modes[] = { 01000, 01777, 02600, 04600, 07777, 0100000,
					      UINT_MAX };
	struct membridge_segment *seg = SENTINEL;
	char name[MBT_NAME_SIZE];
	size_t i;

	mbt_name(name);
	mbt_assert_ret(membridge_segment_create(name, 0, 0, 0, &seg), -EINVAL);
	mbt_assert_ret(membridge_segment_create(name, 0, 0, MEMBRIDGE_CREATE_ATTACH, &seg),
		       -EINVAL);
	mbt_assert_ret(membridge_segment_create(name, 0, 0, MEMBRIDGE_CREATE_REPLACE, &seg),
		       -EINVAL);
	for (i = 0; i < sizeof(bad_modes) / sizeof(bad_modes[0]); i++)
		ck_assert_msg(membridge_segment_create(name, 64, bad_modes[i], 0, &seg) == -EINVAL,
			      "mode %#o accepted", bad_modes[i]);
	for (i = 0; i < sizeof(bad_flags) / sizeof(bad_flags[0]); i++)
		ck_assert_msg(membridge_segment_create(name, 64, 0, bad_flags[i], &seg) == -EINVAL,
			      "flags %#x accepted", bad_flags[i]);
	mbt_assert_ret(membridge_segment_create(name, 64, 0, 0, NULL), -EINVAL);
	ck_assert_ptr_eq(seg, SENTINEL);
	/* None of them left anything behind. */
	ck_assert(!shm_exists(name));
	mbt_assert_ret(membridge_segment_open(name, 0, &seg), -ENOENT);
	ck_assert_ptr_eq(seg, SENTINEL);
}
END_TEST

/* A size that cannot be mapped fails without leaving a segment behind. */
START_TEST(create_too_big)
{
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX / 2 };
	struct membridge_segment *seg = SENTINEL;
	char name[MBT_NAME_SIZE];
	size_t i;
	int ret;

	mbt_name(name);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		ret = membridge_segment_create(name, sizes[i], 0, 0, &seg);
		ck_assert_msg(ret < 0, "size %zu: returned %d", sizes[i], ret);
		ck_assert_ptr_eq(seg, SENTINEL);
		ck_assert_msg(!shm_exists(name), "size %zu: segment left behind", sizes[i]);
	}
}
END_TEST

/* ----------------------------------------------------------------- modes */

START_TEST(mode_exact_despite_umask)
{
	static const struct {
		unsigned umask, mode, want;
	} cases[] = {
		{ 0, 0, 0600 },     { 0777, 0, 0600 },     { 0077, 0640, 0640 },
		{ 0022, 0666, 0666 }, { 0777, 0777, 0777 }, { 0, 0400, 0400 },
		{ 0, 0604, 0604 },  { 0022, 0600, 0600 },
	};
	struct membridge_segment *seg;
	char name[MBT_NAME_SIZE];
	mode_t saved = umask(0);
	unsigned mode;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mbt_name(name);
		umask((mode_t)cases[i].umask);
		mbt_assert_ok(membridge_segment_create(name, 64, cases[i].mode, 0, &seg));
		umask(saved);
		mbt_assert_ok(shm_stat(name, &mode, NULL));
		ck_assert_msg(mode == cases[i].want, "umask %#o mode %#o: got %#o, want %#o",
			      cases[i].umask, cases[i].mode, mode, cases[i].want);
		membridge_segment_close(seg);
		mbt_assert_ok(membridge_segment_remove(name));
	}
	umask(saved);
}
END_TEST

/* The companion "<name>.membridge-wait" gets the segment's mode, umask or not. */
START_TEST(mode_companion)
{
	struct membridge_segment *seg;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE], comp[MBT_NAME_SIZE + 32];
	mode_t saved;
	unsigned mode;

	mbt_name(name);
	snprintf(comp, sizeof(comp), "%s%s", name, COMPANION);
	saved = umask(0077);
	mbt_assert_ok(membridge_segment_create(name, 64, 0664, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	umask(saved);
	ck_assert(shm_exists(comp));
	mbt_assert_ok(shm_stat(comp, &mode, NULL));
	ck_assert_uint_eq(mode, 0664);
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	ck_assert(!shm_exists(comp));
}
END_TEST

/* ----------------------------------------------------------------- names */

static const char *const bad_names[] = {
	"", "noslash", "/", "/a/b", "//", "/a/", "/.", "/..", "a/b",
	"/x" COMPANION, "/" COMPANION, "/mbt" COMPANION,
};

#define N_BAD_NAMES (sizeof(bad_names) / sizeof(bad_names[0]))

START_TEST(name_invalid)
{
	const char *name = bad_names[_i];
	struct membridge_segment *seg = SENTINEL;
	int expected = mbt_refused_name_error(name);
	unsigned flags;

	for (flags = 0; flags <= MEMBRIDGE_CREATE_ATTACH; flags++)
		ck_assert_msg(membridge_segment_create(name, 64, 0, flags, &seg) == expected,
			      "create(\"%s\", flags %u) was not %d", name, flags, expected);
	ck_assert_msg(membridge_segment_open(name, 0, &seg) == expected,
		      "open(\"%s\") was not %d", name, expected);
	ck_assert_msg(membridge_segment_remove(name) == expected,
		      "remove(\"%s\") was not %d", name, expected);
	ck_assert_msg(membridge_name_check(name) == expected,
		      "name_check(\"%s\") was not %d", name, expected);
	ck_assert_ptr_eq(seg, SENTINEL);
}
END_TEST

START_TEST(name_null)
{
	struct membridge_segment *seg = SENTINEL;

	mbt_assert_ret(membridge_segment_create(NULL, 64, 0, 0, &seg), -EINVAL);
	mbt_assert_ret(membridge_segment_create(NULL, 64, 0, MEMBRIDGE_CREATE_ATTACH, &seg),
		       -EINVAL);
	mbt_assert_ret(membridge_segment_open(NULL, 0, &seg), -EINVAL);
	mbt_assert_ret(membridge_segment_remove(NULL), -EINVAL);
	mbt_assert_ret(membridge_name_check(NULL), -EINVAL);
	ck_assert_ptr_eq(seg, SENTINEL);
}
END_TEST

/* The longest name works everywhere, its companion included. */
START_TEST(name_max)
{
	char name[MEMBRIDGE_NAME_MAX + 1];
	struct membridge_segment *seg, *peer;
	struct membridge_view *view;

	long_name(name, MEMBRIDGE_NAME_MAX);
	mbt_assert_ok(membridge_name_check(name));
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &seg));
	ck_assert_str_eq(membridge_segment_name(seg), name);
	mbt_assert_ok(membridge_segment_open(name, 64, &peer));
	ck_assert_str_eq(membridge_segment_name(peer), name);
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert(companion_exists(name));
	/* The view can actually wait on its companion: a short timed lock. */
	mbt_assert_ok(membridge_view_lock_write(view, 1000000));
	mbt_assert_ok(membridge_view_unlock(view));
	membridge_view_close(view);
	membridge_segment_close(peer);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	ck_assert(!shm_exists(name));
	ck_assert(!companion_exists(name));
	mbt_assert_ret(membridge_segment_remove(name), -ENOENT);
}
END_TEST

START_TEST(name_too_long)
{
	char name[4097];
	struct membridge_segment *seg = SENTINEL;
	size_t lens[] = { MEMBRIDGE_NAME_MAX + 1, MEMBRIDGE_NAME_MAX + 2, 255, 256, 4096 };
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		long_name(name, lens[i]);
		ck_assert_msg(membridge_segment_create(name, 64, 0, 0, &seg) == -ENAMETOOLONG,
			      "create of a %zu-char name", lens[i]);
		ck_assert_msg(membridge_segment_create(name, 64, 0, MEMBRIDGE_CREATE_REPLACE,
						       &seg) == -ENAMETOOLONG,
			      "replace of a %zu-char name", lens[i]);
		ck_assert_msg(membridge_segment_open(name, 0, &seg) == -ENAMETOOLONG,
			      "open of a %zu-char name", lens[i]);
		ck_assert_msg(membridge_segment_remove(name) == -ENAMETOOLONG,
			      "remove of a %zu-char name", lens[i]);
		ck_assert_msg(membridge_name_check(name) == -ENAMETOOLONG,
			      "name_check of a %zu-char name", lens[i]);
	}
	ck_assert_ptr_eq(seg, SENTINEL);
}
END_TEST

/* Names that merely resemble a companion's are ordinary names. */
START_TEST(name_near_companion)
{
	/* The suffix is part of the on-disk naming that peers rely on. */
	ck_assert_str_eq(MEMBRIDGE_COMPANION_SUFFIX, ".membridge-wait");
	static const char *const tails[] = { ".membridge-wai", COMPANION "x", ".membridge",
					     "membridge-wait" };
	char name[MBT_NAME_SIZE + 32];
	struct membridge_segment *seg;
	size_t i;

	for (i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
		mbt_name(name);
		strcat(name, tails[i]);
		/* macOS's names are too short for these. */
		if (strlen(name) > MEMBRIDGE_NAME_MAX) {
			mbt_assert_ret(membridge_name_check(name), -ENAMETOOLONG);
			continue;
		}
		mbt_assert_ok(membridge_name_check(name));
		mbt_assert_ok(membridge_segment_create(name, 16, 0, 0, &seg));
		membridge_segment_close(seg);
		mbt_assert_ok(membridge_segment_remove(name));
	}
}
END_TEST

/* The handle keeps its own copy of the name. */
START_TEST(name_copied)
{
	struct membridge_segment *seg;
	char name[MBT_NAME_SIZE], copy[MBT_NAME_SIZE];

	mbt_name(name);
	strcpy(copy, name);
	mbt_assert_ok(membridge_segment_create(name, 16, 0, 0, &seg));
	memset(name, 'z', strlen(name));
	ck_assert_str_eq(membridge_segment_name(seg), copy);
	ck_assert_ptr_ne(membridge_segment_name(seg), name);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(copy));
}
END_TEST

/* ------------------------------------------------------------------ open */

START_TEST(open_missing)
{
	struct membridge_segment *seg = SENTINEL;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ret(membridge_segment_open(name, 0, &seg), -ENOENT);
	mbt_assert_ret(membridge_segment_open(name, 64, &seg), -ENOENT);
	ck_assert_ptr_eq(seg, SENTINEL);
	ck_assert(!shm_exists(name));
}
END_TEST

START_TEST(open_sizes)
{
	struct membridge_segment *seg, *peer = SENTINEL;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 1000, 0, 0, &seg));
	memcpy(membridge_segment_data(seg), "abc", 3);

	mbt_assert_ok(membridge_segment_open(name, 0, &peer));
	ck_assert_uint_eq(membridge_segment_size(peer), 1000);
	ck_assert(!membridge_segment_is_creator(peer));
	ck_assert_str_eq(membridge_segment_name(peer), name);
	ck_assert_mem_eq(membridge_segment_data(peer), "abc", 3);
	membridge_segment_close(peer);

	peer = SENTINEL;
	mbt_assert_ok(membridge_segment_open(name, 1000, &peer));
	ck_assert_uint_eq(membridge_segment_size(peer), 1000);
	ck_assert(!membridge_segment_is_creator(peer));
	membridge_segment_close(peer);

	peer = SENTINEL;
	mbt_assert_ret(membridge_segment_open(name, 999, &peer), -EINVAL);
	mbt_assert_ret(membridge_segment_open(name, 1001, &peer), -EINVAL);
	mbt_assert_ret(membridge_segment_open(name, 1, &peer), -EINVAL);
	mbt_assert_ret(membridge_segment_open(name, SIZE_MAX, &peer), -EINVAL);
	ck_assert_ptr_eq(peer, SENTINEL);
	mbt_assert_ret(membridge_segment_open(name, 0, NULL), -EINVAL);

	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* ---------------------------------------------------------------- remove */

START_TEST(remove_basic)
{
	struct membridge_segment *seg, *again;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &seg));
	memcpy(membridge_segment_data(seg), "still here", 10);
	mbt_assert_ok(membridge_segment_remove(name));
	ck_assert(!shm_exists(name));
	mbt_assert_ret(membridge_segment_remove(name), -ENOENT);
	mbt_assert_ret(membridge_segment_open(name, 0, &again), -ENOENT);
	/* The open handle keeps its mapping. */
	ck_assert_mem_eq(membridge_segment_data(seg), "still here", 10);
	/* The name is free again; the new segment is a different one. */
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &again));
	ck_assert(all_zero(membridge_segment_data(again), 64));
	ck_assert_mem_eq(membridge_segment_data(seg), "still here", 10);
	membridge_segment_close(again);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	mbt_assert_ret(membridge_segment_remove(name), -ENOENT);
}
END_TEST

START_TEST(remove_companion_view)
{
	struct membridge_segment *seg;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &seg));
	ck_assert(!companion_exists(name));
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert(companion_exists(name));
	membridge_view_close(view);
	membridge_segment_close(seg);
	/* Closing does not remove anything; remove takes both. */
	ck_assert(shm_exists(name));
	ck_assert(companion_exists(name));
	mbt_assert_ok(membridge_segment_remove(name));
	ck_assert(!shm_exists(name));
	ck_assert(!companion_exists(name));
}
END_TEST

START_TEST(remove_companion_ring)
{
	struct membridge_segment *seg;
	struct membridge_spsc *ring;
	char name[MBT_NAME_SIZE];
	size_t len;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64 + MEMBRIDGE_SPSC_HEADER, 0, 0, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &ring));
	/* A timed wait on an empty ring makes sure the companion is in use. */
	mbt_assert_ret(membridge_spsc_pop(ring, NULL, 0, &len, 1000000), -ETIMEDOUT);
	ck_assert(companion_exists(name));
	membridge_spsc_close(ring);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
	ck_assert(!shm_exists(name));
	ck_assert(!companion_exists(name));
}
END_TEST

/* Replacing a segment also drops its old companion. */
START_TEST(remove_companion_replace)
{
	struct membridge_segment *seg, *fresh;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	ck_assert(companion_exists(name));
	mbt_assert_ok(membridge_segment_create(name, 64, 0, MEMBRIDGE_CREATE_REPLACE, &fresh));
	ck_assert(!companion_exists(name));
	membridge_view_close(view);
	membridge_segment_close(seg);
	membridge_segment_close(fresh);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

START_TEST(close_null)
{
	membridge_segment_close(NULL);
	membridge_view_close(NULL);
	membridge_spsc_close(NULL);
}
END_TEST

/* ------------------------------------------------------------------ data */

START_TEST(data_two_handles)
{
	struct membridge_segment *a, *b;
	char name[MBT_NAME_SIZE];
	unsigned char *pa, *pb;
	size_t i;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 8192, 0, 0, &a));
	mbt_assert_ok(membridge_segment_open(name, 0, &b));
	pa = membridge_segment_data(a);
	pb = membridge_segment_data(b);
	ck_assert_ptr_ne(pa, pb);
	for (i = 0; i < 8192; i++)
		pa[i] = (unsigned char)(i * 7);
	for (i = 0; i < 8192; i++)
		ck_assert_uint_eq(pb[i], (unsigned char)(i * 7));
	pb[8191] = 1;
	pb[0] = 2;
	ck_assert_uint_eq(pa[8191], 1);
	ck_assert_uint_eq(pa[0], 2);
	membridge_segment_close(b);
	/* Closing one handle leaves the other intact. */
	ck_assert_uint_eq(pa[100], (unsigned char)700);
	membridge_segment_close(a);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST


/* Child: open by name, check the parent's bytes, answer with its own. */
static int child_reads_and_writes(void *arg)
{
	const struct child_args *ca = arg;
	struct membridge_segment *seg;
	unsigned char *p;

	if (membridge_segment_open(ca->name, 0, &seg) < 0)
		return 1;
	if (membridge_segment_is_creator(seg) || membridge_segment_size(seg) != 4096)
		return 2;
	p = membridge_segment_data(seg);
	if (memcmp(p, "from parent", 11))
		return 3;
	memcpy(p + 2048, "from child", 10);
	membridge_segment_close(seg);
	return 0;
}

/* Child: write through the mapping inherited across fork. */
static int child_writes_inherited(void *arg)
{
	const struct child_args *ca = arg;

	memcpy((char *)membridge_segment_data(ca->seg) + 4000, "inherited", 9);
	return 0;
}

START_TEST(data_other_process)
{
	struct membridge_segment *seg;
	char name[MBT_NAME_SIZE];
	struct child_args ca;
	unsigned char *p;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 4096, 0, 0, &seg));
	p = membridge_segment_data(seg);
	memcpy(p, "from parent", 11);
	ca.name = name;
	ca.seg = seg;
	ck_assert_int_eq(mbt_wait(mbt_fork(child_reads_and_writes, &ca)), 0);
	ck_assert_mem_eq(p + 2048, "from child", 10);
	ck_assert_int_eq(mbt_wait(mbt_fork(child_writes_inherited, &ca)), 0);
	ck_assert_mem_eq(p + 4000, "inherited", 9);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* Views and rings hold their own reference to the segment. */
START_TEST(close_segment_before_view)
{
	struct membridge_segment *seg, *peer;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE], out[5];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &view));
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_view_write_bytes(view, 10, "after", 5));
	mbt_assert_ok(membridge_view_read_bytes(view, 10, out, 5));
	ck_assert_mem_eq(out, "after", 5);
	mbt_assert_ok(membridge_view_lock_write(view, 1000000));
	mbt_assert_ok(membridge_view_unlock(view));
	mbt_assert_ok(membridge_segment_open(name, 0, &peer));
	ck_assert_mem_eq((char *)membridge_segment_data(peer) + 4 + 10, "after", 5);
	membridge_segment_close(peer);
	membridge_view_close(view);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

START_TEST(close_segment_before_ring)
{
	struct membridge_segment *seg;
	struct membridge_spsc *ring;
	char name[MBT_NAME_SIZE], out[16];
	size_t len = 0;

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64 + MEMBRIDGE_SPSC_HEADER, 0, 0, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &ring));
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_spsc_push(ring, "ping", 4, MEMBRIDGE_NO_WAIT));
	mbt_assert_ok(membridge_spsc_pop(ring, out, sizeof(out), &len, MEMBRIDGE_NO_WAIT));
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(out, "ping", 4);
	membridge_spsc_close(ring);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* Several views on one handle, the handle closed in the middle. */
START_TEST(close_segment_between_views)
{
	struct membridge_segment *seg;
	struct membridge_view *v1, *v2;
	char name[MBT_NAME_SIZE], out[3];

	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, 64, 0, 0, &seg));
	mbt_assert_ok(membridge_view_open(seg, &v1));
	mbt_assert_ok(membridge_view_open(seg, &v2));
	membridge_segment_close(seg);
	membridge_view_close(v1);
	mbt_assert_ok(membridge_view_write_bytes(v2, 0, "abc", 3));
	mbt_assert_ok(membridge_view_read_bytes(v2, 0, out, 3));
	ck_assert_mem_eq(out, "abc", 3);
	membridge_view_close(v2);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* ----------------------------------------------------------- permissions */

static int child_open_as_nobody(void *arg)
{
	const char *name = arg;
	struct membridge_segment *seg;
	int ret;

	if (setgid(65534) < 0 || setuid(65534) < 0)
		return 100;
	if (getuid() != 65534 || geteuid() != 65534)
		return 101;
	ret = membridge_segment_open(name, 0, &seg);
	if (ret < 0)
		return ret == -EACCES ? 10 : 11;
	/* Opened: prove it is usable, then report success. */
	memcpy(membridge_segment_data(seg), "nobody", 6);
	membridge_segment_close(seg);
	return 0;
}

START_TEST(permission_denied)
{
	struct membridge_segment *priv, *pub;
	char priv_name[MBT_NAME_SIZE], pub_name[MBT_NAME_SIZE];

	if (geteuid() != 0) {
		fprintf(stderr, "permission_denied: skipped, needs root to switch users\n");
		return;
	}
	mbt_name(priv_name);
	mbt_name(pub_name);
	mbt_assert_ok(membridge_segment_create(priv_name, 64, 0, 0, &priv));
	mbt_assert_ok(membridge_segment_create(pub_name, 64, 0666, 0, &pub));
	/* 10: the open failed with -EACCES. */
	ck_assert_int_eq(mbt_wait(mbt_fork(child_open_as_nobody, priv_name)), 10);
	ck_assert(all_zero(membridge_segment_data(priv), 64));
	ck_assert_int_eq(mbt_wait(mbt_fork(child_open_as_nobody, pub_name)), 0);
	ck_assert_mem_eq(membridge_segment_data(pub), "nobody", 6);
	membridge_segment_close(priv);
	membridge_segment_close(pub);
	mbt_assert_ok(membridge_segment_remove(priv_name));
	mbt_assert_ok(membridge_segment_remove(pub_name));
}
END_TEST

/* ------------------------------------------------------ errors, version */

static const int documented_errors[] = {
	EAGAIN, EBADMSG, EBUSY, EDEADLK, EEXIST, EILSEQ, EINTR, EINVAL, EMSGSIZE,
	ENOBUFS, ENODATA, ENOLCK, EOVERFLOW, EOWNERDEAD, EPERM, ERANGE, ESTALE,
	ETIMEDOUT, ENOENT, EACCES, ENAMETOOLONG,
};

#define N_DOCUMENTED (sizeof(documented_errors) / sizeof(documented_errors[0]))

START_TEST(strerror_documented)
{
	const char *text[N_DOCUMENTED];
	size_t i, j;

	for (i = 0; i < N_DOCUMENTED; i++) {
		int e = documented_errors[i];

		text[i] = membridge_strerror(-e);
		ck_assert_ptr_nonnull(text[i]);
		ck_assert_msg(text[i][0] != '\0', "empty text for %d", e);
		ck_assert_msg(strcmp(text[i], "unknown error"), "no text for errno %d (%s)", e,
			      strerror(e));
		ck_assert_ptr_nonnull(membridge_strerror(e));
		ck_assert_str_eq(membridge_strerror(e), text[i]);
	}
	/* Each code has its own description. */
	for (i = 0; i < N_DOCUMENTED; i++)
		for (j = i + 1; j < N_DOCUMENTED; j++)
			ck_assert_msg(strcmp(text[i], text[j]),
				      "errno %d and %d share the text \"%s\"",
				      documented_errors[i], documented_errors[j], text[i]);
}
END_TEST

START_TEST(strerror_unknown)
{
	static const int unknown[] = { 9999, -9999, 4242, -4242, 1000000, -1000000, INT_MAX,
				       -INT_MAX };
	size_t i;

	for (i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		ck_assert_ptr_nonnull(membridge_strerror(unknown[i]));
		ck_assert_str_eq(membridge_strerror(unknown[i]), "unknown error");
	}
}
END_TEST

/* INT_MIN is just another unknown code (its negation does not exist). */
START_TEST(strerror_int_min)
{
	ck_assert_str_eq(membridge_strerror(INT_MIN), "unknown error");
}
END_TEST

START_TEST(version)
{
	unsigned major, minor, patch;
	char tail;

	ck_assert_ptr_nonnull(membridge_version());
	ck_assert_str_eq(membridge_version(), MEMBRIDGE_VERSION_STRING);
	ck_assert_uint_eq(membridge_version_number(), MEMBRIDGE_VERSION_NUMBER);
	ck_assert_int_eq(sscanf(membridge_version(), "%u.%u.%u%c", &major, &minor, &patch,
				&tail), 3);
	ck_assert_uint_eq(membridge_version_number(), (major << 16) | (minor << 8) | patch);
	ck_assert_uint_eq(major, MEMBRIDGE_VERSION_MAJOR);
	ck_assert_uint_eq(minor, MEMBRIDGE_VERSION_MINOR);
	ck_assert_uint_eq(patch, MEMBRIDGE_VERSION_PATCH);
}
END_TEST

static Suite *segment_suite(void)
{
	Suite *s = suite_create("segment");
	TCase *tc;

	tc = tcase_create("create");
	tcase_add_test(tc, create_default);
	tcase_add_test(tc, create_exclusive);
	tcase_add_test(tc, create_replace);
	tcase_add_test(tc, create_attach);
	tcase_add_test(tc, create_attach_race);
	tcase_add_test(tc, create_bad_args);
	tcase_add_test(tc, create_too_big);
	tcase_add_test(tc, mode_exact_despite_umask);
	tcase_add_test(tc, mode_companion);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, name_invalid, 0, (int)N_BAD_NAMES);
	tcase_add_test(tc, name_null);
	tcase_add_test(tc, name_max);
	tcase_add_test(tc, name_too_long);
	tcase_add_test(tc, name_near_companion);
	tcase_add_test(tc, name_copied);
	suite_add_tcase(s, tc);

	tc = tcase_create("open_remove");
	tcase_add_test(tc, open_missing);
	tcase_add_test(tc, open_sizes);
	tcase_add_test(tc, remove_basic);
	tcase_add_test(tc, remove_companion_view);
	tcase_add_test(tc, remove_companion_ring);
	tcase_add_test(tc, remove_companion_replace);
	tcase_add_test(tc, close_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("data");
	tcase_add_test(tc, data_two_handles);
	tcase_add_test(tc, data_other_process);
	tcase_add_test(tc, close_segment_before_view);
	tcase_add_test(tc, close_segment_before_ring);
	tcase_add_test(tc, close_segment_between_views);
	tcase_add_test(tc, permission_denied);
	suite_add_tcase(s, tc);

	tc = tcase_create("misc");
	tcase_add_test(tc, strerror_documented);
	tcase_add_test(tc, strerror_unknown);
	tcase_add_test(tc, strerror_int_min);
	tcase_add_test(tc, version);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(segment_suite());
}
