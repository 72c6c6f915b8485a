/* net_tx: the transmit path of virtio-net. Each chain the guest posts is one frame:
 * a 12-byte header, then the frame. The header is copied out and checked (flags, GSO
 * type against the negotiated offloads, sizes); a bad one drops the frame, counts it and
 * returns the chain, and the queue goes on. A good frame becomes one writev SQE whose
 * first iovec is our copy of the header (the guest cannot change it after the check)
 * and the rest the guest's own buffers. Completions return the chains; the used ring is
 * published (and the guest interrupted, if it wants) once per batch. */
#include "net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct net_tx {
	struct engine_op op;
	struct net_queue *q;
	uint16_t head;
	uint32_t len;
	unsigned niov;
	struct net_hdr hdr;
	struct iovec iov[VIRTQ_MAX_IOV + 1];
};

static void tx_done(struct engine *e, struct engine_op *op, int res, uint32_t flags);

int net_tx_alloc(struct net_queue *q, unsigned queue_size)
{
	q->tx = calloc(queue_size, sizeof(*q->tx));
	q->tx_free = calloc(queue_size, sizeof(*q->tx_free));
	if (!q->tx || !q->tx_free)
		return -ENOMEM;
	for (unsigned i = 0; i < queue_size; i++) {
		q->tx[i].op.handler = tx_done;
		q->tx[i].op.ctx = &q->tx[i];
		q->tx[i].q = q;
	}
	return 0;
}

void net_tx_init(struct net_queue *q, unsigned queue_size)
{
	q->n_tx_free = 0;
	for (unsigned i = 0; i < queue_size; i++)
		q->tx_free[q->n_tx_free++] = &q->tx[i];
	q->tx_starved = false;
}

void net_tx_free_all(struct net_queue *q)
{
	free(q->tx);
	free(q->tx_free);
}

static bool live(struct net_queue *q) { return net_queue_live(q, 2 * q->index + 1); }

static void tx_return(struct net_queue *q, struct net_tx *t)
{
	unsigned qi = 2 * q->index + 1;
	virtq_push(&q->net->vdev.vqs[qi], t->head, 0);
	virtio_queue_used(&q->net->vdev, qi);
	q->tx_free[q->n_tx_free++] = t;
}

/* Fill t->iov with the header copy and the chain's bytes after the header. The chain is
 * scratch that the next pop refills, so its iovecs are trimmed in place. */
static void build_iov(struct net_tx *t, struct virtq_chain *c)
{
	struct iovec *iov = c->iov;
	unsigned n = c->n_out;
	iov_advance(&iov, &n, NET_HDR_LEN);
	t->iov[0] = (struct iovec){ &t->hdr, NET_HDR_LEN };
	memcpy(&t->iov[1], iov, n * sizeof(*iov));
	t->niov = n + 1;
}

void net_tx_work(struct net_queue *q)
{
	struct net_dev *n = q->net;
	struct virtio_dev *d = &n->vdev;
	unsigned qi = 2 * q->index + 1;
	struct virtq *vq = &d->vqs[qi];
	struct virtq_chain *c = &n->chain_tx;

	while (live(q)) {
		if (!q->n_tx_free) {
			q->tx_starved = true; /* resumes when a write completes */
			return;
		}
		int got = virtq_pop(vq, c);
		if (got < 0)
			virtio_dev_fail(d, (int)qi, vq->error);
		if (got <= 0)
			return;
		struct net_tx *t = q->tx_free[--q->n_tx_free];
		const char *why = NULL;
		t->head = c->head;
		memset(&t->hdr, 0, sizeof(t->hdr));
		if (c->n_in)
			why = "transmit chain has device-writable buffers";
		else if (c->out_len < NET_HDR_LEN)
			why = "transmit chain shorter than the 12-byte header";
		else {
			iov_copy_from(c->iov, c->n_out, 0, &t->hdr, NET_HDR_LEN);
			why = net_tx_check(&t->hdr, d->guest_features, c->out_len - NET_HDR_LEN);
		}
		if (why) {
			q->stats.tx_dropped++;
			net_log_drop(q, q->stats.tx_dropped, "transmit frame dropped", why);
			tx_return(q, t);
			continue;
		}
		t->hdr.num_buffers = 0;
		t->len = (uint32_t)(c->out_len - NET_HDR_LEN);
		build_iov(t, c);
		n->inflight++;
		struct io_uring_sqe *sqe = engine_sqe(d->engine, &t->op);
		io_uring_prep_writev(sqe, q->fd, t->iov, t->niov, 0);
		if (q->fixed)
			sqe->flags |= IOSQE_FIXED_FILE;
	}
}

static void tx_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct net_tx *t = op->ctx;
	struct net_queue *q = t->q;
	(void)e, (void)flags;

	if (!live(q)) {
		q->tx_free[q->n_tx_free++] = t;
		net_request_done(q->net);
		return;
	}
	q->net->inflight--;
	if (res < 0) {
		q->stats.tx_errors++;
		net_log_drop(q, q->stats.tx_errors, "TAP write failed", strerror(-res));
	} else {
		q->stats.tx_frames++;
		q->stats.tx_bytes += t->len;
	}
	tx_return(q, t);
	if (q->tx_starved) {
		q->tx_starved = false;
		net_tx_work(q);
	}
}
