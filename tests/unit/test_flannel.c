/* Unit tests: flannel's formats (network configuration, leases, subnet
 * keys, the subnet file) and the parsers of etcd's JSON gateway answers,
 * on the exact bytes etcd 3.4 and flannel write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "etcd.h"
#include "flannel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUB	       "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

static char err[FLANNEL_ERR_LEN];

static int config(const char *json, struct flannel_config *c)
{
	err[0] = '\0';
	return flannel_config_parse(json, strlen(json), c, err, sizeof(err));
}

static void test_config_defaults(void **state)
{
	struct flannel_config c;

	(void)state;
	assert_int_equal(config("{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\"}}", &c), 0);
	assert_int_equal(c.network, IP(10, 244, 0, 0));
	assert_int_equal(c.network_len, 16);
	assert_int_equal(c.subnet_len, 24);
	/* flannel leaves out the Network's first subnet */
	assert_int_equal(c.subnet_min, IP(10, 244, 1, 0));
	assert_int_equal(c.subnet_max, IP(10, 244, 255, 0));
	assert_int_equal(c.listen_port, 51820);
	assert_int_equal(c.keepalive, 0);
	assert_false(c.has_psk);
}

static void test_config_keys(void **state)
{
	struct flannel_config c;

	(void)state;
	/* Go matches keys without regard to case, as flannel does */
	assert_int_equal(config("{\"network\": \"10.0.0.0/8\", \"subnetlen\": 20, \"SubnetMin\": \"10.0.16.0\", "
				"\"SubnetMax\": \"10.0.32.0\", \"backend\": {\"type\": \"wireguard\", \"ListenPort\": "
				"5000, \"PSK\": \"" PUB "\", \"PersistentKeepaliveInterval\": 25, \"Mode\": \"auto\", "
				"\"Compression\": \"lz4\"}}",
				&c),
			 0);
	assert_int_equal(c.subnet_len, 20);
	assert_int_equal(c.subnet_min, IP(10, 0, 16, 0));
	assert_int_equal(c.subnet_max, IP(10, 0, 32, 0));
	assert_int_equal(c.listen_port, 5000);
	assert_int_equal(c.keepalive, 25);
	assert_true(c.has_psk);
	assert_true(c.lz4);
	/* a small Network: SubnetLen is its length + 2, as flannel's */
	assert_int_equal(config("{\"Network\": \"10.1.2.0/24\", \"Backend\": {\"Type\": \"wireguard\"}}", &c), 0);
	assert_int_equal(c.subnet_len, 26);
	assert_int_equal(c.subnet_min, IP(10, 1, 2, 64));
	assert_int_equal(c.subnet_max, IP(10, 1, 2, 192));
}

static void test_config_errors(void **state)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "", "not JSON" },
		{ "[]", "not a JSON object" },
		{ "{\"Network\": \"10.244.0.0/16\", \"Network\": \"10.0.0.0/8\"}", "not JSON" }, /* duplicate key */
		{ "{\"Backend\": {\"Type\": \"wireguard\"}}", "Network must be an IPv4 prefix" },
		{ "{\"Network\": \"10.244.0.1/16\", \"Backend\": {\"Type\": \"wireguard\"}}", "host bits" },
		{ "{\"Network\": \"10.244.0.0/33\", \"Backend\": {\"Type\": \"wireguard\"}}", "Network must be" },
		{ "{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"vxlan\"}}",
		  "\"wireguard\" backend only" },
		{ "{\"Network\": \"10.244.0.0/16\"}", "Backend must be an object" },
		{ "{\"Network\": \"10.244.0.0/29\", \"Backend\": {\"Type\": \"wireguard\"}}", "too small" },
		{ "{\"Network\": \"10.244.0.0/16\", \"SubnetLen\": 17, \"Backend\": {\"Type\": \"wireguard\"}}",
		  "at least four subnets" },
		{ "{\"Network\": \"10.244.0.0/16\", \"SubnetLen\": 31, \"Backend\": {\"Type\": \"wireguard\"}}",
		  "at most 30" },
		{ "{\"Network\": \"10.244.0.0/16\", \"SubnetLen\": \"24\", \"Backend\": {\"Type\": \"wireguard\"}}",
		  "whole number" },
		{ "{\"Network\": \"10.244.0.0/16\", \"SubnetMin\": \"10.245.0.0\", \"Backend\": {\"Type\": "
		  "\"wireguard\"}}",
		  "inside the Network" },
		{ "{\"Network\": \"10.244.0.0/16\", \"SubnetMin\": \"10.244.1.7\", \"Backend\": {\"Type\": "
		  "\"wireguard\"}}",
		  "must start a /24" },
		{ "{\"Network\": \"10.244.0.0/16\", \"SubnetMin\": \"10.244.9.0\", \"SubnetMax\": \"10.244.8.0\", "
		  "\"Backend\": {\"Type\": \"wireguard\"}}",
		  "above SubnetMax" },
		{ "{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\", \"ListenPort\": 0}}",
		  "ListenPort" },
		{ "{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\", \"PSK\": \"short\"}}",
		  "PSK" },
		{ "{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\", \"Mode\": \"ipv6\"}}",
		  "IPv4 only" },
		{ "{\"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\", \"Compression\": 1}}",
		  "Compression must be" },
		{ "{\"EnableIPv4\": false, \"Network\": \"10.244.0.0/16\", \"Backend\": {\"Type\": \"wireguard\"}}",
		  "EnableIPv4" },
	};
	static const struct flannel_config zero;
	struct flannel_config c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (config(bad[i].json, &c) != -EINVAL || !strstr(err, bad[i].why))
			fail_msg("config %zu: '%s' gave '%s', wanted '%s'", i, bad[i].json, err, bad[i].why);
		assert_memory_equal(&c, &zero, sizeof(c));
	}
}

static int lease(const char *json, struct flannel_lease *l)
{
	err[0] = '\0';
	return flannel_lease_parse(json, strlen(json), l, err, sizeof(err));
}

static void test_lease(void **state)
{
	struct flannel_lease l, back;
	char buf[256];
	int n;

	(void)state;
	/* exactly what flannel writes (json.Marshal of LeaseAttrs) */
	assert_int_equal(lease("{\"PublicIP\":\"192.0.2.3\",\"PublicIPv6\":null,\"BackendType\":\"wireguard\","
			       "\"BackendData\":{\"PublicKey\":\"" PUB "\"}}",
			       &l),
			 0);
	assert_int_equal(l.public_ip, IP(192, 0, 2, 3));
	assert_int_equal(l.port, 0);
	/* ferry's, with the port: format and parse again */
	l.port = 51820;
	n = flannel_lease_format(buf, sizeof(buf), &l);
	assert_true(n > 0);
	assert_string_equal(buf, "{\"PublicIP\":\"192.0.2.3\",\"BackendType\":\"wireguard\",\"BackendData\":{"
				 "\"PublicKey\":\"" PUB "\",\"Port\":51820}}");
	assert_int_equal(lease(buf, &back), 0);
	assert_memory_equal(&l, &back, sizeof(l));
	assert_int_equal(flannel_lease_format(buf, 40, &l), -ENOSPC);
	/* ferry's Compression, which flannel ignores */
	l.lz4 = true;
	assert_true(flannel_lease_format(buf, sizeof(buf), &l) > 0);
	assert_non_null(strstr(buf, ",\"Compression\":\"lz4\"}}"));
	assert_int_equal(lease(buf, &back), 0);
	assert_true(back.lz4);
}

static void test_lease_errors(void **state)
{
	static const struct {
		const char *json, *why;
	} bad[] = {
		{ "{\"PublicIP\": \"192.0.2.3\", \"BackendType\": ", "not JSON" },
		{ "{\"PublicIP\":\"192.0.2.3\",\"BackendType\":\"vxlan\",\"BackendData\":{\"VtepMAC\":\"x\"}}",
		  "BackendType 'vxlan'" },
		{ "{\"PublicIP\":\"192.0.2.300\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"" PUB
		  "\"}}",
		  "PublicIP" },
		{ "{\"PublicIP\":\"0.0.0.0\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"" PUB
		  "\"}}",
		  "PublicIP" },
		{ "{\"PublicIP\":\"224.0.0.1\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"" PUB
		  "\"}}",
		  "PublicIP" },
		{ "{\"PublicIP\":\"192.0.2.3\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"abc\"}}",
		  "PublicKey" },
		{ "{\"PublicIP\":\"192.0.2.3\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":"
		  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}}",
		  "all zeros" },
		{ "{\"PublicIP\":\"192.0.2.3\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"" PUB
		  "\",\"Port\":65536}}",
		  "Port" },
		{ "{\"PublicIP\":\"192.0.2.3\",\"BackendType\":\"wireguard\",\"BackendData\":\"" PUB "\"}",
		  "PublicKey" },
	};
	struct flannel_lease l;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (lease(bad[i].json, &l) != -EINVAL || !strstr(err, bad[i].why))
			fail_msg("lease %zu: '%s' gave '%s', wanted '%s'", i, bad[i].json, err, bad[i].why);
}

static void test_subnet_names(void **state)
{
	static const char *const bad[] = { "10.244.3.0",    "10.244.3.0-",   "10.244.3.0-33",
					   "10.244.3.1-24", "10.244.3-24",   "10.244.3.0-024",
					   "x-24",	    "10.244.3.0/24", "10.244.3.0-2a" };
	unsigned int plen;
	uint32_t net;
	char buf[24];
	size_t i;

	(void)state;
	assert_int_equal(flannel_subnet_parse("10.244.3.0-24", 13, &net, &plen), 0);
	assert_int_equal(net, IP(10, 244, 3, 0));
	assert_int_equal(plen, 24);
	flannel_subnet_name(buf, sizeof(buf), net, plen);
	assert_string_equal(buf, "10.244.3.0-24");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (flannel_subnet_parse(bad[i], strlen(bad[i]), &net, &plen) == 0)
			fail_msg("'%s' parsed as a subnet", bad[i]);
	assert_true(flannel_overlap(IP(10, 244, 4, 0), 23, IP(10, 244, 5, 0), 24));
	assert_false(flannel_overlap(IP(10, 244, 4, 0), 24, IP(10, 244, 5, 0), 24));
}

static void test_subnet_file(void **state)
{
	const char *text = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\nFLANNEL_MTU=1420\n"
			   "FLANNEL_IPMASQ=false\n";
	struct flannel_env env;
	char buf[256];

	(void)state;
	assert_int_equal(flannel_env_parse(text, strlen(text), &env, err, sizeof(err)), 0);
	assert_int_equal(env.subnet, IP(10, 244, 3, 1));
	assert_int_equal(env.subnet_len, 24);
	assert_int_equal(env.mtu, 1420);
	assert_false(env.ipmasq);
	assert_true(flannel_env_format(buf, sizeof(buf), &env) > 0);
	assert_string_equal(buf, text);
	text = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.99.3.1/24\nFLANNEL_MTU=1420\nFLANNEL_IPMASQ=true\n";
	assert_int_equal(flannel_env_parse(text, strlen(text), &env, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not inside"));
	text = "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.3.1/24\n";
	assert_int_equal(flannel_env_parse(text, strlen(text), &env, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "FLANNEL_MTU"));
}

/* etcd 3.4's gateway, as captured with curl. */
static void test_etcd_range(void **state)
{
	const char *body = "{\"header\":{\"cluster_id\":\"324952591200643719\",\"member_id\":\"3319814642761637952\","
			   "\"revision\":\"4\",\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"eA==\",\"create_revision\":"
			   "\"4\",\"mod_revision\":\"4\",\"version\":\"1\",\"value\":\"eQ==\",\"lease\":"
			   "\"7587862074935458325\"}],\"count\":\"1\"}";
	const char *empty = "{\"header\":{\"cluster_id\":\"1\",\"revision\":\"9\"}}";
	struct etcd_kvs kvs;

	(void)state;
	assert_int_equal(etcd_parse_range(body, strlen(body), &kvs), 0);
	assert_int_equal(kvs.revision, 4);
	assert_int_equal(kvs.n, 1);
	assert_string_equal(kvs.kv[0].key, "x");
	assert_string_equal(kvs.kv[0].value, "y");
	assert_int_equal(kvs.kv[0].lease, 7587862074935458325LL);
	etcd_kvs_free(&kvs);
	assert_int_equal(etcd_parse_range(empty, strlen(empty), &kvs), 0);
	assert_int_equal(kvs.n, 0);
	assert_int_equal(kvs.revision, 9);
	assert_int_equal(etcd_parse_range("{\"kvs\":[]}", 10, &kvs), -EPROTO); /* no header */
	assert_int_equal(etcd_parse_range("{\"header\":{},\"kvs\":[{\"key\":\"!!\"}]}", 35, &kvs),
			 -EPROTO); /* bad base64 */
	assert_int_equal(etcd_parse_range("{\"header\":{\"revision\":\"x\"}}", 28, &kvs), -EPROTO);
}

static void test_etcd_watch_stream(void **state)
{
	const char *stream =
	    "{\"result\":{\"header\":{\"revision\":\"1\"},\"created\":true}}\n"
	    "{\"result\":{\"header\":{\"revision\":\"2\"},\"events\":[{\"kv\":{\"key\":\"eA==\",\"create_revision\":"
	    "\"2\",\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"eQ==\"}}]}}\n"
	    "{\"result\":{\"header\":{\"revision\":\"3\"},\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"eA==\","
	    "\"mod_revision\":\"3\"}}]}}\n"
	    "{\"result\":{\"header\":{},\"canceled\":true,\"compact_revision\":\"4\"}}\n"
	    "{\"error\":{\"grpc_code\":14,\"message\":\"unavailable\"}}\n";
	struct etcd_stream s = { 0 };
	struct etcd_watch_msg m;
	size_t i;

	(void)state;
	/* byte by byte: a message is taken only once its line is whole */
	for (i = 0; i < 60; i++)
		assert_int_equal(etcd_stream_feed(&s, stream + i, 1), 0);
	assert_int_equal(etcd_stream_next(&s, &m), 1);
	assert_true(m.created);
	assert_int_equal(m.revision, 1);
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_stream_next(&s, &m), 0);
	assert_int_equal(etcd_stream_feed(&s, stream + 60, strlen(stream) - 60), 0);
	assert_int_equal(etcd_stream_next(&s, &m), 1);
	assert_int_equal(m.n_events, 1);
	assert_false(m.events[0].deleted);
	assert_string_equal(m.events[0].kv.value, "y");
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_stream_next(&s, &m), 1);
	assert_true(m.events[0].deleted);
	assert_int_equal(m.events[0].kv.mod_revision, 3);
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_stream_next(&s, &m), 1);
	assert_true(m.canceled);
	assert_int_equal(m.compact_revision, 4);
	etcd_watch_msg_free(&m);
	assert_int_equal(etcd_stream_next(&s, &m), -EPROTO);
	assert_int_equal(etcd_stream_next(&s, &m), 0);
	etcd_stream_reset(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_defaults),	  cmocka_unit_test(test_config_keys),
		cmocka_unit_test(test_config_errors),	  cmocka_unit_test(test_lease),
		cmocka_unit_test(test_lease_errors),	  cmocka_unit_test(test_subnet_names),
		cmocka_unit_test(test_subnet_file),	  cmocka_unit_test(test_etcd_range),
		cmocka_unit_test(test_etcd_watch_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
