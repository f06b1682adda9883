#!/usr/bin/env bash
# (d) `ferry tuntap add/show/del` with every option, checked against the
# kernel's own view (`ip -d link show`); multi-queue attach/detach and
# offload negotiation on a held device.
. "$(dirname "$0")/lib.sh"
plan 26

ns_new N tt
F() { nsx "$N" "$FERRY" "$@"; }
dlink() { ip -n "$N" -d link show "$1" 2>&1; }

check "add dev t0 mode tap user nobody group nogroup multi_queue vnet_hdr" \
	F tuntap add dev t0 mode tap user nobody group nogroup multi_queue vnet_hdr
d=$(dlink t0)
like "kernel: t0 is a tap without pi, with vnet_hdr and multi_queue" "tun type tap pi off vnet_hdr on multi_queue" "$d"
like "kernel: t0 is persistent, owned by nobody:nogroup" "persist on user nobody group nogroup" "$d"

check "add dev t1 mode tun pi one_queue" F tuntap add dev t1 mode tun pi one_queue
d=$(dlink t1)
like "kernel: t1 is a tun with pi, without vnet_hdr" "tun type tun pi on vnet_hdr off" "$d"
unlike "kernel: t1 is single-queue" "multi_queue" "$d"
unlike "kernel: t1 has no owner" "user " "$d"

check "add dev t2 mode tun user 4242 group 4343 (numbers)" F tuntap add dev t2 mode tun user 4242 group 4343
like "kernel: t2 is owned by 4242:4343" "persist on user 4242 group 4343" "$(dlink t2)"
check "add mode tap t3 (bare name, as ip tuntap takes it)" F tuntap add mode tap t3
like "kernel: t3 is a tap" "tun type tap" "$(dlink t3)"

s=$(F tuntap show)
like "show: t0 line" "t0: tap vnet_hdr multi_queue persist user nobody group nogroup queues 0 disabled 0" "$s"
like "show: t1 line" "t1: tun pi persist" "$s"
like "show: t2 line" "t2: tun persist user 4242 group 4343" "$s"
check "show agrees with ip tuntap show on the set of devices" \
	test "$(F tuntap show | grep -oE '^[^:]+' | sort | tr '\n' ' ')" = \
	"$(ip netns exec "$N" ip tuntap show | grep -oE '^[^:]+' | sort | tr '\n' ' ')"
check "list dev t1 shows only t1" test "$(F tuntap list dev t1 | grep -c '^t')" = 1

# Four queues, one detached: the kernel must count 3 attached and 1 disabled.
ready=$T_TMP/ready
bg HOLD ip netns exec "$N" "$TOOLS/tungw" hold --dev t0 --mode tap --multi-queue --vnet-hdr --queues 4 --detach 1 \
	--offload --seconds 20 --ready "$ready" >"$T_TMP/hold.log"
if wait_for 5 test -e "$ready"; then
	like "kernel: 4 queues open, 1 detached" "numqueues 3 numdisabled 1" "$(dlink t0)"
	like "show: queues and the attached process" "Attached to processes: tungw($HOLD)" "$(F tuntap show dev t0)"
	kill -USR1 "$HOLD"
	if wait_for 5 test -e "$ready.attached"; then
		like "kernel: the queue attached again" "numqueues 4 numdisabled 0" "$(dlink t0)"
	else
		t_result 1 "kernel: the queue attached again"
	fi
else
	t_result 1 "held device came up"
	t_result 1 "show: queues"
	t_result 1 "kernel: the queue attached again"
fi
kill "$HOLD" 2>/dev/null
wait "$HOLD" 2>/dev/null
offl=$(nsx "$N" "$TOOLS/tungw" hold --dev t0 --mode tap --multi-queue --vnet-hdr --offload --seconds 0 | sed -n 's/^offloads //p')
check "offloads negotiated on a vnet_hdr device include checksum and TSO ($offl)" \
	test $((offl & 0x7)) = 7
refuse "offloads refused without vnet_hdr" "offloads need vnet_hdr" \
	nsx "$N" "$TOOLS/tungw" hold --dev t1 --mode tun --pi --offload --seconds 0

check "del dev t0 (by name alone)" F tuntap del dev t0
refuse "kernel: t0 is gone" "does not exist" ip -n "$N" link show t0
check "del dev t1 mode tun" F tuntap del dev t1 mode tun
check "del t2 t3 (bare names)" sh -c "ip netns exec $N $FERRY tuntap del t2 && ip netns exec $N $FERRY tuntap del t3"
check "nothing left but lo" test "$(links_of "$N")" = "lo "
