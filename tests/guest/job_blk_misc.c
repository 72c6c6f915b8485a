/* job_blk_misc.c — two small virtio-blk jobs:
 *   blk-discard: disk=I offset_mib=A (0) mib=B (1). Stamps [A, A+2B) MiB,
 *     DISCARDs [A, A+B) (content afterwards unspecified, only the status is
 *     checked) and WRITE_ZEROES [A+B, A+2B), which must read back as zeros.
 *     Prints `discard=ok|unsupported write_zeroes=ok|unsupported`.
 *   blk-reset: disk=I mib=N (4). Init, verify, reset (status 0, wait until
 *     it reads 0), init again (features negotiated again), check the data
 *     written before the reset, verify afresh: `reset_reinit=ok`. */
#include "virtio.h"

struct dwz_seg { u64 sector; u32 num_sectors, flags; };

/* DISCARD or WRITE_ZEROES over [sector, sector+count), one segment per
 * request, split by the device's per-request maximum. Returns the first
 * non-OK status (or -1), 0 when all succeeded. */
static int range_op(struct blk_dev *b, u32 type, u64 sector, u64 count, u32 max)
{
    struct blk_req *r = alloc_dma(sizeof *r);
    struct dwz_seg *seg = alloc_dma(sizeof *seg);
    if (!max)
        max = 1u << 16;
    while (count) {
        u32 n = count < max ? (u32)count : max;
        seg->sector = sector, seg->num_sectors = n, seg->flags = 0;
        int st = blk_sync(b, 0, r, type, 0, seg, sizeof *seg);
        if (st != VIRTIO_BLK_S_OK)
            return st ? st : -1;
        sector += n, count -= n;
    }
    return 0;
}

int job_blk_discard(void)
{
    struct blk_opts o;
    blk_opts_from_cmdline(&o);
    int disk;
    struct blk_dev *b = blk_open_arg_disk(&o, &disk);
    u64 a = arg_u64("offset_mib", 0) << 20, len = arg_u64("mib", 1) << 20, bs = 4096;
    if ((a + 2 * len) / 512 > b->capacity || !len)
        fail("range_outside_disk");
    u64 mism = 0, serr = 0, ops[BLK_MAX_QUEUES] = { 0 };
    if (blk_verify_range(b, (u32)disk, a / bs, 2 * len / bs, (u32)bs, 7, 1, 0, &mism, &serr, ops, 16) || serr)
        fail("stamp_write");
    int bad = 0;
    const char *d = "unsupported", *wz = "unsupported";
    if (b->v.features & BIT(VIRTIO_BLK_F_DISCARD)) {
        int st = range_op(b, VIRTIO_BLK_T_DISCARD, a / 512, len / 512, b->max_discard_sectors);
        d = st ? "error" : "ok";
        if (st)
            gprintf("discard_status=%d\n", st), bad = 1;
    }
    if (b->v.features & BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
        int st = range_op(b, VIRTIO_BLK_T_WRITE_ZEROES, (a + len) / 512, len / 512, b->max_write_zeroes_sectors);
        wz = st ? "error" : "ok";
        if (st) {
            gprintf("write_zeroes_status=%d\n", st), bad = 1;
        } else {
            /* Every byte of the range must now read as zero. */
            struct blk_req *r = alloc_dma(sizeof *r);
            u64 *buf = alloc_dma(bs), nonzero = 0;
            for (u64 off = a + len; off < a + 2 * len; off += bs) {
                if (blk_sync(b, 0, r, VIRTIO_BLK_T_IN, off / 512, buf, (u32)bs) != VIRTIO_BLK_S_OK)
                    fail("read_back");
                for (u64 i = 0; i < bs / 8; i++)
                    nonzero += buf[i] != 0;
            }
            if (nonzero) {
                gprintf("write_zeroes_nonzero_words=%lu\n", nonzero);
                wz = "not_zero", bad = 1;
            }
        }
    }
    gprintf("discard=%s write_zeroes=%s max_discard_sectors=%u max_write_zeroes_sectors=%u\n", d, wz,
            b->max_discard_sectors, b->max_write_zeroes_sectors);
    return bad ? -1 : 0;
}

int job_blk_reset(void)
{
    struct blk_opts o;
    blk_opts_from_cmdline(&o);
    blk_discover();
    int disk = blk_disk_arg(0);
    if (disk < 0 || disk >= blk_count)
        fail("no_such_disk");
    struct blk_dev *b = &blk_devs[disk];
    u64 mib = arg_u64("mib", 4);
    if (blk_init(b, &o) < 0)
        fail("blk_init");
    if (blk_quick_verify(disk, mib, 11) < 0)
        fail("verify_before_reset");
    u64 t0 = rdtsc();
    if (vpci_reset(&b->v) < 0)
        fail("reset_timeout");
    gprintf("reset_us=%lu status_after_reset=0x%x\n", (rdtsc() - t0) * 1000 / tsc_khz, vpci_status(&b->v));
    if (blk_init(b, &o) < 0)
        fail("reinit");
    /* What was written (and flushed) before the reset is still there. */
    u64 mism = 0, serr = 0, ops[BLK_MAX_QUEUES] = { 0 };
    u64 blocks = (mib << 20) / 4096;
    if (blocks * 8 > b->capacity)
        blocks = b->capacity / 8;
    if (blk_verify_range(b, (u32)disk, 0, blocks, 4096, 11, 0, 1, &mism, &serr, ops, 8) || mism || serr)
        fail("data_lost_across_reset");
    if (blk_quick_verify(disk, mib, 12) < 0)
        fail("verify_after_reset");
    gprintf("reset_reinit=ok\n");
    return 0;
}
