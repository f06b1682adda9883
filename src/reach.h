/* reach.h - reaching a peer whose handshakes go unanswered (issue 12):
 *
 * - an Endpoint given by host name in a config file is resolved again
 *   (resolver.h), so that a peer that moved to a new address is found
 *   there, as wireguard-tools' reresolve-dns.sh does from outside;
 * - with Transport = auto, the peer is tried over TCP (its TCPPort) when
 *   handshakes over UDP go unanswered, and UDP is probed now and then
 *   until it works again.
 *
 * Both are decided from the handshake initiations sent since the peer was
 * last heard from (any authenticated message). The timers see the
 * initiations leave (timers_handshake_initiated), the receive path reports
 * the peer heard from (timers_any_authenticated_packet_received), and the
 * transport follows the peer's latest authenticated message as ever
 * (transport.h): an answer over UDP puts the peer back on UDP, one over TCP
 * keeps it there. Everything here runs on the event loop thread. */
#ifndef FERRY_REACH_H
#define FERRY_REACH_H

#include "conf.h"

#include <stdbool.h>
#include <stdint.h>

struct device;
struct peer;
struct resolve_job;

/* Transport = auto: TCP is tried when this many initiations in a row went
 * unanswered over UDP (some 25 s after a path stops carrying UDP: 15 s of
 * data without an answer before the first initiation, then two of 5 s).
 * After as many unanswered over TCP, UDP is tried again. */
#define REACH_FALLBACK_AFTER 2
/* While on TCP with a working session: a handshake initiation over UDP this
 * often; an answer over UDP brings the peer back to UDP. */
#define REACH_PROBE_INTERVAL_MS 30000
/* An Endpoint's name is resolved again once this many initiations went
 * unanswered (wireguard-tools' script waits for a handshake 135 s old),
 * then at most once per REACH_RESOLVE_INTERVAL_MS while they still go
 * unanswered. */
#define REACH_RESOLVE_AFTER	  3
#define REACH_RESOLVE_INTERVAL_MS 15000

/* An Endpoint given by host name (config files only; wg's UAPI sends
 * addresses). Allocated with the peer's name, only for such peers. */
struct reach_name {
	uint64_t next_ms;     /* no resolution before this */
	uint32_t asked_epoch; /* the peer's epoch when the thread was asked */
	bool asking;	      /* an answer is awaited */
	bool failing;	      /* the last answer was an error (said once) */
	unsigned int resolutions, moves;
	char text[]; /* "host:port", as written */
};

struct peer_reach {
	enum conf_transport transport; /* Transport = udp | tcp | auto */
	uint16_t tcp_port;	       /* auto: the peer's TCP port; 0: the Endpoint's */
	/* Initiations sent since the peer was last heard from, and of those
	 * the ones sent since the transport last changed. */
	unsigned int initiations, initiations_here;
	/* Changes whenever the peer is heard from after an initiation, or is
	 * reconfigured: an answer of the resolver asked before is stale. */
	uint32_t epoch;
	union conf_endpoint udp_to; /* auto: the peer's UDP address, for probes and the way back */
	bool on_tcp;		    /* auto: fell back, not yet seen back on UDP */
	bool probing;		    /* the initiation being sent is a UDP probe */
	bool alternating;	    /* both transports failed since last heard from: log quietly */
	unsigned int fallbacks;
	struct reach_name *name;
};

/* The peer was heard from (an authenticated message): called for each one,
 * so it is cheap. */
static inline void reach_heard_from(struct peer_reach *r)
{
	if (r->initiations) {
		r->initiations = r->initiations_here = 0;
		r->alternating = false;
		r->epoch++;
	}
}

/* Configuration (control path): Transport, TCPPort, Endpoint and its name
 * from @cp. 0 or -ENOMEM. */
int reach_configure(struct peer *p, const struct conf_peer *cp);
void reach_peer_removed(struct peer *p);
/* Does any peer of @dev have an Endpoint name (is a resolver needed)? */
bool reach_wants_resolver(const struct device *dev);

/* Events (timers.c): an initiation to @p has just been queued; a handshake
 * with @p completed. */
void reach_initiation_sent(struct peer *p);
void reach_handshake_complete(struct peer *p);
/* The UDP probe timer of @p expired: probe if still on TCP. Returns
 * whether to go on probing. */
bool reach_probe_udp(struct peer *p);

/* The resolver's answer to a job (device.c). */
void reach_resolved(struct device *dev, const struct resolve_job *job);

/* The decisions, on their own (unit tests). */
enum reach_move { REACH_STAY, REACH_TO_TCP, REACH_TO_UDP };
enum reach_move reach_transport_move(const struct peer_reach *r, bool on_tcp_now, bool can_dial);
bool reach_resolve_due(const struct reach_name *n, unsigned int initiations, uint64_t now_ms);

/* One line for ferry show: transport and name, "" when there is nothing
 * to say (a peer over UDP at an address). */
void reach_describe(const struct peer *p, char *buf, size_t size);

#endif
