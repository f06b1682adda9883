/* transport.h - where a message comes from and where one goes: an endpoint.
 *
 * Every received message carries the endpoint it arrived on; a peer keeps
 * the endpoint of its latest authenticated message (roaming, whitepaper
 * section 6.5), and everything sent to the peer goes there. An endpoint is
 * a value, never a pointer: a UDP address, or a TCP connection named by a
 * handle that tcp.c resolves when something is sent. A connection that
 * closed leaves handles that resolve to nothing, so no peer, queued
 * handshake or reply can reach freed memory through one. */
#ifndef FERRY_TRANSPORT_H
#define FERRY_TRANSPORT_H

#include "conf.h"

#include <stdbool.h>
#include <stdint.h>

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
};

static inline bool endpoint_is_set(const struct endpoint *e)
{
	return e->kind != ENDPOINT_NONE;
}

static inline void endpoint_set_udp(struct endpoint *e, const union conf_endpoint *addr)
{
	e->kind = addr->sa.sa_family ? ENDPOINT_UDP : ENDPOINT_NONE;
	e->conn = 0;
	e->addr = *addr;
}

#endif
