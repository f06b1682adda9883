/* send.c - the transmit path.
 *
 * Every message leaves one way, as in the WireGuard module's
 * wg_packet_send_staged_packets():
 *
 *   1. segment    a packet read from the TUN device (or a frame from the TAP
 *                 device) is split into segments (a TSO super-packet into
 *                 MTU-sized ones), each laid out in a slot of the transmit
 *                 arena with room for its message header before it and its
 *                 padding and tag after it (split_into_slots);
 *   2. key        with no usable session, or packets already waiting, the
 *                 segments are copied to the peer's staged queue and a
 *                 handshake starts: the single no-key exit (send_segments);
 *   3. seal       each segment becomes a data message (an IP packet) or a
 *                 ferry message (a frame, or an IP packet that LZ4 shrank),
 *                 its nonce taken in order, encrypted in place (seal_slot);
 *   4. queue      the messages go to the peer's endpoint in the transmit
 *                 batch: equal-sized neighbours as one UDP GSO run, TCP in
 *                 one write per connection (send_flush, at the end of each
 *                 turn of the event loop, or when the batch is full).
 *
 * Keepalives are empty IP segments and staged packets are copied back into
 * slots: both take steps 2-4 too. Handshake messages and cookie replies are
 * copied into the arena and queued like the rest.
 *
 * Buffers: the arena belongs to the device's transmit batch (struct
 * tx_batch); a slot's bytes belong to the message in it until send_flush()
 * returns, then the arena is reused from its start. The caller's packet is
 * only read. The timer events fire in the order the whitepaper gives:
 * traversal, sent, data sent, then keep the key fresh. */
#include "send.h"

#include "allowedips.h"
#include "clock.h"
#include "cookie.h"
#include "compress.h"
#include "crypto.h"
#include "fragment.h"
#include "ether.h"
#include "log.h"
#include "noise.h"
#include "offload.h"
#include "pmtu.h"
#include "tcp.h"
#include "timers.h"
#include "udp.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Largest UDP payload one GSO send may carry, and the kernel's segment cap. */
#define UDP_GSO_MAX_BYTES 65000
#define UDP_GSO_MAX_SEGS  64

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

/* --- 4. the batch ------------------------------------------------------- */

static bool is_tcp(const struct tx_msg *m)
{
	return m->to.kind == ENDPOINT_TCP;
}

void send_flush(struct device *dev)
{
	struct tx_batch *b = dev->txb;
	int start = 0, end;

	if (!b)
		return;
	/* Each transport gets its runs of the batch, in order. */
	while (start < b->n) {
		for (end = start + 1; end < b->n && is_tcp(&b->msgs[end]) == is_tcp(&b->msgs[start]); end++)
			;
		if (is_tcp(&b->msgs[start]))
			tcp_send(&dev->io, b->msgs + start, end - start);
		else
			udp_send(&dev->io, &dev->udp, &b->udp, b->msgs + start, end - start);
		start = end;
	}
	b->n = 0;
	b->used = 0;
}

/* @len bytes at @buf (a run of @seg-sized messages if @seg) for @p, or for
 * @to when there is no peer (a cookie reply). */
static void queue_message(struct device *dev, struct peer *p, const struct endpoint *to, uint8_t *buf, size_t len,
			  uint16_t seg)
{
	struct tx_batch *b = dev->txb;

	if (!endpoint_is_set(to)) {
		device_count_drop(dev, DROP_NO_ENDPOINT);
		return;
	}
	/* Its source address still right for the routes? (Rarely asks.) */
	if (p && to == &p->transport.endpoint)
		device_check_source(dev, &p->transport.endpoint);
	if (b->n == TX_BATCH_MAX)
		send_flush(dev); /* the slots in the arena stay valid: a flush never moves them */
	b->msgs[b->n++] =
	    (struct tx_msg){ .peer = p ? &p->transport : NULL, .to = *to, .buf = buf, .len = len, .seg = seg };
}

/* Room for @bytes in the arena, flushing the batch if it is full. */
static uint8_t *arena_take(struct device *dev, size_t bytes)
{
	struct tx_batch *b = dev->txb;
	uint8_t *at;

	if (b->used + bytes > SEND_ARENA_SIZE)
		send_flush(dev);
	at = b->arena + b->used;
	b->used += bytes;
	return at;
}

/* A handshake message or cookie reply, copied into the batch. */
static void queue_copy(struct device *dev, struct peer *p, const struct endpoint *to, const void *msg, size_t len)
{
	uint8_t *at = arena_take(dev, len);

	memcpy(at, msg, len);
	queue_message(dev, p, to, at, len, 0);
}

/* --- handshakes ------------------------------------------------------- */

void send_handshake_initiation(struct peer *p, bool is_retry)
{
	struct message_handshake_initiation m;
	uint64_t now = clock_ms();

	if (!is_retry)
		p->handshake_attempts = 0;
	/* At most one initiation per REKEY_TIMEOUT. */
	if (p->last_sent_handshake_ms && now - p->last_sent_handshake_ms < REKEY_TIMEOUT_S * 1000ULL)
		return;
	if (!endpoint_is_set(&p->transport.endpoint))
		return;
	p->last_sent_handshake_ms = now;
	if (!noise_handshake_create_initiation(&m, p))
		return;
	cookie_add_macs(p, &m, sizeof(m));
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	queue_copy(p->dev, p, &p->transport.endpoint, &m, sizeof(m));
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
	queue_copy(p->dev, p, &p->transport.endpoint, &m, sizeof(m));
	crypt_wipe(&m, sizeof(m));
}

void send_handshake_cookie(struct device *dev, const void *msg, size_t len, uint32_t sender_index,
			   const struct endpoint *from)
{
	struct message_handshake_cookie m;

	cookie_message_create(&dev->checker, &m, msg, len, sender_index, &from->addr.sa);
	queue_copy(dev, NULL, from, &m, sizeof(m));
}

/* --- 3. sealing --------------------------------------------------------- */

/* A slot: the message header at its start, then the plaintext: for a data
 * message the IP packet itself, for a ferry message the ferry header and
 * its payload. A segment is laid out where its message will want it. */
static size_t payload_offset(enum ferry_kind kind)
{
	return MESSAGE_DATA_HEADER_LEN + (kind == FERRY_KIND_ETHERNET ? FERRY_HEADER_LEN : 0);
}

/* The plaintext budget a message is padded up to, never past: the MTU for
 * IP packets; for frames, the largest frame and the ferry header. */
static size_t pad_budget(const struct device *dev, enum ferry_kind kind)
{
	return kind == FERRY_KIND_ETHERNET ? dev->mtu + FERRY_FRAME_OVERHEAD + FERRY_HEADER_LEN : dev->mtu;
}

/* The plaintext is padded to a multiple of 16, but never past @budget. */
static size_t padded_len(size_t len, size_t budget)
{
	size_t padded = (len + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);

	if (padded > budget)
		padded = len > budget ? len : budget;
	return padded;
}

/* The slot size for segments of up to @len payload bytes: the longest
 * message they can become. */
static size_t slot_size(const struct device *dev, enum ferry_kind kind, size_t len)
{
	size_t plain = payload_offset(kind) - MESSAGE_DATA_HEADER_LEN + len;

	return MESSAGE_DATA_HEADER_LEN + padded_len(plain, pad_budget(dev, kind)) + NOISE_AUTHTAG_LEN;
}

static void ferry_header_write(uint8_t *plain, enum ferry_kind kind, uint8_t flags, size_t len)
{
	plain[0] = (uint8_t)kind;
	plain[1] = flags;
	plain[2] = (uint8_t)len;
	plain[3] = (uint8_t)(len >> 8);
}

/* Compression = lz4: the LZ4 block of @len bytes at @src written to @dst
 * (which may overlap @src: it goes through the batch's scratch) when it is
 * at most @max bytes; its length, or 0 to send the bytes as they are. */
static size_t compress_into(struct tx_batch *b, const uint8_t *src, size_t len, uint8_t *dst, size_t max)
{
	size_t zlen = max ? compress_packet(src, len, b->lz4, max) : 0;

	if (zlen)
		memcpy(dst, b->lz4, zlen);
	return zlen;
}

static void queue_sealed(struct device *dev, struct peer *p, uint8_t *slots, size_t stride, int n, const size_t *mlen);

/* The plaintext of the segment of @len payload bytes in the slot at @slot,
 * in place: with Compression = lz4 and a gain, a ferry message's LZ4 block;
 * a ferry header for frames and compressed packets. Returns its length and
 * whether it is a ferry message. */
static size_t build_plaintext(struct peer *p, enum ferry_kind kind, uint8_t *slot, size_t len, bool *ferry)
{
	uint8_t *plain = slot + MESSAGE_DATA_HEADER_LEN;
	size_t zlen = 0;

	*ferry = kind == FERRY_KIND_ETHERNET;
	if (kind == FERRY_KIND_IP && p->compress && len > FERRY_HEADER_LEN + 1) {
		/* Worth it only if it saves more than the ferry header costs. */
		zlen = compress_into(p->dev->txb, plain, len, plain + FERRY_HEADER_LEN, len - FERRY_HEADER_LEN - 1);
		*ferry = zlen > 0;
	} else if (kind == FERRY_KIND_ETHERNET && p->compress && len > 1) {
		zlen = compress_into(p->dev->txb, plain + FERRY_HEADER_LEN, len, plain + FERRY_HEADER_LEN, len - 1);
	}
	if (!*ferry)
		return len;
	ferry_header_write(plain, kind, zlen ? FERRY_FLAG_LZ4 : 0, zlen ? zlen : len);
	return FERRY_HEADER_LEN + (zlen ? zlen : len);
}

/* Seal the plaintext of @plen bytes in the slot at @slot with @kp: fill in
 * the message header, pad (up to @budget at most), encrypt in place. A
 * ferry message authenticates its header as associated data, so neither
 * kind can be passed off as the other. Returns the message's length. */
static size_t seal_plaintext(struct keypair *kp, uint8_t *slot, size_t plen, bool ferry, size_t budget)
{
	uint8_t *plain = slot + MESSAGE_DATA_HEADER_LEN;
	size_t padded = padded_len(plen, budget);
	uint64_t counter = kp->send_counter++;

	memset(plain + plen, 0, padded - plen);
	le32_write(slot, ferry ? MESSAGE_FERRY_DATA : MESSAGE_DATA);
	le32_write(slot + 4, kp->remote_index);
	le64_write(slot + 8, counter);
	crypt_aead_encrypt(plain, plain, padded, ferry ? slot : NULL, ferry ? MESSAGE_DATA_HEADER_LEN : 0, counter,
			   kp->send_key);
	return MESSAGE_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
}

/* The most plaintext one message to @p may carry and still fit the path:
 * from the path MTU learned from ICMP or, for frames, an assumed 1500-byte
 * underlay (tunnel traffic that fills a frame must not be dropped on its
 * way); unlimited over TCP and, for IP packets, until a path MTU is known
 * (the interface MTU was sized for the path, as WireGuard's 1420 is). */
size_t send_max_plaintext(struct peer *p, enum ferry_kind kind)
{
	const struct endpoint *ep = &p->transport.endpoint;
	unsigned int mtu = p->path_mtu, hdr = ep->addr.sa.sa_family == AF_INET6 ? 40 : 20;

	if (mtu && clock_ms() > p->path_mtu_until_ms)
		mtu = p->path_mtu = 0; /* learned long ago: the path may be wider again */
	if (ep->kind == ENDPOINT_TCP || (!mtu && kind != FERRY_KIND_ETHERNET))
		return SIZE_MAX;
	if (!mtu)
		mtu = SEND_UNDERLAY_MTU;
	return mtu - hdr - 8 - MESSAGE_DATA_OVERHEAD;
}

/* A ferry plaintext (@plain, @plen bytes, in the batch's scratch) too long
 * for one message on @p's path, sent in pieces (fragment.h), each its own
 * ferry message of kind FRAGMENT. */
static void send_fragments(struct device *dev, struct peer *p, struct keypair *kp, const uint8_t *plain, size_t plen,
			   size_t max_plain)
{
	const size_t hdrs = FERRY_HEADER_LEN + FERRY_FRAGMENT_LEN;
	unsigned int count = max_plain > hdrs ? fragment_count(plen, max_plain - hdrs) : 0, i;
	uint32_t id = p->fragment_id++;

	if (!count) {
		device_count_drop(dev, DROP_TOO_BIG);
		return;
	}
	for (i = 0; i < count; i++) {
		size_t off, len, stride, mlen;
		uint8_t *slot;

		fragment_piece(plen, count, i, &off, &len);
		stride = MESSAGE_DATA_HEADER_LEN + padded_len(hdrs + len, max_plain) + NOISE_AUTHTAG_LEN;
		slot = arena_take(dev, stride);
		ferry_header_write(slot + MESSAGE_DATA_HEADER_LEN, FERRY_KIND_FRAGMENT, 0, FERRY_FRAGMENT_LEN + len);
		fragment_header_write(slot + MESSAGE_DATA_HEADER_LEN + FERRY_HEADER_LEN, id, i, count, plen);
		memcpy(slot + MESSAGE_DATA_HEADER_LEN + hdrs, plain + off, len);
		mlen = seal_plaintext(kp, slot, hdrs + len, true, max_plain);
		queue_sealed(dev, p, slot, stride, 1, &mlen);
	}
}

/* Queue the sealed messages of @n slots (@stride apart, @mlen[i] bytes
 * each) for @p: a run of full-slot messages and the one after it go as one
 * UDP GSO send (back to back, equal sizes but the last), as far as the
 * kernel allows; anything else alone. */
static void queue_sealed(struct device *dev, struct peer *p, uint8_t *slots, size_t stride, int n, const size_t *mlen)
{
	if (n <= 0)
		return;
	int max_run =
	    dev->udp.gso && p->transport.endpoint.kind == ENDPOINT_UDP ? (int)(UDP_GSO_MAX_BYTES / stride) : 1;
	int start, end;

	if (max_run > UDP_GSO_MAX_SEGS)
		max_run = UDP_GSO_MAX_SEGS;
	if (p->transport.endpoint.kind == ENDPOINT_TCP)
		max_run = OFFLOAD_MAX_SEGMENTS; /* one write either way */
	if (max_run < 1)
		max_run = 1;
	for (start = 0; start < n; start = end) {
		for (end = start + 1; end < n && end - start < max_run && mlen[end - 1] == stride; end++)
			;
		queue_message(dev, p, &p->transport.endpoint, slots + (size_t)start * stride,
			      (size_t)(end - 1 - start) * stride + mlen[end - 1],
			      end - start > 1 ? (uint16_t)stride : 0);
	}
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

/* --- 2. the key, and the one way out without one ------------------------- */

/* Seal @n segments of @kind (slots at @slots, @stride apart, payloads of
 * @lens[i] bytes) with @kp and queue them for @p, in order; a plaintext
 * too long for the path goes in fragments between them. */
static void seal_segments(struct device *dev, struct peer *p, struct keypair *kp, enum ferry_kind kind, uint8_t *slots,
			  size_t stride, int n, const size_t *lens)
{
	size_t mlen[OFFLOAD_MAX_SEGMENTS] = { 0 }; /* (all set before use; gcc cannot tell) */
	size_t max_plain = send_max_plaintext(p, kind), budget = pad_budget(dev, kind);
	int i, start = 0;

	if (budget > max_plain)
		budget = max_plain;
	for (i = 0; i < n; i++) {
		uint8_t *slot = slots + (size_t)i * stride;
		bool ferry;
		size_t plen = build_plaintext(p, kind, slot, lens[i], &ferry);

		if (plen > max_plain && ferry) {
			/* Out of line: what was sealed before goes first, then
			 * the pieces (from scratch: a flush may reuse the slot). */
			queue_sealed(dev, p, slots + (size_t)start * stride, stride, i - start, mlen + start);
			memcpy(dev->txb->lz4, slot + MESSAGE_DATA_HEADER_LEN, plen);
			send_fragments(dev, p, kp, dev->txb->lz4, plen, max_plain);
			start = i + 1;
			continue;
		}
		mlen[i] = seal_plaintext(kp, slot, plen, ferry, budget);
	}
	queue_sealed(dev, p, slots + (size_t)start * stride, stride, n - start, mlen + start);
}

/* @n segments of @kind in slots at @slots, @stride apart, payloads of
 * @lens[i] bytes, for @p. */
static void send_segments(struct device *dev, struct peer *p, enum ferry_kind kind, uint8_t *slots, size_t stride,
			  int n, const size_t *lens)
{
	struct keypair *kp = session_for(p, n);
	bool any_data = false;
	int i;

	if (!kp)
		goto out_nokey;
	seal_segments(dev, p, kp, kind, slots, stride, n, lens);
	for (i = 0; i < n; i++)
		any_data |= lens[i] > 0;
	dev->tx_packets += (uint64_t)n;
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	if (any_data)
		timers_data_sent(p);
	keep_key_fresh(p);
	return;

out_nokey:
	/* They wait for a session (copied: the slots are reused); whatever
	 * waits goes out once a handshake completes (send_staged_packets). */
	for (i = 0; i < n; i++)
		peer_stage(p, kind, slots + (size_t)i * stride + payload_offset(kind), lens[i]);
	send_staged_packets(p);
}

void send_staged_packets(struct peer *p)
{
	struct device *dev = p->dev;
	bool any = false, any_data = false;

	if (!noise_keypair_usable(p->current, clock_ms())) {
		send_handshake_initiation(p, false);
		return;
	}
	while (p->staged_count) {
		struct staged_packet *s = &p->staged[p->staged_head];
		enum ferry_kind kind = (enum ferry_kind)s->kind;
		size_t len = s->len, stride = slot_size(dev, kind, len);
		uint8_t *slot;

		if (p->current->send_counter >= REJECT_AFTER_MESSAGES) {
			send_handshake_initiation(p, false);
			break;
		}
		slot = arena_take(dev, stride);
		memcpy(slot + payload_offset(kind), s->data, len);
		peer_unstage_oldest(p);
		seal_segments(dev, p, p->current, kind, slot, stride, 1, &len);
		dev->tx_packets++;
		any = true;
		any_data |= len > 0;
	}
	if (!any)
		return;
	timers_any_authenticated_packet_traversal(p);
	timers_any_authenticated_packet_sent(p);
	if (any_data)
		timers_data_sent(p);
	keep_key_fresh(p);
}

void send_keepalive(struct peer *p)
{
	uint8_t *slot;

	/* Anything waiting doubles as the keepalive. */
	if (p->staged_count) {
		send_staged_packets(p);
		return;
	}
	slot = arena_take(p->dev, slot_size(p->dev, FERRY_KIND_IP, 0));
	send_segments(p->dev, p, FERRY_KIND_IP, slot, slot_size(p->dev, FERRY_KIND_IP, 0), 1, (const size_t[]){ 0 });
}

/* --- 1. segments ------------------------------------------------------- */

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

/* Lay out the IP packet @ip (@len bytes, read with @vh) as segments in
 * slots of the arena, each preceded by the @l2 bytes of @l2hdr (a frame's
 * Ethernet header, TAP) and then sent to @p. */
/* A local sender's packet that does not fit @p's path (an IP MTU of
 * @mtu) and may not be fragmented: it is dropped, and the sender told with
 * an ICMP "fragmentation needed" / "packet too big" written to the TUN
 * device, at most SEND_ICMP_PER_SECOND a second. */
static void answer_too_big(struct device *dev, const uint8_t *ip, size_t len, size_t mtu)
{
	uint8_t buf[VNET_HDR_LEN + 1328];
	size_t hdr = (size_t)dev->tun.vnet_hdr_sz, n;
	uint64_t second = clock_ms() / 1000;

	device_count_drop(dev, DROP_TOO_BIG);
	if (second != dev->icmp_second) {
		dev->icmp_second = second;
		dev->icmp_sent = 0;
	}
	if (dev->icmp_sent >= SEND_ICMP_PER_SECOND)
		return;
	memset(buf, 0, hdr);
	n = pmtu_too_big(buf + hdr, sizeof(buf) - hdr, ip, len, (unsigned int)mtu);
	if (n && write(dev->tun.fd[0], buf, hdr + n) > 0)
		dev->icmp_sent++;
}

/* An IPv4 packet without DF (in the arena: copied out first) too big for
 * @p's path: cut into IP fragments, as a router would. */
static void send_fragments4(struct device *dev, struct peer *p, const uint8_t *ip, size_t len, size_t mtu)
{
	size_t lens[OFFLOAD_MAX_SEGMENTS], stride = slot_size(dev, FERRY_KIND_IP, mtu);
	uint8_t *pkt = dev->txb->lz4, *slots;
	int n;

	memcpy(pkt, ip, len);
	slots = arena_take(dev, OFFLOAD_MAX_SEGMENTS * stride);
	n = pmtu_fragment4(pkt, len, (unsigned int)mtu, slots + payload_offset(FERRY_KIND_IP), stride, lens,
			   OFFLOAD_MAX_SEGMENTS);
	dev->txb->used -= (OFFLOAD_MAX_SEGMENTS - (size_t)(n > 0 ? n : 0)) * stride;
	if (n <= 0) {
		device_count_drop(dev, DROP_TOO_BIG);
		return;
	}
	send_segments(dev, p, FERRY_KIND_IP, slots, stride, n, lens);
}

/* Lay out the IP packet @ip (@len bytes, read with @vh) as segments in
 * slots of the arena, each preceded by the @l2 bytes of @l2hdr (a frame's
 * Ethernet header, TAP) and then sent to @p. Segments are cut to fit the
 * path to @p, TCP SYNs get an MSS that fits it, and a lone packet too big
 * for it is fragmented (IPv4 without DF) or answered with ICMP (TUN). */
static void send_split(struct device *dev, struct peer *p, enum ferry_kind kind, const struct virtio_net_hdr *vh_in,
		       const uint8_t *l2hdr, size_t l2, const uint8_t *ip, size_t len)
{
	size_t lens[OFFLOAD_MAX_SEGMENTS], seglen, stride, off = payload_offset(kind), max;
	size_t max_plain = send_max_plaintext(p, kind),
	       around = kind == FERRY_KIND_ETHERNET ? FERRY_HEADER_LEN + l2 : 0;
	struct virtio_net_hdr vh = *vh_in;
	uint8_t *slots;
	int n, i;

	/* A TSO/USO super-packet is cut at what one message to @p carries,
	 * not only at the sender's gso_size (a guest's MSS may be larger). */
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE && max_plain != SIZE_MAX) {
		size_t hl = segment_header_len(&vh, ip, len);

		if (hl && max_plain > around + hl && vh.gso_size > max_plain - around - hl)
			vh.gso_size = (uint16_t)(max_plain - around - hl);
	}
	seglen = segment_size(&vh, ip, len);
	if (!seglen) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}
	stride = slot_size(dev, kind, l2 + seglen);
	/* Room for as many segments as the packet can make (more than it
	 * will: each carries headers too), then give back what is unused. */
	max = vh.gso_type == VIRTIO_NET_HDR_GSO_NONE ? 1 : len / vh.gso_size + 1;
	if (max > OFFLOAD_MAX_SEGMENTS)
		max = OFFLOAD_MAX_SEGMENTS;
	slots = arena_take(dev, max * stride);
	n = offload_split(&vh, ip, len, slots + off + l2, stride, lens, (int)max);
	dev->txb->used -= (max - (size_t)(n > 0 ? n : 0)) * stride;
	if (n <= 0) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}
	if (n == 1) {
		/* A SYN is never a super-packet: its MSS, kept to what fits. */
		size_t ip_mtu = max_plain - around < dev->mtu ? max_plain - around : dev->mtu;
		uint8_t *seg = slots + off + l2;

		pmtu_clamp_mss(seg, lens[0], (uint16_t)(ip_mtu - (seg[0] >> 4 == 6 ? 60 : 40)));
		if (kind == FERRY_KIND_IP && lens[0] > max_plain) {
			dev->txb->used -= stride;
			if (pmtu_dont_fragment(seg, lens[0]))
				answer_too_big(dev, seg, lens[0], max_plain);
			else
				send_fragments4(dev, p, seg, lens[0], max_plain);
			return;
		}
	}
	for (i = 0; i < n && l2; i++) {
		memcpy(slots + (size_t)i * stride + off, l2hdr, l2);
		lens[i] += l2;
	}
	send_segments(dev, p, kind, slots, stride, n, lens);
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

void send_tun_packet(struct device *dev, const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len)
{
	static const struct virtio_net_hdr plain = { 0 };
	const uint8_t *dst;
	struct peer *p;
	int family;

	if (inner_destination(pkt, len, &family, &dst) < 0) {
		device_count_drop(dev, DROP_BAD_INNER);
		return;
	}
	p = allowedips_lookup(dev->aips, family, dst);
	if (!p) {
		device_count_drop(dev, DROP_NO_PEER);
		return;
	}
	if (!endpoint_is_set(&p->transport.endpoint)) {
		device_count_drop(dev, DROP_NO_ENDPOINT);
		return;
	}
	send_split(dev, p, FERRY_KIND_IP, vh ? vh : &plain, NULL, 0, pkt, len);
}

/* One frame to one peer: a super-frame (TSO from a TAP device with
 * vnet_hdr, @vh) is split into frames of one segment each, every one with
 * a copy of the Ethernet header (@l2 bytes); a plain frame is one segment. */
static void send_frame_to(struct device *dev, struct peer *p, const struct virtio_net_hdr *vh, const uint8_t *frame,
			  size_t len, size_t l2)
{
	struct virtio_net_hdr ip_vh = { 0 };

	if (!endpoint_is_set(&p->transport.endpoint)) {
		device_count_drop(dev, DROP_NO_ENDPOINT);
		return;
	}
	if (vh) {
		/* The offsets of the frame's header, made relative to its IP packet. */
		ip_vh = *vh;
		ip_vh.csum_start = (uint16_t)(vh->csum_start >= l2 ? vh->csum_start - l2 : 0);
		ip_vh.hdr_len = (uint16_t)(vh->hdr_len >= l2 ? vh->hdr_len - l2 : 0);
	}
	send_split(dev, p, FERRY_KIND_ETHERNET, &ip_vh, frame, l2, frame + l2, len - l2);
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
