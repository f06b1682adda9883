/* drops.h - why a packet was dropped: the counters every part of the packet
 * path keeps per interface, shown by `ferry show` (drop_reason_name). */
#ifndef FERRY_DROPS_H
#define FERRY_DROPS_H

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
	DROP_BAD_FRAGMENT,   /* a fragment whose fields disagree (with each other, or its whole's) */
	DROP_FRAGMENT_LOST,  /* a fragmented message given up: timed out, or its slot taken */
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

#endif
