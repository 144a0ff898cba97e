/* SPDX-License-Identifier: MIT */
/* Example: the whole libmembridge C API tour in one process (a view, then a ring). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <membridge.h>

/*
 * Every membridge call returns 0 (or a documented non-negative value) on
 * success and a negative errno value on failure. TRY() runs one call, and on
 * failure prints which call failed and why, then jumps to the cleanup code.
 */
#define TRY(call)							\
	do {								\
		ret = (call);						\
		if (ret < 0) {						\
			fprintf(stderr, "single_process: %s failed: %s\n", \
				#call, membridge_strerror(ret));	\
			goto out;					\
		}							\
	} while (0)

/* Shorthands for the tagged values the view and codec calls take. */
static struct membridge_value str_value(const char *s)
{
	struct membridge_value v = { .type = MEMBRIDGE_STR };

	v.as.buf.ptr = s;
	v.as.buf.len = strlen(s);
	return v;
}

static struct membridge_value i64_value(int64_t i)
{
	return (struct membridge_value){ .type = MEMBRIDGE_I64, .as.i64 = i };
}

static struct membridge_value f64_value(double d)
{
	return (struct membridge_value){ .type = MEMBRIDGE_F64, .as.f64 = d };
}

static struct membridge_value bool_value(bool b)
{
	return (struct membridge_value){ .type = MEMBRIDGE_BOOL, .as.b = b };
}

/* The view part: typed writes and reads, with the cursor and with offsets. */
static int view_demo(const char *name)
{
	struct membridge_segment *seg = NULL;
	struct membridge_view *view = NULL;
	struct membridge_value v, group[3];
	char text[64];
	size_t off_int, off_group, off_end;
	int ret;

	/* 4096 bytes: 4 for the lock word, 4092 of data. Mode 0 means 0600. */
	TRY(membridge_segment_create(name, 4096, 0, MEMBRIDGE_CREATE_EXCLUSIVE, &seg));
	TRY(membridge_view_open(seg, &view));
	printf("view: created %s, %zu data bytes\n", membridge_segment_name(seg),
	       membridge_view_size(view));

	/* Writes at MEMBRIDGE_CURSOR go back to back and advance the cursor.
	 * Each call takes and releases the write lock by itself. */
	v = str_value("hello, shared memory");
	TRY(membridge_view_write(view, MEMBRIDGE_CURSOR, &v, 1));
	off_int = membridge_view_tell(view); /* 4-byte length + 20 bytes = 24 */
	v = i64_value(-1234567890123);
	TRY(membridge_view_write(view, MEMBRIDGE_CURSOR, &v, 1));
	v = f64_value(3.14159);
	TRY(membridge_view_write(view, MEMBRIDGE_CURSOR, &v, 1));
	v = bool_value(true);
	TRY(membridge_view_write(view, MEMBRIDGE_CURSOR, &v, 1));

	/* A mixed group: several values encoded back to back in one call. */
	off_group = membridge_view_tell(view);
	group[0] = str_value("sensor-7");
	group[1] = f64_value(21.5);
	group[2] = bool_value(false);
	TRY(membridge_view_write(view, MEMBRIDGE_CURSOR, group, 3));
	off_end = membridge_view_tell(view);
	printf("view: wrote str, int64, double, bool and a group of 3 (%zu bytes)\n", off_end);

	/* Read back in the same order, starting the cursor over at 0. A str is
	 * copied into our buffer; v.as.buf points at it (not NUL-terminated). */
	TRY(membridge_view_seek(view, 0));
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &v, text, sizeof(text)));
	printf("view: cursor read str    \"%.*s\"\n", (int)v.as.buf.len, text);
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_I64, &v, NULL, 0));
	printf("view: cursor read int64  %" PRId64 "\n", v.as.i64);
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_F64, &v, NULL, 0));
	printf("view: cursor read double %g\n", v.as.f64);
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_BOOL, &v, NULL, 0));
	printf("view: cursor read bool   %s\n", v.as.b ? "true" : "false");

	/* Explicit offsets neither use nor move the cursor. */
	TRY(membridge_view_read(view, off_int, MEMBRIDGE_I64, &v, NULL, 0));
	printf("view: int64 at offset %zu is %" PRId64 "\n", off_int, v.as.i64);
	if (v.as.i64 != -1234567890123) {
		fprintf(stderr, "single_process: read back the wrong int64\n");
		ret = -1;
		goto out;
	}

	/* Several reads under one read lock: a consistent snapshot of the
	 * group even if another process were writing it concurrently. */
	TRY(membridge_view_lock_read(view, MEMBRIDGE_DEFAULT_LOCK_TIMEOUT));
	TRY(membridge_view_seek(view, off_group));
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_STR, &group[0], text,
				sizeof(text)));
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_F64, &group[1], NULL, 0));
	TRY(membridge_view_read(view, MEMBRIDGE_CURSOR, MEMBRIDGE_BOOL, &group[2], NULL, 0));
	TRY(membridge_view_unlock(view));
	printf("view: group at offset %zu is (\"%.*s\", %g, %s), cursor now at %zu\n",
	       off_group, (int)group[0].as.buf.len, text, group[1].as.f64,
	       group[2].as.b ? "true" : "false", membridge_view_tell(view));
	ret = 0;
out:
	/* close() releases a lock the view still holds; both accept NULL. */
	membridge_view_close(view);
	if (seg) {
		membridge_segment_close(seg);
		/* Segments outlive processes: remove the name when done. */
		if (membridge_segment_remove(name) == 0)
			printf("view: removed %s\n", name);
	}
	return ret;
}

/* The ring part: frames in, frames out, first in first out. */
static int ring_demo(const char *name)
{
	static const char *const words[] = { "alpha", "bravo", "charlie", "delta" };
	struct membridge_segment *seg = NULL;
	struct membridge_spsc *ring = NULL;
	struct membridge_value rec[2];
	unsigned char buf[128];
	size_t i, len, pos;
	int ret;

	/* A ring segment is a 24-byte header plus a power-of-two data area. */
	TRY(membridge_segment_create(name, 1024 + MEMBRIDGE_SPSC_HEADER, 0,
				     MEMBRIDGE_CREATE_EXCLUSIVE, &seg));
	TRY(membridge_spsc_open(seg, &ring));
	printf("ring: created %s, capacity %zu bytes\n", name, membridge_spsc_capacity(ring));

	/* Plain byte messages. MEMBRIDGE_NO_WAIT returns -EAGAIN if full. */
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		TRY(membridge_spsc_push(ring, words[i], strlen(words[i]), MEMBRIDGE_NO_WAIT));
		printf("ring: pushed \"%s\"\n", words[i]);
	}

	/* A structured message: encode typed values into one payload. */
	rec[0] = str_value("temperature");
	rec[1] = f64_value(36.6);
	TRY(membridge_encode(buf, sizeof(buf), rec, 2, &len));
	TRY(membridge_spsc_push(ring, buf, len, MEMBRIDGE_NO_WAIT));
	printf("ring: pushed an encoded (str, double) record of %zu bytes\n", len);
	TRY(membridge_spsc_used(ring, &len));
	printf("ring: %zu bytes in use (4-byte frame header per message)\n", len);

	/* Pop the plain messages: they come out in the order they went in. */
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		TRY(membridge_spsc_pop(ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
		printf("ring: popped \"%.*s\"\n", (int)len, (const char *)buf);
		if (len != strlen(words[i]) || memcmp(buf, words[i], len) != 0) {
			fprintf(stderr, "single_process: ring returned the wrong message\n");
			ret = -1;
			goto out;
		}
	}

	/* Pop and decode the record. A decoded str points into buf. */
	TRY(membridge_spsc_pop(ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT));
	pos = 0;
	TRY(membridge_decode(buf, len, &pos, MEMBRIDGE_STR, &rec[0]));
	TRY(membridge_decode(buf, len, &pos, MEMBRIDGE_F64, &rec[1]));
	printf("ring: popped record (\"%.*s\", %g)\n", (int)rec[0].as.buf.len,
	       (const char *)rec[0].as.buf.ptr, rec[1].as.f64);

	/* Now the ring is empty: a non-blocking pop says -EAGAIN. */
	ret = membridge_spsc_pop(ring, buf, sizeof(buf), &len, MEMBRIDGE_NO_WAIT);
	if (ret != -EAGAIN) {
		fprintf(stderr, "single_process: expected an empty ring, got %d (%s)\n", ret,
			membridge_strerror(ret));
		ret = -1;
		goto out;
	}
	printf("ring: empty now (a non-blocking pop returns -EAGAIN)\n");
	ret = 0;
out:
	membridge_spsc_close(ring);
	if (seg) {
		membridge_segment_close(seg);
		/* Also removes the ring's companion "<name>.membridge-wait". */
		if (membridge_segment_remove(name) == 0)
			printf("ring: removed %s\n", name);
	}
	return ret;
}

int main(void)
{
	char view_name[64], ring_name[64];

	/* Put the pid in the names so that two copies never collide. */
	/* Short enough for macOS (16 bytes): pids have at most 7 digits. */
	snprintf(view_name, sizeof(view_name), "/mb-view-%u", (unsigned)getpid() % 10000000u);
	snprintf(ring_name, sizeof(ring_name), "/mb-ring-%u", (unsigned)getpid() % 10000000u);
	printf("libmembridge %s\n", membridge_version());

	if (view_demo(view_name) < 0 || ring_demo(ring_name) < 0)
		return EXIT_FAILURE;
	printf("single_process: all done\n");
	return EXIT_SUCCESS;
}
