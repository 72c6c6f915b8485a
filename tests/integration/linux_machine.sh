#!/usr/bin/env bash
# Linux (the test image, tests/linux/) boots to /init through both entries with 1, 2 and 4
# vCPUs and sees the machine it was given; each run also ends the VM a different way.
#   linux_bzimage_1cpu_power_button  SIGPWR presses the GED power button: the init, waiting
#                                    on the "Power Button" input device, powers off (exit 0)
#   linux_bzimage_2cpu_machine       3.5 GiB (RAM above 4 GiB in /proc/iomem), 2 CPUs, our
#                                    command line, RTC, a clean kernel log; poweroff -f -> 0
#   linux_bzimage_4cpu_reboot        reboot -f boots the guest again in the same process;
#                                    the second boot powers off (exit 0)
#   linux_pvh_1cpu_sigterm           SIGTERM stops the VM in order (exit 0)
#   linux_pvh_2cpu_numa              two guest NUMA nodes: each node's CPUs, memory, distances
#   linux_pvh_4cpu_machine           the machine checks through the PVH entry
# Each check of "the machine" is linux_machine_problems (linux_lib.bash). The boot time
# (VMM start to /init, from the serial timestamps) is printed for every run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/linux_lib.bash"

ALL=(linux_bzimage_1cpu_power_button linux_bzimage_2cpu_machine linux_bzimage_4cpu_reboot
	linux_pvh_1cpu_sigterm linux_pvh_2cpu_numa linux_pvh_4cpu_machine)
linux_image_ready "${ALL[@]}"
T=${LINUX_TIMEOUT:-300}
MARK=rv.mark=linux-machine-$$

# boot_time PREFIX: "/init after N s" from the init's uptime and the VMM's own clock.
boot_time() {
	echo "# $(basename "$1"): /init at $(lv "$1" uptime_at_init) s of guest uptime;" \
		"VMM: $(grep -m1 -oE '^ringvisor\[[0-9.]+\] info: booting' "$1.err" | grep -oE '[0-9.]+' | head -n1) s to load," \
		"exit $(cat "$1.rc" 2>/dev/null) at $(grep -oE '^ringvisor\[[0-9.]+\]' "$1.err" | tail -n1 | tr -d 'ringvisor[]') s"
}

# signal_run NAME PREFIX KERNEL CPUS JOB READY_REGEX SIGNAL WANT_LOG: start, wait for the
# init's READY line, send SIGNAL to the VMM, check exit 0, the VMM's log line and nproc.
signal_run() {
	local name=$1 p=$2 k=$3 cpus=$4 job=$5 ready=$6 sig=$7 want=$8 rc
	linux_start "$p" "$T" "$k" "$job" "$MARK" --cpus boot="$cpus" --memory size=512M
	if [ -z "$VMM" ] || ! wait_line "$p.out" "$ready" "$T" "$VMM"; then
		[ -n "$VMM" ] && kill -9 "$VMM" 2>/dev/null
		wait "$RUNNER"
		fail "$name" "the init never reached '$ready': $(linux_why "$p")"
		return
	fi
	kill -"$sig" "$VMM"
	wait_gone "$VMM" 60 || kill -9 "$VMM"
	wait "$RUNNER"
	rc=$(cat "$p.rc")
	linux_report "$p" | grep -E 'nproc|job|power|holding'
	boot_time "$p"
	if [ "$rc" = 0 ] && grep -q "$want" "$p.err" && [ "$(lv "$p" nproc)" = "$cpus" ]; then
		pass "$name"
	else
		fail "$name" "want exit 0, '$want' in the VMM log and nproc=$cpus: $(linux_why "$p")"
	fi
}

# machine_run NAME PREFIX KERNEL CPUS MEM_MB: boot, report, power off; the machine checks.
machine_run() {
	local name=$1 p=$2 k=$3 cpus=$4 mb=$5 why
	linux_run "$p" "$T" "$k" poweroff "$MARK" --cpus boot="$cpus" --memory size="${mb}M"
	linux_report "$p"
	boot_time "$p"
	why=$(linux_machine_problems "$p" "$cpus" "$mb")
	if [ -n "$why" ]; then
		fail "$name" "$why; $(linux_why "$p")"
	elif [ "$(cat "$p.rc")" != 0 ] || ! grep -q 'the guest powered off (ACPI S5)' "$p.err"; then
		fail "$name" "no ACPI power-off with exit 0: $(linux_why "$p")"
	elif ! lv "$p" cmdline | grep -q "$MARK"; then
		fail "$name" "our command line is not the kernel's: $(lv "$p" cmdline)"
	elif [ "$mb" -gt 3072 ] && ! lv "$p" ram_ranges | grep -qE '(^|,)100000000-'; then
		fail "$name" "no System RAM from 4 GiB in /proc/iomem: $(lv "$p" ram_ranges)"
	else
		pass "$name"
	fi
}

# --- bzImage ---
signal_run linux_bzimage_1cpu_power_button "$TMP/pwr" bzImage 1 powerbutton \
	'^ringvisor-linux: powerbutton_ready' PWR 'the guest powered off (ACPI S5)'
grep -q '^ringvisor-linux: powerbutton=pressed' "$TMP/pwr.out" || echo "# the init never saw the key press"

machine_run linux_bzimage_2cpu_machine "$TMP/bz2" bzImage 2 3584

p=$TMP/reboot
truncate -s 1M "$p.disk"
linux_run "$p" "$((T * 2))" bzImage reboot "$MARK" --cpus boot=4 --memory size=512M --disk path="$p.disk"
linux_report "$p" | grep -E 'nproc|reboot|poweroff'
boot_time "$p"
problems=()
boots=$(grep -c '^ringvisor-linux: init reached' "$p.out")
[ "$boots" = 2 ] || problems+=("$boots boots")
grep -q '^ringvisor-linux: reboot=second_boot' "$p.out" || problems+=("no reboot=second_boot")
grep -q 'rebooting (boot 2)' "$p.err" || problems+=("the VMM logged no 'rebooting (boot 2)'")
[ "$(grep -c '^ringvisor-linux: nproc=4' "$p.out")" = 2 ] || problems+=("nproc=4 $(grep -c '^ringvisor-linux: nproc=4' "$p.out") times")
[ "$(cat "$p.rc")" = 0 ] || problems+=("exit $(cat "$p.rc")")
if [ ${#problems[@]} -eq 0 ]; then
	pass linux_bzimage_4cpu_reboot
else
	fail linux_bzimage_4cpu_reboot "want two boots of 4 CPUs (the second finds the mark and powers off), exit 0: ${problems[*]}; $(linux_why "$p")"
fi

# --- PVH (the vmlinux) ---
signal_run linux_pvh_1cpu_sigterm "$TMP/term" vmlinux 1 hold '^ringvisor-linux: holding' TERM \
	'VM stopped, exit status 0'

p=$TMP/numa
linux_run "$p" "$T" vmlinux poweroff "$MARK" --cpus boot=2 --memory size=0 \
	--memory-zone id=m0,size=256M --memory-zone id=m1,size=256M \
	--numa guest_numa_id=0,cpus=[0],memory_zones=[m0],distances=[1@20] \
	--numa guest_numa_id=1,cpus=[1],memory_zones=[m1],distances=[0@20]
nodes=$(lv "$p" numa_nodes)
echo "# numa_nodes=$nodes"
boot_time "$p"
# Each node: its CPU, most of its 256 MiB (the kernel's own pages are on node 0), distances.
if [[ $nodes =~ ^node0\(cpus=0,mem_kb=([0-9]+),distance=10-20\)\ node1\(cpus=1,mem_kb=([0-9]+),distance=20-10\)$ ]] &&
	[ "${BASH_REMATCH[1]}" -ge $((200 * 1024)) ] && [ "${BASH_REMATCH[2]}" -ge $((240 * 1024)) ] &&
	[ "$(cat "$p.rc")" = 0 ]; then
	pass linux_pvh_2cpu_numa
else
	fail linux_pvh_2cpu_numa "want node0(cpus=0,~256 MiB,distance=10-20) node1(cpus=1,~256 MiB,distance=20-10), exit 0: $(linux_why "$p")"
fi

machine_run linux_pvh_4cpu_machine "$TMP/pvh4" vmlinux 4 1024
