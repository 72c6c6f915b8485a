/* helper: a thread beside an engine for the few calls that may block — ioctls that take
 * a kernel-wide lock (a TAP's TUNSETOFFLOAD and TUNSETQUEUE wait for rtnl) — so the
 * engine thread itself never waits on one, and makes no syscall for it either: the engine
 * hands a job over in shared memory and rings the helper's own small ring with a
 * MSG_RING SQE; the helper runs the job and sends the completion back through an exit
 * queue, where the engine runs `done` on its own thread.
 *
 * Jobs run one at a time, in order. The owner keeps a job alive until its `done` has
 * run, and counts it as in flight (a device reset waits for it). */
#ifndef RV_HELPER_H
#define RV_HELPER_H

#include "engine.h"
#include "exitq.h"

#include <pthread.h>
#include <stdatomic.h>

struct engine_job {
	void (*work)(struct engine_job *j); /* on the helper thread: may block */
	void (*done)(struct engine_job *j); /* then on the engine thread */
	void *ctx;
	int result;                         /* for work to leave to done */
};

#define HELPER_SLOTS 16 /* power of two: jobs handed over and not yet taken */

struct engine_helper {
	struct engine *engine;
	struct io_uring ring;      /* the helper sleeps on it; every job hand-over rings it */
	struct exitq back;         /* helper -> engine: completions */
	pthread_t thread;
	bool started;
	struct engine_job *slots[HELPER_SLOTS];
	_Atomic uint32_t head, tail; /* helper takes at head; engine hands over at tail */
	_Atomic bool stop;
	uint64_t jobs;             /* handed over (engine thread) */
};

/* From the thread that builds the machine, before e starts: the ring, the exit queue
 * back to e, and the thread (named after `name`). 0 or -errno. */
int engine_helper_init(struct engine_helper *h, struct engine *e, const char *name);
/* On the engine thread: run j->work on the helper, then j->done here. Returns -EBUSY
 * (and runs nothing) when HELPER_SLOTS jobs are already waiting. */
int engine_helper_submit(struct engine_helper *h, struct engine_job *j);
/* After e has stopped: end the thread (a job it is running finishes first) and free. */
void engine_helper_destroy(struct engine_helper *h);

#endif
