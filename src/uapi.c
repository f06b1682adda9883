/* uapi.c - the control socket.
 *
 * A client (the `wg` tool, wg-quick, `ferry show`) connects, sends one or
 * more requests ("get=1\n\n", "set=1\n...\n\n") and reads "errno=N\n\n"
 * after each, N being 0 or, as wireguard-go sends it and wg reads it, a
 * negative errno. Requests are served synchronously from the event loop: a
 * client gets UAPI_CLIENT_TIMEOUT_MS of read or write inactivity before it
 * is cut off, so a stuck client cannot hold the data path for long. A
 * request is at most UAPI_MAX_REQUEST bytes, about 400,000 peers; a bigger
 * one is read to its end, thrown away and answered errno=-90 (EMSGSIZE):
 * `wg` writes a whole request before reading, so closing on it would kill
 * `wg` with SIGPIPE and no message. Configure more peers in several
 * requests (`wg addconf`). */
#include "apply.h"
#include "uapi.h"

#include "allowedips.h"
#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "mactable.h"
#include "netlink.h"
#include "reach.h"
#include "sandbox.h"
#include "tcp.h"
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UAPI_MAX_REQUEST       (64u << 20)
#define UAPI_MAX_DISCARD       (1u << 30) /* read past the limit to answer */
#define UAPI_MAX_REPLY	       (1u << 30) /* for `ferry show`: ~3,000,000 peers */
#define UAPI_CLIENT_TIMEOUT_MS 2000

void uapi_socket_path(char *buf, size_t size, const char *ifname)
{
	snprintf(buf, size, "%s/%s.sock", UAPI_DIR, ifname);
}

static int uapi_connect(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int uapi_listen(struct device *dev)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char path[sizeof(a.sun_path)];
	mode_t old;
	int fd;

	uapi_socket_path(path, sizeof(path), dev->name);
	if (mkdir(UAPI_DIR, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = uapi_connect(path);
	if (fd >= 0) {
		close(fd);
		return -EADDRINUSE;
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	strcpy(a.sun_path, path);
	/* Only root (the owner) may talk to the socket: it sets private keys. */
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		umask(old);
		close(fd);
		return err;
	}
	umask(old);
	dev->uapi_fd = fd;
	return fd;
}

void uapi_close(struct device *dev)
{
	char path[108];

	if (dev->uapi_fd < 0)
		return;
	uapi_socket_path(path, sizeof(path), dev->name);
	/* Fails after the sandbox switched to another user (User =, --user):
	 * UAPI_DIR is root's. Harmless: wg-quick deletes the device and
	 * wg(8), `ferry show` and uapi_listen() remove a socket nobody
	 * answers on, `ferry down` removes it itself. */
	unlink(path);
	close(dev->uapi_fd);
	dev->uapi_fd = -1;
}

/* --- output --- */

struct out {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf ? o->buf + o->len : NULL, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = true;
			return;
		}
		if (o->len + (size_t)n < o->cap) {
			o->len += (size_t)n;
			return;
		}
		size_t cap = (o->cap + (size_t)n + 1) * 2;
		/* The reply may hold the private key: no stale copies. */
		char *nb = crypt_realloc_wiped(o->buf, o->cap, cap);

		if (!nb) {
			o->failed = true;
			crypt_wipe(o->buf, o->cap);
			free(o->buf);
			o->buf = NULL;
			o->cap = o->len = 0;
			return;
		}
		o->buf = nb;
		o->cap = cap;
	}
}

static void format_endpoint(struct out *o, const struct endpoint *ep)
{
	const union conf_endpoint *e = &ep->addr;
	char a[INET6_ADDRSTRLEN];

	if (!endpoint_is_set(ep))
		return;
	if (e->sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &e->in4.sin_addr, a, sizeof(a));
		out_printf(o, "endpoint=%s:%u\n", a, ntohs(e->in4.sin_port));
	} else if (e->sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &e->in6.sin6_addr, a, sizeof(a));
		out_printf(o, "endpoint=[%s]:%u\n", a, ntohs(e->in6.sin6_port));
	}
}

static int print_allowedip(const struct ip_prefix *p, void *ctx)
{
	char buf[IP_PREFIX_STRLEN];

	out_printf(ctx, "allowed_ip=%s\n", ip_prefix_format(p, buf, sizeof(buf)));
	return 0;
}

static void do_get(struct device *dev, struct out *o)
{
	char hex[KEY_HEX_LEN];
	struct peer *p;

	if (dev->local.has_private_key) {
		key_to_hex(hex, dev->local.private_key);
		out_printf(o, "private_key=%s\n", hex);
	}
	if (dev->udp.port)
		out_printf(o, "listen_port=%u\n", dev->udp.port);
	if (dev->io.fwmark)
		out_printf(o, "fwmark=%u\n", dev->io.fwmark);
	for (p = dev->peers_head; p; p = p->list_next) {
		key_to_hex(hex, p->public_key);
		out_printf(o, "public_key=%s\n", hex);
		key_to_hex(hex, p->preshared_key);
		out_printf(o, "preshared_key=%s\n", hex);
		out_printf(o, "protocol_version=1\n");
		format_endpoint(o, &p->transport.endpoint);
		out_printf(o, "last_handshake_time_sec=%lld\n", (long long)p->last_handshake.tv_sec);
		out_printf(o, "last_handshake_time_nsec=%ld\n", p->last_handshake.tv_nsec);
		out_printf(o, "tx_bytes=%llu\n", (unsigned long long)p->transport.tx_bytes);
		out_printf(o, "rx_bytes=%llu\n", (unsigned long long)p->rx_bytes);
		out_printf(o, "persistent_keepalive_interval=%u\n", p->persistent_keepalive_s);
		allowedips_foreach(dev->aips, p, print_allowedip, o);
	}
	crypt_wipe(hex, sizeof(hex));
}

static void do_stats(struct device *dev, struct out *o)
{
	struct peer *p;
	int i;

	out_printf(o, "offloads=%s%s%s%s%s\n", dev->tun.vnet_hdr_sz ? "vnet_hdr" : "none",
		   dev->tun.offloads & TUN_F_TSO4 ? ",tso" : "", dev->tun_gro ? ",tun_gro" : "",
		   dev->udp.gso ? ",udp_gso" : "", dev->udp.gro ? ",udp_gro" : "");
	out_printf(o, "sandbox=%s\n", sandbox_status());
	out_printf(o, "rx_packets=%llu\n", (unsigned long long)dev->rx_packets);
	out_printf(o, "tx_packets=%llu\n", (unsigned long long)dev->tx_packets);
	if (dev->macs) {
		struct mactable_stats st;

		mactable_stats(dev->macs, &st);
		out_printf(o,
			   "mac_table=%llu of %llu entries; learned %llu, moved %llu, expired %llu, refused %llu "
			   "(peer at its cap), %llu (table full), %llu (static elsewhere)\n",
			   (unsigned long long)st.entries, (unsigned long long)st.capacity,
			   (unsigned long long)st.learned, (unsigned long long)st.moved, (unsigned long long)st.expired,
			   (unsigned long long)st.refused_owner_full, (unsigned long long)st.refused_table_full,
			   (unsigned long long)st.refused_static);
	}
	if (dev->io.tcp) {
		struct tcp_stats st;

		tcp_stats(&dev->io, &st);
		out_printf(o, "tcp=listening on %u, %u connections (%u with a peer)\n", st.port, st.conns, st.bound);
	}
	/* Transport = tcp or auto, Endpoint names (reach.c). */
	for (p = dev->peers_head; p; p = p->list_next) {
		char b64[KEY_B64_LEN], line[512];

		reach_describe(p, line, sizeof(line));
		if (!line[0])
			continue;
		key_to_base64(b64, p->public_key);
		out_printf(o, "peer=%s %s\n", b64, line);
	}
	for (i = 0; i < DROP_MAX; i++)
		out_printf(o, "drop_%s=%llu\n", drop_reason_name[i], (unsigned long long)dev->drops[i]);
}

/* --- I/O with deadlines --- */

static int wait_fd(int fd, short events)
{
	struct pollfd pfd = { fd, events, 0 };
	int n = poll(&pfd, 1, UAPI_CLIENT_TIMEOUT_MS);

	return n > 0 ? 0 : -ETIMEDOUT;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN && wait_fd(fd, POLLOUT) == 0)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read until the request ends with an empty line, keeping at most @max
 * bytes. Returns the request length (up to and including "\n\n"), 0 on a
 * clean EOF, or -errno (-EMSGSIZE past @max). Each byte is searched once. */
static ssize_t read_request(int fd, char **bufp, size_t *lenp, size_t *capp, size_t max)
{
	size_t from = 0;

	for (;;) {
		char *end = *lenp >= from + 2 ? memmem(*bufp + from, *lenp - from, "\n\n", 2) : NULL;
		ssize_t n;

		if (end)
			return end + 2 - *bufp;
		if (*lenp == 1 && (*bufp)[0] == '\n')
			return 1;
		from = *lenp ? *lenp - 1 : 0;
		if (*lenp + 4096 > *capp) {
			size_t cap = *capp ? *capp * 2 : 8192;
			char *nb;

			if (cap > max)
				return -EMSGSIZE;
			/* A request may set a private key: no stale copies. */
			nb = crypt_realloc_wiped(*bufp, *capp, cap);
			if (!nb)
				return -ENOMEM;
			*bufp = nb;
			*capp = cap;
		}
		n = recv(fd, *bufp + *lenp, *capp - *lenp, MSG_DONTWAIT);
		if (n == 0)
			return *lenp ? -EPROTO : 0;
		if (n < 0) {
			if (errno == EAGAIN && wait_fd(fd, POLLIN) == 0)
				continue;
			return -errno;
		}
		*lenp += (size_t)n;
	}
}

/* Read and throw away the rest of a request whose last byte so far was
 * @last, up to UAPI_MAX_DISCARD bytes. 0 once its empty line is seen. */
static int discard_request(int fd, char last)
{
	static char buf[64 * 1024];
	size_t total = 0;
	int ret;

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

		if (n == 0) {
			ret = -EPROTO;
			break;
		}
		if (n < 0) {
			if (errno == EAGAIN && wait_fd(fd, POLLIN) == 0)
				continue;
			ret = -errno;
			break;
		}
		if ((last == '\n' && buf[0] == '\n') || memmem(buf, (size_t)n, "\n\n", 2)) {
			ret = 0;
			break;
		}
		last = buf[n - 1];
		total += (size_t)n;
		if (total > UAPI_MAX_DISCARD) {
			ret = -EMSGSIZE;
			break;
		}
	}
	/* What passed through may have been keys. */
	crypt_wipe(buf, sizeof(buf));
	return ret;
}

/* A request over UAPI_MAX_REQUEST: answer it once it has all arrived. */
static void refuse_oversized(struct device *dev, int fd, const char *buf, size_t len)
{
	static const char reply[] = "errno=-90\n\n"; /* -EMSGSIZE, as Linux numbers it */

	log_err("%s: UAPI %.3s request longer than %u MiB refused (about %u peers; apply more in several, e.g. "
		"wg addconf)",
		dev->name, len >= 3 ? buf : "?", UAPI_MAX_REQUEST >> 20, UAPI_MAX_REQUEST / 160);
	if (discard_request(fd, len ? buf[len - 1] : 0) == 0)
		write_all(fd, reply, sizeof(reply) - 1);
}

void uapi_serve_client(struct device *dev, int fd)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;

	for (;;) {
		struct out o = { 0 };
		ssize_t req = read_request(fd, &buf, &len, &cap, UAPI_MAX_REQUEST);
		int err = 0;

		if (req == -EMSGSIZE)
			refuse_oversized(dev, fd, buf, len);
		if (req <= 0)
			break;
		if (!strncmp(buf, "get=1\n", 6)) {
			do_get(dev, &o);
		} else if (!strncmp(buf, "set=1\n", 6)) {
			struct conf_device c;

			err = uapi_parse_set(buf + 6, (size_t)req - 6, &c);
			if (!err) {
				err = device_apply(dev, &c);
				conf_device_free(&c);
			}
		} else if (!strncmp(buf, "ferry_stats=1\n", 14)) {
			do_stats(dev, &o);
		} else {
			err = -EINVAL;
		}
		out_printf(&o, "errno=%d\n\n", err);
		if (o.failed || write_all(fd, o.buf, o.len) < 0) {
			crypt_wipe(o.buf, o.cap);
			free(o.buf);
			break;
		}
		crypt_wipe(o.buf, o.cap);
		free(o.buf);
		/* Keep what followed this request for the next one. */
		memmove(buf, buf + req, len - (size_t)req);
		len -= (size_t)req;
	}
	if (buf) {
		crypt_wipe(buf, cap);
		free(buf);
	}
	close(fd);
}

int uapi_request(const char *ifname, const char *request, char **reply)
{
	char path[108], *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd, ret;

	uapi_socket_path(path, sizeof(path), ifname);
	fd = uapi_connect(path);
	if (fd < 0)
		return fd;
	ret = write_all(fd, request, strlen(request));
	if (!ret) {
		n = read_request(fd, &buf, &len, &cap, UAPI_MAX_REPLY);
		ret = n < 0 ? (int)n : 0;
	}
	close(fd);
	if (ret < 0 || !buf) {
		free(buf);
		return ret < 0 ? ret : -EPROTO;
	}
	buf[len < cap ? len : cap - 1] = '\0';
	*reply = buf;
	return 0;
}
