/* compress.h - LZ4 compression of one packet, for peers configured with
 * Compression = lz4 (docs/PROTOCOL-compression.md). Each packet is one
 * independent LZ4 block in the raw block format: no frame header, no
 * history shared between packets. */
#ifndef FERRY_COMPRESS_H
#define FERRY_COMPRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Compress the @len bytes at @src into @dst. Returns the compressed length
 * if it is strictly smaller than @len and fits in @dst_cap; otherwise 0,
 * meaning "send the packet uncompressed". Never writes past @dst_cap bytes
 * of @dst; a @dst of @len - 1 bytes is always large enough. Allocates
 * nothing and is safe to call from several threads at once. */
size_t compress_packet(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap);

/* Decompress the LZ4 block of @len bytes at @src into @dst, which holds
 * @max_out bytes. Returns the decompressed length, from 1 to @max_out, or -1
 * if the block is empty, malformed, decompresses to nothing, or would
 * decompress to more than @max_out bytes. Never reads past @len bytes of
 * @src nor writes past @max_out bytes of @dst, whatever the input. */
ssize_t decompress_packet(const uint8_t *src, size_t len, uint8_t *dst, size_t max_out);

#endif
