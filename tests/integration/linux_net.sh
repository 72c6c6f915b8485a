#!/usr/bin/env bash
# Linux's own virtio-net driver on a ringvisor TAP (the host runs iperf3 -s on its end):
#   linux_net_ping_iperf3          the guest pings the host, the host pings the guest, iperf3
#                                  TCP and UDP both ways
#   linux_net_offloads_two_queues  in the same guest: checksum offload and TSO on in ethtool -k;
#                                  ethtool -L combined 2, then parallel TCP streams both ways
#                                  carry packets on both queue pairs (ethtool -S)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/net_lib.bash"
source "$(dirname "$0")/linux_lib.bash"

if [ ! -c /dev/net/tun ] || [ "$(id -u)" != 0 ] || ! command -v iperf3 >/dev/null || ! command -v ping >/dev/null; then
	skip linux_net_ping_iperf3 "needs root, /dev/net/tun, iperf3 and ping (.ci/install-deps)"
	skip linux_net_offloads_two_queues "needs root, /dev/net/tun, iperf3 and ping (.ci/install-deps)"
	exit 0
fi
linux_image_ready linux_net_ping_iperf3 linux_net_offloads_two_queues
X=$(net_subnet); T=$(net_tap_name l)
p=$TMP/linux
linux_run "$p" 400 bzImage net-iperf "rv.ip=172.30.$X.2 rv.peer=172.30.$X.1" \
	--cpus boot=2 --memory size=512M --net "tap=$T,ip=172.30.$X.1,mask=255.255.255.0,num_queues=4" &
pid=$!
NET_PIDS+=($pid)
# The host's iperf3 listens on its end of the link only, so it starts once ringvisor has
# made the TAP and given it its address (long before the guest's driver is up).
for _ in $(seq 1 600); do
	ip -4 addr show dev "$T" 2>/dev/null | grep -q "172.30.$X.1/" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.1
done
iperf3 -s -B "172.30.$X.1" >"$TMP/iperf-server.log" 2>&1 &
NET_PIDS+=($!)
host_ping=fail
if wait_line "$p.out" 'ringvisor-linux: net_ready' 120; then
	ping -c 3 -W 2 "172.30.$X.2" >"$TMP/ping.txt" 2>&1 && host_ping=ok
fi
wait $pid
ok=$(grep -cE 'ringvisor-linux: (ping|iperf_[a-z_]+)=ok' "$p.out")
if [ $host_ping = ok ] && [ "$ok" = 5 ]; then
	pass linux_net_ping_iperf3
else
	fail linux_net_ping_iperf3 "host_ping=$host_ping rc=$(cat "$p.rc"): $(grep -E 'ringvisor-linux: (net|ping|iperf)' "$p.out" | tr '\n' ' ') iperf3 server: $(tail -n2 "$TMP/iperf-server.log" | tr '\n' ' ')"
fi

linux_report "$p" | grep -E 'offloads|combined|queue_packets|iperf_parallel'
problems=()
off=$(lv "$p" offloads)
for f in rx-checksumming=on tx-checksumming=on tcp-segmentation-offload=on; do
	[[ ,$off, == *",$f,"* ]] || problems+=("not $f in '$off'")
done
[ "$(lv "$p" combined)" = 2 ] || problems+=("ethtool -L combined 2: '$(lv "$p" combined)'")
q=$(lv "$p" queue_packets)
for c in rx_queue_0_packets rx_queue_1_packets tx_queue_0_packets tx_queue_1_packets; do
	n=$(echo "$q" | tr ',' '\n' | sed -n "s/^$c://p")
	[ "${n:-0}" -gt 0 ] || problems+=("$c=${n:-none}")
done
if [ ${#problems[@]} -eq 0 ]; then
	pass linux_net_offloads_two_queues
else
	fail linux_net_offloads_two_queues "${problems[*]}; $(linux_why "$p")"
fi
