#!/usr/bin/env bash
# Hostile input against a running ferry with a live session to wireguard-go:
# malformed messages of every kind, a replayed data message, a tampered one,
# a replayed handshake initiation, and an inner packet whose source the peer
# may not use. Each must be dropped and counted under its own reason in
# `ferry show`, and the live session must carry traffic before and after.
# asan: yes
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
WG_A=${WG_A:-$FERRY}
WG_B=${WG_B:-wireguard-go}
POKE=$TOOLS/wgpoke
plan 17

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_ifname IA ba
wg_ifname IB bb
wg_keys KA PA a
wg_keys KB PB b
wg_start PIDA "$A" "$WG_A" "$IA" >"$T_TMP/start.log" && wg_start PIDB "$B" "$WG_B" "$IB" >>"$T_TMP/start.log"
t_result $? "ferry and wireguard-go start" "$T_TMP/start.log"
wg_set "$A" "$IA" private-key "$KA" listen-port 51001 peer "$PB" allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51002
wg_set "$B" "$IB" private-key "$KB" listen-port 51002 peer "$PA" allowed-ips 10.99.0.0/24 endpoint 192.0.2.1:51001
wg_addr "$A" "$IA" 10.99.0.1/24
wg_addr "$B" "$IB" 10.99.0.2/24
wt check "a live session: ping A -> B" ping_ok "$A" 10.99.0.2

# count NAME: ferry's drop counter NAME (0 when absent).
count() { nsx "$A" "$WG_A" show "$IA" | awk -v k="  $1:" 'index($0, k) == 1 { print $2; f = 1 } END { if (!f) print 0 }'; }
at_least() { [ "$(count "$1")" -ge "$2" ]; }

check "malformed messages of every kind are sent" nsx "$B" "$POKE" junk 192.0.2.1 51001
sleep 0.3
check "wrong lengths counted (bad_length >= 5)" at_least bad_length 5
check "unknown types counted (unknown_type >= 2)" at_least unknown_type 2
check "forged MAC1 counted (bad_mac1 >= 2)" at_least bad_mac1 2
check "data for an unknown session counted (unknown_index >= 1)" at_least unknown_index 1

# A real data message from B, captured on B's wire, sent again and tampered with.
bg CAP ip netns exec "$B" "$POKE" capture eth0 51001 4 "$T_TMP/data.bin" 10 >"$T_TMP/cap.log"
wait_for 3 grep -q capturing "$T_TMP/cap.log"
nsx "$B" ping -c 2 -i 0.2 -W 1 -q 10.99.0.1 >/dev/null
wait "$CAP" 2>/dev/null
check "a data message from wireguard-go captured" test -s "$T_TMP/data.bin"
nsx "$B" "$POKE" send 192.0.2.1 51001 "$T_TMP/data.bin"
nsx "$B" "$POKE" send 192.0.2.1 51001 "$T_TMP/data.bin" flip
sleep 0.3
check "the replayed data message is counted (replayed_counter >= 1)" at_least replayed_counter 1
check "the tampered one fails authentication (decrypt_failed >= 1)" at_least decrypt_failed 1

# A real initiation from B, replayed after it was used: its timestamp is stale.
wg_set "$B" "$IB" peer "$PA" remove
wg_set "$B" "$IB" peer "$PA" allowed-ips 10.99.0.0/24 endpoint 192.0.2.1:51001
bg CAP ip netns exec "$B" "$POKE" capture eth0 51001 1 "$T_TMP/init.bin" 10 >"$T_TMP/cap2.log"
wait_for 3 grep -q capturing "$T_TMP/cap2.log"
nsx "$B" ping -c 3 -i 0.3 -W 1 -q 10.99.0.1 >/dev/null
wait "$CAP" 2>/dev/null
check "a handshake initiation from wireguard-go captured" test -s "$T_TMP/init.bin"
nsx "$B" "$POKE" send 192.0.2.1 51001 "$T_TMP/init.bin"
sleep 0.3
check "the replayed initiation is refused (stale_timestamp >= 1)" at_least stale_timestamp 1

# B sends from an inner address A does not allow for it.
ip -n "$B" addr add 10.99.0.5/24 dev "$IB"
refuse "ping from a disallowed inner source gets no answer" "100% packet loss" \
	nsx "$B" ping -c 2 -i 0.2 -W 1 -I 10.99.0.5 10.99.0.1
check "the disallowed source is counted (disallowed_source >= 2)" at_least disallowed_source 2

wt check "the session still carries traffic: ping A -> B" ping_ok "$A" 10.99.0.2
wt check "and B -> A" ping_ok "$B" 10.99.0.1
check "ferry is still running" kill -0 "$PIDA"
