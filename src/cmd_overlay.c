/* cmd_overlay.c - `ferry overlay`: flags (flannel's names where flannel
 * has them) into struct overlay_options, then overlay_run(). */
#include "commands.h"

#include "flannel.h"
#include "log.h"
#include "overlay.h"
#include "tun.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] = "Usage: ferry overlay [-f] [OPTIONS]\n"
				 "\n"
				 "Join this host to a container network kept in etcd, the way flanneld does with\n"
				 "its wireguard backend: lease a subnet for the host's containers, learn every\n"
				 "other host's lease, and carry the traffic between them through ferry's\n"
				 "encrypted data plane on the TUN device --interface. Everything in etcd is\n"
				 "flannel's format, so ferry and flannel hosts can share one network.\n"
				 "\n"
				 "Before the first host starts, put the network configuration into etcd:\n"
				 "  ETCDCTL_API=3 etcdctl put /coreos.com/network/config \\\n"
				 "    '{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\"}}'\n"
				 "Optional keys: SubnetLen (24), SubnetMin, SubnetMax, and in Backend: ListenPort\n"
				 "(51820), PSK (base64), PersistentKeepaliveInterval (seconds), and ferry's own\n"
				 "Compression (\"lz4\": compress between ferry hosts; flannel ignores it).\n"
				 "docs/OVERLAY.md has the layout in etcd.\n"
				 "\n"
				 "ferry overlay then\n"
				 "  - keeps a private key in --key-file (made once, mode 0600); only the public\n"
				 "    key goes to etcd, and a restarted host is the same host;\n"
				 "  - leases a subnet at PREFIX/subnets/10.244.3.0-24 with a compare-and-swap:\n"
				 "    the subnet of --subnet-file when it is free or still this host's, else\n"
				 "    the one held under this host's key, else a free one at random; the lease\n"
				 "    has an etcd TTL and is kept alive (at a third of the TTL), and taken back\n"
				 "    after it expired. A subnet another host holds is never taken;\n"
				 "  - runs the data plane (ferry -f INTERFACE) and gives its device the\n"
				 "    subnet's first address, the MTU of the public interface less 80, and a\n"
				 "    route to every other host's subnet; `ferry show` and `wg show` work on it;\n"
				 "  - writes --subnet-file (FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU,\n"
				 "    FLANNEL_IPMASQ) for the CNI plugin, then reports ready;\n"
				 "  - watches etcd: each other host's lease becomes a peer (its public key,\n"
				 "    PublicIP:Port, its subnet as allowed-ips) and a route; a lease that goes\n"
				 "    takes both with it. A lost watch ends in a full resynchronisation.\n"
				 "If etcd goes away, forwarding goes on with the last known peers, and ferry\n"
				 "retries with backoff (logged once) until etcd answers again. Bad leases are\n"
				 "logged with their key and ignored. The lease is not revoked on exit: the host\n"
				 "gets its subnet back when it returns before the TTL runs out.\n"
				 "\n"
				 "Options (also as --name=value):\n"
				 "  -f, --foreground           stay in the foreground (else: background once ready)\n"
				 "  --etcd-endpoints URLS      comma-separated etcd URLs (http://127.0.0.1:2379)\n"
				 "  --etcd-prefix PREFIX       where the network lives (/coreos.com/network)\n"
				 "  --etcd-cafile FILE         CA certificate of an https etcd\n"
				 "  --etcd-certfile FILE       client certificate for etcd\n"
				 "  --etcd-keyfile FILE        its key\n"
				 "  --public-ip ADDR           the address other hosts reach this one at (default:\n"
				 "                             that of --iface, else of the default route's link)\n"
				 "  --iface NAME|ADDR          the interface (or its address) for host-to-host\n"
				 "                             traffic; its MTU less 80 is the overlay's MTU\n"
				 "  --interface NAME           the TUN device (ferry0)\n"
				 "  --subnet-file FILE         where to write the subnet (/run/ferry/subnet.env)\n"
				 "  --key-file FILE            the host's private key (/var/lib/ferry/INTERFACE.key)\n"
				 "  --ip-masq[=true|false]     masquerade traffic from the Network to the world\n"
				 "                             (an nftables table ferry_overlay_INTERFACE)\n"
				 "  --subnet-lease-ttl SECONDS the lease's TTL in etcd (86400, as flannel)\n"
				 "\n"
				 "Containers: the CNI plugin \"type\": \"ferry\" (the ferry binary, installed into\n"
				 "the CNI directory by make install) reads --subnet-file and delegates to the\n"
				 "bridge and host-local plugins; see ferry(8).\n"
				 "\n"
				 "Environment: LOG_LEVEL=debug, info or error.\n";

/* "--name value" or "--name=value": the value, or NULL (with a message). */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
	const char *a = argv[*i];
	size_t n;

	/* Go's flag package takes -name as well as --name. */
	if (a[0] == '-' && a[1] == '-')
		a++;
	name++;
	n = strlen(name);
	if (strncmp(a, name, n))
		return NULL;
	if (a[n] == '=')
		return a + n + 1;
	if (a[n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		log_err("overlay: %s needs a value", name);
		return "";
	}
	return argv[++*i];
}

static bool flag_is(const char *a, const char *name)
{
	size_t n = strlen(name);

	/* Go's flag package takes -name as well as --name. */
	if (a[0] == '-' && a[1] == '-')
		a++;
	return !strncmp(a, name + 1, n - 1) && (a[n - 1] == '\0' || a[n - 1] == '=');
}

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

int overlay_main(int argc, char **argv)
{
	static const char *const string_flags[] = {
		"--etcd-endpoints",   "--etcd-prefix", "--etcd-cafile", "--etcd-certfile", "--etcd-keyfile",
		"--public-ip",	      "--iface",       "--interface",	"--subnet-file",   "--key-file",
		"--subnet-lease-ttl",
	};
	const char *values[sizeof(string_flags) / sizeof(string_flags[0])] = { 0 };
	struct overlay_options opt = {
		.endpoints = OVERLAY_DEFAULT_ENDPOINTS,
		.prefix = FLANNEL_DEFAULT_PREFIX,
		.ifname = OVERLAY_DEFAULT_IFNAME,
		.subnet_file = OVERLAY_DEFAULT_SUBNET_FILE,
		.lease_ttl = OVERLAY_DEFAULT_TTL,
	};
	char key_file[PATH_MAX], self[PATH_MAX];
	const char *why;
	ssize_t n;
	size_t k;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool matched = false;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		}
		if (!strcmp(a, "-f") || !strcmp(a, "--foreground")) {
			opt.foreground = true;
			continue;
		}
		if (flag_is(a, "--ip-masq")) {
			const char *v = strchr(a, '=');

			opt.ip_masq = !v || !strcmp(v + 1, "true") || !strcmp(v + 1, "1");
			if (v && !opt.ip_masq && strcmp(v + 1, "false") && strcmp(v + 1, "0")) {
				log_err("overlay: --ip-masq takes true or false, not '%s'", v + 1);
				return 1;
			}
			continue;
		}
		for (k = 0; k < sizeof(string_flags) / sizeof(string_flags[0]) && !matched; k++) {
			const char *v = flag_value(argc, argv, &i, string_flags[k]);

			if (!v)
				continue;
			if (!*v)
				return 1;
			values[k] = v;
			matched = true;
		}
		if (!matched) {
			log_err("overlay: unexpected argument '%s' (see ferry overlay --help)", a);
			return 1;
		}
	}
	if (values[0])
		opt.endpoints = values[0];
	if (values[1]) {
		opt.prefix = values[1];
		/* flannel joins the prefix and "config" as paths do */
		if (strlen(opt.prefix) > 1 && opt.prefix[strlen(opt.prefix) - 1] == '/') {
			log_err("overlay: --etcd-prefix '%s': no trailing slash, please", opt.prefix);
			return 1;
		}
		if (opt.prefix[0] != '/' || strlen(opt.prefix) > 400) {
			log_err("overlay: --etcd-prefix '%s' must start with / (and be short)", opt.prefix);
			return 1;
		}
	}
	opt.cafile = values[2];
	opt.certfile = values[3];
	opt.keyfile = values[4];
	opt.public_ip = values[5];
	opt.iface = values[6];
	if (values[7])
		opt.ifname = values[7];
	if (values[8])
		opt.subnet_file = values[8];
	if (values[10]) {
		char *end;
		unsigned long ttl = strtoul(values[10], &end, 10);

		if (*end || ttl < 2 || ttl > 10 * 365 * 86400UL) {
			log_err("overlay: --subnet-lease-ttl '%s': seconds, at least 2", values[10]);
			return 1;
		}
		opt.lease_ttl = (unsigned int)ttl;
	}
	if (tun_name_check(opt.ifname, &why) < 0) {
		log_err("overlay: --interface '%s': %s", opt.ifname, why);
		return 1;
	}
	if (values[9]) {
		opt.key_file = values[9];
	} else {
		snprintf(key_file, sizeof(key_file), "%s/%s.key", OVERLAY_DEFAULT_KEY_DIR, opt.ifname);
		opt.key_file = key_file;
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		log_err("overlay: cannot find the ferry binary (/proc/self/exe): %s", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	opt.self = self;
	set_log_level_from_env();
	return overlay_run(&opt);
}
