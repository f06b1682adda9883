/* reach.c - a peer whose handshakes go unanswered: its name resolved again,
 * TCP instead of UDP (reach.h).
 *
 * Where a peer is sent to is its endpoint (transport.h), as ever; this file
 * only changes it at three moments, each after handshake initiations went
 * unanswered or on an explicit answer:
 *   - Transport = auto, on UDP: the endpoint becomes a TCP connection to be
 *     dialled to the peer's TCP port, and the handshake is retried at once;
 *     on TCP, when that fails too: UDP again;
 *   - while on TCP: every REACH_PROBE_INTERVAL_MS an initiation goes over
 *     UDP (not retried if lost); the peer answers over UDP if it can, and
 *     the receive path moves the endpoint back to UDP, as it would for any
 *     authenticated message;
 *   - the resolver's answer for an Endpoint name: applied only if nothing
 *     was heard from the peer since the question (a peer that roamed, or
 *     answered after all, keeps the endpoint its messages gave it) and the
 *     peer still has that name. */
#include "reach.h"

#include "clock.h"
#include "device.h"
#include "encoding.h"
#include "log.h"
#include "peer.h"
#include "resolver.h"
#include "send.h"
#include "tcpframe.h"
#include "timers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- the decisions ------------------------------------------------------- */

/* Called right after an initiation was queued: initiations_here counts it,
 * so more than REACH_FALLBACK_AFTER means that many before it went
 * unanswered (they leave at most one per REKEY_TIMEOUT). */
enum reach_move reach_transport_move(const struct peer_reach *r, bool on_tcp_now, bool can_dial)
{
	if (r->transport != CONF_TRANSPORT_AUTO || r->initiations_here <= REACH_FALLBACK_AFTER)
		return REACH_STAY;
	if (!on_tcp_now)
		return can_dial ? REACH_TO_TCP : REACH_STAY;
	return r->udp_to.sa.sa_family ? REACH_TO_UDP : REACH_STAY;
}

bool reach_resolve_due(const struct reach_name *n, unsigned int initiations, uint64_t now_ms)
{
	return n && !n->asking && initiations > REACH_RESOLVE_AFTER && now_ms >= n->next_ms;
}

/* --- addresses ----------------------------------------------------------- */

static uint16_t port_of(const union conf_endpoint *a)
{
	return ntohs(a->sa.sa_family == AF_INET6 ? a->in6.sin6_port : a->in4.sin_port);
}

static void set_port(union conf_endpoint *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
	else
		a->in4.sin_port = htons(port);
}

static bool same_address(const union conf_endpoint *a, const union conf_endpoint *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr && a->in4.sin_port == b->in4.sin_port;
	if (a->sa.sa_family == AF_INET6)
		return !memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr)) &&
		       a->in6.sin6_port == b->in6.sin6_port && a->in6.sin6_scope_id == b->in6.sin6_scope_id;
	return true;
}

static const char *format_address(const union conf_endpoint *a, char *buf, size_t size)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(buf, size, "[%s]:%u", host, port_of(a));
	} else if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(buf, size, "%s:%u", host, port_of(a));
	} else {
		snprintf(buf, size, "(none)");
	}
	return buf;
}

/* For log lines: the peer's public key, as wg shows it. */
static const char *peer_name(const struct peer *p, char buf[KEY_B64_LEN])
{
	key_to_base64(buf, p->public_key);
	return buf;
}

/* --- where the peer is sent ---------------------------------------------- */

/* A TCP endpoint to dial now: the next message opens a connection. */
static void dial_tcp(struct transport_peer *t)
{
	t->endpoint = (struct endpoint){ .kind = ENDPOINT_TCP, .addr = t->tcp_to };
	tcp_backoff_reset(&t->backoff);
	t->retry_ms = 0;
}

/* The peer is at @addr: its Endpoint (@configured), or its name resolved
 * again. With Transport = auto the address serves both ways, UDP at its
 * port and TCP at TCPPort; a configuration starts on UDP, a peer fallen
 * back to TCP stays there when its name gives a new address. */
static void set_destination(struct peer *p, const union conf_endpoint *addr, bool configured)
{
	struct transport_peer *t = &p->transport;
	struct peer_reach *r = &p->reach;

	switch (r->transport) {
	case CONF_TRANSPORT_UDP:
		endpoint_set_udp(&t->endpoint, addr);
		return;
	case CONF_TRANSPORT_TCP:
		t->tcp_to = *addr;
		break;
	case CONF_TRANSPORT_AUTO:
		r->udp_to = *addr;
		t->tcp_to = *addr;
		if (r->tcp_port)
			set_port(&t->tcp_to, r->tcp_port);
		if (configured || t->endpoint.kind != ENDPOINT_TCP) {
			endpoint_set_udp(&t->endpoint, addr);
			return;
		}
		break;
	}
	dial_tcp(t);
}

/* Where the peer is looked for now (its UDP address where it has one), to
 * compare with a new address. */
static const union conf_endpoint *destination(const struct peer *p)
{
	if (p->reach.transport == CONF_TRANSPORT_TCP)
		return &p->transport.tcp_to;
	if (p->transport.endpoint.kind == ENDPOINT_TCP)
		return &p->reach.udp_to;
	return &p->transport.endpoint.addr;
}

/* The handshake again, at once, after the way to the peer changed. */
static void retry_handshake_now(struct peer *p)
{
	p->last_sent_handshake_ms = 0;
	timers_retry_handshake_now(p);
}

/* --- configuration ------------------------------------------------------- */

static int set_name(struct peer *p, const char *text)
{
	struct reach_name *n = NULL;

	if (text) {
		size_t len = strlen(text);

		n = calloc(1, sizeof(*n) + len + 1);
		if (!n)
			return -ENOMEM;
		memcpy(n->text, text, len + 1);
	}
	free(p->reach.name);
	p->reach.name = n;
	return 0;
}

int reach_configure(struct peer *p, const struct conf_peer *cp)
{
	struct peer_reach *r = &p->reach;

	if (cp->flags & CONF_PEER_HAS_TRANSPORT) {
		r->transport = cp->transport;
		/* May dial the peer when its endpoint is a TCP one. */
		p->transport.tcp = cp->transport != CONF_TRANSPORT_UDP;
		r->on_tcp = false;
	}
	if (cp->flags & CONF_PEER_HAS_TCP_PORT)
		r->tcp_port = cp->tcp_port;
	if (cp->flags & CONF_PEER_HAS_ENDPOINT) {
		/* An address from the UAPI drops the name: it was said where
		 * the peer is. */
		if (set_name(p, cp->endpoint_name) < 0)
			return -ENOMEM;
		set_destination(p, &cp->endpoint, true);
		r->on_tcp = false;
	}
	/* Anything asked before answers for the old configuration. */
	if (cp->flags & (CONF_PEER_HAS_TRANSPORT | CONF_PEER_HAS_TCP_PORT | CONF_PEER_HAS_ENDPOINT)) {
		r->epoch++;
		r->initiations = r->initiations_here = 0;
	}
	return 0;
}

void reach_peer_removed(struct peer *p)
{
	free(p->reach.name);
	p->reach.name = NULL;
}

bool reach_wants_resolver(const struct device *dev)
{
	const struct peer *p;

	for (p = dev->peers_head; p; p = p->list_next)
		if (p->reach.name)
			return true;
	return false;
}

/* --- events -------------------------------------------------------------- */

static void fall_back_to_tcp(struct peer *p)
{
	struct transport_peer *t = &p->transport;
	struct peer_reach *r = &p->reach;
	char key[KEY_B64_LEN], to[64];

	if (t->endpoint.kind == ENDPOINT_UDP)
		r->udp_to = t->endpoint.addr; /* where it was (it may have roamed): probed later */
	dial_tcp(t);
	r->initiations_here = 0;
	r->fallbacks++;
	/* Both ways tried once already: a peer that is simply gone would
	 * fill the log every 10 s. */
	log_msg(r->alternating ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
		"%s: peer %s: %d handshake initiations over UDP unanswered; trying TCP to %s", p->dev->name,
		peer_name(p, key), REACH_FALLBACK_AFTER, format_address(&t->tcp_to, to, sizeof(to)));
	if (!r->on_tcp) {
		r->on_tcp = true;
		timers_fell_back_to_tcp(p);
	}
	retry_handshake_now(p);
}

static void back_to_udp(struct peer *p)
{
	struct peer_reach *r = &p->reach;
	char key[KEY_B64_LEN], to[64];

	endpoint_set_udp(&p->transport.endpoint, &r->udp_to);
	r->initiations_here = 0;
	r->on_tcp = false; /* trying, not working: no "back on UDP" */
	log_msg(r->alternating ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO,
		"%s: peer %s: no answer over TCP either; trying UDP to %s again", p->dev->name, peer_name(p, key),
		format_address(&r->udp_to, to, sizeof(to)));
	r->alternating = true;
	retry_handshake_now(p);
}

static void ask_resolver(struct peer *p, uint64_t now)
{
	struct reach_name *n = p->reach.name;
	struct resolver *res = p->dev->resolver;
	char key[KEY_B64_LEN];

	if (!res)
		return;
	if (resolver_ask(res, p->public_key, n->text) < 0)
		return; /* the thread has enough to do: next time */
	n->asking = true;
	n->asked_epoch = p->reach.epoch;
	n->next_ms = now + REACH_RESOLVE_INTERVAL_MS;
	log_debug("%s: peer %s: %u handshake initiations unanswered; resolving %s again", p->dev->name,
		  peer_name(p, key), p->reach.initiations - 1, n->text);
}

void reach_initiation_sent(struct peer *p)
{
	struct peer_reach *r = &p->reach;
	uint64_t now = clock_ms();

	/* A probe counts for nothing: the session over TCP goes on. */
	if (r->probing)
		return;
	r->initiations++;
	r->initiations_here++;
	if (reach_resolve_due(r->name, r->initiations, now))
		ask_resolver(p, now);
	switch (reach_transport_move(r, p->transport.endpoint.kind == ENDPOINT_TCP,
				     p->transport.tcp_to.sa.sa_family != 0)) {
	case REACH_TO_TCP:
		fall_back_to_tcp(p);
		break;
	case REACH_TO_UDP:
		back_to_udp(p);
		break;
	case REACH_STAY:
		break;
	}
}

void reach_handshake_complete(struct peer *p)
{
	struct peer_reach *r = &p->reach;
	char key[KEY_B64_LEN];

	if (r->on_tcp && p->transport.endpoint.kind == ENDPOINT_UDP) {
		r->on_tcp = false;
		log_info("%s: peer %s: UDP works again; back on UDP", p->dev->name, peer_name(p, key));
	}
}

bool reach_probe_udp(struct peer *p)
{
	struct transport_peer *t = &p->transport;
	struct peer_reach *r = &p->reach;
	struct endpoint keep;

	if (r->transport != CONF_TRANSPORT_AUTO || !r->udp_to.sa.sa_family)
		return false;
	if (t->endpoint.kind != ENDPOINT_TCP) {
		reach_handshake_complete(p); /* back on UDP: says so once */
		return false;
	}
	/* A handshake under way (or one just sent) goes first; next time. */
	if (p->timer_retransmit_handshake || clock_ms() - p->last_sent_handshake_ms < REKEY_TIMEOUT_S * 1000ULL)
		return true;
	/* One initiation to the UDP address, the endpoint otherwise left as
	 * it is: the peer answers over UDP only if UDP goes through both ways,
	 * and its answer moves the endpoint (receive.c). */
	keep = t->endpoint;
	endpoint_set_udp(&t->endpoint, &r->udp_to);
	r->probing = true;
	send_handshake_initiation(p, false);
	r->probing = false;
	t->endpoint = keep;
	return true;
}

/* --- the resolver's answers ---------------------------------------------- */

void reach_resolved(struct device *dev, const struct resolve_job *job)
{
	struct peer *p = peer_lookup(&dev->local, job->peer_key);
	char key[KEY_B64_LEN], was[64], now[64];
	struct reach_name *n;

	/* Removed since, or its Endpoint changed: not our answer any more. */
	if (!p || !(n = p->reach.name) || !n->asking || strcmp(n->text, job->name))
		return;
	n->asking = false;
	n->resolutions++;
	if (job->err) {
		/* Said once while the name does not resolve, not every 15 s. */
		log_msg(n->failing ? LOG_LEVEL_DEBUG : LOG_LEVEL_WARN, "%s: peer %s: cannot resolve %s again: %s",
			dev->name, peer_name(p, key), n->text, job->why[0] ? job->why : "error");
		n->failing = true;
		return;
	}
	n->failing = false;
	/* Heard from since the question: where its messages come from is
	 * better than any name (roaming, whitepaper section 6.5). */
	if (n->asked_epoch != p->reach.epoch)
		return;
	if (same_address(destination(p), &job->addr))
		return;
	format_address(destination(p), was, sizeof(was));
	set_destination(p, &job->addr, false);
	n->moves++;
	log_info("%s: peer %s: %s is %s now (was %s)", dev->name, peer_name(p, key), n->text,
		 format_address(&job->addr, now, sizeof(now)), was);
	retry_handshake_now(p);
}

/* --- ferry show ---------------------------------------------------------- */

void reach_describe(const struct peer *p, char *buf, size_t size)
{
	static const char *const names[] = { "udp", "tcp", "auto" };
	const struct peer_reach *r = &p->reach;
	size_t len = 0;

	buf[0] = '\0';
	if (r->transport == CONF_TRANSPORT_AUTO)
		len = (size_t)snprintf(buf, size, "transport auto, now %s (fell back to tcp %u time%s)",
				       p->transport.endpoint.kind == ENDPOINT_TCP ? "tcp" : "udp", r->fallbacks,
				       r->fallbacks == 1 ? "" : "s");
	else if (r->transport != CONF_TRANSPORT_UDP)
		len = (size_t)snprintf(buf, size, "transport %s", names[r->transport]);
	if (r->name && len < size)
		snprintf(buf + len, size - len, "%sendpoint name %s (resolved again %u time%s, moved %u)",
			 len ? ", " : "", r->name->text, r->name->resolutions, r->name->resolutions == 1 ? "" : "s",
			 r->name->moves);
}
