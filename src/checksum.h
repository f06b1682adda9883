/* checksum.h - the Internet checksum (RFC 1071) and its pseudo-headers. */
#ifndef FERRY_CHECKSUM_H
#define FERRY_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* Add @len bytes at @data to the running 32-bit sum @sum. */
uint32_t checksum_partial(const void *data, size_t len, uint32_t sum);
/* Fold a running sum to 16 bits and complement it (network byte order result). */
uint16_t checksum_fold(uint32_t sum);
/* Sum of the IPv4 / IPv6 pseudo-header for an upper-layer checksum. */
uint32_t checksum_pseudo_v4(const void *src, const void *dst, uint8_t proto, uint32_t len);
uint32_t checksum_pseudo_v6(const void *src, const void *dst, uint8_t proto, uint32_t len);

#endif
