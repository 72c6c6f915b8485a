#!/usr/bin/env bash
# Builds the Linux test image from Debian packages, into build/linux/ (see tests/linux/README.md):
#   build/linux/bzImage            Debian's cloud kernel (the vmlinuz of linux-image-*-cloud-amd64)
#   build/linux/vmlinux            the ELF inside the bzImage (LZ4 payload), with the Xen PVH entry note
#   build/linux/initramfs.cpio.gz  busybox-static + fio + iperf3 (+ their shared libraries)
#                                  + the virtio modules, and an /init that reports and powers off
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
SELF_SUM=$(cat tests/linux/build-image.sh tests/debian.sh | sha256sum | cut -d' ' -f1)

# The virtio modules /init loads (module names; dashes and underscores are the same to the kernel).
WANT_MODULES=(virtio virtio_ring virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_mmio
	virtio_blk failover net_failover virtio_net virtio_console virtio_rng)
USER_PKGS=(busybox-static fio iperf3)

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
for b in fio iperf3; do
	[ -x "$PKGROOT/usr/bin/$b" ] || die "$b is not in its package"
	cp "$PKGROOT/usr/bin/$b" "$ROOT/usr/bin/$b"
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
	*) host_owner "$src" >/dev/null || die "$src (needed by fio/iperf3) belongs to no installed Debian package"
	   dst=$src; n_host=$((n_host + 1)) ;;
	esac
	dst=${dst/#\/lib\//\/usr\/lib\/}
	dst=${dst/#\/lib64\//\/usr\/lib64\/}
	mkdir -p "$ROOT$(dirname "$dst")"
	cp -L "$src" "$ROOT$dst"
}
missing=$(for b in fio iperf3; do LD_LIBRARY_PATH=$libpath ldd "$ROOT/usr/bin/$b"; done | grep 'not found' | sort -u || true)
[ -z "$missing" ] || die "libraries not found for fio/iperf3 (neither unpacked nor on the host): $(echo "$missing" | awk '{print $1}' | tr '\n' ' ')"
for src in $(for b in fio iperf3; do LD_LIBRARY_PATH=$libpath ldd "$ROOT/usr/bin/$b"; done |
	awk '/=> \// {print $3} /^\t\/[^ ]*ld-linux/ {print $1}' | sort -u); do
	[ -n "${have_lib[$src]:-}" ] && continue
	have_lib[$src]=1
	copy_lib "$src"
done
# The loader finds the libraries through an ld.so.cache of the tree.
printf '%s\n' /usr/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu/ceph /usr/local/lib >"$ROOT/etc/ld.so.conf"
ldconfig -r "$ROOT" 2>/dev/null || true
# Check the binaries really run from the tree (same architecture as the host).
for b in "fio --version" "iperf3 --version"; do
	v=$(chroot "$ROOT" /usr/bin/$b 2>&1 | head -n1) || die "$b fails inside the initramfs tree: $v"
	log "runs in the tree: $v"
done

# Modules: dependencies first, decompressed, flat in /lib/modules/<ver>.
deb_modules "$ROOT/usr/lib/modules/$kver" "${WANT_MODULES[@]}" >"$ROOT/etc/rv-modules"
echo "$kver" >"$ROOT/etc/rv-kernel"

cat >"$ROOT/init" <<'EOF'
#!/bin/sh
# ringvisor Linux test image /init (busybox). Kernel command line:
#   rv.job=poweroff (default)  report and power off
#   rv.job=shell               report, then a shell on the console
#   rv.job=fio-verify          fio writes /dev/vda with crc32c checksums, reads back, verifies
#   rv.job=net-iperf           eth0 gets rv.ip=/24; ping rv.peer=, iperf3 TCP and UDP both ways
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mdev -s
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
say() { echo "ringvisor-linux: $*"; }
kver=$(cat /etc/rv-kernel)
for m in $(cat /etc/rv-modules); do
	insmod "/lib/modules/$kver/$m" || say "insmod $m failed"
done
say "init reached"
say "kernel=$(uname -r)"
say "nproc=$(nproc)"
say "memtotal_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
nodes=""
for n in /sys/devices/system/node/node[0-9]*; do
	[ -d "$n" ] || continue
	nodes="$nodes ${n##*/}(cpus=$(cat "$n/cpulist"),mem_kb=$(awk '/MemTotal/ {print $4}' "$n/meminfo"))"
done
say "numa_nodes=${nodes# }"
say "modules=$(cut -d' ' -f1 /proc/modules | tr '\n' ',' | sed 's/,$//')"
say "virtio_devices=$(ls /sys/bus/virtio/devices 2>/dev/null | tr '\n' ',' | sed 's/,$//')"
job=poweroff
for a in $(cat /proc/cmdline); do
	case $a in rv.job=*) job=${a#rv.job=} ;; esac
done
say "job=$job"
case $job in
shell)
	setsid cttyhack sh
	;;
fio-verify)
	if fio --name=rv-verify --filename=/dev/vda --rw=randwrite --bs=4k --size=64M --ioengine=io_uring \
		--direct=1 --iodepth=16 --verify=crc32c --do_verify=1 --verify_fatal=1 >/tmp/fio.out 2>&1; then
		say "fio_verify=ok"
	else
		say "fio_verify=fail"
		cat /tmp/fio.out
	fi
	;;
net-iperf)
	# rv.ip=A (ours, /24) rv.peer=B (the host, running iperf3 -s): ping, TCP both ways, UDP
	ip=; peer=
	for a in $(cat /proc/cmdline); do
		case $a in rv.ip=*) ip=${a#rv.ip=} ;; rv.peer=*) peer=${a#rv.peer=} ;; esac
	done
	ip link set eth0 up && ip addr add "$ip/24" dev eth0 && say "net_ready ip=$ip"
	if ping -c 3 -W 2 "$peer" >/tmp/ping.out 2>&1; then say "ping=ok"; else say "ping=fail"; cat /tmp/ping.out; fi
	sleep 3 # the host pings us meanwhile
	for t in "tcp_tx:" "tcp_rx:-R" "udp_tx:-u -b 0 -l 1472" "udp_rx:-u -b 0 -l 1472 -R"; do
		# shellcheck disable=SC2086
		if iperf3 -c "$peer" -t 5 ${t#*:} >/tmp/iperf.out 2>&1; then
			say "iperf_${t%%:*}=ok $(grep -E 'receiver|  [0-9.]+ [KMG]bits/sec .*%' /tmp/iperf.out | tail -n1 | tr -s ' ')"
		else
			say "iperf_${t%%:*}=fail"; tail -n5 /tmp/iperf.out
		fi
	done
	;;
esac
sync
# poweroff needs ACPI (FADT); without it the kernel halts forever, so reset instead
# (ringvisor and QEMU both end with status 0 on a reset).
if [ -e /sys/firmware/acpi/tables/FACP ]; then
	say "poweroff"
	poweroff -f
else
	say "no ACPI FADT: rebooting instead of powering off"
	reboot -f
fi
sleep 5
say "still running after poweroff"
EOF
chmod 755 "$ROOT/init"

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
	"$(du -sh "$ROOT" | cut -f1) unpacked: busybox, fio, iperf3, $((n_pkg + n_host)) libraries"
echo "  modules (insmod order): $(tr '\n' ' ' <"$ROOT/etc/rv-modules")"
echo "  config: $mods_m"
