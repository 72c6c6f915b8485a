/* trap.c — the one C entry point at CPL0: every exception and service call.
 *
 * kvm_pvm quirk: `int $0x80` through a DPL3 gate does not arrive at vector
 * 0x80; it arrives as #UD with RIP still on the `int` instruction. On real
 * hardware / VMX it arrives at 0x80 with RIP after it. So a #UD from CPL3
 * whose RIP points at the bytes CD 80 is the service call (RIP += 2). The
 * #GP form (error code = gate selector) is accepted the same way in case a
 * host reports a gate problem instead. Anything else is fatal: print and
 * stop the VM with status 1. */
#include "guest.h"

static int is_int80(struct frame *f)
{
    return (f->cs & 3) == 3 && *(const volatile u16 *)f->rip == 0x80cd;
}

static void fatal(struct frame *f)
{
    u64 cr2;
    u32 apic = *(volatile u32 *)(LAPIC_BASE + 0x20) >> 24;
    __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
    serial_printf("\nfault vector=%lu rip=0x%lx err=0x%lx cr2=0x%lx cs=0x%lx rsp=0x%lx rflags=0x%lx apic_id=%u\n",
                  f->vector, f->rip, f->err, cr2, f->cs, f->rsp, f->rflags, apic);
    serial_printf("result=fail reason=exception_%lu\n", f->vector);
    vm_exit(1);
}

volatile u64 irq_count;

void trap(struct frame *f)
{
    if (f->vector == IRQ_VECTOR) {
        irq_count++;
        *(volatile u32 *)(LAPIC_BASE + 0xb0) = 0; /* EOI */
        return;
    }
    if (f->vector == 0x80) {
        service(f);
        return;
    }
    if ((f->vector == 6 || (f->vector == 13 && f->err == (0x80 << 3 | 2))) && is_int80(f)) {
        f->rip += 2;
        service(f);
        return;
    }
    fatal(f);
}
