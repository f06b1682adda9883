/* ratelimiter - the cost of the handshake rate limiter (ratelimiter.c) per
 * handshake: one source, 8,000 and a full table of known sources in random
 * order, a new source into a filling table, a new source refused by a full
 * one, and the once-a-second collection over a full table. The keyed hash
 * alone (libsodium's SipHash-2-4) is shown for reference.
 *
 *   build/bench/ratelimiter [ROUNDS]     (default 2,000,000 calls each) */
#include "ratelimiter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SEC 1000000000ULL

static struct sockaddr_in *srcs;
static uint32_t *order;
static volatile unsigned sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* A random permutation of 0..n-1, repeated to fill @rounds. */
static void shuffle(uint32_t n, long rounds)
{
	long i;

	for (i = 0; i < rounds; i++)
		order[i] = (uint32_t)(i % n);
	for (i = rounds - 1; i > 0; i--) {
		uint32_t j = randombytes_uniform((uint32_t)i + 1), tmp = order[i];

		order[i] = order[j];
		order[j] = tmp;
	}
}

/* ns per call from @n known sources in random order; the clock moves 1 us a
 * call, so that buckets refill and both answers come up. */
static double known(struct ratelimiter *rl, uint32_t n, long rounds, uint64_t *clock)
{
	unsigned allowed = 0;
	double t0;
	long i;

	shuffle(n, rounds);
	for (i = 0; i < (long)n; i++)
		ratelimiter_allow(rl, (const struct sockaddr *)&srcs[i], *clock);
	t0 = now_ns();
	for (i = 0; i < rounds; i++)
		allowed +=
		    ratelimiter_allow(rl, (const struct sockaddr *)&srcs[order[i]], *clock + (uint64_t)i * 1000);
	*clock += (uint64_t)rounds * 1000;
	sink += allowed;
	return (now_ns() - t0) / (double)rounds;
}

static void report(const char *what, double value, const char *unit)
{
	printf("  %-44s %7.1f %s\n", what, value, unit);
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000000;
	uint32_t i, nsrcs = RATELIMITER_MAX_ENTRIES + 65536;
	uint8_t key[crypto_shorthash_KEYBYTES], in[9] = { 0 }, out[crypto_shorthash_BYTES];
	struct ratelimiter *rl;
	char label[64];
	uint64_t clock = 1000 * SEC;
	double t0;
	long k;

	if (rounds < 1 || sodium_init() < 0)
		return 1;
	srcs = calloc(nsrcs, sizeof(*srcs));
	order = calloc((size_t)rounds, sizeof(*order));
	if (!srcs || !order)
		return 1;
	for (i = 0; i < nsrcs; i++) {
		srcs[i].sin_family = AF_INET;
		srcs[i].sin_addr.s_addr = htonl(0x0a000000 + i);
		srcs[i].sin_port = htons(51820);
	}

	printf("ratelimiter: %ld calls each, %u chains, room for %u sources\n", rounds, RATELIMITER_BUCKETS,
	       RATELIMITER_MAX_ENTRIES);
	randombytes_buf(key, sizeof(key));
	t0 = now_ns();
	for (k = 0; k < rounds; k++) {
		in[0] = (uint8_t)k;
		crypto_shorthash(out, in, sizeof(in), key);
		sink += out[0];
	}
	report("SipHash-2-4 of 9 bytes (libsodium)", (now_ns() - t0) / (double)rounds, "ns");

	rl = ratelimiter_new();
	if (!rl)
		return 1;
	report("allow, 1 known source", known(rl, 1, rounds, &clock), "ns");
	ratelimiter_free(rl);

	rl = ratelimiter_new();
	if (!rl)
		return 1;
	report("allow, 8,000 known sources, random order", known(rl, 8000, rounds, &clock), "ns");
	ratelimiter_free(rl);

	rl = ratelimiter_new();
	if (!rl)
		return 1;
	t0 = now_ns();
	for (i = 0; i < RATELIMITER_MAX_ENTRIES; i++)
		sink += ratelimiter_allow(rl, (const struct sockaddr *)&srcs[i], clock);
	report("allow, new source (table filling)", (now_ns() - t0) / RATELIMITER_MAX_ENTRIES, "ns");
	t0 = now_ns();
	for (i = RATELIMITER_MAX_ENTRIES; i < nsrcs; i++)
		sink += ratelimiter_allow(rl, (const struct sockaddr *)&srcs[i], clock);
	report("allow, new source refused (table full)", (now_ns() - t0) / (nsrcs - RATELIMITER_MAX_ENTRIES), "ns");
	snprintf(label, sizeof(label), "allow, %u known sources (table full)", RATELIMITER_MAX_ENTRIES);
	report(label, known(rl, RATELIMITER_MAX_ENTRIES, rounds, &clock), "ns");

	t0 = now_ns();
	ratelimiter_gc(rl, clock);
	report("gc, full table, nothing to free", (now_ns() - t0) / 1e3, "us");
	t0 = now_ns();
	ratelimiter_gc(rl, clock + 2 * SEC);
	report("gc, full table, all freed", (now_ns() - t0) / 1e3, "us");
	t0 = now_ns();
	ratelimiter_gc(rl, clock + 4 * SEC);
	report("gc, empty table", (now_ns() - t0) / 1e3, "us");
	ratelimiter_free(rl);
	free(srcs);
	free(order);
	return 0;
}
