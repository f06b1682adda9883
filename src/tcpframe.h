/* tcpframe.h - the TCP transport's framing: each message (exactly what one
 * UDP datagram would carry) is sent as a 2-byte big-endian length and the
 * message, on one TCP connection per peer; and the reconnect backoff of the
 * side that connects. docs/PROTOCOL.md, "TCP transport", has the rules.
 *
 * Nothing here knows about peers or the event loop: the receive side turns
 * a byte stream back into messages, the send side queues what a full socket
 * cannot take yet. Both allocate once, at init, and never per message. */
#ifndef FERRY_TCPFRAME_H
#define FERRY_TCPFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define TCPFRAME_HDR_LEN 2
/* The largest length the 2-byte prefix can state. */
#define TCPFRAME_MAX_MSG 65535

/* A message handed to deliver(). The bytes may be modified in place (a data
 * message is decrypted where it lies) and stay valid until the next
 * tcpframe_feed() or tcpframe_read() on the same receiver returns, so a
 * caller may batch delivered packets and flush them after the call. Return
 * 0 to go on, or a negative errno to stop the parsing. */
typedef int (*tcpframe_deliver_fn)(void *ctx, uint8_t *msg, size_t len);

struct tcpframe_rx {
	/* Two slots of TCPFRAME_HDR_LEN + max_msg bytes: a message completed
	 * in one slot stays valid while the next partial one fills the other. */
	uint8_t *buf;
	size_t max_msg;
	size_t have; /* bytes of the unfinished frame held, prefix included */
	size_t need; /* its total length once the prefix is in, else 0 */
	unsigned int slot;
	int err; /* a framing error, sticky until reset */
};

/* @max_msg: the longest message accepted (1..TCPFRAME_MAX_MSG); a longer or
 * a zero length breaks the stream. Returns 0, -EINVAL or -ENOMEM. */
int tcpframe_rx_init(struct tcpframe_rx *rx, size_t max_msg);
/* Forget any partial frame and error, for a new connection. */
void tcpframe_rx_reset(struct tcpframe_rx *rx);
void tcpframe_rx_free(struct tcpframe_rx *rx);

/* Consume @len bytes of the stream, in any chunking, calling @deliver for
 * each complete message. Messages wholly inside @data are delivered from
 * @data itself (never copied); only a frame cut by the end of @data is
 * copied into @rx, to be completed by the next call. tcpframe_feed() never
 * writes to @data; deliver() may.
 *
 * Returns 0; -EBADMSG for a zero length prefix or -EMSGSIZE for one beyond
 * max_msg (reported as soon as the prefix is in: the caller resets the
 * connection, and every later call returns the same error until
 * tcpframe_rx_reset()); or deliver's non-zero return, after which the rest
 * of @data is not consumed. */
int tcpframe_feed(struct tcpframe_rx *rx, uint8_t *data, size_t len, tcpframe_deliver_fn deliver, void *ctx);

/* Bytes of an unfinished frame held (prefix included): non-zero when the
 * peer closes the connection means the stream was cut mid-message. 0 once
 * the stream broke. */
size_t tcpframe_rx_pending(const struct tcpframe_rx *rx);

/* tcpframe_read() reads into a caller-owned scratch buffer (one per event
 * loop thread is enough), TCPFRAME_READ_CHUNK bytes at a time, at most
 * TCPFRAME_READS_PER_CALL times so that one busy peer cannot starve the
 * others. TCPFRAME_SCRATCH_SIZE fits the unfinished frame of the previous
 * call and every read of this one. */
#define TCPFRAME_READ_CHUNK	65536
#define TCPFRAME_READS_PER_CALL 4
#define TCPFRAME_SCRATCH_SIZE	(TCPFRAME_HDR_LEN + TCPFRAME_MAX_MSG + TCPFRAME_READS_PER_CALL * TCPFRAME_READ_CHUNK)

/* Read what the socket @fd has (it need not be non-blocking: every read is
 * MSG_DONTWAIT) and deliver the complete messages, as tcpframe_feed() does.
 * Messages are delivered from @scratch and stay valid until this returns.
 * @scratch_len must exceed TCPFRAME_HDR_LEN + max_msg; TCPFRAME_SCRATCH_SIZE
 * lets every read be a whole chunk.
 *
 * Returns the number of bytes consumed (> 0); 0 when the peer closed the
 * connection (check tcpframe_rx_pending() for a cut message); -EAGAIN when
 * there was nothing to read; a framing error as tcpframe_feed(); deliver's
 * non-zero return (a positive one becomes -ECANCELED), after which the
 * bytes read but not parsed are lost and the receiver reports -ECANCELED
 * until reset; or another -errno from recv(). Every negative return but
 * -EAGAIN means: reset the connection. */
ssize_t tcpframe_read(struct tcpframe_rx *rx, int fd, uint8_t *scratch, size_t scratch_len, tcpframe_deliver_fn deliver,
		      void *ctx);

/* The send side: a byte ring of @cap bytes, allocated at init, for what the
 * socket could not take. Frames are queued whole or not at all; the only
 * partial frame ever queued is the rest of one the socket took a part of,
 * and that one always fits (the ring holds at least one largest frame). */
#define TCPFRAME_TX_CAP (1u << 20)

struct tcpframe_tx {
	uint8_t *ring;
	size_t cap;
	size_t head; /* offset of the first byte not yet written */
	size_t used; /* bytes queued */
	size_t max_msg;
};

/* Outcomes of sending one message that leave the connection usable. */
enum tcpframe_send_result {
	TCPFRAME_SENT = 0,	   /* written, or queued behind earlier bytes */
	TCPFRAME_DROPPED_FULL = 1, /* the queue could not take it: dropped whole */
	TCPFRAME_DROPPED_SIZE = 2, /* length 0 or beyond max_msg: never sent */
};

/* @cap: ring size (raised to one largest frame if smaller); @max_msg: the
 * longest message to send, as the receiving side accepts. 0, -EINVAL or
 * -ENOMEM. */
int tcpframe_tx_init(struct tcpframe_tx *tx, size_t cap, size_t max_msg);
void tcpframe_tx_reset(struct tcpframe_tx *tx);
void tcpframe_tx_free(struct tcpframe_tx *tx);

/* Send one message on the TCP socket @fd. With nothing queued it is
 * written at once (prefix and message in one sendmsg, MSG_NOSIGNAL so that
 * a dead peer returns -EPIPE rather than raising SIGPIPE) and what the
 * socket does not take is queued; behind queued bytes it is only queued,
 * for tcpframe_flush(). Returns an enum tcpframe_send_result, or a negative
 * errno when the connection is broken (reset it). */
int tcpframe_send(struct tcpframe_tx *tx, int fd, const uint8_t *msg, size_t len);

/* The same for a batch, @n messages (one per iovec) written with as few
 * sendmsg calls as IOV_MAX allows. Returns how many messages were dropped
 * (queue full, or an invalid length), or a negative errno as above. */
int tcpframe_sendv(struct tcpframe_tx *tx, int fd, const struct iovec *msgs, size_t n);

/* Write queued bytes; call it when the socket is writable. Returns 0 (the
 * queue may still hold bytes: see tcpframe_tx_pending()) or a negative
 * errno when the connection is broken. */
int tcpframe_flush(struct tcpframe_tx *tx, int fd);

/* Bytes wait in the queue: watch the socket for EPOLLOUT. */
bool tcpframe_tx_pending(const struct tcpframe_tx *tx);
size_t tcpframe_tx_queued(const struct tcpframe_tx *tx);

/* When to try connecting again after a failed attempt or a lost
 * connection: exponential from TCP_BACKOFF_MIN_MS, doubling up to
 * TCP_BACKOFF_MAX_MS, each delay spread by +/- TCP_BACKOFF_JITTER_PCT so
 * that many peers cut off together do not all come back in the same
 * instant. Only the connecting side backs off; the listener always accepts. */
#define TCP_BACKOFF_MIN_MS     250
#define TCP_BACKOFF_MAX_MS     30000
#define TCP_BACKOFF_JITTER_PCT 20

struct tcp_backoff {
	uint64_t delay_ms; /* the next delay before jitter */
	uint64_t rng;	   /* splitmix64 state: jitter needs no secrecy */
};

/* Seed from getrandom(2). tcp_backoff_seed() gives tests a known sequence. */
void tcp_backoff_init(struct tcp_backoff *b);
void tcp_backoff_seed(struct tcp_backoff *b, uint64_t seed);
/* The time (on @now_ms's clock) of the next attempt; each call doubles the
 * next delay. A delay is never above TCP_BACKOFF_MAX_MS. */
uint64_t tcp_backoff_next_ms(struct tcp_backoff *b, uint64_t now_ms);
/* Back to TCP_BACKOFF_MIN_MS. Call it once a connection has carried a valid
 * message, not merely connected: a listener that accepts and then drops
 * every connection must still be backed off from. */
void tcp_backoff_reset(struct tcp_backoff *b);

#endif
