#!/usr/bin/env bash
# TAP mode: the classic "Linux bridge with two veth pairs", on each of two
# hosts, joined by ferry into one Ethernet segment.
#
#   host A: bridge br0 <- ferry's TAP (Mode = tap, Bridge = br0)
#                      <- veth to guest a1, veth to guest a2
#   host B: the same, guests b1 and b2; later host C with guest c1.
#
# All guests are in 10.77.0.0/24 and talk as if on one switch: ARP resolves
# across hosts, a third host joins (learning and flooding still work), VLAN
# tags pass unchanged, a frame of the largest size fits, and a guest that
# moves from host A to host C is reached at its new place within seconds.
# At the end every daemon still runs, the counters of a 3000-frame flood
# moved on both sides, and no daemon dropped a packet for a reason that only
# forged, corrupt or refused traffic gives (read through `ferry show`, whose
# counters are shown to move by five junk datagrams).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 29

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_host C c 192.0.2.3
wg_ifname IA la
wg_ifname IB lb
wg_ifname IC lc
wg_keys KA PA a
wg_keys KB PB b
wg_keys KC PC c
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock" "$WG_RUN/$IC.sock")
trap wg_cleanup EXIT

declare -A GMAC=([a1]=02:77:00:00:00:11 [a2]=02:77:00:00:00:12 [b1]=02:77:00:00:00:21 [b2]=02:77:00:00:00:22
	[c1]=02:77:00:00:00:31)
declare -A GIP=([a1]=10.77.0.11 [a2]=10.77.0.12 [b1]=10.77.0.21 [b2]=10.77.0.22 [c1]=10.77.0.31)
declare -A G

# guest NAME HOSTNS: a namespace with eth0 (fixed MAC, MTU 1398) on HOSTNS's br0.
guest() {
	local name=$1 host=$2 ns
	if [ -z "${G[$name]:-}" ]; then
		ns_new ns "g$name"
		G[$name]=$ns
	fi
	ns=${G[$name]}
	ip -n "$host" link add "v$name" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$ns" link set eth0 address "${GMAC[$name]}" mtu 1398
	ip -n "$ns" addr add "${GIP[$name]}/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$host" link set "v$name" mtu 1398 master br0 up
}
bridge_host() {
	ip -n "$1" link add br0 type bridge && ip -n "$1" link set br0 up
}

# conf FILE KEY PORT then "PUB PORT" pairs for the peers
conf() {
	local f=$1 key=$2 port=$3
	shift 3
	{
		echo "[Interface]"
		echo "PrivateKey = $(cat "$key")"
		echo "ListenPort = $port"
		echo "Mode = tap"
		echo "Bridge = br0"
		while [ $# -ge 2 ]; do
			echo
			echo "[Peer]"
			echo "PublicKey = $1"
			echo "Endpoint = 192.0.2.$(($2 - 51300)):$2"
			shift 2
		done
	} >"$f"
	chmod 600 "$f"
}
pings() { # from to...: one reply from each
	local from=$1 to
	shift
	for to in "$@"; do
		ping_ok "${G[$from]}" "${GIP[$to]}" >/dev/null || {
			echo "$from cannot reach $to"
			return 1
		}
	done
}
mac_seen() { # guest-ns ip mac: the guest's ARP entry for ip is mac
	ip -n "$1" neigh show "$2" | grep -qi "lladdr $3"
}

bridge_host "$A" && bridge_host "$B" && bridge_host "$C"
for g in a1 a2; do guest $g "$A"; done
for g in b1 b2; do guest $g "$B"; done

conf "$T_TMP/$IA.conf" "$KA" 51301 "$PB" 51302
conf "$T_TMP/$IB.conf" "$KB" 51302 "$PA" 51301
check "ferry up (Mode = tap, Bridge = br0) on host A" ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA"
check "ferry up on host B" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
like "the device is a TAP device" "tun type tap" "$(ip -d -n "$A" link show "$IA")"
like "it is enslaved to br0" "master br0" "$(ip -n "$A" link show "$IA")"
like "its MTU is Ethernet's 1500 (what does not fit a message travels in pieces)" "mtu 1500" "$(ip -n "$A" link show "$IA")"

check "a1 reaches b1 and b2 across the tunnel" pings a1 b1 b2
check "a2 reaches b1 and b2" pings a2 b1 b2
check "b1 and b2 reach a1 and a2" eval "pings b1 a1 a2 && pings b2 a1 a2"
check "guests on one host still reach each other" pings a1 a2
check "ARP resolved across hosts: a1 knows b1's MAC" mac_seen "${G[a1]}" "${GIP[b1]}" "${GMAC[b1]}"
check "ARP resolved across hosts: b2 knows a2's MAC" mac_seen "${G[b2]}" "${GIP[a2]}" "${GMAC[a2]}"
check "largest frame: 1370-byte ping, don't fragment, guest MTU 1398" \
	nsx "${G[a1]}" ping -c 1 -W 2 -M do -s 1370 -q "${GIP[b1]}"

# VLAN-tagged frames (made by tests/tools/ethframe: this kernel has no 802.1Q
# module) cross unchanged, the largest one included: 1398 bytes after a
# 4-byte tag. The destination is b1's MAC, learned by now.
vlan_frame() { # VID LEN
	local pid st
	bg pid ip netns exec "${G[b1]}" "$TOOLS/ethframe" recv eth0 "$1" 88b5 "$2" 5
	sleep 0.3
	nsx "${G[a1]}" "$TOOLS/ethframe" send eth0 "${GMAC[b1]}" "${GMAC[a1]}" "$1" 88b5 "$2"
	wait "$pid"
	st=$?
	t_forget "$pid"
	return $st
}
check "a VLAN 100 tagged frame passes from a1 to b1 unchanged" vlan_frame 100 200
check "the largest tagged frame (1398 bytes after the tag) passes" vlan_frame 100 1398

# A third host joins: A and B learn of it over the control socket.
guest c1 "$C"
conf "$T_TMP/$IC.conf" "$KC" 51303 "$PA" 51301 "$PB" 51302
check "ferry up on host C, peers A and B" ferry_up DC "$C" "$T_TMP/$IC.conf" "$IC"
check "A and B add C as a peer (wg set)" eval "nsx $A wg set $IA peer $PC endpoint 192.0.2.3:51303 &&
	nsx $B wg set $IB peer $PC endpoint 192.0.2.3:51303"
check "c1 reaches a1, a2, b1, b2 (flooded ARP, then learned unicast)" pings c1 a1 a2 b1 b2
check "b2 reaches c1" pings b2 c1

# a2 moves from host A to host C (a live migration): its veth on A goes, a
# new one with the same MAC comes up on C. Like a migrated VM, it speaks
# first (here: a ping); from then on traffic must find it on C.
ip -n "$A" link del va2
guest a2 "$C"
check "the moved guest a2 reaches b1 from host C" pings a2 b1
moved() { pings b1 a2 && pings a1 a2 && pings b2 a2; }
check "b1, a1 and b2 reach a2 at its new place within 5 s" wait_for 5 moved
mac_table() { nsx "$1" "$FERRY" show "$2" | sed -n 's/^mac_table: //p'; }
check "B's MAC table counted the move" eval "mac_table $B $IB | grep -E 'moved [1-9]'"

# Counters: `ferry show` lines ("rx_packets: N"), and wg's transfer
# bytes with one peer.
stat_of() { nsx "$1" "$FERRY" show "$2" | awk -v k="$3:" '$1 == k { print $2 }'; }
rx_from() { nsx "$1" wg show "$2" transfer | awk -v p="$3" '$1 == p { print $2 }'; }
tx_to() { nsx "$1" wg show "$2" transfer | awk -v p="$3" '$1 == p { print $3 }'; }

# A guest behind A claims 3000 MACs (frames to b1 from 3000 sources): B
# learns at most 1024 of them on peer A, counts the rest, and the segment
# keeps working.
b_rx0=$(stat_of "$B" "$IB" rx_packets) b_bytes0=$(rx_from "$B" "$IB" "$PA")
a_tx0=$(stat_of "$A" "$IA" tx_packets) a_bytes0=$(tx_to "$A" "$IA" "$PB")
nsx "${G[a1]}" "$TOOLS/ethframe" flood eth0 "${GMAC[b1]}" 02:99:00:00:00:00 3000
sleep 1
t=$(mac_table "$B" "$IB")
note "B: $t"
check "B refused MACs beyond peer A's cap of 1024" eval "echo '$t' | grep -E 'refused [1-9][0-9]* \(peer at its cap\)'"
check "B holds no more than 1024 learned MACs + the guests'" \
	test "$(echo "$t" | awk '{ print $1 }')" -le 1030
check "a1 and c1 still reach b1" eval "pings a1 b1 && pings c1 b1"

# The flood moved the counters it must: each of the 3000 frames is one
# message (at least 64 bytes: header, ferry header, 14-byte Ethernet
# header padded to 16, tag) sent by A and received by B.
grew() { # NAME BEFORE AFTER AT-LEAST
	[ -n "$2" ] && [ -n "$3" ] && [ $(($3 - $2)) -ge "$4" ] || {
		echo "$1: from '$2' to '$3', expected to grow by $4 or more"
		return 1
	}
}
check "A counted sending the 3000 frames to B" eval 'grew tx_packets "$a_tx0" "$(stat_of "$A" "$IA" tx_packets)" 3000 &&
	grew "bytes sent to B" "$a_bytes0" "$(tx_to "$A" "$IA" "$PB")" $((3000 * 64))'
check "B counted receiving them from A" eval 'grew rx_packets "$b_rx0" "$(stat_of "$B" "$IB" rx_packets)" 3000 &&
	grew "bytes received from A" "$b_bytes0" "$(rx_from "$B" "$IB" "$PA")" $((3000 * 64))'

# Nothing in this test should make any daemon drop a packet for these
# reasons: they mean a forged, corrupt or misrouted message, or a device or
# socket refusing one. (Handshake races at start-up may count
# handshake_invalid or unknown_index, and bridges may send link-local
# frames, so those are not among them.)
MUST_STAY_0="bad_length unknown_type bad_mac1 key_expired decrypt_failed replayed_counter bad_inner_packet
	disallowed_source too_big staged_overflow send_error tun_write_error out_of_memory bad_ferry_message
	compressed_but_off decompress_failed bad_frame bad_source_mac tcp_bad_length tcp_cut_mid_message"
no_bad_drops() { # NS IFNAME [REASON-TO-SKIP]
	local r n bad=0
	for r in $MUST_STAY_0; do
		[ "$r" = "${3:-}" ] && continue
		n=$(ferry_drops "$1" "$2" "$r")
		[ -z "$n" ] || [ "$n" = 0 ] || { echo "$2: $r: $n"; bad=1; }
	done
	return $bad
}
alive() {
	local pid
	for pid in "$DA" "$DB" "$DC"; do
		kill -0 "$pid" || { echo "daemon $pid has exited"; return 1; }
	done
}
check "the three ferry daemons are still running" alive
check "no daemon dropped a packet for a reason clean traffic never gives" \
	eval 'no_bad_drops "$A" "$IA" && no_bad_drops "$B" "$IB" && no_bad_drops "$C" "$IC"'
# That the counters read above are not simply missing: five 1-byte
# datagrams from host C to B's port are five bad_length drops, no more.
for i in 1 2 3 4 5; do
	nsx "$C" bash -c 'printf x >/dev/udp/192.0.2.2/51302'
done
b_bad_length_is() { test "$(ferry_drops "$B" "$IB" bad_length)" = "$1"; }
check "five 1-byte datagrams to B are five bad_length drops, and nothing else" \
	eval 'wait_for 5 b_bad_length_is 5 && sleep 0.2 && b_bad_length_is 5 && no_bad_drops "$B" "$IB" bad_length && alive'
