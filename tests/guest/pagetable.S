/* pagetable.S — static identity map, assembled as data so that no CPL0 loop
 * (emulated instruction by instruction on kvm_pvm) has to build it.
 *
 *   0 .. 4 GiB      2 MiB pages (pd0..pd3). kvm_pvm ends the VM if a 1 GiB
 *                   page covers the running code, so low memory must not
 *                   use 1 GiB pages. 0xE0000000..4 GiB (PCI hole: IOAPIC,
 *                   LAPIC, future BARs) is mapped PCD|PWT.
 *   4 .. 512 GiB    not mapped here: paging.c maps RAM above 4 GiB at CPL3
 *                   with 2 MiB pages. 1 GiB pages are not an option: the
 *                   guest CPUID on kvm_pvm lacks pdpe1gb and a PS=1 PDPT entry
 *                   faults with RSVD set (#PF err=0xf).
 *
 * Every entry has U/S=1 and R/W=1: the work runs at CPL3 and touches
 * everything (RAM, LAPIC MMIO, the AP trampoline page, descriptor tables). */

#define P 0x1
#define RW 0x2
#define US 0x4
#define PWT 0x8
#define PCD 0x10
#define PS 0x80
#define PTE (P | RW | US)

	.section .data
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + PTE
	.fill 511, 8, 0

	.globl pdpt
pdpt:
	.quad pd0 + PTE
	.quad pd1 + PTE
	.quad pd2 + PTE
	.quad pd3 + PTE
	.fill 508, 8, 0

/* pd0..pd3: 2048 consecutive 2 MiB pages, right after the PDPT. */
pd0:
	.set mib2, 0
	.rept 2048
	.if mib2 >= (0xe0000000 >> 21)
	.quad (mib2 << 21) | PTE | PS | PCD | PWT
	.else
	.quad (mib2 << 21) | PTE | PS
	.endif
	.set mib2, mib2 + 1
	.endr
	.set pd1, pd0 + 4096
	.set pd2, pd0 + 2 * 4096
	.set pd3, pd0 + 3 * 4096
