/* SPDX-License-Identifier: MIT */
/* Opening a named segment as a ring or a view, with errors that say why not. */
#include "config.h"

#include <errno.h>

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
	return CLI_WRONG_KIND;
}

int cli_open_ring(const char *name, struct membridge_segment **segp,
		  struct membridge_spsc **spscp)
{
	struct membridge_segment *seg;
	int ret = membridge_segment_open(name, 0, &seg);

	if (ret < 0)
		return cli_fail(ret, name, "cannot open it");
	ret = membridge_spsc_open(seg, spscp);
	if (ret == -EBADMSG || ret == -EAGAIN || ret == -EINVAL) {
		membridge_segment_close(seg);
		return wrong_kind(name, "ring");
	}
	if (ret < 0) {
		membridge_segment_close(seg);
		return cli_fail(ret, name, "cannot open it as a ring");
	}
	*segp = seg;
	return CLI_OK;
}

int cli_open_view(const char *name, struct membridge_segment **segp,
		  struct membridge_view **viewp)
{
	struct membridge_segment *seg;
	struct cli_segment info;
	int ret;

	ret = cli_inspect(name, &info);
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
