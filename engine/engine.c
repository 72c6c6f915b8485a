/* engine: the run-to-completion loop around one io_uring. See engine.h. */
#include "engine.h"

#include "exitq.h"
#include "log.h"
#include "runqueue.h"

#include <errno.h>
#include <numaif.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef IORING_SETUP_SUBMIT_ALL
#define IORING_SETUP_SUBMIT_ALL (1U << 7)
#endif

/* How the engine decides that its CPU is shared: over a probe window of at least
 * PROBE_NS, more than 1/SHARE_DIV of the time it was runnable it spent waiting on a run
 * queue. The verdict "shared" then holds for HOLD_NS before the next probe, so the
 * probe's own spinning costs others at most about PROBE_NS in every HOLD_NS. */
#define ENGINE_PROBE_NS 1000000ull
#define ENGINE_HOLD_NS 50000000ull
#define ENGINE_SHARE_DIV 8
/* A batch wait also ends early once this many completions are ready to handle. */
#define ENGINE_BATCH_WAKE 64

uint64_t engine_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void probe_done(struct engine *e, struct engine_op *op, int res, uint32_t flags);

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
	e->batch_ns = p->batch_ns;
	e->runqueue_fd = -1;
	snprintf(e->name, sizeof(e->name), "%s", p->name ? p->name : "rv-engine");
	e->doorbell_op.handler = op_doorbell;
	e->ignore_op.handler = op_ignore;
	e->probe_op.handler = probe_done;
	atomic_store(&e->awake, 1);

	/* COOP_TASKRUN: completions finished elsewhere (io-wq, poll wake-ups) do not IPI the
	 * spinning engine; TASKRUN_FLAG tells it, through the SQ ring flags, when to enter the
	 * kernel to collect them, which the loop folds into its one submit. DEFER_TASKRUN
	 * (with SINGLE_ISSUER, see engine.h) keeps that work until the engine asks for it, and
	 * wakes a waiting engine only once it has as much as the engine said it waits for.
	 * R_DISABLED: the engine thread, not this one, becomes the submitter when it enables
	 * the ring in engine_run(); until then other threads may still register files. */
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
	up.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |
		   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
	ret = io_uring_queue_init_params(entries, &e->ring, &up);
	e->ring_disabled = ret == 0;
	if (ret == -EINVAL) { /* before 6.1: no DEFER_TASKRUN */
		memset(&up, 0, sizeof(up));
		up.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
		ret = io_uring_queue_init_params(entries, &e->ring, &up);
	}
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

	if (!sqe && e->ring_disabled) {
		/* before start the SQ cannot be flushed: keep the SQE aside */
		if (e->n_early == e->early_cap) {
			unsigned cap = e->early_cap ? 2 * e->early_cap : 64;
			struct io_uring_sqe *bigger = realloc(e->early, cap * sizeof(*bigger));
			if (!bigger) {
				log_error("engine %s: out of memory for SQEs queued before start", e->name);
				abort();
			}
			e->early = bigger;
			e->early_cap = cap;
		}
		sqe = &e->early[e->n_early++];
		memset(sqe, 0, sizeof(*sqe));
	}
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

bool engine_owns_ring(struct engine *e)
{
	return e->ring_disabled || !(e->ring.flags & IORING_SETUP_SINGLE_ISSUER) ||
	       atomic_load(&e->tid) == (int)syscall(SYS_gettid);
}

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
	unsigned n = exitq_drain_all(e);
	e->stats.exits += n;
	return n;
}

/* A schedstat read finished: the start of a probe window, or its end and verdict. A
 * window that finds the CPU free is the start of the next one. */
static void probe_done(struct engine *e, struct engine_op *op, int res, uint32_t flags)
{
	struct runqueue_sample s;
	uint64_t now = engine_now_ns();
	(void)op, (void)flags;

	e->probe_reading = false;
	if (res <= 0 || runqueue_parse(e->probe_buf, (size_t)res, &s) < 0) {
		log_warn("engine %s: cannot read its schedstat (%s): it always spins from now on", e->name,
			 res < 0 ? strerror(-res) : "unexpected contents");
		io_uring_prep_close(engine_sqe(e, &e->ignore_op), e->runqueue_fd); /* no syscall of its own */
		e->runqueue_fd = -1;
		return;
	}
	if (e->probe_start_ns && runqueue_contended(&e->probe_start, &s, ENGINE_SHARE_DIV)) {
		e->shared_until_ns = now + ENGINE_HOLD_NS;
		e->probe_start_ns = 0;
		return;
	}
	e->probe_start = s;
	e->probe_start_ns = now;
}

/* Whether another thread wants the engine's CPU (see ENGINE_PROBE_NS). Asked while the
 * engine would spin, which is also when probe windows start and end. */
static bool cpu_shared(struct engine *e, uint64_t now)
{
	if (e->runqueue_fd < 0)
		return false;
	if (now < e->shared_until_ns)
		return true;
	if (!e->probe_reading && (!e->probe_start_ns || now - e->probe_start_ns >= ENGINE_PROBE_NS)) {
		/* procfs cannot be read without blocking: an io-wq worker does it, and the
		 * engine thread itself stays within io_uring_enter */
		io_uring_prep_read(engine_sqe(e, &e->probe_op), e->runqueue_fd, e->probe_buf, sizeof(e->probe_buf), 0);
		e->probe_reading = true;
	}
	return false;
}

/* Wait up to batch_ns (or for ENGINE_BATCH_WAKE completions) instead of spinning. The
 * engine stays "awake" for producers and pollers: it will look at their queues within
 * batch_ns, so nobody rings its doorbell or re-enables guest notifications for it. */
static void batch_wait(struct engine *e)
{
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = (long long)e->batch_ns };
	struct io_uring_cqe *cqe;

	e->stats.batch_waits++;
	e->stats.enters++;
	io_uring_submit_and_wait_timeout(&e->ring, &cqe, ENGINE_BATCH_WAKE, &ts, NULL);
}

/* Make the calling thread the ring's submitter, then queue what waited for that. */
static void enable_ring(struct engine *e)
{
	if (!e->ring_disabled)
		return;
	/* liburing 2.3 declares io_uring_enable_rings() but does not export it */
	if (syscall(__NR_io_uring_register, e->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL, 0) < 0)
		log_error("engine %s: cannot enable its ring: %s", e->name, strerror(errno));
	e->ring_disabled = false;
	for (unsigned i = 0; i < e->n_early; i++)
		*engine_sqe(e, NULL) = e->early[i]; /* the copy carries the op */
	free(e->early);
	e->early = NULL;
	e->n_early = e->early_cap = 0;
}

void engine_run(struct engine *e)
{
	uint64_t last_work = engine_now_ns();
	unsigned idle_spins = 0;
	bool batched = false; /* the last wait was a batch wait and nothing has come since */

	enable_ring(e);
	atomic_store(&e->tid, (int)syscall(SYS_gettid));
	if (e->batch_ns && e->runqueue_fd < 0) {
		e->runqueue_fd = runqueue_open();
		if (e->runqueue_fd < 0)
			log_debug("engine %s: no run-queue statistics (%s): it always spins", e->name,
				  strerror(-e->runqueue_fd));
	}
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
			batched = false;
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
		if (!batched && now - last_work < (e->io_pending ? e->io_poll_ns : e->poll_ns)) {
			if (e->batch_ns && cpu_shared(e, now)) {
				batch_wait(e);
				batched = true;
				idle_spins = 0;
				continue;
			}
			__builtin_ia32_pause();
			continue;
		}
		/* Idle long enough, or nothing came during a batch wait: sleep. The store/fence/
		 * recheck pairs with the producer's push/fence/check of 'awake' so a message is
		 * never left unseen. */
		atomic_store(&e->awake, 0);
		atomic_thread_fence(memory_order_seq_cst);
		bool pending = pollers_before_sleep(e);
		if (!pending && !exitq_ready(e) && !io_uring_cq_ready(&e->ring)) {
			e->stats.sleeps++;
			e->stats.enters++;
			io_uring_submit_and_wait(&e->ring, 1);
		}
		atomic_store(&e->awake, 1);
		pollers_after_sleep(e);
		last_work = 0;
		batched = false;
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
	free(e->early);
	e->early = NULL;
	if (e->runqueue_fd >= 0)
		close(e->runqueue_fd);
	e->runqueue_fd = -1;
}
