/* isr.S — exception entry stubs and the common CPL0 trap path.
 *
 * Each stub pushes a dummy error code when the CPU does not push one, then
 * its vector, and jumps to trap_common, which saves only the caller-saved
 * registers (C preserves the rest) — every instruction here is emulated on
 * kvm_pvm, and the service-call round trip runs through this path. */

#include "asm.h"

.macro STUB n, has_err
	.balign 16
isr_\n:
	.if \has_err == 0
	pushq	$0
	.endif
	pushq	$\n
	jmp	trap_common
.endm

	.text
	STUB 0, 0
	STUB 1, 0
	STUB 2, 0
	STUB 3, 0
	STUB 4, 0
	STUB 5, 0
	STUB 6, 0
	STUB 7, 0
	STUB 8, 1
	STUB 9, 0
	STUB 10, 1
	STUB 11, 1
	STUB 12, 1
	STUB 13, 1
	STUB 14, 1
	STUB 15, 0
	STUB 16, 0
	STUB 17, 1
	STUB 18, 0
	STUB 19, 0
	STUB 20, 0
	STUB 21, 1
	STUB 22, 0
	STUB 23, 0
	STUB 24, 0
	STUB 25, 0
	STUB 26, 0
	STUB 27, 0
	STUB 28, 0
	STUB 29, 1
	STUB 30, 1
	STUB 31, 0
	STUB 64, 0
	STUB 128, 0

trap_common:
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	movq	%rsp, %rdi
	call	trap
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	iretq

/* Stub addresses for cpu.c's IDT fill: vectors 0..31, then 0x80, then 0x40 (MSI). */
	.section .rodata
	.balign 8
	.globl isr_table
isr_table:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128,64
	.quad isr_\n
	.endr
