/* cookie.c - MACs on handshake messages and the cookie mechanism.
 *
 * MAC1 = MAC(HASH(LABEL_MAC1 || receiver's public key), msg up to mac1)
 * proves the sender knows whom it talks to; it is checked before any
 * expensive work. Under load, a responder also requires MAC2 = MAC(cookie,
 * msg up to mac2), where the cookie is MAC(secret, source IP and port) and
 * the secret changes every two minutes; without it the sender gets a cookie
 * reply (the cookie sealed with XChaCha20-Poly1305) and must come back. */
#include "cookie.h"

#include "clock.h"
#include "crypto.h"
#include "noise.h"
#include "peer.h"

#include <netinet/in.h>
#include <string.h>

void cookie_checker_init(struct cookie_checker *c, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN])
{
	crypt_random(c->secret, sizeof(c->secret));
	c->secret_birth_ms = clock_ms();
	crypt_hash(c->mac1_key, LABEL_MAC1, strlen(LABEL_MAC1), public_key, NOISE_PUBLIC_KEY_LEN);
	crypt_hash(c->cookie_key, LABEL_COOKIE, strlen(LABEL_COOKIE), public_key, NOISE_PUBLIC_KEY_LEN);
	/* Without memory for it, MAC1 is checked the slow way (below). */
	if (crypt_mac_key_set(&c->mac1, c->mac1_key, CRYPT_KEY_LEN) < 0)
		c->mac1.ctx = NULL;
}

void cookie_checker_free(struct cookie_checker *c)
{
	crypt_mac_key_free(&c->mac1);
}

static size_t mac1_offset(size_t len)
{
	return len - sizeof(struct message_macs);
}

static size_t mac2_offset(size_t len)
{
	return len - COOKIE_LEN;
}

/* The bytes a cookie is bound to: the source address and port. */
static size_t source_bytes(const struct sockaddr *src, uint8_t out[18])
{
	if (src->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)src;

		memcpy(out, &in->sin_addr, 4);
		memcpy(out + 4, &in->sin_port, 2);
		return 6;
	}
	if (src->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)src;

		memcpy(out, &in6->sin6_addr, 16);
		memcpy(out + 16, &in6->sin6_port, 2);
		return 18;
	}
	return 0;
}

static void make_cookie(struct cookie_checker *c, uint8_t cookie[COOKIE_LEN], const struct sockaddr *src)
{
	uint64_t now = clock_ms();
	uint8_t b[18];
	size_t n;

	if (!c->secret_birth_ms || now - c->secret_birth_ms > COOKIE_SECRET_MAX_AGE_S * 1000ULL) {
		crypt_random(c->secret, sizeof(c->secret));
		c->secret_birth_ms = now;
	}
	n = source_bytes(src, b);
	crypt_mac(cookie, c->secret, sizeof(c->secret), b, n);
}

void cookie_add_macs(struct peer *p, void *msg, size_t len)
{
	struct message_macs *macs = (struct message_macs *)((uint8_t *)msg + mac1_offset(len));
	uint64_t now = clock_ms();

	crypt_mac(macs->mac1, p->cookie.mac1_key, CRYPT_KEY_LEN, msg, mac1_offset(len));
	memcpy(p->cookie.last_mac1_sent, macs->mac1, COOKIE_LEN);
	p->cookie.have_sent_mac1 = true;
	if (p->cookie.birth_ms &&
	    now - p->cookie.birth_ms < (uint64_t)(COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S) * 1000)
		crypt_mac(macs->mac2, p->cookie.cookie, COOKIE_LEN, msg, mac2_offset(len));
	else
		memset(macs->mac2, 0, COOKIE_LEN);
}

enum cookie_mac_state cookie_validate(struct cookie_checker *c, const void *msg, size_t len, const struct sockaddr *src,
				      bool check_cookie)
{
	const struct message_macs *macs = (const struct message_macs *)((const uint8_t *)msg + mac1_offset(len));
	uint8_t computed[COOKIE_LEN], cookie[COOKIE_LEN];

	if (c->mac1.ctx)
		crypt_mac_with(computed, &c->mac1, msg, mac1_offset(len));
	else
		crypt_mac(computed, c->mac1_key, CRYPT_KEY_LEN, msg, mac1_offset(len));
	if (!crypt_equal(computed, macs->mac1, COOKIE_LEN))
		return COOKIE_INVALID_MAC1;
	/* MAC2 matters only under load: two MACs saved per message otherwise. */
	if (!check_cookie)
		return COOKIE_VALID_MAC1_NO_COOKIE;
	make_cookie(c, cookie, src);
	crypt_mac(computed, cookie, COOKIE_LEN, msg, mac2_offset(len));
	if (!crypt_equal(computed, macs->mac2, COOKIE_LEN))
		return COOKIE_VALID_MAC1_NO_COOKIE;
	return COOKIE_VALID_MAC1_AND_COOKIE;
}

void cookie_message_create(struct cookie_checker *c, struct message_handshake_cookie *out, const void *msg, size_t len,
			   uint32_t sender_index, const struct sockaddr *src)
{
	const struct message_macs *macs = (const struct message_macs *)((const uint8_t *)msg + mac1_offset(len));
	uint8_t cookie[COOKIE_LEN];

	memset(out, 0, sizeof(*out));
	le32_write(&out->header.type, MESSAGE_HANDSHAKE_COOKIE);
	le32_write(&out->receiver_index, sender_index);
	crypt_random(out->nonce, COOKIE_NONCE_LEN);
	make_cookie(c, cookie, src);
	/* The MAC1 of the message being answered is the additional data: the
	 * reply is useless to anyone who did not send that message. */
	crypt_xaead_encrypt(out->encrypted_cookie, cookie, COOKIE_LEN, macs->mac1, COOKIE_LEN, out->nonce,
			    c->cookie_key);
}

bool cookie_message_consume(struct noise_local *l, const struct message_handshake_cookie *m)
{
	uint32_t index = le32_read(&m->receiver_index);
	struct index_entry *e = index_lookup(l, index, INDEX_HANDSHAKE);
	uint8_t cookie[COOKIE_LEN];
	struct peer *p;

	if (!e)
		e = index_lookup(l, index, INDEX_KEYPAIR);
	if (!e)
		return false;
	p = e->peer;
	if (!p->cookie.have_sent_mac1)
		return false;
	if (!crypt_xaead_decrypt(cookie, m->encrypted_cookie, sizeof(m->encrypted_cookie), p->cookie.last_mac1_sent,
				 COOKIE_LEN, m->nonce, p->cookie.cookie_key))
		return false;
	memcpy(p->cookie.cookie, cookie, COOKIE_LEN);
	p->cookie.birth_ms = clock_ms();
	/* One reply per MAC1: a second copy of this reply must not refresh it. */
	p->cookie.have_sent_mac1 = false;
	return true;
}
