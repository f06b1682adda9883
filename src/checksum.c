/* checksum.c - the Internet checksum, summed in 16-bit words of network order. */
#include "checksum.h"

#include <endian.h>
#include <string.h>

/* The 16-bit word a trailing byte makes, in the order words are summed. */
static inline uint16_t host_word_of_byte(uint8_t b)
{
#if __BYTE_ORDER == __LITTLE_ENDIAN
	return b;
#else
	return (uint16_t)(b << 8);
#endif
}

static inline uint16_t to_network_order16(uint16_t x)
{
#if __BYTE_ORDER == __LITTLE_ENDIAN
	return (uint16_t)(x >> 8 | x << 8);
#else
	return x;
#endif
}

/* Summed 32 bits at a time into a 64-bit accumulator, in host order: the
 * one's-complement sum does not depend on byte order except for a final
 * swap (RFC 1071, section 2(B)), and 2^32 additions cannot overflow 64
 * bits. This runs several times faster than summing 16-bit words, and the
 * compiler vectorizes the main loop. */
uint32_t checksum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = 0, a0 = 0, a1 = 0, a2 = 0, a3 = 0;
	uint32_t w[4];
	uint16_t h;

	for (; len >= 16; p += 16, len -= 16) {
		memcpy(w, p, 16);
		a0 += w[0];
		a1 += w[1];
		a2 += w[2];
		a3 += w[3];
	}
	acc = a0 + a1 + a2 + a3; /* each < 2^48 for any packet: no overflow */
	for (; len >= 4; p += 4, len -= 4) {
		memcpy(w, p, 4);
		acc += w[0];
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len)
		acc += host_word_of_byte(p[0]);
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	acc = to_network_order16((uint16_t)acc) + (uint64_t)sum;
	while (acc >> 32)
		acc = (acc & 0xffffffffu) + (acc >> 32);
	return (uint32_t)acc;
}

uint16_t checksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	/* Returned in network byte order, ready to store. */
	return (uint16_t)((sum >> 8) | ((sum & 0xff) << 8));
}

static uint32_t pseudo_tail(uint32_t sum, uint8_t proto, uint32_t len)
{
	uint8_t tail[8] = {
		(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len, 0, 0, 0, proto
	};

	return checksum_partial(tail, sizeof(tail), sum);
}

uint32_t checksum_pseudo_v4(const void *src, const void *dst, uint8_t proto, uint32_t len)
{
	uint32_t sum = checksum_partial(src, 4, 0);

	sum = checksum_partial(dst, 4, sum);
	return pseudo_tail(sum, proto, len);
}

uint32_t checksum_pseudo_v6(const void *src, const void *dst, uint8_t proto, uint32_t len)
{
	uint32_t sum = checksum_partial(src, 16, 0);

	sum = checksum_partial(dst, 16, sum);
	return pseudo_tail(sum, proto, len);
}
