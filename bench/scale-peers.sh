#!/usr/bin/env bash
# scale-peers.sh - how ferry's costs grow with the number of configured peers.
#
# For each N in SCALE_PEERS (default "1 1000 100000"), a fresh daemon in
# namespace A (`$SCALE_IMPL -f IFNAME`, default build/ferry) gets N peers in
# one `wg setconf` (see SCALE_CHUNK): N-1 made-up peers (random real public keys from
# build/bench/scale_keys, one IPv4 /32 and one IPv6 /128 each, no endpoint)
# and, last, one real peer: namespace B running `$SCALE_REAL_IMPL -f IFNAME`
# (default build/ferry). A and B are joined by a bridge in a third namespace
# (tests/net/wglib.sh's wg_host), underlay 192.0.2.0/24; inner addresses
# 10.0.0.0/8 and fd00::/64 exist only inside the namespaces.
#
# Measured on A for each N:
#   setconf        wall time of `wg setconf` and the daemon's CPU during it
#   memory         VmRSS before/after (-> bytes per peer) and VmHWM
#   get            `wg show IF dump` (the UAPI get): median of 3, its size;
#                  `wg show IF` (pretty) once, which must complete
#   idle CPU       utime+stime (/proc/PID/stat) and schedstat over
#                  SCALE_IDLE_SECS: before any session, with a session, and
#                  with the real peer's persistent keepalive at 1 s (one timer
#                  expiry per second: what one expiry costs among N peers)
#   handshake      SCALE_HS_RUNS (5) times: A forgets B (wg set peer remove,
#                  then adds it again) and pings B: ping's time of the first
#                  reply, which waited for the handshake A initiated; then the
#                  same from B (A responds, finding B among N peers)
#   throughput     iperf3 -t SCALE_IPERF_SECS single stream A->B and B->A,
#                  SCALE_IPERF_RUNS (3) times each: median (min-max)
#   stall          pings B->A every 5 ms while A serves `wg show dump` and
#                  `wg syncconf` of the same file: the longest gap between
#                  replies, max RTT and pings lost (the daemon serves UAPI
#                  requests on its one event-loop thread)
#   one peer       `wg set` adding one peer, and removing it, with N present
#   active         SCALE_ACTIVE (default 1000, at most N-1) made-up peers get
#                  an endpoint that never answers (a veth into namespace C,
#                  which drops what arrives) and persistent-keepalive 25 via `wg
#                  addconf` in 50 batches 0.1 s apart: each retries its
#                  handshake every 5 s, i.e. about SCALE_ACTIVE/5 timer
#                  expiries a second spread over time; CPU over SCALE_IDLE_SECS
#   addconf        `wg addconf` of N/10 new peers, with pings B->A meanwhile
#   re-setconf     `wg setconf` of the same file again (replaces all N peers)
#   stop           SIGTERM to exit (the daemon frees every peer)
#
# Settings (environment):
#   FERRY=path                     the ferry binary (default build/ferry; copy
#                                  it elsewhere first if others rebuild while
#                                  this runs); FERRY_NO_OFFLOAD reaches it too
#   SCALE_PEERS="1 1000 100000"   the values of N
#   SCALE_IMPL=build/ferry         the daemon under test (e.g. wireguard-go)
#   SCALE_REAL_IMPL=build/ferry    the one real peer's daemon (or wireguard-go)
#   SCALE_IDLE_SECS=10  SCALE_IPERF_SECS=3  SCALE_IPERF_RUNS=3  SCALE_HS_RUNS=5
#   SCALE_ACTIVE=1000
#   SCALE_CHUNK=200000             if one setconf of N > SCALE_CHUNK peers fails,
#                                  apply them in requests of SCALE_CHUNK peers
#                                  (one UAPI request is at most 64 MiB)
#   SCALE_PERF=1                   also profile the daemon under test with
#                                  `perf record -e cpu-clock` during setconf,
#                                  get, one extra iperf3 A->B, the keepalive
#                                  and active windows and re-setconf at the
#                                  largest N; timings of that run are
#                                  perturbed by perf
#   SCALE_OUT=dir                  results: table.md, log.txt, the pings of
#                                  each stall test (ping-LABEL-N.txt), perf
#                                  reports; default /tmp/ferry-scale-DATE
# Run as root from anywhere, on a machine others share under the bench lock:
#   flock /tmp/ferry-bench.lock bench/scale-peers.sh
# Needs wg, iperf3, jq, ping; build/bench/scale_keys (make). Every host is a
# namespace ferry-PID-NAME, every daemon, ping and iperf3 is stopped by PID
# and every command is bounded by timeout; all is removed on any exit.

WG_LOG_LEVEL=${WG_LOG_LEVEL:-error}
# shellcheck source-path=SCRIPTDIR source=../tests/net/lib.sh
. "$(dirname "$0")/../tests/net/lib.sh"
# shellcheck source-path=SCRIPTDIR source=../tests/net/wglib.sh
. "$(dirname "$0")/../tests/net/wglib.sh"

SCALE_PEERS=${SCALE_PEERS:-1 1000 100000}
SCALE_IMPL=${SCALE_IMPL:-$FERRY}
SCALE_REAL_IMPL=${SCALE_REAL_IMPL:-$FERRY}
SCALE_IDLE_SECS=${SCALE_IDLE_SECS:-10}
SCALE_IPERF_SECS=${SCALE_IPERF_SECS:-3}
SCALE_IPERF_RUNS=${SCALE_IPERF_RUNS:-3}
SCALE_HS_RUNS=${SCALE_HS_RUNS:-5}
SCALE_ACTIVE=${SCALE_ACTIVE:-1000}
SCALE_CHUNK=${SCALE_CHUNK:-200000}
SCALE_PERF=${SCALE_PERF:-0}
SCALE_OUT=${SCALE_OUT:-/tmp/ferry-scale-$(date +%Y%m%d-%H%M%S)}
KEYS=${KEYS:-$TOP/$BUILD/bench/scale_keys}
CLK_TCK=$(getconf CLK_TCK)
UA=192.0.2.1 UB=192.0.2.2
PORT_A=51820 PORT_B=51821
LOG="$SCALE_OUT/log.txt"

die() {
	echo "scale-peers: $*" >&2
	exit 1
}
say() { echo "[$(date +%T)] $*" | tee -a "$LOG" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces)"
for c in wg iperf3 jq ping timeout awk; do
	command -v "$c" >/dev/null || die "'$c' not found: run 'make deps'"
done
[ -x "$KEYS" ] || die "no $KEYS: run make"
for n in $SCALE_PEERS; do
	[[ "$n" =~ ^[1-9][0-9]{0,6}$ ]] || die "SCALE_PEERS: '$n' is not a number of peers (1..9999999)"
done
[[ "$SCALE_IDLE_SECS" =~ ^[1-9][0-9]?$ ]] || die "SCALE_IDLE_SECS must be 1..99"
[[ "$SCALE_IPERF_SECS" =~ ^[1-9][0-9]?$ ]] || die "SCALE_IPERF_SECS must be 1..99"
[[ "$SCALE_IPERF_RUNS" =~ ^[1-9]$ ]] || die "SCALE_IPERF_RUNS must be 1..9"
[[ "$SCALE_HS_RUNS" =~ ^[1-9][0-9]?$ ]] || die "SCALE_HS_RUNS must be 1..99"
[[ "$SCALE_ACTIVE" =~ ^[0-9]{1,6}$ ]] || die "SCALE_ACTIVE must be 0..999999"
[[ "$SCALE_CHUNK" =~ ^[1-9][0-9]{0,6}$ ]] || die "SCALE_CHUNK must be 1..9999999"
if [ "$SCALE_PERF" = 1 ]; then
	command -v perf >/dev/null || die "SCALE_PERF=1 but no perf"
fi
mkdir -p "$SCALE_OUT" || die "cannot create $SCALE_OUT"
: >"$LOG"
PERF_PID=""

scale_cleanup() {
	local rc=$?
	if [ -n "$PERF_PID" ]; then
		kill -INT "$PERF_PID" 2>/dev/null
		timeout 10 tail --pid="$PERF_PID" -f /dev/null 2>/dev/null
		kill -9 "$PERF_PID" 2>/dev/null
	fi
	[ $rc = 0 ] || echo "scale-peers: stopped early (status $rc); partial results in $SCALE_OUT" >&2
	wg_cleanup
}
trap scale_cleanup EXIT

# ---------------------------------------------------------------- helpers

ms() { echo $(($(date +%s%N) / 1000000)); }

# utime+stime in ms (10 ms ticks); the sum of on-CPU ns of all live threads
# (schedstat, exact); cpu_op_ms: the latter in ms, for single operations
cpu_ms() {
	local f
	f=$(cat "/proc/$1/stat" 2>/dev/null) || {
		echo 0
		return
	}
	f=${f##*) }
	read -ra f <<<"$f"
	echo $(((f[11] + f[12]) * 1000 / CLK_TCK))
}
cpu_op_ms() { echo $(($(sched_ns "$1") / 1000000)); }
sched_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}
proc_state() { # R, S, Z ... or nothing when gone
	local f
	f=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	f=${f##*) }
	echo "${f%% *}"
}
status_kib() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null; }

# run_to SECONDS NS cmd...: cmd in NS, output to $T_TMP/out, bounded
run_to() {
	local secs=$1 ns=$2
	shift 2
	ip netns exec "$ns" timeout -k 2 "$secs" "$@" >"$T_TMP/out" 2>&1 </dev/null
}
# wgx NS args...: wg args... in NS, bounded (a UAPI request of N peers takes
# seconds at most), output to the log
wgx() {
	local ns=$1
	shift
	ip netns exec "$ns" timeout -k 2 120 wg "$@" >>"$LOG" 2>&1 </dev/null
}

median3() { printf '%s\n' "$@" | sort -n | sed -n 2p; }

# perf_start NAME / perf_stop: profile the daemon under test (SCALE_PERF=1, largest N)
perf_start() {
	[ "$SCALE_PERF" = 1 ] && [ "$N" = "$NMAX" ] || return 0
	perf record -q -e cpu-clock -F 999 -g -p "$PA" -o "$SCALE_OUT/perf-$1-$N.data" >/dev/null 2>&1 &
	PERF_PID=$!
	PERF_NAME=$1
	sleep 0.5
}
perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	kill -INT "$PERF_PID" 2>/dev/null
	timeout 20 tail --pid="$PERF_PID" -f /dev/null 2>/dev/null || kill -9 "$PERF_PID" 2>/dev/null
	wait "$PERF_PID" 2>/dev/null
	PERF_PID=""
	timeout 120 perf report -i "$SCALE_OUT/perf-$PERF_NAME-$N.data" --stdio --no-children --sort symbol \
		-g none --percent-limit 0.5 2>/dev/null | grep -v '^$' | head -n 40 >"$SCALE_OUT/perf-$PERF_NAME-$N.txt"
	say "  perf profile: $SCALE_OUT/perf-$PERF_NAME-$N.txt"
}

# cpu_window LABEL SECONDS: the daemon's CPU over SECONDS -> R[LABEL] (ms, by stat) and R[LABEL_ns] (schedstat)
cpu_window() {
	local c0 s0 c1 s1
	c0=$(cpu_ms "$PA")
	s0=$(sched_ns "$PA")
	sleep "$2"
	c1=$(cpu_ms "$PA")
	s1=$(sched_ns "$PA")
	R[$1]=$((c1 - c0))
	R[${1}_us]=$(((s1 - s0) / 1000))
	say "  $1: ${R[$1]} ms CPU (stat), $(((s1 - s0) / 1000)) us (schedstat) in $2 s"
}

# first_ping NS ADDR -> echo "rtt_ms wall_ms" of the first reply (or "fail")
first_ping() {
	local t0 t1 rtt
	t0=$(ms)
	if run_to 15 "$1" ping -n -c 1 -W 10 "$2"; then
		t1=$(ms)
		rtt=$(sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' "$T_TMP/out" | head -n 1)
		echo "${rtt:-?} $((t1 - t0))"
	else
		echo "fail fail"
	fi
}

# summary VALUES...: "median (min-max)" of numbers; "fail" entries are counted
summary() {
	local ok=() v fails=0
	for v in "$@"; do
		if [[ "$v" =~ ^[0-9.]+$ ]]; then ok+=("$v"); else fails=$((fails + 1)); fi
	done
	if [ ${#ok[@]} = 0 ]; then
		echo fail
		return
	fi
	printf '%s\n' "${ok[@]}" | sort -n | awk -v f=$fails '{ v[NR] = $1 } END {
		m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%s (%s-%s)%s", m, v[1], v[NR], f ? " " f " failed" : "" }'
}

# handshakes NSVAR IFNAME PEERPUB ENDPOINT ALLOWED TARGET LABEL: SCALE_HS_RUNS
# times, forget the peer in NSVAR's daemon (remove it and add it again, so
# that there is no session there) and time the first ping from it to TARGET:
# NSVAR's daemon initiates. -> R[LABEL] "median (min-max)" of ping's time
handshakes() {
	local ns=${!1} v=()
	for i in $(seq "$SCALE_HS_RUNS"); do
		wgx "$ns" set "$2" peer "$3" remove
		wgx "$ns" set "$2" peer "$3" allowed-ips "$5" endpoint "$4"
		sleep 0.3
		v+=("$(first_ping "$ns" "$6" | cut -d' ' -f1)")
		sleep 0.7
	done
	R[$7]=$(summary "${v[@]}")
	say "  handshakes $1 initiates: first reply after ${R[$7]} ms (${v[*]})"
}

# iperf_run DIR(ab|ba) -> Mbit/s (or fail)
iperf_run() {
	local spid rc extra=()
	[ "$1" = ba ] && extra=(-R)
	ip netns exec "$B" timeout -k 2 $((SCALE_IPERF_SECS + 30)) iperf3 -s -1 -B 10.0.0.2 -p 5201 \
		>>"$T_TMP/iperf-server.log" 2>&1 </dev/null 3>&- &
	spid=$!
	T_PIDS+=("$spid")
	wait_for 5 wg_listening "$B" 5201
	ip netns exec "$A" timeout -k 2 $((SCALE_IPERF_SECS + 20)) iperf3 -c 10.0.0.2 -p 5201 --connect-timeout 3000 \
		-t "$SCALE_IPERF_SECS" -J "${extra[@]}" >"$T_TMP/iperf.json" 2>>"$LOG" </dev/null
	rc=$?
	timeout 5 tail --pid="$spid" -f /dev/null 2>/dev/null || kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	t_forget "$spid"
	if [ $rc = 0 ] && jq -e '.end.sum_received' "$T_TMP/iperf.json" >/dev/null 2>&1; then
		jq '.end.sum_received.bits_per_second / 1e6 | floor' "$T_TMP/iperf.json"
	else
		{
			echo "iperf3 $1 failed (status $rc): $(jq -r '.error // empty' "$T_TMP/iperf.json" 2>/dev/null)"
			tail -n 5 "$T_TMP/iperf-server.log"
		} >>"$LOG" 2>&1
		echo fail
	fi
}

# stall LABEL AFTER cmd...: ping B->A every 5 ms from 1 s before cmd (run in A)
# until AFTER s after it -> R[LABEL_gap] (the longest time without a reply,
# ms), R[LABEL_max] (max RTT, ms), R[LABEL_lost] (pings lost), R[LABEL_ms]
# (how long cmd took), R[LABEL_cpu] (the daemon's CPU ms meanwhile)
stall() {
	local label=$1 after=$2 ppid t0 c0
	shift 2
	ip netns exec "$B" timeout -k 2 600 ping -n -D -i 0.005 -W 5 10.0.0.1 >"$T_TMP/stall.out" 2>&1 </dev/null 3>&- &
	ppid=$!
	T_PIDS+=("$ppid")
	sleep 1
	c0=$(cpu_op_ms "$PA")
	t0=$(ms)
	run_to 300 "$A" "$@" || say "  $*: failed: $(head -c 300 "$T_TMP/out")"
	R[${label}_ms]=$(($(ms) - t0))
	R[${label}_cpu]=$(($(cpu_op_ms "$PA") - c0))
	sleep "$after"
	kill -INT "$ppid" 2>/dev/null
	timeout 5 tail --pid="$ppid" -f /dev/null 2>/dev/null || kill "$ppid" 2>/dev/null
	wait "$ppid" 2>/dev/null
	t_forget "$ppid"
	cp "$T_TMP/stall.out" "$SCALE_OUT/ping-$label-$N.txt" 2>/dev/null
	R[${label}_gap]=$(awk -F'[][]' '/bytes from/ { t = $2 * 1000; if (p && t - p > g) g = t - p; p = t }
		END { printf "%.0f", g }' "$T_TMP/stall.out")
	R[${label}_max]=$(awk -F'[/ ]+' '/^rtt/ { print $9 }' "$T_TMP/stall.out")
	R[${label}_lost]=$(awk '/packets transmitted/ { print $1 - $4 }' "$T_TMP/stall.out")
	say "  stall during $label (${R[${label}_ms]} ms, then $after s): longest without reply ${R[${label}_gap]} ms," \
		"max RTT ${R[${label}_max]:-?} ms, ${R[${label}_lost]:-?} pings lost"
}

# ---------------------------------------------------------------- one N

declare -A R
ROWS=()
# shellcheck disable=SC2086 # a list of numbers
NMAX=$(printf '%s\n' $SCALE_PEERS | sort -n | tail -n 1)

wg_host A a "$UA"
wg_host B b "$UB"
# A's sink for endpoints that never answer: a veth to namespace C, which has
# no address and drops what arrives; a permanent neighbour entry means no ARP.
ns_new C sink
ip -n "$A" link add sink0 type veth peer name eth0 netns "$C" || die "cannot create the sink veth"
ip -n "$A" addr add 198.51.100.1/24 dev sink0
ip -n "$A" link set sink0 up
ip -n "$C" link set eth0 up
ip -n "$A" neigh replace 198.51.100.2 lladdr 02:00:00:00:00:02 dev sink0 nud permanent
wait_for 5 ping_ok "$A" "$UB" >/dev/null || die "the underlay between A and B does not carry traffic"

KA="$T_TMP/a.key" KB="$T_TMP/b.key"
(umask 077 && "$KEYS" 2 pairs >"$T_TMP/pairs") || die "scale_keys failed"
read -r privA PUBA <<<"$(sed -n 1p "$T_TMP/pairs")"
read -r privB PUBB <<<"$(sed -n 2p "$T_TMP/pairs")"
(umask 077 && echo "$privA" >"$KA" && echo "$privB" >"$KB")
say "keys for up to $NMAX peers..."
t0=$(ms)
# N-1 made-up peers, then N/10 more for the addconf test
"$KEYS" $((NMAX - 1 + NMAX / 10 + 1)) >"$T_TMP/keys" || die "scale_keys failed"
say "  $(wc -l <"$T_TMP/keys") keys in $(($(ms) - t0)) ms"

measure() {
	# shellcheck disable=SC2034 # PB: set by wg_start
	local N=$1 IFA IFB PA PB conf r0 r1 c0 c1 t0 t1 i d=() m x e=() f

	R=()
	wg_ifname IFA "sa$N-"
	wg_ifname IFB "sb$N-"
	conf="$T_TMP/a-$N.conf"
	# The config: N-1 made-up peers, then the real one.
	{
		printf '[Interface]\nPrivateKey = %s\nListenPort = %s\n\n' "$privA" "$PORT_A"
		head -n $((N - 1)) "$T_TMP/keys" | awk '{ i = NR; printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32, fd00::%x:%x/128\n\n",
			$1, 1 + int(i / 65536), int(i / 256) % 256, i % 256, 1 + int(i / 65536), i % 65536 }'
		printf '[Peer]\nPublicKey = %s\nAllowedIPs = 10.0.0.2/32, fd00::2/128\nEndpoint = %s:%s\n' "$PUBB" "$UB" "$PORT_B"
	} >"$conf"
	say "N=$N: config $(stat -c %s "$conf") bytes; $SCALE_IMPL in A"

	# give_up MESSAGE: stop this N's daemons and go on with the next N
	give_up() {
		say "  $1"
		perf_stop
		wg_stop "$IFA" >>"$LOG" 2>&1
		wg_stop "$IFB" >>"$LOG" 2>&1
		return 1
	}
	wg_start PA "$A" "$SCALE_IMPL" "$IFA" >>"$LOG" || give_up "$SCALE_IMPL does not start" || return 1
	wg_start PB "$B" "$SCALE_REAL_IMPL" "$IFB" >>"$LOG" || give_up "$SCALE_REAL_IMPL does not start" || return 1
	{ wg_set "$B" "$IFB" private-key "$KB" listen-port $PORT_B peer "$PUBA" allowed-ips 10.0.0.1/32,fd00::1/128 \
		endpoint "$UA:$PORT_A" && wg_addr "$B" "$IFB" 10.0.0.2/24 fd00::2/64 &&
		wg_addr "$A" "$IFA" 10.0.0.1/8 fd00::1/64; } >>"$LOG" 2>&1 || give_up "cannot configure B" || return 1
	sleep 0.5

	# setconf: one request; if that fails and N > SCALE_CHUNK, a setconf of
	# the first SCALE_CHUNK peers and an addconf for each further SCALE_CHUNK
	# (one UAPI request has a size limit: the log shows what wg said)
	r0=$(status_kib "$PA" VmRSS)
	c0=$(cpu_op_ms "$PA")
	perf_start setconf
	t0=$(ms)
	if ! run_to 600 "$A" wg setconf "$IFA" "$conf"; then
		[ "$N" -gt "$SCALE_CHUNK" ] || give_up "wg setconf failed: $(head -c 300 "$T_TMP/out")" || return 1
		say "  one setconf of $N peers failed after $(($(ms) - t0)) ms: $(head -c 300 "$T_TMP/out");" \
			"again in addconfs of $SCALE_CHUNK"
		R[setconf_note]="in chunks of $SCALE_CHUNK"
		rm -f "$T_TMP"/chunk.*
		awk -v per="$SCALE_CHUNK" -v base="$T_TMP/chunk." '
			/^\[Interface\]/ { f = base "000"; hdr = 1 }
			/^\[Peer\]/ { if (hdr || n % per == 0) f = base sprintf("%03d", int(n / per) + 1); hdr = 0; n++ }
			{ print > f }' "$conf"
		cat "$T_TMP/chunk.000" "$T_TMP/chunk.001" >"$T_TMP/chunk.first"
		c0=$(cpu_op_ms "$PA")
		t0=$(ms)
		run_to 600 "$A" wg setconf "$IFA" "$T_TMP/chunk.first" ||
			give_up "wg setconf failed: $(head -c 300 "$T_TMP/out")" || return 1
		for f in "$T_TMP"/chunk.[0-9]*; do
			case $f in *.000 | *.001) continue ;; esac
			run_to 600 "$A" wg addconf "$IFA" "$f" || give_up "wg addconf failed: $(head -c 300 "$T_TMP/out")" || return 1
		done
	fi
	t1=$(ms)
	perf_stop
	c1=$(cpu_op_ms "$PA")
	R[setconf]=$((t1 - t0))
	R[setconf_cpu]=$((c1 - c0))
	r1=$(status_kib "$PA" VmRSS)
	R[rss0]=$r0
	R[rss]=$r1
	R[hwm]=$(status_kib "$PA" VmHWM)
	R[per_peer]=$(((r1 - r0) * 1024 / N))
	R[npeers]=$(ip netns exec "$A" timeout 300 wg show "$IFA" peers 2>/dev/null | wc -l)
	say "  setconf ${R[setconf]} ms (daemon CPU ${R[setconf_cpu]} ms); ${R[npeers]} peers; RSS $r0 -> $r1 KiB" \
		"(${R[per_peer]} B/peer), HWM ${R[hwm]} KiB"

	# get
	d=()
	for i in 1 2 3; do
		[ $i = 2 ] && perf_start get
		c0=$(cpu_op_ms "$PA")
		t0=$(ms)
		run_to 300 "$A" wg show "$IFA" dump || say "  wg show dump failed: $(head -c 300 "$T_TMP/out")"
		t1=$(ms)
		[ $i = 2 ] && perf_stop
		c1=$(cpu_op_ms "$PA")
		d+=($((t1 - t0)))
		R[get_cpu]=$((c1 - c0))
	done
	R[get]=$(median3 "${d[@]}")
	R[get_lines]=$(wc -l <"$T_TMP/out")
	R[get_bytes]=$(stat -c %s "$T_TMP/out")
	t0=$(ms)
	if run_to 300 "$A" wg show "$IFA"; then
		R[show]=$(($(ms) - t0))
	else
		R[show]="fail($?)"
	fi
	R[show_bytes]=$(stat -c %s "$T_TMP/out")
	say "  get (dump) ${R[get]} ms (runs ${d[*]}; daemon CPU ${R[get_cpu]} ms, ${R[get_lines]} lines," \
		"${R[get_bytes]} B); wg show ${R[show]} ms (${R[show_bytes]} B)"

	cpu_window idle_nosession "$SCALE_IDLE_SECS"

	# handshake, A initiates
	handshakes A "$IFA" "$PUBB" "$UB:$PORT_B" 10.0.0.2/32,fd00::2/128 10.0.0.2 hs_a
	R[ping_after]=$(first_ping "$A" 10.0.0.2 | cut -d' ' -f1)
	if [ "$SCALE_PERF" = 1 ] && [ "$N" = "$NMAX" ]; then
		perf_start iperf
		iperf_run ab >/dev/null
		perf_stop
	fi
	d=() e=()
	for i in $(seq "$SCALE_IPERF_RUNS"); do
		d+=("$(iperf_run ab)")
		e+=("$(iperf_run ba)")
	done
	R[tput_ab]=$(summary "${d[@]}")
	R[tput_ba]=$(summary "${e[@]}")
	say "  iperf3 ${SCALE_IPERF_SECS}s x $SCALE_IPERF_RUNS: A->B ${R[tput_ab]} Mbit/s (${d[*]})," \
		"B->A ${R[tput_ba]} Mbit/s (${e[*]}) (ping with session ${R[ping_after]} ms)"

	cpu_window idle_session "$SCALE_IDLE_SECS"
	wgx "$A" set "$IFA" peer "$PUBB" persistent-keepalive 1
	sleep 1.5
	perf_start keepalive
	cpu_window idle_ka1 "$SCALE_IDLE_SECS"
	perf_stop
	wgx "$A" set "$IFA" peer "$PUBB" persistent-keepalive 0
	# the walk: (CPU with keepalive - CPU without) / expiries (1/s); per peer
	x=$((R[idle_ka1_us] - R[idle_session_us]))
	R[walk_us]=$((x / SCALE_IDLE_SECS))
	R[walk_ns_peer]=$((x * 1000 / SCALE_IDLE_SECS / N))
	say "  keepalive 1 s: +$x us CPU in $SCALE_IDLE_SECS s: ${R[walk_us]} us per expiry (${R[walk_ns_peer]} ns per peer)"

	stall get 1 wg show "$IFA" dump
	# syncconf of the very file in use: nothing changes, so nothing should be
	# lost; the 20 s after it show how long B's pings go unanswered if A
	# dropped its sessions
	stall syncconf 20 wg syncconf "$IFA" "$conf"
	R[syncconf]=${R[syncconf_ms]}
	# ferry counts what it dropped, by reason (unknown_index: no session)
	case ${SCALE_IMPL##*/} in
	*ferry*) ip netns exec "$A" timeout 60 "$SCALE_IMPL" show "$IFA" 2>/dev/null | grep -E '^ +[a-z_]+: [0-9]+$' |
		tr -s ' ' | tr '\n' ' ' | sed 's/^/  drops after syncconf:/' >>"$LOG" && echo >>"$LOG" ;;
	esac

	# handshakes that B initiates: A responds, finding B among N peers
	handshakes B "$IFB" "$PUBA" "$UA:$PORT_A" 10.0.0.1/32,fd00::1/128 10.0.0.1 hs_b

	# one peer more, and removed again
	x=$("$KEYS" 1)
	t0=$(ms)
	wgx "$A" set "$IFA" peer "$x" allowed-ips 10.255.255.254/32
	R[add1]=$(($(ms) - t0))
	t0=$(ms)
	wgx "$A" set "$IFA" peer "$x" remove
	R[del1]=$(($(ms) - t0))
	say "  one peer: add ${R[add1]} ms, remove ${R[del1]} ms"

	# active: SCALE_ACTIVE made-up peers whose endpoint never answers
	m=$((SCALE_ACTIVE < N - 1 ? SCALE_ACTIVE : N - 1))
	R[active_n]=$m
	if [ "$m" -gt 0 ]; then
		# in 50 batches 0.1 s apart, so that the retries are spread over the
		# 5 s of REKEY_TIMEOUT as they are when clients come at random times
		rm -f "$T_TMP"/active.conf.*
		head -n "$m" "$T_TMP/keys" | awk -v per=$(((m + 49) / 50)) '{
			printf "[Peer]\nPublicKey = %s\nEndpoint = 198.51.100.2:%d\nPersistentKeepalive = 25\n\n", $1, 1024 + NR \
				>> (FILENAME_BASE "." sprintf("%02d", int((NR - 1) / per))) }' FILENAME_BASE="$T_TMP/active.conf"
		t0=$(ms)
		for f in "$T_TMP"/active.conf.*; do
			run_to 60 "$A" wg addconf "$IFA" "$f" || say "  wg addconf failed: $(head -c 300 "$T_TMP/out")"
			sleep 0.1
		done
		R[active_addconf]=$(($(ms) - t0))
		sleep 5
		perf_start active
		cpu_window active "$SCALE_IDLE_SECS"
		perf_stop
		x=$(ip netns exec "$A" timeout -k 2 120 wg show "$IFA" dump 2>/dev/null </dev/null | awk 'NR > 1 && $7 > 0 { n++ } END { print n + 0 }')
		say "  active: $m peers retrying handshakes; addconf (50 batches) ${R[active_addconf]} ms; $x peers with tx bytes;" \
			"CPU ${R[active]} ms in $SCALE_IDLE_SECS s"
	fi

	# addconf of N/10 new peers (at least 1): how long a configuration change
	# holds the data path
	x=$((N / 10 > 0 ? N / 10 : 1))
	tail -n "$x" "$T_TMP/keys" | awk '{ i = NR; printf "[Peer]\nPublicKey = %s\nAllowedIPs = 10.%d.%d.%d/32, fd00::%x:%x/128\n\n",
		$1, 4 + int(i / 65536), int(i / 256) % 256, i % 256, 4 + int(i / 65536), i % 65536 }' >"$T_TMP/extra.conf"
	stall addconf 1 wg addconf "$IFA" "$T_TMP/extra.conf"
	R[addconf_n]=$x

	# re-setconf: replace every peer (the N/10 just added go too)
	c0=$(cpu_op_ms "$PA")
	perf_start resetconf
	t0=$(ms)
	run_to 600 "$A" wg setconf "$IFA" "$conf" || say "  second wg setconf failed: $(head -c 300 "$T_TMP/out")"
	R[resetconf]=$(($(ms) - t0))
	perf_stop
	R[resetconf_cpu]=$(($(cpu_op_ms "$PA") - c0))
	R[hwm_end]=$(status_kib "$PA" VmHWM)
	R[rss_end]=$(status_kib "$PA" VmRSS)
	say "  re-setconf ${R[resetconf]} ms (daemon CPU ${R[resetconf_cpu]} ms); RSS ${R[rss_end]} KiB, HWM ${R[hwm_end]} KiB"

	# stop: TERM, then poll (10 ms) until the daemon has exited (a zombie or gone)
	t0=$(ms)
	kill -TERM "$PA" 2>/dev/null
	while [ -n "$(proc_state "$PA")" ] && [ "$(proc_state "$PA")" != Z ] && [ $(($(ms) - t0)) -lt 60000 ]; do
		sleep 0.01
	done
	R[stop]=$(($(ms) - t0))
	kill -9 "$PA" 2>/dev/null
	wait "$PA" 2>/dev/null
	t_forget "$PA"
	unset "WG_PID[$IFA]"
	wg_stop "$IFB" >>"$LOG" 2>&1
	say "  stop ${R[stop]} ms"

	ROWS+=("$N|${R[setconf]}${R[setconf_note]:+ (${R[setconf_note]})}|${R[setconf_cpu]}|${R[rss0]}|${R[rss]}|${R[per_peer]}|${R[hwm_end]}|${R[get]}|${R[get_cpu]}|${R[get_bytes]}|${R[show]}|${R[idle_nosession]}/${R[idle_nosession_us]}|${R[idle_session]}/${R[idle_session_us]}|${R[idle_ka1]}/${R[idle_ka1_us]}|${R[walk_us]}|${R[walk_ns_peer]}|${R[hs_a]}|${R[hs_b]}|${R[tput_ab]}|${R[tput_ba]}|${R[get_gap]}/${R[get_max]}/${R[get_lost]}|${R[syncconf]}/${R[syncconf_cpu]}|${R[syncconf_gap]}/${R[syncconf_max]}/${R[syncconf_lost]}|${R[add1]}/${R[del1]}|${R[addconf_n]}: ${R[addconf_ms]}/${R[addconf_cpu]}/${R[addconf_gap]}|${R[active_n]}:${R[active]:-}/${R[active_us]:-}|${R[resetconf]}/${R[resetconf_cpu]}|${R[stop]}")
}

say "scale-peers: N in $SCALE_PEERS; daemon $SCALE_IMPL, real peer $SCALE_REAL_IMPL; $(nproc) CPUs; results in $SCALE_OUT"
for N in $SCALE_PEERS; do
	measure "$N" || say "N=$N: set-up failed (see $LOG)"
done

{
	echo "scale-peers: $SCALE_IMPL with N peers (N-1 idle made-up + 1 real: $SCALE_REAL_IMPL); $(date -u +%FT%TZ);"
	echo "$(nproc) CPUs, $(uname -r); daemon $(timeout 5 "${SCALE_IMPL%% *}" --version 2>&1 | head -n 1)," \
		"binary sha256 $(sha256sum "$(command -v "${SCALE_IMPL%% *}")" 2>/dev/null | cut -c1-16)"
	echo
	echo "| N | setconf ms | daemon CPU ms | RSS before KiB | RSS after KiB | B/peer | VmHWM KiB (end) | get ms | get CPU ms | get bytes | wg show ms |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for r in "${ROWS[@]}"; do
		IFS='|' read -ra f <<<"$r"
		echo "| ${f[0]} | ${f[1]} | ${f[2]} | ${f[3]} | ${f[4]} | ${f[5]} | ${f[6]} | ${f[7]} | ${f[8]} | ${f[9]} | ${f[10]} |"
	done
	echo
	echo "| N | idle CPU no session ms/us | idle CPU session ms/us | idle CPU keepalive 1 s ms/us | us per timer expiry | ns per peer per expiry | handshake + 1st ping, A initiates, ms | same, B initiates, ms | iperf A->B Mbit/s | iperf B->A Mbit/s |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for r in "${ROWS[@]}"; do
		IFS='|' read -ra f <<<"$r"
		echo "| ${f[0]} | ${f[11]} | ${f[12]} | ${f[13]} | ${f[14]} | ${f[15]} | ${f[16]} | ${f[17]} | ${f[18]} | ${f[19]} |"
	done
	echo
	echo "| N | pings B->A during get: longest gap ms / max RTT ms / lost | syncconf ms / CPU ms | pings B->A during syncconf + 20 s: longest gap ms / max RTT ms / lost | add 1 peer / remove 1 ms | addconf of N/10 new peers: ms / CPU ms / longest gap in pings ms | active peers: CPU ms / us in ${SCALE_IDLE_SECS} s | re-setconf ms / CPU ms | stop ms |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
	for r in "${ROWS[@]}"; do
		IFS='|' read -ra f <<<"$r"
		echo "| ${f[0]} | ${f[20]} | ${f[21]} | ${f[22]} | ${f[23]} | ${f[24]} | ${f[25]} | ${f[26]} | ${f[27]} |"
	done
	echo
	echo "CPU windows are ${SCALE_IDLE_SECS} s: ms from utime+stime (10 ms ticks) / us from schedstat."
	echo "Pings B->A every 5 ms: a lost ping is about 5 ms without service."
	echo "Environment: FERRY_NO_OFFLOAD=${FERRY_NO_OFFLOAD:-} SCALE_IMPL=$SCALE_IMPL SCALE_REAL_IMPL=$SCALE_REAL_IMPL"
} | tee "$SCALE_OUT/table.md"
say "done: $SCALE_OUT/table.md"
