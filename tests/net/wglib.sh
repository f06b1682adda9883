# wglib.sh - sourced after lib.sh by the WireGuard interoperability tests.
# Hosts are namespaces on a shared "internet" (a bridge in a namespace of its
# own); each runs an implementation given on the command line the way
# wireguard-go takes it: `IMPL -f IFNAME` creates the TUN device IFNAME in the
# current namespace and the UAPI socket /var/run/wireguard/IFNAME.sock, and
# stays in the foreground. `wg` configures and reads it through that socket.
#
#   wg_host VAR name ADDR4 [ADDR6]  namespace "ferry-<pid>-name" with eth0 on the
#                                   internet bridge, ADDR4/24 (and ADDR6/64)
#   wg_ifname VAR tag               a unique interface name: tag + test PID
#   wg_start VARPID NS IMPL IFNAME  run IMPL -f IFNAME in NS (IMPL may carry
#                                   options: "valgrind -q ./ferry"), wait for
#                                   the socket and the device; log in $T_TMP/IFNAME.log
#   wg_stop IFNAME [SIG]            signal the daemon (TERM), wait for it (bounded),
#                                   forget its PID
#   wg_keys VARFILE VARPUB name     fresh private key in a file, its public key
#   wg_set NS IFNAME args...        wg set IFNAME args... inside NS
#   wg_addr NS IFNAME ADDR/LEN...   addresses on the tunnel device (IPv6 with
#                                   nodad), then link up
#   wg_handshake NS IFNAME [PUB] [SECONDS]  wait for a handshake with PUB (any peer)
#   wg_handshake_after NS IFNAME PUB T [SECONDS]  ... for one newer than epoch T
#   wg_hs_time NS IFNAME PUB        latest handshake with PUB, epoch seconds (0: none)
#   wg_xfer FROM TO ADDR MB [PORT]  MB MiB over TCP with nc, sha256 compared
#   wt check|refuse|like|unlike DESC ...  as lib.sh's, but an immediate "not ok"
#                                   if a daemon that should run has exited, so a
#                                   crash early on costs seconds, not timeouts
#   note TEXT                       a TAP comment, also from inside check
#   t_forget PID                    drop a reaped PID from lib.sh's T_PIDS
#   ferry_up VARPID NS CONF IFNAME  `ferry up -f CONF` in NS in the background
#                                   (for ferry's own keys), wait for its socket
#                                   and its device up
#   ferry_drops NS IFNAME REASON    the drop counter REASON of `ferry show`
#                                   (empty when none)
# The helpers print their diagnostics on stdout, for check to show on failure.
#
# Interface names are global (the UAPI socket directory is not per namespace),
# hence the PID in them. On exit (wg_cleanup, the EXIT trap; a test with a trap
# of its own calls it), after lib.sh's cleanup has stopped the daemons, the
# sockets listed in WG_SOCKS are removed: those of the interfaces wg_start
# made, and any a test adds for daemons started otherwise.
# Settings: WG_KEYGEN (wg), WG_START_TIMEOUT (10 s), WG_LOG_LEVEL (verbose:
# LOG_LEVEL for wireguard-go, whose log then shows handshakes).

WG_RUN=${WG_RUN:-/var/run/wireguard}
WG_KEYGEN=${WG_KEYGEN:-wg}                 # "$WG_KEYGEN genkey" / "$WG_KEYGEN pubkey"
WG_START_TIMEOUT=${WG_START_TIMEOUT:-10}   # seconds for socket and device to appear
WG_LOG_LEVEL=${WG_LOG_LEVEL:-verbose}      # LOG_LEVEL for the daemons (wireguard-go's)
WG_NET=""         # the internet namespace, made by the first wg_host
WG_SOCKS=()       # sockets this test may have created
declare -A WG_PID=() WG_NSOF=() WG_DEAD=()

exec 3>&1         # TAP comments from inside check (whose stdout is captured)
note() { echo "# $*" >&3; }

wg_cleanup() {
	local s
	t_cleanup
	for s in "${WG_SOCKS[@]}"; do
		rm -f "$s"
	done
}
trap wg_cleanup EXIT

t_forget() { # PID: drop a reaped PID from lib.sh's list, so cleanup never signals a reused one
	local i
	for i in "${!T_PIDS[@]}"; do
		[ "${T_PIDS[$i]}" = "$1" ] && unset "T_PIDS[$i]"
	done
	T_PIDS=("${T_PIDS[@]}")
}

ferry_up() {
	local pid
	bg pid ip netns exec "$2" "$FERRY" up -f "$3"
	printf -v "$1" '%s' "$pid"
	wait_for 10 test -S "$WG_RUN/$4.sock" && wait_for 5 ip -n "$2" link show "$4" up
}
ferry_drops() { nsx "$1" "$FERRY" show "$2" | awk -v r="$3:" '$1 == r { print $2 }'; }
wg_ifname() {
	local n="$2$$"
	printf -v "$1" '%s' "${n:0:15}"
}

wg_host() {
	local var=$1 name=$2 a4=$3 a6=${4:-} ns
	if [ -z "$WG_NET" ]; then
		ns_new WG_NET net
		ip -n "$WG_NET" link add br0 type bridge || return 1
		ip -n "$WG_NET" link set br0 up
	fi
	ns_new ns "$name"
	# No duplicate address detection in the hosts: addresses are usable at once.
	nsx "$ns" sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0
	ip -n "$WG_NET" link add "v-$name" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$WG_NET" link set "v-$name" master br0 up
	ip -n "$ns" addr add "$a4/24" dev eth0
	[ -n "$a6" ] && ip -n "$ns" addr add "$a6/64" dev eth0 nodad
	ip -n "$ns" link set eth0 up
	printf -v "$var" '%s' "$ns"
}

wg_log_tail() { # IFNAME
	echo "--- last lines of $T_TMP/$1.log:"
	grep -v '[┌│└]' "$T_TMP/$1.log" 2>/dev/null | tail -n 15 # (not wireguard-go's banner)
}

wg_start() {
	local var=$1 ns=$2 ifn=$4 sock="$WG_RUN/$4.sock" pid impl deadline
	read -ra impl <<<"$3"
	printf -v "$var" '%s' ""
	if [ ${#ifn} -gt 15 ]; then
		echo "interface name '$ifn' is longer than 15 bytes"
		return 1
	fi
	if [ -n "${WG_PID[$ifn]:-}" ] && kill -0 "${WG_PID[$ifn]}" 2>/dev/null; then
		echo "the daemon of $ifn (pid ${WG_PID[$ifn]}) is still running"
		return 1
	fi
	# A socket left by this test's own killed daemon is the new daemon's to
	# take over; anyone else's is left alone.
	if [ -e "$sock" ] && ! [[ " ${WG_SOCKS[*]} " == *" $sock "* ]]; then
		echo "$sock exists already: not this test's, leaving it alone"
		return 1
	fi
	WG_SOCKS+=("$sock")
	unset "WG_DEAD[$ifn]"
	echo "=== $(date +%T.%N) ${impl[*]} -f $ifn in $ns" >>"$T_TMP/$ifn.log"
	bg pid ip netns exec "$ns" env LOG_LEVEL="$WG_LOG_LEVEL" "${impl[@]}" -f "$ifn" >>"$T_TMP/$ifn.log" 2>&1 3>&-
	WG_PID[$ifn]=$pid
	WG_NSOF[$ifn]=$ns
	printf -v "$var" '%s' "$pid"
	deadline=$(($(date +%s) + WG_START_TIMEOUT))
	until [ -S "$sock" ] && ip -n "$ns" link show "$ifn" >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			echo "${impl[*]} -f $ifn exited with status $? before its socket and device appeared"
			wg_log_tail "$ifn"
			unset "WG_PID[$ifn]"
			WG_DEAD[$ifn]=1
			t_forget "$pid"
			return 1
		fi
		if [ "$(date +%s)" -ge $deadline ]; then
			echo "no socket $sock and device $ifn after $WG_START_TIMEOUT s"
			wg_log_tail "$ifn"
			return 1
		fi
		sleep 0.05
	done
}

wg_stop() {
	local ifn=$1 sig=${2:-TERM} pid=${WG_PID[$1]:-}
	unset "WG_PID[$ifn]" "WG_DEAD[$ifn]"
	if [ -z "$pid" ]; then
		echo "no running daemon for $ifn"
		return 1
	fi
	kill -s "$sig" "$pid" 2>/dev/null
	if ! timeout 5 tail --pid="$pid" -f /dev/null; then
		echo "pid $pid still running 5 s after TERM: KILL"
		kill -9 "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	t_forget "$pid"
	return 0
}

# wg_dead: true if a daemon that should be running is not; the reasons (and,
# the first time, the end of the daemon's log) are in $T_TMP/dead.log.
wg_dead() {
	local ifn pid st
	: >"$T_TMP/dead.log"
	for ifn in "${!WG_PID[@]}"; do
		pid=${WG_PID[$ifn]}
		kill -0 "$pid" 2>/dev/null && continue
		wait "$pid" 2>/dev/null
		st=$?
		unset "WG_PID[$ifn]"
		t_forget "$pid"
		WG_DEAD[$ifn]=1
		echo "the daemon of $ifn (pid $pid) has exited, status $st" >>"$T_TMP/dead.log"
		wg_log_tail "$ifn" >>"$T_TMP/dead.log"
	done
	for ifn in "${!WG_DEAD[@]}"; do
		echo "the daemon of $ifn is not running" >>"$T_TMP/dead.log"
	done
	[ ${#WG_DEAD[@]} -gt 0 ]
}

wt() {
	local kind=$1 desc=$2
	shift 2
	if wg_dead; then
		t_result 1 "$desc" "$T_TMP/dead.log"
		return 0
	fi
	"$kind" "$desc" "$@"
}

wg_keys() {
	local f="$T_TMP/$3.key"
	(umask 077 && $WG_KEYGEN genkey >"$f") || return 1
	printf -v "$1" '%s' "$f"
	printf -v "$2" '%s' "$($WG_KEYGEN pubkey <"$f")"
}

wg_set() {
	local ns=$1 ifn=$2
	shift 2
	nsx "$ns" wg set "$ifn" "$@"
}

wg_addr() {
	local ns=$1 ifn=$2 a
	shift 2
	for a in "$@"; do
		case $a in
		*:*) ip -n "$ns" addr add "$a" dev "$ifn" nodad || return 1 ;;
		*) ip -n "$ns" addr add "$a" dev "$ifn" || return 1 ;;
		esac
	done
	ip -n "$ns" link set "$ifn" up
}

wg_hs_time() {
	nsx "$1" wg show "$2" latest-handshakes 2>/dev/null |
		awk -v k="${3:-}" '(k == "" || $1 == k) && $2 > t { t = $2 } END { print t + 0 }'
}

wg_hs_newer() { [ "$(wg_hs_time "$1" "$2" "$3")" -gt "$4" ]; }

wg_handshake() {
	local s=${4:-10}
	wait_for "$s" wg_hs_newer "$1" "$2" "${3:-}" 0 && return 0
	echo "no handshake on $2 with ${3:-any peer} within $s s"
	nsx "$1" wg show "$2"
	return 1
}

wg_handshake_after() {
	local s=${5:-10}
	wait_for "$s" wg_hs_newer "$1" "$2" "$3" "$4" && return 0
	echo "no handshake on $2 with $3 newer than $(date -d "@$4" +%T) within $s s"
	nsx "$1" wg show "$2"
	return 1
}

wg_listening() { [ -n "$(nsx "$1" ss -Hltn "sport = :$2")" ]; }

# ms since the epoch
wg_ms() { echo $(($(date +%s%N) / 1000000)); }

wg_xfer() {
	local from=$1 to=$2 addr=$3 mb=$4 port=${5:-5001} rpid t0 ms rc sum1 sum2
	local data="$T_TMP/data-${mb}M" got="$T_TMP/received" limit=$((30 + mb))
	[ -s "$data" ] || head -c "${mb}M" /dev/urandom >"$data" || return 1
	rm -f "$got"
	bg rpid ip netns exec "$to" timeout "$((limit + 10))" nc -l -n "$addr" "$port" >"$got" 2>"$T_TMP/nc-recv.err" </dev/null 3>&-
	if ! wait_for 5 wg_listening "$to" "$port"; then
		echo "the receiver does not listen on $addr port $port"
		cat "$T_TMP/nc-recv.err"
	fi
	t0=$(wg_ms)
	nsx "$from" timeout "$limit" nc -N -n -w 10 "$addr" "$port" <"$data"
	rc=$?
	# The receiver ends at the sender's EOF; give it a little time, no more.
	timeout $([ $rc = 0 ] && echo 10 || echo 1) tail --pid="$rpid" -f /dev/null
	kill "$rpid" 2>/dev/null
	wait "$rpid" 2>/dev/null
	t_forget "$rpid"
	ms=$(($(wg_ms) - t0))
	sum1=$(sha256sum <"$data" | cut -d' ' -f1)
	sum2=$(sha256sum <"$got" | cut -d' ' -f1)
	if [ "$sum1" != "$sum2" ]; then
		echo "sender: nc exit status $rc"
		echo "sent     $(stat -c %s "$data") bytes, sha256 $sum1"
		echo "received $(stat -c %s "$got") bytes, sha256 $sum2"
		cat "$T_TMP/nc-recv.err"
		rm -f "$got"
		return 1
	fi
	rm -f "$got"
	note "$mb MiB in $((ms / 1000)).$(printf %03d $((ms % 1000))) s ($((mb * 8 * 1000 / (ms > 0 ? ms : 1))) Mbit/s)"
}
