/* blk_common.c — what the virtio-blk jobs share: finding the disks (PCI
 * scan + transport probe, in slot order, then virtio-mmio devices from the
 * command line), command-line options, the
 * per-block stamp pattern, and a pipelined write/read/compare pass over a
 * range of blocks spread round-robin over the queues (blk-verify,
 * blk-reset, blk-hostile's follow-up checks). */
#include "virtio.h"

#define MAX_PCI 64
#define BLK_MAGIC 0x4b4c42544b495652ul /* "RVKITBLK" */

struct blk_dev blk_devs[BLK_MAX_DEVS];
int blk_count;
static struct pci_dev pci[MAX_PCI];

u64 ms_to_tsc(u64 ms) { return tsc_khz * ms; }

u64 arg_u64(const char *key, u64 dflt)
{
    char buf[24];
    if (cmdline_get(key, buf, sizeof buf) <= 0)
        return dflt;
    return parse_u64(buf, NULL);
}

/* event_idx=0|1 (default 1), indirect=0|1 (default 0), qsize=N (default
 * 256), queues=N (default 0 = all the device offers). */
void blk_opts_from_cmdline(struct blk_opts *o)
{
    o->event_idx = (int)arg_u64("event_idx", 1);
    o->indirect = (int)arg_u64("indirect", 0);
    u64 qs = arg_u64("qsize", 256);
    o->qsize = (u16)(qs < 2 ? 2 : qs > 32768 ? 32768 : qs);
    o->queues = (u16)arg_u64("queues", 0);
}

/* disk=I or disk=all; -1 means all. */
int blk_disk_arg(int dflt_all)
{
    char buf[16];
    if (cmdline_get("disk", buf, sizeof buf) <= 0)
        return dflt_all ? -1 : 0;
    if (streq(buf, "all"))
        return -1;
    return (int)parse_u64(buf, NULL);
}

static int is_virtio_blk(const struct pci_dev *d)
{
    return d->vendor == 0x1af4 && (d->device == 0x1042 || d->device == 0x1001);
}

/* Scans bus 0 once and probes every virtio-blk function (modern 0x1042, or
 * transitional 0x1001 through its modern capabilities). */
void blk_discover(void)
{
    if (blk_count)
        return;
    int n = pci_scan(pci, MAX_PCI);
    for (int i = 0; i < n && blk_count < BLK_MAX_DEVS; i++) {
        if (!is_virtio_blk(&pci[i]))
            continue;
        struct blk_dev *b = &blk_devs[blk_count];
        if (vpci_probe(&b->v, pci, n, i) < 0) {
            gprintf("blk_skip pci=%02x:%02x.%x id=0x%04x reason=no_modern_capabilities\n", pci[i].bus, pci[i].dev,
                    pci[i].fn, pci[i].device);
            continue;
        }
        b->device_id = pci[i].device;
        blk_count++;
    }
    /* then the virtio-mmio disks, in command-line order */
    u64 base[BLK_MAX_DEVS];
    u32 irq[BLK_MAX_DEVS], id;
    int m = vmmio_cmdline_devices(base, irq, BLK_MAX_DEVS);
    for (int i = 0; i < m && blk_count < BLK_MAX_DEVS; i++) {
        struct blk_dev *b = &blk_devs[blk_count];
        if (vmmio_probe(&b->v, base[i], irq[i], &id) < 0 || id != 2)
            continue;
        b->device_id = (u16)id;
        blk_count++;
    }
}

static u64 mix(u64 x)
{
    x += 0x9e3779b97f4a7c15ul;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ul;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebul;
    return x ^ (x >> 31);
}

static u64 word_at(u64 base, u64 i, u64 seed, u32 disk, u64 lba)
{
    switch (i) {
    case 0: return BLK_MAGIC;
    case 1: return seed;
    case 2: return disk;
    case 3: return lba;
    default: return base + i * 0x9e3779b97f4a7c15ul; /* cheap, distinct per word */
    }
}

static u64 block_base(u64 seed, u32 disk, u64 lba) { return mix(seed ^ mix((u64)disk << 48 ^ lba)); }

/* Block content: magic, seed, disk, lba, then words derived from all three. */
void blk_stamp(void *buf, u32 len, u64 seed, u32 disk, u64 lba)
{
    u64 *w = buf, base = block_base(seed, disk, lba);
    for (u64 i = 0; i < len / 8; i++)
        w[i] = word_at(base, i, seed, disk, lba);
}

/* Number of bytes that differ from the stamp (every byte is compared). */
u64 blk_check(const void *buf, u32 len, u64 seed, u32 disk, u64 lba)
{
    const u64 *w = buf;
    u64 base = block_base(seed, disk, lba), bad = 0;
    for (u64 i = 0; i < len / 8; i++) {
        u64 x = w[i] ^ word_at(base, i, seed, disk, lba);
        for (; x; x >>= 8)
            bad += (x & 0xff) != 0;
    }
    return bad;
}

/* Writes (stamps) and/or reads back + compares blocks [first, first+blocks)
 * of size bs, qd requests in flight per queue, block i on queue i % nq.
 * do_read=2 reads without comparing (status only). Returns 0, or -1 when the
 * device stops answering (5 s without progress, or NEEDS_RESET). */
int blk_verify_range(struct blk_dev *b, u32 disk, u64 first, u64 blocks, u32 bs, u64 seed, int do_write, int do_read,
                     u64 *mismatches, u64 *status_errors, u64 *ops_per_q, u16 qd)
{
    u64 mark = alloc_mark();
    u16 nq = b->nq;
    u16 per_req = b->indirect ? 1 : 3; /* ring descriptors per request */
    if (qd > b->q[0].size / per_req)
        qd = (u16)(b->q[0].size / per_req ? b->q[0].size / per_req : 1);
    if (qd > 64)
        qd = 64;
    struct blk_req *reqs = alloc_dma(sizeof(struct blk_req) * nq * qd);
    u8 *bufs = alloc_dma((u64)bs * nq * qd);
    struct blk_req *(*freelist)[64] = alloc_dma(sizeof(*freelist) * BLK_MAX_QUEUES); /* 8 KiB: not on the stack */
    u16 nfree[BLK_MAX_QUEUES];
    int rc = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        int writing = pass == 0;
        if (writing ? !do_write : !do_read)
            continue;
        for (u16 q = 0; q < nq; q++) {
            nfree[q] = qd;
            for (u16 k = 0; k < qd; k++) {
                freelist[q][k] = &reqs[q * qd + k];
                freelist[q][k]->buf = bufs + (u64)bs * (q * qd + k);
            }
        }
        u64 next = 0, done = 0, last_progress = rdtsc();
        while (done < blocks) {
            /* Submit in LBA order while the target queue has room. */
            while (next < blocks && nfree[next % nq]) {
                u16 q = (u16)(next % nq);
                struct blk_req *r = freelist[q][--nfree[q]];
                u64 lba = first + next;
                if (writing)
                    blk_stamp(r->buf, bs, seed, disk, lba);
                r->lba = lba;
                blk_submit(b, q, r, writing ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, lba * (bs / 512), r->buf, bs, b->indirect);
                next++;
            }
            for (u16 q = 0; q < nq; q++)
                vq_kick(&b->q[q]);
            int progress = 0;
            for (u16 q = 0; q < nq; q++) {
                struct blk_req *r;
                while ((r = blk_poll(b, q))) {
                    progress = 1;
                    done++;
                    ops_per_q[q]++;
                    if (r->status != VIRTIO_BLK_S_OK)
                        (*status_errors)++;
                    else if (!writing && do_read == 1)
                        *mismatches += blk_check(r->buf, bs, seed, disk, r->lba);
                    freelist[q][nfree[q]++] = r;
                }
            }
            if (progress) {
                last_progress = rdtsc();
            } else if (rdtsc() - last_progress > ms_to_tsc(5000) || (vpci_status(&b->v) & VIRTIO_NEEDS_RESET)) {
                rc = -1;
                break;
            } else {
                cpu_relax();
            }
        }
        if (writing && !rc && (b->v.features & BIT(VIRTIO_BLK_F_FLUSH))) {
            if (blk_sync(b, 0, &reqs[0], VIRTIO_BLK_T_FLUSH, 0, NULL, 0) != VIRTIO_BLK_S_OK)
                (*status_errors)++;
        }
    }
    alloc_release(mark);
    return rc;
}

/* A short write + flush + read-back check of the first `mib` MiB of an
 * initialised disk, 4 KiB blocks, qd 8: the follow-up check of the reset
 * and hostile jobs. 0 = every byte came back. */
int blk_quick_verify(int disk, u64 mib, u64 seed)
{
    struct blk_dev *b = &blk_devs[disk];
    u64 blocks = (mib << 20) / 4096, mism = 0, serr = 0, ops[BLK_MAX_QUEUES] = { 0 };
    if (blocks * 8 > b->capacity)
        blocks = b->capacity / 8;
    int rc = blk_verify_range(b, (u32)disk, 0, blocks, 4096, seed, 1, 1, &mism, &serr, ops, 8);
    if (rc || mism || serr)
        gprintf("quick_verify disk=%d stalled=%d mismatches=%lu status_errors=%lu status=0x%x\n", disk, -rc, mism,
                serr, vpci_status(&b->v));
    return rc || mism || serr ? -1 : 0;
}

struct blk_dev *blk_open_arg_disk(const struct blk_opts *o, int *disk_out)
{
    blk_discover();
    int disk = blk_disk_arg(0);
    if (disk < 0 || disk >= blk_count)
        fail("no_such_disk");
    struct blk_dev *b = &blk_devs[disk];
    if (blk_init(b, o) < 0)
        fail("blk_init");
    if (disk_out)
        *disk_out = disk;
    return b;
}
