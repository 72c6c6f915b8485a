/* vcpu: vCPU setup and the KVM_RUN loop. Exits that need a device are looked up on
 * the (read-only) buses and forwarded to the engine that owns the device: writes are
 * posted and the vCPU re-enters the guest at once; reads wait for the reply. */
#include "vm.h"

#include "cpuid.h"
#include "engine/exitq.h"
#include "engine/log.h"
#include "ioctl_retry.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define VCPU_KICK_SIGNAL SIGUSR1

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_AMD_HWCR 0xc0010015
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

static void request_stop(struct vm *vm, int code, bool reboot, const char *why)
{
	int expected = 0;

	if (!atomic_compare_exchange_strong(&vm->stopping, &expected, 1))
		return;
	atomic_store(&vm->exit_code, code);
	atomic_store(&vm->reboot, reboot);
	if (why)
		log_info("stopping the VM: %s", why);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		/* immediate_exit covers a vCPU about to enter KVM_RUN; the signal one inside it. */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	/* Paused vCPUs wait on the condition, not in KVM_RUN: wake them to leave. */
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (vm->on_stop)
		vm->on_stop(vm->on_stop_ctx);
}

void vm_pause_init(struct vm *vm)
{
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_cond_init(&vm->pause_cond, NULL);
}

void vm_pause(struct vm *vm)
{
	unsigned started = 0;

	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, 1);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (!v->started)
			continue;
		started++;
		/* The same kick as a stop: a vCPU about to enter sees immediate_exit, one inside
		 * KVM_RUN gets the signal; either way it looks at pause_req next. */
		v->run->immediate_exit = 1;
		pthread_kill(v->thread, VCPU_KICK_SIGNAL);
	}
	while (vm->parked < started && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	atomic_store(&vm->pause_req, 0);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* vCPU thread: wait while the VM is paused. */
static void vcpu_park(struct vcpu *v)
{
	struct vm *vm = v->vm;

	pthread_mutex_lock(&vm->pause_lock);
	vm->parked++;
	pthread_cond_broadcast(&vm->pause_cond);
	while (atomic_load(&vm->pause_req) && !vm_stopping(vm))
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	vm->parked--;
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_request_stop(struct vm *vm, int code, const char *why)
{
	request_stop(vm, code, false, why);
}

void vm_request_reboot(struct vm *vm, const char *why)
{
	request_stop(vm, VM_EXIT_OK, true, why);
}

static void kick_handler(int sig) { (void)sig; }

static int set_msr(struct vcpu *v, uint32_t index, uint64_t value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = index, .data = value } };
	return kvm_ioctl(v->fd, KVM_SET_MSRS, &m) == 1 ? 0 : -EINVAL;
}

static int get_msr(struct vcpu *v, uint32_t index, uint64_t *value)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = index } };
	if (kvm_ioctl(v->fd, KVM_GET_MSRS, &m) != 1)
		return -EINVAL;
	*value = m.e.data;
	return 0;
}

/* Boot values for the few MSRs firmware would set. We only write MSRs KVM lists in
 * KVM_GET_MSR_INDEX_LIST (others can kill the vCPU on some hosts, e.g. 0x10a), with one
 * exception: the MTRRs, which KVM emulates whenever the guest's CPUID has MTRR but never
 * lists. Without a default type Linux disables MTRRs and with them PAT. */
static void set_boot_msrs(struct vcpu *v, struct kvm_cpuid2 *cpuid)
{
	struct kvm_cpuid_entry2 *leaf0 = cpuid_find(cpuid, 0, 0), *leaf1 = cpuid_find(cpuid, 1, 0);
	bool amd = leaf0 && leaf0->ebx == 0x68747541; /* "Auth"enticAMD */
	uint64_t hwcr;

	if (kvm_msr_listed(&v->vm->kvm, MSR_IA32_MISC_ENABLE) && set_msr(v, MSR_IA32_MISC_ENABLE, 1 /* fast strings */))
		log_warn("vcpu%u: KVM refused IA32_MISC_ENABLE; continuing without it", v->index);
	if (leaf1 && (leaf1->edx & (1u << 12)) && set_msr(v, MSR_MTRR_DEF_TYPE, (1u << 11) | 6 /* enabled, WB */))
		log_warn("vcpu%u: KVM refused MTRRdefType; the guest will run with MTRRs off", v->index);
	/* AMD: TscFreqSel says the TSC runs at the P0 frequency, as on real parts. */
	if (amd && kvm_msr_listed(&v->vm->kvm, MSR_AMD_HWCR) && get_msr(v, MSR_AMD_HWCR, &hwcr) == 0 &&
	    set_msr(v, MSR_AMD_HWCR, hwcr | (1u << 24)))
		log_warn("vcpu%u: KVM refused HWCR.TscFreqSel; continuing without it", v->index);
}

static int set_lapic(struct vcpu *v)
{
	struct kvm_lapic_state l;
	if (kvm_ioctl(v->fd, KVM_GET_LAPIC, &l) < 0)
		return -errno;
	uint32_t *lint0 = (uint32_t *)&l.regs[APIC_LVT_LINT0], *lint1 = (uint32_t *)&l.regs[APIC_LVT_LINT1];
	*lint0 = (*lint0 & ~0x700u) | (APIC_MODE_EXTINT << 8);
	*lint1 = (*lint1 & ~0x700u) | (APIC_MODE_NMI << 8);
	return kvm_ioctl(v->fd, KVM_SET_LAPIC, &l) < 0 ? -errno : 0;
}

static int vcpu_setup(struct vm *vm, struct vcpu *v, unsigned index)
{
	struct kvm_cpuid2 *cpuid;
	struct kvm_fpu fpu;
	int ret;

	v->vm = vm;
	v->index = index;
	v->fd = kvm_ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, index);
	if (v->fd < 0) {
		ret = -errno;
		log_error("cannot create vcpu%u: %s", index, strerror(-ret));
		return ret;
	}
	v->run = mmap(NULL, (size_t)vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		ret = -errno;
		log_error("vcpu%u: cannot map its run page: %s", index, strerror(-ret));
		return ret;
	}
	cpuid = cpuid_for_vcpu(vm->kvm.supported_cpuid, index, vm->n_vcpus);
	if (!cpuid)
		return -ENOMEM;
	int tsc_khz = kvm_ioctl(v->fd, KVM_GET_TSC_KHZ, 0);
	if (tsc_khz > 0)
		cpuid_set_tsc_khz(cpuid, (unsigned)tsc_khz);
	ret = kvm_ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 ? -errno : 0;
	if (ret) {
		free(cpuid);
		log_error("vcpu%u: KVM refused its CPUID: %s", index, strerror(-ret));
		return ret;
	}
	set_boot_msrs(v, cpuid);
	free(cpuid);
	if ((ret = set_lapic(v)) < 0) {
		log_error("vcpu%u: cannot program its local APIC: %s", index, strerror(-ret));
		return ret;
	}
	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;
	fpu.mxcsr = 0x1f80;
	if (kvm_ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
		log_warn("vcpu%u: KVM_SET_FPU: %s", index, strerror(errno));
	v->queues = calloc(vm->n_engines, sizeof(struct exitq));
	if (!v->queues)
		return -ENOMEM;
	for (unsigned i = 0; i < vm->n_engines; i++)
		if ((ret = exitq_init(&v->queues[i], vm->engines[i], vm->vcpu_spin_ns)) < 0)
			return ret;
	return 0;
}

int vcpus_create(struct vm *vm, unsigned count)
{
	vm->vcpus = calloc(count, sizeof(struct vcpu));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->n_vcpus = count;
	for (unsigned i = 0; i < count; i++)
		vm->vcpus[i].fd = -1;
	for (unsigned i = 0; i < count; i++) {
		int ret = vcpu_setup(vm, &vm->vcpus[i], i);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static struct exitq *queue_for(struct vcpu *v, struct engine *e)
{
	for (unsigned i = 0; i < v->vm->n_engines; i++)
		if (v->vm->engines[i] == e)
			return &v->queues[i];
	return &v->queues[0];
}

/* Forward one access to the device that owns addr; unmapped reads see all ones. */
static void forward(struct vcpu *v, const struct bus *bus, uint64_t addr, uint8_t *data, unsigned size,
		    unsigned count, bool is_write)
{
	const struct bus_entry *be = bus_find(bus, addr, size);

	if (!be) {
		v->exits_unhandled++;
		if (!is_write)
			memset(data, 0xff, (size_t)size * count);
		if (v->exits_unhandled <= 16)
			log_debug("vcpu%u: %s %s at 0x%llx size %u: nothing there", v->index, bus->name,
				  is_write ? "write" : "read", (unsigned long long)addr, size);
		return;
	}
	struct exitq_msg m = {
		.fn = bus_dispatch, .ctx = (void *)be, .addr = addr, .data = data,
		.len = size, .count = count, .is_write = is_write,
		.when_ns = (be->flags & BUS_F_TIMESTAMP) ? log_uptime_ns() : 0,
	};
	if (is_write && count == 1) {
		memcpy(&m.value, data, size);
		exitq_post(queue_for(v, be->engine), &m);
		return;
	}
	exitq_call(queue_for(v, be->engine), &m);
	if (!is_write && count == 1)
		memcpy(data, &m.value, size);
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_SHUTDOWN: return "shutdown (triple fault)";
	case KVM_EXIT_INTERNAL_ERROR: return "internal error (emulation failure)";
	case KVM_EXIT_FAIL_ENTRY: return "failed VM entry";
	case KVM_EXIT_HLT: return "hlt";
	case KVM_EXIT_EXCEPTION: return "exception";
	case KVM_EXIT_DEBUG: return "debug";
	case KVM_EXIT_UNKNOWN: return "unknown";
	default: return "unexpected";
	}
}

static void fatal_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	log_error("vcpu%u: guest stopped: exit reason %u, %s", v->index, r->exit_reason, exit_name(r->exit_reason));
	if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR) {
		char buf[256];
		static const char *const sub[] = { "?", "emulation failed", "exception during exception delivery",
						   "event delivery failed", "unexpected exit" };
		unsigned s = r->internal.suberror;
		int n = snprintf(buf, sizeof(buf), "suberror %u (%s)", s, s < 5 ? sub[s] : "?");
		for (uint32_t i = 0; i < r->internal.ndata && i < 16 && n < (int)sizeof(buf) - 20; i++)
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, " data[%u]=0x%llx", i,
				      (unsigned long long)r->internal.data[i]);
		log_error("vcpu%u: %s", v->index, buf);
		if (s == KVM_INTERNAL_ERROR_EMULATION &&
		    (r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
			unsigned len = r->emulation_failure.insn_size;
			n = snprintf(buf, sizeof(buf), "instruction bytes:");
			for (unsigned i = 0; i < len && i < sizeof(r->emulation_failure.insn_bytes); i++)
				n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %02x", r->emulation_failure.insn_bytes[i]);
			log_error("vcpu%u: %s", v->index, buf);
		}
	} else if (r->exit_reason == KVM_EXIT_FAIL_ENTRY) {
		log_error("vcpu%u: hardware entry failure reason 0x%llx", v->index,
			  (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
	}
	vcpu_dump(v);
	vm_request_stop(v->vm, VM_EXIT_GUEST_FAULT, "a vCPU hit a fatal exit");
}

void vcpu_dump(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 || kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		log_error("vcpu%u: cannot read registers: %s", v->index, strerror(errno));
		return;
	}
	log_error("vcpu%u: rip=%016llx rsp=%016llx rflags=%08llx cpl=%u cs=%04x ss=%04x", v->index, r.rip, r.rsp,
		  r.rflags, s.cs.dpl, s.cs.selector, s.ss.selector);
	log_error("vcpu%u: rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx", v->index, r.rax, r.rbx, r.rcx, r.rdx);
	log_error("vcpu%u: rsi=%016llx rdi=%016llx rbp=%016llx r8 =%016llx", v->index, r.rsi, r.rdi, r.rbp, r.r8);
	log_error("vcpu%u: r9 =%016llx r10=%016llx r11=%016llx r12=%016llx", v->index, r.r9, r.r10, r.r11, r.r12);
	log_error("vcpu%u: r13=%016llx r14=%016llx r15=%016llx", v->index, r.r13, r.r14, r.r15);
	log_error("vcpu%u: cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%llx", v->index, s.cr0, s.cr2,
		  s.cr3, s.cr4, s.efer);
	log_error("vcpu%u: gdt=%llx/%x idt=%llx/%x tr=%04x", v->index, s.gdt.base, s.gdt.limit, s.idt.base,
		  s.idt.limit, s.tr.selector);
}

static void handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_request_stop(v->vm, VM_EXIT_OK, "the guest powered off");
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_request_stop(v->vm, VM_EXIT_OK, "the guest asked for a reset");
		break;
	default:
		log_error("vcpu%u: system event %u", v->index, v->run->system_event.type);
		vm_request_stop(v->vm, VM_EXIT_GUEST_FAULT, "unexpected system event");
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct kvm_run *r = v->run;
	struct {
		struct kvm_signal_mask hdr;
		uint8_t set[8];
	} mask;
	sigset_t cur, kick_set;
	const struct timespec no_wait = { 0, 0 };

	sigemptyset(&kick_set);
	sigaddset(&kick_set, VCPU_KICK_SIGNAL);
	atomic_store(&v->tid, (int)syscall(SYS_gettid));
	/* The kick signal stays blocked except while inside KVM_RUN. */
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	sigdelset(&cur, VCPU_KICK_SIGNAL);
	mask.hdr.len = 8;
	memcpy(mask.set, &cur, 8);
	if (kvm_ioctl(v->fd, KVM_SET_SIGNAL_MASK, &mask) < 0) {
		log_error("vcpu%u: KVM_SET_SIGNAL_MASK: %s", v->index, strerror(errno));
		vm_request_stop(v->vm, VM_EXIT_INTERNAL, "vCPU setup failed");
		return NULL;
	}
	while (!vm_stopping(v->vm)) {
		if (atomic_load(&v->vm->pause_req)) {
			vcpu_park(v);
			continue;
		}
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				r->immediate_exit = 0;
				/* A kick that arrived outside KVM_RUN stays pending (blocked here) and would
				 * end every later KVM_RUN at once: take it now. Only pause lives on. */
				sigtimedwait(&kick_set, NULL, &no_wait);
				continue;
			}
			log_error("vcpu%u: KVM_RUN failed: %s", v->index, strerror(errno));
			vcpu_dump(v);
			vm_request_stop(v->vm, VM_EXIT_INTERNAL, "KVM_RUN failed");
			break;
		}
		switch (r->exit_reason) {
		case KVM_EXIT_IO:
			v->exits_io++;
			forward(v, &v->vm->pio, r->io.port, (uint8_t *)r + r->io.data_offset, r->io.size,
				r->io.count, r->io.direction == KVM_EXIT_IO_OUT);
			break;
		case KVM_EXIT_MMIO:
			v->exits_mmio++;
			forward(v, &v->vm->mmio, r->mmio.phys_addr, r->mmio.data, r->mmio.len, 1, r->mmio.is_write);
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			handle_system_event(v);
			break;
		case KVM_EXIT_INTR:
			break;
		default:
			fatal_exit(v);
			break;
		}
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa;
	sigset_t block;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	for (unsigned i = 0; i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		int ret = pthread_create(&v->thread, NULL, vcpu_thread, v);
		if (ret) {
			log_error("cannot start vcpu%u's thread: %s", i, strerror(ret));
			vm_request_stop(vm, VM_EXIT_INTERNAL, "vCPU start failed");
			return -ret;
		}
		char name[16];
		snprintf(name, sizeof(name), "rv-vcpu%u", i % 1000);
		pthread_setname_np(v->thread, name);
		if (CPU_COUNT(&v->cpus) > 0 && pthread_setaffinity_np(v->thread, sizeof(v->cpus), &v->cpus))
			log_warn("vcpu%u: cannot pin its thread; running unpinned", i);
		v->started = true;
	}
	/* A stop requested while threads were starting must reach them too. */
	if (vm_stopping(vm))
		for (unsigned i = 0; i < vm->n_vcpus; i++)
			if (vm->vcpus[i].started) {
				vm->vcpus[i].run->immediate_exit = 1;
				pthread_kill(vm->vcpus[i].thread, VCPU_KICK_SIGNAL);
			}
	return 0;
}

void vcpus_join(struct vm *vm)
{
	for (unsigned i = 0; i < vm->n_vcpus; i++)
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
}

void vcpus_destroy(struct vm *vm)
{
	for (unsigned i = 0; vm->vcpus && i < vm->n_vcpus; i++) {
		struct vcpu *v = &vm->vcpus[i];
		if (v->queues) {
			for (unsigned q = 0; q < vm->n_engines; q++)
				if (v->queues[q].engine)
					exitq_destroy(&v->queues[q]);
			free(v->queues);
		}
		if (v->run)
			munmap(v->run, (size_t)vm->kvm.run_size);
		if (v->fd >= 0)
			close(v->fd);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}
