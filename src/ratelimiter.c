/* ratelimiter.c - owns the table of handshake token buckets by source
 * address: a fixed pool of entries, chained hash buckets over them, and a
 * secret SipHash key chosen per table.
 *
 * Why this shape. Handshakes cost a Diffie-Hellman each, so a source that
 * sends them faster than PACKETS_PER_SECOND is refused. The table is keyed
 * by an address that comes off the network, so it has to hold up against
 * whoever chooses those addresses:
 * - the bucket is picked by a keyed hash (libsodium's crypto_shorthash,
 *   SipHash-2-4) so that nobody can aim many addresses at one chain;
 * - within a chain the address is compared exactly, so two addresses that
 *   share a chain keep their own buckets (a slot per hash value would let
 *   two sources that collide reset each other's bucket, and both through);
 * - the pool is bounded: when it is full a new source is refused, while the
 *   sources it holds keep their buckets. ratelimiter_gc() gives back the
 *   entries of sources idle for more than a second.
 *
 * Layout. Entries live in one array allocated by ratelimiter_new_sized()
 * and are named by index + 1 (0 is "none"), so that a link is 32 bits.
 * Entries below @fresh have been used; a freed one goes on the free list
 * (through next). Entries at and above @fresh were never touched, so the
 * pages behind them stay unmapped until a flood of sources needs them.
 *
 * The token bucket is the module's: a bucket holds up to TOKEN_MAX
 * nanoseconds of credit, gains one per nanosecond, and a handshake costs
 * PACKET_COST; the burst is part of the credit, not of the rate. */
#include "ratelimiter.h"

#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PACKETS_PER_SECOND 20
#define PACKETS_BURSTABLE  5
#define NSEC_PER_SEC	   1000000000ULL
#define PACKET_COST	   (NSEC_PER_SEC / PACKETS_PER_SECOND)
#define TOKEN_MAX	   (PACKET_COST * PACKETS_BURSTABLE)
#define ENTRY_IDLE_MAX_NS  NSEC_PER_SEC
#define MAX_BUCKETS	   (1u << 24)

/* What a source is: its family and its IPv4 address or IPv6 /64. */
struct source_key {
	uint64_t addr; /* the address bytes as on the wire, zero-padded */
	uint8_t family;
};

struct ratelimiter_entry {
	uint64_t addr;
	uint64_t last_ns; /* when the bucket was last refilled */
	uint64_t tokens;  /* credit in nanoseconds, at most TOKEN_MAX */
	uint32_t next;	  /* next in the chain or the free list, index + 1; 0 = none */
	uint8_t family;
};

struct ratelimiter {
	uint32_t bucket_mask;
	uint32_t max_entries;
	uint32_t count;	    /* entries in chains */
	uint32_t fresh;	    /* entries [0, fresh) have been used at least once */
	uint32_t free_head; /* freed entries, index + 1; 0 = none */
	uint32_t *buckets;  /* chain heads, index + 1; 0 = empty */
	struct ratelimiter_entry *pool;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

struct ratelimiter *ratelimiter_new_sized(uint32_t buckets, uint32_t max_entries)
{
	struct ratelimiter *rl;

	if (!buckets || buckets > MAX_BUCKETS || (buckets & (buckets - 1)) || !max_entries || max_entries == UINT32_MAX)
		return NULL;
	if (sodium_init() < 0)
		return NULL;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return NULL;
	rl->buckets = calloc(buckets, sizeof(*rl->buckets));
	rl->pool = calloc(max_entries, sizeof(*rl->pool));
	if (!rl->buckets || !rl->pool) {
		ratelimiter_free(rl);
		return NULL;
	}
	rl->bucket_mask = buckets - 1;
	rl->max_entries = max_entries;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	return rl;
}

struct ratelimiter *ratelimiter_new(void)
{
	return ratelimiter_new_sized(RATELIMITER_BUCKETS, RATELIMITER_MAX_ENTRIES);
}

void ratelimiter_free(struct ratelimiter *rl)
{
	if (!rl)
		return;
	sodium_memzero(rl->hash_key, sizeof(rl->hash_key));
	free(rl->buckets);
	free(rl->pool);
	free(rl);
}

/* The source @src stands for, or false for a family other than IPv4 and
 * IPv6. IPv6 keeps its /64: a host is commonly given a whole /64, and a
 * limit per address would give it 2^64 limits. An IPv4-mapped address is
 * the IPv4 source it maps, not one /64 shared by every IPv4 sender. */
static bool source_key_of(const struct sockaddr *src, struct source_key *k)
{
	k->addr = 0;
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)src;

		k->family = AF_INET;
		memcpy(&k->addr, &in->sin_addr, 4);
		return true;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;

		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
			k->family = AF_INET;
			memcpy(&k->addr, &in6->sin6_addr.s6_addr[12], 4);
		} else {
			k->family = AF_INET6;
			memcpy(&k->addr, &in6->sin6_addr, 8);
		}
		return true;
	}
	return false;
}

static uint32_t *chain_of(struct ratelimiter *rl, const struct source_key *k)
{
	uint8_t in[1 + sizeof(k->addr)], out[crypto_shorthash_BYTES];
	uint64_t h;

	in[0] = k->family;
	memcpy(in + 1, &k->addr, sizeof(k->addr));
	crypto_shorthash(out, in, sizeof(in), rl->hash_key);
	memcpy(&h, out, sizeof(h));
	return &rl->buckets[h & rl->bucket_mask];
}

/* Refill @e's bucket for the time since it was last refilled, then take one
 * handshake's worth if it holds that much. A clock that went backwards
 * refills nothing. */
static bool take_token(struct ratelimiter_entry *e, uint64_t now_ns)
{
	if (now_ns > e->last_ns) {
		uint64_t elapsed = now_ns - e->last_ns;

		e->tokens = elapsed >= TOKEN_MAX - e->tokens ? TOKEN_MAX : e->tokens + elapsed;
		e->last_ns = now_ns;
	}
	if (e->tokens < PACKET_COST)
		return false;
	e->tokens -= PACKET_COST;
	return true;
}

static struct ratelimiter_entry *entry_get(struct ratelimiter *rl)
{
	struct ratelimiter_entry *e;

	if (rl->free_head) {
		e = &rl->pool[rl->free_head - 1];
		rl->free_head = e->next;
		return e;
	}
	if (rl->fresh < rl->max_entries)
		return &rl->pool[rl->fresh++];
	return NULL;
}

bool ratelimiter_allow(struct ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns)
{
	struct ratelimiter_entry *e;
	struct source_key k;
	uint32_t *chain, i;

	if (!source_key_of(src, &k))
		return false;
	chain = chain_of(rl, &k);
	for (i = *chain; i; i = e->next) {
		e = &rl->pool[i - 1];
		if (e->addr == k.addr && e->family == k.family)
			return take_token(e, now_ns);
	}

	/* A new source: it starts with a full bucket less this handshake. */
	e = entry_get(rl);
	if (!e)
		return false;
	e->addr = k.addr;
	e->family = k.family;
	e->last_ns = now_ns;
	e->tokens = TOKEN_MAX - PACKET_COST;
	e->next = *chain;
	*chain = (uint32_t)(e - rl->pool) + 1;
	rl->count++;
	return true;
}

void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns)
{
	uint32_t b;

	for (b = 0; rl->count && b <= rl->bucket_mask; b++) {
		uint32_t *link = &rl->buckets[b];

		while (*link) {
			uint32_t i = *link;
			struct ratelimiter_entry *e = &rl->pool[i - 1];

			if (now_ns > e->last_ns && now_ns - e->last_ns > ENTRY_IDLE_MAX_NS) {
				*link = e->next;
				e->next = rl->free_head;
				rl->free_head = i;
				rl->count--;
			} else {
				link = &e->next;
			}
		}
	}
}
