/* Unit tests: the TCP transport's framing (tcpframe.c). Streams are built
 * here from known messages and fed back cut at every byte boundary, one
 * byte at a time, in random chunks and through a socketpair; each message
 * delivered must be the next one sent, byte for byte, and must still be
 * intact after the call returns (the receive path batches what it was
 * handed). Then the bad streams (length 0, beyond max_msg, cut short), a
 * deliver() that stops, the send side over a socketpair with a tiny
 * SO_SNDBUF (partial writes, a full queue dropping whole messages, a dead
 * peer that must not raise SIGPIPE), and the reconnect backoff's bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tcpframe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* splitmix64: small, seedable, the same sequence everywhere. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t rnd_range(size_t lo, size_t hi)
{
	return lo + (size_t)(rnd() % (hi - lo + 1));
}

/* Message k's content: its index and length in the first bytes, then a
 * pattern that depends on both, so a message shifted, cut or swapped with
 * another never compares equal. */
static void fill_msg(uint8_t *p, size_t len, size_t k)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(k * 131 + len * 7 + i * 13 + (i >> 8));
	if (len >= 4) {
		p[0] = (uint8_t)(k >> 8);
		p[1] = (uint8_t)k;
		p[2] = (uint8_t)(len >> 8);
		p[3] = (uint8_t)len;
	}
}

#define MAX_MSGS 8192

/* A stream of framed messages and what it must decode to. */
struct stream {
	uint8_t *bytes;
	size_t len;
	size_t n;
	size_t off[MAX_MSGS]; /* where message k's bytes start in @bytes */
	size_t mlen[MAX_MSGS];
};

static struct stream *stream_new(const size_t *lens, size_t n)
{
	struct stream *s = calloc(1, sizeof(*s));
	size_t total = 0, k;

	assert_non_null(s);
	assert_true(n <= MAX_MSGS);
	for (k = 0; k < n; k++)
		total += TCPFRAME_HDR_LEN + lens[k];
	s->bytes = malloc(total ? total : 1);
	assert_non_null(s->bytes);
	for (k = 0; k < n; k++) {
		s->bytes[s->len] = (uint8_t)(lens[k] >> 8);
		s->bytes[s->len + 1] = (uint8_t)lens[k];
		s->off[k] = s->len + TCPFRAME_HDR_LEN;
		s->mlen[k] = lens[k];
		fill_msg(s->bytes + s->off[k], lens[k], k);
		s->len += TCPFRAME_HDR_LEN + lens[k];
	}
	s->n = n;
	return s;
}

static void stream_free(struct stream *s)
{
	free(s->bytes);
	free(s);
}

/* What deliver() saw. Each message is checked when delivered, and again
 * after the call that delivered it returns (sink_recheck). */
struct sink {
	const struct stream *want;
	size_t n;			/* messages delivered */
	size_t call_first;		/* first message of the current call */
	const uint8_t *where[MAX_MSGS]; /* where each was delivered */
	const uint8_t *lo, *hi;		/* if set: every message must lie here */
	size_t stop_at;			/* deliver number stop_at returns ret */
	int ret;
	size_t copied; /* delivered from outside [lo, hi) */
};

static void sink_init(struct sink *k, const struct stream *want)
{
	memset(k, 0, sizeof(*k));
	k->want = want;
	k->stop_at = SIZE_MAX;
}

static int sink_deliver(void *ctx, uint8_t *msg, size_t len)
{
	struct sink *k = ctx;
	const struct stream *s = k->want;

	if (k->n >= s->n)
		fail_msg("message %zu delivered, only %zu sent", k->n, s->n);
	if (len != s->mlen[k->n] || memcmp(msg, s->bytes + s->off[k->n], len))
		fail_msg("message %zu: %zu bytes delivered, %zu sent, or the bytes differ", k->n, len, s->mlen[k->n]);
	if (k->lo && (msg < k->lo || msg + len > k->hi))
		k->copied++;
	k->where[k->n] = msg;
	/* The receive path decrypts in place: scribbling on a delivered
	 * message must not disturb the parsing of the next ones. */
	memset(msg, 0xa5, len);
	return k->n++ == k->stop_at ? k->ret : 0;
}

/* After a call: what it delivered is still there (we scribbled 0xa5 over
 * each message, so that is what must be found). */
static void sink_recheck(struct sink *k)
{
	for (size_t i = k->call_first; i < k->n; i++) {
		for (size_t j = 0; j < k->want->mlen[i]; j++)
			if (k->where[i][j] != 0xa5)
				fail_msg("message %zu overwritten at byte %zu before the call returned", i, j);
	}
	k->call_first = k->n;
}

static int feed(struct tcpframe_rx *rx, struct sink *k, const uint8_t *p, size_t len)
{
	/* A private copy of exactly @len bytes: ASan sees any read past it,
	 * and the stream's own bytes stay clean for the next round. */
	uint8_t *chunk = malloc(len ? len : 1);
	int ret;

	assert_non_null(chunk);
	memcpy(chunk, p, len);
	ret = tcpframe_feed(rx, chunk, len, sink_deliver, k);
	sink_recheck(k);
	free(chunk);
	return ret;
}

static const size_t mixed_lens[] = { 1, 2, 148, 92, 64, 32, 3, 1500, 1, 300, 1499, 7, 1500, 2 };

static void splits_at_every_boundary(void **state)
{
	struct stream *s = stream_new(mixed_lens, sizeof(mixed_lens) / sizeof(mixed_lens[0]));
	struct tcpframe_rx rx;
	struct sink k;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 1500), 0);
	for (size_t i = 0; i <= s->len; i++) {
		tcpframe_rx_reset(&rx);
		sink_init(&k, s);
		assert_int_equal(feed(&rx, &k, s->bytes, i), 0);
		assert_int_equal(feed(&rx, &k, s->bytes + i, s->len - i), 0);
		assert_int_equal(k.n, s->n);
		assert_int_equal(tcpframe_rx_pending(&rx), 0);
	}
	tcpframe_rx_free(&rx);
	stream_free(s);
}

/* Three pieces, cut at every pair of boundaries of a shorter stream. */
static void splits_at_every_pair_of_boundaries(void **state)
{
	static const size_t lens[] = { 1, 5, 2, 40, 1, 17, 60, 3 };
	struct stream *s = stream_new(lens, sizeof(lens) / sizeof(lens[0]));
	struct tcpframe_rx rx;
	struct sink k;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 60), 0);
	for (size_t i = 0; i <= s->len; i++) {
		for (size_t j = i; j <= s->len; j++) {
			tcpframe_rx_reset(&rx);
			sink_init(&k, s);
			assert_int_equal(feed(&rx, &k, s->bytes, i), 0);
			assert_int_equal(feed(&rx, &k, s->bytes + i, j - i), 0);
			assert_int_equal(feed(&rx, &k, s->bytes + j, s->len - j), 0);
			if (k.n != s->n)
				fail_msg("cut at %zu and %zu: %zu of %zu messages", i, j, k.n, s->n);
			assert_int_equal(tcpframe_rx_pending(&rx), 0);
		}
	}
	tcpframe_rx_free(&rx);
	stream_free(s);
}

/* Whole messages are delivered from the caller's bytes, not copied. */
static void many_messages_in_one_chunk(void **state)
{
	static size_t lens[4000];
	struct stream *s;
	struct tcpframe_rx rx;
	struct sink k;
	uint8_t *chunk;

	(void)state;
	rng_state = 1;
	for (size_t i = 0; i < 4000; i++)
		lens[i] = rnd_range(1, 1400);
	s = stream_new(lens, 4000);
	chunk = malloc(s->len);
	assert_non_null(chunk);
	memcpy(chunk, s->bytes, s->len);
	assert_int_equal(tcpframe_rx_init(&rx, 1400), 0);
	sink_init(&k, s);
	k.lo = chunk;
	k.hi = chunk + s->len;
	assert_int_equal(tcpframe_feed(&rx, chunk, s->len, sink_deliver, &k), 0);
	sink_recheck(&k);
	assert_int_equal(k.n, 4000);
	assert_int_equal(k.copied, 0);
	for (size_t i = 0; i < 4000; i++)
		assert_ptr_equal(k.where[i], chunk + s->off[i]);
	/* Cut after its first byte: then only the one frame cut by the end of
	 * the first piece is copied. */
	memcpy(chunk, s->bytes, s->len); /* deliver() scribbled over it */
	tcpframe_rx_reset(&rx);
	sink_init(&k, s);
	k.lo = chunk;
	k.hi = chunk + s->len;
	assert_int_equal(tcpframe_feed(&rx, chunk, 1, sink_deliver, &k), 0);
	assert_int_equal(tcpframe_feed(&rx, chunk + 1, s->len - 1, sink_deliver, &k), 0);
	assert_int_equal(k.n, 4000);
	assert_int_equal(k.copied, 1);
	tcpframe_rx_free(&rx);
	free(chunk);
	stream_free(s);
}

static void one_byte_at_a_time(void **state)
{
	struct stream *s = stream_new(mixed_lens, sizeof(mixed_lens) / sizeof(mixed_lens[0]));
	struct tcpframe_rx rx;
	struct sink k;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 1500), 0);
	sink_init(&k, s);
	for (size_t i = 0; i < s->len; i++) {
		assert_int_equal(feed(&rx, &k, s->bytes + i, 1), 0);
		/* pending is exactly the bytes of the frame in progress */
		size_t done = 0, m = 0;

		while (m < s->n && s->off[m] + s->mlen[m] <= i + 1)
			done = s->off[m] + s->mlen[m], m++;
		assert_int_equal(tcpframe_rx_pending(&rx), i + 1 - done);
		assert_int_equal(k.n, m);
	}
	assert_int_equal(k.n, s->n);
	tcpframe_rx_free(&rx);
	stream_free(s);
}

/* Random messages in random chunks: mostly small pieces, some single
 * bytes, some large runs, some empty. */
static void random_chunking(void **state)
{
	static size_t lens[600];
	struct tcpframe_rx rx;
	struct sink k;

	(void)state;
	rng_state = 7;
	assert_int_equal(tcpframe_rx_init(&rx, 9300), 0);
	for (int round = 0; round < 300; round++) {
		size_t n = rnd_range(1, 600), off = 0;
		struct stream *s;

		for (size_t i = 0; i < n; i++) {
			unsigned int c = (unsigned int)(rnd() % 10);

			lens[i] = c == 0 ? 1 : c == 1 ? 9300 : c < 5 ? rnd_range(1, 200) : rnd_range(1, 9300);
		}
		s = stream_new(lens, n);
		tcpframe_rx_reset(&rx);
		sink_init(&k, s);
		while (off < s->len) {
			unsigned int c = (unsigned int)(rnd() % 8);
			size_t piece = c == 0 ? 1 : c == 1 ? 0 : c < 5 ? rnd_range(1, 64) : rnd_range(1, 30000);

			if (piece > s->len - off)
				piece = s->len - off;
			assert_int_equal(feed(&rx, &k, s->bytes + off, piece), 0);
			off += piece;
		}
		assert_int_equal(k.n, n);
		assert_int_equal(tcpframe_rx_pending(&rx), 0);
		stream_free(s);
	}
	tcpframe_rx_free(&rx);
}

static int count_deliver(void *ctx, uint8_t *msg, size_t len)
{
	(void)msg;
	(void)len;
	(*(size_t *)ctx)++;
	return 0;
}

/* Sums message lengths; every byte must be what queue_cap_to_the_byte sent. */
static int count_bytes(void *ctx, uint8_t *msg, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (msg[i] != 0x5a)
			fail_msg("byte %zu of a %zu-byte message is %#x", i, len, msg[i]);
	*(size_t *)ctx += len;
	return 0;
}

static void max_msg_exactly_and_one_more(void **state)
{
	static uint8_t buf[TCPFRAME_HDR_LEN + 1001];
	struct tcpframe_rx rx;
	size_t n = 0;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 1000), 0);
	buf[0] = 1000 >> 8;
	buf[1] = 1000 & 0xff;
	assert_int_equal(tcpframe_feed(&rx, buf, TCPFRAME_HDR_LEN + 1000, count_deliver, &n), 0);
	assert_int_equal(n, 1);
	/* One more: refused as soon as the prefix is in, without waiting for
	 * the 1001 bytes it announces. */
	buf[0] = 1001 >> 8;
	buf[1] = 1001 & 0xff;
	assert_int_equal(tcpframe_feed(&rx, buf, 1, count_deliver, &n), 0);
	assert_int_equal(tcpframe_feed(&rx, buf + 1, 1, count_deliver, &n), -EMSGSIZE);
	assert_int_equal(n, 1);
	/* Sticky until reset. */
	assert_int_equal(tcpframe_feed(&rx, buf, 0, count_deliver, &n), -EMSGSIZE);
	buf[0] = 0;
	buf[1] = 1;
	assert_int_equal(tcpframe_feed(&rx, buf, 3, count_deliver, &n), -EMSGSIZE);
	assert_int_equal(n, 1);
	tcpframe_rx_reset(&rx);
	assert_int_equal(tcpframe_feed(&rx, buf, 3, count_deliver, &n), 0);
	assert_int_equal(n, 2);
	tcpframe_rx_free(&rx);

	assert_int_equal(tcpframe_rx_init(&rx, 0), -EINVAL);
	assert_int_equal(tcpframe_rx_init(&rx, TCPFRAME_MAX_MSG + 1), -EINVAL);
}

static void zero_length_breaks_the_stream(void **state)
{
	uint8_t two_then_zero[] = { 0, 2, 'h', 'i', 0, 0, 0, 1, 'x' };
	struct tcpframe_rx rx;
	size_t n = 0;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 1500), 0);
	assert_int_equal(tcpframe_feed(&rx, two_then_zero, sizeof(two_then_zero), count_deliver, &n), -EBADMSG);
	assert_int_equal(n, 1); /* the message before it, and nothing after */
	assert_int_equal(tcpframe_feed(&rx, two_then_zero, 4, count_deliver, &n), -EBADMSG);
	assert_int_equal(n, 1);
	/* A zero prefix split across two calls. */
	tcpframe_rx_reset(&rx);
	assert_int_equal(tcpframe_feed(&rx, two_then_zero + 4, 1, count_deliver, &n), 0);
	assert_int_equal(tcpframe_feed(&rx, two_then_zero + 5, 1, count_deliver, &n), -EBADMSG);
	tcpframe_rx_free(&rx);
}

static void length_65535(void **state)
{
	uint8_t *buf = malloc(TCPFRAME_HDR_LEN + 65535);
	struct tcpframe_rx rx;
	size_t n = 0;

	(void)state;
	assert_non_null(buf);
	memset(buf, 0x3c, TCPFRAME_HDR_LEN + 65535);
	buf[0] = 0xff;
	buf[1] = 0xff;
	assert_int_equal(tcpframe_rx_init(&rx, 9300), 0);
	assert_int_equal(tcpframe_feed(&rx, buf, 2, count_deliver, &n), -EMSGSIZE);
	tcpframe_rx_free(&rx);
	/* Accepted when the receiver allows the most the prefix can say,
	 * whole or in pieces. */
	assert_int_equal(tcpframe_rx_init(&rx, TCPFRAME_MAX_MSG), 0);
	assert_int_equal(tcpframe_feed(&rx, buf, TCPFRAME_HDR_LEN + 65535, count_deliver, &n), 0);
	assert_int_equal(n, 1);
	for (size_t off = 0; off < TCPFRAME_HDR_LEN + 65535; off += 4099) {
		size_t piece = TCPFRAME_HDR_LEN + 65535 - off < 4099 ? TCPFRAME_HDR_LEN + 65535 - off : 4099;

		assert_int_equal(tcpframe_feed(&rx, buf + off, piece, count_deliver, &n), 0);
	}
	assert_int_equal(n, 2);
	assert_int_equal(tcpframe_rx_pending(&rx), 0);
	tcpframe_rx_free(&rx);
	free(buf);
}

static void stream_cut_mid_message(void **state)
{
	static const size_t lens[] = { 10, 300 };
	struct stream *s = stream_new(lens, 2);
	struct tcpframe_rx rx;
	struct sink k;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 1500), 0);
	sink_init(&k, s);
	assert_int_equal(feed(&rx, &k, s->bytes, 12 + 1), 0); /* first message and one prefix byte */
	assert_int_equal(k.n, 1);
	assert_int_equal(tcpframe_rx_pending(&rx), 1);
	assert_int_equal(feed(&rx, &k, s->bytes + 13, 101), 0);
	assert_int_equal(tcpframe_rx_pending(&rx), 102);
	tcpframe_rx_reset(&rx);
	assert_int_equal(tcpframe_rx_pending(&rx), 0);
	tcpframe_rx_free(&rx);
	stream_free(s);
}

/* deliver() says stop: the error comes back and nothing more is delivered,
 * whether the stopping message was whole in the input or reassembled. */
static void deliver_error_stops(void **state)
{
	struct stream *s = stream_new(mixed_lens, sizeof(mixed_lens) / sizeof(mixed_lens[0]));
	struct tcpframe_rx rx;
	struct sink k;

	(void)state;
	assert_int_equal(tcpframe_rx_init(&rx, 1500), 0);
	sink_init(&k, s);
	k.stop_at = 2;
	k.ret = -EIO;
	assert_int_equal(feed(&rx, &k, s->bytes, s->len), -EIO);
	assert_int_equal(k.n, 3);

	tcpframe_rx_reset(&rx);
	sink_init(&k, s);
	k.stop_at = 2;
	k.ret = -ENOENT;
	assert_int_equal(feed(&rx, &k, s->bytes, s->off[2] + 5), 0); /* message 2 cut */
	assert_int_equal(k.n, 2);
	assert_int_equal(feed(&rx, &k, s->bytes + s->off[2] + 5, s->len - s->off[2] - 5), -ENOENT);
	assert_int_equal(k.n, 3);
	tcpframe_rx_free(&rx);
	stream_free(s);
}

/* ---- over sockets ---- */

static void nonblocking(int fd)
{
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
}

static void stream_pair(int sv[2], int sndbuf)
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	if (sndbuf)
		assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
	nonblocking(sv[0]);
	nonblocking(sv[1]);
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		assert_true(w > 0);
		p += w;
		len -= (size_t)w;
	}
}

/* tcpframe_read with the minimum scratch and with the full one, the stream
 * written in random pieces; then EOF in mid-message. */
static void read_reassembles(void **state)
{
	static size_t lens[500];
	size_t scratch_sizes[] = { TCPFRAME_HDR_LEN + 1500 + 1, 5000, TCPFRAME_SCRATCH_SIZE };
	uint8_t *scratch = malloc(TCPFRAME_SCRATCH_SIZE);
	struct tcpframe_rx rx;

	(void)state;
	assert_non_null(scratch);
	rng_state = 3;
	for (size_t i = 0; i < 500; i++)
		lens[i] = rnd_range(1, 1500);
	assert_int_equal(tcpframe_rx_init(&rx, 1500), 0);
	for (size_t t = 0; t < sizeof(scratch_sizes) / sizeof(scratch_sizes[0]); t++) {
		struct stream *s = stream_new(lens, 500);
		struct sink k;
		size_t off = 0, consumed = 0;
		int sv[2], spins;
		ssize_t r;

		stream_pair(sv, 0);
		tcpframe_rx_reset(&rx);
		sink_init(&k, s);
		assert_int_equal(tcpframe_read(&rx, sv[1], scratch, scratch_sizes[t], sink_deliver, &k), -EAGAIN);
		while (off < s->len) {
			size_t piece = rnd_range(1, 20000);

			if (piece > s->len - off)
				piece = s->len - off;
			write_all(sv[0], s->bytes + off, piece);
			off += piece;
			for (spins = 0; spins < 1000; spins++) {
				r = tcpframe_read(&rx, sv[1], scratch, scratch_sizes[t], sink_deliver, &k);
				sink_recheck(&k);
				if (r == -EAGAIN)
					break;
				assert_true(r > 0 && r <= TCPFRAME_READS_PER_CALL * TCPFRAME_READ_CHUNK);
				consumed += (size_t)r;
			}
		}
		assert_int_equal(consumed, s->len);
		assert_int_equal(k.n, s->n);
		assert_int_equal(tcpframe_rx_pending(&rx), 0);

		/* The peer closes three bytes into a message. */
		write_all(sv[0], s->bytes, 12);
		assert_int_equal(tcpframe_read(&rx, sv[1], scratch, scratch_sizes[t], count_deliver, &off), 12);
		close(sv[0]);
		assert_int_equal(tcpframe_read(&rx, sv[1], scratch, scratch_sizes[t], count_deliver, &off), 0);
		assert_true(tcpframe_rx_pending(&rx) > 0);
		assert_int_equal(tcpframe_rx_pending(&rx), 12);
		close(sv[1]);
		stream_free(s);
	}
	/* A scratch buffer that cannot hold one frame is refused. */
	assert_int_equal(tcpframe_read(&rx, 0, scratch, TCPFRAME_HDR_LEN + 1500, count_deliver, NULL), -EINVAL);
	tcpframe_rx_free(&rx);
	free(scratch);
}

static void read_deliver_error_and_framing_error(void **state)
{
	static const size_t lens[] = { 5, 6, 7 };
	struct stream *s = stream_new(lens, 3);
	uint8_t *scratch = malloc(TCPFRAME_SCRATCH_SIZE);
	uint8_t bad[] = { 0, 1, 'a', 0x80, 0 };
	struct tcpframe_rx rx;
	struct sink k;
	size_t n = 0;
	int sv[2];

	(void)state;
	assert_non_null(scratch);
	assert_int_equal(tcpframe_rx_init(&rx, 100), 0);
	stream_pair(sv, 0);
	sink_init(&k, s);
	k.stop_at = 1;
	k.ret = 1; /* positive: reported as -ECANCELED */
	write_all(sv[0], s->bytes, s->len);
	assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, sink_deliver, &k), -ECANCELED);
	assert_int_equal(k.n, 2);
	assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, sink_deliver, &k), -ECANCELED);

	tcpframe_rx_reset(&rx);
	write_all(sv[0], bad, sizeof(bad));
	assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, count_deliver, &n), -EMSGSIZE);
	assert_int_equal(n, 1);

	/* A frame held from one call, completed by the next, which then
	 * meets a bad prefix: what is pending is what that call left
	 * unparsed (the bad prefix), not the frame held before as well. */
	tcpframe_rx_reset(&rx);
	n = 0;
	write_all(sv[0], bad, 1);
	assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, count_deliver, &n), 1);
	assert_int_equal(tcpframe_rx_pending(&rx), 1);
	write_all(sv[0], bad + 1, 4);
	assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, count_deliver, &n), -EMSGSIZE);
	assert_int_equal(n, 1);
	assert_int_equal(tcpframe_rx_pending(&rx), 0);

	/* A bad prefix, or a deliver() that stops, with far more than a
	 * frame behind it in the same read: nothing of it is kept (ASan
	 * sees a copy of it into the receiver's slot). */
	{
		static uint8_t lots[4000];

		memset(lots, 1, sizeof(lots)); /* frames of 257 bytes: beyond max_msg */
		tcpframe_rx_reset(&rx);
		write_all(sv[0], bad, 3);
		write_all(sv[0], lots, sizeof(lots));
		assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, count_deliver, &n),
				 -EMSGSIZE);
		assert_int_equal(tcpframe_rx_pending(&rx), 0);

		for (size_t j = 0; j < sizeof(lots); j += 5)
			memcpy(lots + j, "\0\3abc", 5); /* frames of 3 bytes */
		tcpframe_rx_reset(&rx);
		sink_init(&k, s);
		k.stop_at = 0;
		k.ret = -EIO;
		write_all(sv[0], s->bytes, s->len);
		write_all(sv[0], lots, sizeof(lots));
		assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, sink_deliver, &k), -EIO);
		assert_int_equal(k.n, 1);
		assert_int_equal(tcpframe_rx_pending(&rx), 0);
		assert_int_equal(tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, sink_deliver, &k),
				 -ECANCELED);
	}
	close(sv[0]);
	close(sv[1]);
	tcpframe_rx_free(&rx);
	free(scratch);
	stream_free(s);
}

/* The send side is checked from what arrives: every pool message carries
 * its index in its first two bytes, so the reader can tell that messages
 * come whole, byte for byte, in order, none twice, none that was reported
 * dropped, and none missing that was reported sent. (Which messages of a
 * tcpframe_sendv batch were dropped is known only as a count.) */
enum { ACCEPT_UNKNOWN, ACCEPTED, DROPPED };

struct txcheck {
	const struct stream *pool;
	uint8_t state[MAX_MSGS];
	long last; /* index of the last message received */
	size_t received, dropped;
};

static void txcheck_init(struct txcheck *c, const struct stream *pool)
{
	memset(c, 0, sizeof(*c));
	c->pool = pool;
	c->last = -1;
}

static void txcheck_none_missing(const struct txcheck *c, long from, long to)
{
	for (long j = from; j < to; j++)
		if (c->state[j] == ACCEPTED)
			fail_msg("message %ld was accepted but never arrived", j);
}

static int txcheck_deliver(void *ctx, uint8_t *msg, size_t len)
{
	struct txcheck *c = ctx;
	long idx;

	if (len < 4)
		fail_msg("a %zu-byte message arrived; all sent were 4 or more", len);
	idx = msg[0] << 8 | msg[1];
	if (idx <= c->last || (size_t)idx >= c->pool->n)
		fail_msg("message %ld arrived after %ld", idx, c->last);
	if (len != c->pool->mlen[idx] || memcmp(msg, c->pool->bytes + c->pool->off[idx], len))
		fail_msg("message %ld arrived altered (%zu bytes, %zu sent)", idx, len, c->pool->mlen[idx]);
	if (c->state[idx] == DROPPED)
		fail_msg("message %ld was reported dropped but arrived", idx);
	txcheck_none_missing(c, c->last + 1, idx);
	c->last = idx;
	c->received++;
	return 0;
}

struct txbench {
	int sv[2];
	struct tcpframe_tx tx;
	struct tcpframe_rx rx;
	uint8_t *scratch;
	struct stream *pool;
	struct txcheck check;
};

/* A pool of @n messages of 4..@max bytes (an eighth of them @max), or of
 * @small bytes every seventh and @max otherwise if @small is non-zero. */
static void txbench_init(struct txbench *b, size_t n, size_t max, size_t small, size_t cap, int sndbuf)
{
	static size_t lens[MAX_MSGS];

	assert_true(n <= MAX_MSGS && max >= 4);
	for (size_t j = 0; j < n; j++) {
		if (small)
			lens[j] = j % 7 == 6 ? small : max;
		else
			lens[j] = rnd() % 8 == 0 ? max : rnd_range(4, max);
	}
	b->pool = stream_new(lens, n);
	b->scratch = malloc(TCPFRAME_SCRATCH_SIZE);
	assert_non_null(b->scratch);
	stream_pair(b->sv, sndbuf);
	assert_int_equal(tcpframe_tx_init(&b->tx, cap, max), 0);
	assert_int_equal(tcpframe_rx_init(&b->rx, max), 0);
	txcheck_init(&b->check, b->pool);
}

static void txbench_free(struct txbench *b)
{
	close(b->sv[0]);
	close(b->sv[1]);
	tcpframe_tx_free(&b->tx);
	tcpframe_rx_free(&b->rx);
	stream_free(b->pool);
	free(b->scratch);
}

/* Read everything the socket holds now. */
static void txbench_read(struct txbench *b)
{
	ssize_t r;
	int i;

	for (i = 0; i < 10000; i++) {
		r = tcpframe_read(&b->rx, b->sv[1], b->scratch, TCPFRAME_SCRATCH_SIZE, txcheck_deliver, &b->check);
		if (r == -EAGAIN)
			return;
		assert_true(r > 0);
	}
	fail_msg("the socket never drained");
}

/* Flush and read until nothing is left anywhere, then check the end. */
static void txbench_finish(struct txbench *b)
{
	int i;

	for (i = 0; i < 100000 && tcpframe_tx_pending(&b->tx); i++) {
		assert_int_equal(tcpframe_flush(&b->tx, b->sv[0]), 0);
		txbench_read(b);
	}
	assert_false(tcpframe_tx_pending(&b->tx));
	txbench_read(b);
	assert_int_equal(tcpframe_rx_pending(&b->rx), 0);
	txcheck_none_missing(&b->check, b->check.last + 1, (long)b->pool->n);
	assert_int_equal(b->check.received + b->check.dropped, b->pool->n);
}

/* Send message @i alone; note what became of it. Returns the result. */
static int txbench_send(struct txbench *b, size_t i)
{
	int ret = tcpframe_send(&b->tx, b->sv[0], b->pool->bytes + b->pool->off[i], b->pool->mlen[i]);

	assert_true(ret == TCPFRAME_SENT || ret == TCPFRAME_DROPPED_FULL);
	b->check.state[i] = ret == TCPFRAME_SENT ? ACCEPTED : DROPPED;
	b->check.dropped += ret != TCPFRAME_SENT;
	return ret;
}

/* Send messages @i .. @i + @n - 1 as one batch. Returns how many dropped. */
static int txbench_sendv(struct txbench *b, size_t i, size_t n)
{
	struct iovec iov[64];
	int ret;

	assert_true(n <= 64);
	for (size_t j = 0; j < n; j++)
		iov[j] =
		    (struct iovec){ .iov_base = b->pool->bytes + b->pool->off[i + j], .iov_len = b->pool->mlen[i + j] };
	ret = tcpframe_sendv(&b->tx, b->sv[0], iov, n);
	assert_true(ret >= 0 && (size_t)ret <= n);
	for (size_t j = 0; j < n; j++)
		b->check.state[i + j] = ret ? ACCEPT_UNKNOWN : ACCEPTED;
	b->check.dropped += (size_t)ret;
	return ret;
}

/* A tiny SO_SNDBUF and a reader that drains only now and then: writes are
 * cut mid-frame, the rest queues, the ring wraps. (An AF_UNIX socket cuts
 * a write only between its buffers, about SO_SNDBUF / 2 bytes each, so
 * frames here go up to 9300 bytes, as a jumbo-MTU data message would.) */
static void send_partial_writes_reassemble(void **state)
{
	enum { N = 6000 };
	static struct txbench b;
	size_t i = 0, partial_frames = 0, wraps = 0, queued_max = 0;

	(void)state;
	rng_state = 5;
	txbench_init(&b, N, 9300, 0, 256 << 10, 4096);
	while (i < N) {
		size_t n = rnd() % 3 ? 1 : rnd_range(2, 16), before = tcpframe_tx_queued(&b.tx);

		if (n > N - i)
			n = N - i;
		if (n == 1) {
			int ret = txbench_send(&b, i);
			size_t q = tcpframe_tx_queued(&b.tx);

			/* With the queue empty before, a queue shorter than the
			 * frame holds the rest of a frame the socket cut. */
			if (!before && ret == TCPFRAME_SENT && q && q < TCPFRAME_HDR_LEN + b.pool->mlen[i])
				partial_frames++;
		} else {
			txbench_sendv(&b, i, n);
		}
		i += n;
		if (b.tx.head + b.tx.used > b.tx.cap)
			wraps++;
		if (tcpframe_tx_queued(&b.tx) > queued_max)
			queued_max = tcpframe_tx_queued(&b.tx);
		assert_true(tcpframe_tx_queued(&b.tx) <= b.tx.cap);
		/* Now and then the reader catches up for a while. */
		if (rnd() % 2 == 0) {
			for (int r = (int)rnd_range(1, 12); r > 0; r--) {
				txbench_read(&b);
				assert_int_equal(tcpframe_flush(&b.tx, b.sv[0]), 0);
			}
		}
	}
	txbench_finish(&b);
	print_message("%zu messages: %zu received, %zu dropped; %zu partial frames queued, ring wrapped %zu times, "
		      "%zu bytes queued at most\n",
		      (size_t)N, b.check.received, b.check.dropped, partial_frames, wraps, queued_max);
	/* Otherwise the test did not test what it is for. */
	assert_true(partial_frames > 0);
	assert_true(wraps > 0);
	assert_true(b.check.received > N / 2);
	txbench_free(&b);
}

/* Nobody reads: the queue fills to its cap and then drops whole messages,
 * leaving what it holds untouched; all accepted ones arrive afterwards. */
static void full_queue_drops_whole_messages(void **state)
{
	enum { N = 400 };
	static struct txbench b;
	size_t i, drops = 0, after_drop_accepted = 0;

	(void)state;
	rng_state = 9;
	txbench_init(&b, N, 1000, 4, 16384, 4096);
	for (i = 0; i < N; i++) {
		size_t before = tcpframe_tx_queued(&b.tx);

		if (i % 5 == 4) {
			size_t n = i + 3 < N ? 3 : N - i;

			if (txbench_sendv(&b, i, n))
				drops++;
			i += n - 1;
			continue;
		}
		if (txbench_send(&b, i) == TCPFRAME_DROPPED_FULL) {
			/* dropped whole, not one byte of it queued, and only
			 * because it did not fit */
			assert_int_equal(tcpframe_tx_queued(&b.tx), before);
			assert_true(before + TCPFRAME_HDR_LEN + b.pool->mlen[i] > b.tx.cap);
			drops++;
		} else {
			assert_true(before + TCPFRAME_HDR_LEN + b.pool->mlen[i] <= b.tx.cap);
			if (drops)
				after_drop_accepted++; /* a smaller one fitted again */
		}
		assert_true(tcpframe_tx_queued(&b.tx) <= b.tx.cap);
	}
	assert_true(drops > 0);
	assert_true(after_drop_accepted > 0);
	txbench_finish(&b);
	print_message("%d messages: %zu received, %zu dropped; %zu accepted after the first drop\n", N,
		      b.check.received, b.check.dropped, after_drop_accepted);
	assert_true(b.check.dropped > 0);
	txbench_free(&b);
}

/* The cap to the byte: a frame that fits exactly is queued, one byte more
 * is not (the 2-byte prefix counts). Messages from a small pool sent by
 * hand, then all checked on arrival. */
static void queue_cap_to_the_byte(void **state)
{
	static uint8_t msg[1000];
	struct tcpframe_tx tx;
	struct tcpframe_rx rx;
	uint8_t *scratch = malloc(TCPFRAME_SCRATCH_SIZE);
	size_t sent_bytes = 0, got = 0, free_bytes;
	int sv[2], i;

	(void)state;
	assert_non_null(scratch);
	memset(msg, 0x5a, sizeof(msg));
	stream_pair(sv, 4096);
	assert_int_equal(tcpframe_tx_init(&tx, 16384, 1000), 0);
	assert_int_equal(tcpframe_rx_init(&rx, 1000), 0);
	/* Fill the socket, then the queue, leaving exactly 500 bytes free. */
	for (i = 0; i < 1000 && (!tcpframe_tx_pending(&tx) || tx.cap - tx.used > 1502); i++) {
		assert_int_equal(tcpframe_send(&tx, sv[0], msg, 1000), TCPFRAME_SENT);
		sent_bytes += 1000;
	}
	free_bytes = tx.cap - tx.used;
	assert_true(free_bytes > 500 && free_bytes <= 1502);
	if (free_bytes > 502) {
		assert_int_equal(tcpframe_send(&tx, sv[0], msg, free_bytes - 502), TCPFRAME_SENT);
		sent_bytes += free_bytes - 502;
	}
	free_bytes = tx.cap - tx.used;
	assert_true(free_bytes == 500 || free_bytes == 502);
	assert_int_equal(tcpframe_send(&tx, sv[0], msg, free_bytes - 1), TCPFRAME_DROPPED_FULL);
	assert_int_equal(tx.cap - tx.used, free_bytes);
	assert_int_equal(tcpframe_send(&tx, sv[0], msg, free_bytes - 2), TCPFRAME_SENT);
	sent_bytes += free_bytes - 2;
	assert_int_equal(tx.used, tx.cap);
	assert_int_equal(tcpframe_send(&tx, sv[0], msg, 1), TCPFRAME_DROPPED_FULL);
	/* All of it arrives, framed as sent. */
	for (i = 0; i < 100000 && (tcpframe_tx_pending(&tx) || got < sent_bytes); i++) {
		ssize_t r;

		assert_int_equal(tcpframe_flush(&tx, sv[0]), 0);
		do
			r = tcpframe_read(&rx, sv[1], scratch, TCPFRAME_SCRATCH_SIZE, count_bytes, &got);
		while (r > 0);
		assert_int_equal(r, -EAGAIN);
	}
	assert_int_equal(got, sent_bytes);
	assert_int_equal(tcpframe_rx_pending(&rx), 0);
	close(sv[0]);
	close(sv[1]);
	tcpframe_tx_free(&tx);
	tcpframe_rx_free(&rx);
	free(scratch);
}

/* Lengths the receiver would reset the connection for are never sent. */
static void invalid_lengths_never_sent(void **state)
{
	static uint8_t msg[200];
	struct tcpframe_tx tx;
	uint8_t got[16];
	struct iovec iov[4] = {
		{ .iov_base = msg, .iov_len = 3 },
		{ .iov_base = msg, .iov_len = 0 },
		{ .iov_base = msg, .iov_len = 100 },
		{ .iov_base = msg, .iov_len = 101 },
	};
	int sv[2];

	(void)state;
	stream_pair(sv, 0);
	assert_int_equal(tcpframe_tx_init(&tx, 0, 100), 0);
	assert_true(tx.cap >= TCPFRAME_HDR_LEN + 100); /* raised to one frame */
	assert_int_equal(tcpframe_send(&tx, sv[0], msg, 0), TCPFRAME_DROPPED_SIZE);
	assert_int_equal(tcpframe_send(&tx, sv[0], msg, 101), TCPFRAME_DROPPED_SIZE);
	assert_int_equal(read(sv[1], got, sizeof(got)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(tcpframe_sendv(&tx, sv[0], iov, 4), 2);
	assert_int_equal(read(sv[1], got, 5), 5);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 3);
	assert_int_equal(read(sv[1], got, 2), 2);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 100);
	tcpframe_tx_free(&tx);
	assert_int_equal(tcpframe_tx_init(&tx, 1000, 0), -EINVAL);
	assert_int_equal(tcpframe_tx_init(&tx, 1000, TCPFRAME_MAX_MSG + 1), -EINVAL);
	close(sv[0]);
	close(sv[1]);
}

/* A peer gone: an error to reset on, never SIGPIPE (which would kill this
 * test, as it would kill ferry). */
static void dead_peer_is_an_error_not_sigpipe(void **state)
{
	static uint8_t msg[1000];
	struct tcpframe_tx tx;
	int sv[2], ret = 0, i;

	(void)state;
	stream_pair(sv, 4096);
	assert_int_equal(tcpframe_tx_init(&tx, 65536, 1000), 0);
	for (i = 0; i < 40 && !tcpframe_tx_pending(&tx); i++)
		assert_int_equal(tcpframe_send(&tx, sv[0], msg, sizeof(msg)), TCPFRAME_SENT);
	assert_true(tcpframe_tx_pending(&tx));
	close(sv[1]);
	assert_int_equal(tcpframe_flush(&tx, sv[0]), -EPIPE);
	tcpframe_tx_reset(&tx);
	assert_false(tcpframe_tx_pending(&tx));
	ret = tcpframe_send(&tx, sv[0], msg, 10);
	assert_int_equal(ret, -EPIPE);
	close(sv[0]);
	tcpframe_tx_free(&tx);
}

/* ---- backoff ---- */

static void backoff_bounds(void **state)
{
	struct tcp_backoff b;
	uint64_t lo = UINT64_MAX, hi = 0, sum = 0;

	(void)state;
	for (uint64_t seed = 0; seed < 2000; seed++) {
		uint64_t base = TCP_BACKOFF_MIN_MS, now = 1000000 + seed;

		tcp_backoff_seed(&b, seed);
		for (int k = 0; k < 16; k++) {
			uint64_t d = tcp_backoff_next_ms(&b, now) - now;
			uint64_t want_lo = base * 80 / 100, want_hi = base * 120 / 100;

			if (want_hi > TCP_BACKOFF_MAX_MS)
				want_hi = TCP_BACKOFF_MAX_MS;
			if (d < want_lo || d > want_hi)
				fail_msg("seed %llu, attempt %d: %llu ms, not in [%llu, %llu]",
					 (unsigned long long)seed, k, (unsigned long long)d,
					 (unsigned long long)want_lo, (unsigned long long)want_hi);
			if (k == 0) {
				lo = d < lo ? d : lo;
				hi = d > hi ? d : hi;
				sum += d;
			}
			now += d;
			base = base * 2 < TCP_BACKOFF_MAX_MS ? base * 2 : TCP_BACKOFF_MAX_MS;
		}
		/* reached the cap long ago; reset goes back to the start */
		assert_int_equal(base, TCP_BACKOFF_MAX_MS);
		tcp_backoff_reset(&b);
		uint64_t d = tcp_backoff_next_ms(&b, 0);
		assert_true(d >= 200 && d <= 300);
	}
	/* At the cap the delays still spread (24..30 s), not all 30 s. */
	{
		uint64_t cap_lo = UINT64_MAX;

		tcp_backoff_seed(&b, 77);
		for (int k = 0; k < 60; k++) {
			uint64_t d = tcp_backoff_next_ms(&b, 0);

			if (k >= 10 && d < cap_lo)
				cap_lo = d;
		}
		assert_true(cap_lo >= 24000 && cap_lo < 26000);
	}
	/* The jitter really spreads the first delay over 200..300 ms. */
	print_message("first delay over 2000 seeds: %llu..%llu ms, mean %llu\n", (unsigned long long)lo,
		      (unsigned long long)hi, (unsigned long long)(sum / 2000));
	assert_true(lo <= 205 && hi >= 295);
	assert_true(sum / 2000 >= 240 && sum / 2000 <= 260);
}

static void backoff_seeds_differ(void **state)
{
	struct tcp_backoff a, b, z;
	int same = 0;

	(void)state;
	tcp_backoff_seed(&a, 1);
	tcp_backoff_seed(&b, 2);
	for (int k = 0; k < 10; k++)
		same += tcp_backoff_next_ms(&a, 0) == tcp_backoff_next_ms(&b, 0);
	assert_true(same < 3);
	/* The same seed, the same sequence. */
	tcp_backoff_seed(&a, 42);
	tcp_backoff_seed(&b, 42);
	for (int k = 0; k < 10; k++)
		assert_int_equal(tcp_backoff_next_ms(&a, 5), tcp_backoff_next_ms(&b, 5));
	/* Seeded from getrandom, and a zeroed one, stay in bounds. */
	tcp_backoff_init(&a);
	assert_in_range(tcp_backoff_next_ms(&a, 0), 200, 300);
	memset(&z, 0, sizeof(z));
	assert_in_range(tcp_backoff_next_ms(&z, 0), 200, 300);
	assert_in_range(tcp_backoff_next_ms(&z, 0), 400, 600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(splits_at_every_boundary),
		cmocka_unit_test(splits_at_every_pair_of_boundaries),
		cmocka_unit_test(many_messages_in_one_chunk),
		cmocka_unit_test(one_byte_at_a_time),
		cmocka_unit_test(random_chunking),
		cmocka_unit_test(max_msg_exactly_and_one_more),
		cmocka_unit_test(zero_length_breaks_the_stream),
		cmocka_unit_test(length_65535),
		cmocka_unit_test(stream_cut_mid_message),
		cmocka_unit_test(deliver_error_stops),
		cmocka_unit_test(read_reassembles),
		cmocka_unit_test(read_deliver_error_and_framing_error),
		cmocka_unit_test(send_partial_writes_reassemble),
		cmocka_unit_test(full_queue_drops_whole_messages),
		cmocka_unit_test(queue_cap_to_the_byte),
		cmocka_unit_test(invalid_lengths_never_sent),
		cmocka_unit_test(dead_peer_is_an_error_not_sigpipe),
		cmocka_unit_test(backoff_bounds),
		cmocka_unit_test(backoff_seeds_differ),
	};

	return cmocka_run_group_tests_name("tcpframe", tests, NULL, NULL);
}
