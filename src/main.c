/* main.c - the ferry command: dispatch to one *_main() per subcommand. */
#include "commands.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

static const char usage_text[] = "Usage: ferry COMMAND [ARGS...]\n"
				 "       ferry --help | --version\n"
				 "\n"
				 "ferry is a userspace VPN and overlay network for Linux built on TUN/TAP devices.\n"
				 "\n"
				 "Commands:\n"
				 "  tuntap add|del|show|list   manage persistent TUN/TAP devices, as 'ip tuntap' does\n"
				 "  help                       show this text\n"
				 "\n"
				 "Run 'ferry COMMAND help' for the options of a command.\n"
				 "Project: README.md and docs/ in the ferry sources.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	log_set_progname("ferry");
	if (!cmd || !strcmp(cmd, "help") || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		fputs(usage_text, cmd ? stdout : stderr);
		return cmd ? 0 : 1;
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
		printf("ferry %s\n", FERRY_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "tuntap"))
		return tuntap_main(argc - 1, argv + 1);

	log_err("unknown command '%s'", cmd);
	fprintf(stderr, "Try 'ferry --help'.\n");
	return 1;
}
