/* Unit tests: the number and endpoint parsers that config files and the
 * UAPI share (parse.h), on their edge cases, and the one difference between
 * the two sources (names) as an explicit parameter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf.h"
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

static int number(const char *s, enum parse_number_base base, uint32_t max, uint32_t *out)
{
	return parse_number(s, strlen(s), base, max, out);
}

static void numbers_in_range(void **state)
{
	static const struct {
		const char *text;
		enum parse_number_base base;
		uint32_t max, want;
	} good[] = {
		{ "0", PARSE_DECIMAL, 0, 0 },
		{ "007", PARSE_DECIMAL, 65535, 7 },
		{ "00000000000000000000000065535", PARSE_DECIMAL, 65535, 65535 },
		{ "65535", PARSE_DECIMAL, 65535, 65535 },
		{ "4294967295", PARSE_DECIMAL, UINT32_MAX, UINT32_MAX },
		{ "0x10", PARSE_DECIMAL_HEX, UINT32_MAX, 16 },
		{ "0XfF", PARSE_DECIMAL_HEX, UINT32_MAX, 255 },
		{ "0xffffffff", PARSE_DECIMAL_HEX, UINT32_MAX, UINT32_MAX },
		{ "0x0000000000000001", PARSE_DECIMAL_HEX, 1, 1 },
		/* Decimal stays decimal with hex allowed: no octal. */
		{ "010", PARSE_DECIMAL_HEX, UINT32_MAX, 10 },
		{ "0", PARSE_DECIMAL_HEX, UINT32_MAX, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint32_t v = 12345;

		if (number(good[i].text, good[i].base, good[i].max, &v) != 0 || v != good[i].want)
			fail_msg("'%s': got %u, want %u", good[i].text, v, good[i].want);
	}
}

static void numbers_refused(void **state)
{
	static const struct {
		const char *text;
		enum parse_number_base base;
		uint32_t max;
		int want;
	} bad[] = {
		{ "", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "+5", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "-1", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "-0", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ " 1", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "1 ", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "1 2", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "\t1", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "1e3", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "1.0", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "0x", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "0X", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "0x", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "0x10", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "0xg", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "0x-1", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "0x 1", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "x10", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		{ "ff", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
		/* Just past the maximum. */
		{ "65536", PARSE_DECIMAL, 65535, -ERANGE },
		{ "4294967296", PARSE_DECIMAL, UINT32_MAX, -ERANGE },
		{ "0x100000000", PARSE_DECIMAL_HEX, UINT32_MAX, -ERANGE },
		{ "0x10000", PARSE_DECIMAL_HEX, 65535, -ERANGE },
		{ "1", PARSE_DECIMAL, 0, -ERANGE },
		{ "99999999999999999999999999", PARSE_DECIMAL, UINT32_MAX, -ERANGE },
		/* Junk after digits past the maximum: still not a number. */
		{ "70000x", PARSE_DECIMAL, 65535, -EINVAL },
		{ "99999999999999999999x", PARSE_DECIMAL, UINT32_MAX, -EINVAL },
		{ "0xfffffffffg", PARSE_DECIMAL_HEX, UINT32_MAX, -EINVAL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t v = 12345;
		int ret = number(bad[i].text, bad[i].base, bad[i].max, &v);

		if (ret != bad[i].want || v != 12345)
			fail_msg("'%s': returned %d (want %d), wrote %u", bad[i].text, ret, bad[i].want, v);
	}
}

/* The length is the end: a UAPI value is not NUL-terminated. */
static void numbers_end_at_the_length(void **state)
{
	uint32_t v = 0;

	(void)state;
	assert_int_equal(parse_number("12345", 2, PARSE_DECIMAL, UINT32_MAX, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(parse_number("0x1f", 2, PARSE_DECIMAL_HEX, UINT32_MAX, &v), -EINVAL);
	assert_int_equal(parse_number("7", 0, PARSE_DECIMAL, UINT32_MAX, &v), -EINVAL);
	assert_int_equal(parse_number("1\0002", 3, PARSE_DECIMAL, UINT32_MAX, &v), -EINVAL);
}

static int endpoint(const char *text, enum parse_endpoint_host host, union conf_endpoint *ep, const char **why)
{
	return parse_endpoint(text, strlen(text), host, ep, why);
}

static const char *ep_text(const union conf_endpoint *ep, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];

	if (ep->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &ep->in4.sin_addr, addr, sizeof(addr));
		snprintf(buf, size, "%s:%u", addr, ntohs(ep->in4.sin_port));
	} else if (ep->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &ep->in6.sin6_addr, addr, sizeof(addr));
		snprintf(buf, size, "[%s%%%u]:%u", addr, ep->in6.sin6_scope_id, ntohs(ep->in6.sin6_port));
	} else {
		snprintf(buf, size, "family %d", ep->sa.sa_family);
	}
	return buf;
}

/* Numeric endpoints mean the same from a file and from the UAPI. */
static void numeric_endpoints(void **state)
{
	static const struct {
		const char *text, *want;
	} good[] = {
		{ "192.0.2.1:51820", "192.0.2.1:51820" },
		{ "192.0.2.1:1", "192.0.2.1:1" },
		{ "192.0.2.1:65535", "192.0.2.1:65535" },
		{ "192.0.2.1:00080", "192.0.2.1:80" },
		{ "[2001:db8::1]:443", "[2001:db8::1%0]:443" },
		{ "[::ffff:192.0.2.1]:443", "[::ffff:192.0.2.1%0]:443" },
		{ "[fe80::1%7]:51820", "[fe80::1%7]:51820" },
		{ "[fe80::1%4294967295]:1", "[fe80::1%4294967295]:1" },
		{ "[fe80::1%007]:1", "[fe80::1%7]:1" },
	};
	enum parse_endpoint_host kinds[] = { PARSE_HOST_NUMERIC, PARSE_HOST_RESOLVE };
	char got[128];

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			union conf_endpoint ep;
			const char *why = NULL;

			if (endpoint(good[i].text, kinds[k], &ep, &why) != 0)
				fail_msg("'%s' (kind %zu): %s", good[i].text, k, why);
			if (strcmp(ep_text(&ep, got, sizeof(got)), good[i].want))
				fail_msg("'%s' (kind %zu): got %s", good[i].text, k, got);
		}
	}
}

static void scope_by_name(void **state)
{
	union conf_endpoint ep;
	unsigned int lo = if_nametoindex("lo");

	(void)state;
	assert_true(lo > 0);
	assert_int_equal(endpoint("[fe80::1%lo]:51820", PARSE_HOST_NUMERIC, &ep, NULL), 0);
	assert_int_equal(ep.in6.sin6_scope_id, lo);
	assert_int_equal(endpoint("[fe80::1%lo]:51820", PARSE_HOST_RESOLVE, &ep, NULL), 0);
	assert_int_equal(ep.in6.sin6_scope_id, lo);
}

/* Refused whichever the source, each with the reason a file reports. */
static void bad_endpoints(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "is missing a port: host:port" },
		{ "192.0.2.1", "is missing a port: host:port" },
		{ "[2001:db8::1]", "is missing a port: [address]:port" },
		{ "[2001:db8::1]80", "is missing a port: [address]:port" },
		{ "[2001:db8::1:80", "is missing the ']' after the IPv6 address" },
		{ "2001:db8::1:80", "is an IPv6 address without brackets: [address]:port" },
		{ "::1:80", "is an IPv6 address without brackets: [address]:port" },
		{ "192.0.2.1:80:80", "is an IPv6 address without brackets: [address]:port" },
		{ ":80", "is missing a host" },
		{ "[]:80", "is missing a host" },
		{ "192.0.2.1:", "has a port that is not a number" },
		{ "[2001:db8::1]:", "has a port that is not a number" },
		{ "192.0.2.1:http", "has a port that is not a number" },
		{ "192.0.2.1:+80", "has a port that is not a number" },
		{ "192.0.2.1:-1", "has a port that is not a number" },
		{ "192.0.2.1: 80", "has a port that is not a number" },
		{ "192.0.2.1:80 ", "has a port that is not a number" },
		{ "192.0.2.1:0x50", "has a port that is not a number" },
		{ "192.0.2.1:0", "has a port out of range (1-65535)" },
		{ "192.0.2.1:00", "has a port out of range (1-65535)" },
		{ "192.0.2.1:65536", "has a port out of range (1-65535)" },
		{ "[2001:db8::1]:0", "has a port out of range (1-65535)" },
		{ "[2001:db8::1]:65536", "has a port out of range (1-65535)" },
		{ "[192.0.2.1]:80", "is not a valid IPv6 address" },
		{ "[2001:db8:::1]:80", "is not a valid IPv6 address" },
		{ "[host.example]:80", "is not a valid IPv6 address" },
		{ "[fe80::1%]:80", "is not a valid IPv6 address" },
		{ "[fe80::1%no-such-interface]:80", "is not a valid IPv6 address" },
		{ "[fe80::1%4294967296]:80", "is not a valid IPv6 address" },
		{ "[fe80::1%-1]:80", "is not a valid IPv6 address" },
	};
	enum parse_endpoint_host kinds[] = { PARSE_HOST_NUMERIC, PARSE_HOST_RESOLVE };
	static const union conf_endpoint zero;

	(void)state;
	for (size_t k = 0; k < 2; k++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			union conf_endpoint ep;
			const char *why = NULL;
			int ret;

			memset(&ep, 0x5a, sizeof(ep));
			ret = endpoint(bad[i].text, kinds[k], &ep, &why);
			if (ret != -EINVAL || !why || strcmp(why, bad[i].why))
				fail_msg("'%s' (kind %zu): returned %d, '%s' instead of '%s'", bad[i].text, k, ret,
					 why ? why : "(null)", bad[i].why);
			if (memcmp(&ep, &zero, sizeof(ep)))
				fail_msg("'%s' (kind %zu): the endpoint is not zeroed", bad[i].text, k);
			/* why may be NULL. */
			assert_int_equal(endpoint(bad[i].text, kinds[k], &ep, NULL), -EINVAL);
		}
	}
}

/* The one difference: a name, or an inet_aton() form, is resolved from a
 * file and refused from the UAPI (wg(8) sends numbers). */
static void names_only_from_files(void **state)
{
	static const char *const names[] = { "localhost:53", "127.1:53", "0x7f000001:53", "2130706433:53" };
	union conf_endpoint ep;
	const char *why = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		why = NULL;
		assert_int_equal(endpoint(names[i], PARSE_HOST_NUMERIC, &ep, &why), -EINVAL);
		assert_string_equal(why, "is not a numeric IPv4 address (names are not resolved here)");
		assert_int_equal(ep.sa.sa_family, 0);
		assert_int_equal(endpoint(names[i], PARSE_HOST_RESOLVE, &ep, &why), 0);
		assert_true(ep.sa.sa_family == AF_INET || ep.sa.sa_family == AF_INET6);
		assert_int_equal(ntohs(ep.in4.sin_port), 53); /* sin_port and sin6_port share a place */
	}
	/* inet_aton's forms mean 127.0.0.1 to the resolver. */
	assert_int_equal(endpoint("127.1:80", PARSE_HOST_RESOLVE, &ep, &why), 0);
	assert_int_equal(ep.sa.sa_family, AF_INET);
	assert_int_equal(ntohl(ep.in4.sin_addr.s_addr), INADDR_LOOPBACK);

	assert_int_equal(endpoint("no-such-host.invalid:53", PARSE_HOST_RESOLVE, &ep, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(endpoint("no-such-host.invalid:53", PARSE_HOST_NUMERIC, &ep, &why), -EINVAL);
}

static void endpoints_end_at_the_length(void **state)
{
	static const char text[] = "192.0.2.1:8080";
	union conf_endpoint ep;
	const char *why = NULL;

	(void)state;
	assert_int_equal(parse_endpoint(text, sizeof(text) - 3, PARSE_HOST_NUMERIC, &ep, &why), 0);
	assert_int_equal(ntohs(ep.in4.sin_port), 80);
	/* "[2001:db8::1]" of "[2001:db8::1]:80": no port within the length. */
	assert_int_equal(parse_endpoint("[2001:db8::1]:80", 13, PARSE_HOST_NUMERIC, &ep, &why), -EINVAL);
	assert_string_equal(why, "is missing a port: [address]:port");
	assert_int_equal(parse_endpoint("[2001:db8::1]:80", 12, PARSE_HOST_NUMERIC, &ep, &why), -EINVAL);
	assert_string_equal(why, "is missing the ']' after the IPv6 address");
	/* A NUL inside the length is not the end of the host. */
	assert_int_equal(parse_endpoint("192.0.2.1\0junk:80", 17, PARSE_HOST_NUMERIC, &ep, &why), -EINVAL);
	assert_string_equal(why, "has a NUL byte in its host");
	assert_int_equal(parse_endpoint("192.0.2.1:8\0", 12, PARSE_HOST_NUMERIC, &ep, &why), -EINVAL);
	assert_string_equal(why, "has a port that is not a number");
}

static void long_hosts(void **state)
{
	char text[300];
	union conf_endpoint ep;
	const char *why = NULL;

	(void)state;
	memset(text, 'a', 256);
	strcpy(text + 256, ":80");
	assert_int_equal(endpoint(text, PARSE_HOST_RESOLVE, &ep, &why), -EINVAL);
	assert_string_equal(why, "has a host name that is too long");
	/* 255 characters fit the buffer and go to the resolver, which has
	 * no such host (a label is at most 63 characters). */
	strcpy(text + 255, ":80");
	assert_int_equal(endpoint(text, PARSE_HOST_RESOLVE, &ep, &why), -EINVAL);
	assert_string_not_equal(why, "has a host name that is too long");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(numbers_in_range),
		cmocka_unit_test(numbers_refused),
		cmocka_unit_test(numbers_end_at_the_length),
		cmocka_unit_test(numeric_endpoints),
		cmocka_unit_test(scope_by_name),
		cmocka_unit_test(bad_endpoints),
		cmocka_unit_test(names_only_from_files),
		cmocka_unit_test(endpoints_end_at_the_length),
		cmocka_unit_test(long_hosts),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
