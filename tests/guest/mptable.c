/* mptable.c — finds the Intel MultiProcessor table and lists its enabled
 * processors (entry type 0). Search order from the MP spec: first KiB of the
 * EBDA (segment at 0x40E), last KiB of base memory (KiB count at 0x413),
 * then the BIOS area 0xF0000-0xFFFFF, on 16-byte boundaries. */
#include "guest.h"

struct mp_fp {
    char sig[4]; /* "_MP_" */
    u32 config;  /* physical address of the "PCMP" table */
    u8 len, rev, sum, feature[5];
};

struct mp_config {
    char sig[4]; /* "PCMP" */
    u16 len;
    u8 rev, sum;
    char oem[8], product[12];
    u32 oem_ptr;
    u16 oem_size, count;
    u32 lapic;
    u16 ext_len;
    u8 ext_sum, rsvd;
};

static int sum8(const u8 *p, size_t n)
{
    u8 s = 0;
    while (n--)
        s = (u8)(s + *p++);
    return s;
}

static const struct mp_fp *scan(u64 start, u64 len)
{
    for (u64 a = start & ~15ul; a + 16 <= start + len; a += 16) {
        const struct mp_fp *fp = phys(a);
        if (fp->sig[0] == '_' && fp->sig[1] == 'M' && fp->sig[2] == 'P' && fp->sig[3] == '_' && fp->len == 1 &&
            sum8((const u8 *)fp, 16) == 0)
            return fp;
    }
    return 0;
}

int mptable_cpus(struct mp_cpu *out, int max)
{
    u64 ebda = (u64)*(const volatile u16 *)phys(0x40e) << 4;
    u64 basemem = (u64)*(const volatile u16 *)phys(0x413) << 10;
    const struct mp_fp *fp = 0;

    if (ebda >= 0x80000 && ebda < 0xa0000)
        fp = scan(ebda, 1024);
    if (!fp && basemem >= 0x80000 && basemem <= 0xa0000)
        fp = scan(basemem - 1024, 1024);
    if (!fp)
        fp = scan(0xf0000, 0x10000);
    if (!fp || !fp->config)
        return -1; /* no table, or a "default configuration" we do not model */

    const struct mp_config *ct = phys(fp->config);
    if (ct->sig[0] != 'P' || ct->sig[1] != 'C' || ct->sig[2] != 'M' || ct->sig[3] != 'P' ||
        sum8((const u8 *)ct, ct->len) != 0)
        return -1;

    const u8 *e = (const u8 *)(ct + 1), *end = (const u8 *)ct + ct->len;
    int n = 0;
    for (unsigned i = 0; i < ct->count && e < end; i++) {
        if (e[0] == 0) { /* processor: type, apic id, apic ver, flags (EN=1, BP=2) */
            if ((e[3] & 1) && n < max) {
                out[n].apic_id = e[1];
                out[n].bsp = (e[3] & 2) != 0;
                n++;
            }
            e += 20;
        } else if (e[0] <= 4) {
            e += 8;
        } else {
            break; /* unknown entry type: its length is unknown */
        }
    }
    return n;
}
