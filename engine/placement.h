/* placement: which CPUs the engine, its io-wq workers and each vCPU thread get, within
 * the CPUs of the engine's node. When the node has more CPUs than vCPUs, the engine
 * takes the first CPU, each vCPU one CPU of its own from the top down, and io-wq
 * workers whatever the vCPUs leave (the engine's CPU included): a guest that polls its
 * rings then never competes with the engine or the workers that finish its I/O (on a
 * 2-CPU host this took tmpfs randread QD32 from ~270K to ~370K IOPS). Otherwise
 * nothing is pinned beyond the node. */
#ifndef RV_PLACEMENT_H
#define RV_PLACEMENT_H

#include <sched.h>
#include <stdbool.h>

struct placement {
	bool pinned;               /* false: everything may run on any CPU of the node */
	cpu_set_t engine, iowq;
	cpu_set_t vcpu[CPU_SETSIZE];
};

/* Plan for n_vcpus (≥ 1) on node_cpus. */
void placement_plan(const cpu_set_t *node_cpus, unsigned n_vcpus, struct placement *p);

#endif
