/* peer.h - a peer, its handshake state, its keypairs, and the tables that
 * find them: by public key (configuration, incoming initiations) and by
 * session index (responses, cookie replies, data messages). */
#ifndef FERRY_PEER_H
#define FERRY_PEER_H

#include "conf.h"
#include "cookie.h"
#include "fragment.h"
#include "mactable.h"
#include "tcpframe.h"
#include "messages.h"
#include "reach.h"
#include "replay.h"
#include "transport.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct device;
struct noise_local;
struct peer;

enum index_kind { INDEX_HANDSHAKE, INDEX_KEYPAIR };

/* An entry of the session index table; embedded in what it names. */
struct index_entry {
	uint32_t index;
	enum index_kind kind;
	struct peer *peer;
	struct index_entry *next;
	bool hashed;
};

struct keypair {
	struct index_entry entry; /* entry.index is our (receiving) index */
	uint8_t send_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t recv_key[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t send_counter; /* the next nonce */
	struct replay_counter replay;
	uint32_t remote_index;
	uint64_t birth_ms;
	bool i_am_initiator;
};

enum handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

struct handshake {
	struct index_entry entry; /* our index while a handshake is in flight */
	enum handshake_state state;
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t hash[CRYPT_HASH_LEN];
	uint8_t chaining_key[CRYPT_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint32_t remote_index;
	uint64_t last_initiation_consumption_ms;
};

/* A packet waiting for a session: an IP packet (FERRY_KIND_IP; empty: a
 * keepalive) or an Ethernet frame (FERRY_KIND_ETHERNET), as it came from
 * the device, sealed when a session exists (send.c). */
struct staged_packet {
	uint8_t kind; /* enum ferry_kind */
	uint16_t len;
	uint8_t *data;
};

/* TAP mode: the most MAC addresses one peer may have learned at a time
 * (docs/PROTOCOL.md); static MACs do not count. */
#define PEER_MAC_CAP 1024

struct peer {
	struct device *dev;
	struct noise_local *local; /* our keys and the tables that find this peer */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t static_static[NOISE_PUBLIC_KEY_LEN]; /* DH(our private, their public), precomputed */
	bool static_static_ok;
	struct handshake hs;
	struct keypair *current, *previous, *next;
	struct cookie_state cookie;

	struct transport_peer transport; /* its endpoint, how to reach it over TCP, bytes sent */
	struct peer_reach reach;	 /* its Endpoint's name, Transport = auto (reach.h) */
	uint16_t persistent_keepalive_s;

	/* Timers: absolute monotonic milliseconds, 0 when not armed. While
	 * any is armed the peer sits in the device's timer queue (timers.c). */
	uint64_t timer_retransmit_handshake;
	uint64_t timer_send_keepalive;
	uint64_t timer_new_handshake;
	uint64_t timer_zero_key_material;
	uint64_t timer_persistent_keepalive;
	uint64_t timer_probe_udp;    /* Transport = auto, fallen back to TCP (reach.c) */
	uint32_t timer_slot;	     /* 1 + its place in dev->timerq; 0: not queued */
	struct peer *timer_due_next; /* timers_run's list of peers due */
	unsigned int handshake_attempts;
	bool need_another_keepalive;
	bool sent_lastminute_handshake;
	uint64_t last_sent_handshake_ms;

	uint64_t rx_bytes;

	/* The path to the peer: its MTU as learned from ICMP (0: not learned)
	 * and until when that holds (send.c, receive.c). */
	uint16_t path_mtu;
	uint64_t path_mtu_until_ms;

	/* ferry extensions (docs/PROTOCOL.md) */
	uint32_t fragment_id;		 /* of the next fragmented message we send */
	struct fragment_table fragments; /* the peer's fragmented messages being put back together */
	bool compress;			 /* Compression = lz4 */
	struct mac_owner mac_owner;	 /* TAP mode: the MACs learned behind this peer */
	struct timespec last_handshake;	 /* wall clock; 0 = never */

	/* Packets waiting for a session, oldest first: a ring of
	 * MAX_STAGED_PACKETS, allocated by the first packet to wait and freed
	 * when the last one leaves, so that idle peers do not hold 2 KiB each. */
	struct staged_packet *staged;
	unsigned int staged_head, staged_count;

	struct peer *hash_next;		    /* by public key */
	struct peer *list_next, *list_prev; /* in configuration order */
};

static inline struct peer *peer_of_mac_owner(struct mac_owner *o)
{
	return (struct peer *)(void *)((char *)o - offsetof(struct peer, mac_owner));
}

/* Control path (configuration; may allocate): a peer comes and goes. */
struct peer *peer_create(struct device *dev, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
void peer_remove(struct peer *p);

/* Packet path: peers by public key, and session indices. */
struct peer *peer_lookup(struct noise_local *l, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN]);
/* Recompute what depends on our private key (static_static). */
void peer_refresh_static(struct peer *p);

/* Register @e under a fresh random index in @dev's table. */
void index_add(struct noise_local *l, struct index_entry *e, enum index_kind kind, struct peer *p);
void index_remove(struct noise_local *l, struct index_entry *e);
/* Move @from's index to @to (a handshake's index becomes its keypair's). */
void index_take_over(struct noise_local *l, struct index_entry *from, struct index_entry *to, enum index_kind kind);
struct index_entry *index_lookup(struct noise_local *l, uint32_t index, enum index_kind kind);

/* Copy a packet of @kind into @p's queue of packets that wait for a
 * session; when the queue is full, the oldest goes. */
void peer_stage(struct peer *p, enum ferry_kind kind, const uint8_t *pkt, size_t len);
/* Drop the oldest staged packet (sent or discarded); the last one takes
 * the ring with it. */
void peer_unstage_oldest(struct peer *p);
void peer_purge_staged(struct peer *p);

#endif
