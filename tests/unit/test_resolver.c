/* Unit tests: the resolver thread (resolver.c). Names and addresses come
 * back answered, in order, with the asker's key; a flood of jobs is refused
 * (-EAGAIN) rather than blocking the caller; stopping with jobs left waits
 * about a second at most. resolver_is_name() against getaddrinfo's idea of
 * a numeric host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "resolver.h"

#include <arpa/inet.h>
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

static void answers_in_order(void **state)
{
	static const char *const names[] = { "192.0.2.7:51820", "localhost:53", "no-such-host.invalid:1",
					     "[2001:db8::1]:443" };
	struct resolver *r = resolver_start();
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
			assert_non_null(job.why);
			break;
		default:
			assert_int_equal(job.err, 0);
			assert_int_equal(job.addr.sa.sa_family, AF_INET6);
			assert_int_equal(ntohs(job.addr.in6.sin6_port), 443);
		}
	}
	assert_int_equal(resolver_answer(r, &job), 0);
	resolver_stop(r);
}

static void long_name_refused(void **state)
{
	struct resolver *r = resolver_start();
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
	struct resolver *r = resolver_start();
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(answers_in_order),
		cmocka_unit_test(long_name_refused),
		cmocka_unit_test(flood_is_refused_not_blocking),
		cmocka_unit_test(names_and_addresses),
	};

	return cmocka_run_group_tests_name("resolver", tests, NULL, NULL);
}
