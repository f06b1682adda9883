#!/usr/bin/env bash
# Path MTU discovery (issue 12): the underlay path from A to B crosses a
# router R whose link to B takes 1280 bytes, less than a 1420-byte tunnel
# needs. ferry learns the path MTU to the peer from the ICMP errors (its
# own datagrams go with DF), and from then on: a DF packet from a local
# sender that no longer fits is answered with ICMP "fragmentation needed"
# carrying the usable MTU (1280 - 20 - 8 - 32 = 1220), not lost in silence;
# TCP through the tunnel completes a 20 MiB transfer intact both ways; a
# new TCP connection's SYN has its MSS clamped to fit.
#
#   A eth0 192.0.2.1 --- 192.0.2.254 R 198.51.100.254 ==1280== 198.51.100.2 eth0 B
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_IMPL=${WG_IMPL:-$FERRY}
plan 9

ns_new A a
ns_new R r
ns_new B b
wg_ifname IA pa
wg_ifname IB pb
wg_keys KA PA a
wg_keys KB PB b

path() {
	ip -n "$A" link add eth0 type veth peer name ra netns "$R" &&
		ip -n "$B" link add eth0 type veth peer name rb netns "$R" &&
		ip -n "$A" addr add 192.0.2.1/24 dev eth0 && ip -n "$A" link set eth0 up &&
		ip -n "$R" addr add 192.0.2.254/24 dev ra && ip -n "$R" link set ra up &&
		ip -n "$R" link set rb mtu 1280 && ip -n "$B" link set eth0 mtu 1280 &&
		ip -n "$R" addr add 198.51.100.254/24 dev rb && ip -n "$R" link set rb up &&
		ip -n "$B" addr add 198.51.100.2/24 dev eth0 && ip -n "$B" link set eth0 up &&
		nsx "$R" sysctl -qw net.ipv4.ip_forward=1 &&
		ip -n "$A" route add 198.51.100.0/24 via 192.0.2.254 &&
		ip -n "$B" route add 192.0.2.0/24 via 198.51.100.254 &&
		ping_ok "$A" 198.51.100.2
}
tunnel() {
	wg_start PIDA "$A" "$WG_IMPL" "$IA" && wg_start PIDB "$B" "$WG_IMPL" "$IB" &&
		wg_set "$A" "$IA" private-key "$KA" listen-port 51791 peer "$PB" allowed-ips 10.79.0.2/32 endpoint 198.51.100.2:51792 &&
		wg_set "$B" "$IB" private-key "$KB" listen-port 51792 peer "$PA" allowed-ips 10.79.0.1/32 endpoint 192.0.2.1:51791 &&
		wg_addr "$A" "$IA" 10.79.0.1/24 && wg_addr "$B" "$IB" 10.79.0.2/24 &&
		ping_ok "$A" 10.79.0.2
}
# A DF ping of 1372 bytes: some try gets "Frag needed ... mtu = 1220" back
# (the first may only teach ferry the path: its datagram dies at R).
too_big_answer() {
	local out
	out=$(nsx "$A" ping -M do -s 1344 -c 6 -i 0.3 -W 1 10.79.0.2 2>&1)
	echo "$out"
	grep -q "mtu = 1220" <<<"$out"
}
mss_of_syn() { # the MSS option of the first SYN B sees on its tunnel, with a fresh connection from A
	local out pid
	bg pid ip netns exec "$B" timeout 5 tcpdump -n -c 1 -v -i "$IB" 'tcp[tcpflags] & tcp-syn != 0' >"$T_TMP/syn.txt" 2>/dev/null
	sleep 1
	nsx "$A" timeout 2 nc -n -w 1 10.79.0.2 51799 </dev/null >/dev/null 2>&1
	wait "$pid" 2>/dev/null
	t_forget "$pid"
	sed -n 's/.*mss \([0-9]*\).*/\1/p' "$T_TMP/syn.txt" | head -n 1
}

check "an underlay path A - R - B whose last link takes 1280 bytes" path
check "a tunnel A - B over it (MTU 1420), small packets pass" tunnel
wt check "a 1372-byte DF ping through the tunnel gets ICMP 'fragmentation needed, mtu 1220'" too_big_answer
wt check "ferry on A drops it as too_big, counted" eval "[ -n \"\$(ferry_drops $A $IA too_big)\" ]"
wt check "20 MiB A -> B through the tunnel, sha256 equal" wg_xfer "$A" "$B" 10.79.0.2 20
wt check "20 MiB B -> A through the tunnel, sha256 equal" wg_xfer "$B" "$A" 10.79.0.1 20
if command -v tcpdump >/dev/null; then
	wt like "a new connection's SYN reaches B with its MSS clamped to 1180" "1180" "$(mss_of_syn)"
else
	skip "a new connection's SYN reaches B with its MSS clamped" "no tcpdump"
fi
wt check "pings of every size up to the tunnel's 1420 arrive (A -> B, without DF)" eval '
	for s in 1000 1200 1221 1300 1392; do ping_ok "$A" -s $s 10.79.0.2 >/dev/null || { echo "size $s"; exit 1; }; done'
wt check "A and B still run" eval "kill -0 ${PIDA:-0} && kill -0 ${PIDB:-0}"
