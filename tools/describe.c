/* SPDX-License-Identifier: MIT */
/* One inspected segment as a table cell or a JSON object (list and info). */
#include "config.h"

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
	}
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
	fputc('}', out);
}
