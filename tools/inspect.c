/* SPDX-License-Identifier: MIT */
/*
 * Read-only inspection of segments. The tool maps a segment with PROT_READ
 * and never writes to it, so inspecting cannot disturb its users; every
 * value read is someone else's data and is validated before it is used. A
 * segment truncated under our mapping would raise SIGBUS on access: the
 * reads run under a guard that turns that into "unknown".
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

/* Frames counted at most; a ring holding more reports "? pending". */
#define MAX_COUNTED_FRAMES 10000000
/* Attempts at a frame count while the consumer keeps moving the head. */
#define COUNT_ATTEMPTS 5

/* ------------------------------------------------------- SIGBUS guard */

static sigjmp_buf bus_jump;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed)
		siglongjmp(bus_jump, 1);
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

static void arm_bus_guard(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	bus_armed = 1;
}

#define GUARDED_READ(fail_stmt)				\
	do {						\
		arm_bus_guard();			\
		if (sigsetjmp(bus_jump, 1) != 0) {	\
			bus_armed = 0;			\
			fail_stmt;			\
		}					\
	} while (0)

/* ------------------------------------------------------------ reading */

static uint64_t load_u64(const unsigned char *p)
{
	return __atomic_load_n((const uint64_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

static int32_t load_i32(const unsigned char *p)
{
	return __atomic_load_n((const int32_t *)(const void *)p, __ATOMIC_ACQUIRE);
}

/* The uint32 frame length at ring byte index `at` (it may wrap). */
static uint32_t frame_length(const struct cli_mapping *map, uint64_t capacity, uint64_t at)
{
	const unsigned char *data = map->base + MEMBRIDGE_SPSC_HEADER;
	unsigned char bytes[4];
	uint32_t len;
	int i;

	for (i = 0; i < 4; i++)
		bytes[i] = data[(at + (uint64_t)i) & (capacity - 1)];
	memcpy(&len, bytes, sizeof(len));
	return len;
}

static bool power_of_two(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

bool cli_looks_like_ring(const struct cli_mapping *map)
{
	uint64_t capacity;
	bool ring = false;

	if (map->size < MEMBRIDGE_SPSC_HEADER + MEMBRIDGE_SPSC_MIN_CAPACITY ||
	    !power_of_two(map->size - MEMBRIDGE_SPSC_HEADER))
		return false;
	GUARDED_READ(return false);
	capacity = load_u64(map->base + 16);
	ring = capacity == map->size - MEMBRIDGE_SPSC_HEADER;
	bus_armed = 0;
	return ring;
}

/* Walk the frames of [from, to): the count, -1 if a frame runs past `to`
 * (*bad_at gets where), -2 if there are more than MAX_COUNTED_FRAMES. */
static int64_t walk_frames(const struct cli_mapping *map, uint64_t capacity,
			   uint64_t from, uint64_t to, uint64_t *bad_at, uint32_t *bad_len)
{
	uint64_t at = from;
	int64_t count = 0;

	while (at != to) {
		uint64_t left = to - at;
		uint32_t len;

		if (left < MEMBRIDGE_SPSC_FRAME_HEADER) {
			*bad_at = at;
			*bad_len = UINT32_MAX;
			return -1;
		}
		len = frame_length(map, capacity, at);
		if (len > left - MEMBRIDGE_SPSC_FRAME_HEADER) {
			*bad_at = at;
			*bad_len = len;
			return -1;
		}
		at += MEMBRIDGE_SPSC_FRAME_HEADER + len;
		if (++count > MAX_COUNTED_FRAMES)
			return -2;
	}
	return count;
}

int64_t cli_ring_count_frames(const struct cli_mapping *map, uint64_t from, uint64_t to)
{
	uint64_t capacity = map->size - MEMBRIDGE_SPSC_HEADER, bad_at;
	uint32_t bad_len;
	int64_t count;

	GUARDED_READ(return -1);
	if (to - from > capacity || load_u64(map->base) > from) {
		bus_armed = 0;
		return -1;
	}
	count = walk_frames(map, capacity, from, to, &bad_at, &bad_len);
	/* The bytes were stable only if the consumer did not pass `from`. */
	if (load_u64(map->base) > from)
		count = -1;
	bus_armed = 0;
	return count < 0 ? -1 : count;
}

void cli_ring_sample(const struct cli_mapping *map, struct cli_ring_state *ring)
{
	uint64_t head, tail, capacity, bad_at = 0;
	uint32_t bad_len = 0;
	int64_t count = -1;
	int attempt;

	memset(ring, 0, sizeof(*ring));
	ring->pending = -1;
	GUARDED_READ(goto truncated);
	for (attempt = 0; attempt < COUNT_ATTEMPTS; attempt++) {
		head = load_u64(map->base);
		tail = load_u64(map->base + 8);
		capacity = load_u64(map->base + 16);
		ring->capacity = capacity;
		ring->head = head;
		ring->tail = tail;
		if (head <= tail && tail - head <= capacity) {
			ring->used = tail - head;
			ring->free_bytes = capacity - ring->used;
		}
		if (capacity != map->size - MEMBRIDGE_SPSC_HEADER || !power_of_two(capacity)) {
			snprintf(ring->problem, sizeof(ring->problem),
				 "capacity %llu does not match the segment size %zu - %u",
				 (unsigned long long)capacity, map->size, MEMBRIDGE_SPSC_HEADER);
			goto done;
		}
		/* A head that moved while tail was read makes no snapshot: the
		 * producer may have refilled what the consumer freed meanwhile. */
		if (load_u64(map->base) != head) {
			count = -3;
			continue;
		}
		if (head > tail) {
			snprintf(ring->problem, sizeof(ring->problem), "head %llu is past tail %llu",
				 (unsigned long long)head, (unsigned long long)tail);
			goto done;
		}
		if (tail - head > capacity) {
			snprintf(ring->problem, sizeof(ring->problem),
				 "used %llu exceeds capacity %llu",
				 (unsigned long long)(tail - head), (unsigned long long)capacity);
			goto done;
		}
		count = walk_frames(map, capacity, head, tail, &bad_at, &bad_len);
		if (load_u64(map->base) == head)
			break;
		count = -3; /* the consumer moved: the walk may have read freed bytes */
	}
	ring->valid = true;
	if (count >= 0) {
		ring->pending = count;
	} else if (count == -1) {
		ring->valid = false;
		if (bad_len == UINT32_MAX)
			snprintf(ring->problem, sizeof(ring->problem),
				 "frame header at index %llu is cut by tail %llu",
				 (unsigned long long)bad_at, (unsigned long long)tail);
		else
			snprintf(ring->problem, sizeof(ring->problem),
				 "frame at index %llu claims %u bytes, only %llu published",
				 (unsigned long long)bad_at, bad_len,
				 (unsigned long long)(tail - bad_at - MEMBRIDGE_SPSC_FRAME_HEADER));
	}
done:
	bus_armed = 0;
	return;
truncated:
	ring->valid = false;
	snprintf(ring->problem, sizeof(ring->problem), "the segment shrank while being read");
}

/* -------------------------------------------------------------- views */

void cli_view_decode(int32_t word, struct cli_view_state *view)
{
	view->word = word;
	view->readers = word > 0 ? word : 0;
	view->writer_pid = 0;
	view->writer_alive = -1;
	if (word == 0) {
		view->state = CLI_LOCK_FREE;
	} else if (word > 0) {
		view->state = CLI_LOCK_READ;
	} else {
		view->state = CLI_LOCK_WRITE;
		view->writer_pid = word == -1 ? -1 : -(int64_t)word;
		if (view->writer_pid > 1)
			view->writer_alive = kill((pid_t)view->writer_pid, 0) == 0 || errno == EPERM;
	}
}

void cli_describe_lock(const struct cli_view_state *view, char *buf, size_t len)
{
	switch (view->state) {
	case CLI_LOCK_FREE:
		snprintf(buf, len, "free");
		break;
	case CLI_LOCK_READ:
		snprintf(buf, len, "%d reader%s", view->readers, view->readers == 1 ? "" : "s");
		break;
	case CLI_LOCK_WRITE:
		if (view->writer_pid == -1)
			snprintf(buf, len, "write-locked (anonymous writer -1)");
		else
			snprintf(buf, len, "write-locked by pid %lld (%s)",
				 (long long)view->writer_pid,
				 view->writer_alive ? "alive" : "no such process");
		break;
	}
}

const char *cli_kind_name(enum cli_kind kind)
{
	switch (kind) {
	case CLI_KIND_RING:
		return "ring";
	case CLI_KIND_VIEW:
		return "view";
	case CLI_KIND_COMPANION:
		return "companion";
	default:
		return "unknown";
	}
}

/* ---------------------------------------------------------- segments */

static int map_fd(int fd, struct cli_mapping *map)
{
	struct stat st;
	void *base;

	if (fstat(fd, &st) != 0)
		return -errno;
	map->base = NULL;
	map->size = (size_t)st.st_size;
	if (map->size == 0)
		return 0;
	base = mmap(NULL, map->size, PROT_READ, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED)
		return -errno;
	map->base = base;
	return 0;
}

int cli_map_readonly(const char *name, struct cli_mapping *map)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);
	int ret;

	if (fd < 0)
		return -errno;
	ret = map_fd(fd, map);
	close(fd);
	return ret;
}

void cli_unmap(struct cli_mapping *map)
{
	if (map->base != NULL)
		munmap((void *)map->base, map->size);
	map->base = NULL;
}

bool cli_is_companion_name(const char *name)
{
	size_t len = strlen(name), suffix = strlen(CLI_COMPANION_SUFFIX);

	return len > suffix && strcmp(name + len - suffix, CLI_COMPANION_SUFFIX) == 0;
}

static int64_t birth_time(int fd, const struct stat *st)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME))
		return stx.stx_btime.tv_sec;
	return st->st_ctim.tv_sec;
}

static bool companion_exists(const char *name)
{
	char path[sizeof(CLI_SHM_DIR) + MEMBRIDGE_NAME_MAX + sizeof(CLI_COMPANION_SUFFIX)];

	snprintf(path, sizeof(path), "%s%s%s", CLI_SHM_DIR, name, CLI_COMPANION_SUFFIX);
	return access(path, F_OK) == 0;
}

static void classify(struct cli_segment *seg, const struct cli_mapping *map)
{
	int32_t word;

	if (cli_looks_like_ring(map)) {
		seg->kind = CLI_KIND_RING;
		cli_ring_sample(map, &seg->ring);
		return;
	}
	if (map->size <= 4)
		return;
	GUARDED_READ(return);
	word = load_i32(map->base);
	bus_armed = 0;
	seg->kind = CLI_KIND_VIEW;
	seg->view.data_size = map->size - 4;
	cli_view_decode(word, &seg->view);
}

void cli_inspect_fd(int fd, const char *name, struct cli_segment *seg)
{
	struct cli_mapping map;
	struct stat st;

	memset(seg, 0, sizeof(*seg));
	snprintf(seg->name, sizeof(seg->name), "%s", name);
	seg->kind = cli_is_companion_name(name) ? CLI_KIND_COMPANION : CLI_KIND_UNKNOWN;
	if (fstat(fd, &st) != 0)
		return;
	seg->size = (uint64_t)st.st_size;
	seg->uid = st.st_uid;
	seg->mode = st.st_mode & 07777;
	seg->age_seconds = (int64_t)time(NULL) - birth_time(fd, &st);
	if (seg->age_seconds < 0)
		seg->age_seconds = 0;
	if (seg->kind == CLI_KIND_COMPANION)
		return;
	seg->companion_present = companion_exists(name);
	if (map_fd(fd, &map) != 0)
		return;
	seg->readable = true;
	classify(seg, &map);
	cli_unmap(&map);
}

int cli_inspect(const char *name, struct cli_segment *seg)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	cli_inspect_fd(fd, name, seg);
	close(fd);
	return 0;
}
