/* net.h — the kit's virtio-net driver (virtio_net.c), the little IPv4 stack the net
 * jobs need (net_proto.c: Ethernet, ARP, IPv4, ICMP echo, UDP, checksums) and the test
 * payload format the host tool (tests/tools/net_peer.c) shares. Polling, at CPL3, like
 * the blk driver. */
#ifndef KIT_NET_H
#define KIT_NET_H

#include "virtio.h"

#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_F_CTRL_VQ 17
#define VIRTIO_NET_F_MQ 22
#define NET_HDR_F_NEEDS_CSUM 1
#define NET_HDR_F_DATA_VALID 2

#define NET_MAX_PAIRS 4
#define NET_BUF 2048      /* one RX or TX buffer: header + the largest frame, rounded up */
#define NET_HDR 12

struct net_hdr { u8 flags, gso_type; u16 hdr_len, gso_size, csum_start, csum_offset, num_buffers; };

struct net_dev {
    struct vpci v;
    u8 mac[6];
    u16 max_pairs, pairs;
    int mrg, csum;               /* negotiated MRG_RXBUF; CSUM + GUEST_CSUM */
    struct virtq rx[NET_MAX_PAIRS], tx[NET_MAX_PAIRS], ctrl;
    u8 *rxbuf[NET_MAX_PAIRS], *txbuf[NET_MAX_PAIRS];
    u8 **tx_free[NET_MAX_PAIRS];
    u16 n_tx_free[NET_MAX_PAIRS];
    u8 *scratch;                 /* a frame spread over several RX buffers, joined */
    u64 rx_partial_csum, rx_data_valid, rx_multi_buf;
};

struct net_opts {
    int event_idx, mrg, csum;
    int mq;          /* ask for MQ (default 1) */
    int ctrl_early;  /* hostile: a control command already queued when DRIVER_OK is set */
    u16 qsize, pairs;
};

/* virtio_net.c */
void net_opts_from_cmdline(struct net_opts *o);
struct net_dev *net_open(const struct net_opts *o); /* first virtio-net function; fail()s otherwise */
int net_init(struct net_dev *n, const struct net_opts *o); /* (re)initialise: 0 or -1 */
/* Next received frame on pair q (after the virtio-net header): its buffer is held until
 * net_rx_done(); NULL if none. */
u8 *net_rx(struct net_dev *n, u16 q, u32 *len, struct net_hdr *hdr);
void net_rx_done(struct net_dev *n, u16 q, u8 *frame); /* repost (kick with net_rx_kick) */
void net_rx_kick(struct net_dev *n, u16 q);
/* A free TX buffer on pair q (frame goes at +NET_HDR), reclaiming completed ones; NULL if full. */
u8 *net_tx_buf(struct net_dev *n, u16 q);
void net_tx_send(struct net_dev *n, u16 q, u8 *buf, u32 frame_len); /* queued; net_tx_kick publishes */
void net_tx_kick(struct net_dev *n, u16 q);
u16 net_tx_reclaim(struct net_dev *n, u16 q);

/* net_proto.c */
static inline u16 bswap16(u16 x) { return (u16)(x << 8 | x >> 8); }
static inline u32 bswap32(u32 x) { return __builtin_bswap32(x); }
#define ETH_ARP 0x0806
#define ETH_IP 0x0800
#define IP_ICMP 1
#define IP_UDP 17

struct net_stack {
    struct net_dev *dev;
    u32 ip, peer_ip;             /* host byte order */
    u8 peer_mac[6];
    int peer_known;
    u64 arp_replies, icmp_replies, ping_replies, bad_ip, bad_udp;
    /* called for each good UDP datagram to our ip */
    void (*udp)(struct net_stack *s, u16 q, const u8 *frame, u32 src_ip, u16 sport, u16 dport, const u8 *data, u32 len);
};

/* Open the device with o and take our address and the peer's from the command line (ip=,
 * peer=); fail(missing) when either is absent. */
void net_stack_open(struct net_stack *s, const struct net_opts *o, const char *missing);
u32 parse_ip(const char *s);           /* dotted quad -> host order, 0 if bad */
u32 arg_ip(const char *key, u32 dflt); /* from the command line */
u16 csum_fold(u64 sum);
u64 csum_add(u64 sum, const void *p, u32 len);
/* Handle one received frame (ARP, ICMP echo, UDP to s->udp). */
void net_input(struct net_stack *s, u16 q, u8 *frame, u32 len, const struct net_hdr *h);
/* Poll every pair's RX queue once, handle and repost what came; returns frames seen. */
u32 net_poll(struct net_stack *s, int repost);
/* Build an Ethernet+IPv4+UDP frame to the peer at buf+NET_HDR; returns the frame length.
 * With s->dev->csum the UDP checksum is left to the device (NEEDS_CSUM). */
u32 net_udp_frame(struct net_stack *s, u8 *buf, u16 sport, u16 dport, const void *data, u32 len);
/* Send a UDP datagram to the peer now on pair q (waits for a TX buffer). */
int net_udp_send(struct net_stack *s, u16 q, u16 sport, u16 dport, const void *data, u32 len);
/* Learn the peer's MAC (ARP, retried, up to ms); 0 or -1. */
int net_resolve(struct net_stack *s, u64 ms);
void net_send_ping(struct net_stack *s, u16 id, u16 seq);

/* The test payload (also in tests/tools/net_peer.c): 32 bytes of header, then bytes
 * that depend on the flow and their offset only. */
#define RVNET_MAGIC 0x544e5652u /* "RVNT" */
#define RVNET_END 1
#define RVNET_HELLO 2
#define RVNET_ACK 4
struct rvnet_payload { u32 magic, flow; u64 seq; u32 len, flags, check, rsvd; };
u32 rvnet_check(u64 seq, u32 flow, u32 len, u32 flags);
static inline u8 rvnet_byte(u32 flow, u32 i) { return (u8)(i * 7u + flow * 13u + 0x5au); }
void rvnet_fill(void *p, u32 len, u32 flow, u64 seq, u32 flags);  /* whole payload */
void rvnet_stamp(void *p, u32 len, u32 flow, u64 seq, u32 flags); /* header only (body already filled) */
int rvnet_verify(const void *p, u32 len);                          /* 0 ok, -1 corrupt */

#endif
