#!/usr/bin/env bash
# A handshake flood does not take a tunnel down. An attacker C on the same
# network floods A's UDP port with handshake initiations that carry a valid
# MAC1 for A's public key (the key is no secret), spoofed from the 250
# addresses of a /24, as fast as it can for FLOOD_S seconds. Meanwhile: ping
# through the established tunnel B -> A answers; 8 MiB cross it with equal
# sha256 within 20 s; a new peer D, whose handshake A under load must answer
# with a cookie first, completes it within 15 s; `wg show` on A answers
# within 2 s. A sent cookie replies (it noticed the load), and once the flood
# ends A is alive, not spinning, and the tunnel still works.
# (WGPOKE_FLOOD_PPS in the environment caps the flood's rate, for
# experiments; by default it is as fast as wgpoke can send.)
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
POKE=$TOOLS/wgpoke
FLOOD_S=${FLOOD_S:-30}
plan 13

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_host C c 192.0.2.3
wg_host D d 192.0.2.4
wg_ifname IA fa
wg_ifname IB fb
wg_ifname ID fd
wg_keys KA PA a
wg_keys KB PB b
wg_keys KD PD d
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock" "$WG_RUN/$ID.sock")
trap wg_cleanup EXIT

cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51821
Address = 10.82.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.82.0.2/32

[Peer]
PublicKey = $PD
AllowedIPs = 10.82.0.4/32
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51822
Address = 10.82.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.82.0.1/32
Endpoint = 192.0.2.1:51821
CONF
# D comes up during the flood; its keepalive starts a handshake at once.
cat >"$T_TMP/$ID.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KD")
ListenPort = 51824
Address = 10.82.0.4/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.82.0.1/32
Endpoint = 192.0.2.1:51821
PersistentKeepalive = 1
CONF
chmod 600 "$T_TMP"/*.conf

# ferry's CPU time (user + system, in clock ticks) and whether it stays
# under PCT % of one core over SECONDS.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_below() { # PID PCT SECONDS
	local t0 t1 pct
	t0=$(cpu_ticks "$1") || return 1
	sleep "$3"
	t1=$(cpu_ticks "$1") || return 1
	pct=$(((t1 - t0) * 100 / ($3 * $(getconf CLK_TCK))))
	note "ferry used $pct% of one core over $3 s"
	echo "ferry used $pct% of one core over $3 s (limit $2%)"
	[ "$pct" -lt "$2" ]
}
# MB MiB FROM -> TO over TCP through the tunnel (nc), sha256 compared,
# given SECONDS at most (wg_xfer's own limit is 30 s + 1 s a MiB).
xfer_within() { # SECONDS FROM TO ADDR MB
	local limit=$1 from=$2 to=$3 addr=$4 mb=$5 data="$T_TMP/data-$5M" got="$T_TMP/xfer.got" t0 ms rc rpid
	head -c "${mb}M" /dev/urandom >"$data" || return 1
	ip netns exec "$to" timeout "$((limit + 2))" nc -l -n "$addr" 5001 >"$got" 2>/dev/null </dev/null &
	rpid=$!
	wait_for 5 wg_listening "$to" 5001 || echo "the receiver does not listen"
	t0=$(wg_ms)
	nsx "$from" timeout "$limit" nc -N -n -w "$limit" "$addr" 5001 <"$data"
	rc=$?
	timeout 3 tail --pid="$rpid" -f /dev/null
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	ms=$(($(wg_ms) - t0))
	echo "nc exit status $rc; sent $(stat -c %s "$data") bytes, received $(stat -c %s "$got") in $ms ms"
	[ "$rc" = 0 ] && cmp -s "$data" "$got" && [ "$ms" -le $((limit * 1000)) ] || return 1
	note "$mb MiB in $ms ms during the flood"
}
cookies_sent() { [ "$(ferry_drops "$A" "$IA" cookie_sent)" -gt 0 ] 2>/dev/null; }

check "ferry up A" ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA"
check "ferry up B (peer A over UDP)" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
check "before the flood: B reaches A through the tunnel" ping_ok "$B" 10.82.0.1

# The flood's spoofed sources are routed to C, which drops what A answers
# them (it does not forward): A's cookie replies go nowhere, as they would
# to spoofed hosts on the internet.
ip -n "$A" route add 198.51.100.0/24 via 192.0.2.3
bg FP ip netns exec "$C" "$POKE" flood 192.0.2.1 51821 "$PA" "$FLOOD_S" 198.51.100.0/24 >"$T_TMP/flood.log" 2>&1
FLOOD_END=$(($(date +%s) + FLOOD_S))
sleep 2

check "A is under load and answers with cookie replies (cookie_sent > 0)" wait_for 5 cookies_sent
check "during the flood: wg show on A answers within 2 s" nsx "$A" timeout 2 wg show "$IA"
wt check "during the flood: ping B -> A through the tunnel answers" ping_ok "$B" 10.82.0.1

# Concurrently: the transfer from B, and D's first handshake (which needs a
# cookie round trip: A is under load).
xfer_within 20 "$B" "$A" 10.82.0.1 8 >"$T_TMP/xfer.out" 2>&1 &
XP=$!
T_PIDS+=("$XP")
check "during the flood: ferry up D, a new peer of A" ferry_up DD "$D" "$T_TMP/$ID.conf" "$ID"
wt check "during the flood: D's first handshake with A completes within 15 s" wg_handshake "$D" "$ID" "$PA" 15
wait "$XP"
t_result $? "during the flood: 8 MiB B -> A through the tunnel, equal, within 20 s" "$T_TMP/xfer.out"
t_forget "$XP"
[ "$(date +%s)" -lt "$FLOOD_END" ] || note "the flood ended before these checks did (FLOOD_S=$FLOOD_S)"

# The flood ends by itself; then A must be idle again.
timeout $((FLOOD_S + 15)) tail --pid="$FP" -f /dev/null
wait "$FP" 2>/dev/null
FLOOD_RC=$?
t_forget "$FP"
note "$(cat "$T_TMP/flood.log")"
check "the flooder sent initiations from 250 spoofed sources" \
	eval "[ $FLOOD_RC = 0 ] && grep -q 'sources=250' $T_TMP/flood.log && cat $T_TMP/flood.log"
note "A's counters: $(nsx "$A" "$FERRY" show "$IA" | grep -E 'cookie_sent|bad_mac1|ratelimited|handshake_invalid' | tr -s ' \n' ' ')"
check "after the flood: A's daemon is alive" kill -0 "$DA"
sleep 1
check "after the flood: A is not spinning (< 50% of a core over 3 s)" cpu_below "$DA" 50 3
wt check "after the flood: the tunnel still works" ping_ok "$B" 10.82.0.1
