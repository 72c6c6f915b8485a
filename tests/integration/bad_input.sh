#!/usr/bin/env bash
# Bad input: every case must end with a one-line error on stderr and a non-zero exit,
# never a crash (signal), hang (timeout) or core dump. Also the startup checks: no
# /dev/kvm, no permission, io_uring refused.
source "$(dirname "$0")/lib.sh"

# check NAME EXPECTED_STDERR_REGEX -- ringvisor args...
check() {
	local name=$1 want=$2; shift 3
	local p=$TMP/$name
	rv_run "$p" 30 "$@"
	local rc; rc=$(cat "$p.rc")
	local errs; errs=$(grep -c 'error' "$p.err")
	if [ "$rc" = 0 ]; then
		fail "$name" "exited 0"
	elif [ "$rc" -ge 124 ]; then
		fail "$name" "exit status $rc (crash, signal or timeout): $(tail -n2 "$p.err" | tr '\n' ' ')"
	elif ! grep -qE -- "$want" "$p.err"; then
		fail "$name" "stderr does not match /$want/: $(tr '\n' ' ' <"$p.err")"
	elif [ "$errs" -ne 1 ]; then
		fail "$name" "expected one error line, got $errs: $(tr '\n' ' ' <"$p.err")"
	else
		pass "$name"
	fi
}

printf 'this is not a kernel\n' >"$TMP/not-a-kernel"
head -c 600 /dev/zero >"$TMP/zeros"

check bad_missing_kernel_file "cannot open kernel '/nonexistent/bzImage': No such file" -- --kernel /nonexistent/bzImage
check bad_no_kernel_flag "no kernel given" -- --memory size=256M
check bad_not_a_kernel "neither a bzImage nor an ELF with a PVH entry note" -- --kernel "$TMP/not-a-kernel"
check bad_zero_file "neither a bzImage nor an ELF" -- --kernel "$TMP/zeros"
check bad_elf_without_pvh_note "ELF without a usable PVH entry note" -- --kernel /bin/true
check bad_kernel_is_directory "is not a regular file" -- --kernel /tmp
check bad_memory_zero "size=0 needs at least one --memory-zone" -- --kernel "$GUEST_ELF" --memory size=0
check bad_memory_garbage "size='lots' is not a size" -- --kernel "$GUEST_ELF" --memory size=lots
check bad_memory_too_small "too small" -- --kernel "$GUEST_ELF" --memory size=1M
check bad_memory_unmappable "physical address space|cannot map" -- --kernel "$GUEST_ELF" --memory size=16000T
check bad_memory_huge_unmappable "physical address space|cannot map|cannot size" -- --kernel "$GUEST_ELF" --memory size=200T
check bad_cpus_zero "--cpus boot=0: must be a number from 1 to" -- --kernel "$GUEST_ELF" --cpus boot=0
check bad_cpus_1000 "--cpus boot=1000: must be a number from 1 to" -- --kernel "$GUEST_ELF" --cpus boot=1000
check bad_cpus_negative "--cpus boot=-1" -- --kernel "$GUEST_ELF" --cpus boot=-1
check bad_cpus_unknown_key "unknown option 'cores'" -- --kernel "$GUEST_ELF" --cpus cores=2
check bad_unknown_flag "unknown option '--frobnicate'" -- --kernel "$GUEST_ELF" --frobnicate
check bad_flag_without_value "--memory needs a value" -- --kernel "$GUEST_ELF" --memory
check bad_stray_argument "unexpected argument 'extra'" -- --kernel "$GUEST_ELF" extra
check bad_serial_mode "not one of tty, file=PATH, off, null" -- --kernel "$GUEST_ELF" --serial socket
check bad_serial_file_dir "--serial file=/nonexistent/dir/x: cannot open" -- --kernel "$GUEST_ELF" --serial file=/nonexistent/dir/x
check bad_initramfs_missing "cannot open initramfs '/nonexistent/initrd'" -- --kernel "$GUEST_ELF" --initramfs /nonexistent/initrd

# Startup checks
RINGVISOR_KVM_DEVICE=/nonexistent/kvm check startup_no_kvm "/nonexistent/kvm does not exist: this host has no KVM" -- --kernel "$GUEST_ELF"
export -n RINGVISOR_KVM_DEVICE
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	p=$TMP/perm
	timeout 30 setpriv --reuid=65534 --regid=65534 --clear-groups "$RINGVISOR" --kernel "$GUEST_ELF" </dev/null >"$p.out" 2>"$p.err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 124 ] && grep -q "no permission to open /dev/kvm: add this user to the 'kvm' group" "$p.err"; then
		pass startup_kvm_permission
	else
		fail startup_kvm_permission "rc=$rc: $(tr '\n' ' ' <"$p.err")"
	fi
else
	skip startup_kvm_permission "needs root and setpriv to drop to an unprivileged user"
fi
DENY=$PWD/$BUILD/tests/deny_io_uring
if [ -x "$DENY" ]; then
	p=$TMP/uring
	timeout 30 "$DENY" "$RINGVISOR" --kernel "$GUEST_ELF" </dev/null >"$p.out" 2>"$p.err"
	rc=$?
	if [ $rc -ne 0 ] && [ $rc -lt 124 ] && grep -q "seccomp profile .* blocks io_uring" "$p.err"; then
		pass startup_io_uring_refused
	else
		fail startup_io_uring_refused "rc=$rc: $(tr '\n' ' ' <"$p.err")"
	fi
else
	fail startup_io_uring_refused "$DENY was not built"
fi

# --help and --version work and exit 0
if "$RINGVISOR" --help | grep -q -- '--kernel PATH' && "$RINGVISOR" --version | grep -q '^ringvisor '; then
	pass cli_help_version
else
	fail cli_help_version "--help or --version output unexpected"
fi
