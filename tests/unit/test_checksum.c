/* Unit tests: the Internet checksum against known packets and a naive reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "checksum.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1071 done the slow, obvious way. */
static uint16_t reference(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i < len; i += 2) {
		uint16_t w = (uint16_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));

		sum += w;
		sum = (sum & 0xffff) + (sum >> 16);
	}
	return htons((uint16_t)~sum);
}

static void known_ipv4_header(void **state)
{
	/* A header from the wild; its checksum field is 0xb861. */
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t c;

	(void)state;
	c = checksum_fold(checksum_partial(h, sizeof(h), 0));
	assert_int_equal(ntohs(c), 0xb861);
	memcpy(h + 10, &c, 2);
	assert_int_equal(checksum_fold(checksum_partial(h, sizeof(h), 0)), 0);
}

static void matches_reference_on_random_data(void **state)
{
	uint8_t buf[1501];
	int round;

	(void)state;
	srand(7);
	for (round = 0; round < 2000; round++) {
		size_t len = (size_t)rand() % sizeof(buf), i, split;

		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		assert_int_equal(checksum_fold(checksum_partial(buf, len, 0)), reference(buf, len));
		/* Summing in two even-sized parts gives the same result. */
		split = len / 2 & ~(size_t)1;
		assert_int_equal(
		    checksum_fold(checksum_partial(buf + split, len - split, checksum_partial(buf, split, 0))),
		    reference(buf, len));
	}
}

/* Any start address (the fast sum loads words through memcpy), lengths up
 * to the largest IP packet, and a large carried-in sum. */
static void matches_reference_unaligned_and_long(void **state)
{
	static uint8_t buf[65536 + 8];
	size_t i;
	int round;

	(void)state;
	srand(11);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rand();
	for (round = 0; round < 300; round++) {
		size_t off = (size_t)rand() % 8, len = round < 20 ? 65535 - (size_t)round : (size_t)rand() % 65536;
		uint32_t head;

		assert_int_equal(checksum_fold(checksum_partial(buf + off, len, 0)), reference(buf + off, len));
		/* 0xffffffff carried in equals 0xffff, which is zero in one's complement. */
		head = checksum_partial(buf + off, len & ~(size_t)1, 0xffffffffu);
		assert_int_equal(checksum_fold(head), reference(buf + off, len & ~(size_t)1));
	}
	/* All ones: the sum must stay 0xffff (negative zero), never overflow. */
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(checksum_fold(checksum_partial(buf, 65535, 0)), reference(buf, 65535));
}

static void pseudo_headers(void **state)
{
	uint8_t v4[12] = { 192, 0, 2, 1, 198, 51, 100, 2, 0, 17, 0, 40 };
	uint8_t v6[40] = { 0x20, 0x01, 0x0d,	 0xb8,	   [15] = 1,  0x20,    0x01,
			   0x0d, 0xb8, [31] = 2, [34] = 0, [35] = 40, [39] = 6 };

	(void)state;
	assert_int_equal(checksum_fold(checksum_pseudo_v4(v4, v4 + 4, 17, 40)), reference(v4, sizeof(v4)));
	assert_int_equal(checksum_fold(checksum_pseudo_v6(v6, v6 + 16, 6, 40)), reference(v6, sizeof(v6)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(known_ipv4_header),
		cmocka_unit_test(matches_reference_on_random_data),
		cmocka_unit_test(matches_reference_unaligned_and_long),
		cmocka_unit_test(pseudo_headers),
	};

	return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}
