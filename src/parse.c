/* parse.c - numbers and endpoints as written in config files and UAPI
 * requests (parse.h says what each source accepts).
 *
 * Why here and not in addr.c: addr.c is about addresses and prefixes as
 * routing sees them, and needs no resolver; an endpoint also has a port,
 * an interface scope and, from a file, a name to resolve, and a number is
 * no address at all. Both parsers are strict on purpose: strtoul() would
 * take leading spaces, a sign and an empty string, and getaddrinfo() on a
 * numeric host would take inet_aton()'s "127.1". */
#include "parse.h"
#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

static bool is_decimal_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The value of a digit in @base, or -1 if it is not one. */
static int digit_value(char c, unsigned int base)
{
	if (is_decimal_digit(c))
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool has_hex_prefix(const char *s, size_t len)
{
	return len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

int parse_number(const char *s, size_t len, enum parse_number_base base, uint32_t max, uint32_t *out)
{
	unsigned int radix = 10;
	bool above_max = false;
	uint64_t v = 0;
	size_t i;

	if (base == PARSE_DECIMAL_HEX && has_hex_prefix(s, len)) {
		radix = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return -EINVAL;
	/* Every character is looked at, so that "70000x" is not a number
	 * rather than a number out of range; v stops growing past @max. */
	for (i = 0; i < len; i++) {
		int digit = digit_value(s[i], radix);

		if (digit < 0)
			return -EINVAL;
		if (!above_max)
			v = v * radix + (unsigned int)digit;
		above_max = above_max || v > max;
	}
	if (above_max)
		return -ERANGE;
	*out = (uint32_t)v;
	return 0;
}

/* An IPv6 scope: an interface index, or the name of an interface. */
static int parse_scope(const char *scope, uint32_t *out)
{
	if (parse_number(scope, strlen(scope), PARSE_DECIMAL, UINT32_MAX, out) == 0)
		return 0;
	*out = if_nametoindex(scope);
	return *out ? 0 : -EINVAL;
}

/* The text between the brackets: always numeric, in files too. */
static int parse_ipv6(char *host, uint16_t port, struct sockaddr_in6 *out)
{
	char *scope = strchr(host, '%');

	if (scope) {
		*scope++ = '\0';
		if (parse_scope(scope, &out->sin6_scope_id))
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, host, &out->sin6_addr) != 1)
		return -EINVAL;
	out->sin6_family = AF_INET6;
	out->sin6_port = htons(port);
	return 0;
}

static const char *resolve_error(int rc)
{
	switch (rc) {
	case EAI_NONAME:
	case EAI_NODATA:
		return "host not found";
	case EAI_AGAIN:
		return "temporary failure in name resolution";
	case EAI_ADDRFAMILY:
		return "host has no IPv4 or IPv6 address";
	default:
		return gai_strerror(rc);
	}
}

/* A name is resolved once, now (the first answer), and not again: like
 * wg(8), a config is a snapshot. */
static int resolve(const char *host, uint16_t port, union conf_endpoint *out, const char **why)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_DGRAM,
				  .ai_protocol = IPPROTO_UDP,
				  .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res, *ai;
	char service[6];
	int rc;

	snprintf(service, sizeof(service), "%u", port);
	rc = getaddrinfo(host, service, &hints, &res);
	if (rc) {
		*why = resolve_error(rc);
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		if ((ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(out->in4)) ||
		    (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(out->in6))) {
			memcpy(out, ai->ai_addr, ai->ai_addrlen);
			break;
		}
	}
	freeaddrinfo(res);
	if (!ai) {
		*why = "host has no IPv4 or IPv6 address";
		return -EINVAL;
	}
	return 0;
}

/* An IPv6 address must be in brackets, unlike in wg(8), which takes the
 * last ':' as the separator: "2001:db8::1:80" reads too easily as an
 * address with no port. */
int parse_endpoint(const char *s, size_t len, enum parse_endpoint_host host_kind, union conf_endpoint *out,
		   const char **why)
{
	const char *end = s + len, *host_begin, *host_end, *port_begin, *dummy;
	bool bracketed = len > 0 && s[0] == '[';
	char host[256];
	size_t host_len;
	uint32_t port;
	int rc;

	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (bracketed) {
		host_begin = s + 1;
		host_end = memchr(host_begin, ']', (size_t)(end - host_begin));
		if (!host_end) {
			*why = "is missing the ']' after the IPv6 address";
			return -EINVAL;
		}
		if (host_end + 1 == end || host_end[1] != ':') {
			*why = "is missing a port: [address]:port";
			return -EINVAL;
		}
		port_begin = host_end + 2;
	} else {
		host_begin = s;
		host_end = memrchr(s, ':', len);
		if (!host_end) {
			*why = "is missing a port: host:port";
			return -EINVAL;
		}
		if (memchr(host_begin, ':', (size_t)(host_end - host_begin))) {
			*why = "is an IPv6 address without brackets: [address]:port";
			return -EINVAL;
		}
		port_begin = host_end + 1;
	}
	host_len = (size_t)(host_end - host_begin);
	if (host_len == 0) {
		*why = "is missing a host";
		return -EINVAL;
	}
	if (host_len >= sizeof(host)) {
		*why = "has a host name that is too long";
		return -EINVAL;
	}
	if (memchr(host_begin, '\0', host_len)) {
		*why = "has a NUL byte in its host";
		return -EINVAL;
	}
	rc = parse_number(port_begin, (size_t)(end - port_begin), PARSE_DECIMAL, 65535, &port);
	if (rc == -EINVAL) {
		*why = "has a port that is not a number";
		return -EINVAL;
	}
	if (rc == -ERANGE || port == 0) {
		*why = "has a port out of range (1-65535)";
		return -EINVAL;
	}
	memcpy(host, host_begin, host_len);
	host[host_len] = '\0';
	if (bracketed) {
		if (parse_ipv6(host, (uint16_t)port, &out->in6)) {
			memset(out, 0, sizeof(*out));
			*why = "is not a valid IPv6 address";
			return -EINVAL;
		}
		return 0;
	}
	if (inet_pton(AF_INET, host, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons((uint16_t)port);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	if (host_kind == PARSE_HOST_NUMERIC) {
		*why = "is not a numeric IPv4 address (names are not resolved here)";
		return -EINVAL;
	}
	return resolve(host, (uint16_t)port, out, why);
}
