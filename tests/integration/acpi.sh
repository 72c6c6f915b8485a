#!/usr/bin/env bash
# ACPI and the platform: the guest kit finds every vCPU through the MADT and starts them;
# the dumped tables decompile with iasl without errors; powering off through the FADT's
# sleep control register ends the VMM with 0; the FADT's reset register reboots the VM in
# the same process (the kit counts its boots in a disk stamp: two boots, one exit 0);
# SIGPWR presses the GED power button and the kit powers off; a virtio-mmio disk and a
# virtio-pci disk both pass blk-verify in one guest. Under QEMU (same binary) the kit
# reads QEMU's own tables and powers off through the PM1 control block.
source "$(dirname "$0")/lib.sh"

K=(--kernel "$GUEST_ELF" --memory size=256M)

# All vCPUs from the MADT
p=$TMP/smp
rv_run "$p" 120 "${K[@]}" --cpus boot=4 --cmdline "job=smp"
if [ "$(cat "$p.rc")" = 0 ] && grep -q 'cpus_source=madt cpus_madt=4' "$p.out" &&
   grep -q 'cpus_checked_in=4 cpus_expected=4' "$p.out"; then
	pass madt_lists_and_starts_every_vcpu
else
	fail madt_lists_and_starts_every_vcpu "rc=$(cat "$p.rc"): $(grep -v '^e820' "$p.out" | tr '\n' ' ')"
fi

# acpi=off: the MP table still lists every vCPU
p=$TMP/smp_noacpi
rv_run "$p" 120 "${K[@]}" --cpus boot=3 --cmdline "job=smp acpi=off"
if [ "$(cat "$p.rc")" = 0 ] && grep -q 'cpus_source=mptable' "$p.out" &&
   grep -q 'cpus_checked_in=3 cpus_expected=3' "$p.out"; then
	pass mptable_still_lists_every_vcpu
else
	fail mptable_still_lists_every_vcpu "rc=$(cat "$p.rc"): $(grep -v '^e820' "$p.out" | tr '\n' ' ')"
fi

# acpi-info: the RSDP through PVH, the tables, the FADT registers
p=$TMP/info
truncate -s 16M "$TMP/d.img"
rv_run "$p" 60 "${K[@]}" --cpus boot=2 --disk path="$TMP/d.img",transport=mmio --cmdline "job=acpi-info"
missing=""
for want in 'rsdp_source=pvh rsdp_rev=2' 'acpi_table sig=FACP' 'acpi_table sig=APIC' 'acpi_table sig=MCFG' \
	'acpi_table sig=DSDT' 'fadt hw_reduced=1 sleep_control=1:0x600 reset=1:0x602 reset_value=0x1' 's5_slp_typ=5' \
	'ged=0xd2000000' 'cpus_madt=2'; do
	grep -q "$want" "$p.out" || missing="$missing [$want]"
done
if [ "$(cat "$p.rc")" = 0 ] && [ -z "$missing" ]; then
	pass acpi_tables_seen_by_guest
else
	fail acpi_tables_seen_by_guest "rc=$(cat "$p.rc") missing:$missing"
fi

# iasl -d on every table ringvisor dumps
if ! command -v iasl >/dev/null; then
	skip acpi_tables_decompile "iasl is not installed (Debian package acpica-tools; make deps installs it)"
else
	d=$TMP/tables
	mkdir -p "$d"
	p=$TMP/dump
	rv_run "$p" 60 "${K[@]}" --cpus boot=3 --disk path="$TMP/d.img",transport=mmio --disk path="$TMP/d.img",readonly=on \
		--dump-acpi "$d" --cmdline "job=boot"
	errs=""
	for sig in DSDT FACP APIC MCFG XSDT RSDP; do
		[ -s "$d/$sig.dat" ] || errs="$errs [$sig.dat missing]"
	done
	for f in "$d"/*.dat; do
		[ "$(basename "$f")" = RSDP.dat ] && continue # iasl reads tables with a standard header
		out=$( cd "$d" && iasl -d "$(basename "$f")" 2>&1 )
		rc=$?
		# "Firmware Warning" lines are iasl judging an empty PM timer field of a
		# hardware-reduced FADT; only errors fail the test.
		if [ $rc -ne 0 ] || grep -iE 'error' <<<"$out" | grep -qvE '(^| )0 Errors'; then
			errs="$errs [$(basename "$f"): $(grep -iE 'error' <<<"$out" | head -n3 | tr '\n' ' ')]"
		fi
	done
	if [ -z "$errs" ] && grep -q 'Device (VR00)' "$d/DSDT.dsl" && grep -q 'LNRO0005' "$d/DSDT.dsl" &&
	   grep -q 'ACPI0013' "$d/DSDT.dsl" && grep -q 'PNP0A08' "$d/DSDT.dsl" && grep -q 'Hardware Reduced (V5) : 1' "$d/FACP.dsl" &&
	   [ "$(grep -c 'Local Apic ID' "$d/APIC.dsl")" = 3 ]; then
		pass acpi_tables_decompile
	else
		fail acpi_tables_decompile "rc=$(cat "$p.rc")$errs"
	fi
fi

# Power off through the FADT: exit 0
p=$TMP/off
rv_run "$p" 60 "${K[@]}" --cmdline "job=poweroff"
if [ "$(cat "$p.rc")" = 0 ] && grep -q 'poweroff=sleep_control slp_typ=5' "$p.out" &&
   grep -q 'the guest powered off (ACPI S5)' "$p.err"; then
	pass acpi_poweroff_exits_0
else
	fail acpi_poweroff_exits_0 "rc=$(cat "$p.rc"): $(grep -v '^e820' "$p.out" | tr '\n' ' ') $(tail -n2 "$p.err" | tr '\n' ' ')"
fi

# Reset through the FADT: the VM boots again in the same process, the disk keeps its data
p=$TMP/reboot
rm -f "$TMP/r.img"; truncate -s 8M "$TMP/r.img"
rv_run "$p" 120 "${K[@]}" --serial file="$p.serial" --disk path="$TMP/r.img" --cmdline "job=reboot"
boots=$(grep -c '^kit=ringvisor-guest-kit' "$p.serial" 2>/dev/null)
if [ "$(cat "$p.rc")" = 0 ] && [ "$boots" = 2 ] && grep -q '^boot_count=1' "$p.serial" &&
   grep -q '^boot_count=2' "$p.serial" && grep -q '^result=pass' "$p.serial" &&
   grep -q 'reset through the ACPI reset register' "$p.err" && grep -q 'rebooting (boot 2)' "$p.err"; then
	pass acpi_reset_reboots_in_process
else
	fail acpi_reset_reboots_in_process "rc=$(cat "$p.rc") boots=$boots: $(grep -v '^e820' "$p.serial" | tr '\n' ' ')"
fi

# SIGPWR: the GED power button; the kit answers by powering off
p=$TMP/pwr
"$RINGVISOR" "${K[@]}" --cmdline "job=powerbutton" </dev/null >"$p.out" 2>"$p.err" &
pid=$!
if ! wait_line "$p.out" '^powerbutton=waiting' 20; then
	kill -9 $pid 2>/dev/null
	fail sigpwr_power_button_powers_off "guest never waited: $(tr '\n' ' ' <"$p.out")"
else
	kill -PWR $pid
	wait_gone $pid 20 || kill -9 $pid
	wait $pid
	rc=$?
	if [ $rc = 0 ] && grep -q '^powerbutton=pressed' "$p.out" && grep -q 'power button pressed' "$p.err" &&
	   grep -q 'the guest powered off (ACPI S5)' "$p.err"; then
		pass sigpwr_power_button_powers_off
	else
		fail sigpwr_power_button_powers_off "rc=$rc: $(grep -v '^e820' "$p.out" | tr '\n' ' ') $(tail -n3 "$p.err" | tr '\n' ' ')"
	fi
fi

# One disk over virtio-mmio, one over virtio-pci: both pass verify in one guest
p=$TMP/mix
truncate -s 16M "$TMP/m0.img" "$TMP/m1.img"
rv_run "$p" 180 "${K[@]}" --cpus boot=2 --disk path="$TMP/m0.img",transport=mmio --disk path="$TMP/m1.img",transport=pci \
	--cmdline "job=blk-verify"
if [ "$(cat "$p.rc")" = 0 ] && [ "$(grep -c 'mismatches=0 status_errors=0' "$p.out")" = 2 ] &&
   grep -q 'disk0: .*virtio-mmio at 0xd1000000 IRQ 5' "$p.err" && grep -q 'disk1: .*virtio-pci' "$p.err" &&
   grep -q '^result=pass' "$p.out"; then
	pass virtio_mmio_and_pci_disks_verify
else
	fail virtio_mmio_and_pci_disks_verify "rc=$(cat "$p.rc"): $(grep -v '^e820' "$p.out" | tr '\n' ' ')"
fi

# A virtio-mmio disk's completions interrupt through its IOAPIC pin (irqfd on the GSI)
for ei in 0 1; do
	p=$TMP/mirq$ei
	rv_run "$p" 60 "${K[@]}" --disk path="$TMP/m0.img",transport=mmio --cmdline "job=blk-irq n=200 event_idx=$ei"
	if [ "$(cat "$p.rc")" = 0 ] && grep -q 'irq_route=ioapic pin=5' "$p.out" &&
	   grep -q 'irq requests=200 interrupts=200 .* used_before_irq_violations=0' "$p.out"; then
		pass virtio_mmio_interrupts_event_idx_$ei
	else
		fail virtio_mmio_interrupts_event_idx_$ei "rc=$(cat "$p.rc"): $(grep -v '^e820' "$p.out" | tr '\n' ' ')"
	fi
done

# The VM default: every disk over MMIO, discovered in command-line order; the kernel
# command line carries them for Linux
p=$TMP/cmd
rv_run "$p" 60 "${K[@]}" --platform virtio_transport=mmio --disk path="$TMP/m0.img" --disk path="$TMP/m1.img" \
	--cmdline "job=boot"
if [ "$(cat "$p.rc")" = 0 ] &&
   grep -q '^cmdline=job=boot virtio_mmio.device=4K@0xd1000000:5 virtio_mmio.device=4K@0xd1001000:6$' "$p.out"; then
	pass virtio_mmio_on_kernel_cmdline
else
	fail virtio_mmio_on_kernel_cmdline "rc=$(cat "$p.rc"): $(grep '^cmdline' "$p.out")"
fi

p=$TMP/plat
rv_run "$p" 120 "${K[@]}" --platform virtio_transport=mmio --disk path="$TMP/m0.img" --disk path="$TMP/m1.img",serial=two \
	--cmdline "job=blk-info"
if [ "$(cat "$p.rc")" = 0 ] && grep -q 'blk dev=0 mmio=0xd1000000 irq=5' "$p.out" &&
   grep -q 'blk dev=1 mmio=0xd1001000 irq=6' "$p.out" && grep -q 'blk_devices=2' "$p.out"; then
	pass platform_default_transport_mmio
else
	fail platform_default_transport_mmio "rc=$(cat "$p.rc"): $(grep -v '^e820' "$p.out" | tr '\n' ' ')"
fi

# The same kit under QEMU: QEMU's (non-reduced) tables, PM1 control poweroff
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip qemu_kit_reads_acpi "qemu-system-x86_64 is not installed"
else
	p=$TMP/q
	timeout -k 5 120 bash tests/guest/run-qemu.sh job=acpi-info >"$p.info" 2>&1
	timeout -k 5 120 bash tests/guest/run-qemu.sh job=poweroff >"$p.off" 2>&1
	qrc=$?
	if grep -q 'cpus_madt=' "$p.info" && grep -q 'acpi_table sig=FACP' "$p.info" && grep -q '^result=pass' "$p.info" &&
	   grep -q 'poweroff=pm1_control' "$p.off" && ! grep -q 'result=fail' "$p.off" && [ $qrc = 0 ]; then
		pass qemu_kit_reads_acpi
	else
		fail qemu_kit_reads_acpi "qemu rc=$qrc: $(grep -v '^e820' "$p.info" "$p.off" | tail -n 12 | tr '\n' ' ')"
	fi
fi
