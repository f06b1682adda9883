/* mactable.c - the MAC learning table of TAP mode: a fixed pool of entries,
 * a chained hash over them keyed with a secret SipHash key, and one list of
 * entries per owner.
 *
 * Layout. Entries live in one array allocated by mactable_new() and are
 * named by index + 1 (0 is "none"), so that a chain link is 32 bits and a
 * reader that follows a stale link still lands inside the array. Each
 * bucket heads a singly linked chain (hnext). Each owner heads a doubly
 * linked list of its entries (onext/oprev), which makes removing a peer
 * cost its own entries, not the table. A free entry sits on the free list
 * (through onext) with key 0.
 *
 * Concurrency: a sequence lock. Writers take the mutex, make the sequence
 * odd, change links and fields, make it even again. Readers (lookups and
 * the refresh of a known MAC) take no lock: they read the sequence, walk a
 * chain with relaxed atomic loads, and retry if the sequence moved. Every
 * field a reader touches is atomic and every index it can load is in range,
 * so a reader racing with a writer reads stale values, never freed memory,
 * and throws them away. Fields only writers use are plain. Each write
 * section is one small change (one insert, move or unlink), so a reader
 * waits at most that long.
 *
 * Ageing is lazy, and an aged-out entry behaves as if it were absent: a
 * lookup ignores it, learning its MAC again makes a new entry (and counts
 * against the cap like one), and learning reclaims expired entries when an
 * owner or the table needs room; mactable_expire()
 * sweeps the pool a slice at a time to give memory back and count them.
 * To keep a peer that sprays new addresses at a full table from paying a
 * scan per frame, the table and each owner remember a time before which
 * none of their learned entries can expire: a refresh only moves that
 * time later, so until then a refusal is immediate. */
#include "mactable.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Where a writer on another thread can change the table under a reader.
 * The unit test defines this hook to run such a writer right there, on the
 * reader's own thread, so that each race is replayed deterministically. */
enum race_point { RACE_READ_WALK, RACE_REFRESH_STORE, RACE_LEARN_LOCK };
#ifndef MACTABLE_RACE_HOOK
#define MACTABLE_RACE_HOOK(t, point) ((void)0)
#endif

#define KEY_MAC	   0x0000ffffffffffffull
#define KEY_USED   (1ull << 48)
#define KEY_STATIC (1ull << 49)

struct mac_entry {
	_Atomic uint64_t key;	    /* MAC | KEY_USED [| KEY_STATIC]; 0 when free */
	_Atomic uint64_t last_seen; /* ms of the last frame from it (learned entries) */
	_Atomic(struct mac_owner *) owner;
	_Atomic uint32_t hnext; /* next in the bucket's chain */
	uint32_t onext, oprev;	/* the owner's list (onext: the free list when free) */
};

struct mactable {
	/* Read on every lookup; written only by writers. */
	alignas(64) _Atomic uint32_t seq;
	uint32_t bucket_mask;
	uint32_t size;
	uint64_t ageing_ms;
	uint64_t refresh_ms; /* MACTABLE_REFRESH_MS, or less for a short ageing time */
	_Atomic uint32_t *buckets;
	struct mac_entry *pool;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];

	/* Writers only, under lock. */
	alignas(64) pthread_mutex_t lock;
	uint32_t free_head;
	uint32_t count;
	uint32_t hand; /* where mactable_expire() resumes */
	uint64_t no_expiry_before;
	uint64_t latest_ms; /* the latest now_ms a writer was given */

	alignas(64) struct {
		_Atomic uint64_t learned, moved, refused_owner_full, refused_table_full, refused_static, invalid_source,
		    expired;
	} stats;
};

/* What a reader saw of one entry. */
struct snapshot {
	uint32_t slot;
	uint32_t seq;
	struct mac_owner *owner;
	uint64_t last_seen;
	bool is_static;
};

static void count(_Atomic uint64_t *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

static uint64_t mac_key(const uint8_t mac[ETH_ALEN])
{
	return (uint64_t)mac[0] << 40 | (uint64_t)mac[1] << 32 | (uint64_t)mac[2] << 24 | (uint64_t)mac[3] << 16 |
	       (uint64_t)mac[4] << 8 | mac[5];
}

static void key_mac(uint64_t key, uint8_t mac[ETH_ALEN])
{
	int i;

	for (i = 0; i < ETH_ALEN; i++)
		mac[i] = (uint8_t)(key >> (8 * (ETH_ALEN - 1 - i)));
}

static uint32_t bucket_of(const struct mactable *t, uint64_t mac)
{
	uint8_t in[8], out[crypto_shorthash_BYTES];
	uint32_t h;

	memcpy(in, &mac, sizeof(in));
	crypto_shorthash(out, in, sizeof(in), t->hash_key);
	memcpy(&h, out, sizeof(h));
	return h & t->bucket_mask;
}

static struct mac_entry *entry(const struct mactable *t, uint32_t slot)
{
	return &t->pool[slot - 1];
}

static uint64_t load64(_Atomic uint64_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static uint32_t load32(_Atomic uint32_t *p)
{
	return atomic_load_explicit(p, memory_order_relaxed);
}

static struct mac_owner *load_owner(struct mac_entry *e)
{
	return atomic_load_explicit(&e->owner, memory_order_relaxed);
}

static bool aged_out(const struct mactable *t, uint64_t last_seen, uint64_t now_ms)
{
	return now_ms >= last_seen && now_ms - last_seen >= t->ageing_ms;
}

static bool entry_expired(const struct mactable *t, struct mac_entry *e, uint64_t now_ms)
{
	return !(load64(&e->key) & KEY_STATIC) && aged_out(t, load64(&e->last_seen), now_ms);
}

/* -- readers ------------------------------------------------------------ */

static void cpu_relax(unsigned *spins)
{
	if (++*spins % 64 == 0) {
		sched_yield(); /* the writer may have been preempted */
		return;
	}
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

/* Find @mac without a lock: a consistent snapshot of its entry, or false.
 * s->seq is the sequence the snapshot is valid for. */
static bool read_entry(struct mactable *t, uint64_t mac, uint32_t b, struct snapshot *s)
{
	unsigned spins = 0;

	for (;;) {
		uint32_t seq = atomic_load_explicit(&t->seq, memory_order_acquire), slot, steps;
		bool found = false;

		if (seq & 1) {
			cpu_relax(&spins);
			continue;
		}
		slot = load32(&t->buckets[b]);
		/* A chain is never longer than the pool; a reader that wandered
		 * off on stale links stops here and retries. */
		for (steps = 0; slot && steps < t->size; steps++) {
			struct mac_entry *e = entry(t, slot);
			uint64_t key = load64(&e->key);

			if ((key & (KEY_MAC | KEY_USED)) == (mac | KEY_USED)) {
				s->slot = slot;
				s->owner = load_owner(e);
				s->last_seen = load64(&e->last_seen);
				s->is_static = key & KEY_STATIC;
				found = true;
				break;
			}
			MACTABLE_RACE_HOOK(t, RACE_READ_WALK);
			slot = load32(&e->hnext);
		}
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&t->seq, memory_order_relaxed) == seq) {
			s->seq = seq;
			return found;
		}
	}
}

struct mac_owner *mactable_lookup(struct mactable *t, const uint8_t mac[ETH_ALEN], uint64_t now_ms)
{
	uint64_t key = mac_key(mac);
	struct snapshot s;

	if (!read_entry(t, key, bucket_of(t, key), &s))
		return NULL;
	if (!s.is_static && aged_out(t, s.last_seen, now_ms))
		return NULL;
	return s.owner;
}

/* -- writers: called with t->lock held ------------------------------------ */

static void write_begin(struct mactable *t)
{
	uint32_t seq = atomic_load_explicit(&t->seq, memory_order_relaxed);

	atomic_store_explicit(&t->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
}

static void write_end(struct mactable *t)
{
	uint32_t seq = atomic_load_explicit(&t->seq, memory_order_relaxed);

	atomic_store_explicit(&t->seq, seq + 1, memory_order_release);
}

static uint32_t find_slot(struct mactable *t, uint64_t mac, uint32_t b)
{
	uint32_t slot = load32(&t->buckets[b]);

	while (slot && (load64(&entry(t, slot)->key) & KEY_MAC) != mac)
		slot = load32(&entry(t, slot)->hnext);
	return slot;
}

static void owner_link(struct mactable *t, struct mac_owner *o, uint32_t slot, bool is_static)
{
	struct mac_entry *e = entry(t, slot);

	e->oprev = 0;
	e->onext = o->head;
	if (o->head)
		entry(t, o->head)->oprev = slot;
	o->head = slot;
	if (is_static)
		o->statics++;
	else
		o->entries++;
}

static void owner_unlink(struct mactable *t, struct mac_owner *o, uint32_t slot, bool is_static)
{
	struct mac_entry *e = entry(t, slot);

	if (e->oprev)
		entry(t, e->oprev)->onext = e->onext;
	else
		o->head = e->onext;
	if (e->onext)
		entry(t, e->onext)->oprev = e->oprev;
	if (is_static)
		o->statics--;
	else
		o->entries--;
}

static void note_expiry(struct mactable *t, struct mac_owner *o, uint64_t now_ms)
{
	uint64_t expiry = now_ms + t->ageing_ms;

	if (expiry < o->no_expiry_before)
		o->no_expiry_before = expiry;
	if (expiry < t->no_expiry_before)
		t->no_expiry_before = expiry;
}

static uint32_t insert(struct mactable *t, uint64_t mac, uint32_t b, struct mac_owner *o, bool is_static,
		       uint64_t now_ms)
{
	uint32_t slot = t->free_head;
	struct mac_entry *e = entry(t, slot);

	t->free_head = e->onext;
	write_begin(t);
	atomic_store_explicit(&e->key, mac | KEY_USED | (is_static ? KEY_STATIC : 0), memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, now_ms, memory_order_relaxed);
	atomic_store_explicit(&e->owner, o, memory_order_relaxed);
	atomic_store_explicit(&e->hnext, load32(&t->buckets[b]), memory_order_relaxed);
	atomic_store_explicit(&t->buckets[b], slot, memory_order_relaxed);
	write_end(t);
	owner_link(t, o, slot, is_static);
	if (!is_static)
		note_expiry(t, o, now_ms);
	t->count++;
	return slot;
}

static void remove_slot(struct mactable *t, uint32_t slot)
{
	struct mac_entry *e = entry(t, slot);
	uint64_t key = load64(&e->key);
	uint32_t b = bucket_of(t, key & KEY_MAC), prev = 0, cur = load32(&t->buckets[b]);
	uint32_t next = load32(&e->hnext);

	while (cur != slot) {
		prev = cur;
		cur = load32(&entry(t, cur)->hnext);
	}
	write_begin(t);
	if (prev)
		atomic_store_explicit(&entry(t, prev)->hnext, next, memory_order_relaxed);
	else
		atomic_store_explicit(&t->buckets[b], next, memory_order_relaxed);
	/* A reader still on this entry must not match it; its hnext stays, so
	 * that reader can walk on (and will retry anyway). */
	atomic_store_explicit(&e->key, 0, memory_order_relaxed);
	write_end(t);
	owner_unlink(t, load_owner(e), slot, key & KEY_STATIC);
	e->onext = t->free_head;
	t->free_head = slot;
	t->count--;
}

static void expire_slot(struct mactable *t, uint32_t slot)
{
	remove_slot(t, slot);
	count(&t->stats.expired);
}

/* Does @o have room for one more learned entry? If it is at its cap, first
 * reclaim its expired entries, unless it is known that none can be. */
static bool owner_has_room(struct mactable *t, struct mac_owner *o, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	uint32_t slot;

	if (o->entries < o->cap)
		return true;
	if (!o->entries || now_ms < o->no_expiry_before)
		return false;
	for (slot = o->head; slot;) {
		struct mac_entry *e = entry(t, slot);
		uint32_t onext = e->onext;

		if (!(load64(&e->key) & KEY_STATIC)) {
			uint64_t seen = load64(&e->last_seen);

			if (aged_out(t, seen, now_ms))
				expire_slot(t, slot);
			else if (seen + t->ageing_ms < next)
				next = seen + t->ageing_ms;
		}
		slot = onext;
	}
	o->no_expiry_before = next;
	return o->entries < o->cap;
}

/* The free list is empty: reclaim every expired entry in one pass, unless
 * it is known that none can have expired yet. */
static bool reclaim(struct mactable *t, uint64_t now_ms)
{
	uint64_t next = UINT64_MAX;
	uint32_t slot;

	if (now_ms < t->no_expiry_before)
		return false;
	for (slot = 1; slot <= t->size; slot++) {
		struct mac_entry *e = entry(t, slot);
		uint64_t key = load64(&e->key), seen;

		if (!(key & KEY_USED) || (key & KEY_STATIC))
			continue;
		seen = load64(&e->last_seen);
		if (aged_out(t, seen, now_ms))
			expire_slot(t, slot);
		else if (seen + t->ageing_ms < next)
			next = seen + t->ageing_ms;
	}
	t->no_expiry_before = next;
	return t->free_head != 0;
}

static void move_slot(struct mactable *t, uint32_t slot, struct mac_owner *to, uint64_t now_ms)
{
	struct mac_entry *e = entry(t, slot);

	owner_unlink(t, load_owner(e), slot, false);
	write_begin(t);
	atomic_store_explicit(&e->owner, to, memory_order_relaxed);
	atomic_store_explicit(&e->last_seen, now_ms, memory_order_relaxed);
	write_end(t);
	owner_link(t, to, slot, false);
	note_expiry(t, to, now_ms);
}

static bool refresh_due(const struct mactable *t, uint64_t last_seen, uint64_t now_ms)
{
	return now_ms > last_seen && now_ms - last_seen >= t->refresh_ms;
}

static void refresh(struct mactable *t, struct mac_entry *e, uint64_t now_ms)
{
	if (refresh_due(t, load64(&e->last_seen), now_ms))
		atomic_store_explicit(&e->last_seen, now_ms, memory_order_relaxed);
}

static enum mac_learn_result learn_locked(struct mactable *t, uint64_t mac, uint32_t b, struct mac_owner *owner,
					  uint64_t now_ms)
{
	uint32_t slot = find_slot(t, mac, b);

	if (slot) {
		struct mac_entry *e = entry(t, slot);
		struct mac_owner *was = load_owner(e);

		if (load64(&e->key) & KEY_STATIC) {
			if (was == owner)
				return MAC_LEARN_REFRESHED;
			count(&t->stats.refused_static);
			return MAC_LEARN_STATIC_CONFLICT;
		}
		if (!entry_expired(t, e, now_ms)) {
			if (was == owner) {
				refresh(t, e, now_ms);
				return MAC_LEARN_REFRESHED;
			}
			if (!owner_has_room(t, owner, now_ms)) {
				/* Its old place is wrong; flooding reaches the new one. */
				remove_slot(t, slot);
				count(&t->stats.refused_owner_full);
				return MAC_LEARN_OWNER_FULL;
			}
			move_slot(t, slot, owner, now_ms);
			count(&t->stats.moved);
			return MAC_LEARN_MOVED;
		}
		expire_slot(t, slot); /* an aged-out entry is as good as absent */
	}
	if (!owner_has_room(t, owner, now_ms)) {
		count(&t->stats.refused_owner_full);
		return MAC_LEARN_OWNER_FULL;
	}
	if (!t->free_head && !reclaim(t, now_ms)) {
		count(&t->stats.refused_table_full);
		return MAC_LEARN_TABLE_FULL;
	}
	insert(t, mac, b, owner, false, now_ms);
	count(&t->stats.learned);
	return MAC_LEARN_NEW;
}

enum mac_learn_result mactable_learn(struct mactable *t, const uint8_t mac[ETH_ALEN], struct mac_owner *owner,
				     uint64_t now_ms)
{
	enum mac_learn_result r;
	uint64_t key;
	uint32_t b;
	struct snapshot s;

	if (!ether_is_valid_source(mac)) {
		count(&t->stats.invalid_source);
		return MAC_LEARN_INVALID;
	}
	key = mac_key(mac);
	b = bucket_of(t, key);

	/* The common case, without the lock: a frame from where its source
	 * already lives. */
	if (read_entry(t, key, b, &s)) {
		if (s.is_static) {
			if (s.owner == owner)
				return MAC_LEARN_REFRESHED;
			count(&t->stats.refused_static);
			return MAC_LEARN_STATIC_CONFLICT;
		}
		if (s.owner == owner && !aged_out(t, s.last_seen, now_ms)) {
			if (!refresh_due(t, s.last_seen, now_ms))
				return MAC_LEARN_REFRESHED;
			MACTABLE_RACE_HOOK(t, RACE_REFRESH_STORE);
			atomic_store_explicit(&entry(t, s.slot)->last_seen, now_ms, memory_order_relaxed);
			/* If a writer changed the table meanwhile, the store may
			 * have hit a recycled entry (harmless: a stale entry lives
			 * a little longer); do it again properly under the lock. */
			atomic_thread_fence(memory_order_seq_cst);
			if (atomic_load_explicit(&t->seq, memory_order_relaxed) == s.seq)
				return MAC_LEARN_REFRESHED;
		}
	}

	MACTABLE_RACE_HOOK(t, RACE_LEARN_LOCK);
	pthread_mutex_lock(&t->lock);
	if (now_ms > t->latest_ms)
		t->latest_ms = now_ms;
	r = learn_locked(t, key, b, owner, now_ms);
	pthread_mutex_unlock(&t->lock);
	return r;
}

/* -- the rest of the API ------------------------------------------------ */

void mac_owner_init(struct mac_owner *owner, unsigned cap)
{
	memset(owner, 0, sizeof(*owner));
	owner->cap = cap;
}

struct mactable *mactable_new(unsigned max_entries, uint64_t ageing_ms)
{
	struct mactable *t;
	uint32_t nbuckets = 1, i;

	if (!max_entries)
		max_entries = MACTABLE_DEFAULT_ENTRIES;
	if (!ageing_ms)
		ageing_ms = MACTABLE_DEFAULT_AGEING_MS;
	if (max_entries > MACTABLE_MAX_ENTRIES || ageing_ms > UINT64_MAX / 4) {
		errno = EINVAL;
		return NULL;
	}
	if (sodium_init() < 0) {
		errno = EIO;
		return NULL;
	}
	/* Twice as many buckets as entries: chains of one on average. */
	while (nbuckets < 2 * max_entries)
		nbuckets <<= 1;

	t = aligned_alloc(64, (sizeof(*t) + 63) / 64 * 64);
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->pool = calloc(max_entries, sizeof(*t->pool));
	t->buckets = calloc(nbuckets, sizeof(*t->buckets));
	if (!t->pool || !t->buckets || pthread_mutex_init(&t->lock, NULL)) {
		free(t->pool);
		free(t->buckets);
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	t->size = max_entries;
	t->bucket_mask = nbuckets - 1;
	t->ageing_ms = ageing_ms;
	t->refresh_ms = ageing_ms / 8 < MACTABLE_REFRESH_MS ? ageing_ms / 8 : MACTABLE_REFRESH_MS;
	crypto_shorthash_keygen(t->hash_key);
	for (i = 1; i <= max_entries; i++)
		t->pool[i - 1].onext = i < max_entries ? i + 1 : 0;
	t->free_head = 1;
	return t;
}

void mactable_free(struct mactable *t)
{
	if (!t)
		return;
	pthread_mutex_destroy(&t->lock);
	sodium_memzero(t->hash_key, sizeof(t->hash_key));
	free(t->pool);
	free(t->buckets);
	free(t);
}

int mactable_add_static(struct mactable *t, const uint8_t mac[ETH_ALEN], struct mac_owner *owner)
{
	uint64_t key;
	uint32_t b, slot;
	int ret = 0;

	if (!ether_is_valid_source(mac))
		return -EINVAL;
	key = mac_key(mac);
	b = bucket_of(t, key);
	pthread_mutex_lock(&t->lock);
	slot = find_slot(t, key, b);
	if (slot) {
		struct mac_entry *e = entry(t, slot);
		bool was_static = load64(&e->key) & KEY_STATIC;

		if (!was_static || load_owner(e) != owner) {
			owner_unlink(t, load_owner(e), slot, was_static);
			write_begin(t);
			atomic_store_explicit(&e->key, key | KEY_USED | KEY_STATIC, memory_order_relaxed);
			atomic_store_explicit(&e->owner, owner, memory_order_relaxed);
			write_end(t);
			owner_link(t, owner, slot, true);
		}
	} else if (!t->free_head && !reclaim(t, t->latest_ms)) {
		ret = -ENOSPC;
	} else {
		insert(t, key, b, owner, true, t->latest_ms);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

int mactable_remove_static(struct mactable *t, const uint8_t mac[ETH_ALEN])
{
	uint64_t key = mac_key(mac);
	uint32_t b = bucket_of(t, key), slot;
	int ret = -ENOENT;

	pthread_mutex_lock(&t->lock);
	slot = find_slot(t, key, b);
	if (slot && (load64(&entry(t, slot)->key) & KEY_STATIC)) {
		remove_slot(t, slot);
		ret = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void mactable_remove_owner(struct mactable *t, struct mac_owner *owner)
{
	pthread_mutex_lock(&t->lock);
	while (owner->head)
		remove_slot(t, owner->head);
	owner->no_expiry_before = 0;
	pthread_mutex_unlock(&t->lock);
}

void mactable_set_owner_cap(struct mactable *t, struct mac_owner *owner, unsigned cap)
{
	pthread_mutex_lock(&t->lock);
	owner->cap = cap;
	pthread_mutex_unlock(&t->lock);
}

unsigned mactable_expire(struct mactable *t, uint64_t now_ms)
{
	uint32_t n = t->size < MACTABLE_EXPIRE_BATCH ? t->size : MACTABLE_EXPIRE_BATCH;
	unsigned removed = 0;

	pthread_mutex_lock(&t->lock);
	if (now_ms > t->latest_ms)
		t->latest_ms = now_ms;
	if (now_ms < t->no_expiry_before)
		goto out;
	while (n--) {
		uint32_t slot = t->hand + 1;

		t->hand = slot == t->size ? 0 : slot;
		if ((load64(&entry(t, slot)->key) & KEY_USED) && entry_expired(t, entry(t, slot), now_ms)) {
			expire_slot(t, slot);
			removed++;
		}
	}
out:
	pthread_mutex_unlock(&t->lock);
	return removed;
}

static int visit(struct mactable *t, uint32_t slot, uint64_t now_ms,
		 int (*cb)(const struct mac_entry_info *e, void *ctx), void *ctx)
{
	struct mac_entry *e = entry(t, slot);
	uint64_t key = load64(&e->key), seen = load64(&e->last_seen);
	struct mac_entry_info info;

	if (!(key & KEY_USED) || entry_expired(t, e, now_ms))
		return 0;
	key_mac(key, info.mac);
	info.owner = load_owner(e);
	info.is_static = key & KEY_STATIC;
	info.age_ms = info.is_static || now_ms < seen ? 0 : now_ms - seen;
	return cb(&info, ctx);
}

int mactable_foreach(struct mactable *t, struct mac_owner *owner, uint64_t now_ms,
		     int (*cb)(const struct mac_entry_info *e, void *ctx), void *ctx)
{
	uint32_t slot;
	int ret = 0;

	pthread_mutex_lock(&t->lock);
	if (owner) {
		for (slot = owner->head; slot && !ret; slot = entry(t, slot)->onext)
			ret = visit(t, slot, now_ms, cb, ctx);
	} else {
		for (slot = 1; slot <= t->size && !ret; slot++)
			ret = visit(t, slot, now_ms, cb, ctx);
	}
	pthread_mutex_unlock(&t->lock);
	return ret;
}

void mactable_stats(struct mactable *t, struct mactable_stats *out)
{
	pthread_mutex_lock(&t->lock);
	out->entries = t->count;
	pthread_mutex_unlock(&t->lock);
	out->capacity = t->size;
	out->learned = load64(&t->stats.learned);
	out->moved = load64(&t->stats.moved);
	out->refused_owner_full = load64(&t->stats.refused_owner_full);
	out->refused_table_full = load64(&t->stats.refused_table_full);
	out->refused_static = load64(&t->stats.refused_static);
	out->invalid_source = load64(&t->stats.invalid_source);
	out->expired = load64(&t->stats.expired);
}

unsigned mactable_owner_count(struct mactable *t, const struct mac_owner *owner)
{
	unsigned n;

	pthread_mutex_lock(&t->lock);
	n = owner->entries + owner->statics;
	pthread_mutex_unlock(&t->lock);
	return n;
}

/* A learning bridge's decision (IEEE 802.1D, 8.7 and 8.8): learn the source
 * on the port the frame came in on, then forward by destination; never back
 * out of the ingress port. */
enum mac_forward mactable_forward(struct mactable *t, const struct ether_info *eth, struct mac_owner *ingress,
				  uint64_t now_ms, struct mac_owner **egress)
{
	struct mac_owner *to;

	*egress = NULL;
	if (ingress) {
		switch (mactable_learn(t, eth->src, ingress, now_ms)) {
		case MAC_LEARN_INVALID:
			return MAC_FORWARD_DROP_SOURCE;
		case MAC_LEARN_STATIC_CONFLICT:
			return MAC_FORWARD_DROP_STATIC;
		default:
			break; /* a refusal to learn still forwards */
		}
	} else if (!ether_is_valid_source(eth->src)) {
		return MAC_FORWARD_DROP_SOURCE;
	}
	if (ether_is_multicast(eth->dst))
		return MAC_FORWARD_FLOOD;
	to = mactable_lookup(t, eth->dst, now_ms);
	if (!to)
		return MAC_FORWARD_FLOOD;
	if (to == ingress)
		return MAC_FORWARD_DROP_INGRESS;
	*egress = to;
	return MAC_FORWARD_UNICAST;
}
