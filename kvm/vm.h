/* vm: one virtual machine: KVM handles, RAM, the port-I/O and MMIO buses, the vCPUs
 * and the engines that own its devices; and the one way to stop it. */
#ifndef RV_VM_H
#define RV_VM_H

#include "bus.h"
#include "guest_mem.h"
#include "irq_routing.h"
#include "kvm.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

struct engine;
struct exitq;
struct vm;

struct vcpu {
	struct vm *vm;
	unsigned index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	_Atomic int tid;
	cpu_set_t cpus;          /* where the vCPU thread runs; empty: anywhere */
	struct exitq *queues;    /* one per engine of the VM, same order as vm->engines */
	uint64_t exits_io, exits_mmio, exits_unhandled;
};

/* Exit status of the VMM for each way a VM can end. */
enum vm_exit {
	VM_EXIT_OK = 0,          /* poweroff, reset request, signal, guest exit port value 0 */
	VM_EXIT_GUEST_FAULT = 3, /* triple fault, emulation failure, failed entry */
	VM_EXIT_INTERNAL = 4,    /* the VMM itself failed while running */
};

struct vm {
	struct kvm kvm;
	struct guest_mem mem;
	struct bus pio, mmio;
	struct irq_routing routing;
	struct vcpu *vcpus;
	unsigned n_vcpus;
	struct engine **engines;
	unsigned n_engines;
	_Atomic int stopping;
	_Atomic int exit_code;
	_Atomic int reboot;      /* the stop is a reboot: rebuild the machine and boot again */
	uint64_t vcpu_spin_ns;   /* how long a vCPU spins for a read reply before sleeping */
	/* Pause: vCPUs leave KVM_RUN and wait on pause_cond until resumed or stopped. */
	pthread_mutex_t pause_lock;
	pthread_cond_t pause_cond;
	_Atomic int pause_req;
	unsigned parked;         /* vCPUs waiting (under pause_lock) */
	/* Called once by vm_request_stop() on the stopping thread, after the vCPUs are kicked
	 * (the VMM's control loop learns of the stop this way). */
	void (*on_stop)(void *ctx);
	void *on_stop_ctx;
};

/* Any thread: end the VM with this exit status (the first request wins), kick vCPUs. */
void vm_request_stop(struct vm *vm, int code, const char *why);
/* Any thread: stop the VM so that it boots again, in the same process, from the same
 * configuration (disks keep their data). Loses to a stop that was requested first. */
void vm_request_reboot(struct vm *vm, const char *why);
static inline bool vm_stopping(struct vm *vm) { return atomic_load(&vm->stopping) != 0; }

/* vCPUs: create (KVM fd, run page, CPUID, MSRs, LAPIC), start their threads, join. */
int vcpus_create(struct vm *vm, unsigned count);
int vcpus_start(struct vm *vm);
void vcpus_join(struct vm *vm);
void vcpus_destroy(struct vm *vm);
/* Log general and system registers of a vCPU (after a fatal exit). */
void vcpu_dump(struct vcpu *v);

/* Control thread: stop every started vCPU outside KVM_RUN and return once all wait
 * (or the VM is stopping); vm_resume() lets them run again. The engines keep serving. */
void vm_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Before vcpus_start(): the pause lock and condition. */
void vm_pause_init(struct vm *vm);

#endif
