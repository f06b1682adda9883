/* Unit tests: configuration changes of a device that must leave its
 * sessions alone, what an idle peer costs, and the queue of packets that
 * wait for a session. Two in-memory devices handshake as in test_noise.c;
 * nothing touches the network (the devices have no sockets: what is sent
 * is counted as a send error). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apply.h"
#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "device.h"
#include "noise.h"
#include "send.h"

#include <arpa/inet.h>
#include <string.h>

struct pair {
	struct device a, b;
	uint8_t key_a[32], key_b[32];
	struct peer *pa, *pb; /* a's view of b, b's view of a */
};

static int setup(void **state)
{
	static struct pair p;

	memset(&p, 0, sizeof(p));
	assert_int_equal(crypt_init(), 0);
	noise_init();
	assert_int_equal(device_init(&p.a, "a"), 0);
	assert_int_equal(device_init(&p.b, "b"), 0);
	crypt_generate_secret(p.key_a);
	crypt_generate_secret(p.key_b);
	device_set_private_key(&p.a, p.key_a);
	device_set_private_key(&p.b, p.key_b);
	p.pa = peer_create(&p.a, p.b.local.public_key);
	p.pb = peer_create(&p.b, p.a.local.public_key);
	assert_non_null(p.pa);
	assert_non_null(p.pb);
	*state = &p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	device_destroy(&p->a);
	device_destroy(&p->b);
	return 0;
}

/* One full handshake a -> b, b's keypair confirmed: both have a current one. */
static void handshake(struct pair *p)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;

	assert_true(noise_handshake_create_initiation(&init, p->pa));
	cookie_add_macs(p->pa, &init, sizeof(init));
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &p->b.local, &why), p->pb);
	assert_true(noise_handshake_create_response(&resp, p->pb));
	assert_true(noise_handshake_begin_session(p->pb));
	cookie_add_macs(p->pb, &resp, sizeof(resp));
	assert_ptr_equal(noise_handshake_consume_response(&resp, &p->a.local, &why), p->pa);
	assert_true(noise_handshake_begin_session(p->pa));
	assert_true(noise_received_with_keypair(p->pb, p->pb->next));
	assert_non_null(p->pa->current);
	assert_non_null(p->pb->current);
}

/* `wg syncconf` with an unchanged file sets the private key already in
 * use: like the kernel and wireguard-go, nothing may happen. Sessions stay
 * (else every tunnel stops until its peer re-handshakes, up to 15 s), and
 * the per-peer DH is not redone (one X25519 per peer: seconds at 100,000). */
static void same_private_key_is_a_no_op(void **state)
{
	struct pair *p = *state;
	struct keypair *kp;
	uint8_t marker[32];

	handshake(p);
	kp = p->pa->current;
	/* A value no DH produces: it survives only if nothing recomputes it. */
	memset(marker, 0xa5, sizeof(marker));
	memcpy(p->pa->static_static, marker, sizeof(marker));

	device_set_private_key(&p->a, p->key_a);
	assert_ptr_equal(p->pa->current, kp);
	assert_true(noise_keypair_usable(p->pa->current, clock_ms()));
	assert_memory_equal(p->pa->static_static, marker, sizeof(marker));
	assert_int_equal(p->a.local.n_peers, 1);
	assert_true(p->a.local.has_private_key);

	/* A new key does drop the sessions and recompute the DH. */
	crypt_generate_secret(p->key_a);
	device_set_private_key(&p->a, p->key_a);
	assert_null(p->pa->current);
	assert_memory_not_equal(p->pa->static_static, marker, sizeof(marker));
	assert_true(p->pa->static_static_ok);

	/* An unclamped key is kept clamped (wg showconf shows what X25519
	 * uses, as with the kernel and wireguard-go), and the same key
	 * unclamped again changes nothing. */
	{
		uint8_t raw[32], clamped[32];

		crypt_random(raw, sizeof(raw));
		raw[0] |= 7;
		raw[31] |= 0x80;
		raw[31] &= (uint8_t)~0x40;
		memcpy(clamped, raw, sizeof(raw));
		crypt_clamp(clamped);
		device_set_private_key(&p->a, raw);
		assert_memory_equal(p->a.local.private_key, clamped, sizeof(clamped));
		memset(marker, 0x5a, sizeof(marker));
		memcpy(p->pa->static_static, marker, sizeof(marker));
		device_set_private_key(&p->a, raw);
		assert_memory_equal(p->pa->static_static, marker, sizeof(marker));
		peer_refresh_static(p->pa);
	}

	/* No key, then no key again: still nothing to do, and the peer stays. */
	memset(marker, 0, sizeof(marker));
	device_set_private_key(&p->a, marker);
	assert_false(p->a.local.has_private_key);
	assert_false(p->pa->static_static_ok);
	p->pa->static_static_ok = true; /* a marker again */
	device_set_private_key(&p->a, marker);
	assert_true(p->pa->static_static_ok);
	p->pa->static_static_ok = false;
}

/* A hub keeps 100,000 mostly idle peers: the queue of packets waiting for
 * a session (128 slots, 2 KiB) exists only while packets wait. */
static void idle_peer_holds_no_staging_ring(void **state)
{
	struct pair *p = *state;

	assert_true(sizeof(struct peer) < 1024);
	assert_null(p->pa->staged);
	assert_int_equal(p->pa->staged_count, 0);
}

static void stage(struct peer *p, uint8_t tag, size_t len)
{
	uint8_t pkt[64];

	memset(pkt, tag, sizeof(pkt));
	peer_stage(p, FERRY_KIND_IP, pkt, len);
}

static void staged_packets_wait_in_order_then_the_ring_goes(void **state)
{
	struct pair *p = *state;
	struct peer *pa = p->pa;
	uint64_t counter;
	int i;

	/* Full: the oldest go first, counted. */
	for (i = 0; i < MAX_STAGED_PACKETS + 2; i++)
		stage(pa, (uint8_t)i, 20);
	assert_non_null(pa->staged);
	assert_int_equal(pa->staged_count, MAX_STAGED_PACKETS);
	assert_int_equal(p->a.drops[DROP_STAGED_OVERFLOW], 2);
	assert_int_equal(pa->staged[pa->staged_head].data[0], 2);
	assert_int_equal(pa->staged[(pa->staged_head + MAX_STAGED_PACKETS - 1) % MAX_STAGED_PACKETS].data[0],
			 MAX_STAGED_PACKETS + 1);
	/* Purged (the handshake gave up, the peer goes): the ring goes too. */
	peer_purge_staged(pa);
	assert_int_equal(pa->staged_count, 0);
	assert_null(pa->staged);

	/* With a session, staged packets leave in order and the ring goes. */
	handshake(p);
	pa->transport.endpoint.kind = ENDPOINT_UDP;
	pa->transport.endpoint.addr.in4.sin_family = AF_INET;
	pa->transport.endpoint.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.2", &pa->transport.endpoint.addr.in4.sin_addr);
	counter = pa->current->send_counter;
	for (i = 0; i < 3; i++)
		stage(pa, (uint8_t)i, 40);
	assert_non_null(pa->staged);
	send_staged_packets(pa);
	assert_int_equal(pa->staged_count, 0);
	assert_null(pa->staged);
	assert_int_equal(pa->current->send_counter, counter + 3);
	send_flush(&p->a);
	assert_int_equal(p->a.drops[DROP_SEND_ERROR], 3); /* no socket here */

	/* A keepalive with a session needs no queue at all. */
	send_keepalive(pa);
	assert_null(pa->staged);
	assert_int_equal(pa->current->send_counter, counter + 4);

	/* A peer removed with packets waiting frees them (ASan would tell). */
	stage(p->pb, 7, 30);
	noise_keypairs_clear(p->pb);
	stage(p->pb, 8, 30);
	assert_int_equal(p->pb->staged_count, 2);
	peer_remove(p->pb);
	p->pb = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(same_private_key_is_a_no_op, setup, teardown),
		cmocka_unit_test_setup_teardown(idle_peer_holds_no_staging_ring, setup, teardown),
		cmocka_unit_test_setup_teardown(staged_packets_wait_in_order_then_the_ring_goes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
