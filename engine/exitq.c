/* exitq: single-producer single-consumer exit forwarding. See exitq.h. */
#include "exitq.h"

#include "log.h"

#include <errno.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>

int exitq_init(struct exitq *q, struct engine *e, uint64_t spin_ns)
{
	int ret;

	memset(q, 0, sizeof(*q));
	q->engine = e;
	q->spin_ns = spin_ns;
	ret = io_uring_queue_init(8, &q->ring, 0);
	if (ret < 0) {
		log_error("exit queue: cannot create the vCPU's ring: %s", strerror(-ret));
		return ret;
	}
	ret = engine_attach_exitq(e, q);
	if (ret < 0) {
		io_uring_queue_exit(&q->ring);
		log_error("exit queue: engine %s has no room for another queue", e->name);
	}
	return ret;
}

void exitq_destroy(struct exitq *q) { io_uring_queue_exit(&q->ring); }

static void wake_engine(struct exitq *q)
{
	/* Pairs with the engine's awake=0 / fence / recheck before it sleeps. */
	atomic_thread_fence(memory_order_seq_cst);
	if (!atomic_load_explicit(&q->engine->awake, memory_order_relaxed)) {
		q->doorbells++;
		engine_doorbell(q->engine, &q->ring);
	}
}

static struct exitq_msg *push(struct exitq *q, const struct exitq_msg *m, bool reply)
{
	uint32_t tail = q->tail;
	unsigned spins = 0;

	while (tail - q->head_cache >= EXITQ_SLOTS) {
		q->head_cache = atomic_load_explicit(&q->head, memory_order_acquire);
		if (tail - q->head_cache < EXITQ_SLOTS)
			break;
		/* Full: the engine is behind. Make sure it is running, then give it the CPU. */
		wake_engine(q);
		if (++spins > 64)
			sched_yield();
		else
			__builtin_ia32_pause();
	}
	struct exitq_msg *slot = &q->slots[tail & (EXITQ_SLOTS - 1)];
	slot->fn = m->fn;
	slot->ctx = m->ctx;
	slot->addr = m->addr;
	slot->value = m->value;
	slot->data = m->data;
	slot->when_ns = m->when_ns;
	slot->len = m->len;
	slot->count = m->count;
	slot->is_write = m->is_write;
	slot->wants_reply = reply;
	q->tail = tail + 1;
	/* Last before publishing, so a producer holds an unpublished ticket (which holds up
	 * every later one) for as short a time as possible. An access the guest ordered
	 * after this one, on any vCPU, takes its ticket after this. */
	slot->ticket = atomic_fetch_add(&q->engine->exit_ticket, 1);
	atomic_store_explicit(&slot->seq, tail + 1, memory_order_release);
	wake_engine(q);
	return slot;
}

void exitq_post(struct exitq *q, const struct exitq_msg *m)
{
	q->posted++;
	push(q, m, false);
}

static bool answered(struct exitq *q, uint32_t seq)
{
	return (int32_t)(atomic_load_explicit(&q->replied, memory_order_acquire) - seq) >= 0;
}

void exitq_call(struct exitq *q, struct exitq_msg *m)
{
	uint64_t deadline = 0;

	q->calls++;
	push(q, m, true);
	uint32_t seq = q->tail;
	for (unsigned i = 0; !answered(q, seq); i++) {
		if ((i & 63) == 0) {
			uint64_t now = engine_now_ns();
			if (!deadline)
				deadline = now + q->spin_ns;
			else if (now >= deadline)
				break;
		}
		__builtin_ia32_pause();
	}
	while (!answered(q, seq)) {
		struct io_uring_cqe *cqe;
		atomic_store(&q->sleeping, 1);
		atomic_thread_fence(memory_order_seq_cst);
		if (answered(q, seq))
			break;
		q->sleeps++;
		if (io_uring_wait_cqe(&q->ring, &cqe) == 0)
			io_uring_cqe_seen(&q->ring, cqe);
	}
	atomic_store(&q->sleeping, 0);
	m->value = q->reply_value;
}

/* The next message of q if it is the engine's next in ticket order. */
static struct exitq_msg *in_turn(struct engine *e, struct exitq *q, uint32_t head)
{
	struct exitq_msg *m = &q->slots[head & (EXITQ_SLOTS - 1)];
	if (atomic_load_explicit(&m->seq, memory_order_acquire) != head + 1 || m->ticket != e->exit_next)
		return NULL;
	return m;
}

/* Run q's messages while they are next in turn. */
static unsigned drain_in_turn(struct engine *e, struct exitq *q)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	struct exitq_msg *m;
	unsigned n = 0;

	for (; (m = in_turn(e, q, head)); head++, n++) {
		bool reply = m->wants_reply;
		e->exit_next++;
		m->fn(m);
		/* Free the slot before answering: the producer may reuse it once answered. */
		atomic_store_explicit(&q->head, head + 1, memory_order_release);
		if (reply) {
			q->reply_value = m->value;
			atomic_store_explicit(&q->replied, head + 1, memory_order_release);
			atomic_thread_fence(memory_order_seq_cst);
			if (atomic_load_explicit(&q->sleeping, memory_order_relaxed)) {
				struct io_uring_sqe *sqe = engine_sqe(e, &e->ignore_op);
				io_uring_prep_msg_ring(sqe, q->ring.ring_fd, 0, 0, 0);
			}
		}
	}
	return n;
}

unsigned exitq_drain_all(struct engine *e)
{
	unsigned n = 0, ran;

	do {
		ran = 0;
		for (unsigned i = 0; i < e->n_exitqs; i++)
			ran += drain_in_turn(e, e->exitqs[i]);
		n += ran;
	} while (ran);
	return n;
}

bool exitq_ready(struct engine *e)
{
	for (unsigned i = 0; i < e->n_exitqs; i++) {
		struct exitq *q = e->exitqs[i];
		if (in_turn(e, q, atomic_load_explicit(&q->head, memory_order_relaxed)))
			return true;
	}
	return false;
}
