/* smp.c — starts application processors with INIT-SIPI-SIPI through the
 * xAPIC ICR. This runs at CPL3: LAPIC MMIO works there (the page is mapped
 * U/S), so no service call is needed. APs are started one at a time, which
 * lets a single set of ap_boot_* variables carry each AP's stacks. */
#include "guest.h"

extern const char tramp_start[], tramp_end[];
extern char kstacks[], ustacks[];

volatile u64 ap_boot_cpu, ap_boot_kstack, ap_boot_ustack; /* read by trampoline.S */
volatile u32 cpu_alive[MAX_CPUS];
void (*volatile ap_work)(u64 cpu);

#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310

static void lapic_write(u32 reg, u32 v) { *(volatile u32 *)(LAPIC_BASE + reg) = v; }
static u32 lapic_read(u32 reg) { return *(volatile u32 *)(LAPIC_BASE + reg); }

static void delay_us(u64 us)
{
    u64 end = rdtsc() + us * tsc_khz / 1000;
    while (rdtsc() < end)
        cpu_relax();
}

static void send_ipi(u32 apic_id, u32 icr_lo)
{
    lapic_write(LAPIC_ICR_HI, apic_id << 24);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (int i = 0; i < 100000 && (lapic_read(LAPIC_ICR_LO) & (1u << 12)); i++)
        cpu_relax(); /* delivery status: pending */
}

static int wait_alive(u32 cpu, u64 us)
{
    u64 end = rdtsc() + us * tsc_khz / 1000;
    while (!cpu_alive[cpu] && rdtsc() < end)
        cpu_relax();
    return cpu_alive[cpu] != 0;
}

int smp_start_ap(u32 cpu, u32 apic_id)
{
    static int ready;
    if (cpu >= MAX_CPUS)
        return 0;
    if (!ready) {
        memcpy(phys(TRAMPOLINE_PA), tramp_start, (size_t)(tramp_end - tramp_start));
        lapic_write(LAPIC_SVR, 0x1ff); /* software-enable the BSP's LAPIC */
        ready = 1;
    }
    ap_boot_cpu = cpu;
    ap_boot_kstack = (u64)kstacks + (cpu + 1) * KSTACK_SIZE;
    ap_boot_ustack = (u64)ustacks + (cpu + 1) * USTACK_SIZE;
    barrier();

    send_ipi(apic_id, 0x4500); /* INIT, level assert */
    delay_us(10000);
    send_ipi(apic_id, 0x4600 | (TRAMPOLINE_PA >> 12)); /* SIPI */
    if (wait_alive(cpu, 1000))
        return 1;
    send_ipi(apic_id, 0x4600 | (TRAMPOLINE_PA >> 12)); /* second SIPI, per the MP spec */
    return wait_alive(cpu, 3000000); /* the AP's path to CPL3 is emulated: be generous */
}

/* First CPL3 code on an AP (entered from ap_entry64). */
void ap_main(u64 cpu)
{
    cpu_alive[cpu] = 1;
    void (*w)(u64) = ap_work;
    if (w)
        w(cpu);
    svc(SVC_HALT, 0, 0, 0);
    for (;;)
        cpu_relax();
}
