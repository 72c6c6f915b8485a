/* net: the virtio-net device model: features, configuration space, the control queue,
 * start and reset, the TX header check, counters. The data path is in net_rx.c and
 * net_tx.c. See net.h. */
#include "net.h"

#include "engine/log.h"

#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *net_tx_check(const struct net_hdr *h, uint64_t features, uint64_t frame_len)
{
	uint8_t gso = h->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	bool gso_any = features & (VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_UFO);

	if (frame_len < 14)
		return "frame shorter than an Ethernet header";
	if (frame_len > (gso_any ? NET_MAX_GSO_FRAME : NET_MAX_FRAME))
		return "frame larger than the device accepts";
	if (h->flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
		return "header flags other than NEEDS_CSUM";
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!(features & VIRTIO_NET_F_CSUM))
			return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
		if ((uint64_t)h->csum_start + h->csum_offset + 2 > frame_len)
			return "checksum position outside the frame";
	}
	if (h->gso_type == VIRTIO_NET_HDR_GSO_NONE)
		return NULL;
	switch (gso) {
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!(features & VIRTIO_NET_F_HOST_TSO4))
			return "TSO4 frame without VIRTIO_NET_F_HOST_TSO4";
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!(features & VIRTIO_NET_F_HOST_TSO6))
			return "TSO6 frame without VIRTIO_NET_F_HOST_TSO6";
		break;
	case VIRTIO_NET_HDR_GSO_UDP:
		if (!(features & VIRTIO_NET_F_HOST_UFO))
			return "UFO frame without VIRTIO_NET_F_HOST_UFO";
		break;
	default:
		return "unknown GSO type";
	}
	if ((h->gso_type & VIRTIO_NET_HDR_GSO_ECN) && !(features & VIRTIO_NET_F_HOST_ECN))
		return "ECN GSO frame without VIRTIO_NET_F_HOST_ECN";
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "GSO frame without NEEDS_CSUM";
	if (!h->gso_size || h->gso_size >= frame_len)
		return "GSO segment size is 0 or not below the frame length";
	return NULL;
}

void net_log_drop(struct net_queue *q, uint64_t count, const char *what, const char *why)
{
	if (log_should_report(count))
		log_warn("%s: queue pair %u: %s: %s (%llu so far)", q->net->id, q->index, what, why,
			 (unsigned long long)count);
}

bool net_queue_live(const struct net_queue *q, unsigned vq)
{
	const struct net_dev *n = q->net;
	const struct virtio_dev *d = &n->vdev;
	/* The control queue follows the pairs the driver may use: without MQ only pair 0
	 * exists, and queue 2 is the control queue, not pair 1's RX. */
	return virtio_dev_live(d) && q->index < n->ctrl_queue / 2 && d->vqs[vq].ready;
}

void net_request_done(struct net_dev *n)
{
	n->inflight--;
	if (n->vdev.resetting && !n->inflight)
		virtio_dev_reset_done(&n->vdev);
}

/* ---- the TAP's settings, on the helper thread ---- */
#define TAP_OFFLOAD_KEEP ~0u /* a VQ_PAIRS_SET job: the offloads stay as they are */

static void ctrl_work(struct net_dev *n);

static void tap_job_work(struct engine_job *j)
{
	struct net_dev *n = j->ctx;
	if (n->job_offload != TAP_OFFLOAD_KEEP)
		tap_set_offload(&n->tap, n->job_offload); /* a failure is logged; frames stay plain */
	tap_set_active(&n->tap, n->job_pairs);
}

/* Back on the engine: the pairs the TAP now has may read, and a VQ_PAIRS_SET that waited
 * for them is acknowledged. After a reset that came meanwhile there is nothing to start. */
static void tap_job_done(struct engine_job *j)
{
	struct net_dev *n = j->ctx;
	struct virtio_dev *d = &n->vdev;
	bool ctrl = n->job_offload == TAP_OFFLOAD_KEEP;
	n->tap_busy = false;
	if (virtio_dev_live(d)) {
		unsigned old = n->active_pairs;
		n->active_pairs = n->job_pairs;
		for (unsigned i = old; i < n->active_pairs; i++)
			net_rx_work(&n->queues[i]);
		log_debug("%s: %u queue pair%s active", n->id, n->active_pairs, n->active_pairs > 1 ? "s" : "");
		if (ctrl) {
			struct virtq_chain *c = &n->chain_ctrl;
			uint8_t ack = VIRTIO_NET_OK;
			iov_copy_to(&c->iov[c->n_out], c->n_in, 0, &ack, 1);
			virtq_push(&d->vqs[n->ctrl_queue], c->head, 1);
			virtio_queue_used(d, n->ctrl_queue);
		}
	}
	net_request_done(n);
	if (virtio_dev_live(d))
		ctrl_work(n); /* commands that came while the TAP was busy */
}

/* Hand the TAP its offloads (or TAP_OFFLOAD_KEEP) and active queue count. Counted in flight, so
 * a reset waits for it. Returns 0, or -EBUSY from a full helper (cannot happen: one job
 * at a time). */
static int tap_job_submit(struct net_dev *n, unsigned offload, unsigned pairs)
{
	n->job_offload = offload;
	n->job_pairs = pairs;
	n->tap_job = (struct engine_job){ .work = tap_job_work, .done = tap_job_done, .ctx = n };
	int ret = engine_helper_submit(&n->helper, &n->tap_job);
	if (ret == 0) {
		n->tap_busy = true;
		n->inflight++;
	}
	return ret;
}

/* ---- control queue ---- */
/* Pairs beyond `want` stop reading now; the TAP detaches or attaches queues on the helper,
 * and the command is acknowledged when it has (tap_job_done). */
static int set_pairs(struct net_dev *n, unsigned want)
{
	for (unsigned i = want; i < n->active_pairs; i++)
		net_rx_cancel(&n->queues[i]);
	if (want < n->active_pairs)
		n->active_pairs = want;
	return tap_job_submit(n, TAP_OFFLOAD_KEEP, want);
}

#define CTRL_PENDING 0xff /* not an ack: the answer comes when the TAP is set */

static uint8_t ctrl_command(struct net_dev *n, uint8_t class, uint8_t cmd, const struct virtq_chain *c)
{
	if (class == VIRTIO_NET_CTRL_MQ && cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET) {
		uint16_t pairs;
		if (!virtio_has(&n->vdev, VIRTIO_NET_F_MQ) || c->out_len < 4)
			return VIRTIO_NET_ERR;
		iov_copy_from(c->iov, c->n_out, 2, &pairs, 2);
		if (pairs < 1 || pairs > n->pairs) {
			log_warn("%s: control queue: VQ_PAIRS_SET %u refused (1..%u)", n->id, pairs, n->pairs);
			return VIRTIO_NET_ERR;
		}
		/* Attaching a TAP queue whose RX queue the driver never enabled would send
		 * flows where nobody reads. */
		for (unsigned i = 0; i < pairs; i++)
			if (!n->vdev.vqs[2 * i].ready || !n->vdev.vqs[2 * i + 1].ready) {
				log_warn("%s: control queue: VQ_PAIRS_SET %u refused: queue pair %u is not enabled", n->id,
					 pairs, i);
				return VIRTIO_NET_ERR;
			}
		return set_pairs(n, pairs) == 0 ? CTRL_PENDING : VIRTIO_NET_ERR;
	}
	log_debug("%s: control queue: class %u command %u not supported", n->id, class, cmd);
	return VIRTIO_NET_ERR;
}

static void ctrl_work(struct net_dev *n)
{
	struct virtio_dev *d = &n->vdev;
	struct virtq *vq = &d->vqs[n->ctrl_queue];
	struct virtq_chain *c = &n->chain_ctrl;

	while (virtio_dev_live(d) && !n->tap_busy) {
		int got = virtq_pop(vq, c);
		if (got < 0)
			virtio_dev_fail(d, (int)n->ctrl_queue, vq->error);
		if (got <= 0)
			return;
		if (c->out_len < 2 || c->in_len < 1) {
			virtio_dev_fail(d, (int)n->ctrl_queue, "control command without class/command or ack byte");
			return;
		}
		uint8_t hdr[2];
		iov_copy_from(c->iov, c->n_out, 0, hdr, 2);
		uint8_t ack = ctrl_command(n, hdr[0], hdr[1], c);
		if (ack == CTRL_PENDING)
			return;
		iov_copy_to(&c->iov[c->n_out], c->n_in, 0, &ack, 1);
		virtq_push(vq, c->head, 1);
		virtio_queue_used(d, n->ctrl_queue);
	}
}

/* ---- virtio_dev ops ---- */
static void net_queue_work(struct virtio_dev *d, unsigned qi)
{
	struct net_dev *n = d->priv;
	if (qi == n->ctrl_queue)
		ctrl_work(n);
	else if (qi < n->ctrl_queue)
		(qi & 1) ? net_tx_work(&n->queues[qi / 2]) : net_rx_work(&n->queues[qi / 2]);
}

static void net_start(struct virtio_dev *d)
{
	struct net_dev *n = d->priv;
	unsigned off = 0;

	/* What the kernel may hand us: checksum-less frames and TSO only if the driver takes
	 * them (and TSO only together with checksum offload, as the spec ties them). */
	if (virtio_has(d, VIRTIO_NET_F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (virtio_has(d, VIRTIO_NET_F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (virtio_has(d, VIRTIO_NET_F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && virtio_has(d, VIRTIO_NET_F_GUEST_ECN))
			off |= TUN_F_TSO_ECN;
	}
	n->max_rx_frame = NET_HDR_LEN + ((off & (TUN_F_TSO4 | TUN_F_TSO6)) ? NET_MAX_GSO_FRAME : NET_MAX_FRAME);
	/* The control queue follows the pairs the driver may use: 2N with MQ, else 2 (spec 5.1.2). */
	bool mq = virtio_has(d, VIRTIO_NET_F_MQ);
	n->ctrl_queue = mq ? 2 * n->pairs : 2;
	d->polled_queues = mq ? (1ull << (2 * n->pairs)) - 1 : 0x3;
	for (unsigned i = 0; i < n->pairs; i++)
		net_queue_clear(&n->queues[i], n->opt.queue_size);
	/* Until the driver asks for more (VQ_PAIRS_SET), only the first pair carries frames; and
	 * nothing is read until the TAP hands over only what the driver negotiated (a previous
	 * driver may have taken more). RX buffers are taken meanwhile; TX goes at once. */
	n->active_pairs = 0;
	if (tap_job_submit(n, off, 1) < 0)
		virtio_dev_fail(d, -1, "the TAP's helper thread has no room for its settings");
	for (unsigned i = 0; i < n->pairs; i++) {
		net_rx_work(&n->queues[i]);
		net_tx_work(&n->queues[i]);
	}
	log_debug("%s: started, features 0x%llx, TAP offloads 0x%x", n->id, (unsigned long long)d->guest_features, off);
}

static unsigned net_reset(struct virtio_dev *d)
{
	struct net_dev *n = d->priv;
	for (unsigned i = 0; i < n->pairs; i++) {
		net_rx_cancel(&n->queues[i]);
		n->queues[i].tx_starved = false;
	}
	return n->inflight;
}

static uint64_t net_config_read(struct virtio_dev *d, unsigned off, unsigned size)
{
	struct net_dev *n = d->priv;
	uint8_t cfg[12] = { 0 };
	uint16_t status = 1, pairs = (uint16_t)n->pairs; /* VIRTIO_NET_S_LINK_UP */
	uint64_t v = 0;

	memcpy(cfg, n->opt.mac, 6);
	memcpy(cfg + 6, &status, 2);
	memcpy(cfg + 8, &pairs, 2);
	if (off + size <= sizeof(cfg) && size <= 8)
		memcpy(&v, cfg + off, size);
	return v;
}

static const struct virtio_dev_ops net_ops = {
	.start = net_start,
	.queue_work = net_queue_work,
	.reset = net_reset,
	.config_read = net_config_read,
};

int net_create(struct net_dev *n, const struct net_options *o, struct engine *e, const struct guest_mem *mem)
{
	uint64_t features = VIRTIO_F_RING_EVENT_IDX | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_NET_F_CSUM |
			    VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_MAC | VIRTIO_NET_F_GUEST_TSO4 |
			    VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN | VIRTIO_NET_F_HOST_TSO4 |
			    VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN | VIRTIO_NET_F_HOST_UFO |
			    VIRTIO_NET_F_MRG_RXBUF | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_CTRL_VQ | VIRTIO_NET_F_MQ;
	int ret;

	memset(n, 0, sizeof(*n));
	n->opt = *o;
	snprintf(n->id, sizeof(n->id), "%s", o->id);
	if (o->pairs < 1 || o->pairs > NET_MAX_PAIRS) {
		log_error("--net tap=%s: num_queues=%u must be an even number from 2 to %d", o->tap, 2 * o->pairs,
			  2 * NET_MAX_PAIRS);
		return -EINVAL;
	}
	if (o->queue_size < 2 || o->queue_size > VIRTQ_MAX_SIZE || (o->queue_size & (o->queue_size - 1))) {
		log_error("--net tap=%s: queue_size=%u must be a power of two from 2 to %d", o->tap, o->queue_size,
			  VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	if ((ret = tap_open(&n->tap, o->tap, o->pairs)) < 0)
		return ret;
	if ((ret = tap_configure(&n->tap, o->ip, o->mask)) < 0)
		return ret;
	if ((ret = engine_helper_init(&n->helper, e, o->id)) < 0)
		return ret;
	/* Nothing reads the TAP before the driver is ready, and then only pair 0: frames the
	 * kernel steered to other queues meanwhile would arrive stale when they open. */
	tap_set_active(&n->tap, 1);
	n->pairs = o->pairs;
	n->ctrl_queue = 2 * o->pairs;
	n->max_rx_frame = NET_HDR_LEN + NET_MAX_FRAME;
	virtio_dev_init(&n->vdev, n->id, VIRTIO_ID_NET, features, 2 * o->pairs + 1, (uint16_t)o->queue_size, &net_ops,
			e, mem, n);
	n->vdev.polled_queues = (1ull << (2 * o->pairs)) - 1; /* every RX and TX queue; not the control queue */
	for (unsigned i = 0; i < o->pairs; i++) {
		struct net_queue *q = &n->queues[i];
		q->net = n;
		q->index = i;
		int fixed = engine_register_file(e, n->tap.fds[i]);
		q->fixed = fixed >= 0;
		q->fd = q->fixed ? fixed : n->tap.fds[i];
		if ((ret = net_queue_alloc(q, o->queue_size)) < 0)
			return ret;
	}
	return 0;
}

void net_destroy(struct net_dev *n)
{
	engine_helper_destroy(&n->helper);
	for (unsigned i = 0; i < n->pairs; i++)
		net_queue_free(&n->queues[i], n->opt.queue_size);
	tap_close(&n->tap);
}

void net_stats_total(const struct net_dev *n, struct net_queue_stats *t)
{
	*t = (struct net_queue_stats){ 0 };
	for (unsigned i = 0; i < n->pairs; i++) {
		const struct net_queue_stats *s = &n->queues[i].stats;
		t->rx_frames += s->rx_frames, t->rx_bytes += s->rx_bytes, t->rx_dropped += s->rx_dropped;
		t->rx_errors += s->rx_errors, t->rx_no_buffers += s->rx_no_buffers, t->rx_ring_frames += s->rx_ring_frames;
		t->tx_frames += s->tx_frames, t->tx_bytes += s->tx_bytes, t->tx_dropped += s->tx_dropped;
		t->tx_errors += s->tx_errors;
	}
}

void net_log_stats(const struct net_dev *n)
{
	struct net_queue_stats t;
	net_stats_total(n, &t);
	log_info("%s: tap=%s rx_frames=%llu rx_ring_frames=%llu rx_bytes=%llu rx_dropped=%llu rx_errors=%llu rx_no_buffers=%llu "
		 "tx_frames=%llu tx_bytes=%llu tx_dropped=%llu tx_errors=%llu kicks=%llu interrupts=%llu", n->id,
		 n->tap.name, (unsigned long long)t.rx_frames, (unsigned long long)t.rx_ring_frames, (unsigned long long)t.rx_bytes,
		 (unsigned long long)t.rx_dropped, (unsigned long long)t.rx_errors, (unsigned long long)t.rx_no_buffers,
		 (unsigned long long)t.tx_frames, (unsigned long long)t.tx_bytes, (unsigned long long)t.tx_dropped,
		 (unsigned long long)t.tx_errors, (unsigned long long)n->vdev.kicks, (unsigned long long)n->vdev.interrupts);
	for (unsigned i = 0; n->pairs > 1 && i < n->pairs; i++) {
		const struct net_queue_stats *s = &n->queues[i].stats;
		log_info("%s: pair=%u rx_frames=%llu rx_bytes=%llu rx_dropped=%llu tx_frames=%llu tx_bytes=%llu "
			 "tx_dropped=%llu tx_errors=%llu", n->id, i, (unsigned long long)s->rx_frames,
			 (unsigned long long)s->rx_bytes, (unsigned long long)s->rx_dropped,
			 (unsigned long long)s->tx_frames, (unsigned long long)s->tx_bytes,
			 (unsigned long long)s->tx_dropped, (unsigned long long)s->tx_errors);
	}
}
