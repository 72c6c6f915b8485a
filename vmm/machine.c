/* machine: see machine.h.
 *
 * Threads: the VMM's control thread creates, boots, pauses and stops machines; each
 * machine has its engine thread (one per host NUMA node used; today node 0 for all of
 * guest RAM), which runs every device, and its vCPU threads. Stopping: whoever ends the
 * VM calls vm_request_stop(), which kicks the vCPUs out of KVM_RUN and tells the control
 * thread (on_stop); it joins the vCPUs, then asks the engine (through its own exit
 * queue) to flush the console and log, and then to stop. */
#include "machine.h"

#include "engine/engine.h"
#include "engine/exitq.h"
#include "engine/log.h"
#include "engine/stream.h"
#include "engine/placement.h"
#include "engine/topology.h"
#include "acpi/tables.h"
#include "kvm/boot.h"
#include "kvm/cpuid.h"
#include "kvm/debug_port.h"
#include "kvm/i8042.h"
#include "kvm/layout.h"
#include "kvm/mptable.h"
#include "kvm/reset_vector.h"
#include "kvm/power.h"
#include "kvm/rtc.h"
#include "kvm/uart.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/pci.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_pci.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#define FLUSH_TIMEOUT_NS (2ull * 1000 * 1000 * 1000)

struct machine {
	struct vm vm;
	struct engine engine;      /* the first engine: legacy devices, the PCI bus, the console, the log */
	struct engine *engines[PLACEMENT_MAX_ENGINES]; /* one per host node the VM uses; [0] is &engine */
	struct exitq node_ctl[PLACEMENT_MAX_ENGINES];  /* control thread -> engines[1..] (their stop) */
	unsigned n_engines;
	struct engine_writer log;
	struct exitq ctl;          /* control thread -> engine */
	struct engine_timer flush_timer;
	struct vm_placement *place;
	struct uart com1;
	struct i8042 kbd;
	struct debug_port dbg;
	struct rtc rtc;
	struct pci_bus pci;
	struct blk_dev *disks[CONFIG_MAX_DISKS];
	struct virtio_pci *disk_pci[CONFIG_MAX_DISKS];
	struct virtio_mmio *disk_mmio[CONFIG_MAX_DISKS];
	unsigned n_disks;
	struct virtio_mmio *mmio_devs[LAYOUT_VIRTIO_MMIO_MAX]; /* every virtio-mmio device, in slot order */
	unsigned n_mmio;
	struct power power;
	unsigned boot;             /* 0 on the first boot, +1 per reboot */
	char *cmdline;             /* the guest's: --cmdline plus virtio_mmio.device= entries */
	struct net_dev *nets[CONFIG_MAX_NETS];
	struct virtio_pci *net_pci[CONFIG_MAX_NETS];
	struct virtio_mmio *net_mmio[CONFIG_MAX_NETS];
	unsigned n_nets;
	int serial_fd;
	bool tty_raw;
	struct termios tty_saved;
	bool booted, finished;
	int exit_code;
	unsigned boot_desc_vcpus;
	unsigned long long boot_desc_mib;
	char boot_desc_kernel[256];
};

static void on_engine_start(struct engine *e, void *arg)
{
	struct machine *m = arg;
	(void)e;
	log_set_thread_sink(engine_writer_log_sink, &m->log);
}

static void power_button_msg(struct exitq_msg *msg)
{
	struct machine *m = msg->ctx;
	power_button(&m->power);
}

/* From the control thread (signals, the API): the press runs on the machine's engine,
 * which owns the power device. */
void machine_power_button(struct machine *m)
{
	struct exitq_msg press = { .fn = power_button_msg, .ctx = m };
	exitq_post(&m->ctl, &press);
}

bool machine_wants_reboot(struct machine *m) { return atomic_load(&m->vm.reboot); }

/* ---- orderly stop on the engine: flush console and log, then leave the loop ---- */
static void flush_step(struct machine *m);

static void flushed_one(struct engine_writer *w)
{
	flush_step(w->ctx);
}

static void flush_timeout(struct engine *e, struct engine_timer *t)
{
	(void)t;
	log_set_thread_sink(NULL, NULL);
	log_warn("console or log output did not drain within 2 s; stopping anyway");
	engine_stop(e);
}

static void flush_step(struct machine *m)
{
	if (!uart_drained(&m->com1)) {
		engine_writer_when_drained(&m->com1.out, flushed_one);
		return;
	}
	if (!engine_writer_idle(&m->log)) {
		engine_writer_when_drained(&m->log, flushed_one);
		return;
	}
	engine_timer_cancel(&m->engine, &m->flush_timer);
	engine_stop(&m->engine);
}

static void ctl_finish(struct exitq_msg *msg)
{
	struct machine *m = msg->ctx;
	if (m->com1.has_in)
		engine_reader_stop(&m->com1.in);
	engine_timer_arm(&m->engine, &m->flush_timer, FLUSH_TIMEOUT_NS, flush_timeout, m);
	flush_step(m);
}

/* ---- set-up ---- */
static int open_serial(struct machine *m, const struct vm_config *c, int *in_fd)
{
	*in_fd = -1;
	m->serial_fd = -1;
	switch (c->serial.mode) {
	case SERIAL_OFF:
	case SERIAL_NULL:
		return 0;
	case SERIAL_FILE:
		/* after a reboot the guest's output continues in the same file */
		m->serial_fd = open(c->serial.file, O_WRONLY | O_CREAT | O_CLOEXEC | (m->boot ? O_APPEND : O_TRUNC), 0644);
		if (m->serial_fd < 0) {
			int err = errno;
			log_error("--serial file=%s: cannot open: %s", c->serial.file, strerror(err));
			return -err;
		}
		return 0;
	case SERIAL_TTY:
		m->serial_fd = STDOUT_FILENO;
		if (fcntl(STDIN_FILENO, F_GETFD) < 0)
			return 0; /* no stdin at all: an output-only console */
		*in_fd = STDIN_FILENO;
		if (isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &m->tty_saved) == 0) {
			/* Raw input for the guest, but keep ^C for the VMM (it stops the VM). */
			struct termios raw = m->tty_saved;
			cfmakeraw(&raw);
			raw.c_lflag |= ISIG;
			raw.c_oflag |= OPOST | ONLCR;
			if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0)
				m->tty_raw = true;
		}
		return 0;
	}
	return 0;
}

/* Engines follow NUMA: one per host node the VM's memory is bound to, pinned to that
 * node's CPUs (the kernel then allocates its ring there too); the first is the node of
 * the first zone (else the host's first node). vCPU threads run on their guest node's
 * host node, or where --cpus affinity= says (engine/placement.h). */
static int setup_engines(struct machine *m, const struct vm_config *c)
{
	struct host_topology topo;
	int nodes[PLACEMENT_MAX_ENGINES], ret;
	int *vnode = calloc(c->cpus.boot_vcpus, sizeof(int));
	cpu_set_t *aff = calloc(c->cpus.boot_vcpus, sizeof(cpu_set_t));

	m->place = calloc(1, sizeof(*m->place));
	if (!vnode || !aff || !m->place) {
		free(vnode), free(aff);
		return -ENOMEM;
	}
	if ((ret = topology_load(&topo, NULL)) < 0 || topo.n_nodes == 0) {
		log_error("cannot read the host's NUMA topology: %s", strerror(ret < 0 ? -ret : ENOENT));
		free(vnode), free(aff);
		return ret < 0 ? ret : -ENOENT;
	}
	int first = c->memory.n_zones && c->memory.zones[0].host_numa_node != CONFIG_NO_NODE ?
			    c->memory.zones[0].host_numa_node : topo.node_id[0];
	unsigned n = config_host_nodes(c, first, nodes, PLACEMENT_MAX_ENGINES);
	for (unsigned v = 0; v < c->cpus.boot_vcpus; v++)
		vnode[v] = config_numa_host_node(c, config_vcpu_numa(c, v));
	for (unsigned i = 0; i < c->cpus.n_affinity; i++)
		if (c->cpus.affinity[i].vcpu < c->cpus.boot_vcpus)
			aff[c->cpus.affinity[i].vcpu] = c->cpus.affinity[i].host_cpus;
	ret = placement_plan_vm(&topo, nodes, n, vnode, aff, c->cpus.boot_vcpus, m->place);
	free(vnode), free(aff);
	if (ret < 0) {
		log_error("cannot place the VM's threads on the host's NUMA nodes (a node the host lacks?)");
		return ret;
	}
	for (unsigned e = 0; e < n; e++) {
		struct engine *eng = e ? calloc(1, sizeof(*eng)) : &m->engine;
		char name[16];
		snprintf(name, sizeof(name), "rv-engine%d", nodes[e]);
		struct engine_params p = { .node = nodes[e], .poll_ns = c->tuning.engine_poll_ns,
					   .io_poll_ns = c->tuning.io_poll_ns, .batch_ns = c->tuning.batch_ns, .name = name,
					   .cpus = m->place->engine[e].cpus, .iowq_cpus = m->place->engine[e].iowq };
		if (!eng)
			return -ENOMEM;
		m->engines[m->n_engines++] = eng;
		if ((ret = engine_init(eng, &p)) < 0)
			return ret;
		if (e && (ret = exitq_init(&m->node_ctl[e], eng, 0)) < 0)
			return ret;
	}
	m->engine.on_start = on_engine_start;
	m->engine.on_start_arg = m;
	if ((ret = engine_writer_init(&m->log, &m->engine, STDERR_FILENO, 1 << 16, "the log")) < 0)
		return ret;
	m->vm.engines = m->engines;
	m->vm.n_engines = m->n_engines;
	if (n > 1)
		log_info("%u engines, one per host node the VM uses (first: node %d)", n, first);
	return 0;
}

/* The engine serving a disk: that of the host node behind its guest NUMA node. PCI
 * devices stay on the first engine, which serves the PCI configuration space their
 * drivers program (MSI-X, the PCI_CFG window): those writes must run where the device
 * does; virtio-mmio devices have no such shared space and go to their node's engine. */
static struct engine *disk_engine(struct machine *m, const struct vm_config *c, const struct disk_config *dc,
				  bool mmio)
{
	int node = config_disk_host_node(c, dc);
	unsigned e = node < 0 ? 0 : placement_engine_of_node(m->place, node);
	if (e && !mmio) {
		log_warn("%s: numa_node=%d is served by the first engine (host node %d): move it to virtio-mmio "
			 "(transport=mmio) to have host node %d's engine serve it", dc->id, dc->numa_node,
			 m->place->engine[0].node, node);
		e = 0;
	}
	return m->engines[e];
}

/* Guest RAM as fixed buffers of at most 1 GiB (the kernel's limit per buffer). */
static int register_guest_ram(struct machine *m)
{
	struct iovec iov[ENGINE_MAX_BUFFERS];
	unsigned n = 0;
	for (unsigned i = 0; i < m->vm.mem.n_regions; i++) {
		const struct guest_region *r = &m->vm.mem.regions[i];
		for (uint64_t off = 0; off < r->size; off += GiB) {
			if (n == ENGINE_MAX_BUFFERS) {
				log_error("--engine fixed_buffers=on: guest RAM needs more than %d buffers of 1 GiB",
					  ENGINE_MAX_BUFFERS);
				return -E2BIG;
			}
			iov[n].iov_base = r->hva + off;
			iov[n++].iov_len = r->size - off < GiB ? r->size - off : GiB;
		}
	}
	/* on every engine: a disk on a node's engine looks its buffers up on that ring */
	for (unsigned e = 0; e < m->n_engines; e++) {
		int ret = engine_register_buffers(m->engines[e], iov, n);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Put a virtio device on the next virtio-mmio slot (address and IOAPIC pin). */
static int add_mmio(struct machine *m, struct virtio_mmio **out, struct virtio_dev *vdev)
{
	static const unsigned irqs[LAYOUT_VIRTIO_MMIO_MAX] = LAYOUT_VIRTIO_MMIO_IRQS;
	if (m->n_mmio == LAYOUT_VIRTIO_MMIO_MAX) {
		log_error("%s: no virtio-mmio slot left (at most %d devices over MMIO)", vdev->name, LAYOUT_VIRTIO_MMIO_MAX);
		return -ENOSPC;
	}
	struct virtio_mmio *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	*out = vm;
	unsigned i = m->n_mmio++;
	m->mmio_devs[i] = vm;
	return virtio_mmio_create(vm, &m->vm, vdev, LAYOUT_VIRTIO_MMIO + i * LAYOUT_VIRTIO_MMIO_SIZE, irqs[i]);
}

static int setup_disks(struct machine *m, const struct vm_config *c)
{
	int ret;
	if (c->n_disks && c->tuning.fixed_buffers && (ret = register_guest_ram(m)) < 0)
		return ret;
	for (unsigned i = 0; i < c->n_disks; i++) {
		const struct disk_config *dc = &c->disks[i];
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(c->disks[k].id, dc->id)) {
				log_error("--disk id=%s is used twice", dc->id);
				return -EINVAL;
			}
		struct blk_options o = {
			.path = dc->path, .id = dc->id, .serial = dc->serial, .readonly = dc->readonly,
			.direct = dc->direct, .num_queues = dc->num_queues ? dc->num_queues : c->cpus.boot_vcpus,
			.queue_size = dc->queue_size ? dc->queue_size : 256,
		};
		m->disks[i] = calloc(1, sizeof(struct blk_dev));
		if (!m->disks[i])
			return -ENOMEM;
		m->n_disks = i + 1;
		enum virtio_transport t = dc->transport ? dc->transport : c->platform.virtio_transport;
		if ((ret = blk_create(m->disks[i], &o, disk_engine(m, c, dc, t == TRANSPORT_MMIO), &m->vm.mem)) < 0)
			return ret;
		if (t == TRANSPORT_MMIO)
			ret = add_mmio(m, &m->disk_mmio[i], &m->disks[i]->vdev);
		else if (!(m->disk_pci[i] = calloc(1, sizeof(struct virtio_pci))))
			ret = -ENOMEM;
		else
			ret = virtio_pci_create(m->disk_pci[i], &m->pci, &m->disks[i]->vdev);
		if (ret < 0)
			return ret;
		char where[64] = "virtio-pci";
		if (m->disk_mmio[i])
			snprintf(where, sizeof(where), "virtio-mmio at 0x%llx IRQ %u", (unsigned long long)m->disk_mmio[i]->base,
				 m->disk_mmio[i]->gsi);
		log_info("%s: %s, %llu MiB, %u queue%s of %u%s%s, %s", dc->id, dc->path,
			 (unsigned long long)(m->disks[i]->capacity >> 20), o.num_queues, o.num_queues > 1 ? "s" : "",
			 o.queue_size, o.readonly ? ", read-only" : "", o.direct ? ", O_DIRECT" : "", where);
	}
	return 0;
}

/* The guest NUMA nodes for SRAT/SLIT: each vCPU's node, each RAM region's node (through
 * its zone), and the distances (10 to itself, 20 to the others unless --numa says). */
static void describe_numa(struct machine *m, const struct vm_config *c, struct acpi_numa *n)
{
	if (!c->n_numa)
		return;
	n->n_domains = c->n_numa;
	for (unsigned v = 0; v < m->vm.n_vcpus && v < ACPI_MAX_CPUS; v++) {
		int g = config_vcpu_numa(c, v);
		n->cpu_domain[v] = g < 0 ? 0 : c->numa[g].guest_numa_id;
	}
	for (unsigned i = 0; i < m->vm.mem.n_regions && n->n_mem < ACPI_MAX_MEM_RANGES; i++) {
		const struct guest_region *r = &m->vm.mem.regions[i];
		/* Zones are created in the config's order; one node and no zones: all its RAM. */
		int g = c->memory.n_zones ? config_zone_numa(c, c->memory.zones[r->zone].id) : 0;
		uint32_t dom = c->numa[g < 0 ? 0 : g].guest_numa_id;
		n->mem[n->n_mem].base = r->gpa;
		n->mem[n->n_mem].size = r->size;
		n->mem[n->n_mem++].domain = dom;
	}
	for (unsigned i = 0; i < n->n_domains; i++)
		for (unsigned k = 0; k < n->n_domains; k++)
			n->distance[i][k] = i == k ? 10 : 20;
	for (unsigned g = 0; g < c->n_numa; g++)
		for (unsigned k = 0; k < c->numa[g].n_distances; k++)
			n->distance[c->numa[g].guest_numa_id][c->numa[g].distances[k].dest] =
				(uint8_t)c->numa[g].distances[k].distance;
}

/* The ACPI tables, in the BIOS area (and in --dump-acpi DIR). */
static int setup_acpi(struct machine *m, const struct vm_config *c, uint64_t *rsdp)
{
	struct acpi_machine am = { .n_cpus = m->vm.n_vcpus, .pci_mmio_start = PCI_MMIO_START, .pci_mmio_end = PCI_MMIO_END };
	struct acpi_tables ts;
	int ret;

	for (unsigned i = 0; i < m->n_mmio; i++)
		am.virtio_mmio[am.n_virtio_mmio++] = (struct acpi_mmio_dev){ m->mmio_devs[i]->base, LAYOUT_VIRTIO_MMIO_SIZE,
									     m->mmio_devs[i]->gsi };
	describe_numa(m, c, &am.numa);
	if ((ret = acpi_build(&am, &ts)) == 0 && (ret = acpi_write(&ts, &m->vm.mem)) == 0 && c->dump_acpi && !m->boot)
		ret = acpi_dump(&ts, c->dump_acpi);
	*rsdp = ts.rsdp_gpa;
	acpi_tables_free(&ts);
	if (ret < 0)
		log_error("cannot write the ACPI tables");
	return ret;
}

/* --cmdline, then one virtio_mmio.device= per MMIO device (Linux's convention; an ACPI
 * kernel also finds them in the DSDT and leaves the second description unbound). */
static int build_cmdline(struct machine *m, const struct vm_config *c)
{
	const char *user = c->payload.cmdline ? c->payload.cmdline : "";
	size_t size = strlen(user) + 1 + m->n_mmio * 64;
	size_t len;
	if (!(m->cmdline = malloc(size)))
		return -ENOMEM;
	len = (size_t)snprintf(m->cmdline, size, "%s", user);
	for (unsigned i = 0; i < m->n_mmio; i++) {
		if (len)
			m->cmdline[len++] = ' ';
		len += (size_t)virtio_mmio_cmdline(m->mmio_devs[i], m->cmdline + len, size - len);
	}
	m->cmdline[len] = 0;
	return 0;
}

/* The zones guest RAM is made of: the --memory-zone list, or one zone from --memory. */
static unsigned zone_specs(const struct vm_config *c, struct guest_zone_spec *z)
{
	if (!c->memory.n_zones) {
		z[0] = (struct guest_zone_spec){ .id = "mem0", .size = c->memory.size, .host_node = -1,
						 .prefault = c->memory.prefault, .shared = c->memory.shared };
		if (c->memory.hugepages)
			z[0].hugepage_size = c->memory.hugepage_size ? c->memory.hugepage_size : 2 * MiB;
		return 1;
	}
	for (unsigned i = 0; i < c->memory.n_zones; i++) {
		const struct memory_zone_config *mz = &c->memory.zones[i];
		z[i] = (struct guest_zone_spec){ .id = mz->id, .size = mz->size, .host_node = mz->host_numa_node,
						 .prefault = mz->prefault, .shared = mz->shared };
		if (mz->hugepages)
			z[i].hugepage_size = mz->hugepage_size ? mz->hugepage_size : 2 * MiB;
	}
	return c->memory.n_zones;
}

static int setup_nets(struct machine *m, const struct vm_config *c)
{
	int ret;
	for (unsigned i = 0; i < c->n_nets; i++) {
		const struct net_config *nc = &c->nets[i];
		for (unsigned k = 0; k < i; k++)
			if (!strcmp(c->nets[k].id, nc->id) || !strcmp(c->nets[k].tap, nc->tap)) {
				log_error("--net %s=%s is used twice", strcmp(c->nets[k].id, nc->id) ? "tap" : "id",
					  strcmp(c->nets[k].id, nc->id) ? nc->tap : nc->id);
				return -EINVAL;
			}
		struct net_options o = {
			.tap = nc->tap, .id = nc->id, .ip = nc->ip, .mask = nc->mask,
			.pairs = nc->num_queues ? nc->num_queues / 2 : 1, .queue_size = nc->queue_size ? nc->queue_size : 256,
		};
		memcpy(o.mac, nc->mac, 6);
		if (!nc->has_mac) {
			if (getrandom(o.mac, 6, 0) != 6)
				return -EIO;
			o.mac[0] = (uint8_t)((o.mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
		}
		m->nets[i] = calloc(1, sizeof(struct net_dev));
		m->net_pci[i] = calloc(1, sizeof(struct virtio_pci));
		if (!m->nets[i] || !m->net_pci[i])
			return -ENOMEM;
		m->n_nets = i + 1;
		if ((ret = net_create(m->nets[i], &o, &m->engine, &m->vm.mem)) < 0)
			return ret;
		enum virtio_transport t = nc->transport ? nc->transport : c->platform.virtio_transport;
		if (t == TRANSPORT_MMIO)
			ret = add_mmio(m, &m->net_mmio[i], &m->nets[i]->vdev);
		else
			ret = virtio_pci_create(m->net_pci[i], &m->pci, &m->nets[i]->vdev);
		if (ret < 0)
			return ret;
		log_info("%s: tap %s%s, mac %02x:%02x:%02x:%02x:%02x:%02x, %u queue pair%s of %u%s%s%s%s", nc->id, nc->tap,
			 m->nets[i]->tap.created ? " (created)" : "", o.mac[0], o.mac[1], o.mac[2], o.mac[3], o.mac[4],
			 o.mac[5], o.pairs, o.pairs > 1 ? "s" : "", o.queue_size, nc->ip ? ", host " : "",
			 nc->ip ? nc->ip : "", nc->ip ? "/" : "", nc->ip ? nc->mask : "");
	}
	return 0;
}

static int setup_vm(struct machine *m, const struct vm_config *c)
{
	struct guest_zone_spec zones[GUEST_MEM_MAX_ZONES];
	unsigned n_zones = zone_specs(c, zones);
	struct vm *vm = &m->vm;
	struct boot_state bs;
	struct boot_config bc = { c->payload.kernel, c->payload.initramfs, NULL, 0 };
	unsigned max_cpus;
	int ret, in_fd;

	if ((ret = kvm_open(&vm->kvm)) < 0)
		return ret;
	max_cpus = (unsigned)vm->kvm.max_vcpus < MPTABLE_MAX_CPUS ? (unsigned)vm->kvm.max_vcpus : MPTABLE_MAX_CPUS;
	if (c->cpus.boot_vcpus > max_cpus) {
		log_error("--cpus boot=%u: this host's KVM allows at most %u vCPUs", c->cpus.boot_vcpus, max_cpus);
		return -EINVAL;
	}
	/* Host nodes and huge pages are checked before anything is allocated. */
	if ((ret = guest_mem_check_host(zones, n_zones, NULL)) < 0)
		return ret;
	if ((ret = kvm_create_vm(&vm->kvm)) < 0)
		return ret;
	/* The guest sees the host's physical address width (CPUID 0x80000008 passes through). */
	if ((ret = guest_mem_create_zones(&vm->mem, zones, n_zones, vm->kvm.phys_bits)) < 0)
		return ret;
	if ((ret = kvm_add_memory(&vm->kvm, &vm->mem)) < 0)
		return ret;
	if ((ret = irq_routing_init(&vm->routing, vm->kvm.vm_fd)) < 0)
		return ret;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->vcpu_spin_ns = c->tuning.vcpu_spin_ns;
	if ((ret = setup_engines(m, c)) < 0)
		return ret;
	if ((ret = exitq_init(&m->ctl, &m->engine, 0)) < 0)
		return ret;
	if ((ret = vcpus_create(vm, c->cpus.boot_vcpus)) < 0)
		return ret;
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		vm->vcpus[i].cpus = m->place->vcpu[i];
	if ((ret = open_serial(m, c, &in_fd)) < 0)
		return ret;
	if ((ret = uart_create(&m->com1, vm, &m->engine, PORT_COM1, IRQ_COM1, m->serial_fd, in_fd)) < 0 ||
	    (ret = i8042_create(&m->kbd, vm, &m->engine)) < 0 ||
	    (ret = debug_port_create(&m->dbg, vm, &m->engine)) < 0 ||
	    (ret = rtc_create(&m->rtc, vm, &m->engine)) < 0) {
		log_error("cannot set up the legacy devices: %s", strerror(-ret));
		return ret;
	}
	if ((ret = pci_bus_init(&m->pci, vm, &m->engine)) < 0)
		return ret;
	if ((ret = setup_disks(m, c)) < 0)
		return ret;
	if ((ret = setup_nets(m, c)) < 0)
		return ret;
	if ((ret = power_create(&m->power, vm, &m->engine)) < 0) {
		log_error("cannot set up the ACPI power registers: %s", strerror(-ret));
		return ret;
	}
	/* The MP table stays for guests booted with acpi=off. */
	if ((ret = mptable_write(&vm->mem, vm->n_vcpus)) < 0) {
		log_error("cannot write the MP table");
		return ret;
	}
	if ((ret = reset_vector_write(&vm->mem)) < 0) {
		log_error("cannot write the reset vector");
		return ret;
	}
	if ((ret = setup_acpi(m, c, &bc.rsdp)) < 0)
		return ret;
	if ((ret = build_cmdline(m, c)) < 0)
		return ret;
	bc.cmdline = m->cmdline;
	if ((ret = boot_load(&vm->mem, &bc, &bs)) < 0)
		return ret;
	if ((ret = boot_set_cpu_state(vm->vcpus[0].fd, &vm->mem, &bs)) < 0)
		return ret;
	m->com1.out.ctx = m;
	m->log.ctx = m;
	return 0;
}

/* Counters for benchmarks and for users wondering where the work went. */
static void log_stats(struct machine *m)
{
	for (unsigned e = 0; e < m->n_engines; e++) {
		const struct engine_stats *s = &m->engines[e]->stats;
		log_info("engine %s: loops=%llu io_uring_enter=%llu sleeps=%llu batch_waits=%llu cqes=%llu exits=%llu "
			 "doorbells=%llu", m->engines[e]->name, (unsigned long long)s->loops, (unsigned long long)s->enters,
			 (unsigned long long)s->sleeps, (unsigned long long)s->batch_waits, (unsigned long long)s->cqes,
			 (unsigned long long)s->exits, (unsigned long long)s->doorbells);
	}
	for (unsigned i = 0; i < m->n_disks; i++) {
		struct blk_dev *b = m->disks[i];
		struct blk_queue_stats t;
		uint64_t merged = 0;
		blk_stats_total(b, &t);
		for (unsigned q = 0; q < b->vdev.num_queues; q++)
			merged += b->queues[q].merged;
		log_info("%s: reads=%llu writes=%llu read_bytes=%llu write_bytes=%llu flushes=%llu discards=%llu "
			 "write_zeroes=%llu errors=%llu merged=%llu kicks=%llu interrupts=%llu", b->id, (unsigned long long)t.reads,
			 (unsigned long long)t.writes, (unsigned long long)t.read_bytes, (unsigned long long)t.write_bytes,
			 (unsigned long long)t.flushes, (unsigned long long)t.discards, (unsigned long long)t.write_zeroes,
			 (unsigned long long)t.errors, (unsigned long long)merged, (unsigned long long)b->vdev.kicks,
			 (unsigned long long)b->vdev.interrupts);
	}
	for (unsigned i = 0; i < m->n_nets; i++)
		net_log_stats(m->nets[i]);
}

static void teardown(struct machine *m)
{
	struct vm *vm = &m->vm;
	if (m->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &m->tty_saved);
	vcpus_destroy(vm);
	for (unsigned i = 0; i < m->n_disks; i++) {
		if (m->disk_pci[i])
			virtio_pci_destroy(m->disk_pci[i]);
		if (m->disk_mmio[i])
			virtio_mmio_destroy(m->disk_mmio[i]);
		if (m->disks[i])
			blk_destroy(m->disks[i]);
		free(m->disk_pci[i]);
		free(m->disk_mmio[i]);
		free(m->disks[i]);
	}
	power_destroy(&m->power);
	free(m->cmdline);
	for (unsigned i = 0; i < m->n_nets; i++) {
		if (m->net_pci[i])
			virtio_pci_destroy(m->net_pci[i]);
		if (m->net_mmio[i])
			virtio_mmio_destroy(m->net_mmio[i]);
		free(m->net_mmio[i]);
		if (m->nets[i])
			net_destroy(m->nets[i]);
		free(m->net_pci[i]);
		free(m->nets[i]);
	}
	uart_destroy(&m->com1);
	if (m->serial_fd > STDERR_FILENO)
		close(m->serial_fd);
	if (m->ctl.engine)
		exitq_destroy(&m->ctl);
	for (unsigned e = m->n_engines; e-- > 0;) {
		if (e && m->node_ctl[e].engine)
			exitq_destroy(&m->node_ctl[e]);
		if (m->engines[e]->ring.ring_fd > 0)
			engine_destroy(m->engines[e]);
		if (e)
			free(m->engines[e]);
	}
	free(m->place);
	engine_writer_destroy(&m->log);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	if (vm->routing.table)
		irq_routing_destroy(&vm->routing);
	kvm_close(&vm->kvm);
}

int machine_create(const struct vm_config *c, unsigned boot, void (*on_stop)(void *ctx), void *ctx,
		   struct machine **out)
{
	struct machine *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return -ENOMEM;
	m->boot = boot;
	m->vm.kvm.sys_fd = m->vm.kvm.vm_fd = -1;
	m->serial_fd = -1;
	vm_pause_init(&m->vm);
	m->vm.on_stop = on_stop;
	m->vm.on_stop_ctx = ctx;
	int ret = setup_vm(m, c);
	if (ret < 0) {
		teardown(m);
		free(m);
		return ret;
	}
	m->boot_desc_vcpus = c->cpus.boot_vcpus;
	m->boot_desc_mib = m->vm.mem.total >> 20;
	snprintf(m->boot_desc_kernel, sizeof(m->boot_desc_kernel), "%s", c->payload.kernel);
	*out = m;
	return 0;
}

int machine_boot(struct machine *m)
{
	for (unsigned e = 0; e < m->n_engines; e++) {
		int ret = engine_start(m->engines[e]);
		if (ret < 0)
			return ret;
	}
	m->booted = true;
	log_info("booting %s: %u vCPU%s, %llu MiB", m->boot_desc_kernel, m->boot_desc_vcpus,
		 m->boot_desc_vcpus > 1 ? "s" : "", (unsigned long long)m->boot_desc_mib);
	return vcpus_start(&m->vm);
}

void machine_pause(struct machine *m) { vm_pause(&m->vm); }
void machine_resume(struct machine *m) { vm_resume(&m->vm); }
bool machine_stopping(struct machine *m) { return vm_stopping(&m->vm); }

void machine_request_stop(struct machine *m, int code, const char *why)
{
	vm_request_stop(&m->vm, code, why);
}

/* The other engines own only devices, which the vCPUs (joined by now) no longer reach. */
static void node_engine_stop(struct exitq_msg *msg)
{
	engine_stop(msg->ctx);
}

int machine_finish(struct machine *m)
{
	if (m->finished)
		return m->exit_code;
	m->finished = true;
	if (!m->booted) {
		m->exit_code = VM_EXIT_OK;
		return m->exit_code;
	}
	vcpus_join(&m->vm);
	struct exitq_msg finish = { .fn = ctl_finish, .ctx = m };
	exitq_post(&m->ctl, &finish);
	for (unsigned e = 1; e < m->n_engines; e++) {
		struct exitq_msg stop = { .fn = node_engine_stop, .ctx = m->engines[e] };
		exitq_post(&m->node_ctl[e], &stop);
	}
	for (unsigned e = 0; e < m->n_engines; e++)
		engine_join(m->engines[e]);
	m->exit_code = atomic_load(&m->vm.exit_code);
	log_stats(m);
	if (atomic_load(&m->vm.reboot))
		log_info("VM stopped for a reboot");
	else
		log_info("VM stopped, exit status %d", m->exit_code);
	return m->exit_code;
}

void machine_destroy(struct machine *m)
{
	if (!m)
		return;
	if (m->booted && !m->finished) {
		vm_request_stop(&m->vm, VM_EXIT_OK, NULL);
		machine_finish(m);
	}
	teardown(m);
	free(m);
}

unsigned machine_disks(const struct machine *m) { return m->n_disks; }
unsigned machine_nets(const struct machine *m) { return m->n_nets; }
const struct net_dev *machine_net(const struct machine *m, unsigned i) { return i < m->n_nets ? m->nets[i] : NULL; }
const struct blk_dev *machine_disk(const struct machine *m, unsigned i) { return i < m->n_disks ? m->disks[i] : NULL; }
