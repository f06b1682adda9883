/* Unit tests: reach.c, a peer whose handshakes go unanswered. The decisions
 * on their own (when to change transport, when to resolve again); then the
 * state machine of Transport = auto on two in-memory devices, a and b,
 * whose messages this test carries by hand: UDP to TCP after two
 * unanswered initiations, TCP to UDP when TCP fails too, the probe over UDP
 * whose answer brings a back; and the resolver's answers, applied or not
 * (a peer heard from since keeps its endpoint; a stale name, an error or
 * the same address change nothing), through the real thread once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apply.h"
#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "noise.h"
#include "parse.h"
#include "reach.h"
#include "receive.h"
#include "resolver.h"
#include "send.h"
#include "timers.h"

#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fixture {
	struct device a, b;
	struct peer *ab; /* a's peer b: the one under test */
	struct peer *ba; /* b's peer a */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t k[32];

	assert_non_null(f);
	assert_int_equal(crypt_init(), 0);
	noise_init();
	assert_int_equal(device_init(&f->a, "a"), 0);
	assert_int_equal(device_init(&f->b, "b"), 0);
	crypt_generate_secret(k);
	device_set_private_key(&f->a, k);
	crypt_generate_secret(k);
	device_set_private_key(&f->b, k);
	f->ab = peer_create(&f->a, f->b.local.public_key);
	f->ba = peer_create(&f->b, f->a.local.public_key);
	assert_non_null(f->ab);
	assert_non_null(f->ba);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	device_destroy(&f->a);
	device_destroy(&f->b);
	free(f);
	return 0;
}

static union conf_endpoint address(const char *text)
{
	union conf_endpoint a;

	assert_int_equal(parse_endpoint(text, strlen(text), PARSE_HOST_RESOLVE, &a, NULL), 0);
	return a;
}

static void configure(struct peer *p, enum conf_transport t, const char *endpoint, const char *name, uint16_t tcp_port)
{
	struct conf_peer cp;

	memset(&cp, 0, sizeof(cp));
	cp.flags = CONF_PEER_HAS_TRANSPORT;
	cp.transport = t;
	if (endpoint) {
		cp.flags |= CONF_PEER_HAS_ENDPOINT;
		cp.endpoint = address(endpoint);
		cp.endpoint_name = (char *)name;
	}
	if (tcp_port) {
		cp.flags |= CONF_PEER_HAS_TCP_PORT;
		cp.tcp_port = tcp_port;
	}
	assert_int_equal(reach_configure(p, &cp), 0);
}

static void assert_address(const union conf_endpoint *a, const char *want)
{
	char host[INET6_ADDRSTRLEN] = "", text[80];

	if (a->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a->in4.sin_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "%s:%u", host, ntohs(a->in4.sin_port));
	} else if (a->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a->in6.sin6_addr, host, sizeof(host));
		snprintf(text, sizeof(text), "[%s]:%u", host, ntohs(a->in6.sin6_port));
	} else {
		snprintf(text, sizeof(text), "(none)");
	}
	assert_string_equal(text, want);
}

static void assert_endpoint(const struct peer *p, enum endpoint_kind kind, const char *want)
{
	assert_int_equal(p->transport.endpoint.kind, kind);
	assert_address(&p->transport.endpoint.addr, want);
}

/* @n initiations to @p, as send_handshake_initiation() reports them. */
static void initiations(struct peer *p, int n)
{
	while (n-- > 0)
		timers_handshake_initiated(p);
}

/* The one message queued on @dev's batch, copied out; the batch emptied
 * without sending (nothing here has a socket). */
static size_t take_message(struct device *dev, uint8_t *buf, size_t size, struct endpoint *to)
{
	struct tx_batch *b = dev->txb;
	size_t len;

	assert_true(b->n >= 1);
	len = b->msgs[0].len;
	assert_true(len <= size);
	memcpy(buf, b->msgs[0].buf, len);
	*to = b->msgs[0].to;
	b->n = 0;
	b->used = 0;
	return len;
}

static void deliver(struct device *dev, uint8_t *msg, size_t len, const char *from)
{
	struct endpoint src;
	union conf_endpoint a = address(from);

	endpoint_set_udp(&src, &a);
	receive_packet(dev, msg, len, &src);
	receive_handshakes(dev, HANDSHAKES_PER_TURN);
}

static void decisions(void **state)
{
	struct peer_reach r;
	struct reach_name n;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.transport = CONF_TRANSPORT_AUTO;
	r.initiations_here = REACH_FALLBACK_AFTER;
	assert_int_equal(reach_transport_move(&r, false, true), REACH_STAY);
	r.initiations_here = REACH_FALLBACK_AFTER + 1;
	assert_int_equal(reach_transport_move(&r, false, true), REACH_TO_TCP);
	assert_int_equal(reach_transport_move(&r, false, false), REACH_STAY); /* no TCP address to dial */
	assert_int_equal(reach_transport_move(&r, true, true), REACH_STAY);   /* no UDP address to go back to */
	r.udp_to = address("192.0.2.2:1");
	assert_int_equal(reach_transport_move(&r, true, false), REACH_TO_UDP);
	r.transport = CONF_TRANSPORT_UDP;
	assert_int_equal(reach_transport_move(&r, false, true), REACH_STAY);
	r.transport = CONF_TRANSPORT_TCP;
	assert_int_equal(reach_transport_move(&r, true, true), REACH_STAY);

	memset(&n, 0, sizeof(n));
	n.next_ms = 1000;
	assert_false(reach_resolve_due(NULL, 100, 5000));
	assert_false(reach_resolve_due(&n, REACH_RESOLVE_AFTER, 5000));
	assert_true(reach_resolve_due(&n, REACH_RESOLVE_AFTER + 1, 5000));
	assert_false(reach_resolve_due(&n, REACH_RESOLVE_AFTER + 1, 999)); /* rate limit */
	n.asking = true;
	assert_false(reach_resolve_due(&n, REACH_RESOLVE_AFTER + 1, 5000));
}

static void auto_falls_back_and_returns(void **state)
{
	struct fixture *f = *state;
	struct peer *p = f->ab;
	uint64_t now;

	configure(p, CONF_TRANSPORT_AUTO, "192.0.2.2:51820", NULL, 443);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
	assert_address(&p->transport.tcp_to, "192.0.2.2:443");
	assert_true(p->transport.tcp);

	/* Two unanswered, the third leaves: it still went over UDP. A change
	 * of something else (wg set ... allowed-ips) does not reset the count. */
	initiations(p, REACH_FALLBACK_AFTER);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
	{
		struct conf_peer other = { .flags = CONF_PEER_REPLACE_ALLOWEDIPS };

		assert_int_equal(reach_configure(p, &other), 0);
	}
	p->last_sent_handshake_ms = clock_ms();
	now = clock_ms();
	initiations(p, 1);
	/* Now TCP, a connection to dial, the handshake retried at once. */
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	assert_int_equal(p->transport.endpoint.conn, 0);
	assert_int_equal(p->last_sent_handshake_ms, 0);
	assert_true(p->timer_retransmit_handshake <= clock_ms() + 1);
	assert_true(p->timer_probe_udp >= now + REACH_PROBE_INTERVAL_MS);
	assert_int_equal(p->reach.fallbacks, 1);
	assert_address(&p->reach.udp_to, "192.0.2.2:51820");

	/* Heard from: counting starts again. */
	reach_heard_from(&p->reach);
	assert_int_equal(p->reach.initiations, 0);
	initiations(p, REACH_FALLBACK_AFTER);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	/* TCP fails too: UDP again, then TCP, and so on, said once. */
	initiations(p, 1);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
	assert_int_equal(p->reach.fallbacks, 1);
	assert_false(p->reach.on_tcp);
	assert_true(p->reach.alternating);
	initiations(p, REACH_FALLBACK_AFTER + 1);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	assert_int_equal(p->reach.fallbacks, 2);
	assert_true(p->reach.on_tcp);
	reach_heard_from(&p->reach);
	assert_false(p->reach.alternating);
	initiations(p, REACH_FALLBACK_AFTER + 1);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");

	/* Transport = udp never moves. */
	configure(p, CONF_TRANSPORT_UDP, "192.0.2.2:51820", NULL, 0);
	initiations(p, 10);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
}

/* A peer that roamed on UDP is probed where it roamed to. */
static void fallback_keeps_roamed_address(void **state)
{
	struct fixture *f = *state;
	struct peer *p = f->ab;
	union conf_endpoint roamed = address("198.51.100.7:1234");

	configure(p, CONF_TRANSPORT_AUTO, "192.0.2.2:51820", NULL, 0);
	assert_address(&p->transport.tcp_to, "192.0.2.2:51820"); /* TCPPort: the Endpoint's port */
	endpoint_set_udp(&p->transport.endpoint, &roamed);
	initiations(p, REACH_FALLBACK_AFTER + 1);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:51820");
	assert_address(&p->reach.udp_to, "198.51.100.7:1234");
}

/* On TCP: an initiation over UDP, not retried, the endpoint left on TCP;
 * b answers over UDP, and a is back on UDP. */
static void probe_brings_back_udp(void **state)
{
	struct fixture *f = *state;
	struct peer *p = f->ab;
	uint8_t msg[256];
	struct endpoint to;
	size_t len;

	configure(p, CONF_TRANSPORT_AUTO, "192.0.2.2:51820", NULL, 443);
	initiations(p, REACH_FALLBACK_AFTER + 1);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	assert_true(p->reach.on_tcp);

	/* Not while a handshake is under way. */
	assert_true(p->timer_retransmit_handshake != 0);
	assert_true(reach_probe_udp(p));
	assert_int_equal(f->a.txb->n, 0);

	p->timer_retransmit_handshake = 0;
	p->last_sent_handshake_ms = 0;
	assert_true(reach_probe_udp(p));
	len = take_message(&f->a, msg, sizeof(msg), &to);
	assert_int_equal(len, sizeof(struct message_handshake_initiation));
	assert_int_equal(to.kind, ENDPOINT_UDP);
	assert_address(&to.addr, "192.0.2.2:51820");
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	assert_int_equal(p->timer_retransmit_handshake, 0); /* not retried */
	assert_int_equal(p->reach.initiations_here, 0);	    /* and not counted */

	/* b answers over UDP, where the probe came from. */
	deliver(&f->b, msg, len, "192.0.2.1:51821");
	assert_endpoint(f->ba, ENDPOINT_UDP, "192.0.2.1:51821");
	len = take_message(&f->b, msg, sizeof(msg), &to);
	assert_int_equal(len, sizeof(struct message_handshake_response));
	assert_int_equal(to.kind, ENDPOINT_UDP);
	deliver(&f->a, msg, len, "192.0.2.2:51820");
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
	assert_false(p->reach.on_tcp);
	assert_false(reach_probe_udp(p)); /* no more probes */
	f->a.txb->n = 0;
	f->a.txb->used = 0;
}

static struct resolve_job answer(const struct peer *p, const char *name, const char *addr)
{
	struct resolve_job job;

	memset(&job, 0, sizeof(job));
	memcpy(job.peer_key, p->public_key, sizeof(job.peer_key));
	snprintf(job.name, sizeof(job.name), "%s", name);
	if (addr)
		job.addr = address(addr);
	else {
		job.err = -EINVAL;
		snprintf(job.why, sizeof(job.why), "host not found");
	}
	return job;
}

/* What reach_initiation_sent() does when it asks the thread. */
static void asked(struct peer *p)
{
	p->reach.name->asking = true;
	p->reach.name->asked_epoch = p->reach.epoch;
}

static void resolved_answers(void **state)
{
	struct fixture *f = *state;
	struct peer *p = f->ab;
	struct resolve_job job;

	configure(p, CONF_TRANSPORT_UDP, "192.0.2.2:51820", "peer.example:51820", 0);
	assert_non_null(p->reach.name);
	assert_string_equal(p->reach.name->text, "peer.example:51820");

	/* Heard from between question and answer: roaming wins. */
	asked(p);
	p->reach.initiations = REACH_RESOLVE_AFTER + 1;
	reach_heard_from(&p->reach);
	job = answer(p, "peer.example:51820", "192.0.2.12:51820");
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
	assert_false(p->reach.name->asking);
	assert_int_equal(p->reach.name->moves, 0);

	/* Nothing heard: the new address, and a handshake at once. */
	asked(p);
	p->last_sent_handshake_ms = clock_ms();
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.12:51820");
	assert_int_equal(p->reach.name->moves, 1);
	assert_int_equal(p->last_sent_handshake_ms, 0);
	assert_true(p->timer_retransmit_handshake && p->timer_retransmit_handshake <= clock_ms() + 1);

	/* The same address again, or an error: nothing moves. */
	asked(p);
	reach_resolved(&f->a, &job);
	job = answer(p, "peer.example:51820", NULL);
	asked(p);
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.12:51820");
	assert_int_equal(p->reach.name->moves, 1);
	assert_int_equal(p->reach.name->resolutions, 4);

	/* Another name since, or a peer unknown: not this answer's. */
	configure(p, CONF_TRANSPORT_UDP, "192.0.2.2:51820", "other.example:51820", 0);
	asked(p);
	job = answer(p, "peer.example:51820", "192.0.2.99:51820");
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");
	assert_true(p->reach.name->asking);
	memset(job.peer_key, 0x42, sizeof(job.peer_key));
	reach_resolved(&f->a, &job);
	/* An answer nobody waits for (asked before a reconfiguration). */
	job = answer(p, "other.example:51820", "192.0.2.99:51820");
	p->reach.name->asking = false;
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_UDP, "192.0.2.2:51820");

	/* An address (as from the UAPI) drops the name. */
	configure(p, CONF_TRANSPORT_UDP, "192.0.2.3:51820", NULL, 0);
	assert_null(p->reach.name);
}

/* Over TCP the new address is dialled; auto keeps both ports. */
static void resolved_over_tcp(void **state)
{
	struct fixture *f = *state;
	struct peer *p = f->ab;
	struct resolve_job job;

	configure(p, CONF_TRANSPORT_TCP, "192.0.2.2:443", "peer.example:443", 0);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	asked(p);
	job = answer(p, "peer.example:443", "192.0.2.12:443");
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.12:443");
	assert_address(&p->transport.tcp_to, "192.0.2.12:443");
	assert_int_equal(p->transport.endpoint.conn, 0);

	configure(p, CONF_TRANSPORT_AUTO, "192.0.2.2:51820", "peer.example:51820", 443);
	initiations(p, REACH_FALLBACK_AFTER + 1);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.2:443");
	asked(p);
	job = answer(p, "peer.example:51820", "192.0.2.12:51820");
	reach_resolved(&f->a, &job);
	assert_endpoint(p, ENDPOINT_TCP, "192.0.2.12:443");
	assert_address(&p->reach.udp_to, "192.0.2.12:51820");
}

/* The whole way: unanswered initiations ask the thread, whose answer moves
 * the peer. localhost is in every /etc/hosts. */
static void asks_the_thread(void **state)
{
	struct fixture *f = *state;
	struct peer *p = f->ab;
	struct resolve_job job;
	uint64_t until;

	f->a.resolver = resolver_start(NULL);
	assert_non_null(f->a.resolver);
	configure(p, CONF_TRANSPORT_UDP, "192.0.2.2:51820", "localhost:51820", 0);
	initiations(p, REACH_RESOLVE_AFTER);
	assert_false(p->reach.name->asking);
	initiations(p, 1);
	assert_true(p->reach.name->asking);
	assert_true(p->reach.name->next_ms >= clock_ms() + REACH_RESOLVE_INTERVAL_MS - 1000);
	initiations(p, 5); /* no second question while one is out */
	until = clock_ms() + 10000;
	while (resolver_answer(f->a.resolver, &job) == 0) {
		struct pollfd pfd = { .fd = resolver_fd(f->a.resolver), .events = POLLIN };

		assert_true(clock_ms() < until);
		poll(&pfd, 1, 100);
	}
	reach_resolved(&f->a, &job);
	assert_int_equal(resolver_answer(f->a.resolver, &job), 0);
	assert_int_equal(p->transport.endpoint.kind, ENDPOINT_UDP);
	assert_true(p->transport.endpoint.addr.sa.sa_family == AF_INET ||
		    p->transport.endpoint.addr.sa.sa_family == AF_INET6);
	assert_int_equal(p->reach.name->moves, 1);
	assert_false(p->reach.name->asking);
}

int main(int argc, char **argv)
{
	/* The resolver process is this program again (/proc/self/exe). */
	if (argc > 1 && !strcmp(argv[1], RESOLVER_HELPER_COMMAND))
		return resolver_helper_main(argc - 1, argv + 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decisions),
		cmocka_unit_test_setup_teardown(auto_falls_back_and_returns, setup, teardown),
		cmocka_unit_test_setup_teardown(fallback_keeps_roamed_address, setup, teardown),
		cmocka_unit_test_setup_teardown(probe_brings_back_udp, setup, teardown),
		cmocka_unit_test_setup_teardown(resolved_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(resolved_over_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(asks_the_thread, setup, teardown),
	};

	return cmocka_run_group_tests_name("reach", tests, NULL, NULL);
}
