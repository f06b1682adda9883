#!/usr/bin/env bash
# First throughput figures: one TCP stream (iperf3, 5 s) through the tunnel
# between two namespaces, for ferry <-> ferry, wireguard-go <-> wireguard-go
# and ferry <-> wireguard-go, in one run. The full comparison with veth,
# VXLAN and OpenVPN is `make bench` (docs/PERFORMANCE.md).
# It prints TAP-free plain lines; run as root after `make`.
. "$(dirname "$0")/../tests/net/lib.sh"
. "$(dirname "$0")/../tests/net/wglib.sh"
SECS=${SECS:-5}

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_keys KA PA a
wg_keys KB PB b

run_pair() { # IMPL_A IMPL_B label
	local ia ib pa pb mbit
	wg_ifname ia "x$RANDOM"
	wg_ifname ib "y$RANDOM"
	wg_start pa "$A" "$1" "$ia" >/dev/null || return 1
	wg_start pb "$B" "$2" "$ib" >/dev/null || return 1
	wg_set "$A" "$ia" private-key "$KA" listen-port 51001 peer "$PB" allowed-ips 10.97.0.2/32 endpoint 192.0.2.2:51002
	wg_set "$B" "$ib" private-key "$KB" listen-port 51002 peer "$PA" allowed-ips 10.97.0.1/32 endpoint 192.0.2.1:51001
	wg_addr "$A" "$ia" 10.97.0.1/24
	wg_addr "$B" "$ib" 10.97.0.2/24
	ping_ok "$A" 10.97.0.2 >/dev/null
	bg srv ip netns exec "$B" timeout $((SECS + 15)) iperf3 -s -1 -B 10.97.0.2 >/dev/null
	sleep 0.5
	mbit=$(ip netns exec "$A" timeout $((SECS + 10)) iperf3 -c 10.97.0.2 -t "$SECS" -J |
		awk -F': *' '/"bits_per_second"/ { v = $2 } END { gsub(/,/, "", v); printf "%.0f", v / 1e6 }')
	printf '%-34s %6s Mbit/s\n' "$3" "$mbit"
	wg_stop "$ia" >/dev/null
	wg_stop "$ib" >/dev/null
	wait "$srv" 2>/dev/null
}

echo "one TCP stream, $SECS s, iperf3, A -> B:"
run_pair "$FERRY" "$FERRY" "ferry <-> ferry"
run_pair wireguard-go wireguard-go "wireguard-go <-> wireguard-go"
run_pair "$FERRY" wireguard-go "ferry -> wireguard-go"
run_pair wireguard-go "$FERRY" "wireguard-go -> ferry"
