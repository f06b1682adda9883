/* receive.c - the receive path.
 *
 * Every datagram is hostile until proven otherwise: its length is checked
 * against its type before any field is read; handshake messages must carry
 * a valid MAC1 before any public-key work, and under load a valid MAC2 too;
 * data messages are looked up by index, authenticated, and only then
 * checked against the replay window (a forged counter must not move it).
 * Every drop is counted by reason. */
#include "receive.h"

#include "allowedips.h"
#include "clock.h"
#include "cookie.h"
#include "compress.h"
#include "crypto.h"
#include "ether.h"
#include "log.h"
#include "noise.h"
#include "pmtu.h"
#include "ratelimiter.h"
#include "send.h"
#include "tcp.h"
#include "timers.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Roaming: the peer is wherever its latest authenticated message came
 * from; over TCP, that is the connection it came on, if still open. */
static void set_endpoint(struct peer *p, const struct endpoint *from)
{
	struct endpoint *e = &p->transport.endpoint;
	uint32_t checked = e->src_route_gen;
	bool off_route = e->src_off_route;

	if (from->kind == ENDPOINT_TCP && !tcp_authenticated(&p->dev->io, from, &p->transport))
		return;
	/* The same source as before keeps its route check (device.c), so that
	 * the routes are asked once per change, not once per message. */
	if (e->kind != ENDPOINT_UDP || from->kind != ENDPOINT_UDP || from->src_family != e->src_family ||
	    from->src_ifindex != e->src_ifindex || memcmp(&from->src, &e->src, sizeof(e->src)))
		checked = 0, off_route = false;
	*e = *from;
	e->src_route_gen = checked;
	e->src_off_route = off_route;
}

/* Under load, handshakes need a cookie (MAC2) and pass the per-source rate
 * limit. The device is under load while its handshake queue holds an
 * eighth of its room or more, and for a second after (as wireguard-go and
 * the kernel judge it): only messages with a valid MAC1 get into the queue,
 * so spoofed junk cannot put it there. */
static bool under_load(struct device *dev, uint64_t now_ms)
{
	struct rx_batch *b = dev->rxb;

	if (b->hs_count >= HANDSHAKE_QUEUE_LOAD)
		b->under_load_until_ms = now_ms + 1000;
	return dev->force_under_load || now_ms < b->under_load_until_ms;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* The cheap checks of a handshake message (its length is right): MAC1;
 * under load a cookie and the rate limit. What passes waits in the queue
 * for receive_handshakes() and its public-key work. */
static void queue_handshake(struct device *dev, const uint8_t *msg, size_t len, uint32_t sender_index,
			    const struct endpoint *src)
{
	struct rx_batch *b = dev->rxb;
	bool load = under_load(dev, clock_ms());
	struct handshake_job *job;

	if (cookie_validate(&dev->checker, msg, len, &src->addr.sa, false) == COOKIE_INVALID_MAC1) {
		device_count_drop(dev, DROP_BAD_MAC1);
		return;
	}
	/* Under load every handshake, with a cookie or asking for one,
	 * counts against its source's rate, before any more work: a flood
	 * from a few addresses gets a few cookie replies, not one per message
	 * (each costs two MACs, a seal and a send), and a real peer needs
	 * only two (one for the cookie, one to come back with it). */
	if (load && !ratelimiter_allow(dev->ratelimiter, &src->addr.sa, now_ns())) {
		device_count_drop(dev, DROP_RATELIMITED);
		return;
	}
	if (load && cookie_validate(&dev->checker, msg, len, &src->addr.sa, true) != COOKIE_VALID_MAC1_AND_COOKIE) {
		send_handshake_cookie(dev, msg, len, sender_index, src);
		device_count_drop(dev, DROP_COOKIE_SENT);
		return;
	}
	if (b->hs_count == HANDSHAKE_QUEUE_LEN) {
		device_count_drop(dev, DROP_HANDSHAKE_QUEUE_FULL);
		return;
	}
	job = &b->hs[(b->hs_head + b->hs_count++) % HANDSHAKE_QUEUE_LEN];
	memcpy(job->msg, msg, len);
	job->len = len;
	job->from = *src;
}

static enum drop_reason noise_drop(enum noise_reject why)
{
	switch (why) {
	case NOISE_REJECT_STALE:
		return DROP_STALE_TIMESTAMP;
	case NOISE_REJECT_UNKNOWN_INDEX:
		return DROP_UNKNOWN_INDEX;
	default:
		return DROP_HANDSHAKE_INVALID;
	}
}

static void receive_initiation(struct device *dev, const uint8_t *buf, const struct endpoint *src)
{
	const struct message_handshake_initiation *m = (const void *)buf;
	enum noise_reject why;
	struct peer *p;

	p = noise_handshake_consume_initiation(m, &dev->local, &why);
	if (!p) {
		device_count_drop(dev, noise_drop(why));
		return;
	}
	set_endpoint(p, src);
	p->rx_bytes += sizeof(*m);
	timers_any_authenticated_packet_received(p);
	timers_any_authenticated_packet_traversal(p);
	send_handshake_response(p);
}

static void receive_response(struct device *dev, const uint8_t *buf, const struct endpoint *src)
{
	const struct message_handshake_response *m = (const void *)buf;
	enum noise_reject why;
	struct peer *p;

	p = noise_handshake_consume_response(m, &dev->local, &why);
	if (!p) {
		device_count_drop(dev, noise_drop(why));
		return;
	}
	set_endpoint(p, src);
	p->rx_bytes += sizeof(*m);
	if (noise_handshake_begin_session(p)) {
		timers_session_derived(p);
		timers_handshake_complete(p);
		/* Confirm the session at once: staged packets, or a keepalive. */
		send_keepalive(p);
	}
	timers_any_authenticated_packet_received(p);
	timers_any_authenticated_packet_traversal(p);
}

/* Close to the end of its life, the initiator renews the session before
 * the peer stops accepting it. */
static void keep_key_fresh(struct peer *p)
{
	struct keypair *kp = p->current;

	if (p->sent_lastminute_handshake || !kp || !kp->i_am_initiator)
		return;
	if (clock_ms() - kp->birth_ms >
	    (uint64_t)(REJECT_AFTER_TIME_S - KEEPALIVE_TIMEOUT_S - REKEY_TIMEOUT_S) * 1000) {
		p->sent_lastminute_handshake = true;
		send_handshake_initiation(p, false);
	}
}

/* Length of the IP packet at @pkt (from its own header), or 0 if it is not
 * a well-formed IPv4/IPv6 packet within @len bytes. Sets the source. */
static size_t inner_packet(const uint8_t *pkt, size_t len, int *family, const uint8_t **src)
{
	size_t total;

	if (len >= 20 && (pkt[0] >> 4) == 4) {
		total = (size_t)pkt[2] << 8 | pkt[3];
		if (total < 20 || total > len || (size_t)(pkt[0] & 0xf) * 4 < 20)
			return 0;
		*family = AF_INET;
		*src = pkt + 12;
		return total;
	}
	if (len >= 40 && (pkt[0] >> 4) == 6) {
		total = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (total > len)
			return 0;
		*family = AF_INET6;
		*src = pkt + 8;
		return total;
	}
	return 0;
}

/* @l2: the Ethernet header's length before an IP header (TAP), or
 * UINT16_MAX for a frame that is not IP (never coalesced). The batch has
 * room: receive_data made it before anything was written for this packet. */
static void queue_for_tun(struct device *dev, uint8_t *pkt, size_t len, uint16_t l2)
{
	struct rx_batch *b = dev->rxb;

	b->pkts[b->n].data = pkt;
	b->pkts[b->n].len = len;
	b->pkts[b->n].l2_len = l2;
	b->n++;
	dev->rx_packets++;
}

/* A TCP SYN from @p (@around bytes of frame and ferry header around it in
 * a message): its MSS kept to what fits one message on the way back to @p,
 * so that the local end never sends @p segments the path would drop. */
static void clamp_syn(struct device *dev, struct peer *p, enum ferry_kind kind, size_t around, uint8_t *ip, size_t len)
{
	size_t max_plain, ip_mtu;

	if (!pmtu_is_tcp_syn(ip, len))
		return;
	max_plain = send_max_plaintext(p, kind);
	ip_mtu = max_plain - around < dev->mtu ? max_plain - around : dev->mtu;
	if (ip_mtu > 60)
		pmtu_clamp_mss(ip, len, (uint16_t)(ip_mtu - (ip[0] >> 4 == 6 ? 60 : 40)));
}

/* An IP packet from @p: well-formed, and from one of @p's addresses. */
static void receive_ip(struct device *dev, struct peer *p, uint8_t *pkt, size_t len)
{
	const uint8_t *inner_src;
	size_t ilen;
	int family;

	if (dev->tap) {
		device_count_drop(dev, DROP_BAD_FERRY);
		return;
	}
	ilen = inner_packet(pkt, len, &family, &inner_src);
	if (!ilen) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}
	/* Cryptokey routing: the inner source must be one of this peer's. */
	if (allowedips_lookup(dev->aips, family, inner_src) != p) {
		device_count_drop(dev, DROP_DISALLOWED_SRC);
		return;
	}
	clamp_syn(dev, p, FERRY_KIND_IP, 0, pkt, ilen);
	queue_for_tun(dev, pkt, ilen, 0);
}

/* 01:80:c2:00:00:00 to 0f: STP, pause, LACP, LLDP, EAPOL... meant for the
 * link they were sent on, not for a bridge on the far side of a tunnel. */
static bool is_link_local(const uint8_t dst[ETH_ALEN])
{
	static const uint8_t prefix[5] = { 0x01, 0x80, 0xc2, 0x00, 0x00 };

	return !memcmp(dst, prefix, sizeof(prefix)) && !(dst[5] & 0xf0);
}

/* TAP mode: a frame from @p. Its source is learned behind @p (unless it is
 * not a station's address, or pinned to another peer: then it is dropped),
 * and it goes to the TAP device, whose bridge forwards it on. A peer at its
 * MAC cap still gets its frames through; only learning stops. With
 * StrictMACs a peer may only send from its static MACs. */
static void receive_frame(struct device *dev, struct peer *p, uint8_t *frame, size_t len)
{
	struct ether_info eth;
	enum mac_learn_result learned;

	if (!dev->tap) {
		device_count_drop(dev, DROP_BAD_FERRY);
		return;
	}
	if (ether_parse(frame, len, &eth) < 0) {
		device_count_drop(dev, DROP_BAD_FRAME);
		return;
	}
	if (len - eth.hdr_len > dev->mtu) {
		device_count_drop(dev, DROP_TOO_BIG);
		return;
	}
	if (is_link_local(eth.dst) && !dev->forward_link_local) {
		device_count_drop(dev, DROP_LINK_LOCAL);
		return;
	}
	learned = mactable_learn(dev->macs, eth.src, &p->mac_owner, clock_ms());
	if (learned == MAC_LEARN_INVALID || learned == MAC_LEARN_STATIC_CONFLICT ||
	    (dev->strict_macs && learned != MAC_LEARN_REFRESHED)) {
		device_count_drop(dev, DROP_BAD_SOURCE_MAC);
		return;
	}
	if (eth.ethertype == ETH_P_IP || eth.ethertype == ETH_P_IPV6) {
		clamp_syn(dev, p, FERRY_KIND_ETHERNET, FERRY_HEADER_LEN + eth.hdr_len, frame + eth.hdr_len,
			  len - eth.hdr_len);
		queue_for_tun(dev, frame, len, (uint16_t)eth.hdr_len);
	} else {
		queue_for_tun(dev, frame, len, UINT16_MAX);
	}
}

static void receive_ferry(struct device *dev, struct peer *p, uint8_t *plain, size_t plen, bool whole);

/* A piece of a fragmented ferry message: kept until the whole is in, then
 * the whole, copied into zbuf (the piece buffers are the peer's), is taken
 * as the plaintext it was. */
static void receive_fragment(struct device *dev, struct peer *p, const uint8_t *frag, size_t len)
{
	struct rx_batch *b = dev->rxb;
	const uint8_t *whole;
	size_t wlen, need;
	unsigned int lost = 0;
	uint8_t *copy;

	switch (fragment_add(&p->fragments, frag, len, clock_ms(), &whole, &wlen, &lost)) {
	case FRAGMENT_DONE:
		break;
	case FRAGMENT_BAD:
		device_count_drop(dev, DROP_BAD_FRAGMENT);
		goto out;
	case FRAGMENT_NOMEM:
		device_count_drop(dev, DROP_NO_MEMORY);
		goto out;
	default:
		goto out;
	}
	/* Room for the whole and, if it is compressed, what it unpacks to:
	 * flushing now is safe, nothing of it is queued yet. */
	need = VNET_HDR_LEN + wlen + VNET_HDR_LEN + dev->mtu + OFFLOAD_MAX_L2;
	if (need > RX_ZBUF_SIZE) {
		device_count_drop(dev, DROP_TOO_BIG);
		goto out;
	}
	if (b->zused + need > RX_ZBUF_SIZE)
		receive_flush(dev);
	copy = b->zbuf + b->zused + VNET_HDR_LEN;
	memcpy(copy, whole, wlen);
	b->zused += VNET_HDR_LEN + wlen;
	receive_ferry(dev, p, copy, wlen, true);
out:
	while (lost--)
		device_count_drop(dev, DROP_FRAGMENT_LOST);
}

/* The plaintext of a ferry message: header, payload (maybe compressed);
 * @whole: it was put together from fragments (which cannot nest). */
static void receive_ferry(struct device *dev, struct peer *p, uint8_t *plain, size_t plen, bool whole)
{
	struct rx_batch *b = dev->rxb;
	uint8_t kind, flags, *payload = plain + FERRY_HEADER_LEN;
	size_t len, max_out;
	ssize_t out;

	if (plen < FERRY_HEADER_LEN) {
		device_count_drop(dev, DROP_BAD_FERRY);
		return;
	}
	kind = plain[0];
	flags = plain[1];
	len = (size_t)plain[2] | (size_t)plain[3] << 8;
	if (len > plen - FERRY_HEADER_LEN || (flags & ~FERRY_FLAG_LZ4) ||
	    (kind != FERRY_KIND_IP && kind != FERRY_KIND_ETHERNET && (kind != FERRY_KIND_FRAGMENT || whole || flags))) {
		device_count_drop(dev, DROP_BAD_FERRY);
		return;
	}
	if (kind == FERRY_KIND_FRAGMENT) {
		receive_fragment(dev, p, payload, len);
		return;
	}
	if (flags & FERRY_FLAG_LZ4) {
		if (!p->compress) {
			device_count_drop(dev, DROP_COMPRESSED_OFF);
			return;
		}
		/* Bounded: no more than the largest packet or frame the MTU
		 * allows (a frame may carry two VLAN tags). */
		max_out = dev->mtu + (kind == FERRY_KIND_ETHERNET ? OFFLOAD_MAX_L2 : 0);
		if (max_out > RX_ZBUF_SIZE - VNET_HDR_LEN)
			max_out = RX_ZBUF_SIZE - VNET_HDR_LEN;
		/* Flushing here is safe: nothing of this packet is queued yet. */
		if (b->zused + VNET_HDR_LEN + max_out > RX_ZBUF_SIZE)
			receive_flush(dev);
		/* Room before it for the virtio_net_hdr of its write. */
		out = decompress_packet(payload, len, b->zbuf + b->zused + VNET_HDR_LEN, max_out);
		if (out <= 0) {
			device_count_drop(dev, DROP_DECOMPRESS);
			return;
		}
		payload = b->zbuf + b->zused + VNET_HDR_LEN;
		b->zused += VNET_HDR_LEN + (size_t)out;
		len = (size_t)out;
	}
	if (kind == FERRY_KIND_IP)
		receive_ip(dev, p, payload, len);
	else
		receive_frame(dev, p, payload, len);
}

static void receive_data(struct device *dev, uint8_t *buf, size_t len, const struct endpoint *src, bool ferry)
{
	struct message_data *m = (struct message_data *)buf;
	size_t clen = len - MESSAGE_DATA_HEADER_LEN, plen = clen - NOISE_AUTHTAG_LEN;
	uint64_t counter = le64_read(&m->counter), now = clock_ms();
	struct index_entry *e;
	struct keypair *kp;
	struct peer *p;

	e = index_lookup(&dev->local, le32_read(&m->key_idx), INDEX_KEYPAIR);
	if (!e) {
		device_count_drop(dev, DROP_UNKNOWN_INDEX);
		return;
	}
	kp = (struct keypair *)e;
	p = e->peer;
	if (now - kp->birth_ms >= (uint64_t)REJECT_AFTER_TIME_S * 1000 || kp->replay.counter >= REJECT_AFTER_MESSAGES) {
		device_count_drop(dev, DROP_KEY_EXPIRED);
		return;
	}
	if (!crypt_aead_decrypt(m->encrypted_data, m->encrypted_data, clen, ferry ? buf : NULL,
				ferry ? MESSAGE_DATA_HEADER_LEN : 0, counter, kp->recv_key)) {
		device_count_drop(dev, DROP_DECRYPT);
		return;
	}
	if (!replay_check(&kp->replay, counter)) {
		device_count_drop(dev, DROP_REPLAY);
		return;
	}
	set_endpoint(p, src);
	keep_key_fresh(p);
	p->rx_bytes += len;
	if (noise_received_with_keypair(p, kp)) {
		timers_handshake_complete(p);
		send_staged_packets(p);
	}
	timers_any_authenticated_packet_received(p);
	timers_any_authenticated_packet_traversal(p);
	if (plen == 0)
		return; /* a keepalive */
	timers_data_received(p);
	/* Room in the batch now, before the packet is decompressed into it:
	 * a flush after that would free its bytes while it is queued. */
	if (dev->rxb->n == RX_BATCH_MAX)
		receive_flush(dev);
	if (ferry)
		receive_ferry(dev, p, m->encrypted_data, plen, false);
	else
		receive_ip(dev, p, m->encrypted_data, plen);
}

int receive_batch_init(struct device *dev)
{
	int i;

	dev->rxb = calloc(1, sizeof(*dev->rxb));
	if (!dev->rxb || udp_rx_init(&dev->rxb->udp) < 0)
		return -ENOMEM;
	dev->rxb->zbuf = malloc(RX_ZBUF_SIZE);
	dev->rxb->hs = calloc(HANDSHAKE_QUEUE_LEN, sizeof(*dev->rxb->hs));
	dev->rxb->split = malloc(RX_SPLIT_SIZE + VNET_HDR_LEN);
	if (!dev->rxb->zbuf || !dev->rxb->hs || !dev->rxb->split)
		return -ENOMEM;
	for (i = 0; i < RX_MERGE_BUFS; i++) {
		dev->rxb->merge[i] = malloc(OFFLOAD_MERGE_BUF_LEN);
		if (!dev->rxb->merge[i])
			return -ENOMEM;
	}
	return 0;
}

void receive_handshakes(struct device *dev, unsigned int budget)
{
	struct rx_batch *b = dev->rxb;

	while (budget-- && b->hs_count) {
		/* The slot is not reused before the next message is queued. */
		struct handshake_job *job = &b->hs[b->hs_head];

		b->hs_head = (b->hs_head + 1) % HANDSHAKE_QUEUE_LEN;
		b->hs_count--;
		if (le32_read(job->msg) == MESSAGE_HANDSHAKE_INITIATION)
			receive_initiation(dev, job->msg, &job->from);
		else
			receive_response(dev, job->msg, &job->from);
	}
}

bool receive_handshakes_waiting(const struct device *dev)
{
	return dev->rxb && dev->rxb->hs_count;
}

void receive_batch_free(struct device *dev)
{
	int i;

	if (!dev->rxb)
		return;
	udp_rx_free(&dev->rxb->udp);
	free(dev->rxb->zbuf);
	free(dev->rxb->hs);
	free(dev->rxb->split);
	for (i = 0; i < RX_MERGE_BUFS; i++)
		free(dev->rxb->merge[i]);
	free(dev->rxb);
	dev->rxb = NULL;
}

/* A merged write the device refused: write its segments one by one. */
static void write_split(struct device *dev, const struct offload_write *w)
{
	const struct virtio_net_hdr *h = (const struct virtio_net_hdr *)w->buf;
	/* Each slot: a zero virtio_net_hdr, then a segment (headers and
	 * gso_size bytes at most: the MTU the segments came with, jumbo too). */
	size_t lens[OFFLOAD_MAX_SEGMENTS], stride = VNET_HDR_LEN + (size_t)h->hdr_len + h->gso_size;
	uint8_t *segs = dev->rxb->split;
	int n, i;

	n = offload_split(
	    h, w->buf + VNET_HDR_LEN, w->len - VNET_HDR_LEN, segs + VNET_HDR_LEN, stride, lens,
	    (int)(RX_SPLIT_SIZE / stride < OFFLOAD_MAX_SEGMENTS ? RX_SPLIT_SIZE / stride : OFFLOAD_MAX_SEGMENTS));
	if (n < 0)
		device_count_drop(dev, DROP_TUN_WRITE);
	for (i = 0; i < n; i++) {
		memset(segs + (size_t)i * stride, 0, VNET_HDR_LEN);
		if (write(dev->tun.fd[0], segs + (size_t)i * stride, VNET_HDR_LEN + lens[i]) < 0)
			device_count_drop(dev, DROP_TUN_WRITE);
	}
}

void receive_flush(struct device *dev)
{
	struct rx_batch *b = dev->rxb;
	int i, n;

	if (!b)
		return;
	if (!b->n) {
		b->zused = 0;
		return;
	}
	if (!dev->tun.vnet_hdr_sz) {
		for (i = 0; i < b->n; i++)
			if (write(dev->tun.fd[0], b->pkts[i].data, b->pkts[i].len) < 0)
				device_count_drop(dev, DROP_TUN_WRITE);
		b->n = 0;
		b->zused = 0;
		return;
	}
	n = offload_coalesce(b->pkts, b->n, b->merge, dev->tun_gro ? RX_MERGE_BUFS : 0, b->writes);
	for (i = 0; i < n; i++) {
		if (write(dev->tun.fd[0], b->writes[i].buf, b->writes[i].len) >= 0)
			continue;
		if (errno == EINVAL && ((const struct virtio_net_hdr *)b->writes[i].buf)->gso_type && dev->tap) {
			/* A TAP device that takes vnet_hdr but not merged frames:
			 * this one is lost (TCP resends it), none merged again. */
			log_warn("%s: the TAP device refused a coalesced frame; writing frames one by one from now on",
				 dev->name);
			dev->tun_gro = false;
			device_count_drop(dev, DROP_TUN_WRITE);
			continue;
		}
		if (errno == EINVAL && ((const struct virtio_net_hdr *)b->writes[i].buf)->gso_type) {
			/* Some kernels take vnet_hdr but refuse coalesced writes:
			 * stop coalescing for this device, once (FIELD.md). */
			log_warn("%s: the TUN device refused a coalesced packet; writing segments from now on",
				 dev->name);
			dev->tun_gro = false;
			write_split(dev, &b->writes[i]);
			continue;
		}
		device_count_drop(dev, DROP_TUN_WRITE);
	}
	b->n = 0;
	b->zused = 0;
}

/* The end of a batch from a transport: write what it brought, send what it
 * answered, before the transport reuses its buffers. */
static void receive_batch_done(struct device *dev)
{
	receive_flush(dev);
	send_flush(dev);
}

/* A message to @to was too big for the path (an ICMP error the kernel
 * queued): the peers there get a path MTU, for ten minutes (as the
 * kernel's route exceptions), never below what IP guarantees. At most
 * RECEIVE_PMTU_PER_SECOND updates a second: a forged ICMP flood costs a
 * walk over the peers only so often. */
static void receive_path_mtu(struct device *dev, const union conf_endpoint *to, unsigned int mtu)
{
	uint64_t now = clock_ms();
	unsigned int floor = to->sa.sa_family == AF_INET6 ? PMTU_MIN_V6 : PMTU_MIN_V4;
	struct peer *p;

	if (now / 1000 != dev->pmtu_second) {
		dev->pmtu_second = now / 1000;
		dev->pmtu_updates = 0;
	}
	if (dev->pmtu_updates++ >= RECEIVE_PMTU_PER_SECOND)
		return;
	if (mtu < floor)
		mtu = floor;
	if (mtu > 0xffff)
		mtu = 0xffff;
	for (p = dev->peers_head; p; p = p->list_next) {
		const struct endpoint *ep = &p->transport.endpoint;

		/* A local error (the interface itself too small) names no port. */
		if (ep->kind != ENDPOINT_UDP || ep->addr.sa.sa_family != to->sa.sa_family ||
		    (to->sa.sa_family == AF_INET
			 ? ep->addr.in4.sin_addr.s_addr != to->in4.sin_addr.s_addr ||
			       (to->in4.sin_port && ep->addr.in4.sin_port != to->in4.sin_port)
			 : memcmp(&ep->addr.in6.sin6_addr, &to->in6.sin6_addr, 16) ||
			       (to->in6.sin6_port && ep->addr.in6.sin6_port != to->in6.sin6_port)))
			continue;
		if (p->path_mtu != mtu)
			log_debug("%s: path MTU to a peer: %u", dev->name, mtu);
		p->path_mtu = (uint16_t)mtu;
		p->path_mtu_until_ms = now + RECEIVE_PMTU_HOLD_MS;
	}
}

const struct transport_receiver receive_transport = {
	.message = receive_packet,
	.batch_done = receive_batch_done,
	.path_mtu = receive_path_mtu,
};

void receive_packet(struct device *dev, uint8_t *buf, size_t len, const struct endpoint *src)
{
	uint32_t type;

	if (len < sizeof(struct message_header)) {
		device_count_drop(dev, DROP_SHORT);
		return;
	}
	type = le32_read(buf);
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		if (len != sizeof(struct message_handshake_initiation))
			break;
		queue_handshake(dev, buf, len, le32_read(buf + 4), src);
		return;
	case MESSAGE_HANDSHAKE_RESPONSE:
		if (len != sizeof(struct message_handshake_response))
			break;
		queue_handshake(dev, buf, len, le32_read(buf + 4), src);
		return;
	case MESSAGE_HANDSHAKE_COOKIE:
		if (len != sizeof(struct message_handshake_cookie))
			break;
		if (!cookie_message_consume(&dev->local, (const void *)buf))
			device_count_drop(dev, DROP_HANDSHAKE_INVALID);
		return;
	case MESSAGE_DATA:
		if (len < MESSAGE_DATA_MIN_LEN)
			break;
		receive_data(dev, buf, len, src, false);
		return;
	case MESSAGE_FERRY_DATA:
		if (len < MESSAGE_DATA_MIN_LEN)
			break;
		receive_data(dev, buf, len, src, true);
		return;
	default:
		device_count_drop(dev, DROP_UNKNOWN_TYPE);
		return;
	}
	device_count_drop(dev, DROP_SHORT);
}
