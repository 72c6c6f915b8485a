/* entry.S — PVH entry point of the guest kit.
 *
 * A PVH loader (QEMU -kernel, ringvisor) jumps to pvh_entry32 in 32-bit
 * protected mode, paging off, with EBX = physical address of hvm_start_info.
 * Everything here runs at CPL0, which kvm_pvm emulates at ~0.5 us per
 * instruction, so the path to CPL3 is kept as short as possible: the page
 * tables and GDT are static data (pagetable.S, desc.S), not built in loops. */

#include "asm.h"

/* XEN_ELFNOTE_PHYS32_ENTRY (type 18, name "Xen"). The descriptor is 8 bytes
 * (a zero-extended 32-bit address), like Linux's vmlinux: QEMU reads a full
 * pointer-sized value on ELF64. The section is 4-aligned because QEMU aligns
 * the name to the PT_NOTE segment's alignment. */
	.section .note.Xen, "a"
	.balign 4
	.long 4, 8, 18
	.asciz "Xen"
	.balign 4
	.quad pvh_entry32

	.section .text.entry, "ax"
	.code32
	.globl pvh_entry32
pvh_entry32:
	cli
	movl	%ebx, pvh_info_pa
	lgdt	gdt_ptr
	ENTER_LONG_MODE entry64

	.code64
entry64:
	LOAD_KERNEL_SEGMENTS
	movq	$(kstacks + KSTACK_SIZE), %rsp	/* CPU 0's CPL0 stack */
	xorl	%edi, %edi
	call	cpu_init_cpl0
	xorl	%edi, %edi
	movq	$(ustacks + USTACK_SIZE), %rsi
	movq	$guest_main, %rdx
	/* fall through */

/* enter_user(rdi = argument, rsi = CPL3 stack, rdx = CPL3 entry): iretq to
 * CPL3 with IOPL=3 and IF=0. rdi survives the iretq and becomes the first
 * argument of the entry function. */
	.globl enter_user
enter_user:
	pushq	$SEL_UDATA
	pushq	%rsi
	pushq	$RFLAGS_USER
	pushq	$SEL_UCODE
	pushq	%rdx
	iretq

	.section .data
	.globl pvh_info_pa
	.balign 8
pvh_info_pa:
	.quad 0
