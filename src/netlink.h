/* netlink.h - links, addresses and routes over rtnetlink (libmnl).
 *
 * Every function names the interface by name, opens its own netlink socket,
 * waits for the kernel's acknowledgement and returns 0 or a negative errno.
 * The daemon configures the system only through these; it never runs `ip`. */
#ifndef FERRY_NETLINK_H
#define FERRY_NETLINK_H

#include "addr.h"

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

/* What the kernel reports about one link (RTM_GETLINK). */
struct netlink_link {
	int ifindex;
	char name[IFNAMSIZ];
	char kind[32];	    /* IFLA_INFO_KIND ("tun", "veth", "bridge"), "" when none */
	unsigned int flags; /* IFF_UP, IFF_RUNNING ... */
	unsigned int mtu;
	int master;  /* ifindex of the bridge, 0 when none */
	bool is_tun; /* kind "tun": the fields below are valid */
	struct {
		uint8_t type; /* IFF_TUN or IFF_TAP */
		bool pi, vnet_hdr, persist, multi_queue;
		bool has_owner, has_group;
		uint32_t owner, group;
		uint32_t num_queues, num_disabled_queues;
	} tun;
};

/* Fill @out for link @name; -ENODEV when there is no such link. */
int netlink_link_get(const char *name, struct netlink_link *out);

/* Call @cb for every link; a non-zero return from @cb stops the walk and is returned. */
int netlink_link_foreach(int (*cb)(const struct netlink_link *link, void *ctx), void *ctx);

int netlink_link_set_up(const char *name, bool up);
int netlink_link_set_mtu(const char *name, unsigned int mtu);
/* Enslave @name to bridge @master; @master NULL releases it. */
int netlink_link_set_master(const char *name, const char *master);
/* Move @name into the network namespace open at @netns_fd. */
int netlink_link_set_netns(const char *name, int netns_fd);
int netlink_link_del(const char *name);

int netlink_veth_add(const char *name, const char *peer);
int netlink_bridge_add(const char *name);

/* Address @p (its host bits kept) on @name. @nodad skips IPv6 duplicate
 * address detection, so the address is usable at once. */
int netlink_addr_add(const char *name, const struct ip_prefix *p, bool nodad);
int netlink_addr_del(const char *name, const struct ip_prefix *p);

/* Route @dst through @name, via @gw when not NULL (same family as @dst). */
int netlink_route_add(const char *name, const struct ip_prefix *dst, const union ip_addr *gw);
int netlink_route_del(const char *name, const struct ip_prefix *dst);

/* Link changes as they happen (RTMGRP_LINK): the event loop watches the
 * descriptor and reads with netlink_watch_read(), which calls @cb for each
 * link the kernel reports (new, or changed: its MTU, its flags). NULL /
 * negative errno on failure. */
struct netlink_watch;
struct netlink_watch *netlink_watch_links(void);
int netlink_watch_fd(const struct netlink_watch *w);
int netlink_watch_read(struct netlink_watch *w, int (*cb)(const struct netlink_link *link, void *ctx), void *ctx);
void netlink_watch_close(struct netlink_watch *w);

/* IPv4 route changes (RTMGRP_IPV4_ROUTE): the loop only needs to know that
 * something changed. netlink_watch_changes() reads what waits (bounded) and
 * returns how many messages it read, counting a lost burst (ENOBUFS) as
 * one: then something changed too. */
struct netlink_watch *netlink_watch_routes4(void);
int netlink_watch_changes(struct netlink_watch *w);

/* Route lookups on a socket opened once, before any sandbox (socket() of
 * AF_NETLINK is not allowed after): which interface a packet to @dst from
 * @src (our address; 0.0.0.0: any) with mark @mark would leave by, as the
 * kernel decides for a UDP socket's sendmsg() with that source (policy
 * rules included). Returns 0 and *oif, or a negative errno (-ENETUNREACH:
 * no route). Never blocks: the kernel answers a route request before
 * sendto() returns. */
struct netlink_query;
struct netlink_query *netlink_query_open(void);
int netlink_route4_oif(struct netlink_query *q, const struct in_addr *dst, const struct in_addr *src, uint32_t mark,
		       int *oif);
void netlink_query_close(struct netlink_query *q);

/* Overlay mode finds its public address: the first global IPv4 address of
 * @name (-EADDRNOTAVAIL when none), the link that holds IPv4 address
 * @addr, and the link of the main table's IPv4 default route (-ENETUNREACH
 * when there is none). */
int netlink_addr4_first(const char *name, struct in_addr *out);
int netlink_addr4_owner(const struct in_addr *addr, char name[IFNAMSIZ]);
int netlink_default_route4_ifname(char name[IFNAMSIZ]);

#endif
