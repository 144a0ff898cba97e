/* SPDX-License-Identifier: MIT */
/* membridge bridge: a local ring or channel to a ZeroMQ endpoint, or an
 * endpoint into a local ring or channel; options, setup, the wait and the
 * --stats line. The forwarding is in bridge-out.c and bridge-in.c. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge.h"

static const char usage[] =
	"Usage: membridge bridge [OPTIONS] NAME ENDPOINT   (ring or channel -> network)\n"
	"       membridge bridge [OPTIONS] ENDPOINT NAME   (network -> ring or channel)\n"
	"       membridge bridge --keygen FILE\n"
	"\n"
	"Carry messages between the ring or channel NAME and a ZeroMQ ENDPOINT\n"
	"(tcp://HOST:PORT, ipc://PATH, ...), one membridge message as one ZeroMQ\n"
	"message, byte for byte, until SIGINT or SIGTERM. NAME first: pop from the\n"
	"ring (or subscribe to the channel) and send with a PUSH socket (PUB with\n"
	"--pubsub). ENDPOINT first: receive with PULL (SUB) and push into the ring\n"
	"(or publish to the channel). Neither side is read while the other has no\n"
	"room. On a stop, what was already taken is handed over first. The messages\n"
	"are not acknowledged: membridge(1) says what a crash can lose.\n"
	"\n"
	"  --bind            bind ENDPOINT (default: connect to it)\n"
	"  --pubsub          PUB/SUB (fan-out) instead of PUSH/PULL\n"
	"  --seq             send a sequence-number part before each message, or\n"
	"                    expect one and count the messages that never came\n"
	"                    (both bridges need it)\n"
	"  --hwm N           ZeroMQ high-water mark, messages (default 1000)\n"
	"  --batch N         messages per library batch call (default 64)\n"
	"  --stats[=T]       print rates and backlog to stderr every T (default 1s)\n"
	"  --drain T         at a stop, wait at most T to hand over what was taken\n"
	"                    (default 10s)\n"
	"  --oldest          channel: start at the oldest message still held\n"
	"  --curve-secret FILE      our CURVE secret key (z85, as --keygen writes);\n"
	"                           alone it makes this side the CURVE server\n"
	"  --curve-server-key FILE  the server's public key: this side is a client\n"
	"  --curve-clients FILE     server: let in only these client public keys\n"
	"                           (one a line)\n"
	"  --keygen FILE     write a new key pair: FILE (secret, mode 0600) and\n"
	"                    FILE.pub, and print the public key\n"
	"  -h, --help        show this help\n";

#define DEFAULT_HWM 1000
#define DEFAULT_BATCH 64
#define MAX_BATCH 4096
#define DEFAULT_STATS_NS INT64_C(1000000000)
#define DEFAULT_DRAIN_NS INT64_C(10000000000)

static bool is_endpoint(const char *arg)
{
	return strstr(arg, "://") != NULL;
}

static int parse_int_option(const char *what, const char *arg, uint64_t max, uint64_t *out)
{
	if (cli_parse_count(what, arg, out) != 0)
		return CLI_BAD_INPUT;
	if (*out == 0 || *out > max)
		return cli_usage_error("--%s must be 1 to %llu", what, (unsigned long long)max);
	return CLI_OK;
}

/* CLI_OK, or the exit status; *help when --help was given. */
static int parse_options(int argc, char **argv, struct bridge_options *o, const char **keygen,
			 bool *help)
{
	static const struct option options[] = {
		{ "bind", no_argument, NULL, 'b' },
		{ "pubsub", no_argument, NULL, 'p' },
		{ "seq", no_argument, NULL, 'S' },
		{ "hwm", required_argument, NULL, 'H' },
		{ "batch", required_argument, NULL, 'B' },
		{ "stats", optional_argument, NULL, 's' },
		{ "drain", required_argument, NULL, 'd' },
		{ "oldest", no_argument, NULL, 'o' },
		{ "curve-secret", required_argument, NULL, 'k' },
		{ "curve-server-key", required_argument, NULL, 'K' },
		{ "curve-clients", required_argument, NULL, 'c' },
		{ "keygen", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t n;
	int c;

	while ((c = cli_next_option(argc, argv, ":h", options)) != -1) {
		switch (c) {
		case 'b':
			o->bind = true;
			break;
		case 'p':
			o->pubsub = true;
			break;
		case 'S':
			o->seq = true;
			break;
		case 'H':
			if (parse_int_option("hwm", optarg, INT32_MAX, &n) != CLI_OK)
				return CLI_BAD_INPUT;
			o->hwm = (int)n;
			break;
		case 'B':
			if (parse_int_option("batch", optarg, MAX_BATCH, &n) != CLI_OK)
				return CLI_BAD_INPUT;
			o->batch = (size_t)n;
			break;
		case 's':
			o->stats_ns = DEFAULT_STATS_NS;
			if (optarg != NULL && cli_parse_duration("stats", optarg, &o->stats_ns) != 0)
				return CLI_BAD_INPUT;
			if (o->stats_ns <= 0)
				return cli_usage_error("--stats needs an interval above 0");
			break;
		case 'd':
			if (cli_parse_duration("drain", optarg, &o->drain_ns) != 0)
				return CLI_BAD_INPUT;
			break;
		case 'o':
			o->oldest = true;
			break;
		case 'k':
			o->curve_secret = optarg;
			break;
		case 'K':
			o->curve_server_key = optarg;
			break;
		case 'c':
			o->curve_clients = optarg;
			break;
		case 'g':
			*keygen = optarg;
			break;
		case 'h':
			*help = true;
			return CLI_OK;
		default:
			return CLI_BAD_INPUT;
		}
	}
	return CLI_OK;
}

static int parse_operands(int argc, char **argv, struct bridge_options *o)
{
	const char *name;

	if (argc - optind != 2)
		return cli_usage_error("give a NAME and an ENDPOINT (the first is the source)");
	if (is_endpoint(argv[optind]) == is_endpoint(argv[optind + 1]))
		return cli_usage_error("one of '%s' and '%s' must be a ZeroMQ endpoint such as tcp://host:port, the other a segment NAME",
				       argv[optind], argv[optind + 1]);
	o->outbound = !is_endpoint(argv[optind]);
	o->endpoint = o->outbound ? argv[optind + 1] : argv[optind];
	name = o->outbound ? argv[optind] : argv[optind + 1];
	if (cli_parse_name(name, o->name) != 0)
		return CLI_BAD_INPUT;
	if (o->curve_clients != NULL && (o->curve_secret == NULL || o->curve_server_key != NULL))
		return cli_usage_error("--curve-clients is for the CURVE server: give it with --curve-secret alone");
	if (o->drain_ns < 0)
		o->drain_ns = DEFAULT_DRAIN_NS; /* "inf" */
	return CLI_OK;
}

/* The local descriptor the loops wait on: data or space, message or room;
 * -ENOTSUP where the platform has none (bridge_wait polls instead). */
static int local_fd(struct bridge *b)
{
	int fd;

	if (b->q.spsc != NULL)
		fd = b->o.outbound ? membridge_spsc_data_fd(b->q.spsc)
				   : membridge_spsc_space_fd(b->q.spsc);
	else if (b->q.sub != NULL)
		fd = membridge_subscriber_fd(b->q.sub);
	else
		fd = membridge_publisher_fd(b->q.pub);
	if (fd < 0 && fd != -ENOTSUP)
		cli_fail(fd, b->o.name, "cannot wait on it (no descriptor)");
	return fd;
}

static int set_int(void *sock, int option, int value)
{
	return zmq_setsockopt(sock, option, &value, sizeof(value));
}

/* The socket of the direction and pattern, with its options; its I/O
 * threads start with the stop signals blocked, so they reach this thread. */
static int open_socket(struct bridge *b)
{
	int type = b->o.outbound ? (b->o.pubsub ? ZMQ_XPUB : ZMQ_PUSH)
				 : (b->o.pubsub ? ZMQ_SUB : ZMQ_PULL);
	sigset_t stop, old;
	int ret = 0;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	b->ctx = zmq_ctx_new();
	if (b->ctx != NULL)
		b->sock = zmq_socket(b->ctx, type);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (b->sock == NULL) {
		cli_error("cannot make a ZeroMQ socket: %s", zmq_strerror(errno));
		return CLI_FAILURE;
	}
	ret |= set_int(b->sock, ZMQ_SNDHWM, b->o.hwm);
	ret |= set_int(b->sock, ZMQ_RCVHWM, b->o.hwm);
	ret |= set_int(b->sock, ZMQ_LINGER, (int)(b->o.drain_ns / 1000000));
	/* PUB/SUB: the sender waits for a slow subscriber rather than drop. */
	if (type == ZMQ_XPUB)
		ret |= set_int(b->sock, ZMQ_XPUB_NODROP, 1);
	if (type == ZMQ_SUB)
		ret |= zmq_setsockopt(b->sock, ZMQ_SUBSCRIBE, "", 0);
	if (ret != 0) {
		cli_error("cannot set the ZeroMQ socket's options: %s", zmq_strerror(errno));
		return CLI_FAILURE;
	}
	return CLI_OK;
}

static int attach(struct bridge *b)
{
	int ret = b->o.bind ? zmq_bind(b->sock, b->o.endpoint)
			    : zmq_connect(b->sock, b->o.endpoint);

	if (ret != 0) {
		cli_error("cannot %s %s: %s", b->o.bind ? "bind" : "connect to", b->o.endpoint,
			  zmq_strerror(errno));
		return errno == EACCES ? CLI_PERMISSION : errno == EADDRINUSE ? CLI_BUSY
			: errno == EINVAL || errno == EPROTONOSUPPORT ? CLI_BAD_INPUT : CLI_FAILURE;
	}
	if (b->o.bind) {
		/* The address bound, with the port chosen for a "*" port. */
		char bound[256];
		size_t len = sizeof(bound);

		if (zmq_getsockopt(b->sock, ZMQ_LAST_ENDPOINT, bound, &len) == 0)
			fprintf(stderr, "membridge: bridge: bound %s\n", bound);
	}
	return CLI_OK;
}

/* What waits on the local side: bytes in the ring, or the messages the
 * channel's slowest subscriber has not released; false for a subscriber,
 * which cannot tell. */
static bool local_backlog(struct bridge *b, uint64_t *backlog, const char **unit)
{
	struct membridge_subscriber_info info[MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS];
	size_t used;
	int i, n;

	*backlog = 0;
	if (b->q.spsc != NULL) {
		*unit = "bytes in the ring";
		if (membridge_spsc_used(b->q.spsc, &used) == 0)
			*backlog = used;
		return true;
	}
	if (b->q.pub == NULL)
		return false;
	*unit = "messages unreleased by the slowest subscriber";
	n = membridge_publisher_subscribers(b->q.pub, info, MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS);
	for (i = 0; i < n && i < (int)MEMBRIDGE_CHANNEL_MAX_SUBSCRIBERS; i++)
		if (info[i].active && info[i].lag > *backlog)
			*backlog = info[i].lag;
	return true;
}

void bridge_tick(struct bridge *b)
{
	int64_t now = b->o.stats_ns > 0 ? cli_now_ns() : 0;
	double seconds = (double)(now - b->last_stats_ns) / 1e9;
	char msgs[32], bytes[32];
	const char *unit;
	uint64_t backlog;

	if (b->o.stats_ns == 0 || now - b->last_stats_ns < b->o.stats_ns)
		return;
	cli_format_rate((double)(b->total.messages - b->last.messages) / seconds, "msg", msgs,
			sizeof(msgs));
	cli_format_rate((double)(b->total.bytes - b->last.bytes) / seconds, "B", bytes,
			sizeof(bytes));
	fprintf(stderr, "membridge: bridge: %s %s %s: %s, %s; %llu messages in all; %llu taken, not handed over",
		b->o.outbound ? b->o.name : b->o.endpoint, "->",
		b->o.outbound ? b->o.endpoint : b->o.name, msgs, bytes,
		(unsigned long long)b->total.messages, (unsigned long long)b->held);
	if (local_backlog(b, &backlog, &unit))
		fprintf(stderr, "; backlog %llu %s", (unsigned long long)backlog, unit);
	if (b->o.seq && !b->o.outbound)
		fprintf(stderr, "; lost %llu in %llu gaps", (unsigned long long)b->total.lost,
			(unsigned long long)b->total.gaps);
	fputc('\n', stderr);
	b->last = b->total;
	b->last_stats_ns = now;
}

/* Without descriptors (macOS, Windows), how often a wait for the local side
 * looks again. */
#define LOCAL_POLL_MS 1

int bridge_wait(struct bridge *b, short zmq_events, bool local, long timeout_ms)
{
	zmq_pollitem_t items[4];
	int n = 0, zap = -1, ret;

	items[n++] = (zmq_pollitem_t){ .socket = b->sock, .events = zmq_events };
	items[n++] = (zmq_pollitem_t){ .fd = cli_stop_fd(), .events = ZMQ_POLLIN };
	if (local && b->local_fd >= 0)
		items[n++] = (zmq_pollitem_t){ .fd = b->local_fd, .events = ZMQ_POLLIN };
	else if (local && (timeout_ms < 0 || timeout_ms > LOCAL_POLL_MS))
		timeout_ms = LOCAL_POLL_MS; /* no descriptor: look again soon */
	if (b->zap != NULL) {
		zap = n;
		items[n++] = (zmq_pollitem_t){ .socket = b->zap, .events = ZMQ_POLLIN };
	}
	if (b->o.stats_ns > 0) {
		int64_t left = (b->last_stats_ns + b->o.stats_ns - cli_now_ns()) / 1000000 + 1;

		if (left < 0)
			left = 0;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (long)left;
	}
	ret = zmq_poll(items, n, timeout_ms);
	if (ret < 0 && errno != EINTR)
		return -errno;
	if (zap >= 0 && (items[zap].revents & ZMQ_POLLIN))
		bridge_serve_zap(b);
	bridge_tick(b);
	return cli_stop_signal != 0 ? -EINTR : 0;
}

static void print_summary(const struct bridge *b)
{
	fprintf(stderr, "membridge: bridge: %s: %llu messages, %llu bytes %s",
		b->o.name, (unsigned long long)b->total.messages,
		(unsigned long long)b->total.bytes, b->o.outbound ? "sent" : "delivered");
	if (b->o.seq && !b->o.outbound)
		fprintf(stderr, "; lost %llu in %llu gaps, %llu sender restarts",
			(unsigned long long)b->total.lost, (unsigned long long)b->total.gaps,
			(unsigned long long)b->total.restarts);
	if (b->total.dropped != 0)
		fprintf(stderr, "; %llu dropped", (unsigned long long)b->total.dropped);
	fputc('\n', stderr);
}

static void close_bridge(struct bridge *b)
{
	int linger = 0;
	size_t len = sizeof(linger);
	int64_t start;

	bridge_secure_close(b);
	if (b->sock != NULL) {
		zmq_getsockopt(b->sock, ZMQ_LINGER, &linger, &len);
		zmq_close(b->sock);
	}
	start = cli_now_ns();
	if (b->ctx != NULL)
		zmq_ctx_term(b->ctx); /* waits up to ZMQ_LINGER for what was sent */
	if (b->o.outbound && linger > 0 && cli_now_ns() - start >= (int64_t)linger * 1000000)
		cli_error("%s: the peer took not everything ZeroMQ still held within --drain; up to --hwm messages sent to it may be lost",
			  b->o.endpoint);
	cli_close_queue(&b->q);
}

int cli_cmd_bridge(int argc, char **argv)
{
	struct bridge b = {
		.o = { .hwm = DEFAULT_HWM, .batch = DEFAULT_BATCH, .drain_ns = DEFAULT_DRAIN_NS },
	};
	const char *keygen = NULL;
	bool help = false;
	int status;

	status = parse_options(argc, argv, &b.o, &keygen, &help);
	if (status != CLI_OK)
		return status;
	if (help)
		return cli_print_help(usage);
	if (keygen != NULL)
		return optind == argc ? bridge_keygen(keygen)
				      : cli_usage_error("--keygen takes no other arguments");
	status = parse_operands(argc, argv, &b.o);
	if (status != CLI_OK)
		return status;
	if (cli_stop_fd() < 0) {
		cli_error("cannot make a pipe: %s", strerror(-cli_stop_fd()));
		return CLI_FAILURE;
	}
	status = cli_open_queue(b.o.name, !b.o.outbound,
				b.o.oldest ? MEMBRIDGE_SUBSCRIBE_OLDEST : MEMBRIDGE_SUBSCRIBE_NEWEST,
				&b.q);
	if (status != CLI_OK)
		return status;
	if (b.q.spsc != NULL && b.o.oldest) {
		cli_close_queue(&b.q);
		return cli_usage_error("%s is a ring: --oldest is for channels", b.o.name);
	}
	b.local_fd = local_fd(&b);
	if (b.local_fd < 0 && b.local_fd != -ENOTSUP) {
		cli_close_queue(&b.q);
		return CLI_FAILURE;
	}
	cli_catch_stop_signals();
	status = open_socket(&b);
	if (status == CLI_OK)
		status = bridge_secure(&b);
	if (status == CLI_OK)
		status = attach(&b);
	if (status == CLI_OK) {
		b.last_stats_ns = cli_now_ns();
		status = b.o.outbound ? bridge_run_outbound(&b) : bridge_run_inbound(&b);
		if (b.o.stats_ns > 0 || b.o.seq)
			print_summary(&b);
	}
	close_bridge(&b);
	return status;
}
