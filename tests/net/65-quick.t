#!/usr/bin/env bash
# wg-quick drives ferry as its userspace implementation
# (WG_QUICK_USERSPACE_IMPLEMENTATION=ferry wg-quick up CONFIG) on one host;
# the other host uses ferry's own one-command form (ferry up CONFIG). Both
# go to the background, carry traffic, and come down cleanly: wg-quick down
# deletes the link, ferry down removes the socket; either way ferry exits.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 14

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA qa
wg_ifname IB qb
wg_keys KA PA a
wg_keys KB PB b

# Backgrounded daemons are not children of this script: find them by the
# TUN device they hold, and end exactly those.
daemon_pids() { ip netns exec "$1" "$FERRY" tuntap show dev "$2" 2>/dev/null | grep -o '([0-9]*)' | tr -d '()'; }
q_cleanup() {
	local p
	for p in $(daemon_pids "$A" "$IA") $(daemon_pids "$B" "$IB"); do
		kill "$p" 2>/dev/null
	done
	sleep 0.2
	wg_cleanup
}
trap q_cleanup EXIT

CA=$T_TMP/$IA.conf
CB=$T_TMP/$IB.conf
cat >"$CA" <<CONF
# host A, brought up by wg-quick
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51001
Address = 10.98.0.1/24, fd00:98::1/64
MTU = 1400

[Peer]
PublicKey = $PB
AllowedIPs = 10.98.0.2/32, fd00:98::2/128
Endpoint = 192.0.2.2:51002
CONF
cat >"$CB" <<CONF
[Interface]
PrivateKey = $(cat "$KB")   # host B, brought up by ferry up
ListenPort = 51002
Address = 10.98.0.2/24
Address = fd00:98::2/64

[Peer]
PublicKey = $PA
AllowedIPs = 10.98.0.1/32, fd00:98::1/128
Endpoint = 192.0.2.1:51001
PersistentKeepalive = 25
CONF
chmod 600 "$CA" "$CB"
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")

check "wg-quick up with WG_QUICK_USERSPACE_IMPLEMENTATION=ferry" \
	nsx "$A" env WG_QUICK_USERSPACE_IMPLEMENTATION="$FERRY" wg-quick up "$CA"
check "ferry up CONFIG (returns once the interface is ready)" nsx "$B" "$FERRY" up "$CB"
check "both daemons run in the background" test -n "$(daemon_pids "$A" "$IA")" -a -n "$(daemon_pids "$B" "$IB")"
like "ferry up: addresses set over netlink" "inet 10.98.0.2/24" "$(ip -n "$B" addr show "$IB")"
like "ferry up: route for AllowedIPs" "10.98.0.1 dev $IB" "$(ip -n "$B" route show)"
like "ferry up: MTU 1420 by default" "mtu 1420" "$(ip -n "$B" link show "$IB")"
like "wg-quick: MTU from the file" "mtu 1400" "$(ip -n "$A" link show "$IA")"
check "ping A -> B (IPv4)" ping_ok "$A" 10.98.0.2
check "ping B -> A (IPv6)" ping_ok "$B" fd00:98::1
like "wg show on the wg-quick side sees B's endpoint" "192.0.2.2:51002" "$(nsx "$A" wg show "$IA" endpoints)"
like "ferry show lists the peer with a handshake" "latest handshake:" "$(nsx "$B" "$FERRY" show "$IB")"

check "wg-quick down" nsx "$A" env WG_QUICK_USERSPACE_IMPLEMENTATION="$FERRY" wg-quick down "$CA"
check "ferry down CONFIG" nsx "$B" "$FERRY" down "$CB"
check "both daemons exited; devices and sockets gone" sh -c "sleep 0.5; ! ip -n $A link show $IA 2>/dev/null && \
	! ip -n $B link show $IB 2>/dev/null && [ ! -e $WG_RUN/$IA.sock ] && [ ! -e $WG_RUN/$IB.sock ] && \
	[ -z \"\$(ps -eo args | grep -F -e '$IA' -e '$IB' | grep -v grep)\" ]"
