/* noise.h - the Noise_IKpsk2 handshake of WireGuard and the keypairs it
 * derives (whitepaper section 5.4). */
#ifndef FERRY_NOISE_H
#define FERRY_NOISE_H

#include "device.h"
#include "messages.h"
#include "peer.h"

#include <stdbool.h>

void noise_init(void);

/* Fill @m (all but the MACs) and move the peer's handshake to
 * CREATED_INITIATION. False if we have no private key. */
bool noise_handshake_create_initiation(struct message_handshake_initiation *m, struct peer *p);
/* Authenticate @m; on success returns the peer, its handshake now
 * CONSUMED_INITIATION. NULL and *why set otherwise. */
struct peer *noise_handshake_consume_initiation(const struct message_handshake_initiation *m, struct device *dev,
						enum drop_reason *why);
bool noise_handshake_create_response(struct message_handshake_response *m, struct peer *p);
struct peer *noise_handshake_consume_response(const struct message_handshake_response *m, struct device *dev,
					      enum drop_reason *why);

/* Turn a completed handshake into a keypair and install it: as current for
 * the initiator, as next for the responder (used once the initiator's
 * first data message proves it has the keys). */
bool noise_handshake_begin_session(struct peer *p);
/* A data message arrived on @kp: if it is the peer's next keypair, it
 * becomes current. Returns true when that happened. */
bool noise_received_with_keypair(struct peer *p, struct keypair *kp);

/* Usable for sending: exists, younger than REJECT_AFTER_TIME and with
 * counters left. */
bool noise_keypair_usable(const struct keypair *kp, uint64_t now);

void noise_handshake_clear(struct peer *p);
void noise_keypairs_clear(struct peer *p);

/* TAI64N of now, with the nanoseconds rounded down so that the timestamp
 * leaks less about the clock (as the Linux module does). */
void noise_tai64n_now(uint8_t out[NOISE_TIMESTAMP_LEN]);

#endif
