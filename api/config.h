/* config: the VM configuration, shaped like Cloud Hypervisor's VmConfig. The command
 * line builds it (cli.c) and, later, the HTTP API's vm.create will too: one path. */
#ifndef RV_CONFIG_H
#define RV_CONFIG_H

#include <stdint.h>

enum serial_mode { SERIAL_TTY, SERIAL_FILE, SERIAL_OFF, SERIAL_NULL };

#define CONFIG_MAX_DISKS 16

struct disk_config {
	char *path, *id, *serial;
	int readonly;       /* 0/1 */
	int direct;         /* 0/1, default 1 */
	unsigned num_queues; /* 0: one per vCPU */
	unsigned queue_size;
};

#define CONFIG_MAX_NETS 8

/* Shaped like Cloud Hypervisor's NetConfig. */
struct net_config {
	char *tap, *ip, *mask, *id;
	uint8_t mac[6];
	int has_mac;         /* 0: a random locally administered MAC */
	unsigned num_queues; /* RX + TX queues (2 per pair); 0: 2 */
	unsigned queue_size; /* 0: 256 */
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
	struct net_config nets[CONFIG_MAX_NETS];
	unsigned n_nets;
	struct {
		uint64_t engine_poll_ns; /* how long an idle engine spins before sleeping */
		uint64_t vcpu_spin_ns;   /* how long a vCPU spins for a read's reply */
		uint64_t io_poll_ns;     /* how long it spins while device I/O is in the kernel */
		int fixed_buffers;       /* register guest RAM with the ring (pins it) */
	} tuning;
	int log_level;
};

#define CONFIG_DEFAULT_MEMORY (512ull << 20)
#define CONFIG_MAX_VCPUS 254

void config_init(struct vm_config *c);
void config_free(struct vm_config *c);

#endif
