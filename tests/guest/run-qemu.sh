#!/bin/sh
# run-qemu.sh — boots the guest kit under QEMU (same binary ringvisor boots).
# Usage: tests/guest/run-qemu.sh [-m MEM] [-smp N] [-t SECONDS] [-disk FILE[:OPTS]]...
#                                [-qemu ARG]... [cmdline...]
#   e.g. tests/guest/run-qemu.sh -smp 2 job=smp
#        tests/guest/run-qemu.sh -disk /tmp/d1.img:num-queues=2 job=blk-verify
# -disk adds a raw image as a modern-only virtio-blk-pci device (serial diskN,
# cache=none, aio=io_uring); OPTS (comma-separated) are appended to -device,
# e.g. num-queues=2,iothread=io1 (with -qemu -object -qemu iothread,id=io1).
# -qemu passes one argument through to QEMU.
# Prints the guest's COM1 output; exits 0 on result=pass (QEMU status 1,
# i.e. guest code 0), 1 on a guest failure, other codes for QEMU problems.
# -cpu host,-arch-capabilities: QEMU dies on plain -cpu host under kvm_pvm.
set -u
ELF=${GUEST_ELF:-build/guest/guest.elf}
MEM=256 SMP=1 TMO=60 NDISK=0
EXTRA=
while [ $# -gt 0 ]; do
	case $1 in
	-disk)
		NDISK=$((NDISK + 1))
		f=${2%%:*} o=
		case $2 in *:*) o=,${2#*:} ;; esac
		EXTRA="$EXTRA -drive file=$f,if=none,id=d$NDISK,format=raw,cache=none,aio=io_uring"
		EXTRA="$EXTRA -device virtio-blk-pci,drive=d$NDISK,disable-legacy=on,serial=disk$NDISK$o"
		shift 2 ;;
	-qemu) EXTRA="$EXTRA $2"; shift 2 ;;
	-m) MEM=$2; shift 2 ;;
	-smp) SMP=$2; shift 2 ;;
	-t) TMO=$2; shift 2 ;;
	*) break ;;
	esac
done
# A plain CPU count becomes one socket per CPU: SeaBIOS lists only the first
# logical CPU of each package in its MP table, so -smp 2 (= 2 cores in one
# socket) would show a single CPU to the guest.
case $SMP in
*[!0-9]*) ;;
*) SMP="$SMP,sockets=$SMP,cores=1,threads=1" ;;
esac
ACCEL="-enable-kvm -cpu host,-arch-capabilities"
[ -w /dev/kvm ] || ACCEL="-accel tcg -cpu max"
timeout "$TMO" qemu-system-x86_64 $ACCEL -M pc -m "$MEM" -smp "$SMP" \
	-nographic -no-reboot -monitor none -serial stdio -nodefaults \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	$EXTRA -kernel "$ELF" -append "$*"
rc=$?
case $rc in
1) exit 0 ;;           # guest wrote 0 to 0xf4
3) exit 1 ;;           # guest wrote 1 (fail)
*) echo "run-qemu: qemu exit status $rc" >&2; exit $rc ;;
esac
