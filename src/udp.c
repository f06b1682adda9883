/* udp.c - UDP sockets: an IPv4 socket and an IPv6-only socket bound to the
 * same port, so each family works even when the other is disabled. */
#include "udp.h"

#include "log.h"

#include <errno.h>
#include <linux/errqueue.h>
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
	/* Each datagram says which of our addresses it came to (udp_readable),
	 * so that replies can leave from it (udp_send). Datagrams go with DF
	 * and the kernel's idea of the path MTU is not applied to them
	 * (PMTUDISC_PROBE): ferry sizes its messages per peer itself, from the
	 * ICMP errors the error queue hands over (udp_errors). */
	if (family == AF_INET6) {
		int probe = IPV6_PMTUDISC_PROBE;

		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &probe, sizeof(probe));
		setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
	} else {
		int probe = IP_PMTUDISC_PROBE;

		setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &probe, sizeof(probe));
		setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
	}
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
static void udp_probe_offloads(struct transport_ctx *io, struct udp_transport *u)
{
	int fds[2] = { u->fd4, u->fd6 }, i, one = 1, zero = 0;
	bool gso = u->want_gso, gro = u->want_gro;

	for (i = 0; i < 2; i++) {
		if (fds[i] < 0)
			continue;
		if (gso && setsockopt(fds[i], SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) < 0)
			gso = false;
		if (gro && setsockopt(fds[i], SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0)
			gro = false;
	}
	if (u->want_gso != gso || u->want_gro != gro)
		log_info("%s: UDP %s not available; sending without it", io->name,
			 !gso && u->want_gso ? "segmentation offload (GSO)" : "receive offload (GRO)");
	u->gso = gso;
	u->gro = gro;
}

void udp_init(struct udp_transport *u)
{
	memset(u, 0, sizeof(*u));
	u->fd4 = u->fd6 = -1;
	u->want_gso = u->want_gro = true;
}

int udp_open(struct transport_ctx *io, struct udp_transport *u, uint16_t port)
{
	int attempt, fd4 = -1, fd6 = -1;

	/* With port 0, the port the kernel picks for IPv4 may be taken for
	 * IPv6: try a few times, as wireguard-go does. */
	for (attempt = 0; attempt < 100; attempt++) {
		fd4 = open_one(AF_INET, port, io->fwmark);
		if (fd4 < 0 && fd4 != -EAFNOSUPPORT)
			return fd4;
		fd6 = open_one(AF_INET6, fd4 >= 0 ? bound_port(fd4) : port, io->fwmark);
		if (fd6 == -EADDRINUSE && !port && fd4 >= 0) {
			close(fd4);
			continue;
		}
		break;
	}
	if (fd4 < 0 && fd6 < 0)
		return fd6;
	udp_close(u);
	u->fd4 = fd4 >= 0 ? fd4 : -1;
	u->fd6 = fd6 >= 0 ? fd6 : -1;
	udp_probe_offloads(io, u);
	u->port = bound_port(fd4 >= 0 ? fd4 : fd6);
	return 0;
}

void udp_close(struct udp_transport *u)
{
	if (u->fd4 >= 0)
		close(u->fd4);
	if (u->fd6 >= 0)
		close(u->fd6);
	u->fd4 = u->fd6 = -1;
}

int udp_set_fwmark(struct udp_transport *u, uint32_t mark)
{
	int fds[2] = { u->fd4, u->fd6 }, i;

	for (i = 0; i < 2; i++)
		if (fds[i] >= 0 && setsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
			return -errno;
	return 0;
}

static int fd_for(const struct udp_transport *u, const union conf_endpoint *to)
{
	return to->sa.sa_family == AF_INET6 ? u->fd6 : u->fd4;
}

static socklen_t addr_len(const union conf_endpoint *to)
{
	return to->sa.sa_family == AF_INET6 ? sizeof(to->in6) : sizeof(to->in4);
}

/* The message's control data: UDP_SEGMENT for a GSO run, and the source
 * address the peer last reached us on (its family matches the socket's). */
static void fill_msghdr(struct udp_tx *tx, int i, struct tx_msg *m)
{
	struct msghdr *h = &tx->msgs[i].msg_hdr;
	bool gso = m->seg && m->len > m->seg;
	bool src = m->to.src_family == m->to.addr.sa.sa_family && !m->to.src_off_route;
	size_t room = 0;
	struct cmsghdr *c;

	memset(h, 0, sizeof(*h));
	tx->iov[i].iov_base = m->buf;
	tx->iov[i].iov_len = m->len;
	h->msg_name = &m->to.addr;
	h->msg_namelen = addr_len(&m->to.addr);
	h->msg_iov = &tx->iov[i];
	h->msg_iovlen = 1;
	if (!gso && !src)
		return;
	if (gso)
		room += CMSG_SPACE(sizeof(uint16_t));
	if (src)
		room += m->to.src_family == AF_INET6 ? CMSG_SPACE(sizeof(struct in6_pktinfo))
						     : CMSG_SPACE(sizeof(struct in_pktinfo));
	memset(tx->cmsg[i].buf, 0, room);
	h->msg_control = tx->cmsg[i].buf;
	h->msg_controllen = room;
	c = CMSG_FIRSTHDR(h);
	if (gso) {
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &m->seg, sizeof(uint16_t));
		c = CMSG_NXTHDR(h, c);
	}
	if (src && m->to.src_family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_addr = m->to.src.v6, .ipi6_ifindex = m->to.src_ifindex };

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else if (src) {
		/* The source address only: the route may leave by another
		 * interface than the one the peer's message came in on. */
		struct in_pktinfo pi = { .ipi_spec_dst = m->to.src.v4 };

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

/* A GSO run sent as separate datagrams (through slot @i of @tx): the
 * fallback when the kernel refuses segmentation offload at run time.
 * Returns how many of them were refused as too big for the interface
 * (EMSGSIZE): then it was the size, not the offload. */
static int send_unsegmented(struct transport_ctx *io, int fd, struct udp_tx *tx, int i, struct tx_msg *m)
{
	struct tx_msg one = *m;
	size_t left = m->len;
	int too_big = 0;

	one.seg = 0;
	while (left) {
		one.len = left < m->seg ? left : m->seg;
		fill_msghdr(tx, i, &one);
		if (sendmsg(fd, &tx->msgs[i].msg_hdr, 0) < 0) {
			transport_count_drop(io, DROP_SEND_ERROR);
			too_big += errno == EMSGSIZE;
		} else if (m->peer) {
			m->peer->tx_bytes += one.len;
		}
		one.buf += one.len;
		left -= one.len;
	}
	return too_big;
}

void udp_send(struct transport_ctx *io, struct udp_transport *u, struct udp_tx *tx, struct tx_msg *m, int n)
{
	int start = 0, i;

	for (i = 0; i < n; i++)
		fill_msghdr(tx, i, &m[i]);
	/* One sendmmsg per run of messages for the same socket. */
	while (start < n) {
		int family = m[start].to.addr.sa.sa_family, end = start, fd, sent;

		while (end < n && m[end].to.addr.sa.sa_family == family)
			end++;
		fd = fd_for(u, &m[start].to.addr);
		while (start < end) {
			sent = fd < 0 ? -1 : sendmmsg(fd, &tx->msgs[start], (unsigned int)(end - start), 0);
			if (sent <= 0) {
				if (sent < 0 && errno == EAGAIN) {
					/* The socket buffer is full: wait for room, briefly. */
					struct pollfd pfd = { fd, POLLOUT, 0 };

					if (poll(&pfd, 1, 100) > 0)
						continue;
				}
				if (sent < 0 && (errno == EINVAL || errno == EADDRNOTAVAIL || errno == ENETUNREACH) &&
				    m[start].to.src_family) {
					/* The address the peer reached us on is gone: let the
					 * routing decision choose, for this message and (by
					 * its endpoint) the next ones. */
					m[start].to.src_family = 0;
					if (m[start].peer && m[start].peer->endpoint.kind == ENDPOINT_UDP)
						m[start].peer->endpoint.src_family = 0;
					fill_msghdr(tx, start, &m[start]);
					continue;
				}
				if (sent < 0 && (errno == EIO || errno == EINVAL) && m[start].seg &&
				    m[start].len > m[start].seg) {
					/* Some kernels and NICs refuse UDP GSO only under load:
					 * send this one plainly, and stop using it, once, unless
					 * the datagrams were simply too big for the interface
					 * (the path MTU is learned from the error queue). */
					int err = errno;

					if (!send_unsegmented(io, fd, tx, start, &m[start])) {
						log_warn("%s: UDP segmentation offload failed (%s); turning it off",
							 io->name, strerror(err));
						u->gso = false;
					}
				} else {
					transport_count_drop(io, DROP_SEND_ERROR);
				}
				start++;
				continue;
			}
			for (i = start; i < start + sent; i++)
				if (m[i].peer)
					m[i].peer->tx_bytes += m[i].len;
			start += sent;
		}
	}
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

static int rx_recv(int fd, struct udp_rx *rx)
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
		rx->src[i].src_family = 0;
		rx->gso[i] = 0;
		for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
			if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
				int size;

				memcpy(&size, CMSG_DATA(c), sizeof(size));
				rx->gso[i] = (uint16_t)size;
			} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
				struct in_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				rx->src[i].src_family = AF_INET;
				rx->src[i].src.v4 = pi.ipi_addr;
				rx->src[i].src_ifindex = (uint32_t)pi.ipi_ifindex;
			} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
				struct in6_pktinfo pi;

				memcpy(&pi, CMSG_DATA(c), sizeof(pi));
				rx->src[i].src_family = AF_INET6;
				rx->src[i].src.v6 = pi.ipi6_addr;
				rx->src[i].src_ifindex = pi.ipi6_ifindex;
			}
		}
	}
	return n;
}

void udp_readable(struct transport_ctx *io, int fd, struct udp_rx *rx, int max_batches)
{
	const struct transport_receiver *r = io->receiver;

	while (max_batches--) {
		int n = rx_recv(fd, rx), i;

		if (n <= 0)
			break;
		for (i = 0; i < n; i++) {
			uint8_t *b = rx->bufs[i];
			size_t len = rx->msgs[i].msg_len, seg = rx->gso[i];

			/* With UDP GRO, one buffer holds datagrams of seg bytes each. */
			if (!seg || seg >= len) {
				r->message(io->dev, b, len, &rx->src[i]);
				continue;
			}
			for (size_t off = 0; off < len; off += seg)
				r->message(io->dev, b + off, len - off < seg ? len - off : seg, &rx->src[i]);
		}
		r->batch_done(io->dev);
	}
}

void udp_errors(struct transport_ctx *io, int fd)
{
	int i;

	/* Bounded: a burst of errors is read over a few turns of the loop. */
	for (i = 0; i < 16; i++) {
		union {
			char buf[512];
			struct cmsghdr align;
		} control;
		union conf_endpoint to;
		uint8_t head[64];
		struct iovec iov = { .iov_base = head, .iov_len = sizeof(head) };
		struct msghdr m = { .msg_name = &to,
				    .msg_namelen = sizeof(to),
				    .msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = control.buf,
				    .msg_controllen = sizeof(control.buf) };
		struct cmsghdr *c;

		memset(&to, 0, sizeof(to));
		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return;
		for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct sock_extended_err ee;

			if (!((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) ||
			    c->cmsg_len < CMSG_LEN(sizeof(ee)))
				continue;
			memcpy(&ee, CMSG_DATA(c), sizeof(ee));
			/* "Too big": an ICMP from the path, or the local
			 * interface itself; ee_info is the MTU that fits. */
			if (ee.ee_errno == EMSGSIZE && ee.ee_info && to.sa.sa_family && io->receiver->path_mtu)
				io->receiver->path_mtu(io->dev, &to, ee.ee_info);
		}
	}
}
