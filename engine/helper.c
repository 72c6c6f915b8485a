/* helper: see helper.h. */
#include "helper.h"

#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void job_done_msg(struct exitq_msg *m)
{
	struct engine_job *j = m->ctx;
	j->done(j);
}

static void *helper_main(void *arg)
{
	struct engine_helper *h = arg;
	for (;;) {
		uint32_t head = atomic_load_explicit(&h->head, memory_order_relaxed);
		while (head != atomic_load_explicit(&h->tail, memory_order_acquire)) {
			struct engine_job *j = h->slots[head & (HELPER_SLOTS - 1)];
			atomic_store_explicit(&h->head, ++head, memory_order_release);
			j->work(j);
			exitq_post(&h->back, &(struct exitq_msg){ .fn = job_done_msg, .ctx = j });
		}
		if (atomic_load(&h->stop))
			return NULL;
		/* Every hand-over (and the stop) brings a CQE, so a job queued after the
		 * check above still wakes this wait. */
		struct io_uring_cqe *cqe;
		if (io_uring_wait_cqe(&h->ring, &cqe) == 0)
			io_uring_cqe_seen(&h->ring, cqe);
	}
}

int engine_helper_init(struct engine_helper *h, struct engine *e, const char *name)
{
	int ret;
	memset(h, 0, sizeof(*h));
	h->engine = e;
	if ((ret = io_uring_queue_init(4, &h->ring, 0)) < 0) {
		log_error("%s: cannot create the helper's ring: %s", name, strerror(-ret));
		return ret;
	}
	if ((ret = exitq_init(&h->back, e, 0)) < 0) {
		io_uring_queue_exit(&h->ring);
		return ret;
	}
	if ((ret = pthread_create(&h->thread, NULL, helper_main, h)) != 0) {
		log_error("%s: cannot start the helper thread: %s", name, strerror(ret));
		exitq_destroy(&h->back);
		io_uring_queue_exit(&h->ring);
		return -ret;
	}
	char tname[16];
	snprintf(tname, sizeof(tname), "rv-help-%s", name);
	pthread_setname_np(h->thread, tname);
	h->started = true;
	return 0;
}

int engine_helper_submit(struct engine_helper *h, struct engine_job *j)
{
	uint32_t tail = atomic_load_explicit(&h->tail, memory_order_relaxed);
	if (tail - atomic_load_explicit(&h->head, memory_order_acquire) >= HELPER_SLOTS)
		return -EBUSY;
	h->slots[tail & (HELPER_SLOTS - 1)] = j;
	atomic_store_explicit(&h->tail, tail + 1, memory_order_release);
	io_uring_prep_msg_ring(engine_sqe(h->engine, &h->engine->ignore_op), h->ring.ring_fd, 0, 0, 0);
	h->jobs++;
	return 0;
}

void engine_helper_destroy(struct engine_helper *h)
{
	if (!h->started)
		return;
	atomic_store(&h->stop, true);
	/* Only this thread submits on the helper's ring (the engine rings it from its own). */
	struct io_uring_sqe *sqe = io_uring_get_sqe(&h->ring);
	if (sqe) {
		io_uring_prep_nop(sqe);
		io_uring_submit(&h->ring);
	}
	pthread_join(h->thread, NULL);
	exitq_destroy(&h->back);
	io_uring_queue_exit(&h->ring);
	h->started = false;
}
