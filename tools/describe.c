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
		snprintf(buf, len, seg->view.state == CLI_LOCK_FREE ? "lock %s" : "lock: %s", lock);
	}
}

static void json_key(FILE *out, const char *key)
{
	cli_json_string(out, key, strlen(key));
	fputs(": ", out);
}

static void json_text(FILE *out, const char *key, const char *value)
{
	json_key(out, key);
	if (value == NULL)
		fputs("null", out);
	else
		cli_json_string(out, value, strlen(value));
}

static void json_u64(FILE *out, const char *key, uint64_t value)
{
	json_key(out, key);
	fprintf(out, "%llu", (unsigned long long)value);
}

static void json_ring(FILE *out, const struct cli_ring_state *ring)
{
	fputs(", \"ring\": {", out);
	json_u64(out, "capacity", ring->capacity);
	fputs(", ", out);
	json_u64(out, "head", ring->head);
	fputs(", ", out);
	json_u64(out, "tail", ring->tail);
	fputs(", ", out);
	json_u64(out, "used", ring->used);
	fputs(", ", out);
	json_u64(out, "free", ring->free_bytes);
	fputs(", ", out);
	json_key(out, "pending");
	if (ring->pending >= 0)
		fprintf(out, "%lld", (long long)ring->pending);
	else
		fputs("null", out);
	fprintf(out, ", \"valid\": %s, ", ring->valid ? "true" : "false");
	json_text(out, "problem", ring->valid ? NULL : ring->problem);
	fputs("}", out);
}

static void json_view(FILE *out, const struct cli_view_state *view)
{
	static const char *const states[] = { "free", "read", "write" };

	fputs(", \"view\": {", out);
	json_u64(out, "data_size", view->data_size);
	fprintf(out, ", \"lock_word\": %d, ", view->word);
	json_text(out, "state", states[view->state]);
	fprintf(out, ", \"readers\": %d, \"writer_pid\": ", view->readers);
	if (view->writer_pid != 0)
		fprintf(out, "%lld", (long long)view->writer_pid);
	else
		fputs("null", out);
	fprintf(out, ", \"writer_alive\": %s}",
		view->writer_alive < 0 ? "null" : view->writer_alive ? "true" : "false");
}

void cli_segment_json(FILE *out, const struct cli_segment *seg)
{
	char owner[64], mode[8];

	cli_format_owner(seg->uid, owner, sizeof(owner));
	snprintf(mode, sizeof(mode), "%04o", seg->mode);
	fputc('{', out);
	json_text(out, "name", seg->name);
	fputs(", ", out);
	json_u64(out, "size", seg->size);
	fputs(", ", out);
	json_u64(out, "uid", seg->uid);
	fputs(", ", out);
	json_text(out, "owner", owner);
	fputs(", ", out);
	json_text(out, "mode", mode);
	fputs(", ", out);
	json_u64(out, "age_seconds", (uint64_t)seg->age_seconds);
	fputs(", ", out);
	json_text(out, "kind", cli_kind_name(seg->kind));
	fprintf(out, ", \"readable\": %s, \"companion\": %s", seg->readable ? "true" : "false",
		seg->companion_present ? "true" : "false");
	if (seg->kind == CLI_KIND_RING)
		json_ring(out, &seg->ring);
	else if (seg->kind == CLI_KIND_VIEW)
		json_view(out, &seg->view);
	fputc('}', out);
}
