/* ether.c - reading Ethernet headers from TAP frames and peers, and the text
 * form of MAC addresses for configuration and `ferry show`.
 *
 * Every byte here may come from a peer or from any program writing to the
 * TAP device: lengths are checked before each field is read, and the frame
 * is only read, never modified. */
#include "ether.h"

#include <string.h>

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool is_tag(uint16_t tpid)
{
	return tpid == ETH_P_8021Q || tpid == ETH_P_8021AD || tpid == ETH_P_QINQ1;
}

int ether_parse(const uint8_t *frame, size_t len, struct ether_info *out)
{
	size_t off = 2 * ETH_ALEN;
	uint16_t type, vid[ETHER_MAX_TAGS] = { 0 };
	uint8_t tags = 0;

	if (len < ETH_HLEN)
		return -1;
	type = get_be16(frame + off);
	while (is_tag(type) && tags < ETHER_MAX_TAGS) {
		/* The tag's TCI follows its TPID, then the next type field. */
		if (len < off + ETHER_TAG_LEN + 2)
			return -1;
		vid[tags++] = get_be16(frame + off + 2) & ETHER_VID_MASK;
		off += ETHER_TAG_LEN;
		type = get_be16(frame + off);
	}
	memcpy(out->dst, frame, ETH_ALEN);
	memcpy(out->src, frame + ETH_ALEN, ETH_ALEN);
	out->ethertype = type;
	out->vlan_id = vid[0];
	out->inner_vlan_id = vid[1];
	out->tags = tags;
	out->hdr_len = off + 2;
	return 0;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int mac_parse(const char *s, uint8_t mac[ETH_ALEN])
{
	uint8_t out[ETH_ALEN] = { 0 };
	int i;

	for (i = 0; i < ETH_ALEN; i++) {
		int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);

		if (lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (*s != (i == ETH_ALEN - 1 ? '\0' : ':'))
			return -1;
		s++;
	}
	memcpy(mac, out, ETH_ALEN);
	return 0;
}

char *mac_format(const uint8_t mac[ETH_ALEN], char buf[MAC_STRING_LEN])
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < ETH_ALEN; i++) {
		buf[3 * i] = digits[mac[i] >> 4];
		buf[3 * i + 1] = digits[mac[i] & 0xf];
		buf[3 * i + 2] = i == ETH_ALEN - 1 ? '\0' : ':';
	}
	return buf;
}
