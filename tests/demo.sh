#!/usr/bin/env bash
# The main job (`make demo`): boot the guest kit on ringvisor with 2 vCPUs and 256 MiB
# and show what it reports: the machine it found, every vCPU running, exit costs, the ACPI
# tables and a two-node NUMA topology as the guest reads them, and two disks verified.
# Where the host has hardware virtualization, also boot Linux to its /init.
set -u
cd "$(dirname "$0")/.."
RV=build/ringvisor

# Without hardware virtualization here, the demo runs in the KVM lab (tests/lab/): an L1
# Linux under QEMU TCG with nested SVM, where /dev/kvm is real. The Linux image is built
# here first (the L1 has no network).
if why=$(bash tests/lab/need); then
	echo "$why: the demo runs in the KVM lab (QEMU TCG with SVM; about 2 minutes; see tests/lab/README.md)"
	bash tests/linux/build-image.sh || echo "warning: the Linux image could not be built; its run will fail"
	exec bash tests/lab/run -- bash tests/demo.sh
fi
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
run "guest kit: acpi-info (RSDP, XSDT, FADT, MADT as an OS reads them)" \
	--kernel "$KIT" --cpus boot=2 --memory size=256M --cmdline "job=acpi-info" || status=1
run "guest kit: numa-info (two guest NUMA nodes from two memory zones: SRAT and SLIT)" \
	--kernel "$KIT" --cpus boot=2 --memory size=0 --memory-zone id=a,size=128M --memory-zone id=b,size=128M \
	--numa "guest_numa_id=0,cpus=[0],memory_zones=[a],distances=[1@20]" \
	--numa "guest_numa_id=1,cpus=[1],memory_zones=[b]" --cmdline "job=numa-info" || status=1
disks=$(mktemp -d /tmp/rv-demo.XXXXXX)
truncate -s 16M "$disks/pci.img" "$disks/mmio.img"
run "guest kit: blk-verify (a virtio-blk disk over PCI and one over MMIO, every byte checked)" \
	--kernel "$KIT" --cpus boot=2 --memory size=256M --disk "path=$disks/pci.img" \
	--disk "path=$disks/mmio.img,transport=mmio" --cmdline "job=blk-verify" || status=1
rm -rf "$disks"

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
