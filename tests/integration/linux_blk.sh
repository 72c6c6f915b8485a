#!/usr/bin/env bash
# Linux's own virtio-blk driver on a ringvisor disk: fio writes with crc32c checksums,
# reads back and verifies. Needs a host that can boot Linux (VMX/SVM).
source "$(dirname "$0")/lib.sh"

if host_is_pvm; then
	skip linux_fio_verify "/dev/kvm is kvm_pvm (software virtualization): stock Linux cannot boot here; runs on hosts with VMX/SVM"
	exit 0
fi
if ! bash tests/linux/build-image.sh >"$TMP/build.log" 2>&1; then
	fail linux_fio_verify "tests/linux/build-image.sh failed: $(tail -n1 "$TMP/build.log")"
	exit 0
fi
IMG=$PWD/$BUILD/linux
truncate -s 256M "$TMP/disk.img"
rv_run "$TMP/fio" 600 --kernel "$IMG/bzImage" --initramfs "$IMG/initramfs.cpio.gz" \
	--cmdline "console=ttyS0 io_delay=none panic=-1 rv.job=fio-verify" --cpus boot=2 --memory size=512M \
	--disk path="$TMP/disk.img"
if grep -q '^ringvisor-linux: fio_verify=ok' "$TMP/fio.out"; then
	pass linux_fio_verify
else
	fail linux_fio_verify "$(linux_why "$TMP/fio")"
fi
