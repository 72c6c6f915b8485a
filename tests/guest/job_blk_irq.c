/* job_blk_irq.c — blk-irq: completions signalled by an interrupt instead of polling, so
 * the VMM's interrupt path is exercised end to end: MSI-X (table, KVM GSI route, irqfd)
 * for a PCI disk, the IOAPIC pin (irqfd on the GSI, InterruptStatus/ACK) for a
 * virtio-mmio disk. disk=I n=N (200). Queue 0 is routed to IRQ_VECTOR on this CPU's
 * LAPIC; each read is submitted alone and must be followed by exactly the interrupt that
 * announces it.
 * Prints `irq requests=N interrupts=N wait_us_p50=... wait_us_max=...`. */
#include "virtio.h"

int job_blk_irq(void)
{
    struct blk_opts o;
    blk_opts_from_cmdline(&o);
    o.queues = 1;
    int disk;
    struct blk_dev *b = blk_open_arg_disk(&o, &disk);
    u32 r4[4];
    vcpuid(1, 0, r4);
    int mmio = b->v.mmio != NULL;
    if (mmio) {
        vmmio_irq_route(&b->v, r4[1] >> 24, IRQ_VECTOR);
        gprintf("irq_route=ioapic pin=%u\n", b->v.mmio_irq);
    } else {
        /* A vector past the MSI-X table must read back as NO_VECTOR. */
        b->v.common->queue_select = 0;
        b->v.common->queue_msix_vector = 0x7ff0;
        if (b->v.common->queue_msix_vector != 0xffff)
            fail("bad_vector_accepted");
        gprintf("bad_vector_refused=1\n");
        if (vpci_msix_route(&b->v, 0, 1, r4[1] >> 24, IRQ_VECTOR) < 0)
            fail("msix_setup");
    }
    u64 not_used_bit = 0;
    svc(SVC_IRQ_ENABLE, 0, 0, 0);

    struct virtq *q = &b->q[0];
    volatile u16 *used_event = &q->avail->ring[q->size];
    struct blk_req *r = alloc_dma(sizeof *r);
    void *buf = alloc_dma(4096);
    u64 n = arg_u64("n", 200), waits[64] = { 0 }, max_wait = 0, late = 0;
    q->avail->flags = 0; /* interrupts wanted */
    for (u64 i = 0; i < n; i++) {
        u64 before = irq_count;
        if (q->event_idx)
            *used_event = q->last_used; /* interrupt on the next used entry */
        mfence();
        if (blk_submit(b, 0, r, VIRTIO_BLK_T_IN, (i * 8) % (b->capacity - 8), buf, 4096, 0) < 0)
            fail("submit");
        u64 t0 = rdtsc();
        vq_kick(q);
        while (irq_count == before) {
            if ((s64)(rdtsc() - t0) > (s64)ms_to_tsc(1000)) {
                gprintf("irq_timeout request=%lu used_idx=%u\n", (unsigned long)i, q->used->idx);
                fail("no_interrupt_within_1s");
            }
            cpu_relax();
        }
        if (mmio && !(vmmio_irq_ack(&b->v) & 1))
            not_used_bit++; /* the interrupt must say "used buffer" */
        u64 us = (rdtsc() - t0) * 1000 / tsc_khz;
        if (us > max_wait)
            max_wait = us;
        waits[us < 63 ? us : 63]++;
        struct blk_req *done = blk_poll(b, 0);
        if (done != r) {
            late++; /* the interrupt came before the used entry was visible: not allowed */
            while (!(done = blk_poll(b, 0)))
                cpu_relax();
        }
        if (r->status != VIRTIO_BLK_S_OK)
            fail("status");
    }
    u64 seen = 0, p50 = 0;
    for (unsigned k = 0; k < 64; k++) {
        seen += waits[k];
        if (seen * 2 >= n) {
            p50 = k;
            break;
        }
    }
    gprintf("irq requests=%lu interrupts=%lu wait_us_p50=%lu wait_us_max=%lu used_before_irq_violations=%lu\n",
            (unsigned long)n, (unsigned long)irq_count, (unsigned long)p50, (unsigned long)max_wait, (unsigned long)late);
    if (late)
        fail("interrupt_before_used_entry");
    if (not_used_bit)
        fail("interrupt_status_without_used_bit");
    return 0;
}
