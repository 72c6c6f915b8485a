# net_subnet.sh — sourced by the virtio-net tests (tests/integration/net_lib.bash) and by
# bench/net.sh, which both make TAP links of their own in 172.30.0.0/16.
# net_subnet: prints X such that 172.30.X.0/24 is on no interface and no route (random start).
net_subnet() {
	local i x
	for i in $(seq 0 254); do
		x=$(( (RANDOM + i) % 250 + 3 ))
		if ! ip -4 addr show | grep -q "inet 172\.30\.$x\." && [ -z "$(ip route show 172.30.$x.0/24)" ]; then
			echo "$x"
			return 0
		fi
	done
	return 1
}
