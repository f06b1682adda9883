#!/usr/bin/env bash
# scale-tput.sh - does the number of configured peers slow the data path or
# the handshake? A paired comparison on one pair of daemons, so that drift
# of a shared machine hits every size alike: the daemon in A is configured in
# turn with each size of SCALE_SIZES (the real peer plus SIZE-1 made-up
# peers), SCALE_ROUNDS times over; each time it measures
#   handshakes   A initiates, then B initiates: SCALE_HS_RUNS each, ping's
#                time of the first reply after the initiator forgot its peer
#                (so the reply waits for a fresh handshake)
#   throughput   single-stream iperf3 A->B and B->A, SCALE_IPERF_SECS each
# Same testbed and addresses as bench/scale-peers.sh: namespaces
# ferry-PID-{net,a,b}, underlay 192.0.2.0/24, inner 10.0.0.0/8 and fd00::/64
# inside them only; everything is stopped and removed on any exit.
#
#   flock /tmp/ferry-bench.lock bench/scale-tput.sh
#       (root; SCALE_SIZES="1 1000 100000" SCALE_ROUNDS=3 SCALE_HS_RUNS=5
#        SCALE_IPERF_SECS=3; FERRY, SCALE_IMPL, SCALE_REAL_IMPL and
#        FERRY_NO_OFFLOAD as in scale-peers.sh; SCALE_PERF=1 also records
#        perf profiles during two extra iperf3 A->B at each size in the first
#        round, one of A and one of the whole machine, into SCALE_OUT,
#        default /tmp/ferry-scale-tput-DATE)

WG_LOG_LEVEL=${WG_LOG_LEVEL:-error}
# shellcheck source-path=SCRIPTDIR source=../tests/net/lib.sh
. "$(dirname "$0")/../tests/net/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/net/wglib.sh
. "$(dirname "$0")/../tests/net/wglib.sh"

SCALE_SIZES=${SCALE_SIZES:-1 1000 100000}
SCALE_ROUNDS=${SCALE_ROUNDS:-3}
SCALE_HS_RUNS=${SCALE_HS_RUNS:-5}
SCALE_IPERF_SECS=${SCALE_IPERF_SECS:-3}
SCALE_IMPL=${SCALE_IMPL:-$FERRY}
SCALE_REAL_IMPL=${SCALE_REAL_IMPL:-$FERRY}
SCALE_PERF=${SCALE_PERF:-0}
SCALE_OUT=${SCALE_OUT:-/tmp/ferry-scale-tput-$(date +%Y%m%d-%H%M%S)}
KEYS=${KEYS:-$TOP/$BUILD/bench/scale_keys}
UA=192.0.2.1 UB=192.0.2.2 PORT_A=51820 PORT_B=51821

die() {
	echo "scale-tput: $*" >&2
	exit 1
}
say() { echo "[$(date +%T)] $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
[ -x "$KEYS" ] || die "no $KEYS: run make"
for n in $SCALE_SIZES; do
	[[ "$n" =~ ^[1-9][0-9]{0,6}$ ]] || die "SCALE_SIZES: '$n' is not a number of peers (1..9999999)"
done
[[ "$SCALE_ROUNDS" =~ ^[1-9]$ ]] || die "SCALE_ROUNDS must be 1..9"
[[ "$SCALE_HS_RUNS" =~ ^[1-9][0-9]?$ ]] || die "SCALE_HS_RUNS must be 1..99"
[[ "$SCALE_IPERF_SECS" =~ ^[1-9][0-9]?$ ]] || die "SCALE_IPERF_SECS must be 1..99"
for c in wg iperf3 jq ping timeout; do
	command -v "$c" >/dev/null || die "'$c' not found: run 'make deps'"
done
if [ "$SCALE_PERF" = 1 ]; then
	command -v perf >/dev/null || die "SCALE_PERF=1 but no perf"
	mkdir -p "$SCALE_OUT" || die "cannot create $SCALE_OUT"
fi
PERF_PID=""
tput_cleanup() {
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null
		timeout 10 tail --pid="$PERF_PID" -f /dev/null 2>/dev/null
		kill -9 "$PERF_PID" 2>/dev/null
	fi
	wg_cleanup
}
trap tput_cleanup EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }

# wgx NS args...: wg args... in NS, bounded
wgx() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout -k 2 120 wg "$@" </dev/null
}

first_ping() { # NS ADDR -> ms of the first reply, or fail
	ip netns exec "$1" timeout -k 2 15 ping -n -c 1 -W 10 "$2" 2>&1 </dev/null |
		sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | grep . || echo fail
}

iperf_run() { # ab|ba -> Mbit/s or fail
	local spid rc extra=()
	[ "$1" = ba ] && extra=(-R)
	ip netns exec "$B" timeout -k 2 $((SCALE_IPERF_SECS + 30)) iperf3 -s -1 -B 10.0.0.2 -p 5201 \
		>/dev/null 2>&1 </dev/null 3>&- &
	spid=$!
	T_PIDS+=("$spid")
	wait_for 5 wg_listening "$B" 5201
	ip netns exec "$A" timeout -k 2 $((SCALE_IPERF_SECS + 20)) iperf3 -c 10.0.0.2 -p 5201 --connect-timeout 3000 \
		-t "$SCALE_IPERF_SECS" -J "${extra[@]}" >"$T_TMP/iperf.json" 2>/dev/null </dev/null
	rc=$?
	timeout 5 tail --pid="$spid" -f /dev/null 2>/dev/null || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	t_forget "$spid"
	if [ $rc = 0 ] && jq -e '.end.sum_received' "$T_TMP/iperf.json" >/dev/null 2>&1; then
		jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_TMP/iperf.json"
	else
		echo fail
	fi
}

# perf_iperf SIZE: two more iperf3 A->B: one while perf records A (call
# graphs: where A's cycles go), one while perf records the whole machine
# (which process and which part of the kernel take the CPUs) (SCALE_PERF=1)
perf_iperf() {
	local data="$SCALE_OUT/perf-iperf-$1.data" all="$SCALE_OUT/perf-all-$1.data"
	perf record -q -e cpu-clock -F 999 -g -p "$PA" -o "$data" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.5
	say "  (perf of A) iperf3 A->B $(iperf_run ab) Mbit/s"
	perf_end
	perf record -q -e cpu-clock -F 999 -a -o "$all" >/dev/null 2>&1 &
	PERF_PID=$!
	sleep 0.5
	say "  (perf of all) iperf3 A->B $(iperf_run ab) Mbit/s"
	perf_end
	timeout 120 perf report -i "$data" --stdio --no-children --sort dso,symbol -g none --percent-limit 0.5 \
		2>/dev/null | grep -v '^$' | head -n 50 >"$SCALE_OUT/perf-iperf-$1.txt"
	timeout 120 perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -v '^$' |
		head -n 20 >"$SCALE_OUT/perf-iperf-$1-dso.txt"
	timeout 120 perf report -i "$all" --stdio --sort comm,dso --percent-limit 0.5 2>/dev/null | grep -v '^$' |
		head -n 40 >"$SCALE_OUT/perf-all-$1.txt"
	timeout 120 perf report -i "$all" --stdio --sort comm,dso,symbol --percent-limit 0.7 2>/dev/null |
		grep -v '^$' | head -n 60 >"$SCALE_OUT/perf-all-$1-symbols.txt"
	say "  perf profiles: $SCALE_OUT/perf-iperf-$1.txt, $SCALE_OUT/perf-all-$1.txt"
}
perf_end() {
	kill -INT "$PERF_PID" 2>/dev/null
	timeout 20 tail --pid="$PERF_PID" -f /dev/null 2>/dev/null || kill -9 "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=""
}

# handshakes NS IFNAME PEERPUB ENDPOINT ALLOWED TARGET: SCALE_HS_RUNS first pings
# from NS after it forgot the peer (so NS's daemon initiates)
handshakes() {
	local _ v=()
	for _ in $(seq "$SCALE_HS_RUNS"); do
		wgx "$1" set "$2" peer "$3" remove >&2
		wgx "$1" set "$2" peer "$3" allowed-ips "$5" endpoint "$4" >&2
		sleep 0.3
		v+=("$(first_ping "$1" "$6")")
		sleep 0.7
	done
	echo "${v[*]}"
}

median() { printf '%s\n' "$@" | grep -v fail | sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2); else print "fail" }'; }

# shellcheck disable=SC2086 # a list of numbers
NMAX=$(printf '%s\n' $SCALE_SIZES | sort -n | tail -n 1)
wg_host A a "$UA"
wg_host B b "$UB"
wait_for 5 ping_ok "$A" "$UB" >/dev/null || die "no underlay"
(umask 077 && "$KEYS" 2 pairs >"$T_TMP/pairs") || die "scale_keys failed"
read -r privA PUBA <<<"$(sed -n 1p "$T_TMP/pairs")"
read -r privB PUBB <<<"$(sed -n 2p "$T_TMP/pairs")"
(umask 077 && echo "$privB" >"$T_TMP/b.key")
"$KEYS" $((NMAX - 1)) >"$T_TMP/keys" || die "scale_keys failed"
[ "$(wc -l <"$T_TMP/keys")" = $((NMAX - 1)) ] || die "scale_keys made too few keys"
for size in $SCALE_SIZES; do
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$privA" "$PORT_A"
		head -n $((size - 1)) "$T_TMP/keys" | awk '{ i = NR; printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32, fd00::%x:%x/128\n\n",
			$1, 1 + int(i / 65536), int(i / 256) % 256, i % 256, 1 + int(i / 65536), i % 65536 }'
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.0.0.2/32, fd00::2/128\nEndpoint = %s:%s\n' "$PUBB" "$UB" "$PORT_B"
	} >"$T_TMP/$size.conf"
done

wg_ifname IFA "ta-"
wg_ifname IFB "tb-"
wg_start PA "$A" "$SCALE_IMPL" "$IFA" >&2 || die "cannot start $SCALE_IMPL"
wg_start PB "$B" "$SCALE_REAL_IMPL" "$IFB" >&2 || die "cannot start $SCALE_REAL_IMPL"
wg_set "$B" "$IFB" private-key "$T_TMP/b.key" listen-port $PORT_B peer "$PUBA" allowed-ips 10.0.0.1/32,fd00::1/128 \
	endpoint "$UA:$PORT_A" || die "wg set in B failed"
wg_addr "$B" "$IFB" 10.0.0.2/24 fd00::2/64 || die "addresses in B"
wg_addr "$A" "$IFA" 10.0.0.1/8 fd00::1/64 || die "addresses in A"

declare -A HA HB TAB TBA
say "scale-tput: $SCALE_IMPL in A, sizes $SCALE_SIZES, $SCALE_ROUNDS rounds"
for round in $(seq "$SCALE_ROUNDS"); do
	for size in $SCALE_SIZES; do
		t0=$(ms)
		ip netns exec "$A" timeout -k 2 600 wg setconf "$IFA" "$T_TMP/$size.conf" </dev/null ||
			die "wg setconf $size failed"
		say "round $round, $size peers: setconf $(($(ms) - t0)) ms, $(wgx "$A" show "$IFA" peers | wc -l) peers"
		first_ping "$A" 10.0.0.2 >/dev/null
		HA[$size]+=" $(handshakes "$A" "$IFA" "$PUBB" "$UB:$PORT_B" 10.0.0.2/32,fd00::2/128 10.0.0.2)"
		HB[$size]+=" $(handshakes "$B" "$IFB" "$PUBA" "$UA:$PORT_A" 10.0.0.1/32,fd00::1/128 10.0.0.1)"
		TAB[$size]+=" $(iperf_run ab)"
		TBA[$size]+=" $(iperf_run ba)"
		say "  handshake A initiates:${HA[$size]}"
		say "  handshake B initiates:${HB[$size]}"
		say "  iperf3 A->B:${TAB[$size]}  B->A:${TBA[$size]}"
		if [ "$SCALE_PERF" = 1 ] && [ "$round" = 1 ]; then
			perf_iperf "$size"
		fi
	done
done

echo "scale-tput: $SCALE_IMPL in A with N peers (N-1 idle made-up + 1 real: $SCALE_REAL_IMPL); $SCALE_ROUNDS rounds;" \
	"$(date -u +%FT%TZ); $(nproc) CPUs; offloads off: ${FERRY_NO_OFFLOAD:-none}"
echo
echo "| N | handshake + 1st ping, A initiates: median ms (all) | B initiates: median ms (all) | iperf3 A->B median Mbit/s (all) | B->A (all) |"
echo "|---:|---:|---:|---:|---:|"
for size in $SCALE_SIZES; do
	# shellcheck disable=SC2086 # lists of numbers
	echo "| $size | $(median ${HA[$size]}) (${HA[$size]# }) | $(median ${HB[$size]}) (${HB[$size]# }) | $(median ${TAB[$size]}) (${TAB[$size]# }) | $(median ${TBA[$size]}) (${TBA[$size]# }) |"
done
