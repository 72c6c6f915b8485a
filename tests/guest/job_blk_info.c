/* job_blk_info.c — job=blk-info: lists every virtio-blk device on PCI bus
 * 0 (slot order) after a full driver init, with its GET_ID serial:
 *   blk dev=I pci=BB:DD.F id=0x1042 capacity_sectors=N blk_size=N num_queues=N features=0x... serial=...
 *   blk_devices=N
 * Fails if any device cannot be initialised. */
#include "virtio.h"

int job_blk_info(void)
{
    struct blk_opts o;
    blk_opts_from_cmdline(&o);
    blk_discover();
    for (int i = 0; i < blk_count; i++) {
        struct blk_dev *b = &blk_devs[i];
        const struct pci_dev *p = b->v.pci;
        int rc = blk_init(b, &o);
        if (!p) { /* virtio-mmio */
            if (rc < 0)
                fail("blk_init");
            gprintf("blk dev=%d mmio=0x%lx irq=%u id=0x%04x capacity_sectors=%lu num_queues=%u features=0x%lx\n", i,
                    (u64)b->v.mmio, b->v.mmio_irq, b->device_id, b->capacity, b->num_queues, b->v.features);
            continue;
        }
        if (rc < 0) {
            gprintf("blk dev=%d pci=%02x:%02x.%x init_error=%d status=0x%x\n", i, p->bus, p->dev, p->fn, -rc,
                    vpci_status(&b->v));
            fail("blk_init");
        }
        char serial[21];
        int st = blk_get_serial(b, serial);
        gprintf("blk dev=%d pci=%02x:%02x.%x id=0x%04x capacity_sectors=%lu blk_size=%u num_queues=%u "
                "features=0x%lx offered=0x%lx serial=%s%s\n",
                i, p->bus, p->dev, p->fn, b->device_id, b->capacity, b->blk_size, b->num_queues, b->v.features,
                b->v.offered, st == VIRTIO_BLK_S_OK ? serial : "none", b->ro ? " readonly=1" : "");
        for (int k = 0; k < 6; k++)
            if (p->bar_size[k] && !(p->bar_flags[k] & 1))
                gprintf("blk_bar dev=%d bar=%d addr=0x%lx size=0x%lx assigned_by_kit=%u\n", i, k, p->bar[k],
                        p->bar_size[k], (p->bar_assigned >> k) & 1);
    }
    gprintf("blk_devices=%d\n", blk_count);
    return 0;
}
