/* topology: the host's NUMA nodes and their CPUs, read from a directory shaped like
 * /sys/devices/system/node. Tests point it at recorded topologies of other hosts. */
#ifndef RV_TOPOLOGY_H
#define RV_TOPOLOGY_H

#include <sched.h>

#define TOPO_MAX_NODES 64

struct host_topology {
	int n_nodes;
	int node_id[TOPO_MAX_NODES];
	cpu_set_t cpus[TOPO_MAX_NODES];
};

/* root NULL: the running host. Returns 0 or -errno. */
int topology_load(struct host_topology *t, const char *root);
/* Index into t of node id, or -1. */
int topology_find(const struct host_topology *t, int node_id);
/* Free huge pages of page_size bytes on host node `node` (root as for topology_load), or
 * on the whole host when node < 0. Returns 0 or -errno (e.g. -ENOENT: no such page size). */
int topology_free_hugepages(const char *root, int node, unsigned long long page_size, unsigned long long *free_pages);
/* Parse a Linux cpulist ("0-3,8,10-11"). Returns 0 or -EINVAL. */
int topology_parse_cpulist(const char *s, cpu_set_t *set);

#endif
