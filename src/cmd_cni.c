/* cmd_cni.c - the CNI plugin "type": "ferry": the ferry binary run by a
 * container runtime with CNI_COMMAND set (the CNI specification, 1.0).
 *
 * A meta-plugin, as flannel's: it reads the subnet file `ferry overlay`
 * wrote and hands the real work to the standard plugins, bridge and
 * host-local, with a configuration made of it (the node's subnet, the
 * overlay MTU, a route to the whole Network, IP masquerade unless ferry
 * overlay does it). The configuration handed on is kept in dataDir for DEL
 * and CHECK, which then need no subnet file. Errors are CNI error JSON on
 * standard output and exit status 1. */
#include "commands.h"

#include "flannel.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define CNI_INPUT_MAX	     (1 << 20)
#define CNI_DEFAULT_SUBNET   "/run/ferry/subnet.env"
#define CNI_DEFAULT_DATA_DIR "/var/lib/cni/ferry"
#define CNI_VERSION	     "1.0.0"

/* The specification's error codes. */
enum {
	CNI_ERR_VERSION = 1,
	CNI_ERR_ENV = 4,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_TRY_LATER = 11,
	CNI_ERR_PLUGIN = 100, /* ferry's own: the delegate could not be run */
};

static const char *const supported[] = { "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0" };
static const char *cni_version = CNI_VERSION;

static int cni_error(int code, const char *details, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int cni_error(int code, const char *details, const char *fmt, ...)
{
	char msg[512];
	json_t *e;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = json_pack("{s:s, s:i, s:s}", "cniVersion", cni_version, "code", code, "msg", msg);
	if (e && details)
		json_object_set_new(e, "details", json_string(details));
	if (e)
		json_dumpf(e, stdout, JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(e);
	fprintf(stderr, "ferry (CNI): %s\n", msg);
	return 1;
}

static int read_all(int fd, char **out, size_t *len, size_t max)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	ssize_t r;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (n == cap) {
			char *b;

			if (cap >= max) {
				free(buf);
				return -EFBIG;
			}
			cap *= 2;
			b = realloc(buf, cap + 1);
			if (!b) {
				free(buf);
				return -ENOMEM;
			}
			buf = b;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			return -errno;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}

/* A container ID becomes a file name: letters, digits, '_', '.', '-'. */
static bool container_id_ok(const char *id)
{
	size_t i;

	if (!id || !*id || strlen(id) > 255 || id[0] == '.')
		return false;
	for (i = 0; id[i]; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '_' || id[i] == '.' || id[i] == '-'))
			return false;
	return true;
}

/* Run plugin @type from CNI_PATH with @conf on its standard input; its
 * standard output is passed on. Returns its exit status, or -errno. */
static int delegate(const char *type, const char *conf)
{
	const char *paths = getenv("CNI_PATH");
	char path[PATH_MAX], *list, *dir, *save = NULL, *out = NULL;
	int in[2], outp[2], status;
	size_t len = 0;
	pid_t pid;

	if (!paths || !*paths)
		return -ENOENT;
	if (strchr(type, '/') || !*type || strlen(type) > 64)
		return -EINVAL;
	list = strdup(paths);
	if (!list)
		return -ENOMEM;
	path[0] = '\0';
	for (dir = strtok_r(list, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
		snprintf(path, sizeof(path), "%s/%s", dir, type);
		if (access(path, X_OK) == 0)
			break;
		path[0] = '\0';
	}
	free(list);
	if (!path[0])
		return -ENOENT;
	if (pipe2(in, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(outp, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		return -errno;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(outp[1], STDOUT_FILENO);
		execl(path, type, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* The plugins read all their input before they write: write, then read. */
	if (write(in[1], conf, strlen(conf)) != (ssize_t)strlen(conf))
		fprintf(stderr, "ferry (CNI): short write to %s\n", path);
	close(in[1]);
	if (read_all(outp[0], &out, &len, CNI_INPUT_MAX) == 0) {
		fwrite(out, 1, len, stdout);
		free(out);
	}
	close(outp[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static int saved_path(char *buf, size_t size, json_t *conf, const char *id)
{
	json_t *d = json_object_get(conf, "dataDir");
	const char *dir = json_is_string(d) ? json_string_value(d) : CNI_DEFAULT_DATA_DIR;
	int n = snprintf(buf, size, "%s/%s", dir, id);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static json_t *merged_routes(json_t *ipam, const struct flannel_env *env)
{
	json_t *routes = json_array(), *given = json_object_get(ipam, "routes"), *r;
	char net[24], gw[16];
	size_t i;

	if (json_is_array(given))
		json_array_foreach(given, i, r) json_array_append(routes, r);
	flannel_prefix_format(net, sizeof(net), env->network, env->network_len);
	/* The gateway is named, not left to the bridge plugin: its CHECK
	 * (containernetworking-plugins 1.1) looks for the route exactly as the
	 * result states it. */
	flannel_addr_format(gw, sizeof(gw), env->subnet);
	json_array_append_new(routes, json_pack("{s:s, s:s}", "dst", net, "gw", gw));
	return routes;
}

/* flannel's doCmdAdd: the delegate's configuration from ours and the
 * subnet file. Keys the user set in "delegate" win, except name and ipam. */
static int add(json_t *conf, const char *id)
{
	json_t *sf = json_object_get(conf, "subnetFile"), *dlg = json_object_get(conf, "delegate"), *ipam, *d;
	const char *subnet_file = json_is_string(sf) ? json_string_value(sf) : CNI_DEFAULT_SUBNET;
	char text[FLANNEL_ENV_MAX + 1], err[FLANNEL_ERR_LEN], sub[24], path[PATH_MAX], type[65], *dump;
	struct flannel_env env;
	ssize_t n = -1;
	int fd, ret;

	fd = open(subnet_file, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, text, sizeof(text));
		close(fd);
	}
	if (n < 0)
		return cni_error(CNI_ERR_TRY_LATER, subnet_file,
				 "cannot read the subnet file %s: %s (is ferry overlay running?)", subnet_file,
				 strerror(errno));
	if (flannel_env_parse(text, (size_t)n, &env, err, sizeof(err)) < 0)
		return cni_error(CNI_ERR_CONFIG, err, "the subnet file %s is not valid: %s", subnet_file, err);
	if (dlg && !json_is_object(dlg))
		return cni_error(CNI_ERR_CONFIG, NULL, "'delegate' must be an object");
	if (dlg && (json_object_get(dlg, "name") || json_object_get(dlg, "ipam")))
		return cni_error(CNI_ERR_CONFIG, NULL, "'delegate' must not have 'name' or 'ipam': ferry sets them");
	if (dlg && json_object_get(dlg, "type") && !json_is_string(json_object_get(dlg, "type")))
		return cni_error(CNI_ERR_CONFIG, NULL, "'delegate' 'type' must be a string");
	d = dlg ? json_deep_copy(dlg) : json_object();
	if (!d)
		return cni_error(CNI_ERR_PLUGIN, NULL, "out of memory");
	json_object_set(d, "name", json_object_get(conf, "name"));
	json_object_set_new(d, "cniVersion", json_string(cni_version));
	if (!json_object_get(d, "type"))
		json_object_set_new(d, "type", json_string("bridge"));
	/* Masquerade here only when ferry overlay does not (FLANNEL_IPMASQ). */
	if (!json_object_get(d, "ipMasq"))
		json_object_set_new(d, "ipMasq", json_boolean(!env.ipmasq));
	if (!json_object_get(d, "mtu"))
		json_object_set_new(d, "mtu", json_integer(env.mtu));
	if (!strcmp(json_string_value(json_object_get(d, "type")), "bridge") && !json_object_get(d, "isGateway"))
		json_object_set_new(d, "isGateway", json_true());
	if (json_object_get(conf, "runtimeConfig"))
		json_object_set(d, "runtimeConfig", json_object_get(conf, "runtimeConfig"));
	ipam = json_is_object(json_object_get(conf, "ipam")) ? json_deep_copy(json_object_get(conf, "ipam"))
							     : json_object();
	if (!json_object_get(ipam, "type"))
		json_object_set_new(ipam, "type", json_string("host-local"));
	flannel_prefix_format(sub, sizeof(sub), env.subnet & flannel_mask(env.subnet_len), env.subnet_len);
	json_object_set_new(ipam, "ranges", json_pack("[[{s:s}]]", "subnet", sub));
	json_object_set_new(ipam, "routes", merged_routes(ipam, &env));
	json_object_set_new(d, "ipam", ipam);
	snprintf(type, sizeof(type), "%s", json_string_value(json_object_get(d, "type")));
	dump = json_dumps(d, JSON_COMPACT);
	json_decref(d);
	if (!dump)
		return cni_error(CNI_ERR_PLUGIN, NULL, "out of memory");
	/* Kept for DEL and CHECK. */
	ret = saved_path(path, sizeof(path), conf, id);
	if (ret == 0) {
		char *slash = strrchr(path, '/');

		*slash = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			ret = -errno;
		*slash = '/';
	}
	fd = ret < 0 ? ret : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, dump, strlen(dump)) != (ssize_t)strlen(dump)) {
		if (fd >= 0)
			close(fd);
		free(dump);
		return cni_error(CNI_ERR_PLUGIN, path, "cannot save the delegate's configuration in %s", path);
	}
	close(fd);
	ret = delegate(type, dump);
	free(dump);
	return ret;
}

static json_t *load_saved(json_t *conf, const char *id, char *path, size_t size)
{
	char *text = NULL;
	size_t len;
	json_t *saved;
	int fd;

	if (saved_path(path, size, conf, id) < 0)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (read_all(fd, &text, &len, CNI_INPUT_MAX) < 0) {
		close(fd);
		return NULL;
	}
	close(fd);
	saved = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_object(saved) || !json_is_string(json_object_get(saved, "type"))) {
		json_decref(saved);
		return NULL;
	}
	return saved;
}

static int del_or_check(json_t *conf, const char *id, bool check)
{
	char path[PATH_MAX], *dump;
	json_t *saved = load_saved(conf, id, path, sizeof(path));
	int ret;

	if (!saved) {
		/* DEL of what is not there succeeds (the specification says so). */
		if (!check)
			return 0;
		return cni_error(CNI_ERR_CONFIG, path, "no ADD of container %s to check (nothing in %s)", id, path);
	}
	if (check) {
		json_t *prev = json_object_get(conf, "prevResult");

		if (!prev)
			return cni_error(CNI_ERR_CONFIG, NULL, "CHECK needs a prevResult");
		json_object_set(saved, "prevResult", prev);
	}
	dump = json_dumps(saved, JSON_COMPACT);
	if (!dump) {
		json_decref(saved);
		return cni_error(CNI_ERR_PLUGIN, NULL, "out of memory");
	}
	ret = delegate(json_string_value(json_object_get(saved, "type")), dump);
	json_decref(saved);
	free(dump);
	if (ret == 0 && !check)
		unlink(path);
	return ret;
}

static bool version_supported(const char *v)
{
	size_t i;

	for (i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
		if (!strcmp(v, supported[i]))
			return true;
	return false;
}

int cni_main(void)
{
	const char *cmd = getenv("CNI_COMMAND"), *id = getenv("CNI_CONTAINERID");
	json_t *conf, *v, *t;
	json_error_t e;
	char *input = NULL;
	size_t len = 0, i;
	int ret;

	if (!strcmp(cmd, "VERSION")) {
		printf("{\"cniVersion\":\"%s\",\"supportedVersions\":[", CNI_VERSION);
		for (i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
			printf("%s\"%s\"", i ? "," : "", supported[i]);
		printf("]}\n");
		return 0;
	}
	if (read_all(STDIN_FILENO, &input, &len, CNI_INPUT_MAX) < 0)
		return cni_error(CNI_ERR_DECODE, NULL, "cannot read the network configuration on standard input");
	conf = json_loadb(input, len, JSON_REJECT_DUPLICATES, &e);
	free(input);
	if (!json_is_object(conf)) {
		json_decref(conf);
		return cni_error(CNI_ERR_DECODE, e.text, "the network configuration is not a JSON object: %s", e.text);
	}
	v = json_object_get(conf, "cniVersion");
	if (json_is_string(v) && version_supported(json_string_value(v)))
		cni_version = json_string_value(v);
	else if (v) {
		json_decref(conf);
		return cni_error(CNI_ERR_VERSION, NULL, "cniVersion is not one of 0.1.0 ... 1.0.0");
	}
	t = json_object_get(conf, "type");
	if (!json_is_string(json_object_get(conf, "name")) || !json_is_string(t)) {
		ret = cni_error(CNI_ERR_CONFIG, NULL, "the network configuration needs \"name\" and \"type\"");
	} else if (!container_id_ok(id)) {
		ret = cni_error(CNI_ERR_ENV, NULL,
				"CNI_CONTAINERID is missing or holds more than letters, digits, _ . -");
	} else if (!strcmp(cmd, "ADD")) {
		if (!getenv("CNI_NETNS") || !getenv("CNI_IFNAME"))
			ret = cni_error(CNI_ERR_ENV, NULL, "ADD needs CNI_NETNS and CNI_IFNAME");
		else
			ret = add(conf, id);
	} else if (!strcmp(cmd, "DEL")) {
		ret = del_or_check(conf, id, false);
	} else if (!strcmp(cmd, "CHECK")) {
		ret = del_or_check(conf, id, true);
	} else {
		ret = cni_error(CNI_ERR_ENV, NULL, "CNI_COMMAND '%s' is not ADD, DEL, CHECK or VERSION", cmd);
	}
	json_decref(conf);
	if (ret < 0)
		return cni_error(CNI_ERR_PLUGIN, NULL, "cannot run the delegate plugin: %s (CNI_PATH=%s)",
				 strerror(-ret), getenv("CNI_PATH") ? getenv("CNI_PATH") : "");
	return ret;
}
