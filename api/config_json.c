/* config_json: see config_json.h. */
#include "config_json.h"

#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_MEMORY (1ull << 40) /* 1 TiB: a typo guard, not a host limit */

struct jctx {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct jctx *j, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(j->err, j->errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* What happens to a field CH defines. */
enum policy {
	P_USE,        /* parsed by the object's own code */
	P_IGNORE,     /* harmless: accepted and ignored */
	P_FALSE_ONLY, /* boolean feature we lack: false (its default) only */
	P_EMPTY_ONLY, /* list of things we lack: empty or null only */
	P_ZERO_ONLY,  /* number whose only meaningful value for us is 0 */
	P_REJECT,     /* changes the VM and is not implemented: refused when present */
};

struct field {
	const char *name;
	enum policy policy;
};

/* Check every member of obj against the table; P_USE members are left to the caller. */
static int check_fields(struct jctx *j, const cJSON *obj, const char *where, const struct field *f, size_t n)
{
	const cJSON *it;
	if (!cJSON_IsObject(obj))
		return fail(j, "%s: must be an object", where);
	cJSON_ArrayForEach(it, obj) {
		size_t k;
		for (k = 0; k < n && strcmp(f[k].name, it->string); k++)
			;
		if (k == n)
			return fail(j, "%s%s%s: unknown field", where, *where ? "." : "", it->string);
		if (cJSON_IsNull(it))
			continue;
		switch (f[k].policy) {
		case P_USE:
		case P_IGNORE:
			break;
		case P_FALSE_ONLY:
			if (!cJSON_IsBool(it))
				return fail(j, "%s%s%s: must be a boolean", where, *where ? "." : "", it->string);
			if (cJSON_IsTrue(it))
				return fail(j, "%s%s%s: true is not supported by ringvisor", where, *where ? "." : "", it->string);
			break;
		case P_EMPTY_ONLY:
			if (!cJSON_IsArray(it))
				return fail(j, "%s%s%s: must be an array", where, *where ? "." : "", it->string);
			if (cJSON_GetArraySize(it))
				return fail(j, "%s%s%s: not supported by ringvisor (only an empty list)", where, *where ? "." : "",
					    it->string);
			break;
		case P_ZERO_ONLY:
			if (!cJSON_IsNumber(it) || it->valuedouble != 0)
				return fail(j, "%s%s%s: only 0 is supported by ringvisor", where, *where ? "." : "", it->string);
			break;
		case P_REJECT:
			return fail(j, "%s%s%s: not supported by ringvisor", where, *where ? "." : "", it->string);
		}
	}
	return 0;
}

static const cJSON *member(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	return cJSON_IsNull(v) ? NULL : v;
}

static int get_uint(struct jctx *j, const cJSON *o, const char *where, const char *name, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	const cJSON *v = member(o, name);
	if (!v)
		return 1; /* absent: keep the default */
	double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
	if (!cJSON_IsNumber(v) || d != floor(d) || d < (double)min || d > (double)max)
		return fail(j, "%s.%s: must be an integer from %llu to %llu", where, name, (unsigned long long)min,
			    (unsigned long long)max);
	*out = (uint64_t)d;
	return 0;
}

static int get_bool(struct jctx *j, const cJSON *o, const char *where, const char *name, int *out)
{
	const cJSON *v = member(o, name);
	if (!v)
		return 1;
	if (!cJSON_IsBool(v))
		return fail(j, "%s.%s: must be true or false", where, name);
	*out = cJSON_IsTrue(v);
	return 0;
}

/* A string of 1..max bytes without NUL (cJSON keeps embedded NULs out of valuestring). */
static int get_str(struct jctx *j, const cJSON *o, const char *where, const char *name, size_t max, char **out)
{
	const cJSON *v = member(o, name);
	if (!v)
		return 1;
	if (!cJSON_IsString(v))
		return fail(j, "%s.%s: must be a string", where, name);
	size_t n = strlen(v->valuestring);
	if (n == 0 || n > max)
		return fail(j, "%s.%s: must be 1 to %zu characters", where, name, max);
	free(*out);
	*out = strdup(v->valuestring);
	return *out ? 0 : fail(j, "out of memory");
}

static int readable(struct jctx *j, const char *field, const char *path, bool write)
{
	if (access(path, write ? R_OK | W_OK : R_OK) < 0)
		return fail(j, "%s: %s: %s", field, path, strerror(errno));
	return 0;
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define TRY(x) do { int r_ = (x); if (r_ < 0) return r_; } while (0)

/* A device's "transport"; absent leaves TRANSPORT_DEFAULT (--platform decides). */
static int get_transport(struct jctx *j, const cJSON *o, const char *where, enum virtio_transport *out)
{
	const cJSON *v = member(o, "transport");
	if (!v)
		return 0;
	if (!cJSON_IsString(v) || (strcmp(v->valuestring, "Pci") && strcmp(v->valuestring, "Mmio")))
		return fail(j, "%s.transport: must be \"Pci\" or \"Mmio\"", where);
	*out = !strcmp(v->valuestring, "Mmio") ? TRANSPORT_MMIO : TRANSPORT_PCI;
	return 0;
}

/* An array of integers 0..max into a CPU set and/or a vCPU bitmap. */
static int uint_list(struct jctx *j, const cJSON *o, const char *where, const char *name, unsigned max, cpu_set_t *set,
		     uint64_t *bits, unsigned nbits)
{
	const cJSON *a = member(o, name), *it;
	if (set)
		CPU_ZERO(set);
	if (!a)
		return 1;
	if (!cJSON_IsArray(a))
		return fail(j, "%s.%s: must be an array of integers", where, name);
	cJSON_ArrayForEach(it, a) {
		double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
		if (d != floor(d) || d < 0 || d > max || (bits && d >= nbits))
			return fail(j, "%s.%s: %s is not an integer from 0 to %u", where, name,
				    cJSON_IsNumber(it) ? "a value" : "an item", max);
		unsigned v = (unsigned)d;
		if (set)
			CPU_SET(v, set);
		if (bits)
			bits[v / 64] |= 1ull << (v % 64);
	}
	return 0;
}

static int parse_cpus(struct jctx *j, const cJSON *o, struct vm_config *c)
{
	static const struct field f[] = {
		{ "boot_vcpus", P_USE }, { "max_vcpus", P_USE }, { "topology", P_REJECT },
		{ "kvm_hyperv", P_FALSE_ONLY }, { "max_phys_bits", P_REJECT }, { "nested", P_IGNORE },
		{ "affinity", P_USE }, { "features", P_IGNORE }, { "core_scheduling", P_IGNORE },
	};
	uint64_t n;
	int r;
	TRY(check_fields(j, o, "cpus", f, N(f)));
	if ((r = get_uint(j, o, "cpus", "boot_vcpus", 1, CONFIG_MAX_VCPUS, &n)) < 0)
		return r;
	if (!r)
		c->cpus.boot_vcpus = (unsigned)n;
	if ((r = get_uint(j, o, "cpus", "max_vcpus", 1, CONFIG_MAX_VCPUS, &n)) < 0)
		return r;
	c->cpus.max_vcpus = r ? c->cpus.boot_vcpus : (unsigned)n;
	if (c->cpus.max_vcpus < c->cpus.boot_vcpus)
		return fail(j, "cpus.max_vcpus: %u is below boot_vcpus %u", c->cpus.max_vcpus, c->cpus.boot_vcpus);
	const cJSON *a = member(o, "affinity"), *it;
	if (a && !cJSON_IsArray(a))
		return fail(j, "cpus.affinity: must be an array of {vcpu, host_cpus}");
	unsigned i = 0;
	cJSON_ArrayForEach(it, a) {
		static const struct field af[] = { { "vcpu", P_USE }, { "host_cpus", P_USE } };
		char where[40];
		struct cpu_affinity_config ca = { 0 };
		snprintf(where, sizeof(where), "cpus.affinity[%u]", i++);
		TRY(check_fields(j, it, where, af, N(af)));
		if ((r = get_uint(j, it, where, "vcpu", 0, CONFIG_MAX_VCPUS - 1, &n)) != 0)
			return r < 0 ? r : fail(j, "%s.vcpu: required", where);
		ca.vcpu = (unsigned)n;
		TRY(uint_list(j, it, where, "host_cpus", CPU_SETSIZE - 1, &ca.host_cpus, NULL, 0));
		if (!CPU_COUNT(&ca.host_cpus))
			return fail(j, "%s.host_cpus: required, a non-empty list of host CPUs", where);
		struct cpu_affinity_config *g = realloc(c->cpus.affinity, (c->cpus.n_affinity + 1) * sizeof(*g));
		if (!g)
			return fail(j, "out of memory");
		c->cpus.affinity = g;
		g[c->cpus.n_affinity++] = ca;
	}
	return 0;
}

static int hugepage_size(struct jctx *j, const cJSON *o, const char *where, uint64_t *out)
{
	uint64_t n;
	int r = get_uint(j, o, where, "hugepage_size", 0, 1ull << 30, &n);
	if (r)
		return r < 0 ? r : 0;
	if (n != 2ull << 20 && n != 1ull << 30)
		return fail(j, "%s.hugepage_size: %llu must be 2097152 (2 MiB) or 1073741824 (1 GiB)", where,
			    (unsigned long long)n);
	*out = n;
	return 0;
}

static int parse_memory(struct jctx *j, const cJSON *o, struct vm_config *c)
{
	static const struct field f[] = {
		{ "size", P_USE }, { "hotplug_size", P_ZERO_ONLY }, { "hotplugged_size", P_ZERO_ONLY },
		{ "mergeable", P_FALSE_ONLY }, { "hotplug_method", P_IGNORE }, { "shared", P_USE },
		{ "hugepages", P_USE }, { "hugepage_size", P_USE }, { "prefault", P_USE },
		{ "reserve", P_FALSE_ONLY }, { "thp", P_IGNORE }, { "zones", P_USE },
	};
	uint64_t n;
	int r;
	TRY(check_fields(j, o, "memory", f, N(f)));
	if ((r = get_uint(j, o, "memory", "size", 0, MAX_MEMORY, &n)) < 0)
		return r;
	if (r)
		return fail(j, "memory.size: required (bytes; 0 when zones describe the RAM)");
	if (n & 4095)
		return fail(j, "memory.size: %llu is not a multiple of 4096", (unsigned long long)n);
	c->memory.size = n;
	TRY(get_bool(j, o, "memory", "shared", &c->memory.shared));
	TRY(get_bool(j, o, "memory", "hugepages", &c->memory.hugepages));
	TRY(get_bool(j, o, "memory", "prefault", &c->memory.prefault));
	TRY(hugepage_size(j, o, "memory", &c->memory.hugepage_size));
	const cJSON *zs = member(o, "zones"), *it;
	if (zs && !cJSON_IsArray(zs))
		return fail(j, "memory.zones: must be an array");
	if (cJSON_GetArraySize(zs) > CONFIG_MAX_ZONES)
		return fail(j, "memory.zones: at most %d zones", CONFIG_MAX_ZONES);
	cJSON_ArrayForEach(it, zs) {
		static const struct field zf[] = {
			{ "id", P_USE }, { "size", P_USE }, { "file", P_REJECT }, { "shared", P_USE }, { "hugepages", P_USE },
			{ "hugepage_size", P_USE }, { "host_numa_node", P_USE }, { "hotplug_size", P_ZERO_ONLY },
			{ "hotplugged_size", P_ZERO_ONLY }, { "prefault", P_USE }, { "mergeable", P_FALSE_ONLY },
		};
		char where[40];
		struct memory_zone_config *z = &c->memory.zones[c->memory.n_zones];
		snprintf(where, sizeof(where), "memory.zones[%u]", c->memory.n_zones++);
		z->host_numa_node = CONFIG_NO_NODE;
		z->shared = 0;
		TRY(check_fields(j, it, where, zf, N(zf)));
		if ((r = get_str(j, it, where, "id", 31, &z->id)) != 0)
			return r < 0 ? r : fail(j, "%s.id: required", where);
		if ((r = get_uint(j, it, where, "size", 4096, MAX_MEMORY, &z->size)) != 0)
			return r < 0 ? r : fail(j, "%s.size: required (bytes)", where);
		if ((r = get_uint(j, it, where, "host_numa_node", 0, 63, &n)) < 0)
			return r;
		if (!r)
			z->host_numa_node = (int)n;
		TRY(get_bool(j, it, where, "shared", &z->shared));
		TRY(get_bool(j, it, where, "hugepages", &z->hugepages));
		TRY(get_bool(j, it, where, "prefault", &z->prefault));
		TRY(hugepage_size(j, it, where, &z->hugepage_size));
	}
	return 0;
}

static int parse_numa(struct jctx *j, const cJSON *a, struct vm_config *c)
{
	static const struct field f[] = {
		{ "guest_numa_id", P_USE }, { "cpus", P_USE }, { "distances", P_USE }, { "memory_zones", P_USE },
		{ "sgx_epc_sections", P_EMPTY_ONLY }, { "pci_segments", P_EMPTY_ONLY },
	};
	const cJSON *it, *x;
	if (!cJSON_IsArray(a))
		return fail(j, "numa: must be an array");
	if (cJSON_GetArraySize(a) > CONFIG_MAX_NUMA_NODES)
		return fail(j, "numa: at most %d guest NUMA nodes", CONFIG_MAX_NUMA_NODES);
	cJSON_ArrayForEach(it, a) {
		char where[32];
		uint64_t n;
		int r;
		struct numa_node_config *nn = &c->numa[c->n_numa];
		snprintf(where, sizeof(where), "numa[%u]", c->n_numa++);
		TRY(check_fields(j, it, where, f, N(f)));
		if ((r = get_uint(j, it, where, "guest_numa_id", 0, 255, &n)) != 0)
			return r < 0 ? r : fail(j, "%s.guest_numa_id: required", where);
		nn->guest_numa_id = (unsigned)n;
		TRY(uint_list(j, it, where, "cpus", CONFIG_MAX_VCPUS - 1, NULL, nn->cpus, CONFIG_MAX_VCPUS));
		const cJSON *zs = member(it, "memory_zones");
		if (zs && !cJSON_IsArray(zs))
			return fail(j, "%s.memory_zones: must be an array of zone ids", where);
		cJSON_ArrayForEach(x, zs) {
			if (!cJSON_IsString(x) || nn->n_zones == CONFIG_MAX_ZONES)
				return fail(j, "%s.memory_zones: must be at most %d zone ids (strings)", where, CONFIG_MAX_ZONES);
			if (!(nn->zones[nn->n_zones++] = strdup(x->valuestring)))
				return fail(j, "out of memory");
		}
		const cJSON *ds = member(it, "distances");
		if (ds && !cJSON_IsArray(ds))
			return fail(j, "%s.distances: must be an array of {destination, distance}", where);
		cJSON_ArrayForEach(x, ds) {
			static const struct field df[] = { { "destination", P_USE }, { "distance", P_USE } };
			uint64_t dest, dist;
			if (nn->n_distances == CONFIG_MAX_NUMA_NODES)
				return fail(j, "%s.distances: at most %d entries", where, CONFIG_MAX_NUMA_NODES);
			TRY(check_fields(j, x, where, df, N(df)));
			if ((r = get_uint(j, x, where, "destination", 0, 255, &dest)) != 0 ||
			    (r = get_uint(j, x, where, "distance", 0, 255, &dist)) != 0)
				return r < 0 ? r : fail(j, "%s.distances: each needs destination and distance", where);
			nn->distances[nn->n_distances].dest = (unsigned)dest;
			nn->distances[nn->n_distances++].distance = (unsigned)dist;
		}
	}
	return 0;
}

static int parse_payload(struct jctx *j, const cJSON *o, struct vm_config *c)
{
	static const struct field f[] = {
		{ "kernel", P_USE }, { "cmdline", P_USE }, { "initramfs", P_USE },
		{ "firmware", P_REJECT }, { "igvm", P_REJECT }, { "host_data", P_REJECT },
	};
	int r;
	TRY(check_fields(j, o, "payload", f, N(f)));
	if ((r = get_str(j, o, "payload", "kernel", 4096, &c->payload.kernel)) < 0)
		return r;
	if (r)
		return fail(j, "payload.kernel: required (a bzImage or an ELF with a PVH note; firmware boot is not supported)");
	TRY(readable(j, "payload.kernel", c->payload.kernel, false));
	if ((r = get_str(j, o, "payload", "initramfs", 4096, &c->payload.initramfs)) < 0)
		return r;
	if (!r)
		TRY(readable(j, "payload.initramfs", c->payload.initramfs, false));
	const cJSON *cl = member(o, "cmdline");
	if (cl && (!cJSON_IsString(cl) || strlen(cl->valuestring) > 65536))
		return fail(j, "payload.cmdline: must be a string of at most 65536 characters");
	if (cl) {
		free(c->payload.cmdline);
		if (!(c->payload.cmdline = strdup(cl->valuestring)))
			return fail(j, "out of memory");
	}
	return 0;
}

static int parse_disk(struct jctx *j, const cJSON *o, struct disk_config *d, unsigned idx)
{
	static const struct field f[] = {
		{ "path", P_USE }, { "readonly", P_USE }, { "direct", P_USE }, { "num_queues", P_USE },
		{ "queue_size", P_USE }, { "id", P_USE }, { "serial", P_USE },
		{ "iommu", P_FALSE_ONLY }, { "vhost_user", P_FALSE_ONLY }, { "vhost_socket", P_REJECT },
		{ "rate_limiter_config", P_REJECT }, { "pci_segment", P_ZERO_ONLY }, { "pci_device_id", P_REJECT },
		{ "rate_limit_group", P_REJECT }, { "queue_affinity", P_EMPTY_ONLY }, { "backing_files", P_FALSE_ONLY },
		{ "sparse", P_IGNORE }, { "image_type", P_USE }, { "lock_granularity", P_IGNORE },
		/* ringvisor's own: the guest NUMA node the disk belongs to, and its transport */
		{ "numa_node", P_USE }, { "transport", P_USE },
	};
	char where[32];
	uint64_t n;
	int r;
	snprintf(where, sizeof(where), "disks[%u]", idx);
	TRY(check_fields(j, o, where, f, N(f)));
	if ((r = get_str(j, o, where, "path", 4096, &d->path)) < 0)
		return r;
	if (r)
		return fail(j, "%s.path: required", where);
	TRY(get_bool(j, o, where, "readonly", &d->readonly));
	TRY(get_bool(j, o, where, "direct", &d->direct));
	if ((r = get_uint(j, o, where, "num_queues", 1, 64, &n)) < 0)
		return r;
	if (!r)
		d->num_queues = (unsigned)n;
	if ((r = get_uint(j, o, where, "queue_size", 2, 1024, &n)) < 0)
		return r;
	if (!r && (n & (n - 1)))
		return fail(j, "%s.queue_size: %llu is not a power of two", where, (unsigned long long)n);
	if (!r)
		d->queue_size = (unsigned)n;
	TRY(get_str(j, o, where, "id", 23, &d->id));
	const cJSON *s = member(o, "serial");
	if (s && (!cJSON_IsString(s) || strlen(s->valuestring) > 20))
		return fail(j, "%s.serial: must be a string of at most 20 characters", where);
	if (s)
		if (!(d->serial = strdup(s->valuestring)))
			return fail(j, "out of memory");
	if ((r = get_uint(j, o, where, "numa_node", 0, 255, &n)) < 0)
		return r;
	if (!r)
		d->numa_node = (int)n;
	TRY(get_transport(j, o, where, &d->transport));
	const cJSON *t = member(o, "image_type");
	if (t && (!cJSON_IsString(t) || strcmp(t->valuestring, "Raw")))
		return fail(j, "%s.image_type: only \"Raw\" is supported", where);
	char field[48];
	snprintf(field, sizeof(field), "%s.path", where);
	return readable(j, field, d->path, !d->readonly);
}

static int parse_disks(struct jctx *j, const cJSON *a, struct vm_config *c)
{
	const cJSON *it;
	if (!cJSON_IsArray(a))
		return fail(j, "disks: must be an array");
	if (cJSON_GetArraySize(a) > CONFIG_MAX_DISKS)
		return fail(j, "disks: at most %d disks", CONFIG_MAX_DISKS);
	cJSON_ArrayForEach(it, a) {
		struct disk_config *d = &c->disks[c->n_disks];
		d->direct = 1;
		d->numa_node = CONFIG_NO_NODE;
		c->n_disks++;
		TRY(parse_disk(j, it, d, c->n_disks - 1));
		if (!d->id) {
			char id[16];
			snprintf(id, sizeof(id), "disk%u", c->n_disks - 1);
			if (!(d->id = strdup(id)))
				return fail(j, "out of memory");
		}
		for (unsigned k = 0; k + 1 < c->n_disks; k++)
			if (!strcmp(c->disks[k].id, d->id))
				return fail(j, "disks[%u].id: \"%s\" is used twice", c->n_disks - 1, d->id);
	}
	return 0;
}

static int parse_net(struct jctx *j, const cJSON *o, struct net_config *n, unsigned idx)
{
	static const struct field f[] = {
		{ "tap", P_USE }, { "ip", P_USE }, { "mask", P_USE }, { "mac", P_USE }, { "num_queues", P_USE },
		{ "queue_size", P_USE }, { "id", P_USE }, { "transport", P_USE }, { "host_mac", P_IGNORE },
		{ "mtu", P_REJECT }, { "iommu", P_FALSE_ONLY }, { "vhost_user", P_FALSE_ONLY }, { "vhost_socket", P_REJECT },
		{ "vhost_mode", P_IGNORE }, { "fds", P_EMPTY_ONLY }, { "rate_limiter_config", P_REJECT },
		{ "pci_segment", P_ZERO_ONLY }, { "offload_tso", P_IGNORE }, { "offload_ufo", P_IGNORE },
		{ "offload_csum", P_IGNORE },
	};
	char where[32];
	uint64_t v;
	int r;
	struct in_addr a;
	snprintf(where, sizeof(where), "net[%u]", idx);
	TRY(check_fields(j, o, where, f, N(f)));
	if ((r = get_str(j, o, where, "tap", 15, &n->tap)) != 0)
		return r < 0 ? r : fail(j, "%s.tap: required (the TAP interface name; ringvisor creates it if missing)", where);
	TRY(get_str(j, o, where, "id", 23, &n->id));
	TRY(get_str(j, o, where, "ip", 15, &n->ip));
	TRY(get_str(j, o, where, "mask", 15, &n->mask));
	if ((n->ip && inet_pton(AF_INET, n->ip, &a) != 1) || (n->mask && inet_pton(AF_INET, n->mask, &a) != 1))
		return fail(j, "%s.ip/mask: not an IPv4 address", where);
	if (!n->ip != !n->mask)
		return fail(j, "%s: ip and mask go together (the host end's address)", where);
	char *mac = NULL;
	if ((r = get_str(j, o, where, "mac", 17, &mac)) < 0)
		return r;
	if (!r) {
		int bad = cli_parse_mac(mac, n->mac);
		free(mac);
		if (bad)
			return fail(j, "%s.mac: not a unicast MAC address like 52:54:00:12:34:56", where);
		n->has_mac = 1;
	}
	if ((r = get_uint(j, o, where, "num_queues", 2, 32, &v)) < 0)
		return r;
	if (!r && (v & 1))
		return fail(j, "%s.num_queues: %llu must be even (RX and TX queues)", where, (unsigned long long)v);
	if (!r)
		n->num_queues = (unsigned)v;
	if ((r = get_uint(j, o, where, "queue_size", 2, 1024, &v)) < 0)
		return r;
	if (!r && (v & (v - 1)))
		return fail(j, "%s.queue_size: %llu is not a power of two", where, (unsigned long long)v);
	if (!r)
		n->queue_size = (unsigned)v;
	TRY(get_transport(j, o, where, &n->transport));
	return 0;
}

static int parse_nets(struct jctx *j, const cJSON *a, struct vm_config *c)
{
	const cJSON *it;
	if (!cJSON_IsArray(a))
		return fail(j, "net: must be an array");
	if (cJSON_GetArraySize(a) > CONFIG_MAX_NETS)
		return fail(j, "net: at most %d devices", CONFIG_MAX_NETS);
	cJSON_ArrayForEach(it, a) {
		struct net_config *n = &c->nets[c->n_nets++];
		TRY(parse_net(j, it, n, c->n_nets - 1));
		if (!n->id) {
			char id[16];
			snprintf(id, sizeof(id), "net%u", c->n_nets - 1);
			if (!(n->id = strdup(id)))
				return fail(j, "out of memory");
		}
	}
	return 0;
}

static int parse_serial(struct jctx *j, const cJSON *o, struct vm_config *c)
{
	static const struct field f[] = { { "mode", P_USE }, { "file", P_USE }, { "socket", P_REJECT } };
	TRY(check_fields(j, o, "serial", f, N(f)));
	const cJSON *m = member(o, "mode");
	if (!cJSON_IsString(m))
		return fail(j, "serial.mode: required, one of \"Off\", \"Null\", \"Tty\", \"File\"");
	const char *v = m->valuestring;
	if (!strcmp(v, "Off"))
		c->serial.mode = SERIAL_OFF;
	else if (!strcmp(v, "Null"))
		c->serial.mode = SERIAL_NULL;
	else if (!strcmp(v, "Tty"))
		c->serial.mode = SERIAL_TTY;
	else if (!strcmp(v, "File"))
		c->serial.mode = SERIAL_FILE;
	else
		return fail(j, "serial.mode: \"%s\" is not supported (one of \"Off\", \"Null\", \"Tty\", \"File\")", v);
	int r = get_str(j, o, "serial", "file", 4096, &c->serial.file);
	if (r < 0)
		return r;
	if (c->serial.mode == SERIAL_FILE && r)
		return fail(j, "serial.file: required with mode \"File\"");
	return 0;
}

static int parse_console(struct jctx *j, const cJSON *o)
{
	static const struct field f[] = {
		{ "mode", P_USE }, { "file", P_IGNORE }, { "socket", P_IGNORE }, { "iommu", P_FALSE_ONLY },
		{ "id", P_IGNORE }, { "pci_segment", P_ZERO_ONLY }, { "pci_device_id", P_REJECT },
	};
	TRY(check_fields(j, o, "console", f, N(f)));
	const cJSON *m = member(o, "mode");
	if (!cJSON_IsString(m))
		return fail(j, "console.mode: required");
	if (strcmp(m->valuestring, "Off") && strcmp(m->valuestring, "Null"))
		return fail(j, "console.mode: \"%s\" needs virtio-console, which ringvisor does not have yet (use \"Off\" "
			    "and the serial port)", m->valuestring);
	return 0;
}

int config_from_json(const char *text, size_t len, struct vm_config *c, char *err, size_t errlen)
{
	static const struct field f[] = {
		{ "cpus", P_USE }, { "memory", P_USE }, { "payload", P_USE }, { "disks", P_USE }, { "serial", P_USE },
		{ "console", P_USE }, { "net", P_USE },
		/* An entropy source the guest would miss only for speed of its RNG start-up. */
		{ "rng", P_IGNORE },
		{ "rate_limit_groups", P_EMPTY_ONLY }, { "balloon", P_REJECT }, { "fs", P_EMPTY_ONLY },
		{ "generic_vhost_user", P_EMPTY_ONLY }, { "pmem", P_EMPTY_ONLY }, { "debug_console", P_IGNORE },
		{ "devices", P_EMPTY_ONLY }, { "user_devices", P_EMPTY_ONLY }, { "vdpa", P_EMPTY_ONLY },
		{ "vsock", P_REJECT }, { "numa", P_USE }, { "iommu", P_FALSE_ONLY }, { "watchdog", P_FALSE_ONLY },
		{ "rtc", P_IGNORE }, { "pvpanic", P_FALSE_ONLY }, { "pci_segments", P_EMPTY_ONLY }, { "platform", P_IGNORE },
		{ "tpm", P_REJECT }, { "landlock_enable", P_FALSE_ONLY }, { "landlock_rules", P_EMPTY_ONLY },
		{ "sgx_epc", P_EMPTY_ONLY }, { "preserved_fds", P_EMPTY_ONLY },
	};
	struct jctx j = { err, errlen };
	int ret;

	err[0] = 0;
	cJSON *root = cJSON_ParseWithLength(text, len);
	if (!root)
		return fail(&j, "invalid JSON near byte %zu", (size_t)(cJSON_GetErrorPtr() ? cJSON_GetErrorPtr() - text : 0));
	/* Defaults for what the body leaves out are Cloud Hypervisor's: no serial output. */
	c->serial.mode = SERIAL_NULL;
	ret = check_fields(&j, root, "", f, N(f));
	const cJSON *v;
	if (!ret && (v = member(root, "cpus")))
		ret = parse_cpus(&j, v, c);
	if (!ret && !member(root, "cpus"))
		c->cpus.max_vcpus = c->cpus.boot_vcpus;
	if (!ret && (v = member(root, "memory")))
		ret = parse_memory(&j, v, c);
	if (!ret) {
		v = member(root, "payload");
		ret = v ? parse_payload(&j, v, c) : fail(&j, "payload: required (payload.kernel)");
	}
	if (!ret && (v = member(root, "disks")))
		ret = parse_disks(&j, v, c);
	if (!ret && (v = member(root, "serial")))
		ret = parse_serial(&j, v, c);
	if (!ret && (v = member(root, "console")))
		ret = parse_console(&j, v);
	if (!ret && (v = member(root, "net")))
		ret = parse_nets(&j, v, c);
	if (!ret && (v = member(root, "numa")))
		ret = parse_numa(&j, v, c);
	if (!ret)
		ret = config_check_memory(c, err, errlen);
	cJSON_Delete(root);
	return ret;
}

/* The default is left out, so the config reads back as given (still following --platform). */
static void add_transport(cJSON *o, enum virtio_transport t)
{
	if (t != TRANSPORT_DEFAULT)
		cJSON_AddStringToObject(o, "transport", t == TRANSPORT_MMIO ? "Mmio" : "Pci");
}

cJSON *config_to_json(const struct vm_config *c)
{
	static const char *const serial_modes[] = { [SERIAL_TTY] = "Tty", [SERIAL_FILE] = "File", [SERIAL_OFF] = "Off",
						    [SERIAL_NULL] = "Null" };
	cJSON *o = cJSON_CreateObject(), *x;

	x = cJSON_AddObjectToObject(o, "cpus");
	cJSON_AddNumberToObject(x, "boot_vcpus", c->cpus.boot_vcpus);
	cJSON_AddNumberToObject(x, "max_vcpus", c->cpus.max_vcpus ? c->cpus.max_vcpus : c->cpus.boot_vcpus);
	if (c->cpus.n_affinity) {
		cJSON *as = cJSON_AddArrayToObject(x, "affinity");
		for (unsigned i = 0; i < c->cpus.n_affinity; i++) {
			cJSON *aj = cJSON_CreateObject(), *hc = cJSON_AddArrayToObject(aj, "host_cpus");
			cJSON_AddNumberToObject(aj, "vcpu", c->cpus.affinity[i].vcpu);
			for (int k = 0; k < CPU_SETSIZE; k++)
				if (CPU_ISSET(k, &c->cpus.affinity[i].host_cpus))
					cJSON_AddItemToArray(hc, cJSON_CreateNumber(k));
			cJSON_AddItemToArray(as, aj);
		}
	}
	x = cJSON_AddObjectToObject(o, "memory");
	cJSON_AddNumberToObject(x, "size", (double)c->memory.size);
	cJSON_AddBoolToObject(x, "hugepages", c->memory.hugepages);
	if (c->memory.hugepage_size)
		cJSON_AddNumberToObject(x, "hugepage_size", (double)c->memory.hugepage_size);
	cJSON_AddBoolToObject(x, "shared", c->memory.shared);
	cJSON_AddBoolToObject(x, "prefault", c->memory.prefault);
	if (c->memory.n_zones) {
		cJSON *zs = cJSON_AddArrayToObject(x, "zones");
		for (unsigned i = 0; i < c->memory.n_zones; i++) {
			const struct memory_zone_config *z = &c->memory.zones[i];
			cJSON *zj = cJSON_CreateObject();
			cJSON_AddStringToObject(zj, "id", z->id);
			cJSON_AddNumberToObject(zj, "size", (double)z->size);
			if (z->host_numa_node != CONFIG_NO_NODE)
				cJSON_AddNumberToObject(zj, "host_numa_node", z->host_numa_node);
			cJSON_AddBoolToObject(zj, "hugepages", z->hugepages);
			if (z->hugepage_size)
				cJSON_AddNumberToObject(zj, "hugepage_size", (double)z->hugepage_size);
			cJSON_AddBoolToObject(zj, "shared", z->shared);
			cJSON_AddBoolToObject(zj, "prefault", z->prefault);
			cJSON_AddItemToArray(zs, zj);
		}
	}
	x = cJSON_AddObjectToObject(o, "payload");
	if (c->payload.kernel)
		cJSON_AddStringToObject(x, "kernel", c->payload.kernel);
	if (c->payload.initramfs)
		cJSON_AddStringToObject(x, "initramfs", c->payload.initramfs);
	if (c->payload.cmdline)
		cJSON_AddStringToObject(x, "cmdline", c->payload.cmdline);
	x = cJSON_AddArrayToObject(o, "disks");
	for (unsigned i = 0; i < c->n_disks; i++) {
		const struct disk_config *d = &c->disks[i];
		cJSON *dj = cJSON_CreateObject();
		cJSON_AddStringToObject(dj, "path", d->path);
		cJSON_AddBoolToObject(dj, "readonly", d->readonly);
		cJSON_AddBoolToObject(dj, "direct", d->direct);
		cJSON_AddNumberToObject(dj, "num_queues", d->num_queues ? d->num_queues : c->cpus.boot_vcpus);
		cJSON_AddNumberToObject(dj, "queue_size", d->queue_size ? d->queue_size : 256);
		if (d->id)
			cJSON_AddStringToObject(dj, "id", d->id);
		if (d->serial)
			cJSON_AddStringToObject(dj, "serial", d->serial);
		if (d->numa_node != CONFIG_NO_NODE)
			cJSON_AddNumberToObject(dj, "numa_node", d->numa_node);
		add_transport(dj, d->transport);
		cJSON_AddItemToArray(x, dj);
	}
	x = cJSON_AddObjectToObject(o, "serial");
	cJSON_AddStringToObject(x, "mode", serial_modes[c->serial.mode]);
	if (c->serial.file)
		cJSON_AddStringToObject(x, "file", c->serial.file);
	x = cJSON_AddObjectToObject(o, "console");
	cJSON_AddStringToObject(x, "mode", "Off");
	x = cJSON_AddArrayToObject(o, "net");
	for (unsigned i = 0; i < c->n_nets; i++) {
		const struct net_config *n = &c->nets[i];
		cJSON *nj = cJSON_CreateObject();
		char mac[18];
		cJSON_AddStringToObject(nj, "tap", n->tap);
		if (n->ip)
			cJSON_AddStringToObject(nj, "ip", n->ip);
		if (n->mask)
			cJSON_AddStringToObject(nj, "mask", n->mask);
		if (n->has_mac) {
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2], n->mac[3],
				 n->mac[4], n->mac[5]);
			cJSON_AddStringToObject(nj, "mac", mac);
		}
		cJSON_AddNumberToObject(nj, "num_queues", n->num_queues ? n->num_queues : 2);
		cJSON_AddNumberToObject(nj, "queue_size", n->queue_size ? n->queue_size : 256);
		if (n->id)
			cJSON_AddStringToObject(nj, "id", n->id);
		add_transport(nj, n->transport);
		cJSON_AddItemToArray(x, nj);
	}
	if (c->n_numa) {
		cJSON *ns = cJSON_AddArrayToObject(o, "numa");
		for (unsigned i = 0; i < c->n_numa; i++) {
			const struct numa_node_config *nn = &c->numa[i];
			cJSON *nj = cJSON_CreateObject(), *cp, *zs, *ds;
			cJSON_AddNumberToObject(nj, "guest_numa_id", nn->guest_numa_id);
			cp = cJSON_AddArrayToObject(nj, "cpus");
			for (unsigned v = 0; v < CONFIG_MAX_VCPUS; v++)
				if (nn->cpus[v / 64] & (1ull << (v % 64)))
					cJSON_AddItemToArray(cp, cJSON_CreateNumber(v));
			ds = cJSON_AddArrayToObject(nj, "distances");
			for (unsigned k = 0; k < nn->n_distances; k++) {
				cJSON *dj = cJSON_CreateObject();
				cJSON_AddNumberToObject(dj, "destination", nn->distances[k].dest);
				cJSON_AddNumberToObject(dj, "distance", nn->distances[k].distance);
				cJSON_AddItemToArray(ds, dj);
			}
			zs = cJSON_AddArrayToObject(nj, "memory_zones");
			for (unsigned k = 0; k < nn->n_zones; k++)
				cJSON_AddItemToArray(zs, cJSON_CreateString(nn->zones[k]));
			cJSON_AddItemToArray(ns, nj);
		}
	}
	return o;
}
