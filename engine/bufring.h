/* bufring: provided-buffer rings on an engine's io_uring, and the multishot read that
 * consumes them.
 *
 * A device lends the kernel buffers (e.g. a guest's posted receive buffers) through a
 * ring shared with the kernel; one multishot read then stays armed on a file and the
 * kernel picks the next buffer for each read it completes, posting one CQE per buffer
 * with its id. One wait per file instead of one per buffer: a frame arriving on a TAP
 * wakes one request, not every buffer's read. */
#ifndef RV_ENGINE_BUFRING_H
#define RV_ENGINE_BUFRING_H

#include "engine.h"

#include <stdbool.h>
#include <stdint.h>

struct engine_buf_ring {
	struct io_uring_buf_ring *br;
	unsigned entries;     /* a power of two */
	uint16_t bgid;        /* buffer group id on the engine's ring */
	uint16_t unpublished; /* added since the last engine_buf_ring_publish() */
	bool registered;
};

/* Can this engine's kernel do multishot reads from provided-buffer rings? */
bool engine_can_read_multishot(struct engine *e);

/* Set up and register a ring of 'entries' (a power of two, at most 32768) buffers.
 * 0 or -errno (the caller falls back to plain reads). */
int engine_buf_ring_init(struct engine *e, struct engine_buf_ring *r, unsigned entries);
/* Lend [addr, addr+len) as buffer 'bid'; the kernel sees it after publish. At most
 * 'entries' buffers may be lent at once. */
void engine_buf_ring_add(struct engine_buf_ring *r, void *addr, uint32_t len, uint16_t bid);
void engine_buf_ring_publish(struct engine_buf_ring *r);
/* Take back every lent buffer (nothing may be reading from the ring): the kernel
 * forgets them and the ring starts empty. 0 or -errno. */
int engine_buf_ring_reset(struct engine *e, struct engine_buf_ring *r);
void engine_buf_ring_free(struct engine *e, struct engine_buf_ring *r);

/* A multishot read on fd (a fixed-file index when fixed) from ring r: one CQE per
 * buffer filled, IORING_CQE_F_MORE while it stays armed, the buffer id in
 * cqe_flags >> IORING_CQE_BUFFER_SHIFT. It ends with -ENOBUFS when the ring is empty. */
void engine_prep_read_multishot(struct io_uring_sqe *sqe, int fd, bool fixed, const struct engine_buf_ring *r);

#endif
