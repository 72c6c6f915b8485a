#!/usr/bin/env bash
# Guest memory on the host: zones bound to a host node with mbind (numa_maps shows
# bind:N), huge pages from a hugetlb memfd (numa_maps "huge", HugetlbPages in status),
# prefault (resident before the guest runs), clear errors before the guest starts for an
# unknown host node or too few huge pages, and a 96 GiB guest on this smaller host.
# On a host with two nodes (the lab's --numa 2 L1): zones bound to both, with an engine
# per node, for the guest kit and for Linux. Placement on other topologies is covered by
# the unit tests on recorded topologies (tests/unit/test_placement.c, test_numa.c).
# lab: --numa 2
source "$(dirname "$0")/lib.sh"

node=$(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | head -n1 | sed 's/.*node//')
node=${node:-0}
hp=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
hp_saved=$(cat "$hp" 2>/dev/null || echo)
# The zones test needs its pages on one node: the global count spreads a reservation over all
# nodes (32 + 32 of 64 on a two-node host), the node's own count does not.
hp_node=/sys/devices/system/node/node$node/hugepages/hugepages-2048kB/nr_hugepages
[ -e "$hp_node" ] || hp_node=$hp
hp_node_saved=$(cat "$hp_node" 2>/dev/null || echo)
restore_hp() {
	[ -n "$hp_node_saved" ] && echo "$hp_node_saved" >"$hp_node" 2>/dev/null
	[ -n "$hp_saved" ] && echo "$hp_saved" >"$hp" 2>/dev/null
	[ -n "${hp1g_saved:-}" ] && echo "$hp1g_saved" >/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages 2>/dev/null
	rm -rf "$TMP"
}
trap restore_hp EXIT

# Start a spinning guest with the given memory options; sets PID once it ticks.
start_spin() { # prefix, ringvisor args...
	local p=$1; shift
	"$RINGVISOR" --kernel "$GUEST_ELF" --cmdline "job=spin ms=50" "$@" </dev/null >"$p.out" 2>"$p.err" &
	PID=$!
	wait_line "$p.out" '^tick=2' 10 $PID
}
stop_spin() { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
# zone_map PREFIX ZONE PID: the numa_maps line of a guest RAM zone, found by the host
# address ringvisor logs for it (private memory has no name in numa_maps).
zone_map() {
	local a
	a=$(grep -a -m1 "memory zone $2: .* at host address 0x" "$1.err" | sed 's/.*at host address 0x//')
	[ -n "$a" ] && grep -m1 "^$a " "/proc/$3/numa_maps"
}

# --- two zones bound to this host's node, one on 2 MiB huge pages, both prefaulted
p=$TMP/zones
if ! echo 64 >"$hp_node" 2>/dev/null || [ "$(cat "$hp_node")" -lt 64 ]; then
	skip numa_zones_bound "cannot reserve 64 huge pages of 2 MiB on node $node here (nr_hugepages=$(cat "$hp_node" 2>/dev/null))"
elif ! start_spin "$p" --memory size=0 --memory-zone "id=z0,size=256M,host_numa_node=$node,prefault=on" \
	--memory-zone "id=z1,size=128M,host_numa_node=$node,hugepages=on,prefault=on"; then
	stop_spin
	fail numa_zones_bound "guest did not run: $(tail -n3 "$p.err" | tr '\n' ' ')"
else
	z0=$(zone_map "$p" z0 "$PID") z1=$(zone_map "$p" z1 "$PID")
	cp /proc/$PID/status "$p.status"
	stop_spin
	huge_kb=$(awk '/^HugetlbPages:/ {print $2}' "$p.status")
	anon_kb=$(awk '/^RssAnon:/ {print $2}' "$p.status")
	if ! grep -q "bind:$node" <<<"$z0" || ! grep -q "bind:$node" <<<"$z1"; then
		fail numa_zones_bound "numa_maps lacks bind:$node: z0='$z0' z1='$z1'"
	elif ! grep -q 'huge' <<<"$z1" || grep -q 'huge' <<<"$z0"; then
		fail numa_zones_bound "only z1 should be on huge pages: z0='$z0' z1='$z1'"
	elif [ "${huge_kb:-0}" -ne $((128 * 1024)) ]; then
		fail numa_zones_bound "HugetlbPages is ${huge_kb:-missing} kB in /proc/PID/status, expected z1's 128 MiB"
	elif [ "${anon_kb:-0}" -lt $((256 * 1024)) ]; then
		fail numa_zones_bound "z0 was prefaulted but only ${anon_kb:-?} kB of private memory is resident"
	else
		pass numa_zones_bound
		echo "# z0: $z0"
		echo "# z1: $z1"
		echo "# HugetlbPages=${huge_kb} kB RssAnon=${anon_kb} kB"
	fi
fi

# --- whole-VM huge pages through --memory
p=$TMP/memhuge
if [ "$(cat "$hp" 2>/dev/null || echo 0)" -lt 64 ]; then
	skip numa_memory_hugepages "no 2 MiB huge pages reserved"
elif ! start_spin "$p" --memory size=128M,hugepages=on,prefault=on; then
	stop_spin
	fail numa_memory_hugepages "guest did not run: $(tail -n3 "$p.err" | tr '\n' ' ')"
else
	huge_kb=$(awk '/^HugetlbPages:/ {print $2}' /proc/$PID/status)
	stop_spin
	if [ "${huge_kb:-0}" -eq $((128 * 1024)) ]; then
		pass numa_memory_hugepages
	else
		fail numa_memory_hugepages "HugetlbPages=${huge_kb:-?} kB, expected $((128 * 1024)) (prefaulted)"
	fi
fi

# --- the default RAM: private memory on transparent huge pages, which KVM maps 2 MiB at a
# time (a Linux guest in the lab reached /init in 5.6-8.0 s on it, 10.3-12.5 s on a memfd)
p=$TMP/thp
thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
if [ -z "$thp" ] || [[ $thp == *"[never]"* ]]; then
	skip numa_default_ram_on_thp "transparent huge pages are off on this host ('${thp:-no THP}')"
elif ! start_spin "$p" --memory size=256M,prefault=on; then
	stop_spin
	fail numa_default_ram_on_thp "guest did not run: $(tail -n3 "$p.err" | tr '\n' ' ')"
else
	thp_kb=$(awk '/^AnonHugePages:/ {print $2}' /proc/$PID/smaps_rollup)
	line=$(grep -a -m1 'memory zone mem0:' "$p.err")
	stop_spin
	addr=${line##*at host address }
	if [[ $line == *"256 MiB of private memory at host address 0x"* ]] && (( addr % (2 << 20) == 0 )) &&
		[ "${thp_kb:-0}" -ge $((128 * 1024)) ]; then
		pass numa_default_ram_on_thp
		echo "# $line; AnonHugePages=${thp_kb} kB"
	else
		fail numa_default_ram_on_thp "want 256 MiB of private memory 2 MiB-aligned and mostly on huge pages: '$line', AnonHugePages=${thp_kb:-?} kB"
	fi
fi

# --- 1 GiB huge pages, when the host can reserve one now (its memory may be too fragmented)
hp1g=/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages
# One more 1 GiB page than before; if memory is too fragmented, drop the page cache and
# compact once and try again (after benches, the first try usually fails and this succeeds).
reserve_1g() {
	local want=$((hp1g_saved + 1))
	echo "$want" >"$hp1g" 2>/dev/null && [ "$(cat "$hp1g")" -ge "$want" ] && return 0
	sync
	echo 3 >/proc/sys/vm/drop_caches 2>/dev/null
	echo 1 >/proc/sys/vm/compact_memory 2>/dev/null
	echo "$want" >"$hp1g" 2>/dev/null && [ "$(cat "$hp1g")" -ge "$want" ]
}
hp1g_saved=$(cat "$hp1g" 2>/dev/null || echo)
p=$TMP/huge1g
if [ -z "$hp1g_saved" ]; then
	skip numa_1g_hugepages "this kernel offers no 1 GiB huge pages"
elif ! reserve_1g; then
	echo "$hp1g_saved" >"$hp1g" 2>/dev/null
	skip numa_1g_hugepages "could not reserve a 1 GiB huge page, even after dropping caches and compacting (nr_hugepages stayed $(cat "$hp1g"))"
else
	if start_spin "$p" --memory size=1G,hugepages=on,hugepage_size=1G,prefault=on; then
		maps=$(zone_map "$p" mem0 "$PID")
		huge_kb=$(awk '/^HugetlbPages:/ {print $2}' /proc/$PID/status)
		stop_spin
		if grep -q 'kernelpagesize_kB=1048576' <<<"$maps" && [ "$huge_kb" = 1048576 ]; then
			pass numa_1g_hugepages
		else
			fail numa_1g_hugepages "numa_maps '$maps', HugetlbPages=$huge_kb kB"
		fi
	else
		stop_spin
		fail numa_1g_hugepages "guest did not run: $(tail -n3 "$p.err" | tr '\n' ' ')"
	fi
	echo "$hp1g_saved" >"$hp1g" 2>/dev/null
fi

# --- errors before the guest starts: each exits 1 with one clear line and no guest output
refused() { # name, expected text, ringvisor args...
	local name=$1 want=$2 p=$TMP/$1; shift 2
	rv_run "$p" 30 --kernel "$GUEST_ELF" --cmdline "job=boot" "$@"
	if [ "$(cat "$p.rc")" = 1 ] && grep -q "$want" "$p.err" && ! grep -q 'kit=' "$p.out"; then
		pass "$name"
	else
		fail "$name" "rc=$(cat "$p.rc") err=$(tr '\n' ' ' <"$p.err") out=$(head -c 200 "$p.out")"
	fi
}
refused numa_unknown_host_node "host_numa_node=63: this host has no such NUMA node" \
	--memory size=0 --memory-zone id=z0,size=64M,host_numa_node=63
echo 0 >"$hp" 2>/dev/null
refused numa_too_few_hugepages "needs 32 free 2048 KiB huge pages" --memory size=64M,hugepages=on
refused numa_zone_in_no_node "is in no guest NUMA node" --memory size=0 --memory-zone id=a,size=64M \
	--memory-zone id=b,size=64M --numa guest_numa_id=0,cpus=[0],memory_zones=[a]

# --- 96 GiB of guest RAM on this host (sparse): the whole map, a stamp in every GiB above 4 GiB
p=$TMP/big
rv_run "$p" 120 --kernel "$GUEST_ELF" --memory size=96G --cmdline "job=boot"
total=$(kv "$p.out" ram_total_mib)
if [ "$(cat "$p.rc")" = 0 ] && [ "$(kv "$p.out" ram_above_4g_mib)" = $((93 * 1024)) ] &&
   [ "$total" -ge $((96 * 1024 - 1)) ] && grep -q 'high_mem_check=ok pieces=93' "$p.out" &&
   grep -q 'e820 addr=0x100000000 size=0x1740000000 type=1' "$p.out"; then
	pass numa_96g_guest
else
	fail numa_96g_guest "rc=$(cat "$p.rc") $(grep -E 'e820|ram_|high_mem' "$p.out" | tr '\n' ' ') $(tail -n2 "$p.err" | tr '\n' ' ')"
fi

# --- the same 96 GiB as four zones of 24 GiB: one straddles the PCI hole
p=$TMP/bigzones
rv_run "$p" 120 --kernel "$GUEST_ELF" --memory size=0 --cmdline "job=boot" \
	--memory-zone id=a,size=2G --memory-zone id=b,size=30G --memory-zone id=c,size=32G --memory-zone id=d,size=32G
if [ "$(cat "$p.rc")" = 0 ] && [ "$(kv "$p.out" ram_above_4g_mib)" = $((93 * 1024)) ] &&
   grep -q 'high_mem_check=ok pieces=93' "$p.out"; then
	pass numa_96g_four_zones
else
	fail numa_96g_four_zones "rc=$(cat "$p.rc") $(grep -E 'ram_|high_mem' "$p.out" | tr '\n' ' ') $(tail -n2 "$p.err" | tr '\n' ' ')"
fi

# --- a 2-node guest: two zones, one vCPU each, distance 25 one way; the guest kit reads the
# SRAT and SLIT, and iasl decodes the same tables from --dump-acpi
p=$TMP/guestnuma
mkdir -p "$TMP/acpi"
rv_run "$p" 60 --kernel "$GUEST_ELF" --cpus boot=2 --memory size=0 --cmdline "job=numa-info" --dump-acpi "$TMP/acpi" \
	--memory-zone "id=a,size=256M,host_numa_node=$node" --memory-zone "id=b,size=3G,host_numa_node=$node" \
	--numa "guest_numa_id=0,cpus=[0],memory_zones=[a],distances=[1@25]" --numa "guest_numa_id=1,cpus=[1],memory_zones=[b]"
if [ "$(cat "$p.rc")" = 0 ] && grep -q '^numa_nodes=2' "$p.out" &&
   grep -q '^numa_node=0 cpus=0 mem_mib=256' "$p.out" && grep -q '^numa_node=1 cpus=1 mem_mib=3072' "$p.out" &&
   grep -q '^numa_mem node=1 base=0x100000000 size=0x10000000' "$p.out" &&
   grep -q '^numa_distance from=0 to=1 distance=25' "$p.out" && grep -q '^numa_distance from=1 to=0 distance=20' "$p.out" &&
   grep -q 'numa_mem_stamps=ok' "$p.out"; then
	pass numa_guest_topology_in_kit
else
	fail numa_guest_topology_in_kit "rc=$(cat "$p.rc") $(grep -E '^numa|fail' "$p.out" | tr '\n' ' ') $(tail -n2 "$p.err" | tr '\n' ' ')"
fi
if ! command -v iasl >/dev/null; then
	skip numa_srat_slit_iasl "iasl (acpica-tools) is not installed"
elif (cd "$TMP/acpi" && iasl -d SRAT.dat SLIT.dat >"$TMP/iasl.log" 2>&1) &&
     ! grep -qi 'error' "$TMP/iasl.log" &&
     [ "$(grep -c 'Proximity Domain : 00000001' "$TMP/acpi/SRAT.dsl")" = 2 ] &&
     grep -q 'Locality   0 : 0A 19' "$TMP/acpi/SLIT.dsl" && grep -q 'Locality   1 : 14 0A' "$TMP/acpi/SLIT.dsl"; then
	pass numa_srat_slit_iasl
else
	fail numa_srat_slit_iasl "$(grep -i error "$TMP/iasl.log" | head -3) $(grep -E 'Proximity Domain :|Locality ' "$TMP/acpi/"*.dsl 2>/dev/null | tr '\n' ' ')"
fi

# --- --cpus affinity=: the vCPU thread runs only where it is told; the engine keeps away
# from that CPU when the node has another
cpus=$(tr ',' '\n' </sys/devices/system/node/node$node/cpulist 2>/dev/null |
	awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }')
first=$(head -n1 <<<"$cpus") ncpu=$(wc -w <<<"$cpus")
p=$TMP/affinity
"$RINGVISOR" --kernel "$GUEST_ELF" --cpus "boot=1,affinity=[0@[$first]]" --memory size=64M \
	--cmdline "job=spin ms=20" </dev/null >"$p.out" 2>"$p.err" &
pid=$! eng="" vc=""
for _ in $(seq 1 600); do # the guest spins until stopped: a slow host cannot miss its threads
	for t in /proc/$pid/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		rv-engine$node) eng=$(awk '/Cpus_allowed_list/ {print $2}' "$t/status") ;;
		rv-vcpu0) vc=$(awk '/Cpus_allowed_list/ {print $2}' "$t/status") ;;
		esac
	done
	[ -n "$eng" ] && [ -n "$vc" ] && grep -q '^spinning=1' "$p.out" && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.05
done
kill -TERM $pid 2>/dev/null
wait $pid
if [ "$vc" = "$first" ] && { [ "$ncpu" -lt 2 ] || ! grep -qw "$first" <<<"$(tr ',-' '  ' <<<"$eng")"; }; then
	pass numa_vcpu_affinity
else
	fail numa_vcpu_affinity "vcpu0 CPUs '$vc' (want $first), engine CPUs '$eng'"
fi

# --- two host NUMA nodes (the KVM lab gives them: tests/lab/run --numa 2): a zone bound to
# each, shown as bind:N in numa_maps, and an engine thread per node on that node's CPUs
mapfile -t hnodes < <(ls -d /sys/devices/system/node/node[0-9]* 2>/dev/null | sed 's/.*node//' | sort -n)
if [ ${#hnodes[@]} -lt 2 ]; then
	skip numa_two_host_nodes "this host has ${#hnodes[@]} NUMA node(s); the KVM lab has two (tests/lab/run --numa 2), as make test runs this script on a host without VMX/SVM"
else
	n0=${hnodes[0]} n1=${hnodes[1]}
	expand_cpus() { tr ',' '\n' <<<"$1" | awk -F- '{ for (c = $1; c <= ($2 == "" ? $1 : $2); c++) print c }'; }
	# cpus_within LIST NODE_LIST: every CPU of LIST is in NODE_LIST (both "0-3,8" lists)
	cpus_within() { [ -n "$1" ] && [ -z "$(comm -23 <(expand_cpus "$1" | sort) <(expand_cpus "$2" | sort))" ]; }
	p=$TMP/twonode
	if ! start_spin "$p" --cpus boot=2 --memory size=0 \
		--memory-zone "id=a,size=128M,host_numa_node=$n0,prefault=on" \
		--memory-zone "id=b,size=128M,host_numa_node=$n1,prefault=on" \
		--numa "guest_numa_id=0,cpus=[0],memory_zones=[a]" --numa "guest_numa_id=1,cpus=[1],memory_zones=[b]"; then
		stop_spin
		fail numa_two_host_nodes "guest did not run: $(tail -n3 "$p.err" | tr '\n' ' ')"
	else
		za=$(zone_map "$p" a "$PID") zb=$(zone_map "$p" b "$PID")
		e0="" e1=""
		for t in /proc/$PID/task/*; do
			case "$(cat "$t/comm" 2>/dev/null)" in
			rv-engine$n0) e0=$(awk '/Cpus_allowed_list/ {print $2}' "$t/status") ;;
			rv-engine$n1) e1=$(awk '/Cpus_allowed_list/ {print $2}' "$t/status") ;;
			esac
		done
		stop_spin
		c0=$(cat /sys/devices/system/node/node$n0/cpulist) c1=$(cat /sys/devices/system/node/node$n1/cpulist)
		# pages actually on node N: the "N<n>=" counts
		if ! grep -q "bind:$n0" <<<"$za" || ! grep -q "bind:$n1" <<<"$zb" ||
		   ! grep -qE " N$n0=[0-9]+" <<<"$za" || ! grep -qE " N$n1=[0-9]+" <<<"$zb" || grep -qE " N$n0=" <<<"$zb"; then
			fail numa_two_host_nodes "numa_maps: a='$za' b='$zb' (want bind:$n0 with pages on N$n0, bind:$n1 with pages on N$n1)"
		elif [ -z "$e0" ] || [ -z "$e1" ]; then
			fail numa_two_host_nodes "want an engine thread per node (rv-engine$n0, rv-engine$n1): found '$e0' and '$e1'"
		elif ! cpus_within "$e0" "$c0" || ! cpus_within "$e1" "$c1"; then
			fail numa_two_host_nodes "engine CPUs: node $n0 '$e0' (node CPUs $c0), node $n1 '$e1' (node CPUs $c1)"
		else
			pass numa_two_host_nodes
			echo "# zone a: $za"
			echo "# zone b: $zb"
			echo "# rv-engine$n0 on CPUs $e0, rv-engine$n1 on CPUs $e1"
		fi
	fi
fi

# --- Linux on two guest nodes whose zones are bound to the two host nodes: Linux sees each
# node's CPU and memory, and the pages it touched sit on the host node its zone names.
# Last in this script: linux_image_ready ends it where stock Linux cannot run.
if [ ${#hnodes[@]} -lt 2 ]; then
	skip linux_numa_two_host_nodes "this host has ${#hnodes[@]} NUMA node(s); the KVM lab has two (tests/lab/run --numa 2)"
else
	source "$(dirname "$0")/linux_lib.bash"
	linux_image_ready linux_numa_two_host_nodes
	p=$TMP/linuxnuma
	linux_start "$p" "${LINUX_TIMEOUT:-600}" vmlinux hold "" --cpus boot=2 --memory size=0 \
		--memory-zone "id=a,size=256M,host_numa_node=$n0" --memory-zone "id=b,size=256M,host_numa_node=$n1" \
		--numa "guest_numa_id=0,cpus=[0],memory_zones=[a]" --numa "guest_numa_id=1,cpus=[1],memory_zones=[b]"
	if [ -z "$VMM" ] || ! wait_line "$p.out" '^ringvisor-linux: holding' "${LINUX_TIMEOUT:-600}" "$VMM"; then
		[ -n "$VMM" ] && kill -9 "$VMM" 2>/dev/null
		wait "$RUNNER"
		fail linux_numa_two_host_nodes "the init never reached 'holding': $(linux_why "$p")"
	else
		za=$(zone_map "$p" a "$VMM") zb=$(zone_map "$p" b "$VMM")
		kill -TERM "$VMM"
		wait "$RUNNER"
		nodes=$(lv "$p" numa_nodes)
		echo "# numa_nodes=$nodes"
		echo "# zone a: $za"
		echo "# zone b: $zb"
		if ! [[ $nodes =~ ^node0\(cpus=0,mem_kb=[0-9]+,distance=10-20\)\ node1\(cpus=1,mem_kb=[0-9]+,distance=20-10\)$ ]]; then
			fail linux_numa_two_host_nodes "Linux reports numa_nodes='$nodes', want node0 with CPU 0 and node1 with CPU 1"
		elif ! grep -q "bind:$n0" <<<"$za" || ! grep -q "bind:$n1" <<<"$zb" ||
		   ! grep -qE " N$n0=[0-9]+" <<<"$za" || ! grep -qE " N$n1=[0-9]+" <<<"$zb" ||
		   grep -qE " N$n1=" <<<"$za" || grep -qE " N$n0=" <<<"$zb"; then
			fail linux_numa_two_host_nodes "numa_maps: a='$za' b='$zb' (want each zone bound to its node, with pages only there)"
		elif [ "$(cat "$p.rc")" != 0 ]; then
			fail linux_numa_two_host_nodes "SIGTERM: exit $(cat "$p.rc"), not 0: $(linux_why "$p")"
		else
			pass linux_numa_two_host_nodes
		fi
	fi
fi
