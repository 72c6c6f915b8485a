#!/usr/bin/env bash
# virtio-net over TAP with the guest kit's driver, on TAP links in 172.30.0.0/16 that this
# script makes and removes (a /24 and a TAP name of its own per test): ping both ways and
# UDP echo; 256 MiB over UDP each way with every datagram's checksum, payload and sequence
# checked; two queue pairs both carrying traffic; checksum offload both ways; a guest that
# stops taking frames while the host floods it (the VMM's memory does not grow, traffic
# resumes); malformed transmit chains (dropped and counted, the queue keeps going); an
# existing TAP is used and left in place; bad --net options.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/net_lib.bash"

if [ ! -c /dev/net/tun ] || ! ip link >/dev/null 2>&1 || [ "$(id -u)" != 0 ]; then
	skip net_all "needs root and /dev/net/tun to make TAP links"
	exit 0
fi
[ -x "$NET_PEER" ] || { fail net_all "$NET_PEER is missing (make)"; exit 0; }

# rv_net PREFIX TIMEOUT CMDLINE NET-OPTS [more ringvisor args]: the kit with one --net device.
rv_net() {
	local p=$1 t=$2 cmd=$3 net=$4; shift 4
	rv_run "$p" "$t" --kernel "$GUEST_ELF" --cpus boot=1 --memory size=128M --cmdline "$cmd" --net "$net" "$@"
}

# --- ping both ways, UDP echo (after 3 resets with reads waiting on the TAP, on 2 pairs);
#     the TAP the VMM created is gone after it exits ---
X=$(net_subnet); T=$(net_tap_name p)
p=$TMP/echo
rv_net "$p" 60 "job=net-echo ip=172.30.$X.2 peer=172.30.$X.1 ping=5 seconds=40 reinit=3 pairs=2" \
	"tap=$T,ip=172.30.$X.1,mask=255.255.255.0,num_queues=4" &
pid=$!
NET_PIDS+=($pid)
host_ping=fail udp_echo=fail
if wait_line "$p.out" '^echo_ready' 20; then
	ping -c 5 -i 0.2 -W 2 "172.30.$X.2" >"$TMP/ping.txt" 2>&1 && host_ping=ok
	python3 - "172.30.$X.2" >"$TMP/udp.txt" 2>&1 <<-'PY' && udp_echo=ok
	import socket, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(2)
	for i in range(10):
	    m = b"ringvisor echo %d" % i
	    s.sendto(m, (sys.argv[1], 7))
	    if s.recvfrom(2048)[0] != m: sys.exit("echo mismatch")
	s.sendto(b"quit", (sys.argv[1], 7))
	PY
fi
wait $pid
sleep 0.5
if ok_run "$p" && grep -q '^ping sent=5 replies=5' "$p.out" && [ $host_ping = ok ] && [ $udp_echo = ok ] &&
   grep -q 'udp_echoed=10 ' "$p.out"; then
	pass net_ping_both_ways_and_udp_echo
else
	fail net_ping_both_ways_and_udp_echo "host_ping=$host_ping udp_echo=$udp_echo $(why "$p") $(tail -n2 "$TMP/ping.txt" "$TMP/udp.txt" 2>/dev/null | tr '\n' ' ')"
fi
if grep -q "tap $T (created)" "$p.err" && ! ip link show "$T" >/dev/null 2>&1; then
	pass net_created_tap_removed_at_exit
else
	fail net_created_tap_removed_at_exit "$(grep "tap $T" "$p.err") $(ip -br link show "$T" 2>&1)"
fi

# --- 256 MiB guest -> host, every datagram checked by the host tool ---
X=$(net_subnet); T=$(net_tap_name t)
"$NET_PEER" recv --bind "172.30.$X.1" --port 9100 --idle-ms 5000 --timeout 300 >"$TMP/recv.txt" 2>&1 &
rpid=$!
NET_PIDS+=($rpid)
wait_line "$TMP/recv.txt" '^recv_ready' 5
p=$TMP/tx256
rv_net "$p" 300 "job=net-tx ip=172.30.$X.2 peer=172.30.$X.1 mib=256 size=1472" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0"
wait $rpid
r=$(grep '^recv ' "$TMP/recv.txt")
sent=$(kv "$p.out" frames)
if ok_run "$p" && [ -n "$sent" ] && [ "$sent" -ge $(( (256 << 20) / 1472 )) ] && [ "$(kv <(echo "$r") frames)" = "$sent" ] &&
   echo "$r" | grep -q 'lost=0 dup=0 bad=0' && echo "$r" | grep -q 'ended=1'; then
	pass net_udp_256mib_guest_to_host_checked
else
	fail net_udp_256mib_guest_to_host_checked "guest sent ${sent:-?}; host: $r; $(why "$p")"
fi

# --- 256 MiB host -> guest, every datagram checked by the guest ---
X=$(net_subnet); T=$(net_tap_name r)
p=$TMP/rx256
rv_net "$p" 300 "job=net-rx ip=172.30.$X.2 peer=172.30.$X.1 seconds=240" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0" &
pid=$!
NET_PIDS+=($pid)
"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --mib 256 --window 512 >"$TMP/send.txt" 2>&1
wait $pid
want=$(( (256 << 20) / 1472 + 1 ))
# The guest's 2 KiB buffers each hold a frame: all of them arrive through the multishot
# read, on a kernel that has it (Linux 6.7); else through the readv path.
ring=$(grep -oE 'rx_ring_frames=[0-9]+' "$p.err" | head -n1 | cut -d= -f2)
all=$(grep -oE ' rx_frames=[0-9]+' "$p.err" | head -n1 | cut -d= -f2)
if grep -q 'no multishot read' "$p.err"; then want_ring=0; else want_ring=${all:-?}; fi
if ok_run "$p" && grep -qE "^net_rx frames=$want .*lost=0 dup=0 bad=0" "$p.out" && grep -q "^send frames=$want " "$TMP/send.txt" &&
   [ "${ring:-x}" = "$want_ring" ]; then
	pass net_udp_256mib_host_to_guest_checked
else
	fail net_udp_256mib_host_to_guest_checked "rx_ring_frames=${ring:-?} (want $want_ring of ${all:-?}); $(why "$p") host: $(tr '\n' ' ' <"$TMP/send.txt")"
fi

# --- two queue pairs: both carry traffic each way (the guest's and the VMM's per-pair counters) ---
X=$(net_subnet); T=$(net_tap_name m)
p=$TMP/mqrx
rv_net "$p" 120 "job=net-rx ip=172.30.$X.2 peer=172.30.$X.1 pairs=2 seconds=100" \
	"tap=$T,ip=172.30.$X.1,mask=255.255.255.0,num_queues=4" --cpus boot=2 &
pid=$!
NET_PIDS+=($pid)
"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --flows 2 --mib 32 --window 512 >"$TMP/mqsend.txt" 2>&1
wait $pid
"$NET_PEER" recv --bind "172.30.$X.1" --port 9100 --flows 2 --idle-ms 5000 --timeout 120 >"$TMP/mqrecv.txt" 2>&1 &
rpid=$!
NET_PIDS+=($rpid)
wait_line "$TMP/mqrecv.txt" '^recv_ready' 5
p2=$TMP/mqtx
rv_net "$p2" 120 "job=net-tx ip=172.30.$X.2 peer=172.30.$X.1 pairs=2 mib=32" \
	"tap=$T,ip=172.30.$X.1,mask=255.255.255.0,num_queues=4" --cpus boot=2
wait $rpid
pair_ok() { # log: both pairs moved frames both ways
	[ "$(grep -cE "net0: pair=[01] rx_frames=[1-9][0-9]* .* tx_frames=[1-9]" "$1")" = 2 ]
}
if ok_run "$p" && ok_run "$p2" && [ "$(grep -cE '^net_rxq queue=[01] frames=[1-9]' "$p.out")" = 2 ] &&
   [ "$(grep -cE '^net_txq queue=[01] frames=[1-9]' "$p2.out")" = 2 ] && pair_ok "$p.err" &&
   grep -q 'lost=0 dup=0 bad=0 .* flows=2 ended=2' "$TMP/mqrecv.txt" && grep -q 'lost=0 dup=0 bad=0' "$p.out" &&
   [ "$(grep -cE 'net0: pair=[01] .* tx_frames=[1-9]' "$p2.err")" = 2 ]; then
	pass net_two_queue_pairs_both_carry_traffic
else
	fail net_two_queue_pairs_both_carry_traffic "rx: $(why "$p") $(grep -E '^net_rxq|pair=' "$p.out" "$p.err" | tr '\n' ' ') tx: $(why "$p2") $(grep -E 'pair=' "$p2.err" | tr '\n' ' ') host: $(tr '\n' ' ' <"$TMP/mqrecv.txt")"
fi

# --- checksum offload both ways (CSUM/GUEST_CSUM negotiated, TUNSETOFFLOAD applied) ---
X=$(net_subnet); T=$(net_tap_name c)
p=$TMP/csrx
rv_net "$p" 120 "job=net-rx ip=172.30.$X.2 peer=172.30.$X.1 csum=1 seconds=100" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0" &
pid=$!
NET_PIDS+=($pid)
"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --mib 16 --window 512 >/dev/null 2>&1
wait $pid
"$NET_PEER" recv --bind "172.30.$X.1" --port 9100 --idle-ms 5000 --timeout 120 >"$TMP/csrecv.txt" 2>&1 &
rpid=$!
NET_PIDS+=($rpid)
wait_line "$TMP/csrecv.txt" '^recv_ready' 5
p2=$TMP/cstx
rv_net "$p2" 120 "job=net-tx ip=172.30.$X.2 peer=172.30.$X.1 csum=1 mib=16" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0"
wait $rpid
if ok_run "$p" && grep -qE '^net_rx .*lost=0 dup=0 bad=0 .*rx_partial_csum=[1-9]' "$p.out" && ok_run "$p2" &&
   grep -q 'csum_offload=1' "$p2.out" && grep -q 'lost=0 dup=0 bad=0 .*ended=1' "$TMP/csrecv.txt" &&
   [ "$(kv "$p2.out" frames)" = "$(kv "$TMP/csrecv.txt" frames)" ]; then
	pass net_checksum_offload_both_ways
else
	fail net_checksum_offload_both_ways "rx: $(why "$p") tx: $(why "$p2") host: $(tr '\n' ' ' <"$TMP/csrecv.txt")"
fi

# --- frames of a flow out of order (as queues reorder them): late, not lost or duplicate ---
X=$(net_subnet); T=$(net_tap_name o)
p=$TMP/reorder
rv_net "$p" 120 "job=net-rx ip=172.30.$X.2 peer=172.30.$X.1 seconds=100" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0" &
pid=$!
NET_PIDS+=($pid)
"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --mib 8 --window 512 --swap-every 7 \
	>"$TMP/reorder.txt" 2>&1
wait $pid
late=$(kv "$p.out" late)
if ok_run "$p" && grep -qE '^net_rx .*lost=0 dup=0 bad=0' "$p.out" && [ "${late:-0}" -ge 500 ]; then
	pass net_rx_reordered_frames_counted_late
else
	fail net_rx_reordered_frames_counted_late "late=${late:-?}; $(why "$p") host: $(tr '\n' ' ' <"$TMP/reorder.txt")"
fi

# --- without MRG_RXBUF: one chain per frame; on an existing multi-queue TAP used with one pair ---
X=$(net_subnet); T=$(net_tap_name n)
ip tuntap add dev "$T" mode tap multi_queue && NET_TAPS+=("$T")
p=$TMP/nomrg
rv_net "$p" 120 "job=net-rx ip=172.30.$X.2 peer=172.30.$X.1 mrg=0 seconds=100" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0" &
pid=$!
NET_PIDS+=($pid)
"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --mib 8 --window 512 >/dev/null 2>&1
wait $pid
if ok_run "$p" && grep -q 'mrg=0' "$p.out" && grep -qE '^net_rx .*lost=0 dup=0 bad=0' "$p.out" &&
   ! grep -q "tap $T (created)" "$p.err" && ip link show "$T" >/dev/null 2>&1; then
	pass net_rx_without_mergeable_buffers_existing_mq_tap
else
	fail net_rx_without_mergeable_buffers_existing_mq_tap "$(why "$p")"
fi

# --- backpressure: the guest stops taking frames while the host floods; no VMM growth, recovery ---
X=$(net_subnet); T=$(net_tap_name b)
p=$TMP/stall
rv_net "$p" 120 "job=net-rx ip=172.30.$X.2 peer=172.30.$X.1 stall_after=2000 stall_ms=4000 allow_loss=1 ack=0 idle_ms=2000 seconds=100" \
	"tap=$T,ip=172.30.$X.1,mask=255.255.255.0" &
pid=$!
NET_PIDS+=($pid)
"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --seconds 9 --size 1472 >"$TMP/flood.txt" 2>&1 &
spid=$!
NET_PIDS+=($spid)
rss0= rss1= vpid=
if wait_line "$p.out" '^net_rx_stall ' 30; then
	# rv_run's subshell -> timeout -> ringvisor
	vpid=$(pgrep -P "$(pgrep -P $pid | head -n1)" -x ringvisor)
	sleep 0.5
	rss0=$(net_rss_kib "$vpid")
	wait_line "$p.out" '^net_rx_stall_end' 10
	rss1=$(net_rss_kib "$vpid")
fi
wait $spid
wait $pid
growth=$(( ${rss1:-0} - ${rss0:-0} ))
if ok_run "$p" && [ -n "$rss0" ] && [ -n "$rss1" ] && [ $growth -lt 2048 ] &&
   grep -qE '^net_rx_after_stall frames=[1-9]' "$p.out" && grep -qE '^net_rx .* dup=0 bad=0' "$p.out" &&
   grep -qE 'net0: .*rx_no_buffers=[1-9]' "$p.err" && grep -qE 'net0: .*rx_dropped=0 ' "$p.err"; then
	pass net_rx_backpressure_no_growth_and_recovery
else
	fail net_rx_backpressure_no_growth_and_recovery "VmRSS ${rss0:-?} -> ${rss1:-?} KiB (pid ${vpid:-?}); $(why "$p") $(grep -oE 'rx_no_buffers=[0-9]+' "$p.err")"
fi

# --- hostile TX on an existing (persistent, single-queue) TAP: dropped, counted, queue goes on ---
X=$(net_subnet); T=$(net_tap_name h)
ip tuntap add dev "$T" mode tap && NET_TAPS+=("$T")
"$NET_PEER" recv --bind "172.30.$X.1" --port 9100 --idle-ms 3000 --timeout 60 >"$TMP/hrecv.txt" 2>&1 &
rpid=$!
NET_PIDS+=($rpid)
wait_line "$TMP/hrecv.txt" '^recv_ready' 5
p=$TMP/hostile
rv_net "$p" 60 "job=net-hostile ip=172.30.$X.2 peer=172.30.$X.1" "tap=$T,ip=172.30.$X.1,mask=255.255.255.0"
wait $rpid
n=$(grep -c '^hostile case=' "$p.out")
if ok_run "$p" && [ "$n" -ge 9 ] && [ "$(grep -c '^hostile case=.*outcome=dropped' "$p.out")" = "$n" ] &&
   grep -q '^hostile_reinits=0 hostile_after_frames=1000' "$p.out" &&
   grep -q 'recv frames=1000 .*lost=0 dup=0 bad=0' "$TMP/hrecv.txt" &&
   [ "$(grep -c 'net0: queue pair 0: transmit frame dropped' "$p.err")" = "$n" ] && grep -q "net0: .*tx_dropped=$n " "$p.err"; then
	pass net_hostile_tx_dropped_counted_queue_keeps_running
else
	fail net_hostile_tx_dropped_counted_queue_keeps_running "$(why "$p") $(grep '^hostile' "$p.out" | tr '\n' ' ') host: $(head -n2 "$TMP/hrecv.txt" | tr '\n' ' ')"
fi
if ip link show "$T" >/dev/null 2>&1 && ! grep -q "tap $T (created)" "$p.err"; then
	pass net_existing_tap_used_and_kept
else
	fail net_existing_tap_used_and_kept "$(grep "tap $T" "$p.err")"
fi

# --- without MQ, queue 2 is the control queue: a command already in it at DRIVER_OK is
#     answered, not taken as pair 1's receive buffer (which failed the device) ---
X=$(net_subnet); T=$(net_tap_name q)
p=$TMP/nomq
rv_net "$p" 60 "job=net-echo ip=172.30.$X.2 peer=172.30.$X.1 mq=0 ctrl_early=1 seconds=1" \
	"tap=$T,ip=172.30.$X.1,mask=255.255.255.0,num_queues=4"
if ok_run "$p" && grep -qE '^net_ctrl_early ack=1 status=0xf$' "$p.out" && ! grep -q 'needs reset' "$p.err"; then
	pass net_no_mq_control_queue_not_taken_for_rx
else
	fail net_no_mq_control_queue_not_taken_for_rx "$(grep -a '^net_ctrl_early' "$p.out") $(why "$p")"
fi

# --- bad --net options: one clear line, exit 1, no TAP left behind ---
T=$(net_tap_name x)
bad_ok=1
for opt in "tap=$T,mac=01:00:5e:00:00:01" "tap=$T,num_queues=3" "tap=$T,queue_size=100" "tap=$T,ip=10.0.0.1" \
	"tap=$T,ip=300.1.1.1,mask=255.0.0.0" "mac=52:54:00:00:00:01" "tap=this-name-is-too-long" "tap=$T,frobnicate=1"; do
	"$RINGVISOR" --kernel "$GUEST_ELF" --net "$opt" </dev/null >"$TMP/bad.out" 2>"$TMP/bad.err"
	rc=$?
	if [ $rc != 1 ] || [ "$(grep -c 'error' "$TMP/bad.err")" != 1 ] || ip link show "$T" >/dev/null 2>&1; then
		bad_ok=0
		echo "--net $opt: rc=$rc $(cat "$TMP/bad.err")"
	fi
done
if [ $bad_ok = 1 ]; then pass net_bad_options_refused; else fail net_bad_options_refused "see above"; fi

# --- bench/net.sh's host column: tap_guest does the kit's jobs on a TAP with no VM, and
#     its frames pass net_peer's checks both ways (a broken baseline would skew every ratio;
#     the host may drop some of a flood it cannot take, so tx needs 90 %, intact) ---
TAP_GUEST=$PWD/$BUILD/tests/tap_guest
X=$(net_subnet); T=$(net_tap_name g)
if ip tuntap add dev "$T" mode tap && NET_TAPS+=("$T") && ip addr add "172.30.$X.1/24" dev "$T" &&
   ip link set "$T" up; then
	"$NET_PEER" send --bind "172.30.$X.1" --port 9300 --to "172.30.$X.2" --dport 9200 --size 1472 --count 20000 \
		--window 256 --hello-ms 5000 >"$TMP/hsend.txt" 2>&1 &
	NET_PIDS+=($!)
	timeout 30 "$TAP_GUEST" rx --tap "$T" --ip "172.30.$X.2" --peer "172.30.$X.1" --spin 0 --ack 64 --idle-ms 1000 \
		>"$TMP/hrx.txt" 2>&1
	rx_rc=$?
	"$NET_PEER" recv --bind "172.30.$X.1" --port 9100 --idle-ms 2000 --timeout 20 --allow-loss >"$TMP/hrecv2.txt" 2>&1 &
	recv_pid=$!
	NET_PIDS+=($recv_pid)
	sleep 0.3
	timeout 30 "$TAP_GUEST" tx --tap "$T" --ip "172.30.$X.2" --peer "172.30.$X.1" --spin 1 --size 1000 --seconds 0.5 \
		>"$TMP/htx.txt" 2>&1
	tx_rc=$?
	wait "$recv_pid"
	recv_rc=$?
	sent=$(grep -oE '^net_tx frames=[0-9]+' "$TMP/htx.txt" | cut -d= -f2)
	got=$(grep -oE '^recv frames=[0-9]+' "$TMP/hrecv2.txt" | cut -d= -f2)
	if [ "$rx_rc" = 0 ] && grep -qE '^net_rx frames=20000 .*lost=0 dup=0 bad=0' "$TMP/hrx.txt" &&
	   [ "$tx_rc" = 0 ] && [ "$recv_rc" = 0 ] && [ "${sent:-0}" -gt 1000 ] &&
	   [ $((${got:-0} * 10)) -ge $((sent * 9)) ] && grep -qE '^recv .*dup=0 bad=0' "$TMP/hrecv2.txt"; then
		pass net_bench_host_baseline_frames_checked
	else
		fail net_bench_host_baseline_frames_checked "rx rc=$rx_rc $(head -n1 "$TMP/hrx.txt"); tx rc=$tx_rc $(head -n1 "$TMP/htx.txt"); recv rc=$recv_rc $(grep '^recv ' "$TMP/hrecv2.txt")"
	fi
else
	fail net_bench_host_baseline_frames_checked "cannot make TAP $T"
fi
