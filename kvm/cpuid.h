/* cpuid: the guest's CPUID, taken from KVM_GET_SUPPORTED_CPUID and made consistent
 * with the VM's topology: N single-threaded cores in one package, APIC id = vCPU index,
 * leaves 1, 4, 0xB, 0x1F and AMD's 0x80000008/0x8000001E agreeing. */
#ifndef RV_CPUID_H
#define RV_CPUID_H

#include <linux/kvm.h>

/* A new table for vCPU `index` of `count`; caller frees. NULL on allocation failure. */
struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned index, unsigned count);
/* Add the hypervisor timing leaf 0x40000010 (EAX: TSC kHz, EBX: APIC timer kHz), which
 * guests read instead of calibrating against the PIT (slow and unreliable when CPL0 code
 * is emulated). The table needs room for one more entry. */
void cpuid_set_tsc_khz(struct kvm_cpuid2 *c, unsigned tsc_khz);
/* Find leaf/subleaf in a table (NULL if absent). */
struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned function, unsigned index);

#endif
