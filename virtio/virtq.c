/* virtq: split virtqueue, device side. See virtq.h. */
#include "virtq.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

static inline uint16_t load16(const uint16_t *p)
{
	return atomic_load_explicit((const _Atomic uint16_t *)p, memory_order_acquire);
}

static inline void store16(uint16_t *p, uint16_t v)
{
	atomic_store_explicit((_Atomic uint16_t *)p, v, memory_order_release);
}

static uint16_t *used_event(const struct virtq *q) { return &q->avail->ring[q->size]; }
static uint16_t *avail_event(const struct virtq *q) { return (uint16_t *)&q->used->ring[q->size]; }

int virtq_start(struct virtq *q, const struct guest_mem *m, bool event_idx, bool indirect)
{
	uint64_t n = q->size;

	q->ready = false;
	q->error = NULL;
	if (!n || n > VIRTQ_MAX_SIZE)
		q->error = "queue size is 0 or too large";
	else if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3))
		q->error = "ring addresses are misaligned";
	else if (!(q->desc = guest_mem_ptr(m, q->desc_gpa, 16 * n)) ||
		 !(q->avail = guest_mem_ptr(m, q->avail_gpa, 6 + 2 * n)) ||
		 !(q->used = guest_mem_ptr(m, q->used_gpa, 6 + 8 * n)))
		q->error = "a ring lies outside guest RAM";
	if (q->error)
		return -EINVAL;
	q->mem = m;
	q->event_idx = event_idx;
	q->indirect = indirect;
	q->last_avail = 0; /* a freshly enabled queue starts at 0 on both rings (the driver zeroed them) */
	q->used_idx = 0;
	q->signalled_valid = false;
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	memset(q, 0, sizeof(*q));
}

bool virtq_pending(const struct virtq *q)
{
	return q->ready && load16(&q->avail->idx) != q->last_avail;
}

/* Append the buffers of one descriptor table walk to c. table/n: the table and its size
 * (the ring's, or an indirect table's); start: first index. */
static int walk(struct virtq *q, const struct virtq_desc *table, unsigned n, unsigned start, bool in_indirect,
		struct virtq_chain *c)
{
	unsigned idx = start, steps = 0;

	for (;;) {
		if (idx >= n) {
			q->error = "descriptor index out of range";
			return -EINVAL;
		}
		if (++steps > n) {
			q->error = "descriptor chain loops or is longer than its table";
			return -EINVAL;
		}
		struct virtq_desc d;
		memcpy(&d, &table[idx], sizeof(d)); /* one read: the guest may change it under us */

		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			if (in_indirect) {
				q->error = "indirect descriptor inside an indirect table";
				return -EINVAL;
			}
			if (!q->indirect) {
				q->error = "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
				return -EINVAL;
			}
			if (d.flags & VIRTQ_DESC_F_NEXT) {
				q->error = "indirect descriptor also has NEXT";
				return -EINVAL;
			}
			if (!d.len || (d.len & 15) || d.len / 16 > VIRTQ_MAX_SIZE) {
				q->error = "indirect table length is not a multiple of 16 in 16..16384";
				return -EINVAL;
			}
			const struct virtq_desc *itab = guest_mem_ptr(q->mem, d.addr, d.len);
			if (!itab || ((uintptr_t)itab & 15)) {
				q->error = "indirect table lies outside guest RAM or is misaligned";
				return -EINVAL;
			}
			return walk(q, itab, d.len / 16, 0, true, c);
		}
		bool writable = d.flags & VIRTQ_DESC_F_WRITE;
		if (!writable && c->n_in) {
			q->error = "device-readable buffer after a device-writable one";
			return -EINVAL;
		}
		if (d.len) {
			void *p = guest_mem_ptr(q->mem, d.addr, d.len);
			if (!p) {
				q->error = "buffer lies outside guest RAM";
				return -EINVAL;
			}
			if (c->n_out + c->n_in >= VIRTQ_MAX_IOV) {
				q->error = "chain has more buffers than the device accepts";
				return -EINVAL;
			}
			c->iov[c->n_out + c->n_in] = (struct iovec){ p, d.len };
			if (writable) {
				c->n_in++;
				c->in_len += d.len;
			} else {
				c->n_out++;
				c->out_len += d.len;
			}
		}
		if (!(d.flags & VIRTQ_DESC_F_NEXT))
			return 0;
		idx = d.next;
	}
}

int virtq_pop(struct virtq *q, struct virtq_chain *c)
{
	if (!q->ready)
		return 0;
	uint16_t avail_idx = load16(&q->avail->idx);
	uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
	if (!pending)
		return 0;
	if (pending > q->size) {
		q->error = "avail index moved by more than the queue size";
		return -EINVAL;
	}
	uint16_t head = load16(&q->avail->ring[q->last_avail % q->size]);
	if (head >= q->size) {
		q->error = "avail ring names a descriptor past the queue size";
		return -EINVAL;
	}
	c->head = head;
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	int ret = walk(q, q->desc, q->size, head, false, c);
	if (ret < 0)
		return ret;
	q->last_avail++;
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	struct virtq_used_elem *e = &q->used->ring[q->used_idx % q->size];
	e->id = head;
	e->len = len;
	q->used_idx++;
}

static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

bool virtq_publish(struct virtq *q)
{
	if (!q->ready)
		return false;
	uint16_t old = load16(&q->used->idx);
	if (old == q->used_idx)
		return false;
	store16(&q->used->idx, q->used_idx);
	/* The guest's used_event/flags must be read after it can see the new index. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!q->event_idx)
		return !(load16(&q->avail->flags) & VIRTQ_AVAIL_F_NO_INTERRUPT);
	uint16_t since = q->signalled_used;
	bool valid = q->signalled_valid;
	q->signalled_used = q->used_idx;
	q->signalled_valid = true;
	return !valid || need_event(load16(used_event(q)), q->used_idx, since);
}

void virtq_notify_off(struct virtq *q)
{
	if (!q->ready)
		return;
	if (q->event_idx)
		store16(avail_event(q), (uint16_t)(q->last_avail - 1)); /* already passed: no kick */
	else
		store16(&q->used->flags, VIRTQ_USED_F_NO_NOTIFY);
}

bool virtq_notify_on(struct virtq *q)
{
	if (!q->ready)
		return false;
	if (q->event_idx)
		store16(avail_event(q), q->last_avail);
	else
		store16(&q->used->flags, 0);
	/* Re-check after re-enabling: a buffer added before the guest saw the change would
	 * otherwise wait for a kick that never comes. */
	atomic_thread_fence(memory_order_seq_cst);
	return virtq_pending(q);
}

/* Copy between a linear buffer and the bytes of iov from offset on; to_iov picks the way. */
static size_t iov_copy(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len, bool to_iov)
{
	size_t done = 0;
	for (unsigned i = 0; i < n && done < len; i++) {
		if (offset >= iov[i].iov_len) {
			offset -= iov[i].iov_len;
			continue;
		}
		size_t k = iov[i].iov_len - offset;
		if (k > len - done)
			k = len - done;
		char *p = (char *)iov[i].iov_base + offset, *b = (char *)buf + done;
		memcpy(to_iov ? p : b, to_iov ? b : p, k);
		done += k;
		offset = 0;
	}
	return done;
}

size_t iov_copy_from(const struct iovec *iov, unsigned n, size_t offset, void *dst, size_t len)
{
	return iov_copy(iov, n, offset, dst, len, false);
}

size_t iov_copy_to(const struct iovec *iov, unsigned n, size_t offset, const void *src, size_t len)
{
	return iov_copy(iov, n, offset, (void *)src, len, true);
}

void iov_advance(struct iovec **iov, unsigned *n, size_t bytes)
{
	while (bytes && *n) {
		struct iovec *v = *iov;
		if (bytes < v->iov_len) {
			v->iov_base = (char *)v->iov_base + bytes;
			v->iov_len -= bytes;
			return;
		}
		bytes -= v->iov_len;
		(*iov)++;
		(*n)--;
	}
}
