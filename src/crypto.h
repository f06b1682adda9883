/* crypto.h - the primitives of the WireGuard protocol, from libraries:
 * OpenSSL libcrypto (BLAKE2s, HMAC, X25519, ChaCha20-Poly1305) and
 * libsodium (XChaCha20-Poly1305, constant-time compare, wiping). */
#ifndef FERRY_CRYPTO_H
#define FERRY_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPT_KEY_LEN	 32 /* X25519 keys, symmetric keys, hashes */
#define CRYPT_HASH_LEN	 32
#define CRYPT_TAG_LEN	 16 /* Poly1305 */
#define CRYPT_XNONCE_LEN 24 /* XChaCha20 */
#define CRYPT_MAC_LEN	 16 /* MAC1, MAC2, cookies */

/* Call once before anything else; returns 0 or -1. */
int crypt_init(void);

/* HASH: BLAKE2s-256 over the concatenation of up to three inputs (NULL ends). */
void crypt_hash(uint8_t out[CRYPT_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
/* MAC: keyed BLAKE2s with a 16-byte output (MAC1, MAC2, cookies). */
void crypt_mac(uint8_t out[CRYPT_MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/* HMAC-BLAKE2s (RFC 2104) with a 32-byte output. */
void crypt_hmac(uint8_t out[CRYPT_HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen);
/* The Noise KDF_n (HKDF with HMAC-BLAKE2s): fills t1, t2, t3 (t2/t3 may be NULL). */
void crypt_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[CRYPT_HASH_LEN], const void *in, size_t inlen);

/* X25519. crypt_dh() returns false when the result is all zeros (a
 * low-order point), which the protocol must reject. */
/* An X25519 secret as RFC 7748 uses it: low three bits clear, top bit
 * clear, next bit set. */
void crypt_clamp(uint8_t secret[CRYPT_KEY_LEN]);
void crypt_generate_secret(uint8_t secret[CRYPT_KEY_LEN]);
void crypt_public_key(uint8_t pub[CRYPT_KEY_LEN], const uint8_t secret[CRYPT_KEY_LEN]);
bool crypt_dh(uint8_t out[CRYPT_KEY_LEN], const uint8_t secret[CRYPT_KEY_LEN], const uint8_t pub[CRYPT_KEY_LEN]);

/* ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits then
 * the 64-bit counter, little-endian. out may equal in (in place). Encrypt
 * writes inlen + 16 bytes; decrypt returns false on a bad tag. */
void crypt_aead_encrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			uint64_t counter, const uint8_t key[CRYPT_KEY_LEN]);
bool crypt_aead_decrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			uint64_t counter, const uint8_t key[CRYPT_KEY_LEN]);

/* XChaCha20-Poly1305 for cookie replies. */
void crypt_xaead_encrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			 const uint8_t nonce[CRYPT_XNONCE_LEN], const uint8_t key[CRYPT_KEY_LEN]);
bool crypt_xaead_decrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			 const uint8_t nonce[CRYPT_XNONCE_LEN], const uint8_t key[CRYPT_KEY_LEN]);

/* A keyed BLAKE2s-128 MAC kept ready for its key: MAC1 is checked on every
 * handshake message, a flood's included, and a context made per call costs
 * as much again as the MAC itself. */
struct crypt_mac_key {
	void *ctx; /* the library's, NULL until the first key */
};
/* (Re)key @k; 0 or -ENOMEM. */
int crypt_mac_key_set(struct crypt_mac_key *k, const uint8_t *key, size_t keylen);
void crypt_mac_with(uint8_t out[CRYPT_MAC_LEN], struct crypt_mac_key *k, const void *in, size_t inlen);
void crypt_mac_key_free(struct crypt_mac_key *k);

void crypt_random(void *buf, size_t len);
bool crypt_equal(const void *a, const void *b, size_t len); /* constant time */
void crypt_wipe(void *buf, size_t len);
/* realloc() for buffers that may hold keys: the contents move to a new
 * block of @new_size bytes and the old block of @old_size is wiped before
 * it is freed (realloc would leave a copy behind). NULL: @buf is kept. */
void *crypt_realloc_wiped(void *buf, size_t old_size, size_t new_size);
bool crypt_is_zero(const void *buf, size_t len); /* constant time */

#endif
