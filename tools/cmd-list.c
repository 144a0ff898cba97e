/* SPDX-License-Identifier: MIT */
/* membridge list: every segment in /dev/shm, as a table or JSON; where
 * segments are no files (macOS), -ENOTSUP. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge list [--json] [-a|--all]\n"
	"\n"
	"List every shared-memory segment with its size, owner, mode, age and\n"
	"what it holds: a ring (capacity, bytes used, messages pending), a view\n"
	"(lock state), a channel (data size, bytes used, messages published,\n"
	"subscribers, publisher) or unknown. Segments are only read, never changed.\n"
	"\n"
	"  --json     print a JSON array of objects instead of a table\n"
	"  -a, --all  include the library's companion segments (*" MEMBRIDGE_COMPANION_SUFFIX ")\n"
	"  -h, --help show this help\n";

struct listing {
	struct cli_segment *segs;
	size_t count, cap;
};

static void free_listing(struct listing *list)
{
	size_t i;

	for (i = 0; i < list->count; i++)
		cli_segment_clear(&list->segs[i]);
	free(list->segs);
}

#ifdef MB_HAVE_SHM_LISTING
static int add_entry(struct listing *list, int dirfd, const char *file, bool all)
{
	struct cli_segment *seg;
	char name[NAME_MAX + 2];
	int fd;

	if (!all && cli_is_companion_name(file))
		return 0;
	if (list->count == list->cap) {
		size_t cap = list->cap ? 2 * list->cap : 64;
		struct cli_segment *segs = realloc(list->segs, cap * sizeof(*segs));

		if (segs == NULL)
			return -ENOMEM;
		list->segs = segs;
		list->cap = cap;
	}
	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0 && (errno == EACCES || errno == EPERM))
		fd = openat(dirfd, file, O_PATH | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0; /* removed meanwhile */
	seg = &list->segs[list->count++];
	snprintf(name, sizeof(name), "/%s", file);
	cli_inspect_fd(fd, name, seg);
	close(fd);
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct cli_segment *)a)->name, ((const struct cli_segment *)b)->name);
}

static int read_directory(struct listing *list, bool all)
{
	DIR *dir = opendir(CLI_SHM_DIR);
	struct dirent *entry;
	int ret = 0;

	if (dir == NULL)
		return -errno;
	while (ret == 0 && (entry = readdir(dir)) != NULL) {
		struct stat st;

		if (fstatat(dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		ret = add_entry(list, dirfd(dir), entry->d_name, all);
	}
	closedir(dir);
	if (list->count) /* segs is NULL for an empty listing */
		qsort(list->segs, list->count, sizeof(*list->segs), by_name);
	return ret;
}

#else
/* macOS keeps its shm_open objects in no directory and has no call that
 * enumerates them. */
static int read_directory(struct listing *list, bool all)
{
	(void)list;
	(void)all;
	return -ENOTSUP;
}
#endif

static void print_json(const struct listing *list)
{
	size_t i;

	fputc('[', stdout);
	for (i = 0; i < list->count; i++) {
		fputs(i ? ",\n " : "", stdout);
		cli_segment_json(stdout, &list->segs[i]);
	}
	fputs("]\n", stdout);
}

enum column { C_NAME, C_SIZE, C_OWNER, C_MODE, C_AGE, C_KIND, C_DETAILS, N_COLUMNS };

static const char *const headings[N_COLUMNS] = {
	"NAME", "SIZE", "OWNER", "MODE", "AGE", "KIND", "DETAILS",
};

/* The cells of one row, each at most 255 characters. */
static void row_cells(const struct cli_segment *seg, char cells[N_COLUMNS][256])
{
	snprintf(cells[C_NAME], 256, "%s", seg->name);
	snprintf(cells[C_SIZE], 256, "%llu", (unsigned long long)seg->size);
	cli_format_owner(seg->uid, cells[C_OWNER], 256);
	snprintf(cells[C_MODE], 256, "%04o", seg->mode);
	cli_format_age(seg->age_seconds, cells[C_AGE], 256);
	snprintf(cells[C_KIND], 256, "%s", cli_kind_name(seg->kind));
	cli_segment_details(seg, cells[C_DETAILS], 256);
}

static void print_row(char cells[N_COLUMNS][256], const int *width)
{
	char line[N_COLUMNS * 260];
	size_t len = 0;
	int c;

	for (c = 0; c < C_DETAILS; c++)
		len += (size_t)snprintf(line + len, sizeof(line) - len,
					c == C_SIZE ? "%*s  " : "%-*s  ", width[c], cells[c]);
	snprintf(line + len, sizeof(line) - len, "%s", cells[C_DETAILS]);
	len = strlen(line);
	while (len > 0 && line[len - 1] == ' ')
		line[--len] = '\0';
	puts(line);
}

static void print_table(const struct listing *list)
{
	char cells[N_COLUMNS][256];
	int width[N_COLUMNS];
	size_t i;
	int c;

	for (c = 0; c < N_COLUMNS; c++)
		width[c] = (int)strlen(headings[c]);
	for (i = 0; i < list->count; i++) {
		row_cells(&list->segs[i], cells);
		for (c = 0; c < N_COLUMNS; c++)
			if ((int)strlen(cells[c]) > width[c])
				width[c] = (int)strlen(cells[c]);
	}
	for (c = 0; c < N_COLUMNS; c++)
		snprintf(cells[c], 256, "%s", headings[c]);
	print_row(cells, width);
	for (i = 0; i < list->count; i++) {
		row_cells(&list->segs[i], cells);
		print_row(cells, width);
	}
}

int cli_cmd_list(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct listing list = { 0 };
	bool json = false, all = false;
	int c, ret;

	while ((c = cli_next_option(argc, argv, ":ah", options)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'a':
			all = true;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (optind != argc)
		return cli_usage_error("unexpected argument '%s'", argv[optind]);
	ret = read_directory(&list, all);
	if (ret == -ENOTSUP) {
		cli_error("this system keeps no directory of shared-memory segments to read; "
			  "'membridge info NAME' shows a segment whose name you know");
		return CLI_FAILURE;
	}
	if (ret < 0) {
		free_listing(&list);
		return cli_fail(ret, NULL, "reading " CLI_SHM_DIR);
	}
	if (json)
		print_json(&list);
	else
		print_table(&list);
	free_listing(&list);
	return CLI_OK;
}
