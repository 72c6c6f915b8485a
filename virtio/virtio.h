/* virtio: a transport-independent virtio 1.x device. The device model (blk, net, ...)
 * fills struct virtio_dev and its ops; a transport (PCI or MMIO) exposes it to
 * the guest, moves the driver's register writes into it and delivers its interrupts.
 * Everything here runs on the engine that owns the device. */
#ifndef RV_VIRTIO_H
#define RV_VIRTIO_H

#include "virtq.h"

#include "engine/engine.h"
#include "engine/stream.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_F_RING_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_RING_EVENT_IDX (1ull << 29)
#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTIO_STATUS_ACKNOWLEDGE 0x01
#define VIRTIO_STATUS_DRIVER 0x02
#define VIRTIO_STATUS_DRIVER_OK 0x04
#define VIRTIO_STATUS_FEATURES_OK 0x08
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED 0x80

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

#define VIRTIO_MAX_QUEUES 64

struct virtio_dev;

struct virtio_dev_ops {
	/* The driver set DRIVER_OK: queues that are enabled may carry requests. */
	void (*start)(struct virtio_dev *d);
	/* Work may be waiting on queue q (a notification, or the engine's poll found some). */
	void (*queue_work)(struct virtio_dev *d, unsigned q);
	/* The driver wrote 0 to status: stop taking requests. Return how many requests are
	 * still in the kernel; the device reads as reset only when that reaches 0. */
	unsigned (*reset)(struct virtio_dev *d);
	/* Device-specific configuration space. */
	uint64_t (*config_read)(struct virtio_dev *d, unsigned offset, unsigned size);
	void (*config_write)(struct virtio_dev *d, unsigned offset, uint64_t value, unsigned size);
};

struct virtio_transport_ops {
	void (*interrupt)(struct virtio_dev *d, unsigned q); /* a queue's used ring moved */
	void (*config_changed)(struct virtio_dev *d);
	/* The device reset has completed (after its in-flight requests): the transport clears
	 * its own registers (interrupt status, selectors, vectors). */
	void (*reset)(struct virtio_dev *d);
};

struct virtio_dev {
	char name[32];                /* "blk0": every log line about the device names it */
	uint16_t device_id;
	uint64_t host_features, guest_features;
	uint8_t status;
	uint8_t config_generation;
	unsigned num_queues;
	uint16_t max_queue_size;
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	const struct virtio_dev_ops *ops;
	const struct virtio_transport_ops *transport;
	void *transport_ctx;
	struct engine *engine;
	const struct guest_mem *mem;
	bool resetting;               /* status 0 written, requests still in flight */
	void *priv;
	/* Queues the engine polls while it spins (notifications off meanwhile). */
	uint64_t polled_queues;
	struct engine_poller poller;
	/* Used rings to publish (and maybe interrupt for) at the end of this batch. */
	uint64_t dirty_queues;
	struct engine_deferred publish;
	uint64_t interrupts, kicks;
};

/* The device pushed used elements on queue q: publish them (and interrupt if the guest
 * wants it) once, at the end of the current batch of completions. */
void virtio_queue_used(struct virtio_dev *d, unsigned q);
/* A notification for queue q arrived (ioeventfd or a trapped write). */
void virtio_queue_kick(struct virtio_dev *d, unsigned q);

void virtio_dev_init(struct virtio_dev *d, const char *name, uint16_t device_id, uint64_t features,
		     unsigned num_queues, uint16_t max_queue_size, const struct virtio_dev_ops *ops,
		     struct engine *e, const struct guest_mem *mem, void *priv);
/* A driver write to device_status. */
void virtio_dev_set_status(struct virtio_dev *d, uint8_t status);
/* What device_status reads as (0 only once a reset has finished). */
uint8_t virtio_dev_get_status(struct virtio_dev *d);
/* The device model: a reset it was told about has no requests left in flight. */
void virtio_dev_reset_done(struct virtio_dev *d);
/* The guest broke the protocol: log one line naming device and queue, set NEEDS_RESET,
 * tell the driver, stop using the device until it is reset. */
void virtio_dev_fail(struct virtio_dev *d, int queue, const char *why);
static inline bool virtio_dev_live(const struct virtio_dev *d)
{
	return (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET) && !d->resetting;
}
/* ---- register semantics both transports share ---- */
/* 32 bits of the device's features (sel 0 or 1; others read 0). */
uint32_t virtio_dev_features_word(const struct virtio_dev *d, uint32_t sel);
/* 32 bits of the features the driver has written so far (sel 0 or 1; others read 0). */
uint32_t virtio_dev_guest_features_word(const struct virtio_dev *d, uint32_t sel);
/* The driver's features, 32 bits at a time, ignored once FEATURES_OK is set. */
void virtio_dev_set_features_word(struct virtio_dev *d, uint32_t sel, uint32_t value);
/* Queue sel while it may still be configured (before DRIVER_OK, not resetting), or NULL. */
struct virtq *virtio_dev_config_queue(struct virtio_dev *d, unsigned sel);
/* The driver's queue size for queue sel: 1..max_queue_size, else refused (logged). */
void virtio_dev_set_queue_size(struct virtio_dev *d, unsigned sel, uint64_t value);
/* Write a 64-bit address register whole (size 8) or one half (high: the upper half). */
void virtio_set_addr(uint64_t *field, bool high, uint64_t value, unsigned size);

/* ---- queue notifications ---- */
/* One queue's notify register as an ioeventfd the device's engine reads, so a kick
 * never exits to userspace. PCI gives each queue its own address; MMIO shares one
 * register and tells queues apart by the value written (datamatch). */
struct virtio_kick {
	struct virtio_dev *dev;   /* NULL until started */
	unsigned queue;
	int vm_fd, fd;
	uint64_t addr;
	unsigned len;
	bool datamatch;
	uint64_t value;
	struct engine_reader reader;
};

/* Register the ioeventfd for queue q of d (a write of len bytes at addr, matching value
 * if datamatch) and start reading it. 0, or -errno with k untouched. */
int virtio_kick_start(struct virtio_kick *k, struct virtio_dev *d, unsigned q, int vm_fd, uint64_t addr,
		      unsigned len, bool datamatch, uint64_t value);
/* Deregister and close the ioeventfd; nothing if k was never started. */
void virtio_kick_stop(struct virtio_kick *k);

static inline bool virtio_has(const struct virtio_dev *d, uint64_t f) { return d->guest_features & f; }

#endif
