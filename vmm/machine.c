/* machine: see machine.h.
 *
 * Threads: the main thread sets everything up, then waits for the vCPU threads; the
 * engine thread (one per host NUMA node used; today node 0 for all of guest RAM) runs
 * every device. Stopping: whoever ends the VM calls vm_request_stop(), which kicks the
 * vCPUs out of KVM_RUN; once they are joined, the main thread asks the engine (through
 * its own exit queue) to flush the console and log, and then to stop. */
#include "machine.h"

#include "engine/engine.h"
#include "engine/exitq.h"
#include "engine/log.h"
#include "engine/sigwatch.h"
#include "engine/stream.h"
#include "engine/placement.h"
#include "engine/topology.h"
#include "kvm/boot.h"
#include "kvm/cpuid.h"
#include "kvm/debug_port.h"
#include "kvm/i8042.h"
#include "kvm/layout.h"
#include "kvm/mptable.h"
#include "kvm/rtc.h"
#include "kvm/uart.h"
#include "kvm/vm.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/pci.h"
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
	struct engine engine;
	struct engine *engines[1];
	struct engine_writer log;
	struct exitq ctl;          /* main thread -> engine */
	struct sigwatch signals;
	struct engine_timer flush_timer;
	struct placement place;
	struct uart com1;
	struct i8042 kbd;
	struct debug_port dbg;
	struct rtc rtc;
	struct pci_bus pci;
	struct blk_dev *disks[CONFIG_MAX_DISKS];
	struct virtio_pci *disk_pci[CONFIG_MAX_DISKS];
	unsigned n_disks;
	struct net_dev *nets[CONFIG_MAX_NETS];
	struct virtio_pci *net_pci[CONFIG_MAX_NETS];
	unsigned n_nets;
	int serial_fd;
	bool tty_raw;
	struct termios tty_saved;
};

static void on_engine_start(struct engine *e, void *arg)
{
	struct machine *m = arg;
	(void)e;
	log_set_thread_sink(engine_writer_log_sink, &m->log);
}

static void on_signal(struct sigwatch *s, int signo)
{
	struct machine *m = s->ctx;
	char why[48];
	snprintf(why, sizeof(why), "received %s", strsignal(signo));
	vm_request_stop(&m->vm, VM_EXIT_OK, why);
}

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
	sigwatch_stop(&m->signals);
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
		m->serial_fd = open(c->serial.file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
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

static int setup_engine(struct machine *m, const struct vm_config *c)
{
	struct host_topology topo;
	struct engine_params p = { .node = 0, .poll_ns = c->tuning.engine_poll_ns, .io_poll_ns = c->tuning.io_poll_ns,
				   .name = "rv-engine0" };
	int ret;

	CPU_ZERO(&p.cpus);
	CPU_ZERO(&p.iowq_cpus);
	/* Guest RAM is not bound to a node yet, so one engine serves the VM, on node 0. */
	if (topology_load(&topo, NULL) == 0 && topo.n_nodes > 0) {
		p.node = topo.node_id[0];
		placement_plan(&topo.cpus[0], c->cpus.boot_vcpus, &m->place);
		p.cpus = m->place.engine;
		p.iowq_cpus = m->place.iowq;
	}
	if ((ret = engine_init(&m->engine, &p)) < 0)
		return ret;
	m->engine.on_start = on_engine_start;
	m->engine.on_start_arg = m;
	if ((ret = engine_writer_init(&m->log, &m->engine, STDERR_FILENO, 1 << 16, "the log")) < 0)
		return ret;
	m->engines[0] = &m->engine;
	m->vm.engines = m->engines;
	m->vm.n_engines = 1;
	return 0;
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
	return engine_register_buffers(&m->engine, iov, n);
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
		m->disk_pci[i] = calloc(1, sizeof(struct virtio_pci));
		if (!m->disks[i] || !m->disk_pci[i])
			return -ENOMEM;
		m->n_disks = i + 1;
		if ((ret = blk_create(m->disks[i], &o, &m->engine, &m->vm.mem)) < 0)
			return ret;
		if ((ret = virtio_pci_create(m->disk_pci[i], &m->pci, &m->disks[i]->vdev)) < 0)
			return ret;
		log_info("%s: %s, %llu MiB, %u queue%s of %u%s%s", dc->id, dc->path,
			 (unsigned long long)(m->disks[i]->capacity >> 20), o.num_queues, o.num_queues > 1 ? "s" : "",
			 o.queue_size, o.readonly ? ", read-only" : "", o.direct ? ", O_DIRECT" : "");
	}
	return 0;
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
		if ((ret = virtio_pci_create(m->net_pci[i], &m->pci, &m->nets[i]->vdev)) < 0)
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
	struct vm *vm = &m->vm;
	struct boot_state bs;
	struct boot_config bc = { c->payload.kernel, c->payload.initramfs, c->payload.cmdline };
	unsigned max_cpus;
	int ret, in_fd;

	if ((ret = kvm_open(&vm->kvm)) < 0)
		return ret;
	max_cpus = (unsigned)vm->kvm.max_vcpus < MPTABLE_MAX_CPUS ? (unsigned)vm->kvm.max_vcpus : MPTABLE_MAX_CPUS;
	if (c->cpus.boot_vcpus > max_cpus) {
		log_error("--cpus boot=%u: this host's KVM allows at most %u vCPUs", c->cpus.boot_vcpus, max_cpus);
		return -EINVAL;
	}
	if ((ret = kvm_create_vm(&vm->kvm)) < 0)
		return ret;
	/* The guest sees the host's physical address width (CPUID 0x80000008 passes through). */
	if ((ret = guest_mem_create(&vm->mem, c->memory.size, vm->kvm.phys_bits)) < 0)
		return ret;
	if ((ret = kvm_add_memory(&vm->kvm, &vm->mem)) < 0)
		return ret;
	if ((ret = irq_routing_init(&vm->routing, vm->kvm.vm_fd)) < 0)
		return ret;
	bus_init(&vm->pio, "pio");
	bus_init(&vm->mmio, "mmio");
	vm->vcpu_spin_ns = c->tuning.vcpu_spin_ns;
	if ((ret = setup_engine(m, c)) < 0)
		return ret;
	if ((ret = exitq_init(&m->ctl, &m->engine, 0)) < 0)
		return ret;
	if ((ret = vcpus_create(vm, c->cpus.boot_vcpus)) < 0)
		return ret;
	for (unsigned i = 0; m->place.pinned && i < vm->n_vcpus; i++)
		vm->vcpus[i].cpus = m->place.vcpu[i];
	if ((ret = mptable_write(&vm->mem, vm->n_vcpus)) < 0) {
		log_error("cannot write the MP table");
		return ret;
	}
	if ((ret = boot_load(&vm->mem, &bc, &bs)) < 0)
		return ret;
	if ((ret = boot_set_cpu_state(vm->vcpus[0].fd, &vm->mem, &bs)) < 0)
		return ret;
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
	m->com1.out.ctx = m;
	m->log.ctx = m;
	return 0;
}

/* Counters for benchmarks and for users wondering where the work went. */
static void log_stats(struct machine *m)
{
	const struct engine_stats *s = &m->engine.stats;
	log_info("engine %s: loops=%llu io_uring_enter=%llu sleeps=%llu cqes=%llu exits=%llu doorbells=%llu", m->engine.name,
		 (unsigned long long)s->loops, (unsigned long long)s->enters, (unsigned long long)s->sleeps,
		 (unsigned long long)s->cqes, (unsigned long long)s->exits, (unsigned long long)s->doorbells);
	for (unsigned i = 0; i < m->n_disks; i++) {
		struct blk_dev *b = m->disks[i];
		struct blk_queue_stats t = { 0 };
		uint64_t merged = 0;
		for (unsigned q = 0; q < b->vdev.num_queues; q++) {
			const struct blk_queue_stats *x = &b->queues[q].stats;
			t.reads += x->reads, t.writes += x->writes, t.flushes += x->flushes, t.discards += x->discards;
			t.write_zeroes += x->write_zeroes, t.errors += x->errors;
			merged += b->queues[q].merged;
			t.read_bytes += x->read_bytes, t.write_bytes += x->write_bytes;
		}
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
		if (m->disks[i])
			blk_destroy(m->disks[i]);
		free(m->disk_pci[i]);
		free(m->disks[i]);
	}
	for (unsigned i = 0; i < m->n_nets; i++) {
		if (m->net_pci[i])
			virtio_pci_destroy(m->net_pci[i]);
		if (m->nets[i])
			net_destroy(m->nets[i]);
		free(m->net_pci[i]);
		free(m->nets[i]);
	}
	uart_destroy(&m->com1);
	if (m->serial_fd > STDERR_FILENO)
		close(m->serial_fd);
	if (m->signals.fd > 0)
		close(m->signals.fd);
	if (m->ctl.engine)
		exitq_destroy(&m->ctl);
	if (m->engine.ring.ring_fd > 0)
		engine_destroy(&m->engine);
	engine_writer_destroy(&m->log);
	bus_free(&vm->pio);
	bus_free(&vm->mmio);
	guest_mem_destroy(&vm->mem);
	if (vm->routing.table)
		irq_routing_destroy(&vm->routing);
	kvm_close(&vm->kvm);
}

int machine_run(const struct vm_config *c)
{
	struct machine *m = calloc(1, sizeof(*m));
	sigset_t stop_signals;
	int code;

	if (!m)
		return 1;
	m->vm.kvm.sys_fd = m->vm.kvm.vm_fd = -1;
	m->vm.mem.fd = -1;
	m->serial_fd = -1;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	sigwatch_block(&stop_signals);
	if (setup_vm(m, c) < 0) {
		teardown(m);
		free(m);
		return 1;
	}
	if (sigwatch_start(&m->signals, &m->engine, &stop_signals, on_signal, m) < 0 ||
	    engine_start(&m->engine) < 0) {
		teardown(m);
		free(m);
		return 1;
	}
	log_info("booting %s: %u vCPU%s, %llu MiB", c->payload.kernel, c->cpus.boot_vcpus,
		 c->cpus.boot_vcpus > 1 ? "s" : "", (unsigned long long)(c->memory.size >> 20));
	vcpus_start(&m->vm);
	vcpus_join(&m->vm);

	struct exitq_msg finish = { .fn = ctl_finish, .ctx = m };
	exitq_post(&m->ctl, &finish);
	engine_join(&m->engine);
	code = atomic_load(&m->vm.exit_code);
	log_stats(m);
	log_info("VM stopped, exit status %d", code);
	teardown(m);
	free(m);
	return code;
}
