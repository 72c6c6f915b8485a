#!/usr/bin/env bash
# bench/api.sh — the HTTP API under load while the guest works: requests/s and p50/p99
# latency of vmm.ping and vm.info at 1 and 64 concurrent keep-alive clients
# (build/tests/api_load, one epoll thread), each measured while the guest kit runs its
# 4k random-read QD32 load (job=blk-load) on a tmpfs file; and the guest's IOPS with and
# without that API load: each closed-loop case, vm.info from 64 clients paced at each of
# RATES requests/s in total (orchestrators polling hard), and, for reference, a plain
# CPU-bound process beside the guest instead of any API load (what a closed-loop client's
# share of a small host costs the guest whatever it talks to). Each API case is run twice:
# against ringvisor's API, and against "host": build/tests/http_fixed, the least an HTTP
# server can do (one epoll thread answering every request with the body ringvisor gave
# for that endpoint), beside the same guest load; host figures are what this machine
# allows any server. QEMU has no comparable API. See bench/README.md.
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
	-h|--help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
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
FIXED="$ROOT/$BUILD/tests/http_fixed"
bench_build "$BUILD/tests/api_load" "$BUILD/tests/http_fixed" || bench_die "build failed"
bench_lab
[ -w /dev/kvm ] || bench_die "/dev/kvm is not writable"
command -v python3 >/dev/null || bench_die "python3 is needed"
command -v curl >/dev/null || bench_die "curl is needed (make deps installs it)"

TMP=$(mktemp -d /tmp/rv-bench-api.XXXXXX)
F=$TMPFS_DIR/rv-bench-api.$$.img
trap 'rm -rf "$TMP" "$F"' EXIT
bench_prealloc "$F" "$SIZE_MIB" || bench_die "cannot write $F"
odirect_ok "$F" || bench_die "O_DIRECT does not work on $F"

# One guest run with an API load beside it: run_one TAG ENDPOINT CLIENTS RATE (ENDPOINT none:
# idle API; hog: no API load, one busy-looping process instead; host-EP: the load for EP
# against http_fixed instead of ringvisor; RATE 0: closed loop, as fast as the server
# answers; else requests/s in total).
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
		local paced=() target=$s fixed=""
		[ "$rate" != 0 ] && paced=(-r "$rate")
		if [ "${ep#host-}" != "$ep" ]; then
			ep=${ep#host-} target=$TMP/host.sock
			if ! curl -sf --unix-socket "$s" "http://localhost/api/v1/$ep" >"$TMP/body.json"; then
				echo "run $tag: FAILED: could not fetch $ep's body from ringvisor" >&2
				FAILED=1
				wait $pid
				return
			fi
			"$FIXED" "$target" "$TMP/body.json" $((DUR + 5)) >/dev/null &
			fixed=$!
			for _ in $(seq 1 100); do [ -S "$target" ] && break; sleep 0.01; done
		fi
		api=$("$LOAD" "$target" -c "$clients" -s "$span" -p "/api/v1/$ep" "${paced[@]}" 2>&1)
		[ -n "$fixed" ] && { kill "$fixed"; wait "$fixed"; }
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
API_CASES="vmm.ping:1:0 vmm.ping:64:0 vm.info:1:0 vm.info:64:0 $(for r in $RATES; do printf 'vm.info:64:%s ' "$r"; done)"
CASES="none:0:0 $API_CASES$(for c in $API_CASES; do printf 'host-%s ' "$c"; done)hog:1:0"
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
printf '\n%-20s %29s %11s | %29s %11s | %8s\n' "" "--------- ringvisor ---------" "" "---- host (http_fixed) ------" "" "p99"
printf '%-20s %9s %9s %9s %11s | %9s %9s %9s %11s | %8s\n' "API load" "req/s" "p50 us" "p99 us" "IOPS/idle" \
	"req/s" "p50 us" "p99 us" "IOPS/idle" "rv/host"
printf '%-20s %9s %9s %9s %11s |\n' "none (idle socket)" - - - "1 ($base)"
RESULTS=("RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=none metric=iops ringvisor=$base")
for c in $API_CASES hog:1:0; do
	IFS=: read -r ep n rate <<<"$c"
	t=$(tag "$ep" "$n" "$rate")
	if [ "$ep" = hog ]; then
		iops=$(col hog iops)
		rel=$(ratio "$iops" "$base")
		printf '%-20s %9s %9s %9s %11s |\n' "CPU hog, no API" - - - "$rel"
		RESULTS+=("RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=cpu-hog metric=iops ringvisor=$iops"
			"RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=cpu-hog metric=iops_vs_idle ringvisor=$rel")
		continue
	fi
	rps=$(col "$t" rps) p50=$(col "$t" p50_us) p99=$(col "$t" p99_us) iops=$(col "$t" iops)
	hrps=$(col "host-$t" rps) hp50=$(col "host-$t" p50_us) hp99=$(col "host-$t" p99_us) hiops=$(col "host-$t" iops)
	rel=$(ratio "$iops" "$base") hrel=$(ratio "$hiops" "$base")
	label="$ep x$n"
	[ "$rate" != 0 ] && label="$label @${rate}/s"
	printf '%-20s %9s %9s %9s %11s | %9s %9s %9s %11s | %8s\n' "$label" "$rps" "$p50" "$p99" "$rel" \
		"$hrps" "$hp50" "$hp99" "$hrel" "$(ratio "$p99" "$hp99")"
	extra=""
	[ "$rate" != 0 ] && extra=" rate=$rate"
	RESULTS+=("RESULT bench=api job=$ep clients=$n$extra metric=requests_per_s host=$hrps ringvisor=$rps"
		"RESULT bench=api job=$ep clients=$n$extra metric=p50_us host=$hp50 ringvisor=$p50"
		"RESULT bench=api job=$ep clients=$n$extra metric=p99_us host=$hp99 ringvisor=$p99"
		"RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=$t metric=iops host=$hiops ringvisor=$iops"
		"RESULT bench=api job=randread-4k-qd32 backing=tmpfs api_load=$t metric=iops_vs_idle host=$hrel ringvisor=$rel")
done
echo
bench_results "${RESULTS[@]}"
exit $FAILED
