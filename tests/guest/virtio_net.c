/* virtio_net.c — virtio-net on top of virtio_pci.c/virtq.c, polled at CPL3: feature
 * negotiation (VERSION_1, MAC, STATUS, and on request MRG_RXBUF, EVENT_IDX, CSUM +
 * GUEST_CSUM, CTRL_VQ + MQ), queue pairs (RX 2i, TX 2i+1, control queue last),
 * VQ_PAIRS_SET, RX buffers of NET_BUF bytes (one descriptor each) and a TX buffer pool
 * per pair. Keys: pairs=N (queues=N also works) mrg=0|1 (1) event_idx=0|1 (1) csum=0|1
 * (0) qsize=N (256) reinit=N (0: reset and set up again N times before the job). */
#include "net.h"

#define MAX_PCI 64
#define CFG_MAC 0
#define CFG_MAX_PAIRS 8

static struct pci_dev pci[MAX_PCI];
static struct net_dev the_dev;

void net_opts_from_cmdline(struct net_opts *o)
{
    o->event_idx = (int)arg_u64("event_idx", 1);
    o->mrg = (int)arg_u64("mrg", 1);
    o->csum = (int)arg_u64("csum", 0);
    o->mq = (int)arg_u64("mq", 1);
    o->ctrl_early = (int)arg_u64("ctrl_early", 0);
    u64 qs = arg_u64("qsize", 256);
    o->qsize = (u16)(qs < 2 ? 2 : qs > 1024 ? 1024 : qs);
    o->pairs = (u16)arg_u64("pairs", arg_u64("queues", 1));
    if (!o->pairs)
        o->pairs = 1;
}

static int ctrl_pairs(struct net_dev *n, u16 pairs)
{
    struct { u8 class, cmd; u16 pairs; u8 ack, pad[3]; } *c = alloc_dma(sizeof *c);
    c->class = 4, c->cmd = 0, c->pairs = pairs, c->ack = 0xff;
    struct vq_buf b[2] = { { (u64)c, 4, 0 }, { (u64)&c->ack, 1, 1 } };
    if (vq_add(&n->ctrl, b, 2, 0, c) < 0)
        return -1;
    vq_kick(&n->ctrl);
    u64 deadline = rdtsc() + ms_to_tsc(2000);
    while ((s64)(rdtsc() - deadline) < 0)
        if (vq_poll(&n->ctrl, 0) == c)
            return c->ack == 0 ? 0 : -1;
        else
            cpu_relax();
    return -1;
}

int net_init(struct net_dev *n, const struct net_opts *o)
{
    u64 want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MAC) | BIT(VIRTIO_NET_F_STATUS) |
               BIT(VIRTIO_NET_F_CTRL_VQ) | (o->mq ? BIT(VIRTIO_NET_F_MQ) : 0);
    if (o->event_idx)
        want |= BIT(VIRTIO_F_EVENT_IDX);
    if (o->mrg)
        want |= BIT(VIRTIO_NET_F_MRG_RXBUF);
    if (o->csum)
        want |= BIT(VIRTIO_NET_F_CSUM) | BIT(VIRTIO_NET_F_GUEST_CSUM);
    if (vpci_negotiate(&n->v, want) < 0)
        return -1;
    u64 f = n->v.features;
    n->mrg = !!(f & BIT(VIRTIO_NET_F_MRG_RXBUF));
    n->csum = (f & BIT(VIRTIO_NET_F_CSUM)) && (f & BIT(VIRTIO_NET_F_GUEST_CSUM));
    for (int i = 0; i < 6; i++)
        n->mac[i] = n->v.devcfg_len > (u32)i ? n->v.devcfg[CFG_MAC + i] : 0;
    n->max_pairs = (f & BIT(VIRTIO_NET_F_MQ)) && n->v.devcfg_len >= 10 ? *(volatile u16 *)(n->v.devcfg + CFG_MAX_PAIRS) : 1;
    if (!n->max_pairs)
        n->max_pairs = 1;
    n->pairs = o->pairs < n->max_pairs ? o->pairs : n->max_pairs;
    if (n->pairs > NET_MAX_PAIRS)
        n->pairs = NET_MAX_PAIRS;
    for (u16 i = 0; i < n->pairs; i++) {
        if (vpci_queue_setup(&n->v, &n->rx[i], (u16)(2 * i), o->qsize) < 0 ||
            vpci_queue_setup(&n->v, &n->tx[i], (u16)(2 * i + 1), o->qsize) < 0)
            return -2;
        u16 size = n->rx[i].size;
        if (!n->rxbuf[i] || n->rx[i].cap > size) {
            /* buffers for the largest ring this queue was ever given */
            if (!n->rxbuf[i]) {
                n->rxbuf[i] = alloc_dma((u64)n->rx[i].cap * NET_BUF);
                n->txbuf[i] = alloc_dma((u64)n->tx[i].cap * NET_BUF);
                n->tx_free[i] = alloc_dma(sizeof(u8 *) * n->tx[i].cap);
            }
        }
        n->n_tx_free[i] = 0;
        for (u16 k = 0; k < n->tx[i].size; k++)
            n->tx_free[i][n->n_tx_free[i]++] = n->txbuf[i] + (u64)k * NET_BUF;
    }
    int ctrl = (f & BIT(VIRTIO_NET_F_CTRL_VQ)) != 0;
    if (ctrl && vpci_queue_setup(&n->v, &n->ctrl, (u16)(2 * n->max_pairs), 16) < 0)
        return -3;
    if (!n->scratch)
        n->scratch = alloc_dma(65536 + NET_BUF);
    /* ctrl_early: a command sits in the control queue before DRIVER_OK. Without MQ the
     * control queue is queue 2, which a device must not take for pair 1's RX. */
    struct { u8 class, cmd; u16 pairs; u8 ack, pad[3]; } *early = 0;
    if (o->ctrl_early && ctrl) {
        early = alloc_dma(sizeof *early);
        early->class = 4, early->cmd = 0, early->pairs = 1, early->ack = 0xff;
        struct vq_buf b[2] = { { (u64)early, 4, 0 }, { (u64)&early->ack, 1, 1 } };
        vq_add(&n->ctrl, b, 2, 0, early);
        n->ctrl.avail->idx = n->ctrl.avail_idx; /* published, not notified */
        n->ctrl.kicked = n->ctrl.avail_idx;
    }
    vpci_driver_ok(&n->v);
    if (early) {
        vq_notify(&n->ctrl);
        u64 deadline = rdtsc() + ms_to_tsc(1000);
        while (!vq_poll(&n->ctrl, 0) && (s64)(rdtsc() - deadline) < 0)
            cpu_relax();
        gprintf("net_ctrl_early ack=%u status=0x%x\n", early->ack, vpci_status(&n->v));
    }
    for (u16 i = 0; i < n->pairs; i++) {
        for (u16 k = 0; k < n->rx[i].size; k++) {
            struct vq_buf b = { (u64)(n->rxbuf[i] + (u64)k * NET_BUF), NET_BUF, 1 };
            vq_add(&n->rx[i], &b, 1, 0, n->rxbuf[i] + (u64)k * NET_BUF);
        }
        vq_kick(&n->rx[i]);
    }
    if (n->pairs > 1 && (!ctrl || !(f & BIT(VIRTIO_NET_F_MQ)) || ctrl_pairs(n, n->pairs) < 0))
        return -4;
    return 0;
}

struct net_dev *net_open(const struct net_opts *o)
{
    int np = pci_scan(pci, MAX_PCI);
    for (int i = 0; i < np; i++) {
        if (pci[i].vendor != 0x1af4 || (pci[i].device != 0x1041 && pci[i].device != 0x1000))
            continue;
        struct net_dev *n = &the_dev;
        if (vpci_probe(&n->v, pci, np, i) < 0)
            fail("net_no_modern_capabilities");
        int rc = net_init(n, o);
        /* reinit=N: reset and initialise again N times, with RX buffers posted (the
         * device has reads waiting on its TAP that the reset must cancel) */
        for (u64 r = arg_u64("reinit", 0); r && rc == 0; r--)
            rc = net_init(n, o);
        if (rc < 0) {
            gprintf("net_init step=%d status=0x%x\n", -rc, vpci_status(&n->v));
            fail("net_init");
        }
        gprintf("net dev=0 pci=%02x:%02x.%x id=0x%04x mac=%02x:%02x:%02x:%02x:%02x:%02x max_pairs=%u pairs=%u "
                "features=0x%lx offered=0x%lx mrg=%d csum=%d qsize=%u\n", pci[i].bus, pci[i].dev, pci[i].fn,
                pci[i].device, n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5], n->max_pairs,
                n->pairs, n->v.features, n->v.offered, n->mrg, n->csum, n->rx[0].size);
        return n;
    }
    fail("no_net_device");
}

void net_rx_done(struct net_dev *n, u16 q, u8 *frame)
{
    u8 *buf = frame - NET_HDR;
    if (buf < n->rxbuf[q] || buf >= n->rxbuf[q] + (u64)n->rx[q].cap * NET_BUF)
        return; /* the scratch copy of a multi-buffer frame: its buffers went back already */
    struct vq_buf b = { (u64)buf, NET_BUF, 1 };
    vq_add(&n->rx[q], &b, 1, 0, buf);
}

void net_rx_kick(struct net_dev *n, u16 q) { vq_kick(&n->rx[q]); }

u8 *net_rx(struct net_dev *n, u16 q, u32 *len, struct net_hdr *hdr)
{
    u32 l;
    u8 *buf = vq_poll(&n->rx[q], &l);
    if (!buf)
        return NULL;
    if (l < NET_HDR) {
        /* a used length that cannot hold the header: count it as a bad frame */
        *len = 0;
        memset(hdr, 0, sizeof *hdr);
        return buf + NET_HDR;
    }
    memcpy(hdr, buf, sizeof *hdr);
    u16 nb = n->mrg ? hdr->num_buffers : 1;
    if (nb <= 1) {
        *len = l - NET_HDR;
        return buf + NET_HDR;
    }
    /* One frame over nb buffers (MRG_RXBUF): join them in the scratch buffer. */
    n->rx_multi_buf++;
    u32 total = l - NET_HDR;
    memcpy(n->scratch + NET_HDR, buf + NET_HDR, total);
    net_rx_done(n, q, buf + NET_HDR);
    for (u16 i = 1; i < nb; i++) {
        u8 *more;
        u64 deadline = rdtsc() + ms_to_tsc(1000);
        while (!(more = vq_poll(&n->rx[q], &l)))
            if ((s64)(rdtsc() - deadline) > 0)
                fail("net_rx_missing_buffers");
        if (total + l <= 65536)
            memcpy(n->scratch + NET_HDR + total, more, l);
        total += l;
        net_rx_done(n, q, more + NET_HDR);
    }
    *len = total <= 65536 ? total : 0;
    return n->scratch + NET_HDR;
}

u16 net_tx_reclaim(struct net_dev *n, u16 q)
{
    u8 *b;
    u16 k = 0;
    while ((b = vq_poll(&n->tx[q], NULL))) {
        n->tx_free[q][n->n_tx_free[q]++] = b;
        k++;
    }
    return k;
}

u8 *net_tx_buf(struct net_dev *n, u16 q)
{
    if (!n->n_tx_free[q])
        net_tx_reclaim(n, q);
    if (!n->n_tx_free[q])
        return NULL;
    return n->tx_free[q][--n->n_tx_free[q]];
}

void net_tx_send(struct net_dev *n, u16 q, u8 *buf, u32 frame_len)
{
    struct vq_buf b = { (u64)buf, NET_HDR + frame_len, 0 };
    vq_add(&n->tx[q], &b, 1, 0, buf);
}

void net_tx_kick(struct net_dev *n, u16 q) { vq_kick(&n->tx[q]); }
