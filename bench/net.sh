#!/usr/bin/env bash
# bench/net.sh — UDP over virtio-net on a TAP: guest -> host (job=net-tx) and host -> guest
# (job=net-rx) at 64 B and 1472 B payloads, with 1 and 2 queue pairs, ringvisor vs QEMU
# (virtio-net-pci, -netdev tap,vhost=off, mq=on for 2 pairs) on the same guest kit and the
# same TAP, and "host": build/tests/tap_guest doing the kit's job on the TAP itself with
# no VM (plain read/write per frame, one thread, and a busy thread standing in for each
# of the guest's polling vCPUs, which take a CPU each under both VMMs), in turn, in one run. Packets/s
# and Gbit/s (payload) as the guest (or tap_guest) counts them, the ratios, and
# ringvisor's io_uring_enter calls per packet. See bench/README.md.
#
# Usage: bench/net.sh [--rounds N] [--seconds S] [--jobs LIST] [--timeout S]
# Environment: ROUNDS (3), SECONDS (5 s of traffic per run), JOBS (all eight:
# tx-64-1q tx-1472-1q rx-64-1q rx-1472-1q tx-64-2q tx-1472-2q rx-64-2q rx-1472-2q),
# TIMEOUT (SECONDS+60 per run), MEM (256 MiB), VCPUS (both VMMs; default: one per queue pair),
# SUBNET (a free 172.30.X: picked),
# plus BUILD/RINGVISOR/GUEST_ELF/QEMU from bench/lib.sh.
# Exit status: 0 if every run passed, 1 if any run failed, 2 if the bench could not start.
set -u
DUR=$(printenv SECONDS)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3} DUR=${DUR:-5} MEM=${MEM:-256} TIMEOUT=${TIMEOUT:-} VCPUS=${VCPUS:-}
ALL_JOBS="tx-64-1q tx-1472-1q rx-64-1q rx-1472-1q tx-64-2q tx-1472-2q rx-64-2q rx-1472-2q"
JOBS=${JOBS:-$ALL_JOBS}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) DUR=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) bench_die "unknown argument: $1 (try --help)" ;;
	esac
done
for v in ROUNDS DUR MEM ${VCPUS:+VCPUS}; do
	case ${!v} in ''|*[!0-9]*|0) bench_die "${v/DUR/SECONDS} must be a positive whole number" ;; esac
done
TIMEOUT=${TIMEOUT:-$((DUR + 60))}
JOBS=$(tr ',' ' ' <<<"$JOBS")
job_params() { # NAME -> DIR SIZE PAIRS
	case $1 in
	tx-64-1q) echo "tx 64 1" ;; tx-1472-1q) echo "tx 1472 1" ;; rx-64-1q) echo "rx 64 1" ;; rx-1472-1q) echo "rx 1472 1" ;;
	tx-64-2q) echo "tx 64 2" ;; tx-1472-2q) echo "tx 1472 2" ;; rx-64-2q) echo "rx 64 2" ;; rx-1472-2q) echo "rx 1472 2" ;;
	*) return 1 ;;
	esac
}
for j in $JOBS; do job_params "$j" >/dev/null || bench_die "unknown job $j (known: $ALL_JOBS)"; done
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] || bench_die "needs root and /dev/net/tun (it makes a TAP)"

bench_build "$BUILD/tests/net_peer" "$BUILD/tests/tap_guest" || bench_die "build failed"
bench_lab
bench_need_qemu
NET_PEER=$ROOT/$BUILD/tests/net_peer TAP_GUEST=$ROOT/$BUILD/tests/tap_guest

TMP=$(mktemp -d /tmp/rv-bench-net.XXXXXX)
TAP=rvbn$$
cleanup() {
	[ -n "${PEER_PID:-}" ] && kill "$PEER_PID" 2>/dev/null
	ip link del "$TAP" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FAILED=0

# A /24 nobody uses, and one multi-queue TAP both VMMs open in turn (same link, same host side).
bench_link
# make_tap PAIRS: the TAP for a run, multi-queue for more than one pair (QEMU opens a
# single-queue TAP without IFF_MULTI_QUEUE, which the kernel refuses on a multi-queue one).
make_tap() { bench_make_tap "$TAP" $([ "$1" -gt 1 ] && echo multi_queue); }
make_tap 1 || bench_die "cannot create and configure TAP $TAP"

echo "== ringvisor net bench: $(date -u +%FT%TZ)" >&2
echo "   host $(uname -r), $(nproc) CPUs, kvm module: $(ls -d /sys/module/kvm_{intel,amd,pvm} 2>/dev/null | sed 's|.*/||' | tr '\n' ' ')" >&2
echo "   ringvisor $(git -C "$ROOT" describe --always --dirty 2>/dev/null), $($QEMU --version | head -n1)" >&2
echo "   TAP $TAP (multi_queue for 2 pairs) $HOST_IP/24, guest $GUEST_IP, ${VCPUS:-one per pair} vCPUs, $DUR s of traffic per run" >&2
[ "$ROUNDS" -ge 3 ] || echo "   NOTE: ROUNDS=$ROUNDS < 3: not the real figures" >&2

# run_one JOB RUNNER ROUND: appends "pps=.. gbps=.. [enter_per_pkt=..]" to $TMP/JOB.RUNNER on success.
run_one() {
	local job=$1 who=$2 round=$3 dir size pairs base cmdline why='' line
	read -r dir size pairs <<<"$(job_params "$job")"
	local vcpus=${VCPUS:-$pairs}
	base=$TMP/$job.$who.$round
	make_tap "$pairs" || bench_die "cannot create TAP $TAP"
	if [ "$dir" = tx ]; then
		cmdline="job=net-tx ip=$GUEST_IP peer=$HOST_IP size=$size pairs=$pairs seconds=$DUR"
		"$NET_PEER" recv --bind "$HOST_IP" --port 9100 --flows "$pairs" --idle-ms 3000 --allow-loss \
			--timeout "$TIMEOUT" >"$base.peer" 2>&1 &
	else
		cmdline="job=net-rx ip=$GUEST_IP peer=$HOST_IP pairs=$pairs ack=0 allow_loss=1 idle_ms=1500 seconds=$TIMEOUT"
		"$NET_PEER" send --bind "$HOST_IP" --port 9300 --to "$GUEST_IP" --dport 9200 --flows "$pairs" --size "$size" \
			--seconds "$DUR" --hello-ms $((TIMEOUT * 1000)) >"$base.peer" 2>&1 &
	fi
	PEER_PID=$!
	if [ "$who" = host ]; then
		CMD=("$TAP_GUEST" "$dir" --tap "$TAP" --ip "$GUEST_IP" --peer "$HOST_IP" --queues "$pairs" --size "$size" --spin "$vcpus")
		if [ "$dir" = tx ]; then CMD+=(--seconds "$DUR"); else CMD+=(--idle-ms 1500 --seconds "$TIMEOUT"); fi
	elif [ "$who" = ringvisor ]; then
		# shellcheck disable=SC2086
		rv_cmd "$vcpus" "$MEM" "$cmdline" --net "tap=$TAP,num_queues=$((2 * pairs))" --log-level info ${RV_ARGS:-}
	else
		local dev="virtio-net-pci,netdev=n0,disable-legacy=on"
		[ "$pairs" -gt 1 ] && dev+=",mq=on,vectors=$((2 * pairs + 2))"
		qemu_cmd "$vcpus" "$MEM" "$cmdline" -cpu host,-arch-capabilities,+invtsc \
			-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=off,queues=$pairs" -device "$dev"
	fi
	timeout -k 5 "$TIMEOUT" "${CMD[@]}" </dev/null >"$base.out" 2>"$base.err"
	local rc=$?
	wait "$PEER_PID" 2>/dev/null
	PEER_PID=
	local res
	res=$(tr -d '\r' <"$base.out" | grep -a -E "^net_$dir " | head -n1)
	if [ $rc = 124 ]; then why="timeout after ${TIMEOUT}s"
	elif [ "$rc" != "$(vmm_pass_rc "$who")" ]; then why="exit status $rc"
	elif [ -z "$res" ]; then why="no net_$dir line"
	fi
	if [ -n "$why" ]; then
		echo "   FAIL $job $who round $round: $why" >&2
		tail -n 3 "$base.out" "$base.err" "$base.peer" 2>/dev/null | sed 's/^/     /' >&2
		echo "$why" >>"$TMP/$job.$who.failed"
		FAILED=$((FAILED + 1))
		return
	fi
	line="pps=$(kv pps <<<"$res") gbps=$(kv gbps <<<"$res")"
	if [ "$who" = ringvisor ]; then
		local enters pkts
		enters=$(grep -oE 'io_uring_enter=[0-9]+' "$base.err" | head -n1 | cut -d= -f2)
		pkts=$(grep -E 'net0: tap=' "$base.err" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(rx|tx)_frames=/) { split($i, a, "="); s += a[2] } } END { print s + 0 }')
		[ -n "$enters" ] && [ "${pkts:-0}" -gt 0 ] && line+=" enter_per_pkt=$(awk -v e="$enters" -v p="$pkts" 'BEGIN { printf "%.4f", e / p }')"
	fi
	echo "$line" >>"$TMP/$job.$who"
	printf '   %-12s %-9s round %d: %s   (host side: %s)\n' "$job" "$who" "$round" "$line" \
		"$(grep -E '^(recv|send) ' "$base.peer" | grep -oE '(frames|pps|lost)=[0-9.]+' | tr '\n' ' ')" >&2
}

for ((r = 0; r < ROUNDS; r++)); do
	for j in $JOBS; do
		case $((r % 3)) in 0) order=(ringvisor qemu host) ;; 1) order=(qemu host ringvisor) ;; *) order=(host ringvisor qemu) ;; esac
		for who in "${order[@]}"; do run_one "$j" "$who" $((r + 1)); done
	done
done

# ---- report ----
# med JOB RUNNER KEY: the median of KEY over the passing runs (one line each in $TMP/JOB.RUNNER).
med() { [ -f "$TMP/$1.$2" ] || return 0; kv_all "$3" <"$TMP/$1.$2" | median; }
nok() { [ -f "$TMP/$1.$2" ] && wc -l <"$TMP/$1.$2" || echo 0; }
RESULTS=()
echo
echo "UDP over virtio-net/TAP: ringvisor vs QEMU (vhost=off) vs host (tap_guest, no VM), guest kit job=net-tx / net-rx,"
echo "median of passing runs. pps, gbps: what the guest sent (tx) or received (rx) per second; a ratio > 1 = ringvisor faster"
echo "enter/pkt: ringvisor's io_uring_enter calls per frame it moved (both directions, whole run)"
printf '%-12s %10s %10s %10s %8s %8s %8s %10s  %s\n' job host_pps rv_pps qemu_pps rv/host rv/qemu rv_gbps enter/pkt ok
for j in $JOBS; do
	hp=$(med "$j" host pps) rp=$(med "$j" ringvisor pps) qp=$(med "$j" qemu pps) rg=$(med "$j" ringvisor gbps)
	re=$(med "$j" ringvisor enter_per_pkt)
	printf '%-12s %10s %10s %10s %8s %8s %8s %10s  host %s rv %s qemu %s\n' "$j" "$(num "$hp")" "$(num "$rp")" \
		"$(num "$qp")" "$(ratio "$rp" "$hp" | sed 's/^$/-/')" "$(ratio "$rp" "$qp" | sed 's/^$/-/')" "$(num "$rg")" \
		"$(num "$re")" "$(nok "$j" host)/$ROUNDS" "$(nok "$j" ringvisor)/$ROUNDS" "$(nok "$j" qemu)/$ROUNDS"
	read -r dir size pairs <<<"$(job_params "$j")"
	for m in pps gbps; do
		h=$(med "$j" host $m) rv=$(med "$j" ringvisor $m) q=$(med "$j" qemu $m)
		[ -n "$h$rv$q" ] || continue
		line="RESULT bench=net job=$j dir=$dir size=$size pairs=$pairs metric=$m"
		[ -n "$h" ] && line+=" host=$(num "$h")"
		[ -n "$rv" ] && line+=" ringvisor=$(num "$rv")"
		[ -n "$q" ] && line+=" qemu=$(num "$q")"
		r=$(ratio "$rv" "$q"); [ -n "$r" ] && line+=" ratio=$r"
		RESULTS+=("$line")
	done
	[ -n "$re" ] && RESULTS+=("RESULT bench=net job=$j dir=$dir size=$size pairs=$pairs metric=io_uring_enter_per_packet ringvisor=$(num "$re")")
done
echo
bench_results "${RESULTS[@]}"
if [ "$FAILED" -gt 0 ]; then
	echo "FAILED runs: $FAILED (excluded from the figures; see the log above)"
	exit 1
fi
