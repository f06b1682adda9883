#!/usr/bin/env bash
# Endpoint names resolved again over DNS, by the sandboxed resolver process.
# A's peer B is `Endpoint = peer-b.ferry.test:51882`; A's namespace has its
# own resolv.conf (/etc/netns/NAMESPACE/resolv.conf, made and removed by
# this test) naming a DNS server on A's loopback: tests/tools/dnsd, which
# answers from a zone file this test rewrites. B moves twice; each time the
# zone follows, and A finds B again without a restart: the first time over
# DNS on UDP, the second with every UDP answer truncated, so that the
# resolver asks again over TCP. The resolver process is checked to be what
# docs/DESIGN.md says: a child of the daemon, with no capability, no new
# privileges and its own seccomp filter, holding no key.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 18

NAME=peer-b.ferry.test
wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA da
wg_ifname IB db
wg_keys KA PA a
wg_keys KB PB b
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")
ETC_DIR=/etc/netns/$A
cleanup() {
	wg_cleanup
	rm -rf "$ETC_DIR"
	rmdir /etc/netns 2>/dev/null # only if no one else has a file there
}
trap cleanup EXIT

mkdir -p "$ETC_DIR"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:2\n' >"$ETC_DIR/resolv.conf"
# No entry for the name in A's hosts file: only DNS knows it.
printf '127.0.0.1 localhost\n' >"$ETC_DIR/hosts"
set_zone() { printf '%s A %s\n' "$NAME" "$1" >"$T_TMP/zone.new" && mv "$T_TMP/zone.new" "$T_TMP/zone"; }
set_zone 192.0.2.2
start_dnsd() { # extra dnsd options
	bg DNSD ip netns exec "$A" "$TOOLS/dnsd" 127.0.0.1 "$T_TMP/zone" --seconds 200 "$@" >"$T_TMP/dnsd.out" 2>&1
	wait_for 5 grep -q listening "$T_TMP/dnsd.out"
}
dnsd_said() { tail -n 1 "$T_TMP/dnsd.out"; }

cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51881
Address = 10.88.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.88.0.2/32
Endpoint = $NAME:51882
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51882
Address = 10.88.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.88.0.1/32
CONF
chmod 600 "$T_TMP"/*.conf

reach_of() { nsx "$A" "$FERRY" show "$IA" | awk '$1 == "peer:" { $1 = $2 = ""; print }'; }
endpoint_of() { nsx "$A" wg show "$IA" endpoints | awk '{ print $2 }'; }
status_of() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
# B's daemon stops, its address changes, it starts again there.
move_b() { # OLD NEW
	kill "$DB"
	wait "$DB" 2>/dev/null
	t_forget "$DB"
	rm -f "$WG_RUN/$IB.sock"
	wait_for 5 eval "! ip -n $B link show $IB"
	ip -n "$B" addr del "$1/24" dev eth0
	ip -n "$B" addr add "$2/24" dev eth0
	ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB" 2>>"$T_TMP/B.log"
}

check "dnsd answers on A's loopback" start_dnsd
check "the name resolves to 192.0.2.2 inside A, over DNS" \
	eval "nsx $A getent ahostsv4 $NAME | grep -q '^192.0.2.2 '"
check "ferry up A (peer B: Endpoint = $NAME:51882)" eval 'ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA" 2>>"$T_TMP/A.log"'
check "ferry up B" eval 'ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB" 2>>"$T_TMP/B.log"'
check "A reaches B at 192.0.2.2" ping_ok "$A" 10.88.0.2

# The resolver process: the daemon's only child.
HELPER=$(cat "/proc/$DA/task/$DA/children" 2>/dev/null | awk '{ print $1 }')
check "the daemon has a resolver process" test -n "$HELPER"
like "it is ferry --resolver-helper" "--resolver-helper" "$(tr '\0' ' ' <"/proc/${HELPER:-0}/cmdline" 2>/dev/null)"
like "no capabilities, no new privileges, its seccomp filter" "0000000000000000 1 2" \
	"$(status_of "${HELPER:-0}" CapEff) $(status_of "${HELPER:-0}" NoNewPrivs) $(status_of "${HELPER:-0}" Seccomp)"
# Its memory is a fresh program's, not a copy of the daemon's: the daemon
# holds A's private key (the control), the resolver neither its bytes nor
# its base64 text.
KEY_RAW=$(base64 -d <"$KA" | od -An -tx1 | tr -d ' \n')
KEY_TXT=$(tr -d '\n' <"$KA" | od -An -tx1 | tr -d ' \n')
check "the daemon's memory holds A's private key (memgrep works)" "$TOOLS/memgrep" "$DA" "$KEY_RAW"
check "the resolver's memory holds no trace of it" eval "! $TOOLS/memgrep ${HELPER:-0} $KEY_RAW $KEY_TXT"
check "it holds descriptors 0-4 only" \
	eval "[ \"\$(ls /proc/${HELPER:-0}/fd | sort -n | tr '\n' ' ')\" = '0 1 2 3 4 ' ]"

move_b 192.0.2.2 192.0.2.12
set_zone 192.0.2.12
TMOVE=$(wg_ms)
check "after B moves and DNS says so, traffic resumes within a minute (DNS over UDP)" \
	wait_for 60 ping_ok "$A" 10.88.0.2
note "traffic back $(($(wg_ms) - TMOVE)) ms after the move; $(dnsd_said)"
like "A's endpoint for B is 192.0.2.12:51882" "192.0.2.12:51882" "$(endpoint_of)"

# Again, with DNS over TCP.
kill "$DNSD"
wait "$DNSD" 2>/dev/null
t_forget "$DNSD"
check "dnsd again, truncating every UDP answer" start_dnsd --truncate
move_b 192.0.2.12 192.0.2.22
set_zone 192.0.2.22
TMOVE=$(wg_ms)
check "after the second move, traffic resumes within a minute (DNS over TCP)" \
	wait_for 60 ping_ok "$A" 10.88.0.2
note "traffic back $(($(wg_ms) - TMOVE)) ms after the move; $(dnsd_said)"
like "the resolver asked over TCP" "over TCP" "$(dnsd_said | grep -v ' 0 over TCP')"
like "ferry show counts two moves" "moved 2)" "$(reach_of)"
check "the same daemon and resolver throughout, nothing refused by either filter" \
	eval "kill -0 $DA && kill -0 $HELPER && ! grep -q 'resolver process is gone' $T_TMP/A.log"
grep -h "peer\|resolv" "$T_TMP/A.log" | sed 's/^/# /'
