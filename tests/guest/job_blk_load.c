/* job_blk_load.c — job=blk-load: a polled load generator (fio-like).
 * Keys: disk=I (0) rw=randread|randwrite|read|write (randread) bs=4096
 * qd=32 (per queue) queues=1 seconds=5 | ops=N, mib=N (span; whole disk up
 * to 1 GiB), plus event_idx/indirect/qsize.
 * Keeps qd requests in flight on every queue: each completion found by
 * polling the used ring is re-submitted at once, and the queue is kicked
 * once per batch (vq_kick: the notify itself is skipped when EVENT_IDX or
 * NO_NOTIFY says the device is still busy). The first 0.5 s are warm-up.
 * Latency = TSC at submit -> TSC when the completion is seen, in a
 * log-linear histogram (16 buckets per power of two, ~6 %).
 *   iops=N mib_s=N lat_p50_us=N lat_p99_us=N lat_p999_us=N ops=N seconds=N notifies=N kicks=N */
#include "virtio.h"

#define HBUCKETS 1024
static u64 hist[HBUCKETS];

static unsigned bucket(u64 ns)
{
    if (ns < 16)
        return (unsigned)ns;
    unsigned e = 63u - (unsigned)__builtin_clzl(ns);
    unsigned i = (e - 3) * 16 + (unsigned)((ns >> (e - 4)) & 15);
    return i < HBUCKETS ? i : HBUCKETS - 1;
}

static u64 bucket_mid(unsigned i)
{
    if (i < 16)
        return i;
    unsigned e = i / 16 + 3;
    u64 lo = (u64)(16 + i % 16) << (e - 4);
    return lo + ((1ul << (e - 4)) >> 1);
}

/* Latency at quantile num/den, in ns (bucket midpoint). */
static u64 percentile(u64 total, u64 num, u64 den)
{
    u64 want = (total * num + den - 1) / den, seen = 0;
    for (unsigned i = 0; i < HBUCKETS; i++)
        if ((seen += hist[i]) >= want && want)
            return bucket_mid(i);
    return 0;
}

static u64 rng = 0x2545f4914f6cdd1dul;
static u64 xorshift(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

int job_blk_load(void)
{
    struct blk_opts o;
    char rw[16] = "randread";
    blk_opts_from_cmdline(&o);
    o.queues = (u16)arg_u64("queues", 1);
    cmdline_get("rw", rw, sizeof rw);
    int write = streq(rw, "randwrite") || streq(rw, "write");
    int rnd = streq(rw, "randread") || streq(rw, "randwrite");
    if (!write && !rnd && !streq(rw, "read"))
        fail("bad_rw");
    int disk;
    struct blk_dev *b = blk_open_arg_disk(&o, &disk);
    if (write && b->ro)
        fail("disk_readonly");
    u64 bs = arg_u64("bs", 4096), qd = arg_u64("qd", 32), secs = arg_u64("seconds", 5), max_ops = arg_u64("ops", 0);
    u64 span = arg_u64("mib", 1024) << 20;
    if (span > b->capacity * 512)
        span = b->capacity * 512;
    u64 nblocks = span / bs;
    if (!bs || bs % 512 || !nblocks || !qd)
        fail("bad_args");
    u16 nq = b->nq;
    u64 per_req = b->indirect ? 1 : 3;
    if (qd * per_req > b->q[0].size)
        qd = b->q[0].size / per_req;
    struct blk_req *reqs = alloc_dma(sizeof(struct blk_req) * nq * qd);
    u8 *bufs = alloc_dma(bs * nq * qd);
    memset(bufs, 0x5a, bs * nq * qd);
    u32 type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
    u64 seq = 0;

    u64 t_start = rdtsc(), warm_end = t_start + ms_to_tsc(500), t_end = 0, t_meas = 0;
    int measuring = 0;
    u64 ops = 0, stat_err = 0, notif0 = 0, kicks0 = 0;
    for (u16 q = 0; q < nq; q++)
        for (u64 k = 0; k < qd; k++) {
            struct blk_req *r = &reqs[q * qd + k];
            u64 lba = rnd ? xorshift() % nblocks : seq++ % nblocks;
            r->t0 = rdtsc();
            blk_submit(b, q, r, type, lba * (bs / 512), bufs + bs * (q * qd + k), (u32)bs, b->indirect);
        }
    for (u16 q = 0; q < nq; q++)
        vq_kick(&b->q[q]);
    int stopping = 0;
    u64 inflight = nq * qd, last_progress = rdtsc();
    while (inflight) {
        u64 now = rdtsc();
        if (!measuring && now >= warm_end) {
            measuring = 1, t_meas = now, ops = 0, stat_err = 0;
            memset(hist, 0, sizeof hist);
            notif0 = kicks0 = 0;
            for (u16 q = 0; q < nq; q++)
                notif0 += b->q[q].notifies, kicks0 += b->q[q].kicks;
            t_end = max_ops ? ~0ul : now + ms_to_tsc(secs * 1000);
        }
        if (measuring && !stopping && (now >= t_end || (max_ops && ops >= max_ops)))
            stopping = 1, t_end = now;
        int progress = 0;
        for (u16 q = 0; q < nq; q++) {
            struct blk_req *r;
            while ((r = blk_poll(b, q))) {
                u64 done = rdtsc();
                progress = 1;
                if (r->status != VIRTIO_BLK_S_OK)
                    stat_err++;
                if (measuring && !stopping) {
                    ops++;
                    hist[bucket((done - r->t0) * 1000000 / tsc_khz)]++;
                }
                if (stopping) {
                    inflight--;
                    continue;
                }
                u64 lba = rnd ? xorshift() % nblocks : seq++ % nblocks;
                r->t0 = done;
                blk_submit(b, q, r, type, lba * (bs / 512), r->buf, (u32)bs, b->indirect);
            }
            vq_kick(&b->q[q]); /* one publish + notify decision per batch */
        }
        if (progress)
            last_progress = rdtsc();
        else if (rdtsc() - last_progress > ms_to_tsc(5000))
            fail("load_stalled");
    }
    u64 notifies = 0, kicks = 0;
    for (u16 q = 0; q < nq; q++)
        notifies += b->q[q].notifies, kicks += b->q[q].kicks;
    u64 ns = (t_end - t_meas) * 1000000 / tsc_khz;
    if (!ns)
        ns = 1;
    u64 iops_x10 = ops * 10000000000ul / ns;
    u64 us = ns / 1000 ? ns / 1000 : 1;
    u64 mibs_x100 = ((ops * bs) >> 10) * 100000000ul / 1024 / us;
    gprintf("rw=%s bs=%lu qd=%lu queues=%u event_idx=%d indirect=%d span_mib=%lu\n", rw, bs, qd, nq,
            !!(b->v.features & BIT(VIRTIO_F_EVENT_IDX)), b->indirect, span >> 20);
    gprintf("iops=%s mib_s=%s lat_p50_us=%s lat_p99_us=%s lat_p999_us=%s ops=%lu seconds=%s notifies=%lu "
            "kicks=%lu status_errors=%lu\n",
            fixed(iops_x10, 1), fixed(mibs_x100, 2), fixed(percentile(ops, 1, 2) / 100, 1),
            fixed(percentile(ops, 99, 100) / 100, 1), fixed(percentile(ops, 999, 1000) / 100, 1), ops,
            fixed(ns / 1000000, 3), notifies - notif0, kicks - kicks0, stat_err);
    return stat_err ? -1 : 0;
}
