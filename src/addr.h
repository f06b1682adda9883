/* addr.h - IPv4/IPv6 addresses and prefixes as used by configuration and routing. */
#ifndef FERRY_ADDR_H
#define FERRY_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

union ip_addr {
	struct in_addr v4;
	struct in6_addr v6;
	uint8_t bytes[16];
};

struct ip_prefix {
	int family; /* AF_INET or AF_INET6 */
	union ip_addr addr;
	uint8_t len; /* prefix length in bits */
};

/* Parse "192.0.2.1", "2001:db8::1" (a host prefix) or "10.0.0.0/8".
 * Returns 0, or -EINVAL with *why set to a short reason for people. */
int ip_prefix_parse(const char *text, struct ip_prefix *out, const char **why);

/* Parse a bare address (no prefix length). */
int ip_addr_parse(const char *text, int *family, union ip_addr *out);

/* Format as "addr/len" into buf (INET6_ADDRSTRLEN + 4 bytes is enough). */
const char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t size);

/* Clear the host bits beyond the prefix length (10.1.2.3/8 -> 10.0.0.0/8). */
void ip_prefix_mask(struct ip_prefix *p);

static inline unsigned int ip_family_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

#define IP_PREFIX_STRLEN (INET6_ADDRSTRLEN + 4)

#endif
