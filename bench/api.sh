#!/usr/bin/env bash
# bench/api.sh — the HTTP API under load while the guest works: requests/s and p50/p99
# latency of vmm.ping and vm.info at 1 and 64 concurrent keep-alive clients
# (build/tests/api_load, one epoll thread), each measured while the guest kit runs its
# 4k random-read QD32 load (job=blk-load) on a tmpfs file; and the guest's IOPS with and
# without that API load: each closed-loop case, vm.info from 64 clients paced at each of
# RATES requests/s in total (orchestrators polling hard), and, for reference, a plain
# CPU-bound process beside the guest instead of any API load (what a closed-loop client's
# share of a small host costs the guest whatever it talks to). ringvisor only: QEMU has
# no comparable API. See bench/README.md.
#
# Usage: bench/api.sh [--rounds N] [--seconds S] [--rates "R1 R2"]
# Environment: ROUNDS (3), SECONDS (6 s per guest run), RATES ("1000 10000": the paced vm.info loads, req/s), TMPFS_DIR (/dev/shm), SIZE_MIB (256),
# MEM (256 MiB), plus BUILD/RINGVISOR/GUEST_ELF from bench/lib.sh.
# Exit status: 0 if every run passed, 1 if any run failed, 2 if the bench could not start.
set -u
DUR=$(printenv SECONDS)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RATES=${RATES:-${RATE:-1000 10000}} ROUNDS=${ROUNDS:-3} DUR=${DUR:-6} MEM=${MEM:-256} SIZE_MIB=${SIZE_MIB:-256} TMPFS_DIR=${TMPFS_DIR:-/dev/shm}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) DUR=$2; shift 2 ;;
	--rate|--rates) RATES=$2; shift 2 ;;
	-h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) bench_die "unknown argument: $1 (try --help)" ;;
	esac
done
for v in ROUNDS DUR MEM SIZE_MIB; do
	case ${!v} in ''|*[!0-9]*|0) bench_die "${v/DUR/SECONDS} must be a positive whole number" ;; esac
done
for r in $RATES; do
	case $r in *[!0-9]*|0) bench_die "each of RATES must be a positive whole number" ;; esac
done
[ "$DUR" -ge 3 ] || bench_die "SECONDS must be at least 3 (0.5 s guest warm-up, then the API load)"
LOAD="$ROOT/$BUILD/tests/api_load"
bench_build "$BUILD/tests/api_load" || bench_die "build failed"
[ -w /dev/kvm ] || bench_die "/dev/kvm is not writable"
command -v python3 >/dev/null || bench_die "python3 is needed"

TMP=$(mktemp -d /tmp/rv-bench-api.XXXXXX)
F=$TMPFS_DIR/rv-bench-api.$$.img
trap 'rm -rf "$TMP" "$F"' EXIT
bench_prealloc "$F" "$SIZE_MIB" || bench_die "cannot write $F"
odirect_ok "$F" || bench_die "O_DIRECT does not work on $F"

# One guest run with an API load beside it: run_one TAG ENDPOINT CLIENTS RATE (ENDPOINT none:
# idle API; hog: no API load, one busy-looping process instead; RATE 0: closed loop, as
# fast as the server answers; else requests/s in total).
# Appends "TAG iops=.. [rps=.. p50_us=.. p99_us=..]" to $TMP/results.
FAILED=0
run_one() {
	local tag=$1 ep=$2 clients=$3 rate=$4 s=$TMP/api.sock
	rm -f "$s" "$TMP/out"
	rv_cmd 1 "$MEM" "job=blk-load disk=0 rw=randread bs=4096 qd=32 queues=1 seconds=$DUR mib=$SIZE_MIB" \
		--disk "path=$F,direct=on,num_queues=1" --api-socket "$s" --log-level warn
	timeout -k 5 $((DUR + 60)) "${CMD[@]}" </dev/null >"$TMP/out" 2>"$TMP/err" &
	local pid=$! api=""
	# The guest boots in milliseconds, warms up for 0.5 s, then measures for the rest. (Its
	# serial lines are no guide: under this load they reach the file late, behind the disk
	# reads in the engine's io-wq.)
	for _ in $(seq 1 400); do [ -S "$s" ] && break; sleep 0.025; done
	# The load covers the guest's measurement (SECONDS from 0.5 s after boot) and ends
	# just before the guest does, so the figure is not diluted by unloaded time.
	local span
	span=$(awk -v d="$DUR" 'BEGIN { print d + 0.1 }')
	if [ "$ep" = hog ]; then
		sleep 0.3
		timeout "$span" sh -c 'while :; do :; done'
	elif [ "$ep" != none ]; then
		sleep 0.3
		local paced=()
		[ "$rate" != 0 ] && paced=(-r "$rate")
		api=$("$LOAD" "$s" -c "$clients" -s "$span" -p "/api/v1/$ep" "${paced[@]}" 2>&1)
	fi
	wait $pid
	local rc=$? iops
	iops=$(kv iops <"$TMP/out")
	if [ $rc -ne 0 ] || [ -z "$iops" ] || { [ "$ep" != none ] && [ "$ep" != hog ] && ! grep -q 'errors=0' <<<"$api"; }; then
		echo "run $tag: FAILED (exit $rc) $(tail -n2 "$TMP/out" "$TMP/err" | tr '\n' ' ') $api" >&2
		FAILED=1
		return
	fi
	echo "run $tag: iops=$iops $api" >&2
	echo "$tag iops=$iops $api" >>"$TMP/results"
}

tag() { [ "$1" = none ] || [ "$1" = hog ] && echo "$1" || { [ "$3" = 0 ] && echo "$1-c$2" || echo "$1-c$2-r$3"; }; }
echo "bench/api.sh: $ROUNDS rounds, $DUR s guest runs, tmpfs file $F ($SIZE_MIB MiB), $(nproc) host CPUs" >&2
CASES="none:0:0 vmm.ping:1:0 vmm.ping:64:0 vm.info:1:0 vm.info:64:0 $(for r in $RATES; do printf 'vm.info:64:%s ' "$r"; done)hog:1:0"
for r in $(seq 1 "$ROUNDS"); do
	for c in $CASES; do
		IFS=: read -r ep n rate <<<"$c"
		run_one "$(tag "$ep" "$n" "$rate")" "$ep" "$n" "$rate"
	done
done
[ -s "$TMP/results" ] || bench_die "no run passed"

col() { # TAG KEY: the median of KEY over the runs tagged TAG
	awk -v t="$1" '$1 == t' "$TMP/results" | kv_all "$2" | median
}

base=$(col none iops)
printf '\n%-22s %10s %10s %10s %12s %10s\n' "API load" "req/s" "p50 us" "p99 us" "guest IOPS" "vs idle"
printf '%-22s %10s %10s %10s %12s %10s\n' "none (idle socket)" - - - "$base" 1
RESULTS=("RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=none metric=iops ringvisor=$base")
for c in $CASES; do
	IFS=: read -r ep n rate <<<"$c"
	[ "$ep" = none ] && continue
	t=$(tag "$ep" "$n" "$rate")
	if [ "$ep" = hog ]; then
		iops=$(col hog iops)
		rel=$(ratio "$iops" "$base")
		printf '%-22s %10s %10s %10s %12s %10s\n' "CPU hog, no API" - - - "$iops" "$rel"
		RESULTS+=("RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=cpu-hog metric=iops ringvisor=$iops"
			"RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=cpu-hog metric=iops_vs_idle ringvisor=$rel")
		continue
	fi
	rps=$(col "$t" rps) p50=$(col "$t" p50_us) p99=$(col "$t" p99_us) iops=$(col "$t" iops)
	rel=$(ratio "$iops" "$base")
	label="$ep x$n"
	[ "$rate" != 0 ] && label="$label @${rate}/s"
	printf '%-22s %10s %10s %10s %12s %10s\n' "$label" "$rps" "$p50" "$p99" "$iops" "$rel"
	extra=""
	[ "$rate" != 0 ] && extra=" rate=$rate"
	RESULTS+=("RESULT bench=api job=$ep clients=$n$extra metric=requests_per_s ringvisor=$rps"
		"RESULT bench=api job=$ep clients=$n$extra metric=p50_us ringvisor=$p50"
		"RESULT bench=api job=$ep clients=$n$extra metric=p99_us ringvisor=$p99"
		"RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=$t metric=iops ringvisor=$iops"
		"RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=$t metric=iops_vs_idle ringvisor=$rel")
done
echo
printf '%s\n' "${RESULTS[@]}"
exit $FAILED
