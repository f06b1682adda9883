/* timers.c - the protocol's timers, after the whitepaper and the WireGuard
 * module's timers.c: events arm or disarm deadlines; expiry functions do
 * what the protocol says on expiry. */
#include "timers.h"

#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "log.h"
#include "noise.h"
#include "send.h"

static uint64_t jitter_ms(void)
{
	uint32_t r;

	crypt_random(&r, sizeof(r));
	return r % REKEY_TIMEOUT_JITTER_MS;
}

static void arm(struct peer *p, uint64_t *timer, uint64_t delay_ms)
{
	*timer = clock_ms() + delay_ms;
	if (!*timer)
		*timer = 1;
	device_timers_changed(p->dev, *timer);
}

/* An authenticated data packet was sent: expect something back. */
void timers_data_sent(struct peer *p)
{
	if (!p->timer_new_handshake)
		arm(p, &p->timer_new_handshake, (KEEPALIVE_TIMEOUT_S + REKEY_TIMEOUT_S) * 1000ULL + jitter_ms());
}

/* An authenticated data packet was received: answer with a keepalive if
 * we have nothing to say within KEEPALIVE_TIMEOUT. */
void timers_data_received(struct peer *p)
{
	if (!p->timer_send_keepalive)
		arm(p, &p->timer_send_keepalive, KEEPALIVE_TIMEOUT_S * 1000ULL);
	else
		p->need_another_keepalive = true;
}

void timers_any_authenticated_packet_sent(struct peer *p)
{
	p->timer_send_keepalive = 0;
}

void timers_any_authenticated_packet_received(struct peer *p)
{
	p->timer_new_handshake = 0;
}

void timers_handshake_initiated(struct peer *p)
{
	arm(p, &p->timer_retransmit_handshake, REKEY_TIMEOUT_S * 1000ULL + jitter_ms());
}

void timers_handshake_complete(struct peer *p)
{
	p->timer_retransmit_handshake = 0;
	p->handshake_attempts = 0;
	p->sent_lastminute_handshake = false;
	clock_gettime(CLOCK_REALTIME, &p->last_handshake);
}

/* Keys exist: make sure they are wiped if nothing renews them. */
void timers_session_derived(struct peer *p)
{
	arm(p, &p->timer_zero_key_material, REJECT_AFTER_TIME_S * 3 * 1000ULL);
}

void timers_any_authenticated_packet_traversal(struct peer *p)
{
	if (p->persistent_keepalive_s)
		arm(p, &p->timer_persistent_keepalive, p->persistent_keepalive_s * 1000ULL);
}

void timers_stop(struct peer *p)
{
	p->timer_retransmit_handshake = p->timer_send_keepalive = p->timer_new_handshake = 0;
	p->timer_zero_key_material = p->timer_persistent_keepalive = 0;
}

static void expired_retransmit_handshake(struct peer *p)
{
	if (p->handshake_attempts > MAX_TIMER_HANDSHAKES) {
		log_debug("%s: handshake with a peer did not complete after %u attempts, giving up", p->dev->name,
			  p->handshake_attempts);
		p->timer_send_keepalive = 0;
		/* Packets without a session are dropped once we stop trying. */
		peer_purge_staged(p);
		if (!p->timer_zero_key_material)
			arm(p, &p->timer_zero_key_material, REJECT_AFTER_TIME_S * 3 * 1000ULL);
		return;
	}
	p->handshake_attempts++;
	log_debug("%s: handshake did not complete after %d seconds, retrying (try %u)", p->dev->name, REKEY_TIMEOUT_S,
		  p->handshake_attempts + 1);
	send_handshake_initiation(p, true);
}

static void expired_send_keepalive(struct peer *p)
{
	send_keepalive(p);
	if (p->need_another_keepalive) {
		p->need_another_keepalive = false;
		arm(p, &p->timer_send_keepalive, KEEPALIVE_TIMEOUT_S * 1000ULL);
	}
}

static void expired_new_handshake(struct peer *p)
{
	log_debug("%s: retrying handshake because we stopped hearing back after %d seconds", p->dev->name,
		  KEEPALIVE_TIMEOUT_S + REKEY_TIMEOUT_S);
	send_handshake_initiation(p, false);
}

static void expired_zero_key_material(struct peer *p)
{
	noise_handshake_clear(p);
	noise_keypairs_clear(p);
}

static void expired_persistent_keepalive(struct peer *p)
{
	if (p->persistent_keepalive_s)
		send_keepalive(p);
}

/* Fire @timer if due; returns the remaining deadline for min-tracking. */
static uint64_t fire(struct peer *p, uint64_t *timer, uint64_t now, void (*expired)(struct peer *))
{
	if (*timer && *timer <= now) {
		*timer = 0;
		expired(p);
	}
	return *timer;
}

static void next_min(uint64_t *next, uint64_t t)
{
	if (t && (!*next || t < *next))
		*next = t;
}

uint64_t timers_run(struct device *dev, uint64_t now)
{
	struct peer *p, *n;
	uint64_t next = 0;

	for (p = dev->peers_head; p; p = n) {
		n = p->list_next;
		next_min(&next, fire(p, &p->timer_retransmit_handshake, now, expired_retransmit_handshake));
		next_min(&next, fire(p, &p->timer_send_keepalive, now, expired_send_keepalive));
		next_min(&next, fire(p, &p->timer_new_handshake, now, expired_new_handshake));
		next_min(&next, fire(p, &p->timer_zero_key_material, now, expired_zero_key_material));
		next_min(&next, fire(p, &p->timer_persistent_keepalive, now, expired_persistent_keepalive));
		/* Expiry functions may arm other timers of this peer. */
		next_min(&next, p->timer_retransmit_handshake);
		next_min(&next, p->timer_send_keepalive);
		next_min(&next, p->timer_new_handshake);
		next_min(&next, p->timer_zero_key_material);
		next_min(&next, p->timer_persistent_keepalive);
	}
	return next;
}
