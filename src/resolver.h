/* resolver.h - host names resolved off the event loop.
 *
 * getaddrinfo() blocks: for milliseconds with /etc/hosts, for seconds when
 * a DNS server does not answer. The event loop must never wait for it, so
 * one thread of its own resolves, and nothing else: it takes jobs from a
 * pipe, calls getaddrinfo() and writes each job back with its answer into
 * another pipe, which the event loop watches. The thread touches no peer
 * and no device, only the job it holds; there is no lock and no shared
 * memory. A job is a fixed-size record smaller than PIPE_BUF, so each write
 * is atomic and each read gets one whole job.
 *
 * Who calls what: resolver_start(), resolver_ask(), resolver_answer() and
 * resolver_stop() on the event loop thread (the writes never block: a full
 * pipe refuses a job); the resolver thread itself runs inside resolver.c. */
#ifndef FERRY_RESOLVER_H
#define FERRY_RESOLVER_H

#include "conf.h"

#include <stdbool.h>
#include <stdint.h>

/* "host:port": a host of up to 255 bytes, ':', a port of up to 5 digits. */
#define RESOLVE_NAME_MAX (255 + 1 + 5 + 1)

struct resolve_job {
	/* Asked: who asks (returned as it was), and what to resolve. */
	uint8_t peer_key[32];
	char name[RESOLVE_NAME_MAX];
	/* Answered: 0 and the first address, or -EINVAL and why (a static
	 * string, such as "host not found"). */
	int err;
	const char *why;
	union conf_endpoint addr;
};

struct resolver;

/* Start the thread; NULL (errno set) if it cannot be. */
struct resolver *resolver_start(void);
/* Readable when answers wait. */
int resolver_fd(const struct resolver *r);
/* Queue @job; -EAGAIN when the thread has too many waiting already, and
 * -ENAMETOOLONG for a name that does not fit. Never blocks. */
int resolver_ask(struct resolver *r, const uint8_t peer_key[32], const char *name);
/* The next answer into @job: 1, or 0 when none waits. */
int resolver_answer(struct resolver *r, struct resolve_job *job);
/* Stop the thread. One still inside getaddrinfo() is waited for a little,
 * then left to finish on its own (it holds nothing of ours). */
void resolver_stop(struct resolver *r);

/* Is the host of endpoint text @text ("host:port", "[v6]:port") a name
 * rather than an address? Only names are worth resolving again. */
bool resolver_is_name(const char *text);

#endif
