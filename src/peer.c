/* peer.c - peer lifetime, the peer table (by public key) and the session
 * index table (by our 32-bit index), and the queue of packets that wait
 * for a session. Both tables are chained hash tables that double when
 * their load passes one entry per bucket. */
#include "peer.h"

#include "crypto.h"
#include "device.h"
#include "log.h"
#include "noise.h"
#include "tcp.h"
#include "timers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t key_bucket(const uint8_t key[NOISE_PUBLIC_KEY_LEN], size_t size)
{
	uint64_t v;

	/* Public keys are uniformly random; their first bytes hash well. */
	memcpy(&v, key, sizeof(v));
	return (size_t)(v & (size - 1));
}

static int peer_hash_grow(struct noise_local *l)
{
	size_t size = l->peer_hash_size ? l->peer_hash_size * 2 : 64, i;
	struct peer **table = calloc(size, sizeof(*table));

	if (!table)
		return -ENOMEM;
	for (i = 0; i < l->peer_hash_size; i++) {
		struct peer *p = l->peer_hash[i], *next;

		for (; p; p = next) {
			size_t b = key_bucket(p->public_key, size);

			next = p->hash_next;
			p->hash_next = table[b];
			table[b] = p;
		}
	}
	free(l->peer_hash);
	l->peer_hash = table;
	l->peer_hash_size = size;
	return 0;
}

struct peer *peer_lookup(struct noise_local *l, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct peer *p;

	if (!l->peer_hash_size)
		return NULL;
	for (p = l->peer_hash[key_bucket(public_key, l->peer_hash_size)]; p; p = p->hash_next)
		if (!memcmp(p->public_key, public_key, NOISE_PUBLIC_KEY_LEN))
			return p;
	return NULL;
}

void peer_refresh_static(struct peer *p)
{
	struct noise_local *l = p->local;

	p->static_static_ok = l->has_private_key && crypt_dh(p->static_static, l->private_key, p->public_key);
	crypt_hash(p->cookie.mac1_key, LABEL_MAC1, strlen(LABEL_MAC1), p->public_key, NOISE_PUBLIC_KEY_LEN);
	crypt_hash(p->cookie.cookie_key, LABEL_COOKIE, strlen(LABEL_COOKIE), p->public_key, NOISE_PUBLIC_KEY_LEN);
}

struct peer *peer_create(struct device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	struct noise_local *l = &dev->local;
	struct peer *p;
	size_t b;

	if (l->n_peers >= l->peer_hash_size && peer_hash_grow(l) < 0)
		return NULL;
	if (timers_reserve(dev, l->n_peers + 1) < 0)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p) {
		mac_owner_init(&p->mac_owner, PEER_MAC_CAP);
		tcp_backoff_init(&p->transport.backoff);
	}
	if (!p)
		return NULL;
	p->dev = dev;
	p->local = l;
	memcpy(p->public_key, public_key, NOISE_PUBLIC_KEY_LEN);
	peer_refresh_static(p);
	b = key_bucket(public_key, l->peer_hash_size);
	p->hash_next = l->peer_hash[b];
	l->peer_hash[b] = p;
	p->list_prev = dev->peers_tail;
	if (dev->peers_tail)
		dev->peers_tail->list_next = p;
	else
		dev->peers_head = p;
	dev->peers_tail = p;
	l->n_peers++;
	return p;
}

void peer_remove(struct peer *p)
{
	struct device *dev = p->dev;
	struct noise_local *l = p->local;
	struct peer **pp = &l->peer_hash[key_bucket(p->public_key, l->peer_hash_size)];

	for (; *pp; pp = &(*pp)->hash_next) {
		if (*pp == p) {
			*pp = p->hash_next;
			break;
		}
	}
	if (p->list_prev)
		p->list_prev->list_next = p->list_next;
	else
		dev->peers_head = p->list_next;
	if (p->list_next)
		p->list_next->list_prev = p->list_prev;
	else
		dev->peers_tail = p->list_prev;
	l->n_peers--;
	allowedips_remove_peer(dev->aips, p);
	if (dev->macs)
		mactable_remove_owner(dev->macs, &p->mac_owner);
	tcp_peer_removed(&dev->io, &p->transport);
	reach_peer_removed(p);
	noise_keypairs_clear(p);
	noise_handshake_clear(p);
	peer_purge_staged(p);
	fragment_table_free(&p->fragments);
	timers_stop(p);
	crypt_wipe(p, sizeof(*p));
	free(p);
}

/* --- session indices --- */

static size_t index_bucket(uint32_t index, size_t size)
{
	/* Indices are random, chosen by us: the low bits are good enough. */
	return index & (size - 1);
}

static int index_grow(struct noise_local *l)
{
	size_t size = l->index_hash_size ? l->index_hash_size * 2 : 256, i;
	struct index_entry **table = calloc(size, sizeof(*table));

	if (!table)
		return -ENOMEM;
	for (i = 0; i < l->index_hash_size; i++) {
		struct index_entry *e = l->index_hash[i], *next;

		for (; e; e = next) {
			size_t b = index_bucket(e->index, size);

			next = e->next;
			e->next = table[b];
			table[b] = e;
		}
	}
	free(l->index_hash);
	l->index_hash = table;
	l->index_hash_size = size;
	return 0;
}

static bool index_in_use(struct noise_local *l, uint32_t index)
{
	struct index_entry *e;

	for (e = l->index_hash[index_bucket(index, l->index_hash_size)]; e; e = e->next)
		if (e->index == index)
			return true;
	return false;
}

static void index_insert(struct noise_local *l, struct index_entry *e)
{
	size_t b = index_bucket(e->index, l->index_hash_size);

	e->next = l->index_hash[b];
	l->index_hash[b] = e;
	e->hashed = true;
	l->n_indices++;
}

void index_add(struct noise_local *l, struct index_entry *e, enum index_kind kind, struct peer *p)
{
	index_remove(l, e);
	if (l->n_indices >= l->index_hash_size && index_grow(l) < 0 && !l->index_hash_size) {
		log_err("out of memory for session indices");
		abort();
	}
	/* A random index that is not in use; the table is sparse, so this
	 * loop almost never runs twice. */
	do
		crypt_random(&e->index, sizeof(e->index));
	while (index_in_use(l, e->index));
	e->kind = kind;
	e->peer = p;
	index_insert(l, e);
}

void index_remove(struct noise_local *l, struct index_entry *e)
{
	struct index_entry **pp;

	if (!e->hashed)
		return;
	for (pp = &l->index_hash[index_bucket(e->index, l->index_hash_size)]; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	}
	e->hashed = false;
	e->next = NULL;
	l->n_indices--;
}

void index_take_over(struct noise_local *l, struct index_entry *from, struct index_entry *to, enum index_kind kind)
{
	uint32_t index = from->index;

	index_remove(l, from);
	index_remove(l, to);
	to->index = index;
	to->kind = kind;
	to->peer = from->peer;
	index_insert(l, to);
}

struct index_entry *index_lookup(struct noise_local *l, uint32_t index, enum index_kind kind)
{
	struct index_entry *e;

	if (!l->index_hash_size)
		return NULL;
	for (e = l->index_hash[index_bucket(index, l->index_hash_size)]; e; e = e->next)
		if (e->index == index)
			return e->kind == kind ? e : NULL;
	return NULL;
}

/* --- packets waiting for a session --- */

void peer_stage(struct peer *p, enum ferry_kind kind, const uint8_t *pkt, size_t len)
{
	struct staged_packet *s;

	if (!p->staged) {
		/* Once per wait for a session, not per packet. */
		p->staged = calloc(MAX_STAGED_PACKETS, sizeof(*p->staged));
		if (!p->staged) {
			device_count_drop(p->dev, DROP_NO_MEMORY);
			return;
		}
		p->staged_head = 0;
	}
	if (p->staged_count == MAX_STAGED_PACKETS) {
		/* Full: the oldest goes, as in the WireGuard module. */
		peer_unstage_oldest(p);
		device_count_drop(p->dev, DROP_STAGED_OVERFLOW);
	}
	s = &p->staged[(p->staged_head + p->staged_count) % MAX_STAGED_PACKETS];
	s->data = malloc(len ? len : 1); /* a keepalive is an empty packet */
	if (!s->data) {
		device_count_drop(p->dev, DROP_NO_MEMORY);
		if (!p->staged_count)
			peer_purge_staged(p);
		return;
	}
	if (len)
		memcpy(s->data, pkt, len);
	s->len = (uint16_t)len;
	s->kind = (uint8_t)kind;
	p->staged_count++;
}

void peer_unstage_oldest(struct peer *p)
{
	struct staged_packet *s;

	if (!p->staged_count)
		return;
	s = &p->staged[p->staged_head];
	free(s->data);
	s->data = NULL;
	p->staged_head = (p->staged_head + 1) % MAX_STAGED_PACKETS;
	if (--p->staged_count)
		return;
	free(p->staged);
	p->staged = NULL;
	p->staged_head = 0;
}

void peer_purge_staged(struct peer *p)
{
	while (p->staged_count)
		peer_unstage_oldest(p);
	free(p->staged);
	p->staged = NULL;
	p->staged_head = 0;
}
