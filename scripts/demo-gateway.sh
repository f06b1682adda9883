#!/usr/bin/env bash
# make demo-gateway: the gateway between the kernel's network stack and
# userspace, shown in a network namespace of its own that is removed at the end.
set -u
cd "$(dirname "$0")/.."
FERRY=build/ferry
GW=build/tests/tools/tungw
NS="ferry-demo-$$"

cleanup() { ip netns del "$NS" 2>/dev/null; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$(id -u)" -ne 0 ]; then
	echo "make demo needs root (it creates a network namespace and TUN/TAP devices)" >&2
	exit 1
fi
step() { printf '\n== %s\n' "$*"; }

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up
echo "ferry demo, in network namespace $NS (removed at the end)"

step "1. TUN, layer 3: a program writes an IP packet into the device; the kernel answers through it"
ip netns exec "$NS" "$GW" tun --dev demo-tun || exit 1

step "2. TUN with IPv6 and a virtio_net_hdr before each packet (the offload path)"
ip netns exec "$NS" "$GW" tun --dev demo-tun6 --ipv6 --vnet-hdr || exit 1

step "3. TAP, layer 2: Ethernet frames, so ARP first, then the echo"
ip netns exec "$NS" "$GW" tap --dev demo-tap || exit 1

step "4. Persistent devices for unprivileged users (ferry tuntap, as ip tuntap)"
echo "\$ ferry tuntap add dev vm0 mode tap user nobody group nogroup multi_queue vnet_hdr"
ip netns exec "$NS" "$FERRY" tuntap add dev vm0 mode tap user nobody group nogroup multi_queue vnet_hdr || exit 1
echo "\$ ferry tuntap show"
ip netns exec "$NS" "$FERRY" tuntap show
echo "\$ ip -d link show vm0   (the kernel's view)"
ip netns exec "$NS" ip -d link show vm0 | sed -n 's/^ *\(tun type.*\) addrgenmode.*/    \1/p'
echo "\$ ferry tuntap del dev vm0"
ip netns exec "$NS" "$FERRY" tuntap del dev vm0 || exit 1
echo "\$ ferry tuntap show"
ip netns exec "$NS" "$FERRY" tuntap show
echo "(nothing: vm0 is gone)"

step "done: the namespace and its devices are removed"
