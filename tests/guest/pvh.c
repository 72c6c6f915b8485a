/* pvh.c — reads the PVH boot information (struct hvm_start_info, physical
 * address in EBX at entry): copies the command line and the memory map into
 * the image early, because the AP trampoline and other low-memory users may
 * later overwrite wherever the loader put them. Also the `key=value` command
 * line lookup. */
#include "guest.h"

#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr, memmap_paddr;
    u32 memmap_entries, reserved;
};

struct hvm_memmap_entry {
    u64 addr, size;
    u32 type, reserved;
};

extern u64 pvh_info_pa;
struct e820 e820[E820_MAX];
unsigned e820_count;
char cmdline[1024];
u64 pvh_rsdp;

void pvh_init(void)
{
    const struct hvm_start_info *si = (const void *)pvh_info_pa;
    if (!si || si->magic != HVM_START_MAGIC)
        fail("bad_hvm_start_info");
    pvh_rsdp = si->rsdp_paddr;
    if (si->cmdline_paddr) {
        const char *c = (const char *)si->cmdline_paddr;
        size_t i = 0;
        for (; c[i] && i < sizeof cmdline - 1; i++)
            cmdline[i] = c[i];
        cmdline[i] = 0;
    }
    if (si->version >= 1 && si->memmap_paddr) {
        const struct hvm_memmap_entry *m = (const void *)si->memmap_paddr;
        for (u32 i = 0; i < si->memmap_entries && e820_count < E820_MAX; i++) {
            e820[e820_count].addr = m[i].addr;
            e820[e820_count].size = m[i].size;
            e820[e820_count].type = m[i].type;
            e820_count++;
        }
    }
}

/* Value of the first `key=` in the space-separated command line; 1 if found. */
int cmdline_get(const char *key, char *out, size_t outsz)
{
    return cmdline_get_nth(key, 0, out, outsz);
}

/* Value of the nth (from 0) `key=`; 1 if found. */
int cmdline_get_nth(const char *key, unsigned nth, char *out, size_t outsz)
{
    size_t kl = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        size_t tl = (size_t)(p - tok);
        size_t i;
        for (i = 0; i < kl && i < tl && tok[i] == key[i]; i++)
            ;
        if (i == kl && tl > kl && tok[kl] == '=' && nth-- == 0) {
            size_t n = 0;
            for (const char *v = tok + kl + 1; v < p && n + 1 < outsz; v++)
                out[n++] = *v;
            out[n] = 0;
            return 1;
        }
    }
    return 0;
}
