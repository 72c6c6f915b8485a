/* engine: one io_uring and the thread that owns it, run to completion.
 *
 * Everything a VM waits on completes as a CQE on some engine's ring. Each SQE's
 * user_data points at a struct engine_op (handler + context); a completion is a call
 * to that handler on the engine thread. Handlers never block: they queue SQEs, which
 * the loop submits once per iteration. The loop polls adaptively: it spins on its
 * completion queue and its exit queues for poll_ns after the last piece of work, then
 * sleeps in io_uring_enter. Cross-thread senders that find it asleep ring its doorbell
 * with IORING_OP_MSG_RING.
 *
 * Spinning is free only while nobody else wants the engine's CPU. When the scheduler
 * says another thread is waiting for it (runqueue.h), the engine stops spinning and
 * instead waits up to batch_ns at a time, collecting whatever arrived meanwhile in one
 * pass (NAPI's deferred-interrupt idea): a TAP flooding the guest then wakes the engine
 * every batch_ns instead of once per frame, and the CPU it no longer burns goes to the
 * thread that wanted it, often the one producing the traffic. The ring is set up with
 * DEFER_TASKRUN so that completions arriving during such a wait do not wake it one by
 * one; that makes the engine thread the ring's only submitter (SINGLE_ISSUER): after
 * engine_run() starts, only that thread may submit to or register with the ring. */
#ifndef RV_ENGINE_H
#define RV_ENGINE_H

#include "runqueue.h"

#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct engine;
struct engine_op;
struct exitq;

typedef void (*engine_handler_fn)(struct engine *e, struct engine_op *op, int res, uint32_t cqe_flags);

struct engine_op {
	engine_handler_fn handler;
	void *ctx;
};

struct engine_params {
	int node;              /* host NUMA node this engine serves (-1: none) */
	cpu_set_t cpus;        /* where its thread may run; empty set: anywhere */
	cpu_set_t iowq_cpus;   /* where its io-wq workers may run; empty set: as the thread */
	unsigned entries;      /* SQ size; 0 picks a default */
	uint64_t poll_ns;      /* spin this long after the last work before sleeping */
	uint64_t io_poll_ns;   /* the same while device I/O is in the kernel (see io_pending) */
	uint64_t batch_ns;     /* instead of spinning on a shared CPU, wait this long (0: always spin) */
	const char *name;      /* thread name, e.g. "rv-engine0" */
};

struct engine_stats {
	uint64_t loops, enters, sleeps, cqes, exits, doorbells;
	uint64_t batch_waits; /* waits of batch_ns taken instead of spinning on a shared CPU */
};

#define ENGINE_MAX_EXITQS 256
#define ENGINE_MAX_POLLERS 64
#define ENGINE_MAX_FILES 64
#define ENGINE_MAX_BUFFERS 64

/* Something the engine checks while it spins (e.g. a virtqueue's avail ring), so work
 * is found without the guest having to kick. Before the engine sleeps it asks each
 * poller to re-arm its wake-up (e.g. re-enable guest notifications) and to say
 * whether work arrived meanwhile. */
struct engine_poller {
	unsigned (*poll)(struct engine_poller *p);      /* do work; return how much */
	bool (*before_sleep)(struct engine_poller *p);  /* true: work is pending, don't sleep */
	void (*after_sleep)(struct engine_poller *p);   /* the engine spins again */
	void *ctx;
};

/* Work to run once after a batch of completions (e.g. publish used rings and send one
 * interrupt for many completions). Queue it with engine_defer(); it runs once per batch. */
struct engine_deferred {
	void (*fn)(struct engine_deferred *d);
	void *ctx;
	struct engine_deferred *next;
	bool queued;
};

struct engine {
	struct io_uring ring;
	int node;
	cpu_set_t cpus;
	uint64_t poll_ns, io_poll_ns, batch_ns;
	bool ring_disabled;        /* R_DISABLED + SINGLE_ISSUER, not yet enabled by engine_run() */
	/* SQEs queued before the ring was enabled that did not fit in the SQ; engine_run()
	 * submits them first. */
	struct io_uring_sqe *early;
	unsigned n_early, early_cap;
	/* Whether the CPU is shared (engine thread only): schedstat is read through the
	 * ring at the start and end of a probe window; the verdict "shared" holds until
	 * shared_until_ns. */
	int runqueue_fd;           /* -1: unknown, never batch */
	bool probe_reading;        /* a schedstat read is in flight */
	uint64_t probe_start_ns, shared_until_ns;
	struct runqueue_sample probe_start;
	char probe_buf[96];
	struct engine_op probe_op;
	/* Device requests now in the kernel that an io-wq worker must complete (e.g. file
	 * I/O on tmpfs, which cannot be done inline). While there are some, the engine
	 * spins only io_poll_ns before sleeping: their completions wake it, and the CPU it
	 * would spin on is often the one the worker needs. */
	unsigned io_pending;
	char name[16];
	pthread_t thread;
	bool thread_started;
	bool stop;                 /* engine thread only */
	_Alignas(64) _Atomic int awake; /* 0 while sleeping in io_uring_enter (own line: producers read it) */
	char awake_pad[60];
	_Atomic int tid;           /* kernel thread id, for tests and tracing */
	/* Producers of all exit queues take tickets here; the engine runs them in order. */
	_Alignas(64) _Atomic uint32_t exit_ticket;
	char exit_ticket_pad[60];
	uint32_t exit_next;        /* the next ticket to run (engine thread only) */
	struct exitq *exitqs[ENGINE_MAX_EXITQS];
	unsigned n_exitqs;
	struct engine_poller *pollers[ENGINE_MAX_POLLERS];
	unsigned n_pollers;
	struct engine_deferred *deferred;  /* LIFO list run after each batch */
	unsigned n_files;                  /* fixed files registered (slots 0..n-1) */
	bool files_ok;                     /* the sparse file table exists */
	struct iovec buffers[ENGINE_MAX_BUFFERS]; /* fixed buffers registered */
	unsigned n_buffers;
	uint16_t next_bgid;                /* provided-buffer ring ids handed out (bufring.c) */
	struct engine_op doorbell_op; /* target of MSG_RING wake-ups */
	struct engine_op ignore_op;   /* completions nobody needs to see */
	struct engine_stats stats;
	void (*on_start)(struct engine *e, void *arg); /* run first on the engine thread */
	void *on_start_arg;
};

/* Create the ring (no thread yet). Returns 0 or -errno; explains failures in the log. */
int engine_init(struct engine *e, const struct engine_params *p);
/* Start the engine thread; the loop runs until engine_stop() is called on it. */
int engine_start(struct engine *e);
/* Run the loop on the calling thread instead (tests, single-threaded tools). */
void engine_run(struct engine *e);
/* Wait for the engine thread to finish, then release the ring. */
void engine_join(struct engine *e);
void engine_destroy(struct engine *e);

/* Whether the calling thread may submit to or register with the ring: it is not enabled
 * yet, it is not SINGLE_ISSUER (older kernels), or this is its engine thread. */
bool engine_owns_ring(struct engine *e);

/* Engine thread only: leave the loop after this iteration. */
void engine_stop(struct engine *e);

/* Engine thread (or before start): an SQE whose completion calls op->handler, to be
 * filled in before the next call. Never fails: a full SQ is flushed to the kernel first
 * (before start, the SQEs that do not fit wait in memory until engine_run()). */
struct io_uring_sqe *engine_sqe(struct engine *e, struct engine_op *op);

/* Any thread: make sure a sleeping engine wakes up and looks at its exit queues.
 * Uses the caller's own ring to send the MSG_RING. */
void engine_doorbell(struct engine *e, struct io_uring *from);

/* Register a producer queue before engine_start(). */
int engine_attach_exitq(struct engine *e, struct exitq *q);
/* Fixed files: the fd as an index into the ring's file table, so each SQE skips the
 * file lookup. Returns the index (use IOSQE_FIXED_FILE), or -errno: use the plain fd. */
int engine_register_file(struct engine *e, int fd);
/* Fixed buffers (before start): memory the kernel pins once, so READ_FIXED/WRITE_FIXED
 * skip pinning per request. Pieces of at most 1 GiB. 0 or -errno. */
int engine_register_buffers(struct engine *e, const struct iovec *iov, unsigned n);
/* The fixed buffer holding [p, p+len), or -1. */
static inline int engine_fixed_buffer(const struct engine *e, const void *p, size_t len)
{
	for (unsigned i = 0; i < e->n_buffers; i++) {
		uintptr_t b = (uintptr_t)e->buffers[i].iov_base, a = (uintptr_t)p;
		if (a >= b && a - b <= e->buffers[i].iov_len && len <= e->buffers[i].iov_len - (a - b))
			return (int)i;
	}
	return -1;
}
/* Register a poller (before start, or on the engine thread). */
int engine_add_poller(struct engine *e, struct engine_poller *p);
/* Engine thread: run d->fn once at the end of this batch of completions. */
static inline void engine_defer(struct engine *e, struct engine_deferred *d)
{
	if (d->queued)
		return;
	d->queued = true;
	d->next = e->deferred;
	e->deferred = d;
}

/* Timers on the ring. */
struct engine_timer {
	struct engine_op op;
	struct __kernel_timespec ts;
	void (*fn)(struct engine *e, struct engine_timer *t);
	void *ctx;
	bool armed;
};
void engine_timer_arm(struct engine *e, struct engine_timer *t, uint64_t ns,
		      void (*fn)(struct engine *e, struct engine_timer *t), void *ctx);
void engine_timer_cancel(struct engine *e, struct engine_timer *t);

uint64_t engine_now_ns(void);

#endif
