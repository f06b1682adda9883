/* parse.h - the values that config files and UAPI requests have in common:
 * numbers and endpoints, parsed by one piece of code for both.
 *
 * Both take text with a length (a UAPI value is not NUL-terminated) and
 * never read past it. The two sources differ in what they accept, and each
 * difference is a parameter here:
 *   - hexadecimal (0x...) only where wg(8) takes it in a file (FwMark);
 *     the UAPI, like wireguard-go's strconv.ParseUint(s, 10, ...), never;
 *   - host names in an endpoint only in files (wg(8) resolves them); the
 *     UAPI takes numbers only, as wireguard-go's netip.ParseAddrPort. */
#ifndef FERRY_PARSE_H
#define FERRY_PARSE_H

#include <stddef.h>
#include <stdint.h>

union conf_endpoint;

enum parse_number_base {
	PARSE_DECIMAL,	   /* digits 0-9 only */
	PARSE_DECIMAL_HEX, /* the same, or "0x" / "0X" and hex digits */
};

/* A number of at most @max: digits only, so no sign, no spaces, not
 * empty ("0x" alone is not a number either); leading zeros are allowed.
 * Returns 0, -EINVAL (not a number, wherever the first wrong character
 * is) or -ERANGE (a number above @max, however long). */
int parse_number(const char *s, size_t len, enum parse_number_base base, uint32_t max, uint32_t *out);

enum parse_endpoint_host {
	PARSE_HOST_NUMERIC, /* addresses only (inet_pton: no "127.1") */
	PARSE_HOST_RESOLVE, /* addresses, or names resolved now (getaddrinfo) */
};

/* "192.0.2.1:51820", "[2001:db8::1]:51820", "[fe80::1%eth0]:51820" (a
 * scope by interface name or number) or, with PARSE_HOST_RESOLVE,
 * "host.name:51820". An IPv6 address needs its brackets, the port is a
 * number from 1 to 65535 (not a service name). Returns 0, or -EINVAL with
 * *why (if @why is not NULL) set to the problem, worded to follow the
 * quoted value: "Endpoint: '192.0.2.1' is missing a port: host:port". */
int parse_endpoint(const char *s, size_t len, enum parse_endpoint_host host, union conf_endpoint *out,
		   const char **why);

#endif
