/* SPDX-License-Identifier: MIT */
/* Error messages on stderr and the exit status each error maps to. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"

const char *cli_command = "";

__attribute__((format(printf, 1, 0))) static void vreport(const char *fmt, va_list ap)
{
	fprintf(stderr, "membridge: %s: ", cli_command);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try 'membridge %s --help'.\n", cli_command);
	return CLI_BAD_INPUT;
}

int cli_status_of(int err)
{
	switch (-err) {
	case ENOENT:
		return CLI_NOT_FOUND;
	case EACCES:
	case EPERM:
		return CLI_PERMISSION;
	case EAGAIN:
	case ETIMEDOUT:
		return CLI_TIMEOUT;
	case EEXIST:
		return CLI_EXISTS;
	case EBADMSG:
		return CLI_WRONG_KIND;
	case EBUSY:
	case EUSERS:
		return CLI_BUSY;
	case EPROTO:
		return CLI_NEWER;
	case EINVAL:
	case ENAMETOOLONG:
	case EMSGSIZE:
	case ERANGE:
		return CLI_BAD_INPUT;
	case EINTR:
		return cli_interrupted();
	default:
		return CLI_FAILURE;
	}
}

int cli_fail(int err, const char *name, const char *doing)
{
	if (err == -EINTR && cli_stop_signal != 0)
		return cli_interrupted();
	if (name == NULL)
		cli_error("%s: %s", doing, membridge_strerror(err));
	else if (err == -ENOENT)
		cli_error("%s: %s: %s; 'membridge list' shows the segments that exist", name,
			  doing, membridge_strerror(err));
	else if (err == -EACCES)
		cli_error("%s: %s: %s; 'membridge list' shows its owner and mode", name, doing,
			  membridge_strerror(err));
	else if (err == -EEXIST)
		cli_error("%s: %s: %s; remove it with 'membridge rm %s' or pass --replace", name,
			  doing, membridge_strerror(err), name);
	else if (err == -EBADMSG)
		cli_error("%s: %s: %s; 'membridge info %s' shows what it holds", name, doing,
			  membridge_strerror(err), name);
	else if (err == -EPROTO)
		cli_error("%s: %s: its channel layout is newer than libmembridge %s reads; use a newer membridge",
			  name, doing, membridge_version());
	else
		cli_error("%s: %s: %s", name, doing, membridge_strerror(err));
	return cli_status_of(err);
}
