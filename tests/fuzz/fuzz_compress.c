/* Fuzz target: LZ4 packet decompression and compression (compress.c).
 *
 * The input is taken as a block from a peer and decompressed with the limits
 * the data path uses, an MTU of 1500 and the largest IP packet (65535): the
 * result must be -1 or a length within the limit, and what decodes within
 * the smaller limit must decode the same within the larger. Then the input
 * is taken as a packet and compressed: a block must be smaller than the
 * packet, must not be produced into one byte less than its size, and must
 * decompress to the packet exactly.
 *
 * liblz4 is neither built with ASan nor instrumented for coverage. So every
 * buffer it reads or writes ends where an inaccessible page begins (a byte
 * too far crashes), and the outcome of each call (failed, or the size of
 * the result) is fed to libFuzzer as extra coverage
 * counters, so that it keeps inputs that decode or compress differently.
 * A broken invariant aborts. */
#include "compress.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MTU	     1500
#define MAX_IP_LEN   65535
#define REGION_BYTES (1 << 20)

/* Decompressed size into 1500 and into 65535 bytes, by power of two (0:
 * failed); compressed size by power of two of the packet's size and by
 * sixteenths of it (0: not smaller). */
static uint8_t out_mtu[18], out_max[18],
    compressed[18][17] __attribute__((section("__libfuzzer_extra_counters"), used));

static unsigned int log2_bucket(ssize_t r)
{
	unsigned int b = 0;

	if (r > 0)
		for (b = 1; r > 1 && b < 17; r >>= 1)
			b++;
	return b;
}

/* A region whose end touches an inaccessible page; @len bytes ending there. */
static uint8_t *fenced_end(void)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, REGION_BYTES + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + REGION_BYTES, page, PROT_NONE))
		abort();
	return p + REGION_BYTES;
}

static uint8_t *in_end, *out_end, *out2_end, *block_end;

static void fuzz_decompress(const uint8_t *in, size_t size)
{
	uint8_t *small = out_end - MTU, *large = out2_end - MAX_IP_LEN;
	ssize_t r_small, r_large;

	r_small = decompress_packet(in, size, small, MTU);
	if (r_small != -1 && (r_small < 1 || r_small > MTU))
		abort();
	out_mtu[log2_bucket(r_small)]++;
	r_large = decompress_packet(in, size, large, MAX_IP_LEN);
	if (r_large != -1 && (r_large < 1 || r_large > MAX_IP_LEN))
		abort();
	out_max[log2_bucket(r_large)]++;
	/* A block that decodes within the MTU decodes the same with more room.
	 * (Not the converse: LZ4 checks the rules for the end of a block, such
	 * as "the last 5 bytes are literals", against the room it is given, so
	 * a hand-made block can pass with 65535 bytes of room and fail with
	 * 1500 although it decodes to less. Blocks from a real compressor
	 * follow the rules and decode the same under any limit they fit.) */
	if (r_small > 0 && (r_large != r_small || memcmp(small, large, (size_t)r_small)))
		abort();
}

static void fuzz_round_trip(const uint8_t *in, size_t size)
{
	uint8_t *block, *out = out_end - size;
	size_t n;
	ssize_t r;

	if (size < 2 || size > MAX_IP_LEN)
		return;
	block = block_end - (size - 1);
	n = compress_packet(in, size, block, size - 1);
	compressed[log2_bucket((ssize_t)size)][n ? 1 + n * 16 / size : 0]++;
	if (n == 0)
		return;
	if (n >= size)
		abort();
	/* The block, moved to end at the fence, decompresses to the packet. */
	memmove(block_end - n, block, n);
	block = block_end - n;
	r = decompress_packet(block, n, out, size);
	if (r != (ssize_t)size || memcmp(out, in, size))
		abort();
	/* One byte less room than the block: refused, nothing written past. */
	if (compress_packet(in, size, block_end - (n - 1), n - 1) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *in;

	if (!in_end) {
		in_end = fenced_end();
		out_end = fenced_end();
		out2_end = fenced_end();
		block_end = fenced_end();
	}
	if (size > REGION_BYTES)
		return 0;
	in = in_end - size;
	memcpy(in, data, size);
	fuzz_decompress(in, size);
	fuzz_round_trip(in, size);
	return 0;
}
