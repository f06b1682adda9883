/* send.c - the transmit path.
 *
 * A packet read from the TUN device is routed to a peer by its destination
 * (cryptokey routing). If the peer has a usable session and nothing is
 * waiting before it, it is padded, encrypted in place and sent at once;
 * otherwise it joins the peer's staged queue, which is flushed as soon as a
 * handshake completes. The timer events fire in the order the whitepaper
 * gives: traversal, sent, data sent, then keep the key fresh.
 *
 * Buffers: the caller owns the packet buffer; this file only writes into
 * its headroom and tailroom (see SEND_HEADROOM) and returns it. Staged
 * packets are copies owned by the peer until sent or purged. */
#include "send.h"

#include "allowedips.h"
#include "clock.h"
#include "cookie.h"
#include "compress.h"
#include "crypto.h"
#include "ether.h"
#include "log.h"
#include "noise.h"
#include "offload.h"
#include "tcp.h"
#include "timers.h"
#include "udp.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <stdlib.h>
#include <string.h>

/* One message to @p's endpoint at once, outside the batch. */
static void send_buffer(struct peer *p, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	int ret;

	switch (p->endpoint.kind) {
	case ENDPOINT_UDP:
		ret = udp_send(p->dev, &p->endpoint.addr, buf, len);
		break;
	case ENDPOINT_TCP:
		ret = tcp_sendv(p->dev, &p->endpoint, p, &iov, 1);
		if (ret > 0)
			ret = -ENOBUFS;
		break;
	default:
		device_count_drop(p->dev, DROP_NO_ENDPOINT);
		return;
	}
	if (ret < 0) {
		device_count_drop(p->dev, DROP_SEND_ERROR);
		return;
	}
	p->tx_bytes += len;
}

void send_handshake_initiation(struct peer *p, bool is_retry)
{
	struct message_handshake_initiation m;
	uint64_t now = clock_ms();

	if (!is_retry)
		p->handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT. */
	if (p->last_sent_handshake_ms && now - p->last_sent_handshake_ms < REKEY_TIMEOUT_S * 1000ULL)
		return;
	if (!endpoint_is_set(&p->endpoint))
		return;
	p->last_sent_handshake_ms = now;
	if (!noise_handshake_create_initiation(&m, p))
		return;
	cookie_add_macs(p, &m, sizeof(m));
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	send_buffer(p, &m, sizeof(m));
	timers_handshake_initiated(p);
	crypt_wipe(&m, sizeof(m));
}

void send_handshake_response(struct peer *p)
{
	struct message_handshake_response m;

	p->last_sent_handshake_ms = clock_ms();
	if (!noise_handshake_create_response(&m, p))
		return;
	cookie_add_macs(p, &m, sizeof(m));
	if (!noise_handshake_begin_session(p))
		return;
	timers_session_derived(p);
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	send_buffer(p, &m, sizeof(m));
}

void send_handshake_cookie(struct device *dev, const void *msg, size_t len, uint32_t sender_index,
			   const struct endpoint *from)
{
	struct message_handshake_cookie m;
	struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
	struct endpoint to = *from;

	cookie_message_create(dev, &m, msg, len, sender_index, &from->addr.sa);
	if (to.kind == ENDPOINT_TCP)
		tcp_sendv(dev, &to, NULL, &iov, 1);
	else
		udp_send(dev, &to.addr, &m, sizeof(m));
}

/* The plaintext is padded to a multiple of 16, but never past the MTU. */
static size_t padded_len(size_t len, unsigned int mtu)
{
	size_t padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);

	if (padded > mtu)
		padded = len > mtu ? len : mtu;
	return padded;
}

/* Encrypt @len bytes at @plain in place (SEND_HEADROOM/TAILROOM around it)
 * with the next counter of @kp and send them. */
/* The plaintext budget a message is padded up to, never past: the MTU for
 * IP packets; for ferry messages of TAP mode, the largest frame and the
 * ferry header. */
static unsigned int pad_budget(const struct device *dev, bool ferry)
{
	return dev->tap && ferry ? dev->mtu + FERRY_FRAME_OVERHEAD + (unsigned int)FERRY_HEADER_LEN : dev->mtu;
}

/* Fill in the header of the message whose plaintext (@padded bytes, padding
 * included) is at @msg + MESSAGE_DATA_HEADER_LEN and encrypt it in place.
 * A ferry message authenticates its header as associated data, so neither
 * kind can be passed off as the other. Returns the message's length. */
static size_t seal_message(uint8_t *msg, size_t padded, struct keypair *kp, bool ferry)
{
	uint64_t counter = kp->send_counter++;

	le32_write(msg, ferry ? MESSAGE_FERRY_DATA : MESSAGE_DATA);
	le32_write(msg + 4, kp->remote_index);
	le64_write(msg + 8, counter);
	crypt_aead_encrypt(msg + MESSAGE_DATA_HEADER_LEN, msg + MESSAGE_DATA_HEADER_LEN, padded, ferry ? msg : NULL,
			   ferry ? MESSAGE_DATA_HEADER_LEN : 0, counter, kp->send_key);
	return MESSAGE_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
}

static void send_data(struct peer *p, struct keypair *kp, uint8_t *plain, size_t len, bool ferry)
{
	uint8_t *m = plain - MESSAGE_DATA_HEADER_LEN;
	size_t padded = padded_len(len, pad_budget(p->dev, ferry));

	memset(plain + len, 0, padded - len);
	send_buffer(p, m, seal_message(m, padded, kp, ferry));
	p->dev->tx_packets++;
}

/* Rekey when the session has carried too much or (for its initiator) lived
 * too long. */
static void keep_key_fresh(struct peer *p)
{
	struct keypair *kp = p->current;
	uint64_t now = clock_ms();

	if (kp && (kp->send_counter > REKEY_AFTER_MESSAGES ||
		   (kp->i_am_initiator && now - kp->birth_ms > REKEY_AFTER_TIME_S * 1000ULL)))
		send_handshake_initiation(p, false);
}

static void after_data_sent(struct peer *p, bool any_data)
{
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	if (any_data)
		timers_data_sent(p);
	keep_key_fresh(p);
}

void send_staged_packets(struct peer *p)
{
	static uint8_t buf[SEND_HEADROOM + 65536 + SEND_TAILROOM];
	struct keypair *kp = p->current;
	bool any_data = false, any = false;

	if (!noise_keypair_usable(kp, clock_ms())) {
		send_handshake_initiation(p, false);
		return;
	}
	while (p->staged_count) {
		struct staged_packet *s = &p->staged[p->staged_head];

		if (kp->send_counter >= REJECT_AFTER_MESSAGES) {
			send_handshake_initiation(p, false);
			break;
		}
		memcpy(buf + SEND_HEADROOM, s->data, s->len);
		send_data(p, kp, buf + SEND_HEADROOM, s->len, s->ferry);
		any = true;
		any_data |= s->len > 0;
		peer_unstage_oldest(p);
	}
	if (any)
		after_data_sent(p, any_data);
}

/* @p's current keypair if @n messages may go out on it now; NULL if they
 * must wait in the staged queue (no session, packets already waiting, or
 * the counter nearly spent). */
static struct keypair *session_for(struct peer *p, int n)
{
	struct keypair *kp = p->current;

	if (p->staged_count || !noise_keypair_usable(kp, clock_ms()) ||
	    kp->send_counter + (uint64_t)n >= REJECT_AFTER_MESSAGES)
		return NULL;
	return kp;
}

void send_keepalive(struct peer *p)
{
	static uint8_t buf[SEND_HEADROOM + SEND_TAILROOM];
	struct keypair *kp = session_for(p, 0);

	/* Anything waiting doubles as the keepalive. With a session, an
	 * empty data message goes at once; without, it waits for one. */
	if (kp) {
		send_data(p, kp, buf + SEND_HEADROOM, 0, false);
		after_data_sent(p, false);
		return;
	}
	if (!p->staged_count)
		peer_stage_packet(p, NULL, 0);
	send_staged_packets(p);
}

/* Where an IP packet goes: its destination address and family. */
static int inner_destination(const uint8_t *pkt, size_t len, int *family, const uint8_t **dst)
{
	if (len >= 20 && (pkt[0] >> 4) == 4) {
		*family = AF_INET;
		*dst = pkt + 16;
		return 0;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		*family = AF_INET6;
		*dst = pkt + 24;
		return 0;
	}
	return -1;
}

int send_batch_init(struct device *dev)
{
	dev->txb = calloc(1, sizeof(*dev->txb));
	if (!dev->txb)
		return -ENOMEM;
	dev->txb->arena = malloc(SEND_ARENA_SIZE);
	return dev->txb->arena ? 0 : -ENOMEM;
}

void send_batch_free(struct device *dev)
{
	if (!dev->txb)
		return;
	free(dev->txb->arena);
	free(dev->txb);
	dev->txb = NULL;
}

void send_flush(struct device *dev)
{
	if (!dev->txb)
		return;
	udp_tx_flush(dev, &dev->txb->udp);
	dev->txb->used = 0;
}

/* Header bytes in front of each segment's payload: the IP header and, for
 * a TSO/USO packet, the TCP or UDP header. 0 if the packet is malformed. */
static size_t segment_header_len(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
	size_t ip = 0;

	if (len >= 20 && (pkt[0] >> 4) == 4)
		ip = (size_t)(pkt[0] & 0xf) * 4;
	else if (len >= 40 && (pkt[0] >> 4) == 6)
		ip = 40;
	if (!ip || ip > len)
		return 0;
	switch (vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		return ip + 20 <= len ? ip + (size_t)(pkt[ip + 12] >> 4) * 4 : 0;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		return ip + 8 <= len ? ip + 8 : 0;
	default:
		return 0;
	}
}

/* The largest segment a packet read with @vh splits into: the packet
 * itself unless it is a GSO super-packet. 0 if it is malformed. */
static size_t segment_size(const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
	size_t hl;

	if (vh->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return len;
	hl = segment_header_len(vh, pkt, len);
	if (!hl || !vh->gso_size)
		return 0;
	return hl + vh->gso_size < len ? hl + vh->gso_size : len;
}

/* Largest UDP payload one GSO send may carry, and the kernel's segment cap. */
#define UDP_GSO_MAX_BYTES 65000
#define UDP_GSO_MAX_SEGS  64

/* Queue @n encrypted messages of @stride bytes each at @msgs (the last one
 * @last_len bytes) for @p: as GSO runs when the socket can, else one by one. */
static void queue_messages(struct device *dev, struct peer *p, uint8_t *msgs, int n, size_t stride, size_t last_len)
{
	struct tx_batch *b = dev->txb;
	int per_send = dev->udp_gso ? (int)(UDP_GSO_MAX_BYTES / stride) : 1, i;

	if (p->endpoint.kind == ENDPOINT_TCP) {
		struct iovec iov[OFFLOAD_MAX_SEGMENTS];
		int k, dropped;

		for (i = 0; i < n; i += k) {
			size_t bytes = 0;

			for (k = 0; k < n - i && k < OFFLOAD_MAX_SEGMENTS; k++) {
				iov[k].iov_base = msgs + (size_t)(i + k) * stride;
				iov[k].iov_len = i + k == n - 1 ? last_len : stride;
				bytes += iov[k].iov_len;
			}
			dropped = tcp_sendv(dev, &p->endpoint, p, iov, (size_t)k);
			if (dropped < 0)
				dropped = k;
			for (; dropped > 0; dropped--)
				device_count_drop(dev, DROP_SEND_ERROR);
			p->tx_bytes += bytes;
		}
		return;
	}
	if (per_send > UDP_GSO_MAX_SEGS)
		per_send = UDP_GSO_MAX_SEGS;
	if (per_send < 1)
		per_send = 1;
	for (i = 0; i < n; i += per_send) {
		int k = n - i < per_send ? n - i : per_send;
		size_t len = (size_t)(k - 1) * stride + (i + k == n ? last_len : stride);

		while (!udp_tx_add(&b->udp, p, &p->endpoint.addr, msgs + (size_t)i * stride, len,
				   k > 1 ? (uint16_t)stride : 0))
			udp_tx_flush(dev, &b->udp);
	}
}

static void send_compressed_segments(struct device *dev, struct peer *p, struct keypair *kp, uint8_t *out, int n,
				     size_t stride, const size_t *lens);

void send_tun_packet(struct device *dev, const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len)
{
	static const struct virtio_net_hdr plain = { 0 };
	struct tx_batch *b = dev->txb;
	size_t lens[OFFLOAD_MAX_SEGMENTS], seglen, stride, last_len = 0;
	const uint8_t *dst;
	struct keypair *kp;
	struct peer *p;
	uint8_t *out;
	int family, n, i;

	if (!vh)
		vh = &plain;
	if (inner_destination(pkt, len, &family, &dst) < 0) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}
	p = allowedips_lookup(dev->aips, family, dst);
	if (!p) {
		device_count_drop(dev, DROP_NO_PEER);
		return;
	}
	if (!endpoint_is_set(&p->endpoint)) {
		device_count_drop(dev, DROP_NO_ENDPOINT);
		return;
	}
	seglen = segment_size(vh, pkt, len);
	if (!seglen) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}
	/* Each message: data header, the segment padded, the tag. */
	stride = MESSAGE_DATA_HEADER_LEN + padded_len(seglen, dev->mtu) + NOISE_AUTHTAG_LEN;
	if (b->used + (size_t)OFFLOAD_MAX_SEGMENTS * stride > SEND_ARENA_SIZE)
		send_flush(dev);
	out = b->arena + b->used;
	n = offload_split(vh, pkt, len, out + MESSAGE_DATA_HEADER_LEN, stride, lens, OFFLOAD_MAX_SEGMENTS);
	if (n <= 0) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}

	kp = session_for(p, n);
	if (!kp) {
		/* No session yet: the segments wait in the peer's queue. */
		for (i = 0; i < n; i++)
			peer_stage_packet(p, out + (size_t)i * stride + MESSAGE_DATA_HEADER_LEN, lens[i]);
		send_staged_packets(p);
		return;
	}
	if (p->compress) {
		send_compressed_segments(dev, p, kp, out, n, stride, lens);
		return;
	}
	for (i = 0; i < n; i++) {
		uint8_t *msg = out + (size_t)i * stride;
		size_t padded = padded_len(lens[i], dev->mtu);

		memset(msg + MESSAGE_DATA_HEADER_LEN + lens[i], 0, padded - lens[i]);
		last_len = seal_message(msg, padded, kp, false);
	}
	b->used += (size_t)n * stride;
	dev->tx_packets += (uint64_t)n;
	queue_messages(dev, p, out, n, stride, last_len);
	after_data_sent(p, true);
}

/* LZ4 output before it is copied over the plaintext it replaces (LZ4
 * cannot compress in place); one packet at a time. */
static uint8_t lz4_scratch[65536];

static void ferry_header_write(uint8_t *plain, enum ferry_kind kind, uint8_t flags, size_t len)
{
	plain[0] = (uint8_t)kind;
	plain[1] = flags;
	plain[2] = (uint8_t)len;
	plain[3] = (uint8_t)(len >> 8);
}

/* Compression = lz4: each segment that shrinks by more than the ferry
 * header goes as a compressed ferry message; the others as plain data
 * messages. The segments sit at @out + i * @stride + MESSAGE_DATA_HEADER_LEN,
 * and a compressed one is smaller than its segment, so it fits the slot.
 * Messages of different sizes cannot share a GSO send: one each. */
static void send_compressed_segments(struct device *dev, struct peer *p, struct keypair *kp, uint8_t *out, int n,
				     size_t stride, const size_t *lens)
{
	uint8_t *z = lz4_scratch;
	int i;

	for (i = 0; i < n; i++) {
		uint8_t *msg = out + (size_t)i * stride, *plain = msg + MESSAGE_DATA_HEADER_LEN;
		size_t plen = lens[i], zlen = 0, padded;

		if (plen > FERRY_HEADER_LEN + 1)
			zlen = compress_packet(plain, plen, z, plen - FERRY_HEADER_LEN - 1);
		if (zlen) {
			ferry_header_write(plain, FERRY_KIND_IP, FERRY_FLAG_LZ4, zlen);
			memcpy(plain + FERRY_HEADER_LEN, z, zlen);
			plen = FERRY_HEADER_LEN + zlen;
		}
		padded = padded_len(plen, dev->mtu);
		memset(plain + plen, 0, padded - plen);
		queue_messages(dev, p, msg, 1, stride, seal_message(msg, padded, kp, zlen > 0));
	}
	dev->txb->used += (size_t)n * stride;
	dev->tx_packets += (uint64_t)n;
	after_data_sent(p, true);
}

/* Compress the payload at @plain + FERRY_HEADER_LEN (@len bytes) in place
 * when it shrinks; write the ferry header. Returns the plaintext length. */
static size_t ferry_finish_plaintext(struct peer *p, uint8_t *plain, enum ferry_kind kind, size_t len)
{
	uint8_t *z = lz4_scratch;
	size_t zlen = p->compress && len > 1 ? compress_packet(plain + FERRY_HEADER_LEN, len, z, len - 1) : 0;

	if (zlen)
		memcpy(plain + FERRY_HEADER_LEN, z, zlen);
	ferry_header_write(plain, kind, zlen ? FERRY_FLAG_LZ4 : 0, zlen ? zlen : len);
	return FERRY_HEADER_LEN + (zlen ? zlen : len);
}

/* One frame to one peer, as ferry messages: a super-frame (TSO from a TAP
 * device with vnet_hdr) is split into frames of one segment each, every
 * one with a copy of the Ethernet header; each is laid out in the batch
 * arena, compressed if the peer wants it and it shrinks, encrypted and
 * queued (equal sizes go as one GSO send), or staged while the peer has no
 * session. */
static void send_frame_to(struct device *dev, struct peer *p, const struct virtio_net_hdr *vh, const uint8_t *frame,
			  size_t len, size_t l2)
{
	struct tx_batch *b = dev->txb;
	size_t budget = pad_budget(dev, true), lens[OFFLOAD_MAX_SEGMENTS], stride, seglen = len - l2, last_len = 0;
	const size_t room = MESSAGE_DATA_HEADER_LEN + FERRY_HEADER_LEN;
	struct virtio_net_hdr ip_vh;
	struct keypair *kp;
	bool equal = !p->compress;
	uint8_t *out;
	int n = 1, i;

	if (!endpoint_is_set(&p->endpoint)) {
		device_count_drop(dev, DROP_NO_ENDPOINT);
		return;
	}
	if (vh) {
		/* The offsets of the frame's header, made relative to its IP packet. */
		ip_vh = *vh;
		ip_vh.csum_start = (uint16_t)(vh->csum_start >= l2 ? vh->csum_start - l2 : 0);
		ip_vh.hdr_len = (uint16_t)(vh->hdr_len >= l2 ? vh->hdr_len - l2 : 0);
		seglen = segment_size(vh, frame + l2, len - l2);
		if (!seglen) {
			device_count_drop(dev, DROP_BAD_INNER);
			return;
		}
	}
	stride = MESSAGE_DATA_HEADER_LEN + padded_len(FERRY_HEADER_LEN + l2 + seglen, budget) + NOISE_AUTHTAG_LEN;
	if (b->used + (size_t)OFFLOAD_MAX_SEGMENTS * stride > SEND_ARENA_SIZE)
		send_flush(dev);
	out = b->arena + b->used;
	if (vh) {
		n = offload_split(&ip_vh, frame + l2, len - l2, out + room + l2, stride, lens, OFFLOAD_MAX_SEGMENTS);
		if (n <= 0) {
			device_count_drop(dev, DROP_BAD_INNER);
			return;
		}
		for (i = 0; i < n; i++)
			memcpy(out + (size_t)i * stride + room, frame, l2);
	} else {
		memcpy(out + room, frame, len);
		lens[0] = len - l2;
	}
	kp = session_for(p, n);
	if (!kp) {
		for (i = 0; i < n; i++) {
			uint8_t *plain = out + (size_t)i * stride + MESSAGE_DATA_HEADER_LEN;

			peer_stage_ferry(p, plain, ferry_finish_plaintext(p, plain, FERRY_KIND_ETHERNET, l2 + lens[i]));
		}
		send_staged_packets(p);
		return;
	}
	for (i = 0; i < n; i++) {
		uint8_t *msg = out + (size_t)i * stride, *plain = msg + MESSAGE_DATA_HEADER_LEN;
		size_t plen = ferry_finish_plaintext(p, plain, FERRY_KIND_ETHERNET, l2 + lens[i]);
		size_t padded = padded_len(plen, budget);

		memset(plain + plen, 0, padded - plen);
		last_len = seal_message(msg, padded, kp, true);
		if (!equal)
			queue_messages(dev, p, msg, 1, stride, last_len);
	}
	if (equal)
		queue_messages(dev, p, out, n, stride, last_len);
	b->used += (size_t)n * stride;
	dev->tx_packets += (uint64_t)n;
	after_data_sent(p, true);
}

void send_tap_frame(struct device *dev, const struct virtio_net_hdr *vh, const uint8_t *frame, size_t len)
{
	struct ether_info eth;
	struct mac_owner *owner = NULL;
	size_t l2 = 0;
	struct peer *p;

	if (ether_parse(frame, len, &eth) < 0) {
		device_count_drop(dev, DROP_BAD_FRAME);
		return;
	}
	if (vh && !vh->gso_type && !(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		vh = NULL; /* a plain frame */
	if (vh) {
		/* Offloads apply to IP inside Ethernet only. */
		if ((eth.ethertype != ETH_P_IP && eth.ethertype != ETH_P_IPV6) || eth.hdr_len >= len) {
			device_count_drop(dev, DROP_BAD_FRAME);
			return;
		}
		l2 = eth.hdr_len;
	}
	if (!ether_is_multicast(eth.dst))
		owner = mactable_lookup(dev->macs, eth.dst, clock_ms());
	if (owner) {
		send_frame_to(dev, peer_of_mac_owner(owner), vh, frame, len, l2);
		return;
	}
	/* Broadcast, multicast, unknown unicast: every peer. */
	for (p = dev->peers_head; p; p = p->list_next)
		send_frame_to(dev, p, vh, frame, len, l2);
}
