#!/usr/bin/env bash
# The main job (`make demo`): boot the guest kit on ringvisor with 2 vCPUs and 256 MiB
# and show what it reports: the machine it found, every vCPU running, exit costs.
# Where the host has hardware virtualization, also boot Linux to its /init.
set -u
cd "$(dirname "$0")/.."
RV=build/ringvisor
KIT=build/guest/guest.elf

run() { # title, ringvisor args...
	local title=$1; shift
	echo
	echo "=== $title"
	echo "\$ $RV $*"
	"$RV" "$@" </dev/null
	local rc=$?
	echo "--- ringvisor exited with status $rc"
	return $rc
}

status=0
run "guest kit: boot (the machine as the guest sees it)" \
	--kernel "$KIT" --cpus boot=2 --memory size=256M --cmdline "job=boot" || status=1
run "guest kit: smp (every vCPU runs a CPL3 loop and checks in)" \
	--kernel "$KIT" --cpus boot=2 --memory size=256M --cmdline "job=smp" || status=1
run "guest kit: exits (port writes/reads handled by ringvisor vs inside KVM)" \
	--kernel "$KIT" --cpus boot=2 --memory size=256M --cmdline "job=exits n=20000" || status=1

echo
if [ -d /sys/module/kvm_pvm ]; then
	echo "=== Linux: not booted fully here"
	echo "/dev/kvm on this host is kvm_pvm (software virtualization): guest CPL0 code is emulated and"
	echo "stock Linux stops at its first instruction the emulator cannot run. 'make test' checks how far"
	echo "Linux gets here (banner, e820 map, command line); on a host with VMX/SVM this demo boots it"
	echo "to /init with: bash tests/linux/build-image.sh && build/ringvisor --kernel build/linux/bzImage \\"
	echo "  --initramfs build/linux/initramfs.cpio.gz --cmdline 'console=ttyS0' --cpus boot=2 --memory size=512M"
elif [ -x tests/linux/build-image.sh ] || [ -f tests/linux/build-image.sh ]; then
	bash tests/linux/build-image.sh || status=1
	run "Linux: Debian's cloud kernel to /init" --kernel build/linux/bzImage \
		--initramfs build/linux/initramfs.cpio.gz --cmdline "console=ttyS0 io_delay=none" \
		--cpus boot=2 --memory size=512M || status=1
fi
[ $status -eq 0 ] && echo "demo: all runs passed" || echo "demo: a run failed (see above)"
exit $status
