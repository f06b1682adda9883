/* Unit tests: MSS clamping, ICMP "too big" answers and IPv4 fragmentation
 * (pmtu.c). Checksums are verified with a naive RFC 1071 sum of this file's
 * own, independent of checksum.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pmtu.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | (i + 1 < len ? p[i + 1] : 0));
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The pseudo-header sum of @ip for @l4len bytes of @proto. */
static uint32_t pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint8_t tail[8] = { 0, 0, (uint8_t)(l4len >> 8), (uint8_t)l4len, 0, 0, 0, proto };

	if (ip[0] >> 4 == 6)
		return sum16(tail, 8, sum16(ip + 8, 32, 0));
	return sum16(tail + 2, 6, sum16(ip + 12, 8, 0));
}

static bool l4_ok(const uint8_t *ip, size_t hl, uint8_t proto, size_t l4len)
{
	return fold(sum16(ip + hl, l4len, pseudo(ip, proto, l4len))) == 0xffff;
}

static void set_l4_csum(uint8_t *ip, size_t hl, uint8_t proto, size_t l4len, size_t csum_at)
{
	wr16(ip + hl + csum_at, 0);
	wr16(ip + hl + csum_at, (uint16_t)~fold(sum16(ip + hl, l4len, pseudo(ip, proto, l4len))));
}

static void set_ip_csum(uint8_t *ip)
{
	wr16(ip + 10, 0);
	wr16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
}

/* A TCP SYN over IPv4 (or IPv6) with @nops NOPs before an MSS of @mss,
 * then a timestamp option; valid checksums. Returns its length. */
static size_t syn(uint8_t *p, bool v6, int nops, uint16_t mss, uint8_t flags)
{
	size_t hl = v6 ? 40 : 20, opts = (size_t)nops + 4 + 10, doff = 20 + ((opts + 3) & ~(size_t)3),
	       total = hl + doff;
	uint8_t *th = p + hl, *o;
	int i;

	memset(p, 0, total);
	if (v6) {
		p[0] = 0x60;
		wr16(p + 4, (uint16_t)doff);
		p[6] = IPPROTO_TCP;
		p[7] = 64;
		inet_pton(AF_INET6, "fd00::1", p + 8);
		inet_pton(AF_INET6, "fd00::2", p + 24);
	} else {
		p[0] = 0x45;
		wr16(p + 2, (uint16_t)total);
		p[6] = 0x40;
		p[8] = 64;
		p[9] = IPPROTO_TCP;
		inet_pton(AF_INET, "10.0.0.1", p + 12);
		inet_pton(AF_INET, "10.0.0.2", p + 16);
		set_ip_csum(p);
	}
	wr16(th, 40000);
	wr16(th + 2, 80);
	th[12] = (uint8_t)((doff / 4) << 4);
	th[13] = flags;
	wr16(th + 14, 65535);
	o = th + 20;
	for (i = 0; i < nops; i++)
		*o++ = 1;
	*o++ = 2, *o++ = 4, *o++ = (uint8_t)(mss >> 8), *o++ = (uint8_t)mss;
	*o++ = 8, *o++ = 10;
	o += 8;
	while (o < th + doff)
		*o++ = 0;
	set_l4_csum(p, hl, IPPROTO_TCP, doff, 16);
	return total;
}

static uint16_t mss_of(const uint8_t *p, int nops)
{
	size_t hl = p[0] >> 4 == 6 ? 40 : 20;

	return rd16(p + hl + 20 + nops + 2);
}

static void clamps_mss_at_any_alignment(void **state)
{
	uint8_t p[200];
	int nops;

	(void)state;
	for (nops = 0; nops < 4; nops++) {
		for (int v6 = 0; v6 < 2; v6++) {
			size_t len = syn(p, v6, nops, 1460, 0x02);

			assert_true(pmtu_is_tcp_syn(p, len));
			assert_true(pmtu_clamp_mss(p, len, 1180));
			assert_int_equal(mss_of(p, nops), 1180);
			assert_true(l4_ok(p, v6 ? 40 : 20, IPPROTO_TCP, len - (v6 ? 40 : 20)));
			/* Already small enough: left alone. */
			assert_false(pmtu_clamp_mss(p, len, 1300));
			assert_int_equal(mss_of(p, nops), 1180);
			/* A SYN-ACK is clamped too. */
			len = syn(p, v6, nops, 1460, 0x12);
			assert_true(pmtu_clamp_mss(p, len, 1000));
			assert_true(l4_ok(p, v6 ? 40 : 20, IPPROTO_TCP, len - (v6 ? 40 : 20)));
		}
	}
}

static void leaves_other_packets_alone(void **state)
{
	uint8_t p[200], copy[200];
	size_t len = syn(p, false, 1, 1460, 0x10); /* ACK only */

	(void)state;
	memcpy(copy, p, sizeof(p));
	assert_false(pmtu_is_tcp_syn(p, len));
	assert_false(pmtu_clamp_mss(p, len, 500));
	assert_memory_equal(p, copy, len);
	/* Truncated: every length short of the whole is refused, untouched. */
	len = syn(p, false, 1, 1460, 0x02);
	memcpy(copy, p, sizeof(p));
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *t = malloc(cut ? cut : 1);

		memcpy(t, p, cut);
		assert_false(pmtu_clamp_mss(t, cut, 500));
		assert_memory_equal(t, copy, cut);
		free(t);
	}
	/* A fragment (MF set) is not looked into. */
	p[6] = 0x20;
	assert_false(pmtu_clamp_mss(p, len, 500));
	/* An option whose length runs past the header stops the walk. */
	len = syn(p, false, 0, 1460, 0x02);
	p[20 + 20 + 4 + 1] = 40;		  /* the timestamp option claims 40 bytes */
	assert_true(pmtu_clamp_mss(p, len, 500)); /* the MSS before it is still found */
	len = syn(p, false, 0, 1460, 0x02);
	p[20 + 20 + 1] = 30; /* the MSS option itself claims 30 */
	assert_false(pmtu_clamp_mss(p, len, 500));
}

/* An IPv4 UDP packet of @total bytes with DF as given. */
static size_t udp4(uint8_t *p, size_t total, bool df)
{
	memset(p, 0, total);
	p[0] = 0x45;
	wr16(p + 2, (uint16_t)total);
	p[6] = df ? 0x40 : 0;
	p[8] = 64;
	p[9] = IPPROTO_UDP;
	inet_pton(AF_INET, "10.0.0.1", p + 12);
	inet_pton(AF_INET, "10.0.0.2", p + 16);
	set_ip_csum(p);
	wr16(p + 20, 1111);
	wr16(p + 22, 2222);
	wr16(p + 24, (uint16_t)(total - 20));
	for (size_t i = 28; i < total; i++)
		p[i] = (uint8_t)(i * 7);
	return total;
}

static void answers_too_big_v4(void **state)
{
	uint8_t p[1500], out[1500];
	size_t len = udp4(p, 1400, true), n;

	(void)state;
	assert_true(pmtu_dont_fragment(p, len));
	n = pmtu_too_big(out, sizeof(out), p, len, 1220);
	assert_int_equal(n, 576);
	assert_int_equal(out[0], 0x45);
	assert_int_equal(rd16(out + 2), 576);
	assert_int_equal(out[9], IPPROTO_ICMP);
	assert_memory_equal(out + 12, p + 16, 4); /* from where it was going */
	assert_memory_equal(out + 16, p + 12, 4); /* to its sender */
	assert_int_equal(fold(sum16(out, 20, 0)), 0xffff);
	assert_int_equal(out[20], 3);
	assert_int_equal(out[21], 4);
	assert_int_equal(rd16(out + 26), 1220);
	assert_int_equal(fold(sum16(out + 20, n - 20, 0)), 0xffff);
	assert_memory_equal(out + 28, p, 548);
	/* A small packet is quoted whole. */
	len = udp4(p, 100, true);
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 128);
	/* An MTU below IPv4's minimum is raised to it. */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 100), 128);
	assert_int_equal(rd16(out + 26), PMTU_MIN_V4);
	/* Not enough room: nothing. */
	assert_int_equal(pmtu_too_big(out, 100, p, len, 1220), 0);
}

static void never_answers_what_must_not_be(void **state)
{
	uint8_t p[200], out[1500];
	size_t len;

	(void)state;
	len = udp4(p, 100, true);
	p[6] = 0x40 | 0x01; /* a later fragment */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 0);
	len = udp4(p, 100, true);
	inet_pton(AF_INET, "224.0.0.5", p + 16); /* to a group */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 0);
	len = udp4(p, 100, true);
	inet_pton(AF_INET, "0.0.0.0", p + 12); /* from nowhere */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 0);
	len = udp4(p, 100, true);
	p[9] = IPPROTO_ICMP;
	p[20] = 3; /* an ICMP error itself */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 0);
	p[20] = 8; /* an echo request is fine */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 128);
	len = udp4(p, 100, true);
	wr16(p + 2, 150); /* claims more than there is */
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, len, 1220), 0);
	for (size_t cut = 0; cut < 20; cut++)
		assert_int_equal(pmtu_too_big(out, sizeof(out), p, cut, 1220), 0);
}

static void answers_packet_too_big_v6(void **state)
{
	uint8_t p[1500], out[1500];
	size_t n;

	(void)state;
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	wr16(p + 4, 1400 - 40);
	p[6] = IPPROTO_UDP;
	p[7] = 64;
	inet_pton(AF_INET6, "fd00::1", p + 8);
	inet_pton(AF_INET6, "fd00::2", p + 24);
	assert_true(pmtu_dont_fragment(p, 1400));
	n = pmtu_too_big(out, sizeof(out), p, 1400, 1300);
	assert_int_equal(n, 1280);
	assert_int_equal(out[0] >> 4, 6);
	assert_int_equal(rd16(out + 4), 1280 - 40);
	assert_int_equal(out[6], IPPROTO_ICMPV6);
	assert_memory_equal(out + 8, p + 24, 16);
	assert_memory_equal(out + 24, p + 8, 16);
	assert_int_equal(out[40], 2);
	assert_int_equal(out[41], 0);
	assert_int_equal((uint32_t)out[44] << 24 | (uint32_t)out[45] << 16 | rd16(out + 46), 1300);
	assert_true(l4_ok(out, 40, IPPROTO_ICMPV6, n - 40));
	assert_memory_equal(out + 48, p, 1232);
	/* ICMPv6 errors (types below 128) get none; echo requests do. */
	p[6] = IPPROTO_ICMPV6;
	p[40] = 1;
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, 1400, 1300), 0);
	p[40] = 128;
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, 1400, 1300), 1280);
	/* Multicast source or destination: none. */
	p[8] = 0xff;
	assert_int_equal(pmtu_too_big(out, sizeof(out), p, 1400, 1300), 0);
}

static void fragments_ipv4_as_a_router(void **state)
{
	uint8_t p[4000], out[8][1300], whole[4000];
	size_t lens[8], len = udp4(p, 3000, false), got = 0;
	int n, i;

	(void)state;
	assert_false(pmtu_dont_fragment(p, len));
	n = pmtu_fragment4(p, len, 1220, out[0], sizeof(out[0]), lens, 8);
	assert_int_equal(n, 3);
	memset(whole, 0, sizeof(whole));
	for (i = 0; i < n; i++) {
		uint16_t frag = rd16(out[i] + 6);

		assert_true(lens[i] <= 1220);
		assert_int_equal(rd16(out[i] + 2), lens[i]);
		assert_int_equal(fold(sum16(out[i], 20, 0)), 0xffff);
		assert_int_equal(!!(frag & 0x2000), i < n - 1);
		if (i < n - 1)
			assert_int_equal((lens[i] - 20) % 8, 0);
		memcpy(whole + (size_t)(frag & 0x1fff) * 8, out[i] + 20, lens[i] - 20);
		got += lens[i] - 20;
	}
	assert_int_equal(got, len - 20);
	assert_memory_equal(whole, p + 20, len - 20);
	/* DF, options, too many pieces, a nonsense MTU: refused. */
	len = udp4(p, 3000, true);
	assert_int_equal(pmtu_fragment4(p, len, 1220, out[0], sizeof(out[0]), lens, 8), -EINVAL);
	len = udp4(p, 3000, false);
	assert_int_equal(pmtu_fragment4(p, len, 1220, out[0], sizeof(out[0]), lens, 2), -ENOSPC);
	assert_int_equal(pmtu_fragment4(p, len, 20, out[0], sizeof(out[0]), lens, 8), -EINVAL);
	p[0] = 0x46;
	assert_int_equal(pmtu_fragment4(p, len, 1220, out[0], sizeof(out[0]), lens, 8), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clamps_mss_at_any_alignment), cmocka_unit_test(leaves_other_packets_alone),
		cmocka_unit_test(answers_too_big_v4),	       cmocka_unit_test(never_answers_what_must_not_be),
		cmocka_unit_test(answers_packet_too_big_v6),   cmocka_unit_test(fragments_ipv4_as_a_router),
	};

	return cmocka_run_group_tests_name("pmtu", tests, NULL, NULL);
}
