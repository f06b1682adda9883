/* Unit tests: the Noise_IKpsk2 handshake between two in-memory devices,
 * keypair rotation, replayed and forged initiations, MAC1, and the cookie
 * exchange under load. The interoperability tests check the same against
 * wireguard-go on the wire; these pin down each rule on its own. */
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

#include <arpa/inet.h>
#include <string.h>

struct pair {
	struct device a, b;
	struct peer *pa, *pb; /* a's view of b, b's view of a */
	union conf_endpoint src_a;
};

/* The responder's memory of @p's initiations, set as a test needs it
 * instead of sleeping: an initiation must carry a newer timestamp than the
 * last (TAI64N rounded to ~17 ms), and come at least 1000 /
 * INITIATIONS_PER_SECOND ms after it. */
static void forget_timestamp(struct peer *p)
{
	memset(p->hs.latest_timestamp, 0, sizeof(p->hs.latest_timestamp));
}

static void last_initiation_ago(struct peer *p, uint64_t ms)
{
	p->hs.last_initiation_consumption_ms = clock_ms() - ms;
}

/* As if the last initiation from @p had come long ago. */
static void forget_initiations(struct peer *p)
{
	forget_timestamp(p);
	p->hs.last_initiation_consumption_ms = 0;
}

static int setup(void **state)
{
	static struct pair p;
	uint8_t ka[32], kb[32], psk[32];

	memset(&p, 0, sizeof(p));
	assert_int_equal(crypt_init(), 0);
	noise_init();
	assert_int_equal(device_init(&p.a, "a"), 0);
	assert_int_equal(device_init(&p.b, "b"), 0);
	crypt_generate_secret(ka);
	crypt_generate_secret(kb);
	crypt_random(psk, sizeof(psk));
	device_set_private_key(&p.a, ka);
	device_set_private_key(&p.b, kb);
	p.pa = peer_create(&p.a, p.b.local.public_key);
	p.pb = peer_create(&p.b, p.a.local.public_key);
	memcpy(p.pa->preshared_key, psk, 32);
	memcpy(p.pb->preshared_key, psk, 32);
	p.src_a.in4.sin_family = AF_INET;
	p.src_a.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.1", &p.src_a.in4.sin_addr);
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

/* One full handshake a -> b; returns false if any step fails. */
static bool handshake(struct pair *p)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;

	if (!noise_handshake_create_initiation(&init, p->pa))
		return false;
	cookie_add_macs(p->pa, &init, sizeof(init));
	if (cookie_validate(&p->b.checker, &init, sizeof(init), &p->src_a.sa, true) == COOKIE_INVALID_MAC1)
		return false;
	if (noise_handshake_consume_initiation(&init, &p->b.local, &why) != p->pb)
		return false;
	if (!noise_handshake_create_response(&resp, p->pb) || !noise_handshake_begin_session(p->pb))
		return false;
	cookie_add_macs(p->pb, &resp, sizeof(resp));
	if (noise_handshake_consume_response(&resp, &p->a.local, &why) != p->pa)
		return false;
	return noise_handshake_begin_session(p->pa);
}

static void handshake_derives_matching_keys(void **state)
{
	struct pair *p = *state;
	uint8_t plain[64] = "ferry", ct[80], back[64];

	assert_true(handshake(p));
	assert_non_null(p->pa->current);
	assert_null(p->pb->current); /* the responder waits for confirmation */
	assert_non_null(p->pb->next);
	assert_memory_equal(p->pa->current->send_key, p->pb->next->recv_key, 32);
	assert_memory_equal(p->pa->current->recv_key, p->pb->next->send_key, 32);
	assert_int_equal(p->pa->current->remote_index, p->pb->next->entry.index);
	assert_int_equal(p->pb->next->remote_index, p->pa->current->entry.index);

	crypt_aead_encrypt(ct, plain, sizeof(plain), NULL, 0, 7, p->pa->current->send_key);
	assert_true(crypt_aead_decrypt(back, ct, sizeof(ct), NULL, 0, 7, p->pb->next->recv_key));
	assert_memory_equal(back, plain, sizeof(plain));
	assert_false(crypt_aead_decrypt(back, ct, sizeof(ct), NULL, 0, 8, p->pb->next->recv_key));

	/* The first data message on next makes it current. */
	assert_true(noise_received_with_keypair(p->pb, p->pb->next));
	assert_non_null(p->pb->current);
	assert_null(p->pb->next);
}

static void rotation_keeps_previous(void **state)
{
	struct pair *p = *state;
	struct keypair *old_a, *old_b;

	assert_true(handshake(p));
	old_a = p->pa->current;
	assert_true(noise_received_with_keypair(p->pb, p->pb->next));
	old_b = p->pb->current;
	/* Within the same ~17 ms the second initiation's timestamp may equal
	 * the first's, and it comes too soon: b forgets both. */
	forget_initiations(p->pb);
	assert_true(handshake(p));
	assert_ptr_equal(p->pa->previous, old_a);
	assert_ptr_not_equal(p->pa->current, old_a);
	assert_ptr_equal(p->pb->current, old_b); /* until confirmed */
	assert_true(noise_received_with_keypair(p->pb, p->pb->next));
	assert_ptr_equal(p->pb->previous, old_b);
	assert_memory_equal(p->pa->current->send_key, p->pb->current->recv_key, 32);
}

static void replayed_initiation_is_rejected(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	enum noise_reject why;

	assert_true(noise_handshake_create_initiation(&init, p->pa));
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &p->b.local, &why), p->pb);
	/* Long after, so that only its timestamp can be the reason. */
	last_initiation_ago(p->pb, 60000);
	assert_null(noise_handshake_consume_initiation(&init, &p->b.local, &why));
	assert_int_equal(why, NOISE_REJECT_STALE);
	assert_int_equal(p->pb->hs.state, HANDSHAKE_CONSUMED_INITIATION); /* the first one's */
	/* The same message is good again only once b forgets the timestamp. */
	forget_timestamp(p->pb);
	assert_ptr_equal(noise_handshake_consume_initiation(&init, &p->b.local, &why), p->pb);
}

/* At most INITIATIONS_PER_SECOND initiations a second, each with a newer
 * timestamp: a new one within 1000 / INITIATIONS_PER_SECOND ms of the last
 * is refused, one that long after is taken. */
static void initiation_flood_is_rejected(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation first, second;
	enum noise_reject why;
	struct peer *got = NULL;
	int tries;

	assert_true(noise_handshake_create_initiation(&first, p->pa));
	assert_ptr_equal(noise_handshake_consume_initiation(&first, &p->b.local, &why), p->pb);
	assert_true(noise_handshake_create_initiation(&second, p->pa));
	/* Its timestamp may equal the first's (same ~17 ms): b forgets that,
	 * so that only the rate can refuse it. The first came just now; should
	 * the machine stall for the whole interval meanwhile, that try proves
	 * nothing and is made again. */
	for (tries = 0; tries < 10; tries++) {
		uint64_t before = clock_ms();

		forget_timestamp(p->pb);
		p->pb->hs.last_initiation_consumption_ms = before;
		got = noise_handshake_consume_initiation(&second, &p->b.local, &why);
		if (clock_ms() - before < 1000 / INITIATIONS_PER_SECOND)
			break;
	}
	assert_true(tries < 10);
	assert_null(got);
	assert_int_equal(why, NOISE_REJECT_STALE);
	forget_timestamp(p->pb);
	last_initiation_ago(p->pb, 1000 / INITIATIONS_PER_SECOND);
	assert_ptr_equal(noise_handshake_consume_initiation(&second, &p->b.local, &why), p->pb);
	assert_int_equal(p->pb->hs.remote_index, le32_read(&second.sender_index));
}

static void forged_messages_are_rejected(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;
	size_t i;

	assert_true(noise_handshake_create_initiation(&init, p->pa));
	cookie_add_macs(p->pa, &init, sizeof(init));
	/* Any flipped bit before the MACs breaks MAC1... */
	for (i = 0; i < offsetof(struct message_handshake_initiation, macs); i += 7) {
		struct message_handshake_initiation bad = init;

		((uint8_t *)&bad)[i] ^= 0x40;
		assert_int_equal(cookie_validate(&p->b.checker, &bad, sizeof(bad), &p->src_a.sa, true),
				 COOKIE_INVALID_MAC1);
		/* ...and, past the header, the handshake itself. */
		if (i >= 8)
			assert_null(noise_handshake_consume_initiation(&bad, &p->b.local, &why));
	}
	/* A response to an index nobody issued. */
	memset(&resp, 0, sizeof(resp));
	resp.receiver_index = 12345;
	assert_null(noise_handshake_consume_response(&resp, &p->a.local, &why));
	assert_int_equal(why, NOISE_REJECT_UNKNOWN_INDEX);
	/* An unknown static key: b does not know c. */
	{
		struct device c;
		uint8_t kc[32];
		struct peer *pc;

		assert_int_equal(device_init(&c, "c"), 0);
		crypt_generate_secret(kc);
		device_set_private_key(&c, kc);
		pc = peer_create(&c, p->b.local.public_key);
		assert_true(noise_handshake_create_initiation(&init, pc));
		assert_null(noise_handshake_consume_initiation(&init, &p->b.local, &why));
		assert_int_equal(why, NOISE_REJECT_INVALID);
		device_destroy(&c);
	}
}

static void cookie_round_trip_under_load(void **state)
{
	struct pair *p = *state;
	struct message_handshake_initiation init;
	struct message_handshake_cookie reply;

	p->b.force_under_load = true;
	assert_true(noise_handshake_create_initiation(&init, p->pa));
	cookie_add_macs(p->pa, &init, sizeof(init));
	assert_int_equal(cookie_validate(&p->b.checker, &init, sizeof(init), &p->src_a.sa, true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	cookie_message_create(&p->b.checker, &reply, &init, sizeof(init), le32_read(&init.sender_index), &p->src_a.sa);
	assert_true(cookie_message_consume(&p->a.local, &reply));
	assert_false(cookie_message_consume(&p->a.local, &reply)); /* one reply per MAC1 */

	assert_true(noise_handshake_create_initiation(&init, p->pa));
	cookie_add_macs(p->pa, &init, sizeof(init));
	assert_int_equal(cookie_validate(&p->b.checker, &init, sizeof(init), &p->src_a.sa, true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	/* The cookie is bound to the source: from elsewhere it is worthless. */
	{
		union conf_endpoint other = p->src_a;

		other.in4.sin_port = htons(4444);
		assert_int_equal(cookie_validate(&p->b.checker, &init, sizeof(init), &other.sa, true),
				 COOKIE_VALID_MAC1_NO_COOKIE);
	}
	p->b.force_under_load = false;
}

static void low_order_public_key_is_refused(void **state)
{
	struct pair *p = *state;
	uint8_t zero[32] = { 0 };
	struct message_handshake_initiation init;
	struct peer *bad;

	(void)state;
	bad = peer_create(&p->a, zero);
	assert_non_null(bad);
	assert_false(bad->static_static_ok);
	assert_false(noise_handshake_create_initiation(&init, bad));
	peer_remove(bad);
}

int main(void)
{
	/* Each test on a fresh pair of devices: none depends on another's
	 * handshakes, or on time passing between them. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(handshake_derives_matching_keys, setup, teardown),
		cmocka_unit_test_setup_teardown(rotation_keeps_previous, setup, teardown),
		cmocka_unit_test_setup_teardown(replayed_initiation_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(initiation_flood_is_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(forged_messages_are_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(cookie_round_trip_under_load, setup, teardown),
		cmocka_unit_test_setup_teardown(low_order_public_key_is_refused, setup, teardown),
	};

	return cmocka_run_group_tests_name("noise", tests, NULL, NULL);
}
