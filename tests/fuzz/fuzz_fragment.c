/* Fuzz target: what a peer's pieces and packets can do to the path-MTU code
 * (fragment.c, pmtu.c), both behind authentication in the data path.
 *
 * The input is a list of records. A record of kind 0 is a piece for one
 * peer's reassembly table: a fragment header and piece bytes taken from the
 * input, the clock moved on by the input; whatever completes must be
 * exactly `total` bytes, at most FRAGMENT_MAX_TOTAL, and equal to what the
 * pieces of its id carried. Kind 1 is an inner packet from the input: its
 * MSS clamped (it stays the same length, a clamped SYN's MSS is the
 * limit), an ICMP too-big built for it (within 576 / 1280 bytes, with valid
 * checksums), and IPv4 fragments cut from it (each within the MTU, and
 * together the packet's payload). Every input is copied into a heap block
 * of its exact length, so that ASan sees a read past it. A broken
 * invariant aborts. */
#include "checksum.h"
#include "fragment.h"
#include "pmtu.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the pieces of each whole the table holds said, to check what
 * completes against: one record per id in a slot. */
struct expectation {
	bool used;
	uint32_t id;
	uint8_t data[FRAGMENT_MAX_TOTAL];
	uint8_t set[FRAGMENT_MAX_TOTAL];
};
static struct expectation exps[FRAGMENT_SLOTS + 1];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool in_table(const struct fragment_table *t, uint32_t id)
{
	for (int i = 0; i < FRAGMENT_SLOTS; i++)
		if (t->slot[i].used && t->slot[i].id == id)
			return true;
	return false;
}

/* In the table and not yet timed out at @now: a piece of its id adds to
 * it. (One timed out is still in a slot until the table looks, and a piece
 * of the same id then starts a new whole.) */
static bool in_table_live(const struct fragment_table *t, uint32_t id, uint64_t now)
{
	for (int i = 0; i < FRAGMENT_SLOTS; i++)
		if (t->slot[i].used && t->slot[i].id == id && now - t->slot[i].born_ms <= FRAGMENT_TIMEOUT_MS)
			return true;
	return false;
}

static struct expectation *expectation_of(uint32_t id, bool fresh)
{
	struct expectation *free_one = NULL;

	for (int i = 0; i <= FRAGMENT_SLOTS; i++) {
		if (exps[i].used && exps[i].id == id) {
			if (fresh)
				memset(exps[i].set, 0, sizeof(exps[i].set));
			return &exps[i];
		}
		if (!exps[i].used && !free_one)
			free_one = &exps[i];
	}
	if (!free_one)
		abort(); /* more wholes than the table may hold */
	free_one->used = true;
	free_one->id = id;
	memset(free_one->set, 0, sizeof(free_one->set));
	return free_one;
}

static void piece(struct fragment_table *t, const uint8_t *rec, size_t len, uint64_t *now)
{
	uint8_t *copy = malloc(len), *h = copy + 1;
	const uint8_t *whole;
	size_t wlen, total, off, plen;
	unsigned int lost = 0;
	enum fragment_result r;
	uint32_t id = 0;
	bool before = false;

	*now += rec[0] * 20u; /* up to 5 s between pieces */
	memcpy(copy, rec, len);
	if (len - 1 >= FERRY_FRAGMENT_LEN) {
		id = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 | (uint32_t)h[3] << 24;
		before = in_table_live(t, id, *now);
	}
	/* The first byte is the clock; the piece starts at the second. */
	r = fragment_add(t, h, len - 1, *now, &whole, &wlen, &lost);
	if (r == FRAGMENT_MORE || r == FRAGMENT_DONE) {
		/* A whole the table did not hold before starts afresh (an
		 * expired or evicted one of the same id is gone). */
		struct expectation *e = expectation_of(id, !before);

		total = (size_t)h[6] | (size_t)h[7] << 8;
		fragment_piece(total, h[5], h[4], &off, &plen);
		for (size_t i = 0; i < plen; i++) {
			if (!e->set[off + i]) {
				e->data[off + i] = h[FERRY_FRAGMENT_LEN + i];
				e->set[off + i] = 1;
			}
		}
		if (r == FRAGMENT_DONE) {
			if (wlen != total || wlen > FRAGMENT_MAX_TOTAL || memchr(e->set, 0, wlen) ||
			    memcmp(whole, e->data, wlen))
				abort();
			e->used = false;
		}
	}
	/* Forget what the table gave up. */
	for (int i = 0; i <= FRAGMENT_SLOTS; i++)
		if (exps[i].used && !in_table(t, exps[i].id))
			exps[i].used = false;
	free(copy);
}

static void packet(const uint8_t *rec, size_t len)
{
	uint8_t *ip = malloc(len ? len : 1), *frags, out[1400];
	size_t lens[64], n;
	uint16_t mss = (uint16_t)(536 + (len ? rec[0] : 0) * 4);
	int k;

	memcpy(ip, rec, len);
	if (pmtu_clamp_mss(ip, len, mss) && !pmtu_is_tcp_syn(ip, len))
		abort();
	n = pmtu_too_big(out, sizeof(out), ip, len, 1200);
	if (n) {
		size_t hl = out[0] >> 4 == 6 ? 40 : 20;

		if (n > (hl == 40 ? 1280u : 576u))
			abort();
		if (hl == 20 && checksum_fold(checksum_partial(out, 20, 0)))
			abort();
		if (hl == 20 && checksum_fold(checksum_partial(out + 20, n - 20, 0)))
			abort();
		if (hl == 40 && checksum_fold(checksum_partial(
				    out + 40, n - 40, checksum_pseudo_v6(out + 8, out + 24, 58, (uint32_t)(n - 40)))))
			abort();
	}
	frags = malloc(64 * 1300);
	k = pmtu_fragment4(ip, len, 576 + (len ? rec[len - 1] : 0) * 2, frags, 1300, lens, 64);
	if (k > 0) {
		size_t sum = 0;

		for (int i = 0; i < k; i++) {
			if (lens[i] > 576 + (size_t)rec[len - 1] * 2 || lens[i] < 20)
				abort();
			sum += lens[i] - 20;
		}
		if (sum != (size_t)rd16(ip + 2) - 20)
			abort();
	}
	free(frags);
	free(ip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragment_table t = { 0 };
	uint64_t now = 1000;

	memset(exps, 0, sizeof(exps));
	/* Records: kind (1 byte), length (2 bytes), then that many bytes. */
	while (size >= 3) {
		size_t len = (size_t)data[1] << 8 | data[2];

		if (len > size - 3)
			len = size - 3;
		if (data[0] & 1)
			packet(data + 3, len);
		else if (len >= 1)
			piece(&t, data + 3, len, &now);
		data += 3 + len;
		size -= 3 + len;
	}
	fragment_table_free(&t);
	return 0;
}
