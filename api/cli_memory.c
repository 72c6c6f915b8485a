/* cli_memory: see cli_memory.h. Lists are written [a,b,c] (brackets optional for a
 * single item), vCPU and host CPU sets as Linux cpulists (0-3,8). */
#include "cli_memory.h"

#include "engine/topology.h"
#include "kvlist.h"
#include "kvm/guest_mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "[x]" -> "x" (a copy the caller frees); no brackets: the value itself. */
static char *unbracket(const char *v)
{
	size_t n = strlen(v);
	if (n >= 2 && v[0] == '[' && v[n - 1] == ']')
		return strndup(v + 1, n - 2);
	return strdup(v);
}

static int hugepage_size_item(const char *flag, const char *value, uint64_t *out)
{
	uint64_t sz;
	if (parse_size(value, &sz) || (sz != 2ull << 20 && sz != 1ull << 30))
		return cli_error(flag, "hugepage_size='%s' must be 2M or 1G", value);
	*out = sz;
	return 0;
}

int cli_memory_item(void *ctx, const char *key, const char *value)
{
	struct vm_config *c = ctx;
	if (!strcmp(key, "size")) {
		/* size=0 is how zones take over (Cloud Hypervisor's convention). */
		if (parse_size(value, &c->memory.size))
			return cli_error("--memory", "size='%s' is not a size (e.g. 512M, 4G; 0 with --memory-zone)", value);
		return 0;
	}
	if (!strcmp(key, "hugepages"))
		return cli_on_off("--memory", key, value, &c->memory.hugepages);
	if (!strcmp(key, "prefault"))
		return cli_on_off("--memory", key, value, &c->memory.prefault);
	if (!strcmp(key, "shared"))
		return cli_on_off("--memory", key, value, &c->memory.shared);
	if (!strcmp(key, "hugepage_size"))
		return hugepage_size_item("--memory", value, &c->memory.hugepage_size);
	return cli_error("--memory", "unknown option '%s' (known: size, hugepages, hugepage_size, shared, prefault)", key);
}

static int zone_item(void *ctx, const char *key, const char *value)
{
	struct memory_zone_config *z = ctx;
	unsigned long long n;
	if (!strcmp(key, "id")) {
		if (!value || !*value || strlen(value) > 31)
			return cli_error("--memory-zone", "id='%s' must be 1 to 31 characters", value);
		free(z->id);
		z->id = strdup(value);
		return z->id ? 0 : -ENOMEM;
	}
	if (!strcmp(key, "size")) {
		if (parse_size(value, &z->size) || !z->size)
			return cli_error("--memory-zone", "size='%s' is not a size greater than zero", value);
		return 0;
	}
	if (!strcmp(key, "host_numa_node")) {
		if (cli_uint(value, TOPO_MAX_NODES - 1, &n))
			return cli_error("--memory-zone", "host_numa_node='%s' must be a node number", value);
		z->host_numa_node = (int)n;
		return 0;
	}
	if (!strcmp(key, "hugepages"))
		return cli_on_off("--memory-zone", key, value, &z->hugepages);
	if (!strcmp(key, "prefault"))
		return cli_on_off("--memory-zone", key, value, &z->prefault);
	if (!strcmp(key, "shared"))
		return cli_on_off("--memory-zone", key, value, &z->shared);
	if (!strcmp(key, "hugepage_size"))
		return hugepage_size_item("--memory-zone", value, &z->hugepage_size);
	return cli_error("--memory-zone",
			 "unknown option '%s' (known: id, size, host_numa_node, hugepages, hugepage_size, prefault, shared)", key);
}

int cli_memory_zone(const char *arg, struct vm_config *c)
{
	if (c->memory.n_zones == CONFIG_MAX_ZONES) {
		fprintf(stderr, "ringvisor: error: --memory-zone: at most %d zones\n", CONFIG_MAX_ZONES);
		return -EINVAL;
	}
	struct memory_zone_config *z = &c->memory.zones[c->memory.n_zones++];
	z->host_numa_node = CONFIG_NO_NODE;
	z->shared = 0;
	int ret = kvlist_parse(arg, zone_item, z);
	if (ret)
		return ret;
	if (!z->id || !z->size) {
		fprintf(stderr, "ringvisor: error: --memory-zone %s: id= and size= are required\n", arg);
		return -EINVAL;
	}
	return 0;
}

/* A cpulist of vCPU ids into a bitmap. */
static int vcpu_list(const char *flag, const char *value, uint64_t *bits)
{
	cpu_set_t set;
	char *list = unbracket(value ? value : "");
	int ret = list && *list ? topology_parse_cpulist(list, &set) : -EINVAL;
	free(list);
	if (ret)
		return cli_error(flag, "cpus='%s' is not a list of vCPU ids like [0-3,6]", value);
	for (int v = 0; v < CPU_SETSIZE; v++) {
		if (!CPU_ISSET(v, &set))
			continue;
		if (v >= CONFIG_MAX_VCPUS)
			return cli_error(flag, "cpus='%s' names a vCPU beyond the maximum", value);
		bits[v / 64] |= 1ull << (v % 64);
	}
	return 0;
}

static int zone_names(struct numa_node_config *nn, const char *value)
{
	char *list = unbracket(value ? value : ""), *save = NULL;
	int ret = 0;
	if (!list)
		return -ENOMEM;
	for (char *tok = strtok_r(list, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		if (nn->n_zones == CONFIG_MAX_ZONES)
			ret = cli_error("--numa", "memory_zones='%s' lists too many zones", value);
		else if (!(nn->zones[nn->n_zones++] = strdup(tok)))
			ret = -ENOMEM;
	}
	if (!ret && !nn->n_zones)
		ret = cli_error("--numa", "memory_zones='%s' is empty", value);
	free(list);
	return ret;
}

static int distance_list(struct numa_node_config *nn, const char *value)
{
	char *list = unbracket(value ? value : ""), *save = NULL;
	int ret = 0;
	if (!list)
		return -ENOMEM;
	for (char *tok = strtok_r(list, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		char *at = strchr(tok, '@');
		unsigned long long dest, dist;
		if (!at || (*at = 0, cli_uint(tok, CONFIG_MAX_NUMA_NODES * 16, &dest)) || cli_uint(at + 1, 255, &dist))
			ret = cli_error("--numa", "distances='%s' must be a list like [1@20,2@30] (node@distance)", value);
		else if (nn->n_distances == CONFIG_MAX_NUMA_NODES)
			ret = cli_error("--numa", "distances='%s' lists too many nodes", value);
		else
			nn->distances[nn->n_distances++] = (typeof(nn->distances[0])){ (unsigned)dest, (unsigned)dist };
	}
	free(list);
	return ret;
}

static int numa_item(void *ctx, const char *key, const char *value)
{
	struct numa_node_config *nn = ctx;
	unsigned long long n;
	if (!strcmp(key, "guest_numa_id")) {
		if (cli_uint(value, CONFIG_MAX_NUMA_NODES * 16, &n))
			return cli_error("--numa", "guest_numa_id='%s' must be a number", value);
		nn->guest_numa_id = (unsigned)n;
		return 0;
	}
	if (!strcmp(key, "cpus"))
		return vcpu_list("--numa", value, nn->cpus);
	if (!strcmp(key, "memory_zones"))
		return zone_names(nn, value);
	if (!strcmp(key, "distances"))
		return distance_list(nn, value);
	return cli_error("--numa", "unknown option '%s' (known: guest_numa_id, cpus, memory_zones, distances)", key);
}

int cli_numa(const char *arg, struct vm_config *c)
{
	if (c->n_numa == CONFIG_MAX_NUMA_NODES) {
		fprintf(stderr, "ringvisor: error: --numa: at most %d guest NUMA nodes\n", CONFIG_MAX_NUMA_NODES);
		return -EINVAL;
	}
	struct numa_node_config *nn = &c->numa[c->n_numa++];
	if (!strstr(arg, "guest_numa_id=")) {
		fprintf(stderr, "ringvisor: error: --numa %s: guest_numa_id= is required\n", arg);
		return -EINVAL;
	}
	return kvlist_parse(arg, numa_item, nn);
}

int cli_affinity(const char *value, struct vm_config *c)
{
	char *list = unbracket(value ? value : "");
	int ret = 0;
	if (!list)
		return -ENOMEM;
	/* Items are vcpu@[cpulist]; commas inside the inner brackets belong to the cpulist. */
	for (char *p = list; *p && !ret;) {
		char *item = p, *at;
		int depth = 0;
		for (; *p && !(*p == ',' && depth == 0); p++)
			depth += *p == '[' ? 1 : *p == ']' ? -1 : 0;
		if (*p)
			*p++ = 0;
		unsigned long long v;
		struct cpu_affinity_config a = { 0 };
		char *cpus;
		if (!(at = strchr(item, '@')) || (*at = 0, cli_uint(item, CONFIG_MAX_VCPUS - 1, &v)) ||
		    !(cpus = unbracket(at + 1))) {
			ret = cli_error("--cpus", "affinity='%s' must be a list like [0@[0-1],1@[2-3]]", value);
			break;
		}
		ret = topology_parse_cpulist(cpus, &a.host_cpus);
		free(cpus);
		if (ret || !CPU_COUNT(&a.host_cpus)) {
			ret = cli_error("--cpus", "affinity='%s': a host CPU list is not valid", value);
			break;
		}
		a.vcpu = (unsigned)v;
		struct cpu_affinity_config *grown = realloc(c->cpus.affinity, (c->cpus.n_affinity + 1) * sizeof(*grown));
		if (!grown) {
			ret = -ENOMEM;
			break;
		}
		c->cpus.affinity = grown;
		c->cpus.affinity[c->cpus.n_affinity++] = a;
	}
	free(list);
	return ret;
}
