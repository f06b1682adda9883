#!/usr/bin/env bash
# 1500-byte guests on a TAP bridge just work (issue 12), as with OpenVPN in
# tap mode: the TAP device and the guests keep Ethernet's MTU of 1500, and
# ferry carries full-size frames across a 1500-byte underlay: a frame that
# does not fit one message goes in fragments inside the tunnel, put back
# together at the other end; TCP SYNs get their MSS clamped so that TCP
# needs no fragments at all.
#
#   guest a1 (MTU 1500) - br0 - TAP [ferry A] === UDP or TCP === [ferry B] TAP - br0 - guest b1
#
# Checked over UDP and over the TCP transport (UDP blocked by nftables):
# DF pings of every size up to 1472 bytes of payload, and 50 MiB with equal
# sha256 both ways.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 14

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ua
wg_ifname IB ub
wg_keys KA PA a
wg_keys KB PB b
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")
trap wg_cleanup EXIT

# guest NAME HOST IP: a namespace with eth0 (MTU 1500) on HOST's br0.
guest() {
	local ns
	ns_new ns "g$1"
	printf -v "G_$1" '%s' "$ns"
	ip -n "$2" link add "v$1" type veth peer name eth0 netns "$ns" &&
		ip -n "$ns" addr add "$3/24" dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$2" link set "v$1" master br0 up
}
setup() {
	ip -n "$A" link add br0 type bridge && ip -n "$A" link set br0 up &&
		ip -n "$B" link add br0 type bridge && ip -n "$B" link set br0 up &&
		guest a1 "$A" 10.76.0.11 && guest b1 "$B" 10.76.0.21
}
conf() { # FILE KEY PORT PEER-PUB PEER-ENDPOINT EXTRA-INTERFACE EXTRA-PEER
	cat >"$1" <<CONF
[Interface]
PrivateKey = $(cat "$2")
ListenPort = $3
Mode = tap
Bridge = br0
$6

[Peer]
PublicKey = $4
Endpoint = $5
$7
CONF
	chmod 600 "$1"
}
# every_size FROM TO: a DF ping of each size 0..1472 gets its reply.
every_size() {
	local s bad=""
	for s in $(seq 0 1472); do
		nsx "$1" ping -c 1 -W 2 -M do -s "$s" -q "$2" >/dev/null 2>&1 ||
			nsx "$1" ping -c 1 -W 2 -M do -s "$s" -q "$2" >/dev/null 2>&1 || bad="$bad $s"
	done
	[ -z "$bad" ] && return 0
	echo "no reply for sizes:$bad"
	return 1
}
mtu_of() { ip -n "$1" -o link show "$2" | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }'; }
fragments_clean() { # no piece refused or lost on either side
	local ns_if bad
	for ns_if in "$A $IA" "$B $IB"; do
		set -- $ns_if
		bad="$(ferry_drops "$1" "$2" bad_fragment)$(ferry_drops "$1" "$2" fragment_lost)"
		[ -n "$bad" ] && { nsx "$1" "$FERRY" show "$2"; return 1; }
	done
	return 0
}

check "two hosts with a bridge each, a guest of MTU 1500 on each" setup
conf "$T_TMP/$IA.conf" "$KA" 51761 "$PB" 192.0.2.2:51762 "" ""
conf "$T_TMP/$IB.conf" "$KB" 51762 "$PA" 192.0.2.1:51761 "" ""
check "ferry up on A and B (Mode = tap, Bridge = br0)" eval "ferry_up DA $A $T_TMP/$IA.conf $IA && ferry_up DB $B $T_TMP/$IB.conf $IB"
wt check "the TAP devices and the guests have MTU 1500" eval '[ "$(mtu_of $A $IA)" = 1500 ] && [ "$(mtu_of $B $IB)" = 1500 ] && [ "$(mtu_of $G_a1 eth0)" = 1500 ]'
wt check "a1 reaches b1" ping_ok "$G_a1" 10.76.0.21
wt check "over UDP: DF pings a1 -> b1 of every size up to 1472 bytes" every_size "$G_a1" 10.76.0.21
wt check "over UDP: 50 MiB a1 -> b1, sha256 equal" wg_xfer "$G_a1" "$G_b1" 10.76.0.21 50
wt check "over UDP: 50 MiB b1 -> a1, sha256 equal" wg_xfer "$G_b1" "$G_a1" 10.76.0.11 50
wt check "no fragment refused or lost" fragments_clean

# The same over the TCP transport: UDP blocked, B dials A's ListenTCP.
for ns in "$A" "$B"; do
	nsx "$ns" nft -f - <<'NFT'
table inet ferry76 {
	chain in { type filter hook input priority 0; meta l4proto udp counter drop; }
	chain out { type filter hook output priority 0; meta l4proto udp counter drop; }
}
NFT
done
wg_stop_pid() { kill "$1" 2>/dev/null; timeout 5 tail --pid="$1" -f /dev/null; wait "$1" 2>/dev/null; t_forget "$1"; }
wg_stop_pid "$DA"
wg_stop_pid "$DB"
rm -f "$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock"
wait_for 5 eval "! ip -n $A link show $IA && ! ip -n $B link show $IB"
conf "$T_TMP/$IA.conf" "$KA" 51761 "$PB" 192.0.2.2:51762 "ListenTCP = 51763" ""
conf "$T_TMP/$IB.conf" "$KB" 51762 "$PA" 192.0.2.1:51763 "" "Transport = tcp"
check "ferry up again with the TCP transport (UDP blocked)" eval "ferry_up DA $A $T_TMP/$IA.conf $IA && ferry_up DB $B $T_TMP/$IB.conf $IB"
wt check "over TCP: b1 reaches a1" wait_for 15 ping_ok "$G_b1" 10.76.0.11
wt check "over TCP: DF pings b1 -> a1 of every size up to 1472 bytes" every_size "$G_b1" 10.76.0.11
wt check "over TCP: 50 MiB a1 -> b1, sha256 equal" wg_xfer "$G_a1" "$G_b1" 10.76.0.21 50
wt check "over TCP: 50 MiB b1 -> a1, sha256 equal" wg_xfer "$G_b1" "$G_a1" 10.76.0.11 50
wt check "both daemons still run" eval "kill -0 $DA && kill -0 $DB"
