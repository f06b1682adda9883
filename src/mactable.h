/* mactable.h - the MAC learning table of TAP (layer 2) mode: which port a
 * MAC address was last seen on, as a learning switch knows it. A port is an
 * opaque struct mac_owner that the caller embeds in what it names (a peer,
 * the local TAP device). docs/PROTOCOL-l2.md describes the forwarding rules.
 *
 * Concurrency. One rule for callers: lookups may run on any number of
 * threads at once, with no lock; everything else may run concurrently too,
 * because the table serialises changes with its own mutex. In detail:
 *
 * - mactable_lookup(), mactable_forward(), and mactable_learn() for a MAC
 *   already known on the same owner (the steady state: a refresh) take no
 *   lock and write no shared cache line in the common case. They read under
 *   a sequence counter and retry if a change raced with them.
 * - Learning a new MAC, a move, a refusal, static entries, removal, expiry,
 *   the dump and the stats take the table's mutex.
 * - An owner pointer returned by a lookup may be used after the owner was
 *   removed by another thread: the caller frees a struct mac_owner (its peer)
 *   only after mactable_remove_owner() and after every thread that may have
 *   looked it up has passed a quiescent point (docs/DESIGN.md, Threads).
 * - Fields of struct mac_owner are written under the table's mutex; read
 *   them through mactable_foreach() or mactable_owner_count() when other
 *   threads may be learning.
 *
 * Nothing allocates after mactable_new(): entries come from a fixed pool. */
#ifndef FERRY_MACTABLE_H
#define FERRY_MACTABLE_H

#include "ether.h"

#include <stdbool.h>
#include <stdint.h>

#define MACTABLE_DEFAULT_ENTRIES   65536
#define MACTABLE_MAX_ENTRIES	   (1u << 24)
#define MACTABLE_DEFAULT_AGEING_MS 300000
/* A learned entry's timestamp moves at most this often (or every eighth of
 * the ageing time if that is shorter), so that a busy source does not write
 * its entry's cache line on every frame. */
#define MACTABLE_REFRESH_MS 1000
/* Slots mactable_expire() examines per call: a table of 65,536 entries is
 * swept every 16 calls. Lookups never return an expired entry, and learning
 * reclaims expired entries when it needs room, so this only bounds how long
 * a dead entry keeps its memory and shows in the counters. */
#define MACTABLE_EXPIRE_BATCH 4096

/* Embed one in each port. Zero-initialised it has cap 0: it learns nothing
 * (static entries still work). An owner belongs to one table: after that
 * table is freed, mac_owner_init() it again before using it in another. */
struct mac_owner {
	unsigned entries;	   /* learned entries, counted against @cap */
	unsigned cap;		   /* the most learned entries it may hold */
	unsigned statics;	   /* static entries (not counted against @cap) */
	uint32_t head;		   /* its entries' list, table index + 1; 0 = none */
	uint64_t no_expiry_before; /* none of its learned entries can expire before this */
};

enum mac_learn_result {
	MAC_LEARN_NEW,		   /* a new entry on this owner */
	MAC_LEARN_REFRESHED,	   /* known on this owner already (learned: age reset; static: unchanged) */
	MAC_LEARN_MOVED,	   /* it was on another owner; now it is on this one */
	MAC_LEARN_OWNER_FULL,	   /* refused: the owner holds @cap learned entries that are still alive */
	MAC_LEARN_TABLE_FULL,	   /* refused: no free entry and none expired */
	MAC_LEARN_STATIC_CONFLICT, /* refused: a static entry puts it on another owner */
	MAC_LEARN_INVALID,	   /* refused: a group or all-zero address cannot be a source */
};

struct mactable_stats {
	uint64_t learned;	     /* new entries (MAC_LEARN_NEW) */
	uint64_t moved;		     /* MAC_LEARN_MOVED */
	uint64_t refused_owner_full; /* MAC_LEARN_OWNER_FULL */
	uint64_t refused_table_full; /* MAC_LEARN_TABLE_FULL */
	uint64_t refused_static;     /* MAC_LEARN_STATIC_CONFLICT */
	uint64_t invalid_source;     /* MAC_LEARN_INVALID */
	uint64_t expired;	     /* learned entries removed because they aged out */
	uint64_t entries;	     /* entries now in the table, static ones included */
	uint64_t capacity;	     /* max_entries */
};

/* One entry as mactable_foreach() shows it. */
struct mac_entry_info {
	uint8_t mac[ETH_ALEN];
	struct mac_owner *owner;
	uint64_t age_ms; /* since the last frame from it (0 for a static entry) */
	bool is_static;
};

struct mactable;

void mac_owner_init(struct mac_owner *owner, unsigned cap);

/* A table for at most @max_entries entries (0: MACTABLE_DEFAULT_ENTRIES;
 * more than MACTABLE_MAX_ENTRIES is refused) whose learned entries expire
 * @ageing_ms after the last frame from them (0: MACTABLE_DEFAULT_AGEING_MS).
 * Its hash is keyed with a random key (SipHash-2-4), so that nobody who
 * chooses source addresses can aim them all at one bucket. NULL on error. */
struct mactable *mactable_new(unsigned max_entries, uint64_t ageing_ms);
void mactable_free(struct mactable *t);

/* A frame from @owner carried source address @mac at @now_ms: learn it,
 * refresh it, or move it here from another owner (at once: a guest that
 * migrated must be reachable at its new place). A move to an owner at its
 * cap is refused, and the MAC is forgotten by its old owner too (frames to
 * it are flooded, which reaches its new place, rather than sent where it no
 * longer is). An owner at its cap or a full table first reclaims its
 * expired entries. A static entry is never replaced. */
enum mac_learn_result mactable_learn(struct mactable *t, const uint8_t mac[ETH_ALEN], struct mac_owner *owner,
				     uint64_t now_ms);

/* The owner @mac was learned on, or NULL if unknown or aged out. */
struct mac_owner *mactable_lookup(struct mactable *t, const uint8_t mac[ETH_ALEN], uint64_t now_ms);

/* Pin @mac to @owner: it never ages, learning never moves it, and it does
 * not count against @owner's cap. Replaces a learned entry for @mac or a
 * static one on another owner. Returns 0, -EINVAL (a group or all-zero
 * address) or -ENOSPC (table full of live entries). */
int mactable_add_static(struct mactable *t, const uint8_t mac[ETH_ALEN], struct mac_owner *owner);
/* Remove the static entry of @mac; 0 or -ENOENT (none, or not static). */
int mactable_remove_static(struct mactable *t, const uint8_t mac[ETH_ALEN]);

/* Drop every entry of @owner, static ones included, in time proportional
 * to its own entries. Call it before the owner's memory goes away. */
void mactable_remove_owner(struct mactable *t, struct mac_owner *owner);

/* Change @owner's cap. Entries above a lowered cap stay until they age out
 * or move; the owner learns nothing new until it is below the cap. */
void mactable_set_owner_cap(struct mactable *t, struct mac_owner *owner, unsigned cap);

/* Remove learned entries that have aged out; examines at most
 * MACTABLE_EXPIRE_BATCH slots, continuing where the last call stopped. Call
 * it about once a second. Returns the number of entries removed. */
unsigned mactable_expire(struct mactable *t, uint64_t now_ms);

/* Call @cb for each live entry, of @owner only (in time proportional to its
 * entries) or of every owner if @owner is NULL. A non-zero return stops the
 * walk and is returned. The table's mutex is held: @cb must not call into
 * the table. */
int mactable_foreach(struct mactable *t, struct mac_owner *owner, uint64_t now_ms,
		     int (*cb)(const struct mac_entry_info *e, void *ctx), void *ctx);

void mactable_stats(struct mactable *t, struct mactable_stats *out);
/* Entries of @owner, learned and static, read under the table's mutex. */
unsigned mactable_owner_count(struct mactable *t, const struct mac_owner *owner);

/* The forwarding decision for one frame that came in on @ingress (a peer,
 * or the local TAP device's owner): its source is learned on @ingress, then
 * its destination decides. */
enum mac_forward {
	MAC_FORWARD_UNICAST,	  /* send to *egress only */
	MAC_FORWARD_FLOOD,	  /* broadcast, multicast or unknown unicast: every port but @ingress */
	MAC_FORWARD_DROP_SOURCE,  /* drop: a group or all-zero source */
	MAC_FORWARD_DROP_STATIC,  /* drop: the source is pinned to another port by a static entry */
	MAC_FORWARD_DROP_INGRESS, /* drop: the destination lives behind @ingress itself */
};

enum mac_forward mactable_forward(struct mactable *t, const struct ether_info *eth, struct mac_owner *ingress,
				  uint64_t now_ms, struct mac_owner **egress);

#endif
