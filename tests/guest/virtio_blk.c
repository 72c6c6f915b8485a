/* virtio_blk.c — virtio-blk on top of virtio_pci.c/virtq.c: feature
 * negotiation, device config, queue setup, and building request chains
 * (header | data | status, or the same inside an indirect table). */
#include "virtio.h"

/* Device-specific config fields we read (offsets in virtio_blk_config). */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_NUM_QUEUES 34
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_WRITE_ZEROES_SECTORS 48

static u32 cfg32(struct blk_dev *b, u32 off)
{
    return off + 4 <= b->v.devcfg_len ? *(volatile u32 *)(b->v.devcfg + off) : 0;
}
static u16 cfg16(struct blk_dev *b, u32 off)
{
    return off + 2 <= b->v.devcfg_len ? *(volatile u16 *)(b->v.devcfg + off) : 0;
}

/* Config fields wider than one access are read until config_generation
 * is stable, as the spec asks. */
static void read_config(struct blk_dev *b)
{
    u64 f = b->v.features;
    u8 gen;
    do {
        gen = vpci_cfg_gen(&b->v);
        b->capacity = cfg32(b, CFG_CAPACITY) | (u64)cfg32(b, CFG_CAPACITY + 4) << 32;
        b->size_max = f & BIT(VIRTIO_BLK_F_SIZE_MAX) ? cfg32(b, CFG_SIZE_MAX) : 0;
        b->seg_max = f & BIT(VIRTIO_BLK_F_SEG_MAX) ? cfg32(b, CFG_SEG_MAX) : 0;
        b->blk_size = f & BIT(VIRTIO_BLK_F_BLK_SIZE) ? cfg32(b, CFG_BLK_SIZE) : 512;
        b->num_queues = f & BIT(VIRTIO_BLK_F_MQ) ? cfg16(b, CFG_NUM_QUEUES) : 1;
        b->max_discard_sectors = f & BIT(VIRTIO_BLK_F_DISCARD) ? cfg32(b, CFG_MAX_DISCARD_SECTORS) : 0;
        b->max_write_zeroes_sectors = f & BIT(VIRTIO_BLK_F_WRITE_ZEROES) ? cfg32(b, CFG_MAX_WRITE_ZEROES_SECTORS) : 0;
    } while (gen != vpci_cfg_gen(&b->v));
    if (!b->num_queues)
        b->num_queues = 1;
    if (!b->blk_size)
        b->blk_size = 512;
    b->ro = !!(f & BIT(VIRTIO_BLK_F_RO));
}

/* Full (re)initialisation: reset, negotiate, read config, set up queues,
 * DRIVER_OK. Returns 0 or a negative step number for the report. */
int blk_init(struct blk_dev *b, const struct blk_opts *o)
{
    u64 want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_BLK_F_SIZE_MAX) | BIT(VIRTIO_BLK_F_SEG_MAX) |
               BIT(VIRTIO_BLK_F_RO) | BIT(VIRTIO_BLK_F_BLK_SIZE) | BIT(VIRTIO_BLK_F_FLUSH) | BIT(VIRTIO_BLK_F_MQ) |
               BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES);
    if (o->event_idx)
        want |= BIT(VIRTIO_F_EVENT_IDX);
    if (o->indirect)
        want |= BIT(VIRTIO_F_INDIRECT_DESC);
    if (vpci_negotiate(&b->v, want) < 0)
        return -1;
    read_config(b);
    u16 nq = b->num_queues;
    if (o->queues && nq > o->queues)
        nq = o->queues;
    if (nq > BLK_MAX_QUEUES)
        nq = BLK_MAX_QUEUES;
    for (u16 i = 0; i < nq; i++)
        if (vpci_queue_setup(&b->v, &b->q[i], i, o->qsize) < 0)
            return -2;
    b->nq = nq;
    b->indirect = o->indirect && (b->v.features & BIT(VIRTIO_F_INDIRECT_DESC));
    vpci_driver_ok(&b->v);
    return 0;
}

/* Queues one request on queue q (no notification: the caller kicks once
 * per batch). Data-less types (FLUSH) use a 2-descriptor chain. */
int blk_submit(struct blk_dev *b, u16 q, struct blk_req *r, u32 type, u64 sector, void *buf, u32 len, int indirect)
{
    struct vq_buf v[3];
    int n = 0;
    r->type = type;
    r->reserved = 0;
    r->sector = sector;
    r->status = 0xff; /* a device that never writes it cannot pass as OK */
    r->buf = buf;
    r->len = len;
    r->q = q;
    v[n++] = (struct vq_buf){ (u64)r, 16, 0 };
    if (len)
        v[n++] = (struct vq_buf){ (u64)buf, len, type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID };
    v[n++] = (struct vq_buf){ (u64)&r->status, 1, 1 };
    if (indirect && !(b->v.features & BIT(VIRTIO_F_INDIRECT_DESC)))
        indirect = 0;
    return vq_add(&b->q[q], v, n, indirect, r) < 0 ? -1 : 0;
}

struct blk_req *blk_poll(struct blk_dev *b, u16 q)
{
    return vq_poll(&b->q[q], NULL);
}

/* One request, waited for (5 s bound; NEEDS_RESET ends the wait early).
 * Returns the status byte, or -1. */
int blk_sync(struct blk_dev *b, u16 q, struct blk_req *r, u32 type, u64 sector, void *buf, u32 len)
{
    if (blk_submit(b, q, r, type, sector, buf, len, 0) < 0)
        return -1;
    vq_kick(&b->q[q]);
    u64 deadline = rdtsc() + ms_to_tsc(5000);
    for (u32 spin = 0;; spin++) {
        struct blk_req *done = blk_poll(b, q);
        if (done == r)
            return r->status;
        if ((spin & 1023) == 0 && ((vpci_status(&b->v) & VIRTIO_NEEDS_RESET) || (s64)(rdtsc() - deadline) > 0))
            return -1;
        cpu_relax();
    }
}

/* GET_ID: up to 20 bytes, NUL-padded only if shorter. */
int blk_get_serial(struct blk_dev *b, char out[21])
{
    struct blk_req *r = alloc_dma(sizeof *r + 32);
    char *id = (char *)(r + 1);
    int st = blk_sync(b, 0, r, VIRTIO_BLK_T_GET_ID, 0, id, 20);
    int n = 0;
    if (st == VIRTIO_BLK_S_OK)
        for (; n < 20 && id[n]; n++)
            out[n] = (id[n] > ' ' && id[n] < 127) ? id[n] : '_';
    out[n] = 0;
    return st;
}
