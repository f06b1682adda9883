/* Unit tests: the receive path past authentication. Device "b" encrypts
 * real data and ferry messages for device "a" (a live session made in
 * memory); a receives them in batches, as from one recvmmsg or one TCP
 * read, and writes what passes to its "TUN device", here a pipe read back
 * by the test with vnet_hdr on, so the coalescing path runs. Regression
 * tests for issue 10: the decompression buffer reused while a packet in it
 * was still queued (a forged source reached TUN), the TAP merge buffer
 * overflow (under ASan), oversized frames, link-local control frames,
 * StrictMACs, and compressed frames with two VLAN tags. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apply.h"
#include "allowedips.h"
#include "checksum.h"
#include "compress.h"
#include "cookie.h"
#include "crypto.h"
#include "device.h"
#include "mactable.h"
#include "noise.h"
#include "receive.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define ARENA_SIZE (8u << 20)
#define OUT_SIZE   (1u << 20) /* the largest pipe without root */

struct fixture {
	struct device a, b;
	struct peer *pa, *pb; /* a's view of b, b's view of a */
	struct endpoint src;
	int tun_read;	/* the test's end of a's "TUN device" */
	uint8_t *arena; /* messages of one batch: they must live until the flush */
	size_t arena_used;
	uint8_t *out; /* what a wrote, read back */
	size_t out_len;
};

static const uint8_t mac_b[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xb };
static const uint8_t mac_a[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xa };

static void make_session(struct fixture *f)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;

	assert_true(noise_handshake_create_initiation(&init, f->pb));
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &f->a.local, &why), f->pa);
	assert_true(noise_handshake_create_response(&resp, f->pa));
	assert_true(noise_handshake_begin_session(f->pa));
	assert_ptr_equal(noise_handshake_consume_response(&resp, &f->b.local, &why), f->pb);
	assert_true(noise_handshake_begin_session(f->pb));
	assert_non_null(f->pb->current);
}

static int setup_mode(void **state, bool tap)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ip_prefix pfx;
	uint8_t k[32];
	int fds[2];

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
	f->pa->compress = f->pb->compress = true;
	assert_int_equal(ip_prefix_parse("10.0.0.2/32", &pfx, NULL), 0);
	assert_int_equal(allowedips_insert(f->a.aips, &pfx, f->pa), 0);
	if (tap) {
		f->a.tap = true;
		f->a.macs = mactable_new(0, 0);
		assert_non_null(f->a.macs);
		f->a.mtu = 1398;
	}
	/* The TUN device: a pipe, big enough for a whole batch. */
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	fcntl(fds[1], F_SETPIPE_SZ, OUT_SIZE);
	assert_true(fcntl(fds[1], F_GETPIPE_SZ) >= (int)OUT_SIZE);
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	f->a.tun.fd[0] = fds[1];
	f->a.tun.queues = 1;
	f->a.tun.vnet_hdr_sz = (int)VNET_HDR_LEN;
	f->a.tun_gro = true;
	f->tun_read = fds[0];
	f->src.kind = ENDPOINT_UDP;
	f->src.addr.in4.sin_family = AF_INET;
	f->src.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.2", &f->src.addr.in4.sin_addr);
	f->arena = malloc(ARENA_SIZE);
	f->out = malloc(OUT_SIZE);
	assert_non_null(f->arena);
	assert_non_null(f->out);
	make_session(f);
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

	close(f->tun_read);
	device_destroy(&f->a);
	device_destroy(&f->b);
	free(f->arena);
	free(f->out);
	free(f);
	return 0;
}

/* b seals @plain (@len bytes) for a as a data message, or as a ferry
 * message (whose header is associated data), and a receives it. The
 * message stays in the arena until flush(). */
static void deliver(struct fixture *f, bool ferry, const uint8_t *plain, size_t len)
{
	struct keypair *kp = f->pb->current;
	size_t padded = (len + 15) & ~(size_t)15;
	uint8_t *m = f->arena + f->arena_used;
	uint64_t counter = kp->send_counter++;

	assert_true(f->arena_used + 16 + padded + 16 <= ARENA_SIZE);
	le32_write(m, ferry ? MESSAGE_FERRY_DATA : MESSAGE_DATA);
	le32_write(m + 4, kp->remote_index);
	le64_write(m + 8, counter);
	memcpy(m + 16, plain, len);
	memset(m + 16 + len, 0, padded - len);
	crypt_aead_encrypt(m + 16, m + 16, padded, ferry ? m : NULL, ferry ? 16 : 0, counter, kp->send_key);
	f->arena_used += 16 + padded + 16;
	receive_packet(&f->a, m, 16 + padded + 16, &f->src);
}

/* A ferry message: header, payload LZ4-compressed if @lz4 (it must shrink). */
static void deliver_ferry(struct fixture *f, enum ferry_kind kind, bool lz4, const uint8_t *payload, size_t len)
{
	static uint8_t plain[70000];
	size_t n = len;

	if (lz4) {
		n = compress_packet(payload, len, plain + FERRY_HEADER_LEN, len - 1);
		assert_true(n > 0);
	} else {
		memcpy(plain + FERRY_HEADER_LEN, payload, len);
	}
	plain[0] = (uint8_t)kind;
	plain[1] = lz4 ? FERRY_FLAG_LZ4 : 0;
	plain[2] = (uint8_t)n;
	plain[3] = (uint8_t)(n >> 8);
	deliver(f, true, plain, FERRY_HEADER_LEN + n);
}

/* End of the batch: a writes everything; read it all back. */
static void flush(struct fixture *f)
{
	ssize_t n;

	receive_flush(&f->a);
	f->arena_used = 0;
	f->out_len = 0;
	while ((n = read(f->tun_read, f->out + f->out_len, OUT_SIZE - f->out_len)) > 0)
		f->out_len += (size_t)n;
}

/* The writes a made, one by one: each is a virtio_net_hdr and an IP packet
 * (TUN) or frame (TAP) whose own length fields say where it ends. */
struct write_iter {
	const uint8_t *p, *end;
	size_t l2;
};

static bool next_write(struct write_iter *it, const uint8_t **pkt, size_t *len)
{
	const uint8_t *ip;
	size_t l2 = it->l2, iplen;

	if (it->p + VNET_HDR_LEN + l2 + 20 > it->end)
		return false;
	ip = it->p + VNET_HDR_LEN + l2;
	iplen = (ip[0] >> 4) == 6 ? 40 + (size_t)(ip[4] << 8 | ip[5]) : (size_t)(ip[2] << 8 | ip[3]);
	*pkt = ip;
	*len = iplen;
	it->p = ip + iplen;
	assert_true(it->p <= it->end);
	return true;
}

/* An IPv4/UDP packet from @src of @len bytes whose payload starts with @tag. */
static size_t udp_packet(uint8_t *p, const char *src, size_t len, uint32_t tag)
{
	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	inet_pton(AF_INET, src, p + 12);
	inet_pton(AF_INET, "10.0.0.1", p + 16);
	p[20] = 0x30;
	p[21] = 0x39;
	p[22] = 0x30;
	p[23] = 0x39;
	p[24] = (uint8_t)((len - 20) >> 8);
	p[25] = (uint8_t)(len - 20);
	memcpy(p + 28, &tag, sizeof(tag));
	/* Compressible: the rest repeats. */
	for (size_t i = 32; i < len; i++)
		p[i] = (uint8_t)('a' + i % 7);
	return len;
}

/* Issue 10, bug 3: more compressed packets than a batch holds. Before the
 * fix, the flush of a full batch reset the decompression buffer while the
 * packet just decompressed was still queued: larger packets after it
 * overwrote it after it had passed the allowed-IPs check, and a packet
 * with a forged source (dropped itself) could reach TUN in its place.
 * Here RX_BATCH_MAX + 1 small packets fill a batch, then larger ones
 * follow, some forged; every packet written must be one sent, intact. */
#define SMALL	100
#define LARGE	1000
#define N_LARGE 300
static void compressed_batch_keeps_each_packet(void **state)
{
	struct fixture *f = *state;
	const unsigned int total = RX_BATCH_MAX + 1 + N_LARGE;
	static uint8_t seen[RX_BATCH_MAX + 1 + N_LARGE];
	uint8_t pkt[LARGE];
	struct write_iter it;
	const uint8_t *w;
	unsigned int i, written = 0, forged = 0;
	size_t len;

	memset(seen, 0, sizeof(seen));
	for (i = 0; i < total; i++) {
		bool bad = i > RX_BATCH_MAX && i % 7 == 0;

		forged += bad;
		len = udp_packet(pkt, bad ? "10.9.9.9" : "10.0.0.2", i <= RX_BATCH_MAX ? SMALL : LARGE, i);
		deliver_ferry(f, FERRY_KIND_IP, true, pkt, len);
	}
	flush(f);
	assert_int_equal(f->a.drops[DROP_DISALLOWED_SRC], forged);
	it = (struct write_iter){ f->out, f->out + f->out_len, 0 };
	while (next_write(&it, &w, &len)) {
		static const uint8_t b_addr[4] = { 10, 0, 0, 2 };

		uint32_t tag;

		assert_memory_equal(w + 12, b_addr, 4);
		memcpy(&tag, w + 28, sizeof(tag));
		assert_true(tag < total);
		assert_false(seen[tag]);
		seen[tag] = 1;
		assert_int_equal(len, tag <= RX_BATCH_MAX ? SMALL : LARGE);
		udp_packet(pkt, "10.0.0.2", len, tag);
		assert_memory_equal(w, pkt, len);
		written++;
	}
	assert_int_equal(written, total - forged);
}

/* A TCP segment in a double-tagged Ethernet frame: @payload bytes from
 * sequence @seq, valid checksums. Returns the frame's length. */
static size_t tagged_tcp_frame(uint8_t *fr, uint32_t seq, size_t payload)
{
	size_t iplen = 40 + payload;
	uint8_t *ip = fr + 22, *th = ip + 20;
	uint16_t c;

	memcpy(fr, mac_a, ETH_ALEN);
	memcpy(fr + 6, mac_b, ETH_ALEN);
	fr[12] = 0x88, fr[13] = 0xa8, fr[14] = 0, fr[15] = 7; /* 802.1ad, VID 7 */
	fr[16] = 0x81, fr[17] = 0x00, fr[18] = 0, fr[19] = 9; /* 802.1Q, VID 9 */
	fr[20] = 0x08, fr[21] = 0x00;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	ip[2] = (uint8_t)(iplen >> 8);
	ip[3] = (uint8_t)iplen;
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_TCP;
	inet_pton(AF_INET, "10.0.0.2", ip + 12);
	inet_pton(AF_INET, "10.0.0.1", ip + 16);
	c = checksum_fold(checksum_partial(ip, 20, 0)); /* complemented, network order */
	memcpy(ip + 10, &c, 2);
	th[0] = 0x30, th[1] = 0x39, th[2] = 0x01, th[3] = 0xbb;
	th[4] = (uint8_t)(seq >> 24), th[5] = (uint8_t)(seq >> 16), th[6] = (uint8_t)(seq >> 8), th[7] = (uint8_t)seq;
	th[12] = 5 << 4;
	th[13] = 0x10; /* ACK */
	th[14] = 0xff;
	th[15] = 0xff;
	for (size_t i = 0; i < payload; i++)
		th[20 + i] = (uint8_t)(seq + i);
	c = checksum_fold(checksum_partial(
	    th, 20 + payload, checksum_pseudo_v4(ip + 12, ip + 16, IPPROTO_TCP, (uint32_t)(20 + payload))));
	memcpy(th + 16, &c, 2);
	return 22 + iplen;
}

/* Issue 10, bug 2: segments of one flow merged behind a 22-byte Ethernet
 * header up to an IP length of 65535 wrote 22 bytes past the merge buffer
 * (ASan: heap-buffer-overflow). Jumbo frames make it take few segments. */
static void tap_coalescing_stays_in_its_buffer(void **state)
{
	struct fixture *f = *state;
	static uint8_t fr[9100];
	const size_t seg = 8000, last = 65535 - 40 - 8 * seg;
	struct write_iter it;
	uint32_t seq = 1000;
	const uint8_t *w;
	size_t len, total = 0;
	int i, writes = 0;

	f->a.mtu = 9000;
	for (i = 0; i < 9; i++) {
		size_t pl = i < 8 ? seg : last;

		deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, tagged_tcp_frame(fr, seq, pl));
		seq += (uint32_t)pl;
	}
	flush(f);
	assert_int_equal(f->a.rx_packets, 9);
	it = (struct write_iter){ f->out, f->out + f->out_len, 22 };
	while (next_write(&it, &w, &len)) {
		assert_true(22 + len <= 65535);
		total += len - 40;
		writes++;
	}
	assert_int_equal(total, 8 * seg + last);
	/* Eight merged (65535 bytes of IP do not fit a frame of 65535), then the last. */
	assert_int_equal(writes, 2);
}

/* A TUN device that refuses merged writes (EINVAL) gets the segments one by
 * one, whatever their size: the fallback could only split segments of up
 * to 2 KB before, and wrote nothing of a jumbo MTU's. The "device" here is
 * an eventfd, which refuses every write but an 8-byte one with EINVAL, so
 * each attempt is counted as a refused write. */
static void refused_merge_is_written_in_segments(void **state)
{
	struct fixture *f = *state;
	static uint8_t fr[9100];
	uint32_t seq = 1;
	int i;

	close(f->a.tun.fd[0]);
	f->a.tun.fd[0] = eventfd(0, EFD_CLOEXEC);
	assert_true(f->a.tun.fd[0] >= 0);
	f->a.mtu = 9000;
	for (i = 0; i < 3; i++) {
		tagged_tcp_frame(fr, seq, 8000);
		deliver(f, false, fr + 22, 40 + 8000);
		seq += 8000;
	}
	receive_flush(&f->a);
	assert_false(f->a.tun_gro); /* coalescing is off from now on */
	assert_int_equal(f->a.drops[DROP_TUN_WRITE], 3);
}

/* A frame whose payload is larger than the TAP MTU is dropped, counted. */
static void tap_frame_over_mtu_dropped(void **state)
{
	struct fixture *f = *state;
	static uint8_t fr[2000];

	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, tagged_tcp_frame(fr, 1, f->a.mtu - 40));
	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, tagged_tcp_frame(fr, 1, f->a.mtu - 40 + 1));
	flush(f);
	assert_int_equal(f->a.drops[DROP_TOO_BIG], 1);
	assert_int_equal(f->a.rx_packets, 1);
}

/* Issue 10: decompression allowed MTU + 18; a compressed frame with two
 * VLAN tags is MTU + 22 and must pass. */
static void tap_compressed_double_tagged_full_size(void **state)
{
	struct fixture *f = *state;
	static uint8_t fr[2000];
	size_t len = tagged_tcp_frame(fr, 1, f->a.mtu - 40);

	assert_int_equal(len, f->a.mtu + 22);
	memset(fr + 22 + 40, 'z', f->a.mtu - 40); /* compressible (checksum no longer matters) */
	deliver_ferry(f, FERRY_KIND_ETHERNET, true, fr, len);
	flush(f);
	assert_int_equal(f->a.drops[DROP_DECOMPRESS], 0);
	assert_int_equal(f->a.rx_packets, 1);
}

static size_t plain_frame(uint8_t *fr, const uint8_t dst[ETH_ALEN], const uint8_t src[ETH_ALEN])
{
	memset(fr, 0, 64);
	memcpy(fr, dst, ETH_ALEN);
	memcpy(fr + 6, src, ETH_ALEN);
	fr[12] = 0x88;
	fr[13] = 0xb5; /* local experimental ethertype */
	return 64;
}

/* STP, LLDP, EAPOL... (01:80:c2:00:00:0x) from a peer stop at the tunnel
 * unless LinkLocal = forward; 01:80:c2:00:00:10 is not one of them. */
static void tap_link_local_frames(void **state)
{
	struct fixture *f = *state;
	uint8_t fr[64], stp[ETH_ALEN] = { 0x01, 0x80, 0xc2, 0, 0, 0x00 },
			lldp[ETH_ALEN] = { 0x01, 0x80, 0xc2, 0, 0, 0x0e },
			other[ETH_ALEN] = { 0x01, 0x80, 0xc2, 0, 0, 0x10 };

	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, plain_frame(fr, stp, mac_b));
	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, plain_frame(fr, lldp, mac_b));
	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, plain_frame(fr, other, mac_b));
	flush(f);
	assert_int_equal(f->a.drops[DROP_LINK_LOCAL], 2);
	assert_int_equal(f->a.rx_packets, 1);
	f->a.forward_link_local = true;
	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, plain_frame(fr, stp, mac_b));
	flush(f);
	assert_int_equal(f->a.drops[DROP_LINK_LOCAL], 2);
	assert_int_equal(f->a.rx_packets, 2);
}

/* StrictMACs: a peer may send only from its static MACs, and nothing is
 * learned behind it (its cap is 0), so it cannot draw others' traffic. */
static void tap_strict_macs(void **state)
{
	struct fixture *f = *state;
	uint8_t fr[64], other[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0xc };
	struct mactable_stats st;

	f->a.strict_macs = true;
	mactable_set_owner_cap(f->a.macs, &f->pa->mac_owner, 0);
	assert_int_equal(mactable_add_static(f->a.macs, mac_b, &f->pa->mac_owner), 0);
	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, plain_frame(fr, mac_a, mac_b));
	deliver_ferry(f, FERRY_KIND_ETHERNET, false, fr, plain_frame(fr, mac_a, other));
	flush(f);
	assert_int_equal(f->a.rx_packets, 1);
	assert_int_equal(f->a.drops[DROP_BAD_SOURCE_MAC], 1);
	assert_null(mactable_lookup(f->a.macs, other, 0));
	mactable_stats(f->a.macs, &st);
	assert_int_equal(st.learned, 0);
}

/* A handshake initiation from b: real (@real), or random bytes with a
 * valid MAC1 as a flood would send. */
static void deliver_initiation(struct fixture *f, bool real)
{
	struct message_handshake_initiation m;

	if (real) {
		assert_true(noise_handshake_create_initiation(&m, f->pb));
	} else {
		crypt_random(&m, sizeof(m));
		le32_write(&m, MESSAGE_HANDSHAKE_INITIATION);
	}
	cookie_add_macs(f->pb, &m, sizeof(m));
	receive_packet(&f->a, (uint8_t *)&m, sizeof(m), &f->src);
}

/* Issue 10: "under load" counted every handshake-sized datagram before
 * MAC1 was checked, so junk anyone can send made every legitimate
 * handshake take a cookie round trip. Only a backlog of MAC1-valid
 * handshakes may put the device under load now. */
static void junk_does_not_put_under_load(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation m;
	int i;

	for (i = 0; i < 5000; i++) {
		crypt_random(&m, sizeof(m));
		le32_write(&m, MESSAGE_HANDSHAKE_INITIATION);
		receive_packet(&f->a, (uint8_t *)&m, sizeof(m), &f->src);
	}
	assert_int_equal(f->a.drops[DROP_BAD_MAC1], 5000);
	noise_keypairs_clear(f->pa);
	/* At most 50 initiations a second from one peer (the fixture's was one). */
	nanosleep(&(struct timespec){ 0, 25 * 1000000 }, NULL);
	deliver_initiation(f, true);
	receive_handshakes(&f->a, HANDSHAKES_PER_TURN);
	assert_int_equal(f->a.drops[DROP_COOKIE_SENT], 0);
	assert_non_null(f->pa->next); /* answered: a responder's new session */
}

/* Issue 10: handshakes wait in a queue and at most a budget of them is
 * worked on per turn; a backlog of an eighth of the queue puts the device
 * under load, and then handshakes without a cookie are answered with one
 * instead of being worked on. */
static void handshake_flood_is_bounded(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 300; i++)
		deliver_initiation(f, false);
	assert_int_equal(f->a.rxb->hs_count, HANDSHAKE_QUEUE_LOAD);
	/* Under load, this one source gets its burst of cookie replies (5),
	 * then nothing: a flood costs a few cookies per source, not one per
	 * message. */
	assert_int_equal(f->a.drops[DROP_COOKIE_SENT], 5);
	assert_int_equal(f->a.drops[DROP_RATELIMITED], 300 - HANDSHAKE_QUEUE_LOAD - 5);
	receive_handshakes(&f->a, HANDSHAKES_PER_TURN);
	assert_int_equal(f->a.rxb->hs_count, HANDSHAKE_QUEUE_LOAD - HANDSHAKES_PER_TURN);
	assert_int_equal(f->a.drops[DROP_HANDSHAKE_INVALID], HANDSHAKES_PER_TURN);
	/* Still under load (for a second after the backlog): a real
	 * initiation from another address, without a cookie, gets a cookie
	 * reply, not work. */
	f->src.addr.in4.sin_addr.s_addr ^= htonl(0x100);
	deliver_initiation(f, true);
	assert_int_equal(f->a.drops[DROP_COOKIE_SENT], 6);
	receive_handshakes(&f->a, HANDSHAKE_QUEUE_LEN);
	assert_false(receive_handshakes_waiting(&f->a));
	assert_int_equal(f->a.drops[DROP_HANDSHAKE_INVALID], HANDSHAKE_QUEUE_LOAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(compressed_batch_keeps_each_packet, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tap_coalescing_stays_in_its_buffer, setup_tap, teardown),
		cmocka_unit_test_setup_teardown(tap_frame_over_mtu_dropped, setup_tap, teardown),
		cmocka_unit_test_setup_teardown(refused_merge_is_written_in_segments, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(tap_compressed_double_tagged_full_size, setup_tap, teardown),
		cmocka_unit_test_setup_teardown(tap_link_local_frames, setup_tap, teardown),
		cmocka_unit_test_setup_teardown(tap_strict_macs, setup_tap, teardown),
		cmocka_unit_test_setup_teardown(junk_does_not_put_under_load, setup_tun, teardown),
		cmocka_unit_test_setup_teardown(handshake_flood_is_bounded, setup_tun, teardown),
	};

	return cmocka_run_group_tests_name("receive", tests, NULL, NULL);
}
