/* job_numa.c — `job=numa-info`: the guest's NUMA topology as an OS learns it from ACPI:
 * the SRAT's processor and memory affinity entries grouped by proximity domain, and the
 * SLIT's distance matrix. Prints
 *   numa_nodes=N
 *   numa_node=D cpus=<APIC ids> mem_mib=M            (one per domain)
 *   numa_mem node=D base=0x.. size=0x..              (one per memory range)
 *   numa_distance from=D to=E distance=X             (one per SLIT entry)
 * and a stamp written and read back at the start and end of every memory range. */
#include "guest.h"

#define MAX_DOMAINS 16

static u32 rd32(const u8 *p) { return p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static u64 rd64(const u8 *p) { return rd32(p) | (u64)rd32(p + 4) << 32; }

int job_numa_info(void)
{
    if (acpi_init() < 0)
        fail("no_acpi");
    const u8 *srat = acpi_table("SRAT"), *slit = acpi_table("SLIT");
    if (!srat)
        fail("no_srat");
    u32 len = rd32(srat + 4);
    u64 cpus[MAX_DOMAINS] = { 0 }, mem[MAX_DOMAINS] = { 0 };
    unsigned max_dom = 0, ranges = 0, bad_stamps = 0;
    if (paging_map_high(512ul << 30) < 0)
        fail("paging");
    for (u32 off = 48; off + 2 <= len;) {
        const u8 *e = srat + off;
        u8 type = e[0], elen = e[1];
        if (elen < 2 || off + elen > len)
            fail("srat_entry_length");
        u32 dom = 0;
        if (type == 0 && elen >= 16 && (rd32(e + 4) & 1)) {          /* local APIC */
            dom = e[2] | (u32)e[9] << 8 | (u32)e[10] << 16 | (u32)e[11] << 24;
            if (dom < MAX_DOMAINS && e[3] < 64)
                cpus[dom] |= 1ul << e[3];
        } else if (type == 2 && elen >= 24 && (rd32(e + 12) & 1)) {  /* x2APIC */
            dom = rd32(e + 4);
            if (dom < MAX_DOMAINS && rd32(e + 8) < 64)
                cpus[dom] |= 1ul << rd32(e + 8);
        } else if (type == 1 && elen >= 40 && (rd32(e + 28) & 1)) {  /* memory */
            dom = rd32(e + 2);
            u64 base = rd64(e + 8), size = rd64(e + 16);
            gprintf("numa_mem node=%u base=0x%lx size=0x%lx\n", dom, base, size);
            if (dom < MAX_DOMAINS)
                mem[dom] += size;
            /* Stamp the first and last 8 bytes (skipping the kit's own low pages). */
            u64 first = base < 0x100000 ? 0x100000 : base;
            if (first + 16 <= base + size) {
                volatile u64 *a = (u64 *)first, *b = (u64 *)(base + size - 8);
                u64 sa = *a, sb = *b;
                *a = 0x4e554d4100000000ul ^ first;
                *b = 0x4e554d4200000000ul ^ base;
                if (*a != (0x4e554d4100000000ul ^ first) || *b != (0x4e554d4200000000ul ^ base))
                    bad_stamps++;
                *a = sa, *b = sb;
            }
            ranges++;
        }
        if (dom >= MAX_DOMAINS)
            fail("srat_domain_too_large");
        if (dom > max_dom)
            max_dom = dom;
        off += elen;
    }
    gprintf("numa_nodes=%u\n", max_dom + 1);
    for (unsigned d = 0; d <= max_dom; d++) {
        gprintf("numa_node=%u cpus=", d);
        int first = 1;
        for (unsigned c = 0; c < 64; c++)
            if (cpus[d] & (1ul << c)) {
                gprintf("%s%u", first ? "" : ",", c);
                first = 0;
            }
        gprintf("%s mem_mib=%lu\n", first ? "none" : "", mem[d] >> 20);
    }
    gprintf("numa_mem_ranges=%u numa_mem_stamps=%s\n", ranges, bad_stamps ? "bad" : "ok");
    if (bad_stamps)
        fail("numa_mem_stamp");
    if (slit) {
        u64 n = rd64(slit + 36);
        if (n > MAX_DOMAINS || 44 + n * n > rd32(slit + 4))
            fail("slit_size");
        for (u64 i = 0; i < n; i++)
            for (u64 k = 0; k < n; k++)
                gprintf("numa_distance from=%lu to=%lu distance=%u\n", i, k, slit[44 + i * n + k]);
    } else {
        gprintf("slit=none\n");
    }
    return 0;
}
