/* messages.h - the WireGuard wire formats and protocol constants, with the
 * whitepaper's names. Nothing else lives here. All multi-byte fields are
 * little-endian on the wire. */
#ifndef FERRY_MESSAGES_H
#define FERRY_MESSAGES_H

#include "crypto.h"

#include <stdint.h>

#define NOISE_CONSTRUCTION "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s"
#define NOISE_IDENTIFIER   "WireGuard v1 zx2c4 Jason@zx2c4.com"
#define LABEL_MAC1	   "mac1----"
#define LABEL_COOKIE	   "cookie--"

#define NOISE_PUBLIC_KEY_LEN	CRYPT_KEY_LEN
#define NOISE_SYMMETRIC_KEY_LEN CRYPT_KEY_LEN
#define NOISE_TIMESTAMP_LEN	12
#define NOISE_AUTHTAG_LEN	CRYPT_TAG_LEN
#define COOKIE_LEN		CRYPT_MAC_LEN
#define COOKIE_NONCE_LEN	CRYPT_XNONCE_LEN

/* Timers and limits, whitepaper section 6. FERRY_TEST_TIMERS shortens the
 * time-based ones so that a test can watch a rekey happen. */
#ifdef FERRY_TEST_TIMERS
#define REKEY_AFTER_TIME_S  8
#define REJECT_AFTER_TIME_S 12
#define KEEPALIVE_TIMEOUT_S 2
#else
#define REKEY_AFTER_TIME_S  120
#define REJECT_AFTER_TIME_S 180
#define KEEPALIVE_TIMEOUT_S 10
#endif
#define REKEY_AFTER_MESSAGES	 (1ULL << 60)
#define REJECT_AFTER_MESSAGES	 (UINT64_MAX - COUNTER_WINDOW_SIZE - 1)
#define REKEY_ATTEMPT_TIME_S	 90
#define REKEY_TIMEOUT_S		 5
#define REKEY_TIMEOUT_JITTER_MS	 334
#define MAX_TIMER_HANDSHAKES	 (REKEY_ATTEMPT_TIME_S / REKEY_TIMEOUT_S)
#define COOKIE_SECRET_MAX_AGE_S	 120
#define COOKIE_SECRET_LATENCY_S	 5
#define INITIATIONS_PER_SECOND	 50
#define MESSAGE_PADDING_MULTIPLE 16
#define MAX_STAGED_PACKETS	 128

/* The replay window (RFC 6479): a ring of 64-bit words. */
#define COUNTER_BITS_TOTAL  8192
#define COUNTER_WINDOW_SIZE (COUNTER_BITS_TOTAL - 64)

enum message_type {
	MESSAGE_INVALID = 0,
	MESSAGE_HANDSHAKE_INITIATION = 1,
	MESSAGE_HANDSHAKE_RESPONSE = 2,
	MESSAGE_HANDSHAKE_COOKIE = 3,
	MESSAGE_DATA = 4,
	/* ferry's extension, between ferry peers only (docs/PROTOCOL.md): laid
	 * out like a data message, but the 16-byte header is authenticated as
	 * associated data and the plaintext starts with a struct ferry_header. */
	MESSAGE_FERRY_DATA = 0x46,
};

/* The plaintext of a MESSAGE_FERRY_DATA: this header, @length bytes of
 * payload, zero padding. */
struct ferry_header {
	uint8_t kind;	 /* enum ferry_kind */
	uint8_t flags;	 /* FERRY_FLAG_* */
	uint16_t length; /* little-endian: payload bytes as sent (compressed or not) */
} __attribute__((packed));

enum ferry_kind {
	FERRY_KIND_IP = 1,	 /* an IPv4/IPv6 packet (sent this way when compressed) */
	FERRY_KIND_ETHERNET = 2, /* an Ethernet frame, TAP mode */
	FERRY_KIND_FRAGMENT = 3, /* a piece of a ferry plaintext too long for one message */
};

/* After the ferry header of a FERRY_KIND_FRAGMENT: which piece of which
 * whole. The whole is the plaintext (ferry header and payload, LZ4 or not)
 * of one message of kind IP or ETHERNET, cut into @count pieces of
 * ceil(total / count) bytes, the last one shorter (docs/PROTOCOL.md). */
struct ferry_fragment {
	uint32_t id;	/* little-endian, per sender and peer */
	uint8_t index;	/* 0 .. count - 1 */
	uint8_t count;	/* 2 .. FERRY_FRAGMENT_MAX */
	uint16_t total; /* little-endian: bytes of the whole */
} __attribute__((packed));

#define FERRY_FRAGMENT_LEN sizeof(struct ferry_fragment)
#define FERRY_FRAGMENT_MAX 16

#define FERRY_FLAG_LZ4	 0x01 /* the payload is one LZ4 block */
#define FERRY_HEADER_LEN sizeof(struct ferry_header)
/* The most a TAP frame adds to the interface MTU: Ethernet header and one
 * VLAN tag. A frame of MTU + FERRY_FRAME_OVERHEAD plus the ferry header
 * is the plaintext budget of TAP mode (docs/PROTOCOL.md, sizes). */
#define FERRY_FRAME_OVERHEAD 18

/* The type is one byte followed by three reserved zero bytes; read as a
 * little-endian 32-bit word it equals the type. */
struct message_header {
	uint32_t type;
} __attribute__((packed));

struct message_macs {
	uint8_t mac1[COOKIE_LEN];
	uint8_t mac2[COOKIE_LEN];
} __attribute__((packed));

struct message_handshake_initiation {
	struct message_header header;
	uint32_t sender_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_static[NOISE_PUBLIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	uint8_t encrypted_timestamp[NOISE_TIMESTAMP_LEN + NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_response {
	struct message_header header;
	uint32_t sender_index;
	uint32_t receiver_index;
	uint8_t unencrypted_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t encrypted_nothing[NOISE_AUTHTAG_LEN];
	struct message_macs macs;
} __attribute__((packed));

struct message_handshake_cookie {
	struct message_header header;
	uint32_t receiver_index;
	uint8_t nonce[COOKIE_NONCE_LEN];
	uint8_t encrypted_cookie[COOKIE_LEN + NOISE_AUTHTAG_LEN];
} __attribute__((packed));

struct message_data {
	struct message_header header;
	uint32_t key_idx;
	uint64_t counter;
	uint8_t encrypted_data[];
} __attribute__((packed));

#define MESSAGE_DATA_HEADER_LEN sizeof(struct message_data)
/* A data message: header, padded plaintext (possibly empty: a keepalive), tag. */
#define MESSAGE_DATA_MIN_LEN  (MESSAGE_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN)
#define MESSAGE_DATA_OVERHEAD (MESSAGE_DATA_HEADER_LEN + NOISE_AUTHTAG_LEN)

_Static_assert(sizeof(struct message_handshake_initiation) == 148, "initiation is 148 bytes");
_Static_assert(sizeof(struct message_handshake_response) == 92, "response is 92 bytes");
_Static_assert(sizeof(struct message_handshake_cookie) == 64, "cookie reply is 64 bytes");
_Static_assert(sizeof(struct message_data) == 16, "data header is 16 bytes");

static inline uint32_t le32_read(const void *p)
{
	const uint8_t *b = p;

	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline void le32_write(void *p, uint32_t v)
{
	uint8_t *b = p;

	b[0] = (uint8_t)v;
	b[1] = (uint8_t)(v >> 8);
	b[2] = (uint8_t)(v >> 16);
	b[3] = (uint8_t)(v >> 24);
}

static inline uint64_t le64_read(const void *p)
{
	const uint8_t *b = p;

	return (uint64_t)le32_read(b) | (uint64_t)le32_read(b + 4) << 32;
}

static inline void le64_write(void *p, uint64_t v)
{
	le32_write(p, (uint32_t)v);
	le32_write((uint8_t *)p + 4, (uint32_t)(v >> 32));
}

#endif
