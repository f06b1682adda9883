/* udp.c - UDP sockets: an IPv4 socket and an IPv6-only socket bound to the
 * same port, so each family works even when the other is disabled. */
#include "udp.h"

#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int open_one(int family, uint16_t port, uint32_t mark)
{
	union conf_endpoint a;
	socklen_t len;
	int fd, one = 1;

	fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET6) {
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		len = sizeof(a.in6);
	} else {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		len = sizeof(a.in4);
	}
	if (mark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (bind(fd, &a.sa, len) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static uint16_t bound_port(int fd)
{
	union conf_endpoint a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, &a.sa, &len) < 0)
		return 0;
	return ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in4.sin_port);
}

int udp_open(struct device *dev, uint16_t port)
{
	int attempt, fd4 = -1, fd6 = -1;

	/* With port 0, the port the kernel picks for IPv4 may be taken for
	 * IPv6: try a few times, as wireguard-go does. */
	for (attempt = 0; attempt < 100; attempt++) {
		fd4 = open_one(AF_INET, port, dev->fwmark);
		if (fd4 < 0 && fd4 != -EAFNOSUPPORT)
			return fd4;
		fd6 = open_one(AF_INET6, fd4 >= 0 ? bound_port(fd4) : port, dev->fwmark);
		if (fd6 == -EADDRINUSE && !port && fd4 >= 0) {
			close(fd4);
			continue;
		}
		break;
	}
	if (fd4 < 0 && fd6 < 0)
		return fd6;
	udp_close(dev);
	dev->udp4 = fd4 >= 0 ? fd4 : -1;
	dev->udp6 = fd6 >= 0 ? fd6 : -1;
	dev->listen_port = bound_port(fd4 >= 0 ? fd4 : fd6);
	return 0;
}

void udp_close(struct device *dev)
{
	if (dev->udp4 >= 0)
		close(dev->udp4);
	if (dev->udp6 >= 0)
		close(dev->udp6);
	dev->udp4 = dev->udp6 = -1;
}

int udp_set_fwmark(struct device *dev, uint32_t mark)
{
	int fds[2] = { dev->udp4, dev->udp6 }, i;

	for (i = 0; i < 2; i++)
		if (fds[i] >= 0 && setsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	return 0;
}

int udp_send(struct device *dev, const union conf_endpoint *to, const void *buf, size_t len)
{
	int fd = to->sa.sa_family == AF_INET6 ? dev->udp6 : dev->udp4;
	socklen_t alen = to->sa.sa_family == AF_INET6 ? sizeof(to->in6) : sizeof(to->in4);

	if (fd < 0)
		return -EAFNOSUPPORT;
	if (sendto(fd, buf, len, 0, &to->sa, alen) < 0)
		return -errno;
	return 0;
}

ssize_t udp_recv(int fd, void *buf, size_t size, union conf_endpoint *from)
{
	socklen_t alen = sizeof(*from);
	ssize_t n;

	memset(from, 0, sizeof(*from));
	n = recvfrom(fd, buf, size, 0, &from->sa, &alen);
	if (n < 0)
		return -errno;
	/* An IPv4-mapped source on the IPv6 socket cannot happen (V6ONLY). */
	return n;
}
