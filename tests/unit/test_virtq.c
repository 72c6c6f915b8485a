/* Unit tests for the split virtqueue against hostile drivers: loops, over-long chains,
 * lengths near 2^32, addresses past RAM and across the PCI hole, nested indirect tables,
 * readable-after-writable, avail index jumps; plus the good paths, EVENT_IDX and the
 * iovec helpers. */
#include "check.h"

#include <errno.h>

#include "engine/log.h"
#include "kvm/layout.h"
#include "virtio/virtq.h"

#define QSZ 8
#define DESC 0x100000ull
#define AVAIL 0x101000ull
#define USED 0x102000ull
#define BUF 0x200000ull

static struct guest_mem mem;
static struct virtq q;
static struct virtq_chain chain;

static struct virtq_desc *desc(unsigned i) { return (struct virtq_desc *)guest_mem_ptr(&mem, DESC, 16 * QSZ) + i; }
static struct virtq_avail *avail(void) { return guest_mem_ptr(&mem, AVAIL, 6 + 2 * QSZ); }
static struct virtq_used *used(void) { return guest_mem_ptr(&mem, USED, 6 + 8 * QSZ); }

static void setup(bool event_idx, bool indirect)
{
	memset(guest_mem_ptr(&mem, DESC, 0x3000), 0, 0x3000);
	virtq_reset(&q);
	q.size = QSZ;
	q.desc_gpa = DESC;
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	q.enabled = true;
	virtq_start(&q, &mem, event_idx, indirect);
}

static void offer(uint16_t head)
{
	struct virtq_avail *a = avail();
	a->ring[a->idx % QSZ] = head;
	a->idx++;
}

static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
	*desc(i) = (struct virtq_desc){ addr, len, flags, next };
}

static void test_good_chain(void)
{
	setup(false, false);
	set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF + 4096, 4096, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
	set_desc(2, BUF + 8192, 1, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	CHECK(virtq_pending(&q));
	CHECK_EQ(virtq_pop(&q, &chain), 1);
	CHECK_EQ(chain.head, 0);
	CHECK_EQ(chain.n_out, 1);
	CHECK_EQ(chain.n_in, 2);
	CHECK_EQ(chain.out_len, 16);
	CHECK_EQ(chain.in_len, 4097);
	CHECK(chain.iov[1].iov_base == guest_mem_ptr(&mem, BUF + 4096, 1));
	CHECK_EQ(virtq_pop(&q, &chain), 0);
	virtq_push(&q, 0, 4097);
	CHECK(virtq_publish(&q)); /* no EVENT_IDX, no NO_INTERRUPT flag: interrupt */
	CHECK_EQ(used()->idx, 1);
	CHECK_EQ(used()->ring[0].id, 0);
	CHECK_EQ(used()->ring[0].len, 4097);
}

static void expect_bad(const char *what)
{
	int r = virtq_pop(&q, &chain);
	if (r != -EINVAL)
		printf("# %s: virtq_pop returned %d\n", what, r);
	CHECK_EQ(r, -EINVAL);
	CHECK(q.error != NULL);
}

static void test_loop(void)
{
	setup(false, false);
	set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	set_desc(1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	offer(0);
	expect_bad("loop");
	setup(false, false);
	set_desc(3, BUF, 16, VIRTQ_DESC_F_NEXT, 3); /* self loop */
	offer(3);
	expect_bad("self loop");
}

static void test_next_out_of_range(void)
{
	setup(false, false);
	set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT, QSZ);
	offer(0);
	expect_bad("next past the queue");
	setup(false, false);
	offer(QSZ + 3); /* head past the queue */
	expect_bad("head past the queue");
}

static void test_lengths_near_4g(void)
{
	setup(false, false);
	set_desc(0, BUF, 0xfffffff0u, 0, 0);
	offer(0);
	expect_bad("length near 2^32");
	setup(false, false);
	set_desc(0, (64ull << 20) - 8, 16, 0, 0); /* runs past the end of RAM */
	offer(0);
	expect_bad("buffer past RAM");
}

static void test_addresses_outside_ram(void)
{
	setup(false, false);
	set_desc(0, 1ull << 40, 16, 0, 0);
	offer(0);
	expect_bad("address far past RAM");
	setup(false, false);
	set_desc(0, LAYOUT_LAPIC, 4, 0, 0);
	offer(0);
	expect_bad("address in the PCI hole");
	setup(false, false);
	set_desc(0, ~0ull - 4, 16, 0, 0);
	offer(0);
	expect_bad("address that wraps");
}

static void test_readable_after_writable(void)
{
	setup(false, false);
	set_desc(0, BUF, 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	set_desc(1, BUF + 16, 16, 0, 0);
	offer(0);
	expect_bad("readable after writable");
}

static void test_indirect(void)
{
	struct virtq_desc *itab = guest_mem_ptr(&mem, BUF + 0x10000, 4 * 16);
	/* not negotiated */
	setup(false, false);
	set_desc(0, BUF + 0x10000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	itab[0] = (struct virtq_desc){ BUF, 16, VIRTQ_DESC_F_NEXT, 1 };
	itab[1] = (struct virtq_desc){ BUF + 16, 1, VIRTQ_DESC_F_WRITE, 0 };
	offer(0);
	expect_bad("indirect without the feature");
	/* negotiated: good */
	setup(false, true);
	set_desc(0, BUF + 0x10000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	CHECK_EQ(virtq_pop(&q, &chain), 1);
	CHECK_EQ(chain.n_out, 1);
	CHECK_EQ(chain.n_in, 1);
	/* indirect inside indirect */
	setup(false, true);
	itab[1] = (struct virtq_desc){ BUF + 0x10000, 32, VIRTQ_DESC_F_INDIRECT, 0 };
	set_desc(0, BUF + 0x10000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_bad("nested indirect");
	/* indirect table that loops on itself */
	setup(false, true);
	itab[0] = (struct virtq_desc){ BUF, 16, VIRTQ_DESC_F_NEXT, 1 };
	itab[1] = (struct virtq_desc){ BUF, 16, VIRTQ_DESC_F_NEXT, 0 };
	set_desc(0, BUF + 0x10000, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_bad("indirect loop");
	/* table length not a multiple of 16, or the table outside RAM */
	setup(false, true);
	set_desc(0, BUF + 0x10000, 33, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_bad("indirect length");
	setup(false, true);
	set_desc(0, 1ull << 40, 32, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_bad("indirect table outside RAM");
	setup(false, true);
	set_desc(0, BUF + 0x10000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	offer(0);
	expect_bad("indirect with NEXT");
}

static void test_avail_jump(void)
{
	setup(false, false);
	set_desc(0, BUF, 16, 0, 0);
	avail()->ring[0] = 0;
	avail()->idx = QSZ + 1;
	expect_bad("avail idx jumps by more than the queue size");
	setup(false, false);
	avail()->idx = 0xffff; /* far behind (wrapped): still a jump */
	expect_bad("avail idx far behind");
}

static void test_too_many_buffers(void)
{
	/* an indirect table of 1024 one-byte buffers: more than the device accepts */
	static const unsigned n = 1024;
	struct virtq_desc *itab = guest_mem_ptr(&mem, BUF + 0x20000, n * 16);
	for (unsigned i = 0; i < n; i++)
		itab[i] = (struct virtq_desc){ BUF, 1, i + 1 < n ? VIRTQ_DESC_F_NEXT : 0, (uint16_t)(i + 1) };
	setup(false, true);
	set_desc(0, BUF + 0x20000, n * 16, VIRTQ_DESC_F_INDIRECT, 0);
	offer(0);
	expect_bad("too many buffers");
}

static void test_ring_outside_ram(void)
{
	virtq_reset(&q);
	q.size = QSZ;
	q.desc_gpa = (64ull << 20) - 64; /* the table runs off the end of RAM */
	q.avail_gpa = AVAIL;
	q.used_gpa = USED;
	CHECK_EQ(virtq_start(&q, &mem, false, false), -EINVAL);
	q.desc_gpa = DESC + 8; /* misaligned */
	CHECK_EQ(virtq_start(&q, &mem, false, false), -EINVAL);
	q.desc_gpa = DESC;
	q.size = 0;
	CHECK_EQ(virtq_start(&q, &mem, false, false), -EINVAL);
}

static void test_event_idx(void)
{
	setup(true, false);
	uint16_t *used_event = &avail()->ring[QSZ];
	for (int i = 0; i < 4; i++)
		set_desc((unsigned)i, BUF, 16, VIRTQ_DESC_F_WRITE, 0);
	offer(0);
	offer(1);
	CHECK_EQ(virtq_pop(&q, &chain), 1);
	CHECK_EQ(virtq_pop(&q, &chain), 1);
	*used_event = 1; /* interrupt me when used idx passes 1 */
	virtq_push(&q, 0, 1);
	CHECK(virtq_publish(&q)); /* first interrupt always goes */
	virtq_push(&q, 1, 1);
	CHECK(virtq_publish(&q)); /* used idx 1 -> 2 crosses used_event 1 */
	offer(2);
	CHECK_EQ(virtq_pop(&q, &chain), 1);
	virtq_push(&q, 2, 1);
	CHECK(!virtq_publish(&q)); /* used_event still 1: suppressed */
	/* kick suppression: off puts avail_event behind us; on asks for the next entry */
	uint16_t *avail_event = (uint16_t *)&used()->ring[QSZ];
	virtq_notify_off(&q);
	CHECK_EQ(*avail_event, (uint16_t)(q.last_avail - 1));
	CHECK(!virtq_notify_on(&q));
	CHECK_EQ(*avail_event, q.last_avail);
	offer(3);
	virtq_notify_off(&q);
	CHECK(virtq_notify_on(&q)); /* work arrived while notifications were off */
}

/* Three iovecs of 4, 8 and 16 bytes over one buffer, as a chain would hand them out. */
static char iov_buf[28];
static void three_iovecs(struct iovec v[3])
{
	v[0] = (struct iovec){ iov_buf, 4 };
	v[1] = (struct iovec){ iov_buf + 4, 8 };
	v[2] = (struct iovec){ iov_buf + 12, 16 };
}

static void test_iov_advance(void)
{
	struct iovec v[3], *p;
	unsigned n;

	/* inside the first iovec: trimmed in place */
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 3);
	CHECK(p == v);
	CHECK_EQ(n, 3);
	CHECK(p->iov_base == iov_buf + 3);
	CHECK_EQ(p->iov_len, 1);

	/* across several iovecs, ending inside the third */
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 4 + 8 + 5);
	CHECK(p == &v[2]);
	CHECK_EQ(n, 1);
	CHECK(p->iov_base == iov_buf + 17);
	CHECK_EQ(p->iov_len, 11);

	/* exactly to a boundary: the next iovec is untouched */
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 4 + 8);
	CHECK(p == &v[2]);
	CHECK_EQ(n, 1);
	CHECK(p->iov_base == iov_buf + 12);
	CHECK_EQ(p->iov_len, 16);

	/* the whole list, and more than it holds */
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 28);
	CHECK(p == &v[3]);
	CHECK_EQ(n, 0);
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 1000);
	CHECK(p == &v[3]);
	CHECK_EQ(n, 0);

	/* nothing: no change */
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 0);
	CHECK(p == v);
	CHECK_EQ(n, 3);
	CHECK_EQ(p->iov_len, 4);

	/* in steps, as short transfers come back */
	three_iovecs(v), p = v, n = 3;
	iov_advance(&p, &n, 2);
	iov_advance(&p, &n, 2);
	CHECK(p == &v[1]);
	iov_advance(&p, &n, 10);
	CHECK(p == &v[2]);
	CHECK(p->iov_base == iov_buf + 14);
	CHECK_EQ(p->iov_len, 14);
}

int main(void)
{
	log_init();
	if (guest_mem_create(&mem, 64ull << 20, 46)) {
		printf("FAIL setup: guest memory\n");
		return 1;
	}
	RUN(test_good_chain);
	RUN(test_loop);
	RUN(test_next_out_of_range);
	RUN(test_lengths_near_4g);
	RUN(test_addresses_outside_ram);
	RUN(test_readable_after_writable);
	RUN(test_indirect);
	RUN(test_avail_jump);
	RUN(test_too_many_buffers);
	RUN(test_ring_outside_ram);
	RUN(test_event_idx);
	RUN(test_iov_advance);
	guest_mem_destroy(&mem);
	CHECK_EXIT();
}
