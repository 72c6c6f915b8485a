#!/usr/bin/env bash
# bench/numa.sh — guest memory on huge pages or not: the guest kit's 4k randread QD32 blk-load
# on a tmpfs file with guest RAM on 2 MiB huge pages vs ordinary 4 KiB pages, under ringvisor
# (--memory hugepages=on) and QEMU (memory-backend-memfd hugetlb=on), alternating, and where
# guest RAM and the engine's ring memory live (/proc/PID/numa_maps, read mid-run).
#
# Usage: bench/numa.sh [--rounds N] [--seconds S]
# Environment: ROUNDS (3), SECONDS (5 s per run), MEM (256 MiB), TMPFS_DIR (/dev/shm),
# SIZE_MIB (1024), plus BUILD/RINGVISOR/GUEST_ELF/QEMU from bench/lib.sh.
# Needs root (it reserves MEM/2 huge pages of 2 MiB and gives them back at the end).
# Exit status: 0 if every run passed, 1 if any failed, 2 if the bench could not start.
set -u
DUR=$(printenv SECONDS)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
ROUNDS=${ROUNDS:-3} DUR=${DUR:-5} MEM=${MEM:-256} SIZE_MIB=${SIZE_MIB:-1024} TMPFS_DIR=${TMPFS_DIR:-/dev/shm}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) DUR=$2; shift 2 ;;
	-h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) bench_die "unknown argument: $1 (try --help)" ;;
	esac
done
for v in ROUNDS DUR MEM SIZE_MIB; do
	case ${!v} in ''|*[!0-9]*|0) bench_die "${v/DUR/SECONDS} must be a positive whole number" ;; esac
done
bench_build || bench_die "build failed"
bench_lab
bench_need_qemu
HP=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
HP_SAVED=$(cat "$HP" 2>/dev/null) || bench_die "no 2 MiB huge pages on this host"
TMP=$(mktemp -d /tmp/rv-bench-numa.XXXXXX)
DISK=$TMPFS_DIR/rv-bench-numa.img
cleanup() { echo "$HP_SAVED" >"$HP" 2>/dev/null; rm -rf "$TMP" "$DISK"; }
trap cleanup EXIT
# Both VMMs at once never run, but QEMU keeps a few pages for itself: reserve a margin.
need=$((MEM / 2 + 16))
echo $((HP_SAVED + need)) >"$HP" 2>/dev/null
[ "$(cat "$HP")" -ge $((HP_SAVED + need)) ] || bench_die "cannot reserve $need huge pages of 2 MiB"
bench_prealloc "$DISK" "$SIZE_MIB" || bench_die "cannot create $DISK"

CMDLINE="job=blk-load disk=0 rw=randread bs=4096 qd=32 queues=1 seconds=$DUR mib=$SIZE_MIB"
FAILED=0
one_run() { # who hp round
	local who=$1 hp=$2 round=$3 base=$TMP/$1.$2.$3
	if [ "$who" = ringvisor ]; then
		# shared=on: a memfd, as QEMU's memory-backend-memfd (and its name in numa_maps)
		local mem="size=${MEM}M,shared=on"
		[ "$hp" = on ] && mem+=",hugepages=on"
		CMD=("$RINGVISOR" --kernel "$GUEST_ELF" --cpus boot=1 --memory "$mem" --cmdline "$CMDLINE"
			--disk "path=$DISK,direct=on,num_queues=1")
	else
		local backend="memory-backend-memfd,id=ram0,size=${MEM}M,hugetlb=$hp"
		[ "$hp" = on ] && backend+=",hugetlbsize=2M"
		qemu_cmd 1 "$MEM" "$CMDLINE" -cpu host,-arch-capabilities,+invtsc -object "$backend" \
			-machine memory-backend=ram0 -object iothread,id=io0 \
			-drive "file=$DISK,if=none,id=d0,format=raw,cache=none,aio=io_uring" \
			-device virtio-blk-pci,drive=d0,iothread=io0,disable-legacy=on,num-queues=1
	fi
	"${CMD[@]}" </dev/null >"$base.out" 2>"$base.err" &
	local pid=$! half=$(( (DUR + 1) / 2 ))
	# numa_maps in the middle of the load (guest RAM and ring memory are all there by then)
	for _ in $(seq 1 $((DUR * 10 + 100))); do grep -qa 'job=blk-load' "$base.out" && break; sleep 0.1; done
	sleep "$half"
	cp "/proc/$pid/numa_maps" "$base.maps" || echo "  (could not read /proc/$pid/numa_maps)" >&2
	wait "$pid"
	local rc=$? res
	res=$(tr -d '\r' <"$base.out" | grep -a -E '^iops=' | head -n1)
	if [ "$rc" != "$(vmm_pass_rc "$who")" ] || [ -z "$res" ]; then
		FAILED=$((FAILED + 1))
		echo "  $round/$ROUNDS hugepages=$hp $who FAILED (exit $rc)" >&2
		tail -n 3 "$base.err" | sed 's/^/      /' >&2
		return
	fi
	kv iops <<<"$res" >>"$TMP/$who.$hp.iops"
	kv lat_p50_us <<<"$res" >>"$TMP/$who.$hp.p50"
	echo "  $round/$ROUNDS hugepages=$hp $who $res" >&2
}
echo "bench/numa.sh: ${ROUNDS} rounds of ${DUR} s, 4k randread QD32 on $DISK, guest RAM ${MEM} MiB" >&2
for r in $(seq 1 "$ROUNDS"); do
	for hp in off on; do
		for who in ringvisor qemu; do one_run "$who" "$hp" "$r"; done
	done
done

printf '\n%-22s %12s %12s %8s\n' "figure" "ringvisor" "qemu" "rv/qemu"
RESULTS=()
for hp in off on; do
	for m in iops p50; do
		rv=$(cat "$TMP/ringvisor.$hp.$m" 2>/dev/null | median) q=$(cat "$TMP/qemu.$hp.$m" 2>/dev/null | median)
		metric=$([ $m = iops ] && echo iops || echo lat_p50_us)
		printf '%-22s %12s %12s %8s\n' "hugepages=$hp $metric" "${rv:-na}" "${q:-na}" "$(ratio "$rv" "$q")"
		RESULTS+=("RESULT bench=numa job=randread-4k-qd32 backing=tmpfs hugepages=$hp metric=$metric ringvisor=${rv:-na} qemu=${q:-na}")
	done
done
on=$(cat "$TMP/ringvisor.on.iops" 2>/dev/null | median) off=$(cat "$TMP/ringvisor.off.iops" 2>/dev/null | median)
echo "ringvisor huge pages / 4 KiB pages, IOPS: $(ratio "$on" "$off")"
RESULTS+=("RESULT bench=numa job=randread-4k-qd32 backing=tmpfs metric=iops_hugepages_over_4k ringvisor=$(ratio "$on" "$off")")

# Where memory lives (last ringvisor run of each kind): guest RAM memfd and io_uring rings.
for hp in off on; do
	maps=$(ls "$TMP"/ringvisor.$hp.*.maps 2>/dev/null | tail -n1)
	[ -n "$maps" ] || continue
	echo "numa_maps, ringvisor hugepages=$hp:"
	grep -E 'ringvisor-ram|io_uring' "$maps" | sed 's/^/  /'
done
bench_results "${RESULTS[@]}"
[ "$FAILED" -eq 0 ] || exit 1
