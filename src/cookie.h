/* cookie.h - MAC1 and MAC2 on handshake messages and cookie replies
 * (whitepaper sections 5.4.4, 5.4.7). */
#ifndef FERRY_COOKIE_H
#define FERRY_COOKIE_H

#include "device.h"
#include "peer.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

enum cookie_mac_state {
	COOKIE_INVALID_MAC1,
	COOKIE_VALID_MAC1_NO_COOKIE, /* MAC1 fine, MAC2 missing or wrong */
	COOKIE_VALID_MAC1_AND_COOKIE,
};

/* The device's own keys for checking MAC1 and sealing cookies. */
void cookie_checker_init(struct device *dev);

/* Fill the MACs at the end of handshake message @msg of @len bytes sent to
 * @p: MAC1 always, MAC2 when a fresh cookie from @p is held. */
void cookie_add_macs(struct peer *p, void *msg, size_t len);

/* Check MAC1 (and MAC2 against the cookie for @src) of a received message. */
enum cookie_mac_state cookie_validate(struct device *dev, const void *msg, size_t len, const struct sockaddr *src);

/* Build the cookie reply to @msg (whose sender index is @sender_index). */
void cookie_message_create(struct device *dev, struct message_handshake_cookie *out, const void *msg, size_t len,
			   uint32_t sender_index, const struct sockaddr *src);
/* Take a cookie reply: store the cookie in the peer it is for. */
bool cookie_message_consume(struct device *dev, const struct message_handshake_cookie *m);

#endif
