/* tcpframe.c - length-prefixed messages on a TCP stream, and the backoff of
 * reconnection attempts.
 *
 * Who owns what:
 * - Receiving: tcpframe_feed() delivers straight from the caller's bytes;
 *   tcpframe_read() reads into the caller's scratch buffer and delivers
 *   from there. The receiver's own two slots hold only a frame cut by the
 *   end of the bytes at hand (at most one per call), so a whole message is
 *   never copied. A message stays where it was delivered until the next
 *   call on the receiver returns: the receive path decrypts it in place and
 *   may keep pointing at it until it flushes its batch.
 * - Sending: the caller's message is written from its own buffer when the
 *   socket takes it; only what the socket refuses is copied into the ring,
 *   which then owns it until tcpframe_flush() writes it. */
#include "tcpframe.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

static void put_prefix(uint8_t *p, size_t len)
{
	p[0] = (uint8_t)(len >> 8);
	p[1] = (uint8_t)len;
}

/* ---- receiving ---- */

static size_t slot_size(const struct tcpframe_rx *rx)
{
	return TCPFRAME_HDR_LEN + rx->max_msg;
}

static uint8_t *cur_slot(const struct tcpframe_rx *rx)
{
	return rx->buf + rx->slot * slot_size(rx);
}

int tcpframe_rx_init(struct tcpframe_rx *rx, size_t max_msg)
{
	memset(rx, 0, sizeof(*rx));
	if (max_msg < 1 || max_msg > TCPFRAME_MAX_MSG)
		return -EINVAL;
	rx->max_msg = max_msg;
	rx->buf = malloc(2 * slot_size(rx));
	return rx->buf ? 0 : -ENOMEM;
}

void tcpframe_rx_reset(struct tcpframe_rx *rx)
{
	rx->have = 0;
	rx->need = 0;
	rx->err = 0;
}

void tcpframe_rx_free(struct tcpframe_rx *rx)
{
	free(rx->buf);
	rx->buf = NULL;
	tcpframe_rx_reset(rx);
}

size_t tcpframe_rx_pending(const struct tcpframe_rx *rx)
{
	return rx->err ? 0 : rx->have;
}

/* The length a prefix states, or the framing error that ends the stream. A
 * length is never trusted further than this check. */
static int check_prefix(struct tcpframe_rx *rx, const uint8_t *p, size_t *mlen)
{
	size_t len = (size_t)p[0] << 8 | p[1];

	if (len == 0)
		return rx->err = -EBADMSG;
	if (len > rx->max_msg)
		return rx->err = -EMSGSIZE;
	*mlen = len;
	return 0;
}

/* Deliver every frame lying wholly in @data, in place. *used ends where the
 * first incomplete frame starts; if its prefix is in, it has been checked,
 * so a bad length is reported without waiting for the bytes it announces. */
static int deliver_whole(struct tcpframe_rx *rx, uint8_t *data, size_t len, size_t *used, tcpframe_deliver_fn deliver,
			 void *ctx)
{
	size_t off = 0, mlen;
	int ret = 0;

	while (len - off >= TCPFRAME_HDR_LEN) {
		ret = check_prefix(rx, data + off, &mlen);
		if (ret)
			break;
		if (len - off - TCPFRAME_HDR_LEN < mlen)
			break;
		off += TCPFRAME_HDR_LEN + mlen;
		ret = deliver(ctx, data + off - mlen, mlen);
		if (ret)
			break;
	}
	*used = off;
	return ret;
}

/* Hold the start of a frame (@n bytes, fewer than the whole frame) until
 * more of the stream comes. */
static void keep_partial(struct tcpframe_rx *rx, const uint8_t *p, size_t n)
{
	rx->have = n;
	rx->need = 0;
	if (!n)
		return;
	memcpy(cur_slot(rx), p, n);
	if (n >= TCPFRAME_HDR_LEN)
		rx->need = TCPFRAME_HDR_LEN + ((size_t)p[0] << 8 | p[1]);
}

/* Complete the frame held from an earlier call with the first bytes of
 * *data, and deliver it from its slot. The next partial frame goes to the
 * other slot, so this message outlives the copy that follows. */
static int finish_partial(struct tcpframe_rx *rx, uint8_t **data, size_t *len, tcpframe_deliver_fn deliver, void *ctx)
{
	uint8_t *f = cur_slot(rx);
	size_t take, mlen, total;
	int ret;

	if (rx->have < TCPFRAME_HDR_LEN) {
		take = min_size(TCPFRAME_HDR_LEN - rx->have, *len);
		memcpy(f + rx->have, *data, take);
		rx->have += take;
		*data += take;
		*len -= take;
		if (rx->have < TCPFRAME_HDR_LEN)
			return 0;
		ret = check_prefix(rx, f, &mlen);
		if (ret)
			return ret;
		rx->need = TCPFRAME_HDR_LEN + mlen;
	}
	take = min_size(rx->need - rx->have, *len);
	memcpy(f + rx->have, *data, take);
	rx->have += take;
	*data += take;
	*len -= take;
	if (rx->have < rx->need)
		return 0;
	total = rx->need;
	rx->have = 0;
	rx->need = 0;
	rx->slot ^= 1;
	return deliver(ctx, f + TCPFRAME_HDR_LEN, total - TCPFRAME_HDR_LEN);
}

int tcpframe_feed(struct tcpframe_rx *rx, uint8_t *data, size_t len, tcpframe_deliver_fn deliver, void *ctx)
{
	size_t used;
	int ret;

	if (rx->err)
		return rx->err;
	if (!len)
		return 0;
	if (rx->have) {
		ret = finish_partial(rx, &data, &len, deliver, ctx);
		if (ret || rx->have)
			return ret; /* an error, or every byte went into the held frame */
	}
	ret = deliver_whole(rx, data, len, &used, deliver, ctx);
	if (ret)
		return ret;
	keep_partial(rx, data + used, len - used);
	return 0;
}

/* The unfinished frame of the previous call is copied to the front of
 * @scratch and each read appends after it, so every frame, however the
 * reads cut it, ends up whole and in place, and nothing delivered is
 * overwritten before the call returns. */
ssize_t tcpframe_read(struct tcpframe_rx *rx, int fd, uint8_t *scratch, size_t scratch_len, tcpframe_deliver_fn deliver,
		      void *ctx)
{
	size_t start = 0, end = rx->have, used, total = 0;
	ssize_t ret = 0;
	int i;

	if (rx->err)
		return rx->err;
	if (scratch_len <= TCPFRAME_HDR_LEN + rx->max_msg)
		return -EINVAL;
	if (rx->have)
		memcpy(scratch, cur_slot(rx), rx->have);
	for (i = 0; i < TCPFRAME_READS_PER_CALL && end < scratch_len; i++) {
		size_t want = min_size(scratch_len - end, TCPFRAME_READ_CHUNK);
		ssize_t n = recv(fd, scratch + end, want, MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				ret = -errno;
			else if (!total)
				ret = -EAGAIN;
			break;
		}
		if (n == 0)
			break; /* closed: said by this call if nothing came, else the next */
		end += (size_t)n;
		total += (size_t)n;
		ret = deliver_whole(rx, scratch + start, end - start, &used, deliver, ctx);
		start += used;
		if (ret) {
			if (!rx->err)
				rx->err = -ECANCELED;
			if (ret > 0)
				ret = -ECANCELED;
			break;
		}
		if ((size_t)n < want)
			break; /* the socket is drained: spare the read that says so */
	}
	/* Until something was read the receiver is as it was (the frame held
	 * stays pending). After, it holds what this call left unparsed: less
	 * than a frame, unless the stream broke, and then nothing. */
	if (total && !ret)
		keep_partial(rx, scratch + start, end - start);
	else if (total)
		rx->have = rx->need = 0;
	return ret ? ret : (ssize_t)total;
}

/* ---- sending ---- */

#define FRAME_LEN(len) (TCPFRAME_HDR_LEN + (len))
/* Frames per sendmsg on the direct path: two iovecs each. */
#define SENDV_BATCH 128
_Static_assert(2 * SENDV_BATCH <= IOV_MAX, "a batch fits one sendmsg");

int tcpframe_tx_init(struct tcpframe_tx *tx, size_t cap, size_t max_msg)
{
	memset(tx, 0, sizeof(*tx));
	if (max_msg < 1 || max_msg > TCPFRAME_MAX_MSG)
		return -EINVAL;
	if (cap < FRAME_LEN(max_msg))
		cap = FRAME_LEN(max_msg);
	tx->ring = malloc(cap);
	if (!tx->ring)
		return -ENOMEM;
	tx->cap = cap;
	tx->max_msg = max_msg;
	return 0;
}

void tcpframe_tx_reset(struct tcpframe_tx *tx)
{
	tx->head = 0;
	tx->used = 0;
}

void tcpframe_tx_free(struct tcpframe_tx *tx)
{
	free(tx->ring);
	tx->ring = NULL;
	tx->cap = 0;
	tcpframe_tx_reset(tx);
}

bool tcpframe_tx_pending(const struct tcpframe_tx *tx)
{
	return tx->used != 0;
}

size_t tcpframe_tx_queued(const struct tcpframe_tx *tx)
{
	return tx->used;
}

static bool valid_len(const struct tcpframe_tx *tx, size_t len)
{
	return len >= 1 && len <= tx->max_msg;
}

/* Append to the ring; the caller has checked that @n bytes fit. */
static void ring_put(struct tcpframe_tx *tx, const void *p, size_t n)
{
	size_t tail = tx->head + tx->used, first;

	if (tail >= tx->cap)
		tail -= tx->cap;
	first = min_size(n, tx->cap - tail);
	memcpy(tx->ring + tail, p, first);
	memcpy(tx->ring, (const uint8_t *)p + first, n - first);
	tx->used += n;
}

/* Queue a whole frame, or nothing. */
static bool queue_frame(struct tcpframe_tx *tx, const void *msg, size_t len)
{
	uint8_t hdr[TCPFRAME_HDR_LEN];

	if (tx->cap - tx->used < FRAME_LEN(len))
		return false;
	put_prefix(hdr, len);
	ring_put(tx, hdr, sizeof(hdr));
	ring_put(tx, msg, len);
	return true;
}

/* Queue what the socket did not take of a frame it took @off bytes of:
 * the stream is mid-frame now, so the rest must follow, whatever the cap.
 * It fits: the ring was empty and holds one largest frame. */
static void queue_rest(struct tcpframe_tx *tx, const uint8_t *hdr, const void *msg, size_t len, size_t off)
{
	if (off < TCPFRAME_HDR_LEN) {
		ring_put(tx, hdr + off, TCPFRAME_HDR_LEN - off);
		ring_put(tx, msg, len);
	} else {
		off -= TCPFRAME_HDR_LEN;
		ring_put(tx, (const uint8_t *)msg + off, len - off);
	}
}

/* One sendmsg that never blocks and never raises SIGPIPE. Returns the bytes
 * written (0 when the socket is full) or -errno. */
static ssize_t send_iov(int fd, struct iovec *iov, size_t n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = n };
	ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (w >= 0)
		return w;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -errno;
}

/* Write frames straight from the caller's buffers while nothing is queued
 * (bytes of a queued frame must go first). Once the socket takes less
 * than offered it is full: the rest of the frame it cut is queued, and so
 * are the frames after it, each whole or dropped. */
int tcpframe_sendv(struct tcpframe_tx *tx, int fd, const struct iovec *msgs, size_t n)
{
	struct iovec iov[2 * SENDV_BATCH];
	uint8_t hdr[SENDV_BATCH][TCPFRAME_HDR_LEN];
	size_t i = 0, dropped = 0;

	if (n > INT_MAX)
		return -EINVAL;
	while (i < n && !tx->used) {
		size_t k = 0, bytes = 0, m, off;
		ssize_t w;

		for (; i < n && k < SENDV_BATCH; i++) {
			size_t len = msgs[i].iov_len;

			if (!valid_len(tx, len)) {
				dropped++;
				continue;
			}
			put_prefix(hdr[k], len);
			iov[2 * k] = (struct iovec){ .iov_base = hdr[k], .iov_len = TCPFRAME_HDR_LEN };
			iov[2 * k + 1] = msgs[i];
			bytes += FRAME_LEN(len);
			k++;
		}
		if (!k)
			break;
		w = send_iov(fd, iov, 2 * k);
		if (w < 0)
			return (int)w;
		if ((size_t)w == bytes)
			continue;
		off = (size_t)w;
		for (m = 0; off >= FRAME_LEN(iov[2 * m + 1].iov_len); m++)
			off -= FRAME_LEN(iov[2 * m + 1].iov_len);
		if (off) {
			queue_rest(tx, hdr[m], iov[2 * m + 1].iov_base, iov[2 * m + 1].iov_len, off);
			m++;
		}
		for (; m < k; m++)
			if (!queue_frame(tx, iov[2 * m + 1].iov_base, iov[2 * m + 1].iov_len))
				dropped++;
	}
	for (; i < n; i++)
		if (!valid_len(tx, msgs[i].iov_len) || !queue_frame(tx, msgs[i].iov_base, msgs[i].iov_len))
			dropped++;
	return (int)dropped;
}

int tcpframe_send(struct tcpframe_tx *tx, int fd, const uint8_t *msg, size_t len)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = len };
	int ret;

	if (!valid_len(tx, len))
		return TCPFRAME_DROPPED_SIZE;
	ret = tcpframe_sendv(tx, fd, &iov, 1);
	if (ret < 0)
		return ret;
	return ret ? TCPFRAME_DROPPED_FULL : TCPFRAME_SENT;
}

/* The queue goes out in one sendmsg (two iovecs when it wraps): a short
 * write means the socket is full, and EPOLLOUT will say when it is not. */
int tcpframe_flush(struct tcpframe_tx *tx, int fd)
{
	struct iovec iov[2];
	size_t first;
	ssize_t w;

	if (!tx->used)
		return 0;
	first = min_size(tx->used, tx->cap - tx->head);
	iov[0] = (struct iovec){ .iov_base = tx->ring + tx->head, .iov_len = first };
	iov[1] = (struct iovec){ .iov_base = tx->ring, .iov_len = tx->used - first };
	w = send_iov(fd, iov, tx->used > first ? 2 : 1);
	if (w < 0)
		return (int)w;
	tx->head += (size_t)w;
	if (tx->head >= tx->cap)
		tx->head -= tx->cap;
	tx->used -= (size_t)w;
	if (!tx->used)
		tx->head = 0;
	return 0;
}

/* ---- reconnecting ---- */

/* splitmix64: jitter only has to differ between peers, not be secret. */
static uint64_t backoff_rand(struct tcp_backoff *b)
{
	uint64_t z = (b->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void tcp_backoff_seed(struct tcp_backoff *b, uint64_t seed)
{
	b->rng = seed;
	b->delay_ms = TCP_BACKOFF_MIN_MS;
}

void tcp_backoff_init(struct tcp_backoff *b)
{
	uint64_t seed;

	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
		struct timespec ts;

		/* Early boot: any per-process difference will do. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed = (uint64_t)ts.tv_nsec ^ (uint64_t)ts.tv_sec << 32 ^ (uint64_t)(uintptr_t)b;
	}
	tcp_backoff_seed(b, seed);
}

uint64_t tcp_backoff_next_ms(struct tcp_backoff *b, uint64_t now_ms)
{
	uint64_t base = b->delay_ms, spread, delay;

	if (base < TCP_BACKOFF_MIN_MS)
		base = TCP_BACKOFF_MIN_MS;
	if (base > TCP_BACKOFF_MAX_MS)
		base = TCP_BACKOFF_MAX_MS;
	spread = base * TCP_BACKOFF_JITTER_PCT / 100;
	delay = base - spread + backoff_rand(b) % (2 * spread + 1);
	if (delay > TCP_BACKOFF_MAX_MS)
		delay = TCP_BACKOFF_MAX_MS;
	b->delay_ms = base * 2 < TCP_BACKOFF_MAX_MS ? base * 2 : TCP_BACKOFF_MAX_MS;
	return now_ms + delay;
}

void tcp_backoff_reset(struct tcp_backoff *b)
{
	b->delay_ms = TCP_BACKOFF_MIN_MS;
}
