/* checksum.c - the Internet checksum, summed in 16-bit words of network order. */
#include "checksum.h"

#include <string.h>

uint32_t checksum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	while (len >= 2) {
		acc += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		acc += (uint32_t)(p[0] << 8);
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
