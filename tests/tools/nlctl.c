/* nlctl - a test front end to src/netlink.c, so integration tests build
 * their topologies with ferry's own netlink code and check the result with
 * iproute2.
 *
 *   nlctl veth NAME PEER | bridge NAME | del DEV
 *   nlctl up DEV | down DEV | mtu DEV N | master DEV BRIDGE|nomaster
 *   nlctl netns DEV NSNAME          (moves DEV into /run/netns/NSNAME)
 *   nlctl addr DEV PREFIX | addr-del DEV PREFIX
 *   nlctl route DEV PREFIX [via GW] | route-del DEV PREFIX
 *   nlctl show DEV                  (kind, mtu, master, up)
 */
#include "addr.h"
#include "netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int prefix_arg(const char *s, struct ip_prefix *p)
{
	const char *why;

	if (ip_prefix_parse(s, p, &why) < 0) {
		fprintf(stderr, "nlctl: '%s': %s\n", s, why);
		exit(2);
	}
	return 0;
}

static int run(int argc, char **argv)
{
	const char *op = argv[1], *dev = argc > 2 ? argv[2] : NULL;
	struct ip_prefix p;

	if (!dev)
		return -EINVAL;
	if (!strcmp(op, "veth") && argc == 4)
		return netlink_veth_add(dev, argv[3]);
	if (!strcmp(op, "bridge") && argc == 3)
		return netlink_bridge_add(dev);
	if (!strcmp(op, "del") && argc == 3)
		return netlink_link_del(dev);
	if (!strcmp(op, "up") && argc == 3)
		return netlink_link_set_up(dev, true);
	if (!strcmp(op, "down") && argc == 3)
		return netlink_link_set_up(dev, false);
	if (!strcmp(op, "mtu") && argc == 4)
		return netlink_link_set_mtu(dev, (unsigned int)strtoul(argv[3], NULL, 10));
	if (!strcmp(op, "master") && argc == 4)
		return netlink_link_set_master(dev, strcmp(argv[3], "nomaster") ? argv[3] : NULL);
	if (!strcmp(op, "netns") && argc == 4) {
		char path[256];
		int fd, ret;

		snprintf(path, sizeof(path), "/run/netns/%s", argv[3]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		ret = netlink_link_set_netns(dev, fd);
		close(fd);
		return ret;
	}
	if (!strcmp(op, "addr") && argc == 4 && !prefix_arg(argv[3], &p))
		return netlink_addr_add(dev, &p, true);
	if (!strcmp(op, "addr-del") && argc == 4 && !prefix_arg(argv[3], &p))
		return netlink_addr_del(dev, &p);
	if (!strcmp(op, "route") && (argc == 4 || (argc == 6 && !strcmp(argv[4], "via"))) && !prefix_arg(argv[3], &p)) {
		union ip_addr gw;
		int family;

		if (argc == 4)
			return netlink_route_add(dev, &p, NULL);
		if (ip_addr_parse(argv[5], &family, &gw) < 0 || family != p.family)
			return -EINVAL;
		return netlink_route_add(dev, &p, &gw);
	}
	if (!strcmp(op, "route-del") && argc == 4 && !prefix_arg(argv[3], &p))
		return netlink_route_del(dev, &p);
	if (!strcmp(op, "show") && argc == 3) {
		struct netlink_link l;
		int ret = netlink_link_get(dev, &l);

		if (ret == 0)
			printf("%s kind %s mtu %u master %d %s\n", l.name, *l.kind ? l.kind : "-", l.mtu, l.master,
			       (l.flags & 1) ? "up" : "down");
		return ret;
	}
	return -EINVAL;
}

int main(int argc, char **argv)
{
	int ret;

	if (argc < 2) {
		fprintf(stderr, "usage: nlctl OP DEV [ARGS]\n");
		return 2;
	}
	ret = run(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "nlctl %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	return 0;
}
