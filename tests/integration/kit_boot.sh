#!/usr/bin/env bash
# Boots the guest kit under ringvisor: 1 and 2 vCPUs, 64 MiB and 4 GiB (RAM above
# 4 GiB seen and stamped by the guest), every vCPU at CPL3, the exits job, serial modes.
source "$(dirname "$0")/lib.sh"

expect_pass() { # name prefix
	local name=$1 p=$2
	if [ "$(cat "$p.rc")" != 0 ]; then
		fail "$name" "exit status $(cat "$p.rc"); log: $(tail -n3 "$p.err" | tr '\n' ' ')"
		return 1
	fi
	if ! grep -q '^result=pass' "$p.out"; then
		fail "$name" "guest did not report result=pass: $(grep result= "$p.out")"
		return 1
	fi
	return 0
}

# 1 vCPU, 256 MiB: the memory map and CPU count the guest saw
p=$TMP/b1
rv_run "$p" 60 --kernel "$GUEST_ELF" --cpus boot=1 --memory size=256M --cmdline "job=boot"
if expect_pass kit_boot_1vcpu "$p"; then
	if [ "$(kv "$p.out" cpus_mptable)" = 1 ] && [ "$(kv "$p.out" cpus_cpuid)" = 1 ] &&
	   grep -q 'e820 addr=0x100000 size=0xff00000 type=1' "$p.out" && grep -q '^cmdline=job=boot' "$p.out"; then
		pass kit_boot_1vcpu
	else
		fail kit_boot_1vcpu "unexpected CPU count or memory map: $(tr '\n' ' ' <"$p.out")"
	fi
fi

# The guest reads the TSC rate from CPUID 0x40000010 (no PIT calibration), equal to the host's
host_khz=$(awk -F': ' '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
khz=$(kv "$p.out" tsc_khz)
if [ "$(kv "$p.out" tsc_source)" = cpuid_40000010 ] && [ -n "$khz" ] && [ -n "$host_khz" ] &&
   [ $(( (khz > host_khz ? khz - host_khz : host_khz - khz) * 1000 / host_khz )) -le 10 ]; then
	pass kit_tsc_rate_from_cpuid
else
	fail kit_tsc_rate_from_cpuid "tsc_source=$(kv "$p.out" tsc_source) tsc_khz=$khz host=$host_khz"
fi

# 2 vCPUs: both in the MP table and CPUID, both run a CPL3 loop and check in
p=$TMP/b2
rv_run "$p" 60 --kernel "$GUEST_ELF" --cpus boot=2 --memory size=256M --cmdline "job=smp"
if expect_pass kit_smp_2vcpu "$p"; then
	if [ "$(kv "$p.out" cpus_checked_in)" = 2 ] && [ "$(kv "$p.out" cpus_expected)" = 2 ]; then
		pass kit_smp_2vcpu
	else
		fail kit_smp_2vcpu "$(grep cpus_ "$p.out")"
	fi
fi
p=$TMP/b2b
rv_run "$p" 60 --kernel "$GUEST_ELF" --cpus boot=2 --memory size=256M --cmdline "job=boot"
if expect_pass kit_boot_2vcpu_topology "$p"; then
	if [ "$(kv "$p.out" cpus_mptable)" = 2 ] && [ "$(kv "$p.out" cpus_cpuid)" = 2 ]; then
		pass kit_boot_2vcpu_topology
	else
		fail kit_boot_2vcpu_topology "mptable=$(kv "$p.out" cpus_mptable) cpuid=$(kv "$p.out" cpus_cpuid)"
	fi
fi

# 64 MiB
p=$TMP/m64
rv_run "$p" 60 --kernel "$GUEST_ELF" --memory size=64M --cmdline "job=boot"
if expect_pass kit_boot_64m "$p"; then
	if grep -q 'e820 addr=0x100000 size=0x3f00000 type=1' "$p.out" && [ "$(kv "$p.out" ram_above_4g_mib)" = 0 ]; then
		pass kit_boot_64m
	else
		fail kit_boot_64m "memory map: $(grep e820 "$p.out" | tr '\n' ' ')"
	fi
fi

# 4 GiB: 3 GiB below the PCI hole, 1 GiB from 4 GiB up, stamped and read back by the guest
p=$TMP/m4g
rv_run "$p" 60 --kernel "$GUEST_ELF" --memory size=4G --cmdline "job=boot"
if expect_pass kit_boot_4g_above_4g "$p"; then
	if grep -q 'e820 addr=0x100000000 size=0x40000000 type=1' "$p.out" &&
	   [ "$(kv "$p.out" ram_above_4g_mib)" = 1024 ] && [ "$(kv "$p.out" high_mem_check)" = ok ]; then
		pass kit_boot_4g_above_4g
	else
		fail kit_boot_4g_above_4g "$(grep -E 'e820|above|high_mem' "$p.out" | tr '\n' ' ')"
	fi
fi

# exits job: VMM-handled and KVM-handled port writes, VMM-handled reads
p=$TMP/ex
rv_run "$p" 120 --kernel "$GUEST_ELF" --cmdline "job=exits n=2000"
if expect_pass kit_exits "$p"; then
	w=$(kv "$p.out" exit_user_write_ns) r=$(kv "$p.out" exit_user_read_ns) k=$(kv "$p.out" exit_kernel_write_ns)
	if [ -n "$w" ] && [ -n "$r" ] && [ -n "$k" ]; then
		pass kit_exits
	else
		fail kit_exits "missing timings: $(grep _ns "$p.out")"
	fi
fi

# --serial file=PATH: the guest's output lands in the file, not on stdout
p=$TMP/sf
rv_run "$p" 60 --kernel "$GUEST_ELF" --serial "file=$TMP/serial.txt" --cmdline "job=boot"
if [ "$(cat "$p.rc")" = 0 ] && grep -q '^result=pass' "$TMP/serial.txt" && ! grep -q 'kit=' "$p.out"; then
	pass kit_serial_file
else
	fail kit_serial_file "rc=$(cat "$p.rc") file: $(head -c 200 "$TMP/serial.txt" 2>/dev/null)"
fi

# --serial off: nothing printed, the guest still runs to its exit
p=$TMP/so
rv_run "$p" 60 --kernel "$GUEST_ELF" --serial off --cmdline "job=boot"
if [ "$(cat "$p.rc")" = 0 ] && [ ! -s "$p.out" ]; then
	pass kit_serial_off
else
	fail kit_serial_off "rc=$(cat "$p.rc") stdout bytes=$(wc -c <"$p.out")"
fi

# The sanitizer build of ringvisor boots a 2-vCPU guest and stops on SIGTERM with no report
ASAN_RV=$PWD/build/asan/ringvisor
if [ -x "$ASAN_RV" ]; then
	p=$TMP/asan
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		timeout -k 5 60 "$ASAN_RV" --kernel "$GUEST_ELF" --cpus boot=2 --memory size=128M \
		--cmdline "job=smp" </dev/null >"$p.out" 2>"$p.err"
	rc=$?
	if [ $rc = 0 ] && grep -q '^result=pass' "$p.out" && ! grep -qE 'Sanitizer|runtime error' "$p.err"; then
		pass asan_ringvisor_smp
	else
		fail asan_ringvisor_smp "rc=$rc: $(grep -m3 -E 'Sanitizer|runtime error|error' "$p.err" | tr '\n' ' ')"
	fi
else
	fail asan_ringvisor_smp "build/asan/ringvisor was not built (make asan)"
fi

# Placement: with a CPU to spare, the engine and the vCPU run on CPUs of their own
# node 0's CPUs, expanded ("0-3,8" -> 0 1 2 3 8)
node_cpus=$(tr ',' '\n' </sys/devices/system/node/node0/cpulist 2>/dev/null |
	awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }')
[ -n "$node_cpus" ] || node_cpus=$(seq 0 $(($(nproc) - 1)))
ncpu=$(wc -w <<<"$node_cpus")
first=$(head -n1 <<<"$node_cpus") last=$(tail -n1 <<<"$node_cpus")
if [ "$ncpu" -ge 2 ]; then
	# The guest spins until it is stopped, so a slow host (the KVM lab) cannot miss its threads.
	"$RINGVISOR" --kernel "$GUEST_ELF" --cpus boot=$((ncpu - 1)) --memory size=128M --cmdline "job=spin ms=20" \
		</dev/null >"$TMP/place.out" 2>"$TMP/place.err" &
	pid=$!
	eng="" vc=""
	for _ in $(seq 1 600); do # until both threads exist and the guest runs
		for t in /proc/$pid/task/*; do
			case "$(cat "$t/comm" 2>/dev/null)" in
			rv-engine0) eng=$(awk '/Cpus_allowed_list/ {print $2}' "$t/status") ;;
			rv-vcpu0) vc=$(awk '/Cpus_allowed_list/ {print $2}' "$t/status") ;;
			esac
		done
		[ -n "$eng" ] && [ -n "$vc" ] && grep -q '^spinning=1' "$TMP/place.out" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.05
	done
	kill -TERM $pid 2>/dev/null
	wait $pid
	if [ "$eng" = "$first" ] && [ "$vc" = "$last" ]; then
		pass placement_engine_and_vcpu_apart
	else
		fail placement_engine_and_vcpu_apart "engine CPUs '$eng', vcpu0 CPUs '$vc' (want $first and $last)"
	fi
else
	skip placement_engine_and_vcpu_apart "one CPU: nothing to place apart"
fi
