/* config: the VM configuration, shaped like Cloud Hypervisor's VmConfig. The command
 * line builds it (cli.c) and, later, the HTTP API's vm.create will too: one path. */
#ifndef RV_CONFIG_H
#define RV_CONFIG_H

#include <stdint.h>

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_OFF, SERIAL_NULL };

#define CONFIG_MAX_DISKS 16

/* How a virtio device reaches the guest; DEFAULT follows --platform virtio_transport. */
enum virtio_transport { TRANSPORT_DEFAULT, TRANSPORT_PCI, TRANSPORT_MMIO };

struct disk_config {
	char *path, *id, *serial;
	int readonly;       /* 0/1 */
	int direct;         /* 0/1, default 1 */
	unsigned num_queues; /* 0: one per vCPU */
	unsigned queue_size;
	enum virtio_transport transport;
};

struct vm_config {
	struct {
		unsigned boot_vcpus, max_vcpus;
	} cpus;
	struct {
		uint64_t size;
	} memory;
	struct {
		char *kernel, *initramfs, *cmdline;
	} payload;
	struct {
		enum serial_mode mode;
		char *file;
	} serial;
	struct disk_config disks[CONFIG_MAX_DISKS];
	unsigned n_disks;
	struct {
		uint64_t engine_poll_ns; /* how long an idle engine spins before sleeping */
		uint64_t vcpu_spin_ns;   /* how long a vCPU spins for a read's reply */
		uint64_t io_poll_ns;     /* how long it spins while device I/O is in the kernel */
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
#define CONFIG_MAX_VCPUS 254

void config_init(struct vm_config *c);
void config_free(struct vm_config *c);

#endif
