/* udp.h - the UDP transport: one IPv4 and one IPv6 socket on the listen port. */
#ifndef FERRY_UDP_H
#define FERRY_UDP_H

#include "conf.h"
#include "device.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Bind both sockets to @port (0: any free port, the same for both). On
 * success dev->listen_port is the bound port. Returns 0 or -errno. */
int udp_open(struct device *dev, uint16_t port);
void udp_close(struct device *dev);
int udp_set_fwmark(struct device *dev, uint32_t mark);
/* Is a socket open (one family may be missing)? */
static inline bool udp_is_open(const struct device *dev)
{
	return dev->udp4 >= 0 || dev->udp6 >= 0;
}

/* Sending: room for the system call's view of one batch of messages. */
#define UDP_TX_MAX 64
struct udp_tx {
	struct mmsghdr msgs[UDP_TX_MAX];
	struct iovec iov[UDP_TX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cmsg[UDP_TX_MAX];
};

/* Send @n (at most UDP_TX_MAX) messages to UDP endpoints: one sendmmsg per
 * run of one address family, a run of @seg-sized messages as one UDP GSO
 * send (or one by one when the kernel refuses GSO, which then stays off).
 * Counts the bytes sent on each message's peer; a message that cannot be
 * sent is counted as a send error. */
void udp_send(struct device *dev, struct udp_tx *tx, struct tx_msg *m, int n);

/* Receiving: recvmmsg into UDP_RX_MAX buffers; with UDP_GRO on, one buffer
 * may hold several datagrams of gso[i] bytes each (the last may be shorter). */
#define UDP_RX_MAX 16
#define UDP_RX_BUF 65536
struct udp_rx {
	struct mmsghdr msgs[UDP_RX_MAX];
	struct iovec iov[UDP_RX_MAX];
	struct endpoint src[UDP_RX_MAX]; /* ENDPOINT_UDP, the sender's address */
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cmsg[UDP_RX_MAX];
	uint8_t *bufs[UDP_RX_MAX];
	uint16_t gso[UDP_RX_MAX];
};

int udp_rx_init(struct udp_rx *rx);
void udp_rx_free(struct udp_rx *rx);
/* @fd is readable: receive up to @max_batches batches, handing each
 * datagram to @r with its endpoint, and ending each batch with
 * r->batch_done before the buffers are reused. */
void udp_readable(struct device *dev, int fd, struct udp_rx *rx, const struct transport_receiver *r, int max_batches);

#endif
