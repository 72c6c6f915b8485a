#!/usr/bin/env bash
# The engine thread makes no syscall but io_uring_enter while a guest runs: device
# exits, console output, log lines and interrupts all go through its ring. Checked with
# strace -f on real guest-kit runs (a console-heavy 2-vCPU job, the exits job, which
# forwards port writes and reads, and a 2-pair virtio-net flood, whose TAP settings go to
# the device's helper thread), from the engine's first io_uring_enter up to the stop
# (where it kicks the vCPUs with tgkill).
source "$(dirname "$0")/lib.sh"

if ! command -v strace >/dev/null; then
	fail engine_syscalls "strace is not installed (make deps installs it)"
	exit 0
fi

check_run() { # name cmdline cpus [more ringvisor args]
	local name=$1 cmdline=$2 cpus=$3 log=$TMP/$1.strace
	shift 3
	strace -f -qq -o "$log" "$RINGVISOR" --kernel "$GUEST_ELF" --cpus boot="$cpus" --memory size=128M \
		--cmdline "$cmdline" "$@" </dev/null >"$TMP/$name.out" 2>"$TMP/$name.err"
	# The engine thread, from the trace itself: ringvisor names it from the main thread
	# (pthread_setname_np opens /proc/self/task/TID/comm and writes "rv-engine0"). No polling
	# of /proc, which a slow host (the KVM lab) can miss while a short run comes and goes.
	local etid
	etid=$(awk '$2 ~ /^openat\(/ && match($0, /"\/proc\/self\/task\/[0-9]+\/comm"/) {
			split(substr($0, RSTART, RLENGTH), p, "/"); tid[$1] = p[5] }
		$2 ~ /^write\(/ && /"rv-engine0"/ && ($1 in tid) { print tid[$1]; exit }' "$log")
	if [ -z "$etid" ]; then
		fail "$name" "could not find the engine thread in the trace (no write of rv-engine0 to a task's comm)"
		return
	fi
	if ! grep -q '^result=pass' "$TMP/$name.out"; then
		fail "$name" "guest did not pass: $(tail -n2 "$TMP/$name.out" | tr '\n' ' ')"
		return
	fi
	# The engine's syscalls from its first io_uring_enter to the stop, where pthread_kill
	# kicks the first vCPU: tgkill, after glibc's prelude (rt_sigprocmask, getpid, and a futex
	# when the target thread's lock is busy). A trailing run of those belongs to the stop;
	# any syscall while the guest runs is followed by more io_uring_enter calls and stays.
	local calls
	# The run ends at the stop: the engine kicks the vCPUs (tgkill; glibc skips it for a vCPU
	# thread that has already left) and posts the VMM's stop notice (an 8-byte eventfd write).
	calls=$(awk -v t="$etid" '$1 == t && $2 !~ /^<\.\.\./ {
			if ($2 ~ /^write\(/ && $0 ~ /"\\1\\0\\0\\0\\0\\0\\0\\0", 8/) { print "stop_notice"; next }
			sub(/\(.*/, "", $2); print $2 }' "$log" |
		awk '/^io_uring_enter$/ { on = 1 } /^(tgkill|stop_notice)$/ { exit } on' |
		awk '{ l[NR] = $0 } END { n = NR; while (n > 0 && l[n] ~ /^(rt_sigprocmask|getpid|futex)$/) n--;
		       for (i = 1; i <= n; i++) print l[i] }')
	local n_enter others
	n_enter=$(grep -c '^io_uring_enter$' <<<"$calls")
	others=$(grep -v '^io_uring_enter$' <<<"$calls" | sort | uniq -c | tr '\n' ' ')
	if [ "$n_enter" -lt 5 ]; then
		fail "$name" "only $n_enter io_uring_enter calls seen: the trace did not catch the engine at work"
	elif [ -n "$others" ]; then
		fail "$name" "engine made other syscalls while the guest ran: $others"
	else
		pass "$name"
		echo "# $name: $n_enter io_uring_enter calls, nothing else"
	fi
}

check_run engine_only_io_uring_enter_console "job=spin ms=5 ticks=40" 2
check_run engine_only_io_uring_enter_exits "job=exits n=800" 1
# virtio-net: the TAP's offloads and queue attachments (ioctls that wait for rtnl) are set
# on the device's helper thread, at DRIVER_OK and at the guest's VQ_PAIRS_SET (2 pairs)
if [ -c /dev/net/tun ] && [ "$(id -u)" = 0 ]; then
	. "$(dirname "$0")/../tools/net_subnet.sh"
	X=$(net_subnet)
	check_run engine_only_io_uring_enter_net \
		"job=net-tx ip=172.30.$X.2 peer=172.30.$X.1 pairs=2 count=20000 size=64" 1 \
		--net "tap=rvsc$(( $$ % 100000 )),ip=172.30.$X.1,mask=255.255.255.0,num_queues=4"
else
	skip engine_only_io_uring_enter_net "needs root and /dev/net/tun to make a TAP"
fi
