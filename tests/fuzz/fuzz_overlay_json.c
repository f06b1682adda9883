/* Fuzz target: everything overlay mode reads from etcd or from files others
 * may write: the network configuration and lease values (flannel.c), the
 * subnet file, lease key names, and etcd's range answers and watch stream
 * (etcd.c). Whatever the bytes, no crash, no leak, and these must hold:
 *   - a configuration accepted has SubnetMin <= SubnetMax inside the Network;
 *   - a lease accepted formats and parses back to itself;
 *   - a subnet file accepted formats and parses back to itself;
 *   - the watch stream, fed in two pieces, gives what it gives fed whole. */
#include "etcd.h"
#include "flannel.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void config(const char *s, size_t n)
{
	struct flannel_config c;
	char err[FLANNEL_ERR_LEN];

	if (flannel_config_parse(s, n, &c, err, sizeof(err)) < 0)
		return;
	if (c.subnet_min > c.subnet_max || c.subnet_len > 30 || c.subnet_len < c.network_len + 2 ||
	    (c.subnet_min & flannel_mask(c.network_len)) != c.network ||
	    (c.subnet_max & flannel_mask(c.network_len)) != c.network || !c.listen_port)
		abort();
}

static void lease(const char *s, size_t n)
{
	struct flannel_lease l, back;
	char buf[256];
	int len;

	if (flannel_lease_parse(s, n, &l, NULL, 0) < 0)
		return;
	if (!l.port)
		l.port = 1;
	len = flannel_lease_format(buf, sizeof(buf), &l);
	if (len < 0 || flannel_lease_parse(buf, (size_t)len, &back, NULL, 0) < 0 || memcmp(&l, &back, sizeof(l)))
		abort();
}

static void env(const char *s, size_t n)
{
	struct flannel_env e, back;
	char buf[256];
	int len;

	if (flannel_env_parse(s, n, &e, NULL, 0) < 0)
		return;
	len = flannel_env_format(buf, sizeof(buf), &e);
	if (len < 0 || flannel_env_parse(buf, (size_t)len, &back, NULL, 0) < 0 || memcmp(&e, &back, sizeof(e)))
		abort();
}

/* Count the messages and events a stream gives, fed in two pieces. */
static size_t stream(const char *s, size_t n, size_t cut)
{
	struct etcd_stream st = { 0 };
	struct etcd_watch_msg m;
	size_t count = 0;
	int ret;

	if (etcd_stream_feed(&st, s, cut) < 0)
		abort();
	while ((ret = etcd_stream_next(&st, &m)) != 0) {
		count += ret == 1 ? 1000 + m.n_events : 1;
		etcd_watch_msg_free(&m);
	}
	if (etcd_stream_feed(&st, s + cut, n - cut) < 0)
		abort();
	while ((ret = etcd_stream_next(&st, &m)) != 0) {
		count += ret == 1 ? 1000 + m.n_events : 1;
		etcd_watch_msg_free(&m);
	}
	etcd_stream_reset(&st);
	return count;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct etcd_kvs kvs;
	unsigned int plen;
	uint32_t net;

	config(s, size);
	lease(s, size);
	env(s, size);
	if (flannel_subnet_parse(s, size, &net, &plen) == 0 && (plen > 32 || (net & ~flannel_mask(plen))))
		abort();
	if (etcd_parse_range(s, size, &kvs) == 0) {
		for (size_t i = 0; i < kvs.n; i++)
			if (!kvs.kv[i].key || !kvs.kv[i].value || strlen(kvs.kv[i].key) != kvs.kv[i].key_len)
				abort();
		etcd_kvs_free(&kvs);
	}
	if (stream(s, size, size / 2) != stream(s, size, size))
		abort();
	return 0;
}
