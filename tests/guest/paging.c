/* paging.c — maps RAM above 4 GiB (up to 512 GiB) with 2 MiB pages.
 *
 * Done at CPL3 because it is only memory writes (every page, page tables
 * included, is U/S=1 RW): filling a new page directory runs at native speed,
 * and only the PDPT entry that links it touches a live page table. Page
 * directories come from the low RAM right after the image (__image_end),
 * checked against the memory map. A CR3 reload (one service call) follows. */
#include "guest.h"

#define GiB (1ul << 30)

extern u64 pdpt[512];
extern char __image_end[];

static u64 pool_next;

static int low_ram_ok(u64 start, u64 end)
{
    for (unsigned i = 0; i < e820_count; i++)
        if (e820[i].type == 1 && e820[i].addr <= start && end <= e820[i].addr + e820[i].size)
            return 1;
    return e820_count == 0; /* no map: trust the loader */
}

/* Map [4 GiB, end) in whole GiB slots; returns page directories added, -1 on failure. */
int paging_map_high(u64 end)
{
    int added = 0;
    if (!pool_next)
        pool_next = ((u64)__image_end + 4095) & ~4095ul;
    if (end > 512 * GiB)
        end = 512 * GiB;
    for (u64 g = 4; g * GiB < end; g++) {
        if (pdpt[g] & 1)
            continue;
        if (!low_ram_ok(pool_next, pool_next + 4096))
            return -1;
        u64 *pd = phys(pool_next);
        for (u64 i = 0; i < 512; i++)
            pd[i] = (g * GiB + (i << 21)) | 0x87; /* P RW US PS */
        barrier();
        pdpt[g] = pool_next | 0x7;
        pool_next += 4096;
        added++;
    }
    if (added)
        svc(SVC_FLUSH_TLB, 0, 0, 0);
    return added;
}
