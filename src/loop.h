/* loop.h - what the event loop (device.c) calls when a file descriptor is
 * ready: every source registers a struct loop_handler in epoll's
 * data.ptr, embedded in the object that owns the descriptor, so that the
 * loop dispatches without looking anything up.
 *
 * An object whose handler may still sit in the current epoll_wait batch is
 * never freed during the batch: it is only marked dead and freed after it
 * (tcp.c keeps closed connections until tcp_reap()). */
#ifndef FERRY_LOOP_H
#define FERRY_LOOP_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>

struct loop_handler {
	void (*ready)(struct loop_handler *h, uint32_t events);
};

#define container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* epoll_ctl @op (EPOLL_CTL_ADD or _MOD) of @fd for @events, dispatching
 * to @h; 0 or -errno. Nothing happens without a loop yet (@epfd < 0). */
static inline int loop_watch(int epfd, int op, int fd, uint32_t events, struct loop_handler *h)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	if (epfd < 0 || fd < 0)
		return 0;
	return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

static inline void loop_unwatch(int epfd, int fd)
{
	if (epfd >= 0 && fd >= 0)
		epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
}

#endif
