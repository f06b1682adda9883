#!/usr/bin/env bash
# The TCP transport: nftables drops every UDP datagram on both hosts, and the
# tunnel still works over TCP (Transport = tcp on B's peer A, ListenTCP on A):
# handshake, ping, 50 MiB with matching sha256, a reconnect after B's daemon
# restarts; and garbage on the TCP port (a length of 0 or 65535, junk
# messages, a stream cut mid-message) resets that connection, is counted,
# and disturbs nothing else.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 16

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ta
wg_ifname IB tb
wg_keys KA PA a
wg_keys KB PB b
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")
trap wg_cleanup EXIT

cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51501
ListenTCP = 51511
Address = 10.80.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.80.0.2/32
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51502
Address = 10.80.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.80.0.1/32
Endpoint = 192.0.2.1:51511
Transport = tcp
CONF
chmod 600 "$T_TMP"/*.conf

for ns in "$A" "$B"; do
	nsx "$ns" nft -f - <<'NFT'
table inet ferrytest {
	chain in { type filter hook input priority 0; meta l4proto udp counter drop; }
	chain out { type filter hook output priority 0; meta l4proto udp counter drop; }
}
NFT
done

udp_passes() {
	local pid got=$T_TMP/udp.got
	: >"$got"
	bg pid ip netns exec "$B" timeout 2 nc -u -l -n 192.0.2.2 51599 >"$got" 2>/dev/null
	sleep 0.3
	echo probe | nsx "$A" timeout 1 nc -u -n -w 1 192.0.2.2 51599 2>/dev/null
	wait "$pid"
	t_forget "$pid"
	[ -s "$got" ]
}

check "UDP is blocked between A and B (nftables)" eval "! udp_passes"
check "ferry up A (ListenTCP = 51511)" ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA"
check "ferry up B (peer A: Transport = tcp)" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
check "B reaches A through the tunnel over TCP" ping_ok "$B" 10.80.0.1
check "handshake recorded on both sides" eval "wg_handshake $A $IA $PB 5 && wg_handshake $B $IB $PA 5"
check "A reaches B (replies go back on B's connection)" ping_ok "$A" 10.80.0.2
check "50 MiB B -> A over TCP, sha256 equal" wg_xfer "$B" "$A" 10.80.0.1 50
check "50 MiB A -> B over TCP, sha256 equal" wg_xfer "$A" "$B" 10.80.0.2 50

# B's daemon dies and comes back: it connects again and the tunnel works.
kill "$DB"
wait "$DB" 2>/dev/null
t_forget "$DB"
rm -f "$WG_RUN/$IB.sock"
wait_for 5 eval "! ip -n $B link show $IB"
check "B restarted" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
check "B reconnects and reaches A within 10 s" wait_for 10 ping_ok "$B" 10.80.0.1

# Garbage on A's TCP port, each on a connection of its own.
tcp_junk() { printf "$1" | nsx "$B" timeout 3 nc -N -n -w 2 192.0.2.1 51511 >/dev/null 2>&1; }
tcp_junk '\x00\x00'
check "a length prefix of 0 resets the connection and is counted" \
	wait_for 3 eval 'test -n "$(ferry_drops $A $IA tcp_bad_length)"'
tcp_junk '\xff\xffjunk'
check "a length prefix of 65535 is counted too" wait_for 3 eval 'test "$(ferry_drops $A $IA tcp_bad_length)" = 2'
tcp_junk '\x00\x0c\x09\x00\x00\x00junkjunk\x00\x04\x01\x00\x00\x00'
check "junk messages in good frames are dropped by type and length" \
	wait_for 3 eval "test -n \"\$(ferry_drops $A $IA unknown_type)\" && test -n \"\$(ferry_drops $A $IA bad_length)\""
tcp_junk '\x00\x94\x01\x00\x00\x00'
check "a stream that stops mid-message is counted" wait_for 3 eval 'test -n "$(ferry_drops $A $IA tcp_cut_mid_message)"'
check "the tunnel still works after all that" ping_ok "$B" 10.80.0.1
check "both daemons still run" eval "kill -0 $DA && kill -0 $DB"
