#!/usr/bin/env bash
# (c) The gateway to userspace: a program writes an ICMP echo request into a
# TUN device and reads the kernel's reply from it; the same with Ethernet
# frames (ARP, then ICMP) through a TAP device. Every header combination.
# Then the qemu way: root makes a persistent TAP owned by nobody, and nobody,
# without any capability, attaches to it and carries the traffic.
. "$(dirname "$0")/lib.sh"
plan 11

ns_new G gw
GW=$TOOLS/tungw

check "tun: IPv4 echo through the device" nsx "$G" "$GW" tun --dev g1
check "tun with packet information: IPv4 echo" nsx "$G" "$GW" tun --dev g2 --pi
check "tun with vnet_hdr: IPv4 echo" nsx "$G" "$GW" tun --dev g3 --vnet-hdr
check "tun: IPv6 echo through the device" nsx "$G" "$GW" tun --dev g4 --ipv6
check "tun with pi and vnet_hdr: IPv6 echo" nsx "$G" "$GW" tun --dev g5 --ipv6 --pi --vnet-hdr
check "tap: ARP, then IPv4 echo in Ethernet frames" nsx "$G" "$GW" tap --dev g6
check "tap with vnet_hdr: ARP and echo" nsx "$G" "$GW" tap --dev g7 --vnet-hdr
check "tap with packet information: ARP and echo" nsx "$G" "$GW" tap --dev g8 --pi
check "devices of exited programs are gone (not persistent)" test "$(links_of "$G")" = "lo "

# A private clone node with mode 0666 stands in for a distribution's
# /dev/net/tun (0666 on Debian), without touching this machine's /dev.
if mknod -m 0666 "$T_TMP/tun" c 10 200 2>/dev/null && cp "$GW" "$T_TMP/tungw"; then
	nsx "$G" "$FERRY" tuntap add dev ut0 mode tap user nobody
	nsx "$G" "$TOOLS/nlctl" addr ut0 10.200.1.1/24
	nsx "$G" "$TOOLS/nlctl" up ut0
	check "nobody attaches to its own persistent tap and exchanges ARP and echo" \
		nsx "$G" setpriv --reuid=65534 --regid=65534 --clear-groups \
		env FERRY_TUN_DEVICE="$T_TMP/tun" "$T_TMP/tungw" tap --dev ut0 --attach --no-config
	like "the persistent device stays after nobody's program exits" "ut0: tap persist user nobody" \
		"$(nsx "$G" "$FERRY" tuntap show)"
else
	skip "nobody attaches to its own persistent tap" "cannot create a device node in $T_TMP"
	skip "the persistent device stays" "cannot create a device node in $T_TMP"
fi
