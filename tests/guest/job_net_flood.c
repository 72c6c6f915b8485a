/* job_net_flood.c — job=net-tx and job=net-rx: UDP floods between the guest and a host
 * tool (tests/tools/net_peer.c) with every datagram checked: the UDP checksum, the
 * payload (magic, a check word over flow/seq/len/flags, every body byte) and the
 * sequence per flow. Flow q uses queue pair q. Common keys: ip= (ours), peer= (the
 * host's), pairs=N, size=payload bytes (1472; 32..1472).
 *
 * net-tx: port=P (9100: flow q goes to P+q) sport=S (9000) and count=N (100000) or
 * mib=M or seconds=T. Frames are sent as fast as the TX rings take them, one kick per
 * batch; then 5 END datagrams per flow carry the number sent.
 *   net_tx frames=N bytes=N seconds=S pps=N gbps=G pairs=P size=S kicks=N notifies=N
 *   net_txq queue=q frames=N
 * net-rx: port=P (9200: flow q arrives on P+q) peer_port=H (9300: the host's flow q
 * sends from H+q). HELLO datagrams (every 100 ms until data flows) tell the host where
 * to send; an ACK every ack_every= (64) frames per flow (ack=0: none) carries the count
 * received, so the host can keep a window. Ends at END on every flow, at count=N
 * frames, or idle_ms= (3000) after the last frame. stall_after=N stall_ms=M: after N
 * frames stop taking buffers back for M ms (the device runs out of RX buffers), then
 * go on. Fails on any corrupt or duplicate frame, and on loss unless allow_loss=1. A frame
 * that comes after a later one of its flow (queues reorder) counts as late, not lost.
 *   net_rx frames=N bytes=N lost=N dup=N bad=N seconds=S pps=N gbps=G pairs=P ...
 *   net_rxq queue=q frames=N */
#include "net.h"

static u32 arg_size(void)
{
    u64 size = arg_u64("size", 1472);
    if (size < sizeof(struct rvnet_payload) || size > 1472)
        fail("bad_size");
    return (u32)size;
}

static void rate(u64 frames, u64 bytes, u64 cycles, char *out, u32 outsz)
{
    u64 ns = cycles * 1000000 / tsc_khz;
    if (!ns)
        ns = 1;
    u64 pps = frames * 1000000000ul / ns;
    u64 mbit_x10 = bytes * 8 * 10000 / ns; /* Gbit/s with 4 decimals */
    fmt(out, outsz, "seconds=%s pps=%lu gbps=%s", fixed(ns / 1000000, 3), pps, fixed(mbit_x10, 4));
}

static u16 csum16_of(u64 sum) { return csum_fold(sum); }

int job_net_tx(void)
{
    struct net_opts o;
    net_opts_from_cmdline(&o);
    struct net_stack s = { 0 };
    net_stack_open(&s, &o, "net_tx_needs_ip_and_peer");
    struct net_dev *n = s.dev;
    u32 size = arg_size();
    u16 port = (u16)arg_u64("port", 9100), sport = (u16)arg_u64("sport", 9000);
    u64 count = arg_u64("count", 100000), secs = arg_u64("seconds", 0), mib = arg_u64("mib", 0);
    if (mib)
        count = (mib << 20) / size + 1;
    if (net_resolve(&s, 5000) < 0)
        fail("arp_no_answer");
    u16 np = n->pairs;
    /* Every TX buffer of pair q carries flow q's frame; only the payload header and the
     * UDP checksum change per frame. */
    u64 body_sum[NET_MAX_PAIRS];
    for (u16 q = 0; q < np; q++) {
        for (u16 k = 0; k < n->tx[q].size; k++) {
            u8 *b = n->txbuf[q] + (u64)k * NET_BUF;
            rvnet_fill(b + NET_HDR + 42, size, q, 0, 0);
            net_udp_frame(&s, b, (u16)(sport + q), (u16)(port + q), b + NET_HDR + 42, size);
        }
        body_sum[q] = csum_add(0, n->txbuf[q] + NET_HDR + 42 + 32, size - 32);
    }
    u8 ph[12]; /* pseudo header + UDP header (checksum 0), constant per flow except ports */
    u64 seq[NET_MAX_PAIRS] = { 0 }, per_q = (count + np - 1) / np, sent = 0;
    u64 t0 = rdtsc(), t_end = secs ? t0 + ms_to_tsc(secs * 1000) : 0, kick0 = 0, notif0 = 0;
    for (u16 q = 0; q < np; q++)
        kick0 += n->tx[q].kicks, notif0 += n->tx[q].notifies;
    u32 flen = 42 + size < 60 ? 60 : 42 + size;
    for (u64 iter = 0;; iter++) {
        int more = 0;
        for (u16 q = 0; q < np; q++) {
            if (secs ? (s64)(rdtsc() - t_end) > 0 : seq[q] >= per_q)
                continue;
            more = 1;
            u8 *b;
            u32 batch = 0;
            while (batch < 64 && (secs || seq[q] < per_q) && (b = net_tx_buf(n, q))) {
                u8 *u = b + NET_HDR + 34, *p = u + 8;
                rvnet_stamp(p, size, q, seq[q], 0);
                if (!n->csum) {
                    u[6] = u[7] = 0;
                    u64 sum = csum_add(0, u, 8 + 32) + body_sum[q];
                    memcpy(ph, b + NET_HDR + 26, 8); /* source and destination address */
                    ph[8] = 0, ph[9] = IP_UDP, ph[10] = u[4], ph[11] = u[5];
                    u16 c = csum16_of(sum + csum_add(0, ph, 12));
                    if (!c)
                        c = 0xffff;
                    memcpy(u + 6, &c, 2);
                }
                net_tx_send(n, q, b, flen);
                seq[q]++, sent++, batch++;
            }
            if (batch)
                net_tx_kick(n, q);
        }
        if (!more)
            break;
        if ((iter & 1023) == 0)
            net_poll(&s, 1);
    }
    /* wait for the device to give every buffer back */
    u64 deadline = rdtsc() + ms_to_tsc(5000);
    for (u16 q = 0; q < np; q++)
        while (net_tx_reclaim(n, q), n->n_tx_free[q] < n->tx[q].size)
            if ((s64)(rdtsc() - deadline) > 0)
                fail("net_tx_not_completed");
    u64 t1 = rdtsc();
    struct rvnet_payload endp;
    for (int r = 0; r < 5; r++) {
        for (u16 q = 0; q < np; q++) {
            rvnet_stamp(&endp, sizeof endp, q, seq[q], RVNET_END);
            net_udp_send(&s, q, (u16)(sport + q), (u16)(port + q), &endp, sizeof endp);
        }
        u64 gap = rdtsc() + ms_to_tsc(20);
        while ((s64)(rdtsc() - gap) < 0)
            net_poll(&s, 1);
    }
    u64 kicks = 0, notif = 0;
    for (u16 q = 0; q < np; q++)
        kicks += n->tx[q].kicks, notif += n->tx[q].notifies;
    char r[96];
    rate(sent, sent * size, t1 - t0, r, sizeof r);
    gprintf("net_tx frames=%lu bytes=%lu %s pairs=%u size=%u kicks=%lu notifies=%lu csum_offload=%d\n", sent,
            sent * size, r, np, size, kicks - kick0, notif - notif0, n->csum);
    for (u16 q = 0; q < np; q++)
        gprintf("net_txq queue=%u frames=%lu\n", q, seq[q]);
    return 0;
}

/* ---- net-rx ---- */
struct rx_state {
    u16 port, peer_port, pairs, ack_every;
    int ack;
    u64 frames, bytes, lost, dup, bad, late;
    u64 recv[NET_MAX_PAIRS], expect[NET_MAX_PAIRS], end_seq[NET_MAX_PAIRS], qframes[NET_MAX_PAIRS];
    int ended[NET_MAX_PAIRS], flowing[NET_MAX_PAIRS];
    u64 t_first, t_last;
    /* Which of the last RX_WINDOW sequence numbers below expect[] arrived: with several
     * queues a flow's frames can arrive out of order (the TAP moves the flow to another
     * queue), and a late frame is not a duplicate. */
#define RX_WINDOW 8192
    u64 seen[NET_MAX_PAIRS][RX_WINDOW / 64];
};
static struct rx_state rx;

/* Mark seq as arrived; returns whether it already was. */
static int rx_seen_set(u32 flow, u64 seq)
{
    u64 *w = &rx.seen[flow][(seq % RX_WINDOW) / 64], bit = 1ull << (seq % 64);
    int was = !!(*w & bit);
    *w |= bit;
    return was;
}

/* seqs [from, to) have not arrived (yet): forget what their slots held before */
static void rx_seen_clear(u32 flow, u64 from, u64 to)
{
    if (to - from >= RX_WINDOW) {
        memset(rx.seen[flow], 0, sizeof(rx.seen[flow]));
        return;
    }
    for (u64 k = from; k < to; k++)
        rx.seen[flow][(k % RX_WINDOW) / 64] &= ~(1ull << (k % 64));
}

static void rx_udp(struct net_stack *s, u16 q, const u8 *frame, u32 src, u16 sport, u16 dport, const u8 *data, u32 len)
{
    (void)frame, (void)src, (void)sport;
    if (dport < rx.port || dport >= rx.port + rx.pairs)
        return;
    u32 flow = dport - rx.port;
    struct rvnet_payload h;
    if (rvnet_verify(data, len) < 0) {
        rx.bad++;
        return;
    }
    memcpy(&h, data, sizeof h);
    if (h.flow != flow) {
        rx.bad++;
        return;
    }
    rx.flowing[flow] = 1;
    if (h.flags & RVNET_END) {
        if (!rx.ended[flow]) {
            rx.ended[flow] = 1;
            rx.end_seq[flow] = h.seq;
        }
        return;
    }
    u64 now = rdtsc();
    if (!rx.t_first)
        rx.t_first = now;
    rx.t_last = now;
    rx.frames++, rx.bytes += len, rx.qframes[q]++;
    rx.recv[flow]++;
    if (h.seq >= rx.expect[flow]) {
        rx.lost += h.seq - rx.expect[flow];
        rx_seen_clear(flow, rx.expect[flow], h.seq + 1);
        rx_seen_set(flow, h.seq);
        rx.expect[flow] = h.seq + 1;
    } else if (rx.expect[flow] - h.seq <= RX_WINDOW && !rx_seen_set(flow, h.seq)) {
        rx.late++; /* counted lost when a later one came first */
        rx.lost--;
    } else {
        rx.dup++; /* seen before (or too old to tell) */
    }
    if (rx.ack && rx.recv[flow] % rx.ack_every == 0) {
        struct rvnet_payload a;
        rvnet_stamp(&a, sizeof a, flow, rx.recv[flow], RVNET_ACK);
        net_udp_send(s, q, dport, (u16)(rx.peer_port + flow), &a, sizeof a);
    }
}

int job_net_rx(void)
{
    struct net_opts o;
    net_opts_from_cmdline(&o);
    struct net_stack s = { 0 };
    net_stack_open(&s, &o, "net_rx_needs_ip_and_peer");
    struct net_dev *n = s.dev;
    s.udp = rx_udp;
    rx.port = (u16)arg_u64("port", 9200);
    rx.peer_port = (u16)arg_u64("peer_port", 9300);
    rx.pairs = n->pairs;
    rx.ack = (int)arg_u64("ack", 1);
    rx.ack_every = (u16)arg_u64("ack_every", 64);
    if (!rx.ack_every)
        rx.ack_every = 64;
    u64 count = arg_u64("count", 0), idle_ms = arg_u64("idle_ms", 3000), secs = arg_u64("seconds", 300);
    u64 stall_after = arg_u64("stall_after", 0), stall_ms = arg_u64("stall_ms", 0);
    int allow_loss = (int)arg_u64("allow_loss", 0), stalled = 0;
    u64 frames_at_stall_end = 0;
    if (net_resolve(&s, 5000) < 0)
        fail("arp_no_answer");
    u64 start = rdtsc(), next_hello = 0;
    gprintf("net_rx_ready pairs=%u port=%u\n", rx.pairs, rx.port);
    for (;;) {
        u64 now = rdtsc();
        if ((s64)(now - next_hello) > 0) {
            for (u16 q = 0; q < rx.pairs; q++)
                if (!rx.flowing[q]) {
                    struct rvnet_payload hp;
                    rvnet_stamp(&hp, sizeof hp, q, 0, RVNET_HELLO);
                    net_udp_send(&s, q, (u16)(rx.port + q), (u16)(rx.peer_port + q), &hp, sizeof hp);
                }
            next_hello = now + ms_to_tsc(100);
        }
        net_poll(&s, 1);
        for (u16 q = 0; q < rx.pairs; q++)
            net_tx_reclaim(n, q);
        if (stall_after && !stalled && rx.frames >= stall_after) {
            /* Stop giving the device buffers: it must hold the host's frames back. */
            stalled = 1;
            gprintf("net_rx_stall frames=%lu ms=%lu\n", rx.frames, stall_ms);
            u64 until = rdtsc() + ms_to_tsc(stall_ms);
            while ((s64)(rdtsc() - until) < 0)
                cpu_relax();
            frames_at_stall_end = rx.frames;
            rx.t_last = rdtsc();
            gprintf("net_rx_stall_end\n");
        }
        int all_ended = 1;
        for (u16 q = 0; q < rx.pairs; q++)
            all_ended &= rx.ended[q];
        if (all_ended || (count && rx.frames >= count))
            break;
        now = rdtsc();
        if (rx.t_first && (s64)(now - rx.t_last - ms_to_tsc(idle_ms)) > 0)
            break;
        if ((s64)(now - start - ms_to_tsc(secs * 1000)) > 0)
            break;
    }
    for (u16 q = 0; q < rx.pairs; q++)
        if (rx.ended[q] && rx.end_seq[q] > rx.expect[q])
            rx.lost += rx.end_seq[q] - rx.expect[q]; /* frames after the last one we saw */
    char r[96];
    rate(rx.frames, rx.bytes, rx.t_last - rx.t_first, r, sizeof r);
    gprintf("net_rx frames=%lu bytes=%lu lost=%lu dup=%lu bad=%lu %s pairs=%u bad_ip=%lu bad_udp=%lu "
            "rx_partial_csum=%lu rx_data_valid=%lu rx_multi_buf=%lu late=%lu\n", rx.frames, rx.bytes, rx.lost, rx.dup,
            rx.bad, r, rx.pairs, s.bad_ip, s.bad_udp, n->rx_partial_csum, n->rx_data_valid, n->rx_multi_buf, rx.late);
    for (u16 q = 0; q < rx.pairs; q++)
        gprintf("net_rxq queue=%u frames=%lu\n", q, rx.qframes[q]);
    if (stall_after)
        gprintf("net_rx_after_stall frames=%lu\n", stalled ? rx.frames - frames_at_stall_end : 0);
    if (!rx.frames)
        fail("net_rx_nothing_received");
    if (rx.bad || rx.dup || s.bad_udp || s.bad_ip)
        fail("net_rx_corrupt_or_duplicate");
    if (rx.lost && !allow_loss)
        fail("net_rx_lost_frames");
    if (count && rx.frames < count)
        fail("net_rx_short");
    if (stall_after && (!stalled || rx.frames == frames_at_stall_end))
        fail("net_rx_no_recovery_after_stall");
    return 0;
}
