/* net: virtio-net on a TAP device, every frame an io_uring SQE. RX: readv SQEs on the
 * queue pair's TAP fd land frames (with the 12-byte virtio-net header the kernel writes
 * through IFF_VNET_HDR) straight in the guest's posted buffers, spread over several of
 * them with VIRTIO_NET_F_MRG_RXBUF. With no buffers posted a queue stops reading (the
 * frames wait in the kernel's TAP queue) until the guest posts more. TX: writev SQEs
 * straight from the guest's buffers, behind a checked copy of the header. Offloads are
 * negotiated and applied with TUNSETOFFLOAD; queue pairs map to the TAP's queues and the
 * control queue's VQ_PAIRS_SET attaches and detaches them. The device talks to the guest
 * only through struct virtio_dev, so it sits on any transport. */
#ifndef RV_NET_H
#define RV_NET_H

#include "engine/bufring.h"
#include "engine/helper.h"
#include "tap.h"
#include "virtio.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_NET_F_CSUM (1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MAC (1ull << 5)
#define VIRTIO_NET_F_GUEST_TSO4 (1ull << 7)
#define VIRTIO_NET_F_GUEST_TSO6 (1ull << 8)
#define VIRTIO_NET_F_GUEST_ECN (1ull << 9)
#define VIRTIO_NET_F_GUEST_UFO (1ull << 10)
#define VIRTIO_NET_F_HOST_TSO4 (1ull << 11)
#define VIRTIO_NET_F_HOST_TSO6 (1ull << 12)
#define VIRTIO_NET_F_HOST_ECN (1ull << 13)
#define VIRTIO_NET_F_HOST_UFO (1ull << 14)
#define VIRTIO_NET_F_MRG_RXBUF (1ull << 15)
#define VIRTIO_NET_F_STATUS (1ull << 16)
#define VIRTIO_NET_F_CTRL_VQ (1ull << 17)
#define VIRTIO_NET_F_MQ (1ull << 22)

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1
#define VIRTIO_NET_HDR_GSO_UDP 3
#define VIRTIO_NET_HDR_GSO_TCPV6 4
#define VIRTIO_NET_HDR_GSO_ECN 0x80

#define VIRTIO_NET_CTRL_MQ 4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_OK 0
#define VIRTIO_NET_ERR 1

#define NET_HDR_LEN 12                    /* virtio_net_hdr_mrg_rxbuf, the VERSION_1 header */
#define NET_MAX_FRAME (1514 + 4)          /* Ethernet + one VLAN tag, MTU 1500, no GSO */
#define NET_MAX_GSO_FRAME (65535 + 14 + 4)
#define NET_MAX_PAIRS TAP_MAX_QUEUES
#define NET_RX_MAX_IOV 64                 /* buffers of one RX chain we fill (the rest stay unused) */
#define NET_RX_READ_CHAINS 64             /* chains one mergeable read may spread over */
#define NET_RX_READ_IOV 256
#define NET_RX_MAX_READS 16               /* reads in flight per queue */

struct net_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

struct net_options {
	const char *tap, *id;
	uint8_t mac[6];
	const char *ip, *mask;
	unsigned pairs;
	unsigned queue_size;
};

struct net_queue_stats {
	uint64_t rx_frames, rx_bytes, rx_dropped, rx_errors, rx_no_buffers;
	uint64_t rx_ring_frames;      /* of rx_frames, those the multishot read delivered */
	uint64_t tx_frames, tx_bytes, tx_dropped, tx_errors;
};

struct net_rx_slot {
	uint16_t head, niov;
	uint32_t len;
	struct iovec iov[NET_RX_MAX_IOV];
};

struct net_rx_read {
	struct engine_op op;
	struct net_queue *q;
	bool in_kernel;               /* submitted, its completion still to come */
	unsigned n, niov;
	uint64_t cap;
	uint16_t slot[NET_RX_READ_CHAINS];
	struct iovec iov[NET_RX_READ_IOV];
};

struct net_tx;

/* One queue pair: RX queue 2*index, TX queue 2*index+1, one TAP fd. */
struct net_queue {
	struct net_dev *net;
	unsigned index;
	int fd;                       /* fixed-file index or plain fd (see fixed) */
	bool fixed;
	/* RX: chains taken from the avail ring wait in 'ready' until a read takes them */
	struct net_rx_slot *slots;
	uint16_t *free_slots, *ready;
	unsigned n_free_slots, ready_head, ready_n;
	struct net_rx_read reads[NET_RX_MAX_READS];
	struct net_rx_read *free_reads[NET_RX_MAX_READS];
	unsigned n_free_reads;
	bool rx_empty;                /* out of posted buffers (counted once per episode) */
	/* RX through the kernel's buffer selection: single-buffer chains that hold the
	 * largest frame are lent to the ring (buffer id = slot) and one multishot read
	 * fills them; other chains take the readv path above. */
	struct engine_buf_ring rxring;
	bool rxring_ok;               /* the ring exists and the kernel can multishot-read */
	bool ms_armed;                /* the multishot read is in the kernel */
	bool ms_failed;               /* it ended on an error: re-arm on the guest's next post */
	unsigned ring_n;              /* chains lent to the ring */
	struct engine_op ms_op;
	/* TX */
	struct net_tx *tx;
	struct net_tx **tx_free;
	unsigned n_tx_free;
	bool tx_starved;
	struct net_queue_stats stats;
};

struct net_dev {
	struct virtio_dev vdev;
	struct net_options opt;
	char id[32];
	struct tap tap;
	unsigned pairs, active_pairs;
	unsigned ctrl_queue;          /* index of the control queue */
	unsigned inflight;            /* reads and writes in the kernel */
	uint64_t max_rx_frame;        /* largest frame (with header) the kernel may hand us */
	struct net_queue queues[NET_MAX_PAIRS];
	/* Scratch for popping chains, one per path (used only on the owning engine's thread;
	 * they were function statics, shared by every device of every engine). */
	struct virtq_chain chain_rx, chain_tx, chain_ctrl;
	/* TUNSETOFFLOAD and TUNSETQUEUE wait for rtnl, so they run on a helper thread, one job
	 * at a time: RX starts (start) or a VQ_PAIRS_SET is acknowledged (ctrl) when it is done. */
	struct engine_helper helper;
	struct engine_job tap_job;
	bool tap_busy;                /* tap_job is with the helper (counted in inflight) */
	unsigned job_offload, job_pairs;
};

/* Open the TAP and set up the device model (no transport yet). */
int net_create(struct net_dev *n, const struct net_options *o, struct engine *e, const struct guest_mem *mem);
void net_destroy(struct net_dev *n);
/* The device's counters summed over its queue pairs. */
void net_stats_total(const struct net_dev *n, struct net_queue_stats *t);
/* Counters at exit: one line for the device, one per queue pair that carried traffic. */
void net_log_stats(const struct net_dev *n);

/* Is this TX header acceptable with these negotiated features for a frame of frame_len
 * bytes (after the header)? NULL if so, else why not. Pure: unit-tested. */
const char *net_tx_check(const struct net_hdr *h, uint64_t features, uint64_t frame_len);

/* net_rx.c / net_tx.c (internal to the device) */
int net_queue_alloc(struct net_queue *q, unsigned queue_size);
void net_queue_free(struct net_queue *q, unsigned queue_size);
void net_queue_clear(struct net_queue *q, unsigned queue_size);
/* Does queue vq of pair q exist for the driver (negotiated pairs) and run? */
bool net_queue_live(const struct net_queue *q, unsigned vq);
void net_rx_work(struct net_queue *q);
void net_rx_cancel(struct net_queue *q);
void net_tx_work(struct net_queue *q);
/* A request finished (or was cancelled): a reset in progress may now be done. */
void net_request_done(struct net_dev *n);
/* Rate-limited warning about a dropped or failed frame on a queue. */
void net_log_drop(struct net_queue *q, uint64_t count, const char *what, const char *why);

#endif
