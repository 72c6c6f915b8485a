/* desc.S — descriptor tables and per-CPU stacks, as static data.
 *
 * The GDT is complete except for the per-CPU TSS descriptors (their base
 * addresses cannot be split into descriptor fields by the assembler), which
 * cpu.c fills. The IDT and TSSes live in .data (not .bss) because CPL0 code
 * writes them before the BSP clears .bss at CPL3. Stacks are NOBITS and
 * never cleared. */

#include "asm.h"

	.section .data
	.balign 16
	.globl gdt
gdt:
	.quad 0				/* 0x00 null                         */
	.quad 0x00af9a000000ffff	/* 0x08 CPL0 code, 64-bit            */
	.quad 0x00cf92000000ffff	/* 0x10 CPL0 data                    */
	.quad 0x00affa000000ffff	/* 0x18 CPL3 code, 64-bit            */
	.quad 0x00cff2000000ffff	/* 0x20 CPL3 data                    */
	.quad 0x00cf9a000000ffff	/* 0x28 CPL0 code, 32-bit (AP boot)  */
	.globl gdt_tss
gdt_tss:
	.fill MAX_CPUS * 2, 8, 0	/* 0x30 + 16*i: TSS of CPU i         */
gdt_end:
	.if gdt_end - gdt - GDT_SIZE
	.error "GDT_SIZE in asm.h is wrong"
	.endif

	.balign 16
	.globl gdt_ptr
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

	.balign 16
	.globl idt
idt:
	.fill 256 * 2, 8, 0

	.balign 16
	.globl tss
tss:	/* 104 bytes each; iomap base = 104 means "no I/O bitmap" (IOPL=3 anyway) */
	.fill MAX_CPUS * 104, 1, 0

	.section .stacks, "aw", @nobits
	.balign 4096
	.globl kstacks, istacks, ustacks
kstacks:
	.skip MAX_CPUS * KSTACK_SIZE
istacks:
	.skip MAX_CPUS * ISTACK_SIZE
ustacks:
	.skip MAX_CPUS * USTACK_SIZE
