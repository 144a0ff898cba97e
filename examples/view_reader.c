/* SPDX-License-Identifier: MIT */
/* Example: read the records view_writer left in a named view, then remove it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <membridge.h>

/* The layout written by view_writer.c: an int64 count at offset 0 (0 until
 * the records are complete), then records of (str, int64, double, bool). */
#define RECORDS_AT 8
#define MAX_RECORDS 100

/* How long to wait for the writer: 500 tries, 10 ms apart. */
#define TRIES 500

static void pause_briefly(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Open the segment, waiting while the writer has not created it yet
 * (-ENOENT) or is still sizing it (-EAGAIN). */
static int open_segment(const char *name, struct membridge_segment **segp)
{
	int ret, i;

	for (i = 0; i < TRIES; i++) {
		ret = membridge_segment_open(name, 0, segp);
		if (ret != -ENOENT && ret != -EAGAIN)
			return ret;
		pause_briefly();
	}
	return ret;
}

/* One record at the cursor: its str lands in text, v[0].as.buf points there. */
static int read_record(struct membridge_view *view, struct membridge_value v[4], char *text,
		       size_t cap)
{
	static const enum membridge_type types[4] = {
		MEMBRIDGE_STR, MEMBRIDGE_I64, MEMBRIDGE_F64, MEMBRIDGE_BOOL
	};
	int i, ret;

	/* Cursor reads walk the fields in the order they were written. The
	 * buffer is only used for the str. */
	for (i = 0; i < 4; i++) {
		ret = membridge_view_read(view, MEMBRIDGE_CURSOR, types[i], &v[i], text, cap);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Under the read lock: print the records if they are complete. Returns the
 * number printed, 0 if the writer is not done yet, or a negative errno. */
static int print_records(struct membridge_view *view)
{
	struct membridge_value count, v[4];
	char text[64];
	int64_t i;
	int ret;

	ret = membridge_view_read(view, 0, MEMBRIDGE_I64, &count, NULL, 0);
	if (ret < 0 || count.as.i64 == 0)
		return ret;
	/* Shared memory is written by someone else: check before trusting. */
	if (count.as.i64 < 0 || count.as.i64 > MAX_RECORDS)
		return -EBADMSG;
	ret = membridge_view_seek(view, RECORDS_AT);
	for (i = 0; ret == 0 && i < count.as.i64; i++) {
		ret = read_record(view, v, text, sizeof(text));
		if (ret == 0)
			printf("view_reader: record %" PRId64 ": name=%.*s id=%" PRId64
			       " reading=%g ok=%s\n", i + 1, (int)v[0].as.buf.len, text,
			       v[1].as.i64, v[2].as.f64, v[3].as.b ? "true" : "false");
	}
	return ret < 0 ? ret : (int)count.as.i64;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "/mb-view-demo";
	struct membridge_segment *seg = NULL;
	struct membridge_view *view = NULL;
	int ret, unlocked, i;

	ret = open_segment(name, &seg);
	if (ret < 0) {
		fprintf(stderr, "view_reader: cannot open %s: %s\n", name,
			membridge_strerror(ret));
		return EXIT_FAILURE;
	}
	ret = membridge_view_open(seg, &view);
	if (ret < 0) {
		fprintf(stderr, "view_reader: cannot open a view: %s\n", membridge_strerror(ret));
		goto out;
	}

	/* The segment may exist before the writer has filled it: look under a
	 * read lock, and if the count is still 0 let go and try again. */
	for (i = 0; i < TRIES; i++) {
		ret = membridge_view_lock_read(view, MEMBRIDGE_DEFAULT_LOCK_TIMEOUT);
		if (ret < 0)
			break;
		ret = print_records(view);
		unlocked = membridge_view_unlock(view);
		if (ret >= 0 && unlocked < 0)
			ret = unlocked;
		if (ret != 0)
			break;
		pause_briefly();
	}
	if (ret == 0)
		ret = -ETIMEDOUT; /* the writer never finished */
	if (ret < 0)
		fprintf(stderr, "view_reader: reading %s failed: %s\n", name,
			membridge_strerror(ret));
	else
		printf("view_reader: read %d records from %s\n", ret, name);
out:
	membridge_view_close(view);
	membridge_segment_close(seg);
	/* This demo's reader owns the cleanup: remove the name either way. */
	if (membridge_segment_remove(name) == 0)
		printf("view_reader: removed %s\n", name);
	return ret < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
