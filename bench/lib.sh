# bench/lib.sh — shared helpers for the bench scripts (sourced by bash).
# Sets ROOT (repo root), BENCH_DIR, BUILD, RINGVISOR, GUEST_ELF, QEMU; provides the build
# step, the two VMM command lines for the guest kit, and small statistics helpers.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
BUILD=${BUILD:-build}
RINGVISOR=${RINGVISOR:-$ROOT/$BUILD/ringvisor}
GUEST_ELF=${GUEST_ELF:-$ROOT/$BUILD/guest/guest.elf}
QEMU=${QEMU:-qemu-system-x86_64}

bench_die() { echo "bench: $*" >&2; exit 2; }

# Build ringvisor and the guest kit (plus any extra make targets given).
bench_build() {
	make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/ringvisor" "$BUILD/guest/guest.elf" "$@"
}

# QEMU (Debian's qemu-system-x86) and a writable /dev/kvm: a TCG comparison means nothing.
bench_need_qemu() {
	if ! command -v "$QEMU" >/dev/null; then
		echo "bench: $QEMU missing, installing qemu-system-x86" >&2
		apt-get install -y qemu-system-x86 >&2 ||
			{ apt-get update >&2 && apt-get install -y qemu-system-x86 >&2; } ||
			bench_die "cannot install qemu-system-x86"
	fi
	[ -w /dev/kvm ] || bench_die "/dev/kvm is not writable"
}

# Guest-kit command lines: rv_cmd|qemu_cmd VCPUS MEM_MIB "CMDLINE" [extra args...]
# fill the array CMD. Both boot the same PVH ELF with the same vCPUs and memory.
rv_cmd() {
	local n=$1 mem=$2 cmdline=$3; shift 3
	CMD=("$RINGVISOR" --kernel "$GUEST_ELF" --cpus "boot=$n" --memory "size=${mem}M"
		--cmdline "$cmdline" "$@")
}
# -cpu host,-arch-capabilities: QEMU dies on plain -cpu host under kvm_pvm. One socket per
# vCPU: SeaBIOS lists only the first logical CPU of each package in its MP table.
# -nodefaults + -serial stdio: COM1 is stdout (SeaBIOS prints its banner there too).
# Exit status is (v<<1)|1 for a guest write of v to port 0xf4: 1 means pass.
qemu_cmd() {
	local n=$1 mem=$2 cmdline=$3; shift 3
	CMD=("$QEMU" -enable-kvm -cpu host,-arch-capabilities -M pc -m "$mem"
		-smp "$n,sockets=$n,cores=1,threads=1" -nographic -no-reboot -monitor none
		-serial stdio -nodefaults -device isa-debug-exit,iobase=0xf4,iosize=0x04
		-kernel "$GUEST_ELF" -append "$cmdline" "$@")
}
# Exit status of a passing guest-kit run: vmm_pass_rc ringvisor|qemu
vmm_pass_rc() { case $1 in qemu) echo 1 ;; *) echo 0 ;; esac; }

# Statistics over numbers on stdin, one per line (non-numbers ignored).
# stats: "median min max count" (empty line if no numbers); median: the median alone.
stats() {
	grep -E '^-?[0-9]+(\.[0-9]+)?$' | sort -g | awk '
		{ v[n++] = $1 }
		END { if (!n) { print ""; exit }
		      m = n % 2 ? v[(n-1)/2] : (v[n/2-1] + v[n/2]) / 2
		      printf "%.7g %.7g %.7g %d\n", m, v[0], v[n-1], n }'
}
median() { stats | cut -d' ' -f1; }
# ratio A B: A/B to 4 significant digits, empty if either is missing or B is 0.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b + 0 != 0) printf "%.4g", a / b }'
}
# key=value lookup in a line or file: kv KEY < input
kv() { grep -oE "(^| )$1=[^ ]*" | head -n1 | sed "s/^ *$1=//"; }
