/* SPDX-License-Identifier: MIT */
/* membridge create and membridge rm. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cli.h"

static const char create_usage[] =
	"Usage: membridge create --ring CAPACITY [--mode MODE] [--replace] NAME\n"
	"       membridge create --view BYTES [--mode MODE] [--replace] NAME\n"
	"       membridge create --channel BYTES [--subscribers N] [--max-message BYTES]\n"
	"                        [--mode MODE] [--replace] NAME\n"
	"\n"
	"Create a segment ready for use.\n"
	"\n"
	"  --ring CAPACITY  a message ring of CAPACITY bytes (a power of two, at\n"
	"                   least 8); the segment is CAPACITY + 24 bytes\n"
	"  --view BYTES     a view with BYTES of data; the segment is BYTES + 4 bytes\n"
	"  --channel BYTES  a publish/subscribe channel whose messages share BYTES\n"
	"                   of data (a multiple of 64); the segment adds a header and\n"
	"                   a line per subscriber slot (the size is printed)\n"
	"  --subscribers N  channel: subscriber slots, 1 to 1024 (default 8)\n"
	"  --max-message BYTES\n"
	"                   channel: the largest message (default: the largest that\n"
	"                   fits twice in the data)\n"
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

/* The largest max_message whose record fits twice in data_size bytes;
 * 0 if not even a 1-byte one does. */
static uint64_t largest_message(uint64_t data_size)
{
	uint64_t half = data_size / 2 / MEMBRIDGE_CHANNEL_ALIGN * MEMBRIDGE_CHANNEL_ALIGN;
	uint64_t m = half < MEMBRIDGE_CHANNEL_MAX_MESSAGE ? half : MEMBRIDGE_CHANNEL_MAX_MESSAGE;

	/* A record is its payload and a header, padded to the alignment: at
	 * most MEMBRIDGE_CHANNEL_ALIGN steps down find the largest. */
	while (m > 0 && membridge_channel_record_size((size_t)m) > half)
		m--;
	return m;
}

/* Why membridge_channel_segment_size() refused cfg, in terms of the options. */
static int bad_channel(const struct membridge_channel_config *cfg)
{
	uint64_t align = MEMBRIDGE_CHANNEL_ALIGN, lower = cfg->data_size / align * align;
	uint64_t least = 2 * (uint64_t)membridge_channel_record_size(1);

	if (cfg->data_size % align != 0)
		return cli_usage_error("channel data size %llu is not a multiple of %llu: use %llu or %llu",
				       (unsigned long long)cfg->data_size, (unsigned long long)align,
				       (unsigned long long)(lower ? lower : align),
				       (unsigned long long)(lower + align));
	if (cfg->data_size < least)
		return cli_usage_error("channel data size %llu is too small: the smallest is %llu",
				       (unsigned long long)cfg->data_size, (unsigned long long)least);
	if (cfg->max_message > MEMBRIDGE_CHANNEL_MAX_MESSAGE)
		return cli_usage_error("max message %llu is too large: the largest is %llu",
				       (unsigned long long)cfg->max_message,
				       (unsigned long long)MEMBRIDGE_CHANNEL_MAX_MESSAGE);
	if (cfg->max_message > largest_message(cfg->data_size))
		return cli_usage_error("a max message of %llu bytes needs a data size of at least %llu; %llu takes at most %llu",
				       (unsigned long long)cfg->max_message,
				       (unsigned long long)(2 * (uint64_t)membridge_channel_record_size((size_t)cfg->max_message)),
				       (unsigned long long)cfg->data_size,
				       (unsigned long long)largest_message(cfg->data_size));
	return cli_usage_error("%llu bytes is more than this system can map",
			       (unsigned long long)cfg->data_size);
}

/* Create the segment, write the channel into it, and remove it again if
 * that fails. */
static int create_channel(const char *name, struct membridge_channel_config *cfg,
			  unsigned mode, bool replace)
{
	struct membridge_segment *seg;
	size_t size;
	int ret;

	if (cfg->max_message == 0)
		cfg->max_message = largest_message(cfg->data_size);
	size = membridge_channel_segment_size(cfg);
	if (size == 0)
		return bad_channel(cfg);
	ret = membridge_segment_create(name, size, mode,
				       replace ? MEMBRIDGE_CREATE_REPLACE : MEMBRIDGE_CREATE_EXCLUSIVE,
				       &seg);
	if (ret < 0)
		return cli_fail(ret, name, "cannot create it");
	ret = membridge_channel_init(seg, cfg);
	membridge_segment_close(seg);
	if (ret < 0) {
		membridge_segment_remove(name);
		return cli_fail(ret, name, "cannot initialise it");
	}
	printf("created channel %s: %llu data bytes, max message %llu, %u subscriber slot%s, %zu bytes, mode %04o\n",
	       name, (unsigned long long)cfg->data_size, (unsigned long long)cfg->max_message,
	       cfg->subscribers, cfg->subscribers == 1 ? "" : "s", size, mode);
	return CLI_OK;
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
		{ "channel", required_argument, NULL, 'c' },
		{ "subscribers", required_argument, NULL, 's' },
		{ "max-message", required_argument, NULL, 'M' },
		{ "mode", required_argument, NULL, 'm' },
		{ "replace", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ring_arg = NULL, *view_arg = NULL, *channel_arg = NULL;
	const char *subscribers_arg = NULL, *max_arg = NULL;
	struct membridge_channel_config cfg = { .subscribers = 8 };
	unsigned mode = MEMBRIDGE_MODE_DEFAULT;
	bool replace = false;
	uint64_t bytes, n;
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
		case 'c':
			channel_arg = optarg;
			break;
		case 's':
			subscribers_arg = optarg;
			break;
		case 'M':
			max_arg = optarg;
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
	if ((ring_arg != NULL) + (view_arg != NULL) + (channel_arg != NULL) != 1)
		return cli_usage_error("give exactly one of --ring CAPACITY, --view BYTES and --channel BYTES");
	if (channel_arg == NULL && (subscribers_arg != NULL || max_arg != NULL))
		return cli_usage_error("--%s is for channels: give --channel BYTES",
				       subscribers_arg != NULL ? "subscribers" : "max-message");
	if (cli_parse_operand_name(argc, argv, name) != 0)
		return CLI_BAD_INPUT;
	if (channel_arg != NULL) {
		if (cli_parse_size("channel data size", channel_arg, &cfg.data_size) != 0 ||
		    (max_arg != NULL && cli_parse_size("max message", max_arg, &cfg.max_message) != 0))
			return CLI_BAD_INPUT;
		if (subscribers_arg != NULL) {
			if (cli_parse_count("subscribers", subscribers_arg, &n) != 0)
				return CLI_BAD_INPUT;
			if (n > MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS)
				return cli_usage_error("%llu subscribers is too many: a channel has at most %u",
						       (unsigned long long)n, MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS);
			cfg.subscribers = (uint32_t)n;
		}
		return create_channel(name, &cfg, mode, replace);
	}
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
