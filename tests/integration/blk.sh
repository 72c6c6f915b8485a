#!/usr/bin/env bash
# virtio-blk over PCI with the guest kit's driver: discovery and sizes, verify on two
# disks across every queue, readonly, discard punching holes, write-zeroes, reset and
# re-init, hostile chains (the device needs a reset, a second disk keeps working), and
# data safety: a completed flush survives SIGKILL of the VMM.
source "$(dirname "$0")/lib.sh"

D=/dev/shm/rv-blk-test.$$
mkdir -p "$D"
trap 'rm -rf "$TMP" "$D"' EXIT

rv_blk() { # prefix timeout cmdline disk-args...
	local p=$1 t=$2 cmd=$3; shift 3
	rv_run "$p" "$t" --kernel "$GUEST_ELF" --cpus boot=2 --memory size=256M --cmdline "$cmd" "$@"
}

# --- discovery and sizes: capacity from the file, serial, one queue per vCPU ---
truncate -s 64M "$D/a.img"
truncate -s 1M "$D/small.img"
truncate -s 4G "$D/big.img"
head -c $((1024 * 1024 + 100)) /dev/zero >"$D/odd.img"
p=$TMP/info
rv_blk "$p" 60 "job=blk-info" --disk path="$D/a.img",serial=alpha --disk path="$D/small.img" \
	--disk path="$D/big.img",num_queues=1 --disk path="$D/odd.img",readonly=on
if ok_run "$p" &&
   grep -q 'blk dev=0 .*capacity_sectors=131072 .*num_queues=2 .*serial=alpha' "$p.out" &&
   grep -q 'blk dev=1 .*capacity_sectors=2048 .*serial=disk1' "$p.out" &&
   grep -q 'blk dev=2 .*capacity_sectors=8388608 .*num_queues=1' "$p.out" &&
   grep -q 'blk dev=3 .*capacity_sectors=2048' "$p.out" &&
   grep -q 'odd.img: size 1048676 is not a multiple of 512' "$p.err"; then
	pass blk_discovery_and_sizes
else
	fail blk_discovery_and_sizes "$(why "$p") $(grep '^blk dev' "$p.out" | tr '\n' ' ')"
fi

# --- verify on two disks, every queue used ---
truncate -s 64M "$D/b.img"
p=$TMP/verify
rv_blk "$p" 120 "job=blk-verify mib=16" --disk path="$D/a.img" --disk path="$D/b.img"
if ok_run "$p" && [ "$(grep -c '^verify .*mismatches=0 status_errors=0' "$p.out")" = 2 ]; then
	pass blk_verify_two_disks
else
	fail blk_verify_two_disks "$(why "$p") $(grep '^verify' "$p.out" | tr '\n' ' ')"
fi
# every queue of both disks carried requests
if ok_run "$p" && [ "$(grep -cE '^queue=[01] ops=[1-9]' "$p.out")" = 4 ]; then
	pass blk_multiqueue_uses_every_queue
else
	fail blk_multiqueue_uses_every_queue "$(grep '^queue=' "$p.out" | tr '\n' ' ')"
fi

# --- buffered I/O (direct=off) and a 4-queue disk on 2 vCPUs ---
p=$TMP/buffered
rv_blk "$p" 120 "job=blk-verify mib=8" --disk path="$D/a.img",direct=off,num_queues=4,queue_size=64
if ok_run "$p" && grep -q '^verify .*queues=4 mismatches=0' "$p.out"; then
	pass blk_verify_buffered_4_queues
else
	fail blk_verify_buffered_4_queues "$(why "$p")"
fi

# --- readonly: writes are refused, the file is untouched ---
sum_before=$(md5sum <"$D/a.img")
p=$TMP/ro
rv_blk "$p" 60 "job=blk-verify mib=1" --disk path="$D/a.img",readonly=on
if [ "$(cat "$p.rc")" = 0 ] && grep -q 'ro_write_rejected=1' "$p.out" && [ "$(md5sum <"$D/a.img")" = "$sum_before" ]; then
	pass blk_readonly_rejects_writes
else
	fail blk_readonly_rejects_writes "$(why "$p") $(grep -E 'readonly|ro_' "$p.out" | tr '\n' ' ')"
fi

# --- data safety: flush completes, VMM SIGKILLed, the data is in the file ---
truncate -s 32M "$D/safe.img"
p=$TMP/safe
"$RINGVISOR" --kernel "$GUEST_ELF" --memory size=256M --disk path="$D/safe.img" \
	--cmdline "job=blk-verify disk=0 mib=8 seed=4242 write_only=1" </dev/null >"$p.out" 2>"$p.err" &
pid=$!
wait_line "$p.out" '^flushed=1' 30
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
if ! grep -q '^flushed=1' "$p.out"; then
	fail blk_flush_survives_sigkill "the guest never reported its flush: $(tail -n2 "$p.out" | tr '\n' ' ')"
else
	# The file is read back by a fresh VMM (O_DIRECT) and checked block by block.
	p2=$TMP/safe2
	rv_run "$p2" 120 --kernel "$GUEST_ELF" --memory size=256M --disk path="$D/safe.img" \
		--cmdline "job=blk-verify disk=0 mib=8 seed=4242 read_only=1"
	if ok_run "$p2" && grep -q '^verify .*mismatches=0' "$p2.out"; then
		pass blk_flush_survives_sigkill
	else
		fail blk_flush_survives_sigkill "after SIGKILL: $(why "$p2")"
	fi
fi

# --- a host error (ENOSPC on a full file system) fails those requests only ---
if mkdir -p "$D/tiny" && mount -t tmpfs -o size=2M rv-tiny "$D/tiny" 2>/dev/null; then
	truncate -s 16M "$D/tiny/full.img"
	truncate -s 16M "$D/ok.img"
	p=$TMP/enospc
	rv_blk "$p" 120 "job=blk-verify disk=all mib=8" --disk path="$D/tiny/full.img" --disk path="$D/ok.img"
	# The kernel drops an exited io_uring's file references asynchronously: retry briefly.
	for _ in $(seq 1 50); do umount "$D/tiny" 2>/dev/null && break; sleep 0.1; done
	if grep -q 'No space left on device' "$p.err" && grep -qE '^verify disk=0 .*status_errors=[1-9]' "$p.out" &&
	   ! grep -q 'needs reset' "$p.err" && [ "$(cat "$p.rc")" -lt 3 ]; then
		pass blk_host_error_fails_requests_only
	else
		fail blk_host_error_fails_requests_only "$(why "$p") $(grep '^verify' "$p.out" | tr '\n' ' ')"
	fi
else
	skip blk_host_error_fails_requests_only "cannot mount a small tmpfs here (needs root)"
fi

# --- hostile chains: each puts disk0 in NEEDS_RESET; disk1 keeps working; disk0 works after a reset ---
truncate -s 64M "$D/h0.img" "$D/h1.img"
p=$TMP/hostile
rv_blk "$p" 120 "job=blk-hostile" --disk path="$D/h0.img" --disk path="$D/h1.img"
n_cases=$(grep -c '^hostile case=' "$p.out")
if ok_run "$p" && [ "$n_cases" -ge 9 ] && [ "$(grep -c '^hostile case=.*outcome=needs_reset' "$p.out")" = "$n_cases" ] &&
   grep -q '^hostile_second_disk=ok' "$p.out" && grep -q '^hostile_disk0_after_reset=ok' "$p.out" &&
   [ "$(grep -c 'disk0: queue 0: .*device needs reset' "$p.err")" = "$n_cases" ]; then
	pass blk_hostile_needs_reset_second_disk_ok
else
	fail blk_hostile_needs_reset_second_disk_ok "$(why "$p") $(grep -E '^hostile' "$p.out" | tr '\n' ' ')"
fi

# --- discard punches holes in the host file; write-zeroes reads back zeros (tmpfs and ext4-like) ---
for fs in "$D" /var/tmp; do
	f=$fs/rv-discard.$$.img
	dd if=/dev/urandom of="$f" bs=1M count=32 status=none
	before=$(stat -c %b "$f")
	p=$TMP/discard
	rv_blk "$p" 60 "job=blk-discard disk=0 offset_mib=8 mib=8" --disk path="$f"
	after=$(stat -c %b "$f")
	rm -f "$f"
	name=blk_discard_punches_holes_$(df --output=fstype "$fs" | tail -n1 | tr -d ' ')
	if ok_run "$p" && grep -q '^discard=ok write_zeroes=ok' "$p.out" && [ "$after" -lt "$before" ]; then
		pass "$name"
	else
		fail "$name" "$(why "$p") allocated blocks before=$before after=$after $(grep discard= "$p.out")"
	fi
done

# --- reset and re-init ---
p=$TMP/reset
rv_blk "$p" 60 "job=blk-reset" --disk path="$D/h0.img"
if ok_run "$p" && grep -q '^reset_reinit=ok' "$p.out"; then
	pass blk_reset_and_reinit
else
	fail blk_reset_and_reinit "$(why "$p")"
fi

# --- MSI-X: completions announced by interrupts (MSI-X table -> KVM GSI route -> irqfd);
#     a masked vector holds its interrupt, shows it in the PBA and delivers it on unmask ---
for ei in 1 0; do
	p=$TMP/irq$ei
	rv_blk "$p" 60 "job=blk-irq n=200 event_idx=$ei" --disk path="$D/h0.img"
	if ok_run "$p" && grep -q '^irq requests=200 interrupts=200 .*used_before_irq_violations=0' "$p.out" &&
	   grep -q '^bad_vector_refused=1' "$p.out" && grep -q '^msix_masked .*pba_pending=1 delivered_on_unmask=1' "$p.out"; then
		pass blk_msix_interrupts_event_idx_$ei
	else
		fail blk_msix_interrupts_event_idx_$ei "$(why "$p") $(grep -E '^irq|^msix' "$p.out")"
	fi
done
# 40 and 64 queues: the last vector's pending bit is in the upper dword of the PBA's first
# qword (40), or in its second qword (64); both read as 0 when only the first qword's low
# dword was served
pba_ok=1 pba_why=""
for nq in 40 64; do
	p=$TMP/irq$nq
	rv_blk "$p" 60 "job=blk-irq n=20" --disk path="$D/h0.img",num_queues=$nq
	if ! ok_run "$p" || ! grep -q "^msix_masked entry=$nq pba_pending=1 delivered_on_unmask=1" "$p.out"; then
		pba_ok=0 pba_why+="$nq queues: $(why "$p") $(grep -E '^msix' "$p.out"); "
	fi
done
if [ $pba_ok = 1 ]; then pass blk_msix_pba_every_vector; else fail blk_msix_pba_every_vector "$pba_why"; fi

# --- adjacent requests merged into one SQE still land exactly where they belong ---
truncate -s 64M "$D/m.img"
p=$TMP/merge
rv_blk "$p" 60 "job=blk-verify mib=32 qd=16 queues=1" --disk path="$D/m.img",num_queues=1
if ok_run "$p" && grep -q '^verify .*mismatches=0 status_errors=0' "$p.out" && grep -qE 'disk0: .* merged=[1-9]' "$p.err"; then
	pass blk_merged_requests_verify
else
	fail blk_merged_requests_verify "$(why "$p") $(grep -oE 'merged=[0-9]+' "$p.err")"
fi
