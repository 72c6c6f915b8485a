/* cpuid: per-vCPU CPUID tables. See cpuid.h. */
#include "cpuid.h"

#include <stdlib.h>
#include <string.h>

#define CPUID_HTT (1u << 28)
#define CPUID_HYPERVISOR (1u << 31)
#define CPUID_1_ECX_X2APIC (1u << 21)

struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, unsigned function, unsigned index)
{
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function == function &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || e->index == index))
			return e;
	}
	return NULL;
}

static unsigned order_of(unsigned n)
{
	unsigned s = 0;
	while ((1u << s) < n)
		s++;
	return s;
}

/* Leaves 0xB and 0x1F: level 0 SMT (one thread per core), level 1 core (count cores),
 * level 2 invalid. Subleaves are rewritten wholesale so stale host levels never leak. */
static void set_topology_leaf(struct kvm_cpuid2 *c, unsigned leaf, unsigned index, unsigned count, unsigned cap)
{
	unsigned written = 0;
	for (unsigned i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];
		if (e->function != leaf)
			continue;
		unsigned sub = e->index;
		e->flags |= KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = index;
		if (sub == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = (1u << 8) | 0;
		} else if (sub == 1) {
			e->eax = order_of(count);
			e->ebx = count;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = sub;
		}
		written++;
	}
	/* KVM lists as many subleaves as the host has; make sure 0..2 exist. */
	for (unsigned sub = 0; sub < 3 && c->nent < cap; sub++) {
		int found = 0;
		for (unsigned i = 0; i < c->nent; i++)
			found |= c->entries[i].function == leaf && c->entries[i].index == sub;
		if (found)
			continue;
		struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = leaf;
		e->index = sub;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		e->edx = index;
		if (sub == 0) {
			e->ebx = 1;
			e->ecx = 1u << 8;
		} else if (sub == 1) {
			e->eax = order_of(count);
			e->ebx = count;
			e->ecx = (2u << 8) | 1;
		} else {
			e->ecx = sub;
		}
	}
	(void)written;
}

void cpuid_set_tsc_khz(struct kvm_cpuid2 *c, unsigned tsc_khz)
{
	struct kvm_cpuid_entry2 *base = cpuid_find(c, 0x40000000, 0), *e = cpuid_find(c, 0x40000010, 0);
	if (!base || !tsc_khz)
		return; /* no hypervisor leaves to extend */
	if (!e) {
		e = &c->entries[c->nent++];
		memset(e, 0, sizeof(*e));
		e->function = 0x40000010;
	}
	e->eax = tsc_khz;
	e->ebx = 1000000; /* KVM's LAPIC timer runs at 1 GHz */
	if (base->eax < 0x40000010)
		base->eax = 0x40000010;
}

struct kvm_cpuid2 *cpuid_for_vcpu(const struct kvm_cpuid2 *supported, unsigned index, unsigned count)
{
	unsigned cap = supported->nent + 8;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + cap * sizeof(struct kvm_cpuid_entry2));
	struct kvm_cpuid_entry2 *e;

	if (!c)
		return NULL;
	memcpy(c, supported, sizeof(*c) + supported->nent * sizeof(struct kvm_cpuid_entry2));
	unsigned max_basic = (e = cpuid_find(c, 0, 0)) ? e->eax : 0;

	if ((e = cpuid_find(c, 1, 0))) {
		unsigned logical = 1u << order_of(count);
		e->ebx = (e->ebx & 0x0000ffffu) | (index << 24) | ((logical > 255 ? 255 : logical) << 16);
		if (count > 1)
			e->edx |= CPUID_HTT;
		else
			e->edx &= ~CPUID_HTT;
		e->ecx |= CPUID_HYPERVISOR;
	}
	/* Leaf 4 (Intel caches): cores per package, threads sharing each cache. */
	for (unsigned i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function != 4)
			continue;
		unsigned level = (e->eax >> 5) & 7;
		unsigned sharing = level >= 3 ? count : 1;
		e->eax &= 0x3ff;
		e->eax |= ((sharing - 1) << 14) | ((count - 1) << 26);
	}
	if (max_basic >= 0xb)
		set_topology_leaf(c, 0xb, index, count, cap);
	if (max_basic >= 0x1f)
		set_topology_leaf(c, 0x1f, index, count, cap);

	/* AMD: 0x80000008 ECX holds the core count and APIC id width. */
	if ((e = cpuid_find(c, 0x80000008, 0))) {
		e->ecx = (e->ecx & ~0xf0ffu) | (order_of(count) << 12) | ((count - 1) & 0xff);
	}
	if ((e = cpuid_find(c, 0x80000001, 0))) {
		if (count > 1)
			e->ecx |= 1u << 1; /* CmpLegacy: HTT counts cores, not threads */
		else
			e->ecx &= ~(1u << 1);
	}
	if ((e = cpuid_find(c, 0x8000001e, 0))) {
		e->eax = index;               /* extended APIC id */
		e->ebx = index & 0xff;        /* core id, one thread per core */
		e->ecx = 0;                   /* node 0, one node per package */
	}
	return c;
}
