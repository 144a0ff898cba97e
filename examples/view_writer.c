/* SPDX-License-Identifier: MIT */
/* Example: write a few records into a named view for view_reader to read. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#endif

#include <membridge.h>

/*
 * Layout of the data area, shared with view_reader.c:
 *   offset 0: int64 record count, 0 while the records are not complete
 *   offset 8: the records, back to back, each a str name, an int64 id,
 *             a double reading and a bool "ok" flag.
 * The count is written in the same write-locked section as the records, so
 * a reader that sees a non-zero count under a read lock sees all of them.
 */
#define SEGMENT_SIZE 4096
/* Windows: how long the writer keeps its segment open for readers. */
#define LINGER_S 2
#define RECORDS_AT 8

struct record {
	const char *name;
	int64_t id;
	double reading;
	bool ok;
};

static const struct record records[] = {
	{ "boiler", 101, 78.25, true },
	{ "pump", 102, 3.5, true },
	{ "valve", 103, -1.0, false },
};

static int write_records(struct membridge_view *view)
{
	struct membridge_value v[4];
	size_t i;
	int ret;

	/* Records go at the cursor, which starts after the count. */
	ret = membridge_view_seek(view, RECORDS_AT);
	for (i = 0; ret == 0 && i < sizeof(records) / sizeof(records[0]); i++) {
		v[0].type = MEMBRIDGE_STR;
		v[0].as.buf.ptr = records[i].name;
		v[0].as.buf.len = strlen(records[i].name);
		v[1].type = MEMBRIDGE_I64;
		v[1].as.i64 = records[i].id;
		v[2].type = MEMBRIDGE_F64;
		v[2].as.f64 = records[i].reading;
		v[3].type = MEMBRIDGE_BOOL;
		v[3].as.b = records[i].ok;
		ret = membridge_view_write(view, MEMBRIDGE_CURSOR, v, 4);
	}
	if (ret < 0)
		return ret;
	/* Last, the count at its fixed offset: the records are now complete. */
	v[0].type = MEMBRIDGE_I64;
	v[0].as.i64 = (int64_t)i;
	return membridge_view_write(view, 0, v, 1);
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "/mb-view-demo";
	struct membridge_segment *seg = NULL;
	struct membridge_view *view = NULL;
	int ret, unlocked;

	/* REPLACE: start from a fresh, zero-filled segment even if an old one
	 * with this name is still around. (A real program would rather use
	 * MEMBRIDGE_CREATE_EXCLUSIVE and report -EEXIST.) */
	ret = membridge_segment_create(name, SEGMENT_SIZE, 0, MEMBRIDGE_CREATE_REPLACE, &seg);
	if (ret < 0) {
		fprintf(stderr, "view_writer: cannot create %s: %s\n", name,
			membridge_strerror(ret));
		return EXIT_FAILURE;
	}
	ret = membridge_view_open(seg, &view);
	if (ret < 0) {
		fprintf(stderr, "view_writer: cannot open a view: %s\n", membridge_strerror(ret));
		goto out;
	}

	/* One explicit write lock around all the writes: a reader sees either
	 * none of them or all of them. The data calls made while the view holds
	 * the lock run inside this critical section. */
	ret = membridge_view_lock_write(view, MEMBRIDGE_DEFAULT_LOCK_TIMEOUT);
	if (ret < 0) {
		fprintf(stderr, "view_writer: cannot lock %s: %s\n", name,
			membridge_strerror(ret));
		goto out;
	}
	ret = write_records(view);
	unlocked = membridge_view_unlock(view);
	if (ret < 0 || unlocked < 0) {
		fprintf(stderr, "view_writer: writing %s failed: %s\n", name,
			membridge_strerror(ret < 0 ? ret : unlocked));
		ret = ret < 0 ? ret : unlocked;
		goto out;
	}
	printf("view_writer: wrote %zu records to %s\n", sizeof(records) / sizeof(records[0]),
	       name);
#ifdef _WIN32
	/* A Windows section lasts only while some process has it open: stay a
	 * little, so that a reader started before or just after us opens it. */
	printf("view_writer: the segment stays while a process has it open; waiting %d s"
	       " for view_reader %s\n", LINGER_S, name);
	fflush(stdout);
	Sleep(LINGER_S * 1000);
#else
	printf("view_writer: the segment stays until a reader removes it: view_reader %s\n",
	       name);
#endif
out:
	membridge_view_close(view);
	membridge_segment_close(seg);
	if (ret < 0) {
		/* Do not leave a half-written segment behind. */
		membridge_segment_remove(name);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
