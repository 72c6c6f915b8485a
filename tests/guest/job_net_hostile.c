/* job_net_hostile.c — job=net-hostile: malformed transmit chains on TX queue 0, one at
 * a time, each notified and waited for (1 s): the chain coming back as a used element
 * with the device still healthy -> dropped; DEVICE_NEEDS_RESET -> needs_reset (the
 * device is then re-initialised, and that is reported); nothing -> ignored. CSUM is
 * negotiated (so a checksum request can be checked), no GSO offload is.
 *   hostile case=NAME outcome=dropped|needs_reset|ignored
 * Then the same queue, without a reset, carries count= (1000) good datagrams to
 * peer=:port= (9100), and 5 END datagrams (the host tool counts them):
 *   hostile_reinits=N hostile_after_frames=N */
#include "net.h"

struct hcase { const char *name; };

static u8 *data;

/* Build case `name` at data; return the number of buffers in b. */
static int build(struct net_stack *s, const char *name, struct vq_buf *b)
{
    struct net_hdr *h = (struct net_hdr *)data;
    u32 flen = net_udp_frame(s, data, 9999, 9999, NULL, 64);
    h->flags = 0, h->gso_type = 0, h->csum_start = h->csum_offset = 0;
    b[0] = (struct vq_buf){ (u64)data, NET_HDR + flen, 0 };
    if (streq(name, "short_header")) {
        b[0].len = 8;
    } else if (streq(name, "writable_buffer")) {
        b[1] = (struct vq_buf){ (u64)data + 4096, 64, 1 };
        return 2;
    } else if (streq(name, "oversize")) {
        b[0].len = NET_HDR + 9000;
    } else if (streq(name, "tiny_frame")) {
        b[0].len = NET_HDR + 6;
    } else if (streq(name, "gso_not_negotiated")) {
        h->flags = 1, h->gso_type = 1, h->gso_size = 1000, h->hdr_len = 54, h->csum_start = 34, h->csum_offset = 16;
    } else if (streq(name, "gso_unknown")) {
        h->gso_type = 0x22;
    } else if (streq(name, "bad_flags")) {
        h->flags = 0x80;
    } else if (streq(name, "csum_outside")) {
        h->flags = 1, h->csum_start = 2000, h->csum_offset = 6;
    } else if (streq(name, "header_split_oversize")) {
        /* header alone in one buffer, then two buffers adding up to too much */
        b[0].len = NET_HDR;
        b[1] = (struct vq_buf){ (u64)data + NET_HDR, 1000, 0 };
        b[2] = (struct vq_buf){ (u64)data + 8192, 1000, 0 };
        return 3;
    }
    return 1;
}

int job_net_hostile(void)
{
    static const char *const cases[] = {
        "short_header", "writable_buffer", "oversize", "tiny_frame", "gso_not_negotiated",
        "gso_unknown", "bad_flags", "csum_outside", "header_split_oversize",
    };
    struct net_opts o;
    net_opts_from_cmdline(&o);
    o.csum = 1;
    o.pairs = 1;
    struct net_stack s = { 0 };
    net_stack_open(&s, &o, "net_hostile_needs_ip_and_peer");
    struct net_dev *n = s.dev;
    if (net_resolve(&s, 5000) < 0)
        fail("arp_no_answer");
    data = alloc_dma(16384);
    u64 reinits = 0;
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct vq_buf b[4];
        int nb = build(&s, cases[i], b);
        net_tx_reclaim(n, 0);
        if (vq_add(&n->tx[0], b, nb, 0, data) < 0)
            fail("hostile_ring_full");
        barrier();
        n->tx[0].avail->idx = n->tx[0].avail_idx;
        n->tx[0].kicked = n->tx[0].avail_idx;
        mfence();
        vq_notify(&n->tx[0]);
        const char *out = "ignored";
        u64 deadline = rdtsc() + ms_to_tsc(1000);
        while ((s64)(rdtsc() - deadline) < 0) {
            if (vpci_status(&n->v) & VIRTIO_NEEDS_RESET) {
                out = "needs_reset";
                break;
            }
            void *c = vq_poll(&n->tx[0], NULL);
            if (c == data) {
                out = "dropped";
                break;
            }
            if (c)
                n->tx_free[0][n->n_tx_free[0]++] = c;
            net_poll(&s, 1);
        }
        gprintf("hostile case=%s outcome=%s\n", cases[i], out);
        if (!streq(out, "dropped")) {
            reinits++;
            if (net_init(n, &o) < 0)
                fail("net_reinit");
        }
    }
    /* the queue must still carry good frames */
    u64 count = arg_u64("count", 1000), sent = 0;
    u16 port = (u16)arg_u64("port", 9100);
    u8 payload[64];
    for (u64 i = 0; i < count; i++) {
        rvnet_fill(payload, sizeof payload, 0, i, 0);
        if (net_udp_send(&s, 0, 9000, port, payload, sizeof payload) == 0)
            sent++;
        if ((i & 63) == 0)
            net_poll(&s, 1);
    }
    for (int r = 0; r < 5; r++) {
        rvnet_fill(payload, 32, 0, sent, RVNET_END);
        net_udp_send(&s, 0, 9000, port, payload, 32);
    }
    u64 deadline = rdtsc() + ms_to_tsc(2000);
    while (net_tx_reclaim(n, 0), n->n_tx_free[0] < n->tx[0].size)
        if ((s64)(rdtsc() - deadline) > 0)
            fail("hostile_after_not_completed");
    gprintf("hostile_reinits=%lu hostile_after_frames=%lu status=0x%x\n", reinits, sent, vpci_status(&n->v));
    return 0;
}
