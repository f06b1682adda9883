/* Unit tests: TSO/USO segmentation and TCP coalescing (offload.c). Packets
 * are built here with their own, naive checksum code, split, checked field
 * by field, merged back and compared byte for byte with the original; then
 * the cases that must not merge, malformed input (each packet in a heap
 * block of its exact size, so that ASan sees any read past its end), and
 * randomized round trips and batches against a simple reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "offload.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10
#define URG 0x20
#define ECE 0x40
#define CWR 0x80

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

/* Payload bytes for every packet: slices of one random block. */
static uint8_t pattern[150000];

static void fill_pattern(void)
{
	size_t i;

	rng_state = 42;
	for (i = 0; i < sizeof(pattern); i++)
		pattern[i] = (uint8_t)rnd();
}

/* --- Reference checksums: RFC 1071 the slow way, independent of checksum.c. */

static uint32_t ref_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i += 2) {
		sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static bool is_v6(const uint8_t *ip)
{
	return ip[0] >> 4 == 6;
}

static size_t ip_hdr_len(const uint8_t *ip)
{
	return is_v6(ip) ? 40 : (size_t)(ip[0] & 0xf) * 4;
}

static uint8_t ip_proto(const uint8_t *ip)
{
	return is_v6(ip) ? ip[6] : ip[9];
}

static uint32_t ref_pseudo(const uint8_t *ip, size_t l4_len)
{
	uint8_t tail[4] = { 0, 0, 0, ip_proto(ip) };
	uint32_t sum;

	if (is_v6(ip))
		sum = ref_add(0, ip + 8, 32);
	else
		sum = ref_add(0, ip + 12, 8);
	sum = ref_add(sum, tail, 4);
	return ref_add(sum,
		       (const uint8_t[]){ (uint8_t)(l4_len >> 24), (uint8_t)(l4_len >> 16), (uint8_t)(l4_len >> 8),
					  (uint8_t)l4_len },
		       4);
}

static bool ip_csum_ok(const uint8_t *ip)
{
	return is_v6(ip) || ref_fold(ref_add(0, ip, ip_hdr_len(ip))) == 0xffff;
}

/* The TCP/UDP checksum of a complete packet, pseudo-header included, verifies. */
static bool l4_csum_ok(const uint8_t *ip, size_t len)
{
	size_t ihl = ip_hdr_len(ip);

	return ref_fold(ref_add(ref_pseudo(ip, len - ihl), ip + ihl, len - ihl)) == 0xffff;
}

/* --- Building packets ---------------------------------------------------- */

struct spec {
	bool v6;
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP or IPPROTO_ICMP */
	uint8_t flow;  /* varies the source address */
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window, id;
	uint8_t ttl, tos;
	uint8_t ihl; /* IPv4 header words, 5 if 0 */
	bool no_df;
	uint16_t frag; /* IPv4 flags and fragment offset, if not just DF */
	uint8_t tcp_reserved;
	const uint8_t *opts;
	size_t opts_len;
	const uint8_t *payload;
	size_t payload_len;
	bool partial; /* checksum field = pseudo-header sum, as the kernel leaves it */
};

static const uint8_t ts_opts[12] = { 1, 1, 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78 };
static const uint8_t long_opts[40] = { 2, 4, 5, 0xb4, 1, 3, 3, 7, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8,
				       1, 1, 1, 1,    1, 1, 1, 1, 1, 1, 1, 1,  1, 1, 1, 1, 1, 1, 1, 0 };

static struct spec tcp_spec(bool v6)
{
	struct spec s = { 0 };

	s.v6 = v6;
	s.proto = IPPROTO_TCP;
	s.sport = 40000;
	s.dport = 5201;
	s.seq = 0xfffff000; /* wraps within a big packet */
	s.ack = 0x01020304;
	s.flags = ACK;
	s.window = 501;
	s.id = 0xfffe; /* wraps too */
	s.ttl = 64;
	s.tos = 0;
	s.payload = pattern;
	return s;
}

static size_t build(uint8_t *buf, const struct spec *s)
{
	size_t ihl = s->v6 ? 40 : (s->ihl ? s->ihl : 5) * 4u, l4h, len;
	uint8_t *l4 = buf + ihl;
	uint16_t c;

	l4h = s->proto == IPPROTO_TCP ? 20 + s->opts_len : 8;
	len = ihl + l4h + s->payload_len;
	memset(buf, 0, ihl + l4h);
	if (s->v6) {
		buf[0] = 0x60 | s->tos >> 4;
		buf[1] = (uint8_t)(s->tos << 4 | 0x0a); /* flow label 0xabcde */
		buf[2] = 0xbc;
		buf[3] = 0xde;
		wr16(buf + 4, (uint16_t)(len - 40));
		buf[6] = s->proto;
		buf[7] = s->ttl;
		buf[8] = 0x20;
		buf[9] = 0x01;
		buf[10] = 0x0d;
		buf[11] = 0xb8;
		buf[23] = s->flow;
		buf[24] = 0x20;
		buf[25] = 0x01;
		buf[26] = 0x0d;
		buf[27] = 0xb8;
		buf[39] = 0x99;
	} else {
		buf[0] = (uint8_t)(0x40 | ihl / 4);
		buf[1] = s->tos;
		wr16(buf + 2, (uint16_t)len);
		wr16(buf + 4, s->id);
		buf[6] = s->no_df ? 0 : 0x40; /* DF */
		if (s->frag)
			wr16(buf + 6, s->frag);
		buf[8] = s->ttl;
		buf[9] = s->proto;
		buf[12] = 10;
		buf[15] = s->flow;
		buf[16] = 10;
		buf[19] = 0x99;
		memset(buf + 20, 1, ihl - 20); /* NOP options */
		wr16(buf + 10, (uint16_t)~ref_fold(ref_add(0, buf, ihl)));
	}
	wr16(l4, s->sport);
	wr16(l4 + 2, s->dport);
	if (s->proto == IPPROTO_TCP) {
		wr32(l4 + 4, s->seq);
		wr32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((l4h / 4) << 4 | s->tcp_reserved);
		l4[13] = s->flags;
		wr16(l4 + 14, s->window);
		if (s->opts_len)
			memcpy(l4 + 20, s->opts, s->opts_len);
	} else {
		wr16(l4 + 4, (uint16_t)(l4h + s->payload_len));
	}
	memcpy(l4 + l4h, s->payload, s->payload_len);
	if (s->proto == IPPROTO_TCP || s->proto == IPPROTO_UDP) {
		uint8_t *field = l4 + (s->proto == IPPROTO_TCP ? 16 : 6);

		if (s->partial)
			c = ref_fold(ref_pseudo(buf, len - ihl));
		else
			c = (uint16_t)~ref_fold(ref_add(ref_pseudo(buf, len - ihl), l4, len - ihl));
		wr16(field, c);
	}
	return len;
}

static size_t hdr_len_of(const struct spec *s)
{
	return (s->v6 ? 40 : (s->ihl ? s->ihl : 5) * 4u) + (s->proto == IPPROTO_TCP ? 20 + s->opts_len : 8);
}

static struct virtio_net_hdr gso_hdr(const struct spec *s, uint16_t gso_size)
{
	struct virtio_net_hdr h = { 0 };

	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	if (s->proto == IPPROTO_UDP)
		h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	else
		h.gso_type = s->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = (uint16_t)hdr_len_of(s);
	h.gso_size = gso_size;
	h.csum_start = (uint16_t)(s->v6 ? 40 : (s->ihl ? s->ihl : 5) * 4u);
	h.csum_offset = s->proto == IPPROTO_TCP ? 16 : 6;
	return h;
}

/* Room for any split here: stride (headers + gso_size) times segments. */
static uint8_t segs[4 << 20];
static size_t seg_lens[70000];

/* --- Split ---------------------------------------------------------------- */

/* Split the super-packet @s describes with @gso_size and check every
 * segment against it: lengths, IDs, sequence numbers, flags, checksums,
 * headers otherwise unchanged, payloads that add up to the original. */
static void split_and_check(const struct spec *s, uint16_t gso_size, uint8_t gso_flags, uint16_t hdr_len_hint)
{
	static uint8_t super[70000];
	struct virtio_net_hdr h = gso_hdr(s, gso_size);
	struct spec ps = *s;
	size_t len, hl = hdr_len_of(s), ihl = s->v6 ? 40 : (s->ihl ? s->ihl : 5) * 4u, stride = hl + gso_size, off = 0;
	int n, i, want;

	ps.partial = true;
	len = build(super, &ps);
	h.gso_type |= gso_flags;
	h.hdr_len = hdr_len_hint;
	want = s->payload_len ? (int)((s->payload_len + gso_size - 1) / gso_size) : 1;
	assert_true((size_t)want * stride <= sizeof(segs));
	n = offload_split(&h, super, len, segs, stride, seg_lens, want);
	assert_int_equal(n, want);
	if (want > 1)
		assert_int_equal(offload_split(&h, super, len, segs, stride, seg_lens, want - 1), -ENOSPC);
	for (i = 0; i < n; i++) {
		const uint8_t *seg = segs + (size_t)i * stride, *l4 = seg + ihl, *ol4 = super + ihl;
		size_t pl = s->payload_len - off < gso_size ? s->payload_len - off : gso_size;
		uint8_t flags = s->flags;

		assert_int_equal(seg_lens[i], hl + pl);
		if (s->v6) {
			assert_memory_equal(seg, super, 4);
			assert_int_equal(rd16(seg + 4), seg_lens[i] - 40);
			assert_memory_equal(seg + 6, super + 6, 34);
		} else {
			assert_memory_equal(seg, super, 2);
			assert_int_equal(rd16(seg + 2), seg_lens[i]);
			assert_int_equal(rd16(seg + 4), (uint16_t)(s->id + i));
			assert_memory_equal(seg + 6, super + 6, 4);
			assert_memory_equal(seg + 12, super + 12, ihl - 12);
			assert_true(ip_csum_ok(seg));
		}
		assert_memory_equal(l4, ol4, 4);
		if (s->proto == IPPROTO_TCP) {
			assert_int_equal(rd32(l4 + 4), (uint32_t)(s->seq + off));
			assert_memory_equal(l4 + 8, ol4 + 8, 5);
			if (i > 0)
				flags &= (uint8_t)~CWR;
			if (i < n - 1)
				flags &= (uint8_t) ~(FIN | PSH);
			assert_int_equal(l4[13], flags);
			assert_memory_equal(l4 + 14, ol4 + 14, 2);
			assert_memory_equal(l4 + 18, ol4 + 18, hl - ihl - 18);
		} else {
			assert_int_equal(rd16(l4 + 4), 8 + pl);
			assert_int_not_equal(rd16(l4 + 6), 0);
		}
		assert_true(l4_csum_ok(seg, seg_lens[i]));
		assert_memory_equal(seg + hl, s->payload + off, pl);
		off += pl;
	}
	assert_int_equal(off, s->payload_len);
}

static void splits_tcp(void **state)
{
	static const size_t sizes[] = { 0, 1, 535, 536, 537, 1447, 1448, 1449, 2896, 4000, 65535 - 100 };
	static const uint16_t gsos[] = { 1, 7, 536, 1448 };
	unsigned int v6, o, i, g;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (o = 0; o < 3; o++) {
			for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
				for (g = 0; g < sizeof(gsos) / sizeof(gsos[0]); g++) {
					struct spec s = tcp_spec(v6);

					s.opts = o == 1 ? ts_opts : long_opts;
					s.opts_len = o == 0 ? 0 : o == 1 ? sizeof(ts_opts) : sizeof(long_opts);
					s.payload_len = sizes[i];
					if (sizes[i] / gsos[g] > 10000)
						continue;
					s.flags = (uint8_t)(ACK | (i & 1 ? PSH : 0) | (g & 1 ? FIN : 0));
					split_and_check(&s, gsos[g], 0, (uint16_t)hdr_len_of(&s));
				}
			}
		}
	}
}

static void splits_tcp_ecn_cwr_only_first(void **state)
{
	struct spec s = tcp_spec(false);

	(void)state;
	s.flags = ACK | CWR | ECE | PSH | FIN;
	s.payload_len = 5000;
	split_and_check(&s, 1448, VIRTIO_NET_HDR_GSO_ECN, (uint16_t)hdr_len_of(&s));
	s.v6 = true;
	split_and_check(&s, 1000, VIRTIO_NET_HDR_GSO_ECN, (uint16_t)hdr_len_of(&s));
	/* gso_size + 1: one full segment and one of a byte. */
	s.payload_len = 1449;
	split_and_check(&s, 1448, 0, (uint16_t)hdr_len_of(&s));
}

static void splits_ignoring_hdr_len(void **state)
{
	struct spec s = tcp_spec(false);

	(void)state;
	s.opts = ts_opts;
	s.opts_len = sizeof(ts_opts);
	s.payload_len = 3001;
	/* virtio_net_hdr_from_skb puts skb_headlen() there: zero, short, or
	 * taking in some payload. None of it may matter. */
	split_and_check(&s, 1000, 0, 0);
	split_and_check(&s, 1000, 0, 20);
	split_and_check(&s, 1000, 0, 200);
	s.v6 = true;
	split_and_check(&s, 1000, 0, 0);
	split_and_check(&s, 1000, 0, 65535);
}

static void splits_ipv4_with_options(void **state)
{
	struct spec s = tcp_spec(false);

	(void)state;
	s.ihl = 8;
	s.payload_len = 2000;
	split_and_check(&s, 600, 0, 0);
}

static void splits_udp(void **state)
{
	static const size_t sizes[] = { 0, 1, 1199, 1200, 1201, 9000, 65000 };
	unsigned int v6, i;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			struct spec s = tcp_spec(v6);

			s.proto = IPPROTO_UDP;
			s.payload_len = sizes[i];
			split_and_check(&s, 1200, 0, (uint16_t)hdr_len_of(&s));
			split_and_check(&s, 1, 0, 0);
		}
	}
}

/* A UDP datagram whose checksum sums to 0 must go out as 0xffff: find one
 * by varying a payload byte. */
static void udp_zero_checksum_is_sent_as_ffff(void **state)
{
	static uint8_t super[200], payload[64];
	struct spec s = tcp_spec(false);
	struct virtio_net_hdr h;
	size_t len;
	int found = 0;
	unsigned int a, b;

	(void)state;
	s.proto = IPPROTO_UDP;
	s.payload = payload;
	s.payload_len = sizeof(payload);
	h = gso_hdr(&s, 64);
	for (a = 0; a < 256 && !found; a++) {
		for (b = 0; b < 256 && !found; b++) {
			payload[0] = (uint8_t)a;
			payload[1] = (uint8_t)b;
			s.partial = false;
			len = build(super, &s);
			if (rd16(super + 26) != 0xffff && rd16(super + 26) != 0)
				continue;
			s.partial = true;
			len = build(super, &s);
			assert_int_equal(offload_split(&h, super, len, segs, 200, seg_lens, 1), 1);
			assert_int_equal(rd16(segs + 26), 0xffff);
			assert_true(l4_csum_ok(segs, len));
			/* The same without GSO, just the checksum to complete. */
			h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
			assert_int_equal(offload_split(&h, super, len, segs, 200, seg_lens, 1), 1);
			assert_int_equal(rd16(segs + 26), 0xffff);
			h.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
			found = 1;
		}
	}
	assert_true(found);
}

static void split_none_completes_checksum(void **state)
{
	static uint8_t pkt[3000];
	struct virtio_net_hdr h = { 0 };
	unsigned int v6, udp, k;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (udp = 0; udp < 2; udp++) {
			for (k = 0; k < 4; k++) {
				struct spec s = tcp_spec(v6);
				size_t len;

				s.proto = udp ? IPPROTO_UDP : IPPROTO_TCP;
				s.payload_len = (size_t[]){ 0, 1, 100, 1443 }[k];
				s.flags = ACK | PSH | FIN;
				s.partial = true;
				len = build(pkt, &s);
				h = gso_hdr(&s, 0);
				h.gso_type = VIRTIO_NET_HDR_GSO_NONE;
				assert_int_equal(offload_split(&h, pkt, len, segs, len, seg_lens, 1), 1);
				assert_int_equal(seg_lens[0], len);
				assert_true(l4_csum_ok(segs, len));
				/* Only the checksum changed. */
				wr16(segs + h.csum_start + h.csum_offset, rd16(pkt + h.csum_start + h.csum_offset));
				assert_memory_equal(segs, pkt, len);

				/* Without NEEDS_CSUM: copied as it is. */
				s.partial = false;
				len = build(pkt, &s);
				h.flags = 0;
				assert_int_equal(offload_split(&h, pkt, len, segs, len, seg_lens, 1), 1);
				assert_memory_equal(segs, pkt, len);
				assert_true(l4_csum_ok(segs, len));
			}
		}
	}
	/* Anything at all without GSO or checksum is passed on. */
	memset(pkt, 0xab, 7);
	assert_int_equal(offload_split(&h, pkt, 7, segs, 7, seg_lens, 1), 1);
	assert_memory_equal(segs, pkt, 7);
	assert_int_equal(offload_split(&h, pkt, 7, segs, 6, seg_lens, 1), -ENOSPC);
	assert_int_equal(offload_split(&h, pkt, 7, segs, 7, seg_lens, 0), -ENOSPC);
}

/* offload_split on an exact-size heap copy of @pkt: any read past the end
 * is ASan's to see. */
static int split_exact(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int ret;

	assert_non_null(copy);
	memcpy(copy, pkt, len);
	ret = offload_split(h, copy, len, segs, 4000, seg_lens, OFFLOAD_MAX_SEGMENTS);
	free(copy);
	return ret;
}

static void split_rejects_malformed(void **state)
{
	static uint8_t pkt[5000], bad[5000];
	struct spec s = tcp_spec(false), s6 = tcp_spec(true), su = tcp_spec(false);
	struct virtio_net_hdr h, h6, hu, x;
	size_t len, len6, lenu, i;

	(void)state;
	s.partial = s6.partial = su.partial = true;
	s.payload_len = s6.payload_len = su.payload_len = 3000;
	su.proto = IPPROTO_UDP;
	h = gso_hdr(&s, 1000);
	h6 = gso_hdr(&s6, 1000);
	hu = gso_hdr(&su, 1000);
	len = build(pkt, &s);
	assert_int_equal(split_exact(&h, pkt, len), 3);

	/* Truncated anywhere in the headers, or in the payload (the IP length
	 * then disagrees). */
	for (i = 0; i < len; i++)
		assert_int_equal(split_exact(&h, pkt, i), -EINVAL);
	len6 = build(bad, &s6);
	for (i = 0; i < len6; i++)
		assert_int_equal(split_exact(&h6, bad, i), -EINVAL);
	lenu = build(bad, &su);
	for (i = 0; i < lenu; i++)
		assert_int_equal(split_exact(&hu, bad, i), -EINVAL);

	/* Bad IHL: below 5, beyond the packet, or leaving no room for TCP. */
	for (i = 0; i < 16; i++) {
		memcpy(bad, pkt, len);
		bad[0] = (uint8_t)(0x40 | i);
		if (i < 5) {
			assert_int_equal(split_exact(&h, bad, len), -EINVAL);
		} else {
			wr16(bad + 2, (uint16_t)(i * 4 - 1));
			assert_int_equal(split_exact(&h, bad, i * 4 - 1), -EINVAL);
			wr16(bad + 2, (uint16_t)(i * 4 + 19));
			assert_int_equal(split_exact(&h, bad, i * 4 + 19), -EINVAL);
		}
	}
	memcpy(bad, pkt, len);
	bad[0] = 0x4f; /* 60 bytes of header that leave no room for TCP's */
	wr16(bad + 2, 70);
	assert_int_equal(split_exact(&h, bad, 70), -EINVAL);
	/* TCP data offset below 5, or beyond the packet. */
	memcpy(bad, pkt, len);
	bad[20 + 12] = 0x40;
	assert_int_equal(split_exact(&h, bad, len), -EINVAL);
	memcpy(bad, pkt, 60);
	bad[20 + 12] = 0xf0;
	wr16(bad + 2, 50);
	assert_int_equal(split_exact(&h, bad, 50), -EINVAL);
	/* The IP version must match the gso_type; so must the protocol. */
	x = h;
	x.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	assert_int_equal(split_exact(&h, bad, build(bad, &s6)), -EINVAL);
	memcpy(bad, pkt, len);
	bad[0] = 0x55;
	assert_int_equal(split_exact(&h, bad, len), -EINVAL);
	x = h;
	x.gso_type = VIRTIO_NET_HDR_GSO_UDP_L4;
	x.csum_offset = 6;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	assert_int_equal(split_exact(&h, bad, build(bad, &su)), -EINVAL);
	/* IP length fields that disagree with the buffer. */
	memcpy(bad, pkt, len);
	wr16(bad + 2, (uint16_t)(len + 1));
	assert_int_equal(split_exact(&h, bad, len), -EINVAL);
	wr16(bad + 2, (uint16_t)(len - 1));
	assert_int_equal(split_exact(&h, bad, len), -EINVAL);
	len6 = build(bad, &s6);
	wr16(bad + 4, (uint16_t)(len6 - 39));
	assert_int_equal(split_exact(&h6, bad, len6), -EINVAL);
	/* A fragment. */
	memcpy(bad, pkt, len);
	bad[6] |= 0x20;
	assert_int_equal(split_exact(&h, bad, len), -EINVAL);
	memcpy(bad, pkt, len);
	bad[7] = 1;
	assert_int_equal(split_exact(&h, bad, len), -EINVAL);
	/* IPv6 extension headers are not followed. */
	len6 = build(bad, &s6);
	bad[6] = 0; /* hop-by-hop */
	assert_int_equal(split_exact(&h6, bad, len6), -EINVAL);
	bad[6] = 44; /* fragment */
	assert_int_equal(split_exact(&h6, bad, len6), -EINVAL);
	/* gso_size 0. */
	x = h;
	x.gso_size = 0;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	/* csum_start or csum_offset elsewhere than the TCP checksum. */
	x = h;
	x.csum_start = 60000;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	x = h;
	x.csum_start = 24;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	x = h;
	x.csum_offset = 6;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	/* ... unless the checksum is not partial at all: then it is recomputed. */
	x.flags = 0;
	assert_int_equal(split_exact(&x, pkt, len), 3);
	/* No GSO: csum_start + csum_offset + 2 must be inside the packet. */
	x = h;
	x.gso_type = VIRTIO_NET_HDR_GSO_NONE;
	x.csum_start = (uint16_t)(len - 1);
	x.csum_offset = 0;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	x.csum_start = (uint16_t)(len - 2);
	assert_int_equal(split_exact(&x, pkt, len), 1);
	x.csum_start = 20;
	x.csum_offset = 65535;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	x.csum_start = 65535;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	/* The ECN bit alone, on UDP, unknown types. */
	x = h;
	x.gso_type = VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(split_exact(&x, pkt, len), -EINVAL);
	lenu = build(bad, &su);
	x = hu;
	x.gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	assert_int_equal(split_exact(&x, bad, lenu), -EINVAL);
	x.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(split_exact(&x, bad, lenu), -EOPNOTSUPP);
	x.gso_type = 7;
	assert_int_equal(split_exact(&x, bad, lenu), -EOPNOTSUPP);
	/* Too many segments, or a stride too small for one. */
	x = h;
	x.gso_size = 1;
	assert_int_equal(split_exact(&x, pkt, len), -ENOSPC);
	assert_int_equal(offload_split(&h, pkt, len, segs, 1039, seg_lens, 3), -ENOSPC);
	assert_int_equal(offload_split(&h, pkt, len, segs, 1040, seg_lens, 3), 3);
	assert_int_equal(offload_split(&h, pkt, len, segs, 1040, seg_lens, 2), -ENOSPC);
}

/* --- Coalesce --------------------------------------------------------------- */

#define MAX_BATCH 256
#define N_MERGE	  20

/* A batch of packets, each in a heap block of its exact size with the
 * VNET_HDR_LEN bytes of headroom offload_coalesce may write. */
struct batch {
	struct offload_packet pkts[MAX_BATCH];
	struct offload_write writes[MAX_BATCH];
	uint8_t *mem[MAX_BATCH];
	uint8_t *merge[N_MERGE];
	int n;
};

static struct batch *batch_new(void)
{
	struct batch *b = calloc(1, sizeof(*b));
	int i;

	assert_non_null(b);
	for (i = 0; i < N_MERGE; i++) {
		b->merge[i] = malloc(VNET_HDR_LEN + 65535);
		assert_non_null(b->merge[i]);
	}
	return b;
}

static void batch_add(struct batch *b, const uint8_t *pkt, size_t len)
{
	assert_true(b->n < MAX_BATCH);
	b->mem[b->n] = malloc(VNET_HDR_LEN + len);
	assert_non_null(b->mem[b->n]);
	memset(b->mem[b->n], 0xee, VNET_HDR_LEN);
	memcpy(b->mem[b->n] + VNET_HDR_LEN, pkt, len);
	b->pkts[b->n].data = b->mem[b->n] + VNET_HDR_LEN;
	b->pkts[b->n].len = len;
	b->n++;
}

static void batch_add_spec(struct batch *b, const struct spec *s)
{
	static uint8_t buf[70000];

	batch_add(b, buf, build(buf, s));
}

static void batch_free(struct batch *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		free(b->mem[i]);
	for (i = 0; i < N_MERGE; i++)
		free(b->merge[i]);
	free(b);
}

static int coalesce(struct batch *b, int n_merge)
{
	int n = offload_coalesce(b->pkts, b->n, b->merge, n_merge, b->writes);

	assert_true(n >= 0 && n <= b->n);
	return n;
}

/* Write @k is input packet @i, in place, with a zero virtio_net_hdr. */
static void assert_in_place(const struct batch *b, int k, int i)
{
	static const uint8_t zero[VNET_HDR_LEN];

	assert_ptr_equal(b->writes[k].buf, b->pkts[i].data - VNET_HDR_LEN);
	assert_int_equal(b->writes[k].len, VNET_HDR_LEN + b->pkts[i].len);
	assert_memory_equal(b->writes[k].buf, zero, VNET_HDR_LEN);
}

/* Write @k is the super-packet @s describes (payload and all), with the
 * virtio_net_hdr the kernel wants for it. */
static void assert_merged(const struct batch *b, int k, const struct spec *s, uint16_t gso_size)
{
	static uint8_t want[70000];
	struct spec ps = *s;
	struct virtio_net_hdr h = gso_hdr(s, gso_size);
	size_t len;

	ps.partial = true;
	len = build(want, &ps);
	assert_int_equal(b->writes[k].len, VNET_HDR_LEN + len);
	assert_memory_equal(b->writes[k].buf, &h, VNET_HDR_LEN);
	assert_memory_equal(b->writes[k].buf + VNET_HDR_LEN, want, len);
	assert_true(ip_csum_ok(want));
}

/* @n segments of @size bytes (the last @last bytes) of one flow, from
 * payload offset @off, as the split of a super-packet would give them. */
static void add_segments(struct batch *b, const struct spec *s, size_t off, int n, size_t size, size_t last,
			 uint8_t last_flags)
{
	int i;

	for (i = 0; i < n; i++) {
		struct spec x = *s;

		x.seq = s->seq + (uint32_t)(off + (size_t)i * size);
		x.id = (uint16_t)(s->id + i);
		x.payload = s->payload + off + (size_t)i * size;
		x.payload_len = i == n - 1 ? last : size;
		if (i == n - 1)
			x.flags = last_flags;
		batch_add_spec(b, &x);
	}
}

/* The super-packet made of @n segments of @s from offset @off. */
static struct spec merged_spec(const struct spec *s, size_t off, size_t len, uint8_t flags)
{
	struct spec x = *s;

	x.seq = s->seq + (uint32_t)off;
	x.payload = s->payload + off;
	x.payload_len = len;
	x.flags = flags;
	return x;
}

static void coalesces_segments(void **state)
{
	unsigned int v6, o;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		for (o = 0; o < 3; o++) {
			struct spec s = tcp_spec(v6);
			struct spec m;
			struct batch *b = batch_new();

			s.opts = o == 1 ? ts_opts : long_opts;
			s.opts_len = o == 0 ? 0 : o == 1 ? sizeof(ts_opts) : sizeof(long_opts);
			add_segments(b, &s, 0, 5, 1448, 1000, ACK | PSH);
			assert_int_equal(coalesce(b, N_MERGE), 1);
			m = merged_spec(&s, 0, 4 * 1448 + 1000, ACK | PSH);
			assert_merged(b, 0, &m, 1448);
			batch_free(b);

			/* Full-sized, then a last one of a byte; then one byte each. */
			b = batch_new();
			add_segments(b, &s, 0, 3, 1448, 1448, ACK);
			add_segments(b, &s, 3 * 1448, 1, 1448, 1, ACK);
			assert_int_equal(coalesce(b, N_MERGE), 1);
			m = merged_spec(&s, 0, 3 * 1448 + 1, ACK);
			assert_merged(b, 0, &m, 1448);
			batch_free(b);

			b = batch_new();
			add_segments(b, &s, 0, 4, 1, 1, ACK);
			assert_int_equal(coalesce(b, N_MERGE), 1);
			m = merged_spec(&s, 0, 4, ACK);
			assert_merged(b, 0, &m, 1);
			batch_free(b);
		}
	}
}

/* TAP mode: segments inside Ethernet frames (with a VLAN tag, or none)
 * merge like IP packets when their Ethernet headers are equal; the merged
 * frame keeps the header and its virtio_net_hdr offsets count it. Frames
 * of other MAC pairs never join, and a non-IP frame is written as it is. */
static void coalesces_ethernet_frames(void **state)
{
	static const uint8_t eth[18] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0, 0, 100, 0x08, 0x00 };
	static const uint8_t arp[42] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4 };
	static uint8_t ip[3000], frame[3000], want[70000];
	unsigned int tagged, i;

	(void)state;
	for (tagged = 0; tagged < 2; tagged++) {
		size_t l2 = tagged ? 18 : 14, len, wlen;
		struct spec s = tcp_spec(false), m;
		struct virtio_net_hdr h;
		struct batch *b = batch_new();

		for (i = 0; i < 4; i++) {
			struct spec x = s;

			x.seq = s.seq + 1000 * i;
			x.id = (uint16_t)(s.id + i);
			x.payload = s.payload + 1000 * i;
			x.payload_len = 1000;
			len = build(ip, &x);
			memcpy(frame, eth, 12);
			memcpy(frame + 12, tagged ? eth + 12 : eth + 16, l2 - 12);
			if (i == 3)
				frame[5] = 9; /* another destination: a flow of its own */
			memcpy(frame + l2, ip, len);
			batch_add(b, frame, l2 + len);
			b->pkts[b->n - 1].l2_len = (uint16_t)l2;
		}
		batch_add(b, arp, sizeof(arp));
		b->pkts[b->n - 1].l2_len = UINT16_MAX;
		assert_int_equal(coalesce(b, N_MERGE), 3);
		m = merged_spec(&s, 0, 3000, ACK);
		m.partial = true;
		wlen = build(want, &m);
		h = gso_hdr(&m, 1000);
		h.csum_start = (uint16_t)(h.csum_start + l2);
		h.hdr_len = (uint16_t)(h.hdr_len + l2);
		assert_int_equal(b->writes[0].len, VNET_HDR_LEN + l2 + wlen);
		assert_memory_equal(b->writes[0].buf, &h, VNET_HDR_LEN);
		assert_memory_equal(b->writes[0].buf + VNET_HDR_LEN, b->pkts[0].data, l2);
		assert_memory_equal(b->writes[0].buf + VNET_HDR_LEN + l2, want, wlen);
		assert_in_place(b, 1, 3);
		assert_in_place(b, 2, 4);
		batch_free(b);
	}
}

/* A lone segment, even TCP, goes out as it came, checksum complete; so
 * do UDP, ICMP, garbage, and TCP behind IPv6 extension headers, which is
 * not looked into. */
static void single_packets_in_place(void **state)
{
	static uint8_t buf[2000];
	struct batch *b = batch_new();
	struct spec s = tcp_spec(false), u = tcp_spec(true), e = tcp_spec(true);
	size_t len;
	int i;

	(void)state;
	s.payload_len = 1000;
	u.proto = IPPROTO_UDP;
	u.payload_len = 100;
	batch_add_spec(b, &s);
	batch_add_spec(b, &u);
	u.proto = IPPROTO_ICMP;
	batch_add_spec(b, &u);
	batch_add(b, pattern, 3); /* garbage */
	batch_add(b, pattern, 0); /* nothing */
	batch_add(b, (const uint8_t *)"\x45", 1);
	for (i = 0; i < 2; i++) {
		e = merged_spec(&e, (size_t)i * 1000, 1000, ACK);
		len = build(buf, &e);
		buf[6] = 0; /* hop-by-hop options next */
		batch_add(b, buf, len);
	}
	assert_int_equal(coalesce(b, N_MERGE), 8);
	for (i = 0; i < 8; i++)
		assert_in_place(b, i, i);
	assert_true(l4_csum_ok(b->pkts[0].data, b->pkts[0].len));
	batch_free(b);
}

static void keeps_interleaved_flows_apart(void **state)
{
	struct batch *b = batch_new();
	struct spec a = tcp_spec(false), c = tcp_spec(false), m;
	int i;

	(void)state;
	c.flow = 2;
	c.payload = pattern + 30000;
	for (i = 0; i < 3; i++) {
		add_segments(b, &a, (size_t)i * 1000, 1, 1000, 1000, ACK);
		add_segments(b, &c, (size_t)i * 1200, 1, 1200, 1200, ACK);
	}
	assert_int_equal(coalesce(b, N_MERGE), 2);
	m = merged_spec(&a, 0, 3000, ACK);
	assert_merged(b, 0, &m, 1000);
	m = merged_spec(&c, 0, 3600, ACK);
	assert_merged(b, 1, &m, 1200);
	batch_free(b);

	/* Same addresses, another port: another flow too. */
	for (i = 0; i < 2; i++) {
		b = batch_new();
		c = tcp_spec(false);
		if (i)
			c.dport++;
		else
			c.sport++;
		add_segments(b, &a, 0, 1, 1000, 1000, ACK);
		add_segments(b, &c, 1000, 1, 1000, 1000, ACK);
		add_segments(b, &a, 1000, 1, 1000, 1000, ACK);
		add_segments(b, &c, 2000, 1, 1000, 1000, ACK);
		assert_int_equal(coalesce(b, N_MERGE), 2);
		m = merged_spec(&a, 0, 2000, ACK);
		assert_merged(b, 0, &m, 1000);
		m = merged_spec(&c, 1000, 2000, ACK);
		assert_merged(b, 1, &m, 1000);
		batch_free(b);
	}
}

/* Segments that must not join the one before them: each case is two
 * segments, then a second pair of which the first differs from the pair
 * before. */
static void refuses_to_merge_across(void **state)
{
	enum {
		GAP,
		OLD,
		TTL,
		TOS,
		DF,
		ACKNO,
		WINDOW,
		OPTS,
		OPTLEN,
		RESERVED,
		HOPS,
		FLOWLABEL,
		BIGGER,
		SYN_,
		FIN_,
		RST_,
		URG_,
		ECE_,
		CWR_,
		NOACK,
		BADCSUM,
		BADIPCSUM,
		IPOPTS,
		FRAG,
		PADDED,
		PADDED6,
		NCASES
	};
	int k;

	(void)state;
	for (k = 0; k < NCASES; k++) {
		struct batch *b = batch_new();
		struct spec s = tcp_spec(k == HOPS || k == FLOWLABEL || k == PADDED6), x, m;
		static uint8_t buf[3000];
		uint8_t opts[12];
		size_t len;
		int n, first_in_place = 0;

		s.opts = ts_opts;
		s.opts_len = sizeof(ts_opts);
		add_segments(b, &s, 0, 2, 1000, 1000, ACK);
		x = merged_spec(&s, 2000, 1000, ACK);
		x.id = (uint16_t)(s.id + 2);
		switch (k) {
		case GAP:
			x.seq += 1;
			break;
		case OLD:
			x.seq -= 1000;
			break;
		case TTL:
		case HOPS:
			x.ttl--;
			break;
		case TOS:
		case FLOWLABEL:
			x.tos = 2; /* ECN CE, or a traffic class */
			break;
		case ACKNO:
			x.ack++;
			break;
		case WINDOW:
			x.window++;
			break;
		case OPTS:
			memcpy(opts, ts_opts, sizeof(opts));
			opts[7]++; /* a later timestamp */
			x.opts = opts;
			break;
		case OPTLEN:
			x.opts_len = 0;
			break;
		case RESERVED:
			x.tcp_reserved = 1; /* AccECN's AE bit */
			break;
		case FRAG:
			x.frag = 0x2000; /* MF */
			break;
		case PADDED:
		case PADDED6:
			x.payload_len = 998;
			break;
		case BIGGER:
			x.payload_len = 1001;
			break;
		case SYN_:
			x.flags |= SYN;
			break;
		case FIN_:
			x.flags |= FIN;
			break;
		case RST_:
			x.flags |= RST;
			break;
		case URG_:
			x.flags |= URG;
			break;
		case ECE_:
			x.flags |= ECE;
			break;
		case CWR_:
			x.flags |= CWR;
			break;
		case NOACK:
			x.flags = PSH;
			break;
		case IPOPTS:
			x.ihl = 6;
			break;
		default:
			break;
		}
		if (k == DF)
			x.no_df = true;
		len = build(buf, &x);
		if (k == BADCSUM)
			buf[len - 1] ^= 1;
		if (k == BADIPCSUM)
			buf[10] ^= 1;
		if (k == PADDED || k == PADDED6) {
			/* Two bytes past the IP length that keep the TCP checksum
			 * valid over the whole buffer: only the IP length says
			 * they are not part of the segment. */
			buf[len++] = 0xff;
			buf[len++] = 0xfd;
			assert_true(l4_csum_ok(buf, len));
		}
		batch_add(b, buf, len);
		/* A fourth that follows the third exactly. */
		x.seq += (uint32_t)x.payload_len;
		x.payload += x.payload_len;
		x.id++;
		x.flags = ACK;
		batch_add_spec(b, &x);

		n = coalesce(b, N_MERGE);
		m = merged_spec(&s, 0, 2000, ACK);
		assert_merged(b, 0, &m, 1000);
		/* The third: unfit to merge at all, or the first of a pair. */
		first_in_place = k >= SYN_;
		if (first_in_place) {
			assert_int_equal(n, 3);
			assert_in_place(b, 1, 2);
			assert_in_place(b, 2, 3);
		} else {
			struct spec y = x;

			assert_int_equal(n, 2);
			y.seq -= (uint32_t)x.payload_len;
			y.payload -= x.payload_len;
			y.payload_len = x.payload_len * 2;
			y.id = (uint16_t)(s.id + 2);
			assert_merged(b, 1, &y, (uint16_t)x.payload_len);
		}
		batch_free(b);
	}
}

static void psh_ends_a_super_packet(void **state)
{
	struct batch *b = batch_new();
	struct spec s = tcp_spec(false), m;

	(void)state;
	add_segments(b, &s, 0, 2, 1000, 1000, ACK | PSH);
	add_segments(b, &s, 2000, 3, 1000, 1000, ACK | PSH);
	assert_int_equal(coalesce(b, N_MERGE), 2);
	m = merged_spec(&s, 0, 2000, ACK | PSH);
	assert_merged(b, 0, &m, 1000);
	m = merged_spec(&s, 2000, 3000, ACK | PSH);
	m.id = (uint16_t)(s.id + 0); /* add_segments restarted the IDs */
	assert_merged(b, 1, &m, 1000);
	batch_free(b);

	/* A PSH first: nothing joins it. */
	b = batch_new();
	add_segments(b, &s, 0, 1, 1000, 1000, ACK | PSH);
	add_segments(b, &s, 1000, 2, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, N_MERGE), 2);
	assert_in_place(b, 0, 0);
	m = merged_spec(&s, 1000, 2000, ACK);
	assert_merged(b, 1, &m, 1000);
	batch_free(b);
}

static void nothing_after_a_short_segment(void **state)
{
	struct batch *b = batch_new();
	struct spec s = tcp_spec(true), m;

	(void)state;
	add_segments(b, &s, 0, 2, 1000, 500, ACK);
	add_segments(b, &s, 1500, 2, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, N_MERGE), 2);
	m = merged_spec(&s, 0, 1500, ACK);
	assert_merged(b, 0, &m, 1000);
	m = merged_spec(&s, 1500, 2000, ACK);
	assert_merged(b, 1, &m, 1000);
	batch_free(b);

	/* A short first segment sets gso_size: a full one cannot follow. */
	b = batch_new();
	add_segments(b, &s, 0, 1, 500, 500, ACK);
	add_segments(b, &s, 500, 2, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, N_MERGE), 2);
	assert_in_place(b, 0, 0);
	batch_free(b);
}

/* Other packets in between: another protocol does not stop the merge; a
 * TCP packet of the same flow that cannot join (a pure ACK, a FIN) does,
 * so that it is not overtaken by segments that came after it. */
static void other_packets_in_between(void **state)
{
	struct batch *b = batch_new();
	struct spec s = tcp_spec(false), u = tcp_spec(false), m;

	(void)state;
	u.proto = IPPROTO_UDP;
	u.payload_len = 100;
	add_segments(b, &s, 0, 1, 1000, 1000, ACK);
	batch_add_spec(b, &u);
	add_segments(b, &s, 1000, 2, 1000, 1000, ACK);
	u.proto = IPPROTO_ICMP;
	batch_add_spec(b, &u);
	assert_int_equal(coalesce(b, N_MERGE), 3);
	m = merged_spec(&s, 0, 3000, ACK);
	m.id = s.id;
	assert_merged(b, 0, &m, 1000);
	assert_in_place(b, 1, 1);
	assert_in_place(b, 2, 4);
	batch_free(b);

	b = batch_new();
	add_segments(b, &s, 0, 2, 1000, 1000, ACK);
	m = merged_spec(&s, 2000, 0, ACK); /* a pure ACK of the same flow */
	batch_add_spec(b, &m);
	add_segments(b, &s, 2000, 2, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, N_MERGE), 3);
	m = merged_spec(&s, 0, 2000, ACK);
	assert_merged(b, 0, &m, 1000);
	assert_in_place(b, 1, 2);
	m = merged_spec(&s, 2000, 2000, ACK);
	assert_merged(b, 2, &m, 1000);
	batch_free(b);
}

static void stays_within_64k(void **state)
{
	unsigned int v6;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		struct batch *b = batch_new();
		struct spec s = tcp_spec(v6), m;
		size_t hl, per;

		s.opts = ts_opts;
		s.opts_len = sizeof(ts_opts);
		hl = hdr_len_of(&s);
		add_segments(b, &s, 0, 50, 1448, 1448, ACK);
		per = (65535 - hl) / 1448; /* segments in the first super-packet */
		assert_int_equal(coalesce(b, N_MERGE), 2);
		m = merged_spec(&s, 0, per * 1448, ACK);
		assert_merged(b, 0, &m, 1448);
		m = merged_spec(&s, per * 1448, (50 - per) * 1448, ACK);
		m.id = (uint16_t)(s.id + per);
		assert_merged(b, 1, &m, 1448);
		batch_free(b);

		/* Exactly 65535 bytes fits; one more does not. */
		b = batch_new();
		add_segments(b, &s, 0, 46, 1448, 65535 - hl - 45 * 1448, ACK);
		assert_int_equal(coalesce(b, N_MERGE), 1);
		assert_int_equal(b->writes[0].len, VNET_HDR_LEN + 65535);
		batch_free(b);
		b = batch_new();
		add_segments(b, &s, 0, 46, 1448, 65535 - hl - 45 * 1448 + 1, ACK);
		assert_int_equal(coalesce(b, N_MERGE), 2);
		assert_in_place(b, 1, 45);
		batch_free(b);
	}
}

static void out_of_merge_buffers(void **state)
{
	struct batch *b = batch_new();
	struct spec s = tcp_spec(false), m;
	int i, f;

	(void)state;
	add_segments(b, &s, 0, 3, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, 0), 3);
	for (i = 0; i < 3; i++)
		assert_in_place(b, i, i);
	batch_free(b);

	/* Six interleaved flows, four buffers: the last two go out unmerged. */
	b = batch_new();
	for (i = 0; i < 2; i++) {
		for (f = 0; f < 6; f++) {
			struct spec x = s;

			x.flow = (uint8_t)f;
			add_segments(b, &x, (size_t)i * 1000, 1, 1000, 1000, ACK);
		}
	}
	assert_int_equal(coalesce(b, 4), 8);
	for (f = 0; f < 4; f++) {
		m = merged_spec(&s, 0, 2000, ACK);
		m.flow = (uint8_t)f;
		assert_merged(b, f, &m, 1000);
	}
	assert_in_place(b, 4, 4);
	assert_in_place(b, 5, 5);
	assert_in_place(b, 6, 10);
	assert_in_place(b, 7, 11);
	batch_free(b);
}

/* IPv4 IDs: anything under DF; counting up by one without it. */
static void ipv4_ids(void **state)
{
	static const uint16_t ids[] = { 0xffff, 0, 0, 1 };
	unsigned int df, i;

	(void)state;
	for (df = 0; df < 2; df++) {
		struct batch *b = batch_new();
		struct spec s = tcp_spec(false), m;

		s.no_df = !df;
		for (i = 0; i < 4; i++) {
			struct spec x = merged_spec(&s, i * 1000, 1000, ACK);

			x.id = ids[i];
			batch_add_spec(b, &x);
		}
		if (df) {
			assert_int_equal(coalesce(b, N_MERGE), 1);
			m = merged_spec(&s, 0, 4000, ACK);
			m.id = 0xffff;
			assert_merged(b, 0, &m, 1000);
		} else {
			assert_int_equal(coalesce(b, N_MERGE), 2);
			m = merged_spec(&s, 0, 2000, ACK);
			m.id = 0xffff;
			assert_merged(b, 0, &m, 1000);
			m = merged_spec(&s, 2000, 2000, ACK);
			m.id = 0;
			assert_merged(b, 1, &m, 1000);
		}
		batch_free(b);
	}
}

/* Truncated and garbled packets (each in a block of its exact size) among
 * good segments of their flow: passed on in place, nothing read past
 * their end, the good segments around them still handled. */
static void coalesce_survives_malformed(void **state)
{
	static uint8_t buf[2000], cutbuf[2000];
	unsigned int v6, cut, bit, fix;

	(void)state;
	for (v6 = 0; v6 < 2; v6++) {
		struct spec s = tcp_spec(v6), x;
		size_t len;

		s.opts = ts_opts;
		s.opts_len = sizeof(ts_opts);
		x = merged_spec(&s, 1000, 1000, ACK);
		len = build(buf, &x);
		for (cut = 0; cut < len; cut++) {
			for (fix = 0; fix < 2; fix++) {
				struct batch *b = batch_new();
				int n;

				memcpy(cutbuf, buf, cut);
				/* Also with IP lengths (and header checksum) that agree. */
				if (fix && v6 && cut >= 6) {
					wr16(cutbuf + 4, (uint16_t)(cut - 40));
				} else if (fix && !v6 && cut >= 12) {
					wr16(cutbuf + 2, (uint16_t)cut);
					wr16(cutbuf + 10, 0);
					wr16(cutbuf + 10, (uint16_t)~ref_fold(ref_add(0, cutbuf, 20)));
				}
				add_segments(b, &s, 0, 1, 1000, 1000, ACK);
				batch_add(b, cutbuf, cut);
				add_segments(b, &s, 1000, 1, 1000, 1000, ACK);
				n = coalesce(b, N_MERGE);
				assert_true(n == 2 || n == 3);
				assert_in_place(b, 1, 1);
				batch_free(b);
			}
		}
		for (bit = 0; bit < 8 * (len < 200 ? len : 200); bit++) {
			struct batch *b = batch_new();

			add_segments(b, &s, 0, 1, 1000, 1000, ACK);
			buf[bit / 8] ^= (uint8_t)(1 << bit % 8);
			batch_add(b, buf, len);
			buf[bit / 8] ^= (uint8_t)(1 << bit % 8);
			/* Any change to a checksummed byte must stop the merge. */
			assert_int_equal(coalesce(b, N_MERGE), 2);
			batch_free(b);
		}
	}
}

/* The flow table holds 16: a 17th flow takes the place of the oldest that
 * has not merged anything, and is not tracked if they all have. */
static void flow_table_full(void **state)
{
	struct batch *b = batch_new();
	struct spec s = tcp_spec(false), m;
	int f;

	(void)state;
	for (f = 0; f < 16; f++) {
		s.flow = (uint8_t)f;
		add_segments(b, &s, 0, 2, 1000, 1000, ACK);
	}
	s.flow = 16;
	add_segments(b, &s, 0, 3, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, N_MERGE), 19);
	for (f = 0; f < 16; f++) {
		m = merged_spec(&s, 0, 2000, ACK);
		m.flow = (uint8_t)f;
		assert_merged(b, f, &m, 1000);
	}
	for (f = 0; f < 3; f++)
		assert_in_place(b, 16 + f, 32 + f);
	batch_free(b);

	b = batch_new();
	for (f = 0; f < 17; f++) {
		s.flow = (uint8_t)f;
		add_segments(b, &s, 0, 1, 1000, 1000, ACK);
	}
	add_segments(b, &s, 1000, 2, 1000, 1000, ACK);
	assert_int_equal(coalesce(b, N_MERGE), 17);
	for (f = 0; f < 16; f++)
		assert_in_place(b, f, f);
	m = merged_spec(&s, 0, 3000, ACK);
	assert_merged(b, 16, &m, 1000);
	batch_free(b);
}

/* --- Randomized ------------------------------------------------------------- */

/* Split a random super-packet, coalesce the segments, and get the same
 * bytes back; split the result again and get the same segments. */
static void random_round_trips(void **state)
{
	static uint8_t super[70000], again[4 << 20];
	static size_t again_lens[70000];
	int iter;

	(void)state;
	rng_state = 7;
	for (iter = 0; iter < 3000; iter++) {
		struct spec s = tcp_spec(rnd_below(2));
		struct virtio_net_hdr h;
		struct batch *b;
		uint16_t gso = (uint16_t)(1 + rnd_below(1448));
		size_t len, hl, stride, max_payload;
		int n, i, k;

		s.opts_len = (size_t[]){ 0, 12, 20, 40 }[rnd_below(4)];
		s.opts = long_opts;
		s.seq = (uint32_t)rnd();
		s.ack = (uint32_t)rnd();
		s.id = (uint16_t)rnd();
		s.flags = ACK | (rnd_below(2) ? PSH : 0);
		s.payload = pattern + rnd_below(1000);
		hl = hdr_len_of(&s);
		max_payload = 65535 - hl;
		if ((size_t)gso * (MAX_BATCH - 1) < max_payload)
			max_payload = (size_t)gso * (MAX_BATCH - 1);
		s.payload_len = rnd_below(4) ? rnd_below((unsigned int)max_payload + 1) : max_payload;
		s.partial = true;
		len = build(super, &s);
		h = gso_hdr(&s, gso);
		if (rnd_below(2))
			h.hdr_len = 0;
		stride = hl + gso;
		n = offload_split(&h, super, len, segs, stride, seg_lens, MAX_BATCH);
		assert_int_equal(n, s.payload_len ? (int)((s.payload_len + gso - 1) / gso) : 1);

		b = batch_new();
		for (i = 0; i < n; i++)
			batch_add(b, segs + (size_t)i * stride, seg_lens[i]);
		k = coalesce(b, 1 + (int)rnd_below(N_MERGE));
		if (n == 1 || !s.payload_len) {
			assert_int_equal(k, 1);
			assert_in_place(b, 0, 0);
			batch_free(b);
			continue;
		}
		assert_int_equal(k, 1);
		assert_merged(b, 0, &s, gso);
		assert_memory_equal(b->writes[0].buf + VNET_HDR_LEN, super, len);
		assert_int_equal(offload_split((const struct virtio_net_hdr *)b->writes[0].buf,
					       b->writes[0].buf + VNET_HDR_LEN, b->writes[0].len - VNET_HDR_LEN, again,
					       stride, again_lens, MAX_BATCH),
				 n);
		for (i = 0; i < n; i++) {
			assert_int_equal(again_lens[i], seg_lens[i]);
			assert_memory_equal(again + (size_t)i * stride, segs + (size_t)i * stride, seg_lens[i]);
		}
		batch_free(b);
	}
}

/* Random batches of up to 20 flows with gaps, PSH, pure ACKs, short
 * segments, bad checksums and other protocols mixed in: whatever merges,
 * each flow's payload must leave in the order it came, every merged
 * packet must be well formed, and everything else must be in place. */
struct ref_flow {
	struct spec s;
	uint32_t next_seq;
	uint8_t in[MAX_BATCH * 1448], out[MAX_BATCH * 1448];
	size_t in_len, out_len;
};

/* @w is one of the batch's packets, with a zero virtio_net_hdr. */
static bool is_in_place(const struct batch *b, const uint8_t *w)
{
	static const uint8_t zero[VNET_HDR_LEN];
	int i;

	for (i = 0; i < b->n; i++)
		if (w == b->pkts[i].data - VNET_HDR_LEN)
			return !memcmp(w, zero, VNET_HDR_LEN);
	return false;
}

static void random_batches_keep_flow_order(void **state)
{
	static struct ref_flow flows[20];
	static uint8_t buf[2000];
	int iter;

	(void)state;
	rng_state = 99;
	for (iter = 0; iter < 400; iter++) {
		struct batch *b = batch_new();
		int nflows = 1 + (int)rnd_below(20), npkts = 1 + (int)rnd_below(MAX_BATCH), i, k, n;
		uint16_t mss = (uint16_t)(1 + rnd_below(1448));

		for (i = 0; i < nflows; i++) {
			flows[i].s = tcp_spec(rnd_below(2));
			flows[i].s.flow = (uint8_t)i;
			flows[i].s.opts = ts_opts;
			flows[i].s.opts_len = rnd_below(2) ? sizeof(ts_opts) : 0;
			flows[i].next_seq = (uint32_t)rnd();
			flows[i].in_len = flows[i].out_len = 0;
		}
		for (k = 0; k < npkts; k++) {
			struct ref_flow *f = &flows[rnd_below((unsigned int)nflows)];
			struct spec x = f->s;
			unsigned int r = rnd_below(100);
			size_t len;
			bool counted = x.proto == IPPROTO_TCP;

			x.seq = f->next_seq;
			x.payload = pattern + rnd_below(60000);
			x.payload_len = r < 80 ? mss : rnd_below(mss + 1u);
			x.flags = ACK | (r % 10 == 1 ? PSH : 0) | (r == 2 ? FIN : 0);
			if (r == 4)
				x.seq += 1000; /* a gap */
			if (r == 3) {
				x.proto = IPPROTO_UDP;
				counted = false;
			}
			len = build(buf, &x);
			if (r == 5) {
				buf[len - 1] ^= 0x55; /* the kernel would drop it: so must the merge */
				counted = false;
			}
			if (counted) {
				memcpy(f->in + f->in_len, x.payload, x.payload_len);
				f->in_len += x.payload_len;
			}
			if (x.proto == IPPROTO_TCP)
				f->next_seq = x.seq + (uint32_t)x.payload_len;
			batch_add(b, buf, len);
		}
		n = coalesce(b, (int)rnd_below(N_MERGE + 1));
		for (k = 0; k < n; k++) {
			const uint8_t *w = b->writes[k].buf, *ip = w + VNET_HDR_LEN;
			const struct virtio_net_hdr *h = (const struct virtio_net_hdr *)w;
			size_t len = b->writes[k].len - VNET_HDR_LEN, ihl, hl;
			struct ref_flow *f;

			assert_true(len <= 65535);
			if (!h->gso_type)
				assert_true(is_in_place(b, w));
			if (ip_proto(ip) != IPPROTO_TCP)
				continue;
			f = &flows[is_v6(ip) ? ip[23] : ip[15]];
			ihl = ip_hdr_len(ip);
			hl = ihl + (size_t)(ip[ihl + 12] >> 4) * 4;
			if (h->gso_type) {
				assert_int_equal(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
				assert_int_equal(h->gso_type,
						 is_v6(ip) ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4);
				assert_int_equal(h->hdr_len, hl);
				assert_int_equal(h->csum_start, ihl);
				assert_int_equal(h->csum_offset, 16);
				assert_true(h->gso_size > 0 && len - hl > h->gso_size);
				assert_int_equal(rd16(ip + ihl + 16), ref_fold(ref_pseudo(ip, len - ihl)));
				assert_int_equal(is_v6(ip) ? rd16(ip + 4) + 40u : rd16(ip + 2), len);
				assert_true(ip_csum_ok(ip));
			} else {
				if (!l4_csum_ok(ip, len))
					continue; /* corrupt on purpose: not counted */
			}
			memcpy(f->out + f->out_len, ip + hl, len - hl);
			f->out_len += len - hl;
		}
		for (i = 0; i < nflows; i++) {
			assert_int_equal(flows[i].out_len, flows[i].in_len);
			assert_memory_equal(flows[i].out, flows[i].in, flows[i].in_len);
		}
		batch_free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits_tcp),
		cmocka_unit_test(splits_tcp_ecn_cwr_only_first),
		cmocka_unit_test(splits_ignoring_hdr_len),
		cmocka_unit_test(splits_ipv4_with_options),
		cmocka_unit_test(splits_udp),
		cmocka_unit_test(udp_zero_checksum_is_sent_as_ffff),
		cmocka_unit_test(split_none_completes_checksum),
		cmocka_unit_test(split_rejects_malformed),
		cmocka_unit_test(coalesces_segments),
		cmocka_unit_test(coalesces_ethernet_frames),
		cmocka_unit_test(single_packets_in_place),
		cmocka_unit_test(keeps_interleaved_flows_apart),
		cmocka_unit_test(refuses_to_merge_across),
		cmocka_unit_test(psh_ends_a_super_packet),
		cmocka_unit_test(nothing_after_a_short_segment),
		cmocka_unit_test(other_packets_in_between),
		cmocka_unit_test(stays_within_64k),
		cmocka_unit_test(out_of_merge_buffers),
		cmocka_unit_test(flow_table_full),
		cmocka_unit_test(ipv4_ids),
		cmocka_unit_test(coalesce_survives_malformed),
		cmocka_unit_test(random_round_trips),
		cmocka_unit_test(random_batches_keep_flow_order),
	};

	fill_pattern();
	return cmocka_run_group_tests_name("offload", tests, NULL, NULL);
}
