/* SPDX-License-Identifier: MIT */
/* The membridge command-line tool: what its source files share. */
#ifndef MEMBRIDGE_CLI_H
#define MEMBRIDGE_CLI_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <getopt.h>
#include <sys/types.h>

#include <membridge.h>

/* Exit status of every command (membridge(1) EXIT STATUS). */
enum cli_status {
	CLI_OK = 0,
	CLI_FAILURE = 1,      /* anything not listed below */
	CLI_BAD_INPUT = 2,    /* usage, malformed values, messages that can never fit */
	CLI_NOT_FOUND = 3,
	CLI_PERMISSION = 4,
	CLI_TIMEOUT = 5,      /* a wait ran out (nothing to pop, no room to push) */
	CLI_EXISTS = 6,
	CLI_WRONG_KIND = 7,   /* not a ring / not a view / corrupt header or message */
	CLI_REFUSED = 8,      /* unlock: the holder may be alive */
	CLI_BUSY = 9,         /* a channel's publisher or every subscriber slot taken */
	CLI_NEWER = 10,       /* a channel layout newer than this libmembridge reads */
};

/* Where POSIX shared memory lives on Linux (glibc's shm_open directory). */
#define CLI_SHM_DIR "/dev/shm"

/* A normalised segment name: "/" + up to MEMBRIDGE_NAME_MAX - 1 characters. */
typedef char cli_name[MEMBRIDGE_NAME_MAX + 1];

/* ------------------------------------------------------------- messages */

/* The running command, for error prefixes ("membridge: pop: ..."). */
extern const char *cli_command;

/* Print "membridge: COMMAND: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_error() plus "Try 'membridge COMMAND --help'."; returns CLI_BAD_INPUT. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Report a library error about `name` and return its exit status. */
int cli_fail(int err, const char *name, const char *doing);
/* The exit status for a negative errno value. */
int cli_status_of(int err);

/* --------------------------------------------------------------- values */

/* Each returns 0, or prints what is wrong and returns CLI_BAD_INPUT. */
int cli_parse_name(const char *arg, cli_name name);
/* The single NAME left after the options (argv[optind]). */
int cli_parse_operand_name(int argc, char **argv, cli_name name);
/* Nanoseconds; "inf"/"forever" give MEMBRIDGE_WAIT_FOREVER. */
int cli_parse_duration(const char *what, const char *arg, int64_t *ns);
/* Positive byte count with an optional K/M/G (KiB/MiB/GiB) suffix. */
int cli_parse_size(const char *what, const char *arg, uint64_t *bytes);
int cli_parse_count(const char *what, const char *arg, uint64_t *count);
int cli_parse_mode(const char *arg, unsigned *mode);
int cli_parse_tag(const char *arg, enum membridge_type *type);
/* getopt_long (shortopts must start with ':'), reporting a bad option or a
 * missing value itself: then it returns '?', and the command exits with
 * CLI_BAD_INPUT. Options may follow the arguments. */
int cli_next_option(int argc, char **argv, const char *shortopts,
		    const struct option *longopts);

/* -------------------------------------------------------------- signals */

/* The signal that asked us to stop (SIGINT/SIGTERM), 0 if none yet. */
extern volatile sig_atomic_t cli_stop_signal;
/* Catch SIGINT/SIGTERM without SA_RESTART: library waits return -EINTR. */
void cli_catch_stop_signals(void);
/* A descriptor that becomes readable once a stop signal arrived, for a
 * poll(2) loop that must not miss one arriving just before it sleeps; call
 * it before cli_catch_stop_signals(). -errno if no pipe could be made. */
int cli_stop_fd(void);
/* The exit status for an interruption: 128 + signal. */
int cli_interrupted(void);
/* Sleep up to `ns`; returns false when a stop signal arrived. */
bool cli_sleep(int64_t ns);
/* Call attempt(ctx, timeout) with the time left of `timeout_ns` (a library
 * timeout) until it returns anything but -EINTR from a signal other than a
 * stop signal; -EINTR once a stop signal arrived. */
int cli_wait(int64_t timeout_ns, int (*attempt)(void *ctx, int64_t timeout_ns), void *ctx);
/* Monotonic clock in nanoseconds. */
int64_t cli_now_ns(void);

/* ----------------------------------------------------------- inspection */

enum cli_kind { CLI_KIND_UNKNOWN, CLI_KIND_RING, CLI_KIND_VIEW, CLI_KIND_CHANNEL,
		CLI_KIND_COMPANION };

struct cli_ring_state {
	uint64_t capacity, head, tail, used, free_bytes;
	int64_t pending;     /* frames between head and tail, -1 if not countable */
	bool valid;
	char problem[160];   /* why not valid */
};

struct cli_view_state {
	uint64_t data_size;
	int32_t word;
	enum membridge_lock_state state;
	int32_t readers;
	bool writer_waiting;
	int64_t writer_pid;  /* 0: none; -1: anonymous (-1) writer */
	int writer_alive;    /* 1, 0, or -1 when there is no pid to judge */
};

struct cli_channel_state {
	struct membridge_channel_info info;
	struct membridge_subscriber_info *slots; /* the slots in use, malloc'd */
	size_t count;        /* entries in slots */
	uint64_t max_lag;    /* the largest lag of an active subscriber */
	int error;           /* 0; -EPROTO: a newer layout; else why it was unreadable */
	bool valid;          /* error == 0 */
	char problem[160];   /* why not valid */
};

struct cli_segment {
	cli_name name;
	uint64_t size;
	uid_t uid;
	unsigned mode;
	int64_t age_seconds;
	bool readable;
	bool companion_present;
	enum cli_kind kind;
	struct cli_ring_state ring;
	struct cli_view_state view;
	struct cli_channel_state channel;
};

/* A read-only mapping of a segment, for repeated samples (watch). */
struct cli_mapping {
	const unsigned char *base;
	size_t size;
};

/* Inspect segment `name` read-only (0, or -errno: -ENOENT, -EACCES...);
 * cli_segment_clear() frees what it holds, after a failure too. */
int cli_inspect(const char *name, struct cli_segment *seg);
/* Same, for a file of CLI_SHM_DIR already opened read-only as `fd`. */
void cli_inspect_fd(int fd, const char *name, struct cli_segment *seg);
void cli_segment_clear(struct cli_segment *seg);
int cli_map_readonly(const char *name, struct cli_mapping *map);
void cli_unmap(struct cli_mapping *map);
/* true if the mapping has a ring's signature (membridge_spsc_inspect()). */
bool cli_looks_like_ring(const struct cli_mapping *map);
/* Read and validate a ring's header and count its frames. */
void cli_ring_sample(const struct cli_mapping *map, struct cli_ring_state *ring);
/* Count the frames in [from, to) of a ring whose bytes there are still
 * published: the count, or -1 if the ring moved meanwhile or they do not chain. */
int64_t cli_ring_count_frames(const struct cli_mapping *map, uint64_t from, uint64_t to);
/* Read a channel: its shape, publisher and slots (ch->valid), or why not
 * (ch->error, ch->problem: -EPROTO for a newer layout, -EBADMSG for no
 * channel). Frees the slots of an earlier sample of ch (zeroed at first). */
void cli_channel_sample(const struct cli_mapping *map, struct cli_channel_state *ch);
/* 1 if process pid exists (as far as kill(2) can tell), else 0. */
int cli_pid_alive(int64_t pid);
/* "free", "2 readers", "write-locked by pid 12 (alive)", ... */
void cli_describe_lock(const struct cli_view_state *view, char *buf, size_t len);
const char *cli_kind_name(enum cli_kind kind);
/* true for the library's companion segments ("*.membridge-wait"). */
bool cli_is_companion_name(const char *name);
/* The DETAILS column of list: ring or channel fill, lock state, or why unknown. */
void cli_segment_details(const struct cli_segment *seg, char *buf, size_t len);
/* The channel part of that: "data 4096, used 192 (4%), 3 published, ...". */
void cli_channel_details(const struct cli_channel_state *ch, char *buf, size_t len);
/* One segment as a JSON object (no newline). */
void cli_segment_json(FILE *out, const struct cli_segment *seg);

/* Open segment `name` as a view: CLI_OK, or the exit status after
 * reporting why not (CLI_WRONG_KIND when it is something else). */
int cli_open_view(const char *name, struct membridge_segment **segp,
		  struct membridge_view **viewp);

/* What push and pop talk to: a ring, or a channel as its publisher (push)
 * or as one of its subscribers (pop). */
struct cli_queue {
	struct membridge_segment *seg;
	struct membridge_spsc *spsc;          /* a ring, or NULL */
	struct membridge_publisher *pub;      /* a channel's publisher, or NULL */
	struct membridge_subscriber *sub;     /* a channel's subscriber, or NULL */
	struct membridge_channel_config cfg;  /* a channel's shape */
};

/* Open segment `name` as a ring or, if it holds a channel, as its
 * publisher or as a subscriber with `subscribe` flags: CLI_OK, or the exit
 * status after reporting why not. */
int cli_open_queue(const char *name, bool publish, unsigned subscribe, struct cli_queue *q);
void cli_close_queue(struct cli_queue *q);

/* --------------------------------------------------------------- output */

/* Write `s` (len bytes) as a JSON string literal. */
void cli_json_string(FILE *out, const char *s, size_t len);
/* Write bytes as one escaped line body: printable ASCII, "\\", "\xHH". */
void cli_escape_bytes(FILE *out, const void *buf, size_t len);
/* "42s", "5m", "3h", "2d". */
void cli_format_age(int64_t seconds, char *buf, size_t len);
/* "12.3 KB/s"-style rate with an SI prefix. */
void cli_format_rate(double per_second, const char *unit, char *buf, size_t len);
/* The user name of uid, or its number. */
void cli_format_owner(uid_t uid, char *buf, size_t len);

/* ------------------------------------------------------------- commands */

/* Each takes argv from the command's name on and returns an exit status. */
int cli_cmd_list(int argc, char **argv);
int cli_cmd_info(int argc, char **argv);
int cli_cmd_create(int argc, char **argv);
int cli_cmd_rm(int argc, char **argv);
int cli_cmd_push(int argc, char **argv);
int cli_cmd_pop(int argc, char **argv);
int cli_cmd_watch(int argc, char **argv);
int cli_cmd_unlock(int argc, char **argv);
int cli_cmd_bench(int argc, char **argv);
int cli_cmd_bridge(int argc, char **argv);

/* Print the usage text of `usage` on stdout: for each command's --help. */
int cli_print_help(const char *usage);

#endif /* MEMBRIDGE_CLI_H */
