/* Unit tests: address and prefix parsing, masking and formatting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static void parses_good_prefixes(void **state)
{
	struct ip_prefix p;
	char buf[IP_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(ip_prefix_parse("10.1.2.3/8", &p, NULL), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.len, 8);
	assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), "10.1.2.3/8");
	ip_prefix_mask(&p);
	assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), "10.0.0.0/8");

	assert_int_equal(ip_prefix_parse("192.0.2.1", &p, NULL), 0);
	assert_int_equal(p.len, 32);

	assert_int_equal(ip_prefix_parse("2001:db8::1/64", &p, NULL), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.len, 64);
	assert_int_equal(ip_prefix_parse("::/0", &p, NULL), 0);
	assert_int_equal(p.len, 0);
	assert_int_equal(ip_prefix_parse("2001:db8::1", &p, NULL), 0);
	assert_int_equal(p.len, 128);
}

static void masks_partial_bytes(void **state)
{
	struct ip_prefix p;
	char buf[IP_PREFIX_STRLEN];

	(void)state;
	assert_int_equal(ip_prefix_parse("192.0.2.255/27", &p, NULL), 0);
	ip_prefix_mask(&p);
	assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), "192.0.2.224/27");
	assert_int_equal(ip_prefix_parse("2001:db8:ffff:ffff::1/33", &p, NULL), 0);
	ip_prefix_mask(&p);
	assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), "2001:db8:8000::/33");
	assert_int_equal(ip_prefix_parse("203.0.113.7/0", &p, NULL), 0);
	ip_prefix_mask(&p);
	assert_string_equal(ip_prefix_format(&p, buf, sizeof(buf)), "0.0.0.0/0");
}

static void rejects_bad_prefixes(void **state)
{
	static const char *const bad[] = {
		"",
		"/24",
		"10.0.0.0/33",
		"2001:db8::/129",
		"10.0.0.0/",
		"10.0.0.0/x",
		"10.0.0.0/-1",
		"10.0.0.0/8x",
		"10.0.0",
		"300.0.0.1",
		"2001:db8:::1",
		"hello",
		"10.0.0.0/ 8",
		"10.0.0.0/99999999999999999999",
	};
	struct ip_prefix p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;

		assert_int_equal(ip_prefix_parse(bad[i], &p, &why), -EINVAL);
		assert_non_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_good_prefixes),
		cmocka_unit_test(masks_partial_bytes),
		cmocka_unit_test(rejects_bad_prefixes),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
