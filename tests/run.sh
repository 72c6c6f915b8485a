#!/usr/bin/env bash
# Test runner: unit test binaries (plain and ASan/UBSan builds) and integration scripts
# that boot real guests. Every test prints PASS/FAIL/SKIP lines; this counts them and
# ends with "N passed, N failed, N skipped". Exit status is 0 only if nothing failed.
# On a host without hardware virtualization (tests/lab/need says why) each integration
# script runs in a KVM lab of its own (tests/lab/run, with the options of its "# lab:" line);
# one whose L1 died is run again in a new lab (at most LAB_RETRIES times, default 2), and the
# summary says so.
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
lab_retries=${LAB_RETRIES:-2}
test_timeout=${TEST_TIMEOUT:-600}
lab_reason= lab_broken=
if [ "$mode" != unit ] && lab_reason=$(bash tests/lab/need); then
	echo "$lab_reason: integration tests run in the KVM lab (QEMU TCG with SVM)"
	# A lab's guests run 10-50x slower than on hardware: scale the time, never the checks.
	test_timeout=${TEST_TIMEOUT:-2400}
	# One lab at a time: each L1 has two TCG threads, and this host's CPUs are what it has
	# (two labs at once on two CPUs starve both; see tests/lab/README.md).
	jobs_max=${TEST_JOBS:-1}
	# The L1 has no network: the images are built here first (both are cached).
	if ! lab_log=$(bash tests/lab/build.sh 2>&1); then
		lab_broken="the KVM lab cannot start: $(echo "$lab_log" | grep -m1 'error' || echo "$lab_log" | tail -n1)"
		echo "$lab_broken"
	fi
	if ! linux_log=$(bash tests/linux/build-image.sh 2>&1); then
		echo "warning: the Linux test image could not be built (its tests will fail): $(echo "$linux_log" | tail -n1)"
	fi
	if ! linux_log=$(bash tests/linux/build-rootfs.sh 2>&1); then
		echo "warning: the Debian root disk could not be built (its test will fail): $(echo "$linux_log" | tail -n1)"
	fi
else
	lab_reason=
fi

run_one() { # name, command...
	local name=$1; shift
	local log="$out/$(echo "$name" | tr '/ ' '__').log"
	local start=$SECONDS
	if [ -n "$lab_broken" ] && [[ $name == integration/* ]]; then
		echo "FAIL $name: not run: $lab_broken" >"$log"
		return
	fi
	timeout -k 5 "$test_timeout" "$@" >"$log" 2>&1
	local rc=$?
	# A lab whose L1 died (QEMU's TCG has faults of its own: see tests/lab/README.md) says
	# nothing about the tests it ran: run the script once more in a fresh lab, and say so.
	local try=0 why notes=""
	while [ $rc -eq 125 ] && [ -n "$lab_reason" ] && grep -q '^lab: error: ' "$log" && [ $try -lt "$lab_retries" ]; do
		try=$((try + 1))
		why=$(grep -m1 '^lab: error: ' "$log" | sed 's/^lab: error: //')
		mv "$log" "$log.lab-failed-$try"
		echo "# $name: the lab failed ($why); running it again in a new lab"
		notes+="# $name: lab $try failed: $why"$'\n'
		printf '%s' "$notes" >"$log"
		timeout -k 5 "$test_timeout" "$@" >>"$log" 2>&1
		rc=$?
	done
	if [ $rc -eq 125 ] && [ -n "$lab_reason" ] && grep -q '^lab: error: ' "$log"; then
		echo "FAIL $name: the lab failed: $(grep -m1 '^lab: error: ' "$log" | sed 's/^lab: error: //')" >>"$log"
	elif ! grep -qE '^(PASS|FAIL|SKIP) ' "$log"; then
		echo "FAIL $name: printed no result (exit $rc)" >>"$log"
	elif [ $rc -ne 0 ] && ! grep -q '^FAIL ' "$log"; then
		echo "FAIL $name: exited $rc" >>"$log"
	fi
	echo "# $name ($((SECONDS - start)) s)" >>"$log"
	# Progress as each test ends (the summary at the end has the details).
	echo "# $name: $(grep -c '^PASS ' "$log") passed, $(grep -c '^FAIL ' "$log") failed, $(grep -c '^SKIP ' "$log") skipped ($((SECONDS - start)) s)"
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
		if [ -n "$lab_reason" ]; then
			lab_opts=$(sed -n 's/^# lab: *//p' "$t" | head -n1)
			tests+=("integration/$(basename "$t" .sh)|bash tests/lab/run $lab_opts -- bash $t")
		else
			tests+=("integration/$(basename "$t" .sh)|bash $t")
		fi
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
	grep -h '^# .*: lab [0-9]* failed: ' "$log"
	pass=$((pass + $(grep -c '^PASS ' "$log")))
	fail=$((fail + $(grep -c '^FAIL ' "$log")))
	skip=$((skip + $(grep -c '^SKIP ' "$log")))
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
