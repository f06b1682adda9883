/* Unit tests: the resolver process (resolver.c). Names and addresses come
 * back answered, in order, with the asker's key, from a helper in its
 * sandbox (no capabilities, no_new_privs, seccomp) that holds no descriptor
 * of ours; a flood of jobs is refused (-EAGAIN) rather than blocking the
 * caller; stopping with jobs left returns at once. A helper that answers
 * with nonsense (the main() below plays it) is not listened to again.
 * resolver_is_name() against getaddrinfo's idea of a numeric host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "resolver.h"
#include "sandbox.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>

/* The next answer, waiting up to 10 s for it. */
static void next_answer(struct resolver *r, struct resolve_job *job)
{
	uint64_t until = clock_ms() + 10000;

	while (resolver_answer(r, job) == 0) {
		struct pollfd pfd = { .fd = resolver_fd(r), .events = POLLIN };

		if (clock_ms() > until)
			fail_msg("no answer within 10 s");
		poll(&pfd, 1, 100);
	}
}

/* A line of /proc/PID/status, such as "Seccomp:", as a number. */
static long status_field(pid_t pid, const char *field, int base)
{
	char path[64], line[256];
	long value = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			value = strtol(line + strlen(field), NULL, base);
	fclose(f);
	return value;
}

static void answers_in_order(void **state)
{
	static const char *const names[] = { "192.0.2.7:51820", "localhost:53", "no-such-host.invalid:1",
					     "[2001:db8::1]:443" };
	struct sandbox_opts sb = { 0 }; /* the sandbox on, as the daemon has it */
	struct resolver *r = resolver_start(&sb);
	struct resolve_job job;
	uint8_t key[32];
	char text[INET6_ADDRSTRLEN];
	size_t i;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		memset(key, (int)i + 1, sizeof(key));
		assert_int_equal(resolver_ask(r, key, names[i]), 0);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		next_answer(r, &job);
		memset(key, (int)i + 1, sizeof(key));
		assert_memory_equal(job.peer_key, key, sizeof(key));
		assert_string_equal(job.name, names[i]);
		switch (i) {
		case 0:
			assert_int_equal(job.err, 0);
			assert_int_equal(job.addr.sa.sa_family, AF_INET);
			assert_string_equal(inet_ntop(AF_INET, &job.addr.in4.sin_addr, text, sizeof(text)),
					    "192.0.2.7");
			assert_int_equal(ntohs(job.addr.in4.sin_port), 51820);
			break;
		case 1: /* localhost is in every /etc/hosts */
			assert_int_equal(job.err, 0);
			assert_true(job.addr.sa.sa_family == AF_INET || job.addr.sa.sa_family == AF_INET6);
			break;
		case 2:
			assert_int_equal(job.err, -EINVAL);
			assert_true(job.why[0] != '\0');
			break;
		default:
			assert_int_equal(job.err, 0);
			assert_int_equal(job.addr.sa.sa_family, AF_INET6);
			assert_int_equal(ntohs(job.addr.in6.sin6_port), 443);
		}
	}
	assert_int_equal(resolver_answer(r, &job), 0);
	/* It answered from inside its sandbox. */
	assert_int_equal(status_field(resolver_pid(r), "Seccomp:", 10), 2);
	assert_int_equal(status_field(resolver_pid(r), "NoNewPrivs:", 10), 1);
	assert_int_equal(status_field(resolver_pid(r), "CapEff:", 16), 0);
	assert_int_equal(status_field(resolver_pid(r), "CapPrm:", 16), 0);
	resolver_stop(r);
}

/* What a helper that went wrong could write, played by this program (see
 * main()); each answer makes the helper dead to the daemon. */
static void bad_answers_are_refused(void **state)
{
	static const char *const kinds[] = { "err", "family", "port", "half", "eof" };
	uint8_t key[32] = { 0 };
	struct resolve_job job;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct resolver *r;
		uint64_t until = clock_ms() + 10000;
		int ret;

		setenv("TEST_RESOLVER_PLAY", kinds[i], 1);
		r = resolver_start(NULL);
		unsetenv("TEST_RESOLVER_PLAY");
		assert_non_null(r);
		assert_int_equal(resolver_ask(r, key, "192.0.2.1:1"), 0);
		while ((ret = resolver_answer(r, &job)) == 0) {
			struct pollfd pfd = { .fd = resolver_fd(r), .events = POLLIN };

			if (clock_ms() > until)
				fail_msg("%s: no answer within 10 s", kinds[i]);
			poll(&pfd, 1, 100);
		}
		if (ret != -EPIPE)
			fail_msg("%s: answer taken (%d)", kinds[i], ret);
		/* And not heard from again. */
		assert_int_equal(resolver_answer(r, &job), -EPIPE);
		assert_int_equal(resolver_ask(r, key, "192.0.2.1:1"), -EPIPE);
		resolver_stop(r);
	}
}

/* An error text goes into the log as one printable line. */
static void error_text_made_printable(void **state)
{
	uint8_t key[32] = { 0 };
	struct resolve_job job;
	struct resolver *r;

	(void)state;
	setenv("TEST_RESOLVER_PLAY", "why", 1);
	r = resolver_start(NULL);
	unsetenv("TEST_RESOLVER_PLAY");
	assert_non_null(r);
	assert_int_equal(resolver_ask(r, key, "192.0.2.1:1"), 0);
	next_answer(r, &job);
	assert_int_equal(job.err, -EINVAL);
	assert_string_equal(job.why, "line??]0;?");
	resolver_stop(r);
}

/* The helper holds descriptors 0-4 and nothing else of ours, not even one
 * opened without O_CLOEXEC. It says which it has in its answer's text. */
static void helper_holds_no_descriptor_of_ours(void **state)
{
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int leak = fcntl(null, F_DUPFD, 40); /* without FD_CLOEXEC */
	uint8_t key[32] = { 0 };
	struct resolve_job job;
	struct resolver *r;

	(void)state;
	assert_true(leak >= 40);
	setenv("TEST_RESOLVER_PLAY", "fds", 1);
	r = resolver_start(NULL);
	unsetenv("TEST_RESOLVER_PLAY");
	assert_non_null(r);
	assert_int_equal(resolver_ask(r, key, "192.0.2.1:1"), 0);
	next_answer(r, &job);
	assert_string_equal(job.why, "3 4");
	resolver_stop(r);
	close(leak);
	close(null);
}

/* The helper's parts of main(): a helper that plays one kind of failure. */
static int play_helper(const char *kind)
{
	struct resolve_job job;
	size_t len = sizeof(job);
	DIR *d;
	struct dirent *e;
	size_t n = 0;

	if (read(3, &job, sizeof(job)) != (ssize_t)sizeof(job))
		return 1;
	memset(job.why, 0, sizeof(job.why));
	job.err = 0;
	memset(&job.addr, 0, sizeof(job.addr));
	job.addr.in4.sin_family = AF_INET;
	job.addr.in4.sin_port = htons(1);
	if (!strcmp(kind, "eof"))
		return 0;
	if (!strcmp(kind, "err"))
		job.err = 5;
	else if (!strcmp(kind, "family"))
		job.addr.sa.sa_family = AF_UNIX;
	else if (!strcmp(kind, "port"))
		job.addr.in4.sin_port = 0;
	else if (!strcmp(kind, "half"))
		len = sizeof(job) / 2;
	else if (!strcmp(kind, "why")) {
		job.err = -EINVAL;
		snprintf(job.why, sizeof(job.why), "line\n\x1b]0;\a");
	} else if (!strcmp(kind, "fds")) {
		job.err = -EINVAL;
		d = opendir("/proc/self/fd");
		while (d && (e = readdir(d))) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(d) && n + 8 < sizeof(job.why))
				n += (size_t)snprintf(job.why + n, sizeof(job.why) - n, "%s%d", n ? " " : "", fd);
		}
		if (d)
			closedir(d);
	}
	if (write(4, &job, len) != (ssize_t)len)
		return 1;
	/* Wait for the end of the job pipe, as a real helper would. */
	while (read(3, &job, sizeof(job)) > 0)
		;
	return 0;
}

static void long_name_refused(void **state)
{
	struct resolver *r = resolver_start(NULL);
	char name[RESOLVE_NAME_MAX + 10];
	uint8_t key[32] = { 0 };

	(void)state;
	assert_non_null(r);
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(resolver_ask(r, key, name), -ENAMETOOLONG);
	resolver_stop(r);
}

/* Nobody reads the answers: the pipes fill, and asking is refused at once,
 * never blocked. Then stopping, with jobs left, returns promptly. */
static void flood_is_refused_not_blocking(void **state)
{
	struct resolver *r = resolver_start(NULL);
	uint8_t key[32] = { 0 };
	uint64_t t0 = clock_ms();
	int i, ret = 0;

	(void)state;
	assert_non_null(r);
	for (i = 0; i < 100000 && ret == 0; i++)
		ret = resolver_ask(r, key, "192.0.2.1:1");
	assert_int_equal(ret, -EAGAIN);
	assert_true(i > 10);
	assert_true(clock_ms() - t0 < 5000);
	t0 = clock_ms();
	resolver_stop(r);
	assert_true(clock_ms() - t0 < 3000);
}

/* resolver_is_name() says "name" exactly when getaddrinfo() with
 * AI_NUMERICHOST refuses the host. */
static void names_and_addresses(void **state)
{
	static const struct {
		const char *text;
		bool name;
	} cases[] = {
		{ "vpn.example.org:51820", true },
		{ "localhost:1", true },
		{ "1.2.3.4.example:1", true },
		{ "host-1:65535", true },
		{ "192.0.2.1:51820", false },
		{ "127.1:5", false },
		{ "0x7f000001:5", false },
		{ "[2001:db8::1]:443", false },
		{ "[fe80::1%1]:443", false },
		{ "no-port", false },
		{ ":51820", false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (resolver_is_name(cases[i].text) != cases[i].name)
			fail_msg("%s: expected %s", cases[i].text, cases[i].name ? "a name" : "not a name");
		if (cases[i].name) {
			struct addrinfo hints = { .ai_flags = AI_NUMERICHOST }, *res = NULL;
			char host[256];
			const char *colon = strrchr(cases[i].text, ':');

			memcpy(host, cases[i].text, (size_t)(colon - cases[i].text));
			host[colon - cases[i].text] = '\0';
			assert_int_not_equal(getaddrinfo(host, NULL, &hints, &res), 0);
		}
	}
}

int main(int argc, char **argv)
{
	/* The resolver process is this program again (/proc/self/exe). */
	if (argc > 1 && !strcmp(argv[1], RESOLVER_HELPER_COMMAND))
		return getenv("TEST_RESOLVER_PLAY") ? play_helper(getenv("TEST_RESOLVER_PLAY"))
						    : resolver_helper_main(argc - 1, argv + 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_in_order),	     cmocka_unit_test(bad_answers_are_refused),
		cmocka_unit_test(error_text_made_printable), cmocka_unit_test(helper_holds_no_descriptor_of_ours),
		cmocka_unit_test(long_name_refused),	     cmocka_unit_test(flood_is_refused_not_blocking),
		cmocka_unit_test(names_and_addresses),
	};

	return cmocka_run_group_tests_name("resolver", tests, NULL, NULL);
}
