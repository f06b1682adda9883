/* udp.h - the UDP transport: one IPv4 and one IPv6 socket on the listen
 * port, batched sending (sendmmsg, GSO) and receiving (recvmmsg, GRO). */
#ifndef FERRY_UDP_H
#define FERRY_UDP_H

#include "conf.h"
#include "transport.h"

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>

struct udp_transport {
	int fd4, fd6;  /* -1: not open (a family may be missing) */
	uint16_t port; /* the bound port */
	/* Offloads: wanted (not switched off) and in use (the kernel agreed). */
	bool want_gso, want_gro;
	bool gso, gro;
};

/* Control path: the sockets come, go and change. */
void udp_init(struct udp_transport *u);
/* Bind both sockets to @port (0: any free port, the same for both), with
 * io->fwmark. On success u->port is the bound port. Returns 0 or -errno. */
int udp_open(struct transport_ctx *io, struct udp_transport *u, uint16_t port);
void udp_close(struct udp_transport *u);
int udp_set_fwmark(struct udp_transport *u, uint32_t mark);
/* Packet path. */
static inline bool udp_is_open(const struct udp_transport *u)
{
	return u->fd4 >= 0 || u->fd6 >= 0;
}

/* Sending: room for the system call's view of one batch of messages. */
#define UDP_TX_MAX 64
struct udp_tx {
	struct mmsghdr msgs[UDP_TX_MAX];
	struct iovec iov[UDP_TX_MAX];
	union {
		/* UDP_SEGMENT and the source address (IP_PKTINFO / IPV6_PKTINFO) */
		char buf[CMSG_SPACE(sizeof(uint16_t)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cmsg[UDP_TX_MAX];
};

/* Send @n (at most UDP_TX_MAX) messages to UDP endpoints: one sendmmsg per
 * run of one address family, a run of @seg-sized messages as one UDP GSO
 * send (or one by one when the kernel refuses GSO, which then stays off).
 * Counts the bytes sent on each message's peer; a message that cannot be
 * sent is counted as a send error. */
void udp_send(struct transport_ctx *io, struct udp_transport *u, struct udp_tx *tx, struct tx_msg *m, int n);

/* Receiving: recvmmsg into UDP_RX_MAX buffers; with UDP_GRO on, one buffer
 * may hold several datagrams of gso[i] bytes each (the last may be shorter). */
#define UDP_RX_MAX 16
#define UDP_RX_BUF 65536
struct udp_rx {
	struct mmsghdr msgs[UDP_RX_MAX];
	struct iovec iov[UDP_RX_MAX];
	struct endpoint src[UDP_RX_MAX]; /* ENDPOINT_UDP: the sender's address, and ours it came to */
	union {
		/* UDP_GRO's segment size and the destination (IP_PKTINFO / IPV6_PKTINFO) */
		char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cmsg[UDP_RX_MAX];
	uint8_t *bufs[UDP_RX_MAX];
	uint16_t gso[UDP_RX_MAX];
};

int udp_rx_init(struct udp_rx *rx);
void udp_rx_free(struct udp_rx *rx);
/* @fd is readable: receive up to @max_batches batches, handing each
 * datagram to io->receiver with its endpoint, and ending each batch with
 * batch_done before the buffers are reused. */
void udp_readable(struct transport_ctx *io, int fd, struct udp_rx *rx, int max_batches);
/* @fd reported an error (EPOLLERR): read its error queue, and tell
 * io->receiver->path_mtu() of every "too big" a message met on its way. */
void udp_errors(struct transport_ctx *io, int fd);

#endif
