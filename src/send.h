/* send.h - the transmit path: handshake messages, cookie replies,
 * keepalives, and packets from the TUN device to their peer's endpoint. */
#ifndef FERRY_SEND_H
#define FERRY_SEND_H

#include "device.h"
#include "peer.h"
#include "transport.h"
#include "offload.h"
#include "udp.h"

#include <linux/virtio_net.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

void send_handshake_initiation(struct peer *p, bool is_retry);
/* Answer a consumed initiation and derive the (responder's) session. */
void send_handshake_response(struct peer *p);
/* Answer handshake message @msg from @from with a cookie reply. */
void send_handshake_cookie(struct device *dev, const void *msg, size_t len, uint32_t sender_index,
			   const struct endpoint *from);
void send_keepalive(struct peer *p);

/* The transmit batch of one turn of the event loop: messages laid out in
 * slots of an arena (send.c says how), queued with their endpoints until
 * send_flush() hands them to the transports. The buffers here are the
 * event loop thread's: one batch per thread that sends. */
#define SEND_ARENA_SIZE (2u << 20)
#define TX_BATCH_MAX	64
struct tx_batch {
	struct tx_msg msgs[TX_BATCH_MAX];
	int n;
	uint8_t *arena;
	size_t used;
	struct udp_tx udp;		    /* udp_send()'s message headers */
	uint8_t lz4[65536];		    /* LZ4 output before it replaces the plaintext */
	uint8_t read[VNET_HDR_LEN + 65536]; /* one read from the TUN device */
};

int send_batch_init(struct device *dev);
void send_batch_free(struct device *dev);
/* Send everything queued (end of a turn, or the batch is full). */
void send_flush(struct device *dev);
/* ICMP "too big" answers to local senders, at most this many a second. */
#define SEND_ICMP_PER_SECOND 100
/* The underlay MTU assumed for frames until the path's is learned. */
#define SEND_UNDERLAY_MTU 1500
/* The most plaintext one message to @p may carry and still fit the path
 * (SIZE_MAX: no limit known). */
size_t send_max_plaintext(struct peer *p, enum ferry_kind kind);
/* Seal and queue what waits for @p, or start a handshake if no session. */
void send_staged_packets(struct peer *p);
/* One read from the TUN device: an IP packet, preceded by its
 * virtio_net_hdr when the device has vnet_hdr (@vh, else NULL); with TSO
 * it is a super-packet to segment. Queued on the batch, not yet sent; the
 * packet is only read. */
void send_tun_packet(struct device *dev, const struct virtio_net_hdr *vh, const uint8_t *pkt, size_t len);

/* TAP mode: one frame read from the TAP device (after its virtio_net_hdr
 * @vh, or NULL), to the peer its destination was learned behind, or to
 * every peer (broadcast, multicast, unknown). */
void send_tap_frame(struct device *dev, const struct virtio_net_hdr *vh, const uint8_t *frame, size_t len);

#endif
