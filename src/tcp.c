/* tcp.c - the TCP transport between ferry peers (tcp.h).
 *
 * Connections live in a table of TCP_MAX_CONNS slots; a connection's
 * handle is its slot plus a generation that never repeats, so a handle
 * kept in an endpoint after its connection closed resolves to nothing.
 * Ownership: this file owns every struct tcp_conn and frees it in
 * conn_close(); a connection being read (c->reading) is only marked
 * broken there and freed when the read returns, because the messages
 * being delivered live in the read's buffers. */
#include "tcp.h"

#include "clock.h"
#include "log.h"
#include "loop.h"
#include "messages.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct tcp_conn {
	struct loop_handler h; /* in epoll's data.ptr */
	int fd;
	uint64_t handle;
	struct transport_ctx *io;
	struct transport_peer *owner; /* bound: the peer dialled, or whose message last authenticated here */
	bool connecting;	      /* outbound, connect() in progress */
	bool outbound;
	bool watch_out; /* EPOLLOUT requested */
	bool reading;	/* its messages are being delivered: close only after the read */
	bool broken;	/* closed while reading: freed when the read returns */
	bool dead;	/* closed: its handler may still sit in this turn's events */
	union conf_endpoint remote;
	uint64_t born_ms, last_auth_ms;
	struct tcpframe_rx rx;
	struct tcpframe_tx tx;
	struct tcp_conn *next;
};

struct tcp_listener {
	struct loop_handler h;
	struct transport_ctx *io;
	int fd; /* -1: none */
};

struct tcp_transport {
	struct tcp_listener l4, l6; /* listening sockets */
	uint16_t port;
	uint64_t accept_resume_ms; /* accepting paused until then; 0: accepting */
	struct tcp_conn *conns;	   /* newest first */
	struct tcp_conn *dead;	   /* closed, freed by tcp_reap() after the turn */
	struct tcp_conn *slot[TCP_MAX_CONNS];
	uint64_t generation;
	unsigned int n_conns, max_conns;
	/* What one read of a connection delivers from, until batch_done. */
	uint8_t scratch[TCPFRAME_SCRATCH_SIZE];
};

static void listener_ready(struct loop_handler *h, uint32_t events);
static void conn_ready(struct loop_handler *h, uint32_t events);

/* The longest message a connection accepts, a constant of the protocol
 * so that peers with different MTUs agree: a data message carrying a
 * packet of up to TCP_MAX_MTU bytes, as a frame, padded. */
static size_t max_message(void)
{
	return MESSAGE_DATA_OVERHEAD + FERRY_HEADER_LEN + FERRY_FRAME_OVERHEAD + TCP_MAX_MTU + MESSAGE_PADDING_MULTIPLE;
}

/* The device's TCP state, created on first use. */
static struct tcp_transport *transport(struct transport_ctx *io)
{
	struct tcp_transport *t = io->tcp;
	struct rlimit rl;

	if (t)
		return t;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->l4 = (struct tcp_listener){ .h.ready = listener_ready, .io = io, .fd = -1 };
	t->l6 = (struct tcp_listener){ .h.ready = listener_ready, .io = io, .fd = -1 };
	/* Leave room under the descriptor limit for everything else. */
	t->max_conns = TCP_MAX_CONNS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < TCP_MAX_CONNS + 64)
		t->max_conns = rl.rlim_cur > 64 + 16 ? (unsigned int)rl.rlim_cur - 64 : 16;
	io->tcp = t;
	return t;
}

static struct tcp_conn *conn_get(const struct transport_ctx *io, uint64_t handle)
{
	struct tcp_conn *c;

	if (!io->tcp || !handle)
		return NULL;
	c = io->tcp->slot[handle % TCP_MAX_CONNS];
	return c && c->handle == handle && !c->broken ? c : NULL;
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
	loop_watch(c->io->epfd, op, c->fd, EPOLLIN | (c->watch_out ? EPOLLOUT : 0u), &c->h);
}

static void want_out(struct tcp_conn *c, bool on)
{
	if (c->watch_out == on)
		return;
	c->watch_out = on;
	watch(c, EPOLL_CTL_MOD);
}

/* Same source, for the per-source cap: the IPv4 address, or the /64 of an
 * IPv6 one (one host usually holds a whole /64). */
static bool same_source(const union conf_endpoint *a, const union conf_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 8);
}

static struct tcp_conn *conn_new(struct transport_ctx *io, int fd, const union conf_endpoint *remote, bool outbound)
{
	struct tcp_transport *t = io->tcp;
	size_t max = max_message();
	struct tcp_conn *c;
	unsigned int s;

	if (t->n_conns >= t->max_conns)
		return NULL;
	for (s = (unsigned int)(t->generation % TCP_MAX_CONNS); t->slot[s]; s = (s + 1) % TCP_MAX_CONNS)
		;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (tcpframe_rx_init(&c->rx, max) < 0 || tcpframe_tx_init(&c->tx, TCPFRAME_TX_CAP, max) < 0) {
		tcpframe_rx_free(&c->rx);
		free(c);
		return NULL;
	}
	c->h.ready = conn_ready;
	c->fd = fd;
	c->handle = ++t->generation * TCP_MAX_CONNS + s;
	c->io = io;
	c->outbound = outbound;
	c->remote = *remote;
	c->born_ms = c->last_auth_ms = clock_ms();
	c->next = t->conns;
	t->conns = c;
	t->slot[s] = c;
	t->n_conns++;
	watch(c, EPOLL_CTL_ADD);
	return c;
}

static void conn_free(struct tcp_conn *c)
{
	struct tcp_transport *t = c->io->tcp;
	struct tcp_conn **pp;

	for (pp = &t->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	t->slot[c->handle % TCP_MAX_CONNS] = NULL;
	t->n_conns--;
	loop_unwatch(c->io->epfd, c->fd);
	close(c->fd);
	c->fd = -1;
	tcpframe_rx_free(&c->rx);
	tcpframe_tx_free(&c->tx);
	/* An event of it may wait later in this turn: freed after it. */
	c->dead = true;
	c->next = t->dead;
	t->dead = c;
}

void tcp_reap(struct transport_ctx *io)
{
	struct tcp_conn *c;

	while (io->tcp && (c = io->tcp->dead)) {
		io->tcp->dead = c->next;
		free(c);
	}
}

/* The connection is finished. While it is being read it only stops
 * counting (conn_get no longer finds it) and is freed after the read. */
static void conn_close(struct tcp_conn *c, const char *why)
{
	if (c->owner)
		log_debug("%s: TCP connection to a peer closed: %s", c->io->name, why);
	c->owner = NULL;
	if (c->reading) {
		c->broken = true;
		return;
	}
	conn_free(c);
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

/* Watch the listeners (@op EPOLL_CTL_ADD or _MOD) for new connections, or
 * (@on false) stop watching them for a while. */
static void watch_listeners(struct transport_ctx *io, int op, bool on)
{
	struct tcp_transport *t = io->tcp;

	loop_watch(io->epfd, op, t->l4.fd, on ? EPOLLIN : 0u, &t->l4.h);
	loop_watch(io->epfd, op, t->l6.fd, on ? EPOLLIN : 0u, &t->l6.h);
}

static void close_listeners(struct tcp_transport *t)
{
	/* Closing a descriptor takes it out of epoll. */
	if (t->l4.fd >= 0)
		close(t->l4.fd);
	if (t->l6.fd >= 0)
		close(t->l6.fd);
	t->l4.fd = t->l6.fd = -1;
}

int tcp_listen(struct transport_ctx *io, uint16_t port)
{
	struct tcp_transport *t = transport(io);
	int fd4, fd6;

	if (!t)
		return -ENOMEM;
	if (t->l4.fd >= 0 || t->l6.fd >= 0) {
		if (port == t->port)
			return 0;
		close_listeners(t);
	}
	fd4 = listen_one(AF_INET, port);
	fd6 = listen_one(AF_INET6, port);
	if (fd4 < 0 && fd6 < 0)
		return fd4 != -EAFNOSUPPORT ? fd4 : fd6;
	t->l4.fd = fd4 >= 0 ? fd4 : -1;
	t->l6.fd = fd6 >= 0 ? fd6 : -1;
	t->port = port;
	t->accept_resume_ms = 0;
	watch_listeners(io, EPOLL_CTL_ADD, true);
	return 0;
}

static bool is_unbound(const struct tcp_conn *c)
{
	return !c->owner && !c->broken;
}

/* Room for one more connection that has authenticated nothing from
 * @remote: false if its source holds its share already; otherwise the
 * oldest unbound connection gives way when the table is full. */
static bool admit_unbound(struct transport_ctx *io, const union conf_endpoint *remote)
{
	struct tcp_transport *t = io->tcp;
	struct tcp_conn *c, *oldest = NULL;
	unsigned int unbound = 0, from_source = 0;

	for (c = t->conns; c; c = c->next) {
		if (!is_unbound(c))
			continue;
		unbound++;
		oldest = c;
		from_source += same_source(&c->remote, remote);
	}
	if (from_source >= TCP_MAX_UNBOUND_PER_SOURCE)
		return false;
	if (unbound < TCP_MAX_UNBOUND && t->n_conns < t->max_conns)
		return true;
	if (!oldest)
		return false;
	transport_count_drop(io, DROP_TCP_REFUSED);
	conn_close(oldest, "room for a newer connection");
	return true;
}

/* accept() ran out of descriptors or memory: stop asking for a second
 * rather than be woken for the same pending connection again and again. */
static void pause_accepting(struct transport_ctx *io, int err)
{
	struct tcp_transport *t = io->tcp;

	log_warn("%s: cannot accept TCP connections: %s; pausing for %u ms", io->name, strerror(err),
		 TCP_ACCEPT_PAUSE_MS);
	t->accept_resume_ms = clock_ms() + TCP_ACCEPT_PAUSE_MS;
	watch_listeners(io, EPOLL_CTL_MOD, false);
}

static void accept_all(struct transport_ctx *io, int lfd)
{
	int i;

	for (i = 0; i < 16; i++) {
		union conf_endpoint remote;
		socklen_t alen = sizeof(remote);
		int fd;

		memset(&remote, 0, sizeof(remote));
		fd = accept4(lfd, &remote.sa, &alen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
				pause_accepting(io, errno);
			return;
		}
		if (!admit_unbound(io, &remote)) {
			/* Connections that say nothing must not pile up. */
			transport_count_drop(io, DROP_TCP_REFUSED);
			close(fd);
			continue;
		}
		set_sockopts(fd);
		if (!conn_new(io, fd, &remote, false)) {
			transport_count_drop(io, DROP_TCP_REFUSED);
			close(fd);
		}
	}
}

static int deliver(void *ctx, uint8_t *msg, size_t len)
{
	struct tcp_conn *c = ctx;
	struct endpoint from = { .kind = ENDPOINT_TCP, .conn = c->handle, .addr = c->remote };

	c->io->receiver->message(c->io->dev, msg, len, &from);
	/* A failed reply on this connection closed it: stop reading it. */
	return c->broken ? -EPIPE : 0;
}

static void conn_readable(struct tcp_conn *c)
{
	struct transport_ctx *io = c->io;
	struct tcp_transport *t = io->tcp;
	ssize_t r;

	c->reading = true;
	r = tcpframe_read(&c->rx, c->fd, t->scratch, sizeof(t->scratch), deliver, c);
	/* Delivered messages live in scratch: the receiver is done with them
	 * before the next read. */
	io->receiver->batch_done(io->dev);
	c->reading = false;
	if (c->broken) {
		conn_free(c);
		return;
	}
	if (r > 0 || r == -EAGAIN)
		return;
	if (r == 0) {
		if (tcpframe_rx_pending(&c->rx))
			transport_count_drop(io, DROP_TCP_CUT);
		conn_close(c, "closed by the peer");
		return;
	}
	if (r == -EBADMSG || r == -EMSGSIZE)
		transport_count_drop(io, DROP_TCP_FRAMING);
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
			log_debug("%s: TCP connect failed: %s", c->io->name, strerror(err));
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

static void conn_ready(struct loop_handler *h, uint32_t events)
{
	struct tcp_conn *c = container_of(h, struct tcp_conn, h);

	if (c->dead)
		return;
	if ((events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && (c->connecting || (events & EPOLLOUT))) {
		conn_writable(c);
		if (c->dead)
			return;
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_readable(c);
}

static void listener_ready(struct loop_handler *h, uint32_t events)
{
	struct tcp_listener *l = container_of(h, struct tcp_listener, h);

	(void)events;
	if (l->fd >= 0)
		accept_all(l->io, l->fd);
}

/* At most TCP_MAX_PER_PEER connections stay bound to @p: the least
 * recently authenticated of the others go. */
static void limit_peer_conns(struct transport_ctx *io, struct transport_peer *p, struct tcp_conn *keep)
{
	for (;;) {
		struct tcp_conn *c, *victim = NULL;
		unsigned int n = 0;

		for (c = io->tcp->conns; c; c = c->next) {
			if (c->owner != p)
				continue;
			n++;
			if (c != keep && (!victim || c->last_auth_ms < victim->last_auth_ms))
				victim = c;
		}
		if (n <= TCP_MAX_PER_PEER || !victim)
			return;
		conn_close(victim, "too many connections for one peer");
	}
}

static struct tcp_conn *connect_peer(struct transport_ctx *io, struct transport_peer *p)
{
	const union conf_endpoint *to = &p->tcp_to;
	socklen_t alen = to->sa.sa_family == AF_INET6 ? sizeof(to->in6) : sizeof(to->in4);
	uint64_t now = clock_ms();
	struct tcp_conn *c;
	int fd;

	if (now < p->retry_ms || !to->sa.sa_family || !transport(io))
		return NULL;
	/* The next attempt waits; a connection that carries a message resets it. */
	p->retry_ms = tcp_backoff_next_ms(&p->backoff, now);
	fd = socket(to->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	set_sockopts(fd);
	if (io->fwmark)
		setsockopt(fd, SOL_SOCKET, SO_MARK, &io->fwmark, sizeof(io->fwmark));
	if (connect(fd, &to->sa, alen) < 0 && errno != EINPROGRESS) {
		log_debug("%s: TCP connect: %s", io->name, strerror(errno));
		close(fd);
		return NULL;
	}
	c = conn_new(io, fd, to, true);
	if (!c) {
		close(fd);
		return NULL;
	}
	c->connecting = true;
	c->owner = p;
	want_out(c, true);
	limit_peer_conns(io, p, c);
	return c;
}

/* @n messages on @c. Returns how many were dropped (queue full, bad
 * length), or a negative errno: the connection is finished. */
static int conn_sendv(struct tcp_conn *c, const struct iovec *msgs, size_t n)
{
	int r = tcpframe_sendv(&c->tx, c->fd, msgs, n);

	if (r < 0) {
		conn_close(c, strerror(-r));
		return r;
	}
	if (tcpframe_tx_pending(&c->tx))
		want_out(c, true);
	return r;
}

/* The connection messages to @ep go on; for a peer with Transport = tcp
 * whose connection is gone, a new one, which @ep names from then on. */
static struct tcp_conn *conn_for(struct transport_ctx *io, struct endpoint *ep, struct transport_peer *dial)
{
	struct tcp_conn *c = conn_get(io, ep->conn);

	if (!c && dial && dial->tcp) {
		c = connect_peer(io, dial);
		if (c) {
			ep->conn = c->handle;
			ep->addr = c->remote;
		}
	}
	return c;
}

static size_t messages_in(const struct tx_msg *m)
{
	return m->seg ? (m->len + m->seg - 1) / m->seg : 1;
}

/* Add @m's messages (one, or each of a run) to @iov at @k. */
static size_t add_iovecs(struct iovec *iov, size_t k, const struct tx_msg *m)
{
	size_t seg = m->seg ? m->seg : m->len, off;

	for (off = 0; off < m->len; off += seg, k++) {
		iov[k].iov_base = m->buf + off;
		iov[k].iov_len = m->len - off < seg ? m->len - off : seg;
	}
	return k;
}

static bool same_destination(const struct tx_msg *a, const struct tx_msg *b)
{
	return a->peer == b->peer && (a->peer || a->to.conn == b->to.conn);
}

void tcp_send(struct transport_ctx *io, struct tx_msg *m, int n)
{
	int i = 0;

	while (i < n) {
		/* A peer's messages follow its endpoint (a reconnect updates
		 * it); a cookie reply goes where its message came from. */
		struct transport_peer *p = m[i].peer;
		struct endpoint *ep = p && p->endpoint.kind == ENDPOINT_TCP ? &p->endpoint : &m[i].to;
		struct tcp_conn *c = conn_for(io, ep, p);
		struct iovec iov[TCP_SEND_MAX];
		size_t k = 0, bytes = 0, j;
		int first = i, dropped;

		/* This destination's messages that follow, in one write. */
		do {
			k = add_iovecs(iov, k, &m[i]);
			bytes += m[i].len;
			i++;
		} while (i < n && same_destination(&m[i], &m[first]) && k + messages_in(&m[i]) <= TCP_SEND_MAX);
		dropped = c ? conn_sendv(c, iov, k) : -ENOTCONN;
		if (dropped < 0)
			dropped = (int)k;
		for (j = 0; j < (size_t)dropped; j++)
			transport_count_drop(io, DROP_SEND_ERROR);
		if (!dropped && p)
			p->tx_bytes += bytes;
	}
}

bool tcp_authenticated(struct transport_ctx *io, const struct endpoint *ep, struct transport_peer *p)
{
	struct tcp_conn *c = conn_get(io, ep->conn);

	if (!c)
		return false;
	c->last_auth_ms = clock_ms();
	if (c->owner != p) {
		c->owner = p;
		limit_peer_conns(io, p, c);
	}
	tcp_backoff_reset(&p->backoff);
	p->retry_ms = 0;
	return true;
}

void tcp_peer_removed(struct transport_ctx *io, struct transport_peer *p)
{
	struct tcp_conn *c, *next;

	if (!io->tcp)
		return;
	for (c = io->tcp->conns; c; c = next) {
		next = c->next;
		if (c->owner == p)
			conn_close(c, "peer removed");
	}
}

static bool is_peers_endpoint(const struct tcp_conn *c)
{
	return c->owner->endpoint.kind == ENDPOINT_TCP && c->owner->endpoint.conn == c->handle;
}

void tcp_expire(struct transport_ctx *io, uint64_t now_ms)
{
	struct tcp_transport *t = io->tcp;
	struct tcp_conn *c, *next;

	if (!t)
		return;
	for (c = t->conns; c; c = next) {
		next = c->next;
		if (c->broken)
			continue;
		if (!c->owner && now_ms - c->born_ms > TCP_UNBOUND_TIMEOUT_MS)
			conn_close(c, "nothing authenticated on it");
		else if (c->owner && now_ms - c->last_auth_ms > TCP_IDLE_TIMEOUT_MS)
			conn_close(c, "idle");
		else if (c->owner && !is_peers_endpoint(c) && now_ms - c->last_auth_ms > TCP_UNBOUND_TIMEOUT_MS)
			conn_close(c, "its peer has moved on");
	}
	if (t->accept_resume_ms && now_ms >= t->accept_resume_ms) {
		t->accept_resume_ms = 0;
		watch_listeners(io, EPOLL_CTL_MOD, true);
	}
}

bool tcp_active(const struct transport_ctx *io)
{
	return io->tcp && (io->tcp->conns || io->tcp->accept_resume_ms);
}

void tcp_stats(const struct transport_ctx *io, struct tcp_stats *st)
{
	const struct tcp_conn *c;

	memset(st, 0, sizeof(*st));
	if (!io->tcp)
		return;
	st->port = io->tcp->l4.fd >= 0 || io->tcp->l6.fd >= 0 ? io->tcp->port : 0;
	for (c = io->tcp->conns; c; c = c->next) {
		st->conns++;
		st->bound += c->owner != NULL;
	}
}

void tcp_loop_started(struct transport_ctx *io)
{
	struct tcp_conn *c;

	if (!io->tcp)
		return;
	watch_listeners(io, EPOLL_CTL_ADD, !io->tcp->accept_resume_ms);
	for (c = io->tcp->conns; c; c = c->next)
		watch(c, EPOLL_CTL_ADD);
}

void tcp_close_all(struct transport_ctx *io)
{
	struct tcp_transport *t = io->tcp;

	if (!t)
		return;
	while (t->conns)
		conn_free(t->conns);
	tcp_reap(io);
	close_listeners(t);
	free(t);
	io->tcp = NULL;
}
