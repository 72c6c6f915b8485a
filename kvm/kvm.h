/* kvm: the /dev/kvm handle and the VM file descriptor: open with clear errors, check
 * the capabilities ringvisor relies on, create the VM with the in-kernel irqchip and
 * PIT, and register guest RAM. */
#ifndef RV_KVM_H
#define RV_KVM_H

#include "guest_mem.h"

#include <linux/kvm.h>
#include <stdbool.h>

struct kvm {
	int sys_fd, vm_fd;
	int run_size;            /* mmap size of struct kvm_run */
	int max_vcpus;
	unsigned phys_bits;      /* host physical address width (bounds guest RAM) */
	struct kvm_msr_list *msr_list;
	struct kvm_cpuid2 *supported_cpuid;
};

/* The capabilities checked at start, with the reason each is needed. */
struct kvm_required_cap {
	int cap;
	const char *name;
	const char *why;
};
extern const struct kvm_required_cap kvm_required_caps[];
extern const unsigned kvm_n_required_caps;
/* Returns the first required capability has() says is missing, or NULL. */
const struct kvm_required_cap *kvm_missing_cap(int (*has)(void *ctx, int cap), void *ctx);

/* Open /dev/kvm (or $RINGVISOR_KVM_DEVICE) and check it. 0 or -errno, reason logged. */
int kvm_open(struct kvm *k);
int kvm_create_vm(struct kvm *k);
int kvm_add_memory(struct kvm *k, const struct guest_mem *m);
bool kvm_msr_listed(const struct kvm *k, uint32_t index);
void kvm_close(struct kvm *k);

#endif
