#!/usr/bin/env bash
# Abuse of the TCP transport does not keep real peers out or exhaust the
# listener. A has ListenTCP; C is the attacker; B a real peer with
# Transport = tcp.
#  1. Holding the key of M, a peer configured on A, C opens 300 connections,
#     each with a valid handshake initiation as M, kept up with junk
#     messages. A's open file descriptors stay under 200, `wg show` on A
#     answers within 2 s, A does not spin (< 50% of a core over 3 s), and B,
#     coming up then, connects and handshakes within 30 s.
#  2. Then C opens 100 connections that never authenticate and keeps each
#     "alive" with a complete 1-byte junk message every 4 s, and 30 more
#     that sit in a partial frame (a length prefix, then one byte every 4 s).
#     B's daemon restarts and B connects and handshakes again within 30 s,
#     and pings A; A closes every connection that authenticated nothing
#     within 15 s of its opening.
#
# The malicious peer dials its connections a few at a time, each after an
# earlier one got its handshake response, so that the cap on unauthenticated
# connections does not refuse them wholesale. A runs with RLIMIT_NOFILE 256,
# so that descriptors a listener fails to bound run out during the test
# (EMFILE) rather than at a production limit.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
POKE=$TOOLS/wgpoke
IDLE_S=${IDLE_S:-45}
plan 14

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_host C c 192.0.2.3
wg_ifname IA ka
wg_ifname IB kb
wg_keys KA PA a
wg_keys KB PB b
wg_keys KM PM m
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock")
trap wg_cleanup EXIT

cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51841
ListenTCP = 51842
Address = 10.84.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.84.0.2/32

[Peer]
# M: configured, but its key is in the attacker's hands.
PublicKey = $PM
AllowedIPs = 10.84.0.9/32
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51843
Address = 10.84.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.84.0.1/32
Endpoint = 192.0.2.1:51842
Transport = tcp
# B starts a handshake as soon as it is up, and keeps trying.
PersistentKeepalive = 5
CONF
chmod 600 "$T_TMP"/*.conf

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
cpu_below() { # PID PCT SECONDS
	local t0 t1 pct
	t0=$(cpu_ticks "$1") || return 1
	sleep "$3"
	t1=$(cpu_ticks "$1") || return 1
	pct=$(((t1 - t0) * 100 / ($3 * $(getconf CLK_TCK))))
	note "A used $pct% of one core over $3 s"
	echo "A used $pct% of one core over $3 s (limit $2%)"
	[ "$pct" -lt "$2" ]
}
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# The most descriptors A held in SAMPLES looks, a second apart, under LIMIT.
fds_below() { # PID LIMIT SAMPLES
	local i n max=0
	for ((i = 0; i < $3; i++)); do
		n=$(fd_count "$1")
		[ "$n" -gt "$max" ] && max=$n
		sleep 1
	done
	note "A held at most $max file descriptors"
	echo "A held at most $max file descriptors (limit $2)"
	[ "$max" -lt "$2" ]
}
# tcpidle's summary: every connection it made was closed by A, none later
# than SECONDS after it opened, and more than the 64 that may be unbound.
idle_all_closed() { # LOG SECONDS MIN_CONNECTED
	local line
	line=$(grep 'mode=' "$1") || { cat "$1"; return 1; }
	echo "$line"
	awk -v max="$2" -v min="$3" '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		exit !(v["connected"] >= min && v["closed"] == v["connected"] && v["open_at_end"] == 0 &&
		       v["closed_max_s"] <= max)
	}' <<<"$line"
}

# A, with few descriptors to spare; the PID is ferry's (prlimit and ip exec).
bg DA prlimit --nofile=256:256 ip netns exec "$A" "$FERRY" up -f "$T_TMP/$IA.conf" >"$T_TMP/$IA.log" 2>&1
check "ferry up A (ListenTCP 51842, at most 256 descriptors)" \
	eval "wait_for 10 test -S $WG_RUN/$IA.sock && wait_for 5 ip -n $A link show $IA up"
note "A's process: $(cat /proc/"$DA"/comm), $(grep 'open files' /proc/"$DA"/limits | tr -s ' ')"

left() { local s=$(($1 - $(date +%s))); echo $((s > 1 ? s : 1)); } # seconds until epoch $1, at least 1
stop_poke() { # PID: end a wgpoke TCP run (it prints its summary), bounded
	kill "$1" 2>/dev/null
	timeout 10 tail --pid="$1" -f /dev/null
	wait "$1" 2>/dev/null
	t_forget "$1"
}

# 1. The malicious peer's connections.
bg FP ip netns exec "$C" "$POKE" tcpflood 192.0.2.1 51842 "$KM" "$PA" 300 90 >"$T_TMP/tcpflood.log" 2>&1
FLOOD_START=$(date +%s)
# Time for most of them: about 40 handshakes a second (A takes at most 50 a
# second from one peer).
sleep "$(left $((FLOOD_START + 9)))"
note "$(tail -n 1 "$T_TMP/tcpflood.log")"
check "M's connections: A holds fewer than 200 file descriptors" fds_below "$DA" 200 3
check "M's connections: wg show on A answers within 2 s" nsx "$A" timeout 2 wg show "$IA"
check "M's connections: A does not spin (< 50% of a core over 3 s)" cpu_below "$DA" 50 3
check "ferry up B (peer A: Transport = tcp)" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
check "M's connections: B connects and handshakes with A within 30 s" wg_handshake "$B" "$IB" "$PA" 30
stop_poke "$FP"
note "$(tail -n 1 "$T_TMP/tcpflood.log")"
check "the malicious peer dialled all 300 connections, and A took its key (bound >= 1)" \
	grep -qE 'connections=300 dialled=300 .* bound=[1-9]' "$T_TMP/tcpflood.log"

# 2. Connections that never authenticate, the junk-fed ones first (they
# take the unbound slots); B comes up again while they hold them. First B
# stops, and A is let settle: M's connections closed, its listen queue
# drained.
kill "$DB"
wait "$DB" 2>/dev/null
t_forget "$DB"
rm -f "$WG_RUN/$IB.sock"
wait_for 5 eval "! ip -n $B link show $IB"
wait_for 15 eval '[ "$(fd_count "$DA")" -lt 40 ]'
sleep 2
note "A holds $(fd_count "$DA") file descriptors before the idle connections"
bg IP1 ip netns exec "$C" "$POKE" tcpidle 192.0.2.1 51842 100 "$IDLE_S" junk >"$T_TMP/idle-junk.log" 2>&1
wait_for 5 grep -q established "$T_TMP/idle-junk.log"
bg IP2 ip netns exec "$C" "$POKE" tcpidle 192.0.2.1 51842 30 "$IDLE_S" partial >"$T_TMP/idle-partial.log" 2>&1
wait_for 5 grep -q established "$T_TMP/idle-partial.log"
note "$(grep -h established "$T_TMP/idle-junk.log" "$T_TMP/idle-partial.log" | tr '\n' ' ')"
check "B restarted" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
check "idle connections: B connects and handshakes with A again within 30 s" \
	wg_handshake "$B" "$IB" "$PA" 30
check "idle connections: B pings A through the tunnel" ping_ok "$B" 10.84.0.1

# The attackers stop by themselves and report.
for pid in "$IP1" "$IP2"; do
	timeout $((IDLE_S + 20)) tail --pid="$pid" -f /dev/null
	wait "$pid" 2>/dev/null
	t_forget "$pid"
done
note "$(cat "$T_TMP/idle-junk.log" "$T_TMP/idle-partial.log" | grep -v established)"
check "A closed all 100 junk-fed unauthenticated connections within 15 s of their opening" \
	idle_all_closed "$T_TMP/idle-junk.log" 15 100
check "A closed all 30 partial-frame connections within 15 s of their opening" \
	idle_all_closed "$T_TMP/idle-partial.log" 15 30
note "A's counters: $(nsx "$A" "$FERRY" show "$IA" | grep -E 'tcp_|bad_length|stale|handshake' | tr -s ' \n' ' ')"
check "after the attack: A's daemon is alive" kill -0 "$DA"
# (B may be backing off its reconnects: up to 30 s, and 20% jitter.)
check "after the attack: B reaches A within 40 s" wait_for 40 ping_ok "$B" 10.84.0.1
