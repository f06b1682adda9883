/* Unit tests: the TCP transport's connection table against abuse, over
 * real loopback sockets (no root needed). A device "a" listens with
 * ListenTCP and runs a small event loop here; the other side is this test,
 * holding the keys of peers that "a" has configured. Regression tests for
 * issue 10: one connection authenticating as two peers (use after free),
 * unbound connections kept alive by junk, unlimited connections per peer
 * and per source, and accept() spinning when descriptors run out. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "apply.h"
#include "clock.h"
#include "cookie.h"
#include "crypto.h"
#include "device.h"
#include "noise.h"
#include "receive.h"
#include "send.h"
#include "tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define N_KEYS 2

struct fixture {
	struct device a;
	struct peer *peer[N_KEYS]; /* a's peers, whose keys the test holds */
	/* The test's side: one in-memory device per key, each with peer a. */
	struct device key[N_KEYS];
	struct peer *to_a[N_KEYS];
	uint16_t port;
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	uint8_t k[32];
	int i;

	assert_non_null(f);
	assert_int_equal(crypt_init(), 0);
	noise_init();
	assert_int_equal(device_init(&f->a, "a"), 0);
	crypt_generate_secret(k);
	device_set_private_key(&f->a, k);
	for (i = 0; i < N_KEYS; i++) {
		assert_int_equal(device_init(&f->key[i], "k"), 0);
		crypt_generate_secret(k);
		device_set_private_key(&f->key[i], k);
		f->peer[i] = peer_create(&f->a, f->key[i].local.public_key);
		f->to_a[i] = peer_create(&f->key[i], f->a.local.public_key);
		assert_non_null(f->peer[i]);
		assert_non_null(f->to_a[i]);
	}
	f->a.io.epfd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(f->a.io.epfd >= 0);
	/* A free port: try a few in the dynamic range. */
	for (i = 0; i < 50; i++) {
		f->port = (uint16_t)(40000 + (unsigned int)(clock_ms() * 7919 + (uint64_t)i * 104729) % 20000);
		if (tcp_listen(&f->a.io, f->port) == 0)
			break;
	}
	assert_true(i < 50);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	int i;

	close(f->a.io.epfd);
	f->a.io.epfd = -1;
	device_destroy(&f->a);
	for (i = 0; i < N_KEYS; i++)
		device_destroy(&f->key[i]);
	free(f);
	return 0;
}

/* One turn of a's event loop: wait up to @ms for events and handle them.
 * Returns how many events there were. */
static int turn(struct fixture *f, int ms)
{
	struct epoll_event ev[16];
	int n = epoll_wait(f->a.io.epfd, ev, 16, ms), i;

	for (i = 0; i < n; i++) {
		struct loop_handler *h = ev[i].data.ptr;

		h->ready(h, ev[i].events);
	}
	if (receive_handshakes_waiting(&f->a)) {
		receive_handshakes(&f->a, HANDSHAKES_PER_TURN);
		send_flush(&f->a);
		n = n < 0 ? 1 : n + 1;
	}
	tcp_reap(&f->a.io);
	return n < 0 ? 0 : n;
}

/* Turns until nothing happens for 50 ms (bounded). */
static void settle(struct fixture *f)
{
	int i;

	for (i = 0; i < 100 && turn(f, 50) > 0; i++)
		;
}

static int dial(struct fixture *f)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(f->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0);
	return fd;
}

static void send_frame(int fd, const void *msg, size_t len)
{
	uint8_t buf[2 + 256];

	assert_true(len <= 256);
	buf[0] = (uint8_t)(len >> 8);
	buf[1] = (uint8_t)len;
	memcpy(buf + 2, msg, len);
	assert_int_equal(send(fd, buf, 2 + len, MSG_NOSIGNAL), (ssize_t)(2 + len));
}

/* A valid handshake initiation as key @k, framed, on @fd. */
static void send_initiation(struct fixture *f, int k, int fd)
{
	struct message_handshake_initiation init;

	assert_true(noise_handshake_create_initiation(&init, f->to_a[k]));
	cookie_add_macs(f->to_a[k], &init, sizeof(init));
	send_frame(fd, &init, sizeof(init));
}

/* Has the other end closed @fd (EOF or reset), within @ms? Reads and
 * discards what a sent before. */
static bool closed_by_a(int fd, int ms)
{
	uint64_t end = clock_ms() + (uint64_t)ms;
	char buf[4096];

	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&p, 1, 10) > 0) {
			n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN))
				return true;
		}
		if (clock_ms() >= end)
			return false;
	}
}

static struct tcp_stats stats(struct fixture *f)
{
	struct tcp_stats st;

	tcp_stats(&f->a.io, &st);
	return st;
}

/* Issue 10, bug 1: a connection that authenticates as key 1, then as key
 * 2, then closes. Key 1's peer must not keep sending through it (use after
 * free under ASan) nor free it again when removed. */
static void one_connection_two_peers(void **state)
{
	struct fixture *f = *state;
	uint64_t errors;
	int fd = dial(f);

	settle(f);
	send_initiation(f, 0, fd);
	settle(f);
	send_initiation(f, 1, fd);
	settle(f);
	/* a answered both: the handshakes completed on a's side. */
	assert_non_null(f->peer[0]->next);
	assert_non_null(f->peer[1]->next);
	assert_int_equal(f->peer[0]->transport.endpoint.kind, ENDPOINT_TCP);
	close(fd);
	settle(f);
	assert_int_equal(stats(f).conns, 0);

	/* Sends to both peers now go nowhere, and say so. */
	errors = f->a.drops[DROP_SEND_ERROR];
	f->peer[0]->last_sent_handshake_ms = f->peer[1]->last_sent_handshake_ms = 0;
	send_handshake_initiation(f->peer[0], false);
	send_handshake_initiation(f->peer[1], false);
	send_flush(&f->a);
	assert_int_equal(f->a.drops[DROP_SEND_ERROR], errors + 2);
	peer_remove(f->peer[0]);
	peer_remove(f->peer[1]);
}

/* Issue 10, "also fix": a peer reached over TCP that then sends over UDP
 * gets its replies over UDP again: the transport follows its latest
 * authenticated message. */
static void transport_follows_latest_message(void **state)
{
	struct fixture *f = *state;
	struct message_handshake_initiation init;
	struct endpoint udp = { .kind = ENDPOINT_UDP };
	int fd = dial(f);

	settle(f);
	send_initiation(f, 0, fd);
	settle(f);
	assert_int_equal(f->peer[0]->transport.endpoint.kind, ENDPOINT_TCP);
	sleep_ms(25); /* initiations from one key: at most 50 a second */
	udp.addr.in4.sin_family = AF_INET;
	udp.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.7", &udp.addr.in4.sin_addr);
	assert_true(noise_handshake_create_initiation(&init, f->to_a[0]));
	cookie_add_macs(f->to_a[0], &init, sizeof(init));
	receive_packet(&f->a, (uint8_t *)&init, sizeof(init), &udp);
	receive_handshakes(&f->a, HANDSHAKES_PER_TURN);
	assert_int_equal(f->peer[0]->transport.endpoint.kind, ENDPOINT_UDP);
	assert_memory_equal(&f->peer[0]->transport.endpoint.addr, &udp.addr, sizeof(udp.addr));
	/* The connection is not its peer's way any more: it goes once its
	 * last authenticated message is TCP_UNBOUND_TIMEOUT_MS old. */
	tcp_expire(&f->a.io, clock_ms() + TCP_UNBOUND_TIMEOUT_MS + 1000);
	assert_int_equal(stats(f).conns, 0);
	assert_true(closed_by_a(fd, 1000));
	close(fd);
}

/* Issue 10, bug 4: an unbound connection's time runs from its birth, not
 * from its latest bytes; framed junk does not keep it. */
static void junk_does_not_keep_unbound_alive(void **state)
{
	struct fixture *f = *state;
	uint64_t t0 = clock_ms();
	uint8_t junk = 9;
	int fd = dial(f);

	settle(f);
	sleep_ms(200);
	send_frame(fd, &junk, 1);
	settle(f);
	assert_int_equal(stats(f).conns, 1);
	/* 10.1 s after the connection was made, 9.9 s after the junk. */
	tcp_expire(&f->a.io, t0 + TCP_UNBOUND_TIMEOUT_MS + 100);
	assert_int_equal(stats(f).conns, 0);
	assert_true(closed_by_a(fd, 1000));
	close(fd);
}

/* Issue 10, bug 4: one source holds at most TCP_MAX_UNBOUND_PER_SOURCE
 * unbound connections; the next is refused and counted. */
static void unbound_per_source_capped(void **state)
{
	struct fixture *f = *state;
	int fds[TCP_MAX_UNBOUND_PER_SOURCE + 2], i;

	for (i = 0; i < TCP_MAX_UNBOUND_PER_SOURCE + 2; i++) {
		fds[i] = dial(f);
		settle(f);
	}
	assert_int_equal(stats(f).conns, TCP_MAX_UNBOUND_PER_SOURCE);
	assert_int_equal(f->a.drops[DROP_TCP_REFUSED], 2);
	assert_true(closed_by_a(fds[TCP_MAX_UNBOUND_PER_SOURCE], 1000));
	assert_true(closed_by_a(fds[TCP_MAX_UNBOUND_PER_SOURCE + 1], 1000));
	/* The earlier ones are still open. */
	assert_false(closed_by_a(fds[0], 50));
	for (i = 0; i < TCP_MAX_UNBOUND_PER_SOURCE + 2; i++)
		close(fds[i]);
}

/* Issue 10, bug 5: one key opening connection after connection keeps at
 * most TCP_MAX_PER_PEER of them; the least recently authenticated go. */
static void connections_per_peer_capped(void **state)
{
	struct fixture *f = *state;
	int fds[TCP_MAX_PER_PEER + 3], i, open = 0;

	for (i = 0; i < TCP_MAX_PER_PEER + 3; i++) {
		fds[i] = dial(f);
		settle(f);
		send_initiation(f, 0, fds[i]);
		settle(f);
		sleep_ms(25); /* initiations from one key: at most 50 a second */
	}
	assert_int_equal(stats(f).conns, TCP_MAX_PER_PEER);
	assert_int_equal(stats(f).bound, TCP_MAX_PER_PEER);
	for (i = 0; i < TCP_MAX_PER_PEER + 3; i++)
		open += !closed_by_a(fds[i], 20);
	assert_int_equal(open, TCP_MAX_PER_PEER);
	/* The newest ones stayed. */
	assert_false(closed_by_a(fds[TCP_MAX_PER_PEER + 2], 20));
	for (i = 0; i < TCP_MAX_PER_PEER + 3; i++)
		close(fds[i]);
}

/* Issue 10, bug 5: when accept() fails for want of descriptors, the
 * listener is not watched for a while: the loop does not spin on it. */
static void accept_pauses_without_descriptors(void **state)
{
	struct fixture *f = *state;
	struct rlimit old, low;
	int fds[8], n = 0, i, events = 0, dummy;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	/* The lowest free descriptor number is how many are in use (about). */
	dummy = dup(0);
	assert_true(dummy >= 0);
	close(dummy);
	low = old;
	low.rlim_cur = (rlim_t)dummy + 2; /* room for the client ends, not for a's */
	for (i = 0; i < 2; i++)
		fds[n++] = dial(f);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	/* The first accept fails with EMFILE (the client sockets took the
	 * room); afterwards a pending connection must not wake the loop. */
	turn(f, 50);
	for (i = 0; i < 20; i++)
		events += turn(f, 10);
	assert_true(events <= 1);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	/* A second later accepting resumes and the connections are taken. */
	tcp_expire(&f->a.io, clock_ms() + TCP_ACCEPT_PAUSE_MS + 1);
	settle(f);
	assert_int_equal(stats(f).conns, 2);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(one_connection_two_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(transport_follows_latest_message, setup, teardown),
		cmocka_unit_test_setup_teardown(junk_does_not_keep_unbound_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(unbound_per_source_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(connections_per_peer_capped, setup, teardown),
		cmocka_unit_test_setup_teardown(accept_pauses_without_descriptors, setup, teardown),
	};

	return cmocka_run_group_tests_name("tcp", tests, NULL, NULL);
}
