/* trampoline.S — AP startup. The BSP copies tramp_start..tramp_end to
 * TRAMPOLINE_PA (0x8000) and sends SIPI vector 0x08; the AP starts there in
 * real mode (CS=0x0800, IP=0), switches to protected mode, enables long mode
 * with the BSP's static page tables, and far-jumps into the image at
 * ap_entry64, which does the same CPL0 setup as the BSP and iretq's to CPL3.
 * The trampoline is position-dependent on TRAMPOLINE_PA: addresses inside it
 * are written as TRAMPOLINE_PA + (label - tramp_start). */

#include "asm.h"

#define TA(x) (TRAMPOLINE_PA + (x) - tramp_start)

	.section .rodata
	.balign 16
	.globl tramp_start, tramp_end
	.code16
tramp_start:
	cli
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	TA(tramp_gdtr)
	movl	$(CR0_PE | CR0_ET | CR0_NE), %eax
	movl	%eax, %cr0
	ljmpl	$SEL_KCODE32, $TA(tramp32)

	.code32
tramp32:
	movl	$SEL_KDATA, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	ENTER_LONG_MODE ap_entry64

	.balign 8
tramp_gdtr:
	.word	GDT_SIZE - 1
	.long	gdt
tramp_end:

	.text
	.code64
ap_entry64:
	LOAD_KERNEL_SEGMENTS
	movq	ap_boot_kstack(%rip), %rsp
	movq	ap_boot_cpu(%rip), %rdi
	call	cpu_init_cpl0
	movq	ap_boot_cpu(%rip), %rdi
	movq	ap_boot_ustack(%rip), %rsi
	movq	$ap_main, %rdx
	jmp	enter_user
