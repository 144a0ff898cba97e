/* SPDX-License-Identifier: MIT */
/* Opening a named segment as a ring, a view or a channel, with errors that
 * say why not. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "cli.h"

/* The ring or view has no business here: say what the segment is. */
static int wrong_kind(const char *name, const char *wanted)
{
	struct cli_segment seg;

	if (cli_inspect(name, &seg) != 0)
		cli_error("%s: not a %s", name, wanted);
	else if (seg.kind == CLI_KIND_RING && !seg.ring.valid)
		cli_error("%s: not usable as a %s: its ring header is corrupt (%s)", name, wanted,
			  seg.ring.problem);
	else
		cli_error("%s: not a %s (kind: %s, %llu bytes); 'membridge info %s' shows more",
			  name, wanted, cli_kind_name(seg.kind), (unsigned long long)seg.size, name);
	cli_segment_clear(&seg);
	return CLI_WRONG_KIND;
}

int cli_open_view(const char *name, struct membridge_segment **segp,
		  struct membridge_view **viewp)
{
	struct membridge_segment *seg;
	struct cli_segment info;
	int ret;

	ret = cli_inspect(name, &info);
	cli_segment_clear(&info);
	if (ret == 0 && info.kind != CLI_KIND_VIEW)
		return wrong_kind(name, "view");
	ret = membridge_segment_open(name, 0, &seg);
	if (ret < 0)
		return cli_fail(ret, name, "cannot open it");
	ret = membridge_view_open(seg, viewp);
	if (ret < 0) {
		membridge_segment_close(seg);
		return cli_fail(ret, name, "cannot open it as a view");
	}
	*segp = seg;
	return CLI_OK;
}

/* -EBUSY: who publishes now, as far as inspecting the channel tells. */
static int publisher_busy(const char *name)
{
	struct cli_segment seg;
	int64_t pid = 0;

	if (cli_inspect(name, &seg) == 0 && seg.kind == CLI_KIND_CHANNEL && seg.channel.valid)
		pid = seg.channel.info.publisher;
	cli_segment_clear(&seg);
	if (pid != 0)
		cli_error("%s: the channel already has a live publisher, pid %lld; a channel has one publisher at a time",
			  name, (long long)pid);
	else
		cli_error("%s: the channel already has a live publisher; a channel has one publisher at a time",
			  name);
	return CLI_BUSY;
}

static int open_channel(const char *name, bool publish, unsigned subscribe, struct cli_queue *q)
{
	int ret;

	if (publish) {
		ret = membridge_publisher_open(q->seg, &q->pub);
		if (ret == -EBUSY)
			return publisher_busy(name);
		if (ret < 0)
			return cli_fail(ret, name, "cannot become the channel's publisher");
		return CLI_OK;
	}
	ret = membridge_subscriber_open(q->seg, subscribe, &q->sub);
	if (ret == -EUSERS) {
		cli_error("%s: every one of the channel's %u subscriber slots holds a live subscriber; 'membridge info %s' lists them",
			  name, q->cfg.subscribers, name);
		return CLI_BUSY;
	}
	if (ret < 0)
		return cli_fail(ret, name, "cannot subscribe to the channel");
	return CLI_OK;
}

int cli_open_queue(const char *name, bool publish, unsigned subscribe, struct cli_queue *q)
{
	int ret, status;

	memset(q, 0, sizeof(*q));
	ret = membridge_segment_open(name, 0, &q->seg);
	if (ret < 0)
		return cli_fail(ret, name, "cannot open it");
	ret = membridge_channel_config(q->seg, &q->cfg);
	if (ret == 0 || ret == -EPROTO) {
		status = ret == 0 ? open_channel(name, publish, subscribe, q)
				  : cli_fail(ret, name, "cannot use the channel");
	} else {
		/* No channel (-EBADMSG, or -EAGAIN: all zero): a ring or nothing. */
		ret = membridge_spsc_open(q->seg, &q->spsc);
		if (ret == -EBADMSG || ret == -EAGAIN || ret == -EINVAL)
			status = wrong_kind(name, "ring or channel");
		else if (ret < 0)
			status = cli_fail(ret, name, "cannot open it as a ring");
		else
			status = CLI_OK;
	}
	if (status != CLI_OK)
		cli_close_queue(q);
	return status;
}

void cli_close_queue(struct cli_queue *q)
{
	membridge_publisher_close(q->pub);
	membridge_subscriber_close(q->sub);
	membridge_spsc_close(q->spsc);
	membridge_segment_close(q->seg);
	memset(q, 0, sizeof(*q));
}
