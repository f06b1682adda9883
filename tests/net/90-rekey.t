#!/usr/bin/env bash
# Rekeying against wireguard-go, watched in real time with the test-only
# build of ferry whose REKEY_AFTER_TIME is 8 s and REJECT_AFTER_TIME 12 s
# (make test-timers; messages.h). Under steady traffic ferry, the initiator,
# must start new handshakes by itself and traffic must keep flowing across
# them; a keypair older than REJECT_AFTER_TIME must never be used.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_A=${WG_A:-$TOP/build/test-timers/ferry}
WG_B=${WG_B:-wireguard-go}
plan 5

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ra
wg_ifname IB rb
wg_keys KA PA a
wg_keys KB PB b
wg_start PIDA "$A" "$WG_A" "$IA" >"$T_TMP/start.log" && wg_start PIDB "$B" "$WG_B" "$IB" >>"$T_TMP/start.log"
t_result $? "ferry (short timers) and wireguard-go start" "$T_TMP/start.log"
wg_set "$A" "$IA" private-key "$KA" listen-port 51001 peer "$PB" allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51002
wg_set "$B" "$IB" private-key "$KB" listen-port 51002 peer "$PA" allowed-ips 10.99.0.1/32
wg_addr "$A" "$IA" 10.99.0.1/24
wg_addr "$B" "$IB" 10.99.0.2/24
wt check "first handshake, ferry initiating" ping_ok "$A" 10.99.0.2

# 25 s of pings (5 a second) while sampling ferry's latest handshake time.
bg PING ip netns exec "$A" ping -q -i 0.2 -c 125 -W 1 10.99.0.2 >"$T_TMP/ping.log"
: >"$T_TMP/hs"
for _ in $(seq 26); do
	wg_hs_time "$A" "$IA" "$PB" >>"$T_TMP/hs"
	sleep 1
done
wait "$PING" 2>/dev/null
rc=$?
distinct=$(sort -u "$T_TMP/hs" | grep -vc '^0$')
check "ferry rekeyed by itself at least twice in 25 s ($distinct distinct handshakes)" test "$distinct" -ge 3
check "traffic flowed across the rekeys (ping lost at most a few)" test "$rc" = 0
wt check "still talking after the rekeys" ping_ok "$A" 10.99.0.2
