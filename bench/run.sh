#!/usr/bin/env bash
# make bench: one run that measures, on one namespace testbed (hosts A and B,
# two network namespaces joined by a veth pair), five systems side by side:
#
#   veth          A and B talk directly over the veth (the limit)
#   vxlan         kernel VXLAN over the veth (unencrypted kernel encapsulation)
#   wireguard-go  wireguard-go -f IFNAME on both hosts, configured with wg set
#   openvpn       OpenVPN 2.6, UDP, p2p TLS with --peer-fingerprint, AES-256-GCM, no DCO
#   ferry         $FERRY -f IFNAME on both hosts, configured exactly like wireguard-go
#   ferry-base    the same with $FERRY_BASE: another build of ferry (the tree before
#                 a change), for before/after figures from one run
#   ferry-tap     ferry up -f CONFIG, Mode = tap (layer 2, addresses on the TAP devices),
#                 MTU 1500: frames beyond one message on the 1500-byte veth go in pieces
#   ferry-tap-1398  the same at MTU 1398 (every frame fits one message), for comparison
#   ferry-tcp     ferry up -f CONFIG, Transport = tcp (B listens with ListenTCP)
#   ferry-lz4     ferry up -f CONFIG, Compression = lz4 on both, iperf3's random data
#   ferry-lz4-text  the same with iperf3 --repeating-payload (compressible)
#   openvpn-tap   OpenVPN as above with --dev tap
#   openvpn-tcp   OpenVPN as above over TCP (--proto tcp-server/tcp-client)
#
# Figures per system (each the median of BENCH_RUNS runs, with min and max):
# TCP throughput with 1 and 4 streams A->B and B->A, UDP packets/s received
# at each of BENCH_UDP_SIZES, ping round-trip time, CPU seconds of the
# tunnel daemons per GB during the 1-stream A->B run, the daemons' peak RSS;
# and, as a check on the run itself, the share of the CPUs that other
# processes took during each run (a warning names the runs where it was >10%).
# A table is printed at the end; everything, raw runs included, goes to
# bench/results/bench-YYYYmmdd-HHMMSS.json. See bench/README.md.
#
# Settings (environment):
#   FERRY=path            the ferry binary (default build/ferry)
#   FERRY_BASE=path       the ferry binary of the ferry-base system (no default)
#   BENCH_SYSTEMS="..."   which systems, in this order (default all five)
#   BENCH_RUNS=3          runs per figure
#   BENCH_TCP_SECS=5      length of each TCP test
#   BENCH_UDP_SECS=3      length of each UDP test
#   BENCH_UDP_SIZES="64 512 1392"  UDP payload sizes in bytes (see README: 1392
#                         is the largest that every tunnel carries unfragmented)
#   BENCH_PING_COUNT=50   pings per run, BENCH_PING_INTERVAL=0.01 s apart
#   BENCH_OUT=dir         where the JSON goes (default bench/results)
#   BENCH_OPENVPN_VERB=1  OpenVPN's --verb (its log is in the temporary directory)
#   BENCH_WAIT_IDLE=0     before each run, wait up to this many seconds for the
#                         CPUs to be 90% idle (each run records how idle they were)
# Run as root. Needs iperf3, jq, wireguard-go, wireguard-tools, openvpn, openssl.

# shellcheck disable=SC2217 # bg (lib.sh) is a function whose command takes the redirections
WG_LOG_LEVEL=${WG_LOG_LEVEL:-error} # quiet daemons: no logging cost in the data path
# shellcheck source=../tests/net/lib.sh
. "$(dirname "$0")/../tests/net/lib.sh"
# shellcheck source=../tests/net/wglib.sh
. "$(dirname "$0")/../tests/net/wglib.sh"

BENCH_SYSTEMS=${BENCH_SYSTEMS:-veth vxlan wireguard-go openvpn ferry ferry-tap ferry-tcp ferry-lz4 ferry-lz4-text openvpn-tap openvpn-tcp}
BENCH_RUNS=${BENCH_RUNS:-3}
BENCH_TCP_SECS=${BENCH_TCP_SECS:-5}
BENCH_UDP_SECS=${BENCH_UDP_SECS:-3}
BENCH_UDP_SIZES=${BENCH_UDP_SIZES:-64 512 1392}
BENCH_PING_COUNT=${BENCH_PING_COUNT:-50}
BENCH_PING_INTERVAL=${BENCH_PING_INTERVAL:-0.01}
BENCH_OUT=${BENCH_OUT:-$TOP/bench/results}
BENCH_OPENVPN_VERB=${BENCH_OPENVPN_VERB:-1}
BENCH_WAIT_IDLE=${BENCH_WAIT_IDLE:-0}
IPERF_PORT=5201
CLK_TCK=$(getconf CLK_TCK)

# Addresses: the underlay is the veth (192.0.2.0/24); each tunnel has an inner
# /28 of its own in 203.0.113.0/24, so a leftover of one system can never
# carry another's traffic.
UA=192.0.2.1 UB=192.0.2.2
declare -A INNER_A=([veth]=$UA [vxlan]=203.0.113.1 [wireguard-go]=203.0.113.17 [openvpn]=203.0.113.33 [ferry]=203.0.113.49
	[ferry-tap]=203.0.113.65 [ferry-tcp]=203.0.113.81 [ferry-lz4]=203.0.113.97 [ferry-lz4-text]=203.0.113.113
	[openvpn-tap]=203.0.113.129 [openvpn-tcp]=203.0.113.145 [ferry-base]=203.0.113.161 [ferry-tap-1398]=203.0.113.177)
declare -A INNER_B=([veth]=$UB [vxlan]=203.0.113.2 [wireguard-go]=203.0.113.18 [openvpn]=203.0.113.34 [ferry]=203.0.113.50
	[ferry-tap]=203.0.113.66 [ferry-tcp]=203.0.113.82 [ferry-lz4]=203.0.113.98 [ferry-lz4-text]=203.0.113.114
	[openvpn-tap]=203.0.113.130 [openvpn-tcp]=203.0.113.146 [ferry-base]=203.0.113.162 [ferry-tap-1398]=203.0.113.178)
# Extra iperf3 client options: the -text system sends a repeating (highly
# compressible) payload instead of iperf3's default random bytes.
declare -A IPERF_OPTS=([ferry-lz4-text]=--repeating-payload)

# The metrics, in table order: key|label|unit|better (up: higher is better)|printf format
METRICS=(
	"tcp1_ab|TCP 1 stream A->B|Mbit/s|up|%.0f"
	"tcp1_ba|TCP 1 stream B->A|Mbit/s|up|%.0f"
	"tcp4_ab|TCP 4 streams A->B|Mbit/s|up|%.0f"
	"tcp4_ba|TCP 4 streams B->A|Mbit/s|up|%.0f"
)
for s in $BENCH_UDP_SIZES; do
	METRICS+=("udp${s}_pps|UDP ${s} B A->B received|kpkt/s|up|%.1f")
done
METRICS+=(
	"ping_rtt|ping RTT avg|us|down|%.0f"
	"cpu_per_gb|daemons' CPU in TCP 1 A->B|CPU-s/GB|down|%.2f"
	"peak_rss|daemon peak RSS (VmHWM)|MiB|down|%.1f"
	"foreign_cpu|(CPU used by other processes)|%|down|%.0f|noratio"
)

die() {
	echo "bench: $*" >&2
	exit 1
}
say() { echo "[$(date +%T)] $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
for s in $BENCH_SYSTEMS; do
	[ -n "${INNER_A[$s]:-}" ] || die "unknown system '$s' in BENCH_SYSTEMS (known: ${!INNER_A[*]})"
done
[[ "$BENCH_RUNS" =~ ^[1-9][0-9]?$ ]] || die "BENCH_RUNS must be 1..99"
need=(iperf3 jq ping ss timeout)
for s in $BENCH_SYSTEMS; do
	case $s in
	wireguard-go) need+=(wireguard-go wg) ;;
	ferry*) need+=(wg) ;;
	openvpn*) need+=(openvpn openssl) ;;
	esac
done
for c in "${need[@]}"; do
	command -v "$c" >/dev/null || die "'$c' not found: run 'make deps' (scripts/deps.sh)"
done
if [[ " $BENCH_SYSTEMS " == *" ferry"* ]]; then
	[ -x "$FERRY" ] || die "no ferry binary at $FERRY (make, or set FERRY=)"
fi
mkdir -p "$BENCH_OUT" || die "cannot create $BENCH_OUT"

SAMPLES="$T_TMP/samples.jsonl"
: >"$SAMPLES"
DONE=0
FAILED=()
BUSY=()
T0=$(date +%s)

bench_cleanup() {
	local rc=$?
	[ "$DONE" = 1 ] || echo "bench: stopped before the end (status $rc): cleaning up, no results written" >&2
	wg_cleanup
}
trap bench_cleanup EXIT

# ---------------------------------------------------------------- helpers

# run_bounded SECONDS OUTFILE NS cmd...: cmd inside NS, killed after SECONDS,
# stdout to OUTFILE. In the background with a wait, so that a signal to this
# script is handled at once and cleanup (which knows the PID) ends it.
run_bounded() {
	local secs=$1 out=$2 ns=$3 pid rc
	shift 3
	bg pid ip netns exec "$ns" timeout -k 2 "$secs" "$@" >"$out" 2>>"$T_TMP/errors.log" </dev/null 3>&-
	wait "$pid"
	rc=$?
	t_forget "$pid"
	return $rc
}

mtu_of() { # NS DEV
	ip -n "$1" -o link show "$2" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }'
}

listening() { [ -n "$(ip netns exec "$1" ss -Hln "sport = :$2")" ]; }

# One iperf3 test: a one-shot server in B on B's inner address, the client in
# A; the result (client's -J output) in $T_TMP/iperf.json. Args: system, secs,
# client options...
iperf() {
	local sys=$1 secs=$2 spid rc
	shift 2
	rm -f "$T_TMP/iperf.json"
	bg spid ip netns exec "$B" timeout -k 2 $((secs + 30)) \
		iperf3 -s -1 -B "${INNER_B[$sys]}" -p $IPERF_PORT >>"$T_TMP/iperf-server.log" 2>&1 </dev/null 3>&-
	if ! wait_for 5 listening "$B" $IPERF_PORT; then
		echo "iperf3 server did not start" >>"$T_TMP/errors.log"
	fi
	run_bounded $((secs + 20)) "$T_TMP/iperf.json" "$A" \
		iperf3 -c "${INNER_B[$sys]}" -p $IPERF_PORT --connect-timeout 3000 -t "$secs" -J ${IPERF_OPTS[$sys]:-} "$@"
	rc=$?
	# The one-shot server ends with the test; give it a moment, no more.
	timeout 5 tail --pid="$spid" -f /dev/null 2>/dev/null || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	t_forget "$spid"
	if [ $rc != 0 ] || ! jq -e '.end.sum_received' "$T_TMP/iperf.json" >/dev/null 2>&1; then
		echo "iperf3 $* failed (status $rc): $(jq -r '.error // empty' "$T_TMP/iperf.json" 2>/dev/null)" >>"$T_TMP/errors.log"
		return 1
	fi
}

# sample SYSTEM METRIC RUN VALUE [DETAIL-JSON]: one raw figure (VALUE may be
# "null" for a failed run).
sample() {
	jq -nc --arg s "$1" --arg m "$2" --argjson r "$3" --argjson v "$4" --argjson d "${5:-null}" \
		'{system: $s, metric: $m, run: $r, value: $v, detail: $d}' >>"$SAMPLES"
	if [ "$4" = null ]; then
		say "  $1 run $3: $2 FAILED ($(tail -n 1 "$T_TMP/errors.log" 2>/dev/null))"
	else
		say "  $1 run $3: $2 = $(printf '%.2f' "$4")"
	fi
}

# utime + stime, in clock ticks, of the given processes (all their threads)
cpu_ticks() {
	local pid t=0 f
	for pid in "$@"; do
		f=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
		f=${f##*) } # past the command name, which may hold spaces
		read -ra f <<<"$f"
		t=$((t + f[11] + f[12])) # fields 14 and 15 of the whole line
	done
	echo $t
}

peak_rss_kb() {
	local pid m=0 v
	for pid in "$@"; do
		v=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$m" ] && m=$v
	done
	echo "$m"
}

# IP fragments B has received (all of its interfaces): non-zero during a UDP
# test means the payload did not fit the tunnel's (or the underlay's) MTU.
reasm_reqds() {
	ip netns exec "$1" awk '/^Ip:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "ReasmReqds") c = i; h = 1 } else print $c }' /proc/net/snmp
}

# Percentage of the machine's CPU time that was idle during one second: the
# benchmark wants the machine to itself, and says so when it is not.
idle_percent() {
	local a b
	read -ra a < <(grep '^cpu ' /proc/stat)
	sleep 1
	read -ra b < <(grep '^cpu ' /proc/stat)
	awk -v a="${a[*]}" -v b="${b[*]}" 'BEGIN {
		n = split(a, x, " "); split(b, y, " ")
		for (i = 2; i <= n; i++) t += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6]) # idle + iowait
		printf "%.0f", (t > 0 ? 100 * idle / t : 100) }'
}

# CPU ticks the whole machine has spent (user, nice, system, irq, softirq),
# and those of this script with its reaped children (iperf3, ping, ...) and
# the running daemons: the difference over a run is other people's work
# (and a little of the kernel's threads).
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
our_ticks() {
	local f
	f=$(cat "/proc/$$/stat")
	f=${f##*) }
	read -ra f <<<"$f"
	echo $((f[11] + f[12] + f[13] + f[14] + $(cpu_ticks "${DAEMONS[@]}")))
}
ms_now() { echo $(($(date +%s%N) / 1000000)); }

# Wait (at most BENCH_WAIT_IDLE s) for the CPUs to be at least 90% idle; the
# idle percentage last seen.
wait_quiet() {
	local deadline=$(($(date +%s) + BENCH_WAIT_IDLE)) idle
	while idle=$(idle_percent) && [ "$idle" -lt 90 ] && [ "$(date +%s)" -lt $deadline ]; do :; done
	echo "$idle"
}

measure_run() { # SYSTEM RUN
	local sys=$1 run=$2 t0 t1 v d size secs=$BENCH_TCP_SECS out

	# TCP, 1 stream A->B, with the daemons' CPU time around it
	t0=$(cpu_ticks "${DAEMONS[@]}")
	if iperf "$sys" "$secs"; then
		t1=$(cpu_ticks "${DAEMONS[@]}")
		v=$(jq '.end.sum_received.bits_per_second / 1e6' "$T_TMP/iperf.json")
		d=$(jq -c '{bytes: .end.sum_received.bytes, seconds: .end.sum_received.seconds,
			retransmits: .end.sum_sent.retransmits, cpu_percent: .end.cpu_utilization_percent}' "$T_TMP/iperf.json")
		sample "$sys" tcp1_ab "$run" "$v" "$d"
		if [ ${#DAEMONS[@]} -gt 0 ]; then
			v=$(jq -n --argjson dt $((t1 - t0)) --argjson hz "$CLK_TCK" --argjson b "$(jq '.end.sum_received.bytes' "$T_TMP/iperf.json")" \
				'if $b > 0 then ($dt / $hz) / ($b / 1e9) else null end')
			sample "$sys" cpu_per_gb "$run" "$v" "{\"cpu_ticks\": $((t1 - t0)), \"clk_tck\": $CLK_TCK, \"daemons\": ${#DAEMONS[@]}}"
		fi
	else
		sample "$sys" tcp1_ab "$run" null
		[ ${#DAEMONS[@]} -gt 0 ] && sample "$sys" cpu_per_gb "$run" null
	fi

	for v in "tcp1_ba -R" "tcp4_ab -P 4" "tcp4_ba -P 4 -R"; do
		read -r d out <<<"$v"
		# shellcheck disable=SC2086
		if iperf "$sys" "$secs" $out; then
			sample "$sys" "$d" "$run" "$(jq '.end.sum_received.bits_per_second / 1e6' "$T_TMP/iperf.json")" \
				"$(jq -c '{bytes: .end.sum_received.bytes, seconds: .end.sum_received.seconds, retransmits: .end.sum_sent.retransmits}' "$T_TMP/iperf.json")"
		else
			sample "$sys" "$d" "$run" null
		fi
	done

	# UDP A->B as fast as the client can send (-b 0); the receiver's count:
	# in iperf3 3.12's sum_received, "packets" is the highest sequence number
	# seen and lost_packets the gaps, so received = packets - lost_packets.
	for size in $BENCH_UDP_SIZES; do
		t0=$(reasm_reqds "$B")
		if iperf "$sys" "$BENCH_UDP_SECS" -u -b 0 -l "$size"; then
			t1=$(reasm_reqds "$B")
			sample "$sys" "udp${size}_pps" "$run" \
				"$(jq '.end.sum_received | (.packets - .lost_packets) / .seconds / 1000' "$T_TMP/iperf.json")" \
				"$(jq -c --argjson frag $((t1 - t0)) '{received: (.end.sum_received.packets - .end.sum_received.lost_packets),
					fragments_in_B: $frag,
					sent: .end.sum_sent.packets, lost_percent: .end.sum_received.lost_percent,
					seconds: .end.sum_received.seconds, mbit_received: (.end.sum_received.bits_per_second / 1e6)}' "$T_TMP/iperf.json")"
		else
			sample "$sys" "udp${size}_pps" "$run" null
		fi
		sleep 1 # let the daemons drain what the flood queued
	done

	# ping
	if run_bounded 30 "$T_TMP/ping.out" "$A" ping -q -c "$BENCH_PING_COUNT" -i "$BENCH_PING_INTERVAL" -W 1 -w 20 "${INNER_B[$sys]}" &&
		v=$(awk -F'[/ ]+' '/^(rtt|round-trip)/ { printf "%.1f", $8 * 1000 }' "$T_TMP/ping.out") && [ -n "$v" ]; then
		d=$(awk -F'[/ ]+' '/^(rtt|round-trip)/ { printf "{\"min_ms\": %s, \"avg_ms\": %s, \"max_ms\": %s, \"mdev_ms\": %s, ", $7, $8, $9, $10 }
			/packet loss/ { for (i = 1; i <= NF; i++) if ($i ~ /%$/) loss = $i }
			END { sub(/%/, "", loss); printf "\"loss_percent\": %s}", loss + 0 }' "$T_TMP/ping.out")
		sample "$sys" ping_rtt "$run" "$v" "$d"
	else
		cat "$T_TMP/ping.out" >>"$T_TMP/errors.log" 2>/dev/null
		sample "$sys" ping_rtt "$run" null
	fi
}

# ---------------------------------------------------------------- systems
# setup_SYS: bring the system up between A and B, fill DAEMONS (PIDs whose CPU
# and memory are the system's cost; empty for the kernel's), SETUP_INFO (JSON).
# teardown_SYS: take it down again, the testbed stays.

setup_veth() { DAEMONS=(); SETUP_INFO='{"mtu": 1500}'; }
teardown_veth() { :; }

setup_vxlan() {
	local ns me peer
	DAEMONS=()
	for ns in A B; do
		[ $ns = A ] && me=$UA peer=$UB || me=$UB peer=$UA
		ip -n "${!ns}" link add vx0 type vxlan id 42 local $me remote $peer dstport 4789 dev eth0 || return 1
		if [ $ns = A ]; then
			ip -n "$A" addr add "${INNER_A[vxlan]}/28" dev vx0 || return 1
		else
			ip -n "$B" addr add "${INNER_B[vxlan]}/28" dev vx0 || return 1
		fi
		ip -n "${!ns}" link set vx0 up || return 1
	done
	SETUP_INFO="{\"mtu\": $(mtu_of "$A" vx0), \"vni\": 42, \"dstport\": 4789}"
	ping_ok "$A" "${INNER_B[vxlan]}" >/dev/null
}
teardown_vxlan() {
	ip -n "$A" link del vx0 2>/dev/null
	ip -n "$B" link del vx0 2>/dev/null
}

# The WireGuard implementations: IMPL -f IFNAME in each host, wg set, addresses.
WG_IFA="" WG_IFB=""
setup_wg() { # SYSTEM IMPL
	local sys=$1 cmd=$2 pa pb ka kb pubA pubB
	wg_ifname WG_IFA "bA$RANDOM"
	wg_ifname WG_IFB "bB$RANDOM"
	wg_keys ka pubA "$sys-a" || return 1
	wg_keys kb pubB "$sys-b" || return 1
	wg_start pa "$A" "$cmd" "$WG_IFA" >>"$T_TMP/errors.log" || return 1
	wg_start pb "$B" "$cmd" "$WG_IFB" >>"$T_TMP/errors.log" || return 1
	DAEMONS=("$pa" "$pb")
	wg_set "$A" "$WG_IFA" private-key "$ka" listen-port 51001 peer "$pubB" allowed-ips "${INNER_B[$sys]}/32" endpoint "$UB:51002" || return 1
	wg_set "$B" "$WG_IFB" private-key "$kb" listen-port 51002 peer "$pubA" allowed-ips "${INNER_A[$sys]}/32" endpoint "$UA:51001" || return 1
	wg_addr "$A" "$WG_IFA" "${INNER_A[$sys]}/28" || return 1
	wg_addr "$B" "$WG_IFB" "${INNER_B[$sys]}/28" || return 1
	ping_ok "$A" "${INNER_B[$sys]}" >>"$T_TMP/errors.log" || return 1
	wg_handshake "$A" "$WG_IFA" "$pubB" 10 >>"$T_TMP/errors.log" || return 1
	SETUP_INFO=$(jq -nc --arg impl "$cmd" --arg ll "$WG_LOG_LEVEL" --argjson mtu "$(mtu_of "$A" "$WG_IFA")" \
		'{command: ($impl + " -f IFNAME"), mtu: $mtu, log_level: $ll}')
}
teardown_wg() {
	[ -n "$WG_IFA" ] && wg_stop "$WG_IFA" >/dev/null
	[ -n "$WG_IFB" ] && wg_stop "$WG_IFB" >/dev/null
	WG_IFA="" WG_IFB=""
}
setup_wireguard-go() { setup_wg wireguard-go wireguard-go; }
teardown_wireguard-go() { teardown_wg; }
setup_ferry() { setup_wg ferry "$FERRY"; }
teardown_ferry() { teardown_wg; }
setup_ferry-base() {
	[ -x "${FERRY_BASE:-}" ] || { echo "ferry-base: set FERRY_BASE to a ferry binary" >>"$T_TMP/errors.log"; return 1; }
	setup_wg ferry-base "$FERRY_BASE"
}
teardown_ferry-base() { teardown_wg; }

# ferry with its own keys, from config files (ferry up -f CONFIG).
# Args: SYSTEM, [Interface] lines of A, of B, [Peer] lines of A (for B), of
# B (for A). A's peer B has Endpoint UB:51002 unless A's lines name one.
setup_ferry_up() {
	local sys=$1 ka kb pubA pubB pa pb h
	wg_ifname WG_IFA "bA$RANDOM"
	wg_ifname WG_IFB "bB$RANDOM"
	wg_keys ka pubA "$sys-a" || return 1
	wg_keys kb pubB "$sys-b" || return 1
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = 51001\nAddress = %s/28\n%s\n' \
			"$(cat "$ka")" "${INNER_A[$sys]}" "$2"
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\n%s\n' "$pubB" "${INNER_B[$sys]}" "$4"
		[[ "$4" == *Endpoint* ]] || echo "Endpoint = $UB:51002"
	} >"$T_TMP/$WG_IFA.conf"
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = 51002\nAddress = %s/28\n%s\n' \
			"$(cat "$kb")" "${INNER_B[$sys]}" "$3"
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = %s/32\nEndpoint = %s:51001\n%s\n' \
			"$pubA" "${INNER_A[$sys]}" "$UA" "$5"
	} >"$T_TMP/$WG_IFB.conf"
	chmod 600 "$T_TMP/$WG_IFA.conf" "$T_TMP/$WG_IFB.conf"
	WG_SOCKS+=("$WG_RUN/$WG_IFA.sock" "$WG_RUN/$WG_IFB.sock")
	bg pb ip netns exec "$B" env LOG_LEVEL="$WG_LOG_LEVEL" "$FERRY" up -f "$T_TMP/$WG_IFB.conf" >>"$T_TMP/errors.log" 2>&1 3>&-
	bg pa ip netns exec "$A" env LOG_LEVEL="$WG_LOG_LEVEL" "$FERRY" up -f "$T_TMP/$WG_IFA.conf" >>"$T_TMP/errors.log" 2>&1 3>&-
	WG_PID[$WG_IFA]=$pa
	WG_PID[$WG_IFB]=$pb
	DAEMONS=("$pa" "$pb")
	for h in "$A:$WG_IFA" "$B:$WG_IFB"; do
		wait_for 10 ip -n "${h%%:*}" link show "${h#*:}" up || return 1
	done
	wait_for 10 ping_ok "$A" "${INNER_B[$sys]}" >>"$T_TMP/errors.log" || return 1
	SETUP_INFO=$(jq -nc --arg a "$(grep -v PrivateKey "$T_TMP/$WG_IFA.conf")" \
		--argjson mtu "$(mtu_of "$A" "$WG_IFA")" '{command: "ferry up -f CONFIG", mtu: $mtu, config_a: $a}')
}
setup_ferry-tap() { setup_ferry_up ferry-tap "Mode = tap" "Mode = tap" "" ""; }
setup_ferry-tap-1398() { setup_ferry_up ferry-tap-1398 "Mode = tap
MTU = 1398" "Mode = tap
MTU = 1398" "" ""; }
teardown_ferry-tap-1398() { teardown_wg; }
teardown_ferry-tap() { teardown_wg; }
setup_ferry-tcp() { setup_ferry_up ferry-tcp "" "ListenTCP = 51012" "Transport = tcp
Endpoint = $UB:51012" ""; }
teardown_ferry-tcp() { teardown_wg; }
setup_ferry-lz4() { setup_ferry_up "${1:-ferry-lz4}" "" "" "Compression = lz4" "Compression = lz4"; }
teardown_ferry-lz4() { teardown_wg; }
setup_ferry-lz4-text() { setup_ferry-lz4 ferry-lz4-text; }
teardown_ferry-lz4-text() { teardown_wg; }

# OpenVPN 2.6 point to point: B is the TLS server, A the client; each trusts
# the other's self-signed certificate by its SHA-256 fingerprint.
OVPN_PIDS=()
setup_openvpn() { # [SYSTEM DEV PROTO]: openvpn-tap: tap; openvpn-tcp: tcp
	local sys=${1:-openvpn} dev=${2:-tun} proto=${3:-udp}
	local d="$T_TMP/$sys" h fa fb pa pb deadline ifa ifb pserv pcli
	mkdir -p "$d" && chmod 700 "$d"
	for h in a b; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
			-subj "/CN=bench-$h" -keyout "$d/$h.key" -out "$d/$h.crt" >>"$T_TMP/errors.log" 2>&1 || return 1
	done
	fa=$(openssl x509 -in "$d/a.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	fb=$(openssl x509 -in "$d/b.crt" -noout -fingerprint -sha256 | cut -d= -f2)
	local common=(--dev "${dev}0" --dev-type "$dev" --disable-dco --data-ciphers AES-256-GCM
		--verb "$BENCH_OPENVPN_VERB" --mute-replay-warnings --script-security 0)
	# A tap device takes an address and a netmask; a tun one both ends.
	ifa=("${INNER_A[$sys]}" "${INNER_B[$sys]}") ifb=("${INNER_B[$sys]}" "${INNER_A[$sys]}")
	if [ "$dev" = tap ]; then
		ifa=("${INNER_A[$sys]}" 255.255.255.240) ifb=("${INNER_B[$sys]}" 255.255.255.240)
	fi
	pserv=(--proto udp) pcli=(--proto udp)
	if [ "$proto" = tcp ]; then
		pserv=(--proto tcp-server) pcli=(--proto tcp-client)
	fi
	bg pb ip netns exec "$B" openvpn "${common[@]}" "${pserv[@]}" --tls-server --dh none \
		--local "$UB" --lport 1194 --cert "$d/b.crt" --key "$d/b.key" --peer-fingerprint "$fa" \
		--ifconfig "${ifb[@]}" --log "$d/b.log" </dev/null >/dev/null 2>&1 3>&-
	bg pa ip netns exec "$A" openvpn "${common[@]}" "${pcli[@]}" --tls-client --nobind \
		--remote "$UB" 1194 --cert "$d/a.crt" --key "$d/a.key" --peer-fingerprint "$fb" \
		--ifconfig "${ifa[@]}" --log "$d/a.log" </dev/null >/dev/null 2>&1 3>&-
	OVPN_PIDS=("$pa" "$pb")
	DAEMONS=("$pa" "$pb")
	deadline=$(($(date +%s) + 30))
	until grep -q 'Initialization Sequence Completed' "$d/a.log" 2>/dev/null &&
		grep -q 'Initialization Sequence Completed' "$d/b.log" 2>/dev/null; do
		if ! kill -0 "$pa" 2>/dev/null || ! kill -0 "$pb" 2>/dev/null || [ "$(date +%s)" -ge $deadline ]; then
			{
				echo "openvpn did not come up within 30 s"
				tail -n 15 "$d/a.log" "$d/b.log"
			} >>"$T_TMP/errors.log" 2>&1
			return 1
		fi
		sleep 0.1
	done
	wait_for 10 ping_ok "$A" "${INNER_B[$sys]}" >>"$T_TMP/errors.log" || return 1
	SETUP_INFO=$(jq -nc --arg v "$(openvpn --version | head -n 1)" \
		--argjson mtu "$(mtu_of "$A" "${dev}0")" \
		--arg opts "${common[*]}" \
		'{version: $v, mtu: $mtu, mode: "p2p TLS, --peer-fingerprint, self-signed EC P-256 certs",
		  options: $opts, cipher: "AES-256-GCM (the only one --data-ciphers allows; no fallback)"}')
}
setup_openvpn-tap() { setup_openvpn openvpn-tap tap udp; }
teardown_openvpn-tap() { teardown_openvpn; }
setup_openvpn-tcp() { setup_openvpn openvpn-tcp tun tcp; }
teardown_openvpn-tcp() { teardown_openvpn; }
teardown_openvpn() {
	local pid
	for pid in "${OVPN_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${OVPN_PIDS[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null || kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		t_forget "$pid"
	done
	OVPN_PIDS=()
}

# ---------------------------------------------------------------- testbed

ns_new A a
ns_new B b
ip -n "$A" link add eth0 type veth peer name eth0 netns "$B" || die "cannot create the veth pair"
ip -n "$A" addr add "$UA/24" dev eth0
ip -n "$B" addr add "$UB/24" dev eth0
ip -n "$A" link set eth0 up
ip -n "$B" link set eth0 up
wait_for 5 ping_ok "$A" "$UB" || die "the veth between A and B does not carry traffic"

ver() { "$@" 2>/dev/null | head -n 1; }
MACHINE=$(jq -nc \
	--arg nproc "$(nproc)" --arg kernel "$(uname -r)" --arg arch "$(uname -m)" \
	--arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	--arg mem "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" \
	--arg os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
	--arg wggo "$(ver wireguard-go --version)" --arg ovpn "$(ver openvpn --version)" \
	--arg iperf "$(ver iperf3 --version)" --arg wgtools "$(ver wg --version)" --arg ossl "$(ver openssl version)" \
	--arg fgit "$(git -C "$TOP" describe --always --dirty 2>/dev/null)" \
	--arg fver "$([ -x "$FERRY" ] && ver "$FERRY" --version)" --arg fpath "$FERRY" \
	--arg debs "$(dpkg-query -W -f='${Package}=${Version} ' wireguard-go openvpn iperf3 wireguard-tools openssl 2>/dev/null)" \
	'{nproc: ($nproc | tonumber), kernel: $kernel, arch: $arch, cpu: $cpu, mem_kb: ($mem | tonumber), os: $os,
	  versions: {"wireguard-go": $wggo, openvpn: $ovpn, iperf3: $iperf, "wireguard-tools": $wgtools,
	             openssl: $ossl, ferry_git_describe: $fgit, ferry_version: $fver, ferry_binary: $fpath,
	             debian_packages: ($debs | rtrimstr(" ") | split(" "))}}')

say "bench: systems: $BENCH_SYSTEMS; $BENCH_RUNS runs; TCP ${BENCH_TCP_SECS} s, UDP ${BENCH_UDP_SECS} s at $BENCH_UDP_SIZES B"
declare -A SETUPS=()
for sys in $BENCH_SYSTEMS; do
	say "$sys: setting up"
	DAEMONS=()
	SETUP_INFO=null
	if ! "setup_$sys"; then
		say "$sys: SET-UP FAILED, skipped:"
		tail -n 20 "$T_TMP/errors.log" >&2
		FAILED+=("$sys")
		"teardown_$sys"
		continue
	fi
	SETUPS[$sys]=$SETUP_INFO
	for ((run = 1; run <= BENCH_RUNS; run++)); do
		IDLE=$(wait_quiet)
		sample "$sys" idle_before "$run" "$IDLE" "{\"loadavg\": \"$(cut -d' ' -f1-3 /proc/loadavg)\"}" 2>/dev/null
		say "$sys: run $run/$BENCH_RUNS (CPUs $IDLE% idle before it)"
		m0=$(machine_ticks) o0=$(our_ticks) w0=$(ms_now)
		measure_run "$sys" "$run"
		m1=$(machine_ticks) o1=$(our_ticks) w1=$(ms_now)
		v=$(awk -v m=$((m1 - m0)) -v o=$((o1 - o0)) -v ms=$((w1 - w0)) -v hz="$CLK_TCK" -v n="$(nproc)" \
			'BEGIN { f = 100 * (m - o) / (ms / 1000 * hz * n); printf "%.0f", (f < 0 ? 0 : f) }')
		sample "$sys" foreign_cpu "$run" "$v" "{\"machine_ticks\": $((m1 - m0)), \"our_ticks\": $((o1 - o0)), \"ms\": $((w1 - w0))}" 2>/dev/null
		if [ "$v" -gt 10 ]; then
			BUSY+=("$sys#$run:$v%")
			say "$sys: run $run -- WARNING: other processes used $v% of the machine's CPU time during it: figures are low and noisy"
		fi
		if [ ${#DAEMONS[@]} -gt 0 ] && ! kill -0 "${DAEMONS[@]}" 2>/dev/null; then
			say "$sys: a daemon has exited; stopping this system"
			FAILED+=("$sys")
			break
		fi
	done
	if [ ${#DAEMONS[@]} -gt 0 ]; then
		v=$(peak_rss_kb "${DAEMONS[@]}")
		[ "$v" -gt 0 ] && sample "$sys" peak_rss 1 "$(jq -n "$v / 1024")" "{\"vmhwm_kb\": [$(
			for p in "${DAEMONS[@]}"; do awk '/^VmHWM:/ { printf "%s,", $2 }' "/proc/$p/status" 2>/dev/null; done | sed 's/,$//'
		)]}"
	fi
	"teardown_$sys"
done

# ---------------------------------------------------------------- results

ELAPSED=$(($(date +%s) - T0))
STAMP=$(date -d "@$T0" +%Y%m%d-%H%M%S)
OUT="$BENCH_OUT/bench-$STAMP.json"
setups="{}"
for sys in "${!SETUPS[@]}"; do
	setups=$(jq -c --arg s "$sys" --argjson v "${SETUPS[$sys]}" '. + {($s): $v}' <<<"$setups")
done
metrics_json=$(printf '%s\n' "${METRICS[@]}" | jq -Rsc 'split("\n") | map(select(length > 0) | split("|")
	| {key: .[0], label: .[1], unit: .[2], better: (if .[3] == "up" then "higher" else "lower" end), format: .[4],
	   ratio: (.[5] != "noratio")})')

jq -n --slurpfile samples "$SAMPLES" --argjson machine "$MACHINE" --argjson metrics "$metrics_json" \
	--argjson setups "$setups" --arg systems "$BENCH_SYSTEMS" --arg failed "${FAILED[*]}" \
	--arg started "$(date -d "@$T0" -Iseconds)" --argjson elapsed "$ELAPSED" \
	--argjson runs "$BENCH_RUNS" --argjson tcp "$BENCH_TCP_SECS" --argjson udp "$BENCH_UDP_SECS" \
	--arg sizes "$BENCH_UDP_SIZES" --argjson pc "$BENCH_PING_COUNT" --arg pi "$BENCH_PING_INTERVAL" '
	def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	($systems | split(" ") | map(select(length > 0))) as $sys |
	{
	  started: $started, elapsed_s: $elapsed, machine: $machine,
	  settings: {systems: $sys, runs: $runs, tcp_secs: $tcp, udp_secs: $udp,
	             udp_sizes: ($sizes | split(" ") | map(select(length > 0) | tonumber)),
	             ping_count: $pc, ping_interval_s: ($pi | tonumber),
	             testbed: "namespaces A and B, one veth pair, underlay 192.0.2.1/24 <-> 192.0.2.2/24, MTU 1500; client in A, server in B"},
	  busy_runs: [$samples[] | select(.metric == "foreign_cpu" and .value > 10) | {system, run, foreign_cpu_percent: .value}],
	  failed: ($failed | split(" ") | map(select(length > 0))),
	  metrics: $metrics,
	  setup: $setups,
	  results: ($sys | map(. as $s | {key: $s, value: ($metrics | map(.key as $m |
	      [$samples[] | select(.system == $s and .metric == $m)] as $r |
	      select($r | length > 0) |
	      ([$r[].value | select(. != null)]) as $v |
	      {key: $m, value: {median: ($v | median), min: ($v | min), max: ($v | max),
	                        n: ($v | length), failed_runs: (($r | length) - ($v | length))}}) | from_entries)})
	    | from_entries),
	  raw: $samples
	}' >"$OUT" || die "could not write $OUT"

# The table: one row per metric, one column per system ("median [min-max]"),
# then ferry/system for every other system. jq picks the numbers, awk prints.
jq -r '
	.settings.systems as $sys | .results as $res |
	(if ($sys | index("ferry")) then $sys | map(select(. != "ferry")) else [] end) as $rcols |
	(["H", "metric (unit, better)"] + $sys + ($rcols | map("ferry/" + .))),
	(.metrics[] | . as $m |
	  ["R", $m.label + " (" + $m.unit + ", " + (if $m.better == "higher" then "^" else "v" end) + ")", $m.format] +
	  ($sys | map($res[.][$m.key] as $r |
	    if $r == null then "-" elif $r.median == null then "FAILED"
	    else [$r.median, $r.min, $r.max, $r.n] | map(tostring) | join(" ") end)) +
	  ($rcols | map(($res.ferry[$m.key].median) as $f | ($res[.][$m.key].median) as $o |
	    if ($m.ratio | not) then "" elif $f == null or $o == null or $o == 0 then "-" else $f / $o | tostring end)))
	| @tsv' "$OUT" >"$T_TMP/table.tsv"
awk -F'\t' -v nsys="$(wc -w <<<"$BENCH_SYSTEMS")" '
	function ratio(x) {
		if (x == "-" || x == "") return x
		return sprintf(x >= 9.95 ? "%.1fx" : x >= 0.995 ? "%.2fx" : x >= 0.0995 ? "%.2fx" : "%.3fx", x)
	}
	function cell(v, f,   p) {
		if (split(v, p, " ") < 4) return v
		if (p[4] == 1) return sprintf(f, p[1])
		return sprintf(f " [" f "-" f "]", p[1], p[2], p[3])
	}
	{
		rows++
		if ($1 == "H") { c = 0; for (i = 2; i <= NF; i++) t[rows, ++c] = $i }
		else {
			c = 0; t[rows, ++c] = $2
			for (i = 4; i < 4 + nsys; i++) t[rows, ++c] = cell($i, $3)
			for (; i <= NF; i++) t[rows, ++c] = ratio($i)
		}
		for (i = 1; i <= c; i++) if (length(t[rows, i]) > w[i]) w[i] = length(t[rows, i])
		n = c
	}
	END {
		for (r = 1; r <= rows; r++) {
			line = sprintf("%-" w[1] "s", t[r, 1])
			for (i = 2; i <= n; i++) line = line "  " sprintf("%" w[i] "s", t[r, i])
			print line
			if (r == 1) { s = ""; for (i = 1; i <= length(line); i++) s = s "-"; print s }
		}
	}' "$T_TMP/table.tsv" >"$T_TMP/table.txt"
jq --rawfile t "$T_TMP/table.txt" '. + {table: ($t | split("\n") | map(select(length > 0)))}' "$OUT" >"$T_TMP/out.json" &&
	cat "$T_TMP/out.json" >"$OUT"

echo
echo "ferry benchmark, $(date -d "@$T0" '+%F %T'), $(nproc) CPUs, kernel $(uname -r), ferry $(git -C "$TOP" describe --always --dirty 2>/dev/null)"
echo "median [min-max] of $BENCH_RUNS runs; ^ higher is better, v lower is better; '-': not applicable"
cat "$T_TMP/table.txt"
echo
echo "results: ${OUT#"$TOP"/}   (run time $((ELAPSED / 60)) min $((ELAPSED % 60)) s)"
if [ ${#BUSY[@]} -gt 0 ]; then
	echo "WARNING: other processes used more than 10% of the CPU time during these runs: ${BUSY[*]}"
	echo "         (their figures are low and noisy: rerun on a quiet machine, or with BENCH_WAIT_IDLE=SECONDS)"
fi
if [ ${#FAILED[@]} -gt 0 ]; then
	echo "FAILED: ${FAILED[*]} (see above)"
	tail -n 20 "$T_TMP/errors.log" 2>/dev/null | sed 's/^/  /'
fi
DONE=1
[ ${#FAILED[@]} -eq 0 ]
