/* compress - LZ4 packet compression through compress_packet and
 * decompress_packet, as the data path would call them, on one core: MB/s of
 * packet bytes each way and the compression ratio, for packets of one size
 * (default 1400 bytes: an IPv4/TCP header and the payload) whose payload is
 *
 *   random  bytes that do not compress: TLS, SSH, media, anything encrypted
 *   html    generated HTML markup: tags, classes, links, English words
 *   log     generated syslog lines: timestamps, hosts, levels, addresses
 *   zeros   all zero: the best case (sparse files, fresh disk images)
 *
 * Each packet is compressed on its own, as on the wire: no history is shared
 * between packets, so ratios are well below those of whole files. A packet
 * that does not shrink is counted at its full size (it goes out
 * uncompressed) and costs only the attempt.
 *
 *   build/bench/compress [PACKET_BYTES [ROUNDS]]
 */
#include "compress.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_PACKETS 512
#define HDR_LEN	  40

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static const char *const words[] = {
	"the",	    "network", "packet",   "server",   "client",  "request",  "response", "page",      "account",
	"price",    "product", "search",   "result",   "user",	  "login",    "session",  "cart",      "order",
	"shipping", "review",  "rating",   "category", "home",	  "about",    "contact",  "privacy",   "help",
	"news",	    "article", "comment",  "share",    "video",	  "image",    "download", "update",    "release",
	"version",  "tunnel",  "peer",	   "address",  "route",	  "gateway",  "config",	  "error",     "warning",
	"timeout",  "closed",  "started",  "stopped",  "memory",  "disk",     "backup",	  "archive",   "report",
	"daily",    "weekly",  "customer", "invoice",  "payment", "delivery", "security", "interface",
};
#define N_WORDS (sizeof(words) / sizeof(words[0]))

static const char *word(void)
{
	return words[rng() % N_WORDS];
}

/* Append @s to the @cap-byte buffer @b at *@n, cut at the end. */
static void put(char *b, size_t *n, size_t cap, const char *s)
{
	size_t l = strlen(s);

	if (l > cap - *n)
		l = cap - *n;
	memcpy(b + *n, s, l);
	*n += l;
}

static void gen_html(char *b, size_t cap)
{
	static const char *const tags[] = { "div", "span", "p", "li", "a", "td" };
	static const char *const classes[] = { "item",	  "title", "price",    "nav-link",
					       "content", "row",   "col-md-4", "btn btn-primary" };
	char tmp[256];
	size_t n = 0;
	int i, k;

	while (n < cap) {
		const char *tag = tags[rng() % 6];

		snprintf(tmp, sizeof(tmp), "<%s class=\"%s\"", tag, classes[rng() % 8]);
		put(b, &n, cap, tmp);
		if (rng() % 3 == 0) {
			snprintf(tmp, sizeof(tmp), " href=\"/%s/%u\"", word(), rng() % 100000);
			put(b, &n, cap, tmp);
		}
		put(b, &n, cap, ">");
		for (i = 0, k = 2 + (int)(rng() % 8); i < k; i++) {
			put(b, &n, cap, word());
			put(b, &n, cap, " ");
		}
		snprintf(tmp, sizeof(tmp), "</%s>\n", tag);
		put(b, &n, cap, tmp);
	}
}

static void gen_log(char *b, size_t cap)
{
	static const char *const levels[] = { "info", "warning", "error", "debug" };
	unsigned int t = 0;
	char tmp[512];
	size_t n = 0;

	while (n < cap) {
		snprintf(tmp, sizeof(tmp),
			 "2026-11-23T10:%02u:%02u.%06u+00:00 host%u ferry[%u]: %s: peer %u %s %s %s from "
			 "198.51.100.%u:%u\n",
			 t / 60 % 60, t % 60, rng() % 1000000, rng() % 4, 1000 + rng() % 50, levels[rng() % 4],
			 rng() % 16, word(), word(), word(), rng() % 255, 1024 + rng() % 60000);
		put(b, &n, cap, tmp);
		t += rng() % 3;
	}
}

/* An IPv4/TCP header in front of each payload, its fields varying as in a
 * real flow. */
static void add_header(uint8_t *p, size_t len, uint32_t seq)
{
	static const uint8_t hdr[HDR_LEN] = { 0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06,
					      0x00, 0x00, 192,	0,    2,    1,	  192,	0,    2,    2,
					      0x01, 0xbb, 0xc3, 0x5a, 0x00, 0x00, 0x00, 0x00, 0x7a, 0x69,
					      0x10, 0x24, 0x50, 0x18, 0x01, 0xf5, 0x00, 0x00, 0x00, 0x00 };

	memcpy(p, hdr, HDR_LEN);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
	p[4] = (uint8_t)(seq >> 8);
	p[5] = (uint8_t)seq;
	p[10] = (uint8_t)rng();
	p[11] = (uint8_t)rng();
	memcpy(p + 24, &seq, 4);
	p[36] = (uint8_t)rng();
	p[37] = (uint8_t)rng();
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int run_case(const char *name, uint8_t *pkts, size_t len, long rounds, uint8_t *blocks, size_t *blens,
		    uint8_t *out)
{
	size_t total_out = 0, packed = 0, i;
	double t, t_comp, t_dec;
	long r;

	/* Once to get the blocks and the ratio, then timed. */
	for (i = 0; i < N_PACKETS; i++) {
		blens[i] = compress_packet(pkts + i * len, len, blocks + i * len, len - 1);
		total_out += blens[i] ? blens[i] : len;
		packed += blens[i] != 0;
	}
	t = seconds();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < N_PACKETS; i++)
			compress_packet(pkts + i * len, len, blocks + i * len, len - 1);
	t_comp = seconds() - t;

	t = seconds();
	for (r = 0; r < rounds; r++)
		for (i = 0; i < N_PACKETS; i++)
			if (blens[i] && decompress_packet(blocks + i * len, blens[i], out, len) != (ssize_t)len)
				return -1;
	t_dec = seconds() - t;
	for (i = 0; i < N_PACKETS; i++)
		if (blens[i] && (decompress_packet(blocks + i * len, blens[i], out, len) != (ssize_t)len ||
				 memcmp(out, pkts + i * len, len)))
			return -1;

	printf("%-6s %5zu B  ratio %6.2f  compressed %3zu%% of packets  compress %8.0f MB/s  decompress ", name, len,
	       (double)(len * N_PACKETS) / (double)total_out, packed * 100 / N_PACKETS,
	       (double)(len * N_PACKETS) * (double)rounds / t_comp / 1e6);
	if (packed)
		printf("%8.0f MB/s\n", (double)(len * packed) * (double)rounds / t_dec / 1e6);
	else
		printf("       - (nothing to decompress)\n");
	return 0;
}

int main(int argc, char **argv)
{
	static const char *const cases[] = { "random", "html", "log", "zeros" };
	size_t len = argc > 1 ? (size_t)atol(argv[1]) : 1400, i, j, c;
	long rounds = argc > 2 ? atol(argv[2]) : 200;
	uint8_t *pkts, *blocks, *out;
	size_t *blens;
	char *text;

	if (len <= HDR_LEN || len > 65535 || rounds < 1) {
		fprintf(stderr, "usage: %s [PACKET_BYTES (41-65535) [ROUNDS]]\n", argv[0]);
		return 2;
	}
	pkts = malloc(len * N_PACKETS);
	blocks = malloc(len * N_PACKETS);
	blens = calloc(N_PACKETS, sizeof(*blens));
	out = malloc(len);
	text = malloc((len - HDR_LEN) * N_PACKETS);
	if (!pkts || !blocks || !blens || !out || !text)
		return 1;

	printf("LZ4 per packet, %zu-byte packets (%d distinct, %ld rounds), one core:\n", len, N_PACKETS, rounds);
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		size_t plen = len - HDR_LEN;

		if (c == 1)
			gen_html(text, plen * N_PACKETS);
		else if (c == 2)
			gen_log(text, plen * N_PACKETS);
		for (i = 0; i < N_PACKETS; i++) {
			uint8_t *p = pkts + i * len;

			add_header(p, len, (uint32_t)(i * plen));
			if (c == 0)
				for (j = 0; j < plen; j++)
					p[HDR_LEN + j] = (uint8_t)rng();
			else if (c == 3)
				memset(p + HDR_LEN, 0, plen);
			else
				memcpy(p + HDR_LEN, text + i * plen, plen);
		}
		if (run_case(cases[c], pkts, len, rounds, blocks, blens, out) < 0) {
			fprintf(stderr, "%s: a block did not decompress to its packet\n", cases[c]);
			return 1;
		}
	}
	free(pkts);
	free(blocks);
	free(blens);
	free(out);
	free(text);
	return 0;
}
