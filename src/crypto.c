/* crypto.c - WireGuard's primitives from OpenSSL 3 and libsodium; nothing
 * here implements a primitive, it only adapts the libraries' interfaces to
 * the protocol's (nonce layout, output sizes, all-zero DH rejection).
 *
 * The AEAD contexts are cached per thread: EVP_CIPHER_CTX allocation per
 * packet would dominate the cost of small packets. */
#include "crypto.h"

#include <errno.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static EVP_MAC *blake2s_mac;
static EVP_CIPHER *chacha_poly;
static const EVP_MD *blake2s_md;
static _Thread_local EVP_CIPHER_CTX *aead_enc_ctx, *aead_dec_ctx;
static _Thread_local EVP_MD_CTX *md_ctx;

int crypt_init(void)
{
	if (sodium_init() < 0)
		return -1;
	blake2s_md = EVP_blake2s256();
	blake2s_mac = EVP_MAC_fetch(NULL, "BLAKE2SMAC", NULL);
	/* Fetched once: an implicit fetch in every EVP_*Init costs more than
	 * encrypting a small packet. */
	chacha_poly = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
	if (!blake2s_md || !blake2s_mac || !chacha_poly)
		return -1;
	return 0;
}

/* Crypto failures here are allocation failures or library misuse, not bad
 * input: continuing could send unauthenticated data, so stop. */
static void crypt_fatal(const char *what)
{
	fprintf(stderr, "ferry: fatal: %s failed in libcrypto\n", what);
	abort();
}

void crypt_hash(uint8_t out[CRYPT_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	unsigned int len = CRYPT_HASH_LEN;

	if (!md_ctx && !(md_ctx = EVP_MD_CTX_new()))
		crypt_fatal("EVP_MD_CTX_new");
	if (!EVP_DigestInit_ex(md_ctx, blake2s_md, NULL) || !EVP_DigestUpdate(md_ctx, a, alen) ||
	    (blen && !EVP_DigestUpdate(md_ctx, b, blen)) || !EVP_DigestFinal_ex(md_ctx, out, &len))
		crypt_fatal("BLAKE2s");
}

void crypt_mac(uint8_t out[CRYPT_MAC_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen)
{
	/* One context per thread, keyed anew by each call: a context made and
	 * freed per MAC cost as much again as the MAC (and a malloc that a
	 * handshake flood would pay for). */
	static _Thread_local struct crypt_mac_key k;

	if (crypt_mac_key_set(&k, key, keylen) < 0)
		crypt_fatal("keyed BLAKE2s");
	crypt_mac_with(out, &k, in, inlen);
}

int crypt_mac_key_set(struct crypt_mac_key *k, const uint8_t *key, size_t keylen)
{
	size_t size = CRYPT_MAC_LEN;
	OSSL_PARAM params[] = { OSSL_PARAM_construct_size_t(OSSL_MAC_PARAM_SIZE, &size), OSSL_PARAM_construct_end() };

	if (!k->ctx && !(k->ctx = EVP_MAC_CTX_new(blake2s_mac)))
		return -ENOMEM;
	if (!EVP_MAC_init(k->ctx, key, keylen, params))
		crypt_fatal("keyed BLAKE2s");
	return 0;
}

void crypt_mac_with(uint8_t out[CRYPT_MAC_LEN], struct crypt_mac_key *k, const void *in, size_t inlen)
{
	size_t outlen = 0;

	/* No key given: the one set before, from the start again. */
	if (!k->ctx || !EVP_MAC_init(k->ctx, NULL, 0, NULL) || !EVP_MAC_update(k->ctx, in, inlen) ||
	    !EVP_MAC_final(k->ctx, out, &outlen, CRYPT_MAC_LEN) || outlen != CRYPT_MAC_LEN)
		crypt_fatal("keyed BLAKE2s");
}

void crypt_mac_key_free(struct crypt_mac_key *k)
{
	EVP_MAC_CTX_free(k->ctx); /* it cleanses the key it holds */
	k->ctx = NULL;
}

void crypt_hmac(uint8_t out[CRYPT_HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t inlen)
{
	unsigned int len = CRYPT_HASH_LEN;

	if (!HMAC(blake2s_md, key, (int)keylen, in, inlen, out, &len) || len != CRYPT_HASH_LEN)
		crypt_fatal("HMAC-BLAKE2s");
}

/* Noise's HKDF: tau0 = HMAC(ck, in); t1 = HMAC(tau0, 0x1);
 * t2 = HMAC(tau0, t1 || 0x2); t3 = HMAC(tau0, t2 || 0x3). */
void crypt_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[CRYPT_HASH_LEN], const void *in, size_t inlen)
{
	uint8_t tau0[CRYPT_HASH_LEN], buf[CRYPT_HASH_LEN + 1], t[CRYPT_HASH_LEN];

	crypt_hmac(tau0, ck, CRYPT_HASH_LEN, in, inlen);
	buf[0] = 1;
	crypt_hmac(t, tau0, sizeof(tau0), buf, 1);
	memcpy(t1, t, CRYPT_HASH_LEN);
	if (t2) {
		memcpy(buf, t, CRYPT_HASH_LEN);
		buf[CRYPT_HASH_LEN] = 2;
		crypt_hmac(t, tau0, sizeof(tau0), buf, sizeof(buf));
		memcpy(t2, t, CRYPT_HASH_LEN);
	}
	if (t3) {
		memcpy(buf, t, CRYPT_HASH_LEN);
		buf[CRYPT_HASH_LEN] = 3;
		crypt_hmac(t, tau0, sizeof(tau0), buf, sizeof(buf));
		memcpy(t3, t, CRYPT_HASH_LEN);
	}
	crypt_wipe(tau0, sizeof(tau0));
	crypt_wipe(buf, sizeof(buf));
	crypt_wipe(t, sizeof(t));
}

void crypt_clamp(uint8_t secret[CRYPT_KEY_LEN])
{
	secret[0] &= 248;
	secret[31] = (secret[31] & 127) | 64;
}

void crypt_generate_secret(uint8_t secret[CRYPT_KEY_LEN])
{
	crypt_random(secret, CRYPT_KEY_LEN);
	/* Clamp as RFC 7748 and `wg genkey` do. */
	crypt_clamp(secret);
}

void crypt_public_key(uint8_t pub[CRYPT_KEY_LEN], const uint8_t secret[CRYPT_KEY_LEN])
{
	EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, CRYPT_KEY_LEN);
	size_t len = CRYPT_KEY_LEN;

	if (!k || !EVP_PKEY_get_raw_public_key(k, pub, &len) || len != CRYPT_KEY_LEN)
		crypt_fatal("X25519 public key");
	EVP_PKEY_free(k);
}

bool crypt_dh(uint8_t out[CRYPT_KEY_LEN], const uint8_t secret[CRYPT_KEY_LEN], const uint8_t pub[CRYPT_KEY_LEN])
{
	EVP_PKEY *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, secret, CRYPT_KEY_LEN);
	EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, CRYPT_KEY_LEN);
	EVP_PKEY_CTX *ctx = mine ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
	size_t len = CRYPT_KEY_LEN;
	bool ok = false;

	if (!mine || !theirs || !ctx)
		crypt_fatal("X25519 key set-up");
	/* OpenSSL refuses an all-zero shared secret (a low-order public key);
	 * that is exactly the check the protocol asks for. */
	if (EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, theirs) > 0 &&
	    EVP_PKEY_derive(ctx, out, &len) > 0 && len == CRYPT_KEY_LEN)
		ok = !crypt_is_zero(out, CRYPT_KEY_LEN);
	if (!ok)
		memset(out, 0, CRYPT_KEY_LEN);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(theirs);
	return ok;
}

static void make_nonce(uint8_t nonce[12], uint64_t counter)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* The tag goes through the provider's parameters directly: the
 * EVP_CIPHER_CTX_ctrl route builds the same parameter but also looks up
 * the IV length and searches names on every call, about 5% of the cost of
 * a 1420-byte packet (bench/aead). */
static bool aead_tag_param(EVP_CIPHER_CTX *ctx, uint8_t tag[CRYPT_TAG_LEN], bool set)
{
	OSSL_PARAM params[2] = {
		OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, CRYPT_TAG_LEN),
		OSSL_PARAM_construct_end(),
	};

	return set ? EVP_CIPHER_CTX_set_params(ctx, params) : EVP_CIPHER_CTX_get_params(ctx, params);
}

void crypt_aead_encrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			uint64_t counter, const uint8_t key[CRYPT_KEY_LEN])
{
	uint8_t nonce[12];
	int len;

	make_nonce(nonce, counter);
	if (!aead_enc_ctx) {
		aead_enc_ctx = EVP_CIPHER_CTX_new();
		if (!aead_enc_ctx || !EVP_EncryptInit_ex2(aead_enc_ctx, chacha_poly, NULL, NULL, NULL))
			crypt_fatal("EVP_CIPHER_CTX_new");
	}
	if (!EVP_EncryptInit_ex2(aead_enc_ctx, NULL, key, nonce, NULL) ||
	    (adlen && !EVP_EncryptUpdate(aead_enc_ctx, NULL, &len, ad, (int)adlen)) ||
	    (inlen && !EVP_EncryptUpdate(aead_enc_ctx, out, &len, in, (int)inlen)) ||
	    !EVP_EncryptFinal_ex(aead_enc_ctx, out + inlen, &len) || !aead_tag_param(aead_enc_ctx, out + inlen, false))
		crypt_fatal("ChaCha20-Poly1305 encryption");
}

bool crypt_aead_decrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			uint64_t counter, const uint8_t key[CRYPT_KEY_LEN])
{
	uint8_t nonce[12], tag[CRYPT_TAG_LEN];
	size_t clen;
	int len;

	if (inlen < CRYPT_TAG_LEN)
		return false;
	clen = inlen - CRYPT_TAG_LEN;
	/* Copy the tag first: decryption in place overwrites nothing past clen,
	 * but the caller may reuse the buffer. */
	memcpy(tag, in + clen, CRYPT_TAG_LEN);
	make_nonce(nonce, counter);
	if (!aead_dec_ctx) {
		aead_dec_ctx = EVP_CIPHER_CTX_new();
		if (!aead_dec_ctx || !EVP_DecryptInit_ex2(aead_dec_ctx, chacha_poly, NULL, NULL, NULL))
			crypt_fatal("EVP_CIPHER_CTX_new");
	}
	if (!EVP_DecryptInit_ex2(aead_dec_ctx, NULL, key, nonce, NULL) ||
	    (adlen && !EVP_DecryptUpdate(aead_dec_ctx, NULL, &len, ad, (int)adlen)) ||
	    (clen && !EVP_DecryptUpdate(aead_dec_ctx, out, &len, in, (int)clen)) ||
	    !aead_tag_param(aead_dec_ctx, tag, true))
		crypt_fatal("ChaCha20-Poly1305 decryption set-up");
	if (EVP_DecryptFinal_ex(aead_dec_ctx, out + clen, &len) <= 0) {
		/* Authentication failed: leave no unauthenticated plaintext. */
		crypt_wipe(out, clen);
		return false;
	}
	return true;
}

void crypt_xaead_encrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			 const uint8_t nonce[CRYPT_XNONCE_LEN], const uint8_t key[CRYPT_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(out, NULL, in, inlen, ad, adlen, NULL, nonce, key);
}

bool crypt_xaead_decrypt(uint8_t *out, const uint8_t *in, size_t inlen, const uint8_t *ad, size_t adlen,
			 const uint8_t nonce[CRYPT_XNONCE_LEN], const uint8_t key[CRYPT_KEY_LEN])
{
	return crypto_aead_xchacha20poly1305_ietf_decrypt(out, NULL, NULL, in, inlen, ad, adlen, nonce, key) == 0;
}

void crypt_random(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

bool crypt_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

void crypt_wipe(void *buf, size_t len)
{
	sodium_memzero(buf, len);
}

void *crypt_realloc_wiped(void *buf, size_t old_size, size_t new_size)
{
	void *bigger = malloc(new_size);

	if (!bigger)
		return NULL;
	if (buf) {
		memcpy(bigger, buf, old_size < new_size ? old_size : new_size);
		sodium_memzero(buf, old_size);
		free(buf);
	}
	return bigger;
}

bool crypt_is_zero(const void *buf, size_t len)
{
	return sodium_is_zero(buf, len) == 1;
}
