/* net_proto.c — the minimum of IPv4 the net jobs need: answer ARP for our address,
 * resolve the peer's MAC, answer ICMP echo requests, count echo replies, check IPv4
 * header and UDP checksums (completing a checksum the device left partial with
 * NEEDS_CSUM), hand good UDP datagrams to the job, and build UDP frames. Plus the test
 * payload shared with tests/tools/net_peer.c. */
#include "net.h"

u32 parse_ip(const char *s)
{
    u32 ip = 0;
    for (int i = 0; i < 4; i++) {
        const char *e;
        u64 v = parse_u64(s, &e);
        if (e == s || v > 255 || (i < 3 && *e != '.') || (i == 3 && *e))
            return 0;
        ip = ip << 8 | (u32)v;
        s = e + 1;
    }
    return ip;
}

u32 arg_ip(const char *key, u32 dflt)
{
    char buf[24];
    if (cmdline_get(key, buf, sizeof buf) <= 0)
        return dflt;
    return parse_ip(buf);
}

u64 csum_add(u64 sum, const void *p, u32 len)
{
    const u8 *b = p;
    while (len >= 8) {
        u64 w;
        memcpy(&w, b, 8);
        sum += (w & 0xffffffffu) + (w >> 32);
        b += 8, len -= 8;
    }
    while (len >= 2) {
        sum += (u32)(b[0] | b[1] << 8);
        b += 2, len -= 2;
    }
    if (len)
        sum += b[0];
    return sum;
}

u16 csum_fold(u64 sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (u16)~sum;
}

static inline u16 get16(const u8 *p) { return (u16)(p[0] << 8 | p[1]); }
static inline u32 get32(const u8 *p) { return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3]; }
static inline void put16(u8 *p, u16 v) { p[0] = (u8)(v >> 8), p[1] = (u8)v; }
static inline void put32(u8 *p, u32 v) { p[0] = (u8)(v >> 24), p[1] = (u8)(v >> 16), p[2] = (u8)(v >> 8), p[3] = (u8)v; }

static u64 pseudo(u32 src, u32 dst, u8 proto, u16 len)
{
    u8 ph[12];
    put32(ph, src), put32(ph + 4, dst);
    ph[8] = 0, ph[9] = proto;
    put16(ph + 10, len);
    return csum_add(0, ph, 12);
}

static void eth_hdr(u8 *f, const u8 *dst, const u8 *src, u16 type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
}

static void ip_hdr(u8 *ip, u32 src, u32 dst, u8 proto, u16 total)
{
    static u16 id;
    ip[0] = 0x45, ip[1] = 0;
    put16(ip + 2, total);
    put16(ip + 4, id++);
    put16(ip + 6, 0x4000); /* DF */
    ip[8] = 64, ip[9] = proto;
    put16(ip + 10, 0);
    put32(ip + 12, src), put32(ip + 16, dst);
    u16 c = csum_fold(csum_add(0, ip, 20));
    memcpy(ip + 10, &c, 2);
}

/* Queue a raw frame (already at buf+NET_HDR) on pair q and kick. */
static void send_frame(struct net_stack *s, u16 q, u8 *buf, u32 len)
{
    net_tx_send(s->dev, q, buf, len);
    net_tx_kick(s->dev, q);
}

static u8 *tx_wait(struct net_stack *s, u16 q)
{
    u64 deadline = rdtsc() + ms_to_tsc(2000);
    u8 *b;
    while (!(b = net_tx_buf(s->dev, q)))
        if ((s64)(rdtsc() - deadline) > 0)
            fail("net_tx_stalled");
    memset(b, 0, NET_HDR);
    return b;
}

static void arp_send(struct net_stack *s, u16 q, u16 op, const u8 *tha, u32 tip)
{
    static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    u8 *b = tx_wait(s, q), *f = b + NET_HDR, *a = f + 14;
    eth_hdr(f, op == 1 ? bcast : tha, s->dev->mac, ETH_ARP);
    put16(a, 1), put16(a + 2, ETH_IP);
    a[4] = 6, a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, s->dev->mac, 6);
    put32(a + 14, s->ip);
    memcpy(a + 18, op == 1 ? (const u8 *)"\0\0\0\0\0\0" : tha, 6);
    put32(a + 24, tip);
    memset(a + 28, 0, 60 - 14 - 28);
    send_frame(s, q, b, 60);
}

int net_resolve(struct net_stack *s, u64 ms)
{
    u64 deadline = rdtsc() + ms_to_tsc(ms), next = 0;
    while (!s->peer_known) {
        u64 now = rdtsc();
        if ((s64)(now - deadline) > 0)
            return -1;
        if ((s64)(now - next) > 0) {
            arp_send(s, 0, 1, NULL, s->peer_ip);
            next = now + ms_to_tsc(200);
        }
        net_poll(s, 1);
    }
    return 0;
}

static void icmp_input(struct net_stack *s, u16 q, const u8 *f, u32 len)
{
    const u8 *ip = f + 14, *ic = ip + 20;
    u16 total = get16(ip + 2);
    u32 ilen = total - 20u;
    if (ilen < 8 || csum_fold(csum_add(0, ic, ilen)) != 0) {
        s->bad_ip++;
        return;
    }
    if (ic[0] == 0) {
        s->ping_replies++;
        return;
    }
    if (ic[0] != 8 || len > NET_BUF - NET_HDR)
        return;
    u8 *b = tx_wait(s, q), *o = b + NET_HDR;
    eth_hdr(o, f + 6, s->dev->mac, ETH_IP);
    ip_hdr(o + 14, s->ip, get32(ip + 12), IP_ICMP, total);
    memcpy(o + 34, ic, ilen);
    o[34] = 0; /* echo reply */
    put16(o + 36, 0);
    u16 c = csum_fold(csum_add(0, o + 34, ilen));
    memcpy(o + 36, &c, 2);
    send_frame(s, q, b, 14 + total);
    s->icmp_replies++;
}

void net_send_ping(struct net_stack *s, u16 id, u16 seq)
{
    u8 *b = tx_wait(s, 0), *o = b + NET_HDR, *ic = o + 34;
    eth_hdr(o, s->peer_mac, s->dev->mac, ETH_IP);
    ip_hdr(o + 14, s->ip, s->peer_ip, IP_ICMP, 20 + 8 + 56);
    ic[0] = 8, ic[1] = 0;
    put16(ic + 2, 0);
    put16(ic + 4, id), put16(ic + 6, seq);
    for (int i = 0; i < 56; i++)
        ic[8 + i] = (u8)i;
    u16 c = csum_fold(csum_add(0, ic, 64));
    memcpy(ic + 2, &c, 2);
    send_frame(s, 0, b, 14 + 20 + 64);
}

void net_input(struct net_stack *s, u16 q, u8 *f, u32 len, const struct net_hdr *h)
{
    if (len < 14)
        return;
    u16 type = get16(f + 12);
    if (type == ETH_ARP && len >= 42) {
        const u8 *a = f + 14;
        u16 op = get16(a + 6);
        u32 sip = get32(a + 14), tip = get32(a + 24);
        if (sip == s->peer_ip && sip) {
            memcpy(s->peer_mac, a + 8, 6);
            s->peer_known = 1;
        }
        if (op == 1 && tip == s->ip) {
            arp_send(s, q, 2, a + 8, sip);
            s->arp_replies++;
        }
        return;
    }
    if (type != ETH_IP || len < 34)
        return;
    u8 *ip = f + 14;
    u16 total = get16(ip + 2);
    if (ip[0] != 0x45 || total < 20 || total > len - 14 || (get16(ip + 6) & 0x3fff)) {
        s->bad_ip++;
        return;
    }
    if (csum_fold(csum_add(0, ip, 20)) != 0) {
        s->bad_ip++;
        return;
    }
    if (get32(ip + 16) != s->ip)
        return;
    if (ip[9] == IP_ICMP) {
        icmp_input(s, q, f, len);
        return;
    }
    if (ip[9] != IP_UDP || total < 28)
        return;
    u8 *u = ip + 20;
    u32 ulen = get16(u + 4);
    if (ulen < 8 || ulen > total - 20u) {
        s->bad_udp++;
        return;
    }
    if (h->flags & NET_HDR_F_NEEDS_CSUM) {
        /* the sender left the checksum to us: the field holds the pseudo-header sum */
        s->dev->rx_partial_csum++;
        u32 at = h->csum_start + h->csum_offset;
        if (h->csum_start != 34 || at + 2 > 34 + ulen) {
            s->bad_udp++;
            return;
        }
        u16 c = csum_fold(csum_add(0, f + 34, ulen));
        memcpy(f + at, &c, 2);
        if (!c)
            f[at] = f[at + 1] = 0xff;
    } else if (h->flags & NET_HDR_F_DATA_VALID) {
        s->dev->rx_data_valid++;
    }
    if (get16(u + 6) && csum_fold(pseudo(get32(ip + 12), get32(ip + 16), IP_UDP, (u16)ulen) + csum_add(0, u, ulen)) != 0) {
        s->bad_udp++;
        return;
    }
    if (s->udp)
        s->udp(s, q, f, get32(ip + 12), get16(u), get16(u + 2), u + 8, ulen - 8);
}

u32 net_poll(struct net_stack *s, int repost)
{
    u32 n = 0;
    for (u16 q = 0; q < s->dev->pairs; q++) {
        u8 *f;
        u32 len;
        struct net_hdr h;
        int got = 0;
        while ((f = net_rx(s->dev, q, &len, &h))) {
            net_input(s, q, f, len, &h);
            if (repost)
                net_rx_done(s->dev, q, f);
            n++, got = 1;
        }
        if (got && repost)
            net_rx_kick(s->dev, q);
    }
    return n;
}

u32 net_udp_frame(struct net_stack *s, u8 *buf, u16 sport, u16 dport, const void *data, u32 len)
{
    u8 *f = buf + NET_HDR, *u = f + 34;
    struct net_hdr *h = (struct net_hdr *)buf;
    memset(h, 0, sizeof *h);
    eth_hdr(f, s->peer_mac, s->dev->mac, ETH_IP);
    ip_hdr(f + 14, s->ip, s->peer_ip, IP_UDP, (u16)(28 + len));
    put16(u, sport), put16(u + 2, dport);
    put16(u + 4, (u16)(8 + len));
    put16(u + 6, 0);
    if (data && data != u + 8)
        memcpy(u + 8, data, len);
    u64 ps = pseudo(s->ip, s->peer_ip, IP_UDP, (u16)(8 + len));
    u16 c;
    if (s->dev->csum) {
        h->flags = NET_HDR_F_NEEDS_CSUM;
        h->csum_start = 34;
        h->csum_offset = 6;
        c = (u16)~csum_fold(ps); /* the device sums from csum_start on top of this */
    } else {
        c = csum_fold(ps + csum_add(0, u, 8 + len));
        if (!c)
            c = 0xffff;
    }
    memcpy(u + 6, &c, 2);
    u32 flen = 42 + len;
    if (flen < 60) {
        memset(f + flen, 0, 60 - flen);
        flen = 60;
    }
    return flen;
}

int net_udp_send(struct net_stack *s, u16 q, u16 sport, u16 dport, const void *data, u32 len)
{
    if (len > NET_BUF - NET_HDR - 42)
        return -1;
    u8 *b = tx_wait(s, q);
    send_frame(s, q, b, net_udp_frame(s, b, sport, dport, data, len));
    return 0;
}

/* ---- the test payload ---- */
u32 rvnet_check(u64 seq, u32 flow, u32 len, u32 flags)
{
    u64 x = seq * 0x9e3779b97f4a7c15ul ^ ((u64)flow << 40 | (u64)len << 8 | flags);
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ul;
    return (u32)(x ^ x >> 29);
}

void rvnet_stamp(void *p, u32 len, u32 flow, u64 seq, u32 flags)
{
    struct rvnet_payload h = { RVNET_MAGIC, flow, seq, len, flags, rvnet_check(seq, flow, len, flags), 0 };
    memcpy(p, &h, sizeof h);
}

void rvnet_fill(void *p, u32 len, u32 flow, u64 seq, u32 flags)
{
    u8 *b = p;
    for (u32 i = sizeof(struct rvnet_payload); i < len; i++)
        b[i] = rvnet_byte(flow, i);
    rvnet_stamp(p, len, flow, seq, flags);
}

int rvnet_verify(const void *p, u32 len)
{
    struct rvnet_payload h;
    if (len < sizeof h)
        return -1;
    memcpy(&h, p, sizeof h);
    if (h.magic != RVNET_MAGIC || h.len != len || h.check != rvnet_check(h.seq, h.flow, h.len, h.flags))
        return -1;
    const u8 *b = p;
    for (u32 i = sizeof h; i < len; i++)
        if (b[i] != rvnet_byte(h.flow, i))
            return -1;
    return 0;
}

void net_stack_open(struct net_stack *s, const struct net_opts *o, const char *missing)
{
    s->dev = net_open(o);
    s->ip = arg_ip("ip", 0);
    s->peer_ip = arg_ip("peer", 0);
    if (!s->ip || !s->peer_ip)
        fail(missing);
}
