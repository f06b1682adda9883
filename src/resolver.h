/* resolver.h - host names resolved off the event loop, in a process of
 * their own.
 *
 * getaddrinfo() blocks: for milliseconds with /etc/hosts, for seconds when
 * a DNS server does not answer. The event loop must never wait for it. And
 * it parses what DNS servers send, a long history of bugs (CVE-2015-7547):
 * it should not run with the daemon's keys and capabilities either. So a
 * helper process resolves, and nothing else: `ferry resolver-helper`,
 * started before the daemon enters its sandbox, executed afresh (nothing of
 * the daemon's memory), in a sandbox of its own (no capabilities, the
 * daemon's user, a seccomp list of what getaddrinfo() needs). It takes jobs
 * from a pipe and writes each back with its answer into another, which the
 * event loop watches; the daemon checks each answer as it would a packet.
 * A job is a fixed-size record smaller than PIPE_BUF, so each write is
 * atomic and each read gets one whole job.
 *
 * Who calls what: resolver_start() before the sandbox; resolver_ask(),
 * resolver_answer() and resolver_stop() on the event loop thread (the
 * writes never block: a full pipe refuses a job). */
#ifndef FERRY_RESOLVER_H
#define FERRY_RESOLVER_H

#include "conf.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* "host:port": a host of up to 255 bytes, ':', a port of up to 5 digits. */
#define RESOLVE_NAME_MAX (255 + 1 + 5 + 1)

struct resolve_job {
	/* Asked: who asks (returned as it was), and what to resolve. */
	uint8_t peer_key[32];
	char name[RESOLVE_NAME_MAX];
	/* Answered: 0 and the first address, or -EINVAL and why, such as
	 * "host not found" (text, never a pointer: it crosses processes). */
	int err;
	char why[64];
	union conf_endpoint addr;
};

struct resolver;
struct sandbox_opts;

/* Start the helper, in the sandbox @sb describes (its user; NULL or off:
 * none); NULL (errno set) if it cannot be. Call it before the daemon's own
 * sandbox (which allows no fork) and after any fork to the background. */
struct resolver *resolver_start(const struct sandbox_opts *sb);
/* Readable when answers wait. */
int resolver_fd(const struct resolver *r);
/* The helper's process id (for messages and tests). */
pid_t resolver_pid(const struct resolver *r);
/* Queue @job; -EAGAIN when the helper has too many waiting already,
 * -ENAMETOOLONG for a name that does not fit, -EPIPE once the helper is
 * gone. Never blocks. */
int resolver_ask(struct resolver *r, const uint8_t peer_key[32], const char *name);
/* The next answer into @job: 1, or 0 when none waits, or -EPIPE when the
 * helper is gone or said something it may not (then it is not heard from
 * again: stop watching resolver_fd()). */
int resolver_answer(struct resolver *r, struct resolve_job *job);
/* Close the pipes: the helper exits when it notices (one inside
 * getaddrinfo() when that returns). */
void resolver_stop(struct resolver *r);

/* Is the host of endpoint text @text ("host:port", "[v6]:port") a name
 * rather than an address? Only names are worth resolving again. */
bool resolver_is_name(const char *text);

/* `ferry --resolver-helper PARENT-PID USER`: the helper itself, run by
 * resolver_start() with its pipes at descriptors 3 and 4. */
#define RESOLVER_HELPER_COMMAND "--resolver-helper"
int resolver_helper_main(int argc, char **argv);

#endif
