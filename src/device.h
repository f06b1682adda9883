/* device.h - one ferry interface: its TUN device, keys, UDP sockets, peers,
 * tables, counters and the event loop that runs them. */
#ifndef FERRY_DEVICE_H
#define FERRY_DEVICE_H

#include "allowedips.h"
#include "conf.h"
#include "cookie.h"
#include "messages.h"
#include "noise.h"
#include "peer.h"
#include "tun.h"

#include <stdbool.h>
#include <stdint.h>

/* Why a packet was dropped; counted per device, shown by `ferry show`. */
enum drop_reason {
	DROP_SHORT, /* shorter than its message type */
	DROP_UNKNOWN_TYPE,
	DROP_BAD_MAC1,
	DROP_COOKIE_SENT, /* under load without a valid MAC2: answered with a cookie */
	DROP_RATELIMITED,
	DROP_HANDSHAKE_QUEUE_FULL, /* more handshakes waiting than the queue holds */
	DROP_HANDSHAKE_INVALID,	   /* decryption failed, unknown peer, wrong state */
	DROP_STALE_TIMESTAMP,	   /* replayed or old initiation */
	DROP_UNKNOWN_INDEX,
	DROP_KEY_EXPIRED,
	DROP_DECRYPT,
	DROP_REPLAY,
	DROP_BAD_INNER,	     /* not a well-formed IPv4/IPv6 packet inside */
	DROP_DISALLOWED_SRC, /* inner source not in the peer's allowed IPs */
	DROP_NO_PEER,	     /* outbound: no peer for the destination */
	DROP_NO_ENDPOINT,    /* outbound: the peer has no endpoint yet */
	DROP_TOO_BIG,
	DROP_STAGED_OVERFLOW,
	DROP_SEND_ERROR,     /* outbound: the socket or connection refused a message */
	DROP_TUN_WRITE,	     /* inbound: the TUN/TAP device refused a packet */
	DROP_NO_MEMORY,	     /* an allocation failed (staging a packet) */
	DROP_BAD_FERRY,	     /* a ferry message with a bad header, or of the wrong kind for this mode */
	DROP_COMPRESSED_OFF, /* compressed, from a peer without Compression = lz4 */
	DROP_DECOMPRESS,     /* malformed, or larger than the MTU allows */
	DROP_BAD_FRAME,	     /* TAP: shorter than an Ethernet header */
	DROP_BAD_SOURCE_MAC, /* TAP: a group or all-zero source, one pinned to another peer, or (StrictMACs) not the
				peer's */
	DROP_LINK_LOCAL,     /* TAP: to 01:80:c2:00:00:0x (STP, LLDP, EAPOL...), not forwarded by default */
	DROP_TCP_FRAMING,    /* TCP: a length of 0 or beyond the largest message: connection reset */
	DROP_TCP_CUT,	     /* TCP: the stream ended inside a message */
	DROP_TCP_REFUSED,    /* TCP: too many connections that authenticated nothing */
	DROP_MAX
};

extern const char *const drop_reason_name[DROP_MAX];

struct tx_batch;
struct rx_batch;
struct tcp_transport;
struct transport_receiver;
struct ratelimiter;

/* A peer in the timer queue, under the earliest deadline it may have. */
struct timer_entry {
	uint64_t due;
	struct peer *peer;
};

struct device {
	char name[IFNAMSIZ];
	struct tun_device tun;
	unsigned int mtu;
	bool tap;		  /* TAP mode: Ethernet frames, a learning switch */
	struct mactable *macs;	  /* TAP mode */
	bool strict_macs;	  /* TAP: peers may send only from their static MACs */
	bool forward_link_local;  /* TAP: pass 01:80:c2:00:00:0x frames from peers on */
	uint64_t housekeeping_ms; /* MAC ageing and TCP timeouts, once a second */

	struct noise_local local;      /* our keys; peers by key, sessions by index */
	struct cookie_checker checker; /* MAC1 and cookies for what comes to us */

	/* Offloads: wanted (not switched off) and in use (the kernel agreed). */
	bool want_vnet_hdr, want_udp_gso, want_udp_gro;
	bool udp_gso, udp_gro;
	bool tun_gro; /* coalesce writes to the TUN device */

	uint16_t listen_port;	   /* the bound port */
	struct tcp_transport *tcp; /* tcp.c: ListenTCP and connections (NULL: none yet) */
	/* Where the transports hand received messages (receive.c). */
	const struct transport_receiver *receiver;
	uint32_t fwmark;
	int udp4, udp6;

	struct allowedips *aips;
	struct peer *peers_head, *peers_tail; /* in configuration order */
	/* Peers with armed timers: a binary min-heap on due (timers.c), with
	 * room for every peer so that arming a timer never allocates. */
	struct timer_entry *timerq;
	size_t timerq_len, timerq_cap;

	bool force_under_load;		 /* tests: always require cookies */
	struct ratelimiter *ratelimiter; /* handshakes per source, under load */

	uint64_t drops[DROP_MAX];
	uint64_t rx_packets, tx_packets;

	struct tx_batch *txb; /* send.c */
	struct rx_batch *rxb; /* receive.c */

	int epfd, timerfd, uapi_fd;
	uint64_t timer_armed_ms;
	bool stop;
};

/* TAP mode's default MTU: a frame of MTU + 18 (Ethernet header, one VLAN
 * tag) plus the 4-byte ferry header fits the 1420-byte plaintext budget of
 * a 1500-byte underlay, IPv6 included (docs/PROTOCOL.md). */
#define TAP_DEFAULT_MTU 1398

int device_init(struct device *dev, const char *name);
void device_read_offload_switches(struct device *dev);
/* Create (or, unless @exclusive, attach to) the TUN device named like the
 * interface, with vnet_hdr and offloads when available and wanted. */
int device_open_tun(struct device *dev, bool exclusive);
/* The same for TAP mode (layer 2): a TAP device and a MAC table. */
int device_open_tap(struct device *dev, bool exclusive);
void device_destroy(struct device *dev);
/* Apply a configuration or change (UAPI set, config file). Returns 0 or a
 * negative errno, as the UAPI reports it. */
int device_apply(struct device *dev, const struct conf_device *c);
/* Run the event loop until a signal or device_stop(). */
int device_run(struct device *dev);

void device_set_private_key(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN]);
void device_count_drop(struct device *dev, enum drop_reason why);
/* The timers of some peer changed: make sure the loop wakes in time. */
void device_timers_changed(struct device *dev, uint64_t deadline_ms);

#endif
