#!/usr/bin/env bash
# make demo-overlay: a container network of three hosts kept in a real etcd.
# etcd (Debian's etcd-server) runs in a namespace of its own; three hosts
# (namespaces on one bridge, 192.0.2.1-3) run `ferry overlay`, each leasing
# a subnet of 10.244.0.0/16 in etcd and learning the others' leases; two
# "containers" per host (namespaces) are attached through ferry's CNI plugin
# with the standard bridge and host-local plugins. The demo prints the
# leases as etcd holds them, pings container to container across hosts,
# runs 3 s of iperf3, then stops a host and shows its peer disappear on the
# others once its lease expires. Everything is removed on exit.
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "the overlay demo needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
for prog in etcd etcdctl wg iperf3 ping jq /usr/lib/cni/bridge; do
	command -v "$prog" >/dev/null || { echo "the overlay demo needs $prog (make deps)" >&2; exit 1; }
done
. "$TOP/tests/net/lib.sh"
. "$TOP/tests/net/wglib.sh"
. "$TOP/tests/net/overlaylib.sh"
[ -x "$FERRY" ] || { echo "no $FERRY: build ferry first (make)" >&2; exit 1; }

TTL=10
step() { printf '\n== %s\n' "$*"; }
say() { printf '$ %s\n' "$*"; }
die() { echo "demo failed: $*" >&2; exit 1; }

step "etcd (Debian's etcd-server) in its own namespace at $OV_ETCD_URL"
ov_etcd_start >/dev/null || die "etcd did not start"
CONFIG='{"Network": "10.244.0.0/16", "Backend": {"Type": "wireguard"}}'
say "etcdctl put /coreos.com/network/config '$CONFIG'"
ov_config "$CONFIG" || die "cannot write the configuration"

step "three hosts run ferry overlay (leases with a $TTL s TTL, so that a stopped host goes quickly)"
for n in 1 2 3; do
	ov_node host "n$n" "192.0.2.$n"
	say "ferry overlay --etcd-endpoints $OV_ETCD_URL --iface eth0 --interface ${OV_IF[n$n]} --subnet-lease-ttl $TTL   # on n$n"
	T0=$(wg_ms)
	ov_start "n$n" --subnet-lease-ttl $TTL >/dev/null || { cat "$T_TMP/n$n.log"; die "n$n did not start"; }
	echo "n$n ready in $(($(wg_ms) - T0)) ms: $(grep -h 'overlay: leased' "$T_TMP/n$n.log" | sed 's/^ferry: overlay: //')"
done

step "the leases, as etcd holds them (flannel's layout and JSON)"
say "ETCDCTL_API=3 etcdctl get --prefix /coreos.com/network"
ovctl get --prefix /coreos.com/network

step "host n1's subnet file (flannel's variables, read by the CNI plugin)"
say "cat /run/ferry/subnet.env   # here: $T_TMP/n1/subnet.env"
cat "$T_TMP/n1/subnet.env"

step "two containers per host, attached by the CNI plugin as a container runtime does it"
say "CNI_COMMAND=ADD CNI_CONTAINERID=... CNI_NETNS=/var/run/netns/... CNI_IFNAME=eth0 ferry < '$(ov_cni_conf n1 | jq -c '{cniVersion, name, type}')'"
for n in 1 2 3; do
	for c in a b; do
		ov_container ns "n$n" "n$n$c" >/dev/null || die "CNI ADD of n$n$c failed"
		echo "container n$n$c on n$n: ${OV_ADDR[n$n$c]}"
	done
done

step "ping container to container across hosts"
for pair in "n1a n2a" "n2b n3a" "n3b n1b"; do
	set -- $pair
	say "ping -c 2 ${OV_ADDR[$2]}   # in $1"
	nsx "${OV_CNS[$1]}" ping -c 2 -W 2 "${OV_ADDR[$2]}" | sed -n '/bytes from/p;/packet loss/p' || die "ping $1 -> $2"
done

step "wg show on host n1: its peers are the other hosts' leases"
say "wg show ${OV_IF[n1]}"
nsx "${OV_NS[n1]}" wg show "${OV_IF[n1]}"
say "ip route show dev ${OV_IF[n1]}"
ip -n "${OV_NS[n1]}" route show dev "${OV_IF[n1]}"

step "3 s of iperf3, container n1a -> container n3a"
bg IPERF ip netns exec "${OV_CNS[n3a]}" iperf3 -s -1 -B "${OV_ADDR[n3a]}" >/dev/null 2>&1
wait_for 5 nsx "${OV_CNS[n3a]}" ss -Hltn "sport = :5201" >/dev/null || die "iperf3 server"
say "iperf3 -c ${OV_ADDR[n3a]} -t 3"
nsx "${OV_CNS[n1a]}" iperf3 -c "${OV_ADDR[n3a]}" -t 3 -f m | grep -E 'sender|receiver'

step "stop host n3: its lease expires after $TTL s, and n1 and n2 drop its peer and route"
N3=$(ov_subnet n3 | sed 's/\.1\/24$/.0\/24/')
say "kill ferry overlay on n3 (subnet $N3)"
T0=$(wg_ms)
ov_stop n3
gone() { ! ov_peers n1 | grep -qx "$N3" && ! ov_peers n2 | grep -qx "$N3"; }
wait_for $((TTL + 10)) gone || die "n3's peer is still there"
echo "n3's peer and route gone from n1 and n2 $(($(wg_ms) - T0)) ms after it stopped"
say "wg show ${OV_IF[n1]} allowed-ips"
nsx "${OV_NS[n1]}" wg show "${OV_IF[n1]}" allowed-ips
say "ETCDCTL_API=3 etcdctl get --prefix --keys-only /coreos.com/network/subnets"
ovctl get --prefix --keys-only /coreos.com/network/subnets | grep .
grep -h "removed peer" "$T_TMP/n1.log" | sed 's/^/n1: /'

step "done: removing the hosts, the containers and etcd"
