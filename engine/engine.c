/* engine: the run-to-completion loop around one io_uring. See engine.h. */
#include "engine.h"

#include "exitq.h"
#include "log.h"

#include <errno.h>
#include <numaif.h>
#include <stdbool.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif

uint64_t engine_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void op_ignore(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	(void)e, (void)op, (void)res, (void)flags;
}

#define ENGINE_NODE_MASK_LONGS 2 /* nodes 0..127 */

static void op_doorbell(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	(void)op, (void)res, (void)flags;
	e->stats.doorbells++;
}

int engine_init(struct engine *e, const struct engine_params *p)
{
	struct io_uring_params up;
	unsigned entries = p->entries ? p->entries : 256;
	int ret;

	memset(e, 0, sizeof(*e));
	e->node = p->node;
	e->cpus = p->cpus;
	e->poll_ns = p->poll_ns;
	e->io_poll_ns = p->io_poll_ns;
	snprintf(e->name, sizeof(e->name), "%s", p->name ? p->name : "rv-engine");
	e->doorbell_op.handler = op_doorbell;
	e->ignore_op.handler = op_ignore;
	atomic_store(&e->awake, 1);

	/* COOP_TASKRUN: completions finished elsewhere (io-wq, poll wake-ups) do not IPI the
	 * spinning engine; TASKRUN_FLAG tells it, through the SQ ring flags, when to enter the
	 * kernel to collect them, which the loop folds into its one submit. */
	/* The ring is created here, on the caller's thread: prefer the engine's node while the
	 * kernel allocates its memory, so it sits where the engine thread will run. */
	int saved_mode = MPOL_DEFAULT;
	unsigned long saved_mask[ENGINE_NODE_MASK_LONGS] = { 0 }, mask[ENGINE_NODE_MASK_LONGS] = { 0 };
	bool prefer = p->node >= 0 && p->node < (int)(sizeof(mask) * 8) &&
		      get_mempolicy(&saved_mode, saved_mask, sizeof(saved_mask) * 8, NULL, 0) == 0;
	if (prefer) {
		mask[p->node / 64] = 1ul << (p->node % 64);
		prefer = set_mempolicy(MPOL_PREFERRED, mask, sizeof(mask) * 8) == 0;
	}
	memset(&up, 0, sizeof(up));
	up.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	ret = io_uring_queue_init_params(entries, &e->ring, &up);
	if (ret == -EINVAL) {
		memset(&up, 0, sizeof(up));
		up.flags = IORING_SETUP_SUBMIT_ALL;
		ret = io_uring_queue_init_params(entries, &e->ring, &up);
	}
	if (prefer)
		set_mempolicy(saved_mode, saved_mode == MPOL_DEFAULT ? NULL : saved_mask, sizeof(saved_mask) * 8);
	if (ret == -EINVAL) { /* older kernel: no SUBMIT_ALL */
		memset(&up, 0, sizeof(up));
		ret = io_uring_queue_init_params(entries, &e->ring, &up);
	}
	if (ret < 0) {
		log_error("engine %s: cannot create io_uring: %s", e->name, strerror(-ret));
		return ret;
	}
	e->files_ok = io_uring_register_files_sparse(&e->ring, ENGINE_MAX_FILES) == 0;
	if (CPU_COUNT(&p->iowq_cpus) > 0 && io_uring_register_iowq_aff(&e->ring, sizeof(p->iowq_cpus), &p->iowq_cpus) < 0)
		log_warn("engine %s: cannot set its io-wq workers' CPUs; they follow the engine's", e->name);
	/* Work the kernel cannot do inline runs on io-wq threads; keep their number to the
	 * node's CPUs so a burst of blocking I/O cannot spawn hundreds of them. */
	unsigned cpus = CPU_COUNT(&e->cpus) > 0 ? (unsigned)CPU_COUNT(&e->cpus) : 4;
	unsigned workers[2] = { cpus, cpus };
	if (io_uring_register_iowq_max_workers(&e->ring, workers) < 0)
		log_debug("engine %s: cannot bound io-wq workers (old kernel); continuing", e->name);
	return 0;
}

int engine_attach_exitq(struct engine *e, struct exitq *q)
{
	if (e->n_exitqs >= ENGINE_MAX_EXITQS)
		return -ENOSPC;
	e->exitqs[e->n_exitqs++] = q;
	return 0;
}

int engine_register_file(struct engine *e, int fd)
{
	if (!e->files_ok || e->n_files >= ENGINE_MAX_FILES)
		return -ENOSPC;
	int ret = io_uring_register_files_update(&e->ring, e->n_files, &fd, 1);
	if (ret < 0)
		return ret;
	return (int)e->n_files++;
}

int engine_register_buffers(struct engine *e, const struct iovec *iov, unsigned n)
{
	if (n > ENGINE_MAX_BUFFERS)
		return -E2BIG;
	int ret = io_uring_register_buffers(&e->ring, iov, n);
	if (ret < 0) {
		log_error("engine %s: cannot register %u fixed buffers: %s", e->name, n, strerror(-ret));
		return ret;
	}
	memcpy(e->buffers, iov, n * sizeof(*iov));
	e->n_buffers = n;
	return 0;
}

int engine_add_poller(struct engine *e, struct engine_poller *p)
{
	if (e->n_pollers >= ENGINE_MAX_POLLERS)
		return -ENOSPC;
	e->pollers[e->n_pollers++] = p;
	return 0;
}

static unsigned run_deferred(struct engine *e)
{
	unsigned n = 0;
	while (e->deferred) {
		struct engine_deferred *d = e->deferred;
		e->deferred = d->next;
		d->queued = false;
		d->fn(d);
		n++;
	}
	return n;
}

static unsigned run_pollers(struct engine *e)
{
	unsigned n = 0;
	for (unsigned i = 0; i < e->n_pollers; i++)
		n += e->pollers[i]->poll(e->pollers[i]);
	return n;
}

static bool pollers_before_sleep(struct engine *e)
{
	bool pending = false;
	for (unsigned i = 0; i < e->n_pollers; i++)
		if (e->pollers[i]->before_sleep && e->pollers[i]->before_sleep(e->pollers[i]))
			pending = true;
	return pending;
}

static void pollers_after_sleep(struct engine *e)
{
	for (unsigned i = 0; i < e->n_pollers; i++)
		if (e->pollers[i]->after_sleep)
			e->pollers[i]->after_sleep(e->pollers[i]);
}

struct io_uring_sqe *engine_sqe(struct engine *e, struct engine_op *op)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	while (!sqe) {
		/* SQ full: hand what we have to the kernel, then take a slot. */
		int ret = io_uring_submit(&e->ring);
		e->stats.enters++;
		if (ret < 0 && ret != -EBUSY && ret != -EAGAIN && ret != -EINTR)
			log_error("engine %s: submit failed: %s", e->name, strerror(-ret));
		sqe = io_uring_get_sqe(&e->ring);
	}
	io_uring_sqe_set_data(sqe, op);
	return sqe;
}

void engine_doorbell(struct engine *e, struct io_uring *from)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(from);
	struct io_uring_cqe *cqe;

	/* Reap the results of earlier doorbells first so this small ring never fills. */
	while (io_uring_peek_cqe(from, &cqe) == 0)
		io_uring_cqe_seen(from, cqe);
	if (!sqe)
		return; /* a doorbell is already queued */
	io_uring_prep_msg_ring(sqe, e->ring.ring_fd, 0, (uint64_t)(uintptr_t)&e->doorbell_op, 0);
	io_uring_sqe_set_data(sqe, NULL);
	io_uring_submit(from);
}

void engine_stop(struct engine *e) { e->stop = true; }

static void timer_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct engine_timer *t = op->ctx;
	(void)flags;
	if (res == -ECANCELED || !t->armed)
		return;
	t->armed = false;
	t->fn(e, t);
}

void engine_timer_arm(struct engine *e, struct engine_timer *t, uint64_t ns,
		      void (*fn)(struct engine *e, struct engine_timer *t), void *ctx)
{
	t->op.handler = timer_done;
	t->op.ctx = t;
	t->fn = fn;
	t->ctx = ctx;
	t->ts.tv_sec = (long long)(ns / 1000000000ull);
	t->ts.tv_nsec = (long long)(ns % 1000000000ull);
	t->armed = true;
	io_uring_prep_timeout(engine_sqe(e, &t->op), &t->ts, 0, 0);
}

void engine_timer_cancel(struct engine *e, struct engine_timer *t)
{
	if (!t->armed)
		return;
	t->armed = false;
	io_uring_prep_timeout_remove(engine_sqe(e, &e->ignore_op), (uint64_t)(uintptr_t)&t->op, 0);
}

static unsigned reap(struct engine *e)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&e->ring, head, cqe) {
		struct engine_op *op = io_uring_cqe_get_data(cqe);
		int res = cqe->res;
		uint32_t flags = cqe->flags;
		/* Consume first: the handler may queue and submit more work. */
		io_uring_cq_advance(&e->ring, 1);
		n++;
		if (op)
			op->handler(e, op, res, flags);
	}
	e->stats.cqes += n;
	return n;
}

static unsigned drain_exitqs(struct engine *e)
{
	unsigned n = 0;
	for (unsigned i = 0; i < e->n_exitqs; i++)
		if (exitq_pending(e->exitqs[i]))
			n += exitq_drain(e, e->exitqs[i]);
	e->stats.exits += n;
	return n;
}

static bool exitqs_pending(struct engine *e)
{
	for (unsigned i = 0; i < e->n_exitqs; i++)
		if (exitq_pending(e->exitqs[i]))
			return true;
	return false;
}

void engine_run(struct engine *e)
{
	uint64_t last_work = engine_now_ns();
	unsigned idle_spins = 0;

	atomic_store(&e->tid, (int)syscall(SYS_gettid));
	if (e->on_start)
		e->on_start(e, e->on_start_arg);
	while (!e->stop) {
		unsigned work;

		e->stats.loops++;
		work = drain_exitqs(e);
		work += reap(e);
		work += run_pollers(e);
		run_deferred(e);
		if (e->stop)
			break;
		bool taskrun = IO_URING_READ_ONCE(*e->ring.sq.kflags) & IORING_SQ_TASKRUN;
		if (io_uring_sq_ready(&e->ring) || taskrun) {
			/* the one kernel entry of this iteration: submit, and collect finished work */
			io_uring_submit_and_get_events(&e->ring);
			e->stats.enters++;
			work += taskrun;
		}
		if (work) {
			last_work = 0; /* refreshed lazily below: avoid a clock read per busy loop */
			idle_spins = 0;
			continue;
		}
		/* Idle: look at the queues as often as possible, at the clock every 16th time. */
		if (++idle_spins & 15) {
			__builtin_ia32_pause();
			continue;
		}
		uint64_t now = engine_now_ns();
		if (!last_work)
			last_work = now;
		if (now - last_work < (e->io_pending ? e->io_poll_ns : e->poll_ns)) {
			__builtin_ia32_pause();
			continue;
		}
		/* Idle long enough: sleep. The store/fence/recheck pairs with the producer's
		 * push/fence/check of 'awake' so a message is never left unseen. */
		atomic_store(&e->awake, 0);
		atomic_thread_fence(memory_order_seq_cst);
		bool pending = pollers_before_sleep(e);
		if (!pending && !exitqs_pending(e) && !io_uring_cq_ready(&e->ring)) {
			e->stats.sleeps++;
			e->stats.enters++;
			io_uring_submit_and_wait(&e->ring, 1);
		}
		atomic_store(&e->awake, 1);
		pollers_after_sleep(e);
		last_work = 0;
	}
}

static void *engine_thread(void *arg)
{
	struct engine *e = arg;

	if (CPU_COUNT(&e->cpus) > 0 && pthread_setaffinity_np(pthread_self(), sizeof(e->cpus), &e->cpus))
		log_warn("engine %s: cannot pin to its node's CPUs; running unpinned", e->name);
	engine_run(e);
	return NULL;
}

int engine_start(struct engine *e)
{
	int ret = pthread_create(&e->thread, NULL, engine_thread, e);
	if (ret) {
		log_error("engine %s: cannot start thread: %s", e->name, strerror(ret));
		return -ret;
	}
	pthread_setname_np(e->thread, e->name);
	e->thread_started = true;
	return 0;
}

void engine_join(struct engine *e)
{
	if (e->thread_started) {
		pthread_join(e->thread, NULL);
		e->thread_started = false;
	}
}

void engine_destroy(struct engine *e)
{
	engine_join(e);
	io_uring_queue_exit(&e->ring);
	e->ring.ring_fd = -1; /* the number may soon name another ring */
}
