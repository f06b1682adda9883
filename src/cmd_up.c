/* cmd_up.c - `ferry up CONFIG` and `ferry down CONFIG|IFNAME`: the
 * one-command form of wg-quick for ferry. The interface is named after the
 * file (wg0.conf makes wg0); addresses, MTU and the routes of AllowedIPs are
 * set over netlink. */
#include "apply.h"
#include "commands.h"

#include "conf.h"
#include "crypto.h"
#include "device.h"
#include "log.h"
#include "netlink.h"
#include "noise.h"
#include "sandbox.h"
#include "uapi.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char up_usage[] = "Usage: ferry up [-f | --foreground] [--user USER[:GROUP]] [--no-sandbox] CONFIG\n"
			       "       ferry down CONFIG | INTERFACE\n"
			       "\n"
			       "CONFIG is a wg-quick style file, or a bare name meaning /etc/wireguard/NAME.conf.\n"
			       "The interface takes the file's base name (wg0.conf makes wg0).\n"
			       "\n"
			       "[Interface]: PrivateKey, ListenPort, FwMark, Address (repeatable, comma-separated),\n"
			       "MTU (default 1420). DNS, Table, PreUp, PostUp, PreDown, PostDown and SaveConfig\n"
			       "are wg-quick's; ferry warns and ignores them.\n"
			       "[Peer]: PublicKey, PresharedKey, Endpoint, AllowedIPs, PersistentKeepalive.\n"
			       "\n"
			       "ferry's own keys, between ferry peers only (see ferry(8), docs/PROTOCOL.md):\n"
			       "[Interface] Mode = tun | tap   layer 3 (default) or layer 2: Ethernet frames,\n"
			       "                               a learning switch whose ports are the peers;\n"
			       "                               the MTU defaults to 1500 (Ethernet's; frames too\n"
			       "                               big for the path travel in pieces)\n"
			       "[Interface] Bridge = NAME      enslave the TAP device to this Linux bridge\n"
			       "[Interface] StrictMACs = yes   each peer may send only from its MACs (tap; no\n"
			       "                               learning)\n"
			       "[Interface] LinkLocal = drop | forward  frames to 01:80:c2:00:00:0x (STP, LLDP,\n"
			       "                               EAPOL) from peers: dropped by default (tap)\n"
			       "[Peer] MACs = aa:bb:cc:dd:ee:ff, ...  static MACs behind this peer (tap)\n"
			       "[Peer] Compression = lz4 | none  compress to this peer when it helps (both\n"
			       "                               ends must say lz4; leaks packet sizes: off\n"
			       "                               by default)\n"
			       "[Interface] User = USER[:GROUP]  run as this user once set up (as --user)\n"
			       "[Interface] Sandbox = on | off  off keeps every privilege (as --no-sandbox)\n"
			       "[Interface] ListenTCP = PORT   accept the TCP transport on this port\n"
			       "[Peer] Transport = udp | tcp | auto  udp (default); tcp: every message over\n"
			       "                               TCP to the Endpoint, the peer's ListenTCP;\n"
			       "                               auto: UDP, TCP while handshakes over UDP go\n"
			       "                               unanswered (~25 s), UDP again once a probe\n"
			       "                               (every 30 s) is answered over UDP\n"
			       "[Peer] TCPPort = PORT          auto: the peer's ListenTCP (default: the\n"
			       "                               Endpoint's port number)\n"
			       "\n"
			       "An Endpoint given by host name is resolved at start and again when\n"
			       "handshakes to the peer go unanswered (after 3, then at most every 15 s),\n"
			       "without stopping traffic to other peers.\n"
			       "\n"
			       "up creates the TUN device, applies the keys and peers, sets the addresses and\n"
			       "MTU, brings the link up, adds a route for every AllowedIPs prefix (except /0),\n"
			       "then runs in the background (-f: in the foreground). down stops it and removes\n"
			       "the interface.\n"
			       "\n"
			       "Once set up, the daemon gives up its privileges (the sandbox, ferry(8)): it\n"
			       "keeps CAP_NET_ADMIN (and CAP_NET_BIND_SERVICE if a port in use is below 1024),\n"
			       "sets no_new_privs and allows only the system calls it makes (seccomp); other\n"
			       "calls fail with EPERM. --user, or User =, also switches to that user.\n"
			       "--no-sandbox, Sandbox = off or FERRY_NO_SANDBOX=1 turn it off, for debugging.\n";

/* "wg0" -> /etc/wireguard/wg0.conf; "/x/wg0.conf" -> itself. Sets the name. */
static int resolve_config(const char *arg, char *path, size_t psize, char *name, size_t nsize)
{
	const char *base, *why;
	size_t len;

	if (!strchr(arg, '/') && (strlen(arg) < 5 || strcmp(arg + strlen(arg) - 5, ".conf")))
		snprintf(path, psize, "/etc/wireguard/%s.conf", arg);
	else
		snprintf(path, psize, "%s", arg);
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 5 && !strcmp(base + len - 5, ".conf"))
		len -= 5;
	if (len >= nsize || len == 0) {
		log_err("'%s': the interface name (the file's base name) must be 1 to 15 bytes", arg);
		return -EINVAL;
	}
	memcpy(name, base, len);
	name[len] = '\0';
	if (tun_name_check(name, &why) < 0) {
		log_err("'%s': '%s' is not a valid interface name: %s", arg, name, why);
		return -EINVAL;
	}
	return 0;
}

static int configure_link(struct device *dev, const struct conf_device *c)
{
	char buf[IP_PREFIX_STRLEN];
	unsigned int mtu = (c->flags & CONF_HAS_MTU) ? c->mtu : dev->tap ? TAP_DEFAULT_MTU : dev->mtu;
	size_t i, j;
	int ret;

	dev->mtu = mtu;
	ret = netlink_link_set_mtu(dev->name, mtu);
	if (ret < 0) {
		log_err("%s: cannot set MTU %u: %s", dev->name, mtu, strerror(-ret));
		return ret;
	}
	for (i = 0; i < c->n_addresses; i++) {
		ret = netlink_addr_add(dev->name, &c->addresses[i], false);
		if (ret < 0) {
			log_err("%s: cannot add address %s: %s", dev->name,
				ip_prefix_format(&c->addresses[i], buf, sizeof(buf)), strerror(-ret));
			return ret;
		}
	}
	if (c->bridge[0]) {
		struct netlink_link br;

		ret = netlink_link_get(c->bridge, &br);
		if (ret == 0 && strcmp(br.kind, "bridge"))
			ret = -ENOTSUP;
		if (ret == 0)
			ret = netlink_link_set_master(dev->name, c->bridge);
		if (ret < 0) {
			log_err("%s: cannot join bridge '%s': %s", dev->name, c->bridge,
				ret == -ENODEV	  ? "no such device"
				: ret == -ENOTSUP ? "not a bridge"
						  : strerror(-ret));
			return ret;
		}
	}
	ret = netlink_link_set_up(dev->name, true);
	if (ret < 0) {
		log_err("%s: cannot bring the link up: %s", dev->name, strerror(-ret));
		return ret;
	}
	/* Layer 2 finds peers by MAC address, not by route. */
	for (i = 0; i < c->n_peers && !dev->tap; i++) {
		for (j = 0; j < c->peers[i].n_allowedips; j++) {
			const struct ip_prefix *p = &c->peers[i].allowedips[j];

			if (p->len == 0) {
				log_warn("%s: not routing %s through the tunnel (a default route needs policy "
					 "routing; use wg-quick for that)",
					 dev->name, ip_prefix_format(p, buf, sizeof(buf)));
				continue;
			}
			ret = netlink_route_add(dev->name, p, NULL);
			/* A route already there (another peer's overlapping prefix) is fine. */
			if (ret < 0 && ret != -EEXIST) {
				log_err("%s: cannot add route %s: %s", dev->name, ip_prefix_format(p, buf, sizeof(buf)),
					strerror(-ret));
				return ret;
			}
		}
	}
	return 0;
}

static bool any_tcp_port_without_auto(const struct conf_device *c)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if ((c->peers[i].flags & CONF_PEER_HAS_TCP_PORT) && c->peers[i].transport != CONF_TRANSPORT_AUTO)
			return true;
	return false;
}

static bool any_macs(const struct conf_device *c)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++)
		if (c->peers[i].n_macs)
			return true;
	return false;
}

/* The command line wins over the file; any opt-out turns the sandbox off. */
static void sandbox_from_conf(struct sandbox_opts *sb, const struct conf_device *c, const struct device *dev)
{
	if (!sb->has_user && c->has_user) {
		sb->has_user = true;
		sb->user = c->user;
	}
	if (!sb->off && c->sandbox_off)
		sb->off = "Sandbox = off";
	if (!sb->off)
		sb->off = sandbox_off_from_env();
	if (sb->off && sb->has_user)
		log_warn("%s: the sandbox is off (%s): staying root, not switching to user %s", dev->name, sb->off,
			 sb->user.name);
	sb->udp_port = dev->udp.port;
	sb->tcp_port = (c->flags & CONF_HAS_LISTEN_TCP) ? c->listen_tcp : 0; /* applied: it is in use */
}

int up_main(int argc, char **argv)
{
	char path[4096], name[IFNAMSIZ];
	struct sandbox_opts sandbox = { 0 };
	struct conf_device c;
	struct device dev;
	bool foreground = false;
	const char *arg = NULL;
	int i, ret;

	/* Before any key is read. */
	sandbox_protect_secrets();
	for (i = 1; i < argc; i++) {
		ret = sandbox_parse_option(argc, argv, &i, &sandbox);
		if (ret < 0)
			return 1;
		if (ret > 0)
			continue;
		if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--foreground"))
			foreground = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return fputs(up_usage, stdout) < 0;
		else if (!arg)
			arg = argv[i];
		else
			arg = NULL, i = argc;
	}
	if (!arg) {
		fputs(up_usage, stderr);
		return 1;
	}
	if (resolve_config(arg, path, sizeof(path), name, sizeof(name)) < 0)
		return 1;
	if (crypt_init() < 0) {
		log_err("cannot initialise the crypto libraries");
		return 1;
	}
	noise_init();
	if (conf_parse_file(path, CONF_WG_QUICK, &c) < 0)
		return 1;
	if (device_init(&dev, name) < 0) {
		conf_device_free(&c);
		return 1;
	}
	if (c.mode != CONF_MODE_TAP &&
	    (c.bridge[0] || any_macs(&c) || (c.flags & (CONF_HAS_STRICT_MACS | CONF_HAS_LINK_LOCAL)))) {
		log_err("%s: Bridge, MACs, StrictMACs and LinkLocal need Mode = tap", path);
		goto fail;
	}
	if (any_tcp_port_without_auto(&c)) {
		log_err("%s: TCPPort needs Transport = auto (with tcp, the Endpoint names the TCP port)", path);
		goto fail;
	}
	if ((c.mode == CONF_MODE_TAP ? device_open_tap(&dev, true) : device_open_tun(&dev, true)) < 0)
		goto fail;
	ret = device_apply(&dev, &c);
	if (ret < 0) {
		log_err("%s: cannot apply %s: %s", name, path, strerror(-ret));
		goto fail;
	}
	if (configure_link(&dev, &c) < 0)
		goto fail;
	ret = uapi_listen(&dev);
	if (ret < 0) {
		log_err("%s: cannot create the control socket: %s", name, strerror(-ret));
		goto fail;
	}
	sandbox_from_conf(&sandbox, &c, &dev);
	conf_device_free(&c);
	if (!foreground) {
		if (daemon_go_background(&dev, &sandbox) < 0)
			goto fail_noconf;
	} else {
		log_info("%s: up (from %s)", name, path);
		device_start_helpers(&dev, &sandbox);
		if (sandbox_enter(&sandbox) < 0)
			goto fail_noconf;
	}
	ret = device_run(&dev);
	device_destroy(&dev);
	return ret < 0 ? 1 : 0;
fail:
	conf_device_free(&c);
fail_noconf:
	device_destroy(&dev);
	return 1;
}

int down_main(int argc, char **argv)
{
	char path[4096], name[IFNAMSIZ], sock[108];
	struct netlink_link link;
	struct timespec ts = { 0, 50 * 1000000 };
	int i, ret;

	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fputs(up_usage, argc == 2 ? stdout : stderr);
		return argc != 2;
	}
	if (resolve_config(argv[1], path, sizeof(path), name, sizeof(name)) < 0)
		return 1;
	uapi_socket_path(sock, sizeof(sock), name);
	if (access(sock, F_OK) < 0 && netlink_link_get(name, &link) == -ENODEV) {
		log_err("%s: no such interface (and no control socket %s)", name, sock);
		return 1;
	}
	if (unlink(sock) < 0 && errno != ENOENT) {
		log_err("%s: cannot remove %s: %s", name, sock, strerror(errno));
		return 1;
	}
	/* The daemon watches its socket file and stops when it goes; its TUN
	 * device goes with it. Wait (bounded) for that. */
	for (i = 0; i < 100; i++) {
		if (netlink_link_get(name, &link) == -ENODEV)
			return 0;
		nanosleep(&ts, NULL);
	}
	ret = netlink_link_del(name);
	if (ret < 0 && ret != -ENODEV) {
		log_err("%s: cannot remove the interface: %s", name, strerror(-ret));
		return 1;
	}
	return 0;
}
