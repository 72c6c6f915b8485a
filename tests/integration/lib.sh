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

# wait_line FILE REGEX SECONDS [PID]: wait until a line matching the extended REGEX shows up
# in FILE (which need not exist yet), polling every 50 ms; with PID, stop waiting as soon as
# that process is gone. Returns 0 once the line is there, 1 if it never came.
wait_line() {
	for _ in $(seq 1 $(( $3 * 20 ))); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		if [ -n "${4:-}" ] && ! kill -0 "$4" 2>/dev/null; then break; fi
		sleep 0.05
	done
	grep -qE "$2" "$1" 2>/dev/null
}

# wait_gone PID [SECONDS]: wait up to SECONDS (default 10) for PID to exit; 1 if it still runs.
wait_gone() {
	for _ in $(seq 1 $(( ${2:-10} * 10 ))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# --- guest-kit runs left by rv_run (PREFIX.out, .err, .rc) ---
# ok_run PREFIX: the run exited 0 and the kit reported result=pass.
ok_run() { [ "$(cat "$1.rc")" = 0 ] && grep -q '^result=pass' "$1.out"; }
# why PREFIX: a one-line account of a run for FAIL messages: its exit status, the kit's first
# result/reason/net_ lines and the first error/warning lines of the VMM's log.
why() {
	echo "rc=$(cat "$1.rc") $(grep -E 'result=|reason|^net_' "$1.out" | head -n4 | tr '\n' ' ')" \
		"$(grep -m3 -E 'error|warn' "$1.err" | tr '\n' ' ')"
}
# linux_why PREFIX: the same for a Linux guest: exit status, the init's last report lines, the
# last lines of its console as they are (to tell lost output from a guest that stopped), the
# VMM's warnings and errors.
linux_why() {
	echo "rc=$(cat "$1.rc"); init: $(grep -a 'ringvisor-linux: ' "$1.out" | tail -n4 | tr -d '\r' | tr '\n' ' ')" \
		"; console ($(wc -c <"$1.out") bytes) ends: $(tail -n3 "$1.out" | tr -d '\r' | cut -c1-100 | tr '\n' '|')" \
		"; VMM: $(grep -E ' (error|warn): |guest stopped|rip=' "$1.err" | head -n4 | tr '\n' ' ')"
}

# --- the HTTP API (--api-socket). The caller sets S, the socket's path; API_SOCKET is the
# --api-socket value (default: $S), API_MAX_TIME curl's limit per request (default 10 s). ---
# start_vmm [ringvisor args...]: ringvisor with the API in the background (pid in VMM, output
# in $TMP/vmm.out and $TMP/vmm.err); returns once the socket exists, or after 5 s.
start_vmm() {
	"$RINGVISOR" --api-socket "${API_SOCKET:-$S}" "$@" </dev/null >"$TMP/vmm.out" 2>"$TMP/vmm.err" &
	VMM=$!
	for _ in $(seq 1 100); do [ -S "$S" ] && break; sleep 0.05; done
}
# api METHOD ENDPOINT [curl args...]: prints the HTTP status (000: no answer); body in $TMP/body.
api() {
	local m=$1 e=$2; shift 2
	curl -s -o "$TMP/body" -w '%{http_code}' --max-time "${API_MAX_TIME:-10}" --unix-socket "$S" -X "$m" "$@" \
		"http://localhost/api/v1/$e"
}
