# Shared helpers for integration tests (sourced). Each test reports with pass/fail/skip,
# which print the lines tests/run.sh counts.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD=${BUILD:-build}
RINGVISOR=${RINGVISOR:-$PWD/$BUILD/ringvisor}
GUEST_ELF=${GUEST_ELF:-$PWD/$BUILD/guest/guest.elf}
TMP=$(mktemp -d /tmp/rv-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# Run the guest kit under ringvisor: rv_kit OUT_PREFIX TIMEOUT ringvisor-args...
# Leaves $OUT_PREFIX.out (serial), $OUT_PREFIX.err (log), $OUT_PREFIX.rc.
rv_run() {
	local prefix=$1 t=$2; shift 2
	timeout -k 5 "$t" "$RINGVISOR" "$@" </dev/null >"$prefix.out" 2>"$prefix.err"
	echo $? >"$prefix.rc"
}

# key=value lookup in a guest-kit output file: kv FILE KEY
kv() { grep -oE "(^| )$2=[^ ]*" "$1" | head -n1 | sed "s/^ *$2=//"; }

# Does the host run guests with hardware virtualization (VMX/SVM), or kvm_pvm?
host_is_pvm() { [ -d /sys/module/kvm_pvm ]; }
