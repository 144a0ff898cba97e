/* SPDX-License-Identifier: MIT */
/* Command-line values: names, durations, sizes, counts, modes and tags. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stdio.h>

#include "cli.h"

/* membridge_name_check() of a normalised name. Companion names belong to
 * the library, but list shows them: one is accepted when its segment's name
 * is, so that info can look at it (opening it still fails). */
static int check_name(const char *full)
{
	char base[MEMBRIDGE_NAME_MAX + 1];
	size_t len = strlen(full) - strlen(MEMBRIDGE_COMPANION_SUFFIX);
	int ret = membridge_name_check(full);

	if (ret != -EINVAL || !cli_is_companion_name(full))
		return ret;
	memcpy(base, full, len);
	base[len] = '\0';
	return membridge_name_check(base);
}

int cli_parse_name(const char *arg, cli_name name)
{
	const char *rest = arg[0] == '/' ? arg + 1 : arg;
	/* One byte more than a valid name: a longer one stays too long. */
	char full[MEMBRIDGE_NAME_MAX + 2];
	int ret;

	snprintf(full, sizeof(full), "/%s", rest);
	ret = check_name(full);
	if (ret == -ENAMETOOLONG)
		return cli_usage_error("segment name '%s' is longer than %d characters",
				       arg, MEMBRIDGE_NAME_MAX);
	/* The library decided; say why in the terms of its rules. */
	if (ret < 0 && rest[0] == '\0')
		return cli_usage_error("empty segment name '%s'", arg);
	if (ret < 0 && strchr(rest, '/') != NULL)
		return cli_usage_error("invalid segment name '%s': only the leading character may be '/'", arg);
	if (ret < 0)
		return cli_usage_error("invalid segment name '%s'", arg);
	memcpy(name, full, strlen(full) + 1);
	return 0;
}

int cli_parse_operand_name(int argc, char **argv, cli_name name)
{
	if (optind == argc)
		return cli_usage_error("no segment NAME given");
	if (argc - optind > 1)
		return cli_usage_error("more than one NAME given ('%s')", argv[optind + 1]);
	return cli_parse_name(argv[optind], name);
}

static const struct {
	const char *unit;
	double ns;
} duration_units[] = {
	{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 }, { "", 1e9 },
};

int cli_parse_duration(const char *what, const char *arg, int64_t *ns)
{
	char *end;
	double value;
	size_t i;

	if (strcasecmp(arg, "inf") == 0 || strcasecmp(arg, "forever") == 0) {
		*ns = MEMBRIDGE_WAIT_FOREVER;
		return 0;
	}
	errno = 0;
	value = strtod(arg, &end);
	if (end == arg || errno != 0 || !isfinite(value) || value < 0)
		goto bad;
	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++) {
		if (strcmp(end, duration_units[i].unit) != 0)
			continue;
		value *= duration_units[i].ns;
		if (value >= 9.2e18)
			goto bad;
		*ns = (int64_t)value;
		return 0;
	}
bad:
	return cli_usage_error("invalid %s '%s': give a duration such as 2, 0.5s, 200ms or inf",
			       what, arg);
}

static const struct {
	const char *suffix;
	unsigned shift;
} size_suffixes[] = {
	{ "", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
	{ "G", 30 }, { "GiB", 30 },
};

int cli_parse_size(const char *what, const char *arg, uint64_t *bytes)
{
	char *end;
	unsigned long long value;
	size_t i;

	errno = 0;
	value = strtoull(arg, &end, 10);
	if (end == arg || arg[0] == '-' || arg[0] == '+' || errno != 0 || value == 0)
		goto bad;
	for (i = 0; i < sizeof(size_suffixes) / sizeof(size_suffixes[0]); i++) {
		unsigned shift = size_suffixes[i].shift;

		if (strcasecmp(end, size_suffixes[i].suffix) != 0)
			continue;
		if (value > (UINT64_MAX >> shift))
			goto bad;
		*bytes = (uint64_t)value << shift;
		return 0;
	}
bad:
	return cli_usage_error("invalid %s '%s': give a positive number of bytes such as 4096 or 64K",
			       what, arg);
}

int cli_parse_count(const char *what, const char *arg, uint64_t *count)
{
	char *end;
	unsigned long long value;

	errno = 0;
	value = strtoull(arg, &end, 10);
	if (end == arg || *end != '\0' || arg[0] == '-' || arg[0] == '+' || errno != 0 || value == 0)
		return cli_usage_error("invalid %s '%s': give a positive whole number", what, arg);
	*count = value;
	return 0;
}

int cli_parse_mode(const char *arg, unsigned *mode)
{
	char *end;
	unsigned long value;

	errno = 0;
	value = strtoul(arg, &end, 8);
	if (end == arg || *end != '\0' || arg[0] == '-' || arg[0] == '+' || errno != 0 ||
	    value == 0 || value > 0777)
		return cli_usage_error("invalid mode '%s': give octal permission bits from 1 to 0777, such as 0660",
				       arg);
	*mode = (unsigned)value;
	return 0;
}

int cli_parse_tag(const char *arg, enum membridge_type *type)
{
	if (membridge_type_from_name(arg, type) < 0)
		return cli_usage_error("unknown tag '%s': use one of bool u8 i32 u32 f32 int i64 u64 float f64 str",
				       arg);
	return 0;
}

int cli_next_option(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
	int c;

	opterr = 0;
	c = getopt_long(argc, argv, shortopts, longopts, NULL);
	if (c == ':') {
		cli_usage_error("option '%s' needs a value", argv[optind - 1]);
		return '?';
	}
	if (c == '?') {
		cli_usage_error("unknown option '%s'", argv[optind - 1]);
		return '?';
	}
	return c;
}

int cli_print_help(const char *usage)
{
	fputs(usage, stdout);
	return CLI_OK;
}
