#!/usr/bin/env bash
# Compression = lz4 between ferry peers (TUN mode, offloads on): compressible
# data crosses intact in fewer bytes on the wire; random data crosses intact
# and is sent uncompressed; a peer that did not agree to compression drops
# compressed messages and counts them, and the tunnel carries on.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
plan 12

wg_host A a 192.0.2.1
wg_host B b 192.0.2.2
wg_host C c 192.0.2.3
wg_ifname IA za
wg_ifname IB zb
wg_ifname IC zc
wg_keys KA PA a
wg_keys KB PB b
wg_keys KC PC c
WG_SOCKS+=("$WG_RUN/$IA.sock" "$WG_RUN/$IB.sock" "$WG_RUN/$IC.sock")
trap wg_cleanup EXIT

# A has B (both say lz4) and C (A says lz4, C does not).
cat >"$T_TMP/$IA.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KA")
ListenPort = 51401
Address = 10.79.0.1/24

[Peer]
PublicKey = $PB
AllowedIPs = 10.79.0.2/32
Endpoint = 192.0.2.2:51402
Compression = lz4

[Peer]
PublicKey = $PC
AllowedIPs = 10.79.0.3/32
Endpoint = 192.0.2.3:51403
Compression = lz4
CONF
cat >"$T_TMP/$IB.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KB")
ListenPort = 51402
Address = 10.79.0.2/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.79.0.1/32
Endpoint = 192.0.2.1:51401
Compression = lz4
CONF
cat >"$T_TMP/$IC.conf" <<CONF
[Interface]
PrivateKey = $(cat "$KC")
ListenPort = 51403
Address = 10.79.0.3/24

[Peer]
PublicKey = $PA
AllowedIPs = 10.79.0.1/32
Endpoint = 192.0.2.1:51401
CONF
chmod 600 "$T_TMP"/*.conf

tx_to() { # NS IF PUB: bytes sent to PUB, on the wire
	nsx "$1" wg show "$2" transfer | awk -v k="$3" '$1 == k { print $3 }'
}

check "ferry up A (lz4 to B and C)" ferry_up DA "$A" "$T_TMP/$IA.conf" "$IA"
check "ferry up B (lz4 to A)" ferry_up DB "$B" "$T_TMP/$IB.conf" "$IB"
check "ferry up C (no compression)" ferry_up DC "$C" "$T_TMP/$IC.conf" "$IC"
check "A reaches B" ping_ok "$A" 10.79.0.2

# 20 MiB of log-like text: lz4 shrinks it several times.
seq -f "%08g INFO request served status=200 bytes=5120 path=/api/v1/items" 1 400000 |
	head -c 20M >"$T_TMP/data-20M"
before=$(tx_to "$A" "$IA" "$PB")
check "20 MiB of compressible text A -> B, sha256 equal" wg_xfer "$A" "$B" 10.79.0.2 20
sent=$(($(tx_to "$A" "$IA" "$PB") - before))
note "20 MiB of text took $sent bytes on the wire"
check "and took less than half its size on the wire ($sent bytes)" test "$sent" -lt $((10 * 1048576))

before=$(tx_to "$A" "$IA" "$PB")
check "10 MiB of random data A -> B, sha256 equal" wg_xfer "$A" "$B" 10.79.0.2 10
sent=$(($(tx_to "$A" "$IA" "$PB") - before))
note "10 MiB of random data took $sent bytes on the wire"
check "random data is sent as it is (at least its size on the wire)" test "$sent" -ge $((10 * 1048576))
check "B counted no decompression failures" test -z "$(ferry_drops "$B" "$IB" decompress_failed)"

# C did not agree: A's compressed pings (a repeating pattern) are dropped and
# counted by C; uncompressible small packets still pass.
check "A reaches C with small pings" ping_ok "$A" 10.79.0.3
nsx "$A" ping -c 3 -i 0.2 -W 1 -s 1000 -p 41 -q 10.79.0.3 >/dev/null
check "C drops compressed messages from A and counts them" \
	test "$(ferry_drops "$C" "$IC" compressed_but_off)" -ge 1
check "C still answers small pings after that" ping_ok "$A" 10.79.0.3
