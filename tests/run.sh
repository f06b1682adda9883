#!/usr/bin/env bash
# Run every test suite, print their TAP output, and end with one line:
# "N passed, N failed" (", N skipped"). Exit status 0 only if none failed.
#
# Suites: the unit tests, the structure check, the integration tests in network namespaces, then
# the unit tests and the bad-input tests again built with ASan + UBSan, and a
# short run of every fuzz target.
set -u
cd "$(dirname "$0")/.."

passed=0 failed=0 skipped=0
TIMEOUT=${TEST_TIMEOUT:-300}

# run_suite NAME cmd...: run one TAP producer and count its results. A
# producer that crashes, times out or runs fewer tests than it planned
# counts as one more failure.
run_suite() {
	local name=$1 out rc planned ran ok nok skip
	shift
	out=$(mktemp)
	echo "# --- $name"
	timeout --kill-after=10 "$TIMEOUT" "$@" >"$out" 2>&1
	rc=$?
	sed 's/^/    /' "$out"
	planned=$(grep -m1 -oE '^1\.\.[0-9]+' "$out" | cut -d. -f3)
	ok=$(grep -cE '^ok [0-9]+' "$out")
	nok=$(grep -cE '^not ok [0-9]+' "$out")
	skip=$(grep -cE '^ok [0-9]+.*# (SKIP|skip)' "$out")
	ran=$((ok + nok))
	passed=$((passed + ok - skip))
	skipped=$((skipped + skip))
	failed=$((failed + nok))
	if [ "$rc" -ne 0 ] && [ "$nok" -eq 0 ]; then
		echo "not ok - $name exited with status $rc"
		failed=$((failed + 1))
	elif [ -z "$planned" ] || [ "$ran" -ne "$planned" ]; then
		echo "not ok - $name planned ${planned:-nothing} tests and ran $ran"
		failed=$((failed + 1))
	fi
	rm -f "$out"
}

if [ "$(id -u)" -ne 0 ]; then
	echo "tests need root (network namespaces, TUN devices)" >&2
	exit 1
fi

export CMOCKA_MESSAGE_OUTPUT=TAP
for t in build/tests/unit/test_*; do
	[ -x "$t" ] && run_suite "unit: ${t##*/}" "$t"
done
run_suite "structure of src/ (docs/DESIGN.md)" bash tests/structure.sh
for t in tests/net/*.t; do
	run_suite "net: ${t##*/}" bash "$t"
done
for t in build/asan/tests/unit/test_*; do
	[ -x "$t" ] && run_suite "unit under ASan/UBSan: ${t##*/}" "$t"
done
for t in tests/net/*.t; do
	grep -q '^# asan: yes' "$t" && BUILD=build/asan run_suite "net under ASan/UBSan: ${t##*/}" bash "$t"
done
# A short run of every libFuzzer target (longer runs: make fuzz-run FUZZ_SECONDS=600).
if ls build/fuzz/tests/fuzz/fuzz_* >/dev/null 2>&1; then
	run_suite "fuzz (${FUZZ_SECONDS:-10} s each)" tests/fuzz/run.sh "${FUZZ_SECONDS:-10}"
fi

echo
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
