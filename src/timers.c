/* timers.c - the protocol's timers, after the whitepaper and the WireGuard
 * module's timers.c: events arm or disarm deadlines; expiry functions do
 * what the protocol says on expiry.
 *
 * Each peer keeps its six deadlines. The device keeps a queue of the peers
 * that may have one armed: a binary min-heap (dev->timerq) keyed by a time
 * no later than the peer's earliest deadline, the peer knowing its place
 * (timer_slot). So an expiry costs O(log peers) and idle peers cost
 * nothing, where a walk of every peer cost ~70 ns per peer per expiry
 * (7 ms at 100,000 peers).
 *
 * The queue is lazy, because the per-packet events must stay cheap:
 * - arming a deadline earlier than the peer's key moves it up the heap
 *   (first arming, or a keepalive interval shorter than what is queued);
 * - arming a later one, or disarming, leaves the queue alone: data packets
 *   push back keepalive and new-handshake deadlines all the time;
 * - when the key comes due, timers_run() fires what is really due and
 *   queues the peer again under its earliest remaining deadline, if any.
 * A peer thus wakes the loop at most once per deadline that was moved
 * later, and the returned wake-up is never later than a real deadline.
 *
 * Threads (for when data-path workers call the event functions while one
 * control thread runs timers_run): the deadlines would become atomics
 * written by the workers; heap changes (insert, move up, pop) would take
 * one device-wide timer lock, entered by a worker only on the rare
 * earlier-than-queued path; and "peer no longer queued" must be published
 * (seq_cst) by the control thread before it reads the deadlines to
 * requeue, and read by a worker after it stores a deadline, so that one of
 * the two always queues a newly armed timer. A worker that moves the root
 * earlier wakes the control thread (its timerfd). */
#include "timers.h"

#include "clock.h"
#include "crypto.h"
#include "device.h"
#include "log.h"
#include "noise.h"
#include "reach.h"
#include "send.h"

#include <errno.h>
#include <stdlib.h>

static uint64_t jitter_ms(void)
{
	uint32_t r;

	crypt_random(&r, sizeof(r));
	return r % REKEY_TIMEOUT_JITTER_MS;
}

/* --- the queue --- */

static void tq_put(struct device *dev, size_t i, struct timer_entry e)
{
	dev->timerq[i] = e;
	e.peer->timer_slot = (uint32_t)(i + 1);
}

static void tq_up(struct device *dev, size_t i)
{
	struct timer_entry e = dev->timerq[i];

	while (i) {
		size_t parent = (i - 1) / 2;

		if (dev->timerq[parent].due <= e.due)
			break;
		tq_put(dev, i, dev->timerq[parent]);
		i = parent;
	}
	tq_put(dev, i, e);
}

static void tq_down(struct device *dev, size_t i)
{
	struct timer_entry e = dev->timerq[i];
	size_t n = dev->timerq_len;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && dev->timerq[c + 1].due < dev->timerq[c].due)
			c++;
		if (e.due <= dev->timerq[c].due)
			break;
		tq_put(dev, i, dev->timerq[c]);
		i = c;
	}
	tq_put(dev, i, e);
}

/* Make sure @p is queued no later than @due, and the loop wakes in time. */
static void tq_schedule(struct peer *p, uint64_t due)
{
	struct device *dev = p->dev;
	size_t i;

	if (p->timer_slot) {
		i = p->timer_slot - 1;
		if (dev->timerq[i].due <= due)
			return;
		dev->timerq[i].due = due;
	} else {
		/* Room for every peer is reserved by peer_create(). */
		if (dev->timerq_len == dev->timerq_cap && timers_reserve(dev, dev->timerq_cap + 1) < 0) {
			log_err("%s: out of memory for timers", dev->name);
			abort();
		}
		i = dev->timerq_len++;
		dev->timerq[i] = (struct timer_entry){ .due = due, .peer = p };
	}
	tq_up(dev, i);
	device_timers_changed(dev, due);
}

static void tq_remove(struct peer *p)
{
	struct device *dev = p->dev;
	size_t i;

	if (!p->timer_slot)
		return;
	i = p->timer_slot - 1;
	p->timer_slot = 0;
	if (i == --dev->timerq_len)
		return;
	tq_put(dev, i, dev->timerq[dev->timerq_len]);
	if (i && dev->timerq[(i - 1) / 2].due > dev->timerq[i].due)
		tq_up(dev, i);
	else
		tq_down(dev, i);
}

int timers_reserve(struct device *dev, size_t n)
{
	size_t cap = dev->timerq_cap ? dev->timerq_cap : 64;
	struct timer_entry *q;

	if (n <= dev->timerq_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	q = realloc(dev->timerq, cap * sizeof(*q));
	if (!q)
		return -ENOMEM;
	dev->timerq = q;
	dev->timerq_cap = cap;
	return 0;
}

void timers_free(struct device *dev)
{
	free(dev->timerq);
	dev->timerq = NULL;
	dev->timerq_len = dev->timerq_cap = 0;
}

/* --- events --- */

static void arm(struct peer *p, uint64_t *timer, uint64_t delay_ms)
{
	*timer = clock_ms() + delay_ms;
	if (!*timer)
		*timer = 1;
	tq_schedule(p, *timer);
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
	reach_heard_from(&p->reach);
}

void timers_handshake_initiated(struct peer *p)
{
	/* A UDP probe (reach.c) is not retried: the session over TCP goes on. */
	if (!p->reach.probing)
		arm(p, &p->timer_retransmit_handshake, REKEY_TIMEOUT_S * 1000ULL + jitter_ms());
	/* Unanswered initiations may call for another address or transport. */
	reach_initiation_sent(p);
}

void timers_handshake_complete(struct peer *p)
{
	p->timer_retransmit_handshake = 0;
	p->handshake_attempts = 0;
	p->sent_lastminute_handshake = false;
	clock_gettime(CLOCK_REALTIME, &p->last_handshake);
	reach_handshake_complete(p);
}

/* The way to the peer changed (reach.c): retransmit the handshake now
 * rather than after REKEY_TIMEOUT. */
void timers_retry_handshake_now(struct peer *p)
{
	arm(p, &p->timer_retransmit_handshake, 0);
}

/* Transport = auto went over to TCP: probe UDP from time to time. */
void timers_fell_back_to_tcp(struct peer *p)
{
	arm(p, &p->timer_probe_udp, REACH_PROBE_INTERVAL_MS);
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
	p->timer_zero_key_material = p->timer_persistent_keepalive = p->timer_probe_udp = 0;
	tq_remove(p);
}

/* --- expiry --- */

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

static void expired_probe_udp(struct peer *p)
{
	if (reach_probe_udp(p))
		arm(p, &p->timer_probe_udp, REACH_PROBE_INTERVAL_MS);
}

static void fire(struct peer *p, uint64_t *timer, uint64_t now, void (*expired)(struct peer *))
{
	if (*timer && *timer <= now) {
		*timer = 0;
		expired(p);
	}
}

static void next_min(uint64_t *next, uint64_t t)
{
	if (t && (!*next || t < *next))
		*next = t;
}

static uint64_t earliest_deadline(const struct peer *p)
{
	uint64_t next = 0;

	next_min(&next, p->timer_retransmit_handshake);
	next_min(&next, p->timer_send_keepalive);
	next_min(&next, p->timer_new_handshake);
	next_min(&next, p->timer_zero_key_material);
	next_min(&next, p->timer_persistent_keepalive);
	next_min(&next, p->timer_probe_udp);
	return next;
}

uint64_t timers_run(struct device *dev, uint64_t now)
{
	struct peer *due = NULL, *p;

	/* First take every peer whose key is due out of the queue, then fire:
	 * a peer is visited once per run even if an expiry arms a deadline
	 * that is already past (only a simulated clock does that). */
	while (dev->timerq_len && dev->timerq[0].due <= now) {
		p = dev->timerq[0].peer;
		tq_remove(p);
		p->timer_due_next = due;
		due = p;
	}
	while ((p = due)) {
		uint64_t next;

		due = p->timer_due_next;
		p->timer_due_next = NULL;
		fire(p, &p->timer_retransmit_handshake, now, expired_retransmit_handshake);
		fire(p, &p->timer_send_keepalive, now, expired_send_keepalive);
		fire(p, &p->timer_new_handshake, now, expired_new_handshake);
		fire(p, &p->timer_zero_key_material, now, expired_zero_key_material);
		fire(p, &p->timer_persistent_keepalive, now, expired_persistent_keepalive);
		fire(p, &p->timer_probe_udp, now, expired_probe_udp);
		/* Expiry functions may arm other timers of this peer. */
		next = earliest_deadline(p);
		if (next)
			tq_schedule(p, next);
	}
	return dev->timerq_len ? dev->timerq[0].due : 0;
}
