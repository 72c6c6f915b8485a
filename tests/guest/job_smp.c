/* job_smp.c — `job=smp`: start every AP from the MADT (the MP table when there are
 * no ACPI tables, or with acpi=off), run the same
 * timed CPL3 loop on every CPU, and count check-ins (lock incl at CPL3; no
 * cmpxchg16b, which kvm_pvm cannot emulate). */
#include "guest.h"

#define ITERS 10000000ul

static volatile u64 loop_cycles[MAX_CPUS];
static volatile u32 checked_in;

static void work(u64 cpu)
{
    u64 n = ITERS, x = 1, y = 3;
    u64 t0 = rdtsc();
    __asm__ volatile("1: add %1, %0; xor %0, %1; dec %2; jnz 1b" : "+r"(x), "+r"(y), "+r"(n));
    loop_cycles[cpu] = rdtsc() - t0;
    __asm__ volatile("lock incl %0" : "+m"(checked_in) : : "memory");
}

int job_smp(void)
{
    struct mp_cpu cpus[MAX_CPUS];
    u32 apic[MAX_CPUS], r[4];
    u32 ncpu = 1, expected;

    vcpuid(1, 0, r);
    apic[0] = r[1] >> 24;
    char acpi_arg[8] = "";
    cmdline_get("acpi", acpi_arg, sizeof acpi_arg); /* acpi=off: the MP table, as Linux would */
    int n = streq(acpi_arg, "off") ? -1 : acpi_cpus(cpus, MAX_CPUS);
    if (n > 0) {
        gprintf("cpus_source=madt cpus_madt=%d\n", n);
    } else {
        n = mptable_cpus(cpus, MAX_CPUS);
        gprintf("cpus_source=mptable\n");
    }
    expected = n > 0 ? (u32)n : 1;
    if (n < 0)
        gprintf("cpus_mptable=none\n");

    ap_work = work;
    for (int i = 0; i < n; i++) {
        if (cpus[i].apic_id == apic[0])
            continue;
        u64 t0 = rdtsc();
        int ok = smp_start_ap(ncpu, cpus[i].apic_id);
        u64 us = cycles_to_ps(rdtsc() - t0) / 1000000;
        gprintf("ap_start cpu=%u apic_id=%u ok=%d us=%lu\n", ncpu, cpus[i].apic_id, ok, us);
        apic[ncpu++] = cpus[i].apic_id;
    }

    work(0);
    u64 deadline = rdtsc() + 5000 * tsc_khz; /* 5 s */
    while (checked_in < expected && rdtsc() < deadline)
        cpu_relax();

    for (u32 i = 0; i < ncpu; i++) {
        if (!loop_cycles[i])
            continue;
        u64 ps = cycles_to_ps(loop_cycles[i]) / (ITERS / 100); /* 1/100 ps per iteration */
        gprintf("cpu=%u apic_id=%u loop_ns_per_iter=%s\n", i, apic[i], fixed(ps / 1000, 2));
    }
    gprintf("cpus_checked_in=%u cpus_expected=%u\n", checked_in, expected);
    if (checked_in != expected)
        fail("cpus_missing");
    return 0;
}
