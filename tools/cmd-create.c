/* SPDX-License-Identifier: MIT */
/* membridge create and membridge rm. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cli.h"

static const char create_usage[] =
	"Usage: membridge create --ring CAPACITY [--mode MODE] [--replace] NAME\n"
	"       membridge create --view BYTES [--mode MODE] [--replace] NAME\n"
	"\n"
	"Create a segment ready for use.\n"
	"\n"
	"  --ring CAPACITY  a message ring of CAPACITY bytes (a power of two, at\n"
	"                   least 8); the segment is CAPACITY + 24 bytes\n"
	"  --view BYTES     a view with BYTES of data; the segment is BYTES + 4 bytes\n"
	"  --mode MODE      octal permission bits (default 0600; the umask is not applied)\n"
	"  --replace        remove an existing segment of that name first\n"
	"  -h, --help       show this help\n"
	"\n"
	"Sizes take an optional K, M or G suffix (4K = 4096).\n";

static const char rm_usage[] =
	"Usage: membridge rm [-f|--force] NAME...\n"
	"\n"
	"Remove segments and their companions. Processes that have a segment\n"
	"open keep using it until they close it.\n"
	"\n"
	"  -f, --force  a name that does not exist is not an error\n"
	"  -h, --help   show this help\n";

/* Why membridge_spsc_segment_size() refused a capacity, with the nearest
 * valid ones. */
static int bad_capacity(uint64_t capacity)
{
	uint64_t lower = MEMBRIDGE_SPSC_MIN_CAPACITY;

	if (capacity < MEMBRIDGE_SPSC_MIN_CAPACITY)
		return cli_usage_error("ring capacity %llu is too small: the smallest is %u",
				       (unsigned long long)capacity, MEMBRIDGE_SPSC_MIN_CAPACITY);
	while (lower <= capacity / 2)
		lower *= 2;
	return cli_usage_error("ring capacity %llu is not a power of two: use %llu or %llu",
			       (unsigned long long)capacity, (unsigned long long)lower,
			       (unsigned long long)lower * 2);
}

/* Create the segment, then open it once as a ring or view: the creator's
 * first open writes the ring header or frees the lock word. */
static int create(const char *name, bool ring, uint64_t bytes, unsigned mode, bool replace)
{
	uint64_t header = ring ? MEMBRIDGE_SPSC_HEADER : MEMBRIDGE_VIEW_HEADER;
	struct membridge_segment *seg = NULL;
	struct membridge_spsc *spsc = NULL;
	struct membridge_view *view = NULL;
	int ret;

	if (bytes > SIZE_MAX - header)
		return cli_usage_error("%llu bytes is more than this system can map",
				       (unsigned long long)bytes);
	if (ring && membridge_spsc_segment_size(bytes) == 0)
		return bad_capacity(bytes);
	ret = membridge_segment_create(name, (size_t)(bytes + header), mode,
				       replace ? MEMBRIDGE_CREATE_REPLACE : MEMBRIDGE_CREATE_EXCLUSIVE,
				       &seg);
	if (ret < 0)
		return cli_fail(ret, name, "cannot create it");
	ret = ring ? membridge_spsc_open(seg, &spsc) : membridge_view_open(seg, &view);
	membridge_spsc_close(spsc);
	membridge_view_close(view);
	membridge_segment_close(seg);
	if (ret < 0) {
		membridge_segment_remove(name);
		return cli_fail(ret, name, "cannot initialise it");
	}
	if (ring)
		printf("created ring %s: capacity %llu, %llu bytes, mode %04o\n", name,
		       (unsigned long long)bytes, (unsigned long long)(bytes + header), mode);
	else
		printf("created view %s: %llu data bytes, %llu bytes, mode %04o\n", name,
		       (unsigned long long)bytes, (unsigned long long)(bytes + header), mode);
	return CLI_OK;
}

int cli_cmd_create(int argc, char **argv)
{
	static const struct option options[] = {
		{ "ring", required_argument, NULL, 'r' },
		{ "view", required_argument, NULL, 'v' },
		{ "mode", required_argument, NULL, 'm' },
		{ "replace", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ring_arg = NULL, *view_arg = NULL;
	unsigned mode = MEMBRIDGE_MODE_DEFAULT;
	bool replace = false;
	uint64_t bytes;
	cli_name name;
	int c;

	while ((c = cli_next_option(argc, argv, ":h", options)) != -1) {
		switch (c) {
		case 'r':
			ring_arg = optarg;
			break;
		case 'v':
			view_arg = optarg;
			break;
		case 'm':
			if (cli_parse_mode(optarg, &mode) != 0)
				return CLI_BAD_INPUT;
			break;
		case 'R':
			replace = true;
			break;
		case 'h':
			return cli_print_help(create_usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if ((ring_arg == NULL) == (view_arg == NULL))
		return cli_usage_error("give exactly one of --ring CAPACITY and --view BYTES");
	if (cli_parse_operand_name(argc, argv, name) != 0)
		return CLI_BAD_INPUT;
	if (ring_arg != NULL) {
		if (cli_parse_size("ring capacity", ring_arg, &bytes) != 0)
			return CLI_BAD_INPUT;
		return create(name, true, bytes, mode, replace);
	}
	if (cli_parse_size("view size", view_arg, &bytes) != 0)
		return CLI_BAD_INPUT;
	return create(name, false, bytes, mode, replace);
}

int cli_cmd_rm(int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, i, status = CLI_OK;
	bool force = false;

	while ((c = cli_next_option(argc, argv, ":fh", options)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			return cli_print_help(rm_usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (optind == argc)
		return cli_usage_error("no segment NAME given");
	for (i = optind; i < argc; i++) {
		cli_name name;
		int ret, failed = CLI_OK;

		if (cli_parse_name(argv[i], name) != 0) {
			failed = CLI_BAD_INPUT;
		} else {
			ret = membridge_segment_remove(name);
			if (ret < 0 && !(force && ret == -ENOENT))
				failed = cli_fail(ret, name, "cannot remove it");
		}
		if (status == CLI_OK)
			status = failed;
	}
	return status;
}
