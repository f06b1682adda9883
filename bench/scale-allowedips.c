/* scale-allowedips - how the cryptokey routing table (src/allowedips.c)
 * grows: insert time, memory per entry, lookup nanoseconds (hits and
 * misses, IPv4 and IPv6, cache-cold random addresses and one warm address),
 * foreach (what a UAPI get does per peer) and remove_peer time, for tables
 * of 1,000 up to 1,000,000 prefixes spread over one peer per 10 prefixes.
 *
 *   build/bench/scale-allowedips [MAX_ENTRIES [SEED]]
 *
 * Three layouts of 10 prefixes per peer:
 *   realistic, random      the mix of a hub: 4 IPv4 /32 random in 10.0.0.0/8
 *                          (overlay host addresses), 1 IPv4 /24 random outside
 *                          10/8 (a site behind the peer), 3 IPv6 /128 and
 *                          2 IPv6 /64 random in fd00::/8; addresses drawn at
 *                          random: the worst case for the trie's branching
 *                          nodes and for caches
 *   realistic, sequential  the same mix with host addresses handed out in
 *                          order, as an address pool does (10.0.0.1, ...)
 *   random prefixes        5 IPv4 prefixes of a random length /8../32 and 5
 *                          IPv6 of /16../128, at random addresses anywhere:
 *                          no structure at all (as the WireGuard module's
 *                          randomized selftest)
 *
 * Memory is glibc's mallinfo2() in-use bytes before and after, so it counts
 * the nodes, their malloc headers and the peer hash, not the benchmark's
 * own arrays (allocated before the baseline). RSS is shown too. Lookups are
 * timed back to back, so the figure is the cost per lookup when many are
 * in flight (the CPU overlaps independent ones), as on a busy data path.
 * Output: Markdown tables (docs/PERFORMANCE.md "How cost grows"). */
#include "addr.h"
#include "allowedips.h"

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define PER_PEER 10

enum layout { REALISTIC_RANDOM, REALISTIC_SEQUENTIAL, RANDOM_PREFIXES, LAYOUTS };

static const char *const layout_name[LAYOUTS] = {
	[REALISTIC_RANDOM] = "realistic mix, random addresses",
	[REALISTIC_SEQUENTIAL] = "realistic mix, sequential addresses",
	[RANDOM_PREFIXES] = "random prefixes (lengths and addresses)",
};
#define LOOKUPS 2000000 /* random lookups per measurement */
#define WARM	20000000

static uint64_t rng_state;

/* splitmix64: fast, deterministic from the seed */
static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = atol(line + 6);
	fclose(f);
	return kib;
}

/* Prefix number @i (of peer i / PER_PEER) in @layout. */
static void make_prefix(struct ip_prefix *p, size_t i, enum layout layout)
{
	unsigned int kind = (unsigned int)(i % PER_PEER);
	uint64_t r = rnd(), r2 = rnd();
	size_t host = (i / PER_PEER) * 4 + kind; /* sequential host number */
	int sequential = layout == REALISTIC_SEQUENTIAL;

	memset(p, 0, sizeof(*p));
	if (layout == RANDOM_PREFIXES) {
		p->family = kind < 5 ? AF_INET : AF_INET6;
		p->len = (uint8_t)(kind < 5 ? 8 + rnd() % 25 : 16 + rnd() % 113);
		memcpy(p->addr.bytes, &r, 8);
		memcpy(p->addr.bytes + 8, &r2, 8);
	} else if (kind < 4) { /* IPv4 /32 in 10/8 */
		uint32_t a = sequential ? (uint32_t)(host + 1) : (uint32_t)r;

		p->family = AF_INET;
		p->len = 32;
		p->addr.bytes[0] = 10;
		p->addr.bytes[1] = (uint8_t)(a >> 16);
		p->addr.bytes[2] = (uint8_t)(a >> 8);
		p->addr.bytes[3] = (uint8_t)a;
	} else if (kind == 4) { /* IPv4 /24 outside 10/8 */
		uint32_t site = sequential ? (uint32_t)(i / PER_PEER) : (uint32_t)r;
		uint8_t first = sequential ? (uint8_t)(100 + (site >> 16) % 100) : (uint8_t)(11 + (r >> 40) % 212);

		if (first == 127)
			first = 128;
		p->family = AF_INET;
		p->len = 24;
		p->addr.bytes[0] = first;
		p->addr.bytes[1] = (uint8_t)(site >> 8);
		p->addr.bytes[2] = (uint8_t)site;
	} else { /* IPv6 /128 (kinds 5..7) or /64 (8, 9) in fd00::/8 */
		p->family = AF_INET6;
		p->len = kind < 8 ? 128 : 64;
		p->addr.bytes[0] = 0xfd;
		if (sequential) {
			/* fd00:0:0:SITE::/64 and fd00::HOST/128 */
			uint64_t v = kind < 8 ? (uint64_t)host : (uint64_t)(i / PER_PEER) * 2 + (kind - 8);
			int b;

			for (b = 0; b < 8; b++)
				p->addr.bytes[(kind < 8 ? 15 : 7) - b] = (uint8_t)(v >> (8 * b));
			p->addr.bytes[0] = 0xfd;
		} else {
			memcpy(p->addr.bytes + 1, &r, 8);
			memcpy(p->addr.bytes + 9, &r2, 7);
		}
	}
	ip_prefix_mask(p);
}

/* An address inside @p (random host bits). */
static void addr_in(union ip_addr *a, const struct ip_prefix *p)
{
	uint64_t r = rnd(), r2 = rnd();
	unsigned int bits = p->family == AF_INET ? 32 : 128, i;
	uint8_t rb[16];

	memcpy(rb, &r, 8);
	memcpy(rb + 8, &r2, 8);
	*a = p->addr;
	for (i = p->len; i < bits; i++)
		if (rb[i / 8] & (1u << (i % 8)))
			a->bytes[i / 8] |= (uint8_t)(0x80 >> (i % 8));
}

/* A random address where the table has nothing as specific: in 10/8 or
 * fd00::/8 for the realistic mixes, anywhere for random prefixes (whose
 * short prefixes then cover a part of the space). */
static void addr_miss(union ip_addr *a, int family, enum layout layout)
{
	uint64_t r = rnd(), r2 = rnd();

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		memcpy(a->bytes, &r, 4);
		if (layout != RANDOM_PREFIXES)
			a->bytes[0] = 10;
	} else {
		memcpy(a->bytes, &r, 8);
		memcpy(a->bytes + 8, &r2, 8);
		if (layout != RANDOM_PREFIXES)
			a->bytes[0] = 0xfd;
	}
}

struct probe {
	union ip_addr a;
};

/* ns per lookup over @n addresses of @family; *found counts the lookups
 * that returned a peer (a hit probe must always find one). */
static double time_lookups(const struct allowedips *t, int family, const struct probe *pr, size_t n, size_t *found)
{
	uintptr_t sink = 0;
	double t0;
	size_t i;

	*found = 0;
	t0 = now_s();
	for (i = 0; i < n; i++)
		sink ^= (uintptr_t)allowedips_lookup(t, family, &pr[i].a);
	t0 = now_s() - t0;
	for (i = 0; i < n; i++)
		if (allowedips_lookup(t, family, &pr[i].a))
			(*found)++;
	if (sink == 1)
		puts(""); /* keep the loop */
	return t0 * 1e9 / (double)n;
}

static double time_warm(const struct allowedips *t, int family, const union ip_addr *a)
{
	uintptr_t sink = 0;
	double t0 = now_s();
	size_t i;

	for (i = 0; i < WARM; i++) {
		sink ^= (uintptr_t)allowedips_lookup(t, family, a);
		__asm__ volatile("" : : "r"(sink) : "memory"); /* one real lookup per round */
	}
	return (now_s() - t0) * 1e9 / WARM;
}

static int count_cb(const struct ip_prefix *p, void *ctx)
{
	(void)p;
	(*(size_t *)ctx)++;
	return 0;
}

struct result {
	size_t entries, peers, count;
	double insert_ns, bytes_per_entry, rss_per_entry;
	double hit4, hit6, miss4, miss6, warm4, warm6;
	size_t wrong_hit, wrong_miss;
	double foreach_us_all, remove_peer_us, remove_ns_per_prefix;
	size_t leak;
};

static int run(size_t entries, enum layout layout, uint64_t seed, struct result *res)
{
	size_t peers = entries / PER_PEER, i, n4 = 0, n6 = 0, found;
	struct ip_prefix *pfx = malloc(entries * sizeof(*pfx));
	char *peer_obj = malloc(peers * 64); /* stand-ins for struct peer */
	size_t *order = malloc(peers * sizeof(*order));
	struct probe *h4 = malloc(LOOKUPS * sizeof(*h4)), *h6 = malloc(LOOKUPS * sizeof(*h6));
	struct probe *m4 = malloc(LOOKUPS * sizeof(*m4)), *m6 = malloc(LOOKUPS * sizeof(*m6));
	struct allowedips *t = NULL;
	size_t heap0, heap1;
	long rss0, rss1;
	double t0;
	int ret = -1;

	if (!pfx || !peer_obj || !order || !h4 || !h6 || !m4 || !m6)
		goto out;
	memset(res, 0, sizeof(*res));
	rng_state = seed;
	for (i = 0; i < entries; i++)
		make_prefix(&pfx[i], i, layout);
	memset(peer_obj, 0, peers * 64);

	malloc_trim(0);
	heap0 = heap_in_use();
	rss0 = rss_kib();
	t = allowedips_new();
	if (!t)
		goto out;
	t0 = now_s();
	for (i = 0; i < entries; i++)
		if (allowedips_insert(t, &pfx[i], peer_obj + (i / PER_PEER) * 64) < 0)
			goto out;
	res->insert_ns = (now_s() - t0) * 1e9 / (double)entries;
	heap1 = heap_in_use();
	rss1 = rss_kib();
	res->entries = entries;
	res->peers = peers;
	res->count = allowedips_count(t);
	res->bytes_per_entry = (double)(heap1 - heap0) / (double)res->count;
	res->rss_per_entry = (double)(rss1 - rss0) * 1024.0 / (double)res->count;

	/* Probes: hits at random prefixes (random host bits), misses at random
	 * addresses of the same ranges. The expected peer of a hit is whoever
	 * holds the prefix now (a random layout can draw a prefix twice). */
	while (n4 < LOOKUPS || n6 < LOOKUPS) {
		const struct ip_prefix *p = &pfx[rnd() % entries];
		struct probe *pr =
		    p->family == AF_INET ? (n4 < LOOKUPS ? &h4[n4++] : NULL) : (n6 < LOOKUPS ? &h6[n6++] : NULL);

		if (!pr)
			continue;
		addr_in(&pr->a, p);
	}
	for (i = 0; i < LOOKUPS; i++) {
		addr_miss(&m4[i].a, AF_INET, layout);
		addr_miss(&m6[i].a, AF_INET6, layout);
	}
	/* Every hit probe must find a peer (else a prefix was lost); a miss
	 * probe may find one by chance (a random 10/8 address that is a /32). */
	res->hit4 = time_lookups(t, AF_INET, h4, LOOKUPS, &found);
	res->wrong_hit = LOOKUPS - found;
	res->hit6 = time_lookups(t, AF_INET6, h6, LOOKUPS, &found);
	res->wrong_hit += LOOKUPS - found;
	res->miss4 = time_lookups(t, AF_INET, m4, LOOKUPS, &found);
	res->wrong_miss = found;
	res->miss6 = time_lookups(t, AF_INET6, m6, LOOKUPS, &found);
	res->wrong_miss += found;
	res->warm4 = time_warm(t, AF_INET, &h4[0].a);
	res->warm6 = time_warm(t, AF_INET6, &h6[0].a);

	/* foreach over every peer: the allowed_ip part of a UAPI get. */
	found = 0;
	t0 = now_s();
	for (i = 0; i < peers; i++)
		allowedips_foreach(t, peer_obj + i * 64, count_cb, &found);
	res->foreach_us_all = (now_s() - t0) * 1e6;
	if (found != res->count)
		fprintf(stderr, "foreach found %zu prefixes of %zu\n", found, res->count);

	/* remove_peer in random order, as peers come and go. */
	for (i = 0; i < peers; i++)
		order[i] = i;
	for (i = peers - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	t0 = now_s();
	for (i = 0; i < peers; i++)
		allowedips_remove_peer(t, peer_obj + order[i] * 64);
	t0 = now_s() - t0;
	res->remove_peer_us = t0 * 1e6 / (double)peers;
	res->remove_ns_per_prefix = t0 * 1e9 / (double)res->count;
	if (allowedips_count(t))
		fprintf(stderr, "%zu prefixes left after removing every peer\n", allowedips_count(t));
	allowedips_free(t);
	t = NULL;
	res->leak = heap_in_use() > heap0 ? heap_in_use() - heap0 : 0;
	ret = 0;
out:
	if (t)
		allowedips_free(t);
	free(pfx);
	free(peer_obj);
	free(order);
	free(h4);
	free(h6);
	free(m4);
	free(m6);
	malloc_trim(0);
	return ret;
}

int main(int argc, char **argv)
{
	size_t max = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 1000000, n;
	uint64_t seed = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	static struct result r[LAYOUTS][8];
	int layout, k, nk = 0;

	if (argc > 3 || max < 1000 || max > 100000000) {
		fprintf(stderr, "usage: %s [MAX_ENTRIES (1000..100000000, default 1000000) [SEED]]\n", argv[0]);
		return 2;
	}
	for (layout = 0; layout < LAYOUTS; layout++) {
		k = 0;
		for (n = 1000; n <= max && k < 8; n *= 10, k++) {
			if (run(n, (enum layout)layout, seed, &r[layout][k]) < 0) {
				fprintf(stderr, "out of memory at %zu entries\n", n);
				return 1;
			}
			fprintf(stderr, "%s: %zu done\n", layout_name[layout], n);
		}
		nk = k;
	}

	printf("allowedips scale (build/bench/scale-allowedips, seed %llu): 10 prefixes per peer\n\n",
	       (unsigned long long)seed);
	for (layout = 0; layout < LAYOUTS; layout++) {
		printf("### %s\n\n", layout_name[layout]);
		printf("| entries | peers | insert ns/entry | heap B/entry | RSS B/entry | hit v4 ns | hit v6 ns | "
		       "miss v4 ns "
		       "| miss v6 ns | warm v4 ns | warm v6 ns | foreach all peers ms | remove_peer us/peer | remove "
		       "ns/prefix "
		       "| hit probes without peer | miss probes that hit | leak B |\n");
		printf("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
		for (k = 0; k < nk; k++) {
			const struct result *x = &r[layout][k];

			printf("| %zu | %zu | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.2f | "
			       "%.2f | %.0f | "
			       "%zu | %zu | %zu |\n",
			       x->count, x->peers, x->insert_ns, x->bytes_per_entry, x->rss_per_entry, x->hit4, x->hit6,
			       x->miss4, x->miss6, x->warm4, x->warm6, x->foreach_us_all / 1000.0, x->remove_peer_us,
			       x->remove_ns_per_prefix, x->wrong_hit, x->wrong_miss, x->leak);
		}
		printf("\n");
	}
	printf("entries: distinct prefixes in the table (a random layout draws a few twice).\n"
	       "hit: a random address in a random inserted prefix; miss: a random address in 10/8 or fd00::/8\n"
	       "(anywhere for random prefixes, whose short ones then cover much of it: \"miss probes that hit\").\n"
	       "warm: one address looked up %d times (cache-hot: the compute); the others: %d random\n"
	       "addresses (cache-cold). Hit probes without peer must be 0 (else a prefix was lost).\n"
	       "leak: heap bytes still in use after every peer was removed and the table freed (a few KiB are\n"
	       "chunks in glibc's tcache, which mallinfo2 counts as in use; a real leak would grow with the table).\n",
	       WARM, LOOKUPS);
	return 0;
}
