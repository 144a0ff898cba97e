/* SPDX-License-Identifier: MIT */
/* membridge push: messages from arguments or stdin into a ring or a channel. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char usage[] =
	"Usage: membridge push [--tag TAG] [--timeout T] NAME [MSG...]\n"
	"       membridge push --raw [--timeout T] NAME [MSG...]\n"
	"\n"
	"Push one message per MSG argument or, without arguments, one message\n"
	"per line of standard input (the newline is not part of it). Messages are\n"
	"str values by default (a uint32 length and UTF-8, as Python's push(\"text\")\n"
	"stores them). Into a channel push publishes, as its one publisher (exit\n"
	"status 9 while another live process publishes); only the subscribers\n"
	"there at the time get a message.\n"
	"\n"
	"  --tag TAG      encode each message as one value of TAG: bool u8 i32 u32\n"
	"                 f32 int i64 u64 float f64 str\n"
	"  --raw          the bytes as they are; without MSG the whole of standard\n"
	"                 input is one message\n"
	"  --timeout T    wait at most T for room (default: without limit), e.g. 2,\n"
	"                 0.5s, 200ms, inf\n"
	"  -h, --help     show this help\n";

enum encoding { ENC_TAG, ENC_RAW };

struct pusher {
	const char *name;
	struct cli_queue q;
	int64_t timeout;
	enum encoding encoding;
	enum membridge_type type;
	unsigned char *buf;  /* encoded message */
	size_t buf_cap;
	unsigned long long pushed;
};

static bool parse_signed(const char *text, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 10);
	if (end == text || *end != '\0' || errno != 0 || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_unsigned(const char *text, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (end == text || *end != '\0' || strchr(text, '-') != NULL || errno != 0 || v > hi)
		return false;
	*out = v;
	return true;
}

static bool parse_real(const char *text, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (end == text || *end != '\0' || (errno == ERANGE && isinf(v)))
		return false;
	*out = v;
	return true;
}

/* The text of one message as a value of `type`; false if it is not one. */
static bool parse_value(enum membridge_type type, const char *text, size_t len,
			struct membridge_value *v)
{
	int64_t i;
	uint64_t u;
	double d;

	v->type = type;
	if (type != MEMBRIDGE_STR && strlen(text) != len)
		return false; /* a NUL inside a number */
	switch (type) {
	case MEMBRIDGE_STR:
		v->as.buf.ptr = text;
		v->as.buf.len = len;
		return true;
	case MEMBRIDGE_BOOL:
		if (strcasecmp(text, "true") == 0 || strcmp(text, "1") == 0)
			v->as.b = true;
		else if (strcasecmp(text, "false") == 0 || strcmp(text, "0") == 0)
			v->as.b = false;
		else
			return false;
		return true;
	case MEMBRIDGE_U8:
		if (!parse_unsigned(text, UINT8_MAX, &u))
			return false;
		v->as.u8 = (uint8_t)u;
		return true;
	case MEMBRIDGE_U32:
		if (!parse_unsigned(text, UINT32_MAX, &u))
			return false;
		v->as.u32 = (uint32_t)u;
		return true;
	case MEMBRIDGE_U64:
		return parse_unsigned(text, UINT64_MAX, &v->as.u64);
	case MEMBRIDGE_I32:
		if (!parse_signed(text, INT32_MIN, INT32_MAX, &i))
			return false;
		v->as.i32 = (int32_t)i;
		return true;
	case MEMBRIDGE_I64:
		return parse_signed(text, INT64_MIN, INT64_MAX, &v->as.i64);
	case MEMBRIDGE_F32:
		if (!parse_real(text, &d) || (isfinite(d) && fabs(d) > 3.4028234663852886e38))
			return false;
		v->as.f32 = (float)d;
		return true;
	case MEMBRIDGE_F64:
		return parse_real(text, &v->as.f64);
	default:
		return false;
	}
}

static int reserve(struct pusher *p, size_t len)
{
	unsigned char *buf;

	if (len <= p->buf_cap)
		return 0;
	buf = realloc(p->buf, len);
	if (buf == NULL)
		return -ENOMEM;
	p->buf = buf;
	p->buf_cap = len;
	return 0;
}

struct push_attempt {
	const struct cli_queue *q;
	const void *buf;
	size_t len;
};

static int try_push(void *ctx, int64_t timeout_ns)
{
	struct push_attempt *a = ctx;

	if (a->q->pub != NULL)
		return membridge_publisher_send(a->q->pub, a->buf, a->len, timeout_ns);
	return membridge_spsc_push(a->q->spsc, a->buf, a->len, timeout_ns);
}

/* Push len bytes at buf; the exit status. */
static int push_bytes(struct pusher *p, const void *buf, size_t len, const char *which)
{
	struct push_attempt a = { &p->q, buf, len };
	int ret = cli_wait(p->timeout, try_push, &a);

	if (ret == 0) {
		p->pushed++;
		return CLI_OK;
	}
	if (ret == -EMSGSIZE && p->q.pub != NULL) {
		cli_error("%s: %s of %zu bytes can never fit: the channel takes at most %llu bytes per message",
			  p->name, which, len, (unsigned long long)p->q.cfg.max_message);
		return CLI_BAD_INPUT;
	}
	if (ret == -EMSGSIZE) {
		cli_error("%s: %s of %zu bytes can never fit: a ring of capacity %zu takes at most %zu bytes per message",
			  p->name, which, len, membridge_spsc_capacity(p->q.spsc),
			  membridge_spsc_capacity(p->q.spsc) - MEMBRIDGE_SPSC_FRAME_HEADER);
		return CLI_BAD_INPUT;
	}
	if (ret == -ECONNRESET) {
		cli_error("%s: another process took the channel over as its publisher (%llu message%s published before)",
			  p->name, p->pushed, p->pushed == 1 ? "" : "s");
		return CLI_BUSY;
	}
	if (ret == -EAGAIN || ret == -ETIMEDOUT) {
		cli_error("%s: no room for %s within the timeout (%llu message%s pushed before it)",
			  p->name, which, p->pushed, p->pushed == 1 ? "" : "s");
		return CLI_TIMEOUT;
	}
	return cli_fail(ret, p->name, "push failed");
}

/* Encode and push one message of text; `which` names it in errors. */
static int push_text(struct pusher *p, const char *text, size_t len, const char *which)
{
	struct membridge_value v, check;
	size_t size, pos = 0;
	int ret;

	if (p->encoding == ENC_RAW)
		return push_bytes(p, text, len, which);
	if (!parse_value(p->type, text, len, &v)) {
		cli_error("%s: %s is not a valid %s: '%.*s'", p->name, which,
			  membridge_type_name(p->type), (int)(len > 80 ? 80 : len), text);
		return CLI_BAD_INPUT;
	}
	ret = membridge_encoded_size(&v, 1, &size);
	if (ret == 0)
		ret = reserve(p, size);
	if (ret == 0)
		ret = membridge_encode(p->buf, p->buf_cap, &v, 1, &size);
	if (ret < 0)
		return cli_fail(ret, p->name, which);
	/* Decoding it back is the UTF-8 check a consumer's pop("str") makes. */
	if (membridge_decode(p->buf, size, &pos, p->type, &check) == -EILSEQ) {
		cli_error("%s: %s is not valid UTF-8; push it with --raw", p->name, which);
		return CLI_BAD_INPUT;
	}
	return push_bytes(p, p->buf, size, which);
}

static int push_lines(struct pusher *p)
{
	char *line = NULL, which[48];
	size_t cap = 0;
	unsigned long long number = 0;
	ssize_t len;
	int status = CLI_OK;

	while (status == CLI_OK && (len = getline(&line, &cap, stdin)) >= 0) {
		number++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		snprintf(which, sizeof(which), "line %llu", number);
		status = push_text(p, line, (size_t)len, which);
	}
	if (status == CLI_OK && ferror(stdin)) {
		cli_error("reading standard input: %s", strerror(errno));
		status = CLI_FAILURE;
	}
	free(line);
	return status;
}

static int push_stdin_raw(struct pusher *p)
{
	size_t len = 0;
	int ret;

	for (;;) {
		ret = reserve(p, len + 65536);
		if (ret < 0)
			return cli_fail(ret, NULL, "reading standard input");
		len += fread(p->buf + len, 1, p->buf_cap - len, stdin);
		if (feof(stdin))
			break;
		if (ferror(stdin)) {
			cli_error("reading standard input: %s", strerror(errno));
			return CLI_FAILURE;
		}
	}
	return push_bytes(p, p->buf, len, "standard input");
}

int cli_cmd_push(int argc, char **argv)
{
	static const struct option options[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "raw", no_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pusher p = { .timeout = MEMBRIDGE_WAIT_FOREVER, .type = MEMBRIDGE_STR };
	bool tagged = false;
	cli_name name;
	int c, i, status;

	while ((c = cli_next_option(argc, argv, ":h", options)) != -1) {
		switch (c) {
		case 't':
			if (cli_parse_tag(optarg, &p.type) != 0)
				return CLI_BAD_INPUT;
			tagged = true;
			break;
		case 'r':
			p.encoding = ENC_RAW;
			break;
		case 'T':
			if (cli_parse_duration("timeout", optarg, &p.timeout) != 0)
				return CLI_BAD_INPUT;
			break;
		case 'h':
			return cli_print_help(usage);
		default:
			return CLI_BAD_INPUT;
		}
	}
	if (tagged && p.encoding == ENC_RAW)
		return cli_usage_error("--raw and --tag exclude each other");
	if (optind == argc)
		return cli_usage_error("no segment NAME given");
	if (cli_parse_name(argv[optind], name) != 0)
		return CLI_BAD_INPUT;
	p.name = name;
	status = cli_open_queue(name, true, 0, &p.q);
	if (status != CLI_OK)
		return status;
	cli_catch_stop_signals();
	if (optind + 1 < argc) {
		for (i = optind + 1; i < argc && status == CLI_OK; i++) {
			char which[48];

			snprintf(which, sizeof(which), "argument %d", i - optind);
			status = push_text(&p, argv[i], strlen(argv[i]), which);
		}
	} else if (p.encoding == ENC_RAW) {
		status = push_stdin_raw(&p);
	} else {
		status = push_lines(&p);
	}
	free(p.buf);
	cli_close_queue(&p.q);
	return status;
}
