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
 * So the creator first makes the section "Local\name.membridge-size",
 * holding the size as 8 bytes, and every mapping keeps it open beside the
 * section: opening with size 0 reads it there (-EINVAL if there is none,
 * as for a section this library did not make). A size that does not round
 * up to the view's page count is -EINVAL.
 *
 * Waiting: no cross-process futex exists (WaitOnAddress() is per process),
 * so a wait word sleeps on a named event beside its section, which the
 * word's section, offset and value name (see "waits" below); every mapped
 * section is listed for that. The library calls mb_os_wake() only when its
 * event count says somebody sleeps (event.c), so publishing costs no system
 * call otherwise. A word outside the sections falls back to re-reading it
 * after each Sleep(1) (one scheduler tick, 1 to 16 ms).
 *
 * Ctrl-C: a console control handler, added at the first blocking wait,
 * ends the waits with -EINTR (see "Ctrl-C" below).
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

/* A mapped section, in map->os; every one this process maps is listed, so
 * that a wait word's address tells its section and offset (waits below). */
struct section {
	HANDLE handle;       /* keeps the section alive */
	HANDLE size_record;  /* and its size record (NULL if it has none) */
	wchar_t *name;       /* L"Local\\name" */
	void *base;
	size_t size;
	struct section *next;
};

static SRWLOCK sections_lock = SRWLOCK_INIT;
static struct section *sections;

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

#define SIZE_SUFFIX L".membridge-size"

/* The size record of section wname: created with `size` written in it if
 * size != 0 and it does not exist yet, else opened; NULL if it cannot be. */
static HANDLE size_record(const wchar_t *wname, size_t size)
{
	size_t len = wcslen(wname);
	wchar_t *rname = malloc((len + wcslen(SIZE_SUFFIX) + 1) * sizeof(wchar_t));
	HANDLE h;
	_Atomic uint64_t *v;

	if (!rname)
		return NULL;
	memcpy(rname, wname, len * sizeof(wchar_t));
	memcpy(rname + len, SIZE_SUFFIX, (wcslen(SIZE_SUFFIX) + 1) * sizeof(wchar_t));
	h = size ? CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0,
				      sizeof(uint64_t), rname)
		 : OpenFileMappingW(FILE_MAP_READ, FALSE, rname);
	if (h && size && GetLastError() != ERROR_ALREADY_EXISTS) {
		v = MapViewOfFile(h, FILE_MAP_WRITE, 0, 0, sizeof(uint64_t));
		if (v) {
			atomic_store_explicit(v, size, memory_order_release);
			UnmapViewOfFile((void *)v);
		}
	}
	free(rname);
	return h;
}

/* The size in record h: -EINVAL without one, -EAGAIN before it is written. */
static int size_read(HANDLE h, size_t *size)
{
	_Atomic uint64_t *v;
	uint64_t got;

	if (!h)
		return -EINVAL; /* see the top of this file */
	v = MapViewOfFile(h, FILE_MAP_READ, 0, 0, sizeof(uint64_t));
	if (!v)
		return error_from_win32(GetLastError());
	got = atomic_load_explicit(v, memory_order_acquire);
	UnmapViewOfFile((void *)v);
	if (got == 0)
		return -EAGAIN;
	if (got > SIZE_MAX)
		return -EFBIG;
	*size = (size_t)got;
	return 0;
}

/* Map all of section h, named wname, with size record rec; the view must be `size` bytes rounded
 * up to pages. Takes h, rec and wname: kept in map->os while mapped, closed
 * and freed on failure. */
static int map_section(HANDLE h, HANDLE rec, wchar_t *wname, size_t size, unsigned mode,
		       struct mb_mapping *map)
{
	MEMORY_BASIC_INFORMATION mbi;
	size_t page = page_size();
	struct section *sec;
	void *base;
	int ret;

	base = MapViewOfFile(h, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, 0);
	if (!base) {
		ret = error_from_win32(GetLastError());
		goto fail;
	}
	ret = -EINVAL;
	if (VirtualQuery(base, &mbi, sizeof(mbi)) != sizeof(mbi) ||
	    mbi.RegionSize != (size + page - 1) / page * page)
		goto fail_unmap;
	ret = -ENOMEM;
	sec = malloc(sizeof(*sec));
	if (!sec)
		goto fail_unmap;
	sec->handle = h;
	sec->size_record = rec;
	sec->name = wname;
	sec->base = base;
	sec->size = size;
	AcquireSRWLockExclusive(&sections_lock);
	sec->next = sections;
	sections = sec;
	ReleaseSRWLockExclusive(&sections_lock);
	map->base = base;
	map->size = size;
	map->mode = mode;
	map->os = sec;
	return 0;

fail_unmap:
	UnmapViewOfFile(base);
fail:
	CloseHandle(h);
	if (rec)
		CloseHandle(rec);
	free(wname);
	return ret;
}

/* Create section `name` of `size` bytes and map it; an existing section is
 * -EEXIST when `exclusive`, else it is mapped. */
static int create_and_map(const char *name, size_t size, unsigned mode, bool exclusive,
			  struct mb_mapping *map)
{
	uint64_t size64 = size;
	wchar_t *wname;
	bool existed;
	HANDLE h, rec;
	int ret = 0;

	if (size == 0)
		return -EINVAL;
	wname = section_name(name, &ret);
	if (!wname)
		return ret;
	/* The record first: whoever finds the section finds its size. */
	rec = size_record(wname, size);
	h = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE,
			       (DWORD)(size64 >> 32), (DWORD)size64, wname);
	/* Read the last error before another call can change it. */
	ret = h ? 0 : error_from_win32(GetLastError());
	existed = h && GetLastError() == ERROR_ALREADY_EXISTS;
	if (!h || (exclusive && existed)) {
		if (h)
			CloseHandle(h);
		if (rec)
			CloseHandle(rec);
		free(wname);
		return h ? -EEXIST : ret;
	}
	return map_section(h, rec, wname, size, mode, map);
}

int mb_os_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map)
{
	return create_and_map(name, size, mode, true, map);
}

int mb_os_open(const char *name, size_t size, struct mb_mapping *map)
{
	wchar_t *wname;
	HANDLE h, rec;
	int ret = 0;

	wname = section_name(name, &ret);
	if (!wname)
		return ret;
	h = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, wname);
	if (!h) {
		ret = error_from_win32(GetLastError());
		free(wname);
		return ret;
	}
	rec = size_record(wname, 0);
	if (size == 0)
		ret = size_read(rec, &size);
	if (ret < 0) {
		CloseHandle(h);
		if (rec)
			CloseHandle(rec);
		free(wname);
		return ret;
	}
	return map_section(h, rec, wname, size, 0600, map); /* sections have no mode bits */
}

int mb_os_open_or_create(const char *name, size_t size, unsigned mode, struct mb_mapping *map)
{
	return create_and_map(name, size, mode, false, map);
}

void mb_os_unmap(struct mb_mapping *map)
{
	struct section *sec = map->os, **p;

	if (sec) {
		AcquireSRWLockExclusive(&sections_lock);
		for (p = &sections; *p && *p != sec; p = &(*p)->next)
			;
		if (*p)
			*p = sec->next;
		ReleaseSRWLockExclusive(&sections_lock);
		UnmapViewOfFile(sec->base);
		CloseHandle(sec->handle);
		if (sec->size_record)
			CloseHandle(sec->size_record);
		free(sec->name);
		free(sec);
	}
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

/* ------------------------------------------------------------ Ctrl-C */

/* How long an interrupted wait lets the console's other handlers run (see
 * below) before it returns -EINTR anyway. */
#define HANDLERS_GRACE_MS 500

static INIT_ONCE console_once = INIT_ONCE_STATIC_INIT;
/* Counts Ctrl-C and Ctrl-Break events; set (manual reset) at each one. */
static _Atomic uint32_t console_events;
static HANDLE console_event;
/* The thread that runs the console handlers of the latest event. */
static SRWLOCK console_lock = SRWLOCK_INIT;
static HANDLE console_thread;

/*
 * Windows runs console handlers on a new thread, most recently added
 * first, until one returns TRUE, then ends the thread (or, when none did,
 * the process). This one is added at the first blocking wait, so usually
 * after the application's own (a CRT signal() handler is one): it runs
 * first, counts the event, wakes the waits and returns FALSE, so that the
 * others still run. An interrupted wait then waits for that thread to end,
 * so that the application's handler has run when the wait returns -EINTR,
 * as with a signal handler on POSIX.
 */
static BOOL WINAPI on_console_event(DWORD type)
{
	HANDLE self, old;

	if (type != CTRL_C_EVENT && type != CTRL_BREAK_EVENT)
		return FALSE;
	if (DuplicateHandle(GetCurrentProcess(), GetCurrentThread(), GetCurrentProcess(), &self,
			    SYNCHRONIZE, FALSE, 0)) {
		AcquireSRWLockExclusive(&console_lock);
		old = console_thread;
		console_thread = self;
		ReleaseSRWLockExclusive(&console_lock);
		if (old)
			CloseHandle(old);
	}
	atomic_fetch_add_explicit(&console_events, 1, memory_order_seq_cst);
	if (console_event)
		SetEvent(console_event);
	return FALSE;
}

static BOOL CALLBACK console_setup(INIT_ONCE *once, void *param, void **ctx)
{
	(void)once;
	(void)param;
	(void)ctx;
	console_event = CreateEventW(NULL, TRUE, FALSE, NULL);
	SetConsoleCtrlHandler(on_console_event, TRUE);
	return TRUE;
}

#ifdef DLL_EXPORT
/* The handler is code of this DLL: unloading it must remove the handler. */
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, void *reserved);
BOOL WINAPI DllMain(HINSTANCE dll, DWORD reason, void *reserved)
{
	(void)dll;
	if (reason == DLL_PROCESS_DETACH && !reserved)
		SetConsoleCtrlHandler(on_console_event, FALSE); /* fails if never added */
	return TRUE;
}
#endif

/* On Windows the "mask" is the count of console events when the wait began:
 * any event after that ends the wait with -EINTR. */
void mb_os_signals_block(mb_sigmask *caller)
{
	InitOnceExecuteOnce(&console_once, console_setup, NULL, NULL);
	*caller = (int)atomic_load_explicit(&console_events, memory_order_seq_cst);
}

void mb_os_signals_restore(const mb_sigmask *caller)
{
	(void)caller;
}

static bool console_interrupted(const mb_sigmask *caller)
{
	return (int)atomic_load_explicit(&console_events, memory_order_seq_cst) != *caller;
}

/* -EINTR, once the console's handlers for the event have run (bounded). */
static int console_eintr(void)
{
	HANDLE t = NULL;

	AcquireSRWLockShared(&console_lock);
	if (console_thread)
		DuplicateHandle(GetCurrentProcess(), console_thread, GetCurrentProcess(), &t,
				SYNCHRONIZE, FALSE, 0);
	ReleaseSRWLockShared(&console_lock);
	if (t) {
		WaitForSingleObject(t, HANDLERS_GRACE_MS);
		CloseHandle(t);
	}
	return -EINTR;
}

/* Whole milliseconds from now until until_ns, rounded up, short of INFINITE. */
static DWORD ms_until(int64_t until_ns)
{
	int64_t left = until_ns - mb_os_now_ns();

	if (left <= 0)
		return 0;
	return left >= INT64_C(1000000) * 0x7ffffffe ? 0x7ffffffe
						       : (DWORD)((left + 999999) / 1000000);
}

/*
 * Sleep until `wake` (NULL: none) is signalled, a console event comes after
 * the caller's count, or the monotonic clock reads until_ns: 0, -EINTR or
 * -ETIMEDOUT. The console event stays set after an event; a sleeper that
 * finds it set for one older than its wait resets it. Another thread that
 * was about to sleep then misses it, but it sleeps a slice at most
 * (event.c), and sees the count at its next call.
 */
static int sleep_on(HANDLE wake, int64_t until_ns, const mb_sigmask *caller)
{
	HANDLE handles[2];
	DWORD n = 0, r;

	if (console_event)
		handles[n++] = console_event;
	if (wake)
		handles[n++] = wake;
	for (;;) {
		if (console_interrupted(caller))
			return console_eintr();
		if (mb_os_now_ns() >= until_ns)
			return -ETIMEDOUT;
		r = n ? WaitForMultipleObjects(n, handles, FALSE, ms_until(until_ns))
		      : SleepEx(ms_until(until_ns), FALSE);
		if (r == WAIT_OBJECT_0 + n - 1 && wake)
			return console_interrupted(caller) ? console_eintr() : 0;
		if (r == WAIT_OBJECT_0 && console_event && !console_interrupted(caller))
			ResetEvent(console_event);
		else if (r == WAIT_FAILED)
			Sleep(1);
	}
}

int mb_os_pause(int64_t until_ns, const mb_sigmask *caller)
{
	int ret = sleep_on(NULL, until_ns, caller);

	return ret == -ETIMEDOUT ? 0 : ret;
}

/* ------------------------------------------------------------ waits */

/*
 * A wait word's kernel object: the named manual-reset event
 * "Local\membridge-wait-<section>-<offset>-<value>" (hex), which every
 * process that maps the section names alike. A sleeper that saw `value`
 * opens (or creates) it, then re-reads the word, and sleeps on it only if
 * the word still holds value; a waker that changed the word from value
 * opens it, if it exists, and sets it, which wakes every sleeper at once.
 * Either the re-read sees the change or the waker finds the sleeper's
 * event: no wake-up is lost. The last handle closed destroys the event.
 */
#define WAIT_PREFIX L"Local\\membridge-wait-"

/* Append v in hex at *p. */
static wchar_t *put_hex(wchar_t *p, uint64_t v)
{
	wchar_t digits[16];
	int n = 0;

	do {
		digits[n++] = L"0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	while (n)
		*p++ = digits[--n];
	return p;
}

/* The event's name for the word at `word` holding `value`; NULL when the
 * word is in no section this process maps (or no memory). Free it. */
static wchar_t *wait_name(const void *word, uint32_t value)
{
	const char *w = word;
	size_t prefix = wcslen(NAME_PREFIX), len;
	struct section *sec;
	wchar_t *name = NULL, *p;

	AcquireSRWLockShared(&sections_lock);
	for (sec = sections; sec; sec = sec->next) {
		if (w < (const char *)sec->base || w >= (const char *)sec->base + sec->size)
			continue;
		len = wcslen(sec->name) - prefix;
		name = malloc((wcslen(WAIT_PREFIX) + len + 2 * (1 + 16) + 1) * sizeof(wchar_t));
		if (!name)
			break;
		p = name + wcslen(WAIT_PREFIX);
		memcpy(name, WAIT_PREFIX, wcslen(WAIT_PREFIX) * sizeof(wchar_t));
		memcpy(p, sec->name + prefix, len * sizeof(wchar_t));
		p += len;
		*p++ = L'-';
		p = put_hex(p, (uint64_t)(w - (const char *)sec->base));
		*p++ = L'-';
		p = put_hex(p, value);
		*p = L'\0';
		break;
	}
	ReleaseSRWLockShared(&sections_lock);
	return name;
}

/* Without an event (a word outside the sections, or no kernel object to be
 * had): re-read the word after each Sleep(1), a scheduler tick. */
static int poll_word(_Atomic uint32_t *word, uint32_t expected, int64_t until_ns,
		     const mb_sigmask *caller)
{
	int64_t next;
	int ret;

	while (atomic_load_explicit(word, memory_order_acquire) == expected) {
		next = mb_os_now_ns() + INT64_C(1000000);
		ret = sleep_on(NULL, next < until_ns ? next : until_ns, caller);
		if (ret == -EINTR)
			return ret;
		if (mb_os_now_ns() >= until_ns)
			return -ETIMEDOUT;
	}
	return 0;
}

int mb_os_wait(_Atomic uint32_t *word, uint32_t expected, int64_t until_ns,
	       const mb_sigmask *caller)
{
	wchar_t *name = wait_name(word, expected);
	HANDLE ev = name ? CreateEventW(NULL, TRUE, FALSE, name) : NULL;
	int ret;

	free(name);
	if (!ev)
		return poll_word(word, expected, until_ns, caller);
	/* Order the event's creation before the re-read, against the waker's
	 * change of the word before it opens the event. */
	atomic_thread_fence(memory_order_seq_cst);
	ret = atomic_load_explicit(word, memory_order_acquire) == expected
		      ? sleep_on(ev, until_ns, caller) : 0;
	CloseHandle(ev);
	return ret;
}

void mb_os_wake(_Atomic uint32_t *word, uint32_t was)
{
	wchar_t *name;
	HANDLE ev;

	atomic_thread_fence(memory_order_seq_cst);
	name = wait_name(word, was);
	if (!name)
		return; /* sleepers poll (poll_word) */
	ev = OpenEventW(EVENT_MODIFY_STATE, FALSE, name);
	free(name);
	if (ev) {
		SetEvent(ev);
		CloseHandle(ev);
	}
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
