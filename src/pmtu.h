/* pmtu.h - inner packets that do not fit the path to a peer.
 *
 * Three tools, each on one IP packet in a buffer of the caller's, nothing
 * allocated, every length checked before a field is read:
 * - pmtu_clamp_mss() lowers the MSS option of a TCP SYN (OpenVPN's mssfix),
 *   so that TCP sends segments that fit and never needs the others;
 * - pmtu_too_big() builds the ICMP "fragmentation needed" (IPv4) or ICMPv6
 *   "packet too big" that tells a local sender of a DF packet the MTU it
 *   can use, instead of losing the packet silently (a black hole);
 * - pmtu_fragment4() splits an IPv4 packet that may be fragmented, as a
 *   router on the path would. */
#ifndef FERRY_PMTU_H
#define FERRY_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The smallest MTUs the Internet guarantees: below these nothing is
 * learned or clamped. */
#define PMTU_MIN_V4 576
#define PMTU_MIN_V6 1280

/* If @ip (@len bytes, an IPv4 or IPv6 packet) is a TCP segment with SYN
 * set and an MSS option above @mss, lower the option to @mss and fix the
 * TCP checksum. Returns true if it changed the packet. */
bool pmtu_clamp_mss(uint8_t *ip, size_t len, uint16_t mss);

/* Is @ip a TCP segment with SYN set (whose MSS option pmtu_clamp_mss()
 * would look at)? Cheap: for every packet. */
bool pmtu_is_tcp_syn(const uint8_t *ip, size_t len);

/* Is @ip an IPv4 packet that may not be fragmented (DF), or IPv6 (never
 * fragmented on the way)? */
bool pmtu_dont_fragment(const uint8_t *ip, size_t len);

/* Write to @out (@cap bytes) the ICMP error telling the sender of @ip (@len
 * bytes) that the way on takes at most @mtu bytes: ICMP type 3 code 4 with
 * the next-hop MTU for IPv4, ICMPv6 type 2 for IPv6; from @ip's destination
 * to its source, quoting as much of @ip as an error may (576 / 1280 bytes
 * in all). Returns its length, or 0 when no error may be sent (not an IP
 * packet, itself an ICMP error, a non-first fragment, a multicast or
 * unspecified source). */
size_t pmtu_too_big(uint8_t *out, size_t cap, const uint8_t *ip, size_t len, unsigned int mtu);

/* Split the IPv4 packet @ip (@len bytes, DF clear) into fragments of at
 * most @mtu bytes, fragment i at out + i * stride, its length in lens[i].
 * Returns how many, or -EINVAL (malformed, DF set, @mtu too small for its
 * header), -ENOSPC (more than @max). */
int pmtu_fragment4(const uint8_t *ip, size_t len, unsigned int mtu, uint8_t *out, size_t stride, size_t *lens, int max);

#endif
