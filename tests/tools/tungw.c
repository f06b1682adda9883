/* tungw - the gateway from the kernel to userspace, shown and tested.
 *
 * tungw tun: opens a TUN device, gives it 10.200.0.1/24 (and fd00:200::1/64),
 * then plays a host 10.200.0.2 "behind" the device: it writes an ICMP echo
 * request into the device and reads the kernel's echo reply back out of it.
 * tungw tap: the same at layer 2 on a TAP device with 10.200.1.1/24: an ARP
 * request first, then an ICMP echo inside an Ethernet frame.
 * tungw hold: opens a device with N queues, detaches and re-attaches one
 * (on SIGUSR1), so a test can watch the kernel's view of the queues.
 *
 * Every reply is checked field by field (addresses, identifiers, payload,
 * IP and ICMP checksums); the exit status is 0 only if all checks pass. */
#include "addr.h"
#include "checksum.h"
#include "netlink.h"
#include "tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAYLOAD_LEN 56
#define ECHO_ID	    0x4652 /* "FR" */
#define TRIES	    6	   /* requests sent before giving up */
#define RETRY_MS    500	   /* wait for a reply before sending again */

struct opts {
	const char *dev;
	enum tun_mode mode;
	bool pi, vnet_hdr, ipv6, no_config, attach, offload;
	unsigned int queues, detach;
	int seconds;
	const char *ready;
};

static struct tun_device tun;
static struct opts o;
static int failures;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	printf("[%s] ", tun_mode_name(o.mode));
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void check(bool ok, const char *what)
{
	if (!ok) {
		say("   FAIL: %s", what);
		failures++;
	}
}

/* --- device I/O with the optional packet information and vnet headers --- */

static size_t prefix_len(void)
{
	return (o.pi ? 4 : 0) + (size_t)tun.vnet_hdr_sz;
}

static void write_packet(const uint8_t *pkt, size_t len, uint16_t proto)
{
	uint8_t buf[2048];
	size_t off = 0;

	if (o.pi) {
		struct tun_pi pi = { 0, htons(proto) };

		memcpy(buf, &pi, sizeof(pi));
		off += sizeof(pi);
	}
	if (tun.vnet_hdr_sz) {
		memset(buf + off, 0, (size_t)tun.vnet_hdr_sz); /* no offload: a plain packet */
		off += (size_t)tun.vnet_hdr_sz;
	}
	memcpy(buf + off, pkt, len);
	if (write(tun.fd[0], buf, off + len) != (ssize_t)(off + len)) {
		say("write: %s", strerror(errno));
		exit(1);
	}
}

/* Complete a checksum the kernel left for offload
 * (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
static void finish_csum(uint8_t *pkt, size_t len, const struct virtio_net_hdr *h)
{
	size_t start = h->csum_start, at = (size_t)h->csum_start + h->csum_offset;
	uint16_t c;

	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || at + 2 > len || start > len)
		return;
	/* The field holds the pseudo-header sum; fold in the rest. */
	c = checksum_fold(checksum_partial(pkt + start, len - start, 0));
	memcpy(pkt + at, &c, 2);
}

/* Read one packet within @ms milliseconds; returns its length or -1. */
static ssize_t read_packet(uint8_t *pkt, size_t size, int ms)
{
	struct pollfd pfd = { tun.fd[0], POLLIN, 0 };
	uint8_t buf[70000];
	ssize_t n;
	size_t pre = prefix_len();

	if (poll(&pfd, 1, ms) <= 0)
		return -1;
	n = read(tun.fd[0], buf, sizeof(buf));
	if (n < (ssize_t)pre)
		return -1;
	if ((size_t)n - pre > size)
		return -1;
	memcpy(pkt, buf + pre, (size_t)n - pre);
	if (tun.vnet_hdr_sz) {
		struct virtio_net_hdr h;

		memcpy(&h, buf + (o.pi ? 4 : 0), sizeof(h));
		finish_csum(pkt, (size_t)n - pre, &h);
	}
	return n - (ssize_t)pre;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* --- ICMP echo over IPv4 and IPv6 --- */

static size_t build_echo4(uint8_t *p, const struct in_addr *src, const struct in_addr *dst, uint16_t seq)
{
	size_t icmp_len = 8 + PAYLOAD_LEN, len = 20 + icmp_len;
	uint16_t c;
	size_t i;

	memset(p, 0, len);
	p[0] = 0x45;
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[6] = 0x40; /* don't fragment */
	p[8] = 64;
	p[9] = IPPROTO_ICMP;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	c = checksum_fold(checksum_partial(p, 20, 0));
	memcpy(p + 10, &c, 2);
	p[20] = 8; /* echo request */
	p[24] = ECHO_ID >> 8;
	p[25] = ECHO_ID & 0xff;
	p[26] = (uint8_t)(seq >> 8);
	p[27] = (uint8_t)seq;
	for (i = 0; i < PAYLOAD_LEN; i++)
		p[28 + i] = (uint8_t)(i * 7 + 1);
	c = checksum_fold(checksum_partial(p + 20, icmp_len, 0));
	memcpy(p + 22, &c, 2);
	return len;
}

static size_t build_echo6(uint8_t *p, const struct in6_addr *src, const struct in6_addr *dst, uint16_t seq)
{
	size_t icmp_len = 8 + PAYLOAD_LEN, len = 40 + icmp_len;
	uint16_t c;
	size_t i;

	memset(p, 0, len);
	p[0] = 0x60;
	p[4] = (uint8_t)(icmp_len >> 8);
	p[5] = (uint8_t)icmp_len;
	p[6] = IPPROTO_ICMPV6;
	p[7] = 64;
	memcpy(p + 8, src, 16);
	memcpy(p + 24, dst, 16);
	p[40] = 128; /* echo request */
	p[44] = ECHO_ID >> 8;
	p[45] = ECHO_ID & 0xff;
	p[46] = (uint8_t)(seq >> 8);
	p[47] = (uint8_t)seq;
	for (i = 0; i < PAYLOAD_LEN; i++)
		p[48 + i] = (uint8_t)(i * 7 + 1);
	c = checksum_fold(
	    checksum_partial(p + 40, icmp_len, checksum_pseudo_v6(src, dst, IPPROTO_ICMPV6, (uint32_t)icmp_len)));
	memcpy(p + 42, &c, 2);
	return len;
}

/* Is this the echo reply to @req? Checks every field; returns false for
 * packets that are not replies at all (the caller keeps reading). */
static bool check_reply4(const uint8_t *p, size_t len, const uint8_t *req, uint16_t seq)
{
	size_t ihl;

	if (len < 28 || (p[0] >> 4) != 4 || p[9] != IPPROTO_ICMP || p[20] != 0)
		return false;
	ihl = (size_t)(p[0] & 0xf) * 4;
	say("<- read  %zu bytes: ICMP echo reply %u.%u.%u.%u > %u.%u.%u.%u id "
	    "0x%02x%02x seq %u",
	    len, p[12], p[13], p[14], p[15], p[16], p[17], p[18], p[19], p[24], p[25], (unsigned)(p[26] << 8 | p[27]));
	check(ihl >= 20 && ihl <= len, "IPv4 header length");
	check(((size_t)p[2] << 8 | p[3]) == len, "IPv4 total length matches what was read");
	check(checksum_fold(checksum_partial(p, ihl, 0)) == 0, "IPv4 header checksum");
	check(!memcmp(p + 12, req + 16, 4) && !memcmp(p + 16, req + 12, 4), "addresses swapped");
	check(p[ihl + 1] == 0, "ICMP code 0");
	check(!memcmp(p + ihl + 4, req + 24, 4), "echo id and sequence");
	check(len - ihl == 8 + PAYLOAD_LEN && !memcmp(p + ihl + 8, req + 28, PAYLOAD_LEN), "payload echoed");
	check(checksum_fold(checksum_partial(p + ihl, len - ihl, 0)) == 0, "ICMP checksum");
	(void)seq;
	return true;
}

static bool check_reply6(const uint8_t *p, size_t len, const uint8_t *req)
{
	char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	size_t plen;

	if (len < 48 || (p[0] >> 4) != 6 || p[6] != IPPROTO_ICMPV6 || p[40] != 129)
		return false;
	inet_ntop(AF_INET6, p + 8, s, sizeof(s));
	inet_ntop(AF_INET6, p + 24, d, sizeof(d));
	say("<- read  %zu bytes: ICMPv6 echo reply %s > %s id 0x%02x%02x seq %u", len, s, d, p[44], p[45],
	    (unsigned)(p[46] << 8 | p[47]));
	plen = (size_t)p[4] << 8 | p[5];
	check(plen + 40 == len, "IPv6 payload length matches what was read");
	check(!memcmp(p + 8, req + 24, 16) && !memcmp(p + 24, req + 8, 16), "addresses swapped");
	check(!memcmp(p + 44, req + 44, 4), "echo id and sequence");
	check(len == 48 + PAYLOAD_LEN && !memcmp(p + 48, req + 48, PAYLOAD_LEN), "payload echoed");
	check(checksum_fold(checksum_partial(
		  p + 40, len - 40, checksum_pseudo_v6(p + 8, p + 24, IPPROTO_ICMPV6, (uint32_t)(len - 40)))) == 0,
	      "ICMPv6 checksum");
	return true;
}

static void configure(const char *v4, const char *v6)
{
	struct ip_prefix p;
	int ret;

	if (o.no_config)
		return;
	ip_prefix_parse(v4, &p, NULL);
	ret = netlink_addr_add(tun.name, &p, true);
	if (!ret && v6) {
		ip_prefix_parse(v6, &p, NULL);
		ret = netlink_addr_add(tun.name, &p, true);
	}
	if (!ret)
		ret = netlink_link_set_up(tun.name, true);
	if (ret) {
		say("configuring %s over netlink: %s", tun.name, strerror(-ret));
		exit(1);
	}
	say("%s is up with %s%s%s (configured over netlink)", tun.name, v4, v6 ? " and " : "", v6 ? v6 : "");
}

static int run_tun(void)
{
	struct in_addr me4, peer4;
	struct in6_addr me6, peer6;
	uint8_t req[256], pkt[70000];
	long long deadline;
	size_t len;
	bool got = false;
	uint16_t seq;

	inet_pton(AF_INET, "10.200.0.1", &me4);
	inet_pton(AF_INET, "10.200.0.2", &peer4);
	inet_pton(AF_INET6, "fd00:200::1", &me6);
	inet_pton(AF_INET6, "fd00:200::2", &peer6);
	configure("10.200.0.1/24", o.ipv6 ? "fd00:200::1/64" : NULL);

	/* Like ping, send again when no reply comes: the first packet can race
	 * the kernel's set-up of a link that has just come up. */
	for (seq = 1; !got && seq <= TRIES; seq++) {
		if (o.ipv6) {
			len = build_echo6(req, &peer6, &me6, seq);
			say("-> write %zu bytes: ICMPv6 echo request fd00:200::2 > fd00:200::1 "
			    "id 0x%04x seq %u",
			    len, ECHO_ID, seq);
			write_packet(req, len, ETH_P_IPV6);
		} else {
			len = build_echo4(req, &peer4, &me4, seq);
			say("-> write %zu bytes: ICMP echo request 10.200.0.2 > 10.200.0.1 id "
			    "0x%04x seq %u",
			    len, ECHO_ID, seq);
			write_packet(req, len, ETH_P_IP);
		}
		deadline = now_ms() + RETRY_MS;
		while (!got && now_ms() < deadline) {
			ssize_t n = read_packet(pkt, sizeof(pkt), (int)(deadline - now_ms()));

			if (n < 0)
				continue;
			got = o.ipv6 ? check_reply6(pkt, (size_t)n, req) : check_reply4(pkt, (size_t)n, req, seq);
		}
	}
	check(got, "an echo reply arrived");
	return failures;
}

/* --- TAP: ARP, then ICMP inside Ethernet --- */

static const uint8_t host_mac[6] = { 0x02, 0xfe, 0x00, 0x00, 0x00, 0x02 };

static void mac_str(const uint8_t *m, char *s)
{
	sprintf(s, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static size_t build_arp(uint8_t *f, uint16_t op, const uint8_t *dst_mac, const uint8_t *tha, const struct in_addr *spa,
			const struct in_addr *tpa)
{
	memset(f, 0, 42);
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, host_mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	f[15] = 1;    /* Ethernet */
	f[16] = 0x08; /* IPv4 */
	f[18] = 6;
	f[19] = 4;
	f[21] = (uint8_t)op;
	memcpy(f + 22, host_mac, 6);
	memcpy(f + 28, spa, 4);
	memcpy(f + 32, tha, 6);
	memcpy(f + 38, tpa, 4);
	return 42;
}

static int run_tap(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, zero[6] = { 0 };
	struct in_addr me, host;
	uint8_t frame[256], f[70000], kmac[6];
	char a[18], b[18];
	long long deadline;
	bool have_mac = false, got = false;
	unsigned int tries;
	uint16_t seq;
	size_t len;

	inet_pton(AF_INET, "10.200.1.1", &me);
	inet_pton(AF_INET, "10.200.1.2", &host);
	configure("10.200.1.1/24", NULL);

	len = build_arp(frame, 1, bcast, zero, &host, &me);
	mac_str(host_mac, a);
	for (tries = 0; !have_mac && tries < TRIES; tries++) {
		say("-> write %zu bytes: ARP who-has 10.200.1.1 tell 10.200.1.2 (%s), to "
		    "ff:ff:ff:ff:ff:ff",
		    len, a);
		write_packet(frame, len, ETH_P_ARP);
		deadline = now_ms() + RETRY_MS;
		while (!have_mac && now_ms() < deadline) {
			ssize_t n = read_packet(f, sizeof(f), (int)(deadline - now_ms()));

			if (n < 42 || f[12] != 0x08 || f[13] != 0x06 || f[21] != 2)
				continue;
			memcpy(kmac, f + 22, 6);
			mac_str(kmac, b);
			say("<- read  %zd bytes: ARP reply 10.200.1.1 is-at %s", n, b);
			check(!memcmp(f, host_mac, 6), "ARP reply sent to our MAC");
			check(!memcmp(f + 6, kmac, 6), "Ethernet source is the announced MAC");
			check(!memcmp(f + 28, &me, 4) && !memcmp(f + 38, &host, 4), "ARP addresses");
			check(!memcmp(f + 32, host_mac, 6), "ARP target hardware address");
			have_mac = true;
		}
	}
	check(have_mac, "an ARP reply arrived");
	if (!have_mac)
		return failures;

	memcpy(frame, kmac, 6);
	memcpy(frame + 6, host_mac, 6);
	frame[12] = 0x08;
	frame[13] = 0x00;
	for (seq = 1; !got && seq <= TRIES; seq++) {
		len = 14 + build_echo4(frame + 14, &host, &me, seq);
		say("-> write %zu bytes: %s > %s ICMP echo request 10.200.1.2 > 10.200.1.1 "
		    "seq %u",
		    len, a, b, seq);
		write_packet(frame, len, ETH_P_IP);
		deadline = now_ms() + RETRY_MS;
		while (!got && now_ms() < deadline) {
			ssize_t n = read_packet(f, sizeof(f), (int)(deadline - now_ms()));

			if (n < 14)
				continue;
			if (n >= 42 && f[12] == 0x08 && f[13] == 0x06 && f[21] == 1 && !memcmp(f + 38, &host, 4)) {
				/* The kernel asks for us: answer, as a host would. */
				uint8_t reply[64];

				say("<- read  ARP who-has 10.200.1.2; answering");
				write_packet(reply, build_arp(reply, 2, f + 6, f + 22, &host, &me), ETH_P_ARP);
				continue;
			}
			if (f[12] != 0x08 || f[13] != 0x00)
				continue;
			if (!check_reply4(f + 14, (size_t)n - 14, frame + 14, seq))
				continue;
			check(!memcmp(f, host_mac, 6) && !memcmp(f + 6, kmac, 6), "Ethernet addresses of the reply");
			got = true;
		}
	}
	check(got, "an echo reply arrived");
	return failures;
}

/* --- hold: queues for the kernel's view --- */

static void touch(const char *path, const char *text)
{
	char tmp[512];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) || rename(tmp, path)) {
		perror(path);
		exit(1);
	}
}

static int run_hold(void)
{
	struct timespec ts = { o.seconds, 0 };
	char ready[512];
	sigset_t set;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (o.offload) {
		int got = tun_set_offload(&tun, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6);

		if (got < 0)
			return 1;
		printf("offloads 0x%x\n", got);
	}
	if (o.detach < tun.queues && tun_queue_detach(&tun, o.detach) < 0)
		return 1;
	printf("%s: %u queues open%s\n", tun.name, tun.queues, o.detach < tun.queues ? ", one detached" : "");
	fflush(stdout);
	if (o.ready)
		touch(o.ready, "held\n");
	sig = sigtimedwait(&set, NULL, &ts);
	if (sig == SIGUSR1 && o.detach < tun.queues) {
		if (tun_queue_attach(&tun, o.detach) < 0)
			return 1;
		printf("%s: queue %u attached again\n", tun.name, o.detach);
		fflush(stdout);
		if (o.ready) {
			snprintf(ready, sizeof(ready), "%s.attached", o.ready);
			touch(ready, "attached\n");
		}
		sigtimedwait(&set, NULL, &ts);
	}
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tungw tun|tap [--dev NAME] [--pi] [--vnet-hdr] "
			"[--ipv6] [--attach] [--no-config]\n"
			"       tungw hold --dev NAME --mode tun|tap [--multi-queue "
			"--queues N --detach Q]\n"
			"                  [--vnet-hdr --offload] [--seconds S] "
			"[--ready FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct tun_config cfg;
	const char *what;
	int i, ret;

	if (argc < 2)
		usage();
	what = argv[1];
	memset(&cfg, 0, sizeof(cfg));
	o.dev = "gw0";
	o.detach = ~0u;
	o.seconds = 10;
	o.mode = !strcmp(what, "tap") ? TUN_MODE_TAP : TUN_MODE_TUN;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--dev") && v)
			o.dev = argv[++i];
		else if (!strcmp(a, "--mode") && v)
			o.mode = !strcmp(argv[++i], "tap") ? TUN_MODE_TAP : TUN_MODE_TUN;
		else if (!strcmp(a, "--pi"))
			o.pi = true;
		else if (!strcmp(a, "--vnet-hdr"))
			o.vnet_hdr = true;
		else if (!strcmp(a, "--ipv6"))
			o.ipv6 = true;
		else if (!strcmp(a, "--attach"))
			o.attach = true;
		else if (!strcmp(a, "--no-config"))
			o.no_config = true;
		else if (!strcmp(a, "--offload"))
			o.offload = true;
		else if (!strcmp(a, "--multi-queue"))
			cfg.multi_queue = true;
		else if (!strcmp(a, "--queues") && v)
			o.queues = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(a, "--detach") && v)
			o.detach = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(a, "--seconds") && v)
			o.seconds = atoi(argv[++i]);
		else if (!strcmp(a, "--ready") && v)
			o.ready = argv[++i];
		else
			usage();
	}
	snprintf(cfg.name, sizeof(cfg.name), "%s", o.dev);
	cfg.mode = o.mode;
	cfg.pi = o.pi;
	cfg.vnet_hdr = o.vnet_hdr;
	cfg.queues = o.queues;
	cfg.attach_only = o.attach;
	if (!strcmp(what, "hold")) {
		sigset_t set;

		/* Block before anything can signal us; sigtimedwait collects them. */
		sigemptyset(&set);
		sigaddset(&set, SIGUSR1);
		sigaddset(&set, SIGTERM);
		sigaddset(&set, SIGINT);
		sigprocmask(SIG_BLOCK, &set, NULL);
	} else if (strcmp(what, "tun") && strcmp(what, "tap")) {
		usage();
	}
	if (tun_open(&tun, &cfg) < 0)
		return 1;
	if (!strcmp(what, "hold")) {
		ret = run_hold();
	} else {
		say("%s %s (%s, packet information %s, vnet_hdr %s)", tun.created ? "created" : "attached to", tun.name,
		    tun_mode_name(o.mode), o.pi ? "on" : "off", o.vnet_hdr ? "on" : "off");
		ret = o.mode == TUN_MODE_TAP ? run_tap() : run_tun();
		say("%s", ret ? "FAILED"
			      : "reply checked: addresses, id, sequence, payload and "
				"checksums all correct");
	}
	tun_close(&tun);
	return ret ? 1 : 0;
}
