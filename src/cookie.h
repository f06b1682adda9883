/* cookie.h - MAC1 and MAC2 on handshake messages and cookie replies
 * (whitepaper sections 5.4.4, 5.4.7). */
#ifndef FERRY_COOKIE_H
#define FERRY_COOKIE_H

#include "crypto.h"
#include "messages.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct noise_local;
struct peer;

/* The responder's side, one per interface: what checks MAC1 and makes
 * cookies. */
struct cookie_checker {
	uint8_t secret[CRYPT_HASH_LEN]; /* changes every COOKIE_SECRET_MAX_AGE_S */
	uint64_t secret_birth_ms;
	uint8_t mac1_key[CRYPT_KEY_LEN];   /* HASH(LABEL_MAC1 || our public key) */
	uint8_t cookie_key[CRYPT_KEY_LEN]; /* HASH(LABEL_COOKIE || our public key) */
	struct crypt_mac_key mac1;	   /* keyed with mac1_key, ready */
};

/* What we know of the cookie a responder under load gave us. */
struct cookie_state {
	uint8_t cookie[COOKIE_LEN];
	uint64_t birth_ms; /* 0: none */
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
	uint8_t mac1_key[CRYPT_KEY_LEN];   /* HASH(LABEL_MAC1 || peer's public key) */
	uint8_t cookie_key[CRYPT_KEY_LEN]; /* HASH(LABEL_COOKIE || peer's public key) */
};

enum cookie_mac_state {
	COOKIE_INVALID_MAC1,
	COOKIE_VALID_MAC1_NO_COOKIE, /* MAC1 fine, MAC2 missing or wrong */
	COOKIE_VALID_MAC1_AND_COOKIE,
};

/* A fresh secret and the keys that follow from our @public_key (all zeros
 * without a private key). @c is zeroed before its first init, and given
 * back with cookie_checker_free(). */
void cookie_checker_init(struct cookie_checker *c, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
void cookie_checker_free(struct cookie_checker *c);

/* Fill the MACs at the end of handshake message @msg of @len bytes sent to
 * @p: MAC1 always, MAC2 when a fresh cookie from @p is held. */
void cookie_add_macs(struct peer *p, void *msg, size_t len);

/* Check MAC1 of a received message and, if @check_cookie (under load),
 * MAC2 against the cookie for @src. */
enum cookie_mac_state cookie_validate(struct cookie_checker *c, const void *msg, size_t len, const struct sockaddr *src,
				      bool check_cookie);

/* Build the cookie reply to @msg (whose sender index is @sender_index). */
void cookie_message_create(struct cookie_checker *c, struct message_handshake_cookie *out, const void *msg, size_t len,
			   uint32_t sender_index, const struct sockaddr *src);
/* Take a cookie reply: store the cookie in the peer it is for. */
bool cookie_message_consume(struct noise_local *l, const struct message_handshake_cookie *m);

#endif
