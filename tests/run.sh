#!/usr/bin/env bash
# Test runner: unit test binaries (plain and ASan/UBSan builds) and integration scripts
# that boot real guests. Every test prints PASS/FAIL/SKIP lines; this counts them and
# ends with "N passed, N failed, N skipped". Exit status is 0 only if nothing failed.
#   tests/run.sh [--unit|--integration] [name-filter]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export BUILD RINGVISOR="$PWD/$BUILD/ringvisor" GUEST_ELF="$PWD/$BUILD/guest/guest.elf"
mode=all
[ "${1:-}" = --unit ] && { mode=unit; shift; }
[ "${1:-}" = --integration ] && { mode=integration; shift; }
filter=${1:-}
out=$(mktemp -d /tmp/rv-tests.XXXXXX)
trap 'rm -rf "$out"' EXIT
jobs_max=${TEST_JOBS:-2}

run_one() { # name, command...
	local name=$1; shift
	local log="$out/$(echo "$name" | tr '/ ' '__').log"
	local start=$SECONDS
	timeout -k 5 "${TEST_TIMEOUT:-600}" "$@" >"$log" 2>&1
	local rc=$?
	if ! grep -qE '^(PASS|FAIL|SKIP) ' "$log"; then
		echo "FAIL $name: printed no result (exit $rc)" >>"$log"
	elif [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$log"; then
		echo "FAIL $name: exited $rc" >>"$log"
	fi
	echo "# $name ($((SECONDS - start)) s)" >>"$log"
}

tests=()
if [ "$mode" != integration ]; then
	for t in "$BUILD"/tests/test_*; do
		[ -x "$t" ] || continue
		tests+=("unit/$(basename "$t")|$t")
		a="build/asan/tests/$(basename "$t")"
		[ -x "$a" ] && tests+=("asan/$(basename "$t")|$a")
	done
fi
if [ "$mode" != unit ]; then
	for t in tests/integration/*.sh; do
		[ "$(basename "$t")" = lib.sh ] && continue
		tests+=("integration/$(basename "$t" .sh)|bash $t")
	done
fi

running=0
for entry in "${tests[@]}"; do
	name=${entry%%|*}; cmd=${entry#*|}
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	# shellcheck disable=SC2086
	run_one "$name" $cmd &
	running=$((running + 1))
	if [ $running -ge "$jobs_max" ]; then wait -n; running=$((running - 1)); fi
done
wait

pass=0; fail=0; skip=0
for log in "$out"/*.log; do
	[ -e "$log" ] || continue
	if grep -q '^FAIL ' "$log"; then
		echo "---- $(tail -n1 "$log" | sed 's/^# //')"
		grep -v '^PASS ' "$log" | tail -n 40
	fi
	grep -E '^(PASS|FAIL|SKIP) ' "$log"
	pass=$((pass + $(grep -c '^PASS ' "$log")))
	fail=$((fail + $(grep -c '^FAIL ' "$log")))
	skip=$((skip + $(grep -c '^SKIP ' "$log")))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
