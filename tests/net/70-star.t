#!/usr/bin/env bash
# (g) A hub and two spokes. The hub ($WG_HUB) has both spokes as peers, each
# with its own inner addresses as allowed-ips, and forwards between them; each
# spoke ($WG_SPOKE) has only the hub as a peer, with the whole inner network
# as allowed-ips, no fixed listening port, and a persistent keepalive so the
# hub knows its endpoint at once.
# Spoke 1 reaches the hub over IPv4, spoke 2 over IPv6 (an [IPv6]:port
# endpoint and a dual-stack listening socket on the hub).
# Another pair: WG_HUB=/path/to/impl WG_SPOKE=/path/to/other bash tests/net/70-star.t
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_IMPL=${WG_IMPL:-$FERRY}
WG_HUB=${WG_HUB:-$WG_IMPL}
WG_SPOKE=${WG_SPOKE:-$WG_IMPL}
plan 16
note "hub runs: $WG_HUB"
note "spokes run: $WG_SPOKE"

wg_host H hub 198.51.100.1 2001:db8:51::1
wg_host S1 s1 198.51.100.2
wg_host S2 s2 198.51.100.3 2001:db8:51::3
wg_ifname IH sh
wg_ifname I1 sa
wg_ifname I2 sb
wg_keys KH PH hub
wg_keys K1 P1 s1
wg_keys K2 P2 s2
PORT=51100
H4=10.99.0.1 S1_4=10.99.0.2 S2_4=10.99.0.3
H6=fd00:99::1 S1_6=fd00:99::2 S2_6=fd00:99::3

# The hub routes between its peers, back out of the interface it came in on:
# forwarding on, and no ICMP redirects (they would point a spoke at the other).
nsx "$H" sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
	net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.default.send_redirects=0

up_hub() {
	wg_set "$H" "$IH" private-key "$KH" listen-port $PORT \
		peer "$P1" allowed-ips "$S1_4/32,$S1_6/128" \
		peer "$P2" allowed-ips "$S2_4/32,$S2_6/128" &&
		wg_addr "$H" "$IH" "$H4/24" "$H6/64"
}
up_spoke() { # NS IF KEY ADDR4 ADDR6 HUB-ENDPOINT
	wg_addr "$1" "$2" "$4/24" "$5/64" &&
		wg_set "$1" "$2" private-key "$3" \
			peer "$PH" allowed-ips 10.99.0.0/24,fd00:99::/64 endpoint "$6" persistent-keepalive 25
}
up_all() {
	up_hub &&
		up_spoke "$S1" "$I1" "$K1" $S1_4 $S1_6 198.51.100.1:$PORT &&
		up_spoke "$S2" "$I2" "$K2" $S2_4 $S2_6 "[2001:db8:51::1]:$PORT"
}
hub_knows_both() { wg_handshake "$H" "$IH" "$P1" 5 && wg_handshake "$H" "$IH" "$P2" 5; }
# hub_allowed: exactly each spoke's own addresses
hub_allowed() {
	local got want
	got=$(nsx "$H" wg show "$IH" allowed-ips | awk '{ for (i = 2; i <= NF; i++) print $1, $i }' | sort)
	want=$(printf '%s\n' "$P1 $S1_4/32" "$P1 $S1_6/128" "$P2 $S2_4/32" "$P2 $S2_6/128" | sort)
	echo "hub's allowed-ips:"
	echo "$got"
	[ "$got" = "$want" ]
}
# The hub carried the transfers: >= 10 MiB received from and sent to each spoke.
hub_counters() {
	local r=0 pub psk ep ips hs rx tx ka
	while read -r pub psk ep ips hs rx tx ka; do
		echo "hub's peer $pub: rx $rx tx $tx"
		[ "$rx" -ge $((10 << 20)) ] && [ "$tx" -ge $((10 << 20)) ] || r=1
	done < <(nsx "$H" wg show "$IH" dump | tail -n +2)
	[ "$(nsx "$H" wg show "$IH" dump | tail -n +2 | wc -l)" = 2 ] || r=1
	return $r
}

check "hub: $WG_HUB -f $IH: socket and device appear" wg_start PID_H "$H" "$WG_HUB" "$IH"
check "spoke 1: $WG_SPOKE -f $I1: socket and device appear" wg_start PID_1 "$S1" "$WG_SPOKE" "$I1"
check "spoke 2: $WG_SPOKE -f $I2: socket and device appear" wg_start PID_2 "$S2" "$WG_SPOKE" "$I2"
wt check "hub and spokes configured by wg set" up_all
wt check "hub's allowed-ips: each spoke's own addresses" hub_allowed
wt check "persistent keepalive: the hub has handshakes with both spokes within 5 s, no traffic needed" hub_knows_both
# The spokes have no listen-port: the hub must learn the ones they picked.
port_of() { nsx "$1" wg show "$2" listen-port 2>&1; }
wt like "hub learned spoke 1's IPv4 endpoint (its own choice of port)" \
	"198.51.100.2:$(port_of "$S1" "$I1")" "$(nsx "$H" wg show "$IH" endpoints 2>&1)"
wt like "hub learned spoke 2's IPv6 endpoint (its own choice of port)" \
	"[2001:db8:51::3]:$(port_of "$S2" "$I2")" "$(nsx "$H" wg show "$IH" endpoints 2>&1)"
wt check "ping spoke 1 -> hub" ping_ok "$S1" $H4
wt check "ping spoke 1 -> spoke 2 (IPv4), through the hub" ping_ok "$S1" $S2_4
wt check "ping spoke 2 -> spoke 1 (IPv4), through the hub" ping_ok "$S2" $S1_4
wt check "ping spoke 1 -> spoke 2 (IPv6), through the hub" ping_ok "$S1" $S2_6
wt check "spoke 1's only peer is the hub" test "$(nsx "$S1" wg show "$I1" peers 2>&1)" = "$PH"
wt check "10 MiB spoke 1 -> spoke 2 over TCP, sha256 matches" wg_xfer "$S1" "$S2" $S2_4 10 5001
wt check "10 MiB spoke 2 -> spoke 1 over TCP (IPv6 inside), sha256 matches" wg_xfer "$S2" "$S1" $S1_6 10 5002
wt check "wg show on the hub: >= 10 MiB received from and sent to each spoke" hub_counters
