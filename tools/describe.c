/* SPDX-License-Identifier: MIT */
/* One inspected segment as a table cell or a JSON object (list and info). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

void cli_segment_details(const struct cli_segment *seg, char *buf, size_t len)
{
	const struct cli_ring_state *ring = &seg->ring;
	char lock[96];

	buf[0] = '\0';
	if (!seg->readable && seg->kind != CLI_KIND_COMPANION) {
		snprintf(buf, len, "no read permission");
	} else if (seg->kind == CLI_KIND_RING && !ring->valid) {
		snprintf(buf, len, "corrupt: %s", ring->problem);
	} else if (seg->kind == CLI_KIND_RING) {
		char pending[32];

		if (ring->pending >= 0)
			snprintf(pending, sizeof(pending), "%lld", (long long)ring->pending);
		else
			snprintf(pending, sizeof(pending), "?");
		snprintf(buf, len, "capacity %llu, used %llu (%llu%%), %s pending",
			 (unsigned long long)ring->capacity, (unsigned long long)ring->used,
			 (unsigned long long)(ring->used * 100 / ring->capacity), pending);
	} else if (seg->kind == CLI_KIND_VIEW) {
		cli_describe_lock(&seg->view, lock, sizeof(lock));
		snprintf(buf, len, seg->view.state == MEMBRIDGE_LOCK_FREE ? "lock %s" : "lock: %s", lock);
	} else if (seg->kind == CLI_KIND_CHANNEL) {
		cli_channel_details(&seg->channel, buf, len);
	}
}

void cli_channel_details(const struct cli_channel_state *ch, char *buf, size_t len)
{
	const struct membridge_channel_info *in = &ch->info;
	char publisher[48];

	if (!ch->valid) {
		snprintf(buf, len, "%s: %s", ch->error == -EPROTO ? "unsupported" : "unreadable",
			 ch->problem);
		return;
	}
	if (in->publisher != 0)
		snprintf(publisher, sizeof(publisher), "publisher pid %lld",
			 (long long)in->publisher);
	else
		snprintf(publisher, sizeof(publisher), "no publisher");
	snprintf(buf, len, "data %llu, used %llu (%llu%%), %llu published, %u of %u subscribers, %s",
		 (unsigned long long)in->config.data_size, (unsigned long long)in->used,
		 (unsigned long long)(in->used * 100 / in->config.data_size),
		 (unsigned long long)in->next_seq, in->subscribers, in->config.subscribers,
		 publisher);
}

/* `, "key": "value"` with the value escaped (the key is plain ASCII). */
static void json_text(FILE *out, const char *key, const char *value)
{
	fprintf(out, ", \"%s\": ", key);
	if (value == NULL)
		fputs("null", out);
	else
		cli_json_string(out, value, strlen(value));
}

static void json_ring(FILE *out, const struct cli_ring_state *ring)
{
	fprintf(out, ", \"ring\": {\"capacity\": %llu, \"head\": %llu, \"tail\": %llu, "
		"\"used\": %llu, \"free\": %llu, \"pending\": ",
		(unsigned long long)ring->capacity, (unsigned long long)ring->head,
		(unsigned long long)ring->tail, (unsigned long long)ring->used,
		(unsigned long long)ring->free_bytes);
	if (ring->pending >= 0)
		fprintf(out, "%lld", (long long)ring->pending);
	else
		fputs("null", out);
	fprintf(out, ", \"valid\": %s", ring->valid ? "true" : "false");
	json_text(out, "problem", ring->valid ? NULL : ring->problem);
	fputs("}", out);
}

static void json_view(FILE *out, const struct cli_view_state *view)
{
	static const char *const states[] = { "free", "read", "write" };

	fprintf(out, ", \"view\": {\"data_size\": %llu, \"lock_word\": %d, \"state\": \"%s\", "
		"\"readers\": %d, \"writer_waiting\": %s, \"writer_pid\": ",
		(unsigned long long)view->data_size, view->word, states[view->state], view->readers,
		view->writer_waiting ? "true" : "false");
	if (view->writer_pid != 0)
		fprintf(out, "%lld", (long long)view->writer_pid);
	else
		fputs("null", out);
	fprintf(out, ", \"writer_alive\": %s}",
		view->writer_alive < 0 ? "null" : view->writer_alive ? "true" : "false");
}

/* `"<key>": pid, "<alive_key>": bool`, both null for no process. */
static void json_pid(FILE *out, const char *key, const char *alive_key, int64_t pid)
{
	if (pid != 0)
		fprintf(out, "\"%s\": %lld, \"%s\": %s", key, (long long)pid, alive_key,
			cli_pid_alive(pid) ? "true" : "false");
	else
		fprintf(out, "\"%s\": null, \"%s\": null", key, alive_key);
}

static void json_channel(FILE *out, const struct cli_channel_state *ch)
{
	const struct membridge_channel_info *in = &ch->info;
	size_t i;

	if (!ch->valid) {
		fprintf(out, ", \"channel\": {\"supported\": %s",
			ch->error == -EPROTO ? "false" : "true");
		json_text(out, "problem", ch->problem);
		fputs("}", out);
		return;
	}
	fprintf(out, ", \"channel\": {\"supported\": true, \"problem\": null, \"version\": %u, "
		"\"data_size\": %llu, \"max_message\": %llu, \"slots\": %u, \"tail\": %llu, "
		"\"published\": %llu, \"used\": %llu, ",
		MEMBRIDGE_CHANNEL_VERSION, (unsigned long long)in->config.data_size,
		(unsigned long long)in->config.max_message, in->config.subscribers,
		(unsigned long long)in->tail, (unsigned long long)in->next_seq,
		(unsigned long long)in->used);
	json_pid(out, "publisher_pid", "publisher_alive", in->publisher);
	fprintf(out, ", \"active\": %u, \"subscribers\": [", in->subscribers);
	for (i = 0; i < ch->count; i++) {
		const struct membridge_subscriber_info *sl = &ch->slots[i];

		fprintf(out, "%s{\"slot\": %u, ", i ? ", " : "", sl->slot);
		json_pid(out, "pid", "alive", sl->pid);
		fprintf(out, ", \"active\": %s, \"evicted\": %s, \"lag\": %llu, \"lag_bytes\": %llu}",
			sl->active ? "true" : "false", sl->evicted ? "true" : "false",
			(unsigned long long)sl->lag, (unsigned long long)sl->lag_bytes);
	}
	fputs("]}", out);
}

void cli_segment_json(FILE *out, const struct cli_segment *seg)
{
	char owner[64];

	cli_format_owner(seg->uid, owner, sizeof(owner));
	fputs("{\"name\": ", out);
	cli_json_string(out, seg->name, strlen(seg->name));
	fprintf(out, ", \"size\": %llu, \"uid\": %lu", (unsigned long long)seg->size,
		(unsigned long)seg->uid);
	json_text(out, "owner", owner);
	fprintf(out, ", \"mode\": \"%04o\", \"age_seconds\": %lld, \"kind\": \"%s\", "
		"\"readable\": %s, \"companion\": %s",
		seg->mode, (long long)seg->age_seconds, cli_kind_name(seg->kind),
		seg->readable ? "true" : "false", seg->companion_present ? "true" : "false");
	if (seg->kind == CLI_KIND_RING)
		json_ring(out, &seg->ring);
	else if (seg->kind == CLI_KIND_VIEW)
		json_view(out, &seg->view);
	else if (seg->kind == CLI_KIND_CHANNEL)
		json_channel(out, &seg->channel);
	fputc('}', out);
}
