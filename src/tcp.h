/* tcp.h - the TCP transport between ferry peers, for networks that block
 * UDP (docs/PROTOCOL.md, "TCP transport").
 *
 * The same messages as over UDP, each prefixed by its length (tcpframe.c),
 * on one connection per peer. A peer with Transport = tcp and an Endpoint is
 * connected to (the Endpoint names its ListenTCP port), with exponential
 * backoff between attempts; a device with ListenTCP accepts connections and
 * learns which peer one belongs to from the first message on it that
 * authenticates, as UDP roaming does. While a peer has a connection, every
 * message to it goes there.
 *
 * Everything runs on the event loop thread. */
#ifndef FERRY_TCP_H
#define FERRY_TCP_H

#include "conf.h"
#include "tcpframe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct device;
struct peer;

struct tcp_conn {
	int fd;
	struct device *dev;
	struct peer *peer; /* bound once a message on it authenticated */
	bool connecting;   /* outbound, connect() in progress */
	bool outbound;
	bool watch_out; /* EPOLLOUT requested */
	bool broken;	/* a send failed while a message on it was delivered: close after the read */
	union conf_endpoint remote;
	uint64_t last_rx_ms, born_ms;
	struct tcpframe_rx rx;
	struct tcpframe_tx tx;
	struct tcp_conn *next;
};

/* At most this many connections not yet bound to a peer; an unbound one is
 * closed after TCP_UNBOUND_TIMEOUT_MS, a bound one after
 * TCP_IDLE_TIMEOUT_MS without a message (peers keep theirs alive with
 * handshakes and keepalives). */
#define TCP_MAX_UNBOUND	       64
#define TCP_UNBOUND_TIMEOUT_MS 10000
#define TCP_IDLE_TIMEOUT_MS    300000
/* The largest MTU the TCP transport carries (jumbo frames): the longest
 * message is fixed by it, whatever each side's MTU. */
#define TCP_MAX_MTU 9216

/* Listen on @port (IPv4 and IPv6); 0 or a negative errno. */
int tcp_listen(struct device *dev, uint16_t port);
/* Is @fd one of the device's TCP sockets? Then handle its events. */
bool tcp_handle_event(struct device *dev, int fd, uint32_t events);
/* Send one message to @p over its connection, connecting first if it has
 * none (its backoff permitting). Returns 0 or a negative errno (dropped). */
int tcp_send(struct peer *p, const void *msg, size_t len);
/* The same for @n messages at once (one sendmsg). Returns how many were
 * dropped, or a negative errno (all dropped). */
int tcp_sendv(struct peer *p, const struct iovec *msgs, size_t n);
/* Send on the connection the message being received came in on (a cookie
 * reply to an unbound connection). */
int tcp_reply(struct device *dev, const void *msg, size_t len);
/* The message being received came on a TCP connection: bind it to @p. */
void tcp_bind_peer(struct device *dev, struct peer *p);
/* Does @p talk over TCP (configured so, or it has a connection)? */
bool tcp_peer_uses_tcp(const struct peer *p);
/* @p goes: close its connection. */
void tcp_peer_removed(struct peer *p);
/* Once a second: close idle and unbound connections. */
void tcp_expire(struct device *dev, uint64_t now_ms);
void tcp_close_all(struct device *dev);
/* The event loop exists now: watch what was opened before it. */
void tcp_loop_started(struct device *dev);

#endif
