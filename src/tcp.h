/* tcp.h - the TCP transport between ferry peers, for networks that block
 * UDP (docs/PROTOCOL.md, "TCP transport").
 *
 * The same messages as over UDP, each prefixed by its length (tcpframe.c).
 * A peer with Transport = tcp and an Endpoint is connected to (the Endpoint
 * names its ListenTCP port), with exponential backoff between attempts; a
 * device with ListenTCP accepts connections. A received message carries the
 * connection's handle in its endpoint (transport.h); a connection is bound
 * to the peer whose message last authenticated on it, and a peer's replies
 * go to the connection its latest authenticated message came on, as UDP
 * roaming does. No one but this file holds a pointer to a connection.
 *
 * Limits, so that nobody can lock peers out or run the daemon out of file
 * descriptors (docs/SECURITY.md):
 * - at most TCP_MAX_UNBOUND connections that authenticated nothing, at most
 *   TCP_MAX_UNBOUND_PER_SOURCE of them from one address (IPv6: one /64);
 *   when the table is full the oldest unbound one makes room;
 * - an unbound connection gets TCP_UNBOUND_TIMEOUT_MS from its birth,
 *   whatever it sends;
 * - at most TCP_MAX_PER_PEER connections per peer (the least recently
 *   authenticated goes); one that is not its peer's endpoint any more
 *   closes TCP_UNBOUND_TIMEOUT_MS after its last authenticated message, any
 *   other after TCP_IDLE_TIMEOUT_MS: junk on a connection keeps nothing
 *   alive;
 * - at most TCP_MAX_CONNS connections in all (fewer if the file descriptor
 *   limit is low); when accept() fails for want of descriptors or memory,
 *   accepting pauses for a second instead of spinning.
 *
 * Everything runs on the event loop thread. */
#ifndef FERRY_TCP_H
#define FERRY_TCP_H

#include "conf.h"
#include "tcpframe.h"
#include "transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TCP_MAX_CONNS		   1024
#define TCP_MAX_UNBOUND		   64
#define TCP_MAX_UNBOUND_PER_SOURCE 4
#define TCP_MAX_PER_PEER	   4
#define TCP_UNBOUND_TIMEOUT_MS	   10000
#define TCP_IDLE_TIMEOUT_MS	   300000
#define TCP_ACCEPT_PAUSE_MS	   1000
/* The most messages one write gathers. */
#define TCP_SEND_MAX 256
/* The largest MTU the TCP transport carries (jumbo frames): the longest
 * message is fixed by it, whatever each side's MTU. */
#define TCP_MAX_MTU 9216

struct tcp_stats {
	uint16_t port; /* ListenTCP, 0: none */
	unsigned int conns, bound;
};

/* Control path: listen on @port (IPv4 and IPv6); 0 or a negative errno. */
int tcp_listen(struct transport_ctx *io, uint16_t port);
/* Send @n messages to TCP endpoints, each on its connection; those for one
 * connection that follow each other in one write. A peer with Transport =
 * tcp whose connection is gone gets a new one (its backoff permitting),
 * which its endpoint names from then on. A message that cannot be sent (no
 * connection, queue full) is counted as a send error. */
void tcp_send(struct transport_ctx *io, struct tx_msg *m, int n);
/* A message that came in on @ep authenticated as @p: bind the connection
 * to @p. Returns false if the connection has closed since (then @ep must
 * not become @p's endpoint). */
bool tcp_authenticated(struct transport_ctx *io, const struct endpoint *ep, struct transport_peer *p);
/* @p goes: close the connections bound to it. */
void tcp_peer_removed(struct transport_ctx *io, struct transport_peer *p);
/* Once a second: close idle and unbound connections, resume accepting. */
void tcp_expire(struct transport_ctx *io, uint64_t now_ms);
/* Are there connections or listeners (the loop must tick for tcp_expire)? */
bool tcp_active(const struct transport_ctx *io);
void tcp_stats(const struct transport_ctx *io, struct tcp_stats *st);
void tcp_close_all(struct transport_ctx *io);
/* After each turn of the event loop: free the connections closed in it. */
void tcp_reap(struct transport_ctx *io);
/* The event loop exists now: watch what was opened before it. */
void tcp_loop_started(struct transport_ctx *io);

#endif
