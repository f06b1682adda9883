/* Unit tests: config files (wg-quick and setconf style), endpoints, and the
 * exact messages people see for each kind of mistake. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf.h"
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PRIV "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk="
#define PUB1 "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define PUB2 "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0="
#define PUB3 "J+E4F6HLd40zESugH5Mk0eoFAmY5agDUfvKLPe67gGc="
#define PSK  "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA="

/* stderr goes to a temporary file while a parser runs, so that the tests
 * can compare what people would see. */
static char captured[16384];
static FILE *capture_file;
static int saved_stderr = -1;

static void capture_start(void)
{
	fflush(stderr);
	capture_file = tmpfile();
	assert_non_null(capture_file);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_true(dup2(fileno(capture_file), 2) == 2);
}

static const char *capture_end(void)
{
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	rewind(capture_file);
	n = fread(captured, 1, sizeof(captured) - 1, capture_file);
	captured[n] = '\0';
	fclose(capture_file);
	return captured;
}

static int parse(const char *text, enum conf_style style, struct conf_device *c, const char **messages)
{
	int ret;

	capture_start();
	ret = conf_parse_buffer("wg0.conf", text, strlen(text), style, c);
	*messages = capture_end();
	return ret;
}

static void assert_zeroed(const struct conf_device *c)
{
	static const struct conf_device zero;

	assert_memory_equal(c, &zero, sizeof(zero));
}

static void assert_key(const uint8_t key[KEY_LEN], const char *b64)
{
	char text[KEY_B64_LEN];

	key_to_base64(text, key);
	assert_string_equal(text, b64);
}

static void assert_prefix(const struct ip_prefix *p, const char *want)
{
	char buf[IP_PREFIX_STRLEN];

	assert_string_equal(ip_prefix_format(p, buf, sizeof(buf)), want);
}

static void ferry_keys(void **state)
{
	const char *msgs;
	struct conf_device c;

	(void)state;
	assert_int_equal(parse("[Interface]\nMode = TAP\nBridge = br0\nListenTCP = 443\nStrictMACs = yes\n"
			       "LinkLocal = Forward\n[Peer]\nPublicKey = " PUB1 "\n"
			       "Transport = tcp\nCompression = lz4\nMACs = 02:00:00:00:00:01,02:AB:cd:00:00:02\n",
			       CONF_WG_QUICK, &c, &msgs),
			 0);
	assert_int_equal(c.mode, CONF_MODE_TAP);
	assert_string_equal(c.bridge, "br0");
	assert_int_equal(c.listen_tcp, 443);
	assert_true(c.flags & CONF_HAS_LISTEN_TCP);
	assert_true(c.strict_macs && (c.flags & CONF_HAS_STRICT_MACS));
	assert_true(c.forward_link_local && (c.flags & CONF_HAS_LINK_LOCAL));
	assert_int_equal(c.peers[0].transport, CONF_TRANSPORT_TCP);
	assert_int_equal(c.peers[0].compression, CONF_COMPRESS_LZ4);
	assert_int_equal(c.peers[0].n_macs, 2);
	assert_int_equal(c.peers[0].macs[1][1], 0xab);
	assert_int_equal(c.peers[0].macs[1][5], 2);
	assert_false(c.has_user);
	assert_false(c.sandbox_off);
	conf_device_free(&c);

	/* User is resolved while parsing (a name unknown here is an error at
	 * its line, below); Sandbox = off is the opt-out. */
	assert_int_equal(parse("[Interface]\nUser = 0:12345\nSandbox = OFF\n", CONF_WG_QUICK, &c, &msgs), 0);
	assert_true(c.has_user);
	assert_int_equal(c.user.uid, 0);
	assert_int_equal(c.user.gid, 12345);
	assert_string_equal(c.user.name, "root");
	assert_true(c.sandbox_off);
	conf_device_free(&c);
}

/* Transport = auto and TCPPort; an Endpoint's host name is kept (to be
 * resolved again), an address is not, and a second Endpoint replaces the
 * first with its name or lack of one. */
static void transport_auto_and_endpoint_names(void **state)
{
	const char *msgs;
	struct conf_device c;

	(void)state;
	assert_int_equal(parse("[Interface]\n[Peer]\nPublicKey = " PUB1 "\nTransport = AUTO\nTCPPort = 443\n"
			       "Endpoint = localhost:51820\n[Peer]\nPublicKey = " PUB2 "\nEndpoint = 192.0.2.1:1\n"
			       "[Peer]\nPublicKey = " PUB3 "\nEndpoint = localhost:2\nEndpoint = [2001:db8::1]:3\n",
			       CONF_WG_QUICK, &c, &msgs),
			 0);
	assert_string_equal(msgs, "");
	assert_int_equal(c.n_peers, 3);
	assert_int_equal(c.peers[0].transport, CONF_TRANSPORT_AUTO);
	assert_true(c.peers[0].flags & CONF_PEER_HAS_TCP_PORT);
	assert_int_equal(c.peers[0].tcp_port, 443);
	assert_string_equal(c.peers[0].endpoint_name, "localhost:51820");
	assert_int_equal(ntohs(c.peers[0].endpoint.in4.sin_port), 51820);
	assert_null(c.peers[1].endpoint_name);
	assert_false(c.peers[1].flags & CONF_PEER_HAS_TCP_PORT);
	assert_null(c.peers[2].endpoint_name);
	conf_device_free(&c);
}

static void wg_quick_file_with_every_key(void **state)
{
	static const char text[] = "# wg0, written by hand\n"
				   "[Interface]\n"
				   "PrivateKey = " PRIV "\n"
				   "  listenport=51820   # keys are case-insensitive\n"
				   "FwMark = 0x1234\n"
				   "Address = 10.0.0.1/24, fd00::1/64\n"
				   "Address = 10.0.1.1/24\n"
				   "MTU = 1420\n"
				   "DNS = 10.0.0.53\n"
				   "Table = off\n"
				   "PreUp = true\n"
				   "PostUp = iptables -A FORWARD -i %i -j ACCEPT # trailing\n"
				   "PreDown = true\n"
				   "PostDown = true\n"
				   "SaveConfig = false\n"
				   "\n"
				   "[Peer]\n"
				   "PublicKey = " PUB1 "\n"
				   "PresharedKey = " PSK "\n"
				   "Endpoint = 192.0.2.1:51820\n"
				   "AllowedIPs = 10.0.0.2/32 , 10.9.0.0/16\n"
				   "AllowedIPs = fd00::2/128\n"
				   "PersistentKeepalive = 25\n"
				   "[PEER]\r\n"
				   "\tPublicKey\t=\t" PUB2 "\r\n"
				   "Endpoint = [2001:db8::1]:443\n"
				   "PersistentKeepalive = off";
	struct conf_device c;
	const char *msgs;
	char expect[2048];

	(void)state;
	assert_int_equal(parse(text, CONF_WG_QUICK, &c, &msgs), 0);
	snprintf(expect, sizeof(expect),
		 "ferry: warning: wg0.conf:9: DNS is not applied by ferry; ignored\n"
		 "ferry: warning: wg0.conf:10: Table is not applied by ferry; ignored\n"
		 "ferry: warning: wg0.conf:11: PreUp is not applied by ferry; ignored\n"
		 "ferry: warning: wg0.conf:12: PostUp is not applied by ferry; ignored\n"
		 "ferry: warning: wg0.conf:13: PreDown is not applied by ferry; ignored\n"
		 "ferry: warning: wg0.conf:14: PostDown is not applied by ferry; ignored\n"
		 "ferry: warning: wg0.conf:15: SaveConfig is not applied by ferry; ignored\n");
	assert_string_equal(msgs, expect);

	assert_int_equal(c.flags, CONF_HAS_PRIVATE_KEY | CONF_HAS_LISTEN_PORT | CONF_HAS_FWMARK | CONF_REPLACE_PEERS |
				      CONF_HAS_MTU);
	assert_key(c.private_key, PRIV);
	assert_int_equal(c.listen_port, 51820);
	assert_int_equal(c.fwmark, 0x1234);
	assert_int_equal(c.mtu, 1420);
	assert_int_equal(c.n_addresses, 3);
	assert_prefix(&c.addresses[0], "10.0.0.1/24");
	assert_prefix(&c.addresses[1], "fd00::1/64");
	assert_prefix(&c.addresses[2], "10.0.1.1/24");

	assert_int_equal(c.n_peers, 2);
	assert_key(c.peers[0].public_key, PUB1);
	assert_key(c.peers[0].preshared_key, PSK);
	assert_int_equal(c.peers[0].flags, CONF_PEER_REPLACE_ALLOWEDIPS | CONF_PEER_HAS_PSK | CONF_PEER_HAS_ENDPOINT |
					       CONF_PEER_HAS_KEEPALIVE);
	assert_int_equal(c.peers[0].endpoint.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(c.peers[0].endpoint.in4.sin_port), 51820);
	assert_int_equal(ntohl(c.peers[0].endpoint.in4.sin_addr.s_addr), 0xc0000201);
	assert_int_equal(c.peers[0].persistent_keepalive, 25);
	assert_int_equal(c.peers[0].n_allowedips, 3);
	assert_prefix(&c.peers[0].allowedips[0], "10.0.0.2/32");
	assert_prefix(&c.peers[0].allowedips[1], "10.9.0.0/16");
	assert_prefix(&c.peers[0].allowedips[2], "fd00::2/128");

	assert_key(c.peers[1].public_key, PUB2);
	assert_int_equal(c.peers[1].flags,
			 CONF_PEER_REPLACE_ALLOWEDIPS | CONF_PEER_HAS_ENDPOINT | CONF_PEER_HAS_KEEPALIVE);
	assert_int_equal(c.peers[1].endpoint.sa.sa_family, AF_INET6);
	assert_int_equal(ntohs(c.peers[1].endpoint.in6.sin6_port), 443);
	assert_int_equal(c.peers[1].persistent_keepalive, 0);
	assert_int_equal(c.peers[1].n_allowedips, 0);

	conf_device_free(&c);
	assert_zeroed(&c);
}

static void setconf_file(void **state)
{
	static const char text[] = "[Interface]\n"
				   "ListenPort = 0\n"
				   "FwMark = off\n"
				   "[Peer]\n"
				   "PublicKey = " PUB1 "\n"
				   "AllowedIPs =\n";
	struct conf_device c;
	const char *msgs;

	(void)state;
	assert_int_equal(parse(text, CONF_WG_SETCONF, &c, &msgs), 0);
	assert_string_equal(msgs, "");
	assert_int_equal(c.flags, CONF_HAS_LISTEN_PORT | CONF_HAS_FWMARK | CONF_REPLACE_PEERS);
	assert_int_equal(c.listen_port, 0);
	assert_int_equal(c.fwmark, 0);
	assert_int_equal(c.n_peers, 1);
	assert_int_equal(c.peers[0].flags, CONF_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(c.peers[0].n_allowedips, 0);
	conf_device_free(&c);

	/* An empty file is a device with no peers: setconf removes them all. */
	assert_int_equal(parse("", CONF_WG_SETCONF, &c, &msgs), 0);
	assert_int_equal(c.flags, CONF_REPLACE_PEERS);
	assert_int_equal(c.n_peers, 0);
	conf_device_free(&c);
	assert_int_equal(conf_parse_buffer("empty", NULL, 0, CONF_WG_SETCONF, &c), 0);
	assert_int_equal(c.flags, CONF_REPLACE_PEERS);
	conf_device_free(&c);
}

struct bad_case {
	enum conf_style style;
	const char *text;
	const char *message;
};

#define I "[Interface]\n"
#define P "[Peer]\nPublicKey = " PUB1 "\n"

static const struct bad_case bad_cases[] = {
	/* ferry's own keys */
	{ CONF_WG_QUICK, I "Mode = tan\n", "wg0.conf:2: Mode: 'tan' must be tun or tap" },
	{ CONF_WG_QUICK, I "Bridge = a/b\n", "wg0.conf:2: Bridge: 'a/b' the name contains '/'" },
	{ CONF_WG_QUICK, I "ListenTCP = 0\n", "wg0.conf:2: ListenTCP: '0' is out of range (1-65535)" },
	{ CONF_WG_QUICK, I "StrictMACs = maybe\n", "wg0.conf:2: StrictMACs: 'maybe' must be yes or no" },
	{ CONF_WG_QUICK, I "LinkLocal = keep\n", "wg0.conf:2: LinkLocal: 'keep' must be drop or forward" },
	{ CONF_WG_QUICK, P "Transport = sctp\n", "wg0.conf:3: Transport: 'sctp' must be udp, tcp or auto" },
	{ CONF_WG_QUICK, P "TCPPort = 0\n", "wg0.conf:3: TCPPort: '0' is out of range (1-65535)" },
	{ CONF_WG_QUICK, P "TCPPort = https\n", "wg0.conf:3: TCPPort: 'https' is not a number" },
	{ CONF_WG_QUICK, I "TCPPort = 443\n", "wg0.conf:2: TCPPort belongs in [Peer], not in [Interface]" },
	{ CONF_WG_SETCONF, P "TCPPort = 443\n", "wg0.conf:3: TCPPort is a wg-quick key, not accepted by setconf" },
	{ CONF_WG_QUICK, P "Compression = zstd\n", "wg0.conf:3: Compression: 'zstd' must be lz4 or none" },
	{ CONF_WG_QUICK, P "MACs = 02:00:00:00:00:01, 02:00:00:00:00\n",
	  "wg0.conf:3: MACs: '02:00:00:00:00' is not a MAC address (aa:bb:cc:dd:ee:ff)" },
	{ CONF_WG_QUICK, P "MACs = ff:ff:ff:ff:ff:ff\n",
	  "wg0.conf:3: MACs: 'ff:ff:ff:ff:ff:ff' is a group (multicast or broadcast) or all-zero address, not a "
	  "station's" },
	{ CONF_WG_SETCONF, I "Mode = tap\n", "wg0.conf:2: Mode is a wg-quick key, not accepted by setconf" },
	{ CONF_WG_QUICK, I "User = no-such-user-here\n",
	  "wg0.conf:2: User: 'no-such-user-here' is not a known user (nor a number)" },
	{ CONF_WG_QUICK, I "User = 0:no-such-group-here\n",
	  "wg0.conf:2: User: '0:no-such-group-here' names an unknown group (nor a number)" },
	{ CONF_WG_QUICK, I "Sandbox = maybe\n", "wg0.conf:2: Sandbox: 'maybe' must be on or off" },
	{ CONF_WG_SETCONF, I "User = nobody\n", "wg0.conf:2: User is a wg-quick key, not accepted by setconf" },
	{ CONF_WG_QUICK, I "ListenPort = 70000\n", "wg0.conf:2: ListenPort: '70000' is out of range (0-65535)" },
	{ CONF_WG_QUICK, I "ListenPort = 99999999999999999999\n",
	  "wg0.conf:2: ListenPort: '99999999999999999999' is out of range (0-65535)" },
	{ CONF_WG_QUICK, I "ListenPort = abc\n", "wg0.conf:2: ListenPort: 'abc' is not a number" },
	{ CONF_WG_QUICK, I "ListenPort = 70000x\n", "wg0.conf:2: ListenPort: '70000x' is not a number" },
	{ CONF_WG_QUICK, I "ListenPort = -1\n", "wg0.conf:2: ListenPort: '-1' is not a number" },
	{ CONF_WG_QUICK, I "ListenPort = +1\n", "wg0.conf:2: ListenPort: '+1' is not a number" },
	{ CONF_WG_QUICK, I "ListenPort =\n", "wg0.conf:2: ListenPort: '' is not a number" },
	{ CONF_WG_QUICK, I "ListenPort = 51 820\n", "wg0.conf:2: ListenPort: '51 820' is not a number" },
	{ CONF_WG_QUICK, I "FwMark = 0x100000000\n",
	  "wg0.conf:2: FwMark: '0x100000000' is out of range (0-4294967295)" },
	{ CONF_WG_QUICK, I "FwMark = 4294967296\n", "wg0.conf:2: FwMark: '4294967296' is out of range (0-4294967295)" },
	{ CONF_WG_QUICK, I "FwMark = onn\n", "wg0.conf:2: FwMark: 'onn' is neither a number nor 'off'" },
	{ CONF_WG_QUICK, I "FwMark = 0x\n", "wg0.conf:2: FwMark: '0x' is neither a number nor 'off'" },
	{ CONF_WG_QUICK, I "MTU = 67\n", "wg0.conf:2: MTU: '67' is out of range (68-65535)" },
	{ CONF_WG_QUICK, I "MTU = 65536\n", "wg0.conf:2: MTU: '65536' is out of range (68-65535)" },
	{ CONF_WG_QUICK, I "PrivateKey = AAAA\n", "wg0.conf:2: PrivateKey: '(hidden)' is not a valid base64 key" },
	{ CONF_WG_QUICK, I "\n\nAddress = 10.0.0.1/24, 10.0.0.0/33\n",
	  "wg0.conf:4: Address: '10.0.0.0/33' prefix length is larger than 32" },
	{ CONF_WG_QUICK, I "Address = 10.0.0.1/24,,10.0.0.2/24\n", "wg0.conf:2: Address: '' missing address" },
	{ CONF_WG_QUICK,
	  I "ListenPort = 1\n" P "Endpoint = 192.0.2.1:1\n"
	    "PersistentKeepalive = 25\n"
	    "AllowedIPs = 10.0.0.0/33\n",
	  "wg0.conf:7: AllowedIPs: '10.0.0.0/33' prefix length is larger than 32" },
	{ CONF_WG_QUICK, P "AllowedIPs = fd00::/129\n",
	  "wg0.conf:3: AllowedIPs: 'fd00::/129' prefix length is larger than 128" },
	{ CONF_WG_QUICK, P "AllowedIPs = 10.0.0.0/8, bogus\n",
	  "wg0.conf:3: AllowedIPs: 'bogus' not an IPv4 or IPv6 address" },
	{ CONF_WG_QUICK, P "Endpoint = 192.0.2.1\n", "wg0.conf:3: Endpoint: '192.0.2.1' is missing a port: host:port" },
	{ CONF_WG_QUICK, P "Endpoint = 2001:db8::1:51820\n",
	  "wg0.conf:3: Endpoint: '2001:db8::1:51820' is an IPv6 address without brackets: [address]:port" },
	{ CONF_WG_QUICK, P "Endpoint = [2001:db8::1]:0\n",
	  "wg0.conf:3: Endpoint: '[2001:db8::1]:0' has a port out of range (1-65535)" },
	{ CONF_WG_QUICK, P "Endpoint = 192.0.2.1:65536\n",
	  "wg0.conf:3: Endpoint: '192.0.2.1:65536' has a port out of range (1-65535)" },
	{ CONF_WG_QUICK, P "Endpoint = 192.0.2.1:http\n",
	  "wg0.conf:3: Endpoint: '192.0.2.1:http' has a port that is not a number" },
	{ CONF_WG_QUICK, P "Endpoint = [192.0.2.1]:1\n",
	  "wg0.conf:3: Endpoint: '[192.0.2.1]:1' is not a valid IPv6 address" },
	{ CONF_WG_QUICK, P "Endpoint = [2001:db8::1:1\n",
	  "wg0.conf:3: Endpoint: '[2001:db8::1:1' is missing the ']' after the IPv6 address" },
	{ CONF_WG_QUICK, P "Endpoint = :1\n", "wg0.conf:3: Endpoint: ':1' is missing a host" },
	{ CONF_WG_QUICK, P "PersistentKeepalive = 65536\n",
	  "wg0.conf:3: PersistentKeepalive: '65536' is out of range (0-65535)" },
	{ CONF_WG_QUICK, P "PersistentKeepalive = never\n",
	  "wg0.conf:3: PersistentKeepalive: 'never' is neither a number nor 'off'" },
	{ CONF_WG_QUICK, P "PresharedKey = " PUB1 "x\n",
	  "wg0.conf:3: PresharedKey: '(hidden)' is not a valid base64 key" },
	{ CONF_WG_QUICK, "[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=\n",
	  "wg0.conf:2: PublicKey: 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=' is not a valid base64 key" },
	{ CONF_WG_QUICK, P "PublicKey = " PUB2 "\n",
	  "wg0.conf:3: PublicKey: '" PUB2 "' is a second PublicKey for this [Peer]" },
	{ CONF_WG_QUICK, I "Foo = 1\n", "wg0.conf:2: unknown key 'Foo' in [Interface]" },
	{ CONF_WG_QUICK, P "DNS = 1.1.1.1\n", "wg0.conf:3: DNS belongs in [Interface], not in [Peer]" },
	{ CONF_WG_QUICK, I "PublicKey = " PUB1 "\n", "wg0.conf:2: PublicKey belongs in [Peer], not in [Interface]" },
	{ CONF_WG_QUICK, "# comment\nListenPort = 1\n",
	  "wg0.conf:2: 'ListenPort' is outside of any [Interface] or [Peer] section" },
	{ CONF_WG_QUICK, I "ListenPort\n", "wg0.conf:2: expected 'Key = Value' or a [Section]" },
	{ CONF_WG_QUICK, I "= 5\n", "wg0.conf:2: missing key before '='" },
	{ CONF_WG_QUICK, "[Interface\n", "wg0.conf:1: '[Interface' is not a section header: missing ']'" },
	{ CONF_WG_QUICK, "[Interface] junk\n", "wg0.conf:1: '[Interface] junk' is not a section header: missing ']'" },
	{ CONF_WG_QUICK, "[Interfaces]\n", "wg0.conf:1: unknown section '[Interfaces]'" },
	{ CONF_WG_QUICK, "[Peer]\nAllowedIPs = 10.0.0.0/8\n[Interface]\n", "wg0.conf:1: [Peer] has no PublicKey" },
	{ CONF_WG_QUICK, P "[Peer]\n# nothing\n", "wg0.conf:3: [Peer] has no PublicKey" },
	{ CONF_WG_QUICK, P "[Peer]\nPublicKey = " PUB2 "\n[Peer]\nPublicKey = " PUB1 "\n",
	  "wg0.conf:6: PublicKey: '" PUB1 "' is also the key of the peer at line 2" },
	{ CONF_WG_SETCONF, I "DNS = 1.1.1.1\n", "wg0.conf:2: DNS is a wg-quick key, not accepted by setconf" },
	{ CONF_WG_SETCONF, I "Address = 10.0.0.1/24\n",
	  "wg0.conf:2: Address is a wg-quick key, not accepted by setconf" },
	{ CONF_WG_SETCONF, I "MTU = 1420\n", "wg0.conf:2: MTU is a wg-quick key, not accepted by setconf" },
	{ CONF_WG_SETCONF, I "postup = true\n", "wg0.conf:2: PostUp is a wg-quick key, not accepted by setconf" },
	/* Values are quoted without control characters, and not too long. */
	{ CONF_WG_QUICK, I "ListenPort = a\x1b[31mb\n", "wg0.conf:2: ListenPort: 'a?[31mb' is not a number" },
	{ CONF_WG_QUICK, I "ListenPort = 1111111111111111111111111111111111111111111111111111111111111111111111\n",
	  "wg0.conf:2: ListenPort: '1111111111111111111111111111111111111111111111111111111111111111...' "
	  "is out of range (0-65535)" },
};

static void reports_each_error_exactly(void **state)
{
	char want[1024];

	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct conf_device c;
		const char *msgs;
		int ret;

		memset(&c, 0x5a, sizeof(c));
		ret = parse(bad_cases[i].text, bad_cases[i].style, &c, &msgs);
		snprintf(want, sizeof(want), "ferry: %s\n", bad_cases[i].message);
		if (ret != -EINVAL || strcmp(msgs, want))
			fail_msg("case %zu: returned %d, printed\n  %s  instead of\n  %s", i, ret, msgs, want);
		assert_zeroed(&c);
	}
}

static void never_prints_secrets(void **state)
{
	/* A private key one character short of valid. */
	static const char text[] = "[Interface]\nPrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk\n";
	struct conf_device c;
	const char *msgs;

	(void)state;
	assert_int_equal(parse(text, CONF_WG_QUICK, &c, &msgs), -EINVAL);
	assert_null(strstr(msgs, "yAnz5"));
	assert_non_null(strstr(msgs, "(hidden)"));
}

static void nul_byte_is_an_error(void **state)
{
	static const char text[] = "[Interface]\nListenPort = 1\0 2\n";
	struct conf_device c;
	const char *msgs;
	int ret;

	(void)state;
	capture_start();
	ret = conf_parse_buffer("wg0.conf", text, sizeof(text) - 1, CONF_WG_QUICK, &c);
	msgs = capture_end();
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(msgs, "ferry: wg0.conf:2: the line contains a NUL byte\n");
	assert_zeroed(&c);
}

/* No fixed line buffer: a long comment, and a long list on one line. */
static void long_lines(void **state)
{
	size_t n = 5000, size = 200000 + n * 20;
	char *text = malloc(size), *s = text;
	struct conf_device c;
	const char *msgs;

	(void)state;
	assert_non_null(text);
	s += sprintf(s, "[Interface]\n#");
	memset(s, 'x', 200000);
	s += 200000;
	s += sprintf(s, "\nListenPort = 7\n" P "AllowedIPs = ");
	for (size_t i = 0; i < n; i++)
		s += sprintf(s, "%s10.%zu.%zu.0/24", i ? "," : "", i / 256, i % 256);
	*s++ = '\n';
	assert_true((size_t)(s - text) < size);
	capture_start();
	assert_int_equal(conf_parse_buffer("big.conf", text, (size_t)(s - text), CONF_WG_QUICK, &c), 0);
	msgs = capture_end();
	assert_string_equal(msgs, "");
	assert_int_equal(c.listen_port, 7);
	assert_int_equal(c.n_peers, 1);
	assert_int_equal(c.peers[0].n_allowedips, n);
	assert_prefix(&c.peers[0].allowedips[n - 1], "10.19.135.0/24");
	conf_device_free(&c);
	free(text);
}

static void many_peers(void **state)
{
	size_t n = 3000;
	char *text = malloc(n * 120), *s = text;
	uint8_t key[KEY_LEN] = { 0 };
	char b64[KEY_B64_LEN];
	struct conf_device c;
	const char *msgs;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < n; i++) {
		key[0] = (uint8_t)i;
		key[1] = (uint8_t)(i >> 8);
		key_to_base64(b64, key);
		s += sprintf(s, "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%zu.%zu.1/32\n", b64, i >> 8, i & 255);
	}
	capture_start();
	assert_int_equal(conf_parse_buffer("many.conf", text, (size_t)(s - text), CONF_WG_SETCONF, &c), 0);
	msgs = capture_end();
	assert_string_equal(msgs, "");
	assert_int_equal(c.n_peers, n);
	assert_int_equal(c.peers[n - 1].public_key[0], (n - 1) & 255);
	assert_int_equal(c.peers[n - 1].public_key[1], (n - 1) >> 8);
	assert_prefix(&c.peers[n - 1].allowedips[0], "10.11.183.1/32");
	conf_device_free(&c);

	/* The same key again at the very end: found after all the others. */
	key[0] = 7;
	key[1] = 0;
	key_to_base64(b64, key);
	s += sprintf(s, "[Peer]\nPublicKey = %s\n", b64);
	capture_start();
	assert_int_equal(conf_parse_buffer("many.conf", text, (size_t)(s - text), CONF_WG_SETCONF, &c), -EINVAL);
	msgs = capture_end();
	assert_non_null(strstr(msgs, "many.conf:9002: PublicKey: "));
	assert_non_null(strstr(msgs, "is also the key of the peer at line 23\n"));
	free(text);
}

static void parses_files(void **state)
{
	char path[] = "/tmp/ferry-test-conf-XXXXXX";
	static const char text[] = "[Interface]\nListenPort = 4242\n\n[Peer]\nPublicKey = " PUB1 "\nFoo = 1\n";
	struct conf_device c;
	const char *msgs;
	char want[256];
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, 30), 30); /* the first two lines */
	assert_int_equal(fchmod(fd, 0600), 0);
	capture_start();
	assert_int_equal(conf_parse_file(path, CONF_WG_SETCONF, &c), 0);
	msgs = capture_end();
	assert_string_equal(msgs, "");
	assert_int_equal(c.listen_port, 4242);
	conf_device_free(&c);

	/* Error lines name the file. */
	assert_int_equal(write(fd, text + 30, sizeof(text) - 1 - 30), (ssize_t)(sizeof(text) - 1 - 30));
	capture_start();
	assert_int_equal(conf_parse_file(path, CONF_WG_SETCONF, &c), -EINVAL);
	msgs = capture_end();
	snprintf(want, sizeof(want), "ferry: %s:6: unknown key 'Foo' in [Peer]\n", path);
	assert_string_equal(msgs, want);
	assert_zeroed(&c);

	/* A file others can read draws a warning: config files hold secret keys. */
	assert_int_equal(fchmod(fd, 0644), 0);
	capture_start();
	assert_int_equal(conf_parse_file(path, CONF_WG_SETCONF, &c), -EINVAL);
	msgs = capture_end();
	snprintf(want, sizeof(want),
		 "ferry: warning: %s: is world accessible; a config file holds secret keys (chmod 600)\n", path);
	assert_true(strncmp(msgs, want, strlen(want)) == 0);
	close(fd);
	unlink(path);

	capture_start();
	assert_int_equal(conf_parse_file(path, CONF_WG_SETCONF, &c), -ENOENT);
	msgs = capture_end();
	snprintf(want, sizeof(want), "ferry: %s: No such file or directory\n", path);
	assert_string_equal(msgs, want);
	assert_zeroed(&c);
}

/* An Endpoint as a config file reads it: names are resolved. */
static int file_endpoint(const char *text, union conf_endpoint *ep, const char **why)
{
	return parse_endpoint(text, strlen(text), PARSE_HOST_RESOLVE, ep, why);
}

static void endpoints(void **state)
{
	union conf_endpoint ep;
	const char *why = NULL;
	char addr[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(file_endpoint("192.0.2.1:51820", &ep, &why), 0);
	assert_int_equal(ep.sa.sa_family, AF_INET);
	assert_string_equal(inet_ntop(AF_INET, &ep.in4.sin_addr, addr, sizeof(addr)), "192.0.2.1");
	assert_int_equal(ntohs(ep.in4.sin_port), 51820);

	assert_int_equal(file_endpoint("[2001:db8::1]:1", &ep, &why), 0);
	assert_int_equal(ep.sa.sa_family, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, &ep.in6.sin6_addr, addr, sizeof(addr)), "2001:db8::1");
	assert_int_equal(ntohs(ep.in6.sin6_port), 1);

	assert_int_equal(file_endpoint("[fe80::1%1]:65535", &ep, &why), 0);
	assert_int_equal(ep.in6.sin6_scope_id, 1);
	assert_int_equal(ntohs(ep.in6.sin6_port), 65535);

	/* Names are resolved; localhost is in /etc/hosts everywhere. */
	assert_int_equal(file_endpoint("localhost:53", &ep, &why), 0);
	assert_true(ep.sa.sa_family == AF_INET || ep.sa.sa_family == AF_INET6);
	assert_int_equal(ntohs(ep.in4.sin_port), 53);

	assert_int_equal(file_endpoint("no-such-host.invalid:53", &ep, &why), -EINVAL);
	assert_non_null(why);
	assert_int_equal(file_endpoint("192.0.2.1:", &ep, &why), -EINVAL);
	assert_string_equal(why, "has a port that is not a number");
	assert_int_equal(file_endpoint("[::1]", &ep, &why), -EINVAL);
	assert_string_equal(why, "is missing a port: [address]:port");
	assert_int_equal(file_endpoint("", &ep, &why), -EINVAL);
	assert_string_equal(why, "is missing a port: host:port");
	assert_int_equal(file_endpoint("192.0.2.1:-1", &ep, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wg_quick_file_with_every_key),
		cmocka_unit_test(ferry_keys),
		cmocka_unit_test(transport_auto_and_endpoint_names),
		cmocka_unit_test(setconf_file),
		cmocka_unit_test(reports_each_error_exactly),
		cmocka_unit_test(never_prints_secrets),
		cmocka_unit_test(nul_byte_is_an_error),
		cmocka_unit_test(long_lines),
		cmocka_unit_test(many_peers),
		cmocka_unit_test(parses_files),
		cmocka_unit_test(endpoints),
	};

	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
