/* cmd_show.c - `ferry show [IFNAME]`: what `wg show` prints, from the same
 * UAPI "get", plus ferry's own counters of dropped packets by reason. */
#include "commands.h"

#include "crypto.h"
#include "encoding.h"
#include "log.h"
#include "uapi.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void print_key_hex_as_b64(const char *label, const char *hex)
{
	uint8_t key[KEY_LEN];
	char b64[KEY_B64_LEN];

	if (!key_from_hex(key, hex))
		return;
	key_to_base64(b64, key);
	printf("%s%s\n", label, b64);
}

static void print_ago(long long secs)
{
	long long now = (long long)time(NULL), d = now - secs;

	if (!secs) {
		printf("  latest handshake: never\n");
		return;
	}
	printf("  latest handshake: %lld second%s ago\n", d, d == 1 ? "" : "s");
}

/* @sep goes before the output. With @listed, a socket that nobody answers
 * on (its daemon is gone) is removed without a word, as wg(8) does: a
 * daemon that ran as another user could not remove its own. Returns 0, 1
 * for such a socket, or -errno. */
static int show_one(const char *ifname, bool listed, const char *sep)
{
	char *reply = NULL, *stats = NULL, *line, *save = NULL;
	long long hs_sec = 0;
	unsigned long long rx = 0, tx = 0;
	bool in_peer = false;
	int ret;

	ret = uapi_request(ifname, "get=1\n\n", &reply);
	if (ret == -ECONNREFUSED && listed) {
		char path[108];

		uapi_socket_path(path, sizeof(path), ifname);
		unlink(path);
		return 1;
	}
	if (ret < 0) {
		log_err("%s: cannot talk to %s/%s.sock: %s", ifname, UAPI_DIR, ifname, strerror(-ret));
		return ret;
	}
	printf("%sinterface: %s\n", sep, ifname);
	for (line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		const char *k = line, *v;

		if (!eq)
			continue;
		*eq = '\0';
		v = eq + 1;
		if (!strcmp(k, "private_key")) {
			uint8_t priv[KEY_LEN];

			/* Only the public half is shown, as wg does. */
			if (key_from_hex(priv, v)) {
				char hex[KEY_HEX_LEN];
				uint8_t pub[KEY_LEN];

				crypt_public_key(pub, priv);
				key_to_hex(hex, pub);
				print_key_hex_as_b64("  public key: ", hex);
			}
		} else if (!strcmp(k, "listen_port")) {
			printf("  listening port: %s\n", v);
		} else if (!strcmp(k, "public_key")) {
			if (in_peer) {
				print_ago(hs_sec);
				printf("  transfer: %llu B received, %llu B sent\n", rx, tx);
			}
			in_peer = true;
			printf("\n");
			print_key_hex_as_b64("peer: ", v);
		} else if (!strcmp(k, "endpoint")) {
			printf("  endpoint: %s\n", v);
		} else if (!strcmp(k, "allowed_ip")) {
			printf("  allowed ip: %s\n", v);
		} else if (!strcmp(k, "last_handshake_time_sec")) {
			hs_sec = atoll(v);
		} else if (!strcmp(k, "rx_bytes")) {
			rx = strtoull(v, NULL, 10);
		} else if (!strcmp(k, "tx_bytes")) {
			tx = strtoull(v, NULL, 10);
		} else if (!strcmp(k, "persistent_keepalive_interval") && strcmp(v, "0")) {
			printf("  persistent keepalive: every %s seconds\n", v);
		}
	}
	if (in_peer) {
		print_ago(hs_sec);
		printf("  transfer: %llu B received, %llu B sent\n", rx, tx);
	}
	free(reply);

	if (uapi_request(ifname, "ferry_stats=1\n\n", &stats) == 0) {
		bool any = false;

		printf("\n");
		for (line = strtok_r(stats, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			char *eq = strchr(line, '=');

			if (!eq || !strncmp(line, "errno", 5))
				continue;
			*eq = '\0';
			if (!strncmp(line, "drop_", 5)) {
				if (strcmp(eq + 1, "0")) {
					printf("%s  %s: %s\n", any ? "" : "dropped packets:\n", line + 5, eq + 1);
					any = true;
				}
			} else {
				printf("%s: %s\n", line, eq + 1);
			}
		}
		if (!any)
			printf("dropped packets: none\n");
		free(stats);
	}
	return 0;
}

int show_main(int argc, char **argv)
{
	struct dirent *d;
	DIR *dir;
	int ret = 0, n = 0, r;

	if (argc > 2 || (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")))) {
		fprintf(argc > 2 ? stderr : stdout,
			"Usage: ferry show [INTERFACE]\n\n"
			"Show the configuration and state of ferry's interfaces (as 'wg show'), and\n"
			"the packets each dropped, counted by reason.\n");
		return argc > 2;
	}
	if (argc == 2)
		return show_one(argv[1], false, "") < 0;
	dir = opendir(UAPI_DIR);
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		size_t len = strlen(d->d_name);
		char name[64];

		if (len < 6 || len - 5 >= sizeof(name) || strcmp(d->d_name + len - 5, ".sock"))
			continue;
		memcpy(name, d->d_name, len - 5);
		name[len - 5] = '\0';
		r = show_one(name, true, n ? "\n" : "");
		n += r == 0;
		if (r < 0)
			ret = 1;
	}
	closedir(dir);
	return ret;
}
