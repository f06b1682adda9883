/* fragment.h - ferry plaintexts too long for one message, cut into pieces
 * (FERRY_KIND_FRAGMENT, messages.h) and put back together per peer.
 *
 * What a peer may hold here is bounded: at most FRAGMENT_SLOTS wholes being
 * reassembled, each at most FRAGMENT_MAX_TOTAL bytes, each given
 * FRAGMENT_TIMEOUT_MS to complete; a new whole with no slot free takes the
 * oldest one's. Pieces are authenticated (they travel in data messages),
 * but an authenticated peer is still hostile: every field is checked
 * against the others and against the slot it goes to. One thread. */
#ifndef FERRY_FRAGMENT_H
#define FERRY_FRAGMENT_H

#include "messages.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FRAGMENT_SLOTS	    4
#define FRAGMENT_TIMEOUT_MS 1000
/* The longest whole: the ferry header and a frame of the largest MTU any
 * transport carries (9216, jumbo) with two VLAN tags, or an LZ4 block of
 * one (never larger than what it compresses, by construction). */
#define FRAGMENT_MAX_TOTAL (FERRY_HEADER_LEN + 9216 + 22 + 64)

struct fragment_slot {
	uint8_t *buf; /* FRAGMENT_MAX_TOTAL bytes, allocated on first use */
	uint32_t id;
	uint16_t total;
	uint8_t count;
	bool used;
	uint32_t have; /* bit i: piece i is in */
	uint64_t born_ms;
};

struct fragment_table {
	struct fragment_slot slot[FRAGMENT_SLOTS];
};

enum fragment_result {
	FRAGMENT_MORE,	/* kept: the whole is not complete yet */
	FRAGMENT_DONE,	/* *whole, *whole_len: complete, valid until the next call on the table */
	FRAGMENT_BAD,	/* malformed, or not agreeing with the pieces before it: dropped */
	FRAGMENT_NOMEM, /* no memory for a slot: dropped */
};

/* Take the piece @frag (@len bytes: struct ferry_fragment, then the piece
 * itself). *@lost counts wholes given up to make room or by timeout. */
enum fragment_result fragment_add(struct fragment_table *t, const uint8_t *frag, size_t len, uint64_t now_ms,
				  const uint8_t **whole, size_t *whole_len, unsigned int *lost);
void fragment_table_free(struct fragment_table *t);

/* Sending: how many pieces a whole of @total bytes takes when each may carry
 * at most @max_piece bytes (0 when it cannot be done), and piece @index's
 * offset and length. */
unsigned int fragment_count(size_t total, size_t max_piece);
void fragment_piece(size_t total, unsigned int count, unsigned int index, size_t *off, size_t *len);
void fragment_header_write(uint8_t *h, uint32_t id, unsigned int index, unsigned int count, size_t total);

#endif
