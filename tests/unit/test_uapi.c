/* Unit tests: the UAPI "set" operation, with the errno wireguard-go gives
 * for each kind of bad request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "conf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEX1 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define HEX2 "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0F"
#define ZERO "0000000000000000000000000000000000000000000000000000000000000000"

static int parse(const char *text, struct conf_device *c)
{
	return uapi_parse_set(text, strlen(text), c);
}

static void assert_zeroed(const struct conf_device *c)
{
	static const struct conf_device zero;

	assert_memory_equal(c, &zero, sizeof(zero));
}

static void assert_prefix(const struct ip_prefix *p, const char *want)
{
	char buf[IP_PREFIX_STRLEN];

	assert_string_equal(ip_prefix_format(p, buf, sizeof(buf)), want);
}

static void every_key(void **state)
{
	static const char text[] = "private_key=" HEX1 "\n"
				   "listen_port=51820\n"
				   "fwmark=4294967295\n"
				   "replace_peers=true\n"
				   "public_key=" HEX2 "\n"
				   "protocol_version=1\n"
				   "preshared_key=" HEX1 "\n"
				   "endpoint=192.0.2.1:51820\n"
				   "persistent_keepalive_interval=25\n"
				   "replace_allowed_ips=true\n"
				   "allowed_ip=10.0.0.0/8\n"
				   "allowed_ip=fd00::/64\n"
				   "public_key=" HEX1 "\n"
				   "update_only=true\n"
				   "endpoint=[2001:db8::1]:443\n"
				   "public_key=" ZERO "\n"
				   "remove=true\n"
				   "\n"
				   "listen_port=not read: the request ended above\n";
	char addr[INET6_ADDRSTRLEN];
	struct conf_device c;

	(void)state;
	assert_int_equal(parse(text, &c), 0);
	assert_int_equal(c.flags, CONF_HAS_PRIVATE_KEY | CONF_HAS_LISTEN_PORT | CONF_HAS_FWMARK | CONF_REPLACE_PEERS);
	assert_int_equal(c.private_key[31], 0x1f);
	assert_int_equal(c.listen_port, 51820);
	assert_int_equal(c.fwmark, 4294967295u);
	assert_int_equal(c.n_peers, 3);

	assert_int_equal(c.peers[0].public_key[0], 0xf0);
	assert_int_equal(c.peers[0].public_key[31], 0x0f);
	assert_int_equal(c.peers[0].flags, CONF_PEER_HAS_PSK | CONF_PEER_HAS_ENDPOINT | CONF_PEER_HAS_KEEPALIVE |
					       CONF_PEER_REPLACE_ALLOWEDIPS);
	assert_int_equal(c.peers[0].preshared_key[1], 0x01);
	assert_int_equal(c.peers[0].endpoint.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(c.peers[0].endpoint.in4.sin_port), 51820);
	assert_string_equal(inet_ntop(AF_INET, &c.peers[0].endpoint.in4.sin_addr, addr, sizeof(addr)), "192.0.2.1");
	assert_int_equal(c.peers[0].persistent_keepalive, 25);
	assert_int_equal(c.peers[0].n_allowedips, 2);
	assert_prefix(&c.peers[0].allowedips[0], "10.0.0.0/8");
	assert_prefix(&c.peers[0].allowedips[1], "fd00::/64");

	assert_int_equal(c.peers[1].public_key[1], 0x01);
	assert_int_equal(c.peers[1].flags, CONF_PEER_UPDATE_ONLY | CONF_PEER_HAS_ENDPOINT);
	assert_int_equal(c.peers[1].endpoint.sa.sa_family, AF_INET6);
	assert_string_equal(inet_ntop(AF_INET6, &c.peers[1].endpoint.in6.sin6_addr, addr, sizeof(addr)), "2001:db8::1");
	assert_int_equal(ntohs(c.peers[1].endpoint.in6.sin6_port), 443);

	assert_int_equal(c.peers[2].flags, CONF_PEER_REMOVE);
	conf_device_free(&c);
	assert_zeroed(&c);
}

static void empty_and_minimal_requests(void **state)
{
	struct conf_device c;

	(void)state;
	assert_int_equal(uapi_parse_set("", 0, &c), 0);
	assert_int_equal(c.flags, 0);
	assert_int_equal(c.n_peers, 0);
	assert_int_equal(parse("\n", &c), 0);
	assert_int_equal(c.flags, 0);
	/* No final newline, and a zero private key (which removes it). */
	assert_int_equal(parse("private_key=" ZERO, &c), 0);
	assert_int_equal(c.flags, CONF_HAS_PRIVATE_KEY);
	/* CRLF, as bufio.ScanLines takes it. */
	assert_int_equal(parse("listen_port=7\r\nfwmark=0\r\n\r\nlisten_port=8\n", &c), 0);
	assert_int_equal(c.flags, CONF_HAS_LISTEN_PORT | CONF_HAS_FWMARK);
	assert_int_equal(c.listen_port, 7);
	conf_device_free(&c);
}

/* replace_allowed_ips acts where it stands, as in wireguard-go: what came
 * before it in the request goes too. */
static void replace_allowed_ips_in_order(void **state)
{
	struct conf_device c;

	(void)state;
	assert_int_equal(parse("public_key=" HEX1 "\nallowed_ip=10.0.0.0/8\nreplace_allowed_ips=true\n"
			       "allowed_ip=10.1.0.0/16\nallowed_ip=10.2.0.0/16\n",
			       &c),
			 0);
	assert_int_equal(c.peers[0].n_allowedips, 2);
	assert_prefix(&c.peers[0].allowedips[0], "10.1.0.0/16");
	assert_prefix(&c.peers[0].allowedips[1], "10.2.0.0/16");
	assert_int_equal(c.peers[0].flags, CONF_PEER_REPLACE_ALLOWEDIPS);
	conf_device_free(&c);
}

/* remove=true drops what was said about the peer; what follows is still
 * checked, but not kept. */
static void remove_discards_the_rest(void **state)
{
	struct conf_device c;

	(void)state;
	assert_int_equal(parse("public_key=" HEX1 "\nallowed_ip=10.0.0.0/8\nendpoint=192.0.2.1:1\nremove=true\n"
			       "allowed_ip=10.1.0.0/16\npersistent_keepalive_interval=5\npublic_key=" HEX2 "\n"
			       "allowed_ip=10.3.0.0/16\n",
			       &c),
			 0);
	assert_int_equal(c.n_peers, 2);
	assert_int_equal(c.peers[0].flags, CONF_PEER_REMOVE);
	assert_int_equal(c.peers[0].n_allowedips, 0);
	assert_null(c.peers[0].allowedips);
	assert_int_equal(c.peers[0].persistent_keepalive, 0);
	assert_int_equal(c.peers[1].n_allowedips, 1);
	assert_prefix(&c.peers[1].allowedips[0], "10.3.0.0/16");
	conf_device_free(&c);

	assert_int_equal(parse("public_key=" HEX1 "\nremove=true\nallowed_ip=10.0.0.0/33\n", &c), -EINVAL);
	assert_zeroed(&c);
}

/* Arrays grow as the request goes: many peers, many allowed IPs each. */
static void many_peers(void **state)
{
	const size_t peers = 300, ips = 70;
	char *text = malloc(peers * (80 + ips * 30)), *s = text;
	struct conf_device c;

	(void)state;
	assert_non_null(text);
	for (size_t i = 0; i < peers; i++) {
		s += sprintf(s, "public_key=%02zx%s\n", i & 255, &HEX1[2]);
		for (size_t j = 0; j < ips; j++)
			s += sprintf(s, "allowed_ip=10.%zu.%zu.0/24\n", i & 255, j);
	}
	assert_int_equal(uapi_parse_set(text, (size_t)(s - text), &c), 0);
	assert_int_equal(c.n_peers, peers);
	for (size_t i = 0; i < peers; i++) {
		char want[32];

		assert_int_equal(c.peers[i].public_key[0], i & 255);
		assert_int_equal(c.peers[i].n_allowedips, ips);
		snprintf(want, sizeof(want), "10.%zu.%zu.0/24", i & 255, ips - 1);
		assert_prefix(&c.peers[i].allowedips[ips - 1], want);
	}
	conf_device_free(&c);
	free(text);
}

static void endpoint_scopes(void **state)
{
	struct conf_device c;

	(void)state;
	assert_int_equal(parse("public_key=" HEX1 "\nendpoint=[fe80::1%7]:51820\n", &c), 0);
	assert_int_equal(c.peers[0].endpoint.in6.sin6_scope_id, 7);
	conf_device_free(&c);
	assert_int_equal(parse("public_key=" HEX1 "\nendpoint=[fe80::1%lo]:51820\n", &c), 0);
	assert_int_equal(c.peers[0].endpoint.in6.sin6_scope_id, if_nametoindex("lo"));
	conf_device_free(&c);
}

struct bad_case {
	const char *text;
	size_t len; /* some hold a NUL */
	int error;
};

/* clang-format off */
#define BAD(text, error) { text, sizeof(text) - 1, error }
/* clang-format on */

#define PEER "public_key=" HEX1 "\n"

static const struct bad_case bad_cases[] = {
	/* A line without '=': IpcErrorProtocol. */
	BAD("listen_port\n", -EPROTO),
	BAD(PEER "remove\n", -EPROTO),
	BAD("listen_port=1\nfoo\n", -EPROTO),
	BAD("a\0b\n", -EPROTO),
	/* Unknown keys: IpcErrorInvalid ("invalid UAPI device/peer key"). */
	BAD("foo=1\n", -EINVAL),
	BAD("=1\n", -EINVAL),
	BAD("Listen_Port=1\n", -EINVAL),
	BAD(PEER "foo=1\n", -EINVAL),
	BAD("get=1\n", -EINVAL),
	/* Device keys once a peer has started are peer keys, unknown ones. */
	BAD(PEER "listen_port=1\n", -EINVAL),
	BAD(PEER "private_key=" HEX1 "\n", -EINVAL),
	BAD(PEER "replace_peers=true\n", -EINVAL),
	/* Bad values: IpcErrorInvalid. */
	BAD("private_key=" HEX1 "0\n", -EINVAL),
	BAD("private_key=0001\n", -EINVAL),
	BAD("private_key=\n", -EINVAL),
	BAD("listen_port=65536\n", -EINVAL),
	BAD("listen_port=-1\n", -EINVAL),
	BAD("listen_port=+1\n", -EINVAL),
	BAD("listen_port= 1\n", -EINVAL),
	BAD("listen_port=\n", -EINVAL),
	BAD("fwmark=4294967296\n", -EINVAL),
	BAD("fwmark=0x10\n", -EINVAL),
	BAD("replace_peers=false\n", -EINVAL),
	BAD("replace_peers=TRUE\n", -EINVAL),
	BAD("public_key=" HEX1 "x\n", -EINVAL),
	BAD("public_key=\n", -EINVAL),
	BAD(PEER "remove=1\n", -EINVAL),
	BAD(PEER "update_only=false\n", -EINVAL),
	BAD(PEER "preshared_key=00\n", -EINVAL),
	BAD(PEER "endpoint=peer.example.net:51820\n", -EINVAL),
	BAD(PEER "endpoint=localhost:51820\n", -EINVAL),
	BAD(PEER "endpoint=192.0.2.1\n", -EINVAL),
	BAD(PEER "endpoint=192.0.2.1:0\n", -EINVAL),
	BAD(PEER "endpoint=192.0.2.1:65536\n", -EINVAL),
	BAD(PEER "endpoint=127.1:80\n", -EINVAL),
	BAD(PEER "endpoint=2001:db8::1:80\n", -EINVAL),
	BAD(PEER "endpoint=[2001:db8::1]\n", -EINVAL),
	BAD(PEER "endpoint=[2001:db8::1]:\n", -EINVAL),
	BAD(PEER "endpoint=[192.0.2.1]:80\n", -EINVAL),
	BAD(PEER "endpoint=[fe80::1%no-such-interface]:80\n", -EINVAL),
	BAD(PEER "endpoint=[2001:db8::1:80\n", -EINVAL),
	BAD(PEER "persistent_keepalive_interval=65536\n", -EINVAL),
	BAD(PEER "replace_allowed_ips=yes\n", -EINVAL),
	BAD(PEER "allowed_ip=10.0.0.1\n", -EINVAL),
	BAD(PEER "allowed_ip=10.0.0.0/33\n", -EINVAL),
	BAD(PEER "allowed_ip=fd00::/129\n", -EINVAL),
	BAD(PEER "allowed_ip=\n", -EINVAL),
	BAD(PEER "protocol_version=2\n", -EINVAL),
	BAD(PEER "protocol_version=01\n", -EINVAL),
	BAD("listen_port=1\0\n", -EINVAL),
	/* A NUL would cut the value short where it is copied as a string. */
	BAD(PEER "allowed_ip=10.0.0.0/8\0x\n", -EINVAL),
	BAD(PEER "endpoint=192.0.2.1:1\0x\n", -EINVAL),
};

static void errors_as_wireguard_go(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct conf_device c;
		int ret;

		memset(&c, 0x5a, sizeof(c));
		ret = uapi_parse_set(bad_cases[i].text, bad_cases[i].len, &c);
		if (ret != bad_cases[i].error)
			fail_msg("case %zu '%s': returned %d, want %d", i, bad_cases[i].text, ret, bad_cases[i].error);
		assert_zeroed(&c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_key),
		cmocka_unit_test(empty_and_minimal_requests),
		cmocka_unit_test(replace_allowed_ips_in_order),
		cmocka_unit_test(remove_discards_the_rest),
		cmocka_unit_test(many_peers),
		cmocka_unit_test(endpoint_scopes),
		cmocka_unit_test(errors_as_wireguard_go),
	};

	return cmocka_run_group_tests_name("uapi", tests, NULL, NULL);
}
