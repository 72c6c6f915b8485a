/* job_blk_hostile.c — job=blk-hostile: feeds disk 0 malformed rings, one
 * case at a time, each on a freshly reset + initialised device (queue 0,
 * 16 entries, INDIRECT_DESC negotiated), kicked unconditionally. After each,
 * for up to 1 s: a used element with a non-OK status -> error_status;
 * DEVICE_NEEDS_RESET (0x40) in the status -> needs_reset; a used element
 * with status OK -> completed_ok; nothing -> ignored. Only needs_reset and
 * error_status pass (a device that ignores garbage leaves the driver waiting
 * forever; one that "completes" it did something undefined).
 *   hostile case=NAME outcome=needs_reset|error_status|completed_ok|ignored
 * Then disk 1 must still work (hostile_second_disk=ok|absent) and disk 0
 * must work after a reset (hostile_disk0_after_reset=ok).
 * Bad addresses use 64 KiB buffers: QEMU maps non-RAM through a single
 * 4 KiB bounce buffer, so a 4 KiB one could be "served" from nowhere. */
#include "virtio.h"

#define QS 16
#define BIG (64u << 10)

struct hctx {
    struct blk_dev *b;
    struct virtq *q;
    struct blk_req *r;
    u8 *data;                 /* BIG bytes of real RAM */
    struct vq_desc *t1, *t2;  /* indirect tables */
};

static void set_desc(volatile struct vq_desc *d, u64 addr, u32 len, u16 flags, u16 next)
{
    d->addr = addr, d->len = len, d->flags = flags, d->next = next;
}

static void hdr(struct hctx *c, u32 type)
{
    c->r->type = type, c->r->reserved = 0, c->r->sector = 64, c->r->status = 0xff;
}

/* Publishes head 0 once (or `bump` entries at once) and notifies. */
static void publish(struct hctx *c, u16 bump)
{
    struct virtq *q = c->q;
    for (u16 i = 0; i < QS; i++)
        q->avail->ring[i] = 0;
    barrier();
    q->avail->idx = (u16)(q->avail->idx + bump);
    mfence();
    vq_notify(q);
}

/* Valid 3-descriptor IN request at desc[base..base+2], data at `addr`/`len`. */
static void in_chain(volatile struct vq_desc *d, struct hctx *c, u64 addr, u32 len)
{
    hdr(c, VIRTIO_BLK_T_IN);
    set_desc(&d[0], (u64)c->r, 16, VQ_DESC_F_NEXT, 1);
    set_desc(&d[1], addr, len, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 2);
    set_desc(&d[2], (u64)&c->r->status, 1, VQ_DESC_F_WRITE, 0);
}

static u16 build(struct hctx *c, const char *name)
{
    volatile struct vq_desc *d = c->q->desc;
    if (streq(name, "loop")) { /* 0 -> 1 -> 2 -> 1 -> ...: loops among device-writable descriptors */
        in_chain(d, c, (u64)c->data, 4096);
        d[2].flags |= VQ_DESC_F_NEXT;
        d[2].next = 1;
    } else if (streq(name, "chain_too_long")) { /* all QS descriptors, the last -> 1: never ends */
        hdr(c, VIRTIO_BLK_T_IN);
        set_desc(&d[0], (u64)c->r, 16, VQ_DESC_F_NEXT, 1);
        for (u16 i = 1; i < QS; i++)
            set_desc(&d[i], (u64)c->data + 512u * i, 512, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, (u16)(i + 1 < QS ? i + 1 : 1));
    } else if (streq(name, "addr_past_ram")) {
        in_chain(d, c, (alloc_ram_end() + (1ul << 30)) & ~0xffffful, BIG);
    } else if (streq(name, "addr_pci_hole")) {
        in_chain(d, c, 0xec000000ul, BIG); /* in the kit's BAR window, above any BAR it assigned */
    } else if (streq(name, "len_huge")) {
        in_chain(d, c, (u64)c->data, 0xfffffff0u);
    } else if (streq(name, "nested_indirect")) {
        in_chain((volatile struct vq_desc *)c->t2, c, (u64)c->data, 4096);
        set_desc(&c->t1[0], (u64)c->t2, 3 * 16, VQ_DESC_F_INDIRECT, 0);
        set_desc(&d[0], (u64)c->t1, 16, VQ_DESC_F_INDIRECT, 0);
    } else if (streq(name, "avail_idx_jump")) {
        in_chain(d, c, (u64)c->data, 4096);
        return QS + 5;
    } else if (streq(name, "status_readable")) {
        hdr(c, VIRTIO_BLK_T_OUT);
        set_desc(&d[0], (u64)c->r, 16, VQ_DESC_F_NEXT, 1);
        set_desc(&d[1], (u64)c->data, 4096, VQ_DESC_F_NEXT, 2);
        set_desc(&d[2], (u64)&c->r->status, 1, 0, 0);
    } else if (streq(name, "short_header")) {
        in_chain(d, c, (u64)c->data, 4096);
        d[0].len = 8;
    }
    return 1;
}

static const char *run_case(struct hctx *c, const char *name, const struct blk_opts *o)
{
    if (blk_init(c->b, o) < 0)
        return "init_failed";
    c->q = &c->b->q[0];
    publish(c, build(c, name));
    u64 deadline = rdtsc() + ms_to_tsc(1000);
    while ((s64)(rdtsc() - deadline) < 0) {
        if (vpci_status(&c->b->v) & VIRTIO_NEEDS_RESET)
            return "needs_reset";
        if (c->q->used->idx != 0) {
            barrier();
            u8 st = c->r->status;
            return st == VIRTIO_BLK_S_OK ? "completed_ok" : "error_status";
        }
        cpu_relax();
    }
    return "ignored";
}

int job_blk_hostile(void)
{
    static const char *const cases[] = {
        "loop", "chain_too_long", "addr_past_ram", "addr_pci_hole", "len_huge",
        "nested_indirect", "avail_idx_jump", "status_readable", "short_header",
    };
    struct blk_opts o;
    blk_opts_from_cmdline(&o);
    blk_discover();
    if (blk_count < 1)
        fail("no_disk");
    struct blk_opts ho = o;
    ho.qsize = QS, ho.queues = 1, ho.indirect = 1;
    struct hctx c = { .b = &blk_devs[0] };
    c.r = alloc_dma(sizeof *c.r);
    c.data = alloc_dma(BIG);
    c.t1 = alloc_dma(4096);
    c.t2 = alloc_dma(4096);
    int bad = 0;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *out = run_case(&c, cases[i], &ho);
        gprintf("hostile case=%s outcome=%s\n", cases[i], out);
        bad |= !streq(out, "needs_reset") && !streq(out, "error_status");
    }
    if (blk_count >= 2) {
        int ok = blk_init(&blk_devs[1], &o) == 0 && blk_quick_verify(1, 1, 21) == 0;
        gprintf("hostile_second_disk=%s\n", ok ? "ok" : "fail");
        bad |= !ok;
    } else {
        gprintf("hostile_second_disk=absent\n");
    }
    int ok0 = blk_init(c.b, &o) == 0 && blk_quick_verify(0, 1, 22) == 0;
    gprintf("hostile_disk0_after_reset=%s\n", ok0 ? "ok" : "fail");
    return bad || !ok0 ? -1 : 0;
}
