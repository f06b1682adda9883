/* main.c - the ferry command: dispatch to one *_main() per subcommand. */
#include "commands.h"
#include "log.h"
#include "resolver.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FERRY_VERSION
#define FERRY_VERSION "unknown"
#endif

static const char usage_text[] =
    "Usage: ferry COMMAND [ARGS...]\n"
    "       ferry [-f | --foreground] INTERFACE\n"
    "       ferry --help | --version\n"
    "\n"
    "ferry is a userspace VPN and overlay network for Linux built on TUN/TAP devices.\n"
    "Its data plane speaks the WireGuard protocol; the standard wg(8) and wg-quick(8)\n"
    "tools control it.\n"
    "\n"
    "Commands:\n"
    "  INTERFACE                  run on a new TUN device INTERFACE (like wireguard-go)\n"
    "  up CONFIG                  bring up an interface from a wg-quick style file\n"
    "  down CONFIG|INTERFACE      take it down again\n"
    "  show [INTERFACE]           configuration, state and drop counters\n"
    "  genkey | genpsk            print a new private key / preshared key (base64)\n"
    "  pubkey                     read a private key on stdin, print its public key\n"
    "  tuntap add|del|show|list   manage persistent TUN/TAP devices, as 'ip tuntap' does\n"
    "  overlay [-f] [OPTIONS]     join a container network kept in etcd (flannel-compatible)\n"
    "  help                       show this text\n"
    "\n"
    "Run 'ferry COMMAND --help' for the options of a command.\n";

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	log_set_progname("ferry");
	/* A container runtime runs CNI plugins with CNI_COMMAND set and no arguments. */
	if (argc == 1 && getenv("CNI_COMMAND"))
		return cni_main();
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
	if (!strcmp(cmd, "genkey") || !strcmp(cmd, "genpsk"))
		return genkey_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "pubkey"))
		return pubkey_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "show"))
		return show_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "up"))
		return up_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "down"))
		return down_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "overlay"))
		return overlay_main(argc - 1, argv + 1);
	/* Internal: the daemon's resolver process (resolver.h). Not a valid
	 * interface name, so it takes none away. */
	if (!strcmp(cmd, RESOLVER_HELPER_COMMAND))
		return resolver_helper_main(argc - 1, argv + 1);
	/* Anything else is an interface to run on, as with wireguard-go. */
	return daemon_main(argc, argv);
}
