/* placement: see placement.h. */
#include "placement.h"

#include <errno.h>
#include <stdlib.h>
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

unsigned placement_engine_of_node(const struct vm_placement *p, int node)
{
	for (unsigned i = 0; i < p->n_engines; i++)
		if (p->engine[i].node == node)
			return i;
	return 0;
}

int placement_plan_vm(const struct host_topology *t, const int *nodes, unsigned n_nodes, const int *vcpu_node,
		      const cpu_set_t *affinity, unsigned n_vcpus, struct vm_placement *p)
{
	memset(p, 0, sizeof(*p));
	if (!n_nodes || n_nodes > PLACEMENT_MAX_ENGINES || n_vcpus > PLACEMENT_MAX_VCPUS)
		return -EINVAL;
	for (unsigned i = 0; i < n_nodes; i++) {
		if (topology_find(t, nodes[i]) < 0)
			return -EINVAL;
		for (unsigned k = 0; k < i; k++)
			if (nodes[k] == nodes[i])
				return -EINVAL;
		p->engine[i].node = nodes[i];
	}
	p->n_engines = n_nodes;
	for (unsigned v = 0; v < n_vcpus; v++) {
		int node = vcpu_node && vcpu_node[v] >= 0 ? vcpu_node[v] : nodes[0];
		unsigned e = placement_engine_of_node(p, node);
		if (p->engine[e].node != node)
			return -EINVAL;
		p->vcpu_engine[v] = e;
	}
	struct placement *np = malloc(sizeof(*np)); /* large: a cpu_set_t per possible vCPU */
	if (!np)
		return -ENOMEM;
	for (unsigned e = 0; e < n_nodes; e++) {
		cpu_set_t cpus = t->cpus[topology_find(t, nodes[e])];
		unsigned free_vcpus = 0;
		/* CPUs the user gave to vCPUs are theirs: plan the rest of the node around them. */
		cpu_set_t rest = cpus;
		for (unsigned v = 0; v < n_vcpus; v++) {
			if (p->vcpu_engine[v] != e)
				continue;
			if (affinity && CPU_COUNT(&affinity[v])) {
				cpu_set_t others;
				CPU_XOR(&others, &rest, &affinity[v]);
				CPU_AND(&rest, &rest, &others); /* rest minus the vCPU's CPUs */
			} else {
				free_vcpus++;
			}
		}
		if (!CPU_COUNT(&rest))
			rest = cpus;
		placement_plan(&rest, free_vcpus ? free_vcpus : 1, np);
		p->engine[e].cpus = np->engine;
		p->engine[e].iowq = np->iowq;
		if (!free_vcpus && np->pinned) {
			/* No vCPU of ours to keep apart from: the workers may use the whole rest. */
			p->engine[e].iowq = rest;
		}
		unsigned k = 0;
		for (unsigned v = 0; v < n_vcpus; v++) {
			if (p->vcpu_engine[v] != e)
				continue;
			if (affinity && CPU_COUNT(&affinity[v]))
				p->vcpu[v] = affinity[v];
			else if (np->pinned)
				p->vcpu[v] = np->vcpu[k++];
			else
				p->vcpu[v] = cpus; /* shared, but kept on its node */
		}
	}
	free(np);
	return 0;
}
