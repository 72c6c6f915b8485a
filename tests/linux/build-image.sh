#!/usr/bin/env bash
# Builds the Linux test image from Debian packages, into build/linux/ (see tests/linux/README.md):
#   build/linux/bzImage            Debian's cloud kernel (the vmlinuz of linux-image-*-cloud-amd64)
#   build/linux/vmlinux            the ELF inside the bzImage (LZ4 payload), with the Xen PVH entry note
#   build/linux/initramfs.cpio.gz  busybox-static + fio + iperf3 + ethtool (+ their shared libraries)
#                                  + the virtio modules, and tests/linux/init as /init
# Idempotent: when the outputs exist and were built by this version of the script, it does
# nothing (no network). --refresh rebuilds (and picks up a newer kernel package).
# Never installs the kernel: the .deb is unpacked with dpkg-deb -x into build/linux/.
#   tests/linux/build-image.sh [--refresh]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
OUT=$PWD/$BUILD/linux
DEBS=$OUT/debs          # downloaded .debs (cache)
KROOT=$OUT/kernel       # the kernel package, unpacked
PKGROOT=$OUT/pkgs       # the userspace packages, unpacked (busybox, fio, iperf3, libraries)
ROOT=$OUT/initramfs     # the initramfs tree
STAMP=$OUT/.stamp
SELF_SUM=$(cat tests/linux/build-image.sh tests/linux/init tests/debian.sh | sha256sum | cut -d' ' -f1)

# The virtio modules /init loads (module names; dashes and underscores are the same to the kernel).
WANT_MODULES=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio
	virtio_blk failover net_failover virtio_net virtio_console virtio_rng button evdev)
USER_PKGS=(busybox-static fio iperf3 ethtool)
# The programs taken from those packages (besides busybox), each with its shared libraries.
TOOLS=(fio iperf3 ethtool)

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: error: $*" >&2; exit 1; }

refresh=0
[ "${1:-}" = --refresh ] && refresh=1
# Several Linux tests may ask for the image at once (tests/run.sh runs two in parallel): one
# builds it, the others wait here and then find it up to date.
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if [ $refresh = 0 ] && [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$SELF_SUM" ] &&
	[ -s "$OUT/bzImage" ] && [ -s "$OUT/vmlinux" ] && [ -s "$OUT/initramfs.cpio.gz" ]; then
	log "up to date in $OUT ($(sed -n 2p "$STAMP")); --refresh rebuilds"
	exit 0
fi
t_start=$SECONDS

# --- the tools this script needs (Debian packages), installed only when missing ---
export PATH=$PATH:/usr/sbin:/sbin
need=()
for pair in lz4:lz4 cpio:cpio readelf:binutils depmod:kmod xz:xz-utils gzip:gzip od:coreutils \
	ldd:libc-bin ldconfig:libc-bin dpkg-deb:dpkg apt-get:apt; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing tools (packages: ${need[*]}); run as root or install them"
	log "installing: ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# shellcheck source=tests/debian.sh
source tests/debian.sh

# --- 1. the kernel: resolve the metapackage to the real package and unpack it ---
t0=$SECONDS
deb_kernel linux-image-cloud-amd64 '^linux-image-[0-9].*-cloud-amd64$' "$KROOT"
kpkg=$KPKG kdeb=$KDEB kver=$KVER
log "kernel package: $kpkg ($(basename "$kdeb"), $(du -h "$kdeb" | cut -f1))"
vmlinuz=$KROOT/boot/vmlinuz-$kver
kconfig=$KROOT/boot/config-$kver
cp -f "$vmlinuz" "$OUT/bzImage"
log "kernel $kver: download+unpack $((SECONDS - t0)) s"

# --- 2. vmlinux: the LZ4 payload of the bzImage ---
t0=$SECONDS
byte_at() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32_at() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
[ "$(dd if="$OUT/bzImage" bs=1 skip=$((0x202)) count=4 2>/dev/null)" = HdrS ] || die "bzImage has no HdrS setup header"
setup_sects=$(byte_at "$OUT/bzImage" $((0x1f1)))
[ "$setup_sects" = 0 ] && setup_sects=4
payload_off=$(( (setup_sects + 1) * 512 + $(u32_at "$OUT/bzImage" $((0x248))) ))
payload_len=$(u32_at "$OUT/bzImage" $((0x24c)))
magic=$(od -An -tx1 -j "$payload_off" -N4 "$OUT/bzImage" | tr -d ' ')
if [ "$magic" != 02214c18 ]; then
	# Not where the header says: find the LZ4 legacy-frame magic by scanning.
	payload_off=$(grep -obUaP '\x02\x21\x4c\x18' "$OUT/bzImage" | head -n1 | cut -d: -f1)
	[ -n "$payload_off" ] || die "no LZ4 payload in the bzImage (CONFIG_KERNEL_LZ4: $(grep -c '^CONFIG_KERNEL_LZ4=y' "$kconfig"))"
	payload_len=$(( $(stat -c %s "$OUT/bzImage") - payload_off ))
	log "payload found by its magic at $payload_off"
fi
# The payload is an LZ4 legacy frame followed by the 4-byte decompressed size.
want_size=$(u32_at "$OUT/bzImage" $((payload_off + payload_len - 4)))
dd if="$OUT/bzImage" iflag=skip_bytes,count_bytes skip="$payload_off" count=$((payload_len - 4)) bs=1M status=none | lz4 -dc >"$OUT/vmlinux.tmp" ||
	die "lz4 could not decompress the bzImage payload"
got_size=$(stat -c %s "$OUT/vmlinux.tmp")
[ "$got_size" = "$want_size" ] || log "warning: vmlinux is $got_size bytes, the bzImage says $want_size"
[ "$(od -An -tx1 -N4 "$OUT/vmlinux.tmp" | tr -d ' ')" = 7f454c46 ] || die "the decompressed payload is not an ELF"
pvh_note=$(readelf -n "$OUT/vmlinux.tmp" | awk '/Xen/ && /0x00000012/ {getline; print; exit}')
[ -n "$pvh_note" ] || die "vmlinux has no Xen PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY, type 0x12)"
pvh_entry=$(echo "$pvh_note" | sed 's/.*data: //' | awk '{ for (i = 4; i >= 1; i--) printf "%s", $i }')
mv -f "$OUT/vmlinux.tmp" "$OUT/vmlinux"
log "vmlinux: ELF, PVH entry 0x$pvh_entry; extracted in $((SECONDS - t0)) s"

# --- 4. userspace: busybox-static, fio, iperf3 and the library packages the host lacks ---
t0=$SECONDS
rm -rf "$PKGROOT" "$ROOT"
mkdir -p "$PKGROOT"
declare -A done_pkg=()
extracted=()
queue=("${USER_PKGS[@]}")
while [ ${#queue[@]} -gt 0 ]; do
	p=${queue[0]}; queue=("${queue[@]:1}")
	[ -n "${done_pkg[$p]:-}" ] && continue
	done_pkg[$p]=1
	f=$(deb_get "$p")
	dpkg-deb -x "$f" "$PKGROOT"
	extracted+=("$p")
	for d in $(deb_depends "$f"); do
		# Follow library packages only (not python3, debconf, adduser, ...); a library the
		# host has installed is copied from the host (same Debian package).
		case $d in lib*) ;; *) continue ;; esac
		[ -n "${done_pkg[$d]:-}" ] && continue
		if deb_host_has "$d"; then done_pkg[$d]=host; continue; fi
		queue+=("$d")
	done
done
log "unpacked: ${extracted[*]} ($((SECONDS - t0)) s)"

mkdir -p "$ROOT"/{usr/bin,usr/sbin,usr/lib/x86_64-linux-gnu,usr/lib64,etc,proc,sys,dev,tmp,run,root,mnt}
ln -s usr/bin "$ROOT/bin"; ln -s usr/sbin "$ROOT/sbin"; ln -s usr/lib "$ROOT/lib"; ln -s usr/lib64 "$ROOT/lib64"
bb=$PKGROOT/bin/busybox
[ -x "$bb" ] || bb=$PKGROOT/usr/bin/busybox
[ -x "$bb" ] || die "busybox-static has no busybox binary"
cp "$bb" "$ROOT/usr/bin/busybox"
for a in $("$bb" --list-full); do
	[ -e "$ROOT/$a" ] || [ -L "$ROOT/$a" ] || ln -s /usr/bin/busybox "$ROOT/$a"
done
for b in "${TOOLS[@]}"; do
	src=
	for d in usr/bin usr/sbin bin sbin; do [ -x "$PKGROOT/$d/$b" ] && { src=$PKGROOT/$d/$b; break; }; done
	[ -n "$src" ] || die "$b is not in its package"
	cp "$src" "$ROOT/usr/bin/$b"
done

# Shared libraries, by ldd: from the unpacked packages first, else from the host when the
# Debian package that owns the file is installed there.
libpath=$(find "$PKGROOT" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
host_owner() { # the installed Debian package that owns a host file (usrmerge: try both paths)
	local f=$1 c x o
	c=$(readlink -f "$f")
	for x in "$f" "$c" "${c/#\/usr\/lib\//\/lib\/}" "${f/#\/lib\//\/usr\/lib\/}"; do
		o=$(dpkg -S "$x" 2>/dev/null | sed -n '1s/:.*//p') || true
		[ -n "$o" ] && { echo "$o"; return 0; }
	done
	return 1
}
n_host=0 n_pkg=0
declare -A have_lib=()
copy_lib() { # SONAME-path as ldd printed it
	local src=$1 dst
	case $src in
	"$PKGROOT"/*) dst=${src#"$PKGROOT"}; n_pkg=$((n_pkg + 1)) ;;
	*) host_owner "$src" >/dev/null || die "$src (needed by ${TOOLS[*]}) belongs to no installed Debian package"
	   dst=$src; n_host=$((n_host + 1)) ;;
	esac
	dst=${dst/#\/lib\//\/usr\/lib\/}
	dst=${dst/#\/lib64\//\/usr\/lib64\/}
	mkdir -p "$ROOT$(dirname "$dst")"
	cp -L "$src" "$ROOT$dst"
}
missing=$(for b in "${TOOLS[@]}"; do LD_LIBRARY_PATH=$libpath ldd "$ROOT/usr/bin/$b"; done | grep 'not found' | sort -u || true)
[ -z "$missing" ] || die "libraries not found for ${TOOLS[*]} (neither unpacked nor on the host): $(echo "$missing" | awk '{print $1}' | tr '\n' ' ')"
for src in $(for b in "${TOOLS[@]}"; do LD_LIBRARY_PATH=$libpath ldd "$ROOT/usr/bin/$b"; done |
	awk '/=> \// {print $3} /^\t\/[^ ]*ld-linux/ {print $1}' | sort -u); do
	[ -n "${have_lib[$src]:-}" ] && continue
	have_lib[$src]=1
	copy_lib "$src"
done
# The loader finds the libraries through an ld.so.cache of the tree.
printf '%s\n' /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/ceph /usr/local/lib >"$ROOT/etc/ld.so.conf"
ldconfig -r "$ROOT" 2>/dev/null || true
# Check the binaries really run from the tree (same architecture as the host).
for b in "fio --version" "iperf3 --version" "ethtool --version"; do
	v=$(chroot "$ROOT" /usr/bin/$b 2>&1 | head -n1) || die "$b fails inside the initramfs tree: $v"
	log "runs in the tree: $v"
done

# Modules: dependencies first, decompressed, flat in /lib/modules/<ver>.
deb_modules "$ROOT/usr/lib/modules/$kver" "${WANT_MODULES[@]}" >"$ROOT/etc/rv-modules"
echo "$kver" >"$ROOT/etc/rv-kernel"

install -m 755 tests/linux/init "$ROOT/init"

(cd "$ROOT" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 | gzip -n -6 >"$OUT/initramfs.cpio.gz.tmp")
mv -f "$OUT/initramfs.cpio.gz.tmp" "$OUT/initramfs.cpio.gz"
log "initramfs: $n_pkg libraries from packages, $n_host from the host; built in $((SECONDS - t0)) s"

mods_m=$(grep -E '^CONFIG_(VIRTIO|VIRTIO_PCI|VIRTIO_PCI_LIB|VIRTIO_PCI_LIB_LEGACY|VIRTIO_MMIO|VIRTIO_BLK|VIRTIO_NET|VIRTIO_CONSOLE|HW_RANDOM_VIRTIO|FAILOVER|NET_FAILOVER)=' "$kconfig" | tr '\n' ' ')
{
	echo "$SELF_SUM"
	echo "$kpkg $kver"
} >"$STAMP"
echo "built in $OUT ($((SECONDS - t_start)) s):"
printf '  %-20s %8s  %s\n' bzImage "$(du -h "$OUT/bzImage" | cut -f1)" "$kpkg ($kver), from $(basename "$kdeb")"
printf '  %-20s %8s  %s\n' vmlinux "$(du -h "$OUT/vmlinux" | cut -f1)" "ELF with the PVH note, entry 0x$pvh_entry"
printf '  %-20s %8s  %s\n' initramfs.cpio.gz "$(du -h "$OUT/initramfs.cpio.gz" | cut -f1)" \
	"$(du -sh "$ROOT" | cut -f1) unpacked: busybox, ${TOOLS[*]}, $((n_pkg + n_host)) libraries"
echo "  modules (insmod order): $(tr '\n' ' ' <"$ROOT/etc/rv-modules")"
echo "  config: $mods_m"
