/* offload.c - GSO split and GRO coalesce for a TUN device with IFF_VNET_HDR,
 * done in userspace the way the kernel and wireguard-go's tun/offload_linux.go
 * do them (the semantics of struct virtio_net_hdr are those of
 * virtio_net_hdr_to_skb / virtio_net_hdr_from_skb in include/linux/virtio_net.h).
 *
 * Ownership: offload_split only reads @pkt and writes segments into the
 * caller's @out. offload_coalesce reads the batch's packets, writes a zero
 * virtio_net_hdr in the VNET_HDR_LEN bytes before each packet it passes on in
 * place, and builds super-packets in the caller's merge buffers; every buffer
 * stays the caller's, and nothing here allocates.
 *
 * The virtio_net_hdr fields are in host byte order: TUN uses the legacy
 * (native) virtio endianness unless TUNSETVNETLE/BE says otherwise.
 *
 * Checksum conventions (RFC 1071 sums, see checksum.h):
 * - A packet read with VIRTIO_NET_HDR_F_NEEDS_CSUM is CHECKSUM_PARTIAL: the
 *   field at csum_start + csum_offset already holds the folded pseudo-header
 *   sum, not complemented. Completing it means summing everything from
 *   csum_start to the end, that field included, and storing the complement.
 * - A super-packet written with NEEDS_CSUM must look the same: the TCP
 *   checksum field holds the folded pseudo-header sum (for the super-packet's
 *   TCP length) without the final complement; the kernel finishes it.
 * - Segments leave offload_split with complete checksums, computed from
 *   scratch (the field zeroed, pseudo-header for the segment's own length).
 *   A UDP checksum that comes out 0 is sent as 0xffff (0 means "none"), as
 *   skb_checksum_help does for every protocol. */
#include "offload.h"

#include "checksum.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

#define TCP_CSUM_OFFSET 16
#define UDP_CSUM_OFFSET 6
#define UDP_HDR_LEN	8
#define IPV6_HDR_LEN	40
#define IPV4_DF		0x4000
#define IPV4_MF		0x2000
#define IPV4_FRAG_OFF	0x1fff
#define IP_MAX_LEN	65535

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* checksum_fold's result is already in network byte order. */
static void store_csum(uint8_t *p, uint16_t folded)
{
	memcpy(p, &folded, sizeof(folded));
}

static void ipv4_set_header_csum(uint8_t *iph, size_t len)
{
	iph[10] = iph[11] = 0;
	store_csum(iph + 10, checksum_fold(checksum_partial(iph, len, 0)));
}

/* Sum of the pseudo-header of the IP packet at @ip for @l4_len bytes of @proto. */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, uint8_t proto, size_t l4_len)
{
	if (v6)
		return checksum_pseudo_v6(ip + 8, ip + 24, proto, (uint32_t)l4_len);
	return checksum_pseudo_v4(ip + 12, ip + 16, proto, (uint32_t)l4_len);
}

/* --- Segmentation (TSO / USO) ------------------------------------------- */

/* Where the headers of a super-packet end, read from the packet itself:
 * hdr_len in the virtio_net_hdr is only a hint (virtio_net_hdr_from_skb
 * puts skb_headlen() there, which may include payload). */
struct gso_layout {
	bool v6;
	uint8_t proto;
	size_t ip_len;	/* IP header */
	size_t hdr_len; /* IP + TCP/UDP header */
};

static int parse_ip(const uint8_t *pkt, size_t len, bool v6, struct gso_layout *l)
{
	if (!v6) {
		if (len < 20 || pkt[0] >> 4 != 4 || (pkt[0] & 0xf) < 5)
			return -EINVAL;
		l->ip_len = (size_t)(pkt[0] & 0xf) * 4;
		if (l->ip_len > len || get16(pkt + 2) != len || get16(pkt + 6) & (IPV4_MF | IPV4_FRAG_OFF))
			return -EINVAL;
		l->proto = pkt[9];
	} else {
		/* Extension headers are not followed: the kernel's TSO/USO
		 * packets from a local socket carry none, and anything else
		 * is refused rather than segmented wrongly. */
		if (len < IPV6_HDR_LEN || pkt[0] >> 4 != 6 || (size_t)get16(pkt + 4) + IPV6_HDR_LEN != len)
			return -EINVAL;
		l->ip_len = IPV6_HDR_LEN;
		l->proto = pkt[6];
	}
	l->v6 = v6;
	return 0;
}

static int parse_super_packet(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, struct gso_layout *l)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool ecn = h->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	uint16_t csum_offset;
	int ret;

	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		ret = parse_ip(pkt, len, gso == VIRTIO_NET_HDR_GSO_TCPV6, l);
		if (ret < 0 || l->proto != IPPROTO_TCP || l->ip_len + 20 > len || pkt[l->ip_len + 12] >> 4 < 5)
			return -EINVAL;
		l->hdr_len = l->ip_len + (size_t)(pkt[l->ip_len + 12] >> 4) * 4;
		csum_offset = TCP_CSUM_OFFSET;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		if (ecn || len < 1)
			return -EINVAL;
		ret = parse_ip(pkt, len, pkt[0] >> 4 == 6, l);
		if (ret < 0 || l->proto != IPPROTO_UDP)
			return -EINVAL;
		l->hdr_len = l->ip_len + UDP_HDR_LEN;
		csum_offset = UDP_CSUM_OFFSET;
		break;
	case VIRTIO_NET_HDR_GSO_NONE: /* the ECN bit alone */
		return -EINVAL;
	default:
		return -EOPNOTSUPP;
	}
	if (l->hdr_len > len || !h->gso_size)
		return -EINVAL;
	/* Without NEEDS_CSUM the checksum is recomputed all the same; with it,
	 * it must point where the packet says the checksum is. */
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM && (h->csum_start != l->ip_len || h->csum_offset != csum_offset))
		return -EINVAL;
	return 0;
}

/* Segment @i carries @seg_len payload bytes from @off (after the headers) on. */
static void write_segment(uint8_t *out, const uint8_t *pkt, const struct gso_layout *l, int i, int n, size_t off,
			  size_t seg_len)
{
	size_t total = l->hdr_len + seg_len, l4_len = total - l->ip_len;
	uint8_t *l4 = out + l->ip_len, *csum;
	uint16_t c;

	memcpy(out, pkt, l->hdr_len);
	memcpy(out + l->hdr_len, pkt + l->hdr_len + off, seg_len);
	if (l->v6) {
		put16(out + 4, (uint16_t)l4_len);
	} else {
		put16(out + 2, (uint16_t)total);
		put16(out + 4, (uint16_t)(get16(pkt + 4) + i));
		ipv4_set_header_csum(out, l->ip_len);
	}
	if (l->proto == IPPROTO_TCP) {
		put32(l4 + 4, get32(pkt + l->ip_len + 4) + (uint32_t)off);
		/* As tcp_gso_segment: CWR only on the first, FIN and PSH
		 * only on the last segment. */
		if (i > 0)
			l4[13] &= (uint8_t)~TCP_CWR;
		if (i < n - 1)
			l4[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
		csum = l4 + TCP_CSUM_OFFSET;
	} else {
		put16(l4 + 4, (uint16_t)l4_len);
		csum = l4 + UDP_CSUM_OFFSET;
	}
	csum[0] = csum[1] = 0;
	c = checksum_fold(checksum_partial(l4, l4_len, pseudo_sum(out, l->v6, l->proto, l4_len)));
	if (!c && l->proto == IPPROTO_UDP)
		c = 0xffff;
	store_csum(csum, c);
}

/* No GSO: one segment, its checksum completed if the kernel left it partial. */
static int split_none(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out, size_t stride,
		      size_t *lens)
{
	bool partial = h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
	size_t at = (size_t)h->csum_start + h->csum_offset;
	uint16_t c;

	if (len > stride)
		return -ENOSPC;
	if (partial && at + 2 > len)
		return -EINVAL;
	memcpy(out, pkt, len);
	lens[0] = len;
	if (partial) {
		/* The field holds the pseudo-header sum: summed as it is. */
		c = checksum_fold(checksum_partial(out + h->csum_start, len - h->csum_start, 0));
		store_csum(out + at, c ? c : 0xffff);
	}
	return 1;
}

int offload_split(const struct virtio_net_hdr *h, const uint8_t *pkt, size_t len, uint8_t *out, size_t stride,
		  size_t *lens, int max_segs)
{
	struct gso_layout l;
	size_t payload, off, seg_len;
	int ret, n, i;

	if (max_segs < 1)
		return -ENOSPC;
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return split_none(h, pkt, len, out, stride, lens);
	ret = parse_super_packet(h, pkt, len, &l);
	if (ret < 0)
		return ret;
	payload = len - l.hdr_len;
	n = payload ? (int)((payload + h->gso_size - 1) / h->gso_size) : 1;
	if (n > max_segs || l.hdr_len + (payload < h->gso_size ? payload : h->gso_size) > stride)
		return -ENOSPC;
	for (i = 0, off = 0; i < n; i++, off += seg_len) {
		seg_len = payload - off < h->gso_size ? payload - off : h->gso_size;
		write_segment(out + (size_t)i * stride, pkt, &l, i, n, off, seg_len);
		lens[i] = l.hdr_len + seg_len;
	}
	return n;
}

/* --- Coalescing (GRO) ---------------------------------------------------- */

/* Super-packets being built, one per TCP flow at most. A batch rarely
 * holds more than a few bulk flows, so a linear scan over a small fixed
 * table is enough; when it is full, a new flow takes the place of the
 * oldest one that has not merged anything yet (likely not a bulk flow),
 * and if every flow has merged, the new one is not tracked: fewer merges,
 * never a wrong one. */
#define GRO_FLOWS 16

struct flow_key {
	uint8_t version;
	uint8_t src[16], dst[16];
	uint8_t ports[4];
	/* TAP frames: the Ethernet header (addresses, tags, type) must match too. */
	uint8_t l2_len;
	uint8_t l2[OFFLOAD_MAX_L2];
};

/* A TCP segment that may be merged: parsed and verified. */
struct tcp_segment {
	const uint8_t *ip;
	size_t len, ip_len, hdr_len, payload;
	uint32_t seq;
	bool v6, psh;
};

struct gro_flow {
	struct flow_key key;
	bool used, v6, psh;
	const uint8_t *first; /* the first segment's IP header: its headers lead */
	size_t l2;	      /* Ethernet header before it (TAP), 0 for IP */
	uint8_t *buf;	      /* merge buffer (virtio_net_hdr first), NULL while alone */
	size_t len, ip_len, hdr_len;
	int out; /* its write in @out */
	int segs;
	uint32_t next_seq;
	uint16_t gso_size;
};

/* The flow of a TCP packet, for keeping flows in order: anything with TCP
 * ports in view, whether it can be merged or not. IPv6 packets with
 * extension headers are not looked into. */
static bool tcp_flow_of(const uint8_t *pkt, size_t len, struct flow_key *k)
{
	size_t ip_len;

	memset(k, 0, sizeof(*k));
	if (len >= 20 && pkt[0] >> 4 == 4) {
		ip_len = (size_t)(pkt[0] & 0xf) * 4;
		if (ip_len < 20 || ip_len + 4 > len || pkt[9] != IPPROTO_TCP || get16(pkt + 6) & IPV4_FRAG_OFF)
			return false;
		memcpy(k->src, pkt + 12, 4);
		memcpy(k->dst, pkt + 16, 4);
	} else if (len >= IPV6_HDR_LEN + 4 && pkt[0] >> 4 == 6) {
		ip_len = IPV6_HDR_LEN;
		if (pkt[6] != IPPROTO_TCP)
			return false;
		memcpy(k->src, pkt + 8, 16);
		memcpy(k->dst, pkt + 24, 16);
	} else {
		return false;
	}
	k->version = pkt[0] >> 4;
	memcpy(k->ports, pkt + ip_len, 4);
	return true;
}

/* A segment fit for merging: IPv4 without options or fragmentation, or
 * IPv6 with TCP right after the fixed header; lengths that agree with the
 * buffer; ACK with nothing but PSH besides; some payload; and valid
 * checksums, for a merged packet gets new ones and must not launder a
 * corrupt segment into a good one. */
static bool tcp_segment_parse(const uint8_t *pkt, size_t len, struct tcp_segment *s)
{
	const uint8_t *th;
	uint8_t flags;

	if (len > IP_MAX_LEN)
		return false;
	if (len >= 20 && pkt[0] == 0x45) {
		if (get16(pkt + 2) != len || get16(pkt + 6) & (IPV4_MF | IPV4_FRAG_OFF) || pkt[9] != IPPROTO_TCP ||
		    checksum_fold(checksum_partial(pkt, 20, 0)))
			return false;
		s->v6 = false;
		s->ip_len = 20;
	} else if (len >= IPV6_HDR_LEN && pkt[0] >> 4 == 6) {
		if ((size_t)get16(pkt + 4) + IPV6_HDR_LEN != len || pkt[6] != IPPROTO_TCP)
			return false;
		s->v6 = true;
		s->ip_len = IPV6_HDR_LEN;
	} else {
		return false;
	}
	if (s->ip_len + 20 > len)
		return false;
	th = pkt + s->ip_len;
	s->hdr_len = s->ip_len + (size_t)(th[12] >> 4) * 4;
	if (th[12] >> 4 < 5 || s->hdr_len >= len)
		return false;
	flags = th[13];
	if ((flags & (uint8_t)~TCP_PSH) != TCP_ACK)
		return false;
	if (checksum_fold(checksum_partial(th, len - s->ip_len, pseudo_sum(pkt, s->v6, IPPROTO_TCP, len - s->ip_len))))
		return false;
	s->ip = pkt;
	s->len = len;
	s->payload = len - s->hdr_len;
	s->seq = get32(th + 4);
	s->psh = flags & TCP_PSH;
	return true;
}

/* Everything but lengths, checksums, sequence number and PSH must be equal
 * for the merged packet to say the same thing as its segments did: the
 * IPv4 TOS, DF and TTL (options and fragments were refused already), the
 * IPv6 traffic class, flow label and hop limit, and the TCP data offset,
 * acknowledgment, window, urgent pointer and options (timestamps
 * included, as wireguard-go and the kernel's GRO require). */
static bool headers_match(const struct gro_flow *f, const struct tcp_segment *s)
{
	const uint8_t *a = f->first, *b = s->ip, *ta, *tb;

	if (s->v6 != f->v6 || s->hdr_len != f->hdr_len)
		return false;
	if (s->v6) {
		if (memcmp(a, b, 4) || a[7] != b[7])
			return false;
	} else if (a[1] != b[1] || (a[6] & 0xe0) != (b[6] & 0xe0) || a[8] != b[8]) {
		return false;
	}
	ta = a + f->ip_len;
	tb = b + s->ip_len;
	return ta[12] == tb[12] && !memcmp(ta + 8, tb + 8, 4) && !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 18, tb + 18, 2) && !memcmp(ta + 20, tb + 20, f->hdr_len - f->ip_len - 20);
}

/* Without DF, IPv4 IDs must count up by one, as the kernel's GRO wants
 * (the ID may matter for fragments); segmenting the merged packet again
 * gives them back that way. With DF they may be anything. */
static bool ipv4_id_follows(const struct gro_flow *f, const struct tcp_segment *s)
{
	return f->v6 || f->first[6] & (IPV4_DF >> 8) || get16(s->ip + 4) == (uint16_t)(get16(f->first + 4) + f->segs);
}

/* The merged packet must fit an IP length field and, with the Ethernet
 * header in front of it (TAP), a merge buffer. */
static bool flow_can_take(const struct gro_flow *f, const struct tcp_segment *s)
{
	return s->seq == f->next_seq && s->payload <= f->gso_size && f->l2 + f->len + s->payload <= IP_MAX_LEN &&
	       headers_match(f, s) && ipv4_id_follows(f, s);
}

static void flow_start(struct gro_flow *f, const struct flow_key *k, const struct tcp_segment *s, int out)
{
	f->used = true;
	f->key = *k;
	f->first = s->ip;
	f->l2 = k->l2_len;
	f->out = out;
	f->buf = NULL;
	f->len = s->len;
	f->ip_len = s->ip_len;
	f->hdr_len = s->hdr_len;
	f->next_seq = s->seq + (uint32_t)s->payload;
	f->gso_size = (uint16_t)s->payload;
	f->segs = 1;
	f->v6 = s->v6;
	f->psh = false;
}

/* Append @s's payload; the first merge moves the first segment into a
 * merge buffer, which becomes the flow's write. */
static void flow_append(struct gro_flow *f, const struct tcp_segment *s, uint8_t *buf, struct offload_write *out)
{
	if (!f->buf) {
		f->buf = buf;
		memcpy(f->buf + VNET_HDR_LEN, f->first - f->l2, f->l2 + f->len);
		out[f->out].buf = f->buf;
	}
	memcpy(f->buf + VNET_HDR_LEN + f->l2 + f->len, s->ip + s->hdr_len, s->payload);
	f->len += s->payload;
	f->next_seq += (uint32_t)s->payload;
	f->segs++;
	f->psh = s->psh;
}

/* Nothing more joins @f: give a merged packet its final headers. A lone
 * segment is already in @out, in place with a zero virtio_net_hdr. */
static void flow_finish(struct gro_flow *f, struct offload_write *out)
{
	struct virtio_net_hdr h = { 0 };
	uint8_t *ip, *th;

	f->used = false;
	if (f->segs < 2)
		return;
	ip = f->buf + VNET_HDR_LEN + f->l2;
	th = ip + f->ip_len;
	if (f->v6) {
		put16(ip + 4, (uint16_t)(f->len - f->ip_len));
	} else {
		put16(ip + 2, (uint16_t)f->len);
		ipv4_set_header_csum(ip, f->ip_len);
	}
	if (f->psh)
		th[13] |= TCP_PSH;
	/* CHECKSUM_PARTIAL: the folded pseudo-header sum, not complemented. */
	store_csum(th + TCP_CSUM_OFFSET,
		   (uint16_t)~checksum_fold(pseudo_sum(ip, f->v6, IPPROTO_TCP, f->len - f->ip_len)));
	h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	h.gso_type = f->v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	h.hdr_len = (uint16_t)(f->l2 + f->hdr_len);
	h.gso_size = f->gso_size;
	h.csum_start = (uint16_t)(f->l2 + f->ip_len);
	h.csum_offset = TCP_CSUM_OFFSET;
	memcpy(f->buf, &h, sizeof(h));
	out[f->out].len = VNET_HDR_LEN + f->l2 + f->len;
}

static struct gro_flow *flow_find(struct gro_flow *flows, const struct flow_key *k)
{
	int i;

	for (i = 0; i < GRO_FLOWS; i++)
		if (flows[i].used && !memcmp(&flows[i].key, k, sizeof(*k)))
			return &flows[i];
	return NULL;
}

/* A free slot, or the slot of the oldest flow still at one segment, or NULL. */
static struct gro_flow *flow_slot(struct gro_flow *flows, struct offload_write *out)
{
	struct gro_flow *victim = NULL;
	int i;

	for (i = 0; i < GRO_FLOWS; i++) {
		if (!flows[i].used)
			return &flows[i];
		if (flows[i].segs == 1 && (!victim || flows[i].out < victim->out))
			victim = &flows[i];
	}
	if (victim)
		flow_finish(victim, out);
	return victim;
}

static void write_in_place(struct offload_write *w, const struct offload_packet *p)
{
	w->buf = p->data - VNET_HDR_LEN;
	w->len = VNET_HDR_LEN + p->len;
	memset(w->buf, 0, VNET_HDR_LEN);
}

/* Each packet either joins the open super-packet of its flow or gets the
 * next write of its own, so every flow's bytes leave in arrival order: a
 * super-packet sits where its first segment arrived and only ever takes
 * segments that arrived after everything written before them of that
 * flow. Any TCP packet of the flow that is not appended (a pure ACK, a
 * FIN, a gap in sequence, other options) finishes the open super-packet
 * first, so that nothing later can overtake it. */
int offload_coalesce(struct offload_packet *in, int n, uint8_t **merge_bufs, int n_merge, struct offload_write *out)
{
	struct gro_flow flows[GRO_FLOWS];
	struct tcp_segment s = { 0 };
	struct flow_key key;
	struct gro_flow *f;
	int i, n_out = 0, next_merge = 0;
	bool seg;

	memset(flows, 0, sizeof(flows));
	for (i = 0; i < n; i++) {
		size_t l2 = in[i].l2_len;
		const uint8_t *ip = in[i].data + l2;

		if (n_merge <= 0 || l2 > OFFLOAD_MAX_L2 || l2 >= in[i].len || !tcp_flow_of(ip, in[i].len - l2, &key)) {
			write_in_place(&out[n_out++], &in[i]);
			continue;
		}
		key.l2_len = (uint8_t)l2;
		memcpy(key.l2, in[i].data, l2);
		seg = tcp_segment_parse(ip, in[i].len - l2, &s);
		f = flow_find(flows, &key);
		if (f && seg && flow_can_take(f, &s) && (f->buf || next_merge < n_merge)) {
			flow_append(f, &s, f->buf ? f->buf : merge_bufs[next_merge++], out);
			/* After a PSH or a short segment nothing may follow. */
			if (s.psh || s.payload < f->gso_size)
				flow_finish(f, out);
			continue;
		}
		if (f)
			flow_finish(f, out);
		write_in_place(&out[n_out], &in[i]);
		if (seg && !s.psh && next_merge < n_merge) {
			f = flow_slot(flows, out);
			if (f)
				flow_start(f, &key, &s, n_out);
		}
		n_out++;
	}
	for (i = 0; i < GRO_FLOWS; i++)
		if (flows[i].used)
			flow_finish(&flows[i], out);
	return n_out;
}
