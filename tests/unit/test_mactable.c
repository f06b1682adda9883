/* Unit tests: Ethernet header parsing, MAC address text, and the MAC
 * learning table, by hand-made cases, against a naive reference (an array
 * of entries scanned linearly, with the documented rules) under thousands
 * of random operations, and with lock-free readers racing a writer.
 *
 * The table's source is included rather than linked so that check_table()
 * can verify its internal invariants (chains, owner lists, counts, the free
 * list) after every operation: a lookup cannot see a leaked entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

struct mactable;
static void race_hook(struct mactable *t, int point);
#define MACTABLE_RACE_HOOK(t, point) race_hook(t, point)
#include "mactable.c"

#include "crypto.h"

#include <stdio.h>
#include <time.h>

#define AGEING 300000

static const uint8_t mac_a[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x0a };
static const uint8_t mac_b[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x0b };
static const uint8_t mac_c[ETH_ALEN] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };
static const uint8_t mac_d[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x0d };
static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t mcast[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
static const uint8_t zero[ETH_ALEN];

static void mac_n(uint8_t mac[ETH_ALEN], unsigned n)
{
	mac[0] = 0x02;
	mac[1] = 0xfe;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

/* -- the table's internal invariants ------------------------------------ */

/* Every used entry is in the chain of its own bucket exactly once, on its
 * owner's list exactly once, and counted there; every other entry is on the
 * free list with key 0. @owners must name every owner that has entries. */
static void check_table(struct mactable *t, struct mac_owner **owners, int nowners)
{
	static uint8_t seen[(1 << 16) + 1];
	uint32_t b, slot, nfree = 0, chained = 0, listed = 0;
	int i;

	assert_true(t->size < sizeof(seen));
	assert_int_equal(atomic_load(&t->seq) & 1, 0);
	memset(seen, 0, t->size + 1);
	for (b = 0; b <= t->bucket_mask; b++) {
		for (slot = load32(&t->buckets[b]); slot; slot = load32(&entry(t, slot)->hnext)) {
			uint64_t key = load64(&entry(t, slot)->key);

			assert_true(slot <= t->size);
			assert_true(key & KEY_USED);
			assert_int_equal(bucket_of(t, key & KEY_MAC), b);
			assert_int_equal(seen[slot], 0);
			seen[slot] = 1;
			chained++;
		}
	}
	assert_int_equal(chained, t->count);
	for (i = 0; i < nowners; i++) {
		struct mac_owner *o = owners[i];
		unsigned learned = 0, statics = 0;
		uint32_t prev = 0;

		for (slot = o->head; slot; prev = slot, slot = entry(t, slot)->onext) {
			struct mac_entry *e = entry(t, slot);

			assert_int_equal(seen[slot], 1);
			seen[slot] = 2;
			assert_int_equal(e->oprev, prev);
			assert_ptr_equal(load_owner(e), o);
			if (load64(&e->key) & KEY_STATIC)
				statics++;
			else
				learned++;
			listed++;
		}
		assert_int_equal(o->entries, learned);
		assert_int_equal(o->statics, statics);
	}
	assert_int_equal(listed, t->count);
	for (slot = t->free_head; slot; slot = entry(t, slot)->onext) {
		assert_int_equal(seen[slot], 0);
		assert_int_equal(load64(&entry(t, slot)->key), 0);
		seen[slot] = 3;
		nfree++;
	}
	assert_int_equal(nfree + t->count, t->size);
}

/* -- ether_parse and the address helpers -------------------------------- */

static size_t frame(uint8_t *f, const uint16_t *types, int ntypes)
{
	size_t off = 12;
	int i;

	memcpy(f, mac_b, ETH_ALEN);
	memcpy(f + ETH_ALEN, mac_a, ETH_ALEN);
	for (i = 0; i < ntypes; i++) {
		f[off++] = (uint8_t)(types[i] >> 8);
		f[off++] = (uint8_t)types[i];
	}
	return off;
}

static void parse_untagged(void **state)
{
	uint8_t f[64] = { 0 };
	struct ether_info e;
	const uint16_t types[] = { 0x0800 };

	(void)state;
	assert_int_equal(frame(f, types, 1), 14);
	assert_int_equal(ether_parse(f, 14, &e), 0);
	assert_memory_equal(e.dst, mac_b, ETH_ALEN);
	assert_memory_equal(e.src, mac_a, ETH_ALEN);
	assert_int_equal(e.ethertype, 0x0800);
	assert_int_equal(e.tags, 0);
	assert_int_equal(e.vlan_id, 0);
	assert_int_equal(e.inner_vlan_id, 0);
	assert_int_equal(e.hdr_len, 14);
	assert_int_equal(ether_parse(f, sizeof(f), &e), 0);
	assert_int_equal(e.hdr_len, 14);

	/* An 802.3 length field is reported as it is. */
	f[12] = 0x00;
	f[13] = 0x2e;
	assert_int_equal(ether_parse(f, sizeof(f), &e), 0);
	assert_int_equal(e.ethertype, 0x002e);
}

static void parse_tagged(void **state)
{
	uint8_t f[64] = { 0 };
	struct ether_info e;
	/* TCI 0xe064: priority 7, DEI 0, VID 100. */
	const uint16_t one[] = { 0x8100, 0xe064, 0x86dd };
	const uint16_t two[] = { 0x88a8, 0x300a, 0x8100, 0x0014, 0x0806 };
	const uint16_t old_qinq[] = { 0x9100, 0x0fff, 0x8100, 0x1001, 0x0800 };
	const uint16_t three[] = { 0x88a8, 1, 0x8100, 2, 0x8100, 3, 0x0800 };
	const uint16_t priority[] = { 0x8100, 0xa000, 0x0800 };

	(void)state;
	assert_int_equal(ether_parse(f, frame(f, one, 3), &e), 0);
	assert_int_equal(e.tags, 1);
	assert_int_equal(e.vlan_id, 100);
	assert_int_equal(e.inner_vlan_id, 0);
	assert_int_equal(e.ethertype, 0x86dd);
	assert_int_equal(e.hdr_len, 18);
	assert_memory_equal(e.src, mac_a, ETH_ALEN);

	memset(f, 0, sizeof(f));
	assert_int_equal(ether_parse(f, frame(f, two, 5), &e), 0);
	assert_int_equal(e.tags, 2);
	assert_int_equal(e.vlan_id, 10);
	assert_int_equal(e.inner_vlan_id, 20);
	assert_int_equal(e.ethertype, 0x0806);
	assert_int_equal(e.hdr_len, 22);

	assert_int_equal(ether_parse(f, frame(f, old_qinq, 5), &e), 0);
	assert_int_equal(e.tags, 2);
	assert_int_equal(e.vlan_id, 0xfff);
	assert_int_equal(e.inner_vlan_id, 1);
	assert_int_equal(e.ethertype, 0x0800);

	/* A third tag stays in the payload. */
	assert_int_equal(ether_parse(f, frame(f, three, 7), &e), 0);
	assert_int_equal(e.tags, 2);
	assert_int_equal(e.vlan_id, 1);
	assert_int_equal(e.inner_vlan_id, 2);
	assert_int_equal(e.ethertype, 0x8100);
	assert_int_equal(e.hdr_len, 22);

	/* Priority tagged: a tag with VID 0. */
	assert_int_equal(ether_parse(f, frame(f, priority, 3), &e), 0);
	assert_int_equal(e.tags, 1);
	assert_int_equal(e.vlan_id, 0);
	assert_int_equal(e.ethertype, 0x0800);
}

static void parse_truncated(void **state)
{
	uint8_t f[64] = { 0 };
	struct ether_info e;
	const uint16_t two[] = { 0x88a8, 0x000a, 0x8100, 0x0014, 0x0800 };
	size_t len;

	(void)state;
	assert_int_equal(ether_parse(f, 0, &e), -1);
	assert_int_equal(ether_parse(f, 13, &e), -1);
	assert_int_equal(ether_parse(f, 14, &e), 0);
	len = frame(f, two, 5);
	assert_int_equal(len, 22);
	/* Each tag needs its 4 bytes and the 2 of the type field after it. */
	for (len = 14; len < 22; len++)
		assert_int_equal(ether_parse(f, len, &e), -1);
	assert_int_equal(ether_parse(f, 22, &e), 0);
	assert_int_equal(e.hdr_len, 22);
}

static void address_classes(void **state)
{
	const uint8_t local[ETH_ALEN] = { 0x02, 0x42, 0xac, 0x11, 0x00, 0x02 };
	const uint8_t almost_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe };

	(void)state;
	assert_true(ether_is_broadcast(bcast));
	assert_false(ether_is_broadcast(almost_bcast));
	assert_true(ether_is_multicast(bcast));
	assert_true(ether_is_multicast(mcast));
	assert_true(ether_is_multicast(almost_bcast));
	assert_false(ether_is_multicast(local));
	assert_true(ether_is_zero(zero));
	assert_false(ether_is_zero(mac_a));

	assert_true(ether_is_valid_source(local));
	assert_true(ether_is_valid_source(mac_c));
	assert_false(ether_is_valid_source(bcast));
	assert_false(ether_is_valid_source(mcast));
	assert_false(ether_is_valid_source(zero));
	assert_false(ether_is_valid_source(almost_bcast));
}

static void parse_mac_strings(void **state)
{
	static const char *const bad[] = {
		"",
		"aa",
		"aa:bb:cc:dd:ee",
		"aa:bb:cc:dd:ee:",
		"aa:bb:cc:dd:ee:f",
		"aa:bb:cc:dd:ee:fff",
		"aa:bb:cc:dd:ee:ff:",
		"aa:bb:cc:dd:ee:ff:00",
		"aa-bb-cc-dd-ee-ff",
		"aa.bb.cc.dd.ee.ff",
		"aabb.ccdd.eeff",
		"aabbccddeeff",
		"a:bb:cc:dd:ee:ff",
		"aab:b:cc:dd:ee:ff",
		"aa::bb:cc:dd:ee:ff",
		" aa:bb:cc:dd:ee:ff",
		"aa:bb:cc:dd:ee:ff ",
		"aa:bb:cc:dd:ee:ff\n",
		"gg:bb:cc:dd:ee:ff",
		"aa:bb:cc:dd:ee:fg",
		"0x:bb:cc:dd:ee:ff",
		"+a:bb:cc:dd:ee:ff",
	};
	const uint8_t want[ETH_ALEN] = { 0xaa, 0xbb, 0xcc, 0x0d, 0xe0, 0xff };
	uint8_t mac[ETH_ALEN], back[ETH_ALEN];
	char text[MAC_STRING_LEN];
	size_t i;

	(void)state;
	assert_int_equal(mac_parse("aa:bb:cc:0d:e0:ff", mac), 0);
	assert_memory_equal(mac, want, ETH_ALEN);
	memset(mac, 0, sizeof(mac));
	assert_int_equal(mac_parse("AA:bB:Cc:0D:E0:fF", mac), 0);
	assert_memory_equal(mac, want, ETH_ALEN);
	assert_int_equal(mac_parse("00:00:00:00:00:00", mac), 0);
	assert_memory_equal(mac, zero, ETH_ALEN);
	assert_int_equal(mac_parse("ff:ff:ff:ff:ff:ff", mac), 0);
	assert_memory_equal(mac, bcast, ETH_ALEN);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(mac, mac_c, ETH_ALEN);
		if (mac_parse(bad[i], mac) != -1)
			fail_msg("mac_parse accepted \"%s\"", bad[i]);
		assert_memory_equal(mac, mac_c, ETH_ALEN); /* untouched */
	}

	assert_string_equal(mac_format(want, text), "aa:bb:cc:0d:e0:ff");
	for (i = 0; i < 1000; i++) {
		crypt_random(mac, sizeof(mac));
		assert_int_equal(mac_parse(mac_format(mac, text), back), 0);
		assert_memory_equal(mac, back, ETH_ALEN);
	}
}

/* -- the table, case by case --------------------------------------------- */

static void learn_and_lookup(void **state)
{
	struct mactable *t = mactable_new(0, 0);
	struct mac_owner a, b, *owners[] = { &a, &b };
	struct mactable_stats st;

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->size, MACTABLE_DEFAULT_ENTRIES);
	assert_int_equal(t->ageing_ms, MACTABLE_DEFAULT_AGEING_MS);
	mac_owner_init(&a, 10);
	mac_owner_init(&b, 10);
	assert_null(mactable_lookup(t, mac_a, 0));
	assert_int_equal(mactable_learn(t, mac_a, &a, 1000), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_b, &b, 1000), MAC_LEARN_NEW);
	assert_ptr_equal(mactable_lookup(t, mac_a, 1000), &a);
	assert_ptr_equal(mactable_lookup(t, mac_b, 1001), &b);
	assert_null(mactable_lookup(t, mac_c, 1000));
	assert_int_equal(mactable_learn(t, mac_a, &a, 1000), MAC_LEARN_REFRESHED);
	assert_int_equal(a.entries, 1);
	assert_int_equal(b.entries, 1);
	assert_int_equal(mactable_owner_count(t, &a), 1);

	/* Group and zero sources are never learned. */
	assert_int_equal(mactable_learn(t, bcast, &a, 1000), MAC_LEARN_INVALID);
	assert_int_equal(mactable_learn(t, mcast, &a, 1000), MAC_LEARN_INVALID);
	assert_int_equal(mactable_learn(t, zero, &a, 1000), MAC_LEARN_INVALID);
	assert_null(mactable_lookup(t, bcast, 1000));
	assert_null(mactable_lookup(t, zero, 1000));
	assert_int_equal(a.entries, 1);

	mactable_stats(t, &st);
	assert_int_equal(st.learned, 2);
	assert_int_equal(st.invalid_source, 3);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.capacity, MACTABLE_DEFAULT_ENTRIES);
	assert_int_equal(st.moved + st.refused_owner_full + st.refused_table_full + st.expired + st.refused_static, 0);
	check_table(t, owners, 2);
	mactable_free(t);

	assert_null(mactable_new(MACTABLE_MAX_ENTRIES + 1, 0));
}

static void refresh_and_ageing(void **state)
{
	struct mactable *t = mactable_new(64, AGEING);
	struct mac_owner a, *owners[] = { &a };
	struct mactable_stats st;
	const uint64_t t0 = 5000;

	(void)state;
	mac_owner_init(&a, 10);
	assert_int_equal(mactable_learn(t, mac_a, &a, t0), MAC_LEARN_NEW);
	assert_ptr_equal(mactable_lookup(t, mac_a, t0 + AGEING - 1), &a);
	assert_null(mactable_lookup(t, mac_a, t0 + AGEING));

	/* A refresh restarts the clock... */
	assert_int_equal(mactable_learn(t, mac_a, &a, t0 + 200000), MAC_LEARN_REFRESHED);
	assert_ptr_equal(mactable_lookup(t, mac_a, t0 + 200000 + AGEING - 1), &a);
	assert_null(mactable_lookup(t, mac_a, t0 + 200000 + AGEING));
	/* ...but moves it at most once per MACTABLE_REFRESH_MS. */
	assert_int_equal(mactable_learn(t, mac_a, &a, t0 + 200000 + MACTABLE_REFRESH_MS - 1), MAC_LEARN_REFRESHED);
	assert_null(mactable_lookup(t, mac_a, t0 + 200000 + AGEING));
	assert_int_equal(mactable_learn(t, mac_a, &a, t0 + 200000 + MACTABLE_REFRESH_MS), MAC_LEARN_REFRESHED);
	assert_ptr_equal(mactable_lookup(t, mac_a, t0 + 200000 + AGEING), &a);

	/* Aged out: absent to lookups, still in memory until swept. */
	const uint64_t dead = t0 + 200000 + MACTABLE_REFRESH_MS + AGEING;
	assert_null(mactable_lookup(t, mac_a, dead));
	assert_int_equal(a.entries, 1);
	assert_int_equal(mactable_expire(t, dead - 1), 0);
	assert_int_equal(a.entries, 1);
	assert_int_equal(mactable_expire(t, dead), 1);
	assert_int_equal(a.entries, 0);
	mactable_stats(t, &st);
	assert_int_equal(st.expired, 1);
	assert_int_equal(st.entries, 0);
	check_table(t, owners, 1);

	/* Learning an aged-out MAC again is a new entry, swept or not. */
	assert_int_equal(mactable_learn(t, mac_a, &a, dead), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_a, &a, dead + AGEING), MAC_LEARN_NEW);
	assert_int_equal(a.entries, 1);
	mactable_stats(t, &st);
	assert_int_equal(st.learned, 3);
	assert_int_equal(st.expired, 2);
	check_table(t, owners, 1);

	/* A clock that steps back (another thread's older now) is harmless. */
	assert_ptr_equal(mactable_lookup(t, mac_a, dead), &a);
	assert_int_equal(mactable_learn(t, mac_a, &a, dead), MAC_LEARN_REFRESHED);
	mactable_free(t);

	/* A short ageing time refreshes more often than once a second. */
	t = mactable_new(64, 400);
	mac_owner_init(&a, 10);
	assert_int_equal(mactable_learn(t, mac_a, &a, 0), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_a, &a, 300), MAC_LEARN_REFRESHED);
	assert_ptr_equal(mactable_lookup(t, mac_a, 600), &a);
	assert_null(mactable_lookup(t, mac_a, 700));
	mactable_free(t);
}

static void expire_in_slices(void **state)
{
	const unsigned n = 3 * MACTABLE_EXPIRE_BATCH;
	struct mactable *t = mactable_new(n, 1000);
	struct mac_owner a, *owners[] = { &a };
	uint8_t mac[ETH_ALEN];
	unsigned i, total = 0, calls = 0, got;

	(void)state;
	mac_owner_init(&a, n);
	for (i = 0; i < n; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, &a, 0), MAC_LEARN_NEW);
	}
	assert_int_equal(mactable_expire(t, 999), 0);
	while ((got = mactable_expire(t, 1000)) != 0) {
		assert_true(got <= MACTABLE_EXPIRE_BATCH);
		total += got;
		calls++;
		assert_true(calls <= 3);
	}
	assert_int_equal(total, n);
	assert_int_equal(a.entries, 0);
	check_table(t, owners, 1);
	mactable_free(t);
}

static void moves(void **state)
{
	struct mactable *t = mactable_new(64, AGEING);
	struct mac_owner a, b, *owners[] = { &a, &b };
	struct mactable_stats st;

	(void)state;
	mac_owner_init(&a, 4);
	mac_owner_init(&b, 4);
	assert_int_equal(mactable_learn(t, mac_a, &a, 0), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_c, &a, 0), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_a, &b, 10), MAC_LEARN_MOVED);
	assert_ptr_equal(mactable_lookup(t, mac_a, 10), &b);
	assert_ptr_equal(mactable_lookup(t, mac_c, 10), &a);
	assert_int_equal(a.entries, 1);
	assert_int_equal(b.entries, 1);
	check_table(t, owners, 2);
	/* The move restarted its age on the new owner. */
	assert_ptr_equal(mactable_lookup(t, mac_a, 10 + AGEING - 1), &b);
	/* And back, immediately. */
	assert_int_equal(mactable_learn(t, mac_a, &a, 20), MAC_LEARN_MOVED);
	assert_ptr_equal(mactable_lookup(t, mac_a, 20), &a);
	assert_int_equal(a.entries, 2);
	assert_int_equal(b.entries, 0);
	/* An aged-out entry elsewhere is not a move. */
	assert_int_equal(mactable_learn(t, mac_c, &b, AGEING), MAC_LEARN_NEW);
	assert_int_equal(a.entries, 1);
	assert_int_equal(b.entries, 1);
	mactable_stats(t, &st);
	assert_int_equal(st.moved, 2);
	assert_int_equal(st.learned, 3);
	assert_int_equal(st.expired, 1);
	check_table(t, owners, 2);
	mactable_free(t);
}

static void owner_cap(void **state)
{
	struct mactable *t = mactable_new(64, AGEING);
	struct mac_owner a, b, c, *owners[] = { &a, &b, &c };
	struct mactable_stats st;
	uint8_t mac[ETH_ALEN];
	unsigned i;

	(void)state;
	mac_owner_init(&a, 3);
	mac_owner_init(&b, 3);
	mac_owner_init(&c, 0); /* learns nothing */
	for (i = 0; i < 3; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, &a, 0), MAC_LEARN_NEW);
	}
	mac_n(mac, 3);
	assert_int_equal(mactable_learn(t, mac, &a, 1000), MAC_LEARN_OWNER_FULL);
	assert_null(mactable_lookup(t, mac, 1000));
	assert_int_equal(a.entries, 3);
	/* Others still learn, a full owner still refreshes. */
	assert_int_equal(mactable_learn(t, mac, &b, 1000), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_c, &c, 1000), MAC_LEARN_OWNER_FULL);
	mac_n(mac, 0);
	assert_int_equal(mactable_learn(t, mac, &a, 2000), MAC_LEARN_REFRESHED);

	/* A MAC moving to a full owner is refused and forgotten where it was:
	 * frames to it are flooded, not sent to its old place. */
	for (i = 10; i < 12; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, &b, 2000), MAC_LEARN_NEW);
	}
	assert_int_equal(b.entries, 3);
	mac_n(mac, 10);
	assert_int_equal(mactable_learn(t, mac, &a, 3000), MAC_LEARN_OWNER_FULL);
	assert_null(mactable_lookup(t, mac, 3000));
	assert_int_equal(b.entries, 2);
	assert_int_equal(a.entries, 3);
	check_table(t, owners, 3);

	/* Expired entries of a full owner make room without a sweep: entries
	 * 1 and 2 were last seen at 0, entry 0 at 2000. */
	mac_n(mac, 20);
	assert_int_equal(mactable_learn(t, mac, &a, AGEING - 1), MAC_LEARN_OWNER_FULL);
	assert_int_equal(mactable_learn(t, mac, &a, AGEING), MAC_LEARN_NEW);
	assert_int_equal(a.entries, 2); /* 0 and 20: 1 and 2 reclaimed */
	mac_n(mac, 21);
	assert_int_equal(mactable_learn(t, mac, &a, AGEING), MAC_LEARN_NEW);
	mac_n(mac, 22);
	assert_int_equal(mactable_learn(t, mac, &a, AGEING + 1), MAC_LEARN_OWNER_FULL);
	assert_int_equal(mactable_learn(t, mac, &a, 2000 + AGEING), MAC_LEARN_NEW);
	assert_int_equal(a.entries, 3);

	mactable_stats(t, &st);
	assert_int_equal(st.refused_owner_full, 5);
	assert_int_equal(st.expired, 3);
	check_table(t, owners, 3);

	/* Lowering the cap keeps what is there and stops new learning. */
	mactable_set_owner_cap(t, &a, 1);
	mac_n(mac, 30);
	assert_int_equal(mactable_learn(t, mac, &a, 2000 + AGEING), MAC_LEARN_OWNER_FULL);
	assert_int_equal(a.entries, 3);
	assert_int_equal(a.cap, 1);
	check_table(t, owners, 3);
	mactable_free(t);
}

static void table_full(void **state)
{
	struct mactable *t = mactable_new(8, AGEING);
	struct mac_owner a, b, *owners[] = { &a, &b };
	struct mactable_stats st;
	uint8_t mac[ETH_ALEN];
	unsigned i;

	(void)state;
	mac_owner_init(&a, 100);
	mac_owner_init(&b, 100);
	mac_n(mac, 0);
	assert_int_equal(mactable_learn(t, mac, &a, 0), MAC_LEARN_NEW);
	for (i = 1; i < 8; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, i & 1 ? &a : &b, 1000), MAC_LEARN_NEW);
	}
	/* Full, nothing expired. */
	mac_n(mac, 100);
	assert_int_equal(mactable_learn(t, mac, &b, 2000), MAC_LEARN_TABLE_FULL);
	assert_int_equal(mactable_learn(t, mac, &b, AGEING - 1), MAC_LEARN_TABLE_FULL);
	assert_null(mactable_lookup(t, mac, AGEING - 1));
	/* Refreshes and moves need no room. */
	mac_n(mac, 1);
	assert_int_equal(mactable_learn(t, mac, &b, AGEING - 1), MAC_LEARN_MOVED);
	/* Entry 0 expires at AGEING: reclaimed for a new MAC. */
	mac_n(mac, 100);
	assert_int_equal(mactable_learn(t, mac, &b, AGEING), MAC_LEARN_NEW);
	mac_n(mac, 0);
	assert_null(mactable_lookup(t, mac, AGEING));
	/* The next expiry is at 1000 + AGEING, and not one ms sooner. */
	mac_n(mac, 101);
	assert_int_equal(mactable_learn(t, mac, &b, AGEING + 1), MAC_LEARN_TABLE_FULL);
	assert_int_equal(mactable_learn(t, mac, &b, 999 + AGEING), MAC_LEARN_TABLE_FULL);
	assert_int_equal(mactable_learn(t, mac, &b, 1000 + AGEING), MAC_LEARN_NEW);
	mactable_stats(t, &st);
	assert_int_equal(st.refused_table_full, 4);
	assert_int_equal(st.entries, 3); /* 1 (moved at AGEING-1), 100, 101 */
	assert_int_equal(st.expired, 7);
	check_table(t, owners, 2);

	/* A table full of static entries has nothing to reclaim, ever. */
	for (i = 200; i < 205; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_add_static(t, mac, &a), 0);
	}
	mac_n(mac, 205);
	assert_int_equal(mactable_add_static(t, mac, &a), -ENOSPC);
	assert_int_equal(mactable_learn(t, mac, &b, 100 * AGEING), MAC_LEARN_NEW); /* 3 learned are long dead */
	mactable_remove_owner(t, &b);
	mactable_remove_owner(t, &a);
	for (i = 200; i < 208; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_add_static(t, mac, &a), 0);
	}
	mac_n(mac, 300);
	assert_int_equal(mactable_learn(t, mac, &b, 1000 * AGEING), MAC_LEARN_TABLE_FULL);
	assert_int_equal(mactable_add_static(t, mac, &b), -ENOSPC);
	check_table(t, owners, 2);
	mactable_free(t);
}

static void static_entries(void **state)
{
	struct mactable *t = mactable_new(64, AGEING);
	struct mac_owner a, b, *owners[] = { &a, &b };
	struct mactable_stats st;
	uint8_t mac[ETH_ALEN];

	(void)state;
	mac_owner_init(&a, 1);
	mac_owner_init(&b, 4);
	assert_int_equal(mactable_add_static(t, mac_a, &a), 0);
	assert_int_equal(mactable_add_static(t, mac_a, &a), 0); /* again: no change */
	assert_int_equal(mactable_add_static(t, bcast, &a), -EINVAL);
	assert_int_equal(mactable_add_static(t, mcast, &a), -EINVAL);
	assert_int_equal(mactable_add_static(t, zero, &a), -EINVAL);
	assert_int_equal(a.statics, 1);
	assert_int_equal(a.entries, 0);

	/* Not counted against the cap of 1. */
	assert_int_equal(mactable_learn(t, mac_b, &a, 0), MAC_LEARN_NEW);
	mac_n(mac, 1);
	assert_int_equal(mactable_learn(t, mac, &a, 0), MAC_LEARN_OWNER_FULL);

	/* Never overridden by learning, never aged. */
	assert_int_equal(mactable_learn(t, mac_a, &b, 10), MAC_LEARN_STATIC_CONFLICT);
	assert_int_equal(mactable_learn(t, mac_a, &b, 20), MAC_LEARN_STATIC_CONFLICT);
	assert_int_equal(mactable_learn(t, mac_a, &a, 30), MAC_LEARN_REFRESHED);
	assert_ptr_equal(mactable_lookup(t, mac_a, 40), &a);
	assert_int_equal(mactable_expire(t, 100 * AGEING), 1); /* mac_b, not mac_a */
	assert_ptr_equal(mactable_lookup(t, mac_a, 100 * AGEING), &a);
	assert_int_equal(mactable_learn(t, mac_a, &b, 100 * AGEING), MAC_LEARN_STATIC_CONFLICT);
	mactable_stats(t, &st);
	assert_int_equal(st.refused_static, 3);
	check_table(t, owners, 2);

	/* A static entry replaces a learned one, on any owner. */
	assert_int_equal(mactable_learn(t, mac_c, &b, 100 * AGEING), MAC_LEARN_NEW);
	assert_int_equal(b.entries, 1);
	assert_int_equal(mactable_add_static(t, mac_c, &a), 0);
	assert_int_equal(b.entries, 0);
	assert_int_equal(a.statics, 2);
	assert_ptr_equal(mactable_lookup(t, mac_c, 1000 * AGEING), &a);
	/* ...and a static one on another owner (configuration wins). */
	assert_int_equal(mactable_add_static(t, mac_c, &b), 0);
	assert_int_equal(a.statics, 1);
	assert_int_equal(b.statics, 1);
	assert_ptr_equal(mactable_lookup(t, mac_c, 0), &b);
	check_table(t, owners, 2);

	/* Removing it makes the MAC learnable again. */
	assert_int_equal(mactable_remove_static(t, mac_c), 0);
	assert_int_equal(mactable_remove_static(t, mac_c), -ENOENT);
	assert_null(mactable_lookup(t, mac_c, 0));
	assert_int_equal(mactable_learn(t, mac_c, &a, 100 * AGEING), MAC_LEARN_NEW);
	assert_int_equal(mactable_remove_static(t, mac_c), -ENOENT); /* learned, not static */
	assert_ptr_equal(mactable_lookup(t, mac_c, 100 * AGEING), &a);
	check_table(t, owners, 2);
	mactable_free(t);
}

static void remove_owner(void **state)
{
	struct mactable *t = mactable_new(16, AGEING);
	struct mac_owner a, b, c, *owners[] = { &a, &b, &c };
	uint8_t mac[ETH_ALEN];
	unsigned i;

	(void)state;
	mac_owner_init(&a, 16);
	mac_owner_init(&b, 16);
	mac_owner_init(&c, 16);
	for (i = 0; i < 5; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, &a, 0), MAC_LEARN_NEW);
	}
	assert_int_equal(mactable_add_static(t, mac_a, &a), 0);
	for (i = 10; i < 13; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, &b, 0), MAC_LEARN_NEW);
	}
	check_table(t, owners, 3);
	mactable_remove_owner(t, &a);
	assert_int_equal(a.entries + a.statics, 0);
	assert_int_equal(a.head, 0);
	for (i = 0; i < 5; i++) {
		mac_n(mac, i);
		assert_null(mactable_lookup(t, mac, 0));
	}
	assert_null(mactable_lookup(t, mac_a, 0));
	for (i = 10; i < 13; i++) {
		mac_n(mac, i);
		assert_ptr_equal(mactable_lookup(t, mac, 0), &b);
	}
	check_table(t, owners, 3);
	/* The space is free again. */
	for (i = 20; i < 33; i++) {
		mac_n(mac, i);
		assert_int_equal(mactable_learn(t, mac, &c, 0), MAC_LEARN_NEW);
	}
	mac_n(mac, 33);
	assert_int_equal(mactable_learn(t, mac, &c, 0), MAC_LEARN_TABLE_FULL);
	mactable_remove_owner(t, &b); /* twice is harmless */
	mactable_remove_owner(t, &b);
	assert_int_equal(mactable_learn(t, mac, &c, 0), MAC_LEARN_NEW);
	check_table(t, owners, 3);
	mactable_free(t);
}

struct dump {
	int n, statics;
	uint64_t age_sum;
	struct mac_owner *owner_of_c;
	int stop_after;
};

static int dump_cb(const struct mac_entry_info *e, void *ctx)
{
	struct dump *d = ctx;

	d->n++;
	d->statics += e->is_static;
	d->age_sum += e->age_ms;
	if (!memcmp(e->mac, mac_c, ETH_ALEN))
		d->owner_of_c = e->owner;
	return d->n == d->stop_after ? 42 : 0;
}

static void dump(void **state)
{
	struct mactable *t = mactable_new(64, AGEING);
	struct mac_owner a, b;
	struct dump d;

	(void)state;
	mac_owner_init(&a, 10);
	mac_owner_init(&b, 10);
	assert_int_equal(mactable_learn(t, mac_a, &a, 1000), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_b, &a, 2000), MAC_LEARN_NEW);
	assert_int_equal(mactable_learn(t, mac_c, &b, 4000), MAC_LEARN_NEW);
	assert_int_equal(mactable_add_static(t, bcast, &b), -EINVAL);
	assert_int_equal(mactable_add_static(t, mac_b, &b), 0);

	memset(&d, 0, sizeof(d));
	assert_int_equal(mactable_foreach(t, NULL, 5000, dump_cb, &d), 0);
	assert_int_equal(d.n, 3);
	assert_int_equal(d.statics, 1);
	assert_int_equal(d.age_sum, 4000 + 1000); /* a: 4000, c: 1000, static: 0 */
	assert_ptr_equal(d.owner_of_c, &b);

	memset(&d, 0, sizeof(d));
	assert_int_equal(mactable_foreach(t, &a, 5000, dump_cb, &d), 0);
	assert_int_equal(d.n, 1);
	memset(&d, 0, sizeof(d));
	assert_int_equal(mactable_foreach(t, &b, 5000, dump_cb, &d), 0);
	assert_int_equal(d.n, 2);

	/* Aged-out entries are not shown. */
	memset(&d, 0, sizeof(d));
	assert_int_equal(mactable_foreach(t, NULL, 1000 + AGEING, dump_cb, &d), 0);
	assert_int_equal(d.n, 2);

	memset(&d, 0, sizeof(d));
	d.stop_after = 2;
	assert_int_equal(mactable_foreach(t, NULL, 5000, dump_cb, &d), 42);
	assert_int_equal(d.n, 2);
	mactable_free(t);
}

static struct ether_info eth(const uint8_t dst[ETH_ALEN], const uint8_t src[ETH_ALEN])
{
	struct ether_info e;

	memset(&e, 0, sizeof(e));
	memcpy(e.dst, dst, ETH_ALEN);
	memcpy(e.src, src, ETH_ALEN);
	e.hdr_len = ETH_HLEN;
	return e;
}

static void forwarding(void **state)
{
	struct mactable *t = mactable_new(64, AGEING);
	struct mac_owner tap, p1, p2, *to;
	struct ether_info e;

	(void)state;
	mac_owner_init(&tap, 10);
	mac_owner_init(&p1, 10);
	mac_owner_init(&p2, 10);

	/* Unknown destination: flood; the source is learned on the way. */
	e = eth(mac_b, mac_a);
	assert_int_equal(mactable_forward(t, &e, &tap, 0, &to), MAC_FORWARD_FLOOD);
	assert_null(to);
	assert_ptr_equal(mactable_lookup(t, mac_a, 0), &tap);
	/* The reply is unicast back. */
	e = eth(mac_a, mac_b);
	assert_int_equal(mactable_forward(t, &e, &p1, 1, &to), MAC_FORWARD_UNICAST);
	assert_ptr_equal(to, &tap);
	e = eth(mac_b, mac_a);
	assert_int_equal(mactable_forward(t, &e, &tap, 2, &to), MAC_FORWARD_UNICAST);
	assert_ptr_equal(to, &p1);
	/* Broadcast and multicast always flood, even from a known source. */
	e = eth(bcast, mac_a);
	assert_int_equal(mactable_forward(t, &e, &tap, 3, &to), MAC_FORWARD_FLOOD);
	e = eth(mcast, mac_b);
	assert_int_equal(mactable_forward(t, &e, &p1, 3, &to), MAC_FORWARD_FLOOD);
	/* Never back out of the ingress port. */
	e = eth(mac_b, mac_c);
	assert_int_equal(mactable_forward(t, &e, &p1, 4, &to), MAC_FORWARD_DROP_INGRESS);
	assert_null(to);
	/* Bad sources are dropped before anything is learned. */
	e = eth(mac_a, mcast);
	assert_int_equal(mactable_forward(t, &e, &p2, 5, &to), MAC_FORWARD_DROP_SOURCE);
	e = eth(mac_a, zero);
	assert_int_equal(mactable_forward(t, &e, &p2, 5, &to), MAC_FORWARD_DROP_SOURCE);
	e = eth(mac_a, bcast);
	assert_int_equal(mactable_forward(t, &e, NULL, 5, &to), MAC_FORWARD_DROP_SOURCE);
	/* A source pinned elsewhere: dropped, and the pin holds. */
	assert_int_equal(mactable_add_static(t, mac_c, &p1), 0);
	e = eth(mac_a, mac_c);
	assert_int_equal(mactable_forward(t, &e, &p2, 6, &to), MAC_FORWARD_DROP_STATIC);
	assert_ptr_equal(mactable_lookup(t, mac_c, 6), &p1);
	/* Refused learning still forwards. */
	mactable_set_owner_cap(t, &p2, 0);
	e = eth(mac_a, mac_d);
	assert_int_equal(mactable_forward(t, &e, &p2, 7, &to), MAC_FORWARD_UNICAST);
	assert_ptr_equal(to, &tap);
	/* Without an ingress owner nothing is learned. */
	e = eth(mac_c, mac_d);
	assert_int_equal(mactable_forward(t, &e, NULL, 8, &to), MAC_FORWARD_UNICAST);
	assert_ptr_equal(to, &p1);
	/* A MAC that moved is followed at once. */
	e = eth(bcast, mac_b);
	assert_int_equal(mactable_forward(t, &e, &p2, 9, &to), MAC_FORWARD_FLOOD); /* p2 full: forgotten */
	e = eth(mac_b, mac_a);
	assert_int_equal(mactable_forward(t, &e, &tap, 9, &to), MAC_FORWARD_FLOOD);
	mactable_set_owner_cap(t, &p2, 10);
	e = eth(bcast, mac_b);
	assert_int_equal(mactable_forward(t, &e, &p2, 10, &to), MAC_FORWARD_FLOOD);
	e = eth(mac_b, mac_a);
	assert_int_equal(mactable_forward(t, &e, &tap, 10, &to), MAC_FORWARD_UNICAST);
	assert_ptr_equal(to, &p2);
	mactable_free(t);
}

/* -- against a naive reference ------------------------------------------- */

/* The reference holds what the table means, not how it stores it: a list
 * of live entries, scanned linearly. An aged-out entry is simply gone, and
 * room is counted over live entries only; the real table keeps aged-out
 * entries in memory until it needs the room, which must never show. */
#define R_MACS	 150
#define R_OWNERS 5
#define R_SIZE	 48
#define R_AGEING 10000
#define R_OPS	 40000

struct ref_entry {
	bool used, is_static;
	int owner;
	uint64_t last_seen;
};

struct ref {
	struct ref_entry e[R_MACS];
	unsigned cap[R_OWNERS];
	uint64_t learned, moved, owner_full, table_full, refused_static, invalid;
};

static uint8_t r_macs[R_MACS][ETH_ALEN];

static bool ref_live(const struct ref_entry *e, uint64_t now)
{
	return e->used && (e->is_static || now - e->last_seen < R_AGEING);
}

static unsigned ref_count(const struct ref *r, int owner, bool learned_only, uint64_t now)
{
	unsigned n = 0;
	int i;

	for (i = 0; i < R_MACS; i++)
		if (ref_live(&r->e[i], now) && (owner < 0 || r->e[i].owner == owner) &&
		    !(learned_only && r->e[i].is_static))
			n++;
	return n;
}

static enum mac_learn_result ref_learn(struct ref *r, int m, int o, uint64_t now)
{
	struct ref_entry *e = &r->e[m];

	if (!ether_is_valid_source(r_macs[m])) {
		r->invalid++;
		return MAC_LEARN_INVALID;
	}
	if (ref_live(e, now)) {
		if (e->is_static) {
			if (e->owner == o)
				return MAC_LEARN_REFRESHED;
			r->refused_static++;
			return MAC_LEARN_STATIC_CONFLICT;
		}
		if (e->owner == o) {
			if (now - e->last_seen >= MACTABLE_REFRESH_MS)
				e->last_seen = now;
			return MAC_LEARN_REFRESHED;
		}
		if (ref_count(r, o, true, now) >= r->cap[o]) {
			e->used = false;
			r->owner_full++;
			return MAC_LEARN_OWNER_FULL;
		}
		e->owner = o;
		e->last_seen = now;
		r->moved++;
		return MAC_LEARN_MOVED;
	}
	e->used = false;
	if (ref_count(r, o, true, now) >= r->cap[o]) {
		r->owner_full++;
		return MAC_LEARN_OWNER_FULL;
	}
	if (ref_count(r, -1, false, now) >= R_SIZE) {
		r->table_full++;
		return MAC_LEARN_TABLE_FULL;
	}
	*e = (struct ref_entry){ .used = true, .owner = o, .last_seen = now };
	r->learned++;
	return MAC_LEARN_NEW;
}

static int ref_add_static(struct ref *r, int m, int o, uint64_t now)
{
	struct ref_entry *e = &r->e[m];

	if (!ether_is_valid_source(r_macs[m]))
		return -EINVAL;
	if (!ref_live(e, now) && ref_count(r, -1, false, now) >= R_SIZE)
		return -ENOSPC;
	*e = (struct ref_entry){ .used = true, .is_static = true, .owner = o, .last_seen = now };
	return 0;
}

struct walk {
	const struct ref *r;
	struct mac_owner *owners;
	uint64_t now;
	int n;
};

static int walk_cb(const struct mac_entry_info *info, void *ctx)
{
	struct walk *w = ctx;
	const struct ref_entry *e = NULL;
	int m;

	for (m = 0; m < R_MACS; m++)
		if (!memcmp(r_macs[m], info->mac, ETH_ALEN))
			e = &w->r->e[m];
	assert_non_null(e);
	assert_true(ref_live(e, w->now));
	assert_ptr_equal(info->owner, &w->owners[e->owner]);
	assert_int_equal(info->is_static, e->is_static);
	if (!e->is_static)
		assert_int_equal(info->age_ms, w->now - e->last_seen);
	w->n++;
	return 0;
}

static void compare(struct mactable *t, const struct ref *r, struct mac_owner *owners, uint64_t now)
{
	struct mac_owner *ptrs[R_OWNERS];
	struct mactable_stats st;
	struct walk w = { r, owners, now, 0 };
	int i;

	for (i = 0; i < R_OWNERS; i++)
		ptrs[i] = &owners[i];
	check_table(t, ptrs, R_OWNERS);
	for (i = 0; i < R_MACS; i++) {
		struct mac_owner *got = mactable_lookup(t, r_macs[i], now);

		if (ref_live(&r->e[i], now))
			assert_ptr_equal(got, &owners[r->e[i].owner]);
		else
			assert_null(got);
	}
	assert_int_equal(mactable_foreach(t, NULL, now, walk_cb, &w), 0);
	assert_int_equal(w.n, ref_count(r, -1, false, now));
	mactable_stats(t, &st);
	assert_int_equal(st.learned, r->learned);
	assert_int_equal(st.moved, r->moved);
	assert_int_equal(st.refused_owner_full, r->owner_full);
	assert_int_equal(st.refused_table_full, r->table_full);
	assert_int_equal(st.refused_static, r->refused_static);
	assert_int_equal(st.invalid_source, r->invalid);
	assert_true(st.entries <= R_SIZE);
	for (i = 0; i < R_OWNERS; i++) {
		assert_true(owners[i].entries <= r->cap[i]);
		assert_true(ref_count(r, i, true, now) <= owners[i].entries);
	}
}

static void against_reference(void **state)
{
	static const unsigned caps[R_OWNERS] = { 0, 3, 10, 20, 60 };
	static struct ref r;
	struct mac_owner owners[R_OWNERS];
	struct mactable *t = mactable_new(R_SIZE, R_AGEING);
	unsigned seed = (unsigned)time(NULL), i, results[MAC_LEARN_INVALID + 1] = { 0 };
	uint64_t now = 1000;
	int m, o;

	(void)state;
	if (getenv("MACTABLE_SEED"))
		seed = (unsigned)atoi(getenv("MACTABLE_SEED"));
	printf("# against_reference: MACTABLE_SEED=%u\n", seed);
	srandom(seed);
	memset(&r, 0, sizeof(r));
	for (m = 0; m < R_MACS; m++) {
		mac_n(r_macs[m], (unsigned)random());
		if (m % 50 == 7)
			r_macs[m][0] |= 1; /* a few group addresses */
		if (m == 9)
			memset(r_macs[m], 0, ETH_ALEN);
	}
	for (o = 0; o < R_OWNERS; o++) {
		mac_owner_init(&owners[o], caps[o]);
		r.cap[o] = caps[o];
	}
	for (i = 0; i < R_OPS; i++) {
		int op = (int)(random() % 100);

		m = (int)(random() % R_MACS);
		o = (int)(random() % R_OWNERS);
		/* Mostly small steps (refreshes inside and outside the
		 * refresh interval), sometimes past the ageing time. */
		now += random() % 50 ? (uint64_t)(random() % 250) : (uint64_t)(random() % (2 * R_AGEING));
		if (op < 80) {
			enum mac_learn_result want = ref_learn(&r, m, o, now);
			enum mac_learn_result got = mactable_learn(t, r_macs[m], &owners[o], now);

			if (got != want)
				fail_msg("op %u: learn mac %d on owner %d at %llu: got %d, want %d (seed %u)", i, m, o,
					 (unsigned long long)now, got, want, seed);
			results[got]++;
		} else if (op < 85) {
			mactable_expire(t, now);
		} else if (op < 88) {
			/* add_static takes the time of the latest writer call. */
			mactable_expire(t, now);
			assert_int_equal(mactable_add_static(t, r_macs[m], &owners[o]), ref_add_static(&r, m, o, now));
		} else if (op < 91) {
			int want = ref_live(&r.e[m], now) && r.e[m].is_static ? 0 : -ENOENT;

			if (want == 0)
				r.e[m].used = false;
			assert_int_equal(mactable_remove_static(t, r_macs[m]), want);
		} else if (op < 92) {
			mactable_remove_owner(t, &owners[o]);
			for (m = 0; m < R_MACS; m++)
				if (r.e[m].owner == o)
					r.e[m].used = false;
		} else {
			struct mac_owner *want = ref_live(&r.e[m], now) ? &owners[r.e[m].owner] : NULL;

			assert_ptr_equal(mactable_lookup(t, r_macs[m], now), want);
		}
		if (i % 97 == 0)
			compare(t, &r, owners, now);
	}
	compare(t, &r, owners, now);
	printf("# learn results:");
	for (i = 0; i <= MAC_LEARN_INVALID; i++)
		printf(" %u", results[i]);
	printf("\n");
	/* The run must have exercised every outcome. */
	for (i = 0; i <= MAC_LEARN_INVALID; i++)
		if (results[i] < 20)
			fail_msg("learn result %u seen only %u times (seed %u)", i, results[i], seed);
	mactable_free(t);
}

/* -- races, replayed one at a time --------------------------------------- */

/* The hook runs race_fn once, the first time the table reaches race_at:
 * what another thread's writer would do at the worst moment. */
static int race_at = -1;
static void (*race_fn)(struct mactable *t);
static struct mac_owner race_a, race_b;
static uint8_t race_m[ETH_ALEN], race_y[ETH_ALEN];

static void race_hook(struct mactable *t, int point)
{
	void (*fn)(struct mactable * t) = race_fn;

	if (point != race_at || !fn)
		return;
	race_fn = NULL;
	fn(t);
}

static void race_replay(struct mactable *t, int point, void (*fn)(struct mactable *t))
{
	(void)t;
	race_at = point;
	race_fn = fn;
}

/* Free the entry the reader stands on and reuse it in another bucket. */
static void recycle(struct mactable *t)
{
	mactable_remove_owner(t, &race_b);
	assert_int_equal(mactable_learn(t, race_y, &race_b, 0), MAC_LEARN_NEW);
}

static void static_on_b(struct mactable *t)
{
	assert_int_equal(mactable_add_static(t, race_m, &race_b), 0);
}

static void static_on_a(struct mactable *t)
{
	assert_int_equal(mactable_add_static(t, race_m, &race_a), 0);
}

static void learn_on_a(struct mactable *t)
{
	assert_int_equal(mactable_learn(t, race_m, &race_a, 0), MAC_LEARN_NEW);
}

static void learn_on_b(struct mactable *t)
{
	assert_int_equal(mactable_learn(t, race_m, &race_b, 0), MAC_LEARN_NEW);
}

static void recycle_a(struct mactable *t)
{
	mactable_remove_owner(t, &race_a);
	assert_int_equal(mactable_learn(t, race_y, &race_b, 2000), MAC_LEARN_NEW);
}

static void races(void **state)
{
	struct mactable *t = mactable_new(4, AGEING);
	struct mac_owner *owners[] = { &race_a, &race_b };
	uint8_t s[ETH_ALEN];
	uint32_t sb, slot;
	unsigned i;

	(void)state;
	mac_owner_init(&race_a, 10);
	mac_owner_init(&race_b, 10);

	/* A lookup walks a chain (X then S) and stands on X when X is freed
	 * and reused in another bucket: following X's new link it would miss
	 * S, unless it notices the change and walks again. */
	memcpy(s, mac_c, ETH_ALEN);
	assert_int_equal(mactable_add_static(t, s, &race_a), 0);
	sb = bucket_of(t, mac_key(s));
	for (i = 0;; i++) {
		mac_n(race_m, i);
		if (bucket_of(t, mac_key(race_m)) == sb)
			break;
	}
	for (i = 1000;; i++) {
		mac_n(race_y, i);
		if (bucket_of(t, mac_key(race_y)) != sb)
			break;
	}
	assert_int_equal(mactable_learn(t, race_m, &race_b, 0), MAC_LEARN_NEW);
	slot = find_slot(t, mac_key(race_m), sb);
	assert_int_equal(load32(&t->buckets[sb]), slot); /* X heads the chain */
	race_replay(t, RACE_READ_WALK, recycle);
	assert_ptr_equal(mactable_lookup(t, s, 0), &race_a);
	assert_null(race_fn);
	assert_int_equal(find_slot(t, mac_key(race_y), bucket_of(t, mac_key(race_y))), slot);
	check_table(t, owners, 2);
	mactable_remove_owner(t, &race_a);
	mactable_remove_owner(t, &race_b);

	/* Between the lock-free look and the lock, the MAC appears: */
	race_replay(t, RACE_LEARN_LOCK, static_on_b); /* pinned elsewhere */
	assert_int_equal(mactable_learn(t, race_m, &race_a, 0), MAC_LEARN_STATIC_CONFLICT);
	assert_ptr_equal(mactable_lookup(t, race_m, 0), &race_b);
	assert_int_equal(mactable_remove_static(t, race_m), 0);
	race_replay(t, RACE_LEARN_LOCK, static_on_a); /* pinned here */
	assert_int_equal(mactable_learn(t, race_m, &race_a, 0), MAC_LEARN_REFRESHED);
	assert_int_equal(mactable_remove_static(t, race_m), 0);
	race_replay(t, RACE_LEARN_LOCK, learn_on_a); /* learned here */
	assert_int_equal(mactable_learn(t, race_m, &race_a, 0), MAC_LEARN_REFRESHED);
	assert_int_equal(race_a.entries, 1);
	mactable_remove_owner(t, &race_a);
	race_replay(t, RACE_LEARN_LOCK, learn_on_b); /* learned elsewhere */
	assert_int_equal(mactable_learn(t, race_m, &race_a, 0), MAC_LEARN_MOVED);
	assert_ptr_equal(mactable_lookup(t, race_m, 0), &race_a);
	assert_null(race_fn);
	check_table(t, owners, 2);

	/* A refresh stores into an entry that was just freed and reused: the
	 * MAC it meant is gone, so it must be learned again, under the lock. */
	race_replay(t, RACE_REFRESH_STORE, recycle_a);
	assert_int_equal(mactable_learn(t, race_m, &race_a, 2000), MAC_LEARN_NEW);
	assert_null(race_fn);
	assert_ptr_equal(mactable_lookup(t, race_m, 2000), &race_a);
	assert_ptr_equal(mactable_lookup(t, race_y, 2000), &race_b);
	check_table(t, owners, 2);
	mactable_free(t);
}

/* -- readers racing a writer --------------------------------------------- */

/* Lock-free lookups while one thread churns the table: learning, moving,
 * removing and expiring thousands of MACs in a small table so that chains
 * change under the readers' feet. Static entries never change, so a lookup
 * of one must always find it on its owner; a learned MAC n only ever lives
 * on owner n % 4 or (n + 1) % 4, so a lookup must return one of those or
 * NULL. A torn read or a walk into a recycled entry would break either. */
#define RACE_STATICS 16
#define RACE_MACS    400

struct race {
	struct mactable *t;
	struct mac_owner owners[4], pinned;
	_Atomic bool done;
	_Atomic unsigned long lookups, bad;
};

static void *race_reader(void *arg)
{
	struct race *r = arg;
	unsigned long n = 0, bad = 0;
	uint8_t mac[ETH_ALEN];
	unsigned i = 0;

	while (!atomic_load(&r->done)) {
		struct mac_owner *o;

		mac_n(mac, 100000 + i % RACE_STATICS);
		if (mactable_lookup(r->t, mac, 1) != &r->pinned)
			bad++;
		mac_n(mac, i % RACE_MACS);
		o = mactable_lookup(r->t, mac, 1);
		if (o && o != &r->owners[i % RACE_MACS % 4] && o != &r->owners[(i % RACE_MACS + 1) % 4])
			bad++;
		/* Refreshes take the lock-free path too. */
		mactable_learn(r->t, mac, &r->owners[i % RACE_MACS % 4], 1);
		n += 2;
		i = i * 1103515245 + 12345;
	}
	atomic_fetch_add(&r->lookups, n);
	atomic_fetch_add(&r->bad, bad);
	return NULL;
}

static void readers_race_writer(void **state)
{
	static struct race r;
	pthread_t readers[2];
	uint8_t mac[ETH_ALEN];
	unsigned i, k;

	(void)state;
	r.t = mactable_new(256, 1000000);
	atomic_store(&r.done, false);
	for (k = 0; k < 4; k++)
		mac_owner_init(&r.owners[k], 100);
	mac_owner_init(&r.pinned, 0);
	for (i = 0; i < RACE_STATICS; i++) {
		mac_n(mac, 100000 + i);
		assert_int_equal(mactable_add_static(r.t, mac, &r.pinned), 0);
	}
	for (k = 0; k < 2; k++)
		assert_int_equal(pthread_create(&readers[k], NULL, race_reader, &r), 0);
	for (i = 0; i < 300000; i++) {
		unsigned n = (i * 7919) % RACE_MACS;

		mac_n(mac, n);
		switch (i % 16) {
		case 0:
			mactable_remove_owner(r.t, &r.owners[i / 16 % 4]);
			break;
		case 1:
			mactable_expire(r.t, 1 + (uint64_t)(i % 3) * 1000000);
			break;
		default:
			mactable_learn(r.t, mac, &r.owners[(n + i % 2) % 4], 1);
		}
	}
	atomic_store(&r.done, true);
	for (k = 0; k < 2; k++)
		pthread_join(readers[k], NULL);
	printf("# readers_race_writer: %lu lock-free lookups during 300000 writes\n", atomic_load(&r.lookups));
	assert_int_equal(atomic_load(&r.bad), 0);
	assert_true(atomic_load(&r.lookups) > 0);
	mactable_free(r.t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_untagged),
		cmocka_unit_test(parse_tagged),
		cmocka_unit_test(parse_truncated),
		cmocka_unit_test(address_classes),
		cmocka_unit_test(parse_mac_strings),
		cmocka_unit_test(learn_and_lookup),
		cmocka_unit_test(refresh_and_ageing),
		cmocka_unit_test(expire_in_slices),
		cmocka_unit_test(moves),
		cmocka_unit_test(owner_cap),
		cmocka_unit_test(table_full),
		cmocka_unit_test(static_entries),
		cmocka_unit_test(remove_owner),
		cmocka_unit_test(dump),
		cmocka_unit_test(forwarding),
		cmocka_unit_test(against_reference),
		cmocka_unit_test(races),
		cmocka_unit_test(readers_race_writer),
	};

	if (crypt_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
