#!/usr/bin/env bash
# scale.sh - every scaling measurement of docs/PERFORMANCE.md "How cost
# grows", one after another, each under the machine's benchmark lock:
#   build/bench/scale-allowedips   the routing table up to 1,000,000 prefixes
#   build/bench/scale-dh           X25519 per peer, and its alternatives
#   bench/scale-peers.sh           the daemon with 1, 1,000 and 100,000 peers
#   bench/scale-tput.sh            throughput and handshakes by N, paired,
#                                  with a perf profile at each N (if perf is
#                                  installed; SCALE_PERF=0: none)
# Results go to SCALE_OUT (default /tmp/ferry-scale-DATE): allowedips.md,
# dh.md, peers/table.md, tput.md, tput-perf/. About 40 minutes on the 2-vCPU
# development machine. Run as root after make (make bench-scale does both).
# The settings of the two scripts (SCALE_PEERS, SCALE_SIZES, ...) pass
# through; BENCH_LOCK (default /tmp/ferry-bench.lock) is the lock file.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
BENCH_LOCK=${BENCH_LOCK:-/tmp/ferry-bench.lock}
SCALE_OUT=${SCALE_OUT:-/tmp/ferry-scale-$(date +%Y%m%d-%H%M%S)}
FERRY=${FERRY:-$TOP/$BUILD/ferry}

for b in scale-allowedips scale-dh scale_keys; do
	[ -x "$TOP/$BUILD/bench/$b" ] || {
		echo "scale.sh: no $BUILD/bench/$b: run make" >&2
		exit 1
	}
done
mkdir -p "$SCALE_OUT"
# A copy of the daemon that nobody rebuilds while this runs.
cp "$FERRY" "$SCALE_OUT/ferry"
export FERRY="$SCALE_OUT/ferry"
locked() { flock "$BENCH_LOCK" "$@"; }
# The perf profiles need perf (Debian: linux-perf); without it, none.
PERF=${SCALE_PERF:-$(command -v perf >/dev/null && echo 1 || echo 0)}

echo "scale.sh: results in $SCALE_OUT" >&2
locked "$TOP/$BUILD/bench/scale-allowedips" >"$SCALE_OUT/allowedips.md"
locked "$TOP/$BUILD/bench/scale-dh" >"$SCALE_OUT/dh.md"
SCALE_OUT="$SCALE_OUT/peers" locked "$TOP/bench/scale-peers.sh" >/dev/null
SCALE_PERF=$PERF SCALE_OUT="$SCALE_OUT/tput-perf" locked "$TOP/bench/scale-tput.sh" >"$SCALE_OUT/tput.md"
cat "$SCALE_OUT/allowedips.md" "$SCALE_OUT/dh.md" "$SCALE_OUT/peers/table.md" "$SCALE_OUT/tput.md"
