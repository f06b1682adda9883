/* cmd_daemon.c - `ferry [-f|--foreground] IFNAME`: the userspace
 * WireGuard implementation, started like wireguard-go so that
 * `WG_QUICK_USERSPACE_IMPLEMENTATION=ferry wg-quick up CONFIG` works.
 * It creates the TUN device IFNAME and the control socket, then (unless
 * -f) goes to the background once both exist. */
#include "commands.h"

#include "crypto.h"
#include "device.h"
#include "log.h"
#include "netlink.h"
#include "noise.h"
#include "sandbox.h"
#include "uapi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage_text[] = "Usage: ferry [-f | --foreground] [--user USER[:GROUP]] [--no-sandbox]\n"
				 "             INTERFACE-NAME\n"
				 "\n"
				 "Run the userspace WireGuard implementation on a new TUN device named\n"
				 "INTERFACE-NAME, controlled through /var/run/wireguard/INTERFACE-NAME.sock with\n"
				 "the standard tools: wg(8) to set keys and peers, wg-quick(8) with\n"
				 "WG_QUICK_USERSPACE_IMPLEMENTATION=ferry. Without -f, ferry goes to the\n"
				 "background once the device and the socket exist. It stops on SIGTERM or\n"
				 "SIGINT, when the device is deleted, or when the socket file is removed.\n"
				 "\n"
				 "Once both exist, ferry gives up its privileges (the sandbox, ferry(8)): it keeps\n"
				 "only CAP_NET_ADMIN, sets no_new_privs and allows only the system calls it\n"
				 "makes (seccomp); other calls fail with EPERM. A listen port below 1024 set\n"
				 "later with wg cannot be bound then.\n"
				 "  --user USER[:GROUP]  also run as this user (and its group, or GROUP)\n"
				 "  --no-sandbox         keep every privilege (for debugging)\n"
				 "\n"
				 "Environment: WG_PROCESS_FOREGROUND=1 is the same as -f; FERRY_NO_SANDBOX=1 the\n"
				 "same as --no-sandbox (wg-quick passes no options); LOG_LEVEL=debug, info or\n"
				 "error sets how much is logged (to standard error).\n";

static void set_log_level_from_env(void)
{
	const char *l = getenv("LOG_LEVEL");

	if (!l)
		return;
	if (!strcmp(l, "debug") || !strcmp(l, "verbose"))
		log_set_level(LOG_LEVEL_DEBUG);
	else if (!strcmp(l, "error") || !strcmp(l, "silent"))
		log_set_level(LOG_LEVEL_ERROR);
}

int daemon_go_background(struct device *dev, const struct sandbox_opts *sandbox)
{
	int ready_fd = -1, ret = daemon_fork(&ready_fd);

	if (ret < 0) {
		log_err("cannot go to the background: %s", strerror(-ret));
		return ret;
	}
	/* Children of the daemon, not of the process that is about to exit;
	 * before the sandbox, which allows no fork. */
	device_start_helpers(dev, sandbox);
	/* Before the word to the parent, so that a failure is its exit status. */
	ret = sandbox_enter(sandbox);
	if (ret < 0) {
		close(ready_fd);
		return ret;
	}
	if (write(ready_fd, "y", 1) != 1)
		log_warn("could not tell the parent process that the device is ready");
	close(ready_fd);
	return 0;
}

int daemon_fork(int *ready_fd)
{
	int p[2], fd;
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) == 1 && c == 'y')
			_exit(0);
		waitpid(pid, NULL, WNOHANG);
		_exit(1);
	}
	close(p[0]);
	setsid();
	*ready_fd = p[1];
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	return 0;
}

int daemon_main(int argc, char **argv)
{
	const char *fg_env = getenv("WG_PROCESS_FOREGROUND");
	bool foreground = fg_env && !strcmp(fg_env, "1");
	const char *name = NULL, *why;
	struct sandbox_opts sandbox = { 0 };
	struct device dev;
	int i, ret;

	/* Before any key is read. */
	sandbox_protect_secrets();
	for (i = 1; i < argc; i++) {
		ret = sandbox_parse_option(argc, argv, &i, &sandbox);
		if (ret < 0)
			return 1;
		if (ret > 0)
			continue;
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground")) {
			foreground = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (argv[i][0] == '-' || name) {
			log_err("unexpected argument '%s'", argv[i]);
			fputs(usage_text, stderr);
			return 1;
		} else {
			name = argv[i];
		}
	}
	if (!name) {
		fputs(usage_text, stderr);
		return 1;
	}
	if (tun_name_check(name, &why) < 0) {
		log_err("invalid interface name '%s': %s", name, why);
		return 1;
	}
	set_log_level_from_env();
	if (crypt_init() < 0) {
		log_err("cannot initialise the crypto libraries");
		return 1;
	}
	noise_init();
	if (device_init(&dev, name) < 0) {
		log_err("out of memory");
		return 1;
	}
	if (device_open_tun(&dev, false) < 0)
		goto fail;
	ret = netlink_link_set_mtu(dev.tun.name, dev.mtu);
	if (ret < 0)
		log_warn("%s: cannot set MTU %u: %s", name, dev.mtu, strerror(-ret));
	ret = uapi_listen(&dev);
	if (ret < 0) {
		if (ret == -EADDRINUSE)
			log_err("%s: another process already serves %s/%s.sock", name, UAPI_DIR, name);
		else
			log_err("%s: cannot create the control socket in %s: %s", name, UAPI_DIR, strerror(-ret));
		goto fail;
	}
	if (!sandbox.off)
		sandbox.off = sandbox_off_from_env();
	if (foreground)
		device_start_helpers(&dev, &sandbox);
	if (foreground ? sandbox_enter(&sandbox) < 0 : daemon_go_background(&dev, &sandbox) < 0)
		goto fail;
	log_info("%s: running (TUN device and %s/%s.sock ready)", name, UAPI_DIR, name);
	ret = device_run(&dev);
	if (ret < 0)
		log_err("%s: %s", name, strerror(-ret));
	device_destroy(&dev);
	return ret < 0 ? 1 : 0;
fail:
	device_destroy(&dev);
	return 1;
}
