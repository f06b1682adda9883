/* device.c - one interface: its set-up and tear-down, and the event loop
 * that runs it (configuration changes are apply.c's).
 *
 * Threads: one, the event loop's; docs/DESIGN.md says what is shared and
 * what a worker per core will need. */
#include "device.h"

#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "log.h"
#include "netlink.h"
#include "noise.h"
#include "offload.h"
#include "ratelimiter.h"
#include "reach.h"
#include "receive.h"
#include "resolver.h"
#include "send.h"
#include "timers.h"
#include "tcp.h"
#include "uapi.h"
#include "udp.h"
#include "loop.h"

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
#include <net/if.h>
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
	[DROP_BAD_FRAGMENT] = "bad_fragment",
	[DROP_FRAGMENT_LOST] = "fragment_lost",
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
	dev->io.epfd = dev->timer.fd = dev->uapi_fd = -1;
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
	/* The link's MTU is followed while the loop runs (device_run). */
	dev->ifindex = (int)if_nametoindex(dev->tun.name);
	dev->links = netlink_watch_links();
	if (!dev->links)
		log_warn("%s: cannot watch the link for MTU changes: %s", dev->name, strerror(errno));
	/* Sticky sources follow the routes (device_check_source); without
	 * these, a source is kept until sending from it fails. */
	dev->routes = netlink_watch_routes4();
	dev->route_query = netlink_query_open();
	dev->route_gen = 1;
	if (!dev->routes || !dev->route_query)
		log_warn("%s: cannot watch routes (source addresses kept regardless): %s", dev->name, strerror(errno));
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
	resolver_stop(dev->resolver);
	dev->resolver = NULL;
	tcp_close_all(&dev->io);
	udp_close(&dev->udp);
	tun_close(&dev->tun);
	netlink_watch_close(dev->links);
	dev->links = NULL;
	netlink_watch_close(dev->routes);
	dev->routes = NULL;
	netlink_query_close(dev->route_query);
	dev->route_query = NULL;
	if (dev->macs)
		mactable_free(dev->macs);
	dev->macs = NULL;
	if (dev->io.epfd >= 0)
		close(dev->io.epfd);
	if (dev->timer.fd >= 0)
		close(dev->timer.fd);
	allowedips_free(dev->aips);
	free(dev->local.peer_hash);
	free(dev->local.index_hash);
	timers_free(dev);
	ratelimiter_free(dev->ratelimiter);
	send_batch_free(dev);
	receive_batch_free(dev);
	crypt_wipe(&dev->local, sizeof(dev->local));
	cookie_checker_free(&dev->checker);
	crypt_wipe(&dev->checker, sizeof(dev->checker));
}

void device_timers_changed(struct device *dev, uint64_t deadline_ms)
{
	struct itimerspec its = { 0 };

	if (dev->timer.fd < 0 || (dev->timer_armed_ms && dev->timer_armed_ms <= deadline_ms))
		return;
	dev->timer_armed_ms = deadline_ms;
	its.it_value.tv_sec = (time_t)(deadline_ms / 1000);
	its.it_value.tv_nsec = (long)(deadline_ms % 1000) * 1000000;
	timerfd_settime(dev->timer.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

/* --- the event loop ------------------------------------------------------
 *
 * One thread waits in epoll for: the TUN/TAP queue, the UDP sockets, the
 * TCP listeners and connections (tcp.c registers those), a timerfd armed
 * for the earliest protocol timer, the UAPI listener, a signalfd, and an
 * inotify watch on the UAPI socket file (wg-quick stops a userspace
 * implementation by removing it). Each source's handler is in epoll's
 * data.ptr (loop.h). A turn ends with the handshakes that wait (at most
 * HANDSHAKES_PER_TURN), then frees what closed during it. */

static struct device *source_device(struct loop_handler *h)
{
	return container_of(h, struct loop_source, h)->dev;
}

static void on_timer(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);
	uint64_t expirations, next;

	(void)events;
	if (read(dev->timer.fd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
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

static void on_tun(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);
	uint8_t *buf = dev->txb->read;
	size_t hdr = (size_t)dev->tun.vnet_hdr_sz;
	int i;

	(void)events;
	for (i = 0; i < BATCH; i++) {
		ssize_t n = read(dev->tun.fd[0], buf, sizeof(dev->txb->read));

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			/* The interface was deleted: time to go. */
			log_info("%s: reading the TUN device: %s; stopping", dev->name, strerror(errno));
			dev->stop = true;
			break;
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
}

static void on_udp(struct loop_handler *h, uint32_t events)
{
	struct loop_source *s = container_of(h, struct loop_source, h);

	if (events & EPOLLERR)
		udp_errors(&s->dev->io, s->fd);
	if (events & EPOLLIN)
		udp_readable(&s->dev->io, s->fd, &s->dev->rxb->udp, BATCH / UDP_RX_MAX);
}

static void on_uapi(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);
	int c = accept4(dev->uapi_fd, NULL, NULL, SOCK_CLOEXEC);

	(void)events;
	if (c >= 0)
		uapi_serve_client(dev, c);
}

static void on_signal(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);

	(void)events;
	log_info("%s: signal received, stopping", dev->name);
	dev->stop = true;
}

static void on_socket_file(struct loop_handler *h, uint32_t events)
{
	struct loop_source *s = container_of(h, struct loop_source, h);
	struct device *dev = s->dev;
	char ev[4096], path[108];
	struct stat st;

	(void)events;
	while (read(s->fd, ev, sizeof(ev)) > 0)
		;
	uapi_socket_path(path, sizeof(path), dev->name);
	if (stat(path, &st) < 0) {
		log_info("%s: control socket %s removed, stopping", dev->name, path);
		dev->stop = true;
	}
}

/* The interface's MTU changed (wg-quick and users set it after the daemon
 * started): padding, segments and the TAP budgets follow at once. */
static int link_changed(const struct netlink_link *l, void *ctx)
{
	struct device *dev = ctx;

	if (l->ifindex != dev->ifindex || !l->mtu || l->mtu == dev->mtu)
		return 0;
	log_info("%s: MTU %u (was %u)", dev->name, l->mtu, dev->mtu);
	dev->mtu = l->mtu;
	return 0;
}

static void on_link(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);

	(void)events;
	netlink_watch_read(dev->links, link_changed, dev);
}

/* Routes changed: every sticky source is checked again before its next use. */
static void on_routes(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);

	(void)events;
	if (netlink_watch_changes(dev->routes) > 0 && ++dev->route_gen == 0)
		dev->route_gen = 1;
}

void device_check_source(struct device *dev, struct endpoint *e)
{
	int oif;

	if (e->kind != ENDPOINT_UDP || e->src_family != AF_INET || e->addr.sa.sa_family != AF_INET ||
	    e->src_route_gen == dev->route_gen || !dev->route_query)
		return;
	e->src_route_gen = dev->route_gen;
	/* No answer (no route at all): keep the source; sending says more. */
	if (netlink_route4_oif(dev->route_query, &e->addr.in4.sin_addr, &e->src.v4, dev->io.fwmark, &oif) < 0)
		return;
	e->src_off_route = e->src_ifindex && (uint32_t)oif != e->src_ifindex;
}

void device_start_helpers(struct device *dev, const struct sandbox_opts *sb)
{
	if (dev->resolver || !reach_wants_resolver(dev))
		return;
	dev->resolver = resolver_start(sb);
	if (!dev->resolver)
		log_warn("%s: cannot start the resolver process: %s; Endpoint names will not be resolved again",
			 dev->name, strerror(errno));
}

/* The resolver process answered: new addresses for Endpoint names. */
static void on_resolved(struct loop_handler *h, uint32_t events)
{
	struct device *dev = source_device(h);
	struct resolve_job job;
	int i;

	(void)events;
	for (i = 0; i < BATCH; i++) {
		int ret = resolver_answer(dev->resolver, &job);

		if (ret < 0) {
			/* It cannot be started again: the sandbox allows no fork. */
			log_warn("%s: the resolver process is gone (or said something it may not); Endpoint names will "
				 "not be resolved again",
				 dev->name);
			loop_watch(dev->io.epfd, EPOLL_CTL_DEL, resolver_fd(dev->resolver), 0, NULL);
			break;
		}
		if (ret == 0)
			break;
		reach_resolved(dev, &job);
	}
	/* Handshakes to the new addresses. */
	send_flush(dev);
}

static int watch_source(struct device *dev, struct loop_source *s, int fd,
			void (*ready)(struct loop_handler *, uint32_t))
{
	s->h.ready = ready;
	s->dev = dev;
	s->fd = fd;
	return loop_watch(dev->io.epfd, EPOLL_CTL_ADD, fd, EPOLLIN, &s->h);
}

void device_watch_udp(struct device *dev)
{
	watch_source(dev, &dev->udp4_src, dev->udp.fd4, on_udp);
	watch_source(dev, &dev->udp6_src, dev->udp.fd6, on_udp);
}

/* Once a second: aged MACs give back their room (lookups skip them
 * already), idle TCP connections close, the rate limiter forgets. */
static void housekeeping(struct device *dev, uint64_t now)
{
	if (now - dev->housekeeping_ms < 1000)
		return;
	dev->housekeeping_ms = now;
	if (dev->macs)
		mactable_expire(dev->macs, now);
	tcp_expire(&dev->io, now);
	ratelimiter_gc(dev->ratelimiter, now * 1000000);
}

int device_run(struct device *dev)
{
	struct loop_source sig = { 0 }, ino = { 0 }, tun = { 0 }, uapi = { 0 }, link = { 0 };
	struct epoll_event events[16];
	char sockpath[108];
	sigset_t mask;
	int ret = 0, i;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sig.fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	ino.fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	dev->io.epfd = epoll_create1(EPOLL_CLOEXEC);
	dev->timer.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (sig.fd < 0 || dev->io.epfd < 0 || dev->timer.fd < 0 || ino.fd < 0) {
		ret = -errno;
		goto out;
	}
	/* Without a configured port, listen on any: handshakes must go out. */
	if (!udp_is_open(&dev->udp) && (ret = udp_open(&dev->io, &dev->udp, 0)) < 0)
		goto out;
	uapi_socket_path(sockpath, sizeof(sockpath), dev->name);
	inotify_add_watch(ino.fd, sockpath, IN_ATTRIB | IN_DELETE_SELF);
	for (i = 0; i < (int)dev->tun.queues; i++)
		fcntl_nonblock(dev->tun.fd[i]);
	device_watch_udp(dev);
	/* Watch the link for MTU changes: opened with the device, before any
	 * sandbox, so that a change made since is waiting to be read. */
	if (dev->links && watch_source(dev, &link, netlink_watch_fd(dev->links), on_link) < 0)
		log_warn("%s: cannot watch the link for MTU changes", dev->name);
	if (dev->routes && watch_source(dev, &dev->routes_src, netlink_watch_fd(dev->routes), on_routes) < 0)
		log_warn("%s: cannot watch routes", dev->name);
	if (watch_source(dev, &tun, dev->tun.fd[0], on_tun) ||
	    watch_source(dev, &dev->timer, dev->timer.fd, on_timer) ||
	    watch_source(dev, &uapi, dev->uapi_fd, on_uapi) || watch_source(dev, &sig, sig.fd, on_signal) ||
	    watch_source(dev, &ino, ino.fd, on_socket_file)) {
		ret = -errno;
		goto out;
	}
	tcp_loop_started(&dev->io);
	if (dev->resolver && watch_source(dev, &dev->resolved, resolver_fd(dev->resolver), on_resolved) < 0)
		log_warn("%s: cannot watch the resolver process", dev->name);
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
		housekeeping(dev, clock_ms());
		for (i = 0; i < n && !dev->stop; i++) {
			struct loop_handler *h = events[i].data.ptr;

			h->ready(h, events[i].events);
		}
		/* This turn's public-key work, bounded (receive.h). */
		if (receive_handshakes_waiting(dev)) {
			receive_handshakes(dev, HANDSHAKES_PER_TURN);
			send_flush(dev);
		}
		tcp_reap(&dev->io);
	}
out:
	if (sig.fd >= 0)
		close(sig.fd);
	if (ino.fd >= 0)
		close(ino.fd);
	return ret;
}
