/* compress.c - one packet in, one LZ4 block out, and back (compress.h).
 *
 * Ownership: both directions only read the caller's source and write the
 * caller's destination, within the bounds given; nothing here allocates.
 *
 * The compressor needs a 16 KB hash table. Each thread keeps its own, so that
 * workers compress in parallel without locks or allocation, and the table
 * is not a 16 KB frame on the worker's stack. LZ4_compress_fast_extState
 * clears it for every packet: a packet's block then depends on that packet
 * alone, never on what the thread compressed before. The cheaper
 * LZ4_resetStream_fast + LZ4_compress_fast_continue, which leaves old
 * entries in the table out of reach instead of clearing them, is safe too,
 * but its output changes every time the table is recycled (each ~16,000
 * packets): fuzz_compress caught the same packet compressing to 33 and to 34
 * bytes. A block length that depends on anything but the packet is one
 * thing more to reason about in a length side channel, for 0.15 us per
 * packet.
 *
 * Measured on 1400-byte packets (one core of this VM, bench/compress.c):
 * clearing the table costs random data 3.1 -> 2.3 GB/s against the reuse
 * above, and is 5-10% faster on text (535 against 490 MB/s). Acceleration 2
 * is 10-20% faster on text but loses 7-8% of the ratio (HTML 1.62 -> 1.50,
 * logs 1.93 -> 1.77), and 4 loses 18-20%: the default, 1, is kept. */
#include "compress.h"

#include <limits.h>
#include <lz4.h>

#define COMPRESS_ACCELERATION 1

static _Thread_local LZ4_stream_t lz4_state;

size_t compress_packet(const uint8_t *src, size_t len, uint8_t *dst, size_t dst_cap)
{
	size_t cap;
	int n;

	if (len < 2 || len > INT_MAX || dst_cap == 0)
		return 0;
	/* Only a block strictly smaller than the packet is worth sending:
	 * with at most len - 1 bytes of room LZ4 itself refuses the rest. */
	cap = dst_cap < len - 1 ? dst_cap : len - 1;
	n = LZ4_compress_fast_extState(&lz4_state, (const char *)src, (char *)dst, (int)len, (int)cap,
				       COMPRESS_ACCELERATION);
	return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

ssize_t decompress_packet(const uint8_t *src, size_t len, uint8_t *dst, size_t max_out)
{
	int n;

	if (len == 0 || len > INT_MAX || max_out == 0)
		return -1;
	/* A smaller capacity than the buffer is always safe. */
	n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)len, max_out > INT_MAX ? INT_MAX : (int)max_out);
	return n > 0 ? n : -1;
}
