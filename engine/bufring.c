/* bufring: see bufring.h. */
#include "bufring.h"

#include "log.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* Linux 6.7's opcode; liburing 2.3's headers predate it (their last op is SENDMSG_ZC, 48). */
_Static_assert(IORING_OP_SENDMSG_ZC == 48, "io_uring opcodes moved");
#define RV_IORING_OP_READ_MULTISHOT 49

bool engine_can_read_multishot(struct engine *e)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(&e->ring);
	bool ok = p && io_uring_opcode_supported(p, RV_IORING_OP_READ_MULTISHOT);
	io_uring_free_probe(p);
	return ok;
}

static int buf_ring_register(struct engine *e, struct engine_buf_ring *r)
{
	struct io_uring_buf_reg reg = {
		.ring_addr = (uint64_t)(uintptr_t)r->br,
		.ring_entries = r->entries,
		.bgid = r->bgid,
	};
	io_uring_buf_ring_init(r->br);
	r->unpublished = 0;
	int ret = io_uring_register_buf_ring(&e->ring, &reg, 0);
	r->registered = ret == 0;
	return ret;
}

int engine_buf_ring_init(struct engine *e, struct engine_buf_ring *r, unsigned entries)
{
	memset(r, 0, sizeof(*r));
	if (!entries || entries > 32768 || (entries & (entries - 1)))
		return -EINVAL;
	size_t size = entries * sizeof(struct io_uring_buf);
	/* page-aligned, as the kernel maps it */
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r->br = p;
	r->entries = entries;
	r->bgid = e->next_bgid++;
	int ret = buf_ring_register(e, r);
	if (ret < 0) {
		munmap(p, size);
		r->br = NULL;
	}
	return ret;
}

void engine_buf_ring_add(struct engine_buf_ring *r, void *addr, uint32_t len, uint16_t bid)
{
	io_uring_buf_ring_add(r->br, addr, len, bid, io_uring_buf_ring_mask(r->entries), r->unpublished++);
}

void engine_buf_ring_publish(struct engine_buf_ring *r)
{
	if (!r->unpublished)
		return;
	io_uring_buf_ring_advance(r->br, r->unpublished);
	r->unpublished = 0;
}

int engine_buf_ring_reset(struct engine *e, struct engine_buf_ring *r)
{
	if (!r->br)
		return -EINVAL;
	/* The kernel keeps its own head; only a new registration empties the ring. */
	if (r->registered)
		io_uring_unregister_buf_ring(&e->ring, r->bgid);
	int ret = buf_ring_register(e, r);
	if (ret < 0)
		log_warn("engine %s: cannot re-register buffer ring %u: %s", e->name, r->bgid, strerror(-ret));
	return ret;
}

void engine_buf_ring_free(struct engine *e, struct engine_buf_ring *r)
{
	if (!r->br)
		return;
	/* From another thread once the engine has run (teardown), the kernel refuses; the
	 * ring's own teardown (engine_destroy) then drops the registration. */
	if (r->registered && e->ring.ring_fd >= 0 && engine_owns_ring(e))
		io_uring_unregister_buf_ring(&e->ring, r->bgid);
	munmap(r->br, r->entries * sizeof(struct io_uring_buf));
	memset(r, 0, sizeof(*r));
}

void engine_prep_read_multishot(struct io_uring_sqe *sqe, int fd, bool fixed, const struct engine_buf_ring *r)
{
	/* len 0: each read takes the whole buffer the kernel picks; offset 0 for a stream */
	io_uring_prep_rw(RV_IORING_OP_READ_MULTISHOT, sqe, fd, NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT | (fixed ? IOSQE_FIXED_FILE : 0);
	sqe->buf_group = r->bgid;
}
