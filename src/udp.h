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
int udp_send(struct device *dev, const union conf_endpoint *to, const void *buf, size_t len);
ssize_t udp_recv(int fd, void *buf, size_t size, union conf_endpoint *from);

/* Batched sending: messages are queued, then sent with one sendmmsg per
 * socket. A queued entry may be a run of datagrams of @gso_size bytes each
 * (the last may be shorter), sent as one UDP_SEGMENT (GSO) message; the
 * buffers must stay untouched until udp_tx_flush() returns. */
#define UDP_TX_MAX 64
struct udp_tx {
	struct mmsghdr msgs[UDP_TX_MAX];
	struct iovec iov[UDP_TX_MAX];
	union conf_endpoint dst[UDP_TX_MAX];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cmsg[UDP_TX_MAX];
	uint16_t gso[UDP_TX_MAX];
	struct peer *peer[UDP_TX_MAX]; /* for byte counters */
	int n;
};

/* Queue; returns false when the batch is full (flush, then queue again). */
bool udp_tx_add(struct udp_tx *tx, struct peer *p, const union conf_endpoint *to, void *buf, size_t len,
		uint16_t gso_size);
void udp_tx_flush(struct device *dev, struct udp_tx *tx);

/* Batched receiving with recvmmsg; with UDP_GRO on, one buffer may hold
 * several datagrams of gso[i] bytes each (the last may be shorter). */
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
/* Receive up to UDP_RX_MAX buffers; returns how many, 0 when none, -errno. */
int udp_rx_recv(int fd, struct udp_rx *rx);

#endif
