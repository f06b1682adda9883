/* allowedips.c - cryptokey routing: longest-prefix match from IPv4/IPv6
 * prefixes to peers.
 *
 * Each family has its own path-compressed binary trie. A node holds a prefix
 * (key masked to cidr bits) and, if the prefix was inserted, a peer. A child
 * hangs under child[b], where b is the child's key bit just after the
 * parent's prefix; every child's cidr is greater than its parent's and its
 * key begins with the parent's prefix. A node without a peer only exists to
 * branch, so it always has exactly two children: the trie holds at most
 * one node per prefix plus one branching node per prefix, and a lookup walks
 * one root-to-leaf path, comparing each address bit about once, so it costs
 * O(address bits) whatever the number of entries.
 *
 * Removing a peer must not scan the table (a daemon with 100,000 peers
 * removes them one at a time). The peer pointer is opaque, so a small
 * open-addressing hash maps it to the head of a doubly linked list threaded
 * through that peer's nodes: foreach and remove_peer touch only the peer's
 * own prefixes, and unlinking one node is O(1) whatever the peer's size.
 * Nodes keep no parent pointer; removal re-walks the node's own key from the
 * root (O(bits)) to find its parent and grandparent, which is all that
 * merging needs: a peerless node with one child is replaced by that child,
 * and a freed leaf may leave its peerless parent with one child.
 *
 * Memory: a node is 40 bytes of pointers, a length and a family byte, then
 * only the key bytes its family needs (malloc of 46 or 58 bytes, which glibc
 * rounds to 64- and 80-byte chunks). A million random IPv4 /32s cost about
 * 128 bytes each (the route plus roughly one branching node), IPv6 about 164.
 *
 * Not thread-safe: the owner serialises all calls. The foreach callback must
 * not modify the table. */
#include "allowedips.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* Bits 0..128 give at most 129 nodes on one root-to-leaf path. */
#define MAX_DEPTH 129

struct node {
	struct node *child[2];
	void *peer;		  /* NULL: a branching node */
	struct node *next, *prev; /* the peer's list, in insertion order; prev NULL at its head */
	uint8_t cidr;		  /* prefix length */
	uint8_t v6;		  /* which trie, for foreach */
	uint8_t key[];		  /* 4 or 16 bytes, masked to cidr */
};

struct peer_entry {
	void *peer; /* NULL: free slot */
	struct node *first, *last;
};

/* Linear probing, power-of-two size, at most 3/4 full; deletion shifts
 * entries back so no tombstones accumulate as peers come and go. */
struct peer_table {
	struct peer_entry *slots;
	size_t size;
	size_t used;
};

struct allowedips {
	struct node *root4, *root6;
	struct peer_table peers;
	size_t count;
};

static size_t peer_hash(const void *peer)
{
	uint64_t x = (uint64_t)(uintptr_t)peer;

	/* Pointers share low zero bits and high bits; mix them all in. */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static struct peer_entry *peer_find(const struct peer_table *pt, const void *peer)
{
	size_t mask = pt->size - 1, i;

	if (!pt->size)
		return NULL;
	for (i = peer_hash(peer) & mask; pt->slots[i].peer; i = (i + 1) & mask) {
		if (pt->slots[i].peer == peer)
			return &pt->slots[i];
	}
	return NULL;
}

static void peer_place(struct peer_table *pt, void *peer, struct node *first, struct node *last)
{
	size_t mask = pt->size - 1, i;

	for (i = peer_hash(peer) & mask; pt->slots[i].peer; i = (i + 1) & mask)
		;
	pt->slots[i].peer = peer;
	pt->slots[i].first = first;
	pt->slots[i].last = last;
	pt->used++;
}

static int peer_rehash(struct peer_table *pt, size_t size)
{
	struct peer_table moved = { .size = size };
	size_t i;

	moved.slots = calloc(size, sizeof(*moved.slots));
	if (!moved.slots)
		return -ENOMEM;
	for (i = 0; i < pt->size; i++) {
		if (pt->slots[i].peer)
			peer_place(&moved, pt->slots[i].peer, pt->slots[i].first, pt->slots[i].last);
	}
	free(pt->slots);
	*pt = moved;
	return 0;
}

/* Make room for one more peer, so that the insertion which follows cannot
 * fail half-way through changing the trie. */
static int peer_reserve(struct peer_table *pt)
{
	if ((pt->used + 1) * 4 <= pt->size * 3)
		return 0;
	return peer_rehash(pt, pt->size ? pt->size * 2 : 16);
}

/* Give memory back once most peers are gone, leaving the table between 1/8
 * and 1/4 full so that a few inserts do not grow it straight back. Only a
 * removal calls this, never between peer_reserve() and its use. */
static void peer_shrink(struct peer_table *pt)
{
	size_t size = pt->size;

	while (size > 16 && pt->used * 8 < size)
		size /= 2;
	if (size != pt->size)
		peer_rehash(pt, size); /* on failure the bigger table still works */
}

static void peer_delete(struct peer_table *pt, struct peer_entry *e)
{
	size_t mask = pt->size - 1;
	size_t i = (size_t)(e - pt->slots), j = i, home;

	for (;;) {
		pt->slots[i].peer = NULL;
		for (;;) {
			j = (j + 1) & mask;
			if (!pt->slots[j].peer) {
				pt->used--;
				return;
			}
			/* Move j back into the hole at i unless its home
			 * slot lies cyclically in (i, j]. */
			home = peer_hash(pt->slots[j].peer) & mask;
			if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
				continue;
			break;
		}
		pt->slots[i] = pt->slots[j];
		i = j;
	}
}

/* Appended, so that a peer's prefixes are listed in the order they were
 * added (`wg showconf` gives back the file that was set). */
static void list_add(struct peer_table *pt, struct node *n, void *peer)
{
	struct peer_entry *e = peer_find(pt, peer);

	n->peer = peer;
	n->next = NULL;
	if (!e) {
		/* peer_reserve() ran, so there is room. */
		n->prev = NULL;
		peer_place(pt, peer, n, n);
		return;
	}
	n->prev = e->last;
	e->last->next = n;
	e->last = n;
}

static void list_del(struct peer_table *pt, struct node *n)
{
	struct peer_entry *e = NULL;

	if (!n->prev || !n->next)
		e = peer_find(pt, n->peer);
	if (n->next)
		n->next->prev = n->prev;
	else if (n->prev)
		e->last = n->prev;
	if (n->prev) {
		n->prev->next = n->next;
	} else if (n->next) {
		e->first = n->next;
	} else {
		peer_delete(pt, e);
	}
	n->next = n->prev = NULL;
	n->peer = NULL;
}

/* Bit @i of @key, counting from the most significant bit of byte 0. */
static inline unsigned int bit_at(const uint8_t *key, unsigned int i)
{
	return (key[i / 8] >> (7 - i % 8)) & 1;
}

/* How many leading bits @a and @b share, at most @limit. Bits before @from
 * are known to match already, so the walk down a path compares each address
 * byte about once. */
static unsigned int common_bits(const uint8_t *a, const uint8_t *b, unsigned int from, unsigned int limit)
{
	unsigned int i, n;

	for (i = from / 8; i * 8 < limit; i++) {
		uint8_t x = a[i] ^ b[i];

		if (x) {
			n = i * 8 + (unsigned int)__builtin_clz(x) - (unsigned int)(sizeof(unsigned int) * 8 - 8);
			return n < limit ? n : limit;
		}
	}
	return limit;
}

static void mask_key(uint8_t *key, unsigned int cidr, unsigned int bytes)
{
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		if (i * 8 >= cidr)
			key[i] = 0;
		else if (i * 8 + 8 > cidr)
			key[i] &= (uint8_t)(0xff << (8 - (cidr - i * 8)));
	}
}

static struct node *node_new(const uint8_t *key, unsigned int cidr, bool v6)
{
	unsigned int bytes = v6 ? 16 : 4;
	struct node *n = malloc(offsetof(struct node, key) + bytes);

	if (!n)
		return NULL;
	n->child[0] = n->child[1] = NULL;
	n->peer = NULL;
	n->next = n->prev = NULL;
	n->cidr = (uint8_t)cidr;
	n->v6 = v6;
	memcpy(n->key, key, bytes);
	mask_key(n->key, cidr, bytes);
	return n;
}

static void free_subtree(struct node *n)
{
	if (!n)
		return;
	free_subtree(n->child[0]);
	free_subtree(n->child[1]);
	free(n);
}

/* The root of @family's trie, or NULL for an unknown family. */
static struct node **root_of(struct allowedips *t, int family)
{
	if (family == AF_INET)
		return &t->root4;
	if (family == AF_INET6)
		return &t->root6;
	return NULL;
}

/* Check @p and return a masked copy in @out. */
static int prefix_valid(const struct ip_prefix *p, struct ip_prefix *out)
{
	if (!p || (p->family != AF_INET && p->family != AF_INET6) || p->len > ip_family_bits(p->family))
		return -EINVAL;
	*out = *p;
	ip_prefix_mask(out);
	return 0;
}

/* Find the node holding exactly @key/@cidr. @path receives the links
 * (the pointers to each node) from the root down to it, and @depth their
 * number. */
static struct node *find_exact(struct node **root, const uint8_t *key, unsigned int cidr, struct node **path[],
			       unsigned int *depth)
{
	struct node **link = root, *n;
	unsigned int from = 0, d = 0;

	while ((n = *link)) {
		if (n->cidr > cidr || common_bits(n->key, key, from, n->cidr) < n->cidr)
			return NULL;
		path[d++] = link;
		if (n->cidr == cidr) {
			*depth = d;
			return n;
		}
		from = n->cidr;
		link = &n->child[bit_at(key, n->cidr)];
	}
	return NULL;
}

/* The node at the end of @path has just lost its peer. A peerless node must
 * branch, so replace it by its only child or drop it if it has none; a
 * dropped leaf may in turn leave its peerless parent with a single child.
 * Nothing further up changes its number of children. */
static void collapse(struct node **path[], unsigned int depth)
{
	struct node **link = path[depth - 1], *n = *link;

	if (n->peer || (n->child[0] && n->child[1]))
		return;
	*link = n->child[0] ? n->child[0] : n->child[1];
	free(n);
	if (*link || depth < 2)
		return;
	link = path[depth - 2];
	n = *link;
	if (n->peer)
		return;
	*link = n->child[0] ? n->child[0] : n->child[1];
	free(n);
}

struct allowedips *allowedips_new(void)
{
	return calloc(1, sizeof(struct allowedips));
}

void allowedips_free(struct allowedips *t)
{
	if (!t)
		return;
	free_subtree(t->root4);
	free_subtree(t->root6);
	free(t->peers.slots);
	free(t);
}

/* Walk down while the nodes are prefixes of @p. Stop at the exact node, at
 * an empty link (a new leaf goes there), or at a node that @p does not
 * contain: then @p either sits above it or splits off beside it under a new
 * branching node at their first differing bit. */
int allowedips_insert(struct allowedips *t, const struct ip_prefix *p, void *peer)
{
	struct node **root, **link, *n, *leaf, *branch;
	struct ip_prefix k;
	unsigned int from = 0, common = 0;
	const uint8_t *key;
	bool v6;

	if (!t || !peer || prefix_valid(p, &k))
		return -EINVAL;
	root = root_of(t, k.family);
	key = k.addr.bytes;
	v6 = k.family == AF_INET6;

	for (link = root; (n = *link); link = &n->child[bit_at(key, n->cidr)]) {
		common = common_bits(n->key, key, from, n->cidr < k.len ? n->cidr : k.len);
		if (common < n->cidr)
			break;
		if (n->cidr == k.len) {
			if (n->peer == peer)
				return 0;
			if (peer_reserve(&t->peers))
				return -ENOMEM;
			if (n->peer)
				list_del(&t->peers, n);
			else
				t->count++;
			list_add(&t->peers, n, peer);
			return 0;
		}
		from = n->cidr;
	}

	if (peer_reserve(&t->peers))
		return -ENOMEM;
	leaf = node_new(key, k.len, v6);
	if (!leaf)
		return -ENOMEM;
	if (!n) {
		*link = leaf;
	} else if (common == k.len) {
		leaf->child[bit_at(n->key, k.len)] = n;
		*link = leaf;
	} else {
		branch = node_new(key, common, v6);
		if (!branch) {
			free(leaf);
			return -ENOMEM;
		}
		branch->child[bit_at(key, common)] = leaf;
		branch->child[bit_at(n->key, common)] = n;
		*link = branch;
	}
	list_add(&t->peers, leaf, peer);
	t->count++;
	return 0;
}

int allowedips_remove(struct allowedips *t, const struct ip_prefix *p, void *peer)
{
	struct node **path[MAX_DEPTH], *n;
	struct ip_prefix k;
	unsigned int depth;

	if (!t || !peer || prefix_valid(p, &k))
		return -EINVAL;
	n = find_exact(root_of(t, k.family), k.addr.bytes, k.len, path, &depth);
	if (!n || n->peer != peer)
		return -ENOENT;
	list_del(&t->peers, n);
	t->count--;
	collapse(path, depth);
	peer_shrink(&t->peers);
	return 0;
}

void allowedips_remove_peer(struct allowedips *t, void *peer)
{
	struct node **path[MAX_DEPTH], *n, *next;
	struct peer_entry *e;
	unsigned int depth;

	if (!t || !peer)
		return;
	e = peer_find(&t->peers, peer);
	if (!e)
		return;
	/* Take the whole list off the table first: the nodes are then
	 * unlinked without touching the hash for each of them. */
	n = e->first;
	peer_delete(&t->peers, e);
	for (; n; n = next) {
		next = n->next;
		n->next = n->prev = NULL;
		n->peer = NULL;
		t->count--;
		if (find_exact(n->v6 ? &t->root6 : &t->root4, n->key, n->cidr, path, &depth) == n)
			collapse(path, depth);
	}
	peer_shrink(&t->peers);
}

void *allowedips_lookup(const struct allowedips *t, int family, const void *addr)
{
	const struct node *n;
	const uint8_t *a = addr;
	unsigned int from = 0, bits;
	void *found = NULL;

	if (!t || !addr)
		return NULL;
	if (family == AF_INET)
		n = t->root4;
	else if (family == AF_INET6)
		n = t->root6;
	else
		return NULL;
	bits = ip_family_bits(family);

	/* A node that does not contain @addr has no descendant that does. */
	while (n && common_bits(n->key, a, from, n->cidr) == n->cidr) {
		if (n->peer)
			found = n->peer;
		if (n->cidr == bits)
			break;
		from = n->cidr;
		n = n->child[bit_at(a, n->cidr)];
	}
	return found;
}

int allowedips_foreach(const struct allowedips *t, void *peer, int (*cb)(const struct ip_prefix *p, void *ctx),
		       void *ctx)
{
	const struct peer_entry *e;
	const struct node *n;
	struct ip_prefix p;

	if (!t || !cb)
		return -EINVAL;
	e = peer ? peer_find(&t->peers, peer) : NULL;
	if (!e)
		return 0;
	for (n = e->first; n; n = n->next) {
		memset(&p, 0, sizeof(p));
		p.family = n->v6 ? AF_INET6 : AF_INET;
		p.len = n->cidr;
		memcpy(p.addr.bytes, n->key, n->v6 ? 16 : 4);
		int ret = cb(&p, ctx);

		if (ret)
			return ret;
	}
	return 0;
}

size_t allowedips_count(const struct allowedips *t)
{
	return t ? t->count : 0;
}
