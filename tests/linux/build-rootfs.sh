#!/usr/bin/env bash
# Builds build/linux/rootfs.ext4: a Debian bookworm root file system (debootstrap, minbase
# variant, with fio and iperf3) on a raw ext4 image, booted with root=/dev/vda the way users
# boot cloud images with direct kernel boot: the test image's initramfs (build-image.sh)
# loads virtio_blk, mounts it and hands over to /sbin/rv-init (tests/linux/rootfs-init).
# Idempotent: when the image exists and was built by this version of the script and of
# rv-init it does nothing (no network). --refresh rebuilds.
#   tests/linux/build-rootfs.sh [--refresh]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
OUT=$PWD/$BUILD/linux
IMG=$OUT/rootfs.ext4
STAMP=$OUT/.rootfs-stamp
SUITE=bookworm
SELF_SUM=$(cat tests/linux/build-rootfs.sh tests/linux/rootfs-init | sha256sum | cut -d' ' -f1)

log() { echo "build-rootfs: $*" >&2; }
die() { echo "build-rootfs: error: $*" >&2; exit 1; }

mkdir -p "$OUT"
exec 9>"$OUT/.rootfs-lock"
flock 9
if [ "${1:-}" != --refresh ] && [ -s "$IMG" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$SELF_SUM" ]; then
	log "up to date: $IMG; --refresh rebuilds"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || die "debootstrap needs root"
export PATH=$PATH:/usr/sbin:/sbin
need=()
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
if [ ${#need[@]} -gt 0 ]; then
	log "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# The mirror apt uses here (the only one reachable on our machines).
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '/^deb / && $3 == "'$SUITE'" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
mirror=${mirror:-http://deb.debian.org/debian}

t0=$SECONDS
tree=$OUT/rootfs.tree
rm -rf "$tree"
log "debootstrap $SUITE (minbase, fio, iperf3) from $mirror"
debootstrap --variant=minbase --include=fio,iperf3 "$SUITE" "$tree" "$mirror" >"$OUT/debootstrap.log" 2>&1 ||
	die "debootstrap failed: $(tail -n3 "$OUT/debootstrap.log" | tr '\n' ' ')"
install -m 755 tests/linux/rootfs-init "$tree/sbin/rv-init"
echo ringvisor-root >"$tree/etc/hostname"
rm -rf "$tree"/var/cache/apt/archives/*.deb "$tree"/var/lib/apt/lists/*
mkdir -p "$tree/var/lib/ringvisor"
# Room for the tests to write, over what the tree takes.
mb=$(( $(du -sm "$tree" | cut -f1) + 256 ))
rm -f "$IMG.tmp"
mkfs.ext4 -q -F -L rvroot -d "$tree" "$IMG.tmp" "${mb}M" || die "mkfs.ext4 -d failed"
mv -f "$IMG.tmp" "$IMG"
rm -rf "$tree"
echo "$SELF_SUM" >"$STAMP"
log "built $IMG: ${mb} MiB ext4, $(du -h "$IMG" | cut -f1) allocated, in $((SECONDS - t0)) s"
