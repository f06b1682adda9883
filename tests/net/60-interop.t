#!/usr/bin/env bash
# (f) Interoperability with a standard WireGuard peer. Host A runs $WG_A (ferry
# by default), host B runs $WG_B (wireguard-go by default), both started as
# `IMPL -f IFNAME` and configured with wg(8) through the UAPI socket.
#   1. A initiates (B has no endpoint for A): pings over IPv4 and IPv6 both
#      ways, 50 MiB each way by TCP with sha256, wg show counters on A.
#   2. Both restarted, now B initiates (A has no endpoint for B).
#   3. wg set on A: a second peer, changed allowed-ips (cryptokey routing
#      follows them), B's peer removed (traffic stops) and added back; wg
#      syncconf with A's unchanged configuration leaves the session alone;
#      a refused change is reported by wg with its reason.
#   4. B's daemon killed (SIGKILL) and restarted: A's traffic resumes, A
#      re-handshaking by itself (after ~15 s without replies, as WireGuard does).
# Another pair: WG_A=/path/to/impl WG_B=/path/to/other bash tests/net/60-interop.t
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_A=${WG_A:-$FERRY}
WG_B=${WG_B:-wireguard-go}
plan 43
note "A runs: $WG_A"
note "B runs: $WG_B"

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ia
wg_ifname IB ib
wg_keys KA PA a
wg_keys KB PB b
wg_keys KX PX x
PORT_A=51001 PORT_B=51002
A4=10.99.0.1 B4=10.99.0.2 A6=fd00:99::1 B6=fd00:99::2
MIB=$((1 << 20))

up_a() { # [B's endpoint]
	wg_set "$A" "$IA" private-key "$KA" listen-port $PORT_A \
		peer "$PB" allowed-ips "$B4/32,$B6/128" ${1:+endpoint "$1"} &&
		wg_addr "$A" "$IA" "$A4/24" "$A6/64"
}
up_b() { # [A's endpoint]
	wg_set "$B" "$IB" private-key "$KB" listen-port $PORT_B \
		peer "$PA" allowed-ips "$A4/32,$A6/128" ${1:+endpoint "$1"} &&
		wg_addr "$B" "$IB" "$B4/24" "$B6/64"
}
show() { nsx "$1" wg show "$2" "${@:3}" 2>&1; }
both_handshakes() { wg_handshake "$A" "$IA" "$PB" 5 && wg_handshake "$B" "$IB" "$PA" 5; }

# A's dump line for B: handshake within 2 minutes, >= 50 MiB each way.
a_counters() {
	local now line pub psk ep ips hs rx tx ka
	now=$(date +%s)
	line=$(nsx "$A" wg show "$IA" dump | awk -v k="$PB" '$1 == k')
	echo "A's dump line for B: $line"
	read -r pub psk ep ips hs rx tx ka <<<"$line"
	[ -n "$line" ] && [ "$hs" -gt 0 ] && [ $((now - hs)) -lt 120 ] &&
		[ "$rx" -ge $((50 * MIB)) ] && [ "$tx" -ge $((50 * MIB)) ]
}
# peers_are NS IF PUB...: the peer list is exactly these keys
peers_are() {
	local ns=$1 ifn=$2 got want
	shift 2
	got=$(nsx "$ns" wg show "$ifn" peers | sort)
	want=$(printf '%s\n' "$@" | sort)
	echo "peers: $got"
	[ "$got" = "$want" ]
}
# allowed_are NS IF PUB PREFIX...: PUB's allowed-ips are exactly these
allowed_are() {
	local ns=$1 ifn=$2 pub=$3 got want
	shift 3
	got=$(nsx "$ns" wg show "$ifn" allowed-ips | awk -v k="$pub" '$1 == k { for (i = 2; i <= NF; i++) print $i }' | sort)
	want=$(printf '%s\n' "$@" | sort)
	echo "allowed-ips of $pub:" $got
	[ "$got" = "$want" ]
}
gone() { # IFNAME NS: socket and device removed
	local ok=0
	[ -e "$WG_RUN/$1.sock" ] && { echo "$WG_RUN/$1.sock still there"; ok=1; }
	ip -n "$2" link show "$1" >/dev/null 2>&1 && { echo "device $1 still there"; ok=1; }
	return $ok
}
stop_both() {
	local r=0
	wg_stop "$IA" || r=1
	wg_stop "$IB" || r=1
	gone "$IA" "$A" || r=1
	gone "$IB" "$B" || r=1
	return $r
}
start_both() {
	local r=0
	wg_start PIDA "$A" "$WG_A" "$IA" || r=1
	wg_start PIDB "$B" "$WG_B" "$IB" || r=1
	return $r
}
kill_b() {
	wg_stop "$IB" KILL || return 1
	if [ -e "$WG_RUN/$IB.sock" ]; then note "B's killed daemon left its socket behind"; fi
	! ip -n "$B" link show "$IB" >/dev/null 2>&1 || { echo "device $IB still there"; return 1; }
}
# same_session T: B -> A answered at once, and A's handshake with B still the one of epoch T
same_session() {
	local t
	nsx "$B" ping -c 1 -W 2 -q "$A4" || { echo "no reply within 2 s: A dropped the session"; return 1; }
	t=$(wg_hs_time "$A" "$IA" "$PB")
	[ "$t" = "$1" ] || { echo "A's latest handshake with B moved from $1 to $t"; return 1; }
}
resume() {
	local t0
	t0=$(date +%s)
	if wait_for 40 nsx "$A" ping -c 1 -W 1 -q "$B4"; then
		note "A -> B traffic resumed $(($(date +%s) - t0)) s after the first try"
		return 0
	fi
	echo "no reply from B within 40 s"
	show "$A" "$IA"
	return 1
}

# --- 1. A initiates
check "A: $WG_A -f $IA: socket and device appear" wg_start PIDA "$A" "$WG_A" "$IA"
check "B: $WG_B -f $IB: socket and device appear" wg_start PIDB "$B" "$WG_B" "$IB"
wt check "A configured by wg set: key, port, peer B with endpoint" up_a 192.0.2.2:$PORT_B
wt check "B configured by wg set: peer A without an endpoint" up_b
wt like "wg show A public-key is the one of A's private key" "$PA" "$(show "$A" "$IA" public-key)"
wt like "wg show A: listening port $PORT_A" "listening port: $PORT_A" "$(show "$A" "$IA")"
wt like "B has no endpoint for A before A's first packet" "(none)" "$(show "$B" "$IB" endpoints)"
wt check "ping A -> B (IPv4): A initiates the handshake" ping_ok "$A" $B4
wt check "the handshake is recorded on both sides" both_handshakes
wt like "B learned A's endpoint from the handshake" "192.0.2.1:$PORT_A" "$(show "$B" "$IB" endpoints)"
wt check "ping B -> A (IPv4)" ping_ok "$B" $A4
wt check "ping A -> B (IPv6)" ping_ok "$A" $B6
wt check "ping B -> A (IPv6)" ping_ok "$B" $A6
wt check "50 MiB A -> B over TCP, sha256 matches" wg_xfer "$A" "$B" $B4 50 5001
wt check "50 MiB B -> A over TCP, sha256 matches" wg_xfer "$B" "$A" $A4 50 5002
wt like "wg show A lists peer B" "peer: $PB" "$(show "$A" "$IA")"
wt check "wg show A dump: recent handshake with B, >= 50 MiB transferred each way" a_counters

# --- 2. Both restarted; B initiates
check "TERM: both daemons exit and remove their sockets and devices" stop_both
check "A and B started again" start_both
wt check "A configured without an endpoint for B, B with A's" eval 'up_a && up_b 192.0.2.1:$PORT_A'
wt check "ping B -> A (IPv4): B initiates the handshake" ping_ok "$B" $A4
wt like "A learned B's endpoint from the handshake" "192.0.2.2:$PORT_B" "$(show "$A" "$IA" endpoints)"
wt check "ping A -> B (IPv6)" ping_ok "$A" $B6
wt check "10 MiB A -> B, A being the responder this time, sha256 matches" wg_xfer "$A" "$B" $B4 10 5003

# --- 3. wg set on a running interface
wt check "wg set A: add a second peer" wg_set "$A" "$IA" peer "$PX" allowed-ips 10.99.0.99/32,fd00:99::99/128
wt check "wg show A peers: B and the new peer" peers_are "$A" "$IA" "$PB" "$PX"
wt check "wg set A: B's allowed-ips become $B6/128 and 10.99.1.0/24" \
	wg_set "$A" "$IA" peer "$PB" allowed-ips "$B6/128,10.99.1.0/24"
wt check "wg show A allowed-ips: exactly the new ones for B" allowed_are "$A" "$IA" "$PB" "$B6/128" 10.99.1.0/24
wt refuse "ping A -> B over IPv4 fails now ($B4 not in B's allowed-ips)" "100% packet loss" nsx "$A" ping -c 2 -i 0.3 -W 1 $B4
wt check "IPv6 to B still flows" ping_ok "$A" $B6
wt check "wg set A: B's allowed-ips restored" eval \
	'wg_set "$A" "$IA" peer "$PB" allowed-ips "$B4/32,$B6/128" && allowed_are "$A" "$IA" "$PB" "$B4/32" "$B6/128"'
wt check "wg set A: remove peer B; only the second peer is left" eval \
	'wg_set "$A" "$IA" peer "$PB" remove && peers_are "$A" "$IA" "$PX"'
wt refuse "ping A -> B fails without the peer" "100% packet loss" nsx "$A" ping -c 2 -i 0.3 -W 1 $B4
wt check "wg set A: add B back with endpoint and allowed-ips" \
	wg_set "$A" "$IA" peer "$PB" allowed-ips "$B4/32,$B6/128" endpoint 192.0.2.2:$PORT_B
wt check "ping A -> B works again" ping_ok "$A" $B4
T0=$(wg_hs_time "$A" "$IA" "$PB")
wt check "wg syncconf A with its own unchanged configuration (wg showconf)" eval \
	'nsx "$A" wg showconf "$IA" >"$T_TMP/a.conf" && nsx "$A" wg syncconf "$IA" "$T_TMP/a.conf"'
wt check "after it, B -> A flows at once in the same session" same_session "$T0"
bg NCPID ip netns exec "$A" timeout 30 nc -u -l 51999 </dev/null 3>&-
wait_for 5 eval '[ -n "$(ip netns exec "$A" ss -Hlun "sport = :51999")" ]'
wt refuse "wg set A: a listen port in use is refused, and wg says why" "Address already in use" \
	wg_set "$A" "$IA" listen-port 51999
kill "$NCPID" 2>/dev/null
wait "$NCPID" 2>/dev/null
t_forget "$NCPID"

# --- 4. B crashes and comes back; A re-handshakes
T0=$(wg_hs_time "$A" "$IA" "$PB")
wt check "B's daemon killed with SIGKILL; its device is gone" kill_b
check "B started again (over a stale socket, if left) and configured, no endpoint for A" \
	eval 'wg_start PIDB "$B" "$WG_B" "$IB" && up_b'
wt check "A -> B traffic resumes within 40 s" resume
wt check "A's latest handshake with B is newer than before the crash" wg_handshake_after "$A" "$IA" "$PB" "$T0" 1
wt check "ping B -> A (IPv6) in the new session" ping_ok "$B" $A6
