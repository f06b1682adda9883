/* receive.h - the receive path: every datagram from the UDP sockets. */
#ifndef FERRY_RECEIVE_H
#define FERRY_RECEIVE_H

#include "conf.h"
#include "device.h"

#include <stddef.h>
#include <stdint.h>

/* Handle one datagram of @len bytes from @src. The buffer is the caller's;
 * data messages are decrypted in place in it. */
void receive_packet(struct device *dev, uint8_t *buf, size_t len, const union conf_endpoint *src);

#endif
