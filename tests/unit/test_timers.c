/* Unit tests: the protocol timers. Random events on many peers are checked
 * against a reference (a timer fires when, and only when, its deadline has
 * passed; timers_run returns a wake-up no later than the next deadline), and
 * an expiry among many idle peers must not visit them. The
 * clock is simulated: timers_run takes "now" as an argument. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "noise.h"
#include "timers.h"

#include <stdlib.h>
#include <string.h>

enum { T_RETRANSMIT, T_KEEPALIVE, T_NEW_HANDSHAKE, T_ZERO_KEYS, T_PERSISTENT, T_PROBE_UDP, N_TIMERS };

static uint64_t *timer_of(struct peer *p, int which)
{
	switch (which) {
	case T_RETRANSMIT:
		return &p->timer_retransmit_handshake;
	case T_KEEPALIVE:
		return &p->timer_send_keepalive;
	case T_NEW_HANDSHAKE:
		return &p->timer_new_handshake;
	case T_ZERO_KEYS:
		return &p->timer_zero_key_material;
	case T_PERSISTENT:
		return &p->timer_persistent_keepalive;
	default:
		return &p->timer_probe_udp;
	}
}

/* A peer with a random public key. The device has no private key, so no
 * DH is done: creating many peers is cheap. */
static struct peer *new_peer(struct device *dev)
{
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];
	struct peer *p;

	crypt_random(pub, sizeof(pub));
	p = peer_create(dev, pub);
	assert_non_null(p);
	return p;
}

static int setup(void **state)
{
	static struct device dev;

	assert_int_equal(crypt_init(), 0);
	noise_init();
	assert_int_equal(device_init(&dev, "t"), 0);
	*state = &dev;
	return 0;
}

static int teardown(void **state)
{
	device_destroy(*state);
	return 0;
}

static uint32_t rnd(uint32_t n)
{
	uint32_t r;

	crypt_random(&r, sizeof(r));
	return r % n;
}

/* One random timer event on @p, as the packet path reports them. */
static void random_event(struct peer *p)
{
	switch (rnd(10)) {
	case 0:
		timers_handshake_initiated(p);
		break;
	case 1:
		timers_data_received(p);
		break;
	case 2:
		timers_data_sent(p);
		break;
	case 3:
		timers_any_authenticated_packet_sent(p);
		break;
	case 4:
		timers_any_authenticated_packet_received(p);
		break;
	case 5:
		timers_session_derived(p);
		break;
	case 6:
		p->persistent_keepalive_s = (uint16_t)(1 + rnd(30));
		timers_any_authenticated_packet_traversal(p);
		break;
	case 7:
		timers_handshake_complete(p);
		break;
	case 8:
		timers_fell_back_to_tcp(p);
		break;
	default:
		timers_stop(p);
		break;
	}
}

#define NPEERS 300
#define ROUNDS 500

/* Reference: with the deadlines of every timer before timers_run(now),
 * afterwards each one that was due is off (the send-keepalive timer re-arms
 * itself when another keepalive was asked for), every other is unchanged,
 * and the returned wake-up is after now and no later than the earliest
 * deadline left. */
static void timers_fire_when_due(void **state)
{
	struct device *dev = *state;
	static struct peer *peers[NPEERS];
	static uint64_t before[NPEERS][N_TIMERS];
	static bool another[NPEERS];
	uint64_t base = clock_ms(), now = base, next;
	int i, k, round, fired = 0;

	for (i = 0; i < NPEERS; i++)
		peers[i] = new_peer(dev);
	for (round = 0; round <= ROUNDS; round++) {
		uint64_t earliest = 0;

		for (k = 0; k < 40; k++)
			random_event(peers[rnd(NPEERS)]);
		/* Peers come and go, with their timers armed. */
		if (rnd(4) == 0) {
			i = (int)rnd(NPEERS);
			peer_remove(peers[i]);
			peers[i] = new_peer(dev);
			random_event(peers[i]);
		}
		for (i = 0; i < NPEERS; i++) {
			/* Stay below MAX_TIMER_HANDSHAKES, whose expiry changes other timers. */
			peers[i]->handshake_attempts = 0;
			another[i] = peers[i]->need_another_keepalive;
			for (k = 0; k < N_TIMERS; k++)
				before[i][k] = *timer_of(peers[i], k);
		}
		/* 50 ms steps over 25 s, then 10 minutes on (zeroing keys). */
		now = round < ROUNDS ? base + (uint64_t)round * 50 : base + 600000;
		next = timers_run(dev, now);
		for (i = 0; i < NPEERS; i++) {
			for (k = 0; k < N_TIMERS; k++) {
				uint64_t b = before[i][k], a = *timer_of(peers[i], k);

				if (b && b <= now) {
					fired++;
					if (k == T_KEEPALIVE && another[i])
						assert_true(a > 0);
					else
						assert_int_equal(a, 0);
				} else {
					assert_int_equal(a, b);
				}
				if (a && (!earliest || a < earliest))
					earliest = a;
			}
		}
		/* A wake-up that finds nothing to do is allowed; a late one is not. */
		if (earliest)
			assert_true(next != 0 && next <= earliest);
		else
			assert_true(next == 0 || next > now);
	}
	assert_true(fired > 1000);
	for (i = 0; i < NPEERS; i++)
		peer_remove(peers[i]);
	assert_int_equal(timers_run(dev, now + 1000000), 0);
}

#define IDLE_PEERS 50000
#define EXPIRIES   200

/* A timer firing among 50,000 idle peers must not visit them: a walk of
 * every peer per expiry is what the queue in timers.c replaced (70 ns a
 * peer: 3.5 ms per expiry here). Time on a shared machine says little, so
 * the test sets a trap instead: every idle peer is queued for a deadline
 * far off, and then, behind the queue's back, given a persistent-keepalive
 * deadline long past. timers_run() finds peers through the queue only, so
 * it must leave those untouched; anything that looks at every peer (and
 * fires what is due) springs the trap. The hot peer's expiries, between
 * them, must each happen, and only they. */
static void expiry_does_not_visit_idle_peers(void **state)
{
	struct device *dev = *state;
	struct peer *hot = NULL, *p;
	size_t idle = 0;
	int i;

	for (i = 0; i < IDLE_PEERS; i++) {
		p = new_peer(dev);
		if (i == IDLE_PEERS / 2) {
			hot = p;
			continue;
		}
		timers_session_derived(p); /* queued, 9 minutes from now */
		p->timer_persistent_keepalive = 1;
		idle++;
	}
	assert_int_equal(dev->timerq_len, idle);
	hot->persistent_keepalive_s = 1;
	for (i = 0; i < EXPIRIES; i++) {
		uint64_t due, next;

		timers_any_authenticated_packet_traversal(hot);
		due = hot->timer_persistent_keepalive;
		assert_true(due > 1);
		/* Not yet due: nothing fires. */
		assert_int_equal(timers_run(dev, due - 1), due);
		assert_int_equal(hot->timer_persistent_keepalive, due);
		next = timers_run(dev, due);
		assert_int_equal(hot->timer_persistent_keepalive, 0);
		assert_true(next > due);
	}
	for (p = dev->peers_head; p; p = p->list_next) {
		if (p == hot)
			continue;
		if (p->timer_persistent_keepalive != 1)
			fail_msg("an idle peer was visited by timers_run()");
		assert_true(p->timer_slot != 0);
	}
	assert_int_equal(dev->timerq_len, idle);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(timers_fire_when_due, setup, teardown),
		cmocka_unit_test_setup_teardown(expiry_does_not_visit_idle_peers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
