/* asm.h — constants shared by the assembly files and C (selectors,
 * control-register bits, per-CPU stack sizes, trampoline address). Only
 * #defines, so guest.h includes it too. */
#ifndef ASM_H
#define ASM_H

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE (0x18 | 3)
#define SEL_UDATA (0x20 | 3)
#define SEL_KCODE32 0x28
#define SEL_TSS0 0x30 /* CPU i's TSS descriptor: SEL_TSS0 + 16 * i */

#define CR0_PE 0x1
#define CR0_ET 0x10
#define CR0_NE 0x20
#define CR0_WP 0x10000
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

/* IOPL=3 (bits 12-13), reserved bit 1, IF=0: CPL3 code may cli/sti but we
 * never take interrupts. */
#define RFLAGS_USER 0x3002

#define MAX_CPUS 64
#define KSTACK_SIZE 8192  /* CPL0 stack (TSS.RSP0), per CPU        */
#define ISTACK_SIZE 4096  /* IST1 stack for #DF/NMI/#MC, per CPU   */
#define USTACK_SIZE 16384 /* CPL3 stack, per CPU                   */

/* GDT: 6 fixed descriptors, then a 16-byte TSS descriptor per CPU. */
#define GDT_SIZE (6 * 8 + MAX_CPUS * 16)
#define TRAMPOLINE_PA 0x8000

#ifdef __ASSEMBLER__
/* From 32-bit protected mode into 64-bit code at `target`: PAE, the static page tables,
 * EFER.LME, paging; shared by the BSP's PVH entry and the APs' trampoline. */
.macro ENTER_LONG_MODE target
	movl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	$(CR0_PG | CR0_PE | CR0_WP | CR0_NE | CR0_ET), %eax
	movl	%eax, %cr0
	ljmp	$SEL_KCODE, $\target
.endm

/* First thing in 64-bit code: flat kernel data segments, null FS/GS. */
.macro LOAD_KERNEL_SEGMENTS
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	xorl	%eax, %eax
	movl	%eax, %fs
	movl	%eax, %gs
.endm
#endif
#endif
