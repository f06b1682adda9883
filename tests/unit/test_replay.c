/* Unit tests: the replay window against hand-made sequences and a naive
 * reference (a set of every counter seen, with the same window rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "replay.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static struct replay_counter r;

static void sequences(void **state)
{
	(void)state;
	replay_init(&r);
	assert_true(replay_check(&r, 0));
	assert_false(replay_check(&r, 0));
	assert_true(replay_check(&r, 1));
	assert_true(replay_check(&r, 3));
	assert_true(replay_check(&r, 2)); /* late but inside the window */
	assert_false(replay_check(&r, 2));
	assert_true(replay_check(&r, COUNTER_WINDOW_SIZE + 3));
	assert_true(replay_check(&r, 4));  /* exactly at the window's edge */
	assert_false(replay_check(&r, 1)); /* behind the window */
	assert_true(replay_check(&r, 100000));
	assert_false(replay_check(&r, 100000 - COUNTER_WINDOW_SIZE - 1));
	assert_true(replay_check(&r, 100000 - COUNTER_WINDOW_SIZE));
	/* A jump of more than the whole ring clears it. */
	assert_true(replay_check(&r, 1000000));
	assert_true(replay_check(&r, 1000000 - 1));
	assert_false(replay_check(&r, 1000000));
	/* The end of the counter space. */
	assert_false(replay_check(&r, REJECT_AFTER_MESSAGES));
	assert_false(replay_check(&r, UINT64_MAX));
	assert_true(replay_check(&r, REJECT_AFTER_MESSAGES - 1));
	assert_false(replay_check(&r, REJECT_AFTER_MESSAGES - 2 - COUNTER_WINDOW_SIZE));
}

/* The reference's memory: one bit per counter from 0, grown as the
 * counters climb (a few MiB for the whole run). */
struct seen_set {
	uint8_t *bits;
	size_t bytes;
};

static bool seen_has(const struct seen_set *s, uint64_t c)
{
	return c / 8 < s->bytes && (s->bits[c / 8] & (1u << (c % 8)));
}

static void seen_add(struct seen_set *s, uint64_t c)
{
	if (c / 8 >= s->bytes) {
		size_t bigger = s->bytes ? s->bytes : 4096;
		uint8_t *grown;

		while (c / 8 >= bigger)
			bigger *= 2;
		grown = realloc(s->bits, bigger);
		assert_non_null(grown);
		memset(grown + s->bytes, 0, bigger - s->bytes);
		s->bits = grown;
		s->bytes = bigger;
	}
	s->bits[c / 8] |= (uint8_t)(1u << (c % 8));
}

/* Reference: accepted iff never seen and not more than WINDOW behind the
 * max. Every one of the N counters is compared: mostly forward, often a
 * little back (some just inside, some just outside the window), sometimes a
 * jump within the ring and now and then one past the whole ring. */
static void matches_reference(void **state)
{
	enum { N = 200000 };
	struct seen_set seen = { 0 };
	unsigned int accepted = 0, replayed = 0, too_old = 0, big_jumps = 0;
	uint64_t max = 0;
	bool any = false;
	int i;

	(void)state;
	replay_init(&r);
	srand(11);
	for (i = 0; i < N; i++) {
		uint64_t c;
		int k = rand() % 1000;

		if (k < 700) {
			c = any ? max + (uint64_t)(rand() % 4) : 0;
		} else if (k < 980) {
			c = any && max > 0 ? max - (uint64_t)(rand() % (COUNTER_WINDOW_SIZE + 200)) % (max + 1) : 0;
		} else if (k < 995) {
			c = max + (uint64_t)(rand() % 3000);
		} else {
			c = max + COUNTER_BITS_TOTAL + (uint64_t)(rand() % (2 * COUNTER_BITS_TOTAL));
			big_jumps++;
		}
		bool old = any && c + COUNTER_WINDOW_SIZE < max;
		bool expect = !seen_has(&seen, c) && !old;
		bool got = replay_check(&r, c);

		if (got != expect)
			fail_msg("step %d, counter %llu (max %llu): got %d, expected %d", i, (unsigned long long)c,
				 (unsigned long long)max, got, expect);
		if (got) {
			seen_add(&seen, c);
			if (!any || c > max)
				max = c;
			any = true;
			accepted++;
		} else if (old) {
			too_old++;
		} else {
			replayed++;
		}
	}
	/* The run went everywhere it means to. */
	print_message("# %u accepted, %u replayed, %u too old, %u jumps past the ring; max %llu\n", accepted, replayed,
		      too_old, big_jumps, (unsigned long long)max);
	assert_int_equal(i, N);
	assert_true(accepted > N / 4);
	assert_true(replayed > N / 20);
	assert_true(too_old > N / 1000);
	assert_true(big_jumps > N / 1000);
	free(seen.bits);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sequences),
		cmocka_unit_test(matches_reference),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
