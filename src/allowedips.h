/* allowedips.h - cryptokey routing: a longest-prefix-match table from IPv4
 * and IPv6 prefixes to peers. Lookups cost time proportional to the prefix
 * length (a binary trie with path compression), not the number of entries.
 * Not thread-safe by itself: the owner serialises writers, and publishes
 * changes to readers (see docs/DESIGN.md). */
#ifndef FERRY_ALLOWEDIPS_H
#define FERRY_ALLOWEDIPS_H

#include "addr.h"

#include <stddef.h>

struct allowedips;

struct allowedips *allowedips_new(void);
void allowedips_free(struct allowedips *t);

/* Map @p (host bits are cleared) to @peer, replacing any peer that had
 * exactly this prefix. Returns 0 or -ENOMEM / -EINVAL. */
int allowedips_insert(struct allowedips *t, const struct ip_prefix *p, void *peer);
/* Remove exactly @p if it maps to @peer; returns 0 or -ENOENT. */
int allowedips_remove(struct allowedips *t, const struct ip_prefix *p, void *peer);
/* Remove every prefix of @peer. */
void allowedips_remove_peer(struct allowedips *t, void *peer);

/* The peer of the longest prefix containing @addr (4 or 16 bytes, network
 * order, by @family), or NULL. */
void *allowedips_lookup(const struct allowedips *t, int family, const void *addr);

/* Call @cb for each prefix of @peer (in no particular order); a non-zero
 * return stops the walk and is returned. */
int allowedips_foreach(const struct allowedips *t, void *peer, int (*cb)(const struct ip_prefix *p, void *ctx),
		       void *ctx);

/* Number of prefixes in the table. */
size_t allowedips_count(const struct allowedips *t);

#endif
