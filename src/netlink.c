/* netlink.c - rtnetlink requests with libmnl: links, veth pairs, bridges,
 * addresses and routes. Configuration is a slow path: each request opens a
 * socket, waits for the acknowledgement and closes it. */
#include "netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Requests are small; replies to a dump come in batches of up to a page or two. */
#define NL_REQUEST_SIZE 8192
#define NL_REPLY_SIZE	32768

/* Send @nlh and run @cb over every reply until the kernel's ACK or DONE.
 * Returns 0 or the negative errno the kernel answered with. */
static int nl_talk(struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	char buf[NL_REPLY_SIZE];
	struct mnl_socket *nl;
	unsigned int portid, seq;
	ssize_t n;
	int ret;

	nl = mnl_socket_open(NETLINK_ROUTE);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	seq = (unsigned int)time(NULL);
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = -errno;
			break;
		}
		ret = mnl_cb_run(buf, (size_t)n, seq, portid, cb, data);
		if (ret < 0) {
			ret = -errno;
			break;
		}
		if (ret == MNL_CB_STOP) {
			ret = 0;
			break;
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static struct nlmsghdr *nl_start(char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	return nlh;
}

static int ifindex_of(const char *name)
{
	unsigned int idx;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	idx = if_nametoindex(name);
	return idx ? (int)idx : -ENODEV;
}

/* --- reading links --- */

static void parse_tun_info(const struct nlattr *data, struct netlink_link *l)
{
	const struct nlattr *a;

	l->is_tun = true;
	mnl_attr_for_each_nested(a, data) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_TUN_OWNER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
				l->tun.has_owner = true;
				l->tun.owner = mnl_attr_get_u32(a);
			}
			break;
		case IFLA_TUN_GROUP:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0) {
				l->tun.has_group = true;
				l->tun.group = mnl_attr_get_u32(a);
			}
			break;
		case IFLA_TUN_TYPE:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				l->tun.type = mnl_attr_get_u8(a);
			break;
		case IFLA_TUN_PI:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				l->tun.pi = mnl_attr_get_u8(a);
			break;
		case IFLA_TUN_VNET_HDR:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				l->tun.vnet_hdr = mnl_attr_get_u8(a);
			break;
		case IFLA_TUN_PERSIST:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				l->tun.persist = mnl_attr_get_u8(a);
			break;
		case IFLA_TUN_MULTI_QUEUE:
			if (mnl_attr_validate(a, MNL_TYPE_U8) >= 0)
				l->tun.multi_queue = mnl_attr_get_u8(a);
			break;
		case IFLA_TUN_NUM_QUEUES:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				l->tun.num_queues = mnl_attr_get_u32(a);
			break;
		case IFLA_TUN_NUM_DISABLED_QUEUES:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				l->tun.num_disabled_queues = mnl_attr_get_u32(a);
			break;
		}
	}
}

static void parse_linkinfo(const struct nlattr *info, struct netlink_link *l)
{
	const struct nlattr *a, *data = NULL;

	mnl_attr_for_each_nested(a, info) {
		if (mnl_attr_get_type(a) == IFLA_INFO_KIND && mnl_attr_validate(a, MNL_TYPE_STRING) >= 0) {
			strncpy(l->kind, mnl_attr_get_str(a), sizeof(l->kind) - 1);
		} else if (mnl_attr_get_type(a) == IFLA_INFO_DATA) {
			data = a;
		}
	}
	if (data && strcmp(l->kind, "tun") == 0)
		parse_tun_info(data, l);
}

static int parse_link(const struct nlmsghdr *nlh, struct netlink_link *l)
{
	const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	memset(l, 0, sizeof(*l));
	l->ifindex = ifm->ifi_index;
	l->flags = ifm->ifi_flags;
	mnl_attr_for_each(a, nlh, sizeof(*ifm)) {
		switch (mnl_attr_get_type(a)) {
		case IFLA_IFNAME:
			if (mnl_attr_validate(a, MNL_TYPE_STRING) >= 0)
				strncpy(l->name, mnl_attr_get_str(a), sizeof(l->name) - 1);
			break;
		case IFLA_MTU:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				l->mtu = mnl_attr_get_u32(a);
			break;
		case IFLA_MASTER:
			if (mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
				l->master = (int)mnl_attr_get_u32(a);
			break;
		case IFLA_LINKINFO:
			parse_linkinfo(a, l);
			break;
		}
	}
	return 0;
}

struct foreach_ctx {
	int (*cb)(const struct netlink_link *, void *);
	void *ctx;
	int ret;
};

static int foreach_cb(const struct nlmsghdr *nlh, void *data)
{
	struct foreach_ctx *f = data;
	struct netlink_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK || f->ret)
		return MNL_CB_OK;
	parse_link(nlh, &l);
	f->ret = f->cb(&l, f->ctx);
	return MNL_CB_OK;
}

int netlink_link_foreach(int (*cb)(const struct netlink_link *link, void *ctx), void *ctx)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh = nl_start(buf, RTM_GETLINK, NLM_F_DUMP);
	struct foreach_ctx f = { cb, ctx, 0 };
	struct rtgenmsg *rt = mnl_nlmsg_put_extra_header(nlh, sizeof(*rt));
	int ret;

	rt->rtgen_family = AF_UNSPEC;
	ret = nl_talk(nlh, foreach_cb, &f);
	return ret ? ret : f.ret;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		parse_link(nlh, data);
	return MNL_CB_OK;
}

int netlink_link_get(const char *name, struct netlink_link *out)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int ret;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	nlh = nl_start(buf, RTM_GETLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	memset(out, 0, sizeof(*out));
	ret = nl_talk(nlh, get_cb, out);
	if (ret == 0 && out->ifindex == 0)
		ret = -ENODEV;
	return ret;
}

/* --- changing links --- */

static int link_change(const char *name, void (*fill)(struct nlmsghdr *, struct ifinfomsg *, const void *),
		       const void *arg)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int idx = ifindex_of(name);

	if (idx < 0)
		return idx;
	nlh = nl_start(buf, RTM_NEWLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = idx;
	fill(nlh, ifm, arg);
	return nl_talk(nlh, NULL, NULL);
}

static void fill_up(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)nlh;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = *(const bool *)arg ? IFF_UP : 0;
}

int netlink_link_set_up(const char *name, bool up)
{
	return link_change(name, fill_up, &up);
}

static void fill_mtu(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put_u32(nlh, IFLA_MTU, *(const unsigned int *)arg);
}

int netlink_link_set_mtu(const char *name, unsigned int mtu)
{
	return link_change(name, fill_mtu, &mtu);
}

static void fill_master(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) * (const int *)arg);
}

int netlink_link_set_master(const char *name, const char *master)
{
	int midx = 0;

	if (master) {
		midx = ifindex_of(master);
		if (midx < 0)
			return midx;
	}
	return link_change(name, fill_master, &midx);
}

static void fill_netns(struct nlmsghdr *nlh, struct ifinfomsg *ifm, const void *arg)
{
	(void)ifm;
	mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) * (const int *)arg);
}

int netlink_link_set_netns(const char *name, int netns_fd)
{
	return link_change(name, fill_netns, &netns_fd);
}

int netlink_link_del(const char *name)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int idx = ifindex_of(name);

	if (idx < 0)
		return idx;
	nlh = nl_start(buf, RTM_DELLINK, 0);
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = idx;
	return nl_talk(nlh, NULL, NULL);
}

/* --- creating links --- */

static struct nlmsghdr *newlink_start(char *buf, const char *name, const char *kind, struct nlattr **data)
{
	struct nlmsghdr *nlh = nl_start(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	struct nlattr *info;

	ifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	*data = info;
	return nlh;
}

int netlink_veth_add(const char *name, const char *peer)
{
	char buf[NL_REQUEST_SIZE];
	struct nlattr *info, *data, *peerinfo;
	struct nlmsghdr *nlh;
	struct ifinfomsg *pifm;

	if (!name || !peer || !*name || !*peer || strlen(name) >= IFNAMSIZ || strlen(peer) >= IFNAMSIZ)
		return -EINVAL;
	nlh = newlink_start(buf, name, "veth", &info);
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peerinfo = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer is described by its own ifinfomsg followed by attributes. */
	pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
	memset(pifm, 0, sizeof(*pifm));
	pifm->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, peer);
	mnl_attr_nest_end(nlh, peerinfo);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nlh, NULL, NULL);
}

int netlink_bridge_add(const char *name)
{
	char buf[NL_REQUEST_SIZE];
	struct nlattr *info;
	struct nlmsghdr *nlh;

	if (!name || !*name || strlen(name) >= IFNAMSIZ)
		return -EINVAL;
	nlh = newlink_start(buf, name, "bridge", &info);
	mnl_attr_nest_end(nlh, info);
	return nl_talk(nlh, NULL, NULL);
}

/* --- addresses and routes --- */

static unsigned int addr_len(int family)
{
	return family == AF_INET ? 4 : 16;
}

static int addr_change(uint16_t type, uint16_t flags, const char *name, const struct ip_prefix *p, bool nodad)
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int idx = ifindex_of(name);

	if (idx < 0)
		return idx;
	if (p->family != AF_INET && p->family != AF_INET6)
		return -EAFNOSUPPORT;
	nlh = nl_start(buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->len;
	ifa->ifa_index = (uint32_t)idx;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	if (nodad && p->family == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;
	mnl_attr_put(nlh, IFA_LOCAL, addr_len(p->family), &p->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, addr_len(p->family), &p->addr);
	return nl_talk(nlh, NULL, NULL);
}

int netlink_addr_add(const char *name, const struct ip_prefix *p, bool nodad)
{
	return addr_change(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, name, p, nodad);
}

int netlink_addr_del(const char *name, const struct ip_prefix *p)
{
	return addr_change(RTM_DELADDR, 0, name, p, false);
}

static int route_change(uint16_t type, uint16_t flags, const char *name, const struct ip_prefix *dst,
			const union ip_addr *gw)
{
	char buf[NL_REQUEST_SIZE];
	struct ip_prefix net = *dst;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int idx = ifindex_of(name);

	if (idx < 0)
		return idx;
	if (dst->family != AF_INET && dst->family != AF_INET6)
		return -EAFNOSUPPORT;
	ip_prefix_mask(&net);
	nlh = nl_start(buf, type, flags);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)dst->family;
	rtm->rtm_dst_len = dst->len;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_type = RTN_UNICAST;
	if (type == RTM_DELROUTE) {
		/* Match the route whatever its scope and origin. */
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	} else {
		rtm->rtm_protocol = RTPROT_BOOT;
		rtm->rtm_scope = gw ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	}
	mnl_attr_put(nlh, RTA_DST, addr_len(dst->family), &net.addr);
	mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)idx);
	if (gw)
		mnl_attr_put(nlh, RTA_GATEWAY, addr_len(dst->family), gw);
	return nl_talk(nlh, NULL, NULL);
}

int netlink_route_add(const char *name, const struct ip_prefix *dst, const union ip_addr *gw)
{
	return route_change(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, name, dst, gw);
}

int netlink_route_del(const char *name, const struct ip_prefix *dst)
{
	return route_change(RTM_DELROUTE, 0, name, dst, NULL);
}

/* --- watching links ------------------------------------------------------ */

struct netlink_watch {
	struct mnl_socket *nl;
};

/* A nonblocking rtnetlink socket, in the multicast @groups (0: none), for
 * the event loop: the watches and the route lookups. */
static struct mnl_socket *loop_socket(unsigned int groups)
{
	struct mnl_socket *nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (nl && mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	return nl;
}

static struct netlink_watch *watch_open(unsigned int groups)
{
	struct netlink_watch *w = calloc(1, sizeof(*w));

	if (w && !(w->nl = loop_socket(groups))) {
		free(w);
		return NULL;
	}
	return w;
}

struct netlink_watch *netlink_watch_links(void)
{
	return watch_open(RTMGRP_LINK);
}

struct netlink_watch *netlink_watch_routes4(void)
{
	return watch_open(RTMGRP_IPV4_ROUTE);
}

int netlink_watch_changes(struct netlink_watch *w)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int n = 0, reads;

	/* Bounded: a burst of changes is read over a few turns of the loop. */
	for (reads = 0; reads < 16; reads++) {
		/* A message, or a lost burst of them (ENOBUFS): changes either way. */
		if (mnl_socket_recvfrom(w->nl, buf, sizeof(buf)) < 0 && errno != ENOBUFS)
			break;
		n++;
	}
	return n;
}

int netlink_watch_fd(const struct netlink_watch *w)
{
	return mnl_socket_get_fd(w->nl);
}

struct watch_ctx {
	int (*cb)(const struct netlink_link *, void *);
	void *ctx;
};

static int watch_cb(const struct nlmsghdr *nlh, void *data)
{
	struct watch_ctx *w = data;
	struct netlink_link l;

	if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
		return MNL_CB_OK;
	parse_link(nlh, &l);
	w->cb(&l, w->ctx);
	return MNL_CB_OK;
}

int netlink_watch_read(struct netlink_watch *w, int (*cb)(const struct netlink_link *link, void *ctx), void *ctx)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct watch_ctx wc = { cb, ctx };
	int n = 0;

	/* Bounded: a burst of changes is read over a few turns of the loop. */
	while (n++ < 16) {
		ssize_t len = mnl_socket_recvfrom(w->nl, buf, sizeof(buf));

		if (len < 0)
			return errno == EAGAIN ? 0 : -errno;
		/* The kernel's messages only (port 0); a failed parse skips the read. */
		mnl_cb_run(buf, (size_t)len, 0, 0, watch_cb, &wc);
	}
	return 0;
}

void netlink_watch_close(struct netlink_watch *w)
{
	if (!w)
		return;
	mnl_socket_close(w->nl);
	free(w);
}

/* --- route lookups (sticky source addresses) ------------------------------ */

struct netlink_query {
	struct mnl_socket *nl;
	unsigned int portid, seq;
};

struct netlink_query *netlink_query_open(void)
{
	struct netlink_query *q = calloc(1, sizeof(*q));

	if (!q)
		return NULL;
	q->nl = loop_socket(0);
	if (!q->nl) {
		free(q);
		return NULL;
	}
	q->portid = mnl_socket_get_portid(q->nl);
	q->seq = (unsigned int)time(NULL);
	return q;
}

static int route_oif_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	int *oif = data;

	if (nlh->nlmsg_type != RTM_NEWROUTE || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)))
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_get_payload_len(a) == sizeof(uint32_t))
			*oif = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

int netlink_route4_oif(struct netlink_query *q, const struct in_addr *dst, const struct in_addr *src, uint32_t mark,
		       int *oif)
{
	char req[256], buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = nl_start(req, RTM_GETROUTE, 0);
	struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	unsigned int seq = ++q->seq;
	int found = -1, reads;

	rtm->rtm_family = AF_INET;
	rtm->rtm_dst_len = 32;
	mnl_attr_put(nlh, RTA_DST, sizeof(*dst), dst);
	if (src->s_addr) {
		rtm->rtm_src_len = 32;
		mnl_attr_put(nlh, RTA_SRC, sizeof(*src), src);
	}
	if (mark)
		mnl_attr_put_u32(nlh, RTA_MARK, mark);
	nlh->nlmsg_seq = seq;
	if (mnl_socket_sendto(q->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	/* The answer is queued before sendto() returns; a stale answer to an
	 * earlier question (whose reader gave up) is skipped by its number. */
	for (reads = 0; reads < 4; reads++) {
		ssize_t n = mnl_socket_recvfrom(q->nl, buf, sizeof(buf));
		int ret;

		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		ret = mnl_cb_run(buf, (size_t)n, seq, q->portid, route_oif_cb, &found);
		if (ret < 0) {
			if (errno == ESRCH || errno == EPROTO)
				continue; /* another question's answer */
			return -errno;
		}
		if (found > 0) {
			*oif = found;
			return 0;
		}
	}
	return -ENETUNREACH;
}

void netlink_query_close(struct netlink_query *q)
{
	if (!q)
		return;
	mnl_socket_close(q->nl);
	free(q);
}

/* --- looking up addresses and the default route (overlay mode) --- */

struct addr4_query {
	int ifindex;
	bool found;
	struct in_addr addr;
};

static int addr4_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr4_query *q = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)) || ifa->ifa_family != AF_INET || q->found ||
	    (q->ifindex && (int)ifa->ifa_index != q->ifindex) || ifa->ifa_scope != RT_SCOPE_UNIVERSE)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4) {
			memcpy(&q->addr, mnl_attr_get_payload(a), 4);
			q->found = true;
		}
	}
	return MNL_CB_OK;
}

int netlink_addr4_first(const char *name, struct in_addr *out)
{
	char buf[NL_REQUEST_SIZE];
	struct addr4_query q = { .ifindex = ifindex_of(name) };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ret;

	if (q.ifindex < 0)
		return q.ifindex;
	nlh = nl_start(buf, RTM_GETADDR, NLM_F_DUMP);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ret = nl_talk(nlh, addr4_cb, &q);
	if (ret < 0)
		return ret;
	if (!q.found)
		return -EADDRNOTAVAIL;
	*out = q.addr;
	return 0;
}

struct addr4_owner {
	struct in_addr addr;
	int ifindex;
};

static int addr4_owner_cb(const struct nlmsghdr *nlh, void *data)
{
	struct addr4_owner *q = data;
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*ifa)) || ifa->ifa_family != AF_INET)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*ifa)) {
		if (mnl_attr_get_type(a) == IFA_LOCAL && mnl_attr_get_payload_len(a) == 4 &&
		    !memcmp(mnl_attr_get_payload(a), &q->addr, 4))
			q->ifindex = (int)ifa->ifa_index;
	}
	return MNL_CB_OK;
}

int netlink_addr4_owner(const struct in_addr *addr, char name[IFNAMSIZ])
{
	char buf[NL_REQUEST_SIZE];
	struct addr4_owner q = { .addr = *addr };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	int ret;

	nlh = nl_start(buf, RTM_GETADDR, NLM_F_DUMP);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ret = nl_talk(nlh, addr4_owner_cb, &q);
	if (ret < 0)
		return ret;
	if (!q.ifindex || !if_indextoname((unsigned int)q.ifindex, name))
		return -EADDRNOTAVAIL;
	return 0;
}

static int default_route_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct rtmsg *rtm = mnl_nlmsg_get_payload(nlh);
	const struct nlattr *a;
	int *ifindex = data;

	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*rtm)) || rtm->rtm_family != AF_INET || rtm->rtm_dst_len != 0 ||
	    rtm->rtm_table != RT_TABLE_MAIN || rtm->rtm_type != RTN_UNICAST || *ifindex)
		return MNL_CB_OK;
	mnl_attr_for_each(a, nlh, sizeof(*rtm)) {
		if (mnl_attr_get_type(a) == RTA_OIF && mnl_attr_validate(a, MNL_TYPE_U32) >= 0)
			*ifindex = (int)mnl_attr_get_u32(a);
	}
	return MNL_CB_OK;
}

int netlink_default_route4_ifname(char name[IFNAMSIZ])
{
	char buf[NL_REQUEST_SIZE];
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	int ifindex = 0, ret;

	nlh = nl_start(buf, RTM_GETROUTE, NLM_F_DUMP);
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = AF_INET;
	ret = nl_talk(nlh, default_route_cb, &ifindex);
	if (ret < 0)
		return ret;
	if (!ifindex || !if_indextoname((unsigned int)ifindex, name))
		return -ENETUNREACH;
	return 0;
}
