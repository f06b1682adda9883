/* Fuzz target: the TCP transport's framing (tcpframe.c), fed what a peer
 * or anyone who reaches the TCP port could send.
 *
 * The first byte chooses how the rest is fed:
 *   bits 0-2  the chunking: whole, 1, 2, 3 or 7 bytes at a time, 1000,
 *             or random sizes (two patterns seeded from the input);
 *   bits 3-4  max_msg: 1, 148, 9300 or 65535;
 *   bit 5     deliver() refuses (-EIO) a message whose first byte is 0xff;
 *   bit 6     through a socketpair and tcpframe_read() instead of
 *             tcpframe_feed(), the writer closing at the end;
 *   bit 7     with tcpframe_read(), the smallest scratch buffer allowed.
 *
 * Whatever the bytes: every message delivered has a length in 1..max_msg
 * and is, byte for byte, the next one a plain whole-input parser finds;
 * the lengths delivered, 2 bytes of prefix each, plus what is pending
 * never exceed the input (and equal it when the stream stays valid); the
 * result (count, error, pending) is the reference's; and each message
 * delivered is still intact when the call that delivered it returns. A
 * broken invariant aborts. */
#include "tcpframe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const size_t max_msgs[] = { 1, 148, 9300, 65535 };

/* What a whole-input parser makes of the stream. */
struct reference {
	size_t n;    /* messages */
	size_t *off; /* where each message starts in the input */
	size_t *len;
	int err;	/* 0, -EBADMSG, -EMSGSIZE or -EIO */
	size_t pending; /* bytes of a cut frame at the end, when err == 0 */
};

static bool refuses(bool stop, const uint8_t *msg)
{
	return stop && msg[0] == 0xff;
}

static void reference_parse(struct reference *r, const uint8_t *p, size_t len, size_t max_msg, bool stop)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	r->off = malloc((len / 3 + 1) * sizeof(size_t));
	r->len = malloc((len / 3 + 1) * sizeof(size_t));
	if (!r->off || !r->len)
		abort();
	while (len - off >= 2) {
		size_t m = (size_t)p[off] << 8 | p[off + 1];

		if (m == 0 || m > max_msg) {
			r->err = m == 0 ? -EBADMSG : -EMSGSIZE;
			return;
		}
		if (len - off - 2 < m)
			break;
		r->off[r->n] = off + 2;
		r->len[r->n] = m;
		r->n++;
		off += 2 + m;
		if (refuses(stop, p + off - m)) {
			r->err = -EIO;
			return;
		}
	}
	r->pending = len - off;
}

struct check {
	const uint8_t *input;
	const struct reference *ref;
	size_t max_msg;
	bool stop;
	size_t n, bytes; /* delivered, and their lengths + 2 each */
	size_t call_first;
	uint8_t **where;
};

static int deliver(void *ctx, uint8_t *msg, size_t len)
{
	struct check *c = ctx;
	bool no;

	if (len < 1 || len > c->max_msg)
		abort();
	if (c->n >= c->ref->n || len != c->ref->len[c->n] || memcmp(msg, c->input + c->ref->off[c->n], len))
		abort();
	no = refuses(c->stop, msg);
	c->where[c->n++] = msg;
	c->bytes += 2 + len;
	/* as the receive path does, decrypting in place */
	memset(msg, 0xee, len);
	return no ? -EIO : 0;
}

/* What the last call delivered is still in place. */
static void recheck(struct check *c)
{
	for (size_t i = c->call_first; i < c->n; i++)
		for (size_t j = 0; j < c->ref->len[i]; j++)
			if (c->where[i][j] != 0xee)
				abort();
	c->call_first = c->n;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static size_t next_chunk(unsigned int pattern, uint64_t *rng, size_t left)
{
	static const size_t fixed[] = { SIZE_MAX, 1, 2, 3, 7, 1000 };
	size_t n;

	if (pattern < 6)
		n = fixed[pattern];
	else if (pattern == 6)
		n = (size_t)(splitmix(rng) % 300); /* zero-length chunks too */
	else
		n = (size_t)1 << (splitmix(rng) % 17);
	return n < left ? n : left;
}

static void run_feed(struct tcpframe_rx *rx, struct check *c, const uint8_t *p, size_t len, unsigned int pattern,
		     uint64_t rng, int *err)
{
	size_t off = 0;

	while (off < len || (off == 0 && len == 0)) {
		size_t n = next_chunk(pattern, &rng, len - off);
		/* each chunk in a block of its exact size, for ASan */
		uint8_t *chunk = malloc(n ? n : 1);
		int ret;

		if (!chunk)
			abort();
		memcpy(chunk, p + off, n);
		ret = tcpframe_feed(rx, chunk, n, deliver, c);
		recheck(c);
		free(chunk);
		off += n;
		if (ret) {
			*err = ret;
			return;
		}
		if (len == 0)
			break;
	}
}

static uint8_t scratch[TCPFRAME_SCRATCH_SIZE];

/* Read everything the socket has now; false once the stream broke. */
static bool drain(struct tcpframe_rx *rx, struct check *c, int fd, size_t scratch_len, int *err, bool *eof)
{
	for (int i = 0; i < 1000000; i++) {
		ssize_t r = tcpframe_read(rx, fd, scratch, scratch_len, deliver, c);

		recheck(c);
		if (r == -EAGAIN)
			return true;
		if (r == 0) {
			*eof = true;
			return true;
		}
		if (r < 0) {
			*err = (int)r;
			return false;
		}
		if ((size_t)r > TCPFRAME_READS_PER_CALL * TCPFRAME_READ_CHUNK)
			abort();
	}
	abort();
}

static void run_read(struct tcpframe_rx *rx, struct check *c, const uint8_t *p, size_t len, unsigned int pattern,
		     uint64_t rng, bool small, int *err)
{
	size_t off = 0, scratch_len = small ? TCPFRAME_HDR_LEN + c->max_msg + 1 : sizeof(scratch);
	bool eof = false;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		abort();
	while (off < len) {
		size_t n = next_chunk(pattern, &rng, len - off);
		ssize_t w = n ? write(sv[0], p + off, n) : 0;

		if (w < 0 && errno != EAGAIN)
			abort();
		if (w > 0)
			off += (size_t)w;
		if (!drain(rx, c, sv[1], scratch_len, err, &eof))
			goto out;
	}
	close(sv[0]);
	sv[0] = -1;
	if (drain(rx, c, sv[1], scratch_len, err, &eof) && !eof)
		abort(); /* the writer closed: that must be seen */
out:
	if (sv[0] >= 0)
		close(sv[0]);
	close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcpframe_rx rx;
	struct reference ref;
	struct check c;
	unsigned int pattern;
	bool stop, via_socket, small;
	uint64_t rng = 0;
	int err = 0;

	if (size < 1)
		return 0;
	pattern = data[0] & 7;
	stop = data[0] & 0x20;
	via_socket = data[0] & 0x40;
	small = data[0] & 0x80;
	memset(&c, 0, sizeof(c));
	c.max_msg = max_msgs[(data[0] >> 3) & 3];
	c.stop = stop;
	c.input = data + 1;
	for (size_t i = 0; i < size && i < 8; i++)
		rng = rng << 8 | data[i];
	size--;
	data++;

	reference_parse(&ref, data, size, c.max_msg, stop);
	c.ref = &ref;
	c.where = malloc((size / 3 + 1) * sizeof(*c.where));
	if (!c.where || tcpframe_rx_init(&rx, c.max_msg))
		abort();
	if (via_socket)
		run_read(&rx, &c, data, size, pattern, rng, small, &err);
	else
		run_feed(&rx, &c, data, size, pattern, rng, &err);

	if (c.n != ref.n || err != ref.err)
		abort();
	if (c.bytes + tcpframe_rx_pending(&rx) > size)
		abort();
	if (!err && (tcpframe_rx_pending(&rx) != ref.pending || c.bytes + ref.pending != size))
		abort();

	tcpframe_rx_free(&rx);
	free(c.where);
	free(ref.off);
	free(ref.len);
	return 0;
}
