/* acpi.c — learns the machine the way an OS does: the RSDP (from PVH's rsdp_paddr,
 * else a scan of the BIOS area 0xE0000-0xFFFFF on 16-byte boundaries), the XSDT (or
 * the RSDT of an ACPI 1.0 RSDP), the MADT's processors, the FADT's power registers
 * (hardware-reduced: sleep control + reset register; classic, as QEMU's: PM1a/b control
 * blocks), \_S5's SLP_TYP and the GED's event register from the DSDT by a small AML scan.
 * Everything runs at CPL3; only I/O-port registers go through CPL0 services. */
#include "guest.h"

struct acpi_info acpi;

struct sdt {
    char sig[4];
    u32 len;
    u8 rev, sum;
    char oem[6], oem_table[8];
    u32 oem_rev, creator, creator_rev;
} __attribute__((packed));

static u8 sum8(const void *p, size_t n)
{
    const u8 *b = p;
    u8 s = 0;
    while (n--)
        s = (u8)(s + *b++);
    return s;
}

static int sig_is(const void *p, const char *sig, unsigned n)
{
    const char *c = p;
    for (unsigned i = 0; i < n; i++)
        if (c[i] != sig[i])
            return 0;
    return 1;
}

static u64 rd(const void *p, unsigned n)
{
    u64 v = 0;
    memcpy(&v, p, n);
    return v;
}

static int rsdp_ok(u64 pa)
{
    const u8 *p = phys(pa);
    if (!sig_is(p, "RSD PTR ", 8) || sum8(p, 20))
        return 0;
    if (p[15] < 2)
        return 1; /* ACPI 1.0: 20 bytes */
    u32 len = (u32)rd(p + 20, 4);
    return len >= 36 && len <= 1024 && sum8(p, len) == 0;
}

static u64 find_rsdp(void)
{
    if (pvh_rsdp && rsdp_ok(pvh_rsdp)) {
        acpi.rsdp_source = "pvh";
        return pvh_rsdp;
    }
    for (u64 a = 0xe0000; a < 0x100000; a += 16)
        if (rsdp_ok(a)) {
            acpi.rsdp_source = "scan";
            return a;
        }
    return 0;
}

static int table_ok(u64 pa)
{
    const struct sdt *t = phys(pa);
    return pa && t->len >= sizeof *t && t->len < (1u << 20) && sum8(t, t->len) == 0;
}

const void *acpi_table(const char *sig)
{
    for (unsigned i = 0; i < acpi.n_tables; i++)
        if (sig_is(phys(acpi.table[i]), sig, 4))
            return phys(acpi.table[i]);
    if (sig_is(sig, "DSDT", 4) && acpi.dsdt)
        return phys(acpi.dsdt);
    return NULL;
}

/* The first integer of Name(_S5, Package(){...}): SLP_TYPa. */
static int s5_typ(const struct sdt *dsdt)
{
    const u8 *p = (const u8 *)dsdt, *end = p + dsdt->len;
    for (p += sizeof *dsdt; p + 9 < end; p++) {
        if (!sig_is(p, "_S5_", 4) || p[4] != 0x12)
            continue;
        const u8 *q = p + 5;
        q += 1 + (q[0] >> 6); /* PkgLength */
        q++;                  /* NumElements */
        if (q[0] == 0x0a)
            return q[1];
        if (q[0] <= 1)
            return q[0];      /* Zero, One */
    }
    return -1;
}

/* An AML integer at p (ByteConst, WordConst, DWordConst, QWordConst, Zero, One). */
static u64 aml_int(const u8 *p)
{
    switch (p[0]) {
    case 0x0a: return p[1];
    case 0x0b: return rd(p + 1, 2);
    case 0x0c: return rd(p + 1, 4);
    case 0x0e: return rd(p + 1, 8);
    case 0x01: return 1;
    default: return 0;
    }
}

u64 acpi_ged_register(void)
{
    const struct sdt *d = acpi_table("DSDT");
    if (!d)
        return 0;
    const u8 *p = (const u8 *)d, *end = p + d->len;
    /* OperationRegion (GDST, SystemMemory, offset, length) */
    for (p += sizeof *d; p + 16 < end; p++)
        if (p[0] == 0x5b && p[1] == 0x80 && sig_is(p + 2, "GDST", 4) && p[6] == 0)
            return aml_int(p + 7);
    return 0;
}

static void read_fadt(const u8 *f, u32 len)
{
    acpi.dsdt = rd(f + 40, 4);
    if (len >= 148 && rd(f + 140, 8))
        acpi.dsdt = rd(f + 140, 8);
    acpi.pm1a_cnt = (u32)rd(f + 64, 4);
    acpi.pm1b_cnt = (u32)rd(f + 68, 4);
    acpi.fadt_flags = len >= 116 ? (u32)rd(f + 112, 4) : 0;
    if (len >= 129 && (acpi.fadt_flags & (1u << 10))) {
        memcpy(&acpi.reset, f + 116, 12);
        acpi.reset_value = f[128];
    }
    if (len >= 268)
        memcpy(&acpi.sleep_ctl, f + 244, 12);
}

int acpi_init(void)
{
    if (acpi.root)
        return 0;
    u64 r = find_rsdp();
    if (!r)
        return -1;
    const u8 *p = phys(r);
    acpi.rsdp = r;
    acpi.rev = p[15];
    unsigned entry = 4;
    acpi.root = rd(p + 16, 4);
    if (acpi.rev >= 2 && rd(p + 24, 8)) {
        acpi.root = rd(p + 24, 8);
        entry = 8;
    }
    if (!table_ok(acpi.root))
        return -1;
    const struct sdt *root = phys(acpi.root);
    const u8 *e = (const u8 *)(root + 1);
    for (u32 off = 0; off + entry <= root->len - sizeof *root && acpi.n_tables < 32; off += entry) {
        u64 t = rd(e + off, entry);
        if (table_ok(t))
            acpi.table[acpi.n_tables++] = t;
    }
    const struct sdt *fadt = acpi_table("FACP");
    if (fadt)
        read_fadt((const u8 *)fadt, fadt->len);
    acpi.s5_typ = 0;
    if (acpi.dsdt && table_ok(acpi.dsdt)) {
        int t = s5_typ(phys(acpi.dsdt));
        acpi.s5_typ = t < 0 ? 0 : (u8)t;
    } else {
        acpi.dsdt = 0;
    }
    return 0;
}

int acpi_cpus(struct mp_cpu *out, int max)
{
    const struct sdt *m = acpi_init() == 0 ? acpi_table("APIC") : NULL;
    if (!m)
        return -1;
    const u8 *e = (const u8 *)m + 44, *end = (const u8 *)m + m->len;
    int n = 0;
    while (e + 2 <= end && e[1] >= 2 && e + e[1] <= end) {
        if (e[0] == 0 && e[1] >= 8 && (rd(e + 4, 4) & 1) && n < max) {
            out[n].apic_id = e[3];
            out[n].bsp = 0;
            n++;
        } else if (e[0] == 9 && e[1] >= 16 && (rd(e + 8, 4) & 1) && rd(e + 4, 4) < 255 && n < max) {
            out[n].apic_id = (u8)rd(e + 4, 4);
            out[n].bsp = 0;
            n++;
        }
        e += e[1];
    }
    return n;
}

void acpi_gas_write(const struct acpi_gas *g, u64 value)
{
    unsigned bits = g->access ? 8u << (g->access - 1) : g->bits ? g->bits : 8;
    if (g->space == 1) {
        u64 nr = bits >= 32 ? SVC_OUTL : bits == 16 ? SVC_OUTW : SVC_OUTB;
        svc(nr, g->addr, value, 0);
    } else if (g->space == 0) {
        void *p = phys(g->addr);
        if (bits >= 32)
            *(volatile u32 *)p = (u32)value;
        else if (bits == 16)
            *(volatile u16 *)p = (u16)value;
        else
            *(volatile u8 *)p = (u8)value;
    }
}

static void wait_then_fail(const char *reason) __attribute__((noreturn));
static void wait_then_fail(const char *reason)
{
    for (u64 end = rdtsc() + tsc_khz * 2000; (s64)(rdtsc() - end) < 0;)
        cpu_relax();
    fail(reason);
}

void acpi_poweroff(void)
{
    if (acpi_init() < 0)
        fail("no_acpi");
    if (acpi.fadt_flags & (1u << 20)) { /* hardware-reduced: SLP_TYP in bits 2-4, SLP_EN bit 5 */
        if (!acpi.sleep_ctl.addr)
            fail("no_sleep_control_register");
        gprintf("poweroff=sleep_control slp_typ=%u\n", acpi.s5_typ);
        acpi_gas_write(&acpi.sleep_ctl, (u64)(acpi.s5_typ & 7) << 2 | 0x20);
    } else { /* PM1 control: SLP_TYP in bits 10-12, SLP_EN bit 13 */
        if (!acpi.pm1a_cnt)
            fail("no_pm1_control_block");
        gprintf("poweroff=pm1_control slp_typ=%u\n", acpi.s5_typ);
        u16 v = (u16)((acpi.s5_typ & 7) << 10 | 1u << 13);
        svc(SVC_OUTW, acpi.pm1a_cnt, v, 0);
        if (acpi.pm1b_cnt)
            svc(SVC_OUTW, acpi.pm1b_cnt, v, 0);
    }
    wait_then_fail("still_running_2s_after_poweroff");
}

void acpi_reset(void)
{
    if (acpi_init() < 0)
        fail("no_acpi");
    if (!acpi.reset.addr)
        fail("no_reset_register");
    gprintf("reset=fadt space=%u addr=0x%lx value=0x%x\n", acpi.reset.space, acpi.reset.addr, acpi.reset_value);
    acpi_gas_write(&acpi.reset, acpi.reset_value);
    wait_then_fail("still_running_2s_after_reset");
}
