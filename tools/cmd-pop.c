/* SPDX-License-Identifier: MIT */
/* membridge pop: print messages from a ring, consuming each once printed,
 * or from a channel, as a subscriber for the time of the command. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge pop [--tag TAG | --raw] [--timeout T] [-n|--count N]\n"
	"                     [-f|--follow] [--oldest] NAME\n"
	"\n"
	"Pop messages and print them. Without --tag or --raw each message is one\n"
	"line with bytes outside printable ASCII written as \\xHH. A message leaves\n"
	"the ring only after it was written out. From a channel pop subscribes,\n"
	"receives the messages published from then on, releasing each once it was\n"
	"written out, and leaves at the end (exit status 9 when every subscriber\n"
	"slot is taken).\n"
	"\n"
	"  --tag TAG      print the message's first value decoded as TAG: bool u8\n"
	"                 i32 u32 f32 int i64 u64 float f64 str, then a newline\n"
	"  --raw          write the payload bytes exactly, nothing added\n"
	"  -n, --count N  pop up to N messages (default 1)\n"
	"  -f, --follow   keep popping as messages arrive, until Ctrl-C or until\n"
	"                 the timeout passes without a message\n"
	"  --timeout T    wait at most T for each message (default 0, with\n"
	"                 --follow inf), e.g. 2, 0.5s, 200ms, inf\n"
	"  --oldest       channel: start at the oldest message another subscriber\n"
	"                 still holds instead of the next one published\n"
	"  -h, --help     show this help\n";

enum output { OUT_ESCAPED, OUT_TAG, OUT_RAW };

struct popper {
	const char *name;
	struct cli_queue q;
	enum output output;
	enum membridge_type type;
	unsigned char *buf;  /* the current payload, joined */
	size_t buf_cap;
};

/* The shortest decimal form of d that reads back as the same value. */
static void print_real(double d, bool single)
{
	char text[40];
	int digits;

	for (digits = 1; digits <= 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, d);
		if (single ? strtof(text, NULL) == (float)d : strtod(text, NULL) == d)
			break;
	}
	fputs(text, stdout);
}

static void print_value(const struct membridge_value *v)
{
	switch (v->type) {
	case MEMBRIDGE_BOOL:
		fputs(v->as.b ? "true" : "false", stdout);
		break;
	case MEMBRIDGE_U8:
		printf("%u", v->as.u8);
		break;
	case MEMBRIDGE_I32:
		printf("%d", v->as.i32);
		break;
	case MEMBRIDGE_U32:
		printf("%u", v->as.u32);
		break;
	case MEMBRIDGE_I64:
		printf("%lld", (long long)v->as.i64);
		break;
	case MEMBRIDGE_U64:
		printf("%llu", (unsigned long long)v->as.u64);
		break;
	case MEMBRIDGE_F32:
		print_real((double)v->as.f32, true);
		break;
	case MEMBRIDGE_F64:
		print_real(v->as.f64, false);
		break;
	default:
		if (v->as.buf.len)
			fwrite(v->as.buf.ptr, 1, v->as.buf.len, stdout);
		break;
	}
}

/* Join the frame's two parts into p->buf. */
static int join(struct popper *p, const struct membridge_frame *frame)
{
	if (frame->len > p->buf_cap) {
		unsigned char *buf = realloc(p->buf, frame->len);

		if (buf == NULL)
			return -ENOMEM;
		p->buf = buf;
		p->buf_cap = frame->len;
	}
	if (frame->part_len[0] != 0)
		memcpy(p->buf, frame->part[0], frame->part_len[0]);
	if (frame->part_len[1] != 0)
		memcpy(p->buf + frame->part_len[0], frame->part[1], frame->part_len[1]);
	return 0;
}

/* Write one message of len bytes at data; CLI_OK, CLI_WRONG_KIND
 * (undecodable: it is still consumed) or CLI_FAILURE (stdout failed: it
 * stays in a ring). */
static int print_message(struct popper *p, const unsigned char *data, size_t len)
{
	struct membridge_value v;
	size_t pos = 0;
	int ret;

	switch (p->output) {
	case OUT_RAW:
		if (len) /* data is NULL for an empty ring message before any other */
			fwrite(data, 1, len, stdout);
		break;
	case OUT_ESCAPED:
		cli_escape_bytes(stdout, data, len);
		fputc('\n', stdout);
		break;
	case OUT_TAG:
		ret = membridge_decode(data, len, &pos, p->type, &v);
		if (ret < 0) {
			fprintf(stderr, "membridge: pop: %s: a message of %zu bytes is not a %s (%s); it was consumed: ",
				p->name, len, membridge_type_name(p->type), membridge_strerror(ret));
			cli_escape_bytes(stderr, data, len);
			fputc('\n', stderr);
			return CLI_WRONG_KIND;
		}
		print_value(&v);
		fputc('\n', stdout);
		break;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		cli_error("writing the message to standard output: %s%s", strerror(errno),
			  p->q.spsc != NULL ? "; it stays in the ring" : "");
		return CLI_FAILURE;
	}
	return CLI_OK;
}

/* The next message of a ring (peeked) or of a channel (received). */
struct next {
	struct membridge_frame frame;
	struct membridge_message msg;
};

struct receive_attempt {
	const struct cli_queue *q;
	struct next *next;
};

static int try_receive(void *ctx, int64_t timeout_ns)
{
	struct receive_attempt *a = ctx;

	if (a->q->sub != NULL)
		return membridge_subscriber_receive(a->q->sub, &a->next->msg, timeout_ns);
	return membridge_spsc_peek(a->q->spsc, &a->next->frame, timeout_ns);
}

/* Print the message received; the exit status of print_message(). */
static int print_next(struct popper *p, const struct next *next)
{
	int ret;

	if (p->q.sub != NULL)
		return print_message(p, next->msg.data, next->msg.len);
	ret = join(p, &next->frame);
	if (ret < 0)
		return cli_fail(ret, p->name, "pop failed");
	return print_message(p, p->buf, next->frame.len);
}

/* Consume a ring's frame, release a channel's message: 0 or -errno. */
static int done_with(struct popper *p, struct next *next)
{
	int ret;

	if (p->q.sub == NULL)
		return membridge_spsc_consume(p->q.spsc, &next->frame);
	ret = membridge_subscriber_release(p->q.sub);
	return ret < 0 ? ret : 0;
}

/* Pop up to `count` messages (0: unlimited); the exit status. */
static int pop_messages(struct popper *p, uint64_t count, int64_t timeout, bool follow)
{
	uint64_t printed = 0;
	int status = CLI_OK;

	while (count == 0 || printed < count) {
		struct next next;
		struct receive_attempt a = { &p->q, &next };
		int ret, step;

		ret = cli_wait(timeout, try_receive, &a);
		if (ret == -EINTR)
			return follow ? status : cli_interrupted();
		if (ret == -EAGAIN || ret == -ETIMEDOUT) {
			if (follow && printed > 0)
				return status;
			cli_error("%s: no message within the timeout (%llu popped before it)",
				  p->name, (unsigned long long)printed);
			return CLI_TIMEOUT;
		}
		if (ret == -ECONNRESET) {
			cli_error("%s: the channel's publisher evicted this subscriber (%llu popped before)",
				  p->name, (unsigned long long)printed);
			return CLI_FAILURE;
		}
		if (ret < 0)
			return cli_fail(ret, p->name, "pop failed");
		step = print_next(p, &next);
		if (step == CLI_FAILURE)
			return step;
		ret = done_with(p, &next);
		if (ret < 0)
			return cli_fail(ret, p->name, "consuming the message failed");
		printed++;
		if (step != CLI_OK) {
			status = step;
			if (!follow)
				return status;
		}
	}
	return status;
}

int cli_cmd_pop(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "raw", no_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "count", required_argument, NULL, 'n' },
		{ "follow", no_argument, NULL, 'f' },
		{ "oldest", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct popper p = { .output = OUT_ESCAPED };
	const char *timeout_arg = NULL;
	uint64_t count = 1;
	int64_t timeout;
	unsigned start = MEMBRIDGE_SUBSCRIBE_NEWEST;
	bool follow = false, counted = false;
	cli_name name;
	int c, status;

	while ((c = cli_next_option(argc, argv, ":n:fh", options)) != -1) {
		switch (c) {
		case 't':
			if (p.output == OUT_RAW)
				return cli_usage_error("--raw and --tag exclude each other");
			if (cli_parse_tag(optarg, &p.type) != 0)
				return CLI_BAD_INPUT;
			p.output = OUT_TAG;
			break;
		case 'r':
			if (p.output == OUT_TAG)
				return cli_usage_error("--raw and --tag exclude each other");
			p.output = OUT_RAW;
			break;
		case 'T':
			timeout_arg = optarg;
			break;
		case 'n':
			if (cli_parse_count("count", optarg, &count) != 0)
				return CLI_BAD_INPUT;
			counted = true;
			break;
		case 'f':
			follow = true;
			break;
		case 'o':
			start = MEMBRIDGE_SUBSCRIBE_OLDEST;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (cli_parse_operand_name(argc, argv, name) != 0)
		return CLI_BAD_INPUT;
	timeout = follow ? MEMBRIDGE_WAIT_FOREVER : MEMBRIDGE_NO_WAIT;
	if (timeout_arg != NULL && cli_parse_duration("timeout", timeout_arg, &timeout) != 0)
		return CLI_BAD_INPUT;
	if (follow && !counted)
		count = 0;
	p.name = name;
	status = cli_open_queue(name, false, start, &p.q);
	if (status != CLI_OK)
		return status;
	if (p.q.spsc != NULL && start != MEMBRIDGE_SUBSCRIBE_NEWEST) {
		cli_close_queue(&p.q);
		return cli_usage_error("%s is a ring: --oldest is for channels", name);
	}
	cli_catch_stop_signals();
	status = pop_messages(&p, count, timeout, follow);
	free(p.buf);
	cli_close_queue(&p.q);
	return status;
}
