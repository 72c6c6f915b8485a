/* blk: virtio-blk on a raw file or block device, every request an io_uring SQE:
 * IN/OUT as readv/writev straight between the file and guest buffers, FLUSH as
 * fdatasync, DISCARD and WRITE_ZEROES as fallocate. A kick's requests are queued
 * together and go to the kernel in the engine's one submit; completions publish used
 * elements and interrupt once per batch. */
#ifndef RV_BLK_H
#define RV_BLK_H

#include "virtio.h"

#include <stdbool.h>
#include <stdint.h>

#define VIRTIO_BLK_F_SIZE_MAX (1ull << 1)
#define VIRTIO_BLK_F_SEG_MAX (1ull << 2)
#define VIRTIO_BLK_F_RO (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1ull << 6)
#define VIRTIO_BLK_F_FLUSH (1ull << 9)
#define VIRTIO_BLK_F_MQ (1ull << 12)
#define VIRTIO_BLK_F_DISCARD (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define BLK_SEG_MAX 126
#define BLK_ID_BYTES 20
#define BLK_MAX_REQUEST ((uint64_t)BLK_SEG_MAX << 20) /* seg_max segments of size_max */

struct blk_options {
	const char *path;
	const char *id;        /* name in logs and counters, e.g. "disk0" */
	const char *serial;    /* what GET_ID returns (default: id) */
	bool readonly;
	bool direct;           /* O_DIRECT */
	unsigned num_queues;
	unsigned queue_size;
};

struct blk_req;

struct blk_queue_stats {
	uint64_t reads, writes, flushes, discards, write_zeroes, get_ids, errors;
	uint64_t read_bytes, write_bytes;
};

struct blk_queue {
	struct blk_dev *blk;
	unsigned index;
	struct blk_req *reqs;
	struct blk_req **free;
	unsigned n_free;
	bool starved;          /* stopped popping: all request slots in use */
	/* Adjacent reads (or writes) popped together go to the kernel as one SQE. */
	struct blk_req *group_head, *group_tail;
	unsigned group_niov;
	uint64_t group_len;
	uint64_t merged;       /* requests that rode in another's SQE */
	struct blk_queue_stats stats;
};

struct blk_dev {
	struct virtio_dev vdev;
	struct blk_options opt;
	char id[32];
	char serial[BLK_ID_BYTES + 1];
	int fd;
	int fixed;             /* index in the engine's file table, or -1 */
	bool worker_io;        /* the kernel completes its I/O on io-wq workers (tmpfs) */
	uint64_t capacity;     /* bytes, a multiple of 512 */
	unsigned inflight;
	struct blk_queue queues[VIRTIO_MAX_QUEUES];
};

/* Open the backing file and set up the device model (no transport yet). */
int blk_create(struct blk_dev *b, const struct blk_options *o, struct engine *e, const struct guest_mem *mem);
void blk_destroy(struct blk_dev *b);
/* The device's counters summed over its queues (any thread: each is one aligned word). */
void blk_stats_total(const struct blk_dev *b, struct blk_queue_stats *t);

#endif
