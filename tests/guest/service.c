/* service.c — the CPL0 services behind `int $0x80` (see guest.h for the
 * numbers). Everything that needs port I/O lives here, because port I/O at
 * CPL3 is a #GP on kvm_pvm even with IOPL=3. */
#include "guest.h"

/* TSC cycles during 10 ms of PIT channel 2 in mode 0 (the classic Linux
 * pit_calibrate_tsc sequence). Polling port 0x61 costs one exit per loop,
 * which is fine for a one-off 10 ms. Bounded so a missing PIT cannot hang
 * us; a PIT that reads as all-ones finishes at once and the caller rejects
 * the implausibly small count. */
static u64 pit_calibrate(void)
{
    const u16 latch = 11932; /* 1193182 Hz / 100 */
    u32 spins = 0;

    outb(0x61, (u8)((inb(0x61) & ~0x02) | 0x01)); /* gate on, speaker off */
    outb(0x43, 0xb0);                             /* ch2, lo/hi, mode 0, binary */
    outb(0x42, latch & 0xff);
    outb(0x42, latch >> 8);
    u64 t0 = rdtsc();
    while (!(inb(0x61) & 0x20))
        if (++spins > 2000000)
            return 0;
    return rdtsc() - t0;
}

#define X8(s) s s s s s s s s

/* n/8 iterations of 8 port operations: the unrolling keeps the (emulated)
 * loop instructions at a quarter of an instruction per port op. */
static u64 bench(u64 kind, u64 n)
{
    u64 it = n / 8;
    if (!it)
        return 0;
    u64 t0 = rdtsc();
    switch (kind) {
    case BENCH_OUT_VMM:
        __asm__ volatile("1:" X8("outb %%al, %%dx;") "dec %0; jnz 1b" : "+c"(it) : "a"(0), "d"(PORT_COM1_SCR));
        break;
    case BENCH_OUT_KVM: /* mask all PIC lines: harmless, handled inside KVM */
        __asm__ volatile("1:" X8("outb %%al, %%dx;") "dec %0; jnz 1b" : "+c"(it) : "a"(0xff), "d"(PORT_PIC1_IMR));
        break;
    case BENCH_IN_VMM:
        __asm__ volatile("1:" X8("inb %%dx, %%al;") "dec %0; jnz 1b" : "+c"(it) : "d"(PORT_COM1_SCR) : "rax");
        break;
    case BENCH_NOP: /* same loop shape without the exits: CPL0 emulation cost */
        __asm__ volatile("1:" X8("nop;") "dec %0; jnz 1b" : "+c"(it));
        break;
    default:
        return 0;
    }
    return rdtsc() - t0;
}

void service(struct frame *f)
{
    switch (f->rax) {
    case SVC_NOP:
        f->rax = 0;
        break;
    case SVC_WRITE:
        serial_write((const char *)f->rdi, f->rsi);
        f->rax = 0;
        break;
    case SVC_EXIT:
        vm_exit((u32)f->rdi);
    case SVC_PIT_CAL:
        f->rax = pit_calibrate();
        break;
    case SVC_BENCH:
        f->rax = bench(f->rdi, f->rsi);
        break;
    case SVC_CPUID: {
        u32 *o = (u32 *)f->rdx;
        cpuid((u32)f->rdi, (u32)f->rsi, &o[0], &o[1], &o[2], &o[3]);
        f->rax = 0;
        break;
    }
    case SVC_FLUSH_TLB: {
        u64 cr3;
        __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
        f->rax = 0;
        break;
    }
    case SVC_TRIPLE_FAULT: {
        /* No IDT: the #UD cannot be delivered, nor the #DF after it. */
        struct __attribute__((packed)) { u16 limit; u64 base; } empty = { 0, 0 };
        __asm__ volatile("lidt %0; ud2" ::"m"(empty));
        break;
    }
    case SVC_CMPXCHG16B: {
        static u64 pair[2] __attribute__((aligned(16)));
        volatile u64 *p = f->rdi ? phys(f->rdi) : pair;
        u64 lo = 0, hi = 0;
        __asm__ volatile("lock cmpxchg16b %0" : "+m"(*(volatile u64(*)[2])p), "+a"(lo), "+d"(hi) : "b"(1ul), "c"(2ul) : "memory");
        f->rax = 0;
        break;
    }
    case SVC_IRQ_ENABLE: {
        volatile u32 *svr = (volatile u32 *)(LAPIC_BASE + 0xf0);
        /* Mask the 8259s: firmware (SeaBIOS) leaves the timer on a vector we do not handle. */
        outb(0x21, 0xff);
        outb(0xa1, 0xff);
        *svr = 0x1ff; /* APIC software enable, spurious vector 0xff */
        f->rflags |= 0x200; /* IF=1 from the iretq on: interrupts reach trap() at CPL3 */
        f->rax = 0;
        break;
    }
    case SVC_INB:
        f->rax = inb((u16)f->rdi);
        break;
    case SVC_OUTB:
        outb((u16)f->rdi, (u8)f->rsi);
        f->rax = 0;
        break;
    case SVC_OUTW:
        outw((u16)f->rdi, (u16)f->rsi);
        f->rax = 0;
        break;
    case SVC_INL:
        f->rax = inl((u16)f->rdi);
        break;
    case SVC_OUTL:
        outl((u16)f->rdi, (u32)f->rsi);
        f->rax = 0;
        break;
    case SVC_PCI_READ: /* address + data in one round trip: halves PCI scan time */
        outl(0xcf8, (u32)f->rdi);
        f->rax = inl(0xcfc);
        break;
    case SVC_PCI_WRITE:
        outl(0xcf8, (u32)f->rdi);
        outl(0xcfc, (u32)f->rsi);
        f->rax = 0;
        break;
    case SVC_HALT:
        for (;;)
            __asm__ volatile("cli; hlt");
    default:
        f->rax = (u64)-1;
    }
}
