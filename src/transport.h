/* transport.h - where a message comes from and where one goes (an
 * endpoint), and the small interface that udp.c and tcp.c both implement:
 * send a batch of messages to their endpoints, and hand received messages
 * over with the endpoint each came from.
 *
 * Every received message carries the endpoint it arrived on; a peer keeps
 * the endpoint of its latest authenticated message (roaming, whitepaper
 * section 6.5), and everything sent to the peer goes there. An endpoint is
 * a value, never a pointer: a UDP address, or a TCP connection named by a
 * handle that tcp.c resolves when something is sent. A connection that
 * closed leaves handles that resolve to nothing, so no peer, queued
 * handshake or reply can reach freed memory through one.
 *
 * The transports know nothing of devices and peers beyond this file: an
 * interface is a struct transport_ctx, a peer a struct transport_peer. */
#ifndef FERRY_TRANSPORT_H
#define FERRY_TRANSPORT_H

#include "conf.h"
#include "drops.h"
#include "tcpframe.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct device;
struct tcp_transport;

enum endpoint_kind {
	ENDPOINT_NONE, /* not known yet: nothing can be sent */
	ENDPOINT_UDP,
	ENDPOINT_TCP,
};

struct endpoint {
	enum endpoint_kind kind;
	/* ENDPOINT_TCP: the connection's handle (tcp.c), 0 while there is
	 * none (Transport = tcp before the first connection). Never reused. */
	uint64_t conn;
	/* UDP: the peer's address and port. TCP: the remote end of the
	 * connection, as `wg show` prints it. */
	union conf_endpoint addr;
	/* UDP: our address the peer's latest message came to, and the
	 * interface it came in on, so that replies leave from that address
	 * (a multi-homed host behind NAT or a firewall must not answer from
	 * another one). src_family 0: the routing decision chooses. */
	sa_family_t src_family;
	uint32_t src_ifindex;
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} src;
	/* IPv4, as the kernel's WireGuard does: the source is used only while
	 * the route to the peer (from that source) leaves by the interface the
	 * peer's messages come in on; src_off_route says it does not, and
	 * the routing decision chooses. Checked again when the routes change
	 * (src_route_gen against the device's count of route changes; 0:
	 * never checked) by device_check_source(). */
	uint32_t src_route_gen;
	bool src_off_route;
};

static inline bool endpoint_is_set(const struct endpoint *e)
{
	return e->kind != ENDPOINT_NONE;
}

static inline void endpoint_set_udp(struct endpoint *e, const union conf_endpoint *addr)
{
	memset(e, 0, sizeof(*e));
	e->kind = addr->sa.sa_family ? ENDPOINT_UDP : ENDPOINT_NONE;
	e->addr = *addr;
}

/* What the transports keep of a peer (embedded in struct peer). */
struct transport_peer {
	struct endpoint endpoint; /* of its latest authenticated message, or configured */
	/* Transport = tcp: connect to tcp_to (its ListenTCP) when there is
	 * something to send and no connection, with backoff between tries. */
	bool tcp;
	union conf_endpoint tcp_to;
	struct tcp_backoff backoff;
	uint64_t retry_ms; /* no attempt before this */
	uint64_t tx_bytes; /* handed to its transport */
};

/* One interface as the transports see it. */
struct transport_ctx {
	const char *name; /* for log lines */
	int epfd;	  /* the event loop, -1 before it exists */
	uint32_t fwmark;  /* SO_MARK of the sockets */
	uint64_t *drops;  /* the interface's counters, by enum drop_reason */
	/* Where received messages go (receive.c), with @dev handed back. */
	const struct transport_receiver *receiver;
	struct device *dev;
	struct tcp_transport *tcp; /* tcp.c: ListenTCP and connections (NULL: none yet) */
};

static inline void transport_count_drop(struct transport_ctx *io, enum drop_reason why)
{
	io->drops[why]++;
}

/* One message to send, or for UDP a run of messages of @seg bytes each
 * laid out back to back (the last may be shorter), sent as one GSO
 * datagram train. The buffer belongs to the sender (send.c's arena) until
 * the batch is flushed. */
struct tx_msg {
	struct transport_peer *peer; /* NULL for a cookie reply; else where it counts, and over TCP its connection */
	struct endpoint to;
	uint8_t *buf;
	size_t len;
	uint16_t seg; /* 0: a single message */
};

/* How a transport hands received messages over (receive.c): each message,
 * in a buffer the receiver may change (decrypt in place) and keep pointing
 * into until batch_done; then batch_done, before the transport reuses the
 * buffers of the batch. */
struct transport_receiver {
	void (*message)(struct device *dev, uint8_t *msg, size_t len, const struct endpoint *from);
	void (*batch_done)(struct device *dev);
	/* A message to @to met a path (or interface) taking at most @mtu bytes. */
	void (*path_mtu)(struct device *dev, const union conf_endpoint *to, unsigned int mtu);
};

#endif
