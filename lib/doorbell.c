/* SPDX-License-Identifier: MIT */
/*
 * Doorbells (platform.h): a descriptor another process can make readable
 * knowing only a 64-bit address. Linux: an abstract AF_UNIX datagram socket
 * named "membridge-doorbell-<address in hex>" (no file, gone with its last
 * descriptor, reachable from its network namespace only); ringing sends it
 * an empty datagram, without blocking; waiting is ppoll(2), which sets the
 * caller's signal mask and sleeps in one step (MB_HAVE_DOORBELLS, set by
 * configure). Other systems, and --enable-macos-emulation, have none yet:
 * -ENOTSUP.
 */
#include "config.h"

#include <errno.h>

#include "platform.h"

#ifdef MB_HAVE_DOORBELLS
#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The abstract address of doorbell `nonce` (a NUL, the prefix, 16 hex
 * digits; no terminator); returns its length. It runs on every ring. */
static socklen_t doorbell_address(uint64_t nonce, struct sockaddr_un *sa)
{
	static const char prefix[] = "membridge-doorbell-", hex[] = "0123456789abcdef";
	char *p = sa->sun_path;
	int shift;

	sa->sun_family = AF_UNIX;
	*p++ = '\0';
	memcpy(p, prefix, sizeof(prefix) - 1);
	p += sizeof(prefix) - 1;
	for (shift = 60; shift >= 0; shift -= 4)
		*p++ = hex[(nonce >> shift) & 0xf];
	return (socklen_t)(p - (char *)sa);
}

int mb_os_doorbell_open(uint64_t *nonce)
{
	struct sockaddr_un sa;
	int fd, tries;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (tries = 0; tries < 8; tries++) {
		if (getrandom(nonce, sizeof(*nonce), 0) != sizeof(*nonce))
			break;
		if (*nonce == 0)
			continue;
		if (bind(fd, (struct sockaddr *)&sa, doorbell_address(*nonce, &sa)) == 0)
			return fd;
		if (errno != EADDRINUSE)
			break;
	}
	tries = errno ? -errno : -EADDRINUSE;
	close(fd);
	return tries;
}

void mb_os_doorbell_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

void mb_os_doorbell_drain(int fd)
{
	char byte;

	while (recv(fd, &byte, sizeof(byte), MSG_DONTWAIT) >= 0)
		;
}

int mb_os_doorbell_wait(int fd, int64_t until_ns, const mb_sigmask *caller)
{
	struct pollfd pfd = { fd, POLLIN, 0 };
	int64_t left = until_ns - mb_os_now_ns();
	struct timespec ts;
	int n;

	if (left < 0)
		left = 0;
	ts.tv_sec = (time_t)(left / 1000000000);
	ts.tv_nsec = (long)(left % 1000000000);
	n = ppoll(&pfd, 1, &ts, caller);
	if (n < 0)
		return errno == EINTR ? -EINTR : -errno;
	return n > 0 ? 0 : -ETIMEDOUT;
}

uint64_t mb_os_doorbell_scope(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

void mb_os_doorbell_ring(int *sender, uint64_t nonce)
{
	struct sockaddr_un sa;

	if (nonce == 0)
		return;
	if (*sender < 0)
		*sender = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (*sender < 0)
		return;
	/* A full queue already makes the doorbell readable; a doorbell that
	 * is gone has nobody to tell. */
	(void)sendto(*sender, "", 0, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&sa,
		     doorbell_address(nonce, &sa));
}
#else
int mb_os_doorbell_open(uint64_t *nonce)
{
	(void)nonce;
	return -ENOTSUP;
}

void mb_os_doorbell_close(int fd)
{
	(void)fd;
}

void mb_os_doorbell_drain(int fd)
{
	(void)fd;
}

int mb_os_doorbell_wait(int fd, int64_t until_ns, const mb_sigmask *caller)
{
	(void)fd;
	(void)until_ns;
	(void)caller;
	return -ENOTSUP;
}

uint64_t mb_os_doorbell_scope(void)
{
	return 0;
}

void mb_os_doorbell_ring(int *sender, uint64_t nonce)
{
	(void)sender;
	(void)nonce;
}
#endif
