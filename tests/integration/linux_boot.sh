#!/usr/bin/env bash
# Linux (Debian's cloud kernel, tests/linux/) under ringvisor:
#   linux_bzimage_early_boot  the bzImage (64-bit boot protocol) prints its banner, our e820 map,
#                             our command line and our ACPI tables (RSDP, XSDT, FACP, DSDT, APIC,
#                             MCFG; CPUs from the MADT) with earlyprintk; then the VMM must exit by itself
#   linux_pvh_early_boot      the same through the PVH entry of the vmlinux inside it
# (The full boots to /init, with 1, 2 and 4 vCPUs through both entries: linux_machine.sh.)
# On kvm_pvm (software virtualization) Linux dies at its first CPL0 instruction KVM cannot
# emulate (a `lock cmpxchg16b` in the slab allocator, ~25 s of kernel time in): exit status 3 with
# the registers is the expected end of the early-boot tests there.
# Measured on kvm_pvm: bzImage banner after ~90 s (the LZ4 decompression runs at CPL0 through
# KVM's instruction emulator), VM ends at ~120 s; PVH banner after ~13 s, VM ends at ~38 s.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

IMG=$PWD/$BUILD/linux
MEM_MB=512
MARKER=ringvisor-test-1234
# reboot=k: with no root file system the kernel panics, and panic=-1 restarts it; through the
# i8042 that ends the VMM (status 0), where the ACPI reset (Linux's default) would reboot the
# VM in the same process, panic again, and so on until the timeout.
EARLY_CMDLINE="earlyprintk=ttyS0,keep console=ttyS0 io_delay=none nokaslr mitigations=off no_timer_check panic=-1 reboot=k rv.marker=$MARKER"
T_BZ=${LINUX_BZ_TIMEOUT:-480} # ~150 s alone here; twice that and more when other VMs load the 2 CPUs
T_PVH=${LINUX_PVH_TIMEOUT:-150}

# --- the image ---
image_err=""
start=$SECONDS
# Idempotent: does nothing (and needs no network) when the image is there.
if ! bash tests/linux/build-image.sh >"$TMP/build.log" 2>&1; then
	image_err=$(grep -m1 'error:' "$TMP/build.log" || tail -n1 "$TMP/build.log")
	image_err="tests/linux/build-image.sh failed: ${image_err:-no output}"
	sed 's/^/# build: /' "$TMP/build.log" | tail -n 20
else
	echo "# Linux image ready in $((SECONDS - start)) s: $(tail -n1 "$TMP/build.log" | cut -c1-120)"
fi

# Early-boot checks on one run: check_early NAME PREFIX SECONDS
check_early() {
	local name=$1 p=$2 secs=$3 rc missing=() line ram_end
	rc=$(cat "$p.rc")
	ram_end=$(printf '0x%016x' $(( (MEM_MB << 20) - 1 )))
	local want=(
		"Linux version "
		"BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable"
		"BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved"
		"BIOS-e820: [mem 0x0000000000100000-$ram_end] usable"
		"Command line: $EARLY_CMDLINE"
		# MTRRs on (ringvisor sets MTRRdefType though KVM never lists it), so PAT has WC
		"x86/PAT: Configuration [0-7]: WB  WC  UC- UC  WB  WP  UC- WT"
		# our ACPI tables, as the kernel lists them, and its CPUs from the MADT
		"ACPI: RSDP 0x00000000000E0000 000024 (v02 RVISOR)"
		"ACPI: XSDT 0x"
		"ACPI: FACP 0x"
		"ACPI: DSDT 0x"
		"ACPI: APIC 0x"
		"ACPI: MCFG 0x"
		"ACPI: Using ACPI (MADT) for SMP configuration information"
	)
	for line in "${want[@]}"; do
		if grep -qF -- "$line" "$p.out"; then
			echo "# matched: $(grep -m1 -F -- "$line" "$p.out" | cut -c1-150)"
		else
			missing+=("'$line'")
		fi
	done
	echo "# exit status $rc after $secs s; $(grep -m1 -E 'guest stopped|VM stopped' "$p.err" || echo 'no stop reason logged')"
	grep -E 'error: vcpu[0-9]+: (suberror|rip=)' "$p.err" | head -n2 | sed 's/^/# /'
	if grep -q 'Firmware Bug' "$p.out"; then
		missing+=("no '[Firmware Bug]' line, but: $(grep -m1 'Firmware Bug' "$p.out")")
	fi
	if grep -qE 'ACPI (BIOS )?(Warning|Error)' "$p.out"; then
		missing+=("no ACPI warning or error, but: $(grep -m1 -E 'ACPI (BIOS )?(Warning|Error)' "$p.out")")
	fi
	if [ ${#missing[@]} -gt 0 ]; then
		fail "$name" "serial output lacks ${missing[*]} (exit status $rc; last line: $(tail -n1 "$p.out" | cut -c1-120))"
	elif [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		fail "$name" "the VMM did not exit within its timeout after the guest printed its banner"
	elif [ "$rc" = 3 ]; then
		# A fatal guest fault: the VMM must say why and print the registers.
		if grep -qE 'guest stopped: .+' "$p.err" && grep -q 'rip=' "$p.err" && grep -q 'VM stopped, exit status 3' "$p.err"; then
			pass "$name"
		else
			fail "$name" "exit status 3 without the exit reason and registers on stderr"
		fi
	elif [ "$rc" = 0 ]; then
		# Hardware virtualization: no root fs, the kernel panics and panic=-1 resets the VM.
		# (The banner itself may show twice: with earlyprintk's keep, the kernel's log is
		# replayed when the real console comes up, on the same port; so the VMM's log says
		# whether it rebooted, not a count of banners.)
		if grep -q 'Kernel panic - not syncing: VFS: Unable to mount root fs' "$p.out" &&
		   ! grep -q 'rebooting (boot' "$p.err"; then
			pass "$name"
		else
			fail "$name" "exit status 0, but not after one boot that ended in the no-root-fs panic ($(grep -c 'rebooting (boot' "$p.err") in-process reboots; last line: $(tail -n1 "$p.out" | cut -c1-120))"
		fi
	else
		fail "$name" "exit status $rc (want 3 on kvm_pvm, or 0 after the panic reset); $(grep -m1 error "$p.err")"
	fi
}

# --- 1. bzImage early boot ---
if [ -n "$image_err" ]; then
	fail linux_bzimage_early_boot "$image_err"
else
	start=$SECONDS
	rv_run "$TMP/bz" "$T_BZ" --kernel "$IMG/bzImage" --cmdline "$EARLY_CMDLINE" \
		--cpus boot=1 --memory size=${MEM_MB}M --serial tty
	check_early linux_bzimage_early_boot "$TMP/bz" $((SECONDS - start))
fi

# --- 2. PVH early boot ---
if [ -n "$image_err" ]; then
	fail linux_pvh_early_boot "$image_err"
else
	start=$SECONDS
	rv_run "$TMP/pvh" "$T_PVH" --kernel "$IMG/vmlinux" --cmdline "$EARLY_CMDLINE" \
		--cpus boot=1 --memory size=${MEM_MB}M --serial tty
	check_early linux_pvh_early_boot "$TMP/pvh" $((SECONDS - start))
fi
