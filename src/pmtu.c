/* pmtu.c - MSS clamping, ICMP "too big" and IPv4 fragmentation (pmtu.h).
 * Every byte here is an inner packet from a local program or from a peer:
 * lengths are checked against the buffer and the packet's own length
 * fields before anything is read. */
#include "pmtu.h"

#include "checksum.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define IPV4_DF	    0x4000
#define IPV4_MF	    0x2000
#define IPV4_OFFSET 0x1fff
#define TCP_SYN	    0x02
#define TCPOPT_EOL_ 0
#define TCPOPT_NOP_ 1
#define TCPOPT_MSS_ 2
#define ICMP_QUOTE4 (576 - 20 - 8)
#define ICMP_QUOTE6 (1280 - 40 - 8)

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Where the TCP header of @ip starts and how long the TCP segment is; 0 if
 * @ip is not a whole, unfragmented TCP segment. IPv6 with extension
 * headers is not looked into. */
static size_t tcp_at(const uint8_t *ip, size_t len, size_t *seg_len)
{
	size_t hl, total;

	if (len >= 20 && ip[0] >> 4 == 4) {
		hl = (size_t)(ip[0] & 0xf) * 4;
		total = get16(ip + 2);
		if (hl < 20 || total < hl + 20 || total > len || ip[9] != IPPROTO_TCP ||
		    (get16(ip + 6) & (IPV4_OFFSET | IPV4_MF)))
			return 0;
	} else if (len >= 40 && ip[0] >> 4 == 6) {
		hl = 40;
		total = 40 + (size_t)get16(ip + 4);
		if (total < hl + 20 || total > len || ip[6] != IPPROTO_TCP)
			return 0;
	} else {
		return 0;
	}
	*seg_len = total - hl;
	return hl;
}

/* Set the 16 bits at @seg + @at (@at of any alignment, @at + 2 within
 * @seg_len) to @v and update the checksum at @seg + @csum_at for it
 * (RFC 1624: HC' = ~(~HC + ~m + m')), over the words of @seg, aligned to
 * its start, that the two bytes fall in: one, or two when @at is odd. An
 * odd last byte counts as padded with zero, as the checksum pads it. */
static void replace16(uint8_t *seg, size_t seg_len, size_t at, uint16_t v, size_t csum_at)
{
	size_t w = at & ~(size_t)1, n = at & 1 ? 2 : 1, k;
	uint32_t sum = (uint16_t)~get16(seg + csum_at);

	for (k = 0; k < n; k++) {
		size_t o = w + 2 * k;

		sum += (uint16_t) ~(uint16_t)(seg[o] << 8 | (o + 1 < seg_len ? seg[o + 1] : 0));
	}
	put16(seg + at, v);
	for (k = 0; k < n; k++) {
		size_t o = w + 2 * k;

		sum += (uint16_t)(seg[o] << 8 | (o + 1 < seg_len ? seg[o + 1] : 0));
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	put16(seg + csum_at, (uint16_t)~sum);
}

bool pmtu_is_tcp_syn(const uint8_t *ip, size_t len)
{
	size_t seg_len, hl = tcp_at(ip, len, &seg_len);

	return hl && (ip[hl + 13] & TCP_SYN);
}

bool pmtu_clamp_mss(uint8_t *ip, size_t len, uint16_t mss)
{
	size_t seg_len, hl = tcp_at(ip, len, &seg_len), doff, i;
	uint8_t *th;

	if (!hl)
		return false;
	th = ip + hl;
	doff = (size_t)(th[12] >> 4) * 4;
	if (!(th[13] & TCP_SYN) || doff < 20 || doff > seg_len)
		return false;
	for (i = 20; i < doff;) {
		uint8_t kind = th[i], olen;

		if (kind == TCPOPT_EOL_)
			break;
		if (kind == TCPOPT_NOP_) {
			i++;
			continue;
		}
		if (i + 2 > doff)
			break;
		olen = th[i + 1];
		if (olen < 2 || i + olen > doff)
			break;
		if (kind == TCPOPT_MSS_ && olen == 4 && get16(th + i + 2) > mss) {
			replace16(th, seg_len, i + 2, mss, 16);
			return true;
		}
		i += olen;
	}
	return false;
}

bool pmtu_dont_fragment(const uint8_t *ip, size_t len)
{
	if (len >= 20 && ip[0] >> 4 == 4)
		return get16(ip + 6) & IPV4_DF;
	return len >= 40 && ip[0] >> 4 == 6;
}

static bool is_icmp_error4(const uint8_t *ip, size_t hl, size_t total)
{
	/* destination unreachable, source quench, redirect, time exceeded,
	 * parameter problem: never answered with an error */
	return ip[9] == IPPROTO_ICMP &&
	       (total < hl + 1 || ip[hl] == 3 || ip[hl] == 4 || ip[hl] == 5 || ip[hl] == 11 || ip[hl] == 12);
}

static size_t too_big4(uint8_t *out, size_t cap, const uint8_t *ip, size_t len, unsigned int mtu)
{
	size_t hl = (size_t)(ip[0] & 0xf) * 4, total = get16(ip + 2), quote;
	uint16_t c;

	if (hl < 20 || total < hl || total > len || (get16(ip + 6) & IPV4_OFFSET) || is_icmp_error4(ip, hl, total))
		return 0;
	/* No errors about packets from nowhere or to many. */
	if (!memcmp(ip + 12, "\0\0\0\0", 4) || (ip[12] & 0xf0) == 0xe0 || (ip[16] & 0xf0) == 0xe0 ||
	    !memcmp(ip + 12, "\xff\xff\xff\xff", 4) || !memcmp(ip + 16, "\xff\xff\xff\xff", 4))
		return 0;
	quote = total < ICMP_QUOTE4 ? total : ICMP_QUOTE4;
	if (cap < 28 + quote)
		return 0;
	memset(out, 0, 28);
	out[0] = 0x45;
	put16(out + 2, (uint16_t)(28 + quote));
	out[8] = 64;
	out[9] = IPPROTO_ICMP;
	memcpy(out + 12, ip + 16, 4); /* from the destination it could not reach */
	memcpy(out + 16, ip + 12, 4);
	c = checksum_fold(checksum_partial(out, 20, 0));
	memcpy(out + 10, &c, 2);
	out[20] = 3; /* destination unreachable */
	out[21] = 4; /* fragmentation needed and DF set */
	put16(out + 26, (uint16_t)(mtu > 0xffff ? 0xffff : mtu));
	memcpy(out + 28, ip, quote);
	c = checksum_fold(checksum_partial(out + 20, 8 + quote, 0));
	memcpy(out + 22, &c, 2);
	return 28 + quote;
}

static size_t too_big6(uint8_t *out, size_t cap, const uint8_t *ip, size_t len, unsigned int mtu)
{
	static const uint8_t unspecified[16] = { 0 };
	size_t total = 40 + (size_t)get16(ip + 4), quote;
	uint16_t c;

	if (total > len || !memcmp(ip + 8, unspecified, 16) || ip[8] == 0xff || ip[24] == 0xff)
		return 0;
	/* ICMPv6 errors (types below 128) are never answered with one. */
	if (ip[6] == IPPROTO_ICMPV6 && (total < 41 || ip[40] < 128))
		return 0;
	quote = total < ICMP_QUOTE6 ? total : ICMP_QUOTE6;
	if (cap < 48 + quote)
		return 0;
	memset(out, 0, 48);
	out[0] = 0x60;
	put16(out + 4, (uint16_t)(8 + quote));
	out[6] = IPPROTO_ICMPV6;
	out[7] = 64;
	memcpy(out + 8, ip + 24, 16);
	memcpy(out + 24, ip + 8, 16);
	out[40] = 2; /* packet too big */
	out[44] = (uint8_t)(mtu >> 24);
	out[45] = (uint8_t)(mtu >> 16);
	out[46] = (uint8_t)(mtu >> 8);
	out[47] = (uint8_t)mtu;
	memcpy(out + 48, ip, quote);
	c = checksum_fold(checksum_partial(
	    out + 40, 8 + quote, checksum_pseudo_v6(out + 8, out + 24, IPPROTO_ICMPV6, (uint32_t)(8 + quote))));
	memcpy(out + 42, &c, 2);
	return 48 + quote;
}

size_t pmtu_too_big(uint8_t *out, size_t cap, const uint8_t *ip, size_t len, unsigned int mtu)
{
	if (len >= 20 && ip[0] >> 4 == 4)
		return too_big4(out, cap, ip, len, mtu < PMTU_MIN_V4 ? PMTU_MIN_V4 : mtu);
	if (len >= 40 && ip[0] >> 4 == 6)
		return too_big6(out, cap, ip, len, mtu < PMTU_MIN_V6 ? PMTU_MIN_V6 : mtu);
	return 0;
}

int pmtu_fragment4(const uint8_t *ip, size_t len, unsigned int mtu, uint8_t *out, size_t stride, size_t *lens, int max)
{
	size_t total, payload, piece, off;
	uint16_t frag, base;
	int n, i;

	/* Options would have to be sorted into copied and not: refused. */
	if (len < 20 || ip[0] != 0x45)
		return -EINVAL;
	total = get16(ip + 2);
	frag = get16(ip + 6);
	if (total < 20 || total > len || (frag & IPV4_DF) || mtu < 28)
		return -EINVAL;
	payload = total - 20;
	piece = (mtu - 20) & ~(size_t)7;
	if (stride < 20 + piece)
		return -EINVAL;
	n = (int)((payload + piece - 1) / piece);
	if (n > max)
		return -ENOSPC;
	base = frag & IPV4_OFFSET;
	if ((size_t)base * 8 + payload > 0xffff)
		return -EINVAL;
	for (i = 0, off = 0; i < n; i++, off += piece) {
		uint8_t *f = out + (size_t)i * stride;
		size_t this = payload - off < piece ? payload - off : piece;
		bool more = i < n - 1 || (frag & IPV4_MF);
		uint16_t c;

		memcpy(f, ip, 20);
		memcpy(f + 20, ip + 20 + off, this);
		put16(f + 2, (uint16_t)(20 + this));
		put16(f + 6, (uint16_t)((more ? IPV4_MF : 0) | (base + off / 8)));
		f[10] = f[11] = 0;
		c = checksum_fold(checksum_partial(f, 20, 0));
		memcpy(f + 10, &c, 2);
		lens[i] = 20 + this;
	}
	return n;
}
