/* Unit tests: device names and the words of `ferry tuntap`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "commands.h"
#include "tun.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void name_rules(void **state)
{
	static const char *const good[] = { "t0", "ferry0", "a", "123456789012345", "tap-vm.1", "tun%d" };
	static const struct {
		const char *name, *why;
	} bad[] = {
		{ "", "empty" },	  { "1234567890123456", "longer than 15" },
		{ "a/b", "'/'" },	  { "a b", "whitespace" },
		{ "a\tb", "whitespace" }, { "eth0:1", "':'" },
		{ ".", "'.'" },		  { "..", "'.'" },
	};
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(tun_name_check(good[i], &why), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(tun_name_check(bad[i].name, &why), -EINVAL);
		assert_non_null(why);
		assert_non_null(strstr(why, bad[i].why));
	}
	assert_int_equal(tun_name_check(NULL, &why), -EINVAL);
}

static int parse(struct tuntap_request *req, char *err, const char *words)
{
	char buf[512], *argv[32];
	int argc = 0;
	char *save, *w;

	snprintf(buf, sizeof(buf), "%s", words);
	for (w = strtok_r(buf, " ", &save); w && argc < 32; w = strtok_r(NULL, " ", &save))
		argv[argc++] = w;
	err[0] = '\0';
	return tuntap_parse(argc, argv, req, err, 256);
}

static void add_with_every_option(void **state)
{
	struct tuntap_request r;
	char err[256];

	(void)state;
	assert_int_equal(
	    parse(&r, err, "add dev t0 mode tap user nobody group nogroup one_queue pi vnet_hdr multi_queue"), 0);
	assert_int_equal(r.op, TUNTAP_ADD);
	assert_string_equal(r.cfg.name, "t0");
	assert_int_equal(r.cfg.mode, TUN_MODE_TAP);
	assert_true(r.has_user && r.user == 65534);
	assert_true(r.has_group && r.group == 65534);
	assert_true(r.cfg.pi && r.cfg.vnet_hdr && r.cfg.multi_queue);

	assert_int_equal(parse(&r, err, "add mode tun name t1 user 1234 group 4321"), 0);
	assert_int_equal(r.cfg.mode, TUN_MODE_TUN);
	assert_string_equal(r.cfg.name, "t1");
	assert_true(r.user == 1234 && r.group == 4321);
	assert_false(r.cfg.pi || r.cfg.vnet_hdr || r.cfg.multi_queue);

	/* A bare name as the last word, as ip tuntap takes it. */
	assert_int_equal(parse(&r, err, "add mode tun t2"), 0);
	assert_string_equal(r.cfg.name, "t2");
}

static void del_and_show(void **state)
{
	struct tuntap_request r;
	char err[256];

	(void)state;
	assert_int_equal(parse(&r, err, "del dev t0"), 0);
	assert_int_equal(r.op, TUNTAP_DEL);
	assert_string_equal(r.cfg.name, "t0");
	assert_int_equal(parse(&r, err, "del dev t0 mode tap"), 0);
	assert_true(r.has_mode);
	assert_int_equal(parse(&r, err, "show"), 0);
	assert_int_equal(r.op, TUNTAP_SHOW);
	assert_int_equal(parse(&r, err, "list dev t0"), 0);
	assert_true(r.has_name);
	assert_int_equal(parse(&r, err, ""), 0);
	assert_int_equal(r.op, TUNTAP_SHOW);
	assert_int_equal(parse(&r, err, "help"), 0);
	assert_int_equal(r.op, TUNTAP_HELP);
}

static void bad_words(void **state)
{
	static const struct {
		const char *words, *msg;
	} bad[] = {
		{ "frobnicate", "unknown operation" },
		{ "add dev t0", "needs 'mode" },
		{ "add mode tun", "needs 'dev" },
		{ "add dev t0 mode tup", "unknown mode 'tup'" },
		{ "add dev t0 mode", "'mode' needs a value" },
		{ "add dev", "'dev' needs a value" },
		{ "add dev t0 mode tun user no-such-user-here", "unknown user" },
		{ "add dev t0 mode tun group no-such-group-here", "unknown group" },
		{ "add dev t0 mode tun user -5", "unknown user" },
		{ "add dev t0 mode tun user 99999999999", "unknown user" },
		{ "add dev t0 mode tun bogus", "unknown argument 'bogus'" },
		{ "add dev t0 multiqueue mode tun", "unknown argument 'multiqueue'" },
		{ "add dev t0 dev t1 mode tun", "given twice" },
		{ "add dev 1234567890123456 mode tun", "longer than 15" },
		{ "add dev a/b mode tun", "'/'" },
		{ "del", "needs 'dev" },
		{ "del dev t0 vnet_hdr", "del takes only" },
		{ "show mode tun", "show takes only" },
	};
	struct tuntap_request r;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(&r, err, bad[i].words), -EINVAL);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s': expected '%s' in '%s'", bad[i].words, bad[i].msg, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(name_rules),
		cmocka_unit_test(add_with_every_option),
		cmocka_unit_test(del_and_show),
		cmocka_unit_test(bad_words),
	};

	return cmocka_run_group_tests_name("tuntap", tests, NULL, NULL);
}
