/* Unit tests for host topology parsing and thread placement, on recorded topologies of
 * hosts this one is not (2 and 4 nodes), as well as the host's own. */
#include "check.h"

#include "engine/placement.h"
#include "engine/topology.h"

#include <stdlib.h>
#include <sys/stat.h>

static char dir[] = "/tmp/rv-topo-XXXXXX";

static void write_node(const char *root, int id, const char *cpulist)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/node%d", root, id);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/node%d/cpulist", root, id);
	FILE *f = fopen(path, "w");
	fprintf(f, "%s\n", cpulist);
	fclose(f);
}

static void test_cpulist(void)
{
	cpu_set_t s;
	CHECK_EQ(topology_parse_cpulist("0-3,8,10-11", &s), 0);
	CHECK_EQ(CPU_COUNT(&s), 7);
	CHECK(CPU_ISSET(8, &s) && CPU_ISSET(11, &s) && !CPU_ISSET(9, &s));
	CHECK(topology_parse_cpulist("3-1", &s) < 0);
	CHECK(topology_parse_cpulist("a", &s) < 0);
	CHECK(topology_parse_cpulist("1,,2", &s) < 0);
	CHECK_EQ(topology_parse_cpulist("", &s), 0);
	CHECK_EQ(CPU_COUNT(&s), 0);
}

static void test_recorded_topologies(void)
{
	struct host_topology t;
	char two[600], four[600];
	snprintf(two, sizeof(two), "%s/two", dir);
	snprintf(four, sizeof(four), "%s/four", dir);
	mkdir(two, 0755);
	mkdir(four, 0755);
	write_node(two, 0, "0-3");
	write_node(two, 1, "4-7");
	write_node(four, 0, "0-1,8-9");
	write_node(four, 1, "2-3,10-11");
	write_node(four, 2, "4-5,12-13");
	write_node(four, 3, "6-7,14-15");
	CHECK_EQ(topology_load(&t, two), 0);
	CHECK_EQ(t.n_nodes, 2);
	CHECK_EQ(topology_find(&t, 1), 1);
	CHECK(CPU_ISSET(5, &t.cpus[1]) && !CPU_ISSET(3, &t.cpus[1]));
	CHECK_EQ(topology_load(&t, four), 0);
	CHECK_EQ(t.n_nodes, 4);
	CHECK_EQ(CPU_COUNT(&t.cpus[3]), 4);
	CHECK(CPU_ISSET(14, &t.cpus[3]));
	CHECK(topology_load(&t, "/nonexistent/topology") < 0);
	CHECK_EQ(topology_load(&t, NULL), 0); /* this host */
	CHECK(t.n_nodes >= 1);
}

static void test_placement(void)
{
	cpu_set_t node;
	struct placement p;
	topology_parse_cpulist("0-1", &node);
	/* 2 CPUs, 1 vCPU: engine on 0, the vCPU alone on 1, workers with the engine */
	placement_plan(&node, 1, &p);
	CHECK(p.pinned);
	CHECK(CPU_COUNT(&p.engine) == 1 && CPU_ISSET(0, &p.engine));
	CHECK(CPU_COUNT(&p.vcpu[0]) == 1 && CPU_ISSET(1, &p.vcpu[0]));
	CHECK(CPU_COUNT(&p.iowq) == 1 && CPU_ISSET(0, &p.iowq));
	/* 2 CPUs, 2 vCPUs: no CPU to spare, nothing pinned */
	placement_plan(&node, 2, &p);
	CHECK(!p.pinned);
	CHECK_EQ(CPU_COUNT(&p.engine), 2);
	CHECK_EQ(CPU_COUNT(&p.vcpu[0]), 0);
	/* node 3 of the four-node host, 2 vCPUs: each its own CPU, none shared with the engine */
	topology_parse_cpulist("6-7,14-15", &node);
	placement_plan(&node, 2, &p);
	CHECK(p.pinned);
	CHECK(CPU_ISSET(6, &p.engine));
	CHECK(CPU_ISSET(15, &p.vcpu[0]) && CPU_ISSET(14, &p.vcpu[1]));
	CHECK(CPU_ISSET(6, &p.iowq) && CPU_ISSET(7, &p.iowq) && !CPU_ISSET(14, &p.iowq) && !CPU_ISSET(15, &p.iowq));
}

/* A VM across nodes of the recorded hosts: one engine per node, each vCPU on its node. */
static void test_vm_placement(void)
{
	struct host_topology t;
	struct vm_placement *p = malloc(sizeof(*p));
	char two[600], four[600];
	CHECK(p != NULL);
	snprintf(two, sizeof(two), "%s/two", dir);
	snprintf(four, sizeof(four), "%s/four", dir);
	CHECK_EQ(topology_load(&t, two), 0);
	/* 4 vCPUs, two per node */
	int nodes2[] = { 0, 1 }, vnode[] = { 0, 0, 1, 1 };
	CHECK_EQ(placement_plan_vm(&t, nodes2, 2, vnode, NULL, 4, p), 0);
	CHECK_EQ(p->n_engines, 2);
	CHECK(CPU_COUNT(&p->engine[0].cpus) == 1 && CPU_ISSET(0, &p->engine[0].cpus));
	CHECK(CPU_COUNT(&p->engine[1].cpus) == 1 && CPU_ISSET(4, &p->engine[1].cpus));
	CHECK(CPU_ISSET(3, &p->vcpu[0]) && CPU_ISSET(2, &p->vcpu[1]) && CPU_COUNT(&p->vcpu[1]) == 1);
	CHECK(CPU_ISSET(7, &p->vcpu[2]) && CPU_ISSET(6, &p->vcpu[3]));
	CHECK(p->vcpu_engine[1] == 0 && p->vcpu_engine[2] == 1);
	CHECK(CPU_ISSET(5, &p->engine[1].iowq) && !CPU_ISSET(6, &p->engine[1].iowq) && !CPU_ISSET(1, &p->engine[1].iowq));
	CHECK_EQ(placement_engine_of_node(p, 1), 1);
	CHECK_EQ(placement_engine_of_node(p, 7), 0);

	/* four nodes, the VM on nodes 2 and 3 (2 first), explicit affinity for vCPU 1 */
	CHECK_EQ(topology_load(&t, four), 0);
	int nodes4[] = { 2, 3 }, vnode4[] = { 2, 3, 3 };
	cpu_set_t aff[3];
	CPU_ZERO(&aff[0]);
	CPU_ZERO(&aff[1]);
	CPU_ZERO(&aff[2]);
	CPU_SET(15, &aff[1]);
	CHECK_EQ(placement_plan_vm(&t, nodes4, 2, vnode4, aff, 3, p), 0);
	CHECK(p->engine[0].node == 2 && CPU_ISSET(4, &p->engine[0].cpus) && CPU_COUNT(&p->engine[0].cpus) == 1);
	CHECK(CPU_ISSET(13, &p->vcpu[0]) && CPU_COUNT(&p->vcpu[0]) == 1);
	CHECK(CPU_ISSET(15, &p->vcpu[1]) && CPU_COUNT(&p->vcpu[1]) == 1);
	/* node 3 without the user's CPU 15: engine on 6, vCPU 2 on 14, workers on 6-7 */
	CHECK(CPU_ISSET(6, &p->engine[1].cpus) && CPU_COUNT(&p->engine[1].cpus) == 1);
	CHECK(CPU_ISSET(14, &p->vcpu[2]) && CPU_COUNT(&p->vcpu[2]) == 1);
	CHECK(!CPU_ISSET(15, &p->engine[1].iowq) && !CPU_ISSET(14, &p->engine[1].iowq) && CPU_ISSET(7, &p->engine[1].iowq));
	/* no node given for a vCPU: the first engine's */
	CHECK_EQ(placement_plan_vm(&t, nodes4, 2, NULL, NULL, 2, p), 0);
	CHECK(p->vcpu_engine[0] == 0 && p->vcpu_engine[1] == 0 && CPU_ISSET(13, &p->vcpu[0]) && CPU_ISSET(12, &p->vcpu[1]));
	/* refused: a node the host lacks, a vCPU on a node the VM does not use, a node twice */
	int bad_nodes[] = { 2, 9 }, twice[] = { 1, 1 }, vnode_bad[] = { 0 };
	CHECK(placement_plan_vm(&t, bad_nodes, 2, NULL, NULL, 1, p) < 0);
	CHECK(placement_plan_vm(&t, nodes4, 2, vnode_bad, NULL, 1, p) < 0);
	CHECK(placement_plan_vm(&t, twice, 2, NULL, NULL, 1, p) < 0);
	free(p);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL setup: mkdtemp\n");
		return 1;
	}
	RUN(test_cpulist);
	RUN(test_recorded_topologies);
	RUN(test_placement);
	RUN(test_vm_placement);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) { /* best effort */ }
	CHECK_EXIT();
}
