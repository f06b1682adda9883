/* sandbox.h - the privileges the daemon keeps once its device, sockets and
 * control socket exist: a user of its own (User =, --user), CAP_NET_ADMIN
 * (and CAP_NET_BIND_SERVICE for a port below 1024), no new privileges, and
 * a seccomp allow-list of the system calls the running daemon makes.
 * docs/DESIGN.md, "Privileges and the sandbox", says what and why. */
#ifndef FERRY_SANDBOX_H
#define FERRY_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* A user to run as, resolved at start-up (User = NAME[:GROUP]). */
struct sandbox_user {
	uid_t uid;
	gid_t gid;
	char name[64]; /* the user's name, or its number: for messages */
};

struct sandbox_opts {
	/* NULL: enter the sandbox. Otherwise the opt-out that said not to, for
	 * messages and `ferry show`: "--no-sandbox", "Sandbox = off" ... */
	const char *off;
	bool has_user;
	struct sandbox_user user;
	/* The ports in use (0: none): CAP_NET_BIND_SERVICE is kept only if one
	 * is below 1024, so that it can be bound again. */
	uint16_t udp_port, tcp_port;
};

/* No core dumps and no ptrace or /proc access by the same user: the process
 * is about to read secret keys. Called first thing by the daemon commands,
 * whatever the opt-outs say. */
void sandbox_protect_secrets(void);

/* Parse "NAME[:GROUP]" or "UID[:GID]" (each part a name or a number) and
 * resolve it now, before anything is dropped. Without GROUP, the user's
 * primary group. Returns 0, or -EINVAL with a message for people in *why. */
int sandbox_parse_user(const char *spec, struct sandbox_user *out, const char **why);

/* The options of the daemon commands: "--user NAME[:GROUP]" (or
 * "--user=...") and "--no-sandbox", at argv[*i]. Returns 1 if it was one
 * (*i moved past its value), 0 if not, -EINVAL after a message. */
int sandbox_parse_option(int argc, char **argv, int *i, struct sandbox_opts *o);

/* The opt-out from the environment: FERRY_NO_SANDBOX=1 (for wg-quick, which
 * starts `ferry IFNAME` without options). Returns its text or NULL. */
const char *sandbox_off_from_env(void);

/* Enter the sandbox, or record that it is off. Returns 0, or -errno after
 * logging what failed; the caller must then stop, not run with privileges
 * it was told to give up. */
int sandbox_enter(const struct sandbox_opts *o);

/* The resolver helper's sandbox (resolver.c): the same steps keeping no
 * capability at all, and a seccomp list of what getaddrinfo() needs. */
int sandbox_enter_resolver(const struct sandbox_opts *o);

/* Only the last step: set no_new_privs and load the seccomp allow-list into
 * this thread (the unit tests run it unprivileged). Returns 0 or -errno. */
int sandbox_load_filter(void);

/* The resolver helper's list, into this thread. */
int sandbox_load_resolver_filter(void);

/* How many system calls the allow-list names (the daemon's; the helper's). */
unsigned int sandbox_allowed_calls(void);
unsigned int sandbox_resolver_allowed_calls(void);

/* What the process runs as, one line for `ferry show`: "user nobody (uid
 * 65534, gid 65534), capabilities net_admin, seccomp on", or "off (...)". */
const char *sandbox_status(void);

#endif
