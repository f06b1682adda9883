/* conf.h - a device configuration, or a change to one, as read from a
 * config file (wg-quick or wg setconf style) or from a UAPI "set" request.
 * The daemon applies a struct conf_device to its running state. */
#ifndef FERRY_CONF_H
#define FERRY_CONF_H

#include "addr.h"
#include "encoding.h"
#include "sandbox.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

union conf_endpoint {
	struct sockaddr sa;
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

enum conf_peer_flag {
	CONF_PEER_REMOVE = 1 << 0,	       /* remove=true */
	CONF_PEER_UPDATE_ONLY = 1 << 1,	       /* update_only=true: do not create */
	CONF_PEER_REPLACE_ALLOWEDIPS = 1 << 2, /* replace_allowed_ips=true */
	CONF_PEER_HAS_PSK = 1 << 3,	       /* preshared_key given (all zeros clears it) */
	CONF_PEER_HAS_ENDPOINT = 1 << 4,
	CONF_PEER_HAS_KEEPALIVE = 1 << 5,
	CONF_PEER_HAS_COMPRESSION = 1 << 6, /* ferry: Compression */
	CONF_PEER_HAS_TRANSPORT = 1 << 7,   /* ferry: Transport */
	CONF_PEER_HAS_TCP_PORT = 1 << 8,    /* ferry: TCPPort */
};

/* ferry extensions, between ferry peers only (docs/PROTOCOL.md). */
enum conf_compression { CONF_COMPRESS_NONE, CONF_COMPRESS_LZ4 };
/* auto: UDP, and TCP while handshakes over UDP go unanswered (reach.h). */
enum conf_transport { CONF_TRANSPORT_UDP, CONF_TRANSPORT_TCP, CONF_TRANSPORT_AUTO };
enum conf_mode { CONF_MODE_TUN, CONF_MODE_TAP };

#define CONF_MAC_LEN 6

struct conf_peer {
	uint8_t public_key[KEY_LEN];
	uint8_t preshared_key[KEY_LEN];
	unsigned int flags; /* enum conf_peer_flag */
	union conf_endpoint endpoint;
	/* Config files: the Endpoint as written ("host:port", malloc'd) when
	 * its host is a name, resolved again when handshakes go unanswered;
	 * NULL for an address (and always from the UAPI). */
	char *endpoint_name;
	uint16_t persistent_keepalive; /* seconds, 0 = off */
	struct ip_prefix *allowedips;
	size_t n_allowedips;
	enum conf_compression compression;
	enum conf_transport transport;
	uint16_t tcp_port;	       /* ferry: TCPPort (Transport = auto) */
	uint8_t (*macs)[CONF_MAC_LEN]; /* static MACs (TAP mode) */
	size_t n_macs;
};

enum conf_device_flag {
	CONF_HAS_PRIVATE_KEY = 1 << 0, /* all zeros removes the key */
	CONF_HAS_LISTEN_PORT = 1 << 1,
	CONF_HAS_FWMARK = 1 << 2,
	CONF_REPLACE_PEERS = 1 << 3,
	CONF_HAS_MTU = 1 << 4,	       /* wg-quick [Interface] MTU */
	CONF_HAS_LISTEN_TCP = 1 << 5,  /* ferry: ListenTCP */
	CONF_HAS_STRICT_MACS = 1 << 6, /* ferry: StrictMACs */
	CONF_HAS_LINK_LOCAL = 1 << 7,  /* ferry: LinkLocal */
};

struct conf_device {
	unsigned int flags; /* enum conf_device_flag */
	uint8_t private_key[KEY_LEN];
	uint16_t listen_port;
	uint32_t fwmark;
	unsigned int mtu;
	struct ip_prefix *addresses; /* wg-quick [Interface] Address */
	size_t n_addresses;
	enum conf_mode mode;	 /* ferry: Mode = tun | tap */
	char bridge[16];	 /* ferry: Bridge = NAME ("" none) */
	bool strict_macs;	 /* ferry: StrictMACs = yes: peers send only from their MACs */
	bool forward_link_local; /* ferry: LinkLocal = forward */
	uint16_t listen_tcp;	 /* ferry: ListenTCP = PORT */
	bool has_user;		 /* ferry: User = NAME[:GROUP], resolved */
	struct sandbox_user user;
	bool sandbox_off; /* ferry: Sandbox = off */
	struct conf_peer *peers;
	size_t n_peers;
};

enum conf_style {
	CONF_WG_QUICK,	 /* [Interface] may carry Address, MTU, DNS ... */
	CONF_WG_SETCONF, /* only what `wg setconf` accepts */
};

void conf_device_free(struct conf_device *c);

/* Grow an array of @n elements of @size bytes kept at a power-of-two
 * capacity (grows when @n is 0 or a power of two); the old copy is wiped,
 * as it may hold keys. Returns the array, or NULL (the old one is kept). */
void *conf_grow_array(void *array, size_t n, size_t size);
/* Append a prefix to an array grown by conf_grow_array(): 0 or -ENOMEM. */
int conf_add_prefix(struct ip_prefix **array, size_t *n, const struct ip_prefix *prefix);

/* Parse a config file. Every problem is reported as
 * "ferry: FILE:LINE: Key: 'value' problem" (to stderr through log.h) and the
 * call returns -EINVAL; nothing is half-applied because nothing is applied.
 * A file that cannot be read returns its own errno (-ENOENT, -EACCES, -EFBIG).
 * These parsers, uapi_parse_set too, leave *out zeroed on failure (nothing to
 * free); on success the caller frees it with conf_device_free(). */
int conf_parse_file(const char *path, enum conf_style style, struct conf_device *out);
/* The same over a buffer; @name stands for the file name in messages. */
int conf_parse_buffer(const char *name, const char *buf, size_t len, enum conf_style style, struct conf_device *out);

/* Parse the body of a UAPI "set=1" request (the lines after "set=1", up to
 * the blank line). Returns 0, or a negative errno as the UAPI reports it,
 * as wireguard-go does: -EPROTO for a line without '=', -EINVAL for an
 * unknown key or a bad value. */
int uapi_parse_set(const char *buf, size_t len, struct conf_device *out);

#endif
