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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

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

/* membridge_spsc_inspect() under the SIGBUS guard: its result, or -EFAULT
 * when the segment shrank under the mapping. */
static int inspect_ring(const struct cli_mapping *map, struct membridge_spsc_info *info)
{
	int ret;

	GUARDED_READ(return -EFAULT);
	ret = membridge_spsc_inspect(map->base, map->size, info);
	bus_armed = 0;
	return ret;
}

bool cli_looks_like_ring(const struct cli_mapping *map)
{
	struct membridge_spsc_info info;
	int ret = inspect_ring(map, &info);

	return ret != -EINVAL && ret != -ENOTSUP && ret != -EFAULT;
}

int64_t cli_ring_count_frames(const struct cli_mapping *map, uint64_t from, uint64_t to)
{
	uint64_t count;
	int ret;

	GUARDED_READ(return -1);
	ret = membridge_spsc_count_frames(map->base, map->size, from, to, &count);
	bus_armed = 0;
	return ret < 0 ? -1 : (int64_t)count;
}

/* Why a ring failed membridge_spsc_inspect(), in words. */
static void describe_fault(const struct membridge_spsc_info *info, size_t size, char *buf,
			   size_t len)
{
	switch (info->fault) {
	case MEMBRIDGE_SPSC_FAULT_HEAD_PAST_TAIL:
		snprintf(buf, len, "head %llu is past tail %llu", (unsigned long long)info->head,
			 (unsigned long long)info->tail);
		break;
	case MEMBRIDGE_SPSC_FAULT_OVERFULL:
		snprintf(buf, len, "used %llu exceeds capacity %llu",
			 (unsigned long long)(info->tail - info->head),
			 (unsigned long long)info->capacity);
		break;
	case MEMBRIDGE_SPSC_FAULT_FRAME_CUT:
		snprintf(buf, len, "frame header at index %llu is cut by tail %llu",
			 (unsigned long long)info->fault_index, (unsigned long long)info->tail);
		break;
	case MEMBRIDGE_SPSC_FAULT_FRAME_LENGTH:
		snprintf(buf, len, "frame at index %llu claims %u bytes, only %llu published",
			 (unsigned long long)info->fault_index, info->fault_length,
			 (unsigned long long)(info->tail - info->fault_index -
					      MEMBRIDGE_SPSC_FRAME_HEADER));
		break;
	case MEMBRIDGE_SPSC_FAULT_NONE:
		/* -ENOTSUP: the capacity changed since the ring was recognised. */
		snprintf(buf, len, "capacity %llu does not match the segment size %zu - %u",
			 (unsigned long long)info->capacity, size, MEMBRIDGE_SPSC_HEADER);
		break;
	}
}

void cli_ring_sample(const struct cli_mapping *map, struct cli_ring_state *ring)
{
	struct membridge_spsc_info info;
	int attempt, ret = -EAGAIN;

	memset(ring, 0, sizeof(*ring));
	ring->pending = -1;
	for (attempt = 0; attempt < COUNT_ATTEMPTS && ret == -EAGAIN; attempt++)
		ret = inspect_ring(map, &info);
	if (ret == -EFAULT || ret == -EINVAL) {
		snprintf(ring->problem, sizeof(ring->problem), "the segment shrank while being read");
		return;
	}
	ring->capacity = info.capacity;
	ring->head = info.head;
	ring->tail = info.tail;
	ring->used = info.used;
	if (info.used == info.tail - info.head) /* head and tail agree */
		ring->free_bytes = info.capacity - info.used;
	ring->pending = info.frames;
	ring->valid = ret == 0 || ret == -EAGAIN;
	if (!ring->valid)
		describe_fault(&info, map->size, ring->problem, sizeof(ring->problem));
}

/* ----------------------------------------------------------- channels */

/* membridge_channel_inspect() under the SIGBUS guard: its result, or
 * -EFAULT when the segment shrank under the mapping. */
static int inspect_channel(const struct cli_mapping *map, struct membridge_channel_info *info,
			   struct membridge_subscriber_info *slots, size_t max)
{
	int ret;

	GUARDED_READ(return -EFAULT);
	ret = membridge_channel_inspect(map->base, map->size, info, slots, max);
	bus_armed = 0;
	return ret;
}

void cli_channel_sample(const struct cli_mapping *map, struct cli_channel_state *ch)
{
	size_t max, i;
	int ret;

	free(ch->slots);
	memset(ch, 0, sizeof(*ch));
	ret = map->base ? inspect_channel(map, &ch->info, NULL, 0) : -ENOTSUP;
	if (ret > 0) {
		/* The shape is fixed at creation: the second read has the same. */
		max = ch->info.config.subscribers;
		ch->slots = calloc(max, sizeof(*ch->slots));
		if (ch->slots == NULL)
			ret = -ENOMEM;
		else
			ret = inspect_channel(map, &ch->info, ch->slots, max);
		if (ret >= 0)
			ch->count = (size_t)ret < max ? (size_t)ret : max;
	}
	for (i = 0; i < ch->count; i++)
		if (ch->slots[i].active && ch->slots[i].lag > ch->max_lag)
			ch->max_lag = ch->slots[i].lag;
	ch->error = ret < 0 ? ret : 0;
	ch->valid = ret >= 0;
	if (ret == -EFAULT)
		snprintf(ch->problem, sizeof(ch->problem), "the segment shrank while being read");
	else if (ret == -EPROTO)
		snprintf(ch->problem, sizeof(ch->problem),
			 "a channel layout newer than libmembridge %s reads", membridge_version());
	else if (ret < 0)
		snprintf(ch->problem, sizeof(ch->problem), "%s", membridge_strerror(ret));
}

int cli_pid_alive(int64_t pid)
{
	return pid > 0 && pid <= INT32_MAX && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* -------------------------------------------------------------- views */

static void view_state(const struct membridge_view_info *info, struct cli_view_state *view)
{
	view->data_size = info->data_size;
	view->word = info->lock_word;
	view->state = info->state;
	view->readers = info->readers;
	view->writer_waiting = info->writer_waiting;
	view->writer_pid = info->writer;
	view->writer_alive = -1;
	if (view->writer_pid > 1)
		view->writer_alive = cli_pid_alive(view->writer_pid);
}

void cli_describe_lock(const struct cli_view_state *view, char *buf, size_t len)
{
	const char *waiting = view->writer_waiting ? ", a writer waiting" : "";

	switch (view->state) {
	case MEMBRIDGE_LOCK_FREE:
		snprintf(buf, len, "free%s", waiting);
		break;
	case MEMBRIDGE_LOCK_READ:
		snprintf(buf, len, "%d reader%s%s", view->readers, view->readers == 1 ? "" : "s",
			 waiting);
		break;
	case MEMBRIDGE_LOCK_WRITE:
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
	case CLI_KIND_CHANNEL:
		return "channel";
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
	size_t len = strlen(name), suffix = strlen(MEMBRIDGE_COMPANION_SUFFIX);

	return len > suffix && strcmp(name + len - suffix, MEMBRIDGE_COMPANION_SUFFIX) == 0;
}

static int64_t birth_time(int fd, const struct stat *st)
{
	struct statx stx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) == 0 && (stx.stx_mask & STATX_BTIME))
		return stx.stx_btime.tv_sec;
	return st->st_ctim.tv_sec;
}

/* By shm_open rather than a path: segments are files in /dev/shm on Linux
 * only. A companion this user may not read exists all the same. */
static bool companion_exists(const char *name)
{
	char companion[MEMBRIDGE_NAME_MAX + sizeof(MEMBRIDGE_COMPANION_SUFFIX)];
	int fd;

	snprintf(companion, sizeof(companion), "%s%s", name, MEMBRIDGE_COMPANION_SUFFIX);
	fd = shm_open(companion, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return errno == EACCES;
	close(fd);
	return true;
}

/* A channel (its magic says so, even when the rest is broken or newer), a
 * ring (its size and header agree), or else any segment large enough for a
 * lock word: a view. */
static void classify(struct cli_segment *seg, const struct cli_mapping *map)
{
	struct membridge_view_info info;
	int ret;

	cli_channel_sample(map, &seg->channel);
	if (seg->channel.valid || seg->channel.error == -EPROTO ||
	    seg->channel.error == -EBADMSG) {
		seg->kind = CLI_KIND_CHANNEL;
		return;
	}
	cli_segment_clear(seg);
	if (cli_looks_like_ring(map)) {
		seg->kind = CLI_KIND_RING;
		cli_ring_sample(map, &seg->ring);
		return;
	}
	GUARDED_READ(return);
	ret = membridge_view_inspect(map->base, map->size, &info);
	bus_armed = 0;
	if (ret < 0)
		return;
	seg->kind = CLI_KIND_VIEW;
	view_state(&info, &seg->view);
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

void cli_segment_clear(struct cli_segment *seg)
{
	free(seg->channel.slots);
	seg->channel.slots = NULL;
	seg->channel.count = 0;
}

int cli_inspect(const char *name, struct cli_segment *seg)
{
	int fd = shm_open(name, O_RDONLY | O_CLOEXEC, 0);

	seg->channel.slots = NULL;
	if (fd < 0)
		return -errno;
	cli_inspect_fd(fd, name, seg);
	close(fd);
	return 0;
}
