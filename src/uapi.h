/* uapi.h - the cross-platform userspace API (wireguard.com/xplatform): a
 * unix socket at /var/run/wireguard/IFNAME.sock speaking get=1 and set=1,
 * so the unmodified `wg` tool controls ferry. ferry adds one operation of
 * its own, "ferry_stats=1", for its drop counters and what the daemon runs
 * as (`ferry show`). */
#ifndef FERRY_UAPI_H
#define FERRY_UAPI_H

#include "device.h"

#define UAPI_DIR "/var/run/wireguard"

/* Create and listen on the socket of @dev (removing a stale one). Returns
 * the listening fd or -errno; -EADDRINUSE if a live daemon owns the name. */
int uapi_listen(struct device *dev);
/* Remove the socket file and close the listener. */
void uapi_close(struct device *dev);
/* Build the path of @ifname's socket. */
void uapi_socket_path(char *buf, size_t size, const char *ifname);

/* Serve one request on a connected client; the whole exchange is
 * synchronous and bounded (see uapi.c). */
void uapi_serve_client(struct device *dev, int fd);

/* Client side, for `ferry show`: send @request and collect the reply into a
 * malloc'd string (*reply). Returns 0 or -errno. */
int uapi_request(const char *ifname, const char *request, char **reply);

#endif
