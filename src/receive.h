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

/* Decrypted packets wait here until receive_flush() coalesces them (with
 * vnet_hdr) and writes them to the TUN device; they point into the UDP
 * receive buffers, so a flush must come before the next receive. */
#define RX_BATCH_MAX  1024
#define RX_MERGE_BUFS 16
struct rx_batch {
	struct udp_rx udp;
	struct offload_packet pkts[RX_BATCH_MAX];
	struct offload_write writes[RX_BATCH_MAX];
	uint8_t *merge[RX_MERGE_BUFS];
	int n;
	/* Decompressed payloads of this batch (ferry Compression = lz4). */
	uint8_t *zbuf;
	size_t zused;
};
#define RX_ZBUF_SIZE (1u << 20)

int receive_batch_init(struct device *dev);
void receive_batch_free(struct device *dev);
void receive_flush(struct device *dev);

#endif
