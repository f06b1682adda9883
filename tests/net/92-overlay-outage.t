#!/usr/bin/env bash
# Overlay mode through an etcd outage: etcd is stopped for 20 s. Traffic
# between existing containers goes on with the last known map (a ping every
# 0.2 s loses nothing), each node says once that etcd is unreachable, a node
# started during the outage says so clearly and joins once etcd is back, and
# is then programmed on every node; the old leases were kept alive. Then a
# partition: a's packets to etcd are dropped (a silent watch, no refusal)
# while a lease is deleted; a notices, and resynchronises when the
# partition heals: no stale peer.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
. "$(dirname "$0")/overlaylib.sh"
plan 19

TTL=10
PREFIX=/coreos.com/network

check "etcd runs and holds the network configuration" eval 'ov_etcd_start && ov_config "{\"Network\": \"10.244.0.0/16\", \"SubnetMax\": \"10.244.199.0\", \"Backend\": {\"Type\": \"wireguard\"}}"'
ov_node A a 192.0.2.1
ov_node B b 192.0.2.2
ov_node C c 192.0.2.3
check "nodes a and b are up" eval 'ov_start a --subnet-lease-ttl $TTL && ov_start b --subnet-lease-ttl $TTL'
check "containers a1 and b1 attached" eval 'ov_container A1 a a1 && ov_container B1 b b1'
check "ping a1 -> b1 before the outage" ping_ok "$A1" "${OV_ADDR[b1]}"

check "etcd stops" ov_etcd_stop
T0=$(date +%s)
bg PING ip netns exec "$A1" ping -i 0.2 -w 19 -q "${OV_ADDR[b1]}" >"$T_TMP/ping.out" 2>&1
sleep 2
check "a node started during the outage says clearly that etcd is unreachable" \
	eval 'ov_launch c --subnet-lease-ttl $TTL; wait_for 10 grep -q "cannot reach etcd.*retrying until it answers" "$T_TMP/c.log" || { cat "$T_TMP/c.log"; false; }'
check "... and has no subnet yet" test ! -e "$T_TMP/c/subnet.env"
timeout 25 tail --pid="$PING" -f /dev/null
t_forget "$PING"
ping_lost() {
	cat "$T_TMP/ping.out"
	grep -qE ' 0% packet loss' "$T_TMP/ping.out" && grep -qE '^9[0-9] packets transmitted|^[0-9]{3} packets transmitted' "$T_TMP/ping.out"
}
check "a1 -> b1: ~95 pings over 19 s of the outage, none lost" ping_lost
once() { [ "$(grep -c 'etcd unreachable' "$T_TMP/$1.log")" = 1 ] || { grep 'etcd' "$T_TMP/$1.log"; false; }; }
check "a logged the outage once" once a
sleep $((T0 + 20 - $(date +%s)))

check "etcd starts again (on the same data)" ov_etcd_restart
T1=$(wg_ms)
check "c joins once etcd is back (within 15 s)" wait_for 15 ov_ready c
note "c was ready $(($(wg_ms) - T1)) ms after etcd answered again"
has_c() {
	local net
	net=$(ov_subnet c | sed 's/\.1\/24$/.0\/24/')
	ov_peers a | grep -qx "$net" && ov_peers b | grep -qx "$net" && ov_routes a | grep -qx "$net"
}
check "a and b have c as a peer, with its route" wait_for 10 has_c
check "container c1 on c reaches a1 and b1" eval 'ov_container C1 c c1 && ping_ok "$C1" "${OV_ADDR[a1]}" && ping_ok "$C1" "${OV_ADDR[b1]}"'
back() { grep -q "answers again" "$T_TMP/$1.log"; }
check "a and b resumed talking to etcd" eval 'wait_for 10 back a && wait_for 10 back b'
still() { [ -n "$(ovctl get --keys-only "$PREFIX/subnets/$(ov_subnet "$1" | sed 's/\.1\/24$/.0-24/')")" ]; }
check "a's and b's leases are still in etcd a TTL later (kept alive again)" eval 'sleep $TTL; still a && still b'

# A partition between a and etcd: dropped, not refused.
FRESH=$(wg genkey | wg pubkey)
# Nodes lease from 10.244.1-199.0 (SubnetMax): x can never land on a
# node's own random subnet (that node would take its subnet back).
X="$PREFIX/subnets/10.244.250.0-24"
has_x() { ov_peers "$1" | grep -qx 10.244.250.0/24; }
leases() { ovctl get --prefix "$PREFIX/subnets/"; false; } # what etcd holds, on a failure
check "a lease x appears on a and b" eval 'ovctl put "$X" "{\"PublicIP\":\"192.0.2.77\",\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"$FRESH\"}}" >/dev/null && wait_for 3 has_x a && wait_for 3 has_x b'
partition() { # add|delete
	if [ "$1" = add ]; then
		nsx "$A" nft -f - <<NFT
table ip ovblock {
	chain out { type filter hook output priority 0; ip daddr $OV_ETCD_IP tcp dport 2379 drop; }
	chain in { type filter hook input priority 0; ip saddr $OV_ETCD_IP tcp sport 2379 drop; }
}
NFT
	else
		nsx "$A" nft delete table ip ovblock
	fi
}
BEFORE=$(grep -c "etcd unreachable" "$T_TMP/a.log")
check "a is cut off from etcd; x is deleted; b drops x at once" \
	eval 'partition add && ovctl del "$X" >/dev/null && { wait_for 3 eval "! has_x b" || leases; }'
unreachable() { [ "$(grep -c "etcd unreachable" "$T_TMP/a.log")" -gt "$1" ]; }
check "a notices the silent etcd within 25 s" wait_for 25 unreachable "$BEFORE"
check "the partition heals: a resynchronises and drops x (no stale peer) within 10 s" \
	eval 'partition delete && { wait_for 10 eval "! has_x a" || leases; }'
