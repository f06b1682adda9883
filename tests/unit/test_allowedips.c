/* Unit tests: the allowed-IPs trie, by hand-made cases and against a naive
 * reference (a flat array scanned for the longest match) under thousands of
 * random inserts, removes and lookups.
 *
 * The source is included rather than linked so that check_table() can walk
 * the trie and the peer hash and verify their invariants after each batch of
 * changes: a lookup cannot see that a useless node was left behind. The
 * definitions here satisfy the linker, so libferry.a's copy is not pulled. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "allowedips.c"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define NPEERS 8
static char peers[NPEERS];
#define PEER(i) ((void *)&peers[i])

static struct ip_prefix pfx(const char *text)
{
	struct ip_prefix p;

	assert_int_equal(ip_prefix_parse(text, &p, NULL), 0);
	return p;
}

static void *look(const struct allowedips *t, const char *text)
{
	union ip_addr a;
	int family;

	assert_int_equal(ip_addr_parse(text, &family, &a), 0);
	return allowedips_lookup(t, family, &a);
}

static int add(struct allowedips *t, const char *text, void *peer)
{
	struct ip_prefix p = pfx(text);

	return allowedips_insert(t, &p, peer);
}

static int del(struct allowedips *t, const char *text, void *peer)
{
	struct ip_prefix p = pfx(text);

	return allowedips_remove(t, &p, peer);
}

/* Invariants of the trie: keys masked, cidr growing downwards, each child
 * under the bit that follows its parent's prefix, every peerless node a
 * branch with two children, and every peer node linked into its peer's
 * list. Returns the number of nodes that carry a peer. */
static size_t check_subtree(const struct allowedips *t, const struct node *n, const struct node *parent, bool v6)
{
	unsigned int bytes = v6 ? 16 : 4, bits = v6 ? 128 : 32;
	uint8_t masked[16];
	size_t with_peer = 0;

	assert_int_equal(n->v6, v6);
	assert_true(n->cidr <= bits);
	memcpy(masked, n->key, bytes);
	mask_key(masked, n->cidr, bytes);
	assert_memory_equal(masked, n->key, bytes);
	if (parent) {
		assert_true(n->cidr > parent->cidr);
		assert_int_equal(common_bits(n->key, parent->key, 0, parent->cidr), parent->cidr);
		assert_ptr_equal(parent->child[bit_at(n->key, parent->cidr)], n);
	}
	if (n->peer) {
		with_peer = 1;
		if (n->prev) {
			assert_ptr_equal(n->prev->next, n);
		} else {
			const struct peer_entry *e = peer_find(&t->peers, n->peer);

			assert_non_null(e);
			assert_ptr_equal(e->first, n);
		}
		if (n->next) {
			assert_ptr_equal(n->next->prev, n);
			assert_ptr_equal(n->next->peer, n->peer);
		}
	} else {
		assert_non_null(n->child[0]);
		assert_non_null(n->child[1]);
		assert_null(n->next);
		assert_null(n->prev);
	}
	if (n->cidr == bits) {
		assert_null(n->child[0]);
		assert_null(n->child[1]);
	}
	if (n->child[0])
		with_peer += check_subtree(t, n->child[0], n, v6);
	if (n->child[1])
		with_peer += check_subtree(t, n->child[1], n, v6);
	return with_peer;
}

/* The peer hash: every entry is found where probing looks for it, lists are
 * non-empty and hold only that peer's nodes, and together they hold every
 * prefix exactly once. */
static void check_table(const struct allowedips *t)
{
	size_t in_trie = 0, in_lists = 0, used = 0, i;

	if (t->root4)
		in_trie += check_subtree(t, t->root4, NULL, false);
	if (t->root6)
		in_trie += check_subtree(t, t->root6, NULL, true);
	assert_int_equal(in_trie, t->count);
	assert_int_equal(allowedips_count(t), t->count);

	for (i = 0; i < t->peers.size; i++) {
		const struct peer_entry *e = &t->peers.slots[i];
		const struct node *n;

		if (!e->peer)
			continue;
		used++;
		assert_ptr_equal(peer_find(&t->peers, e->peer), e);
		assert_non_null(e->first);
		assert_null(e->first->prev);
		for (n = e->first; n; n = n->next) {
			assert_ptr_equal(n->peer, e->peer);
			in_lists++;
		}
	}
	assert_int_equal(used, t->peers.used);
	assert_int_equal(in_lists, t->count);
}

static void longest_prefix_wins(void **state)
{
	struct allowedips *t = allowedips_new();

	(void)state;
	assert_non_null(t);
	assert_null(look(t, "10.1.2.3"));
	assert_int_equal(add(t, "0.0.0.0/0", PEER(0)), 0);
	assert_int_equal(add(t, "10.0.0.0/8", PEER(1)), 0);
	assert_int_equal(add(t, "10.1.0.0/16", PEER(2)), 0);
	assert_int_equal(add(t, "10.1.2.3/32", PEER(3)), 0);
	assert_int_equal(add(t, "10.1.2.128/25", PEER(4)), 0);
	check_table(t);
	assert_int_equal(allowedips_count(t), 5);

	assert_ptr_equal(look(t, "10.1.2.3"), PEER(3));
	assert_ptr_equal(look(t, "10.1.2.2"), PEER(2));
	assert_ptr_equal(look(t, "10.1.2.200"), PEER(4));
	assert_ptr_equal(look(t, "10.1.3.3"), PEER(2));
	assert_ptr_equal(look(t, "10.2.0.0"), PEER(1));
	assert_ptr_equal(look(t, "10.255.255.255"), PEER(1));
	assert_ptr_equal(look(t, "11.0.0.0"), PEER(0));
	assert_ptr_equal(look(t, "9.255.255.255"), PEER(0));
	assert_ptr_equal(look(t, "255.255.255.255"), PEER(0));

	/* The IPv4 default route says nothing about IPv6. */
	assert_null(look(t, "::"));
	assert_null(look(t, "::ffff:10.1.2.3"));
	assert_null(look(t, "a01:203::"));

	assert_int_equal(add(t, "2001:db8::/32", PEER(5)), 0);
	assert_int_equal(add(t, "2001:db8::1/128", PEER(6)), 0);
	assert_int_equal(add(t, "2001:db8:0:1::/64", PEER(7)), 0);
	check_table(t);
	assert_ptr_equal(look(t, "2001:db8::1"), PEER(6));
	assert_ptr_equal(look(t, "2001:db8::2"), PEER(5));
	assert_ptr_equal(look(t, "2001:db8:0:1::1"), PEER(7));
	assert_ptr_equal(look(t, "2001:db8:ffff::"), PEER(5));
	assert_null(look(t, "2001:db9::"));
	assert_null(look(t, "::"));
	assert_int_equal(add(t, "::/0", PEER(0)), 0);
	assert_ptr_equal(look(t, "2001:db9::"), PEER(0));
	assert_ptr_equal(look(t, "2001:db8::1"), PEER(6));
	/* and the IPv6 table says nothing about IPv4 */
	assert_ptr_equal(look(t, "32.1.13.184"), PEER(0));
	assert_ptr_equal(look(t, "10.1.2.3"), PEER(3));
	assert_int_equal(allowedips_count(t), 9);
	check_table(t);
	allowedips_free(t);
}

static void host_routes_and_deep_splits(void **state)
{
	struct allowedips *t = allowedips_new();

	(void)state;
	/* Prefixes that differ only in their last bit, inserted so that the
	 * split points and the covering prefixes arrive in every order. */
	assert_int_equal(add(t, "192.0.2.1/32", PEER(1)), 0);
	assert_int_equal(add(t, "192.0.2.0/32", PEER(2)), 0);
	assert_int_equal(add(t, "192.0.2.0/31", PEER(3)), 0);
	assert_int_equal(add(t, "192.0.2.2/32", PEER(4)), 0);
	assert_int_equal(add(t, "192.0.2.0/24", PEER(5)), 0);
	check_table(t);
	assert_ptr_equal(look(t, "192.0.2.1"), PEER(1));
	assert_ptr_equal(look(t, "192.0.2.0"), PEER(2));
	assert_ptr_equal(look(t, "192.0.2.2"), PEER(4));
	assert_ptr_equal(look(t, "192.0.2.3"), PEER(5));
	assert_ptr_equal(look(t, "192.0.2.255"), PEER(5));
	assert_null(look(t, "192.0.3.0"));

	assert_int_equal(add(t, "2001:db8::ffff:ffff:ffff:fffe/128", PEER(1)), 0);
	assert_int_equal(add(t, "2001:db8::ffff:ffff:ffff:ffff/128", PEER(2)), 0);
	assert_int_equal(add(t, "2001:db8::ffff:ffff:ffff:fffe/127", PEER(3)), 0);
	assert_int_equal(add(t, "2001:db8::/127", PEER(4)), 0);
	check_table(t);
	assert_ptr_equal(look(t, "2001:db8::ffff:ffff:ffff:fffe"), PEER(1));
	assert_ptr_equal(look(t, "2001:db8::ffff:ffff:ffff:ffff"), PEER(2));
	assert_ptr_equal(look(t, "2001:db8::1"), PEER(4));
	assert_null(look(t, "2001:db8::2"));
	assert_int_equal(del(t, "2001:db8::ffff:ffff:ffff:fffe/128", PEER(1)), 0);
	assert_ptr_equal(look(t, "2001:db8::ffff:ffff:ffff:fffe"), PEER(3));
	check_table(t);
	allowedips_free(t);
}

static void insert_replaces_exact_prefix(void **state)
{
	struct allowedips *t = allowedips_new();
	struct ip_prefix p;

	(void)state;
	assert_int_equal(add(t, "10.0.0.0/8", PEER(1)), 0);
	assert_int_equal(add(t, "10.0.0.0/16", PEER(2)), 0);
	assert_int_equal(add(t, "10.0.0.0/8", PEER(3)), 0);
	assert_int_equal(allowedips_count(t), 2);
	assert_ptr_equal(look(t, "10.9.9.9"), PEER(3));
	assert_ptr_equal(look(t, "10.0.9.9"), PEER(2));
	/* Host bits are ignored: this is 10.0.0.0/8 again. */
	assert_int_equal(add(t, "10.200.1.2/8", PEER(4)), 0);
	assert_int_equal(allowedips_count(t), 2);
	assert_ptr_equal(look(t, "10.9.9.9"), PEER(4));
	/* Re-inserting the same mapping changes nothing. */
	assert_int_equal(add(t, "10.0.0.0/8", PEER(4)), 0);
	assert_int_equal(allowedips_count(t), 2);
	check_table(t);
	/* The old owners no longer hold it. */
	p = pfx("10.0.0.0/8");
	assert_int_equal(allowedips_remove(t, &p, PEER(1)), -ENOENT);
	assert_int_equal(allowedips_remove(t, &p, PEER(3)), -ENOENT);
	assert_ptr_equal(look(t, "10.9.9.9"), PEER(4));
	allowedips_remove_peer(t, PEER(1));
	allowedips_remove_peer(t, PEER(3));
	assert_ptr_equal(look(t, "10.9.9.9"), PEER(4));
	assert_int_equal(allowedips_count(t), 2);
	check_table(t);
	allowedips_free(t);
}

static void remove_needs_the_right_peer(void **state)
{
	struct allowedips *t = allowedips_new();

	(void)state;
	assert_int_equal(add(t, "0.0.0.0/0", PEER(0)), 0);
	assert_int_equal(add(t, "10.0.0.0/8", PEER(1)), 0);
	assert_int_equal(add(t, "10.1.0.0/16", PEER(2)), 0);
	assert_int_equal(add(t, "10.2.0.0/16", PEER(3)), 0);
	assert_int_equal(add(t, "::/0", PEER(1)), 0);

	assert_int_equal(del(t, "10.0.0.0/8", PEER(2)), -ENOENT);
	assert_int_equal(del(t, "10.0.0.0/9", PEER(1)), -ENOENT);
	assert_int_equal(del(t, "10.0.0.0/7", PEER(1)), -ENOENT);
	/* 10.0.0.0/14 is the branching node above the two /16s, no prefix. */
	assert_int_equal(del(t, "10.0.0.0/14", PEER(1)), -ENOENT);
	assert_int_equal(del(t, "10.0.0.0/8", PEER(1)), 0);
	assert_int_equal(del(t, "10.0.0.0/8", PEER(1)), -ENOENT);
	check_table(t);
	assert_ptr_equal(look(t, "10.9.9.9"), PEER(0));
	assert_ptr_equal(look(t, "10.1.9.9"), PEER(2));
	assert_ptr_equal(look(t, "::1"), PEER(1));
	assert_int_equal(allowedips_count(t), 4);

	assert_int_equal(del(t, "10.1.0.0/16", PEER(2)), 0);
	assert_int_equal(del(t, "0.0.0.0/0", PEER(0)), 0);
	check_table(t);
	assert_null(look(t, "10.1.9.9"));
	assert_ptr_equal(look(t, "10.2.9.9"), PEER(3));
	assert_int_equal(del(t, "10.2.0.0/16", PEER(3)), 0);
	assert_int_equal(del(t, "::/0", PEER(1)), 0);
	assert_int_equal(allowedips_count(t), 0);
	check_table(t);
	/* Emptied, the table keeps no node at all. */
	assert_null(t->root4);
	assert_null(t->root6);
	assert_int_equal(t->peers.used, 0);
	allowedips_free(t);
}

static void remove_peer_removes_all_its_prefixes(void **state)
{
	struct allowedips *t = allowedips_new();

	(void)state;
	assert_int_equal(add(t, "0.0.0.0/0", PEER(1)), 0);
	assert_int_equal(add(t, "10.0.0.0/8", PEER(2)), 0);
	assert_int_equal(add(t, "10.1.0.0/16", PEER(1)), 0);
	assert_int_equal(add(t, "10.1.1.1/32", PEER(2)), 0);
	assert_int_equal(add(t, "10.1.1.0/31", PEER(1)), 0);
	assert_int_equal(add(t, "2001:db8::/32", PEER(1)), 0);
	assert_int_equal(add(t, "2001:db8::1/128", PEER(2)), 0);
	assert_int_equal(add(t, "::/0", PEER(3)), 0);
	check_table(t);

	allowedips_remove_peer(t, PEER(1));
	check_table(t);
	assert_int_equal(allowedips_count(t), 4);
	assert_null(look(t, "11.0.0.0"));
	assert_ptr_equal(look(t, "10.1.2.3"), PEER(2));
	assert_ptr_equal(look(t, "10.1.1.0"), PEER(2));
	assert_ptr_equal(look(t, "10.1.1.1"), PEER(2));
	assert_ptr_equal(look(t, "2001:db8::2"), PEER(3));
	assert_ptr_equal(look(t, "2001:db8::1"), PEER(2));

	/* Unknown peers and repeated removals are harmless. */
	allowedips_remove_peer(t, PEER(1));
	allowedips_remove_peer(t, PEER(7));
	allowedips_remove_peer(t, NULL);
	assert_int_equal(allowedips_count(t), 4);

	allowedips_remove_peer(t, PEER(2));
	allowedips_remove_peer(t, PEER(3));
	check_table(t);
	assert_int_equal(allowedips_count(t), 0);
	assert_null(t->root4);
	assert_null(t->root6);
	assert_null(look(t, "10.1.1.1"));
	allowedips_free(t);
}

static void rejects_invalid_input(void **state)
{
	struct allowedips *t = allowedips_new();
	struct ip_prefix p = pfx("10.0.0.0/8");
	uint8_t addr[16] = { 10 };

	(void)state;
	assert_int_equal(allowedips_insert(NULL, &p, PEER(1)), -EINVAL);
	assert_int_equal(allowedips_insert(t, NULL, PEER(1)), -EINVAL);
	assert_int_equal(allowedips_insert(t, &p, NULL), -EINVAL);
	p.len = 33;
	assert_int_equal(allowedips_insert(t, &p, PEER(1)), -EINVAL);
	p.len = 255;
	assert_int_equal(allowedips_insert(t, &p, PEER(1)), -EINVAL);
	p = pfx("::/0");
	p.len = 129;
	assert_int_equal(allowedips_insert(t, &p, PEER(1)), -EINVAL);
	p.len = 128;
	p.family = AF_UNIX;
	assert_int_equal(allowedips_insert(t, &p, PEER(1)), -EINVAL);
	p.family = 0;
	assert_int_equal(allowedips_insert(t, &p, PEER(1)), -EINVAL);
	assert_int_equal(allowedips_count(t), 0);

	p = pfx("10.0.0.0/8");
	assert_int_equal(allowedips_insert(t, &p, PEER(1)), 0);
	assert_int_equal(allowedips_remove(NULL, &p, PEER(1)), -EINVAL);
	assert_int_equal(allowedips_remove(t, NULL, PEER(1)), -EINVAL);
	assert_int_equal(allowedips_remove(t, &p, NULL), -EINVAL);
	p.len = 40;
	assert_int_equal(allowedips_remove(t, &p, PEER(1)), -EINVAL);
	p.len = 8;
	p.family = 12345;
	assert_int_equal(allowedips_remove(t, &p, PEER(1)), -EINVAL);
	assert_int_equal(allowedips_count(t), 1);

	assert_null(allowedips_lookup(NULL, AF_INET, addr));
	assert_null(allowedips_lookup(t, AF_INET, NULL));
	assert_null(allowedips_lookup(t, AF_UNSPEC, addr));
	assert_null(allowedips_lookup(t, -1, addr));
	assert_ptr_equal(allowedips_lookup(t, AF_INET, addr), PEER(1));

	assert_int_equal(allowedips_foreach(NULL, PEER(1), NULL, NULL), -EINVAL);
	assert_int_equal(allowedips_foreach(t, PEER(1), NULL, NULL), -EINVAL);
	assert_int_equal(allowedips_count(NULL), 0);
	allowedips_remove_peer(NULL, PEER(1));
	allowedips_free(NULL);
	check_table(t);
	allowedips_free(t);
}

/* The naive reference: a flat array, scanned in full for every question. */
#define REF_MAX 4096

struct ref_entry {
	struct ip_prefix p;
	void *peer;
};

struct ref {
	struct ref_entry e[REF_MAX];
	size_t n;
};

static bool same_prefix(const struct ip_prefix *a, const struct ip_prefix *b)
{
	return a->family == b->family && a->len == b->len &&
	       !memcmp(a->addr.bytes, b->addr.bytes, ip_family_bits(a->family) / 8);
}

static bool prefix_contains(const struct ip_prefix *p, int family, const uint8_t *addr)
{
	unsigned int i;

	if (p->family != family)
		return false;
	for (i = 0; i < p->len; i++) {
		if (bit_at(p->addr.bytes, i) != bit_at(addr, i))
			return false;
	}
	return true;
}

static struct ref_entry *ref_find(struct ref *r, const struct ip_prefix *p)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (same_prefix(&r->e[i].p, p))
			return &r->e[i];
	}
	return NULL;
}

/* The reference keeps its entries in the order they were added (a prefix
 * taken over by another peer counts as added then), as foreach must list
 * them. */
static void ref_delete(struct ref *r, struct ref_entry *e)
{
	memmove(e, e + 1, (size_t)(r->e + r->n - (e + 1)) * sizeof(*e));
	r->n--;
}

static void ref_insert(struct ref *r, const struct ip_prefix *p, void *peer)
{
	struct ref_entry *e = ref_find(r, p);

	if (e && e->peer == peer)
		return;
	if (e)
		ref_delete(r, e);
	assert_true(r->n < REF_MAX);
	e = &r->e[r->n++];
	e->p = *p;
	e->peer = peer;
}

static int ref_remove(struct ref *r, const struct ip_prefix *p, void *peer)
{
	struct ref_entry *e = ref_find(r, p);

	if (!e || e->peer != peer)
		return -ENOENT;
	ref_delete(r, e);
	return 0;
}

static void ref_remove_peer(struct ref *r, void *peer)
{
	size_t i = 0;

	while (i < r->n) {
		if (r->e[i].peer == peer)
			ref_delete(r, &r->e[i]);
		else
			i++;
	}
}

static void *ref_lookup(const struct ref *r, int family, const uint8_t *addr)
{
	const struct ref_entry *best = NULL;
	size_t i;

	for (i = 0; i < r->n; i++) {
		if (prefix_contains(&r->e[i].p, family, addr) && (!best || r->e[i].p.len > best->p.len))
			best = &r->e[i];
	}
	return best ? best->peer : NULL;
}

/* splitmix64: small, seedable, the same sequence everywhere. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned int rnd_below(unsigned int n)
{
	return (unsigned int)(rnd() % n);
}

/* A few random base addresses per family: random prefixes are variations
 * of them, so they share long runs of leading bits and the trie gets deep
 * chains of splits near the host end, not just a shallow fan-out. */
#define NBASES 3
static union ip_addr bases[2][NBASES];

static void make_bases(void)
{
	unsigned int f, b, i;

	for (f = 0; f < 2; f++) {
		for (b = 0; b < NBASES; b++) {
			for (i = 0; i < 16; i++)
				bases[f][b].bytes[i] = (uint8_t)rnd();
		}
	}
}

static void flip_bit(uint8_t *key, unsigned int i)
{
	key[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
}

static void random_addr(int family, uint8_t *addr)
{
	unsigned int bits = ip_family_bits(family), f = family == AF_INET6, i, flips;

	memset(addr, 0, 16);
	if (rnd_below(8) == 0) {
		for (i = 0; i < bits / 8; i++)
			addr[i] = (uint8_t)rnd();
		return;
	}
	memcpy(addr, bases[f][rnd_below(NBASES)].bytes, bits / 8);
	flips = rnd_below(4);
	for (i = 0; i < flips; i++) {
		/* Mostly near the end, sometimes anywhere. */
		if (rnd_below(3))
			flip_bit(addr, bits - 1 - rnd_below(bits < 24 ? bits : 24));
		else
			flip_bit(addr, rnd_below(bits));
	}
}

static struct ip_prefix random_prefix(int family)
{
	struct ip_prefix p;
	unsigned int bits = ip_family_bits(family);

	memset(&p, 0, sizeof(p));
	p.family = family;
	random_addr(family, p.addr.bytes);
	switch (rnd_below(4)) {
	case 0:
		p.len = (uint8_t)rnd_below(bits + 1);
		break;
	case 1:
		p.len = (uint8_t)bits;
		break;
	default:
		p.len = (uint8_t)(bits - rnd_below(28));
		break;
	}
	ip_prefix_mask(&p);
	return p;
}

static int random_family(void)
{
	return rnd_below(2) ? AF_INET : AF_INET6;
}

/* An address inside a stored prefix, so lookups land deep in the trie. */
static void random_lookup_addr(const struct ref *r, int *family, uint8_t *addr)
{
	const struct ref_entry *e;
	unsigned int i;

	if (!r->n || rnd_below(4) == 0) {
		*family = random_family();
		random_addr(*family, addr);
		return;
	}
	e = &r->e[rnd_below((unsigned int)r->n)];
	*family = e->p.family;
	memcpy(addr, e->p.addr.bytes, 16);
	for (i = e->p.len; i < ip_family_bits(*family); i++) {
		if (rnd_below(2))
			flip_bit(addr, i);
	}
}

static int prefix_cmp(const void *a, const void *b)
{
	const struct ip_prefix *x = a, *y = b;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->addr.bytes, y->addr.bytes, 16);
}

struct collected {
	struct ip_prefix p[REF_MAX];
	size_t n;
};

static int collect(const struct ip_prefix *p, void *ctx)
{
	struct collected *c = ctx;

	assert_true(c->n < REF_MAX);
	c->p[c->n++] = *p;
	return 0;
}

/* foreach must yield exactly the reference's prefixes of @peer, in the
 * order they were added (wg showconf gives back what was set). */
static void check_foreach(const struct allowedips *t, const struct ref *r, void *peer)
{
	static struct collected got, want;
	size_t i;

	got.n = want.n = 0;
	for (i = 0; i < r->n; i++) {
		if (r->e[i].peer == peer) {
			want.p[want.n] = r->e[i].p;
			memset(want.p[want.n].addr.bytes + ip_family_bits(r->e[i].p.family) / 8, 0,
			       16 - ip_family_bits(r->e[i].p.family) / 8);
			want.n++;
		}
	}
	assert_int_equal(allowedips_foreach(t, peer, collect, &got), 0);
	assert_int_equal(got.n, want.n);
	for (i = 0; i < got.n; i++)
		assert_int_equal(prefix_cmp(&got.p[i], &want.p[i]), 0);
}

static void check_against_ref(const struct allowedips *t, const struct ref *r, unsigned int lookups)
{
	uint8_t addr[16];
	unsigned int i;
	int family;

	for (i = 0; i < lookups; i++) {
		random_lookup_addr(r, &family, addr);
		assert_ptr_equal(allowedips_lookup(t, family, addr), ref_lookup(r, family, addr));
	}
	assert_int_equal(allowedips_count(t), r->n);
}

/* One random run: @ops operations over @npeers peers, the table compared
 * with the reference after each and checked in full every so often. */
static void random_run(uint64_t seed, unsigned int ops, char *peer_base, unsigned int npeers, size_t max_entries)
{
	struct allowedips *t = allowedips_new();
	static struct ref r;
	unsigned int op, i;

	rng_state = seed;
	make_bases();
	r.n = 0;
	assert_non_null(t);
	for (op = 0; op < ops; op++) {
		unsigned int what = rnd_below(100);
		void *peer = peer_base + rnd_below(npeers);
		struct ip_prefix p;

		if (what < 55 && r.n < max_entries) {
			p = random_prefix(random_family());
			/* Sometimes leave host bits set: insert must clear them. */
			if (rnd_below(4) == 0 && p.len < ip_family_bits(p.family))
				flip_bit(p.addr.bytes, ip_family_bits(p.family) - 1);
			assert_int_equal(allowedips_insert(t, &p, peer), 0);
			ip_prefix_mask(&p);
			ref_insert(&r, &p, peer);
		} else if (what < 97) {
			if (r.n && rnd_below(4)) {
				p = r.e[rnd_below((unsigned int)r.n)].p;
				if (rnd_below(3) == 0)
					peer = peer_base + rnd_below(npeers);
				else
					peer = ref_find(&r, &p)->peer;
			} else {
				p = random_prefix(random_family());
			}
			assert_int_equal(allowedips_remove(t, &p, peer), ref_remove(&r, &p, peer));
		} else {
			allowedips_remove_peer(t, peer);
			ref_remove_peer(&r, peer);
		}
		check_against_ref(t, &r, 4);
		if (op % 512 == 511) {
			check_table(t);
			for (i = 0; i < npeers && i < 16; i++)
				check_foreach(t, &r, peer_base + rnd_below(npeers));
		}
	}
	check_table(t);
	check_against_ref(t, &r, 2000);

	/* Empty the table peer by peer; nothing may be left behind. */
	for (i = 0; i < npeers; i++) {
		allowedips_remove_peer(t, peer_base + i);
		ref_remove_peer(&r, peer_base + i);
		if (i % 64 == 0) {
			check_table(t);
			check_against_ref(t, &r, 64);
		}
	}
	assert_int_equal(allowedips_count(t), 0);
	assert_null(t->root4);
	assert_null(t->root6);
	assert_int_equal(t->peers.used, 0);
	/* and the peer hash gave its memory back */
	assert_true(t->peers.size <= 16);
	allowedips_free(t);
}

static void matches_naive_reference(void **state)
{
	uint64_t seed;

	(void)state;
	for (seed = 1; seed <= 6; seed++)
		random_run(seed, 6000, peers, NPEERS, 1500);
}

/* Many peers with few prefixes each: exercises the peer hash growing and
 * deleting with backward shifts, and remove_peer at scale. */
static void matches_naive_reference_many_peers(void **state)
{
	static char many[1000];

	(void)state;
	random_run(42, 20000, many, sizeof(many), REF_MAX - 1);
}

static int count_to_three(const struct ip_prefix *p, void *ctx)
{
	int *calls = ctx;

	assert_int_equal(p->family == AF_INET || p->family == AF_INET6, 1);
	return ++*calls == 3 ? 3 : 0;
}

static void foreach_returns_exactly_the_peers_prefixes(void **state)
{
	static const char *const mine[] = {
		"10.0.0.0/8", "10.1.0.0/16",   "10.1.2.3/32",	  "0.0.0.0/0", "192.0.2.0/24",
		"::/0",	      "2001:db8::/32", "2001:db8::1/128", "fe80::/10", "2001:db8:1::/48",
	};
	static struct ref r;
	struct allowedips *t = allowedips_new();
	struct ip_prefix p;
	size_t i;
	int calls = 0;

	(void)state;
	r.n = 0;
	for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
		p = pfx(mine[i]);
		ip_prefix_mask(&p);
		assert_int_equal(allowedips_insert(t, &p, PEER(1)), 0);
		ref_insert(&r, &p, PEER(1));
		/* Neighbours for another peer around each of mine. */
		flip_bit(p.addr.bytes, ip_family_bits(p.family) - 1);
		p.len = (uint8_t)ip_family_bits(p.family);
		assert_int_equal(allowedips_insert(t, &p, PEER(2)), 0);
		ref_insert(&r, &p, PEER(2));
	}
	check_foreach(t, &r, PEER(1));
	check_foreach(t, &r, PEER(2));

	/* Taken over by another peer, removed, or never inserted: gone. */
	p = pfx("10.1.0.0/16");
	assert_int_equal(allowedips_insert(t, &p, PEER(3)), 0);
	ref_insert(&r, &p, PEER(3));
	p = pfx("fe80::/10");
	assert_int_equal(allowedips_remove(t, &p, PEER(1)), 0);
	assert_int_equal(ref_remove(&r, &p, PEER(1)), 0);
	check_foreach(t, &r, PEER(1));
	check_foreach(t, &r, PEER(3));
	check_foreach(t, &r, PEER(4));

	/* A non-zero return stops the walk and comes back to the caller. */
	calls = 0;
	assert_int_equal(allowedips_foreach(t, PEER(1), count_to_three, &calls), 3);
	assert_int_equal(calls, 3);
	check_table(t);
	allowedips_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(longest_prefix_wins),
		cmocka_unit_test(host_routes_and_deep_splits),
		cmocka_unit_test(insert_replaces_exact_prefix),
		cmocka_unit_test(remove_needs_the_right_peer),
		cmocka_unit_test(remove_peer_removes_all_its_prefixes),
		cmocka_unit_test(rejects_invalid_input),
		cmocka_unit_test(foreach_returns_exactly_the_peers_prefixes),
		cmocka_unit_test(matches_naive_reference),
		cmocka_unit_test(matches_naive_reference_many_peers),
	};

	return cmocka_run_group_tests_name("allowedips", tests, NULL, NULL);
}
