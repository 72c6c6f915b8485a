/* net_rx: the receive path of virtio-net, and the per-queue-pair allocations.
 *
 * Chains the guest posts are taken from the avail ring into 'ready' (their writable
 * buffers as iovecs). A read takes one chain (or, with MRG_RXBUF, as many as the largest
 * frame needs) and becomes one readv SQE on the TAP fd: the kernel writes the virtio-net
 * header and the frame straight into guest memory. On completion the chains the frame
 * filled go to the used ring (num_buffers written into the first), the ones it did not
 * reach go back to 'ready'. A frame larger than the buffers it got is dropped and
 * counted; its chains go back too. No chains, no reads: the kernel's TAP queue holds
 * the frames (and drops what overflows it) until the guest posts buffers again.
 *
 * A chain that is one host-contiguous buffer able to hold the largest frame (the common
 * case: MRG_RXBUF or small frames, no guest GSO) skips all that: it is lent to the
 * queue's provided-buffer ring and one multishot read per queue fills such buffers, a
 * frame each, in the order the guest posted them. One request waits on the TAP instead
 * of sixteen readvs that every frame would wake. */
#include "net.h"

#include "engine/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>



static void ready_push_back(struct net_queue *q, uint16_t s, unsigned qsize)
{
	q->ready[(q->ready_head + q->ready_n++) % qsize] = s;
}

static void ready_push_front(struct net_queue *q, uint16_t s, unsigned qsize)
{
	q->ready_head = (q->ready_head + qsize - 1) % qsize;
	q->ready[q->ready_head] = s;
	q->ready_n++;
}

static uint16_t ready_pop(struct net_queue *q, unsigned qsize)
{
	uint16_t s = q->ready[q->ready_head];
	q->ready_head = (q->ready_head + 1) % qsize;
	q->ready_n--;
	return s;
}

static bool live(struct net_queue *q) { return net_queue_live(q, 2 * q->index); }

/* Take every chain the guest posted (while we have slots for them). */
static bool take_chains(struct net_queue *q)
{
	struct net_dev *n = q->net;
	struct virtio_dev *d = &n->vdev;
	unsigned qi = 2 * q->index, qsize = n->opt.queue_size;
	struct virtq *vq = &d->vqs[qi];
	struct virtq_chain *c = &n->chain_rx;

	while (q->n_free_slots) {
		int got = virtq_pop(vq, c);
		if (got < 0) {
			virtio_dev_fail(d, (int)qi, vq->error);
			return false;
		}
		if (!got)
			break;
		if (c->n_out) {
			virtio_dev_fail(d, (int)qi, "receive chain has device-readable buffers");
			return false;
		}
		if (c->in_len < NET_HDR_LEN) {
			virtio_dev_fail(d, (int)qi, "receive chain shorter than the 12-byte header");
			return false;
		}
		uint16_t s = q->free_slots[--q->n_free_slots];
		struct net_rx_slot *sl = &q->slots[s];
		sl->head = c->head;
		sl->niov = (uint16_t)(c->n_in < NET_RX_MAX_IOV ? c->n_in : NET_RX_MAX_IOV);
		sl->len = 0;
		for (unsigned i = 0; i < sl->niov; i++) {
			sl->iov[i] = c->iov[i];
			sl->len += (uint32_t)c->iov[i].iov_len;
		}
		q->ms_failed = false;
		if (q->rxring_ok && sl->niov == 1 && sl->len >= n->max_rx_frame) {
			engine_buf_ring_add(&q->rxring, sl->iov[0].iov_base, sl->len, s);
			q->ring_n++;
		} else {
			ready_push_back(q, s, qsize);
		}
	}
	if (q->rxring_ok)
		engine_buf_ring_publish(&q->rxring);
	return true;
}

static void rx_ring_done(struct engine *e, struct engine_op *op, int res, uint32_t flags);

static void arm_multishot(struct net_queue *q)
{
	struct net_dev *n = q->net;
	if (q->ms_armed || !q->ring_n || q->ms_failed)
		return;
	q->ms_armed = true;
	n->inflight++;
	engine_prep_read_multishot(engine_sqe(n->vdev.engine, &q->ms_op), q->fd, q->fixed, &q->rxring);
}

static void rx_done(struct engine *e, struct engine_op *op, int res, uint32_t flags);

/* Start reads while there are chains for them. */
static void submit_reads(struct net_queue *q)
{
	struct net_dev *n = q->net;
	unsigned qsize = n->opt.queue_size;
	bool mrg = virtio_has(&n->vdev, VIRTIO_NET_F_MRG_RXBUF);

	while (q->n_free_reads && q->ready_n) {
		struct net_rx_read *r = q->free_reads[q->n_free_reads - 1];
		r->n = r->niov = 0;
		r->cap = 0;
		do {
			struct net_rx_slot *sl = &q->slots[q->ready[q->ready_head]];
			if (r->niov + sl->niov > NET_RX_READ_IOV)
				break;
			uint16_t s = ready_pop(q, qsize);
			r->slot[r->n++] = s;
			memcpy(r->iov + r->niov, sl->iov, sl->niov * sizeof(struct iovec));
			r->niov += sl->niov;
			r->cap += sl->len;
		} while (mrg && r->cap < n->max_rx_frame && r->n < NET_RX_READ_CHAINS && q->ready_n);
		/* Not room for the largest frame yet: wait for more buffers while other reads
		 * are out (they will be back), else try with what there is. */
		bool in_flight = q->n_free_reads < NET_RX_MAX_READS;
		if (!r->n || (mrg && r->cap < n->max_rx_frame && in_flight)) {
			while (r->n)
				ready_push_front(q, r->slot[--r->n], qsize);
			return;
		}
		q->n_free_reads--;
		n->inflight++;
		r->in_kernel = true;
		struct io_uring_sqe *sqe = engine_sqe(n->vdev.engine, &r->op);
		io_uring_prep_readv(sqe, q->fd, r->iov, r->niov, 0);
		if (q->fixed)
			sqe->flags |= IOSQE_FIXED_FILE;
	}
	arm_multishot(q);
	if (!q->ready_n && !q->ring_n && !q->rx_empty && q->n_free_reads == NET_RX_MAX_READS) {
		q->rx_empty = true; /* backpressure: the guest posted nothing to read into */
		q->stats.rx_no_buffers++;
	}
}

void net_rx_work(struct net_queue *q)
{
	if (!live(q) || !take_chains(q))
		return;
	if (q->ready_n || q->ring_n)
		q->rx_empty = false;
	if (q->index < q->net->active_pairs)
		submit_reads(q);
}

static void give_back(struct net_queue *q, struct net_rx_read *r, unsigned from)
{
	unsigned qsize = q->net->opt.queue_size;
	for (unsigned i = r->n; i > from; i--)
		ready_push_front(q, r->slot[i - 1], qsize);
}

static void rx_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct net_rx_read *r = op->ctx;
	struct net_queue *q = r->q;
	struct net_dev *n = q->net;
	struct virtio_dev *d = &n->vdev;
	unsigned qi = 2 * q->index;
	(void)e, (void)flags;

	q->free_reads[q->n_free_reads++] = r;
	r->in_kernel = false;
	if (!live(q)) {
		/* reset (or NEEDS_RESET): the chains belong to a ring that is going away */
		for (unsigned i = 0; i < r->n; i++)
			q->free_slots[q->n_free_slots++] = r->slot[i];
		net_request_done(n);
		return;
	}
	n->inflight--;
	if (res < NET_HDR_LEN || (uint64_t)res > r->cap) {
		give_back(q, r, 0);
		if (res == -ECANCELED) {
			/* queue pair deactivated: its chains wait for it to come back */
		} else if (res >= 0 && (uint64_t)res > r->cap) {
			q->stats.rx_dropped++;
			net_log_drop(q, q->stats.rx_dropped, "receive frame dropped", "larger than the buffers posted");
		} else {
			q->stats.rx_errors++;
			net_log_drop(q, q->stats.rx_errors, "TAP read failed", res < 0 ? strerror(-res) : "short frame");
		}
		net_rx_work(q);
		return;
	}
	/* Hand the filled chains to the guest, in order; the first carries num_buffers. */
	struct virtq *vq = &d->vqs[qi];
	uint64_t left = (uint64_t)res;
	uint16_t used = 0;
	for (; used < r->n && left; used++) {
		struct net_rx_slot *sl = &q->slots[r->slot[used]];
		uint32_t len = left < sl->len ? (uint32_t)left : sl->len;
		left -= len;
		virtq_push(vq, sl->head, len);
		q->free_slots[q->n_free_slots++] = r->slot[used];
	}
	/* num_buffers in the first chain's header; the guest sees none of it before the
	 * batch's used index is published. */
	struct net_rx_slot *first = &q->slots[r->slot[0]];
	iov_copy_to(first->iov, first->niov, 10, &used, 2);
	give_back(q, r, used);
	q->stats.rx_frames++;
	q->stats.rx_bytes += (uint64_t)res - NET_HDR_LEN;
	virtio_queue_used(d, qi);
	net_rx_work(q);
}

/* A frame the multishot read put in the buffer of slot s. */
static void ring_frame(struct net_queue *q, uint16_t s, int res)
{
	struct net_dev *n = q->net;
	struct net_rx_slot *sl = &q->slots[s];

	if (res < NET_HDR_LEN || (uint32_t)res > sl->len) {
		/* lend the buffer again: the chain is still the guest's posted one */
		engine_buf_ring_add(&q->rxring, sl->iov[0].iov_base, sl->len, s);
		engine_buf_ring_publish(&q->rxring);
		q->ring_n++;
		q->stats.rx_errors++;
		net_log_drop(q, q->stats.rx_errors, "TAP read failed", res < NET_HDR_LEN ? "short frame" : "frame larger than its buffer");
		return;
	}
	uint16_t one = 1;
	iov_copy_to(sl->iov, 1, 10, &one, 2); /* num_buffers */
	virtq_push(&n->vdev.vqs[2 * q->index], sl->head, (uint32_t)res);
	q->free_slots[q->n_free_slots++] = s;
	q->stats.rx_frames++;
	q->stats.rx_ring_frames++;
	q->stats.rx_bytes += (uint64_t)res - NET_HDR_LEN;
	virtio_queue_used(&n->vdev, 2 * q->index);
	/* Top the ring up from what the guest has posted since: a guest that polls does not
	 * kick, and a ring left to run dry drops frames at the TAP until it does. */
	if (q->ring_n < n->vdev.vqs[2 * q->index].size / 2)
		take_chains(q);
}

static void rx_ring_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct net_queue *q = op->ctx;
	struct net_dev *n = q->net;
	bool more = flags & IORING_CQE_F_MORE;
	(void)e;

	if (flags & IORING_CQE_F_BUFFER) {
		uint16_t s = (uint16_t)(flags >> IORING_CQE_BUFFER_SHIFT);
		q->ring_n--;
		if (!live(q))
			q->free_slots[q->n_free_slots++] = s; /* reset: the ring is emptied at start */
		else
			ring_frame(q, s, res);
	}
	if (more)
		return;
	q->ms_armed = false;
	if (!live(q)) {
		net_request_done(n);
		return;
	}
	n->inflight--;
	/* -ENOBUFS: the ring ran dry, more chains re-arm it; -ECANCELED: the pair was
	 * deactivated. Anything else is the TAP's error: say so, and try again only when
	 * the guest posts buffers, so a persistent error cannot spin the engine. */
	if (res < 0 && res != -ENOBUFS && res != -ECANCELED) {
		q->stats.rx_errors++;
		q->ms_failed = true;
		net_log_drop(q, q->stats.rx_errors, "TAP multishot read failed", strerror(-res));
	}
	net_rx_work(q);
}

void net_rx_cancel(struct net_queue *q)
{
	/* Each read by its own op: the pair's TX writes share the fd and must go on. */
	struct engine *e = q->net->vdev.engine;
	for (unsigned i = 0; i < NET_RX_MAX_READS; i++)
		if (q->reads[i].in_kernel)
			io_uring_prep_cancel64(engine_sqe(e, &e->ignore_op), (uint64_t)(uintptr_t)&q->reads[i].op, 0);
	if (q->ms_armed)
		io_uring_prep_cancel64(engine_sqe(e, &e->ignore_op), (uint64_t)(uintptr_t)&q->ms_op, 0);
}

/* ---- per-pair memory ---- */
void net_tx_init(struct net_queue *q, unsigned queue_size);
int net_tx_alloc(struct net_queue *q, unsigned queue_size);
void net_tx_free_all(struct net_queue *q);

int net_queue_alloc(struct net_queue *q, unsigned queue_size)
{
	q->slots = calloc(queue_size, sizeof(*q->slots));
	q->free_slots = calloc(queue_size, sizeof(*q->free_slots));
	q->ready = calloc(queue_size, sizeof(*q->ready));
	if (!q->slots || !q->free_slots || !q->ready)
		return -ENOMEM;
	for (unsigned i = 0; i < NET_RX_MAX_READS; i++) {
		q->reads[i].op.handler = rx_done;
		q->reads[i].op.ctx = &q->reads[i];
		q->reads[i].q = q;
	}
	if (net_tx_alloc(q, queue_size) < 0)
		return -ENOMEM;
	q->ms_op.handler = rx_ring_done;
	q->ms_op.ctx = q;
	struct engine *e = q->net->vdev.engine;
	if (engine_can_read_multishot(e)) {
		int ret = engine_buf_ring_init(e, &q->rxring, queue_size);
		q->rxring_ok = ret == 0;
		if (ret < 0)
			log_info("%s: queue pair %u: no provided-buffer ring (%s): receiving with one readv per buffer",
				 q->net->id, q->index, strerror(-ret));
	} else {
		log_info("%s: this kernel has no multishot read (Linux 6.7): receiving with one readv per buffer",
			 q->net->id);
	}
	net_queue_clear(q, queue_size);
	return 0;
}

/* Back to a freshly started queue pair (nothing may be in flight). */
void net_queue_clear(struct net_queue *q, unsigned queue_size)
{
	q->n_free_slots = 0;
	for (unsigned i = 0; i < queue_size; i++)
		q->free_slots[q->n_free_slots++] = (uint16_t)(queue_size - 1 - i);
	q->ready_head = q->ready_n = 0;
	q->n_free_reads = 0;
	for (unsigned i = 0; i < NET_RX_MAX_READS; i++)
		q->free_reads[q->n_free_reads++] = &q->reads[i];
	q->rx_empty = false;
	/* Buffers lent before a reset belong to a ring the guest has forgotten. */
	if (q->ring_n && q->rxring_ok && engine_buf_ring_reset(q->net->vdev.engine, &q->rxring) < 0)
		q->rxring_ok = false;
	q->ring_n = 0;
	q->ms_armed = q->ms_failed = false;
	net_tx_init(q, queue_size);
}

void net_queue_free(struct net_queue *q, unsigned queue_size)
{
	(void)queue_size;
	free(q->slots);
	free(q->free_slots);
	free(q->ready);
	engine_buf_ring_free(q->net->vdev.engine, &q->rxring);
	net_tx_free_all(q);
}
