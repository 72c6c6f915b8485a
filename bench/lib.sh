# bench/lib.sh — shared helpers for the bench scripts (sourced by bash).
# Sets ROOT (repo root), BENCH_DIR, BUILD, RINGVISOR, GUEST_ELF, QEMU; provides the build
# step, the two VMM command lines for the guest kit, and small statistics helpers.
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# The bench's own command line as it was started (sourced first, before it parses its args).
BENCH_ARGV=("$0" "$@")
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

# bench_lab: on a host whose /dev/kvm cannot boot guests for real
# (tests/lab/need says why: none, or kvm_pvm), run this bench again inside the KVM lab, where
# ringvisor and QEMU (-accel kvm) run side by side in one L1, and end with its status.
# Elsewhere (hardware VMX/SVM, or already inside a lab) it returns. Call it after bench_build:
# the build runs here, where the package mirror is. BENCH_LAB_OPTS: tests/lab/run's options.
bench_lab() {
	local why
	why=$(bash "$ROOT/tests/lab/need") || return 0
	echo "bench: $why: running in the KVM lab (QEMU TCG with SVM); every figure is env=lab-tcg" >&2
	# shellcheck disable=SC2086
	exec bash "$ROOT/tests/lab/run" ${BENCH_LAB_OPTS:-} -- bash "${BENCH_ARGV[@]}"
}

# Where the figures come from, for every RESULT line: lab-tcg (inside the KVM lab: ratios
# between VMMs only), kvm-pvm (software virtualization), or kvm (hardware VMX/SVM).
bench_env() {
	if [ -n "${RV_ENV:-}" ]; then echo "$RV_ENV"
	elif [ -d /sys/module/kvm_pvm ]; then echo kvm-pvm
	else echo kvm
	fi
}
# bench_results LINE...: print the RESULT lines, each with env= appended.
bench_results() {
	local env l
	env=$(bench_env)
	for l in "$@"; do echo "$l env=$env"; done
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
# Every value of KEY in the input, one per line (e.g. to take a median): kv_all KEY < input
kv_all() { grep -oE "(^| )$1=[^ ]*" | sed "s/^ *$1=//"; }
# num V: a figure for tables and RESULT lines: "-" if empty, whole from 1000, one decimal
# from 10, else 4 significant digits.
num() {
	awk -v v="$1" 'BEGIN { if (v == "") print "-"; else if (v >= 1000) printf "%.0f\n", v;
		else if (v >= 10) printf "%.1f\n", v; else printf "%.4g\n", v }'
}

# ---- storage / load helpers (added for bench/blk.sh) ---------------------------------------

# fio (Debian's package), for the host-side figures.
bench_need_fio() {
	command -v fio >/dev/null && return
	echo "bench: fio missing, installing it" >&2
	apt-get install -y fio >&2 || { apt-get update >&2 && apt-get install -y fio >&2; } ||
		bench_die "cannot install fio"
}

# The host's TSC frequency in kHz as the kernel found it (dmesg: the refined calibration if
# there was one, else "Detected"); empty if dmesg is not readable. Guest-kit figures are
# timed with the guest's TSC at the frequency it calibrated, which can be off (see blk.sh).
host_tsc_khz() {
	dmesg 2>/dev/null | grep -oE 'tsc: (Refined TSC clocksource calibration:|Detected) [0-9.]+ MHz' |
		tail -n1 | grep -oE '[0-9.]+ MHz' | awk '{ printf "%d\n", $1 * 1000 + 0.5 }'
}

# bench_prealloc FILE MIB: a MIB MiB file of random data written with O_DIRECT (no holes,
# nothing left dirty in the page cache), reused if it already has that size.
bench_prealloc() {
	local f=$1 mib=$2
	[ -f "$f" ] && [ "$(stat -c %s "$f")" = $((mib << 20)) ] && return 0
	fallocate -l "${mib}M" "$f" 2>/dev/null || truncate -s "${mib}M" "$f" || return 1
	dd if=/dev/urandom of="$f" bs=1M count="$mib" oflag=direct conv=notrunc,fsync status=none
}

# odirect_ok FILE: the file opens with O_DIRECT and a 4 KiB aligned read works.
odirect_ok() {
	python3 - "$1" <<-'EOF'
	import mmap, os, sys
	fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
	buf = mmap.mmap(-1, 4096)
	sys.exit(0 if os.preadv(fd, [buf], 0) == 4096 else 1)
	EOF
}

# cpu_window_run --seconds S --marker STR --out F --err F --timeout T -- CMD...: runs CMD
# (own session, stdin /dev/null) and prints one line
#   rc=N timeout=0|1 wall_ms=N cpu_ms=N win_s=N win_cpu_ms=N win_guest_ms=N marker_s=N
# cpu_ms is the whole run's user+sys (wait4 rusage, all threads). The win_* figures come from
# /proc/PID/stat (utime+stime and guest_time of the whole thread group) sampled every 20 ms:
# the CPU spent in a window of S-0.2 s that ends 0.05 s before STR first shows on stdout,
# i.e. inside a steady load of S seconds whose end the guest reports with STR. "na" if
# STR never came or the window is under 0.5 s. On timeout the session is SIGKILLed.
cpu_window_run() {
	python3 - "$@" <<-'EOF'
	import os, select, signal, sys, time
	a = sys.argv[1:]
	o = {"--seconds": "5", "--marker": "rw=", "--out": os.devnull, "--err": os.devnull, "--timeout": "120"}
	while a and a[0] != "--":
	    o[a[0]] = a[1]; a = a[2:]
	cmd = a[1:]
	secs, marker, tmo = float(o["--seconds"]), o["--marker"].encode(), float(o["--timeout"])
	tck = os.sysconf("SC_CLK_TCK")
	rfd, wfd = os.pipe()
	fa = [(os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0), (os.POSIX_SPAWN_DUP2, wfd, 1),
	      (os.POSIX_SPAWN_OPEN, 2, o["--err"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
	      (os.POSIX_SPAWN_CLOSE, rfd), (os.POSIX_SPAWN_CLOSE, wfd)]
	t0 = time.monotonic()
	try:
	    pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=fa, setsid=True)
	except OSError as e:
	    print("cpu_window_run: cannot run %s: %s" % (cmd[0], e), file=sys.stderr); sys.exit(2)
	os.close(wfd)
	pidfd = os.pidfd_open(pid)
	sfd = os.open("/proc/%d/stat" % pid, os.O_RDONLY)
	def sample():
	    try:
	        f = os.pread(sfd, 4096, 0).decode().rsplit(")", 1)[1].split()
	        return (time.monotonic(), int(f[11]) + int(f[12]), int(f[40]))  # utime+stime, guest_time
	    except (OSError, IndexError, ValueError):
	        return None
	samples, buf, t_mark, t_exit, eof, timed_out = [], bytearray(), None, None, False, False
	while not (t_exit is not None and eof):
	    now = time.monotonic()
	    if now - t0 >= tmo:
	        timed_out = True; break
	    if t_exit is not None and now - t_exit > 1.0:
	        break
	    if t_exit is None:
	        s = sample()
	        if s: samples.append(s)
	    fds = ([pidfd] if t_exit is None else []) + ([] if eof else [rfd])
	    r, _, _ = select.select(fds, [], [], 0.02)
	    now = time.monotonic()
	    if pidfd in r and t_exit is None:
	        t_exit = now
	    if rfd in r:
	        c = os.read(rfd, 65536)
	        if not c:
	            eof = True
	        else:
	            st = max(0, len(buf) - len(marker) + 1); buf += c
	            if t_mark is None and buf.find(marker, st) >= 0:
	                t_mark = now
	if timed_out:
	    try: os.killpg(pid, signal.SIGKILL)
	    except ProcessLookupError: pass
	os.set_blocking(rfd, False)
	try:
	    while True:
	        c = os.read(rfd, 65536)
	        if not c: break
	        buf += c
	except BlockingIOError:
	    pass
	_, status, ru = os.wait4(pid, 0)
	with open(o["--out"], "wb") as f:
	    f.write(buf)
	rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
	win = "win_s=na win_cpu_ms=na win_guest_ms=na"
	if t_mark is not None:
	    lo, hi = t_mark - secs + 0.15, t_mark - 0.05
	    sa = [s for s in samples if s[0] <= lo][-1:] or samples[:1]
	    sb = [s for s in samples if s[0] <= hi][-1:]
	    if sa and sb and sb[0][0] - sa[0][0] >= 0.5:
	        a_, b_ = sa[0], sb[0]
	        win = "win_s=%.3f win_cpu_ms=%.1f win_guest_ms=%.1f" % (
	            b_[0] - a_[0], (b_[1] - a_[1]) * 1e3 / tck, (b_[2] - a_[2]) * 1e3 / tck)
	end = t_exit if t_exit is not None else time.monotonic()
	print("rc=%d timeout=%d wall_ms=%.1f cpu_ms=%.1f %s marker_s=%s" % (
	    rc, timed_out, (end - t0) * 1e3, (ru.ru_utime + ru.ru_stime) * 1e3, win,
	    "na" if t_mark is None else "%.3f" % (t_mark - t0)))
	EOF
}

# bench_link: HOST_IP and GUEST_IP, the two ends of a free 172.30.X.0/24 (SUBNET=172.30.X
# picks one), for the benches that put a guest on a TAP.
bench_link() {
	local x
	. "$ROOT/tests/tools/net_subnet.sh" # net_subnet: the tests' free /24 finder
	if [ -z "${SUBNET:-}" ]; then
		x=$(net_subnet) || bench_die "no free /24 in 172.30.0.0/16"
		SUBNET=172.30.$x
	fi
	HOST_IP=$SUBNET.1 GUEST_IP=$SUBNET.2
}

# bench_make_tap NAME [multi_queue]: a fresh TAP with HOST_IP/24, up (an old one is removed).
bench_make_tap() {
	ip link del "$1" 2>/dev/null
	# shellcheck disable=SC2086
	ip tuntap add dev "$1" mode tap ${2:-} && ip addr add "$HOST_IP/24" dev "$1" && ip link set "$1" up
}
