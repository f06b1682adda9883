#!/usr/bin/env bash
# (b) A Linux bridge with two veth pairs joins two namespaces, as a switch
# would. The bridge, pairs and ports are made by ferry's netlink code; taking a
# port off the bridge must cut the path, and putting it back must restore it.
. "$(dirname "$0")/lib.sh"
plan 9

ns_new S sw
ns_new H1 h1
ns_new H2 h2
NL=$TOOLS/nlctl

check "netlink: create bridge br0" nsx "$S" "$NL" bridge br0
check "netlink: create two veth pairs" sh -c "ip netns exec $S $NL veth p1 e1 && ip netns exec $S $NL veth p2 e2"
check "netlink: move the hosts' ends into their namespaces" \
	sh -c "ip netns exec $S $NL netns e1 $H1 && ip netns exec $S $NL netns e2 $H2"
check "netlink: enslave both ports to br0" sh -c "ip netns exec $S $NL master p1 br0 && ip netns exec $S $NL master p2 br0"
for l in br0 p1 p2; do nsx "$S" "$NL" up $l; done
nsx "$H1" "$NL" addr e1 10.203.0.1/24 && nsx "$H1" "$NL" up e1
nsx "$H2" "$NL" addr e2 10.203.0.2/24 && nsx "$H2" "$NL" up e2
like "iproute2 sees p1 on br0" "master br0" "$(ip -n "$S" link show p1)"
check "ping h1 -> h2 through the bridge" ping_ok "$H1" 10.203.0.2
check "ping h2 -> h1 through the bridge" ping_ok "$H2" 10.203.0.1
nsx "$S" "$NL" master p2 nomaster
refuse "no path once p2 leaves the bridge" "100% packet loss" nsx "$H1" ping -c 2 -i 0.2 -W 1 10.203.0.2
nsx "$S" "$NL" master p2 br0
check "path back once p2 rejoins" ping_ok "$H1" 10.203.0.2
