/* SPDX-License-Identifier: MIT */
/*
 * Windows backend: named, pagefile-backed file mappings.
 *
 * Names: "/name" is the section "Local\name" (the session namespace), the
 * UTF-8 name converted to UTF-16. A section lives while a handle to it is
 * open, so every mapping keeps its handle (mb_mapping.os) until unmapped,
 * and removing a name is a no-op: the last close removes it.
 *
 * Sizes: Windows does not tell the size of a section through a documented
 * call; VirtualQuery() on a view only gives it rounded up to whole pages.
 * Opening therefore needs the size (0 is -EINVAL), and a size that does not
 * round up to the view's page count is -EINVAL.
 *
 * Waiting: no cross-process futex exists (WaitOnAddress() is per process),
 * so a sleeper re-reads the word after each Sleep(1) (one scheduler tick,
 * 1 to 16 ms) until it changes or the time is up, and waking is a no-op.
 *
 * Fences: FlushProcessWriteBuffers() acts on the calling process's threads
 * only, so both sides of the asymmetric pair are full fences.
 */
#include "config.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "platform.h"

#define NAME_PREFIX L"Local\\"

static int error_from_win32(DWORD err)
{
	switch (err) {
	case ERROR_ALREADY_EXISTS:
	case ERROR_FILE_EXISTS:
		return -EEXIST;
	case ERROR_FILE_NOT_FOUND:
	case ERROR_PATH_NOT_FOUND:
		return -ENOENT;
	case ERROR_ACCESS_DENIED:
		return -EACCES;
	case ERROR_NOT_ENOUGH_MEMORY:
	case ERROR_OUTOFMEMORY:
	case ERROR_COMMITMENT_LIMIT:
		return -ENOMEM;
	case ERROR_DISK_FULL:
		return -ENOSPC;
	case ERROR_FILENAME_EXCED_RANGE:
		return -ENAMETOOLONG;
	case ERROR_INVALID_HANDLE: /* the name belongs to another kind of object */
	case ERROR_INVALID_NAME:
	case ERROR_INVALID_PARAMETER:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* "/name" -> L"Local\\name", allocated; NULL with *ret set on failure. */
static wchar_t *section_name(const char *name, int *ret)
{
	size_t prefix = wcslen(NAME_PREFIX);
	wchar_t *wname;
	int len;

	if (name[0] != '/' || strchr(name, '\\')) {
		*ret = -EINVAL;
		return NULL;
	}
	len = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name + 1, -1, NULL, 0);
	if (len <= 0) {
		*ret = -EINVAL;
		return NULL;
	}
	wname = malloc((prefix + (size_t)len) * sizeof(wchar_t));
	if (!wname) {
		*ret = -ENOMEM;
		return NULL;
	}
	memcpy(wname, NAME_PREFIX, prefix * sizeof(wchar_t));
	MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, name + 1, -1, wname + prefix, len);
	return wname;
}

static size_t page_size(void)
{
	SYSTEM_INFO info;

	GetSystemInfo(&info);
	return info.dwPageSize;
}

/* Map all of section h; the view must be `size` bytes rounded up to pages. */
static int map_section(HANDLE h, size_t size, unsigned mode, struct mb_mapping *map)
{
	MEMORY_BASIC_INFORMATION mbi;
	size_t page = page_size();
	void *base;

	base = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
	if (!base) {
		int ret = error_from_win32(GetLastError());

		CloseHandle(h);
		return ret;
	}
	if (VirtualQuery(base, &mbi, sizeof(mbi)) != sizeof(mbi) ||
	    mbi.RegionSize != (size + page - 1) / page * page) {
		UnmapViewOfFile(base);
		CloseHandle(h);
		return -EINVAL;
	}
	map->base = base;
	map->size = size;
	map->mode = mode;
	map->os = h;
	return 0;
}

/* Create section `name` of `size` bytes and map it; an existing section is
 * -EEXIST when `exclusive`, else it is mapped. */
static int create_and_map(const char *name, size_t size, unsigned mode, bool exclusive,
			  struct mb_mapping *map)
{
	uint64_t size64 = size;
	wchar_t *wname;
	bool existed;
	HANDLE h;
	int ret = 0;

	if (size == 0)
		return -EINVAL;
	wname = section_name(name, &ret);
	if (!wname)
		return ret;
	h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
			       (DWORD)(size64 >> 32), (DWORD)size64, wname);
	/* Read the last error before free() can touch it. */
	ret = h ? 0 : error_from_win32(GetLastError());
	existed = h && GetLastError() == ERROR_ALREADY_EXISTS;
	free(wname);
	if (!h)
		return ret;
	if (exclusive && existed) {
		CloseHandle(h);
		return -EEXIST;
	}
	return map_section(h, size, mode, map);
}

int mb_os_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map)
{
	return create_and_map(name, size, mode, true, map);
}

int mb_os_open(const char *name, size_t size, struct mb_mapping *map)
{
	wchar_t *wname;
	HANDLE h;
	int ret = 0;

	if (size == 0)
		return -EINVAL; /* see the top of this file */
	wname = section_name(name, &ret);
	if (!wname)
		return ret;
	h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
	free(wname);
	if (!h)
		return error_from_win32(GetLastError());
	return map_section(h, size, 0600, map); /* sections have no mode bits */
}

int mb_os_open_or_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map)
{
	return create_and_map(name, size, mode, false, map);
}

void mb_os_unmap(struct mb_mapping *map)
{
	if (map->base)
		UnmapViewOfFile(map->base);
	if (map->os)
		CloseHandle(map->os);
	map->base = NULL;
	map->os = NULL;
}

int mb_os_remove(const char *name)
{
	(void)name;
	return 0;
}

int64_t mb_os_now_ns(void)
{
	static _Atomic int64_t freq;
	int64_t f = atomic_load_explicit(&freq, memory_order_relaxed);
	LARGE_INTEGER now;

	if (f == 0) {
		LARGE_INTEGER li;

		QueryPerformanceFrequency(&li);
		f = li.QuadPart;
		atomic_store_explicit(&freq, f, memory_order_relaxed);
	}
	QueryPerformanceCounter(&now);
	return now.QuadPart / f * 1000000000 + now.QuadPart % f * 1000000000 / f;
}

/* CRT signal handlers (SIGINT from Ctrl-C) run on another thread and never
 * interrupt a wait: these are no-ops, and waits never return -EINTR. */
void mb_os_signals_block(mb_sigmask *caller)
{
	(void)caller;
}

void mb_os_signals_restore(const mb_sigmask *caller)
{
	(void)caller;
}

int mb_os_pause(int64_t until_ns, const mb_sigmask *caller)
{
	(void)caller;
	mb_os_sleep(until_ns - mb_os_now_ns());
	return 0;
}

int mb_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t until_ns,
	       const mb_sigmask *caller)
{
	(void)caller;
	while (atomic_load_explicit(word, memory_order_acquire) == expected) {
		if (mb_os_now_ns() >= until_ns)
			return -ETIMEDOUT;
		Sleep(1);
	}
	return 0;
}

void mb_os_wake(_Atomic uint32_t *word)
{
	(void)word; /* sleepers poll: see the top of this file */
}

int32_t mb_os_pid(void)
{
	return (int32_t)GetCurrentProcessId();
}

bool mb_os_pid_alive(int32_t pid)
{
	HANDLE h = OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
			       (DWORD)pid);
	bool alive;

	if (!h)
		/* Denied: it exists but is not ours to look at. */
		return GetLastError() == ERROR_ACCESS_DENIED;
	alive = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
	CloseHandle(h);
	return alive;
}

uint32_t mb_os_pid_namespace(void)
{
	return 0;
}

void mb_os_sleep(int64_t ns)
{
	if (ns <= 0)
		return;
	/* Whole milliseconds, rounded up: a short sleep still yields the CPU. */
	Sleep(ns >= INT64_C(1000000) * 0x7ffffffe ? 0x7ffffffe
						   : (DWORD)((ns + 999999) / 1000000));
}

void mb_os_cpu_relax(void)
{
	YieldProcessor();
}

void mb_os_fence_light(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}

void mb_os_fence_heavy(void)
{
	atomic_thread_fence(memory_order_seq_cst);
}
