/* virtq: the split virtqueue, device side. Everything in it is written by the guest, so
 * every index, address, length and flag is checked before use: a chain that loops, runs
 * past the queue size, points outside guest RAM, nests indirect tables or puts readable
 * buffers after writable ones is refused, and the caller marks the device NEEDS_RESET.
 * Buffers are handed out as iovecs into guest RAM, ready for readv/writev SQEs. */
#ifndef RV_VIRTQ_H
#define RV_VIRTQ_H

#include "kvm/guest_mem.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTQ_MAX_SIZE 1024
#define VIRTQ_MAX_IOV 256 /* buffers in one chain, direct or indirect */

struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* then uint16_t used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* then uint16_t avail_event */
};

struct virtq_chain {
	uint16_t head;
	unsigned n_out, n_in;          /* device-readable iovecs first, then device-writable */
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_MAX_IOV];
};

struct virtq {
	/* set by the driver through the transport */
	uint16_t size;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool enabled;                  /* the driver wrote queue_enable = 1 */
	/* device state */
	bool ready;                    /* rings mapped and checked (from DRIVER_OK) */
	bool event_idx, indirect;      /* negotiated features */
	const struct guest_mem *mem;
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t last_avail;           /* next avail entry to take */
	uint16_t used_idx;             /* used entries written (published by virtq_publish) */
	uint16_t signalled_used;       /* used idx at the last interrupt */
	bool signalled_valid;
	const char *error;             /* why the last virtq_pop failed */
};

/* Map the rings the driver configured. 0, or -EINVAL with q->error set. */
int virtq_start(struct virtq *q, const struct guest_mem *m, bool event_idx, bool indirect);
void virtq_reset(struct virtq *q);

/* Next available chain: 1 and *c filled, 0 if none, -EINVAL if malformed (q->error). */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/* Is there an avail entry we have not taken? */
bool virtq_pending(const struct virtq *q);
/* Give a chain back with len bytes written into its device-writable buffers. */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Make pushed elements visible; true if the guest asked to be interrupted for them. */
bool virtq_publish(struct virtq *q);
/* Kick suppression while the device polls: off stops guest notifications; on re-enables
 * them and returns true if work arrived meanwhile (so the caller must not sleep). */
void virtq_notify_off(struct virtq *q);
bool virtq_notify_on(struct virtq *q);

/* Copy helpers over a chain's iovecs (the header and status live there). */
size_t iov_copy_from(const struct iovec *iov, unsigned n, size_t offset, void *dst, size_t len);
size_t iov_copy_to(const struct iovec *iov, unsigned n, size_t offset, const void *src, size_t len);
/* Drop bytes from the front of the list *iov of *n iovecs (a header already read, or what
 * a short transfer moved): whole iovecs are skipped, a partly consumed one is trimmed in
 * place. Stops early if the list runs out. */
void iov_advance(struct iovec **iov, unsigned *n, size_t bytes);

#endif
