#!/usr/bin/env bash
# profile.sh - where ferry's cycles go at full speed: two namespaces joined by
# a veth pair (192.0.2.1, .2), ferry on both, one iperf3 run A->B through the
# tunnel while `perf record -g` samples both daemons. Prints the throughput,
# how busy the machine was, each daemon's CPU, and the profile by library and
# by symbol (docs/PERFORMANCE.md, "What bounds ferry now").
#
#   bench/profile.sh [FERRY] [STREAMS] [SECONDS]    (defaults build/ferry 1 8)
# Needs root, iperf3, wg, jq and perf (linux-perf). Everything it creates is
# removed on exit; it ends only the processes it started.
set -u
F=${1:-$(dirname "$0")/../build/ferry}
P=${2:-1}
S=${3:-8}
A=ferry-prof-$$-a B=ferry-prof-$$-b IA=fpa$$ IB=fpb$$
T=$(mktemp -d /tmp/ferry-prof.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	ip netns del "$A" 2>/dev/null
	ip netns del "$B" 2>/dev/null
	rm -f "/var/run/wireguard/$IA.sock" "/var/run/wireguard/$IB.sock"
	rm -rf "$T"
}
trap cleanup EXIT
for c in iperf3 wg jq perf; do
	command -v "$c" >/dev/null || { echo "profile.sh: '$c' not found" >&2; exit 1; }
done
ip netns add "$A" && ip netns add "$B" || exit 1
ip -n "$A" link add eth0 type veth peer name eth0 netns "$B"
ip -n "$A" addr add 192.0.2.1/24 dev eth0
ip -n "$B" addr add 192.0.2.2/24 dev eth0
for n in "$A" "$B"; do ip -n "$n" link set eth0 up && ip -n "$n" link set lo up; done
(umask 077 && wg genkey >"$T/ka" && wg genkey >"$T/kb")
pa=$(wg pubkey <"$T/ka") pb=$(wg pubkey <"$T/kb")
ip netns exec "$A" env LOG_LEVEL=error "$F" -f "$IA" >"$T/a.log" 2>&1 &
PA=$!
pids+=("$PA")
ip netns exec "$B" env LOG_LEVEL=error "$F" -f "$IB" >"$T/b.log" 2>&1 &
PB=$!
pids+=("$PB")
for _ in $(seq 50); do
	[ -S "/var/run/wireguard/$IA.sock" ] && [ -S "/var/run/wireguard/$IB.sock" ] && break
	sleep 0.1
done
ip netns exec "$A" wg set "$IA" private-key "$T/ka" listen-port 51820 peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 10.9.0.2/32
ip netns exec "$B" wg set "$IB" private-key "$T/kb" listen-port 51820 peer "$pa" endpoint 192.0.2.1:51820 allowed-ips 10.9.0.1/32
ip -n "$A" addr add 10.9.0.1/24 dev "$IA" && ip -n "$A" link set "$IA" up
ip -n "$B" addr add 10.9.0.2/24 dev "$IB" && ip -n "$B" link set "$IB" up
ip netns exec "$A" ping -c 2 -W 2 -q 10.9.0.2 >/dev/null || { echo "no tunnel" >&2; exit 1; }
ip netns exec "$B" timeout $((S + 30)) iperf3 -s -1 -p 5201 >/dev/null 2>&1 &
pids+=($!)
sleep 0.3
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
read -r _ u1 n1 s1 i1 w1 q1 sq1 _ </proc/stat
ta1=$(ticks "$PA") tb1=$(ticks "$PB")
perf record -g -p "$PA,$PB" -o "$T/perf.data" -- sleep $((S - 1)) >/dev/null 2>&1 &
PP=$!
ip netns exec "$A" timeout $((S + 20)) iperf3 -c 10.9.0.2 -P "$P" -t "$S" -p 5201 -J >"$T/ip.json"
read -r _ u2 n2 s2 i2 w2 q2 sq2 _ </proc/stat
ta2=$(ticks "$PA") tb2=$(ticks "$PB")
wait "$PP"
tot=$(((u2 + n2 + s2 + i2 + w2 + q2 + sq2) - (u1 + n1 + s1 + i1 + w1 + q1 + sq1)))
hz=$(getconf CLK_TCK)
echo "throughput: $(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T/ip.json") Mbit/s, $P stream(s), $S s"
echo "machine idle: $((100 * (i2 - i1) / tot))%; ferry A: $((100 * (ta2 - ta1) / (S * hz)))% of a core, ferry B: $((100 * (tb2 - tb1) / (S * hz)))%"
echo "--- the daemons' samples by library"
perf report -i "$T/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep '%'
echo "--- by symbol (top 25)"
perf report -i "$T/perf.data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep '%' | head -25 | cut -c1-100
