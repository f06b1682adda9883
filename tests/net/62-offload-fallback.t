#!/usr/bin/env bash
# The data path with and without offloads, chosen at run time. Host A runs
# ferry with every offload (TUN vnet_hdr with TSO and coalescing, UDP GSO
# and GRO); host B runs ferry with FERRY_NO_OFFLOAD=all (plain reads and
# writes, one datagram per send). `ferry show` must name the active path,
# and TCP must cross intact both ways; then the same with only UDP offloads off.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 10

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA oa
wg_ifname IB ob
wg_keys KA PA a
wg_keys KB PB b

start_pair() { # B's FERRY_NO_OFFLOAD
	wg_start PIDA "$A" "$FERRY" "$IA" >"$T_TMP/start.log" &&
		FERRY_NO_OFFLOAD=$1 wg_start PIDB "$B" "$FERRY" "$IB" >>"$T_TMP/start.log" || return 1
	wg_set "$A" "$IA" private-key "$KA" listen-port 51001 peer "$PB" allowed-ips 10.96.0.2/32 endpoint 192.0.2.2:51002 &&
		wg_set "$B" "$IB" private-key "$KB" listen-port 51002 peer "$PA" allowed-ips 10.96.0.1/32 endpoint 192.0.2.1:51001 &&
		wg_addr "$A" "$IA" 10.96.0.1/24 && wg_addr "$B" "$IB" 10.96.0.2/24
}
offloads() { nsx "$1" "$FERRY" show "$2" | sed -n 's/^offloads: //p'; }

start_pair all
t_result $? "A with offloads, B with FERRY_NO_OFFLOAD=all" "$T_TMP/start.log"
like "A's path: vnet_hdr with TSO and UDP GSO/GRO" "vnet_hdr,tso,tun_gro,udp_gso,udp_gro" "$(offloads "$A" "$IA")"
like "B's path: no offloads" "none" "$(offloads "$B" "$IB")"
wt check "ping A -> B" ping_ok "$A" 10.96.0.2
wt check "20 MiB A -> B (segmented by A, plain on B), sha256 matches" wg_xfer "$A" "$B" 10.96.0.2 20
wt check "20 MiB B -> A (plain on B, coalesced on A), sha256 matches" wg_xfer "$B" "$A" 10.96.0.1 20
wg_stop "$IA" >/dev/null
wg_stop "$IB" >/dev/null
ip -n "$A" link del "$IA" 2>/dev/null
ip -n "$B" link del "$IB" 2>/dev/null

start_pair udp_gso,udp_gro
t_result $? "B again, with only the UDP offloads off" "$T_TMP/start.log"
like "B's path: vnet_hdr without UDP offloads" "vnet_hdr,tso,tun_gro" "$(offloads "$B" "$IB")"
unlike "B uses neither UDP GSO nor GRO" "udp_g" "$(offloads "$B" "$IB")"
wt check "20 MiB B -> A, sha256 matches" wg_xfer "$B" "$A" 10.96.0.1 20
