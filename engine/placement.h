/* placement: which CPUs the engine, its io-wq workers and each vCPU thread get, within
 * the CPUs of the engine's node. When the node has more CPUs than vCPUs, the engine
 * takes the first CPU, each vCPU one CPU of its own from the top down, and io-wq
 * workers whatever the vCPUs leave (the engine's CPU included): a guest that polls its
 * rings then never competes with the engine or the workers that finish its I/O (on a
 * 2-CPU host this took tmpfs randread QD32 from ~270K to ~370K IOPS). Otherwise
 * nothing is pinned beyond the node. */
#ifndef RV_PLACEMENT_H
#define RV_PLACEMENT_H

#include "topology.h"

#include <sched.h>
#include <stdbool.h>

struct placement {
	bool pinned;               /* false: everything may run on any CPU of the node */
	cpu_set_t engine, iowq;
	cpu_set_t vcpu[CPU_SETSIZE];
};

/* Plan for n_vcpus (≥ 1) on node_cpus. */
void placement_plan(const cpu_set_t *node_cpus, unsigned n_vcpus, struct placement *p);

#define PLACEMENT_MAX_ENGINES 16
#define PLACEMENT_MAX_VCPUS 256

/* A whole VM across host nodes: one engine per host node the VM uses. */
struct vm_placement {
	unsigned n_engines;
	struct {
		int node;              /* host node id */
		cpu_set_t cpus, iowq;  /* the engine thread's CPUs and its io-wq workers' */
	} engine[PLACEMENT_MAX_ENGINES];
	cpu_set_t vcpu[PLACEMENT_MAX_VCPUS]; /* empty: the vCPU thread is not pinned */
	unsigned vcpu_engine[PLACEMENT_MAX_VCPUS]; /* the engine of the vCPU's node */
};

/* nodes: the host nodes the VM uses (engine order; the first engine also runs the API and
 * the legacy devices); vcpu_node[v]: the host node vCPU v should run on (-1: the first);
 * affinity: NULL, or per vCPU the user's host CPUs (an empty set: none given). Within each
 * node, placement_plan() shares out the CPUs that explicit affinities leave. Returns 0, or
 * -EINVAL when a node is not in t, a vCPU names a node not in nodes, or there are too many
 * nodes or vCPUs. */
int placement_plan_vm(const struct host_topology *t, const int *nodes, unsigned n_nodes, const int *vcpu_node,
		      const cpu_set_t *affinity, unsigned n_vcpus, struct vm_placement *p);
/* The engine serving host node `node`, or 0 (the first) when the VM has none there. */
unsigned placement_engine_of_node(const struct vm_placement *p, int node);

#endif
