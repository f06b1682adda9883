/* timers.h - WireGuard's timers (whitepaper section 6), one function per
 * event. The packet path reports what happened; this file decides what
 * that means for the timers. Each timer is an absolute monotonic deadline
 * in the peer; timers_run() fires the ones that are due, finding them in
 * a queue of the peers with armed timers, so idle peers cost nothing. */
#ifndef FERRY_TIMERS_H
#define FERRY_TIMERS_H

#include "peer.h"

#include <stddef.h>
#include <stdint.h>

void timers_data_sent(struct peer *p);
void timers_data_received(struct peer *p);
void timers_any_authenticated_packet_sent(struct peer *p);
void timers_any_authenticated_packet_received(struct peer *p);
void timers_handshake_initiated(struct peer *p);
void timers_handshake_complete(struct peer *p);
void timers_session_derived(struct peer *p);
void timers_any_authenticated_packet_traversal(struct peer *p);
void timers_stop(struct peer *p);
/* reach.c: the handshake again at once (a new address or transport); and
 * UDP to be probed now and then (Transport = auto went over to TCP). */
void timers_retry_handshake_now(struct peer *p);
void timers_fell_back_to_tcp(struct peer *p);

/* Fire every due timer; returns when to run again (0: nothing armed).
 * That may be a little early, never late (see timers.c). */
uint64_t timers_run(struct device *dev, uint64_t now);
/* Room in the timer queue for @n peers (peer_create), and its end. */
int timers_reserve(struct device *dev, size_t n);
void timers_free(struct device *dev);

#endif
