/* SPDX-License-Identifier: MIT */
/* membridge unlock: free a view lock whose holder died. */
#include "config.h"

#include <errno.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge unlock [--force] NAME\n"
	"\n"
	"Free the lock of view NAME when the process holding it for writing has\n"
	"died (see membridge_view_break_lock(3)). Refuses, with exit status 8, when\n"
	"the writer is alive, when readers hold the lock, or when the holder cannot\n"
	"be judged (an anonymous -1 writer, another pid namespace).\n"
	"\n"
	"  --force     reset the lock word to free whatever it holds: only when\n"
	"              every process that used the lock is known to be gone\n"
	"  -h, --help  show this help\n";

static int unlock(const char *name, struct membridge_view *view, bool force)
{
	struct cli_segment seg = { .kind = CLI_KIND_UNKNOWN };
	char holder[96] = "unknown";
	int ret;

	/* What holds the lock now, read without taking it. */
	ret = cli_inspect(name, &seg);
	cli_segment_clear(&seg); /* only the view state is used */
	if (ret == 0 && seg.kind == CLI_KIND_VIEW) {
		if (seg.view.state == MEMBRIDGE_LOCK_FREE) {
			printf("lock of %s is free; nothing to do\n", name);
			return CLI_OK;
		}
		cli_describe_lock(&seg.view, holder, sizeof(holder));
	}
	ret = membridge_view_break_lock(view, force ? MEMBRIDGE_BREAK_FORCE : 0);
	if (ret == 0 && force) {
		printf("forced the lock of %s free (it held: %s)\n", name, holder);
		return CLI_OK;
	}
	if (ret == 0) {
		printf("freed the lock of %s held by dead pid %lld\n", name,
		       (long long)seg.view.writer_pid);
		return CLI_OK;
	}
	if (ret == -EBUSY || ret == -EPERM) {
		cli_error("%s: refusing to free the lock: %s; %s", name, holder,
			  ret == -EBUSY ? "the writer is alive"
					: "whether its holder is alive cannot be told (readers, or a writer that did not register through libmembridge in this pid namespace)");
		cli_error("--force resets the lock whatever it holds: use it only when every process using %s is gone",
			  name);
		return CLI_REFUSED;
	}
	return cli_fail(ret, name, "cannot free the lock");
}

int cli_cmd_unlock(int argc, char **argv)
{
	static const struct option options[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct membridge_segment *seg = NULL;
	struct membridge_view *view = NULL;
	bool force = false;
	cli_name name;
	int c, status;

	while ((c = cli_next_option(argc, argv, ":h", options)) != -1) {
		switch (c) {
		case 'f':
			force = true;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (cli_parse_operand_name(argc, argv, name) != 0)
		return CLI_BAD_INPUT;
	status = cli_open_view(name, &seg, &view);
	if (status != CLI_OK)
		return status;
	status = unlock(name, view, force);
	membridge_view_close(view);
	membridge_segment_close(seg);
	return status;
}
