/* commands.h - one entry point per subcommand, as in wireguard-tools. */
#ifndef FERRY_COMMANDS_H
#define FERRY_COMMANDS_H

#include "tun.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

int tuntap_main(int argc, char **argv);
int daemon_main(int argc, char **argv);
struct sandbox_opts;
struct device;
/* Fork into the background, start the helper processes @dev needs
 * (device_start_helpers) and enter the sandbox (src/sandbox.h); the parent
 * exits 0 once the child reports it is ready (that is, now), so whoever
 * started us can configure at once, or 1 if it could not be. */
int daemon_go_background(struct device *dev, const struct sandbox_opts *sandbox);
/* Fork; the parent waits for the child's word ("y" written to *@ready_fd)
 * and exits 0, or 1 if the child closes it or exits first, so that whoever
 * started us (wg-quick, a service manager) can go on at once. The child
 * starts a session of its own, its standard input and output on /dev/null
 * (standard error stays: the log). Returns 0 in the child, or -errno. */
int daemon_fork(int *ready_fd);
int genkey_main(int argc, char **argv); /* genkey and genpsk */
int pubkey_main(int argc, char **argv);
int show_main(int argc, char **argv);
int up_main(int argc, char **argv);
int down_main(int argc, char **argv);
int overlay_main(int argc, char **argv);
/* The CNI plugin: the ferry binary run by a container runtime (CNI_COMMAND set). */
int cni_main(void);

enum tuntap_op { TUNTAP_ADD, TUNTAP_DEL, TUNTAP_SHOW, TUNTAP_HELP };

struct tuntap_request {
	enum tuntap_op op;
	struct tun_config cfg;
	bool has_name, has_mode;
	bool has_user, has_group;
	uid_t user;
	gid_t group;
};

/* Parse the words after "tuntap" (argv[0] is the operation). Returns 0, or
 * -EINVAL with a message for people in @err. */
int tuntap_parse(int argc, char **argv, struct tuntap_request *req, char *err, size_t errlen);

#endif
