/* Unit tests: cookie.c on its own (whitepaper 5.4.4 and 5.4.7). No device,
 * no handshake: a responder is a struct cookie_checker made from a random
 * public key, an initiator a bare struct peer whose MAC keys are derived
 * from that key (as peer_refresh_static() does) and whose handshake holds
 * an index in a struct noise_local, which is all a cookie reply needs to
 * find it. Messages are random bytes of the handshake messages' sizes:
 * the MACs cover bytes, whatever they mean. Time is moved by setting the
 * birth times back, never by sleeping. cookie_validate() is called as
 * under load (check_cookie true) except where the test says otherwise. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "noise.h"
#include "peer.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

struct world {
	uint8_t responder_public[NOISE_PUBLIC_KEY_LEN];
	struct cookie_checker checker; /* the responder's */
	struct noise_local local;      /* the initiator's session indices */
	struct peer *peer;	       /* the initiator's view of the responder */
	struct sockaddr_in src4;       /* where the initiator's messages come from */
	struct sockaddr_in6 src6;
};

static int setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	assert_int_equal(crypt_init(), 0);
	crypt_random(w->responder_public, sizeof(w->responder_public));
	cookie_checker_init(&w->checker, w->responder_public);
	w->peer = calloc(1, sizeof(*w->peer));
	assert_non_null(w->peer);
	w->peer->local = &w->local;
	memcpy(w->peer->public_key, w->responder_public, NOISE_PUBLIC_KEY_LEN);
	crypt_hash(w->peer->cookie.mac1_key, LABEL_MAC1, strlen(LABEL_MAC1), w->responder_public, NOISE_PUBLIC_KEY_LEN);
	crypt_hash(w->peer->cookie.cookie_key, LABEL_COOKIE, strlen(LABEL_COOKIE), w->responder_public,
		   NOISE_PUBLIC_KEY_LEN);
	index_add(&w->local, &w->peer->hs.entry, INDEX_HANDSHAKE, w->peer);
	w->src4.sin_family = AF_INET;
	w->src4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.1", &w->src4.sin_addr);
	w->src6.sin6_family = AF_INET6;
	w->src6.sin6_port = htons(51820);
	inet_pton(AF_INET6, "2001:db8::1", &w->src6.sin6_addr);
	*state = w;
	return 0;
}

static int teardown(void **state)
{
	struct world *w = *state;

	index_remove(&w->local, &w->peer->hs.entry);
	free(w->local.index_hash);
	free(w->peer);
	cookie_checker_free(&w->checker);
	free(w);
	return 0;
}

static struct sockaddr *sa(void *addr)
{
	return addr;
}

/* A message with random content and the initiator's MACs. */
static void random_initiation(struct world *w, struct message_handshake_initiation *m)
{
	crypt_random(m, sizeof(*m));
	cookie_add_macs(w->peer, m, sizeof(*m));
}

static const uint8_t zero_mac[COOKIE_LEN];

/* The responder, under load, answers @m from @src with a cookie reply, and
 * the initiator takes it. */
static bool cookie_round(struct world *w, const void *m, size_t len, struct sockaddr *src)
{
	struct message_handshake_cookie reply;

	cookie_message_create(&w->checker, &reply, m, len, w->peer->hs.entry.index, src);
	return cookie_message_consume(&w->local, &reply);
}

static void mac1_covers_every_byte_before_it(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	size_t i;

	random_initiation(w, &init);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	assert_memory_equal(init.macs.mac2, zero_mac, COOKIE_LEN); /* no cookie held */
	/* One flipped byte anywhere up to the end of MAC1, MAC1 included. */
	for (i = 0; i < offsetof(struct message_handshake_initiation, macs.mac2); i++) {
		struct message_handshake_initiation bad = init;

		((uint8_t *)&bad)[i] ^= 0x01;
		if (cookie_validate(&w->checker, &bad, sizeof(bad), sa(&w->src4), true) != COOKIE_INVALID_MAC1)
			fail_msg("byte %zu flipped: MAC1 still valid", i);
	}
	/* MAC2 is not covered by MAC1. */
	init.macs.mac2[3] ^= 0x80;
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);

	/* The same for a response, whose MACs sit elsewhere. */
	crypt_random(&resp, sizeof(resp));
	cookie_add_macs(w->peer, &resp, sizeof(resp));
	assert_int_equal(cookie_validate(&w->checker, &resp, sizeof(resp), sa(&w->src6), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	for (i = 0; i < offsetof(struct message_handshake_response, macs.mac2); i++) {
		struct message_handshake_response bad = resp;

		((uint8_t *)&bad)[i] ^= 0x10;
		if (cookie_validate(&w->checker, &bad, sizeof(bad), sa(&w->src6), true) != COOKIE_INVALID_MAC1)
			fail_msg("response byte %zu flipped: MAC1 still valid", i);
	}
}

static void mac1_is_for_one_responder(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	struct cookie_checker other = { 0 };
	uint8_t other_public[NOISE_PUBLIC_KEY_LEN];

	random_initiation(w, &init);
	memcpy(other_public, w->responder_public, sizeof(other_public));
	other_public[31] ^= 1;
	cookie_checker_init(&other, other_public);
	assert_int_equal(cookie_validate(&other, &init, sizeof(init), sa(&w->src4), true), COOKIE_INVALID_MAC1);
	cookie_checker_free(&other);
}

static void mac2_only_with_a_fresh_cookie(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	size_t i;

	random_initiation(w, &init);
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src4)));
	random_initiation(w, &init);
	assert_memory_not_equal(init.macs.mac2, zero_mac, COOKIE_LEN);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	/* A flipped byte in MAC2 breaks MAC2 alone (one before it breaks
	 * MAC1, checked first: see above). */
	for (i = 0; i < COOKIE_LEN; i++) {
		struct message_handshake_initiation bad = init;

		bad.macs.mac2[i] ^= 0x04;
		assert_int_equal(cookie_validate(&w->checker, &bad, sizeof(bad), sa(&w->src4), true),
				 COOKIE_VALID_MAC1_NO_COOKIE);
	}
	/* A cookie from another responder's secret is no cookie. */
	{
		struct cookie_checker again = w->checker;

		crypt_random(again.secret, sizeof(again.secret));
		assert_int_equal(cookie_validate(&again, &init, sizeof(init), sa(&w->src4), true),
				 COOKIE_VALID_MAC1_NO_COOKIE);
	}
}

/* A cookie is MAC(secret, source address || port): from another address,
 * or the same address and another port, it is worth nothing. The IPv6
 * scope and flow label are not part of it. */
static void cookie_is_bound_to_address_and_port(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	struct sockaddr_in other4;
	struct sockaddr_in6 other6;

	random_initiation(w, &init);
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src4)));
	random_initiation(w, &init);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	other4 = w->src4;
	other4.sin_port = htons(51821);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&other4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	other4 = w->src4;
	inet_pton(AF_INET, "192.0.2.2", &other4.sin_addr);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&other4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src6), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);

	/* The same over IPv6. */
	random_initiation(w, &init);
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src6)));
	random_initiation(w, &init);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src6), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	other6 = w->src6;
	other6.sin6_port = htons(1);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&other6), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	other6 = w->src6;
	other6.sin6_addr.s6_addr[15] ^= 1;
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&other6), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	other6 = w->src6;
	other6.sin6_scope_id = 3;
	other6.sin6_flowinfo = htonl(0x12345);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&other6), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
}

/* The secret lives COOKIE_SECRET_MAX_AGE_S; after that every cookie made
 * with it is worthless. */
static void secret_rotates_after_its_age(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	uint8_t secret[CRYPT_HASH_LEN];

	random_initiation(w, &init);
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src4)));
	random_initiation(w, &init);
	memcpy(secret, w->checker.secret, sizeof(secret));
	/* A second short of its age: the same secret, the cookie holds. */
	w->checker.secret_birth_ms = clock_ms() - (COOKIE_SECRET_MAX_AGE_S - 1) * 1000ULL;
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	assert_memory_equal(w->checker.secret, secret, sizeof(secret));
	/* Past it: a new secret, born now, and the cookie is no more. */
	w->checker.secret_birth_ms = clock_ms() - COOKIE_SECRET_MAX_AGE_S * 1000ULL - 1;
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	assert_memory_not_equal(w->checker.secret, secret, sizeof(secret));
	assert_true(clock_ms() - w->checker.secret_birth_ms < 1000);
	/* A new cookie, from the new secret, works again. */
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src4)));
	random_initiation(w, &init);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
}

/* A cookie reply is sealed with the MAC1 of the message it answers as
 * additional data: it is taken once, only for the last MAC1 sent. */
static void reply_taken_once_and_for_its_mac1_only(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation first, second;
	struct message_handshake_cookie reply_first, reply_second;

	random_initiation(w, &first);
	cookie_message_create(&w->checker, &reply_first, &first, sizeof(first), w->peer->hs.entry.index, sa(&w->src4));
	assert_int_equal(le32_read(&reply_first.header.type), MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(le32_read(&reply_first.receiver_index), w->peer->hs.entry.index);
	assert_true(cookie_message_consume(&w->local, &reply_first));
	assert_true(w->peer->cookie.birth_ms != 0);
	w->peer->cookie.birth_ms = 1;
	assert_false(cookie_message_consume(&w->local, &reply_first)); /* once */
	assert_int_equal(w->peer->cookie.birth_ms, 1);		       /* not refreshed */

	/* A second message goes out: the reply to the first is no good now. */
	random_initiation(w, &second);
	assert_false(cookie_message_consume(&w->local, &reply_first));
	cookie_message_create(&w->checker, &reply_second, &second, sizeof(second), w->peer->hs.entry.index,
			      sa(&w->src4));
	assert_true(cookie_message_consume(&w->local, &reply_second));
	assert_true(clock_ms() - w->peer->cookie.birth_ms < 1000);

	/* Nor is a reply to a message never sent, nor to nobody's index. */
	random_initiation(w, &first);
	memcpy(&second, &first, sizeof(second));
	second.macs.mac1[0] ^= 1;
	cookie_message_create(&w->checker, &reply_second, &second, sizeof(second), w->peer->hs.entry.index,
			      sa(&w->src4));
	assert_false(cookie_message_consume(&w->local, &reply_second));
	cookie_message_create(&w->checker, &reply_first, &first, sizeof(first), w->peer->hs.entry.index + 1,
			      sa(&w->src4));
	assert_false(cookie_message_consume(&w->local, &reply_first));
}

/* A reply may name a keypair's index too (a cookie for a response). */
static void reply_to_a_keypair_index(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	struct message_handshake_cookie reply;
	struct keypair kp;

	memset(&kp, 0, sizeof(kp));
	index_add(&w->local, &kp.entry, INDEX_KEYPAIR, w->peer);
	random_initiation(w, &init);
	cookie_message_create(&w->checker, &reply, &init, sizeof(init), kp.entry.index, sa(&w->src4));
	assert_true(cookie_message_consume(&w->local, &reply));
	index_remove(&w->local, &kp.entry);
	random_initiation(w, &init);
	cookie_message_create(&w->checker, &reply, &init, sizeof(init), kp.entry.index, sa(&w->src4));
	assert_false(cookie_message_consume(&w->local, &reply)); /* the index is gone */
}

static void flipped_reply_is_refused(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	struct message_handshake_cookie reply;
	size_t i;

	random_initiation(w, &init);
	cookie_message_create(&w->checker, &reply, &init, sizeof(init), w->peer->hs.entry.index, sa(&w->src4));
	/* Every byte after the type: the index, the nonce, the sealed cookie
	 * and its tag. (The type is the receive path's business.) */
	for (i = offsetof(struct message_handshake_cookie, receiver_index); i < sizeof(reply); i++) {
		struct message_handshake_cookie bad = reply;

		((uint8_t *)&bad)[i] ^= 0x20;
		if (cookie_message_consume(&w->local, &bad))
			fail_msg("reply byte %zu flipped: taken", i);
	}
	assert_int_equal(w->peer->cookie.birth_ms, 0);
	/* The untouched reply is still good: the bad ones changed nothing. */
	assert_true(cookie_message_consume(&w->local, &reply));
}

/* A cookie older than COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S
 * may come from a secret the responder has dropped: no MAC2 with it. */
static void stale_cookie_is_not_used(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init;
	const uint64_t usable_ms = (COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S) * 1000ULL;

	random_initiation(w, &init);
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src4)));
	/* A second short of stale: used. */
	w->peer->cookie.birth_ms = clock_ms() - usable_ms + 1000;
	random_initiation(w, &init);
	assert_memory_not_equal(init.macs.mac2, zero_mac, COOKIE_LEN);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	/* Stale: MAC2 is left zero. */
	w->peer->cookie.birth_ms = clock_ms() - usable_ms;
	random_initiation(w, &init);
	assert_memory_equal(init.macs.mac2, zero_mac, COOKIE_LEN);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_NO_COOKIE);
}

/* Not under load, MAC2 is not looked at: a message with a good cookie and
 * one with a wrong MAC2 are both just MAC1-valid; MAC1 still counts. */
static void mac2_not_checked_when_not_under_load(void **state)
{
	struct world *w = *state;
	struct message_handshake_initiation init, bad;

	random_initiation(w, &init);
	assert_true(cookie_round(w, &init, sizeof(init), sa(&w->src4)));
	random_initiation(w, &init);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), true),
			 COOKIE_VALID_MAC1_AND_COOKIE);
	assert_int_equal(cookie_validate(&w->checker, &init, sizeof(init), sa(&w->src4), false),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	bad = init;
	bad.macs.mac2[0] ^= 1;
	assert_int_equal(cookie_validate(&w->checker, &bad, sizeof(bad), sa(&w->src4), false),
			 COOKIE_VALID_MAC1_NO_COOKIE);
	bad = init;
	bad.sender_index ^= 1;
	assert_int_equal(cookie_validate(&w->checker, &bad, sizeof(bad), sa(&w->src4), false), COOKIE_INVALID_MAC1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(mac1_covers_every_byte_before_it, setup, teardown),
		cmocka_unit_test_setup_teardown(mac1_is_for_one_responder, setup, teardown),
		cmocka_unit_test_setup_teardown(mac2_only_with_a_fresh_cookie, setup, teardown),
		cmocka_unit_test_setup_teardown(mac2_not_checked_when_not_under_load, setup, teardown),
		cmocka_unit_test_setup_teardown(cookie_is_bound_to_address_and_port, setup, teardown),
		cmocka_unit_test_setup_teardown(secret_rotates_after_its_age, setup, teardown),
		cmocka_unit_test_setup_teardown(reply_taken_once_and_for_its_mac1_only, setup, teardown),
		cmocka_unit_test_setup_teardown(reply_to_a_keypair_index, setup, teardown),
		cmocka_unit_test_setup_teardown(flipped_reply_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(stale_cookie_is_not_used, setup, teardown),
	};

	return cmocka_run_group_tests_name("cookie", tests, NULL, NULL);
}
