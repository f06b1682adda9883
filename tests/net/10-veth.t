#!/usr/bin/env bash
# (a) The classic experiment: a veth pair joins two namespaces; ping both ways.
# The pair, addresses, MTU and routes are made by ferry's netlink code (nlctl)
# and checked with iproute2.
. "$(dirname "$0")/lib.sh"
plan 17

ns_new A a
ns_new B b
NL=$TOOLS/nlctl

check "netlink: create veth pair inside A" nsx "$A" "$NL" veth va vb
check "netlink: move one end into B" nsx "$A" "$NL" netns vb "$B"
like "iproute2 sees the veth in A" "veth" "$(ip -n "$A" -d link show va)"
like "iproute2 sees the peer in B" "vb@" "$(ip -n "$B" link show vb)"
nsx "$A" "$NL" addr va 10.201.0.1/24 && nsx "$A" "$NL" addr va fd00:201::1/64 && nsx "$A" "$NL" up va
nsx "$B" "$NL" addr vb 10.201.0.2/24 && nsx "$B" "$NL" addr vb fd00:201::2/64 && nsx "$B" "$NL" up vb
like "netlink: address added" "inet 10.201.0.1/24" "$(ip -n "$A" addr show va)"
check "ping A -> B over IPv4" ping_ok "$A" 10.201.0.2
check "ping B -> A over IPv4" ping_ok "$B" 10.201.0.1
check "ping A -> B over IPv6" ping_ok "$A" fd00:201::2
check "ping B -> A over IPv6" ping_ok "$B" fd00:201::1

nsx "$A" "$NL" mtu va 1400
like "netlink: MTU set" "mtu 1400" "$(ip -n "$A" link show va)"
nsx "$A" "$NL" route va 10.202.0.0/24 via 10.201.0.2
nsx "$A" "$NL" route va fd00:202::/64 via fd00:201::2
like "netlink: IPv4 route via a gateway" "10.202.0.0/24 via 10.201.0.2 dev va" "$(ip -n "$A" route show)"
like "netlink: IPv6 route via a gateway" "fd00:202::/64 via fd00:201::2 dev va" "$(ip -n "$A" -6 route show)"
check "netlink: route deleted" nsx "$A" "$NL" route-del va 10.202.0.0/24
unlike "iproute2 no longer sees the route" "10.202.0.0" "$(ip -n "$A" -4 route show)"
check "netlink: address deleted" nsx "$A" "$NL" addr-del va 10.201.0.1/24
unlike "iproute2 no longer sees the address" "10.201.0.1" "$(ip -n "$A" -4 addr show va)"
nsx "$A" "$NL" del va
refuse "netlink: deleting one end removes the pair" "does not exist" ip -n "$B" link show vb
