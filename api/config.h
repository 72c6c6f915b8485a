/* config: the VM configuration, shaped like Cloud Hypervisor's VmConfig. The command
 * line builds it (cli.c) and, later, the HTTP API's vm.create will too: one path. */
#ifndef RV_CONFIG_H
#define RV_CONFIG_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_OFF, SERIAL_NULL };

#define CONFIG_MAX_DISKS 16
#define CONFIG_MAX_ZONES 16
#define CONFIG_MAX_NUMA_NODES 16
#define CONFIG_MAX_VCPUS 254
#define CONFIG_NO_NODE (-1)

/* A piece of guest RAM with its own backing (Cloud Hypervisor's --memory-zone). */
struct memory_zone_config {
	char *id;
	uint64_t size;
	int host_numa_node;     /* CONFIG_NO_NODE: wherever the kernel puts it */
	int hugepages;          /* 0/1 */
	uint64_t hugepage_size; /* 0: 2 MiB */
	int prefault;           /* 0/1: touch every page before the guest starts */
	int shared;             /* 0/1: a memfd mapped shared (default 1), else private anonymous */
};

/* One guest NUMA node (--numa): its vCPUs, its memory zones, its distances. */
struct numa_node_config {
	unsigned guest_numa_id;
	uint64_t cpus[(CONFIG_MAX_VCPUS + 63) / 64]; /* bitmap of vCPU ids */
	char *zones[CONFIG_MAX_ZONES];
	unsigned n_zones;
	struct {
		unsigned dest;
		unsigned distance;
	} distances[CONFIG_MAX_NUMA_NODES];
	unsigned n_distances;
};

/* --cpus affinity=[vcpu@[host cpus],...] */
struct cpu_affinity_config {
	unsigned vcpu;
	cpu_set_t host_cpus;
};

/* How a virtio device reaches the guest; DEFAULT follows --platform virtio_transport. */
enum virtio_transport { TRANSPORT_DEFAULT, TRANSPORT_PCI, TRANSPORT_MMIO };

struct disk_config {
	char *path, *id, *serial;
	int readonly;       /* 0/1 */
	int direct;         /* 0/1, default 1 */
	unsigned num_queues; /* 0: one per vCPU */
	unsigned queue_size;
	enum virtio_transport transport;
	int numa_node;       /* guest NUMA node the disk belongs to, CONFIG_NO_NODE: none given */
};

#define CONFIG_MAX_NETS 8

/* Shaped like Cloud Hypervisor's NetConfig. */
struct net_config {
	char *tap, *ip, *mask, *id;
	uint8_t mac[6];
	int has_mac;         /* 0: a random locally administered MAC */
	unsigned num_queues; /* RX + TX queues (2 per pair); 0: 2 */
	unsigned queue_size; /* 0: 256 */
	enum virtio_transport transport;
};

struct vm_config {
	struct {
		unsigned boot_vcpus, max_vcpus;
		struct cpu_affinity_config *affinity; /* n_affinity entries, malloc'd */
		unsigned n_affinity;
	} cpus;
	struct {
		uint64_t size;          /* 0 when zones describe the RAM */
		int hugepages, prefault, shared;
		uint64_t hugepage_size;
		struct memory_zone_config zones[CONFIG_MAX_ZONES];
		unsigned n_zones;
	} memory;
	struct numa_node_config numa[CONFIG_MAX_NUMA_NODES];
	unsigned n_numa;
	struct {
		char *kernel, *initramfs, *cmdline;
	} payload;
	struct {
		enum serial_mode mode;
		char *file;
	} serial;
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned n_disks;
	struct net_config nets[CONFIG_MAX_NETS];
	unsigned n_nets;
	struct {
		uint64_t engine_poll_ns; /* how long an idle engine spins before sleeping */
		uint64_t vcpu_spin_ns;   /* how long a vCPU spins for a read's reply */
		uint64_t io_poll_ns;     /* how long it spins while device I/O is in the kernel */
		uint64_t batch_ns;       /* on a shared CPU, wait this long instead of spinning */
		int fixed_buffers;       /* register guest RAM with the ring (pins it) */
	} tuning;
	int log_level;
	/* The VMM's control API (not part of VmConfig; the command line only). */
	struct {
		char *socket;            /* --api-socket path, NULL: no API */
		unsigned timeout_ms;     /* a request must arrive (and its reply leave) within this */
		unsigned max_connections;
	} api;
	struct {
		enum virtio_transport virtio_transport; /* the default for devices (PCI if unset) */
	} platform;
	char *dump_acpi;         /* write the ACPI tables as DIR/<SIG>.dat at boot */
};

#define CONFIG_DEFAULT_MEMORY (512ull << 20)

void config_init(struct vm_config *c);
void config_free(struct vm_config *c);
/* Cross-field checks on memory, zones, NUMA nodes and affinity that need no host access
 * (the CLI and the API both call it). Returns 0, or -EINVAL with why filled in. */
int config_check_memory(const struct vm_config *c, char *why, size_t n);
/* The zone with this id, or NULL. */
const struct memory_zone_config *config_find_zone(const struct vm_config *c, const char *id);
/* The guest NUMA node (index into c->numa) of vCPU v, or -1. */
int config_vcpu_numa(const struct vm_config *c, unsigned v);
/* The guest NUMA node (index into c->numa) that lists zone id, or -1. */
int config_zone_numa(const struct vm_config *c, const char *zone_id);
/* The host node behind guest NUMA node index g: that of its first zone bound to one, or -1. */
int config_numa_host_node(const struct vm_config *c, int g);
/* The host nodes the VM's memory is bound to, in zone order, each once; `first` (the
 * node that runs the API and the legacy devices) leads. Returns how many (≥ 1). */
unsigned config_host_nodes(const struct vm_config *c, int first, int *nodes, unsigned max);
/* The host node a disk's engine should be on: its numa_node's, else -1 (the first engine). */
int config_disk_host_node(const struct vm_config *c, const struct disk_config *d);

#endif
