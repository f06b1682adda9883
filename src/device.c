/* device.c - one interface: set-up, configuration changes (from the UAPI or
 * a config file), and the event loop.
 *
 * Threads: one. The loop waits in epoll for the TUN queue, the UDP sockets,
 * a timerfd (the earliest protocol timer), the UAPI listener, a signalfd
 * and an inotify watch on the socket file (wg-quick stops a userspace
 * implementation by removing its socket). The multi-core data path of
 * docs/DESIGN.md replaces the single TUN/UDP handlers; the control side
 * stays here. */
#include "device.h"

#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "log.h"
#include "noise.h"
#include "offload.h"
#include "ratelimiter.h"
#include "receive.h"
#include "send.h"
#include "timers.h"
#include "tcp.h"
#include "uapi.h"
#include "udp.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

const char *const drop_reason_name[DROP_MAX] = {
	[DROP_SHORT] = "bad_length",
	[DROP_UNKNOWN_TYPE] = "unknown_type",
	[DROP_BAD_MAC1] = "bad_mac1",
	[DROP_COOKIE_SENT] = "cookie_sent",
	[DROP_RATELIMITED] = "ratelimited",
	[DROP_HANDSHAKE_QUEUE_FULL] = "handshake_queue_full",
	[DROP_HANDSHAKE_INVALID] = "handshake_invalid",
	[DROP_STALE_TIMESTAMP] = "stale_timestamp",
	[DROP_UNKNOWN_INDEX] = "unknown_index",
	[DROP_KEY_EXPIRED] = "key_expired",
	[DROP_DECRYPT] = "decrypt_failed",
	[DROP_REPLAY] = "replayed_counter",
	[DROP_BAD_INNER] = "bad_inner_packet",
	[DROP_DISALLOWED_SRC] = "disallowed_source",
	[DROP_NO_PEER] = "no_peer_for_destination",
	[DROP_NO_ENDPOINT] = "no_endpoint",
	[DROP_TOO_BIG] = "too_big",
	[DROP_STAGED_OVERFLOW] = "staged_overflow",
	[DROP_SEND_ERROR] = "send_error",
	[DROP_TUN_WRITE] = "tun_write_error",
	[DROP_NO_MEMORY] = "out_of_memory",
	[DROP_BAD_FERRY] = "bad_ferry_message",
	[DROP_COMPRESSED_OFF] = "compressed_but_off",
	[DROP_DECOMPRESS] = "decompress_failed",
	[DROP_BAD_FRAME] = "bad_frame",
	[DROP_BAD_SOURCE_MAC] = "bad_source_mac",
	[DROP_LINK_LOCAL] = "link_local_frame",
	[DROP_TCP_FRAMING] = "tcp_bad_length",
	[DROP_TCP_CUT] = "tcp_cut_mid_message",
	[DROP_TCP_REFUSED] = "tcp_refused",
};

void device_count_drop(struct device *dev, enum drop_reason why)
{
	dev->drops[why]++;
}

int device_init(struct device *dev, const char *name)
{
	memset(dev, 0, sizeof(*dev));
	snprintf(dev->name, sizeof(dev->name), "%s", name);
	udp_init(&dev->udp);
	dev->io.name = dev->name;
	dev->io.epfd = dev->timerfd = dev->uapi_fd = -1;
	dev->io.drops = dev->drops;
	dev->io.dev = dev;
	dev->mtu = 1420;
	dev->aips = allowedips_new();
	dev->ratelimiter = ratelimiter_new();
	if (!dev->aips || !dev->ratelimiter)
		return -ENOMEM;
	cookie_checker_init(&dev->checker, dev->local.public_key);
	device_read_offload_switches(dev);
	if (send_batch_init(dev) < 0 || receive_batch_init(dev) < 0)
		return -ENOMEM;
	dev->io.receiver = &receive_transport;
	return 0;
}

/* FERRY_NO_OFFLOAD=all, or a comma-separated list of vnet_hdr (TUN
 * segmentation and coalescing), udp_gso, udp_gro: the switch for kernels
 * whose offloads misbehave. Each offload is also probed at start-up. */
void device_read_offload_switches(struct device *dev)
{
	const char *off = getenv("FERRY_NO_OFFLOAD");
	bool all = off && !strcmp(off, "all");

	dev->want_vnet_hdr = !(all || (off && strstr(off, "vnet_hdr")));
	dev->udp.want_gso = !(all || (off && strstr(off, "udp_gso")));
	dev->udp.want_gro = !(all || (off && strstr(off, "udp_gro")));
}

/* The TUN or TAP device named like the interface, with vnet_hdr and the
 * offloads @offloads when available and wanted. */
static int open_device(struct device *dev, enum tun_mode mode, bool exclusive, unsigned int offloads)
{
	struct tun_config cfg = { 0 };
	int ret;

	snprintf(cfg.name, sizeof(cfg.name), "%s", dev->name);
	cfg.mode = mode;
	cfg.exclusive = exclusive;
	cfg.vnet_hdr = dev->want_vnet_hdr;
	ret = tun_open(&dev->tun, &cfg);
	if (ret < 0)
		return ret;
	if (dev->tun.vnet_hdr_sz) {
		ret = tun_set_offload(&dev->tun, offloads);
		dev->tun_gro = ret > 0;
	}
	log_info("%s: %s offloads %s%s%s", dev->name, mode == TUN_MODE_TAP ? "TAP" : "TUN",
		 dev->tun.vnet_hdr_sz ? "vnet_hdr" : "off", dev->tun.offloads & TUN_F_TSO4 ? " tso" : "",
		 dev->tun.offloads & TUN_F_USO4 ? " uso" : "");
	return 0;
}

int device_open_tun(struct device *dev, bool exclusive)
{
	return open_device(dev, TUN_MODE_TUN, exclusive,
			   TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6);
}

int device_open_tap(struct device *dev, bool exclusive)
{
	dev->macs = mactable_new(0, 0);
	if (!dev->macs)
		return -ENOMEM;
	dev->tap = true;
	/* The same offloads as TUN: super-frames to split, merged frames to
	 * write (the Ethernet header rides along, src/offload.c). No USO: a
	 * UDP super-frame would need the same treatment for little gain. */
	return open_device(dev, TUN_MODE_TAP, exclusive, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6);
}

void device_destroy(struct device *dev)
{
	while (dev->peers_head)
		peer_remove(dev->peers_head);
	uapi_close(dev);
	tcp_close_all(&dev->io);
	udp_close(&dev->udp);
	tun_close(&dev->tun);
	if (dev->macs)
		mactable_free(dev->macs);
	dev->macs = NULL;
	if (dev->io.epfd >= 0)
		close(dev->io.epfd);
	if (dev->timerfd >= 0)
		close(dev->timerfd);
	allowedips_free(dev->aips);
	free(dev->local.peer_hash);
	free(dev->local.index_hash);
	timers_free(dev);
	ratelimiter_free(dev->ratelimiter);
	send_batch_free(dev);
	receive_batch_free(dev);
	crypt_wipe(&dev->local, sizeof(dev->local));
	crypt_wipe(&dev->checker, sizeof(dev->checker));
}

void device_set_private_key(struct device *dev, const uint8_t key[NOISE_PUBLIC_KEY_LEN])
{
	struct peer *p, *n;

	/* The key in use (all zeros when there is none) again, as `wg syncconf`
	 * of an unchanged file sends it: nothing to do, as in the kernel and
	 * wireguard-go. Going on would cut every session and redo one X25519
	 * per peer. */
	struct noise_local *l = &dev->local;

	if (crypt_equal(key, l->private_key, NOISE_PUBLIC_KEY_LEN))
		return;
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
	if (cp->flags & CONF_PEER_HAS_TRANSPORT)
		p->transport.tcp = cp->transport == CONF_TRANSPORT_TCP;
	if (cp->flags & CONF_PEER_HAS_ENDPOINT) {
		/* Transport = tcp: the Endpoint is the peer's ListenTCP, to be
		 * connected to when something is to be sent. */
		endpoint_set_udp(&p->transport.endpoint, &cp->endpoint);
		if (p->transport.tcp) {
			p->transport.tcp_to = cp->endpoint;
			p->transport.endpoint.kind = ENDPOINT_TCP;
		}
	}
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
		if (dev->io.epfd >= 0) {
			struct epoll_event ev = { .events = EPOLLIN };

			ev.data.fd = dev->udp.fd4;
			if (dev->udp.fd4 >= 0)
				epoll_ctl(dev->io.epfd, EPOLL_CTL_ADD, dev->udp.fd4, &ev);
			ev.data.fd = dev->udp.fd6;
			if (dev->udp.fd6 >= 0)
				epoll_ctl(dev->io.epfd, EPOLL_CTL_ADD, dev->udp.fd6, &ev);
		}
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

void device_timers_changed(struct device *dev, uint64_t deadline_ms)
{
	struct itimerspec its = { 0 };

	if (dev->timerfd < 0 || (dev->timer_armed_ms && dev->timer_armed_ms <= deadline_ms))
		return;
	dev->timer_armed_ms = deadline_ms;
	its.it_value.tv_sec = (time_t)(deadline_ms / 1000);
	its.it_value.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	timerfd_settime(dev->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void handle_timers(struct device *dev)
{
	uint64_t expirations, next;

	if (read(dev->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		return;
	dev->timer_armed_ms = 0;
	next = timers_run(dev, clock_ms());
	/* Handshakes and keepalives the timers queued. */
	send_flush(dev);
	if (next)
		device_timers_changed(dev, next);
}

/* Bounded batches keep one busy direction from starving the other. */
#define BATCH 64

static int handle_tun(struct device *dev)
{
	uint8_t *buf = dev->txb->read;
	size_t hdr = (size_t)dev->tun.vnet_hdr_sz;
	int i;

	for (i = 0; i < BATCH; i++) {
		ssize_t n = read(dev->tun.fd[0], buf, sizeof(dev->txb->read));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* The interface was deleted: time to go. */
			log_info("%s: reading the TUN device: %s; stopping", dev->name, strerror(errno));
			send_flush(dev);
			return -errno;
		}
		if ((size_t)n <= hdr)
			continue;
		if (dev->tap)
			send_tap_frame(dev, hdr ? (const struct virtio_net_hdr *)buf : NULL, buf + hdr,
				       (size_t)n - hdr);
		else
			send_tun_packet(dev, hdr ? (const struct virtio_net_hdr *)buf : NULL, buf + hdr,
					(size_t)n - hdr);
	}
	send_flush(dev);
	return 0;
}

static int loop_add(struct device *dev, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (fd < 0)
		return 0;
	return epoll_ctl(dev->io.epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int device_run(struct device *dev)
{
	struct epoll_event events[16];
	char sockpath[108];
	struct stat st;
	sigset_t mask;
	uint64_t now;
	int sigfd, inofd, ret = 0, i;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	dev->io.epfd = epoll_create1(EPOLL_CLOEXEC);
	dev->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (sigfd < 0 || dev->io.epfd < 0 || dev->timerfd < 0 || inofd < 0)
		return -errno;
	/* Without a configured port, listen on any: handshakes must go out. */
	if (dev->udp.fd4 < 0 && dev->udp.fd6 < 0 && (ret = udp_open(&dev->io, &dev->udp, 0)) < 0)
		return ret;
	uapi_socket_path(sockpath, sizeof(sockpath), dev->name);
	inotify_add_watch(inofd, sockpath, IN_ATTRIB | IN_DELETE_SELF);
	for (i = 0; i < (int)dev->tun.queues; i++)
		fcntl_nonblock(dev->tun.fd[i]);
	if (loop_add(dev, dev->tun.fd[0]) || loop_add(dev, dev->udp.fd4) || loop_add(dev, dev->udp.fd6) ||
	    loop_add(dev, dev->timerfd) || loop_add(dev, dev->uapi_fd) || loop_add(dev, sigfd) || loop_add(dev, inofd))
		return -errno;
	tcp_loop_started(&dev->io);
	/* Timers armed before the loop existed (configuration applied early). */
	device_timers_changed(dev, clock_ms() + 1);

	while (!dev->stop) {
		/* Handshakes waiting: look at new events, then go on with them.
		 * Otherwise housekeeping ticks once a second. */
		int n = epoll_wait(dev->io.epfd, events, 16, receive_handshakes_waiting(dev) ? 0 : 1000);

		if (n < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		now = clock_ms();
		if (now - dev->housekeeping_ms >= 1000) {
			/* Once a second: aged MACs give back their room (lookups
			 * skip them already), idle TCP connections close. */
			dev->housekeeping_ms = now;
			if (dev->macs)
				mactable_expire(dev->macs, now);
			tcp_expire(&dev->io, now);
			ratelimiter_gc(dev->ratelimiter, now * 1000000);
		}
		for (i = 0; i < n && !dev->stop; i++) {
			int fd = events[i].data.fd;

			if (fd == dev->tun.fd[0]) {
				if (handle_tun(dev) < 0)
					dev->stop = true;
			} else if (fd == dev->udp.fd4 || fd == dev->udp.fd6) {
				udp_readable(&dev->io, fd, &dev->rxb->udp, BATCH / UDP_RX_MAX);
			} else if (tcp_handle_event(&dev->io, fd, events[i].events)) {
				/* a TCP connection or listener */
			} else if (fd == dev->timerfd) {
				handle_timers(dev);
			} else if (fd == dev->uapi_fd) {
				int c = accept4(dev->uapi_fd, NULL, NULL, SOCK_CLOEXEC);

				if (c >= 0)
					uapi_serve_client(dev, c);
			} else if (fd == sigfd) {
				log_info("%s: signal received, stopping", dev->name);
				dev->stop = true;
			} else if (fd == inofd) {
				char ev[4096];

				while (read(inofd, ev, sizeof(ev)) > 0)
					;
				if (stat(sockpath, &st) < 0) {
					log_info("%s: control socket %s removed, stopping", dev->name, sockpath);
					dev->stop = true;
				}
			}
		}
		/* This turn's public-key work, bounded (receive.h). */
		if (receive_handshakes_waiting(dev)) {
			receive_handshakes(dev, HANDSHAKES_PER_TURN);
			send_flush(dev);
		}
	}
	close(sigfd);
	close(inofd);
	return ret;
}
