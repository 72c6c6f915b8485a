/* job_blk_verify.c — job=blk-verify: data integrity over whole disks.
 * Keys: disk=I|all (all), mib=N (whole disk up to 64), bs=4096, queues=N
 * (all offered), qd=N per queue (16), seed=N (1), write_only=1, read_only=1,
 * plus the driver keys (event_idx, indirect, qsize).
 * Every block gets a stamp (seed, disk, LBA + a pattern over the whole
 * block), FLUSH, then every block is read back and every byte compared:
 *   verify disk=I blocks=N bytes=N queues=Q mismatches=0 status_errors=0
 *   queue=Q ops=N           (per queue: every queue must have been used)
 * write_only=1: write + flush, print flushed=1, then spin at CPL3 forever
 * (the host SIGKILLs the VMM and checks the file). read_only=1: only read
 * and compare a stamp an earlier run wrote with the same seed.
 * A read-only disk (VIRTIO_BLK_F_RO): one write must fail with IOERR or
 * UNSUPP (ro_write_rejected=1), then reads only (compared with read_only=1). */
#include "virtio.h"

static int check_ro_write(struct blk_dev *b)
{
    struct blk_req *r = alloc_dma(sizeof *r);
    void *buf = alloc_dma(4096);
    int st = blk_sync(b, 0, r, VIRTIO_BLK_T_OUT, 0, buf, 4096);
    gprintf("ro_write_status=%d\n", st);
    return st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP;
}

static int verify_disk(int i, struct blk_opts *o)
{
    struct blk_dev *b = &blk_devs[i];
    if (blk_init(b, o) < 0)
        fail("blk_init");
    u64 bs = arg_u64("bs", 4096), seed = arg_u64("seed", 1);
    u64 cap_mib = (b->capacity * 512) >> 20;
    u64 mib = arg_u64("mib", cap_mib < 64 ? cap_mib : 64);
    u16 qd = (u16)arg_u64("qd", 16);
    int write_only = (int)arg_u64("write_only", 0), read_only = (int)arg_u64("read_only", 0);
    if (!bs || bs % 512 || bs > (1u << 20))
        fail("bad_bs");
    u64 bytes = mib << 20;
    if (bytes > b->capacity * 512)
        bytes = b->capacity * 512;
    u64 blocks = bytes / bs;
    int do_write = 1, do_read = 1;
    if (b->ro) {
        gprintf("readonly=1\n");
        if (!check_ro_write(b))
            fail("ro_write_accepted");
        gprintf("ro_write_rejected=1\n");
        do_write = 0;
        do_read = read_only ? 1 : 2;
    } else if (write_only) {
        do_read = 0;
    } else if (read_only) {
        do_write = 0;
    }
    u64 mism = 0, serr = 0, ops[BLK_MAX_QUEUES] = { 0 };
    u64 t0 = rdtsc();
    int rc = blk_verify_range(b, (u32)i, 0, blocks, (u32)bs, seed, do_write, do_read, &mism, &serr, ops, qd);
    u64 us = (rdtsc() - t0) * 1000 / tsc_khz;
    gprintf("verify disk=%d blocks=%lu bytes=%lu queues=%u mismatches=%lu status_errors=%lu us=%lu%s\n", i, blocks,
            blocks * bs, b->nq, mism, serr, us, rc ? " stalled=1" : "");
    for (u16 q = 0; q < b->nq; q++)
        gprintf("queue=%u ops=%lu notifies=%lu\n", q, ops[q], b->q[q].notifies);
    if (do_write && !rc)
        gprintf("%s\n", b->v.features & BIT(VIRTIO_BLK_F_FLUSH) ? "flushed=1" : "flush=unsupported");
    if (rc || mism || serr)
        return -1;
    for (u16 q = 0; q < b->nq; q++)
        if (!ops[q] && blocks >= b->nq)
            return -1;
    return 0;
}

int job_blk_verify(void)
{
    struct blk_opts o;
    blk_opts_from_cmdline(&o);
    blk_discover();
    int disk = blk_disk_arg(1), bad = 0;
    if (!blk_count || disk >= blk_count)
        fail("no_such_disk");
    for (int i = 0; i < blk_count; i++)
        if (disk < 0 || disk == i)
            bad |= verify_disk(i, &o);
    if (bad)
        fail("verify");
    if (arg_u64("write_only", 0)) {
        /* Everything acknowledged is flushed; now wait for the host's kill. */
        for (;;)
            cpu_relax();
    }
    return 0;
}
