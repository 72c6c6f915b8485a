/* alloc.c — a bump allocator for DMA memory (virtqueues, request headers,
 * data buffers). Devices see guest-physical addresses, and the kit maps RAM
 * identity, so any RAM works; we only have to stay clear of the kit's own
 * image, stacks and the page directories paging.c carves after the image.
 * Hence: the lowest RAM range of the e820 map at or above 16 MiB and below
 * 4 GiB (always mapped by pagetable.S). Nothing is ever freed one by one;
 * alloc_mark()/alloc_release() roll back to a mark between phases. */
#include "guest.h"

#define ALLOC_FLOOR (16ul << 20)
#define FOUR_GIB (1ul << 32)

static u64 next, limit;

static void alloc_init(void)
{
    for (unsigned i = 0; i < e820_count; i++) {
        u64 s = e820[i].addr, e = e820[i].addr + e820[i].size;
        if (e820[i].type != 1)
            continue;
        if (s < ALLOC_FLOOR)
            s = ALLOC_FLOOR;
        if (e > FOUR_GIB)
            e = FOUR_GIB;
        if (e <= s + (1ul << 20))
            continue;
        if (!limit || e - s > limit - next) { /* the largest usable range */
            next = (s + 4095) & ~4095ul;
            limit = e & ~4095ul;
        }
    }
    if (!limit)
        fail("alloc_no_ram_above_16mib");
}

/* Zeroed, 4 KiB aligned (so no request buffer or ring crosses a page it
 * does not have to), fails the job when RAM runs out. */
void *alloc_dma(u64 bytes)
{
    if (!limit)
        alloc_init();
    bytes = (bytes + 4095) & ~4095ul;
    if (bytes > limit - next)
        fail("alloc_out_of_memory");
    void *p = phys(next);
    next += bytes;
    memset(p, 0, bytes);
    return p;
}

u64 alloc_mark(void)
{
    if (!limit)
        alloc_init();
    return next;
}

void alloc_release(u64 mark) { next = mark; }

/* First byte past the allocator's range: the hostile job wants an address
 * that is past every RAM range of the map. */
u64 alloc_ram_end(void)
{
    u64 end = 0;
    for (unsigned i = 0; i < e820_count; i++)
        if (e820[i].type == 1 && e820[i].addr + e820[i].size > end)
            end = e820[i].addr + e820[i].size;
    return end;
}
