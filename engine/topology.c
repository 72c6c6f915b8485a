/* topology: host NUMA topology. See topology.h. */
#include "topology.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int topology_parse_cpulist(const char *s, cpu_set_t *set)
{
	CPU_ZERO(set);
	while (*s && *s != '\n') {
		char *end;
		long a = strtol(s, &end, 10), b;
		if (end == s || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			if (end == s + 1 || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
			s = end;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, set);
		if (*s == ',')
			s++;
		else if (*s && *s != '\n')
			return -EINVAL;
	}
	return 0;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int topology_load(struct host_topology *t, const char *root)
{
	const char *dir = root ? root : "/sys/devices/system/node";
	DIR *d = opendir(dir);
	int ids[TOPO_MAX_NODES], n = 0;
	struct dirent *de;

	memset(t, 0, sizeof(*t));
	if (!d) {
		if (root)
			return -errno;
		/* No NUMA in this kernel: one node holding every CPU we may use. */
		t->n_nodes = 1;
		t->node_id[0] = 0;
		return sched_getaffinity(0, sizeof(t->cpus[0]), &t->cpus[0]) ? -errno : 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "node", 4) || !isdigit((unsigned char)de->d_name[4]))
			continue;
		if (n == TOPO_MAX_NODES)
			break;
		ids[n++] = atoi(de->d_name + 4);
	}
	closedir(d);
	if (!n)
		return -ENOENT;
	qsort(ids, (size_t)n, sizeof(ids[0]), cmp_int);
	for (int i = 0; i < n; i++) {
		char path[512], buf[4096];
		FILE *f;
		snprintf(path, sizeof(path), "%s/node%d/cpulist", dir, ids[i]);
		f = fopen(path, "r");
		if (!f)
			return -errno;
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
		t->node_id[i] = ids[i];
		if (topology_parse_cpulist(buf, &t->cpus[i]))
			return -EINVAL;
	}
	t->n_nodes = n;
	return 0;
}

int topology_find(const struct host_topology *t, int node_id)
{
	for (int i = 0; i < t->n_nodes; i++)
		if (t->node_id[i] == node_id)
			return i;
	return -1;
}

int topology_free_hugepages(const char *root, int node, unsigned long long page_size, unsigned long long *free_pages)
{
	char path[512];
	if (node < 0 && !root)
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%llukB/free_hugepages", page_size >> 10);
	else if (node < 0) {
		/* A recorded topology: the host's total is the sum over its nodes. */
		struct host_topology t;
		unsigned long long sum = 0, n;
		int ret = topology_load(&t, root);
		for (int i = 0; !ret && i < t.n_nodes; i++)
			if (!(ret = topology_free_hugepages(root, t.node_id[i], page_size, &n)))
				sum += n;
		*free_pages = sum;
		return ret;
	} else
		snprintf(path, sizeof(path), "%s/node%d/hugepages/hugepages-%llukB/free_hugepages",
			 root ? root : "/sys/devices/system/node", node, page_size >> 10);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	int ok = fscanf(f, "%llu", free_pages) == 1;
	fclose(f);
	return ok ? 0 : -EINVAL;
}
