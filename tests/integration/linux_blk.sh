#!/usr/bin/env bash
# Linux's own virtio-blk driver on ringvisor disks:
#   linux_fio_verify            fio writes 64 MiB of /dev/vda with crc32c checksums, reads back, verifies
#   linux_disks_pci_mmio_ro     three disks in one guest: PCI with 2 queues (2 hardware queues in
#                               /sys/block/vda/mq), MMIO, PCI read-only; fio verify on the first
#                               two, a refused write on the third (which still reads), then
#                               blkdiscard: the host files' allocated blocks go back to ~0
#   linux_sync_then_sigkill     data written with fsync is in the host file after SIGKILL of the VMM
#   linux_debian_root_disk      a Debian root disk (tests/linux/build-rootfs.sh) boots with
#                               root=/dev/vda, reboots in the same process, and finds on the
#                               disk what its first boot wrote (boots=2); exit 0
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/linux_lib.bash"

linux_image_ready linux_fio_verify linux_disks_pci_mmio_ro linux_sync_then_sigkill linux_debian_root_disk
T=${LINUX_TIMEOUT:-600}

truncate -s 256M "$TMP/disk.img"
linux_run "$TMP/fio" "$T" bzImage fio-verify "" --cpus boot=2 --memory size=512M --disk path="$TMP/disk.img"
if grep -q '^ringvisor-linux: fio_verify=ok' "$TMP/fio.out"; then
	pass linux_fio_verify
else
	fail linux_fio_verify "$(linux_why "$TMP/fio")"
fi

# --- three disks ---
p=$TMP/disks
for d in a b c; do truncate -s 64M "$p.$d"; done
# The read-only disk has content, which the guest must still read.
printf 'ringvisor' | dd of="$p.c" conv=notrunc 2>/dev/null
linux_run "$p" "$T" bzImage disks rv.mb=32 --cpus boot=2 --memory size=512M \
	--disk path="$p.a",num_queues=2,serial=rv-pci \
	--disk path="$p.b",transport=mmio,serial=rv-mmio \
	--disk path="$p.c",readonly=on,serial=rv-ro
linux_report "$p" | grep -E 'disk'
alloc() { echo $(( $(stat -c %b "$1") * $(stat -c %B "$1") / 1024 )); }
echo "# allocated after the guest's discard: a=$(alloc "$p.a") KiB b=$(alloc "$p.b") KiB"
problems=()
# Linux names the disks in the order it finds them (PCI first, then MMIO): find each by serial.
disk_line() { grep -a -m1 "^ringvisor-linux: disk=vd[a-z]* .* serial=$1 " "$p.out" | tr -d '\r'; }
disk_name() { disk_line "$1" | sed 's/^ringvisor-linux: disk=\([a-z]*\) .*/\1/'; }
[[ $(disk_line rv-pci) == *" ro=0 mq=2 serial=rv-pci via=pci" ]] || problems+=("rv-pci: '$(disk_line rv-pci)', want ro=0 mq=2 via=pci")
[[ $(disk_line rv-mmio) == *" ro=0 mq="*" serial=rv-mmio via=mmio" ]] || problems+=("rv-mmio: '$(disk_line rv-mmio)', want ro=0 via=mmio")
[[ $(disk_line rv-ro) == *" ro=1 mq="*" serial=rv-ro via=pci" ]] || problems+=("rv-ro: '$(disk_line rv-ro)', want ro=1 via=pci")
rw1=$(disk_name rv-pci) rw2=$(disk_name rv-mmio) ro=$(disk_name rv-ro)
for want in "disk_${rw1}_verify=ok" "disk_${rw2}_verify=ok" "disk_${rw1}_discard=ok" "disk_${rw2}_discard=ok" \
	"disk_${ro}=readonly_ok" "disk_${ro}_read=ok"; do
	grep -q "^ringvisor-linux: $want" "$p.out" || problems+=("no $want")
done
for d in a b; do
	[ "$(alloc "$p.$d")" -lt 1024 ] || problems+=("disk $d still has $(alloc "$p.$d") KiB allocated after the discard")
done
[ "$(head -c 9 "$p.c")" = ringvisor ] || problems+=("the read-only disk's file changed")
[ "$(cat "$p.rc")" = 0 ] || problems+=("exit $(cat "$p.rc")")
if [ ${#problems[@]} -eq 0 ]; then
	pass linux_disks_pci_mmio_ro
else
	fail linux_disks_pci_mmio_ro "${problems[*]}; $(linux_why "$p")"
fi

# --- fsync, then SIGKILL ---
p=$TMP/kill
truncate -s 64M "$p.disk"
linux_start "$p" "$T" bzImage sync-kill rv.mb=8 --cpus boot=1 --memory size=512M --disk path="$p.disk"
if [ -n "$VMM" ] && wait_line "$p.out" '^ringvisor-linux: synced ' "$T" "$VMM"; then
	kill -9 "$VMM"
	wait "$RUNNER"
	want=$(grep -a -m1 '^ringvisor-linux: synced ' "$p.out" | tr -d '\r' | sed 's/.*md5=//')
	got=$(head -c 8M "$p.disk" | md5sum | cut -c1-32)
	if [ "$want" = "$got" ] && [ "$(cat "$p.rc")" = 137 ]; then
		pass linux_sync_then_sigkill
	else
		fail linux_sync_then_sigkill "the guest synced md5 $want, the host file has $got (exit $(cat "$p.rc"))"
	fi
else
	[ -n "$VMM" ] && kill -9 "$VMM" 2>/dev/null
	wait "$RUNNER"
	fail linux_sync_then_sigkill "the guest never said it synced: $(linux_why "$p")"
fi

# --- a Debian root disk, booted as a cloud image is, through a reboot ---
p=$TMP/root
if ! bash tests/linux/build-rootfs.sh >"$p.build" 2>&1; then
	fail linux_debian_root_disk "tests/linux/build-rootfs.sh failed: $(grep -m1 'error:' "$p.build" || tail -n1 "$p.build")"
else
	cp --sparse=always "$IMG/rootfs.ext4" "$p.ext4"
	linux_run "$p" "$T" bzImage root-reboot "root=/dev/vda" --cpus boot=2 --memory size=512M --disk path="$p.ext4"
	linux_report "$p" | grep -E 'root|os=|tools|boots|reboot'
	boots=$(PATH=$PATH:/sbin:/usr/sbin debugfs -R 'cat /var/lib/ringvisor/boots' "$p.ext4" 2>/dev/null)
	if [ "$(cat "$p.rc")" = 0 ] && [ "$(grep -c '^ringvisor-linux: rootfs init reached' "$p.out")" = 2 ] &&
		grep -q '^ringvisor-linux: boots=2' "$p.out" && grep -q '^ringvisor-linux: os=debian-12' "$p.out" &&
		grep -q 'rebooting (boot 2)' "$p.err" && [ "$boots" = 2 ]; then
		pass linux_debian_root_disk
	else
		fail linux_debian_root_disk "want two boots from the root disk (boots=2 on it, '$boots' read back), exit 0: $(linux_why "$p")"
	fi
fi
