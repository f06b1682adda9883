/* ether.h - Ethernet frame headers as TAP mode sees them: the two MAC
 * addresses, up to two VLAN tags, the EtherType; MAC address classes and the
 * text form of a MAC address (aa:bb:cc:dd:ee:ff). */
#ifndef FERRY_ETHER_H
#define FERRY_ETHER_H

#include <linux/if_ether.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETHER_MAX_TAGS 2
#define ETHER_TAG_LEN  4
#define ETHER_VID_MASK 0x0fff
#define MAC_STRING_LEN 18 /* "aa:bb:cc:dd:ee:ff" and its NUL */
#ifndef ETH_P_QINQ1
#define ETH_P_QINQ1 0x9100 /* the pre-802.1ad QinQ TPID some switches still send */
#endif

/* What ether_parse() found. The frame itself is never changed: tags are
 * forwarded as they came. */
struct ether_info {
	uint8_t dst[ETH_ALEN];
	uint8_t src[ETH_ALEN];
	uint16_t ethertype;	/* after the tags, host order; below 0x0600 an 802.3 length */
	uint16_t vlan_id;	/* the outer tag's VID (the S-VLAN when there are two), 0 if untagged */
	uint16_t inner_vlan_id; /* the second tag's VID (the C-VLAN), 0 if fewer than two tags */
	uint8_t tags;		/* 0, 1 or 2 */
	size_t hdr_len;		/* 14 + 4 per tag: where the payload of @ethertype starts */
};

/* Fill @out from @frame. Tags are 802.1Q (0x8100), 802.1ad (0x88a8) and the
 * older QinQ 0x9100, at most two; a third tag is left in place and shows
 * as @ethertype (a tag TPID). Returns 0, or -1 when the frame is shorter
 * than an Ethernet header or ends inside a tag. */
int ether_parse(const uint8_t *frame, size_t len, struct ether_info *out);

static inline bool ether_is_zero(const uint8_t mac[ETH_ALEN])
{
	return !(mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]);
}

static inline bool ether_is_broadcast(const uint8_t mac[ETH_ALEN])
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

/* The I/G bit: group (multicast, broadcast included) rather than individual. */
static inline bool ether_is_multicast(const uint8_t mac[ETH_ALEN])
{
	return mac[0] & 0x01;
}

/* A source address must name one station: a group or all-zero source is
 * never learned, and the frame carrying it is dropped and counted. */
static inline bool ether_is_valid_source(const uint8_t mac[ETH_ALEN])
{
	return !ether_is_multicast(mac) && !ether_is_zero(mac);
}

/* Parse exactly "aa:bb:cc:dd:ee:ff" (hex digits in either case, two per
 * byte, colons between); anything else, including surrounding spaces, is
 * rejected. Returns 0 or -1; @mac is written only on success. */
int mac_parse(const char *s, uint8_t mac[ETH_ALEN]);
/* Write @mac as "aa:bb:cc:dd:ee:ff" into @buf; returns @buf. */
char *mac_format(const uint8_t mac[ETH_ALEN], char buf[MAC_STRING_LEN]);

#endif
