/* job_blk_irq.c — blk-irq: completions signalled by an interrupt instead of polling, so
 * the VMM's interrupt path is exercised end to end: MSI-X (table, KVM GSI route, irqfd)
 * for a PCI disk, the IOAPIC pin (irqfd on the GSI, InterruptStatus/ACK) for a
 * virtio-mmio disk. disk=I n=N (200). Queue 0 is routed to IRQ_VECTOR on this CPU's
 * LAPIC; each read is submitted alone and must be followed by exactly the interrupt that
 * announces it.
 * Then, on PCI, a masked vector must hold its interrupt and show it in the PBA.
 * Prints `irq requests=N interrupts=N wait_us_p50=... wait_us_max=...` (and, on PCI,
 * `msix_masked entry=E pba_pending=1 delivered_on_unmask=1`). */
#include "virtio.h"

/* Wait up to ms for the interrupt count to leave `before`; returns whether it did. */
static int irq_within(u64 before, u64 ms)
{
    u64 t0 = rdtsc();
    while (irq_count == before)
        if ((s64)(rdtsc() - t0) > (s64)ms_to_tsc(ms))
            return 0;
    return 1;
}

/* A masked vector holds its interrupt: the request completes, no interrupt comes, the
 * vector's bit in the PBA is set; unmasking delivers it and clears the bit. Uses the
 * table's last entry, so a device with 64 queues (65 vectors) checks a bit past the
 * PBA's first qword. */
static void check_masked_vector(struct blk_dev *b, u32 apic_id, struct blk_req *r, void *buf)
{
    u16 last = (u16)(vpci_msix_size(&b->v) - 1);
    if (vpci_msix_route(&b->v, 0, last, apic_id, IRQ_VECTOR) < 0)
        fail("msix_setup_last_entry");
    volatile u32 *e = vpci_msix_entry(&b->v, last), *pba = vpci_msix_pba(&b->v);
    if (!pba)
        fail("no_pba");
    struct virtq *q = &b->q[0];
    e[3] = 1; /* masked */
    if (q->event_idx)
        q->avail->ring[q->size] = q->last_used; /* used_event: interrupt on the next entry */
    mfence();
    u64 before = irq_count;
    if (blk_submit(b, 0, r, VIRTIO_BLK_T_IN, 0, buf, 4096, 0) < 0)
        fail("submit");
    vq_kick(q);
    u64 t0 = rdtsc();
    while (!blk_poll(b, 0))
        if ((s64)(rdtsc() - t0) > (s64)ms_to_tsc(1000))
            fail("masked_request_not_completed");
    if (irq_within(before, 5))
        fail("interrupt_while_masked");
    u32 pending = (pba[last / 32] >> (last % 32)) & 1;
    if (!pending)
        fail("pba_bit_not_set");
    e[3] = 0; /* unmasked: the held interrupt comes now */
    if (!irq_within(before, 1000))
        fail("held_interrupt_not_delivered_on_unmask");
    if ((pba[last / 32] >> (last % 32)) & 1)
        fail("pba_bit_not_cleared");
    gprintf("msix_masked entry=%u pba_pending=%u delivered_on_unmask=1\n", last, pending);
}

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
    if (!mmio)
        check_masked_vector(b, r4[1] >> 24, r, buf);
    return 0;
}
