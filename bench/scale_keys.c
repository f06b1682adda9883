/* scale_keys - print N random WireGuard public keys in base64, one a line,
 * fast (about 35 us a key, instead of two `wg` processes a key), for
 * configuring 100,000 peers in bench/scale-peers.sh.
 *
 *   build/bench/scale_keys N            N public keys
 *   build/bench/scale_keys N pairs      N lines "PRIVATE PUBLIC"
 *
 * The keys are real X25519 key pairs (crypt_generate_secret +
 * crypt_public_key), so ferry's per-peer precomputation (DH of its own
 * private key with the peer's public key) does the work it does for real
 * peers. */
#include "crypto.h"
#include "encoding.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	uint8_t secret[CRYPT_KEY_LEN], pub[CRYPT_KEY_LEN];
	char b64s[KEY_B64_LEN], b64p[KEY_B64_LEN];
	int pairs = argc > 2 && !strcmp(argv[2], "pairs");
	char *end;
	long n, i;

	if (argc < 2 || argc > 3 || (argc == 3 && !pairs)) {
		fprintf(stderr, "usage: %s N [pairs]\n", argv[0]);
		return 2;
	}
	n = strtol(argv[1], &end, 10);
	if (*end || n < 0 || n > 100000000) {
		fprintf(stderr, "%s: N must be 0..100000000\n", argv[0]);
		return 2;
	}
	if (crypt_init() < 0) {
		fprintf(stderr, "%s: crypt_init failed\n", argv[0]);
		return 1;
	}
	for (i = 0; i < n; i++) {
		crypt_generate_secret(secret);
		crypt_public_key(pub, secret);
		key_to_base64(b64p, pub);
		if (pairs) {
			key_to_base64(b64s, secret);
			printf("%s %s\n", b64s, b64p);
		} else {
			puts(b64p);
		}
	}
	crypt_wipe(secret, sizeof(secret));
	crypt_wipe(b64s, sizeof(b64s));
	return fflush(stdout) ? 1 : 0;
}
