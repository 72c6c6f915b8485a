#!/usr/bin/env bash
# Builds the KVM lab's L1 image into build/lab/ (see tests/lab/README.md), from Debian packages:
#   build/lab/bzImage             Debian's generic 6.12 kernel (linux-image-6.12-amd64's package)
#   build/lab/initramfs.cpio.gz   busybox-static, the modules the L1 needs, and tests/lab/init
# Idempotent and cached: when both exist and were built from the same inputs (this script,
# the init, the module list), it does nothing and needs no network. Several labs may start at
# once: one builds, the others wait on the lock and then find it done.
#   tests/lab/build.sh [--refresh]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
OUT=$PWD/$BUILD/lab
DEBS=$OUT/debs
KROOT=$OUT/kernel
ROOT=$OUT/initramfs
STAMP=$OUT/.stamp

# The L1's modules, loaded by /init in this order (dependencies are added before each):
# 9p carries the host's root; kvm-amd is the point (nested SVM with NPT); tun for the TAP
# tests; virtio_blk and ext4 (with the crc32c it asks for) for the scratch disk at /var/tmp;
# loop, dm-flakey and dm-error for fault injection; vfio-pci for passthrough tests; vhost-net
# for QEMU's vhost=on series in bench/linux.sh.
LAB_MODULES=(9pnet_virtio 9p kvm_amd tun crc32c_generic crc32c_intel virtio_blk ext4 loop dm_flakey
	vfio_pci vfio_iommu_type1 vhost_net)
# The L1 kernel: 6.12 has O_DIRECT on tmpfs (6.1 has not: every tmpfs disk test would fail).
LAB_KERNEL_META=${LAB_KERNEL_META:-linux-image-6.12-amd64}

die() { echo "lab build: error: $*" >&2; exit 1; }
log() { echo "lab build: $*" >&2; }
# shellcheck source=tests/debian.sh
source tests/debian.sh

refresh=0
[ "${1:-}" = --refresh ] && refresh=1
inputs_sum=$( (cat "${BASH_SOURCE[0]}" tests/lab/init tests/lab/hold.c tests/debian.sh; echo "${LAB_MODULES[*]} $LAB_KERNEL_META") |
	sha256sum | cut -d' ' -f1)
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ $refresh = 0 ] && [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$inputs_sum" ] &&
	[ -s "$OUT/bzImage" ] && [ -s "$OUT/initramfs.cpio.gz" ]; then
	exit 0
fi
t0=$SECONDS

export PATH=$PATH:/usr/sbin:/sbin
need=()
for pair in cpio:cpio depmod:kmod xz:xz-utils gzip:gzip dpkg-deb:dpkg apt-get:apt busybox:busybox-static gcc:gcc; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# busybox must be the static one: the initramfs has no libraries.
deb_host_has busybox-static || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing tools (packages: ${need[*]}); run as root or install them"
	log "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

deb_kernel "$LAB_KERNEL_META" '^linux-image-[0-9].*-amd64$' "$KROOT"
log "kernel package: $KPKG ($KVER)"

rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,sbin,etc,proc,sys,dev,mnt/host,lib/modules}
deb_modules "$ROOT/lib/modules" "${LAB_MODULES[@]}" >"$ROOT/etc/lab-modules"
bb=$(command -v busybox)
file_is_static=$(ldd "$bb" 2>&1 || true)
case $file_is_static in *"not a dynamic executable"*) ;; *) die "$bb is not static (package busybox-static)" ;; esac
cp "$bb" "$ROOT/bin/busybox"
for a in $("$bb" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$ROOT/bin/$a"
done
gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -o "$ROOT/bin/lab-hold" tests/lab/hold.c ||
	die "cannot build tests/lab/hold.c statically (gcc, libc6-dev)"
cp tests/lab/init "$ROOT/init"
chmod 755 "$ROOT/init"
echo "$KVER" >"$ROOT/etc/lab-kernel"
(cd "$ROOT" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -n -6 >"$OUT/initramfs.cpio.gz.tmp")
mv -f "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
cp -f "$KROOT/boot/vmlinuz-$KVER" "$OUT/bzImage"
printf '%s\n%s %s\n' "$inputs_sum" "$KPKG" "$KVER" >"$STAMP"
log "built $OUT in $((SECONDS - t0)) s: $KPKG, modules: $(tr '\n' ' ' <"$ROOT/etc/lab-modules")"
