/* placement: see placement.h. */
#include "placement.h"

#include <string.h>

void placement_plan(const cpu_set_t *node_cpus, unsigned n_vcpus, struct placement *p)
{
	int cpus[CPU_SETSIZE], n = 0;

	memset(p, 0, sizeof(*p));
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, node_cpus))
			cpus[n++] = c;
	p->engine = *node_cpus;
	p->iowq = *node_cpus;
	for (unsigned i = 0; i < n_vcpus && i < CPU_SETSIZE; i++)
		CPU_ZERO(&p->vcpu[i]);
	if (n <= (int)n_vcpus || n_vcpus >= CPU_SETSIZE)
		return; /* no CPU to spare for the engine: let the scheduler share them out */
	p->pinned = true;
	CPU_ZERO(&p->engine);
	CPU_SET(cpus[0], &p->engine);
	for (unsigned i = 0; i < n_vcpus; i++) {
		int c = cpus[n - 1 - (int)i];
		CPU_SET(c, &p->vcpu[i]);
		CPU_CLR(c, &p->iowq);
	}
}
