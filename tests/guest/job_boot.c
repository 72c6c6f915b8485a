/* job_boot.c — `job=boot`: what the machine looks like from inside (command
 * line, CPUs from the MP table and CPUID, memory map) and a stamp test of
 * RAM above 4 GiB, which the static page tables map with 1 GiB pages. */
#include "guest.h"

#define GiB (1ul << 30)
#define MiB (1ul << 20)
#define MAPPED_LIMIT (512 * GiB) /* what pagetable.S maps */

/* Logical CPUs per package as CPUID reports them: the last level of leaf
 * 0xB, else leaf 1 EBX[23:16] when HTT is set. */
static unsigned cpus_cpuid(void)
{
    u32 r[4], n = 0;
    vcpuid(0, 0, r);
    if (r[0] >= 0xb) {
        for (u32 sub = 0; sub < 8; sub++) {
            vcpuid(0xb, sub, r);
            if (((r[2] >> 8) & 0xff) == 0)
                break;
            n = r[1] & 0xffff;
        }
    }
    if (!n) {
        vcpuid(1, 0, r);
        n = (r[3] & (1u << 28)) ? (r[1] >> 16) & 0xff : 1;
    }
    return n;
}

struct piece { u64 addr, size; };

/* Stamp the first and last 8 bytes of every piece, then check them all, so
 * aliasing (two pieces backed by the same memory) is caught too. */
static int high_mem_check(u64 high, unsigned *npieces)
{
    static struct piece p[1024];
    unsigned n = 0;

    /* 64 MiB pieces while that fits the table (< 64 GiB above 4 GiB), else 1 GiB. */
    u64 step = high < 64 * GiB ? 64 * MiB : GiB;
    for (unsigned i = 0; i < e820_count; i++) {
        u64 lo = e820[i].addr, hi = e820[i].addr + e820[i].size;
        if (e820[i].type != 1 || hi <= 4 * GiB)
            continue;
        if (lo < 4 * GiB)
            lo = 4 * GiB;
        if (hi > MAPPED_LIMIT)
            hi = MAPPED_LIMIT;
        for (u64 a = lo; a < hi && n < 1024; a += step)
            p[n++] = (struct piece){ a, hi - a < step ? hi - a : step };
    }
    for (unsigned i = 0; i < n; i++) {
        volatile u64 *first = (u64 *)p[i].addr, *last = (u64 *)(p[i].addr + p[i].size - 8);
        *first = 0x5a17000000000000ul ^ p[i].addr;
        *last = 0xa5e8000000000000ul ^ p[i].addr;
    }
    int ok = 1;
    for (unsigned i = 0; i < n; i++) {
        volatile u64 *first = (u64 *)p[i].addr, *last = (u64 *)(p[i].addr + p[i].size - 8);
        if (*first != (0x5a17000000000000ul ^ p[i].addr) || *last != (0xa5e8000000000000ul ^ p[i].addr)) {
            gprintf("high_mem_bad addr=0x%lx\n", p[i].addr);
            ok = 0;
        }
    }
    *npieces = n;
    return ok;
}

int job_boot(void)
{
    struct mp_cpu cpus[MAX_CPUS];
    u32 r[4];
    u64 total = 0, high = 0;

    gprintf("cmdline=%s\n", cmdline);
    int n = mptable_cpus(cpus, MAX_CPUS);
    if (n < 0)
        gprintf("cpus_mptable=none\n");
    else
        gprintf("cpus_mptable=%d\n", n);
    vcpuid(1, 0, r);
    gprintf("cpus_cpuid=%u\n", cpus_cpuid());
    gprintf("apic_id=%u\n", r[1] >> 24);

    if (!e820_count)
        gprintf("e820=none\n");
    for (unsigned i = 0; i < e820_count; i++) {
        gprintf("e820 addr=0x%lx size=0x%lx type=%u\n", e820[i].addr, e820[i].size, e820[i].type);
        if (e820[i].type != 1)
            continue;
        total += e820[i].size;
        u64 end = e820[i].addr + e820[i].size;
        if (end > 4 * GiB)
            high += end - (e820[i].addr > 4 * GiB ? e820[i].addr : 4 * GiB);
    }
    gprintf("ram_total_mib=%lu\n", total / MiB);
    gprintf("ram_above_4g_mib=%lu\n", high / MiB);
    if (high) {
        unsigned pieces;
        int ok = high_mem_check(high, &pieces);
        gprintf("high_mem_check=%s pieces=%u\n", ok ? "ok" : "fail", pieces);
        if (!ok)
            fail("high_mem_check");
    }
    return 0;
}
