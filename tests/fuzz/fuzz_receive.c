/* fuzz_receive - the receive path with arbitrary datagrams.
 *
 * A device "a" has one peer "b" and a live session with it (made in memory
 * at start-up). The first input byte chooses what the rest becomes:
 *   0: a raw datagram, as it arrives from the network;
 *   1: a handshake message (initiation or response by its length) with a
 *      valid MAC1, so the input reaches the Noise code behind the MAC check;
 *   2: a data message that b really encrypted for a: the input is the inner
 *      packet, so it reaches the inner IP parser and cryptokey routing.
 * Nothing may crash, leak or read out of bounds; drops are the expected end. */
#include "apply.h"
#include "allowedips.h"
#include "cookie.h"
#include "crypto.h"
#include "device.h"
#include "noise.h"
#include "receive.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct device a, b;
static struct peer *pa, *pb;
static struct endpoint src;

static void make_session(void)
{
	struct message_handshake_initiation init;
	struct message_handshake_response resp;
	enum noise_reject why;

	if (!noise_handshake_create_initiation(&init, pb) ||
	    !noise_handshake_consume_initiation(&init, &a.local, &why) || !noise_handshake_create_response(&resp, pa) ||
	    !noise_handshake_begin_session(pa) || !noise_handshake_consume_response(&resp, &b.local, &why) ||
	    !noise_handshake_begin_session(pb))
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t ka[32], kb[32];
	struct ip_prefix p;

	(void)argc;
	(void)argv;
	if (crypt_init() < 0 || device_init(&a, "a") < 0 || device_init(&b, "b") < 0)
		abort();
	noise_init();
	a.tun.fd[0] = -1; /* writes to the TUN device fail and are counted */
	crypt_generate_secret(ka);
	crypt_generate_secret(kb);
	device_set_private_key(&a, ka);
	device_set_private_key(&b, kb);
	pa = peer_create(&a, b.local.public_key);
	pb = peer_create(&b, a.local.public_key);
	ip_prefix_parse("10.0.0.0/8", &p, NULL);
	allowedips_insert(a.aips, &p, pa);
	ip_prefix_parse("fd00::/8", &p, NULL);
	allowedips_insert(a.aips, &p, pa);
	src.kind = ENDPOINT_UDP;
	src.addr.in4.sin_family = AF_INET;
	src.addr.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "192.0.2.2", &src.addr.in4.sin_addr);
	make_session();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[70000];
	struct keypair *kp;

	if (size < 1 || size > 65000)
		return 0;
	switch (data[0] % 3) {
	case 0:
		memcpy(buf, data + 1, size - 1);
		receive_packet(&a, buf, size - 1, &src);
		receive_handshakes(&a, HANDSHAKE_QUEUE_LEN);
		break;
	case 1: {
		size_t len = (data[0] & 0x80) ? sizeof(struct message_handshake_response)
					      : sizeof(struct message_handshake_initiation);

		memset(buf, 0, len);
		memcpy(buf, data + 1, size - 1 < len ? size - 1 : len);
		le32_write(buf, len == sizeof(struct message_handshake_response) ? MESSAGE_HANDSHAKE_RESPONSE
										 : MESSAGE_HANDSHAKE_INITIATION);
		/* b computes MAC1 as a real sender would. */
		cookie_add_macs(pb, buf, len);
		receive_packet(&a, buf, len, &src);
		receive_handshakes(&a, HANDSHAKE_QUEUE_LEN);
		break;
	}
	case 2:
		kp = pb->current;
		if (!kp) {
			make_session();
			kp = pb->current;
		}
		le32_write(buf, MESSAGE_DATA);
		le32_write(buf + 4, kp->remote_index);
		le64_write(buf + 8, kp->send_counter);
		crypt_aead_encrypt(buf + 16, data + 1, size - 1, NULL, 0, kp->send_counter++, kp->send_key);
		receive_packet(&a, buf, 16 + size - 1 + 16, &src);
		break;
	}
	return 0;
}
