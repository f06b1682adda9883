/* udp.h - the UDP transport: one IPv4 and one IPv6 socket on the listen port. */
#ifndef FERRY_UDP_H
#define FERRY_UDP_H

#include "conf.h"
#include "device.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bind both sockets to @port (0: any free port, the same for both). On
 * success dev->listen_port is the bound port. Returns 0 or -errno. */
int udp_open(struct device *dev, uint16_t port);
void udp_close(struct device *dev);
int udp_set_fwmark(struct device *dev, uint32_t mark);
int udp_send(struct device *dev, const union conf_endpoint *to, const void *buf, size_t len);
ssize_t udp_recv(int fd, void *buf, size_t size, union conf_endpoint *from);

#endif
