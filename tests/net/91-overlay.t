#!/usr/bin/env bash
# Overlay mode against a real etcd (Debian's etcd-server) in a namespace:
# three nodes start at once in a network of four subnets and get three
# different ones (compare-and-swap in etcd, flannel's layout and JSON), a
# fifth node finds the network full; containers attached through the CNI
# plugin reach each other across nodes (ping, 50 MiB with sha256); a new
# node is reachable from the others within seconds (measured); a restarted
# node keeps its subnet and key; a stopped node's lease expires (short TTL)
# and its peer and route go everywhere else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
. "$(dirname "$0")/overlaylib.sh"
plan 29

TTL=6
PREFIX=/coreos.com/network

check "etcd runs in its namespace and is healthy" ov_etcd_start
check "the network configuration is in etcd" ov_config \
	'{"Network": "10.244.0.0/16", "SubnetMin": "10.244.1.0", "SubnetMax": "10.244.4.0", "Backend": {"Type": "wireguard"}}'
ov_node A a 192.0.2.1
ov_node B b 192.0.2.2
ov_node C c 192.0.2.3
ov_node D d 192.0.2.4
ov_node E e 192.0.2.5

all_ready() { ov_ready a && ov_ready b && ov_ready c; }
start_three() {
	ov_launch a --subnet-lease-ttl $TTL
	ov_launch b --subnet-lease-ttl $TTL
	ov_launch c --subnet-lease-ttl $TTL
	wait_for 20 all_ready || {
		tail -n 5 "$T_TMP"/[abc].log
		return 1
	}
}
check "three nodes started at the same moment are all ready" start_three

leases() { ovctl get --prefix --keys-only "$PREFIX/subnets/" | grep -c .; }
distinct() {
	local s
	s=$(for n in a b c; do ov_subnet $n; done | sort -u | wc -l)
	echo "subnets: $(for n in a b c; do ov_subnet $n; done | tr '\n' ' '); leases in etcd: $(leases)"
	[ "$s" = 3 ] && [ "$(leases)" = 3 ]
}
check "three different subnets, three leases in etcd" distinct

# The lease as flannel writes it, at flannel's key, with this node's key and address.
lease_of() { # node
	local s=$(ov_subnet "$1")
	ovctl get --print-value-only "$PREFIX/subnets/${s%.1/24}.0-24"
}
lease_shape() {
	local v pub
	v=$(lease_of a)
	pub=$(nsx "$A" wg show "${OV_IF[a]}" public-key)
	echo "lease of a: $v"
	echo "$v" | jq -e --arg k "$pub" '.PublicIP == "192.0.2.1" and .BackendType == "wireguard" and
		.BackendData.PublicKey == $k and .BackendData.Port == 51820' >/dev/null
}
check "a's lease: flannel's JSON with its PublicIP, BackendType and public key" lease_shape
lease_ttl() {
	local id
	id=$(ovctl get -w json "$PREFIX/subnets/$(ov_subnet a | sed 's/\.1\/24$/.0-24/')" | grep -o '"lease":[0-9]*' | cut -d: -f2) # (not jq: it rounds 64-bit numbers)
	echo "lease id $id"
	[ -n "$id" ] && [ "$id" != null ] && [ "$id" != 0 ] &&
		ovctl lease timetolive "$(printf '%x' "$id")" | tee /dev/stderr | grep -qE "granted with TTL\(${TTL}s\)"
}
check "the lease is held by an etcd lease with the TTL asked for" lease_ttl
subnet_file() {
	local f="$T_TMP/a/subnet.env"
	cat "$f"
	grep -qx 'FLANNEL_NETWORK=10.244.0.0/16' "$f" && grep -qxE 'FLANNEL_SUBNET=10\.244\.[1-4]\.1/24' "$f" &&
		grep -qx 'FLANNEL_MTU=1420' "$f" && grep -qx 'FLANNEL_IPMASQ=false' "$f"
}
check "the subnet file has flannel's four variables" subnet_file
check "the private key is kept with mode 0600" test "$(stat -c %a "$T_TMP/a/key")" = 600

peers_of_a() {
	local want
	want=$(for n in b c; do ov_subnet $n | sed 's/\.1\/24$/.0\/24/'; done | sort)
	[ "$(ov_peers a)" = "$want" ] && [ "$(ov_routes a)" = "$want" ]
}
show_a() {
	echo "wanted: $(for n in b c; do ov_subnet $n; done | tr '\n' ' ')"
	echo "peers:  $(ov_peers a | tr '\n' ' ')"
	echo "routes: $(ov_routes a | tr '\n' ' ')"
}
check "a has b and c as peers (allowed-ips: their subnets) and routes to them" eval 'wait_for 5 peers_of_a || { show_a; false; }'

check "container a1 attached on a through the CNI plugin" ov_container A1 a a1
check "container a2 attached on a" ov_container A2 a a2
check "container b1 attached on b" ov_container B1 b b1
check "container c1 attached on c" ov_container C1 c c1
check "ping a1 -> b1 across nodes" ping_ok "$A1" "${OV_ADDR[b1]}"
check "ping c1 -> a2 across nodes" ping_ok "$C1" "${OV_ADDR[a2]}"
check "50 MiB a1 -> c1 over TCP, sha256 matches" wg_xfer "$A1" "$C1" "${OV_ADDR[c1]}" 50 5001
check "ferry show works on the overlay interface" eval 'nsx "$A" "$FERRY" show "${OV_IF[a]}" | grep -q "allowed ip: "'

# A new node: from its process start to the first ping answered from a.
join_time() {
	local t0 t1 dev
	t0=$(wg_ms)
	ov_launch d --subnet-lease-ttl $TTL --ip-masq
	wait_for 15 test -s "$T_TMP/d/subnet.env" || return 1
	dev=$(ov_subnet d | sed 's/\.1\/24$/.0/')
	wait_for 15 nsx "$A" ping -c 1 -W 0.2 -q "$dev" || return 1
	t1=$(wg_ms)
	note "a new node was reachable from another $((t1 - t0)) ms after its ferry overlay started"
}
check "a new node d is reachable from a (its device address) within 15 s of its start" join_time
full_network() {
	local rc
	timeout 20 ip netns exec "$E" "$FERRY" overlay -f --etcd-endpoints "$OV_ETCD_URL" --iface eth0 \
		--interface "${OV_IF[e]}" --subnet-file "$T_TMP/e/subnet.env" --key-file "$T_TMP/e/key" >"$T_TMP/e.out" 2>&1
	rc=$?
	cat "$T_TMP/e.out"
	[ $rc = 1 ] && grep -q "the network is full" "$T_TMP/e.out"
}
check "a fifth node finds the network full: a clear error, exit status 1" full_network

# --ip-masq: ferry masquerades from the Network to elsewhere (nftables), and
# says so in the subnet file, so the CNI plugin leaves it to ferry.
check "d (--ip-masq) says FLANNEL_IPMASQ=true and has its nftables table" \
	eval 'grep -qx FLANNEL_IPMASQ=true "$T_TMP/d/subnet.env" && nsx "$D" nft list table ip "ferry_overlay_${OV_IF[d]}" | grep -q masquerade'
d1_out() {
	ov_container D1 d d1 "$(ov_cni_conf d | jq -c --arg d "$T_TMP/d/ipam" '.ipam = {dataDir: $d, routes: [{dst: "0.0.0.0/0"}]}')" &&
		ping_ok "$D1" "$OV_ETCD_IP"
}
check "container d1 reaches a host outside the Network (etcd's), masqueraded by ferry" d1_out

# Our lease deleted behind our back: taken back at once, same subnet.
A_KEY="$PREFIX/subnets/$(ov_subnet a | sed 's/\.1\/24$/.0-24/')"
A_PUB=$(nsx "$A" wg show "${OV_IF[a]}" public-key)
check "a's lease deleted with etcdctl: a takes the same subnet back within 3 s" \
	eval 'ovctl del "$A_KEY" >/dev/null && wait_for 3 eval "ovctl get --print-value-only \"\$A_KEY\" | grep -q \"\$A_PUB\""'
check "a's etcd lease revoked: a takes the same subnet back (keep-alive or watch) within TTL" \
	eval 'id=$(ovctl get -w json "$A_KEY" | grep -o "\"lease\":[0-9]*" | cut -d: -f2); ovctl lease revoke "$(printf %x "$id")" >/dev/null && sleep 1 && wait_for $TTL eval "ovctl get --print-value-only \"\$A_KEY\" | grep -q \"\$A_PUB\""'

# A restart keeps the subnet and the key.
B_SUB=$(ov_subnet b)
B_PUB=$(nsx "$B" wg show "${OV_IF[b]}" public-key)
restart_b() {
	ov_stop b && ov_start b --subnet-lease-ttl $TTL
}
check "b stops and starts again" restart_b
check "b kept its subnet and its public key" eval '[ "$(ov_subnet b)" = "$B_SUB" ] && [ "$(nsx "$B" wg show "${OV_IF[b]}" public-key)" = "$B_PUB" ]'
check "ping a1 -> b1 again after b's restart" ping_ok "$A1" "${OV_ADDR[b1]}"

# A stopped node's lease expires; its peer and route go from the others.
C_NET=$(ov_subnet c | sed 's/\.1\/24$/.0\/24/')
c_gone() { ! ov_peers a | grep -qx "$C_NET" && ! ov_routes a | grep -qx "$C_NET" &&
	! ov_peers b | grep -qx "$C_NET" && ! ov_routes b | grep -qx "$C_NET"; }
check "c stops" ov_stop c
check "c's lease expires in etcd within TTL + 5 s" \
	wait_for $((TTL + 5)) eval '[ -z "$(ovctl get --keys-only "$PREFIX/subnets/${C_NET%/24}-24")" ]'
check "c's peer and route are gone from a and b within a second of that" eval 'wait_for 2 c_gone || { ov_peers a; ov_routes a; false; }'
