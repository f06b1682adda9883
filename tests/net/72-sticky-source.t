#!/usr/bin/env bash
# Sticky source addresses (issue 12): a multi-homed server answers each peer
# from the address that peer sent to, as the kernel and wireguard-go do on
# Linux; a NAT or firewall in front of the peer would drop a reply from
# another address, and the peer would roam its endpoint to it.
#
# A has 192.0.2.1 and 192.0.2.11 on eth0, and 198.51.100.1 on another
# interface (a veth of its own; this kernel has no dummy devices), and
# 2001:db8:72::1 on eth0 and 2001:db8:73::11 on that other interface (reached over eth0: B and C route to it through A). B sends to
# 192.0.2.11, C to 198.51.100.1, D to 2001:db8:73::11. Each sees A's replies come from the address it sent to (its `wg
# show` endpoint stays that address). Then 192.0.2.11 goes away: A's replies
# to B fall back to what routing chooses, and traffic still flows.
#
# Last, a route to B over a new, second link between A and B (with its own
# source address, 203.0.113.1) takes precedence over the one over eth0:
# A's source for B (192.0.2.1, on eth0) no longer fits the route, and A
# sends from the new route's source instead, as the kernel's WireGuard does
# (WireGuard's netns.sh "route precedence"; ferry kept 192.0.2.1 before).
# For IPv6 the kernel keeps the source and lets the route choose the
# interface: a better route to D over a second link carries A's replies
# from 2001:db8:73::11, although ferry names eth0 in IPV6_PKTINFO (for a
# global destination the kernel only prefers that interface among equals).
# Other implementations: WG_A=... WG_PEERS=... (wireguard-go for the peers)
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_A=${WG_A:-$FERRY}
WG_PEERS=${WG_PEERS:-$FERRY}
plan 17
note "A runs: $WG_A; B, C, D run: $WG_PEERS"

wg_host A a 192.0.2.1 2001:db8:72::1
wg_host B b 192.0.2.2
wg_host C c 192.0.2.3
wg_host D d 192.0.2.4 2001:db8:72::4
wg_ifname IA ka
wg_ifname IB kb
wg_ifname IC kc
wg_ifname ID kd
wg_keys KA PA a
wg_keys KB PB b
wg_keys KC PC c
wg_keys KD PD d
PORT=51720

setup() {
	ip -n "$A" addr add 192.0.2.11/24 dev eth0 &&

		ip -n "$A" link add other0 type veth peer name other1 &&
		ip -n "$A" addr add 198.51.100.1/32 dev other0 &&
		ip -n "$A" addr add 2001:db8:73::11/64 dev other0 nodad &&
		nsx "$A" sysctl -qw net.ipv6.conf.all.forwarding=0 &&
		ip -n "$A" link set other0 up && ip -n "$A" link set other1 up &&
		ip -n "$B" route add 198.51.100.1/32 via 192.0.2.1 &&
		ip -n "$C" route add 198.51.100.1/32 via 192.0.2.1 &&
		ip -n "$D" route add 2001:db8:73::/64 via 2001:db8:72::1 &&
		wg_start PIDA "$A" "$WG_A" "$IA" && wg_start PIDB "$B" "$WG_PEERS" "$IB" &&
		wg_start PIDC "$C" "$WG_PEERS" "$IC" && wg_start PIDD "$D" "$WG_PEERS" "$ID" &&
		wg_set "$A" "$IA" private-key "$KA" listen-port $PORT \
			peer "$PB" allowed-ips 10.72.0.2/32 peer "$PC" allowed-ips 10.72.0.3/32 \
			peer "$PD" allowed-ips 10.72.0.4/32 &&
		wg_addr "$A" "$IA" 10.72.0.1/24 &&
		wg_set "$B" "$IB" private-key "$KB" peer "$PA" allowed-ips 10.72.0.0/24 endpoint 192.0.2.11:$PORT &&
		wg_addr "$B" "$IB" 10.72.0.2/24 &&
		wg_set "$C" "$IC" private-key "$KC" peer "$PA" allowed-ips 10.72.0.0/24 endpoint 198.51.100.1:$PORT &&
		wg_addr "$C" "$IC" 10.72.0.3/24 &&
		wg_set "$D" "$ID" private-key "$KD" peer "$PA" allowed-ips 10.72.0.0/24 endpoint "[2001:db8:73::11]:$PORT" &&
		wg_addr "$D" "$ID" 10.72.0.4/24
}
endpoint_of() { nsx "$1" wg show "$2" endpoints | awk '{ print $2 }'; }
endpoint_is() { # NS IF WANT
	local got
	got=$(endpoint_of "$1" "$2")
	[ "$got" = "$3" ] && return 0
	echo "endpoint of A on $2: '$got', expected '$3'"
	return 1
}
# Traffic both ways, so that A's replies reach the peer and could move its
# endpoint if they came from elsewhere; then a ping from A's side first.
both_ways() { ping_ok "$1" 10.72.0.1 && ping_ok "$A" "$2" && ping_ok "$1" -c 3 10.72.0.1; }

check "A, B, C, D up; B, C, D know A at three different addresses of it" setup
wt check "B (to 192.0.2.11) and A ping each other" both_ways "$B" 10.72.0.2
wt check "C (to 198.51.100.1, an address of another interface) and A ping each other" both_ways "$C" 10.72.0.3
wt check "D (to 2001:db8:73::11, an IPv6 address of the other interface) and A ping each other" both_ways "$D" 10.72.0.4
wt check "B still sees A at 192.0.2.11: A's replies came from it" endpoint_is "$B" "$IB" "192.0.2.11:$PORT"
wt check "C still sees A at 198.51.100.1" endpoint_is "$C" "$IC" "198.51.100.1:$PORT"
wt check "D still sees A at [2001:db8:73::11]" endpoint_is "$D" "$ID" "[2001:db8:73::11]:$PORT"
a_sees_b() {
	local got
	got=$(nsx "$A" wg show "$IA" endpoints | awk -v k="$PB" '$1 == k { print $2 }')
	case $got in 192.0.2.2:*) return 0 ;; esac
	echo "A's endpoint for B: '$got'"
	return 1
}
wt check "A's endpoint for B is B's own address (our source address is not shown there)" a_sees_b

# 192.0.2.11 goes: A, sending first, falls back to a source routing chooses.
ip -n "$A" addr del 192.0.2.11/24 dev eth0
wt check "with 192.0.2.11 gone, A still reaches B (sending from what routing chooses)" ping_ok "$A" 10.72.0.2
wt check "and B, replying, now sees A at 192.0.2.1" wait_for 5 endpoint_is "$B" "$IB" "192.0.2.1:$PORT"

# A second link between A and B, and a route to B over it that wins.
precedence() {
	ip link add x0 netns "$A" type veth peer name x1 netns "$B" &&
		ip -n "$A" addr add 203.0.113.1/32 dev x0 && ip -n "$A" link set x0 up &&
		ip -n "$B" link set x1 up && ip -n "$B" route add 203.0.113.1/32 dev x1 &&
		nsx "$A" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.x0.rp_filter=0 &&
		nsx "$B" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.x1.rp_filter=0 &&
		ip -n "$A" route add 192.0.2.2/32 dev x0 src 203.0.113.1
}
wt check "a route to B over a second link (source 203.0.113.1) takes precedence" precedence
wt check "A pings B over it" ping_ok "$A" -c 3 10.72.0.2
wt check "and B sees A at 203.0.113.1: A's source followed the route" wait_for 5 endpoint_is "$B" "$IB" "203.0.113.1:$PORT"
# And a route to D over a second link, for IPv6: the same prefix as eth0's,
# with a better metric.
precedence6() {
	ip link add y0 netns "$A" type veth peer name y1 netns "$D" &&
		ip -n "$A" addr add 2001:db8:74::1/64 dev y0 nodad && ip -n "$D" addr add 2001:db8:74::4/64 dev y1 nodad &&
		ip -n "$A" link set y0 up && ip -n "$D" link set y1 up &&
		ip -n "$A" route add 2001:db8:72::/64 via 2001:db8:74::4 dev y0 metric 1
}
rx_of_y1() { nsx "$D" cat /sys/class/net/y1/statistics/rx_packets; }
over_y1() { # A's pings to D come in on y1
	local before after
	before=$(rx_of_y1) && ping_ok "$A" -c 3 10.72.0.4 && after=$(rx_of_y1) || return 1
	[ $((after - before)) -ge 3 ] && return 0
	echo "D's y1 received $((after - before)) packets during 3 pings from A (A's replies left by another interface)"
	return 1
}
wt check "a route to D over a second link (IPv6) takes precedence" precedence6
wt check "A's messages to D leave by it: the IPv6 source does not pin the interface" over_y1
wt check "and D still sees A at [2001:db8:73::11]: the source stays, as the kernel's" endpoint_is "$D" "$ID" "[2001:db8:73::11]:$PORT"
wt check "A, B, C, D still run" eval "kill -0 ${PIDA:-0} && kill -0 ${PIDB:-0} && kill -0 ${PIDC:-0} && kill -0 ${PIDD:-0}"
