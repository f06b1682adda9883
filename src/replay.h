/* replay.h - the sliding window that rejects replayed data message counters. */
#ifndef FERRY_REPLAY_H
#define FERRY_REPLAY_H

#include "messages.h"

#include <stdbool.h>
#include <stdint.h>

struct replay_counter {
	uint64_t counter; /* one past the highest counter accepted */
	uint64_t backtrack[COUNTER_BITS_TOTAL / 64];
};

void replay_init(struct replay_counter *r);
/* True if @counter is new (and records it); false if it was seen, is too
 * old for the window, or is at or past REJECT_AFTER_MESSAGES. Call it only
 * after the packet authenticated, or a forged counter would move the window. */
bool replay_check(struct replay_counter *r, uint64_t counter);

#endif
