#!/usr/bin/env bash
# The sandbox (issue 10): once set up, a daemon keeps CAP_NET_ADMIN only
# (and CAP_NET_BIND_SERVICE for a port below 1024), sets no_new_privs, runs
# under a seccomp filter, and with User = switches to that user; it is not
# dumpable and dumps no core. Seen from /proc/PID/status while `wg set`
# changes the private key, peers, the listen port and the fwmark, and the
# tunnel keeps working; ferry show says what the daemon runs as; the
# opt-outs (--no-sandbox, Sandbox = off, FERRY_NO_SANDBOX=1) leave it off;
# an unknown user is an error at start-up.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 40

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA sa
wg_ifname IB sb
wg_ifname IC sc
wg_keys KA PA a
wg_keys KB PB b
wg_keys KA2 PA2 a2
wg_keys KX PX x
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock" "$WG_RUN/$IC.sock")
trap wg_cleanup EXIT

NOBODY=$(id -u nobody)
NOGROUP=$(id -g nobody)
CA=$T_TMP/$IA.conf
CB=$T_TMP/$IB.conf
cat >"$CA" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51861
Address = 10.86.0.1/24
User = nobody

[Peer]
PublicKey = $PB
AllowedIPs = 10.86.0.2/32
Endpoint = 192.0.2.2:51862
CONF
# B stays root; its TCP port below 1024 keeps CAP_NET_BIND_SERVICE.
cat >"$CB" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51862
ListenTCP = 443
Address = 10.86.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.86.0.1/32
Endpoint = 192.0.2.1:51861
CONF
chmod 600 "$CA" "$CB"

# status PID KEY: the value of KEY in /proc/PID/status (fields joined by spaces)
status() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "/proc/$1/status"; }
# sandboxed PID UID CAPS AMBIENT: what /proc says matches
sandboxed() {
	local pid=$1 uid=$2 caps=$3 amb=$4 want got k
	for k in Uid Gid CapPrm CapEff CapBnd CapAmb NoNewPrivs Seccomp; do
		case $k in
		Uid) want="$uid $uid $uid $uid" ;;
		Gid) want="$5 $5 $5 $5" ;;
		CapPrm | CapEff | CapBnd) want=$caps ;;
		CapAmb) want=$amb ;;
		NoNewPrivs) want=1 ;;
		Seccomp) want=2 ;;
		esac
		got=$(status "$pid" $k)
		if [ "$got" != "$want" ]; then
			echo "$k: '$got', expected '$want'"
			return 1
		fi
	done
}
# up_with VARPID NS CONF IFNAME ARGS...: ferry up -f ARGS CONF, wait for socket and link
up_with() {
	local var=$1 ns=$2 conf=$3 ifn=$4 pid
	shift 4
	bg pid ip netns exec "$ns" "$FERRY" up -f "$@" "$conf"
	printf -v "$var" '%s' "$pid"
	wait_for 10 test -S "$WG_RUN/$ifn.sock" && wait_for 5 ip -n "$ns" link show "$ifn" up
}
stop() { # PID
	kill "$1" 2>/dev/null
	timeout 5 tail --pid="$1" -f /dev/null
	wait "$1"
	local rc=$?
	t_forget "$1"
	return $rc
}
# Packets leaving A's UDP socket with fwmark 0x86, counted by nftables.
nsx "$A" nft -f - <<'NFT'
table inet ferrysandbox {
	chain out { type filter hook output priority 0; meta mark 0x86 udp dport 51862 counter; }
}
NFT
marked() { nsx "$A" nft list chain inet ferrysandbox out | grep -oE 'packets [0-9]+' | awk '{ print $2 }'; }

check "ferry up A (User = nobody)" ferry_up DA "$A" "$CA" "$IA"
check "ferry up B (no User, ListenTCP = 443)" ferry_up DB "$B" "$CB" "$IB"
check "A: uid/gid nobody, CAP_NET_ADMIN only (also ambient), no_new_privs, seccomp" \
	sandboxed "$DA" "$NOBODY" 0000000000001000 0000000000001000 "$NOGROUP"
check "B: root, CAP_NET_ADMIN + CAP_NET_BIND_SERVICE, nothing ambient, no_new_privs, seccomp" \
	sandboxed "$DB" 0 0000000000001400 0000000000000000 0
check "A: no supplementary groups" test -z "$(status "$DA" Groups)"
check "A is not dumpable: /proc/PID/environ stays root's" test "$(stat -c %u "/proc/$DA/environ")" = 0
like "A dumps no core (RLIMIT_CORE 0)" "Max core file size        0                    0" "$(cat "/proc/$DA/limits")"
like "ferry show A says what it runs as" \
	"sandbox: user nobody (uid $NOBODY, gid $NOGROUP), capabilities net_admin, seccomp on" \
	"$(nsx "$A" "$FERRY" show "$IA")"
like "ferry show B too" "sandbox: user root (uid 0, gid 0), capabilities net_admin,net_bind_service, seccomp on" \
	"$(nsx "$B" "$FERRY" show "$IB")"
unlike "wg show (the plain get) carries nothing of it" "sandbox" "$(nsx "$A" wg show "$IA" dump)"
check "ping A -> B" ping_ok "$A" 10.86.0.2

# wg set of every kind on the sandboxed A.
check "wg set A private-key" wg_set "$A" "$IA" private-key "$KA2"
like "wg show A: the new public key" "$PA2" "$(nsx "$A" wg show "$IA" public-key)"
check "B learns A's new key" wg_set "$B" "$IB" peer "$PA" remove peer "$PA2" allowed-ips 10.86.0.1/32 \
	endpoint 192.0.2.1:51861
# The new handshake waits out REKEY_TIMEOUT since the last initiation (as
# in the kernel, and as it does without the sandbox): allow for that.
check "ping A -> B with the new key (a new handshake)" wait_for 15 ping_ok "$A" 10.86.0.2
check "wg set A: add a peer" wg_set "$A" "$IA" peer "$PX" allowed-ips 10.86.9.9/32 endpoint 192.0.2.9:9
like "wg show A peers lists it" "$PX" "$(nsx "$A" wg show "$IA" peers)"
check "wg set A: remove it" wg_set "$A" "$IA" peer "$PX" remove
unlike "wg show A peers no longer lists it" "$PX" "$(nsx "$A" wg show "$IA" peers)"
check "wg set A listen-port 51871 (a new socket, bound as nobody)" wg_set "$A" "$IA" listen-port 51871
like "wg show A listen-port" "51871" "$(nsx "$A" wg show "$IA" listen-port)"
check "B: A's endpoint moves" wg_set "$B" "$IB" peer "$PA2" endpoint 192.0.2.1:51871
check "wg set A fwmark 0x86" wg_set "$A" "$IA" fwmark 0x86
like "wg show A fwmark" "0x86" "$(nsx "$A" wg show "$IA" fwmark)"
check "ping A -> B after all that" ping_ok "$A" 10.86.0.2
check "ping B -> A" ping_ok "$B" 10.86.0.1
check "A's packets carry the mark (SO_MARK needs the CAP_NET_ADMIN kept)" test "$(marked)" -gt 0
# Without CAP_NET_BIND_SERVICE, a port below 1024 cannot be bound; the
# daemon says so and goes on.
refuse "wg set A listen-port 86: refused, the capability is gone" "Permission denied" \
	wg_set "$A" "$IA" listen-port 86
check "A still works, still sandboxed" eval "ping_ok $A 10.86.0.2 && sandboxed $DA $NOBODY \
	0000000000001000 0000000000001000 $NOGROUP"

# A stops as nobody: it cannot remove its socket from root's directory; a
# new A takes the stale one over, and ferry down removes it.
check "A stops on TERM, exit status 0" stop "$DA"
# (Not a test: any `wg show` on the machine removes a socket nobody answers on.)
test -S "$WG_RUN/$IA.sock" && note "A's socket was left behind (root's directory)"
check "A comes back (over its stale socket, if still there)" ferry_up DA "$A" "$CA" "$IA"
check "ferry down A: the daemon exits, the socket is gone" eval "nsx $A $FERRY down $CA && \
	timeout 5 tail --pid=$DA -f /dev/null && ! test -e $WG_RUN/$IA.sock"
wait "$DA"
t_forget "$DA"

# The opt-outs.
stop "$DB"
check "ferry up --no-sandbox B" up_with DB "$B" "$CB" "$IB" --no-sandbox
like "no seccomp, no no_new_privs, every capability" "0 0 $(status $$ CapEff)" \
	"$(status "$DB" Seccomp) $(status "$DB" NoNewPrivs) $(status "$DB" CapEff)"
like "ferry show: sandbox off" "sandbox: off (--no-sandbox)" "$(nsx "$B" "$FERRY" show "$IB")"
FERRY_NO_SANDBOX=1 wg_start DC "$B" "$FERRY --user nobody" "$IC" >"$T_TMP/c.log"
like "ferry IFNAME with FERRY_NO_SANDBOX=1: off, --user not applied" "0 0 0 0 0" \
	"$(status "$DC" Seccomp) $(status "$DC" Uid)"
wg_stop "$IC"
wg_start DC "$B" "$FERRY --user nobody" "$IC" >"$T_TMP/c.log"
check "ferry --user nobody IFNAME: nobody, sandboxed" \
	sandboxed "$DC" "$NOBODY" 0000000000001000 0000000000001000 "$NOGROUP"
wg_stop "$IC"

# An unknown user is an error at start-up, before anything is made.
sed 's/^User = nobody$/User = no-such-user-86/' "$CA" >"$T_TMP/bad.conf"
chmod 600 "$T_TMP/bad.conf"
refuse "User = an unknown name: FILE:LINE, non-zero exit" \
	"bad.conf:5: User: 'no-such-user-86' is not a known user" nsx "$A" timeout 10 "$FERRY" up -f "$T_TMP/bad.conf"
rm -f "$WG_RUN/$IC.sock" # left by the daemon that ran as nobody
refuse "ferry --user an unknown name: non-zero exit" "--user 'no-such-user-86' is not a known user" \
	nsx "$B" timeout 10 "$FERRY" -f --user no-such-user-86 "$IC"
check "... and no device or socket was made" eval "! ip -n $B link show $IC 2>/dev/null && ! test -e $WG_RUN/$IC.sock"
