/* Unit tests: the handshake rate limiter, as the WireGuard module's
 * ratelimiter selftest but with time passed in, so every step is exact: the
 * burst and refill schedule, what counts as one source, collisions in one
 * chain, a full table and its garbage collection, and random traffic
 * against a naive reference (a linear array with the documented rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratelimiter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define SEC	  1000000000ULL
#define PPS	  20
#define BURST	  5
#define COST	  (SEC / PPS)
#define TOKEN_MAX (COST * BURST)
#define T0	  (1000 * SEC) /* any start; the limiter knows no epoch */

union addr {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

static union addr v4(uint32_t host, uint16_t port)
{
	union addr a;

	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(host);
	a.in4.sin_port = htons(port);
	return a;
}

/* An IPv6 address from its /64 prefix and interface identifier. */
static union addr v6(uint64_t prefix, uint64_t iid, uint16_t port)
{
	union addr a;
	int i;

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	for (i = 0; i < 8; i++) {
		a.in6.sin6_addr.s6_addr[i] = (uint8_t)(prefix >> (56 - 8 * i));
		a.in6.sin6_addr.s6_addr[8 + i] = (uint8_t)(iid >> (56 - 8 * i));
	}
	a.in6.sin6_port = htons(port);
	return a;
}

static unsigned count_allowed(struct ratelimiter *rl, const union addr *a, unsigned tries, uint64_t now)
{
	unsigned n = 0;

	while (tries--)
		n += ratelimiter_allow(rl, &a->sa, now);
	return n;
}

/* The module selftest's expected_results: a burst, then one handshake per
 * PACKET_COST of waiting. Each step also checks that another source, fresh
 * at that moment, is allowed: one source's limit is not anyone else's. */
static const struct {
	bool result;
	uint64_t ns_before;
} schedule[] = {
	{ true, 0 },	     /* a new source: the first of a burst of 5 */
	{ true, 0 },	     /* 2 */
	{ true, 0 },	     /* 3 */
	{ true, 0 },	     /* 4 */
	{ true, 0 },	     /* 5 */
	{ false, 0 },	     /* the burst is spent */
	{ true, COST },	     /* one refill */
	{ false, 0 },	     /* and no more */
	{ true, 2 * COST },  /* two refills */
	{ true, 0 },	     /* the second */
	{ false, 0 },	     /* empty again */
	{ false, COST - 1 }, /* one nanosecond short of a token */
	{ true, 1 },	     /* exactly a token */
	{ false, 0 },	     /* empty */
	{ true, 10 * SEC },  /* a long wait refills the burst, no more: */
	{ true, 0 },	     /* 2 */
	{ true, 0 },	     /* 3 */
	{ true, 0 },	     /* 4 */
	{ true, 0 },	     /* 5 */
	{ false, 0 },	     /* spent */
};

static void run_schedule(struct ratelimiter *rl, const union addr *src, union addr (*other)(unsigned i))
{
	uint64_t now = T0;
	unsigned i;

	for (i = 0; i < sizeof(schedule) / sizeof(schedule[0]); i++) {
		union addr o = other(i);

		now += schedule[i].ns_before;
		if (ratelimiter_allow(rl, &src->sa, now) != schedule[i].result)
			fail_msg("step %u: expected %s", i, schedule[i].result ? "allow" : "refuse");
		assert_true(ratelimiter_allow(rl, &o.sa, now));
	}
	/* A clock that goes backwards gives nothing back. */
	assert_false(ratelimiter_allow(rl, &src->sa, now - SEC));
	assert_false(ratelimiter_allow(rl, &src->sa, now));
}

static union addr other_v4(unsigned i)
{
	return v4(0xc0000200 + 10 + i, 51820); /* 192.0.2.10 + i */
}

static union addr other_v6(unsigned i)
{
	return v6(0x20010db800010000ULL + 1 + i, 1, 51820);
}

static void burst_then_refill(void **state)
{
	struct ratelimiter *rl = ratelimiter_new();
	union addr a4 = v4(0xc0000201, 51820);			  /* 192.0.2.1 */
	union addr a6 = v6(0x20010db800010000ULL, 0x1234, 51820); /* 2001:db8:1::1234 */

	(void)state;
	assert_non_null(rl);
	run_schedule(rl, &a4, other_v4);
	run_schedule(rl, &a6, other_v6);
	ratelimiter_free(rl);
}

/* A source is an IPv4 address or an IPv6 /64, never a port. */
static void what_a_source_is(void **state)
{
	struct ratelimiter *rl = ratelimiter_new();
	union addr a, b, m, u;
	unsigned i;

	(void)state;
	assert_non_null(rl);

	/* Two IPv4 addresses: independent. Ports: ignored. */
	a = v4(0xc6336401, 1); /* 198.51.100.1 */
	assert_int_equal(count_allowed(rl, &a, 10, T0), BURST);
	for (i = 0; i < 100; i++) {
		a = v4(0xc6336401, (uint16_t)(1000 + i));
		assert_false(ratelimiter_allow(rl, &a.sa, T0));
	}
	b = v4(0xc6336402, 1);
	assert_int_equal(count_allowed(rl, &b, 10, T0), BURST);

	/* The IPv4-mapped form of 198.51.100.1 is 198.51.100.1. */
	memset(&m, 0, sizeof(m));
	m.in6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.1", &m.in6.sin6_addr), 1);
	assert_false(ratelimiter_allow(rl, &m.sa, T0));
	/* ... while another mapped address is its own source, not the mapped /64's. */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.3", &m.in6.sin6_addr), 1);
	assert_int_equal(count_allowed(rl, &m, 10, T0), BURST);

	/* IPv6: the whole /64 is one source, whatever the host part and port. */
	a = v6(0x20010db8aaaa0001ULL, 1, 1);
	assert_int_equal(count_allowed(rl, &a, 10, T0), BURST);
	for (i = 0; i < 100; i++) {
		a = v6(0x20010db8aaaa0001ULL, 0x9e3779b97f4a7c15ULL * (i + 2), (uint16_t)i);
		assert_false(ratelimiter_allow(rl, &a.sa, T0));
	}
	/* The next /64 and the one that differs in the first bit are others. */
	b = v6(0x20010db8aaaa0002ULL, 1, 1);
	assert_int_equal(count_allowed(rl, &b, 10, T0), BURST);
	b = v6(0xa0010db8aaaa0001ULL, 1, 1);
	assert_int_equal(count_allowed(rl, &b, 10, T0), BURST);

	ratelimiter_free(rl);

	/* In one chain, with room for two: an IPv6 /64 whose bytes begin like
	 * an IPv4 address is not that address, and other families are refused
	 * without taking an entry. */
	rl = ratelimiter_new_sized(1, 2);
	assert_non_null(rl);
	memset(&u, 0, sizeof(u));
	u.un.sun_family = AF_UNIX;
	assert_false(ratelimiter_allow(rl, &u.sa, T0));
	u.sa.sa_family = AF_UNSPEC;
	assert_false(ratelimiter_allow(rl, &u.sa, T0));
	u.sa.sa_family = AF_PACKET;
	assert_false(ratelimiter_allow(rl, &u.sa, T0));
	a = v4(0xc0000263, 1);
	assert_int_equal(count_allowed(rl, &a, 10, T0), BURST);
	b = v6(0xc000026300000000ULL, 0, 1);
	assert_int_equal(count_allowed(rl, &b, 10, T0), BURST);
	ratelimiter_free(rl);
}

/* Regression: the limiter in cookie.c kept one entry per hash slot, and a
 * source that landed in an occupied slot replaced it with a fresh bucket,
 * so two sources in one slot, alternating, had 999 of 1000 handshakes let
 * through. With one chain every source collides: each must still get only
 * its own burst and refill. */
static void collisions_keep_their_buckets(void **state)
{
	struct ratelimiter *rl = ratelimiter_new_sized(1, 64);
	union addr a = v4(0xcb007101, 51820), b = v4(0xcb007102, 51820), c = v6(0x20010db800000005ULL, 7, 9);
	unsigned i, na = 0, nb = 0, nc = 0;

	(void)state;
	assert_non_null(rl);
	/* 1000 at the same instant: only the two bursts. */
	for (i = 0; i < 1000; i++) {
		na += ratelimiter_allow(rl, &a.sa, T0);
		nb += ratelimiter_allow(rl, &b.sa, T0);
	}
	assert_int_equal(na, BURST);
	assert_int_equal(nb, BURST);

	/* 1000 each over the next second, a millisecond apart, with a third
	 * source between them: the refill of 20 a second and no more. */
	na = nb = 0;
	for (i = 0; i < 1000; i++) {
		uint64_t now = T0 + (i + 1) * (SEC / 1000);

		na += ratelimiter_allow(rl, &a.sa, now);
		nc += ratelimiter_allow(rl, &c.sa, now);
		nb += ratelimiter_allow(rl, &b.sa, now);
	}
	assert_int_equal(na, PPS);
	assert_int_equal(nb, PPS);
	assert_int_equal(nc, BURST + (1000 - 1) / (COST / (SEC / 1000)));
	ratelimiter_free(rl);
}

/* A full table refuses new sources and still serves the ones it holds;
 * garbage collection makes room again. */
static void full_table(void **state)
{
	enum { MAX = 8 };
	struct ratelimiter *rl = ratelimiter_new_sized(4, MAX);
	union addr a;
	unsigned i;

	(void)state;
	assert_non_null(rl);
	for (i = 0; i < MAX; i++) {
		a = v4(0xc0000200 + i, 1);
		assert_true(ratelimiter_allow(rl, &a.sa, T0));
	}
	for (i = 0; i < 100; i++) {
		a = v4(0xc0000300 + i, 1);
		assert_false(ratelimiter_allow(rl, &a.sa, T0));
		a = v6(0x20010db800000000ULL + i, 1, 1);
		assert_false(ratelimiter_allow(rl, &a.sa, T0));
	}
	for (i = 0; i < MAX; i++) {
		a = v4(0xc0000200 + i, 2);
		assert_int_equal(count_allowed(rl, &a, 10, T0), BURST - 1);
	}

	/* Collection frees nothing that was active within a second. */
	ratelimiter_gc(rl, T0 + SEC / 2);
	ratelimiter_gc(rl, T0 + SEC);
	a = v4(0xc0000300, 1);
	assert_false(ratelimiter_allow(rl, &a.sa, T0 + SEC));

	/* After a second's silence, all of it, and the room is reused. */
	ratelimiter_gc(rl, T0 + SEC + 1);
	for (i = 0; i < MAX; i++) {
		a = v6(0x20010db800000000ULL + i, 1, 1);
		assert_true(ratelimiter_allow(rl, &a.sa, T0 + SEC + 1));
	}
	a = v4(0xc0000200, 1);
	assert_false(ratelimiter_allow(rl, &a.sa, T0 + SEC + 1));
	ratelimiter_free(rl);
}

/* The default table holds RATELIMITER_MAX_ENTRIES sources, as the module's
 * capacity test checks. */
static void default_capacity(void **state)
{
	struct ratelimiter *rl = ratelimiter_new();
	union addr a;
	uint32_t i;

	(void)state;
	assert_non_null(rl);
	for (i = 0; i <= RATELIMITER_MAX_ENTRIES; i++) {
		a = v4(0x0a000000 + i, 1);
		if (ratelimiter_allow(rl, &a.sa, T0) != (i != RATELIMITER_MAX_ENTRIES))
			fail_msg("source %u", i);
	}
	ratelimiter_gc(rl, T0 + SEC + 1);
	a = v4(0x0b000000, 1);
	assert_true(ratelimiter_allow(rl, &a.sa, T0 + SEC + 1));
	ratelimiter_free(rl);
}

/* Collection keeps entries younger than a second, bucket and all. */
static void gc_keeps_the_young(void **state)
{
	enum { MAX = 8 };
	struct ratelimiter *rl = ratelimiter_new_sized(2, MAX);
	union addr a, s0 = v4(0xc0000200, 1);
	unsigned i;

	(void)state;
	assert_non_null(rl);
	for (i = 0; i < MAX; i++) {
		a = v4(0xc0000200 + i, 1);
		assert_true(ratelimiter_allow(rl, &a.sa, T0));
	}
	/* Sources 0-3 again at 0.6 s; source 0 empties its bucket at 0.9 s. */
	for (i = 0; i < MAX / 2; i++) {
		a = v4(0xc0000200 + i, 1);
		assert_true(ratelimiter_allow(rl, &a.sa, T0 + 600 * SEC / 1000));
	}
	assert_int_equal(count_allowed(rl, &s0, 10, T0 + 900 * SEC / 1000), BURST);

	/* At 1.1 s sources 4-7 are a second and more idle: their room is free. */
	ratelimiter_gc(rl, T0 + 1100 * SEC / 1000);
	for (i = 0; i < MAX / 2; i++) {
		a = v6(0x20010db800000000ULL + i, 1, 1);
		assert_true(ratelimiter_allow(rl, &a.sa, T0 + 1100 * SEC / 1000));
	}
	a = v6(0x20010db8ffff0000ULL, 1, 1);
	assert_false(ratelimiter_allow(rl, &a.sa, T0 + 1100 * SEC / 1000));
	/* Source 0 kept its bucket: 0.2 s of refill is 4 handshakes, where a
	 * forgotten source would get a fresh burst of 5. */
	assert_int_equal(count_allowed(rl, &s0, 10, T0 + 1100 * SEC / 1000), BURST - 1);
	ratelimiter_free(rl);
}

/* The reference: every source in a plain array, scanned; the rules of
 * ratelimiter.h written out again. */
struct ref_entry {
	union addr key; /* family and address bytes that name the source */
	uint64_t last, tokens;
};

static struct ref_entry ref[16];
static unsigned ref_count;

static bool ref_same(const union addr *x, const union addr *y)
{
	if (x->sa.sa_family != y->sa.sa_family)
		return false;
	if (x->sa.sa_family == AF_INET)
		return x->in4.sin_addr.s_addr == y->in4.sin_addr.s_addr;
	return !memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, 8);
}

static bool ref_allow(const union addr *src, uint64_t now, unsigned max)
{
	unsigned i;

	for (i = 0; i < ref_count; i++) {
		struct ref_entry *e = &ref[i];

		if (!ref_same(&e->key, src))
			continue;
		if (now > e->last) {
			e->tokens += now - e->last;
			if (e->tokens > TOKEN_MAX)
				e->tokens = TOKEN_MAX;
			e->last = now;
		}
		if (e->tokens < COST)
			return false;
		e->tokens -= COST;
		return true;
	}
	if (ref_count == max)
		return false;
	ref[ref_count].key = *src;
	ref[ref_count].last = now;
	ref[ref_count].tokens = TOKEN_MAX - COST;
	ref_count++;
	return true;
}

static void ref_gc(uint64_t now)
{
	unsigned i = 0;

	while (i < ref_count) {
		if (now > ref[i].last && now - ref[i].last > SEC)
			ref[i] = ref[--ref_count];
		else
			i++;
	}
}

/* Random traffic from 24 sources (IPv4, IPv6 /64s, hosts within one /64,
 * random ports) into small tables that collide and fill up. */
static void matches_reference(void **state)
{
	static const uint32_t buckets[] = { 1, 2, 8 };
	unsigned max = sizeof(ref) / sizeof(ref[0]) - 4;
	unsigned t, i, allowed = 0, refused = 0;

	(void)state;
	srand(7);
	for (t = 0; t < sizeof(buckets) / sizeof(buckets[0]); t++) {
		struct ratelimiter *rl = ratelimiter_new_sized(buckets[t], max);
		uint64_t now = T0;

		assert_non_null(rl);
		ref_count = 0;
		for (i = 0; i < 200000; i++) {
			unsigned s = (unsigned)rand() % 24;
			uint16_t port = (uint16_t)rand();
			union addr a;
			bool want;

			if (s < 10)
				a = v4(0xcb007100 + s, port);
			else if (s < 18)
				a = v6(0x20010db800000000ULL + s, (uint64_t)rand(), port);
			else
				a = v6(0x20010db8ffff0000ULL, s, port); /* six hosts, one source */
			if (rand() % 4 == 0)
				now += (uint64_t)(rand() % 1000) * (SEC / 10000);
			if (rand() % 500 == 0) {
				ratelimiter_gc(rl, now);
				ref_gc(now);
			}
			want = ref_allow(&a, now, max);
			if (ratelimiter_allow(rl, &a.sa, now) != want)
				fail_msg("table %u, step %u: expected %s", t, i, want ? "allow" : "refuse");
			if (want)
				allowed++;
			else
				refused++;
		}
		ratelimiter_free(rl);
	}
	/* Both answers came up often, or the comparison proved little. */
	assert_true(allowed > 20000 && refused > 20000);
}

static void bad_sizes(void **state)
{
	(void)state;
	assert_null(ratelimiter_new_sized(0, 8));
	assert_null(ratelimiter_new_sized(3, 8));
	assert_null(ratelimiter_new_sized(8, 0));
	assert_null(ratelimiter_new_sized(1u << 31, 8));
	ratelimiter_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_then_refill),
		cmocka_unit_test(what_a_source_is),
		cmocka_unit_test(collisions_keep_their_buckets),
		cmocka_unit_test(full_table),
		cmocka_unit_test(default_capacity),
		cmocka_unit_test(gc_keeps_the_young),
		cmocka_unit_test(matches_reference),
		cmocka_unit_test(bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
