/* apply.h - configuration applied to a running device (control path). */
#ifndef FERRY_APPLY_H
#define FERRY_APPLY_H

#include "conf.h"
#include "device.h"

/* Apply a configuration or change (UAPI set, config file). Returns 0 or a
 * negative errno, as the UAPI reports it. */
int device_apply(struct device *dev, const struct conf_device *c);
/* Set our private key (all zeros: none). The key in use again changes
 * nothing; a new one clears every session and handshake. */
void device_set_private_key(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN]);

#endif
