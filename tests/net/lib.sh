# lib.sh - sourced by every integration test: TAP output, uniquely named
# network namespaces and background processes, all removed on every exit path.
#
#   ns_new VAR short      create namespace "ferry-<pid>-short", store its name in VAR
#   nsx NS cmd...         run cmd inside NS
#   bg VAR cmd...         start cmd in the background, remember its PID in VAR
#                         (cmd must be a program, not a shell function, for the PID to be its own)
#   check DESC cmd...     ok if cmd exits 0
#   refuse DESC TEXT cmd...  ok if cmd exits non-zero and its output contains TEXT
#   like DESC TEXT STRING ok if STRING contains TEXT; unlike: it must not
#   plan N / skip DESC WHY
# The test script must call plan first; cleanup runs from an EXIT trap.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
FERRY=${FERRY:-$TOP/$BUILD/ferry}
TOOLS=${TOOLS:-$TOP/$BUILD/tests/tools}
T_ID="ferry-$$"
T_NUM=0
T_NS=()
T_PIDS=()
T_TMP=$(mktemp -d "/tmp/$T_ID.XXXXXX")
chmod 755 "$T_TMP"

t_cleanup() {
	local pid ns
	for pid in "${T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null
	done
	for pid in "${T_PIDS[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null
		kill -9 "$pid" 2>/dev/null
	done
	for ns in "${T_NS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	# T_KEEP=DIR keeps the logs and files of the run (DIR/<test>.<pid>/) for a post-mortem.
	[ -n "${T_KEEP:-}" ] && mkdir -p "$T_KEEP" && cp -a "$T_TMP" "$T_KEEP/$(basename "$0" .t).$$" 2>/dev/null
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM HUP

plan() { echo "1..$1"; }

t_result() { # status desc [diagnostic file]
	T_NUM=$((T_NUM + 1))
	if [ "$1" = 0 ]; then
		echo "ok $T_NUM - $2"
	else
		echo "not ok $T_NUM - $2"
		[ -n "${3:-}" ] && [ -s "$3" ] && sed 's/^/#   /' "$3" | head -n 40
	fi
	return 0
}

skip() { T_NUM=$((T_NUM + 1)); echo "ok $T_NUM - $1 # SKIP $2"; }

check() {
	local desc=$1
	shift
	"$@" >"$T_TMP/out" 2>&1
	t_result $? "$desc" "$T_TMP/out"
}

refuse() {
	local desc=$1 text=$2 rc
	shift 2
	"$@" >"$T_TMP/out" 2>&1
	rc=$?
	if [ $rc = 0 ]; then
		echo "expected failure, got exit 0" >>"$T_TMP/out"
		t_result 1 "$desc" "$T_TMP/out"
	elif ! grep -qF -- "$text" "$T_TMP/out"; then
		echo "exit $rc, but no '$text' in the output" >>"$T_TMP/out"
		t_result 1 "$desc" "$T_TMP/out"
	else
		t_result 0 "$desc"
	fi
}

like() {
	case "$3" in
	*"$2"*) t_result 0 "$1" ;;
	*)
		printf 'expected to contain: %s\ngot: %s\n' "$2" "$3" >"$T_TMP/out"
		t_result 1 "$1" "$T_TMP/out"
		;;
	esac
}

unlike() {
	case "$3" in
	*"$2"*)
		printf 'expected not to contain: %s\ngot: %s\n' "$2" "$3" >"$T_TMP/out"
		t_result 1 "$1" "$T_TMP/out"
		;;
	*) t_result 0 "$1" ;;
	esac
}

ns_new() {
	local name="$T_ID-$2"
	ip netns add "$name" || { echo "Bail out! cannot create namespace $name"; exit 1; }
	T_NS+=("$name")
	ip -n "$name" link set lo up
	printf -v "$1" '%s' "$name"
}

nsx() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

bg() {
	local var=$1
	shift
	"$@" &
	T_PIDS+=($!)
	printf -v "$var" '%s' "$!"
}

# wait_for SECONDS cmd...: poll cmd every 0.1 s until it succeeds.
wait_for() {
	local deadline=$(($(date +%s%N) / 1000000 + $1 * 1000))
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ $(($(date +%s%N) / 1000000)) -ge $deadline ] && return 1
		sleep 0.1
	done
}

# Ping with a few tries; succeeds on the first reply.
ping_ok() {
	local ns=$1
	shift
	ip netns exec "$ns" ping -c 1 -W 1 -w 5 -q "$@"
}

# All link names in NS, one line, for before/after comparisons.
links_of() { ip -n "$1" -o link show | awk -F': ' '{print $2}' | sort | tr '\n' ' '; }
