/* cmd_keys.c - `ferry genkey`, `ferry pubkey`, `ferry genpsk`: the same
 * base64 keys as `wg genkey`, `wg pubkey` and `wg genpsk`. */
#include "commands.h"

#include "crypto.h"
#include "encoding.h"
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static int print_key(const uint8_t key[KEY_LEN])
{
	char b64[KEY_B64_LEN];

	key_to_base64(b64, key);
	puts(b64);
	crypt_wipe(b64, sizeof(b64));
	return fflush(stdout) == 0 ? 0 : 1;
}

int genkey_main(int argc, char **argv)
{
	uint8_t key[KEY_LEN];
	struct stat st;
	int ret;

	if (argc != 1) {
		fprintf(stderr, "Usage: ferry %s\n", argv[0]);
		return 1;
	}
	/* As wg does: warn when the secret goes to a file others can read. */
	if (!fstat(fileno(stdout), &st) && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		log_warn("writing a private key to a world-accessible file");
	if (!strcmp(argv[0], "genpsk"))
		crypt_random(key, sizeof(key));
	else
		crypt_generate_secret(key);
	ret = print_key(key);
	crypt_wipe(key, sizeof(key));
	return ret;
}

int pubkey_main(int argc, char **argv)
{
	char line[256];
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	size_t len;
	int ret;

	if (argc != 1) {
		fprintf(stderr, "Usage: ferry pubkey < private.key\n");
		return 1;
	}
	(void)argv;
	if (!fgets(line, sizeof(line), stdin)) {
		log_err("pubkey: no private key on standard input");
		return 1;
	}
	len = strcspn(line, "\r\n");
	line[len] = '\0';
	if (!key_from_base64(priv, line)) {
		crypt_wipe(line, sizeof(line));
		log_err("pubkey: the input is not a base64 key of 32 bytes (44 characters)");
		return 1;
	}
	crypt_wipe(line, sizeof(line));
	crypt_public_key(pub, priv);
	crypt_wipe(priv, sizeof(priv));
	ret = print_key(pub);
	return ret;
}
