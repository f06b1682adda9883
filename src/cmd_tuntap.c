/* cmd_tuntap.c - `ferry tuntap add|del|show|list`, in the words of `ip tuntap`. */
#include "commands.h"

#include "log.h"
#include "netlink.h"
#include "tun.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "Usage: ferry tuntap { add | del | show | list | help } [ dev NAME ] [ mode { tun | tap } ]\n"
    "                    [ user USER ] [ group GROUP ] [ one_queue ] [ pi ] [ vnet_hdr ] [ multi_queue ]\n"
    "\n"
    "Create, delete and list persistent TUN (layer 3) and TAP (layer 2) devices, as\n"
    "'ip tuntap' does. A persistent device stays after its creator exits; a process of\n"
    "USER or GROUP can then attach to it without root, as qemu and OpenVPN do.\n"
    "\n"
    "  add dev NAME mode tun|tap   create NAME (fails if a device of that name exists)\n"
    "  del dev NAME                delete the persistent device NAME (tun or tap, found by name)\n"
    "  show | list [dev NAME]      list tun/tap devices with their flags, owner, group and\n"
    "                              the processes attached to them\n"
    "\n"
    "Options of add:\n"
    "  user USER      owner (name or number) who may attach without CAP_NET_ADMIN\n"
    "  group GROUP    group (name or number) whose members may attach\n"
    "  pi             prefix each packet with the 4-byte packet information header\n"
    "                 (default: no header)\n"
    "  vnet_hdr       prefix each packet with a virtio_net_hdr (checksum and\n"
    "                 segmentation offload metadata)\n"
    "  multi_queue    allow several queues (file descriptors) on the device\n"
    "  one_queue      accepted for compatibility; has no effect on current kernels\n"
    "\n"
    "Without user or group, any process that can open /dev/net/tun may attach to the\n"
    "device; with them, only that user or group (or a process with CAP_NET_ADMIN).\n"
    "\n"
    "NAME is at most 15 bytes, without '/', ':' or whitespace. 'name NAME' and a bare\n"
    "NAME are accepted for 'dev NAME'. The clone device is /dev/net/tun, or the path in\n"
    "the environment variable " TUN_PATH_ENV ".\n";

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A number that fits an id_t, or -1. */
static long parse_id(const char *s)
{
	unsigned long v;
	char *end;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= UINT_MAX)
		return -1;
	return (long)v;
}

static int parse_user(const char *s, uid_t *out)
{
	struct passwd *pw = getpwnam(s);
	long id;

	if (pw) {
		*out = pw->pw_uid;
		return 0;
	}
	id = parse_id(s);
	if (id < 0)
		return -EINVAL;
	*out = (uid_t)id;
	return 0;
}

static int parse_group(const char *s, gid_t *out)
{
	struct group *gr = getgrnam(s);
	long id;

	if (gr) {
		*out = gr->gr_gid;
		return 0;
	}
	id = parse_id(s);
	if (id < 0)
		return -EINVAL;
	*out = (gid_t)id;
	return 0;
}

static int parse_op(const char *w, enum tuntap_op *op)
{
	static const struct {
		const char *word;
		enum tuntap_op op;
	} ops[] = {
		{ "add", TUNTAP_ADD },	 { "del", TUNTAP_DEL },	  { "delete", TUNTAP_DEL },
		{ "show", TUNTAP_SHOW }, { "list", TUNTAP_SHOW }, { "lst", TUNTAP_SHOW },
		{ "help", TUNTAP_HELP }, { "-h", TUNTAP_HELP },	  { "--help", TUNTAP_HELP },
	};
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		if (!strcmp(w, ops[i].word)) {
			*op = ops[i].op;
			return 0;
		}
	}
	return -EINVAL;
}

static int set_name(struct tuntap_request *req, const char *name, char *err, size_t errlen)
{
	const char *why;

	if (req->has_name)
		return fail(err, errlen, "device name given twice ('%s' and '%s')", req->cfg.name, name);
	if (tun_name_check(name, &why) < 0)
		return fail(err, errlen, "invalid device name '%s': %s", name, why);
	snprintf(req->cfg.name, sizeof(req->cfg.name), "%s", name);
	req->has_name = true;
	return 0;
}

int tuntap_parse(int argc, char **argv, struct tuntap_request *req, char *err, size_t errlen)
{
	int i;

	memset(req, 0, sizeof(*req));
	req->op = TUNTAP_SHOW;
	if (argc < 1)
		return 0;
	if (parse_op(argv[0], &req->op) < 0)
		return fail(err, errlen, "unknown operation '%s' (add, del, show, list or help)", argv[0]);

	for (i = 1; i < argc; i++) {
		const char *w = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes_value = !strcmp(w, "dev") || !strcmp(w, "name") || !strcmp(w, "mode") ||
				   !strcmp(w, "user") || !strcmp(w, "group");

		if (takes_value && !v)
			return fail(err, errlen, "'%s' needs a value", w);
		if (!strcmp(w, "dev") || !strcmp(w, "name")) {
			if (set_name(req, v, err, errlen) < 0)
				return -EINVAL;
			i++;
		} else if (!strcmp(w, "mode")) {
			if (!strcmp(v, "tun"))
				req->cfg.mode = TUN_MODE_TUN;
			else if (!strcmp(v, "tap"))
				req->cfg.mode = TUN_MODE_TAP;
			else
				return fail(err, errlen, "unknown mode '%s' (tun or tap)", v);
			req->has_mode = true;
			i++;
		} else if (!strcmp(w, "user")) {
			if (parse_user(v, &req->user) < 0)
				return fail(err, errlen, "unknown user '%s'", v);
			req->has_user = true;
			i++;
		} else if (!strcmp(w, "group")) {
			if (parse_group(v, &req->group) < 0)
				return fail(err, errlen, "unknown group '%s'", v);
			req->has_group = true;
			i++;
		} else if (!strcmp(w, "pi")) {
			req->cfg.pi = true;
		} else if (!strcmp(w, "vnet_hdr")) {
			req->cfg.vnet_hdr = true;
		} else if (!strcmp(w, "multi_queue")) {
			req->cfg.multi_queue = true;
		} else if (!strcmp(w, "one_queue")) {
			/* IFF_ONE_QUEUE has been ignored by the kernel since 3.8. */
		} else if (!strcmp(w, "help")) {
			req->op = TUNTAP_HELP;
		} else if (!req->has_name && i == argc - 1 && tun_name_check(w, &(const char *){ NULL }) == 0) {
			/* ip tuntap accepts the name as a last bare word. */
			if (set_name(req, w, err, errlen) < 0)
				return -EINVAL;
		} else {
			return fail(err, errlen, "unknown argument '%s'", w);
		}
	}

	switch (req->op) {
	case TUNTAP_ADD:
		if (!req->has_mode)
			return fail(err, errlen, "add needs 'mode tun' or 'mode tap'");
		if (!req->has_name)
			return fail(err, errlen, "add needs 'dev NAME'");
		break;
	case TUNTAP_DEL:
		if (!req->has_name)
			return fail(err, errlen, "del needs 'dev NAME'");
		if (req->has_user || req->has_group || req->cfg.pi || req->cfg.vnet_hdr || req->cfg.multi_queue)
			return fail(err, errlen, "del takes only 'dev NAME' (and optionally 'mode')");
		break;
	case TUNTAP_SHOW:
		if (req->has_mode || req->has_user || req->has_group || req->cfg.pi || req->cfg.vnet_hdr ||
		    req->cfg.multi_queue)
			return fail(err, errlen, "show takes only 'dev NAME'");
		break;
	case TUNTAP_HELP:
		break;
	}
	return 0;
}

static int do_add(const struct tuntap_request *req)
{
	struct tun_device dev;
	struct tun_config cfg = req->cfg;
	int ret;

	cfg.exclusive = true;
	ret = tun_open(&dev, &cfg);
	if (ret < 0)
		return ret;
	if (req->has_user && (ret = tun_set_owner(&dev, req->user)) < 0)
		goto undo;
	if (req->has_group && (ret = tun_set_group(&dev, req->group)) < 0)
		goto undo;
	ret = tun_set_persist(&dev, true);
undo:
	/* Without persistence the device goes away with this descriptor. */
	tun_close(&dev);
	return ret;
}

static int do_del(const struct tuntap_request *req)
{
	struct netlink_link link;
	int ret;

	if (req->has_mode && netlink_link_get(req->cfg.name, &link) == 0 && link.is_tun &&
	    (link.tun.type == IFF_TAP) != (req->cfg.mode == TUN_MODE_TAP)) {
		log_err("'%s' is a %s device, not %s", req->cfg.name, link.tun.type == IFF_TAP ? "tap" : "tun",
			tun_mode_name(req->cfg.mode));
		return -EINVAL;
	}
	ret = tun_delete(req->cfg.name);
	if (ret < 0)
		return ret;
	if (netlink_link_get(req->cfg.name, &link) == 0)
		log_warn("'%s' is no longer persistent but still attached; it goes when the last process closes it",
			 req->cfg.name);
	return 0;
}

/* --- show --- */

/* The kernel names the device behind a tun descriptor in /proc/PID/fdinfo/FD
 * as "iff:\tNAME"; that is how `ip tuntap show` finds attached processes. */
static bool fdinfo_names(const char *path, const char *dev)
{
	char line[128];
	bool found = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "iff:\t", 5)) {
			line[strcspn(line, "\n")] = '\0';
			found = !strcmp(line + 5, dev);
		}
	}
	fclose(f);
	return found;
}

static void print_attached(const char *dev)
{
	DIR *proc = opendir("/proc");
	struct dirent *p;
	bool any = false;

	if (!proc)
		return;
	while ((p = readdir(proc))) {
		char path[600], comm[64] = "?";
		struct dirent *fd;
		DIR *fds;
		FILE *f;

		if (!isdigit((unsigned char)p->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", p->d_name);
		fds = opendir(path);
		if (!fds)
			continue;
		while ((fd = readdir(fds))) {
			if (!isdigit((unsigned char)fd->d_name[0]))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", p->d_name, fd->d_name);
			if (!fdinfo_names(path, dev))
				continue;
			snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
			f = fopen(path, "re");
			if (f) {
				if (fgets(comm, sizeof(comm), f))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(f);
			}
			printf("%s %s(%s)", any ? "" : "\tAttached to processes:", comm, p->d_name);
			any = true;
			break;
		}
		closedir(fds);
	}
	closedir(proc);
	if (any)
		printf("\n");
}

static void print_owner(const char *what, uint32_t id, bool user)
{
	const char *name = NULL;

	if (user) {
		struct passwd *pw = getpwuid(id);

		name = pw ? pw->pw_name : NULL;
	} else {
		struct group *gr = getgrgid(id);

		name = gr ? gr->gr_name : NULL;
	}
	if (name)
		printf(" %s %s", what, name);
	else
		printf(" %s %u", what, id);
}

struct show_ctx {
	const char *only;
	int shown;
};

static int show_one(const struct netlink_link *l, void *data)
{
	struct show_ctx *ctx = data;

	if (!l->is_tun || (ctx->only && strcmp(ctx->only, l->name)))
		return 0;
	ctx->shown++;
	printf("%s: %s", l->name, l->tun.type == IFF_TAP ? "tap" : "tun");
	if (l->tun.pi)
		printf(" pi");
	if (l->tun.vnet_hdr)
		printf(" vnet_hdr");
	if (l->tun.multi_queue)
		printf(" multi_queue");
	if (l->tun.persist)
		printf(" persist");
	if (l->tun.has_owner)
		print_owner("user", l->tun.owner, true);
	if (l->tun.has_group)
		print_owner("group", l->tun.group, false);
	if (l->tun.multi_queue)
		printf(" queues %u disabled %u", l->tun.num_queues, l->tun.num_disabled_queues);
	printf("\n");
	print_attached(l->name);
	return 0;
}

static int do_show(const struct tuntap_request *req)
{
	struct show_ctx ctx = { req->has_name ? req->cfg.name : NULL, 0 };
	int ret = netlink_link_foreach(show_one, &ctx);

	if (ret < 0) {
		log_err("cannot list devices: %s", strerror(-ret));
		return ret;
	}
	if (ctx.only && !ctx.shown) {
		log_err("no tun/tap device named '%s'", ctx.only);
		return -ENODEV;
	}
	return 0;
}

int tuntap_main(int argc, char **argv)
{
	struct tuntap_request req;
	char err[256];
	int ret;

	if (tuntap_parse(argc - 1, argv + 1, &req, err, sizeof(err)) < 0) {
		log_err("tuntap: %s", err);
		fprintf(stderr, "Try 'ferry tuntap help'.\n");
		return 1;
	}
	switch (req.op) {
	case TUNTAP_ADD:
		ret = do_add(&req);
		break;
	case TUNTAP_DEL:
		ret = do_del(&req);
		break;
	case TUNTAP_SHOW:
		ret = do_show(&req);
		break;
	default:
		fputs(usage_text, stdout);
		ret = 0;
		break;
	}
	return ret < 0 ? 1 : 0;
}
