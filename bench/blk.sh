#!/usr/bin/env bash
# bench/blk.sh — block I/O: the same load on the host file directly (fio, io_uring, O_DIRECT),
# through ringvisor and through QEMU (guest kit job=blk-load, virtio-blk-pci), alternating,
# on a tmpfs file and on a disk file. IOPS, p50/p99 latency, CPU per I/O, io_uring_enter per
# I/O (ringvisor). See bench/README.md.
#
# Usage: bench/blk.sh [--rounds N] [--seconds S] [--jobs LIST] [--backings LIST] [--timeout S]
# Environment: ROUNDS (3), SECONDS (5 s per run), JOBS (all four), BACKINGS (tmpfs,disk),
# TMPFS_DIR (/dev/shm), DISK_DIR (/var/tmp), SIZE_MIB (1024), TIMEOUT (SECONDS+90 s per run),
# MEM (256 MiB), plus BUILD/RINGVISOR/GUEST_ELF/QEMU from bench/lib.sh.
# Exit status: 0 if every run passed, 1 if any run failed, 2 if the bench could not start.
set -u
# SECONDS is bash's own clock: take it from the environment only (bash exports it only if it
# was there, with the elapsed time added, which is 0 this early).
DUR=$(printenv SECONDS)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3} DUR=${DUR:-5} MEM=${MEM:-256} SIZE_MIB=${SIZE_MIB:-1024}
TMPFS_DIR=${TMPFS_DIR:-/dev/shm} DISK_DIR=${DISK_DIR:-/var/tmp}
ALL_JOBS="randread-4k-qd1 randread-4k-qd32 randwrite-4k-qd32 read-128k-qd8"
JOBS=${JOBS:-$ALL_JOBS} BACKINGS=${BACKINGS:-tmpfs,disk} TIMEOUT=${TIMEOUT:-}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) DUR=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--backings) BACKINGS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) bench_die "unknown argument: $1 (try --help)" ;;
	esac
done
for v in ROUNDS DUR MEM SIZE_MIB; do
	case ${!v} in ''|*[!0-9]*|0) bench_die "${v/DUR/SECONDS} must be a positive whole number" ;; esac
done
TIMEOUT=${TIMEOUT:-$((DUR + 90))}
case $TIMEOUT in ''|*[!0-9]*|0) bench_die "TIMEOUT must be a positive whole number" ;; esac
JOBS=$(tr ',' ' ' <<<"$JOBS") BACKINGS=$(tr ',' ' ' <<<"$BACKINGS")
# job NAME -> RW BS QD (the same words for fio's --rw and the kit's rw=)
job_params() {
	case $1 in
	randread-4k-qd1) echo "randread 4096 1" ;;
	randread-4k-qd32) echo "randread 4096 32" ;;
	randwrite-4k-qd32) echo "randwrite 4096 32" ;;
	read-128k-qd8) echo "read 131072 8" ;;
	*) return 1 ;;
	esac
}
for j in $JOBS; do job_params "$j" >/dev/null || bench_die "unknown job $j (known: $ALL_JOBS)"; done
for b in $BACKINGS; do case $b in tmpfs|disk) ;; *) bench_die "unknown backing $b (tmpfs, disk)" ;; esac; done

bench_build || bench_die "build failed"
bench_lab
bench_need_qemu
bench_need_fio
command -v python3 >/dev/null || bench_die "python3 is needed"

TMP=$(mktemp -d /tmp/rv-bench-blk.XXXXXX)
FILES=()
cleanup() { rm -rf "$TMP"; [ ${#FILES[@]} -eq 0 ] || rm -f "${FILES[@]}"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
FAILED=0

echo "== ringvisor blk bench: $(date -u +%FT%TZ)" >&2
echo "   host $(uname -r), $(nproc) CPUs, kvm module: $(ls -d /sys/module/kvm_{intel,amd,pvm} 2>/dev/null |
	sed 's|.*/||' | tr '\n' ' ')" >&2
echo "   ringvisor $(git -C "$ROOT" describe --always --dirty 2>/dev/null), $($QEMU --version | head -n1), $(fio --version)" >&2
[ "$ROUNDS" -ge 3 ] || echo "   NOTE: ROUNDS=$ROUNDS < 3: not the real figures" >&2

# The backing files: 1 GiB of random data each, written with O_DIRECT, removed at exit.
declare -A FILE
for b in $BACKINGS; do
	case $b in tmpfs) d=$TMPFS_DIR ;; disk) d=$DISK_DIR ;; esac
	f=$d/rv-bench-blk.$$.img
	FILES+=("$f")
	echo "-- preparing $b file $f ($SIZE_MIB MiB of random data, $(findmnt -no FSTYPE -T "$d" 2>/dev/null | head -n1))" >&2
	bench_prealloc "$f" "$SIZE_MIB" || bench_die "cannot write $f"
	odirect_ok "$f" || bench_die "O_DIRECT does not work on $f"
	FILE[$b]=$f
done
sync

# The host's TSC rate: the kit times everything with the TSC at the rate it calibrated
# (PIT under ringvisor, CPUID 0x40000010 under QEMU with +invtsc); a PIT calibration that
# is off shifts all of that run's figures, so they are rescaled to this rate.
REF_KHZ=$(host_tsc_khz)

# run_one BACKING JOB RUNNER ROUND: one run; a passing one appends "k=v ..." to
# $TMP/BACKING.JOB.RUNNER, a failing one is reported and counted.
run_one() {
	local b=$1 job=$2 who=$3 round=$4 f=${FILE[$1]} rw bs qd base line why=''
	read -r rw bs qd <<<"$(job_params "$job")"
	base=$TMP/$b.$job.$who.$round
	case $who in
	host)
		local rc=0
		timeout -s KILL "$TIMEOUT" fio --name="$job" --filename="$f" --ioengine=io_uring --direct=1 \
			--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs=1 --size="${SIZE_MIB}M" --time_based \
			--runtime="$DUR" --ramp_time=0.5 --norandommap --randrepeat=0 --lat_percentiles=1 \
			--percentile_list=50:99:99.9 --output-format=json >"$base.out" 2>"$base.err" || rc=$?
		case $rc in 0) ;; 137) why="timeout after ${TIMEOUT}s" ;; *) why="fio exit status $rc" ;; esac
		[ -n "$why" ] || line=$(python3 - "$base.out" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		j = d["jobs"][0]
		if j.get("error"):
		    sys.exit("fio error %s" % j["error"])
		r = j["write"] if j["write"]["total_ios"] > j["read"]["total_ios"] else j["read"]
		p = r["lat_ns"]["percentile"]
		iops = r["iops"]
		if not iops:
		    sys.exit("no I/O")
		cpu = (j["usr_cpu"] + j["sys_cpu"]) / 100.0
		print("iops=%.1f lat_p50_us=%.1f lat_p99_us=%.1f ops=%d cpu_pct=%.1f cpu_us_per_io=%.4f"
		      % (iops, p["50.000000"] / 1e3, p["99.000000"] / 1e3, r["total_ios"], cpu * 100,
		         cpu / iops * 1e6))
		EOF
		) || why=${why:-"fio output not understood"}
		;;
	ringvisor|qemu)
		local cmdline="job=blk-load disk=0 rw=$rw bs=$bs qd=$qd queues=1 seconds=$DUR mib=$SIZE_MIB"
		if [ "$who" = ringvisor ]; then
			rv_cmd 1 "$MEM" "$cmdline" --disk "path=$f,direct=on,num_queues=1" --log-level info
		else
			# +invtsc: QEMU then gives the guest the TSC rate in CPUID 0x40000010 (the last
			# -cpu wins); nothing else about the CPU changes.
			qemu_cmd 1 "$MEM" "$cmdline" -cpu host,-arch-capabilities,+invtsc \
				-object iothread,id=io0 \
				-drive "file=$f,if=none,id=d0,format=raw,cache=none,aio=io_uring" \
				-device virtio-blk-pci,drive=d0,iothread=io0,disable-legacy=on,num-queues=1
		fi
		line=$(cpu_window_run --seconds "$DUR" --marker "rw=" --out "$base.out" --err "$base.err" \
			--timeout "$TIMEOUT" -- "${CMD[@]}") || why="helper failed"
		local rc res
		rc=$(kv rc <<<"$line")
		res=$(tr -d '\r' <"$base.out" | grep -a -E '^iops=' | head -n1)
		if [ -n "$why" ]; then :
		elif [ "$(kv timeout <<<"$line")" = 1 ]; then why="timeout after ${TIMEOUT}s"
		elif [ "$rc" != "$(vmm_pass_rc "$who")" ]; then why="exit status $rc"
		elif ! tr -d '\r' <"$base.out" | grep -qax 'result=pass'; then why="no result=pass"
		elif [ -z "$res" ]; then why="no iops= line"
		fi
		local tsc src
		tsc=$(tr -d '\r' <"$base.out" | kv tsc_khz) src=$(tr -d '\r' <"$base.out" | kv tsc_source)
		line+=" $res tsc_khz=$tsc tsc_source=$src"
		if [ "$who" = ringvisor ]; then
			local eng dsk enters n
			eng=$(grep -a -E 'engine [^ ]+: .*io_uring_enter=' "$base.err" | head -n1)
			dsk=$(grep -a -E 'disk0: reads=' "$base.err" | head -n1)
			enters=$(kv io_uring_enter <<<"$eng")
			# per I/O the engine handled over the whole run (warm-up included, like the count);
			# the guest's measured ops if the disk line is missing
			n=$(awk -v r="$(kv reads <<<"$dsk")" -v w="$(kv writes <<<"$dsk")" \
				-v f="$(kv flushes <<<"$dsk")" 'BEGIN { if (r != "") print r + w + f }')
			[ -n "$n" ] || n=$(kv ops <<<"$res")
			[ -z "$enters" ] || line+=" enters=$enters sleeps=$(kv sleeps <<<"$eng") io_total=$n"
			grep -a -E ' (error|warn|warning):' "$base.err" | head -n 3 | sed "s/^/      $who log: /" >&2
		fi
		;;
	esac
	if [ -n "$why" ]; then
		FAILED=$((FAILED + 1))
		echo x >>"$TMP/$b.$job.$who.failed"
		printf '  %s  %-5s %-18s %-9s FAILED (%s)\n' "$round/$ROUNDS" "$b" "$job" "$who" "$why" >&2
		tail -n 3 "$base.out" "$base.err" 2>/dev/null | cat -v | sed 's/^/      /' >&2
		return
	fi
	echo "$line" >>"$TMP/$b.$job.$who"
	printf '  %s  %-5s %-18s %-9s %s\n' "$round/$ROUNDS" "$b" "$job" "$who" "$(summary "$who" "$line")" >&2
}

# The figures of one run, TSC-corrected: "iops lat_p50_us lat_p99_us cpu_us_per_io
# vmm_cpu_us_per_io io_uring_enter_per_io" ("" for what does not apply).
figures() {
	local who=$1 line=$2
	if [ "$who" = host ]; then
		echo "$(kv iops <<<"$line") $(kv lat_p50_us <<<"$line") $(kv lat_p99_us <<<"$line") $(kv cpu_us_per_io <<<"$line")"
		return
	fi
	awk -v ref="$REF_KHZ" -v tsc="$(kv tsc_khz <<<"$line")" -v iops="$(kv iops <<<"$line")" \
		-v p50="$(kv lat_p50_us <<<"$line")" -v p99="$(kv lat_p99_us <<<"$line")" \
		-v ws="$(kv win_s <<<"$line")" -v wc="$(kv win_cpu_ms <<<"$line")" \
		-v wg="$(kv win_guest_ms <<<"$line")" -v en="$(kv enters <<<"$line")" \
		-v n="$(kv io_total <<<"$line")" 'BEGIN {
		k = (ref > 0 && tsc > 0) ? ref / tsc : 1
		iops *= k; p50 /= k; p99 /= k
		cpu = vcpu = epi = ""
		if (ws != "na" && ws > 0 && iops > 0) {
			cpu = sprintf("%.4f", wc / 1000 / ws / iops * 1e6)
			vcpu = sprintf("%.4f", (wc - wg) / 1000 / ws / iops * 1e6)
		}
		if (en != "" && n > 0) epi = sprintf("%.4f", en / n)
		printf "%.1f %.1f %.1f %s %s %s\n", iops, p50, p99, cpu, vcpu, epi }'
}
summary() {
	local who=$1 line=$2 f dev
	read -r -a f <<<"$(figures "$who" "$line")"
	printf 'iops=%s p50=%sus p99=%sus cpu/io=%sus' "${f[0]}" "${f[1]}" "${f[2]}" "${f[3]:--}"
	[ "$who" = host ] && { printf ' (fio cpu %s%%)\n' "$(kv cpu_pct <<<"$line")"; return; }
	printf ' vmm-cpu/io=%sus cpu=%s%%' "${f[4]:--}" \
		"$(awk -v c="$(kv win_cpu_ms <<<"$line")" -v s="$(kv win_s <<<"$line")" \
			'BEGIN { if (s != "na" && s > 0) printf "%.0f", c / 10 / s; else printf "-" }')"
	[ "$who" = ringvisor ] && printf ' enter/io=%s sleeps=%s' "${f[5]:--}" "$(kv sleeps <<<"$line")"
	dev=$(awk -v r="$REF_KHZ" -v t="$(kv tsc_khz <<<"$line")" \
		'BEGIN { if (r > 0 && t > 0 && (t / r > 1.01 || t / r < 0.99)) printf "%+.1f%%", (t / r - 1) * 100 }')
	[ -z "$dev" ] || printf ' [guest tsc_khz=%s (%s) off by %s: rescaled]' \
		"$(kv tsc_khz <<<"$line")" "$(kv tsc_source <<<"$line")" "$dev"
	echo
}

echo "-- $ROUNDS rounds; per round, for each backing and job: host fio, ringvisor, QEMU (order rotated" \
	"every round); ${DUR}s per run after 0.5s warm-up; guests: 1 vCPU, $MEM MiB, 1 disk, 1 queue" >&2
[ -n "$REF_KHZ" ] && echo "   host TSC ${REF_KHZ} kHz (dmesg): guest figures rescaled to it" >&2 ||
	echo "   host TSC rate unknown (dmesg unreadable): guest figures use the guest's own calibration" >&2
RUNNERS=(host ringvisor qemu)
for ((r = 0; r < ROUNDS; r++)); do
	order=("${RUNNERS[@]:r%3}" "${RUNNERS[@]:0:r%3}")
	for b in $BACKINGS; do
		for j in $JOBS; do
			for who in "${order[@]}"; do run_one "$b" "$j" "$who" $((r + 1)); done
		done
	done
done

# ---- report --------------------------------------------------------------------------
# med BACKING JOB RUNNER INDEX: the median of figure INDEX (see figures) over passing runs.
med() {
	[ -f "$TMP/$1.$2.$3" ] || return 0
	while read -r l; do read -r -a f <<<"$(figures "$3" "$l")"; echo "${f[$4]:-}"; done <"$TMP/$1.$2.$3" | median
}
nok() { [ -f "$TMP/$1.$2.$3" ] && wc -l <"$TMP/$1.$2.$3" || echo 0; }
nfail() { [ -f "$TMP/$1.$2.$3.failed" ] && wc -l <"$TMP/$1.$2.$3.failed" || echo 0; }
RESULTS=()
echo
echo "block I/O: host fio vs ringvisor vs QEMU (guest kit job=blk-load), median over passing runs"
echo "rv/host, rv/qemu = ringvisor / other: iops > 1 = ringvisor better; latency, CPU < 1 = ringvisor better"
echo "cpu/io: user+sys of the whole process (fio; VMM incl. its vCPU thread, which polls) per I/O;"
echo "vmm cpu/io: the same without guest time; enter/io: ringvisor's io_uring_enter calls per I/O"
for b in $BACKINGS; do
	for j in $JOBS; do
		echo
		printf '%s %s (%s)   ok/fail: host %s/%s rv %s/%s qemu %s/%s\n' "$b" "$j" "$(job_params "$j" |
			awk '{ printf "rw=%s bs=%s qd=%s", $1, $2, $3 }')" \
			"$(nok "$b" "$j" host)" "$(nfail "$b" "$j" host)" "$(nok "$b" "$j" ringvisor)" \
			"$(nfail "$b" "$j" ringvisor)" "$(nok "$b" "$j" qemu)" "$(nfail "$b" "$j" qemu)"
		printf '  %-22s %12s %12s %12s %9s %9s\n' figure host ringvisor qemu rv/host rv/qemu
		i=0
		for m in iops lat_p50_us lat_p99_us cpu_us_per_io vmm_cpu_us_per_io io_uring_enter_per_io; do
			h=$(med "$b" "$j" host $i); rv=$(med "$b" "$j" ringvisor $i); q=$(med "$b" "$j" qemu $i)
			case $m in vmm_cpu_us_per_io|io_uring_enter_per_io) h= ;; esac
			[ "$m" = io_uring_enter_per_io ] && q=
			i=$((i + 1))
			[ -n "$h$rv$q" ] || continue
			printf '  %-22s %12s %12s %12s %9s %9s\n' "${m/_us_per_io/_us\/io}" "$(num "$h")" "$(num "$rv")" \
				"$(num "$q")" "$(ratio "$rv" "$h" | sed 's/^$/-/')" "$(ratio "$rv" "$q" | sed 's/^$/-/')"
			line="RESULT bench=blk job=$j backing=$b metric=$m"
			[ -n "$h" ] && line+=" host=$(num "$h")"
			[ -n "$rv" ] && line+=" ringvisor=$(num "$rv")"
			[ -n "$q" ] && line+=" qemu=$(num "$q")"
			RESULTS+=("$line")
		done
	done
done
echo
bench_results "${RESULTS[@]}"
if [ "$FAILED" -gt 0 ]; then
	echo "FAILED runs: $FAILED (excluded from the figures; see the log above)"
	exit 1
fi
