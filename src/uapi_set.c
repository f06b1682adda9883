/* uapi_set.c - the "set" operation of the cross-platform userspace API
 * (https://www.wireguard.com/xplatform/), turned into a struct conf_device.
 *
 * The body is "key=value\n" lines up to a blank line (or the end of the
 * buffer): device keys first, then for each peer a public_key= line and
 * that peer's keys. Nothing is applied here; the daemon applies the result
 * in order (peers in the order given; the same public key may come twice,
 * and then means what it would mean applied twice).
 *
 * Errors follow wireguard-go (device/uapi.go, IpcSetOperation and the
 * handle*Line functions; the codes are ipc/uapi_unix.go's):
 *   - a line without '='                               -EPROTO (IpcErrorProtocol)
 *   - an unknown key, including a device key after the
 *     first public_key (it is then an unknown peer key)  -EINVAL (IpcErrorInvalid)
 *   - a bad value                                      -EINVAL (IpcErrorInvalid)
 * So an unknown key is -EINVAL, not -EPROTO: wg(8) and every client expect
 * what wireguard-go answers. wireguard-go strips a '\r' before each '\n'
 * (bufio.ScanLines) and so does this parser. Beyond wireguard-go: a NUL
 * byte in a line is -EINVAL (a line without '=' stays -EPROTO), an
 * allowed_ip must have a /length (as netip.ParsePrefix requires), and an
 * endpoint's port must not be 0.
 *
 * Numbers are decimal only, as Go's strconv.ParseUint(value, 10, bits), and
 * endpoints numeric only, as netip.ParseAddrPort: parse.h's parsers, which
 * config files share, with those choices.
 *
 * Nothing is logged except at debug level, and then never the text of the
 * request (it holds keys): the daemon answers errno=N to the client, which
 * reports it. */
#include "conf.h"
#include "log.h"
#include "parse.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct uapi_parser {
	struct conf_device *dev;
	unsigned int line;
	/* The peer that keys apply to: NULL before the first public_key, or
	 * &discard after remove=true. */
	struct conf_peer *peer;
	/* After remove=true, wireguard-go still checks the peer's remaining
	 * values but applies them to a placeholder; so does this parser. */
	struct conf_peer discard;
};

static int invalid(struct uapi_parser *p, const char *why)
{
	log_debug("uapi set: line %u: %s", p->line, why);
	return -EINVAL;
}

static bool key_is(const char *key, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(key, name, len);
}

static bool value_is_true(const char *value, size_t len)
{
	return key_is(value, len, "true");
}

static int parse_hex_key(uint8_t key[KEY_LEN], const char *value, size_t len)
{
	char text[KEY_HEX_LEN];
	bool ok;

	if (len != KEY_HEX_LEN - 1)
		return -EINVAL;
	memcpy(text, value, len);
	text[len] = '\0';
	ok = key_from_hex(key, text);
	sodium_memzero(text, sizeof(text));
	return ok ? 0 : -EINVAL;
}

static int parse_allowed_ip(struct conf_peer *peer, const char *value, size_t len)
{
	char text[IP_PREFIX_STRLEN];
	struct ip_prefix prefix;

	if (len >= sizeof(text) || !memchr(value, '/', len))
		return -EINVAL;
	memcpy(text, value, len);
	text[len] = '\0';
	if (ip_prefix_parse(text, &prefix, NULL) < 0)
		return -EINVAL;
	return conf_add_prefix(&peer->allowedips, &peer->n_allowedips, &prefix);
}

static int device_line(struct uapi_parser *p, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct conf_device *dev = p->dev;
	uint32_t number;

	if (key_is(key, klen, "private_key")) {
		/* All zeros is allowed: it removes the key. */
		if (parse_hex_key(dev->private_key, value, vlen))
			return invalid(p, "bad private_key");
		dev->flags |= CONF_HAS_PRIVATE_KEY;
	} else if (key_is(key, klen, "listen_port")) {
		if (parse_number(value, vlen, PARSE_DECIMAL, 65535, &number))
			return invalid(p, "bad listen_port");
		dev->listen_port = (uint16_t)number;
		dev->flags |= CONF_HAS_LISTEN_PORT;
	} else if (key_is(key, klen, "fwmark")) {
		if (parse_number(value, vlen, PARSE_DECIMAL, UINT32_MAX, &dev->fwmark))
			return invalid(p, "bad fwmark");
		dev->flags |= CONF_HAS_FWMARK;
	} else if (key_is(key, klen, "replace_peers")) {
		if (!value_is_true(value, vlen))
			return invalid(p, "replace_peers is not 'true'");
		dev->flags |= CONF_REPLACE_PEERS;
	} else {
		return invalid(p, "unknown device key");
	}
	return 0;
}

static int start_peer(struct uapi_parser *p, const char *value, size_t vlen)
{
	struct conf_device *dev = p->dev;
	struct conf_peer *peers;

	peers = conf_grow_array(dev->peers, dev->n_peers, sizeof(*peers));
	if (!peers)
		return -ENOMEM;
	dev->peers = peers;
	p->peer = &peers[dev->n_peers];
	memset(p->peer, 0, sizeof(*p->peer));
	dev->n_peers++;
	if (parse_hex_key(p->peer->public_key, value, vlen))
		return invalid(p, "bad public_key");
	return 0;
}

/* remove=true: the peer goes, and nothing else said about it matters. */
static void remove_peer(struct uapi_parser *p)
{
	struct conf_peer *peer = p->peer;

	free(peer->allowedips);
	peer->allowedips = NULL;
	peer->n_allowedips = 0;
	sodium_memzero(peer->preshared_key, sizeof(peer->preshared_key));
	memset(&peer->endpoint, 0, sizeof(peer->endpoint));
	peer->persistent_keepalive = 0;
	peer->flags = CONF_PEER_REMOVE;
	p->peer = &p->discard;
}

static int peer_line(struct uapi_parser *p, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct conf_peer *peer = p->peer;
	uint32_t number;

	if (key_is(key, klen, "remove")) {
		if (!value_is_true(value, vlen))
			return invalid(p, "remove is not 'true'");
		if (peer != &p->discard)
			remove_peer(p);
	} else if (key_is(key, klen, "update_only")) {
		if (!value_is_true(value, vlen))
			return invalid(p, "update_only is not 'true'");
		peer->flags |= CONF_PEER_UPDATE_ONLY;
	} else if (key_is(key, klen, "preshared_key")) {
		if (parse_hex_key(peer->preshared_key, value, vlen))
			return invalid(p, "bad preshared_key");
		peer->flags |= CONF_PEER_HAS_PSK;
	} else if (key_is(key, klen, "endpoint")) {
		/* Numbers only: wg(8) resolves names before it sends them. */
		if (parse_endpoint(value, vlen, PARSE_HOST_NUMERIC, &peer->endpoint, NULL))
			return invalid(p, "bad endpoint");
		peer->flags |= CONF_PEER_HAS_ENDPOINT;
	} else if (key_is(key, klen, "persistent_keepalive_interval")) {
		if (parse_number(value, vlen, PARSE_DECIMAL, 65535, &number))
			return invalid(p, "bad persistent_keepalive_interval");
		peer->persistent_keepalive = (uint16_t)number;
		peer->flags |= CONF_PEER_HAS_KEEPALIVE;
	} else if (key_is(key, klen, "replace_allowed_ips")) {
		if (!value_is_true(value, vlen))
			return invalid(p, "replace_allowed_ips is not 'true'");
		/* In wireguard-go this removes the allowed IPs at this point
		 * of the request, including any given above it. */
		peer->n_allowedips = 0;
		peer->flags |= CONF_PEER_REPLACE_ALLOWEDIPS;
	} else if (key_is(key, klen, "allowed_ip")) {
		int ret = parse_allowed_ip(peer, value, vlen);

		if (ret)
			return ret == -EINVAL ? invalid(p, "bad allowed_ip") : ret;
	} else if (key_is(key, klen, "ferry_compression")) {
		/* ferry's own (ferry overlay sets it): Compression = lz4 | none */
		if (!key_is(value, vlen, "lz4") && !key_is(value, vlen, "none"))
			return invalid(p, "ferry_compression is not lz4 or none");
		peer->compression = key_is(value, vlen, "lz4") ? CONF_COMPRESS_LZ4 : CONF_COMPRESS_NONE;
		peer->flags |= CONF_PEER_HAS_COMPRESSION;
	} else if (key_is(key, klen, "protocol_version")) {
		if (!key_is(value, vlen, "1"))
			return invalid(p, "protocol_version is not 1");
	} else {
		return invalid(p, "unknown peer key");
	}
	return 0;
}

static int parse_line(struct uapi_parser *p, const char *line, size_t len)
{
	const char *equals = memchr(line, '=', len);
	const char *value;
	size_t klen, vlen;

	if (!equals) {
		log_debug("uapi set: line %u: no '='", p->line);
		return -EPROTO;
	}
	if (memchr(line, '\0', len))
		return invalid(p, "NUL byte");
	klen = (size_t)(equals - line);
	value = equals + 1;
	vlen = len - klen - 1;
	/* public_key= starts a peer; from then on, every key is a peer's. */
	if (key_is(line, klen, "public_key"))
		return start_peer(p, value, vlen);
	if (!p->peer)
		return device_line(p, line, klen, value, vlen);
	return peer_line(p, line, klen, value, vlen);
}

int uapi_parse_set(const char *buf, size_t len, struct conf_device *out)
{
	struct uapi_parser p = { .dev = out };
	size_t pos = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	while (pos < len) {
		const char *line = buf + pos;
		const char *newline = memchr(line, '\n', len - pos);
		size_t n = newline ? (size_t)(newline - line) : len - pos;

		pos += n + (newline ? 1 : 0);
		p.line++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if (n == 0)
			break; /* the blank line that ends the request */
		ret = parse_line(&p, line, n);
		if (ret)
			break;
	}
	free(p.discard.allowedips);
	sodium_memzero(&p.discard, sizeof(p.discard));
	if (ret)
		conf_device_free(out);
	return ret;
}
