#!/usr/bin/env bash
# bench/boot.sh — ringvisor vs QEMU on the guest kit: start→first output, start→exit,
# CPU time per run, exit costs, 2-vCPU start→exit. See bench/README.md.
#
# Usage: bench/boot.sh [--runs N] [--exits-n N] [--exits-runs N] [--smp-runs N] [--timeout S]
# Environment: RUNS (10), EXITS_N (20000), EXITS_RUNS (3), SMP_RUNS (5), TIMEOUT (120 s per
# run), MEM (256 MiB), plus BUILD/RINGVISOR/GUEST_ELF/QEMU from bench/lib.sh.
# Exit status: 0 if every run passed, 1 if any run failed, 2 if the bench could not start.
set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-10} EXITS_N=${EXITS_N:-20000} EXITS_RUNS=${EXITS_RUNS:-3}
SMP_RUNS=${SMP_RUNS:-5} TIMEOUT=${TIMEOUT:-120} MEM=${MEM:-256}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--exits-n) EXITS_N=$2; shift 2 ;;
	--exits-runs) EXITS_RUNS=$2; shift 2 ;;
	--smp-runs) SMP_RUNS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) sed -n '2,8s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) bench_die "unknown argument: $1 (try --help)" ;;
	esac
done
for v in RUNS EXITS_N EXITS_RUNS SMP_RUNS MEM; do
	case ${!v} in ''|*[!0-9]*) bench_die "$v must be a number" ;; esac
done

bench_build || bench_die "build failed"
bench_lab
bench_need_qemu
command -v python3 >/dev/null || bench_die "python3 is needed for bench/firstbyte.py"

TMP=$(mktemp -d /tmp/rv-bench-boot.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
FAILED=0

# run_one FIGURE VMM VCPUS "CMDLINE" LABEL: one timed run. A passing run (expected exit
# status, result=pass, banner seen) appends the helper's line, plus any *_ns keys the
# guest printed, to $TMP/FIGURE.VMM; a failing one is reported and counted.
run_one() {
	local fig=$1 vmm=$2 n=$3 cmdline=$4 label=$5 base line rc why=
	base=$TMP/$fig.$vmm.$(date +%s%N)
	"${vmm/ringvisor/rv}_cmd" "$n" "$MEM" "$cmdline"
	line=$(python3 "$BENCH_DIR/firstbyte.py" --timeout "$TIMEOUT" --marker "kit=" \
		--out "$base.out" --err "$base.err" -- "${CMD[@]}") || why="helper failed"
	rc=$(kv rc <<<"$line")
	if [ -n "$why" ]; then :
	elif [ "$(kv timeout <<<"$line")" = 1 ]; then why="timeout after ${TIMEOUT}s"
	elif [ "$rc" != "$(vmm_pass_rc "$vmm")" ]; then why="exit status $rc"
	elif ! grep -qx 'result=pass' "$base.out"; then why="no result=pass"
	elif [ "$(kv first_ms <<<"$line")" = na ]; then why="no kit= banner"
	fi
	if [ -n "$why" ]; then
		FAILED=$((FAILED + 1))
		echo "$fig" >>"$TMP/$fig.$vmm.failed"
		printf '  %-6s %-9s %s  FAILED (%s)\n' "$fig" "$vmm" "$label" "$why" >&2
		tail -n 3 "$base.out" "$base.err" 2>/dev/null | cat -v | sed 's/^/      /' >&2
		return
	fi
	echo "$line $(grep -oE '[a-z0-9_]+_ns=[0-9.]+' "$base.out" | tr '\n' ' ')" >>"$TMP/$fig.$vmm"
	printf '  %-6s %-9s %s  first=%sms exit=%sms cpu=%sms\n' "$fig" "$vmm" "$label" \
		"$(kv first_ms <<<"$line")" "$(kv exit_ms <<<"$line")" "$(kv cpu_ms <<<"$line")" >&2
}

# series FIGURE RUNS VCPUS "CMDLINE": RUNS runs per VMM, alternating, the order swapped
# on every other round so neither VMM always runs on the heels of the other.
series() {
	local fig=$1 runs=$2 n=$3 cmdline=$4 i
	: >"$TMP/$fig.ringvisor"; : >"$TMP/$fig.qemu"
	for ((i = 1; i <= runs; i++)); do
		if ((i % 2)); then order="ringvisor qemu"; else order="qemu ringvisor"; fi
		for vmm in $order; do run_one "$fig" "$vmm" "$n" "$cmdline" "$i/$runs"; done
	done
}
# col FIGURE VMM KEY: the KEY values of the passing runs, one per line.
col() { while read -r l; do kv "$3" <<<"$l"; done <"$TMP/$1.$2"; }
nfail() { [ -f "$TMP/$1.$2.failed" ] && wc -l <"$TMP/$1.$2.failed" || echo 0; }

echo "== ringvisor boot bench: $(date -u +%FT%TZ)" >&2
echo "   host $(uname -r), $(nproc) CPUs, kvm module: $(ls -d /sys/module/kvm_{intel,amd,pvm} 2>/dev/null |
	sed 's|.*/||' | tr '\n' ' ')" >&2
echo "   ringvisor $(git -C "$ROOT" describe --always --dirty 2>/dev/null), $($QEMU --version | head -n1)" >&2
[ "$RUNS" -ge 10 ] || echo "   NOTE: RUNS=$RUNS < 10: not the real figures" >&2

echo "-- warm-up (not counted in the figures): job=boot once per VMM" >&2
series warmup 1 1 "job=boot"
echo "-- start→exit, start→first output: job=boot, 1 vCPU, $MEM MiB, $RUNS runs per VMM" >&2
series boot "$RUNS" 1 "job=boot"
echo "-- exits: job=exits n=$EXITS_N, 1 vCPU, $EXITS_RUNS runs per VMM" >&2
series exits "$EXITS_RUNS" 1 "job=exits n=$EXITS_N"
echo "-- smp: job=smp, 2 vCPUs, $SMP_RUNS runs per VMM" >&2
series smp "$SMP_RUNS" 2 "job=smp"

# ---- report --------------------------------------------------------------------------
RESULTS=()
# figure LABEL FIGURE KEY RESULT-FIELDS: one table row and one RESULT line.
figure() {
	local label=$1 fig=$2 key=$3 fields=$4 r q rs qs ra
	rs=$(col "$fig" ringvisor "$key" | stats); qs=$(col "$fig" qemu "$key" | stats)
	r=${rs%% *}; q=${qs%% *}; ra=$(ratio "$r" "$q")
	[ -n "$rs" ] || rs="- - - 0"; [ -n "$qs" ] || qs="- - - 0"
	fmt() { awk '{ if ($4) printf "%s [%s..%s]", $1, $2, $3; else printf "-" }' <<<"$1"; }
	printf '%-38s %-30s %-30s %-9s %s/%s %s/%s\n' "$label" "$(fmt "$rs")" "$(fmt "$qs")" "${ra:--}" \
		"${rs##* }" "$(nfail "$fig" ringvisor)" "${qs##* }" "$(nfail "$fig" qemu)"
	local line="RESULT bench=boot $fields"
	[ -n "$r" ] && line+=" ringvisor=$r"
	[ -n "$q" ] && line+=" qemu=$q"
	[ -n "$ra" ] && line+=" ratio=$ra"
	RESULTS+=("$line")
}

echo
echo "ringvisor vs QEMU, guest kit ($GUEST_ELF), $MEM MiB; median [min..max] over passing runs"
echo "ratio = ringvisor/QEMU medians (< 1: ringvisor faster / cheaper); ok/failed runs per VMM"
printf '%-38s %-30s %-30s %-9s %s\n' "figure" "ringvisor" "qemu" "ratio" "ok/fail rv qemu"
figure "start->first output ms (1 vCPU, boot)" boot first_ms \
	"job=start-to-first-output vcpus=1 metric=median_ms"
figure "start->exit ms (1 vCPU, boot)" boot exit_ms "job=start-to-exit vcpus=1 metric=median_ms"
figure "CPU ms per run (1 vCPU, boot)" boot cpu_ms "job=start-to-exit vcpus=1 metric=median_cpu_ms"
figure "start->exit ms (2 vCPUs, smp)" smp exit_ms "job=smp-start-to-exit vcpus=2 metric=median_ms"
figure "CPU ms per run (2 vCPUs, smp)" smp cpu_ms "job=smp-start-to-exit vcpus=2 metric=median_cpu_ms"
keys=$(cat "$TMP/exits.ringvisor" "$TMP/exits.qemu" | grep -oE '[a-z0-9_]+_ns=' | tr -d = | awk '!s[$0]++')
for k in $keys; do
	figure "$k (exits n=$EXITS_N)" exits "$k" "job=exits metric=$k"
done
figure "CPU ms per run (exits n=$EXITS_N)" exits cpu_ms "job=exits metric=median_cpu_ms"
[ -n "$keys" ] || echo "exits: no *_ns keys from any passing run"
echo
bench_results "${RESULTS[@]}"
if [ "$FAILED" -gt 0 ]; then
	echo "FAILED runs: $FAILED (excluded from the figures; see the log above)"
	exit 1
fi
