#!/usr/bin/env bash
# Linux (tests/linux/) created and booted through the HTTP API with Cloud Hypervisor's
# request shapes, as an orchestrator would:
#   linux_api_early_boot   vm.create (payload.kernel = the PVH vmlinux, serial to a file),
#                          vm.boot; the kernel's banner and command line reach the serial
#                          file; vm.info says Running; vm.shutdown ends it wherever it is
#                          (on kvm_pvm the kernel would stop at an unemulatable instruction
#                          anyway, so the shutdown usually comes first); vm.delete
#   linux_api_full_boot    bzImage + initramfs, 2 vCPUs: /init runs and powers the VM off,
#                          which ends the VMM with status 0 and removes the socket (as in
#                          Cloud Hypervisor). Skipped on kvm_pvm, where Linux cannot boot.
#   linux_api_pause_resume_counters  a Linux guest with a disk and a TAP pings the host and
#                          writes 8 MiB (fsync); vm.info Running, vm.pause, Paused, vm.resume,
#                          Running; vm.counters count the disk's bytes and the frames; vm.shutdown
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/linux_lib.bash" # linux_flake

IMG=$PWD/$BUILD/linux
S=$TMP/api.sock
CMDLINE="earlyprintk=ttyS0,keep console=ttyS0 io_delay=none nokaslr mitigations=off no_timer_check panic=-1"

if ! bash tests/linux/build-image.sh >"$TMP/build.log" 2>&1; then
	err="tests/linux/build-image.sh failed: $(grep -m1 'error:' "$TMP/build.log" || tail -n1 "$TMP/build.log")"
	fail linux_api_early_boot "$err"
	for t in linux_api_full_boot linux_api_pause_resume_counters; do
		host_is_pvm && skip $t "/dev/kvm is kvm_pvm: stock Linux cannot boot here" || fail $t "$err"
	done
	exit 0
fi

# api METHOD ENDPOINT [curl args] (the HTTP status, body in $TMP/body), start_vmm (ringvisor
# listening on $S) and wait_gone PID SECONDS: lib.sh
API_MAX_TIME=30

# --- early boot through the API ---
start_vmm
body="{\"cpus\":{\"boot_vcpus\":1,\"max_vcpus\":1},\"memory\":{\"size\":536870912},
 \"payload\":{\"kernel\":\"$IMG/vmlinux\",\"cmdline\":\"$CMDLINE\"},
 \"serial\":{\"mode\":\"File\",\"file\":\"$TMP/serial\"},\"console\":{\"mode\":\"Off\"}}"
c=$(api PUT vm.create -H 'Content-Type: application/json' -d "$body")
b=$(api PUT vm.boot)
if [ "$c" != 204 ] || [ "$b" != 204 ]; then
	fail linux_api_early_boot "vm.create $c, vm.boot $b: $(cat "$TMP/body")"
else
	wait_line "$TMP/serial" 'Command line: ' 120
	st=$(api GET vm.info >/dev/null; grep -o '"state":"[A-Za-z]*"' "$TMP/body")
	sd=$(api PUT vm.shutdown)
	de=$(api PUT vm.delete)
	if ! grep -q 'Linux version ' "$TMP/serial" || ! grep -qF "Command line: $CMDLINE" "$TMP/serial"; then
		fail linux_api_early_boot "no banner/command line on the serial file: $(tail -n2 "$TMP/serial" 2>/dev/null | tr '\n' ' ')"
	elif [ "$sd" = 404 ] || [ "$sd" = 000 ] || [ "$de" != 204 ]; then
		# 404/000: the kernel stopped on its own (kvm_pvm) and the VMM exited before the shutdown
		if host_is_pvm && ! kill -0 $VMM 2>/dev/null && grep -q 'VM stopped, exit status 3' "$TMP/vmm.err"; then
			pass linux_api_early_boot
			echo "# the kernel stopped on kvm_pvm before vm.shutdown; the VMM exited with its status 3"
		else
			fail linux_api_early_boot "vm.info '$st', vm.shutdown $sd, vm.delete $de: $(tail -n3 "$TMP/vmm.err" | tr '\n' ' ')"
		fi
	else
		pass linux_api_early_boot
		echo "# $(grep -m1 'Linux version ' "$TMP/serial" | cut -c1-100); vm.info $st; vm.shutdown $sd"
	fi
fi
kill -0 $VMM 2>/dev/null && api PUT vmm.shutdown >/dev/null
wait_gone $VMM 10 || kill -9 $VMM
wait $VMM 2>/dev/null

# --- full boot to /init through the API ---
if host_is_pvm; then
	for t in linux_api_full_boot linux_api_pause_resume_counters; do
		skip $t "/dev/kvm is kvm_pvm (software virtualization): stock Linux stops at its first unemulatable CPL0 instruction; runs on hosts with VMX/SVM and in the KVM lab"
	done
	exit 0
fi
rm -f "$S" # a socket the first VMM left if it was killed
# In the lab, one more boot after a fatal exit, as linux_run does (linux_lib.bash).
for try in 1 2; do
	start_vmm
	body="{\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":2},\"memory\":{\"size\":536870912},
 \"payload\":{\"kernel\":\"$IMG/bzImage\",\"initramfs\":\"$IMG/initramfs.cpio.gz\",
 \"cmdline\":\"console=ttyS0 io_delay=none panic=-1 rv.job=poweroff\"},
 \"serial\":{\"mode\":\"File\",\"file\":\"$TMP/serial2\"},\"console\":{\"mode\":\"Off\"}}"
	c=$(api PUT vm.create -d "$body")
	b=$(api PUT vm.boot)
	rc=""
	if [ "$c" = 204 ] && [ "$b" = 204 ]; then
		if wait_gone $VMM 180; then
			wait $VMM; rc=$?
		else
			kill -9 $VMM
			wait $VMM 2>/dev/null
			rc=still-running
		fi
	fi
	{ [ "$rc" = 3 ] && [ "$try" = 1 ] && [ -n "${RV_LAB:-}" ]; } || break
	linux_flake "$TMP/full" "$TMP/vmm.err" "$TMP/serial2"
	rm -f "$S"
done
if [ "$c" != 204 ] || [ "$b" != 204 ]; then
	fail linux_api_full_boot "vm.create $c, vm.boot $b: $(cat "$TMP/body")"
elif [ "$rc" = still-running ]; then
	fail linux_api_full_boot "the VMM still ran 180 s after vm.boot: $(tail -n1 "$TMP/serial2" | cut -c1-120)"
elif grep -q '^ringvisor-linux: init reached' "$TMP/serial2" && [ "$rc" = 0 ] && ! [ -e "$S" ]; then
	pass linux_api_full_boot
else
	fail linux_api_full_boot "init reached: $(grep -c 'init reached' "$TMP/serial2"), exit $rc, socket left: $([ -e "$S" ] && echo yes || echo no); serial ends: $(tail -n3 "$TMP/serial2" | tr -d '\r' | tr '\n' '|' | cut -c1-400); VMM: $(grep -a -E 'error|warn|vcpu' "$TMP/vmm.err" | tail -n12 | tr '\n' '|')"
fi

# --- a Linux guest at work, driven as an orchestrator would: info, pause, resume, counters ---
source "$(dirname "${BASH_SOURCE[0]}")/net_lib.bash"
if [ ! -c /dev/net/tun ] || [ "$(id -u)" != 0 ]; then
	skip linux_api_pause_resume_counters "needs root and /dev/net/tun (the guest's TAP)"
	exit 0
fi
rm -f "$S"
start_vmm
X=$(net_subnet); T=$(net_tap_name a)
truncate -s 64M "$TMP/api.disk"
body="{\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":2},\"memory\":{\"size\":536870912},
 \"payload\":{\"kernel\":\"$IMG/bzImage\",\"initramfs\":\"$IMG/initramfs.cpio.gz\",
 \"cmdline\":\"console=ttyS0 io_delay=none panic=-1 rv.job=traffic rv.mb=8 rv.ip=172.30.$X.2 rv.peer=172.30.$X.1\"},
 \"disks\":[{\"path\":\"$TMP/api.disk\"}],
 \"net\":[{\"tap\":\"$T\",\"ip\":\"172.30.$X.1\",\"mask\":\"255.255.255.0\"}],
 \"serial\":{\"mode\":\"File\",\"file\":\"$TMP/serial3\"},\"console\":{\"mode\":\"Off\"}}"
c=$(api PUT vm.create -d "$body")
b=$(api PUT vm.boot)
problems=()
if [ "$c" != 204 ] || [ "$b" != 204 ]; then
	problems+=("vm.create $c, vm.boot $b: $(cat "$TMP/body")")
elif ! wait_line "$TMP/serial3" '^ringvisor-linux: holding' 240 "$VMM"; then
	problems+=("the guest never got to 'holding': $(tail -n2 "$TMP/serial3" | tr -d '\r' | tr '\n' ' ')")
else
	state() { api GET vm.info >/dev/null; grep -o '"state":"[A-Za-z]*"' "$TMP/body"; }
	[ "$(state)" = '"state":"Running"' ] || problems+=("vm.info before pause: $(state)")
	[ "$(api PUT vm.pause)" = 204 ] || problems+=("vm.pause: $(cat "$TMP/body")")
	[ "$(state)" = '"state":"Paused"' ] || problems+=("vm.info after pause: $(state)")
	[ "$(api PUT vm.resume)" = 204 ] || problems+=("vm.resume: $(cat "$TMP/body")")
	[ "$(state)" = '"state":"Running"' ] || problems+=("vm.info after resume: $(state)")
	if [ "$(api GET vm.counters)" != 200 ]; then
		problems+=("vm.counters: $(cat "$TMP/body")")
	else
		counters=$(cat "$TMP/body")
		echo "# vm.counters: $(echo "$counters" | cut -c1-300)"
		wb=$(echo "$counters" | grep -oE '"disk0":\{[^}]*' | grep -oE '"write_bytes":[0-9]+' | cut -d: -f2)
		tx=$(echo "$counters" | grep -oE '"net0":\{[^}]*' | grep -oE '"tx_frames":[0-9]+' | cut -d: -f2)
		rx=$(echo "$counters" | grep -oE '"net0":\{[^}]*' | grep -oE '"rx_frames":[0-9]+' | cut -d: -f2)
		[ "${wb:-0}" -ge $((8 << 20)) ] || problems+=("disk0 write_bytes=${wb:-none}, the guest wrote 8 MiB")
		[ "${tx:-0}" -ge 3 ] && [ "${rx:-0}" -ge 3 ] || problems+=("net0 tx_frames=${tx:-none} rx_frames=${rx:-none}, the guest pinged 3 times")
	fi
	grep -q '^ringvisor-linux: traffic_ping=ok' "$TMP/serial3" || problems+=("the guest's ping failed")
	[ "$(api PUT vm.shutdown)" = 204 ] || problems+=("vm.shutdown: $(cat "$TMP/body")")
fi
kill -0 $VMM 2>/dev/null && api PUT vmm.shutdown >/dev/null
wait_gone $VMM 20 || kill -9 $VMM
wait $VMM 2>/dev/null
if [ ${#problems[@]} -eq 0 ]; then
	pass linux_api_pause_resume_counters
else
	fail linux_api_pause_resume_counters "${problems[*]}"
fi
