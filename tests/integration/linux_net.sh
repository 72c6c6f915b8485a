#!/usr/bin/env bash
# Linux's own virtio-net driver on a ringvisor TAP: the guest pings the host, the host pings
# the guest, iperf3 TCP and UDP both ways (the host runs iperf3 -s on its end of the link).
# Needs a host that can boot Linux (VMX/SVM).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/net_lib.bash"

if host_is_pvm; then
	skip linux_net_ping_iperf3 "/dev/kvm is kvm_pvm (software virtualization): stock Linux cannot boot here; runs on hosts with VMX/SVM"
	exit 0
fi
if [ ! -c /dev/net/tun ] || [ "$(id -u)" != 0 ] || ! command -v iperf3 >/dev/null || ! command -v ping >/dev/null; then
	skip linux_net_ping_iperf3 "needs root, /dev/net/tun, iperf3 and ping (.ci/install-deps)"
	exit 0
fi
if ! bash tests/linux/build-image.sh >"$TMP/build.log" 2>&1; then
	fail linux_net_ping_iperf3 "tests/linux/build-image.sh failed: $(tail -n1 "$TMP/build.log")"
	exit 0
fi
IMG=$PWD/$BUILD/linux
X=$(net_subnet); T=$(net_tap_name l)
p=$TMP/linux
rv_run "$p" 300 --kernel "$IMG/bzImage" --initramfs "$IMG/initramfs.cpio.gz" \
	--cmdline "console=ttyS0 io_delay=none panic=-1 rv.job=net-iperf rv.ip=172.30.$X.2 rv.peer=172.30.$X.1" \
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
