/* sandbox.c - giving up privileges once set-up is done.
 *
 * The daemon starts as root: it creates a TUN/TAP device, sets addresses and
 * routes over netlink and makes its control socket in /var/run/wireguard.
 * Once those exist, what it does for the rest of its life is read and write
 * packets, answer the control socket and now and then bind a new port or
 * open a TCP connection. sandbox_enter(), called right before the event
 * loop, keeps only what that needs:
 *
 *  1. the bounding set loses every capability but the kept ones (while
 *     CAP_SETPCAP is still there to allow it);
 *  2. with a user (User =, --user): no supplementary groups, its gid, its
 *     uid, capabilities kept across the switch by PR_SET_KEEPCAPS;
 *  3. permitted and effective: CAP_NET_ADMIN (SO_MARK, SO_RCVBUFFORCE) and,
 *     only if a port in use is below 1024, CAP_NET_BIND_SERVICE to bind it
 *     again; after a uid switch they are ambient too (as issue 10 asks;
 *     they would only matter across an execve, which the filter refuses);
 *  4. PR_SET_NO_NEW_PRIVS;
 *  5. a seccomp allow-list (libseccomp) of the system calls the loop makes.
 *     Any other call fails with EPERM rather than killing the process: ferry
 *     handles a failed call as an error (a message, a count) and keeps
 *     forwarding packets, so a call on a path nobody traced becomes a
 *     visible error, not a VPN that is suddenly gone. An attacker who takes
 *     over the process gets the same EPERM, and nothing new.
 *
 * Capabilities are set with prctl() and capset() directly, not through
 * libcap or libcap-ng: the order of the steps above is the whole point
 * (the bounding set needs CAP_SETPCAP, ambient capabilities must be raised
 * after setuid, which clears them), and written out it can be read and
 * checked against capabilities(7) line by line, in some 60 lines.
 *
 * PR_SET_DUMPABLE 0 and RLIMIT_CORE 0 (sandbox_protect_secrets) are not part
 * of the sandbox and have no opt-out: they keep the keys out of core files
 * and out of reach of other processes of the same user. */
#include "sandbox.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define FERRY_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FERRY_SANITIZER 1
#endif
#endif

#define CAP_BIT(c) (UINT64_C(1) << (c))

static char status[160] = "not entered";

/* A system call the running daemon makes: @nr, or @alt where @nr does not
 * exist (arm64 has ppoll but no poll). With @arg >= 0, only when that
 * argument, masked with @mask, is one of @values; with @own_pid, only when
 * argument 0 is this process's id (a signal to itself). */
struct allowed_call {
	int nr, alt;
	int arg;
	uint64_t mask;
	unsigned int n_values;
	uint64_t values[2];
	bool own_pid;
};

#define N_VALUES(...) (sizeof((uint64_t[]){ __VA_ARGS__ }) / sizeof(uint64_t))
#define CALL(name)                                         \
	{                                                  \
		SCMP_SYS(name), -1, -1, 0, 0, { 0 }, false \
	}
#define CALL_OR(name, alt)                                            \
	{                                                             \
		SCMP_SYS(name), SCMP_SYS(alt), -1, 0, 0, { 0 }, false \
	}
#define CALL_IF(name, arg, ...)                                                                      \
	{                                                                                            \
		SCMP_SYS(name), -1, arg, ~UINT64_C(0), N_VALUES(__VA_ARGS__), { __VA_ARGS__ }, false \
	}
#define CALL_IF_NOT(name, arg, bits)                           \
	{                                                      \
		SCMP_SYS(name), -1, arg, bits, 1, { 0 }, false \
	}
#define CALL_SELF_IF(name, arg, ...)                                                                \
	{                                                                                           \
		SCMP_SYS(name), -1, arg, ~UINT64_C(0), N_VALUES(__VA_ARGS__), { __VA_ARGS__ }, true \
	}

/* Every call the daemon makes once set up, found with strace -f on the
 * daemons of the integration tests (every kind of `wg set`, `wg show`,
 * `ferry show`, TUN and TAP, TCP, LZ4, rekeying, bad input, stopping by
 * signal, by device removal and by socket removal), plus the few that a
 * rare path needs, each said below. DESIGN.md says how to redo this. */
static const struct allowed_call allowed_calls[] = {
	/* The event loop: epoll over the TUN device, the sockets, a timerfd
	 * for the protocol timers, a signalfd, an inotify watch on the
	 * control socket. device_run() creates these (and ignores SIGPIPE)
	 * after the sandbox is entered; fcntl() sets O_NONBLOCK. */
	CALL_OR(epoll_wait, epoll_pwait),
	CALL(epoll_ctl),
	CALL(epoll_create1),
	CALL(timerfd_create),
	CALL(timerfd_settime),
	CALL(signalfd4),
	CALL(inotify_init1),
	CALL(inotify_add_watch),
	CALL(rt_sigprocmask),
	CALL(rt_sigaction),
	CALL(rt_sigreturn), /* no handler is installed; allowed by every profile */
	CALL_IF(fcntl, 1, F_GETFL, F_SETFL),
	/* Packets and messages: the TUN device, UDP in batches, TCP, the
	 * control socket (recv, send, poll for its deadlines), log lines. */
	CALL(read),
	CALL(write),
	CALL(recvmmsg),
	CALL(sendmmsg),
	CALL(sendmsg),
	CALL(recvfrom),
	CALL(sendto),
	/* The link's changes (its MTU) from the netlink socket opened with the
	 * device, and the UDP sockets' error queues (ICMP "too big"). */
	CALL(recvmsg),
	CALL_OR(poll, ppoll),
	CALL(close),
	/* Ports bound again (wg set listen-port; none configured), the TCP
	 * transport, clients of the control socket: Internet sockets only. */
	CALL_IF(socket, 0, AF_INET, AF_INET6),
	CALL(bind),
	CALL(listen),
	CALL(accept4),
	CALL(connect),
	CALL(setsockopt), /* SO_MARK, buffers, UDP offloads, TCP options */
	CALL(getsockopt), /* SO_ERROR of a TCP connect */
	CALL(getsockname),
	/* The control socket file: stat() when inotify says it changed,
	 * unlink() on the way out (after a uid switch it fails, harmlessly:
	 * see uapi_close()). */
	CALL(newfstatat),
	CALL_OR(unlink, unlinkat),
	/* Memory: malloc (brk, mmap for large blocks, mremap to grow them:
	 * a long `wg show`), free. No executable mappings. */
	CALL(brk),
	CALL_IF_NOT(mmap, 2, PROT_EXEC),
	CALL(munmap),
	CALL(mremap),
	/* Time (the vDSO usually answers without a call), randomness for
	 * ephemeral keys and cookies, locks in libc and OpenSSL, leaving. */
	CALL(clock_gettime),
	CALL(getrandom),
	/* getrlimit(RLIMIT_NOFILE), read only (no new limit): the TCP
	 * transport sizes its connection table by it when first used. */
	CALL_IF(prlimit64, 2, 0),
	CALL(futex),
	CALL(exit_group),
	/* abort() on a failed check in ferry or libc: libc's last words
	 * (writev), then SIGABRT to itself, and nothing else is signalled. */
	CALL(writev),
	CALL(getpid),
	CALL(gettid),
	CALL_SELF_IF(tgkill, 2, SIGABRT),
};

#ifdef FERRY_SANITIZER
static const struct allowed_call sanitizer_calls[] = {
	/* AddressSanitizer builds only (make asan; the tests run them): the
	 * runtime's calls to report an error with symbols (reading the
	 * binary and /proc/self/maps; fcntl with any command) and to look
	 * for leaks at exit, which it does from a clone() that ptrace()s the
	 * process, made dumpable (prctl) for that moment. */
	CALL(fcntl),	CALL(open),	CALL(openat),	   CALL(readlink), CALL(lseek),	      CALL(ioctl),
	CALL(getdents), CALL(mprotect), CALL(sigaltstack), CALL(prctl),	   CALL(sched_yield), CALL(clone),
	CALL(exit),	CALL(ptrace),	CALL(wait4),	   CALL(getppid),
};
#endif

/* The resolver helper (resolver.c): getaddrinfo() with files and dns, found
 * with strace -f on the helper answering from /etc/hosts, from a DNS server
 * (UDP, and TCP for a truncated answer), from one that does not answer, and
 * for names with IPv4 and IPv6 addresses. Reading files, but only reading
 * them (nsswitch.conf, resolv.conf, hosts, gai.conf); DNS over UDP and TCP;
 * a netlink socket, through which getaddrinfo() learns the host's addresses
 * to order its answers (RFC 6724). No executable mappings: an NSS module
 * that is not built into libc (mdns, myhostname) cannot be loaded and is
 * skipped, and nscd's Unix socket cannot be opened (no AF_UNIX): libc then
 * asks the files and DNS itself. */
static const struct allowed_call resolver_calls[] = {
	CALL(read),
	CALL(write),
	CALL(close),
	CALL_IF_NOT(openat, 2, O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND),
	CALL(newfstatat),
	CALL(lseek),
	CALL_IF(socket, 0, AF_INET, AF_INET6),
	CALL_IF(socket, 0, AF_NETLINK),
	CALL_IF(ioctl, 1, FIONREAD), /* the size of a DNS answer waiting */
	CALL(connect),
	CALL(bind),
	CALL(getsockname),
	CALL(setsockopt),
	CALL(sendto),
	CALL(sendmmsg),
	CALL(recvfrom),
	CALL(recvmsg),
	CALL_OR(poll, ppoll),
	CALL_IF(fcntl, 1, F_GETFL, F_SETFL),
	CALL(brk),
	CALL_IF_NOT(mmap, 2, PROT_EXEC),
	CALL(munmap),
	CALL(mremap),
	CALL(clock_gettime),
	CALL(getrandom),
	CALL(uname),
	CALL(futex),
	CALL(rt_sigreturn),
	CALL(exit_group),
	CALL(writev),
	CALL(getpid),
	CALL(gettid),
	CALL_SELF_IF(tgkill, 2, SIGABRT),
};

static int call_nr(const struct allowed_call *c)
{
	return c->nr >= 0 ? c->nr : c->alt;
}

static int add_call(scmp_filter_ctx ctx, const struct allowed_call *c)
{
	struct scmp_arg_cmp cmp[2];
	unsigned int i, n = 0;

	if (c->own_pid)
		cmp[n++] = (struct scmp_arg_cmp){ 0, SCMP_CMP_EQ, (uint64_t)getpid(), 0 };
	if (c->arg < 0)
		return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call_nr(c), n, cmp);
	for (i = 0; i < c->n_values; i++) {
		int ret;

		cmp[n] = (struct scmp_arg_cmp){ (unsigned int)c->arg, SCMP_CMP_MASKED_EQ, c->mask, c->values[i] };
		ret = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call_nr(c), n + 1, cmp);
		if (ret < 0)
			return ret;
	}
	return 0;
}

#define N_CALLS(list) (sizeof(list) / sizeof((list)[0]))

struct call_list {
	const struct allowed_call *calls;
	size_t n;
};

/* The daemon's list or the resolver helper's, and the sanitizer's calls
 * in a sanitizer build. Returns how many lists are in @out. */
static size_t lists_for(bool resolver, struct call_list out[2])
{
	size_t n = 0;

	out[n++] = resolver ? (struct call_list){ resolver_calls, N_CALLS(resolver_calls) }
			    : (struct call_list){ allowed_calls, N_CALLS(allowed_calls) };
#ifdef FERRY_SANITIZER
	out[n++] = (struct call_list){ sanitizer_calls, N_CALLS(sanitizer_calls) };
#endif
	return n;
}

static unsigned int count_calls(bool resolver)
{
	struct call_list lists[2];
	size_t n = lists_for(resolver, lists), l, i, m, j;
	unsigned int count = 0;

	/* Distinct calls: some appear twice (with other arguments, or again
	 * in the sanitizer's list). */
	for (l = 0; l < n; l++) {
		for (i = 0; i < lists[l].n; i++) {
			int nr = call_nr(&lists[l].calls[i]);
			bool seen = false;

			for (m = 0; m <= l && !seen; m++)
				for (j = 0; j < (m == l ? i : lists[m].n) && !seen; j++)
					seen = call_nr(&lists[m].calls[j]) == nr;
			count += !seen && nr >= 0;
		}
	}
	return count;
}

unsigned int sandbox_allowed_calls(void)
{
	return count_calls(false);
}

unsigned int sandbox_resolver_allowed_calls(void)
{
	return count_calls(true);
}

static int load_filter(bool resolver)
{
	struct call_list lists[2];
	size_t n = lists_for(resolver, lists), l, i;
	scmp_filter_ctx ctx;
	int ret;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	/* Every thread, should a library have started one. */
	ret = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (l = 0; !ret && l < n; l++)
		for (i = 0; !ret && i < lists[l].n; i++)
			if (call_nr(&lists[l].calls[i]) >= 0)
				ret = add_call(ctx, &lists[l].calls[i]);
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

int sandbox_load_filter(void)
{
	return load_filter(false);
}

int sandbox_load_resolver_filter(void)
{
	return load_filter(true);
}

void sandbox_protect_secrets(void)
{
	struct rlimit none = { 0, 0 };

	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	setrlimit(RLIMIT_CORE, &none);
}

const char *sandbox_off_from_env(void)
{
	const char *v = getenv("FERRY_NO_SANDBOX");

	return v && !strcmp(v, "1") ? "FERRY_NO_SANDBOX=1" : NULL;
}

/* --- users --- */

/* A decimal id, or -1. */
static long long parse_id(const char *s)
{
	long long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v >= (long long)UINT32_MAX) /* (uid_t)-1 means "no change" to setresuid() */
			return -1;
	}
	return v;
}

int sandbox_parse_user(const char *spec, struct sandbox_user *out, const char **why)
{
	char user[256];
	const char *colon = strchr(spec, ':'), *group = colon ? colon + 1 : NULL;
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	struct passwd *pw;
	long long id;

	memset(out, 0, sizeof(*out));
	if (len == 0 || len >= sizeof(user) || (group && !*group)) {
		*why = "is not USER or USER:GROUP";
		return -EINVAL;
	}
	memcpy(user, spec, len);
	user[len] = '\0';
	pw = getpwnam(user);
	if (!pw) {
		id = parse_id(user);
		if (id < 0) {
			*why = "is not a known user (nor a number)";
			return -EINVAL;
		}
		pw = getpwuid((uid_t)id);
		out->uid = (uid_t)id;
	} else {
		out->uid = pw->pw_uid;
	}
	if (pw)
		snprintf(out->name, sizeof(out->name), "%s", pw->pw_name);
	else
		snprintf(out->name, sizeof(out->name), "%u", (unsigned int)out->uid);
	if (group) {
		struct group *gr = getgrnam(group);

		id = gr ? (long long)gr->gr_gid : parse_id(group);
		if (id < 0) {
			*why = "names an unknown group (nor a number)";
			return -EINVAL;
		}
		out->gid = (gid_t)id;
	} else if (pw) {
		out->gid = pw->pw_gid;
	} else {
		*why = "is a uid without an entry in the user database: give a group too (UID:GID)";
		return -EINVAL;
	}
	return 0;
}

int sandbox_parse_option(int argc, char **argv, int *i, struct sandbox_opts *o)
{
	const char *arg = argv[*i], *spec, *why = NULL;

	if (!strcmp(arg, "--no-sandbox")) {
		o->off = "--no-sandbox";
		return 1;
	}
	if (strcmp(arg, "--user") && strncmp(arg, "--user=", 7))
		return 0;
	if (arg[6] == '=')
		spec = arg + 7;
	else if (*i + 1 < argc)
		spec = argv[++*i];
	else
		spec = "";
	if (sandbox_parse_user(spec, &o->user, &why) < 0) {
		log_err("--user '%s' %s", spec, why);
		return -EINVAL;
	}
	o->has_user = true;
	return 1;
}

/* --- capabilities --- */

static int caps_get(uint64_t *effective, uint64_t *permitted)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*effective = d[0].effective | (uint64_t)d[1].effective << 32;
	*permitted = d[0].permitted | (uint64_t)d[1].permitted << 32;
	return 0;
}

/* Effective and permitted become @keep; inheritable too if @inheritable
 * (ambient capabilities must be inheritable). */
static int caps_set(uint64_t keep, bool inheritable)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int i;

	for (i = 0; i < 2; i++) {
		d[i].effective = d[i].permitted = (uint32_t)(keep >> (32 * i));
		d[i].inheritable = inheritable ? d[i].effective : 0;
	}
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

static int drop_bounding_set(uint64_t keep)
{
	int c;

	/* The kernel's last capability: the first it does not know. */
	for (c = 0; c < 64 && prctl(PR_CAPBSET_READ, c, 0, 0, 0) >= 0; c++)
		if (!(keep & CAP_BIT(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
			return -errno;
	return 0;
}

static int switch_user(const struct sandbox_user *u)
{
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || setgroups(0, NULL) < 0 || setresgid(u->gid, u->gid, u->gid) < 0 ||
	    setresuid(u->uid, u->uid, u->uid) < 0)
		return -errno;
	return prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 ? -errno : 0;
}

static int raise_ambient(uint64_t keep)
{
	int c;

	for (c = 0; c < 64; c++)
		if ((keep & CAP_BIT(c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			return -errno;
	return 0;
}

static void describe(const struct sandbox_opts *o)
{
	static const struct {
		int cap;
		const char *name;
	} names[] = { { CAP_NET_ADMIN, "net_admin" }, { CAP_NET_BIND_SERVICE, "net_bind_service" } };
	uint64_t eff = 0, prm = 0;
	const char *name = "?";
	struct passwd *pw;
	char caps[64] = "";
	size_t i, len = 0;

	caps_get(&eff, &prm);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (eff & CAP_BIT(names[i].cap))
			len += (size_t)snprintf(caps + len, sizeof(caps) - len, "%s%s", len ? "," : "", names[i].name);
	if (eff & ~(CAP_BIT(CAP_NET_ADMIN) | CAP_BIT(CAP_NET_BIND_SERVICE)))
		snprintf(caps + len, sizeof(caps) - len, "%sothers", len ? "," : "");
	pw = o->has_user ? NULL : getpwuid(getuid());
	if (o->has_user)
		name = o->user.name;
	else if (pw)
		name = pw->pw_name;
	snprintf(status, sizeof(status), "user %s (uid %u, gid %u), capabilities %s, seccomp on (%u system calls)",
		 name, (unsigned int)getuid(), (unsigned int)getgid(), caps[0] ? caps : "none",
		 sandbox_allowed_calls());
}

/* Steps 1 to 5 of the comment at the top, keeping @keep (of what the
 * process has) and loading the daemon's filter or the resolver helper's. */
static int enter(const struct sandbox_opts *o, uint64_t keep, bool resolver)
{
	bool uid_changes = false;
	uint64_t eff, prm;
	char what[96];
	const char *step;
	int ret;

	step = "reading capabilities";
	ret = caps_get(&eff, &prm);
	if (ret < 0)
		goto fail;
	/* A process started with less (not as root) keeps what it has of these. */
	keep &= prm;
	uid_changes = o->has_user && (o->user.uid != getuid() || o->user.gid != getgid());
	/* Without CAP_SETPCAP the bounding set cannot shrink; no_new_privs and
	 * the filter (no execve) leave it nothing to grant anyway. */
	if (eff & CAP_BIT(CAP_SETPCAP)) {
		step = "dropping capabilities from the bounding set";
		ret = drop_bounding_set(keep);
		if (ret < 0)
			goto fail;
	}
	if (uid_changes) {
		snprintf(what, sizeof(what), "switching to user %s", o->user.name);
		step = what;
		ret = switch_user(&o->user);
		if (ret < 0)
			goto fail;
	}
	step = "setting capabilities";
	ret = caps_set(keep, uid_changes);
	if (ret < 0)
		goto fail;
	step = "setting ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		ret = -errno;
	else if (uid_changes)
		ret = raise_ambient(keep);
	if (ret < 0)
		goto fail;
	/* A uid change resets it to the system default. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* Now: getuid() and capget() are not on the list. */
	if (!resolver)
		describe(o);
	step = "loading the seccomp filter";
	ret = load_filter(resolver);
	if (ret < 0)
		goto fail;
	if (!resolver)
		log_info("sandbox: %s", status);
	return 0;
fail:
	log_err("cannot enter the sandbox: %s: %s (--no-sandbox runs without it)", step, strerror(-ret));
	return ret;
}

int sandbox_enter(const struct sandbox_opts *o)
{
	uint64_t keep = CAP_BIT(CAP_NET_ADMIN);

	if (o->off) {
		snprintf(status, sizeof(status), "off (%s): uid %u, every capability it started with", o->off,
			 (unsigned int)getuid());
		log_info("sandbox off (%s)", o->off);
		return 0;
	}
	if ((o->udp_port && o->udp_port < 1024) || (o->tcp_port && o->tcp_port < 1024))
		keep |= CAP_BIT(CAP_NET_BIND_SERVICE);
	return enter(o, keep, false);
}

int sandbox_enter_resolver(const struct sandbox_opts *o)
{
	if (o->off)
		return 0;
	return enter(o, 0, true);
}

const char *sandbox_status(void)
{
	return status;
}
