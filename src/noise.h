/* noise.h - the Noise_IKpsk2 handshake of WireGuard and the keypairs it
 * derives (whitepaper section 5.4). */
#ifndef FERRY_NOISE_H
#define FERRY_NOISE_H

#include "messages.h"
#include "peer.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Our side of the handshake, one per interface (OpenBSD's noise_local):
 * the static key pair, and the tables that find a peer by its public key
 * and a handshake or keypair by the session index we chose (peer.c). The
 * handshake code reaches nothing of the interface but this. */
struct noise_local {
	bool has_private_key;
	uint8_t private_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	struct peer **peer_hash; /* by public key */
	size_t peer_hash_size, n_peers;
	struct index_entry **index_hash; /* by our session index */
	size_t index_hash_size, n_indices;
};

/* Why a handshake message was refused. */
enum noise_reject {
	NOISE_REJECT_INVALID,	    /* decryption failed, unknown peer, wrong state */
	NOISE_REJECT_STALE,	    /* a replayed or too frequent initiation */
	NOISE_REJECT_UNKNOWN_INDEX, /* a response to no handshake of ours */
};

void noise_init(void);

/* Fill @m (all but the MACs) and move the peer's handshake to
 * CREATED_INITIATION. False if we have no private key. */
bool noise_handshake_create_initiation(struct message_handshake_initiation *m, struct peer *p);
/* Authenticate @m; on success returns the peer, its handshake now
 * CONSUMED_INITIATION. NULL and *why set otherwise. */
struct peer *noise_handshake_consume_initiation(const struct message_handshake_initiation *m, struct noise_local *l,
						enum noise_reject *why);
bool noise_handshake_create_response(struct message_handshake_response *m, struct peer *p);
struct peer *noise_handshake_consume_response(const struct message_handshake_response *m, struct noise_local *l,
					      enum noise_reject *why);

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
