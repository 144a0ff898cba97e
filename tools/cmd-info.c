/* SPDX-License-Identifier: MIT */
/* membridge info: everything about one segment. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge info [--json] NAME\n"
	"\n"
	"Show one segment: size, owner, mode, age and kind; for a ring its\n"
	"head, tail, capacity, bytes used and free, messages pending and whether\n"
	"the header and frames are consistent; for a view its lock word decoded;\n"
	"for a channel its shape, messages published, fill level, publisher and\n"
	"subscribers with their lag. The segment is only read. Exit status 7 when\n"
	"a ring fails validation, 10 for a channel layout newer than this tool's.\n"
	"\n"
	"  --json     print one JSON object\n"
	"  -h, --help show this help\n";

static void print_ring(const struct cli_ring_state *ring)
{
	printf("capacity: %llu\n", (unsigned long long)ring->capacity);
	printf("head: %llu\n", (unsigned long long)ring->head);
	printf("tail: %llu\n", (unsigned long long)ring->tail);
	printf("used: %llu\n", (unsigned long long)ring->used);
	printf("free: %llu\n", (unsigned long long)ring->free_bytes);
	if (ring->pending >= 0)
		printf("pending: %lld\n", (long long)ring->pending);
	else
		printf("pending: ?\n");
	if (ring->valid)
		printf("verdict: ok\n");
	else
		printf("verdict: corrupt: %s\n", ring->problem);
}

static void print_view(const struct cli_view_state *view)
{
	char lock[96];

	cli_describe_lock(view, lock, sizeof(lock));
	printf("data size: %llu\n", (unsigned long long)view->data_size);
	printf("lock word: %d\n", view->word);
	printf("lock: %s\n", lock);
}

static void print_pid(const char *what, int64_t pid)
{
	if (pid != 0)
		printf("%s: pid %lld (%s)", what, (long long)pid,
		       cli_pid_alive(pid) ? "alive" : "no such process");
	else
		printf("%s: none", what);
}

static void print_channel(const struct cli_channel_state *ch)
{
	const struct membridge_channel_info *in = &ch->info;
	size_t i;

	if (!ch->valid) {
		printf("verdict: %s: %s\n", ch->error == -EPROTO ? "unsupported" : "unreadable",
		       ch->problem);
		return;
	}
	printf("version: %u\n", MEMBRIDGE_CHANNEL_VERSION);
	printf("data size: %llu\n", (unsigned long long)in->config.data_size);
	printf("max message: %llu\n", (unsigned long long)in->config.max_message);
	printf("slots: %u\n", in->config.subscribers);
	printf("published: %llu\n", (unsigned long long)in->next_seq);
	printf("tail: %llu\n", (unsigned long long)in->tail);
	printf("used: %llu (%llu%%)\n", (unsigned long long)in->used,
	       (unsigned long long)(in->used * 100 / in->config.data_size));
	print_pid("publisher", in->publisher);
	putchar('\n');
	printf("subscribers: %u\n", in->subscribers);
	for (i = 0; i < ch->count; i++) {
		const struct membridge_subscriber_info *sl = &ch->slots[i];
		char what[32];

		snprintf(what, sizeof(what), "subscriber %u", sl->slot);
		print_pid(what, sl->pid);
		if (sl->evicted)
			printf(", evicted\n");
		else if (!sl->active)
			printf(", joining\n");
		else
			printf(", lag %llu message%s, %llu bytes\n", (unsigned long long)sl->lag,
			       sl->lag == 1 ? "" : "s", (unsigned long long)sl->lag_bytes);
	}
	printf("verdict: ok\n");
}

static void print_text(const struct cli_segment *seg)
{
	char owner[64], age[32];

	cli_format_owner(seg->uid, owner, sizeof(owner));
	cli_format_age(seg->age_seconds, age, sizeof(age));
	printf("name: %s\n", seg->name);
	printf("kind: %s\n", cli_kind_name(seg->kind));
	printf("size: %llu\n", (unsigned long long)seg->size);
	printf("owner: %s\n", owner);
	printf("mode: %04o\n", seg->mode);
	printf("age: %s\n", age);
	if (seg->kind == CLI_KIND_RING)
		print_ring(&seg->ring);
	else if (seg->kind == CLI_KIND_VIEW)
		print_view(&seg->view);
	else if (seg->kind == CLI_KIND_CHANNEL)
		print_channel(&seg->channel);
	if (seg->kind != CLI_KIND_COMPANION)
		printf("companion: %s\n", seg->companion_present ? "present" : "absent");
}

int cli_cmd_info(int argc, char **argv)
{
	static const struct option options[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli_segment seg;
	cli_name name;
	bool json = false;
	int c, ret, status = CLI_OK;

	while ((c = cli_next_option(argc, argv, ":h", options)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (cli_parse_operand_name(argc, argv, name) != 0)
		return CLI_BAD_INPUT;
	ret = cli_inspect(name, &seg);
	if (ret < 0) {
		cli_segment_clear(&seg);
		return cli_fail(ret, name, "cannot read it");
	}
	if (json) {
		cli_segment_json(stdout, &seg);
		fputc('\n', stdout);
	} else {
		print_text(&seg);
	}
	if (seg.kind == CLI_KIND_RING && !seg.ring.valid) {
		cli_error("%s: the ring fails validation: %s", name, seg.ring.problem);
		status = CLI_WRONG_KIND;
	} else if (seg.kind == CLI_KIND_CHANNEL && !seg.channel.valid) {
		cli_error("%s: the channel cannot be read: %s", name, seg.channel.problem);
		status = seg.channel.error == -EPROTO ? CLI_NEWER : CLI_WRONG_KIND;
	}
	cli_segment_clear(&seg);
	return status;
}
