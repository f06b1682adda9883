/* flannel.c - flannel's network configuration, lease values, lease key
 * names and subnet file (flannel.h). JSON is read with jansson, which
 * checks UTF-8, refuses duplicate keys (JSON_REJECT_DUPLICATES) and bounds
 * nesting; lengths are bounded here before it sees anything. */
#include "flannel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* Go's encoding/json matches keys without regard to case; so does flannel,
 * so "network" is as good as "Network". An exact match wins. */
static json_t *get_ci(json_t *obj, const char *key)
{
	const char *k;
	json_t *v, *found = NULL;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (v)
		return v;
	json_object_foreach(obj, k, v) if (!strcasecmp(k, key)) found = v;
	return found;
}

static json_t *load(const char *json, size_t len, char *err, size_t errlen)
{
	json_error_t e;
	json_t *root;

	if (len > FLANNEL_JSON_MAX) {
		fail(err, errlen, "%zu bytes, more than %d", len, FLANNEL_JSON_MAX);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &e);
	if (!root) {
		fail(err, errlen, "not JSON: %s at byte %d", e.text, e.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		fail(err, errlen, "not a JSON object");
		return NULL;
	}
	return root;
}

/* Dotted quad, strictly (inet_pton), into host order. */
static bool parse_ip4(const char *text, uint32_t *out)
{
	struct in_addr a;

	if (!text || inet_pton(AF_INET, text, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

static bool parse_prefix4(const char *text, size_t len, char sep, uint32_t *net, unsigned int *plen)
{
	char buf[INET_ADDRSTRLEN + 4];
	const char *s;
	unsigned int n = 0;
	size_t i;

	if (len == 0 || len >= sizeof(buf) || memchr(text, '\0', len))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	s = strchr(buf, sep);
	if (!s || !s[1] || strlen(s + 1) > 2)
		return false;
	for (i = 1; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		n = n * 10 + (unsigned int)(s[i] - '0');
	}
	if (n > 32 || (s[1] == '0' && s[2]))
		return false;
	buf[s - buf] = '\0';
	if (!parse_ip4(buf, net))
		return false;
	*plen = n;
	return true;
}

/* An integer in [min, max]; JSON numbers only, as Go's decoder wants them. */
static int get_uint(json_t *obj, const char *key, long long min, long long max, long long *out, bool *present,
		    char *err, size_t errlen)
{
	json_t *v = get_ci(obj, key);

	*present = v && !json_is_null(v);
	if (!*present)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return fail(err, errlen, "%s must be a whole number from %lld to %lld", key, min, max);
	*out = json_integer_value(v);
	return 0;
}

static const char *get_string(json_t *obj, const char *key)
{
	json_t *v = get_ci(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* flannel's defaults and checks (pkg/subnet/config.go CheckNetworkConfig). */
static int config_check(struct flannel_config *c, json_t *root, char *err, size_t errlen)
{
	const char *min = get_string(root, "SubnetMin"), *max = get_string(root, "SubnetMax");
	uint32_t size, last;

	if (c->subnet_len == 0) {
		if (c->network_len > 28)
			return fail(err, errlen, "Network /%u is too small: at most /28", c->network_len);
		c->subnet_len = c->network_len <= 22 ? 24 : c->network_len + 2;
	}
	if (c->subnet_len > 30)
		return fail(err, errlen, "SubnetLen %u: must be at most 30", c->subnet_len);
	if (c->subnet_len < c->network_len + 2)
		return fail(err, errlen, "SubnetLen %u: the Network /%u must hold at least four subnets", c->subnet_len,
			    c->network_len);
	size = (uint32_t)1 << (32 - c->subnet_len);
	last = c->network + ~flannel_mask(c->network_len) - (size - 1);
	/* The Network's first subnet is left out: its first address is the
	 * Network's own. */
	c->subnet_min = c->network + size;
	c->subnet_max = last;
	if (get_ci(root, "SubnetMin") && !json_is_null(get_ci(root, "SubnetMin")) && !parse_ip4(min, &c->subnet_min))
		return fail(err, errlen, "SubnetMin is not an IPv4 address");
	if (get_ci(root, "SubnetMax") && !json_is_null(get_ci(root, "SubnetMax")) && !parse_ip4(max, &c->subnet_max))
		return fail(err, errlen, "SubnetMax is not an IPv4 address");
	if ((c->subnet_min & flannel_mask(c->network_len)) != c->network ||
	    (c->subnet_max & flannel_mask(c->network_len)) != c->network)
		return fail(err, errlen, "SubnetMin and SubnetMax must be inside the Network");
	if (c->subnet_min & (size - 1) || c->subnet_max & (size - 1))
		return fail(err, errlen, "SubnetMin and SubnetMax must start a /%u subnet", c->subnet_len);
	if (c->subnet_min > c->subnet_max)
		return fail(err, errlen, "SubnetMin is above SubnetMax");
	return 0;
}

static int backend_parse(struct flannel_config *c, json_t *be, char *err, size_t errlen)
{
	const char *type = get_string(be, "Type"), *psk, *mode;
	long long v;
	bool present;
	int ret;

	if (!json_is_object(be))
		return fail(err, errlen, "Backend must be an object with \"Type\": \"wireguard\"");
	if (!type || strcmp(type, "wireguard"))
		return fail(err, errlen, "Backend Type '%s': ferry speaks flannel's \"wireguard\" backend only",
			    type ? type : "(none)");
	c->listen_port = FLANNEL_DEFAULT_PORT;
	ret = get_uint(be, "ListenPort", 1, 65535, &v, &present, err, errlen);
	if (ret < 0)
		return ret;
	if (present)
		c->listen_port = (uint16_t)v;
	ret = get_uint(be, "PersistentKeepaliveInterval", 0, 65535, &v, &present, err, errlen);
	if (ret < 0)
		return ret;
	c->keepalive = present ? (uint16_t)v : 0;
	psk = get_string(be, "PSK");
	if (get_ci(be, "PSK") && !json_is_null(get_ci(be, "PSK")) && (!psk || !key_from_base64(c->psk, psk)))
		return fail(err, errlen, "Backend PSK is not a base64 key (as wg genpsk prints)");
	c->has_psk = psk != NULL;
	/* ferry's own key, which flannel ignores: compress between ferry
	 * nodes that both take it (docs/OVERLAY.md). */
	if (get_ci(be, "Compression") && !json_is_null(get_ci(be, "Compression"))) {
		const char *z = get_string(be, "Compression");

		if (!z || (strcmp(z, "lz4") && strcmp(z, "none")))
			return fail(err, errlen, "Backend Compression must be \"lz4\" or \"none\"");
		c->lz4 = !strcmp(z, "lz4");
	}
	/* flannel's Mode: "separate" (default), "auto", "ipv4" all mean one
	 * IPv4 device here; IPv6 leases are not ferry's (docs/OVERLAY.md). */
	mode = get_string(be, "Mode");
	if (mode && strcmp(mode, "separate") && strcmp(mode, "auto") && strcmp(mode, "ipv4"))
		return fail(err, errlen, "Backend Mode '%s': ferry supports IPv4 only", mode);
	return 0;
}

int flannel_config_parse(const char *json, size_t len, struct flannel_config *out, char *err, size_t errlen)
{
	json_t *root, *v;
	const char *net;
	long long n;
	bool present;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	root = load(json, len, err, errlen);
	if (!root)
		return -EINVAL;
	v = get_ci(root, "EnableIPv4");
	if (v && json_is_false(v)) {
		fail(err, errlen, "EnableIPv4 is false: ferry's overlay is IPv4");
		goto out;
	}
	net = get_string(root, "Network");
	if (!net || !parse_prefix4(net, strlen(net), '/', &out->network, &out->network_len)) {
		fail(err, errlen, "Network must be an IPv4 prefix such as \"10.244.0.0/16\"");
		goto out;
	}
	if (out->network & ~flannel_mask(out->network_len)) {
		fail(err, errlen, "Network %s has host bits set", net);
		goto out;
	}
	ret = get_uint(root, "SubnetLen", 0, 32, &n, &present, err, errlen);
	if (ret < 0)
		goto out;
	out->subnet_len = present ? (unsigned int)n : 0;
	ret = config_check(out, root, err, errlen);
	if (ret < 0)
		goto out;
	ret = backend_parse(out, get_ci(root, "Backend"), err, errlen);
out:
	json_decref(root);
	if (ret < 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	while (n--)
		acc |= *p++;
	return !acc;
}

int flannel_lease_parse(const char *json, size_t len, struct flannel_lease *out, char *err, size_t errlen)
{
	json_t *root, *data;
	const char *type, *ip, *key;
	long long port;
	bool present;
	int ret = -EINVAL;

	memset(out, 0, sizeof(*out));
	root = load(json, len, err, errlen);
	if (!root)
		return -EINVAL;
	type = get_string(root, "BackendType");
	if (!type || strcmp(type, "wireguard")) {
		fail(err, errlen, "BackendType '%s' is not \"wireguard\"", type ? type : "(none)");
		goto out;
	}
	ip = get_string(root, "PublicIP");
	if (!parse_ip4(ip, &out->public_ip) || out->public_ip == 0 || out->public_ip == 0xffffffff ||
	    (out->public_ip >> 28) == 0xe || (out->public_ip >> 24) == 127) {
		fail(err, errlen, "PublicIP '%s' is not a usable IPv4 address", ip ? ip : "(none)");
		goto out;
	}
	data = get_ci(root, "BackendData");
	key = get_string(data, "PublicKey");
	if (!key || !key_from_base64(out->public_key, key)) {
		fail(err, errlen, "BackendData.PublicKey is not a base64 WireGuard key");
		goto out;
	}
	if (is_zero(out->public_key, KEY_LEN)) {
		fail(err, errlen, "BackendData.PublicKey is all zeros");
		goto out;
	}
	ret = get_uint(data, "Port", 1, 65535, &port, &present, err, errlen);
	if (ret < 0)
		goto out;
	out->port = present ? (uint16_t)port : 0;
	key = get_string(data, "Compression");
	out->lz4 = key && !strcmp(key, "lz4");
out:
	json_decref(root);
	if (ret < 0) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}

int flannel_lease_format(char *buf, size_t size, const struct flannel_lease *l)
{
	char ip[INET_ADDRSTRLEN], key[KEY_B64_LEN];
	int n;

	flannel_addr_format(ip, sizeof(ip), l->public_ip);
	key_to_base64(key, l->public_key);
	n = snprintf(buf, size,
		     "{\"PublicIP\":\"%s\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"%s\","
		     "\"Port\":%u%s}}",
		     ip, key, (unsigned int)l->port, l->lz4 ? ",\"Compression\":\"lz4\"" : "");
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int flannel_subnet_parse(const char *text, size_t len, uint32_t *net, unsigned int *plen)
{
	if (!parse_prefix4(text, len, '-', net, plen) || (*net & ~flannel_mask(*plen)))
		return -EINVAL;
	return 0;
}

void flannel_addr_format(char *buf, size_t size, uint32_t addr)
{
	snprintf(buf, size, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff, (addr >> 8) & 0xff, addr & 0xff);
}

void flannel_subnet_name(char *buf, size_t size, uint32_t net, unsigned int plen)
{
	char a[INET_ADDRSTRLEN];

	flannel_addr_format(a, sizeof(a), net);
	snprintf(buf, size, "%s-%u", a, plen);
}

void flannel_prefix_format(char *buf, size_t size, uint32_t net, unsigned int plen)
{
	char a[INET_ADDRSTRLEN];

	flannel_addr_format(a, sizeof(a), net);
	snprintf(buf, size, "%s/%u", a, plen);
}

int flannel_env_parse(const char *text, size_t len, struct flannel_env *out, char *err, size_t errlen)
{
	enum { HAVE_NET = 1, HAVE_SUBNET = 2, HAVE_MTU = 4, HAVE_MASQ = 8 };
	unsigned int have = 0;
	const char *p = text, *end = text + len, *nl, *eq;
	char value[64];

	memset(out, 0, sizeof(*out));
	if (len > FLANNEL_ENV_MAX)
		return fail(err, errlen, "longer than %d bytes", FLANNEL_ENV_MAX);
	if (memchr(text, '\0', len))
		return fail(err, errlen, "holds a NUL byte");
	for (; p < end; p = nl + 1) {
		size_t klen, vlen;

		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		eq = memchr(p, '=', (size_t)(nl - p));
		if (!eq)
			continue;
		klen = (size_t)(eq - p);
		vlen = (size_t)(nl - eq - 1);
		if (vlen && eq[vlen] == '\r')
			vlen--;
		if (vlen >= sizeof(value))
			continue;
		memcpy(value, eq + 1, vlen);
		value[vlen] = '\0';
#define IS(k) (klen == strlen(k) && !memcmp(p, k, klen))
		if (IS("FLANNEL_NETWORK")) {
			if (!parse_prefix4(value, vlen, '/', &out->network, &out->network_len) ||
			    (out->network & ~flannel_mask(out->network_len)))
				return fail(err, errlen, "FLANNEL_NETWORK '%s' is not a prefix", value);
			have |= HAVE_NET;
		} else if (IS("FLANNEL_SUBNET")) {
			if (!parse_prefix4(value, vlen, '/', &out->subnet, &out->subnet_len))
				return fail(err, errlen, "FLANNEL_SUBNET '%s' is not an address/length", value);
			have |= HAVE_SUBNET;
		} else if (IS("FLANNEL_MTU")) {
			char *e;
			unsigned long m = strtoul(value, &e, 10);

			if (!vlen || *e || m < 576 || m > 65535)
				return fail(err, errlen, "FLANNEL_MTU '%s' is not an MTU", value);
			out->mtu = (unsigned int)m;
			have |= HAVE_MTU;
		} else if (IS("FLANNEL_IPMASQ")) {
			out->ipmasq = !strcmp(value, "true");
			have |= HAVE_MASQ;
		}
#undef IS
		if (nl == end)
			break;
	}
	if (have != (HAVE_NET | HAVE_SUBNET | HAVE_MTU | HAVE_MASQ))
		return fail(err, errlen, "missing %s%s%s%s", have & HAVE_NET ? "" : "FLANNEL_NETWORK ",
			    have & HAVE_SUBNET ? "" : "FLANNEL_SUBNET ", have & HAVE_MTU ? "" : "FLANNEL_MTU ",
			    have & HAVE_MASQ ? "" : "FLANNEL_IPMASQ");
	if (out->subnet_len < out->network_len || (out->subnet & flannel_mask(out->network_len)) != out->network)
		return fail(err, errlen, "FLANNEL_SUBNET is not inside FLANNEL_NETWORK");
	return 0;
}

int flannel_env_format(char *buf, size_t size, const struct flannel_env *env)
{
	char net[24], sub[24];
	int n;

	flannel_prefix_format(net, sizeof(net), env->network, env->network_len);
	flannel_prefix_format(sub, sizeof(sub), env->subnet, env->subnet_len);
	n = snprintf(buf, size, "FLANNEL_NETWORK=%s\nFLANNEL_SUBNET=%s\nFLANNEL_MTU=%u\nFLANNEL_IPMASQ=%s\n", net, sub,
		     env->mtu, env->ipmasq ? "true" : "false");
	return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
