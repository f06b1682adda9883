/* fuzz_receive_ferry - the receive path past authentication: data messages
 * and ferry messages (plain or LZ4, IP packets or Ethernet frames) that a
 * peer with a live session really encrypted, in batches of any length, all
 * the way to what is written to the TUN/TAP device.
 *
 * Two receiving devices exist, each with a live session with its sender:
 * one in TUN mode and one in TAP mode (a MAC table, as device_open_tap
 * makes it). Each has a second peer "c" (other allowed IPs, a static MAC)
 * whose addresses the sender must not be able to use. The peer sending has
 * Compression = lz4. The device's "TUN" descriptor is one end of a
 * SOCK_SEQPACKET socket pair with vnet_hdr and coalescing on, so every
 * write (a packet in place or a coalesced super-packet) can be read back.
 *
 * Input: a configuration byte, then messages.
 *   config   bit 0: TAP device (else TUN); bits 1-2: MTU (default, 1280,
 *            9000, 65535)
 *   message  op [count:2] [flags:1 length:2] body
 *     op bits 0-1  0 a data message (type 4) with the body as its plaintext
 *                  1 a ferry message (type 0x46), body uncompressed
 *                  2 a ferry message, body compressed with compress_packet()
 *                    (uncompressed if it does not shrink)
 *                  3 a ferry message with the LZ4 flag and the raw body as
 *                    the "compressed" block
 *        bit 2     the other kind (IP <-> Ethernet) in the ferry header
 *        bit 3     the ferry header's flags and length from the input
 *        bits 4-5  body: 0 raw bytes (length:2, then the bytes; in TAP mode
 *                  the whole frame), 1 or 3 a TCP segment, 2 a UDP packet
 *        bit 6     count follows: the message is sent 1 + count % 2048
 *                  times (a TCP segment with its sequence number advancing),
 *                  so one batch can hold more than RX_BATCH_MAX messages
 *        bit 7     end of the batch after it: receive_flush()
 *   generated body  p0 [bit 0 IPv6; bits 1-2 source: the sender's, another
 *                  of the sender's, peer c's, nobody's; bits 3-4 TCP flags
 *                  ACK, ACK|PSH, SYN, FIN|ACK; bit 5 TCP timestamps; bit 6
 *                  a wrong checksum; bit 7 IPv4 without DF], payload
 *                  length:2, p3 [bits 0-2 flow; the payload's fill byte],
 *                  and in TAP mode e0 [bits 0-1 VLAN tags 0, 1, 2, 2 with
 *                  TPID 0x9100; bits 2-3 source MAC; bits 4-5 destination
 *                  MAC; bit 6 802.1ad outer tag; bit 7 a wrong EtherType]
 * The batch ends with the input: receive_flush().
 *
 * Oracle, on every write the device makes (after its virtio_net_hdr):
 *   - TUN: an IPv4/IPv6 packet whose source is one of the sending peer's
 *     allowed IPs (cryptokey routing);
 *   - a plain write is, byte for byte, a packet or frame that was sent
 *     (as the spec says the receiver extracts it: its IP length, the ferry
 *     payload, the LZ4 block decompressed), and no packet is written more
 *     often than it was sent;
 *   - a coalesced write (GSO) splits again (offload_split) into segments
 *     each of which was sent (IPv4 ID and checksums aside), behind the same
 *     Ethernet header in TAP mode.
 * A broken rule abort()s, so libFuzzer reports it; memory errors are
 * ASan's. Crashing inputs found on an older receive path are kept in
 * tests/fuzz/regress/fuzz_receive_ferry/ (README.md there). FUZZ_VERBOSE=1
 * prints what each input did (messages, writes, drops by reason). */
#include "allowedips.h"
#include "apply.h"
#include "clock.h"
#include "compress.h"
#include "checksum.h"
#include "crypto.h"
#include "device.h"
#include "ether.h"
#include "mactable.h"
#include "noise.h"
#include "offload.h"
#include "receive.h"
#include "send.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sanitizer/common_interface_defs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The largest plaintext a UDP datagram over IPv4 can carry. */
#define PLAIN_MAX     (65535 - 20 - 8 - MESSAGE_DATA_OVERHEAD)
#define MAX_MESSAGES  4096
#define MAX_BYTES     (2u << 20) /* plaintext per input: fuzzing stays fast */
#define WRITE_MAX     (VNET_HDR_LEN + OFFLOAD_MAX_L2 + 65535)
#define MAX_SEGS      (RX_BATCH_MAX + 8)
#define N_FLOWS	      8
#define SESSION_MS    60000 /* well within REJECT_AFTER_TIME */
#define RECORD_BITS   16
#define RECORD_EXACT  0x45584143544c59ULL
#define RECORD_NORMAL 0x4e4f524d414cULL

struct pair {
	const char *name;
	bool tap;
	struct device a, b; /* a receives from b */
	struct peer *pa, *pb, *pc;
	int out; /* our end of a's "TUN" socket pair */
	unsigned int default_mtu;
};

static struct pair tun_pair = { .name = "tun" }, tap_pair = { .name = "tap", .tap = true };
static struct endpoint src;

static const uint8_t mac_b1[ETH_ALEN] = { 0x02, 0, 0, 0, 0x0b, 0x01 };
static const uint8_t mac_b2[ETH_ALEN] = { 0x02, 0, 0, 0, 0x0b, 0x02 };
static const uint8_t mac_c[ETH_ALEN] = { 0x02, 0, 0, 0, 0x0c, 0x01 }; /* static on peer c */
static const uint8_t mac_a[ETH_ALEN] = { 0x02, 0, 0, 0, 0x0a, 0x01 };
static const uint8_t mac_group[ETH_ALEN] = { 0x01, 0, 0x5e, 0, 0, 0x01 };
static const uint8_t mac_bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* --- what was sent: hashes of every packet or frame the device may write */

/* A multiset: how many times each packet was sent, less the times it was
 * written (the receive path never duplicates a packet). */
static struct record {
	uint64_t hash;
	uint32_t count;
	uint32_t gen;
} records[1u << RECORD_BITS];
static uint32_t gen;

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_bytes(const uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t h = mix(seed ^ (len * 0x9e3779b97f4a7c15ULL)), w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		h = mix(h ^ w) + i;
	}
	w = 0;
	memcpy(&w, p + i, len - i);
	return mix(h ^ w ^ len);
}

static struct record *record_find(uint64_t h)
{
	uint32_t mask = (1u << RECORD_BITS) - 1, i = (uint32_t)h & mask;

	while (records[i].gen == gen && records[i].hash != h)
		i = (i + 1) & mask;
	return &records[i];
}

static void record_add(uint64_t h)
{
	struct record *r = record_find(h);

	if (r->gen != gen) {
		r->gen = gen;
		r->hash = h;
		r->count = 0;
	}
	r->count++;
}

enum take { TAKEN, NEVER_SENT, ALL_TAKEN };

/* One write of the packet with hash @h: it must have been sent once more
 * than it was written before. */
static enum take record_take(uint64_t h)
{
	struct record *r = record_find(h);

	if (r->gen != gen)
		return NEVER_SENT;
	if (!r->count)
		return ALL_TAKEN;
	r->count--;
	return TAKEN;
}

/* The length of the IP packet at @p from its own header, as the receiver
 * takes it (0: not one). */
static size_t ip_total(const uint8_t *p, size_t len)
{
	size_t t;

	if (len >= 20 && p[0] >> 4 == 4) {
		t = (size_t)p[2] << 8 | p[3];
		return t >= 20 && t <= len ? t : 0;
	}
	if (len >= 40 && p[0] >> 4 == 6) {
		t = 40 + ((size_t)p[4] << 8 | p[5]);
		return t <= len ? t : 0;
	}
	return 0;
}

/* The hash of a TCP packet (after @l2 bytes of Ethernet header) with what
 * coalescing and splitting again may change zeroed: the IPv4 ID and header
 * checksum, the TCP checksum. 0 if it is not TCP over IP. */
static uint64_t normal_hash(const uint8_t *p, size_t len, size_t l2)
{
	static uint8_t tmp[WRITE_MAX];
	size_t ihl;

	if (len > sizeof(tmp) || len < l2 + 40)
		return 0;
	memcpy(tmp, p, len);
	if (tmp[l2] >> 4 == 4) {
		ihl = (size_t)(tmp[l2] & 0xf) * 4;
		if (ihl < 20 || tmp[l2 + 9] != IPPROTO_TCP || len < l2 + ihl + 20)
			return 0;
		memset(tmp + l2 + 4, 0, 2);
		memset(tmp + l2 + 10, 0, 2);
	} else if (tmp[l2] >> 4 == 6) {
		ihl = 40;
		if (tmp[l2 + 6] != IPPROTO_TCP || len < l2 + 60)
			return 0;
	} else {
		return 0;
	}
	memset(tmp + l2 + ihl + 16, 0, 2);
	return hash_bytes(tmp, len, RECORD_NORMAL);
}

static void record_packet(const struct pair *pp, const uint8_t *p, size_t len)
{
	struct ether_info eth;
	uint64_t h;
	size_t t;

	record_add(hash_bytes(p, len, RECORD_EXACT));
	if (pp->tap) {
		if (ether_parse(p, len, &eth) == 0 && (h = normal_hash(p, len, eth.hdr_len)))
			record_add(h);
		return;
	}
	t = ip_total(p, len);
	if (t) {
		record_add(hash_bytes(p, t, RECORD_EXACT));
		if ((h = normal_hash(p, t, 0)))
			record_add(h);
	}
}

/* What the receiver may deliver from a plaintext, read as the protocol
 * says (docs/PROTOCOL.md): recorded generously; a superset is harmless. */
static void record_expected(const struct pair *pp, bool ferry, const uint8_t *plain, size_t plen)
{
	static uint8_t out[65536];
	size_t len;
	ssize_t n;
	uint8_t kind, flags;

	if (!ferry) {
		if (!pp->tap)
			record_packet(pp, plain, plen);
		return;
	}
	if (plen < FERRY_HEADER_LEN)
		return;
	kind = plain[0];
	flags = plain[1];
	len = (size_t)plain[2] | (size_t)plain[3] << 8;
	if (len > plen - FERRY_HEADER_LEN || (flags & ~FERRY_FLAG_LZ4))
		return;
	if ((kind == FERRY_KIND_IP) == pp->tap || (kind != FERRY_KIND_IP && kind != FERRY_KIND_ETHERNET))
		return;
	if (!(flags & FERRY_FLAG_LZ4)) {
		record_packet(pp, plain + FERRY_HEADER_LEN, len);
		return;
	}
	n = decompress_packet(plain + FERRY_HEADER_LEN, len, out, sizeof(out));
	if (n > 0)
		record_packet(pp, out, (size_t)n);
}

/* --- the oracle: every write of the device --- */

static void oracle_failed(const char *what, const uint8_t *w, size_t len)
{
	char summary[256];
	size_t i;

	snprintf(summary, sizeof(summary), "fuzz_receive_ferry oracle: %s (write of %zu bytes)", what, len);
	fprintf(stderr, "%s\n", summary);
	for (i = 0; i < len && i < 96; i++)
		fprintf(stderr, "%02x%s", w[i], i % 32 == 31 ? "\n" : " ");
	fprintf(stderr, "\n");
	__sanitizer_report_error_summary(summary);
	abort();
}

static bool source_allowed(const struct pair *pp, const uint8_t *ip, size_t len)
{
	if (len >= 20 && ip[0] >> 4 == 4)
		return allowedips_lookup(pp->a.aips, AF_INET, ip + 12) == pp->pa;
	if (len >= 40 && ip[0] >> 4 == 6)
		return allowedips_lookup(pp->a.aips, AF_INET6, ip + 8) == pp->pa;
	return false;
}

/* A coalesced write: split again, each segment (behind the Ethernet header
 * in TAP mode) must be one that was sent. */
static void check_super_packet(const struct pair *pp, const uint8_t *w, size_t wlen)
{
	static uint8_t segs[MAX_SEGS * 2048 + 65536 * 2];
	static uint8_t seg[WRITE_MAX];
	static size_t lens[MAX_SEGS];
	struct virtio_net_hdr vh;
	struct ether_info eth;
	const uint8_t *pkt = w + VNET_HDR_LEN;
	size_t len = wlen - VNET_HDR_LEN, l2 = 0, stride;
	int n, i, max_segs;

	memcpy(&vh, w, sizeof(vh));
	if (vh.gso_type != VIRTIO_NET_HDR_GSO_TCPV4 && vh.gso_type != VIRTIO_NET_HDR_GSO_TCPV6)
		oracle_failed("a GSO write that is not TCP", w, wlen);
	if (pp->tap) {
		if (ether_parse(pkt, len, &eth) < 0 || eth.hdr_len >= len)
			oracle_failed("a coalesced frame without an Ethernet header", w, wlen);
		l2 = eth.hdr_len;
		if (vh.csum_start < l2 || vh.hdr_len < l2)
			oracle_failed("a coalesced frame's offsets before its IP header", w, wlen);
		vh.csum_start = (uint16_t)(vh.csum_start - l2);
		vh.hdr_len = (uint16_t)(vh.hdr_len - l2);
	} else if (!source_allowed(pp, pkt, len)) {
		oracle_failed("a coalesced packet from a source the peer may not use reached TUN", w, wlen);
	}
	if (!vh.gso_size)
		oracle_failed("a GSO write with gso_size 0", w, wlen);
	/* Room for the largest headers (IPv4 and TCP with options) and a segment. */
	stride = 60 + 60 + (size_t)vh.gso_size;
	max_segs = sizeof(segs) / stride < MAX_SEGS ? (int)(sizeof(segs) / stride) : MAX_SEGS;
	n = offload_split(&vh, pkt + l2, len - l2, segs, stride, lens, max_segs);
	if (n < 2)
		oracle_failed("a coalesced write that does not split into segments again", w, wlen);
	for (i = 0; i < n; i++) {
		memcpy(seg, pkt, l2);
		memcpy(seg + l2, segs + (size_t)i * stride, lens[i]);
		switch (record_take(normal_hash(seg, l2 + lens[i], l2))) {
		case NEVER_SENT:
			oracle_failed("a coalesced write holds a segment that was never sent", w, wlen);
			break;
		case ALL_TAKEN:
			oracle_failed("a coalesced write holds a segment written more often than it was sent", w, wlen);
			break;
		case TAKEN:
			break;
		}
	}
}

/* FUZZ_VERBOSE=1: what each input did, for checking that seeds reach
 * what they are meant to reach. */
static bool verbose;
static size_t n_writes, n_gso_writes;

static void check_write(const struct pair *pp, const uint8_t *w, size_t wlen)
{
	const struct virtio_net_hdr *vh = (const void *)w;
	const uint8_t *pkt = w + VNET_HDR_LEN;
	size_t len = wlen - VNET_HDR_LEN;
	struct ether_info eth;
	uint64_t exact, normal;

	if (wlen < VNET_HDR_LEN + 1)
		oracle_failed("a write shorter than its virtio_net_hdr", w, wlen);
	if (wlen > WRITE_MAX)
		oracle_failed("a write longer than the largest frame", w, wlen);
	n_writes++;
	if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		n_gso_writes++;
		check_super_packet(pp, w, wlen);
		return;
	}
	if (!pp->tap && !source_allowed(pp, pkt, len))
		oracle_failed("a packet from a source the peer may not use reached TUN", w, wlen);
	exact = hash_bytes(pkt, len, RECORD_EXACT);
	normal = pp->tap ? ether_parse(pkt, len, &eth) == 0 ? normal_hash(pkt, len, eth.hdr_len) : 0
			 : normal_hash(pkt, len, 0);
	if (record_find(exact)->gen != gen)
		oracle_failed(pp->tap ? "a frame that was never sent reached TAP"
				      : "a packet that was never sent reached TUN",
			      w, wlen);
	/* A TCP segment is counted in one pool, written alone or coalesced. */
	if (record_take(normal ? normal : exact) != TAKEN)
		oracle_failed("a packet was written more often than it was sent", w, wlen);
}

static void drain(const struct pair *pp)
{
	static uint8_t w[WRITE_MAX + 4096];

	for (;;) {
		ssize_t n = recv(pp->out, w, sizeof(w), MSG_DONTWAIT | MSG_TRUNC);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			abort();
		}
		if ((size_t)n > sizeof(w))
			oracle_failed("a write longer than the largest frame", w, sizeof(w));
		check_write(pp, w, (size_t)n);
	}
}

/* --- the sending side --- */

static void make_session(struct pair *pp)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;

	if (!noise_handshake_create_initiation(&init, pp->pb) ||
	    !noise_handshake_consume_initiation(&init, &pp->a.local, &why) ||
	    !noise_handshake_create_response(&resp, pp->pa) || !noise_handshake_begin_session(pp->pa) ||
	    !noise_handshake_consume_response(&resp, &pp->b.local, &why) || !noise_handshake_begin_session(pp->pb))
		abort();
}

static void allow(struct pair *pp, struct peer *p, const char *prefix)
{
	struct ip_prefix pfx;

	if (ip_prefix_parse(prefix, &pfx, NULL) < 0 || allowedips_insert(pp->a.aips, &pfx, p) < 0)
		abort();
}

static void big_buffer(int fd, int opt_force, int opt)
{
	int size = 64 << 20;

	if (setsockopt(fd, SOL_SOCKET, opt_force, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
}

static void pair_init(struct pair *pp)
{
	uint8_t ka[32], kb[32], kc[32], pubc[32];
	int sv[2];

	if (device_init(&pp->a, "a") < 0 || device_init(&pp->b, "b") < 0)
		abort();
	if (pp->tap) {
		/* As device_open_tap does. */
		pp->a.macs = mactable_new(0, 0);
		if (!pp->a.macs)
			abort();
		pp->a.tap = true;
		pp->a.mtu = TAP_DEFAULT_MTU;
	}
	pp->default_mtu = pp->a.mtu;
	crypt_generate_secret(ka);
	crypt_generate_secret(kb);
	crypt_generate_secret(kc);
	crypt_public_key(pubc, kc);
	device_set_private_key(&pp->a, ka);
	device_set_private_key(&pp->b, kb);
	pp->pa = peer_create(&pp->a, pp->b.local.public_key);
	pp->pb = peer_create(&pp->b, pp->a.local.public_key);
	pp->pc = peer_create(&pp->a, pubc);
	if (!pp->pa || !pp->pb || !pp->pc)
		abort();
	pp->pa->compress = true;
	allow(pp, pp->pa, "10.1.0.0/16");
	allow(pp, pp->pa, "fd01::/16");
	allow(pp, pp->pc, "10.2.0.0/16");
	allow(pp, pp->pc, "fd02::/16");
	if (pp->tap && mactable_add_static(pp->a.macs, mac_c, &pp->pc->mac_owner) < 0)
		abort();

	/* The device's "TUN": writes land in a socket pair, read back by us. */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	big_buffer(sv[0], SO_SNDBUFFORCE, SO_SNDBUF);
	big_buffer(sv[1], SO_RCVBUFFORCE, SO_RCVBUF);
	pp->a.tun.fd[0] = sv[0];
	pp->a.tun.queues = 1;
	pp->a.tun.vnet_hdr_sz = (int)sizeof(struct virtio_net_hdr);
	pp->a.tun_gro = true;
	pp->out = sv[1];
	make_session(pp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (crypt_init() < 0)
		abort();
	noise_init();
	pair_init(&tun_pair);
	pair_init(&tap_pair);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	src.kind = ENDPOINT_UDP;
	src.addr.in4.sin_family = AF_INET;
	src.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.2", &src.addr.in4.sin_addr);
	return 0;
}

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t take8(struct reader *r)
{
	if (!r->n)
		return 0;
	r->n--;
	return *r->p++;
}

static uint16_t take16(struct reader *r)
{
	uint16_t lo = take8(r);

	return (uint16_t)(lo | take8(r) << 8);
}

struct flow {
	uint32_t seq;
	uint16_t id;
};

/* One input's state. */
static struct flow flows[N_FLOWS];
static uint8_t *blocks[MAX_MESSAGES];
static size_t n_blocks, n_messages, n_bytes;

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static void store_csum(uint8_t *p, uint16_t folded)
{
	memcpy(p, &folded, 2);
}

static const uint8_t *source_address(int sel, bool v6)
{
	static const uint8_t v4[4][4] = { { 10, 1, 0, 1 }, { 10, 1, 0, 2 }, { 10, 2, 0, 1 }, { 192, 0, 2, 99 } };
	static const uint8_t a6[4][16] = {
		{ 0xfd, 0x01, [15] = 1 },
		{ 0xfd, 0x01, [15] = 2 },
		{ 0xfd, 0x02, [15] = 1 },
		{ 0x20, 0x01, 0x0d, 0xb8, [15] = 0x99 },
	};

	return v6 ? a6[sel & 3] : v4[sel & 3];
}

struct gen_params {
	uint8_t p0, p3, e0;
	uint16_t payload;
};

/* The Ethernet header of a generated frame; returns its length. */
static size_t ether_header(uint8_t *out, uint8_t e0, bool v6)
{
	static const uint8_t *const srcs[4] = { mac_b1, mac_b2, mac_c, mac_group };
	static const uint8_t *const dsts[4] = { mac_a, mac_bcast, mac_b2, mac_group };
	int tags = e0 & 3 ? (e0 & 3) > 1 ? 2 : 1 : 0, i;
	uint16_t type = v6 ? ETH_P_IPV6 : ETH_P_IP;
	size_t at = 12;

	memcpy(out, dsts[(e0 >> 4) & 3], ETH_ALEN);
	memcpy(out + ETH_ALEN, srcs[(e0 >> 2) & 3], ETH_ALEN);
	for (i = 0; i < tags; i++) {
		uint16_t tpid = ETH_P_8021Q;

		if (i == 0 && tags == 2)
			tpid = (e0 & 3) == 3 ? ETH_P_QINQ1 : (e0 & 0x40) ? ETH_P_8021AD : ETH_P_8021Q;
		else if (i == 0 && (e0 & 0x40))
			tpid = ETH_P_8021AD;
		put16(out + at, tpid);
		put16(out + at + 2, (uint16_t)(100 + i));
		at += 4;
	}
	put16(out + at, (e0 & 0x80) ? ETH_P_ARP : type);
	return at + 2;
}

/* A TCP segment or UDP packet, checksums right unless asked otherwise. */
static size_t ip_packet(uint8_t *out, size_t room, const struct gen_params *g, bool tcp)
{
	bool v6 = g->p0 & 1, ts = tcp && (g->p0 & 0x20);
	struct flow *f = &flows[g->p3 & (N_FLOWS - 1)];
	size_t ip = v6 ? 40 : 20, l4 = tcp ? (ts ? 32 : 20) : 8, payload = g->payload, total;
	static const uint8_t tcp_flags[4] = { 0x10, 0x18, 0x02, 0x11 };
	static const uint8_t dst4[4] = { 10, 0, 0, 1 }, dst6[16] = { 0xfd, 0x00, [15] = 1 };
	uint8_t *l, *csum;
	uint16_t c;

	if (room < ip + l4)
		return 0;
	if (payload > room - ip - l4)
		payload = room - ip - l4;
	if (payload > 65535 - ip - l4)
		payload = 65535 - ip - l4;
	total = ip + l4 + payload;
	memset(out, 0, ip + l4);
	if (v6) {
		out[0] = 0x60;
		put16(out + 4, (uint16_t)(l4 + payload));
		out[6] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		out[7] = 64;
		memcpy(out + 8, source_address((g->p0 >> 1) & 3, true), 16);
		memcpy(out + 24, dst6, 16);
	} else {
		out[0] = 0x45;
		put16(out + 2, (uint16_t)total);
		put16(out + 4, f->id++);
		out[6] = (g->p0 & 0x80) ? 0 : 0x40;
		out[8] = 64;
		out[9] = tcp ? IPPROTO_TCP : IPPROTO_UDP;
		memcpy(out + 12, source_address((g->p0 >> 1) & 3, false), 4);
		memcpy(out + 16, dst4, 4);
		store_csum(out + 10, checksum_fold(checksum_partial(out, 20, 0)));
	}
	l = out + ip;
	put16(l, (uint16_t)(40000 + (g->p3 & (N_FLOWS - 1))));
	put16(l + 2, 5201);
	memset(l + l4, g->p3, payload);
	if (tcp) {
		put32(l + 4, f->seq);
		f->seq += (uint32_t)payload;
		put32(l + 8, 0x01020304);
		l[12] = (uint8_t)((l4 / 4) << 4);
		l[13] = tcp_flags[(g->p0 >> 3) & 3];
		put16(l + 14, 512);
		if (ts) {
			l[20] = 1;
			l[21] = 1;
			l[22] = 8;
			l[23] = 10;
			put32(l + 24, 7);
			put32(l + 28, 9);
		}
		csum = l + 16;
	} else {
		put16(l + 4, (uint16_t)(l4 + payload));
		csum = l + 6;
	}
	c = checksum_fold(
	    checksum_partial(l, l4 + payload,
			     v6 ? checksum_pseudo_v6(out + 8, out + 24, out[6], (uint32_t)(l4 + payload))
				: checksum_pseudo_v4(out + 12, out + 16, out[9], (uint32_t)(l4 + payload))));
	store_csum(csum, c);
	if (g->p0 & 0x40)
		csum[0] ^= 0x5a;
	return total;
}

/* Seal @plen bytes of plaintext (already at @msg + 16) as @pp's sender
 * would (send.c seal_message: a ferry message authenticates its header). */
static size_t seal(struct pair *pp, uint8_t *msg, size_t padded, bool ferry)
{
	struct keypair *kp = pp->pb->current;
	uint64_t counter = kp->send_counter++;

	le32_write(msg, ferry ? MESSAGE_FERRY_DATA : MESSAGE_DATA);
	le32_write(msg + 4, kp->remote_index);
	le64_write(msg + 8, counter);
	crypt_aead_encrypt(msg + MESSAGE_DATA_HEADER_LEN, msg + MESSAGE_DATA_HEADER_LEN, padded, ferry ? msg : NULL,
			   ferry ? MESSAGE_DATA_HEADER_LEN : 0, counter, kp->send_key);
	return MESSAGE_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN;
}

static void end_batch(struct pair *pp)
{
	size_t i;

	receive_flush(&pp->a);
	send_flush(&pp->a);
	drain(pp);
	for (i = 0; i < n_blocks; i++)
		free(blocks[i]);
	n_blocks = 0;
}

/* Encrypt @plain (@plen bytes) into a heap block of its exact size, which
 * stays alive until the batch ends (the batch points into it), and hand
 * it to the receive path. */
static void deliver(struct pair *pp, bool ferry, const uint8_t *plain, size_t plen)
{
	unsigned int budget = pp->tap && ferry ? pp->a.mtu + FERRY_FRAME_OVERHEAD + FERRY_HEADER_LEN : pp->a.mtu;
	size_t padded = (plen + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	uint8_t *msg;

	if (padded > budget)
		padded = plen > budget ? plen : budget;
	msg = malloc(MESSAGE_DATA_HEADER_LEN + padded + NOISE_AUTHTAG_LEN);
	if (!msg)
		abort();
	memcpy(msg + MESSAGE_DATA_HEADER_LEN, plain, plen);
	memset(msg + MESSAGE_DATA_HEADER_LEN + plen, 0, padded - plen);
	record_expected(pp, ferry, msg + MESSAGE_DATA_HEADER_LEN, padded);
	blocks[n_blocks++] = msg;
	n_messages++;
	n_bytes += padded;
	receive_packet(&pp->a, msg, seal(pp, msg, padded, ferry), &src);
	/* A full batch is flushed inside receive_packet: check it at once. */
	drain(pp);
}

static void ferry_header(uint8_t *p, uint8_t kind, uint8_t flags, size_t len)
{
	p[0] = kind;
	p[1] = flags;
	p[2] = (uint8_t)len;
	p[3] = (uint8_t)(len >> 8);
}

/* One message of the input (maybe repeated). Returns false when the
 * input's budget is spent. */
static bool one_message(struct pair *pp, struct reader *r)
{
	static uint8_t body[PLAIN_MAX + 64], plain[PLAIN_MAX + 64], z[PLAIN_MAX + 64];
	uint8_t op = take8(r), wrap = op & 3, oflags = 0, kind;
	unsigned int count = op & 0x40 ? 1u + take16(r) % 2048u : 1u, k;
	uint16_t olen = 0;
	struct gen_params g = { 0 };
	const uint8_t *raw = NULL;
	size_t raw_len = 0, blen, plen, zlen, l2;
	int body_kind = (op >> 4) & 3;

	if (op & 0x08) {
		oflags = take8(r);
		olen = take16(r);
	}
	if (body_kind == 0) {
		raw_len = take16(r);
		if (raw_len > r->n)
			raw_len = r->n;
		if (raw_len > PLAIN_MAX - FERRY_HEADER_LEN)
			raw_len = PLAIN_MAX - FERRY_HEADER_LEN;
		raw = r->p;
		r->p += raw_len;
		r->n -= raw_len;
	} else {
		g.p0 = take8(r);
		g.payload = take16(r);
		g.p3 = take8(r);
		if (pp->tap)
			g.e0 = take8(r);
	}
	kind = pp->tap ? FERRY_KIND_ETHERNET : FERRY_KIND_IP;
	if (op & 0x04)
		kind = kind == FERRY_KIND_IP ? FERRY_KIND_ETHERNET : FERRY_KIND_IP;

	for (k = 0; k < count; k++) {
		if (n_messages >= MAX_MESSAGES || n_bytes >= MAX_BYTES)
			return false;
		if (raw) {
			memcpy(body, raw, raw_len);
			blen = raw_len;
		} else {
			l2 = pp->tap ? ether_header(body, g.e0, g.p0 & 1) : 0;
			blen = l2 + ip_packet(body + l2, PLAIN_MAX - FERRY_HEADER_LEN - l2, &g, body_kind != 2);
		}
		if (wrap == 0) {
			deliver(pp, false, body, blen);
			continue;
		}
		zlen = 0;
		if (wrap == 2 && blen > 1)
			zlen = compress_packet(body, blen, z, blen - 1);
		if (zlen) {
			ferry_header(plain, kind, FERRY_FLAG_LZ4, zlen);
			memcpy(plain + FERRY_HEADER_LEN, z, zlen);
			plen = FERRY_HEADER_LEN + zlen;
		} else {
			ferry_header(plain, kind, wrap == 3 ? FERRY_FLAG_LZ4 : 0, blen);
			memcpy(plain + FERRY_HEADER_LEN, body, blen);
			plen = FERRY_HEADER_LEN + blen;
		}
		if (op & 0x08) {
			plain[1] = oflags;
			plain[2] = (uint8_t)olen;
			plain[3] = (uint8_t)(olen >> 8);
		}
		deliver(pp, true, plain, plen);
	}
	if (op & 0x80)
		end_batch(pp);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned int mtus[4] = { 0, 1280, 9000, 65535 };
	struct reader r = { data, size };
	uint64_t drops_before[DROP_MAX];
	struct pair *pp;
	uint8_t cfg;
	int i;

	if (size < 1)
		return 0;
	cfg = take8(&r);
	pp = cfg & 1 ? &tap_pair : &tun_pair;
	pp->a.mtu = mtus[(cfg >> 1) & 3] ? mtus[(cfg >> 1) & 3] : pp->default_mtu;
	if (!pp->pb->current || clock_ms() - pp->pb->current->birth_ms > SESSION_MS)
		make_session(pp);
	/* Each input starts from a clean batch and forgets what was sent. */
	if (++gen == 0) {
		memset(records, 0, sizeof(records));
		gen = 1;
	}
	for (i = 0; i < N_FLOWS; i++) {
		flows[i].seq = 1000u * (uint32_t)i + 1;
		flows[i].id = 1;
	}
	n_messages = n_bytes = n_writes = n_gso_writes = 0;
	memcpy(drops_before, pp->a.drops, sizeof(drops_before));
	while (r.n && one_message(pp, &r))
		;
	end_batch(pp);
	if (verbose) {
		fprintf(stderr, "%s: %zu messages, %zu writes (%zu coalesced)", pp->name, n_messages, n_writes,
			n_gso_writes);
		for (i = 0; i < DROP_MAX; i++)
			if (pp->a.drops[i] != drops_before[i])
				fprintf(stderr, ", %s %llu", drop_reason_name[i],
					(unsigned long long)(pp->a.drops[i] - drops_before[i]));
		fprintf(stderr, "\n");
	}
	return 0;
}
