/* Unit tests: serving the control socket (uapi_serve_client) over a
 * socketpair: requests one after another on one connection, and a set
 * request over the size limit, which must be answered (errno=-90,
 * -EMSGSIZE) rather than cut off: `wg setconf` writes its whole request
 * before it reads, so a dropped connection kills it with SIGPIPE and no
 * message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "crypto.h"
#include "device.h"
#include "noise.h"
#include "uapi.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The client's side, on its own thread: write everything, then read the
 * replies until the daemon closes (at most 10 s: a test must end). */
struct client {
	int fd;
	const char *head; /* written first */
	size_t filler;	  /* then this many bytes of "allowed_ip=...\n" lines */
	const char *tail; /* then this */
	char reply[4096];
	size_t reply_len;
	int write_error;
};

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void *client_run(void *arg)
{
	static const char line[] = "allowed_ip=192.0.2.1/32\n";
	struct client *c = arg;
	char chunk[64 * 1024];
	size_t i, left = c->filler - c->filler % (sizeof(line) - 1); /* whole lines */

	for (i = 0; i + sizeof(line) - 1 <= sizeof(chunk); i += sizeof(line) - 1)
		memcpy(chunk + i, line, sizeof(line) - 1);
	c->write_error = write_all(c->fd, c->head, strlen(c->head));
	while (!c->write_error && left) {
		size_t n = left < i ? left : i;

		c->write_error = write_all(c->fd, chunk, n);
		left -= n;
	}
	if (!c->write_error && c->tail)
		c->write_error = write_all(c->fd, c->tail, strlen(c->tail));
	shutdown(c->fd, SHUT_WR); /* no more requests: the daemon need not wait */
	for (;;) {
		struct pollfd pfd = { c->fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		n = recv(c->fd, c->reply + c->reply_len, sizeof(c->reply) - 1 - c->reply_len, 0);
		if (n <= 0)
			break;
		c->reply_len += (size_t)n;
	}
	c->reply[c->reply_len] = '\0';
	return NULL;
}

/* Serve one connection from a client sending head, filler and tail. Errors
 * are negative, as wireguard-go sends them: wg prints strerror(-N). */
static void serve(struct client *c)
{
	static struct device dev;
	pthread_t t;
	int sv[2];

	assert_int_equal(device_init(&dev, "u"), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	c->fd = sv[0];
	assert_int_equal(pthread_create(&t, NULL, client_run, c), 0);
	uapi_serve_client(&dev, sv[1]); /* closes sv[1] */
	assert_int_equal(pthread_join(t, NULL), 0);
	close(sv[0]);
	device_destroy(&dev);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(crypt_init(), 0);
	noise_init();
	return 0;
}

static void requests_in_a_row(void **state)
{
	struct client c = { .head = "set=1\nfwmark=0\n\nget=1\n\nbogus=1\n\n" };

	(void)state;
	serve(&c);
	assert_int_equal(c.write_error, 0);
	assert_string_equal(c.reply, "errno=0\n\nerrno=0\n\nerrno=-22\n\n");
}

/* 64 MiB of request and more: refused with an answer, after the daemon
 * has read (and thrown away) the rest of it. */
static void oversized_set_is_answered(void **state)
{
	struct client c = { .head = "set=1\n", .filler = (65u << 20), .tail = "\n" };

	(void)state;
	serve(&c);
	assert_int_equal(c.write_error, 0);
	assert_string_equal(c.reply, "errno=-90\n\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests_in_a_row),
		cmocka_unit_test(oversized_set_is_answered),
	};

	return cmocka_run_group_tests_name("uapi_serve", tests, setup, NULL);
}
