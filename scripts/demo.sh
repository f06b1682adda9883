#!/usr/bin/env bash
# make demo: an encrypted WireGuard tunnel between two network namespaces.
# Two hosts, A and B, joined by a veth pair as their "internet" (192.0.2.1 and
# 192.0.2.2), each running the implementation FERRY_IMPL (default: ferry) as
# `IMPL -f IFNAME`, configured with wg(8). Shows the handshake, a ping and
# 3 seconds of iperf3 through the tunnel (10.99.0.1 <-> 10.99.0.2), then
# removes everything: daemons, sockets, namespaces.
#   FERRY_IMPL=wireguard-go scripts/demo-tunnel.sh     # the same with wireguard-go
#   FERRY_KEYGEN=wg scripts/demo-tunnel.sh             # keys from "wg genkey/pubkey"
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
IMPL=${FERRY_IMPL:-$TOP/build/ferry}
KEYGEN=${FERRY_KEYGEN:-$IMPL}
NA="ferry-demo-$$-a"
NB="ferry-demo-$$-b"
IA="demoa$$"
IB="demob$$"
RUN=/var/run/wireguard
PIDS=()
NSS=()
TMP=""

cleanup() {
	local pid ns
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
	done
	for ns in "${NSS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "$RUN/$IA.sock" "$RUN/$IB.sock"
	[ -n "$TMP" ] && rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

if [ "$(id -u)" -ne 0 ]; then
	echo "the tunnel demo needs root (network namespaces, TUN devices)" >&2
	exit 1
fi
for prog in wg iperf3 ping; do
	command -v "$prog" >/dev/null || { echo "the tunnel demo needs $prog" >&2; exit 1; }
done
if ! command -v "${IMPL%% *}" >/dev/null; then
	echo "no implementation to run: $IMPL (build ferry, or set FERRY_IMPL)" >&2
	exit 1
fi
for s in "$RUN/$IA.sock" "$RUN/$IB.sock"; do
	[ -e "$s" ] && { echo "$s exists already; not touching it" >&2; exit 1; }
done

step() { printf '\n== %s\n' "$*"; }
say() { printf '$ %s\n' "$*"; }
die() { echo "demo failed: $*" >&2; exit 1; }
A() { ip netns exec "$NA" "$@"; }
B() { ip netns exec "$NB" "$@"; }
TMP=$(mktemp -d /tmp/ferry-demo.XXXXXX)

# start NS IFNAME: run the implementation in NS, wait (up to 10 s) for its socket
start() {
	local ns=$1 ifn=$2 impl i
	read -ra impl <<<"$IMPL"
	ip netns exec "$ns" "${impl[@]}" -f "$ifn" >"$TMP/$ifn.log" 2>&1 &
	PIDS+=($!)
	for i in $(seq 100); do
		[ -S "$RUN/$ifn.sock" ] && ip -n "$ns" link show "$ifn" >/dev/null 2>&1 && return 0
		kill -0 "${PIDS[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	grep -v '[┌│└]' "$TMP/$ifn.log" | tail -n 10 >&2
	return 1
}

echo "ferry tunnel demo: $IMPL on both ends"
echo "namespaces $NA and $NB, removed at the end"

step "1. Two hosts and an \"internet\" between them (a veth pair)"
ip netns add "$NA" && NSS+=("$NA") || die "ip netns add"
ip netns add "$NB" && NSS+=("$NB") || die "ip netns add"
ip -n "$NA" link set lo up
ip -n "$NB" link set lo up
ip -n "$NA" link add eth0 type veth peer name eth0 netns "$NB" || die "veth"
ip -n "$NA" addr add 192.0.2.1/24 dev eth0 && ip -n "$NA" link set eth0 up
ip -n "$NB" addr add 192.0.2.2/24 dev eth0 && ip -n "$NB" link set eth0 up
echo "A: eth0 192.0.2.1/24          B: eth0 192.0.2.2/24"
A ping -c 1 -W 2 -q 192.0.2.2 >/dev/null || die "no underlay"
echo "A reaches B in the clear: ok"

step "2. Fresh keys"
(umask 077 && $KEYGEN genkey >"$TMP/a.key" && $KEYGEN genkey >"$TMP/b.key") || die "genkey"
PA=$($KEYGEN pubkey <"$TMP/a.key")
PB=$($KEYGEN pubkey <"$TMP/b.key")
echo "A's public key: $PA"
echo "B's public key: $PB"

step "3. One tunnel endpoint per host"
say "$IMPL -f $IA   (in A)"
start "$NA" "$IA" || die "$IMPL did not start in A"
say "$IMPL -f $IB   (in B)"
start "$NB" "$IB" || die "$IMPL did not start in B"
say "wg set $IA private-key a.key listen-port 51820 peer ${PB:0:8}... allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51820"
A wg set "$IA" private-key "$TMP/a.key" listen-port 51820 \
	peer "$PB" allowed-ips 10.99.0.2/32 endpoint 192.0.2.2:51820 || die "wg set in A"
say "wg set $IB private-key b.key listen-port 51820 peer ${PA:0:8}... allowed-ips 10.99.0.1/32 endpoint 192.0.2.1:51820"
B wg set "$IB" private-key "$TMP/b.key" listen-port 51820 \
	peer "$PA" allowed-ips 10.99.0.1/32 endpoint 192.0.2.1:51820 || die "wg set in B"
ip -n "$NA" addr add 10.99.0.1/24 dev "$IA" && ip -n "$NA" link set "$IA" up
ip -n "$NB" addr add 10.99.0.2/24 dev "$IB" && ip -n "$NB" link set "$IB" up
echo "tunnel addresses: A 10.99.0.1, B 10.99.0.2"

step "4. The handshake: the first packet from A starts it"
say "ping -c 3 10.99.0.2   (in A, through the tunnel)"
A ping -c 3 -i 0.3 -W 2 10.99.0.2 || die "no reply through the tunnel"
echo
say "wg show $IA   (in A)"
A wg show "$IA"

step "5. Throughput: 3 seconds of iperf3 from A to B through the tunnel"
B timeout 20 iperf3 -s -1 -B 10.99.0.2 >"$TMP/iperf-server.log" 2>&1 &
PIDS+=($!)
for i in $(seq 50); do
	[ -n "$(B ss -Hltn 'sport = :5201')" ] && break
	sleep 0.1
done
say "iperf3 -c 10.99.0.2 -t 3   (in A)"
A timeout 20 iperf3 -c 10.99.0.2 -t 3 -f m || die "iperf3"
echo
say "wg show $IA transfer   (bytes received, sent)"
A wg show "$IA" transfer

step "done: daemons stopped, sockets and namespaces removed"
