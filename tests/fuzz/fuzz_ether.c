/* Fuzz target: Ethernet frames from several ports through ether_parse(),
 * the MAC learning table and the forwarding decision (ether.c, mactable.c),
 * as TAP mode meets them from peers and from the TAP device.
 *
 * The input is a sequence of records, each a control byte, a length byte
 * and that many bytes of frame (fewer at the end of the input). The
 * control byte's low two bits pick the port the frame came from; bits 2-4
 * advance the clock (from nothing to well past the ageing time); bit 5 runs
 * mactable_expire(); bit 6 pins the frame's source to the port with a
 * static entry; bit 7 removes the port's entries first. The table is small
 * (16 entries, caps 0, 2, 8 and 64) so that full owners, a full table,
 * moves and expiry all happen.
 *
 * After each record the table must hold together: no owner above its cap,
 * the owners' entries add up to the table's, a MAC just learned is found on
 * its port, a group source is never found, and the dump agrees with the
 * counts. Each record's bytes also go through mac_parse() as text: what
 * it accepts must be what mac_format() writes back, up to case. A broken
 * invariant aborts. */
#include "ether.h"
#include "mactable.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PORTS  4
#define SIZE   16
#define AGEING 10000

static const unsigned caps[PORTS] = { 0, 2, 8, 64 };

static int count_cb(const struct mac_entry_info *e, void *ctx)
{
	(void)e;
	++*(unsigned *)ctx;
	return 0;
}

static void check(struct mactable *t, struct mac_owner *ports, uint64_t now)
{
	struct mactable_stats st;
	unsigned sum = 0, shown = 0, all = 0;
	int i;

	mactable_stats(t, &st);
	if (st.entries > SIZE || st.capacity != SIZE)
		abort();
	for (i = 0; i < PORTS; i++) {
		unsigned n = mactable_owner_count(t, &ports[i]), live = 0;

		if (ports[i].entries > caps[i] || n != ports[i].entries + ports[i].statics)
			abort();
		mactable_foreach(t, &ports[i], now, count_cb, &live);
		if (live > n)
			abort();
		sum += n;
		shown += live;
	}
	if (sum != st.entries)
		abort();
	mactable_foreach(t, NULL, now, count_cb, &all);
	if (all != shown)
		abort();
}

static void check_parse(const uint8_t *frame, size_t len, const struct ether_info *e, int ret)
{
	if (ret < 0) {
		if (len >= ETH_HLEN + ETHER_MAX_TAGS * ETHER_TAG_LEN)
			abort(); /* two tags and a type fit: nothing can be truncated */
		return;
	}
	if (len < ETH_HLEN || e->tags > ETHER_MAX_TAGS || e->hdr_len != ETH_HLEN + e->tags * ETHER_TAG_LEN ||
	    e->hdr_len > len || memcmp(e->dst, frame, ETH_ALEN) || memcmp(e->src, frame + ETH_ALEN, ETH_ALEN) ||
	    e->ethertype != (frame[e->hdr_len - 2] << 8 | frame[e->hdr_len - 1]) || e->vlan_id > ETHER_VID_MASK ||
	    e->inner_vlan_id > ETHER_VID_MASK || (e->tags < 2 && e->inner_vlan_id) || (!e->tags && e->vlan_id))
		abort();
}

static void check_mac_text(const uint8_t *data, size_t len)
{
	char text[MAC_STRING_LEN + 2], back[MAC_STRING_LEN];
	uint8_t mac[ETH_ALEN];
	size_t i;

	if (len > sizeof(text) - 1)
		len = sizeof(text) - 1;
	memcpy(text, data, len);
	text[len] = '\0';
	if (mac_parse(text, mac) < 0)
		return;
	if (strlen(text) != MAC_STRING_LEN - 1)
		abort();
	mac_format(mac, back);
	for (i = 0; i < MAC_STRING_LEN - 1; i++)
		if (tolower((unsigned char)text[i]) != back[i])
			abort();
}

static void one_frame(struct mactable *t, struct mac_owner *ports, int p, const uint8_t *frame, size_t len, uint8_t ctl,
		      uint64_t now)
{
	struct mac_owner *in = &ports[p], *to, *found;
	struct ether_info e;
	enum mac_forward verdict;
	int ret = ether_parse(frame, len, &e);

	check_parse(frame, len, &e, ret);
	if (ret < 0)
		return;
	if (ctl & 0x40) {
		int r = mactable_add_static(t, e.src, in);

		if (r == 0 && mactable_lookup(t, e.src, now) != in)
			abort();
		if (r == -EINVAL && ether_is_valid_source(e.src))
			abort();
	}
	if (len & 1) {
		/* The learning step on its own, then the lookup. */
		switch (mactable_learn(t, e.src, in, now)) {
		case MAC_LEARN_NEW:
		case MAC_LEARN_REFRESHED:
		case MAC_LEARN_MOVED:
			if (mactable_lookup(t, e.src, now) != in)
				abort();
			break;
		case MAC_LEARN_STATIC_CONFLICT:
			found = mactable_lookup(t, e.src, now);
			if (!found || found == in)
				abort();
			break;
		case MAC_LEARN_INVALID:
			if (ether_is_valid_source(e.src) || mactable_lookup(t, e.src, now))
				abort();
			break;
		case MAC_LEARN_OWNER_FULL:
			if (in->entries < in->cap)
				abort();
			break;
		case MAC_LEARN_TABLE_FULL:
			break;
		}
		mactable_lookup(t, e.dst, now);
		return;
	}
	verdict = mactable_forward(t, &e, in, now, &to);
	switch (verdict) {
	case MAC_FORWARD_UNICAST:
		if (!to || to == in || ether_is_multicast(e.dst) || mactable_lookup(t, e.dst, now) != to)
			abort();
		break;
	case MAC_FORWARD_FLOOD:
		if (to || (!ether_is_multicast(e.dst) && mactable_lookup(t, e.dst, now)))
			abort();
		break;
	case MAC_FORWARD_DROP_INGRESS:
		if (to || mactable_lookup(t, e.dst, now) != in)
			abort();
		break;
	case MAC_FORWARD_DROP_SOURCE:
		if (to || ether_is_valid_source(e.src))
			abort();
		break;
	case MAC_FORWARD_DROP_STATIC:
		found = mactable_lookup(t, e.src, now);
		if (to || !found || found == in)
			abort();
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t steps[8] = { 0, 1, 500, 999, 1000, 3000, AGEING - 1, 3 * AGEING };
	struct mac_owner ports[PORTS];
	struct mactable *t = mactable_new(SIZE, AGEING);
	uint64_t now = 1;
	int i;

	if (!t)
		abort();
	for (i = 0; i < PORTS; i++)
		mac_owner_init(&ports[i], caps[i]);
	while (size >= 2) {
		uint8_t ctl = data[0];
		size_t len = data[1];
		int p = ctl & 3;

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		now += steps[ctl >> 2 & 7];
		if (ctl & 0x80) {
			mactable_remove_owner(t, &ports[p]);
			if (mactable_owner_count(t, &ports[p]) || ports[p].head)
				abort();
		}
		if (ctl & 0x20)
			mactable_expire(t, now);
		check_mac_text(data, len);
		one_frame(t, ports, p, data, len, ctl, now);
		check(t, ports, now);
		data += len;
		size -= len;
	}
	for (i = 0; i < PORTS; i++)
		mactable_remove_owner(t, &ports[i]);
	check(t, ports, now);
	mactable_free(t);
	return 0;
}
