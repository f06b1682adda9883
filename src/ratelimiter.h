/* ratelimiter.h - handshake rate limiting by source address, as the
 * WireGuard module's ratelimiter.c: a token bucket per source, 20 handshakes
 * a second with bursts of 5, in a bounded table that refuses new sources
 * when it is full.
 *
 * A source is its IPv4 address or its IPv6 /64 (an IPv4-mapped IPv6
 * address counts as the IPv4 address); the port never matters. Other
 * address families are refused.
 *
 * Not thread-safe: one thread (ferry's event loop) calls everything here.
 * Nothing allocates after ratelimiter_new(): entries come from a fixed pool. */
#ifndef FERRY_RATELIMITER_H
#define FERRY_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* The module's sizes for a machine with more than 1 GiB of memory: 8192
 * chains, at most 8 entries per chain on average. A full table is 2 MiB of
 * entries, touched only as sources arrive. */
#define RATELIMITER_BUCKETS	8192u
#define RATELIMITER_MAX_ENTRIES (8u * RATELIMITER_BUCKETS)

struct ratelimiter;

/* A table of the default size with a fresh random hash key; NULL if out of
 * memory (or libsodium cannot start). */
struct ratelimiter *ratelimiter_new(void);
/* The same with @buckets chains (a power of two) and room for @max_entries
 * sources; NULL on a bad size or out of memory. For tests and benchmarks:
 * one bucket makes every source collide. */
struct ratelimiter *ratelimiter_new_sized(uint32_t buckets, uint32_t max_entries);
void ratelimiter_free(struct ratelimiter *rl);

/* True if a handshake from @src may be processed at @now_ns (monotonic
 * nanoseconds), and takes a token from its bucket; false if its bucket is
 * empty, the table is full and @src is new, or @src is not IPv4 or IPv6.
 * @src must point at a whole sockaddr_in or sockaddr_in6 for its family. */
bool ratelimiter_allow(struct ratelimiter *rl, const struct sockaddr *src, uint64_t now_ns);

/* Forget sources that sent nothing for more than a second (a full bucket
 * and no entry behave the same), so that the room goes to new ones. Call it
 * about once a second; it costs a walk over every chain. */
void ratelimiter_gc(struct ratelimiter *rl, uint64_t now_ns);

#endif
