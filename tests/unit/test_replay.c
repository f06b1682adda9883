/* Unit tests: the replay window against hand-made sequences and a naive
 * reference (a set of every counter seen, with the same window rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "replay.h"

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

/* Reference: accepted iff never seen and not more than WINDOW behind the max. */
static void matches_reference(void **state)
{
	enum { N = 200000, SPAN = 40000 };
	uint8_t *seen = calloc(SPAN + 20000, 1);
	uint64_t max = 0;
	bool any = false;
	int i;

	(void)state;
	assert_non_null(seen);
	replay_init(&r);
	srand(11);
	for (i = 0; i < N; i++) {
		/* Mostly forward, often a little back, sometimes a big jump. */
		uint64_t c;
		int k = rand() % 100;

		if (k < 70)
			c = any ? max + (uint64_t)(rand() % 4) : 0;
		else if (k < 98)
			c = any && max > 0 ? max - (uint64_t)(rand() % (COUNTER_WINDOW_SIZE + 200)) % (max + 1) : 0;
		else
			c = max + (uint64_t)(rand() % 3000);
		if (c >= SPAN)
			break;
		bool expect = !seen[c] && (!any || c + COUNTER_WINDOW_SIZE >= max);
		bool got = replay_check(&r, c);

		if (got != expect)
			fail_msg("counter %llu (max %llu): got %d, expected %d", (unsigned long long)c,
				 (unsigned long long)max, got, expect);
		if (got) {
			seen[c] = 1;
			if (!any || c > max)
				max = c;
			any = true;
		}
	}
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sequences),
		cmocka_unit_test(matches_reference),
	};

	return cmocka_run_group_tests_name("replay", tests, NULL, NULL);
}
