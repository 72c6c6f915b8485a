#!/usr/bin/env bash
# bench/linux.sh — the Linux test image (tests/linux/: Debian's cloud kernel, busybox, fio,
# iperf3) on ringvisor and on QEMU, alternating, with the same kernel, initramfs, disk file,
# TAP, vCPUs and memory: start→/init, fio on the virtio-blk disk (4k randread QD1 and QD32,
# 128k sequential read QD8) and iperf3 TCP both ways over virtio-net. QEMU: virtio-blk-pci
# with aio=io_uring, cache=none and an iothread; virtio-net-pci on the TAP with vhost=off,
# and a third series with vhost=on where /dev/vhost-net exists. See bench/README.md.
#
# Usage: bench/linux.sh [--rounds N] [--seconds S] [--jobs LIST] [--timeout S]
# Environment: ROUNDS (3), SECONDS (5 s per fio job and per iperf3 direction), JOBS (fio
# jobs RW-BS-qdN: randread-4k-qd1,randread-4k-qd32,read-128k-qd8), TIMEOUT (300+10*SECONDS
# s per run), VCPUS (2), MEM (1024 MiB), SIZE_MIB (1024: the disk), DISK_DIR (/var/tmp),
# SUBNET (a free 172.30.X: picked), VHOST (auto: the vhost=on series where it can; off),
# plus BUILD/RINGVISOR/QEMU from bench/lib.sh.
# Exit status: 0 if every run passed, 1 if any run failed, 2 if the bench could not start.
set -u
# SECONDS is bash's own clock: take it from the environment only (see bench/blk.sh).
DUR=$(printenv SECONDS)
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3} DUR=${DUR:-5} VCPUS=${VCPUS:-2} MEM=${MEM:-1024} SIZE_MIB=${SIZE_MIB:-1024}
DISK_DIR=${DISK_DIR:-/var/tmp} TIMEOUT=${TIMEOUT:-} VHOST=${VHOST:-auto}
JOBS=${JOBS:-randread-4k-qd1,randread-4k-qd32,read-128k-qd8}
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=$2; shift 2 ;;
	--seconds) DUR=$2; shift 2 ;;
	--jobs) JOBS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) bench_die "unknown argument: $1 (try --help)" ;;
	esac
done
for v in ROUNDS DUR VCPUS MEM SIZE_MIB; do
	case ${!v} in ''|*[!0-9]*|0) bench_die "${v/DUR/SECONDS} must be a positive whole number" ;; esac
done
TIMEOUT=${TIMEOUT:-$((300 + 10 * DUR))}
case $TIMEOUT in ''|*[!0-9]*|0) bench_die "TIMEOUT must be a positive whole number" ;; esac
case $VHOST in auto|off) ;; *) bench_die "VHOST is auto or off, not '$VHOST'" ;; esac
# The guest's /init takes the list comma-separated and splits each name into fio's
# --rw, --bs and --iodepth; a name it cannot split would only fail inside the guest.
JOBS=$(tr ' ' ',' <<<"$JOBS")
for j in ${JOBS//,/ }; do
	[[ $j =~ ^(rand)?(read|write)-[0-9]+[kKmM]?-qd[0-9]+$ ]] ||
		bench_die "job '$j' is not RW-BS-qdN (e.g. randread-4k-qd1, read-128k-qd8)"
done
[ -n "${JOBS//,/}" ] || bench_die "no fio jobs"
[ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] || bench_die "needs root and /dev/net/tun (it makes a TAP)"

bench_build || bench_die "build failed"
# The image and iperf3 come from the Debian mirror, which the lab's L1 cannot reach: both
# are fetched here, before bench_lab.
BUILD=$BUILD bash "$ROOT/tests/linux/build-image.sh" >&2 ||
	bench_die "tests/linux/build-image.sh failed (see above)"
if ! command -v iperf3 >/dev/null; then
	echo "bench: iperf3 missing, installing it" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y iperf3 >&2 || { apt-get update >&2 && apt-get install -y iperf3 >&2; } ||
		bench_die "cannot install iperf3"
fi
bench_lab
bench_need_qemu
command -v python3 >/dev/null || bench_die "python3 is needed for bench/firstbyte.py"
IMG=$ROOT/$BUILD/linux
[ -s "$IMG/bzImage" ] && [ -s "$IMG/initramfs.cpio.gz" ] || bench_die "no Linux image in $IMG"

TMP=$(mktemp -d /tmp/rv-bench-linux.XXXXXX)
TAP=rvbl$$ DISK=$DISK_DIR/rv-bench-linux.$$.img SERVER_PID=
cleanup() {
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null
	ip link del "$TAP" 2>/dev/null
	rm -rf "$TMP"
	rm -f "$DISK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
FAILED=0

bench_link
# A fresh TAP for every run, made here rather than by ringvisor (which would make it for its
# own runs only), so that both VMMs get the same link, set up the same way.
make_tap() { bench_make_tap "$TAP"; }
make_tap || bench_die "cannot create and configure TAP $TAP"

VMMS=(ringvisor qemu)
if [ "$VHOST" = off ]; then
	VHOST_NOTE="QEMU vhost=on: skipped (VHOST=off)"
else
	why=
	[ -c /dev/vhost-net ] || why=$(modprobe vhost_net 2>&1 | head -n1)
	if [ -c /dev/vhost-net ]; then
		VMMS+=(qemu-vhost)
		VHOST_NOTE="QEMU vhost=on: yes (/dev/vhost-net)"
	else
		VHOST_NOTE="QEMU vhost=on: skipped: no /dev/vhost-net (modprobe vhost_net: ${why:-no error, still no device})"
	fi
fi

echo "== ringvisor Linux guest bench: $(date -u +%FT%TZ)" >&2
echo "   host $(uname -r), $(nproc) CPUs, kvm module: $(ls -d /sys/module/kvm_{intel,amd,pvm} 2>/dev/null |
	sed 's|.*/||' | tr '\n' ' ')" >&2
echo "   ringvisor $(git -C "$ROOT" describe --always --dirty 2>/dev/null), $($QEMU --version | head -n1), $(iperf3 --version | head -n1)" >&2
echo "   $VHOST_NOTE" >&2
[ "$ROUNDS" -ge 3 ] || echo "   NOTE: ROUNDS=$ROUNDS < 3: not the real figures" >&2

echo "-- preparing $DISK ($SIZE_MIB MiB of random data, $(findmnt -no FSTYPE -T "$DISK_DIR" 2>/dev/null | head -n1))" >&2
bench_prealloc "$DISK" "$SIZE_MIB" || bench_die "cannot write $DISK"
odirect_ok "$DISK" || bench_die "O_DIRECT does not work on $DISK (cache=none and direct=on need it)"
sync
# Whichever VMM boots first would otherwise also pay for reading the image into the page
# cache (over 9p in the lab: seconds).
cat "$IMG/bzImage" "$IMG/initramfs.cpio.gz" >/dev/null

CMDLINE="console=ttyS0 io_delay=none panic=-1 rv.job=bench rv.fio=$JOBS rv.secs=$DUR rv.ip=$GUEST_IP rv.peer=$HOST_IP"
MARKER="ringvisor-linux: init reached"

# vmm_cmd WHO CMDLINE: the command line of one run into CMD.
vmm_cmd() {
	local cmdline=$2
	case $1 in
	ringvisor)
		CMD=("$RINGVISOR" --kernel "$IMG/bzImage" --initramfs "$IMG/initramfs.cpio.gz"
			--cmdline "$cmdline" --cpus "boot=$VCPUS" --memory "size=${MEM}M"
			--disk "path=$DISK,direct=on" --net "tap=$TAP" --serial tty)
		;;
	qemu|qemu-vhost)
		# One socket of VCPUS cores, as ringvisor builds it. -cpu host,-arch-capabilities:
		# as qemu_cmd in lib.sh. No isa-debug-exit: Linux powers off through ACPI, after
		# which QEMU exits 0 (and -no-reboot makes a reset do the same).
		CMD=("$QEMU" -accel kvm -cpu "host,-arch-capabilities" -M pc -m "$MEM"
			-smp "$VCPUS,sockets=1,cores=$VCPUS,threads=1" -nographic -no-reboot -monitor none
			-serial stdio -nodefaults
			-kernel "$IMG/bzImage" -initrd "$IMG/initramfs.cpio.gz" -append "$cmdline"
			-object "iothread,id=io0"
			-drive "file=$DISK,if=none,id=d0,format=raw,aio=io_uring,cache=none"
			-device "virtio-blk-pci,drive=d0,iothread=io0,disable-legacy=on"
			-netdev "tap,id=n0,ifname=$TAP,script=no,downscript=no,vhost=$([ "$1" = qemu-vhost ] && echo on || echo off)"
			-device "virtio-net-pci,netdev=n0,disable-legacy=on")
		;;
	esac
}

# run_one WHO ROUND: one boot that runs every fio job and iperf3 both ways. A passing run
# appends "init_s=.. uptime_s=.. iops.JOB=.. p50.JOB=.. p99.JOB=.. tx_mbps=.. rx_mbps=.." to
# $TMP/WHO; a failing one is reported and counted, and none of its figures are used.
run_one() {
	local who=$1 round=$2 base=$TMP/$1.$2 line rc why=() out v j d f
	make_tap || bench_die "cannot create TAP $TAP"
	iperf3 -s -B "$HOST_IP" >"$base.iperf" 2>&1 &
	SERVER_PID=$!
	# The guest needs seconds to boot; this only makes a server that died at once show.
	for _ in $(seq 1 50); do
		ss -Hltn "src $HOST_IP:5201" 2>/dev/null | grep -q . && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.1
	done
	vmm_cmd "$who" "$CMDLINE"
	line=$(python3 "$BENCH_DIR/firstbyte.py" --timeout "$TIMEOUT" --marker "$MARKER" \
		--out "$base.out" --err "$base.err" -- "${CMD[@]}") || why+=("helper failed")
	kill "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=
	out=$(tr -d '\r' <"$base.out" | grep -a '^ringvisor-linux: ' | sed 's/^ringvisor-linux: //')
	rc=$(kv rc <<<"$line")
	if [ "$(kv timeout <<<"$line")" = 1 ]; then why+=("timeout after ${TIMEOUT}s")
	elif [ -n "$rc" ] && [ "$rc" != 0 ]; then why+=("exit status $rc")
	fi
	# first_ms is start → the marker's arrival on the VMM's stdout (COM1).
	v=$(kv first_ms <<<"$line")
	if [ -z "$v" ] || [ "$v" = na ]; then
		why+=("no 'init reached'")
		f=""
	else
		f="init_s=$(awk -v m="$v" 'BEGIN { printf "%.3f", m / 1000 }')"
	fi
	v=$(grep -m1 '^uptime_at_init=' <<<"$out" | cut -d= -f2)
	[[ $v =~ ^[0-9.]+$ ]] && f+=" uptime_s=$v"
	for j in ${JOBS//,/ }; do
		v=$(grep -m1 "^fio job=$j " <<<"$out")
		if [ -z "$v" ]; then why+=("no fio $j line"); continue; fi
		case $v in *" failed:"*) why+=("fio $j ${v#* failed: }"); continue ;; esac
		local iops p50 p99
		iops=$(kv iops <<<"$v") p50=$(kv p50_us <<<"$v") p99=$(kv p99_us <<<"$v")
		if ! [[ $iops =~ ^[0-9]+$ && $iops -gt 0 && $p99 =~ ^[0-9.]+$ ]]; then
			why+=("fio $j: figures missing: $v"); continue
		fi
		f+=" iops.$j=$iops p99.$j=$p99"
		[[ $p50 =~ ^[0-9.]+$ ]] && f+=" p50.$j=$p50"
	done
	for d in tx rx; do
		v=$(grep -m1 "^iperf dir=$d " <<<"$out")
		if [ -z "$v" ]; then why+=("no iperf $d line"); continue; fi
		case $v in *" failed:"*) why+=("iperf $d ${v#* failed: }"); continue ;; esac
		v=$(kv mbps <<<"$v")
		if [[ $v =~ ^[0-9.]+$ ]]; then f+=" ${d}_mbps=$v"; else why+=("iperf $d: no mbps"); fi
	done
	[ "$who" = ringvisor ] &&
		grep -a -E ' (error|warn|warning):' "$base.err" | head -n 3 | sed "s/^/      $who log: /" >&2
	if [ ${#why[@]} -gt 0 ]; then
		FAILED=$((FAILED + 1))
		echo x >>"$TMP/$who.failed"
		printf -v v '%s; ' "${why[@]}"
		printf '  %s  %-10s FAILED (%s)\n' "$round/$ROUNDS" "$who" "${v%; }" >&2
		tail -n 4 "$base.out" "$base.err" "$base.iperf" 2>/dev/null | tr -d '\r' | cat -v | sed 's/^/      /' >&2
		return
	fi
	echo "$f" >>"$TMP/$who"
	[ -s "$TMP/kernel" ] || grep -m1 '^kernel=' <<<"$out" | cut -d= -f2 >"$TMP/kernel"
	printf '  %s  %-10s init=%ss uptime_at_init=%ss' "$round/$ROUNDS" "$who" "$(kv init_s <<<"$f")" \
		"$(kv uptime_s <<<"$f")" >&2
	for j in ${JOBS//,/ }; do
		printf ' %s=%s/%sus' "$j" "$(kv "iops.$j" <<<"$f")" "$(kv "p99.$j" <<<"$f")" >&2
	done
	printf ' tcp tx=%s rx=%s Mbit/s\n' "$(kv tx_mbps <<<"$f")" "$(kv rx_mbps <<<"$f")" >&2
}

echo "-- $ROUNDS rounds; each: ${VMMS[*]} (the order rotating every round), one boot per run;" \
	"guests: $VCPUS vCPUs, $MEM MiB, disk $DISK, TAP $TAP $HOST_IP/24 (guest $GUEST_IP)" >&2
echo "   per run: fio ${JOBS//,/ } on /dev/vda, ${DUR}s each after 1s ramp; iperf3 TCP tx, rx ${DUR}s each;" \
	"per-run figures: job=iops/p99" >&2
for ((r = 0; r < ROUNDS; r++)); do
	n=${#VMMS[@]}
	order=("${VMMS[@]:r%n}" "${VMMS[@]:0:r%n}")
	for who in "${order[@]}"; do run_one "$who" $((r + 1)); done
done

# ---- report --------------------------------------------------------------------------
# st WHO KEY: "median min max count" of KEY over WHO's passing runs (empty if none).
st() { [ -f "$TMP/$1" ] && kv_all "$2" <"$TMP/$1" | stats; }
nok() { [ -f "$TMP/$1" ] && wc -l <"$TMP/$1" || echo 0; }
nfail() { [ -f "$TMP/$1.failed" ] && wc -l <"$TMP/$1.failed" || echo 0; }
HAVE_VHOST=0
[[ " ${VMMS[*]} " == *" qemu-vhost "* ]] && HAVE_VHOST=1
RESULTS=()
fmt() { awk '{ if ($4) printf "%s [%s..%s]", $1, $2, $3; else printf "-" }' <<<"$1"; }
# figure LABEL KEY FIELDS: one table row and one RESULT line.
figure() {
	local label=$1 key=$2 fields=$3 rs qs vs r q v rq rv line
	rs=$(st ringvisor "$key") qs=$(st qemu "$key") vs=$(st qemu-vhost "$key")
	r=${rs%% *} q=${qs%% *} v=${vs%% *}
	[ -n "$rs$qs$vs" ] || return 0
	printf '%-28s %-30s %-30s' "$label" "$(fmt "$rs")" "$(fmt "$qs")"
	[ $HAVE_VHOST = 1 ] && printf ' %-30s' "$(fmt "$vs")"
	rq=$(ratio "$r" "$q") rv=$(ratio "$r" "$v")
	printf ' %8s' "${rq:--}"
	[ $HAVE_VHOST = 1 ] && printf ' %8s' "${rv:--}"
	echo
	line="RESULT bench=linux $fields vcpus=$VCPUS"
	[ -n "$r" ] && line+=" ringvisor=$(num "$r")"
	[ -n "$q" ] && line+=" qemu=$(num "$q")"
	[ -n "$v" ] && line+=" qemu_vhost=$(num "$v")"
	[ -n "$rq" ] && line+=" ratio=$rq"
	[ -n "$rv" ] && line+=" ratio_vhost=$rv"
	RESULTS+=("$line")
}

echo
echo "Linux guest ($(cat "$TMP/kernel" 2>/dev/null || echo '?'), tests/linux image): ringvisor vs QEMU" \
	"(virtio-blk-pci aio=io_uring cache=none iothread; virtio-net-pci TAP vhost=off$([ $HAVE_VHOST = 1 ] && echo ', and vhost=on'))"
echo "median [min..max] over passing runs; rv/qemu = ringvisor / QEMU medians: for times and latency"
echo "< 1 = ringvisor better, for iops and Mbit/s > 1 = ringvisor better. $VHOST_NOTE"
printf '%-28s %-30s %-30s' figure ringvisor "qemu (vhost=off)"
[ $HAVE_VHOST = 1 ] && printf ' %-30s' "qemu (vhost=on)"
printf ' %8s' rv/qemu
[ $HAVE_VHOST = 1 ] && printf ' %8s' rv/vhost
echo
figure "start->/init s" init_s "job=boot metric=start_to_init_s"
figure "uptime at /init s" uptime_s "job=boot metric=uptime_at_init_s"
for j in ${JOBS//,/ }; do
	figure "$j iops" "iops.$j" "job=$j metric=iops"
	figure "$j p50 us" "p50.$j" "job=$j metric=p50_us"
	figure "$j p99 us" "p99.$j" "job=$j metric=p99_us"
done
figure "iperf3 TCP tx Mbit/s" tx_mbps "job=iperf-tcp dir=tx metric=mbps"
figure "iperf3 TCP rx Mbit/s" rx_mbps "job=iperf-tcp dir=rx metric=mbps"
printf 'ok/fail runs:'
for who in "${VMMS[@]}"; do printf ' %s %s/%s' "$who" "$(nok "$who")" "$(nfail "$who")"; done
echo
echo
bench_results "${RESULTS[@]}"
if [ "$FAILED" -gt 0 ]; then
	echo "FAILED runs: $FAILED (excluded from the figures; see the log above)"
	exit 1
fi
