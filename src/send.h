/* send.h - the transmit path: handshake messages, cookie replies,
 * keepalives, and packets from the TUN device to their peer's endpoint. */
#ifndef FERRY_SEND_H
#define FERRY_SEND_H

#include "device.h"
#include "peer.h"
#include "transport.h"
#include "udp.h"

#include <linux/virtio_net.h>

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* A plaintext packet handed to send_tun_packet() sits in a buffer with this
 * much room before it (for the data message header) and after it (padding
 * to 16 bytes and the Poly1305 tag), so it is encrypted in place. */
#define SEND_HEADROOM MESSAGE_DATA_HEADER_LEN
#define SEND_TAILROOM (MESSAGE_PADDING_MULTIPLE + NOISE_AUTHTAG_LEN)

void send_handshake_initiation(struct peer *p, bool is_retry);
/* Answer a consumed initiation and derive the (responder's) session. */
void send_handshake_response(struct peer *p);
/* Answer handshake message @msg from @from with a cookie reply. */
void send_handshake_cookie(struct device *dev, const void *msg, size_t len, uint32_t sender_index,
			   const struct endpoint *from);
void send_keepalive(struct peer *p);

/* The transmit batch of one turn of the event loop: segmented, encrypted
 * messages laid out back to back in an arena, queued for sendmmsg. */
#define SEND_ARENA_SIZE (2u << 20)
struct tx_batch {
	struct udp_tx udp;
	uint8_t *arena;
	size_t used;
};

int send_batch_init(struct device *dev);
void send_batch_free(struct device *dev);
/* Send everything queued (end of a turn, or the batch is full). */
void send_flush(struct device *dev);
/* Encrypt and send what waits for @p, or start a handshake if no session. */
void send_staged_packets(struct peer *p);
/* One read from the TUN device: an IP packet, preceded by its
 * virtio_net_hdr when the device has vnet_hdr (@vh, else NULL); with TSO
 * it is a super-packet to segment. Queued on the batch, not yet sent. */
void send_tun_packet(struct device *dev, const struct virtio_net_hdr *vh, uint8_t *pkt, size_t len);

/* TAP mode: one frame read from the TAP device (after its virtio_net_hdr
 * @vh, or NULL), to the peer its destination was learned behind, or to
 * every peer (broadcast, multicast, unknown). */
void send_tap_frame(struct device *dev, const struct virtio_net_hdr *vh, const uint8_t *frame, size_t len);

#endif
