/* overlay.h - `ferry overlay`: the control plane that turns hosts into one
 * container network. Each node leases a subnet in etcd (flannel's layout),
 * learns every other node's lease from etcd, and programs them as peers and
 * routes into a ferry data plane running in a child process, through the
 * UAPI socket and netlink. docs/DESIGN.md "Overlay mode" has the design,
 * docs/OVERLAY.md the etcd layout. */
#ifndef FERRY_OVERLAY_H
#define FERRY_OVERLAY_H

#include <stdbool.h>

#define OVERLAY_DEFAULT_ENDPOINTS   "http://127.0.0.1:2379"
#define OVERLAY_DEFAULT_IFNAME	    "ferry0"
#define OVERLAY_DEFAULT_SUBNET_FILE "/run/ferry/subnet.env"
#define OVERLAY_DEFAULT_KEY_DIR	    "/var/lib/ferry"
#define OVERLAY_DEFAULT_TTL	    (24 * 3600) /* flannel's */

struct overlay_options {
	const char *ifname;	 /* --interface */
	const char *endpoints;	 /* --etcd-endpoints */
	const char *prefix;	 /* --etcd-prefix */
	const char *cafile;	 /* --etcd-cafile */
	const char *certfile;	 /* --etcd-certfile */
	const char *keyfile;	 /* --etcd-keyfile */
	const char *public_ip;	 /* --public-ip */
	const char *iface;	 /* --iface: name or address */
	const char *subnet_file; /* --subnet-file */
	const char *key_file;	 /* --key-file, default /var/lib/ferry/IFNAME.key */
	bool ip_masq;		 /* --ip-masq */
	unsigned int lease_ttl;	 /* --subnet-lease-ttl, seconds */
	bool foreground;	 /* -f */
	const char *self;	 /* the ferry binary, run as the data plane */
};

/* Run until SIGTERM or SIGINT (0) or a fatal error (1). */
int overlay_run(const struct overlay_options *opt);

#endif
