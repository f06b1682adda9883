/* Fuzz target: the body of a UAPI "set" request (uapi_parse_set), which
 * arrives from any process that can open the control socket. It must not
 * crash or leak, must answer 0, -EINVAL, -EPROTO (or -ENOMEM), and on
 * failure must leave a zeroed struct behind. It logs nothing above debug
 * level, so no output needs silencing. */
#include "conf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct conf_device zero;
	struct conf_device c;
	int ret = uapi_parse_set((const char *)data, size, &c);

	if (ret < 0) {
		if (ret != -EINVAL && ret != -EPROTO && ret != -ENOMEM)
			abort();
		if (memcmp(&c, &zero, sizeof(c)))
			abort();
		return 0;
	}
	if (ret != 0)
		abort();
	for (size_t i = 0; i < c.n_peers; i++)
		if ((c.peers[i].flags & CONF_PEER_REMOVE) && c.peers[i].flags != CONF_PEER_REMOVE)
			abort(); /* a removed peer carries nothing else */
	conf_device_free(&c);
	return 0;
}
