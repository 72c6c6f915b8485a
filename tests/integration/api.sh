#!/usr/bin/env bash
# The HTTP API (--api-socket), driven with curl --unix-socket: every endpoint, every
# status code, every bad-input class; Cloud Hypervisor's documented request flow on the
# guest kit; pause/resume seen from the guest's own counter; 1,000 connections at once;
# a stalled half request closed on its timeout while others are served; the socket file
# (stale replaced, live refused, removed at exit); ringvisor-remote.
source "$(dirname "$0")/lib.sh"

REMOTE=${REMOTE:-$PWD/$BUILD/ringvisor-remote}
LOAD=$PWD/$BUILD/tests/api_load
RAW="python3 $PWD/tests/tools/http_raw.py"
S=$TMP/api.sock
DISK=$TMP/disk.img
truncate -s 16M "$DISK"

# start_vmm (ringvisor listening on $S), api METHOD ENDPOINT (prints the HTTP status, body in
# $TMP/body) and wait_gone come from lib.sh.
API_SOCKET="path=$S,timeout_ms=1000,max_connections=1100"

expect() { # name want-status METHOD ENDPOINT [curl args...]
	local name=$1 want=$2; shift 2
	local got
	got=$(api "$@")
	if [ "$got" != "$want" ]; then
		fail "$name" "$1 $2: HTTP $got, want $want: $(cat "$TMP/body")"
		return 1
	fi
	if [ "${want:0:1}" = 4 ] && ! grep -q '"error":' "$TMP/body"; then
		fail "$name" "$1 $2: HTTP $got without a JSON error body: $(cat "$TMP/body")"
		return 1
	fi
	return 0
}
ticks() { local n; n=$(grep -c '^tick=' "$TMP/serial" 2>/dev/null); echo "${n:-0}"; }
wait_ticks() { # n: until the serial file shows more than n ticks (10 s)
	for _ in $(seq 1 100); do [ "$(ticks)" -gt "$1" ] && return 0; sleep 0.1; done
	return 1
}

start_vmm
if ! [ -S "$S" ]; then
	fail api_start "no socket after start: $(cat "$TMP/vmm.err")"
	exit 0
fi

# ---- no VM: ping works, everything else is 404; wrong method 405; unknown 404 ----
ok=1
expect api_ping 200 GET vmm.ping && grep -q '"version":' "$TMP/body" || ok=0
for e in vm.boot vm.shutdown vm.reboot vm.pause vm.resume vm.power-button vm.delete; do
	expect api_no_vm 404 PUT "$e" || ok=0
done
for e in vm.info vm.counters; do expect api_no_vm 404 GET "$e" || ok=0; done
expect api_wrong_method 405 PUT vmm.ping || ok=0
expect api_wrong_method 405 GET vm.create || ok=0
expect api_unknown_path 404 GET vm.nonsense || ok=0
[ $ok = 1 ] && pass api_no_vm_codes

# ---- bad input: every class answered 4xx with a JSON error naming the problem ----
bad_create() { # name want-substring body
	local got
	got=$(api PUT vm.create -H 'Content-Type: application/json' -d "$3")
	if [ "$got" != 400 ] || ! grep -q "$2" "$TMP/body"; then
		fail "api_bad_$1" "HTTP $got: $(cat "$TMP/body") (want 400 naming '$2')"
	else
		pass "api_bad_$1"
	fi
}
K="\"payload\":{\"kernel\":\"$GUEST_ELF\"}"
bad_create invalid_json "invalid JSON" '{"cpus": {'
bad_create not_object "must be an object" '[1,2]'
bad_create wrong_type "cpus.boot_vcpus" "{$K,\"cpus\":{\"boot_vcpus\":\"two\"}}"
bad_create unknown_field "frobnicate: unknown field" "{$K,\"frobnicate\":1}"
bad_create out_of_range "cpus.boot_vcpus" "{$K,\"cpus\":{\"boot_vcpus\":100000}}"
bad_create zero_memory "memory.size" "{$K,\"memory\":{\"size\":0}}"
bad_create missing_kernel "payload.kernel: $TMP/nope" "{\"payload\":{\"kernel\":\"$TMP/nope\"}}"
bad_create missing_disk "disks\[0\].path" "{$K,\"disks\":[{\"path\":\"$TMP/nodisk\"}]}"
bad_create unsupported "memory.mergeable" "{$K,\"memory\":{\"size\":67108864,\"mergeable\":true}}"
bad_create no_payload "payload: required" '{"cpus":{"boot_vcpus":1,"max_vcpus":1}}'

raw_status() { $RAW "$S" send "$1" | head -n1 | awk '{print $2}'; }
check_raw() { # name want data
	local got
	got=$(raw_status "$3")
	[ "$got" = "$2" ] && pass "$1" || fail "$1" "HTTP '$got', want $2"
}
check_raw api_malformed_request_line 400 'NONSENSE\r\n\r\n'
check_raw api_bad_version 505 'GET /api/v1/vmm.ping HTTP/3.0\r\n\r\n'
check_raw api_chunked_refused 501 'PUT /api/v1/vm.create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n'
check_raw api_uri_too_long 414 "GET /api/v1/$(head -c 2000 /dev/zero | tr '\0' a) HTTP/1.1\r\n\r\n"
check_raw api_headers_too_large 431 "GET /api/v1/vmm.ping HTTP/1.1\r\nX-Big: $(head -c 9000 /dev/zero | tr '\0' b)\r\n\r\n"
check_raw api_body_too_large 413 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n'
# A pipelined pair on one connection: both answered, in order.
two=$($RAW "$S" send 'GET /api/v1/vmm.ping HTTP/1.1\r\n\r\nGET /api/v1/vm.info HTTP/1.1\r\nConnection: close\r\n\r\n' 2)
if [ "$(grep -o 'HTTP/1.1 [0-9]*' <<<"$two" | tr '\n' ' ')" = "HTTP/1.1 200 HTTP/1.1 404 " ]; then
	pass api_pipelined
else
	fail api_pipelined "$(tr '\r\n' '  ' <<<"$two")"
fi

# ---- a stalled half request is closed on its timeout; others are served meanwhile ----
$RAW "$S" stall 'PUT /api/v1/vm.create HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"cp' 10 >"$TMP/stall" &
STALL=$!
sleep 0.2
served=1
for _ in 1 2 3 4 5; do expect api_staller_others 200 GET vmm.ping || served=0; done
wait $STALL
if [ $served = 1 ] && grep -q closed_after "$TMP/stall"; then
	pass api_staller_closed
	echo "# staller: $(cat "$TMP/stall") (timeout_ms=1000)"
else
	fail api_staller_closed "staller: $(cat "$TMP/stall"), others served: $served"
fi

# ---- 1,000 connections open at once, each answered ----
out=$("$LOAD" "$S" -c 1000 -o -p /api/v1/vmm.ping)
if grep -q 'ok=1000 errors=0' <<<"$out"; then pass api_1000_connections; else fail api_1000_connections "$out"; fi
echo "# 1000 connections: $out"
# Over max_connections (1100): 503 for the extra ones.
$RAW "$S" hold 1100 3 >"$TMP/hold" &
HOLD=$!
wait_line "$TMP/hold" held 5
got=$(api GET vmm.ping)
wait $HOLD
if [ "$got" = 503 ] && grep -q '"error":' "$TMP/body"; then pass api_connection_limit_503; else fail api_connection_limit_503 "HTTP $got"; fi
expect api_after_limit 200 GET vmm.ping && pass api_after_limit

# ---- Cloud Hypervisor's documented flow on the guest kit ----
BIG=$(head -c 1500 /dev/zero | tr '\0' x) # > 1 KiB: curl sends Expect: 100-continue
CREATE="{\"cpus\":{\"boot_vcpus\":2,\"max_vcpus\":2},\"memory\":{\"size\":134217728},
 \"payload\":{\"kernel\":\"$GUEST_ELF\",\"cmdline\":\"job=spin ms=50 pad=$BIG\"},
 \"disks\":[{\"path\":\"$DISK\"}],\"rng\":{\"src\":\"/dev/urandom\"},
 \"serial\":{\"mode\":\"File\",\"file\":\"$TMP/serial\"},\"console\":{\"mode\":\"Off\"}}"
ok=1
curl_ch() { curl -s -o "$TMP/body" -w '%{http_code}' --max-time 10 --unix-socket "$S" "$@"; }
got=$(curl_ch -i -X PUT 'http://localhost/api/v1/vm.create' -H 'Accept: application/json' \
	-H 'Content-Type: application/json' -d "$CREATE")
[ "$got" = 204 ] || { fail api_ch_create "HTTP $got: $(cat "$TMP/body")"; ok=0; }
got=$(curl_ch -X GET 'http://localhost/api/v1/vm.info' -H 'Accept: application/json')
{ [ "$got" = 200 ] && grep -q '"state":"Created"' "$TMP/body"; } || { fail api_ch_info_created "HTTP $got $(cat "$TMP/body")"; ok=0; }
expect api_counters_not_booted 405 GET vm.counters || ok=0
expect api_pause_not_booted 405 PUT vm.pause || ok=0
expect api_shutdown_not_booted 405 PUT vm.shutdown || ok=0
expect api_create_twice 405 PUT vm.create -d "$CREATE" || ok=0
got=$(curl_ch -X PUT 'http://localhost/api/v1/vm.boot')
[ "$got" = 204 ] || { fail api_ch_boot "HTTP $got: $(cat "$TMP/body") $(tail -n3 "$TMP/vmm.err")"; ok=0; }
[ $ok = 1 ] && pass api_ch_create_boot
if ! wait_ticks 3; then
	fail api_guest_runs "no ticks: $(tail -n5 "$TMP/serial" "$TMP/vmm.err")"
else
	pass api_guest_runs
	expect api_boot_twice 405 PUT vm.boot && pass api_boot_twice
	expect api_resume_running 405 PUT vm.resume && pass api_resume_running
	got=$(api GET vm.info)
	{ [ "$got" = 200 ] && grep -q '"state":"Running"' "$TMP/body" && grep -q '"boot_vcpus":2' "$TMP/body"; } &&
		pass api_info_running || fail api_info_running "HTTP $got $(cat "$TMP/body")"

	# pause: the guest's counter stops; resume: it goes on
	expect api_pause 204 PUT vm.pause
	# Lines printed just before the pause may reach the file a little later: wait until the
	# count holds still (a running guest ticks every 50 ms), then watch it for a second.
	for _ in $(seq 1 10); do a=$(ticks); sleep 0.3; [ "$(ticks)" = "$a" ] && break; done
	a=$(ticks); sleep 1; b=$(ticks)
	api GET vm.info >/dev/null
	paused_state=$(grep -o '"state":"[A-Za-z]*"' "$TMP/body")
	expect api_pause_twice 405 PUT vm.pause
	expect api_resume 204 PUT vm.resume
	if [ "$a" = "$b" ] && [ "$paused_state" = '"state":"Paused"' ] && wait_ticks "$b"; then
		pass api_pause_resume
		echo "# ticks: $a at pause, $b one second later, $(ticks) after resume"
	else
		fail api_pause_resume "ticks $a -> $b while paused ($paused_state), $(ticks) after resume"
	fi

	got=$(api GET vm.counters)
	{ [ "$got" = 200 ] && grep -q '"disk0":{' "$TMP/body" && grep -q '"queue0_read_ops"' "$TMP/body"; } &&
		pass api_counters || fail api_counters "HTTP $got $(cat "$TMP/body")"
	# The spin job does not answer the power button: the press is delivered, the VM runs on.
	if expect api_power_button_ignored 204 PUT vm.power-button && wait_ticks "$(ticks)"; then
		pass api_power_button_ignored
	else
		fail api_power_button_ignored "the VM stopped on a power button its guest ignores"
	fi

	# reboot: a new machine from the same config (the serial file starts again)
	expect api_reboot 204 PUT vm.reboot
	if wait_ticks 2 && grep -q '^kit=' "$TMP/serial" && [ "$(grep -c 'booting ' "$TMP/vmm.err")" = 2 ]; then
		pass api_reboot
	else
		fail api_reboot "$(tail -n3 "$TMP/vmm.err")"
	fi

	got=$(curl_ch -X PUT 'http://localhost/api/v1/vm.shutdown')
	[ "$got" = 204 ] && pass api_ch_shutdown || fail api_ch_shutdown "HTTP $got $(cat "$TMP/body")"
	api GET vm.info >/dev/null
	grep -q '"state":"Shutdown"' "$TMP/body" && pass api_info_shutdown || fail api_info_shutdown "$(cat "$TMP/body")"
	expect api_shutdown_twice 405 PUT vm.shutdown && pass api_shutdown_twice
	expect api_boot_again 204 PUT vm.boot && wait_ticks 0 && pass api_boot_after_shutdown
	expect api_delete 204 PUT vm.delete && pass api_delete
	expect api_info_deleted 404 GET vm.info && pass api_info_after_delete
fi
if kill -0 $VMM 2>/dev/null; then pass api_vmm_survives; else fail api_vmm_survives "the VMM died: $(tail -n5 "$TMP/vmm.err")"; fi

# ---- a VM that cannot be built: 400 saying why; the VMM stays ----
printf '%s' "{\"memory\":{\"size\":67108864},\"payload\":{\"kernel\":\"$DISK\"}}" >"$TMP/notkernel.json"
got=$(api PUT vm.create -d @"$TMP/notkernel.json")
got2=$(api PUT vm.boot)
if [ "$got" = 204 ] && [ "$got2" = 400 ] && grep -q '"error":"the VM could not be built or started: ' "$TMP/body" &&
	expect api_boot_failed_state 200 GET vm.info && grep -q '"state":"Created"' "$TMP/body" &&
	expect api_boot_failed_delete 204 PUT vm.delete; then
	pass api_boot_failure_reported
else
	fail api_boot_failure_reported "create $got, boot $got2: $(cat "$TMP/body")"
fi

# ---- ringvisor-remote ----
ok=1
r() { "$REMOTE" --api-socket "$S" "$@" >"$TMP/r.out" 2>"$TMP/r.err"; }
r ping && grep -q '"version"' "$TMP/r.out" || { ok=0; echo "# remote ping: $(cat "$TMP/r.out" "$TMP/r.err")"; }
printf '%s' "{\"memory\":{\"size\":67108864},\"payload\":{\"kernel\":\"$GUEST_ELF\",\"cmdline\":\"job=spin ms=50\"},\"serial\":{\"mode\":\"File\",\"file\":\"$TMP/serial\"}}" >"$TMP/vm.json"
r create "$TMP/vm.json" || { ok=0; echo "# remote create: $(cat "$TMP/r.err")"; }
r boot && r info && grep -q '"state":"Running"' "$TMP/r.out" || { ok=0; echo "# remote boot/info: $(cat "$TMP/r.out" "$TMP/r.err")"; }
r pause && r resume && r counters || { ok=0; echo "# remote pause/resume/counters: $(cat "$TMP/r.err")"; }
r resume; [ $? = 1 ] && grep -q '"error"' "$TMP/r.err" || { ok=0; echo "# remote resume twice: $(cat "$TMP/r.err")"; }
r pause && r shutdown && r delete || { ok=0; echo "# remote pause/shutdown/delete: $(cat "$TMP/r.err")"; }
[ $ok = 1 ] && pass api_remote || fail api_remote "see the lines above"

# ---- a live socket is refused; vmm.shutdown leaves nothing behind ----
if "$RINGVISOR" --api-socket "$S" </dev/null >/dev/null 2>"$TMP/second.err"; then
	fail api_live_socket_refused "a second VMM took the socket"
elif grep -q 'another process is listening' "$TMP/second.err" && [ -S "$S" ] && expect api_live 200 GET vmm.ping; then
	pass api_live_socket_refused
else
	fail api_live_socket_refused "$(cat "$TMP/second.err")"
fi
r shutdown-vmm
if wait_gone $VMM; then
	wait $VMM; rc=$?
	if [ $rc = 0 ] && ! [ -e "$S" ]; then pass api_vmm_shutdown_clean; else fail api_vmm_shutdown_clean "exit $rc, socket left: $(ls "$S" 2>&1)"; fi
else
	kill -9 $VMM; fail api_vmm_shutdown_clean "still running 10 s after vmm.shutdown"
fi

# ---- a stale socket file is replaced ----
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$S"
if [ -S "$S" ]; then
	start_vmm
	if expect api_stale 200 GET vmm.ping; then pass api_stale_socket_replaced; else fail api_stale_socket_replaced "$(cat "$TMP/vmm.err")"; fi
	kill -TERM $VMM; wait_gone $VMM; wait $VMM
	[ $? = 0 ] && ! [ -e "$S" ] && pass api_sigterm_clean || fail api_sigterm_clean "exit status or socket left after SIGTERM"
fi
: >"$TMP/regular"
if "$RINGVISOR" --api-socket "$TMP/regular" </dev/null >/dev/null 2>"$TMP/reg.err"; then
	fail api_not_a_socket "took over a regular file"
else
	grep -q 'not a socket' "$TMP/reg.err" && [ -f "$TMP/regular" ] && pass api_not_a_socket_refused ||
		fail api_not_a_socket_refused "$(cat "$TMP/reg.err")"
fi

# ---- vm.power-button: a guest that answers the ACPI power button powers off, the VMM ends ----
start_vmm --kernel "$GUEST_ELF" --memory size=64M --serial "file=$TMP/pb.serial" --cmdline "job=powerbutton"
wait_line "$TMP/pb.serial" '^powerbutton=waiting' 10
got=$(api PUT vm.power-button)
if [ "$got" = 204 ] && wait_gone $VMM; then
	wait $VMM; rc=$?
	[ $rc = 0 ] && ! [ -e "$S" ] && grep -q '^powerbutton=pressed' "$TMP/pb.serial" && pass api_power_button_powers_off ||
		fail api_power_button_powers_off "exit $rc, serial: $(tail -n2 "$TMP/pb.serial" | tr '\n' ' ')"
else
	kill -9 $VMM 2>/dev/null; fail api_power_button_powers_off "HTTP $got; guest: $(tail -n2 "$TMP/pb.serial" | tr '\n' ' ')"
fi

# ---- the guest powering off ends the VMM (as in Cloud Hypervisor), API or not ----
start_vmm --kernel "$GUEST_ELF" --memory size=64M --serial off
if wait_gone $VMM; then
	wait $VMM; rc=$?
	[ $rc = 0 ] && ! [ -e "$S" ] && pass api_guest_poweroff_ends_vmm || fail api_guest_poweroff_ends_vmm "exit $rc"
else
	kill -9 $VMM; fail api_guest_poweroff_ends_vmm "VMM still running after the guest ended"
fi

# ---- bench/api.sh's host column: http_fixed answers api_load's keep-alive requests, every
#      one whole (a broken baseline would skew every ratio; it may answer a few the client
#      no longer waited for), and leaves no socket behind ----
HS=$TMP/fixed.sock
printf '{"state":"Running"}' >"$TMP/fixed.json"
"$PWD/$BUILD/tests/http_fixed" "$HS" "$TMP/fixed.json" 10 >"$TMP/fixed.out" 2>&1 &
FIXED=$!
for _ in $(seq 1 100); do [ -S "$HS" ] && break; sleep 0.02; done
out=$("$LOAD" "$HS" -c 8 -s 0.5 -p /api/v1/vm.info)
body=$(curl -s --unix-socket "$HS" http://localhost/api/v1/vm.info)
kill "$FIXED"; wait "$FIXED"
n=$(grep -oE 'ok=[0-9]+' <<<"$out" | cut -d= -f2)
if grep -q 'errors=0' <<<"$out" && [ "${n:-0}" -gt 100 ] && [ "$body" = '{"state":"Running"}' ] &&
   [ "$(grep -oE '^served=[0-9]+' "$TMP/fixed.out" | cut -d= -f2)" -ge $((n + 1)) ] &&
   grep -q ' connections=9$' "$TMP/fixed.out" && ! [ -e "$HS" ]; then
	pass api_bench_host_baseline_answers
else
	fail api_bench_host_baseline_answers "load: $out; body: $body; server: $(cat "$TMP/fixed.out")"
fi
