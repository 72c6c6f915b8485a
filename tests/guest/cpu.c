/* cpu.c — per-CPU CPL0 setup: IDT (once), TSS, lidt/ltr.
 *
 * Runs at CPL0 on every CPU before its first iretq to CPL3, so it is short:
 * kvm_pvm emulates each instruction. Only the 32 exception vectors and the
 * service vector 0x80 get gates; 0x80 is DPL3 so `int $0x80` is legal at
 * CPL3 (kvm_pvm still reports it as #UD, see trap.c). */
#include "asm.h"
#include "guest.h"

struct idt_gate {
    u16 off0, sel;
    u8 ist, type;
    u16 off1;
    u32 off2, zero;
};

struct tss64 {
    u32 rsvd0;
    u64 rsp[3];
    u64 rsvd1;
    u64 ist[7];
    u64 rsvd2;
    u16 rsvd3, iomap;
} __attribute__((packed));

extern struct idt_gate idt[256];
extern struct tss64 tss[MAX_CPUS];
extern u64 gdt_tss[MAX_CPUS * 2];
extern const u64 isr_table[34];
extern char kstacks[], istacks[];

static void idt_fill(void)
{
    for (unsigned i = 0; i < 34; i++) {
        unsigned v = i < 32 ? i : i == 32 ? 0x80 : IRQ_VECTOR;
        u64 h = isr_table[i];
        struct idt_gate *g = &idt[v];
        g->off0 = (u16)h;
        g->sel = SEL_KCODE;
        /* NMI, #DF, #MC on IST1: they may hit with a broken stack. */
        g->ist = (v == 2 || v == 8 || v == 18) ? 1 : 0;
        g->type = v == 0x80 ? 0xee : 0x8e; /* interrupt gate, DPL3 / DPL0 */
        g->off1 = (u16)(h >> 16);
        g->off2 = (u32)(h >> 32);
    }
}

void cpu_init_cpl0(u64 cpu)
{
    struct { u16 limit; u64 base; } __attribute__((packed)) idtr = { sizeof(struct idt_gate) * 256 - 1, (u64)idt };
    struct tss64 *t = &tss[cpu];
    u64 base = (u64)t;

    if (cpu == 0)
        idt_fill();
    t->rsp[0] = (u64)kstacks + (cpu + 1) * KSTACK_SIZE;
    t->ist[0] = (u64)istacks + (cpu + 1) * ISTACK_SIZE;
    t->iomap = sizeof(struct tss64);
    gdt_tss[cpu * 2] = (sizeof(struct tss64) - 1) | ((base & 0xffffff) << 16) | (0x89ull << 40) |
                       ((base >> 24 & 0xff) << 56);
    gdt_tss[cpu * 2 + 1] = base >> 32;
    __asm__ volatile("lidt %0" ::"m"(idtr));
    __asm__ volatile("ltr %w0" ::"r"((u16)(SEL_TSS0 + 16 * cpu)));
}
