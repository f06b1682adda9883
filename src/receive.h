/* receive.h - the receive path: every datagram from the UDP sockets. */
#ifndef FERRY_RECEIVE_H
#define FERRY_RECEIVE_H

#include "conf.h"
#include "device.h"
#include "offload.h"
#include "transport.h"
#include "udp.h"

#include <stddef.h>
#include <stdint.h>

/* Handle one message of @len bytes that came from @src. The buffer is the caller's;
 * data messages are decrypted in place in it. */
void receive_packet(struct device *dev, uint8_t *buf, size_t len, const struct endpoint *src);
/* Path MTUs learned from ICMP: how many updates a second at most, and how
 * long one holds. */
#define RECEIVE_PMTU_PER_SECOND 16
#define RECEIVE_PMTU_HOLD_MS	600000
/* receive_packet() and the end of each batch, for the transports. */
extern const struct transport_receiver receive_transport;

/* The receive batch, the event loop thread's own (one per thread that
 * receives; nothing here is shared). Decrypted packets wait in pkts until
 * receive_flush() coalesces them (with vnet_hdr) and writes them to the
 * TUN device; they point into the buffers of the transport that delivered
 * them (the UDP receive buffers, a TCP read's scratch) or into zbuf, so a
 * flush must come before the transport reuses those (batch_done) and
 * nothing may reset zbuf while a packet in it is queued. */
#define RX_BATCH_MAX  1024
#define RX_MERGE_BUFS 16

/* Handshake messages that passed their cheap checks wait here for their
 * public-key work, at most HANDSHAKES_PER_TURN of them per turn of the
 * event loop, so that a flood of valid-looking handshakes delays data by a
 * bounded amount instead of stalling it. The queue's room is
 * wireguard-go's; an eighth of it full puts the device under load. */
#define HANDSHAKE_QUEUE_LEN  1024
#define HANDSHAKE_QUEUE_LOAD (HANDSHAKE_QUEUE_LEN / 8)
#define HANDSHAKES_PER_TURN  8
struct handshake_job {
	struct endpoint from;
	size_t len;
	uint8_t msg[sizeof(struct message_handshake_initiation)];
};

struct rx_batch {
	struct udp_rx udp;
	struct offload_packet pkts[RX_BATCH_MAX];
	struct offload_write writes[RX_BATCH_MAX];
	uint8_t *merge[RX_MERGE_BUFS];
	int n;
	/* Decompressed payloads of this batch (ferry Compression = lz4). */
	uint8_t *zbuf;
	size_t zused;
	/* A refused merged write, split again (write_split). */
	uint8_t *split;
	/* The handshake queue: a ring of HANDSHAKE_QUEUE_LEN jobs. */
	struct handshake_job *hs;
	unsigned int hs_head, hs_count;
	uint64_t under_load_until_ms;
};
#define RX_ZBUF_SIZE  (1u << 20)
#define RX_SPLIT_SIZE (2u * 65536 + OFFLOAD_MAX_SEGMENTS * 256u)

int receive_batch_init(struct device *dev);
void receive_batch_free(struct device *dev);
void receive_flush(struct device *dev);
/* Process up to @budget queued handshake messages (end of a loop turn). */
void receive_handshakes(struct device *dev, unsigned int budget);
bool receive_handshakes_waiting(const struct device *dev);

#endif
