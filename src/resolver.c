/* resolver.c - the resolver process and the two pipes to it (resolver.h).
 *
 * resolver_start() makes two pipes and forks; the child moves its ends to
 * descriptors 3 (jobs, read) and 4 (answers, write), closes every other
 * descriptor and executes /proc/self/exe again as `ferry --resolver-helper`:
 * a fresh address space, so that nothing of the daemon's memory (private
 * keys above all) is in the process that parses DNS answers. The helper
 * enters a sandbox of its own (no capabilities, the daemon's user, a
 * seccomp list of what getaddrinfo() needs) and then answers jobs until the
 * job pipe reaches end-of-file.
 *
 * Ownership: the event loop owns struct resolver, the write end of the job
 * pipe and the read end of the answer pipe. Closing them is all it takes to
 * stop the helper: its next read returns end-of-file or its next write
 * fails (EPIPE), and it exits; PR_SET_PDEATHSIG ends it should the daemon
 * die first. Answers are read as hostile: a helper that broke down (or was
 * broken into) can write anything into its pipe. */
#include "resolver.h"

#include "log.h"
#include "parse.h"
#include "sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

_Static_assert(sizeof(struct resolve_job) <= PIPE_BUF, "a job must be written atomically");

/* The helper's descriptors. */
#define HELPER_JOBS_FD	  3
#define HELPER_ANSWERS_FD 4

struct resolver {
	pid_t pid;
	int jobs;    /* write end: jobs for the helper */
	int answers; /* read end: jobs answered */
	bool dead;   /* the helper is gone, or said something it may not */
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

/* --- the helper process -------------------------------------------------- */

static void answer_jobs(int jobs, int answers)
{
	struct resolve_job job;

	for (;;) {
		const char *why = NULL;
		ssize_t n = read(jobs, &job, sizeof(job));

		if (n < 0 && errno == EINTR)
			continue;
		/* End of file: the daemon is done with us. */
		if (n <= 0)
			break;
		if ((size_t)n != sizeof(job))
			continue; /* cannot happen: jobs are written whole */
		job.name[sizeof(job.name) - 1] = '\0';
		memset(&job.addr, 0, sizeof(job.addr));
		memset(job.why, 0, sizeof(job.why));
		/* The config file's parser: what it accepted at start it
		 * accepts again, and resolves names the same way. */
		job.err = parse_endpoint(job.name, strlen(job.name), PARSE_HOST_RESOLVE, &job.addr, &why);
		if (job.err)
			snprintf(job.why, sizeof(job.why), "%s", why ? why : "cannot be resolved");
		if (write_all(answers, &job, sizeof(job)) < 0)
			break;
	}
}

static int parse_id(const char *s, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno || end == s || *end ? -EINVAL : 0;
}

int resolver_helper_main(int argc, char **argv)
{
	struct sandbox_opts sb = { 0 };
	unsigned long parent, uid, gid;

	log_set_progname("ferry (resolver)");
	/* PARENT-PID and USER: a uid:gid, "-" (stay who we are) or "off" (no
	 * sandbox: the daemon has none either). */
	if (argc != 3 || parse_id(argv[1], &parent) < 0 || fcntl(HELPER_JOBS_FD, F_GETFD) < 0 ||
	    fcntl(HELPER_ANSWERS_FD, F_GETFD) < 0) {
		log_err("an internal command of the ferry daemon, not for people: see ferry(8)");
		return 2;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != (pid_t)parent)
		return 1; /* the daemon is gone already */
	if (!strcmp(argv[2], "off")) {
		sb.off = "the daemon's";
	} else if (strcmp(argv[2], "-")) {
		char *colon = strchr(argv[2], ':');

		if (!colon)
			return 2;
		*colon = '\0';
		if (parse_id(argv[2], &uid) < 0 || parse_id(colon + 1, &gid) < 0)
			return 2;
		sb.has_user = true;
		sb.user.uid = (uid_t)uid;
		sb.user.gid = (gid_t)gid;
		snprintf(sb.user.name, sizeof(sb.user.name), "%lu", uid);
	}
	if (!sb.off && sandbox_enter_resolver(&sb) < 0)
		return 1;
	answer_jobs(HELPER_JOBS_FD, HELPER_ANSWERS_FD);
	return 0;
}

/* --- the daemon's side --------------------------------------------------- */

/* In the child, between fork() and execv(): system calls only. */
static void exec_helper(int jobs, int answers, char **argv)
{
	int j = fcntl(jobs, F_DUPFD, 10), a = fcntl(answers, F_DUPFD, 10);

	if (j < 0 || a < 0 || dup2(j, HELPER_JOBS_FD) < 0 || dup2(a, HELPER_ANSWERS_FD) < 0)
		_exit(127);
	/* Nothing else of the daemon's: not its device, sockets or pipes. */
	if (close_range(HELPER_ANSWERS_FD + 1, ~0U, 0) < 0)
		_exit(127);
	execv("/proc/self/exe", argv);
	_exit(127);
}

struct resolver *resolver_start(const struct sandbox_opts *sb)
{
	struct resolver *r = calloc(1, sizeof(*r));
	int jobs[2] = { -1, -1 }, answers[2] = { -1, -1 }, err, i;
	char parent[24], user[48];
	char *argv[] = { "ferry", RESOLVER_HELPER_COMMAND, parent, user, NULL };

	if (!r) {
		err = ENOMEM;
		goto fail;
	}
	if (pipe2(jobs, O_CLOEXEC) < 0 || pipe2(answers, O_CLOEXEC) < 0) {
		err = errno;
		goto fail;
	}
	/* The daemon's ends never block: a full job pipe refuses a job, an
	 * empty answer pipe says so. */
	if (fcntl(jobs[1], F_SETFL, O_NONBLOCK) < 0 || fcntl(answers[0], F_SETFL, O_NONBLOCK) < 0) {
		err = errno;
		goto fail;
	}
	snprintf(parent, sizeof(parent), "%ld", (long)getpid());
	if (!sb || sb->off)
		snprintf(user, sizeof(user), "off");
	else if (sb->has_user)
		snprintf(user, sizeof(user), "%u:%u", (unsigned int)sb->user.uid, (unsigned int)sb->user.gid);
	else
		snprintf(user, sizeof(user), "-");
	r->pid = fork();
	if (r->pid < 0) {
		err = errno;
		goto fail;
	}
	if (r->pid == 0)
		exec_helper(jobs[0], answers[1], argv);
	close(jobs[0]);
	close(answers[1]);
	r->jobs = jobs[1];
	r->answers = answers[0];
	return r;
fail:
	for (i = 0; i < 2; i++) {
		if (jobs[i] >= 0)
			close(jobs[i]);
		if (answers[i] >= 0)
			close(answers[i]);
	}
	free(r);
	errno = err;
	return NULL;
}

int resolver_fd(const struct resolver *r)
{
	return r->answers;
}

pid_t resolver_pid(const struct resolver *r)
{
	return r->pid;
}

int resolver_ask(struct resolver *r, const uint8_t peer_key[32], const char *name)
{
	struct resolve_job job;
	size_t len = strlen(name);
	ssize_t n;

	if (r->dead)
		return -EPIPE;
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

/* What the helper says is checked like a packet from the network. */
static bool answer_is_sane(struct resolve_job *job)
{
	const struct sockaddr *sa = &job->addr.sa;

	char *c;

	job->name[sizeof(job->name) - 1] = '\0';
	job->why[sizeof(job->why) - 1] = '\0';
	/* It goes into the log: one line, printable. */
	for (c = job->why; *c; c++)
		if (*c < 0x20 || *c > 0x7e)
			*c = '?';
	if (job->err)
		return job->err == -EINVAL;
	if (sa->sa_family == AF_INET)
		return job->addr.in4.sin_port != 0;
	if (sa->sa_family == AF_INET6)
		return job->addr.in6.sin6_port != 0;
	return false;
}

int resolver_answer(struct resolver *r, struct resolve_job *job)
{
	ssize_t n;

	if (r->dead)
		return -EPIPE;
	do
		n = read(r->answers, job, sizeof(*job));
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == EAGAIN)
		return 0;
	/* End of file, an error, half a job or nonsense: nothing it says
	 * from now on can be trusted to be whole. */
	if (n != (ssize_t)sizeof(*job) || !answer_is_sane(job)) {
		r->dead = true;
		return -EPIPE;
	}
	return 1;
}

void resolver_stop(struct resolver *r)
{
	int i;

	if (!r)
		return;
	/* The helper sees end-of-file (or EPIPE) and exits. */
	close(r->jobs);
	close(r->answers);
	/* Reaped if it is quick about it; otherwise init reaps it once the
	 * daemon is gone (the sandboxed daemon may not wait at all). */
	for (i = 0; i < 20 && waitpid(r->pid, NULL, WNOHANG) == 0; i++)
		nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
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
