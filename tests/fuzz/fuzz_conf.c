/* Fuzz target: config files (conf_parse_buffer), each input in both the
 * wg-quick and the setconf style. Whatever the bytes, the parser must not
 * crash or leak, and on failure must leave a zeroed struct behind.
 *
 * The parser reports each bad line on stderr; tests/fuzz/run.sh passes
 * -close_fd_mask=2, with which libFuzzer discards the target's stderr but
 * keeps its own output and the sanitizers' reports. (Reopening stderr on
 * /dev/null here would lose those reports too.) Run by hand on one input,
 * the messages show what the parser made of it. */
#include "conf.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Endpoint = name:port would send random names to DNS: slow, and not
 * repeatable. This getaddrinfo() comes before libc's (an executable's
 * definitions win) and only knows numeric addresses, which is all the
 * parsing around it needs. */
struct fake_addrinfo {
	struct addrinfo ai; /* first: freeaddrinfo() frees the whole */
	union conf_endpoint addr;
};

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	struct fake_addrinfo *f;
	int family = hints ? hints->ai_family : AF_UNSPEC;

	if (!node || !service)
		return EAI_NONAME;
	f = calloc(1, sizeof(*f));
	if (!f)
		return EAI_MEMORY;
	if ((family == AF_UNSPEC || family == AF_INET) && inet_pton(AF_INET, node, &f->addr.in4.sin_addr) == 1) {
		f->addr.in4.sin_family = AF_INET;
		f->addr.in4.sin_port = htons((uint16_t)atoi(service));
		f->ai.ai_addrlen = sizeof(f->addr.in4);
	} else if ((family == AF_UNSPEC || family == AF_INET6) &&
		   inet_pton(AF_INET6, node, &f->addr.in6.sin6_addr) == 1) {
		f->addr.in6.sin6_family = AF_INET6;
		f->addr.in6.sin6_port = htons((uint16_t)atoi(service));
		f->ai.ai_addrlen = sizeof(f->addr.in6);
	} else {
		free(f);
		return EAI_NONAME;
	}
	f->ai.ai_family = f->addr.sa.sa_family;
	f->ai.ai_socktype = SOCK_DGRAM;
	f->ai.ai_addr = &f->addr.sa;
	*res = &f->ai;
	return 0;
}

void freeaddrinfo(struct addrinfo *res)
{
	free(res); /* a struct fake_addrinfo */
}

static void parse(const uint8_t *data, size_t size, enum conf_style style)
{
	static const struct conf_device zero;
	struct conf_device c;

	if (conf_parse_buffer("fuzz.conf", (const char *)data, size, style, &c) < 0) {
		if (memcmp(&c, &zero, sizeof(c)))
			abort(); /* a failed parse must free and zero */
		return;
	}
	if (!(c.flags & CONF_REPLACE_PEERS))
		abort();
	for (size_t i = 0; i < c.n_peers; i++)
		if (!(c.peers[i].flags & CONF_PEER_REPLACE_ALLOWEDIPS))
			abort();
	conf_device_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse(data, size, CONF_WG_QUICK);
	parse(data, size, CONF_WG_SETCONF);
	return 0;
}
