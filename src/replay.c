/* replay.c - RFC 6479 anti-replay window: a ring of 64-bit words indexed by
 * counter / 64, so that advancing the window clears whole words instead of
 * shifting bits. Window: COUNTER_WINDOW_SIZE counters behind the newest. */
#include "replay.h"

#include <string.h>

#define WORDS (COUNTER_BITS_TOTAL / 64)

void replay_init(struct replay_counter *r)
{
	memset(r, 0, sizeof(*r));
}

bool replay_check(struct replay_counter *r, uint64_t counter)
{
	uint64_t index, index_current, top, i, bit;

	if (r->counter >= REJECT_AFTER_MESSAGES + 1 || counter >= REJECT_AFTER_MESSAGES)
		return false;
	/* Work with counter + 1 so that r->counter == 0 means "nothing yet". */
	counter++;
	if (counter + COUNTER_WINDOW_SIZE < r->counter)
		return false;
	index = counter / 64;
	if (counter > r->counter) {
		index_current = r->counter / 64;
		top = index - index_current;
		if (top > WORDS)
			top = WORDS;
		for (i = 1; i <= top; i++)
			r->backtrack[(i + index_current) % WORDS] = 0;
		r->counter = counter;
	}
	index %= WORDS;
	bit = 1ULL << (counter % 64);
	if (r->backtrack[index] & bit)
		return false;
	r->backtrack[index] |= bit;
	return true;
}
