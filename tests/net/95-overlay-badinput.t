#!/usr/bin/env bash
# Overlay mode and bad input from etcd. At start: a malformed network
# configuration, a backend that is not wireguard, no configuration, a stale
# subnet file, a subnet file naming another node's subnet, a bad endpoint
# URL: each a clear error and exit status 1. While running: leases with
# bad JSON, an invalid public key, a subnet outside the Network or of the
# wrong length, a lease claiming this node's address, one claiming another
# node's key: each logged with its key's name and ignored, and forwarding
# goes on.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
. "$(dirname "$0")/overlaylib.sh"
plan 21

PREFIX=/coreos.com/network
# Nodes lease from 10.244.100.0 up (SubnetMin): the bad leases below, at
# 10.244.50-55, never land on a node's own random subnet.
GOOD='{"Network": "10.244.0.0/16", "SubnetMin": "10.244.100.0", "Backend": {"Type": "wireguard"}}'

check "etcd runs" ov_etcd_start
ov_node A a 192.0.2.1
ov_node B b 192.0.2.2

# start_fails TEXT [ARGS]: ferry overlay on a exits 1 within 20 s saying TEXT.
start_fails() {
	local text=$1 rc
	shift
	timeout 20 ip netns exec "$A" "$FERRY" overlay -f --etcd-endpoints "$OV_ETCD_URL" --iface eth0 \
		--interface "${OV_IF[a]}" --subnet-file "$T_TMP/a/subnet.env" --key-file "$T_TMP/a/key" "$@" >"$T_TMP/out.a" 2>&1
	rc=$?
	cat "$T_TMP/out.a"
	[ $rc = 1 ] && grep -qF -- "$text" "$T_TMP/out.a"
}
check "no network configuration in etcd: a clear error" start_fails "has no network configuration at $PREFIX/config"
ov_config '{"Network": "10.244.0.0/16", "Backend": {"Type": "wireguard"'
check "a malformed network configuration: an error naming the key" start_fails "$PREFIX/config: bad network configuration: not JSON"
ov_config '{"Network": "10.244.0.0/16", "Backend": {"Type": "vxlan"}}'
check "a backend that is not wireguard: a clear error" start_fails "ferry speaks flannel's \"wireguard\" backend only"
ov_config '{"Network": "10.244.0.0/33", "Backend": {"Type": "wireguard"}}'
check "a Network that is not a prefix: a clear error" start_fails "Network must be an IPv4 prefix"
check "an etcd endpoint that is not a URL: a clear error" start_fails "is not an http:// or https:// URL" --etcd-endpoints ftp://192.0.2.250
ov_config "$GOOD"

printf 'FLANNEL_NETWORK=10.99.0.0/16\nFLANNEL_SUBNET=10.99.3.1/24\nFLANNEL_MTU=1420\nFLANNEL_IPMASQ=false\n' >"$T_TMP/a/subnet.env"
check "a stale subnet file (another Network): a clear error" start_fails "is stale"
rm -f "$T_TMP/a/subnet.env"

check "nodes a and b start, with containers a1 and b1" \
	eval 'ov_start a && ov_start b && ov_container A1 a a1 && ov_container B1 b b1 && ping_ok "$A1" "${OV_ADDR[b1]}"'

# Bad leases, each with its own key name.
B_PUB=$(nsx "$B" wg show "${OV_IF[b]}" public-key)
FRESH=$(wg genkey | wg pubkey)
lease() { printf '{"PublicIP":"%s","BackendType":"wireguard","BackendData":{"PublicKey":"%s"}}' "$1" "$2"; }
put_bad() {
	ovctl put "$PREFIX/subnets/10.244.50.0-24" '{"PublicIP": "192.0.2.50", "BackendType": ' >/dev/null &&
		ovctl put "$PREFIX/subnets/10.244.51.0-24" "$(lease 192.0.2.51 not-a-key)" >/dev/null &&
		ovctl put "$PREFIX/subnets/10.99.0.0-24" "$(lease 192.0.2.52 "$FRESH")" >/dev/null &&
		ovctl put "$PREFIX/subnets/10.244.52.0-23" "$(lease 192.0.2.53 "$FRESH")" >/dev/null &&
		ovctl put "$PREFIX/subnets/10.244.54.0-24" "$(lease 192.0.2.1 "$FRESH")" >/dev/null &&
		ovctl put "$PREFIX/subnets/10.244.55.0-24" "$(lease 192.0.2.55 "$B_PUB")" >/dev/null
}
check "six bad leases written with etcdctl" put_bad
logged() { wait_for 3 grep -qF "$PREFIX/subnets/$1: ignored: $2" "$T_TMP/a.log" || { grep ignored "$T_TMP/a.log"; false; }; }
check "bad JSON: logged with its key, ignored" logged 10.244.50.0-24 "not JSON"
check "an invalid public key: logged, ignored" logged 10.244.51.0-24 "BackendData.PublicKey is not a base64 WireGuard key"
check "a subnet outside the Network: logged, ignored" logged 10.99.0.0-24 "the subnet is outside the Network or not of SubnetLen"
check "a subnet of the wrong length: logged, ignored" logged 10.244.52.0-23 "the subnet is outside the Network or not of SubnetLen"
check "a lease claiming this node's address: logged, ignored" logged 10.244.54.0-24 "it claims this node's address"
check "a lease claiming another node's public key: logged, ignored" logged 10.244.55.0-24 "its public key is another lease's"
only_b() { [ "$(ov_peers a)" = "$(ov_subnet b | sed 's/\.1\/24$/.0\/24/')" ]; }
check "a's only peer is still b, and a1 -> b1 still works" eval 'only_b && ping_ok "$A1" "${OV_ADDR[b1]}" && kill -0 "${OV_PID[a]}"'

# A subnet file that names another node's subnet: never taken, a clear error.
stale_claim() {
	ov_stop a || return 1
	sed -i "s|^FLANNEL_SUBNET=.*|FLANNEL_SUBNET=$(ov_subnet b)|" "$T_TMP/a/subnet.env"
	start_fails "belongs to another node"
}
check "a subnet file naming b's subnet: a clear error, b's lease untouched" \
	eval 'stale_claim && ovctl get --print-value-only "$PREFIX/subnets/$(ov_subnet b | sed "s/\.1\/24$/.0-24/")" | grep -q "$B_PUB"'
check "b still forwards" eval 'kill -0 "${OV_PID[b]}" && ip -n "$B" link show "${OV_IF[b]}" up >/dev/null'

# The data plane refuses a change (here: its UAPI socket is moved away): the
# change is asked again until it is taken, never dropped; a lease deleted
# meanwhile does not stay a peer.
SOCK=$WG_RUN/${OV_IF[b]}.sock
Y_PUB=$(wg genkey | wg pubkey)
Z_PUB=$(wg genkey | wg pubkey)
has_net() { ov_peers b | grep -qx "$1"; }
check "a lease z becomes b's peer" eval 'ovctl put "$PREFIX/subnets/10.244.61.0-24" "$(lease 192.0.2.61 "$Z_PUB")" >/dev/null && wait_for 3 has_net 10.244.61.0/24'
refused() {
	mv "$SOCK" "$SOCK.away" || return 1
	ovctl put "$PREFIX/subnets/10.244.60.0-24" "$(lease 192.0.2.60 "$Y_PUB")" >/dev/null &&
		ovctl del "$PREFIX/subnets/10.244.61.0-24" >/dev/null &&
		wait_for 3 grep -q "the data plane refused the peers" "$T_TMP/b.log"
	local rc=$?
	mv "$SOCK.away" "$SOCK"
	return $rc
}
check "b's data plane socket away: y put and z deleted; b says the data plane refused" refused
check "the socket back: within 3 s b has y and not z, and says the data plane took them" \
	eval 'wait_for 3 eval "has_net 10.244.60.0/24 && ! has_net 10.244.61.0/24" && grep -q "the data plane took the peers" "$T_TMP/b.log" || { ov_peers b; grep overlay "$T_TMP/b.log" | tail -5; false; }'
