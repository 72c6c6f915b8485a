/* virtio.h — the kit's virtio 1.x driver interfaces: the modern virtio-pci
 * transport (virtio_pci.c), split virtqueues (virtq.c) and virtio-blk
 * (virtio_blk.c, blk_common.c). All of it runs at CPL3: configuration and
 * notifications are MMIO, completions are found by polling used rings.
 * Layouts follow the virtio 1.x spec (all fields little-endian). */
#ifndef VIRTIO_H
#define VIRTIO_H

#include "guest.h"

/* Device status bits. */
#define VIRTIO_ACKNOWLEDGE 0x01
#define VIRTIO_DRIVER 0x02
#define VIRTIO_DRIVER_OK 0x04
#define VIRTIO_FEATURES_OK 0x08
#define VIRTIO_NEEDS_RESET 0x40
#define VIRTIO_FAILED 0x80

/* Transport/ring feature bits. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32
#define BIT(n) (1ull << (n))

/* virtio_pci_common_cfg. 64-bit fields are split into halves: the spec
 * lets the driver write them as two 32-bit accesses, which every device
 * must accept, while a single 64-bit access need not be supported. */
struct virtio_pci_common_cfg {
    u32 device_feature_select, device_feature;
    u32 driver_feature_select, driver_feature;
    u16 config_msix_vector, num_queues;
    u8 device_status, config_generation;
    u16 queue_select, queue_size, queue_msix_vector, queue_enable, queue_notify_off;
    u32 queue_desc_lo, queue_desc_hi;
    u32 queue_driver_lo, queue_driver_hi;
    u32 queue_device_lo, queue_device_hi;
};

struct vpci {
    struct pci_dev *pci;        /* NULL for a virtio-mmio device */
    volatile u8 *mmio;          /* virtio-mmio registers (NULL for PCI) */
    u32 mmio_irq;
    volatile struct virtio_pci_common_cfg *common;
    volatile u8 *notify_base, *isr, *devcfg;
    u32 notify_mult, notify_len, devcfg_len;
    u64 offered, features; /* device features; negotiated features */
};

/* Split virtqueue. */
#define VQ_DESC_F_NEXT 1
#define VQ_DESC_F_WRITE 2
#define VQ_DESC_F_INDIRECT 4
#define VQ_AVAIL_F_NO_INTERRUPT 1
#define VQ_USED_F_NO_NOTIFY 1
#define VQ_INDIRECT_MAX 8 /* entries per indirect table (one table per head) */

struct vq_desc { u64 addr; u32 len; u16 flags, next; };
struct vq_avail { u16 flags, idx, ring[]; };       /* + u16 used_event after ring[size] */
struct vq_used_elem { u32 id, len; };
struct vq_used { u16 flags, idx; struct vq_used_elem ring[]; }; /* + u16 avail_event */

struct vq_buf { u64 addr; u32 len; int write; }; /* write: the device writes it */

struct virtq {
    u16 size, cap, index;       /* size in use, size allocated, queue index */
    volatile struct vq_desc *desc;
    volatile struct vq_avail *avail;
    volatile struct vq_used *used;
    volatile u16 *notify;
    volatile u32 *notify32;     /* virtio-mmio's QueueNotify: a 32-bit register */
    struct vq_desc *indirect;   /* cap * VQ_INDIRECT_MAX entries */
    void **cookie;              /* per head: the caller's request, NULL = free */
    u16 *free_next, *chain_len; /* private free list; descriptors per head */
    u16 free_head, num_free;
    u16 avail_idx;              /* next avail slot (published at kick) */
    u16 kicked;                 /* avail idx at the last notify decision */
    u16 last_used;              /* next used entry to consume */
    int event_idx;
    u64 notifies, kicks;
};

/* virtio_pci.c */
int vpci_probe(struct vpci *v, struct pci_dev *all, int n, int idx);
int vpci_reset(struct vpci *v); /* 0 ok, -1 status never read back 0 */
u8 vpci_status(struct vpci *v);
int vpci_negotiate(struct vpci *v, u64 wanted); /* reset..FEATURES_OK */
int vpci_queue_setup(struct vpci *v, struct virtq *q, u16 index, u16 max_size);
void vpci_driver_ok(struct vpci *v);
int vpci_msix_route(struct vpci *v, u16 queue, u16 entry, u32 apic_id, u8 vector);
u16 vpci_msix_size(struct vpci *v); /* MSI-X table entries; 0 without MSI-X */
volatile u32 *vpci_msix_entry(struct vpci *v, u16 entry); /* addr lo, addr hi, data, control */
volatile u32 *vpci_msix_pba(struct vpci *v); /* pending bits, entry k at bit k % 32 of dword k / 32 */
u8 vpci_cfg_gen(struct vpci *v);

/* virtio_mmio.c: the same driver steps over a virtio-mmio (version 2) device; the vpci_*
 * functions hand over to these when v->mmio is set. */
int vmmio_probe(struct vpci *v, u64 base, u32 irq, u32 *device_id); /* 0, or -1: no v2 device there */
int vmmio_reset(struct vpci *v);
u8 vmmio_status(struct vpci *v);
u8 vmmio_cfg_gen(struct vpci *v);
int vmmio_negotiate(struct vpci *v, u64 wanted);
int vmmio_queue_setup(struct vpci *v, struct virtq *q, u16 index, u16 max_size);
void vmmio_driver_ok(struct vpci *v);
void vmmio_irq_route(struct vpci *v, u32 apic_id, u8 vector); /* IOAPIC pin -> LAPIC vector */
u32 vmmio_irq_ack(struct vpci *v);                            /* InterruptStatus, acknowledged */
/* virtio_mmio.device=SIZE@ADDR:IRQ entries of the command line, in order; returns how many. */
int vmmio_cmdline_devices(u64 *base, u32 *irq, int max);

/* virtq.c */
void vq_init(struct virtq *q, u16 size, int event_idx); /* (re)builds free list and rings */
u16 vq_setup(struct virtq *q, u16 index, u16 dev_max, u16 max_size, int event_idx); /* alloc + init */
int vq_add(struct virtq *q, const struct vq_buf *b, int n, int indirect, void *cookie);
void vq_kick(struct virtq *q);
void vq_notify(struct virtq *q); /* unconditional */
void *vq_poll(struct virtq *q, u32 *len);
static inline int vring_need_event(u16 event, u16 new_idx, u16 old)
{
    return (u16)(new_idx - event - 1) < (u16)(new_idx - old);
}
static inline void mfence(void) { __asm__ volatile("mfence" ::: "memory"); }

/* virtio-blk */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_MQ 12
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define BLK_MAX_DEVS 8
#define BLK_MAX_QUEUES 16

/* One request: header and status live in DMA memory next to our own
 * bookkeeping (the device never looks past the 16-byte header and status). */
struct blk_req {
    u32 type, reserved;
    u64 sector;
    u8 status, pad[7];
    void *buf;
    u32 len;
    u16 q;
    u64 t0, lba;
};

struct blk_dev {
    struct vpci v;
    u16 device_id;
    u64 capacity;               /* 512-byte sectors */
    u32 blk_size, size_max, seg_max;
    u16 num_queues;             /* offered (1 without MQ) */
    u16 nq;                     /* in use */
    u32 max_discard_sectors, max_write_zeroes_sectors;
    int ro;
    int indirect;               /* asked for (indirect=1) and negotiated */
    struct virtq q[BLK_MAX_QUEUES];
};

struct blk_opts {
    int event_idx, indirect;
    u16 qsize;                  /* cap on queue size */
    u16 queues;                 /* cap on queues used */
};

/* virtio_blk.c */
int blk_init(struct blk_dev *b, const struct blk_opts *o);
int blk_submit(struct blk_dev *b, u16 q, struct blk_req *r, u32 type, u64 sector, void *buf, u32 len, int indirect);
struct blk_req *blk_poll(struct blk_dev *b, u16 q);
int blk_sync(struct blk_dev *b, u16 q, struct blk_req *r, u32 type, u64 sector, void *buf, u32 len);
int blk_get_serial(struct blk_dev *b, char out[21]);

/* blk_common.c: shared by the blk jobs */
extern struct blk_dev blk_devs[BLK_MAX_DEVS];
extern int blk_count;
void blk_discover(void);
u64 arg_u64(const char *key, u64 dflt);
void blk_opts_from_cmdline(struct blk_opts *o);
int blk_disk_arg(int dflt_all); /* -1 = all */
/* Discover, pick the disk named by disk= (default 0), initialise it; fail()s otherwise. */
struct blk_dev *blk_open_arg_disk(const struct blk_opts *o, int *disk_out);
void blk_stamp(void *buf, u32 len, u64 seed, u32 disk, u64 lba);
u64 blk_check(const void *buf, u32 len, u64 seed, u32 disk, u64 lba); /* mismatching bytes */
u64 ms_to_tsc(u64 ms);
int blk_quick_verify(int disk, u64 mib, u64 seed);
int blk_verify_range(struct blk_dev *b, u32 disk, u64 first_lba, u64 blocks, u32 bs, u64 seed, int do_write, int do_read,
                     u64 *mismatches, u64 *status_errors, u64 *ops_per_q, u16 qd);

#endif
