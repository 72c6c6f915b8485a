/* pci.c — PCI bus 0 discovery through configuration mechanism #1 (ports
 * 0xCF8/0xCFC). Port I/O is a CPL0 service (SVC_PCI_READ/WRITE: address and
 * data in one round trip), so this is the slow, once-per-boot part; the data
 * path afterwards is MMIO at CPL3.
 *
 * No firmware is assumed: a memory BAR that reads 0 (never assigned, as on
 * ringvisor) — or one placed above 4 GiB, which the kit does not map as
 * MMIO — is given an address from PCI_WINDOW, skipping every range other
 * functions on bus 0 already decode (SeaBIOS under QEMU assigns BARs too).
 * I/O BARs are left alone: modern virtio needs none. */
#include "guest.h"

#define PCI_WINDOW_START 0xe0000000ul
#define PCI_WINDOW_END 0xf0000000ul

#define PCI_COMMAND 0x04
#define PCI_CMD_IO 0x1
#define PCI_CMD_MEM 0x2
#define PCI_CMD_MASTER 0x4

static u32 cf8(const struct pci_dev *d, u32 off)
{
    return 0x80000000u | (u32)d->bus << 16 | (u32)d->dev << 11 | (u32)d->fn << 8 | (off & 0xfc);
}

u32 pci_read32(const struct pci_dev *d, u32 off) { return (u32)svc(SVC_PCI_READ, cf8(d, off), 0, 0); }
void pci_write32(const struct pci_dev *d, u32 off, u32 v) { svc(SVC_PCI_WRITE, cf8(d, off), v, 0); }
u8 pci_read8(const struct pci_dev *d, u32 off) { return (u8)(pci_read32(d, off) >> (8 * (off & 3))); }
u16 pci_read16(const struct pci_dev *d, u32 off) { return (u16)(pci_read32(d, off) >> (8 * (off & 2))); }

/* Command is the low half of dword 4; the high half is Status, whose error
 * bits are write-1-to-clear, so write zeros there. */
static void set_command(const struct pci_dev *d, u16 cmd) { pci_write32(d, PCI_COMMAND, cmd); }

/* Sizes the memory BARs of one function (decode off meanwhile, so the probe
 * pattern is never live). 64-bit BARs take two slots; the upper slot is
 * marked size 0. */
static void size_bars(struct pci_dev *d)
{
    u16 cmd = pci_read16(d, PCI_COMMAND);
    set_command(d, cmd & (u16)~(PCI_CMD_MEM | PCI_CMD_IO));
    for (int i = 0; i < 6; i++) {
        u32 off = 0x10 + 4 * (u32)i;
        u32 lo = pci_read32(d, off);
        d->bar[i] = 0, d->bar_size[i] = 0, d->bar_flags[i] = lo & 0xf;
        if (lo & 1) { /* I/O BAR: not ours to touch */
            d->bar[i] = lo & ~3u;
            continue;
        }
        int is64 = ((lo >> 1) & 3) == 2 && i < 5;
        u32 hi = is64 ? pci_read32(d, off + 4) : 0;
        pci_write32(d, off, 0xffffffff);
        u32 mlo = pci_read32(d, off) & ~0xfu;
        pci_write32(d, off, lo);
        u64 mask = mlo;
        if (is64) {
            pci_write32(d, off + 4, 0xffffffff);
            mask |= (u64)pci_read32(d, off + 4) << 32;
            pci_write32(d, off + 4, hi);
        } else {
            mask |= 0xffffffff00000000ul;
        }
        d->bar[i] = ((u64)hi << 32) | (lo & ~0xfu);
        d->bar_size[i] = mlo ? ~mask + 1 : 0;
        if (is64) {
            i++;
            d->bar_flags[i] = 0xff; /* upper half of the previous BAR */
        }
    }
    set_command(d, cmd);
}

int pci_scan(struct pci_dev *out, int max)
{
    int n = 0;
    for (u8 dev = 0; dev < 32; dev++) {
        for (u8 fn = 0; fn < 8 && n < max; fn++) {
            struct pci_dev *d = &out[n];
            memset(d, 0, sizeof *d);
            d->dev = dev, d->fn = fn;
            u32 id = pci_read32(d, 0);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;
                continue;
            }
            d->vendor = (u16)id, d->device = (u16)(id >> 16);
            d->class_rev = pci_read32(d, 0x08);
            u8 htype = (u8)(pci_read32(d, 0x0c) >> 16);
            if ((htype & 0x7f) == 0)
                size_bars(d);
            n++;
            if (fn == 0 && !(htype & 0x80))
                break; /* single-function device */
        }
    }
    return n;
}

/* Is [a, a+size) decoded by any memory BAR in the list (other than skip)? */
static int window_busy(const struct pci_dev *all, int n, u64 a, u64 size)
{
    for (int k = 0; k < n; k++)
        for (int i = 0; i < 6; i++) {
            const struct pci_dev *o = &all[k];
            if ((o->bar_flags[i] & 1) || !o->bar_size[i] || !o->bar[i])
                continue;
            if (a < o->bar[i] + o->bar_size[i] && o->bar[i] < a + size)
                return 1;
        }
    return 0;
}

/* Gives every unassigned (or above-4-GiB) memory BAR of all[idx] an
 * address in the window, then turns on memory decode and bus mastering
 * (the device DMAs into our rings). Returns 0, or -1 if the window is full. */
int pci_enable(struct pci_dev *all, int n, int idx)
{
    struct pci_dev *d = &all[idx];
    char force[4] = "0";
    /* pci_reassign=1: ignore firmware's addresses, so the no-firmware path
     * (ringvisor's) can be exercised under QEMU + SeaBIOS too. */
    cmdline_get("pci_reassign", force, sizeof force);
    if (force[0] == '1')
        for (int i = 0; i < 6; i++)
            if (!(d->bar_flags[i] & 1) && d->bar_flags[i] != 0xff)
                d->bar[i] = 0;
    u16 cmd = pci_read16(d, PCI_COMMAND);
    set_command(d, cmd & (u16)~PCI_CMD_MEM);
    for (int i = 0; i < 6; i++) {
        u64 size = d->bar_size[i];
        if ((d->bar_flags[i] & 1) || !size || (d->bar[i] && d->bar[i] + size <= (1ul << 32)))
            continue;
        u64 a = PCI_WINDOW_START;
        for (;;) {
            a = (a + size - 1) & ~(size - 1); /* BARs are naturally aligned */
            if (a + size > PCI_WINDOW_END)
                return -1;
            if (!window_busy(all, n, a, size))
                break;
            a += size;
        }
        u32 off = 0x10 + 4 * (u32)i;
        pci_write32(d, off, (u32)a | (d->bar_flags[i] & 0xf));
        if (((d->bar_flags[i] >> 1) & 3) == 2)
            pci_write32(d, off + 4, (u32)(a >> 32));
        d->bar[i] = a;
        d->bar_assigned |= 1u << i;
    }
    set_command(d, (u16)(cmd | PCI_CMD_MEM | PCI_CMD_MASTER));
    return 0;
}

/* Offset of the next capability with this id after `prev` (0: from the
 * list head at 0x34), 0 when there is none. Bounded: a looping list from a
 * broken device must not hang the guest. */
u8 pci_cap_next(const struct pci_dev *d, u8 prev, u8 id)
{
    if (!(pci_read16(d, 0x06) & 0x10)) /* Status.CapabilitiesList */
        return 0;
    u8 off = prev ? (u8)(pci_read32(d, prev) >> 8) : pci_read8(d, 0x34);
    for (int guard = 0; off >= 0x40 && guard < 48; guard++) {
        off &= 0xfc;
        u32 hdr = pci_read32(d, off);
        if ((u8)hdr == id)
            return off;
        off = (u8)(hdr >> 8);
    }
    return 0;
}
