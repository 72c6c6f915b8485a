# Helpers for the virtio-net tests (sourced after lib.sh): a /24 in 172.30.0.0/16 that no
# interface uses, TAP names unique to this run, and the host tool. Waiting for a line in a
# file (the guest's or net_peer's output) is lib.sh's wait_line.
NET_PEER=${NET_PEER:-$PWD/$BUILD/tests/net_peer}
NET_TAPS=()   # persistent TAPs this script made, removed at exit
NET_PIDS=()   # background processes this script started, stopped at exit

net_cleanup() {
	local p t
	for p in "${NET_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for t in "${NET_TAPS[@]}"; do ip link del "$t" 2>/dev/null; done
	rm -rf "$TMP"
}
trap net_cleanup EXIT

. "$(dirname "${BASH_SOURCE[0]}")/../tools/net_subnet.sh" # net_subnet

# net_tap_name SUFFIX: a TAP name unique to this run (at most 15 characters).
net_tap_name() { echo "rv$(( $$ % 100000 ))$1"; }

# VmRSS of a process in KiB (empty if gone).
net_rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
