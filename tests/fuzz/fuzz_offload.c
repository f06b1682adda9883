/* Fuzz target: TSO/USO segmentation and TCP coalescing (offload.c), fed
 * what a TUN device or a peer could hand them. Whatever the bytes, nothing
 * may be read or written out of bounds, and what comes out must hold
 * together:
 *
 * - First byte even: the next 10 bytes are a struct virtio_net_hdr, the
 *   rest the packet, through offload_split. If it splits into TCP segments,
 *   they go back through offload_coalesce: each write must be one segment
 *   in place or a super-packet that splits again into exactly the segments
 *   it was made of, in order.
 * - First byte odd: the rest is a batch of packets, each a 2-byte
 *   big-endian length and that many bytes, through offload_coalesce; each
 *   super-packet built must split again.
 *
 * Each packet lives in a heap block of its exact size (after the
 * VNET_HDR_LEN bytes of headroom the coalescing may write), so that ASan
 * sees any read past its end. A broken invariant aborts. */
#include "offload.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PKTS    OFFLOAD_MAX_SEGMENTS
#define N_MERGE	    3
#define MAX_RESPLIT 65536

static uint8_t segs[1 << 22];
static uint8_t again[1 << 22];
static size_t lens[MAX_PKTS], again_lens[MAX_RESPLIT];

struct batch {
	struct offload_packet pkts[MAX_PKTS];
	struct offload_write writes[MAX_PKTS];
	uint8_t *mem[MAX_PKTS]; /* each packet's block, headroom first */
	uint8_t *merge[N_MERGE];
	int n;
};

static void batch_init(struct batch *b)
{
	int i;

	b->n = 0;
	for (i = 0; i < N_MERGE; i++) {
		b->merge[i] = malloc(VNET_HDR_LEN + 65535);
		if (!b->merge[i])
			abort();
	}
}

static void batch_add(struct batch *b, const uint8_t *pkt, size_t len)
{
	uint8_t *mem = malloc(VNET_HDR_LEN + len);

	if (!mem)
		abort();
	if (len)
		memcpy(mem + VNET_HDR_LEN, pkt, len);
	b->mem[b->n] = mem;
	b->pkts[b->n].data = mem + VNET_HDR_LEN;
	b->pkts[b->n].len = len;
	b->n++;
}

static void batch_free(struct batch *b)
{
	int i;

	for (i = 0; i < b->n; i++)
		free(b->mem[i]);
	for (i = 0; i < N_MERGE; i++)
		free(b->merge[i]);
}

/* Coalesce the batch and check each write. A super-packet is split again
 * (into @again, stride hdr_len + gso_size) and the number of its segments
 * stored in @nsegs[k]; -1 for a packet in place. */
static int coalesce_and_check(struct batch *b, int *nsegs)
{
	static const uint8_t zero[VNET_HDR_LEN];
	int n, k;

	n = offload_coalesce(b->pkts, b->n, b->merge, N_MERGE, b->writes);
	if (n < 0 || n > b->n)
		abort();
	for (k = 0; k < n; k++) {
		const struct offload_write *w = &b->writes[k];
		const struct virtio_net_hdr *h = (const struct virtio_net_hdr *)w->buf;
		size_t len, stride, want;

		nsegs[k] = -1;
		if (w->len < VNET_HDR_LEN)
			abort();
		len = w->len - VNET_HDR_LEN;
		if (!h->gso_type) {
			if (memcmp(w->buf, zero, VNET_HDR_LEN))
				abort();
			continue;
		}
		if (len > 65535 || !h->gso_size || h->hdr_len >= len || h->flags != VIRTIO_NET_HDR_F_NEEDS_CSUM)
			abort();
		stride = (size_t)h->hdr_len + h->gso_size;
		want = (len - h->hdr_len + h->gso_size - 1) / h->gso_size;
		if (want < 2 || want * stride > sizeof(again))
			abort();
		nsegs[k] = offload_split(h, w->buf + VNET_HDR_LEN, len, again, stride, again_lens, MAX_RESPLIT);
		if (nsegs[k] != (int)want)
			abort();
	}
	return n;
}

static void fuzz_split(const uint8_t *data, size_t size)
{
	static int nsegs[MAX_PKTS];
	struct virtio_net_hdr h;
	const uint8_t *pkt = data + sizeof(h);
	size_t len = size - sizeof(h), stride, max_segs;
	uint8_t base;
	struct batch b;
	uint8_t *copy;
	int n, k, j, i, m;

	memcpy(&h, data, sizeof(h));
	stride = len + 1;
	if (h.gso_type != VIRTIO_NET_HDR_GSO_NONE && h.gso_size && (size_t)h.gso_size + 120 < stride)
		stride = (size_t)h.gso_size + 120; /* IP and TCP headers: 60 + 60 at most */
	max_segs = sizeof(segs) / stride;
	if (max_segs > MAX_PKTS)
		max_segs = MAX_PKTS;
	copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, pkt, len);
	n = offload_split(&h, copy, len, segs, stride, lens, (int)max_segs);
	free(copy);
	if (n <= 0)
		return;
	if ((size_t)n > max_segs)
		abort();
	for (i = 0; i < n; i++)
		if (lens[i] > stride)
			abort();
	base = h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	if (base != VIRTIO_NET_HDR_GSO_TCPV4 && base != VIRTIO_NET_HDR_GSO_TCPV6)
		return;

	/* Segments of one flow, in order: each write is the next segment in
	 * place, or a super-packet that splits into the next few exactly. */
	batch_init(&b);
	for (i = 0; i < n; i++)
		batch_add(&b, segs + (size_t)i * stride, lens[i]);
	k = coalesce_and_check(&b, nsegs);
	for (i = 0, j = 0; i < k; i++) {
		const struct offload_write *w = &b.writes[i];
		const struct virtio_net_hdr *vh;
		size_t st;

		if (nsegs[i] < 0) {
			if (w->buf + VNET_HDR_LEN != b.pkts[j].data)
				abort();
			j++;
			continue;
		}
		vh = (const struct virtio_net_hdr *)w->buf;
		st = (size_t)vh->hdr_len + vh->gso_size;
		if (offload_split(vh, w->buf + VNET_HDR_LEN, w->len - VNET_HDR_LEN, again, st, again_lens,
				  MAX_RESPLIT) != nsegs[i])
			abort();
		for (m = 0; m < nsegs[i]; m++, j++) {
			if (j >= b.n || again_lens[m] != b.pkts[j].len ||
			    memcmp(again + (size_t)m * st, b.pkts[j].data, b.pkts[j].len))
				abort();
		}
	}
	if (j != b.n)
		abort();
	batch_free(&b);
}

static void fuzz_coalesce(const uint8_t *data, size_t size)
{
	static int nsegs[MAX_PKTS];
	struct batch b;

	batch_init(&b);
	while (size >= 2 && b.n < MAX_PKTS) {
		size_t len = (size_t)(data[0] << 8 | data[1]);

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		batch_add(&b, data, len);
		data += len;
		size -= len;
	}
	coalesce_and_check(&b, nsegs);
	batch_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		fuzz_coalesce(data + 1, size - 1);
	else if (size >= 1 + VNET_HDR_LEN)
		fuzz_split(data + 1, size - 1);
	return 0;
}
