#!/usr/bin/env bash
# run-unprivileged.sh TEST...: run unit test binaries as a user without
# privileges (nobody, when started as root; as is, otherwise), to show that
# none of them needs root. `make unit-unprivileged` runs every unit test so.
set -u

run=()
who=$(id -un)
if [ "$(id -u)" = 0 ]; then
	command -v setpriv >/dev/null || { echo "setpriv (util-linux) is needed to drop root" >&2; exit 2; }
	run=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups)
	who=nobody
fi
passed=0 failed=0
for t in "$@"; do
	t=$(realpath "$t")
	if (cd /tmp && "${run[@]}" "$t") >/tmp/ferry-unit-$$.log 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAILED as $who: ${t##*/}"
		tail -n 20 /tmp/ferry-unit-$$.log | sed 's/^/    /'
	fi
done
rm -f /tmp/ferry-unit-$$.log
echo "unprivileged: $passed passed, $failed failed"
[ "$failed" = 0 ]
