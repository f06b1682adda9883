#!/usr/bin/env bash
# Endpoints by host name, resolved again (issue 12, item 6). A's peer B is
# `Endpoint = peer-b.ferry.test:51872`, a name in A's own hosts file
# (/etc/netns/NAMESPACE/hosts, which `ip netns exec` mounts on /etc/hosts;
# created and removed by this test). B moves to a new address (its daemon
# restarted there, so it cannot tell A by itself): while the name still
# gives the old address, A resolves it again and nothing changes; once the
# hosts entry is changed, A finds B at the new address and traffic resumes
# within a minute, without restarting A. The times are TAP comments.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 13

NAME=peer-b.ferry.test
wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ra
wg_ifname IB rb
wg_keys KA PA a
wg_keys KB PB b
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")
HOSTS_DIR=/etc/netns/$A
cleanup() {
	wg_cleanup
	rm -rf "$HOSTS_DIR"
	rmdir /etc/netns 2>/dev/null # only if no one else has a file there
}
trap cleanup EXIT

mkdir -p "$HOSTS_DIR"
# Written in place (the same inode) each time: the mount follows the file.
set_hosts() { printf '127.0.0.1 localhost\n%s %s\n' "$1" "$NAME" >"$HOSTS_DIR/hosts"; }
set_hosts 192.0.2.2

cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51871
Address = 10.87.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.87.0.2/32
Endpoint = $NAME:51872
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51872
Address = 10.87.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.87.0.1/32
CONF
chmod 600 "$T_TMP"/*.conf

reach_of() { nsx "$A" "$FERRY" show "$IA" | awk '$1 == "peer:" { $1 = $2 = ""; print }'; }
endpoint_of() { nsx "$1" wg show "$2" endpoints | awk '{ print $2 }'; }
# ms from $1 to the first ping reply after it (empty: none yet)
reply_after() {
	awk -v t0="$1" -F'[][]' '/bytes from/ && $2 * 1000 > t0 { printf "%d\n", $2 * 1000 - t0; exit }' "$T_TMP/ping"
}

check "the name resolves to 192.0.2.2 inside A (its own hosts file)" \
	eval "nsx $A getent hosts $NAME | grep -q '^192.0.2.2 '"
check "the name does not resolve outside A" eval "! getent hosts $NAME"
check "ferry up A (peer B: Endpoint = $NAME:51872)" eval 'ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA" 2>>"$T_TMP/A.log"'
check "ferry up B" eval 'ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB" 2>>"$T_TMP/B.log"'
check "A reaches B at 192.0.2.2" ping_ok "$A" 10.87.0.2
like "ferry show names the endpoint" "endpoint name $NAME:51872 (resolved again 0 times, moved 0)" "$(reach_of)"

# B moves: its daemon stops, its address changes, it starts again there. It
# has no endpoint for A, so only A can find it.
kill "$DB"
wait "$DB" 2>/dev/null
t_forget "$DB"
rm -f "$WG_RUN/$IB.sock"
wait_for 5 eval "! ip -n $B link show $IB"
ip -n "$B" addr del 192.0.2.2/24 dev eth0
ip -n "$B" addr add 192.0.2.12/24 dev eth0
check "B restarted at 192.0.2.12" eval 'ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB" 2>>"$T_TMP/B.log"'
TMOVE=$(wg_ms)
# Pings from A all along, every 0.5 s, each reply stamped (-D).
bg PINGER ip netns exec "$A" ping -D -n -i 0.5 -w 150 10.87.0.2 >"$T_TMP/ping" 2>&1 3>&-

check "A resolves the name again while handshakes go unanswered (within 50 s)" \
	wait_for 50 eval '[[ "$(reach_of)" == *"resolved again 1 time,"* ]]'
note "first resolution again $(($(wg_ms) - TMOVE)) ms after B moved"
check "the same address: A still sends to 192.0.2.2, and B is not reached" \
	eval "[ \"\$(endpoint_of $A $IA)\" = 192.0.2.2:51872 ] && [ -z \"\$(reply_after $((TMOVE + 1000)))\" ]"

set_hosts 192.0.2.12
TNAME=$(wg_ms)
check "traffic resumes within a minute of the hosts entry changing" \
	wait_for 60 eval 'test -n "$(reply_after $TNAME)"'
note "traffic back $(reply_after "$TNAME") ms after the hosts entry changed, $(reply_after "$TMOVE") ms after B moved"
like "A's endpoint for B is 192.0.2.12:51872" "192.0.2.12:51872" "$(endpoint_of "$A" "$IA")"
like "ferry show counts the move" "moved 1)" "$(reach_of)"
check "A was not restarted, and both daemons run" eval "kill -0 $DA && kill -0 $DB"
grep -h "peer" "$T_TMP/A.log" | sed 's/^/# /'
