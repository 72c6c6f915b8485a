/* blk: virtio-blk device model. See blk.h.
 *
 * A request is a small state machine: parsed from its chain (header, data, status),
 * submitted as one SQE, and completed when the CQE says all its bytes moved; a short
 * read or write is resubmitted for the rest, never reported as success. Guest-controlled
 * sizes and sectors are checked against the disk before any SQE is built. */
#include "blk.h"

#include "engine/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

/* WRITE_ZEROES: ZERO_RANGE where the file system has it, else punch a hole and (unless
 * the driver allowed unmapping) allocate the range again. */
enum blk_state { REQ_IO, REQ_WZ_ZERO, REQ_WZ_PUNCH_THEN_ALLOC, REQ_WZ_PUNCH, REQ_WZ_ALLOC };

struct blk_req {
	struct engine_op op;
	struct blk_queue *q;
	enum blk_state state;
	bool in_kernel;            /* counted in the engine's io_pending */
	struct blk_req *merge_next; /* the next request merged into this one's SQE */
	struct iovec *miov;        /* a merged group's iovecs (the group's first request owns them) */
	unsigned mniov;
	uint64_t mlen;
	uint32_t type;
	uint64_t offset, len;      /* bytes on the disk */
	uint8_t *status;
	uint32_t used_len;         /* bytes written into the driver's writable buffers */
	unsigned niov;
	struct iovec *iov;         /* the data part of chain.iov */
	struct virtq_chain chain;
};

struct blk_hdr {
	uint32_t type, reserved;
	uint64_t sector;
};

struct blk_seg {
	uint64_t sector;
	uint32_t num_sectors, flags;
};

#define WZ_FLAG_UNMAP 1

static void req_submit(struct blk_req *r);

static void log_io_error(struct blk_req *r, int err)
{
	struct blk_queue *q = r->q;
	q->stats.errors++;
	if (log_should_report(q->stats.errors))
		log_warn("%s: queue %u: request type %u at byte %llu (+%llu) failed: %s (%llu errors so far)",
			 q->blk->id, q->index, r->type, (unsigned long long)r->offset, (unsigned long long)r->len,
			 strerror(err), (unsigned long long)q->stats.errors);
}

static void req_free(struct blk_req *r)
{
	struct blk_queue *q = r->q;
	q->free[q->n_free++] = r;
}

static void queue_work(struct virtio_dev *d, unsigned qi);

static void req_finish(struct blk_req *r, uint8_t status)
{
	struct blk_queue *q = r->q;
	struct blk_dev *b = q->blk;

	if (r->in_kernel) {
		r->in_kernel = false;
		b->vdev.engine->io_pending--;
	}
	b->inflight--;
	if (b->vdev.resetting || !b->vdev.vqs[q->index].ready) {
		/* The driver reset the device meanwhile: nothing goes back to it. */
		req_free(r);
		if (!b->inflight)
			virtio_dev_reset_done(&b->vdev);
		return;
	}
	*r->status = status;
	virtq_push(&b->vdev.vqs[q->index], r->chain.head, r->used_len);
	virtio_queue_used(&b->vdev, q->index);
	req_free(r);
	if (q->starved) {
		q->starved = false;
		queue_work(&b->vdev, q->index);
	}
}

/* A merged SQE completed: give each request its share; resubmit alone what is left. */
static void group_done(struct blk_req *head, int res)
{
	uint64_t done = res > 0 ? (uint64_t)res : 0;
	for (struct blk_req *m = head, *next; m; m = next) {
		next = m->merge_next;
		m->merge_next = NULL;
		if (res > 0 && done >= m->len) {
			done -= m->len;
			req_finish(m, VIRTIO_BLK_S_OK);
			continue;
		}
		/* An error or a short transfer: this request (and the rest) on their own, so an
		 * error reaches only the requests it belongs to. */
		if (done) {
			m->offset += done;
			m->len -= done;
			iov_advance(&m->iov, &m->niov, done);
			done = 0;
		}
		req_submit(m);
	}
}

static void req_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct blk_req *r = op->ctx;
	(void)e, (void)flags;

	if (r->merge_next) {
		group_done(r, res);
		return;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (res < 0) {
			log_io_error(r, -res);
			req_finish(r, VIRTIO_BLK_S_IOERR);
			return;
		}
		if (res == 0 && r->len) {
			log_io_error(r, EIO); /* end of file inside the disk: the file shrank */
			req_finish(r, VIRTIO_BLK_S_IOERR);
			return;
		}
		if ((uint64_t)res < r->len) {
			r->offset += (uint64_t)res;
			r->len -= (uint64_t)res;
			iov_advance(&r->iov, &r->niov, (uint64_t)res);
			req_submit(r);
			return;
		}
		req_finish(r, VIRTIO_BLK_S_OK);
		return;
	case VIRTIO_BLK_T_WRITE_ZEROES:
		if (res == -EOPNOTSUPP && r->state == REQ_WZ_ZERO) {
			/* No ZERO_RANGE here (tmpfs): punch the range, then allocate it again. */
			r->state = REQ_WZ_PUNCH_THEN_ALLOC;
			req_submit(r);
			return;
		}
		if (res >= 0 && r->state == REQ_WZ_PUNCH_THEN_ALLOC) {
			r->state = REQ_WZ_ALLOC;
			req_submit(r);
			return;
		}
		break;
	default:
		break;
	}
	if (res < 0) {
		log_io_error(r, -res);
		req_finish(r, VIRTIO_BLK_S_IOERR);
	} else {
		req_finish(r, VIRTIO_BLK_S_OK);
	}
}

static void req_submit(struct blk_req *r)
{
	struct blk_dev *b = r->q->blk;
	struct engine *e = b->vdev.engine;
	struct io_uring_sqe *sqe = engine_sqe(e, &r->op);
	int fd = b->fixed >= 0 ? b->fixed : b->fd;
	int buf;

	if (!r->in_kernel && b->worker_io) {
		r->in_kernel = true;
		e->io_pending++;
	}
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (r->merge_next) {
			if (r->type == VIRTIO_BLK_T_IN)
				io_uring_prep_readv(sqe, fd, r->miov, r->mniov, r->offset);
			else
				io_uring_prep_writev(sqe, fd, r->miov, r->mniov, r->offset);
			break;
		}
		/* One buffer inside registered guest RAM: the pinned, zero-copy path. */
		if (r->niov == 1 && (buf = engine_fixed_buffer(e, r->iov[0].iov_base, r->iov[0].iov_len)) >= 0) {
			if (r->type == VIRTIO_BLK_T_IN)
				io_uring_prep_read_fixed(sqe, fd, r->iov[0].iov_base, (unsigned)r->iov[0].iov_len, r->offset, buf);
			else
				io_uring_prep_write_fixed(sqe, fd, r->iov[0].iov_base, (unsigned)r->iov[0].iov_len, r->offset, buf);
		} else if (r->type == VIRTIO_BLK_T_IN) {
			io_uring_prep_readv(sqe, fd, r->iov, r->niov, r->offset);
		} else {
			io_uring_prep_writev(sqe, fd, r->iov, r->niov, r->offset);
		}
		break;
	case VIRTIO_BLK_T_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case VIRTIO_BLK_T_DISCARD:
		io_uring_prep_fallocate(sqe, fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, r->offset, r->len);
		break;
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		int mode = r->state == REQ_WZ_ZERO ? FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE
			 : r->state == REQ_WZ_ALLOC ? FALLOC_FL_KEEP_SIZE
						    : FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
		io_uring_prep_fallocate(sqe, fd, mode, r->offset, r->len);
		break;
	}
	}
	if (b->fixed >= 0)
		sqe->flags |= IOSQE_FIXED_FILE;
}

/* Check a [sector, bytes) range against the disk; false if it runs past the end. */
static bool in_disk(const struct blk_dev *b, uint64_t sector, uint64_t bytes, uint64_t *offset)
{
	if (sector > b->capacity / 512)
		return false;
	*offset = sector * 512;
	return bytes <= b->capacity - *offset;
}

/* Parse a chain into r. Returns a status to complete with at once (>= 0), -1 to submit
 * an SQE, or -2 for a malformed chain (the device then needs a reset). */
static int req_parse(struct blk_dev *b, struct blk_req *r, const char **why)
{
	struct virtq_chain *c = &r->chain;
	struct blk_hdr h;

	if (c->out_len < sizeof(h)) {
		*why = "request header shorter than 16 bytes";
		return -2;
	}
	if (!c->in_len) {
		*why = "request has no device-writable status byte";
		return -2;
	}
	iov_copy_from(c->iov, c->n_out, 0, &h, sizeof(h));
	r->type = h.type;
	r->state = REQ_IO;
	/* The status is the last byte of the writable part. */
	struct iovec *last = &c->iov[c->n_out + c->n_in - 1];
	r->status = (uint8_t *)last->iov_base + last->iov_len - 1;
	r->used_len = 1;
	r->len = 0;

	switch (h.type) {
	case VIRTIO_BLK_T_IN: {
		if (c->out_len != sizeof(h)) {
			*why = "read request with device-readable data after the header";
			return -2;
		}
		/* data: the writable iovecs minus the status byte */
		r->iov = &c->iov[c->n_out];
		r->niov = c->n_in;
		r->len = c->in_len - 1;
		if (--last->iov_len == 0)
			r->niov--;
		if ((r->len & 511) || r->len > BLK_MAX_REQUEST || !in_disk(b, h.sector, r->len, &r->offset))
			return VIRTIO_BLK_S_IOERR;
		r->used_len = (uint32_t)(r->len + 1);
		r->q->stats.reads++;
		r->q->stats.read_bytes += r->len;
		return r->len ? -1 : VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_OUT: {
		if (c->in_len != 1) {
			*why = "write request with device-writable data besides the status byte";
			return -2;
		}
		/* data: the readable iovecs after the 16-byte header */
		r->iov = c->iov;
		r->niov = c->n_out;
		r->len = c->out_len - sizeof(h);
		iov_advance(&r->iov, &r->niov, sizeof(h));
		if (b->opt.readonly)
			return VIRTIO_BLK_S_IOERR;
		if ((r->len & 511) || r->len > BLK_MAX_REQUEST || !in_disk(b, h.sector, r->len, &r->offset))
			return VIRTIO_BLK_S_IOERR;
		r->q->stats.writes++;
		r->q->stats.write_bytes += r->len;
		return r->len ? -1 : VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_FLUSH:
		r->q->stats.flushes++;
		return -1;
	case VIRTIO_BLK_T_GET_ID: {
		char id[BLK_ID_BYTES] = { 0 };
		memcpy(id, b->serial, strnlen(b->serial, BLK_ID_BYTES));
		uint64_t room = c->in_len - 1;
		size_t n = iov_copy_to(&c->iov[c->n_out], c->n_in, 0, id, room < BLK_ID_BYTES ? room : BLK_ID_BYTES);
		r->used_len = (uint32_t)n + 1;
		r->q->stats.get_ids++;
		return VIRTIO_BLK_S_OK;
	}
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		struct blk_seg s;
		if (c->out_len != sizeof(h) + sizeof(s)) /* we offer one segment per request */
			return VIRTIO_BLK_S_UNSUPP;
		iov_copy_from(c->iov, c->n_out, sizeof(h), &s, sizeof(s));
		if (b->opt.readonly || (s.flags & ~(uint32_t)WZ_FLAG_UNMAP) ||
		    (h.type == VIRTIO_BLK_T_DISCARD && s.flags))
			return b->opt.readonly ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP;
		r->len = (uint64_t)s.num_sectors * 512;
		if (!in_disk(b, s.sector, r->len, &r->offset))
			return VIRTIO_BLK_S_IOERR;
		if (h.type == VIRTIO_BLK_T_DISCARD)
			r->q->stats.discards++;
		else {
			r->q->stats.write_zeroes++;
			r->state = REQ_WZ_ZERO;
			if (s.flags & WZ_FLAG_UNMAP)
				r->state = REQ_WZ_PUNCH; /* zeros by deallocating: the driver allowed it */
		}
		return r->len ? -1 : VIRTIO_BLK_S_OK;
	}
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

#define MERGE_MAX_IOV 64
#define MERGE_MAX_BYTES (1u << 20)

static void group_flush(struct blk_queue *q)
{
	struct blk_req *head = q->group_head;
	if (!head)
		return;
	q->group_head = q->group_tail = NULL;
	if (!head->merge_next) {
		req_submit(head);
		return;
	}
	head->mniov = 0;
	head->mlen = 0;
	for (struct blk_req *m = head; m; m = m->merge_next) {
		memcpy(head->miov + head->mniov, m->iov, m->niov * sizeof(struct iovec));
		head->mniov += m->niov;
		head->mlen += m->len;
		if (m != head)
			q->merged++;
	}
	req_submit(head);
}

/* Queue r for submission, merged with the previous request when it continues it. */
static void group_add(struct blk_queue *q, struct blk_req *r)
{
	struct blk_req *t = q->group_tail;
	bool io = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT;

	r->merge_next = NULL;
	if (t && io && r->miov && t->type == r->type && t->offset + t->len == r->offset &&
	    q->group_niov + r->niov <= MERGE_MAX_IOV && q->group_len + r->len <= MERGE_MAX_BYTES) {
		t->merge_next = r;
		q->group_tail = r;
		q->group_niov += r->niov;
		q->group_len += r->len;
		return;
	}
	group_flush(q);
	if (!io || !r->miov) {
		req_submit(r);
		return;
	}
	q->group_head = q->group_tail = r;
	q->group_niov = r->niov;
	q->group_len = r->len;
}

static void pop_requests(struct virtio_dev *d, unsigned qi);

static void queue_work(struct virtio_dev *d, unsigned qi)
{
	struct blk_dev *b = d->priv;
	pop_requests(d, qi);
	group_flush(&b->queues[qi]);
}

static void pop_requests(struct virtio_dev *d, unsigned qi)
{
	struct blk_dev *b = d->priv;
	struct blk_queue *q = &b->queues[qi];
	struct virtq *vq = &d->vqs[qi];

	while (virtio_dev_live(d)) {
		if (!q->n_free) {
			q->starved = true; /* resumes when a request completes */
			return;
		}
		struct blk_req *r = q->free[--q->n_free];
		int got = virtq_pop(vq, &r->chain);
		if (got <= 0) {
			q->free[q->n_free++] = r;
			if (got < 0)
				virtio_dev_fail(d, (int)qi, vq->error);
			return;
		}
		const char *why = NULL;
		b->inflight++;
		int st = req_parse(b, r, &why);
		if (st == -2) {
			b->inflight--;
			req_free(r);
			virtio_dev_fail(d, (int)qi, why);
			return;
		}
		if (st >= 0) {
			if (st == VIRTIO_BLK_S_IOERR)
				q->stats.errors++;
			req_finish(r, (uint8_t)st);
		} else {
			group_add(q, r);
		}
	}
}

static void blk_start(struct virtio_dev *d)
{
	struct blk_dev *b = d->priv;
	for (unsigned i = 0; i < d->num_queues; i++)
		if (d->vqs[i].ready)
			queue_work(d, i);
	(void)b;
}

static unsigned blk_reset(struct virtio_dev *d)
{
	struct blk_dev *b = d->priv;
	for (unsigned i = 0; i < d->num_queues; i++)
		b->queues[i].starved = false;
	return b->inflight;
}

/* virtio-blk configuration space, as the spec lays it out. */
static uint64_t blk_config_read(struct virtio_dev *d, unsigned off, unsigned size)
{
	struct blk_dev *b = d->priv;
	uint8_t cfg[60] = { 0 };
	uint64_t sectors = b->capacity / 512, v = 0;
	uint32_t u32;
	uint16_t u16;

	memcpy(cfg + 0, &sectors, 8);
	u32 = 1u << 20; memcpy(cfg + 8, &u32, 4);      /* size_max: 1 MiB per segment */
	u32 = BLK_SEG_MAX; memcpy(cfg + 12, &u32, 4);  /* seg_max */
	u32 = 512; memcpy(cfg + 20, &u32, 4);          /* blk_size */
	u16 = (uint16_t)d->num_queues; memcpy(cfg + 34, &u16, 2);
	u32 = 0xffffffffu >> 9; memcpy(cfg + 36, &u32, 4); /* max_discard_sectors */
	u32 = 1; memcpy(cfg + 40, &u32, 4);            /* max_discard_seg */
	u32 = 8; memcpy(cfg + 44, &u32, 4);            /* discard_sector_alignment (4 KiB) */
	u32 = 0xffffffffu >> 9; memcpy(cfg + 48, &u32, 4); /* max_write_zeroes_sectors */
	u32 = 1; memcpy(cfg + 52, &u32, 4);            /* max_write_zeroes_seg */
	cfg[56] = 1;                                   /* write_zeroes_may_unmap */
	if (off + size <= sizeof(cfg) && size <= 8)
		memcpy(&v, cfg + off, size);
	return v;
}

static const struct virtio_dev_ops blk_ops = {
	.start = blk_start,
	.queue_work = queue_work,
	.reset = blk_reset,
	.config_read = blk_config_read,
};

static int open_backing(struct blk_dev *b)
{
	int flags = (b->opt.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (b->opt.direct ? O_DIRECT : 0);
	struct stat st;

	b->fd = open(b->opt.path, flags);
	if (b->fd < 0 && errno == EINVAL && b->opt.direct) {
		log_error("--disk %s: this file system does not support O_DIRECT; use direct=off", b->opt.path);
		return -EINVAL;
	}
	if (b->fd < 0) {
		int err = errno;
		log_error("--disk %s: cannot open%s: %s", b->opt.path, b->opt.readonly ? " read-only" : "", strerror(err));
		return -err;
	}
	if (fstat(b->fd, &st) < 0)
		return -errno;
	/* tmpfs cannot read or write without blocking, so io_uring hands every request to
	 * an io-wq worker: the engine should leave it the CPU rather than spin (engine.h). */
	struct statfs sfs;
	b->worker_io = fstatfs(b->fd, &sfs) == 0 && (sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC);
	if (S_ISBLK(st.st_mode)) {
		uint64_t bytes;
		if (ioctl(b->fd, BLKGETSIZE64, &bytes) < 0)
			return -errno;
		b->capacity = bytes & ~511ull;
	} else if (S_ISREG(st.st_mode)) {
		b->capacity = (uint64_t)st.st_size & ~511ull;
		if ((uint64_t)st.st_size & 511)
			log_warn("--disk %s: size %llu is not a multiple of 512; the last %llu bytes are not used",
				 b->opt.path, (unsigned long long)st.st_size, (unsigned long long)(st.st_size & 511));
	} else {
		log_error("--disk %s: not a regular file or block device", b->opt.path);
		return -EINVAL;
	}
	if (!b->capacity) {
		log_error("--disk %s: empty (size 0)", b->opt.path);
		return -EINVAL;
	}
	return 0;
}

int blk_create(struct blk_dev *b, const struct blk_options *o, struct engine *e, const struct guest_mem *mem)
{
	uint64_t features = VIRTIO_F_RING_EVENT_IDX | VIRTIO_F_RING_INDIRECT_DESC | VIRTIO_BLK_F_SIZE_MAX |
			    VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_MQ |
			    VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES;
	int ret;

	memset(b, 0, sizeof(*b));
	b->fd = -1;
	b->fixed = -1;
	b->opt = *o;
	snprintf(b->id, sizeof(b->id), "%s", o->id);
	snprintf(b->serial, sizeof(b->serial), "%s", o->serial ? o->serial : o->id);
	if (o->num_queues < 1 || o->num_queues > VIRTIO_MAX_QUEUES) {
		log_error("--disk %s: num_queues=%u must be 1..%d", o->path, o->num_queues, VIRTIO_MAX_QUEUES);
		return -EINVAL;
	}
	if (o->queue_size < 2 || o->queue_size > VIRTQ_MAX_SIZE || (o->queue_size & (o->queue_size - 1))) {
		log_error("--disk %s: queue_size=%u must be a power of two from 2 to %d", o->path, o->queue_size,
			  VIRTQ_MAX_SIZE);
		return -EINVAL;
	}
	if ((ret = open_backing(b)) < 0)
		return ret;
	b->fixed = engine_register_file(e, b->fd);
	if (o->readonly)
		features |= VIRTIO_BLK_F_RO;
	virtio_dev_init(&b->vdev, b->id, VIRTIO_ID_BLOCK, features, o->num_queues, (uint16_t)o->queue_size, &blk_ops,
			e, mem, b);
	b->vdev.polled_queues = (o->num_queues >= 64) ? ~0ull : (1ull << o->num_queues) - 1;
	for (unsigned i = 0; i < o->num_queues; i++) {
		struct blk_queue *q = &b->queues[i];
		q->blk = b;
		q->index = i;
		q->reqs = calloc(o->queue_size, sizeof(*q->reqs));
		q->free = calloc(o->queue_size, sizeof(*q->free));
		if (!q->reqs || !q->free)
			return -ENOMEM;
		for (unsigned k = 0; k < o->queue_size; k++) {
			q->reqs[k].q = q;
			q->reqs[k].op.handler = req_done;
			q->reqs[k].op.ctx = &q->reqs[k];
			q->reqs[k].miov = calloc(MERGE_MAX_IOV, sizeof(struct iovec)); /* NULL: never merges */
			q->free[q->n_free++] = &q->reqs[k];
		}
	}
	return 0;
}

void blk_destroy(struct blk_dev *b)
{
	for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		for (unsigned k = 0; b->queues[i].reqs && k < b->opt.queue_size; k++)
			free(b->queues[i].reqs[k].miov);
		free(b->queues[i].reqs);
		free(b->queues[i].free);
	}
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

void blk_stats_total(const struct blk_dev *b, struct blk_queue_stats *t)
{
	*t = (struct blk_queue_stats){ 0 };
	for (unsigned q = 0; q < b->vdev.num_queues; q++) {
		const struct blk_queue_stats *x = &b->queues[q].stats;
		t->reads += x->reads, t->writes += x->writes, t->flushes += x->flushes, t->discards += x->discards;
		t->write_zeroes += x->write_zeroes, t->get_ids += x->get_ids, t->errors += x->errors;
		t->read_bytes += x->read_bytes, t->write_bytes += x->write_bytes;
	}
}
