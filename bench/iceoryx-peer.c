/* SPDX-License-Identifier: MIT */
/* iceoryx's C binding as a benchmark peer (see iceoryx-peer.h). */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <iceoryx_binding_c/log.h>
#include <iceoryx_binding_c/publisher.h>
#include <iceoryx_binding_c/runtime.h>
#include <iceoryx_binding_c/subscriber.h>

#include "bench-common.h"
#include "iceoryx-peer.h"

/* How long the daemon may take to come up, and a connection to be made
 * (its discovery loop runs every 100 ms). */
#define START_LIMIT_NS INT64_C(10000000000)
#define CONNECT_LIMIT_NS INT64_C(10000000000)
#define POLL_NS INT64_C(1000000)
#define READY_LINE "RouDi is ready for clients"
/* Chunks per pool: enough for the subscriber queues of every benchmark
 * (at most 256 queued plus those held and loaned) and a few spare. */
#define SMALL_CHUNKS 4096
#define LARGE_CHUNKS 16

static pid_t roudi_pid;
static pid_t starter_pid; /* the process that started it (children inherit atexit) */
static char roudi_dir[64];

/* Write the daemon's configuration: one pool of 128-byte payloads, one of
 * BENCH_IOX_MAX_PAYLOAD. */
static int write_config(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "[general]\nversion = 1\n\n[[segment]]\n\n"
		   "[[segment.mempool]]\nsize = 128\ncount = %d\n\n"
		   "[[segment.mempool]]\nsize = %zu\ncount = %d\n",
		SMALL_CHUNKS, BENCH_IOX_MAX_PAYLOAD, LARGE_CHUNKS);
	return fclose(f) == 0 ? 0 : -1;
}

/* Whether the daemon's log says it is ready. */
static int log_says_ready(const char *log)
{
	char line[256];
	FILE *f = fopen(log, "r");
	int ready = 0;

	if (!f)
		return 0;
	while (!ready && fgets(line, sizeof(line), f))
		ready = strstr(line, READY_LINE) != NULL;
	fclose(f);
	return ready;
}

static void remove_dir(void)
{
	char path[96];

	snprintf(path, sizeof(path), "%s/roudi.toml", roudi_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/roudi.log", roudi_dir);
	unlink(path);
	rmdir(roudi_dir);
}

/* At exit, bench_die() included: the daemon does not outlive its starter. */
static void stop_at_exit(void)
{
	if (getpid() == starter_pid)
		bench_iox_stop();
}

int bench_iox_start(char *why, size_t size)
{
	char config[96], log[96];
	int64_t deadline;
	int status;

	if (!starter_pid && atexit(stop_at_exit) != 0) {
		snprintf(why, size, "atexit failed");
		return -1;
	}
	starter_pid = getpid();
	snprintf(roudi_dir, sizeof(roudi_dir), "/tmp/mb-bench-iox-XXXXXX");
	if (!mkdtemp(roudi_dir)) {
		snprintf(why, size, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(config, sizeof(config), "%s/roudi.toml", roudi_dir);
	snprintf(log, sizeof(log), "%s/roudi.log", roudi_dir);
	if (write_config(config) < 0) {
		snprintf(why, size, "writing %s: %s", config, strerror(errno));
		remove_dir();
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	roudi_pid = fork();
	if (roudi_pid < 0) {
		snprintf(why, size, "fork: %s", strerror(errno));
		remove_dir();
		return -1;
	}
	if (roudi_pid == 0) {
		/* Its output goes to the log, where the ready line is looked for. */
		if (!freopen(log, "w", stdout) || dup2(fileno(stdout), 2) < 0)
			_exit(127);
		execlp("iox-roudi", "iox-roudi", "-c", config, "-m", "off", "-l", "info",
		       (char *)NULL);
		_exit(127);
	}
	deadline = bench_now_ns() + START_LIMIT_NS;
	while (!log_says_ready(log)) {
		if (waitpid(roudi_pid, &status, WNOHANG) == roudi_pid) {
			snprintf(why, size, "iox-roudi %s %d (is it installed? is another RouDi "
				 "running?)", WIFEXITED(status) ? "exited with" : "killed by signal",
				 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			roudi_pid = 0;
			remove_dir();
			return -1;
		}
		if (bench_now_ns() > deadline) {
			snprintf(why, size, "iox-roudi was not ready within %lld s",
				 (long long)(START_LIMIT_NS / 1000000000));
			bench_iox_stop();
			return -1;
		}
		bench_sleep_ns(POLL_NS);
	}
	return 0;
}

void bench_iox_stop(void)
{
	if (!roudi_dir[0])
		return;
	if (roudi_pid > 0) {
		kill(roudi_pid, SIGTERM);
		while (waitpid(roudi_pid, NULL, 0) < 0 && errno == EINTR)
			;
		roudi_pid = 0;
	}
	remove_dir();
	roudi_dir[0] = 0;
}

void bench_iox_join(void)
{
	char name[32];

	snprintf(name, sizeof(name), "mb-bench-%ld", (long)getpid());
	iox_set_loglevel(Iceoryx_LogLevel_Warn);
	iox_runtime_init(name);
}

void bench_iox_leave(void)
{
	iox_runtime_shutdown();
}

struct bench_iox_pub {
	iox_pub_storage_t storage;
	iox_pub_t pub;
};

struct bench_iox_sub {
	iox_sub_storage_t storage;
	iox_sub_t sub;
};

struct bench_iox_pub *bench_iox_pub_open(const char *service)
{
	struct bench_iox_pub *p = calloc(1, sizeof(*p));
	iox_pub_options_t opts;
	int64_t deadline;

	if (!p)
		bench_die("out of memory");
	iox_pub_options_init(&opts);
	opts.subscriberTooSlowPolicy = ConsumerTooSlowPolicy_WAIT_FOR_CONSUMER;
	p->pub = iox_pub_init(&p->storage, "membridge-bench", service, "data", &opts);
	deadline = bench_now_ns() + CONNECT_LIMIT_NS;
	while (!iox_pub_has_subscribers(p->pub)) {
		if (bench_now_ns() > deadline)
			bench_die("iceoryx: no subscriber of %s within %lld s", service,
				  (long long)(CONNECT_LIMIT_NS / 1000000000));
		bench_sleep_ns(POLL_NS);
	}
	return p;
}

void bench_iox_pub_close(struct bench_iox_pub *p)
{
	iox_pub_deinit(p->pub);
	free(p);
}

void *bench_iox_loan(struct bench_iox_pub *p, size_t len)
{
	enum iox_AllocationResult res;
	void *payload;

	for (;;) {
		res = iox_pub_loan_chunk(p->pub, &payload, (uint32_t)len);
		if (res == AllocationResult_SUCCESS)
			return payload;
		if (res != AllocationResult_RUNNING_OUT_OF_CHUNKS &&
		    res != AllocationResult_TOO_MANY_CHUNKS_ALLOCATED_IN_PARALLEL)
			bench_die("iox_pub_loan_chunk(%zu bytes): result %d", len, (int)res);
		bench_cpu_relax();
	}
}

void bench_iox_publish(struct bench_iox_pub *p, void *payload)
{
	iox_pub_publish_chunk(p->pub, payload);
}

struct bench_iox_sub *bench_iox_sub_open(const char *service, unsigned queue)
{
	struct bench_iox_sub *s = calloc(1, sizeof(*s));
	iox_sub_options_t opts;
	int64_t deadline;

	if (!s)
		bench_die("out of memory");
	iox_sub_options_init(&opts);
	opts.queueCapacity = queue;
	opts.queueFullPolicy = QueueFullPolicy_BLOCK_PRODUCER;
	s->sub = iox_sub_init(&s->storage, "membridge-bench", service, "data", &opts);
	deadline = bench_now_ns() + CONNECT_LIMIT_NS;
	while (iox_sub_get_subscription_state(s->sub) != SubscribeState_SUBSCRIBED) {
		if (bench_now_ns() > deadline)
			bench_die("iceoryx: no publisher of %s within %lld s", service,
				  (long long)(CONNECT_LIMIT_NS / 1000000000));
		bench_sleep_ns(POLL_NS);
	}
	return s;
}

void bench_iox_sub_close(struct bench_iox_sub *s)
{
	iox_sub_deinit(s->sub);
	free(s);
}

const void *bench_iox_take(struct bench_iox_sub *s)
{
	enum iox_ChunkReceiveResult res;
	const void *payload;

	for (;;) {
		res = iox_sub_take_chunk(s->sub, &payload);
		if (res == ChunkReceiveResult_SUCCESS)
			return payload;
		if (res != ChunkReceiveResult_NO_CHUNK_AVAILABLE)
			bench_die("iox_sub_take_chunk: result %d", (int)res);
		bench_cpu_relax();
	}
}

void bench_iox_release(struct bench_iox_sub *s, const void *payload)
{
	iox_sub_release_chunk(s->sub, payload);
}
