# Helpers for the tests that boot the Linux test image (tests/linux/): sourced after lib.sh.
# The image's /init (tests/linux/init) reports on lines "ringvisor-linux: KEY=VALUE ..." and
# runs the job named by rv.job=.

IMG=$PWD/$BUILD/linux
# loglevel=4: the kernel's own lines share the console with the init's report and, with
# several vCPUs, can land in the middle of one of its lines; warnings and worse still show
# (the init reads the whole log from dmesg anyway).
LINUX_CMDLINE="console=ttyS0 io_delay=none panic=-1 loglevel=4"

# linux_image_ready TEST...: build the image (idempotent, no network when it is there); if
# that fails, every named test fails with the reason and the script ends.
linux_image_ready() {
	local t
	if host_is_pvm; then
		for t in "$@"; do
			skip "$t" "/dev/kvm is kvm_pvm (software virtualization): stock Linux cannot boot here; runs on hosts with VMX/SVM and in the KVM lab"
		done
		exit 0
	fi
	bash tests/linux/build-image.sh >"$TMP/build.log" 2>&1 && return 0
	for t in "$@"; do
		fail "$t" "tests/linux/build-image.sh failed: $(grep -m1 'error:' "$TMP/build.log" || tail -n1 "$TMP/build.log")"
	done
	exit 0
}

# linux_run PREFIX SECONDS KERNEL JOB "EXTRA CMDLINE" ringvisor-args...: boot KERNEL (bzImage
# or vmlinux) with the image's initramfs and rv.job=JOB; waits for the end (rv_run's files).
# In the KVM lab only, a guest that dies of a fatal exit (status 3) is booted once more:
# nested SVM under TCG sometimes breaks an L2 guest, QEMU's as well as ours (QEMU guests
# there have stalled mid-boot too; tests/lab/README.md). The first try's VMM log is
# printed as a "# lab flake" line and kept as PREFIX.try1.*; anywhere else it fails.
linux_run() {
	local p=$1 t=$2 k=$3 job=$4 extra=$5; shift 5
	rv_run "$p" "$t" --kernel "$IMG/$k" --initramfs "$IMG/initramfs.cpio.gz" \
		--cmdline "$LINUX_CMDLINE rv.job=$job $extra" "$@"
	if [ -n "${RV_LAB:-}" ] && [ "$(cat "$p.rc")" = 3 ]; then
		linux_flake "$p"
		rv_run "$p" "$t" --kernel "$IMG/$k" --initramfs "$IMG/initramfs.cpio.gz" \
			--cmdline "$LINUX_CMDLINE rv.job=$job $extra" "$@"
	fi
}

# linux_flake PREFIX [ERRFILE [OUTFILE]]: report a guest's fatal exit in the lab, keep its files.
linux_flake() {
	local p=$1 err=${2:-$1.err} out=${3:-$1.out}
	cp "$err" "$p.try1.err" 2>/dev/null
	cp "$out" "$p.try1.out" 2>/dev/null
	echo "# lab flake: ${p##*/}: the guest died (exit 3) after $(grep -a -c . "$out" 2>/dev/null) console lines; booting it again. VMM: $(grep -a -E 'error|vcpu' "$err" | head -n6 | tr '\n' '|')"
}

# linux_start PREFIX SECONDS KERNEL JOB "EXTRA CMDLINE" ringvisor-args...: the same in the
# background; VMM is ringvisor's own pid (for signals), RUNNER the pid to wait for.
linux_start() {
	local p=$1 t=$2 k=$3 job=$4 extra=$5; shift 5
	(
		timeout -k 5 "$t" "$RINGVISOR" --kernel "$IMG/$k" --initramfs "$IMG/initramfs.cpio.gz" \
			--cmdline "$LINUX_CMDLINE rv.job=$job $extra" "$@" </dev/null >"$p.out" 2>"$p.err" &
		echo $! >"$p.tpid"
		wait $!
		echo $? >"$p.rc"
	) &
	RUNNER=$!
	VMM=
	for _ in $(seq 1 50); do
		[ -s "$p.tpid" ] && VMM=$(pgrep -P "$(cat "$p.tpid")" | head -n1)
		[ -n "$VMM" ] && break
		sleep 0.1
	done
}

# lv PREFIX KEY: the value of the first "ringvisor-linux: KEY=VALUE" line of a run (VALUE up
# to the end of the line, without the carriage return).
lv() { grep -a -m1 "^ringvisor-linux: $2=" "$1.out" | tr -d '\r' | sed "s/^ringvisor-linux: $2=//"; }

# linux_report PREFIX: the init's report lines, as comments in the test's log.
linux_report() { grep -a '^ringvisor-linux: ' "$1.out" | tr -d '\r' | grep -v '^ringvisor-linux: modules=' | sed 's/^/# /'; }

# linux_machine_problems PREFIX CPUS MEM_MB: what Linux reports that does not match the
# machine it was given (empty when all is well): /init reached, every CPU online with a
# one-socket topology, MemTotal within 10 % of the RAM, no firmware or platform problem in
# the kernel log, a running RTC within 5 minutes of the host's clock (the guest read it earlier).
linux_machine_problems() {
	local p=$1 cpus=$2 mb=$3 out=() v rtc now
	if ! grep -q '^ringvisor-linux: init reached' "$p.out"; then
		echo "no 'init reached'"
		return
	fi
	v=$(lv "$p" nproc)
	[ "$v" = "$cpus" ] || out+=("nproc=$v, not $cpus")
	v=$(lv "$p" cpus_online)
	[ "$v" = "$([ "$cpus" = 1 ] && echo 0 || echo "0-$((cpus - 1))")" ] || out+=("cpus_online=$v")
	v=$(lv "$p" topology)
	[ "$v" = "sockets:1 cores:$cpus threads:1" ] || out+=("topology '$v', not 1 socket of $cpus cores")
	v=$(lv "$p" memtotal_kb)
	[ "${v:-0}" -ge $((mb * 1024 * 90 / 100)) ] && [ "${v:-0}" -le $((mb * 1024)) ] ||
		out+=("MemTotal ${v:-?} kB for ${mb} MiB")
	# In the lab, the L1's CPU (QEMU's TCG "max") reports XSAVE sizes Linux finds
	# inconsistent: QEMU -accel kvm's guests there warn the same, so that one warning is the
	# lab's, not ours (tests/lab/README.md).
	local lab_only='fpu/xstate.c:[0-9]+ fpu__init_system_xstate'
	v=$(lv "$p" dmesg_problems)
	local shown
	shown=$(grep -a '^ringvisor-linux: dmesg_problem: ' "$p.out" | tr -d '\r')
	if [ -n "${RV_LAB:-}" ] && echo "$shown" | grep -qE "$lab_only"; then
		echo "# in the lab, not counted: $(echo "$shown" | grep -m1 -E "$lab_only" | cut -c1-140)" >&2
		shown=$(echo "$shown" | grep -vE "$lab_only")
		v=$((v - 1))
	fi
	[ "$v" = 0 ] || out+=("kernel log: $v problem lines: $(echo "$shown" | head -n2 | cut -c1-160 | tr '\n' ' ')")
	v=$(lv "$p" rtc)
	rtc=${v%% *}
	now=$(date +%s)
	if ! [[ $rtc =~ ^[0-9]+$ ]]; then
		out+=("no RTC: rtc=$v")
	elif [ $((rtc > now ? rtc - now : now - rtc)) -gt 300 ]; then
		out+=("the RTC says $rtc, the host $now")
	fi
	[ ${#out[@]} -eq 0 ] || echo "${out[*]}"
}
