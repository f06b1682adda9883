/* mactable - the cost of the TAP-mode MAC table (mactable.c) per frame:
 * lookups in tables of 1k and 64k entries (hits in random order, misses),
 * learning new MACs, the per-frame refresh of a known source, moves, and
 * lookups from two threads at once (the lock-free path must scale). The
 * keyed hash alone (libsodium's SipHash-2-4) is shown for reference.
 * docs/PROTOCOL-l2.md records the figures.
 *
 *   build/bench/mactable [ROUNDS]     (default 2,000,000 operations each) */
#include "mactable.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BIG 65536

static uint8_t (*macs)[ETH_ALEN];
static uint32_t *order;
static volatile uintptr_t sink;

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void make_mac(uint8_t mac[ETH_ALEN], uint32_t n)
{
	mac[0] = 0x02;
	mac[1] = (uint8_t)(n >> 24);
	mac[2] = (uint8_t)(n >> 16);
	mac[3] = (uint8_t)(n >> 8);
	mac[4] = (uint8_t)n;
	mac[5] = 0x5a;
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

static double lookups(struct mactable *t, long rounds, uint32_t offset)
{
	double t0 = now_ns();
	uintptr_t sum = 0; /* not the shared sink: two readers would fight over its line */
	long i;

	for (i = 0; i < rounds; i++)
		sum += (uintptr_t)mactable_lookup(t, macs[order[i] + offset], 1000);
	sink += sum;
	return (now_ns() - t0) / (double)rounds;
}

struct reader {
	struct mactable *t;
	long rounds;
	double ns;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;

	r->ns = lookups(r->t, r->rounds, 0);
	return NULL;
}

/* A new table; the owners start afresh, as an owner belongs to one table. */
static struct mactable *table(struct mac_owner *owners, unsigned nowners)
{
	struct mactable *t = mactable_new(BIG, 0);
	unsigned i;

	if (!t)
		exit(1);
	for (i = 0; i < nowners; i++)
		mac_owner_init(&owners[i], BIG);
	return t;
}

static struct mactable *filled(unsigned n, struct mac_owner *owners, unsigned nowners)
{
	struct mactable *t = table(owners, nowners);
	unsigned i;

	for (i = 0; i < n; i++)
		if (mactable_learn(t, macs[i], &owners[i % nowners], 1000) != MAC_LEARN_NEW)
			exit(1);
	return t;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 2000000, i;
	struct mac_owner owners[16];
	struct mactable *t;
	uint8_t key[crypto_shorthash_KEYBYTES], out[crypto_shorthash_BYTES];
	double t0;
	unsigned k, j;

	if (sodium_init() < 0 || rounds < BIG)
		return 1;
	macs = calloc(2 * BIG, sizeof(*macs));
	order = calloc((size_t)rounds, sizeof(*order));
	if (!macs || !order)
		return 1;
	for (k = 0; k < 2 * BIG; k++)
		make_mac(macs[k], k * 2654435761u); /* distinct */

	printf("MAC table, %ld operations per figure, one core unless said:\n", rounds);
	crypto_shorthash_keygen(key);
	t0 = now_ns();
	for (i = 0; i < rounds; i++)
		crypto_shorthash(out, macs[i % BIG], 8, key), sink += out[0];
	printf("  SipHash-2-4 of 8 bytes (libsodium)        %6.1f ns\n", (now_ns() - t0) / (double)rounds);

	for (k = 0; k < 2; k++) {
		unsigned n = k ? BIG : 1024;

		t = filled(n, owners, 16);
		shuffle(n, rounds);
		lookups(t, rounds / 4, 0); /* warm up */
		printf("  lookup, %5u entries, hit, random order  %6.1f ns\n", n, lookups(t, rounds, 0));
		printf("  lookup, %5u entries, miss               %6.1f ns\n", n, lookups(t, rounds, BIG));
		if (n == BIG) {
			pthread_t th[2];
			struct reader r[2] = { { t, rounds, 0 }, { t, rounds, 0 } };

			for (j = 0; j < 2; j++)
				pthread_create(&th[j], NULL, reader_main, &r[j]);
			for (j = 0; j < 2; j++)
				pthread_join(th[j], NULL);
			printf("  lookup, %5u entries, two threads at once %6.1f and %.1f ns\n", n, r[0].ns, r[1].ns);
		}
		mactable_free(t);
	}

	/* Learning: a new MAC each time, into an empty table up to 64k. */
	t = table(owners, 16);
	t0 = now_ns();
	for (k = 0; k < BIG; k++)
		mactable_learn(t, macs[k], &owners[k % 16], 1000);
	printf("  learn, new MAC (table filling to 64k)     %6.1f ns\n", (now_ns() - t0) / BIG);

	/* The per-frame call for a known source: no store within a second. */
	shuffle(BIG, rounds);
	t0 = now_ns();
	for (i = 0; i < rounds; i++)
		sink += mactable_learn(t, macs[order[i]], &owners[order[i] % 16], 1500);
	printf("  learn, known source (per-frame refresh)   %6.1f ns\n", (now_ns() - t0) / (double)rounds);
	/* Once a second each source's timestamp moves. */
	t0 = now_ns();
	for (k = 0; k < BIG; k++)
		sink += mactable_learn(t, macs[order[k]], &owners[order[k] % 16], 5000);
	printf("  learn, known source, timestamp moves      %6.1f ns\n", (now_ns() - t0) / BIG);
	t0 = now_ns();
	for (k = 0; k < BIG; k++)
		sink += mactable_learn(t, macs[order[k]], &owners[(order[k] + 1) % 16], 6000);
	printf("  learn, move to another owner              %6.1f ns\n", (now_ns() - t0) / BIG);
	t0 = now_ns();
	for (k = 0; k < 16; k++)
		mactable_remove_owner(t, &owners[k]);
	printf("  remove_owner, per entry                   %6.1f ns\n", (now_ns() - t0) / BIG);
	mactable_free(t);
	free(macs);
	free(order);
	return 0;
}
