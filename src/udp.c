/* udp.c - UDP sockets: an IPv4 socket and an IPv6-only socket bound to the
 * same port, so each family works even when the other is disabled. */
#include "udp.h"

#include "log.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <poll.h>
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
	/* Large buffers absorb bursts between two turns of the event loop. */
	{
		int size = 4 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	}
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

/* UDP GSO (UDP_SEGMENT, Linux 4.18) and GRO (UDP_GRO, 5.0): use each only
 * if the socket accepts it, and only if not switched off. */
static void udp_probe_offloads(struct device *dev)
{
	int fds[2] = { dev->udp4, dev->udp6 }, i, one = 1, zero = 0;
	bool gso = dev->want_udp_gso, gro = dev->want_udp_gro;

	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		if (gso && setsockopt(fds[i], SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) < 0)
			gso = false;
		if (gro && setsockopt(fds[i], SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
			gro = false;
	}
	if (dev->want_udp_gso != gso || dev->want_udp_gro != gro)
		log_info("%s: UDP %s not available; sending without it", dev->name,
			 !gso && dev->want_udp_gso ? "segmentation offload (GSO)" : "receive offload (GRO)");
	dev->udp_gso = gso;
	dev->udp_gro = gro;
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
	udp_probe_offloads(dev);
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

bool udp_tx_add(struct udp_tx *tx, struct peer *p, const union conf_endpoint *to, void *buf, size_t len,
		uint16_t gso_size)
{
	int i = tx->n;

	if (i == UDP_TX_MAX)
		return false;
	tx->iov[i].iov_base = buf;
	tx->iov[i].iov_len = len;
	tx->dst[i] = *to;
	tx->gso[i] = gso_size && len > gso_size ? gso_size : 0;
	tx->peer[i] = p;
	tx->n++;
	return true;
}

static void fill_msghdr(struct udp_tx *tx, int i)
{
	struct msghdr *m = &tx->msgs[i].msg_hdr;

	memset(m, 0, sizeof(*m));
	m->msg_name = &tx->dst[i];
	m->msg_namelen = tx->dst[i].sa.sa_family == AF_INET6 ? sizeof(tx->dst[i].in6) : sizeof(tx->dst[i].in4);
	m->msg_iov = &tx->iov[i];
	m->msg_iovlen = 1;
	if (tx->gso[i]) {
		struct cmsghdr *c;

		m->msg_control = tx->cmsg[i].buf;
		m->msg_controllen = sizeof(tx->cmsg[i].buf);
		c = CMSG_FIRSTHDR(m);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &tx->gso[i], sizeof(uint16_t));
	}
}

/* Send a GSO entry as separate datagrams: the fallback when the kernel
 * refuses segmentation offload at run time. */
static void send_unsegmented(struct device *dev, struct udp_tx *tx, int i)
{
	uint8_t *b = tx->iov[i].iov_base;
	size_t left = tx->iov[i].iov_len, seg = tx->gso[i];

	while (left) {
		size_t n = left < seg ? left : seg;

		if (udp_send(dev, &tx->dst[i], b, n) < 0)
			device_count_drop(dev, DROP_SEND_ERROR);
		b += n;
		left -= n;
	}
}

void udp_tx_flush(struct device *dev, struct udp_tx *tx)
{
	int start = 0, i;

	for (i = 0; i < tx->n; i++)
		fill_msghdr(tx, i);
	/* One sendmmsg per run of messages for the same socket. */
	while (start < tx->n) {
		int family = tx->dst[start].sa.sa_family, end = start, fd, sent;

		while (end < tx->n && tx->dst[end].sa.sa_family == family)
			end++;
		fd = family == AF_INET6 ? dev->udp6 : dev->udp4;
		while (start < end) {
			sent = fd < 0 ? -1 : sendmmsg(fd, &tx->msgs[start], (unsigned int)(end - start), 0);
			if (sent <= 0) {
				if (sent < 0 && errno == EAGAIN) {
					/* The socket buffer is full: wait for room, briefly. */
					struct pollfd pfd = { fd, POLLOUT, 0 };

					if (poll(&pfd, 1, 100) > 0)
						continue;
				}
				if (sent < 0 && (errno == EIO || errno == EINVAL) && tx->gso[start]) {
					/* Some kernels and NICs refuse UDP GSO only under load:
					 * stop using it, once, and send this one plainly. */
					log_warn("%s: UDP segmentation offload failed (%s); turning it off", dev->name,
						 strerror(errno));
					dev->udp_gso = false;
					send_unsegmented(dev, tx, start);
				} else {
					device_count_drop(dev, DROP_SEND_ERROR);
				}
				start++;
				continue;
			}
			for (i = start; i < start + sent; i++)
				if (tx->peer[i])
					tx->peer[i]->tx_bytes += tx->iov[i].iov_len;
			start += sent;
		}
	}
	tx->n = 0;
}

int udp_rx_init(struct udp_rx *rx)
{
	int i;

	memset(rx, 0, sizeof(*rx));
	for (i = 0; i < UDP_RX_MAX; i++) {
		rx->bufs[i] = malloc(UDP_RX_BUF);
		if (!rx->bufs[i])
			return -ENOMEM;
	}
	return 0;
}

void udp_rx_free(struct udp_rx *rx)
{
	int i;

	for (i = 0; i < UDP_RX_MAX; i++)
		free(rx->bufs[i]);
	memset(rx, 0, sizeof(*rx));
}

int udp_rx_recv(int fd, struct udp_rx *rx)
{
	int i, n;

	for (i = 0; i < UDP_RX_MAX; i++) {
		struct msghdr *m = &rx->msgs[i].msg_hdr;

		rx->iov[i].iov_base = rx->bufs[i];
		rx->iov[i].iov_len = UDP_RX_BUF;
		memset(m, 0, sizeof(*m));
		m->msg_name = &rx->src[i].addr;
		m->msg_namelen = sizeof(rx->src[i].addr);
		m->msg_iov = &rx->iov[i];
		m->msg_iovlen = 1;
		m->msg_control = rx->cmsg[i].buf;
		m->msg_controllen = sizeof(rx->cmsg[i].buf);
	}
	n = recvmmsg(fd, rx->msgs, UDP_RX_MAX, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct msghdr *m = &rx->msgs[i].msg_hdr;
		struct cmsghdr *c;

		rx->src[i].kind = ENDPOINT_UDP;
		rx->src[i].conn = 0;
		rx->gso[i] = 0;
		for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
				int size;

				memcpy(&size, CMSG_DATA(c), sizeof(size));
				rx->gso[i] = (uint16_t)size;
			}
		}
	}
	return n;
}
