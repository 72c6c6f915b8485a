/* virtio_mmio.c — the virtio-mmio transport (register layout version 2) at CPL3, for the
 * devices the VMM lists on the command line as virtio_mmio.device=SIZE@ADDR:IRQ (the
 * convention Linux reads). Registers are 32-bit; like the PCI driver it never uses the
 * interrupt (completions are polled). */
#include "virtio.h"

#define MMIO_MAGIC 0x74726976u
enum {
    R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE_ID = 0x008,
    R_DEVICE_FEATURES = 0x010, R_DEVICE_FEATURES_SEL = 0x014,
    R_DRIVER_FEATURES = 0x020, R_DRIVER_FEATURES_SEL = 0x024,
    R_QUEUE_SEL = 0x030, R_QUEUE_NUM_MAX = 0x034, R_QUEUE_NUM = 0x038, R_QUEUE_READY = 0x044,
    R_QUEUE_NOTIFY = 0x050, R_INTERRUPT_STATUS = 0x060, R_INTERRUPT_ACK = 0x064, R_STATUS = 0x070,
    R_QUEUE_DESC_LOW = 0x080, R_QUEUE_DESC_HIGH = 0x084, R_QUEUE_DRIVER_LOW = 0x090,
    R_QUEUE_DRIVER_HIGH = 0x094, R_QUEUE_DEVICE_LOW = 0x0a0, R_QUEUE_DEVICE_HIGH = 0x0a4,
    R_CONFIG_GENERATION = 0x0fc, R_CONFIG = 0x100,
};

static volatile u32 *reg(struct vpci *v, u32 off) { return (volatile u32 *)(v->mmio + off); }
static u32 rd(struct vpci *v, u32 off) { return *reg(v, off); }
static void wr(struct vpci *v, u32 off, u32 val) { *reg(v, off) = val; }

int vmmio_probe(struct vpci *v, u64 base, u32 irq, u32 *device_id)
{
    memset(v, 0, sizeof *v);
    v->mmio = phys(base);
    v->mmio_irq = irq;
    if (rd(v, R_MAGIC) != MMIO_MAGIC || rd(v, R_VERSION) != 2 || !(*device_id = rd(v, R_DEVICE_ID))) {
        v->mmio = NULL;
        return -1;
    }
    v->devcfg = v->mmio + R_CONFIG;
    v->devcfg_len = 0x100;
    return 0;
}

u8 vmmio_status(struct vpci *v) { return (u8)rd(v, R_STATUS); }
u8 vmmio_cfg_gen(struct vpci *v) { return (u8)rd(v, R_CONFIG_GENERATION); }

int vmmio_reset(struct vpci *v)
{
    wr(v, R_STATUS, 0);
    u64 deadline = rdtsc() + tsc_khz * 2000;
    while (rd(v, R_STATUS) != 0)
        if ((s64)(rdtsc() - deadline) > 0)
            return -1;
        else
            cpu_relax();
    return 0;
}

int vmmio_negotiate(struct vpci *v, u64 wanted)
{
    if (vmmio_reset(v) < 0)
        return -1;
    wr(v, R_STATUS, VIRTIO_ACKNOWLEDGE);
    wr(v, R_STATUS, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER);
    wr(v, R_DEVICE_FEATURES_SEL, 0);
    u64 lo = rd(v, R_DEVICE_FEATURES);
    wr(v, R_DEVICE_FEATURES_SEL, 1);
    v->offered = lo | (u64)rd(v, R_DEVICE_FEATURES) << 32;
    if (!(v->offered & BIT(VIRTIO_F_VERSION_1)))
        return -1;
    v->features = v->offered & wanted;
    wr(v, R_DRIVER_FEATURES_SEL, 0);
    wr(v, R_DRIVER_FEATURES, (u32)v->features);
    wr(v, R_DRIVER_FEATURES_SEL, 1);
    wr(v, R_DRIVER_FEATURES, (u32)(v->features >> 32));
    wr(v, R_STATUS, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK);
    if (!(rd(v, R_STATUS) & VIRTIO_FEATURES_OK)) {
        wr(v, R_STATUS, VIRTIO_FAILED);
        return -1;
    }
    return 0;
}

int vmmio_queue_setup(struct vpci *v, struct virtq *q, u16 index, u16 max_size)
{
    wr(v, R_QUEUE_SEL, index);
    if (rd(v, R_QUEUE_READY))
        return -1; /* the spec: the queue must not be in use */
    u32 dev_max = rd(v, R_QUEUE_NUM_MAX);
    if (!dev_max)
        return -1;
    u16 size = vq_setup(q, index, (u16)(dev_max > 32768 ? 32768 : dev_max), max_size,
                        !!(v->features & BIT(VIRTIO_F_EVENT_IDX)));
    q->notify = NULL;
    q->notify32 = reg(v, R_QUEUE_NOTIFY);
    wr(v, R_QUEUE_NUM, size);
    wr(v, R_QUEUE_DESC_LOW, (u32)(u64)q->desc);
    wr(v, R_QUEUE_DESC_HIGH, (u32)((u64)q->desc >> 32));
    wr(v, R_QUEUE_DRIVER_LOW, (u32)(u64)q->avail);
    wr(v, R_QUEUE_DRIVER_HIGH, (u32)((u64)q->avail >> 32));
    wr(v, R_QUEUE_DEVICE_LOW, (u32)(u64)q->used);
    wr(v, R_QUEUE_DEVICE_HIGH, (u32)((u64)q->used >> 32));
    wr(v, R_QUEUE_READY, 1);
    return 0;
}

void vmmio_driver_ok(struct vpci *v)
{
    wr(v, R_STATUS, VIRTIO_ACKNOWLEDGE | VIRTIO_DRIVER | VIRTIO_FEATURES_OK | VIRTIO_DRIVER_OK);
}

/* Route the device's IOAPIC pin to `vector` on the LAPIC of `apic_id`: fixed delivery,
 * physical destination, edge, active high (what the DSDT and the command line say), then
 * unmask it. The IOAPIC's index/data registers are MMIO, so this runs at CPL3. */
void vmmio_irq_route(struct vpci *v, u32 apic_id, u8 vector)
{
    volatile u32 *sel = phys(IOAPIC_BASE), *win = phys(IOAPIC_BASE + 0x10);
    *sel = 0x10 + 2 * v->mmio_irq + 1;
    *win = apic_id << 24;
    *sel = 0x10 + 2 * v->mmio_irq;
    *win = vector;
}

/* Read and acknowledge InterruptStatus (bit 0: used buffer, bit 1: config change). */
u32 vmmio_irq_ack(struct vpci *v)
{
    u32 st = rd(v, R_INTERRUPT_STATUS);
    wr(v, R_INTERRUPT_ACK, st);
    return st;
}

/* "4K@0xd1000000:5" */
int vmmio_cmdline_devices(u64 *base, u32 *irq, int max)
{
    char buf[64];
    int n = 0;
    for (unsigned i = 0; n < max && cmdline_get_nth("virtio_mmio.device", i, buf, sizeof buf); i++) {
        const char *p;
        u64 size = parse_u64(buf, &p);
        if (!size || *p != '@')
            continue;
        u64 addr = parse_u64(p + 1, &p);
        if (!addr || *p != ':')
            continue;
        base[n] = addr;
        irq[n] = (u32)parse_u64(p + 1, NULL);
        n++;
    }
    return n;
}
