/* scale-dh - what adding one peer costs in public-key work, and what it
 * could cost. peer_create() calls peer_refresh_static() (src/peer.c), which
 * computes DH(our private key, the peer's public key) through crypt_dh()
 * (src/crypto.c: OpenSSL EVP, creating both EVP_PKEYs for every call) and
 * two BLAKE2s hashes; device_set_private_key() (src/device.c) does the same
 * for every peer again. For 100,000 peers that is 100,000 of each.
 *
 *   build/bench/scale-dh [N]        (default 20000 operations each)
 *
 * Compared: crypt_dh() as called today; crypt_public_key(); OpenSSL EVP with
 * our private key's EVP_PKEY made once and reused (only the peer's public
 * key is wrapped per call); libsodium's crypto_scalarmult() (already
 * linked); and the two crypt_hash() calls of peer_refresh_static(). */
#include "apply.h"
#include "crypto.h"

#include <openssl/evp.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* DH with our private key's EVP_PKEY created once. */
static int evp_dh_cached(EVP_PKEY *mine, uint8_t out[32], const uint8_t pub[32])
{
	EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, pub, 32);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(mine, NULL);
	size_t len = 32;
	int ok = theirs && ctx && EVP_PKEY_derive_init(ctx) > 0 && EVP_PKEY_derive_set_peer(ctx, theirs) > 0 &&
		 EVP_PKEY_derive(ctx, out, &len) > 0 && len == 32;

	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(theirs);
	return ok;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000, i;
	uint8_t priv[32], (*pubs)[32], out[32], check[32], h[32];
	unsigned int acc = 0;
	EVP_PKEY *mine;
	double t, dh, pk, cached, sod, hash;

	if (n < 1 || crypt_init() < 0 || sodium_init() < 0)
		return 1;
	pubs = malloc((size_t)n * 32);
	if (!pubs)
		return 1;
	crypt_generate_secret(priv);
	for (i = 0; i < n; i++) {
		uint8_t s[32];

		crypt_generate_secret(s);
		crypt_public_key(pubs[i], s);
	}
	mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
	if (!mine)
		return 1;

	/* The same results, or the comparison means nothing. */
	crypt_dh(out, priv, pubs[0]);
	if (crypto_scalarmult(check, priv, pubs[0]) || memcmp(out, check, 32))
		return 3;
	if (!evp_dh_cached(mine, check, pubs[0]) || memcmp(out, check, 32))
		return 3;

	t = now_s();
	for (i = 0; i < n; i++) {
		crypt_dh(out, priv, pubs[i]);
		acc += out[0];
	}
	dh = (now_s() - t) / (double)n * 1e6;

	t = now_s();
	for (i = 0; i < n; i++) {
		crypt_public_key(out, pubs[i]); /* any 32 bytes will do as a secret */
		acc += out[0];
	}
	pk = (now_s() - t) / (double)n * 1e6;

	t = now_s();
	for (i = 0; i < n; i++) {
		evp_dh_cached(mine, out, pubs[i]);
		acc += out[0];
	}
	cached = (now_s() - t) / (double)n * 1e6;

	t = now_s();
	for (i = 0; i < n; i++) {
		if (crypto_scalarmult(out, priv, pubs[i]))
			return 4;
		acc += out[0];
	}
	sod = (now_s() - t) / (double)n * 1e6;

	t = now_s();
	for (i = 0; i < n; i++) {
		crypt_hash(h, "mac1----", 8, pubs[i], 32);
		crypt_hash(out, "cookie--", 8, pubs[i], 32);
		acc += out[0] + h[0];
	}
	hash = (now_s() - t) / (double)n * 1e6;

	printf("X25519 and hashing per peer, %ld operations each, one core (us per operation):\n\n", n);
	printf("| operation | us | x 100,000 peers |\n|---|---:|---:|\n");
	printf("| crypt_dh() (peer_refresh_static today: 2 EVP_PKEYs + derive) | %.1f | %.1f s |\n", dh, dh * 0.1);
	printf("| crypt_public_key() (one EVP_PKEY from a private key) | %.1f | %.1f s |\n", pk, pk * 0.1);
	printf("| EVP derive, our EVP_PKEY made once | %.1f | %.1f s |\n", cached, cached * 0.1);
	printf("| libsodium crypto_scalarmult() | %.1f | %.1f s |\n", sod, sod * 0.1);
	printf("| 2 x crypt_hash() (mac1_key, cookie_key) | %.2f | %.2f s |\n", hash, hash * 0.1);
	printf("\n(checksum %u)\n", acc & 0xff);
	EVP_PKEY_free(mine);
	free(pubs);
	return 0;
}
