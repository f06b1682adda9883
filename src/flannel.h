/* flannel.h - flannel's formats, which overlay mode shares with flannel so
 * that its users and tools recognise everything (docs/OVERLAY.md):
 *   - the network configuration at PREFIX/config (JSON),
 *   - one lease per node at PREFIX/subnets/10.244.3.0-24 (JSON),
 *   - the subnet file, /run/ferry/subnet.env (FLANNEL_* variables).
 * Everything here is a pure function of its input: what comes from etcd is
 * hostile, so each parser takes a length, refuses anything over a bound,
 * and reports what was wrong in @err for a log line. IPv4 addresses are
 * uint32_t in host byte order, so that subnets are plain arithmetic. */
#ifndef FERRY_FLANNEL_H
#define FERRY_FLANNEL_H

#include "encoding.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLANNEL_DEFAULT_PREFIX "/coreos.com/network"
#define FLANNEL_DEFAULT_PORT   51820
/* A configuration or lease value longer than this is refused unread. */
#define FLANNEL_JSON_MAX (64 * 1024)
/* The subnet file is a handful of short lines. */
#define FLANNEL_ENV_MAX 4096
#define FLANNEL_ERR_LEN 160

/* PREFIX/config, with flannel's defaults and checks applied. */
struct flannel_config {
	uint32_t network;	  /* Network, e.g. 10.244.0.0 */
	unsigned int network_len; /* its prefix length, e.g. 16 */
	unsigned int subnet_len;  /* SubnetLen (default 24, see flannel_config_parse) */
	uint32_t subnet_min;	  /* SubnetMin: the first subnet to lease */
	uint32_t subnet_max;	  /* SubnetMax: the last one */
	uint16_t listen_port;	  /* Backend.ListenPort (51820) */
	uint16_t keepalive;	  /* Backend.PersistentKeepaliveInterval, seconds (0: off) */
	bool has_psk;		  /* Backend.PSK */
	uint8_t psk[KEY_LEN];
	bool lz4; /* Backend.Compression = "lz4": ferry's own, between ferry nodes */
};

/* Parse and check a network configuration. Keys are matched without regard
 * to case, as Go's encoding/json does for flannel. Returns 0, or -EINVAL
 * with the reason in @err. */
int flannel_config_parse(const char *json, size_t len, struct flannel_config *out, char *err, size_t errlen);

/* A lease's value: {"PublicIP": "192.0.2.3", "BackendType": "wireguard",
 * "BackendData": {"PublicKey": "<base64>", "Port": 51820}}. */
struct flannel_lease {
	uint32_t public_ip;
	uint8_t public_key[KEY_LEN];
	uint16_t port; /* 0 when BackendData has none (flannel writes none) */
	bool lz4;      /* BackendData.Compression = "lz4": a ferry node that takes LZ4 */
};

/* Returns 0, or -EINVAL with the reason in @err: not JSON, not a
 * wireguard lease, a missing or invalid public key or address. */
int flannel_lease_parse(const char *json, size_t len, struct flannel_lease *out, char *err, size_t errlen);
/* The value this node writes. Returns its length, or -ENOSPC. */
int flannel_lease_format(char *buf, size_t size, const struct flannel_lease *l);

/* The last element of a lease key, "10.244.3.0-24". Returns 0 or -EINVAL
 * (also for host bits set beyond the prefix length). */
int flannel_subnet_parse(const char *text, size_t len, uint32_t *net, unsigned int *plen);
/* Write "10.244.3.0-24"; @size of 20 is always enough. */
void flannel_subnet_name(char *buf, size_t size, uint32_t net, unsigned int plen);
/* "10.244.3.0/24" */
void flannel_prefix_format(char *buf, size_t size, uint32_t net, unsigned int plen);
void flannel_addr_format(char *buf, size_t size, uint32_t addr);

static inline uint32_t flannel_mask(unsigned int plen)
{
	return plen ? ~(uint32_t)0 << (32 - plen) : 0;
}

/* Whether a and b (prefixes) overlap. */
static inline bool flannel_overlap(uint32_t a, unsigned int alen, uint32_t b, unsigned int blen)
{
	uint32_t m = flannel_mask(alen < blen ? alen : blen);

	return (a & m) == (b & m);
}

/* The subnet file. FLANNEL_SUBNET is the node's gateway address with the
 * subnet's length (10.244.3.1/24). */
struct flannel_env {
	uint32_t network;
	unsigned int network_len;
	uint32_t subnet; /* the gateway address, host bits kept */
	unsigned int subnet_len;
	unsigned int mtu;
	bool ipmasq;
};

/* Parse a subnet file's text; every variable must be present and valid.
 * Returns 0, or -EINVAL with the reason in @err. */
int flannel_env_parse(const char *text, size_t len, struct flannel_env *out, char *err, size_t errlen);
/* Format it; returns the length or -ENOSPC. */
int flannel_env_format(char *buf, size_t size, const struct flannel_env *env);

#endif
