/* virtio_pci.c — the modern (virtio 1.x) virtio-pci transport at CPL3.
 *
 * Everything is found through the vendor capabilities (id 0x09) in config
 * space — never through fixed BARs or offsets — so any VMM that lays the
 * structures out differently works: common (cfg_type 1), notify (2, with
 * notify_off_multiplier), ISR (3), device config (4). After discovery all
 * accesses are MMIO, which works at CPL3 on kvm_pvm. Interrupts are never
 * used: MSI-X stays disabled, every vector is written NO_VECTOR (0xffff). */
#include "virtio.h"

#define PCI_CAP_VNDR 0x09
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_ISR 3
#define CFG_DEVICE 4
#define NO_VECTOR 0xffff

/* Resolves (bar, offset, length) to a CPL3 pointer, checking that the
 * structure lies inside a memory BAR we know the size of. */
static volatile u8 *cap_ptr(const struct pci_dev *d, u8 bar, u32 off, u32 len, u32 min_len)
{
    if (bar > 5 || (d->bar_flags[bar] & 1) || d->bar_flags[bar] == 0xff || !d->bar[bar])
        return NULL;
    if (len < min_len || (u64)off + len > d->bar_size[bar])
        return NULL;
    return phys(d->bar[bar] + off);
}

int vpci_probe(struct vpci *v, struct pci_dev *all, int n, int idx)
{
    struct pci_dev *d = &all[idx];
    memset(v, 0, sizeof *v);
    v->pci = d;
    if (pci_enable(all, n, idx) < 0)
        return -1;
    /* First capability of each type wins (the spec's advice to drivers). */
    for (u8 c = pci_cap_next(d, 0, PCI_CAP_VNDR); c; c = pci_cap_next(d, c, PCI_CAP_VNDR)) {
        u32 w0 = pci_read32(d, c), w1 = pci_read32(d, c + 4);
        u8 cap_len = (u8)(w0 >> 16), type = (u8)(w0 >> 24), bar = (u8)w1;
        if (cap_len < 16)
            continue;
        u32 off = pci_read32(d, c + 8), len = pci_read32(d, c + 12);
        switch (type) {
        case CFG_COMMON:
            if (!v->common)
                v->common = (volatile void *)cap_ptr(d, bar, off, len, sizeof(struct virtio_pci_common_cfg));
            break;
        case CFG_NOTIFY:
            if (!v->notify_base && cap_len >= 20) {
                v->notify_base = cap_ptr(d, bar, off, len, 2);
                v->notify_mult = pci_read32(d, c + 16);
                v->notify_len = len;
            }
            break;
        case CFG_ISR:
            if (!v->isr)
                v->isr = cap_ptr(d, bar, off, len, 1);
            break;
        case CFG_DEVICE:
            if (!v->devcfg) {
                v->devcfg = cap_ptr(d, bar, off, len, 1);
                v->devcfg_len = len;
            }
            break;
        }
    }
    return v->common && v->notify_base ? 0 : -1;
}

u8 vpci_status(struct vpci *v) { return v->mmio ? vmmio_status(v) : v->common->device_status; }
u8 vpci_cfg_gen(struct vpci *v) { return v->mmio ? vmmio_cfg_gen(v) : v->common->config_generation; }

/* Writing 0 resets; the device is reset once status reads back 0 (it may
 * take a while if it has requests in flight). Bounded to 2 s. */
int vpci_reset(struct vpci *v)
{
    if (v->mmio)
        return vmmio_reset(v);
    v->common->device_status = 0;
    u64 deadline = rdtsc() + tsc_khz * 2000;
    while (v->common->device_status != 0)
        if ((s64)(rdtsc() - deadline) > 0)
            return -1;
        else
            cpu_relax();
    return 0;
}

/* reset -> ACKNOWLEDGE -> DRIVER -> features -> FEATURES_OK (read back).
 * Only features both sides have are written; VERSION_1 is required, as is
 * everything in `required` (bits of `wanted` we cannot live without). */
int vpci_negotiate(struct vpci *v, u64 wanted)
{
    volatile struct virtio_pci_common_cfg *c = v->common;
    if (v->mmio)
        return vmmio_negotiate(v, wanted);
    if (vpci_reset(v) < 0)
        return -1;
    c->device_status = VIRTIO_ACKNOWLEDGE;
    c->device_status = VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER;
    c->device_feature_select = 0;
    u64 lo = c->device_feature;
    c->device_feature_select = 1;
    v->offered = lo | (u64)c->device_feature << 32;
    if (!(v->offered & BIT(VIRTIO_F_VERSION_1)))
        return -1;
    v->features = v->offered & wanted;
    c->driver_feature_select = 0;
    c->driver_feature = (u32)v->features;
    c->driver_feature_select = 1;
    c->driver_feature = (u32)(v->features >> 32);
    c->device_status = VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK;
    if (!(c->device_status & VIRTIO_FEATURES_OK)) {
        c->device_status = VIRTIO_FAILED;
        return -1;
    }
    c->config_msix_vector = NO_VECTOR;
    return 0;
}

/* Sets up queue `index` with at most max_size entries (the device may offer
 * fewer; split rings want a power of two). Ring memory is allocated on the
 * first call and reused across resets. */
int vpci_queue_setup(struct vpci *v, struct virtq *q, u16 index, u16 max_size)
{
    if (v->mmio)
        return vmmio_queue_setup(v, q, index, max_size);
    volatile struct virtio_pci_common_cfg *c = v->common;
    c->queue_select = index;
    u16 dev_max = c->queue_size;
    if (!dev_max)
        return -1;
    u16 size = vq_setup(q, index, dev_max, max_size, !!(v->features & BIT(VIRTIO_F_EVENT_IDX)));
    u64 off = (u64)c->queue_notify_off * v->notify_mult;
    if (off + 2 > v->notify_len)
        return -1;
    q->notify = (volatile u16 *)(v->notify_base + off);
    c->queue_size = size;
    c->queue_msix_vector = NO_VECTOR; /* we poll */
    c->queue_desc_lo = (u32)(u64)q->desc;
    c->queue_desc_hi = (u32)((u64)q->desc >> 32);
    c->queue_driver_lo = (u32)(u64)q->avail;
    c->queue_driver_hi = (u32)((u64)q->avail >> 32);
    c->queue_device_lo = (u32)(u64)q->used;
    c->queue_device_hi = (u32)((u64)q->used >> 32);
    c->queue_enable = 1;
    return 0;
}

void vpci_driver_ok(struct vpci *v)
{
    if (v->mmio) {
        vmmio_driver_ok(v);
        return;
    }
    v->common->device_status = VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK | VIRTIO_DRIVER_OK;
}

/* The MSI-X capability's offset in config space, or 0 (virtio-mmio, or none). */
static u8 msix_cap(struct vpci *v) { return v->pci ? pci_cap_next(v->pci, 0, 0x11) : 0; }

u16 vpci_msix_size(struct vpci *v)
{
    u8 cap = msix_cap(v);
    return cap ? (u16)(((pci_read32(v->pci, cap) >> 16) & 0x7ff) + 1) : 0;
}

/* The table entry (4 dwords) or the PBA (one bit per entry, in whole qwords), through the
 * BAR and offset the capability names; NULL when outside what we know of the BAR. */
volatile u32 *vpci_msix_entry(struct vpci *v, u16 entry)
{
    u8 cap = msix_cap(v);
    if (!cap || entry >= vpci_msix_size(v))
        return NULL;
    u32 t = pci_read32(v->pci, cap + 4);
    volatile u8 *table = cap_ptr(v->pci, t & 7, t & ~7u, (entry + 1u) * 16, (entry + 1u) * 16);
    return table ? (volatile u32 *)(table + 16u * entry) : NULL;
}

volatile u32 *vpci_msix_pba(struct vpci *v)
{
    u8 cap = msix_cap(v);
    if (!cap)
        return NULL;
    u32 p = pci_read32(v->pci, cap + 8), len = (vpci_msix_size(v) + 63u) / 64 * 8;
    return (volatile u32 *)cap_ptr(v->pci, p & 7, p & ~7u, len, len);
}

/* Route queue `queue` to MSI-X table entry `entry`, delivering `vector` to the LAPIC of
 * `apic_id` (fixed delivery, edge), and enable MSI-X. Only the blk-irq job uses this:
 * everything else polls. Returns 0, or -1 when the device has no MSI-X or refuses. */
int vpci_msix_route(struct vpci *v, u16 queue, u16 entry, u32 apic_id, u8 vector)
{
    volatile u32 *e = vpci_msix_entry(v, entry);
    if (!e)
        return -1;
    struct pci_dev *d = v->pci;
    u8 cap = msix_cap(v);
    u32 ctl = pci_read32(d, cap);
    e[0] = 0xfee00000u | (apic_id << 12);
    e[1] = 0;
    e[2] = vector;
    e[3] = 0; /* unmasked */
    pci_write32(d, cap, (ctl & ~0x40000000u) | 0x80000000u); /* enable, function not masked */
    v->common->queue_select = queue;
    v->common->queue_msix_vector = entry;
    return v->common->queue_msix_vector == entry ? 0 : -1;
}
