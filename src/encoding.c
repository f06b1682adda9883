/* encoding.c - keys as text: base64 for config files and people (the format
 * of wg(8)), hex for the cross-platform UAPI. Both decoders are strict, so a
 * key has exactly one spelling in each format and a typo is never silently
 * turned into a different key. libsodium does the work in constant time. */
#include "encoding.h"

#include <sodium.h>
#include <string.h>

#define KEY_B64_CHARS (KEY_B64_LEN - 1)
#define KEY_HEX_CHARS (KEY_HEX_LEN - 1)

void key_to_base64(char out[KEY_B64_LEN], const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_LEN, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

/* 32 bytes are 256 bits: 42 characters of 6 bits, a 43rd carrying the last
 * 4 bits and 2 zero bits, then one '='. libsodium rejects non-zero bits
 * beyond the data (as wg does), so "...E=" and "...F=" are not the same key,
 * and checks the padding; 44 characters and 32 bytes out leave only one
 * spelling of each key. */
bool key_from_base64(uint8_t key[KEY_LEN], const char *text)
{
	size_t len = strnlen(text, KEY_B64_LEN);
	size_t bin_len = 0;

	if (len != KEY_B64_CHARS)
		goto err;
	if (sodium_base642bin(key, KEY_LEN, text, len, NULL, &bin_len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != KEY_LEN)
		goto err;
	return true;
err:
	sodium_memzero(key, KEY_LEN);
	return false;
}

void key_to_hex(char out[KEY_HEX_LEN], const uint8_t key[KEY_LEN])
{
	sodium_bin2hex(out, KEY_HEX_LEN, key, KEY_LEN);
}

bool key_from_hex(uint8_t key[KEY_LEN], const char *text)
{
	size_t len = strnlen(text, KEY_HEX_LEN);
	size_t bin_len = 0;

	if (len != KEY_HEX_CHARS)
		goto err;
	/* No ignore set and no end pointer: any non-hex character fails. */
	if (sodium_hex2bin(key, KEY_LEN, text, len, NULL, &bin_len, NULL) != 0 || bin_len != KEY_LEN)
		goto err;
	return true;
err:
	sodium_memzero(key, KEY_LEN);
	return false;
}
