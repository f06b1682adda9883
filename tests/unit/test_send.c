/* Unit tests: the transmit path (send.c). Device "a" sends to its peer b;
 * what it queued in its transmit batch (a.txb) is looked at before the
 * flush: how many messages, their lengths and GSO runs, their headers and
 * counters. Then device "b", which holds the other end of the session,
 * receives each message as from the network and writes what passes to its
 * "TUN device", here one end of a SOCK_SEQPACKET socket pair, so that each
 * write is read back whole, as one packet. No sockets to the network: the
 * flush at the end of a test counts its messages as send errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "allowedips.h"
#include "apply.h"
#include "compress.h"
#include "cookie.h"
#include "crypto.h"
#include "device.h"
#include "mactable.h"
#include "noise.h"
#include "receive.h"
#include "send.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MSGS_SIZE (1u << 20)

struct fixture {
	struct device a, b;
	struct peer *pa, *pb;	/* a's view of b, b's view of a */
	struct endpoint from_a; /* where b sees a's messages come from */
	int b_tun;		/* the test's end of b's "TUN device" */
	uint8_t *msgs;		/* copies of a's messages, for b to decrypt in place */
	size_t msgs_used;
};

static const uint8_t mac_a[6] = { 0x02, 0, 0, 0, 0, 0xa };

static int setup_mode(void **state, bool tap)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ip_prefix pfx;
	uint8_t k[32];
	int sv[2];
	int size = 1 << 20;

	assert_non_null(f);
	assert_int_equal(crypt_init(), 0);
	noise_init();
	assert_int_equal(device_init(&f->a, "a"), 0);
	assert_int_equal(device_init(&f->b, "b"), 0);
	crypt_generate_secret(k);
	device_set_private_key(&f->a, k);
	crypt_generate_secret(k);
	device_set_private_key(&f->b, k);
	f->pa = peer_create(&f->a, f->b.local.public_key);
	f->pb = peer_create(&f->b, f->a.local.public_key);
	assert_non_null(f->pa);
	assert_non_null(f->pb);
	/* a reaches 10.0.0.2 through b; b takes 10.0.0.1 from a. */
	assert_int_equal(ip_prefix_parse("10.0.0.2/32", &pfx, NULL), 0);
	assert_int_equal(allowedips_insert(f->a.aips, &pfx, f->pa), 0);
	assert_int_equal(ip_prefix_parse("10.0.0.1/32", &pfx, NULL), 0);
	assert_int_equal(allowedips_insert(f->b.aips, &pfx, f->pb), 0);
	f->pa->transport.endpoint.kind = ENDPOINT_UDP;
	f->pa->transport.endpoint.addr.in4.sin_family = AF_INET;
	f->pa->transport.endpoint.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.2", &f->pa->transport.endpoint.addr.in4.sin_addr);
	f->from_a.kind = ENDPOINT_UDP;
	f->from_a.addr.in4.sin_family = AF_INET;
	f->from_a.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.1", &f->from_a.addr.in4.sin_addr);
	if (tap) {
		f->a.tap = f->b.tap = true;
		f->a.macs = mactable_new(0, 0);
		f->b.macs = mactable_new(0, 0);
		assert_non_null(f->a.macs);
		assert_non_null(f->b.macs);
		f->a.mtu = f->b.mtu = TAP_DEFAULT_MTU;
	}
	/* b's TUN device, without vnet_hdr: one write per packet. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	f->b.tun.fd[0] = sv[0];
	f->b.tun.queues = 1;
	f->b.tun.vnet_hdr_sz = 0;
	f->b_tun = sv[1];
	f->msgs = malloc(MSGS_SIZE);
	assert_non_null(f->msgs);
	*state = f;
	return 0;
}

static int setup_tun(void **state)
{
	return setup_mode(state, false);
}

static int setup_tap(void **state)
{
	return setup_mode(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->b_tun);
	close(f->b.tun.fd[0]);
	f->b.tun.fd[0] = -1;
	device_destroy(&f->a);
	device_destroy(&f->b);
	free(f->msgs);
	free(f);
	return 0;
}

/* A handshake in memory, a the initiator: a's keypair is current, b's
 * next until the first data message from a confirms it. */
static void make_session(struct fixture *f)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;

	assert_true(noise_handshake_create_initiation(&init, f->pa));
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &f->b.local, &why), f->pb);
	assert_true(noise_handshake_create_response(&resp, f->pb));
	assert_true(noise_handshake_begin_session(f->pb));
	assert_ptr_equal(noise_handshake_consume_response(&resp, &f->a.local, &why), f->pa);
	assert_true(noise_handshake_begin_session(f->pa));
	assert_non_null(f->pa->current);
}

/* An IPv4/UDP packet 10.0.0.1 -> @dst of @len bytes; its payload starts
 * with @tag, and the rest repeats (LZ4 shrinks it) or is random. */
static size_t ip_packet(uint8_t *p, const char *dst, size_t len, uint32_t tag, bool compressible)
{
	memset(p, 0, 28);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.1", p + 12);
	inet_pton(AF_INET, dst, p + 16);
	p[20] = 0x30, p[21] = 0x39, p[22] = 0x30, p[23] = 0x39;
	p[24] = (uint8_t)((len - 20) >> 8);
	p[25] = (uint8_t)(len - 20);
	memcpy(p + 28, &tag, sizeof(tag));
	if (compressible) {
		for (size_t i = 32; i < len; i++)
			p[i] = (uint8_t)('a' + i % 7);
	} else {
		crypt_random(p + 32, len - 32);
	}
	return len;
}

/* A TSO super-packet: IPv4/TCP 10.0.0.1 -> 10.0.0.2, @payload bytes from
 * sequence @seq, with the virtio_net_hdr the kernel gives it (GSO_TCPV4,
 * checksum left to us). */
static size_t tso_packet(uint8_t *p, struct virtio_net_hdr *vh, uint32_t seq, size_t payload, uint16_t mss)
{
	size_t len = 40 + payload;

	memset(p, 0, 40);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40;
	p[8] = 64;
	p[9] = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.0.1", p + 12);
	inet_pton(AF_INET, "10.0.0.2", p + 16);
	p[20] = 0x30, p[21] = 0x39, p[22] = 0x01, p[23] = 0xbb;
	p[24] = (uint8_t)(seq >> 24), p[25] = (uint8_t)(seq >> 16), p[26] = (uint8_t)(seq >> 8), p[27] = (uint8_t)seq;
	p[32] = 5 << 4;
	p[33] = 0x10; /* ACK */
	p[34] = 0xff, p[35] = 0xff;
	for (size_t i = 0; i < payload; i++)
		p[40 + i] = (uint8_t)(seq + i);
	*vh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				       .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				       .hdr_len = 40,
				       .gso_size = mss,
				       .csum_start = 20,
				       .csum_offset = 16 };
	return len;
}

static size_t data_len(size_t plain)
{
	return MESSAGE_DATA_HEADER_LEN + ((plain + 15) & ~(size_t)15) + NOISE_AUTHTAG_LEN;
}

/* b's keypair that message @m is for. */
static struct keypair *b_keypair(struct fixture *f, const uint8_t *m)
{
	uint32_t index = le32_read(m + 4);

	if (f->pb->current && f->pb->current->entry.index == index)
		return f->pb->current;
	if (f->pb->next && f->pb->next->entry.index == index)
		return f->pb->next;
	fail_msg("a message for index %u, which b does not have", index);
	return NULL;
}

/* Open message @m (@len bytes) with b's key, as b would: the plaintext
 * (padding included) into @plain; its length. */
static size_t open_message(struct fixture *f, const uint8_t *m, size_t len, uint8_t *plain)
{
	struct keypair *kp = b_keypair(f, m);
	bool ferry = le32_read(m) == MESSAGE_FERRY_DATA;

	assert_true(len >= MESSAGE_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN);
	assert_true(crypt_aead_decrypt(plain, m + MESSAGE_DATA_HEADER_LEN, len - MESSAGE_DATA_HEADER_LEN,
				       ferry ? m : NULL, ferry ? MESSAGE_DATA_HEADER_LEN : 0, le64_read(m + 8),
				       kp->recv_key));
	return len - MESSAGE_DATA_HEADER_LEN - NOISE_AUTHTAG_LEN;
}

/* Message @i of a's batch, a GSO run taken apart: its bytes and length. */
struct message_view {
	const uint8_t *buf;
	size_t len;
};

static int batch_messages(struct fixture *f, struct message_view *out, int max)
{
	struct tx_batch *b = f->a.txb;
	int n = 0;

	for (int i = 0; i < b->n; i++) {
		const struct tx_msg *m = &b->msgs[i];
		size_t seg = m->seg ? m->seg : m->len;

		for (size_t off = 0; off < m->len; off += seg) {
			assert_true(n < max);
			out[n].buf = m->buf + off;
			out[n].len = m->len - off < seg ? m->len - off : seg;
			n++;
		}
	}
	return n;
}

/* b receives every message of a's batch (copies: b decrypts in place),
 * then ends its batch and writes to its TUN. */
static void b_receives_batch(struct fixture *f)
{
	struct message_view v[256];
	int n = batch_messages(f, v, 256);

	f->msgs_used = 0;
	for (int i = 0; i < n; i++) {
		uint8_t *copy = f->msgs + f->msgs_used;

		assert_true(f->msgs_used + v[i].len <= MSGS_SIZE);
		memcpy(copy, v[i].buf, v[i].len);
		f->msgs_used += v[i].len;
		receive_packet(&f->b, copy, v[i].len, &f->from_a);
	}
	receive_flush(&f->b);
}

/* The next packet b wrote to its TUN device, or 0 if none. */
static size_t b_wrote(struct fixture *f, uint8_t *buf, size_t size)
{
	ssize_t n = read(f->b_tun, buf, size);

	return n > 0 ? (size_t)n : 0;
}

static uint64_t all_drops(const struct device *dev)
{
	uint64_t sum = 0;

	for (int i = 0; i < DROP_MAX; i++)
		sum += dev->drops[i];
	return sum;
}

/* The end of the batch: everything is handed to the transports (none
 * here: each message a send error) and the batch starts empty again. */
static void flush_a(struct fixture *f, uint64_t messages)
{
	uint64_t before = f->a.drops[DROP_SEND_ERROR];

	send_flush(&f->a);
	assert_int_equal(f->a.txb->n, 0);
	assert_int_equal(f->a.txb->used, 0);
	assert_int_equal(f->a.drops[DROP_SEND_ERROR] - before, messages);
}

static void packet_with_a_session_is_one_data_message(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[100], got[2048];
	struct tx_batch *txb = f->a.txb;
	uint64_t counter;

	make_session(f);
	counter = f->pa->current->send_counter;
	ip_packet(pkt, "10.0.0.2", sizeof(pkt), 1, true);
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));

	assert_int_equal(txb->n, 1);
	assert_int_equal(txb->msgs[0].len, data_len(sizeof(pkt)));
	assert_int_equal(txb->msgs[0].seg, 0);
	assert_ptr_equal(txb->msgs[0].peer, &f->pa->transport);
	assert_memory_equal(&txb->msgs[0].to, &f->pa->transport.endpoint, sizeof(struct endpoint));
	assert_int_equal(le32_read(txb->msgs[0].buf), MESSAGE_DATA);
	assert_int_equal(le32_read(txb->msgs[0].buf + 4), f->pa->current->remote_index);
	assert_int_equal(le64_read(txb->msgs[0].buf + 8), counter);
	assert_int_equal(f->pa->current->send_counter, counter + 1);
	assert_int_equal(f->a.tx_packets, 1);
	assert_int_equal(f->pa->staged_count, 0);
	/* Padded to 16 with zeros, the packet itself before them. */
	assert_int_equal(open_message(f, txb->msgs[0].buf, txb->msgs[0].len, got), 112);
	assert_memory_equal(got, pkt, sizeof(pkt));
	assert_memory_equal(got + sizeof(pkt), (uint8_t[12]){ 0 }, 12);

	/* b takes it and writes the packet, unpadded, to its TUN device. */
	b_receives_batch(f);
	assert_int_equal(b_wrote(f, got, sizeof(got)), sizeof(pkt));
	assert_memory_equal(got, pkt, sizeof(pkt));
	assert_int_equal(b_wrote(f, got, sizeof(got)), 0);
	assert_int_equal(all_drops(&f->b), 0);

	/* The next one takes the next counter. */
	flush_a(f, 1);
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	assert_int_equal(txb->n, 1);
	assert_int_equal(le64_read(txb->msgs[0].buf + 8), counter + 1);
	flush_a(f, 1);
	assert_int_equal(all_drops(&f->a), 2); /* the two send errors */
}

static void packets_nobody_can_take_are_counted(void **state)
{
	struct fixture *f = *state;
	uint8_t pkt[100];

	make_session(f);
	ip_packet(pkt, "10.0.0.3", sizeof(pkt), 1, true); /* no peer has it */
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	assert_int_equal(f->a.drops[DROP_NO_PEER], 1);
	send_tun_packet(&f->a, NULL, pkt, 19); /* shorter than an IPv4 header */
	assert_int_equal(f->a.drops[DROP_BAD_INNER], 1);
	memset(&f->pa->transport.endpoint, 0, sizeof(f->pa->transport.endpoint));
	ip_packet(pkt, "10.0.0.2", sizeof(pkt), 1, true);
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	assert_int_equal(f->a.drops[DROP_NO_ENDPOINT], 1);
	assert_int_equal(f->a.txb->n, 0);
	assert_int_equal(f->a.tx_packets, 0);
}

/* No session: the packet waits in the peer's staged queue and an
 * initiation goes out; once the handshake completes it follows. */
static void packet_without_a_session_waits_for_a_handshake(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	uint8_t pkt[200], got[2048];
	struct tx_batch *txb = f->a.txb;
	enum noise_reject why;

	ip_packet(pkt, "10.0.0.2", sizeof(pkt), 2, true);
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	assert_int_equal(f->pa->staged_count, 1);
	assert_int_equal(f->a.tx_packets, 0);
	assert_int_equal(txb->n, 1);
	assert_int_equal(txb->msgs[0].len, sizeof(init));
	assert_int_equal(le32_read(txb->msgs[0].buf), MESSAGE_HANDSHAKE_INITIATION);
	memcpy(&init, txb->msgs[0].buf, sizeof(init));
	assert_int_equal(cookie_validate(&f->b.checker, &init, sizeof(init), &f->from_a.addr.sa, true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	/* A second packet waits too; no second initiation within REKEY_TIMEOUT. */
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	assert_int_equal(f->pa->staged_count, 2);
	assert_int_equal(txb->n, 1);

	/* b answers the initiation a queued; a completes the handshake. */
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &f->b.local, &why), f->pb);
	assert_true(noise_handshake_create_response(&resp, f->pb));
	assert_true(noise_handshake_begin_session(f->pb));
	assert_ptr_equal(noise_handshake_consume_response(&resp, &f->a.local, &why), f->pa);
	assert_true(noise_handshake_begin_session(f->pa));
	send_staged_packets(f->pa);
	assert_int_equal(f->pa->staged_count, 0);
	assert_int_equal(txb->n, 3);
	assert_int_equal(le32_read(txb->msgs[1].buf), MESSAGE_DATA);
	assert_int_equal(le64_read(txb->msgs[1].buf + 8), 0);
	assert_int_equal(le64_read(txb->msgs[2].buf + 8), 1);
	assert_int_equal(f->a.tx_packets, 2);

	/* b: the initiation is not a data message (it goes to b's handshake
	 * queue, not its TUN); both packets come out, in order. */
	b_receives_batch(f);
	assert_int_equal(b_wrote(f, got, sizeof(got)), sizeof(pkt));
	assert_memory_equal(got, pkt, sizeof(pkt));
	assert_int_equal(b_wrote(f, got, sizeof(got)), sizeof(pkt));
	assert_int_equal(b_wrote(f, got, sizeof(got)), 0);
	flush_a(f, 3);
}

static void keepalive_is_an_empty_data_message(void **state)
{
	struct fixture *f = *state;
	struct tx_batch *txb = f->a.txb;
	uint8_t got[64];
	uint64_t counter;

	make_session(f);
	counter = f->pa->current->send_counter;
	send_keepalive(f->pa);
	assert_int_equal(txb->n, 1);
	assert_int_equal(txb->msgs[0].len, 32);
	assert_int_equal(le32_read(txb->msgs[0].buf), MESSAGE_DATA);
	assert_int_equal(le64_read(txb->msgs[0].buf + 8), counter);
	assert_int_equal(open_message(f, txb->msgs[0].buf, txb->msgs[0].len, got), 0);
	/* b takes it (it confirms b's session) and writes nothing. */
	b_receives_batch(f);
	assert_non_null(f->pb->current);
	assert_int_equal(b_wrote(f, got, sizeof(got)), 0);
	assert_int_equal(all_drops(&f->b), 0);
	flush_a(f, 1);
}

/* A TSO super-packet of @segs full segments (and a last one of @tail
 * bytes, if any): each segment one data message, in counter order, that b
 * turns back into the TCP segments. Returns the batch for more checks. */
static struct tx_batch *send_tso(struct fixture *f, int segs, size_t tail)
{
	static uint8_t pkt[40 + 64 * 1000];
	uint8_t got[2048];
	struct virtio_net_hdr vh;
	size_t payload = (size_t)segs * 1000 + tail, len;
	uint64_t counter;
	int total = segs + (tail ? 1 : 0);

	make_session(f);
	counter = f->pa->current->send_counter;
	len = tso_packet(pkt, &vh, 1000000, payload, 1000);
	send_tun_packet(&f->a, &vh, pkt, len);
	assert_int_equal(f->pa->current->send_counter, counter + (uint64_t)total);
	assert_int_equal(f->a.tx_packets, total);
	{
		struct message_view v[64];
		int n = batch_messages(f, v, 64);

		assert_int_equal(n, total);
		for (int i = 0; i < n; i++) {
			size_t seg_payload = i < segs ? 1000 : tail;

			assert_int_equal(le32_read(v[i].buf), MESSAGE_DATA);
			assert_int_equal(le64_read(v[i].buf + 8), counter + (uint64_t)i);
			assert_int_equal(v[i].len, data_len(40 + seg_payload));
		}
	}
	b_receives_batch(f);
	for (int i = 0; i < total; i++) {
		size_t seg_payload = i < segs ? 1000 : tail;
		uint32_t seq = 1000000 + (uint32_t)i * 1000;

		assert_int_equal(b_wrote(f, got, sizeof(got)), 40 + seg_payload);
		assert_int_equal((size_t)(got[2] << 8 | got[3]), 40 + seg_payload);
		assert_int_equal((uint32_t)got[24] << 24 | (uint32_t)got[25] << 16 | (uint32_t)got[26] << 8 | got[27],
				 seq);
		assert_memory_equal(got + 40, pkt + 40 + (size_t)i * 1000, seg_payload);
	}
	assert_int_equal(b_wrote(f, got, sizeof(got)), 0);
	assert_int_equal(all_drops(&f->b), 0);
	return f->a.txb;
}

static void tso_packet_is_one_gso_run_with_udp_gso(void **state)
{
	struct fixture *f = *state;
	size_t stride = data_len(1040);
	struct tx_batch *txb;

	f->a.udp.gso = true;
	txb = send_tso(f, 10, 0);
	assert_int_equal(txb->n, 1);
	assert_int_equal(txb->msgs[0].seg, stride);
	assert_int_equal(txb->msgs[0].len, 10 * stride);
	flush_a(f, 1);
}

static void tso_packet_with_a_short_last_segment(void **state)
{
	struct fixture *f = *state;
	size_t stride = data_len(1040);
	struct tx_batch *txb;

	f->a.udp.gso = true;
	txb = send_tso(f, 9, 500);
	assert_int_equal(txb->n, 1);
	assert_int_equal(txb->msgs[0].seg, stride);
	assert_int_equal(txb->msgs[0].len, 9 * stride + data_len(540));
	flush_a(f, 1);
}

static void tso_packet_is_separate_messages_without_udp_gso(void **state)
{
	struct fixture *f = *state;
	size_t stride = data_len(1040);
	struct tx_batch *txb;

	f->a.udp.gso = false;
	txb = send_tso(f, 10, 0);
	assert_int_equal(txb->n, 10);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(txb->msgs[i].seg, 0);
		assert_int_equal(txb->msgs[i].len, stride);
	}
	flush_a(f, 10);
}

/* With Compression, the segments of one super-packet shrink by different
 * amounts, or not at all: only equal-sized messages may share a GSO run
 * (the kernel cuts a run every seg bytes), so b must still find each. */
static void tso_packet_with_compression_keeps_runs_whole(void **state)
{
	struct fixture *f = *state;
	static uint8_t pkt[40 + 10 * 1000];
	uint8_t got[2048];
	struct virtio_net_hdr vh;
	size_t len;
	int i;

	make_session(f);
	f->a.udp.gso = true;
	f->pa->compress = f->pb->compress = true;
	len = tso_packet(pkt, &vh, 7, 10 * 1000, 1000);
	/* Segments 2, 5, 6 and 9 random; the others shrink. */
	for (i = 0; i < 10; i++)
		if (i == 2 || i == 5 || i == 6 || i == 9)
			crypt_random(pkt + 40 + i * 1000, 1000);
	send_tun_packet(&f->a, &vh, pkt, len);
	/* Some runs, neither one nor every message alone. */
	assert_true(f->a.txb->n > 1 && f->a.txb->n < 10);
	b_receives_batch(f);
	for (i = 0; i < 10; i++) {
		assert_int_equal(b_wrote(f, got, sizeof(got)), 1040);
		assert_memory_equal(got + 40, pkt + 40 + i * 1000, 1000);
	}
	assert_int_equal(b_wrote(f, got, sizeof(got)), 0);
	assert_int_equal(all_drops(&f->b), 0);
	flush_a(f, (uint64_t)f->a.txb->n);
}

/* Compression = lz4: a packet LZ4 shrinks goes as a ferry message (kind
 * IP, flag LZ4), one it does not as a plain data message; b writes both
 * as they were. */
static void compression_only_when_it_pays(void **state)
{
	struct fixture *f = *state;
	struct tx_batch *txb = f->a.txb;
	uint8_t pkt[1000], noise_pkt[1000], got[2048];
	size_t plen;

	make_session(f);
	f->pa->compress = f->pb->compress = true;
	ip_packet(pkt, "10.0.0.2", sizeof(pkt), 3, true);
	ip_packet(noise_pkt, "10.0.0.2", sizeof(noise_pkt), 4, false);
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	send_tun_packet(&f->a, NULL, noise_pkt, sizeof(noise_pkt));
	assert_int_equal(txb->n, 2);

	assert_int_equal(le32_read(txb->msgs[0].buf), MESSAGE_FERRY_DATA);
	assert_true(txb->msgs[0].len < sizeof(pkt) / 2);
	plen = open_message(f, txb->msgs[0].buf, txb->msgs[0].len, got);
	assert_int_equal(got[0], FERRY_KIND_IP);
	assert_int_equal(got[1], FERRY_FLAG_LZ4);
	assert_true(FERRY_HEADER_LEN + (size_t)(got[2] | got[3] << 8) <= plen);

	assert_int_equal(le32_read(txb->msgs[1].buf), MESSAGE_DATA);
	assert_int_equal(txb->msgs[1].len, data_len(sizeof(noise_pkt)));

	b_receives_batch(f);
	assert_int_equal(b_wrote(f, got, sizeof(got)), sizeof(pkt));
	assert_memory_equal(got, pkt, sizeof(pkt));
	assert_int_equal(b_wrote(f, got, sizeof(got)), sizeof(noise_pkt));
	assert_memory_equal(got, noise_pkt, sizeof(noise_pkt));
	assert_int_equal(all_drops(&f->b), 0);

	/* Without Compression, the compressible one goes plain too. */
	flush_a(f, 2);
	f->pa->compress = false;
	send_tun_packet(&f->a, NULL, pkt, sizeof(pkt));
	assert_int_equal(le32_read(txb->msgs[0].buf), MESSAGE_DATA);
	flush_a(f, 1);
}

/* TAP mode: a frame goes as a ferry message of kind ETHERNET (2), its
 * header authenticated; b writes the frame to its TAP device. */
static void tap_frame_is_a_ferry_message_of_kind_2(void **state)
{
	struct fixture *f = *state;
	struct tx_batch *txb = f->a.txb;
	uint8_t frame[200], got[2048];
	size_t plen;

	make_session(f);
	memset(frame, 0xff, 6); /* broadcast: to every peer, b */
	memcpy(frame + 6, mac_a, 6);
	frame[12] = 0x88, frame[13] = 0xb5; /* a local experimental EtherType */
	crypt_random(frame + 14, sizeof(frame) - 14);
	send_tap_frame(&f->a, NULL, frame, sizeof(frame));
	assert_int_equal(txb->n, 1);
	assert_int_equal(le32_read(txb->msgs[0].buf), MESSAGE_FERRY_DATA);
	assert_int_equal(txb->msgs[0].len, data_len(FERRY_HEADER_LEN + sizeof(frame)));
	plen = open_message(f, txb->msgs[0].buf, txb->msgs[0].len, got);
	assert_true(plen >= FERRY_HEADER_LEN + sizeof(frame));
	assert_int_equal(got[0], FERRY_KIND_ETHERNET);
	assert_int_equal(got[1], 0);
	assert_int_equal(got[2] | got[3] << 8, sizeof(frame));
	assert_memory_equal(got + FERRY_HEADER_LEN, frame, sizeof(frame));
	/* The header is associated data: as a plain data message it fails. */
	{
		uint8_t copy[512];
		struct keypair *kp = b_keypair(f, txb->msgs[0].buf);

		memcpy(copy, txb->msgs[0].buf, txb->msgs[0].len);
		le32_write(copy, MESSAGE_DATA);
		assert_false(crypt_aead_decrypt(got, copy + 16, txb->msgs[0].len - 16, copy, 16, le64_read(copy + 8),
						kp->recv_key));
	}
	b_receives_batch(f);
	assert_int_equal(b_wrote(f, got, sizeof(got)), sizeof(frame));
	assert_memory_equal(got, frame, sizeof(frame));
	assert_int_equal(all_drops(&f->b), 0);
	flush_a(f, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(packet_with_a_session_is_one_data_message, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(packets_nobody_can_take_are_counted, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(packet_without_a_session_waits_for_a_handshake, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(keepalive_is_an_empty_data_message, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tso_packet_is_one_gso_run_with_udp_gso, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tso_packet_with_a_short_last_segment, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tso_packet_is_separate_messages_without_udp_gso, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tso_packet_with_compression_keeps_runs_whole, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(compression_only_when_it_pays, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tap_frame_is_a_ferry_message_of_kind_2, setup_tap, teardown),
	};

	return cmocka_run_group_tests_name("send", tests, NULL, NULL);
}
