/* tun.h - the /dev/net/tun device: TUN (L3) and TAP (L2) interfaces.
 *
 * A struct tun_device holds one file descriptor per queue. Creating a device
 * and attaching to an existing one are the same TUNSETIFF call; tun_open()
 * checks first what exists so that it can explain a refusal in words. */
#ifndef FERRY_TUN_H
#define FERRY_TUN_H

#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <stdbool.h>
#include <sys/types.h>

/* Linux 6.2 added UDP segmentation offload to TUN; older headers lack it. */
#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#endif
#ifndef TUN_F_USO6
#define TUN_F_USO6 0x40
#endif

#define TUN_MAX_QUEUES	 64
#define TUN_DEFAULT_PATH "/dev/net/tun"
/* Environment variable naming another clone device node (for tests, chroots). */
#define TUN_PATH_ENV "FERRY_TUN_DEVICE"

enum tun_mode { TUN_MODE_TUN, TUN_MODE_TAP };

struct tun_config {
	char name[IFNAMSIZ]; /* "" or a template with %d: the kernel picks */
	enum tun_mode mode;
	bool pi;       /* 4-byte packet information header before each packet */
	bool vnet_hdr; /* struct virtio_net_hdr before each packet */
	bool multi_queue;
	unsigned int queues; /* queues to open, 0 counts as 1; > 1 needs multi_queue */
	bool exclusive;	     /* fail if the device exists already */
	bool attach_only;    /* fail if the device does not exist yet */
};

struct tun_device {
	char name[IFNAMSIZ];
	enum tun_mode mode;
	short flags; /* IFF_* as the kernel confirmed them (TUNGETIFF) */
	int fd[TUN_MAX_QUEUES];
	unsigned int queues;
	bool created;	       /* the device did not exist before tun_open() */
	int vnet_hdr_sz;       /* 0 without vnet_hdr */
	unsigned int offloads; /* TUN_F_* the kernel accepted */
};

/* Check an interface name the way the kernel will (dev_valid_name).
 * Returns 0, or -EINVAL with *why set. */
int tun_name_check(const char *name, const char **why);

const char *tun_mode_name(enum tun_mode mode);

/* Create or attach to a TUN/TAP device and open its queues. On failure,
 * logs one message that says why and returns a negative errno. */
int tun_open(struct tun_device *dev, const struct tun_config *cfg);
void tun_close(struct tun_device *dev);

/* Keep the device after the last descriptor closes (or stop keeping it). */
int tun_set_persist(struct tun_device *dev, bool persist);
/* Let this user / group attach to the device without CAP_NET_ADMIN. */
int tun_set_owner(struct tun_device *dev, uid_t uid);
int tun_set_group(struct tun_device *dev, gid_t gid);

/* Enable (attach) or disable (detach) one queue of a multi-queue device. */
int tun_queue_attach(struct tun_device *dev, unsigned int queue);
int tun_queue_detach(struct tun_device *dev, unsigned int queue);

/* Ask for the TUN_F_* offloads in @wanted; the kernel may refuse some
 * (older kernels lack USO): the largest accepted subset is kept, in the
 * order USO, then TSO, then checksum. Requires vnet_hdr. Returns the
 * accepted set (possibly 0) or a negative errno. */
int tun_set_offload(struct tun_device *dev, unsigned int wanted);

/* Put @fd in non-blocking mode (for event loops). */
int fcntl_nonblock(int fd);

/* Delete a persistent device by name (its kind is looked up). Logs and
 * returns a negative errno on failure. */
int tun_delete(const char *name);

#endif
