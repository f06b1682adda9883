#!/usr/bin/env bash
# Transport = auto (issue 12, item 7): A reaches B over UDP; in the middle of
# a transfer nftables on B starts dropping every UDP datagram, and A goes
# over to TCP (B's ListenTCP, A's TCPPort) by itself: traffic is back within
# 30 s and the transfer completes with the same sha256. Once UDP passes
# again, A's probe over UDP is answered and both sides are back on UDP.
# The times are printed as TAP comments (the fallback and return times of
# docs/notes/tcp-transport.md).
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 17

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA fa
wg_ifname IB fb
wg_keys KA PA a
wg_keys KB PB b
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")
trap wg_cleanup EXIT

cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51891
Address = 10.89.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.89.0.2/32
Endpoint = 192.0.2.2:51892
Transport = auto
TCPPort = 51893
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51892
ListenTCP = 51893
Address = 10.89.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.89.0.1/32
CONF
chmod 600 "$T_TMP"/*.conf

reach_of() { nsx "$1" "$FERRY" show "$2" | awk '$1 == "peer:" { $1 = $2 = ""; print }'; }
endpoint_of() { nsx "$1" wg show "$2" endpoints | awk '{ print $2 }'; }
on() { [[ "$(reach_of "$A" "$IA")" == *"now $1"* ]]; }

# The daemons' logs: their lines about the fallback end this test's output.
check "ferry up A (peer B: Transport = auto, TCPPort = 51893)" \
	eval 'ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA" 2>>"$T_TMP/A.log"'
check "ferry up B (ListenTCP = 51893)" eval 'ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB" 2>>"$T_TMP/B.log"'
check "A reaches B over UDP" ping_ok "$A" 10.89.0.2
like "ferry show: transport auto, now udp" "transport auto, now udp (fell back to tcp 0 times)" "$(reach_of "$A" "$IA")"
like "A's endpoint for B is B's UDP port" "192.0.2.2:51892" "$(endpoint_of "$A" "$IA")"

# A transfer A -> B, written slowly (0.25 s per 512 KiB) so that UDP can be
# blocked while it runs. No idle timeout on nc: the outage is longer than any.
MB=16
data=$T_TMP/data got=$T_TMP/got
head -c "${MB}M" /dev/urandom >"$data"
: >"$got"
bg RPID ip netns exec "$B" timeout 150 nc -l -n 10.89.0.2 5089 >"$got" 2>/dev/null </dev/null 3>&-
wait_for 5 wg_listening "$B" 5089
bg SPID ip netns exec "$A" timeout 150 bash -c "for i in \$(seq 0 $((MB * 2 - 1))); do
	dd if='$data' bs=512K skip=\$i count=1 status=none; sleep 0.25; done | nc -N -n 10.89.0.2 5089" 3>&-
check "the transfer has started (1 MiB received)" wait_for 15 eval "[ \$(stat -c %s $got) -ge 1048576 ]"

nsx "$B" nft -f - <<'NFT'
table inet ferrytest {
	chain in { type filter hook input priority 0; meta l4proto udp counter drop; }
	chain out { type filter hook output priority 0; meta l4proto udp counter drop; }
}
NFT
T0=$(wg_ms)
note "UDP blocked on B after $(($(stat -c %s "$got") / 1024)) KiB"

# Pings every 0.2 s, each reply stamped (-D): the first one after the block
# says when the tunnel carried traffic again.
bg PPID_ ip netns exec "$A" ping -D -n -i 0.2 -w 40 10.89.0.2 >"$T_TMP/ping" 2>&1 3>&-
first_reply() {
	awk -v t0="$T0" -F'[][]' '/bytes from/ && $2 * 1000 > t0 + 500 { printf "%d\n", $2 * 1000 - t0; exit }' "$T_TMP/ping"
}
wait_for 40 eval 'test -n "$(first_reply)"'
back=$(first_reply)
kill "$PPID_" 2>/dev/null
wait "$PPID_" 2>/dev/null
t_forget "$PPID_"
note "traffic back ${back:-never (40 s)} ms after UDP was blocked"
check "traffic resumes within 30 s" test -n "$back" -a "${back:-99999}" -le 30000
check "A went over to TCP" on tcp
like "A's endpoint for B is B's TCP port" "192.0.2.2:51893" "$(endpoint_of "$A" "$IA")"
unlike "B's endpoint for A is not A's UDP port any more" "192.0.2.1:51891" "$(endpoint_of "$B" "$IB")"
check "UDP was dropped meanwhile (nftables counted it)" eval \
	"nsx $B nft list chain inet ferrytest in | grep -qE 'counter packets [1-9]'"

# The transfer goes on over TCP and completes intact.
timeout 150 tail --pid="$SPID" -f /dev/null
wait "$SPID"
src=$?
t_forget "$SPID"
timeout 10 tail --pid="$RPID" -f /dev/null
kill "$RPID" 2>/dev/null
wait "$RPID" 2>/dev/null
t_forget "$RPID"
note "transfer done $(($(wg_ms) - T0)) ms after UDP was blocked (sender status $src)"
check "the transfer completed: $MB MiB, same sha256" \
	test "$(sha256sum <"$data" | cut -d' ' -f1)" = "$(sha256sum <"$got" | cut -d' ' -f1)"

nsx "$B" nft delete table inet ferrytest
T2=$(wg_ms)
check "A is back on UDP within 45 s of UDP passing again (probe every 30 s)" wait_for 45 on udp
note "back on UDP $(($(wg_ms) - T2)) ms after UDP was unblocked"
like "A's endpoint for B is B's UDP port again" "192.0.2.2:51892" "$(endpoint_of "$A" "$IA")"
check "B reaches A, and B's endpoint for A is A's UDP port again" \
	eval "ping_ok $B 10.89.0.1 && wait_for 5 eval '[ \"\$(endpoint_of $B $IB)\" = 192.0.2.1:51891 ]'"
like "ferry show counts one fallback" "fell back to tcp 1 time)" "$(reach_of "$A" "$IA")"
check "both daemons still run" eval "kill -0 $DA && kill -0 $DB"
grep -h "peer" "$T_TMP/A.log" "$T_TMP/B.log" | sed 's/^/# /'
