/* SPDX-License-Identifier: MIT */
/* Text forms: JSON strings, escaped bytes, ages, rates and owners. */
#include "config.h"

#include <pwd.h>
#include <stdio.h>

#include "cli.h"

void cli_json_string(FILE *out, const char *s, size_t len)
{
	size_t i;

	fputc('"', out);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

void cli_escape_bytes(FILE *out, const void *buf, size_t len)
{
	const unsigned char *p = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\\')
			fputs("\\\\", out);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			fputc(p[i], out);
		else
			fprintf(out, "\\x%02x", p[i]);
	}
}

void cli_format_age(int64_t seconds, char *buf, size_t len)
{
	if (seconds < 60)
		snprintf(buf, len, "%llds", (long long)seconds);
	else if (seconds < 3600)
		snprintf(buf, len, "%lldm", (long long)(seconds / 60));
	else if (seconds < 86400)
		snprintf(buf, len, "%lldh", (long long)(seconds / 3600));
	else
		snprintf(buf, len, "%lldd", (long long)(seconds / 86400));
}

void cli_format_rate(double per_second, const char *unit, char *buf, size_t len)
{
	static const char prefixes[] = " KMGT";
	int i = 0;

	while (per_second >= 1000 && i < 4) {
		per_second /= 1000;
		i++;
	}
	if (i == 0)
		snprintf(buf, len, "%.0f %s/s", per_second, unit);
	else
		snprintf(buf, len, "%.1f %c%s/s", per_second, prefixes[i], unit);
}

void cli_format_owner(uid_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%lu", (unsigned long)uid);
}
