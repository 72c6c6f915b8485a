/* Unit tests for guest memory zones and NUMA configuration: the options (--memory,
 * --memory-zone, --numa, --cpus affinity=, --disk numa_node=), the rules tying them
 * together, the zone layout around the PCI hole, and the host checks (unknown node, not
 * enough huge pages) against recorded 2-node topologies. */
#include "check.h"

#include "api/cli.h"
#include "cli_args.h"
#include "engine/log.h"
#include "engine/topology.h"
#include "kvm/e820.h"
#include "kvm/guest_mem.h"
#include "kvm/layout.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/rv-numa-test.XXXXXX";

static void test_options(void)
{
	struct vm_config c;
	const char *args[] = { "--kernel", "k", "--cpus", "boot=4,affinity=[0@[0-1],3@[2,5-6]]", "--memory", "size=0",
			       "--memory-zone", "id=a,size=1G,host_numa_node=0,hugepages=on,hugepage_size=1G,prefault=on",
			       "--memory-zone", "id=b,size=512M,shared=on",
			       "--numa", "guest_numa_id=0,cpus=[0-1],memory_zones=[a],distances=[1@20]",
			       "--numa", "guest_numa_id=1,cpus=[2,3],memory_zones=b,distances=[0@20]",
			       "--disk", "path=/x,numa_node=1", NULL };
	CHECK_EQ(parse(&c, args), CLI_RUN);
	CHECK_EQ(c.memory.n_zones, 2);
	CHECK(!strcmp(c.memory.zones[0].id, "a"));
	CHECK_EQ(c.memory.zones[0].size, 1ull << 30);
	CHECK_EQ(c.memory.zones[0].host_numa_node, 0);
	CHECK_EQ(c.memory.zones[0].hugepages, 1);
	CHECK_EQ(c.memory.zones[0].hugepage_size, 1ull << 30);
	CHECK_EQ(c.memory.zones[0].prefault, 1);
	CHECK_EQ(c.memory.zones[0].shared, 0); /* private by default */
	CHECK_EQ(c.memory.zones[1].shared, 1);
	CHECK_EQ(c.memory.zones[1].host_numa_node, CONFIG_NO_NODE);
	CHECK_EQ(c.n_numa, 2);
	CHECK_EQ(c.numa[1].guest_numa_id, 1);
	CHECK_EQ(c.numa[0].cpus[0], 0x3);
	CHECK_EQ(c.numa[1].cpus[0], 0xc);
	CHECK(!strcmp(c.numa[1].zones[0], "b"));
	CHECK_EQ(c.numa[0].n_distances, 1);
	CHECK_EQ(c.numa[0].distances[0].dest, 1);
	CHECK_EQ(c.numa[0].distances[0].distance, 20);
	CHECK_EQ(config_vcpu_numa(&c, 3), 1);
	CHECK_EQ(c.cpus.n_affinity, 2);
	CHECK_EQ(c.cpus.affinity[1].vcpu, 3);
	CHECK_EQ(CPU_COUNT(&c.cpus.affinity[1].host_cpus), 3);
	CHECK(CPU_ISSET(6, &c.cpus.affinity[1].host_cpus));
	CHECK_EQ(c.disks[0].numa_node, 1);
	config_free(&c);

	const char *plain[] = { "--kernel", "k", "--memory", "size=1G,hugepages=on,prefault=on,shared=on", NULL };
	CHECK_EQ(parse(&c, plain), CLI_RUN);
	CHECK_EQ(c.memory.hugepages, 1);
	CHECK_EQ(c.memory.prefault, 1);
	CHECK_EQ(c.disks[0].numa_node, 0); /* no disk given: untouched */
	config_free(&c);
}

/* Which host node each guest node, disk and engine lands on. */
static void test_node_mapping(void)
{
	struct vm_config c;
	const char *args[] = { "--kernel", "k", "--cpus", "boot=3", "--memory", "size=0",
			       "--memory-zone", "id=a,size=1G,host_numa_node=2", "--memory-zone", "id=b,size=1G",
			       "--memory-zone", "id=c,size=1G,host_numa_node=3", "--memory-zone", "id=d,size=1G,host_numa_node=2",
			       "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[a,d]",
			       "--numa", "guest_numa_id=2,cpus=[1],memory_zones=[b]",
			       "--numa", "guest_numa_id=1,cpus=[2],memory_zones=[c]",
			       "--disk", "path=/x,numa_node=1", "--disk", "path=/y,numa_node=2", "--disk", "path=/z", NULL };
	CHECK_EQ(parse(&c, args), CLI_RUN);
	CHECK_EQ(config_numa_host_node(&c, 0), 2);
	CHECK_EQ(config_numa_host_node(&c, 1), -1); /* guest node 2: its zone is not bound */
	CHECK_EQ(config_numa_host_node(&c, 2), 3);
	int nodes[8];
	CHECK_EQ(config_host_nodes(&c, 2, nodes, 8), 2);
	CHECK(nodes[0] == 2 && nodes[1] == 3);
	CHECK_EQ(config_host_nodes(&c, 0, nodes, 8), 3);
	CHECK(nodes[0] == 0 && nodes[1] == 2 && nodes[2] == 3);
	CHECK_EQ(config_disk_host_node(&c, &c.disks[0]), 3);
	CHECK_EQ(config_disk_host_node(&c, &c.disks[1]), -1);
	CHECK_EQ(config_disk_host_node(&c, &c.disks[2]), -1);
	config_free(&c);
}

static void test_refused(void)
{
	static const char *const bad[][16] = {
		{ "--memory", "size=0", NULL },                                        /* no zones */
		{ "--memory-zone", "id=a,size=1G", NULL },                              /* size not 0 */
		{ "--memory", "size=0", "--memory-zone", "size=1G", NULL },            /* no id */
		{ "--memory", "size=0", "--memory-zone", "id=a", NULL },                /* no size */
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--memory-zone", "id=a,size=1G", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G,hugepage_size=4M", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=3M,hugepages=on", NULL }, /* not 2M-sized */
		{ "--memory", "size=0,hugepages=on", "--memory-zone", "id=a,size=1G", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G,colour=red", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G,host_numa_node=x", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[b]", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,cpus=[1],memory_zones=[a]", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--numa", "cpus=[0],memory_zones=[a]", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[a],distances=[0@20]", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[a],distances=[3@20]", NULL },
		{ "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--memory-zone", "id=b,size=1G", "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[a]", NULL },
	};
	static const char *const bad2[][16] = {
		{ "--cpus", "boot=2", "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--memory-zone", "id=b,size=1G",
		  "--numa", "guest_numa_id=0,cpus=[0],memory_zones=[a,b]", "--numa", "guest_numa_id=1,cpus=[1],memory_zones=[b]", NULL },
		{ "--cpus", "boot=2", "--memory", "size=0", "--memory-zone", "id=a,size=1G", "--numa", "guest_numa_id=0,cpus=[0-1],memory_zones=[a]",
		  "--numa", "guest_numa_id=0,cpus=[],memory_zones=[a]", NULL },
		{ "--cpus", "boot=2,affinity=[2@[0]]", NULL },
		{ "--cpus", "boot=2,affinity=[0@[0],0@[1]]", NULL },
		{ "--memory", "size=1G", "--numa", "guest_numa_id=1,cpus=[0]", NULL }, /* ids must be 0..N-1 */
		{ "--cpus", "boot=2,affinity=[0@[]]", NULL },
		{ "--cpus", "boot=2,affinity=[0]", NULL },
		{ "--disk", "path=/x,numa_node=0", NULL },
		{ "--cpus", "boot=2", "--memory", "size=1G", "--numa", "guest_numa_id=0,cpus=[0]", "--numa", "guest_numa_id=1,cpus=[1]", NULL },
	};
	log_set_level(LOG_QUIET);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]) + sizeof(bad2) / sizeof(bad2[0]); i++) {
		const char *const *b = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : bad2[i - sizeof(bad) / sizeof(bad[0])];
		const char *args[24] = { "--kernel", "k" };
		unsigned n = 2;
		for (; *b; b++)
			args[n++] = *b;
		args[n] = NULL;
		struct vm_config c;
		enum cli_result r = parse(&c, args);
		config_free(&c);
		if (r != CLI_ERROR) {
			printf("FAIL numa_refused: case %u was accepted\n", i);
			check_current_failed = 1;
			return;
		}
	}
	log_set_level(LOG_INFO);
}

static void test_zone_layout(void)
{
	struct guest_mem m;
	struct guest_zone_spec z[3] = {
		{ .id = "a", .size = 2 * GiB, .host_node = -1, .shared = true },
		{ .id = "b", .size = 2 * GiB, .host_node = -1, .shared = false },
		{ .id = "c", .size = 1 * GiB, .host_node = -1, .shared = true },
	};
	CHECK_EQ(guest_mem_create_zones(&m, z, 3, 46), 0);
	CHECK_EQ(m.total, 5 * GiB);
	CHECK_EQ(m.n_zones, 3);
	CHECK_EQ(m.n_regions, 4);
	/* a below the hole; b split by the hole; c after b above 4 GiB */
	CHECK(m.regions[0].gpa == 0 && m.regions[0].size == 2 * GiB && m.regions[0].zone == 0);
	CHECK(m.regions[1].gpa == 2 * GiB && m.regions[1].size == LAYOUT_PCI_HOLE_START - 2 * GiB && m.regions[1].zone == 1);
	CHECK(m.regions[2].gpa == LAYOUT_4G && m.regions[2].fd_offset == m.regions[1].size && m.regions[2].zone == 1);
	CHECK(m.regions[3].gpa == LAYOUT_4G + GiB && m.regions[3].zone == 2 && m.regions[3].fd_offset == 0);
	CHECK(m.zones[1].fd < 0 && m.zones[0].fd >= 0); /* b is private anonymous memory */
	CHECK_EQ(guest_mem_low_end(&m), LAYOUT_PCI_HOLE_START);
	/* no access spans two zones, even where they touch in guest-physical space */
	CHECK(guest_mem_ptr(&m, 2 * GiB - 8, 16) == NULL);
	CHECK(guest_mem_ptr(&m, 2 * GiB, 8) == m.zones[1].base);
	CHECK(guest_mem_ptr(&m, LAYOUT_4G + GiB, 8) == m.zones[2].base);
	CHECK_EQ(guest_mem_write(&m, LAYOUT_4G + 5 * GiB, "x", 1), -EFAULT);
	struct e820_entry map[16];
	unsigned n = e820_build(&m, map, 16);
	uint64_t ram = 0;
	for (unsigned i = 0; i < n; i++)
		ram += map[i].type == E820_RAM ? map[i].size : 0;
	CHECK_EQ(ram, 5 * GiB - (LAYOUT_HIMEM - LAYOUT_EBDA));
	guest_mem_destroy(&m);

	log_set_level(LOG_QUIET);
	struct guest_zone_spec small[2] = { { .id = "a", .size = 8 * MiB, .host_node = -1, .shared = true },
					     { .id = "b", .size = GiB, .host_node = -1, .shared = true } };
	CHECK(guest_mem_create_zones(&m, small, 2, 46) < 0); /* the first zone holds the boot data */
	struct guest_zone_spec odd = { .id = "a", .size = 64 * MiB + 4096, .host_node = -1, .hugepage_size = 2 * MiB };
	CHECK(guest_mem_create_zones(&m, &odd, 1, 46) < 0);
	/* 1 GiB + 32 MiB fits 31 bits, but the 1 GiB-page zone starts at 1 GiB, so the last
	 * zone would end at 2 GiB + 16 MiB: refused as such before anything is allocated (it
	 * used to try the 1 GiB page first and fail on that, where none is reserved) */
	struct guest_zone_spec aligned[3] = {
		{ .id = "a", .size = 16 * MiB, .host_node = -1, .shared = true },
		{ .id = "b", .size = GiB, .host_node = -1, .hugepage_size = GiB },
		{ .id = "c", .size = 16 * MiB, .host_node = -1, .shared = true },
	};
	CHECK_EQ(guest_mem_create_zones(&m, aligned, 3, 31), -EINVAL);
	log_set_level(LOG_INFO);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* A recorded 2-node host: node0 has 10 free 2 MiB pages, node1 has 1; no 1 GiB pages. */
static const char *two_node_host(void)
{
	static char root[300];
	char p[400];
	snprintf(root, sizeof(root), "%s/two", dir);
	mkdir(root, 0755);
	for (int n = 0; n < 2; n++) {
		snprintf(p, sizeof(p), "%s/node%d", root, n);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/node%d/cpulist", root, n);
		put(p, n ? "2-3\n" : "0-1\n");
		snprintf(p, sizeof(p), "%s/node%d/hugepages", root, n);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/node%d/hugepages/hugepages-2048kB", root, n);
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/node%d/hugepages/hugepages-2048kB/free_hugepages", root, n);
		put(p, n ? "1\n" : "10\n");
	}
	return root;
}

static void test_host_checks(void)
{
	const char *root = two_node_host();
	unsigned long long n;
	CHECK_EQ(topology_free_hugepages(root, 0, 2 * MiB, &n), 0);
	CHECK_EQ(n, 10);
	CHECK_EQ(topology_free_hugepages(root, -1, 2 * MiB, &n), 0);
	CHECK_EQ(n, 11);
	CHECK(topology_free_hugepages(root, 0, GiB, &n) == -ENOENT);

	struct guest_zone_spec z[2] = { { .id = "a", .size = 16 * MiB, .host_node = 0, .hugepage_size = 2 * MiB },
					{ .id = "b", .size = 4 * MiB, .host_node = 0, .hugepage_size = 2 * MiB } };
	CHECK_EQ(guest_mem_check_host(z, 2, root), 0); /* 10 pages needed on node 0, 10 free */
	log_set_level(LOG_QUIET);
	z[1].size = 6 * MiB; /* 11 on node 0 */
	CHECK_EQ(guest_mem_check_host(z, 2, root), -ENOMEM);
	z[1].host_node = 1; /* 3 on node 1, which has 1 */
	CHECK_EQ(guest_mem_check_host(z, 2, root), -ENOMEM);
	z[1].size = 2 * MiB;
	CHECK_EQ(guest_mem_check_host(z, 2, root), 0);
	z[1].host_node = 5;
	CHECK_EQ(guest_mem_check_host(z, 2, root), -ENODEV);
	z[1].host_node = 1;
	z[1].hugepage_size = GiB;
	CHECK_EQ(guest_mem_check_host(z, 2, root), -EINVAL); /* no 1 GiB pages at all */
	z[1].hugepage_size = 0;
	z[1].size = 64 * GiB; /* ordinary pages are not counted ahead */
	CHECK_EQ(guest_mem_check_host(z, 2, root), 0);
	log_set_level(LOG_INFO);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL setup: mkdtemp\n");
		return 1;
	}
	RUN(test_options);
	RUN(test_refused);
	RUN(test_node_mapping);
	RUN(test_zone_layout);
	RUN(test_host_checks);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) { /* best effort */ }
	CHECK_EXIT();
}
