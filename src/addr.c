/* addr.c - parsing and formatting of IPv4/IPv6 addresses and prefixes. */
#include "addr.h"
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int ip_addr_parse(const char *text, int *family, union ip_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (strchr(text, ':')) {
		if (inet_pton(AF_INET6, text, &out->v6) != 1)
			return -EINVAL;
		*family = AF_INET6;
		return 0;
	}
	if (inet_pton(AF_INET, text, &out->v4) != 1)
		return -EINVAL;
	*family = AF_INET;
	return 0;
}

int ip_prefix_parse(const char *text, struct ip_prefix *out, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t addrlen = slash ? (size_t)(slash - text) : strlen(text);
	const char *dummy;
	uint32_t len;

	if (!why)
		why = &dummy;
	memset(out, 0, sizeof(*out));
	if (addrlen == 0) {
		*why = "missing address";
		return -EINVAL;
	}
	if (addrlen >= sizeof(buf)) {
		*why = "address too long";
		return -EINVAL;
	}
	memcpy(buf, text, addrlen);
	buf[addrlen] = '\0';
	if (ip_addr_parse(buf, &out->family, &out->addr) < 0) {
		*why = "not an IPv4 or IPv6 address";
		return -EINVAL;
	}
	if (!slash) {
		out->len = (uint8_t)ip_family_bits(out->family);
		return 0;
	}
	switch (parse_number(slash + 1, strlen(slash + 1), PARSE_DECIMAL, ip_family_bits(out->family), &len)) {
	case 0:
		break;
	case -ERANGE:
		*why = out->family == AF_INET ? "prefix length is larger than 32" : "prefix length is larger than 128";
		return -EINVAL;
	default:
		*why = "prefix length is not a number";
		return -EINVAL;
	}
	out->len = (uint8_t)len;
	return 0;
}

void ip_prefix_mask(struct ip_prefix *p)
{
	unsigned int bytes = ip_family_bits(p->family) / 8;
	unsigned int i;

	for (i = 0; i < bytes; i++) {
		unsigned int bit = i * 8;

		if (bit >= p->len)
			p->addr.bytes[i] = 0;
		else if (bit + 8 > p->len)
			p->addr.bytes[i] &= (uint8_t)(0xff << (8 - (p->len - bit)));
	}
}

const char *ip_prefix_format(const struct ip_prefix *p, char *buf, size_t size)
{
	char a[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, &p->addr, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, size, "%s/%u", a, p->len);
	return buf;
}
