#!/usr/bin/env bash
# Run every fuzz target in build/fuzz/tests/fuzz/ (or only those NAMEd) for
# SECONDS each (default 10), starting from a copy of its seed corpus in tests/fuzz/corpus/NAME (the
# repository's corpus is never modified), and print TAP: one line per target,
# and for a failure the end of its log. Exit status 0 only if none failed.
#
# Crashing inputs are kept in build/fuzz/artifacts/NAME/ for reproduction:
#   build/fuzz/tests/fuzz/NAME build/fuzz/artifacts/NAME/crash-...
#
# Before fuzzing, each target runs once on every file in
# tests/fuzz/regress/NAME/: inputs that crashed it once (README.md there).
# Any that crashes again fails the target.
set -u
cd "$(dirname "$0")/../.." || exit 2

seconds=${1:-10}
[ $# -gt 0 ] && shift
case $seconds in
'' | *[!0-9]*)
	echo "usage: $0 [SECONDS [NAME...]]" >&2
	exit 2
	;;
esac

shopt -s nullglob
targets=()
for t in build/fuzz/tests/fuzz/fuzz_*; do
	[ -x "$t" ] && [ -f "$t" ] && case $t in *.d | *.o) ;; *) targets+=("$t") ;; esac
done
if [ $# -gt 0 ]; then # only the targets named
	chosen=()
	for name in "$@"; do
		t=build/fuzz/tests/fuzz/$name
		if [ ! -x "$t" ] || [ ! -f "$t" ]; then
			echo "$0: no fuzz target $name in build/fuzz/tests/fuzz (run make fuzz)" >&2
			exit 2
		fi
		chosen+=("$t")
	done
	targets=("${chosen[@]}")
fi
if [ ${#targets[@]} -eq 0 ]; then
	echo "1..0 # SKIP no fuzz targets in build/fuzz/tests/fuzz (run make fuzz)"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "1..${#targets[@]}"
k=0 failed=0
for t in "${targets[@]}"; do
	name=${t##*/}
	k=$((k + 1))
	corpus=$work/corpus-$name
	log=$work/$name.log
	artifacts=build/fuzz/artifacts/$name/
	mkdir -p "$corpus" "$artifacts"
	regress=(tests/fuzz/regress/"$name"/*)
	if [ ${#regress[@]} -gt 0 ]; then
		timeout --kill-after=10 120 "$t" -close_fd_mask=2 -timeout=25 "${regress[@]}" >"$log" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "not ok $k - $name: a regression input in tests/fuzz/regress/$name crashes it (exit status $rc)"
			{
				grep -E '^Running: ' "$log" | tail -n 1
				sed -n '/ERROR: /,$p' "$log" | grep -vE '^ *0x[0-9a-f]+: |^Shadow|^  [A-Z][A-Za-z ]+: ' |
					head -n 30
			} | sed 's/^/# /'
			failed=$((failed + 1))
			continue
		fi
	fi
	[ -d "tests/fuzz/corpus/$name" ] && cp -R "tests/fuzz/corpus/$name/." "$corpus/"
	# -close_fd_mask=2: the parsers' messages about bad input are noise here;
	# libFuzzer keeps its own output and the sanitizer reports in the log.
	# The timeout is a backstop for a target that hangs outside libFuzzer's
	# own -timeout (per input, 25 s).
	timeout --kill-after=10 $((seconds + 120)) \
		"$t" -max_total_time="$seconds" -print_final_stats=0 -close_fd_mask=2 -timeout=25 \
		-artifact_prefix="$artifacts" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(grep -oE '^#[0-9]+' "$log" | tail -n1 | tr -d '#')
	if [ "$rc" -eq 0 ]; then
		echo "ok $k - $name: $seconds s, ${runs:-0} runs, no crash"
	else
		echo "not ok $k - $name: exit status $rc after ${runs:-0} runs"
		# The report and its stack, not ASan's shadow-byte map; then
		# where libFuzzer wrote the input.
		if grep -q 'ERROR: ' "$log"; then
			sed -n '/ERROR: /,$p' "$log" | grep -vE '^ *0x[0-9a-f]+: |^Shadow|^  [A-Z][A-Za-z ]+: ' | head -n 30
			grep -E 'Test unit written|^Base64: ' "$log"
		else
			tail -n 30 "$log"
		fi | sed 's/^/# /'
		failed=$((failed + 1))
	fi
done
[ "$failed" -eq 0 ]
