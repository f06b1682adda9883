#!/usr/bin/env bash
# A ferry node and a flannel node (its kernel "wireguard" backend) in one
# network. wireguard-go stands in for the flannel node's WireGuard device,
# configured the way flannel's backend configures it (device address the
# subnet's first address /32, a route to the whole Network, one peer per
# lease at PublicIP:ListenPort); its lease is written with etcdctl exactly
# as flannel writes it (json.Marshal of LeaseAttrs: no Port, PublicIPv6
# null), bound to an etcd lease. Traffic flows both ways; revoking the
# flannel node's etcd lease removes it from the ferry nodes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
. "$(dirname "$0")/overlaylib.sh"
plan 11

PREFIX=/coreos.com/network
FNET=10.244.200.0 # above SubnetMax: never a ferry node's own random subnet

check "etcd runs and holds the network configuration" eval 'ov_etcd_start && ov_config "{\"Network\": \"10.244.0.0/16\", \"SubnetMax\": \"10.244.199.0\", \"Backend\": {\"Type\": \"wireguard\"}}"'
ov_node A a 192.0.2.1
ov_node B b 192.0.2.2
wg_host F flannel 192.0.2.9
wg_ifname FIF fwg
wg_keys FKEY FPUB flannel
check "ferry nodes a and b are up, with containers a1 and b1" \
	eval 'ov_start a && ov_start b && ov_container A1 a a1 && ov_container B1 b b1'
check "the flannel stand-in: wireguard-go -f $FIF" wg_start FPID "$F" wireguard-go "$FIF"

# flannel's wireguard backend: private key, ListenPort, address /32, route to the Network.
flannel_device() {
	wg_set "$F" "$FIF" private-key "$FKEY" listen-port 51820 &&
		ip -n "$F" addr add "$FNET/32" dev "$FIF" && ip -n "$F" link set "$FIF" up &&
		ip -n "$F" route add 10.244.0.0/16 dev "$FIF"
}
check "the stand-in's device is set up as flannel sets up flannel-wg" flannel_device

flannel_lease() {
	local id
	id=$(ovctl lease grant 120 | awk '{ print $2 }')
	ovctl put --lease="$id" "$PREFIX/subnets/$FNET-24" \
		"{\"PublicIP\":\"192.0.2.9\",\"PublicIPv6\":null,\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"$FPUB\"}}" &&
		echo "$id" >"$T_TMP/flannel.lease"
}
check "the flannel node's lease, written with etcdctl as flannel writes it" flannel_lease

# flannel's side of the watch: each other lease becomes a peer at PublicIP:ListenPort.
flannel_peers() {
	local k v pub ip
	while read -r k && read -r v; do
		[ "$k" = "$PREFIX/subnets/$FNET-24" ] && continue
		pub=$(jq -r .BackendData.PublicKey <<<"$v")
		ip=$(jq -r .PublicIP <<<"$v")
		k=${k##*/}
		wg_set "$F" "$FIF" peer "$pub" endpoint "$ip:51820" allowed-ips "${k%-24}/24" || return 1
	done < <(ovctl get --prefix "$PREFIX/subnets/")
	nsx "$F" wg show "$FIF" allowed-ips
}
check "the stand-in has the ferry nodes as peers, from their leases" flannel_peers

in_a() { ov_peers a | grep -qx "$FNET/24" && ov_routes a | grep -qx "$FNET/24"; }
check "ferry node a has the flannel node as a peer (port from the network's ListenPort) and a route" \
	eval 'wait_for 3 in_a && nsx "$A" wg show "${OV_IF[a]}" endpoints | grep -q "192.0.2.9:51820"'
check "ping container a1 -> the flannel node's device address" ping_ok "$A1" "$FNET"
check "ping the flannel node -> container b1" ping_ok "$F" "${OV_ADDR[b1]}"
check "10 MiB the flannel node -> container a1 over TCP, sha256 matches" wg_xfer "$F" "$A1" "${OV_ADDR[a1]}" 10 5001

gone() { ! ov_peers a | grep -qx "$FNET/24" && ! ov_routes b | grep -qx "$FNET/24"; }
check "revoking the flannel node's etcd lease removes its peer and route on a and b" \
	eval 'ovctl lease revoke "$(cat "$T_TMP/flannel.lease")" >/dev/null && wait_for 3 gone'
