/* ethframe - send and catch raw Ethernet frames, for the TAP-mode tests
 * (this kernel has no 802.1Q module, so VLAN-tagged frames are made here).
 *
 *   ethframe send IFACE DST SRC VID ETHERTYPE LEN
 *        one frame: DST, SRC, an 802.1Q tag with VID (0: untagged),
 *        ETHERTYPE (hex), then LEN payload bytes: a marker and a pattern
 *   ethframe flood IFACE DST SRC COUNT
 *        COUNT untagged frames, each from another source MAC (SRC with
 *        its last three bytes counting up): a station claiming many MACs
 *   ethframe recv IFACE VID ETHERTYPE LEN [SECONDS]
 *        wait (default 5 s) for such a frame, tag and payload unchanged;
 *        exit 0 when one arrives, 1 otherwise
 */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MARKER "ferry-ethframe"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	int i;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	return 0;
}

/* Header (14 or 18 bytes) and payload of the frame both commands mean. */
static size_t build(uint8_t *f, const uint8_t dst[6], const uint8_t src[6], unsigned int vid, unsigned int type,
		    size_t len)
{
	size_t h = 12, i;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (vid) {
		f[h++] = 0x81;
		f[h++] = 0x00;
		f[h++] = (uint8_t)(vid >> 8 & 0x0f);
		f[h++] = (uint8_t)vid;
	}
	f[h++] = (uint8_t)(type >> 8);
	f[h++] = (uint8_t)type;
	for (i = 0; i < len; i++)
		f[h + i] = (uint8_t)(i * 7 + 3);
	memcpy(f + h, MARKER, len < sizeof(MARKER) ? len : sizeof(MARKER));
	return h + len;
}

static int open_on(const char *ifname, struct sockaddr_ll *ll)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	memset(ll, 0, sizeof(*ll));
	ll->sll_family = AF_PACKET;
	ll->sll_protocol = htons(ETH_P_ALL);
	ll->sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !ll->sll_ifindex || bind(fd, (struct sockaddr *)ll, sizeof(*ll)) < 0) {
		perror(ifname);
		return -1;
	}
	return fd;
}

/* A frame as it was on the wire: a VLAN tag the device took out of the
 * data (VLAN receive offload) is put back from the packet's aux data. */
static ssize_t recv_frame(int fd, uint8_t *buf, size_t size)
{
	union {
		struct cmsghdr align;
		char b[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	} ctl;
	struct iovec iov = { buf, size - 4 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *c;
	ssize_t r = recvmsg(fd, &mh, 0);

	if (r < 12)
		return r;
	for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		struct tpacket_auxdata aux;

		if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA)
			continue;
		memcpy(&aux, CMSG_DATA(c), sizeof(aux));
		if (!(aux.tp_status & TP_STATUS_VLAN_VALID))
			continue;
		memmove(buf + 16, buf + 12, (size_t)r - 12);
		buf[12] = 0x81;
		buf[13] = 0x00;
		buf[14] = (uint8_t)(aux.tp_vlan_tci >> 8);
		buf[15] = (uint8_t)aux.tp_vlan_tci;
		r += 4;
	}
	return r;
}

int main(int argc, char **argv)
{
	static uint8_t want[9216], got[9216 + 64];
	uint8_t zero[6] = { 0 };
	struct sockaddr_ll ll;
	size_t n;
	int fd;

	if (argc == 8 && !strcmp(argv[1], "send")) {
		uint8_t dst[6], src[6];
		size_t len = strtoul(argv[7], NULL, 10);

		if (parse_mac(argv[3], dst) < 0 || parse_mac(argv[4], src) < 0 || len > 9000)
			return 2;
		fd = open_on(argv[2], &ll);
		n = build(want, dst, src, (unsigned int)strtoul(argv[5], NULL, 10),
			  (unsigned int)strtoul(argv[6], NULL, 16), len);
		if (fd < 0 || send(fd, want, n, 0) != (ssize_t)n) {
			perror("send");
			return 1;
		}
		return 0;
	}
	if (argc == 6 && !strcmp(argv[1], "flood")) {
		uint8_t dst[6], src[6];
		unsigned long i, count = strtoul(argv[5], NULL, 10);

		if (parse_mac(argv[3], dst) < 0 || parse_mac(argv[4], src) < 0 || count > 1000000)
			return 2;
		fd = open_on(argv[2], &ll);
		if (fd < 0)
			return 1;
		for (i = 0; i < count; i++) {
			src[3] = (uint8_t)(i >> 16);
			src[4] = (uint8_t)(i >> 8);
			src[5] = (uint8_t)i;
			n = build(want, dst, src, 0, 0x88b5, 46);
			if (send(fd, want, n, 0) != (ssize_t)n) {
				perror("send");
				return 1;
			}
			if (i % 256 == 255)
				usleep(2000); /* leave the queues room */
		}
		return 0;
	}
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "recv")) {
		size_t len = strtoul(argv[5], NULL, 10);
		unsigned int vid = (unsigned int)strtoul(argv[3], NULL, 10);
		time_t end = time(NULL) + (argc == 7 ? atoi(argv[6]) : 5);
		struct pollfd pfd;

		if (len > 9000)
			return 2;
		fd = open_on(argv[2], &ll);
		if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &(int){ 1 }, sizeof(int)) < 0)
			return 2;
		n = build(want, zero, zero, vid, (unsigned int)strtoul(argv[4], NULL, 16), len);
		pfd.fd = fd;
		pfd.events = POLLIN;
		while (time(NULL) < end) {
			ssize_t r;

			if (poll(&pfd, 1, 200) <= 0)
				continue;
			r = recv_frame(fd, got, sizeof(got));
			if (r == (ssize_t)n && !memcmp(got + 12, want + 12, n - 12)) {
				printf("got %zd bytes\n", r);
				return 0;
			}
		}
		fprintf(stderr, "no matching frame on %s\n", argv[2]);
		return 1;
	}
	fprintf(stderr,
		"usage: ethframe send IFACE DST SRC VID ETHERTYPE LEN | recv IFACE VID ETHERTYPE LEN [SECONDS]\n");
	return 2;
}
