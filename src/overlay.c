/* overlay.c - the controller of `ferry overlay` (overlay.h).
 *
 * One process, one thread, one loop: it waits on the etcd watch stream and
 * a signalfd, and works through timers (the lease keep-alive, retries).
 * The data plane is a child process, `ferry -f IFNAME`, the very daemon
 * `ferry IFNAME` runs: the controller programs it through the UAPI socket
 * (what `wg set` sends) and sets addresses and routes over netlink. So an
 * etcd outage, a slow etcd or a bug in here cannot stall forwarding, and
 * the daemon keeps its sandbox and never sees libcurl.
 *
 * State, and who changes it:
 *   o->raw    every key under PREFIX/subnets/ as etcd last said (a full
 *             snapshot at a revision, then the watch's events after it);
 *   o->prog   the peers the data plane has now, sorted by public key;
 *             only program() changes it, and only after the UAPI said yes;
 *   own lease o->own_net, o->lease_id: ours, kept alive, taken back when
 *             it expired or vanished, never silently exchanged for another.
 * The peers wanted are a pure function of o->raw (desired()), so a resync
 * and a stream of events reach the same map. */
#include "overlay.h"

#include "commands.h"
#include "crypto.h"
#include "encoding.h"
#include "etcd.h"
#include "flannel.h"
#include "log.h"
#include "netlink.h"
#include "uapi.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ACQUIRE_TRIES	  10 /* as flannel's raceRetries */
#define BACKOFF_MIN_MS	  250
#define BACKOFF_MAX_MS	  4000
#define PROGRAM_RETRY_MS  1000 /* the data plane refused a change: ask again */
#define DATAPLANE_WAIT_MS 10000
/* flannel's wireguard backend: IPv4 or IPv6 header, UDP, WireGuard's header and tag. */
#define OVERHEAD 80

struct raw_lease {
	char *name; /* "10.244.3.0-24": the key after PREFIX/subnets/ */
	char *value;
	size_t value_len;
	int64_t create_rev, mod_rev;
	bool reported; /* its problem was logged (for this mod_rev) */
};

struct peer_entry {
	uint8_t key[KEY_LEN];
	uint32_t net; /* its subnet */
	uint32_t ip;  /* its endpoint */
	uint16_t port;
	bool lz4; /* both ends take LZ4 (ferry's Compression) */
	int64_t create_rev;
};

struct overlay {
	const struct overlay_options *opt;
	struct etcd_client etcd;
	struct flannel_config cfg;
	char config_key[512], subnets[512], own_key[600], own_name[24];
	uint8_t private_key[KEY_LEN], public_key[KEY_LEN];
	uint32_t public_ip;
	unsigned int mtu;
	uint32_t own_net;
	int64_t lease_id;

	struct raw_lease *raw; /* sorted by name */
	size_t n_raw;
	int64_t revision;
	struct peer_entry *prog; /* sorted by key */
	size_t n_prog;

	bool synced;					   /* o->raw follows etcd (a snapshot and a live watch) */
	bool etcd_down;					   /* an outage was logged and not yet its end */
	bool need_reacquire;				   /* our lease expired or vanished */
	bool conflict_logged;				   /* another node holds our subnet: said once */
	bool need_program;				   /* the data plane lags o->raw: program() failed */
	int64_t next_sync, next_keepalive, next_reacquire; /* ms, monotonic */
	int64_t next_program;
	unsigned int backoff_ms;

	pid_t child;
	int sigfd;
	int ready_fd; /* the parent waiting for readiness, -1 when none */
	char nft_table[64];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- files: the node's key, the subnet file --- */

static int mkdir_parent(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	p = strrchr(buf, '/');
	if (!p || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The node's identity: a private key generated once and kept (0600), so a
 * restarted node is the same node. Only its public key goes to etcd. */
static int load_or_create_key(struct overlay *o, const char *path)
{
	char text[128];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text) - 1);
		ret = n < 0 ? -errno : 0;
		if (!fstat(fd, &st) && (st.st_mode & 077))
			log_warn("overlay: %s: the private key is readable by others (mode %03o)", path,
				 st.st_mode & 0777);
		close(fd);
		if (ret < 0) {
			log_err("overlay: cannot read %s: %s", path, strerror(-ret));
			return ret;
		}
		text[n] = '\0';
		text[strcspn(text, "\r\n")] = '\0';
		if (!key_from_base64(o->private_key, text)) {
			crypt_wipe(text, sizeof(text));
			log_err("overlay: %s does not hold a base64 private key (as ferry genkey writes)", path);
			return -EINVAL;
		}
		crypt_wipe(text, sizeof(text));
	} else if (errno == ENOENT) {
		ret = mkdir_parent(path, 0700);
		fd = ret < 0 ? ret : open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0) {
			ret = fd == -1 ? -errno : fd;
			log_err("overlay: cannot create %s: %s", path, strerror(-ret));
			return ret;
		}
		crypt_generate_secret(o->private_key);
		key_to_base64(text, o->private_key);
		strcat(text, "\n");
		ret = write(fd, text, strlen(text)) == (ssize_t)strlen(text) && !fsync(fd) ? 0 : -EIO;
		crypt_wipe(text, sizeof(text));
		close(fd);
		if (ret < 0) {
			unlink(path);
			log_err("overlay: cannot write %s", path);
			return ret;
		}
		log_info("overlay: new node key in %s", path);
	} else {
		ret = -errno;
		log_err("overlay: cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	crypt_public_key(o->public_key, o->private_key);
	return 0;
}

static int read_small_file(const char *path, char *buf, size_t size, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size);
	if (n < 0)
		ret = -errno;
	else if ((size_t)n == size)
		ret = -EFBIG;
	else
		*len = (size_t)n;
	close(fd);
	return ret;
}

/* The subnet this node had, from the subnet file: 0 when there is none. A
 * file that does not fit the network configuration is stale: refused. */
static int previous_subnet(struct overlay *o, uint32_t *net)
{
	char text[FLANNEL_ENV_MAX + 1], err[FLANNEL_ERR_LEN], want[24];
	const char *path = o->opt->subnet_file;
	struct flannel_env env;
	size_t len = 0;
	int ret;

	*net = 0;
	ret = read_small_file(path, text, sizeof(text), &len);
	if (ret == -ENOENT)
		return 0;
	if (ret < 0) {
		log_err("overlay: cannot read the subnet file %s: %s", path, strerror(-ret));
		return ret;
	}
	if (flannel_env_parse(text, len, &env, err, sizeof(err)) < 0) {
		log_err("overlay: the subnet file %s is not one ferry or flannel writes: %s (remove it to lease a new "
			"subnet)",
			path, err);
		return -EINVAL;
	}
	flannel_prefix_format(want, sizeof(want), o->cfg.network, o->cfg.network_len);
	if (env.network != o->cfg.network || env.network_len != o->cfg.network_len ||
	    env.subnet_len != o->cfg.subnet_len) {
		log_err("overlay: the subnet file %s is stale: it is for another network configuration than %s's "
			"(Network %s, SubnetLen %u); containers made from it would be cut off. Remove it (and the "
			"containers) to lease a new subnet",
			path, o->config_key, want, o->cfg.subnet_len);
		return -ESTALE;
	}
	*net = env.subnet & flannel_mask(env.subnet_len);
	if (*net < o->cfg.subnet_min || *net > o->cfg.subnet_max) {
		log_err("overlay: the subnet file %s is stale: its subnet is outside SubnetMin..SubnetMax", path);
		return -ESTALE;
	}
	return 0;
}

static int write_subnet_file(struct overlay *o)
{
	const char *path = o->opt->subnet_file;
	struct flannel_env env = {
		.network = o->cfg.network,
		.network_len = o->cfg.network_len,
		.subnet = o->own_net + 1,
		.subnet_len = o->cfg.subnet_len,
		.mtu = o->mtu,
		.ipmasq = o->opt->ip_masq,
	};
	char text[256], tmp[4200];
	int fd, n, ret;

	n = flannel_env_format(text, sizeof(text), &env);
	if (n < 0 || snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	ret = mkdir_parent(path, 0755);
	fd = ret < 0 ? ret : open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		ret = fd == -1 ? -errno : fd;
		log_err("overlay: cannot write the subnet file %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = write(fd, text, (size_t)n) == n && !fsync(fd) ? 0 : -EIO;
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0) {
		unlink(tmp);
		log_err("overlay: cannot write the subnet file %s: %s", path, strerror(-ret));
	}
	return ret;
}

/* --- the node's public address and MTU --- */

static int find_public_ip(struct overlay *o)
{
	const char *iface = o->opt->iface, *pub = o->opt->public_ip;
	char name[IFNAMSIZ] = "";
	struct netlink_link link;
	struct in_addr a;
	int ret;

	if (iface && inet_pton(AF_INET, iface, &a) == 1) {
		if (netlink_addr4_owner(&a, name) < 0) {
			log_err("overlay: --iface %s: no interface here has that address", iface);
			return -EADDRNOTAVAIL;
		}
	} else if (iface) {
		if (strlen(iface) >= IFNAMSIZ || netlink_addr4_first(iface, &a) < 0) {
			log_err("overlay: --iface %s: no such interface, or it has no IPv4 address", iface);
			return -EADDRNOTAVAIL;
		}
		strcpy(name, iface);
	} else if (!pub) {
		ret = netlink_default_route4_ifname(name);
		if (ret == 0)
			ret = netlink_addr4_first(name, &a);
		if (ret < 0) {
			log_err("overlay: cannot find this node's address (no IPv4 default route, or its interface "
				"has no address): give --public-ip or --iface");
			return ret;
		}
	}
	if (pub) {
		if (inet_pton(AF_INET, pub, &a) != 1) {
			log_err("overlay: --public-ip '%s' is not an IPv4 address", pub);
			return -EINVAL;
		}
		if (!name[0])
			netlink_addr4_owner(&a, name);
	}
	o->public_ip = ntohl(a.s_addr);
	o->mtu = 1500 - OVERHEAD;
	if (name[0] && netlink_link_get(name, &link) == 0 && link.mtu > OVERHEAD + 576)
		o->mtu = link.mtu - OVERHEAD;
	return 0;
}

/* --- the data plane --- */

static int uapi_set(struct overlay *o, const char *body)
{
	size_t len = strlen(body) + 16;
	char *req = malloc(len), *reply = NULL;
	int ret;

	if (!req)
		return -ENOMEM;
	snprintf(req, len, "set=1\n%s\n", body);
	ret = uapi_request(o->opt->ifname, req, &reply);
	crypt_wipe(req, len);
	free(req);
	if (ret == 0 && !strstr(reply, "errno=0"))
		ret = -EPROTO;
	free(reply);
	return ret;
}

static int start_dataplane(struct overlay *o)
{
	int64_t deadline = now_ms() + DATAPLANE_WAIT_MS;
	char *reply = NULL;
	pid_t pid;

	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		sigset_t none;

		/* The data plane goes when the controller goes, however it goes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		/* Nothing of the controller's (etcd connections) in the daemon. */
		close_range(3, ~0U, 0);
		execl(o->opt->self, "ferry", "-f", o->opt->ifname, (char *)NULL);
		log_err("overlay: cannot run %s: %s", o->opt->self, strerror(errno));
		_exit(127);
	}
	o->child = pid;
	while (now_ms() < deadline) {
		struct timespec ts = { 0, 20 * 1000000 };

		if (waitpid(pid, NULL, WNOHANG) == pid) {
			o->child = 0;
			log_err("overlay: the data plane (ferry -f %s) exited at start", o->opt->ifname);
			return -ECHILD;
		}
		if (uapi_request(o->opt->ifname, "get=1\n\n", &reply) == 0) {
			free(reply);
			return 0;
		}
		nanosleep(&ts, NULL);
	}
	log_err("overlay: the data plane's socket %s/%s.sock did not appear", UAPI_DIR, o->opt->ifname);
	return -ETIMEDOUT;
}

static void stop_dataplane(struct overlay *o)
{
	int i;

	if (o->child <= 0)
		return;
	kill(o->child, SIGTERM);
	for (i = 0; i < 100; i++) {
		struct timespec ts = { 0, 50 * 1000000 };

		if (waitpid(o->child, NULL, WNOHANG) == o->child) {
			o->child = 0;
			return;
		}
		nanosleep(&ts, NULL);
	}
	kill(o->child, SIGKILL);
	waitpid(o->child, NULL, 0);
	o->child = 0;
}

static int configure_device(struct overlay *o)
{
	char body[256], hex[KEY_HEX_LEN];
	struct ip_prefix addr = { .family = AF_INET, .len = 32 };
	const char *ifn = o->opt->ifname;
	int ret;

	key_to_hex(hex, o->private_key);
	snprintf(body, sizeof(body), "private_key=%s\nlisten_port=%u\nreplace_peers=true\n", hex,
		 (unsigned int)o->cfg.listen_port);
	crypt_wipe(hex, sizeof(hex));
	ret = uapi_set(o, body);
	crypt_wipe(body, sizeof(body));
	if (ret < 0) {
		log_err("overlay: %s: cannot set the key and UDP port %u: %s", ifn, o->cfg.listen_port, strerror(-ret));
		return ret;
	}
	ret = netlink_link_set_mtu(ifn, o->mtu);
	if (ret == 0) {
		/* The subnet's first address, as flannel's wireguard backend
		 * gives its device: the source of the host's own traffic into
		 * the overlay, inside this node's allowed-ips elsewhere. */
		addr.addr.v4.s_addr = htonl(o->own_net);
		ret = netlink_addr_add(ifn, &addr, false);
		if (ret == -EEXIST)
			ret = 0;
	}
	if (ret == 0)
		ret = netlink_link_set_up(ifn, true);
	if (ret < 0)
		log_err("overlay: %s: cannot set MTU, address or link up: %s", ifn, strerror(-ret));
	return ret;
}

/* IP masquerade for traffic from the Network to the world (flannel's
 * --ip-masq), in an nftables table of ferry's own, removed on exit. */
static int run_nft(const char *rules)
{
	int p[2], status;
	pid_t pid;
	size_t len = strlen(rules);

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		dup2(p[0], STDIN_FILENO);
		execlp("nft", "nft", "-f", "-", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	if (write(p[1], rules, len) != (ssize_t)len)
		log_warn("overlay: nft: short write");
	close(p[1]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

static int masquerade(struct overlay *o, bool on)
{
	char net[24], own[24], rules[1024];
	size_t i;

	if (!o->opt->ip_masq)
		return 0;
	if (!o->nft_table[0]) {
		snprintf(o->nft_table, sizeof(o->nft_table), "ferry_overlay_%s", o->opt->ifname);
		for (i = 0; o->nft_table[i]; i++)
			if (!isalnum((unsigned char)o->nft_table[i]))
				o->nft_table[i] = '_';
	}
	flannel_prefix_format(net, sizeof(net), o->cfg.network, o->cfg.network_len);
	flannel_prefix_format(own, sizeof(own), o->own_net, o->cfg.subnet_len);
	if (on)
		snprintf(rules, sizeof(rules),
			 "table ip %s\ndelete table ip %s\n"
			 "table ip %s {\n"
			 " chain postrouting {\n"
			 "  type nat hook postrouting priority srcnat; policy accept;\n"
			 "  ip saddr %s ip daddr %s return\n"
			 "  ip saddr %s ip daddr != 224.0.0.0/4 masquerade\n"
			 "  ip saddr != %s ip daddr %s return\n"
			 "  ip saddr != %s ip daddr %s masquerade\n"
			 " }\n"
			 "}\n",
			 o->nft_table, o->nft_table, o->nft_table, net, net, net, net, own, net, net);
	else
		snprintf(rules, sizeof(rules), "delete table ip %s\n", o->nft_table);
	if (run_nft(rules) < 0) {
		log_err("overlay: nft could not %s the masquerade rules (table ip %s)", on ? "add" : "remove",
			o->nft_table);
		return -EIO;
	}
	return 0;
}

/* --- the raw map: keys under PREFIX/subnets/ as etcd has them --- */

static void raw_free(struct raw_lease *r)
{
	free(r->name);
	free(r->value);
}

static void raw_clear(struct overlay *o)
{
	size_t i;

	for (i = 0; i < o->n_raw; i++)
		raw_free(&o->raw[i]);
	free(o->raw);
	o->raw = NULL;
	o->n_raw = 0;
}

/* Index of @name, or where it would go (with *found false). */
static size_t raw_find(const struct overlay *o, const char *name, bool *found)
{
	size_t lo = 0, hi = o->n_raw;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(o->raw[mid].name, name);

		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

/* The part of @kv's key after PREFIX/subnets/, or NULL for other keys. */
static const char *lease_name(const struct overlay *o, const struct etcd_kv *kv)
{
	size_t n = strlen(o->subnets);

	if (kv->key_len <= n || memcmp(kv->key, o->subnets, n) || strchr(kv->key + n, '/'))
		return NULL;
	return kv->key + n;
}

static int raw_put(struct overlay *o, const struct etcd_kv *kv)
{
	const char *name = lease_name(o, kv);
	struct raw_lease r = { 0 }, *grown;
	bool found;
	size_t i;

	if (!name)
		return 0;
	i = raw_find(o, name, &found);
	if (found && o->raw[i].mod_rev == kv->mod_revision)
		return 0;
	r.name = strdup(name);
	r.value = malloc(kv->value_len + 1);
	if (!r.name || !r.value) {
		raw_free(&r);
		return -ENOMEM;
	}
	memcpy(r.value, kv->value, kv->value_len + 1);
	r.value_len = kv->value_len;
	r.create_rev = kv->create_revision;
	r.mod_rev = kv->mod_revision;
	if (found) {
		raw_free(&o->raw[i]);
		o->raw[i] = r;
		return 0;
	}
	grown = realloc(o->raw, (o->n_raw + 1) * sizeof(*grown));
	if (!grown) {
		raw_free(&r);
		return -ENOMEM;
	}
	o->raw = grown;
	memmove(&o->raw[i + 1], &o->raw[i], (o->n_raw - i) * sizeof(*grown));
	o->raw[i] = r;
	o->n_raw++;
	return 0;
}

static void raw_del(struct overlay *o, const struct etcd_kv *kv)
{
	const char *name = lease_name(o, kv);
	bool found;
	size_t i;

	if (!name)
		return;
	i = raw_find(o, name, &found);
	if (!found)
		return;
	raw_free(&o->raw[i]);
	memmove(&o->raw[i], &o->raw[i + 1], (o->n_raw - i - 1) * sizeof(*o->raw));
	o->n_raw--;
}

/* --- which leases become peers --- */

/* Why the lease @r cannot be a peer, or NULL when it can; @e is filled. */
static const char *check_lease(const struct overlay *o, const struct raw_lease *r, struct peer_entry *e, char *err,
			       size_t errlen)
{
	struct flannel_lease l;
	char canon[24];
	unsigned int plen;

	if (flannel_subnet_parse(r->name, strlen(r->name), &e->net, &plen) < 0)
		return "the key does not name a subnet (as 10.244.3.0-24)";
	flannel_subnet_name(canon, sizeof(canon), e->net, plen);
	if (strcmp(canon, r->name))
		return "the key does not name its subnet the way flannel does";
	if (plen != o->cfg.subnet_len || (e->net & flannel_mask(o->cfg.network_len)) != o->cfg.network)
		return "the subnet is outside the Network or not of SubnetLen";
	if (flannel_lease_parse(r->value, r->value_len, &l, err, errlen) < 0)
		return err;
	if (!memcmp(l.public_key, o->public_key, KEY_LEN))
		return "it carries this node's public key (a lease this node left behind?)";
	if (e->net == o->own_net)
		return "it claims this node's subnet";
	if (l.public_ip == o->public_ip)
		return "it claims this node's address";
	memcpy(e->key, l.public_key, KEY_LEN);
	e->ip = l.public_ip;
	e->port = l.port ? l.port : o->cfg.listen_port;
	e->lz4 = o->cfg.lz4 && l.lz4;
	e->create_rev = r->create_rev;
	return NULL;
}

static int cmp_key_then_age(const void *a, const void *b)
{
	const struct peer_entry *x = a, *y = b;
	int c = memcmp(x->key, y->key, KEY_LEN);

	if (c)
		return c;
	return x->create_rev < y->create_rev ? -1 : x->create_rev > y->create_rev;
}

/* The peers etcd's leases ask for, sorted by key. One peer per key: when
 * two leases carry the same key, the older one stands (a second lease that
 * claims another node's key cannot take its traffic). Each problem is
 * logged once per version of the key, with the key's name. */
static int desired(struct overlay *o, struct peer_entry **out, size_t *n_out)
{
	struct peer_entry *d = calloc(o->n_raw + 1, sizeof(*d));
	char err[FLANNEL_ERR_LEN];
	size_t i, n = 0, k;

	if (!d)
		return -ENOMEM;
	for (i = 0; i < o->n_raw; i++) {
		struct raw_lease *r = &o->raw[i];
		const char *why;

		if (!strcmp(r->name, o->own_name))
			continue;
		why = check_lease(o, r, &d[n], err, sizeof(err));
		if (!why) {
			n++;
			continue;
		}
		if (!r->reported)
			log_warn("overlay: %s%s: ignored: %s", o->subnets, r->name, why);
		r->reported = true;
	}
	qsort(d, n, sizeof(*d), cmp_key_then_age);
	for (i = 0, k = 0; i < n; i++) {
		if (k && !memcmp(d[k - 1].key, d[i].key, KEY_LEN)) {
			char sub[24];

			flannel_subnet_name(sub, sizeof(sub), d[i].net, o->cfg.subnet_len);
			log_warn("overlay: %s%s: ignored: its public key is another lease's", o->subnets, sub);
			continue;
		}
		d[k++] = d[i];
	}
	*out = d;
	*n_out = k;
	return 0;
}

/* --- programming the data plane --- */

struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->buf ? t->cap - t->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if (t->buf && (size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = t->cap ? t->cap * 2 : 4096;
		char *b;

		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		b = realloc(t->buf, cap);
		if (!b) {
			t->failed = true;
			return;
		}
		t->buf = b;
		t->cap = cap;
	}
}

static void peer_lines(struct overlay *o, struct text *t, const struct peer_entry *e)
{
	char hex[KEY_HEX_LEN], ip[INET_ADDRSTRLEN], net[24];

	key_to_hex(hex, e->key);
	flannel_addr_format(ip, sizeof(ip), e->ip);
	flannel_prefix_format(net, sizeof(net), e->net, o->cfg.subnet_len);
	text_add(t, "public_key=%s\nendpoint=%s:%u\nreplace_allowed_ips=true\nallowed_ip=%s\n", hex, ip,
		 (unsigned int)e->port, net);
	if (o->cfg.has_psk) {
		key_to_hex(hex, o->cfg.psk);
		text_add(t, "preshared_key=%s\n", hex);
		crypt_wipe(hex, sizeof(hex));
	}
	if (o->cfg.keepalive)
		text_add(t, "persistent_keepalive_interval=%u\n", (unsigned int)o->cfg.keepalive);
	if (o->cfg.lz4)
		text_add(t, "ferry_compression=%s\n", e->lz4 ? "lz4" : "none");
}

static void route(struct overlay *o, uint32_t net, bool add)
{
	struct ip_prefix p = { .family = AF_INET, .len = (uint8_t)o->cfg.subnet_len };
	char buf[24];
	int ret;

	p.addr.v4.s_addr = htonl(net);
	ret = add ? netlink_route_add(o->opt->ifname, &p, NULL) : netlink_route_del(o->opt->ifname, &p);
	if (ret < 0 && ret != -EEXIST && ret != -ESRCH && ret != -ENOENT) {
		flannel_prefix_format(buf, sizeof(buf), net, o->cfg.subnet_len);
		log_err("overlay: cannot %s the route %s dev %s: %s", add ? "add" : "remove", buf, o->opt->ifname,
			strerror(-ret));
	}
}

static void log_peer(struct overlay *o, const char *what, const struct peer_entry *e)
{
	char key[KEY_B64_LEN], ip[INET_ADDRSTRLEN], net[24];

	key_to_base64(key, e->key);
	flannel_addr_format(ip, sizeof(ip), e->ip);
	flannel_prefix_format(net, sizeof(net), e->net, o->cfg.subnet_len);
	log_info("overlay: %s peer %s: %s via %s:%u%s", what, key, net, ip, (unsigned int)e->port,
		 e->lz4 ? ", LZ4" : "");
}

/* A new peer may still hold a session with this node's previous run (after
 * a restart): what it sends would go to keys nobody has any more until its
 * timers give up, 15 s later. One empty datagram to the peer's device
 * address (the discard port) makes the data plane handshake now. */
static void greet(struct overlay *o, const struct peer_entry *e)
{
	struct sockaddr_in from = { .sin_family = AF_INET }, to = { .sin_family = AF_INET, .sin_port = htons(9) };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	from.sin_addr.s_addr = htonl(o->own_net);
	to.sin_addr.s_addr = htonl(e->net);
	if (bind(fd, (struct sockaddr *)&from, sizeof(from)) == 0)
		sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
	close(fd);
}

static bool same_peer(const struct peer_entry *a, const struct peer_entry *b)
{
	return a->net == b->net && a->ip == b->ip && a->port == b->port && a->lz4 == b->lz4;
}

_Static_assert(offsetof(struct peer_entry, key) == 0, "cmp_key compares a key with an entry");

/* bsearch() of a key among peer entries (the key is their first member). */
static int cmp_key(const void *a, const void *b)
{
	return memcmp(a, b, KEY_LEN);
}

/* The request that makes the data plane's peers exactly @d (sorted by key),
 * whatever it holds now: its peers come from a UAPI get. */
static int full_set(struct overlay *o, struct text *t, const struct peer_entry *d, size_t n)
{
	char *reply = NULL, *line, *save = NULL;
	uint8_t key[KEY_LEN];
	size_t j, len;
	int ret;

	ret = uapi_request(o->opt->ifname, "get=1\n\n", &reply);
	if (ret < 0)
		return ret;
	len = strlen(reply); /* it holds the private key: wiped whole */
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "public_key=", 11) || !key_from_hex(key, line + 11))
			continue;
		/* d is sorted by key and its first member is the key. */
		if (!bsearch(key, d, n, sizeof(*d), cmp_key))
			text_add(t, "public_key=%s\nremove=true\n", line + 11);
	}
	for (j = 0; j < n; j++)
		peer_lines(o, t, &d[j]);
	crypt_wipe(reply, len);
	free(reply);
	return 0;
}

/* The request that turns the data plane's peers from o->prog into @d (both
 * sorted by key): removals, additions and changes only. */
static void changes(struct overlay *o, struct text *t, const struct peer_entry *d, size_t n)
{
	size_t i = 0, j = 0;

	while (i < o->n_prog || j < n) {
		int c = i == o->n_prog ? 1 : j == n ? -1 : memcmp(o->prog[i].key, d[j].key, KEY_LEN);
		char hex[KEY_HEX_LEN];

		if (c < 0) {
			key_to_hex(hex, o->prog[i].key);
			text_add(t, "public_key=%s\nremove=true\n", hex);
			i++;
		} else if (c > 0) {
			peer_lines(o, t, &d[j]);
			j++;
		} else {
			if (!same_peer(&o->prog[i], &d[j]))
				peer_lines(o, t, &d[j]);
			i++;
			j++;
		}
	}
}

/* Make the data plane's peers and the routes what etcd's leases ask for:
 * one UAPI request with every change, then the routes. */
static int program(struct overlay *o)
{
	struct peer_entry *d;
	struct text t = { 0 };
	size_t n, i, j;
	int ret;

	ret = desired(o, &d, &n);
	if (ret < 0)
		return ret;
	/* After a failed request the data plane may hold any part of it. */
	if (o->need_program) {
		ret = full_set(o, &t, d, n);
		if (ret < 0)
			goto out;
	} else {
		changes(o, &t, d, n);
	}
	if (t.failed) {
		ret = -ENOMEM;
		goto out;
	}
	if (t.len) {
		ret = uapi_set(o, t.buf);
		if (ret < 0) {
			if (!o->need_program)
				log_err("overlay: %s: the data plane refused the peers: %s; asking again every %d ms",
					o->opt->ifname, strerror(-ret), PROGRAM_RETRY_MS);
			goto out;
		}
		if (o->need_program)
			log_info("overlay: %s: the data plane took the peers", o->opt->ifname);
	}
	/* The data plane has the peers: now the routes, and the log. */
	for (i = 0, j = 0; i < o->n_prog || j < n;) {
		int c = i == o->n_prog ? 1 : j == n ? -1 : memcmp(o->prog[i].key, d[j].key, KEY_LEN);

		if (c < 0) {
			route(o, o->prog[i].net, false);
			log_peer(o, "removed", &o->prog[i]);
			i++;
		} else if (c > 0) {
			route(o, d[j].net, true);
			greet(o, &d[j]);
			log_peer(o, "added", &d[j]);
			j++;
		} else {
			if (!same_peer(&o->prog[i], &d[j])) {
				if (o->prog[i].net != d[j].net) {
					route(o, o->prog[i].net, false);
					route(o, d[j].net, true);
				}
				log_peer(o, "changed", &d[j]);
			}
			i++;
			j++;
		}
	}
	free(o->prog);
	o->prog = d;
	o->n_prog = n;
	d = NULL;
out:
	/* What the data plane did not take is asked again (the request is
	 * idempotent: peers set to what they are, removals of what is gone),
	 * never dropped: a lease removed meanwhile must not stay a peer. */
	o->need_program = ret < 0;
	if (ret < 0)
		o->next_program = now_ms() + PROGRAM_RETRY_MS;
	if (t.buf)
		crypt_wipe(t.buf, t.cap);
	free(t.buf);
	free(d);
	return ret;
}

/* The lease is renewed at a third of its TTL, and at least once a minute:
 * the renewal is also how a silent etcd is noticed. */
static int64_t keepalive_ms(const struct overlay *o)
{
	int64_t ms = (int64_t)o->opt->lease_ttl * 1000 / 3;

	return ms < 60000 ? ms : 60000;
}

/* --- talking to etcd: outages --- */

static void etcd_failed(struct overlay *o, const char *doing)
{
	if (!o->etcd_down)
		log_warn("overlay: etcd unreachable while %s (%s): forwarding goes on with the last known %zu "
			 "peer(s); retrying with backoff",
			 doing, o->etcd.error, o->n_prog);
	o->etcd_down = true;
	o->synced = false;
	etcd_watch_stop(&o->etcd);
	o->backoff_ms = o->backoff_ms ? o->backoff_ms * 2 : BACKOFF_MIN_MS;
	if (o->backoff_ms > BACKOFF_MAX_MS)
		o->backoff_ms = BACKOFF_MAX_MS;
	o->next_sync = now_ms() + o->backoff_ms;
}

static void etcd_answered(struct overlay *o)
{
	if (o->etcd_down) {
		log_info("overlay: etcd at %s answers again: resynchronising", etcd_endpoint(&o->etcd));
		o->etcd_down = false;
		o->next_keepalive = 0; /* and the lease: now */
	}
	o->backoff_ms = 0;
}

/* --- the lease --- */

static int lease_value(struct overlay *o, char *buf, size_t size)
{
	struct flannel_lease l = { .public_ip = o->public_ip, .port = o->cfg.listen_port, .lz4 = o->cfg.lz4 };

	memcpy(l.public_key, o->public_key, KEY_LEN);
	return flannel_lease_format(buf, size, &l);
}

static bool is_ours(const struct overlay *o, const struct etcd_kv *kv)
{
	struct flannel_lease l;

	return flannel_lease_parse(kv->value, kv->value_len, &l, NULL, 0) == 0 &&
	       !memcmp(l.public_key, o->public_key, KEY_LEN);
}

/* Put our lease at subnet @net if the key is absent (@mod_rev 0) or
 * unchanged since @mod_rev, under a new etcd lease. 1: it is ours now; 0:
 * someone was faster; < 0: etcd failed. */
static int claim(struct overlay *o, uint32_t net, int64_t mod_rev, int64_t old_lease)
{
	char name[24], key[600], value[256];
	int64_t id;
	bool done;
	int ret;

	flannel_subnet_name(name, sizeof(name), net, o->cfg.subnet_len);
	snprintf(key, sizeof(key), "%s%s", o->subnets, name);
	if (lease_value(o, value, sizeof(value)) < 0)
		return -ENOSPC;
	ret = etcd_lease_grant(&o->etcd, o->opt->lease_ttl, &id);
	if (ret < 0)
		return ret;
	ret = etcd_put_if(&o->etcd, key, mod_rev, value, id, &done);
	if (ret < 0 || !done) {
		etcd_lease_revoke(&o->etcd, id);
		return ret < 0 ? ret : 0;
	}
	/* The key is bound to the new lease: the old one (ours) holds nothing. */
	if (old_lease && old_lease != id)
		etcd_lease_revoke(&o->etcd, old_lease);
	o->own_net = net;
	o->lease_id = id;
	strcpy(o->own_name, name);
	snprintf(o->own_key, sizeof(o->own_key), "%s", key);
	return 1;
}

/* A free subnet, at random among all free ones (as flannel, which keeps a
 * just-expired subnet unlikely to be handed out again at once). A key with
 * a bad value still occupies its subnet. */
static int pick_free(struct overlay *o, const struct etcd_kvs *kvs, uint32_t *net)
{
	uint32_t size = (uint32_t)1 << (32 - o->cfg.subnet_len), s, count = 0, pick, r;
	uint32_t total = (o->cfg.subnet_max - o->cfg.subnet_min) / size + 1;
	uint8_t *used = calloc(total, 1);
	size_t i;

	if (!used)
		return -ENOMEM;
	/* Mark the subnets each key overlaps: its own, or all those inside a
	 * larger prefix. */
	for (i = 0; i < kvs->n; i++) {
		const char *name = lease_name(o, &kvs->kv[i]);
		uint64_t first, last;
		unsigned int plen;
		uint32_t n;

		if (!name || flannel_subnet_parse(name, strlen(name), &n, &plen) < 0)
			continue;
		first = n & flannel_mask(plen < o->cfg.subnet_len ? plen : o->cfg.subnet_len);
		last = plen < o->cfg.subnet_len ? (uint64_t)n + (~flannel_mask(plen)) : first;
		if (last < o->cfg.subnet_min || first > o->cfg.subnet_max)
			continue;
		if (first < o->cfg.subnet_min)
			first = o->cfg.subnet_min;
		for (s = (uint32_t)((first - o->cfg.subnet_min) / size);
		     s < total && (uint64_t)o->cfg.subnet_min + (uint64_t)s * size <= last; s++)
			used[s] = 1;
	}
	for (s = 0; s < total; s++)
		count += !used[s];
	if (count == 0) {
		free(used);
		return -ENOSPC;
	}
	crypt_random(&r, sizeof(r));
	pick = r % count;
	for (s = 0; s < total; s++)
		if (!used[s] && pick-- == 0)
			break;
	*net = o->cfg.subnet_min + s * size;
	free(used);
	return 0;
}

static const struct etcd_kv *find_kv(const struct overlay *o, const struct etcd_kvs *kvs, uint32_t net)
{
	char name[24];
	size_t i;

	flannel_subnet_name(name, sizeof(name), net, o->cfg.subnet_len);
	for (i = 0; i < kvs->n; i++) {
		const char *n = lease_name(o, &kvs->kv[i]);

		if (n && !strcmp(n, name))
			return &kvs->kv[i];
	}
	return NULL;
}

static void conflict(struct overlay *o, uint32_t net, const char *when)
{
	char name[24];

	if (o->conflict_logged)
		return;
	o->conflict_logged = true;
	flannel_subnet_name(name, sizeof(name), net, o->cfg.subnet_len);
	log_err("overlay: %s%s belongs to another node (%s). This node's containers have addresses from it, so "
		"ferry will not take another subnet on its own: stop those containers, remove %s, and start "
		"ferry overlay again. Forwarding goes on; ferry takes the subnet back if the other lease goes",
		o->subnets, name, when, o->opt->subnet_file);
}

/* At start: this node's previous subnet when it is free or still ours,
 * else the one etcd holds under our key, else a free one. Every write is
 * a compare-and-swap, retried when another node was faster. */
static int acquire(struct overlay *o)
{
	uint32_t prev, net;
	int tries, ret;

	ret = previous_subnet(o, &prev);
	if (ret < 0)
		return ret;
	for (tries = 0; tries < ACQUIRE_TRIES; tries++) {
		const struct etcd_kv *kv = NULL, *mine = NULL;
		struct etcd_kvs kvs;
		size_t i;

		ret = etcd_range(&o->etcd, o->subnets, true, &kvs);
		if (ret < 0) {
			if (ret != -EIO)
				log_err("overlay: cannot read %s from etcd: %s", o->subnets, o->etcd.error);
			return ret;
		}
		for (i = 0; i < kvs.n; i++)
			if (lease_name(o, &kvs.kv[i]) && is_ours(o, &kvs.kv[i]) &&
			    (!mine || kvs.kv[i].mod_revision > mine->mod_revision))
				mine = &kvs.kv[i];
		if (prev) {
			net = prev;
			kv = find_kv(o, &kvs, net);
			if (kv && !is_ours(o, kv)) {
				conflict(o, net, "the subnet file says it is this node's");
				etcd_kvs_free(&kvs);
				return -EEXIST;
			}
		} else if (mine) {
			kv = mine;
			flannel_subnet_parse(lease_name(o, mine), strlen(lease_name(o, mine)), &net,
					     &(unsigned int){ 0 });
		} else {
			ret = pick_free(o, &kvs, &net);
			if (ret < 0) {
				char nw[24];

				flannel_prefix_format(nw, sizeof(nw), o->cfg.network, o->cfg.network_len);
				log_err("overlay: the network is full: every /%u of %s between SubnetMin and SubnetMax "
					"is leased (%zu leases)",
					o->cfg.subnet_len, nw, kvs.n);
				etcd_kvs_free(&kvs);
				return ret;
			}
		}
		ret = claim(o, net, kv ? kv->mod_revision : 0, kv ? kv->lease : 0);
		etcd_kvs_free(&kvs);
		if (ret < 0) {
			if (ret != -EIO)
				log_err("overlay: cannot write this node's lease to etcd: %s", o->etcd.error);
			return ret;
		}
		if (ret == 1) {
			log_info("overlay: leased %s%s (%s), TTL %u s", o->subnets, o->own_name,
				 kv ? "this node's, taken back" : "new", o->opt->lease_ttl);
			return 0;
		}
	}
	log_err("overlay: other nodes took every subnet tried, %d times in a row", ACQUIRE_TRIES);
	return -EAGAIN;
}

/* At run time, our lease expired, vanished or was overwritten: take the
 * same subnet back, never another one. A value that is not a lease is taken
 * over; another node's valid lease is a conflict, logged once and looked at
 * again later, while forwarding goes on. */
static void reacquire(struct overlay *o)
{
	struct etcd_kvs kvs;
	const struct etcd_kv *kv;
	struct flannel_lease l;
	int ret;

	ret = etcd_range(&o->etcd, o->own_key, false, &kvs);
	if (ret < 0) {
		etcd_failed(o, "taking our subnet back");
		o->next_reacquire = now_ms() + o->backoff_ms;
		return;
	}
	kv = kvs.n ? &kvs.kv[0] : NULL;
	if (kv && !is_ours(o, kv) && flannel_lease_parse(kv->value, kv->value_len, &l, NULL, 0) == 0) {
		etcd_kvs_free(&kvs);
		conflict(o, o->own_net, "another node's lease replaced this node's");
		o->next_reacquire = now_ms() + 5000;
		return;
	}
	ret = claim(o, o->own_net, kv ? kv->mod_revision : 0, kv && kv->lease != o->lease_id ? kv->lease : 0);
	etcd_kvs_free(&kvs);
	if (ret < 0) {
		etcd_failed(o, "taking our subnet back");
		o->next_reacquire = now_ms() + o->backoff_ms;
		return;
	}
	if (ret == 1) {
		log_info("overlay: %s is this node's again (new etcd lease)", o->own_key);
		o->need_reacquire = false;
		o->conflict_logged = false;
		o->next_keepalive = now_ms() + keepalive_ms(o);
	} else {
		o->next_reacquire = now_ms() + BACKOFF_MIN_MS; /* raced: look again */
	}
}

static void keepalive(struct overlay *o)
{
	int64_t ttl = 0;
	int ret = etcd_lease_keepalive(&o->etcd, o->lease_id, &ttl);

	if (ret == -EIO) {
		etcd_failed(o, "renewing our lease");
		o->next_keepalive = now_ms() + o->backoff_ms;
		return;
	}
	etcd_answered(o);
	o->next_keepalive = now_ms() + keepalive_ms(o);
	if (ret == 0 && ttl > 0)
		return;
	log_warn("overlay: our etcd lease for %s expired: taking the same subnet back", o->own_key);
	o->need_reacquire = true;
	o->next_reacquire = 0;
}

/* --- snapshot and watch --- */

static int resync(struct overlay *o)
{
	struct etcd_kvs kvs;
	struct raw_lease *old = o->raw;
	size_t n_old = o->n_raw, i;
	bool own_present = false;
	int ret;

	ret = etcd_range(&o->etcd, o->subnets, true, &kvs);
	if (ret < 0) {
		etcd_failed(o, "reading the leases");
		return 0;
	}
	etcd_answered(o);
	o->raw = NULL;
	o->n_raw = 0;
	for (i = 0; i < kvs.n && ret == 0; i++) {
		ret = raw_put(o, &kvs.kv[i]);
		if (lease_name(o, &kvs.kv[i]) && !strcmp(lease_name(o, &kvs.kv[i]), o->own_name))
			own_present = is_ours(o, &kvs.kv[i]);
	}
	/* What was already reported stays reported. */
	for (i = 0; i < n_old; i++) {
		bool found;
		size_t k = raw_find(o, old[i].name, &found);

		if (found && o->raw[k].mod_rev == old[i].mod_rev)
			o->raw[k].reported = old[i].reported;
		raw_free(&old[i]);
	}
	free(old);
	o->revision = kvs.revision;
	etcd_kvs_free(&kvs);
	if (ret < 0)
		return ret;
	if (!own_present && !o->need_reacquire) {
		log_warn("overlay: %s is not this node's in etcd: taking it back", o->own_key);
		o->need_reacquire = true;
		o->next_reacquire = 0;
	}
	ret = program(o);
	if (ret == -ENOMEM)
		return ret;
	/* Everything up to the snapshot is in o->raw (and in the data plane,
	 * or retried by the loop); events come after it. */
	if (etcd_watch_start(&o->etcd, o->subnets, o->revision + 1) < 0) {
		o->next_sync = now_ms() + BACKOFF_MAX_MS;
		return 0;
	}
	o->synced = true;
	return 0;
}

static void own_event(struct overlay *o, const struct etcd_event *ev)
{
	if (!ev->deleted && is_ours(o, &ev->kv))
		return;
	if (!o->need_reacquire)
		log_warn("overlay: %s was %s in etcd: taking it back", o->own_key,
			 ev->deleted ? "deleted" : "overwritten");
	o->need_reacquire = true;
	o->next_reacquire = 0;
}

static int watch_events(struct overlay *o)
{
	struct etcd_watch_msg m;
	bool changed = false;
	int ret;

	while ((ret = etcd_watch_next(&o->etcd, &m)) == 1) {
		size_t i;

		if (m.canceled || m.compact_revision) {
			log_warn("overlay: the etcd watch was cancelled%s: resynchronising",
				 m.compact_revision ? " (its revision was compacted)" : "");
			etcd_watch_msg_free(&m);
			o->synced = false;
			o->next_sync = 0;
			etcd_watch_stop(&o->etcd);
			return 0;
		}
		for (i = 0; i < m.n_events; i++) {
			const struct etcd_event *ev = &m.events[i];
			const char *name = lease_name(o, &ev->kv);

			/* Never act on what the snapshot already has. */
			if (!name || ev->kv.mod_revision <= o->revision)
				continue;
			if (!strcmp(name, o->own_name))
				own_event(o, ev);
			if (ev->deleted)
				raw_del(o, &ev->kv);
			else if (raw_put(o, &ev->kv) < 0)
				o->synced = false;
			changed = true;
		}
		/* o->revision stays the snapshot's: a message's header may be
		 * newer than events it still has to deliver. */
		etcd_watch_msg_free(&m);
	}
	if (ret == -EPIPE || ret < 0) {
		if (ret == -EPIPE)
			etcd_failed(o, "watching the leases");
		else
			log_warn("overlay: the etcd watch sent something that is not a watch response: "
				 "resynchronising");
		o->synced = false;
		etcd_watch_stop(&o->etcd);
	}
	if (changed) {
		ret = program(o);
		if (ret == -ENOMEM)
			return ret;
	}
	return 0;
}

/* --- the loop --- */

static void tell_ready(struct overlay *o)
{
	const char *sock = getenv("NOTIFY_SOCKET");

	if (o->ready_fd >= 0) {
		if (write(o->ready_fd, "y", 1) != 1)
			log_warn("overlay: could not tell the parent process that the overlay is ready");
		close(o->ready_fd);
		o->ready_fd = -1;
	}
	/* systemd's Type=notify, as flannel: ready once the subnet file is written. */
	if (sock && (sock[0] == '/' || sock[0] == '@') && strlen(sock) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		strcpy(sa.sun_path, sock);
		if (sa.sun_path[0] == '@')
			sa.sun_path[0] = '\0';
		if (fd >= 0) {
			if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sa,
				   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sock))) < 0)
				log_warn("overlay: cannot notify %s: %s", sock, strerror(errno));
			close(fd);
		}
	}
}

static int handle_signals(struct overlay *o, bool *stop)
{
	struct signalfd_siginfo si;

	while (read(o->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			if (o->child > 0 && waitpid(o->child, NULL, WNOHANG) == o->child) {
				o->child = 0;
				log_err("overlay: the data plane (ferry -f %s) exited", o->opt->ifname);
				return -ECHILD;
			}
		} else {
			log_info("overlay: %s: stopping (the lease stays until it expires)",
				 si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
			*stop = true;
		}
	}
	return 0;
}

static int loop(struct overlay *o)
{
	bool stop = false;
	int ret = 0;

	while (!stop && ret == 0) {
		int64_t now = now_ms(), next = now + 1000;

		if (!o->synced && o->next_sync < next)
			next = o->next_sync;
		if (o->next_keepalive < next)
			next = o->next_keepalive;
		if (o->need_reacquire && o->next_reacquire < next)
			next = o->next_reacquire;
		if (o->need_program && o->next_program < next)
			next = o->next_program;
		etcd_watch_poll(&o->etcd, next > now ? (int)(next - now) : 0, o->sigfd);
		ret = handle_signals(o, &stop);
		if (ret < 0 || stop)
			break;
		if (o->synced)
			ret = watch_events(o);
		now = now_ms();
		if (ret == 0 && !o->synced && now >= o->next_sync)
			ret = resync(o);
		if (ret == 0 && o->need_program && now >= o->next_program && program(o) == -ENOMEM)
			ret = -ENOMEM;
		if (ret == 0 && o->need_reacquire && now >= o->next_reacquire)
			reacquire(o);
		if (ret == 0 && !o->need_reacquire && now >= o->next_keepalive)
			keepalive(o);
	}
	return ret;
}

static int read_config(struct overlay *o)
{
	char text[FLANNEL_JSON_MAX], err[FLANNEL_ERR_LEN];
	struct etcd_kvs kvs;
	int ret;

	ret = etcd_range(&o->etcd, o->config_key, false, &kvs);
	if (ret < 0) {
		if (ret != -EIO)
			log_err("overlay: cannot read the network configuration %s from etcd: %s", o->config_key,
				o->etcd.error);
		return ret;
	}
	if (kvs.n == 0) {
		etcd_kvs_free(&kvs);
		log_err("overlay: etcd at %s has no network configuration at %s (write one with etcdctl put, see "
			"ferry(8))",
			etcd_endpoint(&o->etcd), o->config_key);
		return -ENOENT;
	}
	ret = kvs.kv[0].value_len < sizeof(text) ? 0 : -EFBIG;
	if (ret == 0) {
		memcpy(text, kvs.kv[0].value, kvs.kv[0].value_len);
		ret = flannel_config_parse(text, kvs.kv[0].value_len, &o->cfg, err, sizeof(err));
	} else {
		snprintf(err, sizeof(err), "larger than %d bytes", FLANNEL_JSON_MAX);
	}
	etcd_kvs_free(&kvs);
	if (ret < 0) {
		log_err("overlay: %s: bad network configuration: %s", o->config_key, err);
		return -EINVAL;
	}
	return 0;
}

/* Wait @ms for SIGTERM or SIGINT: true when one came. */
static bool stop_requested(struct overlay *o, int ms)
{
	struct pollfd p = { .fd = o->sigfd, .events = POLLIN };
	struct signalfd_siginfo si;

	if (poll(&p, 1, ms) <= 0)
		return false;
	while (read(o->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			return true;
	return false;
}

/* The network configuration and a lease. While etcd does not answer, say
 * so once, clearly, and retry: a node started during an outage joins when
 * etcd is back. Anything else wrong ends the start. */
static int join(struct overlay *o)
{
	unsigned int backoff = BACKOFF_MIN_MS;
	bool said = false;
	int ret;

	for (;;) {
		ret = read_config(o);
		if (ret == 0)
			ret = acquire(o);
		if (ret != -EIO)
			break;
		if (!said)
			log_err("overlay: cannot reach etcd (%s): retrying until it answers", o->etcd.error);
		said = true;
		if (stop_requested(o, (int)backoff))
			return -EINTR;
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	if (said && ret == 0)
		log_info("overlay: etcd at %s answers", etcd_endpoint(&o->etcd));
	return ret;
}

static int setup(struct overlay *o)
{
	const struct overlay_options *opt = o->opt;
	char key[KEY_B64_LEN], pub[INET_ADDRSTRLEN], net[24];
	int ret;

	ret = etcd_client_init(&o->etcd, opt->endpoints, opt->cafile, opt->certfile, opt->keyfile);
	if (ret < 0) {
		log_err("overlay: --etcd-endpoints: %s", o->etcd.error);
		return ret;
	}
	snprintf(o->config_key, sizeof(o->config_key), "%s/config", opt->prefix);
	snprintf(o->subnets, sizeof(o->subnets), "%s/subnets/", opt->prefix);
	ret = find_public_ip(o);
	if (ret == 0)
		ret = join(o);
	if (ret < 0)
		return ret;
	key_to_base64(key, o->public_key);
	flannel_addr_format(pub, sizeof(pub), o->public_ip);
	flannel_prefix_format(net, sizeof(net), o->own_net, o->cfg.subnet_len);
	log_info("overlay: node %s at %s:%u has %s; MTU %u", key, pub, (unsigned int)o->cfg.listen_port, net, o->mtu);
	ret = start_dataplane(o);
	if (ret == 0)
		ret = configure_device(o);
	if (ret == 0)
		ret = masquerade(o, true);
	if (ret == 0)
		ret = write_subnet_file(o);
	if (ret < 0)
		return ret;
	o->next_keepalive = now_ms() + keepalive_ms(o);
	/* The first map; if etcd went away just now, the loop retries. */
	return resync(o);
}

int overlay_run(const struct overlay_options *opt)
{
	struct overlay o = { .opt = opt, .sigfd = -1, .ready_fd = -1 };
	sigset_t mask;
	int ret;

	if (crypt_init() < 0) {
		log_err("cannot initialise the crypto libraries");
		return 1;
	}
	/* The parent exits 0 when the child says it is ready (the lease, the
	 * data plane, the subnet file and the first map are in place). */
	if (!opt->foreground && daemon_fork(&o.ready_fd) < 0) {
		log_err("overlay: cannot go to the background");
		return 1;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	ret = o.sigfd < 0 ? -errno : load_or_create_key(&o, opt->key_file);
	if (ret == 0)
		ret = setup(&o);
	if (ret == 0) {
		tell_ready(&o);
		ret = loop(&o);
	}
	stop_dataplane(&o);
	if (o.nft_table[0])
		masquerade(&o, false);
	etcd_client_free(&o.etcd);
	raw_clear(&o);
	free(o.prog);
	crypt_wipe(o.private_key, sizeof(o.private_key));
	if (o.sigfd >= 0)
		close(o.sigfd);
	return ret < 0 && ret != -EINTR ? 1 : 0;
}
