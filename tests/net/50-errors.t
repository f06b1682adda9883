#!/usr/bin/env bash
# (e) Every bad input gives its own error and a non-zero exit, and leaves no
# device behind.
# asan: yes   (run again with the ASan/UBSan build by tests/run.sh)
. "$(dirname "$0")/lib.sh"
plan 31

ns_new E err
F() { nsx "$E" "$FERRY" "$@"; }

before=$(links_of "$E")

refuse "no /dev/net/tun" "modprobe tun" env FERRY_TUN_DEVICE=/nonexistent/tun ip netns exec "$E" "$FERRY" tuntap add dev n0 mode tun
refuse "empty name" "the name is empty" F tuntap add dev "" mode tun
refuse "name longer than 15 bytes" "longer than 15 bytes" F tuntap add dev 0123456789abcdef mode tun
refuse "name with '/'" "contains '/'" F tuntap add dev a/b mode tun
refuse "name with whitespace" "contains whitespace" F tuntap add dev "a b" mode tun
refuse "name with a tab" "contains whitespace" F tuntap add dev "$(printf 'a\tb')" mode tun
refuse "name with ':'" "contains ':'" F tuntap add dev a:b mode tun
refuse "name '..'" "'.' or '..'" F tuntap add dev .. mode tap
refuse "unknown mode" "unknown mode 'tup'" F tuntap add dev x0 mode tup
refuse "no mode" "needs 'mode tun' or 'mode tap'" F tuntap add dev x0
refuse "no name" "needs 'dev NAME'" F tuntap add mode tun
refuse "unknown user" "unknown user 'no-such-user'" F tuntap add dev x0 mode tun user no-such-user
refuse "unknown group" "unknown group 'no-such-group'" F tuntap add dev x0 mode tun group no-such-group
refuse "unknown word" "unknown argument 'multiqueue'" F tuntap add dev x0 mode tun multiqueue
refuse "unknown operation" "unknown operation 'ad'" F tuntap ad dev x0 mode tun
refuse "unknown option" "unexpected argument '--tunnel'" F --tunnel
refuse "a daemon with a bad interface name" "invalid interface name 'a/b'" F -f a/b
refuse "del of a missing device" "no device named 'x9'" F tuntap del dev x9
refuse "show of a missing device" "no tun/tap device named 'x9'" F tuntap show dev x9

# Names taken by devices of another kind.
ip -n "$E" link add v0 type veth peer name v1
F tuntap add dev tp0 mode tap user root >/dev/null
F tuntap add dev mq0 mode tun multi_queue >/dev/null
before=$(links_of "$E")
refuse "add over a veth" "'v0' exists and is a veth device" F tuntap add dev v0 mode tun
refuse "del of a veth" "'v0' is a veth device, not a tun/tap device" F tuntap del dev v0
refuse "add over an existing tap" "exists already (a tap device)" F tuntap add dev tp0 mode tap
refuse "attach as tun to a tap" "'tp0' is a tap device, not tun" nsx "$E" "$TOOLS/tungw" tun --dev tp0 --attach
refuse "attach without multi_queue to a multi_queue device" "created with multi_queue" \
	nsx "$E" "$TOOLS/tungw" tun --dev mq0 --attach
refuse "del with the wrong mode" "'tp0' is a tap device, not tun" F tuntap del dev tp0 mode tun
refuse "attach to a missing device" "no device named 'nx0' to attach to" nsx "$E" "$TOOLS/tungw" tap --dev nx0 --attach

# Permissions: an unprivileged user may neither create a device nor attach
# to one owned by another user (tp0 belongs to root; a device with no owner
# and no group is open to anyone who can open the clone node).
cp "$FERRY" "$T_TMP/ferry"
cp "$TOOLS/tungw" "$T_TMP/tungw"
asnobody() { nsx "$E" setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
refuse "nobody cannot create a device" "ermi" asnobody "$T_TMP/ferry" tuntap add dev np0 mode tun
if mknod -m 0666 "$T_TMP/tun" c 10 200 2>/dev/null; then
	refuse "nobody cannot create a device, even with access to the clone node" "needs CAP_NET_ADMIN" \
		asnobody env FERRY_TUN_DEVICE="$T_TMP/tun" "$T_TMP/ferry" tuntap add dev np0 mode tun
	refuse "nobody cannot attach to root's device" "not permitted to attach to 'tp0'" \
		asnobody env FERRY_TUN_DEVICE="$T_TMP/tun" "$T_TMP/tungw" tap --dev tp0 --attach --no-config
	refuse "nobody cannot delete root's device" "not permitted" \
		asnobody env FERRY_TUN_DEVICE="$T_TMP/tun" "$T_TMP/ferry" tuntap del dev tp0
else
	skip "nobody with access to the clone node" "cannot create a device node in $T_TMP"
	skip "nobody cannot attach to root's device" "cannot create a device node in $T_TMP"
	skip "nobody cannot delete root's device" "cannot create a device node in $T_TMP"
fi
check "no device was left behind or removed by the failures" test "$(links_of "$E")" = "$before"
