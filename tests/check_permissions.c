/* SPDX-License-Identifier: MIT */
/* Check suite of segment permissions between users, and of names that try to leave /dev/shm. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers.h"

#define COMPANION MEMBRIDGE_COMPANION_SUFFIX
#define RING_CAP 256
#define RING_SIZE (RING_CAP + MEMBRIDGE_SPSC_HEADER)
#define VIEW_SIZE 64
#define WAIT_NS (2000 * MBT_MS)

/* nobody, and ids no account uses: a creator other than root and its group. */
#define NOBODY 65534
#define OWNER_UID 64101
#define SHARED_GID 64102

struct identity {
	uid_t uid;
	gid_t gid;
	gid_t extra;    /* one supplementary group, or... */
	bool has_extra; /* ...none at all */
};

static const struct identity nobody = { NOBODY, NOBODY, 0, false };
static const struct identity nobody_in_shared = { NOBODY, NOBODY, SHARED_GID, true };
static const struct identity owner = { OWNER_UID, SHARED_GID, 0, false };
static const struct identity stranger = { OWNER_UID, OWNER_UID, 0, false };

/* What a child works on. */
struct job {
	const char *name;
	const struct identity *as;
};

static bool need_root(const char *test)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "%s: skipped, needs root to act as other users\n", test);
	return false;
}

/* In a child: give up root for good (real, effective and saved ids, no
 * inherited supplementary groups) and take a strict umask. */
static void become(const struct identity *id)
{
	gid_t groups[1] = { id->extra };

	if (setgroups(id->has_extra ? 1 : 0, groups) < 0 ||
	    setresgid(id->gid, id->gid, id->gid) < 0 || setresuid(id->uid, id->uid, id->uid) < 0 ||
	    getuid() != id->uid || geteuid() != id->uid || getegid() != id->gid) {
		perror("switching user");
		_exit(100);
	}
	umask(0077);
}

/* In a child: stop with exit status `step` unless got == want. */
static void expect(int step, const char *what, int got, int want)
{
	if (got == want)
		return;
	fprintf(stderr, "uid %ld, step %d: %s returned %d (%s), expected %d (%s)\n",
		(long)getuid(), step, what, got, membridge_strerror(got), want,
		membridge_strerror(want));
	_exit(step);
}

/* -errno of opening the companion of `name` directly, read-write; 0 if it opens. */
static int companion_open(const char *name)
{
	char comp[MBT_NAME_SIZE + sizeof(COMPANION)];
	int fd;

	snprintf(comp, sizeof(comp), "%s%s", name, COMPANION);
	fd = shm_open(comp, O_RDWR, 0);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

/* Run fn(job) in a child and assert it reported success. */
static void run_child(int (*fn)(void *arg), struct job *job)
{
	int status = mbt_wait(mbt_fork(fn, job));

	ck_assert_msg(status == 0, "child (uid %ld) failed at step %d, see above",
		      (long)job->as->uid, status);
}

/* The file behind `name` (+ suffix) in /dev/shm. */
static void shm_stat(const char *name, const char *suffix, struct stat *st)
{
	char path[MBT_NAME_SIZE + 64];

	snprintf(path, sizeof(path), "/dev/shm%s%s", name, suffix);
	ck_assert_msg(stat(path, st) == 0, "%s: %s", path, strerror(errno));
}

static void assert_owner_mode(const char *name, const char *suffix, uid_t uid, gid_t gid,
			      unsigned mode)
{
	struct stat st;

	shm_stat(name, suffix, &st);
	ck_assert_msg((st.st_mode & 07777) == mode, "%s%s: mode %#o, expected %#o", name, suffix,
		      (unsigned)(st.st_mode & 07777), mode);
	ck_assert_uint_eq(st.st_uid, uid);
	ck_assert_uint_eq(st.st_gid, gid);
}

/* Push `msg` (a C string, without its NUL) on ring `q`, or pop it and
 * compare; return 0 or the failing call's result (children and parent). */
static int push_str(struct membridge_spsc *q, const char *msg)
{
	return membridge_spsc_push(q, msg, strlen(msg), WAIT_NS);
}

static int pop_str(struct membridge_spsc *q, const char *want)
{
	char buf[RING_CAP];
	size_t len;
	int ret = membridge_spsc_pop(q, buf, sizeof(buf), &len, WAIT_NS);

	if (ret < 0)
		return ret;
	return len == strlen(want) && !memcmp(buf, want, len) ? 0 : -EBADMSG;
}

/* -------------------------------------------------------- default mode */

/* Mode 0 means 0600 for the segment and its companion, whatever the umask. */
START_TEST(default_mode_is_0600)
{
	struct membridge_segment *ring_seg, *view_seg;
	char ring_name[MBT_NAME_SIZE], view_name[MBT_NAME_SIZE];
	struct membridge_spsc *q;
	struct membridge_view *view;
	mode_t saved = umask(0);

	mbt_name(ring_name);
	mbt_name(view_name);
	mbt_assert_ok(membridge_segment_create(ring_name, RING_SIZE, 0, 0, &ring_seg));
	mbt_assert_ok(membridge_segment_create(view_name, VIEW_SIZE, MEMBRIDGE_MODE_DEFAULT,
					       MEMBRIDGE_CREATE_ATTACH, &view_seg));
	mbt_assert_ok(membridge_spsc_open(ring_seg, &q));
	mbt_assert_ok(membridge_view_open(view_seg, &view));
	umask(saved);
	assert_owner_mode(ring_name, "", geteuid(), getegid(), 0600);
	assert_owner_mode(ring_name, COMPANION, geteuid(), getegid(), 0600);
	assert_owner_mode(view_name, "", geteuid(), getegid(), 0600);
	assert_owner_mode(view_name, COMPANION, geteuid(), getegid(), 0600);
	membridge_spsc_close(q);
	membridge_view_close(view);
	membridge_segment_close(ring_seg);
	membridge_segment_close(view_seg);
	mbt_assert_ok(membridge_segment_remove(ring_name));
	mbt_assert_ok(membridge_segment_remove(view_name));
}
END_TEST

/* ------------------------------------------------------ another user */

static int denied_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg = NULL;

	become(job->as);
	expect(1, "open", membridge_segment_open(job->name, 0, &seg), -EACCES);
	expect(2, "open with the size", membridge_segment_open(job->name, RING_SIZE, &seg),
	       -EACCES);
	expect(3, "create attach", membridge_segment_create(job->name, RING_SIZE, 0666,
							     MEMBRIDGE_CREATE_ATTACH, &seg),
	       -EACCES);
	expect(4, "create exclusive",
	       membridge_segment_create(job->name, RING_SIZE, 0666, 0, &seg), -EEXIST);
	/* /dev/shm is sticky: only the owner may unlink (or replace) it;
	 * shm_unlink() reports that as EACCES. */
	expect(5, "create replace", membridge_segment_create(job->name, RING_SIZE, 0666,
							      MEMBRIDGE_CREATE_REPLACE, &seg),
	       -EACCES);
	expect(6, "remove", membridge_segment_remove(job->name), -EACCES);
	expect(7, "companion open", companion_open(job->name), -EACCES);
	expect(8, "out-pointer untouched", seg == NULL, 1);
	return 0;
}

/* Another user gets -EACCES for a 0600 segment and its companion, and can
 * neither replace nor remove it: the ring still holds what it held. */
START_TEST(other_user_denied)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char name[MBT_NAME_SIZE];
	struct job job = { name, &nobody };

	if (!need_root("other_user_denied"))
		return;
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, RING_SIZE, 0, 0, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &q));
	mbt_assert_ok(push_str(q, "secret"));
	run_child(denied_main, &job);
	assert_owner_mode(name, "", 0, 0, 0600);
	assert_owner_mode(name, COMPANION, 0, 0, 0600);
	mbt_assert_ok(pop_str(q, "secret"));
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* ---------------------------------------------------- a granted mode */

static int ring_peer_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;

	become(job->as);
	expect(1, "open", membridge_segment_open(job->name, 0, &seg), 0);
	expect(2, "spsc_open", membridge_spsc_open(seg, &q), 0);
	expect(3, "pop", pop_str(q, "ping"), 0);
	expect(4, "push", push_str(q, "pong"), 0);
	expect(5, "companion open", companion_open(job->name), 0);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

/* 0666 asked under umask 077 stays 0666: nobody uses the ring both ways. */
START_TEST(granted_0666_ring)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char name[MBT_NAME_SIZE];
	struct job job = { name, &nobody };
	mode_t saved;

	if (!need_root("granted_0666_ring"))
		return;
	mbt_name(name);
	saved = umask(0077);
	mbt_assert_ok(membridge_segment_create(name, RING_SIZE, 0666, 0, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &q));
	umask(saved);
	assert_owner_mode(name, "", 0, 0, 0666);
	assert_owner_mode(name, COMPANION, 0, 0, 0666);
	mbt_assert_ok(push_str(q, "ping"));
	run_child(ring_peer_main, &job);
	mbt_assert_ok(pop_str(q, "pong"));
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

static int view_first_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg;
	struct membridge_view *view;

	become(job->as);
	expect(1, "open", membridge_segment_open(job->name, VIEW_SIZE, &seg), 0);
	expect(2, "view_open", membridge_view_open(seg, &view), 0);
	expect(3, "write", membridge_view_write_bytes(view, 0, "from nobody", 11), 0);
	membridge_view_close(view);
	membridge_segment_close(seg);
	return 0;
}

static int view_second_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg;
	struct membridge_view *view;
	char buf[11];

	become(job->as);
	expect(1, "open", membridge_segment_open(job->name, VIEW_SIZE, &seg), 0);
	expect(2, "view_open", membridge_view_open(seg, &view), 0);
	expect(3, "companion open", companion_open(job->name), 0);
	expect(4, "lock_write", membridge_view_lock_write(view, WAIT_NS), 0);
	expect(5, "read", membridge_view_read_bytes(view, 0, buf, sizeof(buf)), 0);
	expect(6, "what nobody wrote", memcmp(buf, "from nobody", sizeof(buf)), 0);
	expect(7, "write", membridge_view_write_bytes(view, 0, "from 64101", 10), 0);
	expect(8, "unlock", membridge_view_unlock(view), 0);
	membridge_view_close(view);
	membridge_segment_close(seg);
	return 0;
}

/* A third user can use a 0666 view whose companion another user created
 * (under umask 077): the companion gets the segment's mode, not the umask. */
START_TEST(granted_0666_view_companion)
{
	struct membridge_segment *seg;
	struct membridge_view *view;
	char name[MBT_NAME_SIZE], buf[10];
	struct job first = { name, &nobody }, second = { name, &stranger };

	if (!need_root("granted_0666_view_companion"))
		return;
	mbt_name(name);
	mbt_assert_ok(membridge_segment_create(name, VIEW_SIZE, 0666, 0, &seg));
	run_child(view_first_main, &first);
	assert_owner_mode(name, COMPANION, NOBODY, NOBODY, 0666);
	run_child(view_second_main, &second);
	mbt_assert_ok(membridge_view_open(seg, &view));
	mbt_assert_ok(membridge_view_read_bytes(view, 0, buf, sizeof(buf)));
	ck_assert_mem_eq(buf, "from 64101", sizeof(buf));
	mbt_assert_ret(membridge_view_reader_count(view), 0);
	ck_assert(!membridge_view_is_write_locked(view));
	membridge_view_close(view);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

static int group_creator_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;

	become(job->as);
	expect(1, "create", membridge_segment_create(job->name, RING_SIZE, 0660, 0, &seg), 0);
	expect(2, "spsc_open", membridge_spsc_open(seg, &q), 0);
	expect(3, "push", push_str(q, "to the group"), 0);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

static int group_member_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg;
	struct membridge_spsc *q;

	become(job->as);
	expect(1, "open", membridge_segment_open(job->name, RING_SIZE, &seg), 0);
	expect(2, "spsc_open", membridge_spsc_open(seg, &q), 0);
	expect(3, "companion open", companion_open(job->name), 0);
	expect(4, "pop", pop_str(q, "to the group"), 0);
	expect(5, "push", push_str(q, "from a member"), 0);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	return 0;
}

static int group_outsider_main(void *arg)
{
	const struct job *job = arg;
	struct membridge_segment *seg = NULL;

	become(job->as);
	expect(1, "open", membridge_segment_open(job->name, RING_SIZE, &seg), -EACCES);
	expect(2, "companion open", companion_open(job->name), -EACCES);
	return 0;
}

/* 0660 made by a non-root user: a member of its group gets in, others not. */
START_TEST(granted_0660_group)
{
	struct membridge_segment *seg;
	struct membridge_spsc *q;
	char name[MBT_NAME_SIZE];
	struct job creator = { name, &owner }, member = { name, &nobody_in_shared },
		   outsider = { name, &nobody };

	if (!need_root("granted_0660_group"))
		return;
	mbt_name(name);
	run_child(group_creator_main, &creator);
	assert_owner_mode(name, "", OWNER_UID, SHARED_GID, 0660);
	assert_owner_mode(name, COMPANION, OWNER_UID, SHARED_GID, 0660);
	run_child(group_outsider_main, &outsider);
	run_child(group_member_main, &member);
	mbt_assert_ok(membridge_segment_open(name, RING_SIZE, &seg));
	mbt_assert_ok(membridge_spsc_open(seg, &q));
	mbt_assert_ok(pop_str(q, "from a member"));
	mbt_assert_ret(membridge_spsc_is_empty(q), 1);
	membridge_spsc_close(q);
	membridge_segment_close(seg);
	mbt_assert_ok(membridge_segment_remove(name));
}
END_TEST

/* ------------------------------------------------------------- names */

/* How many entries of `dir` contain `token`. */
static int entries_with(const char *dir, const char *token)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += strstr(de->d_name, token) != NULL;
	closedir(d);
	return n;
}

static int entries_everywhere(const char *token)
{
	return entries_with("/dev/shm", token) + entries_with("/dev", token) +
	       entries_with("/tmp", token) + entries_with("/", token) + entries_with(".", token);
}

/* Names that try to leave /dev/shm (or are not names): -EINVAL for every
 * call and flag, and nothing appears anywhere; /etc/passwd stays as it was. */
START_TEST(names_cannot_traverse)
{
	char token[MBT_NAME_SIZE], names[9][2 * MBT_NAME_SIZE];
	struct membridge_segment *seg = NULL;
	struct stat before, after;
	unsigned flags;
	size_t i;

	mbt_name(token);
	memmove(token, token + 1, strlen(token)); /* the unique part, no '/' */
	snprintf(names[0], sizeof(names[0]), "/../%s", token);
	snprintf(names[1], sizeof(names[1]), "/../../tmp/%s", token);
	snprintf(names[2], sizeof(names[2]), "/%s/b", token);
	snprintf(names[3], sizeof(names[3]), "%s", token);
	snprintf(names[4], sizeof(names[4]), "//%s", token);
	snprintf(names[5], sizeof(names[5]), "/./%s", token);
	snprintf(names[6], sizeof(names[6]), "/%s/", token);
	snprintf(names[7], sizeof(names[7]), "/..");
	snprintf(names[8], sizeof(names[8]), "x");
	ck_assert_int_eq(entries_everywhere(token), 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int expected = mbt_refused_name_error(names[i]);

		for (flags = 0; flags <= MEMBRIDGE_CREATE_ATTACH; flags++)
			ck_assert_msg(membridge_segment_create(names[i], 64, 0666, flags, &seg) ==
				      expected, "create(\"%s\", flags %u) was not %d",
				      names[i], flags, expected);
		ck_assert_msg(membridge_segment_open(names[i], 0, &seg) == expected,
			      "open(\"%s\") was not %d", names[i], expected);
		ck_assert_msg(membridge_segment_remove(names[i]) == expected,
			      "remove(\"%s\") was not %d", names[i], expected);
	}
	ck_assert_ptr_null(seg);
	ck_assert_int_eq(entries_everywhere(token), 0);
	/* The classic target: refused by name, never opened, never replaced
	 * (remove is not tried on it: a bug there must not cost the file). */
	ck_assert_int_eq(stat("/etc/passwd", &before), 0);
	mbt_assert_ret(membridge_segment_open("/../etc/passwd", 0, &seg), -EINVAL);
	mbt_assert_ret(membridge_segment_create("/../etc/passwd", 64, 0, 0, &seg), -EINVAL);
	mbt_assert_ret(membridge_segment_create("/../../etc/passwd", 64, 0,
						MEMBRIDGE_CREATE_ATTACH, &seg),
		       mbt_refused_name_error("/../../etc/passwd"));
	ck_assert_int_eq(stat("/etc/passwd", &after), 0);
	ck_assert_uint_eq(after.st_ino, before.st_ino);
	ck_assert_int_eq(after.st_size, before.st_size);
	ck_assert_uint_eq(after.st_mode, before.st_mode);
	ck_assert_int_eq(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	ck_assert_int_eq(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	ck_assert_ptr_null(seg);
}
END_TEST

static Suite *permissions_suite(void)
{
	Suite *s = suite_create("permissions");
	TCase *tc = tcase_create("modes");

	tcase_add_test(tc, default_mode_is_0600);
	tcase_add_test(tc, other_user_denied);
	tcase_add_test(tc, granted_0666_ring);
	tcase_add_test(tc, granted_0666_view_companion);
	tcase_add_test(tc, granted_0660_group);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, names_cannot_traverse);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return mbt_run(permissions_suite());
}
