#!/usr/bin/env bash
# ferry's own backend key, Compression = "lz4" in the network configuration
# (flannel ignores it): ferry nodes announce it in their leases
# (BackendData.Compression) and compress between each other; compressible
# data crosses intact in fewer bytes on the wire. A flannel-style lease
# without the key gets no compression.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wglib.sh"
. "$(dirname "$0")/overlaylib.sh"
plan 7

PREFIX=/coreos.com/network
# Nodes lease from 10.244.1-199.0 (SubnetMax); the lease this test writes is at 200.
check "etcd runs, the configuration asks for LZ4" eval 'ov_etcd_start && ov_config "{\"Network\": \"10.244.0.0/16\", \"SubnetMax\": \"10.244.199.0\", \"Backend\": {\"Type\": \"wireguard\", \"Compression\": \"lz4\"}}"'
ov_node A a 192.0.2.1
ov_node B b 192.0.2.2
check "nodes a and b, containers a1 and b1" eval 'ov_start a && ov_start b && ov_container A1 a a1 && ov_container B1 b b1'
check "a's lease says it takes LZ4" eval 'ovctl get --prefix --print-value-only "$PREFIX/subnets/" | grep -q "\"PublicIP\":\"192.0.2.1\".*\"Compression\":\"lz4\""'
check "a logs b as an LZ4 peer" grep -q "added peer .* via 192.0.2.2:51820, LZ4" "$T_TMP/a.log"

# 20 MiB of log-like text, a1 -> b1; bytes a sent to b on the wire.
B_PUB=$(nsx "$B" wg show "${OV_IF[b]}" public-key)
tx() { nsx "$A" wg show "${OV_IF[a]}" transfer | awk -v k="$B_PUB" '$1 == k { print $3 }'; }
seq -f "%08g INFO request served status=200 bytes=5120 path=/api/v1/items" 1 280000 | head -c 20M >"$T_TMP/data-20M"
before=$(tx)
check "20 MiB of text a1 -> b1, sha256 matches" wg_xfer "$A1" "$B1" "${OV_ADDR[b1]}" 20 5001
sent=$(($(tx) - before))
note "20 MiB of text took $sent bytes on the wire"
check "... in less than half its size on the wire" test "$sent" -lt $((10 * 1048576))
FRESH=$(wg genkey | wg pubkey)
check "a flannel-style lease (no Compression) becomes a peer without LZ4" eval 'ovctl put "$PREFIX/subnets/10.244.200.0-24" "{\"PublicIP\":\"192.0.2.9\",\"PublicIPv6\":null,\"BackendType\":\"wireguard\",\"BackendData\":{\"PublicKey\":\"$FRESH\"}}" >/dev/null && wait_for 3 grep -q "added peer $FRESH: 10.244.200.0/24 via 192.0.2.9:51820\$" "$T_TMP/a.log"'
