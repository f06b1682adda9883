/* resolver.c - the resolver thread and the two pipes to it (resolver.h).
 *
 * Ownership: the event loop owns struct resolver, the write end of the job
 * pipe and the read end of the answer pipe; the thread owns struct
 * resolver_thread (malloc'd by resolver_start, freed by the thread) with the
 * two other ends, and closes them when it ends. So the thread can be left
 * behind (stuck in a DNS timeout at shutdown) without anything of it being
 * freed under it: once the loop's ends are closed, its next read returns
 * end-of-file or its next write EPIPE, and it ends. */
#include "resolver.h"

#include "log.h"
#include "parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct resolve_job) <= PIPE_BUF, "a job must be written atomically");

/* How long resolver_stop() waits for a thread inside getaddrinfo(). */
#define RESOLVER_STOP_WAIT_MS 1000

struct resolver {
	pthread_t thread;
	int jobs;    /* write end: jobs for the thread */
	int answers; /* read end: jobs answered */
};

struct resolver_thread {
	int jobs;    /* read end */
	int answers; /* write end */
};

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *resolver_main(void *arg)
{
	struct resolver_thread *t = arg;
	struct resolve_job job;

	for (;;) {
		ssize_t n = read(t->jobs, &job, sizeof(job));

		if (n < 0 && errno == EINTR)
			continue;
		/* End of file: the event loop is done with us. */
		if (n <= 0)
			break;
		if ((size_t)n != sizeof(job))
			continue; /* cannot happen: jobs are written whole */
		job.name[sizeof(job.name) - 1] = '\0';
		job.why = NULL;
		/* The config file's parser: it keeps no state, so it is safe
		 * here; what it accepted at start it accepts again. */
		job.err = parse_endpoint(job.name, strlen(job.name), PARSE_HOST_RESOLVE, &job.addr, &job.why);
		if (write_all(t->answers, &job, sizeof(job)) < 0)
			break;
	}
	close(t->jobs);
	close(t->answers);
	free(t);
	return NULL;
}

struct resolver *resolver_start(void)
{
	struct resolver *r = calloc(1, sizeof(*r));
	struct resolver_thread *t = calloc(1, sizeof(*t));
	int jobs[2] = { -1, -1 }, answers[2] = { -1, -1 }, err, i;
	sigset_t all, old;

	if (!r || !t) {
		err = ENOMEM;
		goto fail;
	}
	if (pipe2(jobs, O_CLOEXEC) < 0 || pipe2(answers, O_CLOEXEC) < 0) {
		err = errno;
		goto fail;
	}
	/* The loop's ends never block: a full job pipe refuses a job, an
	 * empty answer pipe says so. */
	if (fcntl(jobs[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(answers[0], F_SETFL, O_NONBLOCK) < 0) {
		err = errno;
		goto fail;
	}
	r->jobs = jobs[1];
	r->answers = answers[0];
	t->jobs = jobs[0];
	t->answers = answers[1];
	/* Signals are the event loop's (its signalfd): the thread takes none,
	 * and a write to a closed answer pipe is EPIPE, not SIGPIPE. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&r->thread, NULL, resolver_main, t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err)
		goto fail;
	return r;
fail:
	for (i = 0; i < 2; i++) {
		if (jobs[i] >= 0)
			close(jobs[i]);
		if (answers[i] >= 0)
			close(answers[i]);
	}
	free(r);
	free(t);
	errno = err;
	return NULL;
}

int resolver_fd(const struct resolver *r)
{
	return r->answers;
}

int resolver_ask(struct resolver *r, const uint8_t peer_key[32], const char *name)
{
	struct resolve_job job;
	size_t len = strlen(name);
	ssize_t n;

	if (len >= sizeof(job.name))
		return -ENAMETOOLONG;
	memset(&job, 0, sizeof(job));
	memcpy(job.peer_key, peer_key, sizeof(job.peer_key));
	memcpy(job.name, name, len);
	n = write(r->jobs, &job, sizeof(job));
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

int resolver_answer(struct resolver *r, struct resolve_job *job)
{
	ssize_t n;

	do
		n = read(r->answers, job, sizeof(*job));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(*job))
		return 0;
	job->name[sizeof(job->name) - 1] = '\0';
	return 1;
}

void resolver_stop(struct resolver *r)
{
	struct timespec until;

	if (!r)
		return;
	close(r->jobs);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (RESOLVER_STOP_WAIT_MS % 1000) * 1000000L;
	until.tv_sec += RESOLVER_STOP_WAIT_MS / 1000 + until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	if (pthread_timedjoin_np(r->thread, NULL, &until) != 0) {
		log_debug("the resolver thread is still inside getaddrinfo(); not waiting for it");
		pthread_detach(r->thread);
	}
	close(r->answers);
	free(r);
}

bool resolver_is_name(const char *text)
{
	const char *colon = strrchr(text, ':');
	char host[256];
	struct in_addr a;
	size_t len;

	/* "[...]" is an IPv6 address; anything else is "host:port". */
	if (text[0] == '[' || !colon)
		return false;
	len = (size_t)(colon - text);
	if (len == 0 || len >= sizeof(host))
		return false;
	memcpy(host, text, len);
	host[len] = '\0';
	/* What getaddrinfo() reads as an IPv4 address, "127.1" included. */
	return inet_aton(host, &a) == 0;
}
