/* apply.c - a configuration, or a change to one, applied to a running
 * device: from a UAPI "set" (wg set, wg setconf, wg-quick) or a config file
 * (ferry up). Control path only: this runs between packets, on the event
 * loop thread, and may allocate, bind sockets and take its time. */
#include "apply.h"

#include "crypto.h"
#include "log.h"
#include "mactable.h"
#include "noise.h"
#include "peer.h"
#include "reach.h"
#include "send.h"
#include "tcp.h"
#include "udp.h"

#include <errno.h>
#include <string.h>

void device_set_private_key(struct device *dev, const uint8_t key_in[NOISE_PUBLIC_KEY_LEN])
{
	struct noise_local *l = &dev->local;
	uint8_t key[NOISE_PUBLIC_KEY_LEN];
	struct peer *p, *n;

	/* Kept clamped, as the kernel and wireguard-go keep it, so that the
	 * key read back (wg showconf) is the one X25519 really uses. */
	memcpy(key, key_in, sizeof(key));
	if (!crypt_is_zero(key, sizeof(key)))
		crypt_clamp(key);
	/* The key in use (all zeros when there is none) again, as `wg syncconf`
	 * of an unchanged file sends it: nothing to do, as in the kernel and
	 * wireguard-go. Going on would cut every session and redo one X25519
	 * per peer. */
	if (crypt_equal(key, l->private_key, NOISE_PUBLIC_KEY_LEN)) {
		crypt_wipe(key, sizeof(key));
		return;
	}
	l->has_private_key = !crypt_is_zero(key, NOISE_PUBLIC_KEY_LEN);
	if (l->has_private_key) {
		memcpy(l->private_key, key, NOISE_PUBLIC_KEY_LEN);
		crypt_public_key(l->public_key, l->private_key);
	} else {
		crypt_wipe(l->private_key, sizeof(l->private_key));
		memset(l->public_key, 0, sizeof(l->public_key));
	}
	cookie_checker_init(&dev->checker, l->public_key);
	for (p = dev->peers_head; p; p = n) {
		n = p->list_next;
		/* A peer with our own public key cannot be talked to (as wg). */
		if (dev->local.has_private_key && !memcmp(p->public_key, dev->local.public_key, NOISE_PUBLIC_KEY_LEN)) {
			peer_remove(p);
			continue;
		}
		noise_handshake_clear(p);
		noise_keypairs_clear(p);
		peer_refresh_static(p);
	}
}

static int apply_peer(struct device *dev, const struct conf_peer *cp)
{
	struct peer *p = peer_lookup(&dev->local, cp->public_key);
	size_t i;

	if (cp->flags & CONF_PEER_REMOVE) {
		if (p)
			peer_remove(p);
		return 0;
	}
	if (!p) {
		if (cp->flags & CONF_PEER_UPDATE_ONLY)
			return 0;
		if (dev->local.has_private_key && !memcmp(cp->public_key, dev->local.public_key, NOISE_PUBLIC_KEY_LEN))
			return 0;
		p = peer_create(dev, cp->public_key);
		if (!p)
			return -ENOMEM;
	}
	if (dev->macs)
		mactable_set_owner_cap(dev->macs, &p->mac_owner, dev->strict_macs ? 0 : PEER_MAC_CAP);
	if (cp->flags & CONF_PEER_HAS_PSK)
		memcpy(p->preshared_key, cp->preshared_key, sizeof(p->preshared_key));
	/* Transport, TCPPort, Endpoint and its name: Transport = tcp dials the
	 * Endpoint (the peer's ListenTCP) when there is something to send;
	 * auto starts on UDP (reach.c). */
	if (reach_configure(p, cp) < 0)
		return -ENOMEM;
	if (cp->flags & CONF_PEER_REPLACE_ALLOWEDIPS)
		allowedips_remove_peer(dev->aips, p);
	for (i = 0; i < cp->n_allowedips; i++) {
		int ret = allowedips_insert(dev->aips, &cp->allowedips[i], p);

		if (ret < 0)
			return ret;
	}
	if (cp->flags & CONF_PEER_HAS_COMPRESSION)
		p->compress = cp->compression == CONF_COMPRESS_LZ4;
	for (i = 0; i < cp->n_macs; i++) {
		int ret = dev->macs ? mactable_add_static(dev->macs, cp->macs[i], &p->mac_owner) : -EINVAL;

		if (ret < 0)
			return ret;
	}
	if (cp->flags & CONF_PEER_HAS_KEEPALIVE) {
		bool was_off = !p->persistent_keepalive_s;

		p->persistent_keepalive_s = cp->persistent_keepalive;
		/* Turning it on sends one at once, so a peer behind NAT is
		 * reachable without waiting for traffic. */
		if (was_off && p->persistent_keepalive_s && endpoint_is_set(&p->transport.endpoint) &&
		    udp_is_open(&dev->udp))
			send_keepalive(p);
	}
	return 0;
}

int device_apply(struct device *dev, const struct conf_device *c)
{
	size_t i;
	int ret;

	if (c->flags & CONF_HAS_PRIVATE_KEY)
		device_set_private_key(dev, c->private_key);
	if (c->flags & CONF_HAS_FWMARK) {
		dev->io.fwmark = c->fwmark;
		udp_set_fwmark(&dev->udp, c->fwmark);
	}
	if ((c->flags & CONF_HAS_LISTEN_PORT) && (c->listen_port != dev->udp.port || !udp_is_open(&dev->udp))) {
		ret = udp_open(&dev->io, &dev->udp, c->listen_port);
		if (ret < 0) {
			log_err("%s: cannot listen on UDP port %u: %s", dev->name, c->listen_port, strerror(-ret));
			return ret;
		}
		device_watch_udp(dev);
	}
	if (c->flags & CONF_HAS_LISTEN_TCP) {
		ret = tcp_listen(&dev->io, c->listen_tcp);
		if (ret < 0) {
			log_err("%s: cannot listen on TCP port %u: %s", dev->name, c->listen_tcp, strerror(-ret));
			return ret;
		}
	}
	if (c->flags & CONF_HAS_LINK_LOCAL)
		dev->forward_link_local = c->forward_link_local;
	if (c->flags & CONF_HAS_STRICT_MACS) {
		struct peer *p;

		/* Strict: no peer learns anything; only static MACs pass. */
		dev->strict_macs = c->strict_macs;
		for (p = dev->peers_head; p && dev->macs; p = p->list_next)
			mactable_set_owner_cap(dev->macs, &p->mac_owner, dev->strict_macs ? 0 : PEER_MAC_CAP);
	}
	if (c->flags & CONF_REPLACE_PEERS)
		while (dev->peers_head)
			peer_remove(dev->peers_head);
	for (i = 0; i < c->n_peers; i++) {
		ret = apply_peer(dev, &c->peers[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}
