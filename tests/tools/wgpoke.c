/* wgpoke - hostile input for a WireGuard endpoint, for the bad-input and
 * abuse tests.
 *
 *   wgpoke junk ADDR PORT            malformed messages of every kind
 *   wgpoke capture IFACE PORT TYPE FILE [SECONDS]
 *                                    save the UDP payload of the first packet
 *                                    to PORT whose message type is TYPE
 *   wgpoke send ADDR PORT FILE [flip] send a saved payload again (flip: with
 *                                    one ciphertext byte changed)
 *   wgpoke flood ADDR PORT PUBKEY SECONDS [SRCNET/24|-] [real]
 *                                    handshake initiations with a valid MAC1
 *                                    for the responder PUBKEY, as fast as
 *                                    possible; random bodies, or (real) well
 *                                    formed ones from a throwaway key. With
 *                                    SRCNET, from its 250 addresses .1-.250
 *                                    (spoofed, raw socket)
 *   wgpoke tcpidle ADDR PORT N SECONDS [partial|junk|mixed]
 *                                    N TCP connections that authenticate
 *                                    nothing: a 2-byte length prefix then one
 *                                    byte every 4 s (partial, the default),
 *                                    or a complete 1-byte message every 4 s
 *                                    (junk)
 *   wgpoke tcpflood ADDR PORT PRIVKEY_FILE PEER_PUB N SECONDS
 *                                    a configured but malicious peer: N TCP
 *                                    connections, each with a valid handshake
 *                                    initiation as that key, kept alive with
 *                                    junk messages
 * The flood modes print what they did as key=value lines for the tests;
 * SIGTERM ends tcpidle and tcpflood early, summary included.
 */
#include "cookie.h"
#include "apply.h"
#include "checksum.h"
#include "crypto.h"
#include "device.h"
#include "encoding.h"
#include "messages.h"
#include "noise.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int send_to(const char *addr, const char *port, const uint8_t *buf, size_t len)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1)
		return -1;
	if (sendto(fd, buf, len, 0, (struct sockaddr *)&a, sizeof(a)) != (ssize_t)len) {
		perror("sendto");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void fill_random(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)rand();
}

static int junk(const char *addr, const char *port)
{
	static const struct {
		uint8_t type;
		size_t len;
		const char *what;
	} cases[] = {
		{ 1, 3, "3 bytes" },
		{ 1, 100, "an initiation of 100 bytes" },
		{ 2, 93, "a response of 93 bytes" },
		{ 3, 63, "a cookie reply of 63 bytes" },
		{ 4, 31, "a data message of 31 bytes" },
		{ 7, 148, "type 7" },
		{ 0, 64, "type 0" },
		{ 1, 148, "an initiation with a random MAC1" },
		{ 2, 92, "a response with a random MAC1" },
		{ 3, 64, "a cookie reply for an unknown index" },
		{ 4, 64, "a data message for an unknown index" },
	};
	uint8_t buf[256];
	size_t i;

	srand((unsigned)time(NULL));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fill_random(buf, cases[i].len);
		buf[0] = cases[i].type;
		if (cases[i].len >= 4)
			buf[1] = buf[2] = buf[3] = 0;
		if (send_to(addr, port, buf, cases[i].len) < 0)
			return 1;
		printf("sent %s\n", cases[i].what);
	}
	return 0;
}

static int capture(const char *ifname, const char *port, const char *type, const char *file, int seconds)
{
	/* Outgoing frames reach only ETH_P_ALL sockets; IPv4 is picked below. */
	int fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint16_t want_port = (uint16_t)atoi(port);
	uint8_t want_type = (uint8_t)atoi(type), buf[65536];
	time_t end = time(NULL) + seconds;

	ll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !ll.sll_ifindex || bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		perror("capture");
		return 1;
	}
	printf("capturing\n");
	fflush(stdout);
	while (time(NULL) < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;
		size_t ihl;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		struct sockaddr_ll from;
		socklen_t flen = sizeof(from);

		n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
		if (n < 28 || from.sll_protocol != htons(ETH_P_IP) || (buf[0] >> 4) != 4 || buf[9] != IPPROTO_UDP)
			continue;
		ihl = (size_t)(buf[0] & 0xf) * 4;
		if ((size_t)n < ihl + 8 + 4)
			continue;
		if (((buf[ihl + 2] << 8) | buf[ihl + 3]) != want_port || buf[ihl + 8] != want_type)
			continue;
		FILE *f = fopen(file, "wb");

		if (!f || fwrite(buf + ihl + 8, 1, (size_t)n - ihl - 8, f) != (size_t)n - ihl - 8 || fclose(f)) {
			perror(file);
			return 1;
		}
		printf("captured %zd bytes of type %u\n", n - (ssize_t)ihl - 8, want_type);
		return 0;
	}
	fprintf(stderr, "wgpoke: nothing of type %u to port %u within %d s\n", want_type, want_port, seconds);
	return 1;
}

static int resend(const char *addr, const char *port, const char *file, int flip)
{
	uint8_t buf[65536];
	FILE *f = fopen(file, "rb");
	size_t n;

	if (!f) {
		perror(file);
		return 1;
	}
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (flip && n > 20)
		buf[n - 20] ^= 0x01; /* inside the ciphertext, before the tag */
	return send_to(addr, port, buf, n) < 0;
}

/* --- shared by the flood modes --- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void rnd_fill(uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 8) {
		uint64_t r = rnd();

		memcpy(b + i, &r, n - i < 8 ? n - i : 8);
	}
}

static int parse_key(uint8_t key[KEY_LEN], const char *text, const char *what)
{
	if (key_from_base64(key, text))
		return 0;
	fprintf(stderr, "wgpoke: %s: not a base64 key: '%s'\n", what, text);
	return -1;
}

static int read_key_file(uint8_t key[KEY_LEN], const char *file)
{
	char line[128];
	FILE *f = fopen(file, "r");
	size_t n;

	if (!f || !fgets(line, sizeof(line), f)) {
		perror(file);
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	return parse_key(key, line, file);
}

/* A device of our own holding @private_key, with the target as its only
 * peer: noise.c and cookie.c then make initiations exactly as a peer would. */
static struct peer *sender_for(struct device *dev, const uint8_t private_key[KEY_LEN], const uint8_t target[KEY_LEN])
{
	struct peer *p;

	if (crypt_init() < 0 || device_init(dev, "wgpoke") < 0)
		return NULL;
	noise_init();
	device_set_private_key(dev, private_key);
	p = peer_create(dev, target);
	if (p)
		p->transport.endpoint.kind = ENDPOINT_UDP; /* not used: we send ourselves */
	return p;
}

/* --- flood: handshake initiations with a valid MAC1 --- */

#define FLOOD_BATCH 64
#define FLOOD_REAL  256 /* well-formed initiations made up front, sent in turn */
#define FLOOD_HOSTS 250

struct flood_pkt {
	uint8_t ip[20];
	uint8_t udp[8];
	uint8_t msg[sizeof(struct message_handshake_initiation)];
} __attribute__((packed));

static void flood_random_body(uint8_t *m, const uint8_t mac1_key[CRYPT_KEY_LEN])
{
	size_t mac1 = sizeof(struct message_handshake_initiation) - sizeof(struct message_macs);

	rnd_fill(m, mac1);
	le32_write(m, MESSAGE_HANDSHAKE_INITIATION);
	crypt_mac(m + mac1, mac1_key, CRYPT_KEY_LEN, m, mac1);
	memset(m + mac1 + COOKIE_LEN, 0, COOKIE_LEN);
}

/* IPv4 and UDP headers from @src to @dst: the UDP checksum is computed
 * (the kernel fills in the IP checksum and total length of a raw send). */
static void flood_headers(struct flood_pkt *k, uint32_t src, const struct sockaddr_in *dst)
{
	size_t ulen = sizeof(k->udp) + sizeof(k->msg);
	uint16_t c, port = (uint16_t)(1024 + rnd() % 60000);

	memset(k->ip, 0, sizeof(k->ip));
	k->ip[0] = 0x45;
	k->ip[2] = (uint8_t)(sizeof(*k) >> 8);
	k->ip[3] = (uint8_t)sizeof(*k);
	k->ip[6] = 0x40;
	k->ip[8] = 64;
	k->ip[9] = IPPROTO_UDP;
	memcpy(k->ip + 12, &src, 4);
	memcpy(k->ip + 16, &dst->sin_addr, 4);
	k->udp[0] = (uint8_t)(port >> 8);
	k->udp[1] = (uint8_t)port;
	memcpy(k->udp + 2, &dst->sin_port, 2);
	k->udp[4] = (uint8_t)(ulen >> 8);
	k->udp[5] = (uint8_t)ulen;
	k->udp[6] = k->udp[7] = 0;
	c = checksum_fold(
	    checksum_partial(k->udp, ulen, checksum_pseudo_v4(k->ip + 12, k->ip + 16, IPPROTO_UDP, (uint32_t)ulen)));
	if (!c)
		c = 0xffff;
	memcpy(k->udp + 6, &c, 2);
}

static int flood(const char *addr, const char *port, const char *pub, const char *secs, const char *srcnet, bool real)
{
	static struct flood_pkt pkts[FLOOD_BATCH];
	static struct message_handshake_initiation made[FLOOD_REAL];
	struct mmsghdr mm[FLOOD_BATCH];
	struct iovec iov[FLOOD_BATCH];
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	uint8_t target[KEY_LEN], mac1_key[CRYPT_KEY_LEN], secret[KEY_LEN];
	unsigned long long sent = 0, errors = 0;
	uint32_t net = 0, host = 0;
	double t0, end;
	bool raw = srcnet && strcmp(srcnet, "-");
	/* A cap on the rate, for experiments: as fast as possible otherwise. */
	double pps = getenv("WGPOKE_FLOOD_PPS") ? atof(getenv("WGPOKE_FLOOD_PPS")) : 0;
	static struct device dev;
	int fd, i, n, next_real = 0;

	if (inet_pton(AF_INET, addr, &dst.sin_addr) != 1 || parse_key(target, pub, "PUBKEY") < 0)
		return 2;
	if (raw) {
		char net_text[32], *slash;

		snprintf(net_text, sizeof(net_text), "%s", srcnet);
		slash = strchr(net_text, '/');
		if (slash)
			*slash = '\0';
		if (inet_pton(AF_INET, net_text, &net) != 1 || (slash && strcmp(slash + 1, "24"))) {
			fprintf(stderr, "wgpoke: SRCNET must be an IPv4 /24: '%s'\n", srcnet);
			return 2;
		}
		net = ntohl(net) & 0xffffff00u;
	}
	if (crypt_init() < 0)
		return 1;
	crypt_hash(mac1_key, LABEL_MAC1, strlen(LABEL_MAC1), target, KEY_LEN);
	crypt_random(&rng_state, sizeof(rng_state));
	rng_state |= 1;
	if (real) {
		struct peer *p;

		crypt_generate_secret(secret);
		p = sender_for(&dev, secret, target);
		if (!p)
			return 1;
		for (i = 0; i < FLOOD_REAL; i++) {
			if (!noise_handshake_create_initiation(&made[i], p))
				return 1;
			cookie_add_macs(p, &made[i], sizeof(made[i]));
		}
	}
	fd = raw ? socket(AF_INET, SOCK_RAW, IPPROTO_RAW) : socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || (!raw && connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)) {
		perror(raw ? "raw socket" : "UDP socket");
		return 1;
	}
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < FLOOD_BATCH; i++) {
		iov[i].iov_base = raw ? (void *)&pkts[i] : (void *)pkts[i].msg;
		iov[i].iov_len = raw ? sizeof(pkts[i]) : sizeof(pkts[i].msg);
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		if (raw) {
			mm[i].msg_hdr.msg_name = &dst;
			mm[i].msg_hdr.msg_namelen = sizeof(dst);
		}
	}
	t0 = now_s();
	end = t0 + atof(secs);
	while (now_s() < end) {
		for (i = 0; i < FLOOD_BATCH; i++) {
			if (real) {
				memcpy(pkts[i].msg, &made[next_real], sizeof(pkts[i].msg));
				next_real = (next_real + 1) % FLOOD_REAL;
			} else {
				flood_random_body(pkts[i].msg, mac1_key);
			}
			if (raw) {
				flood_headers(&pkts[i], htonl(net | (1 + host)), &dst);
				host = (host + 1) % FLOOD_HOSTS;
			}
		}
		n = sendmmsg(fd, mm, FLOOD_BATCH, 0);
		if (n < 0) {
			errors++;
			if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) {
				perror("sendmmsg");
				return 1;
			}
			continue;
		}
		sent += (unsigned long long)n;
		if (pps > 0) {
			double ahead = t0 + (double)sent / pps - now_s();

			if (ahead > 0)
				nanosleep(
				    &(struct timespec){ .tv_sec = (time_t)ahead,
							.tv_nsec = (long)((ahead - (double)(time_t)ahead) * 1e9) },
				    NULL);
		}
	}
	t0 = now_s() - t0;
	printf("flood: sent=%llu seconds=%.1f rate=%.0f/s sources=%d kind=%s errors=%llu\n", sent, t0,
	       (double)sent / t0, raw ? FLOOD_HOSTS : 1, real ? "real" : "random", errors);
	fflush(stdout);
	close(fd);
	return sent ? 0 : 1;
}

/* --- TCP abuse: connections that authenticate nothing, or a peer's many --- */

enum conn_state { CONN_UNOPENED, CONN_CONNECTING, CONN_OPEN, CONN_CLOSED, CONN_FAILED };

struct conn {
	int fd;
	enum conn_state state;
	double opened, closed, next_poke, init_sent;
	bool bound;	 /* tcpflood: a handshake response came on it */
	uint8_t rx[256]; /* tcpflood: the frame being read */
	size_t rx_have;
	unsigned int inits; /* tcpflood: initiations sent on it */
};

static int tcp_dial(const struct sockaddr_in *dst)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)dst, sizeof(*dst)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

static void conn_closed(struct conn *c, double now)
{
	close(c->fd);
	c->fd = -1;
	c->state = CONN_CLOSED;
	c->closed = now - c->opened;
}

/* Send all of @len bytes or count the connection closed (the other side
 * reset it). Small writes on an idle socket never block. */
static bool conn_write(struct conn *c, const void *buf, size_t len, double now)
{
	ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n == (ssize_t)len)
		return true;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return true; /* a full socket: this poke is skipped */
	conn_closed(c, now);
	return false;
}

/* POLLOUT on a connecting socket: connected, or failed. */
static bool conn_finish_connect(struct conn *c, double now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
		close(c->fd);
		c->fd = -1;
		c->state = CONN_FAILED;
		return false;
	}
	c->state = CONN_OPEN;
	c->opened = now;
	return true;
}

/* SIGTERM or SIGINT end a TCP run early, with its summary. */
static volatile sig_atomic_t stop_requested;

static void request_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct abuse {
	struct conn *conns;
	struct pollfd *pfds;
	int n;
	struct sockaddr_in dst;
	double t0, end;
};

static void abuse_dial(struct abuse *a, int i)
{
	a->conns[i].fd = tcp_dial(&a->dst);
	a->conns[i].state = a->conns[i].fd < 0 ? CONN_FAILED : CONN_CONNECTING;
	a->conns[i].opened = now_s();
}

/* Set up N connections to ADDR PORT; dial them all now if @all. */
static int abuse_open(struct abuse *a, const char *addr, const char *port, const char *count, const char *secs,
		      bool all)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->dst.sin_family = AF_INET;
	a->dst.sin_port = htons((uint16_t)atoi(port));
	a->n = atoi(count);
	if (inet_pton(AF_INET, addr, &a->dst.sin_addr) != 1 || a->n < 1 || a->n > 10000) {
		fprintf(stderr, "wgpoke: bad address or count\n");
		return -1;
	}
	a->conns = calloc((size_t)a->n, sizeof(*a->conns));
	a->pfds = calloc((size_t)a->n, sizeof(*a->pfds));
	if (!a->conns || !a->pfds)
		return -1;
	a->t0 = now_s();
	a->end = a->t0 + atof(secs);
	signal(SIGTERM, request_stop);
	signal(SIGINT, request_stop);
	for (i = 0; all && i < a->n; i++)
		abuse_dial(a, i);
	return 0;
}

/* Close what is still open; the summary is printed before. */
static void abuse_free(struct abuse *a)
{
	int i;

	fflush(stdout);
	for (i = 0; i < a->n; i++)
		if (a->conns[i].fd >= 0 && (a->conns[i].state == CONN_CONNECTING || a->conns[i].state == CONN_OPEN))
			close(a->conns[i].fd);
	free(a->conns);
	free(a->pfds);
}

/* Wait up to @ms for events; fills a->pfds for every live connection. */
static int abuse_poll(struct abuse *a, int ms)
{
	int i;

	for (i = 0; i < a->n; i++) {
		struct conn *c = &a->conns[i];

		a->pfds[i].fd = c->state == CONN_CONNECTING || c->state == CONN_OPEN ? c->fd : -1;
		a->pfds[i].events = c->state == CONN_CONNECTING ? POLLOUT : POLLIN;
		a->pfds[i].revents = 0;
	}
	return poll(a->pfds, (nfds_t)a->n, ms);
}

struct abuse_counts {
	int connected, failed, closed, open, bound;
	double closed_max, closed_min;
};

static struct abuse_counts abuse_count(const struct abuse *a)
{
	struct abuse_counts k = { .closed_min = -1 };
	int i;

	for (i = 0; i < a->n; i++) {
		const struct conn *c = &a->conns[i];

		k.failed += c->state == CONN_FAILED;
		k.connected += c->state == CONN_OPEN || c->state == CONN_CLOSED;
		k.open += c->state == CONN_OPEN;
		k.bound += c->bound;
		if (c->state == CONN_CLOSED) {
			k.closed++;
			if (c->closed > k.closed_max)
				k.closed_max = c->closed;
			if (k.closed_min < 0 || c->closed < k.closed_min)
				k.closed_min = c->closed;
		}
	}
	return k;
}

/* Read what the other side sent: EOF or an error means it closed. */
static bool conn_drain(struct conn *c, double now, uint8_t *buf, size_t cap, size_t *got)
{
	ssize_t n = recv(c->fd, buf, cap, MSG_DONTWAIT);

	*got = 0;
	if (n > 0) {
		*got = (size_t)n;
		return true;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return true;
	conn_closed(c, now);
	return false;
}

#define POKE_INTERVAL_S 4.0

static int tcpidle(const char *addr, const char *port, const char *count, const char *secs, const char *how)
{
	static const uint8_t prefix[2] = { 0x00, 0x94 }, junk[3] = { 0x00, 0x01, 0x00 };
	struct abuse a;
	struct abuse_counts k;
	bool told = false;
	uint8_t buf[4096];
	int i;

	if (strcmp(how, "partial") && strcmp(how, "junk") && strcmp(how, "mixed")) {
		fprintf(stderr, "wgpoke: tcpidle: partial, junk or mixed, not '%s'\n", how);
		return 2;
	}
	if (abuse_open(&a, addr, port, count, secs, true) < 0)
		return 2;
	while (now_s() < a.end && !stop_requested) {
		double now;

		abuse_poll(&a, 100);
		now = now_s();
		for (i = 0; i < a.n; i++) {
			struct conn *c = &a.conns[i];
			/* junk: a whole 1-byte message (3 bytes) each time; partial:
			 * a message of 148 bytes that is never finished. */
			bool whole = !strcmp(how, "junk") || (!strcmp(how, "mixed") && i % 2);
			size_t got;

			if (c->state == CONN_CONNECTING && (a.pfds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				if (!conn_finish_connect(c, now))
					continue;
				if (!conn_write(c, whole ? junk : prefix, whole ? sizeof(junk) : sizeof(prefix), now))
					continue;
				c->next_poke = now + POKE_INTERVAL_S;
				continue;
			}
			if (c->state != CONN_OPEN)
				continue;
			if (a.pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
				while (conn_drain(c, now, buf, sizeof(buf), &got) && got)
					;
				if (c->state != CONN_OPEN)
					continue;
			}
			if (now >= c->next_poke) {
				conn_write(c, whole ? (const void *)junk : (const void *)"x", whole ? sizeof(junk) : 1,
					   now);
				c->next_poke = now + POKE_INTERVAL_S;
			}
		}
		if (!told && now - a.t0 >= 1.0) {
			k = abuse_count(&a);
			printf("tcpidle: established=%d\n", k.connected);
			fflush(stdout);
			told = true;
		}
	}
	k = abuse_count(&a);
	printf("tcpidle: mode=%s connections=%d connected=%d failed=%d closed=%d closed_min_s=%.1f "
	       "closed_max_s=%.1f open_at_end=%d seconds=%.0f\n",
	       how, a.n, k.connected, k.failed, k.closed, k.closed_min < 0 ? 0 : k.closed_min, k.closed_max, k.open,
	       now_s() - a.t0);
	abuse_free(&a);
	return 0;
}

#define FLOOD_INIT_GAP_S   0.025 /* over 1 s / INITIATIONS_PER_SECOND, and the TAI64N granularity */
#define FLOOD_INIT_RETRY_S 1.5

static void send_initiation(struct conn *c, struct peer *p, double now)
{
	uint8_t frame[2 + sizeof(struct message_handshake_initiation)];
	struct message_handshake_initiation m;

	if (!noise_handshake_create_initiation(&m, p))
		return;
	cookie_add_macs(p, &m, sizeof(m));
	frame[0] = (uint8_t)(sizeof(m) >> 8);
	frame[1] = (uint8_t)sizeof(m);
	memcpy(frame + 2, &m, sizeof(m));
	if (conn_write(c, frame, sizeof(frame), now)) {
		c->init_sent = now;
		c->inits++;
	}
}

/* Frames from the responder: a handshake response binds the connection in
 * our count; a cookie reply is taken, so the next initiation has MAC2. */
static void flood_read_frames(struct conn *c, struct device *dev, const uint8_t *data, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		size_t need;

		if (c->rx_have < sizeof(c->rx))
			c->rx[c->rx_have] = data[i];
		c->rx_have++;
		if (c->rx_have < 2)
			continue;
		need = 2 + ((size_t)c->rx[0] << 8 | c->rx[1]);
		if (c->rx_have < need)
			continue;
		if (need == 2 + sizeof(struct message_handshake_response) && c->rx[2] == MESSAGE_HANDSHAKE_RESPONSE)
			c->bound = true;
		if (need == 2 + sizeof(struct message_handshake_cookie) && c->rx[2] == MESSAGE_HANDSHAKE_COOKIE)
			cookie_message_consume(&dev->local, (const void *)(c->rx + 2));
		c->rx_have = 0;
	}
}

/* Connections being set up at a time: each is dialled when an earlier one
 * got its response, was closed, or gave up (FLOOD_INIT_TRIES initiations
 * without a response), so that the unbound-connection cap of the listener
 * does not refuse the peer's connections wholesale. */
#define FLOOD_PENDING	 16
#define FLOOD_INIT_TRIES 3

static bool flood_pending(const struct conn *c)
{
	return c->state == CONN_CONNECTING || (c->state == CONN_OPEN && !c->bound && c->inits < FLOOD_INIT_TRIES);
}

static int tcpflood(const char *addr, const char *port, const char *keyfile, const char *peer_pub, const char *count,
		    const char *secs)
{
	static const uint8_t junk[3] = { 0x00, 0x01, 0x00 };
	static struct device dev;
	uint8_t key[KEY_LEN], target[KEY_LEN], buf[4096];
	double last_init = 0, last_report;
	struct abuse_counts k;
	unsigned long long inits = 0;
	int i, next = 0, pending, peak_open = 0;
	struct peer *p;
	struct abuse a;

	if (read_key_file(key, keyfile) < 0 || parse_key(target, peer_pub, "PEER_PUB") < 0)
		return 2;
	p = sender_for(&dev, key, target);
	crypt_wipe(key, sizeof(key));
	if (!p)
		return 1;
	if (abuse_open(&a, addr, port, count, secs, false) < 0)
		return 2;
	last_report = a.t0;
	while (now_s() < a.end && !stop_requested) {
		double now;

		for (i = 0, pending = 0; i < next; i++)
			pending += flood_pending(&a.conns[i]);
		while (pending < FLOOD_PENDING && next < a.n) {
			abuse_dial(&a, next++);
			pending++;
		}
		abuse_poll(&a, 10);
		now = now_s();
		for (i = 0; i < next; i++) {
			struct conn *c = &a.conns[i];
			size_t got;

			if (c->state == CONN_CONNECTING && (a.pfds[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				if (conn_finish_connect(c, now))
					c->next_poke = now + POKE_INTERVAL_S;
				continue;
			}
			if (c->state != CONN_OPEN)
				continue;
			if (a.pfds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
				while (conn_drain(c, now, buf, sizeof(buf), &got) && got)
					flood_read_frames(c, &dev, buf, got);
				if (c->state != CONN_OPEN)
					continue;
			}
			/* One initiation at a time across connections, each
			 * connection retrying until a response comes on it. */
			if (!c->bound && c->inits < FLOOD_INIT_TRIES && now - last_init >= FLOOD_INIT_GAP_S &&
			    (!c->inits || now - c->init_sent >= FLOOD_INIT_RETRY_S)) {
				send_initiation(c, p, now);
				last_init = now;
				inits++;
				continue;
			}
			if (now >= c->next_poke) {
				conn_write(c, junk, sizeof(junk), now);
				c->next_poke = now + POKE_INTERVAL_S;
			}
		}
		k = abuse_count(&a);
		if (k.open > peak_open)
			peak_open = k.open;
		if (now - last_report >= 5) {
			fprintf(stderr, "tcpflood: after %.0f s: dialled=%d open=%d bound=%d closed=%d\n", now - a.t0,
				next, k.open, k.bound, k.closed);
			last_report = now;
		}
	}
	k = abuse_count(&a);
	printf("tcpflood: connections=%d dialled=%d connected=%d failed=%d bound=%d closed=%d open_at_end=%d "
	       "peak_open=%d initiations=%llu seconds=%.0f\n",
	       a.n, next, k.connected, k.failed, k.bound, k.closed, k.open, peak_open, inits, now_s() - a.t0);
	abuse_free(&a);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "junk"))
		return junk(argv[2], argv[3]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "capture"))
		return capture(argv[2], argv[3], argv[4], argv[5], argc == 7 ? atoi(argv[6]) : 10);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "send"))
		return resend(argv[2], argv[3], argv[4], argc == 6 && !strcmp(argv[5], "flip"));
	if ((argc == 6 || argc == 7 || argc == 8) && !strcmp(argv[1], "flood"))
		return flood(argv[2], argv[3], argv[4], argv[5], argc >= 7 ? argv[6] : NULL,
			     argc == 8 && !strcmp(argv[7], "real"));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "tcpidle"))
		return tcpidle(argv[2], argv[3], argv[4], argv[5], argc == 7 ? argv[6] : "partial");
	if (argc == 8 && !strcmp(argv[1], "tcpflood"))
		return tcpflood(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7]);
	fprintf(stderr, "usage: wgpoke junk ADDR PORT | capture IFACE PORT TYPE FILE [SECONDS] | "
			"send ADDR PORT FILE [flip]\n"
			"       wgpoke flood ADDR PORT PUBKEY SECONDS [SRCNET/24|-] [real]\n"
			"       wgpoke tcpidle ADDR PORT N SECONDS [partial|junk|mixed]\n"
			"       wgpoke tcpflood ADDR PORT PRIVKEY_FILE PEER_PUB N SECONDS\n");
	return 2;
}
