/* tcp.c - the TCP transport between ferry peers (tcp.h). */
#include "tcp.h"

#include "clock.h"
#include "device.h"
#include "log.h"
#include "peer.h"
#include "receive.h"
#include "send.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* The longest message a connection accepts, a constant of the protocol
 * so that peers with different MTUs agree: a data message carrying a
 * packet of up to TCP_MAX_MTU bytes, as a frame, padded. */
static size_t max_message(void)
{
	return MESSAGE_DATA_OVERHEAD + FERRY_HEADER_LEN + FERRY_FRAME_OVERHEAD + TCP_MAX_MTU + MESSAGE_PADDING_MULTIPLE;
}

static void set_sockopts(int fd)
{
	int one = 1;

	/* Messages are already batched; Nagle would only add latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	/* A peer that vanished is noticed in 30 s, not TCP's 15 minutes. */
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &(unsigned int){ 30000 }, sizeof(unsigned int));
}

static void watch(struct tcp_conn *c, int op)
{
	struct epoll_event ev = { .events = EPOLLIN | (c->watch_out ? EPOLLOUT : 0u) };

	ev.data.fd = c->fd;
	epoll_ctl(c->dev->epfd, op, c->fd, &ev);
}

static void want_out(struct tcp_conn *c, bool on)
{
	if (c->watch_out == on)
		return;
	c->watch_out = on;
	watch(c, EPOLL_CTL_MOD);
}

static unsigned int unbound_count(const struct device *dev)
{
	const struct tcp_conn *c;
	unsigned int n = 0;

	for (c = dev->tcp_conns; c; c = c->next)
		n += !c->peer;
	return n;
}

static struct tcp_conn *conn_new(struct device *dev, int fd, const union conf_endpoint *remote, bool outbound)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	size_t max = max_message();

	if (!c)
		return NULL;
	if (tcpframe_rx_init(&c->rx, max) < 0 || tcpframe_tx_init(&c->tx, TCPFRAME_TX_CAP, max) < 0) {
		tcpframe_rx_free(&c->rx);
		free(c);
		return NULL;
	}
	c->fd = fd;
	c->dev = dev;
	c->outbound = outbound;
	c->remote = *remote;
	c->born_ms = c->last_rx_ms = clock_ms();
	c->next = dev->tcp_conns;
	dev->tcp_conns = c;
	watch(c, EPOLL_CTL_ADD);
	return c;
}

static void conn_close(struct tcp_conn *c, const char *why)
{
	struct device *dev = c->dev;
	struct tcp_conn **pp;

	for (pp = &dev->tcp_conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	if (dev->rx_conn == c)
		dev->rx_conn = NULL;
	if (c->peer && c->peer->tcp_conn == c) {
		c->peer->tcp_conn = NULL;
		log_debug("%s: TCP connection to a peer closed: %s", dev->name, why);
	}
	epoll_ctl(dev->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	tcpframe_rx_free(&c->rx);
	tcpframe_tx_free(&c->tx);
	free(c);
}

static int listen_one(int family, uint16_t port)
{
	union conf_endpoint a;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a.sa, family == AF_INET ? sizeof(a.in4) : sizeof(a.in6)) < 0 || listen(fd, 64) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

static void watch_listeners(struct device *dev)
{
	int fds[2] = { dev->tcp4, dev->tcp6 }, i;

	for (i = 0; i < 2; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };

		if (fds[i] >= 0)
			epoll_ctl(dev->epfd, EPOLL_CTL_ADD, fds[i], &ev);
	}
}

int tcp_listen(struct device *dev, uint16_t port)
{
	int fd4, fd6;

	if (dev->tcp4 >= 0 || dev->tcp6 >= 0) {
		if (port == dev->listen_tcp)
			return 0;
		if (dev->tcp4 >= 0)
			close(dev->tcp4);
		if (dev->tcp6 >= 0)
			close(dev->tcp6);
		dev->tcp4 = dev->tcp6 = -1;
	}
	fd4 = listen_one(AF_INET, port);
	fd6 = listen_one(AF_INET6, port);
	if (fd4 < 0 && fd6 < 0)
		return fd4 != -EAFNOSUPPORT ? fd4 : fd6;
	dev->tcp4 = fd4 >= 0 ? fd4 : -1;
	dev->tcp6 = fd6 >= 0 ? fd6 : -1;
	dev->listen_tcp = port;
	if (dev->epfd >= 0)
		watch_listeners(dev);
	return 0;
}

static void accept_all(struct device *dev, int lfd)
{
	int i;

	for (i = 0; i < 16; i++) {
		union conf_endpoint remote;
		socklen_t alen = sizeof(remote);
		int fd;

		memset(&remote, 0, sizeof(remote));
		fd = accept4(lfd, &remote.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (unbound_count(dev) >= TCP_MAX_UNBOUND) {
			/* Connections that say nothing must not pile up. */
			device_count_drop(dev, DROP_TCP_REFUSED);
			close(fd);
			continue;
		}
		set_sockopts(fd);
		if (!conn_new(dev, fd, &remote, false)) {
			device_count_drop(dev, DROP_TCP_REFUSED);
			close(fd);
		}
	}
}

static int deliver(void *ctx, uint8_t *msg, size_t len)
{
	struct tcp_conn *c = ctx;
	struct device *dev = c->dev;

	c->last_rx_ms = clock_ms();
	dev->rx_conn = c;
	receive_packet(dev, msg, len, &c->remote);
	dev->rx_conn = NULL;
	/* A reply on this connection that failed only marked it broken
	 * (conn_fail): its buffer is in use until tcpframe_read returns. */
	return c->broken ? -EPIPE : 0;
}

static void conn_readable(struct tcp_conn *c)
{
	static uint8_t scratch[TCPFRAME_SCRATCH_SIZE];
	struct device *dev = c->dev;
	ssize_t r = tcpframe_read(&c->rx, c->fd, scratch, sizeof(scratch), deliver, c);

	/* Delivered messages live in scratch: write and send them now. */
	receive_flush(dev);
	send_flush(dev);
	if (c->broken) {
		conn_close(c, "a send on it failed");
		return;
	}
	if (r > 0 || r == -EAGAIN)
		return;
	if (r == 0) {
		if (tcpframe_rx_pending(&c->rx))
			device_count_drop(dev, DROP_TCP_CUT);
		conn_close(c, "closed by the peer");
		return;
	}
	if (r == -EBADMSG || r == -EMSGSIZE)
		device_count_drop(dev, DROP_TCP_FRAMING);
	conn_close(c, strerror((int)-r));
}

static void conn_writable(struct tcp_conn *c)
{
	if (c->connecting) {
		int err = 0;
		socklen_t len = sizeof(err);

		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			log_debug("%s: TCP connect failed: %s", c->dev->name, strerror(err));
			conn_close(c, strerror(err));
			return;
		}
		c->connecting = false;
	}
	if (tcpframe_flush(&c->tx, c->fd) < 0) {
		conn_close(c, "write failed");
		return;
	}
	want_out(c, tcpframe_tx_pending(&c->tx));
}

bool tcp_handle_event(struct device *dev, int fd, uint32_t events)
{
	struct tcp_conn *c;

	if (fd >= 0 && (fd == dev->tcp4 || fd == dev->tcp6)) {
		accept_all(dev, fd);
		return true;
	}
	for (c = dev->tcp_conns; c && c->fd != fd; c = c->next)
		;
	if (!c)
		return false;
	if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
		if (c->connecting || (events & EPOLLOUT)) {
			conn_writable(c);
			/* c may be gone: look it up again before reading. */
			for (c = dev->tcp_conns; c && c->fd != fd; c = c->next)
				;
			if (!c)
				return true;
		}
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_readable(c);
	return true;
}

static struct tcp_conn *connect_peer(struct peer *p)
{
	struct device *dev = p->dev;
	struct tcp_conn *c;
	uint64_t now = clock_ms();
	socklen_t alen = p->endpoint.sa.sa_family == AF_INET6 ? sizeof(p->endpoint.in6) : sizeof(p->endpoint.in4);
	int fd;

	if (now < p->tcp_retry_ms)
		return NULL;
	/* The next attempt waits; a connection that carries a message resets it. */
	p->tcp_retry_ms = tcp_backoff_next_ms(&p->tcp_backoff, now);
	fd = socket(p->endpoint.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	set_sockopts(fd);
	if (dev->fwmark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &dev->fwmark, sizeof(dev->fwmark));
	if (connect(fd, &p->endpoint.sa, alen) < 0 && errno != EINPROGRESS) {
		log_debug("%s: TCP connect: %s", dev->name, strerror(errno));
		close(fd);
		return NULL;
	}
	c = conn_new(dev, fd, &p->endpoint, true);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->connecting = true;
	c->peer = p;
	p->tcp_conn = c;
	want_out(c, true);
	return c;
}

/* A send on @c failed: the connection is finished. It is closed now,
 * unless a message on it is being delivered (its receive buffer is in
 * use): then it leaves its peer at once and is closed when the read
 * returns (conn_readable). */
static void conn_fail(struct tcp_conn *c, int err)
{
	if (c->dev->rx_conn != c) {
		conn_close(c, strerror(-err));
		return;
	}
	c->broken = true;
	if (c->peer && c->peer->tcp_conn == c)
		c->peer->tcp_conn = NULL;
}

/* @n messages on @c. Returns how many were dropped (queue full, bad
 * length), or a negative errno: the connection is finished. */
static int conn_sendv(struct tcp_conn *c, const struct iovec *msgs, size_t n)
{
	int r;

	if (c->broken)
		return -EPIPE;
	r = tcpframe_sendv(&c->tx, c->fd, msgs, n);
	if (r < 0) {
		conn_fail(c, r);
		return r;
	}
	if (tcpframe_tx_pending(&c->tx))
		want_out(c, true);
	return r;
}

static int conn_send(struct tcp_conn *c, const void *msg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	int r = conn_sendv(c, &iov, 1);

	return r > 0 ? -ENOBUFS : r;
}

/* @p's connection, dialled now if it has none (its backoff permitting). */
static struct tcp_conn *peer_conn(struct peer *p)
{
	if (p->tcp_conn)
		return p->tcp_conn;
	if (!p->transport_tcp || !p->endpoint.sa.sa_family)
		return NULL;
	return connect_peer(p);
}

int tcp_send(struct peer *p, const void *msg, size_t len)
{
	struct tcp_conn *c = peer_conn(p);

	return c ? conn_send(c, msg, len) : -ENOTCONN;
}

int tcp_sendv(struct peer *p, const struct iovec *msgs, size_t n)
{
	struct tcp_conn *c = peer_conn(p);

	return c ? conn_sendv(c, msgs, n) : -ENOTCONN;
}

int tcp_reply(struct device *dev, const void *msg, size_t len)
{
	return dev->rx_conn ? conn_send(dev->rx_conn, msg, len) : -ENOTCONN;
}

void tcp_bind_peer(struct device *dev, struct peer *p)
{
	struct tcp_conn *c = dev->rx_conn;

	if (!c || c->broken)
		return;
	/* The connection a peer's latest authenticated message came on is
	 * where its replies go (TCP's form of roaming). */
	c->peer = p;
	p->tcp_conn = c;
	tcp_backoff_reset(&p->tcp_backoff);
	p->tcp_retry_ms = 0;
}

bool tcp_peer_uses_tcp(const struct peer *p)
{
	return p->tcp_conn || p->transport_tcp;
}

void tcp_peer_removed(struct peer *p)
{
	struct tcp_conn *c;

	for (c = p->dev->tcp_conns; c; c = c->next)
		if (c->peer == p)
			c->peer = NULL;
	if (p->tcp_conn)
		conn_close(p->tcp_conn, "peer removed");
	p->tcp_conn = NULL;
}

void tcp_expire(struct device *dev, uint64_t now_ms)
{
	struct tcp_conn *c = dev->tcp_conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (!c->peer && now_ms - c->last_rx_ms > TCP_UNBOUND_TIMEOUT_MS)
			conn_close(c, "nothing authenticated on it");
		else if (c->peer && now_ms - c->last_rx_ms > TCP_IDLE_TIMEOUT_MS)
			conn_close(c, "idle");
		else if (c->peer && c->peer->tcp_conn != c && now_ms - c->last_rx_ms > TCP_UNBOUND_TIMEOUT_MS)
			conn_close(c, "replaced by a newer connection");
	}
}

void tcp_loop_started(struct device *dev)
{
	struct tcp_conn *c;

	watch_listeners(dev);
	for (c = dev->tcp_conns; c; c = c->next)
		watch(c, EPOLL_CTL_ADD);
}

void tcp_close_all(struct device *dev)
{
	while (dev->tcp_conns)
		conn_close(dev->tcp_conns, "shutting down");
	if (dev->tcp4 >= 0)
		close(dev->tcp4);
	if (dev->tcp6 >= 0)
		close(dev->tcp6);
	dev->tcp4 = dev->tcp6 = -1;
}
