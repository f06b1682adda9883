/* config.c - configuration files in the INI format of wg(8) and wg-quick(8).
 *
 *	[Interface]
 *	PrivateKey = yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=
 *	ListenPort = 51820
 *	Address = 10.0.0.1/24          # wg-quick style only
 *
 *	[Peer]
 *	PublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=
 *	AllowedIPs = 10.0.0.2/32, fd00::2/128
 *	Endpoint = peer.example.net:51820
 *
 * Keys and section names are case-insensitive, '#' starts a comment
 * anywhere on a line, and whitespace around keys, values and list items is
 * ignored. A file describes the whole device, as `wg setconf` does: it
 * replaces every peer, and every peer's allowed IPs.
 *
 * The file is hostile: lines of any length are handled (the whole file is
 * copied and cut into lines in place, nothing is truncated), a NUL byte is
 * an error, and values quoted back in messages are shortened and stripped
 * of control characters. Secret keys are never quoted, and every copy of
 * the text (which holds the private key) is wiped before it is freed.
 *
 * Errors: the first problem is reported, as "FILE:LINE: Key: 'value'
 * problem", and parsing stops there. One mistake (a misspelt section
 * header, say) tends to make every following line wrong too, so the first
 * message is the useful one; wg(8) stops at the first error as well. The
 * only exception to reading order is a PublicKey shared by two peers, which
 * is found once the whole file has been read. On any error the parser frees
 * what it had built, and the caller is left with a zeroed struct. Warnings
 * (wg-quick keys that ferry accepts but does not apply) do not stop it.
 *
 * Stricter than wg(8), on purpose: wg deletes every space in a line, so it
 * takes "Listen Port = 51 820"; here a space inside a key or a value is an
 * error. Ports are numbers, not service names, and an IPv6 endpoint needs
 * its brackets. A PublicKey twice in one [Peer], or in two peers, is an
 * error rather than a silent merge. */
#include "conf.h"
#include "ether.h"
#include "log.h"
#include "parse.h"
#include "resolver.h"
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* Generous: a peer takes about 200 bytes, so this is some 80,000 peers. */
#define CONF_FILE_MAX (16u << 20)
/* Characters of a value quoted back in a message. */
#define SHOW_MAX 64
/* RFC 791: every IPv4 link carries 68-byte datagrams. IPv6 needs 1280, but
 * only on links that carry IPv6; the kernel turns IPv6 off on a link whose
 * MTU is below that, so the smaller bound is the right one for a file. */
#define MTU_MIN 68
#define MTU_MAX 65535

enum section { SECTION_NONE, SECTION_INTERFACE, SECTION_PEER };

/* Where each peer came from, for messages; parallel to conf_device.peers. */
struct peer_lines {
	unsigned int section; /* the [Peer] line */
	unsigned int key;     /* the PublicKey line, 0 until seen */
};

struct parser {
	const char *name;
	enum conf_style style;
	unsigned int line;
	enum section section;
	struct conf_device *dev;
	struct peer_lines *lines;
};

struct conf_key {
	const char *name;
	enum section section;
	bool wg_quick; /* only in CONF_WG_QUICK files */
	/* NULL: a wg-quick key that ferry accepts and ignores */
	int (*parse)(struct parser *p, char *value);
};

/* Arrays in struct conf_device carry a count but no capacity, so the
 * capacity is implied: the count rounded up to a power of two. The array
 * grows when the count is 0 or a power of two. It is moved by hand rather
 * than with realloc() so that the old copy, which may hold preshared keys,
 * is wiped and not left behind in freed memory. */
void *conf_grow_array(void *array, size_t n, size_t size)
{
	size_t cap = n ? n * 2 : 1;
	void *bigger;

	if (n & (n - 1))
		return array;
	if (cap > SIZE_MAX / size)
		return NULL;
	bigger = calloc(cap, size);
	if (!bigger)
		return NULL;
	if (n) {
		memcpy(bigger, array, n * size);
		sodium_memzero(array, n * size);
	}
	free(array);
	return bigger;
}

int conf_add_prefix(struct ip_prefix **array, size_t *n, const struct ip_prefix *prefix)
{
	struct ip_prefix *bigger = conf_grow_array(*array, *n, sizeof(**array));

	if (!bigger)
		return -ENOMEM;
	*array = bigger;
	bigger[(*n)++] = *prefix;
	return 0;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
		s++;
	while (end > s && (end[-1] == ' ' || (end[-1] >= '\t' && end[-1] <= '\r')))
		end--;
	*end = '\0';
	return s;
}

/* A value as it may be quoted back at a terminal: printable ASCII only,
 * and not too long. */
static const char *show(char out[SHOW_MAX + 4], const char *value)
{
	size_t len = strnlen(value, SHOW_MAX + 1);
	size_t i;

	for (i = 0; i < len && i < SHOW_MAX; i++)
		out[i] = (char)(value[i] >= 0x20 && value[i] < 0x7f ? value[i] : '?');
	if (len > SHOW_MAX) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct parser *p, const char *fmt, ...)
{
	char problem[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof(problem), fmt, ap);
	va_end(ap);
	log_err("%s:%u: %s", p->name, p->line, problem);
	return -EINVAL;
}

/* The usual message: "FILE:LINE: Key: 'value' problem". */
static int fail_value(struct parser *p, const char *key, const char *value, const char *problem)
{
	char shown[SHOW_MAX + 4];

	return fail(p, "%s: '%s' %s", key, show(shown, value), problem);
}

/* Whether a number key also takes the word 'off' (meaning 0), as wg(8)'s
 * FwMark and PersistentKeepalive do. */
enum number_or_off { NUMBER_ONLY, NUMBER_OR_OFF };

static int parse_ranged(struct parser *p, const char *key, const char *value, enum number_or_off words,
			enum parse_number_base base, uint32_t min, uint32_t max, uint32_t *out)
{
	int ret;

	if (words == NUMBER_OR_OFF && !strcasecmp(value, "off")) {
		*out = 0;
		return 0;
	}
	ret = parse_number(value, strlen(value), base, max, out);
	if (ret == -EINVAL)
		return fail_value(p, key, value,
				  words == NUMBER_OR_OFF ? "is neither a number nor 'off'" : "is not a number");
	if (ret == -ERANGE || *out < min) {
		char range[64];

		snprintf(range, sizeof(range), "is out of range (%u-%u)", min, max);
		return fail_value(p, key, value, range);
	}
	return 0;
}

/* Comma-separated prefixes (Address, AllowedIPs); may be given on several
 * lines, which add up. An empty value adds nothing, as in wg(8). */
static int parse_prefix_list(struct parser *p, const char *key, char *value, struct ip_prefix **array, size_t *n)
{
	char *item, *next;

	if (!*value)
		return 0;
	for (item = value; item; item = next) {
		struct ip_prefix prefix;
		const char *why = NULL;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		item = trim(item);
		if (ip_prefix_parse(item, &prefix, &why) < 0)
			return fail_value(p, key, item, why);
		if (conf_add_prefix(array, n, &prefix) < 0)
			return fail(p, "%s: out of memory", key);
	}
	return 0;
}

static struct conf_peer *current_peer(struct parser *p)
{
	return &p->dev->peers[p->dev->n_peers - 1];
}

static int parse_private_key(struct parser *p, char *value)
{
	if (!key_from_base64(p->dev->private_key, value))
		return fail_value(p, "PrivateKey", "(hidden)", "is not a valid base64 key");
	p->dev->flags |= CONF_HAS_PRIVATE_KEY;
	return 0;
}

static int parse_listen_port(struct parser *p, char *value)
{
	uint32_t port = 0;
	int ret = parse_ranged(p, "ListenPort", value, NUMBER_ONLY, PARSE_DECIMAL, 0, 65535, &port);

	if (ret)
		return ret;
	p->dev->listen_port = (uint16_t)port;
	p->dev->flags |= CONF_HAS_LISTEN_PORT;
	return 0;
}

static int parse_fwmark(struct parser *p, char *value)
{
	int ret = parse_ranged(p, "FwMark", value, NUMBER_OR_OFF, PARSE_DECIMAL_HEX, 0, UINT32_MAX, &p->dev->fwmark);

	if (ret)
		return ret;
	p->dev->flags |= CONF_HAS_FWMARK;
	return 0;
}

static int parse_address(struct parser *p, char *value)
{
	return parse_prefix_list(p, "Address", value, &p->dev->addresses, &p->dev->n_addresses);
}

static int parse_mtu(struct parser *p, char *value)
{
	uint32_t mtu = 0;
	int ret = parse_ranged(p, "MTU", value, NUMBER_ONLY, PARSE_DECIMAL, MTU_MIN, MTU_MAX, &mtu);

	if (ret)
		return ret;
	p->dev->mtu = mtu;
	p->dev->flags |= CONF_HAS_MTU;
	return 0;
}

static int parse_public_key(struct parser *p, char *value)
{
	struct peer_lines *lines = &p->lines[p->dev->n_peers - 1];

	if (lines->key)
		return fail_value(p, "PublicKey", value, "is a second PublicKey for this [Peer]");
	if (!key_from_base64(current_peer(p)->public_key, value))
		return fail_value(p, "PublicKey", value, "is not a valid base64 key");
	lines->key = p->line;
	return 0;
}

static int parse_preshared_key(struct parser *p, char *value)
{
	struct conf_peer *peer = current_peer(p);

	if (!key_from_base64(peer->preshared_key, value))
		return fail_value(p, "PresharedKey", "(hidden)", "is not a valid base64 key");
	peer->flags |= CONF_PEER_HAS_PSK;
	return 0;
}

static int parse_peer_endpoint(struct parser *p, char *value)
{
	struct conf_peer *peer = current_peer(p);
	const char *why = NULL;

	/* Names are resolved, as wg(8) resolves them. */
	if (parse_endpoint(value, strlen(value), PARSE_HOST_RESOLVE, &peer->endpoint, &why) < 0)
		return fail_value(p, "Endpoint", value, why);
	peer->flags |= CONF_PEER_HAS_ENDPOINT;
	/* A name is kept: resolved again when handshakes go unanswered. */
	free(peer->endpoint_name);
	peer->endpoint_name = NULL;
	if (resolver_is_name(value) && !(peer->endpoint_name = strdup(value)))
		return fail(p, "Endpoint: out of memory");
	return 0;
}

static int parse_allowedips(struct parser *p, char *value)
{
	struct conf_peer *peer = current_peer(p);

	return parse_prefix_list(p, "AllowedIPs", value, &peer->allowedips, &peer->n_allowedips);
}

static int parse_keepalive(struct parser *p, char *value)
{
	struct conf_peer *peer = current_peer(p);
	uint32_t secs = 0;
	int ret = parse_ranged(p, "PersistentKeepalive", value, NUMBER_OR_OFF, PARSE_DECIMAL, 0, 65535, &secs);

	if (ret)
		return ret;
	peer->persistent_keepalive = (uint16_t)secs;
	peer->flags |= CONF_PEER_HAS_KEEPALIVE;
	return 0;
}

/* A word out of a short list, case-insensitively; its index or -1. */
static int parse_word(struct parser *p, const char *key, const char *value, const char *const *words, size_t n,
		      const char *expected)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcasecmp(value, words[i]))
			return (int)i;
	fail_value(p, key, value, expected);
	return -1;
}

static int parse_mode(struct parser *p, char *value)
{
	static const char *const words[] = { "tun", "tap" };
	int w = parse_word(p, "Mode", value, words, 2, "must be tun or tap");

	if (w < 0)
		return -EINVAL;
	p->dev->mode = w ? CONF_MODE_TAP : CONF_MODE_TUN;
	return 0;
}

static int parse_bridge(struct parser *p, char *value)
{
	const char *why = NULL;

	if (tun_name_check(value, &why) < 0)
		return fail_value(p, "Bridge", value, why);
	snprintf(p->dev->bridge, sizeof(p->dev->bridge), "%s", value);
	return 0;
}

static int parse_strict_macs(struct parser *p, char *value)
{
	static const char *const words[] = { "no", "false", "off", "yes", "true", "on" };
	int w = parse_word(p, "StrictMACs", value, words, 6, "must be yes or no");

	if (w < 0)
		return -EINVAL;
	p->dev->strict_macs = w >= 3;
	p->dev->flags |= CONF_HAS_STRICT_MACS;
	return 0;
}

static int parse_link_local(struct parser *p, char *value)
{
	static const char *const words[] = { "drop", "forward" };
	int w = parse_word(p, "LinkLocal", value, words, 2, "must be drop or forward");

	if (w < 0)
		return -EINVAL;
	p->dev->forward_link_local = w == 1;
	p->dev->flags |= CONF_HAS_LINK_LOCAL;
	return 0;
}

static int parse_listen_tcp(struct parser *p, char *value)
{
	uint32_t port = 0;
	int ret = parse_ranged(p, "ListenTCP", value, NUMBER_ONLY, PARSE_DECIMAL, 1, 65535, &port);

	if (ret)
		return ret;
	p->dev->listen_tcp = (uint16_t)port;
	p->dev->flags |= CONF_HAS_LISTEN_TCP;
	return 0;
}

/* Resolved now, so that a user unknown here is reported at its line, not
 * when the daemon is about to drop privileges. */
static int parse_user(struct parser *p, char *value)
{
	const char *why = NULL;

	if (sandbox_parse_user(value, &p->dev->user, &why) < 0)
		return fail_value(p, "User", value, why);
	p->dev->has_user = true;
	return 0;
}

static int parse_sandbox(struct parser *p, char *value)
{
	static const char *const words[] = { "on", "off" };
	int w = parse_word(p, "Sandbox", value, words, 2, "must be on or off");

	if (w < 0)
		return -EINVAL;
	p->dev->sandbox_off = w == 1;
	return 0;
}

static int parse_compression(struct parser *p, char *value)
{
	static const char *const words[] = { "none", "off", "lz4" };
	struct conf_peer *peer = current_peer(p);
	int w = parse_word(p, "Compression", value, words, 3, "must be lz4 or none");

	if (w < 0)
		return -EINVAL;
	peer->compression = w == 2 ? CONF_COMPRESS_LZ4 : CONF_COMPRESS_NONE;
	peer->flags |= CONF_PEER_HAS_COMPRESSION;
	return 0;
}

static int parse_transport(struct parser *p, char *value)
{
	static const char *const words[] = { "udp", "tcp", "auto" };
	static const enum conf_transport transports[] = { CONF_TRANSPORT_UDP, CONF_TRANSPORT_TCP, CONF_TRANSPORT_AUTO };
	struct conf_peer *peer = current_peer(p);
	int w = parse_word(p, "Transport", value, words, 3, "must be udp, tcp or auto");

	if (w < 0)
		return -EINVAL;
	peer->transport = transports[w];
	peer->flags |= CONF_PEER_HAS_TRANSPORT;
	return 0;
}

/* Transport = auto: the peer's TCP port (its ListenTCP), when it is not
 * the Endpoint's port number. */
static int parse_tcp_port(struct parser *p, char *value)
{
	struct conf_peer *peer = current_peer(p);
	uint32_t port = 0;
	int ret = parse_ranged(p, "TCPPort", value, NUMBER_ONLY, PARSE_DECIMAL, 1, 65535, &port);

	if (ret)
		return ret;
	peer->tcp_port = (uint16_t)port;
	peer->flags |= CONF_PEER_HAS_TCP_PORT;
	return 0;
}

/* aa:bb:cc:dd:ee:ff, a unicast address. */
static int mac_from_text(const char *s, uint8_t mac[CONF_MAC_LEN], const char **why)
{
	if (mac_parse(s, mac) < 0) {
		*why = "is not a MAC address (aa:bb:cc:dd:ee:ff)";
		return -EINVAL;
	}
	if (!ether_is_valid_source(mac)) {
		*why = "is a group (multicast or broadcast) or all-zero address, not a station's";
		return -EINVAL;
	}
	return 0;
}

static int parse_macs(struct parser *p, char *value)
{
	struct conf_peer *peer = current_peer(p);
	char *item, *next;

	for (item = value; item && *value; item = next) {
		uint8_t mac[CONF_MAC_LEN];
		const char *why = NULL;
		void *grown;

		next = strchr(item, ',');
		if (next)
			*next++ = '\0';
		item = trim(item);
		if (mac_from_text(item, mac, &why) < 0)
			return fail_value(p, "MACs", item, why);
		grown = conf_grow_array(peer->macs, peer->n_macs, CONF_MAC_LEN);
		if (!grown)
			return fail(p, "MACs: out of memory");
		peer->macs = grown;
		memcpy(peer->macs[peer->n_macs++], mac, CONF_MAC_LEN);
	}
	return 0;
}

static const struct conf_key conf_keys[] = {
	{ "PrivateKey", SECTION_INTERFACE, false, parse_private_key },
	{ "ListenPort", SECTION_INTERFACE, false, parse_listen_port },
	{ "FwMark", SECTION_INTERFACE, false, parse_fwmark },
	{ "Address", SECTION_INTERFACE, true, parse_address },
	{ "MTU", SECTION_INTERFACE, true, parse_mtu },
	/* ferry's own keys (docs/PROTOCOL.md): with `ferry up` only. */
	{ "Mode", SECTION_INTERFACE, true, parse_mode },
	{ "Bridge", SECTION_INTERFACE, true, parse_bridge },
	{ "StrictMACs", SECTION_INTERFACE, true, parse_strict_macs },
	{ "LinkLocal", SECTION_INTERFACE, true, parse_link_local },
	{ "ListenTCP", SECTION_INTERFACE, true, parse_listen_tcp },
	{ "User", SECTION_INTERFACE, true, parse_user },
	{ "Sandbox", SECTION_INTERFACE, true, parse_sandbox },
	{ "Compression", SECTION_PEER, true, parse_compression },
	{ "Transport", SECTION_PEER, true, parse_transport },
	{ "TCPPort", SECTION_PEER, true, parse_tcp_port },
	{ "MACs", SECTION_PEER, true, parse_macs },
	/* wg-quick runs these itself (resolvconf, routing tables, hooks,
	 * writing the file back); ferry configures none of that. */
	{ "DNS", SECTION_INTERFACE, true, NULL },
	{ "Table", SECTION_INTERFACE, true, NULL },
	{ "PreUp", SECTION_INTERFACE, true, NULL },
	{ "PostUp", SECTION_INTERFACE, true, NULL },
	{ "PreDown", SECTION_INTERFACE, true, NULL },
	{ "PostDown", SECTION_INTERFACE, true, NULL },
	{ "SaveConfig", SECTION_INTERFACE, true, NULL },
	{ "PublicKey", SECTION_PEER, false, parse_public_key },
	{ "PresharedKey", SECTION_PEER, false, parse_preshared_key },
	{ "Endpoint", SECTION_PEER, false, parse_peer_endpoint },
	{ "AllowedIPs", SECTION_PEER, false, parse_allowedips },
	{ "PersistentKeepalive", SECTION_PEER, false, parse_keepalive },
};

static const char *section_name(enum section s)
{
	return s == SECTION_PEER ? "[Peer]" : "[Interface]";
}

static const struct conf_key *find_key(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(conf_keys) / sizeof(conf_keys[0]); i++)
		if (!strcasecmp(conf_keys[i].name, name))
			return &conf_keys[i];
	return NULL;
}

static int process_key(struct parser *p, const char *name, char *value)
{
	const struct conf_key *key = find_key(name);
	char shown[SHOW_MAX + 4];

	if (p->section == SECTION_NONE)
		return fail(p, "'%s' is outside of any [Interface] or [Peer] section", show(shown, name));
	if (!key)
		return fail(p, "unknown key '%s' in %s", show(shown, name), section_name(p->section));
	if (key->section != p->section)
		return fail(p, "%s belongs in %s, not in %s", key->name, section_name(key->section),
			    section_name(p->section));
	if (key->wg_quick && p->style == CONF_WG_SETCONF)
		return fail(p, "%s is a wg-quick key, not accepted by setconf", key->name);
	if (!key->parse) {
		log_warn("%s:%u: %s is not applied by ferry; ignored", p->name, p->line, key->name);
		return 0;
	}
	return key->parse(p, value);
}

/* A [Peer] is complete when the next section starts or the file ends. */
static int end_section(struct parser *p)
{
	unsigned int line;

	if (p->section != SECTION_PEER || p->lines[p->dev->n_peers - 1].key)
		return 0;
	line = p->line;
	p->line = p->lines[p->dev->n_peers - 1].section;
	fail(p, "[Peer] has no PublicKey");
	p->line = line;
	return -EINVAL;
}

static int start_peer(struct parser *p)
{
	struct conf_device *dev = p->dev;
	struct peer_lines *lines;
	struct conf_peer *peers;

	/* Both arrays have n_peers entries, so they grow together. */
	lines = conf_grow_array(p->lines, dev->n_peers, sizeof(*p->lines));
	if (!lines)
		return fail(p, "out of memory");
	p->lines = lines;
	peers = conf_grow_array(dev->peers, dev->n_peers, sizeof(*dev->peers));
	if (!peers)
		return fail(p, "out of memory");
	dev->peers = peers;
	memset(&peers[dev->n_peers], 0, sizeof(peers[0]));
	memset(&lines[dev->n_peers], 0, sizeof(lines[0]));
	/* A file says everything about a peer, so it replaces what the
	 * device had, allowed IPs included. */
	peers[dev->n_peers].flags = CONF_PEER_REPLACE_ALLOWEDIPS;
	lines[dev->n_peers].section = p->line;
	dev->n_peers++;
	return 0;
}

static int process_section(struct parser *p, char *header)
{
	size_t len = strlen(header);
	char shown[SHOW_MAX + 4];
	char *name;
	int ret;

	if (header[len - 1] != ']')
		return fail(p, "'%s' is not a section header: missing ']'", show(shown, header));
	header[len - 1] = '\0';
	name = trim(header + 1);
	ret = end_section(p);
	if (ret)
		return ret;
	if (!strcasecmp(name, "Interface")) {
		p->section = SECTION_INTERFACE;
		return 0;
	}
	if (!strcasecmp(name, "Peer")) {
		p->section = SECTION_PEER;
		return start_peer(p);
	}
	return fail(p, "unknown section '[%s]'", show(shown, name));
}

static int process_line(struct parser *p, char *line)
{
	char *comment = strchr(line, '#');
	char *equals, *key;

	if (comment)
		*comment = '\0';
	line = trim(line);
	if (!*line)
		return 0;
	if (*line == '[')
		return process_section(p, line);
	equals = strchr(line, '=');
	if (!equals)
		return fail(p, "expected 'Key = Value' or a [Section]");
	*equals = '\0';
	key = trim(line);
	if (!*key)
		return fail(p, "missing key before '='");
	return process_key(p, key, trim(equals + 1));
}

struct key_line {
	uint8_t key[KEY_LEN];
	unsigned int line;
};

static int compare_key_lines(const void *a, const void *b)
{
	const struct key_line *x = a, *y = b;
	int diff = memcmp(x->key, y->key, KEY_LEN);

	if (diff)
		return diff;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* Two peers with one PublicKey would be one peer configured twice, which
 * is surely a mistake in a file. Sorting keeps this O(n log n) for files
 * with many peers; the earliest repeated line is the one reported. */
static int check_duplicate_keys(struct parser *p)
{
	struct conf_device *dev = p->dev;
	const struct key_line *dup = NULL, *first = NULL;
	struct key_line *all;
	size_t i;

	if (dev->n_peers < 2)
		return 0;
	all = calloc(dev->n_peers, sizeof(*all));
	if (!all)
		return fail(p, "out of memory");
	for (i = 0; i < dev->n_peers; i++) {
		memcpy(all[i].key, dev->peers[i].public_key, KEY_LEN);
		all[i].line = p->lines[i].key;
	}
	qsort(all, dev->n_peers, sizeof(*all), compare_key_lines);
	for (i = 1; i < dev->n_peers; i++) {
		if (memcmp(all[i - 1].key, all[i].key, KEY_LEN) != 0)
			continue;
		if (!dup || all[i].line < dup->line) {
			dup = &all[i];
			first = &all[i - 1];
		}
	}
	if (dup) {
		char b64[KEY_B64_LEN];

		p->line = dup->line;
		key_to_base64(b64, dup->key);
		log_err("%s:%u: PublicKey: '%s' is also the key of the peer at line %u", p->name, p->line, b64,
			first->line);
	}
	free(all);
	return dup ? -EINVAL : 0;
}

static int parse_text(struct parser *p, char *text, size_t len)
{
	char *end = text + len;
	char *line, *newline;
	int ret;

	for (line = text; line < end; line = newline + 1) {
		p->line++;
		newline = memchr(line, '\n', (size_t)(end - line));
		if (!newline)
			newline = end; /* the last line has no newline; text[len] is NUL */
		*newline = '\0';
		/* strlen() would stop at a NUL and the rest of the line would
		 * be lost without a word: a NUL is an error, as in any text. */
		if ((size_t)(newline - line) != strlen(line))
			return fail(p, "the line contains a NUL byte");
		ret = process_line(p, line);
		if (ret)
			return ret;
	}
	ret = end_section(p);
	if (ret)
		return ret;
	return check_duplicate_keys(p);
}

int conf_parse_buffer(const char *name, const char *buf, size_t len, enum conf_style style, struct conf_device *out)
{
	struct parser p = { .name = name, .style = style, .section = SECTION_NONE, .dev = out };
	char *text;
	int ret;

	memset(out, 0, sizeof(*out));
	if (len >= SIZE_MAX)
		return fail(&p, "too large");
	text = malloc(len + 1);
	if (!text)
		return fail(&p, "out of memory");
	if (len)
		memcpy(text, buf, len); /* buf may be NULL when len is 0 */
	text[len] = '\0';
	out->flags = CONF_REPLACE_PEERS;
	ret = parse_text(&p, text, len);
	sodium_memzero(text, len + 1);
	free(text);
	free(p.lines);
	if (ret)
		conf_device_free(out);
	return ret;
}

/* Read the whole file; it may be a pipe (wg-quick feeds `wg setconf` a
 * process substitution), so read to EOF rather than trust st_size. */
static int read_file(const char *path, char **out, size_t *out_len)
{
	size_t len = 0, cap = 0;
	char *buf = NULL;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		log_err("%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & S_IRWXO))
		log_warn("%s: is world accessible; a config file holds secret keys (chmod 600)", path);
	for (;;) {
		ssize_t n;

		if (len == cap) {
			size_t bigger_cap = cap ? cap * 2 : 4096;
			char *bigger;

			if (cap >= CONF_FILE_MAX) {
				log_err("%s: larger than %u MiB", path, CONF_FILE_MAX >> 20);
				ret = -EFBIG;
				goto err;
			}
			/* By hand, not realloc(): the old copy is wiped. */
			bigger = malloc(bigger_cap);
			if (!bigger) {
				log_err("%s: out of memory", path);
				ret = -ENOMEM;
				goto err;
			}
			if (buf) {
				memcpy(bigger, buf, len);
				sodium_memzero(buf, cap);
			}
			free(buf);
			buf = bigger;
			cap = bigger_cap;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			log_err("%s: %s", path, strerror(errno));
			goto err;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	*out = buf;
	*out_len = len;
	return 0;
err:
	if (buf)
		sodium_memzero(buf, cap);
	free(buf);
	close(fd);
	return ret;
}

/* Problems with the file itself (missing, unreadable, larger than
 * CONF_FILE_MAX) return their own errno; problems in its text -EINVAL. */
int conf_parse_file(const char *path, enum conf_style style, struct conf_device *out)
{
	size_t len = 0;
	char *buf = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = read_file(path, &buf, &len);
	if (ret)
		return ret;
	ret = conf_parse_buffer(path, buf, len, style, out);
	if (buf)
		sodium_memzero(buf, len);
	free(buf);
	return ret;
}

void conf_device_free(struct conf_device *c)
{
	size_t i;

	for (i = 0; i < c->n_peers; i++) {
		free(c->peers[i].allowedips);
		free(c->peers[i].macs);
		free(c->peers[i].endpoint_name);
	}
	if (c->peers)
		sodium_memzero(c->peers, c->n_peers * sizeof(*c->peers));
	free(c->peers);
	free(c->addresses);
	sodium_memzero(c, sizeof(*c));
}
