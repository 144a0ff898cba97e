/* SPDX-License-Identifier: MIT */
/* membridge watch: a ring's or a channel's fill level and rates, sampled live. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge watch [--interval T] [-n|--count N] NAME\n"
	"\n"
	"Sample a ring or a channel every interval. For a ring: its fill level,\n"
	"messages pending and the rates in (pushed) and out (popped), in bytes and\n"
	"messages per second; '~' marks a message rate estimated from the average\n"
	"message size when the messages were already gone. For a channel: its fill\n"
	"level, messages published, subscribers and the largest lag, and the rate\n"
	"in (published) in data bytes and messages per second. On a terminal the\n"
	"line is redrawn in place. The segment is only read. Ctrl-C ends it.\n"
	"\n"
	"  --interval T   time between samples (default 1s), e.g. 0.5, 200ms\n"
	"  -n, --count N  stop after N samples\n"
	"  -h, --help     show this help\n";

#define BAR_WIDTH 20

struct sample {
	struct cli_ring_state ring;
	int64_t at_ns;
};

/* Messages per second and whether the count was exact. */
struct msg_rate {
	double per_second;
	bool exact, known;
};

struct watcher {
	struct cli_mapping map;
	double avg_frame;   /* bytes per frame seen lately, 0 if never */
	bool tty;
};

static struct msg_rate estimate(const struct watcher *w, uint64_t bytes, double seconds)
{
	struct msg_rate r = { 0, false, w->avg_frame > 0 || bytes == 0 };

	if (w->avg_frame > 0)
		r.per_second = (double)bytes / w->avg_frame / seconds;
	return r;
}

static void format_msg_rate(struct msg_rate r, char *buf, size_t len)
{
	if (!r.known)
		snprintf(buf, len, "? msg/s");
	else
		snprintf(buf, len, "%s%.0f msg/s", r.exact ? "" : "~", r.per_second);
}

/* The start of a line: "\r" on a terminal, then the time of day. */
static void begin_line(const struct watcher *w)
{
	char clock[16];
	time_t t = time(NULL);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	if (w->tty)
		fputs("\r", stdout);
	fputs(clock, stdout);
}

static void end_line(const struct watcher *w)
{
	fputs(w->tty ? "\033[K" : "\n", stdout);
	fflush(stdout);
}

/* " used 1024/4096 (25%) [#####...............]" */
static void print_fill(uint64_t used, uint64_t size)
{
	char bar[BAR_WIDTH + 1];
	int fill = (int)(used * BAR_WIDTH / size), i;

	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[BAR_WIDTH] = '\0';
	printf(" used %llu/%llu (%llu%%) [%s]", (unsigned long long)used,
	       (unsigned long long)size, (unsigned long long)(used * 100 / size), bar);
}

static void print_line(const struct watcher *w, const struct sample *now, const char *rates)
{
	const struct cli_ring_state *ring = &now->ring;
	char pending[32];

	begin_line(w);
	if (!ring->valid) {
		printf(" corrupt: %s", ring->problem);
	} else {
		if (ring->pending >= 0)
			snprintf(pending, sizeof(pending), "%lld", (long long)ring->pending);
		else
			snprintf(pending, sizeof(pending), "?");
		print_fill(ring->used, ring->capacity);
		printf(" %s pending%s", pending, rates);
	}
	end_line(w);
}

/* "  in 10.2 KB/s 410 msg/s  out 9.8 KB/s 400 msg/s" between two samples. */
static void format_rates(struct watcher *w, const struct sample *then, const struct sample *now,
			 char *buf, size_t len)
{
	double seconds = (double)(now->at_ns - then->at_ns) / 1e9;
	uint64_t in_bytes = now->ring.tail - then->ring.tail;
	uint64_t out_bytes = now->ring.head - then->ring.head;
	int64_t in_count = cli_ring_count_frames(&w->map, then->ring.tail, now->ring.tail);
	struct msg_rate in, out;
	char in_b[32], out_b[32], in_m[32], out_m[32];

	if (now->ring.pending > 0)
		w->avg_frame = (double)now->ring.used / (double)now->ring.pending;
	else if (in_count > 0)
		w->avg_frame = (double)in_bytes / (double)in_count;
	if (in_count >= 0) {
		in = (struct msg_rate){ (double)in_count / seconds, true, true };
	} else {
		in = estimate(w, in_bytes, seconds);
	}
	if (in_count >= 0 && then->ring.pending >= 0 && now->ring.pending >= 0) {
		int64_t popped = then->ring.pending + in_count - now->ring.pending;

		out = (struct msg_rate){ (double)popped / seconds, true, popped >= 0 };
	} else {
		out = estimate(w, out_bytes, seconds);
	}
	cli_format_rate((double)in_bytes / seconds, "B", in_b, sizeof(in_b));
	cli_format_rate((double)out_bytes / seconds, "B", out_b, sizeof(out_b));
	format_msg_rate(in, in_m, sizeof(in_m));
	format_msg_rate(out, out_m, sizeof(out_m));
	snprintf(buf, len, "  in %s %s  out %s %s", in_b, in_m, out_b, out_m);
}

static int watch(struct watcher *w, int64_t interval, uint64_t count)
{
	struct sample then = { 0 }, now;
	uint64_t taken = 0;
	char rates[160];

	for (;;) {
		cli_ring_sample(&w->map, &now.ring);
		now.at_ns = cli_now_ns();
		rates[0] = '\0';
		if (taken > 0 && then.ring.valid && now.ring.valid && now.at_ns > then.at_ns)
			format_rates(w, &then, &now, rates, sizeof(rates));
		print_line(w, &now, rates);
		then = now;
		if (++taken == count || !cli_sleep(interval))
			break;
	}
	if (w->tty)
		fputc('\n', stdout);
	return CLI_OK;
}

/* A channel sample: what the rates are computed from. */
struct channel_point {
	uint64_t tail, published;
	int64_t at_ns;
	bool valid;
};

static void print_channel_line(const struct watcher *w, const struct cli_channel_state *ch,
			       const char *rates)
{
	const struct membridge_channel_info *in = &ch->info;

	begin_line(w);
	if (!ch->valid) {
		printf(" unreadable: %s", ch->problem);
	} else {
		print_fill(in->used, in->config.data_size);
		printf(" %llu published, %u subscriber%s, lag %llu%s",
		       (unsigned long long)in->next_seq, in->subscribers,
		       in->subscribers == 1 ? "" : "s", (unsigned long long)ch->max_lag, rates);
	}
	end_line(w);
}

static int watch_channel(struct watcher *w, struct cli_channel_state *ch, int64_t interval,
			 uint64_t count)
{
	struct channel_point then = { 0 }, now;
	uint64_t taken = 0;
	char rates[96], bytes[32];
	double seconds;

	for (;;) {
		if (taken > 0)
			cli_channel_sample(&w->map, ch);
		now = (struct channel_point){ ch->info.tail, ch->info.next_seq, cli_now_ns(),
					      ch->valid };
		rates[0] = '\0';
		/* A publisher taking over a dead one's channel goes on from its
		 * tail, so both only grow. */
		if (taken > 0 && then.valid && now.valid && now.at_ns > then.at_ns &&
		    now.tail >= then.tail && now.published >= then.published) {
			seconds = (double)(now.at_ns - then.at_ns) / 1e9;
			cli_format_rate((double)(now.tail - then.tail) / seconds, "B", bytes,
					sizeof(bytes));
			snprintf(rates, sizeof(rates), "  in %s %.0f msg/s", bytes,
				 (double)(now.published - then.published) / seconds);
		}
		print_channel_line(w, ch, rates);
		then = now;
		if (++taken == count || !cli_sleep(interval))
			break;
	}
	if (w->tty)
		fputc('\n', stdout);
	return CLI_OK;
}

int cli_cmd_watch(int argc, char **argv)
{
	static const struct option options[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct watcher w = { .tty = isatty(STDOUT_FILENO) != 0 };
	struct cli_channel_state ch = { 0 };
	int64_t interval = 1000000000;
	uint64_t count = 0;
	cli_name name;
	int c, ret;

	while ((c = cli_next_option(argc, argv, ":n:h", options)) != -1) {
		switch (c) {
		case 'i':
			if (cli_parse_duration("interval", optarg, &interval) != 0)
				return CLI_BAD_INPUT;
			if (interval <= 0)
				return cli_usage_error("the interval must be a positive duration such as 0.5 or 200ms");
			break;
		case 'n':
			if (cli_parse_count("count", optarg, &count) != 0)
				return CLI_BAD_INPUT;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (cli_parse_operand_name(argc, argv, name) != 0)
		return CLI_BAD_INPUT;
	ret = cli_map_readonly(name, &w.map);
	if (ret < 0)
		return cli_fail(ret, name, "cannot read it");
	cli_channel_sample(&w.map, &ch);
	if (ch.error == -EPROTO) {
		ret = cli_fail(ch.error, name, "cannot watch it");
	} else if (ch.valid) {
		cli_catch_stop_signals();
		ret = watch_channel(&w, &ch, interval, count);
	} else if (cli_looks_like_ring(&w.map)) {
		cli_catch_stop_signals();
		ret = watch(&w, interval, count);
	} else {
		cli_error("%s: not a ring or channel; 'membridge info %s' shows what it is", name,
			  name);
		ret = CLI_WRONG_KIND;
	}
	free(ch.slots);
	cli_unmap(&w.map);
	return ret;
}
