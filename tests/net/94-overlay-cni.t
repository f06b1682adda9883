#!/usr/bin/env bash
# The CNI plugin "type": "ferry", called the way a container runtime calls
# plugins (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH,
# the network configuration on stdin), against Debian's bridge and
# host-local plugins. The subnet file is written here as ferry overlay
# writes it (no etcd needed): ADD, CHECK, DEL, VERSION and the errors.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
. "$(dirname "$0")/overlaylib.sh"
plan 19

if [ ! -x /usr/lib/cni/bridge ] || [ ! -x /usr/lib/cni/host-local ]; then
	for i in $(seq 19); do skip "CNI plugin test $i" "no /usr/lib/cni/bridge (containernetworking-plugins)"; done
	exit 0
fi

ov_node N n 192.0.2.1
printf 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1400\nFLANNEL_IPMASQ=false\n' >"$T_TMP/n/subnet.env"
ns_new C1 c1
ns_new C2 c2

version=$(printf '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION "$OV_CNI_BIN/ferry")
like "VERSION lists the versions the plugin speaks" '"supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0"]' "$version"

R1=$(ov_cni n ADD "$C1")
note "ADD result: $(jq -c . <<<"$R1")"
check "ADD: the result is CNI 1.0.0 with an address from the node's subnet, gateway .1" \
	eval 'jq -e ".cniVersion == \"1.0.0\" and (.ips[0].address | startswith(\"10.244.7.\")) and .ips[0].gateway == \"10.244.7.1\"" <<<"$R1"'
A1=$(jq -r '.ips[0].address' <<<"$R1")
check "the container has that address on eth0" eval 'ip -n "$C1" -o addr show dev eth0 | grep -q "inet $A1"'
check "the container's MTU is FLANNEL_MTU (1400)" eval 'ip -n "$C1" link show eth0 | grep -q "mtu 1400"'
check "the container routes the whole Network through the gateway" \
	eval 'ip -n "$C1" route show | grep -q "^10.244.0.0/16 via 10.244.7.1 dev eth0"'
check "the node has the bridge cni0 with the gateway address" eval 'ip -n "$N" -o addr show dev cni0 | grep -q "inet 10.244.7.1/24"'
saved() { cat "$T_TMP/n/cni/$1"; }
check "the delegate's configuration, as flannel's plugin makes it (bridge, ipMasq, mtu, isGateway, host-local)" \
	eval 'saved "$C1" | jq -e ".type == \"bridge\" and .name == \"ferrynet\" and .ipMasq == true and .mtu == 1400 and .isGateway == true and .ipam.type == \"host-local\" and .ipam.ranges[0][0].subnet == \"10.244.7.0/24\" and (.ipam.routes | index({dst: \"10.244.0.0/16\", gw: \"10.244.7.1\"}) != null)"'
check "FLANNEL_IPMASQ=false: the bridge plugin masquerades (iptables nat rules in the node)" \
	eval 'nsx "$N" iptables -t nat -S | grep -q MASQUERADE'

R2=$(ov_cni n ADD "$C2")
A2=$(jq -r '.ips[0].address' <<<"$R2")
check "a second container gets another address" test -n "$A2" -a "${A2%/*}" != "${A1%/*}"
check "the two containers reach each other on the node's bridge" ping_ok "$C1" "${A2%/*}"

with_prev() { jq -c --argjson r "$2" '. + {prevResult: $r}' <<<"$(ov_cni_conf "$1")"; }
check "CHECK with the ADD's result as prevResult succeeds" eval 'ov_cni n CHECK "$C1" "$(with_prev n "$R1")"'
bad_prev=$(jq -c '.ips[0].address = "10.244.7.250/24"' <<<"$R1")
out=$(ov_cni n CHECK "$C1" "$(with_prev n "$bad_prev")")
check "CHECK against a wrong prevResult fails with CNI error JSON" eval '[ $? != 0 ] || true; jq -e ".code and .msg" <<<"$out"'

check "DEL succeeds" ov_cni n DEL "$C1"
check "... the container's interface is gone and its address released" \
	eval '! ip -n "$C1" link show eth0 2>/dev/null && ! grep -rqs "$C1" "$T_TMP/n/ipam" && [ ! -e "$T_TMP/n/cni/$C1" ]'
check "DEL again succeeds (nothing left to do)" ov_cni n DEL "$C1"

# Errors are CNI error JSON with the specification's codes, exit status 1.
cni_err() { # code cmd...
	local code=$1 out rc
	shift
	out=$("$@")
	rc=$?
	echo "exit $rc: $out"
	[ $rc = 1 ] && jq -e --argjson c "$code" '.code == $c and (.msg | length > 0)' <<<"$out" >/dev/null
}
nofile=$(ov_cni_conf n | jq -c '.subnetFile = "/nonexistent/subnet.env"')
check "no subnet file: error 11 (try again later)" cni_err 11 ov_cni n ADD "$C2" "$nofile"
check "a configuration that is not JSON: error 6" cni_err 6 ov_cni n ADD "$C2" '{"cniVersion": '
check "a delegate that sets name: error 7" cni_err 7 ov_cni n ADD "$C2" "$(ov_cni_conf n | jq -c '.delegate = {name: "x"}')"
masq=$(mktemp -p "$T_TMP")
sed 's/FLANNEL_IPMASQ=false/FLANNEL_IPMASQ=true/' "$T_TMP/n/subnet.env" >"$masq"
ns_new C3 c3
check "FLANNEL_IPMASQ=true (ferry overlay masquerades): the delegate gets ipMasq false" \
	eval 'ov_cni n ADD "$C3" "$(ov_cni_conf n | jq -c --arg f "$masq" ".subnetFile = \$f")" >/dev/null && saved "$C3" | jq -e ".ipMasq == false"'
