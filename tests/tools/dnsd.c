/* dnsd - a DNS server for tests, and nothing more: it answers A and AAAA
 * questions from a zone file read again for every question, over UDP and
 * TCP, on one address inside a test's namespace.
 *
 *   dnsd ADDRESS ZONEFILE [--truncate] [--seconds N]
 *
 * ZONEFILE has lines "NAME A 192.0.2.1" or "NAME AAAA 2001:db8::1"; names
 * are compared without case and without a trailing dot. A name not in the
 * file gets NXDOMAIN; a name in it without a record of the asked type, an
 * empty answer. --truncate answers every UDP question with the TC bit set
 * and no records, so that the resolver asks again over TCP. Port 53; the
 * process ends after N seconds (default 300) whatever happens. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TYPE_A	  1
#define TYPE_AAAA 28
#define CLASS_IN  1
#define MAX_MSG	  512

static const char *zone_path;
static bool truncate_udp;
static unsigned long questions, udp_answers, tcp_answers;

/* The question's name as "a.b.c", lower case; its end in *end. */
static int read_name(const uint8_t *msg, size_t len, size_t off, char *out, size_t size, size_t *end)
{
	size_t n = 0;

	while (off < len) {
		uint8_t label = msg[off++];

		if (label == 0) {
			out[n] = '\0';
			*end = off;
			return 0;
		}
		/* No compression in a question we ask ourselves about. */
		if (label > 63 || off + label > len || n + label + 2 > size)
			return -1;
		if (n)
			out[n++] = '.';
		for (size_t i = 0; i < label; i++)
			out[n++] = (char)tolower(msg[off + i]);
		off += label;
	}
	return -1;
}

/* Find NAME in the zone file: 0 not there, 1 there; *have an address of
 * TYPE (4 or 16 bytes into addr). */
static int look_up(const char *name, unsigned int type, uint8_t addr[16], bool *have)
{
	char line[512], n[256], t[16], a[64];
	FILE *f = fopen(zone_path, "r");
	int found = 0;

	*have = false;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		size_t l;

		if (sscanf(line, "%255s %15s %63s", n, t, a) != 3)
			continue;
		l = strlen(n);
		if (l && n[l - 1] == '.')
			n[--l] = '\0';
		for (size_t i = 0; i < l; i++)
			n[i] = (char)tolower((unsigned char)n[i]);
		if (strcmp(n, name))
			continue;
		found = 1;
		if (!*have && type == TYPE_A && !strcmp(t, "A") && inet_pton(AF_INET, a, addr) == 1)
			*have = true;
		if (!*have && type == TYPE_AAAA && !strcmp(t, "AAAA") && inet_pton(AF_INET6, a, addr) == 1)
			*have = true;
	}
	fclose(f);
	return found;
}

/* The answer to the question in msg[0..len) into out; its length, or 0 to
 * say nothing (not a question we understand). */
static size_t answer(const uint8_t *msg, size_t len, uint8_t *out, bool udp)
{
	char name[256];
	size_t end, n;
	unsigned int type, class;
	uint8_t addr[16];
	bool have = false;
	int found;

	if (len < 12 || (msg[2] & 0x80) || msg[4] != 0 || msg[5] != 1)
		return 0;
	if (read_name(msg, len, 12, name, sizeof(name), &end) < 0 || end + 4 > len)
		return 0;
	type = (unsigned int)msg[end] << 8 | msg[end + 1];
	class = (unsigned int)msg[end + 2] << 8 | msg[end + 3];
	end += 4;
	questions++;
	memcpy(out, msg, end);		 /* the header and the question */
	out[2] = 0x84 | (msg[2] & 0x01); /* a response, authoritative, RD echoed */
	out[3] = 0;
	memset(out + 6, 0, 6); /* no records yet */
	if (udp && truncate_udp) {
		out[2] |= 0x02;
		return end;
	}
	found = class == CLASS_IN ? look_up(name, type, addr, &have) : 0;
	if (!found) {
		out[3] = 3; /* NXDOMAIN */
		return end;
	}
	if (!have)
		return end;
	n = end;
	out[n++] = 0xc0; /* the name: a pointer to the question's */
	out[n++] = 12;
	out[n++] = 0;
	out[n++] = (uint8_t)type;
	out[n++] = 0;
	out[n++] = CLASS_IN;
	out[n++] = 0; /* TTL 1 s */
	out[n++] = 0;
	out[n++] = 0;
	out[n++] = 1;
	out[n++] = 0;
	out[n++] = type == TYPE_A ? 4 : 16;
	memcpy(out + n, addr, type == TYPE_A ? 4 : 16);
	n += type == TYPE_A ? 4 : 16;
	out[7] = 1; /* one answer */
	return n;
}

static int read_full(int fd, uint8_t *buf, size_t len)
{
	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 2000) <= 0)
			return -1;
		n = read(fd, buf, len);
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void serve_tcp(int lfd)
{
	uint8_t in[MAX_MSG], out[2 + MAX_MSG];
	int fd = accept(lfd, NULL, NULL);
	size_t len, n;

	if (fd < 0)
		return;
	/* glibc asks A and AAAA on one connection: answer until it is done
	 * (at most 8 questions). */
	for (int q = 0; q < 8 && read_full(fd, in, 2) == 0; q++) {
		len = (size_t)in[0] << 8 | in[1];
		if (len > sizeof(in) || read_full(fd, in, len) < 0 || !(n = answer(in, len, out + 2, false)))
			break;
		out[0] = (uint8_t)(n >> 8);
		out[1] = (uint8_t)n;
		if (write(fd, out, n + 2) != (ssize_t)(n + 2))
			break;
		tcp_answers++;
	}
	close(fd);
}

static void serve_udp(int fd)
{
	uint8_t in[MAX_MSG], out[MAX_MSG + 32];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	ssize_t len = recvfrom(fd, in, sizeof(in), 0, (struct sockaddr *)&from, &flen);
	size_t n;

	if (len <= 0)
		return;
	n = answer(in, (size_t)len, out, true);
	if (n && sendto(fd, out, n, 0, (struct sockaddr *)&from, flen) == (ssize_t)n)
		udp_answers++;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t slen;
	long seconds = 300;
	int u, t, one = 1, i;
	time_t until;

	if (argc < 3) {
		fprintf(stderr, "usage: dnsd ADDRESS ZONEFILE [--truncate] [--seconds N]\n");
		return 2;
	}
	zone_path = argv[2];
	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--truncate"))
			truncate_udp = true;
		else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = strtol(argv[++i], NULL, 10);
		else
			return fprintf(stderr, "dnsd: unknown argument '%s'\n", argv[i]), 2;
	}
	if (inet_pton(AF_INET, argv[1], &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(53);
		slen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, argv[1], &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(53);
		slen = sizeof(*in6);
	} else {
		fprintf(stderr, "dnsd: '%s' is not an address\n", argv[1]);
		return 2;
	}
	u = socket(ss.ss_family, SOCK_DGRAM, 0);
	t = socket(ss.ss_family, SOCK_STREAM, 0);
	if (u < 0 || t < 0 || setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(u, (struct sockaddr *)&ss, slen) < 0 || bind(t, (struct sockaddr *)&ss, slen) < 0 ||
	    listen(t, 16) < 0) {
		fprintf(stderr, "dnsd: %s\n", strerror(errno));
		return 1;
	}
	/* Ready: the test waits for this line. */
	printf("dnsd: listening on %s port 53\n", argv[1]);
	fflush(stdout);
	until = time(NULL) + seconds;
	while (time(NULL) < until) {
		struct pollfd p[2] = { { .fd = u, .events = POLLIN }, { .fd = t, .events = POLLIN } };

		if (poll(p, 2, 1000) < 0 && errno != EINTR)
			break;
		if (p[0].revents & POLLIN)
			serve_udp(u);
		if (p[1].revents & POLLIN)
			serve_tcp(t);
		if (!(p[0].revents | p[1].revents))
			continue;
		printf("dnsd: %lu questions, %lu answered over UDP, %lu over TCP\n", questions, udp_answers,
		       tcp_answers);
		fflush(stdout);
	}
	return 0;
}
