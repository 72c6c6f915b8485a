/* config_memory: the rules that tie memory, zones, guest NUMA nodes, vCPU affinity and
 * device nodes together. They need no host access, so a bad combination is refused when
 * the configuration is read (CLI or API), before anything is created. */
#include "config.h"

#include "kvm/layout.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int why_fmt(char *why, size_t n, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const struct memory_zone_config *config_find_zone(const struct vm_config *c, const char *id)
{
	for (unsigned i = 0; i < c->memory.n_zones; i++)
		if (!strcmp(c->memory.zones[i].id, id))
			return &c->memory.zones[i];
	return NULL;
}

int config_vcpu_numa(const struct vm_config *c, unsigned v)
{
	for (unsigned i = 0; i < c->n_numa && v < CONFIG_MAX_VCPUS; i++)
		if (c->numa[i].cpus[v / 64] & (1ull << (v % 64)))
			return (int)i;
	return -1;
}


static int numa_index(const struct vm_config *c, unsigned guest_id)
{
	for (unsigned i = 0; i < c->n_numa; i++)
		if (c->numa[i].guest_numa_id == guest_id)
			return (int)i;
	return -1;
}

int config_zone_numa(const struct vm_config *c, const char *zone_id)
{
	for (unsigned g = 0; g < c->n_numa; g++)
		for (unsigned k = 0; k < c->numa[g].n_zones; k++)
			if (!strcmp(c->numa[g].zones[k], zone_id))
				return (int)g;
	return -1;
}

int config_numa_host_node(const struct vm_config *c, int g)
{
	if (g < 0 || (unsigned)g >= c->n_numa)
		return -1;
	for (unsigned k = 0; k < c->numa[g].n_zones; k++) {
		const struct memory_zone_config *z = config_find_zone(c, c->numa[g].zones[k]);
		if (z && z->host_numa_node != CONFIG_NO_NODE)
			return z->host_numa_node;
	}
	return -1;
}

unsigned config_host_nodes(const struct vm_config *c, int first, int *nodes, unsigned max)
{
	unsigned n = 0;
	nodes[n++] = first;
	for (unsigned i = 0; i < c->memory.n_zones && n < max; i++) {
		int node = c->memory.zones[i].host_numa_node;
		bool seen = node == CONFIG_NO_NODE;
		for (unsigned k = 0; k < n && !seen; k++)
			seen = nodes[k] == node;
		if (!seen)
			nodes[n++] = node;
	}
	return n;
}

int config_disk_host_node(const struct vm_config *c, const struct disk_config *d)
{
	return d->numa_node == CONFIG_NO_NODE ? -1 : config_numa_host_node(c, numa_index(c, (unsigned)d->numa_node));
}

static int check_zones(const struct vm_config *c, char *why, size_t n)
{
	if (c->memory.n_zones && c->memory.size)
		return why_fmt(why, n, "--memory size= must be 0 when --memory-zone describes the RAM");
	if (!c->memory.n_zones && !c->memory.size)
		return why_fmt(why, n, "--memory size=0 needs at least one --memory-zone");
	if (c->memory.n_zones && (c->memory.hugepages || c->memory.prefault))
		return why_fmt(why, n, "with --memory-zone, set hugepages= and prefault= on each zone, not on --memory");
	uint64_t page = c->memory.hugepages ? (c->memory.hugepage_size ? c->memory.hugepage_size : 2 * MiB) : 4096;
	if (c->memory.size % page)
		return why_fmt(why, n, "--memory size=%llu is not a multiple of the page size (%llu)",
			       (unsigned long long)c->memory.size, (unsigned long long)page);
	for (unsigned i = 0; i < c->memory.n_zones; i++) {
		const struct memory_zone_config *z = &c->memory.zones[i];
		page = z->hugepages ? (z->hugepage_size ? z->hugepage_size : 2 * MiB) : 4096;
		if (z->size % page)
			return why_fmt(why, n, "--memory-zone id=%s: size=%llu is not a multiple of the page size (%llu)", z->id,
				       (unsigned long long)z->size, (unsigned long long)page);
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(c->memory.zones[k].id, z->id))
				return why_fmt(why, n, "--memory-zone id=%s is used twice", z->id);
	}
	return 0;
}

static int check_numa(const struct vm_config *c, char *why, size_t n)
{
	unsigned zone_owner[CONFIG_MAX_ZONES];
	memset(zone_owner, 0xff, sizeof(zone_owner));
	for (unsigned i = 0; i < c->n_numa; i++) {
		const struct numa_node_config *nn = &c->numa[i];
		if (numa_index(c, nn->guest_numa_id) != (int)i)
			return why_fmt(why, n, "--numa guest_numa_id=%u is given twice", nn->guest_numa_id);
		/* ACPI's SLIT numbers proximity domains 0..N-1, so the ids must be those. */
		if (nn->guest_numa_id >= c->n_numa)
			return why_fmt(why, n, "--numa guest_numa_id=%u: with %u nodes the ids must be 0 to %u", nn->guest_numa_id,
				       c->n_numa, c->n_numa - 1);
		for (unsigned v = 0; v < CONFIG_MAX_VCPUS; v++) {
			if (!(nn->cpus[v / 64] & (1ull << (v % 64))))
				continue;
			if (v >= c->cpus.max_vcpus)
				return why_fmt(why, n, "--numa guest_numa_id=%u: vCPU %u is beyond --cpus max=%u", nn->guest_numa_id,
					       v, c->cpus.max_vcpus);
			if (config_vcpu_numa(c, v) != (int)i)
				return why_fmt(why, n, "--numa: vCPU %u is in two guest NUMA nodes", v);
		}
		for (unsigned k = 0; k < nn->n_zones; k++) {
			const struct memory_zone_config *z = config_find_zone(c, nn->zones[k]);
			if (!z)
				return why_fmt(why, n, "--numa guest_numa_id=%u: no --memory-zone id=%s", nn->guest_numa_id,
					       nn->zones[k]);
			unsigned zi = (unsigned)(z - c->memory.zones);
			if (zone_owner[zi] != ~0u)
				return why_fmt(why, n, "--memory-zone id=%s is in two guest NUMA nodes", z->id);
			zone_owner[zi] = i;
		}
		for (unsigned k = 0; k < nn->n_distances; k++) {
			unsigned dest = nn->distances[k].dest, d = nn->distances[k].distance;
			if (numa_index(c, dest) < 0)
				return why_fmt(why, n, "--numa guest_numa_id=%u: distance to node %u, which no --numa defines",
					       nn->guest_numa_id, dest);
			/* ACPI SLIT: 10 is a node's distance to itself, 255 means unreachable. */
			if (dest == nn->guest_numa_id ? d != 10 : (d <= 10 || d > 255))
				return why_fmt(why, n, "--numa guest_numa_id=%u: distance %u to node %u must be %s", nn->guest_numa_id,
					       d, dest, dest == nn->guest_numa_id ? "10 (itself)" : "11 to 255");
		}
	}
	if (!c->n_numa)
		return 0;
	for (unsigned v = 0; v < c->cpus.max_vcpus; v++)
		if (config_vcpu_numa(c, v) < 0)
			return why_fmt(why, n, "--numa: vCPU %u is in no guest NUMA node (list every vCPU in cpus=)", v);
	for (unsigned zi = 0; zi < c->memory.n_zones; zi++)
		if (zone_owner[zi] == ~0u)
			return why_fmt(why, n, "--numa: --memory-zone id=%s is in no guest NUMA node", c->memory.zones[zi].id);
	if (!c->memory.n_zones && c->n_numa > 1)
		return why_fmt(why, n, "--numa: with more than one node, give each its RAM with --memory-zone");
	return 0;
}

int config_check_memory(const struct vm_config *c, char *why, size_t n)
{
	int ret;
	if ((ret = check_zones(c, why, n)) || (ret = check_numa(c, why, n)))
		return ret;
	for (unsigned i = 0; i < c->cpus.n_affinity; i++) {
		unsigned v = c->cpus.affinity[i].vcpu;
		if (v >= c->cpus.max_vcpus)
			return why_fmt(why, n, "--cpus affinity: vCPU %u is beyond max=%u", v, c->cpus.max_vcpus);
		for (unsigned k = 0; k < i; k++)
			if (c->cpus.affinity[k].vcpu == v)
				return why_fmt(why, n, "--cpus affinity: vCPU %u is given twice", v);
	}
	for (unsigned i = 0; i < c->n_disks; i++)
		if (c->disks[i].numa_node != CONFIG_NO_NODE && numa_index(c, (unsigned)c->disks[i].numa_node) < 0)
			return why_fmt(why, n, "--disk id=%s: numa_node=%d is not a --numa guest_numa_id", c->disks[i].id,
				       c->disks[i].numa_node);
	return 0;
}
