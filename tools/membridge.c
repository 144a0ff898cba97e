/* SPDX-License-Identifier: MIT */
/* membridge(1): inspect, create, remove and talk to membridge segments. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef MB_HAVE_ZMQ
/* This build has no libzmq: say so instead of "unknown command". */
static int no_bridge(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	cli_error("this membridge was built without ZeroMQ, so it has no bridge: configure found no libzmq (Debian: apt install libzmq3-dev) or was given --without-zmq");
	return CLI_FAILURE;
}
#define cli_cmd_bridge no_bridge
#endif

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "list", cli_cmd_list, "list every segment with its kind and state" },
	{ "info", cli_cmd_info, "show everything about one segment" },
	{ "create", cli_cmd_create, "create a ring, a view or a channel" },
	{ "rm", cli_cmd_rm, "remove segments" },
	{ "push", cli_cmd_push, "push messages into a ring or publish them to a channel" },
	{ "pop", cli_cmd_pop, "pop messages from a ring or a channel and print them" },
	{ "watch", cli_cmd_watch, "show a ring's or a channel's fill level and rates live" },
	{ "unlock", cli_cmd_unlock, "free a view lock held by a dead process" },
	{ "bench", cli_cmd_bench, "measure ring throughput and latency here" },
	{ "bridge", cli_cmd_bridge, "carry messages between a ring or channel and ZeroMQ" },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void print_usage(FILE *out)
{
	size_t i;

	fputs("Usage: membridge [--help] [--version] COMMAND [OPTIONS] [ARGS]\n"
	      "\n"
	      "Commands:\n", out);
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fputs("\n"
	      "'membridge COMMAND --help' describes a command. A NAME is a segment\n"
	      "name such as /q (the leading / may be left out).\n"
	      "Exit status: 0 ok, 1 failure, 2 bad input, 3 not found, 4 permission\n"
	      "denied, 5 timed out, 6 already exists, 7 wrong kind or corrupt,\n"
	      "8 refused, 9 busy, 10 newer channel layout; see membridge(1).\n", out);
}

static const struct command *find_command(const char *name)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	const struct command *cmd;
	const char *arg = argc > 1 ? argv[1] : NULL;

	if (arg == NULL) {
		fputs("membridge: no command given\n", stderr);
		fputs("Try 'membridge --help'.\n", stderr);
		return CLI_BAD_INPUT;
	}
	if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
	    (strcmp(arg, "help") == 0 && argc == 2)) {
		print_usage(stdout);
		return CLI_OK;
	}
	if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
		printf("membridge %s (libmembridge %s)\n", PACKAGE_VERSION, membridge_version());
		return CLI_OK;
	}
	if (strcmp(arg, "help") == 0) {
		/* "membridge help COMMAND" is "membridge COMMAND --help". */
		static char help_flag[] = "--help";
		char *help_argv[] = { argv[2], help_flag, NULL };

		cmd = find_command(argv[2]);
		if (cmd == NULL || argc > 3) {
			fprintf(stderr, "membridge: help: no command '%s'\n", argv[2]);
			fputs("Try 'membridge --help'.\n", stderr);
			return CLI_BAD_INPUT;
		}
		cli_command = cmd->name;
		return cmd->run(2, help_argv);
	}
	cmd = find_command(arg);
	if (cmd == NULL) {
		if (arg[0] == '-')
			fprintf(stderr, "membridge: unknown option '%s'\n", arg);
		else
			fprintf(stderr, "membridge: unknown command '%s'\n", arg);
		fputs("Try 'membridge --help'.\n", stderr);
		return CLI_BAD_INPUT;
	}
	cli_command = cmd->name;
	return cmd->run(argc - 1, argv + 1);
}
