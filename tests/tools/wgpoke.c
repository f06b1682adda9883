/* wgpoke - hostile input for a WireGuard endpoint, for the bad-input tests.
 *
 *   wgpoke junk ADDR PORT            malformed messages of every kind
 *   wgpoke capture IFACE PORT TYPE FILE [SECONDS]
 *                                    save the UDP payload of the first packet
 *                                    to PORT whose message type is TYPE
 *   wgpoke send ADDR PORT FILE [flip] send a saved payload again (flip: with
 *                                    one ciphertext byte changed)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
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

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "junk"))
		return junk(argv[2], argv[3]);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "capture"))
		return capture(argv[2], argv[3], argv[4], argv[5], argc == 7 ? atoi(argv[6]) : 10);
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "send"))
		return resend(argv[2], argv[3], argv[4], argc == 6 && !strcmp(argv[5], "flip"));
	fprintf(stderr, "usage: wgpoke junk ADDR PORT | capture IFACE PORT TYPE FILE [SECONDS] | "
			"send ADDR PORT FILE [flip]\n");
	return 2;
}
