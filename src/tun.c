/* tun.c - TUN/TAP devices through /dev/net/tun: create or attach, queues,
 * persistence, ownership, vnet_hdr and offload negotiation.
 *
 * The kernel answers most mistakes with a bare EINVAL or EPERM; this file
 * looks at what exists (over netlink) before asking, so the message can say
 * what is wrong: the name is taken by a veth, the device is a TAP, it was
 * made without multi_queue, it belongs to another user. */
#include "tun.h"

#include "log.h"
#include "netlink.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int tun_name_check(const char *name, const char **why)
{
	const char *p;

	if (!name || !*name) {
		*why = "the name is empty";
		return -EINVAL;
	}
	if (strlen(name) >= IFNAMSIZ) {
		*why = "the name is longer than 15 bytes";
		return -EINVAL;
	}
	if (!strcmp(name, ".") || !strcmp(name, "..")) {
		*why = "the name may not be '.' or '..'";
		return -EINVAL;
	}
	for (p = name; *p; p++) {
		if (*p == '/') {
			*why = "the name contains '/'";
			return -EINVAL;
		}
		if (*p == ':') {
			*why = "the name contains ':'";
			return -EINVAL;
		}
		if (isspace((unsigned char)*p)) {
			*why = "the name contains whitespace";
			return -EINVAL;
		}
	}
	return 0;
}

const char *tun_mode_name(enum tun_mode mode)
{
	return mode == TUN_MODE_TAP ? "tap" : "tun";
}

static const char *tun_path(void)
{
	const char *p = secure_getenv(TUN_PATH_ENV);

	return p && *p ? p : TUN_DEFAULT_PATH;
}

static short config_flags(const struct tun_config *cfg)
{
	short flags = cfg->mode == TUN_MODE_TAP ? IFF_TAP : IFF_TUN;

	if (!cfg->pi)
		flags |= IFF_NO_PI;
	if (cfg->vnet_hdr)
		flags |= IFF_VNET_HDR;
	if (cfg->multi_queue)
		flags |= IFF_MULTI_QUEUE;
	return flags;
}

/* Compare the request with a device that already has this name. */
static int check_existing(const struct tun_config *cfg, const struct netlink_link *l)
{
	const char *want = tun_mode_name(cfg->mode);

	if (!l->is_tun) {
		log_err("'%s' exists and is a %s device, not a tun/tap device", l->name,
			*l->kind ? l->kind : "non-tun");
		return -EEXIST;
	}
	if (cfg->exclusive) {
		log_err("device '%s' exists already (a %s device)", l->name, l->tun.type == IFF_TAP ? "tap" : "tun");
		return -EEXIST;
	}
	if ((l->tun.type == IFF_TAP) != (cfg->mode == TUN_MODE_TAP)) {
		log_err("'%s' is a %s device, not %s", l->name, l->tun.type == IFF_TAP ? "tap" : "tun", want);
		return -EINVAL;
	}
	if (l->tun.multi_queue != cfg->multi_queue) {
		log_err("'%s' was created %s multi_queue; ask for it %s multi_queue", l->name,
			l->tun.multi_queue ? "with" : "without", l->tun.multi_queue ? "with" : "without");
		return -EINVAL;
	}
	return 0;
}

static int open_clone(const char *name)
{
	const char *path = tun_path();
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	fd = -errno;
	if (fd == -ENOENT || fd == -ENODEV || fd == -ENXIO)
		log_err("cannot open %s for '%s': %s (is the tun module loaded? try 'modprobe tun')", path, name,
			strerror(-fd));
	else if (fd == -EACCES || fd == -EPERM)
		log_err("cannot open %s for '%s': %s (run as root, or let this user open it)", path, name,
			strerror(-fd));
	else
		log_err("cannot open %s for '%s': %s", path, name, strerror(-fd));
	return fd;
}

static void explain_setiff(int err, const char *name, bool existed)
{
	if (err == EPERM || err == EACCES) {
		if (existed)
			log_err("not permitted to attach to '%s': it belongs to another user or group "
				"(needs CAP_NET_ADMIN, or 'ferry tuntap add dev %s user YOU')",
				name, name);
		else
			log_err("not permitted to create '%s': creating a device needs CAP_NET_ADMIN", name);
	} else if (err == EBUSY) {
		log_err("'%s' is busy: another process holds it (a single-queue device takes one reader)", name);
	} else {
		log_err("cannot %s '%s': TUNSETIFF: %s", existed ? "attach to" : "create", name, strerror(err));
	}
}

static int open_queue(struct tun_device *dev, const struct tun_config *cfg, const char *name, bool existed)
{
	struct ifreq ifr;
	int fd = open_clone(*name ? name : "new device");

	if (fd < 0)
		return fd;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = config_flags(cfg);
	if (cfg->exclusive)
		ifr.ifr_flags |= IFF_TUN_EXCL;
	strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int err = errno;

		explain_setiff(err, *name ? name : "new device", existed);
		close(fd);
		return -err;
	}
	if (!dev->queues) {
		memcpy(dev->name, ifr.ifr_name, IFNAMSIZ);
		dev->name[IFNAMSIZ - 1] = '\0';
		if (ioctl(fd, TUNGETIFF, &ifr) == 0)
			dev->flags = ifr.ifr_flags;
	}
	dev->fd[dev->queues++] = fd;
	return 0;
}

int tun_open(struct tun_device *dev, const struct tun_config *cfg)
{
	unsigned int queues = cfg->queues ? cfg->queues : 1;
	struct netlink_link link;
	bool existed = false;
	const char *why;
	unsigned int i;
	int ret;

	memset(dev, 0, sizeof(*dev));
	for (i = 0; i < TUN_MAX_QUEUES; i++)
		dev->fd[i] = -1;
	dev->mode = cfg->mode;

	if (*cfg->name && tun_name_check(cfg->name, &why) < 0) {
		log_err("invalid device name '%s': %s", cfg->name, why);
		return -EINVAL;
	}
	if (queues > TUN_MAX_QUEUES) {
		log_err("%u queues asked for '%s'; at most %d", queues, cfg->name, TUN_MAX_QUEUES);
		return -EINVAL;
	}
	if (queues > 1 && !cfg->multi_queue) {
		log_err("%u queues asked for '%s' without multi_queue", queues, cfg->name);
		return -EINVAL;
	}
	if (*cfg->name && !strchr(cfg->name, '%')) {
		ret = netlink_link_get(cfg->name, &link);
		if (ret == 0) {
			existed = true;
			ret = check_existing(cfg, &link);
			if (ret < 0)
				return ret;
		} else if (ret != -ENODEV) {
			log_err("cannot look up '%s': %s", cfg->name, strerror(-ret));
			return ret;
		}
	}
	if (!existed && cfg->attach_only) {
		log_err("no device named '%s' to attach to (create it with 'ferry tuntap add dev %s mode %s')",
			cfg->name, cfg->name, tun_mode_name(cfg->mode));
		return -ENODEV;
	}
	dev->created = !existed;

	ret = open_queue(dev, cfg, cfg->name, existed);
	for (i = 1; ret == 0 && i < queues; i++)
		ret = open_queue(dev, cfg, dev->name, true);
	if (ret < 0) {
		tun_close(dev);
		return ret;
	}
	if (cfg->vnet_hdr) {
		int sz = (int)sizeof(struct virtio_net_hdr);

		if (ioctl(dev->fd[0], TUNSETVNETHDRSZ, &sz) < 0) {
			ret = -errno;
			log_err("'%s': TUNSETVNETHDRSZ: %s", dev->name, strerror(errno));
			tun_close(dev);
			return ret;
		}
		dev->vnet_hdr_sz = sz;
	}
	return 0;
}

void tun_close(struct tun_device *dev)
{
	unsigned int i;

	for (i = 0; i < dev->queues; i++) {
		if (dev->fd[i] >= 0)
			close(dev->fd[i]);
		dev->fd[i] = -1;
	}
	dev->queues = 0;
}

static int tun_ioctl(struct tun_device *dev, unsigned int queue, unsigned long req, unsigned long arg, const char *what)
{
	if (queue >= dev->queues)
		return -EINVAL;
	if (ioctl(dev->fd[queue], req, arg) < 0) {
		int err = errno;

		log_err("'%s': %s: %s", dev->name, what, strerror(err));
		return -err;
	}
	return 0;
}

int tun_set_persist(struct tun_device *dev, bool persist)
{
	return tun_ioctl(dev, 0, TUNSETPERSIST, persist, "TUNSETPERSIST");
}

int tun_set_owner(struct tun_device *dev, uid_t uid)
{
	return tun_ioctl(dev, 0, TUNSETOWNER, uid, "TUNSETOWNER");
}

int tun_set_group(struct tun_device *dev, gid_t gid)
{
	return tun_ioctl(dev, 0, TUNSETGROUP, gid, "TUNSETGROUP");
}

static int set_queue(struct tun_device *dev, unsigned int queue, short flag, const char *what)
{
	struct ifreq ifr;

	if (!(dev->flags & IFF_MULTI_QUEUE)) {
		log_err("'%s': queues can be attached and detached only on a multi_queue device", dev->name);
		return -EINVAL;
	}
	if (queue >= dev->queues) {
		log_err("'%s': no queue %u (the device has %u open)", dev->name, queue, dev->queues);
		return -EINVAL;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = flag;
	if (ioctl(dev->fd[queue], TUNSETQUEUE, &ifr) < 0) {
		int err = errno;

		log_err("'%s': %s queue %u: %s", dev->name, what, queue, strerror(err));
		return -err;
	}
	return 0;
}

int tun_queue_attach(struct tun_device *dev, unsigned int queue)
{
	return set_queue(dev, queue, IFF_ATTACH_QUEUE, "attach");
}

int tun_queue_detach(struct tun_device *dev, unsigned int queue)
{
	return set_queue(dev, queue, IFF_DETACH_QUEUE, "detach");
}

int tun_set_offload(struct tun_device *dev, unsigned int wanted)
{
	/* Give up the newest offloads first: each step drops one group. */
	static const unsigned int drop[] = { TUN_F_USO4 | TUN_F_USO6, TUN_F_TSO_ECN, TUN_F_TSO4 | TUN_F_TSO6,
					     TUN_F_CSUM };
	unsigned int flags = wanted, i = 0;

	if (!dev->vnet_hdr_sz) {
		log_err("'%s': offloads need vnet_hdr", dev->name);
		return -EINVAL;
	}
	/* TSO and USO are meaningless without checksum offload. */
	if (flags & ~TUN_F_CSUM)
		flags |= TUN_F_CSUM;
	for (;;) {
		if (ioctl(dev->fd[0], TUNSETOFFLOAD, (unsigned long)flags) == 0) {
			dev->offloads = flags;
			return (int)flags;
		}
		if (errno != EINVAL) {
			int err = errno;

			log_err("'%s': TUNSETOFFLOAD: %s", dev->name, strerror(err));
			return -err;
		}
		if (!flags || i >= sizeof(drop) / sizeof(drop[0]))
			break;
		flags &= ~drop[i++];
	}
	dev->offloads = 0;
	return 0;
}

int fcntl_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

int tun_delete(const char *name)
{
	struct tun_config cfg;
	struct tun_device dev;
	struct netlink_link link;
	const char *why;
	int ret;

	if (tun_name_check(name, &why) < 0) {
		log_err("invalid device name '%s': %s", name ? name : "", why);
		return -EINVAL;
	}
	ret = netlink_link_get(name, &link);
	if (ret == -ENODEV) {
		log_err("no device named '%s'", name);
		return ret;
	}
	if (ret < 0) {
		log_err("cannot look up '%s': %s", name, strerror(-ret));
		return ret;
	}
	if (!link.is_tun) {
		log_err("'%s' is a %s device, not a tun/tap device", name, *link.kind ? link.kind : "non-tun");
		return -EINVAL;
	}
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.mode = link.tun.type == IFF_TAP ? TUN_MODE_TAP : TUN_MODE_TUN;
	cfg.multi_queue = link.tun.multi_queue;
	cfg.pi = link.tun.pi;
	cfg.vnet_hdr = link.tun.vnet_hdr;
	cfg.attach_only = true;
	ret = tun_open(&dev, &cfg);
	if (ret < 0)
		return ret;
	ret = tun_set_persist(&dev, false);
	tun_close(&dev);
	return ret;
}
