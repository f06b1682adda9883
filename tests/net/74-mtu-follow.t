#!/usr/bin/env bash
# The daemon follows the interface's MTU (issue 12): wg-quick and users set
# it with `ip link set mtu` after the daemon started. A path that carries
# no UDP datagram over 1360 bytes (nftables drops them on both hosts) fits a
# 1300-byte MTU exactly (1300 + 32 of message + 28 of UDP/IP); padding to
# 16 bytes must stop at the MTU, so a 1297-byte packet goes as 1300, not
# 1312. Before the change (MTU 1420) such a packet is padded past the path
# and lost: the check that shows the path is what it says.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_IMPL=${WG_IMPL:-$FERRY}
plan 8

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ma
wg_ifname IB mb
wg_keys KA PA a
wg_keys KB PB b

setup() {
	wg_start PA_PID "$A" "$WG_IMPL" "$IA" && wg_start PB_PID "$B" "$WG_IMPL" "$IB" &&
		wg_set "$A" "$IA" private-key "$KA" listen-port 51741 peer "$PB" allowed-ips 10.74.0.2/32 endpoint 192.0.2.2:51742 &&
		wg_set "$B" "$IB" private-key "$KB" listen-port 51742 peer "$PA" allowed-ips 10.74.0.1/32 endpoint 192.0.2.1:51741 &&
		wg_addr "$A" "$IA" 10.74.0.1/24 && wg_addr "$B" "$IB" 10.74.0.2/24 &&
		ping_ok "$A" 10.74.0.2
}
narrow_path() {
	local ns
	for ns in "$A" "$B"; do
		nsx "$ns" nft -f - <<'NFT' || return 1
table inet ferrymtu {
	chain out { type filter hook output priority 0; meta l4proto udp ip length > 1360 counter drop; }
}
NFT
	done
}
# ping_size NS DEST BYTES: one DF ping whose IP packet is BYTES long.
ping_size() { nsx "$1" ping -c 2 -W 1 -w 4 -q -M do -s $(($3 - 28)) "$2"; }
mtu_of() { ip -n "$1" -o link show "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }'; }

check "A and B up, MTU 1420, ping" setup
check "the path drops UDP datagrams over 1360 bytes (nftables on both hosts)" narrow_path
wt check "at MTU 1420 a 1297-byte packet is padded to 1312 and lost on this path" eval "! ping_size $A 10.74.0.2 1297"
ip -n "$A" link set "$IA" mtu 1300
ip -n "$B" link set "$IB" mtu 1300
wt check "MTU 1300 set on both interfaces while the daemons run" eval '[ "$(mtu_of $A $IA)" = 1300 ] && [ "$(mtu_of $B $IB)" = 1300 ]'
wt check "a 1297-byte packet now passes (padded only to the MTU)" wait_for 5 ping_size "$A" 10.74.0.2 1297
wt check "a 1300-byte packet passes, both ways" eval "ping_size $A 10.74.0.2 1300 && ping_size $B 10.74.0.1 1300"
wt check "a 1301-byte DF packet does not fit the interface" eval "! ping_size $A 10.74.0.2 1301"
ip -n "$A" link set "$IA" mtu 1420
ip -n "$B" link set "$IB" mtu 1420
wt check "back at MTU 1420, a 1297-byte packet is padded to 1312 again and lost" wait_for 5 eval "! ping_size $A 10.74.0.2 1297"
