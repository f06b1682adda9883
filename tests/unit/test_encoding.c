/* Unit tests: keys as base64 and hex, against known vectors and against a
 * small reference encoder with random keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "encoding.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static const char B64_COUNTING[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
static const char HEX_COUNTING[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void counting_key(uint8_t key[KEY_LEN])
{
	for (int i = 0; i < KEY_LEN; i++)
		key[i] = (uint8_t)i;
}

/* The textbook encoder, bit by bit, as the reference. */
static void reference_base64(char out[KEY_B64_LEN], const uint8_t key[KEY_LEN])
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned int bit;
	int o = 0;

	for (bit = 0; bit < KEY_LEN * 8; bit += 6) {
		unsigned int v = 0;

		for (unsigned int b = bit; b < bit + 6; b++) {
			unsigned int set = b < KEY_LEN * 8 ? (key[b / 8] >> (7 - b % 8)) & 1 : 0;

			v = (v << 1) | set;
		}
		out[o++] = alphabet[v];
	}
	out[o++] = '=';
	out[o] = '\0';
}

static void known_vectors(void **state)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char b64[KEY_B64_LEN], hex[KEY_HEX_LEN];

	(void)state;
	counting_key(key);
	key_to_base64(b64, key);
	assert_string_equal(b64, B64_COUNTING);
	key_to_hex(hex, key);
	assert_string_equal(hex, HEX_COUNTING);

	assert_true(key_from_base64(back, B64_COUNTING));
	assert_memory_equal(back, key, KEY_LEN);
	memset(back, 0xff, sizeof(back));
	assert_true(key_from_hex(back, HEX_COUNTING));
	assert_memory_equal(back, key, KEY_LEN);

	memset(key, 0, sizeof(key));
	key_to_base64(b64, key);
	assert_string_equal(b64, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
}

static void hex_accepts_upper_case(void **state)
{
	uint8_t key[KEY_LEN], want[KEY_LEN];
	char upper[KEY_HEX_LEN];

	(void)state;
	counting_key(want);
	for (size_t i = 0; i < sizeof(upper); i++)
		upper[i] =
		    (HEX_COUNTING[i] >= 'a' && HEX_COUNTING[i] <= 'f') ? (char)(HEX_COUNTING[i] - 32) : HEX_COUNTING[i];
	assert_true(key_from_hex(key, upper));
	assert_memory_equal(key, want, KEY_LEN);
}

static void random_keys_match_reference(void **state)
{
	uint8_t key[KEY_LEN], back[KEY_LEN];
	char b64[KEY_B64_LEN], ref[KEY_B64_LEN], hex[KEY_HEX_LEN];

	(void)state;
	for (int i = 0; i < 2000; i++) {
		randombytes_buf(key, sizeof(key));
		key_to_base64(b64, key);
		reference_base64(ref, key);
		assert_string_equal(b64, ref);
		assert_true(key_from_base64(back, b64));
		assert_memory_equal(back, key, KEY_LEN);
		key_to_hex(hex, key);
		assert_int_equal(strlen(hex), 64);
		assert_true(key_from_hex(back, hex));
		assert_memory_equal(back, key, KEY_LEN);
	}
}

static void base64_is_strict(void **state)
{
	static const char *const bad[] = {
		"",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",	 /* no '=' */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", /* 45 */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		" AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", /* 31 bytes, valid base64 */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==", /* and with non-zero spare bits */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHhA",	/* 43, no padding */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=", /* bits beyond 256 */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAC=",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAD=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd-h8=", /* URL-safe alphabet */
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd_h8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMU FRYXGBkaGxwdHh8=",
		"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh*=",
		"============================================",
	};
	uint8_t key[KEY_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(key, 0xaa, sizeof(key));
		if (key_from_base64(key, bad[i]))
			fail_msg("accepted bad base64 #%zu '%s'", i, bad[i]);
		/* A failed decode leaves no partial key behind. */
		for (int j = 0; j < KEY_LEN; j++)
			assert_int_equal(key[j], 0);
	}
	/* The same 32 bytes with the two spare bits zero is fine. */
	assert_true(key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE="));
	assert_int_equal(key[31], 0x01); /* 'E' is 000100: data 0001, spare 00 */
}

static void hex_is_strict(void **state)
{
	static const char *const bad[] = {
		"",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",   /* 63 */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0", /* 65 */
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
		"0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		" 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1 ",
		"00:102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	};
	uint8_t key[KEY_LEN];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(key, 0xaa, sizeof(key));
		if (key_from_hex(key, bad[i]))
			fail_msg("accepted bad hex #%zu '%s'", i, bad[i]);
		for (int j = 0; j < KEY_LEN; j++)
			assert_int_equal(key[j], 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_vectors),
		cmocka_unit_test(hex_accepts_upper_case),
		cmocka_unit_test(random_keys_match_reference),
		cmocka_unit_test(base64_is_strict),
		cmocka_unit_test(hex_is_strict),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("encoding", tests, NULL, NULL);
}
