/* device.h - one ferry interface: its TUN device, keys, UDP sockets, peers,
 * tables, counters and the event loop that runs them. */
#ifndef FERRY_DEVICE_H
#define FERRY_DEVICE_H

#include "allowedips.h"
#include "drops.h"
#include "conf.h"
#include "loop.h"
#include "cookie.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "transport.h"
#include "tun.h"
#include "udp.h"

#include <stdbool.h>
#include <stdint.h>

struct tx_batch;
struct rx_batch;
struct tcp_transport;
struct transport_receiver;
struct ratelimiter;
struct netlink_watch;
struct resolver;

/* A file descriptor of the device's in the event loop (device.c). */
struct loop_source {
	struct loop_handler h;
	struct device *dev;
	int fd;
};

/* A peer in the timer queue, under the earliest deadline it may have. */
struct timer_entry {
	uint64_t due;
	struct peer *peer;
};

struct device {
	char name[IFNAMSIZ];
	struct tun_device tun;
	unsigned int mtu;	     /* the link's, followed as it changes (device_run) */
	int ifindex;		     /* of the TUN/TAP device, once the loop runs */
	struct netlink_watch *links; /* link changes (netlink.h), while the loop runs */
	/* IPv4 route changes and a socket to look routes up: whether a peer's
	 * sticky source still fits the route to it (device_check_source). */
	struct netlink_watch *routes;
	struct netlink_query *route_query;
	uint32_t route_gen;	  /* route changes seen, from 1 */
	bool tap;		  /* TAP mode: Ethernet frames, a learning switch */
	struct mactable *macs;	  /* TAP mode */
	bool strict_macs;	  /* TAP: peers may send only from their static MACs */
	bool forward_link_local;  /* TAP: pass 01:80:c2:00:00:0x frames from peers on */
	uint64_t housekeeping_ms; /* MAC ageing and TCP timeouts, once a second */

	struct noise_local local;      /* our keys; peers by key, sessions by index */
	struct cookie_checker checker; /* MAC1 and cookies for what comes to us */

	bool want_vnet_hdr; /* TUN offloads not switched off */
	bool tun_gro;	    /* coalesce writes to the TUN device */

	/* The transports: what they see of the interface (name, event loop,
	 * fwmark, counters, where received messages go, the TCP state), and
	 * the UDP sockets. */
	struct transport_ctx io;
	struct udp_transport udp;

	struct allowedips *aips;
	struct peer *peers_head, *peers_tail; /* in configuration order */
	/* Peers with armed timers: a binary min-heap on due (timers.c), with
	 * room for every peer so that arming a timer never allocates. */
	struct timer_entry *timerq;
	size_t timerq_len, timerq_cap;

	bool force_under_load;		 /* tests: always require cookies */
	struct ratelimiter *ratelimiter; /* handshakes per source, under load */

	uint64_t pmtu_second; /* receive.c: path MTU updates this second */
	unsigned int pmtu_updates;
	uint64_t icmp_second; /* send.c: ICMP "too big" answers this second */
	unsigned int icmp_sent;
	uint64_t drops[DROP_MAX];
	uint64_t rx_packets, tx_packets;

	struct tx_batch *txb; /* send.c */
	struct rx_batch *rxb; /* receive.c */

	/* Sources of the event loop that live as long as the device. */
	struct loop_source timer;	       /* the earliest protocol timer */
	struct loop_source udp4_src, udp6_src; /* the UDP sockets */
	/* Endpoint names resolved again (reach.c): the resolver process, if
	 * some peer had a name when the daemon started, and its answers. */
	struct resolver *resolver;
	struct loop_source resolved;
	struct loop_source routes_src;
	int uapi_fd;
	uint64_t timer_armed_ms;
	bool stop;
};

/* TAP mode's default MTU: Ethernet's, so that guests on a bridge need no
 * change; a frame that does not fit one message on the path is carried in
 * fragments (docs/PROTOCOL.md). */
#define TAP_DEFAULT_MTU 1500

/* Control path: an interface's life. */
int device_init(struct device *dev, const char *name);
void device_read_offload_switches(struct device *dev);
/* Create (or, unless @exclusive, attach to) the TUN device named like the
 * interface, with vnet_hdr and offloads when available and wanted. */
int device_open_tun(struct device *dev, bool exclusive);
/* The same for TAP mode (layer 2): a TAP device and a MAC table. */
int device_open_tap(struct device *dev, bool exclusive);
void device_destroy(struct device *dev);
struct sandbox_opts;
/* Start the helper processes the configuration needs (a resolver for
 * Endpoint names), in the sandbox @sb describes: after any fork to the
 * background, before the daemon's own sandbox. Control path. */
void device_start_helpers(struct device *dev, const struct sandbox_opts *sb);
/* Run the event loop until a signal, the device's deletion or the removal
 * of its UAPI socket file. */
int device_run(struct device *dev);
/* Before sending to @e (a peer's endpoint): if the routes changed since its
 * IPv4 source was last checked, is the route to the peer from that source
 * still by the interface its messages come in on? (struct endpoint.) */
void device_check_source(struct device *dev, struct endpoint *e);
/* The UDP sockets were (re)opened: watch them (control path). */
void device_watch_udp(struct device *dev);

void device_count_drop(struct device *dev, enum drop_reason why);
/* The timers of some peer changed: make sure the loop wakes in time. */
void device_timers_changed(struct device *dev, uint64_t deadline_ms);

#endif
