/* aead - ChaCha20-Poly1305 throughput of OpenSSL (through ferry's
 * crypt_aead_encrypt/decrypt, as the data path calls it) and of libsodium,
 * on packets of one size (default 1420 bytes, the tunnel MTU). The faster
 * goes on the data path; docs/PERFORMANCE.md records the figures. */
#include "crypto.h"

#include <openssl/opensslv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	size_t len = argc > 1 ? (size_t)atoi(argv[1]) : 1420;
	long n = argc > 2 ? atol(argv[2]) : 400000, i;
	uint8_t key[32], nonce[12] = { 0 }, *buf = malloc(len + 16), *out = malloc(len + 16);
	unsigned long long clen;
	double t, ossl_enc, ossl_dec, sod_enc, sod_dec;

	if (!buf || !out || crypt_init() < 0)
		return 1;
	crypt_random(key, sizeof(key));
	memset(buf, 0xab, len);

	t = seconds();
	for (i = 0; i < n; i++)
		crypt_aead_encrypt(out, buf, len, NULL, 0, (uint64_t)i, key);
	ossl_enc = seconds() - t;
	crypt_aead_encrypt(out, buf, len, NULL, 0, 1, key);
	t = seconds();
	for (i = 0; i < n; i++)
		if (!crypt_aead_decrypt(buf, out, len + 16, NULL, 0, 1, key))
			return 2;
	ossl_dec = seconds() - t;

	t = seconds();
	for (i = 0; i < n; i++) {
		memcpy(nonce + 4, &i, sizeof(i));
		crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, buf, len, NULL, 0, NULL, nonce, key);
	}
	sod_enc = seconds() - t;
	t = seconds();
	for (i = 0; i < n; i++)
		if (crypto_aead_chacha20poly1305_ietf_decrypt(buf, NULL, NULL, out, len + 16, NULL, 0, nonce, key))
			return 2;
	sod_dec = seconds() - t;

	printf("ChaCha20-Poly1305, %zu-byte packets, %ld each, one core:\n", len, n);
	printf("  OpenSSL %s   encrypt %6.2f GB/s %9.0f pkt/s   decrypt %6.2f GB/s %9.0f pkt/s\n", OPENSSL_VERSION_STR,
	       (double)len * (double)n / ossl_enc / 1e9, (double)n / ossl_enc, (double)len * (double)n / ossl_dec / 1e9,
	       (double)n / ossl_dec);
	printf("  libsodium %-8s encrypt %6.2f GB/s %9.0f pkt/s   decrypt %6.2f GB/s %9.0f pkt/s\n",
	       sodium_version_string(), (double)len * (double)n / sod_enc / 1e9, (double)n / sod_enc,
	       (double)len * (double)n / sod_dec / 1e9, (double)n / sod_dec);
	free(buf);
	free(out);
	return 0;
}
