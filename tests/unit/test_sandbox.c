/* Unit tests: the sandbox (src/sandbox.c). Users and options are parsed in
 * this process; the filter and the privileges are applied in forked
 * children, which report back through a pipe. The filter needs no root;
 * the capability and user switch parts are skipped without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "log.h"
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER 1
#endif
#endif

static void parse_user_names_and_numbers(void **state)
{
	struct passwd *nobody = getpwnam("nobody");
	struct sandbox_user u;
	const char *why = NULL;

	(void)state;
	assert_non_null(nobody);
	assert_int_equal(sandbox_parse_user("nobody", &u, &why), 0);
	assert_int_equal(u.uid, nobody->pw_uid);
	assert_int_equal(u.gid, nobody->pw_gid); /* the primary group */
	assert_string_equal(u.name, "nobody");

	assert_int_equal(sandbox_parse_user("nobody:root", &u, &why), 0);
	assert_int_equal(u.uid, nobody->pw_uid);
	assert_int_equal(u.gid, 0);

	/* A number in the user database takes its name and group. */
	assert_int_equal(sandbox_parse_user("0", &u, &why), 0);
	assert_int_equal(u.uid, 0);
	assert_int_equal(u.gid, 0);
	assert_string_equal(u.name, "root");

	/* A number outside it needs a group. */
	assert_int_equal(sandbox_parse_user("4000000:4000001", &u, &why), 0);
	assert_int_equal(u.uid, 4000000);
	assert_int_equal(u.gid, 4000001);
	assert_string_equal(u.name, "4000000");
	why = NULL;
	assert_int_equal(sandbox_parse_user("4000000", &u, &why), -EINVAL);
	assert_non_null(strstr(why, "give a group"));
}

static void parse_user_refuses(void **state)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
		{ "", "USER:GROUP" },
		{ ":0", "USER:GROUP" },
		{ "nobody:", "USER:GROUP" },
		{ "no-such-user-here", "not a known user" },
		{ "nobody:no-such-group-here", "unknown group" },
		{ "-1", "not a known user" },
		{ "4294967295:0", "not a known user" }, /* (uid_t)-1: "no change" to setresuid() */
		{ "99999999999999999999:0", "not a known user" },
		{ "0:4294967295", "unknown group" },
		{ "12ab", "not a known user" },
	};
	struct sandbox_user u;
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(sandbox_parse_user(bad[i].spec, &u, &why), -EINVAL);
		assert_non_null(why);
		if (!strstr(why, bad[i].why))
			fail_msg("'%s': '%s' does not say '%s'", bad[i].spec, why, bad[i].why);
	}
}

static void parse_options(void **state)
{
	char *argv[] = { "ferry", "--user", "nobody", "--no-sandbox", "--user=0:0", "-f", "--user", NULL };
	struct sandbox_opts o = { 0 };
	int i = 1;

	(void)state;
	assert_int_equal(sandbox_parse_option(7, argv, &i, &o), 1);
	assert_int_equal(i, 2); /* on the value: the caller's loop moves on */
	assert_true(o.has_user);
	assert_string_equal(o.user.name, "nobody");
	i = 3;
	assert_int_equal(sandbox_parse_option(7, argv, &i, &o), 1);
	assert_string_equal(o.off, "--no-sandbox");
	i = 4;
	assert_int_equal(sandbox_parse_option(7, argv, &i, &o), 1);
	assert_int_equal(o.user.uid, 0);
	i = 5;
	assert_int_equal(sandbox_parse_option(7, argv, &i, &o), 0);
	i = 6; /* --user without a value */
	assert_int_equal(sandbox_parse_option(7, argv, &i, &o), -EINVAL);
}

/* Run @fn in a child; it writes what it finds to the pipe (@fd), which
 * the parent reads into @out. Returns the child's wait status. */
static int in_child(void (*fn)(int fd, void *arg), void *arg, void *out, size_t size)
{
	int p[2], status = -1;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		fn(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	while (got < size) {
		ssize_t n = read(p[0], (char *)out + got, size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(got, size);
	return status;
}

/* 0 if the call succeeded, else its errno. */
#define RESULT(call) ((call) < 0 ? errno : 0)

enum probe {
	P_LOAD,
	P_GETPID,
	P_SOCKET_INET,
	P_MMAP_RW,
	P_FCNTL_GETFL,
	P_GETRLIMIT,
	P_SOCKET_UNIX,
	P_SOCKET_NETLINK,
	P_SOCKET_PACKET,
	P_EXECVE,
	P_MOUNT,
	P_UNSHARE,
	P_SETUID,
	P_CHMOD,
	P_KILL_PARENT,
	P_TGKILL_PARENT,
	P_MMAP_EXEC,
	P_SETRLIMIT,
	P_OPEN_WRITE,
	P_PTRACE,
	P_FCNTL_SETFD,
	P_MAX
};

static void probe_filter(int fd, void *arg)
{
	int r[P_MAX] = { 0 }, s;
	pid_t parent = getppid(); /* getppid() is not on the list */
	struct rlimit rl = { 0 };
	void *m;

	(void)arg;
	r[P_LOAD] = -sandbox_load_filter();
	/* Allowed. */
	r[P_GETPID] = RESULT(getpid());
	s = socket(AF_INET, SOCK_DGRAM, 0);
	r[P_SOCKET_INET] = RESULT(s);
	r[P_FCNTL_GETFL] = RESULT(fcntl(s, F_GETFL));
	r[P_GETRLIMIT] = RESULT(getrlimit(RLIMIT_NOFILE, &rl));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r[P_MMAP_RW] = m == MAP_FAILED ? errno : 0;
	/* Outside the list, or outside what the arguments may be. */
	r[P_SOCKET_UNIX] = RESULT(socket(AF_UNIX, SOCK_STREAM, 0));
	r[P_SOCKET_NETLINK] = RESULT(socket(AF_NETLINK, SOCK_RAW, 0));
	r[P_SOCKET_PACKET] = RESULT(socket(AF_PACKET, SOCK_RAW, 0));
	r[P_EXECVE] = RESULT(execve("/bin/true", (char *[]){ "true", NULL }, (char *[]){ NULL }));
	/* Harmless if allowed: ENOENT, not EPERM. */
	r[P_MOUNT] = RESULT(mount("none", "/nonexistent/ferry-test", "tmpfs", 0, NULL));
	r[P_UNSHARE] = RESULT(unshare(CLONE_NEWNET));
	r[P_SETUID] = RESULT(setuid(0));
	r[P_CHMOD] = RESULT(chmod("/nonexistent/ferry-test", 0600));
	r[P_KILL_PARENT] = RESULT(kill(parent, 0));
	/* SIGABRT is allowed to this process only (the parent ignores it). */
	r[P_TGKILL_PARENT] = RESULT(syscall(SYS_tgkill, parent, parent, SIGABRT));
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r[P_MMAP_EXEC] = m == MAP_FAILED ? errno : 0;
	r[P_SETRLIMIT] = RESULT(setrlimit(RLIMIT_NOFILE, &rl)); /* the same limit again: harmless if allowed */
	/* The sanitizer runtime needs these; the daemon does not. */
	r[P_OPEN_WRITE] = RESULT(open("/dev/null", O_WRONLY));
	r[P_PTRACE] = RESULT(ptrace(PTRACE_TRACEME, 0, NULL, NULL));
	r[P_FCNTL_SETFD] = RESULT(fcntl(s, F_SETFD, FD_CLOEXEC));
	if (write(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
}

static void filter_allows_and_refuses(void **state)
{
	static const char *const names[P_MAX] = {
		[P_LOAD] = "loading the filter",
		[P_GETPID] = "getpid",
		[P_SOCKET_INET] = "socket(AF_INET)",
		[P_MMAP_RW] = "mmap(PROT_READ|PROT_WRITE)",
		[P_FCNTL_GETFL] = "fcntl(F_GETFL)",
		[P_GETRLIMIT] = "getrlimit",
		[P_SOCKET_UNIX] = "socket(AF_UNIX)",
		[P_SOCKET_NETLINK] = "socket(AF_NETLINK)",
		[P_SOCKET_PACKET] = "socket(AF_PACKET)",
		[P_EXECVE] = "execve",
		[P_MOUNT] = "mount",
		[P_UNSHARE] = "unshare",
		[P_SETUID] = "setuid",
		[P_CHMOD] = "chmod",
		[P_KILL_PARENT] = "kill(parent)",
		[P_TGKILL_PARENT] = "tgkill(parent, SIGABRT)",
		[P_MMAP_EXEC] = "mmap(PROT_EXEC)",
		[P_SETRLIMIT] = "setrlimit",
		[P_OPEN_WRITE] = "open(O_WRONLY)",
		[P_PTRACE] = "ptrace",
		[P_FCNTL_SETFD] = "fcntl(F_SETFD)",
	};
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int r[P_MAX], i, status;

	(void)state;
	sigaction(SIGABRT, &ign, &old);
	status = in_child(probe_filter, NULL, r, sizeof(r));
	sigaction(SIGABRT, &old, NULL);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < P_MAX; i++) {
		int want = i <= P_GETRLIMIT ? 0 : EPERM;

#ifdef SANITIZER
		if (i >= P_OPEN_WRITE)
			continue;
#endif
		if (r[i] != want)
			fail_msg("%s: %s, expected %s", names[i], r[i] ? strerror(r[i]) : "allowed",
				 want ? strerror(want) : "allowed");
	}
	assert_true(sandbox_allowed_calls() >= 40);
}

/* The resolver helper's filter: what getaddrinfo() needs, and not even
 * the little more the daemon may do. */
enum resolver_probe {
	R_LOAD,
	R_OPEN_READ,
	R_SOCKET_INET,
	R_SOCKET_NETLINK,
	R_IOCTL_FIONREAD,
	R_MMAP_RW,
	R_OPEN_CREATE,
	R_OPEN_TUN,
	R_SOCKET_UNIX,
	R_SOCKET_PACKET,
	R_EXECVE,
	R_MMAP_EXEC,
	R_LISTEN,
	R_ACCEPT,
	R_UNLINK,
	R_KILL_PARENT,
	R_SETUID,
	R_OPEN_WRITE,
	R_MAX
};

static void probe_resolver_filter(int fd, void *arg)
{
	int r[R_MAX] = { 0 }, s, n = 0;
	pid_t parent = getppid();
	void *m;

	(void)arg;
	r[R_LOAD] = -sandbox_load_resolver_filter();
	r[R_OPEN_READ] = RESULT(open("/etc/hosts", O_RDONLY | O_CLOEXEC));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	r[R_SOCKET_INET] = RESULT(s);
	r[R_SOCKET_NETLINK] = RESULT(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0));
	r[R_IOCTL_FIONREAD] = RESULT(ioctl(s, FIONREAD, &n));
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r[R_MMAP_RW] = m == MAP_FAILED ? errno : 0;
	r[R_OPEN_CREATE] = RESULT(open("/nonexistent/ferry-test", O_RDONLY | O_CREAT, 0600));
	r[R_OPEN_TUN] = RESULT(open("/dev/net/tun", O_RDWR));
	r[R_SOCKET_UNIX] = RESULT(socket(AF_UNIX, SOCK_STREAM, 0));
	r[R_SOCKET_PACKET] = RESULT(socket(AF_PACKET, SOCK_RAW, 0));
	r[R_EXECVE] = RESULT(execve("/bin/true", (char *[]){ "true", NULL }, (char *[]){ NULL }));
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	r[R_MMAP_EXEC] = m == MAP_FAILED ? errno : 0;
	r[R_LISTEN] = RESULT(listen(s, 1));
	r[R_ACCEPT] = RESULT(accept4(s, NULL, NULL, 0));
	r[R_UNLINK] = RESULT(unlink("/nonexistent/ferry-test"));
	r[R_KILL_PARENT] = RESULT(kill(parent, 0));
	r[R_SETUID] = RESULT(setuid(0));
	/* The sanitizer runtime needs this one. */
	r[R_OPEN_WRITE] = RESULT(open("/dev/null", O_WRONLY));
	if (write(fd, r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
}

static void resolver_filter_allows_and_refuses(void **state)
{
	static const char *const names[R_MAX] = {
		[R_LOAD] = "loading the filter",
		[R_OPEN_READ] = "open(/etc/hosts, O_RDONLY)",
		[R_SOCKET_INET] = "socket(AF_INET)",
		[R_SOCKET_NETLINK] = "socket(AF_NETLINK)",
		[R_IOCTL_FIONREAD] = "ioctl(FIONREAD)",
		[R_MMAP_RW] = "mmap(PROT_READ|PROT_WRITE)",
		[R_OPEN_CREATE] = "open(O_CREAT)",
		[R_OPEN_TUN] = "open(/dev/net/tun, O_RDWR)",
		[R_SOCKET_UNIX] = "socket(AF_UNIX)",
		[R_SOCKET_PACKET] = "socket(AF_PACKET)",
		[R_EXECVE] = "execve",
		[R_MMAP_EXEC] = "mmap(PROT_EXEC)",
		[R_LISTEN] = "listen",
		[R_ACCEPT] = "accept4",
		[R_UNLINK] = "unlink",
		[R_KILL_PARENT] = "kill(parent)",
		[R_SETUID] = "setuid",
		[R_OPEN_WRITE] = "open(O_WRONLY)",
	};
	int r[R_MAX], i, status;

	(void)state;
	status = in_child(probe_resolver_filter, NULL, r, sizeof(r));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (i = 0; i < R_MAX; i++) {
		int want = i <= R_MMAP_RW ? 0 : EPERM;

#ifdef SANITIZER
		/* The sanitizer's runtime opens files for writing, so its
		 * builds allow open and openat with any flags (sandbox.c). */
		if (i == R_OPEN_CREATE || i == R_OPEN_TUN || i >= R_OPEN_WRITE)
			continue;
#endif
		if (r[i] != want)
			fail_msg("%s: %s, expected %s", names[i], r[i] ? strerror(r[i]) : "allowed",
				 want ? strerror(want) : "allowed");
	}
	/* Smaller than the daemon's. */
	assert_true(sandbox_resolver_allowed_calls() < sandbox_allowed_calls());
}

static void do_abort(int fd, void *arg)
{
	int ret = sandbox_load_filter();

	(void)arg;
	if (write(fd, &ret, sizeof(ret)) != (ssize_t)sizeof(ret) || ret < 0)
		_exit(2);
	abort();
}

/* abort() (libc's checks, ferry's) still dies by SIGABRT in the filter. */
static void filter_lets_abort_abort(void **state)
{
	int ret, status;

	(void)state;
	status = in_child(do_abort, NULL, &ret, sizeof(ret));
	assert_int_equal(ret, 0);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
}

struct secrets_report {
	int dumpable;
	struct rlimit core;
};

static void probe_secrets(int fd, void *arg)
{
	struct secrets_report r;

	(void)arg;
	sandbox_protect_secrets();
	r.dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	getrlimit(RLIMIT_CORE, &r.core);
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
}

static void secrets_not_dumped(void **state)
{
	struct secrets_report r;

	(void)state;
	assert_int_equal(in_child(probe_secrets, NULL, &r, sizeof(r)), 0);
	assert_int_equal(r.dumpable, 0);
	assert_int_equal(r.core.rlim_cur, 0);
	assert_int_equal(r.core.rlim_max, 0);
}

/* --- as root: the whole of sandbox_enter(), seen from /proc --- */

struct enter_report {
	int ret;
	char status[160];
};

static int go_fd = -1; /* the child waits on it while the parent looks */

static void do_enter(int fd, void *arg)
{
	struct enter_report r = { 0 };
	char c;

	r.ret = sandbox_enter(arg);
	snprintf(r.status, sizeof(r.status), "%s", sandbox_status());
	if (write(fd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(2);
	if (read(go_fd, &c, 1) < 0)
		_exit(3);
}

/* The value of "Key:" in /proc/PID/status, tabs as spaces. */
static void proc_status(pid_t pid, const char *key, char *out, size_t size)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char *v = line + klen + 1, *t;

		if (strncmp(line, key, klen) || line[klen] != ':')
			continue;
		while (*v == '\t' || *v == ' ')
			v++;
		v[strcspn(v, "\n")] = '\0';
		for (t = v; *t; t++)
			if (*t == '\t')
				*t = ' ';
		snprintf(out, size, "%s", v);
	}
	fclose(f);
}

struct expect {
	const char *uid, *gid, *cap_prm, *cap_amb, *no_new_privs, *seccomp, *status;
};

static void enter_and_look(const struct sandbox_opts *o, const struct expect *e)
{
	struct enter_report r;
	char v[128], path[64];
	struct stat st;
	int go[2], p[2], status;
	size_t got = 0;
	pid_t pid;

	assert_int_equal(pipe(go), 0);
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		close(p[0]);
		go_fd = go[0];
		do_enter(p[1], (void *)o);
		_exit(0);
	}
	close(go[0]);
	close(p[1]);
	while (got < sizeof(r)) {
		ssize_t n = read(p[0], (char *)&r + got, sizeof(r) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	assert_int_equal(got, sizeof(r));
	assert_int_equal(r.ret, 0);
	if (!strstr(r.status, e->status))
		fail_msg("status '%s' does not say '%s'", r.status, e->status);
	proc_status(pid, "Uid", v, sizeof(v));
	assert_string_equal(v, e->uid);
	proc_status(pid, "Gid", v, sizeof(v));
	assert_string_equal(v, e->gid);
	proc_status(pid, "Groups", v, sizeof(v));
	if (strcmp(e->uid, "0 0 0 0"))
		assert_string_equal(v, "");
	proc_status(pid, "CapPrm", v, sizeof(v));
	assert_string_equal(v, e->cap_prm);
	proc_status(pid, "CapEff", v, sizeof(v));
	assert_string_equal(v, e->cap_prm);
	if (!o->off) {
		proc_status(pid, "CapBnd", v, sizeof(v));
		assert_string_equal(v, e->cap_prm);
	}
	proc_status(pid, "CapAmb", v, sizeof(v));
	assert_string_equal(v, e->cap_amb);
	proc_status(pid, "NoNewPrivs", v, sizeof(v));
	assert_string_equal(v, e->no_new_privs);
	proc_status(pid, "Seccomp", v, sizeof(v));
	assert_string_equal(v, e->seccomp);
	/* Not dumpable, even as another user: /proc/PID/environ stays root's. */
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	assert_int_equal(stat(path, &st), 0);
	if (!o->off)
		assert_int_equal(st.st_uid, 0);
	close(go[1]);
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void enter_as_nobody(void **state)
{
	struct sandbox_opts o = { 0 };
	const char *why;
	struct expect e = { "65534 65534 65534 65534",
			    "65534 65534 65534 65534",
			    "0000000000001000",
			    "0000000000001000",
			    "1",
			    "2",
			    "user nobody (uid 65534, gid 65534), capabilities net_admin," };

	(void)state;
	if (geteuid())
		skip();
	assert_int_equal(sandbox_parse_user("nobody:65534", &o.user, &why), 0);
	o.has_user = true;
	enter_and_look(&o, &e);
	/* A port below 1024 in use keeps the right to bind it again. */
	o.tcp_port = 443;
	e.cap_prm = e.cap_amb = "0000000000001400";
	e.status = "capabilities net_admin,net_bind_service,";
	enter_and_look(&o, &e);
}

static void enter_as_root(void **state)
{
	struct sandbox_opts o = { .udp_port = 51820 };
	struct expect e = { "0 0 0 0",
			    "0 0 0 0",
			    "0000000000001000",
			    "0000000000000000",
			    "1",
			    "2",
			    "user root (uid 0, gid 0), capabilities net_admin, seccomp on" };

	(void)state;
	if (geteuid())
		skip();
	enter_and_look(&o, &e);
}

static void enter_off(void **state)
{
	struct sandbox_opts o = { .off = "--no-sandbox" };
	struct expect e = { "0 0 0 0", "0 0 0 0", "", "0000000000000000", "0", "0", "off (--no-sandbox)" };
	char prm[64];

	(void)state;
	if (geteuid())
		skip();
	/* Whatever this process has, the child keeps. */
	proc_status(getpid(), "CapPrm", prm, sizeof(prm));
	e.cap_prm = prm;
	enter_and_look(&o, &e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_user_names_and_numbers),
		cmocka_unit_test(parse_user_refuses),
		cmocka_unit_test(parse_options),
		cmocka_unit_test(filter_allows_and_refuses),
		cmocka_unit_test(resolver_filter_allows_and_refuses),
		cmocka_unit_test(filter_lets_abort_abort),
		cmocka_unit_test(secrets_not_dumped),
		cmocka_unit_test(enter_as_nobody),
		cmocka_unit_test(enter_as_root),
		cmocka_unit_test(enter_off),
	};

	log_set_level(LOG_LEVEL_ERROR);
	return cmocka_run_group_tests_name("sandbox", tests, NULL, NULL);
}
