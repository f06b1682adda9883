/* fragment.c - pieces of ferry plaintexts and their reassembly (fragment.h). */
#include "fragment.h"

#include <stdlib.h>
#include <string.h>

static uint16_t get16le(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

unsigned int fragment_count(size_t total, size_t max_piece)
{
	size_t n;

	if (!max_piece || !total)
		return 0;
	n = (total + max_piece - 1) / max_piece;
	if (n < 2)
		n = 2;
	return n > FERRY_FRAGMENT_MAX || total > FRAGMENT_MAX_TOTAL ? 0 : (unsigned int)n;
}

void fragment_piece(size_t total, unsigned int count, unsigned int index, size_t *off, size_t *len)
{
	size_t piece = (total + count - 1) / count;

	*off = piece * index;
	*len = *off >= total ? 0 : (total - *off < piece ? total - *off : piece);
}

void fragment_header_write(uint8_t *h, uint32_t id, unsigned int index, unsigned int count, size_t total)
{
	h[0] = (uint8_t)id;
	h[1] = (uint8_t)(id >> 8);
	h[2] = (uint8_t)(id >> 16);
	h[3] = (uint8_t)(id >> 24);
	h[4] = (uint8_t)index;
	h[5] = (uint8_t)count;
	h[6] = (uint8_t)total;
	h[7] = (uint8_t)(total >> 8);
}

/* The slot for whole @id: its own, else a free or timed-out one, else the
 * oldest (counted in *lost when it held an incomplete whole). */
static struct fragment_slot *slot_for(struct fragment_table *t, uint32_t id, uint64_t now_ms, unsigned int *lost)
{
	struct fragment_slot *s, *free_slot = NULL, *oldest = NULL;
	int i;

	for (i = 0; i < FRAGMENT_SLOTS; i++) {
		s = &t->slot[i];
		if (s->used && now_ms - s->born_ms > FRAGMENT_TIMEOUT_MS) {
			s->used = false;
			(*lost)++;
		}
		if (s->used && s->id == id)
			return s;
		if (!s->used && !free_slot)
			free_slot = s;
		if (s->used && (!oldest || s->born_ms < oldest->born_ms))
			oldest = s;
	}
	if (free_slot)
		return free_slot;
	oldest->used = false;
	(*lost)++;
	return oldest;
}

enum fragment_result fragment_add(struct fragment_table *t, const uint8_t *frag, size_t len, uint64_t now_ms,
				  const uint8_t **whole, size_t *whole_len, unsigned int *lost)
{
	struct fragment_slot *s;
	uint32_t id;
	unsigned int index, count;
	size_t total, off, plen;

	if (len < FERRY_FRAGMENT_LEN)
		return FRAGMENT_BAD;
	id = get32le(frag);
	index = frag[4];
	count = frag[5];
	total = get16le(frag + 6);
	if (count < 2 || count > FERRY_FRAGMENT_MAX || index >= count || total < count || total > FRAGMENT_MAX_TOTAL)
		return FRAGMENT_BAD;
	fragment_piece(total, count, index, &off, &plen);
	/* Each piece has exactly the length its place says: no overlaps, no
	 * gaps, nothing past the end. */
	if (!plen || len - FERRY_FRAGMENT_LEN != plen)
		return FRAGMENT_BAD;
	s = slot_for(t, id, now_ms, lost);
	if (s->used && (s->total != total || s->count != count))
		return FRAGMENT_BAD;
	if (!s->used) {
		if (!s->buf && !(s->buf = malloc(FRAGMENT_MAX_TOTAL)))
			return FRAGMENT_NOMEM;
		s->used = true;
		s->id = id;
		s->total = (uint16_t)total;
		s->count = (uint8_t)count;
		s->have = 0;
		s->born_ms = now_ms;
	}
	if (s->have & (1u << index))
		return FRAGMENT_MORE; /* a piece again (the first stays): nothing new */
	memcpy(s->buf + off, frag + FERRY_FRAGMENT_LEN, plen);
	s->have |= 1u << index;
	if (s->have != (1u << count) - 1)
		return FRAGMENT_MORE;
	s->used = false;
	*whole = s->buf;
	*whole_len = total;
	return FRAGMENT_DONE;
}

void fragment_table_free(struct fragment_table *t)
{
	int i;

	for (i = 0; i < FRAGMENT_SLOTS; i++) {
		free(t->slot[i].buf);
		t->slot[i].buf = NULL;
		t->slot[i].used = false;
	}
}
