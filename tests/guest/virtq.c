/* virtq.c — split virtqueues, driver side, polled.
 *
 * Descriptors come from a private free list (free_next), not from the
 * descriptor table's `next` fields: the table is shared with the device and
 * the hostile job scribbles on it. Adding a chain only fills descriptors and
 * an avail slot; vq_kick() publishes avail->idx for the whole batch and then
 * decides whether the device needs a notification (EVENT_IDX: the device's
 * avail_event; otherwise used->flags NO_NOTIFY), which is how a busy device
 * suppresses kicks. Ordering on x86 (TSO): stores are not reordered with
 * stores and loads not with loads, so a compiler barrier orders descriptor
 * writes before the idx store, and used->idx reads before used-ring reads;
 * the idx store -> avail_event load needs a real mfence. */
#include "virtio.h"

#define USED_EVENT(q) ((q)->avail->ring[(q)->size])
#define AVAIL_EVENT(q) (*(volatile u16 *)((volatile u8 *)(q)->used + 4 + 8u * (q)->size))

void vq_init(struct virtq *q, u16 size, int event_idx)
{
    q->size = size;
    memset((void *)q->desc, 0, 16ul * size);
    memset((void *)q->avail, 0, 6ul + 2ul * size);
    memset((void *)q->used, 0, 6ul + 8ul * size);
    for (u16 i = 0; i < size; i++) {
        q->free_next[i] = (u16)(i + 1);
        q->cookie[i] = NULL;
    }
    q->free_head = 0;
    q->num_free = size;
    q->avail_idx = q->kicked = q->last_used = 0;
    q->event_idx = event_idx;
    q->notifies = q->kicks = 0;
    /* We poll: ask for no used-buffer notifications. With EVENT_IDX the
     * flag is ignored and used_event (kept behind us in vq_poll) does it. */
    q->avail->flags = VQ_AVAIL_F_NO_INTERRUPT;
    USED_EVENT(q) = 0xffff;
}

/* Queues one chain (n buffers, device-readable ones first) and returns its
 * head, or -1 if there is no room. With `indirect` the chain goes into this
 * head's indirect table and takes a single ring descriptor. */
int vq_add(struct virtq *q, const struct vq_buf *b, int n, int indirect, void *cookie)
{
    int need = indirect ? 1 : n;
    if (n < 1 || q->num_free < need || (indirect && n > VQ_INDIRECT_MAX))
        return -1;
    u16 head = q->free_head, d = head;
    if (indirect) {
        struct vq_desc *t = &q->indirect[(u32)head * VQ_INDIRECT_MAX];
        for (int i = 0; i < n; i++) {
            t[i].addr = b[i].addr;
            t[i].len = b[i].len;
            t[i].flags = (u16)((b[i].write ? VQ_DESC_F_WRITE : 0) | (i + 1 < n ? VQ_DESC_F_NEXT : 0));
            t[i].next = (u16)(i + 1);
        }
        q->desc[d].addr = (u64)t;
        q->desc[d].len = (u32)(16 * n);
        q->desc[d].flags = VQ_DESC_F_INDIRECT;
        q->desc[d].next = 0;
        q->free_head = q->free_next[d];
    } else {
        for (int i = 0; i < n; i++) {
            q->desc[d].addr = b[i].addr;
            q->desc[d].len = b[i].len;
            q->desc[d].flags = (u16)((b[i].write ? VQ_DESC_F_WRITE : 0) | (i + 1 < n ? VQ_DESC_F_NEXT : 0));
            q->desc[d].next = q->free_next[d];
            if (i + 1 < n)
                d = q->free_next[d];
        }
        q->free_head = q->free_next[d];
    }
    q->num_free = (u16)(q->num_free - need);
    q->chain_len[head] = (u16)need;
    q->cookie[head] = cookie;
    q->avail->ring[q->avail_idx & (q->size - 1)] = head;
    q->avail_idx++;
    return head;
}

void vq_notify(struct virtq *q)
{
    if (q->notify32)
        *q->notify32 = q->index; /* virtio-mmio: 32-bit registers only */
    else
        *q->notify = q->index; /* no NOTIFICATION_DATA: the queue index is all */
    q->notifies++;
}

void vq_kick(struct virtq *q)
{
    if (q->avail_idx == q->kicked)
        return;
    barrier(); /* descriptors and ring slots before the idx (TSO) */
    q->avail->idx = q->avail_idx;
    mfence(); /* the idx store must be visible before we read avail_event/flags */
    u16 old = q->kicked, now = q->avail_idx;
    q->kicked = now;
    q->kicks++;
    int need = q->event_idx ? vring_need_event(AVAIL_EVENT(q), now, old) : !(q->used->flags & VQ_USED_F_NO_NOTIFY);
    if (need)
        vq_notify(q);
}

/* One completed chain's cookie (and the used length), or NULL. A used
 * element naming a head we did not hand out is ignored rather than trusted. */
void *vq_poll(struct virtq *q, u32 *len)
{
    for (;;) {
        if (q->last_used == q->used->idx)
            return NULL;
        barrier(); /* idx before the element (loads are ordered on x86) */
        volatile struct vq_used_elem *e = &q->used->ring[q->last_used & (q->size - 1)];
        u32 id = e->id;
        u32 l = e->len;
        q->last_used++;
        if (q->event_idx)
            USED_EVENT(q) = (u16)(q->last_used - 1); /* always behind: no interrupts */
        if (id >= q->size || !q->cookie[id])
            continue;
        void *c = q->cookie[id];
        q->cookie[id] = NULL;
        u16 d = (u16)id;
        for (u16 i = 1; i < q->chain_len[id]; i++)
            d = q->free_next[d];
        q->free_next[d] = q->free_head;
        q->free_head = (u16)id;
        q->num_free = (u16)(q->num_free + q->chain_len[id]);
        if (len)
            *len = l;
        return c;
    }
}

/* Sizes queue `index` (the smaller of the device's and our maximum, rounded down to a
 * power of two, as split rings want), allocates its rings on first use (reused across
 * resets) and initialises them. Returns the size. */
u16 vq_setup(struct virtq *q, u16 index, u16 dev_max, u16 max_size, int event_idx)
{
    u16 size = dev_max < max_size ? dev_max : max_size;
    while (size & (size - 1))
        size &= (u16)(size - 1);
    if (!q->desc || q->cap < size) {
        q->cap = size;
        q->desc = alloc_dma(16ul * size);
        q->avail = alloc_dma(6ul + 2ul * size);
        q->used = alloc_dma(6ul + 8ul * size);
        q->indirect = alloc_dma(16ul * size * VQ_INDIRECT_MAX);
        q->cookie = alloc_dma(sizeof(void *) * size);
        q->free_next = alloc_dma(2ul * size);
        q->chain_len = alloc_dma(2ul * size);
    }
    q->index = index;
    vq_init(q, size, event_idx);
    return size;
}
