/* SPDX-License-Identifier: MIT */
/* libFuzzer target: segment name validation, checked against the documented rules. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz-common.h"

/*
 * Input: the name, up to its first NUL (at most 300 bytes). The rules, from
 * membridge_segment(3) and the README: '/' followed by at least one byte,
 * no other '/', at most MEMBRIDGE_NAME_MAX (240) bytes in all (longer:
 * -ENAMETOOLONG), not "/." or "/..", not ending in ".membridge-wait";
 * anything else invalid is -EINVAL. Which of the two a name breaking both
 * the length and another rule gets is not documented: either is accepted.
 *
 * The fuzzed name itself is only opened (a valid name may be somebody
 * else's segment: it is mapped and closed, never created or removed).
 * Creation and removal use the name behind this process's own prefix,
 * "/mbfuzz.<pid>.<name without its '/'>", and must make exactly the file
 * /dev/shm/<that name without its '/'>.
 */
#define MAX_INPUT 300
#define SUFFIX ".membridge-wait"

enum verdict { VALID, INVALID, TOO_LONG, TOO_LONG_AND_INVALID };

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static enum verdict judge(const char *name)
{
	size_t len = strlen(name), slen = strlen(SUFFIX), i;
	bool bad = false;

	if (len < 2 || name[0] != '/')
		bad = true;
	for (i = 1; i < len; i++)
		if (name[i] == '/')
			bad = true;
	if (!strcmp(name, "/.") || !strcmp(name, "/.."))
		bad = true;
	if (len >= slen && !memcmp(name + len - slen, SUFFIX, slen))
		bad = true;
	if (len > MEMBRIDGE_NAME_MAX)
		return bad ? TOO_LONG_AND_INVALID : TOO_LONG;
	return bad ? INVALID : VALID;
}

/* The return value fits the verdict. */
static void check_verdict(int ret, enum verdict v, const char *call, const char *name)
{
	bool ok;

	switch (v) {
	case VALID:
		ok = ret != -EINVAL && ret != -ENAMETOOLONG;
		break;
	case INVALID:
		ok = ret == -EINVAL;
		break;
	case TOO_LONG:
		ok = ret == -ENAMETOOLONG;
		break;
	default:
		ok = ret == -EINVAL || ret == -ENAMETOOLONG;
		break;
	}
	FZ_CHECK(ok, "%s(\"%s\") returned %d (%s), but the name is %s", call, name, ret,
		 membridge_strerror(ret),
		 v == VALID ? "valid" : v == INVALID ? "invalid" : "too long");
}

static int shm_stat(const char *name, struct stat *st)
{
	char path[MAX_INPUT + 64];

	snprintf(path, sizeof(path), "/dev/shm/%s", name + 1);
	return stat(path, st) == 0 ? 0 : -errno;
}

/* Create, look at and remove the prefixed name. */
static void create_own(const char *name)
{
	char own[MAX_INPUT + 64];
	struct membridge_segment *seg = NULL;
	struct stat st;
	enum verdict v;
	int ret;

	snprintf(own, sizeof(own), "%s%s", fz_name_prefix(), name[0] == '/' ? name + 1 : name);
	v = judge(own);
	ret = membridge_segment_create(own, 64, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &seg);
	check_verdict(ret, v, "membridge_segment_create", own);
	if (v != VALID) {
		FZ_CHECK(!seg, "a failed create filled the handle");
		if (!strchr(own + 1, '/')) {
			/* Nothing was made (a file name over 255 bytes cannot be). */
			ret = shm_stat(own, &st);
			FZ_CHECK(ret == -ENOENT || ret == -ENAMETOOLONG,
				 "a refused name exists: %d", ret);
		}
		return;
	}
	FZ_CHECK(ret == 0, "create(\"%s\") returned %d (%s)", own, ret, membridge_strerror(ret));
	FZ_CHECK(!strcmp(membridge_segment_name(seg), own), "the handle's name differs");
	FZ_CHECK_RET(shm_stat(own, &st), 0);
	FZ_CHECK(S_ISREG(st.st_mode) && st.st_size == 64 && (st.st_mode & 0777) == 0600,
		 "/dev/shm/%s: mode %o, size %lld", own + 1, (unsigned)st.st_mode,
		 (long long)st.st_size);
	membridge_segment_close(seg);
	FZ_CHECK_RET(membridge_segment_remove(own), 0);
	FZ_CHECK_RET(shm_stat(own, &st), -ENOENT);
	FZ_CHECK_RET(membridge_segment_remove(own), -ENOENT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[MAX_INPUT + 1];
	struct membridge_segment *seg = NULL;
	size_t len = size < MAX_INPUT ? size : MAX_INPUT;
	enum verdict v;
	int ret;

	memcpy(name, data, len);
	name[len] = '\0';
	v = judge(name);

	ret = membridge_segment_open(name, 0, &seg);
	check_verdict(ret, v, "membridge_segment_open", name);
	FZ_CHECK((ret == 0) == (seg != NULL), "open returned %d with handle %p", ret,
		 (void *)seg);
	membridge_segment_close(seg);
	if (v != VALID) {
		ret = membridge_segment_remove(name);
		check_verdict(ret, v, "membridge_segment_remove", name);
		seg = NULL;
		ret = membridge_segment_create(name, 64, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &seg);
		check_verdict(ret, v, "membridge_segment_create", name);
		FZ_CHECK(!seg, "a failed create filled the handle");
	}
	create_own(name);
	return 0;
}
