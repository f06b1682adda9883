/* Unit tests: ferry plaintexts cut into pieces and put back together
 * (fragment.c): every order of arrival, pieces that disagree, the bound on
 * what a peer may hold (slots, timeouts), and the sizes the sender uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "fragment.h"

#include <stdlib.h>
#include <string.h>

/* Piece @index of @whole as it travels: the fragment header, then the
 * bytes. Returns its length. */
static size_t piece(uint8_t *out, uint32_t id, unsigned int index, unsigned int count, const uint8_t *whole,
		    size_t total)
{
	size_t off, len;

	fragment_piece(total, count, index, &off, &len);
	fragment_header_write(out, id, index, count, total);
	memcpy(out + FERRY_FRAGMENT_LEN, whole + off, len);
	return FERRY_FRAGMENT_LEN + len;
}

static void fill(uint8_t *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed);
}

static void any_order_gives_the_whole(void **state)
{
	static const unsigned int orders[][4] = { { 0, 1, 2, 3 }, { 3, 2, 1, 0 }, { 2, 0, 3, 1 }, { 1, 3, 0, 2 } };
	struct fragment_table t = { 0 };
	uint8_t whole[1526], buf[1000];
	const uint8_t *got;
	size_t got_len;
	unsigned int lost = 0, o, i;

	(void)state;
	fill(whole, sizeof(whole), 1);
	for (o = 0; o < 4; o++) {
		for (i = 0; i < 4; i++) {
			size_t n = piece(buf, o, orders[o][i], 4, whole, sizeof(whole));

			assert_int_equal(fragment_add(&t, buf, n, 1000, &got, &got_len, &lost),
					 i < 3 ? FRAGMENT_MORE : FRAGMENT_DONE);
		}
		assert_int_equal(got_len, sizeof(whole));
		assert_memory_equal(got, whole, sizeof(whole));
	}
	assert_int_equal(lost, 0);
	fragment_table_free(&t);
}

static void pieces_that_disagree_are_refused(void **state)
{
	struct fragment_table t = { 0 };
	uint8_t whole[3000], buf[3100];
	const uint8_t *got;
	size_t got_len, n;
	unsigned int lost = 0;

	(void)state;
	fill(whole, sizeof(whole), 2);
	/* count 0, 1 and above the maximum; an index past the count */
	n = piece(buf, 7, 0, 2, whole, 1000);
	buf[5] = 1;
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	buf[5] = 0;
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	buf[5] = FERRY_FRAGMENT_MAX + 1;
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	buf[5] = 2;
	buf[4] = 2;
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	/* a piece one byte short, or one too long, of what its place says */
	n = piece(buf, 7, 0, 2, whole, 1000);
	assert_int_equal(fragment_add(&t, buf, n - 1, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	assert_int_equal(fragment_add(&t, buf, n + 1, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	/* a whole larger than any message carries */
	fragment_header_write(buf, 8, 0, 16, FRAGMENT_MAX_TOTAL + 1);
	assert_int_equal(fragment_add(&t, buf, FERRY_FRAGMENT_LEN + 100, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	/* shorter than its header */
	assert_int_equal(fragment_add(&t, buf, FERRY_FRAGMENT_LEN - 1, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	/* two pieces of one id that disagree about the whole's size */
	n = piece(buf, 9, 0, 2, whole, 1000);
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_MORE);
	n = piece(buf, 9, 1, 2, whole, 1002);
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_BAD);
	/* the same piece twice: the first stays, nothing completes */
	n = piece(buf, 9, 0, 2, whole + 1, 1000);
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_MORE);
	n = piece(buf, 9, 1, 2, whole, 1000);
	assert_int_equal(fragment_add(&t, buf, n, 0, &got, &got_len, &lost), FRAGMENT_DONE);
	assert_memory_equal(got, whole, 1000);
	assert_int_equal(lost, 0);
	fragment_table_free(&t);
}

static void a_peer_holds_a_bounded_number(void **state)
{
	struct fragment_table t = { 0 };
	uint8_t whole[2000], buf[2100];
	const uint8_t *got;
	size_t got_len, n;
	unsigned int lost = 0, id;

	(void)state;
	fill(whole, sizeof(whole), 3);
	/* FRAGMENT_SLOTS wholes at once, each missing its last piece... */
	for (id = 0; id < FRAGMENT_SLOTS; id++) {
		n = piece(buf, id, 0, 2, whole, sizeof(whole));
		assert_int_equal(fragment_add(&t, buf, n, 100 + id, &got, &got_len, &lost), FRAGMENT_MORE);
	}
	assert_int_equal(lost, 0);
	/* ...one more takes the oldest one's slot: that whole is lost. */
	n = piece(buf, 100, 0, 2, whole, sizeof(whole));
	assert_int_equal(fragment_add(&t, buf, n, 200, &got, &got_len, &lost), FRAGMENT_MORE);
	assert_int_equal(lost, 1);
	n = piece(buf, 0, 1, 2, whole, sizeof(whole));
	assert_int_equal(fragment_add(&t, buf, n, 201, &got, &got_len, &lost), FRAGMENT_MORE); /* id 0 starts again */
	assert_int_equal(lost, 2); /* (and took id 1's slot) */
	/* The others complete. */
	n = piece(buf, 2, 1, 2, whole, sizeof(whole));
	assert_int_equal(fragment_add(&t, buf, n, 202, &got, &got_len, &lost), FRAGMENT_DONE);
	assert_memory_equal(got, whole, sizeof(whole));
	/* After FRAGMENT_TIMEOUT_MS a whole is given up. */
	n = piece(buf, 100, 1, 2, whole, sizeof(whole));
	assert_int_equal(fragment_add(&t, buf, n, 200 + FRAGMENT_TIMEOUT_MS + 1, &got, &got_len, &lost), FRAGMENT_MORE);
	assert_true(lost >= 3);
	fragment_table_free(&t);
}

static void sizes_for_the_sender(void **state)
{
	size_t off, len, sum = 0;
	unsigned int i, n;

	(void)state;
	assert_int_equal(fragment_count(1526, 1428), 2);
	assert_int_equal(fragment_count(1000, 1428), 2); /* at least two: else no need */
	assert_int_equal(fragment_count(1526, 50), 0);	 /* more than FERRY_FRAGMENT_MAX */
	assert_int_equal(fragment_count(0, 1428), 0);
	assert_int_equal(fragment_count(1526, 0), 0);
	assert_int_equal(fragment_count(FRAGMENT_MAX_TOTAL + 1, 9000), 0);
	n = fragment_count(9242, 1200);
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++) {
		fragment_piece(9242, n, i, &off, &len);
		assert_int_equal(off, sum);
		assert_true(len > 0 && len <= 1200);
		sum += len;
	}
	assert_int_equal(sum, 9242);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(any_order_gives_the_whole),
		cmocka_unit_test(pieces_that_disagree_are_refused),
		cmocka_unit_test(a_peer_holds_a_bounded_number),
		cmocka_unit_test(sizes_for_the_sender),
	};

	return cmocka_run_group_tests_name("fragment", tests, NULL, NULL);
}
