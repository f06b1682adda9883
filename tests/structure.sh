#!/usr/bin/env bash
# The structure docs/DESIGN.md promises, checked on the sources (TAP):
# - no include cycle through the transports: tcp and udp (and transport.h)
#   reach nothing that reaches them back, module by module (X.c and X.h
#   together);
# - noise and cookie headers do not reach device.h: the handshake knows
#   nothing of the interface;
# - no static buffer inside a function of the packet path.
set -u
cd "$(dirname "$0")/.." || exit 2

if ! ls src/tcp.c src/udp.c src/noise.h src/cookie.h >/dev/null 2>&1; then
	echo "1..0 # the sources are not where this script expects them"
	exit 1
fi

declare -A deps=()
for f in src/*.c src/*.h; do
	m=${f##*/}
	m=${m%.*}
	for inc in $(sed -n 's/^#include "\([a-z0-9_]*\)\.h".*/\1/p' "$f"); do
		[ "$inc" != "$m" ] && deps[$m]="${deps[$m]:-} $inc"
	done
done

# reach MODULE: every module MODULE depends on, directly or not.
reach() {
	local -A seen=()
	local todo=("$1") m d
	while [ ${#todo[@]} -gt 0 ]; do
		m=${todo[-1]}
		unset 'todo[-1]'
		for d in ${deps[$m]:-}; do
			[ -n "${seen[$d]:-}" ] && continue
			seen[$d]=1
			todo+=("$d")
		done
	done
	echo "${!seen[@]}"
}

# headers_reach HEADER: the headers HEADER includes, directly or not.
headers_reach() {
	local -A seen=()
	local todo=("$1") h i
	while [ ${#todo[@]} -gt 0 ]; do
		h=${todo[-1]}
		unset 'todo[-1]'
		for i in $(sed -n 's/^#include "\([a-z0-9_]*\.h\)".*/\1/p' "src/$h" 2>/dev/null); do
			[ -n "${seen[$i]:-}" ] && continue
			seen[$i]=1
			todo+=("$i")
		done
	done
	echo "${!seen[@]}"
}

n=0 failed=0
result() { # status description [detail]
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && echo "$3" | sed 's/^/#   /'
		failed=$((failed + 1))
	fi
}

echo "1..6"
for m in tcp udp transport; do
	back=""
	for d in $(reach "$m"); do
		[[ " $(reach "$d") " == *" $m "* ]] && back="$back $d"
	done
	result "$([ -z "$back" ] && echo 0 || echo 1)" "no include cycle through $m (it depends on: $(reach "$m" | tr ' ' '\n' | sort | tr '\n' ' '))" \
		"reached back from:$back"
done
for h in noise.h cookie.h; do
	r=" $(headers_reach "$h") "
	result "$([[ $r == *" device.h "* ]] && echo 1 || echo 0)" "$h does not reach device.h" "it includes:$r"
done
statics=$(grep -nE '^[[:space:]]+static[[:space:]]+[a-z0-9_ ]+[[:space:]]+[a-z0-9_]+\[' src/send.c src/receive.c src/udp.c src/tcp.c \
	src/offload.c src/device.c src/compress.c src/tcpframe.c | grep -v 'static const')
result "$([ -z "$statics" ] && echo 0 || echo 1)" "no static buffers in functions of the packet path" "$statics"
[ "$failed" = 0 ]
